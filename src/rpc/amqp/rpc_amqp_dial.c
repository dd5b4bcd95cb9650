/* rpc_amqp_dial.c - connect, log in, open the channel; hang up (see
 * rpc_amqp.h).  Runs on the libuv thread pool, or with dial_on_loop on the
 * loop's thread, which it then blocks. */
#include <amqp_ssl_socket.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <amqp_tcp_socket.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc_amqp.h"
#include "scalpels/util.h"

/* 0, or the reason of a failed synchronous step in out. */
static int check_reply(amqp_rpc_reply_t r, const char *step, char *out, size_t n)
{
    char reason[256];
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(out, n, "%s: %s", step, amqp_error_string2(r.library_error));
        return -1;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        rpc_amqp_read_close_reason(&r.reply, reason, sizeof(reason));
        snprintf(out, n, "%s: broker said %s", step, reason[0] ? reason : "no");
        return -1;
    default:
        snprintf(out, n, "%s: no reply", step);
        return -1;
    }
}

/* Has OpenSSL check, during the handshake, that the broker's certificate
 * is for host: its DNS name, or its IP address when host is one.
 * rabbitmq-c's own check knows DNS names only, and would refuse a broker
 * reached by address whose certificate names that address (an IP
 * subjectAltName), as oslo.messaging's Python client accepts it. */
static int verify_name(amqp_socket_t *s, const char *host)
{
    SSL_CTX *ctx = amqp_ssl_socket_get_context(s);
    X509_VERIFY_PARAM *param = ctx != NULL ? SSL_CTX_get0_param(ctx) : NULL;
    if (param == NULL)
        return -1;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1)
        return 0;
    return X509_VERIFY_PARAM_set1_host(param, host, 0) == 1 ? 0 : -1;
}

static amqp_socket_t *new_socket(const rpc_transport *t, const rpc_broker *b,
                                 amqp_connection_state_t conn, char *out, size_t n)
{
    if (!t->url.ssl) {
        amqp_socket_t *s = amqp_tcp_socket_new(conn);
        if (s == NULL)
            snprintf(out, n, "cannot create a TCP socket");
        return s;
    }
    amqp_socket_t *s = amqp_ssl_socket_new(conn);
    if (s == NULL) {
        snprintf(out, n, "cannot create a TLS socket");
        return NULL;
    }
    amqp_ssl_socket_set_verify_peer(s, t->ssl_verify);
    amqp_ssl_socket_set_verify_hostname(s, false);
    if (t->ssl_verify && verify_name(s, b->host) != 0) {
        snprintf(out, n, "TLS: cannot set up the check of the broker's name %s", b->host);
        return NULL;
    }
    int rc = AMQP_STATUS_OK;
    if (t->ssl_ca_file != NULL && (rc = amqp_ssl_socket_set_cacert(s, t->ssl_ca_file)) != 0) {
        snprintf(out, n, "TLS CA file %s: %s", t->ssl_ca_file, amqp_error_string2(rc));
        return NULL;
    }
    if (t->ssl_cert_file != NULL &&
        (rc = amqp_ssl_socket_set_key(s, t->ssl_cert_file,
                                      t->ssl_key_file ? t->ssl_key_file : t->ssl_cert_file)) != 0) {
        snprintf(out, n, "TLS certificate %s: %s", t->ssl_cert_file, amqp_error_string2(rc));
        return NULL;
    }
    return s;
}

static int login(const rpc_transport *t, const rpc_broker *b, amqp_connection_state_t conn,
                 char *out, size_t n)
{
    char uuid[SCA_UUID_LEN + 1];
    sca_uuid_new(uuid);
    char *name = sca_asprintf("%s:%d:%s", t->program, (int)getpid(), uuid);
    /* As oslo announces: the broker may then tell us about blocking,
     * cancelled consumers and failed logins instead of just hanging up. */
    amqp_table_entry_t caps[3] = {
        {.key = amqp_cstring_bytes("authentication_failure_close"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
        {.key = amqp_cstring_bytes("connection.blocked"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
        {.key = amqp_cstring_bytes("consumer_cancel_notify"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
    };
    amqp_table_entry_t props[3] = {
        {.key = amqp_cstring_bytes("capabilities"),
         .value = {.kind = AMQP_FIELD_KIND_TABLE, .value.table = {3, caps}}},
        {.key = amqp_cstring_bytes("connection_name"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(name)}},
        {.key = amqp_cstring_bytes("product"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes("scalpels")}},
    };
    amqp_table_t table = {3, props};
    amqp_rpc_reply_t r =
        amqp_login_with_properties(conn, b->vhost, 0, RPC_AMQP_FRAME_MAX, t->heartbeat, &table,
                                   AMQP_SASL_METHOD_PLAIN, b->user, b->password);
    free(name);
    if (check_reply(r, "login", out, n) != 0)
        return -1;
    /* The listener check's channel is opened without waiting for its
     * open-ok (a round trip less): the broker handles it before anything
     * sent on it later, and rabbitmq-c keeps its open-ok, which arrives
     * first, for the reader while it waits for channel 1's. */
    amqp_channel_open_t probe = {.out_of_band = amqp_empty_bytes};
    if (t->require_listener &&
        amqp_send_method(conn, RPC_AMQP_PROBE_CHANNEL, AMQP_CHANNEL_OPEN_METHOD, &probe) !=
            AMQP_STATUS_OK) {
        snprintf(out, n, "channel.open: cannot send");
        return -1;
    }
    amqp_channel_open(conn, RPC_AMQP_CHANNEL);
    return check_reply(amqp_get_rpc_reply(conn), "channel.open", out, n);
}

/* One address: a non-blocking connect bounded by timeout seconds.  Returns
 * the socket (left non-blocking, as rabbitmq-c keeps its own) or -errno. */
static int connect_addr(const struct addrinfo *ai, double timeout)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        rc = errno == EINPROGRESS ? 0 : -errno;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int ready = rc == 0 ? poll(&p, 1, (int)(timeout * 1000)) : 0;
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (rc == 0 && ready == 0)
            rc = -ETIMEDOUT;
        else if (rc == 0 && ready < 0)
            rc = -errno;
        else if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
            rc = -errno;
        else if (rc == 0 && soerr != 0)
            rc = -soerr;
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    /* Replies are small and latency-bound: never wait to coalesce them. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    return fd;
}

/* Our own connect for TCP: rabbitmq-c reports every failure as "a socket
 * error occurred", where the operator needs "Connection refused". */
static int tcp_connect(const rpc_broker *b, double timeout, char *out, size_t n)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", b->port);
    int rc = getaddrinfo(b->host, port, &hints, &list);
    if (rc != 0) {
        snprintf(out, n, "%s", gai_strerror(rc));
        return -1;
    }
    int fd = -ENOENT;
    for (const struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = connect_addr(ai, timeout);
    freeaddrinfo(list);
    if (fd < 0)
        snprintf(out, n, "%s", strerror(-fd));
    return fd;
}

static amqp_connection_state_t try_broker(const rpc_transport *t, const rpc_broker *b, char *out,
                                          size_t n)
{
    amqp_connection_state_t conn = amqp_new_connection();
    if (conn == NULL) {
        snprintf(out, n, "out of memory");
        return NULL;
    }
    double whole;
    double frac = modf(t->connect_timeout, &whole);
    struct timeval tv = {.tv_sec = (time_t)whole, .tv_usec = (suseconds_t)(frac * 1e6)};
    amqp_socket_t *s = new_socket(t, b, conn, out, n);
    int rc = -1;
    if (s != NULL && !t->url.ssl) {
        int fd = tcp_connect(b, t->connect_timeout, out, n);
        if (fd >= 0) {
            amqp_tcp_socket_set_sockfd(s, fd);
            rc = AMQP_STATUS_OK;
        }
    } else if (s != NULL) {
        rc = amqp_socket_open_noblock(s, b->host, b->port, &tv);
        if (rc == AMQP_STATUS_SSL_PEER_VERIFY_FAILED)
            snprintf(out, n,
                     "%s: the broker's certificate must chain to the CA (ssl_ca_file) and "
                     "name %s",
                     amqp_error_string2(rc), b->host);
        else if (rc != AMQP_STATUS_OK)
            snprintf(out, n, "%s", amqp_error_string2(rc));
    }
    if (rc == AMQP_STATUS_OK) {
        amqp_set_handshake_timeout(conn, &tv);
        amqp_set_rpc_timeout(conn, &tv);
        rc = login(t, b, conn, out, n);
    }
    if (rc != AMQP_STATUS_OK) {
        amqp_destroy_connection(conn);
        return NULL;
    }
    /* Replies are small and latency-bound: never wait to coalesce them
     * (rabbitmq-c sets it too for the TLS socket it opens). */
    int one = 1;
    setsockopt(amqp_get_sockfd(conn), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return conn;
}

void rpc_amqp_dial_run(rpc_amqp_dial *d)
{
    const rpc_url *u = &d->t->url;
    char why[400];
    d->conn = NULL;
    d->error[0] = '\0';
    for (size_t i = 0; i < u->n_brokers && d->conn == NULL && !atomic_load(&d->cancel) &&
                       !(i > 0 && d->deadline > 0 && sca_monotonic() >= d->deadline);
         i++) {
        size_t k = (d->first + i) % u->n_brokers;
        const rpc_broker *b = &u->brokers[k];
        why[0] = '\0';
        d->conn = try_broker(d->t, b, why, sizeof(why));
        d->broker = k;
        if (d->conn == NULL) {
            size_t used = strlen(d->error);
            snprintf(d->error + used, sizeof(d->error) - used, "%s%s:%d: %s", used ? "; " : "",
                     b->host, b->port, why);
        }
    }
}

/* Blocking write of what the loop had not written yet, bounded. */
static void write_pending(int fd, const char *p, size_t len, double timeout)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        struct pollfd w = {.fd = fd, .events = POLLOUT};
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || poll(&w, 1, (int)(timeout * 1000)) <= 0)
            return;
    }
}

void rpc_amqp_dial_hangup(amqp_connection_state_t conn, const char *pending, size_t len,
                          double timeout)
{
    double whole;
    double frac = modf(timeout, &whole);
    struct timeval tv = {.tv_sec = (time_t)whole, .tv_usec = (suseconds_t)(frac * 1e6)};
    write_pending(amqp_get_sockfd(conn), pending, len, timeout);
    amqp_set_rpc_timeout(conn, &tv);
    /* connection.close closes the channels with it (AMQP 0-9-1):
     * a channel.close first would only cost a round trip.  Its close-ok is
     * waited for, so that the broker sees a clean close and logs none of
     * "client unexpectedly closed TCP connection". */
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
}
