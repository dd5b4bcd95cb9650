/*
 * kind_port.c - "port": the receive rate of the TCP connections to one local
 * port (--port), a line "<n> pkt/s <n> byte/s" (the traffic parser's format).
 *
 * The original prototype counted with an iptables PREROUTING rule, which
 * needs root and changes the firewall.  Here every reading dumps the TCP
 * sockets on the port through NETLINK_SOCK_DIAG (what ss(8) uses), IPv4 and
 * IPv6, each with its struct tcp_info, and adds up what each received since
 * the previous reading: tcpi_segs_in segments and tcpi_bytes_received bytes.
 * Sockets are told apart by their kernel cookie, which is never reused while
 * the machine runs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include "sampler.h"
#include "scalpels/procfs.h"

/* Dump replies come in datagrams of at most 32 KiB when the reader offers
 * that much (netlink sizes them to the reader's buffer). */
#define PORT_RECV_MAX 32768

/* TCP states as the kernel numbers them (include/net/tcp_states.h); the
 * header that names them in user space, <netinet/tcp.h>, clashes with
 * <linux/tcp.h>. */
enum {
    ST_ESTABLISHED = 1,
    ST_FIN_WAIT1 = 4,
    ST_FIN_WAIT2 = 5,
    ST_CLOSE_WAIT = 8,
    ST_LAST_ACK = 9,
    ST_CLOSING = 11
};

/* The states of a connection that can still receive.  Listening sockets
 * receive no data; half-open and time-wait ones have no tcp_info. */
#define PORT_STATES                                                                                \
    (1u << ST_ESTABLISHED | 1u << ST_FIN_WAIT1 | 1u << ST_FIN_WAIT2 | 1u << ST_CLOSE_WAIT |        \
     1u << ST_LAST_ACK | 1u << ST_CLOSING)

/* tcpi_segs_in (Linux 4.2) is the newest field read; an older kernel sends
 * a shorter tcp_info. */
#define PORT_INFO_MIN (offsetof(struct tcp_info, tcpi_segs_in) + sizeof(uint32_t))

/* One dump request: the sockets of one address family whose local port is
 * the one watched, in bytecode the kernel runs on each socket, so that the
 * tcp_info of other sockets is never copied. */
typedef struct port_request {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
    struct nlattr bc_attr;
    struct inet_diag_bc_op bc[4];
} port_request;

typedef struct port_sock {
    uint64_t cookie;
    uint64_t bytes;
    uint32_t segs; /* wraps at 2^32, so deltas are taken modulo that */
} port_sock;

/* One reading, sorted by cookie. */
typedef struct port_set {
    port_sock *v;
    size_t n;
    size_t cap;
} port_set;

typedef struct port_state {
    int fd;
    uint16_t port;
    port_set prev, cur;
    union {
        struct nlmsghdr align;
        char bytes[PORT_RECV_MAX];
    } buf;
} port_state;

/* "local port >= N, then local port <= N", as ss(8) writes it (S_EQ is not
 * in older kernels).  Each test jumps `yes` bytes on when true and `no` when
 * false; landing exactly on the end accepts the socket, and the end plus 4
 * is the kernel's way to reject it. */
static void port_request_fill(port_request *r, int family, uint16_t port)
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

static port_sock *set_add(port_set *set)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 16;
        set->v = sca_realloc(set->v, set->cap * sizeof(*set->v));
    }
    return &set->v[set->n++];
}

static int cookie_cmp(const void *a, const void *b)
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
    port_sock *s = set_add(set);
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

/* One datagram of a dump reply (len bytes at buf, aligned for a
 * nlmsghdr): the sockets on port are added to set.  Returns 1 once the
 * dump is complete, 0 when more is to come, or -errno. */
static int port_parse(const void *buf, size_t len, uint16_t port, port_set *set, sca_error *err)
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

static int port_dump(port_state *s, int family, port_set *set, sca_error *err)
{
    port_request req;
    port_request_fill(&req, family, s->port);
    if (send(s->fd, &req, sizeof(req), 0) < 0)
        return sca_error_set(err, -errno, "cannot ask the kernel for TCP sockets: %s",
                             strerror(errno));
    int rc = 0;
    while (rc == 0) {
        /* MSG_TRUNC: the length of the whole datagram, even if cut */
        ssize_t n = recv(s->fd, s->buf.bytes, sizeof(s->buf.bytes), MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sca_error_set(err, -errno, "cannot read the kernel's TCP socket dump: %s",
                                 strerror(errno));
        if ((size_t)n > sizeof(s->buf.bytes))
            return sca_error_set(err, -EMSGSIZE, "sock_diag: a %zd-byte reply was cut", n);
        rc = port_parse(s->buf.bytes, (size_t)n, s->port, set, err);
    }
    return rc < 0 ? rc : 0;
}

static int port_read(port_state *s, port_set *set, sca_error *err)
{
    set->n = 0;
    int rc = port_dump(s, AF_INET, set, err);
    if (rc == 0)
        rc = port_dump(s, AF_INET6, set, err);
    if (rc == 0 && set->n > 1)
        qsort(set->v, set->n, sizeof(*set->v), cookie_cmp);
    return rc;
}

/* Connected to the kernel, the socket takes datagrams from nowhere else:
 * another process could otherwise send it forged replies. */
static int port_connect(port_state *s, sca_error *err)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    s->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (s->fd < 0)
        return sca_error_set(err, -errno, "cannot open a sock_diag netlink socket: %s",
                             strerror(errno));
    if (connect(s->fd, (const struct sockaddr *)&kernel, sizeof(kernel)) != 0)
        return sca_error_set(err, -errno, "cannot connect the sock_diag socket: %s",
                             strerror(errno));
    return 0;
}

static void port_close(void *state)
{
    port_state *s = state;
    if (s->fd >= 0)
        close(s->fd);
    free(s->prev.v);
    free(s->cur.v);
    free(s);
}

static int port_open(const sampler_opts *opts, void **state, sca_error *err)
{
    port_state *s = sca_calloc(1, sizeof(*s));
    s->port = (uint16_t)opts->port;
    int rc = port_connect(s, err);
    if (rc == 0)
        rc = port_read(s, &s->prev, err);
    if (rc != 0) {
        port_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* A socket seen before adds what it received since; a new one opened
 * within the interval, so all it received counts; one that closed is gone,
 * with whatever it received after the previous reading. */
static void port_sum(const port_state *s, double *segs, double *bytes)
{
    *segs = *bytes = 0;
    for (size_t i = 0; i < s->cur.n; i++) {
        const port_sock *c = &s->cur.v[i];
        const port_sock *p =
            s->prev.n > 0 ? bsearch(c, s->prev.v, s->prev.n, sizeof(*c), cookie_cmp) : NULL;
        *segs += (uint32_t)(c->segs - (p != NULL ? p->segs : 0));
        *bytes += (double)procfs_delta(p != NULL ? p->bytes : 0, c->bytes);
    }
}

static int port_sample(void *state, double elapsed, sca_buf *line, sca_error *err)
{
    port_state *s = state;
    int rc = port_read(s, &s->cur, err);
    if (rc != 0)
        return rc;
    double segs, bytes;
    port_sum(s, &segs, &bytes);
    sca_buf_appendf(line, "%.2f pkt/s %.2f byte/s", segs / elapsed, bytes / elapsed);
    port_set t = s->prev;
    s->prev = s->cur;
    s->cur = t;
    return 0;
}

const sampler_kind sampler_port = {"port", port_open, port_sample, port_close};
