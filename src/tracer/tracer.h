/*
 * tracer.h - one run of sca-tracer: the worker process, its pipes, the stop
 * sequence and the flush schedule, on a libuv loop.
 */
#ifndef SCALPELS_TRACER_TRACER_H
#define SCALPELS_TRACER_TRACER_H

#include <stdint.h>

#include "ingest.h"
#include "scalpels/store.h"

#define TRACER_FLUSH_LINES 1000
#define TRACER_FLUSH_MS 100
#define TRACER_MAX_LINE (64 * 1024)
#define TRACER_BUSY_MS 50 /* a flush waits this long for another writer */
#define TRACER_RETRY_MS 100
#define TRACER_HOLD_BYTES (64u << 20) /* held while the store refuses writes */
/* Below this much free space the store's log is checkpointed after every
 * batch: many times SQLite's own threshold (about 4 MiB of log), since a
 * burst of lines may write that much in well under a second. */
#define TRACER_LOW_SPACE (64u << 20)
#define TRACER_END_WAIT_MS 30000 /* for room to record the end of a run */
/* The start check (with a start report only): a worker still running this
 * long after its spawn has started, unless it wrote on stderr and nothing
 * on stdout, when its exit is awaited up to TRACER_START_MAX_MS (a usage
 * error is said before the exit, and a sanitizer's exit takes a while).
 * Short, since every start waits for it; a worker failing silently later
 * shows in its results and the task's state instead.  A worker that says
 * it runs (a line on SCA_READY_FD) ends the check at once. */
#define TRACER_START_MS 250
#define TRACER_START_MAX_MS 3000

typedef struct tracer_run_opts {
    store *store;
    ingest *ingest; /* borrowed */
    int64_t task_id;
    const char *tracer; /* name */
    char **argv;        /* the expanded worker command */
    double stop_grace;  /* seconds from SIGINT to SIGKILL */
    int *status_fd;     /* the start report's (tracer_report_start), or -1 */
} tracer_run_opts;

/* What happened to the worker. */
typedef struct tracer_outcome {
    int64_t worker_pid; /* 0 when it could not be started */
    int exit_code;      /* -1 when killed by a signal or never started */
    int exit_signal;
} tracer_outcome;

/* Spawns the worker and streams its output until it has ended and every
 * line is stored.  Returns 0, or an error when the worker could not be
 * started or the store refused the last batch.  With a start report, it
 * reports once the worker is seen to run: it said so on SCA_READY_FD,
 * printed a line on stdout, exited with status 0, was stopped, or still
 * runs after the start check; or that it failed: it exited otherwise
 * before any of that. */
int tracer_run(const tracer_run_opts *opts, tracer_outcome *out, sca_error *err);

/* The start report to whoever started the tracer (sca-agent passes the
 * write end of a pipe with --status-fd): one line, "started" or
 * "failed: WHY" (why NULL: started), then *fd is closed and set to -1.
 * Nothing happens when *fd is -1 already. */
void tracer_report_start(int *fd, const char *why);

#endif
