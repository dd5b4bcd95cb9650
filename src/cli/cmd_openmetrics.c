/* cmd_openmetrics.c - sca report --openmetrics: every sample of a report's
 * stream results as OpenMetrics text (report.h, report_om_*), for
 * Prometheus and the tools that chart from it.  Each result is fetched
 * page by page by sca's page walker (cli_walk_result) and each page
 * written as it comes, so no series is ever held whole.  The
 * results are written in the order of their metric families, so that a
 * family's metrics come together, also across hosts (docs/cli.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

/* A result to write: where it comes from and what get_result says of it. */
struct om_item {
    const cli_om_source *src;
    size_t order; /* its place in the report, to keep that within a family */
    json_t *meta; /* get_result's reply, with "host" when the source has one */
    sca_buf family;
};

static int item_compare(const void *p, const void *q)
{
    const struct om_item *a = p, *b = q;
    int c = strcmp(a->family.data, b->family.data);
    if (c != 0)
        return c;
    return (a->order > b->order) - (a->order < b->order);
}

/* What each of the report's results is (a page of one row says it):
 * *items for the streams, sorted by family; logs are only counted. */
static int om_collect(cli_rpc *c, const cli_om_source *src, size_t nsrc, bool each_host,
                      struct om_item **items, size_t *nitems, size_t *logs)
{
    size_t n = 0, cap = 0;
    *items = NULL;
    *logs = 0;
    int code = CLI_OK;
    for (size_t s = 0; s < nsrc && code == CLI_OK; s++) {
        if (each_host)
            cli_rpc_set_host(c, src[s].host);
        size_t i;
        json_t *uuid;
        json_array_foreach(src[s].uuids, i, uuid)
        {
            json_t *meta = NULL;
            code =
                cli_call(c, "get_result", json_pack("{s:O,s:i}", "uuid", uuid, "limit", 1), &meta);
            if (code != CLI_OK)
                break;
            if (cli_json_str(meta, "uuid") == NULL) {
                json_decref(meta);
                code = cli_fail(CLI_FAILED, "get_result %s: the reply has no uuid",
                                json_string_value(uuid));
                break;
            }
            const char *rtype = cli_json_str(meta, "rtype");
            if (rtype != NULL && strcmp(rtype, "log") == 0) {
                (*logs)++;
                json_decref(meta);
                continue;
            }
            json_object_del(meta, "data");
            if (src[s].host != NULL)
                json_object_set_new(meta, "host", json_string(src[s].host));
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                *items = sca_realloc(*items, cap * sizeof(**items));
            }
            (*items)[n] = (struct om_item){.src = &src[s], .order = n, .meta = meta};
            report_om_family(meta, &(*items)[n].family);
            n++;
        }
    }
    if (n > 0)
        qsort(*items, n, sizeof(**items), item_compare);
    *nitems = n;
    return code;
}

/* --- The rows, through sca's page walker (cli_walk_result) --- */

static int om_begin(void *arg, const json_t *head, sca_error *err)
{
    return report_om_begin(arg, head, err);
}

/* At most max of a page's rows: parsed, then written. */
static int om_rows(void *arg, const char *rows, size_t len, size_t max, size_t written, size_t *n,
                   sca_error *err)
{
    (void)written;
    json_error_t jerr;
    json_t *data = json_loadb(rows, len, 0, &jerr);
    if (!json_is_array(data)) {
        json_decref(data);
        return sca_error_set(err, -EPROTO, "a page of samples from the agent is not valid: %s",
                             jerr.text);
    }
    while (json_array_size(data) > max)
        json_array_remove(data, json_array_size(data) - 1);
    *n = json_array_size(data);
    int rc = report_om_rows(arg, data, err);
    json_decref(data);
    return rc;
}

static int om_whole(void *arg, const json_t *result, sca_error *err)
{
    int rc = report_om_begin(arg, result, err);
    return rc == 0 ? report_om_rows(arg, json_object_get(result, "data"), err) : rc;
}

/* One result's samples, each page written as it comes. */
static int om_stream(cli_rpc *c, const struct om_item *item, bool each_host, report_om *om)
{
    cli_report_opts ro = {.format = CLI_FORMAT_OPENMETRICS};
    cli_result_sink sink = {om_begin, om_rows, NULL, om_whole, om};
    if (each_host)
        cli_rpc_set_host(c, item->src->host);
    return cli_walk_result(c, cli_json_str(item->meta, "uuid"), &ro, item->src->host, &sink);
}

int cli_openmetrics(cli_rpc *c, const cli_om_source *src, size_t nsrc, bool each_host)
{
    struct om_item *items = NULL;
    size_t n = 0, logs = 0;
    int code = om_collect(c, src, nsrc, each_host, &items, &n, &logs);
    report_om *om = report_om_new(stdout);
    sca_error err = {0};
    for (size_t i = 0; i < n && code == CLI_OK; i++)
        code = om_stream(c, &items[i], each_host, om);
    if (code == CLI_OK)
        code = cli_printed(report_om_finish(om, &err), &err);
    if (code == CLI_OK && logs > 0)
        fprintf(stderr, "%s: note: %zu log result%s left out: OpenMetrics takes numbers\n",
                cli_prog, logs, logs == 1 ? "" : "s");
    size_t merged = report_om_merged(om);
    if (code == CLI_OK && merged > 0)
        fprintf(stderr,
                "%s: note: %zu sample%s left out for a later one of the same series in the same "
                "millisecond (Prometheus keeps one a millisecond)\n",
                cli_prog, merged, merged == 1 ? " was" : "s were");
    report_om_free(om);
    for (size_t i = 0; i < n; i++) {
        json_decref(items[i].meta);
        sca_buf_free(&items[i].family);
    }
    free(items);
    return code;
}

int cli_openmetrics_one(cli_rpc *c, const json_t *uuids)
{
    json_t *info = NULL;
    int code = cli_call(c, "agent_info", NULL, &info);
    if (code != CLI_OK)
        return code;
    cli_om_source src = {.host = cli_json_str(info, "host"), .uuids = uuids};
    code = cli_openmetrics(c, &src, 1, false);
    json_decref(info);
    return code;
}
