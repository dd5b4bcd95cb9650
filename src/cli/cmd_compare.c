/* cmd_compare.c - sca compare A B: the same tracers' series in two tasks
 * side by side, from one get_task_series call per task, printed with
 * report.h as text, JSON or an HTML page (docs/cli.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

/* Points per series the HTML page draws of each task; the text and JSON
 * need the summaries alone (2 is the fewest get_task_series takes). */
#define COMPARE_HTML_POINTS 1000
#define COMPARE_SUMMARY_POINTS 2

static void compare_usage(void)
{
    printf("usage: sca compare A B [--json | --html] [--threshold PCT] [--fail-on-change]\n"
           "\n"
           "Compares the series of task A (the baseline) with those of task B, matched\n"
           "by tracer and name: count, avg, p95 and max of each, and the change from A to\n"
           "B in percent.  A series is flagged \"changed\" when its avg or p95 changed by\n"
           "more than the threshold (or from 0 to anything else).  A and B are task uuids\n"
           "or unique prefixes of at least %d characters, on the agent --host names;\n"
           "over AMQP without --host, every node that holds both compares its parts.\n"
           "\n"
           "  --json              the comparison as one JSON object\n"
           "  --html              one self-contained page: the table, and a chart per\n"
           "                      series overlaying A and B from each task's start;\n"
           "                      redirect it: sca compare A B --html > compare.html\n"
           "  --threshold PCT     flag changes of avg or p95 beyond PCT percent\n"
           "                      (default %g)\n"
           "  --fail-on-change    exit with status %d when a series is flagged\n",
           SCA_UUID_PREFIX_MIN, REPORT_COMPARE_THRESHOLD, CLI_CHANGED);
}

struct compare_args {
    cli_report_opts ro;
    const char *uuid[2];
    double threshold;
    bool fail_on_change;
};

/* "10", "2.5", "10%": a percentage of 0 or more. */
static int parse_threshold(const char *arg, double *out)
{
    char *text = sca_strdup(arg);
    size_t n = strlen(text);
    if (n > 1 && text[n - 1] == '%')
        text[n - 1] = '\0';
    int rc = sca_parse_double(text, out);
    free(text);
    if (rc == 0 && isfinite(*out) && *out >= 0)
        return CLI_OK;
    return cli_fail(CLI_USAGE,
                    "--threshold expects a percentage of 0 or more (10, 2.5, 10%%), "
                    "not '%s'",
                    arg);
}

static int compare_parse(struct compare_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"html", no_argument, NULL, OPT_HTML},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"fail-on-change", no_argument, NULL, OPT_FAIL_ON_CHANGE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt, code = CLI_OK;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":h", longopts, "compare")) != -1) {
        if (opt == 'h')
            code = CLI_HELP;
        else if (opt == OPT_THRESHOLD)
            code = parse_threshold(optarg, &a->threshold);
        else if (opt == OPT_FAIL_ON_CHANGE)
            a->fail_on_change = true;
        else
            code = cli_report_opt(&a->ro, opt, optarg);
    }
    if (code != CLI_OK)
        return code;
    for (int i = 0; i < 2; i++) {
        if (optind >= argc)
            return cli_fail(CLI_USAGE, "compare needs two task uuids, A and B (see 'sca compare "
                                       "--help')");
        a->uuid[i] = argv[optind++];
        if ((code = cli_check_uuid(a->uuid[i], "task")) != CLI_OK)
            return code;
    }
    if (optind < argc)
        return cli_fail(CLI_USAGE, "compare: unexpected argument '%s'", argv[optind]);
    return CLI_OK;
}

/* get_task_series of both tasks, with points per series: replies[0] for
 * A, replies[1] for B (new references).  Both come from the agent conn
 * names (--host, or the unix socket's). */
static int compare_fetch(const cli_conn_opts *conn, const char *const uuid[2], int points,
                         json_t *replies[2])
{
    cli_rpc *c = NULL;
    int code = cli_rpc_open(conn, &c);
    for (int i = 0; i < 2 && code == CLI_OK; i++) {
        json_t *args = json_pack("{s:s,s:i,s:i}", "uuid", uuid[i], "points", points, "log_rows", 0);
        code = cli_call(c, "get_task_series", args, &replies[i]);
    }
    cli_rpc_close(c);
    return code;
}

/* Prints the comparison in a's format; *changed: series flagged. */
static int compare_print(const struct compare_args *a, json_t *const replies[2], size_t *changed)
{
    sca_error err = {0};
    json_t *cmp = NULL;
    int rc = report_compare(replies[0], replies[1], a->threshold, &cmp, &err);
    if (rc != 0)
        return cli_fail(CLI_FAILED, "%s", err.msg);
    *changed = (size_t)json_integer_value(json_object_get(cmp, "changed"));
    if (a->ro.format == CLI_FORMAT_JSON)
        rc = report_json(stdout, cmp, &err);
    else if (a->ro.format == CLI_FORMAT_HTML)
        rc = report_compare_html(stdout, replies[0], replies[1], a->threshold, &err);
    else
        rc = report_compare_text(stdout, cmp, a->ro.text.charset, &err);
    json_decref(cmp);
    return cli_printed(rc, &err);
}

/* The pairs of nodes to fetch A and B from, as cli_call_each's calls (A's
 * then B's of each pair): every node that holds both, each comparing its
 * own parts of a cluster-wide run; else, when each is on one node, those
 * two.  held: the holders of A and of B (cli_cluster_holders). */
static json_t *compare_pairs(const json_t *const held[2], const char *const uuid[2], int points)
{
    json_t *hosts[2] = {cli_answer_hosts(held[0]), cli_answer_hosts(held[1])};
    json_t *pairs = json_array();
    size_t i, j;
    json_t *h, *other;
    json_array_foreach(hosts[0], i, h)
    {
        json_array_foreach(hosts[1], j, other)
        {
            if (json_equal(h, other))
                json_array_append(pairs, h);
        }
    }
    json_t *calls = json_array();
    for (i = 0; i < json_array_size(pairs); i++)
        for (int t = 0; t < 2; t++)
            json_array_append_new(calls, json_pack("{s:O,s:{s:s,s:i,s:i}}", "host",
                                                   json_array_get(pairs, i), "args", "uuid",
                                                   uuid[t], "points", points, "log_rows", 0));
    if (json_array_size(pairs) == 0 && json_array_size(hosts[0]) == 1 &&
        json_array_size(hosts[1]) == 1)
        for (int t = 0; t < 2; t++)
            json_array_append_new(calls, json_pack("{s:O,s:{s:s,s:i,s:i}}", "host",
                                                   json_array_get(hosts[t], 0), "args", "uuid",
                                                   uuid[t], "points", points, "log_rows", 0));
    json_decref(pairs);
    json_decref(hosts[0]);
    json_decref(hosts[1]);
    return calls;
}

/* sca compare A B over AMQP without --host, or under --all-hosts: the
 * nodes that hold the tasks are found, and each pair compared; with more
 * than one pair, text under "== host NODE ==" lines and JSON as {"hosts":
 * {NODE: the comparison}}. */
static int compare_nodes(const cli_global_opts *g, const struct compare_args *a, int points,
                         size_t *changed)
{
    cli_cluster *k = NULL;
    int code = cli_cluster_open(g, &k);
    if (code == CLI_OK && json_array_size(k->hosts) == 0)
        code = cli_cluster_none(k);
    json_t *held[2] = {NULL, NULL}, *failed[2] = {NULL, NULL}, *calls = NULL, *answers = NULL;
    for (int t = 0; t < 2 && code == CLI_OK; t++)
        code = cli_cluster_holders(k, "get_task", "task", a->uuid[t], &held[t], &failed[t]);
    if (code == CLI_OK) {
        calls = compare_pairs((const json_t *const *)held, a->uuid, points);
        if (json_array_size(calls) == 0)
            code = cli_fail(CLI_FAILED,
                            "NotFound: no node holds both %s and %s, and they are not on one node "
                            "each: give --host NODE",
                            a->uuid[0], a->uuid[1]);
    }
    size_t npairs = json_array_size(calls) / 2;
    if (code == CLI_OK && npairs > 1 && a->ro.format == CLI_FORMAT_HTML)
        code = cli_fail(CLI_USAGE, "compare --html: the tasks are on %zu nodes: give --host NODE",
                        npairs);
    if (code == CLI_OK)
        code = cli_call_each(k->c, calls, "get_task_series", &answers);
    json_t *doc = json_object();
    for (size_t p = 0; code == CLI_OK && p < npairs; p++) {
        json_t *replies[2] = {json_object_get(json_array_get(answers, 2 * p), "result"),
                              json_object_get(json_array_get(answers, 2 * p + 1), "result")};
        const char *host = cli_json_str(json_array_get(answers, 2 * p), "host");
        if (replies[0] == NULL || replies[1] == NULL)
            continue; /* said by cli_cluster_outcome */
        size_t flagged = 0;
        if (npairs > 1 && a->ro.format == CLI_FORMAT_JSON) {
            json_t *cmp = NULL;
            sca_error err = {0};
            if (report_compare(replies[0], replies[1], a->threshold, &cmp, &err) != 0) {
                code = cli_fail(CLI_FAILED, "host %s: %s", host, err.msg);
                break;
            }
            flagged = (size_t)json_integer_value(json_object_get(cmp, "changed"));
            json_object_set_new(doc, host, cmp);
        } else {
            if (npairs > 1)
                printf("%s== host %s ==\n", p > 0 ? "\n" : "", host);
            code = compare_print(a, replies, &flagged);
        }
        *changed += flagged;
    }
    if (code == CLI_OK && npairs > 1 && a->ro.format == CLI_FORMAT_JSON) {
        json_t *out = json_pack("{s:O}", "hosts", doc);
        sca_error err = {0};
        code = cli_printed(report_json(stdout, out, &err), &err);
        json_decref(out);
    }
    if (code == CLI_OK) {
        json_array_extend(answers, failed[0]);
        json_array_extend(answers, failed[1]);
        code = cli_cluster_outcome(k, answers);
    }
    json_decref(doc);
    json_decref(answers);
    json_decref(calls);
    for (int t = 0; t < 2; t++) {
        json_decref(held[t]);
        json_decref(failed[t]);
    }
    cli_cluster_close(k);
    return code;
}

int cmd_compare(const cli_global_opts *g, int argc, char **argv)
{
    struct compare_args a = {.threshold = REPORT_COMPARE_THRESHOLD};
    cli_report_opts_init(&a.ro, g);
    int code = compare_parse(&a, argc, argv);
    if (code == CLI_HELP)
        compare_usage();
    if (code != CLI_OK)
        return code;
    json_t *replies[2] = {NULL, NULL};
    int points = a.ro.format == CLI_FORMAT_HTML ? COMPARE_HTML_POINTS : COMPARE_SUMMARY_POINTS;
    size_t changed = 0;
    if (cli_cluster_wanted(&g->conn)) {
        code = compare_nodes(g, &a, points, &changed);
    } else {
        code = compare_fetch(&g->conn, a.uuid, points, replies);
        if (code == CLI_OK)
            code = compare_print(&a, replies, &changed);
    }
    json_decref(replies[0]);
    json_decref(replies[1]);
    if (code == CLI_OK && a.fail_on_change && changed > 0)
        code = CLI_CHANGED;
    return code;
}
