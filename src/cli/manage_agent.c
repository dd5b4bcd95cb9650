/* manage_agent.c - sca-manage status and stop: the node's agent over RPC
 * (see manage.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "manage.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

#define GONE_POLL_NS 100000000L /* 100 ms */
#define GONE_CALL_TIMEOUT 1.0

/* The configured log level is the agent's: a client reports only what went
 * wrong (an expected "connection lost" after stop is not), unless debugging. */

static void quiet_logs(const config *cfg)
{
    log_set_level(cfg->log_level == LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING);
}

/* --timeout S and --help, the only options of both commands.  CLI_OK,
 * CLI_HELP for --help, or CLI_USAGE, printed (a bad option or argument
 * also after --help). */
static int agent_opts(int argc, char **argv, double *timeout)
{
    static const struct option longopts[] = {{"timeout", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool help = false;
    int opt;
    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":t:h", longopts, argv[0])) != -1) {
        if (opt == 'h') {
            help = true;
        } else if (opt != 't') {
            return CLI_USAGE;
        } else if (sca_parse_duration(optarg, timeout) != 0 || *timeout <= 0) {
            return cli_fail(CLI_USAGE, "--timeout expects seconds such as 5, 2.5 or 1m, not '%s'",
                            optarg);
        }
    }
    if (optind < argc)
        return cli_fail(CLI_USAGE, "unexpected argument '%s'", argv[optind]);
    return help ? CLI_HELP : CLI_OK;
}

static void print_duration(const char *label, double seconds)
{
    long s = (long)seconds;
    printf("%-18s", label);
    if (s >= 86400)
        printf("%ldd ", s / 86400);
    if (s >= 3600)
        printf("%ldh ", s / 3600 % 24);
    if (s >= 60)
        printf("%ldm ", s / 60 % 60);
    printf("%lds\n", s % 60);
}

static void print_info(const json_t *info)
{
    const char *strings[][2] = {{"version", "version:"},
                                {"host", "host:"},
                                {"transport", "transport:"},
                                {"db", "database:"}};
    printf("%-18syes\n", "reachable:");
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        const char *value = json_string_value(json_object_get(info, strings[i][0]));
        printf("%-18s%s\n", strings[i][1], value != NULL ? value : "?");
    }
    printf("%-18s%lld\n", "pid:", (long long)json_integer_value(json_object_get(info, "pid")));
    print_duration("uptime:", json_number_value(json_object_get(info, "uptime")));
    json_t *running = json_object_get(info, "tracers_running");
    size_t i;
    json_t *name;
    printf("%-18s%s", "tracers running:", json_array_size(running) > 0 ? "" : "none");
    json_array_foreach(running, i, name)
    {
        printf("%s%s", i > 0 ? ", " : "", json_is_string(name) ? json_string_value(name) : "?");
    }
    putchar('\n');
    printf("%-18s%lld\n",
           "tasks running:", (long long)json_integer_value(json_object_get(info, "tasks_running")));
    /* A stop that waits: its tracers hold lines the store does not take. */
    json_t *stopping;
    json_array_foreach(json_object_get(info, "tasks_stopping"), i, stopping)
    {
        sca_buf line = {0};
        cli_task_status(stopping, json_string_value(json_object_get(stopping, "uuid")), &line);
        printf("%-18s%s\n", i == 0 ? "tasks stopping:" : "", line.data);
        sca_buf_free(&line);
    }
    json_int_t held = json_integer_value(json_object_get(info, "held"));
    const char *why = json_string_value(json_object_get(info, "held_reason"));
    if (held > 0)
        printf("%-18s%lld (%s)\n", "lines held:", (long long)held, why != NULL ? why : "?");
    printf("%-18s%.2f s\n", "cpu:", json_number_value(json_object_get(info, "cpu_seconds")));
    printf("%-18s%.1f MiB\n",
           "rss:", (double)json_integer_value(json_object_get(info, "rss_kb")) / 1024.0);
}

/* Calls method on the node's own agent, on its local socket whatever
 * transport_url says: admin methods are served only there.  *c stays open
 * for the caller (who closes it, also on error). */
static int local_call(const config *cfg, double timeout, const char *method, cli_rpc **c,
                      json_t **reply)
{
    char *local = sca_asprintf("unix://%s/agent.sock", cfg->state_dir);
    cli_conn_opts o = {
        .cfg = cfg, .timeout = timeout, .transport_url = local, .config_path = manage_config_path};
    quiet_logs(cfg);
    int code = cli_rpc_open(&o, c);
    free(local);
    if (code == CLI_OK)
        code = cli_call(*c, method, NULL, reply);
    return code;
}

static void status_usage(void)
{
    printf("usage: sca-manage status [--timeout S]\n"
           "\n"
           "Asks the node's agent (agent_info) and prints whether it answers, its\n"
           "version, host, pid, uptime, transport, database, running tracers and tasks,\n"
           "and its own CPU time and resident memory.  Exit status 3 when no agent\n"
           "answers.\n"
           "\n"
           "  -t, --timeout S  seconds to wait for the answer (default [rpc] timeout)\n");
}

int manage_status(const config *cfg, int argc, char **argv)
{
    double timeout = 0;
    int code = agent_opts(argc, argv, &timeout);
    if (code == CLI_HELP)
        status_usage();
    if (code != CLI_OK)
        return code;
    cli_rpc *c = NULL;
    json_t *info = NULL;
    code = local_call(cfg, timeout, "agent_info", &c, &info);
    if (code == CLI_OK)
        print_info(info);
    else if (code == CLI_UNREACHABLE)
        printf("%-18sno\n", "reachable:");
    json_decref(info);
    cli_rpc_close(c);
    return code;
}

/* After the agent said it stops: until it no longer answers, or timeout. */
static int wait_gone(cli_rpc *c, double timeout)
{
    double end = sca_monotonic() + timeout;
    while (sca_monotonic() < end) {
        json_t *info = NULL;
        int rc = cli_rpc_call(c, "agent_info", NULL, GONE_CALL_TIMEOUT, &info, NULL);
        json_decref(info);
        if (rc != 0 && rc != -EREMOTEIO)
            return CLI_OK;
        struct timespec pause = {.tv_nsec = GONE_POLL_NS};
        nanosleep(&pause, NULL);
    }
    return cli_fail(CLI_FAILED, "the agent said it would stop but still answers after %gs",
                    timeout);
}

static void stop_usage(void)
{
    printf("usage: sca-manage stop [--timeout S]\n"
           "\n"
           "Asks the node's agent to exit (the admin method stop; only root or the\n"
           "agent's own user, over the unix socket) and waits until it no longer\n"
           "answers.  Running tracers keep tracing; the next agent adopts them.\n"
           "\n"
           "  -t, --timeout S  seconds to wait for the answer and for the exit\n"
           "                   (default [rpc] timeout)\n");
}

int manage_stop(const config *cfg, int argc, char **argv)
{
    double timeout = 0;
    int code = agent_opts(argc, argv, &timeout);
    if (code == CLI_HELP)
        stop_usage();
    if (code != CLI_OK)
        return code;
    cli_rpc *c = NULL;
    json_t *reply = NULL;
    code = local_call(cfg, timeout, "stop", &c, &reply);
    if (code == CLI_OK)
        code = wait_gone(c, timeout > 0 ? timeout : cfg->rpc_timeout);
    if (code == CLI_OK)
        printf("agent stopped\n");
    json_decref(reply);
    cli_rpc_close(c);
    return code;
}
