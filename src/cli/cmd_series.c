/* cmd_series.c - fetching what the summary and the HTML page draw: one
 * get_task_series call per task, reduced next to the store, never every
 * sample (docs/agent.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

/* The agent's answer to a reply larger than its max_message_size (msg:
 * the "Class: message" of its failure). */
static bool too_large(const char *msg)
{
    return strncmp(msg, "ValueError:", 11) == 0 && strstr(msg, "exceeds max_message_size") != NULL;
}

/* want within the range get_task_series takes. */
static cli_series_want clamped(cli_series_want want)
{
    if (want.points < CLI_SERIES_POINTS_MIN)
        want.points = CLI_SERIES_POINTS_MIN;
    if (want.points > CLI_SERIES_POINTS_MAX)
        want.points = CLI_SERIES_POINTS_MAX;
    if (want.log_rows > CLI_SERIES_POINTS_MAX)
        want.log_rows = CLI_SERIES_POINTS_MAX;
    return want;
}

/* Fewer points and lines, for a smaller reply; false at the least. */
static bool halved(cli_series_want *want)
{
    if (want->points == CLI_SERIES_POINTS_MIN && want->log_rows == 0)
        return false;
    want->points =
        want->points / 2 > CLI_SERIES_POINTS_MIN ? want->points / 2 : CLI_SERIES_POINTS_MIN;
    want->log_rows /= 2;
    return true;
}

/* get_task_series' arguments: task, want, and tracers when not NULL. */
static json_t *series_args(const char *task, const json_t *tracers, cli_series_want want)
{
    json_t *args = json_pack("{s:s,s:I,s:I}", "uuid", task, "points", (json_int_t)want.points,
                             "log_rows", (json_int_t)want.log_rows);
    if (tracers != NULL)
        json_object_set_new(args, "tracers", json_deep_copy(tracers));
    return args;
}

int cli_task_series(cli_rpc *c, const char *task, const json_t *tracers, cli_series_want want,
                    json_t **reply)
{
    want = clamped(want);
    for (;;) {
        sca_error err = {0};
        int rc =
            cli_rpc_call(c, "get_task_series", series_args(task, tracers, want), 0, reply, &err);
        if (rc == 0)
            return CLI_OK;
        if (rc != -EREMOTEIO || !too_large(err.msg) || !halved(&want))
            return cli_call_failed(c, rc, &err);
    }
}

/* The tasks of the results in uuids, in the order they first appear, and
 * the tracers of those results ({task: [tracer, ...]}, new), from all,
 * get_all_results' reply. */
static json_t *tasks_in(const json_t *all, const json_t *uuids)
{
    json_t *tasks = json_object();
    size_t i, j;
    json_t *u, *r;
    json_array_foreach(uuids, i, u)
    {
        json_array_foreach(all, j, r)
        {
            const char *task = cli_json_str(r, "task"), *tracer = cli_json_str(r, "tracer");
            if (task == NULL || tracer == NULL || !json_equal(json_object_get(r, "uuid"), u))
                continue;
            json_t *list = json_object_get(tasks, task);
            if (list == NULL)
                json_object_set_new(tasks, task, list = json_array());
            if (!cli_names_has(list, tracer, strlen(tracer)))
                json_array_append_new(list, json_string(tracer));
        }
    }
    return tasks;
}

/* Adds the series of one's (a get_task_series reply) that uuids holds to
 * found ({uuid: series}); the first host seen into *host. */
static void take_series(const json_t *one, const json_t *uuids, json_t *found, json_t **host)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(one, "series"), i, s)
    {
        const char *uuid = cli_json_str(s, "uuid");
        if (uuid != NULL && cli_names_has(uuids, uuid, strlen(uuid)))
            json_object_set(found, uuid, s);
    }
    if (*host == NULL)
        *host = json_incref(json_object_get(one, "host"));
}

/* The reply of the results uuids: found's series in the order of uuids. */
static json_t *results_reply(const json_t *uuids, const json_t *found, json_t *host)
{
    json_t *series = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(uuids, i, u)
    {
        json_t *s = json_object_get(found, json_string_value(u));
        if (s != NULL)
            json_array_append(series, s);
    }
    return json_pack("{s:O,s:n,s:o}", "host", host ? host : json_null(), "task", "series", series);
}

int cli_results_series(cli_rpc *c, const json_t *uuids, cli_series_want want, json_t **reply)
{
    json_t *all = NULL, *found = json_object(), *host = NULL;
    int code = cli_call(c, "get_all_results", NULL, &all);
    json_t *tasks = code == CLI_OK ? tasks_in(all, uuids) : json_object();
    const char *task;
    json_t *tracers;
    json_object_foreach(tasks, task, tracers)
    {
        json_t *one = NULL;
        if (code == CLI_OK)
            code = cli_task_series(c, task, tracers, want, &one);
        if (code != CLI_OK)
            break;
        take_series(one, uuids, found, &host);
        json_decref(one);
    }
    if (code == CLI_OK)
        *reply = results_reply(uuids, found, host);
    json_decref(host);
    json_decref(found);
    json_decref(tasks);
    json_decref(all);
    return code;
}

/* --- The same for many nodes at once ----------------------------------------- */

/* answer (cli_call_each's) failed as failure says. */
static void answer_failed(json_t *answer, const json_t *failure)
{
    json_object_del(answer, "result");
    json_object_set(answer, "error", json_object_get(failure, "error"));
    json_object_set(answer, "class", json_object_get(failure, "class"));
    json_object_set(answer, "exit", json_object_get(failure, "exit"));
}

/* A get_task_series call of series_each: where, what, and how much. */
struct series_call {
    const char *host;
    const char *task;
    const json_t *tracers;
    cli_series_want want;
    size_t node; /* the answer it is for */
    json_t *answer;
};

/* The calls all at once; those the agent found too large asked again, at
 * once, with half the points and lines, down to the least.  Each call's
 * answer as cli_call_each's. */
static int series_each(cli_rpc *c, struct series_call *calls, size_t n)
{
    int code = CLI_OK;
    size_t left = n;
    while (code == CLI_OK && left > 0) {
        json_t *each = json_array(), *got = NULL;
        for (size_t i = 0; i < n; i++) {
            if (calls[i].answer == NULL)
                json_array_append_new(
                    each, json_pack("{s:s,s:o}", "host", calls[i].host, "args",
                                    series_args(calls[i].task, calls[i].tracers, calls[i].want)));
        }
        code = cli_call_each(c, each, "get_task_series", &got);
        left = 0;
        for (size_t i = 0, j = 0; code == CLI_OK && i < n; i++) {
            if (calls[i].answer != NULL)
                continue;
            json_t *answer = json_array_get(got, j++);
            const char *error = cli_json_str(answer, "error");
            if (error != NULL && too_large(error) && halved(&calls[i].want))
                left++;
            else
                calls[i].answer = json_incref(answer);
        }
        json_decref(each);
        json_decref(got);
    }
    return code;
}

int cli_results_series_each(cli_rpc *c, json_t *answers, const cli_report_opts *ro, size_t nodes)
{
    json_t *hosts = json_array(), *alls = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        if (json_object_get(a, "result") != NULL)
            json_array_append(hosts, json_object_get(a, "host"));
    }
    int code = cli_call_hosts(c, hosts, "get_all_results", NULL, &alls);
    /* A get_task_series call per task of each node's results, all at once. */
    json_t *tasks = json_array();
    struct series_call *calls = NULL;
    size_t n = 0, h = 0;
    json_array_foreach(answers, i, a)
    {
        json_t *uuids = json_object_get(a, "result");
        if (code != CLI_OK || uuids == NULL)
            continue;
        json_t *all = json_array_get(alls, h++);
        if (json_object_get(all, "result") == NULL) {
            answer_failed(a, all);
            continue;
        }
        json_t *of = tasks_in(json_object_get(all, "result"), uuids);
        json_array_append_new(tasks, of);
        cli_series_want want = clamped(cli_series_wanted(ro, json_array_size(uuids), nodes));
        const char *task;
        json_t *tracers;
        json_object_foreach(of, task, tracers)
        {
            calls = sca_realloc(calls, (n + 1) * sizeof(*calls));
            calls[n++] = (struct series_call){.host = cli_json_str(a, "host"),
                                              .task = task,
                                              .tracers = tracers,
                                              .want = want,
                                              .node = i};
        }
    }
    if (code == CLI_OK)
        code = series_each(c, calls, n);
    /* Each node's series, in the order of its uuids; a node with a call
     * that failed fails. */
    json_array_foreach(answers, i, a)
    {
        json_t *uuids = json_object_get(a, "result");
        if (code != CLI_OK || uuids == NULL)
            continue;
        json_t *found = json_object(), *host = NULL, *failure = NULL;
        for (size_t j = 0; j < n; j++) {
            json_t *result = json_object_get(calls[j].answer, "result");
            if (calls[j].node != i)
                continue;
            if (result == NULL && failure == NULL)
                failure = calls[j].answer;
            take_series(result, uuids, found, &host);
        }
        if (failure != NULL)
            answer_failed(a, failure);
        else
            json_object_set_new(a, "result", results_reply(uuids, found, host));
        json_decref(host);
        json_decref(found);
    }
    for (size_t j = 0; j < n; j++)
        json_decref(calls[j].answer);
    free(calls);
    json_decref(tasks);
    json_decref(alls);
    json_decref(hosts);
    return code;
}
