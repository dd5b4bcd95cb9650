/*
 * methods.c - RPC handlers that change state, run on the loop thread:
 * starting and stopping tracers and tasks, registrations, options, the
 * agent's own info and shutdown.  Method names and arguments are the
 * original prototype's (docs/agent.md).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent.h"
#include "scalpels/log.h"
#include "scalpels/parse.h"
#include "scalpels/template.h"
#include "scalpels/util.h"

#define ERRORS_MODULE AGENT_ERRORS_MODULE

void methods_fail(rpc_request *req, int code, const sca_error *err)
{
    const char *msg = err && err->msg[0] ? err->msg : strerror(-code);
    switch (code) {
    case -EINVAL:
        rpc_request_fail(req, "ValueError", "builtins", "%s", msg);
        break;
    case -ENOENT:
        rpc_request_fail(req, "NotFound", ERRORS_MODULE, "%s", msg);
        break;
    case -EPERM:
    case -EACCES:
        rpc_request_fail(req, "PermissionDenied", ERRORS_MODULE, "%s", msg);
        break;
    default:
        rpc_request_fail(req, "StoreError", ERRORS_MODULE, "%s", msg);
        break;
    }
}

#define REPLY_MARGIN 1.0 /* seconds an answer may need to reach its caller */

double methods_store_deadline(const rpc_request *req)
{
    double deadline = rpc_request_deadline(req);
    if (deadline <= 0)
        return 0;
    double left = fmax(deadline - sca_monotonic(), 0);
    return deadline - fmin(REPLY_MARGIN, left / 4);
}

/* Admin methods change what the node runs: only from the unix socket, and
 * only from root or the agent's own user. */
static bool admin_check(rpc_request *req)
{
    uid_t uid;
    if (rpc_request_peer_uid(req, &uid) == 0 && (uid == 0 || uid == geteuid()))
        return true;
    rpc_request_fail(req, "PermissionDenied", ERRORS_MODULE,
                     "%s is an admin method: call it over the agent's unix socket as root or as "
                     "the agent's user",
                     rpc_request_method(req));
    return false;
}

/* Checks that every name is registered; the unknown ones are named in err. */
static int check_tracer_names(agent *a, json_t *names, sca_error *err)
{
    sca_buf unknown = {0};
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        store_tracer t;
        const char *name = json_string_value(v);
        if (store_tracer_get(a->store, name, &t, NULL) != 0)
            sca_buf_appendf(&unknown, "%s%s", unknown.len ? ", " : "", name);
        store_tracer_clear(&t);
    }
    int rc = 0;
    if (unknown.len > 0) {
        char *known = store_tracer_names(a->store);
        rc = sca_error_set(err, -EINVAL, "unknown tracer(s): %s (known: %s)", unknown.data, known);
        free(known);
    } else if (json_array_size(names) == 0) {
        rc = sca_error_set(err, -EINVAL, "no tracers given");
    }
    sca_buf_free(&unknown);
    return rc;
}

/* True when t's sca-tracer really runs (adopting it if it is not ours). */
static bool tracer_alive(agent *a, const store_tracer *t)
{
    if (!t->running || t->pid <= 0)
        return false;
    store_task task;
    int64_t task_id = 0;
    if (t->task_uuid && store_task_get(a->store, t->task_uuid, &task, NULL) == 0)
        task_id = task.id;
    return children_adopt(a, (pid_t)t->pid, task_id, t->task_uuid, t->name) == 0;
}

/* duration, when given, must be a positive number of seconds: 0 or less
 * would otherwise fall through to the longest deadline there is. */
static int check_duration(const json_t *duration, sca_error *err)
{
    if (!json_is_number(duration) || json_number_value(duration) > 0)
        return 0;
    return sca_error_set(err, -EINVAL, "duration must be a positive number of seconds, not %g",
                         json_number_value(duration));
}

static double task_deadline(agent *a, json_t *duration)
{
    double d = json_is_number(duration) ? json_number_value(duration) : 0;
    if (a->cfg.max_duration > 0 && (d == 0 || d > a->cfg.max_duration))
        d = a->cfg.max_duration;
    return d > 0 ? sca_now() + d : 0;
}

/* Which of names must start: the ones not running already (in skipped). */
static json_t *split_running(agent *a, json_t *names, json_t *skipped)
{
    json_t *todo = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        const char *name = json_string_value(v);
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(name, json_string_value(json_array_get(names, j))) == 0;
        if (dup)
            continue;
        store_tracer t;
        if (store_tracer_get(a->store, name, &t, NULL) == 0 && tracer_alive(a, &t))
            json_array_append_new(skipped, json_string(name));
        else
            json_array_append_new(todo, json_string(name));
        store_tracer_clear(&t);
    }
    return todo;
}

static void handle_start_tracers(rpc_request *req, agent *a)
{
    json_t *args = rpc_request_args(req);
    json_t *names = json_object_get(args, "tracers");
    sca_error err = {0};
    int rc = check_tracer_names(a, names, &err);
    if (rc == 0)
        rc = check_duration(json_object_get(args, "duration"), &err);
    if (rc != 0) {
        methods_fail(req, rc, &err);
        return;
    }
    json_t *skipped = json_array();
    json_t *todo = split_running(a, names, skipped);
    store_task task = {0};
    if (json_array_size(todo) > 0) {
        rc = store_task_create(a->store, NULL, task_deadline(a, json_object_get(args, "duration")),
                               &task, &err);
        if (rc == 0)
            starts_begin(a, req, &task, todo, skipped);
        else
            methods_fail(req, rc, &err);
    } else {
        /* host: over the shared topic the caller learns which agent took
         * the task, and can ask that one to stop it. */
        rpc_request_reply(req,
                          json_pack("{s:n, s:[], s:O, s:[], s:n, s:s}", "uuid", "started",
                                    "skipped", skipped, "failed", "deadline", "host", a->cfg.host));
    }
    json_decref(todo);
    json_decref(skipped);
}

static void handle_stop_tracers(rpc_request *req, agent *a)
{
    json_t *names = json_object_get(rpc_request_args(req), "tracers");
    sca_error err = {0};
    int rc = check_tracer_names(a, names, &err);
    if (rc != 0) {
        methods_fail(req, rc, &err);
        return;
    }
    json_t *stopped = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        store_tracer t;
        if (store_tracer_get(a->store, json_string_value(v), &t, NULL) == 0 &&
            tracer_alive(a, &t) && children_signal(a, (pid_t)t.pid, SIGINT, &err) == 0) {
            log_info("stopping %s (sca-tracer %lld)", t.name, (long long)t.pid);
            json_array_append_new(stopped, json_string(t.name));
        }
        store_tracer_clear(&t);
    }
    rpc_request_reply(req, stopped);
}

static void handle_stop_task(rpc_request *req, agent *a)
{
    const char *uuid = json_string_value(json_object_get(rpc_request_args(req), "uuid"));
    store_task task;
    sca_error err = {0};
    json_t *pids = NULL;
    int rc = store_task_find(a->store, uuid, &task, &err);
    if (rc == 0)
        rc = tasks_stop(a, &task, &pids, &err);
    if (rc != 0)
        methods_fail(req, rc, &err);
    else
        rpc_request_reply(req, pids);
}

static int validate_tracer_opts(json_t *opts, sca_error *err)
{
    const char *name = json_string_value(json_object_get(opts, "name"));
    const char *tpl = json_string_value(json_object_get(opts, "tpl"));
    const char *parser_name = json_string_value(json_object_get(opts, "parser"));
    if (name == NULL || tpl == NULL)
        return sca_error_set(err, -EINVAL, "tracer_opts needs string 'name' and 'tpl'");
    if (parser_name != NULL && parse_find(parser_name) == NULL)
        return sca_error_set(err, -EINVAL, "unknown parser '%s' (known: %s)", parser_name,
                             parse_names());
    char **words = NULL;
    int rc = template_split(tpl, &words, err);
    template_argv_free(words);
    return rc;
}

static void handle_register_tracer(rpc_request *req, agent *a)
{
    if (!admin_check(req))
        return;
    json_t *opts = json_object_get(rpc_request_args(req), "tracer_opts");
    sca_error err = {0};
    int rc = validate_tracer_opts(opts, &err);
    if (rc == 0) {
        const char *name = json_string_value(json_object_get(opts, "name"));
        const char *parser_name = json_string_value(json_object_get(opts, "parser"));
        const char *title = json_string_value(json_object_get(opts, "title"));
        store_tracer old;
        bool exists = store_tracer_get(a->store, name, &old, NULL) == 0;
        rc = store_tracer_register(a->store, name, json_string_value(json_object_get(opts, "tpl")),
                                   parser_name ? parser_name
                                   : exists    ? old.parser
                                               : "log",
                                   title    ? title
                                   : exists ? old.title
                                            : NULL,
                                   &err);
        store_tracer_clear(&old);
        if (rc == 0)
            log_info("registered tracer %s", name);
    }
    if (rc != 0)
        methods_fail(req, rc, &err);
    else
        rpc_request_reply(req, NULL);
}

static void handle_update_config(rpc_request *req, agent *a)
{
    if (!admin_check(req))
        return;
    sca_error err = {0};
    int rc =
        store_config_update(a->store, json_object_get(rpc_request_args(req), "data_opts"), &err);
    if (rc != 0)
        methods_fail(req, rc, &err);
    else
        rpc_request_reply(req, NULL);
}

static void handle_get_config(rpc_request *req, agent *a)
{
    json_t *options;
    sca_error err = {0};
    int rc = store_config_get(a->store, &options, &err);
    if (rc != 0) {
        methods_fail(req, rc, &err);
        return;
    }
    if (json_object_get(options, "tracer_path") == NULL)
        json_object_set_new(options, "tracer_path", json_string(a->cfg.tracer_path));
    rpc_request_reply(req, options);
}

/* Python truthiness, as the original's bool(running). */
static bool truthy(json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_number(v))
        return json_number_value(v) != 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return false;
}

static void handle_set_tracer_stat(rpc_request *req, agent *a)
{
    if (!admin_check(req))
        return;
    json_t *args = rpc_request_args(req);
    const char *name = json_string_value(json_object_get(args, "tracer"));
    store_tracer t;
    sca_error err = {0};
    int rc = store_tracer_get(a->store, name, &t, &err);
    if (rc == 0)
        rc = store_tracer_set_running(a->store, name, truthy(json_object_get(args, "running")),
                                      t.pid, t.task_uuid, &err);
    store_tracer_clear(&t);
    if (rc != 0)
        methods_fail(req, rc, &err);
    else
        rpc_request_reply(req, NULL);
}

static void handle_set_tracer_pid(rpc_request *req, agent *a)
{
    if (!admin_check(req))
        return;
    json_t *args = rpc_request_args(req);
    sca_error err = {0};
    int rc = store_tracer_set_pid(a->store, json_string_value(json_object_get(args, "tracer")),
                                  json_integer_value(json_object_get(args, "pid")), &err);
    if (rc != 0)
        methods_fail(req, rc, &err);
    else
        rpc_request_reply(req, NULL);
}

static long self_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* tasks_running: how many run (not stopping); tasks_stopping: [{uuid, held,
 * held_reason}] of those asked to stop whose tracers have not ended (lines
 * held: what they wait for); held (lines) and held_reason: of all of them. */
static void add_task_states(agent *a, json_t *info)
{
    store_task *tasks = NULL;
    size_t n = 0;
    int64_t running = 0, held = 0;
    json_t *reason = json_null();
    json_t *stopping = json_array();
    sca_error err = {0};
    if (store_task_list_running(a->store, &tasks, &n, &err) != 0)
        log_warning("agent_info: %s", err.msg);
    for (size_t i = 0; i < n; i++) {
        store_task_tracer *tts = NULL;
        size_t nt = 0;
        if (store_task_tracer_list(a->store, tasks[i].id, &tts, &nt, &err) != 0)
            log_warning("agent_info: %s", err.msg);
        task_view view;
        tasks_view(&tasks[i], tts, nt, &view);
        held += view.held;
        if (json_is_null(reason) && view.held_reason != NULL)
            reason = json_string(view.held_reason);
        if (strcmp(view.status, "stopping") == 0)
            json_array_append_new(
                stopping,
                json_pack("{s:s, s:I, s:o}", "uuid", tasks[i].uuid, "held", (json_int_t)view.held,
                          "held_reason",
                          view.held_reason ? json_string(view.held_reason) : json_null()));
        else
            running++;
        free(tts);
    }
    free(tasks);
    json_object_set_new(info, "held_reason", reason);
    json_object_set_new(info, "tasks_running", json_integer(running));
    json_object_set_new(info, "tasks_stopping", stopping);
    json_object_set_new(info, "held", json_integer(held));
}

static void handle_agent_info(rpc_request *req, agent *a)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    json_t *running = json_array();
    store_tracer *tracers;
    size_t n;
    if (store_tracer_list(a->store, &tracers, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (tracers[i].running)
                json_array_append_new(running, json_string(tracers[i].name));
        }
        store_tracer_array_free(tracers, n);
    }
    json_t *info = json_pack(
        "{s:s, s:s, s:i, s:f, s:f, s:s, s:s, s:o, s:I, s:f}", "host", a->cfg.host, "version",
        SCA_VERSION, "pid", (int)getpid(), "started", a->started, "uptime", sca_now() - a->started,
        "transport", rpc_transport_describe(a->transport[0]), "db", a->cfg.db_path,
        "tracers_running", running, "rss_kb", (json_int_t)self_rss_kb(), "cpu_seconds", cpu);
    add_task_states(a, info);
    rpc_request_reply(req, info);
}

static void handle_stop(rpc_request *req, agent *a)
{
    if (!admin_check(req))
        return;
    log_info("stop requested over RPC");
    rpc_request_reply(req, json_pack("{s:b}", "stopping", 1));
    agent_shutdown(a);
}

/* A loop thread handler waits for the store's locks only while its caller
 * still listens: a locked store is then answered with StoreError, not with
 * silence and a broken pipe. */
static void run_bounded(rpc_request *req, agent *a, void (*handle)(rpc_request *, agent *))
{
    store_set_deadline(a->store, methods_store_deadline(req));
    handle(req, a);
    store_set_deadline(a->store, 0);
}

#define LOOP_HANDLER(name)                                                                         \
    static void do_##name(rpc_request *req, void *arg)                                             \
    {                                                                                              \
        run_bounded(req, arg, handle_##name);                                                      \
    }

LOOP_HANDLER(start_tracers)
LOOP_HANDLER(stop_tracers)
LOOP_HANDLER(stop_task)
LOOP_HANDLER(register_tracer)
LOOP_HANDLER(update_config)
LOOP_HANDLER(get_config)
LOOP_HANDLER(set_tracer_stat)
LOOP_HANDLER(set_tracer_pid)
LOOP_HANDLER(agent_info)
LOOP_HANDLER(stop)

static const rpc_arg_spec start_args[] = {
    {"tracers", RPC_ARG_STRING_LIST, true, false},
    {"duration", RPC_ARG_NUMBER, false, true},
    {0},
};
static const rpc_arg_spec tracers_args[] = {{"tracers", RPC_ARG_STRING_LIST, true, false}, {0}};
static const rpc_arg_spec uuid_args[] = {{"uuid", RPC_ARG_STRING, true, false}, {0}};
static const rpc_arg_spec register_args[] = {{"tracer_opts", RPC_ARG_OBJECT, true, false}, {0}};
static const rpc_arg_spec config_args[] = {{"data_opts", RPC_ARG_OBJECT, true, false}, {0}};
static const rpc_arg_spec stat_args[] = {
    {"tracer", RPC_ARG_STRING, true, false},
    {"running", RPC_ARG_ANY, true, true},
    {0},
};
static const rpc_arg_spec pid_args[] = {
    {"tracer", RPC_ARG_STRING, true, false},
    {"pid", RPC_ARG_INT, true, false},
    {0},
};

const rpc_method methods_table[] = {
    {"start_tracers", do_start_tracers, start_args},
    {"stop_tracers", do_stop_tracers, tracers_args},
    {"stop_task", do_stop_task, uuid_args},
    {"register_tracer", do_register_tracer, register_args},
    {"update_config", do_update_config, config_args},
    {"get_config", do_get_config, NULL},
    {"set_tracer_stat", do_set_tracer_stat, stat_args},
    {"set_tracer_pid", do_set_tracer_pid, pid_args},
    {"agent_info", do_agent_info, NULL},
    {"stop", do_stop, NULL},
    {0},
};
