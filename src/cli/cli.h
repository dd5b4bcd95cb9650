/*
 * cli.h - what the command-line programs (sca, sca-manage) share: exit
 * codes, option helpers and the common start-up.
 */
#ifndef SCALPELS_CLI_H
#define SCALPELS_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "scalpels/config.h"
#include "scalpels/report.h"
#include "scalpels/util.h"

/* Exit codes, the same for every command. */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAILED = 1,      /* the agent or the store answered with an error */
    CLI_USAGE = 2,       /* bad command line or bad input */
    CLI_UNREACHABLE = 3, /* no agent reachable, or it did not answer in time */
};

/* Prints "prog: message" to stderr and returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Splits "key=value" at the first '='; -EINVAL when there is none or the
 * key is empty.  *key is a new string, *value points into arg. */
int cli_split_kv(const char *arg, char **key, const char **value);

/* The program name used in messages ("sca", "sca-manage"). */
extern const char *cli_prog;

/* --- Talking to an agent (cli_rpc.c), for sca and sca-manage ----------- */

typedef struct cli_conn_opts {
    const config *cfg;
    const char *config_path;   /* --config as given, repeated in the hint */
    const char *transport_url; /* overrides the configuration; NULL */
    const char *host;          /* the agent of that node; NULL = any */
    double timeout;            /* seconds per call; 0 = cfg->rpc_timeout */
    bool all_hosts;            /* the command once per agent that answers 'sca hosts' */
} cli_conn_opts;

typedef struct cli_rpc cli_rpc;

/* Makes the transport (nothing is sent yet).  Returns a cli_exit code
 * after printing what failed: CLI_USAGE for a bad URL or --host. */
int cli_rpc_open(const cli_conn_opts *o, cli_rpc **out);
void cli_rpc_close(cli_rpc *c);
/* Over AMQP without --host, the agent that took the command's first call
 * from the shared topic, which the rest then go to; else NULL. */
const char *cli_rpc_pinned_host(const cli_rpc *c);

/* Calls method with args (owned, NULL = {}); timeout 0 = the connection's.
 * 0 and *result (a new reference), or a negative errno code with err set:
 * -EREMOTEIO when the agent answered with an error ("Class: message"). */
int cli_rpc_call(cli_rpc *c, const char *method, json_t *args, double timeout, json_t **result,
                 sca_error *err);

/* cli_rpc_call, with a failure printed as one line and turned into an exit
 * code: CLI_FAILED for the agent's errors ("sca: Class: message") and for
 * sca's own, CLI_UNREACHABLE when no agent answered (naming the transport
 * and how to start the agent). */
int cli_call(cli_rpc *c, const char *method, json_t *args, json_t **result);

#define CLI_GATHER_WINDOW 2.0 /* seconds a gather waits without --timeout */

/* How long a gather waits: --timeout, else CLI_GATHER_WINDOW. */
double cli_gather_window(const cli_conn_opts *o);

/* Asks every agent on the topic (a fanout gather; over the unix socket the
 * local one) and collects what they answer within --timeout, else
 * CLI_GATHER_WINDOW seconds: *replies gets {"result": R} or {"error": E,
 * "class": C} objects.  CLI_OK, or the exit code of a failure, printed. */
int cli_gather(cli_rpc *c, const char *method, json_t *args, json_t **replies);

/* The exit code and the printed line for a cli_rpc_call failure. */
int cli_call_failed(const cli_rpc *c, int rc, const sca_error *err);

/* --- sca's commands (sca.c, cmd_*.c) ----------------------------------- */

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

/* getopt_long over a command's arguments (optstring starts with ':', or
 * "+:" for the program's own options, with command NULL), printing
 * "PROG: COMMAND: ..." (or "PROG: ...") for an unknown option, a missing
 * value or a value given to an option that takes none: then it returns
 * '?'.  Call with optind = 0 first (the program's: as getopt starts). */
int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               const char *command);

/* Defaults, with --json before the command applied. */
void sca_report_opts_init(sca_report_opts *ro, const sca_opts *g);
/* Handles one of SCA_REPORT_LONGOPTS: CLI_OK, or CLI_USAGE after printing
 * why (two of --json, --csv and --html, a bad --rows); -ENOENT when opt is
 * not one. */
int sca_report_opt(sca_report_opts *ro, int opt, const char *arg);

/* Appends the names in "a,b" to names (a JSON array), skipping repeats.
 * CLI_OK or CLI_USAGE (an empty or invalid name, printed). */
int sca_add_tracers(json_t *names, const char *arg);
/* CLI_OK when arg can be a uuid or a prefix of at least 8 characters,
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
