/*
 * sca-agent - the per-node daemon: serves RPC requests, runs one sca-tracer
 * per running tracer and answers reads from the node's store.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

#define AGENT_STOP_GRACE 10 /* seconds for the requests being handled at a stop */

static void close_transports(agent *a)
{
    for (int i = 0; i < 2; i++) {
        rpc_server_free(a->server[i]);
        a->server[i] = NULL;
        rpc_transport_free(a->transport[i]);
        a->transport[i] = NULL;
    }
}

static void shutdown_finish(agent *a)
{
    detach_release(a, "warning: stopped before it connected to the broker");
    close_transports(a);
    children_close(a);
    tasks_close(a);
    starts_close(a);
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
                      "database %s does not exist: create it with 'sca-manage%s%s db-create' first",
                      a->cfg.db_path, a->config_given ? " --config " : "",
                      a->config_given ? a->config_given : "");
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
        .idle_timeout = a->cfg.unix_idle_timeout,
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

#define AGENT_FDS 4096 /* the socket's 1024 connections and room for the rest */

/* Each connection to the socket is a descriptor: under systemd's default
 * soft limit (1024) they would run out before the socket's own limit,
 * which keeps room for root and answers the rest with the reason. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= AGENT_FDS)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > AGENT_FDS ? AGENT_FDS : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warning("cannot raise the open files limit to %lu: %s", (unsigned long)rl.rlim_cur,
                    strerror(errno));
}

/* Every end of a watched sca-tracer: the books first, then a start_tracers
 * call that waits for it. */
static void on_tracer_exit(void *arg, int64_t task_id, const char *tracer, pid_t pid, int exit_code,
                           int exit_signal)
{
    tasks_on_tracer_exit(arg, task_id, tracer, pid, exit_code, exit_signal);
    starts_on_tracer_exit(arg, pid);
}

static int agent_init(agent *a, sca_error *err)
{
    a->started = sca_now();
    a->tracer_program = paths_program("sca-tracer");
    children_init(a, on_tracer_exit, a);
    raise_fd_limit();
    int rc = paths_make_state_dir(a->cfg.state_dir, err);
    if (rc == 0)
        rc = open_store(a, err);
    if (rc == 0)
        rc = tasks_reconcile(a, err);
    if (rc == 0)
        rc = tasks_watch_all(a, err);
    if (rc == 0)
        rc = start_listening(a, err);
    if (rc != 0)
        return rc;
    rc = children_keep_ready(a);
    if (rc != 0)
        return sca_error_set(err, rc, "cannot set a timer: %s", uv_strerror(rc));
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
    starts_close(a);
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
    agent a = {.detach_fd = -1};
    sca_error err = {0};
    if (config_load(&a.cfg, config_path, &err) != 0) {
        fprintf(stderr, "sca-agent: %s\n", err.msg);
        return 2;
    }
    a.config_path = a.cfg.source;
    a.config_given = config_path;
    /* A URL that cannot be used is a configuration error, as sca says it:
     * before detaching, naming the file and line. */
    char *url = config_transport_url(&a.cfg);
    int url_rc = rpc_url_check(url, &err);
    free(url);
    if (url_rc != 0) {
        config_transport_url_error(&a.cfg, &err);
        fprintf(stderr, "sca-agent: %s\n", err.msg);
        config_free(&a.cfg);
        return 2;
    }
    if (host != NULL) {
        free(a.cfg.host);
        a.cfg.host = sca_strdup(host);
    }
    log_set_level(a.cfg.log_level);
    int rc = foreground ? 0 : detach_begin(&a);
    if (rc != 0) {
        fprintf(stderr, "sca-agent: cannot detach: %s\n", strerror(-rc));
        return 1;
    }
    bool detached = a.detach_fd >= 0;
    uv_loop_t loop;
    uv_loop_init(&loop);
    a.loop = &loop;
    rc = agent_init(&a, &err);
    detach_started(&a, rc, err.msg);
    if (rc == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
    else if (!detached || a.detach_log_open)
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
