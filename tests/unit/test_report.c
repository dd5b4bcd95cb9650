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
                             "Port Traffic (pkts): count 2, min 0.5 pkts, avg 6.25 pkts, max 12 "
                             "pkts, p95 12 pkts  ▁ █\n");
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
    assert_non_null(strstr(out, "cpu.user (%): count 50, min 0%, avg 24.5%, max 49%, p95 47%  ▁"));
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
    assert_string_equal(b.data,
                        "n (ms): count 3, min 250 us, avg 33.9 ms, max 100 ms, p95 100 ms  ▁▁█");
    sca_buf_reset(&b);
    report_summary_line(r, TABLE_ASCII, &b);
    assert_string_equal(b.data,
                        "n (ms): count 3, min 250 us, avg 33.9 ms, max 100 ms, p95 100 ms  __#");
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
    assert_non_null(strstr(out, "cpu.user (%): count 50, min 0%, avg 24.5%, max 49%, p95 47%  _"));
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

/* Values as people read them, with their units. */
static void test_format_value(void **state)
{
    (void)state;
    static const struct {
        double x;
        const char *unit, *want;
    } cases[] = {
        {12.5, "%", "12.5%"},
        {99.94, "%", "99.9%"},
        {0, "%", "0%"},
        {2514520, "kB", "2.4 GB"},
        {1023, "kB", "1023 kB"},
        {1024, "kB", "1 MB"},
        {1536, "kB/s", "1.5 MB/s"},
        {0.5, "kB/s", "0.5 kB/s"},
        {3e9, "B", "2.79 GB"},
        {2048, "byte/s", "2 kB/s"},
        {1.5, "MB", "1.5 MB"},
        {-2048, "kB", "-2 MB"},
        {0.25, "s", "250 ms"},
        {0.0005, "s", "500 us"},
        {90, "s", "90 s"},
        {0, "s", "0 s"},
        {1500, "ms", "1.5 s"},
        {0.25, "ms", "250 us"},
        {3, "pkt/s", "3 pkt/s"},
        {50.5, "count", "50.5"},
        {3.14159, "IO/s", "3.14 IO/s"},
        {12345678.9, NULL, "12345679"},
        {0.012345, "", "0.0123"},
        {1e20, NULL, "1e+20"},
        {0.0001, NULL, "0.0001"},
        {5, "KB", "5 KB"}, /* not a size prefix sca knows: kept as it is */
    };
    char out[REPORT_VALUE_LEN];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        report_format_value(cases[i].x, cases[i].unit, out);
        assert_string_equal(out, cases[i].want);
    }
    /* A long unit is cut, never overflows. */
    report_format_value(1, "unit-of-more-than-sixty-four-bytes-unit-of-more-than-sixty-four-bytes",
                        out);
    assert_true(strlen(out) < REPORT_VALUE_LEN);
    assert_true(strncmp(out, "1 unit-of-more", 14) == 0);
    report_format_clock(1700000000.7, out);
    assert_string_equal(out, "2023-11-14 22:13:20 +0000");
}

/* Renders replies with report_summary; the caller frees the text. */
__attribute__((noinline)) static char *summary(const json_t *replies, const report_options *o,
                                               int want_rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    sca_error err = {0};
    assert_int_equal(report_summary(f, replies, o, &err), want_rc);
    assert_int_equal(fclose(f), 0);
    return text;
}

/* A stream series as get_task_series gives it: n samples a second apart
 * from 1700000000, values lo..hi, spark of slices values. */
static json_t *series(const char *uuid, const char *tracer, const char *name, const char *unit,
                      long n, double lo, double avg, double hi, const char *spark)
{
    json_t *s = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:b}", "uuid", uuid, "task", "t-1",
                          "tracer", tracer, "name", name, "unit", unit ? unit : "", "rtype",
                          "stream", "count", (json_int_t)n, "spark", load(spark), "points",
                          json_pack("[[f,f],[f,f]]", 1700000000.0, lo, 1700000000.0 + n - 1, hi),
                          "reduced", n > 2);
    if (unit == NULL)
        json_object_set_new(s, "unit", json_null());
    json_object_set_new(s, "summary",
                        json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)n,
                                  "first", 1700000000.0, "last", 1700000000.0 + n - 1, "min", lo,
                                  "avg", avg, "max", hi, "p95", hi, "last_value", hi));
    return s;
}

static json_t *log_series(const char *uuid, const char *tracer, const char *name, long n)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:n,s:s,s:I,s:n,s:[[f,s]],s:b,s:{s:I,s:f,s:f}}", "uuid",
                     uuid, "task", "t-1", "tracer", tracer, "name", name, "unit", "rtype", "log",
                     "count", (json_int_t)n, "spark", "points", 1700000000.0, "a line", "reduced",
                     n > 1, "summary", "count", (json_int_t)n, "first", 1700000000.0, "last",
                     1700000000.0 + (double)n - 1);
}

static json_t *reply(const char *host, json_t *task, json_t *series_list)
{
    return json_pack("{s:s,s:o,s:o}", "host", host, "task", task ? task : json_null(), "series",
                     series_list);
}

static json_t *task_of(const char *uuid)
{
    return json_pack("{s:s,s:s,s:f,s:f}", "uuid", uuid, "status", "stopped", "created",
                     1700000000.0, "stopped", 1700000003.5);
}

/* One node: grouped by tracer (logs last), aligned, a marker per series,
 * units on the figures, "constant" for a flat series, a log's span. */
static void test_summary_one_node(void **state)
{
    (void)state;
    json_t *list = json_pack(
        "[o,o,o,o,o]", log_series("r-log", "words", "words", 30),
        series("r-user", "cpu", "user", "%", 4, 0.5, 3.14, 12.5, "[0.5,1,12.5,3]"),
        series("r-avail", "mem", "available_kb", "kB", 4, 2400000, 2450000, 2514520,
               "[2400000,2514520]"),
        series("r-idle", "cpu", "idle", "%", 4, 0, 0, 0, "[0,0,0,0]"),
        json_pack("{s:s,s:s,s:s,s:n,s:s,s:I,s:{s:I},s:[],s:[],s:b}", "uuid", "r-none", "tracer",
                  "cpu", "name", "steal", "unit", "rtype", "stream", "count", (json_int_t)0,
                  "summary", "count", (json_int_t)0, "spark", "points", "reduced", 0));
    json_t *replies = json_pack("[o]", reply("node1", task_of("t-1"), list));
    char *out = summary(replies, &defaults, 0);
    assert_string_equal(
        out,
        "task stopped: 2023-11-14 22:13:20 +0000 to 2023-11-14 22:13:23 +0000 (3.5 s)\n"
        "result            name          unit  count      min      avg     max     p95  trend\n"
        "tracer cpu\n"
        "<result r-user>   user          %         4     0.5%    3.14%   12.5%   12.5%  ▁▁█▂\n"
        "<result r-idle>   idle          %         4       0%       0%      0%      0%  constant\n"
        "<result r-none>   steal                   0\n"
        "tracer mem\n"
        "<result r-avail>  available_kb  kB        4  2.29 GB  2.34 GB  2.4 GB  2.4 GB  ▁█\n"
        "tracer words\n"
        "<result r-log>    words                  30  span 29 s, 22:13:20 to 22:13:49\n");
    free(out);
    json_decref(replies);
}

/* Several nodes: a host column, the same series of each node together,
 * a line per node's task. */
static void test_summary_hosts(void **state)
{
    (void)state;
    json_t *a = json_pack("[o,o]", series("a-user", "cpu", "user", "%", 4, 1, 2, 3, "[1,3]"),
                          series("a-sys", "cpu", "system", "%", 4, 1, 1, 1, "[1,1]"));
    json_t *b = json_pack("[o,o]", series("b-sys", "cpu", "system", "%", 4, 2, 4, 6, "[2,6]"),
                          series("b-user", "cpu", "user", "%", 4, 5, 6, 7, "[7,5]"));
    json_t *replies =
        json_pack("[o,o]", reply("node-a", task_of("t-a"), a), reply("node-b", task_of("t-b"), b));
    char *out = summary(replies, &defaults, 0);
    assert_string_equal(
        out, "host node-a: task <t-a> stopped: 2023-11-14 22:13:20 +0000 to 2023-11-14 22:13:23 "
             "+0000 (3.5 s)\n"
             "host node-b: task <t-b> stopped: 2023-11-14 22:13:20 +0000 to 2023-11-14 22:13:23 "
             "+0000 (3.5 s)\n"
             "result           host    name    unit  count  min  avg  max  p95  trend\n"
             "tracer cpu\n"
             "<result a-user>  node-a  user    %         4   1%   2%   3%   3%  ▁█\n"
             "<result b-user>  node-b  user    %         4   5%   6%   7%   7%  █▁\n"
             "<result a-sys>   node-a  system  %         4   1%   1%   1%   1%  constant\n"
             "<result b-sys>   node-b  system  %         4   2%   4%   6%   6%  ▁█\n");
    free(out);
    json_decref(replies);

    /* sca --all-hosts where one node answered: still said which. */
    replies = json_pack(
        "[o]", reply("node-b", task_of("t-b"),
                     json_pack("[o]", series("b-user", "cpu", "user", "%", 4, 5, 6, 7, "[7,5]"))));
    report_options hosts = defaults;
    hosts.hosts = true;
    out = summary(replies, &hosts, 0);
    assert_string_equal(
        out, "host node-b: task <t-b> stopped: 2023-11-14 22:13:20 +0000 to 2023-11-14 22:13:23 "
             "+0000 (3.5 s)\n"
             "result           host    name  unit  count  min  avg  max  p95  trend\n"
             "tracer cpu\n"
             "<result b-user>  node-b  user  %         4   5%   6%   7%   7%  █▁\n");
    free(out);
    json_decref(replies);
}

/* A terminal too narrow for 40 slices gets a sparkline averaged down to
 * what fits; ASCII glyphs outside UTF-8; nothing for no series. */
static void test_summary_width_and_charset(void **state)
{
    (void)state;
    json_t *spark = json_array();
    for (int i = 0; i < 40; i++)
        json_array_append_new(spark, json_integer(i < 20 ? 0 : 10));
    char *text = json_dumps(spark, 0);
    json_t *list = json_pack("[o]", series("r-1", "cpu", "user", "%", 40, 0, 5, 10, text));
    free(text);
    json_decref(spark);
    json_t *replies = json_pack("[o]", reply("n", NULL, list));
    report_options narrow = defaults;
    narrow.width = 70;
    char *out = summary(replies, &narrow, 0);
    /* 70 columns less 53 for the rest: 17 slices of 2 or 3 averaged. */
    assert_non_null(strstr(out, "  ▁▁▁▁▁▁▁▁▃████████\n"));
    size_t widest = 0;
    for (char *line = out; *line != '\0'; line = strchr(line, '\n') + 1)
        widest = line_width(line) > widest ? line_width(line) : widest;
    assert_int_equal(widest, 70);
    free(out);
    narrow.width = 20; /* narrower than the figures: the least sparkline */
    out = summary(replies, &narrow, 0);
    assert_non_null(strstr(out, "  ▁▁▁▁████\n"));
    free(out);
    out = summary(replies, &ascii, 0);
    assert_true(all_ascii(out));
    assert_non_null(strstr(out, "  ____________________####################\n"));
    free(out);
    json_decref(replies);

    replies = json_pack("[o]", reply("n", task_of("t-1"), json_array()));
    out = summary(replies, &defaults, 0);
    assert_string_equal(out, "task stopped: 2023-11-14 22:13:20 +0000 to 2023-11-14 22:13:23 "
                             "+0000 (3.5 s)\n(no results)\n");
    free(out);
    json_decref(replies);
}

/* Replies of the wrong shape print nothing and say what is wrong. */
static void test_summary_bad_shape(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",
        "[{\"host\":\"n\"}]",
        "[{\"series\":[{\"count\":1,\"points\":[]}]}]",
        "[{\"series\":[{\"uuid\":\"u\",\"points\":[]}]}]",
        "[{\"series\":[{\"uuid\":\"u\",\"count\":-1,\"points\":[]}]}]",
        "[{\"series\":[{\"uuid\":\"u\",\"count\":1}]}]",
        "[{\"series\":[{\"uuid\":\"u\",\"count\":1,\"points\":[[\"x\",1]]}]}]",
        "[{\"series\":[{\"uuid\":\"u\",\"count\":1,\"points\":[],\"summary\":3}]}]",
        "[{\"series\":[{\"uuid\":\"u\",\"count\":1,\"points\":[],\"spark\":{}}]}]",
        "[{\"host\":7,\"series\":[]}]",
        "[{\"task\":\"t\",\"series\":[]}]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *replies = load(bad[i]);
        char *out = summary(replies, &defaults, -EPROTO);
        assert_string_equal(out, "");
        free(out);
        json_decref(replies);
    }
    FILE *full = fopen("/dev/full", "w");
    if (full == NULL)
        skip();
    setvbuf(full, NULL, _IONBF, 0);
    json_t *replies = json_pack(
        "[o]", reply("n", NULL, json_pack("[o]", series("r", "t", "n", NULL, 2, 0, 1, 2, "[0]"))));
    sca_error err = {0};
    assert_int_equal(report_summary(full, replies, &defaults, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "cannot write the summary"));
    fclose(full);
    json_decref(replies);
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
        cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_summary_one_node),
        cmocka_unit_test(test_summary_hosts),
        cmocka_unit_test(test_summary_width_and_charset),
        cmocka_unit_test(test_summary_bad_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
