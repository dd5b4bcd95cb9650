/* report_stream.c - results written as their samples arrive, a page at a
 * time (see report.h): a page's rows go out as CSV or JSON straight from
 * the text get_result sent, without a jansson value per sample, and a JSON
 * document is written around them member by member. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "scalpels/report.h"

#define NUMBER_TEXT_MAX 64 /* longer is no number a page holds */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

static int bad_page(sca_error *err, const char *what)
{
    return sca_error_set(err, -EPROTO, "a page of samples from the agent is not valid: %s", what);
}

/* The JSON value [p, e) decoded by jansson; NULL when it is not one. */
static json_t *load_value(const char *p, const char *e)
{
    return json_loadb(p, (size_t)(e - p), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* The elements of the array at p (its '['), counted; the end of it. */
static const char *count_rows(const char *p, const char *end, size_t *count)
{
    *count = 0;
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']')
        return p + 1;
    while (p < end) {
        if ((p = sca_json_skip(p, end)) == NULL)
            return NULL;
        (*count)++;
        p = skip_ws(p, end);
        if (p < end && *p == ']')
            return p + 1;
        if (p >= end || *p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
    }
    return NULL;
}

int report_page_split(const char *text, size_t len, json_t **members, const char **rows,
                      size_t *rows_len, size_t *count, sca_error *err)
{
    const char *end = text + len, *p = skip_ws(text, end);
    *members = NULL;
    *rows = NULL;
    *rows_len = *count = 0;
    if (p >= end || *p != '{')
        return bad_page(err, "not an object");
    json_t *obj = json_object();
    p = skip_ws(p + 1, end);
    while (p < end && *p != '}') {
        const char *k = p, *ke = *p == '"' ? sca_json_skip(p, end) : NULL;
        json_t *key = ke != NULL ? load_value(k, ke) : NULL;
        p = ke != NULL ? skip_ws(ke, end) : end;
        const char *v = p < end && *p == ':' ? skip_ws(p + 1, end) : end;
        bool data = json_is_string(key) && strcmp(json_string_value(key), "data") == 0;
        const char *ve =
            data && v < end && *v == '[' ? count_rows(v, end, count) : sca_json_skip(v, end);
        json_t *value = ve != NULL && !data ? load_value(v, ve) : NULL;
        if (!json_is_string(key) || ve == NULL || (!data && value == NULL)) {
            json_decref(key);
            json_decref(obj);
            return bad_page(err, "a member is not \"key\": value");
        }
        if (data) {
            *rows = v;
            *rows_len = (size_t)(ve - v);
        } else {
            json_object_set_new(obj, json_string_value(key), value);
        }
        json_decref(key);
        p = skip_ws(ve, end);
        if (p < end && *p == ',')
            p = skip_ws(p + 1, end);
        else if (p < end && *p != '}')
            p = end;
    }
    if (p >= end || skip_ws(p + 1, end) != end || *rows == NULL) {
        json_decref(obj);
        return bad_page(err, *rows == NULL ? "it has no data array" : "not one object");
    }
    *members = obj;
    return 0;
}

/* One sample of a page. */
struct row {
    double ts;
    bool is_text;
    double value; /* NAN for null */
    const char *text;
    size_t text_len;
};

/* The number at [p, e) into *out. */
static bool read_number(const char *p, const char *e, double *out)
{
    char num[NUMBER_TEXT_MAX];
    size_t n = (size_t)(e - p);
    if (n == 0 || n >= sizeof(num) || !((*p >= '0' && *p <= '9') || *p == '-'))
        return false;
    memcpy(num, p, n);
    num[n] = '\0';
    char *q;
    *out = strtod(num, &q);
    return q == num + n;
}

/* The string token [p, e), unescaped; scratch holds it when it had
 * escapes. */
static bool read_text(const char *p, const char *e, struct row *r, sca_buf *scratch)
{
    if (memchr(p, '\\', (size_t)(e - p)) == NULL) {
        r->text = p + 1;
        r->text_len = (size_t)(e - p) - 2;
        return true;
    }
    json_t *v = load_value(p, e);
    if (!json_is_string(v)) {
        json_decref(v);
        return false;
    }
    sca_buf_reset(scratch);
    sca_buf_append(scratch, json_string_value(v), json_string_length(v));
    json_decref(v);
    r->text = scratch->data;
    r->text_len = scratch->len;
    return true;
}

/* The row at *p, "[ts, value]": number, string or null.  *p moves past it
 * and the comma after it; 1 at the end of the rows. */
static int next_row(const char **p, const char *end, struct row *r, sca_buf *scratch,
                    sca_error *err)
{
    const char *q = skip_ws(*p, end);
    if (q < end && *q == ']')
        return 1;
    if (q >= end || *q != '[')
        return bad_page(err, "a row is not [timestamp, value]");
    q = skip_ws(q + 1, end);
    const char *e = sca_json_skip(q, end);
    if (e == NULL || !read_number(q, e, &r->ts))
        return bad_page(err, "a row's timestamp is not a number");
    q = skip_ws(e, end);
    q = q < end && *q == ',' ? skip_ws(q + 1, end) : end;
    e = sca_json_skip(q, end);
    r->is_text = e != NULL && *q == '"';
    r->value = NAN;
    bool ok =
        e != NULL && (r->is_text                                ? read_text(q, e, r, scratch)
                      : e - q == 4 && memcmp(q, "null", 4) == 0 ? true
                                                                : read_number(q, e, &r->value));
    q = ok ? skip_ws(e, end) : end;
    if (q >= end || *q != ']')
        return bad_page(err, "a row's value is not a number, a string or null");
    q = skip_ws(q + 1, end);
    if (q < end && *q == ',')
        q++;
    *p = q;
    return 0;
}

static void append_number(sca_buf *b, double x)
{
    char num[SCA_NUMBER_MAX];
    size_t n = sca_format_number(x, num);
    sca_buf_append(b, num, n);
}

static void append_json_number(sca_buf *b, double x)
{
    char num[SCA_NUMBER_MAX];
    size_t n = sca_format_json_number(x, num);
    sca_buf_append(b, num, n);
}

/* Writes at most max rows of the page as CSV (prefix not NULL) or as JSON
 * array elements (first: no comma before the first). */
static int write_rows(FILE *out, const char *prefix, size_t prefix_len, bool first,
                      const char *rows, size_t len, size_t max, size_t *n, sca_error *err)
{
    const char *p = rows + 1, *end = rows + len;
    sca_buf b = {0}, scratch = {0};
    struct row r = {0};
    int rc = 0;
    *n = 0;
    if (len < 2 || rows[0] != '[')
        rc = bad_page(err, "its data is not an array");
    while (rc == 0 && *n < max && (rc = next_row(&p, end, &r, &scratch, err)) == 0) {
        if (prefix != NULL) {
            sca_buf_append(&b, prefix, prefix_len);
            append_number(&b, r.ts);
            sca_buf_append(&b, ",", 1);
            if (r.is_text)
                report_csv_field(&b, r.text, r.text_len);
            else if (isfinite(r.value))
                append_number(&b, r.value);
            sca_buf_append(&b, "\n", 1);
        } else {
            sca_buf_append(&b, first && *n == 0 ? "[" : ",[", first && *n == 0 ? 1 : 2);
            append_json_number(&b, r.ts);
            sca_buf_append(&b, ",", 1);
            if (r.is_text)
                sca_json_append_string(&b, r.text, r.text_len);
            else
                append_json_number(&b, r.value);
            sca_buf_append(&b, "]", 1);
        }
        (*n)++;
    }
    if (rc == 1)
        rc = 0;
    errno = 0;
    if (rc == 0 && b.len > 0 && fwrite(b.data, 1, b.len, out) != b.len)
        rc = report_write_failed(err, prefix != NULL ? "the CSV output" : "the JSON output");
    sca_buf_free(&b);
    sca_buf_free(&scratch);
    return rc;
}

int report_csv_rows(FILE *out, const char *prefix, size_t prefix_len, const char *rows, size_t len,
                    size_t max, size_t *n, sca_error *err)
{
    return write_rows(out, prefix != NULL ? prefix : "", prefix_len, false, rows, len, max, n, err);
}

int report_json_rows(FILE *out, const char *rows, size_t len, size_t max, size_t written, size_t *n,
                     sca_error *err)
{
    return write_rows(out, NULL, 0, written == 0, rows, len, max, n, err);
}

/* --- A JSON object written around one member ------------------------------ */

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* obj's members before (before true) or after key, in report_json's
 * order, each led by a comma unless it is the first of the object. */
static int write_members(FILE *out, const json_t *obj, const char *key, bool before, sca_error *err)
{
    size_t n = json_object_size(obj), k = 0;
    const char **keys = sca_calloc(n ? n : 1, sizeof(*keys));
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)obj, name, value)
    {
        int order = strcmp(name, key);
        if (before ? order < 0 : order > 0)
            keys[k++] = name;
    }
    qsort(keys, k, sizeof(*keys), compare_keys);
    sca_buf b = {0};
    for (size_t i = 0; i < k; i++) {
        char *dumped = json_dumps(json_object_get(obj, keys[i]),
                                  JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (dumped == NULL) {
            /* jansson fails only on allocation. */
            fputs("scalpels: cannot encode JSON\n", stderr);
            abort();
        }
        if (i > 0 || !before)
            sca_buf_append(&b, ",", 1);
        sca_json_append_string(&b, keys[i], strlen(keys[i]));
        sca_buf_append(&b, ":", 1);
        sca_buf_append(&b, dumped, strlen(dumped));
        free(dumped);
    }
    if (before) {
        if (k > 0)
            sca_buf_append(&b, ",", 1);
        sca_json_append_string(&b, key, strlen(key));
        sca_buf_append(&b, ":", 1);
    } else {
        sca_buf_append(&b, "}", 1);
    }
    free(keys);
    errno = 0;
    int rc = 0;
    if ((before && fputc('{', out) == EOF) || fwrite(b.data, 1, b.len, out) != b.len)
        rc = report_write_failed(err, "the JSON output");
    sca_buf_free(&b);
    return rc;
}

int report_json_open(FILE *out, const json_t *obj, const char *key, sca_error *err)
{
    return write_members(out, obj, key, true, err);
}

int report_json_close(FILE *out, const json_t *obj, const char *key, sca_error *err)
{
    return write_members(out, obj, key, false, err);
}
