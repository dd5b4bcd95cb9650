/* io.c - reading /proc and /sys files, and writing key=value pairs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampler.h"

/* Keeps "<dev>.<key>" within the kv parser's 64-byte key limit. */
#define SAMPLER_DEV_KEY_MAX 48

int sampler_read_file(const char *path, sca_buf *buf, sca_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sca_error_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
    sca_buf_reset(buf);
    sca_buf_append(buf, "", 0);
    char chunk[4096];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n > 0)
            sca_buf_append(buf, chunk, (size_t)n);
        else if (n == 0)
            break;
        else if (errno != EINTR) {
            rc = sca_error_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
            break;
        }
    }
    close(fd);
    return rc;
}

static int key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_.:/-", c) != NULL;
}

void sampler_kv(sca_buf *line, const char *dev, const char *key, double value, int decimals,
                const char *unit)
{
    if (line->len > 0)
        sca_buf_append(line, " ", 1);
    for (size_t i = 0; dev != NULL && dev[i] != '\0' && i < SAMPLER_DEV_KEY_MAX; i++) {
        char c = key_char(dev[i]) ? dev[i] : '_';
        sca_buf_append(line, &c, 1);
    }
    if (dev != NULL)
        sca_buf_append(line, ".", 1);
    sca_buf_appendf(line, "%s=%.*f%s", key, decimals, value, unit != NULL ? unit : "");
}

char *sampler_next_line(char **cursor)
{
    char *line = *cursor;
    if (line == NULL || *line == '\0')
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = line + strlen(line);
    }
    return line;
}

long sampler_pid_of(const char *name)
{
    char *end;
    long pid = strtol(name, &end, 10);
    return name[0] >= '1' && name[0] <= '9' && *end == '\0' ? pid : 0;
}
