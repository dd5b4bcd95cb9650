/*
 * report.h - results as people and scripts read them: framed text tables
 * with a summary line and a sparkline, JSON, CSV, and an HTML page of
 * charts.
 *
 * Input is a result object as get_result returns it (docs/agent.md):
 *   {"uuid", "task", "tracer", "name", "unit", "rtype", "count",
 *    "data": [[ts, value], ...], "summary"?: {...}, "spark"?: [...]}
 * "count" may be larger than "data" when only part of the series was
 * fetched: then data holds the first rows followed by the last rows (see
 * report_window).  Older agents send neither count nor summary; both are
 * then taken from data.  docs/cli.md describes every format exactly.
 *
 * This module knows nothing of RPC or the store: it takes jansson values.
 * Functions return 0 or a negative errno code with a message in err.
 */
#ifndef SCALPELS_REPORT_H
#define SCALPELS_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "scalpels/error.h"
#include "scalpels/table.h"
#include "scalpels/util.h"

#define REPORT_DEFAULT_ROWS 20
#define REPORT_DEFAULT_WIDTH 100 /* columns when out is not a terminal */
#define REPORT_TIME_LEN 26       /* "2026-11-23 11:18:09.123456" */

typedef struct report_options {
    size_t rows;                /* table rows per result unless all: first half, last half */
    bool all;                   /* every row */
    bool full;                  /* log values uncut */
    size_t width;               /* cut log values to fit this; 0 = report_terminal_width */
    enum table_charset charset; /* the reader's (table_charset_of_locale):
                                   ellipses and sparkline glyphs */
} report_options;

/* How many rows of a long series the text view shows from its start and
 * from its end; fetch these when not every row is needed. */
void report_window(const report_options *o, size_t *head, size_t *tail);

/* Samples in the whole series: "count", else the rows in "data". */
size_t report_count(const json_t *result);

/* Columns of out's terminal, else REPORT_DEFAULT_WIDTH. */
size_t report_terminal_width(FILE *out);

/* Checks the shape every renderer relies on (uuid, rtype, data rows of
 * [number, value]); -EPROTO names what is wrong. */
int report_check_result(const json_t *result, sca_error *err);

/* "<result UUID>", the (timestamp, value) table, then the summary line. */
int report_text(FILE *out, const json_t *result, const report_options *o, sca_error *err);

/* The summary line alone, without its newline:
 *   streams: "TRACER NAME (UNIT): count N, min X, avg X, max X, p95 X  ▁▃█"
 *   logs:    "TRACER NAME: count N, span S s (FIRST to LAST)"
 * TRACER unless NAME starts with it; (UNIT) only when there is one.  The
 * sparkline is drawn in cs (report_sparkline). */
void report_summary_line(const json_t *result, enum table_charset cs, sca_buf *out);

/* "[TRACER ]NAME[ (UNIT)]": a result or series as the summary line names
 * it, TRACER left out when NAME starts with it.  Appended to out. */
void report_series_label(const json_t *result, sca_buf *out);

/* A figure as the summary line writes it: at least three significant
 * digits and no exponent from 0.001 to 10^15 ("3.14", "0.0123",
 * "12345679", "100"), %.3g outside. */
void report_format_stat(double x, char out[32]);

/* One character per value, scaled from the lowest to the highest, of the
 * eight levels ▁▂▃▄▅▆▇█, or in ASCII _.:-=+*# (a floor, then more ink and
 * height per level); null (an empty time slice) is a space. */
void report_sparkline(const json_t *spark, enum table_charset cs, sca_buf *out);

/* Unix seconds as local time "2026-11-23 11:18:09.123456" (TZ applies). */
void report_format_time(double ts, char out[REPORT_TIME_LEN + 8]);

/* The shortest decimal that reads back as exactly x ("0.1", "1763896689.5"). */
void report_format_number(double x, char out[32]);

/* value as one line: sorted keys, compact, UTF-8.  Write errors return
 * -errno (-EPIPE when the reader went away). */
int report_json(FILE *out, const json_t *value, sca_error *err);
/* The same without the newline, for a value inside a document written in
 * parts (report_json_open). */
int report_json_value(FILE *out, const json_t *value, sca_error *err);
/* Writes text, a piece of such a document ("[", ",", "]\n"), as it is. */
int report_json_text(FILE *out, const char *text, sca_error *err);

/* CSV, RFC 4180 quoting, LF line ends.  The header is
 * "task,result,tracer,name,unit,rtype,ts,value", with a leading "host"
 * column when host is set; each sample is one row, led by the result's
 * "host" member when it has one (results from several agents carry it). */
int report_csv_header(FILE *out, bool host, sca_error *err);
int report_csv(FILE *out, const json_t *result, sca_error *err);

/* The fields every CSV row of result starts with, each followed by a
 * comma: host (when the result has one), task, uuid, tracer, name, unit,
 * rtype. */
void report_csv_prefix(const json_t *result, sca_buf *out);

/* --- Streaming (report_stream.c) -------------------------------------------
 * For --csv and --json output of series too long to hold: each page of
 * get_result(after=...) is written as it arrives, straight from its JSON
 * text, and the JSON document around the pages member by member.  The
 * output is the same as report_csv's and report_json's for the whole
 * result, numbers written by sca_format_number (JSON: sca_format_json_number). */

/* Splits a page, get_result's reply as JSON text, into its members but
 * "data" (*members, a new object) and the text of "data" (*rows, rows_len
 * bytes within text: "[[ts, value], ...]"), with its number of rows in
 * *count.  -EPROTO when the text is not such an object. */
int report_page_split(const char *text, size_t len, json_t **members, const char **rows,
                      size_t *rows_len, size_t *count, sca_error *err);

/* Writes at most max rows of a page's "data" text as CSV rows, each led by
 * prefix (report_csv_prefix); *n: how many.  -EPROTO when a row is not
 * [number, number | string | null]. */
int report_csv_rows(FILE *out, const char *prefix, size_t prefix_len, const char *rows, size_t len,
                    size_t max, size_t *n, sca_error *err);
/* The same as the elements [ts,value] of a JSON array that has written
 * rows already (a comma before each row but the array's first). */
int report_json_rows(FILE *out, const char *rows, size_t len, size_t max, size_t written, size_t *n,
                     sca_error *err);

/* obj as report_json writes it, in two halves around the value of its
 * member key, which the caller writes in between (obj's own value of key,
 * if any, is left out): open writes "{", the members that sort before key
 * and "key":; close the members after it and "}". */
int report_json_open(FILE *out, const json_t *obj, const char *key, sca_error *err);
int report_json_close(FILE *out, const json_t *obj, const char *key, sca_error *err);

/* --- HTML (report_html.c) ------------------------------------------------ */

#define REPORT_HTML_POINTS 2000   /* chart points per series; more are thinned by LTTB */
#define REPORT_HTML_LOG_ROWS 1000 /* table rows per log result: first and last half */

typedef struct report_html_options {
    size_t points;    /* 0 = REPORT_HTML_POINTS; below 3 counts as 3 */
    size_t log_rows;  /* 0 = REPORT_HTML_LOG_ROWS */
    double generated; /* unix seconds the page says it was made; 0 = now */
} report_html_options;

/* One self-contained HTML page: dygraphs (the Debian package's, built into
 * the program), its CSS and every sample are inline, and nothing is loaded
 * from the network.  results is an array of result objects holding every
 * sample (as for report_csv); task is get_task's reply, or NULL when the
 * results do not come from one task.  The page states the task, the time
 * it was generated and every result's summary line; results are grouped
 * by tracer (and by "host" when results carry one).  A stream result is
 * an interactive time-series chart of at most o->points points chosen by
 * report_lttb; a log result a table of (time, text) of at most o->log_rows
 * rows.  Every sample is in the page as CSV (report_csv's rows), offered
 * per result and for the whole page as a download.  Every string from the
 * data is escaped.  o may be NULL (the defaults). */
int report_html(FILE *out, const json_t *task, const json_t *results, const report_html_options *o,
                sca_error *err);

/* Appends s[0..len) to out with & < > " ' as character references, and CR
 * too (a parser would turn a raw one into LF), so that the text reads back
 * exactly in an element or a quoted attribute. */
void report_html_escape(const char *s, size_t len, sca_buf *out);

/* --- Two tasks side by side (report_compare.c) --------------------------- */

#define REPORT_COMPARE_THRESHOLD 10.0 /* percent, the default */

/* Compares two get_task_series replies (docs/agent.md), a the baseline and
 * b the new run, and sets *out to a new object, what 'sca compare --json'
 * prints (docs/cli.md):
 *   {"threshold", "a": {"task", "host", "status", "created", "stopped"},
 *    "b": {...}, "series": [...], "changed", "only_a", "only_b"}
 * Series are matched by tracer, name and host (when they carry one); a
 * series one task has twice is paired in order.  Each entry: {"tracer",
 * "name", "unit", "rtype", "in": "both"|"a"|"b", "a"/"b": {"uuid",
 * "count", "avg"?, "p95"?, "max"?} or null, "change": {stat: percent of
 * a, or null for a change from 0} for each figure both have, "changed":
 * [the stats flagged]}.  A series is flagged when, for avg or p95, both
 * tasks have it and |b - a| > threshold% of |a|, or a is 0 and b is not.
 * A's series come first in A's order, then those only B has.  -EPROTO for
 * a reply of the wrong shape, -EINVAL for a threshold below 0. */
int report_compare(const json_t *a, const json_t *b, double threshold, json_t **out,
                   sca_error *err);

/* The comparison as text: a line per task ("A: task UUID on HOST, created
 * TIME, STATUS"), a table of series, stat, A, B, change and note (a row
 * per figure both tasks have; "changed", "only in A", "only in B"), and
 * the verdict ("1 of 4 series changed by more than 10% in avg or p95"). */
int report_compare_text(FILE *out, const json_t *cmp, enum table_charset cs, sca_error *err);

/* One self-contained HTML page (dygraphs inline, as report_html's): the
 * two tasks, the comparison's table and verdict, and per stream series a
 * chart of A and B over seconds since each task was created, from the
 * replies' (reduced) points.  Strings from the data are escaped. */
int report_compare_html(FILE *out, const json_t *a, const json_t *b, double threshold,
                        sca_error *err);

/* --- OpenMetrics (report_openmetrics.c) ------------------------------------ */

/* Writes stream results as OpenMetrics text while their rows arrive, so
 * that no series has to be held whole.  Each result is a metric of a
 * gauge family (report_om_family) with the labels task, result (its
 * uuid), tracer, name, host (when the result has one) and unit (when it
 * has one); each sample "FAMILY{LABELS} VALUE TIMESTAMP", the timestamp
 * in unix seconds.  A family's metrics must come together: give the
 * results ordered by family.  Of a series' samples in one millisecond
 * (the resolution Prometheus keeps), only the last is written.  The
 * output is valid once report_om_finish has written "# EOF". */
typedef struct report_om report_om;

report_om *report_om_new(FILE *out);
void report_om_free(report_om *om);

/* The family name of a result, appended to out: "scalpels_", the tracer
 * (unless the name starts with it), "_", the name, and "_" and the unit
 * ("%" as "percent") unless the name ends in it; each run of characters
 * outside [A-Za-z0-9_] is one "_".  A unit that is another type's suffix
 * (count, total, sum, ...) is left out (it stays a label). */
void report_om_family(const json_t *result, sca_buf *out);

/* Begins result's metric (result as get_result's reply; its rows come
 * with report_om_rows): its family's "# TYPE NAME gauge", "# UNIT" (when
 * the name carries one) and "# HELP" first when the result before was of
 * another family.  -EINVAL for a log result, or for a family that was
 * written before another one; -EPROTO for a result without a uuid. */
int report_om_begin(report_om *om, const json_t *result, sca_error *err);

/* Writes rows ([[ts, value], ...], in time order) of the result begun;
 * rows whose value is not a number are skipped.  The last sample waits
 * for the next rows, which may share its millisecond. */
int report_om_rows(report_om *om, const json_t *rows, sca_error *err);

/* Writes the waiting sample and "# EOF". */
int report_om_finish(report_om *om, sca_error *err);

/* Samples left out because a later one shared their millisecond. */
size_t report_om_merged(const report_om *om);

/* Largest-triangle-three-buckets downsampling of the line through the n
 * points (x[i], y[i]), x ascending: the first and the last point, and from
 * each of threshold - 2 equal buckets of the points between them the one
 * that makes the largest triangle with the point kept before it and the
 * average of the next bucket, so that peaks and dips survive.  A
 * threshold below 3 counts as 3 (fewer cannot keep both ends and anything
 * between).  Writes the indices kept, ascending, to keep, which needs room
 * for that many, and returns their number: n (every point) when n is at
 * most the threshold, else the threshold. */
size_t report_lttb(const double *x, const double *y, size_t n, size_t threshold, size_t *keep);

#endif
