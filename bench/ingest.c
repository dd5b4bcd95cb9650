/*
 * bench_ingest - the reference for bench/ingest.sh: a raw SQLite
 * prepared-insert loop writing the same rows sca-tracer writes (result_id,
 * ts, value) into a database with the same schema, indexes and pragmas
 * (opened through the store), one transaction per 1000 rows.
 *
 *   bench_ingest DB_PATH ROWS   prints "ROWS SECONDS"
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "scalpels/store.h"
#include "scalpels/util.h"

#define BATCH 1000

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_ingest DB_PATH ROWS\n");
        return 2;
    }
    long rows = strtol(argv[2], NULL, 10);
    sca_error err = {0};
    store *s;
    store_task task;
    store_result result;
    if (store_open(argv[1], STORE_CREATE, &s, &err) != 0 ||
        store_task_create(s, NULL, 0, &task, &err) != 0 ||
        store_result_create(s, task.id, "raw", "raw", "count", STORE_RTYPE_STREAM, &result, &err) !=
            0) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        return 1;
    }
    store_close(s);

    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_open(argv[1], &db);
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO sample(result_id, ts, value, text) VALUES (?1, ?2, ?3, ?4)",
                       -1, &insert, NULL);
    double start = sca_monotonic();
    for (long i = 1; i <= rows; i++) {
        if (i % BATCH == 1)
            sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        sqlite3_bind_int64(insert, 1, result.id);
        sqlite3_bind_double(insert, 2, sca_now());
        sqlite3_bind_double(insert, 3, (double)i);
        sqlite3_bind_null(insert, 4);
        if (sqlite3_step(insert) != SQLITE_DONE) {
            fprintf(stderr, "bench_ingest: %s\n", sqlite3_errmsg(db));
            return 1;
        }
        sqlite3_reset(insert);
        if (i % BATCH == 0 || i == rows)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double elapsed = sca_monotonic() - start;
    sqlite3_finalize(insert);
    sqlite3_close(db);
    store_result_clear(&result);
    printf("%ld %.6f\n", rows, elapsed);
    return 0;
}
