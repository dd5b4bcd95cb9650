#!/bin/bash
# sca-tracer on real workers: every line stored, stops that lose nothing,
# exit statuses recorded, stubborn workers killed, no shell but one a template calls itself.
source "$(dirname "$0")/lib.sh"

"$SCA_BIN/sca-manage" db-create >/dev/null
setup() { "$SCA_BIN/sca-manage" setup "$@" >/dev/null; }

tracer_row() { sql "SELECT $2 FROM task_tracer tt JOIN task t ON t.id = tt.task_id WHERE t.uuid = '$1'"; }
task_samples() { sql "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$1'"; }

# bg_tracer NAME MIN: sca-tracer for NAME on a new task $u, in the
# background as $tracer (its log in $T/NAME.log), until more than MIN of
# its samples are stored.
bg_tracer() {
  u=$(new_uuid)
  "$SCA_BIN/sca-tracer" "$u" "$1" 2>"$T/$1.log" &
  tracer=$!
  _cleanup_pids+=("$tracer")
  wait_until 60 '[ "$(task_samples "$u")" -gt '"$2"' ]' ||
    fail "$1: no more than $2 samples stored while it runs: $(cat "$T/$1.log")"
}

# 1. A worker printing 200,000 lines then exiting: all 200,000 stored, in order.
setup -t name=lines -t tpl="$WORKERS/lines.sh 200000" -t parser=count
u=$(new_uuid)
"$SCA_BIN/sca-tracer" "$u" lines 2>"$T/lines.log"
assert_eq "$(sql "SELECT count(*), min(value), max(value), sum(value) FROM sample")" \
  "200000|1.0|200000.0|20000100000.0" "samples of a 200,000-line worker"
assert_eq "$(tracer_row "$u" "exit_code || ',' || lines || ',' || unparsed")" "0,200000,0" \
  "task_tracer row"
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$u'")" "stopped" "task status after the worker ended"
assert_eq "$(sql "SELECT running || ',' || ifnull(pid, 'null') FROM tracer WHERE name = 'lines'")" \
  "0,null" "tracer row after the run"
assert_eq "$(sql "SELECT name || ',' || unit || ',' || rtype FROM result")" "lines,count,stream" "result"
ok "200,000 lines stored, task and tracer closed"

# 2. A worker exiting non-zero: its status is recorded.
setup -t name=failing -t tpl="$WORKERS/lines.sh 3 7" -t parser=count
u=$(new_uuid)
"$SCA_BIN/sca-tracer" "$u" failing 2>/dev/null
assert_eq "$(tracer_row "$u" "exit_code || ',' || ifnull(exit_signal, 0) || ',' || lines")" "7,0,3" \
  "exit status of a failing worker"
ok "non-zero exit status recorded"

# 3. SIGINT mid-stream: everything read is kept (1..K without a gap), the
# tracer is marked stopped and the worker's whole process group is gone.
setup -t name=stream -t tpl="$WORKERS/stream.sh" -t parser=count
bg_tracer stream 2000
assert_eq "$(sql "SELECT running FROM tracer WHERE name = 'stream'")" "1" "tracer marked running"
assert_eq "$(sql "SELECT pid FROM tracer WHERE name = 'stream'")" "$tracer" "tracer pid recorded"
pgid=$(tracer_row "$u" worker_pid)
kill -INT "$tracer"
wait "$tracer" || fail "sca-tracer exited non-zero after SIGINT"
counts=$(sql "SELECT count(*) || ',' || min(value) || ',' || max(value) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u'")
n=${counts%%,*}
assert_eq "$counts" "$n,1.0,$n.0" "samples after SIGINT are 1..N without a gap"
assert_eq "$(sql "SELECT running FROM tracer WHERE name = 'stream'")" "0" "tracer marked stopped"
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$u'")" "stopped" "task stopped"
if group_alive "$pgid"; then fail "worker group $pgid still has processes: $(pgrep -g "$pgid" -a)"; fi
ok "SIGINT mid-stream kept $n samples, group $pgid gone"

# 4. A worker ignoring SIGINT is killed after stop_grace (2 s here): by
# the timer the stop arms with the grace, which says so in the log (a kill
# at once would not).  The wait only ends a tracer that never kills it.
setup -t name=stubborn -t tpl="$WORKERS/stubborn.sh" -t parser=log
bg_tracer stubborn 0
pgid=$(tracer_row "$u" worker_pid)
kill -INT "$tracer"
wait_until 120 '! kill -0 "$tracer" 2>/dev/null' || fail "the stubborn worker was never killed: $(cat "$T/stubborn.log")"
wait "$tracer"
assert_eq "$(tracer_row "$u" "ifnull(exit_code, 'null') || ',' || exit_signal")" "null,9" "stubborn worker killed by SIGKILL"
if group_alive "$pgid"; then fail "stubborn group still alive"; fi
assert_contains "$(cat "$T/stubborn.log")" "Interrupt received: stopping worker $pgid" "SIGINT first"
assert_contains "$(cat "$T/stubborn.log")" "worker $pgid still running 2.0 s after SIGINT: killing its group" "then SIGKILL after the grace"
ok "SIGINT-ignoring worker killed after the grace"

# 5. Unparsed lines go to the log series (counted), stderr to its own log
# series, and a 200 KiB line is split into 64 KiB pieces, not dropped; a
# line of exactly 64 KiB stays whole, and 128 KiB makes two pieces (no
# empty sample after either).
setup -t name=mixed -t tpl="$WORKERS/mixed.sh" -t parser=count -t title="Mixed"
u=$(new_uuid)
"$SCA_BIN/sca-tracer" "$u" mixed 2>/dev/null
res() { sql "SELECT $2 FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u' AND r.name = '$1' ORDER BY s.rowid"; }
assert_eq "$(res Mixed "group_concat(value)")" "1.0,2.0,3.0" "parsed values"
assert_eq "$(sql "SELECT count(*) FROM result r JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u'")" "3" "results: numbers, log, stderr"
log_rows=$(sql "SELECT length(text) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u' AND r.rtype = 'log' AND r.name = 'Mixed' ORDER BY s.rowid" | tr '\n' ,)
assert_eq "$log_rows" "12,65536,65536,65536,8192,65536,65536,65536," \
  "log series: the bad line, 200 KiB in 64 KiB pieces, 64 KiB whole, 128 KiB in two"
assert_eq "$(res "Mixed stderr" text)" "to stderr" "stderr series"
assert_eq "$(tracer_row "$u" "lines || ',' || unparsed")" "11,8" "lines and unparsed counters"
ok "unparsed lines, stderr and a long line kept"

# 6. Values from data options become exactly one argument each, never shell.
canary="$T/pwned"
setup -d "evil=; touch $canary" -d 'sub=$(touch '"$canary"')' -d "tick=\`touch $canary\`" \
  -d "nl=a
b" -t name=args -t tpl="$WORKERS/args.sh %(evil)s '%(sub)s' \"x %(tick)s\" %(nl)s ''" -t parser=log
u=$(new_uuid)
"$SCA_BIN/sca-tracer" "$u" args 2>/dev/null
[ ! -e "$canary" ] || fail "a data option was run by a shell"
assert_eq "$(sql "SELECT group_concat(text, '|') FROM (SELECT text FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u' AND r.name = 'args' ORDER BY s.rowid)")" \
  "; touch $canary|\$(touch $canary)|x \`touch $canary\`|a|b|" "arguments as the worker received them"
ok "data options reach the worker as literal single arguments"
# What docs/tracers.md warns of: a template that calls a shell itself hands
# it the data option as shell text, and the shell runs what is in it.
setup -t name=shelled -t tpl="/bin/sh -c 'echo %(evil)s'" -t parser=log
"$SCA_BIN/sca-tracer" "$(new_uuid)" shelled 2>/dev/null
[ -e "$canary" ] || fail "sh -c in a template did not run the data option as shell text"
rm -f "$canary"
ok "a template's own sh -c runs a data option as shell text"

# 7. Errors: unknown tracer, bad uuid, missing template key, missing program.
expect_exit 1 "$SCA_BIN/sca-tracer" "$(new_uuid)" nosuch
assert_contains "$OUT" "no tracer named 'nosuch'" "unknown tracer message"
assert_contains "$OUT" "known: " "unknown tracer lists known ones"
expect_exit 1 "$SCA_BIN/sca-tracer" not-a-uuid lines
assert_contains "$OUT" "not a task uuid" "bad uuid message"
expect_exit 2 "$SCA_BIN/sca-tracer" onlyone
setup -t name=needkey -t tpl="$WORKERS/args.sh %(nokey)s"
u=$(new_uuid)
expect_exit 1 "$SCA_BIN/sca-tracer" "$u" needkey
assert_contains "$OUT" "nokey" "missing key is named"
assert_eq "$(tracer_row "$u" exit_code)" "127" "a tracer that could not start is recorded"
assert_contains "$(sql "SELECT text FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u'")" "nokey" "reason kept in the task's log"
assert_eq "$(sql "SELECT running FROM tracer WHERE name = 'needkey'")" "0" "failed tracer not left running"
setup -t name=noprog -t tpl="/nonexistent/worker"
expect_exit 1 "$SCA_BIN/sca-tracer" "$(new_uuid)" noprog
assert_contains "$OUT" "cannot start worker /nonexistent/worker" "missing program message"
ok "errors are clear and recorded"

# 8. Another writer holds the store for 4 s (as a purge or a long import
# may): the tracer goes on reading, so every line keeps the time it
# arrived at, and none is lost.  The worker prints its own clock (the same
# clock as the tracer's): a line printed in the first half of the hold was
# read, and so timestamped, before the hold ended, where a tracer that
# stopped reading while the store refused its batch would stamp it after.
setup -t name=clock -t parser=kv \
  -t tpl="/usr/bin/python3 -u -c 'import time; [print(\"t=%.3f\" % time.time()) or time.sleep(0.05) for _ in range(160)]'"
bg_tracer clock 0
lines_now=$(tracer_row "$u" lines)
[ "${lines_now:-0}" -gt 0 ] || fail "task_tracer.lines is '$lines_now' while samples are stored: counted only at the end"
hold=$(/usr/bin/python3 -c '
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
con.execute("BEGIN IMMEDIATE")
start = time.time()
time.sleep(4)
print("%.6f %.6f" % (start, time.time()))
con.execute("COMMIT")' "$DB")
read -r hold_start hold_end <<<"$hold"
wait "$tracer" || fail "the tracer failed: $(cat "$T/clock.log")"
assert_contains "$(cat "$T/clock.log")" "holding" "the held batch is logged"
clock_rows="FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u' AND r.rtype = 'stream'"
assert_eq "$(sql "SELECT count(*), sum(s.ts < s.value - 0.001) $clock_rows")" "160|0" \
  "all 160 lines stored, none stamped before its worker printed it"
in_hold="s.value >= $hold_start AND s.value < ($hold_start + $hold_end) / 2"
assert_eq "$(sql "SELECT count(*) > 0, sum(s.ts >= $hold_end) $clock_rows AND $in_hold")" "1|0" \
  "lines printed in the first half of the hold stamped before it ended: $(sql "SELECT s.value || ' at ' || s.ts $clock_rows AND $in_hold" | tr '\n' ' ')"
ok "a store held by another writer delays no line's timestamp and loses none"

# 9. The shipped netdev tracer watches the devices of the data option
# netdev_devs (a comma list; empty, the default, is every interface but
# loopback).  Run as the agent runs it, from the template.
netdev_keys() {
  sql "SELECT DISTINCT r.name FROM result r JOIN task t ON t.id = r.task_id WHERE t.uuid = '$1' AND r.rtype = 'stream' ORDER BY 1" | tr '\n' ' '
}
setup -d interval=0.2 -d netdev_devs=lo
bg_tracer netdev 8
kill -INT "$tracer"
wait "$tracer" || fail "netdev tracer failed: $(cat "$T/netdev.log")"
assert_eq "$(netdev_keys "$u")" "lo.rx_kbps lo.rx_pps lo.tx_kbps lo.tx_pps " "netdev_devs=lo: only lo's series"
setup -d netdev_devs=
bg_tracer netdev 8
kill -INT "$tracer"
wait "$tracer" || fail "netdev tracer failed: $(cat "$T/netdev.log")"
keys=$(netdev_keys "$u")
[ -n "$keys" ] || fail "netdev_devs empty: no series"
[[ " $keys" != *" lo."* ]] || fail "netdev_devs empty: loopback reported: $keys"
ok "netdev_devs chooses the netdev tracer's devices"
