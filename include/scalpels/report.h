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
    bool hosts;                 /* report_summary: say each series' node even
                                   of one reply (sca --all-hosts) */
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

#define REPORT_CLOCK_LEN 40

/* Unix seconds as local time to the second with its offset from UTC,
 * "2026-11-23 11:18:09 +0100", for times a reader may compare across
 * machines (a task's start and end, when a page was made). */
void report_format_clock(double ts, char out[REPORT_CLOCK_LEN]);

/* The shortest decimal that reads back as exactly x ("0.1", "1763896689.5"). */
void report_format_number(double x, char out[32]);

#define REPORT_VALUE_LEN 64

/* x in unit, as a person reads it: at least three significant digits and
 * no exponent between 0.001 and 10^15 ("3.14", "0.0123", "12345679"), and
 *   %                   glued: "12.5%"
 *   B, kB .. EB, byte/s
 *   and those per s     scaled by 1024 to the largest prefix that keeps the
 *                       figure at least 1: 2514520 kB is "2.4 GB", 1.5 kB/s
 *                       "1.5 kB/s", byte/s becomes "B/s"
 *   s, ms, us           to s, ms or us, whichever keeps it at least 1
 *   any other unit      after a space: "3 pkt/s"
 *   NULL, "" or count   the figure alone.
 * The HTML page's script formats chart axes the same way. */
void report_format_value(double x, const char *unit, char out[REPORT_VALUE_LEN]);

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

/* --- A task's series (report_series.c) -------------------------------------
 *
 * The summary and the HTML page show what get_task_series answers
 * (docs/agent.md): each series' summary, its 40-slice spark and its points
 * reduced next to the store, never every sample.  Both take a JSON array
 * of replies, one per node, in the order the nodes are shown:
 *   [{"host": NODE or null, "task": get_task's reply or null,
 *     "series": [{"uuid", "task", "tracer", "name", "unit", "rtype",
 *                 "count", "summary", "spark", "points", "reduced"}, ...]},
 *    ...]
 * One node's report is an array of one reply.  Series from several tasks
 * (sca report -a) go in one reply whose task is null.  With more than one
 * reply, or with the options' hosts set, every line says which node it
 * belongs to. */

/* Checks the shape the renderers rely on (an array of objects with a
 * series array; each series an object with a uuid, a count, an object or
 * null summary, an array or null spark, and points of [number, value]);
 * -EPROTO names what is wrong. */
int report_check_series(const json_t *replies, sca_error *err);

/* What sca report prints by default, one line per series, grouped by
 * tracer (docs/cli.md, "Summary"):
 *   task stopped: 2026-11-23 11:18:09 +0100 to 2026-11-23 11:18:12 +0100 (3 s)
 *   result                                         name  unit  count  min ...
 *   tracer cpu
 *   <result 1b4e28ba-2fa1-11d2-883f-0016d3cca427>  user  %        30  0.5% ...
 * Columns: the "<result UUID>" marker, host (with several replies), name,
 * unit, count, min, avg, max, p95 (report_format_value) and the trend: the
 * sparkline in o->charset, "constant" for a series whose min is its max,
 * narrowed to fit a terminal of o->width columns (0: out's, when out is a
 * terminal; else the full 40).  A log shows its span instead of figures.
 * Write errors return -errno (-EPIPE when the reader went away). */
int report_summary(FILE *out, const json_t *replies, const report_options *o, sca_error *err);

/* --- HTML (report_html.c) ------------------------------------------------ */

#define REPORT_HTML_POINTS 1000        /* points of a chart line at most */
#define REPORT_HTML_POINTS_MIN 100     /* ... and at least, when a page has many lines */
#define REPORT_HTML_POINTS_TOTAL 60000 /* points of all lines of a page together */
#define REPORT_HTML_LOG_ROWS 200       /* lines of a log: its first and last half */
#define REPORT_HTML_MAX_BYTES 3000000  /* a page's size at most */

typedef struct report_html_options {
    size_t points;         /* per chart line at most; 0 = REPORT_HTML_POINTS */
    size_t max_bytes;      /* 0 = REPORT_HTML_MAX_BYTES */
    double generated;      /* unix seconds the page says it was made; 0 = now */
    const char *full_data; /* the command that prints every sample, shown on
                              the page; NULL = "sca report --csv" */
    bool hosts;            /* lay the page out for several nodes even with
                              one reply (sca --all-hosts) */
} report_html_options;

/* Points for each of lines chart lines on one page: REPORT_HTML_POINTS_TOTAL
 * shared out, within [REPORT_HTML_POINTS_MIN, REPORT_HTML_POINTS].  Ask
 * get_task_series for this many (points=) to fetch what the page draws. */
size_t report_html_points(size_t lines);

/* One self-contained HTML page of replies (see "A task's series" above):
 * dygraphs (the Debian package's, built into the program), its CSS and the
 * page's script are inline and nothing is loaded from the network
 * (docs/cli.md, "HTML").  In order: the task (uuid, status, created and
 * stopped with their UTC offset; each node's with several replies), when
 * the page was made, o->full_data as the way to every sample; a summary
 * table grouped by tracer (host, name, unit, count, min, avg, max, p95,
 * last value, an SVG sparkline or "constant"); then a section per tracer:
 *   - a chart per unit, its series as lines with a legend (with several
 *     replies, a chart per series name and unit, a line per node), values
 *     and axis ticks formatted as report_format_value, times of day in the
 *     page maker's time zone; zooming one chart zooms them all;
 *   - series whose min is their max as one line of text per value
 *     ("constant 0 kB/s: eth1.rx_kbps, eth1.tx_kbps"), not a chart;
 *   - each log name a table of its first and last lines, grouped by node,
 *     with a filter box.
 * A line draws at most o->points points and its share of
 * REPORT_HTML_POINTS_TOTAL (report_html_points), thinned as the agent
 * reduces a series when the reply holds more.  The page never exceeds
 * o->max_bytes: a chart, log or summary row that would not fit is left
 * out, and the page says so.  Every string from the data is escaped.
 * o may be NULL (the defaults). */
int report_html(FILE *out, const json_t *replies, const report_html_options *o, sca_error *err);

/* Appends s[0..len) to out with & < > " ' as character references, and CR
 * too (a parser would turn a raw one into LF), so that the text reads back
 * exactly in an element or a quoted attribute. */
void report_html_escape(const char *s, size_t len, sca_buf *out);

/* Appends the start of every page sca writes (report_html,
 * report_compare_html) up to and including </head> to out: the title
 * (escaped), dygraphs' CSS and the page's, then style (a page's own rules
 * over those; NULL: none), dygraphs and its synchronizer, and the page's
 * script.  Once the document is parsed the
 * script draws every chart written as report_html writes them:
 *   <body data-base="UNIX SECONDS" data-tz="UTC OFFSET IN SECONDS"> ...
 *   <figure class="chart" data-unit="UNIT"><figcaption>...</figcaption>
 *   <ol class="lines" hidden><li>LINE NAME</li>...</ol>
 *   <script type="application/json" class="points">
 *     [[[ms after data-base, ...], [value, ...]], ...one per line]</script>
 *   <div class="plot"></div><div class="legend"></div></figure>
 * synchronises their zoom, formats values as report_format_value, filters
 * each table whose id an <input class="filter" data-table="ID"> names (its
 * tr.line rows), and counts on the body: data-charts, data-drawn and
 * data-first-chart-ms (performance.now() when the first was drawn). */
void report_html_head(sca_buf *out, const char *title, const char *style);

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

#endif
