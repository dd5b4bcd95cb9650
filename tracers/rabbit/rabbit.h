/*
 * rabbit.h - sca-rabbit-trace, the worker of the "rabbit" tracer: prints one
 * line per message that RabbitMQ traces on its firehose (amq.rabbitmq.trace),
 * decoded by oslo_trace.  A separate process, so rabbitmq-c's blocking API
 * is used as it is.
 */
#ifndef SCA_RABBIT_H
#define SCA_RABBIT_H

#include <signal.h>
#include <stdbool.h>

#include "scalpels/error.h"

typedef struct rabbit_opts {
    const char *url;
    const char *cacert;      /* CA bundle for TLS */
    const char *node;        /* rabbitmqctl -n NODE, or NULL for its default */
    const char *rabbitmqctl; /* the program, looked up in PATH without a '/' */
    bool deliveries;         /* trace deliver.# as well as publish.# */
    bool trace_on;           /* run rabbitmqctl trace_on / trace_off */
} rabbit_opts;

/* Set by SIGINT and SIGTERM; the consume loop looks at it between waits. */
extern volatile sig_atomic_t rabbit_stop;

typedef struct broker broker;

/* Connects, logs in, and consumes a private queue bound to the firehose. */
int broker_open(const rabbit_opts *o, broker **out, sca_error *err);
/* The virtual host of the URL, whose tracing rabbitmqctl switches. */
const char *broker_vhost(const broker *b);
/* Prints a line per traced message until rabbit_stop (0) or an error. */
int broker_consume(broker *b, sca_error *err);
/* Cancels the consumer, so nothing more arrives. */
int broker_cancel(broker *b, sca_error *err);
/* Closes what is still open and frees b. */
void broker_close(broker *b);

/* Runs "rabbitmqctl [-n NODE] -q trace_on|trace_off -p VHOST" and waits. */
int ctl_trace(const rabbit_opts *o, const char *vhost, bool on, sca_error *err);

#endif
