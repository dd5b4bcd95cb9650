/*
 * children.c - the agent's sca-tracer processes: a table of the ones it
 * watches, each with the task id and tracer it runs for, and the end of
 * each reported through the callback given to children_init.  It knows
 * nothing of tasks beyond those two values.
 *
 * Tracers this agent spawned (sca_spawn: posix_spawn, so the agent's
 * address space is never copied) are its children: SIGCHLD says one
 * ended, and it is reaped with its status.  Tracers that outlived an
 * earlier agent are no longer our children: they are adopted through a
 * pidfd (readable when the process ends), which also makes signalling them
 * safe against pid reuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "scalpels/log.h"
#include "scalpels/paths.h"
#include "scalpels/spawn.h"
#include "scalpels/util.h"

struct child {
    struct child *next;
    agent *a;
    pid_t pid;
    int64_t task_id;
    char tracer[SCA_TRACER_NAME_MAX + 1];
    bool adopted; /* not our child: watched through pidfd and poll */
    int pidfd;
    uv_poll_t poll;
    /* A tracer waiting for its task (sca-tracer --task-fd): the pipe it
     * reads it from and the one it reports its start on; -1 once given. */
    bool waiting;
    int task_fd;
    int report_fd;
};

static void child_unlink(struct child *c)
{
    for (struct child **p = &c->a->children.list; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            return;
        }
    }
}

static void on_child_closed(uv_handle_t *h)
{
    struct child *c = h->data;
    if (c->pidfd >= 0)
        close(c->pidfd);
    free(c);
}

static void child_free(struct child *c)
{
    if (c->task_fd >= 0)
        close(c->task_fd); /* a waiting tracer reads the end and exits */
    if (c->report_fd >= 0)
        close(c->report_fd);
    if (c->adopted)
        uv_close((uv_handle_t *)&c->poll, on_child_closed);
    else
        free(c);
}

static void child_gone(struct child *c, int exit_code, int exit_signal)
{
    child_unlink(c);
    struct children *table = &c->a->children;
    if (c->waiting) {
        if (table->ready == c)
            table->ready = NULL; /* it ended unused: the next start spawns */
    } else {
        table->on_exit(table->arg, c->task_id, c->tracer, c->pid, exit_code, exit_signal);
    }
    child_free(c);
}

static void on_pidfd(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct child *c = h->data;
    uv_poll_stop(h);
    log_info("adopted sca-tracer %d (%s) ended", (int)c->pid, c->tracer);
    child_gone(c, -1, 0);
}

static void on_sigchld(uv_signal_t *h, int signo)
{
    (void)signo;
    agent *a = h->data;
    struct child *next;
    for (struct child *c = a->children.list; c != NULL; c = next) {
        next = c->next;
        int exit_code, exit_signal;
        if (c->adopted || sca_spawn_reaped(c->pid, &exit_code, &exit_signal) <= 0)
            continue;
        const char *what = c->waiting ? "waiting for a task" : c->tracer;
        if (exit_signal != 0)
            log_info("sca-tracer %d (%s) killed by signal %d", (int)c->pid, what, exit_signal);
        else
            log_info("sca-tracer %d (%s) exited with status %d", (int)c->pid, what, exit_code);
        child_gone(c, exit_code, exit_signal);
    }
}

static struct child *child_new(agent *a, pid_t pid, int64_t task_id, const char *tracer)
{
    struct child *c = sca_calloc(1, sizeof(*c));
    c->a = a;
    c->pid = pid;
    c->pidfd = -1;
    c->task_fd = -1;
    c->report_fd = -1;
    c->task_id = task_id;
    snprintf(c->tracer, sizeof(c->tracer), "%s", tracer);
    c->next = a->children.list;
    a->children.list = c;
    return c;
}

/* Adopts process pid, watched through pidfd (takes ownership of it). */
static int child_adopt(agent *a, pid_t pid, int pidfd, int64_t task_id, const char *tracer)
{
    struct child *c = child_new(a, pid, task_id, tracer);
    c->adopted = true;
    c->pidfd = pidfd;
    c->poll.data = c;
    int rc = uv_poll_init(a->loop, &c->poll, pidfd);
    if (rc != 0) {
        child_unlink(c);
        close(pidfd);
        free(c);
        return rc;
    }
    rc = uv_poll_start(&c->poll, UV_READABLE, on_pidfd);
    if (rc != 0) {
        child_unlink(c);
        uv_close((uv_handle_t *)&c->poll, on_child_closed);
    }
    return rc;
}

void children_init(agent *a, children_exit_fn *on_exit, void *arg)
{
    a->children = (struct children){.on_exit = on_exit, .arg = arg};
}

/* Installed before the first spawn, so that no child's end goes unseen. */
static int children_watch_sigchld(agent *a, sca_error *err)
{
    struct children *table = &a->children;
    if (table->sigchld_on)
        return 0;
    int rc = uv_signal_init(a->loop, &table->sigchld);
    if (rc != 0)
        return sca_error_set(err, rc, "cannot watch SIGCHLD: %s", uv_strerror(rc));
    table->sigchld.data = a;
    rc = uv_signal_start(&table->sigchld, on_sigchld, SIGCHLD);
    if (rc != 0) {
        uv_close((uv_handle_t *)&table->sigchld, NULL);
        return sca_error_set(err, rc, "cannot watch SIGCHLD: %s", uv_strerror(rc));
    }
    table->sigchld_on = true;
    return 0;
}

#define REPORT_FD 3 /* the tracer's end of the start report pipe */
#define TASK_FD 4   /* a waiting tracer's end of the pipe its task comes on */
/* The next tracer is made ready this long after a start was answered:
 * loading it must not take CPU from a start still under way (this node's
 * next, or the other nodes' of a cluster-wide start on shared CPUs). */
#define READY_DELAY_MS 1000

/* Spawns sca-tracer for tracer in task task_uuid, or, when task_fd is not
 * NULL, one that waits for its task on *task_fd (write end, the caller's
 * to close).  *report_fd is the read end of its start report pipe. */
static int spawn_tracer(agent *a, const char *task_uuid, const char *tracer, pid_t *pid,
                        int *report_fd, int *task_fd, sca_error *err)
{
    /* Room a waiting tracer writes its task into (sca-tracer --task-fd). */
    char uuid_room[SCA_UUID_LEN + 1], tracer_room[SCA_TRACER_NAME_MAX + 1];
    char fd_text[8], task_fd_text[8];
    snprintf(fd_text, sizeof(fd_text), "%d", REPORT_FD);
    snprintf(task_fd_text, sizeof(task_fd_text), "%d", TASK_FD);
    char *argv[10];
    int n = 0;
    argv[n++] = a->tracer_program;
    if (a->config_path != NULL) {
        argv[n++] = "--config";
        argv[n++] = (char *)a->config_path;
    }
    argv[n++] = "--status-fd";
    argv[n++] = fd_text;
    if (task_fd != NULL) {
        memset(uuid_room, '?', SCA_UUID_LEN);
        uuid_room[SCA_UUID_LEN] = '\0';
        memset(tracer_room, '?', SCA_TRACER_NAME_MAX);
        tracer_room[SCA_TRACER_NAME_MAX] = '\0';
        argv[n++] = "--task-fd";
        argv[n++] = task_fd_text;
        task_uuid = uuid_room;
        tracer = tracer_room;
    }
    argv[n++] = (char *)task_uuid;
    argv[n++] = (char *)tracer;
    argv[n] = NULL;
    /* The start report's pipe, and a waiting tracer's task pipe; close-on-
     * exec here, so that no other child holds them open.  The tracer gets
     * its ends as fds 3 and 4 and keeps them from its worker.  Its stdout
     * and stderr are the agent's stderr. */
    int pipes[2][2] = {{-1, -1}, {-1, -1}};
    int npipes = task_fd != NULL ? 2 : 1;
    int rc = sca_pipes_new(pipes, npipes, "sca-tracer", err);
    if (rc != 0)
        return rc;
    const int child_fds[TASK_FD + 1] = {-1, STDERR_FILENO, STDERR_FILENO, pipes[0][1], pipes[1][0]};
    /* A stop that comes before the tracer has its handlers waits for
     * them (it unblocks these once it has), instead of killing it before
     * it can record anything. */
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    rc = children_watch_sigchld(a, err);
    if (rc == 0)
        rc = sca_spawn(argv, child_fds, REPORT_FD + npipes, &stops, pid, err);
    if (rc != 0) {
        sca_pipes_close(pipes, npipes);
        /* In libuv's words, as the start error always read. */
        return sca_error_set(err, rc, "cannot start %s: %s", a->tracer_program, uv_strerror(rc));
    }
    close(pipes[0][1]);
    *report_fd = pipes[0][0];
    if (task_fd != NULL) {
        close(pipes[1][0]);
        *task_fd = pipes[1][1];
    }
    return 0;
}

static void on_ready_timer(uv_timer_t *t)
{
    agent *a = t->data;
    struct children *table = &a->children;
    if (table->ready != NULL || a->stopping)
        return;
    sca_error err = {0};
    pid_t pid;
    int report_fd, task_fd;
    if (spawn_tracer(a, NULL, NULL, &pid, &report_fd, &task_fd, &err) != 0) {
        log_warning("%s", err.msg);
        return;
    }
    struct child *c = child_new(a, pid, 0, "");
    c->waiting = true;
    c->task_fd = task_fd;
    c->report_fd = report_fd;
    table->ready = c;
    log_debug("sca-tracer %d waits for a task", (int)pid);
}

int children_keep_ready(agent *a)
{
    struct children *table = &a->children;
    int rc = uv_timer_init(a->loop, &table->ready_timer);
    if (rc != 0)
        return rc;
    table->ready_timer.data = a;
    table->ready_timer_on = true;
    return uv_timer_start(&table->ready_timer, on_ready_timer, 0, 0);
}

void children_ready_later(agent *a)
{
    struct children *table = &a->children;
    if (table->ready_timer_on && table->ready == NULL)
        uv_timer_start(&table->ready_timer, on_ready_timer, READY_DELAY_MS, 0);
}

/* Gives the waiting tracer its task; false when it cannot take it (it
 * ended, and is reaped as it would have been). */
static bool hand_over(agent *a, int64_t task_id, const char *task_uuid, const char *tracer,
                      pid_t *pid, int *report_fd)
{
    struct child *c = a->children.ready;
    a->children.ready = NULL;
    char line[SCA_UUID_LEN + SCA_TRACER_NAME_MAX + 3];
    int len = snprintf(line, sizeof(line), "%s %s\n", task_uuid, tracer);
    /* Shorter than PIPE_BUF, into an empty pipe: all of it or nothing. */
    ssize_t n = write(c->task_fd, line, (size_t)len);
    close(c->task_fd);
    c->task_fd = -1;
    if (n != len) {
        log_warning("sca-tracer %d that waited for a task cannot take it: %s", (int)c->pid,
                    n < 0 ? strerror(errno) : "short write");
        return false;
    }
    c->waiting = false;
    c->task_id = task_id;
    snprintf(c->tracer, sizeof(c->tracer), "%s", tracer);
    *pid = c->pid;
    *report_fd = c->report_fd;
    c->report_fd = -1;
    return true;
}

int children_spawn(agent *a, int64_t task_id, const char *task_uuid, const char *tracer, pid_t *pid,
                   int *report_fd, sca_error *err)
{
    struct children *table = &a->children;
    if (table->ready_timer_on)
        uv_timer_stop(&table->ready_timer); /* until this start is answered */
    if (table->ready != NULL && hand_over(a, task_id, task_uuid, tracer, pid, report_fd)) {
        log_info("started sca-tracer %d (it was waiting) for %s in task %s", (int)*pid, tracer,
                 task_uuid);
        return 0;
    }
    int rc = spawn_tracer(a, task_uuid, tracer, pid, report_fd, NULL, err);
    if (rc != 0)
        return rc;
    child_new(a, *pid, task_id, tracer);
    log_info("started sca-tracer %d for %s in task %s", (int)*pid, tracer, task_uuid);
    return 0;
}

static struct child *child_find(agent *a, pid_t pid)
{
    for (struct child *c = a->children.list; c; c = c->next) {
        if (c->pid == pid && !c->waiting)
            return c;
    }
    return NULL;
}

bool children_is_running(agent *a, pid_t pid)
{
    return child_find(a, pid) != NULL;
}

int children_signal(agent *a, pid_t pid, int signo, sca_error *err)
{
    struct child *c = child_find(a, pid);
    if (c == NULL)
        return sca_error_set(err, -ESRCH, "no sca-tracer %d is watched by this agent", (int)pid);
    /* A child's pid is ours until we reap it; another's is held by pidfd. */
    int rc = c->adopted ? sca_pidfd_signal(c->pidfd, signo) : (kill(pid, signo) == 0 ? 0 : -errno);
    if (rc != 0)
        return sca_error_set(err, rc, "cannot signal sca-tracer %d: %s", (int)pid, strerror(-rc));
    return 0;
}

int children_adopt(agent *a, pid_t pid, int64_t task_id, const char *task_uuid, const char *tracer)
{
    if (child_find(a, pid) != NULL)
        return 0;
    if (!paths_pid_is_tracer(pid, task_uuid, tracer))
        return -ESRCH;
    int fd = sca_pidfd_open(pid);
    if (fd < 0)
        return fd;
    int rc = child_adopt(a, pid, fd, task_id, tracer);
    if (rc == 0)
        log_info("adopted running sca-tracer %d for %s", (int)pid, tracer);
    return rc;
}

void children_close(agent *a)
{
    while (a->children.list != NULL) {
        struct child *c = a->children.list;
        a->children.list = c->next;
        child_free(c);
    }
    a->children.ready = NULL;
    if (a->children.ready_timer_on) {
        uv_close((uv_handle_t *)&a->children.ready_timer, NULL);
        a->children.ready_timer_on = false;
    }
    if (a->children.sigchld_on) {
        uv_close((uv_handle_t *)&a->children.sigchld, NULL);
        a->children.sigchld_on = false;
    }
}
