/*
 * kind_proc.c - "proc": one process (--pid) or every process of a name
 * (--pname, summed): CPU, resident memory, threads and storage I/O, from
 * /proc/PID/stat and /proc/PID/io.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampler.h"
#include "procfs.h"

typedef struct proc_entry {
    long pid;
    uint64_t start; /* tells a reused pid apart */
    uint64_t ticks; /* utime + stime */
    uint64_t rss_pages;
    uint64_t threads;
    uint64_t read_bytes, write_bytes;
    int has_io;
} proc_entry;

typedef struct proc_set {
    proc_entry *v;
    size_t n;
    size_t cap;
} proc_set;

typedef struct proc_state {
    const sampler_opts *opts;
    double ticks_per_s;
    double page_kb;
    sca_buf text;
    proc_set prev, cur;
    int said_none;  /* "no process named ..." was said */
    int said_no_io; /* "cannot read /proc/PID/io" was said */
} proc_state;

/* Sums over the processes of one reading. */
typedef struct proc_totals {
    double ticks, read_bytes, write_bytes; /* during the interval */
    double rss_pages, threads;             /* now */
    int some_io, all_io;
    long no_io_pid;
} proc_totals;

static proc_entry *set_add(proc_set *set)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 8;
        set->v = sca_realloc(set->v, set->cap * sizeof(*set->v));
    }
    return &set->v[set->n++];
}

static const proc_entry *set_find(const proc_set *set, const proc_entry *e)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].pid == e->pid && set->v[i].start == e->start)
            return &set->v[i];
    return NULL;
}

/* /proc/PID/io needs the process's own user (or CAP_SYS_PTRACE), and exists
 * only with task I/O accounting; without it e->has_io stays 0. */
static void proc_read_io(proc_state *s, proc_entry *e)
{
    char path[64];
    procfs_pid_io io;
    snprintf(path, sizeof(path), "/proc/%ld/io", e->pid);
    if (sampler_read_file(path, &s->text, NULL) != 0 || procfs_parse_pid_io(s->text.data, &io) != 0)
        return;
    e->read_bytes = io.read_bytes;
    e->write_bytes = io.write_bytes;
    e->has_io = 1;
}

/* Adds process pid to set when it is one we watch.  -ENOENT or -ESRCH when
 * it is gone; a zombie counts as gone, it holds nothing any more. */
static int proc_read(proc_state *s, long pid, proc_set *set, sca_error *err)
{
    char path[64];
    procfs_pid_stat st;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    int rc = sampler_read_file(path, &s->text, err);
    if (rc != 0)
        return rc;
    if (procfs_parse_pid_stat(s->text.data, &st) != 0)
        return sca_error_set(err, -EIO, "cannot parse %s", path);
    if (st.state == 'Z' || st.state == 'X')
        return -ESRCH;
    if (s->opts->pname != NULL && strcmp(st.comm, s->opts->pname) != 0)
        return 0;
    proc_entry *e = set_add(set);
    *e = (proc_entry){.pid = pid,
                      .start = st.starttime,
                      .ticks = st.utime + st.stime,
                      .rss_pages = st.rss_pages,
                      .threads = st.threads};
    proc_read_io(s, e);
    return 0;
}

/* Every process named --pname; one that exits while /proc is listed is
 * simply not there. */
static int proc_scan(proc_state *s, proc_set *set, sca_error *err)
{
    DIR *dir = opendir("/proc");
    if (dir == NULL)
        return sca_error_set(err, -errno, "cannot list /proc: %s", strerror(errno));
    const struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        long pid = sampler_pid_of(de->d_name);
        if (pid > 0)
            proc_read(s, pid, set, NULL);
    }
    closedir(dir);
    return 0;
}

static int proc_collect(proc_state *s, proc_set *set, sca_error *err)
{
    set->n = 0;
    if (s->opts->pid > 0)
        return proc_read(s, s->opts->pid, set, err);
    return proc_scan(s, set, err);
}

static void proc_close(void *state)
{
    proc_state *s = state;
    sca_buf_free(&s->text);
    free(s->prev.v);
    free(s->cur.v);
    free(s);
}

static int proc_open(const sampler_opts *opts, void **state, sca_error *err)
{
    proc_state *s = sca_calloc(1, sizeof(*s));
    s->opts = opts;
    s->ticks_per_s = (double)sysconf(_SC_CLK_TCK);
    s->page_kb = (double)sysconf(_SC_PAGESIZE) / 1024;
    int rc = proc_collect(s, &s->prev, err);
    if (rc == -ENOENT || rc == -ESRCH)
        rc = sca_error_set(err, -ESRCH, "no running process with pid %ld", opts->pid);
    if (rc != 0) {
        proc_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* A process that started during the interval adds no rate yet; one that
 * ended during it is left out. */
static void proc_sum(const proc_state *s, proc_totals *t)
{
    *t = (proc_totals){.all_io = 1};
    for (size_t i = 0; i < s->cur.n; i++) {
        const proc_entry *e = &s->cur.v[i];
        const proc_entry *p = set_find(&s->prev, e);
        t->rss_pages += (double)e->rss_pages;
        t->threads += (double)e->threads;
        t->some_io |= e->has_io;
        t->all_io &= e->has_io;
        if (!e->has_io)
            t->no_io_pid = e->pid;
        if (p == NULL)
            continue;
        t->ticks += (double)procfs_delta(p->ticks, e->ticks);
        if (p->has_io && e->has_io) {
            t->read_bytes += (double)procfs_delta(p->read_bytes, e->read_bytes);
            t->write_bytes += (double)procfs_delta(p->write_bytes, e->write_bytes);
        }
    }
}

static void proc_say_no_io(proc_state *s, const proc_totals *t)
{
    if (t->all_io || s->said_no_io)
        return;
    s->said_no_io = 1;
    fprintf(stderr,
            "sca-sampler: cannot read /proc/%ld/io (another user's process, or no I/O "
            "accounting): %s\n",
            t->no_io_pid,
            t->some_io ? "processes like it count no I/O"
                       : "read_kbps and write_kbps are left out");
}

static void proc_emit(proc_state *s, const proc_totals *t, double elapsed, sca_buf *line)
{
    sampler_kv(line, NULL, "cpu_pct", 100 * t->ticks / s->ticks_per_s / elapsed, 1, "%");
    sampler_kv(line, NULL, "rss_kb", t->rss_pages * s->page_kb, 0, "kB");
    sampler_kv(line, NULL, "threads", t->threads, 0, NULL);
    if (t->some_io) {
        sampler_kv(line, NULL, "read_kbps", t->read_bytes / 1024 / elapsed, 2, "kB/s");
        sampler_kv(line, NULL, "write_kbps", t->write_bytes / 1024 / elapsed, 2, "kB/s");
    }
    proc_say_no_io(s, t);
}

static void proc_say_none(proc_state *s)
{
    if (s->said_none)
        return;
    s->said_none = 1;
    fprintf(stderr, "sca-sampler: no process named '%s'; nothing is printed until one runs\n",
            s->opts->pname);
}

static int proc_sample(void *state, double elapsed, sca_buf *line, sca_error *err)
{
    proc_state *s = state;
    int rc = proc_collect(s, &s->cur, err);
    if (rc == -ENOENT || rc == -ESRCH)
        return sca_error_set(err, -ESRCH, "process %ld has exited", s->opts->pid);
    if (rc != 0)
        return rc;
    if (s->cur.n == 0) {
        proc_say_none(s);
    } else {
        proc_totals t;
        proc_sum(s, &t);
        proc_emit(s, &t, elapsed, line);
    }
    proc_set tmp = s->prev;
    s->prev = s->cur;
    s->cur = tmp;
    return 0;
}

const sampler_kind sampler_proc = {"proc", proc_open, proc_sample, proc_close};
