/* test_rpc_local.c - client and server in one process on one loop over the
 * unix transport, plus what an AMQP client does with no broker: the paths
 * of rpc_client.c and rpc_server.c (timeouts, late replies, size limits,
 * cancellation, freeing with work in flight) under the sanitizers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "scalpels/rpc.h"
#include "scalpels/util.h"

typedef struct fixture {
    uv_loop_t loop;
    char dir[64];
    char url[128];
    rpc_transport *st, *ct;
    rpc_server *s;
    rpc_request *held;
    json_int_t total;
} fixture;

typedef struct outcome {
    int calls;
    int status;
    json_t *result;
    char cls[64];
    char message[256];
} outcome;

static void m_echo(rpc_request *req, void *arg)
{
    (void)arg;
    rpc_request_reply(req, json_incref(json_object_get(rpc_request_args(req), "x")));
}

static void m_boom(rpc_request *req, void *arg)
{
    (void)arg;
    rpc_request_fail(req, "ValueError", "builtins", "boom %d", 42);
}

static void m_hold(rpc_request *req, void *arg)
{
    ((fixture *)arg)->held = req;
}

static void m_count(rpc_request *req, void *arg)
{
    fixture *f = arg;
    f->total += json_integer_value(json_object_get(rpc_request_args(req), "n"));
    rpc_request_reply(req, json_integer(f->total));
}

static void m_big(rpc_request *req, void *arg)
{
    (void)arg;
    size_t n = (size_t)json_integer_value(json_object_get(rpc_request_args(req), "n"));
    char *s = sca_malloc(n + 1);
    memset(s, 'b', n);
    s[n] = '\0';
    rpc_request_reply(req, json_string(s));
    free(s);
}

static void m_whoami(rpc_request *req, void *arg)
{
    (void)arg;
    uid_t uid = (uid_t)-1;
    int rc = rpc_request_peer_uid(req, &uid);
    rpc_request_reply(req, json_pack("{s:i,s:i}", "rc", rc, "uid", (int)uid));
}

/* Replies with the JSON text in x as it is (rpc_request_reply_text). */
static void m_text(rpc_request *req, void *arg)
{
    (void)arg;
    const char *x = json_string_value(json_object_get(rpc_request_args(req), "x"));
    rpc_request_reply_text(req, sca_strdup(x), strlen(x));
}

/* How long the caller said it waits, as the server counts it: -1 unknown. */
static void m_deadline(rpc_request *req, void *arg)
{
    (void)arg;
    double deadline = rpc_request_deadline(req);
    rpc_request_reply(req, json_real(deadline > 0 ? deadline - sca_monotonic() : -1));
}

static const rpc_arg_spec a_x[] = {{"x", RPC_ARG_ANY, true, true}, {0}};
static const rpc_arg_spec a_n[] = {{"n", RPC_ARG_INT, true, false}, {0}};
static const rpc_method methods[] = {
    {"echo", m_echo, a_x},          {"boom", m_boom, NULL}, {"hold", m_hold, NULL},
    {"count", m_count, a_n},        {"big", m_big, a_n},    {"whoami", m_whoami, NULL},
    {"deadline", m_deadline, NULL}, {"text", m_text, a_x},  {0}};

static const rpc_target target = {.topic = "scalpels"};

static int setup(void **state)
{
    fixture *f = sca_calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    snprintf(f->dir, sizeof(f->dir), "/tmp/sca-rpc-local.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->url, sizeof(f->url), "unix://%s/run/agent.sock", f->dir);
    static rpc_endpoint endpoints[1];
    endpoints[0] = (rpc_endpoint){.methods = methods, .arg = f};
    rpc_options so = {.max_message_size = 100000};
    sca_error err = {0};
    if (rpc_transport_new(&f->loop, f->url, &so, &f->st, &err) != 0 ||
        rpc_server_new(f->st, "scalpels", "node1", endpoints, 1, &f->s, &err) != 0 ||
        rpc_transport_new(&f->loop, f->url, NULL, &f->ct, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static void finish(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->ct != NULL)
        rpc_transport_free(f->ct);
    if (f->st != NULL)
        rpc_transport_free(f->st);
    finish(&f->loop);
    char *run = sca_asprintf("%s/run", f->dir);
    rmdir(run);
    rmdir(f->dir);
    free(run);
    free(f);
    return 0;
}

static void record(const rpc_reply *r, void *arg)
{
    outcome *o = arg;
    o->calls++;
    o->status = r->status;
    json_decref(o->result);
    o->result = json_incref(r->result);
    snprintf(o->cls, sizeof(o->cls), "%s", r->fail_class ? r->fail_class : "");
    snprintf(o->message, sizeof(o->message), "%s",
             r->fail_message ? r->fail_message
             : r->detail     ? r->detail
                             : "");
}

static void wait_for(uv_loop_t *loop, const outcome *o)
{
    while (o->calls == 0)
        uv_run(loop, UV_RUN_ONCE);
}

static void call(fixture *f, const char *method, json_t *args, double timeout, outcome *o)
{
    memset(o, 0, sizeof(*o));
    assert_int_equal(rpc_call(f->ct, &target, method, args, NULL, timeout, record, o, NULL), 0);
    wait_for(&f->loop, o);
}

static void test_call_cast_error(void **state)
{
    fixture *f = *state;
    outcome o;
    call(f, "echo", json_pack("{s:[i,s]}", "x", 1, "\xc3\xbc"), 5, &o);
    assert_int_equal(o.status, 0);
    assert_string_equal(json_string_value(json_array_get(o.result, 1)), "\xc3\xbc");
    json_decref(o.result);

    call(f, "boom", NULL, 5, &o);
    assert_int_equal(o.status, -EREMOTEIO);
    assert_string_equal(o.cls, "ValueError");
    assert_string_equal(o.message, "boom 42");
    json_decref(o.result);

    for (int i = 0; i < 10; i++)
        assert_int_equal(rpc_cast(f->ct, &target, "count", json_pack("{s:i}", "n", 2), NULL, NULL),
                         0);
    assert_int_equal(rpc_flush_sync(f->ct, 5, NULL), 0);
    call(f, "count", json_pack("{s:i}", "n", 0), 5, &o);
    assert_int_equal(json_integer_value(o.result), 20);
    json_decref(o.result);

    call(f, "whoami", NULL, 5, &o);
    assert_int_equal(json_integer_value(json_object_get(o.result, "rc")), 0);
    assert_int_equal(json_integer_value(json_object_get(o.result, "uid")), (int)getuid());
    json_decref(o.result);

    json_t *result = NULL;
    char *cls = NULL;
    sca_error err = {0};
    assert_int_equal(rpc_call_sync(f->ct, &target, "nosuch", NULL, NULL, 5, &result, &cls, &err),
                     -EREMOTEIO);
    assert_string_equal(cls, "NoSuchMethod");
    assert_string_equal(err.msg, "NoSuchMethod: Endpoint does not support RPC method nosuch");
    free(cls);
    assert_int_equal(rpc_call_sync(f->ct, &target, "echo", json_pack("{s:s}", "x", "y"), NULL, 5,
                                   &result, NULL, &err),
                     0);
    assert_string_equal(json_string_value(result), "y");
    json_decref(result);
}

/* What a call made with rpc_call_text got: the result's text. */
typedef struct text_outcome {
    int calls;
    int status;
    char text[256];
    char cls[64];
} text_outcome;

static void record_text(const rpc_reply *r, void *arg)
{
    text_outcome *o = arg;
    o->calls++;
    o->status = r->status;
    assert_true(json_is_null(r->result));
    snprintf(o->text, sizeof(o->text), "%.*s", r->text != NULL ? (int)r->text_len : 0,
             r->text != NULL ? r->text : "");
    snprintf(o->cls, sizeof(o->cls), "%s", r->fail_class ? r->fail_class : "");
}

static void call_text(fixture *f, const char *method, json_t *args, text_outcome *o)
{
    memset(o, 0, sizeof(*o));
    assert_int_equal(rpc_call_text(f->ct, &target, method, args, NULL, 5, record_text, o, NULL), 0);
    while (o->calls == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static void test_results_as_text(void **state)
{
    fixture *f = *state;
    /* A reply written as text reaches a text call as that text, quotes and
     * escapes (doubly escaped inside the envelope) intact. */
    static const char page[] = "{\"data\":[[1.5,\"say \\\"hi\\\"\"],[2,3.0]],\"n\":2}";
    text_outcome t;
    call_text(f, "text", json_pack("{s:s}", "x", page), &t);
    assert_int_equal(t.status, 0);
    assert_string_equal(t.text, page);
    /* ... and a plain call as the value it holds. */
    outcome o;
    call(f, "text", json_pack("{s:s}", "x", page), 5, &o);
    assert_int_equal(o.status, 0);
    json_t *want = json_loads(page, 0, NULL);
    assert_true(json_equal(o.result, want));
    json_decref(want);
    json_decref(o.result);
    /* A reply made of jansson values reaches a text call as the server
     * wrote them. */
    call_text(f, "echo", json_pack("{s:[i,s]}", "x", 1, "a\"b"), &t);
    assert_int_equal(t.status, 0);
    assert_string_equal(t.text, "[1, \"a\\\"b\"]");
    /* Failures are failures. */
    call_text(f, "boom", NULL, &t);
    assert_int_equal(t.status, -EREMOTEIO);
    assert_string_equal(t.cls, "ValueError");
    /* Text calls and plain ones in flight together each get their own. */
    text_outcome t1 = {0};
    outcome o1 = {0}, o2 = {0};
    assert_int_equal(
        rpc_call(f->ct, &target, "echo", json_pack("{s:i}", "x", 5), NULL, 5, record, &o1, NULL),
        0);
    assert_int_equal(rpc_call_text(f->ct, &target, "text", json_pack("{s:s}", "x", "[7]"), NULL, 5,
                                   record_text, &t1, NULL),
                     0);
    assert_int_equal(rpc_call(f->ct, &target, "text", json_pack("{s:s}", "x", "[8]"), NULL, 5,
                              record, &o2, NULL),
                     0);
    while (o1.calls == 0 || t1.calls == 0 || o2.calls == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(json_integer_value(o1.result), 5);
    assert_string_equal(t1.text, "[7]");
    assert_int_equal(json_integer_value(json_array_get(o2.result, 0)), 8);
    json_decref(o1.result);
    json_decref(o2.result);
}

/* A unix call carries its timeout, so the server knows when its caller
 * gives up; a gather its window. */
static void test_caller_deadline(void **state)
{
    fixture *f = *state;
    outcome o;
    call(f, "deadline", NULL, 5, &o);
    assert_int_equal(o.status, 0);
    double left = json_real_value(o.result);
    if (!(left > 0 && left <= 5))
        fail_msg("a call with a 5 s timeout leaves the server %g s", left);
    json_decref(o.result);

    json_t *replies = NULL;
    rpc_target every = {.topic = "scalpels", .fanout = true};
    assert_int_equal(rpc_gather_sync(f->ct, &every, "deadline", NULL, NULL, 0.5, &replies, NULL),
                     0);
    assert_int_equal(json_array_size(replies), 1);
    left = json_real_value(json_object_get(json_array_get(replies, 0), "result"));
    if (!(left > 0 && left <= 0.5))
        fail_msg("a gather with a 0.5 s window leaves the server %g s", left);
    json_decref(replies);
}

static void test_timeout_then_late_reply(void **state)
{
    fixture *f = *state;
    outcome o;
    call(f, "hold", NULL, 0.2, &o);
    assert_int_equal(o.status, -ETIMEDOUT);
    assert_non_null(strstr(o.message, "Timed out waiting for a reply"));
    assert_non_null(f->held);
    /* The late answer reaches a client that no longer waits: dropped. */
    rpc_request_reply(f->held, json_string("late"));
    f->held = NULL;
    outcome next;
    call(f, "echo", json_pack("{s:i}", "x", 7), 5, &next);
    assert_int_equal(next.status, 0);
    assert_int_equal(json_integer_value(next.result), 7);
    assert_int_equal(o.calls, 1);
    json_decref(o.result);
    json_decref(next.result);
}

static void test_sizes(void **state)
{
    fixture *f = *state;
    rpc_transport *small;
    rpc_options opts = {.max_message_size = 1000};
    assert_int_equal(rpc_transport_new(&f->loop, f->url, &opts, &small, NULL), 0);
    char text[2000];
    memset(text, 'a', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    outcome o = {0};
    sca_error err = {0};
    assert_int_equal(
        rpc_call(small, &target, "echo", json_pack("{s:s}", "x", text), NULL, 5, record, &o, &err),
        -EMSGSIZE);
    assert_non_null(strstr(err.msg, "exceeds max_message_size 1000"));
    rpc_transport_free(small);

    /* A request over the server's limit (100000) is answered with an error. */
    char *huge = sca_malloc(150000);
    memset(huge, 'h', 149999);
    huge[149999] = '\0';
    call(f, "echo", json_pack("{s:s}", "x", huge), 5, &o);
    free(huge);
    assert_int_equal(o.status, -EREMOTEIO);
    assert_string_equal(o.cls, "ValueError");
    assert_non_null(strstr(o.message, "exceeds max_message_size 100000"));
    json_decref(o.result);

    /* So is a reply over it. */
    call(f, "big", json_pack("{s:i}", "n", 200000), 5, &o);
    assert_int_equal(o.status, -EREMOTEIO);
    assert_non_null(strstr(o.message, "reply of"));
    json_decref(o.result);
    call(f, "big", json_pack("{s:i}", "n", 1000), 5, &o);
    assert_int_equal(o.status, 0);
    json_decref(o.result);

    /* A reply over the caller's own limit fails that call at once. */
    opts.max_message_size = 5000;
    assert_int_equal(rpc_transport_new(&f->loop, f->url, &opts, &small, NULL), 0);
    memset(&o, 0, sizeof(o));
    assert_int_equal(
        rpc_call(small, &target, "big", json_pack("{s:i}", "n", 20000), NULL, 30, record, &o, NULL),
        0);
    wait_for(&f->loop, &o);
    assert_int_equal(o.status, -EMSGSIZE);
    assert_non_null(strstr(o.message, "exceeds max_message_size 5000"));
    json_decref(o.result);
    rpc_transport_free(small);
}

/* Calls "hold" and runs the loop until the server holds the request. */
static void hold_one(fixture *f, outcome *o)
{
    assert_int_equal(rpc_call(f->ct, &target, "hold", NULL, NULL, 5, record, o, NULL), 0);
    while (f->held == NULL)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static void test_server_freed_with_request_held(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    hold_one(f, &o);
    rpc_server_free(f->s);
    f->s = NULL;
    /* Still valid after the server is gone; the answer goes nowhere. */
    assert_string_equal(rpc_request_method(f->held), "hold");
    rpc_request_reply(f->held, json_true());
    f->held = NULL;
    wait_for(&f->loop, &o);
    assert_int_equal(o.status, -ECONNRESET);
    json_decref(o.result);
}

typedef struct stop_seen {
    int calls;
    size_t dropped;
} stop_seen;

static void free_when_stopped(rpc_server *s, size_t dropped, void *arg)
{
    stop_seen *seen = arg;
    seen->calls++;
    seen->dropped = dropped;
    rpc_server_free(s);
}

/* A graceful stop waits for the request being handled, which answers. */
static void test_stop_answers_what_it_took(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    hold_one(f, &o);
    stop_seen seen = {0};
    rpc_server_stop(f->s, 5, free_when_stopped, &seen);
    for (int i = 0; i < 5; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(seen.calls, 0);
    rpc_request_reply(f->held, json_string("late but whole"));
    f->held = NULL;
    wait_for(&f->loop, &o);
    assert_int_equal(o.status, 0);
    assert_string_equal(json_string_value(o.result), "late but whole");
    while (seen.calls == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(seen.dropped, 0);
    f->s = NULL;
    json_decref(o.result);
}

/* ... but not beyond its grace: what is still unanswered is counted. */
static void test_stop_grace_ends(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    hold_one(f, &o);
    stop_seen seen = {0};
    rpc_server_stop(f->s, 0.1, free_when_stopped, &seen);
    while (seen.calls == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(seen.dropped, 1);
    f->s = NULL;
    rpc_request_reply(f->held, json_true());
    f->held = NULL;
    wait_for(&f->loop, &o);
    assert_int_equal(o.status, -ECONNRESET);
    json_decref(o.result);
}

static void free_when_down(rpc_transport *t, bool up, const char *detail, void *arg)
{
    (void)detail;
    fixture *f = arg;
    if (!up && t == f->st) {
        rpc_transport_free(t);
        f->st = NULL;
    }
}

/* The state callback may free its transport, also while the transport's
 * last server is being freed (which is what takes it down). */
static void test_state_callback_frees_transport_in_server_free(void **state)
{
    fixture *f = *state;
    rpc_transport_on_state(f->st, free_when_down, f);
    rpc_server_free(f->s);
    f->s = NULL;
    assert_null(f->st);
}

static void test_free_cancels_pending(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    hold_one(f, &o);
    rpc_transport_free(f->ct);
    f->ct = NULL;
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.status, -ECANCELED);
    json_decref(o.result);
    rpc_request_reply(f->held, NULL);
    f->held = NULL;
}

static void test_bad_endpoints(void **state)
{
    fixture *f = *state;
    rpc_endpoint bad = {.version = "one", .methods = methods};
    rpc_server *s = NULL;
    sca_error err = {0};
    rpc_transport *t;
    char *url = sca_asprintf("unix://%s/other.sock", f->dir);
    assert_int_equal(rpc_transport_new(&f->loop, url, NULL, &t, NULL), 0);
    assert_int_equal(rpc_server_new(t, "scalpels", NULL, &bad, 1, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "one"));
    rpc_endpoint good = {.methods = methods};
    assert_int_equal(rpc_server_new(t, "scalpels", NULL, &good, 1, &s, &err), 0);
    rpc_server *second = NULL;
    assert_int_equal(rpc_server_new(t, "scalpels", NULL, &good, 1, &second, &err), -EBUSY);
    rpc_transport_free(t);
    free(url);
}

/* No broker: calls made during the first connection attempt wait for it
 * and fail with its error; later ones fail at once. */
static void test_amqp_without_broker(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_transport *t;
    rpc_options opts = {.connect_timeout = 1};
    assert_int_equal(rpc_transport_new(&loop, "rabbit://guest:guest@127.0.0.1:1/", &opts, &t, NULL),
                     0);
    assert_string_equal(rpc_transport_describe(t), "rabbit://127.0.0.1:1/");
    assert_false(rpc_transport_is_up(t));
    outcome o = {0};
    assert_int_equal(rpc_call(t, &target, "echo", NULL, NULL, 5, record, &o, NULL), 0);
    assert_int_equal(rpc_cast(t, &target, "count", NULL, NULL, NULL), 0);
    wait_for(&loop, &o);
    assert_int_equal(o.status, -ENOTCONN);
    assert_non_null(strstr(o.message, "Connection refused"));
    sca_error err = {0};
    assert_int_equal(rpc_flush_sync(t, 1, &err), -EIO);
    assert_non_null(strstr(err.msg, "Connection refused"));
    assert_int_equal(rpc_call(t, &target, "echo", NULL, NULL, 5, record, &o, &err), -ENOTCONN);
    assert_non_null(strstr(err.msg, "not connected to rabbit://127.0.0.1:1/"));
    assert_int_equal(rpc_call(t, &(rpc_target){.topic = "t", .fanout = true}, "echo", NULL, NULL, 5,
                              record, &o, &err),
                     -EINVAL);
    json_decref(o.result);
    rpc_transport_free(t);
    finish(&loop);
}

/* A server that accepts nothing and reads nothing: once 8 MiB wait for it,
 * a new call is refused at once, and the calls already sent keep waiting
 * (they are not failed from inside the refused send). */
static void test_unread_server_refuses_new_calls(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/sca-rpc-stuck.XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/agent.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    char *url = sca_asprintf("unix://%s", sa.sun_path);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_transport *t;
    rpc_options opts = {.max_message_size = 4 << 20};
    assert_int_equal(rpc_transport_new(&loop, url, &opts, &t, NULL), 0);
    char *text = sca_malloc(3 << 20);
    memset(text, 'a', (3 << 20) - 1);
    text[(3 << 20) - 1] = '\0';
    outcome o[8] = {0};
    sca_error err = {0};
    int sent = 0, rc = 0;
    while (sent < 8 && (rc = rpc_call(t, &target, "echo", json_pack("{s:s}", "x", text), NULL, 30,
                                      record, &o[sent], &err)) == 0)
        sent++;
    free(text);
    assert_int_equal(rc, -ENOBUFS);
    assert_non_null(strstr(err.msg, "send buffer to unix://"));
    assert_true(sent >= 2);
    uv_run(&loop, UV_RUN_NOWAIT);
    for (int i = 0; i < sent; i++)
        assert_int_equal(o[i].calls, 0);
    rpc_transport_free(t);
    for (int i = 0; i < sent; i++) {
        assert_int_equal(o[i].calls, 1);
        assert_int_equal(o[i].status, -ECANCELED);
        json_decref(o[i].result);
    }
    finish(&loop);
    close(fd);
    unlink(sa.sun_path);
    rmdir(dir);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_cast_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_as_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caller_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_late_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_freed_with_request_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_cancels_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_answers_what_it_took, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_grace_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_callback_frees_transport_in_server_free, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_endpoints, setup, teardown),
        cmocka_unit_test(test_amqp_without_broker),
        cmocka_unit_test(test_unread_server_refuses_new_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
