/* error.c - the sca_error idiom (see error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scalpels/error.h"

int sca_error_set(sca_error *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

int sca_error_prefix(sca_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return 0;
    char prefix[SCA_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    size_t mlen = strnlen(err->msg, sizeof(err->msg) - 1);
    if (plen + mlen >= sizeof(err->msg))
        mlen = sizeof(err->msg) - 1 - plen;
    memmove(err->msg + plen, err->msg, mlen);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + mlen] = '\0';
    return err->code;
}

void sca_error_clear(sca_error *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}
