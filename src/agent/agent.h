/*
 * agent.h - sca-agent's state and the parts it is made of:
 *   main.c      start-up, detaching, signals, shutdown
 *   children.c  the sca-tracer processes: spawn, watch (own children and,
 *               after a restart, adopted ones through pidfds), signal
 *   tasks.c     task deadlines and closing tasks whose tracers are gone
 *   methods.c   the RPC dispatch table and the handlers that write
 *   reads.c     handlers that only read, run on the libuv thread pool
 */
#ifndef SCALPELS_AGENT_AGENT_H
#define SCALPELS_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "scalpels/config.h"
#include "scalpels/rpc.h"
#include "scalpels/store.h"

struct child;
struct deadline;

typedef struct agent {
    config cfg;
    const char *config_path; /* passed on to sca-tracer; NULL = its own lookup */
    uv_loop_t *loop;
    store *store; /* the loop thread's connection; reads use their own */
    /* The configured transport, and with AMQP also the local unix socket,
     * which is where admin methods (sca-manage) reach the agent. */
    rpc_transport *transport[2];
    rpc_server *server[2];
    char *transport_url;
    char *tracer_program; /* path of sca-tracer */
    double started;
    struct child *children;
    struct deadline *deadlines;
    uv_signal_t sigint, sigterm;
    bool stopping;
    int draining; /* servers still answering what they took before the stop */
    /* Detached over AMQP: the waiting parent is released once the broker
     * link is up (or after a while, with a warning). */
    int detach_fd; /* -1 once released */
    bool detach_log_open;
    uv_timer_t *detach_timer;
} agent;

/* --- children.c ---------------------------------------------------------- */

/* Spawns sca-tracer for tracer in task; *pid set on success. */
int children_spawn(agent *a, const store_task *task, const char *tracer, pid_t *pid,
                   sca_error *err);
/* Watches pid, an sca-tracer this agent did not start (an earlier agent's,
 * or one run by hand), if it really runs TRACER for task_uuid (NULL: any
 * task); -ESRCH if not.  0 also when it is watched already. */
int children_adopt(agent *a, pid_t pid, int64_t task_id, const char *task_uuid, const char *tracer);
/* True when pid is an sca-tracer we watch. */
bool children_is_running(agent *a, pid_t pid);
/* Sends signo to the sca-tracer of pid (through its pidfd when adopted). */
int children_signal(agent *a, pid_t pid, int signo, sca_error *err);
/* Marks the store true to the processes that really run, adopting live
 * tracers of an earlier agent.  Run once at start. */
int children_reconcile(agent *a, sca_error *err);
/* Closes every watch handle; the processes keep running. */
void children_close(agent *a);
size_t children_count(const agent *a);

/* --- tasks.c ------------------------------------------------------------- */

/* Arms (or re-arms) the timer that stops task at its deadline. */
void tasks_watch_deadline(agent *a, const store_task *task);
/* Arms timers for every running task that has a deadline. */
int tasks_watch_all(agent *a, sca_error *err);
/* SIGINT to every running tracer of task; its pids in *pids (new array). */
int tasks_stop(agent *a, const store_task *task, json_t **pids, sca_error *err);
/* Records that the sca-tracer pid of tracer in task ended (when it did not
 * record it itself) and closes the task if that was its last tracer. */
void tasks_tracer_gone(agent *a, int64_t task_id, const char *tracer, pid_t pid, int exit_code,
                       int exit_signal);
void tasks_close(agent *a);

/* --- methods.c / reads.c ------------------------------------------------- */

extern const rpc_method methods_table[];
extern const rpc_method reads_table[];

/* Completes req with err mapped to an oslo failure class. */
void methods_fail(rpc_request *req, int code, const sca_error *err);
/* Starts the agent's shutdown (after the current request is answered). */
void agent_shutdown(agent *a);

#endif
