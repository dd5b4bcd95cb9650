/*
 * sca-tracer TASK_UUID TRACER - run one tracer for one task.
 *
 * Expands the tracer's template into the worker's argv, runs the worker,
 * and streams its parsed output into the store until the worker ends or a
 * SIGINT/SIGTERM stops it.  Normally spawned by sca-agent; also runs by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "scalpels/config.h"
#include "scalpels/log.h"
#include "scalpels/parse.h"
#include "scalpels/paths.h"
#include "scalpels/store.h"
#include "scalpels/template.h"
#include "scalpels/util.h"
#include "tracer.h"

#define EXIT_USAGE 2
#define EXIT_NOT_STARTED 127 /* recorded as the worker's status, as a shell would */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sca-tracer [--config FILE] [--status-fd FD] [--task-fd FD] TASK_UUID TRACER\n"
            "\n"
            "Runs tracer TRACER (registered with 'sca-manage setup') for task TASK_UUID,\n"
            "creating the task if it does not exist, and stores the worker's output as\n"
            "samples until the worker exits or SIGINT/SIGTERM stops it (the worker's\n"
            "process group gets SIGINT, then SIGKILL after [agent] stop_grace seconds).\n"
            "\n"
            "  -c, --config FILE  configuration file (default: $SCALPELS_CONF, then\n"
            "                     " CONFIG_SYSTEM_PATH ")\n"
            "      --status-fd FD once the worker is seen to run, write \"started\" to file\n"
            "                     descriptor FD, else \"failed: WHY\", and close it\n"
            "                     (sca-agent passes a pipe)\n"
            "      --task-fd FD   wait, before anything else, for one line \"TASK_UUID\n"
            "                     TRACER\" on file descriptor FD and run that; exit 0\n"
            "                     if FD closes first.  The line is written over the\n"
            "                     two arguments, which must be as long (sca-agent\n"
            "                     keeps one tracer waiting so; ps shows what it runs)\n"
            "  -h, --help         show this help\n");
}

struct tracer_ctx {
    config cfg;
    store *store;
    store_tracer tracer;
    store_task task;
    json_t *options; /* data options from the store */
    char *bindir;
    int status_fd; /* the start report's (tracer_report_start), or -1 */
};

/* Template keys: data options first (as the original had them), then the
 * values every tracer may use. */
static const char *lookup_key(void *arg, const char *key)
{
    struct tracer_ctx *c = arg;
    json_t *v = json_object_get(c->options, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (strcmp(key, "tracer_path") == 0)
        return c->cfg.tracer_path;
    if (strcmp(key, "bindir") == 0)
        return c->bindir;
    if (strcmp(key, "task") == 0)
        return c->task.uuid;
    if (strcmp(key, "tracer") == 0)
        return c->tracer.name;
    if (strcmp(key, "host") == 0)
        return c->cfg.host;
    if (strcmp(key, "state_dir") == 0)
        return c->cfg.state_dir;
    return NULL;
}

/* --status-fd and --task-fd: an open descriptor, kept from the worker
 * (close-on-exec); the status pipe's reader must see the end of the
 * report, not the worker's end. */
static int fd_option(const char *option, const char *arg, int *fd)
{
    int64_t v;
    if (sca_parse_int64(arg, &v) != 0 || v < 0 || v > INT_MAX || fcntl((int)v, F_GETFD) < 0) {
        fprintf(stderr, "sca-tracer: %s expects an open file descriptor, not '%s'\n", option, arg);
        return -1;
    }
    *fd = (int)v;
    return fcntl(*fd, F_SETFD, FD_CLOEXEC) == 0 ? 0 : -1;
}

static bool uuid_valid(const char *s)
{
    if (strlen(s) != SCA_UUID_LEN)
        return false;
    for (int i = 0; i < SCA_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return false;
    }
    return true;
}

/* --task-fd: a tracer made ready before it has work (sca-agent keeps one
 * so, to spare a start the loading of a program) reads "TASK_UUID TRACER"
 * from fd and writes them over args[0] and args[1], so that
 * /proc/PID/cmdline names them as for any tracer: ps shows it, and an
 * agent that restarts adopts it by that.  1 when fd closes without a line
 * (nothing was asked of it). */
static int await_task(int fd, char **args, sca_error *err)
{
    char line[SCA_UUID_LEN + SCA_TRACER_NAME_MAX + 3] = "";
    size_t len = 0;
    while (len < sizeof(line) - 1 && memchr(line, '\n', len) == NULL) {
        ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = sca_error_set(err, -errno, "--task-fd: cannot read: %s", strerror(errno));
            close(fd);
            return rc;
        }
        len += (size_t)n;
    }
    close(fd);
    if (len == 0)
        return 1;
    line[len] = '\0';
    line[strcspn(line, "\n")] = '\0';
    char *tracer = strchr(line, ' ');
    if (tracer == NULL)
        return sca_error_set(err, -EINVAL, "--task-fd: expected \"TASK_UUID TRACER\", not '%s'",
                             line);
    *tracer++ = '\0';
    size_t room[2] = {strlen(args[0]), strlen(args[1])};
    if (strlen(line) > room[0] || strlen(tracer) > room[1])
        return sca_error_set(err, -EINVAL,
                             "--task-fd: '%s %s' does not fit in the arguments it replaces", line,
                             tracer);
    memset(args[0], '\0', room[0]);
    memcpy(args[0], line, strlen(line));
    memset(args[1], '\0', room[1]);
    memcpy(args[1], tracer, strlen(tracer));
    return 0;
}

static int find_or_create_task(struct tracer_ctx *c, const char *uuid, sca_error *err)
{
    if (!uuid_valid(uuid))
        return sca_error_set(
            err, -EINVAL, "'%s' is not a task uuid (lowercase 8-4-4-4-12 hex, e.g. from uuidgen)",
            uuid);
    int rc = store_task_get(c->store, uuid, &c->task, err);
    if (rc == -ENOENT)
        rc = store_task_create(c->store, uuid, 0, &c->task, err);
    return rc;
}

static int load_tracer(struct tracer_ctx *c, const char *name, sca_error *err)
{
    int rc = store_tracer_get(c->store, name, &c->tracer, err);
    if (rc == -ENOENT) {
        char *known = store_tracer_names(c->store);
        sca_error_set(err, -ENOENT, "no tracer named '%s' is registered (known: %s)", name, known);
        free(known);
    }
    return rc;
}

/* The end of a run is recorded even when the disk was full a moment ago
 * (the last batch may have taken what the freed space held): a refusal for
 * want of space gives back the room kept for that, or else is followed by
 * a checkpoint, which may give space back, and another try, for up to
 * TRACER_END_WAIT_MS. */
static int finish_row(struct tracer_ctx *c, const store_task_tracer *end, sca_error *err)
{
    double give_up = sca_monotonic() + TRACER_END_WAIT_MS / 1000.0;
    int rc;
    while ((rc = store_task_tracer_finish(c->store, end, err)) == -ENOSPC &&
           sca_monotonic() < give_up) {
        if (store_room_release(c->store))
            continue;
        store_checkpoint(c->store, NULL);
        struct timespec pause = {.tv_nsec = TRACER_RETRY_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
    return rc;
}

/* The worker never ran: say why in the task's log and close the run. */
static void record_not_started(struct tracer_ctx *c, ingest *g, const char *why)
{
    sca_error err = {0};
    ingest_line(g, INGEST_STDERR, why, strlen(why), sca_now());
    if (ingest_flush(g, &err) != 0)
        log_error("%s", err.msg);
    store_task_tracer end = {.task_id = c->task.id, .exit_code = EXIT_NOT_STARTED};
    snprintf(end.tracer, sizeof(end.tracer), "%s", c->tracer.name);
    if (finish_row(c, &end, &err) != 0)
        log_error("%s", err.msg);
}

static void record_end(struct tracer_ctx *c, ingest *g, const tracer_outcome *o)
{
    sca_error err = {0};
    store_task_tracer end = {
        .task_id = c->task.id,
        .worker_pid = o->worker_pid,
        .exit_code = o->exit_code,
        .exit_signal = o->exit_signal,
        .lines = ingest_lines(g),
        .unparsed = ingest_unparsed(g),
    };
    snprintf(end.tracer, sizeof(end.tracer), "%s", c->tracer.name);
    if (finish_row(c, &end, &err) != 0)
        log_error("%s", err.msg);
    log_info("stored %lld lines (%lld unparsed) for task %s", (long long)end.lines,
             (long long)end.unparsed, c->task.uuid);
}

static void mark_stopped(struct tracer_ctx *c)
{
    sca_error err = {0};
    store_tracer now;
    /* Leave the row alone if another run of this tracer has taken it over. */
    if (store_tracer_get(c->store, c->tracer.name, &now, &err) == 0) {
        if (now.pid == getpid() || now.pid == 0)
            store_tracer_set_running(c->store, c->tracer.name, false, 0, NULL, &err);
        store_tracer_clear(&now);
    }
    bool closed = false;
    if (store_task_close_if_idle(c->store, c->task.id, &closed, &err) != 0)
        log_error("%s", err.msg);
    if (closed)
        log_info("task %s stopped: no tracer of it is running", c->task.uuid);
}

static int trace(struct tracer_ctx *c, const parser *p)
{
    sca_error err = {0};
    ingest *g = ingest_new(c->store, c->task.id, c->tracer.name, c->tracer.title, p);
    int rc = store_tracer_set_running(c->store, c->tracer.name, true, getpid(), c->task.uuid, &err);
    if (rc == 0)
        rc = store_task_tracer_start(c->store, c->task.id, c->tracer.name, getpid(), &err);
    if (rc != 0) {
        log_error("%s", err.msg);
        tracer_report_start(&c->status_fd, err.msg);
        ingest_free(g);
        return 1;
    }
    char **argv = NULL;
    rc = template_expand(c->tracer.tpl, lookup_key, c, &argv, &err);
    if (rc == 0) {
        tracer_run_opts opts = {
            c->store, g, c->task.id, c->tracer.name, argv, c->cfg.stop_grace, &c->status_fd};
        tracer_outcome outcome;
        log_info("task %s: running %s", c->task.uuid, argv[0]);
        /* Room for the records of a full disk (run.c). */
        store_room_keep(c->store);
        /* The loop must not sit in SQLite while lines arrive: a busy store
         * is retried from a timer instead (run.c). */
        store_set_busy_timeout(c->store, TRACER_BUSY_MS);
        rc = tracer_run(&opts, &outcome, &err);
        store_set_busy_timeout(c->store, STORE_BUSY_MS);
        if (outcome.worker_pid > 0)
            record_end(c, g, &outcome);
    }
    if (rc != 0) {
        tracer_report_start(&c->status_fd, err.msg); /* the reader names the tracer */
        sca_error_prefix(&err, "tracer %s", c->tracer.name);
        log_error("%s", err.msg);
        record_not_started(c, g, err.msg);
    }
    mark_stopped(c);
    template_argv_free(argv);
    ingest_free(g);
    return rc == 0 ? 0 : 1;
}

static int run(struct tracer_ctx *c, const char *task_uuid, const char *name)
{
    sca_error err = {0};
    int rc = store_open(c->cfg.db_path, 0, &c->store, &err);
    if (rc == 0)
        rc = load_tracer(c, name, &err);
    const parser *p = NULL;
    if (rc == 0 && (p = parse_find(c->tracer.parser)) == NULL)
        rc = sca_error_set(&err, -EINVAL, "tracer %s has unknown parser '%s' (known: %s)", name,
                           c->tracer.parser, parse_names());
    if (rc == 0)
        rc = store_config_get(c->store, &c->options, &err);
    if (rc == 0)
        rc = find_or_create_task(c, task_uuid, &err);
    if (rc != 0) {
        log_error("%s", err.msg);
        tracer_report_start(&c->status_fd, err.msg);
        return 1;
    }
    return trace(c, p);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"status-fd", required_argument, NULL, 'S'},
        {"task-fd", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    struct tracer_ctx c = {.status_fd = -1};
    int task_fd = -1;
    int opt;
    log_init("sca-tracer");
    /* A stop that arrives before the loop's handlers exist must wait for
     * them rather than kill the tracer before it can record anything;
     * tracer_run unblocks once they are installed.  A closed log pipe must
     * not kill it either. */
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_BLOCK, &stops, NULL);
    signal(SIGPIPE, SIG_IGN);
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'S':
            if (fd_option("--status-fd", optarg, &c.status_fd) != 0)
                return EXIT_USAGE;
            break;
        case 'T':
            if (fd_option("--task-fd", optarg, &task_fd) != 0)
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "sca-tracer: expected TASK_UUID and TRACER\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    sca_error err = {0};
    if (task_fd >= 0) {
        int rc = await_task(task_fd, &argv[optind], &err);
        if (rc == 1)
            return 0;
        if (rc != 0) {
            fprintf(stderr, "sca-tracer: %s\n", err.msg);
            tracer_report_start(&c.status_fd, err.msg);
            return EXIT_USAGE;
        }
    }
    if (config_load(&c.cfg, config_path, &err) != 0) {
        fprintf(stderr, "sca-tracer: %s\n", err.msg);
        tracer_report_start(&c.status_fd, err.msg);
        return 1;
    }
    log_set_level(c.cfg.log_level);
    c.bindir = paths_exe_dir();
    int status = run(&c, argv[optind], argv[optind + 1]);
    tracer_report_start(&c.status_fd, status == 0 ? NULL : "sca-tracer failed (see its log)");
    json_decref(c.options);
    store_tracer_clear(&c.tracer);
    store_close(c.store);
    free(c.bindir);
    config_free(&c.cfg);
    return status;
}
