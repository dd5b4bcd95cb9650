/* cmd_start.c - sca start and sca stop: begin a task with a set of
 * tracers; end a task (the latest by default) or tracers by name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "scalpels/util.h"

static void start_usage(void)
{
    printf("usage: sca start [-a TRACER[,TRACER]...]... [-f FILE.json] [--duration S] [--json]\n"
           "\n"
           "Starts the tracers in one new task and prints the task's uuid (only it, on\n"
           "stdout).  Tracers already running are skipped and named on stderr; when\n"
           "nothing could start the exit status is 1.\n"
           "\n"
           "  -a, --agent NAMES  tracers to start, comma-separated; repeatable\n"
           "  -f, --file FILE    a JSON file {\"agents\": [{\"name\": \"mysql\"}, ...]}\n"
           "  --duration S       the agent stops the task after S (30, 90s, 5m, 2h, 1d),\n"
           "                     even when no client is left\n"
           "  --json             print the agent's reply {uuid, started, skipped, failed,\n"
           "                     deadline, host}\n");
}

static bool agents_file_valid(const json_t *agents)
{
    size_t i;
    json_t *agent;
    if (!json_is_array(agents) || json_array_size(agents) == 0)
        return false;
    json_array_foreach(agents, i, agent)
    {
        if (!json_is_string(json_object_get(agent, "name")))
            return false;
    }
    return true;
}

/* Adds the names of the original prototype's agents.json to names. */
static int add_file_tracers(json_t *names, const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL)
        return cli_fail(CLI_USAGE, "-f %s: %s", path, jerr.text);
    json_t *agents = json_object_get(doc, "agents");
    int code = CLI_OK;
    if (!agents_file_valid(agents))
        code = cli_fail(CLI_USAGE,
                        "-f %s: expected {\"agents\": [{\"name\": \"TRACER\"}, ...]} with at "
                        "least one tracer",
                        path);
    size_t i;
    json_t *agent;
    json_array_foreach(agents, i, agent)
    {
        if (code == CLI_OK)
            code = cli_add_tracers(names, json_string_value(json_object_get(agent, "name")));
    }
    json_decref(doc);
    return code;
}

int cli_start_notes(const json_t *reply)
{
    json_t *skipped = json_object_get(reply, "skipped");
    json_t *started = json_object_get(reply, "started");
    if (json_array_size(skipped) > 0) {
        sca_buf names = {0};
        cli_join_names(skipped, &names);
        fprintf(stderr, "%s: skipped, already running: %s\n", cli_prog, names.data);
        sca_buf_free(&names);
    }
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(reply, "failed"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *why = json_string_value(json_object_get(f, "error"));
        fprintf(stderr, "%s: could not start %s: %s\n", cli_prog, name ? name : "?",
                why ? why : "no reason given");
    }
    if (json_string_value(json_object_get(reply, "uuid")) == NULL || json_array_size(started) == 0)
        return cli_fail(CLI_FAILED, "nothing started");
    return CLI_OK;
}

/* Prints the uuid (or the JSON reply) and what did not start. */
static int start_print(const json_t *reply, bool json)
{
    const char *uuid = json_string_value(json_object_get(reply, "uuid"));
    if (json)
        report_json(stdout, reply, NULL);
    else if (uuid != NULL && json_array_size(json_object_get(reply, "started")) > 0)
        printf("%s\n", uuid);
    return cli_start_notes(reply);
}

/* The agent caps a task's duration at its [agent] max_duration: say so when
 * it stops this one sooner than asked (the slack allows for the call's time
 * and for clocks of different nodes). */
static void note_capped(const json_t *reply, double duration)
{
    json_t *deadline = json_object_get(reply, "deadline");
    if (!json_is_number(deadline))
        return;
    double left = json_number_value(deadline) - sca_now();
    if (left < duration - 5)
        fprintf(stderr,
                "%s: the agent stops this task in %.0f s (its [agent] max_duration), not after "
                "the %.0f s asked\n",
                cli_prog, left > 0 ? left : 0, duration);
}

/* start_tracers(tracers, duration?); the reply in *reply.  Shared with run. */
int cli_start_tracers(cli_rpc *c, json_t *names, double duration, json_t **reply)
{
    json_t *args = json_pack("{s:O}", "tracers", names);
    if (duration > 0)
        json_object_set_new(args, "duration", json_real(duration));
    int code = cli_call(c, "start_tracers", args, reply);
    if (code == CLI_OK && !json_is_object(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        code = cli_fail(CLI_FAILED, "start_tracers answered with something other than an object");
    }
    if (code == CLI_OK && duration > 0)
        note_capped(*reply, duration);
    return code;
}

int cmd_start(const cli_global_opts *g, int argc, char **argv)
{
    static const struct option longopts[] = {{"agent", required_argument, NULL, 'a'},
                                             {"file", required_argument, NULL, 'f'},
                                             {"duration", required_argument, NULL, OPT_DURATION},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    json_t *names = json_array();
    double duration = 0;
    bool json = g->json;
    int opt, code = CLI_OK;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":a:f:h", longopts, "start")) != -1) {
        if (opt == 'a')
            code = cli_add_tracers(names, optarg);
        else if (opt == 'f')
            code = add_file_tracers(names, optarg);
        else if (opt == OPT_DURATION)
            code = cli_parse_seconds("--duration", optarg, &duration);
        else if (opt == OPT_JSON)
            json = true;
        else if (opt == 'h')
            code = CLI_HELP;
        else
            code = CLI_USAGE;
    }
    if (code == CLI_OK && optind < argc)
        code = cli_fail(CLI_USAGE, "start: unexpected argument '%s' (tracers go after -a)",
                        argv[optind]);
    if (code == CLI_OK && json_array_size(names) == 0)
        code = cli_fail(CLI_USAGE, "start needs tracers: -a NAME[,NAME] or -f FILE.json "
                                   "(see 'sca tracer' for the names)");
    cli_rpc *c = NULL;
    if (code == CLI_OK)
        code = cli_rpc_open(&g->conn, &c);
    json_t *reply = NULL;
    if (code == CLI_OK)
        code = cli_start_tracers(c, names, duration, &reply);
    if (code == CLI_OK)
        code = start_print(reply, json);
    /* Which of several agents took it: the one to stop and report it. */
    if (code == CLI_OK && !json && cli_rpc_pinned_host(c) != NULL)
        fprintf(stderr, "%s: started on host %s (stop and report it with --host %s)\n", cli_prog,
                cli_rpc_pinned_host(c), cli_rpc_pinned_host(c));
    json_decref(reply);
    cli_rpc_close(c);
    json_decref(names);
    if (code == CLI_HELP)
        start_usage();
    return code;
}

/* --- sca stop ------------------------------------------------------------ */

static void stop_usage(void)
{
    printf("usage: sca stop [UUID | --last] [--json]\n"
           "       sca stop -a TRACER[,TRACER]... [--json]\n"
           "\n"
           "Stops every tracer of task UUID (a unique prefix of at least %d characters\n"
           "will do), of the latest task when no UUID is given (--last says so), or the\n"
           "tracers named with -a.  The tracers flush what they have and exit.\n"
           "\n"
           "  -a, --agent NAMES  tracers to stop, comma-separated; repeatable\n"
           "  --last             the latest task (the default)\n"
           "  --json             print the agent's reply: the pids signalled (a task) or\n"
           "                     the names signalled (-a)\n",
           SCA_UUID_PREFIX_MIN);
}

struct stop_opts {
    json_t *names;
    const char *uuid;
    bool last;
    bool json;
};

static int stop_parse(struct stop_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {{"agent", required_argument, NULL, 'a'},
                                             {"last", no_argument, NULL, OPT_LAST},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt, code = CLI_OK;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":a:h", longopts, "stop")) != -1) {
        if (opt == 'a')
            code = cli_add_tracers(o->names, optarg);
        else if (opt == OPT_LAST)
            o->last = true;
        else if (opt == OPT_JSON)
            o->json = true;
        else if (opt == 'h')
            code = CLI_HELP;
        else
            code = CLI_USAGE;
    }
    if (code != CLI_OK)
        return code;
    if (optind < argc)
        o->uuid = argv[optind++];
    if (optind < argc)
        return cli_fail(CLI_USAGE, "stop: unexpected argument '%s'", argv[optind]);
    if (o->uuid != NULL && json_array_size(o->names) > 0)
        return cli_fail(CLI_USAGE, "stop: give a task UUID or tracers (-a), not both");
    if (o->last && (o->uuid != NULL || json_array_size(o->names) > 0))
        return cli_fail(CLI_USAGE, "stop: --last stops the latest task; it takes no UUID or -a");
    return o->uuid != NULL ? cli_check_uuid(o->uuid, "task") : CLI_OK;
}

static int stop_tracers(cli_rpc *c, const struct stop_opts *o)
{
    json_t *reply = NULL;
    sca_buf text = {0};
    int code = cli_call(c, "stop_tracers", json_pack("{s:O}", "tracers", o->names), &reply);
    if (code != CLI_OK)
        return code;
    if (o->json)
        report_json(stdout, reply, NULL);
    else if (json_array_size(reply) > 0) {
        cli_join_names(reply, &text);
        printf("stopping tracers: %s\n", text.data);
    } else
        printf("none of the tracers was running\n");
    sca_buf_free(&text);
    json_decref(reply);
    return CLI_OK;
}

/* The task o asks for: get_task(UUID) or get_latest_task(). */
static int stop_find_task(cli_rpc *c, const struct stop_opts *o, json_t **task)
{
    int code = o->uuid != NULL ? cli_call(c, "get_task", json_pack("{s:s}", "uuid", o->uuid), task)
                               : cli_call(c, "get_latest_task", NULL, task);
    if (code == CLI_OK && json_string_value(json_object_get(*task, "uuid")) == NULL) {
        json_decref(*task);
        *task = NULL;
        code = cli_fail(CLI_FAILED, "the agent sent a task without a uuid");
    }
    return code;
}

static int stop_task(cli_rpc *c, const struct stop_opts *o)
{
    json_t *task = NULL, *pids = NULL;
    int code = stop_find_task(c, o, &task);
    if (code != CLI_OK)
        return code;
    const char *uuid = json_string_value(json_object_get(task, "uuid"));
    code = cli_call(c, "stop_task", json_pack("{s:s}", "uuid", uuid), &pids);
    if (code == CLI_OK && o->json) {
        report_json(stdout, pids, NULL);
    } else if (code == CLI_OK && json_array_size(pids) > 0) {
        size_t n = json_array_size(pids);
        printf("stopping task %s: signalled %zu tracer process%s\n", uuid, n, n == 1 ? "" : "es");
    } else if (code == CLI_OK) {
        printf("task %s has already stopped\n", uuid);
    }
    json_decref(pids);
    json_decref(task);
    return code;
}

int cmd_stop(const cli_global_opts *g, int argc, char **argv)
{
    struct stop_opts o = {.names = json_array(), .json = g->json};
    int code = stop_parse(&o, argc, argv);
    cli_rpc *c = NULL;
    if (code == CLI_OK)
        code = cli_rpc_open(&g->conn, &c);
    if (code == CLI_OK)
        code = json_array_size(o.names) > 0 ? stop_tracers(c, &o) : stop_task(c, &o);
    cli_rpc_close(c);
    json_decref(o.names);
    if (code == CLI_HELP)
        stop_usage();
    return code;
}
