/* test_rpc_envelope.c - oslo envelopes against bytes captured from real
 * oslo.messaging traffic (tests/fixtures, see docs/wire.md section 12). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc_envelope.h"
#include "rpc_transport.h"
#include "scalpels/util.h"

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
    /* The captured files are the exact bodies, without a trailing newline. */
    *len = b.len;
    return b.data;
}

static json_t *decode_fixture(const char *name)
{
    size_t len;
    char *body = fixture(name, &len);
    json_t *inner = NULL;
    sca_error err = {0};
    int rc = rpc_envelope_decode(body, len, &inner, &err);
    if (rc != 0)
        fail_msg("%s: %s", name, err.msg);
    free(body);
    return inner;
}

static void test_decode_call_with_context(void **state)
{
    (void)state;
    json_t *inner = decode_fixture("request_call_echo_ctx.json");
    rpc_request_fields f;
    rpc_fault fault;
    assert_int_equal(rpc_envelope_request_fields(inner, &f, &fault), 0);
    assert_string_equal(f.method, "echo");
    assert_string_equal(f.msg_id, "4081656705594321aabd610c674612d7");
    assert_string_equal(f.reply_q, "reply_18ebab5f18974efa84680201dc9f2020");
    assert_string_equal(f.unique_id, "6f397de6d257405b8878971abd29a905");
    assert_string_equal(f.version, "1.0");
    assert_null(f.namespace);
    assert_true(f.timeout == 0);
    json_t *want = json_loads("{\"x\": {\"a\": [1, 2.5, \"\xc3\xbc\"], \"b\": null}}", 0, NULL);
    assert_true(json_equal(f.args, want));
    json_decref(want);
    json_t *ctx = rpc_envelope_context(inner);
    want = json_loads("{\"user\": \"u1\", \"request_id\": \"req-1\"}", 0, NULL);
    assert_true(json_equal(ctx, want));
    json_decref(want);
    json_decref(ctx);
    json_decref(inner);
}

static void test_decode_cast_and_fanout(void **state)
{
    (void)state;
    const char *names[] = {"request_cast.json", "request_fanout_cast.json"};
    for (size_t i = 0; i < 2; i++) {
        json_t *inner = decode_fixture(names[i]);
        rpc_request_fields f;
        rpc_fault fault;
        assert_int_equal(rpc_envelope_request_fields(inner, &f, &fault), 0);
        assert_string_equal(f.method, "count");
        assert_null(f.msg_id);
        assert_null(f.reply_q);
        assert_non_null(f.unique_id);
        assert_int_equal(json_integer_value(json_object_get(f.args, "n")), (json_int_t)i + 1);
        json_decref(inner);
    }
}

static void test_decode_version_namespace_timeout(void **state)
{
    (void)state;
    rpc_request_fields f;
    rpc_fault fault;
    json_t *inner = decode_fixture("request_call_version_2_0.json");
    assert_int_equal(rpc_envelope_request_fields(inner, &f, &fault), 0);
    assert_string_equal(f.version, "2.0");
    json_decref(inner);

    inner = decode_fixture("request_call_namespace_foo.json");
    assert_int_equal(rpc_envelope_request_fields(inner, &f, &fault), 0);
    assert_string_equal(f.namespace, "foo");
    json_decref(inner);

    inner = decode_fixture("request_call_monitor_timeout_2.json");
    assert_int_equal(rpc_envelope_request_fields(inner, &f, &fault), 0);
    assert_true(f.timeout == 2.0);
    assert_true(f.expiration == 0);
    json_decref(inner);
}

/* A unix call's timeout, in ms as the AMQP expiration property has it;
 * anything but a positive number is no timeout. */
static void test_decode_expiration(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        double seconds;
    } cases[] = {{"3000", 3}, {"250", 0.25}, {"0", 0}, {"-5", 0}, {"\"3000\"", 0}, {"null", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = sca_asprintf("{\"method\": \"echo\", \"_msg_id\": \"m1\", \"_timeout\": "
                                  "null, \"_expiration\": %s}",
                                  cases[i].value);
        json_t *inner = json_loads(text, 0, NULL);
        assert_non_null(inner);
        rpc_request_fields f;
        rpc_fault fault;
        assert_int_equal(rpc_envelope_request_fields(inner, &f, &fault), 0);
        if (f.expiration != cases[i].seconds)
            fail_msg("_expiration %s read as %g s", cases[i].value, f.expiration);
        json_decref(inner);
        free(text);
    }
}

static void test_expiration_property(void **state)
{
    (void)state;
    assert_true(rpc_expiration_parse("3000", 4) == 3);
    assert_true(rpc_expiration_parse("30000x", 5) == 30);
    assert_true(rpc_expiration_parse("604800000", 9) == 604800);
    assert_true(rpc_expiration_parse("", 0) == 0);
    assert_true(rpc_expiration_parse("-1", 2) == 0);
    assert_true(rpc_expiration_parse("1e3", 3) == 0);
    assert_true(rpc_expiration_parse("9999999999999", 13) == 0);
}

static void test_decode_replies(void **state)
{
    (void)state;
    rpc_reply_fields r;
    json_t *inner = decode_fixture("reply_result_echo.json");
    assert_int_equal(rpc_envelope_reply_fields(inner, &r), 0);
    assert_string_equal(r.msg_id, "4081656705594321aabd610c674612d7");
    assert_true(r.ending);
    assert_null(r.failure);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.result, "a"), 2)),
                        "\xc3\xbc");
    json_decref(inner);

    inner = decode_fixture("reply_call_monitor_heartbeat.json");
    assert_int_equal(rpc_envelope_reply_fields(inner, &r), 0);
    assert_false(r.ending);
    assert_true(json_is_null(r.result));
    json_decref(inner);

    inner = decode_fixture("reply_result_after_heartbeats.json");
    assert_int_equal(rpc_envelope_reply_fields(inner, &r), 0);
    assert_true(r.ending);
    assert_true(json_real_value(r.result) == 2.5);
    json_decref(inner);
}

static void check_failure(const char *name, const char *cls, const char *module,
                          const char *message)
{
    json_t *inner = decode_fixture(name);
    rpc_reply_fields r;
    assert_int_equal(rpc_envelope_reply_fields(inner, &r), 0);
    assert_non_null(r.failure);
    assert_true(json_is_string(r.failure));
    rpc_failure f;
    rpc_envelope_parse_failure(r.failure, &f);
    assert_string_equal(f.cls, cls);
    assert_string_equal(f.module, module);
    assert_string_equal(f.message, message);
    rpc_failure_free(&f);
    json_decref(inner);
}

static void test_decode_failures(void **state)
{
    (void)state;
    check_failure("reply_failure_valueerror.json", "ValueError", "builtins",
                  "boom: requested failure");
    check_failure("reply_failure_nosuchmethod.json", "NoSuchMethod",
                  "oslo_messaging.rpc.dispatcher", "Endpoint does not support RPC method nosuch");
    check_failure("reply_failure_unsupportedversion.json", "UnsupportedVersion",
                  "oslo_messaging.rpc.dispatcher",
                  "Endpoint does not support RPC version 2.0. Attempted method: echo");
    check_failure("reply_failure_typeerror.json", "TypeError", "builtins",
                  "main.<locals>.Endpoint.echo() got an unexpected keyword argument 'y'");
}

static void assert_bytes(const char *fixture_name, const char *body, size_t len)
{
    size_t want_len;
    char *want = fixture(fixture_name, &want_len);
    if (len != want_len || memcmp(body, want, len) != 0)
        fail_msg("%s differs:\n got  %.*s\n want %.*s", fixture_name, (int)len, body, (int)want_len,
                 want);
    free(want);
}

/* Python's json.dumps defaults and oslo's key order give the same bytes. */
static void test_encode_requests_byte_exact(void **state)
{
    (void)state;
    size_t len;
    json_t *inner = rpc_envelope_request(
        "boom", NULL, NULL, NULL, "3397f4f93b33465e96487bc16eefa01f",
        "reply_1f3bd90e059d46d4bc533fd60fb8b868", "0334ac5519b8420b919b8a4125713918", NULL);
    char *body = rpc_envelope_encode(inner, &len);
    assert_bytes("request_call_boom.json", body, len);
    free(body);
    json_decref(inner);

    json_t *args = json_pack("{s:i}", "n", 1);
    inner = rpc_envelope_request("count", args, NULL, NULL, NULL, NULL,
                                 "d131506596f9487ca1b79fd0738d50f1", NULL);
    body = rpc_envelope_encode(inner, &len);
    assert_bytes("request_cast.json", body, len);
    free(body);
    json_decref(inner);
    json_decref(args);

    args = json_pack("{s:i}", "x", 1);
    inner = rpc_envelope_request("echo", args, NULL, "2.0", "eadd119fa1504f04a69a91311992b680",
                                 "reply_4e6c464a5a6848e1bd1936aeeb6cb2f0",
                                 "0ff5ca178fbf4f1c8d4d4208ae7e2143", NULL);
    body = rpc_envelope_encode(inner, &len);
    assert_bytes("request_call_version_2_0.json", body, len);
    free(body);
    json_decref(inner);

    inner = rpc_envelope_request("echo", args, "foo", NULL, "86e1a0d0aa9d43f7b362fdf0f52f742d",
                                 "reply_10cffe6ce1b24b38b481c09e2c4daa46",
                                 "3927ff3089cb4c77b00d6b29e03083e6", NULL);
    body = rpc_envelope_encode(inner, &len);
    assert_bytes("request_call_namespace_foo.json", body, len);
    free(body);
    json_decref(inner);
    json_decref(args);
}

static void test_encode_context_order(void **state)
{
    (void)state;
    json_t *args = json_loads("{\"x\": {\"a\": [1, 2.5, \"\xc3\xbc\"], \"b\": null}}", 0, NULL);
    json_t *ctx = json_loads("{\"user\": \"u1\", \"request_id\": \"req-1\"}", 0, NULL);
    json_t *inner = rpc_envelope_request(
        "echo", args, NULL, NULL, "4081656705594321aabd610c674612d7",
        "reply_18ebab5f18974efa84680201dc9f2020", "6f397de6d257405b8878971abd29a905", ctx);
    size_t len;
    char *body = rpc_envelope_encode(inner, &len);
    /* Same message as the capture; only ü is raw UTF-8 instead of \u00fc. */
    json_t *ours = NULL, *theirs = decode_fixture("request_call_echo_ctx.json");
    assert_int_equal(rpc_envelope_decode(body, len, &ours, NULL), 0);
    assert_true(json_equal(ours, theirs));
    void *it1 = json_object_iter(ours), *it2 = json_object_iter(theirs);
    while (it1 != NULL && it2 != NULL) {
        const char *k1 = json_object_iter_key(it1), *k2 = json_object_iter_key(it2);
        json_t *v1 = json_object_iter_value(it1), *v2 = json_object_iter_value(it2);
        assert_string_equal(k1, k2);
        assert_true(json_equal(v1, v2));
        it1 = json_object_iter_next(ours, it1);
        it2 = json_object_iter_next(theirs, it2);
    }
    assert_null(it1);
    assert_null(it2);
    free(body);
    json_decref(ours);
    json_decref(theirs);
    json_decref(inner);
    json_decref(args);
    json_decref(ctx);
}

static void test_encode_replies_byte_exact(void **state)
{
    (void)state;
    size_t len;
    json_t *inner =
        rpc_envelope_reply(json_real(2.5), NULL, true, "afccd12e28544e71908627f695bc075b",
                           "9c01de18ce0e4a069ae764922fa876fa");
    char *body = rpc_envelope_encode(inner, &len);
    assert_bytes("reply_result_after_heartbeats.json", body, len);
    free(body);
    json_decref(inner);

    inner = rpc_envelope_reply(NULL, NULL, false, "afccd12e28544e71908627f695bc075b",
                               "9db1042835734a08987c48d19a505d66");
    body = rpc_envelope_encode(inner, &len);
    assert_bytes("reply_call_monitor_heartbeat.json", body, len);
    free(body);
    json_decref(inner);
}

/* Our failure has the captured one's keys in the same order, tb empty. */
static void test_encode_failure(void **state)
{
    (void)state;
    char *text = rpc_envelope_failure("NoSuchMethod", "oslo_messaging.rpc.dispatcher",
                                      "Endpoint does not support RPC method nosuch");
    json_t *inner = rpc_envelope_reply(NULL, text, true, "37370d4009da40b9b74e0c0694d86b03",
                                       "9c1aea4afb35418ea73d13aa5b7b90a5");
    size_t len;
    char *body = rpc_envelope_encode(inner, &len);
    json_t *ours = NULL, *theirs = decode_fixture("reply_failure_nosuchmethod.json");
    assert_int_equal(rpc_envelope_decode(body, len, &ours, NULL), 0);
    json_t *fo = json_loads(json_string_value(json_object_get(ours, "failure")), 0, NULL);
    json_t *ft = json_loads(json_string_value(json_object_get(theirs, "failure")), 0, NULL);
    assert_non_null(fo);
    assert_non_null(ft);
    void *io = json_object_iter(fo), *it = json_object_iter(ft);
    while (io != NULL && it != NULL) {
        const char *key = json_object_iter_key(io);
        assert_string_equal(key, json_object_iter_key(it));
        if (strcmp(key, "tb") == 0)
            assert_int_equal(json_array_size(json_object_iter_value(io)), 0);
        else
            assert_true(json_equal(json_object_iter_value(io), json_object_iter_value(it)));
        io = json_object_iter_next(fo, io);
        it = json_object_iter_next(ft, it);
    }
    assert_null(io);
    assert_null(it);
    /* Reply keys in oslo's order. */
    const char *order[] = {"result", "failure", "ending", "_msg_id", "_unique_id"};
    void *i = json_object_iter(ours);
    for (size_t k = 0; k < 5; k++, i = json_object_iter_next(ours, i))
        assert_string_equal(json_object_iter_key(i), order[k]);
    json_decref(fo);
    json_decref(ft);
    json_decref(ours);
    json_decref(theirs);
    json_decref(inner);
    free(body);
    free(text);
}

static int decode_str(const char *body, json_t **inner, sca_error *err)
{
    return rpc_envelope_decode(body, strlen(body), inner, err);
}

static void test_decode_bad_input(void **state)
{
    (void)state;
    json_t *inner = NULL;
    sca_error err = {0};
    assert_int_equal(decode_str("{\"oslo.version\": \"2.0\", \"oslo.mess", &inner, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "invalid JSON"));
    assert_int_equal(decode_str("[1, 2]", &inner, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "not list"));
    assert_int_equal(
        decode_str("{\"oslo.version\": \"3.0\", \"oslo.message\": \"{}\"}", &inner, &err),
        -EPROTONOSUPPORT);
    assert_string_equal(err.msg,
                        "Specified RPC envelope version, 3.0, not supported by this endpoint.");
    assert_int_equal(
        decode_str("{\"oslo.version\": \"2.1\", \"oslo.message\": \"{}\"}", &inner, &err),
        -EPROTONOSUPPORT);
    assert_int_equal(decode_str("{\"oslo.version\": 2, \"oslo.message\": \"{}\"}", &inner, &err),
                     -EPROTONOSUPPORT);
    assert_int_equal(decode_str("{\"oslo.version\": \"2.0\"}", &inner, &err), -EBADMSG);
    assert_int_equal(
        decode_str("{\"oslo.version\": \"2.0\", \"oslo.message\": \"[1]\"}", &inner, &err),
        -EBADMSG);
    assert_int_equal(
        decode_str("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"a\"}", &inner, &err),
        -EBADMSG);
    assert_int_equal(rpc_envelope_decode("", 0, &inner, &err), -EBADMSG);
    /* Not NUL-terminated: the decoder must stop at len. */
    assert_int_equal(rpc_envelope_decode("{}xxxx", 2, &inner, &err), 0);
    json_decref(inner);
    /* A bare dict is the legacy 1.0 format. */
    assert_int_equal(decode_str("{\"method\": \"echo\", \"args\": {}}", &inner, &err), 0);
    assert_string_equal(json_string_value(json_object_get(inner, "method")), "echo");
    json_decref(inner);
}

static void check_field_fault(const char *inner_text, const char *cls, const char *message)
{
    json_t *inner = json_loads(inner_text, JSON_ALLOW_NUL, NULL);
    assert_non_null(inner);
    rpc_request_fields f;
    rpc_fault fault;
    assert_int_equal(rpc_envelope_request_fields(inner, &f, &fault), -EINVAL);
    assert_string_equal(fault.cls, cls);
    assert_string_equal(fault.message, message);
    /* The reply routing survives bad fields. */
    assert_string_equal(f.msg_id, "m1");
    assert_string_equal(f.reply_q, "q1");
    json_decref(inner);
}

static void test_request_field_faults(void **state)
{
    (void)state;
    check_field_fault("{\"args\": {}, \"_msg_id\": \"m1\", \"_reply_q\": \"q1\"}", "TypeError",
                      "RPC message field 'method' must be str, not NoneType");
    check_field_fault("{\"method\": 5, \"_msg_id\": \"m1\", \"_reply_q\": \"q1\"}", "TypeError",
                      "RPC message field 'method' must be str, not int");
    check_field_fault(
        "{\"method\": \"echo\", \"args\": [1], \"_msg_id\": \"m1\", \"_reply_q\": \"q1\"}",
        "TypeError", "RPC message field 'args' must be dict, not list");
    check_field_fault("{\"method\": \"echo\", \"version\": 2.0, \"_msg_id\": \"m1\", \"_reply_q\": "
                      "\"q1\"}",
                      "TypeError", "RPC message field 'version' must be str, not float");
    check_field_fault("{\"method\": \"echo\", \"version\": \"two\", \"_msg_id\": \"m1\", "
                      "\"_reply_q\": \"q1\"}",
                      "ValueError", "invalid RPC version 'two': expected MAJOR.MINOR[.REVISION]");
    /* A NUL would cut a name short: "echo\0x" must not reach echo. */
    check_field_fault("{\"method\": \"echo\\u0000x\", \"_msg_id\": \"m1\", \"_reply_q\": \"q1\"}",
                      "ValueError", "RPC message field 'method' contains a NUL character");
    check_field_fault("{\"method\": \"echo\", \"version\": \"1.0\\u0000\", \"_msg_id\": \"m1\", "
                      "\"_reply_q\": \"q1\"}",
                      "ValueError", "RPC message field 'version' contains a NUL character");
    /* args may be absent (oslo: {}), version null means none. */
    json_t *inner = json_loads("{\"method\": \"m\", \"version\": null}", 0, NULL);
    rpc_request_fields f;
    rpc_fault fault;
    assert_int_equal(rpc_envelope_request_fields(inner, &f, &fault), 0);
    assert_null(f.args);
    assert_null(f.version);
    json_decref(inner);
}

static void test_version_compatible(void **state)
{
    (void)state;
    assert_int_equal(rpc_version_compatible("1.0", "1.0"), 1);
    assert_int_equal(rpc_version_compatible("1.3", "1.2"), 1);
    /* Python's int() takes whitespace around a part, and so does oslo. */
    assert_int_equal(rpc_version_compatible("1.1", " 1.1"), 1);
    assert_int_equal(rpc_version_compatible("1.1", "1 . 1\t"), 1);
    assert_int_equal(rpc_version_compatible("1.1", "1. "), -EINVAL);
    assert_int_equal(rpc_version_compatible("1.2", "1.3"), 0);
    assert_int_equal(rpc_version_compatible("1.0", "2.0"), 0);
    assert_int_equal(rpc_version_compatible("2.0", "1.0"), 0);
    assert_int_equal(rpc_version_compatible("1.2.3", "1.2.3"), 1);
    assert_int_equal(rpc_version_compatible("1.2.3", "1.2.4"), 0);
    assert_int_equal(rpc_version_compatible("1.2", "1.2.1"), 0);
    assert_int_equal(rpc_version_compatible("1.3", "1.2.9"), 1);
    assert_int_equal(rpc_version_compatible("2.0", "2.0.0"), 1);
    assert_int_equal(rpc_version_compatible("1.0", "1.0.0.7"), 1);
    assert_int_equal(rpc_version_compatible("1.0", "1"), -EINVAL);
    assert_int_equal(rpc_version_compatible("1.0", "1.x"), -EINVAL);
    assert_int_equal(rpc_version_compatible("1.0", ""), -EINVAL);
    assert_int_equal(rpc_version_compatible("1.0", "1..0"), -EINVAL);
}

static void test_sniff(void **state)
{
    (void)state;
    size_t len;
    char *body = fixture("request_call_echo_ctx.json", &len);
    char id[RPC_ID_MAX + 1] = "", q[RPC_ID_MAX + 1] = "";
    /* Only the tail: as kept of a body too large to accept. */
    const char *tail = strstr(body, "_msg_id") - 3;
    rpc_envelope_sniff(tail, len - (size_t)(tail - body), id, q);
    assert_string_equal(id, "4081656705594321aabd610c674612d7");
    assert_string_equal(q, "reply_18ebab5f18974efa84680201dc9f2020");
    /* Cut inside the reply queue value: no partial id. */
    char *cut = strstr(body, "reply_18eb") + 4;
    id[0] = q[0] = '\0';
    rpc_envelope_sniff(body, (size_t)(cut - body), id, q);
    assert_string_equal(id, "4081656705594321aabd610c674612d7");
    assert_string_equal(q, "");
    free(body);
    /* Plain (legacy) form, broken JSON afterwards. */
    const char *plain = "{\"method\": \"x\", \"_msg_id\": \"abc\", \"_reply_q\":\"r_1\", ]]]";
    id[0] = q[0] = '\0';
    rpc_envelope_sniff(plain, strlen(plain), id, q);
    assert_string_equal(id, "abc");
    assert_string_equal(q, "r_1");
    /* A key inside another string is not a field. */
    const char *decoy = "{\"x\": \"a_msg_id\": \"zz\"}";
    id[0] = '\0';
    rpc_envelope_sniff(decoy, strlen(decoy), id, q);
    assert_string_equal(id, "");
}

/* The single-parse fast path gives what two plain parses give. */
static void test_fast_path_matches_general(void **state)
{
    (void)state;
    const char *inner_texts[] = {
        "{\"a\": \"\\u00fc\\n\\t\\/\\\\\\\"\"}",
        "{\"emoji\": \"\\ud83d\\ude00\", \"raw\": \"\xc3\xbc\"}",
        "{\"ctl\": \"\\b\\f\\r\\u001f\\u007f\", \"n\": [1, 2.5e3, -0, null]}",
        "{\"lone\": \"\\ud83d\"}",
        "{\"nul\": \"a\\u0000b\"}",
        "{}",
    };
    for (size_t i = 0; i < sizeof(inner_texts) / sizeof(inner_texts[0]); i++) {
        json_t *env = json_pack("{s:s,s:s}", "oslo.version", "2.0", "oslo.message", inner_texts[i]);
        assert_non_null(env);
        char *body = json_dumps(env, JSON_ENSURE_ASCII);
        json_t *want = json_loads(inner_texts[i], JSON_ALLOW_NUL, NULL);
        json_t *got = NULL;
        int rc = rpc_envelope_decode(body, strlen(body), &got, NULL);
        if (want != NULL) {
            assert_int_equal(rc, 0);
            assert_true(json_equal(got, want));
        } else {
            assert_int_equal(rc, -EBADMSG);
        }
        json_decref(got);
        json_decref(want);
        json_decref(env);
        free(body);
    }
    /* Broken escapes in the outer string: the general parser judges. */
    const char *broken[] = {
        "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\x}\"}",
        "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\u12\"}",
        "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{}\", \"x\": \"\"}",
        "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\"}",
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        json_t *got = NULL;
        int rc = rpc_envelope_decode(broken[i], strlen(broken[i]), &got, NULL);
        json_t *ref = json_loads(broken[i], 0, NULL);
        json_t *msg = json_object_get(ref, "oslo.message");
        json_t *want = json_is_string(msg) ? json_loads(json_string_value(msg), 0, NULL) : NULL;
        assert_int_equal(rc == 0, want != NULL);
        json_decref(got);
        json_decref(want);
        json_decref(ref);
    }
}

/* A reply whose result is given as text, and read back with the result
 * kept as text: both ends leave it as it is, and the general decoder sees
 * the same message. */
static void test_result_as_text(void **state)
{
    (void)state;
    static const char page[] = "{\"data\":[[1.5,\"a \\\"q\\\" \\\\ b\"],[2,null]],\"n\":2}";
    json_t *inner = rpc_envelope_reply(NULL, NULL, true, "m1", "u1");
    size_t len;
    char *body = rpc_envelope_encode_raw(inner, "result", page, strlen(page), &len);
    json_decref(inner);
    json_t *kept = NULL;
    char *text = NULL;
    const char *raw = NULL;
    size_t raw_len = 0;
    assert_int_equal(rpc_envelope_decode_keep(body, len, "result", &kept, &text, &raw, &raw_len),
                     0);
    assert_non_null(raw);
    assert_int_equal(raw_len, strlen(page));
    assert_memory_equal(raw, page, raw_len);
    assert_null(json_object_get(kept, "result"));
    assert_string_equal(json_string_value(json_object_get(kept, "_msg_id")), "m1");
    assert_true(json_is_true(json_object_get(kept, "ending")));
    json_decref(kept);
    free(text);

    json_t *whole = NULL;
    assert_int_equal(rpc_envelope_decode(body, len, &whole, NULL), 0);
    json_t *want = json_loads(page, 0, NULL);
    assert_true(json_equal(json_object_get(whole, "result"), want));
    json_decref(want);
    json_decref(whole);
    free(body);

    /* Without the member: no text; a body not in the envelope's exact form
     * is left to the general decoder. */
    static const char none[] = "{\"oslo.version\": \"2.0\", \"oslo.message\": "
                               "\"{\\\"_msg_id\\\": \\\"m2\\\", \\\"ending\\\": true}\"}";
    assert_int_equal(
        rpc_envelope_decode_keep(none, strlen(none), "result", &kept, &text, &raw, &raw_len), 0);
    assert_null(raw);
    json_decref(kept);
    free(text);
    static const char spaced[] = "{ \"oslo.version\": \"2.0\", \"oslo.message\": \"{}\"}";
    assert_int_equal(
        rpc_envelope_decode_keep(spaced, strlen(spaced), "result", &kept, &text, &raw, &raw_len),
        1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_call_with_context),
        cmocka_unit_test(test_decode_cast_and_fanout),
        cmocka_unit_test(test_decode_version_namespace_timeout),
        cmocka_unit_test(test_decode_expiration),
        cmocka_unit_test(test_expiration_property),
        cmocka_unit_test(test_decode_replies),
        cmocka_unit_test(test_decode_failures),
        cmocka_unit_test(test_encode_requests_byte_exact),
        cmocka_unit_test(test_encode_context_order),
        cmocka_unit_test(test_encode_replies_byte_exact),
        cmocka_unit_test(test_encode_failure),
        cmocka_unit_test(test_decode_bad_input),
        cmocka_unit_test(test_request_field_faults),
        cmocka_unit_test(test_version_compatible),
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_fast_path_matches_general),
        cmocka_unit_test(test_result_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
