/* cmd_hosts.c - sca hosts: which agents answer on the topic's fanout, and
 * the host list that 'sca --all-hosts COMMAND' runs COMMAND over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "scalpels/table.h"

static int cmp_host(const void *a, const void *b)
{
    const char *x = cli_json_str(*(json_t *const *)a, "host"),
               *y = cli_json_str(*(json_t *const *)b, "host");
    return strcmp(x != NULL ? x : "", y != NULL ? y : "");
}

/* agent_info from every agent that answers, sorted by host (a new array);
 * an agent that answers with an error is reported and left out. */
static int gather_infos(const cli_global_opts *g, json_t **infos)
{
    cli_rpc *c = NULL;
    json_t *replies = NULL;
    int code = cli_rpc_open(&g->conn, &c);
    if (code == CLI_OK)
        code = cli_gather(c, "agent_info", NULL, &replies);
    cli_rpc_close(c);
    if (code != CLI_OK)
        return code;
    size_t n = json_array_size(replies), kept = 0, i;
    json_t **sorted = sca_calloc(n + 1, sizeof(*sorted)), *r;
    json_array_foreach(replies, i, r)
    {
        json_t *info = json_object_get(r, "result");
        if (json_is_object(info) && cli_json_str(info, "host") != NULL)
            sorted[kept++] = info;
        else
            fprintf(stderr, "%s: an agent answered agent_info with %s\n", cli_prog,
                    cli_json_str(r, "error") != NULL ? cli_json_str(r, "error") : "no host name");
    }
    qsort(sorted, kept, sizeof(*sorted), cmp_host);
    *infos = json_array();
    for (i = 0; i < kept; i++)
        json_array_append(*infos, sorted[i]);
    free(sorted);
    json_decref(replies);
    return CLI_OK;
}

static int none_answered(const cli_global_opts *g)
{
    return cli_fail(CLI_UNREACHABLE,
                    "no agent answered within %gs on topic %s's fanout (a longer --timeout "
                    "waits longer)",
                    cli_gather_window(&g->conn), g->conn.cfg->topic);
}

int cli_discover_hosts(const cli_global_opts *g, json_t **hosts)
{
    json_t *infos = NULL;
    int code = gather_infos(g, &infos);
    if (code != CLI_OK)
        return code;
    *hosts = json_array();
    size_t i;
    json_t *info;
    json_array_foreach(infos, i, info)
    {
        const char *h = cli_json_str(info, "host");
        /* Two agents with one host name would be one target: name it once. */
        if (i == 0 || strcmp(h, cli_json_str(json_array_get(infos, i - 1), "host")) != 0)
            json_array_append_new(*hosts, json_string(h));
    }
    json_decref(infos);
    if (json_array_size(*hosts) > 0)
        return CLI_OK;
    json_decref(*hosts);
    return none_answered(g);
}

void cli_host_heading(size_t i, const char *host)
{
    printf("%s== host %s ==\n", i > 0 ? "\n" : "", host);
    fflush(stdout);
}

static void hosts_usage(void)
{
    printf("usage: sca hosts [--short] [--json]\n"
           "\n"
           "Asks every agent on the topic's fanout (scalpels_fanout) for agent_info and\n"
           "lists those that answer within --timeout (default %gs), sorted by host:\n"
           "host, version, uptime, running tasks and tracers, pid.  Over the unix socket,\n"
           "the local agent.  'sca --all-hosts COMMAND' runs COMMAND for each of them.\n"
           "\n"
           "  --short  the host names only, one a line\n"
           "  --json   the agent_info objects, as a JSON array\n",
           CLI_GATHER_WINDOW);
}

static void print_names(const json_t *infos)
{
    size_t i;
    json_t *info;
    json_array_foreach(infos, i, info)
    {
        printf("%s\n", cli_json_str(info, "host"));
    }
}

static void print_table(const json_t *infos)
{
    table *t = table_new(6, (const char *[]){"host", "version", "uptime", "tasks running",
                                             "tracers running", "pid"});
    size_t i;
    json_t *info;
    json_array_foreach(infos, i, info)
    {
        char uptime[32], tasks[16], pid[16];
        snprintf(uptime, sizeof(uptime), "%.0fs",
                 json_number_value(json_object_get(info, "uptime")));
        snprintf(tasks, sizeof(tasks), "%lld",
                 (long long)json_integer_value(json_object_get(info, "tasks_running")));
        snprintf(pid, sizeof(pid), "%lld",
                 (long long)json_integer_value(json_object_get(info, "pid")));
        sca_buf names = {0};
        cli_join_names(json_object_get(info, "tracers_running"), &names);
        sca_buf_append(&names, "", 1);
        table_add_row(
            t, (const char *[]){cli_json_str(info, "host"),
                                cli_json_str(info, "version") ? cli_json_str(info, "version") : "",
                                uptime, tasks, names.data, pid});
        sca_buf_free(&names);
    }
    table_print(t, stdout);
    table_free(t);
}

int cmd_hosts(const cli_global_opts *g, int argc, char **argv)
{
    static const struct option longopts[] = {{"short", no_argument, NULL, 's'},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool shortly = false, json = g->json;
    int opt, code = CLI_OK;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":h", longopts, "hosts")) != -1) {
        if (opt == 's')
            shortly = true;
        else if (opt == OPT_JSON)
            json = true;
        else if (opt == 'h')
            code = CLI_HELP;
        else
            code = CLI_USAGE;
    }
    if (code == CLI_HELP) {
        hosts_usage();
        return CLI_HELP;
    }
    if (code == CLI_OK && optind < argc)
        code = cli_fail(CLI_USAGE, "hosts: unexpected argument '%s'", argv[optind]);
    if (code == CLI_OK && shortly && json)
        code = cli_fail(CLI_USAGE, "hosts: --short and --json exclude each other");
    json_t *infos = NULL;
    if (code == CLI_OK)
        code = gather_infos(g, &infos);
    if (code != CLI_OK)
        return code;
    if (json_array_size(infos) == 0 && !json) {
        json_decref(infos);
        return none_answered(g);
    }
    if (json)
        report_json(stdout, infos, NULL);
    else if (shortly)
        print_names(infos);
    else
        print_table(infos);
    json_decref(infos);
    return CLI_OK;
}
