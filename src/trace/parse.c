/*
 * parse.c - the line parsers (see parse.h).
 *
 * These run once per line a worker prints, hundreds of thousands of times a
 * second, so they allocate nothing, walk each line a bounded number of times
 * and never assume a NUL terminator: a line is (pointer, length) and may hold
 * NUL bytes, which no numeric token accepts.  A line is validated completely
 * before the first sample is reported, so a rejected line reports nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scalpels/parse.h"

#define PARSE_NUMBER_MAX 64 /* a number token is shorter than this */
#define PARSE_KEY_MAX 64    /* longest kv key */
#define PARSE_KV_CACHE 64   /* kv values kept from the checking pass */
#define PARSE_UNIT_MAX 16   /* longest kv unit */

enum { CH_SPACE = 1, CH_NUMBER = 2, CH_KEY = 4, CH_UNIT = 8 };

/* Byte classes.  Whitespace is ASCII whitespace except '\n', which never
 * belongs in a line.  Numbers are plain decimal: hex floats, nan and inf are
 * refused before strtod sees them, and so is the whitespace it would skip. */
static const unsigned char char_class[256] = {
    [' '] = CH_SPACE,
    ['\t'] = CH_SPACE,
    ['\r'] = CH_SPACE,
    ['\v'] = CH_SPACE,
    ['\f'] = CH_SPACE,
    ['0' ... '9'] = CH_NUMBER | CH_KEY,
    ['+'] = CH_NUMBER,
    ['-'] = CH_NUMBER | CH_KEY,
    ['.'] = CH_NUMBER | CH_KEY,
    ['e'] = CH_NUMBER | CH_KEY | CH_UNIT,
    ['E'] = CH_NUMBER | CH_KEY | CH_UNIT,
    ['a' ... 'd'] = CH_KEY | CH_UNIT,
    ['f' ... 'z'] = CH_KEY | CH_UNIT,
    ['A' ... 'D'] = CH_KEY | CH_UNIT,
    ['F' ... 'Z'] = CH_KEY | CH_UNIT,
    ['_'] = CH_KEY,
    [':'] = CH_KEY,
    ['/'] = CH_KEY | CH_UNIT,
    ['%'] = CH_UNIT,
};

static int char_is(char c, int cls)
{
    return char_class[(unsigned char)c] & cls;
}

/* The next whitespace-separated token in [*p, end): 1 and the token, or 0
 * when only whitespace is left. */
static int next_token(const char **p, const char *end, const char **tok, size_t *len)
{
    const char *s = *p;
    while (s < end && char_is(*s, CH_SPACE))
        s++;
    const char *t = s;
    while (t < end && !char_is(*t, CH_SPACE))
        t++;
    *p = t;
    *tok = s;
    *len = (size_t)(t - s);
    return t > s;
}

/* All of [s, s + len) as one finite number.  strtod needs a NUL-terminated
 * string, so the token is copied to the stack; over-long tokens are refused. */
static int parse_number(const char *s, size_t len, double *out)
{
    char buf[PARSE_NUMBER_MAX];
    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!char_is(s[i], CH_NUMBER))
            return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

static int read_number(const char **p, const char *end, double *out)
{
    const char *tok;
    size_t len;
    if (!next_token(p, end, &tok, &len))
        return -EINVAL;
    return parse_number(tok, len, out);
}

static int read_word(const char **p, const char *end, const char *word)
{
    const char *tok;
    size_t len;
    if (!next_token(p, end, &tok, &len) || len != strlen(word) || memcmp(tok, word, len) != 0)
        return -EINVAL;
    return 0;
}

static int at_end(const char *p, const char *end)
{
    const char *tok;
    size_t len;
    return !next_token(&p, end, &tok, &len);
}

/* ---- log ---------------------------------------------------------------- */

static int parse_log(const char *line, size_t len, const parse_sink *sink, void *ctx)
{
    return sink->text(ctx, "log", line, len);
}

/* ---- count -------------------------------------------------------------- */

static int parse_count(const char *line, size_t len, const parse_sink *sink, void *ctx)
{
    const char *p = line, *end = line + len;
    double v;
    if (read_number(&p, end, &v) != 0 || !at_end(p, end))
        return -EINVAL;
    return sink->number(ctx, "count", 5, "count", v);
}

/* ---- traffic ------------------------------------------------------------ */

static int parse_traffic(const char *line, size_t len, const parse_sink *sink, void *ctx)
{
    const char *p = line, *end = line + len;
    double pkts, bytes;
    if (read_number(&p, end, &pkts) != 0 || read_word(&p, end, "pkt/s") != 0 ||
        read_number(&p, end, &bytes) != 0 || read_word(&p, end, "byte/s") != 0 || !at_end(p, end))
        return -EINVAL;
    int rc = sink->number(ctx, "pkt/s", 5, "pkt/s", pkts);
    return rc != 0 ? rc : sink->number(ctx, "byte/s", 6, "byte/s", bytes);
}

/* ---- kv ----------------------------------------------------------------- */

/* Checks that tok is key=... with a valid key; *key_len is the key's length
 * and the value follows the '='. */
static int kv_split(const char *tok, size_t len, size_t *key_len)
{
    const char *eq = memchr(tok, '=', len);
    if (eq == NULL || eq == tok || (size_t)(eq - tok) > PARSE_KEY_MAX)
        return -EINVAL;
    for (const char *c = tok; c < eq; c++)
        if (!char_is(*c, CH_KEY))
            return -EINVAL;
    *key_len = (size_t)(eq - tok);
    return 0;
}

/* Where the unit of the value after key= starts: the value is a number,
 * then optionally its unit glued to it ("12.5%", "2048kB").  The number is
 * the run of number characters, so a unit never starts with e or E (it
 * would read as an exponent). */
static size_t kv_unit_at(const char *tok, size_t len, size_t key_len)
{
    size_t at = key_len + 1;
    while (at < len && char_is(tok[at], CH_NUMBER))
        at++;
    return at;
}

static int kv_value(const char *tok, size_t len, size_t key_len, double *out)
{
    size_t unit_at = kv_unit_at(tok, len, key_len);
    if (len - unit_at > PARSE_UNIT_MAX)
        return -EINVAL;
    for (size_t i = unit_at; i < len; i++)
        if (!char_is(tok[i], CH_UNIT))
            return -EINVAL;
    return parse_number(tok + key_len + 1, unit_at - key_len - 1, out);
}

/* First pass: every token must be a valid pair.  The first values are kept
 * so the second pass need not run strtod on them again. */
static int kv_check(const char *line, size_t len, double *cache, size_t *npairs)
{
    const char *p = line, *end = line + len, *tok;
    size_t tok_len, key_len, n = 0;
    double v;
    while (next_token(&p, end, &tok, &tok_len)) {
        if (kv_split(tok, tok_len, &key_len) != 0 || kv_value(tok, tok_len, key_len, &v) != 0)
            return -EINVAL;
        if (n < PARSE_KV_CACHE)
            cache[n] = v;
        n++;
    }
    *npairs = n;
    return n > 0 ? 0 : -EINVAL;
}

/* Second pass over a line kv_check accepted, so nothing here can fail. */
static int kv_emit(const char *line, size_t len, const double *cache, const parse_sink *sink,
                   void *ctx)
{
    const char *p = line, *end = line + len, *tok;
    size_t tok_len, key_len = 0;
    double v = 0;
    char unit[PARSE_UNIT_MAX + 1];
    int rc = 0;
    for (size_t i = 0; rc == 0 && next_token(&p, end, &tok, &tok_len); i++) {
        kv_split(tok, tok_len, &key_len);
        if (i < PARSE_KV_CACHE)
            v = cache[i];
        else
            kv_value(tok, tok_len, key_len, &v);
        size_t unit_at = kv_unit_at(tok, tok_len, key_len);
        memcpy(unit, tok + unit_at, tok_len - unit_at);
        unit[tok_len - unit_at] = '\0';
        rc = sink->number(ctx, tok, key_len, unit_at < tok_len ? unit : NULL, v);
    }
    return rc;
}

static int parse_kv(const char *line, size_t len, const parse_sink *sink, void *ctx)
{
    double cache[PARSE_KV_CACHE];
    size_t npairs;
    if (kv_check(line, len, cache, &npairs) != 0)
        return -EINVAL;
    return kv_emit(line, len, cache, sink, ctx);
}

/* ---- registry ----------------------------------------------------------- */

static const parser parser_log = {"log", "every line as text (series \"log\")", PARSE_TEXT,
                                  parse_log};
static const parser parser_count = {"count", "one number per line (series \"count\")", PARSE_NUMBER,
                                    parse_count};
static const parser parser_traffic = {"traffic",
                                      "\"<n> pkt/s <n> byte/s\" (series \"pkt/s\" and \"byte/s\")",
                                      PARSE_NUMBER, parse_traffic};
static const parser parser_kv = {"kv", "\"key=value ...\" (one series per key)", PARSE_NUMBER,
                                 parse_kv};

static const parser *const parsers[] = {&parser_log, &parser_count, &parser_traffic, &parser_kv};

const parser *parse_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++)
        if (strcmp(parsers[i]->name, name) == 0)
            return parsers[i];
    return NULL;
}

const parser *const *parse_all(size_t *n)
{
    if (n != NULL)
        *n = sizeof(parsers) / sizeof(parsers[0]);
    return parsers;
}

const char *parse_names(void)
{
    return "log, count, traffic, kv";
}

int parse_line(const parser *p, const char *line, size_t len, const parse_sink *sink, void *ctx)
{
    if (p == NULL || sink == NULL || (line == NULL && len > 0))
        return -EINVAL;
    return p->parse(line == NULL ? "" : line, len, sink, ctx);
}
