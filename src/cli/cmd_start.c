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

/* "sca: " or "sca: host NODE: " before a line about host's part. */
static void note_lead(const char *host)
{
    if (host != NULL)
        fprintf(stderr, "%s: host %s: ", cli_prog, host);
    else
        fprintf(stderr, "%s: ", cli_prog);
}

/* What did not start on host (NULL: the one agent), said on stderr;
 * whether anything did. */
static bool start_notes_of(const char *host, const json_t *reply)
{
    json_t *skipped = json_object_get(reply, "skipped");
    json_t *started = json_object_get(reply, "started");
    if (json_array_size(skipped) > 0) {
        sca_buf names = {0};
        cli_join_names(skipped, &names);
        note_lead(host);
        fprintf(stderr, "skipped, already running: %s\n", names.data);
        sca_buf_free(&names);
    }
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(reply, "failed"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *why = json_string_value(json_object_get(f, "error"));
        note_lead(host);
        fprintf(stderr, "could not start %s: %s\n", name ? name : "?",
                why ? why : "no reason given");
    }
    return json_string_value(json_object_get(reply, "uuid")) != NULL &&
           json_array_size(started) > 0;
}

int cli_start_notes(const json_t *reply)
{
    return start_notes_of(NULL, reply) ? CLI_OK : cli_fail(CLI_FAILED, "nothing started");
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
static void note_capped(const char *host, const json_t *reply, double duration)
{
    json_t *deadline = json_object_get(reply, "deadline");
    if (duration <= 0 || !json_is_number(deadline))
        return;
    double left = json_number_value(deadline) - sca_now();
    if (left >= duration - 5)
        return;
    note_lead(host);
    fprintf(stderr,
            "the agent stops this task in %.0f s (its [agent] max_duration), not after the %.0f s "
            "asked\n",
            left > 0 ? left : 0, duration);
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
    if (code == CLI_OK)
        note_capped(NULL, *reply, duration);
    return code;
}

struct start_opts {
    json_t *names;
    double duration;
    bool json;
};

static int start_parse(struct start_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {{"agent", required_argument, NULL, 'a'},
                                             {"file", required_argument, NULL, 'f'},
                                             {"duration", required_argument, NULL, OPT_DURATION},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt, code = CLI_OK;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":a:f:h", longopts, "start")) != -1) {
        if (opt == 'a')
            code = cli_add_tracers(o->names, optarg);
        else if (opt == 'f')
            code = add_file_tracers(o->names, optarg);
        else if (opt == OPT_DURATION)
            code = cli_parse_seconds("--duration", optarg, &o->duration);
        else if (opt == OPT_JSON)
            o->json = true;
        else if (opt == 'h')
            code = CLI_HELP;
        else
            code = CLI_USAGE;
    }
    if (code == CLI_OK && optind < argc)
        code = cli_fail(CLI_USAGE, "start: unexpected argument '%s' (tracers go after -a)",
                        argv[optind]);
    if (code == CLI_OK && json_array_size(o->names) == 0)
        code = cli_fail(CLI_USAGE, "start needs tracers: -a NAME[,NAME] or -f FILE.json "
                                   "(see 'sca tracer' for the names)");
    if (code == CLI_HELP)
        start_usage();
    return code;
}

int cmd_start(const cli_global_opts *g, int argc, char **argv)
{
    struct start_opts o = {.names = json_array(), .json = g->json};
    int code = start_parse(&o, argc, argv);
    cli_rpc *c = NULL;
    if (code == CLI_OK)
        code = cli_rpc_open(&g->conn, &c);
    json_t *reply = NULL;
    if (code == CLI_OK)
        code = cli_start_tracers(c, o.names, o.duration, &reply);
    if (code == CLI_OK)
        code = start_print(reply, o.json);
    /* Which of several agents took it: the one to stop and report it. */
    if (code == CLI_OK && !o.json && cli_rpc_pinned_host(c) != NULL)
        fprintf(stderr, "%s: started on host %s (stop and report it with --host %s)\n", cli_prog,
                cli_rpc_pinned_host(c), cli_rpc_pinned_host(c));
    json_decref(reply);
    cli_rpc_close(c);
    json_decref(o.names);
    return code;
}

/* An answer whose node started nothing becomes a failure of that node. */
static void start_checked(json_t *answer, double duration)
{
    const char *host = cli_json_str(answer, "host");
    json_t *reply = json_object_get(answer, "result");
    if (reply == NULL)
        return;
    note_capped(host, reply, duration);
    if (json_is_object(reply) && start_notes_of(host, reply))
        return;
    json_object_set_new(answer, "error",
                        json_string(json_is_object(reply)
                                        ? "nothing started"
                                        : "start_tracers answered with something other than an "
                                          "object"));
    json_object_set_new(answer, "exit", json_integer(CLI_FAILED));
}

/* sca --all-hosts start: start_tracers on every node at once, all with one
 * task uuid chosen here; it is printed once. */
int cmd_start_hosts(const cli_global_opts *g, int argc, char **argv)
{
    struct start_opts o = {.names = json_array(), .json = g->json};
    int code = start_parse(&o, argc, argv);
    cli_cluster *k = NULL;
    if (code == CLI_OK)
        code = cli_cluster_open(g, &k);
    if (code == CLI_OK && json_array_size(k->hosts) == 0)
        code = cli_cluster_none(k);
    char uuid[SCA_UUID_LEN + 1];
    sca_uuid_new(uuid);
    json_t *answers = NULL;
    if (code == CLI_OK) {
        json_t *args = json_pack("{s:O,s:s}", "tracers", o.names, "uuid", uuid);
        if (o.duration > 0)
            json_object_set_new(args, "duration", json_real(o.duration));
        code = cli_cluster_call(k, "start_tracers", args, &answers);
        json_decref(args);
    }
    size_t started = 0, i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        start_checked(a, o.duration);
        started += json_object_get(a, "error") == NULL;
    }
    if (code == CLI_OK && o.json) {
        json_t *doc = cli_cluster_json(k, answers);
        json_object_set_new(doc, "uuid", started > 0 ? json_string(uuid) : json_null());
        report_json(stdout, doc, NULL);
        json_decref(doc);
    } else if (code == CLI_OK && started > 0) {
        printf("%s\n", uuid);
    }
    if (code == CLI_OK)
        code = cli_cluster_outcome(k, answers);
    if (code != CLI_HELP && code != CLI_USAGE && answers != NULL && started == 0)
        cli_fail(CLI_FAILED, "nothing started");
    else if (started > 0 && !o.json)
        fprintf(stderr, "%s: task %s started on %zu of %zu hosts\n", cli_prog, uuid, started,
                json_array_size(k->hosts) + cli_cluster_missing(k));
    json_decref(answers);
    cli_cluster_close(k);
    json_decref(o.names);
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

/* What stop_tracers answered, after lead ("" or "NODE: "). */
static void print_stopped_tracers(const char *lead, const json_t *names)
{
    sca_buf text = {0};
    if (json_array_size(names) > 0) {
        cli_join_names(names, &text);
        printf("%sstopping tracers: %s\n", lead, text.data);
    } else {
        printf("%snone of the tracers was running\n", lead);
    }
    sca_buf_free(&text);
}

/* What stop_task answered for task uuid, after lead ("" or "NODE: "). */
static void print_stopped_task(const char *lead, const char *uuid, const json_t *pids)
{
    size_t n = json_array_size(pids);
    if (n > 0)
        printf("%sstopping task %s: signalled %zu tracer process%s\n", lead, uuid, n,
               n == 1 ? "" : "es");
    else
        printf("%stask %s has already stopped\n", lead, uuid);
}

static int stop_tracers(cli_rpc *c, const struct stop_opts *o)
{
    json_t *reply = NULL;
    int code = cli_call(c, "stop_tracers", json_pack("{s:O}", "tracers", o->names), &reply);
    if (code != CLI_OK)
        return code;
    if (o->json)
        report_json(stdout, reply, NULL);
    else
        print_stopped_tracers("", reply);
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
    if (code == CLI_OK && o->json)
        report_json(stdout, pids, NULL);
    else if (code == CLI_OK)
        print_stopped_task("", uuid, pids);
    json_decref(pids);
    json_decref(task);
    return code;
}

/* --- stop on many nodes --- */

/* The task each node found by get_task or get_latest_task (found: their
 * answers): stop_task of it on each at once. */
static int stop_found(cli_cluster *k, const json_t *found, json_t **answers)
{
    json_t *calls = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(found, i, a)
    {
        json_array_append_new(
            calls, json_pack("{s:O,s:{s:O}}", "host", json_object_get(a, "host"), "args", "uuid",
                             json_object_get(json_object_get(a, "result"), "uuid")));
    }
    int code = cli_call_each(k->c, calls, "stop_task", answers);
    json_decref(calls);
    return code;
}

/* The answers of a stop on many nodes: one line per node in host order
 * (lead "NODE: "), or without lead when one node was concerned and the
 * command did not ask for every node. */
static void print_stops(const json_t *answers, const json_t *found, bool lead)
{
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        json_t *result = json_object_get(a, "result");
        if (result == NULL)
            continue;
        char *prefix = lead ? sca_asprintf("%s: ", cli_json_str(a, "host")) : sca_strdup("");
        if (found != NULL)
            print_stopped_task(
                prefix, cli_json_str(json_object_get(json_array_get(found, i), "result"), "uuid"),
                result);
        else
            print_stopped_tracers(prefix, result);
        free(prefix);
    }
}

/* stop on every node (--all-hosts), or on the nodes that hold o->uuid
 * (a uuid without --host): tracers by name, the task uuid, or each
 * node's latest task. */
static int stop_cluster(const cli_global_opts *g, const struct stop_opts *o)
{
    cli_cluster *k = NULL;
    int code = cli_cluster_open(g, &k);
    if (code == CLI_OK && json_array_size(k->hosts) == 0)
        code = cli_cluster_none(k);
    json_t *found = NULL, *failed = NULL, *answers = NULL;
    if (code == CLI_OK && json_array_size(o->names) > 0) {
        json_t *args = json_pack("{s:O}", "tracers", o->names);
        code = cli_cluster_call(k, "stop_tracers", args, &answers);
        json_decref(args);
    } else if (code == CLI_OK) {
        code = o->uuid != NULL
                   ? cli_cluster_holders(k, "get_task", "task", o->uuid, &found, &failed)
                   : cli_cluster_latest(k, &found, &failed);
        if (code == CLI_OK)
            code = stop_found(k, found, &answers);
    }
    if (code == CLI_OK) {
        bool lead = g->conn.all_hosts || json_array_size(answers) > 1;
        if (o->json) {
            json_t *doc = cli_cluster_json(k, answers);
            report_json(stdout, doc, NULL);
            json_decref(doc);
        } else {
            print_stops(answers, found, lead);
        }
        json_array_extend(answers, failed);
        code = cli_cluster_outcome(k, answers);
    }
    json_decref(answers);
    json_decref(found);
    json_decref(failed);
    cli_cluster_close(k);
    return code;
}

int cmd_stop(const cli_global_opts *g, int argc, char **argv)
{
    struct stop_opts o = {.names = json_array(), .json = g->json};
    int code = stop_parse(&o, argc, argv);
    cli_rpc *c = NULL;
    if (code == CLI_OK && (g->conn.all_hosts || (o.uuid != NULL && cli_cluster_wanted(&g->conn))))
        code = stop_cluster(g, &o);
    else if (code == CLI_OK && (code = cli_rpc_open(&g->conn, &c)) == CLI_OK)
        code = json_array_size(o.names) > 0 ? stop_tracers(c, &o) : stop_task(c, &o);
    cli_rpc_close(c);
    json_decref(o.names);
    if (code == CLI_HELP)
        stop_usage();
    return code;
}
