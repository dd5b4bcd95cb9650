/* test_rpc_args.c - argument checks worded as Python words them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rpc_args.h"

static const rpc_arg_spec spec[] = {{"a", RPC_ARG_STRING, true, false},
                                    {"b", RPC_ARG_INT, true, false},
                                    {"c", RPC_ARG_NUMBER, true, false},
                                    {"d", RPC_ARG_BOOL, false, false},
                                    {"e", RPC_ARG_STRING_LIST, false, false},
                                    {"f", RPC_ARG_OBJECT, false, true},
                                    {"g", RPC_ARG_ARRAY, false, false},
                                    {"h", RPC_ARG_ANY, false, false},
                                    {0}};
static const rpc_method method = {"m", NULL, spec};

static void expect(const char *args_text, const char *message)
{
    json_t *args = json_loads(args_text, 0, NULL);
    assert_non_null(args);
    rpc_fault f;
    int rc = rpc_args_check(&method, args, &f);
    if (message == NULL) {
        if (rc != 0)
            fail_msg("%s refused: %s", args_text, f.message);
    } else {
        assert_int_equal(rc, -EINVAL);
        assert_string_equal(f.cls, "TypeError");
        assert_string_equal(f.module, "builtins");
        assert_string_equal(f.message, message);
    }
    json_decref(args);
}

static void test_ok(void **state)
{
    (void)state;
    expect("{\"a\": \"x\", \"b\": 1, \"c\": 1}", NULL);
    expect("{\"a\": \"x\", \"b\": 1, \"c\": 1.5, \"d\": true, \"e\": [\"p\", \"q\"], \"f\": null, "
           "\"g\": [1, \"x\"], \"h\": null}",
           NULL);
    expect("{\"a\": \"x\", \"b\": 1, \"c\": 1, \"e\": [], \"f\": {}}", NULL);
}

static void test_python_wording(void **state)
{
    (void)state;
    /* Unexpected first, as CPython checks keywords before missing ones. */
    expect("{\"zz\": 1}", "m() got an unexpected keyword argument 'zz'");
    expect("{\"a\": \"x\", \"b\": 1}", "m() missing 1 required positional argument: 'c'");
    expect("{\"a\": \"x\"}", "m() missing 2 required positional arguments: 'b' and 'c'");
    expect("{}", "m() missing 3 required positional arguments: 'a', 'b', and 'c'");
    expect("{\"a\": 1, \"b\": 1, \"c\": 1}", "m() argument 'a' must be str, not int");
    expect("{\"a\": \"x\", \"b\": 1.0, \"c\": 1}", "m() argument 'b' must be int, not float");
    expect("{\"a\": \"x\", \"b\": true, \"c\": 1}", "m() argument 'b' must be int, not bool");
    expect("{\"a\": \"x\", \"b\": 1, \"c\": \"1\"}",
           "m() argument 'c' must be int or float, not str");
    expect("{\"a\": null, \"b\": 1, \"c\": 1}", "m() argument 'a' must be str, not None");
    expect("{\"a\": \"x\", \"b\": 1, \"c\": 1, \"e\": [\"p\", 2]}",
           "m() argument 'e' must be list of str, but item 1 is int");
    expect("{\"a\": \"x\", \"b\": 1, \"c\": 1, \"e\": \"p\"}",
           "m() argument 'e' must be list of str, not str");
    expect("{\"a\": \"x\", \"b\": 1, \"c\": 1, \"f\": []}",
           "m() argument 'f' must be dict, not list");
    expect("{\"a\": \"x\", \"b\": 1, \"c\": 1, \"d\": 0}",
           "m() argument 'd' must be bool, not int");
}

/* A NUL character cannot reach a handler inside a string it reads as C. */
static void test_nul_in_strings(void **state)
{
    (void)state;
    const char *texts[] = {"{\"a\": \"x\\u0000y\", \"b\": 1, \"c\": 1}",
                           "{\"a\": \"x\", \"b\": 1, \"c\": 1, \"e\": [\"p\", \"\\u0000\"]}"};
    const char *messages[] = {"m() argument 'a' contains a NUL character",
                              "m() argument 'e' contains a NUL character"};
    for (size_t i = 0; i < 2; i++) {
        json_t *args = json_loads(texts[i], JSON_ALLOW_NUL, NULL);
        assert_non_null(args);
        rpc_fault f;
        assert_int_equal(rpc_args_check(&method, args, &f), -EINVAL);
        assert_string_equal(f.cls, "ValueError");
        assert_string_equal(f.message, messages[i]);
        json_decref(args);
    }
    /* Where a string is not read as C, a NUL is data like any other. */
    json_t *any =
        json_loads("{\"a\": \"x\", \"b\": 1, \"c\": 1, \"h\": \"\\u0000\"}", JSON_ALLOW_NUL, NULL);
    rpc_fault f;
    assert_int_equal(rpc_args_check(&method, any, &f), 0);
    json_decref(any);
}

static void test_no_args(void **state)
{
    (void)state;
    const rpc_method bare = {"tracer_list", NULL, NULL};
    rpc_fault f;
    json_t *empty = json_object();
    assert_int_equal(rpc_args_check(&bare, empty, &f), 0);
    assert_int_equal(rpc_args_check(&bare, NULL, &f), 0);
    json_object_set_new(empty, "x", json_true());
    assert_int_equal(rpc_args_check(&bare, empty, &f), -EINVAL);
    assert_string_equal(f.message, "tracer_list() got an unexpected keyword argument 'x'");
    json_decref(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok), cmocka_unit_test(test_python_wording),
        cmocka_unit_test(test_nul_in_strings), cmocka_unit_test(test_no_args)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
