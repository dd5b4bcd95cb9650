/* report_text.c - a result as the original prototype printed it, "<result
 * UUID>" and a framed (timestamp, value) table, shortened to the first and
 * last rows of long series, then its summary line (see report.h). */
#include <errno.h>
#include <string.h>

#include "report_internal.h"
#include "scalpels/report.h"
#include "scalpels/table.h"

/* "| " + timestamp + " | " + value + " |" */
#define FRAME_COLUMNS 7
#define MIN_VALUE_WIDTH 16

static void add_row(table *t, const json_t *row)
{
    char ts[REPORT_TIME_LEN + 8];
    sca_buf value = {0};
    report_format_time(json_number_value(json_array_get(row, 0)), ts);
    report_value_text(json_array_get(row, 1), &value);
    const char *cells[] = {ts, value.data};
    table_add_row(t, cells);
    sca_buf_free(&value);
}

static void add_rows(table *t, const json_t *data, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        add_row(t, json_array_get(data, i));
}

/* Fills the table; returns how many rows of the series it leaves out. */
static size_t fill(table *t, const json_t *result, const report_options *o)
{
    const json_t *data = json_object_get(result, "data");
    size_t n = json_array_size(data);
    size_t count = report_count(result);
    const char *ellipsis = table_ellipsis(o->charset);
    const char *const gap[] = {ellipsis, ellipsis};
    if (o->all || count <= o->rows) {
        add_rows(t, data, 0, n);
        if (n < count)
            table_add_row(t, gap);
        return count - n;
    }
    size_t head, tail;
    report_window(o, &head, &tail);
    if (head > n)
        head = n;
    if (tail > n - head)
        tail = n - head;
    add_rows(t, data, 0, head);
    table_add_row(t, gap);
    add_rows(t, data, n - tail, n);
    return count - head - tail;
}

static size_t value_width(const report_options *o, FILE *out)
{
    size_t width = o->width > 0 ? o->width : report_terminal_width(out);
    if (width < REPORT_TIME_LEN + FRAME_COLUMNS + MIN_VALUE_WIDTH)
        return MIN_VALUE_WIDTH;
    return width - REPORT_TIME_LEN - FRAME_COLUMNS;
}

int report_text(FILE *out, const json_t *result, const report_options *o, sca_error *err)
{
    int rc = report_check_result(result, err);
    if (rc != 0)
        return rc;
    const char *rtype = report_str(result, "rtype");
    bool log = rtype != NULL && strcmp(rtype, "log") == 0;
    sca_buf heading = {0};
    report_heading(result, &heading);
    const char *headers[] = {"timestamp", heading.data};
    table *t = table_new(2, headers);
    table_set_charset(t, o->charset);
    if (!log)
        table_set_align(t, 1, TABLE_RIGHT);
    else if (!o->full)
        table_set_max_width(t, 1, value_width(o, out));
    size_t hidden = fill(t, result, o);

    errno = 0;
    fprintf(out, "<result %s>\n", report_str(result, "uuid"));
    table_print(t, out);
    if (hidden > 0)
        fprintf(out, "%s %zu more row%s%s\n", table_ellipsis(o->charset), hidden,
                hidden == 1 ? "" : "s", o->all ? "" : " (--all shows every row)");
    sca_buf_reset(&heading);
    report_summary_line(result, o->charset, &heading);
    fprintf(out, "%s\n", heading.data);
    table_free(t);
    sca_buf_free(&heading);
    if (ferror(out))
        return report_write_failed(err, "the report");
    return 0;
}
