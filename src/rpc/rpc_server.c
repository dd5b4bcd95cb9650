/* rpc_server.c - dispatch exactly as an oslo.messaging RPCServer does:
 * decode, drop duplicates, match namespace and version, check arguments,
 * call the handler, answer (with call-monitor heartbeats when asked for),
 * and turn every bad input into an oslo-style failure (see rpc.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_args.h"
#include "rpc_envelope.h"
#include "rpc_id.h"
#include "rpc_transport.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

#define DISPATCHER_MODULE "oslo_messaging.rpc.dispatcher"
#define ENVELOPE_MODULE "oslo_messaging._drivers.common"
#define APP_MODULE "scalpels"
#define WARN_BURST 10 /* warnings per second per server before suppressing */

struct rpc_request {
    rpc_server *server; /* NULL once the server is gone: the answer is dropped */
    rpc_origin *origin; /* held while the request lives */
    json_t *inner;      /* owns method, msg_id and reply_q */
    const char *method;
    json_t *args;    /* owned */
    json_t *context; /* owned */
    const char *msg_id;
    const char *reply_q;
    uv_timer_t *heartbeat; /* call-monitor, NULL when off; freed when closed */
    double deadline;       /* sca_monotonic() when the caller gives up; 0 = unknown */
    rpc_request *prev;
    rpc_request *next;
};

/* Rate-limited: a flood of bad casts must not become a flood of logs. */
static void server_warn(rpc_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void server_warn(rpc_server *s, const char *fmt, ...)
{
    double now = sca_monotonic();
    if (now - s->warn_window >= 1.0) {
        if (s->warn_suppressed > 0)
            log_warning("rpc: %u similar warnings suppressed", s->warn_suppressed);
        s->warn_window = now;
        s->warn_count = 0;
        s->warn_suppressed = 0;
    }
    if (s->warn_count++ >= WARN_BURST) {
        s->warn_suppressed++;
        return;
    }
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_warning("rpc: %s", line);
}

static bool wants_reply(const rpc_origin *o, const char *msg_id, const char *reply_q)
{
    return msg_id != NULL && (reply_q != NULL || !o->ops->needs_reply_q);
}

static void send_inner(rpc_origin *o, const char *reply_q, json_t *inner)
{
    size_t len;
    char *body = rpc_envelope_encode(inner, &len);
    json_decref(inner);
    o->ops->send(o, reply_q, body, len);
}

static void send_failure(rpc_origin *o, const char *msg_id, const char *reply_q, const char *cls,
                         const char *module, const char *message)
{
    char unique_id[RPC_ID_HEX_LEN + 1];
    rpc_id_new(unique_id);
    char *failure = rpc_envelope_failure(cls, module, message);
    send_inner(o, reply_q, rpc_envelope_reply(NULL, failure, true, msg_id, unique_id));
    free(failure);
}

void rpc_server_answer_fault(rpc_server *s, rpc_origin *o, const char *msg_id, const char *reply_q,
                             const rpc_fault *fault)
{
    if (wants_reply(o, msg_id, reply_q)) {
        log_debug("rpc: call %s refused: %s: %s", msg_id, fault->cls, fault->message);
        send_failure(o, msg_id, reply_q, fault->cls, fault->module, fault->message);
    } else {
        server_warn(s, "message dropped: %s: %s", fault->cls, fault->message);
    }
}

/* A body that cannot be decoded: its ids can only be looked for. */
static void refuse_raw(rpc_server *s, rpc_origin *o, const char *body, size_t len,
                       const rpc_fault *fault)
{
    char msg_id[RPC_ID_MAX + 1] = "", reply_q[RPC_ID_MAX + 1] = "";
    rpc_envelope_sniff(body, len, msg_id, reply_q);
    rpc_server_answer_fault(s, o, msg_id[0] ? msg_id : NULL, reply_q[0] ? reply_q : NULL, fault);
}

void rpc_server_refuse(rpc_server *s, rpc_origin *o, uint64_t len, const rpc_clip *clip)
{
    char msg_id[RPC_ID_MAX + 1] = "", reply_q[RPC_ID_MAX + 1] = "";
    rpc_fault fault;
    rpc_fault_set(&fault, "ValueError", "builtins",
                  "message body of %llu bytes exceeds max_message_size %zu",
                  (unsigned long long)len, s->t->max_message_size);
    rpc_clip_sniff(clip, msg_id, reply_q);
    rpc_server_answer_fault(s, o, msg_id[0] ? msg_id : NULL, reply_q[0] ? reply_q : NULL, &fault);
}

/* oslo drops a repeated _unique_id silently (a redelivered message). */
static bool seen_before(rpc_server *s, const char *unique_id)
{
    if (unique_id == NULL)
        return false;
    for (size_t i = 0; i < RPC_DEDUP_SIZE; i++) {
        if (s->seen[i] != NULL && strcmp(s->seen[i], unique_id) == 0)
            return true;
    }
    free(s->seen[s->seen_next]);
    s->seen[s->seen_next] = sca_strdup(unique_id);
    s->seen_next = (s->seen_next + 1) % RPC_DEDUP_SIZE;
    return false;
}

static bool namespace_matches(const rpc_endpoint *e, const char *ns)
{
    if (e->namespace == NULL || ns == NULL)
        return e->namespace == ns;
    return strcmp(e->namespace, ns) == 0;
}

static bool endpoint_matches(const rpc_endpoint *e, const rpc_request_fields *f)
{
    if (!namespace_matches(e, f->namespace))
        return false;
    /* A null version matches nothing (oslo: endpoint versions default to 1.0). */
    return f->version != NULL &&
           rpc_version_compatible(e->version != NULL ? e->version : "1.0", f->version) == 1;
}

/* oslo's RPCDispatcher.dispatch: first compatible endpoint with the method
 * (names starting with _ are never exposed) wins. */
static const rpc_method *find_method(const rpc_server *s, const rpc_request_fields *f,
                                     const rpc_endpoint **endpoint, rpc_fault *fault)
{
    bool compatible = false;
    for (size_t i = 0; i < s->n_endpoints; i++) {
        const rpc_endpoint *e = &s->endpoints[i];
        if (!endpoint_matches(e, f))
            continue;
        for (const rpc_method *m = e->methods; f->method[0] != '_' && m->name != NULL; m++) {
            if (strcmp(m->name, f->method) == 0) {
                *endpoint = e;
                return m;
            }
        }
        compatible = true;
    }
    if (compatible)
        rpc_fault_set(fault, "NoSuchMethod", DISPATCHER_MODULE,
                      "Endpoint does not support RPC method %s", f->method);
    else
        rpc_fault_set(fault, "UnsupportedVersion", DISPATCHER_MODULE,
                      "Endpoint does not support RPC version %s%s%s",
                      f->version != NULL ? f->version : "None",
                      f->method[0] ? ". Attempted method: " : "", f->method);
    return NULL;
}

static void on_heartbeat(uv_timer_t *timer)
{
    rpc_request *req = timer->data;
    char unique_id[RPC_ID_HEX_LEN + 1];
    rpc_id_new(unique_id);
    send_inner(req->origin, req->reply_q,
               rpc_envelope_reply(NULL, NULL, false, req->msg_id, unique_id));
}

/* oslo's watchdog: every int(_timeout)/2 s, never below 1 s, and never for
 * a client that sent no _timeout (it would crash on the heartbeat). */
static void start_heartbeat(rpc_request *req, double client_timeout)
{
    double interval = floor(fmin(client_timeout, RPC_TIMEOUT_MAX)) / 2;
    if (req->msg_id == NULL || interval < 1)
        return;
    req->heartbeat = sca_malloc(sizeof(*req->heartbeat));
    uv_timer_init(req->server->t->loop, req->heartbeat);
    req->heartbeat->data = req;
    uint64_t ms = (uint64_t)(interval * 1000);
    uv_timer_start(req->heartbeat, on_heartbeat, ms, ms);
}

static void heartbeat_closed(uv_handle_t *h)
{
    free(h);
}

static void stop_heartbeat(rpc_request *req)
{
    if (req->heartbeat == NULL)
        return;
    uv_close((uv_handle_t *)req->heartbeat, heartbeat_closed);
    req->heartbeat = NULL;
}

/* Takes ownership of inner.  received: sca_monotonic() when the carrier
 * handed the request over; expiration: what the carrier said of it. */
static rpc_request *request_new(rpc_server *s, rpc_origin *o, json_t *inner,
                                const rpc_request_fields *f, double received, double expiration)
{
    rpc_request *req = sca_calloc(1, sizeof(*req));
    req->server = s;
    req->origin = o;
    o->ops->hold(o);
    req->inner = inner;
    req->method = f->method;
    req->args = f->args != NULL ? json_incref(f->args) : json_object();
    req->context = rpc_envelope_context(inner);
    if (wants_reply(o, f->msg_id, f->reply_q)) {
        req->msg_id = f->msg_id;
        req->reply_q = f->reply_q;
        double wait = expiration > 0 ? expiration : f->expiration;
        if (wait > 0)
            req->deadline = received + fmin(wait, RPC_TIMEOUT_MAX);
    }
    req->next = s->requests;
    if (s->requests != NULL)
        s->requests->prev = req;
    s->requests = req;
    start_heartbeat(req, f->timeout);
    return req;
}

/* Detaches req from its server and origin: its answer goes nowhere. */
static void request_orphan(rpc_request *req)
{
    rpc_server *s = req->server;
    if (s == NULL)
        return;
    if (req->prev != NULL)
        req->prev->next = req->next;
    else
        s->requests = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
    req->server = NULL;
    stop_heartbeat(req);
    req->origin->ops->release(req->origin);
    req->origin = NULL;
}

static void request_free(rpc_request *req)
{
    request_orphan(req);
    json_decref(req->args);
    json_decref(req->context);
    json_decref(req->inner);
    free(req);
}

static void dispatch(rpc_server *s, rpc_origin *o, json_t *inner, double received,
                     double expiration)
{
    rpc_request_fields f;
    rpc_fault fault;
    const rpc_endpoint *e = NULL;
    const rpc_method *m = NULL;
    if (rpc_envelope_request_fields(inner, &f, &fault) != 0 ||
        (m = find_method(s, &f, &e, &fault)) == NULL || rpc_args_check(m, f.args, &fault) != 0) {
        rpc_server_answer_fault(s, o, f.msg_id, f.reply_q, &fault);
        json_decref(inner);
        return;
    }
    rpc_request *req = request_new(s, o, inner, &f, received, expiration);
    m->fn(req, e->arg);
}

void rpc_server_receive(rpc_server *s, rpc_origin *o, const char *content_type, double expiration,
                        const char *body, size_t len)
{
    double received = sca_monotonic();
    rpc_fault fault;
    if (content_type != NULL && strcmp(content_type, "application/json") != 0) {
        rpc_fault_set(&fault, "ValueError", "builtins",
                      "unsupported content type '%s' (want application/json)", content_type);
        refuse_raw(s, o, body, len, &fault);
        return;
    }
    json_t *inner = NULL;
    sca_error err = {0};
    int rc = rpc_envelope_decode(body, len, &inner, &err);
    if (rc == -EPROTONOSUPPORT) {
        rpc_fault_set(&fault, "UnsupportedRpcEnvelopeVersion", ENVELOPE_MODULE, "%s", err.msg);
        refuse_raw(s, o, body, len, &fault);
        return;
    }
    if (rc != 0) {
        rpc_fault_set(&fault, "ValueError", "builtins", "%s", err.msg);
        refuse_raw(s, o, body, len, &fault);
        return;
    }
    const char *unique_id = json_string_value(json_object_get(inner, "_unique_id"));
    if (seen_before(s, unique_id)) {
        log_debug("rpc: duplicate message %s dropped", unique_id);
        json_decref(inner);
        return;
    }
    dispatch(s, o, inner, received, expiration);
}

/* --- Public API ------------------------------------------------------------ */

static int check_endpoints(const rpc_endpoint *endpoints, size_t n, sca_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const rpc_endpoint *e = &endpoints[i];
        if (e->version != NULL && rpc_version_compatible(e->version, e->version) < 0)
            return sca_error_set(err, -EINVAL, "endpoint version '%s' is not MAJOR.MINOR",
                                 e->version);
        for (const rpc_method *m = e->methods; m != NULL && m->name != NULL; m++) {
            if (m->fn == NULL)
                return sca_error_set(err, -EINVAL, "RPC method %s has no handler", m->name);
        }
        if (e->methods == NULL)
            return sca_error_set(err, -EINVAL, "RPC endpoint without a method table");
    }
    return 0;
}

static void drain_end(rpc_server *s)
{
    if (s->drain == NULL)
        return;
    uv_close((uv_handle_t *)s->drain, (uv_close_cb)free);
    s->drain = NULL;
    s->stopped = NULL;
}

static void server_unlink(rpc_server *s)
{
    rpc_server **pp = &s->t->servers;
    while (*pp != NULL && *pp != s)
        pp = &(*pp)->next;
    if (*pp == s)
        *pp = s->next;
}

static void server_destroy(rpc_server *s)
{
    for (size_t i = 0; i < RPC_DEDUP_SIZE; i++)
        free(s->seen[i]);
    free(s->topic);
    free(s->server);
    free(s);
}

int rpc_server_new(rpc_transport *t, const char *topic, const char *server,
                   const rpc_endpoint *endpoints, size_t n_endpoints, rpc_server **out,
                   sca_error *err)
{
    if (t->closing)
        return sca_error_set(err, -ECANCELED, "the transport is closing");
    if (topic == NULL || topic[0] == '\0')
        return sca_error_set(err, -EINVAL, "RPC server without a topic");
    int rc = check_endpoints(endpoints, n_endpoints, err);
    if (rc != 0)
        return rc;
    rpc_server *s = sca_calloc(1, sizeof(*s));
    s->t = t;
    s->id = ++t->next_server_id;
    s->topic = sca_strdup(topic);
    s->server = server != NULL && server[0] ? sca_strdup(server) : NULL;
    s->endpoints = endpoints;
    s->n_endpoints = n_endpoints;
    s->next = t->servers;
    t->servers = s;
    rc = t->carrier->listen(t, s, err);
    if (rc != 0) {
        server_unlink(s);
        server_destroy(s);
        return rc;
    }
    s->listening = true;
    *out = s;
    return 0;
}

void rpc_server_free(rpc_server *s)
{
    if (s == NULL)
        return;
    /* Out of the transport's list first: unlisten may run the state
     * callback, which may free the transport, and that must not free s. */
    server_unlink(s);
    drain_end(s);
    while (s->requests != NULL)
        request_orphan(s->requests);
    if (s->listening)
        s->t->carrier->unlisten(s->t, s);
    server_destroy(s);
}

#define DRAIN_POLL_MS 20

static size_t requests_count(const rpc_server *s)
{
    size_t n = 0;
    for (const rpc_request *r = s->requests; r != NULL; r = r->next)
        n++;
    return n;
}

static void on_drain_tick(uv_timer_t *timer)
{
    rpc_server *s = timer->data;
    if (s->requests != NULL && uv_now(timer->loop) < s->drain_end)
        return;
    rpc_server_stopped_cb stopped = s->stopped;
    drain_end(s);
    /* Last: it may free s. */
    stopped(s, requests_count(s), s->stopped_arg);
}

void rpc_server_stop(rpc_server *s, double grace, rpc_server_stopped_cb stopped, void *arg)
{
    if (s->listening && s->t->carrier->unlisten_keeps_replies) {
        s->listening = false; /* first: unlisten may reach rpc_server_free */
        s->t->carrier->unlisten(s->t, s);
    }
    s->stopped = stopped;
    s->stopped_arg = arg;
    s->drain = sca_malloc(sizeof(*s->drain));
    uv_timer_init(s->t->loop, s->drain);
    s->drain->data = s;
    s->drain_end = uv_now(s->t->loop) + (uint64_t)(fmax(grace, 0) * 1000);
    uv_timer_start(s->drain, on_drain_tick, 0, DRAIN_POLL_MS);
}

const char *rpc_request_method(const rpc_request *req)
{
    return req->method;
}

json_t *rpc_request_args(const rpc_request *req)
{
    return req->args;
}

json_t *rpc_request_context(const rpc_request *req)
{
    return req->context;
}

bool rpc_request_wants_reply(const rpc_request *req)
{
    return req->msg_id != NULL;
}

double rpc_request_deadline(const rpc_request *req)
{
    return req->deadline;
}

int rpc_request_peer_uid(const rpc_request *req, uid_t *uid)
{
    if (req->origin == NULL)
        return -ENOENT;
    return req->origin->ops->peer_uid(req->origin, uid);
}

/* Sends the reply to req whose result is result, or when text is not NULL
 * the JSON text text (text_len bytes), and frees req. */
static void reply_with(rpc_request *req, json_t *result, const char *text, size_t text_len)
{
    if (req->server == NULL || req->msg_id == NULL) {
        json_decref(result);
        request_free(req);
        return;
    }
    char unique_id[RPC_ID_HEX_LEN + 1];
    rpc_id_new(unique_id);
    json_t *inner = rpc_envelope_reply(result, NULL, true, req->msg_id, unique_id);
    size_t len;
    char *body = text != NULL ? rpc_envelope_encode_raw(inner, "result", text, text_len, &len)
                              : rpc_envelope_encode(inner, &len);
    json_decref(inner);
    size_t max = req->server->t->max_message_size;
    if (len > max) {
        free(body);
        char message[160];
        snprintf(message, sizeof(message), "reply of %zu bytes exceeds max_message_size %zu", len,
                 max);
        log_warning("rpc: %s: %s", req->method, message);
        send_failure(req->origin, req->msg_id, req->reply_q, "ValueError", "builtins", message);
    } else {
        req->origin->ops->send(req->origin, req->reply_q, body, len);
    }
    request_free(req);
}

void rpc_request_reply(rpc_request *req, json_t *result)
{
    reply_with(req, result, NULL, 0);
}

void rpc_request_reply_text(rpc_request *req, char *text, size_t len)
{
    reply_with(req, NULL, text, len);
    free(text);
}

void rpc_request_fail(rpc_request *req, const char *fail_class, const char *module, const char *fmt,
                      ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (req->server == NULL || req->msg_id == NULL) {
        /* Nobody hears a cast fail: the log is the only trace. */
        if (req->server != NULL)
            server_warn(req->server, "cast %s failed: %s: %s", req->method,
                        fail_class != NULL ? fail_class : "Error", message);
        request_free(req);
        return;
    }
    send_failure(req->origin, req->msg_id, req->reply_q, fail_class != NULL ? fail_class : "Error",
                 module != NULL ? module : APP_MODULE, message);
    request_free(req);
}
