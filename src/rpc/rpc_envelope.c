/* rpc_envelope.c - oslo.messaging envelopes and inner messages (see rpc_envelope.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_envelope.h"
#include "rpc_json.h"
#include "scalpels/util.h"

/* Python's json.dumps defaults (", " and ": "), raw UTF-8, insertion order. */
#define RPC_JSON_FLAGS (JSON_PRESERVE_ORDER)

#define CONTEXT_PREFIX "_context_"

/* The 2.0 envelope up to its message string, as oslo and we write it. */
static const char envelope_head[] =
    "{\"oslo.version\": \"" RPC_ENVELOPE_VERSION "\", \"oslo.message\": \"";

void rpc_fault_set(rpc_fault *f, const char *cls, const char *module, const char *fmt, ...)
{
    va_list ap;
    f->cls = cls;
    f->module = module;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
}

/* Python's json.dumps writes a few things that are not JSON, or that jansson
 * cannot hold: say which, as the caller will want to know. */
static const char *beyond_json(const json_error_t *e)
{
    if (json_error_code(e) == json_error_numeric_overflow)
        return " (an integer beyond 64 bits, which this peer cannot take)";
    if (strstr(e->text, "invalid token") != NULL &&
        (strstr(e->text, "NaN") != NULL || strstr(e->text, "Infinity") != NULL))
        return " (NaN or Infinity: Python writes them, JSON has no such number)";
    if (strstr(e->text, "invalid Unicode") != NULL)
        return " (a lone surrogate \\uDXXX, which is not Unicode: Python writes one for a str "
               "holding half of a pair)";
    return "";
}

static int decode_inner(const char *text, size_t len, json_t **inner, sca_error *err)
{
    json_t *v = rpc_json_load_object(text, len);
    if (v != NULL) {
        *inner = v;
        return 0;
    }
    json_error_t jerr;
    v = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
    if (v == NULL)
        return sca_error_set(err, -EBADMSG,
                             "invalid JSON in oslo.message: %s (line %d column %d)%s", jerr.text,
                             jerr.line, jerr.column, beyond_json(&jerr));
    if (!json_is_object(v)) {
        int rc = sca_error_set(err, -EBADMSG, "oslo.message must be a JSON object, not %s",
                               rpc_json_pytype(v));
        json_decref(v);
        return rc;
    }
    *inner = v;
    return 0;
}

/* The envelope exactly as oslo and we write it has one string to unescape:
 * doing that here saves a JSON parse of the whole body on every message.
 * The inner text, unescaped, in *text (caller frees), or 1 when the body
 * is not in that form (the general parser decides). */
static int unescape_message(const char *body, size_t len, char **text_out, size_t *text_len)
{
    size_t hlen = sizeof(envelope_head) - 1;
    if (len < hlen + 2 || memcmp(body, envelope_head, hlen) != 0 ||
        memcmp(body + len - 2, "\"}", 2) != 0)
        return 1;
    const char *p = body + hlen, *end = body + len - 2;
    /* Unescaping never grows the text: \uXXXX (6 bytes) is at most 3. */
    char *text = sca_malloc((size_t)(end - p) + 1);
    size_t o = 0;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        size_t used = 1;
        if (c == '"' || c < 0x20)
            used = 0;
        else if (c != '\\')
            text[o++] = (char)c;
        else if ((used = rpc_json_unescape_one(p + 1, end, text, &o)) != 0)
            used++;
        if (used == 0) {
            free(text);
            return 1;
        }
        p += used;
    }
    *text_out = text;
    *text_len = o;
    return 0;
}

/* 1 when the body is not in the form unescape_message takes, else the
 * result of decoding the inner text. */
static int decode_fast(const char *body, size_t len, json_t **inner, sca_error *err)
{
    char *text;
    size_t text_len;
    if (unescape_message(body, len, &text, &text_len) != 0)
        return 1;
    int rc = decode_inner(text, text_len, inner, err);
    free(text);
    return rc;
}

int rpc_envelope_decode_keep(const char *body, size_t len, const char *key, json_t **inner,
                             char **text, const char **raw, size_t *raw_len)
{
    size_t text_len;
    if (unescape_message(body, len, text, &text_len) != 0)
        return 1;
    *inner = rpc_json_load_object_keep(*text, text_len, key, raw, raw_len);
    if (*inner == NULL) {
        free(*text);
        *text = NULL;
        return 1;
    }
    return 0;
}

int rpc_envelope_decode(const char *body, size_t len, json_t **inner, sca_error *err)
{
    int fast = decode_fast(body, len, inner, err);
    if (fast != 1)
        return fast;
    json_error_t jerr;
    json_t *outer = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
    if (outer == NULL)
        return sca_error_set(err, -EBADMSG, "invalid JSON in message body: %s (line %d column %d)",
                             jerr.text, jerr.line, jerr.column);
    if (!json_is_object(outer)) {
        int rc = sca_error_set(err, -EBADMSG, "message body must be a JSON object, not %s",
                               rpc_json_pytype(outer));
        json_decref(outer);
        return rc;
    }
    json_t *version = json_object_get(outer, "oslo.version");
    if (version == NULL) {
        /* The legacy 1.0 format: the body is the message itself. */
        *inner = outer;
        return 0;
    }
    int rc;
    const char *v = json_string_value(version);
    json_t *msg = json_object_get(outer, "oslo.message");
    if (v == NULL || rpc_version_compatible(RPC_ENVELOPE_VERSION, v) != 1) {
        char *shown = json_dumps(version, JSON_ENCODE_ANY);
        rc = sca_error_set(err, -EPROTONOSUPPORT,
                           "Specified RPC envelope version, %s, not supported by this endpoint.",
                           v != NULL ? v : (shown != NULL ? shown : "?"));
        free(shown);
    } else if (!json_is_string(msg)) {
        rc = sca_error_set(err, -EBADMSG, "envelope has no oslo.message string");
    } else {
        rc = decode_inner(json_string_value(msg), json_string_length(msg), inner, err);
    }
    json_decref(outer);
    return rc;
}

char *rpc_envelope_encode(const json_t *inner, size_t *len)
{
    sca_buf b = {0};
    sca_buf_append(&b, envelope_head, sizeof(envelope_head) - 1);
    rpc_json_append_escaped(&b, inner);
    sca_buf_append(&b, "\"}", 2);
    *len = b.len;
    return b.data;
}

char *rpc_envelope_encode_raw(const json_t *inner, const char *key, const char *raw, size_t raw_len,
                              size_t *len)
{
    sca_buf b = {0};
    /* The raw text is most of the body (a page of samples). */
    sca_buf_reserve(&b, raw_len + raw_len / 16 + 1024);
    sca_buf_append(&b, envelope_head, sizeof(envelope_head) - 1);
    rpc_json_append_escaped_raw(&b, inner, key, raw, raw_len);
    sca_buf_append(&b, "\"}", 2);
    *len = b.len;
    return b.data;
}

static void set_string(json_t *o, const char *key, const char *value)
{
    json_object_set_new(o, key, json_string(value));
}

static void add_context(json_t *inner, json_t *context)
{
    const char *key;
    json_t *value;
    if (context == NULL)
        return;
    json_object_foreach(context, key, value)
    {
        char *k = sca_asprintf(CONTEXT_PREFIX "%s", key);
        json_object_set(inner, k, value);
        free(k);
    }
}

json_t *rpc_envelope_request(const char *method, json_t *args, const char *namespace,
                             const char *version, const char *msg_id, const char *reply_q,
                             const char *unique_id, json_t *context)
{
    json_t *inner = json_object();
    set_string(inner, "method", method);
    json_object_set_new(inner, "args", args != NULL ? json_incref(args) : json_object());
    if (namespace != NULL)
        set_string(inner, "namespace", namespace);
    if (version != NULL)
        set_string(inner, "version", version);
    if (msg_id != NULL) {
        set_string(inner, "_msg_id", msg_id);
        if (reply_q != NULL)
            set_string(inner, "_reply_q", reply_q);
        json_object_set_new(inner, "_timeout", json_null());
    }
    set_string(inner, "_unique_id", unique_id);
    add_context(inner, context);
    return inner;
}

json_t *rpc_envelope_reply(json_t *result, const char *failure, bool ending, const char *msg_id,
                           const char *unique_id)
{
    json_t *inner = json_object();
    json_object_set_new(inner, "result", result != NULL ? result : json_null());
    json_object_set_new(inner, "failure", failure != NULL ? json_string(failure) : json_null());
    json_object_set_new(inner, "ending", json_boolean(ending));
    set_string(inner, "_msg_id", msg_id);
    set_string(inner, "_unique_id", unique_id);
    return inner;
}

/* A string as valid UTF-8: messages may quote bytes from the wire. */
static json_t *lossy_string(const char *s)
{
    json_t *v = json_string(s);
    if (v != NULL)
        return v;
    char *copy = sca_strdup(s);
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    v = json_string(copy);
    free(copy);
    return v;
}

char *rpc_envelope_failure(const char *cls, const char *module, const char *message)
{
    json_t *f = json_object();
    json_object_set_new(f, "class", lossy_string(cls));
    json_object_set_new(f, "module", lossy_string(module));
    json_object_set_new(f, "message", lossy_string(message));
    json_object_set_new(f, "tb", json_array());
    json_t *args = json_array();
    json_array_append_new(args, lossy_string(message));
    json_object_set_new(f, "args", args);
    json_object_set_new(f, "kwargs", json_object());
    char *text = json_dumps(f, RPC_JSON_FLAGS);
    json_decref(f);
    if (text == NULL) {
        fputs("scalpels: cannot encode RPC failure\n", stderr);
        abort();
    }
    return text;
}

const char *rpc_json_pytype(const json_t *v)
{
    if (v == NULL)
        return "NoneType";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "dict";
    case JSON_ARRAY:
        return "list";
    case JSON_STRING:
        return "str";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "NoneType";
    }
}

bool rpc_json_is_cstring(const json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

/* An optional string field: 0 when absent, null or a string (*out NULL or
 * the string), -EINVAL for any other type, -EILSEQ for a string holding a
 * NUL. */
static int optional_string(json_t *inner, const char *key, const char **out)
{
    json_t *v = json_object_get(inner, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EINVAL;
    if (!rpc_json_is_cstring(v))
        return -EILSEQ;
    *out = json_string_value(v);
    return 0;
}

static int wrong_type(rpc_fault *fault, const char *key, json_t *inner, const char *want)
{
    if (strcmp(want, "str") == 0 && json_is_string(json_object_get(inner, key))) {
        rpc_fault_set(fault, "ValueError", "builtins",
                      "RPC message field '%s' contains a NUL character", key);
        return -EINVAL;
    }
    rpc_fault_set(fault, "TypeError", "builtins", "RPC message field '%s' must be %s, not %s", key,
                  want, rpc_json_pytype(json_object_get(inner, key)));
    return -EINVAL;
}

/* Reads the reply routing first, so that a request with bad fields can
 * still be answered. */
static void read_ids(json_t *inner, rpc_request_fields *f)
{
    if (optional_string(inner, "_msg_id", &f->msg_id) != 0)
        f->msg_id = NULL;
    if (optional_string(inner, "_reply_q", &f->reply_q) != 0)
        f->reply_q = NULL;
    if (optional_string(inner, "_unique_id", &f->unique_id) != 0)
        f->unique_id = NULL;
    json_t *t = json_object_get(inner, "_timeout");
    f->timeout = json_is_number(t) ? json_number_value(t) : 0;
    json_t *e = json_object_get(inner, "_expiration");
    f->expiration = json_is_number(e) && json_number_value(e) > 0 ? json_number_value(e) / 1000 : 0;
}

int rpc_envelope_request_fields(json_t *inner, rpc_request_fields *f, rpc_fault *fault)
{
    memset(f, 0, sizeof(*f));
    read_ids(inner, f);
    json_t *method = json_object_get(inner, "method");
    if (!rpc_json_is_cstring(method))
        return wrong_type(fault, "method", inner, "str");
    f->method = json_string_value(method);
    f->args = json_object_get(inner, "args");
    if (f->args != NULL && !json_is_object(f->args))
        return wrong_type(fault, "args", inner, "dict");
    if (optional_string(inner, "namespace", &f->namespace) != 0)
        return wrong_type(fault, "namespace", inner, "str");
    if (optional_string(inner, "version", &f->version) != 0)
        return wrong_type(fault, "version", inner, "str");
    if (json_object_get(inner, "version") == NULL)
        f->version = "1.0";
    if (f->version != NULL && rpc_version_compatible(f->version, f->version) < 0) {
        rpc_fault_set(fault, "ValueError", "builtins",
                      "invalid RPC version '%s': expected MAJOR.MINOR[.REVISION]", f->version);
        return -EINVAL;
    }
    return 0;
}

json_t *rpc_envelope_context(json_t *inner)
{
    json_t *ctx = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(inner, key, value)
    {
        if (strncmp(key, CONTEXT_PREFIX, sizeof(CONTEXT_PREFIX) - 1) == 0)
            json_object_set(ctx, key + sizeof(CONTEXT_PREFIX) - 1, value);
    }
    return ctx;
}

int rpc_envelope_reply_fields(json_t *inner, rpc_reply_fields *f)
{
    memset(f, 0, sizeof(*f));
    f->msg_id = json_string_value(json_object_get(inner, "_msg_id"));
    if (f->msg_id == NULL)
        return -EBADMSG;
    f->result = json_object_get(inner, "result");
    f->failure = json_object_get(inner, "failure");
    if (json_is_null(f->failure))
        f->failure = NULL;
    f->ending = json_is_true(json_object_get(inner, "ending"));
    return 0;
}

bool rpc_reply_is_heartbeat(const rpc_reply_fields *f)
{
    return !f->ending && (f->result == NULL || json_is_null(f->result)) && f->failure == NULL;
}

static char *string_or_empty(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return sca_strdup(s != NULL ? s : "");
}

void rpc_envelope_parse_failure(const json_t *failure, rpc_failure *out)
{
    json_t *obj = NULL;
    if (json_is_string(failure))
        obj = json_loadb(json_string_value(failure), json_string_length(failure), JSON_ALLOW_NUL,
                         NULL);
    else if (json_is_object(failure))
        obj = json_incref((json_t *)failure);
    if (json_is_object(obj)) {
        out->cls = string_or_empty(obj, "class");
        out->module = string_or_empty(obj, "module");
        out->message = string_or_empty(obj, "message");
    } else {
        out->cls = sca_strdup("RemoteError");
        out->module = sca_strdup("");
        out->message = json_is_string(failure) ? sca_strdup(json_string_value(failure))
                                               : sca_strdup("unreadable failure in reply");
    }
    json_decref(obj);
}

void rpc_failure_free(rpc_failure *f)
{
    free(f->cls);
    free(f->module);
    free(f->message);
    f->cls = f->module = f->message = NULL;
}

/* Python's int() of one version part, the common forms: [+-]digits, with
 * whitespace around them as int() allows (" 1.1" is version 1.1 to oslo). */
static int version_part(const char *s, size_t len, long *out)
{
    char buf[24];
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    size_t i = (buf[0] == '+' || buf[0] == '-') ? 1 : 0;
    if (buf[i] == '\0')
        return -EINVAL;
    for (; buf[i]; i++) {
        if (!isdigit((unsigned char)buf[i]))
            return -EINVAL;
    }
    errno = 0;
    *out = strtol(buf, NULL, 10);
    return errno == 0 ? 0 : -EINVAL;
}

/* Splits "1.2[.3]" into major, minor, revision (0 when absent); parts past
 * the third are ignored, as oslo does. */
static int version_split(const char *v, long parts[3])
{
    parts[2] = 0;
    for (int i = 0; i < 3; i++) {
        const char *dot = strchr(v, '.');
        size_t len = dot != NULL ? (size_t)(dot - v) : strlen(v);
        if (version_part(v, len, &parts[i]) != 0)
            return -EINVAL;
        if (dot == NULL)
            return i >= 1 ? 0 : -EINVAL;
        v = dot + 1;
    }
    return 0;
}

int rpc_version_compatible(const char *imp, const char *req)
{
    long a[3], b[3];
    if (version_split(imp, a) != 0 || version_split(req, b) != 0)
        return -EINVAL;
    if (a[0] != b[0])
        return 0;
    if (b[1] > a[1])
        return 0;
    if (b[1] == a[1] && b[2] > a[2])
        return 0;
    return 1;
}

static bool id_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':';
}

/* After the key: closing quote (maybe escaped), colon, spaces, opening
 * quote (maybe escaped).  Returns the value's start or NULL. */
static const char *sniff_value_start(const char *p, const char *end)
{
    int colons = 0, quotes = 0;
    while (p < end && (*p == '\\' || *p == '"' || *p == ':' || *p == ' ')) {
        colons += *p == ':';
        quotes += *p == '"';
        p++;
    }
    return colons == 1 && quotes == 2 ? p : NULL;
}

static void sniff_key(const char *buf, size_t len, const char *key, char out[RPC_ID_MAX + 1])
{
    if (out[0] != '\0')
        return;
    size_t klen = strlen(key);
    const char *end = buf + len;
    const char *p = buf;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), key, klen);
        if (hit == NULL)
            return;
        p = hit + klen;
        if (hit == buf || hit[-1] != '"')
            continue;
        const char *v = sniff_value_start(p, end);
        if (v == NULL)
            continue;
        size_t n = 0;
        while (v + n < end && n < RPC_ID_MAX && id_char(v[n]))
            n++;
        if (n == 0 || v + n >= end || (v[n] != '"' && v[n] != '\\'))
            continue;
        memcpy(out, v, n);
        out[n] = '\0';
        return;
    }
}

void rpc_envelope_sniff(const char *buf, size_t len, char msg_id[RPC_ID_MAX + 1],
                        char reply_q[RPC_ID_MAX + 1])
{
    sniff_key(buf, len, "_msg_id", msg_id);
    sniff_key(buf, len, "_reply_q", reply_q);
}
