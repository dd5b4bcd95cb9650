/* fuzz_rpc_envelope.c - libFuzzer target for everything that reads bytes
 * from the wire before a handler sees them: the envelope decoder, the
 * request/reply/failure readers, argument checks, the id sniffer and the
 * unix frame reader.  Properties: whatever decodes re-encodes to a body that
 * decodes to the same message; the JSON fast paths agree with jansson. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_args.h"
#include "rpc_envelope.h"
#include "rpc_frame.h"
#include "rpc_json.h"
#include "scalpels/util.h"

static const rpc_arg_spec spec[] = {{"x", RPC_ARG_ANY, true, true},
                                    {"s", RPC_ARG_STRING, false, false},
                                    {"i", RPC_ARG_INT, false, true},
                                    {"l", RPC_ARG_STRING_LIST, false, false},
                                    {0}};
static const rpc_method method = {"echo", NULL, spec};

static void read_request(json_t *inner)
{
    rpc_request_fields f;
    rpc_fault fault;
    if (rpc_envelope_request_fields(inner, &f, &fault) == 0) {
        rpc_args_check(&method, f.args, &fault);
        if (f.version != NULL)
            rpc_version_compatible("1.3", f.version);
    }
    json_decref(rpc_envelope_context(inner));
}

static void read_reply(json_t *inner)
{
    rpc_reply_fields r;
    if (rpc_envelope_reply_fields(inner, &r) != 0 || r.failure == NULL)
        return;
    rpc_failure fail;
    rpc_envelope_parse_failure(r.failure, &fail);
    rpc_failure_free(&fail);
}

static void round_trip(json_t *inner)
{
    size_t len;
    char *body = rpc_envelope_encode(inner, &len);
    json_t *again = NULL;
    if (rpc_envelope_decode(body, len, &again, NULL) != 0 || !json_equal(inner, again))
        abort();
    json_decref(again);
    free(body);
}

static int on_frame(void *arg, const char *body, size_t len)
{
    (void)arg;
    json_t *inner = NULL;
    if (rpc_envelope_decode(body, len, &inner, NULL) == 0)
        json_decref(inner);
    return 0;
}

static int on_oversize(void *arg, uint64_t len, const rpc_clip *clip)
{
    (void)arg;
    (void)len;
    char id[RPC_ID_MAX + 1] = "", q[RPC_ID_MAX + 1] = "";
    rpc_clip_sniff(clip, id, q);
    return 0;
}

static void frames(const uint8_t *data, size_t size)
{
    static const rpc_frame_sink sink = {on_frame, on_oversize};
    rpc_frame_reader r;
    rpc_frame_reader_init(&r, 64);
    size_t half = size / 2;
    rpc_frame_feed(&r, (const char *)data, half, &sink, NULL);
    rpc_frame_feed(&r, (const char *)data + half, size - half, &sink, NULL);
    rpc_frame_reader_free(&r);
}

/* The plain two-parse reading of a 2.0 envelope (NULs allowed, as the
 * decoder allows them), to check the decoder's single-parse fast path
 * against. */
static json_t *reference_decode(const uint8_t *data, size_t size)
{
    json_t *outer = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    json_t *msg = json_object_get(outer, "oslo.message");
    json_t *inner = NULL;
    if (json_is_object(outer) && json_is_string(json_object_get(outer, "oslo.version")) &&
        strcmp(json_string_value(json_object_get(outer, "oslo.version")), "2.0") == 0 &&
        json_is_string(msg))
        inner = json_loadb(json_string_value(msg), json_string_length(msg), JSON_ALLOW_NUL, NULL);
    json_decref(outer);
    if (inner != NULL && !json_is_object(inner)) {
        json_decref(inner);
        inner = NULL;
    }
    return inner;
}

static void compare_with_reference(const uint8_t *data, size_t size, json_t *inner)
{
    json_t *ref = reference_decode(data, size);
    json_t *outer = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    bool legacy = json_is_object(outer) && json_object_get(outer, "oslo.version") == NULL;
    bool version_2 = json_is_string(json_object_get(outer, "oslo.version")) &&
                     strcmp(json_string_value(json_object_get(outer, "oslo.version")), "2.0") == 0;
    json_decref(outer);
    /* Only plain "2.0" envelopes are comparable ("2.0.0" passes too). */
    if (!legacy && version_2 && (ref == NULL) != (inner == NULL))
        abort();
    if (ref != NULL && inner != NULL && !json_equal(ref, inner))
        abort();
    json_decref(ref);
}

/* The fast loader takes only what jansson reads the same way, and the fast
 * writer writes what jansson writes (escaped once more). */
static void compare_json_fast_paths(const uint8_t *data, size_t size)
{
    json_t *fast = rpc_json_load_object((const char *)data, size);
    json_t *ref = json_loadb((const char *)data, size, 0, NULL);
    if (fast != NULL && (ref == NULL || !json_equal(fast, ref)))
        abort();
    if (ref != NULL) {
        sca_buf ours = {0}, theirs = {0};
        rpc_json_append_escaped(&ours, ref);
        char *text = json_dumps(ref, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        rpc_json_escape_text(&theirs, text, strlen(text));
        if (ours.len != theirs.len || memcmp(ours.data, theirs.data, ours.len) != 0)
            abort();
        free(text);
        sca_buf_free(&ours);
        sca_buf_free(&theirs);
    }
    json_decref(fast);
    json_decref(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    compare_json_fast_paths(data, size);
    char id[RPC_ID_MAX + 1] = "", q[RPC_ID_MAX + 1] = "";
    rpc_envelope_sniff((const char *)data, size, id, q);
    json_t *inner = NULL;
    int rc = rpc_envelope_decode((const char *)data, size, &inner, NULL);
    compare_with_reference(data, size, rc == 0 ? inner : NULL);
    if (rc == 0) {
        read_request(inner);
        read_reply(inner);
        round_trip(inner);
        json_decref(inner);
    }
    frames(data, size);
    return 0;
}
