/*
 * spawn.h - starting a program the way every Scalpels process starts its
 * children: posix_spawn (the parent's address space is never copied, which
 * keeps starting many at once cheap), a session of its own, default signal
 * handling with nothing blocked, and a pidfd to watch, reap and signal it
 * without pid reuse races.
 *
 * Errors: 0 or a negative errno code, with a sentence in *err.
 * Threading: safe to call from any thread; the caller's descriptors must be
 * close-on-exec except those it hands over.
 */
#ifndef SCALPELS_SPAWN_H
#define SCALPELS_SPAWN_H

#include <sys/types.h>

#include "scalpels/error.h"

/* Spawns argv (argv[0] is looked up in PATH when it has no slash).  The
 * child's descriptor i is fds[i] for i < nfds, or /dev/null (read-only for
 * 0, write-only otherwise) where fds[i] is -1.  The slots are set in
 * order, so fds[i] may not be a slot j < i that fds[j] changes (-EINVAL).
 * On success *pid is the child and *pidfd a pidfd for it (the caller owns
 * and closes it; it is readable once the child ends, see sca_spawn_reap). */
int sca_spawn(char *const argv[], const int *fds, int nfds, pid_t *pid, int *pidfd, sca_error *err);

/* Reaps the ended child behind pidfd: *exit_code is its status, or -1 with
 * the signal that killed it in *exit_signal (else 0). */
int sca_spawn_reap(int pidfd, int *exit_code, int *exit_signal, sca_error *err);

/* Signals the process behind pidfd. */
int sca_pidfd_signal(int pidfd, int signo);

/* A pidfd for pid, or a negative errno code. */
int sca_pidfd_open(pid_t pid);

#endif
