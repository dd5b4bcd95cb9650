/*
 * rpc_transport.h - what the carrier-neutral RPC code (rpc_client.c,
 * rpc_server.c) and the carriers (rpc_amqp*.c, rpc_unix.c) share.  Private
 * to src/rpc/ and src/rpc/amqp/.
 *
 * A carrier moves envelope bodies; the client and the server encode,
 * decode, correlate and dispatch them.  Inbound requests reach
 * rpc_server_receive() with an rpc_origin that knows how to answer them;
 * inbound replies reach rpc_client_receive().
 */
#ifndef SCALPELS_RPC_TRANSPORT_H
#define SCALPELS_RPC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpc_frame.h"
#include "rpc_url.h"
#include "scalpels/log.h"
#include "scalpels/rpc.h"

#define RPC_MAX_PENDING 16384 /* calls waiting for a reply, per transport */
#define RPC_DEDUP_SIZE 64     /* recent _unique_ids remembered per server */
/* Longer timeouts count as this: in ms it still fits an int (poll) and an
 * AMQP expiration. */
#define RPC_TIMEOUT_MAX (7 * 86400.0)

typedef struct rpc_origin rpc_origin;

/* Where a request came from, and how to answer it. */
typedef struct rpc_origin_ops {
    /* Sends a reply body towards reply_q (AMQP) or back on the connection
     * (unix).  Takes ownership of body. */
    void (*send)(rpc_origin *o, const char *reply_q, char *body, size_t len);
    /* Reference counting, for requests answered later. */
    void (*hold)(rpc_origin *o);
    void (*release)(rpc_origin *o);
    int (*peer_uid)(const rpc_origin *o, uid_t *uid);
    bool needs_reply_q; /* a call without _reply_q cannot be answered */
} rpc_origin_ops;

struct rpc_origin {
    const rpc_origin_ops *ops;
};

enum rpc_send_kind { RPC_SEND_CALL, RPC_SEND_CAST, RPC_SEND_FANOUT };

typedef struct rpc_carrier {
    const char *name;
    int (*open)(rpc_transport *t, const rpc_url *url, sca_error *err);
    /* Starts closing; calls rpc_transport_destroy(t) once nothing of it is
     * left on the loop. */
    void (*close)(rpc_transport *t);
    /* The _reply_q to put in calls, or NULL.  The carrier makes sure it is
     * declared and consumed before any call it sends afterwards. */
    const char *(*reply_queue)(rpc_transport *t);
    /* Sends a request body (ownership passes, also on error).  msg_id is set
     * for calls, so that a call queued and lost later can be failed. */
    int (*send)(rpc_transport *t, const rpc_target *target, enum rpc_send_kind kind, double timeout,
                const char *msg_id, char *body, size_t len, sca_error *err);
    int (*listen)(rpc_transport *t, rpc_server *s, sca_error *err);
    void (*unlisten)(rpc_transport *t, rpc_server *s);
    /* Whether replies still reach callers after unlisten (AMQP: they go
     * through the connection, not the consumers), so that a stopping
     * server may stop listening before its last answers. */
    bool unlisten_keeps_replies;
    /* rpc_count_listeners for target (checked), the queue name made. */
    int (*count_listeners)(rpc_transport *t, const rpc_target *target, rpc_count_cb cb, void *arg,
                           sca_error *err);
    /* No message properties (unix): a call's timeout travels in its body,
     * as _expiration in ms, where AMQP has the expiration property. */
    bool expiration_in_body;
    /* > 0: requests accepted by send and not yet written to the socket;
     * 0: all out; < 0: some were dropped because the connection failed
     * (err says why; reported once). */
    int (*unsent)(rpc_transport *t, sca_error *err);
} rpc_carrier;

struct rpc_transport {
    uv_loop_t *loop;
    const rpc_carrier *carrier;
    void *impl; /* the carrier's state */
    rpc_url url;
    char *exchange;
    size_t max_message_size;
    int heartbeat;
    bool durable_queues; /* topic exchange, T and T.S durable */
    bool quorum_queues;  /* T and T.S quorum queues */
    bool require_listener;
    bool dial_on_loop;
    double connect_timeout;
    double reconnect_max;
    double idle_timeout;
    char *ssl_ca_file;
    char *ssl_cert_file;
    char *ssl_key_file;
    bool ssl_verify;
    char *program;
    rpc_state_cb state_cb;
    void *state_arg;
    bool up;
    bool closing;
    struct rpc_pending_table *pending; /* rpc_client.c */
    rpc_server *servers;               /* listening, newest first */
    unsigned next_server_id;
};

struct rpc_server {
    rpc_transport *t;
    unsigned id;
    char *topic;
    char *server; /* NULL: no topic.server queue */
    const rpc_endpoint *endpoints;
    size_t n_endpoints;
    void *impl; /* the carrier's per-server state */
    rpc_server *next;
    rpc_request *requests; /* being handled, to orphan on free */
    bool listening;        /* until unlisten */
    uv_timer_t *drain;     /* rpc_server_stop's: polls requests, NULL when none */
    uint64_t drain_end;    /* loop time, ms */
    rpc_server_stopped_cb stopped;
    void *stopped_arg;
    char *seen[RPC_DEDUP_SIZE];
    size_t seen_next;
    double warn_window;
    unsigned warn_count;
    unsigned warn_suppressed;
};

extern const rpc_carrier rpc_amqp_carrier;
extern const rpc_carrier rpc_unix_carrier;

/* rpc_transport.c */
/* The seconds of an AMQP expiration property (milliseconds as decimal
 * text, not NUL-terminated); 0 when it is not that. */
double rpc_expiration_parse(const char *text, size_t len);
/* Records a state change, logs it at level (a client's routine connect is
 * debug, a server's loss a warning) and tells the state callback. */
void rpc_transport_set_up(rpc_transport *t, bool up, enum log_level level, const char *detail);
/* The level for routine news: info in a server, debug in a plain client. */
enum log_level rpc_transport_routine_level(const rpc_transport *t);
void rpc_transport_destroy(rpc_transport *t);

/* rpc_client.c */
void rpc_client_init(rpc_transport *t);
/* A reply body from the carrier. */
void rpc_client_receive(rpc_transport *t, const char *body, size_t len);
/* A message the broker returned as unroutable: a call in it fails now. */
void rpc_client_returned(rpc_transport *t, const char *routing_key, const char *body, size_t len);
/* A reply body over max_message_size, of which only clip was kept: the
 * call it answers (if its _msg_id is in the clip) fails now. */
void rpc_client_refuse(rpc_transport *t, uint64_t len, const rpc_clip *clip);
/* The call msg_id went to routing_key, which no queue takes. */
void rpc_client_unroutable(rpc_transport *t, const char *msg_id, const char *routing_key);
/* Whether the call msg_id still waits for its reply. */
bool rpc_client_waits_for(rpc_transport *t, const char *msg_id);
/* The call msg_id could not be sent after all. */
void rpc_client_fail(rpc_transport *t, const char *msg_id, int status, const char *detail);
/* Whether a reply may still arrive: a call is pending, or one timed out or
 * was cancelled. */
bool rpc_client_replies_may_come(const rpc_transport *t);
/* Every pending call fails (its connection is gone, or the transport). */
void rpc_client_fail_all(rpc_transport *t, int status, const char *detail);
void rpc_client_free(rpc_transport *t);

/* rpc_server.c */
/* A request body from the carrier.  content_type is NULL when the carrier
 * has none (unix), else what the message said ("" when absent).
 * expiration: the seconds the caller waits for the answer, counted from
 * now, when the carrier knows them (AMQP's expiration property, see
 * rpc_expiration_parse), else 0 (the body's _expiration then counts). */
void rpc_server_receive(rpc_server *s, rpc_origin *o, const char *content_type, double expiration,
                        const char *body, size_t len);
/* A body over max_message_size, of which only clip was kept. */
void rpc_server_refuse(rpc_server *s, rpc_origin *o, uint64_t len, const rpc_clip *clip);
/* Answers a request that is not dispatched with fault (msg_id and reply_q
 * as found in it, NULL when not); a cast is logged, rate-limited, and
 * dropped. */
void rpc_server_answer_fault(rpc_server *s, rpc_origin *o, const char *msg_id, const char *reply_q,
                             const rpc_fault *fault);

#endif
