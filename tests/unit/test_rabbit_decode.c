/* test_rabbit_decode.c - the rabbit tracer's lines (oslo_trace), against
 * bodies captured from real oslo.messaging traffic (tests/fixtures) and
 * bodies that are not oslo at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "oslo_trace.h"
#include "scalpels/util.h"

#define ELLIPSIS "\xe2\x80\xa6"

static char *fixture(const char *name, size_t *len)
{
    const char *dir = getenv("SCA_FIXTURES");
    char *path = sca_asprintf("%s/%s", dir != NULL ? dir : "tests/fixtures", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open fixture %s", path);
    sca_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sca_buf_append(&b, chunk, n);
    fclose(f);
    free(path);
    *len = b.len;
    return b.data;
}

/* Every line: no byte below 0x20 (no newline above all), no DEL. */
static void assert_one_line(const sca_buf *line)
{
    for (size_t i = 0; i < line->len; i++)
        if ((unsigned char)line->data[i] < 0x20 || line->data[i] == 0x7f)
            fail_msg("control byte 0x%02x at %zu in: %s", (unsigned char)line->data[i], i,
                     line->data);
}

/* The line for a published body; the caller frees it. */
static char *format_body(const char *exchange, const char *rk, const void *body, size_t len)
{
    sca_buf line = {0};
    oslo_trace_msg m = {"publish", NULL, exchange, rk, body, len};
    oslo_trace_format(&line, &m);
    assert_one_line(&line);
    return line.data;
}

static void check_body(const char *exchange, const char *rk, const char *body, const char *want)
{
    char *got = format_body(exchange, rk, body, strlen(body));
    assert_string_equal(got, want);
    free(got);
}

static void check_fixture(const char *name, const char *exchange, const char *rk, const char *want)
{
    size_t len;
    char *body = fixture(name, &len);
    char *got = format_body(exchange, rk, body, len);
    assert_string_equal(got, want);
    free(got);
    free(body);
}

static void test_call(void **state)
{
    (void)state;
    check_fixture("request_call_echo_ctx.json", "openstack", "scalpels.node1",
                  "publish exchange=openstack rk=scalpels.node1 kind=call method=echo "
                  "msg_id=4081656705594321aabd610c674612d7 "
                  "reply_q=reply_18ebab5f18974efa84680201dc9f2020 timeout=null "
                  "unique_id=6f397de6d257405b8878971abd29a905 request_id=req-1 "
                  "args={\"x\":{\"a\":[1,2.5,\"\xc3\xbc\"],\"b\":null}}");
    check_fixture("request_call_version_2_0.json", "openstack", "scalpels",
                  "publish exchange=openstack rk=scalpels kind=call method=echo version=2.0 "
                  "msg_id=eadd119fa1504f04a69a91311992b680 "
                  "reply_q=reply_4e6c464a5a6848e1bd1936aeeb6cb2f0 timeout=null "
                  "unique_id=0ff5ca178fbf4f1c8d4d4208ae7e2143 args={\"x\":1}");
    check_fixture("request_call_namespace_foo.json", "openstack", "scalpels",
                  "publish exchange=openstack rk=scalpels kind=call method=echo namespace=foo "
                  "msg_id=86e1a0d0aa9d43f7b362fdf0f52f742d "
                  "reply_q=reply_10cffe6ce1b24b38b481c09e2c4daa46 timeout=null "
                  "unique_id=3927ff3089cb4c77b00d6b29e03083e6 args={\"x\":1}");
}

static void test_call_monitor_timeout(void **state)
{
    (void)state;
    size_t len;
    char *body = fixture("request_call_monitor_timeout_2.json", &len);
    char *got = format_body("openstack", "scalpels.node1", body, len);
    assert_non_null(strstr(got, " kind=call "));
    assert_non_null(strstr(got, " timeout=2.0 "));
    free(got);
    free(body);
}

static void test_reply(void **state)
{
    (void)state;
    check_fixture("reply_result_echo.json", "", "reply_18ebab5f18974efa84680201dc9f2020",
                  "publish exchange= rk=reply_18ebab5f18974efa84680201dc9f2020 kind=reply "
                  "msg_id=4081656705594321aabd610c674612d7 failure=null ending=true "
                  "result={\"a\":[1,2.5,\"\xc3\xbc\"],\"b\":null}");
    check_fixture("reply_call_monitor_heartbeat.json", "", "reply_0fb6d4bc967e47c9a8bd08919f4a22ab",
                  "publish exchange= rk=reply_0fb6d4bc967e47c9a8bd08919f4a22ab kind=reply "
                  "msg_id=afccd12e28544e71908627f695bc075b failure=null ending=false "
                  "result=null");
}

static void test_failure(void **state)
{
    (void)state;
    check_fixture("reply_failure_valueerror.json", "", "reply_1f3bd90e059d46d4bc533fd60fb8b868",
                  "publish exchange= rk=reply_1f3bd90e059d46d4bc533fd60fb8b868 kind=reply "
                  "msg_id=3397f4f93b33465e96487bc16eefa01f "
                  "failure={\"class\":\"ValueError\",\"module\":\"builtins\","
                  "\"message\":\"boom: requested failure\"} ending=true result=null");
    check_fixture("reply_failure_nosuchmethod.json", "", "reply_97ef36d9fe07430b9f48f68ef7a3d1a3",
                  "publish exchange= rk=reply_97ef36d9fe07430b9f48f68ef7a3d1a3 kind=reply "
                  "msg_id=37370d4009da40b9b74e0c0694d86b03 "
                  "failure={\"class\":\"NoSuchMethod\",\"module\":\"oslo_messaging.rpc."
                  "dispatcher\",\"message\":\"Endpoint does not support RPC method nosuch\"} "
                  "ending=true result=null");
    /* A failure that is not the JSON of an object shows as the string it is. */
    check_body("", "r", "{\"failure\": \"oops\", \"ending\": true}",
               "publish exchange= rk=r envelope=1.0 kind=reply failure=\"oops\" ending=true");
}

static void test_cast(void **state)
{
    (void)state;
    check_fixture("request_cast.json", "openstack", "scalpels",
                  "publish exchange=openstack rk=scalpels kind=cast method=count "
                  "unique_id=d131506596f9487ca1b79fd0738d50f1 args={\"n\":1}");
    check_fixture("request_fanout_cast.json", "scalpels_fanout", "",
                  "publish exchange=scalpels_fanout rk= kind=cast method=count "
                  "unique_id=78c380c37d1342d198852d6dd106ea29 args={\"n\":2}");
}

static void test_deliver(void **state)
{
    (void)state;
    const char *body = "{\"method\": \"m\", \"args\": {}}";
    sca_buf line = {0};
    oslo_trace_msg m = {"deliver", "scalpels", "openstack", "scalpels", body, strlen(body)};
    oslo_trace_format(&line, &m);
    assert_string_equal(line.data, "deliver queue=scalpels exchange=openstack rk=scalpels "
                                   "envelope=1.0 kind=cast method=m args={}");
    sca_buf_free(&line);
}

static void test_envelopes(void **state)
{
    (void)state;
    /* A bare dict is oslo's legacy format when it has oslo's keys. */
    check_body("e", "k", "{\"method\": \"echo\", \"args\": {\"x\": 1}, \"_msg_id\": \"m1\"}",
               "publish exchange=e rk=k envelope=1.0 kind=call method=echo msg_id=m1 "
               "args={\"x\":1}");
    check_body("e", "k",
               "{\"oslo.version\": \"3.0\", \"oslo.message\": \"{\\\"method\\\": \\\"a\\\"}\"}",
               "publish exchange=e rk=k envelope=3.0 kind=cast method=a");
    check_body("e", "k", "{\"oslo.message\": \"{\\\"method\\\": \\\"a\\\"}\"}",
               "publish exchange=e rk=k envelope=null kind=cast method=a");
    check_body("e", "k", "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"x\\\": 1}\"}",
               "publish exchange=e rk=k kind=unknown json={\"x\":1}");
    check_body(
        "nova", "notifications.info",
        "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"message_id\\\": \\\"m1\\\", "
        "\\\"publisher_id\\\": \\\"compute.host1\\\", \\\"event_type\\\": "
        "\\\"compute.instance.create.end\\\", \\\"priority\\\": \\\"INFO\\\", "
        "\\\"payload\\\": {\\\"a\\\": 1}, \\\"timestamp\\\": \\\"2024-01-01 00:00:00\\\"}\"}",
        "publish exchange=nova rk=notifications.info kind=notification "
        "event_type=compute.instance.create.end publisher_id=compute.host1 priority=INFO "
        "message_id=m1 timestamp=2024-01-01 00:00:00 payload={\"a\":1}");
}

static void test_not_oslo(void **state)
{
    (void)state;
    check_body("x", "k.1", "", "publish exchange=x rk=k.1 bytes=0 body=");
    check_body("x", "k", "[1, 2]", "publish exchange=x rk=k bytes=6 body=[1, 2]");
    check_body("x", "k", "{\"a\": 1}", "publish exchange=x rk=k bytes=8 body={\"a\": 1}");
    check_body("x", "k", "{\"oslo.version\": \"2.0\", \"oslo.message\": 5}",
               "publish exchange=x rk=k bytes=42 body={\"oslo.version\": \"2.0\", "
               "\"oslo.message\": 5}");
    check_body("x", "k", "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{bad\"}",
               "publish exchange=x rk=k bytes=47 body={\"oslo.version\": \"2.0\", "
               "\"oslo.message\": \"{bad\"}");
    /* Control characters, backslashes and broken UTF-8 escaped; good UTF-8 kept. */
    const char raw[] = "a\nb\r\t\x01\\ \xff\xc3\xbc\x7f\xed\xa0\x80\xe2\x82";
    char *got = format_body("x", "k", raw, sizeof(raw) - 1);
    assert_string_equal(got, "publish exchange=x rk=k bytes=17 body=a\\nb\\r\\t\\x01\\\\ "
                             "\\xff\xc3\xbc\\x7f\\xed\\xa0\\x80\\xe2\\x82");
    free(got);
    /* A NUL byte does not end the body. */
    got = format_body("x", "k", "a\0b", 3);
    assert_string_equal(got, "publish exchange=x rk=k bytes=3 body=a\\x00b");
    free(got);
}

static void test_body_cut(void **state)
{
    (void)state;
    char body[1000];
    memset(body, 'a', sizeof(body));
    char *got = format_body("x", "k", body, sizeof(body));
    char *shown = strstr(got, "body=") + 5;
    assert_int_equal(strlen(shown), OSLO_TRACE_BODY_MAX);
    assert_non_null(strstr(got, " bytes=1000 "));
    free(got);
    /* The cut falls before a character it would split. */
    memcpy(body + OSLO_TRACE_BODY_MAX - 1, "\xc3\xbc", 2);
    got = format_body("x", "k", body, sizeof(body));
    shown = strstr(got, "body=") + 5;
    assert_int_equal(strlen(shown), OSLO_TRACE_BODY_MAX - 1);
    free(got);
}

/* args holding 5000 copies of the 2-byte character \u00fc: cut at 4096 bytes
 * or before, never inside a character, and marked with the whole size. */
static void test_json_cut(void **state)
{
    (void)state;
    sca_buf s = {0};
    for (int i = 0; i < 5000; i++)
        sca_buf_append(&s, "\xc3\xbc", 2);
    json_t *inner = json_pack("{s:s, s:{s:s}}", "method", "big", "args", "s", s.data);
    char *text = json_dumps(inner, 0);
    json_t *envelope = json_pack("{s:s, s:s}", "oslo.version", "2.0", "oslo.message", text);
    char *body = json_dumps(envelope, 0);
    assert_non_null(body);

    char *got = format_body("x", "k", body, strlen(body));
    char *args = strstr(got, " args=") + 6;
    char *more = strstr(args, ELLIPSIS "(");
    assert_non_null(more);
    /* {"s":" is 6 bytes, 5000 characters 10000, then "} : 10008 in all. */
    assert_string_equal(more, ELLIPSIS "(10008 bytes)");
    size_t shown = (size_t)(more - args);
    assert_true(shown <= OSLO_TRACE_JSON_MAX && shown >= OSLO_TRACE_JSON_MAX - 1);
    assert_int_equal((shown - 6) % 2, 0); /* whole characters only */
    free(got);
    free(body);
    free(text);
    json_decref(envelope);
    json_decref(inner);
    sca_buf_free(&s);
}

static void test_names_escaped_and_cut(void **state)
{
    (void)state;
    check_body("ex\nchange", "a\\b", "{\"method\": \"two\\nlines\", \"args\": {\"k\": \"v\\nw\"}}",
               "publish exchange=ex\\nchange rk=a\\\\b envelope=1.0 kind=cast "
               "method=two\\nlines args={\"k\":\"v\\nw\"}");
    char method[400];
    memset(method, 'm', sizeof(method) - 1);
    method[sizeof(method) - 1] = '\0';
    char *body = sca_asprintf("{\"method\": \"%s\"}", method);
    char *got = format_body("x", "k", body, strlen(body));
    char *want = sca_asprintf("publish exchange=x rk=k envelope=1.0 kind=cast method=%.*s" ELLIPSIS
                              "(399 bytes)",
                              OSLO_TRACE_STR_MAX, method);
    assert_string_equal(got, want);
    free(want);
    free(got);
    free(body);
    /* A method that is not a string shows as JSON. */
    check_body("x", "k", "{\"method\": 5}",
               "publish exchange=x rk=k envelope=1.0 kind=cast method=5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call),
        cmocka_unit_test(test_call_monitor_timeout),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_failure),
        cmocka_unit_test(test_cast),
        cmocka_unit_test(test_deliver),
        cmocka_unit_test(test_envelopes),
        cmocka_unit_test(test_not_oslo),
        cmocka_unit_test(test_body_cut),
        cmocka_unit_test(test_json_cut),
        cmocka_unit_test(test_names_escaped_and_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
