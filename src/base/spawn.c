/*
 * spawn.c - posix_spawn with a pidfd; see scalpels/spawn.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scalpels/spawn.h"

extern char **environ;

int sca_pidfd_open(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

int sca_pidfd_signal(int pidfd, int signo)
{
    return syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0) == 0 ? 0 : -errno;
}

void sca_pipes_close(int (*pipes)[2], int n)
{
    for (int i = 0; i < n; i++) {
        for (int end = 0; end < 2; end++) {
            if (pipes[i][end] >= 0)
                close(pipes[i][end]);
            pipes[i][end] = -1;
        }
    }
}

int sca_pipes_new(int (*pipes)[2], int n, const char *what, sca_error *err)
{
    for (int i = 0; i < n; i++) {
        if (pipe2(pipes[i], O_CLOEXEC) != 0) {
            int rc = -errno;
            sca_pipes_close(pipes, i);
            return sca_error_set(err, rc, "cannot make a pipe for %s: %s", what, strerror(-rc));
        }
    }
    return 0;
}

static int file_actions_new(posix_spawn_file_actions_t *fa, const int *fds, int nfds)
{
    int rc = posix_spawn_file_actions_init(fa);
    for (int i = 0; rc == 0 && i < nfds; i++)
        rc = fds[i] >= 0 ? posix_spawn_file_actions_adddup2(fa, fds[i], i)
                         : posix_spawn_file_actions_addopen(fa, i, "/dev/null",
                                                            i == 0 ? O_RDONLY : O_WRONLY, 0);
    if (rc != 0)
        posix_spawn_file_actions_destroy(fa);
    return rc;
}

static int attr_new(posix_spawnattr_t *attr, const sigset_t *blocked)
{
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    int rc = posix_spawnattr_init(attr);
    if (rc != 0)
        return rc;
    rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(attr, blocked ? blocked : &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(attr, &all);
    if (rc != 0)
        posix_spawnattr_destroy(attr);
    return rc;
}

int sca_spawn(char *const argv[], const int *fds, int nfds, const sigset_t *blocked, pid_t *pid,
              sca_error *err)
{
    /* The descriptors are set in order: one handed over must not be in a
     * slot an earlier one has overwritten. */
    for (int i = 0; i < nfds; i++) {
        int from = fds[i];
        if (from >= 0 && from < i && fds[from] != from)
            return sca_error_set(err, -EINVAL, "cannot start %s: descriptor %d given as %d",
                                 argv[0], from, i);
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = file_actions_new(&fa, fds, nfds);
    if (rc != 0)
        return sca_error_set(err, -rc, "cannot start %s: %s", argv[0], strerror(rc));
    rc = attr_new(&attr, blocked);
    if (rc == 0) {
        rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
    }
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return sca_error_set(err, -rc, "cannot start %s: %s", argv[0], strerror(rc));
    return 0;
}

int sca_spawn_reaped(pid_t pid, int *exit_code, int *exit_signal)
{
    int status;
    *exit_code = -1;
    *exit_signal = 0;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got < 0)
        return -errno;
    if (got == 0)
        return 0;
    if (WIFEXITED(status))
        *exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        *exit_signal = WTERMSIG(status);
    return 1;
}
