/*
 * oslo_trace.h - one text line per message seen on the RabbitMQ firehose
 * (exchange amq.rabbitmq.trace), decoding oslo.messaging bodies: calls, casts,
 * replies and notifications, in the 2.0 envelope or as a bare legacy dict.
 *
 * Pure formatting, no AMQP and no I/O, so it is tested against the bodies
 * captured from real oslo traffic.  A line is valid UTF-8 without a byte
 * below 0x20 (those are escaped as \n, \t, \xNN) and its size is bounded: JSON
 * values longer than OSLO_TRACE_JSON_MAX bytes and names longer than
 * OSLO_TRACE_STR_MAX bytes are cut and marked "…(N bytes)".
 */
#ifndef SCALPELS_OSLO_TRACE_H
#define SCALPELS_OSLO_TRACE_H

#include <stddef.h>

#include "scalpels/util.h"

#define OSLO_TRACE_JSON_MAX 4096 /* args, result, failure, payload */
#define OSLO_TRACE_STR_MAX 256   /* exchange, routing key, method, ids */
#define OSLO_TRACE_BODY_MAX 200  /* bytes shown of a body that is not oslo */

/* What the firehose tells about one message. */
typedef struct oslo_trace_msg {
    const char *event;       /* "publish" or "deliver" */
    const char *queue;       /* deliver: the queue it was delivered from; else NULL */
    const char *exchange;    /* "" for the default exchange */
    const char *routing_key; /* the message's routing keys, comma-separated */
    const void *body;
    size_t body_len;
} oslo_trace_msg;

/*
 * Appends to line, without a trailing newline:
 *
 *   EVENT [queue=Q] exchange=X rk=K kind=call method=M ... args=JSON
 *   EVENT exchange=X rk=K kind=reply msg_id=I failure=F ending=B result=JSON
 *   EVENT exchange=X rk=K bytes=N body=ESCAPED      (not an oslo message)
 */
void oslo_trace_format(sca_buf *line, const oslo_trace_msg *m);

#endif
