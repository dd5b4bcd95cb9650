#!/bin/bash
# The agent keeps one sca-tracer loaded and waiting for its task, and a
# start hands it its task instead of spawning: ps then names the task and
# tracer as for any tracer, and an agent that restarts adopts it.  One that
# dies waiting costs nothing but its use; one is made again a second after
# a start; none outlives the agent.  sca-tracer --task-fd on its own: a
# pipe that closes without a line is exit 0 with nothing done, a bad line
# exit 2 with the reason.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"

"$M" db-create >/dev/null
"$M" setup -t name=idle -t tpl="sleep 60" >/dev/null
"$M" setup -t name=idle2 -t tpl="sleep 60" >/dev/null

# The agent's children that wait for a task (question marks for arguments).
waiting() {
  local p
  for p in $(ps -o pid= --ppid "$AGENT"); do
    [[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" == *"--task-fd 4 ????"* ]] && echo "$p"
  done
  return 0
}
# alive PID: a live process (not a zombie) has that pid.
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" | sed 's/ *$//'; }
tracer_pid() { sql "SELECT pid FROM tracer WHERE name = '$1' AND running"; }

# 1. One waits from the start, and the first start takes it.
start_agent
wait_until 10 '[ "$(waiting | wc -l)" -eq 1 ]' || fail "no sca-tracer waits for a task: $(ps -o pid,args --ppid "$AGENT")"
ready=$(waiting)
uuid=$("$S" start -a idle)
started=$(date +%s%N)
assert_eq "$(tracer_pid idle)" "$ready" "the start ran the tracer that waited"
assert_contains "$(cmdline "$ready")" "--task-fd 4 $uuid idle" "its command line names its task and tracer"
[[ "$(cmdline "$ready")" == *"?"* ]] && fail "question marks left in its command line: $(cmdline "$ready")"
ok "a start hands its task to the tracer that waited"

# 2. Another is made a second after the start, not during it (checked when
#    this shell got here well within that second).
none_yet=$(waiting)
if [ $(($(date +%s%N) - started)) -lt 500000000 ]; then
  [ -z "$none_yet" ] || fail "a tracer was made ready at once after the start"
fi
wait_until 10 '[ "$(waiting | wc -l)" -eq 1 ]' || fail "no tracer was made ready after the start"
ok "the next one is made ready after the start"

# 3. One that dies waiting: the next start spawns, and nothing is recorded
#    for the dead one.
kill -9 "$(waiting)"
wait_until 10 '[ -z "$(waiting)" ]' || fail "the killed tracer is still listed"
uuid2=$("$S" start -a idle2)
pid2=$(tracer_pid idle2)
[ -n "$pid2" ] && alive "$pid2" || fail "idle2 does not run after a waiting tracer died"
assert_contains "$(cmdline "$pid2")" "$uuid2 idle2" "the spawned tracer's command line"
assert_eq "$(sql "SELECT count(*) FROM task_tracer WHERE tracer = ''")" "0" "rows for the dead waiting tracer"
assert_contains "$(cat "$T/agent.log")" "(waiting for a task) killed by signal 9" "agent log"
"$S" stop "$uuid2" >/dev/null
ok "a start spawns when the waiting tracer died"

# 4. An agent that restarts adopts a tracer that waited, by its command line.
wait_until 10 '[ "$(waiting | wc -l)" -eq 1 ]' || fail "no tracer was made ready again"
last_ready=$(waiting)
kill -9 "$AGENT"
wait_until 10 '! alive "$last_ready"' || fail "the waiting tracer outlived a killed agent"
alive "$ready" || fail "the running tracer died with the agent"
start_agent
assert_contains "$(cat "$T/agent.log")" "adopted running sca-tracer $ready for idle" "adoption"
"$S" stop "$uuid" >/dev/null
wait_until 10 '! alive "$ready"' || fail "the adopted tracer did not stop"
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$uuid'")" "stopped" "the adopted tracer's task"
ok "a restarted agent adopts a tracer that waited, and stops it"

# 5. An agent that stops takes its waiting tracer with it.
wait_until 10 '[ "$(waiting | wc -l)" -eq 1 ]' || fail "the restarted agent keeps none waiting"
last_ready=$(waiting)
stop_agent
wait_until 10 '! alive "$last_ready"' || fail "the waiting tracer outlived the agent"
ok "the waiting tracer ends with the agent"

# 6. sca-tracer --task-fd by hand.
tasks=$(sql "SELECT count(*) FROM task")
expect_exit 0 "$SCA_BIN/sca-tracer" --task-fd 4 "$(printf '?%.0s' {1..36})" "$(printf '?%.0s' {1..64})" 4</dev/null
assert_eq "$(sql "SELECT count(*) FROM task")" "$tasks" "tasks after a task pipe that closed empty"
set +e
echo "not-a-line" | "$SCA_BIN/sca-tracer" --task-fd 0 "$(printf '?%.0s' {1..36})" xxxxxxxxxx 2>"$T/err"
rc=$?
printf '%s idle-and-longer\n' "$(new_uuid)" | "$SCA_BIN/sca-tracer" --task-fd 0 "$(printf '?%.0s' {1..36})" short 2>"$T/err2"
rc2=$?
set -e
assert_eq "$rc" "2" "a line without a tracer"
assert_contains "$(cat "$T/err")" "expected \"TASK_UUID TRACER\", not 'not-a-line'" "its message"
assert_eq "$rc2" "2" "a line longer than the arguments it replaces"
assert_contains "$(cat "$T/err2")" "does not fit in the arguments it replaces" "its message"
expect_exit 2 "$SCA_BIN/sca-tracer" --task-fd 99 a b
assert_eq "$(sql "SELECT count(*) FROM task")" "$tasks" "tasks after bad lines"
ok "sca-tracer --task-fd: an empty pipe does nothing, a bad line is exit 2"
