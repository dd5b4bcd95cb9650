/*
 * reads.c - RPC handlers that only read the store.  They run on the libuv
 * thread pool, each with its own store connection, so a long read (a big
 * result) never holds up other requests on the loop.  Arguments are copied
 * out of the request on the loop thread; the reply is sent from it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

struct read_job;
typedef json_t *(*read_fn)(struct read_job *j, store *s);

struct read_job {
    uv_work_t work;
    rpc_request *req;
    read_fn fn;
    char *db_path;
    size_t budget;   /* bytes of sample data a reply may carry */
    char *host;      /* the agent's, for get_task_series */
    double deadline; /* for the store's waits (methods_store_deadline) */
    /* arguments */
    char *uuid;
    int64_t offset;
    int64_t limit;
    bool has_limit; /* limit given (0 means all) */
    bool flag;      /* summary / data */
    int64_t points; /* get_task_series */
    int64_t log_rows;
    double since;    /* -INFINITY when not given */
    json_t *tracers; /* a copy of the list, or NULL for all */
    bool cursor;     /* get_result(after=...): a keyset page as JSON text */
    bool has_after;  /* after a key, not from the first sample */
    store_cursor after;
    size_t page_budget; /* bytes of rows a cursor page may carry */
    /* outcome: result, or (a cursor page) text */
    int rc;
    sca_error err;
    json_t *result;
    char *text;
    size_t text_len;
};

static json_t *real_or_null(double v, bool set)
{
    return set ? json_real(v) : json_null();
}

static json_t *tracer_json(store *s, const store_tracer *t, sca_error *err)
{
    json_t *results = NULL;
    if (store_tracer_results(s, t->name, &results, err) != 0)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:o, s:o}", "name", t->name, "tpl", t->tpl,
                     "parser", t->parser, "title", t->title, "running", t->running, "pid",
                     (json_int_t)(t->running && t->pid > 0 ? t->pid : -1), "task",
                     t->running && t->task_uuid ? json_string(t->task_uuid) : json_null(),
                     "results", results);
}

static json_t *read_tracer_list(struct read_job *j, store *s)
{
    store_tracer *tracers;
    size_t n;
    j->rc = store_tracer_list(s, &tracers, &n, &j->err);
    if (j->rc != 0)
        return NULL;
    json_t *list = json_array();
    for (size_t i = 0; i < n && j->rc == 0; i++) {
        json_t *t = tracer_json(s, &tracers[i], &j->err);
        if (t == NULL)
            j->rc = -EIO;
        json_array_append_new(list, t);
    }
    store_tracer_array_free(tracers, n);
    return list;
}

static json_t *held_reason_json(int64_t held, const char *reason)
{
    return held > 0 && reason != NULL && reason[0] ? json_string(reason) : json_null();
}

static json_t *task_tracer_json(const store_task_tracer *tt)
{
    bool running = tt->stopped == 0;
    return json_pack(
        "{s:s, s:I, s:I, s:b, s:b, s:f, s:o, s:o, s:o, s:I, s:I, s:I, s:o}", "name", tt->tracer,
        "pid", (json_int_t)tt->pid, "worker_pid", (json_int_t)tt->worker_pid, "running", running,
        "stopping", running && tt->stopping, "started", tt->started, "stopped",
        real_or_null(tt->stopped, tt->stopped > 0), "exit_code",
        tt->exit_code >= 0 && tt->stopped > 0 ? json_integer(tt->exit_code) : json_null(),
        "exit_signal", tt->exit_signal > 0 ? json_integer(tt->exit_signal) : json_null(), "lines",
        (json_int_t)tt->lines, "unparsed", (json_int_t)tt->unparsed, "held",
        (json_int_t)(running ? tt->held : 0), "held_reason",
        held_reason_json(running ? tt->held : 0, tt->held_reason));
}

static json_t *task_json(struct read_job *j, store *s, const store_task *t)
{
    store_result *results;
    store_task_tracer *tts;
    size_t nr, nt;
    j->rc = store_result_list(s, t->id, &results, &nr, &j->err);
    if (j->rc != 0)
        return NULL;
    j->rc = store_task_tracer_list(s, t->id, &tts, &nt, &j->err);
    if (j->rc != 0) {
        store_result_array_free(results, nr);
        return NULL;
    }
    json_t *uuids = json_array(), *tracers = json_array();
    for (size_t i = 0; i < nr; i++)
        json_array_append_new(uuids, json_string(results[i].uuid));
    for (size_t i = 0; i < nt; i++)
        json_array_append_new(tracers, task_tracer_json(&tts[i]));
    store_result_array_free(results, nr);
    task_view view;
    tasks_view(t, tts, nt, &view);
    json_t *o = json_pack(
        "{s:s, s:s, s:f, s:o, s:o, s:o, s:o, s:I, s:o}", "uuid", t->uuid, "status", view.status,
        "created", t->created, "stopped", real_or_null(t->stopped, t->stopped > 0), "deadline",
        real_or_null(t->deadline, t->deadline > 0), "results", uuids, "tracers", tracers, "held",
        (json_int_t)view.held, "held_reason", held_reason_json(view.held, view.held_reason));
    free(tts);
    return o;
}

static json_t *read_get_task(struct read_job *j, store *s)
{
    store_task t;
    j->rc = store_task_find(s, j->uuid, &t, &j->err);
    return j->rc == 0 ? task_json(j, s, &t) : NULL;
}

static json_t *read_get_latest_task(struct read_job *j, store *s)
{
    store_task t;
    j->rc = store_task_latest(s, &t, &j->err);
    return j->rc == 0 ? task_json(j, s, &t) : NULL;
}

static json_t *task_brief(struct read_job *j, store *s, const store_task *t)
{
    json_t *full = task_json(j, s, t);
    if (full == NULL)
        return NULL;
    json_t *names = json_array();
    size_t i;
    json_t *tt;
    json_array_foreach(json_object_get(full, "tracers"), i, tt)
        json_array_append(names, json_object_get(tt, "name"));
    json_object_set_new(
        full, "results",
        json_integer((json_int_t)json_array_size(json_object_get(full, "results"))));
    json_object_set_new(full, "tracers", names);
    return full;
}

static json_t *read_task_list(struct read_job *j, store *s)
{
    store_task *tasks;
    size_t n;
    j->rc = store_task_list(s, j->has_limit ? (int)j->limit : 20, &tasks, &n, &j->err);
    if (j->rc != 0)
        return NULL;
    json_t *list = json_array();
    for (size_t i = 0; i < n && j->rc == 0; i++)
        json_array_append_new(list, task_brief(j, s, &tasks[i]));
    free(tasks);
    return list;
}

/* Collects [ts, value] pairs until the byte budget is spent. */
struct page {
    json_t *data;
    size_t bytes;
    size_t budget;
    bool truncated;
};

static int page_add(void *ctx, double ts, bool is_text, double value, const char *text, size_t len)
{
    struct page *p = ctx;
    /* Text may double in size once escaped inside the envelope's string. */
    size_t cost = 32 + (is_text ? 2 * len : 0);
    if (p->bytes + cost > p->budget && json_array_size(p->data) > 0) {
        p->truncated = true;
        return 1;
    }
    p->bytes += cost;
    json_array_append_new(
        p->data, json_pack("[f, o]", ts, is_text ? text_value(text, len) : json_real(value)));
    return 0;
}

static json_t *summary_json(const store_summary *sm, bool stream)
{
    json_t *o = json_pack("{s:I, s:o, s:o}", "count", (json_int_t)sm->count, "first",
                          real_or_null(sm->first, sm->count > 0), "last",
                          real_or_null(sm->last, sm->count > 0));
    if (stream && sm->numbers > 0) {
        json_object_set_new(o, "min", json_real(sm->min));
        json_object_set_new(o, "avg", json_real(sm->avg));
        json_object_set_new(o, "max", json_real(sm->max));
        json_object_set_new(o, "p95", json_real(sm->p95));
    }
    return o;
}

static json_t *series_summary_json(const store_summary *sm, bool stream)
{
    json_t *o = summary_json(sm, stream);
    if (stream && sm->numbers > 0)
        json_object_set_new(o, "last_value", json_real(sm->last_value));
    return o;
}

static json_t *spark_json(const store_summary *sm)
{
    json_t *spark = json_array();
    for (int i = 0; i < sm->spark_slices; i++)
        json_array_append_new(spark, real_or_null(sm->spark[i], sm->spark_set[i]));
    return spark;
}

static json_t *result_json(struct read_job *j, store *s, const store_result *r, bool data,
                           size_t *budget)
{
    bool stream = strcmp(r->rtype, STORE_RTYPE_STREAM) == 0;
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:I}", "id", (json_int_t)r->id,
                          "uuid", r->uuid, "task", r->task_uuid, "tracer", r->tracer, "name",
                          r->name, "unit", r->unit ? json_string(r->unit) : json_null(), "rtype",
                          r->rtype, "count", (json_int_t)r->count);
    if (data) {
        struct page p = {json_array(), 0, *budget, false};
        j->rc = store_sample_page(s, r->id, j->offset, j->limit, page_add, &p, &j->err);
        if (j->rc == 1)
            j->rc = 0;
        *budget = p.budget > p.bytes ? p.budget - p.bytes : 0;
        json_object_set_new(o, "offset", json_integer(j->offset));
        json_object_set_new(o, "data", p.data);
        json_object_set_new(o, "truncated", json_boolean(p.truncated));
    }
    if (j->flag && data) {
        store_summary sm;
        j->rc = j->rc ? j->rc : store_result_summary(s, r->id, &sm, &j->err);
        if (j->rc == 0) {
            json_object_set_new(o, "summary", summary_json(&sm, stream));
            if (stream)
                json_object_set_new(o, "spark", spark_json(&sm));
        }
    }
    return o;
}

/* get_result(after=...): the samples after the cursor (from the first
 * when it is null) as JSON text, "next" the key to continue from.  Only
 * the first page counts the samples: counting walks the whole index. */
static json_t *read_result_page(struct read_job *j, store *s)
{
    store_result r;
    j->rc = j->has_after ? store_result_get_uncounted(s, j->uuid, &r, &j->err)
                         : store_result_get(s, j->uuid, &r, &j->err);
    if (j->rc != 0)
        return NULL;
    bool stream = strcmp(r.rtype, STORE_RTYPE_STREAM) == 0;
    json_t *head = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s}", "id", (json_int_t)r.id, "uuid",
                             r.uuid, "task", r.task_uuid, "tracer", r.tracer, "name", r.name,
                             "unit", r.unit ? json_string(r.unit) : json_null(), "rtype", r.rtype);
    if (!j->has_after)
        json_object_set_new(head, "count", json_integer((json_int_t)r.count));
    store_summary sm;
    if (j->flag && (j->rc = store_result_summary(s, r.id, &sm, &j->err)) == 0) {
        json_object_set_new(head, "summary", summary_json(&sm, stream));
        if (stream)
            json_object_set_new(head, "spark", spark_json(&sm));
    }
    text_page p;
    store_cursor last = j->after;
    bool more = false;
    text_page_begin(&p, head, j->page_budget);
    json_decref(head);
    if (j->rc == 0)
        j->rc = store_sample_after(s, r.id, j->has_after ? &j->after : NULL, j->limit,
                                   text_page_add, &p, &last, &more, &j->err);
    store_result_clear(&r);
    /* What only the walk tells comes after the rows. */
    json_t *tail =
        json_pack("{s:b, s:o}", "truncated", p.full, "next",
                  more ? json_pack("[f, I]", last.ts, (json_int_t)last.rowid) : json_null());
    j->text = text_page_end(&p, tail, &j->text_len);
    json_decref(tail);
    return NULL;
}

static json_t *read_get_result(struct read_job *j, store *s)
{
    if (j->cursor)
        return read_result_page(j, s);
    store_result r;
    j->rc = store_result_get(s, j->uuid, &r, &j->err);
    if (j->rc != 0)
        return NULL;
    size_t budget = j->budget;
    json_t *o = result_json(j, s, &r, true, &budget);
    store_result_clear(&r);
    return o;
}

static json_t *read_get_all_results(struct read_job *j, store *s)
{
    store_result *results;
    size_t n;
    j->rc = store_result_list(s, 0, &results, &n, &j->err);
    if (j->rc != 0)
        return NULL;
    json_t *list = json_array();
    size_t budget = j->budget;
    j->offset = 0;
    j->limit = 0;
    for (size_t i = 0; i < n && j->rc == 0; i++)
        json_array_append_new(list, result_json(j, s, &results[i], j->flag, &budget));
    store_result_array_free(results, n);
    return list;
}

/* --- get_task_series -------------------------------------------------- */

#define SERIES_POINTS_DEFAULT 300
#define SERIES_POINTS_MAX 5000
#define SERIES_LOG_ROWS_DEFAULT 200
#define SERIES_LOG_ROWS_MAX 5000

static int point_add(void *ctx, double ts, bool is_text, double value, const char *text, size_t len)
{
    json_array_append_new(
        ctx, json_pack("[f, o]", ts, is_text ? text_value(text, len) : json_real(value)));
    return 0;
}

static bool tracer_wanted(const struct read_job *j, const char *tracer)
{
    if (j->tracers == NULL)
        return true;
    size_t i;
    json_t *name;
    json_array_foreach(j->tracers, i, name)
    {
        if (strcmp(json_string_value(name), tracer) == 0)
            return true;
    }
    return false;
}

/* One result as get_task_series describes it: its summary, spark and
 * points (reduced streams, the head and tail of logs). */
static json_t *series_json(struct read_job *j, store *s, const store_result *r)
{
    bool stream = strcmp(r->rtype, STORE_RTYPE_STREAM) == 0;
    store_summary sm;
    store_span span;
    j->rc = store_result_summary(s, r->id, &sm, &j->err);
    if (j->rc != 0)
        return NULL;
    json_t *points = json_array();
    if (stream)
        j->rc = store_sample_reduce(s, r->id, j->since, (size_t)j->points, point_add, points, &span,
                                    &j->err);
    else
        j->rc = store_sample_window(s, r->id, j->since, (size_t)j->log_rows, point_add, points,
                                    &span, &j->err);
    if (j->rc != 0) {
        json_decref(points);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:o, s:o, s:o, s:b}", "uuid", r->uuid,
                     "task", r->task_uuid, "tracer", r->tracer, "name", r->name, "unit",
                     r->unit ? json_string(r->unit) : json_null(), "rtype", r->rtype, "count",
                     (json_int_t)r->count, "summary", series_summary_json(&sm, stream), "spark",
                     stream ? spark_json(&sm) : json_null(), "points", points, "reduced",
                     (json_int_t)json_array_size(points) < span.count);
}

static json_t *read_get_task_series(struct read_job *j, store *s)
{
    store_task t;
    store_result *results;
    size_t n;
    j->rc = store_task_find(s, j->uuid, &t, &j->err);
    json_t *task = j->rc == 0 ? task_json(j, s, &t) : NULL;
    if (task == NULL)
        return NULL;
    j->rc = store_result_list(s, t.id, &results, &n, &j->err);
    if (j->rc != 0) {
        json_decref(task);
        return NULL;
    }
    json_t *series = json_array();
    for (size_t i = 0; i < n && j->rc == 0; i++) {
        if (tracer_wanted(j, results[i].tracer))
            json_array_append_new(series, series_json(j, s, &results[i]));
    }
    store_result_array_free(results, n);
    return json_pack("{s:o, s:s, s:o}", "task", task, "host", j->host, "series", series);
}

static void run_read(uv_work_t *w)
{
    struct read_job *j = w->data;
    store *s = NULL;
    j->rc = store_open(j->db_path, 0, &s, &j->err);
    if (j->rc == 0) {
        store_set_deadline(s, j->deadline);
        j->result = j->fn(j, s);
    }
    store_close(s);
    if (j->rc != 0) {
        json_decref(j->result);
        j->result = NULL;
        free(j->text);
        j->text = NULL;
    }
}

static void read_job_free(struct read_job *j)
{
    free(j->uuid);
    free(j->db_path);
    free(j->host);
    json_decref(j->tracers);
    free(j->text);
    free(j);
}

static void read_done(uv_work_t *w, int status)
{
    struct read_job *j = w->data;
    if (status != 0)
        j->rc = sca_error_set(&j->err, -ECANCELED, "request cancelled");
    if (j->rc != 0) {
        methods_fail(j->req, j->rc, &j->err);
    } else if (j->text != NULL) {
        rpc_request_reply_text(j->req, j->text, j->text_len);
        j->text = NULL;
    } else {
        rpc_request_reply(j->req, j->result);
    }
    read_job_free(j);
}

/* An integer argument within [min, max], default def when absent or null;
 * -EINVAL (a ValueError) outside. */
static int int_in_range(json_t *args, const char *name, int64_t def, int64_t min, int64_t max,
                        int64_t *out, sca_error *err)
{
    json_t *v = json_object_get(args, name);
    *out = json_is_integer(v) ? json_integer_value(v) : def;
    if (*out < min || *out > max)
        return sca_error_set(err, -EINVAL, "%s must be from %lld to %lld, not %lld", name,
                             (long long)min, (long long)max, (long long)*out);
    return 0;
}

/* get_result's after: null (from the first sample) or [ts, rowid] as a
 * page's "next" gave it. */
static int cursor_arg(json_t *args, struct read_job *j, sca_error *err)
{
    json_t *after = json_object_get(args, "after");
    j->cursor = after != NULL;
    if (after == NULL || json_is_null(after))
        return 0;
    json_t *ts = json_array_get(after, 0), *rowid = json_array_get(after, 1);
    if (json_array_size(after) != 2 || !json_is_number(ts) || !json_is_integer(rowid))
        return sca_error_set(err, -EINVAL,
                             "after must be null or [ts, rowid], the \"next\" of the page before");
    if (json_integer_value(json_object_get(args, "offset")) != 0)
        return sca_error_set(err, -EINVAL, "give offset or after, not both");
    j->has_after = true;
    j->after = (store_cursor){json_number_value(ts), json_integer_value(rowid)};
    return 0;
}

/* The job for req with its arguments copied out of the request (the
 * thread pool must not touch the request's JSON); NULL with err set when
 * one is out of range. */
static struct read_job *read_job_new(rpc_request *req, agent *a, read_fn fn, sca_error *err)
{
    json_t *args = rpc_request_args(req);
    struct read_job *j = sca_calloc(1, sizeof(*j));
    j->req = req;
    j->fn = fn;
    j->db_path = sca_strdup(a->cfg.db_path);
    j->host = sca_strdup(a->cfg.host);
    j->budget = a->cfg.max_message_size / 4;
    j->page_budget = a->cfg.max_message_size / 2;
    j->deadline = methods_store_deadline(req);
    const char *uuid = json_string_value(json_object_get(args, "uuid"));
    j->uuid = uuid ? sca_strdup(uuid) : NULL;
    j->offset = json_integer_value(json_object_get(args, "offset"));
    j->limit = json_integer_value(json_object_get(args, "limit"));
    j->has_limit = json_is_integer(json_object_get(args, "limit"));
    j->flag = json_is_true(json_object_get(args, "summary")) ||
              json_is_true(json_object_get(args, "data"));
    json_t *since = json_object_get(args, "since");
    j->since = json_is_number(since) ? json_number_value(since) : -INFINITY;
    json_t *tracers = json_object_get(args, "tracers");
    j->tracers = json_is_array(tracers) ? json_deep_copy(tracers) : NULL;
    j->work.data = j;
    if ((fn == read_get_task_series &&
         (int_in_range(args, "points", SERIES_POINTS_DEFAULT, 2, SERIES_POINTS_MAX, &j->points,
                       err) != 0 ||
          int_in_range(args, "log_rows", SERIES_LOG_ROWS_DEFAULT, 0, SERIES_LOG_ROWS_MAX,
                       &j->log_rows, err) != 0)) ||
        (fn == read_get_result && cursor_arg(args, j, err) != 0)) {
        read_job_free(j);
        return NULL;
    }
    return j;
}

static void queue_read(rpc_request *req, agent *a, read_fn fn)
{
    sca_error err = {0};
    struct read_job *j = read_job_new(req, a, fn, &err);
    if (j == NULL) {
        methods_fail(req, -EINVAL, &err);
        return;
    }
    int rc = uv_queue_work(a->loop, &j->work, run_read, read_done);
    if (rc != 0) {
        sca_error_set(&err, rc, "cannot queue the read: %s", uv_strerror(rc));
        methods_fail(req, -EIO, &err);
        read_job_free(j);
    }
}

#define READ_HANDLER(name)                                                                         \
    static void do_##name(rpc_request *req, void *arg)                                             \
    {                                                                                              \
        queue_read(req, arg, read_##name);                                                         \
    }

READ_HANDLER(tracer_list)
READ_HANDLER(get_task)
READ_HANDLER(get_latest_task)
READ_HANDLER(task_list)
READ_HANDLER(get_result)
READ_HANDLER(get_all_results)
READ_HANDLER(get_task_series)

static const rpc_arg_spec get_task_args[] = {
    {"uuid", RPC_ARG_STRING, true, false},
    {"fuzzy", RPC_ARG_ANY, false, true},
    {0},
};
static const rpc_arg_spec task_list_args[] = {{"limit", RPC_ARG_INT, false, true}, {0}};
static const rpc_arg_spec get_result_args[] = {
    {"uuid", RPC_ARG_STRING, true, false}, {"offset", RPC_ARG_INT, false, true},
    {"limit", RPC_ARG_INT, false, true},   {"summary", RPC_ARG_BOOL, false, true},
    {"after", RPC_ARG_ARRAY, false, true}, {0},
};
static const rpc_arg_spec all_results_args[] = {{"data", RPC_ARG_BOOL, false, true}, {0}};
static const rpc_arg_spec task_series_args[] = {
    {"uuid", RPC_ARG_STRING, true, false},         {"points", RPC_ARG_INT, false, true},
    {"log_rows", RPC_ARG_INT, false, true},        {"since", RPC_ARG_NUMBER, false, true},
    {"tracers", RPC_ARG_STRING_LIST, false, true}, {0},
};

const rpc_method reads_table[] = {
    {"tracer_list", do_tracer_list, NULL},
    {"get_task", do_get_task, get_task_args},
    {"get_latest_task", do_get_latest_task, NULL},
    {"task_list", do_task_list, task_list_args},
    {"get_result", do_get_result, get_result_args},
    {"get_all_results", do_get_all_results, all_results_args},
    {"get_task_series", do_get_task_series, task_series_args},
    {0},
};
