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
    /* Under --all-hosts the command runs once per host, unless: */
    int (*all_hosts)(const cli_global_opts *g, const json_t *hosts, int argc, char **argv);
    bool covers_all_hosts;    /* it already asks every host: it runs once */
    const char *no_all_hosts; /* it cannot: why */
} commands[] = {
    {.name = "start", .fn = cmd_start, .summary = "start tracers in a new task and print its uuid"},
    {.name = "stop",
     .fn = cmd_stop,
     .summary = "stop a task (the latest by default) or tracers by name"},
    {.name = "report",
     .fn = cmd_report,
     .summary = "print a task's results (the latest by default) or a tracer's",
     .all_hosts = cmd_report_hosts},
    {.name = "result", .fn = cmd_result, .summary = "list every result, or print one"},
    {.name = "tracer",
     .fn = cmd_tracer,
     .summary = "list the registered tracers and what they run"},
    {.name = "task", .fn = cmd_task, .summary = "list tasks, newest first"},
    {.name = "run",
     .fn = cmd_run,
     .summary = "start tracers, run a command, stop them when it exits, report",
     .no_all_hosts = "its command runs here; start, run the workload, then stop with --all-hosts"},
    {.name = "compare",
     .fn = cmd_compare,
     .summary = "compare two tasks' series: count, avg, p95, max and the change",
     .no_all_hosts = "it compares two tasks of one agent; give --host NODE"},
    {.name = "watch",
     .fn = cmd_watch,
     .summary = "a live view of a task's series: last value, rate, sparkline",
     .no_all_hosts = "it watches one agent's task; give --host NODE"},
    {.name = "hosts",
     .fn = cmd_hosts,
     .summary = "list the agents that answer on the topic's fanout",
     .covers_all_hosts = true},
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
            "  --host NODE            the agent of node NODE (AMQP only; default: whichever\n"
            "                         agent takes the command's first call, then that one)\n"
            "  --all-hosts            COMMAND once for each agent 'sca hosts' finds, each\n"
            "                         after a '== host NODE ==' line (not with run); JSON\n"
            "                         output (and report --csv, --html): one document\n"
            "  --json                 machine-readable output (see docs/cli.md)\n"
            "  -h, --help             show this help; 'sca COMMAND --help' for a command's\n"
            "\nA task or result uuid may be given as a unique prefix of at least %d characters.\n"
            "Exit status: 0 ok, 1 the agent answered with an error, 2 bad usage or input,\n"
            "3 no agent reachable or no answer in time, 5 compare --fail-on-change found a\n"
            "change.\n",
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

/* One host's run of a command under --all-hosts, its output kept. */
struct host_run {
    const char *host;
    int code;        /* its exit status */
    char *out, *err; /* what it printed on stdout and stderr */
    size_t out_len, err_len;
};

/* Runs cmd for r->host with its stdout and stderr kept in r.  The glibc
 * manual documents stdout and stderr as variables a program may set. */
static void run_captured(const struct command *cmd, cli_global_opts *g, int argc, char **argv,
                         struct host_run *r)
{
    FILE *out = open_memstream(&r->out, &r->out_len);
    FILE *err = open_memstream(&r->err, &r->err_len);
    if (out == NULL || err == NULL) {
        r->code = cli_fail(CLI_FAILED, "cannot keep the output: %s", strerror(errno));
        if (out != NULL)
            fclose(out);
        if (err != NULL)
            fclose(err);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    FILE *saved_out = stdout, *saved_err = stderr;
    stdout = out;
    stderr = err;
    g->conn.host = r->host;
    r->code = cli_exit_status(cmd->fn(g, argc, argv));
    g->conn.host = NULL;
    stdout = saved_out;
    stderr = saved_err;
    fclose(out);
    fclose(err);
}

/* What host printed, as JSON: an object or an array (json_null() for
 * nothing), or NULL when it printed text. */
static json_t *output_json(const struct host_run *r)
{
    if (r->out_len == 0)
        return json_null();
    return json_loadb(r->out, r->out_len, 0, NULL);
}

/* Every line of text, after "host NODE: ", to stderr. */
static void replay_errors(const struct host_run *r)
{
    for (const char *line = r->err; line < r->err + r->err_len;) {
        const char *nl = memchr(line, '\n', (size_t)(r->err + r->err_len - line));
        size_t len = nl != NULL ? (size_t)(nl - line) : (size_t)(r->err + r->err_len - line);
        fprintf(stderr, "host %s: %.*s\n", r->host, (int)len, line);
        line += len + 1;
    }
}

/* The runs as {"hosts": [{"host", "exit", "output"}, ...]} when every run
 * printed JSON (or nothing) and one printed some; false when not. */
static bool print_json_runs(const struct host_run *runs, size_t n)
{
    json_t *hosts = json_array();
    bool any = false, all = true;
    for (size_t i = 0; i < n && all; i++) {
        json_t *v = output_json(&runs[i]);
        all = v != NULL;
        any = any || (v != NULL && !json_is_null(v));
        if (v != NULL)
            json_array_append_new(hosts, json_pack("{s:s,s:i,s:o}", "host", runs[i].host, "exit",
                                                   runs[i].code, "output", v));
    }
    if (!all || !any) {
        json_decref(hosts);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        replay_errors(&runs[i]);
    json_t *doc = json_pack("{s:o}", "hosts", hosts);
    report_json(stdout, doc, NULL);
    json_decref(doc);
    return true;
}

/* The command once per discovered host, with --host set; the exit code is
 * the worst of them.  Output that is JSON for every host becomes one
 * document; other output is printed host by host, each after its heading. */
static int run_all_hosts(const struct command *cmd, cli_global_opts *g, int argc, char **argv)
{
    if (cmd->no_all_hosts != NULL)
        return cli_fail(CLI_USAGE, "%s cannot take --all-hosts: %s", cmd->name, cmd->no_all_hosts);
    if (cmd->covers_all_hosts)
        return cmd->fn(g, argc, argv);
    json_t *hosts = NULL;
    int code = cli_discover_hosts(g, &hosts);
    if (code != CLI_OK)
        return code;
    if (cmd->all_hosts != NULL) {
        code = cmd->all_hosts(g, hosts, argc, argv);
        json_decref(hosts);
        return code;
    }
    size_t n = json_array_size(hosts);
    struct host_run *runs = sca_calloc(n, sizeof(*runs));
    for (size_t i = 0; i < n; i++) {
        runs[i].host = json_string_value(json_array_get(hosts, i));
        run_captured(cmd, g, argc, argv, &runs[i]);
        if (runs[i].code > code)
            code = runs[i].code;
    }
    if (!print_json_runs(runs, n)) {
        for (size_t i = 0; i < n; i++) {
            cli_host_heading(i, runs[i].host);
            fwrite(runs[i].err, 1, runs[i].err_len, stderr);
            fwrite(runs[i].out, 1, runs[i].out_len, stdout);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(runs[i].out);
        free(runs[i].err);
    }
    free(runs);
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
    if (g.conn.all_hosts)
        code = run_all_hosts(cmd, &g, argc - optind, argv + optind);
    else
        code = cmd->fn(&g, argc - optind, argv + optind);
    code = cli_exit_status(code);
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && code == CLI_OK)
        code = errno == EPIPE ? CLI_FAILED : cli_fail(CLI_FAILED, "cannot write the output");
    config_free(&cfg);
    return code;
}
