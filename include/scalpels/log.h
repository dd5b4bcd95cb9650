/*
 * log.h - leveled logging to stderr.  When stderr is the journal (systemd sets
 * JOURNAL_STREAM) lines carry the "<N>" priority prefix and no timestamp, so
 * journald files them at the right level; otherwise they read
 * "2026-11-23T11:18:09.123Z sca-agent[42]: warning: ...".
 */
#ifndef SCALPELS_LOG_H
#define SCALPELS_LOG_H

enum log_level {
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7
};

void log_init(const char *progname);
void log_set_level(enum log_level level);
/* Parses "error", "warning", "info" or "debug"; -EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
