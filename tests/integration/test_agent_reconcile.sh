#!/bin/bash
# A restarted agent tells the truth: tracers whose sca-tracer is gone, or
# whose recorded pid now belongs to another program, are marked stopped and
# their tasks closed; live ones are adopted.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"

"$M" db-create >/dev/null
"$M" setup -d interval=0.2 -t name=idle -t "tpl=sleep 600" >/dev/null
running() { sql "SELECT group_concat(name) FROM (SELECT name FROM tracer WHERE running = 1 ORDER BY name)"; }

start_agent
u1=$("$S" start -a idle)
u2=$("$S" start -a cpu)
wait_until 10 '[ "$(running)" = "cpu,idle" ]' || fail "tracers did not start: $(running)"
idle_pid=$(sql "SELECT pid FROM tracer WHERE name = 'idle'")
cpu_pid=$(sql "SELECT pid FROM tracer WHERE name = 'cpu'")
# idle's worker outlives its sca-tracer's SIGKILL below: ours to stop.
wait_until 10 '[ -n "$(sql "SELECT worker_pid FROM task_tracer WHERE tracer = '"'"'idle'"'"'")" ]' ||
  fail "idle's worker pid was not recorded"
_cleanup_pids+=("$(sql "SELECT worker_pid FROM task_tracer WHERE tracer = 'idle'")")

# The agent and idle's sca-tracer die hard: nobody records anything.
kill -9 "$AGENT" "$idle_pid"
wait "$AGENT" 2>/dev/null || true
wait_until 5 '! kill -0 $idle_pid 2>/dev/null' || fail "sca-tracer $idle_pid survived SIGKILL"
# cpu's recorded pid now names an unrelated live process (pid reuse).
sleep 600 &
impostor=$!
_cleanup_pids+=("$impostor" "$cpu_pid")
sql "UPDATE tracer SET pid = $impostor WHERE name = 'cpu'"
sql "UPDATE task_tracer SET pid = $impostor WHERE tracer = 'cpu'"
assert_eq "$(running)" "cpu,idle" "before the restart the table still says running"

start_agent
assert_eq "$(running)" "" "after the restart nothing is marked running"
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$u1'")" "stopped" "the dead tracer's task is closed"
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$u2'")" "stopped" "the impostor's task is closed"
kill -0 "$impostor" || fail "the agent signalled the unrelated process"
assert_contains "$(cat "$T/agent.log")" "marking it stopped" "reconciliation logged"
expect_exit 0 "$S" tracer -l
assert_contains "$OUT" "| idle " "tracer -l after reconciliation"
ok "dead and reused pids marked stopped, tasks closed, unrelated process untouched"

# Live tracers of an earlier agent are adopted and stop through the new one.
u3=$("$S" start -a idle)
pid=$(sql "SELECT pid FROM tracer WHERE name = 'idle'")
kill -TERM "$AGENT"
wait "$AGENT" || fail "agent exited non-zero on SIGTERM"
kill -0 "$pid" || fail "the tracer died with the agent"
start_agent
assert_eq "$(running)" "idle" "adopted tracer still running"
expect_exit 0 "$S" stop -a idle
wait_until 10 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'"'$u3'"'"'")" = stopped ]' || fail "adopted tracer not stopped"
ok "live tracer adopted and stopped by the new agent"

# Detached (no --foreground), the agent logs what start-up finds to
# STATE_DIR/agent.log, not to the terminal it leaves: the adopted tracer and
# where it listens.
u4=$("$S" start -a idle)
pid=$(sql "SELECT pid FROM tracer WHERE name = 'idle'")
kill -TERM "$AGENT"
wait "$AGENT" || fail "agent exited non-zero on SIGTERM"
: >"$T/agent.log"
"$SCA_BIN/sca-agent" >"$T/terminal.out" 2>&1 || fail "detached start failed: $(cat "$T/terminal.out")"
_cleanup_pids+=("$(pgrep -n -f "^$SCA_BIN/sca-agent\$")")
assert_eq "$(cat "$T/terminal.out")" "" "nothing on the terminal from a detached start"
assert_contains "$(cat "$T/agent.log")" "adopted running sca-tracer $pid" "adoption in agent.log"
assert_contains "$(cat "$T/agent.log")" "listening" "listening address in agent.log"
expect_exit 0 "$S" stop -a idle
wait_until 10 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'"'$u4'"'"'")" = stopped ]' || fail "tracer not stopped"
expect_exit 0 "$M" stop
ok "a detached agent logs its start-up to STATE_DIR/agent.log"

# A start-up failure is said once, on the terminal, by the waiting parent.
mv "$T/scalpels.db" "$T/moved.db"
expect_exit 1 "$SCA_BIN/sca-agent"
assert_eq "$(grep -c "database" <<<"$OUT")" "1" "the failure is printed once: $OUT"
mv "$T/moved.db" "$T/scalpels.db"
ok "a detached start-up failure is printed once"
