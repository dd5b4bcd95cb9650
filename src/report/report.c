/* report.c - what every report format shares: checking a result's shape,
 * formatting times and numbers, JSON output (see report.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "report_internal.h"
#include "scalpels/report.h"

void report_window(const report_options *o, size_t *head, size_t *tail)
{
    /* An odd count gives the extra row to the start. */
    *head = (o->rows + 1) / 2;
    *tail = o->rows / 2;
}

size_t report_terminal_width(FILE *out)
{
    struct winsize ws;
    int fd = fileno(out);
    if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return REPORT_DEFAULT_WIDTH;
}

const char *report_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

size_t report_count(const json_t *result)
{
    size_t rows = json_array_size(json_object_get(result, "data"));
    json_t *count = json_object_get(result, "count");
    if (json_is_integer(count) && json_integer_value(count) >= (json_int_t)rows)
        return (size_t)json_integer_value(count);
    return rows;
}

static int check_row(const json_t *row, size_t i, const char *uuid, sca_error *err)
{
    if (!json_is_array(row) || json_array_size(row) != 2 || !json_is_number(json_array_get(row, 0)))
        return sca_error_set(err, -EPROTO, "result %s: data row %zu is not [timestamp, value]",
                             uuid, i);
    return 0;
}

int report_check_result(const json_t *result, sca_error *err)
{
    if (!json_is_object(result) || report_str(result, "uuid") == NULL)
        return sca_error_set(err, -EPROTO, "a result is not an object with a uuid");
    const char *uuid = report_str(result, "uuid");
    json_t *data = json_object_get(result, "data");
    if (!json_is_array(data))
        return sca_error_set(err, -EPROTO, "result %s has no data array", uuid);
    json_t *count = json_object_get(result, "count");
    if (count != NULL && (!json_is_integer(count) || json_integer_value(count) < 0))
        return sca_error_set(err, -EPROTO, "result %s: count is not a number of samples", uuid);
    size_t i;
    json_t *row;
    json_array_foreach(data, i, row)
    {
        int rc = check_row(row, i, uuid, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void report_format_number(double x, char out[32])
{
    sca_format_number(x, out);
}

void report_format_time(double ts, char out[REPORT_TIME_LEN + 8])
{
    const size_t size = REPORT_TIME_LEN + 8;
    /* Beyond what time_t and a four-digit year hold: show the number. */
    if (!isfinite(ts) || fabs(ts) > 1e12) {
        report_format_number(ts, out);
        return;
    }
    double whole = floor(ts);
    long us = lround((ts - whole) * 1e6);
    if (us >= 1000000) {
        whole += 1;
        us -= 1000000;
    }
    time_t t = (time_t)whole;
    struct tm tm;
    size_t n = 0;
    if (localtime_r(&t, &tm) != NULL)
        n = strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
    if (n == 0) {
        report_format_number(ts, out);
        return;
    }
    snprintf(out + n, size - n, ".%06ld", us);
}

void report_value_text(const json_t *value, sca_buf *out)
{
    char num[32];
    if (json_is_string(value)) {
        sca_buf_append(out, json_string_value(value), json_string_length(value));
    } else if (json_is_integer(value)) {
        sca_buf_appendf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    } else if (json_is_real(value)) {
        report_format_number(json_real_value(value), num);
        sca_buf_appendf(out, "%s", num);
    } else if (value != NULL && !json_is_null(value)) {
        /* Not what docs/agent.md promises, but shown rather than hidden. */
        char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s != NULL)
            sca_buf_appendf(out, "%s", s);
        free(s);
    }
    sca_buf_append(out, "", 0);
}

void report_heading(const json_t *result, sca_buf *out)
{
    const char *name = report_str(result, "name");
    const char *unit = report_str(result, "unit");
    if (name == NULL)
        name = report_str(result, "tracer");
    sca_buf_appendf(out, "%s", name != NULL ? name : "value");
    if (unit != NULL && unit[0] != '\0')
        sca_buf_appendf(out, " (%s)", unit);
}

int report_write_failed(sca_error *err, const char *what)
{
    int e = errno != 0 ? errno : EIO;
    return sca_error_set(err, -e, "cannot write %s: %s", what, strerror(e));
}

int report_json_value(FILE *out, const json_t *value, sca_error *err)
{
    errno = 0;
    if (json_dumpf(value, out, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) != 0)
        return report_write_failed(err, "the JSON output");
    return 0;
}

int report_json_text(FILE *out, const char *text, sca_error *err)
{
    errno = 0;
    if (fputs(text, out) == EOF)
        return report_write_failed(err, "the JSON output");
    return 0;
}

int report_json(FILE *out, const json_t *value, sca_error *err)
{
    int rc = report_json_value(out, value, err);
    return rc != 0 ? rc : report_json_text(out, "\n", err);
}
