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
 * Spawning is posix_spawn, not fork: the agent's address space is never
 * copied, which makes starting many tracers at once several milliseconds
 * cheaper each.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "scalpels/log.h"
#include "scalpels/paths.h"
#include "scalpels/util.h"

extern char **environ;

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

static int sys_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

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

/* Reaps a child of this agent: its exit status, or -1 and the signal that
 * killed it. */
static void child_reap(struct child *c, int *exit_code, int *exit_signal)
{
    siginfo_t si = {0};
    *exit_code = -1;
    *exit_signal = 0;
    if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED) != 0) {
        log_warning("cannot read how sca-tracer %d (%s) ended: %s", (int)c->pid, c->tracer,
                    strerror(errno));
        return;
    }
    if (si.si_code == CLD_EXITED) {
        *exit_code = si.si_status;
        log_info("sca-tracer %d (%s) exited with status %d", (int)c->pid, c->tracer, si.si_status);
    } else {
        *exit_signal = si.si_status;
        log_info("sca-tracer %d (%s) killed by signal %d", (int)c->pid, c->tracer, si.si_status);
    }
}

static void on_pidfd(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct child *c = h->data;
    int exit_code = -1, exit_signal = 0;
    uv_poll_stop(h);
    if (c->adopted)
        log_info("adopted sca-tracer %d (%s) ended", (int)c->pid, c->tracer);
    else
        child_reap(c, &exit_code, &exit_signal);
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

/* The tracer's stdin is /dev/null, its stdout and stderr the agent's stderr
 * and fd REPORT_FD the report pipe; every other descriptor of the agent is
 * close-on-exec.  It gets a session of its own, so that a Ctrl-C meant for
 * the agent's terminal does not reach it (tracers outlive the agent), and
 * default signal handling with nothing blocked. */
static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr, int report_fd)
{
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    int rc = posix_spawn_file_actions_init(fa);
    if (rc != 0)
        return rc;
    if ((rc = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) ||
        (rc = posix_spawn_file_actions_adddup2(fa, STDERR_FILENO, STDOUT_FILENO)) ||
        (rc = posix_spawn_file_actions_adddup2(fa, report_fd, REPORT_FD)) ||
        (rc = posix_spawnattr_init(attr))) {
        posix_spawn_file_actions_destroy(fa);
        return rc;
    }
    if ((rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF)) ||
        (rc = posix_spawnattr_setsigmask(attr, &none)) ||
        (rc = posix_spawnattr_setsigdefault(attr, &all))) {
        posix_spawnattr_destroy(attr);
        posix_spawn_file_actions_destroy(fa);
    }
    return rc;
}

/* posix_spawn's result: 0 or a positive errno. */
static int spawn_tracer(const agent *a, char **argv, int report_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = spawn_setup(&fa, &attr, report_fd);
    if (rc != 0)
        return rc;
    rc = posix_spawn(pid, a->tracer_program, &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

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
     * tracer gets its end as fd 3 and keeps it from its worker. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return sca_error_set(err, -errno, "cannot make a pipe for sca-tracer: %s", strerror(errno));
    int rc = spawn_tracer(a, argv, fds[1], pid);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return sca_error_set(err, -rc, "cannot start %s: %s", a->tracer_program, strerror(rc));
    }
    int pidfd = sys_pidfd_open(*pid);
    rc = pidfd < 0 ? -errno : child_watch(a, *pid, pidfd, false, task_id, tracer);
    if (rc != 0) {
        /* Unwatched, it would run untracked: end it now. */
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
        close(fds[0]);
        return sca_error_set(err, rc, "cannot watch sca-tracer %d: %s", (int)*pid, strerror(-rc));
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
    if (sys_pidfd_send_signal(c->pidfd, signo) != 0)
        return sca_error_set(err, -errno, "cannot signal sca-tracer %d: %s", (int)pid,
                             strerror(errno));
    return 0;
}

int children_adopt(agent *a, pid_t pid, int64_t task_id, const char *task_uuid, const char *tracer)
{
    if (child_find(a, pid) != NULL)
        return 0;
    if (!paths_pid_is_tracer(pid, task_uuid, tracer))
        return -ESRCH;
    int fd = sys_pidfd_open(pid);
    if (fd < 0)
        return -errno;
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
