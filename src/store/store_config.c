/* store_config.c - data options and tracer registrations (see store.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scalpels/store.h"
#include "store_internal.h"

int store_config_get(store *s, json_t **out, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_CONFIG_ALL, err);
    if (stmt == NULL)
        return -EIO;
    json_t *obj = json_object();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(stmt, 0);
        json_object_set_new(obj, key,
                            json_stringn((const char *)sqlite3_column_text(stmt, 1),
                                         (size_t)sqlite3_column_bytes(stmt, 1)));
    }
    if (rc != SQLITE_DONE) {
        json_decref(obj);
        rc = store_db_error(s, err, "read config");
        sqlite3_reset(stmt);
        return rc;
    }
    sqlite3_reset(stmt);
    *out = obj;
    return 0;
}

int store_config_get_value(store *s, const char *key, char **out, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_CONFIG_GET, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = store_column_strdup(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = sca_error_set(err, -ENOENT, "data option '%s' is not set", key);
    } else {
        rc = store_db_error(s, err, "read config");
    }
    sqlite3_reset(stmt);
    return rc;
}

/* Data options are strings, as the original's were; numbers and booleans
 * given over RPC are kept in their JSON text form. */
static char *config_value_text(json_t *v)
{
    if (json_is_string(v))
        return sca_strdup(json_string_value(v));
    if (json_is_true(v))
        return sca_strdup("true");
    if (json_is_false(v))
        return sca_strdup("false");
    if (json_is_integer(v) || json_is_real(v))
        return json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    return NULL;
}

static int config_update_all(store *s, void *arg, sca_error *err)
{
    json_t *opts = arg;
    const char *key;
    json_t *value;
    json_object_foreach(opts, key, value)
    {
        int rc;
        if (json_is_null(value)) {
            sqlite3_stmt *del = store_stmt(s, STMT_CONFIG_DEL, err);
            if (del == NULL)
                return -EIO;
            sqlite3_bind_text(del, 1, key, -1, SQLITE_STATIC);
            rc = store_step_done(s, del, err, "delete config");
        } else {
            char *text = config_value_text(value);
            if (text == NULL)
                return sca_error_set(err, -EINVAL,
                                     "data option '%s' must be a string, number or boolean", key);
            sqlite3_stmt *set = store_stmt(s, STMT_CONFIG_SET, err);
            if (set == NULL) {
                free(text);
                return -EIO;
            }
            sqlite3_bind_text(set, 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_text(set, 2, text, -1, free);
            rc = store_step_done(s, set, err, "write config");
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int store_config_update(store *s, json_t *opts, sca_error *err)
{
    if (!json_is_object(opts))
        return sca_error_set(err, -EINVAL, "data options must be an object");
    const char *key;
    json_t *value;
    json_object_foreach(opts, key, value)
    {
        if (key[0] == '\0' || strlen(key) > SCA_OPTION_NAME_MAX)
            return sca_error_set(err, -EINVAL, "data option names are 1 to %d characters",
                                 SCA_OPTION_NAME_MAX);
    }
    return store_in_transaction(s, config_update_all, opts, err);
}

void store_tracer_clear(store_tracer *t)
{
    free(t->tpl);
    free(t->parser);
    free(t->title);
    free(t->task_uuid);
    memset(t, 0, sizeof(*t));
}

void store_tracer_array_free(store_tracer *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_tracer_clear(&v[i]);
    free(v);
}

static void tracer_from_row(sqlite3_stmt *stmt, store_tracer *t)
{
    memset(t, 0, sizeof(*t));
    store_column_copy(stmt, 0, t->name, sizeof(t->name));
    t->tpl = store_column_strdup(stmt, 1);
    t->parser = store_column_strdup(stmt, 2);
    t->title = store_column_strdup(stmt, 3);
    if (t->title == NULL)
        t->title = sca_strdup(t->name);
    t->running = sqlite3_column_int(stmt, 4) != 0;
    t->pid = sqlite3_column_int64(stmt, 5);
    t->task_uuid = store_column_strdup(stmt, 6);
    t->started = sqlite3_column_double(stmt, 7);
}

int store_tracer_register(store *s, const char *name, const char *tpl, const char *parser,
                          const char *title, sca_error *err)
{
    if (!sca_tracer_name_valid(name, strlen(name)))
        return sca_error_set(err, -EINVAL, "invalid tracer name '%s': use " SCA_TRACER_NAME_RULE,
                             name);
    if (tpl == NULL || tpl[strspn(tpl, " \t\r\n")] == '\0')
        return sca_error_set(err, -EINVAL, "tracer '%s' needs a non-empty template", name);
    sqlite3_stmt *stmt = store_stmt(s, STMT_TRACER_REGISTER, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, tpl, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, parser ? parser : "log", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, title != NULL && title[0] != '\0' ? title : name, -1, SQLITE_STATIC);
    return store_step_done(s, stmt, err, "register tracer");
}

int store_tracer_get(store *s, const char *name, store_tracer *out, sca_error *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = store_stmt(s, STMT_TRACER_GET, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        tracer_from_row(stmt, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = sca_error_set(err, -ENOENT, "no tracer named '%s' is registered", name);
    } else {
        rc = store_db_error(s, err, "read tracer");
    }
    sqlite3_reset(stmt);
    return rc;
}

int store_tracer_list(store *s, store_tracer **out, size_t *n, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TRACER_LIST, err);
    if (stmt == NULL)
        return -EIO;
    store_tracer *v = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        v = sca_realloc(v, (count + 1) * sizeof(*v));
        tracer_from_row(stmt, &v[count++]);
    }
    if (rc != SQLITE_DONE) {
        rc = store_db_error(s, err, "list tracers");
        sqlite3_reset(stmt);
        store_tracer_array_free(v, count);
        return rc;
    }
    sqlite3_reset(stmt);
    *out = v;
    *n = count;
    return 0;
}

char *store_tracer_names(store *s)
{
    store_tracer *all;
    size_t n;
    sca_buf b = {0};
    if (store_tracer_list(s, &all, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++)
            sca_buf_appendf(&b, "%s%s", i ? ", " : "", all[i].name);
        store_tracer_array_free(all, n);
    }
    return b.data ? b.data : sca_strdup("none");
}

static int tracer_update_done(store *s, sqlite3_stmt *stmt, const char *name, sca_error *err)
{
    int rc = store_step_done(s, stmt, err, "update tracer");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = sca_error_set(err, -ENOENT, "no tracer named '%s' is registered", name);
    return rc;
}

int store_tracer_set_running(store *s, const char *name, bool running, int64_t pid,
                             const char *task_uuid, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TRACER_SET_RUNNING, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, running);
    if (running) {
        sqlite3_bind_int64(stmt, 3, pid);
        if (task_uuid != NULL)
            sqlite3_bind_text(stmt, 4, task_uuid, -1, SQLITE_STATIC);
        sqlite3_bind_double(stmt, 5, sca_now());
    }
    return tracer_update_done(s, stmt, name, err);
}

int store_tracer_set_pid(store *s, const char *name, int64_t pid, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TRACER_SET_PID, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    if (pid > 0)
        sqlite3_bind_int64(stmt, 2, pid);
    return tracer_update_done(s, stmt, name, err);
}

int store_tracer_results(store *s, const char *name, json_t **out, sca_error *err)
{
    sqlite3_stmt *stmt = store_stmt(s, STMT_TRACER_RESULTS, err);
    if (stmt == NULL)
        return -EIO;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    json_t *uuids = json_array();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(uuids, json_string((const char *)sqlite3_column_text(stmt, 0)));
    if (rc != SQLITE_DONE) {
        rc = store_db_error(s, err, "list tracer results");
        sqlite3_reset(stmt);
        json_decref(uuids);
        return rc;
    }
    sqlite3_reset(stmt);
    *out = uuids;
    return 0;
}
