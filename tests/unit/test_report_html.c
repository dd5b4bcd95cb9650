/* test_report_html.c - the HTML report (report.h): LTTB downsampling,
 * escaping, and the page: inline dygraphs, a chart per stream, tables for
 * logs, grouping, the CSV it carries, hostile strings. */
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

/* --- LTTB ------------------------------------------------------------------ */

static void check_indices(const size_t *keep, size_t k, size_t n)
{
    assert_true(k > 0);
    assert_int_equal(keep[0], 0);
    assert_int_equal(keep[k - 1], n - 1);
    for (size_t j = 1; j < k; j++)
        assert_true(keep[j] > keep[j - 1]);
}

static bool kept(const size_t *keep, size_t k, size_t i)
{
    for (size_t j = 0; j < k; j++)
        if (keep[j] == i)
            return true;
    return false;
}

static void test_lttb_short_series_pass_through(void **state)
{
    (void)state;
    double x[10], y[10];
    size_t keep[10];
    for (size_t i = 0; i < 10; i++) {
        x[i] = (double)i;
        y[i] = (double)(i * i % 7);
    }
    for (size_t threshold = 10; threshold <= 2000; threshold += 1990) {
        memset(keep, 0xff, sizeof(keep));
        assert_int_equal(report_lttb(x, y, 10, threshold, keep), 10);
        for (size_t i = 0; i < 10; i++)
            assert_int_equal(keep[i], i);
    }
    assert_int_equal(report_lttb(x, y, 0, 5, keep), 0);
    assert_int_equal(report_lttb(x, y, 1, 5, keep), 1);
    assert_int_equal(keep[0], 0);
}

static void test_lttb_count_and_ends(void **state)
{
    (void)state;
    const size_t n = 10000;
    double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
    size_t *keep = malloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        x[i] = 1700000000.0 + 0.25 * (double)i;
        y[i] = sin((double)i / 300.0) * 100.0 + (double)(i % 13);
    }
    size_t thresholds[] = {3, 4, 100, 500, 2000, 9999};
    for (size_t t = 0; t < sizeof(thresholds) / sizeof(thresholds[0]); t++) {
        size_t k = report_lttb(x, y, n, thresholds[t], keep);
        assert_int_equal(k, thresholds[t]);
        check_indices(keep, k, n);
    }
    /* Below 3: still both ends and one point between. */
    for (size_t t = 0; t < 3; t++) {
        assert_int_equal(report_lttb(x, y, n, t, keep), 3);
        check_indices(keep, 3, n);
    }
    free(x);
    free(y);
    free(keep);
}

static void test_lttb_keeps_spike_and_dip(void **state)
{
    (void)state;
    const size_t n = 50000, spike = 31337, dip = 777;
    double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
    size_t keep[200];
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        y[i] = 1.0 + 0.001 * (double)(i % 5); /* flat, with a little noise */
    }
    y[spike] = 1000;
    y[dip] = -500;
    size_t k = report_lttb(x, y, n, 200, keep);
    assert_int_equal(k, 200);
    check_indices(keep, k, n);
    assert_true(kept(keep, k, spike));
    assert_true(kept(keep, k, dip));
    free(x);
    free(y);
}

/* Worked by hand: 7 points, threshold 4, so two buckets between the
 * ends, [1, 3) and [3, 6).  Bucket 1 against (0,0) and the average of the
 * next bucket (4,-1): areas 1 (i=1) and 22 (i=2).  Bucket 2 against (2,5)
 * and the last point (6,0): 15, 10 and 17 (i=5). */
static void test_lttb_by_hand(void **state)
{
    (void)state;
    const double x[] = {0, 1, 2, 3, 4, 5, 6};
    const double y[] = {0, 0, 5, 0, 0, -3, 0};
    size_t keep[4];
    assert_int_equal(report_lttb(x, y, 7, 4, keep), 4);
    assert_int_equal(keep[0], 0);
    assert_int_equal(keep[1], 2);
    assert_int_equal(keep[2], 5);
    assert_int_equal(keep[3], 6);
}

/* --- Escaping ------------------------------------------------------------ */

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

/* --- The page -------------------------------------------------------------- */

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (v == NULL)
        fail_msg("bad test JSON: %s", e.text);
    return v;
}

/* A stream of n samples, one every half second from GENERATED - 3600. */
static json_t *stream(const char *uuid, const char *tracer, const char *name, size_t n)
{
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(data, json_pack("[f,f]", GENERATED - 3600 + 0.5 * (double)i,
                                              (double)(i % 100) + (i == n / 2 ? 1e6 : 0)));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "uuid", uuid, "task", "t-1", "tracer",
                     tracer, "name", name, "unit", "%", "rtype", "stream", "count", (json_int_t)n,
                     "data", data);
}

static json_t *log_result(const char *uuid, size_t n)
{
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(data, json_pack("[f,s]", GENERATED - 60 + (double)i,
                                              i == 0 ? "a,b \"q\"\r\n</pre><b>x</b>" : "line"));
    return json_pack("{s:s,s:s,s:s,s:s,s:n,s:s,s:I,s:o}", "uuid", uuid, "task", "t-1", "tracer",
                     "words", "name", "words", "unit", "rtype", "log", "count", (json_int_t)n,
                     "data", data);
}

/* Not inlined: gcc then mistakes the memstream buffer for a dangling local. */
__attribute__((noinline)) static char *page(const json_t *task, const json_t *results,
                                            const report_html_options *o, int want_rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    sca_error err = {0};
    int rc = report_html(f, task, results, o, &err);
    if (rc != want_rc)
        fail_msg("report_html returned %d (%s), expected %d", rc, err.msg, want_rc);
    assert_int_equal(fclose(f), 0);
    return text;
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The text between after and the next until, character references undone
 * (the six report_html_escape makes); the caller frees it. */
static char *between_unescaped(const char *hay, const char *after, const char *until)
{
    const char *start = strstr(hay, after);
    assert_non_null(start);
    start += strlen(after);
    const char *end = strstr(start, until);
    assert_non_null(end);
    static const char *const refs[][2] = {{"&amp;", "&"},   {"&lt;", "<"},  {"&gt;", ">"},
                                          {"&quot;", "\""}, {"&#39;", "'"}, {"&#13;", "\r"}};
    char *out = malloc((size_t)(end - start) + 1), *o = out;
    for (const char *p = start; p < end;) {
        size_t r = 0;
        while (r < 6 && strncmp(p, refs[r][0], strlen(refs[r][0])) != 0)
            r++;
        if (r < 6) {
            *o++ = refs[r][1][0];
            p += strlen(refs[r][0]);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static char *csv_of(const json_t *result)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(
        result != NULL ? report_csv(f, result, NULL) : report_csv_header(f, false, NULL), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

static char *summary_of(const json_t *result)
{
    sca_buf line = {0}, esc = {0};
    report_summary_line(result, TABLE_UTF8, &line);
    report_html_escape(line.data, line.len, &esc);
    sca_buf_free(&line);
    return esc.data;
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

static void test_page(void **state)
{
    (void)state;
    json_t *task = load("{\"uuid\":\"82032d0d-2259-47f5-ac87-ff929db6bde2\",\"status\":\"stopped\","
                        "\"created\":1699996000,\"stopped\":1699999000,\"results\":[]}");
    json_t *results = json_array();
    json_array_append_new(results, stream("r-cpu-big", "cpu", "cpu.user", 7000));
    json_array_append_new(results, stream("r-mem", "mem", "used_kb", 40));
    json_array_append_new(results, log_result("r-words", 3));
    json_array_append_new(results, stream("r-cpu-small", "cpu", "cpu.sys", 5));
    report_html_options o = {.generated = GENERATED};
    char *html = page(task, results, &o, 0);

    assert_true(strncmp(html, "<!DOCTYPE html>\n", 16) == 0);
    assert_non_null(strstr(html, "</body>\n</html>\n"));
    assert_non_null(strstr(html, "82032d0d-2259-47f5-ac87-ff929db6bde2"));
    assert_non_null(strstr(html, "2023-11-14 22:13:20 +0000"));
    /* dygraphs itself, inline, and its CSS. */
    assert_non_null(strstr(html, "@license https://github.com/danvk/dygraphs"));
    assert_non_null(strstr(html, ".dygraph-legend{"));
    assert_offline(html);

    /* A chart per stream, none for the log, which is a table. */
    assert_int_equal(occurrences(html, "<div class=\"chart\""), 3);
    assert_int_equal(occurrences(html, "<table class=\"log\">"), 1);
    /* Grouped by tracer: cpu (both), mem, words; results keep their order. */
    assert_int_equal(occurrences(html, "<section class=\"group\">"), 3);
    const char *big = strstr(html, "<h2>tracer cpu</h2>");
    const char *small = strstr(html, "result <code>r-cpu-small</code>");
    const char *mem = strstr(html, "<h2>tracer mem</h2>");
    assert_true(big != NULL && small != NULL && mem != NULL);
    assert_true(strstr(html, "result <code>r-cpu-big</code>") > big);
    assert_true(small > big && small < mem);
    assert_true(mem < strstr(html, "<h2>tracer words</h2>"));

    /* The big series thinned to REPORT_HTML_POINTS, keeping its spike; the
     * others whole. */
    const char *p0 = strstr(html, "<script type=\"application/json\" id=\"p0\">[[");
    assert_non_null(p0);
    const char *p0_end = strstr(p0, "]]</script>");
    size_t points = 1;
    for (const char *c = p0; c < p0_end; c++)
        points += strncmp(c, "],[", 3) == 0;
    assert_int_equal(points, REPORT_HTML_POINTS);
    assert_non_null(strstr(p0, ",1000000]"));
    assert_true(strstr(p0, ",1000000]") < p0_end);
    assert_non_null(strstr(html, "2000 of 7000 points drawn"));
    assert_int_equal(occurrences(html, " points drawn"), 1);

    /* Every summary line, as the text report prints it, twice: in the
     * summary list and over its chart or table. */
    for (size_t i = 0; i < json_array_size(results); i++) {
        char *line = summary_of(json_array_get(results, i));
        assert_int_equal(occurrences(html, line), 2);
        free(line);
    }
    assert_non_null(strstr(html, "cpu.user (%): count 7000, min 0, avg"));

    /* The CSV carried is exactly report_csv's, header apart. */
    char *header = csv_of(NULL);
    char *carried =
        between_unescaped(html, "<pre class=\"csv-header\" id=\"csv-header\" hidden>\n", "</pre>");
    assert_string_equal(carried, header);
    free(carried);
    free(header);
    static const char *const ids[] = {"csv0", "csv1", "csv2", "csv3"};
    static const size_t order[] = {0, 3, 1, 2}; /* the grouped order */
    for (size_t i = 0; i < 4; i++) {
        char after[64];
        snprintf(after, sizeof(after), "<pre class=\"csv\" id=\"%s\" hidden>\n", ids[i]);
        char *want = csv_of(json_array_get(results, order[i]));
        carried = between_unescaped(html, after, "</pre>");
        assert_string_equal(carried, want);
        free(carried);
        free(want);
    }
    free(html);
    json_decref(results);
    json_decref(task);
}

static void test_page_hostile_strings(void **state)
{
    (void)state;
    json_t *results = json_array();
    json_t *evil = stream("r-<evil>", "x\"><script>alert(1)</script>",
                          "<script>alert('name')</script> & \"more\"", 3);
    json_object_set_new(evil, "unit", json_string("<img src=x onerror=alert(2)>"));
    json_object_set_new(evil, "host", json_string("node<1>&'"));
    json_array_append_new(results, evil);
    json_t *log = log_result("r-log", 2);
    json_array_set_new(json_object_get(log, "data"), 1,
                       json_pack("[f,s]", GENERATED, "</td></pre><script>steal()</script>&amp;"));
    json_array_append_new(results, log);
    char *html = page(NULL, results, NULL, 0);

    assert_null(strstr(html, "<script>alert"));
    assert_null(strstr(html, "<script>steal"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "<evil>"));
    assert_null(strstr(html, "node<1>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; &amp; "
                                 "&quot;more&quot;"));
    assert_non_null(strstr(html, "&lt;/td&gt;&lt;/pre&gt;&lt;script&gt;steal()&lt;/script&gt;"
                                 "&amp;amp;"));
    assert_non_null(strstr(html, "on node&lt;1&gt;&amp;&#39;</h2>"));
    assert_non_null(strstr(html, "download=\"result-r-&lt;evil&gt;.csv\""));
    /* Only the page's own scripts: dygraphs, one chart's points, the
     * drawing code; every element opened is closed where it should be. */
    assert_int_equal(occurrences(html, "<script"), 3);
    assert_int_equal(occurrences(html, "</script>"), 3);
    assert_int_equal(occurrences(html, "</pre>"), 3);
    assert_int_equal(occurrences(html, "</td>"), 4);
    assert_non_null(strstr(html, "<title>Scalpels results</title>"));
    assert_offline(html);
    free(html);
    json_decref(results);
}

/* Results from several agents: grouped per host, and the page's CSV has
 * the host column report_csv gives them. */
static void test_page_hosts(void **state)
{
    (void)state;
    json_t *results = json_array();
    json_t *a = stream("r-a", "cpu", "cpu.user", 5), *b = stream("r-b", "cpu", "cpu.user", 5);
    json_object_set_new(a, "host", json_string("node-a"));
    json_object_set_new(b, "host", json_string("node-b"));
    json_array_append_new(results, a);
    json_array_append_new(results, b);
    char *html = page(NULL, results, NULL, 0);
    assert_non_null(strstr(html, "<h2>tracer cpu on node-a</h2>"));
    assert_non_null(strstr(html, "<h2>tracer cpu on node-b</h2>"));
    char *header =
        between_unescaped(html, "<pre class=\"csv-header\" id=\"csv-header\" hidden>\n", "</pre>");
    assert_string_equal(header, "host,task,result,tracer,name,unit,rtype,ts,value\n");
    char *rows = between_unescaped(html, "<pre class=\"csv\" id=\"csv1\" hidden>\n", "</pre>");
    char *want = csv_of(b);
    assert_string_equal(rows, want);
    assert_true(strncmp(rows, "node-b,t-1,r-b,", 15) == 0);
    free(want);
    free(rows);
    free(header);
    free(html);
    json_decref(results);
}

static void test_page_log_cap_and_empty(void **state)
{
    (void)state;
    json_t *results = json_array();
    json_array_append_new(results, log_result("r-log", 25));
    json_array_append_new(results, stream("r-empty", "cpu", "idle", 0));
    report_html_options o = {.log_rows = 10, .generated = GENERATED};
    char *html = page(NULL, results, &o, 0);
    /* First five, a gap, last five. */
    assert_int_equal(occurrences(html, "<tr><td class=\"t\">"), 10);
    assert_non_null(strstr(html, "… 15 more lines not shown"));
    assert_non_null(strstr(html, "<td class=\"t\">2023-11-14 22:12:20.000000</td>"));
    assert_non_null(strstr(html, "<td class=\"t\">2023-11-14 22:12:44.000000</td>"));
    assert_null(strstr(html, "<td class=\"t\">2023-11-14 22:12:25.000000</td>"));
    /* An empty stream: its summary, no chart. */
    assert_int_equal(occurrences(html, "<div class=\"chart\""), 0);
    assert_non_null(strstr(html, "cpu idle (%): count 0</h3>"));
    free(html);

    json_t *none = json_array();
    html = page(NULL, none, NULL, 0);
    assert_non_null(strstr(html, "(no results)"));
    assert_non_null(strstr(html, "</html>\n"));
    free(html);
    json_decref(none);
    json_decref(results);
}

static void test_page_errors(void **state)
{
    (void)state;
    json_t *not_array = json_object();
    char *html = page(NULL, not_array, NULL, -EINVAL);
    assert_string_equal(html, "");
    free(html);
    json_t *bad = json_pack("[{s:s}]", "name", "no uuid");
    html = page(NULL, bad, NULL, -EPROTO);
    assert_string_equal(html, ""); /* checked before anything is written */
    free(html);

    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        json_t *results = json_pack("[o]", stream("r-1", "cpu", "user", 10));
        sca_error err = {0};
        assert_int_equal(report_html(full, NULL, results, NULL, &err), -ENOSPC);
        assert_non_null(strstr(err.msg, "cannot write the HTML report"));
        fclose(full);
        json_decref(results);
    }
    json_decref(bad);
    json_decref(not_array);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lttb_short_series_pass_through),
        cmocka_unit_test(test_lttb_count_and_ends),
        cmocka_unit_test(test_lttb_keeps_spike_and_dip),
        cmocka_unit_test(test_lttb_by_hand),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_page_hostile_strings),
        cmocka_unit_test(test_page_hosts),
        cmocka_unit_test(test_page_log_cap_and_empty),
        cmocka_unit_test(test_page_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
