/* run.c - spawn the worker, read its lines, stop it, flush (see tracer.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "scalpels/log.h"
#include "scalpels/spawn.h"
#include "scalpels/util.h"
#include "tracer.h"

/* One of the worker's output pipes and the line it is in the middle of. */
struct stream {
    uv_pipe_t pipe;
    enum ingest_source source;
    sca_buf partial;
    bool open;
    char chunk[TRACER_MAX_LINE];
    struct run *run;
};

struct run {
    const tracer_run_opts *opts;
    uv_loop_t *loop;
    uv_signal_t sigchld; /* the worker's end */
    struct stream out;
    struct stream err;
    uv_signal_t sigint, sigterm;
    uv_timer_t flush_timer;
    uv_timer_t kill_timer;  /* SIGKILL after the grace */
    uv_timer_t retry_timer; /* flush again after a store error */
    uv_timer_t start_timer; /* the start check */
    uv_pipe_t ready;        /* the worker's readiness line (SCA_READY_FD) */
    char ready_chunk[64];
    bool worker_alive;
    bool stopping;
    bool held;     /* the store refused the batch: the retry timer flushes */
    bool paused;   /* reading stopped until then (the batch reached its limit) */
    bool finished; /* everything stored, handles closing */
    /* The start check, while a start report is due (tracer.h). */
    bool start_pending;
    bool start_stderr;    /* the worker wrote on stderr meanwhile */
    double start_time;    /* monotonic, at the spawn */
    char start_note[256]; /* its first line on stderr */
    int flush_rc;
    sca_error flush_err;
    /* What the task_tracer row says of this run (store_task_tracer_set_hold),
     * so that the agent can show a stop that waits for the store. */
    bool row_stopping;
    int64_t row_held;
    const char *row_reason;
    double row_written;     /* monotonic */
    double last_checkpoint; /* monotonic, of the last attempt */
    tracer_outcome outcome;
};

static void run_maybe_finish(struct run *r);

static void signal_group(struct run *r, int signo)
{
    if (r->outcome.worker_pid > 0 && kill(-(pid_t)r->outcome.worker_pid, signo) != 0 &&
        errno != ESRCH)
        log_warning("cannot signal worker group %lld: %s", (long long)r->outcome.worker_pid,
                    strerror(errno));
}

static void streams_set_reading(struct run *r, bool on);
static void on_retry_timer(uv_timer_t *t);

void tracer_report_start(int *fd, const char *why)
{
    if (*fd < 0)
        return;
    char line[PIPE_BUF];
    int n = why ? snprintf(line, sizeof(line), "failed: %s\n", why)
                : snprintf(line, sizeof(line), "started\n");
    size_t len = n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1;
    /* One write of at most PIPE_BUF bytes to a pipe is never cut short; a
     * reader that is gone (the agent ended) needs no report. */
    if (write(*fd, line, len) < 0 && errno != EPIPE)
        log_warning("cannot report the start: %s", strerror(errno));
    close(*fd);
    *fd = -1;
}

static void start_confirmed(struct run *r)
{
    if (!r->start_pending)
        return;
    r->start_pending = false;
    uv_timer_stop(&r->start_timer);
    tracer_report_start(r->opts->status_fd, NULL);
}

/* The worker ended before it was seen to run: why, from its status and
 * what it said first on stderr. */
static void start_failed(struct run *r)
{
    r->start_pending = false;
    uv_timer_stop(&r->start_timer);
    char how[64];
    if (r->outcome.exit_signal)
        snprintf(how, sizeof(how), "was killed by signal %d (%s)", r->outcome.exit_signal,
                 strsignal(r->outcome.exit_signal));
    else
        snprintf(how, sizeof(how), "exited with status %d", r->outcome.exit_code);
    char *why = sca_asprintf("worker %s %s as it started%s%s", r->opts->argv[0], how,
                             r->start_note[0] ? ": " : "", r->start_note);
    log_error("%s", why);
    tracer_report_start(r->opts->status_fd, why);
    free(why);
}

/* Decides the start once what the worker did tells: an exit with status 0
 * is a run (a short one), any other exit a failure unless a line on stdout
 * shows that it ran, so that is decided once both pipes are read to the
 * end. */
static void start_check_exit(struct run *r)
{
    if (!r->start_pending || r->worker_alive)
        return;
    if (r->outcome.exit_code == 0 && r->outcome.exit_signal == 0)
        start_confirmed(r);
    else if (!r->err.open && !r->out.open)
        start_failed(r);
}

static void on_start_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    if (!r->worker_alive)
        return; /* its exit decides, once its output is read */
    double waited_ms = (sca_monotonic() - r->start_time) * 1000;
    if (r->start_stderr && waited_ms < TRACER_START_MAX_MS) {
        uv_timer_start(t, on_start_timer, (uint64_t)(TRACER_START_MAX_MS - waited_ms), 0);
        return;
    }
    start_confirmed(r);
}

static void on_ready_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct run *r = h->data;
    *buf = uv_buf_init(r->ready_chunk, sizeof(r->ready_chunk));
}

/* A line on the readiness pipe is the worker saying it runs; its end
 * without one says nothing.  The read end stays open while the worker
 * runs, so that a late line never meets a closed pipe (SIGPIPE). */
static void on_ready_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    struct run *r = h->data;
    if (nread > 0 && memchr(buf->base, '\n', (size_t)nread) != NULL)
        start_confirmed(r);
    else if (nread < 0 && !uv_is_closing((uv_handle_t *)h))
        uv_close((uv_handle_t *)h, NULL);
}

static const char *held_reason(int rc)
{
    return rc == -ENOSPC ? "disk full" : rc == -EBUSY ? "store locked" : "store error";
}

static void retry_soon(struct run *r)
{
    if (!uv_is_active((uv_handle_t *)&r->retry_timer))
        uv_timer_start(&r->retry_timer, on_retry_timer, TRACER_RETRY_MS, 0);
}

/* Tells the agent, through the task_tracer row, whether this run was asked
 * to stop and how many lines it holds and why: written when that changes,
 * and a growing count at most once a second.  A tiny write may go in where
 * a batch did not (the log keeps pages a failed batch wrote); when it does
 * not, the room kept for a full disk is given back, and failing that the
 * retry timer tries again. */
static void hold_sync(struct run *r)
{
    int64_t held = r->held ? (int64_t)ingest_pending_lines(r->opts->ingest) : 0;
    const char *reason = held > 0 ? held_reason(r->flush_rc) : NULL;
    bool changed = r->stopping != r->row_stopping || reason != r->row_reason;
    if (!changed && (held == r->row_held || sca_monotonic() - r->row_written < 1.0))
        return;
    sca_error e = {0};
    int rc = store_task_tracer_set_hold(r->opts->store, r->opts->task_id, r->opts->tracer,
                                        r->stopping, held, reason, &e);
    /* The disk is full to the last byte (a checkpoint that grew the
     * database took it): the room kept for this makes the record fit. */
    if (rc == -ENOSPC && store_room_release(r->opts->store)) {
        log_info("gave back the room kept for a full disk");
        rc = store_task_tracer_set_hold(r->opts->store, r->opts->task_id, r->opts->tracer,
                                        r->stopping, held, reason, &e);
    }
    if (rc != 0) {
        log_debug("%s", e.msg);
        retry_soon(r);
        return;
    }
    r->row_stopping = r->stopping;
    r->row_held = held;
    r->row_reason = reason;
    r->row_written = sca_monotonic();
}

static bool space_short(const struct run *r)
{
    uint64_t free_bytes;
    sca_error e = {0};
    return store_free_space(r->opts->store, &free_bytes, &e) == 0 && free_bytes < TRACER_LOW_SPACE;
}

/* SQLite checkpoints its write-ahead log only once it has grown to about
 * 4 MiB: on a file system with less room than that the log alone fills the
 * disk again.  So after a batch that had to wait (the log may have taken
 * what was free), and after every batch while the file system is short of
 * space, the log is copied into the database and restarted, which cuts it
 * back to STORE_WAL_KEEP_TEXT bytes.  On a full disk it is tried too, once
 * a second: it gives space back unless the database itself must grow. */
static void checkpoint_if_needed(struct run *r, bool after_hold)
{
    double now = sca_monotonic();
    if (!after_hold) {
        if (r->flush_rc == 0 ? !space_short(r) : now - r->last_checkpoint < 1.0)
            return;
    }
    r->last_checkpoint = now;
    sca_error e = {0};
    if (store_checkpoint(r->opts->store, &e) != 0) {
        log_debug("%s", e.msg);
    } else if (after_hold) {
        log_info("checkpointed the store's log");
        store_room_keep(r->opts->store); /* for the next time the disk fills */
    }
}

static void flush_now(struct run *r)
{
    uv_timer_stop(&r->flush_timer);
    const ingest *g = r->opts->ingest;
    bool was_held = r->held;
    r->flush_rc = ingest_flush(r->opts->ingest, &r->flush_err);
    if (r->flush_rc == 0) {
        if (r->held)
            log_info("store accepts writes again");
        r->held = false;
        /* The batch's transaction cleared the row's held lines. */
        r->row_held = 0;
        r->row_reason = NULL;
        checkpoint_if_needed(r, was_held);
        if (r->paused) {
            r->paused = false;
            streams_set_reading(r, true);
            log_info("reading resumed");
        }
        return;
    }
    /* Keep the batch and go on reading while it fits in TRACER_HOLD_BYTES,
     * so that every line keeps the time it arrived at (another writer, such
     * as a purge, may hold the store for seconds).  Beyond that, stop
     * reading: the worker blocks on its pipe instead of its output being
     * lost. */
    /* Another writer's lock is routine; anything else (a full disk) is not. */
    if (!r->held)
        log_msg(r->flush_rc == -EBUSY ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING,
                "%s; holding %zu lines and retrying", r->flush_err.msg, ingest_pending_lines(g));
    r->held = true;
    if (!r->paused && ingest_pending_bytes(g) >= TRACER_HOLD_BYTES) {
        log_warning("holding %zu lines (%zu bytes): reading paused until the store accepts them",
                    ingest_pending_lines(g), ingest_pending_bytes(g));
        r->paused = true;
        streams_set_reading(r, false);
    }
    if (r->flush_rc == -ENOSPC)
        checkpoint_if_needed(r, false);
    hold_sync(r);
    retry_soon(r);
}

static void on_flush_timer(uv_timer_t *t)
{
    flush_now(t->data);
}

static void on_retry_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    flush_now(r);
    hold_sync(r);
    run_maybe_finish(r);
}

static void take_line(struct run *r, struct stream *s, const char *line, size_t len, double ts)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    ingest_line(r->opts->ingest, s->source, line, len, ts);
    if (r->start_pending) {
        if (s->source == INGEST_STDOUT) {
            start_confirmed(r);
        } else if (!r->start_stderr) {
            r->start_stderr = true;
            size_t n = len < sizeof(r->start_note) - 1 ? len : sizeof(r->start_note) - 1;
            memcpy(r->start_note, line, n);
            r->start_note[n] = '\0';
        }
    }
    size_t pending = ingest_pending_lines(r->opts->ingest);
    if (r->held) {
        /* The retry timer flushes; here only the hold limit is checked. */
        if (!r->paused && ingest_pending_bytes(r->opts->ingest) >= TRACER_HOLD_BYTES)
            flush_now(r);
    } else if (pending >= TRACER_FLUSH_LINES) {
        flush_now(r);
    } else if (pending == 1) {
        uv_timer_start(&r->flush_timer, on_flush_timer, TRACER_FLUSH_MS, 0);
    }
}

/* Splits a chunk into lines; a line longer than TRACER_MAX_LINE is cut into
 * pieces of that size rather than dropped.  A piece is cut only when more of
 * the line follows it, so a line of exactly that size stays whole. */
static void split_lines(struct run *r, struct stream *s, const char *p, size_t n, double ts)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        size_t room = TRACER_MAX_LINE - s->partial.len;
        if (take > room) {
            sca_buf_append(&s->partial, p, room);
            take_line(r, s, s->partial.data, s->partial.len, ts);
            sca_buf_reset(&s->partial);
            p += room;
            n -= room;
            continue;
        }
        if (nl == NULL) {
            sca_buf_append(&s->partial, p, take);
            return;
        }
        if (s->partial.len > 0) {
            sca_buf_append(&s->partial, p, take);
            take_line(r, s, s->partial.data, s->partial.len, ts);
            sca_buf_reset(&s->partial);
        } else {
            take_line(r, s, p, take, ts);
        }
        p += take + 1;
        n -= take + 1;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct stream *s = h->data;
    *buf = uv_buf_init(s->chunk, sizeof(s->chunk));
}

static void on_stream_closed(uv_handle_t *h)
{
    struct stream *s = h->data;
    start_check_exit(s->run);
    run_maybe_finish(s->run);
}

static void stream_close(struct stream *s)
{
    if (!s->open)
        return;
    s->open = false;
    if (s->partial.len > 0) {
        take_line(s->run, s, s->partial.data, s->partial.len, sca_now());
        sca_buf_reset(&s->partial);
    }
    uv_close((uv_handle_t *)&s->pipe, on_stream_closed);
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    struct stream *s = h->data;
    if (nread > 0) {
        split_lines(s->run, s, buf->base, (size_t)nread, sca_now());
        return;
    }
    if (nread < 0) {
        if (nread != UV_EOF)
            log_warning("reading the worker's output: %s", uv_strerror((int)nread));
        stream_close(s);
    }
}

static void streams_set_reading(struct run *r, bool on)
{
    struct stream *streams[] = {&r->out, &r->err};
    for (int i = 0; i < 2; i++) {
        struct stream *s = streams[i];
        if (!s->open)
            continue;
        if (on)
            uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read);
        else
            uv_read_stop((uv_stream_t *)&s->pipe);
    }
}

static void on_kill_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    if (r->worker_alive) {
        log_warning("worker %lld still running %.1f s after SIGINT: killing its group",
                    (long long)r->outcome.worker_pid, r->opts->stop_grace);
        signal_group(r, SIGKILL);
        return;
    }
    /* The worker is gone but something in its group holds the pipes open. */
    signal_group(r, SIGKILL);
    stream_close(&r->out);
    stream_close(&r->err);
}

static void arm_kill_timer(struct run *r)
{
    uint64_t ms = (uint64_t)(r->opts->stop_grace * 1000);
    uv_timer_start(&r->kill_timer, on_kill_timer, ms, 0);
}

static void begin_stop(struct run *r, int signo)
{
    if (r->stopping) {
        log_info("second signal: killing the worker group now");
        signal_group(r, SIGKILL);
        return;
    }
    r->stopping = true;
    start_confirmed(r); /* it ran until it was stopped */
    hold_sync(r);
    log_info("%s received: stopping worker %lld", strsignal(signo),
             (long long)r->outcome.worker_pid);
    signal_group(r, SIGINT);
    arm_kill_timer(r);
}

static void on_signal(uv_signal_t *h, int signo)
{
    begin_stop(h->data, signo);
}

static void on_sigchld(uv_signal_t *h, int signo)
{
    (void)signo;
    struct run *r = h->data;
    int exit_code, exit_signal;
    if (!r->worker_alive ||
        sca_spawn_reaped((pid_t)r->outcome.worker_pid, &exit_code, &exit_signal) <= 0)
        return;
    r->worker_alive = false;
    r->outcome.exit_code = exit_code;
    r->outcome.exit_signal = exit_signal;
    if (exit_signal)
        log_info("worker %lld killed by signal %d", (long long)r->outcome.worker_pid, exit_signal);
    else
        log_info("worker %lld exited with status %d", (long long)r->outcome.worker_pid, exit_code);
    start_check_exit(r);
    /* Give what is left in the pipes the grace period to arrive. */
    if (r->out.open || r->err.open)
        arm_kill_timer(r);
    run_maybe_finish(r);
}

static void close_if_active(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void run_maybe_finish(struct run *r)
{
    if (r->finished || r->worker_alive || r->out.open || r->err.open || r->held)
        return;
    flush_now(r);
    if (r->held)
        return;
    r->finished = true;
    /* Nothing of the worker's group may outlive the tracer. */
    signal_group(r, SIGKILL);
    close_if_active((uv_handle_t *)&r->sigint);
    close_if_active((uv_handle_t *)&r->sigterm);
    close_if_active((uv_handle_t *)&r->flush_timer);
    close_if_active((uv_handle_t *)&r->kill_timer);
    close_if_active((uv_handle_t *)&r->retry_timer);
    close_if_active((uv_handle_t *)&r->start_timer);
    close_if_active((uv_handle_t *)&r->ready);
    close_if_active((uv_handle_t *)&r->sigchld);
}

static void stream_init(struct run *r, struct stream *s, enum ingest_source src)
{
    s->run = r;
    s->source = src;
    uv_pipe_init(r->loop, &s->pipe, 0);
    s->pipe.data = s;
}

/* The worker's output, through the stream pipes (taking ownership of
 * out_fd and err_fd, closed on failure). */
static int streams_open(struct run *r, int out_fd, int err_fd)
{
    int rc = uv_pipe_open(&r->out.pipe, out_fd);
    if (rc != 0) {
        close(out_fd);
        close(err_fd);
        return rc;
    }
    rc = uv_pipe_open(&r->err.pipe, err_fd);
    if (rc != 0)
        close(err_fd);
    return rc;
}

/* With a start check, the worker also gets the write end of a readiness
 * pipe as descriptor 3, named by SCA_READY_FD in its environment (the
 * tracer's own, as it starts no other program); without one, no stale
 * SCA_READY_FD reaches it.  Takes ownership of fd. */
static int ready_open(struct run *r, int fd)
{
    int rc = uv_pipe_open(&r->ready, fd);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return uv_read_start((uv_stream_t *)&r->ready, on_ready_alloc, on_ready_read);
}

/* The worker's stdout and stderr are pipes to the tracer; it leads its own
 * session and process group, so a stop reaches everything it started. */
static int spawn_worker(struct run *r, sca_error *err)
{
    int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    bool with_ready = *r->opts->status_fd >= 0;
    int npipes = with_ready ? 3 : 2;
    char **argv = r->opts->argv;
    int rc = sca_pipes_new(pipes, npipes, "the worker", err);
    if (rc != 0)
        return rc;
    if ((with_ready ? setenv("SCA_READY_FD", "3", 1) : unsetenv("SCA_READY_FD")) != 0) {
        rc = -errno;
        sca_pipes_close(pipes, npipes);
        return sca_error_set(err, rc, "cannot set the worker's environment: %s", strerror(-rc));
    }
    const int fds[4] = {-1, pipes[0][1], pipes[1][1], pipes[2][1]};
    pid_t pid;
    rc = sca_spawn(argv, fds, npipes + 1, NULL, &pid, err);
    for (int i = 0; i < npipes; i++) {
        close(pipes[i][1]);
        pipes[i][1] = -1;
    }
    if (rc != 0) {
        sca_pipes_close(pipes, npipes);
        /* In libuv's words, as the start error always read. */
        return sca_error_set(err, rc, "cannot start worker %s: %s", argv[0], uv_strerror(rc));
    }
    rc = streams_open(r, pipes[0][0], pipes[1][0]);
    if (with_ready) {
        if (rc == 0)
            rc = ready_open(r, pipes[2][0]);
        else
            close(pipes[2][0]);
    }
    if (rc != 0) {
        /* Unwatched, it would run untracked: end it now. */
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return sca_error_set(err, rc, "cannot watch worker %s: %s", argv[0], uv_strerror(rc));
    }
    r->worker_alive = true;
    r->outcome.worker_pid = pid;
    r->out.open = r->err.open = true;
    return 0;
}

/* r comes zeroed from sca_calloc: its line buffers are then fresh pages,
 * touched only as lines arrive, which keeps a tracer's start cheap. */
static void run_init(struct run *r, const tracer_run_opts *opts, uv_loop_t *loop)
{
    r->opts = opts;
    r->loop = loop;
    r->outcome.exit_code = -1;
    stream_init(r, &r->out, INGEST_STDOUT);
    stream_init(r, &r->err, INGEST_STDERR);
    uv_timer_t *timers[] = {&r->flush_timer, &r->kill_timer, &r->retry_timer, &r->start_timer};
    for (int i = 0; i < 4; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = r;
    }
    uv_pipe_init(loop, &r->ready, 0);
    r->ready.data = r;
    uv_signal_init(loop, &r->sigint);
    uv_signal_init(loop, &r->sigterm);
    uv_signal_init(loop, &r->sigchld);
    r->sigint.data = r->sigterm.data = r->sigchld.data = r;
}

int tracer_run(const tracer_run_opts *opts, tracer_outcome *out, sca_error *err)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run *r = sca_calloc(1, sizeof(*r));
    run_init(r, opts, &loop);
    /* Signals first, so a stop that comes during the spawn is not lost;
     * main blocked them until now. */
    uv_signal_start(&r->sigint, on_signal, SIGINT);
    uv_signal_start(&r->sigterm, on_signal, SIGTERM);
    /* Before the spawn, so that the worker's end cannot go unseen. */
    uv_signal_start(&r->sigchld, on_sigchld, SIGCHLD);
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &stops, NULL);
    int rc = spawn_worker(r, err);
    if (rc == 0) {
        sca_error e = {0};
        /* Once, before any line: worth waiting for, unlike a batch. */
        store_set_busy_timeout(opts->store, STORE_BUSY_MS);
        if (store_task_tracer_set_worker(opts->store, opts->task_id, opts->tracer,
                                         r->outcome.worker_pid, &e) != 0)
            log_warning("%s", e.msg);
        store_set_busy_timeout(opts->store, TRACER_BUSY_MS);
        if (*opts->status_fd >= 0) {
            r->start_pending = true;
            r->start_time = sca_monotonic();
            uv_timer_start(&r->start_timer, on_start_timer, TRACER_START_MS, 0);
        }
        streams_set_reading(r, true);
    } else {
        uv_close((uv_handle_t *)&r->out.pipe, NULL);
        uv_close((uv_handle_t *)&r->err.pipe, NULL);
        run_maybe_finish(r);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    /* A stop that comes once the run is over changes nothing; blocked
     * again, it cannot kill the tracer before it records the end. */
    sigprocmask(SIG_BLOCK, &stops, NULL);
    if (uv_loop_close(&loop) != 0)
        log_warning("tracer loop closed with handles still open");
    for (int i = 0; i < 2; i++)
        sca_buf_free(i ? &r->err.partial : &r->out.partial);
    *out = r->outcome;
    if (rc == 0 && r->flush_rc != 0)
        rc = sca_error_set(err, r->flush_rc, "%s", r->flush_err.msg);
    free(r);
    return rc;
}
