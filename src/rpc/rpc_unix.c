/* rpc_unix.c - the local carrier: oslo envelope bodies in 4-byte big-endian
 * length-prefixed frames on a unix stream socket.  A server accepts many
 * clients; replies go back on the connection the call came from and are
 * matched by _msg_id.  The caller's uid (SO_PEERCRED) reaches handlers.
 *
 * Local users can open connections and leave them: a server closes the
 * ones that stay idle, hold a frame unfinished or leave their replies
 * unread for idle_timeout, keeps room beyond its limit for root and its
 * own user, and answers the first request of a connection it has no room
 * for with the reason before closing it. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
#define MAX_CONNS 1024         /* connections from anyone */
#define ADMIN_RESERVE 16       /* more, from root and the server's own user only */
#define REFUSING_MAX 64        /* refused connections kept to be told why */
#define REFUSE_WAIT_MS 2000    /* how long a refused one has to send its request */
#define REFUSE_FRAME_MAX 16384 /* of a refused request, read whole (longer: its ends) */
#define OTHER_FDS 64           /* descriptors the rest of the process may need */
#define INFLIGHT_PAUSE 256     /* requests per connection before reading pauses */
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
    bool admin;    /* root or the server's own user */
    bool refusing; /* over the limit: answered with the reason, then closed */
    uid_t uid;
    uint64_t active_at; /* loop ms: accepted, last read, last write done */
    uint64_t frame_at;  /* loop ms: the unfinished frame began; 0 = none */
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
    unix_conn *conns; /* accepted, newest first */
    size_t n_conns;
    unix_conn *refused; /* over the limit, newest first */
    size_t n_refused;
    size_t max_conns;      /* MAX_CONNS, or fewer when descriptors are short */
    uv_timer_t *sweeper;   /* closes connections idle for too long */
    uint64_t tick_ms;      /* its period */
    uint64_t last_sweep;   /* loop ms */
    double refusal_logged; /* sca_monotonic() of the last refusal warning */
    unsigned refusals_unlogged;
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

static void conn_link(unix_conn *c)
{
    rpc_unix *u = c->u;
    unix_conn **head = c->refusing ? &u->refused : &u->conns;
    c->next = *head;
    if (*head != NULL)
        (*head)->prev = c;
    *head = c;
    if (c->refusing)
        u->n_refused++;
    else
        u->n_conns++;
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
    else if (c->refusing)
        u->refused = c->next;
    else
        u->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->refusing)
        u->n_refused--;
    else
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
    c->active_at = uv_now(c->u->t->loop);
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
    /* Written, or the first write to wait for the peer: the peer is
     * judged from here on (sweep). */
    if (n == (int)(len + 4) || c->writes == 0)
        c->active_at = uv_now(c->u->t->loop);
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
    c->active_at = uv_now(c->u->t->loop);
    if (!c->reading && c->open && !c->close_when_written && c->inflight < INFLIGHT_RESUME) {
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

/* c has had its answer: it ends once that is written, and is read no more. */
static void conn_finish(unix_conn *c)
{
    c->close_when_written = true;
    if (c->writes == 0)
        conn_close(c);
    else if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
}

/* The first request of a connection over the limit (body, or the ends of
 * a longer one in clip): its caller is told why, never served. */
static void turn_away(unix_conn *c, const char *body, size_t len, const rpc_clip *clip)
{
    rpc_unix *u = c->u;
    char msg_id[RPC_ID_MAX + 1] = "", reply_q[RPC_ID_MAX + 1] = "";
    if (clip != NULL)
        rpc_clip_sniff(clip, msg_id, reply_q);
    else
        rpc_envelope_sniff(body, len, msg_id, reply_q);
    if (u->server != NULL && msg_id[0] != '\0') {
        rpc_fault fault;
        /* The module of the agent's own errors (docs/agent.md). */
        rpc_fault_set(&fault, "TooManyConnections", "scalpels.errors",
                      "refusing connections: too many open (%zu on %s); root and the server's "
                      "own user may still connect",
                      u->n_conns, u->t->url.describe);
        rpc_server_answer_fault(u->server, &c->origin, msg_id, NULL, &fault);
    }
    conn_finish(c);
}

static int on_frame(void *arg, const char *body, size_t len)
{
    unix_conn *c = arg;
    rpc_unix *u = c->u;
    if (c->refusing) {
        turn_away(c, body, len, NULL);
        return 1;
    }
    if (c->is_client)
        rpc_client_receive(u->t, body, len);
    else if (u->server != NULL)
        rpc_server_receive(u->server, &c->origin, NULL, 0, body, len);
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
    if (c->refusing) {
        turn_away(c, NULL, 0, clip);
        return 1;
    }
    if (u->server != NULL)
        rpc_server_refuse(u->server, &c->origin, len, clip);
    conn_finish(c);
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
    if (nread == 0)
        return;
    uint64_t now = uv_now(stream->loop), frames = c->reader.frames;
    /* A refused connection's time counts from its accept. */
    if (!c->refusing)
        c->active_at = now;
    c->refs++; /* the sink may close c */
    rpc_frame_feed(&c->reader, buf->base, (size_t)nread, &frame_sink, c);
    if (!rpc_frame_reader_partial(&c->reader))
        c->frame_at = 0;
    else if (c->frame_at == 0 || c->reader.frames != frames)
        c->frame_at = now;
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

/* Rate-limited: a flood of connections must not become a flood of logs. */
static void log_refusal(rpc_unix *u, const unix_conn *c)
{
    double now = sca_monotonic();
    if (now - u->refusal_logged < 1) {
        u->refusals_unlogged++;
        return;
    }
    log_warning("rpc: %zu connections open on %s, its limit: refusing one from uid %d (and %u "
                "more since the last warning); root and this server's user still get in",
                u->n_conns, u->t->url.describe, c->have_uid ? (int)c->uid : -1,
                u->refusals_unlogged);
    u->refusal_logged = now;
    u->refusals_unlogged = 0;
}

/* Over the limit: the connection is kept just long enough for its first
 * request (REFUSE_WAIT_MS at most), which is answered with the reason, so
 * that its caller does not take the agent for gone.  When REFUSING_MAX
 * are waiting, the oldest makes room: the newest caller is told. */
static void refuse(unix_conn *c)
{
    rpc_unix *u = c->u;
    log_refusal(u, c);
    if (u->n_refused >= REFUSING_MAX) {
        unix_conn *oldest = u->refused;
        while (oldest->next != NULL)
            oldest = oldest->next;
        conn_close(oldest);
    }
    c->refusing = true;
    rpc_frame_reader_init(&c->reader, REFUSE_FRAME_MAX);
    conn_link(c);
    conn_start(c);
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
    read_peer_uid(c);
    c->admin = c->have_uid && (c->uid == 0 || c->uid == geteuid());
    c->active_at = uv_now(listener->loop);
    if (u->n_conns >= u->max_conns + (c->admin ? ADMIN_RESERVE : 0)) {
        refuse(c);
        return;
    }
    conn_link(c);
    conn_start(c);
}

/* --- Closing what is idle for too long --------------------------------------- */

enum overdue { KEEP, PARTIAL, UNREAD, IDLE }; /* refused ones count as idle */

/* Whether c is to be closed at now, and why. */
static enum overdue overdue(const unix_conn *c, uint64_t now, uint64_t idle_ms)
{
    if (c->refusing)
        return now - c->active_at >= REFUSE_WAIT_MS ? IDLE : KEEP;
    /* Not while reading is paused: the rest may be waiting unread. */
    if (c->frame_at != 0 && c->reading)
        return now - c->frame_at >= idle_ms ? PARTIAL : KEEP;
    if (c->writes > 0)
        return now - c->active_at >= idle_ms ? UNREAD : KEEP;
    if (c->inflight == 0 && c->frame_at == 0)
        return now - c->active_at >= idle_ms ? IDLE : KEEP;
    return KEEP;
}

static void sweep_list(unix_conn *c, uint64_t now, uint64_t idle_ms, unsigned counts[IDLE + 1])
{
    while (c != NULL) {
        unix_conn *next = c->next;
        enum overdue why = overdue(c, now, idle_ms);
        if (why != KEEP) {
            counts[why]++;
            conn_close(c);
        }
        c = next;
    }
}

static void on_sweep(uv_timer_t *timer)
{
    rpc_unix *u = timer->data;
    uint64_t now = uv_now(timer->loop);
    bool stalled = now - u->last_sweep > 2 * u->tick_ms + 50;
    u->last_sweep = now;
    /* The loop was held up (a long handler): what peers sent meanwhile is
     * still unread, so they are judged at the next tick. */
    if (stalled)
        return;
    uint64_t idle_ms = (uint64_t)(u->t->idle_timeout * 1000);
    unsigned counts[IDLE + 1] = {0};
    sweep_list(u->refused, now, idle_ms, counts);
    sweep_list(u->conns, now, idle_ms, counts);
    if (counts[PARTIAL] > 0)
        log_warning("rpc: closed %u connections on %s that held a frame unfinished for %gs",
                    counts[PARTIAL], u->t->url.describe, u->t->idle_timeout);
    if (counts[UNREAD] > 0)
        log_warning("rpc: closed %u connections on %s that left their replies unread for %gs",
                    counts[UNREAD], u->t->url.describe, u->t->idle_timeout);
    if (counts[IDLE] > 0)
        log_debug("rpc: closed %u idle connections on %s", counts[IDLE], u->t->url.describe);
}

static void sweeper_closed(uv_handle_t *h)
{
    rpc_unix *u = h->data;
    free(h);
    u->handles--;
    maybe_destroy(u);
}

static void start_sweeper(rpc_unix *u)
{
    /* A quarter of the timeout, so a connection goes within 1.25 times it. */
    double tick = fmin(fmax(u->t->idle_timeout / 4, 0.05), 1.0);
    u->tick_ms = (uint64_t)(tick * 1000);
    u->sweeper = sca_malloc(sizeof(*u->sweeper));
    uv_timer_init(u->t->loop, u->sweeper);
    u->sweeper->data = u;
    u->handles++;
    u->last_sweep = uv_now(u->t->loop);
    uv_timer_start(u->sweeper, on_sweep, u->tick_ms, u->tick_ms);
}

/* MAX_CONNS, or fewer when the process may not open that many
 * descriptors besides the rest it needs. */
static size_t conn_limit(const rpc_unix *u)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return MAX_CONNS;
    rlim_t others = OTHER_FDS + ADMIN_RESERVE + REFUSING_MAX;
    rlim_t room = rl.rlim_cur > others + 16 ? rl.rlim_cur - others : 16;
    if (room >= MAX_CONNS)
        return MAX_CONNS;
    log_warning("rpc: %s takes %lu connections, not %d: the process may open only %lu files "
                "(raise its RLIMIT_NOFILE, systemd's LimitNOFILE)",
                u->t->url.describe, (unsigned long)room, MAX_CONNS, (unsigned long)rl.rlim_cur);
    return (size_t)room;
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
    if (u->sweeper != NULL) {
        uv_close((uv_handle_t *)u->sweeper, sweeper_closed);
        u->sweeper = NULL;
    }
    if (u->listener == NULL)
        return;
    remove_socket_file(u);
    uv_close((uv_handle_t *)u->listener, listener_closed);
    u->listener = NULL;
    while (u->conns != NULL)
        conn_close(u->conns);
    while (u->refused != NULL)
        conn_close(u->refused);
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
    u->max_conns = conn_limit(u);
    start_sweeper(u);
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
    .expiration_in_body = true,
};
