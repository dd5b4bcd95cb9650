/* test_config.c - the INI configuration: defaults, lookup order, values,
 * and errors that name file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scalpels/config.h"
#include "scalpels/util.h"

static char dir[64];

static const char *write_conf(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sca-config-XXXXXX");
    assert_non_null(mkdtemp(dir));
    unsetenv("SCALPELS_CONF");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static void test_defaults(void **state)
{
    (void)state;
    config c;
    config_defaults(&c);
    assert_string_equal(c.transport_url, "");
    assert_string_equal(c.topic, "scalpels");
    assert_string_equal(c.control_exchange, "openstack");
    assert_true(c.stop_grace == 5);
    assert_true(c.unix_idle_timeout == 30);
    assert_int_equal(c.heartbeat, 60);
    assert_int_equal(c.max_message_size, 1048576);
    char *expected = NULL;
    assert_true(asprintf(&expected, "%s/scalpels.db", c.state_dir) > 0);
    assert_string_equal(c.db_path, expected);
    free(expected);
    assert_non_null(strstr(c.tracer_path, "share/scalpels/tracers"));
    char *url = config_transport_url(&c);
    assert_non_null(strstr(url, "unix://"));
    assert_non_null(strstr(url, "/agent.sock"));
    free(url);
    config_free(&c);
}

static void test_values_and_derived_paths(void **state)
{
    (void)state;
    const char *path = write_conf("a.conf", "# comment\n"
                                            "[DEFAULT]\n"
                                            "state_dir = /srv/sca\n"
                                            "transport_url = rabbit://u:p@h:5672/\n"
                                            "log_level = debug\n"
                                            "[agent]\n"
                                            "stop_grace = 1.5s\n"
                                            "max_duration = 2h\n"
                                            "unix_idle_timeout = 1.5s\n"
                                            "host = node7\n"
                                            "[rpc]\n"
                                            "heartbeat = 10\n"
                                            "amqp_durable_queues = yes\n"
                                            "rabbit_quorum_queue = true\n");
    config c;
    sca_error err = {0};
    assert_int_equal(config_load(&c, path, &err), 0);
    assert_string_equal(c.source, path);
    assert_string_equal(c.state_dir, "/srv/sca");
    assert_string_equal(c.db_path, "/srv/sca/scalpels.db");
    assert_string_equal(c.transport_url, "rabbit://u:p@h:5672/");
    assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
    assert_true(c.stop_grace == 1.5);
    assert_true(c.max_duration == 7200);
    assert_true(c.unix_idle_timeout == 1.5);
    assert_string_equal(c.host, "node7");
    assert_int_equal(c.heartbeat, 10);
    assert_true(c.amqp_durable_queues);
    assert_true(c.rabbit_quorum_queue);
    config_free(&c);
}

static void test_database_connection_forms(void **state)
{
    (void)state;
    const char *forms[][2] = {
        {"[database]\nconnection = sqlite:////var/x.db\n", "/var/x.db"},
        {"[database]\nconnection = /var/y.db\n", "/var/y.db"},
    };
    for (size_t i = 0; i < 2; i++) {
        config c;
        sca_error err = {0};
        assert_int_equal(config_load(&c, write_conf("db.conf", forms[i][0]), &err), 0);
        assert_string_equal(c.db_path, forms[i][1]);
        config_free(&c);
    }
}

static void expect_error(const char *text, int line, const char *words)
{
    const char *path = write_conf("bad.conf", text);
    config c;
    sca_error err = {0};
    assert_int_equal(config_load(&c, path, &err), -EINVAL);
    char where[160];
    snprintf(where, sizeof(where), "%s:%d:", path, line);
    if (strstr(err.msg, where) == NULL || strstr(err.msg, words) == NULL)
        fail_msg("expected '%s' and '%s' in: %s", where, words, err.msg);
}

static void test_invalid_values_name_file_and_line(void **state)
{
    (void)state;
    expect_error("[agent]\nhost = a\nstop_grace = soon\n", 3, "duration");
    /* An idle timeout of 0 would let connections be held for ever. */
    expect_error("[agent]\nunix_idle_timeout = 0\n", 2, "duration above 0");
    expect_error("[rpc]\n\n\nheartbeat = -1\n", 4, "whole number");
    expect_error("[DEFAULT]\nlog_level = loud\n", 2, "error, warning, info or debug");
    expect_error("[rpc]\namqp_durable_queues = maybe\n", 2, "true or false");
    expect_error("[DEFAULT]\nstate_dir = relative/dir\n", 2, "absolute path");
    expect_error("[database]\nconnection = mysql://x\n", 2, "sqlite");
    expect_error("[agent]\nthis line has no equals sign\n", 2, "key = value");
    /* Above what the AMQP writer can hold, a message could never be sent. */
    expect_error("[rpc]\nmax_message_size = 67108865\n", 2, "from 1024 to 67108864");
}

/* A file given by mistake (a binary): what the error echoes is escaped,
 * so no byte of it reaches the terminal as it is. */
static void test_error_escapes_what_it_echoes(void **state)
{
    (void)state;
    expect_error("[agent]\nstop_grace = \xff\x1b[2J\xc2\x9b"
                 "7m caf\xc3\xa9\n",
                 2, "= '\\xff\\x1b[2J\\xc2\\x9b7m caf\xc3\xa9': must be a duration");
}

static void test_escape_text(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"plain text", "plain text"},
        {"caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80"},
        {"tab\tbell\a del\x7f", "tab\\x09bell\\x07 del\\x7f"},
        {"cut \xe2\x96", "cut \\xe2\\x96"},
        {"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
        {"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *shown = sca_escape_text(cases[i][0]);
        assert_string_equal(shown, cases[i][1]);
        free(shown);
    }
}

static void test_unknown_key_is_not_an_error(void **state)
{
    (void)state;
    config c;
    sca_error err = {0};
    assert_int_equal(config_load(&c, write_conf("u.conf", "[agent]\nfrobnicate = 1\n"), &err), 0);
    config_free(&c);
}

static void test_lookup_order(void **state)
{
    (void)state;
    const char *env_path = write_conf("env.conf", "[agent]\nhost = from-env\n");
    char env_copy[128];
    snprintf(env_copy, sizeof(env_copy), "%s", env_path);
    const char *cli_path = write_conf("cli.conf", "[agent]\nhost = from-cli\n");
    setenv("SCALPELS_CONF", env_copy, 1);
    config c;
    sca_error err = {0};
    assert_int_equal(config_load(&c, cli_path, &err), 0);
    assert_string_equal(c.host, "from-cli");
    config_free(&c);
    assert_int_equal(config_load(&c, NULL, &err), 0);
    assert_string_equal(c.host, "from-env");
    config_free(&c);
    setenv("SCALPELS_CONF", "/nonexistent/scalpels.conf", 1);
    assert_int_equal(config_load(&c, NULL, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/scalpels.conf"));
    unsetenv("SCALPELS_CONF");
}

/* The shipped etc/scalpels.conf documents every key with its default: it
 * must load and give the defaults. */
static void test_shipped_config_gives_defaults(void **state)
{
    (void)state;
    const char *src = getenv("SCA_SRC");
    if (src == NULL)
        skip();
    char path[512];
    snprintf(path, sizeof(path), "%s/etc/scalpels.conf", src);
    config shipped, defaults;
    sca_error err = {0};
    assert_int_equal(config_load(&shipped, path, &err), 0);
    config_defaults(&defaults);
    assert_string_equal(shipped.db_path, defaults.db_path);
    assert_string_equal(shipped.topic, defaults.topic);
    assert_true(shipped.max_duration == defaults.max_duration);
    config_free(&shipped);
    config_free(&defaults);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_and_derived_paths),
        cmocka_unit_test(test_database_connection_forms),
        cmocka_unit_test(test_invalid_values_name_file_and_line),
        cmocka_unit_test(test_error_escapes_what_it_echoes),
        cmocka_unit_test(test_escape_text),
        cmocka_unit_test(test_unknown_key_is_not_an_error),
        cmocka_unit_test(test_lookup_order),
        cmocka_unit_test(test_shipped_config_gives_defaults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
