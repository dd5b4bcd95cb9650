/*
 * starts.c - start_tracers, from the spawn to the answer.
 *
 * The agent answers only once it knows how each start went: every
 * sca-tracer it spawns reports on a pipe (--status-fd) whether its worker
 * runs, or why not (a template that cannot be expanded, a program that
 * cannot be executed, a worker that exited at once).  If any tracer of the
 * command did not start, the ones that did are stopped and the call fails
 * once they have ended, naming each tracer that could not start and why:
 * nothing is left half-started.  The loop never waits: the reports arrive
 * on uv pipes, the ends through starts_on_tracer_exit, and timers bound
 * both.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

/* How long a tracer may take to report: it may wait STORE_BUSY_MS for
 * the store before it spawns, then TRACER_START_MAX_MS for its worker. */
#define START_REPORT_SECONDS 20.0
#define START_REPORT_MAX 1024 /* bytes of a report kept */
#define START_STOP_SLACK 5.0  /* seconds beyond stop_grace for a stopped tracer to end */

struct start_tracer {
    struct start *job;
    char name[SCA_TRACER_NAME_MAX + 1];
    pid_t pid;      /* its sca-tracer; 0 when it could not be spawned */
    bool alive;     /* pid has not ended */
    bool reporting; /* the report pipe is open */
    uv_pipe_t pipe;
    sca_buf report;
    char *error;      /* why it did not start; NULL when it did */
    bool ends_itself; /* it reported its failure and is ending */
};

struct start {
    struct start *next;
    agent *a;
    rpc_request *req;
    store_task task;
    json_t *skipped;
    struct start_tracer *tracers;
    size_t n;
    size_t reports_due;
    bool stopping; /* some failed: the others are being stopped */
    bool ended;    /* answered; freed once its handles have closed */
    int handles;   /* open or closing: the timer and the report pipes */
    uv_timer_t timer;
};

static void start_decide(struct start *job);

static void job_unlink(struct start *job)
{
    for (struct start **p = &job->a->starts; *p; p = &(*p)->next) {
        if (*p == job) {
            *p = job->next;
            return;
        }
    }
}

/* Closes the timer (data: the job) or a report pipe (data: its tracer). */
static void on_handle_closed(uv_handle_t *h)
{
    struct start *job =
        h->type == UV_NAMED_PIPE ? ((struct start_tracer *)h->data)->job : (struct start *)h->data;
    if (--job->handles > 0 || !job->ended)
        return;
    for (size_t i = 0; i < job->n; i++) {
        sca_buf_free(&job->tracers[i].report);
        free(job->tracers[i].error);
    }
    json_decref(job->skipped);
    free(job->tracers);
    free(job);
}

static void report_close(struct start_tracer *st)
{
    if (!st->reporting)
        return;
    st->reporting = false;
    uv_close((uv_handle_t *)&st->pipe, on_handle_closed);
}

/* Ends the job: the request is answered, and everything closes. */
static void job_end(struct start *job)
{
    job_unlink(job);
    job->ended = true;
    children_ready_later(job->a);
    for (size_t i = 0; i < job->n; i++)
        report_close(&job->tracers[i]);
    uv_close((uv_handle_t *)&job->timer, on_handle_closed);
}

static void reply_started(struct start *job)
{
    agent *a = job->a;
    json_t *started = json_array();
    for (size_t i = 0; i < job->n; i++)
        json_array_append_new(started, json_string(job->tracers[i].name));
    tasks_watch_deadline(a, &job->task);
    log_info("task %s started: %zu tracer(s)", job->task.uuid, job->n);
    /* host: over the shared topic the caller learns which agent took the
     * task, and can ask that one to stop it.  failed: the original's
     * shape; a tracer that cannot start now fails the whole call. */
    json_t *reply = json_pack("{s:s, s:o, s:O, s:[], s:o, s:s}", "uuid", job->task.uuid, "started",
                              started, "skipped", job->skipped, "failed", "deadline",
                              job->task.deadline > 0 ? json_real(job->task.deadline) : json_null(),
                              "host", a->cfg.host);
    rpc_request_reply(job->req, reply);
    job_end(job);
}

static void reply_failed(struct start *job, bool all_ended)
{
    sca_buf msg = {0};
    for (size_t i = 0; i < job->n; i++) {
        const struct start_tracer *st = &job->tracers[i];
        if (st->error != NULL)
            sca_buf_appendf(&msg, "%scannot start tracer %s: %s", msg.len ? "; " : "", st->name,
                            st->error);
    }
    sca_buf_appendf(&msg, " (task %s %s)", job->task.uuid,
                    all_ended ? "stopped: nothing of it runs"
                              : "is stopping: some of its tracers have not ended yet");
    log_error("%s", msg.data);
    rpc_request_fail(job->req, "StartError", AGENT_ERRORS_MODULE, "%s", msg.data);
    sca_buf_free(&msg);
    job_end(job);
}

static bool all_ended(const struct start *job)
{
    for (size_t i = 0; i < job->n; i++) {
        if (job->tracers[i].alive)
            return false;
    }
    return true;
}

static void on_stop_timeout(uv_timer_t *t)
{
    reply_failed(t->data, all_ended(t->data));
}

/* Some tracer did not start: stop every one of the command and fail the
 * call once they have all ended (or after stop_grace and some). */
static void job_stop(struct start *job)
{
    job->stopping = true;
    for (size_t i = 0; i < job->n; i++) {
        struct start_tracer *st = &job->tracers[i];
        sca_error err = {0};
        if (st->alive && !st->ends_itself && children_signal(job->a, st->pid, SIGINT, &err) != 0)
            log_warning("%s", err.msg);
    }
    if (all_ended(job)) {
        reply_failed(job, true);
        return;
    }
    uv_timer_start(&job->timer, on_stop_timeout,
                   (uint64_t)((job->a->cfg.stop_grace + START_STOP_SLACK) * 1000), 0);
}

static void start_decide(struct start *job)
{
    if (job->reports_due > 0 || job->stopping)
        return;
    uv_timer_stop(&job->timer);
    for (size_t i = 0; i < job->n; i++) {
        if (job->tracers[i].error != NULL) {
            job_stop(job);
            return;
        }
    }
    reply_started(job);
}

/* The report is "started", or "failed: WHY"; nothing at all means the
 * tracer ended before it could say. */
static void report_done(struct start_tracer *st, const char *no_report)
{
    const char *text = st->report.data ? st->report.data : "";
    size_t len = st->report.len;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (len == 7 && strncmp(text, "started", 7) == 0) {
        st->error = NULL;
    } else if (len > 8 && strncmp(text, "failed: ", 8) == 0) {
        st->error = sca_strndup(text + 8, len - 8);
        st->ends_itself = true;
    } else if (len > 0) {
        st->error = sca_asprintf("sca-tracer said '%.*s'", (int)len, text);
    } else {
        st->error = sca_strdup(no_report);
    }
    report_close(st);
    st->job->reports_due--;
    start_decide(st->job);
}

static void on_report_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    (void)h;
    static char chunk[256];
    *buf = uv_buf_init(chunk, sizeof(chunk));
}

static void on_report_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct start_tracer *st = s->data;
    if (nread > 0) {
        if (st->report.len + (size_t)nread <= START_REPORT_MAX)
            sca_buf_append(&st->report, buf->base, (size_t)nread);
        return;
    }
    if (nread < 0)
        report_done(st, "sca-tracer ended before it reported its start (its reason is in the "
                        "agent's log)");
}

static void on_report_timeout(uv_timer_t *t)
{
    struct start *job = t->data;
    /* The last report_done decides the job. */
    for (size_t i = 0; i < job->n && job->reports_due > 0; i++) {
        struct start_tracer *st = &job->tracers[i];
        if (st->reporting) {
            char why[128];
            snprintf(why, sizeof(why), "sca-tracer %d did not report its start within %g s",
                     (int)st->pid, START_REPORT_SECONDS);
            report_done(st, why);
        }
    }
}

/* Spawns the sca-tracer of st and starts reading its report; st->error set
 * when it cannot be spawned or recorded. */
static void start_one(struct start *job, struct start_tracer *st)
{
    agent *a = job->a;
    sca_error err = {0};
    int report_fd = -1;
    int rc = children_spawn(a, job->task.id, job->task.uuid, st->name, &st->pid, &report_fd, &err);
    if (rc == 0) {
        st->alive = true;
        rc = uv_pipe_init(a->loop, &st->pipe, 0);
        if (rc == 0) {
            st->pipe.data = st;
            st->reporting = true;
            job->handles++;
            rc = uv_pipe_open(&st->pipe, report_fd);
            if (rc != 0)
                close(report_fd);
            if (rc == 0)
                rc = uv_read_start((uv_stream_t *)&st->pipe, on_report_alloc, on_report_read);
            if (rc != 0)
                report_close(st);
        } else {
            close(report_fd);
        }
        if (rc != 0)
            rc = sca_error_set(&err, rc, "cannot read the start report of sca-tracer %d: %s",
                               (int)st->pid, uv_strerror(rc));
    }
    if (rc == 0)
        rc = store_task_tracer_start(a->store, job->task.id, st->name, st->pid, &err);
    if (rc == 0)
        rc = store_tracer_set_running(a->store, st->name, true, st->pid, job->task.uuid, &err);
    if (rc == 0) {
        job->reports_due++;
        return;
    }
    st->error = sca_strdup(err.msg);
    if (st->pid == 0) {
        store_task_tracer end = {.task_id = job->task.id, .exit_code = 127};
        snprintf(end.tracer, sizeof(end.tracer), "%s", st->name);
        if (store_task_tracer_start(a->store, job->task.id, st->name, 0, NULL) == 0)
            store_task_tracer_finish(a->store, &end, NULL);
    }
}

void starts_begin(agent *a, rpc_request *req, const store_task *task, json_t *names,
                  json_t *skipped)
{
    struct start *job = sca_calloc(1, sizeof(*job));
    job->a = a;
    job->req = req;
    job->task = *task;
    job->skipped = json_incref(skipped);
    job->n = json_array_size(names);
    job->tracers = sca_calloc(job->n, sizeof(*job->tracers));
    uv_timer_init(a->loop, &job->timer);
    job->timer.data = job;
    job->handles = 1;
    job->next = a->starts;
    a->starts = job;
    for (size_t i = 0; i < job->n; i++) {
        struct start_tracer *st = &job->tracers[i];
        st->job = job;
        snprintf(st->name, sizeof(st->name), "%s", json_string_value(json_array_get(names, i)));
        start_one(job, st);
    }
    if (job->reports_due > 0)
        uv_timer_start(&job->timer, on_report_timeout, (uint64_t)(START_REPORT_SECONDS * 1000), 0);
    start_decide(job);
}

void starts_on_tracer_exit(agent *a, pid_t pid)
{
    for (struct start *job = a->starts; job != NULL; job = job->next) {
        for (size_t i = 0; i < job->n; i++) {
            if (job->tracers[i].pid == pid)
                job->tracers[i].alive = false;
        }
        if (job->stopping && all_ended(job)) {
            uv_timer_stop(&job->timer);
            reply_failed(job, true);
            return; /* the list changed; a pid is in one job only */
        }
    }
}

void starts_close(agent *a)
{
    while (a->starts != NULL) {
        struct start *job = a->starts;
        rpc_request_fail(job->req, "StartError", AGENT_ERRORS_MODULE,
                         "the agent stopped before the tracers of task %s had started",
                         job->task.uuid);
        job_end(job);
    }
}
