/* report_openmetrics.c - stream results as OpenMetrics text
 * (https://openmetrics.io), for Prometheus ('promtool tsdb
 * create-blocks-from openmetrics') and the tools that read it: a gauge
 * family per series name, a metric per result, every sample with its
 * timestamp, written as the rows arrive (see report.h, docs/cli.md). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "scalpels/report.h"

/* Suffixes OpenMetrics gives other types' samples: a gauge named so would
 * read as one of those, so a unit that is one stays a label. */
static const char *const reserved_units[] = {"total",  "created", "count", "sum",
                                             "bucket", "gcount",  "gsum",  "info"};

struct report_om {
    FILE *out;
    char **families; /* every family written, the last one open */
    size_t nfamilies;
    bool open;    /* a series was begun */
    bool pending; /* a sample waits: a later one may share its millisecond */
    double ts, value;
    int64_t ms;     /* the pending sample's millisecond */
    sca_buf labels; /* "{...}" of the series begun */
    sca_buf line;
    size_t merged; /* samples left out for a later one in their millisecond */
    int error;     /* errno of the first failed write */
};

report_om *report_om_new(FILE *out)
{
    report_om *om = sca_calloc(1, sizeof(*om));
    om->out = out;
    return om;
}

void report_om_free(report_om *om)
{
    if (om == NULL)
        return;
    for (size_t i = 0; i < om->nfamilies; i++)
        free(om->families[i]);
    free(om->families);
    sca_buf_free(&om->labels);
    sca_buf_free(&om->line);
    free(om);
}

size_t report_om_merged(const report_om *om)
{
    return om->merged;
}

/* s with every run of characters outside [A-Za-z0-9_] as one '_', and no
 * '_' at either end. */
static void append_name_part(sca_buf *out, const char *s)
{
    bool gap = false, any = false;
    for (const char *p = s; p != NULL && *p != '\0'; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!ok) {
            gap = any;
            continue;
        }
        if (gap)
            sca_buf_append(out, "_", 1);
        sca_buf_append(out, &c, 1);
        gap = false;
        any = true;
    }
    sca_buf_append(out, "", 0);
}

/* The unit as a name suffix ("%" is "percent"); empty when there is none
 * or it would read as another type's suffix. */
static void unit_suffix(const json_t *result, sca_buf *out)
{
    const char *unit = report_str(result, "unit");
    if (unit == NULL)
        return;
    append_name_part(out, strcmp(unit, "%") == 0 ? "percent" : unit);
    for (size_t i = 0; i < sizeof(reserved_units) / sizeof(reserved_units[0]) && out->len; i++) {
        if (strcmp(out->data, reserved_units[i]) == 0)
            sca_buf_reset(out);
    }
}

void report_om_family(const json_t *result, sca_buf *out)
{
    size_t start = out->len;
    sca_buf_appendf(out, "scalpels");
    size_t base = out->len;
    sca_buf part = {0};
    if (!report_names_tracer(result)) {
        append_name_part(&part, report_str(result, "tracer"));
        if (part.len > 0)
            sca_buf_appendf(out, "_%s", part.data);
        sca_buf_reset(&part);
    }
    append_name_part(&part, report_str(result, "name"));
    if (part.len > 0)
        sca_buf_appendf(out, "_%s", part.data);
    if (out->len == base)
        sca_buf_appendf(out, "_value");
    sca_buf_reset(&part);
    unit_suffix(result, &part);
    /* "..._ms" stays as it is; else the unit is added. */
    size_t n = out->len - start;
    if (part.len > 0 && !(n > part.len + 1 && out->data[out->len - part.len - 1] == '_' &&
                          strcmp(out->data + out->len - part.len, part.data) == 0))
        sca_buf_appendf(out, "_%s", part.data);
    sca_buf_free(&part);
}

/* A label value or HELP text: backslash, double quote and line feed
 * escaped, as OpenMetrics asks. */
static void append_escaped(sca_buf *out, const char *s)
{
    for (const char *p = s; p != NULL && *p != '\0'; p++) {
        if (*p == '\\')
            sca_buf_append(out, "\\\\", 2);
        else if (*p == '"')
            sca_buf_append(out, "\\\"", 2);
        else if (*p == '\n')
            sca_buf_append(out, "\\n", 2);
        else
            sca_buf_append(out, p, 1);
    }
    sca_buf_append(out, "", 0);
}

static void put(report_om *om, const sca_buf *b)
{
    errno = 0;
    if (om->error == 0 && b->len > 0 && fwrite(b->data, 1, b->len, om->out) != b->len)
        om->error = errno != 0 ? errno : EIO;
}

static int om_error(report_om *om, sca_error *err)
{
    if (om->error == 0 && ferror(om->out))
        om->error = EIO;
    if (om->error == 0)
        return 0;
    errno = om->error;
    return report_write_failed(err, "the OpenMetrics output");
}

/* The pending sample, as "family{labels} value timestamp". */
static void flush_pending(report_om *om)
{
    if (!om->pending)
        return;
    char value[32], ts[32];
    report_format_number(om->value, value);
    report_format_number(om->ts, ts);
    sca_buf_reset(&om->line);
    sca_buf_appendf(&om->line, "%s%s %s %s\n", om->families[om->nfamilies - 1], om->labels.data,
                    value, ts);
    put(om, &om->line);
    om->pending = false;
}

static bool family_written(const report_om *om, const char *name)
{
    for (size_t i = 0; i < om->nfamilies; i++) {
        if (strcmp(om->families[i], name) == 0)
            return true;
    }
    return false;
}

/* # TYPE, # UNIT (when the name carries one) and # HELP of a new family. */
static void family_header(report_om *om, const char *name, const json_t *result)
{
    sca_buf unit = {0};
    unit_suffix(result, &unit);
    sca_buf_reset(&om->line);
    sca_buf_appendf(&om->line, "# TYPE %s gauge\n", name);
    if (unit.len > 0)
        sca_buf_appendf(&om->line, "# UNIT %s %s\n", name, unit.data);
    sca_buf_appendf(&om->line, "# HELP %s Scalpels series ", name);
    sca_buf text = {0};
    report_series_label(result, &text);
    append_escaped(&om->line, text.data);
    sca_buf_appendf(&om->line, "\n");
    put(om, &om->line);
    sca_buf_free(&text);
    sca_buf_free(&unit);
}

static void add_label(sca_buf *labels, const char *name, const char *value)
{
    if (value == NULL)
        return;
    sca_buf_appendf(labels, "%s%s=\"", labels->len > 1 ? "," : "", name);
    append_escaped(labels, value);
    sca_buf_appendf(labels, "\"");
}

int report_om_begin(report_om *om, const json_t *result, sca_error *err)
{
    const char *uuid = report_str(result, "uuid");
    const char *rtype = report_str(result, "rtype");
    if (uuid == NULL)
        return sca_error_set(err, -EPROTO, "a result is not an object with a uuid");
    if (rtype != NULL && strcmp(rtype, "log") == 0)
        return sca_error_set(err, -EINVAL, "result %s is a log: OpenMetrics takes numbers", uuid);
    flush_pending(om);
    sca_buf name = {0};
    report_om_family(result, &name);
    bool same = om->nfamilies > 0 && strcmp(om->families[om->nfamilies - 1], name.data) == 0;
    if (!same && family_written(om, name.data)) {
        int rc = sca_error_set(err, -EINVAL,
                               "result %s: family %s was written before another one (the "
                               "series of a family must come together)",
                               uuid, name.data);
        sca_buf_free(&name);
        return rc;
    }
    if (!same) {
        family_header(om, name.data, result);
        om->families = sca_realloc(om->families, (om->nfamilies + 1) * sizeof(char *));
        om->families[om->nfamilies++] = sca_strdup(name.data);
    }
    sca_buf_free(&name);
    sca_buf_reset(&om->labels);
    sca_buf_append(&om->labels, "{", 1);
    add_label(&om->labels, "task", report_str(result, "task"));
    add_label(&om->labels, "result", uuid);
    add_label(&om->labels, "tracer", report_str(result, "tracer"));
    add_label(&om->labels, "name", report_str(result, "name"));
    add_label(&om->labels, "host", report_str(result, "host"));
    add_label(&om->labels, "unit", report_str(result, "unit"));
    sca_buf_appendf(&om->labels, "}");
    om->open = true;
    return om_error(om, err);
}

/* Prometheus keeps a series' samples in whole milliseconds, as promtool
 * reads a timestamp: the truncated product, in the same double
 * arithmetic. */
static int64_t millisecond(double ts)
{
    return (int64_t)(ts * 1000.0);
}

int report_om_rows(report_om *om, const json_t *rows, sca_error *err)
{
    if (!om->open)
        return sca_error_set(err, -EINVAL, "OpenMetrics rows before their series");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_t *t = json_array_get(row, 0), *v = json_array_get(row, 1);
        if (!json_is_number(t) || !json_is_number(v) || !isfinite(json_number_value(t)) ||
            !isfinite(json_number_value(v)))
            continue;
        double ts = json_number_value(t);
        int64_t ms = millisecond(ts);
        /* Rows come in key order, time ascending: of those in one
         * millisecond, the last is the series' value then. */
        if (om->pending && ms <= om->ms) {
            om->merged++;
        } else {
            flush_pending(om);
            om->ms = ms;
            om->pending = true;
        }
        om->ts = ts;
        om->value = json_number_value(v);
        if (om->error != 0)
            break;
    }
    return om_error(om, err);
}

int report_om_finish(report_om *om, sca_error *err)
{
    flush_pending(om);
    sca_buf_reset(&om->line);
    sca_buf_appendf(&om->line, "# EOF\n");
    put(om, &om->line);
    return om_error(om, err);
}
