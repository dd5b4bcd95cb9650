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
int cmd_stop(const cli_global_opts *g, int argc, char **argv);
int cmd_report(const cli_global_opts *g, int argc, char **argv);
/* sca --all-hosts report: text under each host's heading; JSON, CSV and
 * HTML as one document for every host in hosts. */
int cmd_report_hosts(const cli_global_opts *g, const json_t *hosts, int argc, char **argv);
int cmd_result(const cli_global_opts *g, int argc, char **argv);
int cmd_tracer(const cli_global_opts *g, int argc, char **argv);
int cmd_task(const cli_global_opts *g, int argc, char **argv);
int cmd_run(const cli_global_opts *g, int argc, char **argv);
int cmd_hosts(const cli_global_opts *g, int argc, char **argv);
int cmd_compare(const cli_global_opts *g, int argc, char **argv);
int cmd_watch(const cli_global_opts *g, int argc, char **argv);
/* The host names of the agents that answer a gather, sorted (a new array);
 * CLI_OK or an exit code, printed (CLI_UNREACHABLE when none answered). */
int cli_discover_hosts(const cli_global_opts *g, json_t **hosts);
/* The "== host NODE ==" line before host i's output under --all-hosts. */
void cli_host_heading(size_t i, const char *host);

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

/* cmd_stream.c: writes result uuid to out in ro's format, CSV or JSON, as
 * its pages of get_result(after=...) arrive, the next asked for before the
 * one before is written: CSV rows (led by host when not NULL) or the JSON
 * result object (with "host" when not NULL), as report_csv and
 * report_json_value would write the whole result.  An agent without that
 * cursor gets the result fetched whole (cli_fetch_result).  A cli_exit
 * code, the failure printed; a failure part way leaves the output cut
 * short. */
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

/* --- OpenMetrics (cmd_openmetrics.c) --- */

/* Results of one agent: uuids (a JSON array) through c, labelled with
 * host (NULL: no host label). */
typedef struct cli_om_source {
    cli_rpc *c;
    const char *host;
    const json_t *uuids;
} cli_om_source;

/* Every sample of the stream results of the nsrc sources as one
 * OpenMetrics text on stdout, family by family, each result's pages
 * written as they come; on stderr, notes on what was left out (logs,
 * samples sharing a millisecond).  A cli_exit code, the failure printed. */
int cli_openmetrics(const cli_om_source *src, size_t nsrc);
/* The same for uuids of the agent c reaches, labelled with its host. */
int cli_openmetrics_one(cli_rpc *c, const json_t *uuids);

#endif
