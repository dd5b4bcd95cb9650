/*
 * children.c - the agent's sca-tracer processes: a table of the ones it
 * watches, each with the task id and tracer it runs for, and the end of
 * each reported through the callback given to children_init.  It knows
 * nothing of tasks beyond those two values.
 *
 * Tracers the agent spawned are watched through their uv_process exit
 * callback.  Tracers that outlived an earlier agent are no longer our
 * children, so no exit callback would come: they are adopted through a
 * pidfd (readable when the process ends), which also makes signalling them
 * safe against pid reuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "scalpels/log.h"
#include "scalpels/paths.h"
#include "scalpels/util.h"

struct child {
    struct child *next;
    agent *a;
    pid_t pid;
    int64_t task_id;
    char tracer[SCA_TRACER_NAME_MAX + 1];
    bool adopted;
    int pidfd;
    union {
        uv_process_t process; /* spawned by this agent */
        uv_poll_t poll;       /* adopted: watches pidfd */
    } h;
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
    uv_close(c->adopted ? (uv_handle_t *)&c->h.poll : (uv_handle_t *)&c->h.process,
             on_child_closed);
}

static void on_child_exit(uv_process_t *p, int64_t status, int term_signal)
{
    struct child *c = p->data;
    if (term_signal)
        log_info("sca-tracer %d (%s) killed by signal %d", (int)c->pid, c->tracer, term_signal);
    else
        log_info("sca-tracer %d (%s) exited with status %d", (int)c->pid, c->tracer, (int)status);
    child_gone(c, term_signal ? -1 : (int)status, term_signal);
}

static void on_pidfd(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct child *c = h->data;
    log_info("adopted sca-tracer %d (%s) ended", (int)c->pid, c->tracer);
    uv_poll_stop(h);
    child_gone(c, -1, 0);
}

static struct child *child_new(agent *a, int64_t task_id, const char *tracer)
{
    struct child *c = sca_calloc(1, sizeof(*c));
    c->a = a;
    c->task_id = task_id;
    c->pidfd = -1;
    snprintf(c->tracer, sizeof(c->tracer), "%s", tracer);
    return c;
}

void children_init(agent *a, children_exit_fn *on_exit, void *arg)
{
    a->children = (struct children){.on_exit = on_exit, .arg = arg};
}

#define REPORT_FD "3" /* the tracer's end of the start report pipe */

int children_spawn(agent *a, int64_t task_id, const char *task_uuid, const char *tracer, pid_t *pid,
                   int *report_fd, sca_error *err)
{
    char *argv[8];
    int n = 0;
    argv[n++] = a->tracer_program;
    if (a->config_path != NULL) {
        argv[n++] = "--config";
        argv[n++] = (char *)a->config_path;
    }
    argv[n++] = "--status-fd";
    argv[n++] = REPORT_FD;
    argv[n++] = (char *)task_uuid;
    argv[n++] = (char *)tracer;
    argv[n] = NULL;
    /* Close-on-exec here, so that no other child holds the pipe open; the
     * tracer gets its end as fd 3 and keeps it from its worker. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return sca_error_set(err, -errno, "cannot make a pipe for sca-tracer: %s", strerror(errno));
    uv_stdio_container_t stdio[4] = {
        {.flags = UV_IGNORE},
        {.flags = UV_INHERIT_FD, .data.fd = STDERR_FILENO},
        {.flags = UV_INHERIT_FD, .data.fd = STDERR_FILENO},
        {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
    };
    struct child *c = child_new(a, task_id, tracer);
    uv_process_options_t po = {
        .exit_cb = on_child_exit,
        .file = a->tracer_program,
        .args = argv,
        /* Its own session: a Ctrl-C meant for the agent's terminal must not
         * reach the tracers, and they outlive the agent. */
        .flags = UV_PROCESS_DETACHED,
        .stdio_count = 4,
        .stdio = stdio,
    };
    c->h.process.data = c;
    int rc = uv_spawn(a->loop, &c->h.process, &po);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        free(c);
        return sca_error_set(err, rc, "cannot start %s: %s", a->tracer_program, uv_strerror(rc));
    }
    *report_fd = fds[0];
    c->pid = c->h.process.pid;
    c->next = a->children.list;
    a->children.list = c;
    *pid = c->pid;
    log_info("started sca-tracer %d for %s in task %s", (int)c->pid, tracer, task_uuid);
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
    int rc = c->adopted ? sys_pidfd_send_signal(c->pidfd, signo) : kill(pid, signo);
    if (rc != 0)
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
    struct child *c = child_new(a, task_id, tracer);
    c->pid = pid;
    c->pidfd = fd;
    c->adopted = true;
    c->h.poll.data = c;
    int rc = uv_poll_init(a->loop, &c->h.poll, fd);
    if (rc == 0)
        rc = uv_poll_start(&c->h.poll, UV_READABLE, on_pidfd);
    if (rc != 0) {
        close(fd);
        free(c);
        return rc;
    }
    c->next = a->children.list;
    a->children.list = c;
    log_info("adopted running sca-tracer %d for %s", (int)pid, tracer);
    return 0;
}

void children_close(agent *a)
{
    while (a->children.list != NULL) {
        struct child *c = a->children.list;
        a->children.list = c->next;
        uv_close(c->adopted ? (uv_handle_t *)&c->h.poll : (uv_handle_t *)&c->h.process,
                 on_child_closed);
    }
}
