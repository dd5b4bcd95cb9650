/* test_table.c - framed text tables: cut cells in both charsets, and the
 * charset a locale names (table.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scalpels/table.h"

/* One column of the given maximum width holding cell, printed in cs; the
 * caller frees the text. */
static char *print_one(const char *cell, size_t width, enum table_charset cs)
{
    static const char *const headers[] = {"v"};
    table *t = table_new(1, headers);
    table_set_max_width(t, 0, width);
    table_set_charset(t, cs);
    table_add_row(t, (const char *const[]){cell});
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    table_print(t, f);
    assert_int_equal(fclose(f), 0);
    table_free(t);
    return text;
}

static void test_cut(void **state)
{
    (void)state;
    static const struct {
        const char *cell;
        size_t width;
        enum table_charset cs;
        const char *row;
    } cases[] = {
        {"abcde", 5, TABLE_UTF8, "| abcde |\n"},
        {"abcdefgh", 5, TABLE_UTF8, "| abcd… |\n"},
        /* Widths count characters: five of "é" fit where five of "a" do. */
        {"éééééé", 5, TABLE_UTF8, "| éééé… |\n"},
        {"abc", 1, TABLE_UTF8, "| … |\n"},
        {"abcdefgh", 5, TABLE_ASCII, "| ab... |\n"},
        {"éééééé", 5, TABLE_ASCII, "| éé... |\n"},
        {"abc", 3, TABLE_ASCII, "| abc |\n"},
        /* Columns narrower than "...": as much of it as fits. */
        {"abcd", 3, TABLE_ASCII, "| ... |\n"},
        {"abcd", 2, TABLE_ASCII, "| .. |\n"},
        {"abcd", 1, TABLE_ASCII, "| . |\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = print_one(cases[i].cell, cases[i].width, cases[i].cs);
        if (strstr(out, cases[i].row) == NULL)
            fail_msg("case %zu: no row %s in\n%s", i, cases[i].row, out);
        free(out);
    }
}

/* Sets LC_ALL, LC_CTYPE and LANG (NULL unsets) and asks for the charset. */
static enum table_charset charset_with(const char *all, const char *ctype, const char *lang)
{
    const char *names[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    const char *values[] = {all, ctype, lang};
    for (size_t i = 0; i < 3; i++) {
        if (values[i] != NULL)
            assert_int_equal(setenv(names[i], values[i], 1), 0);
        else
            assert_int_equal(unsetenv(names[i]), 0);
    }
    return table_charset_of_locale();
}

static void test_charset_of_locale(void **state)
{
    (void)state;
    /* What a fresh machine has: no locale variable at all. */
    assert_int_equal(charset_with(NULL, NULL, NULL), TABLE_ASCII);
    assert_int_equal(charset_with("C", NULL, NULL), TABLE_ASCII);
    assert_int_equal(charset_with("POSIX", NULL, NULL), TABLE_ASCII);
    assert_int_equal(charset_with("C.UTF-8", NULL, NULL), TABLE_UTF8);
    assert_int_equal(charset_with(NULL, NULL, "C.UTF-8"), TABLE_UTF8);
    /* LC_ALL over LC_CTYPE over LANG. */
    assert_int_equal(charset_with(NULL, "C", "C.UTF-8"), TABLE_ASCII);
    assert_int_equal(charset_with(NULL, "C.UTF-8", "C"), TABLE_UTF8);
    assert_int_equal(charset_with("C", "C.UTF-8", "C.UTF-8"), TABLE_ASCII);
    /* A locale this machine does not have cannot say what it shows. */
    assert_int_equal(charset_with("xx_XX.UTF-8", NULL, NULL), TABLE_ASCII);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_charset_of_locale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
