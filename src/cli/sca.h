/*
 * sca.h - sca's commands (sca.c, cmd_*.c) and what they share.
 */
#ifndef SCALPELS_CLI_SCA_H
#define SCALPELS_CLI_SCA_H

#include "cli.h"
#include "scalpels/report.h"

typedef struct sca_opts {
    cli_conn_opts conn;
    bool json; /* --json before the command */
} sca_opts;

int cmd_start(const sca_opts *g, int argc, char **argv);
int cmd_stop(const sca_opts *g, int argc, char **argv);
int cmd_report(const sca_opts *g, int argc, char **argv);
/* sca --all-hosts report: text under each host's heading; JSON, CSV and
 * HTML as one document for every host in hosts. */
int cmd_report_hosts(const sca_opts *g, const json_t *hosts, int argc, char **argv);
int cmd_result(const sca_opts *g, int argc, char **argv);
int cmd_tracer(const sca_opts *g, int argc, char **argv);
int cmd_task(const sca_opts *g, int argc, char **argv);
int cmd_run(const sca_opts *g, int argc, char **argv);
int cmd_hosts(const sca_opts *g, int argc, char **argv);
/* The host names of the agents that answer a gather, sorted (a new array);
 * CLI_OK or an exit code, printed (CLI_UNREACHABLE when none answered). */
int sca_discover_hosts(const sca_opts *g, json_t **hosts);
/* The "== host NODE ==" line before host i's output under --all-hosts. */
void sca_host_heading(size_t i, const char *host);

/* Option values above any character, for long-only options. */
enum sca_long_option {
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
};

/* The options report, result and run share (cmd_args.c). */
/* clang-format off */
#define SCA_REPORT_LONGOPTS                                                     \
    {"json", no_argument, NULL, OPT_JSON}, {"csv", no_argument, NULL, OPT_CSV}, \
    {"html", no_argument, NULL, OPT_HTML},                                      \
    {"full", no_argument, NULL, OPT_FULL}, {"all", no_argument, NULL, OPT_ALL}, \
    {"rows", required_argument, NULL, OPT_ROWS}
/* clang-format on */

/* SCA_HTML: one page for everything printed, so results are collected
 * first (cmd_report.c) and written with report_html. */
enum sca_format { SCA_TEXT, SCA_JSON, SCA_CSV, SCA_HTML };

typedef struct sca_report_opts {
    enum sca_format format;
    report_options text;
} sca_report_opts;

/* Defaults, with --json before the command applied. */
void sca_report_opts_init(sca_report_opts *ro, const sca_opts *g);
/* Handles one of SCA_REPORT_LONGOPTS: CLI_OK, or CLI_USAGE after printing
 * why (two of --json, --csv and --html, a bad --rows); -ENOENT when opt is
 * not one. */
int sca_report_opt(sca_report_opts *ro, int opt, const char *arg);

/* Appends the names in "a,b" to names (a JSON array), skipping repeats.
 * CLI_OK or CLI_USAGE (an empty or invalid name, printed). */
int sca_add_tracers(json_t *names, const char *arg);
/* CLI_OK when arg can be a uuid or a prefix of at least SCA_UUID_PREFIX_MIN characters,
 * else CLI_USAGE, printed; what names the kind ("task", "result"). */
int sca_check_uuid(const char *arg, const char *what);
/* "a, b, c" from a JSON array of strings, appended to out. */
void sca_join_names(const json_t *names, sca_buf *out);
/* obj[key] when it is a string, else NULL (borrowed from obj). */
const char *sca_json_str(const json_t *obj, const char *key);
/* The duration of --duration, --timeout: seconds, or 30s, 5m, 2h, 1d. */
int sca_parse_seconds(const char *opt, const char *arg, double *out);

/* start_tracers(tracers=names, duration if > 0) (cmd_start.c); on CLI_OK
 * *reply is the agent's reply object. */
int sca_start_tracers(cli_rpc *c, json_t *names, double duration, json_t **reply);
/* Says on stderr which tracers of a start_tracers reply were skipped or
 * failed; CLI_FAILED ("nothing started") when none started. */
int sca_start_notes(const json_t *reply);

/* Prints a task's report (cmd_report.c): "reporting task: <UUID>" and its
 * results as text, or its JSON, CSV or HTML page. */
int sca_report_task(cli_rpc *c, json_t *task, const sca_report_opts *ro);

#endif
