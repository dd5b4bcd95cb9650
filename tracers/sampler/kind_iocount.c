/*
 * kind_iocount.c - "iocount": read and write system calls per second on the
 * whole node, one whole number a line (the count parser's format), from the
 * syscr and syscw counters of every /proc/PID/io.  The original prototype
 * needed a systemtap probe for this; these counters are kept by the kernel
 * anyway.
 *
 * Why one node-wide sum rather than per-process deltas that forget ended
 * processes: the counters of a process include every child it has reaped,
 * so when a child ends its whole count moves into its parent's.  Adding the
 * parent's jump while forgetting the child counts the child's calls again at
 * each level of the process tree (a compiler under make under a shell:
 * three times).  The per-process delta that is right is "now minus before",
 * with a new process counting all it has and an ended one minus what it had
 * (a reused pid is both), and those deltas add up to the change of the sum.
 * Processes that start and end within one interval are counted too, through
 * their parent.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampler.h"
#include "procfs.h"

typedef struct iocount_state {
    sca_buf text;
    long self;
    bool privileged;   /* root: every process may be read but those ptrace rules keep */
    uint64_t prev;     /* the sum at the previous reading */
    bool said_partial; /* the note on processes left out was given */
} iocount_state;

enum io_read { IO_COUNTED, IO_GONE, IO_REFUSED, IO_FAILED };

/* Adds the calls of one process to *sum.  A process that ended since /proc
 * was listed holds nothing any more; one that we may not read (another
 * user's, unless we are root, or one that ptrace rules keep even from root,
 * such as a sandbox's init) is refused; anything else is a failure. */
static enum io_read iocount_read(iocount_state *s, long pid, uint64_t *sum)
{
    char path[64];
    procfs_pid_io io;
    snprintf(path, sizeof(path), "/proc/%ld/io", pid);
    int rc = sampler_read_file(path, &s->text, NULL);
    if (rc == -ENOENT || rc == -ESRCH)
        return IO_GONE;
    if (rc == -EACCES || rc == -EPERM)
        return IO_REFUSED;
    if (rc != 0 || procfs_parse_pid_io(s->text.data, &io) != 0)
        return IO_FAILED;
    *sum += io.syscr + io.syscw;
    return IO_COUNTED;
}

/* Said once at most, and only when it changes what the count means: a
 * process that not even root may read is left out quietly (its calls are
 * nobody's to see), but an unprivileged sampler misses every other user's
 * processes, and a file that cannot be read or parsed is not expected. */
static void iocount_say_partial(iocount_state *s, long refused, long failed, long first_failed)
{
    if (s->said_partial)
        return;
    if (failed > 0) {
        s->said_partial = true;
        fprintf(stderr,
                "sca-sampler: cannot read /proc/%ld/io (%ld process%s): the count leaves "
                "them out\n",
                first_failed, failed, failed == 1 ? "" : "es");
    } else if (refused > 0 && !s->privileged) {
        s->said_partial = true;
        fprintf(stderr,
                "sca-sampler: counting only the processes this user may read: %ld other "
                "process%s left out (run as root to count the whole node)\n",
                refused, refused == 1 ? " is" : "es are");
    }
}

/* The sum over the processes we can read but this one: its own reads of
 * /proc are the measurement, not the load. */
static int iocount_collect(iocount_state *s, uint64_t *sum, sca_error *err)
{
    DIR *dir = opendir("/proc");
    if (dir == NULL)
        return sca_error_set(err, -errno, "cannot list /proc: %s", strerror(errno));
    long refused = 0, failed = 0, first_failed = 0;
    const struct dirent *de;
    *sum = 0;
    for (errno = 0; (de = readdir(dir)) != NULL; errno = 0) {
        long pid = sampler_pid_of(de->d_name);
        if (pid <= 0 || pid == s->self)
            continue;
        switch (iocount_read(s, pid, sum)) {
        case IO_REFUSED:
            refused++;
            break;
        case IO_FAILED:
            if (failed++ == 0)
                first_failed = pid;
            break;
        default:
            break;
        }
    }
    int rc = errno != 0 ? sca_error_set(err, -errno, "cannot list /proc: %s", strerror(errno)) : 0;
    closedir(dir);
    iocount_say_partial(s, refused, failed, first_failed);
    return rc;
}

static void iocount_close(void *state)
{
    iocount_state *s = state;
    sca_buf_free(&s->text);
    free(s);
}

static int iocount_open(const sampler_opts *opts, void **state, sca_error *err)
{
    (void)opts;
    iocount_state *s = sca_calloc(1, sizeof(*s));
    s->self = (long)getpid();
    s->privileged = geteuid() == 0;
    int rc = iocount_collect(s, &s->prev, err);
    if (rc != 0) {
        iocount_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* The sum can also go down: children of a process that does not wait for
 * them (SIGCHLD ignored) take their count away when they end, and so does a
 * process that becomes unreadable (a setuid program).  Such an interval
 * reads 0. */
static int iocount_sample(void *state, double elapsed, sca_buf *line, sca_error *err)
{
    iocount_state *s = state;
    uint64_t cur;
    int rc = iocount_collect(s, &cur, err);
    if (rc != 0)
        return rc;
    sca_buf_appendf(line, "%.0f", (double)procfs_delta(s->prev, cur) / elapsed);
    s->prev = cur;
    return 0;
}

const sampler_kind sampler_iocount = {"iocount", iocount_open, iocount_sample, iocount_close};
