/* config.c - INI configuration through libinih (see config.h). */
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scalpels/config.h"
#include "scalpels/paths.h"
#include "scalpels/util.h"

enum key_type {
    KEY_STRING,
    KEY_PATH,
    KEY_SECONDS,
    KEY_TIMEOUT, /* seconds, more than 0 */
    KEY_INT,
    KEY_SIZE,
    KEY_BOOL,
    KEY_LOGLEVEL,
    KEY_DB
};

struct key_def {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset;
};

#define KEY(sec, name, type, field)                                                                \
    {                                                                                              \
        sec, name, type, offsetof(config, field)                                                   \
    }

static const struct key_def config_keys[] = {
    KEY("DEFAULT", "transport_url", KEY_STRING, transport_url),
    KEY("DEFAULT", "state_dir", KEY_PATH, state_dir),
    KEY("DEFAULT", "log_level", KEY_LOGLEVEL, log_level),
    KEY("database", "connection", KEY_DB, db_path),
    KEY("agent", "host", KEY_STRING, host),
    KEY("agent", "tracer_path", KEY_PATH, tracer_path),
    KEY("agent", "stop_grace", KEY_SECONDS, stop_grace),
    KEY("agent", "max_duration", KEY_SECONDS, max_duration),
    KEY("agent", "unix_idle_timeout", KEY_TIMEOUT, unix_idle_timeout),
    KEY("rpc", "control_exchange", KEY_STRING, control_exchange),
    KEY("rpc", "topic", KEY_STRING, topic),
    KEY("rpc", "timeout", KEY_SECONDS, rpc_timeout),
    KEY("rpc", "heartbeat", KEY_INT, heartbeat),
    KEY("rpc", "max_message_size", KEY_SIZE, max_message_size),
    KEY("rpc", "amqp_durable_queues", KEY_BOOL, amqp_durable_queues),
    KEY("rpc", "rabbit_quorum_queue", KEY_BOOL, rabbit_quorum_queue),
    KEY("rpc", "ssl_ca_file", KEY_PATH, ssl_ca_file),
    KEY("rpc", "ssl_cert_file", KEY_PATH, ssl_cert_file),
    KEY("rpc", "ssl_key_file", KEY_PATH, ssl_key_file),
    KEY("rpc", "ssl_verify", KEY_BOOL, ssl_verify),
};

static char *default_state_dir(void)
{
    if (geteuid() == 0)
        return sca_strdup("/var/lib/scalpels");
    const char *home = getenv("HOME");
    return sca_asprintf("%s/.local/state/scalpels", home && *home ? home : "/tmp");
}

static char *default_host(void)
{
    char name[256];
    if (gethostname(name, sizeof(name)) != 0)
        return sca_strdup("localhost");
    name[sizeof(name) - 1] = '\0';
    return sca_strdup(name);
}

static void fill_derived(config *cfg)
{
    if (cfg->db_path == NULL)
        cfg->db_path = sca_asprintf("%s/scalpels.db", cfg->state_dir);
    if (cfg->tracer_path == NULL)
        cfg->tracer_path = paths_tracer_dir();
    if (cfg->host == NULL || cfg->host[0] == '\0') {
        free(cfg->host);
        cfg->host = default_host();
    }
}

void config_defaults(config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->transport_url = sca_strdup("");
    cfg->state_dir = default_state_dir();
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->host = default_host();
    cfg->tracer_path = paths_tracer_dir();
    cfg->stop_grace = 5;
    cfg->max_duration = 86400;
    cfg->unix_idle_timeout = 30;
    cfg->control_exchange = sca_strdup("openstack");
    cfg->topic = sca_strdup("scalpels");
    cfg->rpc_timeout = 30;
    cfg->heartbeat = 60;
    cfg->max_message_size = 1024 * 1024;
    cfg->ssl_verify = true;
    fill_derived(cfg);
}

void config_free(config *cfg)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        enum key_type t = config_keys[i].type;
        if (t == KEY_STRING || t == KEY_PATH || t == KEY_DB) {
            char **field = (char **)((char *)cfg + config_keys[i].offset);
            free(*field);
            *field = NULL;
        }
    }
    free(cfg->source);
    cfg->source = NULL;
}

struct parse_state {
    config *cfg;
    const char *path;
    FILE *file;
    int lineno;
    sca_error *err;
    int failed;
};

/* Counts lines as inih reads them, since Debian's inih passes no line number
 * to the handler. */
static char *reader_count_lines(char *str, int num, void *stream)
{
    struct parse_state *st = stream;
    char *line = fgets(str, num, st->file);
    if (line != NULL && strchr(line, '\n') != NULL)
        st->lineno++;
    else if (line != NULL && feof(st->file))
        st->lineno++;
    return line;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int set_key(const struct key_def *k, config *cfg, const char *value, char *why,
                   size_t whylen)
{
    void *field = (char *)cfg + k->offset;
    double d;
    int64_t n;
    switch (k->type) {
    case KEY_STRING:
    case KEY_PATH:
        if (k->type == KEY_PATH && value[0] != '\0' && value[0] != '/') {
            snprintf(why, whylen, "must be an absolute path");
            return -EINVAL;
        }
        free(*(char **)field);
        *(char **)field = value[0] ? sca_strdup(value) : NULL;
        if (k->type == KEY_STRING && *(char **)field == NULL)
            *(char **)field = sca_strdup("");
        return 0;
    case KEY_DB:
        if (strncmp(value, "sqlite://", 9) == 0)
            value += 9;
        if (value[0] == '/' && value[1] == '/')
            value++;
        if (value[0] != '\0' && value[0] != '/') {
            snprintf(why, whylen, "must be an absolute path or sqlite:////absolute/path");
            return -EINVAL;
        }
        free(*(char **)field);
        *(char **)field = value[0] ? sca_strdup(value) : NULL;
        return 0;
    case KEY_SECONDS:
    case KEY_TIMEOUT:
        if (sca_parse_duration(value, &d) != 0 || (k->type == KEY_TIMEOUT && d <= 0)) {
            snprintf(why, whylen, "must be a duration%s such as 5, 2.5s, 10m, 1h or 1d",
                     k->type == KEY_TIMEOUT ? " above 0" : "");
            return -EINVAL;
        }
        *(double *)field = d;
        return 0;
    case KEY_INT:
        if (sca_parse_int64(value, &n) != 0 || n < 0 || n > 86400) {
            snprintf(why, whylen, "must be a whole number of seconds from 0 to 86400");
            return -EINVAL;
        }
        *(int *)field = (int)n;
        return 0;
    case KEY_SIZE:
        /* 64 MiB: what the AMQP writer and send queue hold at most. */
        if (sca_parse_int64(value, &n) != 0 || n < 1024 || n > 64 * 1024 * 1024) {
            snprintf(why, whylen, "must be a byte count from 1024 to 67108864 (64 MiB)");
            return -EINVAL;
        }
        *(size_t *)field = (size_t)n;
        return 0;
    case KEY_BOOL:
        if (parse_bool(value, (bool *)field) != 0) {
            snprintf(why, whylen, "must be true or false");
            return -EINVAL;
        }
        return 0;
    case KEY_LOGLEVEL:
        if (log_level_parse(value, (enum log_level *)field) != 0) {
            snprintf(why, whylen, "must be error, warning, info or debug");
            return -EINVAL;
        }
        return 0;
    }
    return -EINVAL;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *st = user;
    if (section[0] == '\0')
        section = "DEFAULT";
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        const struct key_def *k = &config_keys[i];
        if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
            continue;
        char why[160];
        if (set_key(k, st->cfg, value, why, sizeof(why)) != 0) {
            if (!st->failed) {
                char *shown = sca_escape_text(value);
                sca_error_set(st->err, -EINVAL, "%s:%d: [%s] %s = '%s': %s", st->path, st->lineno,
                              section, name, shown, why);
                free(shown);
            }
            st->failed = 1;
            return 0;
        }
        if (k->offset == offsetof(config, transport_url))
            st->cfg->transport_url_line = st->lineno;
        return 1;
    }
    /* Anything may be in a file given by mistake (a binary, a key file):
     * what is echoed is escaped, never sent to the terminal as it is. */
    char *shown_section = sca_escape_text(section), *shown_name = sca_escape_text(name);
    log_warning("%s:%d: unknown key [%s] %s ignored", st->path, st->lineno, shown_section,
                shown_name);
    free(shown_section);
    free(shown_name);
    return 1;
}

static int load_file(config *cfg, const char *path, sca_error *err)
{
    /* Derived defaults are recomputed after the file: drop the ones made early. */
    free(cfg->db_path);
    cfg->db_path = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return sca_error_set(err, -errno, "cannot read config %s: %s", path, strerror(errno));
    struct parse_state st = {.cfg = cfg, .path = path, .file = f, .err = err};
    int rc = ini_parse_stream(reader_count_lines, &st, handle_key, &st);
    fclose(f);
    if (st.failed)
        return -EINVAL;
    if (rc > 0)
        return sca_error_set(err, -EINVAL, "%s:%d: not a 'key = value' line or [section]", path,
                             rc);
    if (rc < 0)
        return sca_error_set(err, -ENOMEM, "cannot parse config %s", path);
    cfg->source = sca_strdup(path);
    return 0;
}

int config_load(config *cfg, const char *explicit_path, sca_error *err)
{
    config_defaults(cfg);
    const char *path = explicit_path;
    if (path == NULL || path[0] == '\0')
        path = getenv("SCALPELS_CONF");
    int rc = 0;
    if (path != NULL && path[0] != '\0')
        rc = load_file(cfg, path, err);
    else if (access(CONFIG_SYSTEM_PATH, F_OK) == 0)
        rc = load_file(cfg, CONFIG_SYSTEM_PATH, err);
    if (rc != 0) {
        config_free(cfg);
        return rc;
    }
    if (cfg->state_dir == NULL) {
        sca_error_set(err, -EINVAL, "%s: state_dir must not be empty", cfg->source);
        config_free(cfg);
        return -EINVAL;
    }
    fill_derived(cfg);
    return 0;
}

char *config_transport_url(const config *cfg)
{
    if (cfg->transport_url != NULL && cfg->transport_url[0] != '\0')
        return sca_strdup(cfg->transport_url);
    return sca_asprintf("unix://%s/agent.sock", cfg->state_dir);
}

int config_transport_url_error(const config *cfg, sca_error *err)
{
    if (cfg->source == NULL || cfg->transport_url_line == 0)
        return err->code;
    return sca_error_prefix(err, "%s:%d", cfg->source, cfg->transport_url_line);
}
