/* test_report.c - text, JSON and CSV reports of results (report.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "scalpels/report.h"

/* Renders through fn into a string; the caller frees it. */
typedef int (*render_fn)(FILE *out, const json_t *result, const report_options *o, sca_error *err);

/* Not inlined: gcc then mistakes the memstream buffer for a dangling local. */
__attribute__((noinline)) static char *render(render_fn fn, const json_t *result,
                                              const report_options *o, int want_rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    sca_error err = {0};
    assert_int_equal(fn(f, result, o, &err), want_rc);
    assert_int_equal(fclose(f), 0);
    return text;
}

static int text_fn(FILE *out, const json_t *r, const report_options *o, sca_error *err)
{
    return report_text(out, r, o, err);
}

static int csv_fn(FILE *out, const json_t *r, const report_options *o, sca_error *err)
{
    (void)o;
    return report_csv(out, r, err);
}

static int json_fn(FILE *out, const json_t *r, const report_options *o, sca_error *err)
{
    (void)o;
    return report_json(out, r, err);
}

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (v == NULL)
        fail_msg("bad test JSON: %s", e.text);
    return v;
}

/* A stream result with n samples, one a second from 1700000000 (UTC
 * 2023-11-14 22:13:20), values 0..n-1. */
static json_t *stream_result(size_t n)
{
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(data, json_pack("[f,I]", 1700000000.0 + (double)i, (json_int_t)i));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "uuid", "r-1", "task", "t-1", "tracer",
                     "cpu", "name", "cpu.user", "unit", "%", "rtype", "stream", "count",
                     (json_int_t)n, "data", data);
}

static const report_options defaults = {
    .rows = REPORT_DEFAULT_ROWS, .width = 100, .charset = TABLE_UTF8};
static const report_options ascii = {
    .rows = REPORT_DEFAULT_ROWS, .width = 100, .charset = TABLE_ASCII};

/* Columns of the line at s: UTF-8 code points up to the newline. */
static size_t line_width(const char *s)
{
    size_t w = 0;
    for (; *s != '\0' && *s != '\n'; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static bool all_ascii(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s >= 0x80)
            return false;
    }
    return true;
}

static void test_text_small_stream(void **state)
{
    (void)state;
    json_t *r = load("{\"uuid\":\"1b4e28ba\",\"name\":\"Port Traffic\",\"unit\":\"pkts\","
                     "\"rtype\":\"stream\",\"count\":2,"
                     "\"data\":[[1700000000.25,0.5],[1700000001.5,12]],"
                     "\"summary\":{\"count\":2,\"min\":0.5,\"avg\":6.25,\"max\":12,"
                     "\"p95\":12,\"first\":1700000000.25,\"last\":1700000001.5},"
                     "\"spark\":[0.5,null,12]}");
    char *out = render(text_fn, r, &defaults, 0);
    assert_string_equal(out, "<result 1b4e28ba>\n"
                             "+----------------------------+---------------------+\n"
                             "| timestamp                  | Port Traffic (pkts) |\n"
                             "+----------------------------+---------------------+\n"
                             "| 2023-11-14 22:13:20.250000 |                 0.5 |\n"
                             "| 2023-11-14 22:13:21.500000 |                  12 |\n"
                             "+----------------------------+---------------------+\n"
                             "Port Traffic (pkts): count 2, min 0.5, avg 6.25, max 12, p95 12"
                             "  ▁ █\n");
    free(out);
    json_decref(r);
}

static void test_text_head_and_tail(void **state)
{
    (void)state;
    json_t *r = stream_result(50);
    char *out = render(text_fn, r, &defaults, 0);
    assert_non_null(strstr(out, "| 2023-11-14 22:13:29.000000 |            9 |\n"
                                "| …                          |            … |\n"
                                "| 2023-11-14 22:14:00.000000 |           40 |\n"));
    assert_null(strstr(out, "|           10 |"));
    assert_null(strstr(out, "|           39 |"));
    assert_non_null(strstr(out, "+\n… 30 more rows (--all shows every row)\n"));
    /* No summary from the agent and every sample here: computed locally. */
    assert_non_null(strstr(out, "cpu.user (%): count 50, min 0, avg 24.5, max 49, p95 47  ▁"));
    free(out);

    report_options all = defaults;
    all.all = true;
    out = render(text_fn, r, &all, 0);
    assert_non_null(strstr(out, "|           25 |"));
    assert_null(strstr(out, "more row"));
    free(out);

    report_options few = defaults;
    few.rows = 3;
    out = render(text_fn, r, &few, 0);
    assert_non_null(strstr(out, "|            1 |\n| …"));
    assert_non_null(strstr(out, "… |\n| 2023-11-14 22:14:09.000000 |           49 |\n+"));
    assert_non_null(strstr(out, "… 47 more rows"));
    free(out);
    json_decref(r);
}

/* What the CLI fetches for the default view: the first ten and last ten
 * rows of a long series, and the agent's summary. */
static void test_text_partial_data(void **state)
{
    (void)state;
    json_t *full = stream_result(1000);
    json_t *data = json_object_get(full, "data");
    json_t *part = json_array();
    for (size_t i = 0; i < 10; i++)
        json_array_append(part, json_array_get(data, i));
    for (size_t i = 990; i < 1000; i++)
        json_array_append(part, json_array_get(data, i));
    json_object_set_new(full, "data", part);
    char *out = render(text_fn, full, &defaults, 0);
    assert_non_null(strstr(out, "|            9 |\n| …"));
    assert_non_null(strstr(out, "… |\n| 2023-11-14 22:29:50.000000 |          990 |"));
    assert_non_null(strstr(out, "… 980 more rows (--all shows every row)\n"));
    /* Without the whole series and no summary: the count only. */
    assert_non_null(strstr(out, "\ncpu.user (%): count 1000\n"));
    free(out);
    json_decref(full);
}

static void test_text_log_cut_and_full(void **state)
{
    (void)state;
    char line[301];
    memset(line, 'x', 300);
    line[300] = '\0';
    json_t *r = json_pack("{s:s,s:s,s:n,s:s,s:I,s:[[f,s],[f,s]],s:{s:I,s:f,s:f}}", "uuid", "r-log",
                          "name", "MySQL", "unit", "rtype", "log", "count", (json_int_t)2, "data",
                          1700000000.0, line, 1700000090.5, "select\t1", "summary", "count",
                          (json_int_t)2, "first", 1700000000.0, "last", 1700000090.5);
    char *out = render(text_fn, r, &defaults, 0);
    /* 100 columns: the value column holds 100 - 26 - 7 = 67. */
    assert_non_null(strstr(out, "| timestamp                  | MySQL"));
    char *row = strstr(out, "| 2023-11-14 22:13:20.000000 | x");
    assert_non_null(row);
    assert_int_equal(line_width(row), 100);
    assert_non_null(strstr(row, "xxx… |\n"));
    assert_non_null(strstr(out, "| select 1 ")); /* a tab would break the frame */
    assert_non_null(strstr(out, "MySQL: count 2, span 90.5 s (2023-11-14 22:13:20.000000 to "
                                "2023-11-14 22:14:50.500000)\n"));
    free(out);

    report_options full = defaults;
    full.full = true;
    out = render(text_fn, r, &full, 0);
    assert_non_null(strstr(out, line));
    assert_null(strstr(out, "…"));
    free(out);
    json_decref(r);
}

static void test_text_empty_and_null_unit(void **state)
{
    (void)state;
    json_t *r = load("{\"uuid\":\"r-0\",\"name\":\"count\",\"unit\":null,\"rtype\":\"stream\","
                     "\"count\":0,\"data\":[],\"summary\":{\"count\":0}}");
    char *out = render(text_fn, r, &defaults, 0);
    assert_string_equal(out, "<result r-0>\n"
                             "+-----------+-------+\n"
                             "| timestamp | count |\n"
                             "+-----------+-------+\n"
                             "count: count 0\n");
    free(out);
    json_decref(r);
}

static void test_text_rejects_bad_shape(void **state)
{
    (void)state;
    const char *bad[] = {"[]",
                         "{\"data\":[]}",
                         "{\"uuid\":\"u\"}",
                         "{\"uuid\":\"u\",\"data\":[[\"x\",1]]}",
                         "{\"uuid\":\"u\",\"data\":[[1]]}",
                         "{\"uuid\":\"u\",\"count\":-1,\"data\":[]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *r = load(bad[i]);
        char *out = render(text_fn, r, &defaults, -EPROTO);
        assert_string_equal(out, "");
        free(out);
        json_decref(r);
    }
}

static void test_sparkline(void **state)
{
    (void)state;
    static const struct {
        const char *spark;
        const char *utf8, *ascii;
    } cases[] = {
        {"[0,1,2,3,4,5,6,7,null,7]", "▁▂▃▄▅▆▇█ █", "_.:-=+*# #"},
        {"[5,5,null]", "▁▁ ", "__ "},
        {"[]", "", ""},
    };
    sca_buf b = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *spark = load(cases[i].spark);
        sca_buf_reset(&b);
        report_sparkline(spark, TABLE_UTF8, &b);
        assert_string_equal(b.data, cases[i].utf8);
        sca_buf_reset(&b);
        report_sparkline(spark, TABLE_ASCII, &b);
        assert_string_equal(b.data, cases[i].ascii);
        json_decref(spark);
    }
    sca_buf_free(&b);
}

static void test_summary_without_agent_summary(void **state)
{
    (void)state;
    /* An original agent's reply: no count, no summary. */
    json_t *r = load("{\"id\":1,\"uuid\":\"u\",\"name\":\"n\",\"unit\":\"ms\",\"rtype\":\"stream\","
                     "\"data\":[[10,1.5],[11,0.25],[12,100]]}");
    sca_buf b = {0};
    report_summary_line(r, TABLE_UTF8, &b);
    assert_string_equal(b.data, "n (ms): count 3, min 0.25, avg 33.9, max 100, p95 100  ▁▁█");
    sca_buf_reset(&b);
    report_summary_line(r, TABLE_ASCII, &b);
    assert_string_equal(b.data, "n (ms): count 3, min 0.25, avg 33.9, max 100, p95 100  __#");
    sca_buf_free(&b);
    json_decref(r);
}

static void test_summary_edges(void **state)
{
    (void)state;
    /* Empty time slices at the end (all samples at one instant) leave no
     * trailing blanks; the tracer is named when it is not the name. */
    json_t *r = load("{\"uuid\":\"u\",\"tracer\":\"seq\",\"name\":\"n\",\"rtype\":\"stream\","
                     "\"count\":2,\"data\":[[5,1],[5,2]],\"spark\":[1.5,null,null],"
                     "\"summary\":{\"count\":2,\"min\":1,\"avg\":1.5,\"max\":2,\"p95\":2}}");
    sca_buf b = {0};
    report_summary_line(r, TABLE_UTF8, &b);
    assert_string_equal(b.data, "seq n: count 2, min 1, avg 1.5, max 2, p95 2  ▁");
    json_decref(r);
    r = load("{\"uuid\":\"u\",\"tracer\":\"needs\",\"name\":\"needs stderr\",\"rtype\":\"log\","
             "\"data\":[]}");
    sca_buf_reset(&b);
    report_summary_line(r, TABLE_UTF8, &b);
    assert_string_equal(b.data, "needs stderr: count 0");
    json_decref(r);
    /* Magnitudes: no exponent for everyday values, three digits at least. */
    r = load("{\"uuid\":\"u\",\"name\":\"n\",\"rtype\":\"stream\",\"count\":1,\"data\":[],"
             "\"summary\":{\"min\":0.012345,\"avg\":12345678.9,\"max\":1e20,\"p95\":0.0001}}");
    sca_buf_reset(&b);
    report_summary_line(r, TABLE_UTF8, &b);
    assert_string_equal(b.data, "n: count 1, min 0.0123, avg 12345679, max 1e+20, p95 0.0001");
    json_decref(r);
    sca_buf_free(&b);
}

/* A terminal that shows ASCII alone (a locale that is not UTF-8): "..."
 * for the ellipsis, the ASCII sparkline, and cuts at the same width. */
static void test_text_ascii(void **state)
{
    (void)state;
    json_t *r = stream_result(50);
    char *out = render(text_fn, r, &ascii, 0);
    assert_true(all_ascii(out));
    assert_non_null(strstr(out, "| 2023-11-14 22:13:29.000000 |            9 |\n"
                                "| ...                        |          ... |\n"
                                "| 2023-11-14 22:14:00.000000 |           40 |\n"));
    assert_non_null(strstr(out, "+\n... 30 more rows (--all shows every row)\n"));
    assert_non_null(strstr(out, "cpu.user (%): count 50, min 0, avg 24.5, max 49, p95 47  _"));
    free(out);
    json_decref(r);

    /* The value column holds 67: 64 characters and "...", whatever their
     * bytes; the data itself is shown as it is. */
    char line[301], wide[601];
    memset(line, 'x', 300);
    line[300] = '\0';
    for (size_t i = 0; i < 300; i++)
        memcpy(wide + 2 * i, "é", 2);
    wide[600] = '\0';
    r = json_pack("{s:s,s:s,s:s,s:[[f,s],[f,s]]}", "uuid", "r-log", "name", "MySQL", "rtype", "log",
                  "data", 1700000000.0, line, 1700000001.0, wide);
    out = render(text_fn, r, &ascii, 0);
    char *row = strstr(out, "| 2023-11-14 22:13:20.000000 | x");
    assert_non_null(row);
    assert_int_equal(line_width(row), 100);
    assert_int_equal(strchr(row, '\n') - row, 100); /* bytes, too */
    assert_non_null(strstr(row, "xxx... |\n"));
    row = strstr(out, "| 2023-11-14 22:13:21.000000 | é");
    assert_non_null(row);
    assert_int_equal(line_width(row), 100);
    assert_non_null(strstr(row, "ééé... |\n"));
    free(out);

    out = render(text_fn, r, &defaults, 0);
    row = strstr(out, "| 2023-11-14 22:13:21.000000 | é");
    assert_non_null(row);
    assert_int_equal(line_width(row), 100);
    assert_non_null(strstr(row, "ééé… |\n"));
    assert_null(strstr(out, "..."));
    free(out);
    json_decref(r);
}

static void test_write_errors(void **state)
{
    (void)state;
    FILE *full = fopen("/dev/full", "w");
    if (full == NULL)
        skip();
    setvbuf(full, NULL, _IONBF, 0);
    json_t *r = stream_result(3);
    sca_error err = {0};
    assert_int_equal(report_csv(full, r, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "cannot write the CSV output"));
    assert_int_equal(report_text(full, r, &defaults, &err), -ENOSPC);
    assert_int_equal(report_json(full, r, &err), -ENOSPC);
    assert_int_equal(report_csv_header(full, false, &err), -ENOSPC);
    fclose(full);
    json_decref(r);
}

static void test_numbers_and_times(void **state)
{
    (void)state;
    char buf[64];
    report_format_number(0.1, buf);
    assert_string_equal(buf, "0.1");
    report_format_number(0.1 + 0.2, buf);
    assert_string_equal(buf, "0.30000000000000004");
    report_format_number(1763896689.123456, buf);
    assert_string_equal(buf, "1763896689.123456");
    report_format_number(-3, buf);
    assert_string_equal(buf, "-3");
    report_format_time(1700000000.9999996, buf);
    assert_string_equal(buf, "2023-11-14 22:13:21.000000");
    report_format_time(0.000001, buf);
    assert_string_equal(buf, "1970-01-01 00:00:00.000001");
    report_format_time(1e300, buf);
    assert_string_equal(buf, "1e+300");
}

static void test_csv(void **state)
{
    (void)state;
    json_t *r = load("{\"uuid\":\"r-2\",\"task\":\"t-2\",\"tracer\":\"my,sql\",\"name\":\"q\","
                     "\"unit\":null,\"rtype\":\"log\",\"count\":4,"
                     "\"data\":[[1.5,\"plain\"],[2,\"a,b\"],[3.25,\"say \\\"hi\\\"\"],"
                     "[4,\"two\\nlines\"]]}");
    char *out = render(csv_fn, r, NULL, 0);
    assert_string_equal(out, "t-2,r-2,\"my,sql\",q,,log,1.5,plain\n"
                             "t-2,r-2,\"my,sql\",q,,log,2,\"a,b\"\n"
                             "t-2,r-2,\"my,sql\",q,,log,3.25,\"say \"\"hi\"\"\"\n"
                             "t-2,r-2,\"my,sql\",q,,log,4,\"two\nlines\"\n");
    free(out);
    json_decref(r);

    r = stream_result(2);
    out = render(csv_fn, r, NULL, 0);
    assert_string_equal(out, "t-1,r-1,cpu,cpu.user,%,stream,1700000000,0\n"
                             "t-1,r-1,cpu,cpu.user,%,stream,1700000001,1\n");
    free(out);
    json_decref(r);

    r = load("{\"uuid\":\"e\",\"rtype\":\"stream\",\"data\":[]}");
    out = render(csv_fn, r, NULL, 0);
    assert_string_equal(out, "");
    free(out);
    json_decref(r);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(report_csv_header(f, false, NULL), 0);
    fclose(f);
    assert_string_equal(text, "task,result,tracer,name,unit,rtype,ts,value\n");
    free(text);

    /* Results from several agents: the host leads every row, quoted as
     * any field is. */
    text = NULL;
    f = open_memstream(&text, &len);
    assert_int_equal(report_csv_header(f, true, NULL), 0);
    fclose(f);
    assert_string_equal(text, "host,task,result,tracer,name,unit,rtype,ts,value\n");
    free(text);
    r = stream_result(1);
    json_object_set_new(r, "host", json_string("node,1"));
    out = render(csv_fn, r, NULL, 0);
    assert_string_equal(out, "\"node,1\",t-1,r-1,cpu,cpu.user,%,stream,1700000000,0\n");
    free(out);
    json_decref(r);
}

static void test_json(void **state)
{
    (void)state;
    json_t *v = load("{\"results\":[{\"uuid\":\"u\",\"data\":[[1,0.5]]}],\"task\":null,"
                     "\"a\":\"é\"}");
    char *out = render(json_fn, v, NULL, 0);
    assert_string_equal(
        out, "{\"a\":\"é\",\"results\":[{\"data\":[[1,0.5]],\"uuid\":\"u\"}],\"task\":null}\n");
    free(out);
    json_decref(v);
    v = load("[]");
    out = render(json_fn, v, NULL, 0);
    assert_string_equal(out, "[]\n");
    free(out);
    json_decref(v);
}

static void test_window(void **state)
{
    (void)state;
    size_t head, tail;
    report_options o = {.rows = 20};
    report_window(&o, &head, &tail);
    assert_int_equal(head, 10);
    assert_int_equal(tail, 10);
    o.rows = 5;
    report_window(&o, &head, &tail);
    assert_int_equal(head, 3);
    assert_int_equal(tail, 2);
}

/* --- Streaming ------------------------------------------------------------- */

/* A page as the agent writes it: members, "data" among them. */
static const char page_text[] =
    "{\"id\":3,\"uuid\":\"r-2\",\"task\":\"t-2\",\"tracer\":\"my,sql\",\"name\":\"q\","
    "\"unit\":null,\"rtype\":\"log\",\"count\":5,\"data\":[[1.5,\"plain\"], [2.0,\"a,b\"],"
    "[3.25,\"say \\\"hi\\\"\"],\n [4,\"two\\nlines\"],[5,null]],\"truncated\":false,"
    "\"next\":[5.0,17]}";

/* Streams rows through the page's writer into a string: CSV with the
 * result's prefix, or JSON rows after `written` others. */
__attribute__((noinline)) static char *stream_rows(const char *rows, size_t len, bool csv,
                                                   const json_t *result, size_t max, size_t written,
                                                   size_t *n, int want_rc)
{
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    sca_error err = {0};
    sca_buf prefix = {0};
    int rc;
    if (csv) {
        report_csv_prefix(result, &prefix);
        rc = report_csv_rows(f, prefix.data, prefix.len, rows, len, max, n, &err);
    } else {
        rc = report_json_rows(f, rows, len, max, written, n, &err);
    }
    assert_int_equal(rc, want_rc);
    if (want_rc != 0)
        assert_non_null(strstr(err.msg, "not valid"));
    assert_int_equal(fclose(f), 0);
    sca_buf_free(&prefix);
    return text;
}

static void test_page_split(void **state)
{
    (void)state;
    json_t *members;
    const char *rows;
    size_t len, count;
    sca_error err = {0};
    assert_int_equal(
        report_page_split(page_text, strlen(page_text), &members, &rows, &len, &count, &err), 0);
    assert_int_equal(count, 5);
    assert_memory_equal(rows, "[[1.5,", 6);
    assert_int_equal(rows[len - 1], ']');
    assert_null(json_object_get(members, "data"));
    assert_int_equal(json_integer_value(json_object_get(members, "count")), 5);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(members, "next"), 1)), 17);
    json_decref(members);

    static const char empty[] = " { \"data\" : [ ] , \"next\" : null } ";
    assert_int_equal(report_page_split(empty, strlen(empty), &members, &rows, &len, &count, &err),
                     0);
    assert_int_equal(count, 0);
    json_decref(members);

    static const char *const bad[] = {
        "",
        "[]",
        "{\"next\":null}",
        "{\"data\":[[1,2]]",
        "{\"data\":[[1,2]]} x",
        "{\"data\":[[1,2],]}",
        "{data:[]}",
        "{\"data\":[[1,2]],\"x\":}",
        "{\"data\":[[1,2]] \"x\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        members = NULL;
        assert_int_equal(
            report_page_split(bad[i], strlen(bad[i]), &members, &rows, &len, &count, &err),
            -EPROTO);
        assert_null(members);
    }
}

static void test_stream_rows_as_the_whole_result(void **state)
{
    (void)state;
    json_t *members;
    const char *rows;
    size_t len, count, n;
    sca_error err = {0};
    assert_int_equal(
        report_page_split(page_text, strlen(page_text), &members, &rows, &len, &count, &err), 0);
    /* CSV: as report_csv writes the result whole (a null value is empty). */
    char *out = stream_rows(rows, len, true, members, SIZE_MAX, 0, &n, 0);
    assert_int_equal(n, 5);
    assert_string_equal(out, "t-2,r-2,\"my,sql\",q,,log,1.5,plain\n"
                             "t-2,r-2,\"my,sql\",q,,log,2,\"a,b\"\n"
                             "t-2,r-2,\"my,sql\",q,,log,3.25,\"say \"\"hi\"\"\"\n"
                             "t-2,r-2,\"my,sql\",q,,log,4,\"two\nlines\"\n"
                             "t-2,r-2,\"my,sql\",q,,log,5,\n");
    free(out);
    /* At most max rows, and none past the end. */
    out = stream_rows(rows, len, true, members, 2, 0, &n, 0);
    assert_int_equal(n, 2);
    assert_string_equal(out, "t-2,r-2,\"my,sql\",q,,log,1.5,plain\n"
                             "t-2,r-2,\"my,sql\",q,,log,2,\"a,b\"\n");
    free(out);
    /* JSON rows: numbers as floats, strings as jansson writes them; a
     * comma first when rows came before. */
    out = stream_rows(rows, len, false, NULL, 3, 0, &n, 0);
    assert_string_equal(out, "[1.5,\"plain\"],[2.0,\"a,b\"],[3.25,\"say \\\"hi\\\"\"]");
    free(out);
    out = stream_rows(rows, len, false, NULL, SIZE_MAX, 7, &n, 0);
    assert_string_equal(out, ",[1.5,\"plain\"],[2.0,\"a,b\"],[3.25,\"say \\\"hi\\\"\"],"
                             "[4.0,\"two\\nlines\"],[5.0,null]");
    free(out);

    /* The whole JSON result in parts equals report_json_value's. */
    /* (The agent sends values as floats.) */
    json_t *whole = stream_result(3);
    json_object_set_new(whole, "host", json_string("n1"));
    for (size_t i = 0; i < 3; i++)
        json_array_set_new(json_array_get(json_object_get(whole, "data"), i), 1,
                           json_real((double)i));
    char *want = NULL, *got = NULL;
    size_t wlen = 0, glen = 0;
    FILE *f = open_memstream(&want, &wlen);
    assert_int_equal(report_json_value(f, whole, &err), 0);
    fclose(f);
    static const char three[] = "[[1700000000,0],[1700000001.0,1.0],[1700000002,2]]";
    f = open_memstream(&got, &glen);
    assert_int_equal(report_json_open(f, whole, "data", &err), 0);
    assert_int_equal(report_json_text(f, "[", &err), 0);
    assert_int_equal(report_json_rows(f, three, strlen(three), SIZE_MAX, 0, &n, &err), 0);
    assert_int_equal(report_json_text(f, "]", &err), 0);
    assert_int_equal(report_json_close(f, whole, "data", &err), 0);
    fclose(f);
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_decref(whole);
    json_decref(members);

    /* Rows that are not [number, number | string | null]. */
    static const char *const bad[] = {
        "[[1]]",      "[[\"x\",1]]", "[[1,[2]]]", "[[1,2,3]]", "[1]",
        "[[1,true]]", "[[nan,1]]",   "[[1,2]",    "[[0x1,2]]", "[[1,\"\\q\"]]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        free(stream_rows(bad[i], strlen(bad[i]), true, NULL, SIZE_MAX, 0, &n, -EPROTO));
        free(stream_rows(bad[i], strlen(bad[i]), false, NULL, SIZE_MAX, 0, &n, -EPROTO));
    }
}

static void test_json_open_close(void **state)
{
    (void)state;
    json_t *doc = load("{\"task\":{\"b\":1,\"a\":[2]},\"results\":\"ignored\",\"hosts\":null}");
    char *text = NULL;
    size_t len = 0;
    sca_error err = {0};
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(report_json_open(f, doc, "results", &err), 0);
    assert_int_equal(report_json_text(f, "[]", &err), 0);
    assert_int_equal(report_json_close(f, doc, "results", &err), 0);
    fclose(f);
    assert_string_equal(text, "{\"hosts\":null,\"results\":[],\"task\":{\"a\":[2],\"b\":1}}");
    free(text);
    json_decref(doc);
    /* The streamed member alone, and first or last. */
    doc = json_object();
    f = open_memstream(&text, &len);
    assert_int_equal(report_json_open(f, doc, "hosts", &err), 0);
    assert_int_equal(report_json_text(f, "[1]", &err), 0);
    assert_int_equal(report_json_close(f, doc, "hosts", &err), 0);
    fclose(f);
    assert_string_equal(text, "{\"hosts\":[1]}");
    free(text);
    json_decref(doc);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_split),
        cmocka_unit_test(test_stream_rows_as_the_whole_result),
        cmocka_unit_test(test_json_open_close),
        cmocka_unit_test(test_text_small_stream),
        cmocka_unit_test(test_text_head_and_tail),
        cmocka_unit_test(test_text_partial_data),
        cmocka_unit_test(test_text_log_cut_and_full),
        cmocka_unit_test(test_text_empty_and_null_unit),
        cmocka_unit_test(test_text_rejects_bad_shape),
        cmocka_unit_test(test_sparkline),
        cmocka_unit_test(test_text_ascii),
        cmocka_unit_test(test_summary_without_agent_summary),
        cmocka_unit_test(test_summary_edges),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_numbers_and_times),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
