/* kind_mem.c - "mem": memory and swap use from /proc/meminfo. */
#include <errno.h>
#include <stdlib.h>

#include "sampler.h"
#include "procfs.h"

typedef struct mem_state {
    sca_buf text;
} mem_state;

static int mem_read(mem_state *s, procfs_mem *out, sca_error *err)
{
    int rc = sampler_read_file("/proc/meminfo", &s->text, err);
    if (rc != 0)
        return rc;
    if (procfs_parse_meminfo(s->text.data, out) != 0)
        return sca_error_set(err, -EIO, "/proc/meminfo lacks MemTotal or MemFree");
    return 0;
}

static void mem_close(void *state)
{
    mem_state *s = state;
    sca_buf_free(&s->text);
    free(s);
}

/* Reads once so that an unreadable file is an error at start. */
static int mem_open(const sampler_opts *opts, void **state, sca_error *err)
{
    (void)opts;
    mem_state *s = sca_calloc(1, sizeof(*s));
    procfs_mem m;
    int rc = mem_read(s, &m, err);
    if (rc != 0) {
        mem_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

static double kb_minus(uint64_t a, uint64_t b)
{
    return a > b ? (double)(a - b) : 0;
}

/* "used" is what free(1) reports since procps 4: what is not available.
 * "cached" is free -w's cache column: page cache plus reclaimable slab. */
static int mem_sample(void *state, double elapsed, sca_buf *line, sca_error *err)
{
    procfs_mem m;
    (void)elapsed;
    int rc = mem_read(state, &m, err);
    if (rc != 0)
        return rc;
    sampler_kv(line, NULL, "total_kb", (double)m.total_kb, 0, "kB");
    sampler_kv(line, NULL, "used_kb", kb_minus(m.total_kb, m.available_kb), 0, "kB");
    sampler_kv(line, NULL, "available_kb", (double)m.available_kb, 0, "kB");
    sampler_kv(line, NULL, "cached_kb", (double)(m.cached_kb + m.sreclaimable_kb), 0, "kB");
    sampler_kv(line, NULL, "swap_used_kb", kb_minus(m.swap_total_kb, m.swap_free_kb), 0, "kB");
    return 0;
}

const sampler_kind sampler_mem = {"mem", mem_open, mem_sample, mem_close};
