/*
 * broker.c - the AMQP side of sca-rabbit-trace: a private, exclusive,
 * auto-delete queue bound to amq.rabbitmq.trace, consumed without acks, one
 * printed line per message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "rabbit.h"
#include "oslo_trace.h"
#include "scalpels/util.h"

#define CHANNEL 1
#define FIREHOSE "amq.rabbitmq.trace"
#define TIMEOUT_S 10      /* TCP connect, login and each declare */
#define HEARTBEAT_S 60    /* as oslo: a dead broker is noticed in ~2 minutes */
#define FRAME_MAX 131072  /* RabbitMQ's default */
#define POLL_US 200000    /* how soon a stop request is seen */
#define BACKLOG_MAX 65536 /* messages; see declare_queue() */

struct broker {
    amqp_connection_state_t conn;
    char *vhost;
    amqp_bytes_t queue;
    amqp_bytes_t tag; /* consumer tag */
    bool conn_open, channel_open, consuming;
    /* Scratch for a message, reused. */
    sca_buf line, trace_rk, exchange, rk;
};

/* One sentence from an RPC reply of rabbitmq-c. */
static int reply_error(amqp_rpc_reply_t r, const char *what, sca_error *err)
{
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        return sca_error_set(err, -EIO, "%s: %s", what, amqp_error_string2(r.library_error));
    if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION)
        return sca_error_set(err, -EIO, "%s: no reply from the broker", what);
    if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *m = r.reply.decoded;
        return sca_error_set(err, -EIO, "%s: broker closed the connection: %u %.*s", what,
                             m->reply_code, (int)m->reply_text.len, (char *)m->reply_text.bytes);
    }
    if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *m = r.reply.decoded;
        return sca_error_set(err, -EIO, "%s: broker closed the channel: %u %.*s", what,
                             m->reply_code, (int)m->reply_text.len, (char *)m->reply_text.bytes);
    }
    return sca_error_set(err, -EIO, "%s: unexpected method 0x%08x", what, r.reply.id);
}

/* After a failed RPC or a close from the broker: answers the close, as
 * AMQP wants and rabbitmq-c leaves to us, and notes what is still open.  A
 * channel error closes the channel only, anything else the connection. */
static int rpc_failed(broker *b, amqp_rpc_reply_t r, const char *what, sca_error *err)
{
    bool server = r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION;
    b->channel_open = false;
    if (server && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_ok_t ok = {0};
        if (amqp_send_method(b->conn, CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != 0)
            b->conn_open = false;
    } else {
        amqp_connection_close_ok_t ok = {0};
        /* Best effort: the broker drops the socket anyway. */
        if (server && r.reply.id == AMQP_CONNECTION_CLOSE_METHOD)
            (void)amqp_send_method(b->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        b->conn_open = false;
    }
    return reply_error(r, what, err);
}

static bool truthy(const char *v)
{
    return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
           strcasecmp(v, "on") == 0;
}

/* Takes "ssl=1" from a query ("a=b&ssl=true"); oslo's other transport
 * options (amqp_durable_queues, ...) do not matter to a tracer. */
static void parse_query(char *query, int *ssl)
{
    char *save = NULL;
    for (char *kv = strtok_r(query, "&", &save); kv != NULL; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq != NULL && (size_t)(eq - kv) == 3 && strncmp(kv, "ssl", 3) == 0)
            *ssl = truthy(eq + 1);
    }
}

/* Parses amqp://, amqps:// or oslo's rabbit:// into ci, whose strings point
 * into *copy (the caller frees it).  Messages never repeat the URL: it may
 * hold a password. */
static int parse_url(const char *url, struct amqp_connection_info *ci, char **copy, sca_error *err)
{
    static const char rabbit[] = "rabbit://";
    if (strncmp(url, rabbit, sizeof(rabbit) - 1) == 0)
        *copy = sca_asprintf("amqp://%s", url + sizeof(rabbit) - 1);
    else if (strncmp(url, "amqp://", 7) == 0 || strncmp(url, "amqps://", 8) == 0)
        *copy = sca_strdup(url);
    else
        return sca_error_set(err, -EINVAL,
                             "the URL must start with amqp://, amqps:// or rabbit://");
    char *query = strchr(*copy, '?');
    if (query != NULL)
        *query++ = '\0';
    /* oslo lists hosts as "USER:PASS@HOST1:PORT1,USER:PASS@HOST2:PORT2". */
    char *host = strstr(*copy, "://") + 3;
    char *path = strchr(host, '/');
    char *at = strchr(host, '@');
    char *comma = strchr(at != NULL ? at : host, ',');
    if (comma != NULL && (path == NULL || comma < path))
        return sca_error_set(err, -EINVAL, "a URL with several hosts is not supported: give one");
    if (amqp_parse_url(*copy, ci) != AMQP_STATUS_OK)
        return sca_error_set(err, -EINVAL,
                             "cannot parse the URL (expected amqp://USER:PASS@HOST:PORT/VHOST)");
    if (query != NULL)
        parse_query(query, &ci->ssl);
    /* "amqp://host/" names the vhost "" for rabbitmq-c but "/" for oslo
     * (kombu), whose URLs these are; "" is never a real vhost. */
    if (ci->vhost[0] == '\0')
        ci->vhost = "/";
    return 0;
}

static int open_socket(broker *b, const struct amqp_connection_info *ci, const char *cacert,
                       sca_error *err)
{
    amqp_socket_t *s = ci->ssl ? amqp_ssl_socket_new(b->conn) : amqp_tcp_socket_new(b->conn);
    if (s == NULL)
        return sca_error_set(err, -ENOMEM, "cannot create a socket");
    if (ci->ssl) {
        int st = amqp_ssl_socket_set_cacert(s, cacert);
        if (st != AMQP_STATUS_OK)
            return sca_error_set(err, -EINVAL, "cannot load CA certificates %s: %s", cacert,
                                 amqp_error_string2(st));
        amqp_ssl_socket_set_verify_peer(s, 1);
        amqp_ssl_socket_set_verify_hostname(s, 1);
    }
    struct timeval tv = {TIMEOUT_S, 0};
    int st = amqp_socket_open_noblock(s, ci->host, ci->port, &tv);
    /* rabbitmq-c keeps the reason of a failed connect (refused, reset) to
     * itself: a hint is all we can add. */
    if (st == AMQP_STATUS_SOCKET_ERROR)
        return sca_error_set(err, -EIO,
                             "cannot connect to %s:%d: %s (is a broker listening there?)", ci->host,
                             ci->port, amqp_error_string2(st));
    if (st != AMQP_STATUS_OK)
        return sca_error_set(err, -EIO, "cannot connect to %s:%d%s: %s", ci->host, ci->port,
                             ci->ssl ? " (TLS)" : "", amqp_error_string2(st));
    return 0;
}

static int login(broker *b, const struct amqp_connection_info *ci, sca_error *err)
{
    struct timeval tv = {TIMEOUT_S, 0};
    if (amqp_set_handshake_timeout(b->conn, &tv) != AMQP_STATUS_OK ||
        amqp_set_rpc_timeout(b->conn, &tv) != AMQP_STATUS_OK)
        return sca_error_set(err, -EINVAL, "cannot set the AMQP timeouts");
    /* Named as oslo names its connections, so that an operator can tell
     * ours (management UI, "rabbitmqctl list_connections client_properties").
     * consumer_cancel_notify: told when our queue is deleted under us, rather
     * than wait for messages that will never come. */
    char name[64];
    snprintf(name, sizeof(name), "sca-rabbit-trace:%ld", (long)getpid());
    amqp_table_entry_t cap = {amqp_cstring_bytes("consumer_cancel_notify"),
                              {AMQP_FIELD_KIND_BOOLEAN, {.boolean = 1}}};
    amqp_table_entry_t prop[] = {
        {amqp_cstring_bytes("connection_name"),
         {AMQP_FIELD_KIND_UTF8, {.bytes = amqp_cstring_bytes(name)}}},
        {amqp_cstring_bytes("capabilities"), {AMQP_FIELD_KIND_TABLE, {.table = {1, &cap}}}},
    };
    amqp_table_t props = {2, prop};
    amqp_rpc_reply_t r =
        amqp_login_with_properties(b->conn, ci->vhost, 0, FRAME_MAX, HEARTBEAT_S, &props,
                                   AMQP_SASL_METHOD_PLAIN, ci->user, ci->password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return rpc_failed(b, r, "login", err);
    b->conn_open = true;
    amqp_channel_open(b->conn, CHANNEL);
    r = amqp_get_rpc_reply(b->conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return rpc_failed(b, r, "channel.open", err);
    b->channel_open = true;
    return 0;
}

/* Server-named, exclusive and auto-delete: the queue is ours alone and goes
 * with the connection.  Nothing is acked, so a tracer that falls behind
 * leaves its backlog in the broker; x-max-length bounds it (the oldest are
 * dropped) rather than let it raise a memory alarm that blocks every
 * publisher on the broker. */
static int declare_queue(broker *b, sca_error *err)
{
    amqp_table_entry_t max_len = {amqp_cstring_bytes("x-max-length"),
                                  {AMQP_FIELD_KIND_I32, {.i32 = BACKLOG_MAX}}};
    amqp_table_t args = {1, &max_len};
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(b->conn, CHANNEL, amqp_empty_bytes, 0, 0, 1, 1, args);
    if (ok == NULL)
        return rpc_failed(b, amqp_get_rpc_reply(b->conn), "queue.declare", err);
    b->queue = amqp_bytes_malloc_dup(ok->queue);
    if (b->queue.bytes == NULL)
        abort(); /* out of memory, as sca_malloc */
    return 0;
}

static int bind_key(broker *b, const char *key, sca_error *err)
{
    amqp_queue_bind_ok_t *ok =
        amqp_queue_bind(b->conn, CHANNEL, b->queue, amqp_cstring_bytes(FIREHOSE),
                        amqp_cstring_bytes(key), amqp_empty_table);
    if (ok == NULL)
        return rpc_failed(b, amqp_get_rpc_reply(b->conn), "queue.bind to " FIREHOSE, err);
    return 0;
}

static int consume(broker *b, sca_error *err)
{
    amqp_basic_consume_ok_t *ok =
        amqp_basic_consume(b->conn, CHANNEL, b->queue, amqp_empty_bytes, 0, 1, 1, amqp_empty_table);
    if (ok == NULL)
        return rpc_failed(b, amqp_get_rpc_reply(b->conn), "basic.consume", err);
    b->tag = amqp_bytes_malloc_dup(ok->consumer_tag);
    if (b->tag.bytes == NULL)
        abort();
    b->consuming = true;
    return 0;
}

static int subscribe(broker *b, bool deliveries, sca_error *err)
{
    int rc = declare_queue(b, err);
    if (rc == 0)
        rc = bind_key(b, "publish.#", err);
    if (rc == 0 && deliveries)
        rc = bind_key(b, "deliver.#", err);
    if (rc == 0)
        rc = consume(b, err);
    return rc;
}

int broker_open(const rabbit_opts *o, broker **out, sca_error *err)
{
    struct amqp_connection_info ci;
    char *copy = NULL;
    broker *b = sca_calloc(1, sizeof(*b));
    int rc = parse_url(o->url, &ci, &copy, err);
    if (rc == 0) {
        b->vhost = sca_strdup(ci.vhost);
        b->conn = amqp_new_connection();
        if (b->conn == NULL)
            abort();
        rc = open_socket(b, &ci, o->cacert, err);
    }
    if (rc == 0)
        rc = login(b, &ci, err);
    if (rc == 0)
        rc = subscribe(b, o->deliveries, err);
    free(copy);
    if (rc != 0) {
        broker_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

const char *broker_vhost(const broker *b)
{
    return b->vhost;
}

static bool bytes_is(amqp_bytes_t b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.bytes, s, b.len) == 0;
}

static const amqp_field_value_t *header(const amqp_basic_properties_t *p, const char *key)
{
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
        return NULL;
    for (int i = 0; i < p->headers.num_entries; i++)
        if (bytes_is(p->headers.entries[i].key, key))
            return &p->headers.entries[i].value;
    return NULL;
}

static void append_text(sca_buf *out, const amqp_field_value_t *v)
{
    if (v != NULL && (v->kind == AMQP_FIELD_KIND_UTF8 || v->kind == AMQP_FIELD_KIND_BYTES))
        sca_buf_append(out, v->value.bytes.bytes, v->value.bytes.len);
}

/* routing_keys is an array: the message's own key, then any CC/BCC keys. */
static void append_keys(sca_buf *out, const amqp_field_value_t *v)
{
    if (v == NULL || v->kind != AMQP_FIELD_KIND_ARRAY)
        return;
    for (int i = 0; i < v->value.array.num_entries; i++) {
        if (i > 0)
            sca_buf_append(out, ",", 1);
        append_text(out, &v->value.array.entries[i]);
    }
}

/* The firehose publishes a message as "publish.<exchange>" or
 * "deliver.<queue>", with headers exchange_name, routing_keys and properties
 * (and node, vhost, connection, channel, user, routed_queues or redelivered;
 * seen on RabbitMQ 3.10). */
static void format_message(broker *b, const amqp_envelope_t *env)
{
    const amqp_basic_properties_t *p = &env->message.properties;
    sca_buf *bufs[] = {&b->line, &b->trace_rk, &b->exchange, &b->rk};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        sca_buf_reset(bufs[i]);
        sca_buf_append(bufs[i], "", 0);
    }
    sca_buf_append(&b->trace_rk, env->routing_key.bytes, env->routing_key.len);
    char *dot = strchr(b->trace_rk.data, '.');
    if (dot != NULL)
        *dot++ = '\0';
    append_text(&b->exchange, header(p, "exchange_name"));
    append_keys(&b->rk, header(p, "routing_keys"));
    oslo_trace_msg m = {
        .event = b->trace_rk.data,
        .queue = dot != NULL && strcmp(b->trace_rk.data, "deliver") == 0 ? dot : NULL,
        .exchange = b->exchange.data,
        .routing_key = b->rk.data,
        .body = env->message.body.bytes,
        .body_len = env->message.body.len,
    };
    oslo_trace_format(&b->line, &m);
}

/* One line, flushed at once: the tracer timestamps lines as they arrive. */
static int print_line(const sca_buf *line, sca_error *err)
{
    if (fwrite(line->data, 1, line->len, stdout) != line->len || putchar('\n') == EOF ||
        fflush(stdout) != 0)
        return sca_error_set(err, -errno, "cannot write to stdout: %s", strerror(errno));
    return 0;
}

static int lost(broker *b, int status, sca_error *err)
{
    b->conn_open = b->channel_open = false;
    return sca_error_set(err, -EIO, "connection to the broker lost: %s",
                         amqp_error_string2(status));
}

/* A frame other than a delivery: the broker closing the channel or the
 * connection, or cancelling our consumer, ends the run. */
static int other_frame(broker *b, sca_error *err)
{
    amqp_frame_t f;
    int st = amqp_simple_wait_frame(b->conn, &f);
    if (st != AMQP_STATUS_OK)
        return lost(b, st, err);
    if (f.frame_type != AMQP_FRAME_METHOD)
        return 0;
    switch (f.payload.method.id) {
    case AMQP_CONNECTION_CLOSE_METHOD:
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_rpc_reply_t r = {AMQP_RESPONSE_SERVER_EXCEPTION, f.payload.method, 0};
        return rpc_failed(b, r, "consuming", err);
    }
    case AMQP_BASIC_CANCEL_METHOD:
        b->consuming = false;
        return sca_error_set(err, -EIO, "the broker cancelled the consumer (trace queue deleted?)");
    default:
        return 0;
    }
}

static int consume_one(broker *b, sca_error *err)
{
    struct timeval tv = {0, POLL_US};
    amqp_envelope_t env;
    amqp_maybe_release_buffers(b->conn);
    amqp_rpc_reply_t r = amqp_consume_message(b->conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        format_message(b, &env);
        amqp_destroy_envelope(&env);
        return print_line(&b->line, err);
    }
    if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION)
        return rpc_failed(b, r, "consuming", err);
    if (r.library_error == AMQP_STATUS_TIMEOUT)
        return 0;
    if (r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
        return other_frame(b, err);
    return lost(b, r.library_error, err);
}

int broker_consume(broker *b, sca_error *err)
{
    int rc = 0;
    while (rc == 0 && !rabbit_stop)
        rc = consume_one(b, err);
    return rc;
}

int broker_cancel(broker *b, sca_error *err)
{
    if (!b->consuming)
        return 0;
    b->consuming = false;
    if (amqp_basic_cancel(b->conn, CHANNEL, b->tag) == NULL)
        return rpc_failed(b, amqp_get_rpc_reply(b->conn), "basic.cancel", err);
    return 0;
}

/* Closing is polite, not required: the broker drops an exclusive queue with
 * its connection either way, so failures here are not reported. */
void broker_close(broker *b)
{
    if (b->channel_open)
        (void)amqp_channel_close(b->conn, CHANNEL, AMQP_REPLY_SUCCESS);
    if (b->conn_open)
        (void)amqp_connection_close(b->conn, AMQP_REPLY_SUCCESS);
    if (b->conn != NULL)
        (void)amqp_destroy_connection(b->conn);
    amqp_bytes_free(b->queue);
    amqp_bytes_free(b->tag);
    sca_buf_free(&b->line);
    sca_buf_free(&b->trace_rk);
    sca_buf_free(&b->exchange);
    sca_buf_free(&b->rk);
    free(b->vhost);
    free(b);
}
