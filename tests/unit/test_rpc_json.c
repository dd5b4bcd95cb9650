/* test_rpc_json.c - the JSON fast paths read and write exactly what jansson
 * does, take the messages oslo actually sends, and leave everything odd to
 * jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc_json.h"
#include "scalpels/util.h"

/* The inner message of every captured oslo request and reply (fixtures),
 * plus the shapes our own peers send. */
static const char *const taken[] = {
    ("{\"method\": \"echo\", \"args\": {\"x\": \"scalpels\"}, \"_msg_id\": "
     "\"0123456789abcdef0123456789abcdef\", \"_reply_q\": \"reply_0123\", \"_timeout\": null, "
     "\"_unique_id\": \"fedcba9876543210fedcba9876543210\"}"),
    ("{\"result\": \"scalpels\", \"failure\": null, \"ending\": true, \"_msg_id\": \"a\", "
     "\"_unique_id\": \"b\"}"),
    "{\"result\": null, \"failure\": \"{\\\"class\\\": \\\"ValueError\\\"}\", \"ending\": true}",
    "{\"method\": \"count\", \"args\": {\"n\": 1}, \"_context_user\": \"u\", \"_timeout\": 2.5}",
    "{\"a\": [1, 2, {\"b\": [true, false, null]}], \"c\": -1.5e3, \"d\": 12345678901}",
    "  {\"ws\"\t:\n\"x\" ,\r\"y\" : {} }  ",
    "{}",
    "{\"esc\": \"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20ac \\ud83d\\ude00\"}",
    "{\"utf8\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
    "{\"dup\": 1, \"dup\": \"last wins\"}",
    "{\"key \\\"quoted\\\"\": \"v\"}",
    "{\"nested\": \"{\\\"not\\\": \\\"parsed\\\"}\", \"brace in string\": \"}]\"}",
};

/* Not taken by the fast path (jansson decides, and rejects most). */
static const char *const left[] = {
    "",
    "[1, 2]",
    "\"a string\"",
    "{\"a\": 1",
    "{\"a\": 1} x",
    "{\"a\" 1}",
    "{\"a\": 1,}",
    "{a: 1}",
    "{\"a\": tru}",
    "{\"a\": \"unterminated}",
    "{\"nul\": \"\\u0000\"}",
    "{\"lone\": \"\\ud800\"}",
    "{\"low\": \"\\udc00\"}",
    "{\"bad escape\": \"\\x\"}",
    "{\"raw control\": \"a\tb\"}",
    "{\"bad utf8\": \"\xc3\x28\"}",
    "{\"\xff\": 1}",
    "{\"n\": 1.2.3}",
    "{\"n\": 99999999999999999999999}",
    "{\"nested\": {\"a\": }}",
};

static void assert_same_as_jansson(const char *text, json_t *fast)
{
    json_error_t jerr;
    json_t *ref = json_loadb(text, strlen(text), 0, &jerr);
    if (ref == NULL)
        fail_msg("jansson rejects %s: %s", text, jerr.text);
    if (!json_equal(fast, ref))
        fail_msg("fast load of %s differs from jansson's", text);
    json_decref(ref);
}

static void test_takes_what_oslo_sends(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        json_t *fast = rpc_json_load_object(taken[i], strlen(taken[i]));
        if (fast == NULL)
            fail_msg("fast path refused %s", taken[i]);
        assert_same_as_jansson(taken[i], fast);
        json_decref(fast);
    }
}

static void test_duplicate_keys_keep_the_last(void **state)
{
    (void)state;
    const char *text = "{\"dup\": 1, \"other\": 2, \"dup\": \"last\"}";
    json_t *fast = rpc_json_load_object(text, strlen(text));
    assert_non_null(fast);
    assert_int_equal(json_object_size(fast), 2);
    assert_string_equal(json_string_value(json_object_get(fast, "dup")), "last");
    json_decref(fast);
}

static void test_leaves_the_rest_to_jansson(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
        json_t *fast = rpc_json_load_object(left[i], strlen(left[i]));
        if (fast != NULL)
            fail_msg("fast path took %s", left[i]);
    }
}

static void test_never_reads_past_len(void **state)
{
    (void)state;
    const char *text = "{\"a\": \"b\"}trailing";
    json_t *fast = rpc_json_load_object(text, 10);
    assert_non_null(fast);
    json_decref(fast);
    assert_null(rpc_json_load_object(text, 9));
    assert_null(rpc_json_load_object("{\"a\": \"b\\", 9));
}

static void test_deep_nesting_goes_to_jansson(void **state)
{
    (void)state;
    sca_buf b = {0};
    sca_buf_appendf(&b, "{\"deep\": ");
    for (int i = 0; i < 600; i++)
        sca_buf_append(&b, "[", 1);
    for (int i = 0; i < 600; i++)
        sca_buf_append(&b, "]", 1);
    sca_buf_append(&b, "}", 1);
    assert_null(rpc_json_load_object(b.data, b.len));
    sca_buf_free(&b);
}

/* What the envelope carries: jansson's text for v, escaped once more. */
static void assert_writes_as_jansson(json_t *v)
{
    sca_buf ours = {0}, theirs = {0};
    rpc_json_append_escaped(&ours, v);
    char *text = json_dumps(v, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    assert_non_null(text);
    rpc_json_escape_text(&theirs, text, strlen(text));
    sca_buf_append(&ours, "", 1);
    sca_buf_append(&theirs, "", 1);
    assert_string_equal(ours.data, theirs.data);
    free(text);
    sca_buf_free(&ours);
    sca_buf_free(&theirs);
}

static void test_writes_every_character_as_jansson(void **state)
{
    (void)state;
    char s[2] = {0};
    for (int c = 1; c < 128; c++) {
        s[0] = (char)c;
        json_t *v = json_pack("{s:s, s:s}", s, s, "k", s);
        assert_writes_as_jansson(v);
        json_decref(v);
    }
    json_t *v = json_pack("{s:s}", "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xe2\x80\xa8");
    assert_writes_as_jansson(v);
    json_decref(v);
}

static void test_writes_every_value_as_jansson(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        json_t *v = json_loads(taken[i], 0, NULL);
        assert_writes_as_jansson(v);
        json_decref(v);
    }
    json_t *scalars[] = {json_null(),
                         json_true(),
                         json_false(),
                         json_integer(-42),
                         json_real(0.1),
                         json_string("top"),
                         json_pack("[i,s]", 1, "a\"b")};
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
        assert_writes_as_jansson(scalars[i]);
        json_decref(scalars[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takes_what_oslo_sends),
        cmocka_unit_test(test_duplicate_keys_keep_the_last),
        cmocka_unit_test(test_leaves_the_rest_to_jansson),
        cmocka_unit_test(test_never_reads_past_len),
        cmocka_unit_test(test_deep_nesting_goes_to_jansson),
        cmocka_unit_test(test_writes_every_character_as_jansson),
        cmocka_unit_test(test_writes_every_value_as_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
