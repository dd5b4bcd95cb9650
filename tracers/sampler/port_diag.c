/* port_diag.c - the sock_diag messages of the "port" kind (port_diag.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/sock_diag.h>

#include "port_diag.h"
#include "procfs.h"
#include "scalpels/util.h"

/* "local port >= N, then local port <= N", as ss(8) writes it (S_EQ is not
 * in older kernels).  Each test jumps `yes` bytes on when true and `no` when
 * false; landing exactly on the end accepts the socket, and the end plus 4
 * is the kernel's way to reject it. */
void port_request_fill(port_request *r, int family, uint16_t port)
{
    const uint16_t test = 2 * sizeof(struct inet_diag_bc_op); /* a test and its port */
    *r = (port_request){0};
    r->nlh.nlmsg_len = sizeof(*r);
    r->nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    r->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    r->req.sdiag_family = (uint8_t)family;
    r->req.sdiag_protocol = IPPROTO_TCP;
    r->req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
    r->req.idiag_states = PORT_STATES;
    r->bc_attr.nla_len = NLA_HDRLEN + sizeof(r->bc);
    r->bc_attr.nla_type = INET_DIAG_REQ_BYTECODE;
    r->bc[0] = (struct inet_diag_bc_op){INET_DIAG_BC_S_GE, (uint8_t)test, 2 * test + 4};
    r->bc[1] = (struct inet_diag_bc_op){0, 0, port};
    r->bc[2] = (struct inet_diag_bc_op){INET_DIAG_BC_S_LE, (uint8_t)test, test + 4};
    r->bc[3] = (struct inet_diag_bc_op){0, 0, port};
}

port_sock *port_set_add(port_set *set)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 16;
        set->v = sca_realloc(set->v, set->cap * sizeof(*set->v));
    }
    return &set->v[set->n++];
}

int port_cookie_cmp(const void *a, const void *b)
{
    uint64_t x = ((const port_sock *)a)->cookie, y = ((const port_sock *)b)->cookie;
    return (x > y) - (x < y);
}

/* The INET_DIAG_INFO attribute of a socket message into *info (NULL when
 * absent), or -EPROTO when the attributes overrun the message. */
static int port_info_attr(const struct nlmsghdr *nlh, const struct nlattr **info)
{
    size_t off = NLMSG_SPACE(sizeof(struct inet_diag_msg));
    *info = NULL;
    while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
        const struct nlattr *a = (const void *)((const char *)nlh + off);
        if (a->nla_len < NLA_HDRLEN || a->nla_len > nlh->nlmsg_len - off)
            return -EPROTO;
        if ((a->nla_type & NLA_TYPE_MASK) == INET_DIAG_INFO) {
            *info = a;
            return 0;
        }
        off += NLA_ALIGN(a->nla_len);
    }
    return 0;
}

/* One socket message into set, when the socket is on port (the kernel's
 * filter should have seen to that) and has a tcp_info. */
static int port_parse_sock(const struct nlmsghdr *nlh, uint16_t port, port_set *set, sca_error *err)
{
    const struct inet_diag_msg *m = NLMSG_DATA(nlh);
    const struct nlattr *info;
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || port_info_attr(nlh, &info) != 0)
        return sca_error_set(err, -EPROTO, "sock_diag: malformed socket message");
    if (ntohs(m->id.idiag_sport) != port || info == NULL)
        return 0;
    size_t len = info->nla_len - NLA_HDRLEN;
    if (len < PORT_INFO_MIN)
        return sca_error_set(err, -EPROTO,
                             "the kernel's tcp_info has no received segments and bytes "
                             "(Linux 4.2 or later is needed)");
    struct tcp_info ti = {0};
    memcpy(&ti, (const char *)info + NLA_HDRLEN, len < sizeof(ti) ? len : sizeof(ti));
    port_sock *s = port_set_add(set);
    s->cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
    s->bytes = ti.tcpi_bytes_received;
    s->segs = ti.tcpi_segs_in;
    return 0;
}

/* The end of a dump: NLMSG_DONE, or NLMSG_ERROR when the request itself
 * failed.  Both start with an int, the error (struct nlmsgerr begins with
 * it), which NLMSG_DONE sets when the dump failed half-way. */
static int port_parse_end(const struct nlmsghdr *nlh, sca_error *err)
{
    int code = 0;
    if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(code)))
        memcpy(&code, NLMSG_DATA(nlh), sizeof(code));
    if (code < 0)
        return sca_error_set(err, code, "the kernel refused the TCP socket dump: %s",
                             strerror(-code));
    if (nlh->nlmsg_type == NLMSG_ERROR)
        return sca_error_set(err, -EPROTO, "sock_diag: an acknowledgement instead of a dump");
    return 1;
}

int port_parse(const void *buf, size_t len, uint16_t port, port_set *set, sca_error *err)
{
    const struct nlmsghdr *nlh;
    for (size_t off = 0; off + NLMSG_HDRLEN <= len; off += NLMSG_ALIGN(nlh->nlmsg_len)) {
        nlh = (const void *)((const char *)buf + off);
        if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len - off)
            return sca_error_set(err, -EPROTO, "sock_diag: truncated message");
        if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
            return port_parse_end(nlh, err);
        if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
            continue;
        int rc = port_parse_sock(nlh, port, set, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A socket seen before adds what it received since; a new one opened
 * within the interval, so all it received counts; one that closed is gone,
 * with whatever it received after the previous reading. */
void port_sum(const port_set *prev, const port_set *cur, double *segs, double *bytes)
{
    *segs = *bytes = 0;
    for (size_t i = 0; i < cur->n; i++) {
        const port_sock *c = &cur->v[i];
        const port_sock *p =
            prev->n > 0 ? bsearch(c, prev->v, prev->n, sizeof(*c), port_cookie_cmp) : NULL;
        *segs += (uint32_t)(c->segs - (p != NULL ? p->segs : 0));
        *bytes += (double)procfs_delta(p != NULL ? p->bytes : 0, c->bytes);
    }
}
