/* report_internal.h - what the report_*.c files share (see report.h). */
#ifndef SCALPELS_REPORT_INTERNAL_H
#define SCALPELS_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "scalpels/error.h"
#include "scalpels/util.h"

/* A string member, or NULL when it is absent or not a string. */
const char *report_str(const json_t *obj, const char *key);

/* A sample's value as text: shortest exact decimal for numbers, the text
 * itself for strings, "" for null.  Appended to out. */
void report_value_text(const json_t *value, sca_buf *out);

/* "NAME (UNIT)", or "NAME" when the unit is null or empty. */
void report_heading(const json_t *result, sca_buf *out);

/* Appends s as one CSV field: RFC 4180, a field holding a comma, a quote
 * or a line break is quoted, its quotes doubled. */
void report_csv_field(sca_buf *out, const char *s, size_t len);

/* "TRACER NAME", or "NAME" when it starts with the tracer's name ("seq",
 * "needs stderr" of tracer needs) or there is no tracer. */
void report_label(const json_t *result, sca_buf *out);

#define REPORT_DAYTIME_LEN 16

/* Unix seconds as the local time of day, "11:18:09". */
void report_time_of_day(double ts, char out[REPORT_DAYTIME_LEN]);

/* Whether the name already says which tracer the series is from ("seq",
 * "needs stderr" of tracer needs), or there is no tracer to say. */
bool report_names_tracer(const json_t *result);

/* The error of a failed write (errno as set by stdio, else EIO). */
int report_write_failed(sca_error *err, const char *what);

/* NULL-safe string equality. */
bool report_same(const char *a, const char *b);

/* --- Series of get_task_series replies (report_series.c) --- */

/* A series and the node whose reply holds it. */
typedef struct report_item {
    const json_t *series; /* borrowed from the replies */
    const char *host;     /* the reply's "host", or NULL */
    size_t node;          /* the reply's index */
} report_item;

/* Every series of replies (checked by report_check_series) in the order
 * the reports show them: grouped by tracer, tracers in the order they
 * first appear, those with no stream (logs only) last; within a tracer by
 * name, in the order names first appear; the same name on several nodes
 * in node order.  *n of them; the caller
 * frees the array. */
report_item *report_items(const json_t *replies, size_t *n);

bool report_series_is_log(const json_t *series);

/* True, with its value, for a stream whose summary has min equal to max. */
bool report_series_constant(const json_t *series, double *value);

#endif
