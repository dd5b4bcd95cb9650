/* report_compare.c - two tasks side by side (sca compare): their series
 * matched by tracer and name, each one's count, avg, p95 and max with the
 * change in percent, and a change of avg or p95 beyond a threshold
 * flagged; as a JSON object, a text table and an HTML page that overlays
 * both runs aligned at their start (see report.h, docs/cli.md). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "scalpels/report.h"
#include "scalpels/table.h"

/* The figures compared, in the order shown. */
static const char *const stat_names[] = {"count", "avg", "p95", "max"};
#define NSTATS (sizeof(stat_names) / sizeof(stat_names[0]))

/* Only these are flagged: count depends on how long a run lasted, and max
 * on a single sample. */
static bool flagged_stat(const char *stat)
{
    return strcmp(stat, "avg") == 0 || strcmp(stat, "p95") == 0;
}

/* --- Matching and the comparison object ------------------------------------- */

static bool same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Series are the same when tracer, name and host (when they carry one)
 * are. */
static bool same_series(const json_t *x, const json_t *y)
{
    return same_str(report_str(x, "tracer"), report_str(y, "tracer")) &&
           same_str(report_str(x, "name"), report_str(y, "name")) &&
           same_str(report_str(x, "host"), report_str(y, "host"));
}

static int check_reply(const json_t *reply, char which, sca_error *err)
{
    const json_t *task = json_object_get(reply, "task");
    const json_t *series = json_object_get(reply, "series");
    if (!json_is_object(reply) || report_str(task, "uuid") == NULL || !json_is_array(series))
        return sca_error_set(err, -EPROTO, "task %c: not a get_task_series reply", which);
    size_t i;
    json_t *s;
    json_array_foreach(series, i, s)
    {
        if (report_str(s, "uuid") == NULL || report_str(s, "tracer") == NULL ||
            !json_is_integer(json_object_get(s, "count")))
            return sca_error_set(err, -EPROTO, "task %c: series %zu has no uuid, tracer or count",
                                 which, i);
    }
    return 0;
}

/* {"task", "host", "status", "created", "stopped"} of a reply. */
static json_t *task_about(const json_t *reply)
{
    const json_t *task = json_object_get(reply, "task");
    json_t *about = json_object();
    json_object_set_new(about, "task", json_string(report_str(task, "uuid")));
    static const char *const keys[] = {"status", "created", "stopped"};
    const char *host = report_str(reply, "host");
    json_object_set_new(about, "host", host != NULL ? json_string(host) : json_null());
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        json_t *v = json_object_get(task, keys[k]);
        json_object_set_new(about, keys[k], v != NULL ? json_copy(v) : json_null());
    }
    return about;
}

/* {"uuid", "count", "avg", "p95", "max"}: the figures one task has for a
 * series (avg, p95 and max only for numbers). */
static json_t *side_stats(const json_t *series)
{
    const json_t *summary = json_object_get(series, "summary");
    json_t *o = json_pack("{s:s,s:O}", "uuid", report_str(series, "uuid"), "count",
                          json_object_get(series, "count"));
    for (size_t k = 1; k < NSTATS; k++) {
        json_t *v = json_object_get(summary, stat_names[k]);
        if (json_is_number(v))
            json_object_set_new(o, stat_names[k], json_real(json_number_value(v)));
    }
    return o;
}

/* The change from a to b in percent of a; NAN when a is 0 and b is not. */
static double change_pct(double a, double b)
{
    if (a == 0)
        return b == 0 ? 0 : NAN;
    return (b - a) / fabs(a) * 100.0;
}

/* "change" and "changed" of a series both tasks have; true when it is
 * flagged. */
static bool add_changes(json_t *entry, const json_t *sa, const json_t *sb, double threshold)
{
    json_t *change = json_object(), *changed = json_array();
    for (size_t k = 0; k < NSTATS; k++) {
        json_t *va = json_object_get(sa, stat_names[k]), *vb = json_object_get(sb, stat_names[k]);
        if (!json_is_number(va) || !json_is_number(vb))
            continue;
        double pct = change_pct(json_number_value(va), json_number_value(vb));
        json_object_set_new(change, stat_names[k], isnan(pct) ? json_null() : json_real(pct));
        if (flagged_stat(stat_names[k]) && (isnan(pct) || fabs(pct) > threshold))
            json_array_append_new(changed, json_string(stat_names[k]));
    }
    bool flagged = json_array_size(changed) > 0;
    json_object_set_new(entry, "change", change);
    json_object_set_new(entry, "changed", changed);
    return flagged;
}

/* One series of the comparison; a or b is NULL for a series only the
 * other task has. */
static json_t *entry_new(const json_t *a, const json_t *b, double threshold, bool *flagged)
{
    const json_t *any = a != NULL ? a : b;
    json_t *entry = json_object();
    static const char *const keys[] = {"tracer", "name", "unit", "rtype"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        json_t *v = json_object_get(any, keys[k]);
        json_object_set_new(entry, keys[k], v != NULL ? json_copy(v) : json_null());
    }
    if (report_str(any, "host") != NULL)
        json_object_set_new(entry, "host", json_string(report_str(any, "host")));
    json_object_set_new(entry, "in", json_string(a && b ? "both" : a ? "a" : "b"));
    json_t *sa = a != NULL ? side_stats(a) : json_null();
    json_t *sb = b != NULL ? side_stats(b) : json_null();
    json_object_set_new(entry, "a", sa);
    json_object_set_new(entry, "b", sb);
    *flagged = false;
    if (a != NULL && b != NULL) {
        *flagged = add_changes(entry, sa, sb, threshold);
    } else {
        json_object_set_new(entry, "change", json_object());
        json_object_set_new(entry, "changed", json_array());
    }
    return entry;
}

int report_compare(const json_t *a, const json_t *b, double threshold, json_t **out, sca_error *err)
{
    int rc;
    if (!isfinite(threshold) || threshold < 0)
        return sca_error_set(err, -EINVAL, "the threshold is not a percentage of 0 or more");
    if ((rc = check_reply(a, 'A', err)) != 0 || (rc = check_reply(b, 'B', err)) != 0)
        return rc;
    const json_t *as = json_object_get(a, "series"), *bs = json_object_get(b, "series");
    size_t nb = json_array_size(bs), changed = 0, only_a = 0, only_b = 0;
    bool *used = sca_calloc(nb + 1, sizeof(bool));
    json_t *entries = json_array();
    size_t i;
    json_t *sa;
    json_array_foreach(as, i, sa)
    {
        /* A series a task has twice pairs with the other task's in order. */
        const json_t *match = NULL;
        for (size_t j = 0; j < nb && match == NULL; j++) {
            if (!used[j] && same_series(sa, json_array_get(bs, j))) {
                used[j] = true;
                match = json_array_get(bs, j);
            }
        }
        bool flagged;
        json_array_append_new(entries, entry_new(sa, match, threshold, &flagged));
        changed += flagged;
        only_a += match == NULL;
    }
    for (size_t j = 0; j < nb; j++) {
        bool flagged;
        if (used[j])
            continue;
        json_array_append_new(entries, entry_new(NULL, json_array_get(bs, j), threshold, &flagged));
        only_b++;
    }
    free(used);
    *out = json_pack("{s:f,s:o,s:o,s:o,s:I,s:I,s:I}", "threshold", threshold, "a", task_about(a),
                     "b", task_about(b), "series", entries, "changed", (json_int_t)changed,
                     "only_a", (json_int_t)only_a, "only_b", (json_int_t)only_b);
    return 0;
}

/* --- Text ------------------------------------------------------------------------ */

/* A figure of one side: "-" when that side has none. */
static void stat_text(const json_t *side, const char *stat, char out[32])
{
    json_t *v = json_object_get(side, stat);
    if (json_is_integer(v))
        snprintf(out, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_number(v))
        report_format_stat(json_number_value(v), out);
    else
        snprintf(out, 32, "-");
}

/* "+33.8%", "-0.4%", "0%", "from 0" (a change from zero), "" (none). */
static void change_text(const json_t *change, const char *stat, char out[32])
{
    json_t *v = json_object_get(change, stat);
    if (v == NULL)
        out[0] = '\0';
    else if (!json_is_number(v))
        snprintf(out, 32, "from 0");
    else if (json_number_value(v) == 0)
        snprintf(out, 32, "0%%");
    else
        snprintf(out, 32, "%+.1f%%", json_number_value(v));
}

static bool listed(const json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        if (same_str(json_string_value(v), name))
            return true;
    }
    return false;
}

/* One row of the table: a figure of a series in A and in B. */
struct compare_row {
    const char *label; /* the series on its first row, else "" */
    const char *stat;
    char a[32], b[32], change[32];
    const char *note; /* "changed", "only in A", "only in B" or "" */
};

typedef void (*compare_row_fn)(const struct compare_row *row, void *ctx);

/* "[TRACER ]NAME[ (UNIT)][ on HOST]". */
static void entry_label(const json_t *entry, sca_buf *out)
{
    report_series_label(entry, out);
    if (report_str(entry, "host") != NULL)
        sca_buf_appendf(out, " on %s", report_str(entry, "host"));
}

/* The rows of one series, to fn: a row per figure both tasks have, or the
 * count alone for a series only one task has. */
static void entry_rows(const json_t *entry, compare_row_fn fn, void *ctx)
{
    const json_t *sa = json_object_get(entry, "a"), *sb = json_object_get(entry, "b");
    const json_t *change = json_object_get(entry, "change");
    const char *in = report_str(entry, "in");
    sca_buf label = {0};
    entry_label(entry, &label);
    for (size_t k = 0; k < NSTATS; k++) {
        struct compare_row row = {.label = k == 0 ? label.data : "", .stat = stat_names[k]};
        if (k > 0 && json_object_get(change, row.stat) == NULL)
            continue;
        stat_text(sa, row.stat, row.a);
        stat_text(sb, row.stat, row.b);
        change_text(change, row.stat, row.change);
        row.note = same_str(in, "a")                                     ? "only in A"
                   : same_str(in, "b")                                   ? "only in B"
                   : listed(json_object_get(entry, "changed"), row.stat) ? "changed"
                                                                         : "";
        fn(&row, ctx);
    }
    sca_buf_free(&label);
}

static void each_row(const json_t *cmp, compare_row_fn fn, void *ctx)
{
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(cmp, "series"), i, entry)
    {
        entry_rows(entry, fn, ctx);
    }
}

static void text_row(const struct compare_row *row, void *ctx)
{
    const char *cells[] = {row->label, row->stat, row->a, row->b, row->change, row->note};
    table_add_row(ctx, cells);
}

static void about_line(FILE *out, char which, const json_t *about)
{
    const char *host = report_str(about, "host");
    const char *status = report_str(about, "status");
    json_t *created = json_object_get(about, "created");
    fprintf(out, "%c: task %s", which, report_str(about, "task"));
    if (host != NULL)
        fprintf(out, " on %s", host);
    if (json_is_number(created)) {
        char t[REPORT_TIME_LEN + 8];
        report_format_time(json_number_value(created), t);
        fprintf(out, ", created %s", t);
    }
    if (status != NULL)
        fprintf(out, ", %s%s", status, strcmp(status, "running") == 0 ? " (its data so far)" : "");
    fputc('\n', out);
}

/* "1 of 4 series changed by more than 10% in avg or p95; 1 only in A". */
static void verdict(const json_t *cmp, sca_buf *out)
{
    json_int_t changed = json_integer_value(json_object_get(cmp, "changed"));
    json_int_t only_a = json_integer_value(json_object_get(cmp, "only_a"));
    json_int_t only_b = json_integer_value(json_object_get(cmp, "only_b"));
    size_t n = json_array_size(json_object_get(cmp, "series"));
    size_t both = n - (size_t)only_a - (size_t)only_b;
    char threshold[32];
    report_format_number(json_number_value(json_object_get(cmp, "threshold")), threshold);
    if (both == 0)
        sca_buf_appendf(out, "no series in common");
    else
        sca_buf_appendf(out,
                        "%" JSON_INTEGER_FORMAT " of %zu series changed by more than %s%% "
                        "in avg or p95",
                        changed, both, threshold);
    if (only_a > 0)
        sca_buf_appendf(out, "; %" JSON_INTEGER_FORMAT " only in A", only_a);
    if (only_b > 0)
        sca_buf_appendf(out, "; %" JSON_INTEGER_FORMAT " only in B", only_b);
}

int report_compare_text(FILE *out, const json_t *cmp, enum table_charset cs, sca_error *err)
{
    static const char *const headers[] = {"series", "stat", "A", "B", "change", "note"};
    table *t = table_new(6, headers);
    table_set_charset(t, cs);
    for (size_t c = 2; c <= 4; c++)
        table_set_align(t, c, TABLE_RIGHT);
    each_row(cmp, text_row, t);
    errno = 0;
    about_line(out, 'A', json_object_get(cmp, "a"));
    about_line(out, 'B', json_object_get(cmp, "b"));
    if (table_rows(t) > 0)
        table_print(t, out);
    sca_buf line = {0};
    verdict(cmp, &line);
    fprintf(out, "%s\n", line.data);
    sca_buf_free(&line);
    table_free(t);
    return ferror(out) ? report_write_failed(err, "the comparison") : 0;
}

/* --- HTML ------------------------------------------------------------------------ */

/* The page's own style, over the report's (report_html_head), and its
 * script.  The script draws a chart from each JSON block of [seconds since
 * start, A, B] rows (null where a task has no sample); strings from the
 * data never reach it. */
static const char compare_css[] =
    "h3{font-family:ui-monospace,monospace;margin:1.6em 0 .2em}\n"
    "table.compare{border-collapse:collapse;font-family:ui-monospace,monospace;font-size:13px}\n"
    "table.compare th,table.compare td{padding:1px 10px;border-bottom:1px solid #eee}\n"
    "table.compare td.n{text-align:right}\n"
    "table.compare tr.changed td{color:#b00;font-weight:600}\n"
    "div.chart{width:100%;height:280px}\n";

static const char compare_js[] =
    "(function () {\n"
    "  'use strict';\n"
    "  document.querySelectorAll('div.chart').forEach(function (div) {\n"
    "    var rows = JSON.parse(document.getElementById(div.dataset.points).textContent);\n"
    "    new Dygraph(div, rows, {labels: ['seconds since the task started', 'A', 'B'],\n"
    "                            xlabel: 'seconds since the task started',\n"
    "                            connectSeparatedPoints: true, drawPoints: rows.length < 100,\n"
    "                            strokeWidth: 1.2, legend: 'always',\n"
    "                            colors: ['#1f6fb4', '#d2402a']});\n"
    "  });\n"
    "})();\n";

static void esc(sca_buf *page, const char *s)
{
    report_html_escape(s != NULL ? s : "", s != NULL ? strlen(s) : 0, page);
}

static void about_html(sca_buf *page, char which, const json_t *about)
{
    const char *host = report_str(about, "host");
    const char *status = report_str(about, "status");
    json_t *created = json_object_get(about, "created");
    sca_buf_appendf(page, "<dt>%c</dt><dd>task <code>", which);
    esc(page, report_str(about, "task"));
    sca_buf_appendf(page, "</code>");
    if (host != NULL) {
        sca_buf_appendf(page, " on ");
        esc(page, host);
    }
    if (json_is_number(created)) {
        char t[REPORT_TIME_LEN + 8];
        report_format_time(json_number_value(created), t);
        sca_buf_appendf(page, ", created %s", t);
    }
    if (status != NULL) {
        sca_buf_appendf(page, ", ");
        esc(page, status);
    }
    sca_buf_appendf(page, "</dd>\n");
}

static void html_row(const struct compare_row *row, void *ctx)
{
    sca_buf *page = ctx;
    bool flagged = strcmp(row->note, "changed") == 0;
    sca_buf_appendf(page, "<tr%s><td>", flagged ? " class=\"changed\"" : "");
    esc(page, row->label);
    /* The figures and notes are sca's own words and numbers. */
    sca_buf_appendf(page,
                    "</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                    "<td class=\"n\">%s</td><td>%s</td></tr>\n",
                    row->stat, row->a, row->b, row->change, row->note);
}

/* A sample of either task on the common time axis. */
struct overlay_point {
    double x, y;
    int side; /* 0 = A, 1 = B */
    size_t i; /* its place in its task's points: equal x stay in order */
};

static int compare_overlay(const void *p, const void *q)
{
    const struct overlay_point *a = p, *b = q;
    if (a->x != b->x)
        return (a->x > b->x) - (a->x < b->x);
    if (a->side != b->side)
        return a->side - b->side;
    return (a->i > b->i) - (a->i < b->i);
}

/* The series of reply whose uuid is that of side's stats, or NULL. */
static const json_t *find_series(const json_t *reply, const json_t *side)
{
    const char *uuid = report_str(side, "uuid");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(reply, "series"), i, s)
    {
        if (uuid != NULL && same_str(report_str(s, "uuid"), uuid))
            return s;
    }
    return NULL;
}

/* Where a task's time axis starts: its creation, else its series' first
 * sample. */
static double task_start(const json_t *reply, const json_t *series)
{
    json_t *created = json_object_get(json_object_get(reply, "task"), "created");
    if (json_is_number(created))
        return json_number_value(created);
    return json_number_value(json_object_get(json_object_get(series, "summary"), "first"));
}

static size_t add_points(struct overlay_point *pts, size_t m, const json_t *reply,
                         const json_t *series, int side)
{
    if (series == NULL)
        return m;
    double start = task_start(reply, series);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(series, "points"), i, p)
    {
        json_t *x = json_array_get(p, 0), *y = json_array_get(p, 1);
        if (json_is_number(x) && json_is_number(y) && isfinite(json_number_value(y)))
            pts[m++] =
                (struct overlay_point){json_number_value(x) - start, json_number_value(y), side, i};
    }
    return m;
}

/* "A: 300 of 20000 samples drawn" for a task that has the series. */
static void drawn_note(sca_buf *page, char which, const json_t *series, bool after)
{
    if (series == NULL)
        return;
    size_t n = json_array_size(json_object_get(series, "points"));
    json_int_t count = json_integer_value(json_object_get(series, "count"));
    sca_buf_appendf(page, "%s%c: %zu of %" JSON_INTEGER_FORMAT " samples drawn", after ? "; " : "",
                    which, n, count);
}

static void chart_html(sca_buf *page, size_t id, const json_t *entry, const json_t *a,
                       const json_t *b)
{
    const json_t *sa = find_series(a, json_object_get(entry, "a"));
    const json_t *sb = find_series(b, json_object_get(entry, "b"));
    size_t n = json_array_size(json_object_get(sa, "points")) +
               json_array_size(json_object_get(sb, "points"));
    struct overlay_point *pts = sca_malloc((n + 1) * sizeof(*pts));
    size_t m = add_points(pts, add_points(pts, 0, a, sa, 0), b, sb, 1);
    qsort(pts, m, sizeof(*pts), compare_overlay);
    sca_buf label = {0};
    entry_label(entry, &label);
    sca_buf_appendf(page, "<h3>");
    report_html_escape(label.data, label.len, page);
    sca_buf_appendf(page, "</h3>\n<p class=\"note\">");
    drawn_note(page, 'A', sa, false);
    drawn_note(page, 'B', sb, sa != NULL);
    sca_buf_appendf(page, "</p>\n");
    sca_buf_free(&label);
    if (m == 0) {
        sca_buf_appendf(page, "<p class=\"note\">no samples to chart</p>\n");
        free(pts);
        return;
    }
    sca_buf_appendf(page, "<script type=\"application/json\" id=\"p%zu\">[", id);
    for (size_t i = 0; i < m; i++) {
        char x[32], y[32];
        report_format_number(pts[i].x, x);
        report_format_number(pts[i].y, y);
        sca_buf_appendf(page, "%s[%s,%s,%s]", i > 0 ? "," : "", x, pts[i].side == 0 ? y : "null",
                        pts[i].side == 1 ? y : "null");
    }
    sca_buf_appendf(page, "]</script>\n<div class=\"chart\" data-points=\"p%zu\"></div>\n", id);
    free(pts);
}

static void page_html(sca_buf *page, const json_t *cmp, const json_t *a, const json_t *b)
{
    const json_t *about_a = json_object_get(cmp, "a"), *about_b = json_object_get(cmp, "b");
    const char *task_a = report_str(about_a, "task"), *task_b = report_str(about_b, "task");
    sca_buf title = {0};
    sca_buf_appendf(&title, "Scalpels comparison: task %s and task %s", task_a ? task_a : "",
                    task_b ? task_b : "");
    report_html_head(page, title.data, compare_css);
    sca_buf_free(&title);
    sca_buf_appendf(page, "<body>\n<h1>Scalpels comparison</h1>\n"
                          "<dl class=\"about\">\n");
    about_html(page, 'A', about_a);
    about_html(page, 'B', about_b);
    sca_buf_appendf(page, "</dl>\n<h2>Summary</h2>\n");
    sca_buf_appendf(page, "<table class=\"compare\"><thead><tr><th>series</th><th>stat</th>"
                          "<th>A</th><th>B</th><th>change</th><th>note</th></tr></thead>"
                          "<tbody>\n");
    each_row(cmp, html_row, page);
    sca_buf_appendf(page, "</tbody></table>\n");
    sca_buf line = {0};
    verdict(cmp, &line);
    sca_buf_appendf(page, "<p>");
    esc(page, line.data);
    sca_buf_free(&line);
    sca_buf_appendf(page, "</p>\n<h2>Series</h2>\n<p class=\"note\">Each chart overlays A and "
                          "B, their time axes starting when each task started.  Drag to zoom, "
                          "double-click to zoom out.</p>\n");
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(cmp, "series"), i, entry)
    {
        if (!same_str(report_str(entry, "rtype"), "log"))
            chart_html(page, i, entry, a, b);
    }
    sca_buf_appendf(page, "<script>\n%s</script>\n</body>\n</html>\n", compare_js);
}

int report_compare_html(FILE *out, const json_t *a, const json_t *b, double threshold,
                        sca_error *err)
{
    json_t *cmp = NULL;
    int rc = report_compare(a, b, threshold, &cmp, err);
    if (rc != 0)
        return rc;
    /* A page of reduced series is small: made whole, then written. */
    sca_buf page = {0};
    page_html(&page, cmp, a, b);
    errno = 0;
    if (fwrite(page.data, 1, page.len, out) != page.len)
        rc = report_write_failed(err, "the HTML comparison");
    sca_buf_free(&page);
    json_decref(cmp);
    return rc;
}
