/* json_text.c - UTF-8 checks, text escaped for a terminal, and JSON
 * string literals written without jansson, for output built text first
 * (see util.h). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "scalpels/util.h"

/* The length of the valid UTF-8 sequence at s (at most len bytes), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xC2 && c <= 0xDF   ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
    if (n == 0 || n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return n;
}

bool sca_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_sequence(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

char *sca_escape_text(const char *s)
{
    sca_buf b = {0};
    sca_buf_append(&b, "", 0);
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(p + i, len - i);
        /* C0 and C1 controls, DEL: what a terminal would act on. */
        bool control = p[i] < 0x20 || p[i] == 0x7F || (n == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0);
        if (n == 0 || control) {
            sca_buf_appendf(&b, "\\x%02x", p[i]);
            n = 1;
        } else {
            sca_buf_append(&b, p + i, n);
        }
        i += n;
    }
    return b.data;
}

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

void sca_utf8_repair(const char *s, size_t len, sca_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0, i = 0;
    while (i < len) {
        size_t n = utf8_sequence(p + i, len - i);
        if (n > 0) {
            i += n;
            continue;
        }
        sca_buf_append(out, s + run, i - run);
        sca_buf_append(out, REPLACEMENT, 3);
        run = ++i;
    }
    sca_buf_append(out, s + run, len - run);
}

void sca_json_append_string(sca_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    sca_buf_append(b, "\"", 1);
    size_t run = 0, i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t n = c >= 0x80 ? utf8_sequence(p + i, len - i) : 0;
        if (n > 0) {
            i += n;
            continue;
        }
        sca_buf_append(b, s + run, i - run);
        run = ++i;
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                          : c >= 0x80 ? REPLACEMENT
                                      : NULL;
        if (esc != NULL) {
            sca_buf_append(b, esc, strlen(esc));
            continue;
        }
        char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        sca_buf_append(b, u, sizeof(u));
    }
    sca_buf_append(b, s + run, len - run);
    sca_buf_append(b, "\"", 1);
}

static bool json_literal(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

/* The end of the string at p (its opening quote), or NULL. */
static const char *string_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            if (++p >= end)
                return NULL;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

static const char *nested_end(const char *p, const char *end)
{
    int depth = 0;
    for (; p < end; p++) {
        char c = *p;
        if (c == '"') {
            if ((p = string_end(p, end)) == NULL)
                return NULL;
            p--;
        } else if (c == '{' || c == '[') {
            if (++depth > SCA_JSON_DEPTH_MAX)
                return NULL;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return p + 1;
        }
    }
    return NULL;
}

const char *sca_json_skip(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return string_end(p, end);
    if (*p == '{' || *p == '[')
        return nested_end(p, end);
    static const char *const words[] = {"null", "true", "false"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (json_literal(p, end, words[i]))
            return p + strlen(words[i]);
    }
    const char *q = p;
    while (q < end && ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+' || *q == '.' ||
                       *q == 'e' || *q == 'E'))
        q++;
    return q != p ? q : NULL;
}
