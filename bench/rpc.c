/* rpc.c - RPC benchmark (build/bench/bench_rpc), driven by bench/rpc.sh.
 *
 *   bench_rpc server URL TOPIC         echo/count/get_count server; prints
 *                                      READY when serving
 *   bench_rpc floor-echo URL           bare rabbitmq-c: bounces every
 *                                      message of bench_ping to bench_pong
 *   bench_rpc wire-echo URL [MASK]     the same speaking the oslo wire, or
 *                                      the parts of it in MASK (default
 *                                      15, all; queues bench_wireMASK_*)
 *   bench_rpc calls AMQP_URL UNIX_URL [CALLS] [WARMUP] [BLOCK]
 *                                      sequential round trips, the probes
 *                                      taking turns every BLOCK calls
 *                                      (default 1: call by call)
 *   bench_rpc wire-cost URL [CALLS] [WARMUP]
 *                                      the bare and wire ping-pongs, and
 *                                      the wire less one part at a time,
 *                                      taking turns call by call
 *   bench_rpc casts URL TOPIC [CASTS]  cast throughput to TOPIC.bench
 *
 * The probes of "calls", one round trip each per turn:
 *   floor  bare rabbitmq-c publish/consume ping-pong through the broker
 *          (default exchange, no properties, no acks): what no RPC layer
 *          can beat;
 *   wire   the same speaking the oslo wire as our RPC does: requests
 *          through a topic exchange (WIRE_TOPIC), oslo's properties with
 *          the expiration on the request (WIRE_PROPS), acked request
 *          consumer (WIRE_ACK), mandatory request and reply (WIRE_MANDATORY);
 *   amqp   our client -> our server (echo(x="scalpels") to bench_c.bench);
 *   unix   our client -> our server over the unix socket (bench_unix).
 * Taking turns call by call puts every probe through the same machine
 * conditions, which on a VM drift within seconds; BLOCK=CALLS gives each
 * probe one uninterrupted run instead.  "wire-cost" needs a wire-echo
 * running for masks 0 (the floor), 15, 14, 13, 11 and 7.
 *
 * Output: "calls PROBE N median_us p99_us calls_per_s" per probe, and
 * "casts N casts_per_s"; the cast rate runs from the first cast to the
 * moment the server reports all of them processed (the oslo pair is
 * measured the same way). */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc_url.h"
#include "scalpels/log.h"
#include "scalpels/rpc.h"
#include "scalpels/util.h"

#define SERVER_NAME "bench"
#define WIRE_EXCHANGE "bench_wire"

/* The parts of the oslo wire, each of which a ping-pong may speak or not. */
enum {
    WIRE_TOPIC = 1,     /* requests through a topic exchange */
    WIRE_PROPS = 2,     /* oslo's properties; expiration on requests */
    WIRE_ACK = 4,       /* the echo acks each request before replying */
    WIRE_MANDATORY = 8, /* requests and replies published mandatory */
    WIRE_ALL = 15
};

/* Every mask has its own queues, so echoes for several run side by side. */
static const char *wire_queue(char *buf, size_t size, const char *dir, unsigned wire)
{
    if (wire == 0)
        snprintf(buf, size, "bench_%s", dir);
    else
        snprintf(buf, size, "bench_wire%u_%s", wire, dir);
    return buf;
}

/* --- The server ------------------------------------------------------------ */

static json_int_t total;

static void m_echo(rpc_request *req, void *arg)
{
    (void)arg;
    rpc_request_reply(req, json_incref(json_object_get(rpc_request_args(req), "x")));
}

static void m_count(rpc_request *req, void *arg)
{
    (void)arg;
    total += json_integer_value(json_object_get(rpc_request_args(req), "n"));
    rpc_request_reply(req, NULL);
}

static void m_get_count(rpc_request *req, void *arg)
{
    (void)arg;
    rpc_request_reply(req, json_integer(total));
}

static const rpc_arg_spec a_x[] = {{"x", RPC_ARG_ANY, true, true}, {0}};
static const rpc_arg_spec a_n[] = {{"n", RPC_ARG_INT, true, false}, {0}};
static const rpc_method methods[] = {
    {"echo", m_echo, a_x}, {"count", m_count, a_n}, {"get_count", m_get_count, NULL}, {0}};

static void on_state(rpc_transport *t, bool up, const char *detail, void *arg)
{
    (void)t;
    (void)detail;
    (void)arg;
    if (up) {
        printf("READY\n");
        fflush(stdout);
    }
}

static rpc_transport *transport_open(uv_loop_t *loop, const char *url)
{
    rpc_options opts = {.heartbeat = 60, .program = "bench_rpc"};
    rpc_transport *t;
    sca_error err = {0};
    if (rpc_transport_new(loop, url, &opts, &t, &err) != 0) {
        fprintf(stderr, "bench_rpc: %s\n", err.msg);
        exit(1);
    }
    return t;
}

static int run_server(const char *url, const char *topic)
{
    uv_loop_t *loop = uv_default_loop();
    rpc_endpoint ep = {.methods = methods};
    rpc_transport *t = transport_open(loop, url);
    rpc_server *s;
    sca_error err = {0};
    rpc_transport_on_state(t, on_state, NULL);
    if (rpc_server_new(t, topic, SERVER_NAME, &ep, 1, &s, &err) != 0) {
        fprintf(stderr, "bench_rpc: %s\n", err.msg);
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}

/* --- The bare rabbitmq-c echoes (blocking, no RPC layer) ------------------- */

static amqp_connection_state_t floor_connect(const char *url)
{
    rpc_url u;
    sca_error err = {0};
    if (rpc_url_parse(url, &u, &err) != 0 || u.kind != RPC_URL_RABBIT) {
        fprintf(stderr, "bench_rpc: %s\n", err.msg[0] ? err.msg : "floor needs rabbit://");
        exit(1);
    }
    const rpc_broker *b = &u.brokers[0];
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (s == NULL || amqp_socket_open(s, b->host, b->port) != AMQP_STATUS_OK ||
        amqp_login(c, b->vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, b->user, b->password)
                .reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "bench_rpc: cannot connect to %s\n", u.describe);
        exit(1);
    }
    amqp_channel_open(c, 1);
    rpc_url_free(&u);
    return c;
}

static void floor_queue(amqp_connection_state_t c, const char *name, bool topic, bool ack)
{
    amqp_queue_declare(c, 1, amqp_cstring_bytes(name), 0, 0, 0, 1, amqp_empty_table);
    if (topic) {
        amqp_exchange_declare(c, 1, amqp_cstring_bytes(WIRE_EXCHANGE), amqp_cstring_bytes("topic"),
                              0, 0, 0, 0, amqp_empty_table);
        amqp_queue_bind(c, 1, amqp_cstring_bytes(name), amqp_cstring_bytes(WIRE_EXCHANGE),
                        amqp_cstring_bytes(name), amqp_empty_table);
    }
    amqp_basic_consume(c, 1, amqp_cstring_bytes(name), amqp_empty_bytes, 0, !ack, 0,
                       amqp_empty_table);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "bench_rpc: cannot consume %s\n", name);
        exit(1);
    }
}

static amqp_basic_properties_t wire_props(const char *expiration)
{
    amqp_basic_properties_t p = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
                  AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                  AMQP_BASIC_PRIORITY_FLAG,
        .content_type = amqp_cstring_bytes("application/json"),
        .content_encoding = amqp_cstring_bytes("utf-8"),
        .headers = amqp_empty_table,
        .delivery_mode = AMQP_DELIVERY_PERSISTENT,
    };
    if (expiration != NULL) {
        p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
        p.expiration = amqp_cstring_bytes(expiration);
    }
    return p;
}

static int floor_bounce(amqp_connection_state_t c, const char *pong, unsigned wire)
{
    amqp_envelope_t env;
    amqp_maybe_release_buffers(c);
    if (amqp_consume_message(c, &env, NULL, 0).reply_type != AMQP_RESPONSE_NORMAL)
        return -1;
    if (wire & WIRE_ACK)
        amqp_basic_ack(c, 1, env.delivery_tag, 0);
    amqp_basic_properties_t p = wire_props(NULL);
    int rc = amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(pong),
                                (wire & WIRE_MANDATORY) != 0, 0, (wire & WIRE_PROPS) ? &p : NULL,
                                env.message.body);
    amqp_destroy_envelope(&env);
    return rc;
}

static int run_floor_echo(const char *url, unsigned wire)
{
    char ping[64], pong[64];
    amqp_connection_state_t c = floor_connect(url);
    floor_queue(c, wire_queue(ping, sizeof(ping), "ping", wire), wire & WIRE_TOPIC,
                wire & WIRE_ACK);
    wire_queue(pong, sizeof(pong), "pong", wire);
    printf("READY\n");
    fflush(stdout);
    while (floor_bounce(c, pong, wire) == AMQP_STATUS_OK)
        ;
    return 0;
}

/* --- Calls: the probes take turns ------------------------------------------ */

typedef struct probe {
    const char *name;
    amqp_connection_state_t conn; /* floor probes */
    unsigned wire;
    rpc_transport *t; /* RPC probes */
    rpc_target target;
    double *rtt;
} probe;

static int floor_once(probe *p)
{
    static const char body[] = "{\"x\": \"scalpels\"}";
    amqp_basic_properties_t props = wire_props("10000");
    amqp_bytes_t b = {sizeof(body) - 1, (void *)body};
    amqp_envelope_t env;
    char ping[64];
    amqp_maybe_release_buffers(p->conn);
    amqp_bytes_t exchange =
        (p->wire & WIRE_TOPIC) ? amqp_cstring_bytes(WIRE_EXCHANGE) : amqp_empty_bytes;
    if (amqp_basic_publish(p->conn, 1, exchange,
                           amqp_cstring_bytes(wire_queue(ping, sizeof(ping), "ping", p->wire)),
                           (p->wire & WIRE_MANDATORY) != 0, 0,
                           (p->wire & WIRE_PROPS) ? &props : NULL, b) != AMQP_STATUS_OK ||
        amqp_consume_message(p->conn, &env, NULL, 0).reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "bench_rpc: %s ping-pong failed\n", p->name);
        return -1;
    }
    amqp_destroy_envelope(&env);
    return 0;
}

static int rpc_once(probe *p)
{
    json_t *result = NULL;
    sca_error err = {0};
    if (rpc_call_sync(p->t, &p->target, "echo", json_pack("{s:s}", "x", "scalpels"), NULL, 10,
                      &result, NULL, &err) != 0) {
        fprintf(stderr, "bench_rpc: %s call: %s\n", p->name, err.msg);
        return -1;
    }
    json_decref(result);
    return 0;
}

static int probe_once(probe *p)
{
    return p->t != NULL ? rpc_once(p) : floor_once(p);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void probe_report(probe *p, long n)
{
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += p->rtt[i];
    qsort(p->rtt, (size_t)n, sizeof(*p->rtt), cmp_double);
    printf("calls %s %ld %.0f %.0f %.0f\n", p->name, n, p->rtt[n / 2] * 1e6,
           p->rtt[(long)(n * 0.99)] * 1e6, n / sum);
}

/* A ping-pong probe speaking the parts of the wire in WIRE, with its own
 * connection and reply queue. */
static probe floor_probe(const char *name, const char *url, unsigned wire)
{
    char pong[64];
    probe p = {.name = name, .conn = floor_connect(url), .wire = wire};
    floor_queue(p.conn, wire_queue(pong, sizeof(pong), "pong", wire), false, false);
    return p;
}

/* Warms every probe up, then has them take turns every BLOCK calls; prints
 * each probe's figures and frees the probes. */
static int run_probes(probe *probes, size_t n_probes, long calls, long warmup, long block)
{
    int rc = 0;
    for (size_t k = 0; k < n_probes; k++)
        probes[k].rtt = sca_calloc((size_t)calls, sizeof(double));
    for (size_t k = 0; k < n_probes && rc == 0; k++) {
        for (long i = 0; i < warmup && rc == 0; i++)
            rc = probe_once(&probes[k]);
    }
    for (long base = 0; base < calls && rc == 0; base += block) {
        long end = base + block < calls ? base + block : calls;
        for (size_t k = 0; k < n_probes && rc == 0; k++) {
            for (long i = base; i < end && rc == 0; i++) {
                double t0 = sca_monotonic();
                rc = probe_once(&probes[k]);
                probes[k].rtt[i] = sca_monotonic() - t0;
            }
        }
    }
    for (size_t k = 0; k < n_probes; k++) {
        if (rc == 0)
            probe_report(&probes[k], calls);
        free(probes[k].rtt);
        if (probes[k].t != NULL)
            rpc_transport_free(probes[k].t);
        if (probes[k].conn != NULL) {
            amqp_connection_close(probes[k].conn, AMQP_REPLY_SUCCESS);
            amqp_destroy_connection(probes[k].conn);
        }
    }
    return rc == 0 ? 0 : 1;
}

static int run_calls(const char *amqp_url, const char *unix_url, long calls, long warmup,
                     long block)
{
    uv_loop_t *loop = uv_default_loop();
    probe probes[] = {
        floor_probe("floor", amqp_url, 0),
        floor_probe("wire", amqp_url, WIRE_ALL),
        {.name = "amqp",
         .t = transport_open(loop, amqp_url),
         .target = {.topic = "bench_c", .server = SERVER_NAME}},
        {.name = "unix",
         .t = transport_open(loop, unix_url),
         .target = {.topic = "bench_unix", .server = SERVER_NAME}},
    };
    int rc = run_probes(probes, sizeof(probes) / sizeof(probes[0]), calls, warmup, block);
    uv_run(loop, UV_RUN_DEFAULT);
    return rc;
}

static int run_wire_cost(const char *url, long calls, long warmup)
{
    probe probes[] = {
        floor_probe("floor", url, 0),
        floor_probe("wire", url, WIRE_ALL),
        floor_probe("wire-topic", url, WIRE_ALL & ~WIRE_TOPIC),
        floor_probe("wire-props", url, WIRE_ALL & ~WIRE_PROPS),
        floor_probe("wire-ack", url, WIRE_ALL & ~WIRE_ACK),
        floor_probe("wire-mandatory", url, WIRE_ALL & ~WIRE_MANDATORY),
    };
    return run_probes(probes, sizeof(probes) / sizeof(probes[0]), calls, warmup, 1);
}

/* --- Casts ----------------------------------------------------------------- */

static int count_of(rpc_transport *t, const rpc_target *target, json_int_t *out, sca_error *err)
{
    json_t *result = NULL;
    int rc = rpc_call_sync(t, target, "get_count", NULL, NULL, 10, &result, NULL, err);
    if (rc == 0)
        *out = json_integer_value(result);
    json_decref(result);
    return rc;
}

static int send_casts(rpc_transport *t, const rpc_target *target, long casts, sca_error *err)
{
    json_int_t base = 0, done = 0;
    int rc = count_of(t, target, &base, err);
    double start = sca_monotonic();
    for (long i = 0; i < casts && rc == 0; i++)
        rc = rpc_cast(t, target, "count", json_pack("{s:i}", "n", 1), NULL, err);
    if (rc == 0)
        rc = rpc_flush_sync(t, 60, err);
    while (rc == 0 && (rc = count_of(t, target, &done, err)) == 0 && done - base < casts)
        usleep(1000);
    if (rc == 0)
        printf("casts %ld %.0f\n", casts, casts / (sca_monotonic() - start));
    return rc;
}

static int run_casts(const char *url, const char *topic, long casts)
{
    uv_loop_t *loop = uv_default_loop();
    rpc_transport *t = transport_open(loop, url);
    rpc_target target = {.topic = topic, .server = SERVER_NAME};
    sca_error err = {0};
    int rc = send_casts(t, &target, casts, &err);
    if (rc != 0)
        fprintf(stderr, "bench_rpc: casts: %s\n", err.msg);
    rpc_transport_free(t);
    uv_run(loop, UV_RUN_DEFAULT);
    return rc == 0 ? 0 : 1;
}

static long arg_or(int argc, char **argv, int i, long dflt)
{
    return argc > i ? atol(argv[i]) : dflt;
}

int main(int argc, char **argv)
{
    log_init("bench_rpc");
    log_set_level(LOG_LEVEL_WARNING);
    const char *mode = argc >= 3 ? argv[1] : "";
    if (argc >= 4 && strcmp(mode, "server") == 0)
        return run_server(argv[2], argv[3]);
    if (strcmp(mode, "floor-echo") == 0)
        return run_floor_echo(argv[2], 0);
    if (strcmp(mode, "wire-echo") == 0) {
        long wire = arg_or(argc, argv, 3, WIRE_ALL);
        if (wire >= 0 && wire <= WIRE_ALL)
            return run_floor_echo(argv[2], (unsigned)wire);
    }
    if (argc >= 4 && strcmp(mode, "calls") == 0) {
        long calls = arg_or(argc, argv, 4, 1000);
        long block = arg_or(argc, argv, 6, 1);
        if (calls > 0 && block > 0)
            return run_calls(argv[2], argv[3], calls, arg_or(argc, argv, 5, 100), block);
    }
    if (strcmp(mode, "wire-cost") == 0 && arg_or(argc, argv, 3, 2000) > 0)
        return run_wire_cost(argv[2], arg_or(argc, argv, 3, 2000), arg_or(argc, argv, 4, 200));
    if (argc >= 4 && strcmp(mode, "casts") == 0)
        return run_casts(argv[2], argv[3], arg_or(argc, argv, 4, 10000));
    fputs("usage: bench_rpc server URL TOPIC | floor-echo URL | wire-echo URL [MASK]\n"
          "       | calls AMQP_URL UNIX_URL [CALLS] [WARMUP] [BLOCK]\n"
          "       | wire-cost URL [CALLS] [WARMUP] | casts URL TOPIC [CASTS]\n",
          stderr);
    return 64;
}
