/* store_sample.c - reading samples: walks in key order (ts, rowid), keyset
 * pages, summaries, and series reduced for charts (see store.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scalpels/store.h"
#include "store_internal.h"

/* Columns ts, value, text of stmt's current row to fn. */
static int sample_row(sqlite3_stmt *stmt, store_sample_fn fn, void *ctx)
{
    bool is_text = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
    const char *text = is_text ? (const char *)sqlite3_column_text(stmt, 2) : NULL;
    size_t len = is_text ? (size_t)sqlite3_column_bytes(stmt, 2) : 0;
    return fn(ctx, sqlite3_column_double(stmt, 0), is_text, sqlite3_column_double(stmt, 1), text,
              len);
}

static int sample_walk(store *s, sqlite3_stmt *stmt, store_sample_fn fn, void *ctx, sca_error *err)
{
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int stop = sample_row(stmt, fn, ctx);
        if (stop != 0) {
            sqlite3_reset(stmt);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        rc = store_db_error(s, err, "read samples");
    else
        rc = 0;
    sqlite3_reset(stmt);
    return rc;
}

int store_sample_foreach(store *s, int64_t result_id, store_sample_fn fn, void *ctx, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_SAMPLE_SCAN, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    return sample_walk(s, stmt, fn, ctx, err);
}

int store_sample_page(store *s, int64_t result_id, int64_t offset, int64_t limit,
                      store_sample_fn fn, void *ctx, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_SAMPLE_PAGE, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    sqlite3_bind_int64(stmt, 2, offset > 0 ? offset : 0);
    sqlite3_bind_int64(stmt, 3, limit > 0 ? limit : -1);
    return sample_walk(s, stmt, fn, ctx, err);
}

int store_sample_after(store *s, int64_t result_id, const store_cursor *after, int64_t limit,
                       store_sample_fn fn, void *ctx, store_cursor *last, bool *more,
                       sca_error *err)
{
    *more = false;
    sqlite3_stmt *stmt = store_stmt(s, STMT_SAMPLE_AFTER, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    /* Before every key: no timestamp is below -inf, no rowid below 1. */
    sqlite3_bind_double(stmt, 2, after ? after->ts : -INFINITY);
    sqlite3_bind_int64(stmt, 3, after ? after->rowid : 0);
    int64_t taken = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if ((limit > 0 && taken == limit) || sample_row(stmt, fn, ctx) != 0) {
            *more = true;
            break;
        }
        last->ts = sqlite3_column_double(stmt, 0);
        last->rowid = sqlite3_column_int64(stmt, 3);
        taken++;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_db_error(s, err, "read samples");
    sqlite3_reset(stmt);
    return rc;
}

/* Runs a one-row statement; 0 with the row current, or an error. */
static int step_row(store *s, sqlite3_stmt *stmt, sca_error *err, const char *what)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return -ENOENT;
    rc = store_db_error(s, err, what);
    sqlite3_reset(stmt);
    return rc;
}

/* Binds result_id, runs the one-row statement id and stores its first
 * column in *out; 0 also when there is no row (*out unchanged). */
static int first_double(store *s, enum store_stmt id, int64_t result_id, int64_t arg, double *out,
                        sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, id, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    if (sqlite3_bind_parameter_count(stmt) > 1)
        sqlite3_bind_int64(stmt, 2, arg);
    int rc = step_row(s, stmt, err, "summarize samples");
    if (rc == 0)
        *out = sqlite3_column_double(stmt, 0);
    sqlite3_reset(stmt);
    return rc == -ENOENT ? 0 : rc;
}

static int summary_spark(store *s, int64_t result_id, store_summary *out, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_SAMPLE_SPARK, err);
    if (stmt == NULL)
        return -EIO;
    out->spark_slices = out->numbers < SCA_SPARK_SLICES ? (int)out->numbers : SCA_SPARK_SLICES;
    if (out->last <= out->first)
        out->spark_slices = 1;
    double width = (out->last - out->first) / out->spark_slices;
    sqlite3_bind_int64(stmt, 1, result_id);
    sqlite3_bind_double(stmt, 2, out->first);
    sqlite3_bind_double(stmt, 3, width > 0 ? width : 1);
    sqlite3_bind_int(stmt, 4, out->spark_slices);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int slice = sqlite3_column_int(stmt, 0);
        if (slice < 0 || slice >= out->spark_slices)
            continue;
        out->spark[slice] = sqlite3_column_double(stmt, 1);
        out->spark_set[slice] = true;
    }
    rc = rc == SQLITE_DONE ? 0 : store_db_error(s, err, "summarize samples");
    sqlite3_reset(stmt);
    return rc;
}

int store_result_summary(store *s, int64_t result_id, store_summary *out, sca_error *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = store_stmt(s, STMT_SAMPLE_STATS, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    int rc = step_row(s, stmt, err, "summarize samples");
    if (rc != 0)
        return rc;
    out->count = sqlite3_column_int64(stmt, 0);
    out->first = sqlite3_column_double(stmt, 1);
    out->last = sqlite3_column_double(stmt, 2);
    out->numbers = sqlite3_column_int64(stmt, 3);
    out->min = sqlite3_column_double(stmt, 4);
    out->avg = sqlite3_column_double(stmt, 5);
    out->max = sqlite3_column_double(stmt, 6);
    sqlite3_reset(stmt);
    if (out->numbers == 0)
        return 0;
    /* Nearest-rank p95: the ceil(0.95 n)-th smallest value. */
    int64_t rank = (out->numbers * 95 + 99) / 100;
    rc = first_double(s, STMT_SAMPLE_P95, result_id, rank > 0 ? rank - 1 : 0, &out->p95, err);
    if (rc == 0)
        rc = first_double(s, STMT_SAMPLE_LAST_VALUE, result_id, 0, &out->last_value, err);
    return rc ? rc : summary_spark(s, result_id, out, err);
}

/* --- Series for charts ----------------------------------------------------- */

/* count, min(ts), max(ts) of the samples statement id selects with ts > since. */
static int span_of(store *s, enum store_stmt id, int64_t result_id, double since, store_span *span,
                   sca_error *err)
{
    memset(span, 0, sizeof(*span));
    sqlite3_stmt *stmt = store_stmt(s, id, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    sqlite3_bind_double(stmt, 2, since);
    int rc = step_row(s, stmt, err, "read samples");
    if (rc != 0)
        return rc;
    span->count = sqlite3_column_int64(stmt, 0);
    span->first = sqlite3_column_double(stmt, 1);
    span->last = sqlite3_column_double(stmt, 2);
    sqlite3_reset(stmt);
    return 0;
}

/* A sample of a bucket, by its key and value. */
struct point {
    double ts, value;
    int64_t rowid;
    bool set;
};

struct bucket {
    struct point low, high;
};

/* The bucket's lowest and highest sample to fn in key order, once when
 * they are the same sample. */
static int bucket_emit(struct bucket *b, store_sample_fn fn, void *ctx)
{
    if (!b->low.set)
        return 0;
    const struct point *first = &b->low, *second = &b->high;
    if (second->ts < first->ts || (second->ts == first->ts && second->rowid < first->rowid)) {
        first = &b->high;
        second = &b->low;
    }
    int stop = fn(ctx, first->ts, false, first->value, NULL, 0);
    if (stop == 0 && second->rowid != first->rowid)
        stop = fn(ctx, second->ts, false, second->value, NULL, 0);
    memset(b, 0, sizeof(*b));
    return stop;
}

/* One pass over the selected rows: each bucket's lowest and highest sample
 * (the first of equal ones) go out as soon as the next bucket starts.
 * Returns fn's non-zero return, or 0 with *step the last sqlite3_step. */
static int reduce_rows(sqlite3_stmt *stmt, const store_span *span, size_t buckets,
                       store_sample_fn fn, void *ctx, int *step)
{
    double width = (span->last - span->first) / (double)buckets;
    struct bucket cur = {0};
    size_t at = 0;
    int stop = 0;
    while (stop == 0 && (*step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct point p = {sqlite3_column_double(stmt, 0), sqlite3_column_double(stmt, 1),
                          sqlite3_column_int64(stmt, 2), true};
        size_t b = width > 0 ? (size_t)((p.ts - span->first) / width) : 0;
        if (b >= buckets)
            b = buckets - 1;
        if (b != at) {
            stop = bucket_emit(&cur, fn, ctx);
            at = b;
        }
        if (!cur.low.set || p.value < cur.low.value)
            cur.low = p;
        if (!cur.high.set || p.value > cur.high.value)
            cur.high = p;
    }
    return stop != 0 || *step != SQLITE_DONE ? stop : bucket_emit(&cur, fn, ctx);
}

/* Every selected row to fn, but no more than span counted (samples may
 * arrive meanwhile). */
static int pass_rows(sqlite3_stmt *stmt, const store_span *span, store_sample_fn fn, void *ctx,
                     int *step)
{
    for (int64_t n = 0; n < span->count && (*step = sqlite3_step(stmt)) == SQLITE_ROW; n++) {
        int stop =
            fn(ctx, sqlite3_column_double(stmt, 0), false, sqlite3_column_double(stmt, 1), NULL, 0);
        if (stop != 0)
            return stop;
    }
    if (*step == SQLITE_ROW)
        *step = SQLITE_DONE;
    return 0;
}

int store_sample_reduce(store *s, int64_t result_id, double since, size_t points,
                        store_sample_fn fn, void *ctx, store_span *span, sca_error *err)
{
    if (points < 2)
        points = 2;
    int rc = span_of(s, STMT_SAMPLE_NUMBERS_SPAN, result_id, since, span, err);
    if (rc != 0 || span->count == 0)
        return rc;
    sqlite3_stmt *stmt = store_stmt(s, STMT_SAMPLE_NUMBERS, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    sqlite3_bind_double(stmt, 2, since);
    int step = SQLITE_DONE;
    if ((uint64_t)span->count <= points)
        rc = pass_rows(stmt, span, fn, ctx, &step);
    else
        rc = reduce_rows(stmt, span, points / 2, fn, ctx, &step);
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_db_error(s, err, "read samples");
    sqlite3_reset(stmt);
    return rc;
}

int store_sample_window(store *s, int64_t result_id, double since, size_t rows, store_sample_fn fn,
                        void *ctx, store_span *span, sca_error *err)
{
    int rc = span_of(s, STMT_SAMPLE_SPAN, result_id, since, span, err);
    if (rc != 0 || span->count == 0 || rows == 0)
        return rc;
    bool whole = (uint64_t)span->count <= rows;
    size_t head = whole ? (size_t)span->count : (rows + 1) / 2, tail = whole ? 0 : rows / 2;
    sqlite3_stmt *stmt = store_stmt(s, STMT_SAMPLE_HEAD, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    sqlite3_bind_double(stmt, 2, since);
    sqlite3_bind_int64(stmt, 3, (int64_t)head);
    rc = sample_walk(s, stmt, fn, ctx, err);
    if (rc != 0 || tail == 0)
        return rc;
    stmt = store_stmt(s, STMT_SAMPLE_TAIL, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, result_id);
    sqlite3_bind_double(stmt, 2, since);
    sqlite3_bind_int64(stmt, 3, (int64_t)tail);
    return sample_walk(s, stmt, fn, ctx, err);
}
