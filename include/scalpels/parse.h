/*
 * parse.h - line parsers: how one line of a worker's output becomes samples.
 *
 * A parser reads one line (without its newline) and reports zero or more
 * samples to a sink.  Each sample belongs to a series named by the parser
 * (the "key"); the tracer turns each (tracer, key) into a result.  A line the
 * parser cannot read makes parse_line return -EINVAL and reports nothing; the
 * caller then keeps the raw line in the tracer's log series.
 *
 *   log      every line as text, series "log".
 *   count    one number per line, series "count".
 *   traffic  "<n> pkt/s <n> byte/s": series "pkt/s" and "byte/s".
 *   kv       "key=value key2=value2 ...": one numeric series per key (a key
 *            is [A-Za-z0-9_.:/-]{1,64}, a value a finite number, optionally
 *            followed by its unit, [A-Za-z%/]{1,16}: "user=12.5%").
 *
 * Tokens are separated by any run of space, tab, \r, \v or \f.  Numbers are
 * plain decimal shorter than 64 bytes: no nan, inf or hex.  docs/tracers.md
 * ("Parsers") has the exact rules.
 */
#ifndef SCALPELS_PARSE_H
#define SCALPELS_PARSE_H

#include <stddef.h>

#include "scalpels/error.h"

enum parse_kind { PARSE_NUMBER, PARSE_TEXT };

/* Receives samples, valid only during the call.  number's key is key_len
 * bytes, not NUL-terminated (it may point into the line); unit is a
 * NUL-terminated string or NULL.  text's key is NUL-terminated, its text is
 * len bytes.  A non-zero return stops the line and is passed back. */
typedef struct parse_sink {
    int (*number)(void *ctx, const char *key, size_t key_len, const char *unit, double value);
    int (*text)(void *ctx, const char *key, const char *text, size_t len);
} parse_sink;

typedef struct parser {
    const char *name;
    const char *description;
    enum parse_kind kind; /* what the series hold */
    int (*parse)(const char *line, size_t len, const parse_sink *sink, void *ctx);
} parser;

/* The parser called name, or NULL. */
const parser *parse_find(const char *name);

/* All parsers, for listings and error messages ("log, count, traffic, kv"). */
const parser *const *parse_all(size_t *n);
/* "log, count, traffic, kv" */
const char *parse_names(void);

/* 0 when the line was read, -EINVAL when it could not be, or the sink's
 * non-zero return. */
int parse_line(const parser *p, const char *line, size_t len, const parse_sink *sink, void *ctx);

#endif
