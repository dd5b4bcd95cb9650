/* rpc_client.c - calls and casts: encoding, pending calls by _msg_id,
 * timeouts, reply matching (see rpc.h).  Late replies find no pending call
 * and are dropped. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_envelope.h"
#include "rpc_id.h"
#include "rpc_transport.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

#define PENDING_BUCKETS 1024
#define DEFAULT_TIMEOUT 60.0

typedef struct rpc_pending {
    char msg_id[RPC_ID_HEX_LEN + 1];
    rpc_transport *t;
    rpc_reply_cb cb;
    void *arg;
    double timeout;
    bool gather;      /* every reply until the timeout, not the first */
    bool text;        /* rpc_call_text: the result goes to cb as JSON text */
    uv_timer_t timer; /* the timeout; the struct is freed in its close callback */
    struct rpc_pending *next;
} rpc_pending;

struct rpc_pending_table {
    rpc_pending *buckets[PENDING_BUCKETS];
    size_t count;
    size_t texts;    /* of them, rpc_call_text calls */
    bool unanswered; /* a call timed out or was cancelled: its reply may still come */
};

static unsigned bucket_of(const char *msg_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = msg_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % PENDING_BUCKETS;
}

static rpc_pending **pending_slot(struct rpc_pending_table *tab, const char *msg_id)
{
    rpc_pending **pp = &tab->buckets[bucket_of(msg_id)];
    while (*pp != NULL && strcmp((*pp)->msg_id, msg_id) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void pending_freed(uv_handle_t *h)
{
    free(h->data);
}

/* Unlinks p (found at *pp), runs its callback, frees it. */
static void complete(rpc_transport *t, rpc_pending **pp, const rpc_reply *reply)
{
    rpc_pending *p = *pp;
    *pp = p->next;
    t->pending->count--;
    t->pending->texts -= p->text;
    uv_timer_stop(&p->timer);
    p->cb(reply, p->arg);
    uv_close((uv_handle_t *)&p->timer, pending_freed);
}

static void complete_error(rpc_pending *p, int status, const char *detail)
{
    rpc_reply r = {.status = status, .result = json_null(), .detail = detail};
    p->cb(&r, p->arg);
}

static void on_timeout(uv_timer_t *timer)
{
    rpc_pending *p = timer->data;
    rpc_pending **pp = pending_slot(p->t->pending, p->msg_id);
    char detail[128];
    snprintf(detail, sizeof(detail),
             p->gather ? "Replies to message ID %s gathered for %gs"
                       : "Timed out waiting for a reply to message ID %s (%gs)",
             p->msg_id, p->timeout);
    rpc_reply r = {.status = -ETIMEDOUT, .result = json_null(), .detail = detail};
    p->t->pending->unanswered = true;
    complete(p->t, pp, &r);
}

static rpc_pending *pending_add(rpc_transport *t, const char *msg_id, double timeout, bool gather,
                                bool text, rpc_reply_cb cb, void *arg)
{
    rpc_pending *p = sca_calloc(1, sizeof(*p));
    p->gather = gather;
    p->text = text;
    t->pending->texts += text;
    memcpy(p->msg_id, msg_id, sizeof(p->msg_id));
    p->t = t;
    p->cb = cb;
    p->arg = arg;
    p->timeout = timeout;
    uv_timer_init(t->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_timeout, (uint64_t)(timeout * 1000), 0);
    rpc_pending **pp = &t->pending->buckets[bucket_of(msg_id)];
    p->next = *pp;
    *pp = p;
    t->pending->count++;
    return p;
}

/* Removes a call that never left: no callback. */
static void pending_drop(rpc_transport *t, rpc_pending *p)
{
    rpc_pending **pp = pending_slot(t->pending, p->msg_id);
    *pp = p->next;
    t->pending->count--;
    t->pending->texts -= p->text;
    uv_close((uv_handle_t *)&p->timer, pending_freed);
}

void rpc_client_init(rpc_transport *t)
{
    t->pending = sca_calloc(1, sizeof(*t->pending));
}

void rpc_client_free(rpc_transport *t)
{
    free(t->pending);
    t->pending = NULL;
}

static int check_target(const rpc_transport *t, const rpc_target *target, const char *method,
                        sca_error *err)
{
    if (t->closing)
        return sca_error_set(err, -ECANCELED, "the transport is closing");
    if (target == NULL || target->topic == NULL || target->topic[0] == '\0')
        return sca_error_set(err, -EINVAL, "RPC target has no topic");
    if (method == NULL || method[0] == '\0')
        return sca_error_set(err, -EINVAL, "RPC call without a method name");
    return 0;
}

/* Encodes a request (a call when msg_id is set, waiting timeout seconds);
 * -EMSGSIZE when the body is over the limit. */
static int encode(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
                  json_t *context, const char *msg_id, const char *reply_q, double timeout,
                  char **body, size_t *len, sca_error *err)
{
    char unique_id[RPC_ID_HEX_LEN + 1];
    rpc_id_new(unique_id);
    json_t *inner = rpc_envelope_request(method, args, target->namespace, target->version, msg_id,
                                         reply_q, unique_id, context);
    /* What AMQP carries as the expiration property: the server learns when
     * we give up, and can answer a wait it cannot finish before then. */
    if (msg_id != NULL && t->carrier->expiration_in_body)
        json_object_set_new(inner, "_expiration", json_integer((json_int_t)(timeout * 1000)));
    *body = rpc_envelope_encode(inner, len);
    json_decref(inner);
    if (*len > t->max_message_size) {
        free(*body);
        *body = NULL;
        return sca_error_set(err, -EMSGSIZE,
                             "request for %s of %zu bytes exceeds max_message_size %zu", method,
                             *len, t->max_message_size);
    }
    return 0;
}

/* A call (one reply) or a gather (every reply within timeout); text: the
 * result goes to cb as JSON text. */
static int request(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
                   json_t *context, double timeout, bool gather, bool text, rpc_reply_cb cb,
                   void *arg, sca_error *err)
{
    int rc = check_target(t, target, method, err);
    if (rc == 0 && target->fanout != gather)
        rc = sca_error_set(err, -EINVAL,
                           gather ? "a gather needs a fanout target"
                                  : "a fanout target takes casts only");
    if (rc == 0 && t->pending->count >= RPC_MAX_PENDING)
        rc = sca_error_set(err, -ENOBUFS, "too many calls waiting for a reply (%d)",
                           RPC_MAX_PENDING);
    if (args != NULL && !json_is_object(args) && rc == 0)
        rc = sca_error_set(err, -EINVAL, "RPC arguments must be a JSON object");
    char msg_id[RPC_ID_HEX_LEN + 1];
    char *body = NULL;
    size_t len = 0;
    if (timeout <= 0)
        timeout = DEFAULT_TIMEOUT;
    timeout = fmin(timeout, RPC_TIMEOUT_MAX);
    if (rc == 0) {
        rpc_id_new(msg_id);
        const char *reply_q = t->carrier->reply_queue(t);
        rc = encode(t, target, method, args, context, msg_id, reply_q, timeout, &body, &len, err);
    }
    json_decref(args);
    if (rc != 0)
        return rc;
    rpc_pending *p = pending_add(t, msg_id, timeout, gather, text, cb, arg);
    rc = t->carrier->send(t, target, gather ? RPC_SEND_FANOUT : RPC_SEND_CALL, timeout, msg_id,
                          body, len, err);
    if (rc != 0)
        pending_drop(t, p);
    return rc;
}

int rpc_call(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
             json_t *context, double timeout, rpc_reply_cb cb, void *arg, sca_error *err)
{
    return request(t, target, method, args, context, timeout, false, false, cb, arg, err);
}

int rpc_call_text(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
                  json_t *context, double timeout, rpc_reply_cb cb, void *arg, sca_error *err)
{
    return request(t, target, method, args, context, timeout, false, true, cb, arg, err);
}

int rpc_gather(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
               json_t *context, double window, rpc_reply_cb cb, void *arg, sca_error *err)
{
    return request(t, target, method, args, context, window, true, false, cb, arg, err);
}

int rpc_cast(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
             json_t *context, sca_error *err)
{
    int rc = check_target(t, target, method, err);
    if (args != NULL && !json_is_object(args) && rc == 0)
        rc = sca_error_set(err, -EINVAL, "RPC arguments must be a JSON object");
    char *body = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = encode(t, target, method, args, context, NULL, NULL, 0, &body, &len, err);
    json_decref(args);
    if (rc != 0)
        return rc;
    return t->carrier->send(t, target, target->fanout ? RPC_SEND_FANOUT : RPC_SEND_CAST, 0, NULL,
                            body, len, err);
}

/* A gather's replies go to its callback and leave it waiting for more. */
static void answer(rpc_transport *t, rpc_pending **pp, const rpc_reply *r)
{
    if ((*pp)->gather)
        (*pp)->cb(r, (*pp)->arg);
    else
        complete(t, pp, r);
}

/* A result decoded on the general path, for a call that wants it as text. */
static void answer_as_text(rpc_transport *t, rpc_pending **pp, rpc_reply *r)
{
    char *text = json_dumps(r->result, JSON_ENCODE_ANY | JSON_COMPACT);
    r->result = json_null();
    r->text = text != NULL ? text : "null";
    r->text_len = strlen(r->text);
    answer(t, pp, r);
    free(text);
}

static void deliver(rpc_transport *t, rpc_pending **pp, const rpc_reply_fields *f)
{
    rpc_reply r = {.status = 0, .result = f->result != NULL ? f->result : json_null()};
    if (f->failure == NULL && (*pp)->text) {
        answer_as_text(t, pp, &r);
        return;
    }
    if (f->failure == NULL) {
        answer(t, pp, &r);
        return;
    }
    rpc_failure fail;
    rpc_envelope_parse_failure(f->failure, &fail);
    char *detail = sca_asprintf("%s: %s", fail.cls, fail.message);
    r.status = -EREMOTEIO;
    r.result = json_null();
    r.fail_class = fail.cls;
    r.fail_module = fail.module;
    r.fail_message = fail.message;
    r.detail = detail;
    answer(t, pp, &r);
    free(detail);
    rpc_failure_free(&fail);
}

/* A reply we cannot decode still names its call: fail that call with why,
 * at once, instead of leaving it to time out as if nothing had come. */
static void refuse_undecodable(rpc_transport *t, const char *body, size_t len, const char *why)
{
    char msg_id[RPC_ID_MAX + 1] = "", reply_q[RPC_ID_MAX + 1] = "";
    rpc_envelope_sniff(body, len, msg_id, reply_q);
    char *detail = sca_asprintf("cannot decode the reply from %s: %s", t->url.describe, why);
    if (msg_id[0] != '\0' && rpc_client_waits_for(t, msg_id))
        rpc_client_fail(t, msg_id, -EPROTO, detail);
    else
        log_warning("rpc: %s; dropped", detail);
    free(detail);
}

/* A reply to an rpc_call_text call, its result left undecoded: true when
 * delivered, false when the body is for the general path (another call's
 * reply, a failure, a heartbeat, or a form the fast path does not take). */
static bool deliver_text(rpc_transport *t, const char *body, size_t len)
{
    json_t *inner;
    char *text;
    const char *raw;
    size_t raw_len;
    if (rpc_envelope_decode_keep(body, len, "result", &inner, &text, &raw, &raw_len) != 0)
        return false;
    rpc_reply_fields f;
    rpc_pending **pp = NULL;
    bool taken = raw != NULL && rpc_envelope_reply_fields(inner, &f) == 0 && f.failure == NULL &&
                 *(pp = pending_slot(t->pending, f.msg_id)) != NULL && (*pp)->text;
    if (taken) {
        rpc_reply r = {.status = 0, .result = json_null(), .text = raw, .text_len = raw_len};
        answer(t, pp, &r);
    }
    json_decref(inner);
    free(text);
    return taken;
}

void rpc_client_receive(rpc_transport *t, const char *body, size_t len)
{
    if (t->pending->texts > 0 && deliver_text(t, body, len))
        return;
    json_t *inner = NULL;
    sca_error err = {0};
    if (rpc_envelope_decode(body, len, &inner, &err) != 0) {
        refuse_undecodable(t, body, len, err.msg);
        return;
    }
    rpc_reply_fields f;
    rpc_pending **pp = NULL;
    if (rpc_envelope_reply_fields(inner, &f) != 0)
        log_warning("rpc: reply without _msg_id dropped");
    else if (*(pp = pending_slot(t->pending, f.msg_id)) == NULL)
        log_debug("rpc: reply to %s dropped: no call waits for it (timed out?)", f.msg_id);
    else if (rpc_reply_is_heartbeat(&f))
        log_debug("rpc: call-monitor heartbeat for %s", f.msg_id);
    else
        deliver(t, pp, &f);
    json_decref(inner);
}

/* Calls are published mandatory: a call that no queue takes comes back at
 * once instead of leaving its caller waiting for the timeout.  Returned
 * replies (no _reply_q) are the server's business and are only dropped. */
void rpc_client_returned(rpc_transport *t, const char *routing_key, const char *body, size_t len)
{
    json_t *inner = NULL;
    sca_error err = {0};
    if (rpc_envelope_decode(body, len, &inner, &err) != 0) {
        log_debug("rpc: returned message dropped: %s", err.msg);
        return;
    }
    const char *msg_id = json_string_value(json_object_get(inner, "_msg_id"));
    if (msg_id != NULL && json_object_get(inner, "_reply_q") != NULL)
        rpc_client_unroutable(t, msg_id, routing_key);
    json_decref(inner);
}

void rpc_client_refuse(rpc_transport *t, uint64_t len, const rpc_clip *clip)
{
    char msg_id[RPC_ID_MAX + 1] = "", reply_q[RPC_ID_MAX + 1] = "";
    rpc_clip_sniff(clip, msg_id, reply_q);
    char *detail = sca_asprintf("reply of %llu bytes from %s exceeds max_message_size %zu",
                                (unsigned long long)len, t->url.describe, t->max_message_size);
    log_warning("rpc: %s; dropped", detail);
    if (msg_id[0] != '\0')
        rpc_client_fail(t, msg_id, -EMSGSIZE, detail);
    free(detail);
}

void rpc_client_unroutable(rpc_transport *t, const char *msg_id, const char *routing_key)
{
    char *detail = sca_asprintf("no queue on the broker takes %s: nothing has listened "
                                "there since the broker started",
                                routing_key);
    rpc_client_fail(t, msg_id, -EHOSTUNREACH, detail);
    free(detail);
}

bool rpc_client_waits_for(rpc_transport *t, const char *msg_id)
{
    return *pending_slot(t->pending, msg_id) != NULL;
}

bool rpc_client_replies_may_come(const rpc_transport *t)
{
    return t->pending->unanswered || t->pending->count > 0;
}

void rpc_client_fail(rpc_transport *t, const char *msg_id, int status, const char *detail)
{
    rpc_pending **pp = pending_slot(t->pending, msg_id);
    if (*pp == NULL)
        return;
    rpc_reply r = {.status = status, .result = json_null(), .detail = detail};
    complete(t, pp, &r);
}

void rpc_client_fail_all(rpc_transport *t, int status, const char *detail)
{
    /* Detached first: callbacks may start new calls. */
    rpc_pending *all = NULL;
    for (size_t i = 0; i < PENDING_BUCKETS; i++) {
        while (t->pending->buckets[i] != NULL) {
            rpc_pending *p = t->pending->buckets[i];
            t->pending->buckets[i] = p->next;
            p->next = all;
            all = p;
        }
    }
    if (t->pending->count > 0)
        t->pending->unanswered = true;
    t->pending->count = 0;
    t->pending->texts = 0;
    while (all != NULL) {
        rpc_pending *p = all;
        all = p->next;
        uv_timer_stop(&p->timer);
        complete_error(p, status, detail);
        uv_close((uv_handle_t *)&p->timer, pending_freed);
    }
}

/* --- Synchronous helpers for short-lived clients --------------------------- */

typedef struct sync_call {
    bool done;
    int status;
    json_t *result;
    char *fail_class;
    char *detail;
} sync_call;

static void sync_done(const rpc_reply *r, void *arg)
{
    sync_call *s = arg;
    s->done = true;
    s->status = r->status;
    if (r->status == 0)
        s->result = json_incref(r->result);
    if (r->fail_class != NULL)
        s->fail_class = sca_strdup(r->fail_class);
    if (r->detail != NULL)
        s->detail = sca_strdup(r->detail);
}

int rpc_call_sync(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
                  json_t *context, double timeout, json_t **result, char **fail_class,
                  sca_error *err)
{
    sync_call s = {0};
    int rc = rpc_call(t, target, method, args, context, timeout, sync_done, &s, err);
    if (rc != 0)
        return rc;
    while (!s.done) {
        if (uv_run(t->loop, UV_RUN_ONCE) == 0)
            break;
    }
    if (!s.done)
        return sca_error_set(err, -EIO, "the loop stopped before the call completed");
    rc = s.status;
    if (rc == 0)
        *result = s.result;
    else
        sca_error_set(err, rc, "%s", s.detail != NULL ? s.detail : "call failed");
    if (fail_class != NULL)
        *fail_class = s.fail_class;
    else
        free(s.fail_class);
    free(s.detail);
    return rc;
}

typedef struct sync_gather {
    bool done;
    int status; /* the end: -ETIMEDOUT when the window closed */
    char *detail;
    json_t *replies;
} sync_gather;

static void gather_one(const rpc_reply *r, void *arg)
{
    sync_gather *g = arg;
    if (r->status == 0) {
        json_array_append_new(g->replies, json_pack("{s:O}", "result", r->result));
    } else if (r->status == -EREMOTEIO) {
        json_array_append_new(g->replies, json_pack("{s:s,s:s}", "error", r->detail, "class",
                                                    r->fail_class ? r->fail_class : ""));
    } else {
        g->done = true;
        g->status = r->status;
        g->detail = sca_strdup(r->detail != NULL ? r->detail : "gather failed");
    }
}

int rpc_gather_sync(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
                    json_t *context, double window, json_t **replies, sca_error *err)
{
    sync_gather g = {.replies = json_array()};
    int rc = rpc_gather(t, target, method, args, context, window, gather_one, &g, err);
    while (rc == 0 && !g.done) {
        if (uv_run(t->loop, UV_RUN_ONCE) == 0)
            break;
    }
    if (rc == 0 && !g.done)
        rc = sca_error_set(err, -EIO, "the loop stopped before the window closed");
    else if (rc == 0 && g.status != -ETIMEDOUT)
        rc = sca_error_set(err, g.status, "%s", g.detail);
    free(g.detail);
    if (rc != 0) {
        json_decref(g.replies);
        return rc;
    }
    *replies = g.replies;
    return 0;
}

static void flush_timer_closed(uv_handle_t *h)
{
    *(bool *)h->data = true;
}

static void flush_expired(uv_timer_t *timer)
{
    (void)timer;
}

int rpc_flush_sync(rpc_transport *t, double timeout, sca_error *err)
{
    uv_timer_t timer;
    bool closed = false;
    uv_timer_init(t->loop, &timer);
    uv_timer_start(&timer, flush_expired, (uint64_t)(fmin(timeout, RPC_TIMEOUT_MAX) * 1000), 0);
    int rc;
    while ((rc = t->carrier->unsent(t, err)) > 0 && uv_is_active((uv_handle_t *)&timer))
        uv_run(t->loop, UV_RUN_ONCE);
    if (rc > 0)
        rc = sca_error_set(err, -ETIMEDOUT, "%d messages still unsent after %gs", rc, timeout);
    timer.data = &closed;
    uv_close((uv_handle_t *)&timer, flush_timer_closed);
    while (!closed)
        uv_run(t->loop, UV_RUN_ONCE);
    return rc;
}
