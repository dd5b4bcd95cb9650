/* test_rpc_url.c - transport URL parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rpc_url.h"

static void test_single_broker(void **state)
{
    (void)state;
    rpc_url u;
    assert_int_equal(rpc_url_parse("rabbit://guest:secret@127.0.0.1:5673/", &u, NULL), 0);
    assert_int_equal(u.kind, RPC_URL_RABBIT);
    assert_int_equal(u.n_brokers, 1);
    assert_string_equal(u.brokers[0].host, "127.0.0.1");
    assert_int_equal(u.brokers[0].port, 5673);
    assert_string_equal(u.brokers[0].user, "guest");
    assert_string_equal(u.brokers[0].password, "secret");
    assert_string_equal(u.brokers[0].vhost, "/");
    assert_false(u.ssl);
    assert_int_equal(u.durable_queues, -1); /* absent: the options decide */
    assert_int_equal(u.quorum_queues, -1);
    /* No credentials in what we print. */
    assert_string_equal(u.describe, "rabbit://127.0.0.1:5673/");
    rpc_url_free(&u);
}

static void test_defaults_and_escapes(void **state)
{
    (void)state;
    rpc_url u;
    assert_int_equal(rpc_url_parse("rabbit://broker", &u, NULL), 0);
    assert_string_equal(u.brokers[0].user, "guest");
    assert_string_equal(u.brokers[0].password, "guest");
    assert_int_equal(u.brokers[0].port, 5672);
    assert_string_equal(u.brokers[0].vhost, "/");
    rpc_url_free(&u);

    assert_int_equal(rpc_url_parse("amqp://us%40er:p%3Ass%2C@h:1/%2F", &u, NULL), 0);
    assert_string_equal(u.brokers[0].user, "us@er");
    assert_string_equal(u.brokers[0].password, "p:ss,");
    assert_string_equal(u.brokers[0].vhost, "/");
    rpc_url_free(&u);

    assert_int_equal(rpc_url_parse("rabbit://u:p@h/prod?ssl=1", &u, NULL), 0);
    assert_true(u.ssl);
    assert_int_equal(u.brokers[0].port, 5671);
    assert_string_equal(u.brokers[0].vhost, "prod");
    assert_string_equal(u.describe, "rabbit://h:5671/prod?ssl=1");
    rpc_url_free(&u);

    assert_int_equal(rpc_url_parse("rabbit://[::1]:5673/?ssl=0&amqp_durable_queues=true", &u, NULL),
                     0);
    assert_string_equal(u.brokers[0].host, "::1");
    assert_int_equal(u.brokers[0].port, 5673);
    assert_false(u.ssl);
    assert_int_equal(u.durable_queues, 1);
    assert_int_equal(u.quorum_queues, -1);
    assert_string_equal(u.describe, "rabbit://[::1]:5673/");
    rpc_url_free(&u);

    /* oslo's option names; other oslo options are ignored. */
    assert_int_equal(rpc_url_parse("rabbit://h/?heartbeat_rate=3&rabbit_quorum_queue=True&"
                                   "amqp_durable_queues=false",
                                   &u, NULL),
                     0);
    assert_int_equal(u.quorum_queues, 1);
    assert_int_equal(u.durable_queues, 0);
    assert_false(u.ssl);
    rpc_url_free(&u);
}

static void test_several_brokers(void **state)
{
    (void)state;
    rpc_url u;
    /* oslo style: credentials per host, the vhost once at the end. */
    assert_int_equal(rpc_url_parse("rabbit://a:1@h1:5672,b:2@h2:5673/vh", &u, NULL), 0);
    assert_int_equal(u.n_brokers, 2);
    assert_string_equal(u.brokers[0].host, "h1");
    assert_string_equal(u.brokers[0].user, "a");
    assert_string_equal(u.brokers[0].vhost, "vh");
    assert_string_equal(u.brokers[1].host, "h2");
    assert_string_equal(u.brokers[1].password, "2");
    assert_int_equal(u.brokers[1].port, 5673);
    assert_string_equal(u.describe, "rabbit://h1:5672,h2:5673/vh");
    rpc_url_free(&u);
    /* Our documented style: each broker with its own vhost. */
    assert_int_equal(rpc_url_parse("rabbit://u:p@h1:1/a,u:p@h2:2/b", &u, NULL), 0);
    assert_string_equal(u.brokers[0].vhost, "a");
    assert_string_equal(u.brokers[1].vhost, "b");
    rpc_url_free(&u);
}

static void test_unix(void **state)
{
    (void)state;
    rpc_url u;
    assert_int_equal(rpc_url_parse("unix:///var/lib/scalpels/agent.sock", &u, NULL), 0);
    assert_int_equal(u.kind, RPC_URL_UNIX);
    assert_string_equal(u.path, "/var/lib/scalpels/agent.sock");
    assert_string_equal(u.describe, "unix:///var/lib/scalpels/agent.sock");
    rpc_url_free(&u);
    char longpath[200] = "unix:///";
    memset(longpath + 8, 'a', 150);
    sca_error err = {0};
    assert_int_equal(rpc_url_parse(longpath, &u, &err), -ENAMETOOLONG);
    assert_int_equal(rpc_url_parse("unix://relative.sock", &u, &err), -EINVAL);
}

static void test_errors(void **state)
{
    (void)state;
    rpc_url u;
    sca_error err = {0};
    const char *bad[] = {"http://h/",     "rabbit://",       "rabbit://h:0/",   "rabbit://h:99999",
                         "rabbit://h:x/", "rabbit://h1,,h2", "rabbit://[::1/",  "rabbit://u:%zz@h",
                         "rabbit://h/%",  "rabbit://:5672/", "rabbit://u:p@/vh"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rpc_url_parse(bad[i], &u, &err) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err.msg, "transport URL"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_broker),   cmocka_unit_test(test_defaults_and_escapes),
        cmocka_unit_test(test_several_brokers), cmocka_unit_test(test_unix),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
