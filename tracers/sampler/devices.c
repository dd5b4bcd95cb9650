/* devices.c - per-device kinds: read counters each interval, print rates. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"
#include "procfs.h"

typedef struct device {
    char name[PROCFS_NAME_MAX];
    uint64_t c[DEVICE_COUNTERS];
} device;

/* One reading: the watched devices and their counters. */
typedef struct device_set {
    device *v;
    size_t n;
    size_t cap;
} device_set;

typedef struct devices_state {
    const device_source *src;
    const sampler_opts *opts;
    sca_buf text;
    sca_buf scratch;
    device_set prev, cur;
} devices_state;

static device *set_add(device_set *set)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 16;
        set->v = sca_realloc(set->v, set->cap * sizeof(*set->v));
    }
    return &set->v[set->n++];
}

static const device *set_find(const device_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].name, name) == 0)
            return &set->v[i];
    return NULL;
}

static int wanted(devices_state *s, const char *name)
{
    if (s->opts->ndevs > 0)
        return sampler_dev_listed(s->opts, name);
    return s->src->by_default(name, &s->scratch);
}

static int devices_read(devices_state *s, device_set *set, sca_error *err)
{
    int rc = sampler_read_file(s->src->path, &s->text, err);
    if (rc != 0)
        return rc;
    set->n = 0;
    char *cursor = s->text.data, *line;
    device d;
    while ((line = sampler_next_line(&cursor)) != NULL)
        if (s->src->parse(line, d.name, d.c) == 0 && wanted(s, d.name))
            *set_add(set) = d;
    return 0;
}

/* Every --dev must exist at start; without --dev there must be some device. */
static int devices_check(const devices_state *s, sca_error *err)
{
    for (size_t i = 0; i < s->opts->ndevs; i++)
        if (set_find(&s->prev, s->opts->devs[i]) == NULL)
            return sca_error_set(err, -ENODEV, "no %s '%s' in %s", s->src->noun, s->opts->devs[i],
                                 s->src->path);
    if (s->prev.n == 0)
        return sca_error_set(err, -ENODEV, "%s", s->src->none);
    return 0;
}

void devices_close(void *state)
{
    devices_state *s = state;
    sca_buf_free(&s->text);
    sca_buf_free(&s->scratch);
    free(s->prev.v);
    free(s->cur.v);
    free(s);
}

int devices_open(const device_source *src, const sampler_opts *opts, void **state, sca_error *err)
{
    devices_state *s = sca_calloc(1, sizeof(*s));
    s->src = src;
    s->opts = opts;
    int rc = devices_read(s, &s->prev, err);
    if (rc == 0)
        rc = devices_check(s, err);
    if (rc != 0) {
        devices_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* Rates of the devices present in both readings; one that appeared during
 * the interval has none yet, one that vanished is simply left out. */
static void devices_emit(const devices_state *s, double elapsed, sca_buf *line)
{
    for (size_t i = 0; i < s->cur.n; i++) {
        const device *d = &s->cur.v[i];
        const device *p = set_find(&s->prev, d->name);
        if (p == NULL)
            continue;
        double rate[DEVICE_COUNTERS];
        for (int k = 0; k < DEVICE_COUNTERS; k++)
            rate[k] = (double)procfs_delta(p->c[k], d->c[k]) / elapsed;
        s->src->emit(line, d->name, rate);
    }
}

int devices_sample(void *state, double elapsed, sca_buf *line, sca_error *err)
{
    devices_state *s = state;
    int rc = devices_read(s, &s->cur, err);
    if (rc != 0)
        return rc;
    devices_emit(s, elapsed, line);
    device_set t = s->prev;
    s->prev = s->cur;
    s->cur = t;
    return 0;
}
