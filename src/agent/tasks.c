/*
 * tasks.c - task deadlines, stopping tasks, closing the books on tracers
 * that ended (children.c reports each end here), and reconciling the store
 * with the processes that really run when the agent starts.
 *
 * Every task may carry a deadline (start_tracers' duration, capped by
 * [agent] max_duration); a timer stops the task then, whether or not any
 * client is still around.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

struct deadline {
    struct deadline *next;
    agent *a;
    int64_t task_id;
    char uuid[SCA_UUID_LEN + 1];
    uv_timer_t timer;
};

static void on_deadline_closed(uv_handle_t *h)
{
    free(h->data);
}

static void deadline_remove(agent *a, int64_t task_id)
{
    for (struct deadline **p = &a->deadlines; *p; p = &(*p)->next) {
        struct deadline *d = *p;
        if (d->task_id == task_id) {
            *p = d->next;
            uv_close((uv_handle_t *)&d->timer, on_deadline_closed);
            return;
        }
    }
}

static void on_deadline(uv_timer_t *t)
{
    struct deadline *d = t->data;
    agent *a = d->a;
    store_task task;
    sca_error err = {0};
    int rc = store_task_get(a->store, d->uuid, &task, &err);
    deadline_remove(a, d->task_id);
    if (rc != 0) {
        log_error("%s", err.msg);
        return;
    }
    if (strcmp(task.status, "running") != 0)
        return;
    log_info("task %s reached its deadline: stopping it", task.uuid);
    json_t *pids = NULL;
    if (tasks_stop(a, &task, &pids, &err) != 0)
        log_error("%s", err.msg);
    json_decref(pids);
}

void tasks_watch_deadline(agent *a, const store_task *task)
{
    if (task->deadline <= 0 || strcmp(task->status, "running") != 0)
        return;
    deadline_remove(a, task->id);
    struct deadline *d = sca_calloc(1, sizeof(*d));
    d->a = a;
    d->task_id = task->id;
    memcpy(d->uuid, task->uuid, sizeof(d->uuid));
    d->timer.data = d;
    uv_timer_init(a->loop, &d->timer);
    double wait = task->deadline - sca_now();
    uv_timer_start(&d->timer, on_deadline, wait > 0 ? (uint64_t)(wait * 1000) : 0, 0);
    /* A deadline alone must not keep the loop alive at shutdown. */
    uv_unref((uv_handle_t *)&d->timer);
    d->next = a->deadlines;
    a->deadlines = d;
}

int tasks_watch_all(agent *a, sca_error *err)
{
    store_task *tasks;
    size_t n;
    int rc = store_task_list(a->store, 0, &tasks, &n, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        tasks_watch_deadline(a, &tasks[i]);
    free(tasks);
    return 0;
}

int tasks_stop(agent *a, const store_task *task, json_t **pids, sca_error *err)
{
    store_task_tracer *tts;
    size_t n;
    int rc = store_task_tracer_list(a->store, task->id, &tts, &n, err);
    if (rc != 0)
        return rc;
    *pids = json_array();
    for (size_t i = 0; i < n; i++) {
        pid_t pid = (pid_t)tts[i].pid;
        if (tts[i].stopped > 0 || pid <= 0)
            continue;
        sca_error e = {0};
        if (children_adopt(a, pid, task->id, task->uuid, tts[i].tracer) != 0 ||
            children_signal(a, pid, SIGINT, &e) != 0) {
            log_warning("task %s: sca-tracer %d for %s is not running", task->uuid, (int)pid,
                        tts[i].tracer);
            continue;
        }
        log_info("task %s: stopping %s (sca-tracer %d)", task->uuid, tts[i].tracer, (int)pid);
        json_array_append_new(*pids, json_integer(pid));
    }
    free(tts);
    return 0;
}

/* The sca-tracer normally records its own end; when it died first (killed,
 * crashed, failed to start) the agent records what it knows. */
static void finish_unrecorded(agent *a, int64_t task_id, const char *tracer, pid_t pid,
                              int exit_code, int exit_signal)
{
    store_task_tracer *tts;
    size_t n;
    sca_error err = {0};
    if (store_task_tracer_list(a->store, task_id, &tts, &n, &err) != 0) {
        log_error("%s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tts[i].tracer, tracer) != 0 || tts[i].stopped > 0 || tts[i].pid != pid)
            continue;
        if (exit_signal)
            log_warning("sca-tracer %d for %s was killed by signal %d before recording its end",
                        (int)pid, tracer, exit_signal);
        else
            log_warning("sca-tracer %d for %s ended (status %d) without recording its end",
                        (int)pid, tracer, exit_code);
        /* The row's status is the worker's, which nobody saw: leave it unknown. */
        store_task_tracer end = tts[i];
        end.stopped = sca_now();
        end.exit_code = -1;
        end.exit_signal = 0;
        if (store_task_tracer_finish(a->store, &end, &err) != 0)
            log_error("%s", err.msg);
    }
    free(tts);
}

/* Records that the sca-tracer pid of tracer in task_id ended (when it did
 * not record it itself) and closes the task if that was its last tracer. */
static void tracer_gone(agent *a, int64_t task_id, const char *tracer, pid_t pid, int exit_code,
                        int exit_signal)
{
    sca_error err = {0};
    store_tracer t;
    if (store_tracer_get(a->store, tracer, &t, NULL) == 0 && t.running && t.pid == pid &&
        store_tracer_set_running(a->store, tracer, false, 0, NULL, &err) != 0)
        log_error("%s", err.msg);
    store_tracer_clear(&t);
    if (task_id <= 0)
        return;
    finish_unrecorded(a, task_id, tracer, pid, exit_code, exit_signal);
    bool closed = false;
    if (store_task_close_if_idle(a->store, task_id, &closed, &err) != 0)
        log_error("%s", err.msg);
    if (closed) {
        log_info("task %lld stopped: its last tracer ended", (long long)task_id);
        deadline_remove(a, task_id);
    }
}

void tasks_on_tracer_exit(void *agent_arg, int64_t task_id, const char *tracer, pid_t pid,
                          int exit_code, int exit_signal)
{
    tracer_gone(agent_arg, task_id, tracer, pid, exit_code, exit_signal);
}

static void reconcile_tracer(agent *a, const store_tracer *t)
{
    store_task task = {0};
    sca_error err = {0};
    bool have_task = t->task_uuid && store_task_get(a->store, t->task_uuid, &task, &err) == 0;
    if (t->pid > 0 &&
        children_adopt(a, (pid_t)t->pid, have_task ? task.id : 0, t->task_uuid, t->name) == 0)
        return;
    log_info("tracer %s was marked running as pid %lld, which is gone: marking it stopped", t->name,
             (long long)t->pid);
    if (store_tracer_set_running(a->store, t->name, false, 0, NULL, &err) != 0)
        log_error("%s", err.msg);
    if (have_task)
        tracer_gone(a, task.id, t->name, (pid_t)t->pid, -1, 0);
}

/* Task rows of tracers whose process is gone without recording its end. */
static void reconcile_task(agent *a, const store_task *task)
{
    store_task_tracer *tts;
    size_t n;
    sca_error err = {0};
    if (store_task_tracer_list(a->store, task->id, &tts, &n, &err) != 0) {
        log_error("%s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (tts[i].stopped == 0 && !children_is_running(a, (pid_t)tts[i].pid))
            tracer_gone(a, task->id, tts[i].tracer, (pid_t)tts[i].pid, -1, 0);
    }
    free(tts);
    bool closed = false;
    if (store_task_close_if_idle(a->store, task->id, &closed, &err) != 0)
        log_error("%s", err.msg);
    else if (closed)
        log_info("task %s had no running tracer left: marked stopped", task->uuid);
}

int tasks_reconcile(agent *a, sca_error *err)
{
    store_tracer *tracers;
    size_t n;
    int rc = store_tracer_list(a->store, &tracers, &n, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (tracers[i].running)
            reconcile_tracer(a, &tracers[i]);
    }
    store_tracer_array_free(tracers, n);
    store_task *tasks;
    rc = store_task_list(a->store, 0, &tasks, &n, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tasks[i].status, "running") == 0)
            reconcile_task(a, &tasks[i]);
    }
    free(tasks);
    return 0;
}

void tasks_view(const store_task *t, const store_task_tracer *tts, size_t n, task_view *out)
{
    *out = (task_view){.status = t->status};
    size_t open = 0, stopping = 0;
    for (size_t i = 0; i < n; i++) {
        if (tts[i].stopped > 0)
            continue;
        open++;
        stopping += tts[i].stopping;
        out->held += tts[i].held;
        if (out->held_reason == NULL && tts[i].held > 0 && tts[i].held_reason[0])
            out->held_reason = tts[i].held_reason;
    }
    if (strcmp(t->status, "running") == 0 && open > 0 && stopping == open)
        out->status = "stopping";
}

void tasks_close(agent *a)
{
    while (a->deadlines != NULL)
        deadline_remove(a, a->deadlines->task_id);
}
