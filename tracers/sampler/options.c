/* options.c - the command line of sca-sampler. */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"
#include "procfs.h"

#define INTERVAL_MIN 0.001
#define INTERVAL_MAX 86400.0
#define COMM_MAX 15 /* the kernel keeps process names to 15 bytes */
#define PORT_MAX 65535
#define KINDS "cpu, mem, diskio, netdev, proc, port or iocount"

static const char usage_text[] =
    "Usage: sca-sampler KIND [--interval SECONDS] [--count N] [options]\n"
    "\n"
    "Reads /proc and /sys (port: the kernel's TCP socket diagnostics) every\n"
    "interval and prints one line, flushed at once: key=value pairs (the kv\n"
    "parser's format), or for port and iocount the traffic and count parsers'\n"
    "formats.  Rates cover the time between two readings, so the first line comes\n"
    "after one interval.\n"
    "\n"
    "Kinds and their lines:\n"
    "  cpu     user system iowait idle steal: percent of all CPUs' time\n"
    "  mem     total_kb used_kb available_kb cached_kb swap_used_kb\n"
    "  diskio  DEV.read_kbps DEV.write_kbps DEV.iops, for each disk\n"
    "  netdev  DEV.rx_kbps DEV.tx_kbps DEV.rx_pps DEV.tx_pps, for each interface\n"
    "  proc    cpu_pct rss_kb threads read_kbps write_kbps (cpu_pct is percent of\n"
    "          one CPU; read/write_kbps are left out when /proc/PID/io is unreadable)\n"
    "  port    \"N pkt/s N byte/s\": TCP segments and bytes received per second by\n"
    "          the connections to local port --port (IPv4 and IPv6)\n"
    "  iocount \"N\": read and write system calls per second of all processes\n"
    "          (those whose /proc/PID/io can be read: all of them as root)\n"
    "\n"
    "Options:\n"
    "  -i, --interval SECONDS  time between lines, 0.001 to 86400 (default 1)\n"
    "  -c, --count N           stop after N intervals (default: until SIGINT/SIGTERM)\n"
    "  -p, --pid PID           proc: watch this process; stop when it exits\n"
    "  -n, --pname NAME        proc: every process whose /proc/PID/comm is exactly\n"
    "                          NAME, summed; nothing is printed while none runs\n"
    "                          (an empty --pid, --pname or --dev counts as not given)\n"
    "  -d, --dev NAME[,NAME]   diskio, netdev: watch these devices (repeatable); default\n"
    "                          (also when empty): every disk in /sys/block but loop\n"
    "                          and ram devices, or every network interface but\n"
    "                          loopback\n"
    "  -P, --port PORT         port: the local TCP port, 1 to 65535\n"
    "  -h, --help              print this help\n"
    "\n"
    "kbps is kilobytes (1024 bytes) per second; pps is packets per second.\n"
    "Exit status: 0 after --count intervals, SIGINT or SIGTERM, or when the --pid\n"
    "process exits; 1 on a runtime error; 2 on bad usage.\n";

static const sampler_kind *const kinds[] = {&sampler_cpu,    &sampler_mem,  &sampler_diskio,
                                            &sampler_netdev, &sampler_proc, &sampler_port,
                                            &sampler_iocount};

const sampler_kind *sampler_kind_find(const char *name)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

int sampler_dev_listed(const sampler_opts *opts, const char *name)
{
    for (size_t i = 0; i < opts->ndevs; i++)
        if (strcmp(opts->devs[i], name) == 0)
            return 1;
    return 0;
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("sca-sampler: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'sca-sampler --help'.\n", stderr);
    exit(SAMPLER_EXIT_USAGE);
}

static double parse_interval(const char *s)
{
    double v;
    if (sca_parse_double(s, &v) != 0 || v < INTERVAL_MIN || v > INTERVAL_MAX)
        usage_error("bad --interval '%s': expected seconds, a number from %g to %g", s,
                    INTERVAL_MIN, INTERVAL_MAX);
    return v;
}

static long parse_positive(const char *s, const char *option, long max)
{
    int64_t v;
    if (sca_parse_int64(s, &v) != 0 || v < 1 || v > max)
        usage_error("bad %s '%s': expected a positive whole number", option, s);
    return (long)v;
}

static long parse_port(const char *s)
{
    int64_t v;
    if (sca_parse_int64(s, &v) != 0 || v < 1 || v > PORT_MAX)
        usage_error("bad --port '%s': expected a port number from 1 to %d", s, PORT_MAX);
    return (long)v;
}

static const char *parse_pname(const char *s)
{
    if (s[0] == '\0')
        usage_error("--pname needs a process name");
    if (strlen(s) > COMM_MAX)
        usage_error("--pname '%s' is longer than %d bytes, the most a process name "
                    "(/proc/PID/comm) holds",
                    s, COMM_MAX);
    return s;
}

/* --dev takes one name or a comma-separated list ("eth0, lo"); spaces
 * around a name are dropped (no device name has any).  An empty value counts
 * as not given, so a template can pass a data option that may be empty. */
static void add_devs(sampler_opts *o, const char *list)
{
    const char *p = list;
    while (*p != '\0') {
        p += strspn(p, " ");
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end > 0 && p[end - 1] == ' ')
            end--;
        if (end == 0 || end >= PROCFS_NAME_MAX)
            usage_error("bad --dev '%s': expected device names separated by commas", list);
        o->devs = sca_realloc(o->devs, (o->ndevs + 1) * sizeof(*o->devs));
        o->devs[o->ndevs++] = sca_strndup(p, end);
        p += len;
        if (*p == ',' && *++p == '\0')
            usage_error("bad --dev '%s': expected device names separated by commas", list);
    }
}

void sampler_options_free(sampler_opts *o)
{
    for (size_t i = 0; i < o->ndevs; i++)
        free(o->devs[i]);
    free(o->devs);
}

static void set_option(sampler_opts *o, int c, char **argv)
{
    switch (c) {
    case 'i':
        o->interval = parse_interval(optarg);
        break;
    case 'c':
        o->count = parse_positive(optarg, "--count", LONG_MAX);
        break;
    /* An empty --pid, --pname or --dev is as if it were not given, so a
     * tracer template can pass them and the data options set them. */
    case 'p':
        o->pid = optarg[0] ? parse_positive(optarg, "--pid", INT_MAX) : 0;
        break;
    case 'n':
        o->pname = optarg[0] ? parse_pname(optarg) : NULL;
        break;
    case 'd':
        add_devs(o, optarg);
        break;
    case 'P':
        o->port = parse_port(optarg);
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

/* Options that only some kinds take. */
static void check_kind(const sampler_opts *o)
{
    if (sampler_kind_find(o->kind) == NULL)
        usage_error("unknown kind '%s' (expected %s)", o->kind, KINDS);
    int is_proc = strcmp(o->kind, "proc") == 0;
    int is_port = strcmp(o->kind, "port") == 0;
    int has_devs = strcmp(o->kind, "diskio") == 0 || strcmp(o->kind, "netdev") == 0;
    if (is_proc && (o->pid > 0) == (o->pname != NULL))
        usage_error("proc needs exactly one of --pid PID or --pname NAME");
    if (!is_proc && (o->pid > 0 || o->pname != NULL))
        usage_error("--pid and --pname are for the proc kind only");
    if (!has_devs && o->ndevs > 0)
        usage_error("--dev is for the diskio and netdev kinds only");
    if (is_port && o->port == 0)
        usage_error("port needs --port PORT");
    if (!is_port && o->port != 0)
        usage_error("--port is for the port kind only");
}

void sampler_options(int argc, char **argv, sampler_opts *o)
{
    static const struct option longopts[] = {
        {"interval", required_argument, NULL, 'i'}, {"count", required_argument, NULL, 'c'},
        {"pid", required_argument, NULL, 'p'},      {"pname", required_argument, NULL, 'n'},
        {"dev", required_argument, NULL, 'd'},      {"port", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    *o = (sampler_opts){.interval = 1};
    int c;
    opterr = 0; /* usage_error says it better */
    while ((c = getopt_long(argc, argv, ":i:c:p:n:d:P:h", longopts, NULL)) != -1)
        set_option(o, c, argv);
    if (optind == argc)
        usage_error("no KIND given (%s)", KINDS);
    if (optind < argc - 1)
        usage_error("unexpected argument '%s' after KIND '%s'", argv[optind + 1], argv[optind]);
    o->kind = argv[optind];
    check_kind(o);
}
