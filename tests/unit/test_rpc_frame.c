/* test_rpc_frame.c - length-prefixed frames and clipped bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc_frame.h"
#include "scalpels/util.h"

typedef struct seen {
    int frames, oversized, stop_after;
    sca_buf last;
    uint64_t oversize_len;
    char msg_id[RPC_ID_MAX + 1], reply_q[RPC_ID_MAX + 1];
} seen;

static int on_frame(void *arg, const char *body, size_t len)
{
    seen *s = arg;
    s->frames++;
    sca_buf_reset(&s->last);
    sca_buf_append(&s->last, body, len);
    return s->stop_after && s->frames >= s->stop_after;
}

static int on_oversize(void *arg, uint64_t len, const rpc_clip *clip)
{
    seen *s = arg;
    s->oversized++;
    s->oversize_len = len;
    rpc_clip_sniff(clip, s->msg_id, s->reply_q);
    return 0;
}

static const rpc_frame_sink sink = {on_frame, on_oversize};

static void frame(sca_buf *out, const char *body, size_t len)
{
    unsigned char hdr[4];
    rpc_frame_header(len, hdr);
    sca_buf_append(out, hdr, 4);
    sca_buf_append(out, body, len);
}

static void test_split_anywhere(void **state)
{
    (void)state;
    sca_buf stream = {0};
    frame(&stream, "hello", 5);
    frame(&stream, "", 0);
    frame(&stream, "world!", 6);
    /* Every split point, one byte at a time and in two pieces. */
    for (size_t cut = 0; cut <= stream.len; cut++) {
        rpc_frame_reader r;
        seen s = {0};
        rpc_frame_reader_init(&r, 100);
        assert_int_equal(rpc_frame_feed(&r, stream.data, cut, &sink, &s), 0);
        assert_int_equal(rpc_frame_feed(&r, stream.data + cut, stream.len - cut, &sink, &s), 0);
        assert_int_equal(s.frames, 3);
        assert_string_equal(s.last.data, "world!");
        rpc_frame_reader_free(&r);
        sca_buf_free(&s.last);
    }
    rpc_frame_reader r;
    seen s = {0};
    rpc_frame_reader_init(&r, 100);
    for (size_t i = 0; i < stream.len; i++)
        assert_int_equal(rpc_frame_feed(&r, stream.data + i, 1, &sink, &s), 0);
    assert_int_equal(s.frames, 3);
    rpc_frame_reader_free(&r);
    sca_buf_free(&s.last);
    sca_buf_free(&stream);
}

static void test_stop(void **state)
{
    (void)state;
    sca_buf stream = {0};
    frame(&stream, "a", 1);
    frame(&stream, "b", 1);
    rpc_frame_reader r;
    seen s = {.stop_after = 1};
    rpc_frame_reader_init(&r, 100);
    assert_int_equal(rpc_frame_feed(&r, stream.data, stream.len, &sink, &s), 1);
    assert_int_equal(s.frames, 1);
    rpc_frame_reader_free(&r);
    sca_buf_free(&s.last);
    sca_buf_free(&stream);
}

static void test_oversize_clipped(void **state)
{
    (void)state;
    sca_buf body = {0};
    sca_buf_append(&body,
                   "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"method\\\": "
                   "\\\"echo\\\", \\\"args\\\": {\\\"x\\\": \\\"",
                   76);
    for (int i = 0; i < 100000; i++)
        sca_buf_append(&body, "y", 1);
    sca_buf_appendf(&body, "\\\"}, \\\"_msg_id\\\": \\\"abc123\\\", \\\"_reply_q\\\": "
                           "\\\"reply_q1\\\", \\\"_timeout\\\": null}\"}");
    sca_buf stream = {0};
    frame(&stream, body.data, body.len);
    frame(&stream, "after", 5);
    rpc_frame_reader r;
    seen s = {0};
    rpc_frame_reader_init(&r, 1000);
    for (size_t off = 0; off < stream.len; off += 777) {
        size_t n = stream.len - off < 777 ? stream.len - off : 777;
        assert_int_equal(rpc_frame_feed(&r, stream.data + off, n, &sink, &s), 0);
    }
    assert_int_equal(s.oversized, 1);
    assert_int_equal(s.oversize_len, body.len);
    assert_string_equal(s.msg_id, "abc123");
    assert_string_equal(s.reply_q, "reply_q1");
    /* The stream stays in step after a refused frame. */
    assert_int_equal(s.frames, 1);
    assert_string_equal(s.last.data, "after");
    rpc_frame_reader_free(&r);
    sca_buf_free(&s.last);
    sca_buf_free(&stream);
    sca_buf_free(&body);
}

static void test_clip_keeps_ends(void **state)
{
    (void)state;
    rpc_clip *c = sca_malloc(sizeof(*c));
    rpc_clip_reset(c);
    char chunk[1000];
    for (int i = 0; i < 50; i++) {
        memset(chunk, 'a' + i % 26, sizeof(chunk));
        rpc_clip_add(c, chunk, sizeof(chunk));
    }
    assert_int_equal(c->total, 50000);
    assert_int_equal(c->head_len, RPC_CLIP_SIZE);
    assert_int_equal(c->head[0], 'a');
    assert_int_equal(c->head[RPC_CLIP_SIZE - 1], 'e');
    /* The last byte written is at (total - 1) % size. */
    assert_int_equal(c->tail[(c->total - 1) % RPC_CLIP_SIZE], 'a' + 49 % 26);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_anywhere), cmocka_unit_test(test_stop),
        cmocka_unit_test(test_oversize_clipped), cmocka_unit_test(test_clip_keeps_ends)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
