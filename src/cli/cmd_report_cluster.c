/* cmd_report_cluster.c - the report of a task on many nodes: every node's
 * get_task_series fetched at once over one connection (cli_fetch_series),
 * then one summary grouped by tracer with a host column, one JSON document
 * keyed by host, or one HTML page with the nodes overlaid (the report
 * module draws both from the list of replies, cli_print_series). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

/* The nodes concerned: those that hold uuid, or each node's latest task
 * (uuid NULL).  *found: their get_task (or get_latest_task) answers;
 * *failed: the nodes that could not say. */
static int find_tasks(cli_cluster *k, const char *uuid, json_t **found, json_t **failed)
{
    return uuid != NULL ? cli_cluster_holders(k, "get_task", "task", uuid, found, failed)
                        : cli_cluster_latest(k, found, failed);
}

/* {host: answer's result, or the answer (its error)} of each answer. */
static void key_by_host(json_t *replies, const json_t *answers)
{
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        json_t *result = json_object_get(a, "result");
        json_t *value = result != NULL ? json_incref(result) : json_deep_copy(a);
        if (result == NULL)
            json_object_del(value, "host");
        json_object_set_new(replies, cli_json_str(a, "host"), value);
    }
}

/* How many results the tasks in found (get_task answers) hold in all. */
static size_t count_results(const json_t *found)
{
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(found, i, a)
    {
        n += json_array_size(json_object_get(json_object_get(a, "result"), "results"));
    }
    return n;
}

int cli_fetch_series(cli_cluster *k, const char *uuid, const cli_report_opts *ro, json_t **replies,
                     json_t **answers)
{
    json_t *found = NULL, *failed = NULL;
    int code = find_tasks(k, uuid, &found, &failed);
    if (code != CLI_OK)
        return code;
    /* The points the output draws, shared out over every node's lines. */
    size_t nodes = json_array_size(found);
    cli_series_want want =
        cli_series_wanted(ro, nodes > 0 ? count_results(found) / nodes : 0, nodes);
    json_t *calls = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(found, i, a)
    {
        json_t *call_args =
            json_pack("{s:O}", "uuid", json_object_get(json_object_get(a, "result"), "uuid"));
        /* JSON carries the agent's own reduction (its defaults). */
        if (ro->format != CLI_FORMAT_JSON) {
            json_object_set_new(call_args, "points", json_integer((json_int_t)want.points));
            json_object_set_new(call_args, "log_rows", json_integer((json_int_t)want.log_rows));
        }
        json_array_append_new(
            calls, json_pack("{s:O,s:o}", "host", json_object_get(a, "host"), "args", call_args));
    }
    code = cli_call_each(k->c, calls, "get_task_series", answers);
    if (code == CLI_OK) {
        json_array_extend(*answers, failed);
        *replies = json_object();
        key_by_host(*replies, *answers);
    }
    json_decref(calls);
    json_decref(found);
    json_decref(failed);
    return code;
}

/* The replies that are series, in host order (a new array of borrowed
 * replies, each {"host", "task", "series"}). */
static json_t *series_replies(const json_t *replies)
{
    json_t *list = json_array();
    const char *host;
    json_t *r;
    json_object_foreach((json_t *)replies, host, r)
    {
        if (json_is_array(json_object_get(r, "series")))
            json_array_append(list, r);
    }
    return list;
}

/* "sca --all-hosts report [UUID] --csv": where every sample is. */
static char *full_data_command(const char *uuid)
{
    sca_buf cmd = {0};
    sca_buf_appendf(&cmd, "sca --all-hosts report%s%s --csv", uuid ? " " : "", uuid ? uuid : "");
    return cmd.data;
}

int cli_report_cluster(cli_cluster *k, const char *uuid, const cli_report_opts *ro)
{
    json_t *replies = NULL, *answers = NULL;
    int code = cli_fetch_series(k, uuid, ro, &replies, &answers);
    if (code != CLI_OK)
        return code;
    if (ro->format == CLI_FORMAT_JSON) {
        sca_error err = {0};
        cli_cluster_add_missing(k, replies);
        json_t *doc = json_pack("{s:O}", "hosts", replies);
        code = cli_printed(report_json(stdout, doc, &err), &err);
        json_decref(doc);
    } else {
        json_t *list = series_replies(replies);
        char *full_data = full_data_command(uuid);
        code = cli_print_series(list, ro, full_data, true);
        free(full_data);
        json_decref(list);
    }
    int outcome = cli_cluster_outcome(k, answers);
    json_decref(replies);
    json_decref(answers);
    return code != CLI_OK ? code : outcome;
}
