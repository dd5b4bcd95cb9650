/* rpc_url.c - transport URL parsing (see rpc_url.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "rpc_url.h"
#include "scalpels/util.h"

#define AMQP_PORT 5672
#define AMQPS_PORT 5671

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape or an
 * encoded NUL. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = sca_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static int parse_port(const char *s, size_t n, int *port)
{
    if (n == 0 || n > 5)
        return -EINVAL;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -EINVAL;
    *port = v;
    return 0;
}

/* host, [v6] or host:port, [v6]:port */
static int parse_hostport(const char *s, size_t n, rpc_broker *b, sca_error *err)
{
    const char *colon = NULL;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return sca_error_set(err, -EINVAL, "unterminated [ in broker address");
        b->host = sca_strndup(s + 1, (size_t)(close - s - 1));
        if ((size_t)(close - s) + 1 < n) {
            if (close[1] != ':')
                return sca_error_set(err, -EINVAL, "junk after ] in broker address");
            colon = close + 1;
        }
    } else {
        colon = memchr(s, ':', n);
        b->host = sca_strndup(s, colon != NULL ? (size_t)(colon - s) : n);
    }
    if (b->host[0] == '\0')
        return sca_error_set(err, -EINVAL, "broker address has no host");
    if (colon != NULL && parse_port(colon + 1, n - (size_t)(colon + 1 - s), &b->port) != 0)
        return sca_error_set(err, -EINVAL, "invalid port in broker address '%.*s'", (int)n, s);
    return 0;
}

static int parse_userinfo(const char *s, size_t n, rpc_broker *b, sca_error *err)
{
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon != NULL ? (size_t)(colon - s) : n;
    b->user = pct_decode(s, ulen);
    b->password = colon != NULL ? pct_decode(colon + 1, n - ulen - 1) : sca_strdup("guest");
    if (b->user == NULL || b->password == NULL)
        return sca_error_set(err, -EINVAL, "bad percent-escape in broker credentials");
    return 0;
}

/* One comma-separated broker: [userinfo@]hostport[/vhost]. */
static int parse_broker(const char *s, size_t n, rpc_broker *b, sca_error *err)
{
    const char *slash = memchr(s, '/', n);
    size_t netloc = slash != NULL ? (size_t)(slash - s) : n;
    const char *at = NULL;
    for (size_t i = 0; i < netloc; i++) {
        if (s[i] == '@')
            at = s + i;
    }
    int rc = 0;
    if (at != NULL)
        rc = parse_userinfo(s, (size_t)(at - s), b, err);
    const char *hp = at != NULL ? at + 1 : s;
    if (rc == 0)
        rc = parse_hostport(hp, netloc - (size_t)(hp - s), b, err);
    if (rc == 0 && slash != NULL) {
        b->vhost = pct_decode(slash + 1, n - netloc - 1);
        if (b->vhost == NULL)
            rc = sca_error_set(err, -EINVAL, "bad percent-escape in vhost");
    }
    return rc;
}

static bool truthy(const char *v, size_t n)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strlen(yes[i]) == n && strncasecmp(v, yes[i], n) == 0)
            return true;
    }
    return false;
}

static bool query_key_is(const char *q, const char *eq, const char *key)
{
    return (size_t)(eq - q) == strlen(key) && strncmp(q, key, strlen(key)) == 0;
}

/* ssl, and the two oslo options that change what is declared; oslo's
 * other options are accepted and ignored. */
static void parse_query(const char *q, rpc_url *u)
{
    while (*q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        if (eq != NULL) {
            const char *v = eq + 1;
            size_t vn = n - (size_t)(v - q);
            if (query_key_is(q, eq, "ssl"))
                u->ssl = truthy(v, vn);
            else if (query_key_is(q, eq, "amqp_durable_queues"))
                u->durable_queues = truthy(v, vn);
            else if (query_key_is(q, eq, "rabbit_quorum_queue"))
                u->quorum_queues = truthy(v, vn);
        }
        q += n;
        if (*q == '&')
            q++;
    }
}

static void fill_defaults(rpc_url *u)
{
    const char *last_vhost = NULL;
    for (size_t i = u->n_brokers; i-- > 0;) {
        if (u->brokers[i].vhost != NULL) {
            last_vhost = u->brokers[i].vhost;
            break;
        }
    }
    for (size_t i = 0; i < u->n_brokers; i++) {
        rpc_broker *b = &u->brokers[i];
        if (b->vhost == NULL)
            b->vhost = sca_strdup(last_vhost != NULL ? last_vhost : "/");
        if (b->vhost[0] == '\0') {
            free(b->vhost);
            b->vhost = sca_strdup("/");
        }
        if (b->user == NULL)
            b->user = sca_strdup("guest");
        if (b->password == NULL)
            b->password = sca_strdup("guest");
        if (b->port == 0)
            b->port = u->ssl ? AMQPS_PORT : AMQP_PORT;
    }
}

static void describe_rabbit(rpc_url *u)
{
    sca_buf b = {0};
    sca_buf_appendf(&b, "rabbit://");
    for (size_t i = 0; i < u->n_brokers; i++) {
        const rpc_broker *br = &u->brokers[i];
        bool v6 = strchr(br->host, ':') != NULL;
        sca_buf_appendf(&b, "%s%s%s%s:%d", i > 0 ? "," : "", v6 ? "[" : "", br->host, v6 ? "]" : "",
                        br->port);
    }
    const char *vhost = u->brokers[u->n_brokers - 1].vhost;
    sca_buf_appendf(&b, "/%s%s", strcmp(vhost, "/") == 0 ? "" : vhost, u->ssl ? "?ssl=1" : "");
    u->describe = b.data;
}

static int parse_rabbit(const char *rest, rpc_url *u, sca_error *err)
{
    const char *qmark = strchr(rest, '?');
    size_t len = qmark != NULL ? (size_t)(qmark - rest) : strlen(rest);
    u->kind = RPC_URL_RABBIT;
    if (qmark != NULL)
        parse_query(qmark + 1, u);
    const char *p = rest;
    const char *end = rest + len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        u->brokers = sca_realloc(u->brokers, (u->n_brokers + 1) * sizeof(*u->brokers));
        rpc_broker *b = &u->brokers[u->n_brokers++];
        memset(b, 0, sizeof(*b));
        if (stop == p)
            return sca_error_set(err, -EINVAL, "empty broker address in URL");
        int rc = parse_broker(p, (size_t)(stop - p), b, err);
        if (rc != 0)
            return rc;
        p = stop + 1;
    }
    fill_defaults(u);
    describe_rabbit(u);
    return 0;
}

static int parse_unix(const char *path, rpc_url *u, sca_error *err)
{
    u->kind = RPC_URL_UNIX;
    if (path[0] != '/')
        return sca_error_set(err, -EINVAL, "unix socket path must be absolute: unix:///path");
    if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
        return sca_error_set(err, -ENAMETOOLONG, "unix socket path too long: %s", path);
    u->path = sca_strdup(path);
    u->describe = sca_asprintf("unix://%s", path);
    return 0;
}

int rpc_url_parse(const char *url, rpc_url *out, sca_error *err)
{
    memset(out, 0, sizeof(*out));
    out->durable_queues = out->quorum_queues = -1;
    int rc;
    if (strncmp(url, "rabbit://", 9) == 0)
        rc = parse_rabbit(url + 9, out, err);
    else if (strncmp(url, "amqp://", 7) == 0)
        rc = parse_rabbit(url + 7, out, err);
    else if (strncmp(url, "unix://", 7) == 0)
        rc = parse_unix(url + 7, out, err);
    else
        rc = sca_error_set(err, -EINVAL, "unsupported transport URL (want rabbit:// or unix://)");
    if (rc != 0) {
        sca_error_prefix(err, "transport URL");
        rpc_url_free(out);
    }
    return rc;
}

void rpc_url_free(rpc_url *u)
{
    for (size_t i = 0; i < u->n_brokers; i++) {
        free(u->brokers[i].host);
        free(u->brokers[i].user);
        free(u->brokers[i].password);
        free(u->brokers[i].vhost);
    }
    free(u->brokers);
    free(u->path);
    free(u->describe);
    memset(u, 0, sizeof(*u));
}
