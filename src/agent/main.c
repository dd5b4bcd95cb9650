/*
 * sca-agent - the per-node daemon: serves RPC requests, runs one sca-tracer
 * per running tracer and answers reads from the node's store.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "scalpels/log.h"
#include "scalpels/paths.h"
#include "scalpels/util.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: sca-agent [--config FILE] [--host NAME] [--foreground]\n"
               "\n"
               "Serves Scalpels RPC requests on this node: over the unix socket\n"
               "STATE_DIR/agent.sock when transport_url is empty, else over AMQP on topic\n"
               "TOPIC, TOPIC.HOST and TOPIC_fanout and, for sca-manage, on that socket too.\n"
               "Starts one sca-tracer per running tracer.\n"
               "SIGTERM, SIGINT or 'sca-manage stop' end it; running tracers keep tracing\n"
               "and the next agent adopts them.\n"
               "\n"
               "  -c, --config FILE  configuration file (default: $SCALPELS_CONF, then\n"
               "                     " CONFIG_SYSTEM_PATH ")\n"
               "      --host NAME    this node's name (default: [agent] host, else hostname)\n"
               "  -f, --foreground   stay attached and log to stderr; without it the agent\n"
               "                     detaches once listening and logs to STATE_DIR/agent.log\n"
               "  -h, --help         show this help\n");
}

#define AGENT_STOP_GRACE 10  /* seconds for the requests being handled at a stop */
#define DETACH_WAIT_MS 15000 /* for the broker link, before detaching anyway */

static void close_transports(agent *a)
{
    for (int i = 0; i < 2; i++) {
        rpc_server_free(a->server[i]);
        a->server[i] = NULL;
        rpc_transport_free(a->transport[i]);
        a->transport[i] = NULL;
    }
}

static void detach_release(agent *a, const char *warning);

static void shutdown_finish(agent *a)
{
    detach_release(a, "warning: stopped before it connected to the broker");
    close_transports(a);
    children_close(a);
    tasks_close(a);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
}

static void on_server_stopped(rpc_server *s, size_t dropped, void *arg)
{
    agent *a = arg;
    (void)s;
    if (dropped > 0)
        log_warning("%zu requests still being handled after %gs are dropped", dropped,
                    (double)AGENT_STOP_GRACE);
    if (--a->draining == 0)
        shutdown_finish(a);
}

/* The servers take nothing new and answer what they took (a read on the
 * thread pool, the reply to `stop` itself); then everything closes. */
static void on_shutdown_timer(uv_timer_t *t)
{
    agent *a = t->data;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    for (int i = 0; i < 2; i++)
        a->draining += a->server[i] != NULL;
    if (a->draining == 0) {
        shutdown_finish(a);
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (a->server[i] != NULL)
            rpc_server_stop(a->server[i], AGENT_STOP_GRACE, on_server_stopped, a);
    }
}

void agent_shutdown(agent *a)
{
    if (a->stopping)
        return;
    a->stopping = true;
    log_info("stopping; running tracers keep tracing");
    /* Give the reply to a `stop` request a moment to leave. */
    uv_timer_t *t = sca_malloc(sizeof(*t));
    uv_timer_init(a->loop, t);
    t->data = a;
    uv_timer_start(t, on_shutdown_timer, 100, 0);
}

static void on_signal(uv_signal_t *h, int signo)
{
    log_info("%s received", strsignal(signo));
    agent_shutdown(h->data);
}

static int open_store(agent *a, sca_error *err)
{
    int rc = store_open(a->cfg.db_path, 0, &a->store, err);
    if (rc == -ENOENT)
        sca_error_set(err, rc,
                      "database %s does not exist: create it with 'sca-manage db-create' first",
                      a->cfg.db_path);
    return rc;
}

static int listen_on(agent *a, int slot, const char *url, sca_error *err)
{
    rpc_options opts = {
        .exchange = a->cfg.control_exchange,
        .heartbeat = a->cfg.heartbeat,
        .max_message_size = a->cfg.max_message_size,
        .durable_queues = a->cfg.amqp_durable_queues,
        .quorum_queues = a->cfg.rabbit_quorum_queue,
        .ssl_ca_file = a->cfg.ssl_ca_file,
        .ssl_cert_file = a->cfg.ssl_cert_file,
        .ssl_key_file = a->cfg.ssl_key_file,
        .ssl_verify = a->cfg.ssl_verify,
        .program = "sca-agent",
    };
    int rc = rpc_transport_new(a->loop, url, &opts, &a->transport[slot], err);
    if (rc != 0)
        return rc;
    /* The original's endpoints had version 1.0; clients sending "1.0" (or
     * nothing) match it. */
    static rpc_endpoint endpoints[2] = {
        {NULL, "1.0", methods_table, NULL},
        {NULL, "1.0", reads_table, NULL},
    };
    endpoints[0].arg = endpoints[1].arg = a;
    return rpc_server_new(a->transport[slot], a->cfg.topic, a->cfg.host, endpoints, 2,
                          &a->server[slot], err);
}

static int start_listening(agent *a, sca_error *err)
{
    a->transport_url = config_transport_url(&a->cfg);
    int rc = listen_on(a, 0, a->transport_url, err);
    if (rc != 0 || strncmp(a->transport_url, "unix:", 5) == 0)
        return rc;
    char *local = sca_asprintf("unix://%s/agent.sock", a->cfg.state_dir);
    rc = listen_on(a, 1, local, err);
    free(local);
    return rc;
}

/*
 * Detaching: the agent forks before it starts anything (no threads yet);
 * the parent waits on a pipe until the child reports that it listens (or
 * why it could not), so that `sca-agent && sca ...` works.
 */
static int detach_begin(int *ready_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        close(fds[0]);
        setsid();
        *ready_fd = fds[1];
        return 0;
    }
    close(fds[1]);
    char msg[SCA_ERRMSG_MAX];
    ssize_t n, got = 0;
    while ((n = read(fds[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0)
        got += n;
    msg[got > 0 ? got : 0] = '\0';
    if (got > 0 && msg[0] == '\0') {
        if (got > 1)
            fprintf(stderr, "sca-agent: %s\n", msg + 1);
        _exit(0);
    }
    fprintf(stderr, "sca-agent: %s\n", got > 0 ? msg : "exited during start-up");
    _exit(1);
}

/* In the detached child, before start-up: log lines go to
 * STATE_DIR/agent.log from here on, so that what start-up finds (tracers
 * adopted or found gone, where it listens) is in the log and not on the
 * terminal the agent leaves.  Returns whether the log is open. */
static bool detach_log_open(const agent *a)
{
    sca_error ignored = {0};
    if (sca_mkdir_p(a->cfg.state_dir, 0755, &ignored) != 0)
        return false;
    char *logpath = sca_asprintf("%s/agent.log", a->cfg.state_dir);
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    free(logpath);
    if (logfd < 0)
        return false;
    bool open_ok = dup2(logfd, STDERR_FILENO) == STDERR_FILENO;
    close(logfd);
    return open_ok;
}

/* Reports the start-up outcome to the waiting parent, which prints a
 * failure (rc != 0) or a warning (started, with something to say), and
 * drops the terminal: stdio to /dev/null, and stderr too when the log could
 * not be opened. */
static void detach_finish(int ready_fd, bool log_open, int rc, const char *msg)
{
    if (ready_fd < 0)
        return;
    if (rc != 0) {
        ssize_t w = write(ready_fd, msg, strlen(msg));
        (void)w;
        close(ready_fd);
        return;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        if (!log_open)
            dup2(devnull, STDERR_FILENO);
        close(devnull);
    }
    /* A NUL first says "started"; a warning may follow. */
    ssize_t w = write(ready_fd, "", 1);
    if (msg != NULL && w == 1)
        w = write(ready_fd, msg, strlen(msg));
    (void)w;
    close(ready_fd);
}

static void detach_release(agent *a, const char *warning)
{
    if (a->detach_fd < 0)
        return;
    detach_finish(a->detach_fd, a->detach_log_open, 0, warning);
    a->detach_fd = -1;
    rpc_transport_on_state(a->transport[0], NULL, NULL);
    uv_close((uv_handle_t *)a->detach_timer, (uv_close_cb)free);
    a->detach_timer = NULL;
}

static void on_link_state(rpc_transport *t, bool up, const char *detail, void *arg)
{
    (void)t;
    (void)detail;
    if (up)
        detach_release(arg, NULL);
}

static void on_detach_timer(uv_timer_t *timer)
{
    agent *a = timer->data;
    char warning[SCA_ERRMSG_MAX];
    snprintf(warning, sizeof(warning),
             "warning: listening on unix://%s/agent.sock, but not connected to %s within %ds; "
             "it keeps trying (why it cannot: %s/agent.log)",
             a->cfg.state_dir, rpc_transport_describe(a->transport[0]), DETACH_WAIT_MS / 1000,
             a->cfg.state_dir);
    detach_release(a, warning);
}

/* Over AMQP the servers listen once the broker has confirmed their queues:
 * the parent waits for that, so that `sca-agent && sca ...` finds them. */
static void detach_when_linked(agent *a, int ready_fd, bool log_open)
{
    a->detach_fd = ready_fd;
    a->detach_log_open = log_open;
    a->detach_timer = sca_malloc(sizeof(*a->detach_timer));
    uv_timer_init(a->loop, a->detach_timer);
    a->detach_timer->data = a;
    uv_timer_start(a->detach_timer, on_detach_timer, DETACH_WAIT_MS, 0);
    rpc_transport_on_state(a->transport[0], on_link_state, a);
    if (rpc_transport_is_up(a->transport[0]))
        detach_release(a, NULL);
}

static int agent_init(agent *a, sca_error *err)
{
    a->started = sca_now();
    a->tracer_program = paths_program("sca-tracer");
    int rc = sca_mkdir_p(a->cfg.state_dir, 0755, err);
    if (rc == 0)
        rc = open_store(a, err);
    if (rc == 0)
        rc = children_reconcile(a, err);
    if (rc == 0)
        rc = tasks_watch_all(a, err);
    if (rc == 0)
        rc = start_listening(a, err);
    if (rc != 0)
        return rc;
    uv_signal_init(a->loop, &a->sigint);
    uv_signal_init(a->loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    log_info("sca-agent %s on %s (pid %d), database %s", SCA_VERSION, a->cfg.host, (int)getpid(),
             a->cfg.db_path);
    return 0;
}

static void agent_free(agent *a)
{
    close_transports(a);
    children_close(a);
    tasks_close(a);
    uv_run(a->loop, UV_RUN_NOWAIT);
    store_close(a->store);
    free(a->transport_url);
    free(a->tracer_program);
    config_free(&a->cfg);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"host", required_argument, NULL, 'H'},
        {"foreground", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *host = NULL;
    bool foreground = false;
    int opt;
    log_init("sca-agent");
    while ((opt = getopt_long(argc, argv, "c:fh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sca-agent: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    agent a = {0};
    sca_error err = {0};
    if (config_load(&a.cfg, config_path, &err) != 0) {
        fprintf(stderr, "sca-agent: %s\n", err.msg);
        return 2;
    }
    a.config_path = a.cfg.source;
    if (host != NULL) {
        free(a.cfg.host);
        a.cfg.host = sca_strdup(host);
    }
    log_set_level(a.cfg.log_level);
    int ready_fd = -1;
    if (!foreground && detach_begin(&ready_fd) != 0) {
        fprintf(stderr, "sca-agent: cannot detach: %s\n", strerror(errno));
        return 1;
    }
    bool log_open = ready_fd >= 0 && detach_log_open(&a);
    uv_loop_t loop;
    uv_loop_init(&loop);
    a.loop = &loop;
    a.detach_fd = -1;
    int rc = agent_init(&a, &err);
    if (rc == 0 && ready_fd >= 0 && a.server[1] != NULL)
        detach_when_linked(&a, ready_fd, log_open);
    else
        detach_finish(ready_fd, log_open, rc, err.msg);
    if (rc == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
    else if (ready_fd < 0 || log_open)
        log_error("%s", err.msg); /* else the waiting parent prints it */
    agent_free(&a);
    if (uv_loop_close(&loop) != 0) {
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    if (rc == 0)
        log_info("stopped");
    return rc == 0 ? 0 : 1;
}
