/*
 * rpc.h - RPC in the oslo.messaging rabbit dialect, over AMQP (RabbitMQ via
 * rabbitmq-c, driven from a libuv loop) or over a local unix socket.
 *
 * One model, two carriers.  A transport is made from a URL:
 *   rabbit://user:pass@host:port/vhost[,user:pass@host2:port/vhost][?ssl=1]
 *   unix:///path/to/agent.sock
 * Clients call (with a reply) or cast (without) a method on a target; servers
 * listen on a topic, dispatch by method name to handlers and reply.  Message
 * bodies are the oslo envelope {"oslo.version": "2.0", "oslo.message": "..."}
 * on both carriers (see docs/protocol.md).
 *
 * Everything here runs on the thread of the libuv loop the transport was
 * made with.  Functions return 0 or a negative errno code and fill an
 * optional sca_error (error.h).
 */
#ifndef SCALPELS_RPC_H
#define SCALPELS_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "scalpels/error.h"

#define RPC_DEFAULT_EXCHANGE "openstack"
#define RPC_DEFAULT_MAX_MESSAGE_SIZE (1024 * 1024)

typedef struct rpc_transport rpc_transport;
typedef struct rpc_server rpc_server;
typedef struct rpc_request rpc_request;

typedef struct rpc_options {
    const char *exchange;    /* control exchange; NULL = "openstack" */
    int heartbeat;           /* AMQP heartbeat seconds; 0 = off */
    size_t max_message_size; /* bodies above this are refused; 0 = 1 MiB */
    bool durable_queues;     /* mirror oslo's amqp_durable_queues */
    bool quorum_queues;      /* mirror oslo's rabbit_quorum_queue (implies durable) */
    double connect_timeout;  /* seconds for one connection attempt; 0 = 10 */
    double reconnect_max;    /* cap of the reconnect backoff, seconds; 0 = 5 */
    const char *ssl_ca_file; /* TLS (?ssl=1 in the URL) */
    const char *ssl_cert_file;
    const char *ssl_key_file;
    bool ssl_verify;
    const char *program; /* name used in AMQP connection_name */
    /* Unix server: seconds after which a connection that is idle (no
     * request being handled, no reply waiting), or that has held a frame
     * unfinished or its replies unread for that long, is closed; 0 = 30. */
    double idle_timeout;
    /* AMQP: before each call, ask the broker whether its queue has a
     * consumer, and fail the call at once (-EHOSTDOWN) when none does,
     * instead of leaving it in the queue of a server that has stopped.  For
     * interactive clients; oslo's behaviour (wait for the timeout: the server
     * may come back) is the default. */
    bool require_listener;
    /* AMQP: connect, log in and hang up on the loop's own thread, blocking
     * it (bounded by connect_timeout, and 2 s for the hang-up), instead of
     * on the libuv thread pool.  For short-lived clients with nothing else
     * to run meanwhile, to which starting the pool's threads and handing
     * work to them and back costs more than the work; servers leave it
     * off. */
    bool dial_on_loop;
} rpc_options;

/* Makes a transport for url on loop (opts may be NULL for defaults).  AMQP
 * connects in the background (the loop never blocks on connect or login) and
 * reconnects with capped exponential backoff and jitter, redeclaring its
 * queues and consumers.  SIGPIPE is set to ignored unless the program
 * installed a handler: a peer hanging up must be an error, not a kill. */
int rpc_transport_new(uv_loop_t *loop, const char *url, const rpc_options *opts,
                      rpc_transport **out, sca_error *err);

/* 0 when url is one rpc_transport_new takes, else -EINVAL (or
 * -ENAMETOOLONG) with err naming the problem; connects to nothing. */
int rpc_url_check(const char *url, sca_error *err);

/* Closes everything: pending calls complete with -ECANCELED, servers still
 * listening are freed (AMQP: consumers cancelled, fanout queues deleted, and
 * the reply queue deleted unless a reply may still come to it).
 * Messages still waiting for a connection are dropped (call rpc_flush_sync
 * first); what was already accepted for the socket is written before the
 * connection is closed.  Safe from inside any callback of t.  Run the loop
 * afterwards until it has no more handles for the memory to be released. */
void rpc_transport_free(rpc_transport *t);

/* The URL without credentials, for messages ("rabbit://127.0.0.1:5672/"). */
const char *rpc_transport_describe(const rpc_transport *t);

/* Connection state.  up: AMQP is connected and the broker confirmed every
 * exchange, queue, binding and consumer declared on connecting (a unix
 * server is up once it listens, a unix client once connected).  detail
 * says why the state changed ("connected to 127.0.0.1:5672", "connection
 * to 127.0.0.1:5672 lost: ...").  The callback runs from the loop on every
 * change.  It may free t when it runs from the loop itself or from
 * rpc_server_free(), but not when a send of ours reports the change (a
 * unix client's first connect inside rpc_call or rpc_cast, a connection
 * lost while rpc_call, rpc_cast or rpc_request_reply writes): the caller
 * still uses t then.  Free it later (a uv_idle or timer) in that case. */
typedef void (*rpc_state_cb)(rpc_transport *t, bool up, const char *detail, void *arg);
void rpc_transport_on_state(rpc_transport *t, rpc_state_cb cb, void *arg);
bool rpc_transport_is_up(const rpc_transport *t);

/* 0 when a server accepts on the unix socket at path (a full backlog
 * counts as one), else -errno from connect (-ECONNREFUSED, -ENOENT...). */
int rpc_unix_probe(const char *path);

typedef struct rpc_target {
    const char *topic;     /* e.g. "scalpels" */
    const char *server;    /* host: topic.server queue; NULL = shared topic */
    bool fanout;           /* every server on topic (casts only) */
    const char *namespace; /* NULL = none */
    const char *version;   /* NULL = none sent (oslo's "1.0" applies) */
} rpc_target;

/* What a call came back with; valid only during the callback. */
typedef struct rpc_reply {
    int status;       /* 0 ok; -EREMOTEIO remote failure; -ETIMEDOUT;
                         -ECANCELED (transport freed); -ENOTCONN (the
                         first connection failed); -ECONNRESET (unix
                         connection lost) */
    json_t *result;   /* borrowed; JSON null when status != 0 and for
                         rpc_call_text */
    const char *text; /* rpc_call_text, status 0: the result as JSON
                         text (text_len bytes, not NUL-terminated) */
    size_t text_len;
    const char *fail_class; /* with -EREMOTEIO: exception class, module, message */
    const char *fail_module;
    const char *fail_message;
    const char *detail; /* human-readable summary for any status != 0 */
} rpc_reply;

typedef void (*rpc_reply_cb)(const rpc_reply *reply, void *arg);

/* Calls method on target with keyword args (a JSON object; the function takes
 * ownership, also on error; NULL = {}) and context (borrowed; NULL = {}).
 * cb runs exactly once, from the loop, unless the call fails at once.  A
 * call that cannot be published fails at once (a negative return and no
 * callback): not connected, send queue full (-ENOBUFS), body over
 * max_message_size (-EMSGSIZE).  Only while an AMQP transport makes its
 * very first connection are calls queued; if that attempt fails, cb gets
 * the connection error.  Over AMQP a call no queue takes (returned by the
 * broker as unroutable) gets -EHOSTUNREACH in cb as soon as the broker says
 * so; with require_listener, a call whose queue has no consumer gets
 * -EHOSTDOWN as soon as the broker says so.  A call with no answer fails at
 * timeout (seconds; <= 0 means 60,
 * oslo's default; above a week, a week) with -ETIMEDOUT and a late reply
 * is dropped. */
int rpc_call(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
             json_t *context, double timeout, rpc_reply_cb cb, void *arg, sca_error *err);

/* As rpc_call, for a large result that the caller reads with a parser of
 * its own (a page of samples): the result is not decoded into jansson
 * values, and cb gets its JSON text in reply->text as the server wrote it
 * (for a server that replies with rpc_request_reply_text, exactly its
 * text).  The text is not checked: the caller's parser must refuse what
 * is not JSON. */
int rpc_call_text(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
                  json_t *context, double timeout, rpc_reply_cb cb, void *arg, sca_error *err);

/* Sends without waiting for a reply (fanout when target->fanout).  Takes
 * ownership of args, also on error.  Fails at once like rpc_call. */
int rpc_cast(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
             json_t *context, sca_error *err);

/* For short-lived clients, never from inside a loop callback: runs t's loop
 * until the call completes.  On 0 *result is a new reference.  A remote
 * failure returns -EREMOTEIO with "Class: message" in err and, if fail_class
 * is not NULL, a copy of the class name there (caller frees). */
int rpc_call_sync(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
                  json_t *context, double timeout, json_t **result, char **fail_class,
                  sca_error *err);

/* Asks every server of target->topic at once: a fanout message that, like
 * a call, carries _msg_id and _reply_q, so each server that gets it answers
 * (oslo.messaging servers do too).  cb runs for every reply that arrives
 * within window seconds (status 0 or -EREMOTEIO), then once with
 * -ETIMEDOUT when the window closes; a message that cannot be published
 * fails at once as for rpc_call.  Takes ownership of args.  Over the unix
 * socket the one local server answers. */
int rpc_gather(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
               json_t *context, double window, rpc_reply_cb cb, void *arg, sca_error *err);

/* rpc_gather for short-lived clients: *replies (a new array) gets one
 * object per reply, {"result": R} or {"error": "Class: message",
 * "class": "Class"}, in arrival order. */
int rpc_gather_sync(rpc_transport *t, const rpc_target *target, const char *method, json_t *args,
                    json_t *context, double window, json_t **replies, sca_error *err);

/* How many servers listen on target (its fanout flag is ignored): over
 * AMQP the consumers of its queue (topic.server when target->server is
 * set, else the shared topic queue, which every server of the topic
 * consumes from), as a passive queue.declare reports them, 0 when the
 * queue does not exist; over the unix socket 1 when a server accepts
 * there, else 0.  cb runs exactly once, from the loop, unless the
 * function fails at once: status 0 and the count, or a negative errno
 * code and detail (-ENOTCONN: no connection; -ECANCELED: t was freed). */
typedef void (*rpc_count_cb)(int status, unsigned count, const char *detail, void *arg);
int rpc_count_listeners(rpc_transport *t, const rpc_target *target, rpc_count_cb cb, void *arg,
                        sca_error *err);

/* Runs t's loop until every cast sent so far has been written to the socket
 * (-ETIMEDOUT after timeout seconds; the connection error if it is lost). */
int rpc_flush_sync(rpc_transport *t, double timeout, sca_error *err);

/* --- Server side ---------------------------------------------------------- */

enum rpc_arg_type {
    RPC_ARG_ANY, /* any JSON value, null included */
    RPC_ARG_STRING,
    RPC_ARG_BOOL,
    RPC_ARG_INT,
    RPC_ARG_NUMBER,
    RPC_ARG_OBJECT,
    RPC_ARG_ARRAY,
    RPC_ARG_STRING_LIST, /* array of strings */
};

typedef struct rpc_arg_spec {
    const char *name;
    enum rpc_arg_type type;
    bool required;
    bool nullable; /* JSON null accepted (Python None); always for ANY */
} rpc_arg_spec;

typedef void (*rpc_method_fn)(rpc_request *req, void *arg);

/* Arguments are checked against args before fn runs: an unexpected or
 * missing keyword or a wrong type gets a TypeError reply worded as Python
 * would word it, and fn is not called. */
typedef struct rpc_method {
    const char *name;
    rpc_method_fn fn;
    const rpc_arg_spec *args; /* terminated by {0}; NULL = no arguments */
} rpc_method;

typedef struct rpc_endpoint {
    const char *namespace;     /* NULL = the default namespace */
    const char *version;       /* NULL = "1.0"; matched as oslo does */
    const rpc_method *methods; /* terminated by {0} */
    void *arg;                 /* passed to every fn */
} rpc_endpoint;

/* Listens on topic, topic.server and topic_fanout (AMQP) or accepts on the
 * socket (unix; one server per transport; topic is required but unused),
 * dispatching to endpoints (borrowed; must outlive the server).  Messages
 * that cannot be decoded, too large ones and unknown methods get an error
 * reply if they are calls and are logged and dropped if they are casts. */
int rpc_server_new(rpc_transport *t, const char *topic, const char *server,
                   const rpc_endpoint *endpoints, size_t n_endpoints, rpc_server **out,
                   sca_error *err);

/* Stops listening (deleting the fanout queue) and frees the server.
 * Requests still being handled stay valid; their replies are dropped. */
void rpc_server_free(rpc_server *s);

typedef void (*rpc_server_stopped_cb)(rpc_server *s, size_t dropped, void *arg);

/* A graceful stop, as oslo's stop() and wait(): takes no new request (over
 * AMQP the consumers are cancelled, and what the broker still delivers goes
 * back to the queue; over the unix socket, the node's own admin channel,
 * requests are still taken meanwhile), lets those being handled answer,
 * then calls stopped once none is left, or after grace seconds with the
 * number still unanswered.  stopped may free s (it usually does); s must
 * not be stopped twice. */
void rpc_server_stop(rpc_server *s, double grace, rpc_server_stopped_cb stopped, void *arg);

/* Request accessors: borrowed, valid until the request is answered. */
const char *rpc_request_method(const rpc_request *req);
json_t *rpc_request_args(const rpc_request *req);    /* object */
json_t *rpc_request_context(const rpc_request *req); /* object */
bool rpc_request_wants_reply(const rpc_request *req);
/* When the caller gives up waiting for the answer, in sca_monotonic()
 * seconds, counted from the request's arrival: a call over AMQP carries
 * its timeout as the message's expiration (oslo.messaging clients set it
 * too), one over the unix socket as _expiration in its body.  0 when the
 * caller did not say (casts, older unix clients).  A handler that may wait
 * (for a lock) ends its wait in time to answer. */
double rpc_request_deadline(const rpc_request *req);
/* The caller's uid (unix socket, SO_PEERCRED); -ENOENT on AMQP. */
int rpc_request_peer_uid(const rpc_request *req, uid_t *uid);

/* Answers and frees req.  Each request is answered exactly once, now or
 * later from the same loop (e.g. after work on the thread pool); for a cast
 * the answer is discarded.  reply takes ownership of result (NULL = null).
 * A result whose reply would exceed max_message_size is replaced by a
 * ValueError failure saying so. */
void rpc_request_reply(rpc_request *req, json_t *result);
/* rpc_request_reply with the result given as JSON text (len bytes, one
 * valid JSON value in UTF-8: the caller vouches for it), written into the
 * reply as it is: for large results built without jansson.  Takes
 * ownership of text. */
void rpc_request_reply_text(rpc_request *req, char *text, size_t len);
void rpc_request_fail(rpc_request *req, const char *fail_class, const char *module, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

#endif
