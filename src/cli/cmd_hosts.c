/* cmd_hosts.c - sca hosts: which agents answer on the topic's fanout (the
 * nodes 'sca --all-hosts COMMAND' runs COMMAND on), and which listen but
 * do not answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "scalpels/table.h"

static void hosts_usage(void)
{
    printf("usage: sca hosts [--short] [--json]\n"
           "\n"
           "Asks every agent on the topic's fanout (scalpels_fanout) for agent_info and\n"
           "lists those that answer, sorted by host: host, version, uptime, running\n"
           "tasks and tracers, pid.  It waits until as many answered as the broker says\n"
           "listen on the topic, at most --timeout (default %gs); agents that listen but\n"
           "do not answer are named on stderr (exit status 4).  Over the unix socket, the\n"
           "local agent.  'sca --all-hosts COMMAND' runs COMMAND for each of them.\n"
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
    cli_cluster *k = NULL;
    if (code == CLI_OK)
        code = cli_cluster_open(g, &k);
    if (code != CLI_OK)
        return code;
    if (json_array_size(k->infos) == 0 && !json) {
        code = cli_cluster_none(k);
        cli_cluster_close(k);
        return code;
    }
    if (json)
        report_json(stdout, k->infos, NULL);
    else if (shortly)
        print_names(k->infos);
    else
        print_table(k->infos);
    code = cli_cluster_outcome(k, k->infos);
    cli_cluster_close(k);
    return code;
}
