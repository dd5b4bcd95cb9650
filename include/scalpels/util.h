/*
 * util.h - small helpers every module uses: allocation that never returns
 * NULL (running out of memory aborts, as in Redis), time, uuids and a growable
 * byte buffer.
 */
#ifndef SCALPELS_UTIL_H
#define SCALPELS_UTIL_H

#include <stdbool.h>
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

/* Makes room for extra more bytes at once, for a buffer whose size is
 * known ahead (no copy each time it would double). */
void sca_buf_reserve(sca_buf *b, size_t extra);
void sca_buf_append(sca_buf *b, const void *p, size_t n);
void sca_buf_appendf(sca_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sca_buf_reset(sca_buf *b);
void sca_buf_free(sca_buf *b);

/* s fit to show on a terminal, in a new string the caller frees: control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 become \xNN, the
 * rest is kept as it is. */
char *sca_escape_text(const char *s);

#define SCA_NUMBER_MAX 32 /* room for a formatted number and its NUL */

/* x as the shortest decimal that reads back as exactly x: the first of
 * printf's %.15g, %.16g and %.17g that does ("0.1", "1763896689.5",
 * "1e+20", "-0", "inf").  Returns its length. */
size_t sca_format_number(double x, char out[SCA_NUMBER_MAX]);
/* The same as a JSON number that reads back as a float: ".0" added to a
 * whole number ("1.0", as jansson writes reals), and null for infinities
 * and NaN, which JSON cannot hold. */
size_t sca_format_json_number(double x, char out[SCA_NUMBER_MAX]);

/* Whether len bytes at s are UTF-8 (no overlong forms, no surrogates). */
bool sca_utf8_valid(const char *s, size_t len);
/* Appends s to out with each byte that starts no valid UTF-8 sequence
 * replaced by U+FFFD: text from programs' output made fit for JSON. */
void sca_utf8_repair(const char *s, size_t len, sca_buf *out);
/* Appends s as a JSON string literal, escaped as jansson escapes (raw
 * UTF-8; \" \\ \b \f \n \r \t, other control characters \u00XX),
 * bytes that are not UTF-8 replaced by U+FFFD. */
void sca_json_append_string(sca_buf *b, const char *s, size_t len);

#define SCA_JSON_DEPTH_MAX 512 /* nesting sca_json_skip follows */

/* The end of the JSON value at p (before end): past a string's closing
 * quote, an object's or array's closing bracket (strings and nesting
 * respected), a literal or a number's characters.  Only the extent is
 * found, not whether the value is valid JSON.  NULL when p starts no
 * value or it does not end before end. */
const char *sca_json_skip(const char *p, const char *end);

/* Parses a whole string as a number; -EINVAL unless all of s is consumed. */
int sca_parse_double(const char *s, double *out);
int sca_parse_int64(const char *s, int64_t *out);

/* Parses a duration such as "30", "30s", "5m", "2h", "7d" into seconds. */
int sca_parse_duration(const char *s, double *out);

/* mkdir -p with the given mode for created components. */
int sca_mkdir_p(const char *path, unsigned mode, sca_error *err);

#endif
