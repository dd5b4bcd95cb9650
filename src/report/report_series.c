/* report_series.c - get_task_series replies: checking their shape, the
 * order in which every report shows their series, and the summary sca
 * report prints by default, one line per series (see report.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_internal.h"
#include "scalpels/report.h"
#include "scalpels/vocab.h"

/* --- Shape ------------------------------------------------------------------ */

static int check_points(const json_t *series, const char *uuid, sca_error *err)
{
    json_t *points = json_object_get(series, "points");
    if (!json_is_array(points))
        return sca_error_set(err, -EPROTO, "series %s has no points array", uuid);
    size_t i;
    json_t *p;
    json_array_foreach(points, i, p)
    {
        if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_number(json_array_get(p, 0)))
            return sca_error_set(err, -EPROTO, "series %s: point %zu is not [timestamp, value]",
                                 uuid, i);
    }
    return 0;
}

static int check_one(const json_t *series, sca_error *err)
{
    const char *uuid = report_str(series, "uuid");
    if (!json_is_object(series) || uuid == NULL)
        return sca_error_set(err, -EPROTO, "a series is not an object with a uuid");
    json_t *count = json_object_get(series, "count");
    if (!json_is_integer(count) || json_integer_value(count) < 0)
        return sca_error_set(err, -EPROTO, "series %s: count is not a number of samples", uuid);
    json_t *summary = json_object_get(series, "summary");
    if (summary != NULL && !json_is_null(summary) && !json_is_object(summary))
        return sca_error_set(err, -EPROTO, "series %s: summary is not an object", uuid);
    json_t *spark = json_object_get(series, "spark");
    if (spark != NULL && !json_is_null(spark) && !json_is_array(spark))
        return sca_error_set(err, -EPROTO, "series %s: spark is not an array", uuid);
    return check_points(series, uuid, err);
}

int report_check_series(const json_t *replies, sca_error *err)
{
    if (!json_is_array(replies))
        return sca_error_set(err, -EPROTO, "the report needs an array of get_task_series replies");
    size_t i, j;
    json_t *reply, *series;
    json_array_foreach(replies, i, reply)
    {
        json_t *host = json_object_get(reply, "host");
        json_t *task = json_object_get(reply, "task");
        if (!json_is_object(reply) || !json_is_array(json_object_get(reply, "series")))
            return sca_error_set(err, -EPROTO, "reply %zu has no series array", i);
        if (host != NULL && !json_is_null(host) && !json_is_string(host))
            return sca_error_set(err, -EPROTO, "reply %zu: host is not a string", i);
        if (task != NULL && !json_is_null(task) && !json_is_object(task))
            return sca_error_set(err, -EPROTO, "reply %zu: task is not an object", i);
        json_array_foreach(json_object_get(reply, "series"), j, series)
        {
            int rc = check_one(series, err);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* --- Order ------------------------------------------------------------------ */

struct ranked {
    report_item item;
    bool logs_only; /* its tracer has no stream */
    size_t tracer_rank, name_rank, seq;
};

static int compare_ranked(const void *a, const void *b)
{
    const struct ranked *p = a, *q = b;
    if (p->logs_only != q->logs_only)
        return p->logs_only ? 1 : -1;
    if (p->tracer_rank != q->tracer_rank)
        return p->tracer_rank < q->tracer_rank ? -1 : 1;
    if (p->name_rank != q->name_rank)
        return p->name_rank < q->name_rank ? -1 : 1;
    if (p->item.node != q->item.node)
        return p->item.node < q->item.node ? -1 : 1;
    return (p->seq > q->seq) - (p->seq < q->seq);
}

/* The rank of key in seen: the number of keys seen before it came first. */
static size_t rank_of(json_t *seen, const char *key)
{
    json_t *r = json_object_get(seen, key);
    if (r != NULL)
        return (size_t)json_integer_value(r);
    size_t rank = json_object_size(seen);
    json_object_set_new(seen, key, json_integer((json_int_t)rank));
    return rank;
}

report_item *report_items(const json_t *replies, size_t *n)
{
    size_t total = 0, i, j, k = 0;
    json_t *reply, *series;
    json_array_foreach(replies, i, reply)
    {
        total += json_array_size(json_object_get(reply, "series"));
    }
    struct ranked *r = sca_calloc(total + 1, sizeof(*r));
    json_t *tracers = json_object(), *names = json_object();
    sca_buf key = {0};
    json_array_foreach(replies, i, reply)
    {
        json_array_foreach(json_object_get(reply, "series"), j, series)
        {
            const char *tracer = report_str(series, "tracer");
            const char *name = report_str(series, "name");
            sca_buf_reset(&key);
            /* A byte no tracer or series name holds between the two. */
            sca_buf_appendf(&key, "%s\x1f%s", tracer ? tracer : "", name ? name : "");
            r[k] = (struct ranked){
                .item = {.series = series, .host = report_str(reply, "host"), .node = i},
                .tracer_rank = rank_of(tracers, tracer ? tracer : ""),
                .name_rank = rank_of(names, key.data),
                .seq = k,
            };
            k++;
        }
    }
    /* Tracers that only log go after those with charts. */
    json_t *streams = json_object();
    for (k = 0; k < total; k++) {
        const char *tracer = report_str(r[k].item.series, "tracer");
        if (!report_series_is_log(r[k].item.series))
            json_object_set_new(streams, tracer ? tracer : "", json_true());
    }
    for (k = 0; k < total; k++) {
        const char *tracer = report_str(r[k].item.series, "tracer");
        r[k].logs_only = json_object_get(streams, tracer ? tracer : "") == NULL;
    }
    json_decref(streams);
    qsort(r, total, sizeof(*r), compare_ranked);
    report_item *items = sca_calloc(total + 1, sizeof(*items));
    for (k = 0; k < total; k++)
        items[k] = r[k].item;
    free(r);
    sca_buf_free(&key);
    json_decref(tracers);
    json_decref(names);
    *n = total;
    return items;
}

bool report_same(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool report_series_is_log(const json_t *series)
{
    return report_same(report_str(series, "rtype"), "log");
}

bool report_series_constant(const json_t *series, double *value)
{
    json_t *summary = json_object_get(series, "summary");
    json_t *min = json_object_get(summary, "min"), *max = json_object_get(summary, "max");
    if (report_series_is_log(series) || !json_is_number(min) || !json_is_number(max) ||
        json_number_value(min) != json_number_value(max))
        return false;
    *value = json_number_value(min);
    return true;
}

/* --- The summary ------------------------------------------------------------- */

enum column {
    COL_MARKER,
    COL_HOST,
    COL_NAME,
    COL_UNIT,
    COL_COUNT,
    COL_MIN,
    COL_AVG,
    COL_MAX,
    COL_P95,
    COL_TREND,
    NCOLS
};

static const char *const headers[NCOLS] = {"result", "host", "name", "unit", "count",
                                           "min",    "avg",  "max",  "p95",  "trend"};

/* A line of the summary: a tracer's heading (cells NULL) or a series'. */
struct line {
    const char *heading;
    const report_item *item; /* the series' */
    char *cell[NCOLS];
    bool spans; /* a log's span fills the columns from min on */
};

#define COLUMN_GAP 2
#define TREND_MIN 8 /* the narrowest sparkline worth drawing */

static char *cell_value(const json_t *summary, const char *stat, const char *unit)
{
    char text[REPORT_VALUE_LEN];
    json_t *v = json_object_get(summary, stat);
    if (!json_is_number(v))
        return NULL;
    report_format_value(json_number_value(v), unit, text);
    return sca_strdup(text);
}

/* spark averaged down to at most width slices (null slices stay out of the
 * averages; a slice of nulls alone stays null); a new reference. */
static json_t *spark_fit(const json_t *spark, size_t width)
{
    size_t n = json_array_size(spark);
    if (n <= width)
        return json_incref((json_t *)spark);
    json_t *fit = json_array();
    for (size_t s = 0; s < width; s++) {
        double sum = 0;
        size_t cnt = 0;
        for (size_t i = s * n / width; i < (s + 1) * n / width; i++) {
            json_t *v = json_array_get(spark, i);
            if (json_is_number(v)) {
                sum += json_number_value(v);
                cnt++;
            }
        }
        json_array_append_new(fit, cnt > 0 ? json_real(sum / (double)cnt) : json_null());
    }
    return fit;
}

static char *trend_cell(const json_t *series, size_t width, enum table_charset cs)
{
    double value;
    if (report_series_constant(series, &value))
        return sca_strdup("constant");
    json_t *spark = json_object_get(series, "spark");
    if (json_array_size(spark) == 0)
        return NULL;
    json_t *fit = spark_fit(spark, width);
    sca_buf out = {0};
    report_sparkline(fit, cs, &out);
    json_decref(fit);
    /* Empty slices at the end would be trailing blanks. */
    while (out.len > 0 && out.data[out.len - 1] == ' ')
        out.data[--out.len] = '\0';
    return out.data;
}

static char *span_cell(const json_t *summary)
{
    json_t *first = json_object_get(summary, "first"), *last = json_object_get(summary, "last");
    if (!json_is_number(first) || !json_is_number(last))
        return NULL;
    char span[REPORT_VALUE_LEN], t1[REPORT_DAYTIME_LEN], t2[REPORT_DAYTIME_LEN];
    report_format_value(json_number_value(last) - json_number_value(first), "s", span);
    report_time_of_day(json_number_value(first), t1);
    report_time_of_day(json_number_value(last), t2);
    return sca_asprintf("span %s, %s to %s", span, t1, t2);
}

static void series_line(struct line *l, const report_item *it, bool hosts, size_t trend_width,
                        enum table_charset cs)
{
    const json_t *s = it->series;
    l->item = it;
    const json_t *summary = json_object_get(s, "summary");
    const char *unit = report_str(s, "unit");
    const char *name = report_str(s, "name");
    l->cell[COL_MARKER] = sca_asprintf("<result %s>", report_str(s, "uuid"));
    l->cell[COL_HOST] = hosts ? sca_strdup(it->host != NULL ? it->host : "?") : NULL;
    l->cell[COL_NAME] = sca_strdup(name != NULL ? name : "");
    l->cell[COL_UNIT] = sca_strdup(unit != NULL ? unit : "");
    l->cell[COL_COUNT] =
        sca_asprintf("%lld", (long long)json_integer_value(json_object_get(s, "count")));
    if (json_integer_value(json_object_get(s, "count")) == 0)
        return;
    if (report_series_is_log(s)) {
        l->cell[COL_MIN] = span_cell(summary);
        l->spans = true;
        return;
    }
    l->cell[COL_MIN] = cell_value(summary, "min", unit);
    l->cell[COL_AVG] = cell_value(summary, "avg", unit);
    l->cell[COL_MAX] = cell_value(summary, "max", unit);
    l->cell[COL_P95] = cell_value(summary, "p95", unit);
    l->cell[COL_TREND] = trend_cell(s, trend_width, cs);
}

static bool right_aligned(enum column c)
{
    return c >= COL_COUNT && c <= COL_P95;
}

static void pad(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', out);
}

/* One line, columns of widths w; a column of width 0 is left out. */
static void print_line(FILE *out, const char *const cell[NCOLS], const size_t w[NCOLS], bool spans)
{
    size_t owed = 0; /* blanks before the next cell, written only if one follows */
    for (int c = 0; c < NCOLS; c++) {
        if (w[c] == 0)
            continue;
        const char *text = cell[c] != NULL ? cell[c] : "";
        size_t tw = table_text_width(text);
        size_t before = right_aligned(c) && !(spans && c == COL_MIN) && tw < w[c] ? w[c] - tw : 0;
        if (text[0] != '\0') {
            pad(out, owed + before);
            fputs(text, out);
            owed = 0;
        } else {
            owed += before;
        }
        if (spans && c == COL_MIN)
            break;
        owed += (before + tw < w[c] ? w[c] - before - tw : 0) + COLUMN_GAP;
    }
    fputc('\n', out);
}

/* The widths of the columns over the lines, the header included; 0 for
 * the host column without hosts. */
static void measure(const struct line *lines, size_t n, bool hosts, size_t w[NCOLS])
{
    for (int c = 0; c < NCOLS; c++)
        w[c] = table_text_width(headers[c]);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < NCOLS && lines[i].heading == NULL; c++) {
            if (lines[i].cell[c] == NULL || (lines[i].spans && c == COL_MIN))
                continue;
            size_t cw = table_text_width(lines[i].cell[c]);
            if (cw > w[c])
                w[c] = cw;
        }
    }
    if (!hosts)
        w[COL_HOST] = 0;
}

/* How wide the sparkline may be: its full width unless out is a terminal
 * too narrow for it beside the other columns. */
static size_t trend_width(const report_options *o, FILE *out, const struct line *lines, size_t n,
                          bool hosts)
{
    size_t w[NCOLS], used = 0;
    measure(lines, n, hosts, w);
    for (int c = 0; c < COL_TREND; c++)
        used += w[c] > 0 ? w[c] + COLUMN_GAP : 0;
    size_t width = o->width;
    if (width == 0) {
        int fd = fileno(out);
        if (fd < 0 || !isatty(fd))
            return SCA_SPARK_SLICES;
        width = report_terminal_width(out);
    }
    if (width <= used + TREND_MIN)
        return TREND_MIN;
    return width - used < SCA_SPARK_SLICES ? width - used : SCA_SPARK_SLICES;
}

static void task_line(FILE *out, const json_t *reply, bool hosts)
{
    const json_t *task = json_object_get(reply, "task");
    const char *status = report_str(task, "status");
    json_t *created = json_object_get(task, "created"), *stopped = json_object_get(task, "stopped");
    if (!json_is_object(task))
        return;
    if (hosts)
        fprintf(out, "host %s: task <%s> ",
                report_str(reply, "host") ? report_str(reply, "host") : "?",
                report_str(task, "uuid") ? report_str(task, "uuid") : "?");
    else
        fputs("task ", out);
    fputs(status != NULL ? status : "?", out);
    char t1[REPORT_CLOCK_LEN], t2[REPORT_CLOCK_LEN], span[REPORT_VALUE_LEN];
    if (json_is_number(created) && json_is_number(stopped)) {
        report_format_clock(json_number_value(created), t1);
        report_format_clock(json_number_value(stopped), t2);
        report_format_value(json_number_value(stopped) - json_number_value(created), "s", span);
        fprintf(out, ": %s to %s (%s)", t1, t2, span);
    } else if (json_is_number(created)) {
        report_format_clock(json_number_value(created), t1);
        fprintf(out, " since %s", t1);
    }
    fputc('\n', out);
}

static void free_lines(struct line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < NCOLS; c++)
            free(lines[i].cell[c]);
    free(lines);
}

int report_summary(FILE *out, const json_t *replies, const report_options *o, sca_error *err)
{
    int rc = report_check_series(replies, err);
    if (rc != 0)
        return rc;
    bool hosts = o->hosts || json_array_size(replies) > 1;
    size_t n, nlines = 0;
    report_item *items = report_items(replies, &n);
    struct line *lines = sca_calloc(2 * n + 1, sizeof(*lines));
    for (size_t i = 0; i < n; i++) {
        const char *tracer = report_str(items[i].series, "tracer");
        if (i == 0 || !report_same(tracer, report_str(items[i - 1].series, "tracer")))
            lines[nlines++].heading = tracer != NULL ? tracer : "?";
        series_line(&lines[nlines++], &items[i], hosts, SCA_SPARK_SLICES, o->charset);
    }
    /* The sparkline's width depends on the other columns: fit, then redo. */
    size_t tw = trend_width(o, out, lines, nlines, hosts);
    for (size_t l = 0; l < nlines && tw < SCA_SPARK_SLICES; l++) {
        if (lines[l].cell[COL_TREND] != NULL) {
            free(lines[l].cell[COL_TREND]);
            lines[l].cell[COL_TREND] = trend_cell(lines[l].item->series, tw, o->charset);
        }
    }
    size_t w[NCOLS];
    measure(lines, nlines, hosts, w);

    errno = 0;
    size_t i;
    json_t *reply;
    json_array_foreach(replies, i, reply)
    {
        task_line(out, reply, hosts);
    }
    if (n == 0)
        fputs("(no results)\n", out);
    else
        print_line(out, headers, w, false);
    for (size_t l = 0; l < nlines; l++) {
        if (lines[l].heading != NULL)
            fprintf(out, "tracer %s\n", lines[l].heading);
        else
            print_line(out, (const char *const *)lines[l].cell, w, lines[l].spans);
    }
    free_lines(lines, nlines);
    free(items);
    if (ferror(out))
        return report_write_failed(err, "the summary");
    return 0;
}
