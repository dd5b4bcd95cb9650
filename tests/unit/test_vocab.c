/* test_vocab.c - the name rules the clients and the store share: which
 * tracer and data option names pass, at which lengths, and that a name is
 * judged by its given length only (the clients check names inside
 * "a,b,c"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "scalpels/vocab.h"

static void test_tracer_name_characters(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "Z", "0", "cpu", "net_dev.io-2", "_", ".", "-"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(sca_tracer_name_valid(good[i], strlen(good[i])));
    static const char *const bad[] = {"bad name", "a,b", "a:b", "a/b", "é", "a\tb", "a+b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(sca_tracer_name_valid(bad[i], strlen(bad[i])));
    assert_false(sca_tracer_name_valid("", 0));
}

static void test_tracer_name_length(void **state)
{
    (void)state;
    char name[SCA_TRACER_NAME_MAX + 2];
    memset(name, 'a', sizeof(name));
    assert_true(sca_tracer_name_valid(name, SCA_TRACER_NAME_MAX));
    assert_false(sca_tracer_name_valid(name, SCA_TRACER_NAME_MAX + 1));
}

static void test_name_judged_by_given_length(void **state)
{
    (void)state;
    assert_true(sca_tracer_name_valid("cpu,bad name", 3));
    assert_false(sca_tracer_name_valid("cpu,bad name", 4));
    /* A NUL inside the given length is not a name character. */
    assert_false(sca_tracer_name_valid("ab\0c", 4));
}

static void test_option_name(void **state)
{
    (void)state;
    char name[SCA_OPTION_NAME_MAX + 2];
    memset(name, 'k', sizeof(name));
    assert_true(sca_option_name_valid(name, SCA_OPTION_NAME_MAX));
    assert_false(sca_option_name_valid(name, SCA_OPTION_NAME_MAX + 1));
    assert_true(sca_option_name_valid("rabbit_url", strlen("rabbit_url")));
    assert_false(sca_option_name_valid("b+ad", 4));
    assert_false(sca_option_name_valid("", 0));
}

static void test_rules_state_the_limits(void **state)
{
    (void)state;
    assert_string_equal(SCA_TRACER_NAME_RULE, "1 to 64 of A-Z a-z 0-9 _ . -");
    assert_string_equal(SCA_OPTION_NAME_RULE, "1 to 128 of A-Z a-z 0-9 _ . -");
}

static void test_uuid_canonical(void **state)
{
    (void)state;
    assert_true(sca_uuid_canonical("1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
    static const char *const bad[] = {
        "",
        "1b4e28ba",
        "1B4E28BA-2FA1-41D2-883F-0016D3CCA427",  /* upper case */
        "1b4e28ba2fa141d2883f0016d3cca427",      /* no dashes */
        "1b4e28ba-2fa1-41d2-883f-0016d3cca42",   /* short */
        "1b4e28ba-2fa1-41d2-883f-0016d3cca4270", /* long */
        "1b4e28ba-2fa1-41d2-883f_0016d3cca427",  /* a dash misplaced */
        "1b4e28ba-2fa1-41d2-883f-0016d3cca42g",
        "1b4e28ba-2fa1-41d2-883f-0016d3cca42/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(sca_uuid_canonical(bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracer_name_characters),
        cmocka_unit_test(test_tracer_name_length),
        cmocka_unit_test(test_name_judged_by_given_length),
        cmocka_unit_test(test_option_name),
        cmocka_unit_test(test_rules_state_the_limits),
        cmocka_unit_test(test_uuid_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
