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

/* Directory holding the running executable; the caller frees it. */
char *paths_exe_dir(void);

/* PREFIX/share/scalpels/tracers for the running executable; caller frees. */
char *paths_tracer_dir(void);

/* Path of a sibling program (e.g. "sca-tracer") next to the running one. */
char *paths_program(const char *name);

/* True when pid runs "sca-tracer ... TASK TRACER" (task_uuid NULL: any task)
 * and is not a zombie: a recorded pid may have been reused by anything
 * since.  Reads /proc/PID/cmdline. */
bool paths_pid_is_tracer(pid_t pid, const char *task_uuid, const char *tracer);

#endif
