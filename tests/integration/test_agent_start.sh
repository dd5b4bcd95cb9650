#!/bin/bash
# start_tracers answers only once it knows that every tracer started: a
# template that cannot be expanded, a program that cannot be executed or a
# worker that fails as it starts makes `sca start` exit 1 at once, naming
# the tracer and why, and the command's other tracers are not left running.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

"$M" db-create >/dev/null
"$M" setup -d interval=0.2 >/dev/null
setup() { "$M" setup "$@" >/dev/null; }
setup -t name=noprog -t tpl="/nonexistent/worker --flag"
setup -t name=nokey -t tpl="$WORKERS/args.sh %(no_such_key)s"
# Says why on stderr, then fails a while later (as a usage error does under
# a sanitizer, whose exit takes time).
setup -t name=slowfail -t tpl="sh -c 'echo cannot reach the server >&2; sleep 0.5; exit 3'"
setup -t name=killed -t tpl="sh -c 'kill -9 \$\$'"
# Ran: a line on stdout, then a failure; or an exit 0 at once; or a warning
# on stderr while it goes on.
setup -t name=ranfailed -t tpl="sh -c 'echo 1; exit 3'" -t parser=count
setup -t name=quick -t tpl="true"
setup -t name=warns -t tpl="sh -c 'echo warming up >&2; exec sleep 60'"
setup -t name=idle -t tpl="sleep 60"
# Say why on stderr and fail 2 s later, as slowfail does, but one says it
# runs first (a line on SCA_READY_FD) and the other only closes that
# descriptor, which says nothing.
setup -t name=saidready -t tpl="sh -c 'echo cannot reach the server >&2; echo ready >&\$SCA_READY_FD; sleep 2; exit 3'"
setup -t name=closedready -t tpl="sh -c 'eval \"exec \$SCA_READY_FD>&-\"; echo cannot reach the server >&2; sleep 2; exit 3'"

start_agent

task_of() { sql "SELECT t.uuid FROM task t JOIN task_tracer tt ON tt.task_id = t.id WHERE tt.tracer = '$1' ORDER BY t.id DESC LIMIT 1"; }
running_tasks() { sql "SELECT count(*) FROM task WHERE status = 'running'"; }
running_tracers() { sql "SELECT ifnull(group_concat(name), '') FROM tracer WHERE running"; }
# alive PID: a live process (not a zombie) has that pid.
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# expect_start_error NAMES WANT...: sca start -a NAMES exits 1 with one line
# on stderr naming each WANT, prints nothing on stdout, and leaves nothing
# running.
expect_start_error() {
  local names=$1
  shift
  set +e
  "$S" start -a "$names" >"$T/start.out" 2>"$T/start.err"
  local rc=$?
  set -e
  [ "$rc" -eq 1 ] || fail "start -a $names: exit $rc, expected 1: $(cat "$T/start.err")"
  [ ! -s "$T/start.out" ] || fail "start -a $names printed on stdout: $(cat "$T/start.out")"
  assert_eq "$(wc -l <"$T/start.err")" "1" "start -a $names: one line on stderr: $(cat "$T/start.err")"
  local want
  for want in "$@"; do assert_contains "$(cat "$T/start.err")" "$want" "start -a $names"; done
  assert_eq "$(running_tasks)" "0" "start -a $names: tasks left running"
  assert_eq "$(running_tracers)" "" "start -a $names: tracers marked running"
}

# 1. proc with neither pid nor pname: the worker's usage error, at once.
expect_start_error proc "sca: StartError: cannot start tracer proc: worker " \
  "exited with status 2 as it started: sca-sampler: proc needs exactly one of --pid PID or --pname NAME"
u=$(task_of proc)
assert_contains "$(cat "$T/start.err")" "(task $u stopped: nothing of it runs)" "the task is named"
assert_eq "$(sql "SELECT exit_code FROM task_tracer tt JOIN task t ON t.id = tt.task_id WHERE t.uuid = '$u'")" "2" \
  "the worker's status is recorded"
ok "proc without pid or pname: exit 1 naming the tracer and the worker's reason"

# 2. A program that does not exist.
expect_start_error noprog "cannot start tracer noprog: cannot start worker /nonexistent/worker: no such file or directory"
ok "a template naming a missing program: exit 1"

# 3. A template key with no value.
expect_start_error nokey "cannot start tracer nokey: " "no_such_key"
ok "a template key with no value: exit 1"

# 4. Said on stderr, failed later; killed as it starts.
expect_start_error slowfail "cannot start tracer slowfail: worker sh exited with status 3 as it started: cannot reach the server"
expect_start_error killed "cannot start tracer killed: worker sh was killed by signal 9"
ok "a worker that fails after saying why, or is killed, as it starts: exit 1"

# 5. A mix: the good tracers of the command are stopped before the answer,
# and every failure is named.
expect_start_error cpu,idle,proc,noprog "cannot start tracer proc: " "cannot start tracer noprog: " \
  "stopped: nothing of it runs"
u=$(task_of cpu)
assert_eq "$(task_of idle)" "$u" "one task for the command"
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$u'")" "stopped" "the mixed command's task"
assert_eq "$(sql "SELECT count(*) FROM task_tracer tt JOIN task t ON t.id = tt.task_id WHERE t.uuid = '$u' AND tt.stopped IS NULL")" \
  "0" "every tracer of the mixed command has ended"
pids=$(sql "SELECT pid || ' ' || ifnull(worker_pid, 0) FROM task_tracer tt JOIN task t ON t.id = tt.task_id WHERE t.uuid = '$u' AND tracer IN ('cpu', 'idle')")
[ "$(wc -w <<<"$pids")" -eq 4 ] || fail "pids of cpu and idle: '$pids'"
for p in $pids; do
  if alive "$p"; then fail "process $p of the mixed command runs on: $(tr '\0' ' ' </proc/$p/cmdline)"; fi
done
ok "good and bad tracers in one command: nothing left running, no task left running"

# 6. Workers that do run start: one that printed a line and then failed,
# one that exited 0 at once, one that warns on stderr and goes on, and a
# sampler.  The warning one's report comes only after the start check, but
# not from its worker's end (the status pipe is not the worker's).
for names in ranfailed quick; do
  u=$("$S" start -a "$names") || fail "start -a $names failed"
  [[ "$u" =~ $UUID_RE ]] || fail "start -a $names printed '$u'"
done
start=$SECONDS
u=$("$S" start -a warns,cpu) || fail "start -a warns,cpu failed"
[[ "$u" =~ $UUID_RE ]] || fail "start -a warns,cpu printed '$u'"
[ $((SECONDS - start)) -le 10 ] || fail "start -a warns,cpu took $((SECONDS - start)) s"
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$u'")" "running" "warns and cpu run"
expect_exit 0 "$S" stop "$u"
wait_until 15 '[ "$(running_tasks)" = 0 ]' || fail "tasks still running after stop"
ok "workers that run start, whatever they say on stderr or how they end later"

# 7. A worker that says it runs (a line on SCA_READY_FD, a pipe the tracer
# reads) has started, even though it said something on stderr and fails
# later; one that closes the descriptor without a line is checked as any
# other, and fails to start.
u=$("$S" start -a saidready) || fail "start -a saidready failed"
[[ "$u" =~ $UUID_RE ]] || fail "start -a saidready printed '$u'"
wait_until 15 '[ "$(running_tasks)" = 0 ]' || fail "saidready still running"
assert_eq "$(sql "SELECT exit_code FROM task_tracer tt JOIN task t ON t.id = tt.task_id WHERE t.uuid = '$u'")" \
  "3" "saidready's later failure is recorded"
expect_start_error closedready "cannot start tracer closedready: worker sh exited with status 3 as it started: cannot reach the server"
ok "a worker's readiness line starts it at once; closing the descriptor does not"

# 8. The same failure cast (the original client cast start_tracers): no
# answer, and still nothing left running.
/usr/bin/python3 - "$T/agent.sock" <<'EOF'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
msg = {"method": "start_tracers", "args": {"tracers": ["idle", "noprog"]}, "namespace": None,
       "version": "1.0", "_unique_id": "7d6f0f5a0b6f4a43a0a5b8f7c2d1e901"}
body = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(msg)}).encode()
s.sendall(struct.pack(">I", len(body)) + body)
s.close()
EOF
wait_until 15 '[ "$(sql "SELECT count(*) FROM task_tracer WHERE tracer = '"'idle'"' AND stopped IS NOT NULL")" -ge 2 ]' ||
  fail "the cast start of idle was not stopped: $(sql "SELECT * FROM task_tracer WHERE tracer = 'idle'")"
assert_eq "$(running_tasks)" "0" "cast: no task left running"
ok "a cast start_tracers that fails leaves nothing running"
