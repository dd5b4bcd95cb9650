/* util.c - allocation, time, uuids, buffers and number parsing (see util.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uuid/uuid.h>

#include "scalpels/util.h"

static void *check_alloc(void *p)
{
    if (p == NULL) {
        fputs("scalpels: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *sca_malloc(size_t n)
{
    return check_alloc(malloc(n ? n : 1));
}

void *sca_calloc(size_t count, size_t n)
{
    return check_alloc(calloc(count ? count : 1, n ? n : 1));
}

void *sca_realloc(void *p, size_t n)
{
    return check_alloc(realloc(p, n ? n : 1));
}

char *sca_strdup(const char *s)
{
    return check_alloc(strdup(s));
}

char *sca_strndup(const char *s, size_t n)
{
    return check_alloc(strndup(s, n));
}

char *sca_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        check_alloc(NULL);
    return out;
}

double sca_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6;
}

double sca_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sca_uuid_new(char out[SCA_UUID_LEN + 1])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

void sca_uuid_hex_new(char out[SCA_UUID_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uuid_t u;
    uuid_generate_random(u);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[u[i] >> 4];
        out[2 * i + 1] = hex[u[i] & 15];
    }
    out[SCA_UUID_HEX_LEN] = '\0';
}

static void buf_reserve(sca_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = sca_realloc(b->data, cap);
    b->cap = cap;
}

void sca_buf_reserve(sca_buf *b, size_t extra)
{
    buf_reserve(b, extra);
}

void sca_buf_append(sca_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sca_buf_appendf(sca_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sca_buf_reset(sca_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void sca_buf_free(sca_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int sca_parse_double(const char *s, double *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || end == s || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

int sca_parse_int64(const char *s, int64_t *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s)
        return -EINVAL;
    *out = v;
    return 0;
}

int sca_parse_duration(const char *s, double *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v) || v < 0)
        return -EINVAL;
    double mult = 1;
    if (*end != '\0') {
        switch (*end) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        default:
            return -EINVAL;
        }
        if (end[1] != '\0')
            return -EINVAL;
    }
    *out = v * mult;
    return 0;
}

int sca_mkdir_p(const char *path, unsigned mode, sca_error *err)
{
    char *copy = sca_strdup(path);
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, mode) != 0 && errno != EEXIST) {
            rc =
                sca_error_set(err, -errno, "cannot create directory %s: %s", copy, strerror(errno));
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return rc;
}
