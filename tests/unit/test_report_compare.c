/* test_report_compare.c - two tasks side by side (report.h, report_compare*):
 * how series are matched, the change and the threshold rule, the text
 * table, and the HTML page's overlay and escaping. */
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

/* A stream series of get_task_series with these figures and points. */
static json_t *stream(const char *uuid, const char *tracer, const char *name, json_int_t count,
                      double avg, double p95, double max, json_t *points)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:{s:I,s:f,s:f,s:f,s:f},s:o}", "uuid", uuid,
                     "tracer", tracer, "name", name, "unit", "ms", "rtype", "stream", "count",
                     count, "summary", "count", count, "min", 0.0, "avg", avg, "p95", p95, "max",
                     max, "points", points ? points : json_array());
}

static json_t *log_series(const char *uuid, const char *tracer, json_int_t count)
{
    return json_pack("{s:s,s:s,s:s,s:n,s:s,s:I,s:{s:I},s:[]}", "uuid", uuid, "tracer", tracer,
                     "name", tracer, "unit", "rtype", "log", "count", count, "summary", "count",
                     count, "points");
}

/* A get_task_series reply of task uuid, created at created, holding
 * series (taken). */
static json_t *reply(const char *uuid, double created, json_t *series)
{
    return json_pack("{s:{s:s,s:s,s:f,s:f},s:s,s:o}", "task", "uuid", uuid, "status", "stopped",
                     "created", created, "stopped", created + 60, "host", "node1", "series",
                     series);
}

static json_t *compare(const json_t *a, const json_t *b, double threshold)
{
    json_t *cmp = NULL;
    sca_error err = {0};
    int rc = report_compare(a, b, threshold, &cmp, &err);
    if (rc != 0)
        fail_msg("report_compare: %s", err.msg);
    return cmp;
}

/* cmocka 1.1 has no assert_double_equal. */
#define assert_near(x, want, eps)                                                                  \
    do {                                                                                           \
        double got_ = (x);                                                                         \
        if (!(fabs(got_ - (want)) <= (eps)))                                                       \
            fail_msg("%s is %.17g, not %.17g", #x, got_, (double)(want));                          \
    } while (0)

static const json_t *entry(const json_t *cmp, size_t i)
{
    return json_array_get(json_object_get(cmp, "series"), i);
}

static double change(const json_t *e, const char *stat)
{
    json_t *v = json_object_get(json_object_get(e, "change"), stat);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static bool changed(const json_t *e, const char *stat)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(e, "changed"), i, v)
    {
        if (strcmp(json_string_value(v), stat) == 0)
            return true;
    }
    return false;
}

static void test_matching(void **state)
{
    (void)state;
    /* A: seq, words, dup, dup, gone.  B: new, dup, words, seq, dup. */
    json_t *a =
        reply("task-a", 1000,
              json_pack("[o,o,o,o,o]", stream("a1", "seq", "seq", 100, 50, 95, 100, NULL),
                        log_series("a2", "words", 10), stream("a3", "dup", "x", 1, 1, 1, 1, NULL),
                        stream("a4", "dup", "x", 2, 2, 2, 2, NULL),
                        stream("a5", "gone", "gone", 3, 3, 3, 3, NULL)));
    json_t *b = reply("task-b", 2000,
                      json_pack("[o,o,o,o,o]", stream("b1", "new", "new", 4, 4, 4, 4, NULL),
                                stream("b2", "dup", "x", 10, 10, 10, 10, NULL),
                                log_series("b3", "words", 30),
                                stream("b4", "seq", "seq", 200, 50, 95, 100, NULL),
                                stream("b5", "dup", "x", 20, 20, 20, 20, NULL)));
    json_t *cmp = compare(a, b, 10);
    assert_int_equal(json_array_size(json_object_get(cmp, "series")), 6);
    /* A's order, then what only B has. */
    static const char *const want[][3] = {{"a1", "b4", "both"}, {"a2", "b3", "both"},
                                          {"a3", "b2", "both"}, {"a4", "b5", "both"},
                                          {"a5", NULL, "a"},    {NULL, "b1", "b"}};
    for (size_t i = 0; i < 6; i++) {
        const json_t *e = entry(cmp, i);
        const char *ua = json_string_value(json_object_get(json_object_get(e, "a"), "uuid"));
        const char *ub = json_string_value(json_object_get(json_object_get(e, "b"), "uuid"));
        if (want[i][0] == NULL)
            assert_true(json_is_null(json_object_get(e, "a")));
        else
            assert_string_equal(ua, want[i][0]);
        if (want[i][1] == NULL)
            assert_true(json_is_null(json_object_get(e, "b")));
        else
            assert_string_equal(ub, want[i][1]);
        assert_string_equal(json_string_value(json_object_get(e, "in")), want[i][2]);
    }
    /* A log compares its count alone. */
    const json_t *words = entry(cmp, 1);
    assert_int_equal(json_object_size(json_object_get(words, "change")), 1);
    assert_near(change(words, "count"), 200.0, 1e-9);
    assert_int_equal(json_array_size(json_object_get(words, "changed")), 0);
    /* Count alone changed: not flagged. */
    const json_t *seq = entry(cmp, 0);
    assert_near(change(seq, "count"), 100.0, 1e-9);
    assert_near(change(seq, "avg"), 0.0, 0);
    assert_int_equal(json_array_size(json_object_get(seq, "changed")), 0);
    /* The duplicates paired in order: 1 -> 10 and 2 -> 20, +900%. */
    assert_near(change(entry(cmp, 2), "avg"), 900.0, 1e-9);
    assert_near(change(entry(cmp, 3), "avg"), 900.0, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(cmp, "changed")), 2);
    assert_int_equal(json_integer_value(json_object_get(cmp, "only_a")), 1);
    assert_int_equal(json_integer_value(json_object_get(cmp, "only_b")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cmp, "a"), "task")),
                        "task-a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(cmp, "b"), "host")),
                        "node1");
    json_decref(cmp);
    json_decref(a);
    json_decref(b);
}

/* A's one series against B's with avg, p95 and max given. */
static json_t *one_pair(double avg_a, double p95_a, double max_a, double avg_b, double p95_b,
                        double max_b, double threshold)
{
    json_t *a =
        reply("a", 0, json_pack("[o]", stream("a1", "t", "n", 5, avg_a, p95_a, max_a, NULL)));
    json_t *b =
        reply("b", 0, json_pack("[o]", stream("b1", "t", "n", 5, avg_b, p95_b, max_b, NULL)));
    json_t *cmp = compare(a, b, threshold);
    json_decref(a);
    json_decref(b);
    return cmp;
}

static void test_threshold_rule(void **state)
{
    (void)state;
    /* Exactly 10% is not more than 10%; a little more is. */
    json_t *cmp = one_pair(100, 100, 100, 110, 90, 100, 10);
    assert_int_equal(json_integer_value(json_object_get(cmp, "changed")), 0);
    assert_near(change(entry(cmp, 0), "avg"), 10.0, 1e-9);
    assert_near(change(entry(cmp, 0), "p95"), -10.0, 1e-9);
    json_decref(cmp);
    cmp = one_pair(100, 100, 100, 110.01, 100, 100, 10);
    assert_true(changed(entry(cmp, 0), "avg"));
    assert_false(changed(entry(cmp, 0), "p95"));
    json_decref(cmp);
    /* Lower counts as much as higher; p95 alone is enough. */
    cmp = one_pair(100, 100, 100, 100, 88, 100, 10);
    assert_true(changed(entry(cmp, 0), "p95"));
    assert_int_equal(json_integer_value(json_object_get(cmp, "changed")), 1);
    json_decref(cmp);
    /* max is shown, never flagged. */
    cmp = one_pair(100, 100, 100, 100, 100, 500, 10);
    assert_near(change(entry(cmp, 0), "max"), 400.0, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(cmp, "changed")), 0);
    json_decref(cmp);
    /* From 0: no percentage (null), and over any threshold; 0 to 0 is 0%. */
    cmp = one_pair(0, 0, 0, 3, 0, 3, 1000);
    const json_t *e = entry(cmp, 0);
    assert_true(json_is_null(json_object_get(json_object_get(e, "change"), "avg")));
    assert_true(changed(e, "avg"));
    assert_false(changed(e, "p95"));
    assert_near(change(e, "p95"), 0.0, 0);
    json_decref(cmp);
    /* A negative baseline: the change is in percent of its size. */
    cmp = one_pair(-10, -10, 0, -5, -10, 0, 10);
    assert_near(change(entry(cmp, 0), "avg"), 50.0, 1e-9);
    json_decref(cmp);
    /* Threshold 0: any change at all. */
    cmp = one_pair(100, 100, 100, 100.001, 100, 100, 0);
    assert_true(changed(entry(cmp, 0), "avg"));
    json_decref(cmp);
}

static void test_hosts_and_errors(void **state)
{
    (void)state;
    json_t *sa = stream("a1", "cpu", "cpu", 1, 1, 1, 1, NULL);
    json_t *sb = stream("b1", "cpu", "cpu", 1, 1, 1, 1, NULL);
    json_object_set_new(sa, "host", json_string("n1"));
    json_object_set_new(sb, "host", json_string("n2"));
    json_t *a = reply("a", 0, json_pack("[o]", sa));
    json_t *b = reply("b", 0, json_pack("[o]", sb));
    json_t *cmp = compare(a, b, 10);
    /* The same tracer on two nodes is two series. */
    assert_int_equal(json_array_size(json_object_get(cmp, "series")), 2);
    assert_string_equal(json_string_value(json_object_get(entry(cmp, 0), "host")), "n1");
    json_decref(cmp);

    sca_error err = {0};
    json_t *out = NULL;
    assert_int_equal(report_compare(a, b, -1, &out, &err), -EINVAL);
    assert_int_equal(report_compare(a, b, NAN, &out, &err), -EINVAL);
    json_t *bad = json_pack("{s:{s:s},s:[{s:s}]}", "task", "uuid", "x", "series", "tracer", "t");
    assert_int_equal(report_compare(a, bad, 10, &out, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "task B"));
    assert_int_equal(report_compare(json_null(), a, 10, &out, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "task A"));
    assert_null(out);
    json_decref(bad);
    json_decref(a);
    json_decref(b);
}

/* Not inlined: gcc then mistakes the memstream buffer for a dangling local. */
__attribute__((noinline)) static char *text_of(const json_t *cmp, enum table_charset cs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    sca_error err = {0};
    assert_int_equal(report_compare_text(f, cmp, cs, &err), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_text(void **state)
{
    (void)state;
    json_t *a = reply("task-a", 1700000000,
                      json_pack("[o,o]", stream("a1", "rpc", "rpc latency", 100, 2.5, 9, 12, NULL),
                                log_series("a2", "words", 10)));
    json_t *b =
        reply("task-b", 1700003600,
              json_pack("[o,o]", stream("b1", "rpc", "rpc latency", 120, 3.5, 9.5, 12, NULL),
                        stream("b2", "cpu", "user", 0, 0, 0, 0, NULL)));
    json_object_del(json_object_get(json_array_get(json_object_get(b, "series"), 1), "summary"),
                    "avg");
    json_t *cmp = compare(a, b, 10);
    char *text = text_of(cmp, TABLE_UTF8);
    assert_string_equal(text,
                        "A: task task-a on node1, created 2023-11-14 22:13:20.000000, stopped\n"
                        "B: task task-b on node1, created 2023-11-14 23:13:20.000000, stopped\n"
                        "+------------------+-------+-----+-----+--------+-----------+\n"
                        "| series           | stat  |   A |   B | change | note      |\n"
                        "+------------------+-------+-----+-----+--------+-----------+\n"
                        "| rpc latency (ms) | count | 100 | 120 | +20.0% |           |\n"
                        "|                  | avg   | 2.5 | 3.5 | +40.0% | changed   |\n"
                        "|                  | p95   |   9 | 9.5 |  +5.6% |           |\n"
                        "|                  | max   |  12 |  12 |     0% |           |\n"
                        "| words            | count |  10 |   - |        | only in A |\n"
                        "| cpu user (ms)    | count |   - |   0 |        | only in B |\n"
                        "+------------------+-------+-----+-----+--------+-----------+\n"
                        "1 of 1 series changed by more than 10% in avg or p95; 1 only in A; 1 "
                        "only in B\n");
    free(text);
    json_decref(cmp);
    json_decref(b);
    b = reply("task-b", 0, json_array());
    cmp = compare(a, b, 2.5);
    text = text_of(cmp, TABLE_ASCII);
    assert_non_null(strstr(text, "no series in common; 2 only in A\n"));
    free(text);
    json_decref(cmp);
    json_decref(a);
    json_decref(b);
}

__attribute__((noinline)) static char *html_of(const json_t *a, const json_t *b)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    sca_error err = {0};
    assert_int_equal(report_compare_html(f, a, b, 10, &err), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_html(void **state)
{
    (void)state;
    /* A started at 1000 and sampled at 1001 and 1003; B started at 5000
     * and sampled at 5002: both on one axis from their start. */
    json_t *a = reply("task-<a>", 1000,
                      json_pack("[o,o]",
                                stream("a1", "<script>alert(1)</script>", "x&y", 2, 1, 1, 1,
                                       json_pack("[[f,i],[f,i]]", 1001.0, 7, 1003.0, 9)),
                                log_series("a2", "words", 1)));
    json_t *b = reply("task-b", 5000,
                      json_pack("[o]", stream("b1", "<script>alert(1)</script>", "x&y", 1, 20, 20,
                                              20, json_pack("[[f,i]]", 5002.0, 20))));
    char *html = html_of(a, b);
    assert_null(strstr(html, "<script>alert"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; x&amp;y (ms)"));
    assert_non_null(strstr(html, "task <code>task-&lt;a&gt;</code>"));
    assert_non_null(strstr(html, "[[1,7,null],[2,null,20],[3,9,null]]"));
    assert_non_null(strstr(html, "A: 2 of 2 samples drawn; B: 1 of 1 samples drawn"));
    assert_non_null(strstr(html, "<tr class=\"changed\">"));
    /* One chart: the log has none. */
    assert_non_null(strstr(html, "data-points=\"p0\""));
    assert_null(strstr(html, "data-points=\"p1\""));
    /* The head of every page sca writes (report_html_head), with the
     * title escaped and the comparison's own style after the report's. */
    sca_buf head = {0};
    report_html_head(&head, "Scalpels comparison: task task-<a> and task task-b", NULL);
    const char *scripts = strstr(head.data, "</style>");
    assert_non_null(scripts);
    size_t styled = (size_t)(scripts - head.data);
    assert_memory_equal(html, head.data, styled);
    const char *end = strstr(html + styled, scripts);
    assert_non_null(end);
    assert_true(strncmp(end + strlen(scripts), "<body>\n", 7) == 0);
    const char *own = strstr(html + styled, "table.compare{");
    assert_true(own != NULL && own < end);
    assert_non_null(strstr(head.data, "<title>Scalpels comparison: task task-&lt;a&gt; and task "
                                      "task-b</title>"));
    sca_buf_free(&head);
    /* dygraphs inline, nothing from the network. */
    assert_non_null(strstr(html, "Dygraph"));
    assert_null(strstr(html, "src=\"http"));
    assert_null(strstr(html, "href=\"http"));
    free(html);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_threshold_rule),
        cmocka_unit_test(test_hosts_and_errors),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_html),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
