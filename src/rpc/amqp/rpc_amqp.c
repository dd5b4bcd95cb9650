/* rpc_amqp.c - the AMQP carrier's operations (see rpc_amqp.h): topology
 * declared exactly as oslo.messaging declares it (OSLO_WIRE.md section 2,
 * so that an oslo peer on the same broker never gets an inequivalent-arg
 * refusal), publishing with oslo's properties, and a bounded queue for
 * what cannot be written at once.
 *
 * Declares and consumes are pipelined (sent without waiting for their -ok,
 * which the reader reports to rpc_amqp_confirmed): the broker handles a
 * channel's methods in order, so a queue is declared and consumed before
 * any publish sent after it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_amqp.h"
#include "rpc_id.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

#define TRANSIENT_TTL_MS 1800000 /* oslo's rabbit_transient_queues_ttl, as x-expires */
#define OUT_MAX_MESSAGES 65536
#define OUT_MAX_BYTES (64u << 20)
#define NAME_MAX_LEN 200 /* AMQP names are at most 255 bytes; leave room for suffixes */

static rpc_amqp *amqp_of(rpc_transport *t)
{
    return t->impl;
}

static void flush_queue(rpc_amqp *a);
static void forget_unconfirmed(rpc_amqp *a);

/* --- Topology -------------------------------------------------------------- */

/* A method the broker answers with an -ok (see rpc_amqp_confirmed). */
static int send_method(rpc_amqp *a, amqp_method_number_t id, void *m)
{
    int rc = rpc_amqp_write_method(a, id, m);
    if (rc == 0)
        a->outstanding++;
    else if (rc != -EIO)
        log_warning("rpc: cannot encode AMQP method 0x%08x", id);
    return rc;
}

static bool is_declared(const rpc_amqp *a, const char *exchange)
{
    for (size_t i = 0; i < a->n_declared; i++) {
        if (strcmp(a->declared[i], exchange) == 0)
            return true;
    }
    return false;
}

static int declare_exchange(rpc_amqp *a, const char *name, const char *type, bool durable,
                            bool auto_delete)
{
    if (is_declared(a, name))
        return 0;
    amqp_exchange_declare_t m = {
        .exchange = amqp_cstring_bytes(name),
        .type = amqp_cstring_bytes(type),
        .durable = durable,
        .auto_delete = auto_delete,
        .arguments = amqp_empty_table,
    };
    int rc = send_method(a, AMQP_EXCHANGE_DECLARE_METHOD, &m);
    if (rc == 0) {
        a->declared = sca_realloc(a->declared, (a->n_declared + 1) * sizeof(*a->declared));
        a->declared[a->n_declared++] = sca_strdup(name);
    }
    return rc;
}

static int topic_exchange(rpc_amqp *a)
{
    return declare_exchange(a, a->t->exchange, "topic", a->t->durable_queues, false);
}

static int fanout_exchange(rpc_amqp *a, const char *name)
{
    return declare_exchange(a, name, "fanout", false, true);
}

enum queue_kind {
    QUEUE_TOPIC,    /* T and T.S: durable and quorum as configured */
    QUEUE_TRANSIENT /* oslo's reply and fanout queues, which expire unused */
};

static int declare_queue(rpc_amqp *a, const char *name, enum queue_kind kind)
{
    amqp_table_entry_t ttl = {
        .key = amqp_cstring_bytes("x-expires"),
        .value = {.kind = AMQP_FIELD_KIND_I32, .value.i32 = TRANSIENT_TTL_MS},
    };
    amqp_table_entry_t quorum = {
        .key = amqp_cstring_bytes("x-queue-type"),
        .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes("quorum")},
    };
    amqp_queue_declare_t m = {
        .queue = amqp_cstring_bytes(name),
        .durable = kind == QUEUE_TOPIC && a->t->durable_queues,
        .arguments = amqp_empty_table,
    };
    if (kind == QUEUE_TRANSIENT)
        m.arguments = (amqp_table_t){1, &ttl};
    else if (a->t->quorum_queues)
        m.arguments = (amqp_table_t){1, &quorum};
    return send_method(a, AMQP_QUEUE_DECLARE_METHOD, &m);
}

static int bind_queue(rpc_amqp *a, const char *queue, const char *exchange, const char *key)
{
    amqp_queue_bind_t m = {
        .queue = amqp_cstring_bytes(queue),
        .exchange = amqp_cstring_bytes(exchange),
        .routing_key = amqp_cstring_bytes(key),
        .arguments = amqp_empty_table,
    };
    return send_method(a, AMQP_QUEUE_BIND_METHOD, &m);
}

static int consume(rpc_amqp *a, const char *queue, const char *tag, bool no_ack)
{
    amqp_basic_consume_t m = {
        .queue = amqp_cstring_bytes(queue),
        .consumer_tag = amqp_cstring_bytes(tag),
        .no_ack = no_ack,
        .arguments = amqp_empty_table,
    };
    return send_method(a, AMQP_BASIC_CONSUME_METHOD, &m);
}

/* A topic queue: T or T.S, bound to the control exchange with its name. */
static int topic_queue(rpc_amqp *a, const char *name, const char *tag)
{
    int rc = declare_queue(a, name, QUEUE_TOPIC);
    if (rc == 0)
        rc = bind_queue(a, name, a->t->exchange, name);
    if (rc == 0)
        rc = consume(a, name, tag, false);
    return rc;
}

static int declare_server(rpc_amqp *a, rpc_server *s)
{
    amqp_listener *l = s->impl;
    char *fanout = sca_asprintf("%s_fanout", s->topic);
    int rc = topic_exchange(a);
    if (rc == 0)
        rc = topic_queue(a, s->topic, l->tags[0]);
    if (rc == 0 && s->server != NULL) {
        char *direct = sca_asprintf("%s.%s", s->topic, s->server);
        rc = topic_queue(a, direct, l->tags[1]);
        free(direct);
    }
    if (rc == 0)
        rc = fanout_exchange(a, fanout);
    if (rc == 0)
        rc = declare_queue(a, l->fanout_queue, QUEUE_TRANSIENT);
    if (rc == 0)
        rc = bind_queue(a, l->fanout_queue, fanout, s->topic);
    if (rc == 0)
        rc = consume(a, l->fanout_queue, l->tags[2], false);
    free(fanout);
    return rc;
}

/* The client's reply queue: oslo's reply_<hex> with x-expires; consumed
 * without acks, since a reply nobody waits for is worth nothing. */
static int declare_reply(rpc_amqp *a)
{
    int rc = declare_queue(a, a->reply_q, QUEUE_TRANSIENT);
    if (rc == 0)
        rc = consume(a, a->reply_q, RPC_AMQP_REPLY_TAG, true);
    return rc;
}

/* Everything declared was confirmed: the transport is up. */
static void report_up(rpc_amqp *a)
{
    char detail[400];
    const rpc_broker *b = rpc_amqp_link_broker(a);
    snprintf(detail, sizeof(detail), "connected to %s:%d", b->host, b->port);
    rpc_transport_set_up(a->t, true, rpc_transport_routine_level(a->t), detail);
}

void rpc_amqp_on_open(rpc_amqp *a)
{
    rpc_amqp_probe_on_open(a);
    int rc = 0;
    /* A server stopping (rpc_server_stop) no longer listens. */
    for (rpc_server *s = a->t->servers; s != NULL && rc == 0; s = s->next)
        rc = s->impl != NULL ? declare_server(a, s) : 0;
    if (rc == 0 && a->reply_q[0] != '\0')
        rc = declare_reply(a);
    if (rc != 0)
        return;
    if (a->outstanding == 0)
        report_up(a);
    flush_queue(a);
}

void rpc_amqp_confirmed(rpc_amqp *a)
{
    if (a->outstanding > 0 && --a->outstanding == 0) {
        forget_unconfirmed(a);
        report_up(a);
    }
}

rpc_server *rpc_amqp_server_for_tag(rpc_amqp *a, const char *tag)
{
    for (rpc_server *s = a->t->servers; s != NULL; s = s->next) {
        const amqp_listener *l = s->impl;
        for (size_t k = 0; l != NULL && k < 3; k++) {
            if (strcmp(l->tags[k], tag) == 0)
                return s;
        }
    }
    return NULL;
}

/* --- Publishing ------------------------------------------------------------ */

static amqp_out *out_new(enum rpc_send_kind kind, bool is_reply, const char *exchange,
                         const char *routing_key, const char *msg_id, unsigned expiration,
                         char *body, size_t len)
{
    amqp_out *m = sca_calloc(1, sizeof(*m));
    m->kind = kind;
    m->is_reply = is_reply;
    m->exchange = sca_strdup(exchange);
    m->routing_key = sca_strdup(routing_key);
    m->msg_id = msg_id != NULL ? sca_strdup(msg_id) : NULL;
    if (expiration > 0)
        snprintf(m->expiration, sizeof(m->expiration), "%u", expiration);
    m->body = body;
    m->len = len;
    return m;
}

void rpc_amqp_out_free(amqp_out *m)
{
    free(m->exchange);
    free(m->routing_key);
    free(m->msg_id);
    free(m->body);
    free(m);
}

/* oslo's properties: content type and encoding, empty headers, persistent
 * delivery mode, priority 0; calls expire with their timeout. */
static int publish(rpc_amqp *a, const amqp_out *m)
{
    int rc = 0;
    if (!m->is_reply)
        rc = m->kind == RPC_SEND_FANOUT ? fanout_exchange(a, m->exchange) : topic_exchange(a);
    if (rc != 0)
        return rc;
    amqp_basic_properties_t p = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
                  AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                  AMQP_BASIC_PRIORITY_FLAG,
        .content_type = amqp_cstring_bytes("application/json"),
        .content_encoding = amqp_cstring_bytes("utf-8"),
        .headers = amqp_empty_table,
        .delivery_mode = AMQP_DELIVERY_PERSISTENT,
        .priority = 0,
    };
    if (m->expiration[0] != '\0') {
        p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
        p.expiration = amqp_cstring_bytes(m->expiration);
    }
    /* Mandatory for calls too (oslo: replies only): the broker returns a call
     * no queue takes, and it fails at once rather than at its timeout. */
    bool mandatory = m->is_reply || m->kind == RPC_SEND_CALL;
    rc = rpc_amqp_write_publish(a, m->exchange, m->routing_key, mandatory, &p, m->body, m->len);
    if (rc == 0 && m->msg_id != NULL && a->outstanding > 0) {
        a->unconfirmed =
            sca_realloc(a->unconfirmed, (a->n_unconfirmed + 1) * sizeof(*a->unconfirmed));
        a->unconfirmed[a->n_unconfirmed++] = sca_strdup(m->msg_id);
    }
    return rc;
}

/* Every declare was confirmed (the calls behind them got through), or the
 * connection is gone. */
static void forget_unconfirmed(rpc_amqp *a)
{
    for (size_t i = 0; i < a->n_unconfirmed; i++)
        free(a->unconfirmed[i]);
    free(a->unconfirmed);
    a->unconfirmed = NULL;
    a->n_unconfirmed = 0;
}

/* A refused declare (406: an oslo peer declared it otherwise) closes the
 * channel, and the broker drops what follows it: a call published behind
 * it would otherwise wait for its whole timeout. */
void rpc_amqp_calls_refused(rpc_amqp *a, const char *why)
{
    char **ids = a->unconfirmed;
    size_t n = a->n_unconfirmed;
    a->unconfirmed = NULL;
    a->n_unconfirmed = 0;
    for (size_t i = 0; i < n; i++) {
        rpc_client_fail(a->t, ids[i], -EPROTO, why);
        free(ids[i]);
    }
    free(ids);
}

void rpc_amqp_list_push(amqp_out_list *l, amqp_out *m)
{
    m->next = NULL;
    if (l->tail != NULL)
        l->tail->next = m;
    else
        l->head = m;
    l->tail = m;
    l->count++;
    l->bytes += m->len;
}

amqp_out *rpc_amqp_list_pop(amqp_out_list *l)
{
    amqp_out *m = l->head;
    l->head = m->next;
    if (l->head == NULL)
        l->tail = NULL;
    l->count--;
    l->bytes -= m->len;
    m->next = NULL;
    return m;
}

static int enqueue(rpc_amqp *a, amqp_out *m, sca_error *err)
{
    if (a->out.count >= OUT_MAX_MESSAGES || a->out.bytes + m->len > OUT_MAX_BYTES) {
        int rc = sca_error_set(err, -ENOBUFS, "send queue to %s is full (%zu messages)",
                               a->t->url.describe, a->out.count);
        rpc_amqp_out_free(m);
        return rc;
    }
    rpc_amqp_list_push(&a->out, m);
    return 0;
}

/* A call that timed out or was cancelled while it waited in the queue: it
 * must not reach a server after its caller was told it failed. */
static bool is_dead_call(rpc_amqp *a, const amqp_out *m)
{
    return m->msg_id != NULL && !rpc_client_waits_for(a->t, m->msg_id);
}

/* A queued request that will never be sent. */
static void fail_one(rpc_amqp *a, amqp_out *m, const char *why)
{
    if (m->count_cb != NULL) {
        m->count_cb(-ENOTCONN, 0, why, m->count_arg);
        return;
    }
    if (m->msg_id != NULL) {
        rpc_client_fail(a->t, m->msg_id, -ENOTCONN, why);
        return;
    }
    a->dropped++;
    snprintf(a->dropped_why, sizeof(a->dropped_why), "%s", why);
}

static int publish_error(rpc_amqp *a, int rc, sca_error *err)
{
    if (rc == -ENOBUFS)
        return sca_error_set(err, rc, "send buffer to %s is full (%u MiB)", a->t->url.describe,
                             RPC_AMQP_WRITE_MAX >> 20);
    if (rc == -EIO)
        return sca_error_set(err, rc, "cannot publish to %s: %s", a->t->url.describe,
                             rpc_amqp_link_error(a));
    return sca_error_set(err, rc, "cannot encode the message for %s", a->t->url.describe);
}

/* Publishes now unless the broker blocked us or older messages still wait
 * for a connection; the writer buffers what the socket cannot take. */
static int send_or_queue(rpc_amqp *a, amqp_out *m, sca_error *err)
{
    if (rpc_amqp_probe_wanted(a, m)) {
        rpc_amqp_probe_hold(a, m);
        return 0;
    }
    if (a->out.head != NULL || a->blocked)
        return enqueue(a, m, err);
    int rc = publish(a, m);
    if (rc != 0)
        rc = publish_error(a, rc, err);
    rpc_amqp_out_free(m);
    return rc;
}

static void flush_queue(rpc_amqp *a)
{
    while (rpc_amqp_link_is_open(a) && a->out.head != NULL && !a->blocked) {
        amqp_out *m = rpc_amqp_list_pop(&a->out);
        if (is_dead_call(a, m)) {
            rpc_amqp_out_free(m);
            continue;
        }
        if (rpc_amqp_probe_wanted(a, m)) {
            rpc_amqp_probe_hold(a, m);
            continue;
        }
        int rc = publish(a, m);
        if (rc != 0 && !m->is_reply) {
            sca_error err = {0};
            publish_error(a, rc, &err);
            fail_one(a, m, err.msg);
        }
        rpc_amqp_out_free(m);
    }
}

void rpc_amqp_on_blocked(rpc_amqp *a, const amqp_method_t *m)
{
    if (m->id == AMQP_CONNECTION_BLOCKED_METHOD) {
        const amqp_connection_blocked_t *b = m->decoded;
        log_warning("rpc: broker blocks publishing: %.*s", (int)b->reason.len,
                    (const char *)b->reason.bytes);
        a->blocked = true;
    } else {
        log_info("rpc: broker unblocked publishing");
        a->blocked = false;
        flush_queue(a);
    }
}

void rpc_amqp_send_checked(rpc_amqp *a, amqp_out *m)
{
    if (is_dead_call(a, m)) {
        rpc_amqp_out_free(m);
        return;
    }
    m->checked = true;
    char *msg_id = sca_strdup(m->msg_id);
    sca_error err = {0};
    int rc = send_or_queue(a, m, &err);
    if (rc != 0)
        rpc_client_fail(a->t, msg_id, rc, err.msg);
    free(msg_id);
}

/* Calls and casts waiting in the queue fail; replies wait for the next
 * connection (the caller's reply queue outlives a dropped connection). */
static void fail_requests(rpc_amqp *a, const char *why)
{
    amqp_out_list keep = {0};
    while (a->out.head != NULL) {
        amqp_out *m = rpc_amqp_list_pop(&a->out);
        if (m->is_reply) {
            rpc_amqp_list_push(&keep, m);
            continue;
        }
        fail_one(a, m, why);
        rpc_amqp_out_free(m);
    }
    a->out = keep;
}

void rpc_amqp_fail_queued(rpc_amqp *a, const char *why)
{
    fail_requests(a, why);
}

void rpc_amqp_on_lost(rpc_amqp *a, const char *why)
{
    for (size_t i = 0; i < a->n_declared; i++)
        free(a->declared[i]);
    a->n_declared = 0;
    a->outstanding = 0;
    a->blocked = false;
    fail_requests(a, why);
    rpc_amqp_probe_fail(a, -ENOTCONN, why);
    forget_unconfirmed(a);
    rpc_amqp_retry_on_lost(a);
}

/* Calls were failed already (rpc_transport_free); casts and replies are
 * lost, and said so. */
void rpc_amqp_drop_queue(rpc_amqp *a)
{
    size_t lost = 0;
    while (a->out.head != NULL) {
        amqp_out *m = rpc_amqp_list_pop(&a->out);
        if (m->count_cb != NULL) {
            rpc_amqp_probe_tell(m, -ECANCELED, 0, "the transport was closed");
            continue;
        }
        lost += m->msg_id == NULL;
        rpc_amqp_out_free(m);
    }
    if (lost > 0)
        log_warning("rpc: %zu messages to %s dropped unsent at close", lost, a->t->url.describe);
    rpc_amqp_probe_fail(a, -ECANCELED, "the transport was closed");
    forget_unconfirmed(a);
}

/* --- Replies (the origin of every request received over AMQP) -------------- */

static void origin_send(rpc_origin *o, const char *reply_q, char *body, size_t len)
{
    rpc_amqp_send_reply((rpc_amqp *)((char *)o - offsetof(rpc_amqp, origin)), reply_q, body, len);
}

void rpc_amqp_send_reply(rpc_amqp *a, const char *reply_q, char *body, size_t len)
{
    sca_error err = {0};
    if (reply_q == NULL || strlen(reply_q) > 255) {
        log_warning("rpc: reply dropped: invalid reply queue name");
        free(body);
        return;
    }
    amqp_out *m = out_new(RPC_SEND_CAST, true, "", reply_q, NULL, 0, body, len);
    int rc = rpc_amqp_link_is_open(a) ? send_or_queue(a, m, &err) : enqueue(a, m, &err);
    if (rc != 0)
        log_warning("rpc: reply to %s dropped: %s", reply_q, err.msg);
}

static void origin_hold(rpc_origin *o)
{
    (void)o;
}

static int origin_peer_uid(const rpc_origin *o, uid_t *uid)
{
    (void)o;
    (void)uid;
    return -ENOENT;
}

static const rpc_origin_ops amqp_origin_ops = {
    .send = origin_send,
    .hold = origin_hold,
    .release = origin_hold,
    .peer_uid = origin_peer_uid,
    .needs_reply_q = true,
};

/* --- Carrier operations ---------------------------------------------------- */

static int amqp_open(rpc_transport *t, const rpc_url *url, sca_error *err)
{
    (void)url;
    (void)err;
    rpc_amqp *a = sca_calloc(1, sizeof(*a));
    a->t = t;
    a->origin.ops = &amqp_origin_ops;
    t->impl = a;
    rpc_amqp_link_start(a);
    return 0;
}

void rpc_amqp_destroy(rpc_amqp *a)
{
    for (size_t i = 0; i < a->n_declared; i++)
        free(a->declared[i]);
    free(a->declared);
    rpc_transport *t = a->t;
    free(a);
    rpc_transport_destroy(t);
}

/* A reply queue that no reply can still reach is deleted, not left to
 * expire unused in 30 min: otherwise every sca command would leave one on
 * the broker.  One that may still get a late reply is left to expire, as
 * oslo leaves it, so that the replying server does not see it vanish.
 * Deleting the queue ends its consumer too; a basic.cancel of our own is
 * not sent, because a call that failed at once (the listener check) may
 * close before the broker confirmed the consume, and RabbitMQ 3.10 then
 * crashes the channel and never answers its close. */
static void amqp_close(rpc_transport *t)
{
    rpc_amqp *a = amqp_of(t);
    if (rpc_amqp_link_is_open(a) && a->reply_q[0] != '\0' && !rpc_client_replies_may_come(t)) {
        amqp_queue_delete_t d = {.queue = amqp_cstring_bytes(a->reply_q)};
        send_method(a, AMQP_QUEUE_DELETE_METHOD, &d);
    }
    rpc_amqp_link_close(a);
}

static const char *amqp_reply_queue(rpc_transport *t)
{
    rpc_amqp *a = amqp_of(t);
    if (a->reply_q[0] == '\0') {
        char hex[RPC_ID_HEX_LEN + 1];
        rpc_id_new(hex);
        snprintf(a->reply_q, sizeof(a->reply_q), "reply_%s", hex);
        if (rpc_amqp_link_is_open(a))
            declare_reply(a);
    }
    return a->reply_q;
}

static int amqp_send(rpc_transport *t, const rpc_target *target, enum rpc_send_kind kind,
                     double timeout, const char *msg_id, char *body, size_t len, sca_error *err)
{
    rpc_amqp *a = amqp_of(t);
    if (strlen(target->topic) > NAME_MAX_LEN ||
        (target->server != NULL && strlen(target->server) > NAME_MAX_LEN)) {
        free(body);
        return sca_error_set(err, -EINVAL, "RPC topic or server name too long");
    }
    char *exchange, *key;
    if (kind == RPC_SEND_FANOUT) {
        exchange = sca_asprintf("%s_fanout", target->topic);
        key = sca_strdup("");
    } else {
        exchange = sca_strdup(t->exchange);
        key = target->server != NULL && target->server[0]
                  ? sca_asprintf("%s.%s", target->topic, target->server)
                  : sca_strdup(target->topic);
    }
    /* Calls and gathers (fanouts that want replies) expire unanswered. */
    unsigned expiration = msg_id != NULL ? (unsigned)(timeout * 1000) : 0;
    amqp_out *m = out_new(kind, false, exchange, key, msg_id, expiration, body, len);
    free(exchange);
    free(key);
    if (rpc_amqp_link_is_open(a))
        return send_or_queue(a, m, err);
    if (rpc_amqp_link_first_dial_pending(a))
        return enqueue(a, m, err);
    rpc_amqp_out_free(m);
    return sca_error_set(err, -ENOTCONN, "not connected to %s: %s", t->url.describe,
                         rpc_amqp_link_error(a));
}

/* A question held like a call with require_listener: while the first
 * connection is dialed it waits in the queue, as calls do. */
static int amqp_count_listeners(rpc_transport *t, const rpc_target *target, rpc_count_cb cb,
                                void *arg, sca_error *err)
{
    rpc_amqp *a = amqp_of(t);
    if (strlen(target->topic) > NAME_MAX_LEN ||
        (target->server != NULL && strlen(target->server) > NAME_MAX_LEN))
        return sca_error_set(err, -EINVAL, "RPC topic or server name too long");
    char *queue = target->server != NULL && target->server[0]
                      ? sca_asprintf("%s.%s", target->topic, target->server)
                      : sca_strdup(target->topic);
    amqp_out *m = out_new(RPC_SEND_CALL, false, "", queue, NULL, 0, NULL, 0);
    free(queue);
    m->count_cb = cb;
    m->count_arg = arg;
    if (rpc_amqp_link_is_open(a)) {
        rpc_amqp_probe_hold(a, m);
        return 0;
    }
    if (rpc_amqp_link_first_dial_pending(a))
        return enqueue(a, m, err);
    rpc_amqp_out_free(m);
    return sca_error_set(err, -ENOTCONN, "not connected to %s: %s", t->url.describe,
                         rpc_amqp_link_error(a));
}

static int amqp_listen(rpc_transport *t, rpc_server *s, sca_error *err)
{
    rpc_amqp *a = amqp_of(t);
    if (strlen(s->topic) > NAME_MAX_LEN || (s->server != NULL && strlen(s->server) > NAME_MAX_LEN))
        return sca_error_set(err, -EINVAL, "RPC topic or server name too long");
    amqp_listener *l = sca_calloc(1, sizeof(*l));
    char hex[RPC_ID_HEX_LEN + 1];
    rpc_id_new(hex);
    snprintf(l->fanout_queue, sizeof(l->fanout_queue), "%s_fanout_%s", s->topic, hex);
    snprintf(l->tags[0], sizeof(l->tags[0]), "s%u.topic", s->id);
    snprintf(l->tags[1], sizeof(l->tags[1]), "s%u.server", s->id);
    snprintf(l->tags[2], sizeof(l->tags[2]), "s%u.fanout", s->id);
    s->impl = l;
    if (rpc_amqp_link_is_open(a))
        declare_server(a, s);
    return 0;
}

/* Cancels the consumers and deletes the fanout queue, as oslo does on a
 * clean stop (T and T.S stay: they are shared). */
static void amqp_unlisten(rpc_transport *t, rpc_server *s)
{
    rpc_amqp *a = amqp_of(t);
    amqp_listener *l = s->impl;
    for (size_t k = 0; k < 3 && rpc_amqp_link_is_open(a); k++) {
        if (k == 1 && s->server == NULL)
            continue;
        amqp_basic_cancel_t c = {.consumer_tag = amqp_cstring_bytes(l->tags[k])};
        send_method(a, AMQP_BASIC_CANCEL_METHOD, &c);
    }
    if (rpc_amqp_link_is_open(a)) {
        amqp_queue_delete_t d = {.queue = amqp_cstring_bytes(l->fanout_queue)};
        send_method(a, AMQP_QUEUE_DELETE_METHOD, &d);
    }
    s->impl = NULL;
    free(l);
}

static int amqp_unsent(rpc_transport *t, sca_error *err)
{
    rpc_amqp *a = amqp_of(t);
    if (a->dropped > 0) {
        int rc = sca_error_set(err, -EIO, "%d messages lost: %s", a->dropped, a->dropped_why);
        a->dropped = 0;
        return rc;
    }
    int n = rpc_amqp_write_pending(a) > 0;
    for (const amqp_out *m = a->out.head; m != NULL; m = m->next)
        n += !m->is_reply && !is_dead_call(a, m);
    return n + (int)rpc_amqp_probe_held(a);
}

const rpc_carrier rpc_amqp_carrier = {
    .name = "amqp",
    .open = amqp_open,
    .close = amqp_close,
    .reply_queue = amqp_reply_queue,
    .send = amqp_send,
    .listen = amqp_listen,
    .unlisten = amqp_unlisten,
    .unlisten_keeps_replies = true,
    .count_listeners = amqp_count_listeners,
    .unsent = amqp_unsent,
};
