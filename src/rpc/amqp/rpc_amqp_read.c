/* rpc_amqp_read.c - what comes in on the AMQP connection (see rpc_amqp.h).
 *
 * rabbitmq-c reads and decodes; we never let it block.  After each readable
 * event of the link's uv_poll, amqp_simple_wait_frame_noblock() runs with a
 * zero timeout, and again only while amqp_frames_enqueued() /
 * amqp_data_in_buffer() say rabbitmq-c holds data (a frame left there would
 * wait for the next packet; anything still in the kernel makes the
 * level-triggered poll fire again).  Frames read meanwhile by a TLS publish,
 * or left over by the per-event budget, are drained from an idle handle.
 *
 * Each frame is routed here: methods on the probe channel to
 * rpc_amqp_probe.c, the -ok of a declare or consume and the broker's
 * blocking to rpc_amqp.c, a close or a cancelled consumer to the link;
 * deliver (or return) + header + body frames are assembled into a message.
 * Complete messages wait in a batch, which is acked in one go and then
 * handed to the client, the servers, or rpc_amqp_retry.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_amqp.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

#define EVENT_BUDGET 256 /* frames per readable event before yielding */

void rpc_amqp_read_close_reason(const amqp_method_t *m, char *out, size_t n)
{
    out[0] = '\0';
    if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *c = m->decoded;
        snprintf(out, n, "%u %.*s", c->reply_code, (int)c->reply_text.len,
                 (const char *)c->reply_text.bytes);
    } else if (m->id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *c = m->decoded;
        snprintf(out, n, "%u %.*s", c->reply_code, (int)c->reply_text.len,
                 (const char *)c->reply_text.bytes);
    }
}

/* --- The message being assembled ------------------------------------------ */

static void reset_inbound(amqp_reader *r)
{
    free(r->in.body);
    free(r->in.clip);
    free(r->in.content_type);
    memset(&r->in, 0, sizeof(r->in));
}

/* An AMQP short string as C text, cut to fit. */
static void copy_shortstr(char *out, size_t size, amqp_bytes_t s)
{
    int n = s.len < size ? (int)s.len : (int)size - 1;
    snprintf(out, size, "%.*s", n, n > 0 ? (const char *)s.bytes : "");
}

static void begin_inbound(rpc_amqp *a, bool is_return, uint64_t delivery_tag, amqp_bytes_t tag)
{
    amqp_inbound *in = &a->reader.in;
    in->stage = IN_HEADER;
    in->is_return = is_return;
    in->delivery_tag = delivery_tag;
    copy_shortstr(in->tag, sizeof(in->tag), tag);
    bool reply = strcmp(in->tag, RPC_AMQP_REPLY_TAG) == 0;
    in->needs_ack = !is_return && !reply;
    in->reject = in->needs_ack && rpc_amqp_server_for_tag(a, in->tag) == NULL;
}

/* A call no queue takes, or a reply whose caller's queue is gone. */
static void on_return(rpc_amqp *a, const amqp_basic_return_t *r)
{
    log_debug("rpc: message to %.*s returned: %u %.*s", (int)r->routing_key.len,
              (const char *)r->routing_key.bytes, r->reply_code, (int)r->reply_text.len,
              (const char *)r->reply_text.bytes);
    begin_inbound(a, true, 0, amqp_empty_bytes);
    copy_shortstr(a->reader.in.returned_to, sizeof(a->reader.in.returned_to), r->routing_key);
    /* Calls go through the control exchange; only replies use the default. */
    a->reader.in.returned_reply = r->exchange.len == 0;
}

static void on_header(rpc_amqp *a, uint64_t size, const amqp_basic_properties_t *p)
{
    amqp_inbound *in = &a->reader.in;
    if (in->stage != IN_HEADER) {
        rpc_amqp_link_lost(a, "content header outside a message");
        return;
    }
    in->size = size;
    in->got = 0;
    in->content_type = (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
                           ? sca_strndup(p->content_type.bytes, p->content_type.len)
                           : sca_strdup("");
    in->expiration = (p->_flags & AMQP_BASIC_EXPIRATION_FLAG)
                         ? rpc_expiration_parse(p->expiration.bytes, p->expiration.len)
                         : 0;
    /* Refused before allocating: only the clip's fixed size is kept. */
    if (size > a->t->max_message_size) {
        in->clip = sca_malloc(sizeof(*in->clip));
        rpc_clip_reset(in->clip);
    } else {
        in->body = sca_malloc((size_t)size + 1);
    }
    in->stage = IN_BODY;
}

static void on_body(rpc_amqp *a, amqp_bytes_t chunk)
{
    amqp_inbound *in = &a->reader.in;
    if (in->stage != IN_BODY || in->got + chunk.len > in->size) {
        rpc_amqp_link_lost(a, "content body outside a message");
        return;
    }
    if (in->clip != NULL)
        rpc_clip_add(in->clip, chunk.bytes, chunk.len);
    else if (chunk.len > 0)
        memcpy(in->body + in->got, chunk.bytes, chunk.len);
    in->got += chunk.len;
}

static void push_delivery(amqp_reader *r)
{
    amqp_inbound *in = &r->in;
    amqp_delivery *d = &r->batch[r->n_batch++];
    memcpy(d->tag, in->tag, sizeof(d->tag));
    d->returned_to = in->is_return ? sca_strdup(in->returned_to) : NULL;
    d->returned_reply = in->is_return && in->returned_reply;
    d->content_type = in->content_type;
    d->expiration = in->expiration;
    d->body = in->body;
    d->len = (size_t)in->size;
    d->clip = in->clip;
    d->oversize = in->clip != NULL ? in->size : 0;
    if (d->body != NULL)
        d->body[d->len] = '\0';
    in->content_type = NULL;
    in->body = NULL;
    in->clip = NULL;
    if (in->needs_ack && in->delivery_tag > r->ack_upto)
        r->ack_upto = in->delivery_tag;
}

static void finish_inbound(rpc_amqp *a)
{
    amqp_reader *r = &a->reader;
    if (r->in.reject) {
        /* Our consumer is gone (server freed): let another server have it. */
        amqp_basic_reject_t m = {.delivery_tag = r->in.delivery_tag, .requeue = 1};
        reset_inbound(r);
        rpc_amqp_write_method(a, AMQP_BASIC_REJECT_METHOD, &m);
        return;
    }
    push_delivery(r);
    reset_inbound(r);
}

/* --- Methods --------------------------------------------------------------- */

static void on_close_method(rpc_amqp *a, const amqp_method_t *m)
{
    char reason[400], why[600];
    rpc_amqp_read_close_reason(m, reason, sizeof(reason));
    /* The refusals a setting of ours can mend: oslo peers on the broker
     * declared the exchange or queues with amqp_durable_queues or
     * rabbit_quorum_queue. */
    const char *hint = "";
    if (strstr(reason, "inequivalent arg 'x-queue-type'") != NULL)
        hint = " (set [rpc] rabbit_quorum_queue as the oslo servers on this topic do)";
    else if (strstr(reason, "inequivalent arg 'durable'") != NULL)
        hint = " (set [rpc] amqp_durable_queues, or rabbit_quorum_queue, as the other services "
               "on this broker do)";
    snprintf(why, sizeof(why), "broker closed the %s: %s%s",
             m->id == AMQP_CONNECTION_CLOSE_METHOD ? "connection" : "channel", reason, hint);
    if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_ok_t ok = {0};
        rpc_amqp_write_method(a, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    }
    rpc_amqp_calls_refused(a, why);
    rpc_amqp_link_lost(a, why);
}

static void on_method(rpc_amqp *a, const amqp_method_t *m)
{
    if (a->reader.in.stage != IN_IDLE) {
        rpc_amqp_link_lost(a, "method frame inside a message");
        return;
    }
    switch (m->id) {
    case AMQP_BASIC_DELIVER_METHOD: {
        const amqp_basic_deliver_t *d = m->decoded;
        begin_inbound(a, false, d->delivery_tag, d->consumer_tag);
        break;
    }
    case AMQP_BASIC_RETURN_METHOD:
        on_return(a, m->decoded);
        break;
    case AMQP_EXCHANGE_DECLARE_OK_METHOD:
    case AMQP_QUEUE_DECLARE_OK_METHOD:
    case AMQP_QUEUE_BIND_OK_METHOD:
    case AMQP_QUEUE_DELETE_OK_METHOD:
    case AMQP_BASIC_CONSUME_OK_METHOD:
    case AMQP_BASIC_CANCEL_OK_METHOD:
        rpc_amqp_confirmed(a);
        break;
    case AMQP_CONNECTION_CLOSE_METHOD:
    case AMQP_CHANNEL_CLOSE_METHOD:
        on_close_method(a, m);
        break;
    case AMQP_CONNECTION_BLOCKED_METHOD:
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        rpc_amqp_on_blocked(a, m);
        break;
    case AMQP_BASIC_CANCEL_METHOD:
        /* The broker dropped a consumer (its queue was deleted): declaring
         * everything again on a fresh connection restores it. */
        rpc_amqp_link_lost(a, "broker cancelled a consumer");
        break;
    default:
        log_debug("rpc: ignoring AMQP method 0x%08x", m->id);
        break;
    }
}

static void on_frame(rpc_amqp *a, const amqp_frame_t *f)
{
    switch (f->frame_type) {
    case AMQP_FRAME_METHOD:
        if (f->channel == RPC_AMQP_PROBE_CHANNEL)
            rpc_amqp_probe_method(a, &f->payload.method);
        else
            on_method(a, &f->payload.method);
        break;
    case AMQP_FRAME_HEADER:
        on_header(a, f->payload.properties.body_size, f->payload.properties.decoded);
        break;
    case AMQP_FRAME_BODY:
        on_body(a, f->payload.body_fragment);
        break;
    default:
        break;
    }
    const amqp_inbound *in = &a->reader.in;
    if (rpc_amqp_link_is_open(a) && in->stage == IN_BODY && in->got == in->size)
        finish_inbound(a);
}

/* --- Deliveries ------------------------------------------------------------ */

static void route(rpc_amqp *a, amqp_delivery *d)
{
    if (d->returned_to != NULL && d->returned_reply && d->body != NULL) {
        rpc_amqp_retry_returned(a, d->returned_to, d->body, d->len);
        d->body = NULL;
        return;
    }
    if (d->returned_to != NULL) {
        if (d->body != NULL)
            rpc_client_returned(a->t, d->returned_to, d->body, d->len);
        return;
    }
    if (strcmp(d->tag, RPC_AMQP_REPLY_TAG) == 0) {
        if (d->clip != NULL)
            rpc_client_refuse(a->t, d->oversize, d->clip);
        else
            rpc_client_receive(a->t, d->body, d->len);
        return;
    }
    rpc_server *s = rpc_amqp_server_for_tag(a, d->tag);
    if (s == NULL)
        log_debug("rpc: message for a stopped server dropped");
    else if (d->clip != NULL)
        rpc_server_refuse(s, &a->origin, d->oversize, d->clip);
    else
        rpc_server_receive(s, &a->origin, d->content_type, d->expiration, d->body, d->len);
}

/* Acks the batch first (at most once, as oslo: a handler that crashes the
 * process must not see its message again), then hands it out. */
static void handle_batch(rpc_amqp *a)
{
    amqp_reader *r = &a->reader;
    if (r->n_batch == 0)
        return;
    if (r->ack_upto != 0 && rpc_amqp_link_is_open(a)) {
        amqp_basic_ack_t m = {.delivery_tag = r->ack_upto, .multiple = 1};
        rpc_amqp_write_method(a, AMQP_BASIC_ACK_METHOD, &m);
    }
    r->ack_upto = 0;
    amqp_delivery batch[RPC_AMQP_BATCH];
    size_t n = r->n_batch;
    memcpy(batch, r->batch, n * sizeof(batch[0]));
    r->n_batch = 0;
    for (size_t i = 0; i < n; i++) {
        route(a, &batch[i]);
        free(batch[i].returned_to);
        free(batch[i].content_type);
        free(batch[i].body);
        free(batch[i].clip);
    }
}

/* --- Reading --------------------------------------------------------------- */

/* Reads the socket once, then goes on only while rabbitmq-c holds buffered
 * data: anything still in the kernel makes the level-triggered poll fire
 * again, and a second read would mostly cost an EAGAIN and a poll(). */
void rpc_amqp_read_drain(rpc_amqp *a)
{
    amqp_connection_state_t conn = a->link.conn;
    unsigned handled = 0;
    while (rpc_amqp_link_is_open(a) && a->link.conn == conn) {
        bool buffered = amqp_frames_enqueued(conn) || amqp_data_in_buffer(conn);
        if (handled > 0 && !buffered)
            break;
        if (handled >= EVENT_BUDGET) {
            /* Fairness to the rest of the loop; the idle handle comes back
             * for what rabbitmq-c holds, the poll for what the kernel does. */
            rpc_amqp_read_kick(a);
            break;
        }
        amqp_frame_t f;
        struct timeval zero = {0, 0};
        int rc = amqp_simple_wait_frame_noblock(conn, &f, &zero);
        if (rc == AMQP_STATUS_TIMEOUT)
            break;
        if (rc != AMQP_STATUS_OK) {
            rpc_amqp_link_lost(a, amqp_error_string2(rc));
            break;
        }
        a->reader.last_read = uv_now(a->t->loop);
        on_frame(a, &f);
        handled++;
        /* What we keep of the frame is copied: let rabbitmq-c reuse it. */
        if (rpc_amqp_link_is_open(a) && a->link.conn == conn)
            amqp_maybe_release_buffers(conn);
        if (a->reader.n_batch == RPC_AMQP_BATCH)
            handle_batch(a);
    }
    handle_batch(a);
}

void rpc_amqp_read_ready(rpc_amqp *a)
{
    a->reader.last_read = uv_now(a->t->loop);
    rpc_amqp_read_drain(a);
}

static void on_kick(uv_idle_t *idle)
{
    rpc_amqp *a = idle->data;
    uv_idle_stop(idle);
    rpc_amqp_link_enter(a);
    rpc_amqp_read_drain(a);
    rpc_amqp_link_leave(a);
}

void rpc_amqp_read_kick(rpc_amqp *a)
{
    if (rpc_amqp_link_is_open(a) &&
        (amqp_frames_enqueued(a->link.conn) || amqp_data_in_buffer(a->link.conn)))
        uv_idle_start(&a->reader.kick, on_kick);
}

uint64_t rpc_amqp_read_last(const rpc_amqp *a)
{
    return a->reader.last_read;
}

/* --- Link and carrier lifetime --------------------------------------------- */

void rpc_amqp_read_stop(rpc_amqp *a)
{
    uv_idle_stop(&a->reader.kick);
    reset_inbound(&a->reader);
    a->reader.ack_upto = 0;
}

void rpc_amqp_read_init(rpc_amqp *a)
{
    uv_idle_init(a->t->loop, &a->reader.kick);
    a->reader.kick.data = a;
}

void rpc_amqp_read_close(rpc_amqp *a, uv_close_cb closed)
{
    uv_close((uv_handle_t *)&a->reader.kick, closed);
}
