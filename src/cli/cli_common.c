/* cli_common.c - helpers shared by sca and sca-manage (see cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scalpels/util.h"

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
