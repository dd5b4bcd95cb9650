/* manage_db.c - sca-manage db-create, setup and purge: local work on the
 * node's database (see manage.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "manage.h"
#include "scalpels/parse.h"
#include "scalpels/paths.h"
#include "scalpels/rpc.h"
#include "scalpels/table.h"
#include "scalpels/template.h"
#include "scalpels/util.h"

/* Hands each option of a command to fn, which returns a cli_exit code;
 * the first that is not CLI_OK ends the parse and is returned.  CLI_USAGE,
 * printed, for an option error or an argument. */
static int parse_sub_options(int argc, char **argv, const char *shortopts,
                             const struct option *longopts, int (*fn)(void *, int, const char *),
                             void *arg)
{
    int opt;
    optind = 0;
    while ((opt = cli_getopt(argc, argv, shortopts, longopts, argv[0])) != -1) {
        if (opt == '?')
            return CLI_USAGE;
        int code = fn(arg, opt, optarg);
        if (code != CLI_OK)
            return code;
    }
    if (optind < argc)
        return cli_fail(CLI_USAGE, "unexpected argument '%s'", argv[optind]);
    return CLI_OK;
}

static void remove_database_files(const char *path)
{
    const char *suffixes[] = {"", "-wal", "-shm", "-journal", "-room"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char *p = sca_asprintf("%s%s", path, suffixes[i]);
        unlink(p);
        free(p);
    }
}

struct db_create_opts {
    bool force;
};

static void db_create_usage(void)
{
    printf("usage: sca-manage db-create [-f]\n"
           "\n"
           "Creates the node's database and registers the shipped tracers with their\n"
           "parsers and default data options.\n"
           "\n"
           "  -f, --force  replace an existing database (its tasks and results are lost);\n"
           "               refused while the agent or any of its tracers runs\n");
}

static int db_create_opt(void *arg, int opt, const char *val)
{
    (void)val;
    struct db_create_opts *o = arg;
    if (opt == 'f') {
        o->force = true;
        return CLI_OK;
    }
    return opt == 'h' ? CLI_HELP : CLI_USAGE;
}

/* "cpu (pid 42), mem (pid 43)": the tracers the database says run and whose
 * pid still runs that sca-tracer (not a reused pid; new string), or NULL
 * for none or an unreadable file. */
static char *tracers_alive(const char *db_path)
{
    store *s = NULL;
    store_tracer *v = NULL;
    size_t n = 0;
    sca_error err = {0};
    sca_buf names = {0};
    if (store_open(db_path, STORE_READONLY, &s, &err) == 0 &&
        store_tracer_list(s, &v, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!v[i].running || v[i].pid <= 0 ||
                !paths_pid_is_tracer((pid_t)v[i].pid, NULL, v[i].name))
                continue;
            char *one = sca_asprintf("%s%s (pid %lld)", names.len > 0 ? ", " : "", v[i].name,
                                     (long long)v[i].pid);
            sca_buf_append(&names, one, strlen(one));
            free(one);
        }
    }
    store_tracer_array_free(v, n);
    store_close(s);
    if (names.len == 0)
        return NULL;
    sca_buf_append(&names, "", 1);
    return names.data;
}

/* Refuses to replace a database that an agent or its tracers still write:
 * they would go on writing to the deleted file, and their tasks would be
 * lost without a word. */
static int check_not_in_use(const config *cfg)
{
    /* Every agent serves its local socket, whatever its transport. */
    char *sock = sca_asprintf("%s/agent.sock", cfg->state_dir);
    int code = CLI_OK;
    char *alive = NULL;
    if (rpc_unix_probe(sock) == 0)
        code = cli_fail(CLI_FAILED,
                        "the agent is running on %s (%s accepts connections): stop its tasks "
                        "('sca stop') and the agent ('sca-manage stop') first",
                        cfg->db_path, sock);
    else if ((alive = tracers_alive(cfg->db_path)) != NULL)
        code = cli_fail(CLI_FAILED,
                        "tracers still write to %s: %s; start the agent and stop them "
                        "('sca-agent', then 'sca stop -a NAME'), or end those processes first",
                        cfg->db_path, alive);
    free(alive);
    free(sock);
    return code;
}

static char *parent_dir(const char *path)
{
    char *dir = sca_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir)
        *slash = '\0';
    return dir;
}

int manage_db_create(const config *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct db_create_opts o = {0};
    int code = parse_sub_options(argc, argv, ":fh", longopts, db_create_opt, &o);
    if (code == CLI_HELP)
        db_create_usage();
    if (code != CLI_OK)
        return code;
    bool existed = access(cfg->db_path, F_OK) == 0;
    if (existed) {
        if (!o.force)
            return cli_fail(CLI_FAILED,
                            "database %s already exists; use 'sca-manage db-create -f' to "
                            "replace it (its tasks and results are lost)",
                            cfg->db_path);
        code = check_not_in_use(cfg);
        if (code != CLI_OK)
            return code;
        remove_database_files(cfg->db_path);
    }
    sca_error err = {0};
    char *dir = parent_dir(cfg->db_path);
    int rc = paths_make_state_dir(dir, &err);
    free(dir);
    store *s = NULL;
    if (rc == 0)
        rc = store_open(cfg->db_path, STORE_CREATE, &s, &err);
    if (rc == 0)
        rc = manage_register_shipped(s, &err);
    store_close(s);
    if (rc != 0)
        return cli_fail(CLI_FAILED, "%s", err.msg);
    size_t n;
    manage_shipped_tracers(&n);
    printf("%s database %s with %zu tracers\n", existed ? "recreated" : "created", cfg->db_path, n);
    return CLI_OK;
}

/* What `setup` was asked to do, all validated before anything is written. */
struct setup_opts {
    char *name;
    char *tpl;
    char *parser;
    char *title;
    json_t *data;
    bool show;
    bool help;
};

/* The store and every answer of the agent hold text as UTF-8 (JSON): a
 * value that is not would be dropped on the way, so it is refused here. */
static bool setup_text_valid(const char *value)
{
    return sca_utf8_valid(value, strlen(value));
}

static int setup_not_utf8(char opt, char *key)
{
    int code =
        cli_fail(CLI_USAGE, "-%c %s: the value is not valid UTF-8; nothing written", opt, key);
    free(key);
    return code;
}

static int setup_tracer_opt(struct setup_opts *o, const char *arg)
{
    char *key;
    const char *value;
    if (cli_split_kv(arg, &key, &value) != 0)
        return cli_fail(CLI_USAGE, "-t expects key=value (name, tpl, parser or title), not '%s'",
                        arg);
    char **slot = strcmp(key, "name") == 0     ? &o->name
                  : strcmp(key, "tpl") == 0    ? &o->tpl
                  : strcmp(key, "parser") == 0 ? &o->parser
                  : strcmp(key, "title") == 0  ? &o->title
                                               : NULL;
    if (slot == NULL) {
        int code =
            cli_fail(CLI_USAGE, "unknown tracer option '%s' (use name, tpl, parser, title)", key);
        free(key);
        return code;
    }
    if (!setup_text_valid(value))
        return setup_not_utf8('t', key);
    free(key);
    free(*slot);
    *slot = sca_strdup(value);
    return CLI_OK;
}

static int setup_data_opt(struct setup_opts *o, const char *arg)
{
    char *key;
    const char *value;
    if (cli_split_kv(arg, &key, &value) != 0)
        return cli_fail(CLI_USAGE, "-d expects key=value, not '%s'", arg);
    int code = CLI_OK;
    if (!sca_option_name_valid(key, strlen(key)))
        code = cli_fail(CLI_USAGE, "invalid data option name '%s': use " SCA_OPTION_NAME_RULE, key);
    else if (!setup_text_valid(value))
        return setup_not_utf8('d', key);
    else
        json_object_set_new(o->data, key, json_string(value));
    free(key);
    return code;
}

static void setup_usage(void)
{
    printf("usage: sca-manage setup [-t name=N [-t tpl=T] [-t parser=P] [-t title=X]]\n"
           "                        [-d key=value]... [-s]\n"
           "\n"
           "Registers or updates tracer N and sets data options in the node's database.\n"
           "\n"
           "  -t name=N     tracer name: %s\n"
           "  -t tpl=T      command template (needed for a new tracer), split like a shell\n"
           "                command line but never run by a shell; %%(key)s is replaced by\n"
           "                data option key (or tracer_path, bindir, task, tracer, host,\n"
           "                state_dir)\n"
           "  -t parser=P   how output lines become samples: %s (default log)\n"
           "  -t title=X    name shown for the tracer's results (default N)\n"
           "  -d key=value  set data option key (repeatable; value may be empty)\n"
           "  -s, --stat    print the data options as a table\n",
           SCA_TRACER_NAME_RULE, parse_names());
}

static int setup_opt(void *arg, int opt, const char *val)
{
    struct setup_opts *o = arg;
    switch (opt) {
    case 't':
        return setup_tracer_opt(o, val);
    case 'd':
        return setup_data_opt(o, val);
    case 's':
        o->show = true;
        return CLI_OK;
    case 'h':
        o->help = true;
        return CLI_OK;
    default:
        return CLI_USAGE;
    }
}

/* 0, or a negative errno code with err set: what is wrong with o. */
static int setup_validate(const struct setup_opts *o, store *s, sca_error *err)
{
    if (o->name == NULL) {
        if (o->tpl || o->parser || o->title)
            return sca_error_set(err, -EINVAL, "-t tpl/parser/title need -t name=N");
        return 0;
    }
    if (!sca_tracer_name_valid(o->name, strlen(o->name)))
        return sca_error_set(err, -EINVAL, "invalid tracer name '%s': use " SCA_TRACER_NAME_RULE,
                             o->name);
    if (o->parser != NULL && parse_find(o->parser) == NULL)
        return sca_error_set(err, -EINVAL, "unknown parser '%s' (known: %s)", o->parser,
                             parse_names());
    store_tracer existing;
    int rc = store_tracer_get(s, o->name, &existing, NULL);
    store_tracer_clear(&existing);
    if (o->tpl == NULL && rc != 0)
        return sca_error_set(err, -EINVAL, "new tracer '%s' needs a template: -t tpl=...", o->name);
    if (o->tpl == NULL)
        return 0;
    char **words = NULL;
    rc = template_split(o->tpl, &words, err);
    template_argv_free(words);
    if (rc != 0)
        return sca_error_prefix(err, "template of tracer '%s'", o->name);
    return 0;
}

static void setup_warn_unset_keys(const char *tpl, json_t *options)
{
    static const char *builtin[] = {"tracer_path", "bindir", "task", "tracer", "host", "state_dir"};
    char **keys = NULL;
    if (template_keys(tpl, &keys, NULL) != 0)
        return;
    for (char **k = keys; *k; k++) {
        bool known = json_object_get(options, *k) != NULL;
        for (size_t i = 0; !known && i < sizeof(builtin) / sizeof(builtin[0]); i++)
            known = strcmp(*k, builtin[i]) == 0;
        if (!known)
            fprintf(stderr,
                    "sca-manage: warning: the template uses %%(%s)s, which is not set; "
                    "set it with -d %s=VALUE before starting the tracer\n",
                    *k, *k);
    }
    template_argv_free(keys);
}

/* Writes o in one transaction: 0, or a negative errno code with err set. */
static int setup_write(const struct setup_opts *o, store *s, sca_error *err)
{
    int rc = store_begin(s, err);
    if (rc == 0 && json_object_size(o->data) > 0)
        rc = store_config_update(s, o->data, err);
    if (rc == 0 && o->name != NULL) {
        store_tracer old = {0};
        bool exists = store_tracer_get(s, o->name, &old, NULL) == 0;
        rc = store_tracer_register(s, o->name, o->tpl ? o->tpl : old.tpl,
                                   o->parser ? o->parser
                                   : exists  ? old.parser
                                             : "log",
                                   o->title ? o->title
                                   : exists ? old.title
                                            : NULL,
                                   err);
        store_tracer_clear(&old);
    }
    if (rc == 0)
        rc = store_commit(s, err);
    if (rc != 0)
        store_rollback(s);
    return rc;
}

/* Prints the data options: 0, or a negative errno code with err set. */
static int setup_show(store *s, sca_error *err)
{
    json_t *options;
    int rc = store_config_get(s, &options, err);
    if (rc != 0)
        return rc;
    static const char *const headers[] = {"key", "value"};
    table *t = table_new(2, headers);
    const char *key;
    json_t *value;
    json_object_foreach(options, key, value)
    {
        const char *row[] = {key, json_string_value(value)};
        table_add_row(t, row);
    }
    table_print(t, stdout);
    table_free(t);
    json_decref(options);
    return 0;
}

static int setup_apply(const struct setup_opts *o, const config *cfg)
{
    sca_error err = {0};
    store *s = NULL;
    int rc = store_open(cfg->db_path, 0, &s, &err);
    if (rc != 0)
        return cli_fail(CLI_FAILED, "%s", err.msg);
    int code = CLI_OK;
    if (setup_validate(o, s, &err) != 0) {
        code = cli_fail(CLI_USAGE, "%s; nothing written", err.msg);
    } else if (setup_write(o, s, &err) != 0) {
        code = cli_fail(CLI_FAILED, "%s; nothing written", err.msg);
    } else {
        if (o->name != NULL) {
            store_tracer t;
            if (store_tracer_get(s, o->name, &t, &err) == 0) {
                json_t *options = NULL;
                printf("tracer %s: %s (parser %s)\n", t.name, t.tpl, t.parser);
                if (store_config_get(s, &options, NULL) == 0)
                    setup_warn_unset_keys(t.tpl, options);
                json_decref(options);
                store_tracer_clear(&t);
            }
        }
        if (o->show && setup_show(s, &err) != 0)
            code = cli_fail(CLI_FAILED, "%s", err.msg);
    }
    store_close(s);
    return code;
}

int manage_setup(const config *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {{"tracer_opts", required_argument, NULL, 't'},
                                             {"data_opts", required_argument, NULL, 'd'},
                                             {"stat", no_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct setup_opts o = {.data = json_object()};
    int code = parse_sub_options(argc, argv, ":t:d:sh", longopts, setup_opt, &o);
    if (code == CLI_OK && o.help) {
        setup_usage();
        code = CLI_HELP;
    } else if (code == CLI_OK && o.name == NULL && !o.tpl && !o.parser && !o.title &&
               json_object_size(o.data) == 0 && !o.show) {
        code = cli_fail(CLI_USAGE, "setup needs -t, -d or -s (see 'sca-manage setup --help')");
    } else if (code == CLI_OK) {
        code = setup_apply(&o, cfg);
    }
    free(o.name);
    free(o.tpl);
    free(o.parser);
    free(o.title);
    json_decref(o.data);
    return code;
}

struct purge_opts {
    double older_than;
    bool have_age;
    bool help;
};

static int purge_opt(void *arg, int opt, const char *val)
{
    struct purge_opts *o = arg;
    if (opt == 'h') {
        o->help = true;
        return CLI_OK;
    }
    if (opt != 'o')
        return CLI_USAGE;
    if (sca_parse_duration(val, &o->older_than) != 0)
        return cli_fail(CLI_USAGE,
                        "--older-than expects an age such as 3600, 90m, 12h or 7d, not "
                        "'%s'",
                        val);
    o->have_age = true;
    return CLI_OK;
}

static void purge_usage(void)
{
    printf("usage: sca-manage purge --older-than AGE\n"
           "\n"
           "Deletes tasks that stopped more than AGE ago (e.g. 3600, 90m, 12h, 7d) with\n"
           "their results and samples.  Running tasks are kept, and their tracers go on\n"
           "writing during the purge.  With no task running, the file is then compacted\n"
           "to give the space back; while one runs, new samples reuse the space.\n");
}

int manage_purge(const config *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {{"older-than", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct purge_opts o = {0};
    int code = parse_sub_options(argc, argv, ":o:h", longopts, purge_opt, &o);
    if (code != CLI_OK)
        return code;
    if (o.help) {
        purge_usage();
        return CLI_HELP;
    }
    if (!o.have_age)
        return cli_fail(CLI_USAGE, "purge needs --older-than AGE");
    sca_error err = {0};
    store *s = NULL;
    store_purge_stats st;
    int rc = store_open(cfg->db_path, 0, &s, &err);
    if (rc == 0)
        rc = store_purge(s, sca_now() - o.older_than, &st, &err);
    store_close(s);
    if (rc != 0)
        return cli_fail(CLI_FAILED, "%s", err.msg);
    printf("purged %lld task%s\n", (long long)st.tasks, st.tasks == 1 ? "" : "s");
    if (st.tasks > 0 && !st.shrunk)
        printf("the file keeps its size while a task runs (compacting it would hold up the "
               "tracers); new samples reuse the freed space, and a purge with no task "
               "running shrinks it\n");
    return CLI_OK;
}
