/*
 * children.c - the agent's sca-tracer processes: a table of the ones it
 * watches, each with the task id and tracer it runs for, and the end of
 * each reported through the callback given to children_init.  It knows
 * nothing of tasks beyond those two values.
 *
 * Every tracer is watched through a pidfd (readable when the process
 * ends), which also makes signalling it safe against pid reuse.  Tracers
 * this agent spawned are its children and are reaped through that pidfd;
 * tracers that outlived an earlier agent are adopted the same way, though
 * their exit status is not ours to read.
 *
 * Tracers are spawned with sca_spawn (posix_spawn): the agent's address
 * space is never copied, which makes starting many at once cheap.
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
    bool adopted; /* not spawned by this agent: no status to reap */
    int pidfd;
    uv_poll_t poll; /* watches pidfd */
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

static void child_gone(struct child *c, int exit_code, int exit_signal)
{
    child_unlink(c);
    const struct children *table = &c->a->children;
    table->on_exit(table->arg, c->task_id, c->tracer, c->pid, exit_code, exit_signal);
    uv_close((uv_handle_t *)&c->poll, on_child_closed);
}

static void on_pidfd(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct child *c = h->data;
    int exit_code = -1, exit_signal = 0;
    uv_poll_stop(h);
    sca_error err = {0};
    if (c->adopted)
        log_info("adopted sca-tracer %d (%s) ended", (int)c->pid, c->tracer);
    else if (sca_spawn_reap(c->pidfd, &exit_code, &exit_signal, &err) != 0)
        log_warning("sca-tracer %d (%s): %s", (int)c->pid, c->tracer, err.msg);
    else if (exit_signal != 0)
        log_info("sca-tracer %d (%s) killed by signal %d", (int)c->pid, c->tracer, exit_signal);
    else
        log_info("sca-tracer %d (%s) exited with status %d", (int)c->pid, c->tracer, exit_code);
    child_gone(c, exit_code, exit_signal);
}

/* Watches process pid through pidfd (takes ownership of it). */
static int child_watch(agent *a, pid_t pid, int pidfd, bool adopted, int64_t task_id,
                       const char *tracer)
{
    struct child *c = sca_calloc(1, sizeof(*c));
    c->a = a;
    c->pid = pid;
    c->pidfd = pidfd;
    c->adopted = adopted;
    c->task_id = task_id;
    snprintf(c->tracer, sizeof(c->tracer), "%s", tracer);
    c->poll.data = c;
    int rc = uv_poll_init(a->loop, &c->poll, pidfd);
    if (rc != 0) {
        close(pidfd);
        free(c);
        return rc;
    }
    rc = uv_poll_start(&c->poll, UV_READABLE, on_pidfd);
    if (rc != 0) {
        uv_close((uv_handle_t *)&c->poll, on_child_closed);
        return rc;
    }
    c->next = a->children.list;
    a->children.list = c;
    return 0;
}

void children_init(agent *a, children_exit_fn *on_exit, void *arg)
{
    a->children = (struct children){.on_exit = on_exit, .arg = arg};
}

#define REPORT_FD 3 /* the tracer's end of the start report pipe */

int children_spawn(agent *a, int64_t task_id, const char *task_uuid, const char *tracer, pid_t *pid,
                   int *report_fd, sca_error *err)
{
    char fd_text[8];
    snprintf(fd_text, sizeof(fd_text), "%d", REPORT_FD);
    char *argv[8];
    int n = 0;
    argv[n++] = a->tracer_program;
    if (a->config_path != NULL) {
        argv[n++] = "--config";
        argv[n++] = (char *)a->config_path;
    }
    argv[n++] = "--status-fd";
    argv[n++] = fd_text;
    argv[n++] = (char *)task_uuid;
    argv[n++] = (char *)tracer;
    argv[n] = NULL;
    /* Close-on-exec here, so that no other child holds the pipe open; the
     * tracer gets its end as fd 3 and keeps it from its worker.  Its
     * stdout and stderr are the agent's stderr. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return sca_error_set(err, -errno, "cannot make a pipe for sca-tracer: %s", strerror(errno));
    const int child_fds[REPORT_FD + 1] = {-1, STDERR_FILENO, STDERR_FILENO, fds[1]};
    int pidfd;
    int rc = sca_spawn(argv, child_fds, REPORT_FD + 1, pid, &pidfd, err);
    close(fds[1]);
    if (rc == 0 && (rc = child_watch(a, *pid, pidfd, false, task_id, tracer)) != 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
        rc = sca_error_set(err, rc, "cannot watch sca-tracer %d: %s", (int)*pid, uv_strerror(rc));
    }
    if (rc != 0) {
        close(fds[0]);
        return rc;
    }
    *report_fd = fds[0];
    log_info("started sca-tracer %d for %s in task %s", (int)*pid, tracer, task_uuid);
    return 0;
}

static struct child *child_find(agent *a, pid_t pid)
{
    for (struct child *c = a->children.list; c; c = c->next) {
        if (c->pid == pid)
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
    int rc = sca_pidfd_signal(c->pidfd, signo);
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
    int rc = child_watch(a, pid, fd, true, task_id, tracer);
    if (rc == 0)
        log_info("adopted running sca-tracer %d for %s", (int)pid, tracer);
    return rc;
}

void children_close(agent *a)
{
    while (a->children.list != NULL) {
        struct child *c = a->children.list;
        a->children.list = c->next;
        uv_close((uv_handle_t *)&c->poll, on_child_closed);
    }
}
