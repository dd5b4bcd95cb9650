/* rpc_json.c - fast paths for the JSON of oslo envelopes (see rpc_json.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_json.h"

#define INLINE_MAX 256

/* --- Reading --------------------------------------------------------------- */

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int hex4(const char *p, const char *end, uint32_t *out)
{
    uint32_t v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

size_t rpc_json_unescape_one(const char *p, const char *end, char *out, size_t *o)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p >= end)
        return 0;
    const char *hit = *p != '\0' ? strchr(from, *p) : NULL;
    if (hit != NULL) {
        out[(*o)++] = to[hit - from];
        return 1;
    }
    uint32_t cp, lo;
    if (*p != 'u' || hex4(p + 1, end, &cp) != 0 || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
        return 0;
    if (cp < 0xD800 || cp > 0xDBFF) {
        *o += put_utf8(out + *o, cp);
        return 5;
    }
    if (end - p < 11 || p[5] != '\\' || p[6] != 'u' || hex4(p + 7, end, &lo) != 0 || lo < 0xDC00 ||
        lo > 0xDFFF)
        return 0;
    *o += put_utf8(out + *o, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
    return 11;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* The string at p (its opening quote) unescaped into *out (malloc'd when
 * longer than the caller's inline buffer); returns the input after the
 * closing quote, or NULL. */
static const char *read_string(const char *p, const char *end, char *inline_buf, char **out,
                               size_t *out_len)
{
    const char *q = ++p;
    while (q < end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= end)
        return NULL;
    /* Unescaping never grows the text. */
    size_t cap = (size_t)(q - p);
    char *buf = cap < INLINE_MAX ? inline_buf : sca_malloc(cap + 1);
    size_t o = 0;
    while (p < q) {
        unsigned char c = (unsigned char)*p;
        size_t used = 1;
        if (c < 0x20)
            used = 0;
        else if (c != '\\')
            buf[o++] = (char)c;
        else if ((used = rpc_json_unescape_one(p + 1, q, buf, &o)) != 0)
            used++;
        if (used == 0) {
            if (buf != inline_buf)
                free(buf);
            return NULL;
        }
        p += used;
    }
    *out = buf;
    *out_len = o;
    return q + 1;
}

static bool literal(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

/* The value at p as a new reference, *next after it; NULL when the fast
 * path does not take it. */
static json_t *read_value(const char *p, const char *end, const char **next)
{
    if (p >= end)
        return NULL;
    if (*p == '"') {
        char small[INLINE_MAX], *s;
        size_t n;
        *next = read_string(p, end, small, &s, &n);
        if (*next == NULL)
            return NULL;
        json_t *v = json_stringn(s, n); /* NULL on invalid UTF-8 */
        if (s != small)
            free(s);
        return v;
    }
    static const struct {
        const char *word;
        json_t *(*make)(void);
    } words[] = {{"null", json_null}, {"true", json_true}, {"false", json_false}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (literal(p, end, words[i].word)) {
            *next = p + strlen(words[i].word);
            return words[i].make();
        }
    }
    bool nested = *p == '{' || *p == '[';
    const char *e = sca_json_skip(p, end);
    if (e == NULL)
        return NULL;
    *next = e;
    return json_loadb(p, (size_t)(e - p), nested ? 0 : JSON_DECODE_ANY, NULL);
}

/* What rpc_json_load_object_keep leaves as text. */
struct kept {
    const char *key; /* NULL: none */
    const char *text;
    size_t len;
};

/* One "key": value member into obj (or, for the kept key, its span into
 * keep); the input after it, or NULL. */
static const char *read_member(json_t *obj, const char *p, const char *end, struct kept *keep)
{
    char small[INLINE_MAX], *key;
    size_t klen;
    if (p >= end || *p != '"' || (p = read_string(p, end, small, &key, &klen)) == NULL)
        return NULL;
    p = skip_ws(p, end);
    if (keep->key != NULL && klen == strlen(keep->key) && memcmp(key, keep->key, klen) == 0) {
        if (key != small)
            free(key);
        const char *v = p < end && *p == ':' ? skip_ws(p + 1, end) : NULL;
        const char *e = v != NULL ? sca_json_skip(v, end) : NULL;
        if (e == NULL)
            return NULL;
        /* A later duplicate wins, as in jansson. */
        keep->text = v;
        keep->len = (size_t)(e - v);
        return skip_ws(e, end);
    }
    json_t *v = NULL;
    if (p < end && *p == ':')
        v = read_value(skip_ws(p + 1, end), end, &p);
    /* jansson keeps the last of duplicate keys, as we do; setn checks the
     * key's UTF-8 and frees v when it fails. */
    int rc = v != NULL ? json_object_setn_new(obj, key, klen, v) : -1;
    if (key != small)
        free(key);
    return rc == 0 ? skip_ws(p, end) : NULL;
}

static json_t *load_object(const char *text, size_t len, struct kept *keep)
{
    const char *end = text + len, *p = skip_ws(text, end);
    if (p >= end || *p != '{')
        return NULL;
    json_t *obj = json_object();
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        while ((p = read_member(obj, p, end, keep)) != NULL && p < end && *p == ',')
            p = skip_ws(p + 1, end);
        if (p == NULL || p >= end || *p != '}') {
            json_decref(obj);
            return NULL;
        }
        p++;
    }
    if (skip_ws(p, end) != end) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *rpc_json_load_object(const char *text, size_t len)
{
    struct kept none = {0};
    return load_object(text, len, &none);
}

json_t *rpc_json_load_object_keep(const char *text, size_t len, const char *key, const char **raw,
                                  size_t *raw_len)
{
    struct kept keep = {.key = key};
    json_t *obj = load_object(text, len, &keep);
    *raw = obj != NULL ? keep.text : NULL;
    *raw_len = obj != NULL ? keep.len : 0;
    return obj;
}

/* --- Writing --------------------------------------------------------------- */

void rpc_json_escape_text(sca_buf *b, const char *s, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '"' && s[i] != '\\')
            continue;
        sca_buf_append(b, s + run, i - run);
        sca_buf_append(b, s[i] == '"' ? "\\\"" : "\\\\", 2);
        run = i + 1;
    }
    sca_buf_append(b, s + run, len - run);
}

/* A JSON string as jansson writes it (raw UTF-8; \b \f \n \r \t, other
 * control characters as \u00XX), escaped once more. */
static void append_string(sca_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    sca_buf_append(b, "\\\"", 2);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sca_buf_append(b, s + run, i - run);
        run = i + 1;
        const char *short_form = c == '"'    ? "\\\\\\\""
                                 : c == '\\' ? "\\\\\\\\"
                                 : c == '\b' ? "\\\\b"
                                 : c == '\f' ? "\\\\f"
                                 : c == '\n' ? "\\\\n"
                                 : c == '\r' ? "\\\\r"
                                 : c == '\t' ? "\\\\t"
                                             : NULL;
        if (short_form != NULL) {
            sca_buf_append(b, short_form, strlen(short_form));
            continue;
        }
        char u[] = {'\\', '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        sca_buf_append(b, u, sizeof(u));
    }
    sca_buf_append(b, s + run, len - run);
    sca_buf_append(b, "\\\"", 2);
}

static void append_dumped(sca_buf *b, const json_t *v)
{
    char *text = json_dumps(v, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (text == NULL) {
        /* jansson fails only on allocation. */
        fputs("scalpels: cannot encode JSON\n", stderr);
        abort();
    }
    rpc_json_escape_text(b, text, strlen(text));
    free(text);
}

/* The object v, escaped, with the value of member key written as the
 * JSON text raw instead of v's own (key NULL: none). */
static void append_object(sca_buf *b, const json_t *v, const char *raw_key, const char *raw,
                          size_t raw_len)
{
    const char *key;
    json_t *value;
    bool first = true;
    sca_buf_append(b, "{", 1);
    json_object_foreach((json_t *)v, key, value)
    {
        if (!first)
            sca_buf_append(b, ", ", 2);
        first = false;
        append_string(b, key, strlen(key));
        sca_buf_append(b, ": ", 2);
        if (raw_key != NULL && strcmp(key, raw_key) == 0)
            rpc_json_escape_text(b, raw, raw_len);
        else if (json_is_object(value) || json_is_array(value))
            append_dumped(b, value);
        else
            rpc_json_append_escaped(b, value);
    }
    sca_buf_append(b, "}", 1);
}

void rpc_json_append_escaped_raw(sca_buf *b, const json_t *obj, const char *key, const char *raw,
                                 size_t raw_len)
{
    append_object(b, obj, key, raw, raw_len);
}

void rpc_json_append_escaped(sca_buf *b, const json_t *v)
{
    if (json_is_string(v)) {
        append_string(b, json_string_value(v), json_string_length(v));
        return;
    }
    if (!json_is_object(v)) {
        const char *word = json_is_null(v)    ? "null"
                           : json_is_true(v)  ? "true"
                           : json_is_false(v) ? "false"
                                              : NULL;
        if (word != NULL)
            sca_buf_append(b, word, strlen(word));
        else
            append_dumped(b, v);
        return;
    }
    append_object(b, v, NULL, NULL, 0);
}
