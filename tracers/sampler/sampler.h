/*
 * sampler.h - the built-in /proc sampler (sca-sampler), shared between its
 * files: the options, the interface each kind of measurement implements, and
 * small helpers.
 */
#ifndef SCA_SAMPLER_H
#define SCA_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "scalpels/error.h"
#include "scalpels/util.h"

/* Usage errors exit with this; runtime errors with 1. */
#define SAMPLER_EXIT_USAGE 2

typedef struct sampler_opts {
    const char *kind;
    double interval;   /* seconds between lines */
    long count;        /* intervals to run; 0 = until stopped */
    long pid;          /* proc --pid, 0 when not given */
    const char *pname; /* proc --pname, NULL when not given */
    char **devs; /* diskio/netdev --dev names (own copies) */
    size_t ndevs;
    long port; /* port --port, 0 when not given */
} sampler_opts;

/*
 * One kind of measurement.  open takes the first reading, the baseline;
 * sample takes the next one and appends the line for the time since the
 * previous reading (elapsed seconds, monotonic): "key=value ...", or for
 * port and iocount the traffic or count parser's format.  Appending nothing
 * means there is nothing to print this interval.  sample returns -ESRCH when
 * what it watches is gone for good, which ends the sampler normally.
 */
typedef struct sampler_kind {
    const char *name;
    int (*open)(const sampler_opts *opts, void **state, sca_error *err);
    int (*sample)(void *state, double elapsed, sca_buf *line, sca_error *err);
    void (*close)(void *state);
} sampler_kind;

extern const sampler_kind sampler_cpu, sampler_mem, sampler_diskio, sampler_netdev, sampler_proc,
    sampler_port, sampler_iocount;

/* options.c: fills opts from argv, or prints why not and exits 2. */
void sampler_options(int argc, char **argv, sampler_opts *opts);
void sampler_options_free(sampler_opts *opts);
const sampler_kind *sampler_kind_find(const char *name);
/* Whether name is one of the --dev names. */
int sampler_dev_listed(const sampler_opts *opts, const char *name);

/* io.c */
/* The whole of a /proc or /sys file into buf (NUL-terminated).  Returns
 * -errno, with the path in err. */
int sampler_read_file(const char *path, sca_buf *buf, sca_error *err);
/* Appends " [dev.]key=value[unit]" to line, value with `decimals` digits
 * and unit glued to it (NULL: none); dev is made a valid kv key by
 * replacing any other byte with '_'. */
void sampler_kv(sca_buf *line, const char *dev, const char *key, double value, int decimals,
                const char *unit);
/* Cuts buf's text into lines in place: the next line, or NULL at the end. */
char *sampler_next_line(char **cursor);
/* The pid a /proc entry's name stands for, or 0 when it is not a process. */
long sampler_pid_of(const char *name);

/*
 * devices.c: the shared engine of the kinds that read one line per device
 * from a file (diskio, netdev) and print rates per device.
 */
#define DEVICE_COUNTERS 4

typedef struct device_source {
    const char *path; /* /proc file with one line per device */
    const char *noun; /* "disk", for messages */
    const char *none; /* message when no device is there by default */
    /* One line of path: 0 with the name (PROCFS_NAME_MAX bytes) and the
     * counters, or non-zero for a line that is not a device. */
    int (*parse)(const char *line, char *name, uint64_t c[DEVICE_COUNTERS]);
    /* Whether a device is watched when no --dev is given. */
    int (*by_default)(const char *name, sca_buf *scratch);
    /* Appends the pairs of one device from its counters' rates per second. */
    void (*emit)(sca_buf *line, const char *name, const double rate[DEVICE_COUNTERS]);
} device_source;

int devices_open(const device_source *src, const sampler_opts *opts, void **state, sca_error *err);
int devices_sample(void *state, double elapsed, sca_buf *line, sca_error *err);
void devices_close(void *state);

#endif
