/*
 * spawn.h - starting a program the way every Scalpels process starts its
 * children: posix_spawn (the parent's address space is never copied, which
 * keeps starting many at once cheap), a session of its own, and default
 * signal handling with nothing blocked unless asked.  The caller learns of
 * the child's end from SIGCHLD and reaps it with sca_spawn_reaped, which
 * also works where pidfds do not (valgrind); pidfds serve processes that
 * are not our children.
 *
 * Errors: 0 or a negative errno code, with a sentence in *err.
 * Threading: safe to call from any thread; the caller's descriptors must be
 * close-on-exec except those it hands over.
 */
#ifndef SCALPELS_SPAWN_H
#define SCALPELS_SPAWN_H

#include <signal.h>
#include <sys/types.h>

#include "scalpels/error.h"

/* Spawns argv (argv[0] is looked up in PATH when it has no slash) as *pid.
 * The child's descriptor i is fds[i] for i < nfds, or /dev/null (read-only
 * for 0, write-only otherwise) where fds[i] is -1.  The slots are set in
 * order, so fds[i] may not be a slot j < i that fds[j] changes (-EINVAL).
 * The child starts with the signals in *blocked blocked (NULL: none): a
 * program that unblocks its stop signals once it has handlers for them
 * is then not ended by one that comes before. */
int sca_spawn(char *const argv[], const int *fds, int nfds, const sigset_t *blocked, pid_t *pid,
              sca_error *err);

/* Makes n close-on-exec pipes (a child gets its ends through sca_spawn's
 * fds, so that no other child holds them open), all or none: 0, or a
 * negative errno code with "cannot make a pipe for WHAT: ..." in *err.
 * pipes[i] is {read end, write end}. */
int sca_pipes_new(int (*pipes)[2], int n, const char *what, sca_error *err);
/* Closes every end of the n pipes that is not -1, and sets it to -1. */
void sca_pipes_close(int (*pipes)[2], int n);

/* Reaps child pid if it has ended, without waiting: 1 and its status in
 * *exit_code, or -1 there with the signal that killed it in *exit_signal
 * (else 0); 0 while it runs; or a negative errno code. */
int sca_spawn_reaped(pid_t pid, int *exit_code, int *exit_signal);

/* A pidfd for pid (a process that is not our child), or a negative errno
 * code; it is readable once the process ends. */
int sca_pidfd_open(pid_t pid);

/* Signals the process behind pidfd: 0 or a negative errno code. */
int sca_pidfd_signal(int pidfd, int signo);

#endif
