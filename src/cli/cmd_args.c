/* cmd_args.c - argument handling that several sca commands share: option
 * errors, tracer lists, uuid prefixes, durations and report options (see
 * cli.h). */
#include <errno.h>
#include <string.h>

#include "sca.h"
#include "scalpels/util.h"

void cli_report_opts_init(cli_report_opts *ro, const cli_global_opts *g)
{
    *ro = (cli_report_opts){
        .format = g->json ? CLI_FORMAT_JSON : CLI_FORMAT_TEXT,
        .text = {.rows = REPORT_DEFAULT_ROWS, .charset = g->charset},
    };
}

static int set_format(cli_report_opts *ro, enum cli_format f)
{
    static const char *const names[] = {[CLI_FORMAT_TEXT] = "text",
                                        [CLI_FORMAT_JSON] = "--json",
                                        [CLI_FORMAT_CSV] = "--csv",
                                        [CLI_FORMAT_HTML] = "--html",
                                        [CLI_FORMAT_OPENMETRICS] = "--openmetrics"};
    if (ro->format != CLI_FORMAT_TEXT && ro->format != f)
        return cli_fail(CLI_USAGE, "%s and %s exclude each other", names[ro->format], names[f]);
    ro->format = f;
    return CLI_OK;
}

int cli_report_opt(cli_report_opts *ro, int opt, const char *arg)
{
    int64_t rows;
    switch (opt) {
    case OPT_JSON:
        return set_format(ro, CLI_FORMAT_JSON);
    case OPT_CSV:
        return set_format(ro, CLI_FORMAT_CSV);
    case OPT_HTML:
        return set_format(ro, CLI_FORMAT_HTML);
    case OPT_OPENMETRICS:
        return set_format(ro, CLI_FORMAT_OPENMETRICS);
    case OPT_FULL:
        ro->text.full = true;
        ro->tables = true;
        return CLI_OK;
    case OPT_ALL:
        ro->text.all = true;
        ro->tables = true;
        return CLI_OK;
    case OPT_ROWS:
        if (sca_parse_int64(arg, &rows) != 0 || rows < 1 || rows > 1000000)
            return cli_fail(CLI_USAGE,
                            "--rows expects a number of rows from 1 to 1000000, not '%s'", arg);
        ro->text.rows = (size_t)rows;
        ro->tables = true;
        return CLI_OK;
    default: /* '?' or ':', printed by cli_getopt */
        return CLI_USAGE;
    }
}

bool cli_names_has(const json_t *names, const char *name, size_t n)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        if (json_string_length(v) == n && memcmp(json_string_value(v), name, n) == 0)
            return true;
    }
    return false;
}

int cli_add_tracers(json_t *names, const char *arg)
{
    const char *p = arg;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (!sca_tracer_name_valid(p, n))
            return cli_fail(CLI_USAGE,
                            "-a expects tracer names separated by commas (" SCA_TRACER_NAME_RULE
                            "), not '%s'",
                            arg);
        if (!cli_names_has(names, p, n))
            json_array_append_new(names, json_stringn(p, n));
        if (p[n] == '\0')
            return CLI_OK;
        p += n + 1;
    }
}

int cli_check_uuid(const char *arg, const char *what)
{
    size_t n = strlen(arg);
    if (n >= SCA_UUID_PREFIX_MIN && n <= SCA_UUID_LEN &&
        strspn(arg, "0123456789abcdefABCDEF-") == n)
        return CLI_OK;
    return cli_fail(CLI_USAGE, "'%s' is not a %s uuid or a prefix of one of at least %d characters",
                    arg, what, SCA_UUID_PREFIX_MIN);
}

int cli_parse_seconds(const char *opt, const char *arg, double *out)
{
    if (sca_parse_duration(arg, out) == 0 && *out > 0)
        return CLI_OK;
    return cli_fail(CLI_USAGE, "%s expects a duration such as 30, 2.5, 90s, 5m, 2h or 1d, not '%s'",
                    opt, arg);
}

const char *cli_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

void cli_join_names(const json_t *names, sca_buf *out)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        const char *name = json_string_value(v);
        sca_buf_appendf(out, "%s%s", i ? ", " : "", name != NULL ? name : "?");
    }
    sca_buf_append(out, "", 0);
}

int cli_printed(int rc, const sca_error *err)
{
    if (rc == -EPIPE)
        return CLI_FAILED;
    return rc == 0 ? CLI_OK : cli_fail(CLI_FAILED, "%s", err->msg);
}
