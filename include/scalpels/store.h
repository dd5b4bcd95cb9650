/*
 * store.h - the node's SQLite database: tracers, their options, tasks,
 * results and samples.
 *
 * One file per node in WAL mode; the agent, every tracer and sca-manage each
 * open their own connection (busy_timeout set, foreign keys on, prepared
 * statements reused).  The schema version lives in PRAGMA user_version and
 * opening a writable store migrates it forward from any older version,
 * starting with an empty file.
 *
 * Tables (later tools rely on these names):
 *   config      key/value data options used by tracer templates
 *   tracer      registered tracers: name, tpl, parser, title, running, pid
 *   task        one trace session: uuid, created, stopped, status, deadline
 *   task_tracer which tracer ran in which task: pid, exit status, counters
 *   result      one series: uuid, task, tracer, name, unit, rtype
 *   sample      rows of a series: result_id, ts (unix seconds), value or text
 *
 * Not thread-safe: one store handle per thread.
 */
#ifndef SCALPELS_STORE_H
#define SCALPELS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scalpels/error.h"
#include "scalpels/util.h"
#include "scalpels/vocab.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_RTYPE_STREAM "stream" /* the original's names for numeric ... */
#define STORE_RTYPE_LOG "log"       /* ... and text series */

typedef struct store store;

enum store_open_flags {
    STORE_CREATE = 1 << 0,   /* create the file if missing */
    STORE_READONLY = 1 << 1, /* never write, never migrate */
};

/* The mode of the database and of its -wal and -shm files: the owner
 * reads and writes, the file's group (the agent's) reads, nobody else. */
#define STORE_FILE_MODE 0640

/* Opens (and with STORE_CREATE creates, with STORE_FILE_MODE whatever the
 * umask) the database at path and migrates it to STORE_SCHEMA_VERSION.  A
 * writable open takes any permission beyond STORE_FILE_MODE from the
 * database, -wal and -shm files, logging a warning for each.  A missing
 * file without STORE_CREATE is -ENOENT; a file from a newer Scalpels is
 * -EPROTO. */
int store_open(const char *path, int flags, store **out, sca_error *err);
void store_close(store *s);
#define STORE_BUSY_MS 10000

/* How long a statement waits for another connection's lock (a write, a
 * checkpoint) to end before it fails with -EBUSY, "database is locked"
 * (default STORE_BUSY_MS).  Errors of writes: -EBUSY (locked), -ENOSPC
 * (the disk is full), -EIO (anything else). */
void store_set_busy_timeout(store *s, int ms);
/* Ends every such wait at deadline too (sca_monotonic() seconds; 0 =
 * none), until changed: a caller who gives up at a known time then hears
 * the reason first. */
void store_set_deadline(store *s, double deadline);
/* The write-ahead log is cut back to this many bytes once checkpointed
 * (PRAGMA journal_size_limit), and keeps them. */
#define STORE_WAL_KEEP_TEXT "1048576"
/* Copies the write-ahead log into the database and restarts it (PRAGMA
 * wal_checkpoint(RESTART)): the next write starts it again from the top and
 * cuts it back to STORE_WAL_KEEP_TEXT bytes, giving the rest of its space
 * back.  -EBUSY when a reader or writer kept it from finishing. */
int store_checkpoint(store *s, sca_error *err);
/* Bytes free for this user on the file system of the database. */
int store_free_space(const store *s, uint64_t *bytes, sca_error *err);

/* Room kept for a full disk: a file of STORE_ROOM_BYTES beside the
 * database (PATH-room), given back when a write fails for want of space so
 * that a small record (a tracer's held lines, its end) still goes in, and
 * made again once there is space.  Both are best effort and cheap when
 * there is nothing to do: keep returns 0 when the file is there (made now
 * or before), release whether there was one to give back. */
#define STORE_ROOM_BYTES (256 * 1024)
int store_room_keep(const store *s);
bool store_room_release(const store *s);
const char *store_path(const store *s);
int store_schema_version(store *s, sca_error *err);

/* Explicit transactions, for callers grouping several writes. */
int store_begin(store *s, sca_error *err);
int store_commit(store *s, sca_error *err);
void store_rollback(store *s);

/* --- config: data options ------------------------------------------------ */

/* *out: a new JSON object of string values. */
int store_config_get(store *s, json_t **out, sca_error *err);
/* The value of key in a new string (-ENOENT when unset). */
int store_config_get_value(store *s, const char *key, char **out, sca_error *err);
/* Sets every key of opts (an object of string, number or boolean values);
 * all or nothing.  A null value deletes the key. */
int store_config_update(store *s, json_t *opts, sca_error *err);

/* --- tracers ------------------------------------------------------------- */

typedef struct store_tracer {
    char name[SCA_TRACER_NAME_MAX + 1];
    char *tpl;
    char *parser;
    char *title; /* display name of its results, e.g. "Port Traffic" */
    bool running;
    int64_t pid;     /* 0 when none */
    char *task_uuid; /* task it runs for, NULL when not running */
    double started;  /* unix seconds, 0 when not running */
} store_tracer;

/* Getters zero their output first, so clearing it is safe after an error. */
void store_tracer_clear(store_tracer *t);
void store_tracer_array_free(store_tracer *v, size_t n);

/* Inserts or updates tpl, parser and title (NULL title = the name) of
 * tracer name.  Validates the name and that tpl is not empty; the caller
 * validates the parser. */
int store_tracer_register(store *s, const char *name, const char *tpl, const char *parser,
                          const char *title, sca_error *err);
int store_tracer_get(store *s, const char *name, store_tracer *out, sca_error *err);
int store_tracer_list(store *s, store_tracer **out, size_t *n, sca_error *err);
/* "a, b, c": the registered tracers' names, for messages (new string;
 * "none" when there is none or the list cannot be read). */
char *store_tracer_names(store *s);
/* Marks tracer running with pid for task_uuid, or (running false) stopped. */
int store_tracer_set_running(store *s, const char *name, bool running, int64_t pid,
                             const char *task_uuid, sca_error *err);
int store_tracer_set_pid(store *s, const char *name, int64_t pid, sca_error *err);
/* Uuids of every result the tracer produced, oldest first (new JSON array). */
int store_tracer_results(store *s, const char *name, json_t **out, sca_error *err);

/* --- tasks --------------------------------------------------------------- */

typedef struct store_task {
    int64_t id;
    char uuid[SCA_UUID_LEN + 1];
    double created;
    double stopped;  /* 0 while running */
    char status[16]; /* "running" or "stopped" */
    double deadline; /* unix seconds at which the agent stops it; 0 = none */
} store_task;

/* Creates a task; uuid NULL makes a fresh one. */
int store_task_create(store *s, const char *uuid, double deadline, store_task *out, sca_error *err);
/* Exact uuid. */
int store_task_get(store *s, const char *uuid, store_task *out, sca_error *err);
/* A full uuid or a unique prefix of at least SCA_UUID_PREFIX_MIN
 * characters; an unknown or ambiguous prefix is an error that says which. */
int store_task_find(store *s, const char *prefix, store_task *out, sca_error *err);
/* The newest task (-ENOENT when there is none). */
int store_task_latest(store *s, store_task *out, sca_error *err);
/* Writes status, stopped and deadline of t (found by t->id). */
int store_task_update(store *s, const store_task *t, sca_error *err);
/* Marks the task stopped (now) when it is running and none of its tracers
 * is still running; *closed tells whether it did. */
int store_task_close_if_idle(store *s, int64_t task_id, bool *closed, sca_error *err);
/* Newest first; limit <= 0 means all. */
int store_task_list(store *s, int limit, store_task **out, size_t *n, sca_error *err);
/* How many tasks are running. */
int store_task_count_running(store *s, int64_t *n, sca_error *err);
/* The running tasks, newest first. */
int store_task_list_running(store *s, store_task **out, size_t *n, sca_error *err);

typedef struct store_task_tracer {
    int64_t task_id;
    char tracer[SCA_TRACER_NAME_MAX + 1];
    int64_t pid;        /* the sca-tracer process */
    int64_t worker_pid; /* its worker (also the worker's process group) */
    double started;
    double stopped;   /* 0 while running */
    int exit_code;    /* -1 when unknown or killed by a signal */
    int exit_signal;  /* 0 when it exited by itself */
    int64_t lines;    /* lines read from the worker */
    int64_t unparsed; /* lines the parser could not read */
    /* While it runs: */
    bool stopping;        /* asked to stop, not ended yet */
    int64_t held;         /* lines waiting in memory for the store to take them */
    char held_reason[32]; /* why the store does not ("disk full"), "" when none */
} store_task_tracer;

/* Records that tracer runs in task with pid.  The agent (after spawning)
 * and the tracer (as it begins) both call it, in either order: the row is
 * made once, a pid of 0 keeps the one known, and an end already recorded
 * is kept. */
int store_task_tracer_start(store *s, int64_t task_id, const char *tracer, int64_t pid,
                            sca_error *err);
int store_task_tracer_set_worker(store *s, int64_t task_id, const char *tracer, int64_t worker_pid,
                                 sca_error *err);
/* Records how many lines tracer has stored in task so far (the tracer does
 * it with every batch, so that the counts are true while it runs and after
 * it is killed). */
int store_task_tracer_count(store *s, int64_t task_id, const char *tracer, int64_t lines,
                            int64_t unparsed, sca_error *err);
/* Records what a running tracer tells about itself: whether it was asked
 * to stop, and how many lines it holds because the store does not take
 * them, and why (NULL: none).  Writing a batch (store_task_tracer_count)
 * or the end clears the held lines. */
int store_task_tracer_set_hold(store *s, int64_t task_id, const char *tracer, bool stopping,
                               int64_t held, const char *reason, sca_error *err);
/* Records the end of tracer's run in task. */
int store_task_tracer_finish(store *s, const store_task_tracer *tt, sca_error *err);
int store_task_tracer_list(store *s, int64_t task_id, store_task_tracer **out, size_t *n,
                           sca_error *err);

/* --- results and samples -------------------------------------------------- */

typedef struct store_result {
    int64_t id;
    char uuid[SCA_UUID_LEN + 1];
    int64_t task_id;
    char task_uuid[SCA_UUID_LEN + 1]; /* filled by get/list */
    char tracer[SCA_TRACER_NAME_MAX + 1];
    char *name;
    char *unit;    /* NULL when the series has no unit */
    char *rtype;   /* STORE_RTYPE_STREAM (numbers) or STORE_RTYPE_LOG (text) */
    int64_t count; /* samples, filled by get/list */
} store_result;

void store_result_clear(store_result *r);
void store_result_array_free(store_result *v, size_t n);

int store_result_create(store *s, int64_t task_id, const char *tracer, const char *name,
                        const char *unit, const char *rtype, store_result *out, sca_error *err);
/* A full uuid or unique prefix (as store_task_find). */
int store_result_get(store *s, const char *uuid, store_result *out, sca_error *err);
/* The same without counting the samples (count -1): counting walks the
 * result's index, too much for every page of a long series. */
int store_result_get_uncounted(store *s, const char *uuid, store_result *out, sca_error *err);
/* Results of one task (task_id > 0) or of all tasks (task_id <= 0),
 * oldest first. */
int store_result_list(store *s, int64_t task_id, store_result **out, size_t *n, sca_error *err);

typedef struct store_sample {
    int64_t result_id;
    double ts;        /* unix seconds */
    double value;     /* used when text is NULL */
    const char *text; /* borrowed; text_len bytes */
    size_t text_len;
} store_sample;

/* Appends n samples in one transaction (or inside the caller's). */
int store_sample_append(store *s, const store_sample *v, size_t n, sca_error *err);

typedef int (*store_sample_fn)(void *ctx, double ts, bool is_text, double value, const char *text,
                               size_t text_len);
/* Calls fn for each sample of the result in time order; a non-zero return
 * from fn stops the walk and is returned. */
int store_sample_foreach(store *s, int64_t result_id, store_sample_fn fn, void *ctx,
                         sca_error *err);

/* Like store_sample_foreach over the samples from position offset (0 = the
 * first, in time order), at most limit of them (limit <= 0: all). */
int store_sample_page(store *s, int64_t result_id, int64_t offset, int64_t limit,
                      store_sample_fn fn, void *ctx, sca_error *err);

/* A sample's place in its result's key order: by timestamp, then by
 * rowid (the order of arrival among equal timestamps). */
typedef struct store_cursor {
    double ts;
    int64_t rowid;
} store_cursor;

/* Keyset paging: calls fn for the samples of the result that come after
 * *after in key order (from the first when after is NULL), at most limit
 * of them (limit <= 0: no limit).  Each page starts where the last ended,
 * through the index, whatever the number of samples before it; samples
 * appended meanwhile come in later pages.  fn returning non-zero stops the
 * walk before that sample (the next page starts with it).  *last gets the
 * key of each sample fn took (unchanged when it took none), *more whether
 * samples are left after them (false: the walk reached the end). */
int store_sample_after(store *s, int64_t result_id, const store_cursor *after, int64_t limit,
                       store_sample_fn fn, void *ctx, store_cursor *last, bool *more,
                       sca_error *err);

typedef struct store_summary {
    int64_t count;
    double first, last; /* timestamps; 0 when count is 0 */
    /* numeric samples only: */
    int64_t numbers;
    double min, avg, max, p95;
    double last_value; /* of the last numeric sample in key order */
    /* averages of spark_slices (at most SCA_SPARK_SLICES, at most one per
     * sample) equal time slices from first to last; spark_set[i] false when
     * slice i has no sample */
    int spark_slices;
    double spark[SCA_SPARK_SLICES];
    bool spark_set[SCA_SPARK_SLICES];
} store_summary;

/* Statistics of one result's samples. */
int store_result_summary(store *s, int64_t result_id, store_summary *out, sca_error *err);

/* What a series read selected: the samples with ts > since. */
typedef struct store_span {
    int64_t count;
    double first, last; /* their first and last timestamps; 0 when none */
} store_span;

/* The numeric samples of the result with ts > since (-INFINITY: all),
 * reduced for a chart to at most points (below 2 counts as 2), to fn in
 * key order: every one when there are at most points; else the span from
 * the first to the last is cut into points / 2 equal time buckets, and of
 * each bucket holding samples its lowest and its highest sample go out
 * (the first of equal ones; once when they are the same sample), so that
 * spikes and dips survive.  One pass over the rows: memory does not grow
 * with the series.  *span: what was selected (numeric samples only). */
int store_sample_reduce(store *s, int64_t result_id, double since, size_t points,
                        store_sample_fn fn, void *ctx, store_span *span, sca_error *err);

/* The samples (numbers or text) of the result with ts > since, to fn in
 * key order: every one when there are at most rows, else the first
 * (rows + 1) / 2 and the last rows / 2.  *span: what was selected. */
int store_sample_window(store *s, int64_t result_id, double since, size_t rows, store_sample_fn fn,
                        void *ctx, store_span *span, sca_error *err);

/* --- maintenance ---------------------------------------------------------- */

#define STORE_PURGE_BATCH 20000 /* samples deleted per transaction */

typedef struct store_purge_stats {
    int64_t tasks; /* deleted */
    bool shrunk;   /* the file was compacted (VACUUM) */
} store_purge_stats;

/* Deletes stopped tasks that stopped before `before` (unix seconds) with their
 * results and samples, in short transactions that let running tracers write
 * in between.  Then, when no task runs, compacts the file; while one runs
 * the freed pages stay in the file, where new samples reuse them. */
int store_purge(store *s, double before, store_purge_stats *out, sca_error *err);

#endif
