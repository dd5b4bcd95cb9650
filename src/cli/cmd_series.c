/* cmd_series.c - fetching what the summary and the HTML page draw: one
 * get_task_series call per task, reduced next to the store, never every
 * sample (docs/agent.md). */
#include <errno.h>
#include <string.h>

#include "sca.h"

/* The agent's answer to a reply larger than its max_message_size. */
static bool too_large(int rc, const sca_error *err)
{
    return rc == -EREMOTEIO && strncmp(err->msg, "ValueError:", 11) == 0 &&
           strstr(err->msg, "exceeds max_message_size") != NULL;
}

int cli_task_series(cli_rpc *c, const char *task, const json_t *tracers, cli_series_want want,
                    json_t **reply)
{
    size_t points = want.points < CLI_SERIES_POINTS_MIN   ? CLI_SERIES_POINTS_MIN
                    : want.points > CLI_SERIES_POINTS_MAX ? CLI_SERIES_POINTS_MAX
                                                          : want.points;
    size_t log_rows = want.log_rows > CLI_SERIES_POINTS_MAX ? CLI_SERIES_POINTS_MAX : want.log_rows;
    for (;;) {
        json_t *args = json_pack("{s:s,s:I,s:I}", "uuid", task, "points", (json_int_t)points,
                                 "log_rows", (json_int_t)log_rows);
        if (tracers != NULL)
            json_object_set_new(args, "tracers", json_deep_copy(tracers));
        sca_error err = {0};
        int rc = cli_rpc_call(c, "get_task_series", args, 0, reply, &err);
        if (rc == 0)
            return CLI_OK;
        /* Fewer points and lines make a smaller reply: ask again. */
        if (!too_large(rc, &err) || (points == CLI_SERIES_POINTS_MIN && log_rows == 0))
            return cli_call_failed(c, rc, &err);
        points = points / 2 > CLI_SERIES_POINTS_MIN ? points / 2 : CLI_SERIES_POINTS_MIN;
        log_rows /= 2;
    }
}

/* Whether uuids holds uuid. */
static bool listed(const json_t *uuids, const char *uuid)
{
    size_t i;
    json_t *u;
    json_array_foreach(uuids, i, u)
    {
        if (strcmp(json_string_value(u), uuid) == 0)
            return true;
    }
    return false;
}

/* The tasks of the results in uuids, in the order they first appear, and
 * the tracers of those results ({task: [tracer, ...]}), from
 * get_all_results. */
static int tasks_of(cli_rpc *c, const json_t *uuids, json_t **tasks)
{
    json_t *all = NULL;
    int code = cli_call(c, "get_all_results", NULL, &all);
    if (code != CLI_OK)
        return code;
    *tasks = json_object();
    size_t i, j;
    json_t *u, *r;
    json_array_foreach(uuids, i, u)
    {
        json_array_foreach(all, j, r)
        {
            const char *task = cli_json_str(r, "task"), *tracer = cli_json_str(r, "tracer");
            if (task == NULL || tracer == NULL || !json_equal(json_object_get(r, "uuid"), u))
                continue;
            json_t *list = json_object_get(*tasks, task);
            if (list == NULL)
                json_object_set_new(*tasks, task, list = json_array());
            if (!listed(list, tracer))
                json_array_append_new(list, json_string(tracer));
        }
    }
    json_decref(all);
    return CLI_OK;
}

int cli_results_series(cli_rpc *c, const json_t *uuids, cli_series_want want, json_t **reply)
{
    json_t *tasks = NULL, *found = json_object(), *host = NULL;
    int code = tasks_of(c, uuids, &tasks);
    const char *task;
    json_t *tracers;
    json_object_foreach(tasks, task, tracers)
    {
        json_t *one = NULL;
        if (code == CLI_OK)
            code = cli_task_series(c, task, tracers, want, &one);
        if (code != CLI_OK)
            break;
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(one, "series"), i, s)
        {
            const char *uuid = cli_json_str(s, "uuid");
            if (uuid != NULL && listed(uuids, uuid))
                json_object_set(found, uuid, s);
        }
        if (host == NULL)
            host = json_incref(json_object_get(one, "host"));
        json_decref(one);
    }
    if (code == CLI_OK) {
        json_t *series = json_array();
        size_t i;
        json_t *u;
        json_array_foreach(uuids, i, u)
        {
            json_t *s = json_object_get(found, json_string_value(u));
            if (s != NULL)
                json_array_append(series, s);
        }
        *reply =
            json_pack("{s:O,s:n,s:o}", "host", host ? host : json_null(), "task", "series", series);
    }
    json_decref(host);
    json_decref(found);
    json_decref(tasks);
    return code;
}
