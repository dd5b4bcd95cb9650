/* rpc_amqp_probe.c - passive queue.declares: the listener check of
 * rpc_options.require_listener, and rpc_count_listeners.
 *
 * A call to a server that has stopped would wait in its queue until the
 * call's timeout, as oslo's do: the queue outlives its consumer.  An
 * operator at a terminal wants to hear at once that nobody listens, so
 * each such call is held while a passive queue.declare of its queue asks
 * the broker how many consumers it has.  A question of
 * rpc_count_listeners is held the same way and told the count.  The
 * declares go out on a channel of their own (RPC_AMQP_PROBE_CHANNEL),
 * because the broker answers a passive declare of a missing queue by
 * closing the channel (404); the channel is then opened again for what is
 * still held.  It is opened at connection time with require_listener,
 * else when first needed.  The broker answers a channel's methods in
 * order, so the oldest held message that was asked about owns each
 * answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_amqp.h"
#include "scalpels/log.h"

#define REPLY_NOT_FOUND 404

bool rpc_amqp_probe_wanted(const rpc_amqp *a, const amqp_out *m)
{
    return m->count_cb != NULL ||
           (a->t->require_listener && m->kind == RPC_SEND_CALL && !m->checked);
}

void rpc_amqp_probe_tell(amqp_out *m, int status, unsigned count, const char *detail)
{
    m->count_cb(status, count, detail, m->count_arg);
    rpc_amqp_out_free(m);
}

/* What is held fails with status: a call through the client, a question
 * through its callback. */
static void fail_held(rpc_amqp *a, amqp_out *m, int status, const char *why)
{
    if (m->count_cb != NULL) {
        rpc_amqp_probe_tell(m, status, 0, why);
        return;
    }
    rpc_client_fail(a->t, m->msg_id, status, why);
    rpc_amqp_out_free(m);
}

static void open_channel(rpc_amqp *a)
{
    amqp_channel_open_t open = {0};
    if (rpc_amqp_write_method_on(a, RPC_AMQP_PROBE_CHANNEL, AMQP_CHANNEL_OPEN_METHOD, &open) == 0)
        a->probe.opening = true;
}

static void ask(rpc_amqp *a, const amqp_out *m)
{
    amqp_queue_declare_t d = {
        .queue = amqp_cstring_bytes(m->routing_key),
        .passive = 1,
        .arguments = amqp_empty_table,
    };
    if (rpc_amqp_write_method_on(a, RPC_AMQP_PROBE_CHANNEL, AMQP_QUEUE_DECLARE_METHOD, &d) == 0)
        a->probe.asked++;
}

/* Asks about every held call not asked about yet, while the channel takes
 * declares and the link stays open (a failed send drops it). */
static void ask_the_rest(rpc_amqp *a)
{
    if (!a->probe.channel_open && !a->probe.opening && a->probe.held.head != NULL &&
        rpc_amqp_link_is_open(a))
        open_channel(a);
    const amqp_out *m = a->probe.held.head;
    for (size_t i = 0; i < a->probe.asked && m != NULL; i++)
        m = m->next;
    for (; m != NULL && a->probe.channel_open && rpc_amqp_link_is_open(a); m = m->next) {
        size_t before = a->probe.asked;
        ask(a, m);
        if (a->probe.asked == before)
            break;
    }
}

void rpc_amqp_probe_hold(rpc_amqp *a, amqp_out *m)
{
    rpc_amqp_list_push(&a->probe.held, m);
    ask_the_rest(a);
}

static amqp_out *take_head(rpc_amqp *a)
{
    if (a->probe.asked > 0)
        a->probe.asked--;
    return rpc_amqp_list_pop(&a->probe.held);
}

static void answered(rpc_amqp *a, const amqp_queue_declare_ok_t *ok)
{
    if (a->probe.held.head == NULL || a->probe.asked == 0) {
        log_debug("rpc: queue.declare-ok with no call held");
        return;
    }
    amqp_out *m = take_head(a);
    if (m->count_cb != NULL) {
        rpc_amqp_probe_tell(m, 0, ok->consumer_count, NULL);
        return;
    }
    if (ok->consumer_count > 0) {
        rpc_amqp_send_checked(a, m);
        return;
    }
    char *detail =
        sca_asprintf("queue %s has no consumer: no server listens there now", m->routing_key);
    rpc_client_fail(a->t, m->msg_id, -EHOSTDOWN, detail);
    free(detail);
    rpc_amqp_out_free(m);
}

/* The broker closed the channel on the oldest question: 404 means the
 * queue does not exist, anything else that the check itself failed. */
static void refused(rpc_amqp *a, const amqp_method_t *method)
{
    const amqp_channel_close_t *c = method->decoded;
    amqp_channel_close_ok_t ok = {0};
    a->probe.channel_open = false;
    if (rpc_amqp_write_method_on(a, RPC_AMQP_PROBE_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != 0)
        return; /* the link is lost: rpc_amqp_on_lost fails what is held */
    open_channel(a);
    if (!a->probe.opening)
        return;
    if (a->probe.held.head == NULL || a->probe.asked == 0)
        return;
    amqp_out *m = take_head(a);
    a->probe.asked = 0; /* the closed channel dropped the other questions */
    if (c->reply_code != REPLY_NOT_FOUND) {
        char reason[400];
        rpc_amqp_read_close_reason(method, reason, sizeof(reason));
        char *detail =
            sca_asprintf("cannot check queue %s: broker said %s", m->routing_key, reason);
        fail_held(a, m, -EPROTO, detail);
        free(detail);
    } else if (m->count_cb != NULL) {
        rpc_amqp_probe_tell(m, 0, 0, NULL); /* no queue: nobody listens */
    } else {
        rpc_client_unroutable(a->t, m->msg_id, m->routing_key);
        rpc_amqp_out_free(m);
    }
}

void rpc_amqp_probe_method(rpc_amqp *a, const amqp_method_t *m)
{
    switch (m->id) {
    case AMQP_QUEUE_DECLARE_OK_METHOD:
        answered(a, m->decoded);
        break;
    case AMQP_CHANNEL_CLOSE_METHOD:
        refused(a, m);
        break;
    case AMQP_CHANNEL_OPEN_OK_METHOD:
        a->probe.channel_open = true;
        a->probe.opening = false;
        ask_the_rest(a);
        break;
    default:
        log_debug("rpc: ignoring AMQP method 0x%08x on the probe channel", m->id);
        break;
    }
}

void rpc_amqp_probe_on_open(rpc_amqp *a)
{
    a->probe.channel_open = a->t->require_listener;
    a->probe.opening = false;
    a->probe.asked = 0;
    ask_the_rest(a);
}

size_t rpc_amqp_probe_held(const rpc_amqp *a)
{
    return a->probe.held.count;
}

void rpc_amqp_probe_fail(rpc_amqp *a, int status, const char *why)
{
    a->probe.channel_open = false;
    a->probe.opening = false;
    a->probe.asked = 0;
    while (a->probe.held.head != NULL)
        fail_held(a, take_head(a), status, why);
}
