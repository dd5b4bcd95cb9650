/*
 * error.h - the one error idiom of Scalpels.
 *
 * Every fallible function returns 0 on success or a negative errno-style code
 * (-EINVAL, -ENOENT, -EIO, ...) and, when the caller passes a sca_error, writes
 * a sentence for humans into it.  Callers that only care about success may pass
 * NULL.  sca_error_set() returns the code so an error path is one line:
 *
 *     return sca_error_set(err, -EINVAL, "unknown parser '%s'", name);
 */
#ifndef SCALPELS_ERROR_H
#define SCALPELS_ERROR_H

#define SCA_ERRMSG_MAX 512

typedef struct sca_error {
    int code;                 /* last code set, 0 when clear */
    char msg[SCA_ERRMSG_MAX]; /* human-readable, no trailing newline */
} sca_error;

/* Records code and message in err (if not NULL); returns code. */
int sca_error_set(sca_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to the message already in err; returns err->code. */
int sca_error_prefix(sca_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void sca_error_clear(sca_error *err);

#endif
