/* manage.h - sca-manage's commands, one function each. */
#ifndef SCALPELS_CLI_MANAGE_H
#define SCALPELS_CLI_MANAGE_H

#include <stddef.h>

#include "scalpels/config.h"
#include "scalpels/store.h"

/* A tracer that ships with Scalpels and db-create registers. */
typedef struct manage_shipped_tracer {
    const char *name;
    const char *tpl;
    const char *parser;
    const char *title;
} manage_shipped_tracer;

const manage_shipped_tracer *manage_shipped_tracers(size_t *n);
/* Registers every shipped tracer and sets the data options they use to
 * their defaults (keeping values already set).  0, or a negative errno
 * code with err set. */
int manage_register_shipped(store *s, sca_error *err);

/* --config as given, or NULL: repeated in the hints that say how to start
 * the agent, which needs the same file. */
extern const char *manage_config_path;

/* Each command returns a cli_exit code (CLI_HELP once it printed its
 * usage). */
int manage_db_create(const config *cfg, int argc, char **argv);
int manage_setup(const config *cfg, int argc, char **argv);
int manage_purge(const config *cfg, int argc, char **argv);
/* Over RPC to the node's agent (manage_agent.c). */
int manage_status(const config *cfg, int argc, char **argv);
int manage_stop(const config *cfg, int argc, char **argv);

#endif
