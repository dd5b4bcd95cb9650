/* test_parse.c - the line parsers, checked by exactly what their sink got. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scalpels/parse.h"

#define MAX_SAMPLES 8192
#define BIG_LINE (64 * 1024)

typedef struct sample {
    char key[80];
    char unit[24]; /* "-" for a NULL unit */
    double value;
    char *text; /* copy of a text sample, or NULL */
    size_t text_len;
} sample;

typedef struct recorder {
    size_t n;
    sample s[MAX_SAMPLES];
    size_t stop_after; /* return 7 from this call on (1-based); 0 = never */
} recorder;

static recorder rec;

static int rec_next(sample **out)
{
    assert_true(rec.n < MAX_SAMPLES);
    *out = &rec.s[rec.n++];
    return rec.stop_after != 0 && rec.n >= rec.stop_after ? 7 : 0;
}

static int rec_number(void *ctx, const char *key, size_t key_len, const char *unit, double value)
{
    assert_ptr_equal(ctx, &rec);
    sample *s;
    int rc = rec_next(&s);
    assert_true(key_len < sizeof(s->key));
    memcpy(s->key, key, key_len);
    s->key[key_len] = '\0';
    snprintf(s->unit, sizeof(s->unit), "%s", unit ? unit : "-");
    s->value = value;
    return rc;
}

static int rec_text(void *ctx, const char *key, const char *text, size_t len)
{
    assert_ptr_equal(ctx, &rec);
    sample *s;
    int rc = rec_next(&s);
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->text = malloc(len ? len : 1);
    memcpy(s->text, text, len);
    s->text_len = len;
    return rc;
}

static const parse_sink sink = {rec_number, rec_text};

static void rec_reset(void)
{
    for (size_t i = 0; i < rec.n; i++)
        free(rec.s[i].text);
    memset(&rec, 0, sizeof(rec));
}

static int run(const char *name, const char *line, size_t len)
{
    rec_reset();
    const parser *p = parse_find(name);
    assert_non_null(p);
    return parse_line(p, line, len, &sink, &rec);
}

/* A C-string line, for the common case. */
static int run_s(const char *name, const char *line)
{
    return run(name, line, strlen(line));
}

static void assert_sample(size_t i, const char *key, const char *unit, double value)
{
    assert_true(i < rec.n);
    assert_string_equal(rec.s[i].key, key);
    assert_string_equal(rec.s[i].unit, unit);
    assert_true(rec.s[i].value == value);
}

static void assert_rejected(const char *name, const char *line, size_t len)
{
    int rc = run(name, line, len);
    if (rc != -EINVAL)
        print_message("%s accepted \"%.*s\"\n", name, (int)len, line);
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(rec.n, 0);
}

static void assert_rejected_s(const char *name, const char *line)
{
    assert_rejected(name, line, strlen(line));
}

static char *big_line(char fill)
{
    char *line = malloc(BIG_LINE);
    memset(line, fill, BIG_LINE);
    return line;
}

/* ---- registry ----------------------------------------------------------- */

static void test_registry(void **state)
{
    (void)state;
    size_t n;
    const parser *const *all = parse_all(&n);
    assert_int_equal(n, 4);
    char names[64] = "";
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(parse_find(all[i]->name), all[i]);
        assert_non_null(all[i]->description);
        strcat(names, i ? ", " : "");
        strcat(names, all[i]->name);
    }
    assert_string_equal(names, parse_names());
    assert_int_equal(parse_find("log")->kind, PARSE_TEXT);
    assert_int_equal(parse_find("kv")->kind, PARSE_NUMBER);
    assert_null(parse_find("nope"));
    assert_null(parse_find(NULL));
    assert_int_equal(parse_line(NULL, "1", 1, &sink, &rec), -EINVAL);
    assert_int_equal(parse_line(parse_find("count"), NULL, 1, &sink, &rec), -EINVAL);
}

/* ---- log ---------------------------------------------------------------- */

static void assert_text(const char *line, size_t len)
{
    assert_int_equal(run("log", line, len), 0);
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.s[0].key, "log");
    assert_int_equal(rec.s[0].text_len, len);
    assert_memory_equal(rec.s[0].text, line, len);
}

static void test_log(void **state)
{
    (void)state;
    assert_text("hello world", 11);
    assert_text("", 0);
    assert_text("  spaced\t", 9);
    assert_text("nul\0inside", 10);
    assert_text("; rm -rf / $(id)", 16);
    char *big = big_line('x');
    assert_text(big, BIG_LINE);
    free(big);
    /* Only len bytes belong to the line, whatever follows in memory. */
    assert_text("abcdef", 3);
    assert_int_equal(rec.s[0].text_len, 3);
    assert_int_equal(parse_line(parse_find("log"), NULL, 0, &sink, &rec), 0);
}

/* ---- count -------------------------------------------------------------- */

static void assert_count(const char *line, double value)
{
    int rc = run_s("count", line);
    if (rc != 0)
        print_message("count rejected \"%s\"\n", line);
    assert_int_equal(rc, 0);
    assert_int_equal(rec.n, 1);
    assert_sample(0, "count", "count", value);
}

static void test_count_good(void **state)
{
    (void)state;
    assert_count("42", 42);
    assert_count("  3.5 \t", 3.5);
    assert_count("-7", -7);
    assert_count("+7", 7);
    assert_count("1e3", 1000);
    assert_count("1.5E-3", 1.5e-3);
    assert_count(".5", 0.5);
    assert_count("5.", 5);
    assert_count("0", 0);
    assert_count("-0", 0);
    assert_count("1e308", 1e308);
    assert_count("1e-400", 0); /* underflow is a tiny number, not an error */
    assert_count("123456789012345678901234567890", 123456789012345678901234567890.0);
    assert_count("12\r", 12);
    /* The longest token accepted: 63 digits. */
    char digits[64];
    memset(digits, '1', 63);
    digits[63] = '\0';
    assert_count(digits, strtod(digits, NULL));
}

static void test_count_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",     "   ",   "\t",    "abc",   "42abc",    "42 43", "4 2",     "nan",
        "NaN",  "-nan",  "inf",   "-inf",  "infinity", "INF",   "1e309",   "-1e309",
        "0x10", "0x1p3", "1,5",   "--1",   "+-1",      "1e",    "e5",      ".",
        "-",    "1..2",  "1e5e5", "$(id)", "\n42",     "42\n",  "1 pkt/s",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected_s("count", bad[i]);
    assert_rejected("count", "4\0", 2);
    assert_rejected("count",
                    "\0"
                    "4",
                    2);
    assert_rejected("count",
                    "1\0"
                    "2",
                    3);
    char digits[65];
    memset(digits, '1', 64);
    digits[64] = '\0';
    assert_rejected_s("count", digits);
}

static void test_count_bounds(void **state)
{
    (void)state;
    /* Only the first len bytes count: "12" of "123". */
    assert_int_equal(run("count", "123", 2), 0);
    assert_sample(0, "count", "count", 12);

    char *big = big_line('9');
    assert_rejected("count", big, BIG_LINE);
    /* A huge line of whitespace around one number is still one number. */
    memset(big, ' ', BIG_LINE);
    big[BIG_LINE / 2] = '5';
    assert_int_equal(run("count", big, BIG_LINE), 0);
    assert_sample(0, "count", "count", 5);
    free(big);
}

/* ---- traffic ------------------------------------------------------------ */

static void assert_traffic(const char *line, double pkts, double bytes)
{
    int rc = run_s("traffic", line);
    if (rc != 0)
        print_message("traffic rejected \"%s\"\n", line);
    assert_int_equal(rc, 0);
    assert_int_equal(rec.n, 2);
    assert_sample(0, "pkt/s", "pkt/s", pkts);
    assert_sample(1, "byte/s", "byte/s", bytes);
}

static void test_traffic_good(void **state)
{
    (void)state;
    assert_traffic("10 pkt/s 2048 byte/s", 10, 2048);
    assert_traffic("  10   pkt/s\t2048  byte/s  ", 10, 2048);
    assert_traffic("0 pkt/s 0 byte/s", 0, 0);
    assert_traffic("1.5e3 pkt/s 12.25 byte/s", 1500, 12.25);
    assert_traffic("-1 pkt/s -2 byte/s", -1, -2);
}

static void test_traffic_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "  ",
        "10",
        "10 pkt/s",
        "10 pkt/s 2048",
        "10 pkt/s 2048 byte/s extra",
        "10 pkts/s 2048 byte/s",
        "10 pkt/s 2048 bytes/s",
        "10pkt/s 2048 byte/s",
        "10 pkt/s 2048byte/s",
        "x pkt/s 1 byte/s",
        "10 pkt/s nan byte/s",
        "inf pkt/s 1 byte/s",
        "10 pkt/s 1e999 byte/s",
        "10 PKT/S 2048 BYTE/S",
        "10 byte/s 2048 pkt/s",
        "pkt/s 10 byte/s 2048",
        "10 pkt/s, 2048 byte/s",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected_s("traffic", bad[i]);
    static const char nul[] = "10 pkt/s 20\0"
                              "48 byte/s";
    assert_rejected("traffic", nul, sizeof(nul) - 1);
    static const char nul_unit[] = "10 pkt/s 2048 byte/s\0";
    assert_rejected("traffic", nul_unit, sizeof(nul_unit) - 1);
    char *big = big_line('1');
    assert_rejected("traffic", big, BIG_LINE);
    free(big);
}

/* ---- kv ----------------------------------------------------------------- */

static void test_kv_good(void **state)
{
    (void)state;
    assert_int_equal(run_s("kv", "a=1 b=2.5 c=-3"), 0);
    assert_int_equal(rec.n, 3);
    assert_sample(0, "a", "-", 1);
    assert_sample(1, "b", "-", 2.5);
    assert_sample(2, "c", "-", -3);

    assert_int_equal(run_s("kv", "  cpu.user=12.5\t\tsda.read_kbps=1e3  "), 0);
    assert_int_equal(rec.n, 2);
    assert_sample(0, "cpu.user", "-", 12.5);
    assert_sample(1, "sda.read_kbps", "-", 1000);

    assert_int_equal(run_s("kv", "AZaz09_.:/-=7"), 0);
    assert_sample(0, "AZaz09_.:/-", "-", 7);

    /* A repeated key reports each value, in order. */
    assert_int_equal(run_s("kv", "x=1 x=2"), 0);
    assert_int_equal(rec.n, 2);
    assert_sample(1, "x", "-", 2);
}

/* A unit glued to the value names the series' unit. */
static void test_kv_units(void **state)
{
    (void)state;
    assert_int_equal(run_s("kv", "user=12.5% rss=2048kB eth0.rx=1.5kB/s n=3 big=1e3MB"), 0);
    assert_int_equal(rec.n, 5);
    assert_sample(0, "user", "%", 12.5);
    assert_sample(1, "rss", "kB", 2048);
    assert_sample(2, "eth0.rx", "kB/s", 1.5);
    assert_sample(3, "n", "-", 3);
    assert_sample(4, "big", "MB", 1000);
    assert_int_equal(run_s("kv", "x=1abcdefghijklmnop"), 0); /* 16 bytes */
    assert_sample(0, "x", "abcdefghijklmnop", 1);
    static const char *const bad[] = {
        "x=1abcdefghijklmnopq", /* 17 bytes */
        "x=%",                  /* no number */
        "x=1k3",
        "x=1 kB",
        "x=1e", /* an exponent without digits, not the unit "e" */
        "x=1kB_s",
        "x=1°C",
        "x=0x10",
        "x=infs",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected_s("kv", bad[i]);
}

static void test_kv_key_length(void **state)
{
    (void)state;
    char line[80];
    memset(line, 'k', 64);
    strcpy(line + 64, "=1");
    assert_int_equal(run_s("kv", line), 0);
    assert_int_equal(rec.n, 1);
    assert_int_equal(strlen(rec.s[0].key), 64);
    memset(line, 'k', 65);
    strcpy(line + 65, "=1");
    assert_rejected_s("kv", line);
}

static void test_kv_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",        "   ",     "a",        "a=",      "=2",    "a=1 =2", "a=1 b",
        "a=1=2",   "a =1",    "a= 1",     "a=1 b=x", "a=nan", "a=inf",  "a=-inf",
        "a=1e999", "a=0x10",  "k$=1",     "a b=1",   "é=1",   "a=1;",   "a=1 b=2 garbage",
        "a=1,b=2", "a=$(id)", "a=1\nb=2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected_s("kv", bad[i]);
    static const char nul_value[] = "a=1 b=2\0 c=3";
    assert_rejected("kv", nul_value, sizeof(nul_value) - 1);
    static const char nul_key[] = "a=1 b\0b=2";
    assert_rejected("kv", nul_key, sizeof(nul_key) - 1);
    char *big = big_line('a');
    assert_rejected("kv", big, BIG_LINE);
    free(big);
}

/* More pairs than the parser caches, and the last one bad: still nothing. */
static void test_kv_many(void **state)
{
    (void)state;
    enum { N = 300 };
    char *line = malloc(N * 16 + 16);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(line + len, "k%d=%d.5 ", i, i);
    assert_int_equal(run("kv", line, len), 0);
    assert_int_equal(rec.n, N);
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        assert_sample((size_t)i, key, "-", i + 0.5);
    }
    strcpy(line + len, "bad=nan");
    assert_rejected("kv", line, len + 7);
    free(line);
}

/* A 64 KiB line of pairs is read whole. */
static void test_kv_big_line(void **state)
{
    (void)state;
    char *line = big_line(' ');
    size_t len = 0, n = 0;
    for (; len + 16 < BIG_LINE; n++)
        len += (size_t)sprintf(line + len, "v%zu=%zu ", n, n);
    line[len] = ' '; /* sprintf's NUL: the rest of the line stays blank */
    assert_int_equal(run("kv", line, BIG_LINE), 0);
    assert_int_equal(rec.n, n);
    char key[16];
    snprintf(key, sizeof(key), "v%zu", n - 1);
    assert_sample(n - 1, key, "-", (double)(n - 1));
    free(line);
}

/* A sink's non-zero return stops the line and comes back to the caller. */
static void test_sink_stops(void **state)
{
    (void)state;
    rec_reset();
    rec.stop_after = 2;
    assert_int_equal(parse_line(parse_find("kv"), "a=1 b=2 c=3", 11, &sink, &rec), 7);
    assert_int_equal(rec.n, 2);
    rec_reset();
    rec.stop_after = 1;
    assert_int_equal(parse_line(parse_find("traffic"), "1 pkt/s 2 byte/s", 16, &sink, &rec), 7);
    assert_int_equal(rec.n, 1);
    rec_reset();
    rec.stop_after = 1;
    assert_int_equal(parse_line(parse_find("log"), "x", 1, &sink, &rec), 7);
    rec_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),     cmocka_unit_test(test_log),
        cmocka_unit_test(test_count_good),   cmocka_unit_test(test_count_bad),
        cmocka_unit_test(test_count_bounds), cmocka_unit_test(test_traffic_good),
        cmocka_unit_test(test_traffic_bad),  cmocka_unit_test(test_kv_good),
        cmocka_unit_test(test_kv_units),     cmocka_unit_test(test_kv_key_length),
        cmocka_unit_test(test_kv_bad),       cmocka_unit_test(test_kv_many),
        cmocka_unit_test(test_kv_big_line),  cmocka_unit_test(test_sink_stops),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_reset();
    return rc;
}
