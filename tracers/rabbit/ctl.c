/*
 * ctl.c - switching the broker's firehose with rabbitmqctl: tracing is a
 * per-vhost switch that only the management CLI (Erlang distribution) can
 * flip, not AMQP.  The program is spawned directly, never through a shell,
 * and never through sudo: the caller gives it the rights (cookie) it needs.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "rabbit.h"

extern char **environ;

/* Spawns argv with its stdout on our stderr: what rabbitmqctl says belongs in
 * the task's log, not among the traced messages on our stdout.  SIGPIPE,
 * which we ignore, is reset for it. */
static int spawn(char *const argv[], pid_t *pid, sca_error *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t dfl;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return sca_error_set(err, -rc, "cannot run %s: %s", argv[0], strerror(rc));
    rc = posix_spawnattr_init(&attr);
    if (rc == 0) {
        sigemptyset(&dfl);
        sigaddset(&dfl, SIGPIPE);
        rc = posix_spawn_file_actions_adddup2(&fa, 2, 1);
        if (rc == 0)
            rc = posix_spawnattr_setsigdefault(&attr, &dfl);
        if (rc == 0)
            rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
        if (rc == 0)
            rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
    }
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return sca_error_set(err, -rc, "cannot run %s: %s%s", argv[0], strerror(rc),
                             rc == ENOENT ? " (install rabbitmq-server, or give --rabbitmqctl PATH)"
                                          : "");
    return 0;
}

static int wait_child(pid_t pid, int *status, sca_error *err)
{
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return sca_error_set(err, -errno, "waitpid: %s", strerror(errno));
    return 0;
}

int ctl_trace(const rabbit_opts *o, const char *vhost, bool on, sca_error *err)
{
    const char *action = on ? "trace_on" : "trace_off";
    const char *argv[9];
    size_t n = 0;
    argv[n++] = o->rabbitmqctl;
    if (o->node != NULL) {
        argv[n++] = "-n";
        argv[n++] = o->node;
    }
    argv[n++] = "-q";
    argv[n++] = action;
    argv[n++] = "-p";
    argv[n++] = vhost;
    argv[n] = NULL;

    pid_t pid;
    int status;
    int rc = spawn((char *const *)argv, &pid, err);
    if (rc == 0)
        rc = wait_child(pid, &status, err);
    if (rc != 0)
        return rc;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        return sca_error_set(err, -EIO, "%s %s -p %s failed (exit %d)", o->rabbitmqctl, action,
                             vhost, WEXITSTATUS(status));
    return sca_error_set(err, -EINTR, "%s %s -p %s killed by signal %d", o->rabbitmqctl, action,
                         vhost, WTERMSIG(status));
}
