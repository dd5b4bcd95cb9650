/*
 * oslo_trace.c - firehose messages as bounded, escaped text lines; see
 * oslo_trace.h and docs/wire.md sections 4-6 for the bodies decoded here.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "oslo_trace.h"

/* Compact, and 15 significant digits so that 0.1 prints as 0.1: the line is
 * for people, the exact bytes stay on the wire. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

enum field_type {
    FIELD_NAME,   /* a string printed bare (other JSON types as JSON) */
    FIELD_JSON,   /* always JSON, so that a result "42" and 42 stay apart */
    FIELD_FAILURE /* a JSON string holding the JSON of an exception */
};

typedef struct field {
    const char *key; /* in the inner message */
    const char *label;
    enum field_type type;
} field;

/* What each kind of message shows, in this order; absent keys are skipped.
 * The request context is left out but for its request_id: OpenStack puts
 * auth tokens there. */
static const field request_fields[] = {
    {"method", "method", FIELD_NAME},
    {"namespace", "namespace", FIELD_NAME},
    {"version", "version", FIELD_NAME},
    {"_msg_id", "msg_id", FIELD_NAME},
    {"_reply_q", "reply_q", FIELD_NAME},
    {"_timeout", "timeout", FIELD_JSON},
    {"_unique_id", "unique_id", FIELD_NAME},
    {"_context_request_id", "request_id", FIELD_NAME},
    {"args", "args", FIELD_JSON},
    {NULL, NULL, FIELD_NAME},
};

static const field reply_fields[] = {
    {"_msg_id", "msg_id", FIELD_NAME}, {"failure", "failure", FIELD_FAILURE},
    {"ending", "ending", FIELD_JSON},  {"result", "result", FIELD_JSON},
    {NULL, NULL, FIELD_NAME},
};

static const field notification_fields[] = {
    {"event_type", "event_type", FIELD_NAME},
    {"publisher_id", "publisher_id", FIELD_NAME},
    {"priority", "priority", FIELD_NAME},
    {"message_id", "message_id", FIELD_NAME},
    {"timestamp", "timestamp", FIELD_NAME},
    {"payload", "payload", FIELD_JSON},
    {NULL, NULL, FIELD_NAME},
};

/* Length of the well-formed UTF-8 sequence at p (n bytes available), or 0:
 * overlong forms, surrogates and code points past U+10FFFF are not. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return len;
}

/* Bytes of the character at p that may be copied as they are; 0 if the byte
 * at p must be escaped. */
static size_t plain_len(const unsigned char *p, size_t n)
{
    if (p[0] == '\\' || p[0] < 0x20 || p[0] == 0x7f)
        return 0;
    return utf8_len(p, n);
}

static void put_escape(sca_buf *b, unsigned char c)
{
    switch (c) {
    case '\\':
        sca_buf_append(b, "\\\\", 2);
        break;
    case '\n':
        sca_buf_append(b, "\\n", 2);
        break;
    case '\r':
        sca_buf_append(b, "\\r", 2);
        break;
    case '\t':
        sca_buf_append(b, "\\t", 2);
        break;
    default:
        sca_buf_appendf(b, "\\x%02x", c);
    }
}

/* Copies n bytes, escaping control characters, backslashes and bytes that are
 * not well-formed UTF-8, so the line stays one line of valid text. */
static void put_escaped(sca_buf *b, const void *s, size_t n)
{
    const unsigned char *p = s;
    size_t i = 0;
    while (i < n) {
        size_t start = i, k;
        while (i < n && (k = plain_len(p + i, n - i)) > 0)
            i += k;
        sca_buf_append(b, p + start, i - start);
        if (i < n)
            put_escape(b, p[i++]);
    }
}

/* The longest prefix of p (n bytes) of at most max bytes that does not end
 * inside a UTF-8 sequence. */
static size_t cut_utf8(const char *p, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)p[max] & 0xc0) == 0x80)
        max--;
    return max;
}

static void put_more(sca_buf *b, size_t total)
{
    sca_buf_appendf(b, "\xe2\x80\xa6(%zu bytes)", total);
}

/* " label=" and s (n bytes), escaped and cut at max bytes. */
static void put_text(sca_buf *b, const char *label, const char *s, size_t n, size_t max)
{
    size_t cut = cut_utf8(s, n, max);
    sca_buf_appendf(b, " %s=", label);
    put_escaped(b, s, cut);
    if (cut < n)
        put_more(b, n);
}

static void put_name(sca_buf *b, const char *label, const char *s)
{
    put_text(b, label, s, strlen(s), OSLO_TRACE_STR_MAX);
}

/* A JSON dump that keeps only what fits in a line (plus the byte after it,
 * to find a cut that does not split a character) and counts the rest. */
typedef struct capped {
    sca_buf head;
    size_t total;
} capped;

static int capped_write(const char *p, size_t n, void *data)
{
    capped *c = data;
    size_t keep = OSLO_TRACE_JSON_MAX + 1;
    if (c->head.len < keep)
        sca_buf_append(&c->head, p, n < keep - c->head.len ? n : keep - c->head.len);
    c->total += n;
    return 0;
}

/* jansson escapes control characters and writes well-formed UTF-8, so the
 * dump needs no escaping of its own, only a bound. */
static void put_json(sca_buf *b, const char *label, const json_t *v)
{
    capped c = {{0}, 0};
    sca_buf_appendf(b, " %s=", label);
    if (json_dump_callback(v, capped_write, &c, DUMP_FLAGS) != 0) {
        sca_buf_append(b, "(unprintable)", 13);
    } else {
        size_t cut = cut_utf8(c.head.data, c.total, OSLO_TRACE_JSON_MAX);
        sca_buf_append(b, c.head.data, cut);
        if (cut < c.total)
            put_more(b, c.total);
    }
    sca_buf_free(&c.head);
}

/* A failure shows its class, module and message; the traceback stays in the
 * remote service's log.  A failure that is not the JSON of an object shows
 * as it is. */
static void put_failure(sca_buf *b, const json_t *v)
{
    static const char *const keys[] = {"class", "module", "message"};
    json_t *exc = NULL;
    if (json_is_string(v))
        exc = json_loadb(json_string_value(v), json_string_length(v), JSON_ALLOW_NUL, NULL);
    if (!json_is_object(exc)) {
        json_decref(exc);
        put_json(b, "failure", v);
        return;
    }
    json_t *brief = json_object();
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *x = json_object_get(exc, keys[i]);
        if (x != NULL && json_object_set(brief, keys[i], x) != 0)
            abort(); /* jansson fails only on allocation */
    }
    put_json(b, "failure", brief);
    json_decref(brief);
    json_decref(exc);
}

static void put_field(sca_buf *b, const field *f, const json_t *v)
{
    if (f->type == FIELD_FAILURE)
        put_failure(b, v);
    else if (f->type == FIELD_NAME && json_is_string(v))
        put_text(b, f->label, json_string_value(v), json_string_length(v), OSLO_TRACE_STR_MAX);
    else
        put_json(b, f->label, v);
}

static void put_fields(sca_buf *b, const field *fields, const json_t *msg)
{
    for (const field *f = fields; f->key != NULL; f++) {
        json_t *v = json_object_get(msg, f->key);
        if (v != NULL)
            put_field(b, f, v);
    }
}

static bool has(const json_t *msg, const char *key)
{
    return json_object_get(msg, key) != NULL;
}

/* The kind of an oslo message, from the keys only it has; NULL if none. */
static const char *kind_of(const json_t *msg)
{
    if (has(msg, "method"))
        return has(msg, "_msg_id") ? "call" : "cast";
    if (has(msg, "failure") || has(msg, "ending") || has(msg, "result"))
        return "reply";
    if (has(msg, "event_type"))
        return "notification";
    return NULL;
}

/* The inner message of a body: the decoded "oslo.message" of the 2.0
 * envelope, or the body itself when it is a bare dict that oslo would take
 * as the legacy format.  A new reference, or NULL when it is not oslo. */
static json_t *inner_message(json_t *outer)
{
    json_t *text = json_object_get(outer, "oslo.message");
    if (text == NULL)
        return kind_of(outer) != NULL ? json_incref(outer) : NULL;
    if (!json_is_string(text))
        return NULL;
    json_t *inner =
        json_loadb(json_string_value(text), json_string_length(text), JSON_ALLOW_NUL, NULL);
    if (json_is_object(inner))
        return inner;
    json_decref(inner);
    return NULL;
}

/* Marks the envelopes oslo 14 does not send: legacy dicts and versions
 * other than 2.0 (which oslo peers reject). */
static void put_envelope(sca_buf *b, const json_t *outer)
{
    static const field envelope = {"oslo.version", "envelope", FIELD_NAME};
    json_t *v = json_object_get(outer, envelope.key);
    if (!has(outer, "oslo.message"))
        sca_buf_append(b, " envelope=1.0", 13);
    else if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
        put_field(b, &envelope, v != NULL ? v : json_null());
}

static void put_oslo(sca_buf *b, const json_t *outer, const json_t *msg)
{
    const char *kind = kind_of(msg);
    put_envelope(b, outer);
    if (kind == NULL) {
        sca_buf_append(b, " kind=unknown", 13);
        put_json(b, "json", msg);
        return;
    }
    sca_buf_appendf(b, " kind=%s", kind);
    if (strcmp(kind, "reply") == 0)
        put_fields(b, reply_fields, msg);
    else if (strcmp(kind, "notification") == 0)
        put_fields(b, notification_fields, msg);
    else
        put_fields(b, request_fields, msg);
}

static void put_raw(sca_buf *b, const oslo_trace_msg *m)
{
    size_t cut = cut_utf8(m->body, m->body_len, OSLO_TRACE_BODY_MAX);
    sca_buf_appendf(b, " bytes=%zu body=", m->body_len);
    put_escaped(b, m->body, cut);
}

void oslo_trace_format(sca_buf *line, const oslo_trace_msg *m)
{
    size_t cut = cut_utf8(m->event, strlen(m->event), OSLO_TRACE_STR_MAX);
    put_escaped(line, m->event, cut);
    if (m->queue != NULL)
        put_name(line, "queue", m->queue);
    put_name(line, "exchange", m->exchange);
    put_name(line, "rk", m->routing_key);

    json_t *outer = json_loadb(m->body, m->body_len, JSON_ALLOW_NUL, NULL);
    json_t *msg = json_is_object(outer) ? inner_message(outer) : NULL;
    if (msg != NULL)
        put_oslo(line, outer, msg);
    else
        put_raw(line, m);
    json_decref(msg);
    json_decref(outer);
}
