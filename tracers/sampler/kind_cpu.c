/* kind_cpu.c - "cpu": where all CPUs' time went, in percent, from /proc/stat. */
#include <errno.h>
#include <stdlib.h>

#include "sampler.h"
#include "procfs.h"

typedef struct cpu_state {
    sca_buf text;
    procfs_cpu prev;
} cpu_state;

static int cpu_read(cpu_state *s, procfs_cpu *out, sca_error *err)
{
    int rc = sampler_read_file("/proc/stat", &s->text, err);
    if (rc != 0)
        return rc;
    if (procfs_parse_stat_cpu(s->text.data, out) != 0)
        return sca_error_set(err, -EIO, "/proc/stat has no readable \"cpu\" line");
    return 0;
}

static void cpu_close(void *state)
{
    cpu_state *s = state;
    sca_buf_free(&s->text);
    free(s);
}

static int cpu_open(const sampler_opts *opts, void **state, sca_error *err)
{
    (void)opts;
    cpu_state *s = sca_calloc(1, sizeof(*s));
    int rc = cpu_read(s, &s->prev, err);
    if (rc != 0) {
        cpu_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* Ticks measure the interval themselves, so elapsed is not needed. */
static int cpu_sample(void *state, double elapsed, sca_buf *line, sca_error *err)
{
    cpu_state *s = state;
    procfs_cpu cur;
    procfs_cpu_pct pct;
    (void)elapsed;
    int rc = cpu_read(s, &cur, err);
    if (rc != 0)
        return rc;
    if (procfs_cpu_usage(&s->prev, &cur, &pct) != 0)
        return 0; /* no tick yet: keep the baseline, say nothing */
    s->prev = cur;
    sampler_kv(line, NULL, "user", pct.user, 1, "%");
    sampler_kv(line, NULL, "system", pct.system, 1, "%");
    sampler_kv(line, NULL, "iowait", pct.iowait, 1, "%");
    sampler_kv(line, NULL, "idle", pct.idle, 1, "%");
    sampler_kv(line, NULL, "steal", pct.steal, 1, "%");
    return 0;
}

const sampler_kind sampler_cpu = {"cpu", cpu_open, cpu_sample, cpu_close};
