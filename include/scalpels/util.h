/*
 * util.h - small helpers every module uses: allocation that never returns
 * NULL (running out of memory aborts, as in Redis), time, uuids and a growable
 * byte buffer.
 */
#ifndef SCALPELS_UTIL_H
#define SCALPELS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "scalpels/error.h"

#define SCA_UUID_LEN 36 /* canonical text form, without the NUL */
#define SCA_UUID_HEX_LEN 32

void *sca_malloc(size_t n);
void *sca_calloc(size_t count, size_t n);
void *sca_realloc(void *p, size_t n);
char *sca_strdup(const char *s);
char *sca_strndup(const char *s, size_t n);
/* printf into a new string; the caller frees it. */
char *sca_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wall-clock time as unix seconds with microsecond resolution. */
double sca_now(void);
/* Monotonic seconds, for durations and timeouts. */
double sca_monotonic(void);

/* A fresh random uuid4: canonical (8-4-4-4-12) or 32 hex digits. */
void sca_uuid_new(char out[SCA_UUID_LEN + 1]);
void sca_uuid_hex_new(char out[SCA_UUID_HEX_LEN + 1]);

/* Growable buffer; data is always NUL-terminated after a successful append. */
typedef struct sca_buf {
    char *data;
    size_t len;
    size_t cap;
} sca_buf;

void sca_buf_append(sca_buf *b, const void *p, size_t n);
void sca_buf_appendf(sca_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sca_buf_reset(sca_buf *b);
void sca_buf_free(sca_buf *b);

/* s fit to show on a terminal, in a new string the caller frees: control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 become \xNN, the
 * rest is kept as it is. */
char *sca_escape_text(const char *s);

/* Parses a whole string as a number; -EINVAL unless all of s is consumed. */
int sca_parse_double(const char *s, double *out);
int sca_parse_int64(const char *s, int64_t *out);

/* Parses a duration such as "30", "30s", "5m", "2h", "7d" into seconds. */
int sca_parse_duration(const char *s, double *out);

/* mkdir -p with the given mode for created components. */
int sca_mkdir_p(const char *path, unsigned mode, sca_error *err);

#endif
