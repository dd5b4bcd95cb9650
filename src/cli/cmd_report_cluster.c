/* cmd_report_cluster.c - the report of a task on many nodes: every node's
 * get_task_series fetched at once over one connection (cli_fetch_series),
 * then one summary grouped by tracer with the hosts, one JSON document
 * keyed by host, or one HTML page with the nodes side by side. */
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

int cli_fetch_series(cli_cluster *k, const char *uuid, const json_t *args, json_t **replies,
                     json_t **answers)
{
    json_t *found = NULL, *failed = NULL;
    int code = find_tasks(k, uuid, &found, &failed);
    if (code != CLI_OK)
        return code;
    json_t *calls = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(found, i, a)
    {
        json_t *call_args = args != NULL ? json_deep_copy(args) : json_object();
        json_object_set(call_args, "uuid", json_object_get(json_object_get(a, "result"), "uuid"));
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

/* One line a series, grouped by tracer in the order tracers first appear,
 * each line led by its host and its "<result UUID>" marker. */
static void print_summary(const json_t *list, const cli_report_opts *ro)
{
    json_t *tracers = json_array(), *tasks = json_array();
    size_t i, j, t;
    json_t *r, *s, *tracer;
    json_array_foreach(list, i, r)
    {
        const char *task = cli_json_str(json_object_get(r, "task"), "uuid");
        bool seen = false;
        json_array_foreach(tasks, j, s)
        {
            seen = seen || strcmp(json_string_value(s), task) == 0;
        }
        if (!seen && task != NULL)
            json_array_append_new(tasks, json_string(task));
        json_array_foreach(json_object_get(r, "series"), j, s)
        {
            bool known = false;
            json_array_foreach(tracers, t, tracer)
            {
                known = known || json_equal(tracer, json_object_get(s, "tracer"));
            }
            if (!known)
                json_array_append(tracers, json_object_get(s, "tracer"));
        }
    }
    json_array_foreach(tasks, i, s)
    {
        printf("reporting task: <%s>\n", json_string_value(s));
    }
    json_array_foreach(tracers, t, tracer)
    {
        printf("tracer %s\n", json_string_value(tracer));
        json_array_foreach(list, i, r)
        {
            json_array_foreach(json_object_get(r, "series"), j, s)
            {
                if (!json_equal(tracer, json_object_get(s, "tracer")))
                    continue;
                sca_buf line = {0};
                report_summary_line(s, ro->text.charset, &line);
                printf("  %s  <result %s>  %s\n", cli_json_str(r, "host"), cli_json_str(s, "uuid"),
                       line.data);
                sca_buf_free(&line);
            }
        }
    }
    json_decref(tracers);
    json_decref(tasks);
}

/* One page of every node's series, each drawn from its reduced points. */
static int print_html(const json_t *list)
{
    json_t *results = json_array();
    size_t i, j;
    json_t *r, *s;
    json_array_foreach(list, i, r)
    {
        json_array_foreach(json_object_get(r, "series"), j, s)
        {
            json_t *result = json_copy(s);
            json_object_set(result, "data", json_object_get(s, "points"));
            json_object_set(result, "host", json_object_get(r, "host"));
            json_array_append_new(results, result);
        }
    }
    sca_error err = {0};
    int rc = report_html(stdout, NULL, results, NULL, &err);
    json_decref(results);
    if (rc == 0)
        return CLI_OK;
    return rc == -EPIPE ? CLI_FAILED : cli_fail(CLI_FAILED, "%s", err.msg);
}

int cli_report_cluster(cli_cluster *k, const char *uuid, const cli_report_opts *ro)
{
    /* What each format draws: the summary needs no points. */
    json_t *args = ro->format == CLI_FORMAT_TEXT
                       ? json_pack("{s:i,s:i}", "points", 2, "log_rows", 0)
                       : json_object();
    json_t *replies = NULL, *answers = NULL;
    int code = cli_fetch_series(k, uuid, args, &replies, &answers);
    json_decref(args);
    if (code != CLI_OK)
        return code;
    json_t *list = series_replies(replies);
    if (ro->format == CLI_FORMAT_JSON) {
        cli_cluster_add_missing(k, replies);
        json_t *doc = json_pack("{s:O}", "hosts", replies);
        report_json(stdout, doc, NULL);
        json_decref(doc);
    } else if (ro->format == CLI_FORMAT_HTML) {
        code = print_html(list);
    } else {
        print_summary(list, ro);
    }
    int outcome = cli_cluster_outcome(k, answers);
    json_decref(list);
    json_decref(replies);
    json_decref(answers);
    return code != CLI_OK ? code : outcome;
}
