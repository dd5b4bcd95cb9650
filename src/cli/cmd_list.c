/* cmd_list.c - sca tracer and sca task: what the agent knows, as tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "scalpels/table.h"

/* Options of a listing: -l (the original's, and the default), --json and
 * for task --limit N.  CLI_OK, CLI_HELP for --help, or an exit code. */
static int list_parse(int argc, char **argv, const char *command, bool *json, int64_t *limit)
{
    static const struct option longopts[] = {{"list", no_argument, NULL, 'l'},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"limit", required_argument, NULL, OPT_LIMIT},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt, code = CLI_OK;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":lh", longopts, command)) != -1) {
        if (opt == OPT_JSON)
            *json = true;
        else if (opt == 'h')
            code = CLI_HELP;
        else if (opt == OPT_LIMIT && limit != NULL &&
                 (sca_parse_int64(optarg, limit) != 0 || *limit < 0))
            code = cli_fail(CLI_USAGE, "--limit expects a number of tasks (0 = all), not '%s'",
                            optarg);
        else if (opt == OPT_LIMIT && limit == NULL)
            code = cli_fail(CLI_USAGE, "%s: unknown option '--limit' (see 'sca %s --help')",
                            command, command);
        else if (opt != 'l' && opt != OPT_LIMIT)
            code = CLI_USAGE;
    }
    if (code == CLI_OK && optind < argc)
        code = cli_fail(CLI_USAGE, "%s: unexpected argument '%s'", command, argv[optind]);
    return code;
}

/* Calls method and prints its reply as JSON or through print_table. */
static int list_call(const cli_global_opts *g, const char *method, json_t *args, bool json,
                     void (*print_table)(const json_t *reply))
{
    cli_rpc *c = NULL;
    json_t *reply = NULL;
    int code = cli_rpc_open(&g->conn, &c);
    if (code == CLI_OK)
        cli_rpc_single_call(c);
    if (code == CLI_OK)
        code = cli_call(c, method, args, &reply);
    else
        json_decref(args);
    if (code == CLI_OK && !json_is_array(reply))
        code = cli_fail(CLI_FAILED, "%s answered with something other than a list", method);
    else if (code == CLI_OK && json)
        report_json(stdout, reply, NULL);
    else if (code == CLI_OK)
        print_table(reply);
    json_decref(reply);
    cli_rpc_close(c);
    return code;
}

/* The tracers of tracer_list's replies, a row each; with a leading host
 * column when answers are many nodes' ({"host", "result"} objects). */
static void tracer_rows(const json_t *answers, bool hosts)
{
    static const char *const headers[] = {"host", "tracer", "parser",  "running",
                                          "pid",  "task",   "template"};
    table *t = hosts ? table_new(7, headers) : table_new(6, headers + 1);
    table_set_align(t, hosts ? 4 : 3, TABLE_RIGHT);
    size_t h, i;
    json_t *answer, *tr;
    json_array_foreach(answers, h, answer)
    {
        json_array_foreach(json_object_get(answer, "result"), i, tr)
        {
            char pid[32];
            snprintf(pid, sizeof(pid), "%lld",
                     (long long)json_integer_value(json_object_get(tr, "pid")));
            /* "True"/"False" as the original printed Python's booleans. */
            const char *cells[] = {cli_json_str(answer, "host"),
                                   cli_json_str(tr, "name"),
                                   cli_json_str(tr, "parser"),
                                   json_is_true(json_object_get(tr, "running")) ? "True" : "False",
                                   pid,
                                   cli_json_str(tr, "task"),
                                   cli_json_str(tr, "tpl")};
            table_add_row(t, hosts ? cells : cells + 1);
        }
    }
    table_print(t, stdout);
    table_free(t);
}

static void tracer_table(const json_t *tracers)
{
    json_t *one = json_pack("[{s:O}]", "result", tracers);
    tracer_rows(one, false);
    json_decref(one);
}

/* method(args) on every node at once: the cluster and its answers, each
 * failed node's reply replaced by its failure when not a list. */
static int list_hosts(const cli_global_opts *g, const char *method, json_t *args, cli_cluster **k,
                      json_t **answers)
{
    int code = cli_cluster_open(g, k);
    if (code == CLI_OK && json_array_size((*k)->hosts) == 0)
        code = cli_cluster_none(*k);
    if (code == CLI_OK)
        code = cli_cluster_call(*k, method, args, answers);
    json_decref(args);
    size_t i;
    json_t *a;
    json_array_foreach(code == CLI_OK ? *answers : NULL, i, a)
    {
        if (json_object_get(a, "result") != NULL && !json_is_array(json_object_get(a, "result"))) {
            json_object_del(a, "result");
            json_object_set_new(
                a, "error", json_pack("s+", method, " answered with something other than a list"));
            json_object_set_new(a, "exit", json_integer(CLI_FAILED));
        }
    }
    return code;
}

/* The nodes' answers as one document, or the answers that are lists
 * through print. */
static int tracer_print(cli_cluster *k, json_t *answers, bool json)
{
    if (json) {
        json_t *doc = cli_cluster_json(k, answers);
        report_json(stdout, doc, NULL);
        json_decref(doc);
    } else {
        tracer_rows(answers, true);
    }
    return cli_cluster_outcome(k, answers);
}

static void tracer_help(void)
{
    printf("usage: sca tracer [-l] [--json]\n"
           "\n"
           "Lists the registered tracers: name, parser, whether it runs, the pid of its\n"
           "sca-tracer (-1 when idle), its task and its command template.  -l is\n"
           "accepted for the original's command line; --json prints tracer_list's reply.\n"
           "Under --all-hosts: one table with a host column.\n");
}

int cmd_tracer_hosts(const cli_global_opts *g, int argc, char **argv)
{
    bool json = g->json;
    int code = list_parse(argc, argv, "tracer", &json, NULL);
    if (code == CLI_HELP)
        tracer_help();
    if (code != CLI_OK)
        return code;
    cli_cluster *k = NULL;
    json_t *answers = NULL;
    code = list_hosts(g, "tracer_list", NULL, &k, &answers);
    if (code == CLI_OK)
        code = tracer_print(k, answers, json);
    json_decref(answers);
    cli_cluster_close(k);
    return code;
}

int cmd_tracer(const cli_global_opts *g, int argc, char **argv)
{
    bool json = g->json;
    int code = list_parse(argc, argv, "tracer", &json, NULL);
    if (code == CLI_HELP) {
        tracer_help();
        return CLI_HELP;
    }
    return code != CLI_OK ? code : list_call(g, "tracer_list", NULL, json, tracer_table);
}

/* "2026-11-23 11:18:09" in local time, or "" for null. */
static void short_time(const json_t *ts, char out[REPORT_TIME_LEN + 8])
{
    out[0] = '\0';
    if (!json_is_number(ts))
        return;
    report_format_time(json_number_value(ts), out);
    char *dot = strrchr(out, '.');
    if (dot != NULL && strlen(out) == REPORT_TIME_LEN)
        *dot = '\0';
}

#define HOSTS_CELL_MAX 48 /* a task's host names beyond this are counted instead */

/* The hosts of a task merged from many nodes, of n that answered: their
 * names when they fit, else how many. */
static void hosts_cell(const json_t *hosts, size_t n, sca_buf *out)
{
    cli_join_names(hosts, out);
    if (out->len <= HOSTS_CELL_MAX)
        return;
    sca_buf_reset(out);
    sca_buf_appendf(out, "%zu of %zu hosts", json_array_size(hosts), n);
}

/* tasks as a table; with a hosts column when they were merged from the
 * n nodes that answered (n > 0). */
static void task_rows(const json_t *tasks, size_t n)
{
    static const char *const headers[] = {"uuid",    "status",  "created", "stopped",
                                          "tracers", "results", "hosts"};
    table *t = table_new(n > 0 ? 7 : 6, headers);
    table_set_align(t, 5, TABLE_RIGHT);
    size_t i;
    json_t *task;
    json_array_foreach(tasks, i, task)
    {
        char created[REPORT_TIME_LEN + 8], stopped[REPORT_TIME_LEN + 8], results[32];
        sca_buf tracers = {0}, hosts = {0}, status = {0};
        cli_task_status(task, cli_json_str(task, "status"), &status);
        short_time(json_object_get(task, "created"), created);
        short_time(json_object_get(task, "stopped"), stopped);
        cli_join_names(json_object_get(task, "tracers"), &tracers);
        if (n > 0)
            hosts_cell(json_object_get(task, "hosts"), n, &hosts);
        snprintf(results, sizeof(results), "%lld",
                 (long long)json_integer_value(json_object_get(task, "results")));
        const char *cells[] = {cli_json_str(task, "uuid"),
                               status.data,
                               created,
                               stopped,
                               tracers.data ? tracers.data : "",
                               results,
                               hosts.data ? hosts.data : ""};
        table_add_row(t, cells);
        sca_buf_free(&tracers);
        sca_buf_free(&hosts);
        sca_buf_free(&status);
    }
    table_print(t, stdout);
    table_free(t);
}

static void task_table(const json_t *tasks)
{
    task_rows(tasks, 0);
}

static void task_help(void)
{
    printf("usage: sca task [-l] [--limit N] [--json]\n"
           "\n"
           "Lists tasks, newest first: uuid, status, when it was created and stopped\n"
           "(local time), its tracers and how many results it has.  Under --all-hosts,\n"
           "a task of several nodes (one 'sca --all-hosts start') is one row, with its\n"
           "hosts.\n"
           "\n"
           "  --limit N  at most N tasks (default 20; 0 = all)\n"
           "  --json     print task_list's reply\n");
}

/* Adds name to names unless it is there. */
static void add_name(json_t *names, json_t *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        if (json_equal(n, name))
            return;
    }
    json_array_append(names, name);
}

/* The part of a task one node has, merged into the task of every node's
 * parts: running while any part runs, created at the first, stopped at the
 * last, every tracer, every result, every host. */
static void merge_part(json_t *task, const json_t *part, json_t *host)
{
    double created = json_number_value(json_object_get(task, "created"));
    double part_created = json_number_value(json_object_get(part, "created"));
    if (part_created < created)
        json_object_set(task, "created", json_object_get(part, "created"));
    bool running = strcmp(cli_json_str(task, "status"), "running") == 0 ||
                   strcmp(cli_json_str(part, "status"), "running") == 0;
    json_object_set_new(task, "status", json_string(running ? "running" : "stopped"));
    json_t *stopped = json_object_get(part, "stopped");
    if (running)
        json_object_set_new(task, "stopped", json_null());
    else if (json_number_value(stopped) > json_number_value(json_object_get(task, "stopped")))
        json_object_set(task, "stopped", stopped);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(part, "tracers"), i, v)
    {
        add_name(json_object_get(task, "tracers"), v);
    }
    json_object_set_new(task, "results",
                        json_integer(json_integer_value(json_object_get(task, "results")) +
                                     json_integer_value(json_object_get(part, "results"))));
    json_array_append(json_object_get(task, "hosts"), host);
}

static int newest_first(const void *a, const void *b)
{
    double x = json_number_value(json_object_get(*(json_t *const *)a, "created"));
    double y = json_number_value(json_object_get(*(json_t *const *)b, "created"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Every node's tasks, one per uuid, newest first, at most limit (0: all). */
static json_t *merge_tasks(const json_t *answers, int64_t limit)
{
    json_t *by_uuid = json_object();
    size_t h, i;
    json_t *answer, *part;
    json_array_foreach(answers, h, answer)
    {
        json_array_foreach(json_object_get(answer, "result"), i, part)
        {
            const char *uuid = cli_json_str(part, "uuid");
            if (uuid == NULL)
                continue;
            json_t *task = json_object_get(by_uuid, uuid);
            if (task == NULL) {
                task = json_deep_copy(part);
                json_object_set_new(task, "tracers", json_array());
                json_object_set_new(task, "results", json_integer(0));
                json_object_set_new(task, "hosts", json_array());
                json_object_set_new(by_uuid, uuid, task);
            }
            merge_part(task, part, json_object_get(answer, "host"));
        }
    }
    size_t n = json_object_size(by_uuid), k = 0;
    json_t **v = sca_calloc(n + 1, sizeof(*v));
    const char *key;
    json_t *task;
    json_object_foreach(by_uuid, key, task)
    {
        v[k++] = task;
    }
    qsort(v, n, sizeof(*v), newest_first);
    json_t *tasks = json_array();
    for (i = 0; i < n && (limit <= 0 || i < (size_t)limit); i++)
        json_array_append(tasks, v[i]);
    free(v);
    json_decref(by_uuid);
    return tasks;
}

int cmd_task_hosts(const cli_global_opts *g, int argc, char **argv)
{
    bool json = g->json;
    int64_t limit = 20;
    int code = list_parse(argc, argv, "task", &json, &limit);
    if (code == CLI_HELP)
        task_help();
    if (code != CLI_OK)
        return code;
    cli_cluster *k = NULL;
    json_t *answers = NULL;
    code = list_hosts(g, "task_list", json_pack("{s:I}", "limit", (json_int_t)limit), &k, &answers);
    json_t *tasks = code == CLI_OK ? merge_tasks(answers, limit) : NULL;
    if (code == CLI_OK && json) {
        json_t *doc = cli_cluster_json(k, answers);
        json_object_set(doc, "tasks", tasks);
        report_json(stdout, doc, NULL);
        json_decref(doc);
    } else if (code == CLI_OK) {
        task_rows(tasks, json_array_size(k->hosts));
    }
    if (code == CLI_OK)
        code = cli_cluster_outcome(k, answers);
    json_decref(tasks);
    json_decref(answers);
    cli_cluster_close(k);
    return code;
}

int cmd_task(const cli_global_opts *g, int argc, char **argv)
{
    bool json = g->json;
    int64_t limit = 20;
    int code = list_parse(argc, argv, "task", &json, &limit);
    if (code == CLI_HELP) {
        task_help();
        return CLI_HELP;
    }
    if (code != CLI_OK)
        return code;
    return list_call(g, "task_list", json_pack("{s:I}", "limit", (json_int_t)limit), json,
                     task_table);
}
