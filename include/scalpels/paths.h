/*
 * paths.h - where Scalpels' own files are, found from the running program's
 * location so that an installed tree (PREFIX/bin, PREFIX/share/scalpels) and
 * the build tree (build/bin, build/share/scalpels) both work without
 * environment variables; and whether a process is one of its tracers.
 */
#ifndef SCALPELS_PATHS_H
#define SCALPELS_PATHS_H

#include <stdbool.h>
#include <sys/types.h>

#include "scalpels/error.h"

/* STATE_DIR's mode: its owner and group (the agent's: the group that may
 * use the socket and read the database) enter it, nobody else. */
#define PATHS_STATE_DIR_MODE 0750

/* Directory holding the running executable; the caller frees it. */
char *paths_exe_dir(void);

/* PREFIX/share/scalpels/tracers for the running executable; caller frees. */
char *paths_tracer_dir(void);

/* Path of a sibling program (e.g. "sca-tracer") next to the running one. */
char *paths_program(const char *name);

/* Creates dir, the directory of the node's state (the database, the
 * agent's socket and log), with PATHS_STATE_DIR_MODE whatever the umask,
 * and missing parents with 0755.  An existing directory is left as it is:
 * it may be shared with others, and the files in it have modes of their
 * own. */
int paths_make_state_dir(const char *dir, sca_error *err);

/* True when pid runs "sca-tracer ... TASK TRACER" (task_uuid NULL: any task)
 * and is not a zombie: a recorded pid may have been reused by anything
 * since.  Reads /proc/PID/cmdline. */
bool paths_pid_is_tracer(pid_t pid, const char *task_uuid, const char *tracer);

#endif
