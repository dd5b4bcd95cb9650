/*
 * agent.h - sca-agent's state and the parts it is made of:
 *   main.c      options, start-up, signals, shutdown
 *   detach.c    leaving the terminal: fork, the log file, telling the
 *               waiting parent how start-up went
 *   children.c  the sca-tracer process table: spawn (or hand its task to
 *               the one kept waiting), watch (own children and, after a
 *               restart, adopted ones through pidfds), signal; each end
 *               goes to the callback given to children_init
 *   tasks.c     task bookkeeping: deadlines, stopping tasks, closing the
 *               books on tracers that ended, and reconciling the store with
 *               the running processes at start-up
 *   starts.c    start_tracers from the spawns to the answer: each tracer's
 *               start report, and stopping the others when one failed
 *   methods.c   the RPC dispatch table and the handlers that write
 *   reads.c     handlers that only read, run on the libuv thread pool
 *   pages.c     get_result's pages written as JSON text as they are read
 *
 * tasks.c uses children.c; children.c reports to whoever children_init
 * names (main.c names a function that tells tasks.c, then starts.c) and
 * calls nothing of the tasks.
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
struct start;

/* The module of the agent's own failure classes (oslo's exc_type module). */
#define AGENT_ERRORS_MODULE "scalpels.errors"

/* Called when a watched sca-tracer ends, with the task id and tracer it
 * was spawned or adopted for; exit_code is -1 when unknown (killed, or an
 * adopted process), exit_signal 0 unless a signal killed it. */
typedef void children_exit_fn(void *arg, int64_t task_id, const char *tracer, pid_t pid,
                              int exit_code, int exit_signal);

/* children.c's process table. */
struct children {
    struct child *list;
    children_exit_fn *on_exit;
    void *arg;
    uv_signal_t sigchld; /* reaps the ones spawned here */
    bool sigchld_on;
    struct child *ready; /* waiting for a task (children_keep_ready), or NULL */
    uv_timer_t ready_timer;
    bool ready_timer_on;
};

typedef struct agent {
    config cfg;
    const char *config_path;  /* passed on to sca-tracer; NULL = its own lookup */
    const char *config_given; /* --config as given, for hints; NULL without */
    uv_loop_t *loop;
    store *store; /* the loop thread's connection; reads use their own */
    /* The configured transport, and with AMQP also the local unix socket,
     * which is where admin methods (sca-manage) reach the agent. */
    rpc_transport *transport[2];
    rpc_server *server[2];
    char *transport_url;
    char *tracer_program; /* path of sca-tracer */
    double started;
    struct children children;
    struct deadline *deadlines;
    struct start *starts; /* start_tracers calls waiting for start reports */
    uv_signal_t sigint, sigterm;
    bool stopping;
    int draining; /* servers still answering what they took before the stop */
    /* detach.c: the pipe to the parent waiting for start-up (-1 in the
     * foreground or once told; over AMQP it is told once the broker link
     * is up, or after a while with a warning), and whether stderr is
     * STATE_DIR/agent.log. */
    int detach_fd;
    bool detach_log_open;
    uv_timer_t *detach_timer;
} agent;

/* --- detach.c ------------------------------------------------------------ */

/* Forks; the parent waits until the child reports how start-up went
 * (detach_started) and exits with that outcome.  In the child, which
 * continues, a->detach_fd is the pipe to the parent and log lines go to
 * STATE_DIR/agent.log when it could be opened (a->detach_log_open).
 * -errno when it cannot fork. */
int detach_begin(agent *a);
/* Tells the waiting parent (if any) the outcome of start-up: rc and msg
 * when it failed.  Over AMQP a successful start is told once the broker
 * link is up, or after a while with a warning. */
void detach_started(agent *a, int rc, const char *msg);
/* Tells the waiting parent (if still waiting) that the agent started, with
 * warning (NULL: none). */
void detach_release(agent *a, const char *warning);

/* --- children.c ---------------------------------------------------------- */

/* Sets the callback that hears of every watched sca-tracer's end.  Called
 * once, before anything is spawned or adopted. */
void children_init(agent *a, children_exit_fn *on_exit, void *arg);
/* Spawns sca-tracer for tracer in task task_uuid (id task_id); on success
 * *pid is set and *report_fd is the read end of the pipe on which it
 * reports its start (sca-tracer --status-fd), for the caller to close. */
int children_spawn(agent *a, int64_t task_id, const char *task_uuid, const char *tracer, pid_t *pid,
                   int *report_fd, sca_error *err);
/* From now on keeps one sca-tracer loaded and waiting for its task
 * (sca-tracer --task-fd), which children_spawn hands the next start: the
 * start need not wait for a program to load.  Made at once, and again by
 * children_ready_later.  A libuv error code when its timer cannot be set. */
int children_keep_ready(agent *a);
/* Called when a start has been answered: the next tracer is made ready a
 * second later, unless one waits already or another start comes first. */
void children_ready_later(agent *a);
/* Watches pid, an sca-tracer this agent did not start (an earlier agent's,
 * or one run by hand), if it really runs TRACER for task_uuid (NULL: any
 * task); -ESRCH if not.  0 also when it is watched already. */
int children_adopt(agent *a, pid_t pid, int64_t task_id, const char *task_uuid, const char *tracer);
/* True when pid is an sca-tracer we watch. */
bool children_is_running(agent *a, pid_t pid);
/* Sends signo to the sca-tracer of pid (through its pidfd when adopted). */
int children_signal(agent *a, pid_t pid, int signo, sca_error *err);
/* Closes every watch handle; the processes keep running. */
void children_close(agent *a);

/* --- tasks.c ------------------------------------------------------------- */

/* Arms (or re-arms) the timer that stops task at its deadline. */
void tasks_watch_deadline(agent *a, const store_task *task);
/* Arms timers for every running task that has a deadline. */
int tasks_watch_all(agent *a, sca_error *err);
/* SIGINT to every running tracer of task; its pids in *pids (new array). */
int tasks_stop(agent *a, const store_task *task, json_t **pids, sca_error *err);
/* The children_exit_fn of the agent (arg: the agent): records that the
 * sca-tracer pid of tracer in task_id ended (when it did not record it
 * itself) and closes the task if that was its last tracer. */
void tasks_on_tracer_exit(void *agent_arg, int64_t task_id, const char *tracer, pid_t pid,
                          int exit_code, int exit_signal);
/* Makes the store true to the processes that really run, adopting live
 * tracers of an earlier agent and closing the books on the ones gone.  Run
 * once at start, after children_init. */
int tasks_reconcile(agent *a, sca_error *err);
void tasks_close(agent *a);

/* How a task looks to a reader: its stored status, or "stopping" while it
 * runs but every tracer of it still running was asked to stop; and the
 * lines its running tracers hold in memory because the store does not take
 * them, with the reason the first of them gave (NULL when none). */
typedef struct task_view {
    const char *status;
    int64_t held;
    const char *held_reason; /* borrowed from tts */
} task_view;
void tasks_view(const store_task *t, const store_task_tracer *tts, size_t n, task_view *out);

/* --- starts.c ------------------------------------------------------------ */

/* Starts names (tracers not running, registered) in task, which the
 * caller has just created, and answers req once every one has reported its
 * start: {uuid, started, skipped (borrowed; the tracers already running),
 * failed: [], deadline, host}.  When any could not start, the others are
 * stopped and req fails (StartError) once they have ended, naming each one
 * that could not start and why. */
void starts_begin(agent *a, rpc_request *req, const store_task *task, json_t *names,
                  json_t *skipped);
/* Told by the exit callback that sca-tracer pid has ended. */
void starts_on_tracer_exit(agent *a, pid_t pid);
/* Fails the calls still waiting (the agent stops) and closes their handles. */
void starts_close(agent *a);

/* --- pages.c -------------------------------------------------------------- */

/* A page of samples as JSON text, written in place: {head's members,
 * "data": [[ts,value],...], tail's members}, the rows within a byte budget. */
typedef struct text_page {
    sca_buf text;
    size_t count;  /* rows written */
    size_t bytes;  /* what they take inside the envelope */
    size_t budget; /* bytes the rows may take (the first row is always taken) */
    bool full;     /* a row was refused for the budget */
} text_page;

/* Starts p with head's members (a JSON object) and the rows' array. */
void text_page_begin(text_page *p, const json_t *head, size_t budget);
/* A store_sample_fn: appends a row, or refuses it (1) once the budget is
 * spent. */
int text_page_add(void *ctx, double ts, bool is_text, double value, const char *text, size_t len);
/* Ends the rows, adds tail's members (what is known once the rows are
 * read) and returns the text (*len bytes; the caller's to free).  p is
 * empty afterwards. */
char *text_page_end(text_page *p, const json_t *tail, size_t *len);
/* A sample's text as a JSON string, bytes that are not UTF-8 replaced by
 * U+FFFD (programs may print anything; a reply must be JSON). */
json_t *text_value(const char *text, size_t len);

/* --- methods.c / reads.c ------------------------------------------------- */

extern const rpc_method methods_table[];
extern const rpc_method reads_table[];

/* When the store's waits for a lock must end for req (sca_monotonic()
 * seconds, for store_set_deadline): its caller's deadline less the time
 * the answer needs to get back, or 0 when the caller set none. */
double methods_store_deadline(const rpc_request *req);
/* Completes req with err mapped to an oslo failure class. */
void methods_fail(rpc_request *req, int code, const sca_error *err);
/* Starts the agent's shutdown (after the current request is answered). */
void agent_shutdown(agent *a);

#endif
