/* test_report_openmetrics.c - OpenMetrics output (report.h, report_om_*):
 * family names, labels and their escaping, the text as a whole, samples
 * sharing a millisecond, and what the writer refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scalpels/report.h"

static json_t *result(const char *uuid, const char *tracer, const char *name, const char *unit)
{
    json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s}", "uuid", uuid, "task", "t-1", "tracer", tracer,
                          "name", name, "rtype", "stream");
    json_object_set_new(r, "unit", unit != NULL ? json_string(unit) : json_null());
    return r;
}

static void family_is(const char *tracer, const char *name, const char *unit, const char *want)
{
    json_t *r = result("r", tracer, name, unit);
    sca_buf out = {0};
    report_om_family(r, &out);
    assert_string_equal(out.data, want);
    sca_buf_free(&out);
    json_decref(r);
}

static void test_family_names(void **state)
{
    (void)state;
    family_is("cpu", "user", "%", "scalpels_cpu_user_percent");
    /* The name starts with the tracer: said once. */
    family_is("rpc", "rpc latency", "ms", "scalpels_rpc_latency_ms");
    family_is("seq", "seq", NULL, "scalpels_seq");
    /* count would read as a summary's sample: it stays a label. */
    family_is("seq", "seq", "count", "scalpels_seq");
    family_is("x", "requests", "total", "scalpels_x_requests");
    /* Runs of other characters are one '_', none at the ends. */
    family_is("my-tracer.x", "a  b/c.", "kB/s", "scalpels_my_tracer_x_a_b_c_kB_s");
    family_is("t", "latency_ms", "ms", "scalpels_t_latency_ms");
    family_is("t", "ms", "ms", "scalpels_t_ms");
    family_is("--", "", "", "scalpels_value");
    family_is("é", "ünit", "µs", "scalpels_nit_s");
}

/* Not inlined: gcc then mistakes the memstream buffer for a dangling local. */
__attribute__((noinline)) static FILE *open_text(char **text, size_t *len)
{
    FILE *f = open_memstream(text, len);
    assert_non_null(f);
    return f;
}

static void begin(report_om *om, const json_t *r)
{
    sca_error err = {0};
    int rc = report_om_begin(om, r, &err);
    if (rc != 0)
        fail_msg("report_om_begin: %s", err.msg);
}

static void rows(report_om *om, const char *json)
{
    sca_error err = {0};
    json_t *v = json_loads(json, 0, NULL);
    assert_non_null(v);
    assert_int_equal(report_om_rows(om, v, &err), 0);
    json_decref(v);
}

static void test_output(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_text(&text, &len);
    report_om *om = report_om_new(f);
    json_t *a = result("r-a", "cpu", "user", "%");
    json_t *b = result("r-b", "cpu", "user", "%");
    json_t *c = result("r-c", "t", "q\"uo\\te\nd", NULL);
    json_object_set_new(b, "host", json_string("node\"2"));
    begin(om, a);
    /* The rows of one result may come in several pages. */
    rows(om, "[[1700000000.5, 1], [1700000001, 2.5]]");
    rows(om, "[[1700000002, 1e20], [1700000003, \"text\"], [1700000004, null]]");
    begin(om, b);
    rows(om, "[[1700000000.25, -3]]");
    begin(om, c);
    rows(om, "[]");
    sca_error err = {0};
    assert_int_equal(report_om_finish(om, &err), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(
        text, "# TYPE scalpels_cpu_user_percent gauge\n"
              "# UNIT scalpels_cpu_user_percent percent\n"
              "# HELP scalpels_cpu_user_percent Scalpels series cpu user (%)\n"
              "scalpels_cpu_user_percent{task=\"t-1\",result=\"r-a\",tracer=\"cpu\",name=\"user\","
              "unit=\"%\"} 1 1700000000.5\n"
              "scalpels_cpu_user_percent{task=\"t-1\",result=\"r-a\",tracer=\"cpu\",name=\"user\","
              "unit=\"%\"} 2.5 1700000001\n"
              "scalpels_cpu_user_percent{task=\"t-1\",result=\"r-a\",tracer=\"cpu\",name=\"user\","
              "unit=\"%\"} 1e+20 1700000002\n"
              "scalpels_cpu_user_percent{task=\"t-1\",result=\"r-b\",tracer=\"cpu\",name=\"user\","
              "host=\"node\\\"2\",unit=\"%\"} -3 1700000000.25\n"
              "# TYPE scalpels_t_q_uo_te_d gauge\n"
              "# HELP scalpels_t_q_uo_te_d Scalpels series t q\\\"uo\\\\te\\nd\n"
              "# EOF\n");
    assert_int_equal(report_om_merged(om), 0);
    report_om_free(om);
    free(text);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_same_millisecond(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_text(&text, &len);
    report_om *om = report_om_new(f);
    json_t *a = result("r", "t", "n", NULL);
    begin(om, a);
    /* 1, 2, 3 share .100 (3 across a page break); 4 is the next ms; 5 and
     * 6 are equal; .0019 and .002 are two ms (truncated, as promtool). */
    rows(om, "[[10.1, 1], [10.1004, 2]]");
    rows(om, "[[10.1009, 3], [10.101, 4], [11, 5], [11, 6], [12.0019, 7], [12.002, 8]]");
    sca_error err = {0};
    assert_int_equal(report_om_finish(om, &err), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(text,
                        "# TYPE scalpels_t_n gauge\n"
                        "# HELP scalpels_t_n Scalpels series t n\n"
                        "scalpels_t_n{task=\"t-1\",result=\"r\",tracer=\"t\",name=\"n\"} 3 "
                        "10.1009\n"
                        "scalpels_t_n{task=\"t-1\",result=\"r\",tracer=\"t\",name=\"n\"} 4 "
                        "10.101\n"
                        "scalpels_t_n{task=\"t-1\",result=\"r\",tracer=\"t\",name=\"n\"} 6 11\n"
                        "scalpels_t_n{task=\"t-1\",result=\"r\",tracer=\"t\",name=\"n\"} 7 "
                        "12.0019\n"
                        "scalpels_t_n{task=\"t-1\",result=\"r\",tracer=\"t\",name=\"n\"} 8 "
                        "12.002\n"
                        "# EOF\n");
    assert_int_equal(report_om_merged(om), 3);
    report_om_free(om);
    free(text);
    json_decref(a);
}

static void test_refusals(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_text(&text, &len);
    report_om *om = report_om_new(f);
    sca_error err = {0};
    json_t *rws = json_pack("[[f,i]]", 1.0, 1);
    assert_int_equal(report_om_rows(om, rws, &err), -EINVAL);
    json_t *a = result("r-a", "a", "a", NULL), *b = result("r-b", "b", "b", NULL);
    json_t *a2 = result("r-a2", "a", "a", NULL), *log = result("r-l", "w", "w", NULL);
    json_object_set_new(log, "rtype", json_string("log"));
    assert_int_equal(report_om_begin(om, log, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "is a log"));
    begin(om, a);
    begin(om, b);
    /* Back to a family already closed. */
    assert_int_equal(report_om_begin(om, a2, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "family scalpels_a was written before"));
    json_t *none = json_object();
    assert_int_equal(report_om_begin(om, none, &err), -EPROTO);
    report_om_free(om);
    fclose(f);
    free(text);
    json_decref(rws);
    json_decref(a);
    json_decref(b);
    json_decref(a2);
    json_decref(log);
    json_decref(none);
}

static void test_write_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    assert_non_null(f);
    setvbuf(f, NULL, _IONBF, 0);
    report_om *om = report_om_new(f);
    json_t *a = result("r", "t", "n", NULL);
    sca_error err = {0};
    assert_int_equal(report_om_begin(om, a, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "cannot write the OpenMetrics output"));
    report_om_free(om);
    fclose(f);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_names),     cmocka_unit_test(test_output),
        cmocka_unit_test(test_same_millisecond), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
