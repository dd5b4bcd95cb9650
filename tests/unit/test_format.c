/* test_format.c - output written without printf or jansson (util.h):
 * sca_format_number's exact path writes what printf's shortest of %.15g,
 * %.16g and %.17g writes, for every kind of value a report meets; JSON
 * numbers read back as floats; JSON strings are jansson's, with bytes that
 * are not UTF-8 replaced. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "scalpels/util.h"

/* The reference: the first of %.15g, %.16g, %.17g that reads back. */
static void reference(double x, char out[SCA_NUMBER_MAX])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, SCA_NUMBER_MAX, "%.*g", prec, x);
        if (prec == 17 || strtod(out, NULL) == x)
            return;
    }
}

static void same_as_reference(double x)
{
    char want[SCA_NUMBER_MAX], got[SCA_NUMBER_MAX];
    reference(x, want);
    size_t n = sca_format_number(x, got);
    if (strcmp(want, got) != 0 || n != strlen(got))
        fail_msg("%.17g: printf says %s, sca_format_number %s", x, want, got);
}

/* xorshift64*: reproducible values without rand()'s narrow range. */
static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void test_edges(void **state)
{
    (void)state;
    static const double values[] = {0.1,
                                    0.2,
                                    0.3,
                                    1.0 / 3,
                                    2.0 / 3,
                                    1,
                                    2,
                                    10,
                                    100,
                                    1e14,
                                    99999999999999.9,
                                    999999999999999,
                                    999999999999999.5,
                                    1e15,
                                    1e15 + 2,
                                    1e16,
                                    1e17,
                                    1e20,
                                    1e300,
                                    1e-4,
                                    9.9999999999999e-5,
                                    1.0000000000000001e-4,
                                    1e-5,
                                    5e-324,
                                    2.2250738585072014e-308,
                                    1.7976931348623157e308,
                                    0x1p50,
                                    0x1p50 - 1,
                                    0x1p53,
                                    0x1p53 + 2,
                                    123.456,
                                    1763896689.5,
                                    1796529076.968462,
                                    1796529076.9684619,
                                    4503599627370495.5,
                                    0.30000000000000004,
                                    9007199254740993.0,
                                    42,
                                    3.141592653589793,
                                    2.718281828459045,
                                    1e-3,
                                    0.000123,
                                    12345678.9012345};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        same_as_reference(values[i]);
        same_as_reference(-values[i]);
        same_as_reference(nextafter(values[i], 0));
        same_as_reference(nextafter(values[i], INFINITY));
    }
    char out[SCA_NUMBER_MAX];
    sca_format_number(0.0, out);
    assert_string_equal(out, "0");
    sca_format_number(-0.0, out);
    assert_string_equal(out, "-0");
    same_as_reference(INFINITY);
    same_as_reference(-INFINITY);
}

static void test_random_values(void **state)
{
    (void)state;
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 100000; i++) {
        uint64_t r = next(&s);
        /* Timestamps as sca_now makes them (whole microseconds), and as a
         * clock with nanoseconds would. */
        double sec = 1.7e9 + (double)(r % 300000000);
        same_as_reference(sec + (double)((r >> 32) % 1000000) / 1e6);
        same_as_reference(sec + (double)((r >> 20) % 1000000000) / 1e9);
        /* Counters, and values with a few decimals. */
        same_as_reference((double)(r % 100000000000ULL));
        same_as_reference((double)(int64_t)(r % 2000001) / 100.0 - 10000);
        same_as_reference((double)(r % 1000003) / 1000.0);
        /* Any magnitude, any digits. */
        double frac = (double)(r >> 11) / 0x1p53;
        same_as_reference(ldexp(frac, (int)((r >> 3) % 140) - 70));
        /* Any bit pattern that is a number. */
        double any;
        memcpy(&any, &r, sizeof(any));
        if (!isnan(any))
            same_as_reference(any);
    }
}

static void test_json_numbers_read_back_as_floats(void **state)
{
    (void)state;
    static const struct {
        double x;
        const char *want;
    } cases[] = {
        {1, "1.0"},          {-3, "-3.0"},
        {0, "0.0"},          {0.5, "0.5"},
        {1e20, "1e+20"},     {1e15, "1e+15"},
        {2.5e-7, "2.5e-07"}, {1796529076.968462, "1796529076.968462"},
        {INFINITY, "null"},  {NAN, "null"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[SCA_NUMBER_MAX];
        size_t n = sca_format_json_number(cases[i].x, out);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
}

/* sca_json_append_string's literal for len bytes at s. */
static char *literal(const char *s, size_t len)
{
    sca_buf b = {0};
    sca_json_append_string(&b, s, len);
    return b.data;
}

static void test_json_strings_as_jansson_writes_them(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "",
        "plain",
        "say \"hi\"",
        "back\\slash",
        "tab\tnew\nline\rcr",
        "\b\f",
        "\x01\x1f\x7f",
        "é ✓ 𝄞",
        "a/b",
        "line 3, \"quoted\" \\ back\tslash é ✓",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *v = json_string(texts[i]);
        char *want = json_dumps(v, JSON_ENCODE_ANY);
        char *got = literal(texts[i], strlen(texts[i]));
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(v);
    }
    /* A NUL inside is text too. */
    char *got = literal("a\0b", 3);
    assert_string_equal(got, "\"a\\u0000b\"");
    free(got);
}

static void test_bytes_that_are_not_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xff\xfe bad", "\xEF\xBF\xBD\xEF\xBF\xBD bad"},
        {"cut \xC3", "cut \xEF\xBF\xBD"},                         /* a sequence cut short */
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong '/' */
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* a surrogate */
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"ok é", "ok é"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].in);
        assert_int_equal(sca_utf8_valid(cases[i].in, len), strcmp(cases[i].in, cases[i].out) == 0);
        sca_buf fixed = {0};
        sca_utf8_repair(cases[i].in, len, &fixed);
        assert_string_equal(fixed.data, cases[i].out);
        assert_true(sca_utf8_valid(fixed.data, fixed.len));
        /* The literal holds the repaired text and is JSON jansson reads. */
        char *lit = literal(cases[i].in, len);
        json_t *back = json_loads(lit, JSON_DECODE_ANY, NULL);
        assert_non_null(back);
        assert_string_equal(json_string_value(back), cases[i].out);
        json_decref(back);
        free(lit);
        sca_buf_free(&fixed);
    }
}

static void test_json_skip(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int end; /* where the value ends; -1: NULL */
    } cases[] = {
        {"\"plain\" rest", 7},
        {"\"say \\\"hi\\\"\",", 12},
        {"\"ends in a backslash \\\\\"]", 24},
        {"\"open", -1},
        {"\"open \\", -1},
        {"[1, [2, \"]\"], {\"a\": \"}\"}] tail", 25},
        {"{\"k\": [1, 2]}", 13},
        {"[[1.5,\"x\\\"]\"],[2,null]]", 23},
        {"[1, 2", -1},
        {"null,", 4},
        {"true]", 4},
        {"false", 5},
        {"-12.5e+3,", 8},
        {",", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *t = cases[i].text;
        const char *e = sca_json_skip(t, t + strlen(t));
        if (cases[i].end < 0)
            assert_null(e);
        else if (e == NULL || e - t != cases[i].end)
            fail_msg("%s: ends at %d, not %d", t, e ? (int)(e - t) : -1, cases[i].end);
    }
    /* Deeper than SCA_JSON_DEPTH_MAX: refused, not followed. */
    char deep[SCA_JSON_DEPTH_MAX * 2 + 4];
    memset(deep, '[', SCA_JSON_DEPTH_MAX + 1);
    memset(deep + SCA_JSON_DEPTH_MAX + 1, ']', SCA_JSON_DEPTH_MAX + 1);
    assert_null(sca_json_skip(deep, deep + 2 * (SCA_JSON_DEPTH_MAX + 1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random_values),
        cmocka_unit_test(test_json_numbers_read_back_as_floats),
        cmocka_unit_test(test_json_strings_as_jansson_writes_them),
        cmocka_unit_test(test_bytes_that_are_not_utf8),
        cmocka_unit_test(test_json_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
