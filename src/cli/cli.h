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
#include "scalpels/util.h"
#include "scalpels/vocab.h"

/* What the CLI's functions return: every function of src/cli that returns
 * an outcome returns one of these (said as "a cli_exit code"), or else a
 * negative errno code (said so: cli_rpc_call, cli_split_kv), never both.
 * The first five are the exit codes, the same for every command;
 * CLI_CHANGED is one command's, asked for. */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAILED = 1,      /* the agent or the store answered with an error */
    CLI_USAGE = 2,       /* bad command line or bad input */
    CLI_UNREACHABLE = 3, /* no agent reachable, or it did not answer in time */
    /* Of the nodes a command concerns, some did what was asked and some
     * failed (answered with an error, did not answer, listen but are
     * silent). */
    CLI_SOME_FAILED = 4,
    CLI_CHANGED = 5, /* sca compare --fail-on-change: a series changed */
    /* --help was asked for: the caller prints the usage, the program exits
     * 0 (cli_exit_status).  Above every exit status, so that none passed
     * through (sca run's CMD's) is taken for it, and not a multiple of 256,
     * so that one returned from main unmapped is not exit status 0. */
    CLI_HELP = 300,
};

/* The exit status for code: 0 for CLI_HELP, else code itself. */
int cli_exit_status(int code);

/* Prints "prog: message" to stderr and returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Splits "key=value" at the first '='; -EINVAL when there is none or the
 * key is empty.  *key is a new string, *value points into arg. */
int cli_split_kv(const char *arg, char **key, const char **value);

/* "STATUS (N lines held: REASON)" of a task the agent describes with
 * held and held_reason (get_task, task_list, agent_info's tasks_stopping),
 * or just STATUS when it holds none (status NULL: "?"). */
void cli_task_status(const json_t *task, const char *status, sca_buf *out);

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
/* The calls from now on go to the agent of host (over the same connection). */
void cli_rpc_set_host(cli_rpc *c, const char *host);
const char *cli_rpc_topic(const cli_rpc *c);
/* The transport's URL without credentials. */
const char *cli_rpc_describe(const cli_rpc *c);
/* How long a gather waits (cli_gather_window), and a call. */
double cli_rpc_window(const cli_rpc *c);
double cli_rpc_timeout(const cli_rpc *c);
/* Over the unix socket, which reaches the local agent only. */
bool cli_rpc_is_unix(const cli_rpc *c);

/* The command makes one call only: without --host it goes to whichever
 * agent takes it from the shared topic, with no agent_info call first to
 * pin one (there is nothing to keep on one node; a round trip less). */
void cli_rpc_single_call(cli_rpc *c);

/* Calls method with args (owned, NULL = {}); timeout 0 = the connection's.
 * 0 and *result (a new reference), or a negative errno code with err set:
 * -EREMOTEIO when the agent answered with an error ("Class: message"). */
int cli_rpc_call(cli_rpc *c, const char *method, json_t *args, double timeout, json_t **result,
                 sca_error *err);

/* A call whose result comes back as JSON text (rpc_call_text): pages of
 * samples, each asked for before the one before it is written. */
typedef struct cli_text_call cli_text_call;

/* Starts method(args) (args owned, NULL = {}); *out is waited for with
 * cli_rpc_wait_text or dropped with cli_rpc_abandon_text.  0, or a negative
 * errno code with err set (as cli_rpc_call). */
int cli_rpc_call_text(cli_rpc *c, const char *method, json_t *args, cli_text_call **out,
                      sca_error *err);
/* Runs the loop until call completes, and frees it: 0 with *text (the
 * result's JSON text, NUL-terminated, the caller's to free) and *len, or a
 * negative errno code with err set as cli_rpc_call sets it. */
int cli_rpc_wait_text(cli_rpc *c, cli_text_call *call, char **text, size_t *len, sca_error *err);
/* Drops a call not waited for (NULL: nothing); its reply is ignored. */
void cli_rpc_abandon_text(cli_text_call *call);

/* cli_rpc_call, with a failure printed as one line and turned into an exit
 * code: CLI_FAILED for the agent's errors ("sca: Class: message") and for
 * sca's own, CLI_UNREACHABLE when no agent answered (naming the transport
 * and how to start the agent). */
int cli_call(cli_rpc *c, const char *method, json_t *args, json_t **result);

#define CLI_GATHER_WINDOW 2.0 /* seconds a gather waits at most without --timeout */

/* How long a gather waits at most: --timeout, else CLI_GATHER_WINDOW. */
double cli_gather_window(const cli_conn_opts *o);

/* Asks every agent on the topic (a fanout gather; over the unix socket the
 * local one) and collects what they answer: *replies gets {"result": R}
 * or {"error": E, "class": C} objects, in arrival order.  Meanwhile the
 * broker is asked how many listen on the topic (rpc_count_listeners): the
 * gather ends as soon as that many answered, else when --timeout, or
 * CLI_GATHER_WINDOW seconds, have passed.  *listeners: that count, or -1
 * when the broker could not say.  CLI_OK, or the exit code of a failure,
 * printed. */
int cli_gather(cli_rpc *c, const char *method, json_t *args, json_t **replies, int *listeners);

/* Calls method on many agents at once over c's one connection, each call
 * to the agent of its host, and waits until each has its answer or its
 * timeout.  calls: [{"host": H, "args": {...} or absent}, ...].
 * *answers (new): one per call, in the same order: {"host": H, "result":
 * R}, or {"host": H, "error": the line cli_call_failed would print,
 * "class": the agent's exception class or null, "exit": its exit code}.
 * CLI_OK, or an exit code, printed. */
int cli_call_each(cli_rpc *c, const json_t *calls, const char *method, json_t **answers);
/* cli_call_each with the same args (borrowed; NULL = {}) for each of hosts
 * (an array of names). */
int cli_call_hosts(cli_rpc *c, const json_t *hosts, const char *method, const json_t *args,
                   json_t **answers);
/* How many listen on the queue of each of hosts (an array of names), all
 * asked at once: a new array of counts, -1 where the broker did not say. */
json_t *cli_count_hosts(cli_rpc *c, const json_t *hosts);

/* The exit code and the printed line for a cli_rpc_call failure. */
int cli_call_failed(const cli_rpc *c, int rc, const sca_error *err);

/* getopt_long over a command's arguments (optstring starts with ':', or
 * "+:" for the program's own options, with command NULL), printing
 * "PROG: COMMAND: ..." (or "PROG: ...") for an unknown option, a missing
 * value or a value given to an option that takes none: then it returns
 * '?'.  Call with optind = 0 first (the program's: as getopt starts). */
int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               const char *command);

#endif
