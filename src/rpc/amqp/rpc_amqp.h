/*
 * rpc_amqp.h - the AMQP carrier's private state.  struct rpc_amqp has one
 * part per file, changed by that file only; the others go through its
 * functions, declared below with the part:
 *   rpc_amqp.c       the carrier operations: topology (declares exactly as
 *                    oslo), publishing, the queue of messages waiting for a
 *                    connection, replies; allocates and frees the state.
 *                    Its own fields are those at the end of struct rpc_amqp.
 *   rpc_amqp_dial.c  the blocking steps, run on the libuv thread pool (on
 *                    the loop's thread with dial_on_loop):
 *                    connect (TCP or TLS), log in, open the channel; hang up.
 *                    No state of the carrier's: a dial comes and goes.
 *   rpc_amqp_link.c  (amqp_link) the connection on the loop: dialing and
 *                    reconnecting with backoff, uv_poll on the socket,
 *                    heartbeat ticks; when the state may be freed.
 *   rpc_amqp_read.c  (amqp_reader) what comes in: frames read without
 *                    blocking while rabbitmq-c holds data, and routed to the
 *                    part they concern; messages assembled, acked in
 *                    batches and delivered to client and servers.
 *   rpc_amqp_write.c (amqp_writer) what goes out: frames encoded here and
 *                    written with one send() per message into a bounded
 *                    buffer (TCP), or through rabbitmq-c (TLS); heartbeats.
 *   rpc_amqp_probe.c (amqp_probe) passive declares on a channel of their
 *                    own: with require_listener, calls held until one says
 *                    that their queue has a consumer; and the consumer
 *                    counts rpc_count_listeners asks for.
 *   rpc_amqp_retry.c (amqp_retry) replies the broker returned (their queue
 *                    did not exist), published again for a while as oslo
 *                    does.
 */
#ifndef SCALPELS_RPC_AMQP_H
#define SCALPELS_RPC_AMQP_H

#include <amqp.h>
#include <stdatomic.h>
#include <stddef.h>

#include "rpc_transport.h"
#include "scalpels/util.h"

#define RPC_AMQP_CHANNEL 1
#define RPC_AMQP_PROBE_CHANNEL 2 /* passive declares, which close it on 404 */
#define RPC_AMQP_FRAME_MAX 131072
#define RPC_AMQP_BATCH 64              /* deliveries acked together, then handled */
#define RPC_AMQP_REPLY_TAG "reply"     /* consumer tag of the client's reply queue */
#define RPC_AMQP_WRITE_MAX (64u << 20) /* bytes waiting for the socket */

/* --- Messages to publish: made by rpc_amqp.c, held by the probe too ------- */

/* A message waiting to be published. */
typedef struct amqp_out {
    struct amqp_out *next;
    enum rpc_send_kind kind;
    bool is_reply;
    char *exchange; /* "" for replies */
    char *routing_key;
    char *msg_id;        /* calls: to fail the call if it is never sent */
    char expiration[16]; /* ms as text (calls); "" = none */
    bool checked;        /* require_listener: its queue has a consumer */
    /* Not a message but a question (rpc_count_listeners): how many consume
     * from routing_key; nothing is published. */
    rpc_count_cb count_cb;
    void *count_arg;
    char *body;
    size_t len;
} amqp_out;

/* A FIFO of messages, with their number and body bytes. */
typedef struct amqp_out_list {
    amqp_out *head, *tail;
    size_t count, bytes;
} amqp_out_list;

/* Per-server topology (rpc_amqp.c): the fanout queue and the three
 * consumer tags. */
typedef struct amqp_listener {
    char fanout_queue[300];
    char tags[3][32]; /* topic, topic.server, fanout */
} amqp_listener;

typedef struct rpc_amqp rpc_amqp;

/* --- rpc_amqp_dial.c ------------------------------------------------------- */

/* A dial, handed to the thread pool and back. */
typedef struct rpc_amqp_dial {
    const rpc_transport *t;       /* read only: URL and options do not change */
    size_t first;                 /* broker to try first; the others follow in turn */
    atomic_bool cancel;           /* set by the loop on close: try no further broker */
    double deadline;              /* sca_monotonic() after which no further broker is
                                     tried (a dial on the loop, which nothing cancels); 0 */
    amqp_connection_state_t conn; /* out: logged in, channel open; or NULL */
    size_t broker;                /* out: which broker answered */
    char error[512];              /* out: why every broker failed */
} rpc_amqp_dial;

/* Tries every broker once, in turn.  Blocking: thread pool, or the loop
 * with dial_on_loop. */
void rpc_amqp_dial_run(rpc_amqp_dial *d);
/* Writes pending (bytes we encoded but the socket had not taken), closes
 * the channel and the connection politely, all bounded by timeout seconds,
 * then frees conn.  Blocking: thread pool, or the loop with dial_on_loop. */
void rpc_amqp_dial_hangup(amqp_connection_state_t conn, const char *pending, size_t len,
                          double timeout);

/* --- rpc_amqp_link.c ------------------------------------------------------- */

enum amqp_link_state { LINK_DOWN, LINK_DIALING, LINK_OPEN };
typedef struct amqp_link {
    enum amqp_link_state state;
    /* Read-only for the reader and the writer, which hand it to rabbitmq-c:
     * the open connection, or NULL. */
    amqp_connection_state_t conn;
    uv_poll_t *poll; /* on conn's socket */
    int poll_events;
    uv_timer_t timer;       /* reconnect backoff while down, heartbeat ticks while open */
    size_t broker;          /* the broker in use, or to try first */
    rpc_amqp_dial *dialing; /* the dial on the thread pool, or NULL */
    unsigned attempt;       /* backoff steps since the link was last stable */
    uint64_t opened_at;     /* uv_now() when the link last opened */
    uint64_t seed;          /* of the backoff's jitter */
    char last_error[512];
    bool ever_open;    /* calls are queued only before the first connection */
    bool first_failed; /* ... and only until its first round of attempts fails */
    /* The carrier state's lifetime: freed once closing, with no handle or
     * job alive and no callback of ours on the stack. */
    bool closing;
    int busy;  /* handles and jobs still alive */
    int depth; /* callbacks of ours on the stack */
} amqp_link;

/* The carrier opens: dials the first broker. */
void rpc_amqp_link_start(rpc_amqp *a);
/* The carrier closes: hangs up politely; the state is freed once idle. */
void rpc_amqp_link_close(rpc_amqp *a);
/* The connection failed (why): dropped, and dialed again. */
void rpc_amqp_link_lost(rpc_amqp *a, const char *why);
/* Around a callback of ours that may close the transport: the state
 * outlives it. */
void rpc_amqp_link_enter(rpc_amqp *a);
void rpc_amqp_link_leave(rpc_amqp *a);
/* Watches for writability while messages wait (on) or not. */
void rpc_amqp_link_want_write(rpc_amqp *a, bool on);
bool rpc_amqp_link_is_open(const rpc_amqp *a);
bool rpc_amqp_link_closing(const rpc_amqp *a);
/* Before the first connection, while its first round of attempts has not
 * failed: calls may wait for it. */
bool rpc_amqp_link_first_dial_pending(const rpc_amqp *a);
/* The broker connected to, or to try first. */
const rpc_broker *rpc_amqp_link_broker(const rpc_amqp *a);
/* Why the last dial failed or the link was lost. */
const char *rpc_amqp_link_error(const rpc_amqp *a);

/* --- rpc_amqp_read.c ------------------------------------------------------- */

/* The message being assembled from deliver/return + header + body frames. */
typedef struct amqp_inbound {
    enum { IN_IDLE, IN_HEADER, IN_BODY } stage;
    bool is_return;
    bool returned_reply;   /* returned from the default exchange: one of our replies */
    char returned_to[256]; /* a returned message's routing key */
    bool reject;           /* for a consumer we no longer have: requeue it */
    bool needs_ack;
    uint64_t delivery_tag;
    char tag[64];
    char *content_type; /* "" when absent */
    double expiration;  /* seconds, from the expiration property; 0 = none */
    uint64_t size, got;
    char *body;     /* when size <= max_message_size */
    rpc_clip *clip; /* else: only its ends */
} amqp_inbound;

/* A complete delivery, waiting in the batch. */
typedef struct amqp_delivery {
    char tag[64];
    char *returned_to; /* a message the broker could not route: its routing key */
    bool returned_reply;
    char *content_type;
    double expiration;
    char *body;
    size_t len;
    uint64_t oversize; /* with clip: the refused body's size */
    rpc_clip *clip;
} amqp_delivery;

typedef struct amqp_reader {
    uv_idle_t kick;     /* drains what rabbitmq-c holds and the poll will not report */
    uint64_t last_read; /* loop time, ms, of the broker's last frame */
    amqp_inbound in;
    amqp_delivery batch[RPC_AMQP_BATCH];
    size_t n_batch;
    uint64_t ack_upto; /* the batch's highest delivery tag to ack */
} amqp_reader;

/* The link opened, or its socket is readable: reads the frames there are. */
void rpc_amqp_read_ready(rpc_amqp *a);
/* Reads what rabbitmq-c can give without waiting (over TLS it also sends
 * and checks heartbeats while doing so). */
void rpc_amqp_read_drain(rpc_amqp *a);
/* rabbitmq-c may hold frames the poll will not report again (read during a
 * TLS publish, or left by the per-event budget): drain them from the loop,
 * not from inside the caller. */
void rpc_amqp_read_kick(rpc_amqp *a);
/* Loop time, ms, of the broker's last frame. */
uint64_t rpc_amqp_read_last(const rpc_amqp *a);
/* The link is dropped: a message half read and acks not sent are forgotten. */
void rpc_amqp_read_stop(rpc_amqp *a);
/* The carrier opens, or closes (closed is called when the handle is). */
void rpc_amqp_read_init(rpc_amqp *a);
void rpc_amqp_read_close(rpc_amqp *a, uv_close_cb closed);
/* "PRECONDITION_FAILED - inequivalent arg ..." style text of a server
 * close method (connection.close or channel.close); "" otherwise. */
void rpc_amqp_read_close_reason(const amqp_method_t *m, char *out, size_t n);

/* --- rpc_amqp_write.c ------------------------------------------------------ */

typedef struct amqp_writer {
    /* rabbitmq-c writes, and keeps the heartbeat: over TLS, or when it
     * could not be re-tuned. */
    bool library_writes;
    sca_buf wbuf;        /* encoded frames not yet taken by the socket */
    size_t wpos;         /* how much of wbuf was written */
    int heartbeat;       /* negotiated, seconds; ours to send over TCP */
    uint64_t last_write; /* loop time, ms */
} amqp_writer;

/* Each returns 0, -EIO when the link was lost meanwhile, -ENOBUFS when too
 * much waits for the socket, -EINVAL/-ENOMEM when the message cannot be
 * encoded (nothing was sent). */
int rpc_amqp_write_method(rpc_amqp *a, amqp_method_number_t id, void *decoded);
int rpc_amqp_write_method_on(rpc_amqp *a, uint16_t channel, amqp_method_number_t id, void *decoded);
int rpc_amqp_write_publish(rpc_amqp *a, const char *exchange, const char *routing_key,
                           bool mandatory, amqp_basic_properties_t *p, const char *body,
                           size_t len);
/* The link opened: returns the heartbeat the broker agreed to, in seconds
 * (0: none). */
int rpc_amqp_write_start(rpc_amqp *a);
/* The socket is writable. */
void rpc_amqp_write_ready(rpc_amqp *a);
/* Bytes encoded that the socket has not taken yet. */
size_t rpc_amqp_write_pending(const rpc_amqp *a);
/* The link is dropped: what the socket had not taken is appended to unsent
 * (when not NULL, for the hang-up to write first), and forgotten. */
void rpc_amqp_write_stop(rpc_amqp *a, sca_buf *unsent);
/* A tick of the link's timer: heartbeats sent, and the broker's checked. */
int rpc_amqp_write_heartbeat(rpc_amqp *a);

/* --- rpc_amqp_probe.c ------------------------------------------------------ */

typedef struct amqp_probe {
    amqp_out_list held; /* calls and questions waiting for their queue's check */
    size_t asked;       /* of those, how many were asked about */
    bool channel_open;  /* the probe channel takes declares */
    bool opening;       /* channel.open sent, its -ok not yet read */
} amqp_probe;

/* Whether m must wait for its queue to be checked first: a call with
 * require_listener, or a question of rpc_count_listeners. */
bool rpc_amqp_probe_wanted(const rpc_amqp *a, const amqp_out *m);
/* The answer to a question (m->count_cb), and m freed. */
void rpc_amqp_probe_tell(amqp_out *m, int status, unsigned count, const char *detail);
/* Holds the call or question m (takes ownership) and asks about its queue;
 * the probe channel is opened first when the connection has none. */
void rpc_amqp_probe_hold(rpc_amqp *a, amqp_out *m);
/* How many calls are held. */
size_t rpc_amqp_probe_held(const rpc_amqp *a);
/* A method the broker sent on the probe channel. */
void rpc_amqp_probe_method(rpc_amqp *a, const amqp_method_t *m);
/* The connection opened (with the probe channel): ask about held calls. */
void rpc_amqp_probe_on_open(rpc_amqp *a);
/* The connection is gone or closing: held calls fail with status. */
void rpc_amqp_probe_fail(rpc_amqp *a, int status, const char *why);

/* --- rpc_amqp_retry.c ------------------------------------------------------ */

/* A reply the broker returns (its caller's queue does not exist, as while
 * the caller declares it again after a broker restart) is published again
 * every RPC_AMQP_RETRY_MS for RPC_AMQP_RETRY_FOR_MS, as oslo does
 * (kombu_missing_consumer_retry_timeout). */
#define RPC_AMQP_RETRY_MS 250
#define RPC_AMQP_RETRY_FOR_MS 60000
#define RPC_AMQP_RETRY_BYTES (16u << 20) /* replies held at most */
typedef struct amqp_retry {
    struct returned_reply *replies; /* to publish again */
    size_t bytes;                   /* their bodies' */
    uv_timer_t timer;               /* runs while replies are held */
} amqp_retry;

/* The carrier opens: the timer. */
void rpc_amqp_retry_init(rpc_amqp *a);
/* Takes ownership of body. */
void rpc_amqp_retry_returned(rpc_amqp *a, const char *reply_q, char *body, size_t len);
/* The link is lost: what was published again may be lost with it. */
void rpc_amqp_retry_on_lost(rpc_amqp *a);
/* Drops what is held (counted in the close warning); closes the timer. */
size_t rpc_amqp_retry_close(rpc_amqp *a, uv_close_cb closed);

/* --- rpc_amqp.c ------------------------------------------------------------ */

struct rpc_amqp {
    rpc_transport *t; /* set at open, then read only */
    amqp_link link;
    amqp_reader reader;
    amqp_writer writer;
    amqp_probe probe;
    amqp_retry retry;
    /* rpc_amqp.c's own.  The reader hands origin's address to the servers
     * with their requests: it answers them (replies to "" / _reply_q). */
    rpc_origin origin;
    char **declared; /* exchanges declared on this connection */
    size_t n_declared;
    unsigned outstanding; /* declares and consumes not yet confirmed */
    char **unconfirmed;   /* calls published behind unconfirmed declares */
    size_t n_unconfirmed;
    char reply_q[48];  /* "" until the first call */
    bool blocked;      /* connection.blocked from the broker */
    amqp_out_list out; /* waiting for a connection, or for the broker to unblock */
    int dropped;
    char dropped_why[600];
};

/* The carrier's operations are rpc_amqp_carrier (rpc_transport.h); these
 * serve the other parts. */
/* Frees the state and its transport: the link calls it once closing and idle. */
void rpc_amqp_destroy(rpc_amqp *a);
/* The -ok of a declare, bind, delete, consume or cancel of ours. */
void rpc_amqp_confirmed(rpc_amqp *a);
/* connection.blocked or connection.unblocked from the broker. */
void rpc_amqp_on_blocked(rpc_amqp *a, const amqp_method_t *m);
/* The broker closed the channel or connection on a method of ours: the
 * calls published behind unconfirmed declares were discarded with it, and
 * fail now with why. */
void rpc_amqp_calls_refused(rpc_amqp *a, const char *why);
/* The connection is open: declare everything, flush the queue. */
void rpc_amqp_on_open(rpc_amqp *a);
/* The connection is gone: forget what was declared on it; queued calls and
 * casts fail with why. */
void rpc_amqp_on_lost(rpc_amqp *a, const char *why);
/* The first round of attempts failed: queued calls and casts fail. */
void rpc_amqp_fail_queued(rpc_amqp *a, const char *why);
void rpc_amqp_drop_queue(rpc_amqp *a);
/* A call whose queue was found to have a consumer: published now, or
 * queued behind what waits; fails the call if neither can be done, and
 * drops it if it timed out meanwhile.  Takes ownership of m. */
void rpc_amqp_send_checked(rpc_amqp *a, amqp_out *m);
/* Publishes a reply to reply_q (takes ownership of body), or queues it
 * for the next connection. */
void rpc_amqp_send_reply(rpc_amqp *a, const char *reply_q, char *body, size_t len);
void rpc_amqp_out_free(amqp_out *m);
void rpc_amqp_list_push(amqp_out_list *l, amqp_out *m);
amqp_out *rpc_amqp_list_pop(amqp_out_list *l); /* the oldest; the list is not empty */
/* The listener whose consumer tag this is, or NULL. */
rpc_server *rpc_amqp_server_for_tag(rpc_amqp *a, const char *tag);

#endif
