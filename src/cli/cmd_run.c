/* cmd_run.c - sca run: start tracers, run a command under them, stop them
 * when it exits, wait for the task to end, and print its report.  It
 * replaces the original prototype's OpenStack-only "load --storm". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sca.h"
#include "scalpels/util.h"

#define STOP_WAIT_SECONDS 30
#define STOP_POLL_NS 100000000L /* 100 ms */

static void run_usage(void)
{
    printf("usage: sca run -a TRACER[,TRACER]... [--duration S]\n"
           "               [--json | --csv | --html | --openmetrics] [--full] [--all]\n"
           "               [--rows N] [--] CMD [ARGS]...\n"
           "\n"
           "Starts the tracers in a new task, runs CMD (directly, not through a shell,\n"
           "with sca's stdin, stdout and stderr), stops the task when CMD exits, waits up\n"
           "to %d s for its tracers to finish, and prints the report as 'sca report' does.\n"
           "Ctrl-C reaches CMD; the task is still stopped and reported.\n"
           "Exit status: CMD's when it failed (128+N when killed by signal N, 127 when it\n"
           "could not be found), else 0; 1, 2 or 3 for sca's own errors.\n"
           "\n"
           "  -a, --agent NAMES  tracers to run, comma-separated; repeatable\n"
           "  --duration S       the agent stops the task after S even if CMD still runs\n"
           "  --json, --csv, --html, --openmetrics, --full, --all, --rows N: as for\n"
           "                     'sca report'; CMD's own stdout comes first on the same\n"
           "                     stream\n",
           STOP_WAIT_SECONDS);
}

struct run_args {
    cli_report_opts ro;
    json_t *names;
    double duration;
    char **cmd;
};

static int run_parse(struct run_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {{"agent", required_argument, NULL, 'a'},
                                             {"duration", required_argument, NULL, OPT_DURATION},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_REPORT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    int opt, code = CLI_OK;
    optind = 0;
    /* "+": the options end at CMD, whose own options are not ours. */
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, "+:a:h", longopts, "run")) != -1) {
        if (opt == 'a')
            code = cli_add_tracers(a->names, optarg);
        else if (opt == OPT_DURATION)
            code = cli_parse_seconds("--duration", optarg, &a->duration);
        else if (opt == 'h')
            code = CLI_HELP;
        else
            code = cli_report_opt(&a->ro, opt, optarg);
    }
    if (code != CLI_OK)
        return code;
    if (json_array_size(a->names) == 0)
        return cli_fail(CLI_USAGE, "run needs tracers: -a NAME[,NAME] (see 'sca tracer')");
    if (optind >= argc)
        return cli_fail(CLI_USAGE, "run needs a command: sca run -a NAME -- CMD [ARGS]");
    a->cmd = argv + optind;
    return CLI_OK;
}

/* The child: signals as a shell would leave them, then CMD. */
static void exec_command(char **cmd, const struct sigaction *old_int,
                         const struct sigaction *old_quit)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    sigaction(SIGINT, old_int, NULL);
    sigaction(SIGQUIT, old_quit, NULL);
    signal(SIGPIPE, SIG_DFL); /* the RPC transport ignores it; CMD must not */
    execvp(cmd[0], cmd);
    int e = errno;
    fprintf(stderr, "%s: cannot run '%s': %s\n", cli_prog, cmd[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

/* Runs cmd to its end; *status is its exit status in the shell's terms.
 * Meanwhile sca ignores SIGINT and SIGQUIT, as system() does: Ctrl-C is
 * for CMD, and sca must live on to stop the task. */
static int run_command(char **cmd, int *status)
{
    struct sigaction ignore = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGINT, &ignore, &old_int) != 0 || sigaction(SIGQUIT, &ignore, &old_quit) != 0)
        return cli_fail(CLI_FAILED, "sigaction: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        exec_command(cmd, &old_int, &old_quit);
    int wstatus = 0, code = CLI_OK;
    if (pid < 0)
        code = cli_fail(CLI_FAILED, "cannot start '%s': %s", cmd[0], strerror(errno));
    while (pid > 0 && waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR) {
            code = cli_fail(CLI_FAILED, "waitpid: %s", strerror(errno));
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    return code;
}

/* Polls get_task until the task has stopped or STOP_WAIT_SECONDS passed;
 * *task is its last state. */
static int wait_stopped(cli_rpc *c, const char *uuid, json_t **task)
{
    double end = sca_monotonic() + STOP_WAIT_SECONDS;
    for (;;) {
        int code = cli_call(c, "get_task", json_pack("{s:s}", "uuid", uuid), task);
        if (code != CLI_OK)
            return code;
        const char *status = json_string_value(json_object_get(*task, "status"));
        if (status != NULL && strcmp(status, "stopped") == 0)
            return CLI_OK;
        if (sca_monotonic() >= end) {
            fprintf(stderr, "%s: task %s still not stopped after %d s; reporting what it has\n",
                    cli_prog, uuid, STOP_WAIT_SECONDS);
            return CLI_OK;
        }
        json_decref(*task);
        *task = NULL;
        struct timespec pause = {.tv_nsec = STOP_POLL_NS};
        nanosleep(&pause, NULL);
    }
}

/* host: the agent that took the task (NULL: the one configured). */
static int stop_and_report(const cli_global_opts *g, const char *host, const char *uuid,
                           const cli_report_opts *ro)
{
    cli_rpc *c = NULL;
    json_t *pids = NULL, *task = NULL;
    cli_conn_opts conn = g->conn;
    if (host != NULL)
        conn.host = host;
    int code = cli_rpc_open(&conn, &c);
    if (code == CLI_OK)
        code = cli_call(c, "stop_task", json_pack("{s:s}", "uuid", uuid), &pids);
    if (code == CLI_OK)
        code = wait_stopped(c, uuid, &task);
    if (code == CLI_OK)
        code = cli_report_task(c, task, ro);
    json_decref(task);
    json_decref(pids);
    cli_rpc_close(c);
    return code;
}

/* Starts the tracers; *uuid is the new task's, and *host the agent that
 * took it when any agent could have (else left NULL); the caller frees
 * both, also on error. */
static int start(const cli_global_opts *g, const struct run_args *a, char **uuid, char **host)
{
    cli_rpc *c = NULL;
    json_t *reply = NULL;
    int code = cli_rpc_open(&g->conn, &c);
    if (code == CLI_OK)
        code = cli_start_tracers(c, a->names, a->duration, &reply);
    if (code == CLI_OK && cli_rpc_pinned_host(c) != NULL)
        *host = sca_strdup(cli_rpc_pinned_host(c));
    /* Closed while CMD runs: nothing should wait on a connection (AMQP
     * heartbeats) that no loop serves. */
    cli_rpc_close(c);
    if (code != CLI_OK)
        return code;
    code = cli_start_notes(reply);
    const char *task = json_string_value(json_object_get(reply, "uuid"));
    if (code == CLI_OK) {
        sca_buf started = {0};
        cli_join_names(json_object_get(reply, "started"), &started);
        fprintf(stderr, "%s: task %s%s%s: tracing with %s\n", cli_prog, task,
                *host != NULL ? " on host " : "", *host != NULL ? *host : "", started.data);
        sca_buf_free(&started);
        *uuid = sca_strdup(task);
    }
    json_decref(reply);
    return code;
}

int cmd_run(const cli_global_opts *g, int argc, char **argv)
{
    struct run_args a = {.names = json_array()};
    cli_report_opts_init(&a.ro, g);
    char *uuid = NULL, *host = NULL;
    int status = 0;
    int code = run_parse(&a, argc, argv);
    if (code == CLI_OK)
        code = start(g, &a, &uuid, &host);
    if (code == CLI_OK) {
        /* Whatever happened to CMD, the task is stopped and reported. */
        int run_code = run_command(a.cmd, &status);
        code = stop_and_report(g, host, uuid, &a.ro);
        if (code == CLI_OK)
            code = run_code;
    }
    free(uuid);
    free(host);
    json_decref(a.names);
    if (code == CLI_HELP)
        run_usage();
    return status != 0 ? status : code;
}
