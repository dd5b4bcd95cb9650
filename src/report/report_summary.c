/* report_summary.c - the one summary line per series: count, min, avg,
 * max, p95 and a sparkline for streams; count and time span for logs (see
 * report.h).  The agent computes the summary (get_result summary=true);
 * when a result comes without one and holds every sample, it is computed
 * here the same way. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "scalpels/report.h"
#include "scalpels/vocab.h"

#define SPARK_LEVELS 8

static const char *const spark_utf8[SPARK_LEVELS] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
static const char *const spark_ascii[SPARK_LEVELS] = {"_", ".", ":", "-", "=", "+", "*", "#"};

void report_sparkline(const json_t *spark, enum table_charset cs, sca_buf *out)
{
    const char *const *levels = cs == TABLE_ASCII ? spark_ascii : spark_utf8;
    double lo = INFINITY, hi = -INFINITY;
    size_t i;
    json_t *v;
    json_array_foreach(spark, i, v)
    {
        if (json_is_number(v)) {
            lo = fmin(lo, json_number_value(v));
            hi = fmax(hi, json_number_value(v));
        }
    }
    json_array_foreach(spark, i, v)
    {
        if (!json_is_number(v)) {
            sca_buf_append(out, " ", 1);
            continue;
        }
        /* A flat series is drawn at the lowest level. */
        long top = SPARK_LEVELS - 1;
        long level = hi > lo ? lround((json_number_value(v) - lo) / (hi - lo) * (double)top) : 0;
        sca_buf_appendf(out, "%s", levels[level < 0 ? 0 : level > top ? top : level]);
    }
    sca_buf_append(out, "", 0);
}

void report_format_stat(double x, char out[32])
{
    double a = fabs(x);
    if (a < 1e15 && x == floor(x)) {
        snprintf(out, 32, "%.0f", x);
        return;
    }
    if (a < 1e-3 || a >= 1e15) {
        snprintf(out, 32, "%.3g", x);
        return;
    }
    int magnitude = (int)floor(log10(a)); /* 0 for 1..9.99, -2 for 0.0123 */
    int decimals = magnitude >= 2 ? 0 : 2 - magnitude;
    snprintf(out, 32, "%.*f", decimals, x);
    if (strchr(out, '.') != NULL) {
        char *end = out + strlen(out) - 1;
        while (*end == '0')
            *end-- = '\0';
        if (*end == '.')
            *end = '\0';
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Averages of SCA_SPARK_SLICES equal time slices (fewer for short series). */
static json_t *spark_from_data(const json_t *data, double first, double last)
{
    size_t n = json_array_size(data);
    size_t slices = n < SCA_SPARK_SLICES ? n : SCA_SPARK_SLICES;
    if (last <= first)
        slices = n > 0 ? 1 : 0;
    double *sum = sca_calloc(slices + 1, sizeof(double));
    size_t *cnt = sca_calloc(slices + 1, sizeof(size_t));
    size_t i;
    json_t *row;
    json_array_foreach(data, i, row)
    {
        double ts = json_number_value(json_array_get(row, 0));
        size_t s = last > first ? (size_t)((ts - first) / (last - first) * (double)slices) : 0;
        if (s >= slices)
            s = slices - 1;
        sum[s] += json_number_value(json_array_get(row, 1));
        cnt[s]++;
    }
    json_t *spark = json_array();
    for (size_t s = 0; s < slices; s++)
        json_array_append_new(spark, cnt[s] ? json_real(sum[s] / (double)cnt[s]) : json_null());
    free(sum);
    free(cnt);
    return spark;
}

/* The summary the agent would have sent, from every sample at hand. */
static json_t *summary_from_data(const json_t *result, bool stream)
{
    json_t *data = json_object_get(result, "data");
    size_t n = json_array_size(data);
    json_t *s = json_pack("{s:I}", "count", (json_int_t)n);
    if (n == 0)
        return s;
    double first = json_number_value(json_array_get(json_array_get(data, 0), 0));
    double last = json_number_value(json_array_get(json_array_get(data, n - 1), 0));
    json_object_set_new(s, "first", json_real(first));
    json_object_set_new(s, "last", json_real(last));
    if (!stream)
        return s;
    double *v = sca_malloc(n * sizeof(double));
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = json_number_value(json_array_get(json_array_get(data, i), 1));
        total += v[i];
    }
    qsort(v, n, sizeof(double), compare_doubles);
    size_t rank = (size_t)ceil(0.95 * (double)n); /* nearest rank */
    json_object_set_new(s, "min", json_real(v[0]));
    json_object_set_new(s, "max", json_real(v[n - 1]));
    json_object_set_new(s, "avg", json_real(total / (double)n));
    json_object_set_new(s, "p95", json_real(v[rank > 0 ? rank - 1 : 0]));
    json_object_set_new(s, "spark", spark_from_data(data, first, last));
    free(v);
    return s;
}

static void append_stat(sca_buf *out, const char *label, const json_t *summary, const char *unit)
{
    json_t *v = json_object_get(summary, label);
    char text[REPORT_VALUE_LEN];
    if (!json_is_number(v))
        return;
    report_format_value(json_number_value(v), unit, text);
    sca_buf_appendf(out, ", %s %s", label, text);
}

static void stream_line(const json_t *result, const json_t *summary, enum table_charset cs,
                        sca_buf *out)
{
    const char *unit = report_str(result, "unit");
    append_stat(out, "min", summary, unit);
    append_stat(out, "avg", summary, unit);
    append_stat(out, "max", summary, unit);
    append_stat(out, "p95", summary, unit);
    json_t *spark = json_object_get(summary, "spark");
    if (!json_is_array(spark))
        spark = json_object_get(result, "spark");
    if (json_array_size(spark) > 0) {
        sca_buf_append(out, "  ", 2);
        report_sparkline(spark, cs, out);
    }
}

static void log_line(const json_t *summary, sca_buf *out)
{
    json_t *first = json_object_get(summary, "first");
    json_t *last = json_object_get(summary, "last");
    if (!json_is_number(first) || !json_is_number(last))
        return;
    char span[REPORT_VALUE_LEN], t1[REPORT_TIME_LEN + 8], t2[REPORT_TIME_LEN + 8];
    report_format_value(json_number_value(last) - json_number_value(first), "s", span);
    report_format_time(json_number_value(first), t1);
    report_format_time(json_number_value(last), t2);
    sca_buf_appendf(out, ", span %s (%s to %s)", span, t1, t2);
}

bool report_names_tracer(const json_t *result)
{
    const char *tracer = report_str(result, "tracer");
    const char *name = report_str(result, "name");
    if (tracer == NULL || name == NULL)
        return true;
    size_t n = strlen(tracer);
    return strncmp(name, tracer, n) == 0 && !isalnum((unsigned char)name[n]);
}

void report_label(const json_t *result, sca_buf *out)
{
    const char *name = report_str(result, "name");
    const char *tracer = report_str(result, "tracer");
    if (!report_names_tracer(result))
        sca_buf_appendf(out, "%s ", tracer);
    sca_buf_appendf(out, "%s", name != NULL ? name : tracer != NULL ? tracer : "value");
}

void report_series_label(const json_t *result, sca_buf *out)
{
    if (!report_names_tracer(result))
        sca_buf_appendf(out, "%s ", report_str(result, "tracer"));
    report_heading(result, out);
}

void report_summary_line(const json_t *result, enum table_charset cs, sca_buf *out)
{
    const char *rtype = report_str(result, "rtype");
    bool stream = rtype == NULL || strcmp(rtype, "log") != 0;
    json_t *summary = json_incref(json_object_get(result, "summary"));
    size_t count = report_count(result);
    if (!json_is_object(summary) && count == json_array_size(json_object_get(result, "data"))) {
        json_decref(summary);
        summary = summary_from_data(result, stream);
    }
    report_label(result, out);
    const char *unit = report_str(result, "unit");
    if (unit != NULL && unit[0] != '\0')
        sca_buf_appendf(out, " (%s)", unit);
    sca_buf_appendf(out, ": count %zu", count);
    if (count > 0 && json_is_object(summary)) {
        if (stream)
            stream_line(result, summary, cs, out);
        else
            log_line(summary, out);
    }
    /* Empty time slices at the end would be trailing blanks. */
    while (out->len > 0 && out->data[out->len - 1] == ' ')
        out->data[--out->len] = '\0';
    json_decref(summary);
}
