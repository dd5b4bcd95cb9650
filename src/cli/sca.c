/*
 * sca - the Scalpels client: start and stop tracers on a node's agent, run
 * a workload under them, and read back their results as tables, JSON, CSV
 * or an HTML page.  Global options, then one command; each command parses its own
 * options (cmd_*.c).  docs/cli.md is the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scalpels/log.h"

const char *cli_prog = "sca";

static const struct command {
    const char *name;
    int (*fn)(const sca_opts *g, int argc, char **argv);
    const char *summary;
    /* --all-hosts, when the command does more than run once per host */
    int (*all_hosts)(const sca_opts *g, const json_t *hosts, int argc, char **argv);
} commands[] = {
    {"start", cmd_start, "start tracers in a new task and print its uuid", NULL},
    {"stop", cmd_stop, "stop a task (the latest by default) or tracers by name", NULL},
    {"report", cmd_report, "print a task's results (the latest by default) or a tracer's",
     cmd_report_hosts},
    {"result", cmd_result, "list every result, or print one", NULL},
    {"tracer", cmd_tracer, "list the registered tracers and what they run", NULL},
    {"task", cmd_task, "list tasks, newest first", NULL},
    {"run", cmd_run, "start tracers, run a command, stop them when it exits, report", NULL},
    {"hosts", cmd_hosts, "list the agents that answer on the topic's fanout", NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: sca [--config FILE] [--transport-url URL] [--timeout S]\n"
               "           [--host NODE | --all-hosts] [--json] COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nOptions:\n"
               "  -c, --config FILE      configuration file (default: $SCALPELS_CONF, then\n"
               "                         " CONFIG_SYSTEM_PATH ")\n"
               "  --transport-url URL    the agent's transport instead of the configured one:\n"
               "                         unix:///path/agent.sock or rabbit://user:pass@host:port/\n"
               "  --timeout S            seconds to wait for each answer (default [rpc] timeout)\n"
               "  --host NODE            the agent of node NODE (AMQP only; default: any agent)\n"
               "  --all-hosts            COMMAND once for each agent 'sca hosts' finds, each\n"
               "                         after a '== host NODE ==' line (not with run);\n"
               "                         report --json, --csv or --html: one document for all\n"
               "  --json                 machine-readable output (see docs/cli.md)\n"
               "  -h, --help             show this help; 'sca COMMAND --help' for a command's\n"
               "\nA task or result uuid may be given as a unique prefix of at least 8 characters.\n"
               "Exit status: 0 ok, 1 the agent answered with an error, 2 bad usage or input,\n"
               "3 no agent reachable or no answer in time.\n");
}

enum { OPT_TRANSPORT = 300, OPT_TIMEOUT, OPT_HOST, OPT_ALL_HOSTS };

/* Parses the options before the command into g; CLI_OK, or an exit code
 * (-1 for --help: done, exit 0). */
static int parse_globals(int argc, char **argv, sca_opts *g, const char **config_path)
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
    opterr = 0;
    /* "+": stop at the command name; its options are its own. */
    while ((opt = getopt_long(argc, argv, "+:c:h", longopts, NULL)) != -1) {
        int code = CLI_OK;
        switch (opt) {
        case 'c':
            *config_path = optarg;
            break;
        case OPT_TRANSPORT:
            g->conn.transport_url = optarg;
            break;
        case OPT_TIMEOUT:
            code = sca_parse_seconds("--timeout", optarg, &g->conn.timeout);
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
            return -1;
        case ':':
            code = cli_fail(CLI_USAGE, "option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            code = cli_fail(CLI_USAGE, "unknown option '%s' (see 'sca --help')", argv[optind - 1]);
            break;
        }
        if (code != CLI_OK)
            return code;
    }
    if (g->conn.all_hosts && g->conn.host != NULL)
        return cli_fail(CLI_USAGE, "--host and --all-hosts exclude each other");
    return CLI_OK;
}

/* The command once per discovered host, with --host set; the exit code is
 * the worst of them.  run is refused: its workload would run once per
 * host here, not on the hosts. */
static int run_all_hosts(const struct command *cmd, sca_opts *g, int argc, char **argv)
{
    if (cmd->fn == cmd_run)
        return cli_fail(CLI_USAGE, "run cannot take --all-hosts: its command runs here; start, "
                                   "run the workload, then stop with --all-hosts");
    if (cmd->fn == cmd_hosts)
        return cmd->fn(g, argc, argv);
    json_t *hosts = NULL;
    int code = sca_discover_hosts(g, &hosts);
    if (code != CLI_OK)
        return code;
    if (cmd->all_hosts != NULL) {
        code = cmd->all_hosts(g, hosts, argc, argv);
        json_decref(hosts);
        return code;
    }
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        sca_host_heading(i, json_string_value(h));
        g->conn.host = json_string_value(h);
        int one = cmd->fn(g, argc, argv);
        if (one > code)
            code = one;
    }
    g->conn.host = NULL;
    json_decref(hosts);
    return code;
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
    sca_opts g = {0};
    const char *config_path = NULL;
    log_init(cli_prog);
    int code = parse_globals(argc, argv, &g, &config_path);
    if (code != CLI_OK)
        return code < 0 ? CLI_OK : code;
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
    if (g.conn.all_hosts)
        code = run_all_hosts(cmd, &g, argc - optind, argv + optind);
    else
        code = cmd->fn(&g, argc - optind, argv + optind);
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && code == CLI_OK)
        code = errno == EPIPE ? CLI_FAILED : cli_fail(CLI_FAILED, "cannot write the output");
    config_free(&cfg);
    return code;
}
