/* rpc_test_client.c - a command-line RPC client for the integration tests.
 *
 *   rpc_test_client [options] URL call|cast|fanout METHOD [ARGS_JSON]
 *     --topic T --server S --namespace N --version V --context JSON
 *     --timeout SECONDS  --repeat N  --concurrent K  --exchange E
 *     --ssl-ca FILE --ssl-verify --require-listener --servers S1,S2,...
 *     --max-size BYTES
 *
 *   rpc_test_client [--topic T] [--server S | --servers S1,...] URL count
 *
 * ARGS_JSON may be @FILE.  call prints the result of the last call as JSON;
 * casts are flushed before exiting.  count asks rpc_count_listeners about
 * the topic queue (or each server's queue, all at once) and prints
 * "NAME COUNT" lines, NAME "-" for the topic.  With --repeat, N messages are sent, at
 * most K calls in flight.  --servers sends call i to the (i mod n)th server
 * and ends with "N ok, M failed" on stderr.
 * Exit: 0 ok; 2 a remote error ("REMOTE Class: message" on stdout); 3 a
 * timeout; 1 anything else (the error on stderr). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scalpels/log.h"
#include "scalpels/rpc.h"

typedef struct run {
    rpc_transport *t;
    rpc_target target;
    const char *method;
    json_t *args;
    json_t *context;
    double timeout;
    long total, sent, done, failed;
    char **servers; /* --servers, or NULL */
    size_t n_servers;
    int exit_code;
    char *last;
} run;

static int exit_code_for(int status)
{
    if (status == -EREMOTEIO)
        return 2;
    return status == -ETIMEDOUT ? 3 : 1;
}

static void send_next(run *r);

static void on_reply(const rpc_reply *reply, void *arg)
{
    run *r = arg;
    r->done++;
    if (reply->status == 0) {
        free(r->last);
        r->last = json_dumps(reply->result, JSON_ENCODE_ANY | JSON_COMPACT);
    } else {
        r->failed++;
        r->exit_code = exit_code_for(reply->status);
        if (reply->status == -EREMOTEIO)
            printf("REMOTE %s: %s\n", reply->fail_class, reply->fail_message);
        else
            fprintf(stderr, "rpc_test_client: %s\n", reply->detail);
    }
    send_next(r);
}

static void send_next(run *r)
{
    if (r->sent >= r->total)
        return;
    if (r->servers != NULL)
        r->target.server = r->servers[r->sent % r->n_servers];
    r->sent++;
    sca_error err = {0};
    if (rpc_call(r->t, &r->target, r->method, json_deep_copy(r->args), r->context, r->timeout,
                 on_reply, r, &err) != 0) {
        fprintf(stderr, "rpc_test_client: %s\n", err.msg);
        r->failed++;
        r->done++;
        r->exit_code = 1;
    }
}

static int do_calls(run *r, long concurrent)
{
    for (long i = 0; i < concurrent && r->sent < r->total; i++)
        send_next(r);
    while (r->done < r->total)
        uv_run(uv_default_loop(), UV_RUN_ONCE);
    if (r->last != NULL && r->failed == 0)
        printf("%s\n", r->last);
    if (r->servers != NULL)
        fprintf(stderr, "rpc_test_client: %ld ok, %ld failed\n", r->done - r->failed, r->failed);
    return r->exit_code;
}

static int do_casts(run *r)
{
    sca_error err = {0};
    for (long i = 0; i < r->total; i++) {
        if (rpc_cast(r->t, &r->target, r->method, json_deep_copy(r->args), r->context, &err) != 0) {
            fprintf(stderr, "rpc_test_client: %s\n", err.msg);
            return 1;
        }
    }
    if (rpc_flush_sync(r->t, r->timeout, &err) != 0) {
        fprintf(stderr, "rpc_test_client: %s\n", err.msg);
        return 1;
    }
    return 0;
}

typedef struct count_question {
    const char *name;
    int status;
    unsigned count;
    bool done;
} count_question;

static void on_count(int status, unsigned count, const char *detail, void *arg)
{
    count_question *q = arg;
    q->done = true;
    q->status = status;
    q->count = count;
    if (status != 0)
        fprintf(stderr, "rpc_test_client: %s: %s\n", q->name, detail);
}

static int do_counts(run *r)
{
    size_t n = r->servers != NULL ? r->n_servers : 1;
    count_question *qs = calloc(n, sizeof(*qs));
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rpc_target target = r->target;
        if (r->servers != NULL)
            target.server = r->servers[i];
        qs[i].name = target.server != NULL ? target.server : "-";
        sca_error err = {0};
        if (rpc_count_listeners(r->t, &target, on_count, &qs[i], &err) != 0) {
            fprintf(stderr, "rpc_test_client: %s\n", err.msg);
            qs[i].done = true;
            qs[i].status = -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        while (!qs[i].done)
            uv_run(uv_default_loop(), UV_RUN_ONCE);
        if (qs[i].status == 0)
            printf("%s %u\n", qs[i].name, qs[i].count);
        else
            rc = 1;
    }
    free(qs);
    return rc;
}

/* JSON text, or @FILE for arguments too long for a command line. */
static json_t *parse_json(const char *what, const char *text)
{
    json_error_t jerr;
    json_t *v = text[0] == '@' ? json_load_file(text + 1, 0, &jerr) : json_loads(text, 0, &jerr);
    if (!json_is_object(v)) {
        fprintf(stderr, "rpc_test_client: %s must be a JSON object: %s\n", what, jerr.text);
        exit(64);
    }
    return v;
}

static void split_servers(run *r, const char *list)
{
    char *copy = strdup(list);
    for (char *save = NULL, *s = strtok_r(copy, ",", &save); s != NULL;
         s = strtok_r(NULL, ",", &save)) {
        r->servers = realloc(r->servers, (r->n_servers + 1) * sizeof(*r->servers));
        r->servers[r->n_servers++] = strdup(s);
    }
    free(copy);
}

static void usage(void)
{
    fputs("usage: rpc_test_client [--topic T] [--server S] [--namespace N] [--version V]\n"
          "       [--context JSON] [--timeout S] [--repeat N] [--concurrent K]\n"
          "       [--exchange E] [--ssl-ca FILE] [--ssl-verify] [--require-listener]\n"
          "       [--servers S1,S2,...] [--max-size BYTES]\n"
          "       URL call|cast|fanout METHOD [ARGS_JSON]\n"
          "       rpc_test_client [--topic T] [--server S | --servers S1,...] URL count\n",
          stderr);
    exit(64);
}

int main(int argc, char **argv)
{
    run r = {.target = {.topic = "scalpels"}, .timeout = 10, .total = 1};
    long concurrent = 1;
    rpc_options opts = {.heartbeat = 60, .program = "rpc_test_client"};
    static const struct option longopts[] = {{"topic", required_argument, NULL, 't'},
                                             {"server", required_argument, NULL, 's'},
                                             {"namespace", required_argument, NULL, 'n'},
                                             {"version", required_argument, NULL, 'v'},
                                             {"context", required_argument, NULL, 'c'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {"repeat", required_argument, NULL, 'r'},
                                             {"concurrent", required_argument, NULL, 'k'},
                                             {"exchange", required_argument, NULL, 'E'},
                                             {"ssl-ca", required_argument, NULL, 'A'},
                                             {"ssl-verify", no_argument, NULL, 'V'},
                                             {"require-listener", no_argument, NULL, 'L'},
                                             {"servers", required_argument, NULL, 'S'},
                                             {"max-size", required_argument, NULL, 'M'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            r.target.topic = optarg;
            break;
        case 's':
            r.target.server = optarg;
            break;
        case 'n':
            r.target.namespace = optarg;
            break;
        case 'v':
            r.target.version = optarg;
            break;
        case 'c':
            r.context = parse_json("--context", optarg);
            break;
        case 'T':
            r.timeout = atof(optarg);
            break;
        case 'r':
            r.total = atol(optarg);
            break;
        case 'k':
            concurrent = atol(optarg);
            break;
        case 'E':
            opts.exchange = optarg;
            break;
        case 'A':
            opts.ssl_ca_file = optarg;
            break;
        case 'V':
            opts.ssl_verify = true;
            break;
        case 'L':
            opts.require_listener = true;
            break;
        case 'S':
            split_servers(&r, optarg);
            break;
        case 'M':
            opts.max_message_size = (size_t)atol(optarg);
            break;
        default:
            usage();
        }
    }
    bool counting = argc - optind == 2 && strcmp(argv[optind + 1], "count") == 0;
    if (!counting && (argc - optind < 3 || argc - optind > 4))
        usage();
    const char *url = argv[optind], *mode = argv[optind + 1];
    r.method = counting ? NULL : argv[optind + 2];
    r.args = argc - optind == 4 ? parse_json("ARGS", argv[optind + 3]) : json_object();
    log_init("rpc_test_client");
    if (getenv("SCA_DEBUG") != NULL)
        log_set_level(LOG_LEVEL_DEBUG);
    sca_error err = {0};
    if (rpc_transport_new(uv_default_loop(), url, &opts, &r.t, &err) != 0) {
        fprintf(stderr, "rpc_test_client: %s\n", err.msg);
        return 1;
    }
    int rc;
    if (counting) {
        rc = do_counts(&r);
    } else if (strcmp(mode, "call") == 0) {
        rc = do_calls(&r, concurrent);
    } else if (strcmp(mode, "cast") == 0 || strcmp(mode, "fanout") == 0) {
        r.target.fanout = strcmp(mode, "fanout") == 0;
        rc = do_casts(&r);
    } else {
        usage();
        rc = 64;
    }
    rpc_transport_free(r.t);
    uv_run(uv_default_loop(), UV_RUN_DEFAULT);
    uv_loop_close(uv_default_loop());
    json_decref(r.args);
    json_decref(r.context);
    free(r.last);
    for (size_t i = 0; i < r.n_servers; i++)
        free(r.servers[i]);
    free(r.servers);
    return rc;
}
