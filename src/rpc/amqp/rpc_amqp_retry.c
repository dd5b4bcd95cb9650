/* rpc_amqp_retry.c - replies the broker returned, published again while
 * their caller's queue may still appear (see rpc_amqp.h).
 *
 * A reply is published mandatory; when no queue of that name exists the
 * broker returns it.  oslo's server then tries again every 0.25 s for 60 s,
 * which is what lets a caller survive its reply queue being declared again
 * (after a broker restart or failover): we do the same.  Without publisher
 * confirms, success is the absence of a return: a reply published again
 * and not returned within RETRY_SETTLE_MS is taken as delivered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_amqp.h"
#include "rpc_envelope.h"
#include "scalpels/log.h"

#define RETRY_SETTLE_MS 2000

/* A reply the broker returned. */
typedef struct returned_reply {
    struct returned_reply *next;
    char *reply_q;
    char msg_id[RPC_ID_MAX + 1]; /* with reply_q, what tells replies apart */
    char *body;
    size_t len;
    uint64_t first; /* loop time of the first return */
    uint64_t due;   /* when to publish again; 0 once published */
    uint64_t sent;  /* when last published */
} returned_reply;

static void reply_free(amqp_retry *q, returned_reply *r)
{
    q->bytes -= r->len;
    free(r->reply_q);
    free(r->body);
    free(r);
}

static returned_reply *reply_find(const amqp_retry *q, const char *reply_q, const char *msg_id)
{
    for (returned_reply *r = q->replies; r != NULL; r = r->next) {
        if (strcmp(r->reply_q, reply_q) == 0 && strcmp(r->msg_id, msg_id) == 0)
            return r;
    }
    return NULL;
}

/* Publishes what is due, forgets what settled or expired; stops the timer
 * when nothing is left. */
static void on_retry_tick(uv_timer_t *timer)
{
    rpc_amqp *a = timer->data;
    uint64_t now = uv_now(timer->loop);
    rpc_amqp_link_enter(a);
    for (returned_reply **pp = &a->retry.replies; *pp != NULL;) {
        returned_reply *r = *pp;
        bool expired = r->due != 0 && now - r->first >= RPC_AMQP_RETRY_FOR_MS;
        bool settled = r->due == 0 && now - r->sent >= RETRY_SETTLE_MS;
        if (expired)
            log_warning("rpc: reply to %s dropped: no queue of that name for %ds", r->reply_q,
                        RPC_AMQP_RETRY_FOR_MS / 1000);
        if (expired || settled) {
            *pp = r->next;
            reply_free(&a->retry, r);
            continue;
        }
        /* While the link is down a reply would only queue: wait for it. */
        if (r->due != 0 && now >= r->due && rpc_amqp_link_is_open(a)) {
            r->due = 0;
            r->sent = now;
            char *copy = sca_malloc(r->len);
            memcpy(copy, r->body, r->len);
            rpc_amqp_send_reply(a, r->reply_q, copy, r->len);
            /* A failed write may have closed the transport, list and all. */
            if (rpc_amqp_link_closing(a))
                break;
        }
        pp = &r->next;
    }
    if (!rpc_amqp_link_closing(a) && a->retry.replies == NULL)
        uv_timer_stop(timer);
    rpc_amqp_link_leave(a);
}

void rpc_amqp_retry_init(rpc_amqp *a)
{
    uv_timer_init(a->t->loop, &a->retry.timer);
    a->retry.timer.data = a;
}

/* The reply's _msg_id (which, with its queue, tells held replies apart),
 * and whether it is a call-monitor heartbeat (no result, not the end):
 * worth nothing late, and it must not take the place of the answer held
 * under the same _msg_id.  A body too broken to decode is only sniffed. */
static bool reply_key(const char *body, size_t len, char msg_id[RPC_ID_MAX + 1])
{
    json_t *inner = NULL;
    rpc_reply_fields f;
    bool beat = false;
    msg_id[0] = '\0';
    if (rpc_envelope_decode(body, len, &inner, NULL) == 0 &&
        rpc_envelope_reply_fields(inner, &f) == 0) {
        snprintf(msg_id, RPC_ID_MAX + 1, "%s", f.msg_id);
        beat = rpc_reply_is_heartbeat(&f);
    } else {
        char unused[RPC_ID_MAX + 1] = "";
        rpc_envelope_sniff(body, len, msg_id, unused);
    }
    json_decref(inner);
    return beat;
}

void rpc_amqp_retry_returned(rpc_amqp *a, const char *reply_q, char *body, size_t len)
{
    char msg_id[RPC_ID_MAX + 1];
    if (rpc_amqp_link_closing(a) || reply_key(body, len, msg_id)) {
        free(body);
        return;
    }
    uint64_t now = uv_now(a->t->loop);
    returned_reply *r = reply_find(&a->retry, reply_q, msg_id);
    if (r == NULL && a->retry.bytes + len > RPC_AMQP_RETRY_BYTES) {
        log_warning("rpc: reply to %s dropped: no queue of that name, and %u bytes of replies "
                    "already wait for theirs",
                    reply_q, RPC_AMQP_RETRY_BYTES);
        free(body);
        return;
    }
    if (r == NULL) {
        log_debug("rpc: reply to %s returned (no such queue yet): publishing it again", reply_q);
        r = sca_calloc(1, sizeof(*r));
        r->reply_q = sca_strdup(reply_q);
        snprintf(r->msg_id, sizeof(r->msg_id), "%s", msg_id);
        r->first = now;
        r->next = a->retry.replies;
        a->retry.replies = r;
    } else {
        a->retry.bytes -= r->len;
        free(r->body);
    }
    r->body = body;
    r->len = len;
    a->retry.bytes += len;
    r->due = now + RPC_AMQP_RETRY_MS;
    if (!uv_is_active((uv_handle_t *)&a->retry.timer))
        uv_timer_start(&a->retry.timer, on_retry_tick, RPC_AMQP_RETRY_MS / 2,
                       RPC_AMQP_RETRY_MS / 2);
}

void rpc_amqp_retry_on_lost(rpc_amqp *a)
{
    /* What was published again may have been lost with the link, unsent or
     * unreturned: publish it again once the link is back (the 60 s still
     * count from its first return). */
    uint64_t now = uv_now(a->t->loop);
    for (returned_reply *r = a->retry.replies; r != NULL; r = r->next) {
        if (r->due == 0)
            r->due = now;
    }
}

size_t rpc_amqp_retry_close(rpc_amqp *a, uv_close_cb closed)
{
    size_t dropped = 0;
    while (a->retry.replies != NULL) {
        returned_reply *r = a->retry.replies;
        a->retry.replies = r->next;
        dropped += r->due != 0;
        reply_free(&a->retry, r);
    }
    uv_close((uv_handle_t *)&a->retry.timer, closed);
    return dropped;
}
