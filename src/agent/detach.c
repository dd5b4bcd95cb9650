/*
 * detach.c - how sca-agent leaves the terminal.
 *
 * The agent forks before it starts anything (no threads yet); the parent
 * waits on a pipe until the child reports that it listens (or why it could
 * not), so that `sca-agent && sca ...` works.  The child logs to
 * STATE_DIR/agent.log from then on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "scalpels/paths.h"
#include "scalpels/util.h"

#define DETACH_WAIT_MS 15000 /* for the broker link, before detaching anyway */

/* In the parent: waits for the child's report, prints it and exits. */
static void parent_wait(int ready_fd)
{
    char msg[SCA_ERRMSG_MAX];
    ssize_t n, got = 0;
    while ((n = read(ready_fd, msg + got, sizeof(msg) - 1 - (size_t)got)) > 0)
        got += n;
    msg[got > 0 ? got : 0] = '\0';
    if (got > 0 && msg[0] == '\0') {
        if (got > 1)
            fprintf(stderr, "sca-agent: %s\n", msg + 1);
        _exit(0);
    }
    fprintf(stderr, "sca-agent: %s\n", got > 0 ? msg : "exited during start-up");
    _exit(1);
}

/* In the detached child, before start-up: log lines go to
 * STATE_DIR/agent.log from here on, so that what start-up finds (tracers
 * adopted or found gone, where it listens) is in the log and not on the
 * terminal the agent leaves.  Returns whether the log is open. */
static bool open_log(const agent *a)
{
    sca_error ignored = {0};
    if (paths_make_state_dir(a->cfg.state_dir, &ignored) != 0)
        return false;
    char *logpath = sca_asprintf("%s/agent.log", a->cfg.state_dir);
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    free(logpath);
    if (logfd < 0)
        return false;
    bool open_ok = dup2(logfd, STDERR_FILENO) == STDERR_FILENO;
    close(logfd);
    return open_ok;
}

int detach_begin(agent *a)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid > 0) {
        close(fds[1]);
        parent_wait(fds[0]);
    }
    close(fds[0]);
    setsid();
    a->detach_fd = fds[1];
    a->detach_log_open = open_log(a);
    return 0;
}

/* Reports the start-up outcome to the waiting parent, which prints a
 * failure (rc != 0) or a warning (started, with something to say), and
 * drops the terminal: stdio to /dev/null, and stderr too when the log could
 * not be opened. */
static void report(int ready_fd, bool log_open, int rc, const char *msg)
{
    if (rc != 0) {
        ssize_t w = write(ready_fd, msg, strlen(msg));
        (void)w;
        close(ready_fd);
        return;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        if (!log_open)
            dup2(devnull, STDERR_FILENO);
        close(devnull);
    }
    /* A NUL first says "started"; a warning may follow. */
    ssize_t w = write(ready_fd, "", 1);
    if (msg != NULL && w == 1)
        w = write(ready_fd, msg, strlen(msg));
    (void)w;
    close(ready_fd);
}

void detach_release(agent *a, const char *warning)
{
    if (a->detach_fd < 0)
        return;
    report(a->detach_fd, a->detach_log_open, 0, warning);
    a->detach_fd = -1;
    rpc_transport_on_state(a->transport[0], NULL, NULL);
    uv_close((uv_handle_t *)a->detach_timer, (uv_close_cb)free);
    a->detach_timer = NULL;
}

static void on_link_state(rpc_transport *t, bool up, const char *detail, void *arg)
{
    (void)t;
    (void)detail;
    if (up)
        detach_release(arg, NULL);
}

static void on_detach_timer(uv_timer_t *timer)
{
    agent *a = timer->data;
    char warning[SCA_ERRMSG_MAX];
    snprintf(warning, sizeof(warning),
             "warning: listening on unix://%s/agent.sock, but not connected to %s within %ds; "
             "it keeps trying (why it cannot: %s/agent.log)",
             a->cfg.state_dir, rpc_transport_describe(a->transport[0]), DETACH_WAIT_MS / 1000,
             a->cfg.state_dir);
    detach_release(a, warning);
}

/* Over AMQP the servers listen once the broker has confirmed their queues:
 * the parent waits for that, so that `sca-agent && sca ...` finds them. */
static void release_when_linked(agent *a)
{
    a->detach_timer = sca_malloc(sizeof(*a->detach_timer));
    uv_timer_init(a->loop, a->detach_timer);
    a->detach_timer->data = a;
    uv_timer_start(a->detach_timer, on_detach_timer, DETACH_WAIT_MS, 0);
    rpc_transport_on_state(a->transport[0], on_link_state, a);
    if (rpc_transport_is_up(a->transport[0]))
        detach_release(a, NULL);
}

void detach_started(agent *a, int rc, const char *msg)
{
    if (a->detach_fd < 0)
        return;
    if (rc == 0 && a->server[1] != NULL) {
        release_when_linked(a);
        return;
    }
    report(a->detach_fd, a->detach_log_open, rc, msg);
    a->detach_fd = -1;
}
