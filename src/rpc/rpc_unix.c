/* rpc_unix.c - the local carrier: oslo envelope bodies in 4-byte big-endian
 * length-prefixed frames on a unix stream socket.  A server accepts many
 * clients; replies go back on the connection the call came from and are
 * matched by _msg_id.  The caller's uid (SO_PEERCRED) reaches handlers. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rpc_transport.h"
#include "scalpels/log.h"
#include "scalpels/util.h"

#define SOCKET_MODE 0660
#define DIR_MODE 0755
#define LISTEN_BACKLOG 128
#define MAX_CONNS 1024
#define INFLIGHT_PAUSE 256 /* requests per connection before reading pauses */
#define INFLIGHT_RESUME 128
/* Unread bytes at which a server cuts its client off and a client refuses
 * further calls. */
#define WRITE_QUEUE_MAX (8 << 20)
#define READ_CHUNK 65536

typedef struct rpc_unix rpc_unix;

typedef struct unix_conn {
    rpc_origin origin; /* first: an origin is its connection */
    rpc_unix *u;
    uv_pipe_t pipe;
    int refs; /* the open handle + requests being handled */
    bool open;
    bool is_client;
    bool reading;
    bool close_when_written;
    bool have_uid;
    uid_t uid;
    size_t inflight;
    size_t writes;
    rpc_frame_reader reader;
    struct unix_conn *prev;
    struct unix_conn *next;
} unix_conn;

struct rpc_unix {
    rpc_transport *t;
    uv_pipe_t *listener;
    rpc_server *server;
    dev_t sock_dev; /* our socket file, removed at close only if still ours */
    ino_t sock_ino;
    unix_conn *conns; /* accepted */
    size_t n_conns;
    unix_conn *client;
    int handles; /* open libuv handles: the transport is freed at 0 */
    bool closing;
    int dropped;
    char dropped_why[256];
    char rbuf[READ_CHUNK];
};

typedef struct unix_write {
    uv_write_t req;
    unsigned char hdr[4];
    char *body;
    unix_conn *c;
} unix_write;

static void conn_close(unix_conn *c);

static void maybe_destroy(rpc_unix *u)
{
    if (!u->closing || u->handles > 0)
        return;
    rpc_transport *t = u->t;
    free(u);
    rpc_transport_destroy(t);
}

static void conn_unref(unix_conn *c)
{
    if (--c->refs > 0)
        return;
    rpc_frame_reader_free(&c->reader);
    free(c);
}

static void conn_closed(uv_handle_t *h)
{
    unix_conn *c = h->data;
    rpc_unix *u = c->u;
    u->handles--;
    conn_unref(c);
    maybe_destroy(u);
}

static void conn_unlink(unix_conn *c)
{
    rpc_unix *u = c->u;
    if (c->is_client) {
        u->client = NULL;
        return;
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        u->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    u->n_conns--;
}

static void conn_close(unix_conn *c)
{
    if (!c->open)
        return;
    c->open = false;
    conn_unlink(c);
    uv_close((uv_handle_t *)&c->pipe, conn_closed);
    if (c->is_client) {
        rpc_unix *u = c->u;
        if (!u->closing) {
            char why[512];
            snprintf(why, sizeof(why), "connection to %s lost", u->t->url.describe);
            rpc_client_fail_all(u->t, -ECONNRESET, why);
            if (u->server == NULL)
                rpc_transport_set_up(u->t, false, LOG_LEVEL_INFO, why);
        }
    }
}

static void write_done(uv_write_t *req, int status)
{
    unix_write *w = req->data;
    unix_conn *c = w->c;
    c->writes--;
    if (status != 0 && c->is_client && status != UV_ECANCELED) {
        c->u->dropped++;
        snprintf(c->u->dropped_why, sizeof(c->u->dropped_why), "write to %s failed: %s",
                 c->u->t->url.describe, uv_strerror(status));
    }
    free(w->body);
    free(w);
    if (c->close_when_written && c->writes == 0)
        conn_close(c);
    conn_unref(c);
}

/* Drops the first n bytes of bufs (n within them). */
static void skip_written(uv_buf_t bufs[2], size_t n)
{
    for (int i = 0; i < 2; i++) {
        size_t k = n < bufs[i].len ? n : bufs[i].len;
        bufs[i].base += k;
        bufs[i].len -= k;
        n -= k;
    }
}

/* Queues one frame; takes ownership of body.  Written at once when the
 * socket takes it (no request, no wakeup), else queued in libuv. */
static int conn_write(unix_conn *c, char *body, size_t len)
{
    if (!c->open) {
        free(body);
        return -ENOTCONN;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > WRITE_QUEUE_MAX) {
        free(body);
        /* A client's own calls are refused, not failed with the rest of the
         * connection: the caller of send still holds the one being sent. */
        if (c->is_client)
            return -ENOBUFS;
        log_warning("rpc: unix peer does not read its replies; closing the connection");
        conn_close(c);
        return -ENOBUFS;
    }
    unix_write *w = sca_malloc(sizeof(*w));
    rpc_frame_header(len, w->hdr);
    uv_buf_t bufs[2] = {uv_buf_init((char *)w->hdr, 4), uv_buf_init(body, (unsigned)len)};
    int n = uv_try_write((uv_stream_t *)&c->pipe, bufs, 2);
    if (n == (int)(len + 4)) {
        free(body);
        free(w);
        return 0;
    }
    if (n < 0 && n != UV_EAGAIN) {
        free(body);
        free(w);
        return n;
    }
    skip_written(bufs, n > 0 ? (size_t)n : 0);
    w->body = body;
    w->c = c;
    w->req.data = w;
    int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, bufs, 2, write_done);
    if (rc != 0) {
        free(body);
        free(w);
        return rc;
    }
    c->writes++;
    c->refs++;
    return 0;
}

/* --- Origin: how a request answers ----------------------------------------- */

static void origin_send(rpc_origin *o, const char *reply_q, char *body, size_t len)
{
    (void)reply_q;
    unix_conn *c = (unix_conn *)o;
    int rc = conn_write(c, body, len);
    if (rc != 0 && rc != -ENOTCONN && rc != -ENOBUFS)
        log_warning("rpc: cannot send reply: %s", uv_strerror(rc));
}

static void origin_hold(rpc_origin *o)
{
    unix_conn *c = (unix_conn *)o;
    c->refs++;
    if (++c->inflight >= INFLIGHT_PAUSE && c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void origin_release(rpc_origin *o)
{
    unix_conn *c = (unix_conn *)o;
    c->inflight--;
    if (!c->reading && c->open && c->inflight < INFLIGHT_RESUME) {
        c->reading = true;
        uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read);
    }
    conn_unref(c);
}

static int origin_peer_uid(const rpc_origin *o, uid_t *uid)
{
    const unix_conn *c = (const unix_conn *)o;
    if (!c->have_uid)
        return -ENOENT;
    *uid = c->uid;
    return 0;
}

static const rpc_origin_ops unix_origin_ops = {
    .send = origin_send,
    .hold = origin_hold,
    .release = origin_release,
    .peer_uid = origin_peer_uid,
    .needs_reply_q = false,
};

/* --- Reading frames -------------------------------------------------------- */

static int on_frame(void *arg, const char *body, size_t len)
{
    unix_conn *c = arg;
    rpc_unix *u = c->u;
    if (c->is_client)
        rpc_client_receive(u->t, body, len);
    else if (u->server != NULL)
        rpc_server_receive(u->server, &c->origin, NULL, body, len);
    /* A handler may have closed the connection or the server. */
    return c->open && (c->is_client || u->server != NULL) ? 0 : 1;
}

/* A frame length over the limit: answer if its ids can be read, then hang
 * up, since a peer sending such frames is broken or hostile. */
static int on_oversize(void *arg, uint64_t len, const rpc_clip *clip)
{
    unix_conn *c = arg;
    rpc_unix *u = c->u;
    if (c->is_client) {
        /* The stream cannot be resynchronised: the other calls fail too. */
        rpc_client_refuse(u->t, len, clip);
        conn_close(c);
        return 1;
    }
    if (u->server != NULL)
        rpc_server_refuse(u->server, &c->origin, len, clip);
    c->close_when_written = true;
    if (c->writes == 0)
        conn_close(c);
    else if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
    return 1;
}

static const rpc_frame_sink frame_sink = {.frame = on_frame, .oversize = on_oversize};

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    unix_conn *c = h->data;
    /* Reads are consumed before the next one: one buffer serves all. */
    *buf = uv_buf_init(c->u->rbuf, sizeof(c->u->rbuf));
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    unix_conn *c = stream->data;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_debug("rpc: unix connection: %s", uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    c->refs++; /* the sink may close c */
    rpc_frame_feed(&c->reader, buf->base, (size_t)nread, &frame_sink, c);
    conn_unref(c);
}

static unix_conn *conn_new(rpc_unix *u, bool is_client)
{
    unix_conn *c = sca_calloc(1, sizeof(*c));
    c->origin.ops = &unix_origin_ops;
    c->u = u;
    c->refs = 1;
    c->open = true;
    c->is_client = is_client;
    rpc_frame_reader_init(&c->reader, u->t->max_message_size);
    uv_pipe_init(u->t->loop, &c->pipe, 0);
    c->pipe.data = c;
    u->handles++;
    return c;
}

static void conn_start(unix_conn *c)
{
    c->reading = true;
    uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read);
}

/* --- Server side ----------------------------------------------------------- */

static void read_peer_uid(unix_conn *c)
{
    uv_os_fd_t fd;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        c->uid = cred.uid;
        c->have_uid = true;
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    rpc_unix *u = listener->data;
    if (status != 0) {
        log_warning("rpc: accept on %s: %s", u->t->url.describe, uv_strerror(status));
        return;
    }
    unix_conn *c = conn_new(u, false);
    if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0) {
        c->open = false;
        uv_close((uv_handle_t *)&c->pipe, conn_closed);
        return;
    }
    c->next = u->conns;
    if (u->conns != NULL)
        u->conns->prev = c;
    u->conns = c;
    u->n_conns++;
    if (u->n_conns > MAX_CONNS) {
        log_warning("rpc: more than %d connections on %s; refusing one", MAX_CONNS,
                    u->t->url.describe);
        conn_close(c);
        return;
    }
    read_peer_uid(c);
    conn_start(c);
}

/* 0 when something accepts connections at path. */
int rpc_unix_probe(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN ? 0 : -errno;
    close(fd);
    return rc;
}

/* A socket file left by a dead server is removed; a live one is kept. */
static int clear_stale(const char *path, sca_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : sca_error_set(err, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return sca_error_set(err, -EEXIST, "%s exists and is not a socket", path);
    int rc = rpc_unix_probe(path);
    if (rc == 0)
        return sca_error_set(err, -EADDRINUSE, "another server is listening on %s", path);
    if (rc != -ECONNREFUSED && rc != -ENOENT)
        return sca_error_set(err, rc, "cannot probe %s: %s", path, strerror(-rc));
    log_info("rpc: removing stale socket %s", path);
    if (unlink(path) != 0 && errno != ENOENT)
        return sca_error_set(err, -errno, "cannot remove stale socket %s: %s", path,
                             strerror(errno));
    return 0;
}

static int make_parent(const char *path, sca_error *err)
{
    char *copy = sca_strdup(path);
    int rc = sca_mkdir_p(dirname(copy), DIR_MODE, err);
    free(copy);
    return rc;
}

/* Binds under a temporary name, sets the mode, then renames into place, so
 * the socket is never reachable with a wider mode. */
static int bind_socket(rpc_unix *u, const char *path, sca_error *err)
{
    char *tmp = sca_asprintf("%s.%d.tmp", path, (int)getpid());
    bool via_tmp = strlen(tmp) < sizeof(((struct sockaddr_un *)NULL)->sun_path);
    const char *name = via_tmp ? tmp : path;
    int rc;
    if (via_tmp)
        unlink(tmp);
    if ((rc = uv_pipe_bind(u->listener, name)) != 0)
        rc = sca_error_set(err, rc, "cannot bind %s: %s", name, uv_strerror(rc));
    else if (chmod(name, SOCKET_MODE) != 0)
        rc = sca_error_set(err, -errno, "cannot chmod %s: %s", name, strerror(errno));
    else if (via_tmp && rename(tmp, path) != 0)
        rc = sca_error_set(err, -errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc != 0 && via_tmp)
        unlink(tmp);
    free(tmp);
    return rc;
}

static void listener_closed(uv_handle_t *h)
{
    rpc_unix *u = h->data;
    free(h);
    u->handles--;
    maybe_destroy(u);
}

static void remove_socket_file(rpc_unix *u)
{
    struct stat st;
    const char *path = u->t->url.path;
    if (stat(path, &st) == 0 && st.st_dev == u->sock_dev && st.st_ino == u->sock_ino)
        unlink(path);
}

static void stop_listening(rpc_unix *u)
{
    if (u->listener == NULL)
        return;
    remove_socket_file(u);
    uv_close((uv_handle_t *)u->listener, listener_closed);
    u->listener = NULL;
    while (u->conns != NULL)
        conn_close(u->conns);
}

static int unix_listen(rpc_transport *t, rpc_server *s, sca_error *err)
{
    rpc_unix *u = t->impl;
    const char *path = t->url.path;
    if (u->server != NULL)
        return sca_error_set(err, -EBUSY, "%s already has a server", t->url.describe);
    int rc = make_parent(path, err);
    if (rc == 0)
        rc = clear_stale(path, err);
    if (rc != 0)
        return rc;
    u->listener = sca_malloc(sizeof(*u->listener));
    uv_pipe_init(t->loop, u->listener, 0);
    u->listener->data = u;
    u->handles++;
    rc = bind_socket(u, path, err);
    struct stat st;
    if (rc == 0 && stat(path, &st) == 0) {
        u->sock_dev = st.st_dev;
        u->sock_ino = st.st_ino;
    }
    if (rc == 0 && (rc = uv_listen((uv_stream_t *)u->listener, LISTEN_BACKLOG, on_connection)) != 0)
        rc = sca_error_set(err, rc, "cannot listen on %s: %s", path, uv_strerror(rc));
    if (rc != 0) {
        stop_listening(u);
        return rc;
    }
    u->server = s;
    s->impl = u;
    rpc_transport_set_up(t, true, LOG_LEVEL_INFO, "listening");
    return 0;
}

static void unix_unlisten(rpc_transport *t, rpc_server *s)
{
    rpc_unix *u = t->impl;
    if (u->server != s)
        return;
    u->server = NULL;
    s->impl = NULL;
    stop_listening(u);
    if (u->client == NULL)
        rpc_transport_set_up(t, false, LOG_LEVEL_INFO, "stopped listening");
}

/* --- Client side ----------------------------------------------------------- */

static int client_connect(rpc_unix *u, sca_error *err)
{
    const char *path = u->t->url.path;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    /* Non-blocking: a full backlog is an error now, not a stalled loop. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return sca_error_set(err, -errno, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        if (e == EAGAIN)
            return sca_error_set(err, -EAGAIN, "%s is busy (listen backlog full)", path);
        return sca_error_set(err, -e, "cannot connect to %s: %s", u->t->url.describe, strerror(e));
    }
    unix_conn *c = conn_new(u, true);
    int rc = uv_pipe_open(&c->pipe, fd);
    if (rc != 0) {
        close(fd);
        c->open = false;
        uv_close((uv_handle_t *)&c->pipe, conn_closed);
        return sca_error_set(err, rc, "cannot use %s: %s", path, uv_strerror(rc));
    }
    u->client = c;
    conn_start(c);
    if (u->server == NULL)
        rpc_transport_set_up(u->t, true, LOG_LEVEL_DEBUG, "connected");
    return 0;
}

static const char *unix_reply_queue(rpc_transport *t)
{
    (void)t;
    return NULL;
}

static int unix_send(rpc_transport *t, const rpc_target *target, enum rpc_send_kind kind,
                     double timeout, const char *msg_id, char *body, size_t len, sca_error *err)
{
    (void)target;
    (void)kind;
    (void)timeout;
    (void)msg_id;
    rpc_unix *u = t->impl;
    int rc = 0;
    if (u->client == NULL)
        rc = client_connect(u, err);
    if (rc != 0) {
        free(body);
        return rc;
    }
    rc = conn_write(u->client, body, len);
    if (rc == -ENOBUFS)
        return sca_error_set(err, rc, "send buffer to %s is full (%d MiB the server has not read)",
                             t->url.describe, WRITE_QUEUE_MAX >> 20);
    if (rc != 0)
        return sca_error_set(err, rc, "cannot send to %s: %s", t->url.describe, uv_strerror(rc));
    return 0;
}

static int unix_unsent(rpc_transport *t, sca_error *err)
{
    rpc_unix *u = t->impl;
    if (u->dropped > 0) {
        int rc = sca_error_set(err, -EIO, "%d messages lost: %s", u->dropped, u->dropped_why);
        u->dropped = 0;
        return rc;
    }
    return u->client != NULL ? (int)u->client->writes : 0;
}

/* rpc_count_listeners: one server at most, told from the loop. */
typedef struct unix_count {
    uv_timer_t timer;
    rpc_unix *u;
    rpc_count_cb cb;
    void *arg;
    unsigned count;
} unix_count;

static void count_closed(uv_handle_t *h)
{
    unix_count *q = h->data;
    rpc_unix *u = q->u;
    free(q);
    u->handles--;
    maybe_destroy(u);
}

static void count_told(uv_timer_t *timer)
{
    unix_count *q = timer->data;
    if (q->u->closing)
        q->cb(-ECANCELED, 0, "the transport was closed", q->arg);
    else
        q->cb(0, q->count, NULL, q->arg);
    uv_close((uv_handle_t *)timer, count_closed);
}

static int unix_count_listeners(rpc_transport *t, const rpc_target *target, rpc_count_cb cb,
                                void *arg, sca_error *err)
{
    (void)target;
    (void)err;
    rpc_unix *u = t->impl;
    unix_count *q = sca_calloc(1, sizeof(*q));
    q->u = u;
    q->cb = cb;
    q->arg = arg;
    q->count = (u->client != NULL && u->client->open) || rpc_unix_probe(t->url.path) == 0;
    uv_timer_init(t->loop, &q->timer);
    q->timer.data = q;
    u->handles++;
    uv_timer_start(&q->timer, count_told, 0, 0);
    return 0;
}

static int unix_open(rpc_transport *t, const rpc_url *url, sca_error *err)
{
    (void)url;
    (void)err;
    rpc_unix *u = sca_calloc(1, sizeof(*u));
    u->t = t;
    t->impl = u;
    return 0;
}

static void unix_close(rpc_transport *t)
{
    rpc_unix *u = t->impl;
    u->closing = true;
    stop_listening(u);
    if (u->client != NULL)
        conn_close(u->client);
    maybe_destroy(u);
}

const rpc_carrier rpc_unix_carrier = {
    .name = "unix",
    .open = unix_open,
    .close = unix_close,
    .reply_queue = unix_reply_queue,
    .send = unix_send,
    .listen = unix_listen,
    .unlisten = unix_unlisten,
    .count_listeners = unix_count_listeners,
    .unsent = unix_unsent,
};
