/*
 * sca-manage - administer a node: create its database, register tracers and
 * data options, purge old tasks, and (over RPC) stop or query its agent.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "manage.h"
#include "scalpels/log.h"

const char *cli_prog = "sca-manage";
const char *manage_config_path;

static const struct command {
    const char *name;
    int (*fn)(const config *cfg, int argc, char **argv);
    const char *summary;
} commands[] = {
    {"db-create", manage_db_create, "create the database and register the shipped tracers"},
    {"setup", manage_setup, "register or update a tracer, set data options, show them"},
    {"purge", manage_purge, "delete finished tasks older than an age and reclaim space"},
    {"status", manage_status, "ask the agent: reachable, version, uptime, tracers, CPU, RSS"},
    {"stop", manage_stop, "make the agent exit gracefully (its tracers keep running)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: sca-manage [--config FILE] COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nOptions:\n"
               "  -c, --config FILE  configuration file (default: $SCALPELS_CONF, then\n"
               "                     " CONFIG_SYSTEM_PATH ")\n"
               "  -h, --help         show this help; COMMAND --help for a command's\n"
               "\nExit status: 0 ok, 1 failed, 2 bad usage or input, 3 agent unreachable.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    int opt;
    log_init(cli_prog);
    /* "+": stop at the command name; its options are its own. */
    while ((opt = cli_getopt(argc, argv, "+:c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = manage_config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default: /* cli_getopt said what is wrong */
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        config cfg;
        sca_error err = {0};
        if (config_load(&cfg, config_path, &err) != 0)
            return cli_fail(CLI_USAGE, "%s", err.msg);
        log_set_level(cfg.log_level);
        int code = commands[i].fn(&cfg, argc - optind, argv + optind);
        config_free(&cfg);
        return cli_exit_status(code);
    }
    return cli_fail(CLI_USAGE, "unknown command '%s' (see 'sca-manage --help')", name);
}
