/* ingest.c - lines to samples to SQLite (see ingest.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

/* One result of the task, known by the parser's key for it. */
struct series {
    char *key;
    size_t key_len;
    bool is_text;
    char *name;
    char *unit;
    int64_t result_id; /* 0 until created in the store */
};

/* A sample waiting for the next flush; text lives in the batch's arena at
 * text_off so the arena may grow. */
struct pending {
    size_t series;
    double ts;
    double value;
    size_t text_off;
    size_t text_len;
    bool is_text;
};

struct ingest {
    store *store;
    int64_t task_id;
    char *tracer;
    char *title;
    const parser *parser;
    struct series *series;
    size_t n_series;
    struct pending *batch;
    size_t n_batch, cap_batch;
    sca_buf text;       /* text of pending text samples */
    store_sample *rows; /* scratch for ingest_flush */
    size_t cap_rows;
    size_t pending_lines;
    int64_t lines;
    int64_t unparsed;
    /* The line being parsed, for the sink callbacks. */
    double ts;
};

#define LOG_KEY "log"
#define STDERR_KEY "stderr"

ingest *ingest_new(store *s, int64_t task_id, const char *tracer, const char *title,
                   const parser *p)
{
    ingest *g = sca_calloc(1, sizeof(*g));
    g->store = s;
    g->task_id = task_id;
    g->tracer = sca_strdup(tracer);
    g->title = sca_strdup(title && *title ? title : tracer);
    g->parser = p;
    return g;
}

void ingest_free(ingest *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n_series; i++) {
        free(g->series[i].key);
        free(g->series[i].name);
        free(g->series[i].unit);
    }
    free(g->series);
    free(g->batch);
    free(g->rows);
    sca_buf_free(&g->text);
    free(g->tracer);
    free(g->title);
    free(g);
}

/* Names results as the original did: a tracer's single series is called by
 * the tracer's title ("Port Traffic" in pkt/s and in byte/s); kv series by
 * their key. */
static size_t series_add(ingest *g, const char *key, size_t key_len, bool is_text, const char *unit)
{
    g->series = sca_realloc(g->series, (g->n_series + 1) * sizeof(*g->series));
    struct series *sr = &g->series[g->n_series];
    memset(sr, 0, sizeof(*sr));
    sr->key = sca_strndup(key, key_len);
    sr->key_len = key_len;
    sr->is_text = is_text;
    if (strcmp(key, STDERR_KEY) == 0 && is_text)
        sr->name = sca_asprintf("%s stderr", g->title);
    else if (!is_text && strcmp(g->parser->name, "kv") == 0)
        sr->name = sca_strndup(key, key_len);
    else
        sr->name = sca_strdup(g->title);
    sr->unit = unit ? sca_strdup(unit) : NULL;
    return g->n_series++;
}

static size_t series_find(ingest *g, const char *key, size_t key_len, bool is_text,
                          const char *unit)
{
    for (size_t i = 0; i < g->n_series; i++) {
        struct series *sr = &g->series[i];
        if (sr->is_text == is_text && sr->key_len == key_len && memcmp(sr->key, key, key_len) == 0)
            return i;
    }
    return series_add(g, key, key_len, is_text, unit);
}

static struct pending *batch_push(ingest *g)
{
    if (g->n_batch == g->cap_batch) {
        g->cap_batch = g->cap_batch ? g->cap_batch * 2 : 1024;
        g->batch = sca_realloc(g->batch, g->cap_batch * sizeof(*g->batch));
    }
    return &g->batch[g->n_batch++];
}

static int sink_number(void *ctx, const char *key, size_t key_len, const char *unit, double value)
{
    ingest *g = ctx;
    struct pending *p = batch_push(g);
    p->series = series_find(g, key, key_len, false, unit);
    p->ts = g->ts;
    p->value = value;
    p->is_text = false;
    return 0;
}

static void push_text(ingest *g, const char *key, const char *text, size_t len)
{
    size_t series = series_find(g, key, strlen(key), true, NULL);
    struct pending *p = batch_push(g);
    p->series = series;
    p->ts = g->ts;
    p->is_text = true;
    p->text_off = g->text.len;
    p->text_len = len;
    sca_buf_append(&g->text, text, len);
}

static int sink_text(void *ctx, const char *key, const char *text, size_t len)
{
    (void)key;
    /* Whatever a text parser calls its series, it is the tracer's log. */
    push_text(ctx, LOG_KEY, text, len);
    return 0;
}

static const parse_sink ingest_sink = {sink_number, sink_text};

void ingest_line(ingest *g, enum ingest_source src, const char *line, size_t len, double ts)
{
    g->ts = ts;
    g->pending_lines++;
    if (src == INGEST_STDERR) {
        push_text(g, STDERR_KEY, line, len);
        return;
    }
    g->lines++;
    size_t mark = g->n_batch;
    size_t text_mark = g->text.len;
    if (parse_line(g->parser, line, len, &ingest_sink, g) != 0) {
        g->n_batch = mark; /* drop a partial line's samples, keep the raw line */
        g->text.len = text_mark;
        g->unparsed++;
        push_text(g, LOG_KEY, line, len);
    }
}

size_t ingest_pending_lines(const ingest *g)
{
    return g->pending_lines;
}

size_t ingest_pending_bytes(const ingest *g)
{
    return g->n_batch * sizeof(struct pending) + g->text.len;
}

int64_t ingest_lines(const ingest *g)
{
    return g->lines;
}

int64_t ingest_unparsed(const ingest *g)
{
    return g->unparsed;
}

static int create_missing_results(ingest *g, sca_error *err)
{
    for (size_t i = 0; i < g->n_series; i++) {
        struct series *sr = &g->series[i];
        if (sr->result_id != 0)
            continue;
        store_result r;
        int rc = store_result_create(g->store, g->task_id, g->tracer, sr->name, sr->unit,
                                     sr->is_text ? STORE_RTYPE_LOG : STORE_RTYPE_STREAM, &r, err);
        if (rc != 0)
            return rc;
        sr->result_id = r.id;
        store_result_clear(&r);
    }
    return 0;
}

static void build_rows(ingest *g)
{
    if (g->cap_rows < g->n_batch) {
        g->cap_rows = g->cap_batch;
        g->rows = sca_realloc(g->rows, g->cap_rows * sizeof(*g->rows));
    }
    for (size_t i = 0; i < g->n_batch; i++) {
        const struct pending *p = &g->batch[i];
        store_sample *row = &g->rows[i];
        row->result_id = g->series[p->series].result_id;
        row->ts = p->ts;
        row->value = p->value;
        row->text = p->is_text ? g->text.data + p->text_off : NULL;
        row->text_len = p->text_len;
    }
}

/* Result ids created in a transaction that rolled back must be made again. */
static void forget_uncommitted_results(ingest *g, const int64_t *before)
{
    for (size_t i = 0; i < g->n_series; i++)
        g->series[i].result_id = before[i];
}

int ingest_flush(ingest *g, sca_error *err)
{
    if (g->n_batch == 0 && g->pending_lines == 0)
        return 0;
    int64_t *known = sca_malloc((g->n_series + 1) * sizeof(*known));
    for (size_t i = 0; i < g->n_series; i++)
        known[i] = g->series[i].result_id;
    int rc = store_begin(g->store, err);
    if (rc == 0)
        rc = create_missing_results(g, err);
    if (rc == 0) {
        build_rows(g);
        rc = store_sample_append(g->store, g->rows, g->n_batch, err);
    }
    if (rc == 0)
        rc = store_task_tracer_count(g->store, g->task_id, g->tracer, g->lines, g->unparsed, err);
    if (rc == 0)
        rc = store_commit(g->store, err);
    if (rc != 0) {
        store_rollback(g->store);
        forget_uncommitted_results(g, known);
    } else {
        g->n_batch = 0;
        g->pending_lines = 0;
        sca_buf_reset(&g->text);
    }
    free(known);
    return rc;
}
