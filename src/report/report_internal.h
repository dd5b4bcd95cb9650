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

/* Whether the name already says which tracer the series is from ("seq",
 * "needs stderr" of tracer needs), or there is no tracer to say. */
bool report_names_tracer(const json_t *result);

/* The error of a failed write (errno as set by stdio, else EIO). */
int report_write_failed(sca_error *err, const char *what);

#endif
