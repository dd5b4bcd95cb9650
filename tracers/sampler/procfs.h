/*
 * procfs.h - parsers for the Linux /proc text files the built-in sampler
 * reads.  They are pure: each takes text as read from the file (a
 * NUL-terminated string) and fills a struct, so tests feed them recorded
 * samples.  Counters are the kernel's cumulative values; the sampler turns
 * two readings into a rate with procfs_delta.  Errors are -EINVAL for text
 * that is not what the file should hold.
 */
#ifndef SCALPELS_PROCFS_H
#define SCALPELS_PROCFS_H

#include <stdint.h>

/* Names are cut to fit (device names are at most 32 bytes, task names 64). */
#define PROCFS_NAME_MAX 64

/* The aggregate "cpu" line of /proc/stat, in clock ticks summed over all
 * CPUs.  Guest time is already counted in user and nice, so it is left out. */
typedef struct procfs_cpu {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
} procfs_cpu;

/* Share of all CPUs' time over an interval, in percent; the five add up to
 * 100. */
typedef struct procfs_cpu_pct {
    double user;   /* user + nice */
    double system; /* system + irq + softirq */
    double iowait;
    double idle;
    double steal; /* taken by the hypervisor */
} procfs_cpu_pct;

/* Finds the "cpu " line in the whole text of /proc/stat.  Fields newer
 * kernels added (iowait, irq, softirq, steal) read as 0 when absent. */
int procfs_parse_stat_cpu(const char *text, procfs_cpu *out);

/* Percentages between two readings; -EAGAIN when no tick passed between them
 * (nothing can be said yet). */
int procfs_cpu_usage(const procfs_cpu *prev, const procfs_cpu *cur, procfs_cpu_pct *out);

/* /proc/meminfo, in kB.  MemTotal and MemFree are required; MemAvailable,
 * missing before Linux 3.14, is then estimated as free + buffers + cached;
 * other missing fields read as 0. */
typedef struct procfs_mem {
    uint64_t total_kb, free_kb, available_kb, buffers_kb, cached_kb, sreclaimable_kb;
    uint64_t swap_total_kb, swap_free_kb;
} procfs_mem;

int procfs_parse_meminfo(const char *text, procfs_mem *out);

/* One line of /proc/diskstats.  Sectors are 512 bytes whatever the device's
 * real sector size. */
typedef struct procfs_disk {
    char name[PROCFS_NAME_MAX];
    uint64_t reads, read_sectors, writes, write_sectors;
} procfs_disk;

int procfs_parse_diskstats_line(const char *line, procfs_disk *out);

/* One device line of /proc/net/dev ("eth0: rx... tx..."); the two header
 * lines are -EINVAL. */
typedef struct procfs_netdev {
    char name[PROCFS_NAME_MAX];
    uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
} procfs_netdev;

int procfs_parse_netdev_line(const char *line, procfs_netdev *out);

/* /proc/PID/stat.  The name is read between the first '(' and the last ')',
 * since it may itself hold spaces and parentheses. */
typedef struct procfs_pid_stat {
    long pid;
    char comm[PROCFS_NAME_MAX];
    char state;
    uint64_t utime, stime; /* clock ticks */
    uint64_t threads;
    uint64_t starttime; /* ticks after boot: tells a reused pid apart */
    uint64_t rss_pages;
} procfs_pid_stat;

int procfs_parse_pid_stat(const char *text, procfs_pid_stat *out);

/* /proc/PID/io: bytes the process made the kernel fetch from and send to
 * storage (not pipes or sockets, which rchar/wchar would include), and its
 * read and write system calls of any kind (read, pread, readv, ... on any
 * file, pipe or socket).  For a process (not a single thread) every counter
 * includes its ended threads and the children it has reaped. */
typedef struct procfs_pid_io {
    uint64_t read_bytes, write_bytes;
    uint64_t syscr, syscw;
} procfs_pid_io;

int procfs_parse_pid_io(const char *text, procfs_pid_io *out);

/* cur - prev, or 0 when the counter went backwards (a device or process
 * that was reset). */
uint64_t procfs_delta(uint64_t prev, uint64_t cur);

#endif
