/* report_html.c - a task's series as one self-contained HTML page: a
 * summary table, a chart per tracer and unit (per series across nodes),
 * constant series as a line of text, logs as filterable tables; dygraphs
 * and its synchroniser are inline and nothing is loaded from the network
 * (see report.h).
 *
 * Strings from the data reach the page only as escaped text
 * (report_html_escape): the script reads names and units back with
 * textContent and dataset, and escapes whatever it hands to dygraphs,
 * which sets labels and legends as innerHTML.  The points the script
 * draws are numbers only. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_internal.h"
#include "scalpels/report.h"

/* dygraph.min.js, dygraph.min.css and extras/synchronizer.js of
 * libjs-dygraphs, and the page's script and style, built into the library
 * by scripts/embed.cmake (CMakeLists.txt, sca_embed). */
extern const unsigned char report_dygraph_js[];
extern const size_t report_dygraph_js_len;
extern const unsigned char report_dygraph_css[];
extern const size_t report_dygraph_css_len;
extern const unsigned char report_synchronizer_js[];
extern const size_t report_synchronizer_js_len;
extern const unsigned char report_page_js[];
extern const size_t report_page_js_len;
extern const unsigned char report_page_css[];
extern const size_t report_page_css_len;

#define LOG_TEXT_MAX 1000  /* bytes of a log line shown; the CSV has the rest */
#define CLOSING_BYTES 4096 /* kept for the notes and closing tags at the end */
#define SPARK_W 80         /* the summary's sparkline, in CSS pixels */
#define SPARK_H 16

/* --- Escaping ---------------------------------------------------------------- */

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

/* s escaped onto b; NULL as empty. */
static void esc(sca_buf *b, const char *s)
{
    if (s != NULL)
        report_html_escape(s, strlen(s), b);
    sca_buf_append(b, "", 0);
}

void report_html_head(sca_buf *b, const char *title, const char *style)
{
    sca_buf_appendf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<meta name=\"generator\" content=\"sca " SCA_VERSION "\">\n<title>");
    esc(b, title);
    sca_buf_appendf(b, "</title>\n<style>\n");
    sca_buf_append(b, report_dygraph_css, report_dygraph_css_len);
    sca_buf_appendf(b, "\n");
    sca_buf_append(b, report_page_css, report_page_css_len);
    if (style != NULL)
        sca_buf_append(b, style, strlen(style));
    sca_buf_appendf(b, "</style>\n<script>\n");
    sca_buf_append(b, report_dygraph_js, report_dygraph_js_len);
    sca_buf_appendf(b, "\n</script>\n<script>\n");
    sca_buf_append(b, report_synchronizer_js, report_synchronizer_js_len);
    sca_buf_appendf(b, "\n</script>\n<script>\n");
    sca_buf_append(b, report_page_js, report_page_js_len);
    sca_buf_appendf(b, "</script>\n</head>\n");
}

/* --- The page, written within its size --------------------------------------- */

struct page {
    FILE *out;
    report_html_options o;
    const json_t *replies;
    report_item *items;
    size_t n;
    bool multi;        /* several nodes: a chart per series, a line per node */
    size_t per_line;   /* points drawn per chart line */
    double base;       /* unix seconds the points count from */
    size_t written;    /* bytes of the page so far */
    size_t left_out;   /* blocks that did not fit */
    int error;         /* errno of the first failed write, 0 while none failed */
    size_t next_chart; /* ids */
    size_t next_log;
};

static void put_raw(struct page *p, const void *data, size_t len)
{
    errno = 0;
    if (p->error == 0 && fwrite(data, 1, len, p->out) != len)
        p->error = errno != 0 ? errno : EIO;
    p->written += len;
}

/* Writes b when the page stays within its size with room for its end;
 * else counts it as left out.  Empties b either way. */
static bool put_block(struct page *p, sca_buf *b)
{
    bool fits = p->written + b->len + CLOSING_BYTES <= p->o.max_bytes;
    if (fits)
        put_raw(p, b->data, b->len);
    else
        p->left_out++;
    sca_buf_reset(b);
    return fits;
}

static const char *host_of(const report_item *it)
{
    return it->host != NULL ? it->host : "?";
}

static const char *tracer_of(const report_item *it)
{
    const char *t = report_str(it->series, "tracer");
    return t != NULL ? t : "?";
}

static const char *name_of(const report_item *it)
{
    const char *n = report_str(it->series, "name");
    return n != NULL ? n : "?";
}

static long long count_of(const report_item *it)
{
    return (long long)json_integer_value(json_object_get(it->series, "count"));
}

/* A stream with samples: what a chart can draw. */
static bool drawable(const report_item *it)
{
    return !report_series_is_log(it->series) && count_of(it) > 0 &&
           json_array_size(json_object_get(it->series, "points")) > 0;
}

/* --- Charts -------------------------------------------------------------------- */

/* The charts of a tracer's items [from, to): one per unit (per name and
 * unit across nodes), members in item order.  A chart of one node leaves
 * its constant series out (they are a line of text); across nodes a
 * chart is drawn when one of its series moves, constant ones included
 * (they tell the nodes apart). */
struct chart {
    size_t *member; /* item indices */
    size_t n;
};

static bool chart_key_equal(const struct page *p, const report_item *a, const report_item *b)
{
    return report_same(report_str(a->series, "unit"), report_str(b->series, "unit")) &&
           (!p->multi || report_same(report_str(a->series, "name"), report_str(b->series, "name")));
}

static bool constant(const report_item *it)
{
    double v;
    return report_series_constant(it->series, &v);
}

/* The charts of items [from, to) into *charts (*n of them); the caller
 * frees each member array and the array. */
static struct chart *tracer_charts(const struct page *p, size_t from, size_t to, size_t *n)
{
    struct chart *charts = sca_calloc(to - from + 1, sizeof(*charts));
    bool *placed = sca_calloc(to - from + 1, sizeof(bool));
    size_t k = 0;
    for (size_t i = from; i < to; i++) {
        if (placed[i - from] || !drawable(&p->items[i]) || (!p->multi && constant(&p->items[i])))
            continue;
        struct chart c = {.member = sca_calloc(to - i + 1, sizeof(size_t))};
        bool moves = false;
        for (size_t j = i; j < to; j++) {
            const report_item *it = &p->items[j];
            if (placed[j - from] || !drawable(it) || (!p->multi && constant(it)) ||
                !chart_key_equal(p, &p->items[i], it))
                continue;
            placed[j - from] = true;
            c.member[c.n++] = j;
            moves = moves || !constant(it);
        }
        if (moves)
            charts[k++] = c;
        else
            free(c.member);
    }
    free(placed);
    *n = k;
    return charts;
}

static void free_charts(struct chart *charts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(charts[i].member);
    free(charts);
}

/* A chart's point of a line: time and value. */
struct point {
    double t, v;
};

/* points' numeric samples, thinned to at most max as the agent reduces a
 * series: the lowest and the highest of max / 2 equal time slices, in time
 * order, so that spikes and dips stay.  *n of them; the caller frees. */
static struct point *line_points(const json_t *points, size_t max, size_t *n)
{
    size_t total = json_array_size(points), m = 0, i;
    struct point *all = sca_malloc((total + 1) * sizeof(*all));
    json_t *pt;
    json_array_foreach(points, i, pt)
    {
        double t = json_number_value(json_array_get(pt, 0));
        json_t *v = json_array_get(pt, 1);
        if (json_is_number(v) && isfinite(t) && isfinite(json_number_value(v)))
            all[m++] = (struct point){t, json_number_value(v)};
    }
    if (m <= max || m < 2) {
        *n = m;
        return all;
    }
    size_t buckets = max / 2 > 0 ? max / 2 : 1, k = 0, lo = 0, hi = 0, cur = 0;
    double first = all[0].t, span = all[m - 1].t - first;
    struct point *kept = sca_malloc((2 * buckets + 2) * sizeof(*kept));
    for (i = 0; i <= m; i++) {
        size_t b = SIZE_MAX;
        if (i < m) {
            double at = span > 0 ? (all[i].t - first) / span * (double)buckets : 0;
            b = at < (double)buckets ? (size_t)at : buckets - 1;
        }
        if (i > 0 && b == cur) {
            lo = all[i].v < all[lo].v ? i : lo;
            hi = all[i].v > all[hi].v ? i : hi;
            continue;
        }
        if (i > 0) {
            kept[k++] = all[lo < hi ? lo : hi];
            if (lo != hi)
                kept[k++] = all[lo < hi ? hi : lo];
        }
        lo = hi = i;
        cur = b;
    }
    free(all);
    *n = k;
    return kept;
}

/* A line's label: the series' name on one node, the node across nodes;
 * with the task when two lines would read the same (report -a). */
static void line_label(const struct page *p, const struct chart *c, size_t j, sca_buf *b)
{
    const report_item *it = &p->items[c->member[j]];
    const char *label = p->multi ? host_of(it) : name_of(it);
    bool twice = false;
    for (size_t k = 0; k < c->n; k++) {
        const report_item *o = &p->items[c->member[k]];
        twice = twice || (k != j && report_same(label, p->multi ? host_of(o) : name_of(o)));
    }
    esc(b, label);
    if (twice) {
        const char *task = report_str(it->series, "task");
        sca_buf_appendf(b, " (task %.8s)", task != NULL ? task : "?");
    }
}

static void chart_block(struct page *p, const struct chart *c, sca_buf *b)
{
    const report_item *first = &p->items[c->member[0]];
    const char *unit = report_str(first->series, "unit");
    size_t id = p->next_chart++;
    bool reduced = false;
    sca_buf_appendf(b, "<figure class=\"chart\" id=\"c%zu\" data-unit=\"", id);
    esc(b, unit);
    sca_buf_appendf(b, "\">");
    for (size_t j = 0; j < c->n; j++)
        sca_buf_appendf(b, "<span id=\"s%zu\"></span>", c->member[j]);
    sca_buf_appendf(b, "\n<figcaption>");
    if (p->multi) {
        sca_buf label = {0};
        report_label(first->series, &label);
        esc(b, label.data);
        sca_buf_free(&label);
    } else {
        esc(b, tracer_of(first));
    }
    if (unit != NULL && unit[0] != '\0') {
        sca_buf_appendf(b, " (");
        esc(b, unit);
        sca_buf_appendf(b, ")");
    }
    sca_buf_appendf(b, "</figcaption>\n<ol class=\"lines\" hidden>");
    for (size_t j = 0; j < c->n; j++) {
        sca_buf_appendf(b, "<li>");
        line_label(p, c, j, b);
        sca_buf_appendf(b, "</li>");
    }
    sca_buf_appendf(b, "</ol>\n<script type=\"application/json\" class=\"points\">[");
    for (size_t j = 0; j < c->n; j++) {
        const json_t *s = p->items[c->member[j]].series;
        size_t n;
        struct point *pts = line_points(json_object_get(s, "points"), p->per_line, &n);
        reduced = reduced || json_is_true(json_object_get(s, "reduced")) ||
                  n < json_array_size(json_object_get(s, "points"));
        sca_buf_appendf(b, j > 0 ? ",[[" : "[[");
        for (size_t k = 0; k < n; k++)
            sca_buf_appendf(b, k > 0 ? ",%lld" : "%lld", llround((pts[k].t - p->base) * 1000));
        sca_buf_appendf(b, "],[");
        for (size_t k = 0; k < n; k++)
            sca_buf_appendf(b, k > 0 ? ",%.7g" : "%.7g", pts[k].v);
        sca_buf_appendf(b, "]]");
        free(pts);
    }
    sca_buf_appendf(b, "]</script>\n<div class=\"plot\"></div><div class=\"legend\"></div>\n");
    if (reduced)
        sca_buf_appendf(b,
                        "<p class=\"meta\">Lines drawn from at most %zu points each: the lowest "
                        "and the highest sample of equal time slices.</p>\n",
                        p->per_line);
    sca_buf_appendf(b, "</figure>\n");
}

/* --- Constant and empty series ----------------------------------------------- */

static void value_text(const report_item *it, double v, char out[REPORT_VALUE_LEN])
{
    report_format_value(v, report_str(it->series, "unit"), out);
}

/* "constant 0 kB/s: eth1.rx_kbps, eth1.tx_kbps" for each value the
 * tracer's constant series not in a chart hold, one line a value. */
static void constant_block(struct page *p, size_t from, size_t to, const bool *charted, sca_buf *b)
{
    bool *done = sca_calloc(to - from + 1, sizeof(bool));
    char text[REPORT_VALUE_LEN], other[REPORT_VALUE_LEN];
    double v;
    for (size_t i = from; i < to; i++) {
        const report_item *it = &p->items[i];
        if (done[i - from] || charted[i - from] || !drawable(it) ||
            !report_series_constant(it->series, &v))
            continue;
        value_text(it, v, text);
        sca_buf_appendf(b, "<p class=\"constant\">constant ");
        esc(b, text);
        sca_buf_appendf(b, ":");
        for (size_t j = i; j < to; j++) {
            const report_item *o = &p->items[j];
            if (done[j - from] || charted[j - from] || !drawable(o) ||
                !report_series_constant(o->series, &v))
                continue;
            value_text(o, v, other);
            if (strcmp(text, other) != 0)
                continue;
            done[j - from] = true;
            sca_buf_appendf(b, "%s<span id=\"s%zu\">", j > i ? ", " : " ", j);
            esc(b, name_of(o));
            if (p->multi) {
                sca_buf_appendf(b, " on ");
                esc(b, host_of(o));
            }
            sca_buf_appendf(b, "</span>");
        }
        sca_buf_appendf(b, "</p>\n");
    }
    free(done);
}

static void empty_block(struct page *p, size_t from, size_t to, sca_buf *b)
{
    size_t k = 0;
    for (size_t i = from; i < to; i++) {
        const report_item *it = &p->items[i];
        if (report_series_is_log(it->series) || drawable(it))
            continue;
        sca_buf_appendf(b, k++ == 0 ? "<p class=\"constant\">no samples: " : ", ");
        sca_buf_appendf(b, "<span id=\"s%zu\">", i);
        esc(b, name_of(it));
        if (p->multi) {
            sca_buf_appendf(b, " on ");
            esc(b, host_of(it));
        }
        sca_buf_appendf(b, "</span>");
    }
    if (k > 0)
        sca_buf_appendf(b, "</p>\n");
}

/* --- Logs ---------------------------------------------------------------------- */

/* At most LOG_TEXT_MAX bytes of text, cut at a character's start. */
static void log_text(sca_buf *b, const json_t *value)
{
    sca_buf text = {0};
    report_value_text(value, &text);
    size_t len = text.len;
    if (len > LOG_TEXT_MAX) {
        len = LOG_TEXT_MAX;
        while (len > 0 && ((unsigned char)text.data[len] & 0xC0) == 0x80)
            len--;
    }
    report_html_escape(text.data, len, b);
    if (len < text.len)
        sca_buf_appendf(b, "…");
    sca_buf_free(&text);
}

static void log_rows(const report_item *it, sca_buf *b)
{
    const json_t *points = json_object_get(it->series, "points");
    size_t n = json_array_size(points), head = (n + 1) / 2;
    long long hidden = count_of(it) - (long long)n;
    if (hidden <= 0)
        head = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *pt = json_array_get(points, i);
        char ts[REPORT_TIME_LEN + 8];
        if (i == head)
            sca_buf_appendf(b, "<tr class=\"gap\"><td>…</td><td>… %lld more line%s</td></tr>\n",
                            hidden, hidden == 1 ? "" : "s");
        report_format_time(json_number_value(json_array_get(pt, 0)), ts);
        sca_buf_appendf(b, "<tr class=\"line\"><td class=\"t\">%s</td><td class=\"v\">", ts);
        log_text(b, json_array_get(pt, 1));
        sca_buf_appendf(b, "</td></tr>\n");
    }
    if (n == 0 && hidden > 0)
        sca_buf_appendf(b, "<tr class=\"gap\"><td>…</td><td>%lld lines not shown</td></tr>\n",
                        hidden);
}

/* One table for the log series of the same name at [i, end): one node's,
 * or every node's, grouped by node. */
static void log_block(struct page *p, size_t i, size_t end, sca_buf *b)
{
    const report_item *first = &p->items[i];
    size_t id = p->next_log++;
    sca_buf_appendf(b, "<section class=\"log\">");
    for (size_t j = i; j < end; j++)
        sca_buf_appendf(b, "<span id=\"s%zu\"></span>", j);
    sca_buf label = {0};
    report_label(first->series, &label);
    sca_buf_appendf(b, "\n<h3>");
    esc(b, label.data);
    sca_buf_free(&label);
    sca_buf_appendf(
        b,
        "</h3>\n<input class=\"filter\" type=\"search\" placeholder=\"filter the "
        "lines\" data-table=\"l%zu\">\n<div class=\"logbox\"><table class=\"log\" id=\"l%zu\">"
        "<thead><tr><th>time</th><th>text</th></tr></thead>\n",
        id, id);
    for (size_t j = i; j < end; j++) {
        sca_buf_appendf(b, "<tbody>\n");
        if (p->multi) {
            sca_buf_appendf(b, "<tr class=\"node\"><th colspan=\"2\">");
            esc(b, host_of(&p->items[j]));
            sca_buf_appendf(b, "</th></tr>\n");
        }
        log_rows(&p->items[j], b);
        sca_buf_appendf(b, "</tbody>\n");
    }
    sca_buf_appendf(b, "</table></div>\n</section>\n");
}

/* --- Summary table --------------------------------------------------------------- */

static void stat_cell(sca_buf *b, const report_item *it, const char *stat)
{
    json_t *v = json_object_get(json_object_get(it->series, "summary"), stat);
    char text[REPORT_VALUE_LEN];
    sca_buf_appendf(b, "<td class=\"n\">");
    if (json_is_number(v)) {
        value_text(it, json_number_value(v), text);
        esc(b, text);
    }
    sca_buf_appendf(b, "</td>");
}

/* The spark's slices as an SVG polyline, broken where a slice is empty. */
static void spark_svg(sca_buf *b, const json_t *spark)
{
    double lo = INFINITY, hi = -INFINITY;
    size_t n = json_array_size(spark), i;
    json_t *v;
    json_array_foreach(spark, i, v)
    {
        if (json_is_number(v)) {
            lo = fmin(lo, json_number_value(v));
            hi = fmax(hi, json_number_value(v));
        }
    }
    sca_buf_appendf(b, "<svg class=\"spark\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">",
                    SPARK_W, SPARK_H, SPARK_W, SPARK_H);
    bool open = false;
    json_array_foreach(spark, i, v)
    {
        if (!json_is_number(v)) {
            if (open)
                sca_buf_appendf(b, "\"/>");
            open = false;
            continue;
        }
        double x = n > 1 ? (double)i * SPARK_W / (double)(n - 1) : SPARK_W / 2.0;
        double y = hi > lo ? (SPARK_H - 1) - (json_number_value(v) - lo) / (hi - lo) * (SPARK_H - 2)
                           : SPARK_H - 1;
        sca_buf_appendf(b, open ? " %.1f,%.1f" : "<polyline points=\"%.1f,%.1f", x, y);
        open = true;
    }
    if (open)
        sca_buf_appendf(b, "\"/>");
    sca_buf_appendf(b, "</svg>");
}

static void summary_row(struct page *p, size_t i, sca_buf *b)
{
    const report_item *it = &p->items[i];
    const json_t *s = it->series, *summary = json_object_get(s, "summary");
    const char *unit = report_str(s, "unit");
    sca_buf_appendf(b, "<tr data-result=\"");
    esc(b, report_str(s, "uuid"));
    sca_buf_appendf(b, "\">");
    if (p->multi) {
        sca_buf_appendf(b, "<td>");
        esc(b, host_of(it));
        sca_buf_appendf(b, "</td>");
    }
    sca_buf_appendf(b, "<td><a href=\"#s%zu\">", i);
    esc(b, name_of(it));
    sca_buf_appendf(b, "</a></td><td>");
    esc(b, unit);
    sca_buf_appendf(b, "</td><td class=\"n\">%lld</td>", count_of(it));
    if (report_series_is_log(s)) {
        json_t *first = json_object_get(summary, "first"), *last = json_object_get(summary, "last");
        sca_buf_appendf(b, "<td colspan=\"6\">");
        if (json_is_number(first) && json_is_number(last)) {
            char span[REPORT_VALUE_LEN], t1[REPORT_DAYTIME_LEN], t2[REPORT_DAYTIME_LEN];
            report_format_value(json_number_value(last) - json_number_value(first), "s", span);
            report_time_of_day(json_number_value(first), t1);
            report_time_of_day(json_number_value(last), t2);
            sca_buf_appendf(b, "log, span %s, %s to %s", span, t1, t2);
        } else {
            sca_buf_appendf(b, "log");
        }
        sca_buf_appendf(b, "</td></tr>\n");
        return;
    }
    static const char *const stats[] = {"min", "avg", "max", "p95", "last_value"};
    for (size_t k = 0; k < sizeof(stats) / sizeof(stats[0]); k++)
        stat_cell(b, it, stats[k]);
    sca_buf_appendf(b, "<td>");
    if (constant(it))
        sca_buf_appendf(b, "constant");
    else if (json_array_size(json_object_get(s, "spark")) > 0)
        spark_svg(b, json_object_get(s, "spark"));
    sca_buf_appendf(b, "</td></tr>\n");
}

static void page_summary(struct page *p, sca_buf *b)
{
    size_t cols = p->multi ? 10 : 9;
    sca_buf_appendf(b, "<h2>Summary</h2>\n");
    if (p->n == 0) {
        sca_buf_appendf(b, "<p>(no results)</p>\n");
        put_block(p, b);
        return;
    }
    sca_buf_appendf(b,
                    "<table class=\"summary\"><thead><tr>%s<th>series</th><th>unit</th>"
                    "<th class=\"n\">count</th><th class=\"n\">min</th><th class=\"n\">avg</th>"
                    "<th class=\"n\">max</th><th class=\"n\">p95</th><th class=\"n\">last</th>"
                    "<th>trend</th></tr></thead>\n<tbody>\n",
                    p->multi ? "<th>host</th>" : "");
    put_block(p, b);
    for (size_t i = 0; i < p->n; i++) {
        if (i == 0 || !report_same(tracer_of(&p->items[i]), tracer_of(&p->items[i - 1]))) {
            sca_buf_appendf(b, "<tr class=\"tracer\"><th colspan=\"%zu\"><a href=\"#t%zu\">", cols,
                            i);
            esc(b, tracer_of(&p->items[i]));
            sca_buf_appendf(b, "</a></th></tr>\n");
        }
        summary_row(p, i, b);
        put_block(p, b);
    }
    /* Closed whatever fitted: part of the page's end. */
    sca_buf_appendf(b, "</tbody></table>\n");
    put_raw(p, b->data, b->len);
    sca_buf_reset(b);
}

/* --- Sections ------------------------------------------------------------------- */

static void tracer_section(struct page *p, size_t from, size_t to, sca_buf *b)
{
    size_t nc;
    struct chart *charts = tracer_charts(p, from, to, &nc);
    bool *charted = sca_calloc(to - from + 1, sizeof(bool));
    sca_buf_appendf(b, "<section class=\"tracer\" id=\"t%zu\">\n<h2>", from);
    esc(b, tracer_of(&p->items[from]));
    sca_buf_appendf(b, "</h2>\n");
    put_block(p, b);
    for (size_t c = 0; c < nc; c++) {
        for (size_t j = 0; j < charts[c].n; j++)
            charted[charts[c].member[j] - from] = true;
        chart_block(p, &charts[c], b);
        put_block(p, b);
    }
    constant_block(p, from, to, charted, b);
    empty_block(p, from, to, b);
    put_block(p, b);
    for (size_t i = from; i < to;) {
        size_t end = i + 1;
        if (!report_series_is_log(p->items[i].series)) {
            i++;
            continue;
        }
        while (end < to && report_series_is_log(p->items[end].series) &&
               report_same(name_of(&p->items[end]), name_of(&p->items[i])))
            end++;
        log_block(p, i, end, b);
        put_block(p, b);
        i = end;
    }
    sca_buf_appendf(b, "</section>\n");
    put_raw(p, b->data, b->len);
    sca_buf_reset(b);
    free(charted);
    free_charts(charts, nc);
}

static void put_clock_dd(sca_buf *b, const char *label, const json_t *t)
{
    char text[REPORT_CLOCK_LEN];
    if (!json_is_number(t))
        return;
    report_format_clock(json_number_value(t), text);
    sca_buf_appendf(b, "<dt>%s</dt><dd>%s</dd>\n", label, text);
}

/* "task UUID, stopped, 2026-... to 2026-... (3 s)" for a node's line. */
static void task_words(sca_buf *b, const json_t *task)
{
    char t1[REPORT_CLOCK_LEN], t2[REPORT_CLOCK_LEN], span[REPORT_VALUE_LEN];
    json_t *created = json_object_get(task, "created"), *stopped = json_object_get(task, "stopped");
    sca_buf_appendf(b, "task <code>");
    esc(b, report_str(task, "uuid"));
    sca_buf_appendf(b, "</code>, ");
    esc(b, report_str(task, "status"));
    if (json_is_number(created) && json_is_number(stopped)) {
        report_format_clock(json_number_value(created), t1);
        report_format_clock(json_number_value(stopped), t2);
        report_format_value(json_number_value(stopped) - json_number_value(created), "s", span);
        sca_buf_appendf(b, ", %s to %s (%s)", t1, t2, span);
    } else if (json_is_number(created)) {
        report_format_clock(json_number_value(created), t1);
        sca_buf_appendf(b, " since %s", t1);
    }
}

/* The UTC offset, "UTC+01:00", of local time at t. */
static long utc_offset(double t, char out[16])
{
    time_t secs = (time_t)t;
    struct tm tm;
    long off = localtime_r(&secs, &tm) != NULL ? tm.tm_gmtoff : 0;
    long a = labs(off);
    snprintf(out, 16, "UTC%c%02ld:%02ld", off < 0 ? '-' : '+', a / 3600 % 100, a / 60 % 60);
    return off;
}

static void page_about(struct page *p, sca_buf *b, const char *zone)
{
    const json_t *one = p->multi ? NULL : json_array_get(p->replies, 0);
    const json_t *task = json_object_get(one, "task");
    char generated[REPORT_CLOCK_LEN];
    sca_buf_appendf(b, "<h1>Scalpels report</h1>\n<dl class=\"about\">\n");
    if (json_is_object(task)) {
        const char *status = report_str(task, "status");
        sca_buf_appendf(b, "<dt>task</dt><dd><code>");
        esc(b, report_str(task, "uuid"));
        sca_buf_appendf(b, "</code></dd>\n<dt>status</dt><dd>");
        esc(b, status);
        if (report_same(status, "running"))
            sca_buf_appendf(b, " (this is its data so far)");
        sca_buf_appendf(b, "</dd>\n");
        put_clock_dd(b, "created", json_object_get(task, "created"));
        put_clock_dd(b, "stopped", json_object_get(task, "stopped"));
    }
    if (one != NULL && report_str(one, "host") != NULL) {
        sca_buf_appendf(b, "<dt>host</dt><dd>");
        esc(b, report_str(one, "host"));
        sca_buf_appendf(b, "</dd>\n");
    }
    if (p->multi) {
        size_t i;
        json_t *reply;
        sca_buf_appendf(b, "<dt>nodes</dt><dd><ul class=\"nodes\">\n");
        json_array_foreach(p->replies, i, reply)
        {
            sca_buf_appendf(b, "<li>");
            esc(b, report_str(reply, "host") != NULL ? report_str(reply, "host") : "?");
            if (json_is_object(json_object_get(reply, "task"))) {
                sca_buf_appendf(b, ": ");
                task_words(b, json_object_get(reply, "task"));
            }
            sca_buf_appendf(b, "</li>\n");
        }
        sca_buf_appendf(b, "</ul></dd>\n");
    }
    report_format_clock(p->o.generated, generated);
    sca_buf_appendf(b, "<dt>generated</dt><dd>%s by sca " SCA_VERSION "</dd>\n", generated);
    sca_buf_appendf(b, "<dt>every sample</dt><dd><code>");
    esc(b, p->o.full_data != NULL ? p->o.full_data : "sca report --csv");
    sca_buf_appendf(b, "</code> (this page holds the summaries, the charts' points and the first "
                       "and last lines of logs, not the data)</dd>\n</dl>\n");
    sca_buf_appendf(b,
                    "<p class=\"note\">Times are in %s, the time zone of the machine that made "
                    "the page.  Drag on a chart to zoom in: every chart follows; double-click "
                    "to zoom out.</p>\n<noscript><p class=\"note\">The charts need JavaScript; "
                    "the summary and the logs do not.</p></noscript>\n",
                    zone);
}

/* The first sample any series has, so that the page's times are small. */
static double first_time(const struct page *p)
{
    double first = INFINITY;
    for (size_t i = 0; i < p->n; i++) {
        json_t *t = json_object_get(json_object_get(p->items[i].series, "summary"), "first");
        json_t *pts = json_object_get(p->items[i].series, "points");
        if (json_is_number(t))
            first = fmin(first, json_number_value(t));
        if (json_array_size(pts) > 0)
            first = fmin(first, json_number_value(json_array_get(json_array_get(pts, 0), 0)));
    }
    return isfinite(first) ? floor(first) : 0;
}

size_t report_html_points(size_t lines)
{
    size_t each = lines > 0 ? REPORT_HTML_POINTS_TOTAL / lines : REPORT_HTML_POINTS;
    if (each < REPORT_HTML_POINTS_MIN)
        return REPORT_HTML_POINTS_MIN;
    return each > REPORT_HTML_POINTS ? REPORT_HTML_POINTS : each;
}

/* How many lines the charts draw, for each line's share of the points. */
static size_t count_lines(const struct page *p)
{
    size_t lines = 0;
    for (size_t from = 0; from < p->n;) {
        size_t to = from + 1, nc;
        while (to < p->n && report_same(tracer_of(&p->items[to]), tracer_of(&p->items[from])))
            to++;
        struct chart *charts = tracer_charts(p, from, to, &nc);
        for (size_t c = 0; c < nc; c++)
            lines += charts[c].n;
        free_charts(charts, nc);
        from = to;
    }
    return lines;
}

int report_html(FILE *out, const json_t *replies, const report_html_options *o, sca_error *err)
{
    int rc = report_check_series(replies, err);
    if (rc != 0)
        return rc;
    struct page p = {.out = out, .replies = replies};
    if (o != NULL)
        p.o = *o;
    p.multi = p.o.hosts || json_array_size(replies) > 1;
    if (p.o.points == 0)
        p.o.points = REPORT_HTML_POINTS;
    if (p.o.max_bytes == 0)
        p.o.max_bytes = REPORT_HTML_MAX_BYTES;
    if (p.o.generated <= 0)
        p.o.generated = sca_now();
    p.items = report_items(replies, &p.n);
    p.per_line = report_html_points(count_lines(&p));
    if (p.per_line > p.o.points)
        p.per_line = p.o.points;
    p.base = first_time(&p);

    const json_t *task = json_object_get(json_array_get(replies, 0), "task");
    sca_buf b = {0}, title = {0};
    char zone[16];
    double created = json_number_value(json_object_get(task, "created"));
    long offset = utc_offset(created > 0 ? created : p.o.generated, zone);
    if (!p.multi && report_str(task, "uuid") != NULL)
        sca_buf_appendf(&title, "Scalpels report: task %s", report_str(task, "uuid"));
    else
        sca_buf_appendf(&title, "Scalpels report");
    report_html_head(&b, title.data, NULL);
    sca_buf_appendf(&b, "<body data-base=\"%.0f\" data-tz=\"%ld\">\n", p.base, offset);
    page_about(&p, &b, zone);
    put_raw(&p, b.data, b.len);
    sca_buf_reset(&b);
    page_summary(&p, &b);
    for (size_t from = 0; from < p.n;) {
        size_t to = from + 1;
        while (to < p.n && report_same(tracer_of(&p.items[to]), tracer_of(&p.items[from])))
            to++;
        tracer_section(&p, from, to, &b);
        from = to;
    }
    if (p.left_out > 0)
        sca_buf_appendf(&b,
                        "<p class=\"note\">%zu part%s of this report did not fit in the page's "
                        "%zu bytes; <code>sca report</code> lists every series and <code>",
                        p.left_out, p.left_out == 1 ? "" : "s", p.o.max_bytes);
    if (p.left_out > 0) {
        esc(&b, p.o.full_data != NULL ? p.o.full_data : "sca report --csv");
        sca_buf_appendf(&b, "</code> has every sample.</p>\n");
    }
    sca_buf_appendf(&b, "</body>\n</html>\n");
    put_raw(&p, b.data, b.len);
    if (p.error == 0 && ferror(out))
        p.error = EIO;
    if (p.error != 0) {
        errno = p.error;
        rc = report_write_failed(err, "the HTML report");
    }
    sca_buf_free(&b);
    sca_buf_free(&title);
    free(p.items);
    return rc;
}
