/*
 * rpc_url.h - transport URLs:
 *   rabbit://[user[:pass]@]host[:port][/vhost][,[user[:pass]@]host2[:port][/vhost]...][?QUERY]
 * QUERY: ssl=1, amqp_durable_queues=true, rabbit_quorum_queue=true (oslo's
 * names); other oslo options are accepted and ignored.
 *   unix:///absolute/path.sock
 * Brokers are tried in the order given.  As in oslo, a broker without a
 * vhost takes the one given last (rabbit://h1,h2/vh), user and password
 * default to guest, the port to 5672 (5671 with ssl), the vhost to "/".
 * User, password and vhost are percent-decoded (%2F is a "/" vhost).
 * "amqp://" is accepted as a synonym of "rabbit://".
 */
#ifndef SCALPELS_RPC_URL_H
#define SCALPELS_RPC_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "scalpels/error.h"

enum rpc_url_kind { RPC_URL_RABBIT, RPC_URL_UNIX };

typedef struct rpc_broker {
    char *host; /* without IPv6 brackets */
    int port;
    char *user;
    char *password;
    char *vhost;
} rpc_broker;

typedef struct rpc_url {
    enum rpc_url_kind kind;
    rpc_broker *brokers; /* rabbit: at least one */
    size_t n_brokers;
    bool ssl;
    /* oslo's amqp_durable_queues and rabbit_quorum_queue in the query:
     * -1 when absent, else 0 or 1 (they override the options) */
    int durable_queues;
    int quorum_queues;
    char *path;     /* unix: the socket path */
    char *describe; /* the URL without credentials */
} rpc_url;

/* Parses url into *out (all strings owned); -EINVAL with a message naming
 * the problem, -ENAMETOOLONG for a unix path too long for sockaddr_un. */
int rpc_url_parse(const char *url, rpc_url *out, sca_error *err);
void rpc_url_free(rpc_url *u);

#endif
