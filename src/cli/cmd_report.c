/* cmd_report.c - sca report and sca result: fetch results from the agent,
 * page by page and only the rows the output shows, and print them with
 * report.h as text, JSON, CSV or an HTML page. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "scalpels/table.h"

/* For printf: never NULL. */
static const char *text_of(const json_t *obj, const char *key)
{
    const char *s = cli_json_str(obj, key);
    return s != NULL ? s : "?";
}

/* Appends rows [offset, offset + n) of result uuid to data.  A page may
 * come back short (the agent caps a reply's size): ask again from where it
 * stopped. */
static int fetch_range(cli_rpc *c, const char *uuid, size_t offset, size_t n, json_t *data)
{
    while (n > 0) {
        json_t *page = NULL;
        json_t *args = json_pack("{s:s,s:I,s:I}", "uuid", uuid, "offset", (json_int_t)offset,
                                 "limit", (json_int_t)n);
        int code = cli_call(c, "get_result", args, &page);
        if (code != CLI_OK)
            return code;
        json_t *rows = json_object_get(page, "data");
        size_t got = json_array_size(rows) < n ? json_array_size(rows) : n;
        for (size_t i = 0; i < got; i++)
            json_array_append(data, json_array_get(rows, i));
        json_decref(page);
        if (got == 0)
            break; /* fewer samples than counted: purged meanwhile */
        offset += got;
        n -= got;
    }
    return CLI_OK;
}

/* The text view of a long series: its first rows, then its last. */
static int fetch_window(cli_rpc *c, const char *uuid, size_t count, const report_options *o,
                        json_t *data)
{
    size_t head, tail;
    report_window(o, &head, &tail);
    while (json_array_size(data) > head)
        json_array_remove(data, json_array_size(data) - 1);
    size_t n = json_array_size(data);
    int code = fetch_range(c, uuid, n, head - n, data);
    return code != CLI_OK ? code : fetch_range(c, uuid, count - tail, tail, data);
}

int cli_fetch_result(cli_rpc *c, const char *uuid, const cli_report_opts *ro, const char *host,
                     json_t **out)
{
    bool every = ro->format != CLI_FORMAT_TEXT || ro->text.all;
    json_t *args = json_pack("{s:s,s:b}", "uuid", uuid, "summary", 1);
    if (!every)
        json_object_set_new(args, "limit", json_integer((json_int_t)ro->text.rows));
    json_t *r = NULL;
    int code = cli_call(c, "get_result", args, &r);
    if (code != CLI_OK)
        return code;
    json_t *data = json_object_get(r, "data");
    const char *full_uuid = cli_json_str(r, "uuid");
    if (!json_is_array(data) || full_uuid == NULL) {
        json_decref(r);
        return cli_fail(CLI_FAILED, "get_result %s: the reply has no uuid or data", uuid);
    }
    size_t count = report_count(r), n = json_array_size(data);
    if (every || count <= ro->text.rows)
        code = fetch_range(c, full_uuid, n, count - n, data);
    else
        code = fetch_window(c, full_uuid, count, &ro->text, data);
    if (code == CLI_OK && every) {
        json_object_set_new(r, "offset", json_integer(0));
        json_object_set_new(r, "truncated", json_false());
    }
    if (code == CLI_OK && host != NULL)
        json_object_set_new(r, "host", json_string(host));
    if (code != CLI_OK)
        json_decref(r);
    else
        *out = r;
    return code;
}

/* Prints result uuid in ro's format: text, CSV rows (led by host when it
 * is not NULL), or the JSON object alone; CSV and JSON as its samples
 * arrive. */
static int print_result(cli_rpc *c, const char *uuid, const cli_report_opts *ro, const char *host)
{
    sca_error err = {0};
    if (ro->format != CLI_FORMAT_TEXT) {
        int code = cli_stream_result(c, uuid, ro, host, stdout);
        if (code != CLI_OK || ro->format != CLI_FORMAT_JSON)
            return code;
        return cli_printed(report_json_text(stdout, "\n", &err), &err);
    }
    json_t *r = NULL;
    int code = cli_fetch_result(c, uuid, ro, host, &r);
    if (code != CLI_OK)
        return code;
    int rc = report_text(stdout, r, &ro->text, &err);
    json_decref(r);
    return cli_printed(rc, &err);
}

static int print_csv_header(void)
{
    sca_error err = {0};
    return cli_printed(report_csv_header(stdout, false, &err), &err);
}

/* Writes to out the JSON object obj with the results in uuids as its
 * member "results", each as its samples arrive (with "host" when host is
 * not NULL). */
static int stream_results_member(cli_rpc *c, const json_t *uuids, const json_t *obj,
                                 const cli_report_opts *ro, const char *host, FILE *out)
{
    sca_error err = {0};
    int rc = report_json_open(out, obj, "results", &err);
    int code = cli_printed(rc == 0 ? report_json_text(out, "[", &err) : rc, &err);
    size_t i;
    json_t *uuid;
    json_array_foreach(uuids, i, uuid)
    {
        if (code == CLI_OK && i > 0)
            code = cli_printed(report_json_text(out, ",", &err), &err);
        if (code == CLI_OK)
            code = cli_stream_result(c, json_string_value(uuid), ro, host, out);
    }
    if (code == CLI_OK) {
        rc = report_json_text(out, "]", &err);
        code = cli_printed(rc == 0 ? report_json_close(out, obj, "results", &err) : rc, &err);
    }
    return code;
}

/* Every result in uuids with its samples: JSON as {"results": [...],
 * "task": task} written as the samples arrive, CSV, or text tables. */
static int print_results(cli_rpc *c, const json_t *uuids, json_t *task, const cli_report_opts *ro)
{
    if (ro->format == CLI_FORMAT_OPENMETRICS)
        return cli_openmetrics_one(c, uuids);
    if (ro->format == CLI_FORMAT_JSON) {
        sca_error err = {0};
        json_t *doc = json_pack("{s:O}", "task", task ? task : json_null());
        int code = stream_results_member(c, uuids, doc, ro, NULL, stdout);
        json_decref(doc);
        return code == CLI_OK ? cli_printed(report_json_text(stdout, "\n", &err), &err) : code;
    }
    int code = ro->format == CLI_FORMAT_CSV ? print_csv_header() : CLI_OK;
    size_t i;
    json_t *uuid;
    json_array_foreach(uuids, i, uuid)
    {
        if (code != CLI_OK)
            break;
        if (ro->format == CLI_FORMAT_TEXT && i > 0)
            putchar('\n');
        code = print_result(c, json_string_value(uuid), ro, NULL);
    }
    return code;
}

/* --- The summary and the HTML page: series the agent reduced ------------ */

/* Whether ro's output is drawn from get_task_series: the summary (text
 * without --rows, --all or --full) or the HTML page. */
static bool from_series(const cli_report_opts *ro)
{
    return ro->format == CLI_FORMAT_HTML || (ro->format == CLI_FORMAT_TEXT && !ro->tables);
}

cli_series_want cli_series_wanted(const cli_report_opts *ro, size_t nresults, size_t nodes)
{
    if (ro->format != CLI_FORMAT_HTML)
        return (cli_series_want){.points = CLI_SERIES_POINTS_MIN, .log_rows = 0};
    return (cli_series_want){.points = report_html_points(nresults * nodes),
                             .log_rows = REPORT_HTML_LOG_ROWS};
}

/* The series of task (get_task's reply) or, without one, of the results
 * uuids, from one agent; nodes: how many nodes the report shows. */
static int fetch_series(cli_rpc *c, const json_t *task, const json_t *uuids,
                        const cli_report_opts *ro, size_t nodes, json_t **reply)
{
    cli_series_want want = cli_series_wanted(ro, json_array_size(uuids), nodes);
    if (task != NULL)
        return cli_task_series(c, cli_json_str(task, "uuid"), NULL, want, reply);
    return cli_results_series(c, uuids, want, reply);
}

int cli_print_series(const json_t *replies, const cli_report_opts *ro, const char *full_data,
                     bool hosts)
{
    sca_error err = {0};
    if (ro->format == CLI_FORMAT_HTML) {
        report_html_options o = {.full_data = full_data, .hosts = hosts};
        return cli_printed(report_html(stdout, replies, &o, &err), &err);
    }
    report_options text = ro->text;
    text.hosts = hosts;
    return cli_printed(report_summary(stdout, replies, &text, &err), &err);
}

/* One agent's series of task or of uuids, printed. */
static int report_series(cli_rpc *c, const json_t *task, const json_t *uuids,
                         const cli_report_opts *ro, const char *full_data)
{
    json_t *reply = NULL;
    int code = fetch_series(c, task, uuids, ro, 1, &reply);
    if (code == CLI_OK) {
        json_t *replies = json_pack("[o]", reply);
        code = cli_print_series(replies, ro, full_data, false);
        json_decref(replies);
    }
    return code;
}

/* Said on stderr, so that a report explains its gaps. */
static void task_notes(const json_t *task)
{
    const char *uuid = cli_json_str(task, "uuid");
    const char *status = cli_json_str(task, "status");
    if (status != NULL && strcmp(status, "stopped") != 0) {
        sca_buf state = {0};
        cli_task_status(task, status, &state);
        fprintf(stderr, "%s: note: task %s is still %s; this is its data so far\n", cli_prog, uuid,
                state.data);
        sca_buf_free(&state);
    }
    size_t i;
    json_t *tr;
    json_array_foreach(json_object_get(task, "tracers"), i, tr)
    {
        json_int_t code = json_integer_value(json_object_get(tr, "exit_code"));
        json_int_t sig = json_integer_value(json_object_get(tr, "exit_signal"));
        /* SIGINT and SIGTERM are how tracers are stopped. */
        if (code != 0)
            fprintf(stderr, "%s: note: tracer %s exited with status %lld\n", cli_prog,
                    text_of(tr, "name"), (long long)code);
        else if (sig != 0 && sig != SIGINT && sig != SIGTERM)
            fprintf(stderr, "%s: note: tracer %s was killed by signal %lld (%s)\n", cli_prog,
                    text_of(tr, "name"), (long long)sig, strsignal((int)sig));
    }
}

#define NO_TASK_RESULTS "the agent sent a task without a uuid or results"

/* task's results (borrowed), once it is seen to have a uuid and them;
 * else NULL. */
static json_t *task_results_of(const json_t *task)
{
    json_t *results = json_object_get(task, "results");
    return cli_json_str(task, "uuid") != NULL && json_is_array(results) ? results : NULL;
}

/* task_results_of, with NULL said. */
static json_t *task_results(const json_t *task)
{
    json_t *results = task_results_of(task);
    if (results == NULL)
        cli_fail(CLI_FAILED, NO_TASK_RESULTS);
    return results;
}

int cli_report_task(cli_rpc *c, json_t *task, const cli_report_opts *ro)
{
    const char *uuid = cli_json_str(task, "uuid");
    json_t *results = task_results(task);
    if (results == NULL)
        return CLI_FAILED;
    if (ro->format == CLI_FORMAT_TEXT) {
        printf("reporting task: <%s>\n", uuid);
        if (ro->tables && json_array_size(results) == 0)
            printf("(no results)\n");
        task_notes(task);
    }
    if (from_series(ro)) {
        char *full_data = sca_asprintf("sca report --csv %s", uuid);
        int code = report_series(c, task, results, ro, full_data);
        free(full_data);
        return code;
    }
    return print_results(c, results, task, ro);
}

/* --- sca report ---------------------------------------------------------- */

static void report_usage(void)
{
    printf("usage: sca report [UUID | --last] [--json | --csv | --html | --openmetrics]\n"
           "                  [--rows N | --all] [--full]\n"
           "       sca report -a TRACER[,TRACER]... [--json | --csv | --html | --openmetrics]\n"
           "                  [...]\n"
           "\n"
           "Prints \"reporting task: <UUID>\" and a summary of task UUID (a unique prefix of\n"
           "at least %d characters will do; the latest task by default), or of every result\n"
           "the tracers named with -a ever made: grouped by tracer, one line per series with\n"
           "its \"<result UUID>\", name, unit, count, min, avg, max, p95 and a sparkline.\n"
           "\n"
           "  -a, --agent NAMES  results of these tracers, comma-separated; repeatable\n"
           "  --last             the latest task (the default)\n"
           "  --json             {\"task\": {...}, \"results\": [every result, all samples]}\n"
           "  --csv              task,result,tracer,name,unit,rtype,ts,value; a row a sample\n"
           "  --openmetrics      every sample of the streams as OpenMetrics text, for\n"
           "                     Prometheus (promtool tsdb create-blocks-from openmetrics)\n"
           "  --html             one self-contained page (no network): a chart per tracer\n"
           "                     and unit (at most %d points a line), constant series as\n"
           "                     text, logs as filterable tables (their first and last %d\n"
           "                     lines); every sample is in --csv, not in the page;\n"
           "                     redirect it: sca report --html > report.html\n"
           "  --rows N           instead of the summary, each result as \"<result UUID>\", a\n"
           "                     table of its first N/2 and last N/2 samples (time, value)\n"
           "                     and its summary line\n"
           "  --all              the tables with every row\n"
           "  --full             the tables (%d rows) with log lines uncut (default: cut to\n"
           "                     the terminal's width)\n",
           SCA_UUID_PREFIX_MIN, REPORT_HTML_POINTS, REPORT_HTML_LOG_ROWS, REPORT_DEFAULT_ROWS);
}

struct report_args {
    cli_report_opts ro;
    json_t *names;
    const char *uuid;
    bool last;
};

static int report_parse(struct report_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {{"agent", required_argument, NULL, 'a'},
                                             {"last", no_argument, NULL, OPT_LAST},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_REPORT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    int opt, code = CLI_OK;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":a:h", longopts, "report")) != -1) {
        if (opt == 'a')
            code = cli_add_tracers(a->names, optarg);
        else if (opt == OPT_LAST)
            a->last = true;
        else if (opt == 'h')
            code = CLI_HELP;
        else
            code = cli_report_opt(&a->ro, opt, optarg);
    }
    if (code != CLI_OK)
        return code;
    if (optind < argc)
        a->uuid = argv[optind++];
    if (optind < argc)
        return cli_fail(CLI_USAGE, "report: unexpected argument '%s'", argv[optind]);
    if (a->uuid != NULL && json_array_size(a->names) > 0)
        return cli_fail(CLI_USAGE, "report: give a task UUID or tracers (-a), not both");
    if (a->last && (a->uuid != NULL || json_array_size(a->names) > 0))
        return cli_fail(CLI_USAGE,
                        "report: --last reports the latest task; it takes no UUID or -a");
    return a->uuid != NULL ? cli_check_uuid(a->uuid, "task") : CLI_OK;
}

static void add_tracer_results(const json_t *tracer, json_t *uuids)
{
    size_t i;
    json_t *uuid;
    json_array_foreach(json_object_get(tracer, "results"), i, uuid)
    {
        json_array_append(uuids, uuid);
    }
}

/* The results of the tracers names in list (tracer_list's reply): NULL
 * and *uuids (new), or why not (a new string) for a name list lacks. */
static char *tracer_uuids(const json_t *list, const json_t *names, json_t **uuids)
{
    json_t *known = json_array();
    *uuids = json_array();
    char *why = NULL;
    size_t i, j;
    json_t *name, *tracer;
    json_array_foreach(list, j, tracer)
    {
        json_array_append(known, json_object_get(tracer, "name"));
    }
    json_array_foreach(names, i, name)
    {
        json_t *found = NULL;
        json_array_foreach(list, j, tracer)
        {
            if (json_equal(json_object_get(tracer, "name"), name))
                found = tracer;
        }
        if (found == NULL) {
            sca_buf text = {0};
            cli_join_names(known, &text);
            why = sca_asprintf("unknown tracer '%s' (known: %s)", json_string_value(name),
                               text.data ? text.data : "none");
            sca_buf_free(&text);
            break;
        }
        add_tracer_results(found, *uuids);
    }
    json_decref(known);
    if (why != NULL) {
        json_decref(*uuids);
        *uuids = NULL;
    }
    return why;
}

/* The results of the tracers asked for, from tracer_list: *uuids. */
static int tracer_results(cli_rpc *c, const struct report_args *a, json_t **uuids)
{
    json_t *list = NULL;
    int code = cli_call(c, "tracer_list", NULL, &list);
    if (code != CLI_OK)
        return code;
    char *why = tracer_uuids(list, a->names, uuids);
    if (why != NULL)
        code = cli_fail(CLI_FAILED, "%s", why);
    free(why);
    json_decref(list);
    return code;
}

/* What a asks for: *task (get_task's reply; NULL with -a) and the uuids of
 * the results to print, new references. */
static int report_source(cli_rpc *c, const struct report_args *a, json_t **task, json_t **uuids)
{
    *task = NULL;
    if (json_array_size(a->names) > 0)
        return tracer_results(c, a, uuids);
    int code = a->uuid != NULL ? cli_call(c, "get_task", json_pack("{s:s}", "uuid", a->uuid), task)
                               : cli_call(c, "get_latest_task", NULL, task);
    if (code != CLI_OK)
        return code;
    *uuids = json_incref(task_results(*task));
    return *uuids != NULL ? CLI_OK : CLI_FAILED;
}

/* "sca [--all-hosts ]report [-a NAMES | UUID] --csv": what prints every
 * sample of the report a asks for, for the page to say; the caller frees
 * it. */
static char *full_data_command(const struct report_args *a, bool all_hosts)
{
    sca_buf cmd = {0};
    sca_buf_appendf(&cmd, "sca %sreport", all_hosts ? "--all-hosts " : "");
    size_t i;
    json_t *name;
    json_array_foreach(a->names, i, name)
    {
        sca_buf_appendf(&cmd, "%s%s", i == 0 ? " -a " : ",", json_string_value(name));
    }
    if (a->uuid != NULL)
        sca_buf_appendf(&cmd, " %s", a->uuid);
    sca_buf_appendf(&cmd, " --csv");
    return cmd.data;
}

/* What report_from does with a host's report. */
enum report_mode {
    REPORT_PRINT, /* print it as 'sca report' does */
    REPORT_ROWS,  /* CSV rows led by the host, streamed, no header */
    REPORT_PART,  /* JSON {"host", "results", "task"} streamed to part */
};

/* The report a asks for from the agent conn names; REPORT_PART writes the
 * samples to part as they arrive. */
static int report_from(const cli_conn_opts *conn, const struct report_args *a,
                       enum report_mode mode, FILE *part)
{
    cli_rpc *c = NULL;
    json_t *task = NULL, *uuids = NULL;
    int code = cli_rpc_open(conn, &c);
    if (code == CLI_OK)
        code = report_source(c, a, &task, &uuids);
    if (code == CLI_OK && mode == REPORT_PRINT && task != NULL) {
        code = cli_report_task(c, task, &a->ro);
    } else if (code == CLI_OK && mode == REPORT_PRINT && from_series(&a->ro)) {
        char *full_data = full_data_command(a, false);
        code = report_series(c, NULL, uuids, &a->ro, full_data);
        free(full_data);
    } else if (code == CLI_OK && mode == REPORT_PRINT) {
        code = print_results(c, uuids, NULL, &a->ro);
    } else if (code == CLI_OK && mode == REPORT_ROWS) {
        size_t i;
        json_t *uuid;
        json_array_foreach(uuids, i, uuid)
        {
            if (code == CLI_OK)
                code = print_result(c, json_string_value(uuid), &a->ro, conn->host);
        }
    } else if (code == CLI_OK && mode == REPORT_PART) {
        json_t *entry =
            json_pack("{s:s, s:O}", "host", conn->host, "task", task ? task : json_null());
        code = stream_results_member(c, uuids, entry, &a->ro, conn->host, part);
        json_decref(entry);
    }
    json_decref(task);
    json_decref(uuids);
    cli_rpc_close(c);
    return code;
}

/* Copies a host's part of the JSON document (part, from its start) to
 * stdout, after a comma unless it is the first. */
static int copy_part(FILE *part, bool first)
{
    sca_error err = {0};
    int rc = 0;
    errno = 0;
    if (fflush(part) != 0 || fseek(part, 0, SEEK_SET) != 0)
        return cli_fail(CLI_FAILED, "cannot read back a temporary file: %s",
                        strerror(errno ? errno : EIO));
    if (!first)
        rc = report_json_text(stdout, ",", &err);
    char chunk[65536];
    size_t n;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), part)) > 0) {
        errno = 0;
        if (fwrite(chunk, 1, n, stdout) != n)
            rc = sca_error_set(&err, -(errno ? errno : EIO), "cannot write the JSON output: %s",
                               strerror(errno ? errno : EIO));
    }
    return cli_printed(rc, &err);
}

/* {"hosts": [...]}: each host's part, {"host", "results", "task"}, is
 * written to a temporary file as its samples arrive and goes to stdout once
 * it is whole, so that a host that fails part way is left out and no
 * host's samples are held in memory. */
static int print_json_parts(const cli_global_opts *g, const json_t *hosts,
                            const struct report_args *a)
{
    sca_error err = {0};
    json_t *doc = json_object();
    int rc = report_json_open(stdout, doc, "hosts", &err);
    int worst = cli_printed(rc == 0 ? report_json_text(stdout, "[", &err) : rc, &err);
    bool first = true, written = worst == CLI_OK;
    size_t i;
    json_t *host;
    json_array_foreach(hosts, i, host)
    {
        if (!written)
            break; /* stdout failed: nothing more goes there */
        cli_conn_opts one = g->conn;
        one.host = json_string_value(host);
        FILE *part = tmpfile();
        int code = part != NULL
                       ? report_from(&one, a, REPORT_PART, part)
                       : cli_fail(CLI_FAILED, "cannot make a temporary file: %s", strerror(errno));
        if (code == CLI_OK) {
            code = copy_part(part, first);
            written = code == CLI_OK;
            first = false;
        }
        if (part != NULL)
            fclose(part);
        worst = code > worst ? code : worst;
    }
    if (!written) {
        json_decref(doc);
        return worst;
    }
    rc = report_json_text(stdout, "]", &err);
    if (rc == 0)
        rc = report_json_close(stdout, doc, "hosts", &err);
    if (rc == 0)
        rc = report_json_text(stdout, "\n", &err);
    json_decref(doc);
    int end = cli_printed(rc, &err);
    return end > worst ? end : worst;
}

/* answer (cli_call_each's) failed with why, as an agent's failure reads. */
static void answer_fail(json_t *answer, const char *why)
{
    json_object_del(answer, "result");
    json_object_set_new(answer, "error", json_string(why));
    json_object_set_new(answer, "class", json_null());
    json_object_set_new(answer, "exit", json_integer(CLI_FAILED));
}

/* What a asks for (report_source) from each of hosts at once over k's
 * connection: *answers as cli_call_each's, each "result" the uuids of the
 * results to print, or the failure. */
static int hosts_sources(cli_cluster *k, const json_t *hosts, const struct report_args *a,
                         json_t **answers)
{
    bool tracers = json_array_size(a->names) > 0;
    json_t *args = a->uuid != NULL ? json_pack("{s:s}", "uuid", a->uuid) : NULL;
    const char *method = tracers ? "tracer_list" : a->uuid != NULL ? "get_task" : "get_latest_task";
    int code = cli_call_hosts(k->c, hosts, method, tracers ? NULL : args, answers);
    json_decref(args);
    size_t i;
    json_t *answer;
    json_array_foreach(code == CLI_OK ? *answers : NULL, i, answer)
    {
        json_t *result = json_object_get(answer, "result"), *uuids = NULL;
        if (result == NULL)
            continue;
        char *why = tracers ? tracer_uuids(result, a->names, &uuids) : NULL;
        if (!tracers && (uuids = json_incref(task_results_of(result))) == NULL)
            why = sca_strdup(NO_TASK_RESULTS);
        if (why != NULL)
            answer_fail(answer, why);
        else
            json_object_set_new(answer, "result", uuids);
        free(why);
    }
    return code;
}

/* The exit status of a report of many nodes that printed with code:
 * answers' and failed's failures said (cli_cluster_outcome). */
static int hosts_outcome(cli_cluster *k, json_t *answers, const json_t *failed, int code)
{
    if (failed != NULL)
        json_array_extend(answers, (json_t *)failed);
    int outcome = cli_cluster_outcome(k, answers);
    return code != CLI_OK ? code : outcome;
}

/* Every host's report as one OpenMetrics text, each result labelled with
 * its host, through k's one connection; a host that fails is left out and
 * named.  failed: nodes that failed before (NULL: none). */
static int report_hosts_openmetrics(cli_cluster *k, const json_t *hosts,
                                    const struct report_args *a, const json_t *failed)
{
    json_t *answers = NULL;
    int code = hosts_sources(k, hosts, a, &answers);
    if (code != CLI_OK)
        return code;
    size_t n = 0, i;
    cli_om_source *src = sca_calloc(json_array_size(answers) + 1, sizeof(*src));
    json_t *answer;
    json_array_foreach(answers, i, answer)
    {
        if (json_object_get(answer, "result") != NULL)
            src[n++] = (cli_om_source){.host = cli_json_str(answer, "host"),
                                       .uuids = json_object_get(answer, "result")};
    }
    code = cli_openmetrics(k->c, src, n, true);
    free(src);
    code = hosts_outcome(k, answers, failed, code);
    json_decref(answers);
    return code;
}

/* -a's summary or page of every host: each host's series of the results
 * of the tracers, fetched at once over k's one connection, as one; a host
 * that fails is left out and named.  failed: as above. */
static int report_hosts_series(cli_cluster *k, const json_t *hosts, const struct report_args *a,
                               const json_t *failed)
{
    json_t *answers = NULL;
    int code = hosts_sources(k, hosts, a, &answers);
    size_t i;
    json_t *answer;
    if (code == CLI_OK)
        code = cli_results_series_each(k->c, answers, &a->ro, json_array_size(hosts));
    if (code != CLI_OK) {
        json_decref(answers);
        return code;
    }
    json_t *replies = json_array();
    json_array_foreach(answers, i, answer)
    {
        if (json_object_get(answer, "result") != NULL)
            json_array_append(replies, json_object_get(answer, "result"));
    }
    /* Nothing to show when every host failed. */
    if (json_array_size(replies) > 0 || json_array_size(answers) == 0) {
        char *full_data = full_data_command(a, true);
        code = cli_print_series(replies, &a->ro, full_data, true);
        free(full_data);
    }
    json_decref(replies);
    code = hosts_outcome(k, answers, failed, code);
    json_decref(answers);
    return code;
}

/* The "== host NODE ==" line before host i's output. */
static void host_heading(size_t i, const char *host)
{
    printf("%s== host %s ==\n", i > 0 ? "\n" : "", host);
    fflush(stdout);
}

/* report_from for each host, printed under headings (text tables) or as
 * one document; the exit status of it all, with failed's nodes (NULL:
 * none), which failed before, said. */
static int report_hosts(const cli_global_opts *g, cli_cluster *k, const json_t *hosts,
                        const struct report_args *a, const json_t *failed)
{
    if (a->ro.format == CLI_FORMAT_OPENMETRICS)
        return report_hosts_openmetrics(k, hosts, a, failed);
    if (from_series(&a->ro))
        return report_hosts_series(k, hosts, a, failed);
    int code = CLI_OK;
    if (a->ro.format == CLI_FORMAT_JSON) {
        code = print_json_parts(g, hosts, a);
    } else {
        /* What is left: text tables under a heading per host, or CSV rows. */
        enum report_mode mode = a->ro.format == CLI_FORMAT_CSV ? REPORT_ROWS : REPORT_PRINT;
        sca_error err = {0};
        if (mode == REPORT_ROWS)
            code = cli_printed(report_csv_header(stdout, true, &err), &err);
        size_t i;
        json_t *host;
        json_array_foreach(code == CLI_OK ? hosts : NULL, i, host)
        {
            cli_conn_opts one = g->conn;
            one.host = json_string_value(host);
            if (mode == REPORT_PRINT)
                host_heading(i, one.host);
            int rc = report_from(&one, a, mode, NULL);
            if (rc > code)
                code = rc;
        }
    }
    int outcome = cli_cluster_outcome(k, failed);
    return code > outcome ? code : outcome;
}

/* Whether a's report of many nodes goes node after node through each
 * node's own report: every sample (CSV, OpenMetrics), the tables, or every
 * result of some tracers (-a); else it is one report of every node's
 * series (cli_report_cluster). */
static bool per_node(const struct report_args *a)
{
    return json_array_size(a->names) > 0 || a->ro.format == CLI_FORMAT_CSV ||
           a->ro.format == CLI_FORMAT_OPENMETRICS ||
           (a->ro.format == CLI_FORMAT_TEXT && a->ro.tables);
}

/* The report of a's task from its one holder, as --host HOLDER gives it,
 * or from several as one (the per-node path for -a, CSV and OpenMetrics, which
 * carry every sample, node after node). */
static int report_holders(const cli_global_opts *g, cli_cluster *k, const struct report_args *a)
{
    json_t *holders = NULL, *failed = NULL;
    int code = cli_cluster_holders(k, "get_task", "task", a->uuid, &holders, &failed);
    if (code != CLI_OK)
        return code;
    json_t *hosts = cli_answer_hosts(holders);
    if (json_array_size(holders) > 1 && !per_node(a)) {
        code = cli_report_cluster(k, a->uuid, &a->ro);
    } else if (json_array_size(holders) > 1) {
        code = report_hosts(g, k, hosts, a, failed);
    } else {
        cli_conn_opts one = g->conn;
        one.host = json_string_value(json_array_get(hosts, 0));
        code = report_from(&one, a, REPORT_PRINT, NULL);
        int outcome = cli_cluster_outcome(k, failed);
        code = code > outcome ? code : outcome;
    }
    json_decref(hosts);
    json_decref(holders);
    json_decref(failed);
    return code;
}

/* sca --all-hosts report, and sca report UUID over AMQP without --host:
 * the nodes concerned, found at once over one connection. */
static int report_nodes(const cli_global_opts *g, const struct report_args *a)
{
    cli_cluster *k = NULL;
    int code = cli_cluster_open(g, &k);
    if (code == CLI_OK && json_array_size(k->hosts) == 0)
        code = cli_cluster_none(k);
    if (code == CLI_OK && !g->conn.all_hosts) {
        code = report_holders(g, k, a);
    } else if (code == CLI_OK && per_node(a)) {
        code = report_hosts(g, k, k->hosts, a, NULL);
    } else if (code == CLI_OK) {
        code = cli_report_cluster(k, a->uuid, &a->ro);
    }
    cli_cluster_close(k);
    return code;
}

int cmd_report(const cli_global_opts *g, int argc, char **argv)
{
    struct report_args a = {.names = json_array()};
    cli_report_opts_init(&a.ro, g);
    int code = report_parse(&a, argc, argv);
    if (code == CLI_OK && (g->conn.all_hosts || (a.uuid != NULL && cli_cluster_wanted(&g->conn))))
        code = report_nodes(g, &a);
    else if (code == CLI_OK)
        code = report_from(&g->conn, &a, REPORT_PRINT, NULL);
    json_decref(a.names);
    if (code == CLI_HELP)
        report_usage();
    return code;
}

/* --- sca result ---------------------------------------------------------- */

static void result_usage(void)
{
    printf("usage: sca result -l [--short] [--json]\n"
           "       sca result UUID [--json | --csv | --html | --openmetrics] [--full] [--all]\n"
           "                       [--rows N]\n"
           "\n"
           "  -l, --list  every result, oldest first: uuid, task, tracer, name, unit, rtype\n"
           "              and count (--json: get_all_results' reply)\n"
           "  --short     with -l: the uuids only, one a line\n"
           "  UUID        print that result (a unique prefix of at least %d characters) as\n"
           "              'sca report' does; --json prints the result object alone\n"
           "  --json, --csv, --html, --openmetrics, --full, --all, --rows N: as for\n"
           "              'sca report'\n",
           SCA_UUID_PREFIX_MIN);
}

/* A row of result -l, led by host when it is not NULL. */
static void list_row(table *t, const json_t *r, const char *host)
{
    char count[32];
    snprintf(count, sizeof(count), "%lld",
             (long long)json_integer_value(json_object_get(r, "count")));
    const char *cells[] = {host,
                           cli_json_str(r, "uuid"),
                           cli_json_str(r, "task"),
                           cli_json_str(r, "tracer"),
                           cli_json_str(r, "name"),
                           cli_json_str(r, "unit"),
                           cli_json_str(r, "rtype"),
                           count};
    table_add_row(t, host != NULL ? cells : cells + 1);
}

/* get_all_results' replies of answers ({"host", "result"}), uuids or a
 * table; the host column with hosts. */
static void print_result_lists(const json_t *answers, bool shortly, bool hosts)
{
    static const char *const headers[] = {"host", "uuid", "task",  "tracer",
                                          "name", "unit", "rtype", "count"};
    table *t = shortly ? NULL : table_new(hosts ? 8 : 7, hosts ? headers : headers + 1);
    if (t != NULL)
        table_set_align(t, hosts ? 7 : 6, TABLE_RIGHT);
    size_t h, i;
    json_t *answer, *r;
    json_array_foreach(answers, h, answer)
    {
        json_array_foreach(json_object_get(answer, "result"), i, r)
        {
            if (shortly)
                printf("%s\n", text_of(r, "uuid"));
            else
                list_row(t, r, hosts ? cli_json_str(answer, "host") : NULL);
        }
    }
    if (t != NULL) {
        table_print(t, stdout);
        table_free(t);
    }
}

static int result_list(cli_rpc *c, bool shortly, bool json)
{
    json_t *all = NULL;
    int code = cli_call(c, "get_all_results", NULL, &all);
    if (code != CLI_OK)
        return code;
    if (json) {
        report_json(stdout, all, NULL);
    } else {
        json_t *one = json_pack("[{s:O}]", "result", all);
        print_result_lists(one, shortly, false);
        json_decref(one);
    }
    json_decref(all);
    return CLI_OK;
}

struct result_args {
    cli_report_opts ro;
    bool list;
    bool shortly;
    const char *uuid;
};

static int result_parse(struct result_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {{"list", no_argument, NULL, 'l'},
                                             {"short", no_argument, NULL, OPT_SHORT},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_REPORT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    int opt, code = CLI_OK;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":lh", longopts, "result")) != -1) {
        if (opt == 'l')
            a->list = true;
        else if (opt == OPT_SHORT)
            a->shortly = true;
        else if (opt == 'h')
            code = CLI_HELP;
        else
            code = cli_report_opt(&a->ro, opt, optarg);
    }
    if (code != CLI_OK)
        return code;
    if (optind < argc)
        a->uuid = argv[optind++];
    if (optind < argc)
        return cli_fail(CLI_USAGE, "result: unexpected argument '%s'", argv[optind]);
    if (a->list == (a->uuid != NULL))
        return cli_fail(CLI_USAGE, "result needs either -l or a result UUID (see 'sca result "
                                   "--help')");
    if (a->shortly && !a->list)
        return cli_fail(CLI_USAGE, "result: --short goes with -l");
    if (a->list && (a->ro.format == CLI_FORMAT_CSV || a->ro.format == CLI_FORMAT_HTML ||
                    a->ro.format == CLI_FORMAT_OPENMETRICS || a->ro.text.all || a->ro.text.full ||
                    a->ro.text.rows != REPORT_DEFAULT_ROWS))
        return cli_fail(CLI_USAGE, "result: --csv, --html, --openmetrics, --all, --full and "
                                   "--rows apply to one result");
    return a->uuid != NULL ? cli_check_uuid(a->uuid, "result") : CLI_OK;
}

/* One result's page: as report's, of that series alone and no task. */
static int result_page(cli_rpc *c, const char *uuid, const cli_report_opts *ro)
{
    json_t *r = NULL;
    int code = cli_call(c, "get_result", json_pack("{s:s,s:i}", "uuid", uuid, "limit", 1), &r);
    const char *full = cli_json_str(r, "uuid");
    if (code == CLI_OK && full == NULL)
        code = cli_fail(CLI_FAILED, "get_result %s: the reply has no uuid", uuid);
    if (code == CLI_OK) {
        json_t *uuids = json_pack("[s]", full);
        char *full_data = sca_asprintf("sca result %s --csv", full);
        code = report_series(c, NULL, uuids, ro, full_data);
        free(full_data);
        json_decref(uuids);
    }
    json_decref(r);
    return code;
}

/* One result's samples as OpenMetrics text. */
static int result_openmetrics(cli_rpc *c, const char *uuid)
{
    json_t *uuids = json_pack("[s]", uuid);
    int code = cli_openmetrics_one(c, uuids);
    json_decref(uuids);
    return code;
}

/* result as the agent conn names prints it. */
static int result_from(const cli_conn_opts *conn, const struct result_args *a)
{
    cli_rpc *c = NULL;
    int code = cli_rpc_open(conn, &c);
    if (code == CLI_OK && a->list)
        code = result_list(c, a->shortly, a->ro.format == CLI_FORMAT_JSON);
    else if (code == CLI_OK && a->ro.format == CLI_FORMAT_HTML)
        code = result_page(c, a->uuid, &a->ro);
    else if (code == CLI_OK && a->ro.format == CLI_FORMAT_OPENMETRICS)
        code = result_openmetrics(c, a->uuid);
    else if (code == CLI_OK && a->ro.format == CLI_FORMAT_CSV)
        code = print_csv_header();
    if (code == CLI_OK && !a->list && a->ro.format != CLI_FORMAT_HTML &&
        a->ro.format != CLI_FORMAT_OPENMETRICS)
        code = print_result(c, a->uuid, &a->ro, NULL);
    cli_rpc_close(c);
    return code;
}

/* result -l of every node (one table with a host column, or one JSON
 * document), or result UUID from the node that has it. */
static int result_nodes(const cli_global_opts *g, const struct result_args *a)
{
    cli_cluster *k = NULL;
    json_t *answers = NULL, *failed = NULL;
    int code = cli_cluster_open(g, &k);
    if (code == CLI_OK && json_array_size(k->hosts) == 0)
        code = cli_cluster_none(k);
    if (code == CLI_OK && a->list)
        code = cli_cluster_call(k, "get_all_results", NULL, &answers);
    else if (code == CLI_OK)
        code = cli_cluster_holders(k, "get_result", "result", a->uuid, &answers, &failed);
    int outcome = CLI_OK;
    if (code == CLI_OK && a->list && a->ro.format == CLI_FORMAT_JSON) {
        json_t *doc = cli_cluster_json(k, answers);
        report_json(stdout, doc, NULL);
        json_decref(doc);
    } else if (code == CLI_OK && a->list) {
        print_result_lists(answers, a->shortly, true);
    } else if (code == CLI_OK) {
        cli_conn_opts one = g->conn;
        one.host = cli_json_str(json_array_get(answers, 0), "host");
        code = result_from(&one, a);
    }
    if (code == CLI_OK)
        outcome = cli_cluster_outcome(k, a->list ? answers : failed);
    json_decref(answers);
    json_decref(failed);
    cli_cluster_close(k);
    return code != CLI_OK ? code : outcome;
}

int cmd_result(const cli_global_opts *g, int argc, char **argv)
{
    struct result_args a = {0};
    cli_report_opts_init(&a.ro, g);
    int code = result_parse(&a, argc, argv);
    if (code == CLI_OK && (g->conn.all_hosts || (a.uuid != NULL && cli_cluster_wanted(&g->conn))))
        code = result_nodes(g, &a);
    else if (code == CLI_OK)
        code = result_from(&g->conn, &a);
    if (code == CLI_HELP)
        result_usage();
    return code;
}
