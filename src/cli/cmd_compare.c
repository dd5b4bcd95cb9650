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
           "or unique prefixes of at least %d characters, on the agent --host names.\n"
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
 * names (without --host over AMQP: the one that takes the first call). */
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
    code = compare_fetch(&g->conn, a.uuid, points, replies);
    if (code == CLI_OK)
        code = compare_print(&a, replies, &changed);
    json_decref(replies[0]);
    json_decref(replies[1]);
    if (code == CLI_OK && a.fail_on_change && changed > 0)
        code = CLI_CHANGED;
    return code;
}
