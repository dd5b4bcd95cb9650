/* cli_common.c - helpers shared by sca and sca-manage (see cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scalpels/util.h"

int cli_exit_status(int code)
{
    return code == CLI_HELP ? 0 : code;
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_split_kv(const char *arg, char **key, const char **value)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg)
        return -EINVAL;
    *key = sca_strndup(arg, (size_t)(eq - arg));
    *value = eq + 1;
    return 0;
}

/* "--json=1": getopt reports a long option given a value it does not take
 * as unknown, with optopt set to the option's code, not a character. */
static bool takes_no_value(const struct option *longopts, const char *given)
{
    const char *eq = strchr(given, '=');
    if (strncmp(given, "--", 2) != 0 || eq == NULL)
        return false;
    size_t n = (size_t)(eq - given - 2);
    for (const struct option *o = longopts; o != NULL && o->name != NULL; o++) {
        if (o->has_arg == no_argument && strncmp(o->name, given + 2, n) == 0)
            return true;
    }
    return false;
}

int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               const char *command)
{
    opterr = 0; /* our own words, naming the command */
    int opt = getopt_long(argc, argv, optstring, longopts, NULL);
    if (opt != '?' && opt != ':')
        return opt;
    const char *given = argv[optind - 1];
    /* "PROG: CMD: ..." for a command's options, "PROG: ..." for the program's. */
    char where[80] = "", help[120];
    if (command != NULL) {
        snprintf(where, sizeof(where), "%s: ", command);
        snprintf(help, sizeof(help), "%s %s --help", cli_prog, command);
    } else {
        snprintf(help, sizeof(help), "%s --help", cli_prog);
    }
    if (opt == ':')
        cli_fail(CLI_USAGE, "%soption '%s' needs a value", where, given);
    else if (takes_no_value(longopts, given))
        cli_fail(CLI_USAGE, "%soption '%.*s' takes no value", where,
                 (int)(strchr(given, '=') - given), given);
    else if (optopt > 0 && optopt < 256)
        cli_fail(CLI_USAGE, "%sunknown option '-%c' (see '%s')", where, optopt, help);
    else
        cli_fail(CLI_USAGE, "%sunknown option '%s' (see '%s')", where, given, help);
    return '?';
}

void cli_task_status(const json_t *task, const char *status, sca_buf *out)
{
    sca_buf_appendf(out, "%s", status != NULL ? status : "?");
    json_int_t held = json_integer_value(json_object_get(task, "held"));
    const char *why = json_string_value(json_object_get(task, "held_reason"));
    if (held > 0)
        sca_buf_appendf(out, " (%lld line%s held: %s)", (long long)held, held == 1 ? "" : "s",
                        why != NULL ? why : "?");
}
