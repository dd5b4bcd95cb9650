/*
 * sca - the Scalpels client: start and stop tracers on a node's agent, run
 * a workload under them, and read back their results as tables, JSON, CSV
 * or an HTML page.  Global options, then one command; each command parses its own
 * options (cmd_*.c).  docs/cli.md is the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sca.h"
#include "scalpels/log.h"

const char *cli_prog = "sca";

static const struct command {
    const char *name;
    int (*fn)(const cli_global_opts *g, int argc, char **argv);
    const char *summary;
    /* The command under --all-hosts, or NULL when it cannot take it: */
    int (*all_hosts)(const cli_global_opts *g, int argc, char **argv);
    const char *no_all_hosts; /* why */
} commands[] = {
    {.name = "start",
     .fn = cmd_start,
     .summary = "start tracers in a new task and print its uuid",
     .all_hosts = cmd_start_hosts},
    {.name = "stop",
     .fn = cmd_stop,
     .summary = "stop a task (the latest by default) or tracers by name",
     .all_hosts = cmd_stop},
    {.name = "report",
     .fn = cmd_report,
     .summary = "print a task's results (the latest by default) or a tracer's",
     .all_hosts = cmd_report},
    {.name = "result",
     .fn = cmd_result,
     .summary = "list every result, or print one",
     .all_hosts = cmd_result},
    {.name = "tracer",
     .fn = cmd_tracer,
     .summary = "list the registered tracers and what they run",
     .all_hosts = cmd_tracer_hosts},
    {.name = "task",
     .fn = cmd_task,
     .summary = "list tasks, newest first",
     .all_hosts = cmd_task_hosts},
    {.name = "run",
     .fn = cmd_run,
     .summary = "start tracers, run a command, stop them when it exits, report",
     .no_all_hosts = "its command runs here; start, run the workload, then stop with --all-hosts"},
    {.name = "compare",
     .fn = cmd_compare,
     .summary = "compare two tasks' series: count, avg, p95, max and the change",
     .all_hosts = cmd_compare},
    {.name = "watch",
     .fn = cmd_watch,
     .summary = "a live view of a task's series: last value, rate, sparkline",
     .no_all_hosts = "it watches one agent's task; give --host NODE"},
    {.name = "hosts",
     .fn = cmd_hosts,
     .summary = "list the agents that answer on the topic's fanout",
     .all_hosts = cmd_hosts},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: sca [--config FILE] [--transport-url URL] [--timeout S]\n"
               "           [--host NODE | --all-hosts] [--json] COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nOptions:\n"
            "  -c, --config FILE      configuration file (default: $SCALPELS_CONF, then\n"
            "                         " CONFIG_SYSTEM_PATH ")\n"
            "  --transport-url URL    the agent's transport instead of the configured one:\n"
            "                         unix:///path/agent.sock or rabbit://user:pass@host:port/\n"
            "  --timeout S            seconds to wait for each answer (default [rpc] timeout)\n"
            "  --host NODE            the agent of node NODE (AMQP only; default: the nodes\n"
            "                         that hold the UUID a command names, else whichever\n"
            "                         agent takes the command's first call, then that one)\n"
            "  --all-hosts            COMMAND for every agent 'sca hosts' finds, all at\n"
            "                         once, output host by host (not with run); start\n"
            "                         gives them one task uuid\n"
            "  --json                 machine-readable output (see docs/cli.md)\n"
            "  -h, --help             show this help; 'sca COMMAND --help' for a command's\n"
            "\nA task or result uuid may be given as a unique prefix of at least %d characters;\n"
            "over AMQP without --host, the nodes that hold it are found.\n"
            "Exit status: 0 ok, 1 the agent answered with an error, 2 bad usage or input,\n"
            "3 no agent reachable or no answer in time, 4 some nodes failed (others did\n"
            "what was asked), 5 compare --fail-on-change found a change.\n",
            SCA_UUID_PREFIX_MIN);
}

enum { OPT_TRANSPORT = 300, OPT_TIMEOUT, OPT_HOST, OPT_ALL_HOSTS };

/* Parses the options before the command into g: CLI_OK, CLI_HELP after
 * printing the usage, or CLI_USAGE, printed. */
static int parse_globals(int argc, char **argv, cli_global_opts *g, const char **config_path)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"transport-url", required_argument, NULL, OPT_TRANSPORT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"host", required_argument, NULL, OPT_HOST},
        {"all-hosts", no_argument, NULL, OPT_ALL_HOSTS},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    /* "+": stop at the command name; its options are its own. */
    while ((opt = cli_getopt(argc, argv, "+:c:h", longopts, NULL)) != -1) {
        int code = CLI_OK;
        switch (opt) {
        case 'c':
            *config_path = optarg;
            break;
        case OPT_TRANSPORT:
            g->conn.transport_url = optarg;
            break;
        case OPT_TIMEOUT:
            code = cli_parse_seconds("--timeout", optarg, &g->conn.timeout);
            break;
        case OPT_HOST:
            g->conn.host = optarg;
            break;
        case OPT_ALL_HOSTS:
            g->conn.all_hosts = true;
            break;
        case OPT_JSON:
            g->json = true;
            break;
        case 'h':
            usage(stdout);
            return CLI_HELP;
        default: /* cli_getopt said what is wrong */
            code = CLI_USAGE;
            break;
        }
        if (code != CLI_OK)
            return code;
    }
    if (g->conn.all_hosts && g->conn.host != NULL)
        return cli_fail(CLI_USAGE, "--host and --all-hosts exclude each other");
    return CLI_OK;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    }
    return NULL;
}

int main(int argc, char **argv)
{
    cli_global_opts g = {.charset = table_charset_of_locale()};
    const char *config_path = NULL;
    log_init(cli_prog);
    int code = parse_globals(argc, argv, &g, &config_path);
    if (code != CLI_OK)
        return cli_exit_status(code);
    if (optind >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const struct command *cmd = find_command(argv[optind]);
    if (cmd == NULL)
        return cli_fail(CLI_USAGE, "unknown command '%s' (see 'sca --help')", argv[optind]);
    config cfg;
    sca_error err = {0};
    if (config_load(&cfg, config_path, &err) != 0)
        return cli_fail(CLI_USAGE, "%s", err.msg);
    /* The agent's log level is for the agent: a client says only what
     * went wrong, unless asked for debugging. */
    log_set_level(cfg.log_level == LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING);
    g.conn.cfg = &cfg;
    g.conn.config_path = config_path;
    if (g.conn.all_hosts && cmd->all_hosts == NULL)
        code = cli_fail(CLI_USAGE, "%s cannot take --all-hosts: %s", cmd->name, cmd->no_all_hosts);
    else if (g.conn.all_hosts)
        code = cmd->all_hosts(&g, argc - optind, argv + optind);
    else
        code = cmd->fn(&g, argc - optind, argv + optind);
    code = cli_exit_status(code);
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && code == CLI_OK)
        code = errno == EPIPE ? CLI_FAILED : cli_fail(CLI_FAILED, "cannot write the output");
    config_free(&cfg);
    return code;
}
