/*
 * rpc_envelope.h - the oslo.messaging message format, pure functions only:
 * the 2.0 envelope {"oslo.version": "2.0", "oslo.message": "<inner JSON>"},
 * the inner request and reply dicts in oslo's key order, failures, version
 * matching, and a tolerant scan for the ids of a message too broken to
 * decode.  See docs/protocol.md and docs/wire.md.
 */
#ifndef SCALPELS_RPC_ENVELOPE_H
#define SCALPELS_RPC_ENVELOPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "scalpels/error.h"

#define RPC_ENVELOPE_VERSION "2.0"
#define RPC_ID_MAX 255 /* longest _msg_id or _reply_q kept (an AMQP shortstr) */

/* Why a message cannot be dispatched, as the Python exception oslo would
 * raise: class, module and message. */
typedef struct rpc_fault {
    const char *cls;
    const char *module;
    char message[512];
} rpc_fault;

void rpc_fault_set(rpc_fault *f, const char *cls, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Decodes a body into its inner message object (*inner, a new reference).
 * Accepts the 2.0 envelope and the legacy bare dict.  -EBADMSG: not JSON,
 * not an object, or an inner that is not a JSON object in a string;
 * -EPROTONOSUPPORT: an envelope version other than 2.0.  Never reads past
 * len; body need not be NUL-terminated. */
int rpc_envelope_decode(const char *body, size_t len, json_t **inner, sca_error *err);

/* The fast path of rpc_envelope_decode for a body whose member key of the
 * inner message is wanted as JSON text rather than decoded: *inner lacks
 * it, *text is the unescaped inner message (caller frees) and *raw
 * (raw_len bytes, unchecked) the member's value within it, NULL when the
 * message has none.  1, with nothing to free, when the fast path does not
 * take the body: rpc_envelope_decode then decodes it, key included. */
int rpc_envelope_decode_keep(const char *body, size_t len, const char *key, json_t **inner,
                             char **text, const char **raw, size_t *raw_len);

/* Wraps inner (borrowed) in a 2.0 envelope.  Returns the body (caller frees)
 * and its length in *len. */
char *rpc_envelope_encode(const json_t *inner, size_t *len);
/* The same with the value of inner's member key given as JSON text (raw,
 * raw_len bytes, written as it is). */
char *rpc_envelope_encode_raw(const json_t *inner, const char *key, const char *raw, size_t raw_len,
                              size_t *len);

/* A request's inner dict, keys in oslo's order.  args and context are
 * borrowed (NULL = {}); msg_id and reply_q are NULL for casts (then
 * _timeout is left out too); namespace and version are left out when NULL. */
json_t *rpc_envelope_request(const char *method, json_t *args, const char *namespace,
                             const char *version, const char *msg_id, const char *reply_q,
                             const char *unique_id, json_t *context);

/* A reply's inner dict.  Takes ownership of result (NULL = null); failure is
 * the failure JSON text or NULL. */
json_t *rpc_envelope_reply(json_t *result, const char *failure, bool ending, const char *msg_id,
                           const char *unique_id);

/* The failure text oslo sends: class, module, message, tb [], args
 * [message], kwargs {}.  Caller frees. */
char *rpc_envelope_failure(const char *cls, const char *module, const char *message);

/* The fields of a request, borrowed from its inner dict. */
typedef struct rpc_request_fields {
    const char *method;
    json_t *args; /* object */
    const char *namespace;
    const char *version;   /* "1.0" when absent */
    const char *msg_id;    /* NULL: a cast */
    const char *reply_q;   /* NULL when absent */
    const char *unique_id; /* NULL when absent */
    double timeout;        /* _timeout; 0 when null or absent */
    double expiration;     /* _expiration (ms) in seconds; 0 when absent */
} rpc_request_fields;

/* Reads and checks the request fields of inner.  On error f still has
 * msg_id and reply_q when they could be read, and fault says what is wrong
 * (TypeError or ValueError, worded for the caller). */
int rpc_envelope_request_fields(json_t *inner, rpc_request_fields *f, rpc_fault *fault);

/* The context dict: every _context_<key> of inner as <key>.  New reference. */
json_t *rpc_envelope_context(json_t *inner);

/* The fields of a reply, borrowed from its inner dict. */
typedef struct rpc_reply_fields {
    const char *msg_id;
    json_t *result;  /* NULL when absent */
    json_t *failure; /* NULL when absent or null */
    bool ending;
} rpc_reply_fields;

/* -EBADMSG when inner has no string _msg_id. */
int rpc_envelope_reply_fields(json_t *inner, rpc_reply_fields *f);
/* A call-monitor heartbeat: no result, no failure, not the end. */
bool rpc_reply_is_heartbeat(const rpc_reply_fields *f);

/* A decoded failure; strings are owned. */
typedef struct rpc_failure {
    char *cls;
    char *module;
    char *message;
} rpc_failure;

/* Reads a failure: a JSON string holding the failure object (as oslo sends
 * it) or, leniently, the object itself.  Missing parts read as "". */
void rpc_envelope_parse_failure(const json_t *failure, rpc_failure *out);
void rpc_failure_free(rpc_failure *f);

/* oslo's version_is_compatible(imp, req): 1 compatible, 0 not, -EINVAL when
 * either is not "MAJOR.MINOR[.REV]" with integer parts. */
int rpc_version_compatible(const char *imp, const char *req);

/* Python's name for the type of a JSON value: dict, list, str, int, float,
 * bool or NoneType (also for NULL: an absent value). */
const char *rpc_json_pytype(const json_t *v);

/* Whether v is a string with no NUL character in it: one that C code may
 * take as json_string_value() without losing the rest.  Messages may carry
 * NULs (Python sends "\u0000"), but names, routing and string arguments
 * must not be cut short. */
bool rpc_json_is_cstring(const json_t *v);

/* Scans raw bytes (a message too large or too broken to decode) for the
 * string values of _msg_id and _reply_q, in plain or double-encoded form.
 * Fills the ones still empty ("") that it finds (NUL-terminated, at most
 * RPC_ID_MAX characters of [A-Za-z0-9_.:-]), so the first match wins over
 * several calls (e.g. a head and a tail window). */
void rpc_envelope_sniff(const char *buf, size_t len, char msg_id[RPC_ID_MAX + 1],
                        char reply_q[RPC_ID_MAX + 1]);

#endif
