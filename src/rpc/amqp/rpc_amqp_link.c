/* rpc_amqp_link.c - the AMQP connection on the loop thread (see rpc_amqp.h).
 *
 * Connecting and logging in block, so they run on the thread pool
 * (rpc_amqp_dial.c); the open connection comes back here and is driven
 * without ever blocking: uv_poll on its socket, and after each readable
 * event amqp_simple_wait_frame_noblock() with a zero timeout until no
 * frame is left in rabbitmq-c's buffers (a frame left there would wait for
 * the next packet).  A timer sends and checks heartbeats (over TLS it
 * drains instead, which is where rabbitmq-c does that).  On any failure
 * the link is dropped and dialed again with capped exponential backoff and
 * jitter; rpc_amqp.c then declares everything again. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpc_amqp.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

#define BACKOFF_FIRST 0.25 /* seconds before the first retry */
#define EVENT_BUDGET 256   /* frames per readable event before yielding */
#define HANGUP_TIMEOUT 2.0
#define WARN_EVERY 12   /* failed attempts between repeated warnings */
#define STABLE_MS 10000 /* a link open this long resets the backoff */

typedef struct dial_job {
    uv_work_t work;
    rpc_amqp *a;
    rpc_amqp_dial d;
} dial_job;

typedef struct hangup_job {
    uv_work_t work;
    rpc_amqp *a;
    amqp_connection_state_t conn;
    sca_buf pending; /* frames the socket had not taken yet */
} hangup_job;

static void drain(rpc_amqp *a);

/* --- Lifetime: the state is freed when closing, idle and unreferenced ------ */

static void maybe_free(rpc_amqp *a)
{
    if (!a->closing || a->busy > 0 || a->depth > 0)
        return;
    for (size_t i = 0; i < a->n_declared; i++)
        free(a->declared[i]);
    free(a->declared);
    rpc_transport *t = a->t;
    free(a);
    rpc_transport_destroy(t);
}

void rpc_amqp_enter(rpc_amqp *a)
{
    a->depth++;
}

void rpc_amqp_leave(rpc_amqp *a)
{
    a->depth--;
    maybe_free(a);
}

static void busy_done(rpc_amqp *a)
{
    a->busy--;
    maybe_free(a);
}

static void handle_closed(uv_handle_t *h)
{
    rpc_amqp *a = h->data;
    /* The poll handle is allocated; the others live in a. */
    if (h != (uv_handle_t *)&a->timer && h != (uv_handle_t *)&a->kick &&
        h != (uv_handle_t *)&a->retry_timer)
        free(h);
    busy_done(a);
}

static const char *where(const rpc_amqp *a)
{
    static char buf[300];
    const rpc_broker *b = &a->t->url.brokers[a->broker];
    snprintf(buf, sizeof(buf), "%s:%d", b->host, b->port);
    return buf;
}

/* --- Hanging up off the loop ----------------------------------------------- */

static void hangup_work(uv_work_t *w)
{
    hangup_job *j = w->data;
    rpc_amqp_hangup(j->conn, j->pending.data, j->pending.len, HANGUP_TIMEOUT);
}

static void hangup_after(uv_work_t *w, int status)
{
    (void)status;
    hangup_job *j = w->data;
    rpc_amqp *a = j->a;
    sca_buf_free(&j->pending);
    free(j);
    busy_done(a);
}

/* Takes pending bytes (possibly NULL) along, to be written first. */
static void hangup_async(rpc_amqp *a, amqp_connection_state_t conn, const char *pending, size_t len)
{
    hangup_job *j = sca_calloc(1, sizeof(*j));
    j->a = a;
    j->conn = conn;
    if (len > 0)
        sca_buf_append(&j->pending, pending, len);
    j->work.data = j;
    a->busy++;
    if (uv_queue_work(a->t->loop, &j->work, hangup_work, hangup_after) != 0) {
        amqp_destroy_connection(conn);
        sca_buf_free(&j->pending);
        free(j);
        a->busy--;
    }
}

/* --- Dialing and backoff --------------------------------------------------- */

static double jitter(rpc_amqp *a)
{
    /* xorshift64: spreads the retries of many agents after a broker restart. */
    a->seed ^= a->seed << 13;
    a->seed ^= a->seed >> 7;
    a->seed ^= a->seed << 17;
    return 0.5 + 0.5 * (double)(a->seed >> 11) / (double)(1ULL << 53);
}

static double next_delay(rpc_amqp *a)
{
    double d = BACKOFF_FIRST * pow(2, a->attempt < 30 ? a->attempt : 30);
    if (d > a->t->reconnect_max)
        d = a->t->reconnect_max;
    a->attempt++;
    return d * jitter(a);
}

static void dial_work(uv_work_t *w)
{
    dial_job *j = w->data;
    rpc_amqp_dial_run(&j->d);
}

static void link_open(rpc_amqp *a, amqp_connection_state_t conn, size_t broker);
static void dial_failed(rpc_amqp *a, const char *error);

static void dial_after(uv_work_t *w, int status)
{
    (void)status;
    dial_job *j = w->data;
    rpc_amqp *a = j->a;
    rpc_amqp_enter(a);
    a->dialing = NULL;
    if (a->closing && j->d.conn != NULL)
        hangup_async(a, j->d.conn, NULL, 0);
    else if (!a->closing && j->d.conn != NULL)
        link_open(a, j->d.conn, j->d.broker);
    else if (!a->closing)
        dial_failed(a, j->d.error);
    free(j);
    a->busy--;
    rpc_amqp_leave(a);
}

static void start_dial(rpc_amqp *a)
{
    dial_job *j = sca_calloc(1, sizeof(*j));
    j->a = a;
    j->d.t = a->t;
    j->d.first = a->broker;
    atomic_init(&j->d.cancel, false);
    j->work.data = j;
    a->state = LINK_DIALING;
    a->busy++;
    a->dialing = &j->d;
    int rc = uv_queue_work(a->t->loop, &j->work, dial_work, dial_after);
    if (rc != 0) {
        a->dialing = NULL;
        free(j);
        a->busy--;
        dial_failed(a, uv_strerror(rc));
    }
}

static void on_dial_timer(uv_timer_t *timer)
{
    start_dial(timer->data);
}

static void schedule_dial(rpc_amqp *a, double delay)
{
    a->state = LINK_DOWN;
    uv_timer_stop(&a->timer);
    uv_timer_start(&a->timer, on_dial_timer, (uint64_t)(delay * 1000), 0);
}

static void dial_failed(rpc_amqp *a, const char *error)
{
    snprintf(a->last_error, sizeof(a->last_error), "%s", error);
    double delay = next_delay(a);
    /* A plain client reports the failure through its calls instead. */
    bool loud = (a->attempt == 1 || a->attempt % WARN_EVERY == 0) && a->t->servers != NULL;
    log_msg(loud ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG,
            "rpc: cannot connect to %s: %s; retrying in %.1fs", a->t->url.describe, error, delay);
    if (!a->ever_open && !a->first_failed) {
        a->first_failed = true;
        char why[700];
        snprintf(why, sizeof(why), "cannot connect to %s: %s", a->t->url.describe, error);
        rpc_amqp_fail_queued(a, why);
    }
    if (!a->closing)
        schedule_dial(a, delay);
}

/* --- The open link --------------------------------------------------------- */

/* libuv reports an error on the socket (POLLERR) as EBADF: the socket
 * itself knows what happened ("Connection reset by peer"). */
static const char *poll_error(const rpc_amqp *a, int status)
{
    int err = 0;
    socklen_t len = sizeof(err);
    int fd = amqp_get_sockfd(a->conn);
    if (status != UV_EBADF || fd < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return uv_strerror(status);
    return err != 0 ? strerror(err) : "connection closed";
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    rpc_amqp *a = h->data;
    rpc_amqp_enter(a);
    if (status < 0) {
        rpc_amqp_link_lost(a, poll_error(a, status));
    } else {
        if (events & UV_WRITABLE)
            rpc_amqp_write_ready(a);
        if ((events & UV_READABLE) && a->state == LINK_OPEN) {
            a->last_read = uv_now(a->t->loop);
            drain(a);
        }
    }
    rpc_amqp_leave(a);
}

static void on_tick(uv_timer_t *timer)
{
    rpc_amqp *a = timer->data;
    rpc_amqp_enter(a);
    if (a->tls)
        drain(a);
    else
        rpc_amqp_heartbeat(a);
    rpc_amqp_leave(a);
}

static void on_kick(uv_idle_t *idle)
{
    rpc_amqp *a = idle->data;
    uv_idle_stop(idle);
    rpc_amqp_enter(a);
    drain(a);
    rpc_amqp_leave(a);
}

void rpc_amqp_kick(rpc_amqp *a)
{
    if (a->state == LINK_OPEN && (amqp_frames_enqueued(a->conn) || amqp_data_in_buffer(a->conn)))
        uv_idle_start(&a->kick, on_kick);
}

static void link_open(rpc_amqp *a, amqp_connection_state_t conn, size_t broker)
{
    a->conn = conn;
    a->broker = broker;
    a->poll = sca_malloc(sizeof(*a->poll));
    int rc = uv_poll_init_socket(a->t->loop, a->poll, amqp_get_sockfd(conn));
    if (rc != 0) {
        free(a->poll);
        a->poll = NULL;
        a->conn = NULL;
        hangup_async(a, conn, NULL, 0);
        dial_failed(a, uv_strerror(rc));
        return;
    }
    a->busy++;
    a->poll->data = a;
    a->poll_events = UV_READABLE;
    uv_poll_start(a->poll, a->poll_events, on_poll);
    a->state = LINK_OPEN;
    a->ever_open = true;
    a->opened_at = uv_now(a->t->loop);
    a->tls = a->t->url.ssl;
    rpc_amqp_write_start(a);
    int hb = a->heartbeat;
    if (hb > 0) {
        uint64_t ms = hb >= 4 ? (uint64_t)hb * 250 : 1000;
        uv_timer_start(&a->timer, on_tick, ms, ms);
    }
    log_debug("rpc: connected to %s (heartbeat %ds)", where(a), hb);
    rpc_amqp_on_open(a);
    /* The login may have left frames in rabbitmq-c's buffer already. */
    drain(a);
}

static void reset_inbound(rpc_amqp *a)
{
    free(a->in.body);
    free(a->in.clip);
    free(a->in.content_type);
    memset(&a->in, 0, sizeof(a->in));
}

/* Stops watching the socket and gives the connection back: politely when
 * closing, at once when it is already broken. */
static void link_drop(rpc_amqp *a, bool polite)
{
    uv_poll_stop(a->poll);
    uv_close((uv_handle_t *)a->poll, handle_closed);
    a->poll = NULL;
    if (polite)
        hangup_async(a, a->conn, a->wbuf.data ? a->wbuf.data + a->wpos : NULL,
                     rpc_amqp_write_pending(a));
    else
        amqp_destroy_connection(a->conn);
    rpc_amqp_write_reset(a);
    a->conn = NULL;
    a->state = LINK_DOWN;
    uv_idle_stop(&a->kick);
    reset_inbound(a);
    a->ack_upto = 0;
}

void rpc_amqp_link_lost(rpc_amqp *a, const char *why)
{
    if (a->state != LINK_OPEN)
        return;
    char detail[900];
    snprintf(detail, sizeof(detail), "connection to %s lost: %s", where(a), why);
    snprintf(a->last_error, sizeof(a->last_error), "%s", why);
    uv_timer_stop(&a->timer);
    link_drop(a, false);
    rpc_amqp_on_lost(a, detail);
    /* Only a link that lasted starts the backoff again: one the broker drops
     * as soon as it opens (it refuses a declare, it is out of resources)
     * must not be redialled several times a second, nor logged each time. */
    if (uv_now(a->t->loop) - a->opened_at >= STABLE_MS)
        a->attempt = 0;
    if (a->t->up)
        rpc_transport_set_up(a->t, false, LOG_LEVEL_WARNING, detail);
    else
        log_msg(a->attempt % WARN_EVERY == 0 ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG, "rpc: %s",
                detail);
    if (a->closing)
        return;
    /* Round robin: the next broker first, the lost one last. */
    a->broker = (a->broker + 1) % a->t->url.n_brokers;
    schedule_dial(a, next_delay(a));
}

void rpc_amqp_want_write(rpc_amqp *a, bool on)
{
    int events = UV_READABLE | (on ? UV_WRITABLE : 0);
    if (a->poll == NULL || events == a->poll_events)
        return;
    a->poll_events = events;
    uv_poll_start(a->poll, events, on_poll);
}

/* --- Frames ---------------------------------------------------------------- */

/* An AMQP short string as C text, cut to fit. */
static void copy_shortstr(char *out, size_t size, amqp_bytes_t s)
{
    int n = s.len < size ? (int)s.len : (int)size - 1;
    snprintf(out, size, "%.*s", n, n > 0 ? (const char *)s.bytes : "");
}

static void begin_inbound(rpc_amqp *a, bool is_return, uint64_t delivery_tag, amqp_bytes_t tag)
{
    a->in.stage = IN_HEADER;
    a->in.is_return = is_return;
    a->in.delivery_tag = delivery_tag;
    copy_shortstr(a->in.tag, sizeof(a->in.tag), tag);
    bool reply = strcmp(a->in.tag, RPC_AMQP_REPLY_TAG) == 0;
    a->in.needs_ack = !is_return && !reply;
    a->in.reject = a->in.needs_ack && rpc_amqp_server_for_tag(a, a->in.tag) == NULL;
}

/* A call no queue takes, or a reply whose caller's queue is gone. */
static void on_return(rpc_amqp *a, const amqp_basic_return_t *r)
{
    log_debug("rpc: message to %.*s returned: %u %.*s", (int)r->routing_key.len,
              (const char *)r->routing_key.bytes, r->reply_code, (int)r->reply_text.len,
              (const char *)r->reply_text.bytes);
    begin_inbound(a, true, 0, amqp_empty_bytes);
    copy_shortstr(a->in.returned_to, sizeof(a->in.returned_to), r->routing_key);
    /* Calls go through the control exchange; only replies use the default. */
    a->in.returned_reply = r->exchange.len == 0;
}

static void confirmed(rpc_amqp *a)
{
    if (a->outstanding > 0 && --a->outstanding == 0) {
        rpc_amqp_unconfirmed_clear(a);
        char detail[400];
        snprintf(detail, sizeof(detail), "connected to %s", where(a));
        rpc_transport_set_up(a->t, true, rpc_transport_routine_level(a->t), detail);
    }
}

static void on_close_method(rpc_amqp *a, const amqp_method_t *m)
{
    char reason[400], why[600];
    rpc_amqp_close_reason(m, reason, sizeof(reason));
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
        rpc_amqp_send_method(a, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    }
    rpc_amqp_calls_refused(a, why);
    rpc_amqp_link_lost(a, why);
}

static void on_blocked(rpc_amqp *a, const amqp_method_t *m)
{
    if (m->id == AMQP_CONNECTION_BLOCKED_METHOD) {
        const amqp_connection_blocked_t *b = m->decoded;
        log_warning("rpc: broker blocks publishing: %.*s", (int)b->reason.len,
                    (const char *)b->reason.bytes);
        a->blocked = true;
    } else {
        log_info("rpc: broker unblocked publishing");
        a->blocked = false;
        rpc_amqp_flush(a);
    }
}

static void on_method(rpc_amqp *a, const amqp_method_t *m)
{
    if (a->in.stage != IN_IDLE) {
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
        confirmed(a);
        break;
    case AMQP_CONNECTION_CLOSE_METHOD:
    case AMQP_CHANNEL_CLOSE_METHOD:
        on_close_method(a, m);
        break;
    case AMQP_CONNECTION_BLOCKED_METHOD:
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        on_blocked(a, m);
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

static void on_header(rpc_amqp *a, uint64_t size, const amqp_basic_properties_t *p)
{
    if (a->in.stage != IN_HEADER) {
        rpc_amqp_link_lost(a, "content header outside a message");
        return;
    }
    a->in.size = size;
    a->in.got = 0;
    a->in.content_type = (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
                             ? sca_strndup(p->content_type.bytes, p->content_type.len)
                             : sca_strdup("");
    a->in.expiration = (p->_flags & AMQP_BASIC_EXPIRATION_FLAG)
                           ? rpc_expiration_parse(p->expiration.bytes, p->expiration.len)
                           : 0;
    /* Refused before allocating: only the clip's fixed size is kept. */
    if (size > a->t->max_message_size) {
        a->in.clip = sca_malloc(sizeof(*a->in.clip));
        rpc_clip_reset(a->in.clip);
    } else {
        a->in.body = sca_malloc((size_t)size + 1);
    }
    a->in.stage = IN_BODY;
}

static void push_delivery(rpc_amqp *a)
{
    amqp_delivery *d = &a->batch[a->n_batch++];
    memcpy(d->tag, a->in.tag, sizeof(d->tag));
    d->returned_to = a->in.is_return ? sca_strdup(a->in.returned_to) : NULL;
    d->returned_reply = a->in.is_return && a->in.returned_reply;
    d->content_type = a->in.content_type;
    d->expiration = a->in.expiration;
    d->body = a->in.body;
    d->len = (size_t)a->in.size;
    d->clip = a->in.clip;
    d->oversize = a->in.clip != NULL ? a->in.size : 0;
    if (d->body != NULL)
        d->body[d->len] = '\0';
    a->in.content_type = NULL;
    a->in.body = NULL;
    a->in.clip = NULL;
    if (a->in.needs_ack && a->in.delivery_tag > a->ack_upto)
        a->ack_upto = a->in.delivery_tag;
}

static void finish_inbound(rpc_amqp *a)
{
    if (a->in.reject) {
        /* Our consumer is gone (server freed): let another server have it. */
        amqp_basic_reject_t m = {.delivery_tag = a->in.delivery_tag, .requeue = 1};
        reset_inbound(a);
        rpc_amqp_send_method(a, AMQP_BASIC_REJECT_METHOD, &m);
        return;
    }
    push_delivery(a);
    reset_inbound(a);
}

static void on_body(rpc_amqp *a, amqp_bytes_t chunk)
{
    if (a->in.stage != IN_BODY || a->in.got + chunk.len > a->in.size) {
        rpc_amqp_link_lost(a, "content body outside a message");
        return;
    }
    if (a->in.clip != NULL)
        rpc_clip_add(a->in.clip, chunk.bytes, chunk.len);
    else if (chunk.len > 0)
        memcpy(a->in.body + a->in.got, chunk.bytes, chunk.len);
    a->in.got += chunk.len;
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
    if (a->state == LINK_OPEN && a->in.stage == IN_BODY && a->in.got == a->in.size)
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
    if (a->n_batch == 0)
        return;
    if (a->ack_upto != 0 && a->state == LINK_OPEN) {
        amqp_basic_ack_t m = {.delivery_tag = a->ack_upto, .multiple = 1};
        rpc_amqp_send_method(a, AMQP_BASIC_ACK_METHOD, &m);
    }
    a->ack_upto = 0;
    amqp_delivery batch[RPC_AMQP_BATCH];
    size_t n = a->n_batch;
    memcpy(batch, a->batch, n * sizeof(batch[0]));
    a->n_batch = 0;
    for (size_t i = 0; i < n; i++) {
        route(a, &batch[i]);
        free(batch[i].returned_to);
        free(batch[i].content_type);
        free(batch[i].body);
        free(batch[i].clip);
    }
}

/* Reads the socket once, then goes on only while rabbitmq-c holds buffered
 * data: anything still in the kernel makes the level-triggered poll fire
 * again, and a second read would mostly cost an EAGAIN and a poll(). */
static void drain(rpc_amqp *a)
{
    amqp_connection_state_t conn = a->conn;
    unsigned handled = 0;
    while (a->state == LINK_OPEN && a->conn == conn) {
        bool buffered = amqp_frames_enqueued(conn) || amqp_data_in_buffer(conn);
        if (handled > 0 && !buffered)
            break;
        if (handled >= EVENT_BUDGET) {
            /* Fairness to the rest of the loop; the idle handle comes back
             * for what rabbitmq-c holds, the poll for what the kernel does. */
            rpc_amqp_kick(a);
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
        a->last_read = uv_now(a->t->loop);
        on_frame(a, &f);
        handled++;
        /* What we keep of the frame is copied: let rabbitmq-c reuse it. */
        if (a->state == LINK_OPEN && a->conn == conn)
            amqp_maybe_release_buffers(conn);
        if (a->n_batch == RPC_AMQP_BATCH)
            handle_batch(a);
    }
    handle_batch(a);
}

/* --- Start and close ------------------------------------------------------- */

void rpc_amqp_link_start(rpc_amqp *a)
{
    a->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)a;
    if (a->seed == 0)
        a->seed = 1;
    uv_timer_init(a->t->loop, &a->timer);
    a->timer.data = a;
    uv_idle_init(a->t->loop, &a->kick);
    a->kick.data = a;
    rpc_amqp_retry_start(a);
    a->busy += 3;
    start_dial(a);
}

void rpc_amqp_link_close(rpc_amqp *a)
{
    a->closing = true;
    /* The broker being tried still gets its connect timeout; the rest are not tried. */
    if (a->dialing != NULL)
        atomic_store(&a->dialing->cancel, true);
    if (a->state == LINK_OPEN)
        link_drop(a, true);
    rpc_amqp_drop_queue(a);
    uv_close((uv_handle_t *)&a->timer, handle_closed);
    uv_close((uv_handle_t *)&a->kick, handle_closed);
    size_t lost = rpc_amqp_retry_close(a, handle_closed);
    if (lost > 0)
        log_warning("rpc: %zu replies whose queue did not exist dropped at close", lost);
    rpc_amqp_enter(a);
    rpc_amqp_leave(a);
}
