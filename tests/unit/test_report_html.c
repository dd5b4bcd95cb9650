/* test_report_html.c - the HTML report (report.h): escaping, and the page
 * drawn from get_task_series replies: inline dygraphs, a chart per tracer
 * and unit, constant series as text, filterable logs, nodes overlaid,
 * points within their budget (spikes kept), the size bound, hostile
 * strings. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "scalpels/report.h"

#define GENERATED 1700000000.0 /* UTC 2023-11-14 22:13:20 */
#define START (GENERATED - 3600)

static void test_escape(void **state)
{
    (void)state;
    sca_buf b = {0};
    const char hostile[] = "<script>alert(\"x\" & 'y')</script>\r\nok";
    report_html_escape(hostile, strlen(hostile), &b);
    assert_string_equal(b.data, "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)"
                                "&lt;/script&gt;&#13;\nok");
    sca_buf_reset(&b);
    report_html_escape("plain text, ünïcode ▁█", strlen("plain text, ünïcode ▁█"), &b);
    assert_string_equal(b.data, "plain text, ünïcode ▁█");
    sca_buf_reset(&b);
    report_html_escape("&amp;", 5, &b); /* already escaped text is text */
    assert_string_equal(b.data, "&amp;amp;");
    sca_buf_reset(&b);
    report_html_escape("", 0, &b);
    assert_string_equal(b.data, "");
    sca_buf_free(&b);
}

static void test_points_budget(void **state)
{
    (void)state;
    assert_int_equal(report_html_points(0), REPORT_HTML_POINTS);
    assert_int_equal(report_html_points(1), REPORT_HTML_POINTS);
    assert_int_equal(report_html_points(60), REPORT_HTML_POINTS);
    assert_int_equal(report_html_points(120), REPORT_HTML_POINTS_TOTAL / 120);
    assert_int_equal(report_html_points(100000), REPORT_HTML_POINTS_MIN);
}

/* --- Replies ------------------------------------------------------------------ */

/* A stream series of n points a second apart from START: value i % 100,
 * except a spike of 1e6 at n / 3 and a dip of -5 at 2n / 3; constant c
 * when c is not NAN. */
static json_t *stream(const char *uuid, const char *tracer, const char *name, const char *unit,
                      size_t n, double c)
{
    json_t *points = json_array();
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) {
        double v = !isnan(c) ? c : i == n / 3 ? 1e6 : i == 2 * n / 3 ? -5 : (double)(i % 100);
        json_array_append_new(points, json_pack("[f,f]", START + (double)i, v));
        lo = fmin(lo, v);
        hi = fmax(hi, v);
        sum += v;
    }
    json_t *s = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:b}", "uuid", uuid, "task", "t-1",
                          "tracer", tracer, "name", name, "unit", unit, "rtype", "stream", "count",
                          (json_int_t)n, "points", points, "reduced", 0);
    if (n == 0) {
        json_object_set_new(s, "spark", json_array());
        json_object_set_new(s, "summary", json_pack("{s:i}", "count", 0));
        return s;
    }
    json_object_set_new(s, "spark", json_pack("[f,f,f]", lo, sum / (double)n, hi));
    json_object_set_new(s, "summary",
                        json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)n,
                                  "first", START, "last", START + (double)n - 1, "min", lo, "avg",
                                  sum / (double)n, "max", hi, "p95", hi, "last_value", hi));
    return s;
}

/* A log series of count lines of which the first and the last shown
 * (at most rows), each "line I". */
static json_t *log_series(const char *uuid, const char *tracer, const char *name, size_t count,
                          size_t rows)
{
    json_t *points = json_array();
    size_t shown = count < rows ? count : rows;
    for (size_t j = 0; j < shown; j++) {
        size_t i = j < (shown + 1) / 2 ? j : count - (shown - j);
        char text[32];
        snprintf(text, sizeof(text), "line %zu", i);
        json_array_append_new(points, json_pack("[f,s]", START + (double)i, text));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:n,s:s,s:I,s:n,s:o,s:b,s:{s:I,s:f,s:f}}", "uuid", uuid,
                     "task", "t-1", "tracer", tracer, "name", name, "unit", "rtype", "log", "count",
                     (json_int_t)count, "spark", "points", points, "reduced", shown < count,
                     "summary", "count", (json_int_t)count, "first", START, "last",
                     START + (double)count - 1);
}

static json_t *reply(const char *host, json_t *task, json_t *series)
{
    return json_pack("{s:s,s:o,s:o}", "host", host, "task", task ? task : json_null(), "series",
                     series);
}

static json_t *task(const char *uuid)
{
    return json_pack("{s:s,s:s,s:f,s:f}", "uuid", uuid, "status", "stopped", "created", START,
                     "stopped", START + 600);
}

/* Not inlined: gcc then mistakes the memstream buffer for a dangling local. */
__attribute__((noinline)) static char *page(const json_t *replies, const report_html_options *o,
                                            int want_rc, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    sca_error err = {0};
    int rc = report_html(f, replies, o, &err);
    if (rc != want_rc)
        fail_msg("report_html returned %d (%s), expected %d", rc, err.msg, want_rc);
    assert_int_equal(fclose(f), 0);
    if (len != NULL)
        *len = n;
    return text;
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* No src= or href= that leaves the page. */
static void assert_offline(const char *html)
{
    static const char *const refs[] = {"src=\"http:",   "src=\"https:", "href=\"http:",
                                       "href=\"https:", "src='http",    "href='http",
                                       "@import",       "url(http"};
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
        if (strstr(html, refs[i]) != NULL)
            fail_msg("the page refers to the network: %s", refs[i]);
    assert_null(strstr(html, "sourceMappingURL"));
}

/* Every in-page link (href="#X") has its target (id="X"). */
static void assert_links_land(const char *html)
{
    for (const char *p = strstr(html, "href=\"#"); p != NULL; p = strstr(p + 1, "href=\"#")) {
        char id[64], want[80];
        assert_int_equal(sscanf(p, "href=\"#%63[^\"]", id), 1);
        snprintf(want, sizeof(want), "id=\"%s\"", id);
        if (strstr(html, want) == NULL)
            fail_msg("the link to #%s leads nowhere", id);
    }
}

/* The points of the k-th chart as JSON (a new reference). */
static json_t *chart_points(const char *html, size_t k)
{
    const char *p = html;
    for (size_t i = 0; i <= k; i++) {
        p = strstr(p, "<script type=\"application/json\" class=\"points\">");
        assert_non_null(p);
        p += strlen("<script type=\"application/json\" class=\"points\">");
    }
    const char *end = strstr(p, "</script>");
    json_error_t e;
    json_t *v = json_loadb(p, (size_t)(end - p), 0, &e);
    if (v == NULL)
        fail_msg("chart %zu's points are not JSON: %s", k, e.text);
    return v;
}

/* --- One node ------------------------------------------------------------------ */

static json_t *one_node(void)
{
    json_t *series = json_array();
    json_array_append_new(series, stream("r-user", "cpu", "user", "%", 50, NAN));
    json_array_append_new(series, stream("r-sys", "cpu", "system", "%", 50, NAN));
    json_array_append_new(series, stream("r-idle", "cpu", "idle", "%", 50, 0));
    json_array_append_new(series, stream("r-used", "mem", "used_kb", "kB", 50, NAN));
    json_array_append_new(series, stream("r-total", "mem", "total_kb", "kB", 50, 2514520));
    json_array_append_new(series, log_series("r-words", "words", "words", 30, 10));
    static const char *const keys[] = {"rx_kbps", "tx_kbps", "rx_pps", "tx_pps"};
    for (int d = 0; d < 3; d++) {
        for (int k = 0; k < 4; k++) {
            char uuid[32], name[32];
            snprintf(uuid, sizeof(uuid), "r-net-%d-%d", d, k);
            snprintf(name, sizeof(name), "eth%d.%s", d, keys[k]);
            json_array_append_new(series,
                                  stream(uuid, "netdev", name, k < 2 ? "kB/s" : "pkt/s", 50, 0));
        }
    }
    json_array_append_new(series, stream("r-empty", "cpu", "steal", "%", 0, NAN));
    return json_pack("[o]", reply("node1", task("t-1"), series));
}

static void test_page_one_node(void **state)
{
    (void)state;
    json_t *replies = one_node();
    report_html_options o = {.generated = GENERATED, .full_data = "sca report --csv t-1"};
    char *html = page(replies, &o, 0, NULL);

    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "<title>Scalpels report: task t-1</title>"));
    assert_non_null(strstr(html, "Dygraph.synchronize = synchronize")); /* inline */
    assert_non_null(strstr(html, "document.addEventListener('DOMContentLoaded'"));
    assert_offline(html);
    assert_links_land(html);
    /* The task with its times' zone; where every sample is. */
    assert_non_null(strstr(html, "<dt>created</dt><dd>2023-11-14 21:13:20 +0000</dd>"));
    assert_non_null(strstr(html, "<dt>stopped</dt><dd>2023-11-14 21:23:20 +0000</dd>"));
    assert_non_null(strstr(html, "<dt>generated</dt><dd>2023-11-14 22:13:20 +0000 by sca"));
    assert_non_null(strstr(html, "<code>sca report --csv t-1</code>"));
    assert_non_null(strstr(html, "Times are in UTC+00:00"));
    assert_non_null(strstr(html, "<body data-base=\"1699996400\" data-tz=\"0\">"));
    /* The data themselves are not in the page. */
    assert_null(strstr(html, "class=\"csv\""));
    assert_null(strstr(html, "download"));

    /* A summary row per series, numbers with their units. */
    assert_int_equal(occurrences(html, "<tr data-result="), 19);
    assert_non_null(strstr(html, "<td class=\"n\">2.4 GB</td>"));
    assert_non_null(strstr(html, "<td class=\"n\">1000000%</td>"));
    assert_non_null(strstr(html, "<td class=\"n\">-5%</td>"));
    assert_non_null(strstr(html, "<svg class=\"spark\""));
    assert_null(strstr(html, "<a href=\"#s0\"><svg")); /* no link runs through a sparkline */

    /* Charts: cpu % (user, system) and mem kB (used); idle, total and the
     * twelve netdev series are constant: lines of text. */
    assert_int_equal(occurrences(html, "<figure class=\"chart\""), 2);
    assert_non_null(strstr(html, "data-unit=\"%\">"));
    assert_non_null(strstr(html, "<figcaption>cpu (%)</figcaption>\n<ol class=\"lines\" "
                                 "hidden><li>user</li><li>system</li></ol>"));
    assert_non_null(strstr(html, "<figcaption>mem (kB)</figcaption>\n<ol class=\"lines\" "
                                 "hidden><li>used_kb</li></ol>"));
    assert_non_null(strstr(html, "<p class=\"constant\">constant 0%: <span id="));
    assert_non_null(strstr(html, "<p class=\"constant\">constant 2.4 GB: <span id="));
    assert_int_equal(occurrences(html, "<p class=\"constant\">constant 0 kB/s:"), 1);
    assert_int_equal(occurrences(html, "<p class=\"constant\">constant 0 pkt/s:"), 1);
    assert_non_null(strstr(html, ">eth0.rx_kbps</span>, <span id=\"s"));
    assert_non_null(strstr(html, "<p class=\"constant\">no samples: <span id="));

    /* Each line's points: numbers only, ms after data-base. */
    json_t *pts = chart_points(html, 0);
    assert_int_equal(json_array_size(pts), 2);
    json_t *user = json_array_get(pts, 0);
    assert_int_equal(json_array_size(json_array_get(user, 0)), 50);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(user, 0), 1)), 1000);
    assert_true(json_number_value(json_array_get(json_array_get(user, 1), 16)) == 1e6);
    json_decref(pts);

    /* The log: a filterable table of its first and last lines. */
    assert_non_null(strstr(html, "<h3>words</h3>\n<input class=\"filter\""));
    assert_int_equal(occurrences(html, "<tr class=\"line\">"), 10);
    assert_non_null(strstr(html, "<tr class=\"gap\"><td>…</td><td>… 20 more lines</td></tr>"));
    assert_non_null(strstr(html, "line 4</td></tr>\n<tr class=\"gap\">"));
    assert_non_null(strstr(html, "</tr>\n<tr class=\"line\"><td class=\"t\">2023-11-14 "
                                 "21:13:45.000000</td><td class=\"v\">line 25</td>"));
    /* Sections: tracers with charts first, logs last. */
    assert_true(strstr(html, "<h2>cpu</h2>") < strstr(html, "<h2>netdev</h2>"));
    assert_true(strstr(html, "<h2>netdev</h2>") < strstr(html, "<h2>words</h2>"));
    free(html);
    json_decref(replies);
}

/* More points than a line's share are thinned to it, keeping the lowest
 * and highest of each time slice: the spike and the dip stay. */
/* A page's own style goes after the report's, within the one <style>. */
static void test_head_style(void **state)
{
    (void)state;
    sca_buf plain = {0}, styled = {0};
    report_html_head(&plain, "t<1>", NULL);
    report_html_head(&styled, "t<1>", "p.own{color:red}\n");
    assert_non_null(strstr(plain.data, "<title>t&lt;1&gt;</title>"));
    const char *close = strstr(plain.data, "</style>");
    assert_non_null(close);
    size_t before = (size_t)(close - plain.data);
    assert_int_equal(styled.len, plain.len + strlen("p.own{color:red}\n"));
    assert_memory_equal(styled.data, plain.data, before);
    assert_memory_equal(styled.data + before, "p.own{color:red}\n</style>", 25);
    assert_string_equal(styled.data + before + strlen("p.own{color:red}\n"), close);
    assert_non_null(strstr(close, "</script>\n</head>\n"));
    sca_buf_free(&plain);
    sca_buf_free(&styled);
}

static void test_page_thins_to_budget(void **state)
{
    (void)state;
    json_t *replies = json_pack(
        "[o]", reply("n", NULL, json_pack("[o]", stream("r-1", "spiky", "v", "", 10000, NAN))));
    report_html_options o = {.points = 100, .generated = GENERATED};
    char *html = page(replies, &o, 0, NULL);
    json_t *pts = chart_points(html, 0);
    json_t *t = json_array_get(json_array_get(pts, 0), 0),
           *v = json_array_get(json_array_get(pts, 0), 1);
    assert_true(json_array_size(t) <= 100);
    assert_true(json_array_size(t) >= 90);
    bool spike = false, dip = false;
    for (size_t i = 0; i < json_array_size(v); i++) {
        spike = spike || json_number_value(json_array_get(v, i)) == 1e6;
        dip = dip || json_number_value(json_array_get(v, i)) == -5;
        if (i > 0)
            assert_true(json_integer_value(json_array_get(t, i)) >
                        json_integer_value(json_array_get(t, i - 1)));
    }
    assert_true(spike && dip);
    assert_non_null(strstr(html, "Lines drawn from at most 100 points each"));
    /* A page of no task: no task heading. */
    assert_non_null(strstr(html, "<title>Scalpels report</title>"));
    assert_null(strstr(html, "<dt>task</dt>"));
    json_decref(pts);
    free(html);
    json_decref(replies);
}

/* However much the replies hold, the page stays within its size, and says
 * what it left out. */
static void test_page_size_bound(void **state)
{
    (void)state;
    json_t *series = json_array();
    for (int i = 0; i < 300; i++) {
        char uuid[32], name[32];
        snprintf(uuid, sizeof(uuid), "r-%d", i);
        snprintf(name, sizeof(name), "s%d", i);
        json_array_append_new(series, stream(uuid, "many", name, "kB", 2000, NAN));
    }
    char *line = malloc(5001);
    memset(line, 'x', 5000);
    line[5000] = '\0';
    for (int i = 0; i < 20; i++) {
        char uuid[32], name[32];
        snprintf(uuid, sizeof(uuid), "l-%d", i);
        snprintf(name, sizeof(name), "log%d", i);
        json_t *log = log_series(uuid, "logs", name, 100000, 200);
        size_t j;
        json_t *pt;
        json_array_foreach(json_object_get(log, "points"), j, pt)
        {
            json_array_set_new(pt, 1, json_string(line));
        }
        json_array_append_new(series, log);
    }
    free(line);
    json_t *replies = json_pack("[o]", reply("n", task("t-1"), series));
    size_t len;
    char *html = page(replies, NULL, 0, &len);
    assert_true(len <= REPORT_HTML_MAX_BYTES);
    assert_true(len > REPORT_HTML_MAX_BYTES / 2);
    assert_non_null(strstr(html, "did not fit in the page's 3000000 bytes"));
    assert_true(strstr(html, "</html>\n") == html + len - strlen("</html>\n"));
    /* Long lines are cut to LOG_TEXT_MAX bytes. */
    assert_non_null(strstr(html, "xxxx…</td>"));
    free(html);

    report_html_options small = {.max_bytes = 400000};
    html = page(replies, &small, 0, &len);
    assert_true(len <= 400000);
    assert_non_null(strstr(html, "did not fit in the page's 400000 bytes"));
    free(html);
    json_decref(replies);
}

/* --- Several nodes ---------------------------------------------------------------- */

static void test_page_hosts(void **state)
{
    (void)state;
    json_t *a = json_pack("[o,o,o]", stream("a-user", "cpu", "user", "%", 20, NAN),
                          stream("a-idle", "cpu", "idle", "%", 20, 0),
                          log_series("a-log", "words", "words", 3, 10));
    json_t *b = json_pack("[o,o,o]", stream("b-user", "cpu", "user", "%", 20, 5),
                          stream("b-idle", "cpu", "idle", "%", 20, 0),
                          log_series("b-log", "words", "words", 2, 10));
    json_t *replies =
        json_pack("[o,o]", reply("node-a", task("t-a"), a), reply("node-b", task("t-b"), b));
    char *html = page(replies, NULL, 0, NULL);
    assert_links_land(html);
    /* The nodes and their tasks. */
    assert_non_null(strstr(html, "<li>node-a: task <code>t-a</code>, stopped, "));
    assert_non_null(strstr(html, "<li>node-b: task <code>t-b</code>, stopped, "));
    assert_non_null(strstr(html, "<title>Scalpels report</title>"));
    /* A chart per series, a line per node; one that is flat on one node
     * is still drawn beside the other; flat on every node: text. */
    assert_int_equal(occurrences(html, "<figure class=\"chart\""), 1);
    assert_non_null(strstr(html, "<figcaption>cpu user (%)</figcaption>\n<ol class=\"lines\" "
                                 "hidden><li>node-a</li><li>node-b</li></ol>"));
    assert_non_null(strstr(html, "constant 0%: <span id=\"s2\">idle on node-a</span>, "
                                 "<span id=\"s3\">idle on node-b</span>"));
    /* The summary says which node each row is. */
    assert_non_null(strstr(html, "<th>host</th>"));
    assert_non_null(
        strstr(html, "<tr data-result=\"b-user\"><td>node-b</td><td><a href=\"#s1\">user"));
    /* One log table, grouped by node. */
    assert_int_equal(occurrences(html, "<table class=\"log\""), 1);
    assert_non_null(strstr(html, "<tr class=\"node\"><th colspan=\"2\">node-a</th></tr>"));
    assert_non_null(strstr(html, "<tr class=\"node\"><th colspan=\"2\">node-b</th></tr>"));
    free(html);
    json_decref(replies);

    /* sca --all-hosts where one node answered: laid out for nodes still. */
    replies =
        json_pack("[o]", reply("node-b", task("t-b"),
                               json_pack("[o]", stream("b-user", "cpu", "user", "%", 20, NAN))));
    report_html_options o = {.hosts = true};
    html = page(replies, &o, 0, NULL);
    assert_non_null(strstr(html, "<th>host</th>"));
    assert_non_null(strstr(html, "<li>node-b: task <code>t-b</code>, stopped, "));
    assert_non_null(strstr(html, "hidden><li>node-b</li></ol>"));
    assert_null(strstr(html, "<dt>task</dt>"));
    free(html);
    json_decref(replies);
}

/* Strings from the data never reach the page as markup. */
static void test_page_hostile_strings(void **state)
{
    (void)state;
    json_t *evil =
        stream("r-<evil>", "x\"><script>alert(1)</script>",
               "<script>alert('name')</script> & \"more\"", "<img src=x onerror=alert(2)>", 5, NAN);
    json_t *log = log_series("r-log", "w<b>", "w<b> log", 2, 10);
    json_array_set_new(json_array_get(json_object_get(log, "points"), 1), 1,
                       json_string("</td></pre><script>steal()</script>&amp;"));
    json_t *replies = json_pack("[o,o]", reply("node<1>&'", NULL, json_pack("[o,o]", evil, log)),
                                reply("n2", NULL, json_array()));
    char *html = page(replies, NULL, 0, NULL);
    assert_null(strstr(html, "<script>alert"));
    assert_null(strstr(html, "<script>steal"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "<evil>"));
    assert_null(strstr(html, "node<1>"));
    assert_null(strstr(html, "w<b>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; &amp; "
                                 "&quot;more&quot;"));
    assert_non_null(strstr(html, "&lt;/td&gt;&lt;/pre&gt;&lt;script&gt;steal()&lt;/script&gt;"
                                 "&amp;amp;"));
    assert_non_null(strstr(html, "data-unit=\"&lt;img src=x onerror=alert(2)&gt;\""));
    assert_non_null(strstr(html, "<li>node&lt;1&gt;&amp;&#39;</li>"));
    /* The page's three scripts and one chart's points, nothing else. */
    assert_int_equal(occurrences(html, "<script"), 4);
    assert_int_equal(occurrences(html, "</script>"), 4);
    free(html);
    json_decref(replies);
}

static void test_page_errors(void **state)
{
    (void)state;
    json_t *not_array = json_object();
    char *html = page(not_array, NULL, -EPROTO, NULL);
    assert_string_equal(html, "");
    free(html);
    json_t *bad = json_pack("[{s:[{s:s}]}]", "series", "name", "no uuid");
    html = page(bad, NULL, -EPROTO, NULL);
    assert_string_equal(html, ""); /* checked before anything is written */
    free(html);
    json_t *empty = json_pack("[o]", reply("n", NULL, json_array()));
    html = page(empty, NULL, 0, NULL);
    assert_non_null(strstr(html, "<p>(no results)</p>"));
    free(html);

    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        json_t *replies = one_node();
        sca_error err = {0};
        assert_int_equal(report_html(full, replies, NULL, &err), -ENOSPC);
        assert_non_null(strstr(err.msg, "cannot write the HTML report"));
        fclose(full);
        json_decref(replies);
    }
    json_decref(empty);
    json_decref(bad);
    json_decref(not_array);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_points_budget),
        cmocka_unit_test(test_page_one_node),
        cmocka_unit_test(test_head_style),
        cmocka_unit_test(test_page_thins_to_budget),
        cmocka_unit_test(test_page_size_bound),
        cmocka_unit_test(test_page_hosts),
        cmocka_unit_test(test_page_hostile_strings),
        cmocka_unit_test(test_page_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
