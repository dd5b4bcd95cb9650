/*
 * rpc_json.h - fast paths for the JSON of oslo envelopes.  Every message
 * is a flat object of short strings around one nested value (args or
 * result) and travels as an escaped string inside the envelope.  jansson's
 * general loader and dumper cost more than the rest of a local round trip,
 * so these read and write the flat part directly and hand only the nested
 * values to jansson.  Anything unusual is left to jansson whole.
 */
#ifndef SCALPELS_RPC_JSON_H
#define SCALPELS_RPC_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "scalpels/util.h"

/* Loads text as a JSON object.  NULL when the text is anything the fast
 * path does not take, invalid JSON included: the caller then gives the
 * whole text to json_loadb, for the result or its error message.  When not
 * NULL, the object (a new reference) equals what json_loadb(text, len, 0)
 * returns. */
json_t *rpc_json_load_object(const char *text, size_t len);

/* As rpc_json_load_object, except that the value of member key is not
 * loaded: the object lacks it, and *raw (raw_len bytes, inside text) is
 * its JSON text, unchecked, or NULL when there is no such member.  NULL
 * (and *raw NULL) when the fast path does not take the text. */
json_t *rpc_json_load_object_keep(const char *text, size_t len, const char *key, const char **raw,
                                  size_t *raw_len);

/* Appends the JSON text json_dumps(v, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
 * writes for v, with every '"' and '\' escaped once more: the form it takes
 * inside the envelope's oslo.message string. */
void rpc_json_append_escaped(sca_buf *b, const json_t *v);

/* As rpc_json_append_escaped for the object obj, with the value of its
 * member key written as the JSON text raw (raw_len bytes, escaped once
 * like the rest) instead of obj's own value of it. */
void rpc_json_append_escaped_raw(sca_buf *b, const json_t *obj, const char *key, const char *raw,
                                 size_t raw_len);

/* Appends len bytes of JSON text with every '"' and '\' escaped. */
void rpc_json_escape_text(sca_buf *b, const char *s, size_t len);

/* Decodes the escape at p (just after a backslash) into out + *o, advancing
 * *o.  Returns the input consumed, or 0 for what jansson should judge (lone
 * surrogates, \u0000, unknown escapes).  out needs room for 4 bytes. */
size_t rpc_json_unescape_one(const char *p, const char *end, char *out, size_t *o);

#endif
