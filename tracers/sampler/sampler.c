/*
 * sampler.c - sca-sampler: the built-in tracer worker that samples /proc and
 * /sys every interval and prints kv lines (see options.c for the usage).
 *
 * SIGINT and SIGTERM stay blocked except inside the ppoll that waits for the
 * next interval, so a stop is seen at once, even in a long interval, never
 * interrupts a sample half-way, and the handler only sets a flag.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sampler.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Installs the handler (which also undoes the SIGINT ignore inherited by a
 * background job of a non-interactive shell) and fills wait_mask with the
 * mask to wait with. */
static int stop_signals(sigset_t *wait_mask)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, wait_mask) != 0)
        return -1;
    sigdelset(wait_mask, SIGINT);
    sigdelset(wait_mask, SIGTERM);
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    return 0;
}

/* Waits until the monotonic time `until`: 0 then, 1 when a stop signal
 * came first, or -errno. */
static int wait_until(const sigset_t *wait_mask, double until)
{
    while (!stop_requested) {
        double left = until - sca_monotonic();
        if (left <= 0)
            return 0;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        if (ppoll(NULL, 0, &ts, wait_mask) < 0 && errno != EINTR)
            return -errno;
    }
    return 1;
}

static int print_line(const sca_buf *line, sca_error *err)
{
    fwrite(line->data, 1, line->len, stdout);
    fputc('\n', stdout);
    if (fflush(stdout) != 0 || ferror(stdout))
        return sca_error_set(err, -EIO, "cannot write to stdout: %s", strerror(errno));
    return 0;
}

/* Samples every interval until --count, a stop signal or an error.  The
 * schedule is kept on absolute deadlines so lines do not drift; after a
 * stall (a suspended machine) it restarts from now instead of bursting.
 * The end of what is watched (-ESRCH) is a normal end. */
static int run(const sampler_kind *kind, void *state, const sampler_opts *o,
               const sigset_t *wait_mask, sca_error *err)
{
    sca_buf line = {0};
    double prev = sca_monotonic(), next = prev;
    int rc = 0;
    for (long n = 0; rc == 0 && (o->count == 0 || n < o->count); n++) {
        next += o->interval;
        int stop = wait_until(wait_mask, next);
        if (stop < 0)
            rc = sca_error_set(err, stop, "cannot wait for the next interval: %s", strerror(-stop));
        if (stop != 0)
            break;
        double now = sca_monotonic();
        sca_buf_reset(&line);
        rc = kind->sample(state, now - prev, &line, err);
        prev = now;
        if (rc == 0 && line.len > 0)
            rc = print_line(&line, err);
        if (next < now)
            next = now;
    }
    sca_buf_free(&line);
    if (rc == -ESRCH) {
        fprintf(stderr, "sca-sampler: %s\n", err->msg);
        return 0;
    }
    return rc;
}

/* Tells sca-tracer that the sampler runs, its first reading taken: a line
 * on the descriptor SCA_READY_FD names, which is then closed (the worker
 * contract in docs/tracers.md).  Only a descriptor above stderr, so that the
 * line never mixes with the samples; a failure is not said on stderr, where
 * it would read as a usage error, and only leaves the tracer's own check. */
static void tell_ready(void)
{
    const char *name = getenv("SCA_READY_FD");
    int64_t fd;
    if (name == NULL || sca_parse_int64(name, &fd) != 0 || fd <= STDERR_FILENO || fd > INT32_MAX)
        return;
    ssize_t n;
    do
        n = write((int)fd, "ready\n", 6);
    while (n < 0 && errno == EINTR);
    close((int)fd);
}

int main(int argc, char **argv)
{
    sampler_opts opts;
    sampler_options(argc, argv, &opts);
    const sampler_kind *kind = sampler_kind_find(opts.kind);
    sca_error err = {0};
    sigset_t wait_mask;
    if (stop_signals(&wait_mask) != 0) {
        fprintf(stderr, "sca-sampler: cannot watch for signals: %s\n", strerror(errno));
        return 1;
    }
    void *state;
    int rc = kind->open(&opts, &state, &err);
    if (rc == 0) {
        tell_ready();
        rc = run(kind, state, &opts, &wait_mask, &err);
        kind->close(state);
    }
    sampler_options_free(&opts);
    if (rc != 0)
        fprintf(stderr, "sca-sampler: %s\n", err.msg);
    return rc != 0;
}
