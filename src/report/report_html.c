/* report_html.c - results as one self-contained HTML page: a dygraphs
 * chart per stream (thinned with LTTB), a table per log, the summary lines,
 * and every sample as CSV to download; nothing is loaded from the network
 * (see report.h).
 *
 * Strings from the data reach the page only as escaped text
 * (report_html_escape): never through dygraphs' options, whose title and
 * labels it sets as innerHTML.  The script sees numbers (the points) and
 * the CSV text, which it reads back with textContent. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_internal.h"
#include "scalpels/report.h"

/* dygraph.min.js and dygraph.min.css of libjs-dygraphs, built into the
 * library by scripts/embed.cmake (CMakeLists.txt, sca_embed). */
extern const unsigned char report_dygraph_js[];
extern const size_t report_dygraph_js_len;
extern const unsigned char report_dygraph_css[];
extern const size_t report_dygraph_css_len;

#define LTTB_MIN 3
#define CSV_CHUNK 65536 /* bytes of CSV escaped at a time */

/* The page's own style, after dygraphs'. */
static const char page_css[] =
    "body{font:14px/1.45 system-ui,sans-serif;color:#222;max-width:1200px;margin:1.5em auto;"
    "padding:0 1em}\n"
    "h1{font-size:1.5em;margin-bottom:.3em}\n"
    "h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}\n"
    "h3{font-size:1em;font-weight:600;margin:1.6em 0 .2em}\n"
    "code,h3,ul.summary,table.log{font-family:ui-monospace,monospace}\n"
    "dl.about{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}\n"
    "dl.about dt{color:#666}dl.about dd{margin:0}\n"
    "ul.summary{padding-left:1.2em}\n"
    ".meta,.note{color:#666;margin:.2em 0 .6em}\n"
    "div.chart{width:100%;height:280px}\n"
    "table.log{border-collapse:collapse;width:100%;font-size:12px}\n"
    "table.log th{text-align:left;border-bottom:1px solid #ccc}\n"
    "table.log td{border-top:1px solid #eee;padding:1px 8px 1px 0;vertical-align:top}\n"
    "table.log td.t{white-space:nowrap;color:#555}\n"
    "table.log td.v{white-space:pre-wrap;word-break:break-all}\n"
    "table.log tr.gap td{color:#888;font-style:italic}\n";

/* Draws the charts and builds the CSV downloads when asked: a download is
 * the header and the rows of one result, or of every result ("all"), as
 * 'sca report --csv' would print them. */
static const char page_js[] =
    "(function () {\n"
    "  'use strict';\n"
    "  function text(id) { return document.getElementById(id).textContent; }\n"
    "  document.querySelectorAll('div.chart').forEach(function (div) {\n"
    "    var rows = JSON.parse(text(div.dataset.points));\n"
    "    var data = rows.map(function (r) { return [new Date(r[0] * 1000), r[1]]; });\n"
    "    new Dygraph(div, data, {labels: ['time', 'value'], drawPoints: rows.length < 100,\n"
    "                            strokeWidth: 1.2, legend: 'follow'});\n"
    "  });\n"
    "  document.querySelectorAll('a.csv').forEach(function (a) {\n"
    "    a.addEventListener('click', function () {\n"
    "      if (a.dataset.ready) return;\n"
    "      var parts = [text('csv-header')], which = a.dataset.csv;\n"
    "      document.querySelectorAll('pre.csv').forEach(function (pre) {\n"
    "        if (which === 'all' || which === pre.id) parts.push(pre.textContent);\n"
    "      });\n"
    "      a.href = URL.createObjectURL(new Blob(parts, {type: 'text/csv'}));\n"
    "      a.dataset.ready = '1';\n"
    "    });\n"
    "  });\n"
    "})();\n";

/* --- LTTB ------------------------------------------------------------------ */

/* Where bucket b of the n - 2 points between the ends starts.  Exact in
 * integers (b * (n - 2) fits while n < 2^32, far more samples than a
 * result held in memory can have). */
static size_t bucket_start(size_t b, size_t n, size_t buckets)
{
    return 1 + b * (n - 2) / buckets;
}

size_t report_lttb(const double *x, const double *y, size_t n, size_t threshold, size_t *keep)
{
    if (threshold < LTTB_MIN)
        threshold = LTTB_MIN;
    if (n <= threshold) {
        for (size_t i = 0; i < n; i++)
            keep[i] = i;
        return n;
    }
    /* n > threshold, so every bucket holds at least one point. */
    size_t buckets = threshold - 2, k = 0, a = 0;
    keep[k++] = 0;
    for (size_t b = 0; b < buckets; b++) {
        size_t from = bucket_start(b, n, buckets), to = bucket_start(b + 1, n, buckets);
        /* The last bucket looks ahead to the last point alone. */
        size_t next_to = b + 1 < buckets ? bucket_start(b + 2, n, buckets) : n;
        double cx = 0, cy = 0;
        for (size_t i = to; i < next_to; i++) {
            cx += x[i];
            cy += y[i];
        }
        cx /= (double)(next_to - to);
        cy /= (double)(next_to - to);
        size_t pick = from;
        double best = -1;
        for (size_t i = from; i < to; i++) {
            /* Twice the triangle's area; only the comparison matters. */
            double area = fabs((x[a] - cx) * (y[i] - y[a]) - (x[a] - x[i]) * (cy - y[a]));
            if (area > best) {
                best = area;
                pick = i;
            }
        }
        keep[k++] = pick;
        a = pick;
    }
    keep[k++] = n - 1;
    return k;
}

/* --- Escaping and output ------------------------------------------------------ */

void report_html_escape(const char *s, size_t len, sca_buf *out)
{
    size_t plain = 0;
    for (size_t i = 0; i < len; i++) {
        const char *ref;
        switch (s[i]) {
        case '&':
            ref = "&amp;";
            break;
        case '<':
            ref = "&lt;";
            break;
        case '>':
            ref = "&gt;";
            break;
        case '"':
            ref = "&quot;";
            break;
        case '\'':
            ref = "&#39;";
            break;
        case '\r':
            ref = "&#13;";
            break;
        default:
            continue;
        }
        sca_buf_append(out, s + plain, i - plain);
        sca_buf_append(out, ref, strlen(ref));
        plain = i + 1;
    }
    sca_buf_append(out, s + plain, len - plain);
}

struct page {
    FILE *out;
    const report_html_options *o;
    sca_buf esc; /* scratch for escaping */
    int error;   /* errno of the first failed write, 0 while none failed */
    bool hosts;  /* the results carry "host": the CSV has a host column */
};

/* errno is kept as the write that failed left it: later calls (the CSV
 * writer, localtime) may change it before the page is done. */
static void write_failed(struct page *p)
{
    if (p->error == 0)
        p->error = errno != 0 ? errno : EIO;
}

static void put_bytes(struct page *p, const void *data, size_t len)
{
    errno = 0;
    if (fwrite(data, 1, len, p->out) != len)
        write_failed(p);
}

static void put(struct page *p, const char *s)
{
    put_bytes(p, s, strlen(s));
}

static void putf(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct page *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    if (vfprintf(p->out, fmt, ap) < 0)
        write_failed(p);
    va_end(ap);
}

/* s escaped; NULL as empty. */
static void put_esc_len(struct page *p, const char *s, size_t len)
{
    sca_buf_reset(&p->esc);
    report_html_escape(s != NULL ? s : "", s != NULL ? len : 0, &p->esc);
    put_bytes(p, p->esc.data, p->esc.len);
}

static void put_esc(struct page *p, const char *s)
{
    put_esc_len(p, s, s != NULL ? strlen(s) : 0);
}

/* The error of the first failed write, as report_write_failed words it. */
static int page_error(struct page *p, sca_error *err)
{
    if (p->error == 0 && ferror(p->out))
        p->error = EIO;
    if (p->error == 0)
        return 0;
    errno = p->error;
    return report_write_failed(err, "the HTML report");
}

static bool is_log(const json_t *result)
{
    const char *rtype = report_str(result, "rtype");
    return rtype != NULL && strcmp(rtype, "log") == 0;
}

/* "2026-11-23 11:18:09 +0100": when the page was made, to the second. */
static void format_generated(double t, char out[64])
{
    time_t secs = (time_t)t;
    struct tm tm;
    if (localtime_r(&secs, &tm) == NULL || strftime(out, 64, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
        report_format_number(t, out);
}

/* --- CSV inside the page ----------------------------------------------------- */

/* report_csv's rows of result, or the CSV header when result is NULL (with
 * a host column when host is set), as text; *text is the caller's to free. */
static int capture_csv(const json_t *result, bool host, char **text, size_t *len, sca_error *err)
{
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(text, len);
    if (f == NULL)
        return sca_error_set(err, -errno, "open_memstream: %s", strerror(errno));
    int rc = result != NULL ? report_csv(f, result, err) : report_csv_header(f, host, err);
    if (fclose(f) != 0 && rc == 0)
        rc = report_write_failed(err, "the CSV of the page");
    return rc;
}

/* A hidden <pre> of CSV text.  The newline after the start tag is one the
 * parser drops, so that text starting with one would keep it. */
static int put_csv(struct page *p, const char *id, const json_t *result, sca_error *err)
{
    char *text;
    size_t len;
    int rc = capture_csv(result, p->hosts, &text, &len, err);
    if (rc == 0) {
        putf(p, "<pre class=\"%s\" id=\"%s\" hidden>\n", result ? "csv" : "csv-header", id);
        /* In pieces: a long series' escaped copy need not be whole at once. */
        for (size_t at = 0; at < len; at += CSV_CHUNK)
            put_esc_len(p, text + at, len - at < CSV_CHUNK ? len - at : CSV_CHUNK);
        put(p, "</pre>\n");
    }
    free(text);
    return rc;
}

/* --- Streams: a chart --------------------------------------------------------- */

struct point {
    double x, y;
    size_t i; /* place in data, to keep equal timestamps in order */
};

static int compare_points(const void *a, const void *b)
{
    const struct point *p = a, *q = b;
    if (p->x != q->x)
        return (p->x > q->x) - (p->x < q->x);
    return (p->i > q->i) - (p->i < q->i);
}

/* The numeric samples of data in time order; *n of them. */
static struct point *numeric_points(const json_t *data, size_t *n)
{
    struct point *pts = sca_malloc((json_array_size(data) + 1) * sizeof(*pts));
    bool sorted = true;
    size_t i, m = 0;
    json_t *row;
    json_array_foreach(data, i, row)
    {
        json_t *v = json_array_get(row, 1);
        double x = json_number_value(json_array_get(row, 0));
        if (!json_is_number(v) || !isfinite(x) || !isfinite(json_number_value(v)))
            continue; /* not drawable: the CSV still has it */
        if (m > 0 && x < pts[m - 1].x)
            sorted = false;
        pts[m++] = (struct point){x, json_number_value(v), i};
    }
    /* The agent sends samples in time order; a chart needs it. */
    if (!sorted)
        qsort(pts, m, sizeof(*pts), compare_points);
    *n = m;
    return pts;
}

static void put_number(struct page *p, double x)
{
    char num[32];
    report_format_number(x, num);
    put(p, num);
}

/* The chart's points, as JSON for the script, and its <div>. */
static void put_chart(struct page *p, size_t id, const struct point *pts, const size_t *keep,
                      size_t k)
{
    putf(p, "<script type=\"application/json\" id=\"p%zu\">[", id);
    for (size_t j = 0; j < k; j++) {
        put(p, j > 0 ? ",[" : "[");
        put_number(p, pts[keep[j]].x);
        put(p, ",");
        put_number(p, pts[keep[j]].y);
        put(p, "]");
    }
    putf(p, "]</script>\n<div class=\"chart\" id=\"c%zu\" data-points=\"p%zu\"></div>\n", id, id);
}

static void stream_body(struct page *p, const json_t *result, size_t id)
{
    size_t n, k;
    struct point *pts = numeric_points(json_object_get(result, "data"), &n);
    if (n == 0) {
        put(p, "<p class=\"note\">no samples to chart</p>\n");
        free(pts);
        return;
    }
    size_t want = p->o->points < LTTB_MIN ? LTTB_MIN : p->o->points;
    size_t *keep = sca_malloc((n < want ? n : want) * sizeof(size_t));
    double *x = sca_malloc(n * sizeof(double)), *y = sca_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        x[i] = pts[i].x;
        y[i] = pts[i].y;
    }
    k = report_lttb(x, y, n, want, keep);
    if (k < n)
        putf(p,
             "<p class=\"note\">%zu of %zu points drawn, chosen by LTTB to keep the "
             "shape; the CSV has every sample</p>\n",
             k, n);
    put_chart(p, id, pts, keep, k);
    free(x);
    free(y);
    free(keep);
    free(pts);
}

/* --- Logs: a table ------------------------------------------------------------- */

static void log_row(struct page *p, const json_t *row, sca_buf *value)
{
    char ts[REPORT_TIME_LEN + 8];
    report_format_time(json_number_value(json_array_get(row, 0)), ts);
    sca_buf_reset(value);
    report_value_text(json_array_get(row, 1), value);
    putf(p, "<tr><td class=\"t\">%s</td><td class=\"v\">", ts);
    put_esc_len(p, value->data, value->len);
    put(p, "</td></tr>\n");
}

/* The first and the last rows of a long log, as the text view shows them. */
static void log_body(struct page *p, const json_t *result)
{
    const json_t *data = json_object_get(result, "data");
    size_t n = json_array_size(data), head = n, tail = 0;
    if (n == 0) {
        put(p, "<p class=\"note\">no lines</p>\n");
        return;
    }
    if (n > p->o->log_rows) {
        report_options window = {.rows = p->o->log_rows};
        report_window(&window, &head, &tail);
    }
    sca_buf value = {0};
    put(p, "<table class=\"log\"><thead><tr><th>time</th><th>text</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < head; i++)
        log_row(p, json_array_get(data, i), &value);
    if (head + tail < n)
        putf(p,
             "<tr class=\"gap\"><td>…</td><td>… %zu more line%s not shown (the CSV has "
             "every line)</td></tr>\n",
             n - head - tail, n - head - tail == 1 ? "" : "s");
    for (size_t i = n - tail; i < n; i++)
        log_row(p, json_array_get(data, i), &value);
    put(p, "</tbody></table>\n");
    sca_buf_free(&value);
}

/* --- The page ------------------------------------------------------------------- */

static void put_summary_line(struct page *p, const json_t *result)
{
    sca_buf line = {0};
    report_summary_line(result, TABLE_UTF8, &line); /* the page is UTF-8 */
    put_esc_len(p, line.data, line.len);
    sca_buf_free(&line);
}

static int result_section(struct page *p, const json_t *result, size_t id, sca_error *err)
{
    const char *uuid = report_str(result, "uuid");
    size_t n = json_array_size(json_object_get(result, "data"));
    size_t count = report_count(result);
    putf(p, "<article class=\"result\" id=\"r%zu\">\n<h3>", id);
    put_summary_line(p, result);
    put(p, "</h3>\n<p class=\"meta\">result <code>");
    put_esc(p, uuid);
    if (report_str(result, "task") != NULL) {
        put(p, "</code>, task <code>");
        put_esc(p, report_str(result, "task"));
    }
    putf(p, "</code>, %zu %s", n, is_log(result) ? "lines" : "samples");
    if (n < count)
        putf(p, " (of %zu: the rest was not fetched)", count);
    putf(p, " &middot; <a class=\"csv\" href=\"#\" data-csv=\"csv%zu\" download=\"result-", id);
    put_esc(p, uuid);
    put(p, ".csv\">download CSV</a></p>\n");
    if (is_log(result))
        log_body(p, result);
    else
        stream_body(p, result, id);
    char csv_id[32];
    snprintf(csv_id, sizeof(csv_id), "csv%zu", id);
    int rc = put_csv(p, csv_id, result, err);
    put(p, "</article>\n");
    return rc;
}

/* NULL-safe string equality. */
static bool same(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_group(const json_t *a, const json_t *b)
{
    return same(report_str(a, "tracer"), report_str(b, "tracer")) &&
           same(report_str(a, "host"), report_str(b, "host"));
}

/* The results' indices grouped by tracer and host, groups in the order
 * they first appear, results in their order within a group; the caller
 * frees it. */
static size_t *group_order(const json_t *results)
{
    size_t n = json_array_size(results), k = 0;
    size_t *order = sca_malloc((n + 1) * sizeof(size_t));
    bool *placed = sca_calloc(n + 1, sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        if (placed[i])
            continue;
        for (size_t j = i; j < n; j++) {
            if (!placed[j] && same_group(json_array_get(results, i), json_array_get(results, j))) {
                placed[j] = true;
                order[k++] = j;
            }
        }
    }
    free(placed);
    return order;
}

static void group_heading(struct page *p, const json_t *result)
{
    const char *tracer = report_str(result, "tracer");
    const char *host = report_str(result, "host");
    put(p, "<section class=\"group\">\n<h2>");
    if (tracer != NULL) {
        put(p, "tracer ");
        put_esc(p, tracer);
    } else {
        put(p, "no tracer named");
    }
    if (host != NULL) {
        put(p, " on ");
        put_esc(p, host);
    }
    put(p, "</h2>\n");
}

static void put_time_dd(struct page *p, const char *label, const json_t *t)
{
    char text[REPORT_TIME_LEN + 8];
    if (!json_is_number(t))
        return;
    report_format_time(json_number_value(t), text);
    putf(p, "<dt>%s</dt><dd>%s</dd>\n", label, text);
}

static void page_head(struct page *p, const json_t *task)
{
    const char *uuid = report_str(task, "uuid");
    put(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"generator\" content=\"sca " SCA_VERSION "\">\n<title>");
    if (uuid != NULL) {
        put(p, "Scalpels report: task ");
        put_esc(p, uuid);
    } else {
        put(p, "Scalpels results");
    }
    put(p, "</title>\n<style>\n");
    put_bytes(p, report_dygraph_css, report_dygraph_css_len);
    put(p, "\n");
    put(p, page_css);
    put(p, "</style>\n<script>\n");
    put_bytes(p, report_dygraph_js, report_dygraph_js_len);
    put(p, "\n</script>\n</head>\n<body>\n");
}

static void page_about(struct page *p, const json_t *task, const json_t *results)
{
    char generated[64];
    size_t n = json_array_size(results);
    const char *uuid = report_str(task, "uuid");
    const char *status = report_str(task, "status");
    put(p, uuid != NULL ? "<h1>Scalpels report</h1>\n" : "<h1>Scalpels results</h1>\n");
    put(p, "<dl class=\"about\">\n");
    if (uuid != NULL) {
        put(p, "<dt>task</dt><dd><code>");
        put_esc(p, uuid);
        put(p, "</code></dd>\n");
    }
    if (status != NULL) {
        put(p, "<dt>status</dt><dd>");
        put_esc(p, status);
        if (strcmp(status, "running") == 0)
            put(p, " (this is its data so far)");
        put(p, "</dd>\n");
    }
    put_time_dd(p, "created", json_object_get(task, "created"));
    put_time_dd(p, "stopped", json_object_get(task, "stopped"));
    format_generated(p->o->generated > 0 ? p->o->generated : sca_now(), generated);
    putf(p, "<dt>generated</dt><dd>%s by sca " SCA_VERSION "</dd>\n", generated);
    putf(p, "<dt>results</dt><dd>%zu", n);
    if (n > 0)
        putf(p, " &middot; <a class=\"csv\" href=\"#\" data-csv=\"all\" download=\"%s",
             uuid != NULL ? "task-" : "results");
    if (n > 0 && uuid != NULL)
        put_esc(p, uuid);
    if (n > 0)
        put(p, ".csv\">every sample as CSV</a>");
    put(p, "</dd>\n</dl>\n<p class=\"note\">Times in tables are the local time of the machine "
           "that made the page; charts show the browser's local time.  Drag on a chart to "
           "zoom, double-click to zoom out.</p>\n<noscript><p class=\"note\">The charts and "
           "CSV downloads need JavaScript; the CSV is also in the page's source.</p>"
           "</noscript>\n");
}

static void page_summary(struct page *p, const json_t *results, const size_t *order)
{
    size_t n = json_array_size(results);
    put(p, "<h2>Summary</h2>\n");
    if (n == 0) {
        put(p, "<p>(no results)</p>\n");
        return;
    }
    put(p, "<ul class=\"summary\">\n");
    for (size_t id = 0; id < n; id++) {
        putf(p, "<li><a href=\"#r%zu\">", id);
        put_summary_line(p, json_array_get(results, order[id]));
        put(p, "</a></li>\n");
    }
    put(p, "</ul>\n");
}

static int page_results(struct page *p, const json_t *results, const size_t *order, sca_error *err)
{
    size_t n = json_array_size(results);
    for (size_t id = 0; id < n; id++) {
        const json_t *r = json_array_get(results, order[id]);
        bool first = id == 0 || !same_group(json_array_get(results, order[id - 1]), r);
        if (first && id > 0)
            put(p, "</section>\n");
        if (first)
            group_heading(p, r);
        int rc = result_section(p, r, id, err);
        if (rc != 0)
            return rc;
        /* The reader went away (| head) or the disk is full: stop early. */
        if ((rc = page_error(p, err)) != 0)
            return rc;
    }
    if (n > 0)
        put(p, "</section>\n");
    return 0;
}

int report_html(FILE *out, const json_t *task, const json_t *results, const report_html_options *o,
                sca_error *err)
{
    if (!json_is_array(results))
        return sca_error_set(err, -EINVAL, "the HTML report needs an array of results");
    size_t i;
    json_t *r;
    bool hosts = false;
    json_array_foreach(results, i, r)
    {
        /* Checked first: a bad result leaves no half-written page. */
        int rc = report_check_result(r, err);
        if (rc != 0)
            return rc;
        hosts = hosts || report_str(r, "host") != NULL;
    }
    report_html_options opts = o != NULL ? *o : (report_html_options){0};
    if (opts.points == 0)
        opts.points = REPORT_HTML_POINTS;
    if (opts.log_rows == 0)
        opts.log_rows = REPORT_HTML_LOG_ROWS;
    struct page p = {.out = out, .o = &opts, .hosts = hosts};
    size_t *order = group_order(results);

    page_head(&p, task);
    page_about(&p, task, results);
    page_summary(&p, results, order);
    int rc = page_results(&p, results, order, err);
    if (rc == 0)
        rc = put_csv(&p, "csv-header", NULL, err);
    if (rc == 0) {
        put(&p, "<script>\n");
        put(&p, page_js);
        put(&p, "</script>\n</body>\n</html>\n");
        rc = page_error(&p, err);
    }
    free(order);
    sca_buf_free(&p.esc);
    return rc;
}
