/* rpc_transport.c - the transport object: URL, options, carrier choice and
 * lifetime (see rpc.h and rpc_transport.h). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_transport.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

static char *dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? sca_strdup(s) : NULL;
}

static void copy_options(rpc_transport *t, const rpc_options *o)
{
    static const rpc_options defaults = {0};
    if (o == NULL)
        o = &defaults;
    t->exchange =
        sca_strdup(o->exchange != NULL && o->exchange[0] ? o->exchange : RPC_DEFAULT_EXCHANGE);
    t->max_message_size = o->max_message_size ? o->max_message_size : RPC_DEFAULT_MAX_MESSAGE_SIZE;
    t->heartbeat = o->heartbeat > 0 ? o->heartbeat : 0;
    t->durable_queues = o->durable_queues;
    t->quorum_queues = o->quorum_queues;
    t->require_listener = o->require_listener;
    t->dial_on_loop = o->dial_on_loop;
    t->connect_timeout = o->connect_timeout > 0 ? fmin(o->connect_timeout, RPC_TIMEOUT_MAX) : 10;
    t->reconnect_max = o->reconnect_max > 0 ? o->reconnect_max : 5;
    t->idle_timeout = o->idle_timeout > 0 ? fmin(o->idle_timeout, RPC_TIMEOUT_MAX) : 30;
    t->ssl_ca_file = dup_or_null(o->ssl_ca_file);
    t->ssl_cert_file = dup_or_null(o->ssl_cert_file);
    t->ssl_key_file = dup_or_null(o->ssl_key_file);
    t->ssl_verify = o->ssl_verify;
    t->program = sca_strdup(o->program != NULL ? o->program : "scalpels");
}

/* A peer that hangs up makes the next write raise SIGPIPE, which would kill
 * the program; the write's EPIPE is what we handle.  A handler the program
 * installed itself is left alone (children spawned with libuv get the
 * default disposition back). */
static void ignore_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

int rpc_transport_new(uv_loop_t *loop, const char *url, const rpc_options *opts,
                      rpc_transport **out, sca_error *err)
{
    ignore_sigpipe();
    rpc_transport *t = sca_calloc(1, sizeof(*t));
    t->loop = loop;
    copy_options(t, opts);
    int rc = rpc_url_parse(url, &t->url, err);
    if (rc == 0) {
        /* As oslo: the URL's query overrides the options, and quorum
         * queues are durable (and so is the topic exchange then). */
        if (t->url.durable_queues >= 0)
            t->durable_queues = t->url.durable_queues;
        if (t->url.quorum_queues >= 0)
            t->quorum_queues = t->url.quorum_queues;
        t->durable_queues = t->durable_queues || t->quorum_queues;
        t->carrier = t->url.kind == RPC_URL_UNIX ? &rpc_unix_carrier : &rpc_amqp_carrier;
        rpc_client_init(t);
        rc = t->carrier->open(t, &t->url, err);
    }
    if (rc != 0) {
        t->carrier = NULL;
        rpc_transport_destroy(t);
        return rc;
    }
    *out = t;
    return 0;
}

int rpc_url_check(const char *url, sca_error *err)
{
    rpc_url parsed;
    int rc = rpc_url_parse(url, &parsed, err);
    if (rc == 0)
        rpc_url_free(&parsed);
    return rc;
}

void rpc_transport_free(rpc_transport *t)
{
    if (t == NULL || t->closing)
        return;
    t->closing = true;
    while (t->servers != NULL)
        rpc_server_free(t->servers);
    rpc_client_fail_all(t, -ECANCELED, "the transport was closed");
    t->carrier->close(t);
}

void rpc_transport_destroy(rpc_transport *t)
{
    rpc_client_free(t);
    rpc_url_free(&t->url);
    free(t->exchange);
    free(t->ssl_ca_file);
    free(t->ssl_cert_file);
    free(t->ssl_key_file);
    free(t->program);
    free(t);
}

double rpc_expiration_parse(const char *text, size_t len)
{
    /* Up to a week in ms is 9 digits; more is not a timeout of ours. */
    if (len == 0 || len > 12)
        return 0;
    double ms = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        ms = ms * 10 + (text[i] - '0');
    }
    return ms / 1000;
}

const char *rpc_transport_describe(const rpc_transport *t)
{
    return t->url.describe;
}

void rpc_transport_on_state(rpc_transport *t, rpc_state_cb cb, void *arg)
{
    t->state_cb = cb;
    t->state_arg = arg;
}

bool rpc_transport_is_up(const rpc_transport *t)
{
    return t->up;
}

void rpc_transport_set_up(rpc_transport *t, bool up, enum log_level level, const char *detail)
{
    if (t->up == up || t->closing)
        return;
    t->up = up;
    log_msg(level, "rpc: %s: %s", t->url.describe, detail);
    if (t->state_cb != NULL)
        t->state_cb(t, up, detail, t->state_arg);
}

enum log_level rpc_transport_routine_level(const rpc_transport *t)
{
    return t->servers != NULL ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
}
