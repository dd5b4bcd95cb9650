/*
 * test_sampler_port.c - the sock_diag side of `sca-sampler port` without a
 * kernel: the dump request it sends (its port filter run the way the kernel
 * runs it), the parsing of replies built by hand, and the rate arithmetic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/sock_diag.h>

#include "port_diag.h"

/* ---- the request -------------------------------------------------------- */

/* The kernel's inet_diag_bc_audit for the two opcodes used: every jump
 * lands on an op or exactly on the end, or rejects with end + 4. */
static int bc_valid(const struct inet_diag_bc_op *bc, int len)
{
    const char *start = (const char *)bc;
    for (const char *p = start; p < start + len;) {
        const struct inet_diag_bc_op *op = (const void *)p;
        int left = len - (int)(p - start);
        if (op->code != INET_DIAG_BC_S_GE && op->code != INET_DIAG_BC_S_LE)
            return 0;
        if (left < 8 || op->yes < 8 || op->yes > left || op->yes % 4 != 0)
            return 0;
        if (op->no != left + 4 && (op->no > left || op->no % 4 != 0))
            return 0;
        p += op->yes;
    }
    return 1;
}

/* The kernel's inet_diag_bc_run: 1 when the filter accepts sport. */
static int bc_run(const struct inet_diag_bc_op *bc, int len, uint16_t sport)
{
    const char *p = (const char *)bc;
    while (len > 0) {
        const struct inet_diag_bc_op *op = (const void *)p;
        int yes = op->code == INET_DIAG_BC_S_GE ? sport >= op[1].no : sport <= op[1].no;
        int jump = yes ? op->yes : op->no;
        len -= jump;
        p += jump;
    }
    return len == 0;
}

static void test_request(void **state)
{
    (void)state;
    port_request r;
    port_request_fill(&r, AF_INET6, 5672);
    assert_int_equal(r.nlh.nlmsg_len, sizeof(r));
    assert_int_equal(r.nlh.nlmsg_type, SOCK_DIAG_BY_FAMILY);
    assert_int_equal(r.nlh.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    assert_int_equal(r.req.sdiag_family, AF_INET6);
    assert_int_equal(r.req.sdiag_protocol, IPPROTO_TCP);
    assert_int_equal(r.req.idiag_ext, 1 << (INET_DIAG_INFO - 1));
    /* No listening, time-wait or half-open sockets. */
    assert_int_equal(r.req.idiag_states & (1u << 10 | 1u << 6 | 1u << 3 | 1u << 12), 0);
    assert_true(r.req.idiag_states & (1u << 1));
    /* The attribute sits where the kernel looks, right after the request. */
    assert_int_equal(offsetof(port_request, bc_attr), NLMSG_SPACE(sizeof(struct inet_diag_req_v2)));
    assert_int_equal(r.bc_attr.nla_type, INET_DIAG_REQ_BYTECODE);
    assert_int_equal(r.bc_attr.nla_len, NLA_HDRLEN + sizeof(r.bc));
    assert_int_equal(offsetof(port_request, bc) + sizeof(r.bc), sizeof(r));

    int len = (int)sizeof(r.bc);
    assert_true(bc_valid(r.bc, len));
    assert_true(bc_run(r.bc, len, 5672));
    assert_false(bc_run(r.bc, len, 5671));
    assert_false(bc_run(r.bc, len, 5673));
    assert_false(bc_run(r.bc, len, 0));

    port_request_fill(&r, AF_INET, 65535);
    assert_int_equal(r.req.sdiag_family, AF_INET);
    assert_true(bc_run(r.bc, len, 65535));
    assert_false(bc_run(r.bc, len, 1));
    port_request_fill(&r, AF_INET, 1);
    assert_true(bc_run(r.bc, len, 1));
    assert_false(bc_run(r.bc, len, 2));
}

/* ---- replies built by hand ---------------------------------------------- */

typedef struct reply {
    union {
        struct nlmsghdr align;
        char b[8192];
    } u;
    size_t len;
} reply;

static struct nlmsghdr *reply_msg(reply *r, uint16_t type, size_t payload)
{
    struct nlmsghdr *nlh = (struct nlmsghdr *)(r->u.b + r->len);
    assert_true(r->len + NLMSG_SPACE(payload) <= sizeof(r->u.b));
    memset(nlh, 0, NLMSG_SPACE(payload));
    nlh->nlmsg_len = NLMSG_LENGTH(payload);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_MULTI;
    r->len += NLMSG_SPACE(payload);
    return nlh;
}

static void attr_put(struct nlmsghdr *nlh, uint16_t type, const void *data, size_t len)
{
    struct nlattr *a = (struct nlattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    memcpy((char *)a + NLA_HDRLEN, data, len);
    nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* A socket message as the kernel writes it: the congestion control name
 * first, then info_len bytes of tcp_info (none when 0). */
static void reply_sock(reply *r, uint16_t sport, uint64_t cookie, uint32_t segs, uint64_t bytes,
                       size_t info_len)
{
    size_t room = sizeof(struct inet_diag_msg) + NLA_HDRLEN + 8 + NLA_HDRLEN +
                  NLA_ALIGN(sizeof(struct tcp_info));
    struct nlmsghdr *nlh = reply_msg(r, SOCK_DIAG_BY_FAMILY, room);
    nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_msg));
    struct inet_diag_msg *m = NLMSG_DATA(nlh);
    m->idiag_family = AF_INET;
    m->idiag_state = ST_ESTABLISHED;
    m->id.idiag_sport = htons(sport);
    m->id.idiag_dport = htons(40000);
    m->id.idiag_cookie[0] = (uint32_t)cookie;
    m->id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
    attr_put(nlh, INET_DIAG_CONG, "cubic", 6);
    if (info_len > 0) {
        struct tcp_info ti = {0};
        ti.tcpi_segs_in = segs;
        ti.tcpi_bytes_received = bytes;
        ti.tcpi_bytes_acked = 999; /* neighbouring fields must not be taken */
        attr_put(nlh, INET_DIAG_INFO, &ti, info_len);
    }
    /* The buffer advanced by the room reserved; take back what is unused. */
    r->len -= NLMSG_SPACE(room) - NLMSG_ALIGN(nlh->nlmsg_len);
}

static void reply_done(reply *r, int code)
{
    struct nlmsghdr *nlh = reply_msg(r, NLMSG_DONE, sizeof(int));
    memcpy(NLMSG_DATA(nlh), &code, sizeof(code));
}

static void reply_error(reply *r, int code)
{
    struct nlmsghdr *nlh = reply_msg(r, NLMSG_ERROR, sizeof(struct nlmsgerr));
    ((struct nlmsgerr *)NLMSG_DATA(nlh))->error = code;
}

static int parse(const reply *r, port_set *set, sca_error *err)
{
    return port_parse(r->u.b, r->len, 5672, set, err);
}

static void test_parse_sockets(void **state)
{
    (void)state;
    reply r = {.len = 0};
    port_set set = {0};
    sca_error err = {0};
    reply_sock(&r, 5672, 0x100000002ull, 10, 5000, sizeof(struct tcp_info));
    reply_sock(&r, 5673, 7, 1, 1, sizeof(struct tcp_info)); /* another port */
    reply_sock(&r, 5672, 8, 1, 1, 0);                       /* no tcp_info */
    /* An older kernel's tcp_info that still has tcpi_segs_in. */
    reply_sock(&r, 5672, 9, 3, 300, PORT_INFO_MIN);
    assert_int_equal(parse(&r, &set, &err), 0); /* no NLMSG_DONE yet */
    assert_int_equal(set.n, 2);
    assert_true(set.v[0].cookie == 0x100000002ull);
    assert_int_equal(set.v[0].segs, 10);
    assert_int_equal(set.v[0].bytes, 5000);
    assert_int_equal(set.v[1].cookie, 9);
    assert_int_equal(set.v[1].segs, 3);
    assert_int_equal(set.v[1].bytes, 300);

    r.len = 0;
    reply_sock(&r, 5672, 10, 4, 400, sizeof(struct tcp_info));
    reply_done(&r, 0);
    reply_sock(&r, 5672, 11, 4, 400, sizeof(struct tcp_info)); /* after the end: not read */
    assert_int_equal(parse(&r, &set, &err), 1);
    assert_int_equal(set.n, 3);

    r.len = 0;
    reply_done(&r, 0);
    assert_int_equal(parse(&r, &set, &err), 1);
    r.len = 0;
    assert_int_equal(parse(&r, &set, &err), 0);
    assert_int_equal(set.n, 3);
    free(set.v);
}

static void test_parse_errors(void **state)
{
    (void)state;
    reply r = {.len = 0};
    port_set set = {0};
    sca_error err = {0};

    reply_error(&r, -EPERM);
    assert_int_equal(parse(&r, &set, &err), -EPERM);
    assert_non_null(strstr(err.msg, "refused"));

    r.len = 0;
    reply_done(&r, -ENOMEM); /* the dump failed half-way */
    assert_int_equal(parse(&r, &set, &err), -ENOMEM);

    r.len = 0;
    reply_error(&r, 0); /* an acknowledgement, which a dump never sends */
    assert_int_equal(parse(&r, &set, &err), -EPROTO);
    r.len = 0;
    reply_msg(&r, NLMSG_ERROR, 0); /* an error without its code */
    assert_int_equal(parse(&r, &set, &err), -EPROTO);

    /* A message longer than the datagram. */
    r.len = 0;
    reply_sock(&r, 5672, 1, 1, 1, sizeof(struct tcp_info));
    assert_int_equal(port_parse(r.u.b, r.len - 4, 5672, &set, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "truncated"));

    /* An attribute running past its message. */
    r.len = 0;
    reply_sock(&r, 5672, 1, 1, 1, sizeof(struct tcp_info));
    struct nlmsghdr *nlh = &r.u.align;
    nlh->nlmsg_len -= 8;
    assert_int_equal(parse(&r, &set, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "malformed"));

    /* Too short for an inet_diag_msg. */
    r.len = 0;
    reply_msg(&r, SOCK_DIAG_BY_FAMILY, 8);
    assert_int_equal(parse(&r, &set, &err), -EPROTO);

    /* A tcp_info from before Linux 4.2. */
    r.len = 0;
    reply_sock(&r, 5672, 1, 1, 1, PORT_INFO_MIN - 4);
    assert_int_equal(parse(&r, &set, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "Linux 4.2"));

    assert_int_equal(set.n, 0);
    free(set.v);
}

/* ---- the rate ----------------------------------------------------------- */

static void set_put(port_set *set, uint64_t cookie, uint32_t segs, uint64_t bytes)
{
    *port_set_add(set) = (port_sock){cookie, bytes, segs};
}

static void test_sum(void **state)
{
    (void)state;
    port_set prev = {0}, cur = {0};
    double segs, bytes;

    port_sum(&prev, &cur, &segs, &bytes); /* nothing before, nothing now */
    assert_true(segs == 0 && bytes == 0);

    set_put(&prev, 1, 100, 10000); /* goes on */
    set_put(&prev, 2, 50, 5000);   /* closes */
    set_put(&prev, 4, UINT32_MAX - 1, 1u << 31);
    set_put(&cur, 1, 110, 12000);              /* +10, +2000 */
    set_put(&cur, 3, 7, 700);                  /* new: all of it */
    set_put(&cur, 4, 3, (1ull << 31) + 10000); /* segs wrapped: +5 */
    port_sum(&prev, &cur, &segs, &bytes);
    assert_true(segs == 10 + 7 + 5);
    assert_true(bytes == 2000 + 700 + 10000);

    cur.n = 0; /* every socket closed */
    port_sum(&prev, &cur, &segs, &bytes);
    assert_true(segs == 0 && bytes == 0);

    prev.n = 0; /* new sockets after an empty reading */
    set_put(&cur, 5, 2, 64);
    port_sum(&prev, &cur, &segs, &bytes);
    assert_true(segs == 2 && bytes == 64);
    free(prev.v);
    free(cur.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_parse_sockets),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
