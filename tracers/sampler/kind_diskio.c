/* kind_diskio.c - "diskio": per-disk throughput and IOPS from /proc/diskstats. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sampler.h"
#include "procfs.h"

/* /proc/diskstats counts 512-byte sectors whatever the device. */
#define SECTOR_KB (512.0 / 1024.0)

enum { DISK_RSECT, DISK_WSECT, DISK_READS, DISK_WRITES };

static int disk_parse(const char *line, char *name, uint64_t c[DEVICE_COUNTERS])
{
    procfs_disk d;
    if (procfs_parse_diskstats_line(line, &d) != 0)
        return -1;
    memcpy(name, d.name, sizeof(d.name));
    c[DISK_RSECT] = d.read_sectors;
    c[DISK_WSECT] = d.write_sectors;
    c[DISK_READS] = d.reads;
    c[DISK_WRITES] = d.writes;
    return 0;
}

/* Whole disks, the entries of /sys/block (partitions are not there, so
 * nothing is counted twice), except loop and ram devices, which are many
 * and seldom what one wants to watch. */
static int disk_by_default(const char *name, sca_buf *scratch)
{
    (void)scratch;
    if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
        return 0;
    static const char dir[] = "/sys/block/";
    char path[sizeof(dir) + PROCFS_NAME_MAX];
    snprintf(path, sizeof(path), "%s%s", dir, name);
    for (char *p = path + sizeof(dir) - 1; *p != '\0'; p++)
        if (*p == '/') /* sysfs spells "cciss/c0d0" as "cciss!c0d0" */
            *p = '!';
    return access(path, F_OK) == 0;
}

static void disk_emit(sca_buf *line, const char *name, const double rate[DEVICE_COUNTERS])
{
    sampler_kv(line, name, "read_kbps", rate[DISK_RSECT] * SECTOR_KB, 2, "kB/s");
    sampler_kv(line, name, "write_kbps", rate[DISK_WSECT] * SECTOR_KB, 2, "kB/s");
    sampler_kv(line, name, "iops", rate[DISK_READS] + rate[DISK_WRITES], 2, "IO/s");
}

static const device_source disk_source = {
    "/proc/diskstats",
    "disk",
    "no disks found (whole disks in /sys/block other than loop and ram devices); "
    "name one with --dev",
    disk_parse,
    disk_by_default,
    disk_emit,
};

static int disk_open(const sampler_opts *opts, void **state, sca_error *err)
{
    return devices_open(&disk_source, opts, state, err);
}

const sampler_kind sampler_diskio = {"diskio", disk_open, devices_sample, devices_close};
