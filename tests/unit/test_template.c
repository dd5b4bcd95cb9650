/* test_template.c - template splitting, substitution and injection safety. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scalpels/template.h"

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define VARS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOVARS ((const char *const[]){NULL})

/* ctx is a NULL-terminated array of key, value pairs. */
static const char *lookup(void *ctx, const char *key)
{
    const char *const *kv = ctx;
    for (; kv[0] != NULL; kv += 2)
        if (strcmp(kv[0], key) == 0)
            return kv[1];
    return NULL;
}

static void assert_words(char **got, const char *const *want)
{
    size_t ngot = 0, nwant = 0;
    while (got[ngot] != NULL)
        ngot++;
    while (want[nwant] != NULL)
        nwant++;
    if (ngot != nwant)
        for (size_t i = 0; i < ngot; i++)
            print_message("got[%zu] = \"%s\"\n", i, got[i]);
    assert_int_equal(ngot, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_string_equal(got[i], want[i]);
}

static void check_split(const char *tpl, const char *const *want)
{
    char **words = NULL;
    sca_error err = {0};
    assert_int_equal(template_split(tpl, &words, &err), 0);
    assert_words(words, want);
    template_argv_free(words);
}

static void check_expand(const char *tpl, const char *const *vars, const char *const *want)
{
    char **argv = NULL;
    sca_error err = {0};
    int rc = template_expand(tpl, lookup, (void *)vars, &argv, &err);
    if (rc != 0)
        print_message("error: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_words(argv, want);
    template_argv_free(argv);
}

/* The error code, and a message holding each of parts. */
static void check_error_parts(const char *tpl, const char *const *vars, int code,
                              const char *const *parts)
{
    char **argv = (char **)1;
    sca_error err = {0};
    assert_int_equal(template_expand(tpl, lookup, (void *)vars, &argv, &err), code);
    assert_null(argv);
    assert_int_equal(err.code, code);
    for (; *parts != NULL; parts++) {
        if (strstr(err.msg, *parts) == NULL)
            print_message("message \"%s\" lacks \"%s\"\n", err.msg, *parts);
        assert_non_null(strstr(err.msg, *parts));
    }
}

#define check_error(tpl, vars, code, ...) check_error_parts(tpl, vars, code, WORDS(__VA_ARGS__))

static void test_split_blanks(void **state)
{
    (void)state;
    check_split("a b  c", WORDS("a", "b", "c"));
    check_split("  lead\ttrail \n", WORDS("lead", "trail"));
    check_split("a\tb\nc\r\nd", WORDS("a", "b", "c", "d"));
    check_split("one", WORDS("one"));
}

static void test_split_single_quotes(void **state)
{
    (void)state;
    check_split("'a b' c", WORDS("a b", "c"));
    check_split("a'b c'd", WORDS("ab cd"));
    check_split("'a\\b' '\"'", WORDS("a\\b", "\""));
    check_split("'' x", WORDS("", "x"));
    check_split("a '' b", WORDS("a", "", "b"));
    check_split("'  '", WORDS("  "));
}

static void test_split_double_quotes(void **state)
{
    (void)state;
    check_split("\"a b\" c", WORDS("a b", "c"));
    check_split("\"a\\\"b\"", WORDS("a\"b"));
    check_split("\"a\\\\b\"", WORDS("a\\b"));
    check_split("\"a\\nb\\$x\"", WORDS("a\\nb\\$x"));
    check_split("\"'\"", WORDS("'"));
    check_split("\"\"", WORDS(""));
    check_split("x\"\"y", WORDS("xy"));
}

static void test_split_backslash(void **state)
{
    (void)state;
    check_split("a\\ b", WORDS("a b"));
    check_split("\\'x \\\"y", WORDS("'x", "\"y"));
    check_split("\\\\", WORDS("\\"));
    check_split("\\n", WORDS("n"));
}

static void test_split_errors(void **state)
{
    (void)state;
    check_error("'abc", NOVARS, -EINVAL, "unterminated single quote", "column 1");
    check_error("ab \"cd", NOVARS, -EINVAL, "unterminated double quote", "column 4");
    check_error("x \"a\\\"", NOVARS, -EINVAL, "unterminated double quote", "column 3");
    check_error("abc\\", NOVARS, -EINVAL, "trailing backslash", "column 4");
    check_error("", NOVARS, -EINVAL, "empty");
    check_error(" \t\n ", NOVARS, -EINVAL, "empty");
    check_error(NULL, NOVARS, -EINVAL, "template");
}

static void test_expand_basic(void **state)
{
    (void)state;
    const char *const *vars = VARS("tracer_path", "/usr/share/scalpels/tracers", "dev", "eth0");
    check_expand("%(tracer_path)s/netdev.sh %(dev)s", vars,
                 WORDS("/usr/share/scalpels/tracers/netdev.sh", "eth0"));
    check_expand("plain words", vars, WORDS("plain", "words"));
}

static void test_expand_adjacent(void **state)
{
    (void)state;
    const char *const *vars = VARS("dev", "eth0", "a", "A", "b", "B");
    check_expand("cmd --dev=%(dev)s", vars, WORDS("cmd", "--dev=eth0"));
    check_expand("pre%(a)spost %(a)s%(b)s %(a)s-%(b)s", vars, WORDS("preApost", "AB", "A-B"));
    check_expand("'%(dev)s' \"x %(dev)s\"", vars, WORDS("eth0", "x eth0"));
}

static void test_expand_percent(void **state)
{
    (void)state;
    const char *const *vars = VARS("x", "1");
    check_expand("100% %% a%%b %d %s % %x", vars, WORDS("100%", "%", "a%b", "%d", "%s", "%", "%x"));
    check_expand("%%(x)s %(x)s%%", vars, WORDS("%(x)s", "1%"));
    check_expand("%%%(x)s", vars, WORDS("%1"));
}

static void test_expand_empty_value(void **state)
{
    (void)state;
    const char *const *vars = VARS("empty", "");
    check_expand("cmd %(empty)s x", vars, WORDS("cmd", "", "x"));
    check_expand("cmd --opt=%(empty)s", vars, WORDS("cmd", "--opt="));
    check_expand("cmd %(empty)s%(empty)s", vars, WORDS("cmd", ""));
}

/* Every hostile value must arrive as exactly one, unchanged argument. */
static void test_injection_in_values(void **state)
{
    (void)state;
    static const char *const hostile[] = {
        "; rm -rf /", "$(id)", "`id`", "a\nreboot",  "&& reboot", "| cat /etc/shadow",
        ">file",      "*",     "~",    "~root/.ssh", "' \"",      "a b c",
        "\\",         "'",     "\"",   "%(dev)s",    "%%",        "$HOME",
        "\t",         " ",     "-rf",  "x\\ y",
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const char *const *vars = VARS("dev", "eth0", "v", hostile[i]);
        check_expand("cmd %(v)s end", vars, WORDS("cmd", hostile[i], "end"));
        char *prefixed = NULL;
        if (asprintf(&prefixed, "--opt=%s", hostile[i]) < 0)
            fail();
        check_expand("cmd --opt=%(v)s", vars, WORDS("cmd", prefixed));
        check_expand("cmd '%(v)s'", vars, WORDS("cmd", hostile[i]));
        free(prefixed);
    }
}

/* Shell syntax written in a template is plain text: words, never commands. */
static void test_injection_in_template(void **state)
{
    (void)state;
    check_split("echo ; rm -rf /", WORDS("echo", ";", "rm", "-rf", "/"));
    check_split("echo x;rm -rf /", WORDS("echo", "x;rm", "-rf", "/"));
    check_split("echo $(id)", WORDS("echo", "$(id)"));
    check_split("echo `id`", WORDS("echo", "`id`"));
    check_split("echo a\nreboot", WORDS("echo", "a", "reboot"));
    check_split("true && reboot", WORDS("true", "&&", "reboot"));
    check_split("cat /etc/passwd | sh", WORDS("cat", "/etc/passwd", "|", "sh"));
    check_split("echo >file 2>&1", WORDS("echo", ">file", "2>&1"));
    check_split("ls * ?.c [ab]", WORDS("ls", "*", "?.c", "[ab]"));
    check_split("ls ~ ~root", WORDS("ls", "~", "~root"));
    check_split("echo $HOME ${HOME}", WORDS("echo", "$HOME", "${HOME}"));
    check_split("echo '$(id)' \"$(id)\"", WORDS("echo", "$(id)", "$(id)"));
    check_split("a=b cmd", WORDS("a=b", "cmd"));
    check_split("sleep 1 &", WORDS("sleep", "1", "&"));
    check_split("(id) {id;}", WORDS("(id)", "{id;}"));
    check_split("cat <<EOF", WORDS("cat", "<<EOF"));
    check_split("# not a comment", WORDS("#", "not", "a", "comment"));
}

static void test_missing_key(void **state)
{
    (void)state;
    check_error("cmd %(nope)s", VARS("dev", "eth0"), -ENOENT, "'nope'", "word 2");
    check_error("cmd --d=%(dev)s --x=%(missing_key)s", VARS("dev", "eth0"), -ENOENT,
                "'missing_key'");
}

static void test_malformed_placeholder(void **state)
{
    (void)state;
    const char *const *vars = VARS("dev", "eth0");
    check_error("cmd %(dev", vars, -EINVAL, "malformed placeholder", "word 2", "')'");
    check_error("cmd %(dev)d", vars, -EINVAL, "malformed placeholder", "'s'");
    check_error("cmd %(dev)", vars, -EINVAL, "malformed placeholder");
    check_error("cmd %()s", vars, -EINVAL, "empty key");
    /* A word ends a placeholder: its parts cannot span words. */
    check_error("cmd %(de v)s", vars, -EINVAL, "malformed placeholder");
}

static void test_many_keys(void **state)
{
    (void)state;
    enum { N = 60 };
    static char names[N][16], values[N][16];
    const char *vars[2 * N + 1];
    const char *want[N + 2];
    char tpl[N * 24] = "cmd";
    want[0] = "cmd";
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "key%d", i);
        snprintf(values[i], sizeof(values[i]), "value %d", i);
        vars[2 * i] = names[i];
        vars[2 * i + 1] = values[i];
        want[i + 1] = values[i];
        strcat(tpl, " %(");
        strcat(tpl, names[i]);
        strcat(tpl, ")s");
    }
    vars[2 * N] = NULL;
    want[N + 1] = NULL;
    check_expand(tpl, vars, want);
}

static void check_keys(const char *tpl, const char *const *want)
{
    char **keys = NULL;
    sca_error err = {0};
    assert_int_equal(template_keys(tpl, &keys, &err), 0);
    assert_words(keys, want);
    template_argv_free(keys);
}

static void test_keys(void **state)
{
    (void)state;
    check_keys("%(tracer_path)s/netdev.sh %(dev)s --x=%(dev)s %(b)s%%(c)s '%(q)s'",
               WORDS("tracer_path", "dev", "b", "q"));
    check_keys("no keys here 100%", (const char *const[]){NULL});

    char **keys = (char **)1;
    sca_error err = {0};
    assert_int_equal(template_keys("cmd %(dev", &keys, &err), -EINVAL);
    assert_null(keys);
    assert_non_null(strstr(err.msg, "malformed"));
    assert_int_equal(template_keys("'open", &keys, &err), -EINVAL);
    assert_null(keys);
}

static void test_null_error(void **state)
{
    (void)state;
    char **argv = NULL;
    assert_int_equal(template_expand("x %(y)s", lookup, (void *)NOVARS, &argv, NULL), -ENOENT);
    assert_int_equal(template_split("'", &argv, NULL), -EINVAL);
    template_argv_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_blanks),
        cmocka_unit_test(test_split_single_quotes),
        cmocka_unit_test(test_split_double_quotes),
        cmocka_unit_test(test_split_backslash),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_expand_basic),
        cmocka_unit_test(test_expand_adjacent),
        cmocka_unit_test(test_expand_percent),
        cmocka_unit_test(test_expand_empty_value),
        cmocka_unit_test(test_injection_in_values),
        cmocka_unit_test(test_injection_in_template),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_malformed_placeholder),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_null_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
