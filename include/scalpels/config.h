/*
 * config.h - the node's configuration, read from an INI file with libinih.
 *
 * Lookup order: an explicit path (--config), then $SCALPELS_CONF, then
 * /etc/scalpels/scalpels.conf, then built-in defaults alone.  An explicit or
 * $SCALPELS_CONF file that cannot be read is an error; the system file is
 * optional.  Invalid values are errors naming file:line; unknown keys are
 * logged as warnings.  etc/scalpels.conf documents every key.
 */
#ifndef SCALPELS_CONFIG_H
#define SCALPELS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "scalpels/error.h"
#include "scalpels/log.h"

#define CONFIG_SYSTEM_PATH "/etc/scalpels/scalpels.conf"

typedef struct config {
    char *source; /* file read, or NULL when only defaults apply */

    /* [DEFAULT] */
    char *transport_url;    /* "" = the local unix socket in state_dir */
    int transport_url_line; /* its line in source; 0 when no file set it */
    char *state_dir;
    enum log_level log_level;

    /* [database] */
    char *db_path; /* from "connection": a path or sqlite:///path */

    /* [agent] */
    char *host;
    char *tracer_path;
    double stop_grace;   /* seconds between SIGINT and SIGKILL */
    double max_duration; /* seconds a task may run; 0 = no limit */
    /* seconds a connection to the agent's socket may stay idle, or hold
     * a frame it has not finished sending */
    double unix_idle_timeout;

    /* [rpc] */
    char *control_exchange;
    char *topic;
    double rpc_timeout; /* seconds a client waits for a reply */
    int heartbeat;      /* AMQP heartbeat, seconds; 0 disables */
    size_t max_message_size;
    bool amqp_durable_queues;
    bool rabbit_quorum_queue;
    char *ssl_ca_file;
    char *ssl_cert_file;
    char *ssl_key_file;
    bool ssl_verify;
} config;

/* Fills cfg with defaults, then the file found by the lookup order.  On error
 * cfg is left freed.  warn_unknown: log unknown keys as warnings. */
int config_load(config *cfg, const char *explicit_path, sca_error *err);

/* Fills cfg with built-in defaults only. */
void config_defaults(config *cfg);

void config_free(config *cfg);

/* The transport URL to use: transport_url, or unix://STATE_DIR/agent.sock when
 * it is empty.  The caller frees it. */
char *config_transport_url(const config *cfg);

/* err, an error about the configured transport_url, led by the file and
 * line that set it ("FILE:LINE: ..."), as config_load's errors are; err is
 * left as it is when no file set it.  Returns err's code. */
int config_transport_url_error(const config *cfg, sca_error *err);

#endif
