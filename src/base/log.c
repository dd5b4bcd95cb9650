/* log.c - leveled logging to stderr, journald-friendly (see log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "scalpels/log.h"

static const char *log_prog = "scalpels";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static int log_to_journal;

void log_init(const char *progname)
{
    log_prog = progname;
    log_to_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level level)
{
    log_threshold = level;
}

int log_level_parse(const char *name, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"error", LOG_LEVEL_ERROR},
                 {"warning", LOG_LEVEL_WARNING},
                 {"info", LOG_LEVEL_INFO},
                 {"debug", LOG_LEVEL_DEBUG}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

static const char *level_name(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERROR:
        return "error";
    case LOG_LEVEL_WARNING:
        return "warning";
    case LOG_LEVEL_INFO:
        return "info";
    default:
        return "debug";
    }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    char line[2048];
    int off;
    if (log_to_journal) {
        off = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, level_name(level));
    } else {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        off = snprintf(line, sizeof(line),
                       "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s[%d]: %s: ", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       (int)(tv.tv_usec / 1000), log_prog, (int)getpid(), level_name(level));
    }
    if (off < 0 || (size_t)off >= sizeof(line))
        off = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
    va_end(ap);
    /* One write per line so lines from several processes never interleave. */
    size_t len = strlen(line);
    if (len + 1 < sizeof(line)) {
        line[len++] = '\n';
    } else {
        line[sizeof(line) - 2] = '\n';
        len = sizeof(line) - 1;
    }
    ssize_t rc = write(STDERR_FILENO, line, len);
    (void)rc;
}
