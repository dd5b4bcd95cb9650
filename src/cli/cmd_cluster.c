/* cmd_cluster.c - the nodes a command concerns: which agents answer (and
 * which listen but do not), one connection that calls them all at once,
 * the nodes that hold a task or a result, and the exit status of a
 * command over many nodes (see sca.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sca.h"
#include "scalpels/log.h"

/* --- Names of agents seen before ------------------------------------------
 *
 * The broker tells how many agents listen on the topic, not who they are.
 * To name the nodes that are missing, sca keeps the names of the agents
 * that answered, with when they last did, per broker and topic, in
 * $XDG_CACHE_HOME/scalpels/hosts.json (else ~/.cache/scalpels/), and asks
 * the broker about the queue of each known name that did not answer: a
 * consumer there is an agent that listens but does not answer (stopped
 * with SIGSTOP, hung, overloaded); none, an agent that has stopped.  A
 * name is forgotten KNOWN_FOR seconds after it last answered. */

#define KNOWN_FOR 86400.0

static char *known_path(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/')
        return sca_asprintf("%s/scalpels/hosts.json", xdg);
    if (home != NULL && home[0] == '/')
        return sca_asprintf("%s/.cache/scalpels/hosts.json", home);
    return NULL;
}

/* The names known for k's broker and topic: {host: last answered}. */
static char *known_key(const cli_cluster *k)
{
    return sca_asprintf("%s %s", cli_rpc_describe(k->c), cli_rpc_topic(k->c));
}

/* The whole file, or an empty object. */
static json_t *known_load(const char *path)
{
    json_t *all = path != NULL ? json_load_file(path, 0, NULL) : NULL;
    if (json_is_object(all))
        return all;
    json_decref(all);
    return json_object();
}

static void known_save(const char *path, json_t *all)
{
    char *dir = sca_strdup(path), *tmp = sca_asprintf("%s.%d", path, (int)getpid());
    *strrchr(dir, '/') = '\0';
    sca_error err = {0};
    if (sca_mkdir_p(dir, 0700, &err) != 0 || json_dump_file(all, tmp, JSON_SORT_KEYS) != 0 ||
        rename(tmp, path) != 0) {
        log_debug("cannot keep the host names in %s: %s", path,
                  err.msg[0] ? err.msg : strerror(errno));
        unlink(tmp);
    }
    free(dir);
    free(tmp);
}

static int cmp_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The known names that did not answer now, asked about at once: those
 * that listen into k->silent (as many as listen without answering: the
 * rest of those are k->unnamed), those that do not into k->stopped.  Then
 * the names worth knowing next time are kept. */
static void name_the_missing(cli_cluster *k, size_t silent)
{
    char *path = known_path(), *key = known_key(k);
    json_t *all = known_load(path);
    json_t *known = json_object_get(all, key);
    json_t *now = json_object(), *candidates = json_array();
    double t = sca_now();
    const char *name;
    json_t *seen;
    json_object_foreach(known, name, seen)
    {
        if (json_is_number(seen) && !cli_names_has(k->hosts, name, strlen(name)) &&
            t - json_number_value(seen) < KNOWN_FOR)
            json_array_append_new(candidates, json_string(name));
    }
    json_t *counts =
        json_array_size(candidates) > 0 ? cli_count_hosts(k->c, candidates) : json_array();
    size_t i;
    json_t *n;
    json_array_foreach(candidates, i, n)
    {
        json_int_t count = json_integer_value(json_array_get(counts, i));
        if (count > 0 && json_array_size(k->silent) < silent)
            json_array_append(k->silent, n);
        else if (count == 0)
            json_array_append(k->stopped, n);
        json_object_set(now, json_string_value(n), json_object_get(known, json_string_value(n)));
    }
    size_t named = json_array_size(k->silent);
    k->unnamed = silent > named ? silent - named : 0;
    json_array_foreach(k->hosts, i, n)
    {
        json_object_set_new(now, json_string_value(n), json_real(t));
    }
    /* The file changes when the nodes do, not every time they answer. */
    bool same = json_object_size(now) == json_object_size(known);
    json_object_foreach(now, name, seen)
    {
        json_t *before = json_object_get(known, name);
        same = same && before != NULL && t - json_number_value(before) < KNOWN_FOR / 2;
    }
    if (path != NULL && !same) {
        json_object_set(all, key, now);
        known_save(path, all);
    }
    json_decref(counts);
    json_decref(candidates);
    json_decref(now);
    json_decref(all);
    free(path);
    free(key);
}

/* --- Discovery ------------------------------------------------------------ */

static int cmp_info(const void *a, const void *b)
{
    const char *x = cli_json_str(*(json_t *const *)a, "host"),
               *y = cli_json_str(*(json_t *const *)b, "host");
    return strcmp(x != NULL ? x : "", y != NULL ? y : "");
}

/* agent_info replies into k->infos (sorted by host) and k->hosts; an
 * agent that answered with an error is said and left out. */
static void take_infos(cli_cluster *k, const json_t *replies)
{
    size_t n = json_array_size(replies), kept = 0, i;
    json_t **sorted = sca_calloc(n + 1, sizeof(*sorted)), *r;
    json_array_foreach(replies, i, r)
    {
        json_t *info = json_object_get(r, "result");
        if (json_is_object(info) && cli_json_str(info, "host") != NULL)
            sorted[kept++] = info;
        else
            fprintf(stderr, "%s: an agent answered agent_info with %s\n", cli_prog,
                    cli_json_str(r, "error") != NULL ? cli_json_str(r, "error") : "no host name");
    }
    qsort(sorted, kept, sizeof(*sorted), cmp_info);
    for (i = 0; i < kept; i++) {
        json_array_append(k->infos, sorted[i]);
        const char *h = cli_json_str(sorted[i], "host");
        /* Two agents with one host name would be one target: name it once. */
        if (i == 0 || strcmp(h, cli_json_str(sorted[i - 1], "host")) != 0)
            json_array_append_new(k->hosts, json_string(h));
    }
    free(sorted);
}

int cli_cluster_open(const cli_global_opts *g, cli_cluster **out)
{
    cli_cluster *k = sca_calloc(1, sizeof(*k));
    k->infos = json_array();
    k->hosts = json_array();
    k->silent = json_array();
    k->stopped = json_array();
    cli_conn_opts any = g->conn;
    any.host = NULL;
    json_t *replies = NULL;
    int listeners = -1;
    int code = cli_rpc_open(&any, &k->c);
    if (code == CLI_OK)
        code = cli_gather(k->c, "agent_info", NULL, &replies, &listeners);
    if (code != CLI_OK) {
        cli_cluster_close(k);
        return code;
    }
    take_infos(k, replies);
    size_t answered = json_array_size(replies);
    json_decref(replies);
    if (!cli_rpc_is_unix(k->c))
        name_the_missing(k, listeners > (int)answered ? (size_t)listeners - answered : 0);
    *out = k;
    return CLI_OK;
}

void cli_cluster_close(cli_cluster *k)
{
    if (k == NULL)
        return;
    cli_rpc_close(k->c);
    json_decref(k->infos);
    json_decref(k->hosts);
    json_decref(k->silent);
    json_decref(k->stopped);
    free(k);
}

int cli_cluster_none(const cli_cluster *k)
{
    cli_cluster_note_missing(k);
    return cli_fail(CLI_UNREACHABLE,
                    "no agent answered within %gs on topic %s's fanout (a longer --timeout "
                    "waits longer)",
                    cli_rpc_window(k->c), cli_rpc_topic(k->c));
}

/* Why host is missing, for the notes and the JSON document. */
static char *missing_why(const cli_cluster *k, const char *host)
{
    if (cli_names_has(k->stopped, host, strlen(host)))
        return sca_asprintf("answered here before but does not listen on topic %s now: its agent "
                            "has stopped (start it with 'sca-agent', or see its log)",
                            cli_rpc_topic(k->c));
    return sca_asprintf("listens on topic %s but did not answer within %gs: it is stopped, hung "
                        "or overloaded (see its log, or try a longer --timeout)",
                        cli_rpc_topic(k->c), cli_rpc_window(k->c));
}

/* The missing nodes by name, in host order (a new array). */
static json_t *missing_names(const cli_cluster *k)
{
    json_t *names = json_copy(k->silent);
    json_array_extend(names, k->stopped);
    size_t n = json_array_size(names), i;
    const char **v = sca_calloc(n + 1, sizeof(*v));
    for (i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(names, i));
    qsort(v, n, sizeof(*v), cmp_strings);
    json_t *sorted = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(sorted, json_string(v[i]));
    free(v);
    json_decref(names);
    return sorted;
}

void cli_cluster_note_missing(const cli_cluster *k)
{
    json_t *names = missing_names(k);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        char *why = missing_why(k, json_string_value(name));
        fprintf(stderr, "%s: host %s: %s\n", cli_prog, json_string_value(name), why);
        free(why);
    }
    json_decref(names);
    if (k->unnamed > 0)
        fprintf(stderr,
                "%s: %zu more agent%s listen%s on topic %s but did not answer within %gs (not "
                "known here by name: this client has not seen %s answer)\n",
                cli_prog, k->unnamed, k->unnamed == 1 ? "" : "s", k->unnamed == 1 ? "s" : "",
                cli_rpc_topic(k->c), cli_rpc_window(k->c), k->unnamed == 1 ? "it" : "them");
}

size_t cli_cluster_missing(const cli_cluster *k)
{
    return json_array_size(k->silent) + json_array_size(k->stopped) + k->unnamed;
}

int cli_cluster_call(cli_cluster *k, const char *method, const json_t *args, json_t **answers)
{
    return cli_call_hosts(k->c, k->hosts, method, args, answers);
}

void cli_cluster_add_missing(const cli_cluster *k, json_t *by_host)
{
    json_t *names = missing_names(k);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        char *why = missing_why(k, json_string_value(name));
        json_object_set_new(
            by_host, json_string_value(name),
            json_pack("{s:s,s:n,s:i}", "error", why, "class", "exit", CLI_UNREACHABLE));
        free(why);
    }
    json_decref(names);
}

/* --- Outcome -------------------------------------------------------------- */

int cli_cluster_outcome(const cli_cluster *k, const json_t *answers)
{
    size_t ok = 0, i;
    int worst = cli_cluster_missing(k) > 0 ? CLI_UNREACHABLE : CLI_OK;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        const char *error = cli_json_str(a, "error");
        if (error == NULL) {
            ok++;
            continue;
        }
        fprintf(stderr, "%s: host %s: %s\n", cli_prog, cli_json_str(a, "host"), error);
        int code = (int)json_integer_value(json_object_get(a, "exit"));
        if (code > worst)
            worst = code;
    }
    cli_cluster_note_missing(k);
    if (worst == CLI_OK)
        return CLI_OK;
    return ok > 0 ? CLI_SOME_FAILED : worst;
}

static int cmp_answer(const void *a, const void *b)
{
    return strcmp(cli_json_str(*(json_t *const *)a, "host"),
                  cli_json_str(*(json_t *const *)b, "host"));
}

json_t *cli_cluster_json(const cli_cluster *k, const json_t *answers)
{
    json_t *missing = missing_names(k);
    size_t n = json_array_size(answers) + json_array_size(missing), i, j = 0;
    json_t **v = sca_calloc(n + 1, sizeof(*v)), *a;
    json_array_foreach(answers, i, a)
    {
        json_t *result = json_object_get(a, "result");
        json_t *one =
            json_pack("{s:O,s:i,s:O}", "host", json_object_get(a, "host"), "exit",
                      result != NULL ? 0 : (int)json_integer_value(json_object_get(a, "exit")),
                      "output", result != NULL ? result : json_null());
        if (result == NULL)
            json_object_set(one, "error", json_object_get(a, "error"));
        v[j++] = one;
    }
    json_array_foreach(missing, i, a)
    {
        char *why = missing_why(k, json_string_value(a));
        v[j++] = json_pack("{s:O,s:i,s:n,s:s}", "host", a, "exit", CLI_UNREACHABLE, "output",
                           "error", why);
        free(why);
    }
    json_decref(missing);
    qsort(v, j, sizeof(*v), cmp_answer);
    json_t *hosts = json_array();
    for (i = 0; i < j; i++)
        json_array_append_new(hosts, v[i]);
    free(v);
    json_t *doc = json_pack("{s:o}", "hosts", hosts);
    if (k->unnamed > 0)
        json_object_set_new(doc, "silent_unnamed", json_integer((json_int_t)k->unnamed));
    return doc;
}

/* --- Who holds a uuid ----------------------------------------------------- */

int cli_cluster_holders(cli_cluster *k, const char *method, const char *what, const char *uuid,
                        json_t **holders, json_t **failed)
{
    json_t *args = json_pack("{s:s}", "uuid", uuid), *answers = NULL;
    int code = cli_cluster_call(k, method, args, &answers);
    json_decref(args);
    if (code != CLI_OK)
        return code;
    *holders = json_array();
    *failed = json_array();
    const char *full = NULL, *first_host = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        const char *cls = cli_json_str(a, "class");
        const char *got = cli_json_str(json_object_get(a, "result"), "uuid");
        if (cls != NULL && strcmp(cls, "NotFound") == 0)
            continue;
        if (got == NULL) {
            json_array_append(*failed, a);
            continue;
        }
        /* Uuids are unique across nodes; a prefix may not be. */
        if (full != NULL && strcmp(full, got) != 0 && code == CLI_OK)
            code = cli_fail(CLI_FAILED,
                            "ValueError: %s matches %s %s on host %s and %s %s on host %s: give "
                            "more of the uuid",
                            uuid, what, full, first_host, what, got, cli_json_str(a, "host"));
        if (full == NULL) {
            full = got;
            first_host = cli_json_str(a, "host");
        }
        json_array_append(*holders, a);
    }
    if (code == CLI_OK && json_array_size(*holders) == 0) {
        int worst = cli_cluster_outcome(k, *failed);
        cli_fail(CLI_FAILED, "NotFound: no agent %shas a %s matching '%s' (%zu asked)",
                 worst != CLI_OK ? "that answered " : "", what, uuid, json_array_size(k->hosts));
        code = worst != CLI_OK ? worst : CLI_FAILED;
    }
    if (code != CLI_OK) {
        json_decref(*holders);
        json_decref(*failed);
        *holders = *failed = NULL;
    }
    json_decref(answers);
    return code;
}

int cli_cluster_latest(cli_cluster *k, json_t **found, json_t **failed)
{
    json_t *answers = NULL;
    int code = cli_cluster_call(k, "get_latest_task", NULL, &answers);
    if (code != CLI_OK)
        return code;
    *found = json_array();
    *failed = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        const char *cls = cli_json_str(a, "class");
        if (cli_json_str(json_object_get(a, "result"), "uuid") != NULL)
            json_array_append(*found, a);
        else if (cls == NULL || strcmp(cls, "NotFound") != 0)
            json_array_append(*failed, a);
    }
    json_decref(answers);
    if (json_array_size(*found) > 0)
        return CLI_OK;
    int worst = cli_cluster_outcome(k, *failed);
    cli_fail(CLI_FAILED, "NotFound: no agent %shas a task yet (%zu asked)",
             worst != CLI_OK ? "that answered " : "", json_array_size(k->hosts));
    json_decref(*found);
    json_decref(*failed);
    *found = *failed = NULL;
    return worst != CLI_OK ? worst : CLI_FAILED;
}

json_t *cli_answer_hosts(const json_t *answers)
{
    json_t *hosts = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        json_array_append(hosts, json_object_get(a, "host"));
    }
    return hosts;
}

bool cli_cluster_wanted(const cli_conn_opts *o)
{
    if (o->all_hosts)
        return true;
    if (o->host != NULL)
        return false;
    char *url =
        o->transport_url != NULL ? sca_strdup(o->transport_url) : config_transport_url(o->cfg);
    bool amqp = strncmp(url, "unix:", 5) != 0;
    free(url);
    return amqp;
}
