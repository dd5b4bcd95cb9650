/* store_task.c - tasks, results, appending samples and purging (see store.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scalpels/store.h"
#include "store_internal.h"

static void task_from_row(sqlite3_stmt *stmt, store_task *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(stmt, 0);
    store_column_copy(stmt, 1, t->uuid, sizeof(t->uuid));
    t->created = sqlite3_column_double(stmt, 2);
    t->stopped = sqlite3_column_double(stmt, 3);
    store_column_copy(stmt, 4, t->status, sizeof(t->status));
    t->deadline = sqlite3_column_double(stmt, 5);
}

/* Steps a statement expected to yield at most one task row. */
static int task_fetch_one(store *s, sqlite3_stmt *stmt, store_task *out, const char *missing,
                          sca_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        task_from_row(stmt, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = sca_error_set(err, -ENOENT, "%s", missing);
    } else {
        rc = store_db_error(s, err, "read task");
    }
    sqlite3_reset(stmt);
    return rc;
}

int store_task_create(store *s, const char *uuid, double deadline, store_task *out, sca_error *err)
{
    char fresh[SCA_UUID_LEN + 1];
    if (uuid == NULL) {
        sca_uuid_new(fresh);
        uuid = fresh;
    }
    sqlite3_stmt *stmt = store_stmt(s, STMT_TASK_CREATE, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 2, sca_now());
    if (deadline > 0)
        sqlite3_bind_double(stmt, 3, deadline);
    int rc = store_step_done(s, stmt, err, "create task");
    if (rc == -EEXIST)
        return sca_error_set(err, -EEXIST, "task %s already exists", uuid);
    if (rc != 0)
        return rc;
    return out ? store_task_get(s, uuid, out, err) : 0;
}

int store_task_get(store *s, const char *uuid, store_task *out, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TASK_GET, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    char missing[128];
    snprintf(missing, sizeof(missing), "no task %s", uuid);
    return task_fetch_one(s, stmt, out, missing, err);
}

int store_task_find(store *s, const char *prefix, store_task *out, sca_error *err)
{
    char full[SCA_UUID_LEN + 1];
    int rc = store_resolve_uuid(s, STMT_TASK_MATCH, "task", prefix, full, err);
    return rc ? rc : store_task_get(s, full, out, err);
}

int store_task_latest(store *s, store_task *out, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TASK_LATEST, err);
    if (stmt == NULL)
        return -EIO;
    return task_fetch_one(s, stmt, out, "there is no task yet (start one with 'sca start')", err);
}

int store_task_update(store *s, const store_task *t, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TASK_UPDATE, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, t->id);
    sqlite3_bind_text(stmt, 2, t->status, -1, SQLITE_STATIC);
    if (t->stopped > 0)
        sqlite3_bind_double(stmt, 3, t->stopped);
    if (t->deadline > 0)
        sqlite3_bind_double(stmt, 4, t->deadline);
    int rc = store_step_done(s, stmt, err, "update task");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = sca_error_set(err, -ENOENT, "no task %s", t->uuid);
    return rc;
}

int store_task_close_if_idle(store *s, int64_t task_id, bool *closed, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TASK_CLOSE_IF_IDLE, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, task_id);
    sqlite3_bind_double(stmt, 2, sca_now());
    int rc = store_step_done(s, stmt, err, "close task");
    if (rc == 0 && closed != NULL)
        *closed = sqlite3_changes(s->db) > 0;
    return rc;
}

/* The tasks stmt (bound) selects. */
static int task_rows(store *s, sqlite3_stmt *stmt, store_task **out, size_t *n, sca_error *err)
{
    store_task *v = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        v = sca_realloc(v, (count + 1) * sizeof(*v));
        task_from_row(stmt, &v[count++]);
    }
    if (rc != SQLITE_DONE) {
        rc = store_db_error(s, err, "list tasks");
        sqlite3_reset(stmt);
        free(v);
        return rc;
    }
    sqlite3_reset(stmt);
    *out = v;
    *n = count;
    return 0;
}

int store_task_list(store *s, int limit, store_task **out, size_t *n, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TASK_LIST, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int(stmt, 1, limit > 0 ? limit : -1);
    return task_rows(s, stmt, out, n, err);
}

int store_task_list_running(store *s, store_task **out, size_t *n, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TASK_LIST_RUNNING, err);
    if (stmt == NULL)
        return -EIO;
    return task_rows(s, stmt, out, n, err);
}

int store_task_count_running(store *s, int64_t *n, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TASK_COUNT_RUNNING, err);
    if (stmt == NULL)
        return -EIO;
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        int rc = store_db_error(s, err, "count running tasks");
        sqlite3_reset(stmt);
        return rc;
    }
    *n = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return 0;
}

int store_task_tracer_start(store *s, int64_t task_id, const char *tracer, int64_t pid,
                            sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TT_START, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, task_id);
    sqlite3_bind_text(stmt, 2, tracer, -1, SQLITE_STATIC);
    if (pid > 0)
        sqlite3_bind_int64(stmt, 3, pid);
    sqlite3_bind_double(stmt, 4, sca_now());
    return store_step_done(s, stmt, err, "record tracer start");
}

int store_task_tracer_set_worker(store *s, int64_t task_id, const char *tracer, int64_t worker_pid,
                                 sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TT_SET_WORKER, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, task_id);
    sqlite3_bind_text(stmt, 2, tracer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, worker_pid);
    return store_step_done(s, stmt, err, "record worker pid");
}

int store_task_tracer_count(store *s, int64_t task_id, const char *tracer, int64_t lines,
                            int64_t unparsed, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TT_COUNT, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, task_id);
    sqlite3_bind_text(stmt, 2, tracer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, lines);
    sqlite3_bind_int64(stmt, 4, unparsed);
    return store_step_done(s, stmt, err, "count lines");
}

int store_task_tracer_set_hold(store *s, int64_t task_id, const char *tracer, bool stopping,
                               int64_t held, const char *reason, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TT_HOLD, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, task_id);
    sqlite3_bind_text(stmt, 2, tracer, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, stopping);
    sqlite3_bind_int64(stmt, 4, held);
    if (reason != NULL && held > 0)
        sqlite3_bind_text(stmt, 5, reason, -1, SQLITE_STATIC);
    return store_step_done(s, stmt, err, "record held lines");
}

int store_task_tracer_finish(store *s, const store_task_tracer *tt, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TT_FINISH, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, tt->task_id);
    sqlite3_bind_text(stmt, 2, tt->tracer, -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 3, tt->stopped > 0 ? tt->stopped : sca_now());
    if (tt->exit_signal == 0 && tt->exit_code >= 0)
        sqlite3_bind_int(stmt, 4, tt->exit_code);
    if (tt->exit_signal > 0)
        sqlite3_bind_int(stmt, 5, tt->exit_signal);
    sqlite3_bind_int64(stmt, 6, tt->lines);
    sqlite3_bind_int64(stmt, 7, tt->unparsed);
    return store_step_done(s, stmt, err, "record tracer end");
}

int store_task_tracer_list(store *s, int64_t task_id, store_task_tracer **out, size_t *n,
                           sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TT_LIST, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, task_id);
    store_task_tracer *v = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        v = sca_realloc(v, (count + 1) * sizeof(*v));
        store_task_tracer *tt = &v[count++];
        memset(tt, 0, sizeof(*tt));
        tt->task_id = sqlite3_column_int64(stmt, 0);
        store_column_copy(stmt, 1, tt->tracer, sizeof(tt->tracer));
        tt->pid = sqlite3_column_int64(stmt, 2);
        tt->worker_pid = sqlite3_column_int64(stmt, 3);
        tt->started = sqlite3_column_double(stmt, 4);
        tt->stopped = sqlite3_column_double(stmt, 5);
        tt->exit_code =
            sqlite3_column_type(stmt, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(stmt, 6);
        tt->exit_signal = sqlite3_column_int(stmt, 7);
        tt->lines = sqlite3_column_int64(stmt, 8);
        tt->unparsed = sqlite3_column_int64(stmt, 9);
        tt->stopping = sqlite3_column_int(stmt, 10) != 0;
        tt->held = sqlite3_column_int64(stmt, 11);
        store_column_copy(stmt, 12, tt->held_reason, sizeof(tt->held_reason));
    }
    if (rc != SQLITE_DONE) {
        rc = store_db_error(s, err, "list task tracers");
        sqlite3_reset(stmt);
        free(v);
        return rc;
    }
    sqlite3_reset(stmt);
    *out = v;
    *n = count;
    return 0;
}

void store_result_clear(store_result *r)
{
    free(r->name);
    free(r->unit);
    free(r->rtype);
    memset(r, 0, sizeof(*r));
}

void store_result_array_free(store_result *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_result_clear(&v[i]);
    free(v);
}

static void result_from_row(sqlite3_stmt *stmt, store_result *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(stmt, 0);
    store_column_copy(stmt, 1, r->uuid, sizeof(r->uuid));
    r->task_id = sqlite3_column_int64(stmt, 2);
    store_column_copy(stmt, 3, r->tracer, sizeof(r->tracer));
    r->name = store_column_strdup(stmt, 4);
    r->unit = store_column_strdup(stmt, 5);
    r->rtype = store_column_strdup(stmt, 6);
    r->count = sqlite3_column_int64(stmt, 7);
    store_column_copy(stmt, 8, r->task_uuid, sizeof(r->task_uuid));
}

int store_result_create(store *s, int64_t task_id, const char *tracer, const char *name,
                        const char *unit, const char *rtype, store_result *out, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_RESULT_CREATE, err);
    if (stmt == NULL)
        return -EIO;
    char uuid[SCA_UUID_LEN + 1];
    sca_uuid_new(uuid);
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, task_id);
    sqlite3_bind_text(stmt, 3, tracer, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, name, -1, SQLITE_STATIC);
    if (unit != NULL)
        sqlite3_bind_text(stmt, 5, unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, rtype, -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 7, sca_now());
    int rc = store_step_done(s, stmt, err, "create result");
    if (rc != 0 || out == NULL)
        return rc;
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_last_insert_rowid(s->db);
    memcpy(out->uuid, uuid, sizeof(uuid));
    out->task_id = task_id;
    snprintf(out->tracer, sizeof(out->tracer), "%s", tracer);
    out->name = sca_strdup(name);
    out->unit = unit ? sca_strdup(unit) : NULL;
    out->rtype = sca_strdup(rtype);
    return 0;
}

static int result_get(store *s, enum store_stmt id, const char *uuid, store_result *out,
                      sca_error *err)
{
    memset(out, 0, sizeof(*out));
    char full[SCA_UUID_LEN + 1];
    int rc = store_resolve_uuid(s, STMT_RESULT_MATCH, "result", uuid, full, err);
    if (rc != 0)
        return rc;
    sqlite3_stmt *stmt = store_stmt(s, id, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, full, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        result_from_row(stmt, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = sca_error_set(err, -ENOENT, "no result %s", full);
    } else {
        rc = store_db_error(s, err, "read result");
    }
    sqlite3_reset(stmt);
    return rc;
}

int store_result_get(store *s, const char *uuid, store_result *out, sca_error *err)
{
    return result_get(s, STMT_RESULT_GET, uuid, out, err);
}

int store_result_get_uncounted(store *s, const char *uuid, store_result *out, sca_error *err)
{
    return result_get(s, STMT_RESULT_GET_UNCOUNTED, uuid, out, err);
}

int store_result_list(store *s, int64_t task_id, store_result **out, size_t *n, sca_error *err)
{
    sqlite3_stmt *stmt =
        store_stmt(s, task_id > 0 ? STMT_RESULT_LIST_TASK : STMT_RESULT_LIST_ALL, err);
    if (stmt == NULL)
        return -EIO;
    if (task_id > 0)
        sqlite3_bind_int64(stmt, 1, task_id);
    store_result *v = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        v = sca_realloc(v, (count + 1) * sizeof(*v));
        result_from_row(stmt, &v[count++]);
    }
    if (rc != SQLITE_DONE) {
        rc = store_db_error(s, err, "list results");
        sqlite3_reset(stmt);
        store_result_array_free(v, count);
        return rc;
    }
    sqlite3_reset(stmt);
    *out = v;
    *n = count;
    return 0;
}

struct sample_batch {
    const store_sample *v;
    size_t n;
};

static int sample_insert_all(store *s, void *arg, sca_error *err)
{
    struct sample_batch *b = arg;
    sqlite3_stmt *stmt = store_stmt(s, STMT_SAMPLE_INSERT, err);
    if (stmt == NULL)
        return -EIO;
    for (size_t i = 0; i < b->n; i++) {
        const store_sample *smp = &b->v[i];
        sqlite3_bind_int64(stmt, 1, smp->result_id);
        sqlite3_bind_double(stmt, 2, smp->ts);
        if (smp->text != NULL) {
            sqlite3_bind_null(stmt, 3);
            sqlite3_bind_text(stmt, 4, smp->text, (int)smp->text_len, SQLITE_STATIC);
        } else {
            sqlite3_bind_double(stmt, 3, smp->value);
            sqlite3_bind_null(stmt, 4);
        }
        if (sqlite3_step(stmt) != SQLITE_DONE) {
            int rc = store_db_error(s, err, "append samples");
            sqlite3_reset(stmt);
            return rc;
        }
        sqlite3_reset(stmt);
    }
    return 0;
}

int store_sample_append(store *s, const store_sample *v, size_t n, sca_error *err)
{
    if (n == 0)
        return 0;
    struct sample_batch b = {v, n};
    return store_in_transaction(s, sample_insert_all, &b, err);
}

/* Deletes the samples of the tasks to purge, STORE_PURGE_BATCH at a time:
 * each batch is its own short transaction, so that running tracers are never
 * kept from writing for long (one big delete would hold the write lock for
 * as long as it takes, and they would stop reading their workers). */
static int purge_samples(store *s, double before, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_PURGE_SAMPLES, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_double(stmt, 1, before);
    sqlite3_bind_int(stmt, 2, STORE_PURGE_BATCH);
    int rc;
    do
        rc = store_step_done(s, stmt, err, "purge samples");
    while (rc == 0 && sqlite3_changes(s->db) > 0);
    return rc;
}

int store_purge(store *s, double before, store_purge_stats *out, sca_error *err)
{
    *out = (store_purge_stats){0};
    int rc = purge_samples(s, before, err);
    sqlite3_stmt *stmt = rc == 0 ? store_stmt(s, STMT_PURGE, err) : NULL;
    if (stmt == NULL)
        return rc != 0 ? rc : -EIO;
    sqlite3_bind_double(stmt, 1, before);
    rc = store_step_done(s, stmt, err, "purge tasks");
    if (rc != 0)
        return rc;
    out->tasks = sqlite3_changes(s->db);
    int64_t running = 0;
    if (out->tasks == 0 || (rc = store_task_count_running(s, &running, err)) != 0 || running > 0)
        return rc;
    char *msg = NULL;
    /* VACUUM rewrites the file under the write lock: only with no tracer to
     * hold up.  Checkpoint first so it can shrink the main file, not just
     * the WAL. */
    if (sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;", NULL, NULL, &msg) !=
        SQLITE_OK) {
        rc = sca_error_set(err, -EIO, "%s: reclaim space: %s", s->path, msg ? msg : "?");
        sqlite3_free(msg);
        return rc;
    }
    out->shrunk = true;
    return 0;
}
