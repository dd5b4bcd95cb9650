/* rpc_amqp_link.c - the AMQP connection on the loop thread (see rpc_amqp.h).
 *
 * Connecting and logging in block, so they run on the thread pool
 * (rpc_amqp_dial.c), or on the loop itself for a client that asked for it
 * (dial_on_loop); the open connection comes back here and is driven
 * without ever blocking: uv_poll on its socket hands readable events to
 * rpc_amqp_read.c and writable ones to rpc_amqp_write.c, and a timer ticks
 * for the writer's heartbeats.  On any failure the link is dropped and
 * dialed again with capped exponential backoff and jitter; rpc_amqp.c then
 * declares everything again. */
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

/* --- Lifetime: the state is freed when closing, idle and unreferenced ------ */

static void maybe_free(rpc_amqp *a)
{
    if (!a->link.closing || a->link.busy > 0 || a->link.depth > 0)
        return;
    rpc_amqp_destroy(a);
}

void rpc_amqp_link_enter(rpc_amqp *a)
{
    a->link.depth++;
}

void rpc_amqp_link_leave(rpc_amqp *a)
{
    a->link.depth--;
    maybe_free(a);
}

static void busy_done(rpc_amqp *a)
{
    a->link.busy--;
    maybe_free(a);
}

/* For the handles that live in a: the link's timer, the reader's idle
 * handle and the retry timer. */
static void handle_closed(uv_handle_t *h)
{
    busy_done(h->data);
}

static void poll_closed(uv_handle_t *h)
{
    rpc_amqp *a = h->data;
    free(h);
    busy_done(a);
}

/* --- What the others ask -------------------------------------------------- */

bool rpc_amqp_link_is_open(const rpc_amqp *a)
{
    return a->link.state == LINK_OPEN;
}

bool rpc_amqp_link_closing(const rpc_amqp *a)
{
    return a->link.closing;
}

bool rpc_amqp_link_first_dial_pending(const rpc_amqp *a)
{
    return !a->link.ever_open && !a->link.first_failed;
}

const rpc_broker *rpc_amqp_link_broker(const rpc_amqp *a)
{
    return &a->t->url.brokers[a->link.broker];
}

const char *rpc_amqp_link_error(const rpc_amqp *a)
{
    return a->link.last_error;
}

static const char *where(const rpc_amqp *a)
{
    static char buf[300];
    const rpc_broker *b = rpc_amqp_link_broker(a);
    snprintf(buf, sizeof(buf), "%s:%d", b->host, b->port);
    return buf;
}

/* --- Hanging up off the loop ----------------------------------------------- */

static void hangup_work(uv_work_t *w)
{
    hangup_job *j = w->data;
    rpc_amqp_dial_hangup(j->conn, j->pending.data, j->pending.len, HANGUP_TIMEOUT);
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

/* Takes the bytes in pending (possibly NULL) along, to be written first. */
static void hangup_async(rpc_amqp *a, amqp_connection_state_t conn, sca_buf *pending)
{
    if (a->t->dial_on_loop) {
        rpc_amqp_dial_hangup(conn, pending != NULL ? pending->data : NULL,
                             pending != NULL ? pending->len : 0, HANGUP_TIMEOUT);
        uv_update_time(a->t->loop);
        if (pending != NULL)
            sca_buf_free(pending);
        return;
    }
    hangup_job *j = sca_calloc(1, sizeof(*j));
    j->a = a;
    j->conn = conn;
    if (pending != NULL) {
        j->pending = *pending;
        *pending = (sca_buf){0};
    }
    j->work.data = j;
    a->link.busy++;
    if (uv_queue_work(a->t->loop, &j->work, hangup_work, hangup_after) != 0) {
        amqp_destroy_connection(conn);
        sca_buf_free(&j->pending);
        free(j);
        a->link.busy--;
    }
}

/* --- Dialing and backoff --------------------------------------------------- */

static double jitter(rpc_amqp *a)
{
    /* xorshift64: spreads the retries of many agents after a broker restart. */
    a->link.seed ^= a->link.seed << 13;
    a->link.seed ^= a->link.seed >> 7;
    a->link.seed ^= a->link.seed << 17;
    return 0.5 + 0.5 * (double)(a->link.seed >> 11) / (double)(1ULL << 53);
}

static double next_delay(rpc_amqp *a)
{
    double d = BACKOFF_FIRST * pow(2, a->link.attempt < 30 ? a->link.attempt : 30);
    if (d > a->t->reconnect_max)
        d = a->t->reconnect_max;
    a->link.attempt++;
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
    rpc_amqp_link_enter(a);
    a->link.dialing = NULL;
    if (a->link.closing && j->d.conn != NULL)
        hangup_async(a, j->d.conn, NULL);
    else if (!a->link.closing && j->d.conn != NULL)
        link_open(a, j->d.conn, j->d.broker);
    else if (!a->link.closing)
        dial_failed(a, j->d.error);
    free(j);
    a->link.busy--;
    rpc_amqp_link_leave(a);
}

static void start_dial(rpc_amqp *a)
{
    dial_job *j = sca_calloc(1, sizeof(*j));
    j->a = a;
    j->d.t = a->t;
    j->d.first = a->link.broker;
    atomic_init(&j->d.cancel, false);
    j->work.data = j;
    a->link.state = LINK_DIALING;
    a->link.busy++;
    a->link.dialing = &j->d;
    if (a->t->dial_on_loop) {
        /* Nothing can cancel it: the brokers after one that took the whole
         * connect timeout (the caller's) are not tried. */
        j->d.deadline = sca_monotonic() + a->t->connect_timeout;
        dial_work(&j->work);
        /* The loop's clock stood still meanwhile: timers started now (the
         * backoff) count from the real now. */
        uv_update_time(a->t->loop);
        dial_after(&j->work, 0);
        return;
    }
    int rc = uv_queue_work(a->t->loop, &j->work, dial_work, dial_after);
    if (rc != 0) {
        a->link.dialing = NULL;
        free(j);
        a->link.busy--;
        dial_failed(a, uv_strerror(rc));
    }
}

static void on_dial_timer(uv_timer_t *timer)
{
    start_dial(timer->data);
}

static void schedule_dial(rpc_amqp *a, double delay)
{
    a->link.state = LINK_DOWN;
    uv_timer_stop(&a->link.timer);
    uv_timer_start(&a->link.timer, on_dial_timer, (uint64_t)(delay * 1000), 0);
}

static void dial_failed(rpc_amqp *a, const char *error)
{
    snprintf(a->link.last_error, sizeof(a->link.last_error), "%s", error);
    double delay = next_delay(a);
    /* A plain client reports the failure through its calls instead. */
    bool loud =
        (a->link.attempt == 1 || a->link.attempt % WARN_EVERY == 0) && a->t->servers != NULL;
    log_msg(loud ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG,
            "rpc: cannot connect to %s: %s; retrying in %.1fs", a->t->url.describe, error, delay);
    if (rpc_amqp_link_first_dial_pending(a)) {
        a->link.first_failed = true;
        char why[700];
        snprintf(why, sizeof(why), "cannot connect to %s: %s", a->t->url.describe, error);
        rpc_amqp_fail_queued(a, why);
    }
    if (!a->link.closing)
        schedule_dial(a, delay);
}

/* --- The open link --------------------------------------------------------- */

/* libuv reports an error on the socket (POLLERR) as EBADF: the socket
 * itself knows what happened ("Connection reset by peer"). */
static const char *poll_error(const rpc_amqp *a, int status)
{
    int err = 0;
    socklen_t len = sizeof(err);
    int fd = amqp_get_sockfd(a->link.conn);
    if (status != UV_EBADF || fd < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return uv_strerror(status);
    return err != 0 ? strerror(err) : "connection closed";
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    rpc_amqp *a = h->data;
    rpc_amqp_link_enter(a);
    if (status < 0) {
        rpc_amqp_link_lost(a, poll_error(a, status));
    } else {
        if (events & UV_WRITABLE)
            rpc_amqp_write_ready(a);
        if ((events & UV_READABLE) && a->link.state == LINK_OPEN)
            rpc_amqp_read_ready(a);
    }
    rpc_amqp_link_leave(a);
}

static void on_tick(uv_timer_t *timer)
{
    rpc_amqp *a = timer->data;
    rpc_amqp_link_enter(a);
    rpc_amqp_write_heartbeat(a);
    rpc_amqp_link_leave(a);
}

static void link_open(rpc_amqp *a, amqp_connection_state_t conn, size_t broker)
{
    a->link.conn = conn;
    a->link.broker = broker;
    a->link.poll = sca_malloc(sizeof(*a->link.poll));
    int rc = uv_poll_init_socket(a->t->loop, a->link.poll, amqp_get_sockfd(conn));
    if (rc != 0) {
        free(a->link.poll);
        a->link.poll = NULL;
        a->link.conn = NULL;
        hangup_async(a, conn, NULL);
        dial_failed(a, uv_strerror(rc));
        return;
    }
    a->link.busy++;
    a->link.poll->data = a;
    a->link.poll_events = UV_READABLE;
    uv_poll_start(a->link.poll, a->link.poll_events, on_poll);
    a->link.state = LINK_OPEN;
    a->link.ever_open = true;
    a->link.opened_at = uv_now(a->t->loop);
    int hb = rpc_amqp_write_start(a);
    if (hb > 0) {
        uint64_t ms = hb >= 4 ? (uint64_t)hb * 250 : 1000;
        uv_timer_start(&a->link.timer, on_tick, ms, ms);
    }
    log_debug("rpc: connected to %s (heartbeat %ds)", where(a), hb);
    rpc_amqp_on_open(a);
    /* The login may have left frames in rabbitmq-c's buffer already. */
    rpc_amqp_read_ready(a);
}

/* Stops watching the socket and gives the connection back: politely when
 * closing, at once when it is already broken. */
static void link_drop(rpc_amqp *a, bool polite)
{
    uv_poll_stop(a->link.poll);
    uv_close((uv_handle_t *)a->link.poll, poll_closed);
    a->link.poll = NULL;
    sca_buf unsent = {0};
    rpc_amqp_write_stop(a, polite ? &unsent : NULL);
    if (polite)
        hangup_async(a, a->link.conn, &unsent);
    else
        amqp_destroy_connection(a->link.conn);
    a->link.conn = NULL;
    a->link.state = LINK_DOWN;
    rpc_amqp_read_stop(a);
}

void rpc_amqp_link_lost(rpc_amqp *a, const char *why)
{
    if (a->link.state != LINK_OPEN)
        return;
    char detail[900];
    snprintf(detail, sizeof(detail), "connection to %s lost: %s", where(a), why);
    snprintf(a->link.last_error, sizeof(a->link.last_error), "%s", why);
    uv_timer_stop(&a->link.timer);
    link_drop(a, false);
    rpc_amqp_on_lost(a, detail);
    /* Only a link that lasted starts the backoff again: one the broker drops
     * as soon as it opens (it refuses a declare, it is out of resources)
     * must not be redialled several times a second, nor logged each time. */
    if (uv_now(a->t->loop) - a->link.opened_at >= STABLE_MS)
        a->link.attempt = 0;
    if (a->t->up)
        rpc_transport_set_up(a->t, false, LOG_LEVEL_WARNING, detail);
    else
        log_msg(a->link.attempt % WARN_EVERY == 0 ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG, "rpc: %s",
                detail);
    if (a->link.closing)
        return;
    /* Round robin: the next broker first, the lost one last. */
    a->link.broker = (a->link.broker + 1) % a->t->url.n_brokers;
    schedule_dial(a, next_delay(a));
}

void rpc_amqp_link_want_write(rpc_amqp *a, bool on)
{
    int events = UV_READABLE | (on ? UV_WRITABLE : 0);
    if (a->link.poll == NULL || events == a->link.poll_events)
        return;
    a->link.poll_events = events;
    uv_poll_start(a->link.poll, events, on_poll);
}

/* --- Start and close ------------------------------------------------------- */

void rpc_amqp_link_start(rpc_amqp *a)
{
    a->link.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)a;
    if (a->link.seed == 0)
        a->link.seed = 1;
    uv_timer_init(a->t->loop, &a->link.timer);
    a->link.timer.data = a;
    rpc_amqp_read_init(a);
    rpc_amqp_retry_init(a);
    a->link.busy += 3; /* the three handles closed through handle_closed */
    /* On the loop's thread the dial waits for the loop to run: it must not
     * block, nor open the link, inside rpc_transport_new. */
    if (a->t->dial_on_loop)
        schedule_dial(a, 0);
    else
        start_dial(a);
}

void rpc_amqp_link_close(rpc_amqp *a)
{
    a->link.closing = true;
    /* The broker being tried still gets its connect timeout; the rest are not tried. */
    if (a->link.dialing != NULL)
        atomic_store(&a->link.dialing->cancel, true);
    if (a->link.state == LINK_OPEN)
        link_drop(a, true);
    rpc_amqp_drop_queue(a);
    uv_close((uv_handle_t *)&a->link.timer, handle_closed);
    rpc_amqp_read_close(a, handle_closed);
    size_t lost = rpc_amqp_retry_close(a, handle_closed);
    if (lost > 0)
        log_warning("rpc: %zu replies whose queue did not exist dropped at close", lost);
    rpc_amqp_link_enter(a);
    rpc_amqp_link_leave(a);
}
