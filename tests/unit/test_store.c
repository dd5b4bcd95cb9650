/* test_store.c - the SQLite store: schema, migrations, fuzzy lookup, CRUD. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "scalpels/store.h"

struct fixture {
    char dir[64];
    char path[128];
    store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/sca-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/db.sqlite", f->dir);
    sca_error err = {0};
    assert_int_equal(store_open(f->path, STORE_CREATE, &f->s, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_open_missing_without_create_fails(void **state)
{
    (void)state;
    store *s = NULL;
    sca_error err = {0};
    assert_int_equal(store_open("/nonexistent/dir/x.db", 0, &s, &err), -ENOENT);
    assert_null(s);
    assert_non_null(strstr(err.msg, "sca-manage db-create"));
}

static void query_strings(const char *path, const char *sql, char *out, size_t size)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        strncat(out, (const char *)sqlite3_column_text(st, 0), size - strlen(out) - 2);
        strcat(out, ",");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_migration_from_empty_file_creates_schema(void **state)
{
    struct fixture *f = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/empty.db", f->dir);
    FILE *fp = fopen(path, "w"); /* a zero-byte file, as `touch` leaves */
    assert_non_null(fp);
    fclose(fp);
    store *s;
    sca_error err = {0};
    assert_int_equal(store_open(path, 0, &s, &err), 0);
    assert_int_equal(store_schema_version(s, &err), STORE_SCHEMA_VERSION);
    store_close(s);
    char names[512];
    query_strings(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", names,
                  sizeof(names));
    assert_string_equal(names, "config,result,sample,task,task_tracer,tracer,");
    query_strings(path, "PRAGMA journal_mode", names, sizeof(names));
    assert_string_equal(names, "wal,");
    query_strings(path, "SELECT name FROM pragma_table_info('sample') ORDER BY cid", names,
                  sizeof(names));
    assert_string_equal(names, "result_id,ts,value,text,");
}

static void test_newer_schema_is_refused(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store *s = NULL;
    sca_error err = {0};
    assert_int_equal(store_open(f->path, 0, &s, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "newer"));
}

static void test_reopen_keeps_data(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    assert_int_equal(store_tracer_register(f->s, "cpu", "sampler cpu", "kv", NULL, &err), 0);
    store *again;
    assert_int_equal(store_open(f->path, 0, &again, &err), 0);
    store_tracer t;
    assert_int_equal(store_tracer_get(again, "cpu", &t, &err), 0);
    assert_string_equal(t.tpl, "sampler cpu");
    assert_string_equal(t.title, "cpu");
    store_tracer_clear(&t);
    store_close(again);
}

static void test_config_update_and_get(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    json_t *opts = json_pack("{s:s, s:i, s:b}", "dev", "eth0", "rpcport", 5672, "flag", 1);
    assert_int_equal(store_config_update(f->s, opts, &err), 0);
    json_decref(opts);
    json_t *cfg;
    assert_int_equal(store_config_get(f->s, &cfg, &err), 0);
    assert_string_equal(json_string_value(json_object_get(cfg, "dev")), "eth0");
    assert_string_equal(json_string_value(json_object_get(cfg, "rpcport")), "5672");
    assert_string_equal(json_string_value(json_object_get(cfg, "flag")), "true");
    json_decref(cfg);

    opts = json_pack("{s:s, s:n}", "dev", "lo", "flag");
    assert_int_equal(store_config_update(f->s, opts, &err), 0);
    json_decref(opts);
    char *v;
    assert_int_equal(store_config_get_value(f->s, "dev", &v, &err), 0);
    assert_string_equal(v, "lo");
    free(v);
    assert_int_equal(store_config_get_value(f->s, "flag", &v, &err), -ENOENT);
}

static void test_config_rejects_non_scalar_atomically(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    json_t *opts = json_pack("{s:s, s:[i]}", "a", "1", "b", 2);
    assert_int_equal(store_config_update(f->s, opts, &err), -EINVAL);
    json_decref(opts);
    char *v = NULL;
    assert_int_equal(store_config_get_value(f->s, "a", &v, &err), -ENOENT);
}

static void test_tracer_register_validates_and_updates(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    assert_int_equal(store_tracer_register(f->s, "bad name", "x", "log", NULL, &err), -EINVAL);
    assert_int_equal(store_tracer_register(f->s, "ok", "  ", "log", NULL, &err), -EINVAL);
    char longname[80];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    assert_int_equal(store_tracer_register(f->s, longname, "x", "log", NULL, &err), -EINVAL);
    longname[64] = '\0';
    assert_int_equal(store_tracer_register(f->s, longname, "x", "log", NULL, &err), 0);
    assert_int_equal(store_tracer_register(f->s, "rpc", "a %(x)s", "traffic", "Port Traffic", &err),
                     0);
    assert_int_equal(store_tracer_register(f->s, "rpc", "b %(x)s", "traffic", "Port Traffic", &err),
                     0);
    store_tracer *v;
    size_t n;
    assert_int_equal(store_tracer_list(f->s, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[1].name, "rpc");
    assert_string_equal(v[1].tpl, "b %(x)s");
    assert_string_equal(v[1].title, "Port Traffic");
    assert_false(v[1].running);
    store_tracer_array_free(v, n);

    assert_int_equal(store_tracer_set_running(f->s, "rpc", true, 4242, "u-1", &err), 0);
    store_tracer t;
    assert_int_equal(store_tracer_get(f->s, "rpc", &t, &err), 0);
    assert_true(t.running);
    assert_int_equal(t.pid, 4242);
    assert_string_equal(t.task_uuid, "u-1");
    store_tracer_clear(&t);
    assert_int_equal(store_tracer_set_running(f->s, "rpc", false, 0, NULL, &err), 0);
    assert_int_equal(store_tracer_get(f->s, "rpc", &t, &err), 0);
    assert_false(t.running);
    assert_int_equal(t.pid, 0);
    store_tracer_clear(&t);
    assert_int_equal(store_tracer_set_running(f->s, "nope", true, 1, NULL, &err), -ENOENT);
    assert_int_equal(store_tracer_get(f->s, "nope", &t, &err), -ENOENT);
}

static void make_task(store *s, const char *uuid)
{
    sca_error err = {0};
    assert_int_equal(store_task_create(s, uuid, 0, NULL, &err), 0);
}

static void test_task_fuzzy_lookup(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    make_task(f->s, "aaaaaaaa-1111-4000-8000-000000000001");
    make_task(f->s, "aaaaaaaa-2222-4000-8000-000000000002");
    make_task(f->s, "bbbbbbbb-3333-4000-8000-000000000003");
    store_task t;
    assert_int_equal(store_task_find(f->s, "bbbbbbbb", &t, &err), 0);
    assert_string_equal(t.uuid, "bbbbbbbb-3333-4000-8000-000000000003");
    assert_string_equal(t.status, "running");
    assert_int_equal(store_task_find(f->s, "aaaaaaaa-1", &t, &err), 0);
    assert_string_equal(t.uuid, "aaaaaaaa-1111-4000-8000-000000000001");
    assert_int_equal(store_task_find(f->s, "aaaaaaaa-2222-4000-8000-000000000002", &t, &err), 0);
    /* Uuids are case-insensitive: an uppercase one (as some tools print them) is found. */
    assert_int_equal(store_task_find(f->s, "BBBBBBBB-3333-4000-8000-000000000003", &t, &err), 0);
    assert_string_equal(t.uuid, "bbbbbbbb-3333-4000-8000-000000000003");
    assert_int_equal(store_task_find(f->s, "AaAaAaAa-1", &t, &err), 0);
    assert_string_equal(t.uuid, "aaaaaaaa-1111-4000-8000-000000000001");
    assert_int_equal(store_task_find(f->s, "bbbbbbbb-3333-4000-8000-0000000000031", &t, &err),
                     -EINVAL);

    assert_int_equal(store_task_find(f->s, "aaaaaaaa", &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_non_null(strstr(err.msg, "aaaaaaaa-1111-4000-8000-000000000001"));
    assert_int_equal(store_task_find(f->s, "cccccccc", &t, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "cccccccc"));
    assert_int_equal(store_task_find(f->s, "aaaaaaa", &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "at least 8"));
    /* GLOB metacharacters are never passed through. */
    assert_int_equal(store_task_find(f->s, "aaaaaaa*", &t, &err), -EINVAL);
    assert_int_equal(store_task_find(f->s, "????????", &t, &err), -EINVAL);

    assert_int_equal(store_task_latest(f->s, &t, &err), 0);
    assert_string_equal(t.uuid, "bbbbbbbb-3333-4000-8000-000000000003");
}

static void test_task_update_and_list(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    store_task t;
    assert_int_equal(store_task_latest(f->s, &t, &err), -ENOENT);
    assert_int_equal(store_task_create(f->s, NULL, 0, &t, &err), 0);
    assert_int_equal(strlen(t.uuid), 36);
    assert_int_equal(store_task_create(f->s, t.uuid, 0, NULL, &err), -EEXIST);
    snprintf(t.status, sizeof(t.status), "stopped");
    t.stopped = 1000.5;
    assert_int_equal(store_task_update(f->s, &t, &err), 0);
    store_task again;
    assert_int_equal(store_task_get(f->s, t.uuid, &again, &err), 0);
    assert_string_equal(again.status, "stopped");
    assert_true(again.stopped == 1000.5);
    make_task(f->s, NULL);
    store_task *v;
    size_t n;
    assert_int_equal(store_task_list(f->s, 0, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_not_equal(v[0].uuid, t.uuid); /* newest first */
    assert_string_equal(v[1].uuid, t.uuid);
    free(v);
    assert_int_equal(store_task_list(f->s, 1, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    free(v);
    int64_t running = -1;
    assert_int_equal(store_task_count_running(f->s, &running, &err), 0);
    assert_int_equal(running, 1); /* the second; the first was stopped */
    make_task(f->s, NULL);
    assert_int_equal(store_task_count_running(f->s, &running, &err), 0);
    assert_int_equal(running, 2);
}

static int collect(void *ctx, double ts, bool is_text, double value, const char *text, size_t len)
{
    char *out = ctx;
    char line[128];
    if (is_text)
        snprintf(line, sizeof(line), "%.1f:%.*s;", ts, (int)len, text);
    else
        snprintf(line, sizeof(line), "%.1f=%g;", ts, value);
    strcat(out, line);
    return 0;
}

static void test_results_and_samples(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    store_task t;
    assert_int_equal(store_task_create(f->s, NULL, 0, &t, &err), 0);
    assert_int_equal(store_tracer_register(f->s, "rpc", "x", "traffic", NULL, &err), 0);
    store_result pk, lg;
    assert_int_equal(store_result_create(f->s, t.id, "rpc", "Port Traffic", "pkt/s",
                                         STORE_RTYPE_STREAM, &pk, &err),
                     0);
    assert_int_equal(
        store_result_create(f->s, t.id, "rpc", "rpc", NULL, STORE_RTYPE_LOG, &lg, &err), 0);
    store_sample batch[] = {
        {pk.id, 2.0, 20, NULL, 0},
        {pk.id, 1.0, 10, NULL, 0},
        {lg.id, 1.5, 0, "hello world", 5},
    };
    assert_int_equal(store_sample_append(f->s, batch, 3, &err), 0);
    char out[256] = "";
    assert_int_equal(store_sample_foreach(f->s, pk.id, collect, out, &err), 0);
    assert_string_equal(out, "1.0=10;2.0=20;");
    out[0] = '\0';
    assert_int_equal(store_sample_foreach(f->s, lg.id, collect, out, &err), 0);
    assert_string_equal(out, "1.5:hello;");

    store_result r;
    assert_int_equal(store_result_get(f->s, pk.uuid, &r, &err), 0);
    assert_string_equal(r.name, "Port Traffic");
    assert_string_equal(r.unit, "pkt/s");
    assert_string_equal(r.rtype, "stream");
    assert_int_equal(r.count, 2);
    store_result_clear(&r);
    /* The same without the count, which walks the result's index. */
    assert_int_equal(store_result_get_uncounted(f->s, pk.uuid, &r, &err), 0);
    assert_string_equal(r.name, "Port Traffic");
    assert_string_equal(r.task_uuid, t.uuid);
    assert_int_equal(r.count, -1);
    store_result_clear(&r);
    assert_int_equal(store_result_get(f->s, lg.uuid, &r, &err), 0);
    assert_null(r.unit);
    store_result_clear(&r);

    store_result *v;
    size_t n;
    assert_int_equal(store_result_list(f->s, t.id, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].uuid, pk.uuid);
    store_result_array_free(v, n);
    json_t *uuids;
    assert_int_equal(store_tracer_results(f->s, "rpc", &uuids, &err), 0);
    assert_int_equal(json_array_size(uuids), 2);
    json_decref(uuids);

    /* A sample for a result that does not exist violates the foreign key
     * and the whole batch is rolled back. */
    store_sample bad[] = {{pk.id, 3.0, 30, NULL, 0}, {999999, 3.0, 1, NULL, 0}};
    assert_int_not_equal(store_sample_append(f->s, bad, 2, &err), 0);
    assert_int_equal(store_result_get(f->s, pk.uuid, &r, &err), 0);
    assert_int_equal(r.count, 2);
    store_result_clear(&r);
    store_result_clear(&pk);
    store_result_clear(&lg);
}

static void test_task_tracer_records_exit(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    store_task t;
    assert_int_equal(store_task_create(f->s, NULL, 0, &t, &err), 0);
    assert_int_equal(store_task_tracer_start(f->s, t.id, "cpu", 100, &err), 0);
    assert_int_equal(store_task_tracer_set_worker(f->s, t.id, "cpu", 101, &err), 0);
    store_task_tracer end = {.task_id = t.id, .exit_code = 3, .lines = 10, .unparsed = 2};
    snprintf(end.tracer, sizeof(end.tracer), "cpu");
    assert_int_equal(store_task_tracer_finish(f->s, &end, &err), 0);
    store_task_tracer *v;
    size_t n;
    assert_int_equal(store_task_tracer_list(f->s, t.id, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].pid, 100);
    assert_int_equal(v[0].worker_pid, 101);
    assert_int_equal(v[0].exit_code, 3);
    assert_int_equal(v[0].exit_signal, 0);
    assert_int_equal(v[0].lines, 10);
    assert_int_equal(v[0].unparsed, 2);
    assert_true(v[0].stopped > 0);
    free(v);
}

/* A tracer that fails at once records its end before the agent, which
 * spawned it, records the start: the end stays. */
static void test_task_tracer_late_start_keeps_the_end(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    store_task t;
    assert_int_equal(store_task_create(f->s, NULL, 0, &t, &err), 0);
    assert_int_equal(store_task_tracer_start(f->s, t.id, "needs", 200, &err), 0);
    store_task_tracer end = {.task_id = t.id, .exit_code = 1};
    snprintf(end.tracer, sizeof(end.tracer), "needs");
    assert_int_equal(store_task_tracer_finish(f->s, &end, &err), 0);
    assert_int_equal(store_task_tracer_start(f->s, t.id, "needs", 200, &err), 0);
    assert_int_equal(store_task_tracer_start(f->s, t.id, "needs", 0, &err), 0);
    store_task_tracer *v;
    size_t n;
    assert_int_equal(store_task_tracer_list(f->s, t.id, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].pid, 200);
    assert_int_equal(v[0].exit_code, 1);
    assert_true(v[0].stopped > 0);
    free(v);
}

/* A tracer that cannot write records the lines it holds and why, and a
 * stop; the next batch written (or its end) clears the held lines. */
static void test_task_tracer_hold(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    store_task t;
    assert_int_equal(store_task_create(f->s, NULL, 0, &t, &err), 0);
    assert_int_equal(store_task_tracer_start(f->s, t.id, "cpu", 100, &err), 0);
    assert_int_equal(store_task_tracer_set_hold(f->s, t.id, "cpu", true, 1234, "disk full", &err),
                     0);
    store_task_tracer *v;
    size_t n;
    assert_int_equal(store_task_tracer_list(f->s, t.id, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(v[0].stopping);
    assert_int_equal(v[0].held, 1234);
    assert_string_equal(v[0].held_reason, "disk full");
    free(v);
    assert_int_equal(store_task_tracer_count(f->s, t.id, "cpu", 5000, 0, &err), 0);
    assert_int_equal(store_task_tracer_list(f->s, t.id, &v, &n, &err), 0);
    assert_true(v[0].stopping);
    assert_int_equal(v[0].held, 0);
    assert_string_equal(v[0].held_reason, "");
    assert_int_equal(v[0].lines, 5000);
    free(v);
    /* No reason without held lines. */
    assert_int_equal(store_task_tracer_set_hold(f->s, t.id, "cpu", false, 0, "disk full", &err), 0);
    assert_int_equal(store_task_tracer_list(f->s, t.id, &v, &n, &err), 0);
    assert_false(v[0].stopping);
    assert_string_equal(v[0].held_reason, "");
    free(v);
}

/* A database of schema 1 (before held lines) gains the columns, and keeps
 * its rows, when opened. */
static void test_migration_from_1_adds_hold_columns(void **state)
{
    struct fixture *f = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/v1.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE task (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL"
                                  " UNIQUE, created REAL NOT NULL, stopped REAL, status TEXT NOT"
                                  " NULL DEFAULT 'running', deadline REAL);"
                                  "CREATE TABLE task_tracer (task_id INTEGER NOT NULL REFERENCES"
                                  " task(id) ON DELETE CASCADE, tracer TEXT NOT NULL, pid INTEGER,"
                                  " worker_pid INTEGER, started REAL NOT NULL, stopped REAL,"
                                  " exit_code INTEGER, exit_signal INTEGER, lines INTEGER NOT NULL"
                                  " DEFAULT 0, unparsed INTEGER NOT NULL DEFAULT 0,"
                                  " PRIMARY KEY (task_id, tracer));"
                                  "INSERT INTO task VALUES (1, 'x', 1, NULL, 'running', NULL);"
                                  "INSERT INTO task_tracer(task_id, tracer, pid, started, lines)"
                                  " VALUES (1, 'cpu', 42, 1, 7);"
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    store *s;
    sca_error err = {0};
    assert_int_equal(store_open(path, 0, &s, &err), 0);
    assert_int_equal(store_schema_version(s, &err), 2);
    store_task_tracer *v;
    size_t n;
    assert_int_equal(store_task_tracer_list(s, 1, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].pid, 42);
    assert_int_equal(v[0].lines, 7);
    assert_false(v[0].stopping);
    assert_int_equal(v[0].held, 0);
    free(v);
    store_close(s);
}

/* A stopped task of (2.5 batches of) samples, stopped at 100. */
static store_task old_task(store *s, store_result *r)
{
    sca_error err = {0};
    store_task old;
    assert_int_equal(store_task_create(s, NULL, 0, &old, &err), 0);
    assert_int_equal(
        store_result_create(s, old.id, "cpu", "user", NULL, STORE_RTYPE_STREAM, r, &err), 0);
    size_t n = STORE_PURGE_BATCH * 5 / 2;
    store_sample *v = sca_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (store_sample){r->id, 1.0 + (double)i, 1, NULL, 0};
    assert_int_equal(store_sample_append(s, v, n, &err), 0);
    free(v);
    snprintf(old.status, sizeof(old.status), "stopped");
    old.stopped = 100;
    assert_int_equal(store_task_update(s, &old, &err), 0);
    return old;
}

static void test_purge_keeps_running_tasks(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    store_task running;
    store_result r;
    store_task old = old_task(f->s, &r);
    assert_int_equal(store_task_create(f->s, NULL, 0, &running, &err), 0);
    store_purge_stats st;
    assert_int_equal(store_purge(f->s, 50, &st, &err), 0);
    assert_int_equal(st.tasks, 0);
    assert_int_equal(store_purge(f->s, 1e12, &st, &err), 0);
    assert_int_equal(st.tasks, 1);
    /* A task runs: its tracers are not held up by a compaction. */
    assert_false(st.shrunk);
    store_task t;
    assert_int_equal(store_task_get(f->s, old.uuid, &t, &err), -ENOENT);
    assert_int_equal(store_task_get(f->s, running.uuid, &t, &err), 0);
    store_result gone;
    assert_int_equal(store_result_get(f->s, r.uuid, &gone, &err), -ENOENT);
    char count[32];
    query_strings(f->path, "SELECT count(*) FROM sample", count, sizeof(count));
    assert_string_equal(count, "0,");
    store_result_clear(&r);

    /* With no task running, the file is compacted. */
    snprintf(running.status, sizeof(running.status), "stopped");
    running.stopped = 100;
    assert_int_equal(store_task_update(f->s, &running, &err), 0);
    old = old_task(f->s, &r);
    assert_int_equal(store_purge(f->s, 1e12, &st, &err), 0);
    assert_int_equal(st.tasks, 2);
    assert_true(st.shrunk);
    query_strings(f->path, "PRAGMA freelist_count", count, sizeof(count));
    assert_string_equal(count, "0,");
    store_result_clear(&r);
}

static void test_sample_page_and_summary(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    store_task t;
    store_result r, lg;
    assert_int_equal(store_task_create(f->s, NULL, 0, &t, &err), 0);
    assert_int_equal(store_result_create(f->s, t.id, "x", "x", NULL, STORE_RTYPE_STREAM, &r, &err),
                     0);
    assert_int_equal(store_result_create(f->s, t.id, "x", "x", NULL, STORE_RTYPE_LOG, &lg, &err),
                     0);
    store_sample v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (store_sample){r.id, 1000.0 + i, (double)(i + 1), NULL, 0};
    assert_int_equal(store_sample_append(f->s, v, 100, &err), 0);

    char out[256] = "";
    assert_int_equal(store_sample_page(f->s, r.id, 97, 0, collect, out, &err), 0);
    assert_string_equal(out, "1097.0=98;1098.0=99;1099.0=100;");
    out[0] = '\0';
    assert_int_equal(store_sample_page(f->s, r.id, 10, 2, collect, out, &err), 0);
    assert_string_equal(out, "1010.0=11;1011.0=12;");

    store_summary sm;
    assert_int_equal(store_result_summary(f->s, r.id, &sm, &err), 0);
    assert_int_equal(sm.count, 100);
    assert_int_equal(sm.numbers, 100);
    assert_true(sm.min == 1 && sm.max == 100 && sm.avg == 50.5);
    assert_true(sm.p95 == 95);
    assert_true(sm.last_value == 100);
    assert_true(sm.first == 1000 && sm.last == 1099);
    /* 100 samples over 99 s in 40 slices: every slice has some, and the
     * averages rise. */
    assert_int_equal(sm.spark_slices, SCA_SPARK_SLICES);
    for (int i = 0; i < SCA_SPARK_SLICES; i++) {
        assert_true(sm.spark_set[i]);
        if (i > 0)
            assert_true(sm.spark[i] > sm.spark[i - 1]);
    }
    assert_true(sm.spark[SCA_SPARK_SLICES - 1] == 100 || sm.spark[SCA_SPARK_SLICES - 1] > 98);

    assert_int_equal(store_result_summary(f->s, lg.id, &sm, &err), 0);
    assert_int_equal(sm.count, 0);
    assert_int_equal(sm.numbers, 0);
    store_sample line = {lg.id, 5.0, 0, "hi", 2};
    assert_int_equal(store_sample_append(f->s, &line, 1, &err), 0);
    assert_int_equal(store_result_summary(f->s, lg.id, &sm, &err), 0);
    assert_int_equal(sm.count, 1);
    assert_int_equal(sm.numbers, 0);
    assert_true(sm.first == 5 && sm.last == 5);
    store_result_clear(&r);
    store_result_clear(&lg);
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* The database and the -wal and -shm files SQLite makes beside it are
 * 0640 whatever the umask; wider ones are narrowed when opened. */
static void test_files_are_private(void **state)
{
    struct fixture *f = *state;
    char path[160], wal[170], shm[170];
    snprintf(path, sizeof(path), "%s/private.db", f->dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(shm, sizeof(shm), "%s-shm", path);
    mode_t old = umask(0);
    store *s;
    sca_error err = {0};
    assert_int_equal(store_open(path, STORE_CREATE, &s, &err), 0);
    assert_int_equal(store_tracer_register(s, "cpu", "sampler cpu", "kv", NULL, &err), 0);
    assert_int_equal(file_mode(path), 0640);
    assert_int_equal(file_mode(wal), 0640);
    assert_int_equal(file_mode(shm), 0640);
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(chmod(wal, 0644), 0);
    assert_int_equal(chmod(shm, 0604), 0);
    store *again;
    assert_int_equal(store_open(path, 0, &again, &err), 0);
    assert_int_equal(file_mode(path), 0640);
    assert_int_equal(file_mode(wal), 0640);
    assert_int_equal(file_mode(shm), 0600);
    store_close(again);
    store_close(s);
    umask(old);
}

struct locker {
    sqlite3 *db;
    unsigned release_ms;
};

static void *release_later(void *arg)
{
    struct locker *l = arg;
    usleep(l->release_ms * 1000);
    sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

/* Holds the write lock of path from another connection; a thread releases
 * it after release_ms. */
static pthread_t lock_for(struct locker *l, const char *path, unsigned release_ms)
{
    assert_int_equal(
        sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    l->release_ms = release_ms;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, release_later, l), 0);
    return th;
}

static void unlock(struct locker *l, pthread_t th)
{
    pthread_join(th, NULL);
    sqlite3_close(l->db);
}

/* A deadline ends a wait for a lock that the busy timeout would have
 * outlasted: the write fails, saying why, instead of succeeding late. */
static void test_deadline_ends_lock_wait(void **state)
{
    struct fixture *f = *state;
    json_t *opts = json_pack("{s:s}", "k", "v");
    sca_error err = {0};
    struct locker l;
    pthread_t th = lock_for(&l, f->path, 2000);
    store_set_busy_timeout(f->s, 60000);
    store_set_deadline(f->s, sca_monotonic() + 0.2);
    assert_int_equal(store_config_update(f->s, opts, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "database is locked"));
    unlock(&l, th);

    /* A deadline further off than the lock lasts: the write waits and
     * succeeds, as without one. */
    th = lock_for(&l, f->path, 200);
    store_set_deadline(f->s, sca_monotonic() + 30);
    assert_int_equal(store_config_update(f->s, opts, &err), 0);
    unlock(&l, th);

    th = lock_for(&l, f->path, 200);
    store_set_deadline(f->s, 0);
    assert_int_equal(store_config_update(f->s, opts, &err), 0);
    unlock(&l, th);
    json_decref(opts);
}

/* --- Keyset paging --------------------------------------------------------- */

/* A task with one result of the given type; its id. */
static int64_t make_result(struct fixture *f, const char *rtype)
{
    sca_error err = {0};
    store_task t;
    store_result r;
    assert_int_equal(store_task_create(f->s, NULL, 0, &t, &err), 0);
    assert_int_equal(store_result_create(f->s, t.id, "x", "x", NULL, rtype, &r, &err), 0);
    int64_t id = r.id;
    store_result_clear(&r);
    return id;
}

static void append_numbers(struct fixture *f, int64_t id, const double *ts, const double *value,
                           size_t n)
{
    sca_error err = {0};
    store_sample *v = calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (store_sample){id, ts[i], value[i], NULL, 0};
    assert_int_equal(store_sample_append(f->s, v, n, &err), 0);
    free(v);
}

/* The values a walk passes, in order. */
struct values {
    double v[4096];
    double ts[4096];
    size_t n;
    size_t stop_after; /* 0: never stop */
};

static int take_value(void *ctx, double ts, bool is_text, double value, const char *text,
                      size_t len)
{
    (void)text;
    (void)len;
    struct values *out = ctx;
    if (out->stop_after > 0 && out->n == out->stop_after)
        return 1;
    assert_true(out->n < 4096);
    out->ts[out->n] = ts;
    out->v[out->n++] = is_text ? -1 : value;
    return 0;
}

/* Pages of at most limit through the whole result, each from the last
 * one's key; the values in the order they came. */
static void page_through(struct fixture *f, int64_t id, int64_t limit, struct values *out,
                         int *pages)
{
    sca_error err = {0};
    store_cursor at = {0};
    bool more = true, started = false;
    *pages = 0;
    while (more) {
        assert_int_equal(store_sample_after(f->s, id, started ? &at : NULL, limit, take_value, out,
                                            &at, &more, &err),
                         0);
        started = true;
        (*pages)++;
        assert_true(*pages < 1000);
    }
}

static void test_cursor_pages_through_ties(void **state)
{
    struct fixture *f = *state;
    int64_t id = make_result(f, STORE_RTYPE_STREAM);
    /* Value i at ts i / 4: runs of four equal timestamps, appended out of
     * time order, so that key order is (ts, arrival) and not insertion. */
    double ts[40], v[40];
    for (int i = 0; i < 40; i++) {
        int k = i < 20 ? i + 20 : i - 20;
        ts[i] = (double)(k / 4);
        v[i] = k;
    }
    append_numbers(f, id, ts, v, 40);
    /* Limits that end pages inside a run of equal timestamps (3, 5, 7)
     * and on its edges (4). */
    static const int64_t limits[] = {1, 3, 4, 5, 7, 40, 0};
    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
        struct values got = {0};
        int pages;
        page_through(f, id, limits[l], &got, &pages);
        assert_int_equal(got.n, 40);
        for (int i = 0; i < 40; i++)
            assert_true(got.v[i] == i);
        if (limits[l] > 0)
            assert_int_equal(pages, (40 + limits[l] - 1) / limits[l]);
        else
            assert_int_equal(pages, 1);
    }
}

static void test_cursor_stops_where_fn_stops(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    int64_t id = make_result(f, STORE_RTYPE_STREAM);
    double ts[10] = {5, 5, 5, 5, 5, 6, 6, 6, 7, 7}, v[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    append_numbers(f, id, ts, v, 10);
    /* A byte budget spent in the middle of the run of 5s: the sample fn
     * refused is the next page's first. */
    struct values got = {.stop_after = 3};
    store_cursor at = {0};
    bool more = false;
    assert_int_equal(store_sample_after(f->s, id, NULL, 0, take_value, &got, &at, &more, &err), 0);
    assert_int_equal(got.n, 3);
    assert_true(more);
    assert_true(at.ts == 5);
    got.stop_after = 0;
    assert_int_equal(store_sample_after(f->s, id, &at, 0, take_value, &got, &at, &more, &err), 0);
    assert_false(more);
    assert_int_equal(got.n, 10);
    for (int i = 0; i < 10; i++)
        assert_true(got.v[i] == i);
    /* After the last key: nothing, and the cursor stays. */
    store_cursor end = at;
    assert_int_equal(store_sample_after(f->s, id, &end, 0, take_value, &got, &at, &more, &err), 0);
    assert_int_equal(got.n, 10);
    assert_false(more);
    assert_true(at.ts == end.ts && at.rowid == end.rowid);
}

static void test_cursor_sees_rows_appended_while_paging(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    int64_t id = make_result(f, STORE_RTYPE_STREAM);
    double ts[6] = {1, 2, 3, 3, 3, 3}, v[6] = {0, 1, 2, 3, 4, 5};
    append_numbers(f, id, ts, v, 6);
    struct values got = {0};
    store_cursor at;
    bool more;
    assert_int_equal(store_sample_after(f->s, id, NULL, 4, take_value, &got, &at, &more, &err), 0);
    assert_int_equal(got.n, 4);
    assert_true(more);
    /* A tracer appends meanwhile: more samples at the last timestamp seen
     * (they sort after it: a higher rowid) and later ones.  None is lost,
     * none comes twice. */
    double ts2[3] = {3, 4, 3}, v2[3] = {6, 7, 8};
    append_numbers(f, id, ts2, v2, 3);
    assert_int_equal(store_sample_after(f->s, id, &at, 0, take_value, &got, &at, &more, &err), 0);
    assert_false(more);
    static const double want[] = {0, 1, 2, 3, 4, 5, 6, 8, 7};
    assert_int_equal(got.n, 9);
    for (size_t i = 0; i < 9; i++)
        assert_true(got.v[i] == want[i]);
    /* Another result's samples never show. */
    int64_t other = make_result(f, STORE_RTYPE_STREAM);
    append_numbers(f, other, ts2, v2, 3);
    struct values again = {0};
    int pages;
    page_through(f, id, 2, &again, &pages);
    assert_int_equal(again.n, 9);
}

/* --- Series reduced for charts ------------------------------------------- */

static void test_reduce_keeps_spikes_within_the_bound(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    int64_t id = make_result(f, STORE_RTYPE_STREAM);
    enum { N = 3000 };
    static double ts[N], v[N];
    for (int i = 0; i < N; i++) {
        ts[i] = 1000 + i * 0.5;
        v[i] = 10 + (i % 7);
    }
    v[1234] = 5000; /* a one-sample spike */
    v[2345] = -300; /* and a dip */
    append_numbers(f, id, ts, v, N);
    static const size_t bounds[] = {2, 3, 10, 101, 300, 2999};
    for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
        struct values got = {0};
        store_span span;
        assert_int_equal(
            store_sample_reduce(f->s, id, -INFINITY, bounds[b], take_value, &got, &span, &err), 0);
        assert_int_equal(span.count, N);
        assert_true(span.first == 1000 && span.last == 1000 + (N - 1) * 0.5);
        assert_true(got.n <= bounds[b]);
        assert_true(got.n >= (bounds[b] / 2)); /* every bucket has samples */
        bool spike = false, dip = false;
        for (size_t i = 0; i < got.n; i++) {
            spike |= got.v[i] == 5000 && got.ts[i] == ts[1234];
            dip |= got.v[i] == -300 && got.ts[i] == ts[2345];
            if (i > 0)
                assert_true(got.ts[i] >= got.ts[i - 1]);
        }
        assert_true(spike);
        assert_true(dip);
    }
    /* Few enough samples: every one, as stored. */
    struct values all = {0};
    store_span span;
    assert_int_equal(store_sample_reduce(f->s, id, ts[N - 11], 10, take_value, &all, &span, &err),
                     0);
    assert_int_equal(span.count, 10);
    assert_int_equal(all.n, 10);
    for (int i = 0; i < 10; i++)
        assert_true(all.v[i] == v[N - 10 + i] && all.ts[i] == ts[N - 10 + i]);
}

static void test_reduce_constant_and_single(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    int64_t id = make_result(f, STORE_RTYPE_STREAM);
    enum { N = 1000 };
    static double ts[N], v[N];
    for (int i = 0; i < N; i++) {
        ts[i] = i;
        v[i] = 42;
    }
    append_numbers(f, id, ts, v, N);
    /* A constant series: one point per bucket (its lowest and highest are
     * the same sample), each the constant. */
    struct values got = {0};
    store_span span;
    assert_int_equal(store_sample_reduce(f->s, id, -INFINITY, 100, take_value, &got, &span, &err),
                     0);
    assert_int_equal(got.n, 50);
    for (size_t i = 0; i < got.n; i++)
        assert_true(got.v[i] == 42);

    /* Every sample at one instant: one bucket, its lowest and highest. */
    int64_t burst = make_result(f, STORE_RTYPE_STREAM);
    for (int i = 0; i < N; i++) {
        ts[i] = 7;
        v[i] = i % 10 == 3 ? 99 : i % 10;
    }
    v[500] = -1;
    append_numbers(f, burst, ts, v, N);
    struct values b = {0};
    assert_int_equal(store_sample_reduce(f->s, burst, -INFINITY, 40, take_value, &b, &span, &err),
                     0);
    assert_int_equal(b.n, 2);
    assert_true(b.v[0] == 99 && b.v[1] == -1); /* the first 99 comes before the -1 */

    /* One sample. */
    int64_t one = make_result(f, STORE_RTYPE_STREAM);
    double t1 = 5, v1 = 3.5;
    append_numbers(f, one, &t1, &v1, 1);
    struct values single = {0};
    assert_int_equal(store_sample_reduce(f->s, one, -INFINITY, 2, take_value, &single, &span, &err),
                     0);
    assert_int_equal(single.n, 1);
    assert_true(single.v[0] == 3.5 && single.ts[0] == 5);
    assert_true(span.count == 1 && span.first == 5 && span.last == 5);
    /* Nothing after since. */
    struct values none = {0};
    assert_int_equal(store_sample_reduce(f->s, one, 5, 2, take_value, &none, &span, &err), 0);
    assert_int_equal(none.n, 0);
    assert_int_equal(span.count, 0);
}

static int take_text(void *ctx, double ts, bool is_text, double value, const char *text, size_t len)
{
    (void)value;
    (void)ts;
    assert_true(is_text);
    sca_buf *out = ctx;
    sca_buf_appendf(out, "%.*s;", (int)len, text);
    return 0;
}

static void test_window_of_a_log(void **state)
{
    struct fixture *f = *state;
    sca_error err = {0};
    int64_t id = make_result(f, STORE_RTYPE_LOG);
    char text[10][8];
    store_sample v[10];
    for (int i = 0; i < 10; i++) {
        snprintf(text[i], sizeof(text[i]), "l%d", i);
        /* Lines 4 and 5 share a timestamp. */
        v[i] = (store_sample){id, i == 5 ? 4.0 : i, 0, text[i], strlen(text[i])};
    }
    assert_int_equal(store_sample_append(f->s, v, 10, &err), 0);
    struct {
        double since;
        size_t rows;
        const char *want;
        int64_t count;
    } cases[] = {
        {-INFINITY, 20, "l0;l1;l2;l3;l4;l5;l6;l7;l8;l9;", 10},
        {-INFINITY, 10, "l0;l1;l2;l3;l4;l5;l6;l7;l8;l9;", 10},
        {-INFINITY, 5, "l0;l1;l2;l8;l9;", 10},
        {-INFINITY, 4, "l0;l1;l8;l9;", 10},
        {-INFINITY, 1, "l0;", 10},
        {-INFINITY, 0, "", 10},
        {3, 4, "l4;l5;l8;l9;", 6},
        {4, 3, "l6;l7;l9;", 4},
        {9, 3, "", 0},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        sca_buf got = {0};
        sca_buf_append(&got, "", 0);
        store_span span;
        assert_int_equal(store_sample_window(f->s, id, cases[c].since, cases[c].rows, take_text,
                                             &got, &span, &err),
                         0);
        assert_string_equal(got.data, cases[c].want);
        assert_int_equal(span.count, cases[c].count);
        sca_buf_free(&got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_missing_without_create_fails),
        cmocka_unit_test_setup_teardown(test_migration_from_empty_file_creates_schema, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_update_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_rejects_non_scalar_atomically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracer_register_validates_and_updates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_task_fuzzy_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_update_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_and_samples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_tracer_records_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_tracer_late_start_keeps_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_tracer_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_1_adds_hold_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_keeps_running_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample_page_and_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_are_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_ends_lock_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_pages_through_ties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_stops_where_fn_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_sees_rows_appended_while_paging, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reduce_keeps_spikes_within_the_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reduce_constant_and_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_of_a_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
