/* report.c - what every report format shares: checking a result's shape,
 * formatting times and numbers, JSON output (see report.h). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
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

/* At least three significant digits and no exponent for everyday
 * magnitudes: "3.14", "0.0123", "12345679", "100". */
#define FIGURE_LEN 32

static void format_figure(double x, char out[FIGURE_LEN])
{
    double a = fabs(x);
    if (a < 1e15 && x == floor(x)) {
        snprintf(out, FIGURE_LEN, "%.0f", x);
        return;
    }
    if (a < 1e-3 || a >= 1e15) {
        snprintf(out, FIGURE_LEN, "%.3g", x);
        return;
    }
    int magnitude = (int)floor(log10(a)); /* 0 for 1..9.99, -2 for 0.0123 */
    int decimals = magnitude >= 2 ? 0 : 2 - magnitude;
    snprintf(out, FIGURE_LEN, "%.*f", decimals, x);
    if (strchr(out, '.') != NULL) {
        char *end = out + strlen(out) - 1;
        while (*end == '0')
            *end-- = '\0';
        if (*end == '.')
            *end = '\0';
    }
}

/* Byte sizes step by 1024, as /proc counts its kB. */
static const char *const size_prefixes[] = {"", "k", "M", "G", "T", "P", "E"};
#define SIZE_PREFIXES (sizeof(size_prefixes) / sizeof(size_prefixes[0]))

/* unit as a byte size ("kB", "MB/s", "byte/s"): the power of 1024 it
 * stands for and what follows the B ("" or "/s"); false for other units. */
static bool size_unit(const char *unit, size_t *power, const char **rest)
{
    if (strcmp(unit, "byte/s") == 0) {
        *power = 0;
        *rest = "/s";
        return true;
    }
    size_t p = 0;
    if (unit[0] != 'B') {
        for (p = 1; p < SIZE_PREFIXES && unit[0] != size_prefixes[p][0]; p++)
            ;
        if (p == SIZE_PREFIXES || unit[1] != 'B')
            return false;
    }
    *rest = unit + (p == 0 ? 1 : 2);
    *power = p;
    return **rest == '\0' || strcmp(*rest, "/s") == 0;
}

/* unit as a time: its size in seconds, or 0 for other units. */
static double time_unit(const char *unit)
{
    if (strcmp(unit, "s") == 0)
        return 1;
    if (strcmp(unit, "ms") == 0)
        return 1e-3;
    if (strcmp(unit, "us") == 0)
        return 1e-6;
    return 0;
}

void report_format_value(double x, const char *unit, char out[REPORT_VALUE_LEN])
{
    char num[FIGURE_LEN];
    size_t power;
    const char *rest;
    double seconds;
    /* A count is a number of things: nothing to add to the figure. */
    if (unit == NULL || unit[0] == '\0' || strcmp(unit, "count") == 0 || !isfinite(x)) {
        format_figure(x, out);
    } else if (strcmp(unit, "%") == 0) {
        format_figure(x, num);
        snprintf(out, REPORT_VALUE_LEN, "%s%%", num);
    } else if (size_unit(unit, &power, &rest)) {
        while (fabs(x) >= 1024 && power + 1 < SIZE_PREFIXES) {
            x /= 1024;
            power++;
        }
        format_figure(x, num);
        snprintf(out, REPORT_VALUE_LEN, "%s %sB%s", num, size_prefixes[power], rest);
    } else if ((seconds = time_unit(unit)) > 0) {
        x *= seconds;
        const char *shown = "s";
        if (x != 0 && fabs(x) < 1e-3) {
            x *= 1e6;
            shown = "us";
        } else if (x != 0 && fabs(x) < 1) {
            x *= 1e3;
            shown = "ms";
        }
        format_figure(x, num);
        snprintf(out, REPORT_VALUE_LEN, "%s %s", num, shown);
    } else {
        format_figure(x, num);
        snprintf(out, REPORT_VALUE_LEN, "%s %.*s", num, REPORT_VALUE_LEN - FIGURE_LEN - 2, unit);
    }
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

void report_format_clock(double ts, char out[REPORT_CLOCK_LEN])
{
    time_t secs = (time_t)floor(ts);
    struct tm tm;
    if (!isfinite(ts) || fabs(ts) > 1e12 || localtime_r(&secs, &tm) == NULL ||
        strftime(out, REPORT_CLOCK_LEN, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
        report_format_number(ts, out);
}

void report_time_of_day(double ts, char out[REPORT_DAYTIME_LEN])
{
    time_t secs = (time_t)floor(ts);
    struct tm tm;
    if (!isfinite(ts) || fabs(ts) > 1e12 || localtime_r(&secs, &tm) == NULL ||
        strftime(out, REPORT_DAYTIME_LEN, "%H:%M:%S", &tm) == 0)
        snprintf(out, REPORT_DAYTIME_LEN, "?");
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
