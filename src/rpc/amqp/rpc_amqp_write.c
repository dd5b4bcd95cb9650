/* rpc_amqp_write.c - what goes out on the AMQP connection (see rpc_amqp.h).
 *
 * Over TCP we encode the frames ourselves (rabbitmq-c's public encoders for
 * method arguments and properties) and write a whole message with one
 * send(): rabbitmq-c would make a system call per frame and block when the
 * socket is full.  What the socket does not take waits in a bounded buffer
 * until the poll says it is writable, so the loop never blocks on a slow
 * broker.  rabbitmq-c still reads and decodes; since it no longer writes,
 * it is told the heartbeat is off and we send and check heartbeats here.
 *
 * Over TLS the bytes must go through rabbitmq-c's SSL socket, which has no
 * public raw write: methods and publishes use its calls, which write
 * before returning, and rabbitmq-c keeps handling heartbeats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rpc_amqp.h"
#include "scalpels/util.h"

#define FRAME_OVERHEAD 8 /* type, channel, size, frame-end */
#define FRAME_END 0xCE
#define ARGS_MAX 4096       /* method arguments and properties: a few short strings */
#define SPARE_CAP (1 << 20) /* a larger idle buffer is given back */

static void put8(sca_buf *b, uint8_t v)
{
    sca_buf_append(b, &v, 1);
}

static void put16(sca_buf *b, uint16_t v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    sca_buf_append(b, x, 2);
}

static void put32(sca_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    sca_buf_append(b, x, 4);
}

static void put64(sca_buf *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b, (uint32_t)v);
}

static void frame(sca_buf *b, uint8_t type, uint16_t channel, const void *payload, size_t len)
{
    put8(b, type);
    put16(b, channel);
    put32(b, (uint32_t)len);
    sca_buf_append(b, payload, len);
    put8(b, FRAME_END);
}

/* A method frame's payload: class and method ids, then the arguments. */
static int encode_method(sca_buf *out, uint16_t channel, amqp_method_number_t id, void *decoded)
{
    unsigned char payload[ARGS_MAX];
    amqp_bytes_t args = {.len = sizeof(payload) - 4, .bytes = payload + 4};
    int n = amqp_encode_method(id, decoded, args);
    if (n < 0)
        return n;
    payload[0] = (unsigned char)(id >> 24);
    payload[1] = (unsigned char)(id >> 16);
    payload[2] = (unsigned char)(id >> 8);
    payload[3] = (unsigned char)id;
    frame(out, AMQP_FRAME_METHOD, channel, payload, (size_t)n + 4);
    return 0;
}

static int encode_header(sca_buf *out, uint64_t body_size, amqp_basic_properties_t *p)
{
    unsigned char props[ARGS_MAX];
    amqp_bytes_t enc = {.len = sizeof(props), .bytes = props};
    int n = amqp_encode_properties(AMQP_BASIC_CLASS, p, enc);
    if (n < 0)
        return n;
    put8(out, AMQP_FRAME_HEADER);
    put16(out, RPC_AMQP_CHANNEL);
    put32(out, (uint32_t)(12 + n));
    put16(out, AMQP_BASIC_CLASS);
    put16(out, 0); /* weight */
    put64(out, body_size);
    sca_buf_append(out, props, (size_t)n);
    put8(out, FRAME_END);
    return 0;
}

static void encode_body(sca_buf *out, const char *body, size_t len, size_t frame_max)
{
    size_t chunk = frame_max - FRAME_OVERHEAD;
    for (size_t off = 0; off < len; off += chunk)
        frame(out, AMQP_FRAME_BODY, RPC_AMQP_CHANNEL, body + off,
              len - off < chunk ? len - off : chunk);
}

/* Writes what the socket takes now; the rest waits for writability. */
static int flush(rpc_amqp *a)
{
    amqp_writer *w = &a->writer;
    int fd = amqp_get_sockfd(a->link.conn);
    while (w->wpos < w->wbuf.len) {
        ssize_t n =
            send(fd, w->wbuf.data + w->wpos, w->wbuf.len - w->wpos, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            w->wpos += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rpc_amqp_link_want_write(a, true);
            return 0;
        }
        rpc_amqp_link_lost(a, n < 0 ? strerror(errno) : "connection closed");
        return -EIO;
    }
    w->last_write = uv_now(a->t->loop);
    sca_buf_reset(&w->wbuf);
    w->wpos = 0;
    if (w->wbuf.cap > SPARE_CAP)
        sca_buf_free(&w->wbuf);
    rpc_amqp_link_want_write(a, false);
    return 0;
}

static int encoding_failed(rpc_amqp *a, int status)
{
    /* Nothing was appended: the connection is still in step. */
    (void)a;
    return status == AMQP_STATUS_NO_MEMORY ? -ENOMEM : -EINVAL;
}

int rpc_amqp_write_method(rpc_amqp *a, amqp_method_number_t id, void *decoded)
{
    return rpc_amqp_write_method_on(a, id >> 16 == AMQP_CONNECTION_CLASS ? 0 : RPC_AMQP_CHANNEL, id,
                                    decoded);
}

int rpc_amqp_write_method_on(rpc_amqp *a, uint16_t channel, amqp_method_number_t id, void *decoded)
{
    amqp_writer *w = &a->writer;
    if (w->library_writes) {
        int rc = amqp_send_method(a->link.conn, channel, id, decoded);
        if (rc != AMQP_STATUS_OK) {
            rpc_amqp_link_lost(a, amqp_error_string2(rc));
            return -EIO;
        }
        return 0;
    }
    size_t mark = w->wbuf.len;
    int rc = encode_method(&w->wbuf, channel, id, decoded);
    if (rc != 0) {
        w->wbuf.len = mark;
        return encoding_failed(a, rc);
    }
    return flush(a);
}

int rpc_amqp_write_publish(rpc_amqp *a, const char *exchange, const char *routing_key,
                           bool mandatory, amqp_basic_properties_t *p, const char *body, size_t len)
{
    amqp_writer *w = &a->writer;
    if (w->library_writes) {
        amqp_bytes_t b = {.len = len, .bytes = (void *)body};
        int rc = amqp_basic_publish(a->link.conn, RPC_AMQP_CHANNEL, amqp_cstring_bytes(exchange),
                                    amqp_cstring_bytes(routing_key), mandatory, 0, p, b);
        if (rc != AMQP_STATUS_OK) {
            rpc_amqp_link_lost(a, amqp_error_string2(rc));
            return -EIO;
        }
        /* With heartbeats on, rabbitmq-c may have read frames meanwhile. */
        rpc_amqp_read_kick(a);
        return 0;
    }
    if (w->wbuf.len - w->wpos + len > RPC_AMQP_WRITE_MAX)
        return -ENOBUFS;
    amqp_basic_publish_t m = {
        .exchange = amqp_cstring_bytes(exchange),
        .routing_key = amqp_cstring_bytes(routing_key),
        .mandatory = mandatory,
    };
    size_t mark = w->wbuf.len;
    int rc = encode_method(&w->wbuf, RPC_AMQP_CHANNEL, AMQP_BASIC_PUBLISH_METHOD, &m);
    if (rc == 0)
        rc = encode_header(&w->wbuf, len, p);
    if (rc != 0) {
        w->wbuf.len = mark;
        return encoding_failed(a, rc);
    }
    encode_body(&w->wbuf, body, len, (size_t)amqp_get_frame_max(a->link.conn));
    return flush(a);
}

void rpc_amqp_write_ready(rpc_amqp *a)
{
    if (!a->writer.library_writes)
        flush(a);
}

size_t rpc_amqp_write_pending(const rpc_amqp *a)
{
    return a->writer.wbuf.len - a->writer.wpos;
}

/* Takes the heartbeat over from rabbitmq-c, which no longer writes. */
int rpc_amqp_write_start(rpc_amqp *a)
{
    amqp_writer *w = &a->writer;
    amqp_connection_state_t conn = a->link.conn;
    w->library_writes = a->t->url.ssl;
    w->heartbeat = amqp_get_heartbeat(conn);
    w->last_write = uv_now(a->t->loop);
    /* Re-tuning needs rabbitmq-c between frames; else it keeps writing. */
    if (!w->library_writes && !amqp_release_buffers_ok(conn))
        w->library_writes = true;
    if (!w->library_writes)
        amqp_tune_connection(conn, amqp_get_channel_max(conn), amqp_get_frame_max(conn), 0);
    return w->heartbeat;
}

void rpc_amqp_write_stop(rpc_amqp *a, sca_buf *unsent)
{
    amqp_writer *w = &a->writer;
    if (unsent != NULL && rpc_amqp_write_pending(a) > 0)
        sca_buf_append(unsent, w->wbuf.data + w->wpos, rpc_amqp_write_pending(a));
    sca_buf_free(&w->wbuf);
    w->wpos = 0;
}

/* Sends a heartbeat when we were quiet for half the interval, and gives up
 * on a broker silent for two intervals (the AMQP rule). */
int rpc_amqp_write_heartbeat(rpc_amqp *a)
{
    amqp_writer *w = &a->writer;
    if (w->library_writes) {
        /* rabbitmq-c sends and checks them itself, while it reads. */
        rpc_amqp_read_drain(a);
        return 0;
    }
    if (w->heartbeat <= 0)
        return 0;
    uint64_t now = uv_now(a->t->loop), hb = (uint64_t)w->heartbeat * 1000;
    if (now - rpc_amqp_read_last(a) > 2 * hb) {
        char why[64];
        snprintf(why, sizeof(why), "no heartbeat from the broker in %ds", 2 * w->heartbeat);
        rpc_amqp_link_lost(a, why);
        return -ETIMEDOUT;
    }
    if (now - w->last_write < hb / 2 || rpc_amqp_write_pending(a) > 0)
        return 0;
    static const unsigned char beat[] = {AMQP_FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END};
    sca_buf_append(&w->wbuf, beat, sizeof(beat));
    return flush(a);
}
