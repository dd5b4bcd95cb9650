/*
 * sca.h - sca's commands (sca.c, cmd_*.c) and what they share.
 */
#ifndef SCALPELS_CLI_SCA_H
#define SCALPELS_CLI_SCA_H

#include "cli.h"
#include "scalpels/report.h"

/* sca's options before the command, which every cmd_* gets. */
typedef struct cli_global_opts {
    cli_conn_opts conn;
    bool json;                  /* --json before the command */
    enum table_charset charset; /* what the reader's terminal shows, by the locale */
} cli_global_opts;

/* Each command returns a cli_exit code (CLI_HELP once it printed its usage),
 * except that cmd_run returns CMD's exit status when CMD failed. */
int cmd_start(const cli_global_opts *g, int argc, char **argv);
/* stop, and stop under --all-hosts; also over AMQP with a UUID and no
 * --host, where it stops the task on the nodes that hold it. */
int cmd_stop(const cli_global_opts *g, int argc, char **argv);
/* report, and report under --all-hosts (one summary, JSON document or
 * HTML page of every node's series; CSV and -a node after node); also
 * over AMQP with a UUID and no --host, where it reports the task from the
 * nodes that hold it. */
int cmd_report(const cli_global_opts *g, int argc, char **argv);
/* result, and result under --all-hosts (-l: one table with a host
 * column); a result UUID is looked for on every node. */
int cmd_result(const cli_global_opts *g, int argc, char **argv);
int cmd_tracer(const cli_global_opts *g, int argc, char **argv);
int cmd_task(const cli_global_opts *g, int argc, char **argv);
int cmd_run(const cli_global_opts *g, int argc, char **argv);
int cmd_hosts(const cli_global_opts *g, int argc, char **argv);
/* The commands under --all-hosts: each once for every agent that answers,
 * over one connection, its calls to all of them at once. */
int cmd_start_hosts(const cli_global_opts *g, int argc, char **argv);
int cmd_tracer_hosts(const cli_global_opts *g, int argc, char **argv);
int cmd_task_hosts(const cli_global_opts *g, int argc, char **argv);

/* --- Many nodes (cmd_cluster.c) -------------------------------------------
 *
 * A command over many nodes asks who answers (a fanout gather of
 * agent_info that ends once every agent listening on the topic answered,
 * else at --timeout), then calls them all at once over one connection;
 * its output comes host by host in host order.  Agents that listen but do
 * not answer are named when sca has seen them answer before, else
 * counted; agents seen before that have stopped are named too.  The exit status is 0 when every
 * node did what was asked, CLI_SOME_FAILED when some did and some did not, else the worst of the
 * failures. */

typedef struct cli_cluster {
    cli_rpc *c;      /* one connection for every call */
    json_t *infos;   /* agent_info of each agent that answered, sorted by host */
    json_t *hosts;   /* their host names, sorted, each once */
    json_t *silent;  /* names of agents that listen but did not answer */
    size_t unnamed;  /* more of those, not known here by name */
    json_t *stopped; /* names of agents that answered before and no longer listen */
} cli_cluster;

/* Connects as g says (--host aside) and finds the agents.  CLI_OK, also
 * when none answered (hosts empty), or an exit code, printed. */
int cli_cluster_open(const cli_global_opts *g, cli_cluster **out);
void cli_cluster_close(cli_cluster *k);
/* Whether a command naming a uuid asks every node for it: --all-hosts, or
 * over AMQP without --host (the task may be on any node, or on several). */
bool cli_cluster_wanted(const cli_conn_opts *o);
/* The nodes missing: agents that listen but did not answer, and agents
 * seen before that have stopped. */
size_t cli_cluster_missing(const cli_cluster *k);
/* Says on stderr which nodes are missing, and why. */
void cli_cluster_note_missing(const cli_cluster *k);
/* The missing nodes into by_host, a document keyed by host: {NODE:
 * {"error": why, "class": null, "exit": 3}}. */
void cli_cluster_add_missing(const cli_cluster *k, json_t *by_host);
/* None answered: said (with the missing ones), CLI_UNREACHABLE. */
int cli_cluster_none(const cli_cluster *k);
/* method(args) on every host at once (cli_call_hosts). */
int cli_cluster_call(cli_cluster *k, const char *method, const json_t *args, json_t **answers);
/* The exit status of a command whose nodes' answers (cli_call_each's) are
 * these: each failure said on stderr ("sca: host NODE: ..."), then the
 * missing nodes. */
int cli_cluster_outcome(const cli_cluster *k, const json_t *answers);
/* The answers as one JSON document: {"hosts": [{"host", "exit", "output":
 * the result or null, "error" with a failure}, ...]} in host order, the
 * missing nodes among them (exit 3), and "silent_unnamed": N when some
 * could not be named. */
json_t *cli_cluster_json(const cli_cluster *k, const json_t *answers);
/* The nodes that hold the task or result uuid (a full uuid or a prefix):
 * method (get_task, get_result) with {"uuid": uuid} on every node; the
 * answers of those that have it in *holders, failures other than NotFound
 * in *failed (new arrays).  A prefix that names different uuids on two
 * nodes, or no node that has it: said, and an exit code. */
int cli_cluster_holders(cli_cluster *k, const char *method, const char *what, const char *uuid,
                        json_t **holders, json_t **failed);
/* Each node's latest task: the answers of get_latest_task that have one in
 * *found, failures other than NotFound (no task yet) in *failed (new
 * arrays).  None with a task: said, and an exit code. */
int cli_cluster_latest(cli_cluster *k, json_t **found, json_t **failed);
/* The "host" of each of answers (a new array). */
json_t *cli_answer_hosts(const json_t *answers);
int cmd_compare(const cli_global_opts *g, int argc, char **argv);
int cmd_watch(const cli_global_opts *g, int argc, char **argv);

/* Option values above any character, for long-only options. */
enum cli_long_option {
    OPT_JSON = 256,
    OPT_CSV,
    OPT_HTML,
    OPT_FULL,
    OPT_ALL,
    OPT_ROWS,
    OPT_LAST,
    OPT_DURATION,
    OPT_LIMIT,
    OPT_SHORT,
    OPT_THRESHOLD,
    OPT_FAIL_ON_CHANGE,
    OPT_INTERVAL,
    OPT_OPENMETRICS,
};

/* The options report, result and run share (cmd_args.c). */
/* clang-format off */
#define CLI_REPORT_LONGOPTS                                                     \
    {"json", no_argument, NULL, OPT_JSON}, {"csv", no_argument, NULL, OPT_CSV}, \
    {"html", no_argument, NULL, OPT_HTML},                                      \
    {"openmetrics", no_argument, NULL, OPT_OPENMETRICS},                        \
    {"full", no_argument, NULL, OPT_FULL}, {"all", no_argument, NULL, OPT_ALL}, \
    {"rows", required_argument, NULL, OPT_ROWS}
/* clang-format on */

/* CLI_FORMAT_HTML: one page for everything printed, so results are collected
 * first (cmd_report.c) and written with report_html.  CLI_FORMAT_OPENMETRICS:
 * cmd_openmetrics.c. */
enum cli_format {
    CLI_FORMAT_TEXT,
    CLI_FORMAT_JSON,
    CLI_FORMAT_CSV,
    CLI_FORMAT_HTML,
    CLI_FORMAT_OPENMETRICS
};

typedef struct cli_report_opts {
    enum cli_format format;
    report_options text;
    bool tables; /* --rows, --all or --full: text as tables of samples, not the summary */
} cli_report_opts;

/* Defaults, with --json before the command applied. */
void cli_report_opts_init(cli_report_opts *ro, const cli_global_opts *g);
/* Handles opt, one of CLI_REPORT_LONGOPTS: CLI_OK, or CLI_USAGE after
 * printing why (two of --json, --csv and --html, a bad --rows).  Any other
 * opt is what cli_getopt returns for an error it printed: CLI_USAGE. */
int cli_report_opt(cli_report_opts *ro, int opt, const char *arg);

/* Appends the names in "a,b" to names (a JSON array), skipping repeats.
 * CLI_OK or CLI_USAGE (an empty or invalid name, printed). */
int cli_add_tracers(json_t *names, const char *arg);
/* CLI_OK when arg can be a uuid or a prefix of at least SCA_UUID_PREFIX_MIN characters,
 * else CLI_USAGE, printed; what names the kind ("task", "result"). */
int cli_check_uuid(const char *arg, const char *what);
/* "a, b, c" from a JSON array of strings, appended to out. */
void cli_join_names(const json_t *names, sca_buf *out);
/* Whether the JSON array of strings names holds the n bytes at name. */
bool cli_names_has(const json_t *names, const char *name, size_t n);
/* obj[key] when it is a string, else NULL (borrowed from obj). */
const char *cli_json_str(const json_t *obj, const char *key);
/* The duration of --duration, --timeout: seconds, or 30s, 5m, 2h, 1d. */
int cli_parse_seconds(const char *opt, const char *arg, double *out);

/* The exit code for rc, a report_* writer's return (err its message): a
 * reader that went away (| head) needs no message. */
int cli_printed(int rc, const sca_error *err);

/* start_tracers(tracers=names, duration if > 0) (cmd_start.c); on CLI_OK
 * *reply is the agent's reply object. */
int cli_start_tracers(cli_rpc *c, json_t *names, double duration, json_t **reply);
/* Says on stderr which tracers of a start_tracers reply were skipped or
 * failed; CLI_FAILED ("nothing started") when none started. */
int cli_start_notes(const json_t *reply);

/* Prints a task's report (cmd_report.c): "reporting task: <UUID>" and its
 * summary or tables, or its JSON, CSV or HTML page. */
int cli_report_task(cli_rpc *c, json_t *task, const cli_report_opts *ro);

/* get_result(uuid, summary=true) with every sample (JSON, CSV, HTML, --all)
 * or only those the text view shows, paging by offset; *out has "count" and
 * "summary" as the agent sent them, the rows in "data", and "host" when
 * host is not NULL.  A cli_exit code, the failure printed. */
int cli_fetch_result(cli_rpc *c, const char *uuid, const cli_report_opts *ro, const char *host,
                     json_t **out);

/* Where cli_walk_result hands a result.  Each hook returns 0, or a
 * negative errno code with err set (a write that failed). */
typedef struct cli_result_sink {
    /* First: the result's members but its rows, as a whole result reads
     * (offset 0, not truncated, with "host" when given). */
    int (*begin)(void *arg, const json_t *head, sca_error *err);
    /* A page's rows as get_result sent them ("data"'s text, len bytes): at
     * most max of them, written rows having come before; *n: how many it
     * took. */
    int (*rows)(void *arg, const char *rows, size_t len, size_t max, size_t written, size_t *n,
                sca_error *err);
    /* After the last row (NULL: nothing to do). */
    int (*end)(void *arg, const json_t *head, sca_error *err);
    /* Instead of the three above, from an agent without the keyset cursor:
     * the result fetched whole (cli_fetch_result), checked. */
    int (*whole)(void *arg, const json_t *result, sca_error *err);
    void *arg;
} cli_result_sink;

/* cmd_stream.c: the one page walker of sca.  Hands result uuid to sink as
 * its pages of get_result(after=...) arrive, the next asked for before
 * the one before is handed on, up to the count the first page gives
 * (samples stored meanwhile wait for the next report); with "summary" for
 * JSON (ro).  An agent without that cursor gets the result fetched whole.
 * A cli_exit code, the failure printed; a failure part way leaves the
 * output cut short. */
int cli_walk_result(cli_rpc *c, const char *uuid, const cli_report_opts *ro, const char *host,
                    const cli_result_sink *sink);

/* Writes result uuid to out in ro's format, CSV or JSON, through
 * cli_walk_result: CSV rows (led by host when not NULL) or the JSON
 * result object (with "host" when not NULL), as report_csv and
 * report_json_value would write the whole result. */
int cli_stream_result(cli_rpc *c, const char *uuid, const cli_report_opts *ro, const char *host,
                      FILE *out);

/* --- What the summary and the HTML page draw (cmd_series.c) ------------- */

#define CLI_SERIES_POINTS_MIN 2    /* get_task_series' range of points */
#define CLI_SERIES_POINTS_MAX 5000 /* ... and of log_rows */

typedef struct cli_series_want {
    size_t points;   /* per stream series (clamped to the range above) */
    size_t log_rows; /* per log series */
} cli_series_want;

/* get_task_series(task, points, log_rows[, tracers]) on c, into *reply (a
 * new reference).  A reply larger than the agent's max_message_size is
 * asked for again with half the points and log rows, down to the least.
 * CLI_OK or an exit code, printed. */
int cli_task_series(cli_rpc *c, const char *task, const json_t *tracers, cli_series_want want,
                    json_t **reply);
/* The series of the results uuids (full uuids, of any tasks) as one
 * get_task_series-shaped reply with "task": null, in the order of uuids:
 * one get_task_series call per task (get_all_results tells the tasks). */
int cli_results_series(cli_rpc *c, const json_t *uuids, cli_series_want want, json_t **reply);
/* cli_results_series of many nodes at once over c's one connection, for
 * ro's output of a report of nodes nodes (each node's points as
 * cli_series_wanted gives them for its results): answers as
 * cli_call_each's, each "result" the uuids of that node's results; each
 * is replaced by the node's reply, or the answer turned into the failure
 * of one of its calls (get_all_results, get_task_series).  CLI_OK, or an
 * exit code, printed. */
int cli_results_series_each(cli_rpc *c, json_t *answers, const cli_report_opts *ro, size_t nodes);

/* What to fetch per series for ro's output, for a report of nodes nodes
 * with about nresults results each: the summary needs no points at all. */
cli_series_want cli_series_wanted(const cli_report_opts *ro, size_t nresults, size_t nodes);
/* replies (get_task_series replies, one per node: {"host", "task",
 * "series"}) as the summary or the HTML page; full_data: the command that
 * prints every sample; hosts: lay it out for several nodes. */
int cli_print_series(const json_t *replies, const cli_report_opts *ro, const char *full_data,
                     bool hosts);

/* --- The report of many nodes (cmd_report_cluster.c) --- */

/* Every node's series of the task uuid (the nodes that hold it), or of its
 * latest task (uuid NULL), fetched at once: get_task_series with each
 * node's full uuid and the points ro's output draws (cli_series_wanted).  *replies:
 * {host: get_task_series' reply, or {"error", "class", "exit"} for a node
 * that failed}; *answers: the same as cli_call_each's answers, for
 * cli_cluster_outcome.  CLI_OK, or an exit code, printed (no node has
 * the task). */
int cli_fetch_series(cli_cluster *k, const char *uuid, const cli_report_opts *ro, json_t **replies,
                     json_t **answers);
/* sca report of many nodes: cli_fetch_series, then one summary (text),
 * JSON {"hosts": replies}, or one HTML page; the exit status of it all. */
int cli_report_cluster(cli_cluster *k, const char *uuid, const cli_report_opts *ro);

/* --- OpenMetrics (cmd_openmetrics.c) --- */

/* Results of one agent: uuids (a JSON array), labelled with host (NULL:
 * no host label). */
typedef struct cli_om_source {
    const char *host;
    const json_t *uuids;
} cli_om_source;

/* Every sample of the stream results of the nsrc sources as one
 * OpenMetrics text on stdout, family by family, each result's pages
 * written as they come, all through c; with each_host, each source's
 * calls go to the agent of its host (cli_rpc_set_host).  On stderr, notes
 * on what was left out (logs, samples sharing a millisecond).  A cli_exit
 * code, the failure printed. */
int cli_openmetrics(cli_rpc *c, const cli_om_source *src, size_t nsrc, bool each_host);
/* The same for uuids of the agent c reaches, labelled with its host. */
int cli_openmetrics_one(cli_rpc *c, const json_t *uuids);

#endif
