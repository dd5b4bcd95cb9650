/* cmd_stream.c - sca report's CSV and JSON output written as the samples
 * arrive: pages of get_result(after=...) in key order, each asked for
 * before the one before it is written, so that sca's memory stays the
 * same whatever the size of the task (see sca.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

/* A page as get_result(after=...) sends it, split. */
struct page {
    char *text;
    json_t *members; /* all but "data" */
    const char *rows;
    size_t rows_len;
    size_t count;
};

static void page_free(struct page *pg)
{
    free(pg->text);
    json_decref(pg->members);
    memset(pg, 0, sizeof(*pg));
}

/* Asks for the page of uuid after next (from the first when NULL), at
 * most limit rows (0: a full page).  0 or a negative errno code. */
static int page_ask(cli_rpc *c, const char *uuid, const json_t *next, size_t limit, bool summary,
                    cli_text_call **call, sca_error *err)
{
    json_t *args = json_pack("{s:s, s:O}", "uuid", uuid, "after", next ? next : json_null());
    if (limit > 0)
        json_object_set_new(args, "limit", json_integer((json_int_t)limit));
    if (summary)
        json_object_set_new(args, "summary", json_true());
    return cli_rpc_call_text(c, "get_result", args, call, err);
}

/* Waits for call's page and splits it: a cli_exit code, the failure
 * printed. */
static int page_wait(cli_rpc *c, cli_text_call *call, struct page *pg)
{
    sca_error err = {0};
    int rc = cli_rpc_wait_text(c, call, &pg->text, &pg->rows_len, &err);
    if (rc != 0)
        return cli_call_failed(c, rc, &err);
    rc = report_page_split(pg->text, pg->rows_len, &pg->members, &pg->rows, &pg->rows_len,
                           &pg->count, &err);
    return rc == 0 ? CLI_OK : cli_fail(CLI_FAILED, "%s", err.msg);
}

/* The first page of uuid, summary with it for JSON; *old when the agent
 * is from before get_result's cursor (nothing printed then). */
static int first_page(cli_rpc *c, const char *uuid, bool summary, struct page *pg, bool *old)
{
    cli_text_call *call = NULL;
    sca_error err = {0};
    *old = false;
    int rc = page_ask(c, uuid, NULL, 0, summary, &call, &err);
    if (rc == 0)
        rc = cli_rpc_wait_text(c, call, &pg->text, &pg->rows_len, &err);
    /* It refuses the argument it does not know. */
    *old = rc == -EREMOTEIO && strncmp(err.msg, "TypeError", 9) == 0 &&
           strstr(err.msg, "'after'") != NULL;
    if (*old)
        return CLI_OK;
    if (rc != 0)
        return cli_call_failed(c, rc, &err);
    rc = report_page_split(pg->text, pg->rows_len, &pg->members, &pg->rows, &pg->rows_len,
                           &pg->count, &err);
    json_t *count = json_object_get(pg->members, "count");
    if (rc == 0 && (!json_is_integer(count) || json_integer_value(count) < 0 ||
                    json_string_value(json_object_get(pg->members, "uuid")) == NULL))
        rc = sca_error_set(&err, -EPROTO, "get_result %s: the reply has no uuid or count", uuid);
    return rc == 0 ? CLI_OK : cli_fail(CLI_FAILED, "%s", err.msg);
}

/* What the whole result is written with: the first page's members
 * without the page's own ("next"), as a whole-result reply reads (offset
 * 0, not truncated), with host when it is not NULL. */
static json_t *result_head(const json_t *first, const char *host)
{
    json_t *head = json_deep_copy(first);
    json_object_del(head, "next");
    json_object_set_new(head, "offset", json_integer(0));
    json_object_set_new(head, "truncated", json_false());
    if (host != NULL)
        json_object_set_new(head, "host", json_string(host));
    return head;
}

/* The old way, for an agent without the cursor: the whole result
 * fetched, then handed to sink whole. */
static int walk_fetched(cli_rpc *c, const char *uuid, const cli_report_opts *ro, const char *host,
                        const cli_result_sink *sink)
{
    json_t *r = NULL;
    int code = cli_fetch_result(c, uuid, ro, host, &r);
    if (code != CLI_OK)
        return code;
    sca_error err = {0};
    int rc = report_check_result(r, &err);
    if (rc == 0)
        rc = sink->whole(sink->arg, r, &err);
    json_decref(r);
    return cli_printed(rc, &err);
}

/* The pages from pg on: each asked for as soon as the one before has
 * come, then the one before written.  count rows at most (the count the
 * first page gave: samples stored meanwhile wait for the next report). */
static int walk_pages(cli_rpc *c, struct page *pg, const char *uuid, size_t count,
                      const cli_result_sink *sink)
{
    size_t written = 0;
    for (;;) {
        size_t take = pg->count < count - written ? pg->count : count - written, n = 0;
        const json_t *next = json_object_get(pg->members, "next");
        cli_text_call *ahead = NULL;
        sca_error err = {0};
        int code = CLI_OK, rc = 0;
        /* A page without rows that names a next one would be asked for
         * again and again: the agent is not paging in key order. */
        if (json_is_array(next) && pg->count == 0 && written < count) {
            page_free(pg);
            return cli_fail(CLI_FAILED, "get_result %s: a page without samples names a next one",
                            uuid);
        }
        if (json_is_array(next) && written + take < count &&
            (rc = page_ask(c, uuid, next, count - written - take, false, &ahead, &err)) != 0)
            code = cli_call_failed(c, rc, &err);
        if (code == CLI_OK) {
            rc = sink->rows(sink->arg, pg->rows, pg->rows_len, take, written, &n, &err);
            code = cli_printed(rc, &err);
        }
        page_free(pg);
        written += n;
        if (code != CLI_OK || ahead == NULL) {
            cli_rpc_abandon_text(ahead);
            return code;
        }
        if ((code = page_wait(c, ahead, pg)) != CLI_OK)
            return code;
    }
}

int cli_walk_result(cli_rpc *c, const char *uuid, const cli_report_opts *ro, const char *host,
                    const cli_result_sink *sink)
{
    bool old;
    struct page pg = {0};
    int code = first_page(c, uuid, ro->format == CLI_FORMAT_JSON, &pg, &old);
    if (code == CLI_OK && old)
        return walk_fetched(c, uuid, ro, host, sink);
    if (code != CLI_OK) {
        page_free(&pg);
        return code;
    }
    json_t *head = result_head(pg.members, host);
    sca_error err = {0};
    code = cli_printed(sink->begin(sink->arg, head, &err), &err);
    if (code == CLI_OK)
        code = walk_pages(c, &pg, json_string_value(json_object_get(head, "uuid")),
                          (size_t)json_integer_value(json_object_get(head, "count")), sink);
    if (code == CLI_OK && sink->end != NULL)
        code = cli_printed(sink->end(sink->arg, head, &err), &err);
    page_free(&pg);
    json_decref(head);
    return code;
}

/* --- CSV and JSON ------------------------------------------------------------ */

struct file_sink {
    FILE *out;
    sca_buf prefix; /* CSV: what each row starts with */
};

static int csv_begin(void *arg, const json_t *head, sca_error *err)
{
    (void)err;
    struct file_sink *f = arg;
    report_csv_prefix(head, &f->prefix);
    return 0;
}

static int csv_rows(void *arg, const char *rows, size_t len, size_t max, size_t written, size_t *n,
                    sca_error *err)
{
    (void)written;
    struct file_sink *f = arg;
    return report_csv_rows(f->out, f->prefix.data, f->prefix.len, rows, len, max, n, err);
}

static int csv_whole(void *arg, const json_t *result, sca_error *err)
{
    struct file_sink *f = arg;
    return report_csv(f->out, result, err);
}

static int json_begin(void *arg, const json_t *head, sca_error *err)
{
    struct file_sink *f = arg;
    int rc = report_json_open(f->out, head, "data", err);
    return rc == 0 ? report_json_text(f->out, "[", err) : rc;
}

static int json_rows(void *arg, const char *rows, size_t len, size_t max, size_t written, size_t *n,
                     sca_error *err)
{
    struct file_sink *f = arg;
    return report_json_rows(f->out, rows, len, max, written, n, err);
}

static int json_end(void *arg, const json_t *head, sca_error *err)
{
    struct file_sink *f = arg;
    int rc = report_json_text(f->out, "]", err);
    return rc == 0 ? report_json_close(f->out, head, "data", err) : rc;
}

static int json_whole(void *arg, const json_t *result, sca_error *err)
{
    struct file_sink *f = arg;
    return report_json_value(f->out, result, err);
}

int cli_stream_result(cli_rpc *c, const char *uuid, const cli_report_opts *ro, const char *host,
                      FILE *out)
{
    struct file_sink f = {.out = out};
    cli_result_sink sink = ro->format == CLI_FORMAT_CSV
                               ? (cli_result_sink){csv_begin, csv_rows, NULL, csv_whole, &f}
                               : (cli_result_sink){json_begin, json_rows, json_end, json_whole, &f};
    int code = cli_walk_result(c, uuid, ro, host, &sink);
    sca_buf_free(&f.prefix);
    return code;
}
