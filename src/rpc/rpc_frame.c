/* rpc_frame.c - length-prefixed frames and clipped bodies (see rpc_frame.h). */
#include <stdlib.h>
#include <string.h>

#include "rpc_frame.h"
#include "scalpels/util.h"

void rpc_clip_reset(rpc_clip *c)
{
    c->head_len = 0;
    c->total = 0;
}

void rpc_clip_add(rpc_clip *c, const char *p, size_t n)
{
    if (c->head_len < RPC_CLIP_SIZE) {
        size_t k = RPC_CLIP_SIZE - c->head_len < n ? RPC_CLIP_SIZE - c->head_len : n;
        memcpy(c->head + c->head_len, p, k);
        c->head_len += k;
    }
    /* Only the last RPC_CLIP_SIZE bytes of this chunk can end in the tail. */
    uint64_t start = c->total;
    if (n > RPC_CLIP_SIZE) {
        start += n - RPC_CLIP_SIZE;
        p += n - RPC_CLIP_SIZE;
    }
    c->total += n;
    for (uint64_t pos = start; pos < c->total; p++, pos++)
        c->tail[pos % RPC_CLIP_SIZE] = *p;
}

void rpc_clip_sniff(const rpc_clip *c, char msg_id[RPC_ID_MAX + 1], char reply_q[RPC_ID_MAX + 1])
{
    rpc_envelope_sniff(c->head, c->head_len, msg_id, reply_q);
    size_t n = c->total < RPC_CLIP_SIZE ? (size_t)c->total : RPC_CLIP_SIZE;
    char *line = sca_malloc(n);
    uint64_t first = c->total - n;
    for (size_t i = 0; i < n; i++)
        line[i] = c->tail[(first + i) % RPC_CLIP_SIZE];
    rpc_envelope_sniff(line, n, msg_id, reply_q);
    free(line);
}

void rpc_frame_reader_init(rpc_frame_reader *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    r->max = max;
}

void rpc_frame_header(size_t len, unsigned char out[4])
{
    out[0] = (unsigned char)(len >> 24);
    out[1] = (unsigned char)(len >> 16);
    out[2] = (unsigned char)(len >> 8);
    out[3] = (unsigned char)len;
}

static void start_body(rpc_frame_reader *r)
{
    r->len = (uint64_t)r->hdr[0] << 24 | (uint64_t)r->hdr[1] << 16 | (uint64_t)r->hdr[2] << 8 |
             r->hdr[3];
    r->got = 0;
    r->in_body = true;
    r->hdr_got = 0;
    /* Refused before allocating: only the clip's fixed size is kept. */
    if (r->len > r->max) {
        if (r->clip == NULL)
            r->clip = sca_malloc(sizeof(*r->clip));
        rpc_clip_reset(r->clip);
    } else {
        r->body = sca_malloc((size_t)r->len + 1);
    }
}

static int finish_body(rpc_frame_reader *r, const rpc_frame_sink *sink, void *arg)
{
    int rc;
    r->in_body = false;
    r->frames++;
    if (r->len > r->max) {
        rc = sink->oversize(arg, r->len, r->clip);
    } else {
        char *body = r->body;
        r->body = NULL;
        body[r->len] = '\0';
        rc = sink->frame(arg, body, (size_t)r->len);
        free(body);
    }
    return rc;
}

int rpc_frame_feed(rpc_frame_reader *r, const char *data, size_t n, const rpc_frame_sink *sink,
                   void *arg)
{
    while (n > 0 || (r->in_body && r->got == r->len)) {
        if (!r->in_body) {
            size_t k = 4 - r->hdr_got < n ? 4 - r->hdr_got : n;
            memcpy(r->hdr + r->hdr_got, data, k);
            r->hdr_got += k;
            data += k;
            n -= k;
            if (r->hdr_got == 4)
                start_body(r);
            continue;
        }
        uint64_t want = r->len - r->got;
        size_t k = want < n ? (size_t)want : n;
        if (r->len > r->max)
            rpc_clip_add(r->clip, data, k);
        else
            memcpy(r->body + r->got, data, k);
        r->got += k;
        data += k;
        n -= k;
        if (r->got == r->len) {
            int rc = finish_body(r, sink, arg);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

bool rpc_frame_reader_partial(const rpc_frame_reader *r)
{
    return r->in_body || r->hdr_got > 0;
}

void rpc_frame_reader_free(rpc_frame_reader *r)
{
    free(r->body);
    free(r->clip);
    r->body = NULL;
    r->clip = NULL;
}
