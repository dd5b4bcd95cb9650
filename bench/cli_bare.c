/* cli_bare.c - the floor of bench/cli.sh: the smallest whole program that
 * makes the call `sca tracer -l` makes, in the oslo wire format, with
 * nothing but rabbitmq-c and libc.  What no CLI speaking that wire can
 * beat, apart from the work the command itself does with the answer.
 *
 *   bench_cli_bare HOST PORT USER PASS VHOST EXCHANGE ROUTING_KEY METHOD
 *
 * Connects, logs in (PLAIN, frame_max 131072, heartbeat 60 s as sca asks),
 * opens channel 1, declares the topic exchange, its reply queue
 * reply_<hex> (exclusive, auto-delete, with oslo's x-expires) and consumes
 * it without acks, publishes the call as oslo does (topic exchange,
 * mandatory, oslo's properties, expiration), waits for the reply whose
 * _msg_id is the call's, prints its body, then closes the channel and the
 * connection and waits for each close-ok, as a well-behaved client does
 * (the broker logs no warning).  The declares, the consume and the publish
 * are pipelined, as sca pipelines them: the floor must not do more round
 * trips than the program it measures.  Exit 0 when the reply came, 1
 * otherwise. */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

#define CHANNEL 1
#define TIMEOUT_S 10

static void hex_id(char out[33])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != sizeof(b))
        abort();
    b[6] = (b[6] & 0x0f) | 0x40; /* a uuid4, as oslo's */
    b[8] = (b[8] & 0x3f) | 0x80;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int die(const char *what, amqp_rpc_reply_t r)
{
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        fprintf(stderr, "bench_cli_bare: %s: %s\n", what, amqp_error_string2(r.library_error));
    else
        fprintf(stderr, "bench_cli_bare: %s failed (reply type %d)\n", what, r.reply_type);
    exit(1);
}

static void sent(int status, const char *what)
{
    if (status != AMQP_STATUS_OK) {
        fprintf(stderr, "bench_cli_bare: %s: %s\n", what, amqp_error_string2(status));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: bench_cli_bare HOST PORT USER PASS VHOST EXCHANGE ROUTING_KEY "
                        "METHOD\n");
        return 2;
    }
    const char *exchange = argv[6], *key = argv[7], *method = argv[8];
    char reply_q[64], msg_id[33], unique_id[33], hex[33];
    hex_id(hex);
    snprintf(reply_q, sizeof(reply_q), "reply_%s", hex);
    hex_id(msg_id);
    hex_id(unique_id);

    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    if (sock == NULL || amqp_socket_open(sock, argv[1], atoi(argv[2])) != AMQP_STATUS_OK) {
        fprintf(stderr, "bench_cli_bare: cannot connect to %s:%s\n", argv[1], argv[2]);
        return 1;
    }
    amqp_rpc_reply_t r =
        amqp_login(conn, argv[5], 0, 131072, 60, AMQP_SASL_METHOD_PLAIN, argv[3], argv[4]);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        die("login", r);
    amqp_channel_open(conn, CHANNEL);
    if ((r = amqp_get_rpc_reply(conn)).reply_type != AMQP_RESPONSE_NORMAL)
        die("channel.open", r);

    amqp_exchange_declare_t ex = {.exchange = amqp_cstring_bytes(exchange),
                                  .type = amqp_cstring_bytes("topic"),
                                  .arguments = amqp_empty_table};
    sent(amqp_send_method(conn, CHANNEL, AMQP_EXCHANGE_DECLARE_METHOD, &ex), "exchange.declare");
    amqp_table_entry_t ttl = {.key = amqp_cstring_bytes("x-expires"),
                              .value = {.kind = AMQP_FIELD_KIND_I32, .value.i32 = 1800000}};
    amqp_queue_declare_t qd = {.queue = amqp_cstring_bytes(reply_q),
                               .exclusive = 1,
                               .auto_delete = 1,
                               .arguments = {1, &ttl}};
    sent(amqp_send_method(conn, CHANNEL, AMQP_QUEUE_DECLARE_METHOD, &qd), "queue.declare");
    amqp_basic_consume_t bc = {.queue = amqp_cstring_bytes(reply_q),
                               .consumer_tag = amqp_cstring_bytes("reply"),
                               .no_ack = 1,
                               .arguments = amqp_empty_table};
    sent(amqp_send_method(conn, CHANNEL, AMQP_BASIC_CONSUME_METHOD, &bc), "basic.consume");

    /* The oslo envelope of a call with no arguments, as sca encodes it. */
    char body[1024];
    int len = snprintf(body, sizeof(body),
                       "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"method\\\": "
                       "\\\"%s\\\", \\\"args\\\": {}, \\\"_msg_id\\\": \\\"%s\\\", "
                       "\\\"_reply_q\\\": \\\"%s\\\", \\\"_timeout\\\": null, "
                       "\\\"_unique_id\\\": \\\"%s\\\"}\"}",
                       method, msg_id, reply_q, unique_id);
    char expiration[16];
    snprintf(expiration, sizeof(expiration), "%d", TIMEOUT_S * 1000);
    amqp_basic_properties_t p = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
                  AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                  AMQP_BASIC_PRIORITY_FLAG | AMQP_BASIC_EXPIRATION_FLAG,
        .content_type = amqp_cstring_bytes("application/json"),
        .content_encoding = amqp_cstring_bytes("utf-8"),
        .headers = amqp_empty_table,
        .delivery_mode = AMQP_DELIVERY_PERSISTENT,
        .priority = 0,
        .expiration = amqp_cstring_bytes(expiration),
    };
    amqp_bytes_t bytes = {.len = (size_t)len, .bytes = body};
    sent(amqp_basic_publish(conn, CHANNEL, amqp_cstring_bytes(exchange), amqp_cstring_bytes(key), 1,
                            0, &p, bytes),
         "basic.publish");

    /* The -oks, then the reply (a returned call means no queue took it). */
    struct timeval tv = {.tv_sec = TIMEOUT_S};
    int got = 0;
    while (!got) {
        amqp_frame_t f;
        int rc = amqp_simple_wait_frame_noblock(conn, &f, &tv);
        if (rc != AMQP_STATUS_OK) {
            fprintf(stderr, "bench_cli_bare: waiting for the reply: %s\n", amqp_error_string2(rc));
            return 1;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        switch (f.payload.method.id) {
        case AMQP_EXCHANGE_DECLARE_OK_METHOD:
        case AMQP_QUEUE_DECLARE_OK_METHOD:
        case AMQP_BASIC_CONSUME_OK_METHOD:
            break;
        case AMQP_BASIC_DELIVER_METHOD: {
            amqp_message_t msg;
            if ((r = amqp_read_message(conn, CHANNEL, &msg, 0)).reply_type != AMQP_RESPONSE_NORMAL)
                die("reading the reply", r);
            if (memmem(msg.body.bytes, msg.body.len, msg_id, 32) != NULL) {
                fwrite(msg.body.bytes, 1, msg.body.len, stdout);
                putchar('\n');
                got = 1;
            }
            amqp_destroy_message(&msg);
            break;
        }
        case AMQP_BASIC_RETURN_METHOD:
            fprintf(stderr, "bench_cli_bare: no queue takes %s\n", key);
            return 1;
        default:
            fprintf(stderr, "bench_cli_bare: unexpected method 0x%08x\n", f.payload.method.id);
            return 1;
        }
        amqp_maybe_release_buffers(conn);
    }
    if ((r = amqp_channel_close(conn, CHANNEL, AMQP_REPLY_SUCCESS)).reply_type !=
        AMQP_RESPONSE_NORMAL)
        die("channel.close", r);
    if ((r = amqp_connection_close(conn, AMQP_REPLY_SUCCESS)).reply_type != AMQP_RESPONSE_NORMAL)
        die("connection.close", r);
    amqp_destroy_connection(conn);
    return 0;
}
