/*
 * port_diag.h - the sock_diag messages of the "port" kind (kind_port.c):
 * the dump request it sends, the parsing of the kernel's replies and the
 * arithmetic of what was received between two readings.  Apart from the
 * socket I/O so that the unit tests can build replies by hand.
 */
#ifndef SCA_SAMPLER_PORT_DIAG_H
#define SCA_SAMPLER_PORT_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/tcp.h>

#include "scalpels/error.h"

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

/* Fills r: the dump request for family's TCP sockets on local port. */
void port_request_fill(port_request *r, int family, uint16_t port);
/* A new socket at the end of set, for the caller to fill. */
port_sock *port_set_add(port_set *set);
/* qsort/bsearch order of sockets: by cookie. */
int port_cookie_cmp(const void *a, const void *b);
/* One datagram of a dump reply (len bytes at buf, aligned for a
 * nlmsghdr): the sockets on port are added to set.  Returns 1 once the
 * dump is complete, 0 when more is to come, or -errno. */
int port_parse(const void *buf, size_t len, uint16_t port, port_set *set, sca_error *err);
/* What the sockets received from reading prev to reading cur (both sorted
 * by cookie): segments and bytes. */
void port_sum(const port_set *prev, const port_set *cur, double *segs, double *bytes);

#endif
