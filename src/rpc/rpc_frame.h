/*
 * rpc_frame.h - byte-stream helpers shared by the carriers: the unix
 * transport's 4-byte big-endian length-prefixed frames, and a clip that
 * keeps only both ends of a body too large to accept, so that its reply
 * ids can still be looked for without ever holding the body.
 */
#ifndef SCALPELS_RPC_FRAME_H
#define SCALPELS_RPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc_envelope.h"

#define RPC_CLIP_SIZE 4096

typedef struct rpc_clip {
    char head[RPC_CLIP_SIZE];
    size_t head_len;
    char tail[RPC_CLIP_SIZE]; /* ring buffer of the last bytes */
    uint64_t total;           /* bytes seen */
} rpc_clip;

void rpc_clip_reset(rpc_clip *c);
void rpc_clip_add(rpc_clip *c, const char *p, size_t n);
/* Looks for _msg_id and _reply_q in both ends (see rpc_envelope_sniff). */
void rpc_clip_sniff(const rpc_clip *c, char msg_id[RPC_ID_MAX + 1], char reply_q[RPC_ID_MAX + 1]);

typedef struct rpc_frame_sink {
    /* A whole frame, borrowed for the call.  Non-zero stops the feed. */
    int (*frame)(void *arg, const char *body, size_t len);
    /* A frame longer than the limit was skipped; clip holds its ends. */
    int (*oversize)(void *arg, uint64_t len, const rpc_clip *clip);
} rpc_frame_sink;

typedef struct rpc_frame_reader {
    size_t max; /* largest body accepted */
    unsigned char hdr[4];
    size_t hdr_got;
    bool in_body;
    uint64_t len, got;
    char *body;      /* owned, allocated once the length is known */
    rpc_clip *clip;  /* owned, while skipping an oversized frame */
    uint64_t frames; /* frames ended so far */
} rpc_frame_reader;

void rpc_frame_reader_init(rpc_frame_reader *r, size_t max);
/* Feeds n bytes, calling the sink for each frame completed.  Returns 0, or
 * the sink's non-zero return (the rest of data is then not consumed). */
int rpc_frame_feed(rpc_frame_reader *r, const char *data, size_t n, const rpc_frame_sink *sink,
                   void *arg);
void rpc_frame_reader_free(rpc_frame_reader *r);
/* Whether a frame has begun and not ended. */
bool rpc_frame_reader_partial(const rpc_frame_reader *r);

/* The 4-byte header for a body of len bytes. */
void rpc_frame_header(size_t len, unsigned char out[4]);

#endif
