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
#include "port_diag.h"
#include "procfs.h"

/* Dump replies come in datagrams of at most 32 KiB when the reader offers
 * that much (netlink sizes them to the reader's buffer). */
#define PORT_RECV_MAX 32768

typedef struct port_state {
    int fd;
    uint16_t port;
    port_set prev, cur;
    union {
        struct nlmsghdr align;
        char bytes[PORT_RECV_MAX];
    } buf;
} port_state;

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
        qsort(set->v, set->n, sizeof(*set->v), port_cookie_cmp);
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

static int port_sample(void *state, double elapsed, sca_buf *line, sca_error *err)
{
    port_state *s = state;
    int rc = port_read(s, &s->cur, err);
    if (rc != 0)
        return rc;
    double segs, bytes;
    port_sum(&s->prev, &s->cur, &segs, &bytes);
    sca_buf_appendf(line, "%.2f pkt/s %.2f byte/s", segs / elapsed, bytes / elapsed);
    port_set t = s->prev;
    s->prev = s->cur;
    s->cur = t;
    return 0;
}

const sampler_kind sampler_port = {"port", port_open, port_sample, port_close};
