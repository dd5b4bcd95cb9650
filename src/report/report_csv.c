/* report_csv.c - results as CSV: one row per sample, RFC 4180 quoting,
 * LF line ends (see report.h and docs/cli.md). */
#include <errno.h>
#include <string.h>

#include "report_internal.h"
#include "scalpels/report.h"

void report_csv_field(sca_buf *out, const char *s, size_t len)
{
    bool quote = false;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        sca_buf_append(out, s, len);
        return;
    }
    sca_buf_append(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            sca_buf_append(out, "\"", 1);
        sca_buf_append(out, &s[i], 1);
    }
    sca_buf_append(out, "\"", 1);
}

static void csv_str_field(sca_buf *out, const char *s)
{
    report_csv_field(out, s ? s : "", s ? strlen(s) : 0);
    sca_buf_append(out, ",", 1);
}

int report_csv_header(FILE *out, bool host, sca_error *err)
{
    errno = 0;
    if ((host && fputs("host,", out) == EOF) ||
        fputs("task,result,tracer,name,unit,rtype,ts,value\n", out) == EOF)
        return report_write_failed(err, "the CSV output");
    return 0;
}

void report_csv_prefix(const json_t *result, sca_buf *out)
{
    static const char *const keys[] = {"task", "uuid", "tracer", "name", "unit", "rtype"};
    if (report_str(result, "host") != NULL)
        csv_str_field(out, report_str(result, "host"));
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        csv_str_field(out, report_str(result, keys[k]));
}

int report_csv(FILE *out, const json_t *result, sca_error *err)
{
    int rc = report_check_result(result, err);
    if (rc != 0)
        return rc;
    sca_buf prefix = {0}, line = {0}, value = {0};
    report_csv_prefix(result, &prefix);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(result, "data"), i, row)
    {
        char ts[32];
        report_format_number(json_number_value(json_array_get(row, 0)), ts);
        sca_buf_reset(&line);
        sca_buf_reset(&value);
        report_value_text(json_array_get(row, 1), &value);
        sca_buf_append(&line, prefix.data, prefix.len);
        sca_buf_appendf(&line, "%s,", ts);
        report_csv_field(&line, value.data, value.len);
        sca_buf_append(&line, "\n", 1);
        errno = 0;
        if (fwrite(line.data, 1, line.len, out) != line.len) {
            rc = report_write_failed(err, "the CSV output");
            break;
        }
    }
    sca_buf_free(&prefix);
    sca_buf_free(&line);
    sca_buf_free(&value);
    return rc;
}
