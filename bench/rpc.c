/* rpc.c - RPC benchmark (build/bench/bench_rpc), driven by bench/rpc.sh.
 *
 *   bench_rpc server URL TOPIC            echo/count/get_count server;
 *                                         prints READY when serving
 *   bench_rpc client URL TOPIC [CALLS] [CASTS] [WARMUP]
 *                                         sequential echo(x="scalpels")
 *                                         calls to TOPIC.bench, then casts
 *   bench_rpc floor-echo URL              bare rabbitmq-c: bounce every
 *                                         message of queue bench_ping
 *   bench_rpc floor URL [CALLS] [WARMUP]  bare rabbitmq-c ping-pong
 *   bench_rpc wire-echo URL, wire URL ... the same speaking the oslo wire
 *
 * Client lines: "calls N median_us P99_us calls_per_s" and "casts N
 * casts_per_s"; the cast rate runs from the first cast to the moment the
 * server reports all of them processed (as OSLO_WIRE.md section 9 measured
 * the oslo pair). */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/lib/rpc_url.h"
#include "scalpels/log.h"
#include "scalpels/rpc.h"
#include "scalpels/util.h"

#define SERVER_NAME "bench"

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

static int run_server(const char *url, const char *topic)
{
    uv_loop_t *loop = uv_default_loop();
    rpc_options opts = {.heartbeat = 60, .program = "bench_rpc"};
    rpc_endpoint ep = {.methods = methods};
    rpc_transport *t;
    rpc_server *s;
    sca_error err = {0};
    if (rpc_transport_new(loop, url, &opts, &t, &err) != 0) {
        fprintf(stderr, "bench_rpc: %s\n", err.msg);
        return 1;
    }
    rpc_transport_on_state(t, on_state, NULL);
    if (rpc_server_new(t, topic, SERVER_NAME, &ep, 1, &s, &err) != 0) {
        fprintf(stderr, "bench_rpc: %s\n", err.msg);
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report_calls(double *rtt, long n, double elapsed)
{
    qsort(rtt, (size_t)n, sizeof(*rtt), cmp_double);
    printf("calls %ld %.0f %.0f %.0f\n", n, rtt[n / 2] * 1e6, rtt[(long)(n * 0.99)] * 1e6,
           n / elapsed);
}

static int client_calls(rpc_transport *t, const rpc_target *target, long calls, long warmup)
{
    double *rtt = sca_calloc((size_t)calls, sizeof(*rtt));
    sca_error err = {0};
    double start = 0;
    for (long i = -warmup; i < calls; i++) {
        json_t *result = NULL;
        if (i == 0)
            start = sca_monotonic();
        double t0 = sca_monotonic();
        if (rpc_call_sync(t, target, "echo", json_pack("{s:s}", "x", "scalpels"), NULL, 10, &result,
                          NULL, &err) != 0) {
            fprintf(stderr, "bench_rpc: call: %s\n", err.msg);
            free(rtt);
            return 1;
        }
        if (i >= 0)
            rtt[i] = sca_monotonic() - t0;
        json_decref(result);
    }
    report_calls(rtt, calls, sca_monotonic() - start);
    free(rtt);
    return 0;
}

static int client_casts(rpc_transport *t, const rpc_target *target, long casts)
{
    sca_error err = {0};
    json_t *result = NULL;
    if (rpc_call_sync(t, target, "get_count", NULL, NULL, 10, &result, NULL, &err) != 0)
        goto fail;
    json_int_t base = json_integer_value(result);
    json_decref(result);
    double start = sca_monotonic();
    for (long i = 0; i < casts; i++) {
        if (rpc_cast(t, target, "count", json_pack("{s:i}", "n", 1), NULL, &err) != 0)
            goto fail;
    }
    if (rpc_flush_sync(t, 60, &err) != 0)
        goto fail;
    for (;;) {
        if (rpc_call_sync(t, target, "get_count", NULL, NULL, 10, &result, NULL, &err) != 0)
            goto fail;
        json_int_t done = json_integer_value(result) - base;
        json_decref(result);
        if (done >= casts)
            break;
        usleep(1000);
    }
    printf("casts %ld %.0f\n", casts, casts / (sca_monotonic() - start));
    return 0;
fail:
    fprintf(stderr, "bench_rpc: casts: %s\n", err.msg);
    return 1;
}

static int run_client(const char *url, const char *topic, long calls, long casts, long warmup)
{
    uv_loop_t *loop = uv_default_loop();
    rpc_options opts = {.heartbeat = 60, .program = "bench_rpc"};
    rpc_transport *t;
    sca_error err = {0};
    if (rpc_transport_new(loop, url, &opts, &t, &err) != 0) {
        fprintf(stderr, "bench_rpc: %s\n", err.msg);
        return 1;
    }
    rpc_target target = {.topic = topic, .server = SERVER_NAME};
    int rc = client_calls(t, &target, calls, warmup);
    if (rc == 0 && casts > 0)
        rc = client_casts(t, &target, casts);
    rpc_transport_free(t);
    uv_run(loop, UV_RUN_DEFAULT);
    return rc;
}

/* --- The floor: bare rabbitmq-c, blocking, no RPC layer at all ----------
 * "floor" is the plain ping-pong of the issue (default exchange, no
 * properties, no acks).  "wire" is the same ping-pong speaking the oslo wire
 * as our RPC does (topic exchange, oslo's properties, expiration on the
 * request, acked request consumer, mandatory reply): what the format itself
 * costs the broker, with no RPC layer on top. */

#define WIRE_EXCHANGE "bench_wire"

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

static void floor_queue(amqp_connection_state_t c, const char *name, bool wire, bool ack)
{
    amqp_queue_declare(c, 1, amqp_cstring_bytes(name), 0, 0, 0, 1, amqp_empty_table);
    if (wire) {
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

static int floor_bounce(amqp_connection_state_t c, bool wire)
{
    amqp_envelope_t env;
    amqp_maybe_release_buffers(c);
    if (amqp_consume_message(c, &env, NULL, 0).reply_type != AMQP_RESPONSE_NORMAL)
        return -1;
    if (wire)
        amqp_basic_ack(c, 1, env.delivery_tag, 0);
    amqp_basic_properties_t p = wire_props(NULL);
    int rc = amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes("bench_pong"), wire, 0,
                                wire ? &p : NULL, env.message.body);
    amqp_destroy_envelope(&env);
    return rc;
}

static int run_floor_echo(const char *url, bool wire)
{
    amqp_connection_state_t c = floor_connect(url);
    floor_queue(c, "bench_ping", wire, wire);
    printf("READY\n");
    fflush(stdout);
    while (floor_bounce(c, wire) == AMQP_STATUS_OK)
        ;
    return 0;
}

static int run_floor(const char *url, long calls, long warmup, bool wire)
{
    amqp_connection_state_t c = floor_connect(url);
    floor_queue(c, "bench_pong", wire, false);
    double *rtt = sca_calloc((size_t)calls, sizeof(*rtt));
    static const char body[] = "{\"x\": \"scalpels\"}";
    amqp_basic_properties_t p = wire_props("10000");
    amqp_bytes_t exchange = wire ? amqp_cstring_bytes(WIRE_EXCHANGE) : amqp_empty_bytes;
    double start = 0;
    for (long i = -warmup; i < calls; i++) {
        if (i == 0)
            start = sca_monotonic();
        double t0 = sca_monotonic();
        amqp_bytes_t b = {sizeof(body) - 1, (void *)body};
        amqp_envelope_t env;
        amqp_maybe_release_buffers(c);
        if (amqp_basic_publish(c, 1, exchange, amqp_cstring_bytes("bench_ping"), 0, 0,
                               wire ? &p : NULL, b) != AMQP_STATUS_OK ||
            amqp_consume_message(c, &env, NULL, 0).reply_type != AMQP_RESPONSE_NORMAL) {
            fprintf(stderr, "bench_rpc: floor ping-pong failed\n");
            return 1;
        }
        amqp_destroy_envelope(&env);
        if (i >= 0)
            rtt[i] = sca_monotonic() - t0;
    }
    report_calls(rtt, calls, sca_monotonic() - start);
    free(rtt);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return 0;
}

static long arg_or(int argc, char **argv, int i, long dflt)
{
    return argc > i ? atol(argv[i]) : dflt;
}

int main(int argc, char **argv)
{
    log_init("bench_rpc");
    log_set_level(LOG_LEVEL_WARNING);
    if (argc >= 4 && strcmp(argv[1], "server") == 0)
        return run_server(argv[2], argv[3]);
    if (argc >= 4 && strcmp(argv[1], "client") == 0)
        return run_client(argv[2], argv[3], arg_or(argc, argv, 4, 2000),
                          arg_or(argc, argv, 5, 10000), arg_or(argc, argv, 6, 100));
    bool wire = argc >= 2 && strncmp(argv[1], "wire", 4) == 0;
    if (argc >= 3 && (strcmp(argv[1], "floor-echo") == 0 || strcmp(argv[1], "wire-echo") == 0))
        return run_floor_echo(argv[2], wire);
    if (argc >= 3 && (strcmp(argv[1], "floor") == 0 || strcmp(argv[1], "wire") == 0))
        return run_floor(argv[2], arg_or(argc, argv, 3, 2000), arg_or(argc, argv, 4, 100), wire);
    fputs("usage: bench_rpc server URL TOPIC | client URL TOPIC [CALLS] [CASTS] [WARMUP]\n"
          "       | floor-echo|wire-echo URL | floor|wire URL [CALLS] [WARMUP]\n",
          stderr);
    return 64;
}
