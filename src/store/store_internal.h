/* store_internal.h - what the store's .c files share; not for other modules. */
#ifndef SCALPELS_STORE_INTERNAL_H
#define SCALPELS_STORE_INTERNAL_H

#include <sqlite3.h>

#include "scalpels/store.h"

/* Every statement the store runs, prepared once per connection on first use. */
enum store_stmt {
    STMT_CONFIG_ALL,
    STMT_CONFIG_GET,
    STMT_CONFIG_SET,
    STMT_CONFIG_DEL,
    STMT_TRACER_REGISTER,
    STMT_TRACER_GET,
    STMT_TRACER_LIST,
    STMT_TRACER_SET_RUNNING,
    STMT_TRACER_SET_PID,
    STMT_TRACER_RESULTS,
    STMT_TASK_CREATE,
    STMT_TASK_GET,
    STMT_TASK_MATCH,
    STMT_TASK_LATEST,
    STMT_TASK_UPDATE,
    STMT_TASK_CLOSE_IF_IDLE,
    STMT_TASK_LIST,
    STMT_TASK_COUNT_RUNNING,
    STMT_TASK_LIST_RUNNING,
    STMT_TT_START,
    STMT_TT_SET_WORKER,
    STMT_TT_COUNT,
    STMT_TT_HOLD,
    STMT_TT_FINISH,
    STMT_TT_LIST,
    STMT_RESULT_CREATE,
    STMT_RESULT_GET,
    STMT_RESULT_GET_UNCOUNTED,
    STMT_RESULT_MATCH,
    STMT_RESULT_LIST_TASK,
    STMT_RESULT_LIST_ALL,
    STMT_SAMPLE_INSERT,
    STMT_SAMPLE_SCAN,
    STMT_SAMPLE_PAGE,
    STMT_SAMPLE_AFTER,
    STMT_SAMPLE_STATS,
    STMT_SAMPLE_P95,
    STMT_SAMPLE_LAST_VALUE,
    STMT_SAMPLE_SPARK,
    STMT_SAMPLE_SPAN,
    STMT_SAMPLE_HEAD,
    STMT_SAMPLE_TAIL,
    STMT_SAMPLE_NUMBERS_SPAN,
    STMT_SAMPLE_NUMBERS,
    STMT_PURGE,
    STMT_PURGE_SAMPLES,
    STMT_COUNT_
};

struct store {
    sqlite3 *db;
    char *path;
    int flags;
    int busy_ms;       /* longest wait for a lock, per statement */
    double busy_since; /* sca_monotonic() when the current wait began */
    double deadline;   /* sca_monotonic() at which every wait ends; 0 = none */
    sqlite3_stmt *stmts[STMT_COUNT_];
};

/* The prepared statement for id, reset and unbound; NULL with err set. */
sqlite3_stmt *store_stmt(store *s, enum store_stmt id, sca_error *err);
/* Reports the connection's last error as -EIO (-EBUSY when locked,
 * -ENOSPC when the disk is full, -EEXIST for a constraint). */
int store_db_error(store *s, sca_error *err, const char *what);
/* Runs stmt to completion (an INSERT/UPDATE/DELETE). */
int store_step_done(store *s, sqlite3_stmt *stmt, sca_error *err, const char *what);
/* Copies a text column into a new string (NULL for SQL NULL). */
char *store_column_strdup(sqlite3_stmt *stmt, int col);
/* Copies a text column into a fixed buffer, truncating. */
void store_column_copy(sqlite3_stmt *stmt, int col, char *buf, size_t size);
/* Runs fn inside BEGIN IMMEDIATE .. COMMIT unless a transaction is open. */
int store_in_transaction(store *s, int (*fn)(store *, void *, sca_error *), void *arg,
                         sca_error *err);
/* Resolves a full uuid or unique prefix into full, with statement id
 * selecting the uuids that GLOB its parameter; what names the kind ("task"). */
int store_resolve_uuid(store *s, enum store_stmt id, const char *what, const char *prefix,
                       char full[SCA_UUID_LEN + 1], sca_error *err);

#endif
