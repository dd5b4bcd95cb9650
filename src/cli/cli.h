/*
 * cli.h - what the command-line programs (sca, sca-manage) share: exit
 * codes, option helpers and the common start-up.
 */
#ifndef SCALPELS_CLI_H
#define SCALPELS_CLI_H

#include <stdbool.h>

#include "scalpels/config.h"

/* Exit codes, the same for every command. */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAILED = 1,      /* the agent or the store answered with an error */
    CLI_USAGE = 2,       /* bad command line or bad input */
    CLI_UNREACHABLE = 3, /* no agent reachable, or it did not answer in time */
};

/* Prints "prog: message" to stderr and returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Splits "key=value" at the first '='; -EINVAL when there is none or the
 * key is empty.  *key is a new string, *value points into arg. */
int cli_split_kv(const char *arg, char **key, const char **value);

/* The program name used in messages ("sca", "sca-manage"). */
extern const char *cli_prog;

#endif
