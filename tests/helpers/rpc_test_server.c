/* rpc_test_server.c - an RPC server for the integration tests and the
 * benchmark, on any transport URL.
 *
 *   rpc_test_server [--topic T] [--server S] [--exchange E] [--heartbeat N] [--max-size N]
 *                   [--ssl-ca F] [--ssl-cert F] [--ssl-key F] [--ssl-verify] URL
 *
 * Prints "UP <detail>" and "DOWN <detail>" lines as the transport state
 * changes (the first UP means ready) and exits 0 on SIGTERM or SIGINT after
 * a clean shutdown: it stops taking requests and lets those being handled
 * answer (up to STOP_GRACE seconds), as oslo's stop() and wait() do.
 * Endpoints (default namespace, version 1.1):
 *   echo(x) -> x               boom() -> ValueError
 *   count(n) -> total          get_count() -> total
 *   sleep(seconds)             answered later from a timer
 *   slow_echo(x, seconds)      answered after a sleep on the thread pool
 *   whoami() -> {"uid": ...}   context() -> the request context
 *   big(n) -> n bytes string   typed(s, i, f?, b?, o?, l?, n?) -> "ok"
 *   fail(cls, message, module?) raises what it is told
 *   stats() -> {"rss_kb", "requests", "sanitized"}
 * and namespace "admin", version 2.0: secret() -> "admin-2.0". */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scalpels/log.h"
#include "scalpels/rpc.h"
#include "scalpels/util.h"

typedef struct app {
    uv_loop_t *loop;
    rpc_transport *t;
    rpc_server *s;
    json_int_t count;
    long requests;
    uv_signal_t sigterm, sigint;
} app;

static void m_echo(rpc_request *req, void *arg)
{
    ((app *)arg)->requests++;
    rpc_request_reply(req, json_incref(json_object_get(rpc_request_args(req), "x")));
}

static void m_boom(rpc_request *req, void *arg)
{
    ((app *)arg)->requests++;
    rpc_request_fail(req, "ValueError", "builtins", "boom: requested failure");
}

static void m_fail(rpc_request *req, void *arg)
{
    ((app *)arg)->requests++;
    json_t *a = rpc_request_args(req);
    rpc_request_fail(req, json_string_value(json_object_get(a, "cls")),
                     json_string_value(json_object_get(a, "module")), "%s",
                     json_string_value(json_object_get(a, "message")));
}

static void m_count(rpc_request *req, void *arg)
{
    app *ap = arg;
    ap->requests++;
    ap->count += json_integer_value(json_object_get(rpc_request_args(req), "n"));
    rpc_request_reply(req, json_integer(ap->count));
}

static void m_get_count(rpc_request *req, void *arg)
{
    app *ap = arg;
    ap->requests++;
    rpc_request_reply(req, json_integer(ap->count));
}

typedef struct later {
    uv_timer_t timer;
    rpc_request *req;
    double seconds;
} later;

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_fire(uv_timer_t *timer)
{
    later *l = timer->data;
    rpc_request_reply(l->req, json_real(l->seconds));
    uv_close((uv_handle_t *)timer, later_closed);
}

static void m_sleep(rpc_request *req, void *arg)
{
    app *ap = arg;
    ap->requests++;
    later *l = sca_calloc(1, sizeof(*l));
    l->req = req;
    l->seconds = json_number_value(json_object_get(rpc_request_args(req), "seconds"));
    uv_timer_init(ap->loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, later_fire, (uint64_t)(l->seconds * 1000), 0);
}

typedef struct job {
    uv_work_t work;
    rpc_request *req;
    double seconds;
} job;

static void job_run(uv_work_t *w)
{
    job *j = w->data;
    usleep((useconds_t)(j->seconds * 1e6));
}

static void job_done(uv_work_t *w, int status)
{
    (void)status;
    job *j = w->data;
    rpc_request_reply(j->req, json_incref(json_object_get(rpc_request_args(j->req), "x")));
    free(j);
}

static void m_slow_echo(rpc_request *req, void *arg)
{
    app *ap = arg;
    ap->requests++;
    job *j = sca_calloc(1, sizeof(*j));
    j->req = req;
    j->seconds = json_number_value(json_object_get(rpc_request_args(req), "seconds"));
    j->work.data = j;
    if (uv_queue_work(ap->loop, &j->work, job_run, job_done) != 0) {
        free(j);
        rpc_request_fail(req, "RuntimeError", "builtins", "cannot queue work");
    }
}

static void m_whoami(rpc_request *req, void *arg)
{
    ((app *)arg)->requests++;
    uid_t uid;
    json_t *v = rpc_request_peer_uid(req, &uid) == 0 ? json_integer(uid) : json_null();
    rpc_request_reply(req, json_pack("{s:o}", "uid", v));
}

static void m_context(rpc_request *req, void *arg)
{
    ((app *)arg)->requests++;
    rpc_request_reply(req, json_incref(rpc_request_context(req)));
}

static void m_big(rpc_request *req, void *arg)
{
    ((app *)arg)->requests++;
    json_int_t n = json_integer_value(json_object_get(rpc_request_args(req), "n"));
    if (n < 0 || n > (64 << 20)) {
        rpc_request_fail(req, "ValueError", "builtins", "n out of range");
        return;
    }
    char *s = sca_malloc((size_t)n + 1);
    memset(s, 'x', (size_t)n);
    s[n] = '\0';
    rpc_request_reply(req, json_string(s));
    free(s);
}

static void m_ok(rpc_request *req, void *arg)
{
    ((app *)arg)->requests++;
    rpc_request_reply(req, json_string("ok"));
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    }
    if (f != NULL)
        fclose(f);
    return kb;
}

/* Memory checks mean nothing under AddressSanitizer, which keeps freed
 * memory in quarantine: the tests relax them when told. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static void m_stats(rpc_request *req, void *arg)
{
    app *ap = arg;
    rpc_request_reply(req, json_pack("{s:I,s:I,s:b}", "rss_kb", (json_int_t)rss_kb(), "requests",
                                     (json_int_t)ap->requests, "sanitized", SANITIZED));
}

static void m_secret(rpc_request *req, void *arg)
{
    (void)arg;
    rpc_request_reply(req, json_string("admin-2.0"));
}

static const rpc_arg_spec a_echo[] = {{"x", RPC_ARG_ANY, true, true}, {0}};
static const rpc_arg_spec a_count[] = {{"n", RPC_ARG_INT, true, false}, {0}};
static const rpc_arg_spec a_sleep[] = {{"seconds", RPC_ARG_NUMBER, true, false}, {0}};
static const rpc_arg_spec a_slow[] = {
    {"x", RPC_ARG_ANY, true, true}, {"seconds", RPC_ARG_NUMBER, true, false}, {0}};
static const rpc_arg_spec a_big[] = {{"n", RPC_ARG_INT, true, false}, {0}};
static const rpc_arg_spec a_fail[] = {{"cls", RPC_ARG_STRING, true, false},
                                      {"message", RPC_ARG_STRING, true, false},
                                      {"module", RPC_ARG_STRING, false, true},
                                      {0}};
static const rpc_arg_spec a_typed[] = {
    {"s", RPC_ARG_STRING, true, false},  {"i", RPC_ARG_INT, true, false},
    {"f", RPC_ARG_NUMBER, false, false}, {"b", RPC_ARG_BOOL, false, false},
    {"o", RPC_ARG_OBJECT, false, false}, {"l", RPC_ARG_STRING_LIST, false, false},
    {"n", RPC_ARG_STRING, false, true},  {0}};

static const rpc_method methods[] = {
    {"echo", m_echo, a_echo},
    {"boom", m_boom, NULL},
    {"fail", m_fail, a_fail},
    {"count", m_count, a_count},
    {"get_count", m_get_count, NULL},
    {"sleep", m_sleep, a_sleep},
    {"slow_echo", m_slow_echo, a_slow},
    {"whoami", m_whoami, NULL},
    {"context", m_context, NULL},
    {"big", m_big, a_big},
    {"typed", m_ok, a_typed},
    {"stats", m_stats, NULL},
    {0},
};

static const rpc_method admin_methods[] = {{"secret", m_secret, NULL}, {0}};

static void on_state(rpc_transport *t, bool up, const char *detail, void *arg)
{
    (void)t;
    (void)arg;
    printf("%s %s\n", up ? "UP" : "DOWN", detail);
    fflush(stdout);
}

#define STOP_GRACE 30

static void on_stopped(rpc_server *s, size_t dropped, void *arg)
{
    app *ap = arg;
    if (dropped > 0)
        fprintf(stderr, "rpc_test_server: %zu requests unanswered at exit\n", dropped);
    rpc_server_free(s);
    rpc_transport_free(ap->t);
}

/* As an oslo server's stop() and wait(): the calls being handled answer. */
static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    app *ap = sig->data;
    uv_close((uv_handle_t *)&ap->sigterm, NULL);
    uv_close((uv_handle_t *)&ap->sigint, NULL);
    rpc_server_stop(ap->s, STOP_GRACE, on_stopped, ap);
}

static void usage(void)
{
    fputs("usage: rpc_test_server [--topic T] [--server S] [--exchange E] [--heartbeat N]\n"
          "       [--max-size N]\n"
          "       [--ssl-ca F] [--ssl-cert F] [--ssl-key F] [--ssl-verify] URL\n",
          stderr);
    exit(64);
}

int main(int argc, char **argv)
{
    const char *topic = "scalpels", *server = "node1";
    rpc_options opts = {.heartbeat = 60, .program = "rpc_test_server"};
    static const struct option longopts[] = {
        {"topic", required_argument, NULL, 't'},     {"server", required_argument, NULL, 's'},
        {"heartbeat", required_argument, NULL, 'h'}, {"max-size", required_argument, NULL, 'm'},
        {"exchange", required_argument, NULL, 'E'},  {"ssl-ca", required_argument, NULL, 'A'},
        {"ssl-cert", required_argument, NULL, 'C'},  {"ssl-key", required_argument, NULL, 'K'},
        {"ssl-verify", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            topic = optarg;
            break;
        case 's':
            server = optarg;
            break;
        case 'h':
            opts.heartbeat = atoi(optarg);
            break;
        case 'm':
            opts.max_message_size = (size_t)atol(optarg);
            break;
        case 'E':
            opts.exchange = optarg;
            break;
        case 'A':
            opts.ssl_ca_file = optarg;
            break;
        case 'C':
            opts.ssl_cert_file = optarg;
            break;
        case 'K':
            opts.ssl_key_file = optarg;
            break;
        case 'V':
            opts.ssl_verify = true;
            break;
        default:
            usage();
        }
    }
    if (optind != argc - 1)
        usage();
    log_init("rpc_test_server");
    if (getenv("SCA_DEBUG") != NULL)
        log_set_level(LOG_LEVEL_DEBUG);
    app ap = {.loop = uv_default_loop()};
    const rpc_endpoint endpoints[] = {
        {.namespace = NULL, .version = "1.1", .methods = methods, .arg = &ap},
        {.namespace = "admin", .version = "2.0", .methods = admin_methods, .arg = &ap},
    };
    sca_error err = {0};
    if (rpc_transport_new(ap.loop, argv[optind], &opts, &ap.t, &err) != 0) {
        fprintf(stderr, "rpc_test_server: %s\n", err.msg);
        return 1;
    }
    rpc_transport_on_state(ap.t, on_state, &ap);
    if (rpc_server_new(ap.t, topic, server, endpoints, 2, &ap.s, &err) != 0) {
        fprintf(stderr, "rpc_test_server: %s\n", err.msg);
        return 1;
    }
    uv_signal_init(ap.loop, &ap.sigterm);
    uv_signal_init(ap.loop, &ap.sigint);
    ap.sigterm.data = ap.sigint.data = &ap;
    uv_signal_start(&ap.sigterm, on_signal, SIGTERM);
    uv_signal_start(&ap.sigint, on_signal, SIGINT);
    uv_run(ap.loop, UV_RUN_DEFAULT);
    uv_loop_close(ap.loop);
    return 0;
}
