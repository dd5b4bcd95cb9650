/* main.c - sca-rabbit-trace: command line, signals and the run's order. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rabbit.h"

#define EXIT_USAGE 2
#define DEFAULT_URL "amqp://guest:guest@localhost:5672/"
#define DEFAULT_CACERT "/etc/ssl/certs/ca-certificates.crt" /* Debian's system bundle */

static const char usage_text[] =
    "Usage: sca-rabbit-trace [--url URL] [--deliveries] [--no-trace-on] [options]\n"
    "\n"
    "Prints one line per message published on a RabbitMQ virtual host, as the\n"
    "broker's firehose (exchange amq.rabbitmq.trace) reports it, flushed at once.\n"
    "oslo.messaging messages are decoded:\n"
    "  publish exchange=E rk=K kind=call method=M msg_id=I reply_q=Q ... args=JSON\n"
    "  publish exchange= rk=Q kind=reply msg_id=I failure=null ending=true result=JSON\n"
    "  publish exchange=E rk=K kind=cast method=M ... args=JSON\n"
    "anything else as \"publish exchange=E rk=K bytes=N body=FIRST-200-BYTES\".\n"
    "Control characters are escaped; JSON values over 4096 bytes are cut and\n"
    "marked \"\xe2\x80\xa6(N bytes)\".\n"
    "\n"
    "The firehose must be on for the vhost.  By default this program switches it\n"
    "on with \"rabbitmqctl [-n NODE] trace_on -p VHOST\" once subscribed, and off\n"
    "with trace_off when it stops.  rabbitmqctl must be able to reach the node\n"
    "(run as root, or with the node's Erlang cookie in $HOME); it is never run\n"
    "through sudo.  Tracing slows the broker down.\n"
    "\n"
    "Options:\n"
    "  -u, --url URL          broker and vhost: amqp://USER:PASS@HOST:PORT/VHOST;\n"
    "                         rabbit:// (oslo's form) is the same; amqps:// or\n"
    "                         \"?ssl=1\" for TLS, with the peer certificate and host\n"
    "                         name verified; other query options are ignored\n"
    "                         (default " DEFAULT_URL ")\n"
    "      --cacert FILE      CA certificates for TLS (default " DEFAULT_CACERT ")\n"
    "  -d, --deliveries       also print a \"deliver queue=Q ...\" line per message\n"
    "                         delivered to a consumer (default: publishes only)\n"
    "      --trace-on         switch tracing on and off with rabbitmqctl (default)\n"
    "      --no-trace-on      leave tracing alone: it was switched on by hand\n"
    "  -n, --node NAME        the node rabbitmqctl talks to (rabbitmqctl -n); empty:\n"
    "                         rabbitmqctl's default ($RABBITMQ_NODENAME or rabbit@HOST)\n"
    "      --rabbitmqctl PATH the rabbitmqctl program (default: rabbitmqctl in PATH)\n"
    "  -h, --help             print this help\n"
    "\n"
    "Exit status: 0 after SIGINT or SIGTERM (consumer cancelled, tracing switched\n"
    "off, connection closed); 1 when the broker cannot be reached, the connection\n"
    "is lost, or rabbitmqctl is missing or fails; 2 on bad usage.  Killed with\n"
    "SIGKILL, it leaves tracing on: run \"rabbitmqctl trace_off\" then.\n";

volatile sig_atomic_t rabbit_stop;

static void on_stop(int signo)
{
    (void)signo;
    rabbit_stop = 1;
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("sca-rabbit-trace: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'sca-rabbit-trace --help'.\n", stderr);
    exit(EXIT_USAGE);
}

static const char *nonempty(const char *s, const char *option)
{
    if (s[0] == '\0')
        usage_error("%s needs a value", option);
    return s;
}

enum { OPT_CACERT = 256, OPT_TRACE_ON, OPT_NO_TRACE_ON, OPT_RABBITMQCTL };

static void set_option(rabbit_opts *o, int c, char **argv)
{
    switch (c) {
    case 'u':
        o->url = nonempty(optarg, "--url");
        break;
    case OPT_CACERT:
        o->cacert = nonempty(optarg, "--cacert");
        break;
    case 'd':
        o->deliveries = true;
        break;
    case OPT_TRACE_ON:
    case OPT_NO_TRACE_ON:
        o->trace_on = c == OPT_TRACE_ON;
        break;
    case 'n':
        /* Empty is rabbitmqctl's default, for a template's empty option. */
        o->node = optarg[0] != '\0' ? optarg : NULL;
        break;
    case OPT_RABBITMQCTL:
        o->rabbitmqctl = nonempty(optarg, "--rabbitmqctl");
        break;
    case 'h':
        fputs(usage_text, stdout);
        exit(0);
    case ':':
        usage_error("option '%s' needs a value", argv[optind - 1]);
    default:
        usage_error("unknown option '%s'", argv[optind - 1]);
    }
}

static void parse_options(int argc, char **argv, rabbit_opts *o)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"deliveries", no_argument, NULL, 'd'},
        {"trace-on", no_argument, NULL, OPT_TRACE_ON},
        {"no-trace-on", no_argument, NULL, OPT_NO_TRACE_ON},
        {"node", required_argument, NULL, 'n'},
        {"rabbitmqctl", required_argument, NULL, OPT_RABBITMQCTL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (rabbit_opts){.url = DEFAULT_URL,
                       .cacert = DEFAULT_CACERT,
                       .rabbitmqctl = "rabbitmqctl",
                       .trace_on = true};
    int c;
    opterr = 0; /* usage_error says it better */
    while ((c = getopt_long(argc, argv, ":u:dn:h", longopts, NULL)) != -1)
        set_option(o, c, argv);
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

/* No SA_RESTART: a signal should cut a wait short.  SIGPIPE is ignored so
 * that a reader gone away shows as a write error (and tracing is switched
 * off) instead of killing us. */
static int catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop};
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGPIPE, &ign, NULL) != 0)
        return -errno;
    return 0;
}

static void report(const char *what, const sca_error *err)
{
    fprintf(stderr, "sca-rabbit-trace: %s: %s\n", what, err->msg);
}

/* Switches tracing on; *traced says whether trace_off is due at exit.  A
 * stop signal also reaches rabbitmqctl (it is in our process group) and may
 * kill it half way: tracing may then be on, and a stop is not an error. */
static int trace_on(const rabbit_opts *o, const broker *b, bool *traced)
{
    sca_error err = {0};
    *traced = false;
    if (rabbit_stop)
        return 0;
    int rc = ctl_trace(o, broker_vhost(b), true, &err);
    *traced = rc == 0 || rabbit_stop;
    if (rc != 0 && !rabbit_stop) {
        report("cannot switch tracing on", &err);
        return rc;
    }
    return 0;
}

/* Consumes until stopped; then stops consuming, switches tracing off and
 * closes, in that order, whatever happened before. */
static int run(const rabbit_opts *o, broker *b)
{
    sca_error err = {0};
    bool traced = false;
    int rc = o->trace_on ? trace_on(o, b, &traced) : 0;
    if (rc == 0 && (rc = broker_consume(b, &err)) != 0)
        fprintf(stderr, "sca-rabbit-trace: %s\n", err.msg);
    if (rc == 0 && (rc = broker_cancel(b, &err)) != 0)
        report("cannot cancel the consumer", &err);
    if (traced) {
        int off = ctl_trace(o, broker_vhost(b), false, &err);
        if (off != 0) {
            report("cannot switch tracing off (it may still be on)", &err);
            rc = rc != 0 ? rc : off;
        }
    }
    broker_close(b);
    return rc;
}

int main(int argc, char **argv)
{
    rabbit_opts o;
    parse_options(argc, argv, &o);
    if (catch_signals() != 0) {
        fprintf(stderr, "sca-rabbit-trace: cannot catch signals: %s\n", strerror(errno));
        return 1;
    }
    broker *b = NULL;
    sca_error err = {0};
    if (broker_open(&o, &b, &err) != 0) {
        if (rabbit_stop) /* stopped while connecting: not a failure */
            return 0;
        fprintf(stderr, "sca-rabbit-trace: %s\n", err.msg);
        return 1;
    }
    return run(&o, b) == 0 ? 0 : 1;
}
