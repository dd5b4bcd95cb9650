/* cmd_list.c - sca tracer and sca task: what the agent knows, as tables. */
#include <errno.h>
#include <stdio.h>
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

static void tracer_table(const json_t *tracers)
{
    static const char *const headers[] = {"tracer", "parser", "running", "pid", "task", "template"};
    table *t = table_new(6, headers);
    table_set_align(t, 3, TABLE_RIGHT);
    size_t i;
    json_t *tr;
    json_array_foreach(tracers, i, tr)
    {
        char pid[32];
        snprintf(pid, sizeof(pid), "%lld",
                 (long long)json_integer_value(json_object_get(tr, "pid")));
        /* "True"/"False" as the original printed Python's booleans. */
        const char *cells[] = {cli_json_str(tr, "name"),
                               cli_json_str(tr, "parser"),
                               json_is_true(json_object_get(tr, "running")) ? "True" : "False",
                               pid,
                               cli_json_str(tr, "task"),
                               cli_json_str(tr, "tpl")};
        table_add_row(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
}

int cmd_tracer(const cli_global_opts *g, int argc, char **argv)
{
    bool json = g->json;
    int code = list_parse(argc, argv, "tracer", &json, NULL);
    if (code == CLI_HELP) {
        printf("usage: sca tracer [-l] [--json]\n"
               "\n"
               "Lists the registered tracers: name, parser, whether it runs, the pid of its\n"
               "sca-tracer (-1 when idle), its task and its command template.  -l is\n"
               "accepted for the original's command line; --json prints tracer_list's reply.\n");
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

static void task_table(const json_t *tasks)
{
    static const char *const headers[] = {"uuid",    "status",  "created",
                                          "stopped", "tracers", "results"};
    table *t = table_new(6, headers);
    table_set_align(t, 5, TABLE_RIGHT);
    size_t i;
    json_t *task;
    json_array_foreach(tasks, i, task)
    {
        char created[REPORT_TIME_LEN + 8], stopped[REPORT_TIME_LEN + 8], results[32];
        sca_buf tracers = {0}, status = {0};
        cli_task_status(task, cli_json_str(task, "status"), &status);
        short_time(json_object_get(task, "created"), created);
        short_time(json_object_get(task, "stopped"), stopped);
        cli_join_names(json_object_get(task, "tracers"), &tracers);
        snprintf(results, sizeof(results), "%lld",
                 (long long)json_integer_value(json_object_get(task, "results")));
        const char *cells[] = {
            cli_json_str(task, "uuid"), status.data, created, stopped, tracers.data, results};
        table_add_row(t, cells);
        sca_buf_free(&tracers);
        sca_buf_free(&status);
    }
    table_print(t, stdout);
    table_free(t);
}

int cmd_task(const cli_global_opts *g, int argc, char **argv)
{
    bool json = g->json;
    int64_t limit = 20;
    int code = list_parse(argc, argv, "task", &json, &limit);
    if (code == CLI_HELP) {
        printf("usage: sca task [-l] [--limit N] [--json]\n"
               "\n"
               "Lists tasks, newest first: uuid, status, when it was created and stopped\n"
               "(local time), its tracers and how many results it has.\n"
               "\n"
               "  --limit N  at most N tasks (default 20; 0 = all)\n"
               "  --json     print task_list's reply\n");
        return CLI_HELP;
    }
    if (code != CLI_OK)
        return code;
    return list_call(g, "task_list", json_pack("{s:I}", "limit", (json_int_t)limit), json,
                     task_table);
}
