/* cmd_openmetrics.c - sca report --openmetrics: every sample of a report's
 * stream results as OpenMetrics text (report.h, report_om_*), for
 * Prometheus and the tools that chart from it.  Each result is fetched
 * page by page with get_result's keyset cursor and each page written
 * before the next is asked for, so no series is ever held whole.  The
 * results are written in the order of their metric families, so that a
 * family's metrics come together, also across hosts (docs/cli.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

#define OM_PAGE_ROWS 10000 /* rows asked for a page; the agent may send fewer */

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
static int om_collect(const cli_om_source *src, size_t nsrc, struct om_item **items, size_t *nitems,
                      size_t *logs)
{
    size_t n = 0, cap = 0, order = 0;
    *items = NULL;
    *logs = 0;
    int code = CLI_OK;
    for (size_t s = 0; s < nsrc && code == CLI_OK; s++) {
        size_t i;
        json_t *uuid;
        json_array_foreach(src[s].uuids, i, uuid)
        {
            json_t *meta = NULL;
            code = cli_call(src[s].c, "get_result",
                            json_pack("{s:O,s:i}", "uuid", uuid, "limit", 1), &meta);
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
            (*items)[n] = (struct om_item){.src = &src[s], .order = order++, .meta = meta};
            report_om_family(meta, &(*items)[n].family);
            n++;
        }
    }
    if (n > 0)
        qsort(*items, n, sizeof(**items), item_compare);
    *nitems = n;
    return code;
}

/* An agent from before the keyset cursor: it pages by offset. */
static bool cursor_unknown(int rc, const sca_error *err)
{
    return rc == -EREMOTEIO && strncmp(err->msg, "TypeError:", 10) == 0 &&
           strstr(err->msg, "'after'") != NULL;
}

/* The pages of one result, each written as it comes: get_result(uuid,
 * after=the "next" of the page before, null at first) until "next" is
 * null; with an agent that has no cursor, get_result(offset, limit). */
static int om_stream(const struct om_item *item, report_om *om)
{
    cli_rpc *c = item->src->c;
    const char *uuid = cli_json_str(item->meta, "uuid");
    json_t *after = json_null();
    bool cursor = true;
    size_t offset = 0;
    int code = CLI_OK;
    for (;;) {
        json_t *args =
            cursor ? json_pack("{s:s,s:O,s:i}", "uuid", uuid, "after", after, "limit", OM_PAGE_ROWS)
                   : json_pack("{s:s,s:I,s:i}", "uuid", uuid, "offset", (json_int_t)offset, "limit",
                               OM_PAGE_ROWS);
        json_t *page = NULL;
        sca_error err = {0};
        int rc = cli_rpc_call(c, "get_result", args, 0, &page, &err);
        if (cursor && cursor_unknown(rc, &err)) {
            cursor = false;
            continue;
        }
        if (rc != 0) {
            code = cli_call_failed(c, rc, &err);
            break;
        }
        json_t *data = json_object_get(page, "data");
        size_t n = json_array_size(data);
        rc = report_om_rows(om, data, &err);
        json_t *next = json_object_get(page, "next");
        size_t count = (size_t)json_integer_value(json_object_get(page, "count"));
        bool done = n == 0 || (cursor ? !json_is_array(next) : offset + n >= count);
        if (cursor && !done) {
            json_decref(after);
            after = json_incref(next);
        }
        offset += n;
        json_decref(page);
        if (rc != 0) {
            code = cli_printed(rc, &err);
            break;
        }
        if (done)
            break;
    }
    json_decref(after);
    return code;
}

int cli_openmetrics(const cli_om_source *src, size_t nsrc)
{
    struct om_item *items = NULL;
    size_t n = 0, logs = 0;
    int code = om_collect(src, nsrc, &items, &n, &logs);
    report_om *om = report_om_new(stdout);
    sca_error err = {0};
    for (size_t i = 0; i < n && code == CLI_OK; i++) {
        int rc = report_om_begin(om, items[i].meta, &err);
        code = rc != 0 ? cli_printed(rc, &err) : om_stream(&items[i], om);
    }
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
    cli_om_source src = {.c = c, .host = cli_json_str(info, "host"), .uuids = uuids};
    code = cli_openmetrics(&src, 1);
    json_decref(info);
    return code;
}
