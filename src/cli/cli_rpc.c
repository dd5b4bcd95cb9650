/* cli_rpc.c - how sca and sca-manage reach an agent: the transport from
 * the configuration or --transport-url, synchronous calls, and failures
 * turned into one printed line and an exit code (see cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli.h"
#include "scalpels/log.h"
#include "scalpels/rpc.h"
#include "scalpels/util.h"

struct cli_rpc {
    uv_loop_t loop;
    rpc_transport *t;
    rpc_target target;
    double timeout;
    double window;  /* how long a gather waits for answers */
    char *host;     /* --host, or the agent the first call found */
    bool pin_tried; /* over the shared topic: the first call asked for a host */
    bool pinned;    /* host is the one that answered, not --host */
    const char *config_path;
    const char *url_from; /* where the transport URL was given, for errors */
    bool unix_socket;
};

/* The unix socket reaches the local agent only: --host another node
 * would silently ask the wrong one. */
static int check_host(const cli_rpc *c, const config *cfg)
{
    if (!c->unix_socket || c->host == NULL || strcmp(c->host, cfg->host) == 0)
        return CLI_OK;
    return cli_fail(CLI_USAGE,
                    "--host %s needs an AMQP transport (transport_url = rabbit://...); %s "
                    "reaches only this node (%s)",
                    c->host, rpc_transport_describe(c->t), cfg->host);
}

static void options_from(const config *cfg, double timeout, rpc_options *ro)
{
    *ro = (rpc_options){
        .exchange = cfg->control_exchange,
        .heartbeat = cfg->heartbeat,
        .max_message_size = cfg->max_message_size,
        .durable_queues = cfg->amqp_durable_queues,
        .quorum_queues = cfg->rabbit_quorum_queue,
        .connect_timeout = timeout,
        .ssl_ca_file = cfg->ssl_ca_file,
        .ssl_cert_file = cfg->ssl_cert_file,
        .ssl_key_file = cfg->ssl_key_file,
        .ssl_verify = cfg->ssl_verify,
        .program = cli_prog,
        /* An operator waiting at a terminal hears at once that an agent has
         * stopped, instead of after the timeout. */
        .require_listener = true,
        /* A command has nothing to do while it connects: no thread pool to
         * start (and join at exit) for it. */
        .dial_on_loop = true,
    };
}

int cli_rpc_open(const cli_conn_opts *o, cli_rpc **out)
{
    const config *cfg = o->cfg;
    cli_rpc *c = sca_calloc(1, sizeof(*c));
    int rc = uv_loop_init(&c->loop);
    if (rc != 0) {
        free(c);
        return cli_fail(CLI_FAILED, "cannot make an event loop: %s", uv_strerror(rc));
    }
    c->timeout = o->timeout > 0 ? o->timeout : cfg->rpc_timeout;
    c->window = cli_gather_window(o);
    c->config_path = o->config_path;
    c->url_from = o->transport_url != NULL ? "--transport-url" : cfg->source;
    c->host = o->host != NULL ? sca_strdup(o->host) : NULL;
    char *url = o->transport_url != NULL ? sca_strdup(o->transport_url) : config_transport_url(cfg);
    c->unix_socket = strncmp(url, "unix:", 5) == 0;
    rpc_options ro;
    options_from(cfg, c->timeout, &ro);
    sca_error err = {0};
    rc = rpc_transport_new(&c->loop, url, &ro, &c->t, &err);
    /* The URL the file gave is at fault (not, say, a TLS file): say where. */
    if (rc != 0 && o->transport_url == NULL && rpc_url_check(url, NULL) != 0)
        config_transport_url_error(cfg, &err);
    free(url);
    int code = rc == 0 ? check_host(c, cfg) : cli_fail(CLI_USAGE, "%s", err.msg);
    if (code != CLI_OK) {
        cli_rpc_close(c);
        return code;
    }
    c->target = (rpc_target){.topic = cfg->topic, .server = c->host};
    *out = c;
    return CLI_OK;
}

void cli_rpc_close(cli_rpc *c)
{
    if (c == NULL)
        return;
    if (c->t != NULL) {
        rpc_transport_free(c->t);
        /* Until the transport's handles are closed and its memory freed. */
        while (uv_run(&c->loop, UV_RUN_DEFAULT) != 0)
            ;
    }
    int rc = uv_loop_close(&c->loop);
    if (rc != 0)
        log_debug("event loop not closed: %s", uv_strerror(rc));
    free(c->host);
    free(c);
}

const char *cli_rpc_pinned_host(const cli_rpc *c)
{
    return c->pinned ? c->host : NULL;
}

void cli_rpc_set_host(cli_rpc *c, const char *host)
{
    free(c->host);
    c->host = sca_strdup(host);
    c->target.server = c->host;
    c->pinned = false;
}

const char *cli_rpc_topic(const cli_rpc *c)
{
    return c->target.topic;
}

const char *cli_rpc_describe(const cli_rpc *c)
{
    return rpc_transport_describe(c->t);
}

double cli_rpc_window(const cli_rpc *c)
{
    return c->window;
}

double cli_rpc_timeout(const cli_rpc *c)
{
    return c->timeout;
}

bool cli_rpc_is_unix(const cli_rpc *c)
{
    return c->unix_socket;
}

/* Over AMQP without --host, whichever agent takes a call from the shared
 * topic queue answers it, and a command's calls (a task, then each of its
 * results) could reach different nodes.  So the first call asks one agent
 * for its host name and the command's calls all go there.  A server that
 * is not a scalpels agent (no agent_info) is left unpinned.  0, or a
 * negative errno code with err set. */
static int pin_agent(cli_rpc *c, sca_error *err)
{
    c->pin_tried = true;
    json_t *info = NULL;
    int rc =
        rpc_call_sync(c->t, &c->target, "agent_info", NULL, NULL, c->timeout, &info, NULL, err);
    const char *host = json_string_value(json_object_get(info, "host"));
    if (rc == 0 && host != NULL && host[0] != '\0') {
        c->host = sca_strdup(host);
        c->target.server = c->host;
        c->pinned = true;
    }
    json_decref(info);
    return rc == -EREMOTEIO ? 0 : rc;
}

void cli_rpc_single_call(cli_rpc *c)
{
    c->pin_tried = true;
}

/* Pins the agent before a command's first call when it must (pin_agent). */
static int pin_first(cli_rpc *c, sca_error *err)
{
    if (!c->unix_socket && c->host == NULL && !c->pin_tried)
        return pin_agent(c, err);
    return 0;
}

int cli_rpc_call(cli_rpc *c, const char *method, json_t *args, double timeout, json_t **result,
                 sca_error *err)
{
    int rc = pin_first(c, err);
    if (rc != 0) {
        json_decref(args);
        return rc;
    }
    return rpc_call_sync(c->t, &c->target, method, args, NULL, timeout > 0 ? timeout : c->timeout,
                         result, NULL, err);
}

struct cli_text_call {
    bool done;
    bool abandoned; /* its caller left: the reply frees it */
    int status;
    char *text;
    size_t len;
    char *detail;
};

static void text_call_free(cli_text_call *call)
{
    free(call->text);
    free(call->detail);
    free(call);
}

static void text_call_done(const rpc_reply *r, void *arg)
{
    cli_text_call *call = arg;
    if (call->abandoned) {
        text_call_free(call);
        return;
    }
    call->done = true;
    call->status = r->status;
    if (r->status == 0) {
        call->text = sca_malloc(r->text_len + 1);
        memcpy(call->text, r->text, r->text_len);
        call->text[r->text_len] = '\0';
        call->len = r->text_len;
    } else {
        call->detail = sca_strdup(r->detail != NULL ? r->detail : "call failed");
    }
}

int cli_rpc_call_text(cli_rpc *c, const char *method, json_t *args, cli_text_call **out,
                      sca_error *err)
{
    *out = NULL;
    int rc = pin_first(c, err);
    if (rc != 0) {
        json_decref(args);
        return rc;
    }
    cli_text_call *call = sca_calloc(1, sizeof(*call));
    rc = rpc_call_text(c->t, &c->target, method, args, NULL, c->timeout, text_call_done, call, err);
    if (rc != 0)
        free(call);
    else
        *out = call;
    return rc;
}

int cli_rpc_wait_text(cli_rpc *c, cli_text_call *call, char **text, size_t *len, sca_error *err)
{
    while (!call->done) {
        if (uv_run(&c->loop, UV_RUN_ONCE) == 0)
            break;
    }
    int rc = !call->done ? sca_error_set(err, -EIO, "the loop stopped before the call completed")
             : call->status != 0 ? sca_error_set(err, call->status, "%s", call->detail)
                                 : 0;
    if (rc == 0) {
        *text = call->text;
        *len = call->len;
        call->text = NULL;
    }
    if (call->done)
        text_call_free(call);
    else
        call->abandoned = true;
    return rc;
}

void cli_rpc_abandon_text(cli_text_call *call)
{
    if (call == NULL)
        return;
    if (call->done)
        text_call_free(call);
    else
        call->abandoned = true;
}

/* Connection errors and timeouts mean no agent; the rest are ours. */
static bool unreachable(int rc)
{
    return rc != -EREMOTEIO && rc != -EMSGSIZE && rc != -EINVAL && rc != -ENOBUFS && rc != -EPROTO;
}

static char *broker_failed(const cli_rpc *c, const char *reason)
{
    return sca_asprintf("cannot reach the broker: %s (check %s%s)", reason,
                        c->url_from != NULL && c->url_from[0] == '-' ? "" : "transport_url in ",
                        c->url_from != NULL ? c->url_from : "the configuration");
}

/* A broker that accepted the connection and then said nothing (or not
 * enough) until the call or the gather's window ended. */
static bool broker_silent(const cli_rpc *c)
{
    return !c->unix_socket && !rpc_transport_is_up(c->t);
}

static char *broker_silent_failed(const cli_rpc *c, double seconds)
{
    char reason[SCA_ERRMSG_MAX];
    snprintf(reason, sizeof(reason), "%s did not complete the connection within %gs",
             rpc_transport_describe(c->t), seconds);
    return broker_failed(c, reason);
}

/* What failed, as the one line cli_call_failed prints (a new string), and
 * its exit code in *code: rc and msg from a call to host (NULL: the shared
 * topic), which took the command from the shared topic when pinned. */
static char *failure_text(const cli_rpc *c, const char *host, bool pinned, int rc, const char *msg,
                          int *code)
{
    *code = CLI_UNREACHABLE;
    /* The agent runs and answered, but only to say it takes no more
     * connections: as good as unreachable, for the reason it gave. */
    if (rc == -EREMOTEIO && strncmp(msg, "TooManyConnections:", 19) == 0)
        return sca_asprintf("the agent is refusing connections: too many open on %s (see its log); "
                            "root and the agent's user still get in",
                            rpc_transport_describe(c->t));
    /* The task or result may well be another node's. */
    if (rc == -EREMOTEIO && pinned && strncmp(msg, "NotFound:", 9) == 0) {
        *code = CLI_FAILED;
        return sca_asprintf("%s on host %s, the agent that took the command from topic %s (give "
                            "--host NODE, or --all-hosts)",
                            msg, host, c->target.topic);
    }
    if (!unreachable(rc)) {
        *code = CLI_FAILED;
        return sca_strdup(msg);
    }
    /* Over AMQP, not connected means the broker: no agent was asked. */
    if (rc == -ENOTCONN && !c->unix_socket)
        return broker_failed(c, msg);
    if (rc == -EHOSTUNREACH && host != NULL)
        return sca_asprintf("no agent has listened as host %s on %s since the broker started: "
                            "check the name ('sca hosts' lists the agents that answer)",
                            host, rpc_transport_describe(c->t));
    if (rc == -EHOSTDOWN && host != NULL)
        return sca_asprintf("the agent of host %s is not running: its queue on %s has no consumer "
                            "(start it on %s with 'sca-agent', or see its log)",
                            host, rpc_transport_describe(c->t), host);
    if (rc == -ETIMEDOUT && broker_silent(c))
        return broker_silent_failed(c, c->timeout);
    /* Something listens on the socket (the kernel accepted for it), but
     * does not answer: an agent that is stopped, hung or overloaded. */
    if (rc == -ETIMEDOUT && c->unix_socket && rpc_transport_is_up(c->t))
        return sca_asprintf(
            "the agent on %s accepted the connection but did not answer within %gs: "
            "it runs but is stopped, hung or overloaded (see its log, or try a "
            "longer --timeout)",
            rpc_transport_describe(c->t), c->timeout);
    if (rc == -ETIMEDOUT && host != NULL && !pinned)
        return sca_asprintf("the agent of host %s did not answer within %gs: it is stopped, hung "
                            "or overloaded (see its log, or try a longer --timeout)",
                            host, c->timeout);
    if (rc == -EACCES && c->unix_socket)
        return sca_asprintf(
            "cannot use the agent's socket %s (Permission denied): the socket, or a "
            "directory above it, is closed to this user: run as root or as a member "
            "of the socket's group (ls -l the socket and its directories)",
            rpc_transport_describe(c->t));
    char reason[SCA_ERRMSG_MAX];
    if (rc == -ETIMEDOUT)
        snprintf(reason, sizeof(reason), "no reply within %gs", c->timeout);
    else if (c->unix_socket)
        snprintf(reason, sizeof(reason), "%s", strerror(-rc));
    else
        snprintf(reason, sizeof(reason), "%s", msg);
    return sca_asprintf("no agent answered on %s%s%s (%s): start it with 'sca-agent%s%s' "
                        "(or 'systemctl start sca-agent')",
                        rpc_transport_describe(c->t), host ? " for host " : "", host ? host : "",
                        reason, c->config_path ? " --config " : "",
                        c->config_path ? c->config_path : "");
}

int cli_call_failed(const cli_rpc *c, int rc, const sca_error *err)
{
    int code;
    char *text = failure_text(c, c->host, c->pinned, rc, err->msg, &code);
    cli_fail(code, "%s", text);
    free(text);
    return code;
}

double cli_gather_window(const cli_conn_opts *o)
{
    return o->timeout > 0 ? o->timeout : CLI_GATHER_WINDOW;
}

/* A gather and the count of listeners it waits for, side by side.  The
 * gather's last callback (its window closed) and the count's callback may
 * come after cli_gather has returned: the state lives until both came. */
struct gather {
    json_t *replies;
    int refs;      /* cli_gather, the gather's end, the count */
    bool ended;    /* the window closed, or the gather failed */
    bool left;     /* cli_gather returned: later replies are dropped */
    int status;    /* of the end: -ETIMEDOUT when the window closed */
    char *detail;  /* of a failed end */
    int listeners; /* counted, or -1 */
};

static void gather_unref(struct gather *g)
{
    if (--g->refs > 0)
        return;
    json_decref(g->replies);
    free(g->detail);
    free(g);
}

static void gather_reply(const rpc_reply *r, void *arg)
{
    struct gather *g = arg;
    if (r->status == 0 && !g->left) {
        json_array_append_new(g->replies, json_pack("{s:O}", "result", r->result));
    } else if (r->status == -EREMOTEIO && !g->left) {
        json_array_append_new(g->replies, json_pack("{s:s,s:s}", "error", r->detail, "class",
                                                    r->fail_class ? r->fail_class : ""));
    } else if (r->status != 0 && r->status != -EREMOTEIO) {
        g->ended = true;
        g->status = r->status;
        g->detail = sca_strdup(r->detail != NULL ? r->detail : "gather failed");
        gather_unref(g);
    }
}

static void gather_counted(int status, unsigned count, const char *detail, void *arg)
{
    struct gather *g = arg;
    if (status == 0)
        g->listeners = (int)count;
    else
        log_debug("cannot count the listeners: %s", detail);
    gather_unref(g);
}

/* Every listener answered: no need to wait for the window. */
static bool all_answered(const struct gather *g)
{
    return g->listeners >= 0 && json_array_size(g->replies) >= (size_t)g->listeners;
}

int cli_gather(cli_rpc *c, const char *method, json_t *args, json_t **replies, int *listeners)
{
    rpc_target every = {.topic = c->target.topic, .fanout = true};
    struct gather *g = sca_calloc(1, sizeof(*g));
    *g = (struct gather){.replies = json_array(), .refs = 1, .listeners = -1};
    sca_error err = {0};
    int rc = rpc_gather(c->t, &every, method, args, NULL, c->window, gather_reply, g, &err);
    if (rc == 0) {
        g->refs++;
        if (rpc_count_listeners(c->t, &every, gather_counted, g, NULL) == 0)
            g->refs++;
    }
    while (rc == 0 && !g->ended && !all_answered(g)) {
        if (uv_run(&c->loop, UV_RUN_ONCE) == 0)
            break;
    }
    if (rc == 0 && g->ended && g->status != -ETIMEDOUT)
        rc = sca_error_set(&err, g->status, "%s", g->detail);
    g->left = true;
    *replies = json_incref(g->replies);
    *listeners = g->listeners;
    gather_unref(g);
    if (rc != 0) {
        json_decref(*replies);
        *replies = NULL;
        return cli_call_failed(c, rc, &err);
    }
    if (json_array_size(*replies) == 0 && broker_silent(c)) {
        json_decref(*replies);
        *replies = NULL;
        char *text = broker_silent_failed(c, c->window);
        cli_fail(CLI_UNREACHABLE, "%s", text);
        free(text);
        return CLI_UNREACHABLE;
    }
    return CLI_OK;
}

/* --- Calls to many nodes at once ----------------------------------------- */

struct fanout {
    cli_rpc *c;
    json_t *answers;
    size_t pending;
};

struct fanout_call {
    struct fanout *f;
    size_t index;
    const char *host;
};

static void fanout_reply(const rpc_reply *r, void *arg)
{
    struct fanout_call *call = arg;
    struct fanout *f = call->f;
    json_t *answer = json_array_get(f->answers, call->index);
    if (r->status == 0) {
        json_object_set(answer, "result", r->result);
    } else {
        int code;
        char *text = failure_text(f->c, call->host, false, r->status,
                                  r->detail != NULL ? r->detail : "call failed", &code);
        json_object_set_new(answer, "error", json_string(text));
        json_object_set_new(answer, "class",
                            r->fail_class != NULL ? json_string(r->fail_class) : json_null());
        json_object_set_new(answer, "exit", json_integer(code));
        free(text);
    }
    f->pending--;
    free(call);
}

int cli_call_each(cli_rpc *c, const json_t *calls, const char *method, json_t **answers)
{
    struct fanout f = {.c = c, .answers = json_array()};
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call)
    {
        const char *host = json_string_value(json_object_get(call, "host"));
        json_t *answer = json_pack("{s:s}", "host", host);
        json_array_append_new(f.answers, answer);
        struct fanout_call *fc = sca_calloc(1, sizeof(*fc));
        *fc = (struct fanout_call){
            .f = &f, .index = i, .host = json_string_value(json_object_get(answer, "host"))};
        rpc_target target = c->target;
        target.server = host;
        json_t *args = json_object_get(call, "args");
        sca_error err = {0};
        int rc = rpc_call(c->t, &target, method, args != NULL ? json_deep_copy(args) : NULL, NULL,
                          c->timeout, fanout_reply, fc, &err);
        f.pending++;
        if (rc != 0) {
            rpc_reply failed = {.status = rc, .result = json_null(), .detail = err.msg};
            fanout_reply(&failed, fc);
        }
    }
    while (f.pending > 0) {
        if (uv_run(&c->loop, UV_RUN_ONCE) == 0)
            break;
    }
    *answers = f.answers;
    return f.pending == 0 ? CLI_OK : cli_fail(CLI_FAILED, "the event loop stopped with calls out");
}

int cli_call_hosts(cli_rpc *c, const json_t *hosts, const char *method, const json_t *args,
                   json_t **answers)
{
    json_t *calls = json_array();
    size_t i;
    json_t *host;
    json_array_foreach(hosts, i, host)
    {
        json_t *call = json_pack("{s:O}", "host", host);
        if (args != NULL)
            json_object_set(call, "args", (json_t *)args);
        json_array_append_new(calls, call);
    }
    int code = cli_call_each(c, calls, method, answers);
    json_decref(calls);
    return code;
}

struct queue_count {
    json_t *counts;
    size_t index;
    size_t *pending;
};

static void queue_counted(int status, unsigned count, const char *detail, void *arg)
{
    struct queue_count *q = arg;
    if (status == 0)
        json_array_set_new(q->counts, q->index, json_integer(count));
    else
        log_debug("cannot count the listeners: %s", detail);
    (*q->pending)--;
    free(q);
}

json_t *cli_count_hosts(cli_rpc *c, const json_t *hosts)
{
    json_t *counts = json_array();
    size_t pending = 0, i;
    json_t *host;
    json_array_foreach(hosts, i, host)
    {
        json_array_append_new(counts, json_integer(-1));
        struct queue_count *q = sca_calloc(1, sizeof(*q));
        *q = (struct queue_count){.counts = counts, .index = i, .pending = &pending};
        rpc_target target = c->target;
        target.server = json_string_value(host);
        if (rpc_count_listeners(c->t, &target, queue_counted, q, NULL) == 0)
            pending++;
        else
            free(q);
    }
    while (pending > 0) {
        if (uv_run(&c->loop, UV_RUN_ONCE) == 0)
            break;
    }
    return counts;
}

int cli_call(cli_rpc *c, const char *method, json_t *args, json_t **result)
{
    sca_error err = {0};
    int rc = cli_rpc_call(c, method, args, 0, result, &err);
    return rc == 0 ? CLI_OK : cli_call_failed(c, rc, &err);
}
