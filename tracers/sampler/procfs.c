/*
 * procfs.c - parsers for /proc text (see procfs.h).
 *
 * Numbers are read by hand rather than with strtoull, which would accept a
 * sign and wrap "-1" to a huge counter.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "procfs.h"

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *skip_token(const char *p)
{
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
        p++;
    return p;
}

/* An unsigned decimal after optional blanks; returns the end of the digits,
 * or NULL when there are none or the value overflows. */
static const char *read_u64(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    p = skip_blanks(p);
    if (*p < '0' || *p > '9')
        return NULL;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return NULL;
        v = v * 10 + d;
    }
    *out = v;
    return p;
}

/* Reads n numbers into out[0..n-1]; the first `need` are required, the rest
 * read as 0 when the line ends early. */
static const char *read_u64s(const char *p, uint64_t *out, int n, int need)
{
    for (int i = 0; i < n; i++) {
        const char *next = read_u64(p, &out[i]);
        if (next == NULL && i < need)
            return NULL;
        if (next == NULL)
            out[i] = 0;
        else
            p = next;
    }
    return p;
}

static void copy_name(char *dst, const char *src, size_t len)
{
    if (len >= PROCFS_NAME_MAX)
        len = PROCFS_NAME_MAX - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* The number on the line "key: N" of a "key: value" file. */
static int keyed_u64(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            return read_u64(line + klen + 1, out) != NULL ? 0 : -EINVAL;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return -ENOENT;
}

uint64_t procfs_delta(uint64_t prev, uint64_t cur)
{
    return cur >= prev ? cur - prev : 0;
}

/* ---- /proc/stat --------------------------------------------------------- */

int procfs_parse_stat_cpu(const char *text, procfs_cpu *out)
{
    const char *line = text;
    while (line != NULL && strncmp(line, "cpu ", 4) != 0) {
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    if (line == NULL)
        return -EINVAL;
    uint64_t f[8];
    if (read_u64s(line + 4, f, 8, 4) == NULL)
        return -EINVAL;
    *out = (procfs_cpu){f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
    return 0;
}

int procfs_cpu_usage(const procfs_cpu *prev, const procfs_cpu *cur, procfs_cpu_pct *out)
{
    double user =
        (double)(procfs_delta(prev->user, cur->user) + procfs_delta(prev->nice, cur->nice));
    double sys =
        (double)(procfs_delta(prev->system, cur->system) + procfs_delta(prev->irq, cur->irq) +
                 procfs_delta(prev->softirq, cur->softirq));
    double iowait = (double)procfs_delta(prev->iowait, cur->iowait);
    double idle = (double)procfs_delta(prev->idle, cur->idle);
    double steal = (double)procfs_delta(prev->steal, cur->steal);
    double total = user + sys + iowait + idle + steal;
    if (total <= 0)
        return -EAGAIN;
    *out = (procfs_cpu_pct){100 * user / total, 100 * sys / total, 100 * iowait / total,
                            100 * idle / total, 100 * steal / total};
    return 0;
}

/* ---- /proc/meminfo ------------------------------------------------------ */

int procfs_parse_meminfo(const char *text, procfs_mem *out)
{
    procfs_mem m = {0};
    if (keyed_u64(text, "MemTotal", &m.total_kb) != 0 ||
        keyed_u64(text, "MemFree", &m.free_kb) != 0)
        return -EINVAL;
    keyed_u64(text, "Buffers", &m.buffers_kb);
    keyed_u64(text, "Cached", &m.cached_kb);
    keyed_u64(text, "SReclaimable", &m.sreclaimable_kb);
    keyed_u64(text, "SwapTotal", &m.swap_total_kb);
    keyed_u64(text, "SwapFree", &m.swap_free_kb);
    if (keyed_u64(text, "MemAvailable", &m.available_kb) != 0)
        m.available_kb = m.free_kb + m.buffers_kb + m.cached_kb;
    *out = m;
    return 0;
}

/* ---- /proc/diskstats ---------------------------------------------------- */

int procfs_parse_diskstats_line(const char *line, procfs_disk *out)
{
    uint64_t dev[2], f[7];
    const char *p = read_u64s(line, dev, 2, 2);
    if (p == NULL)
        return -EINVAL;
    p = skip_blanks(p);
    const char *name_end = skip_token(p);
    if (name_end == p)
        return -EINVAL;
    /* reads, reads merged, sectors read, ms reading, writes, writes merged,
     * sectors written */
    if (read_u64s(name_end, f, 7, 7) == NULL)
        return -EINVAL;
    copy_name(out->name, p, (size_t)(name_end - p));
    out->reads = f[0];
    out->read_sectors = f[2];
    out->writes = f[4];
    out->write_sectors = f[6];
    return 0;
}

/* ---- /proc/net/dev ------------------------------------------------------ */

int procfs_parse_netdev_line(const char *line, procfs_netdev *out)
{
    const char *name = skip_blanks(line);
    const char *colon = strchr(name, ':');
    const char *name_end = skip_token(name);
    /* Interface names cannot hold ':' or blanks, and a wide counter may
     * follow the colon with no blank in between. */
    if (colon == NULL || colon == name || colon > name_end)
        return -EINVAL;
    uint64_t f[10];
    /* rx: bytes packets errs drop fifo frame compressed multicast;
     * tx: bytes packets ... */
    if (read_u64s(colon + 1, f, 10, 10) == NULL)
        return -EINVAL;
    copy_name(out->name, name, (size_t)(colon - name));
    out->rx_bytes = f[0];
    out->rx_packets = f[1];
    out->tx_bytes = f[8];
    out->tx_packets = f[9];
    return 0;
}

/* ---- /proc/PID/stat and /proc/PID/io ------------------------------------ */

/* Field numbers of proc(5), counted from 1 (pid) and 2 (comm). */
enum {
    STAT_STATE = 3,
    STAT_UTIME = 14,
    STAT_STIME = 15,
    STAT_THREADS = 20,
    STAT_START = 22,
    STAT_RSS = 24
};

/* Start of each field from 3 to STAT_RSS, after the ')' closing comm. */
static int stat_fields(const char *p, const char **field)
{
    for (int i = STAT_STATE; i <= STAT_RSS; i++) {
        p = skip_blanks(p);
        if (*p == '\0' || *p == '\n')
            return -EINVAL;
        field[i] = p;
        p = skip_token(p);
    }
    return 0;
}

static int stat_numbers(const char **field, procfs_pid_stat *out)
{
    if (read_u64(field[STAT_UTIME], &out->utime) == NULL ||
        read_u64(field[STAT_STIME], &out->stime) == NULL ||
        read_u64(field[STAT_THREADS], &out->threads) == NULL ||
        read_u64(field[STAT_START], &out->starttime) == NULL ||
        read_u64(field[STAT_RSS], &out->rss_pages) == NULL)
        return -EINVAL;
    return 0;
}

int procfs_parse_pid_stat(const char *text, procfs_pid_stat *out)
{
    uint64_t pid;
    const char *field[STAT_RSS + 1];
    const char *after_pid = read_u64(text, &pid);
    const char *open = strchr(text, '(');
    const char *close = strrchr(text, ')');
    if (after_pid == NULL || open == NULL || close == NULL || close < open ||
        skip_blanks(after_pid) != open)
        return -EINVAL;
    procfs_pid_stat st = {.pid = (long)pid};
    if (stat_fields(close + 1, field) != 0 || stat_numbers(field, &st) != 0)
        return -EINVAL;
    st.state = *field[STAT_STATE];
    copy_name(st.comm, open + 1, (size_t)(close - open - 1));
    *out = st;
    return 0;
}

int procfs_parse_pid_io(const char *text, procfs_pid_io *out)
{
    procfs_pid_io io;
    if (keyed_u64(text, "read_bytes", &io.read_bytes) != 0 ||
        keyed_u64(text, "write_bytes", &io.write_bytes) != 0 ||
        keyed_u64(text, "syscr", &io.syscr) != 0 || keyed_u64(text, "syscw", &io.syscw) != 0)
        return -EINVAL;
    *out = io;
    return 0;
}
