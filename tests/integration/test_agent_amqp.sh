#!/bin/bash
# requires: rabbitmq
# lock: rabbit-firehose
# sca-agent over AMQP, end to end: the original prototype's CI scenario with
# tracers that work on a CI machine (content of the report checked), a stock
# Python oslo_messaging.RPCClient calling the agent, an agent restart while
# tracers run, task deadlines, and sca-manage reaching the agent on its
# local socket while the cluster talks AMQP.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
PY=${PYTHON:-/usr/bin/python3}
: "${SCA_RABBIT_URL:?}" "${SCA_RABBIT_DIR:?}"
node=sca-test-5673@localhost
rabbit_bin=/usr/lib/rabbitmq/bin
# A topic of our own: other tests share the broker.
topic="sca_it_$$"
host="node-$$"
cat >>"$SCALPELS_CONF" <<CONF

[DEFAULT]
transport_url = $SCA_RABBIT_URL

[agent]
host = $host
# The rabbit tracer switches the firehose off with rabbitmqctl on SIGINT,
# which can take seconds on a loaded machine: not the suite's quick 2 s,
# or a killed worker leaves the shared broker's firehose on.
stop_grace = 15

[rpc]
topic = $topic
timeout = 20
CONF
# The rabbit tracer's rabbitmqctl finds the private node as scripts/rabbitmq.sh runs it.
export HOME="$SCA_RABBIT_DIR" ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODENAME="$node" \
  PATH="$rabbit_bin:$PATH"

"$M" db-create >/dev/null
"$M" setup -d interval=0.5 -d dev=lo -d rpcport=5673 \
  -d "rabbit_url=amqp://guest:guest@127.0.0.1:5673/" >/dev/null

start_agent() {
  "$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
  AGENT=$!
  _cleanup_pids+=("$AGENT")
  wait_until 30 '"$S" --timeout 1 tracer -l >/dev/null 2>&1' || fail "the agent did not answer over AMQP: $(tail -5 "$T/agent.log")"
}
start_agent
expect_exit 0 "$M" status
assert_contains "$OUT" "transport:        rabbit://" "status over the local socket names the AMQP transport"
ok "agent serves AMQP topic $topic and its local socket"

# --- The original prototype's CI scenario -----------------------------------
expect_exit 0 "$S" tracer -l
for t in rpc rabbit traffic iocount; do assert_contains "$OUT" "| $t " "tracer -l lists $t"; done
expect_exit 0 "$S" start -a rpc -a rabbit -a traffic -a iocount
task=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$' | tail -n 1)
[ -n "$task" ] || fail "start printed no task uuid: $OUT"
samples_of() { sql "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$task' AND r.tracer = '$1'"; }
# The firehose carries the other tests' messages on the shared broker too:
# thousands of lines under load.  Counted in SQL, as a "| grep -q" that
# stops reading early fails the pipeline (pipefail) with sqlite3's SIGPIPE.
firehose_calls() { sql "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$task' AND r.tracer = 'rabbit' AND r.name = 'RabbitMQ' AND s.text LIKE '%method=$1 %'"; }
rpc_max_bytes() { sql "SELECT ifnull(max(value), 0) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$task' AND r.tracer = 'rpc' AND r.unit = 'byte/s'"; }
tracer_errors() { sql "SELECT r.tracer || ': ' || s.text FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$task' AND r.name LIKE '% stderr'"; }
# The calls are traced once every tracer runs: the samplers have stored a
# reading, and the rabbit worker has switched the broker's firehose on (with
# rabbitmqctl, which takes seconds on a loaded machine), which shows when a
# probe call of another method than the ones checked below is in its lines.
for t in rpc traffic iocount; do
  wait_until 120 '[ "$(samples_of $t)" -gt 0 ]' || fail "tracer $t stored nothing: $(tracer_errors)"
done
wait_until 120 '"$S" task -l >/dev/null; [ "$(firehose_calls task_list)" -gt 0 ]' ||
  fail "the firehose never showed a probe call: $(tracer_errors)"
# Traffic on the broker port and the node: RPC calls while tracing.
for _ in $(seq 10); do "$S" tracer -l >/dev/null; sleep 0.2; done
# A stop drops what the broker has not delivered to the worker yet, and
# what the port sampler has not read: stop once both are stored.
wait_until 60 '[ "$(firehose_calls tracer_list)" -gt 0 ]' ||
  fail "the firehose never showed the tracer_list calls: $(tracer_errors)"
wait_until 60 'awk -v v="$(rpc_max_bytes)" "BEGIN { exit !(v > 0) }"' || fail "rpc tracer saw no bytes on port 5673"
expect_exit 0 "$S" stop
wait_until 20 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'"'$task'"'"'")" = stopped ]' ||
  fail "task did not stop: $(tail -20 "$T/agent.log")"
expect_exit 0 "$S" report
report=$OUT
assert_contains "$report" "reporting task: <$task>" "report heading"
# The summary: a line per series, "<result UUID>  NAME  UNIT  COUNT ...".
for line in "Port Traffic +pkt/s" "Port Traffic +byte/s" "Device Traffic +pkt/s" \
  "Device Traffic +byte/s" "IO-Count +count" "RabbitMQ "; do
  grep -qE "^<result [0-9a-f-]{36}>  +$line +[1-9]" <<<"$report" || fail "report has $line: $report"
done
n=$(printf '%s\n' "$report" | grep -c '^<result [0-9a-f-]\{36\}>  ')
assert_eq "$n" "$(sql "SELECT count(*) FROM result r JOIN task t ON t.id = r.task_id WHERE t.uuid = '$task'")" \
  "one <result UUID> block per result"
# The broker port saw our RPC traffic, and the firehose decoded it.
max_bytes=$(sql "SELECT max(value) FROM sample s JOIN result r ON r.id = s.result_id WHERE r.tracer = 'rpc' AND r.unit = 'byte/s'")
awk -v v="$max_bytes" 'BEGIN { exit !(v > 0) }' || fail "rpc tracer saw no bytes on port 5673"
iocount=$(sql "SELECT max(value) FROM sample s JOIN result r ON r.id = s.result_id WHERE r.tracer = 'iocount'")
awk -v v="$iocount" 'BEGIN { exit !(v > 0) }' || fail "iocount saw no system calls"
firehose=$(sql "SELECT text FROM sample s JOIN result r ON r.id = s.result_id WHERE r.tracer = 'rabbit' AND r.name = 'RabbitMQ'")
assert_contains "$firehose" "method=tracer_list" "firehose shows the tracer_list calls"
assert_contains "$firehose" "rk=$topic" "firehose shows our topic"
expect_exit 0 "$S" result --list
assert_contains "$OUT" "Port Traffic" "result --list"
ok "CI scenario: tracer -l; start -a rpc -a rabbit -a traffic -a iocount; stop; report; result --list"

# --- The other commands and their error paths over AMQP -----------------------
expect_exit 0 "$S" report --csv
rows=$(($(printf '%s\n' "$OUT" | wc -l) - 1))
assert_eq "$rows" "$(sql "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$task'")" \
  "report --csv: one row per sample"
expect_exit 0 "$S" task -l
assert_contains "$OUT" "$task" "task -l lists the task"
expect_exit 0 "$S" --host "$host" tracer -l
assert_contains "$OUT" "| cpu " "--host THIS_NODE reaches the agent on $topic.$host"
expect_exit 3 "$S" --host no-such-node tracer -l
assert_contains "$OUT" "no agent has listened as host no-such-node on rabbit://" \
  "--host of a node nobody serves: exit 3 at once"
expect_exit 3 "$S" --transport-url "${SCA_RABBIT_URL/guest:guest/guest:wrong}" tracer -l
assert_contains "$OUT" "sca: cannot reach the broker: " "a refused login is the broker's"
assert_contains "$OUT" "ACCESS_REFUSED" "the broker's reason"
assert_contains "$OUT" "(check --transport-url)" "the setting to check"
sed "s|^transport_url = .*|transport_url = ${SCA_RABBIT_URL}no_such_vhost_$$|" "$SCALPELS_CONF" >"$T/badvhost.conf"
expect_exit 3 "$S" --config "$T/badvhost.conf" tracer -l
assert_contains "$OUT" "vhost no_such_vhost_$$ not found (check transport_url in $T/badvhost.conf)" \
  "an unknown vhost names the configuration file"
expect_exit 1 "$S" start -a nope
assert_contains "$OUT" "sca: ValueError: unknown tracer(s): nope" "unknown tracer: one line, exit 1"
expect_exit 1 "$S" report ffffffff
assert_contains "$OUT" "sca: NotFound: no task matches 'ffffffff'" "unknown prefix: exit 1"
expect_exit 2 "$S" report abc
expect_exit 0 "$S" run -a cpu -- sleep 1
assert_contains "$OUT" "reporting task: <" "run prints the report"
grep -qE '^<result [0-9a-f-]+>  +user +% +[1-9][0-9]* ' <<<"$OUT" || fail "run's report has the cpu summary: $OUT"
expect_exit 5 "$S" run -a cpu -- sh -c 'exit 5'
ok "report --csv, task -l, --host, run and error paths over AMQP"

# --- A stock oslo.messaging client ---------------------------------------------
cat >"$T/oslo_client.py" <<'PYCODE'
import json, sys, time
import oslo_messaging as messaging
from oslo_config import cfg
url, topic, host = sys.argv[1], sys.argv[2], sys.argv[3]
# As the original prototype's client did: the global config, a plain
# RPCClient, Target(topic, version="1.0"), an empty context.
cfg.CONF([], project="sca-test")
transport = messaging.get_rpc_transport(cfg.CONF, url=url)
client = messaging.RPCClient(transport, messaging.Target(topic=topic, version="1.0"), timeout=20)
ctx = {}
tracers = client.call(ctx, "tracer_list")
names = sorted(t["name"] for t in tracers)
assert "cpu" in names and "mem" in names, names
started = client.call(ctx, "start_tracers", tracers=["cpu"])
assert started["started"] == ["cpu"], started
assert started["host"] == host, started
time.sleep(1.5)
latest = client.call(ctx, "get_latest_task")
assert latest["uuid"] == started["uuid"], (latest, started)
client.call(ctx, "stop_task", uuid=latest["uuid"])
for _ in range(100):
    latest = client.call(ctx, "get_latest_task")
    if latest["status"] == "stopped":
        break
    time.sleep(0.1)
result = client.call(ctx, "get_result", uuid=latest["results"][0])
assert result["uuid"] == latest["results"][0] and result["rtype"] == "stream", result
assert len(result["data"]) >= 1 and all(len(p) == 2 for p in result["data"]), result
try:
    client.call(ctx, "get_result", uuid="ffffffff")
    raise SystemExit("get_result of an unknown uuid did not fail")
except messaging.RemoteError as e:
    assert e.exc_type == "NotFound", e
try:
    client.call(ctx, "register_tracer", tracer_opts={"name": "x", "tpl": "id"})
    raise SystemExit("register_tracer over AMQP was accepted")
except messaging.RemoteError as e:
    assert e.exc_type == "PermissionDenied", e
# A duration of 0 or less is refused, and starts nothing (oslo raises a
# builtins exception from the reply as itself).
for bad in (-5, 0):
    try:
        client.call(ctx, "start_tracers", tracers=["cpu"], duration=bad)
        raise SystemExit("start_tracers(duration=%s) was accepted" % bad)
    except ValueError as e:
        assert "duration must be a positive" in str(e), e
assert client.call(ctx, "get_latest_task")["uuid"] == latest["uuid"], "a refused duration made a task"
# The original client cast start_tracers.
client.cast(ctx, "start_tracers", tracers=["mem"])
for _ in range(100):
    if any(t["name"] == "mem" and t["running"] for t in client.call(ctx, "tracer_list")):
        break
    time.sleep(0.1)
else:
    raise SystemExit("cast start_tracers did not start mem")
client.call(ctx, "stop_tracers", tracers=["mem"])
print(json.dumps({"task": latest["uuid"], "result": result["uuid"], "points": len(result["data"])}))
transport.cleanup()
PYCODE
expect_exit 0 timeout 120 "$PY" "$T/oslo_client.py" "$SCA_RABBIT_URL" "$topic" "$host"
oslo_task=$(printf '%s\n' "$OUT" | tail -n 1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["task"])')
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$oslo_task'")" "stopped" "task started by the oslo client"
ok "stock oslo_messaging.RPCClient: tracer_list, start_tracers (call and cast), get_latest_task, get_result, errors, a duration <= 0 refused"

# --- Agent restart while tracers run ------------------------------------------
wait_until 15 '[ "$(sql "SELECT count(*) FROM tracer WHERE running = 1")" = 0 ]' || fail "tracers still running"
expect_exit 0 "$S" start -a cpu -a mem
task=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$' | tail -n 1)
pids=$(sql "SELECT group_concat(pid) FROM tracer WHERE running = 1")
kill -TERM "$AGENT"
wait "$AGENT" || fail "agent exited non-zero on SIGTERM"
for p in ${pids//,/ }; do kill -0 "$p" 2>/dev/null || fail "tracer $p died with the agent"; done
# Its queues stay on the broker, consumerless: sca says so at once, where a
# call left in them would wait for the 20 s timeout.  Closing that quickly
# must not upset the broker (a basic.cancel before the consume-ok crashes
# RabbitMQ 3.10's channel).
crashes() { cat "$SCA_RABBIT_DIR"/log/*.log 2>/dev/null | grep -c "crash_report\|badkey" || true; }
crashes_before=$(crashes)
expect_exit 3 "$S" --host "$host" tracer -l
assert_contains "$OUT" "the agent of host $host is not running: its queue on rabbit://" \
  "--host of a stopped agent names it"
expect_exit 3 "$S" tracer -l
assert_contains "$OUT" "queue $topic has no consumer" "a stopped agent without --host: its queue named"
assert_eq "$(crashes)" "$crashes_before" "the broker logged no crash for the quick close"
start_agent
expect_exit 0 "$S" --json tracer -l
running=$(printf '%s' "$OUT" | "$PY" -c 'import json,sys; print(",".join(sorted(t["name"] for t in json.load(sys.stdin) if t["running"])))')
assert_eq "$running" "cpu,mem" "the new agent lists the tracers as running"
assert_contains "$(cat "$T/agent.log")" "adopted running sca-tracer" "adoption logged"
expect_exit 0 "$S" stop "${task:0:8}"
wait_until 15 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'"'$task'"'"'")" = stopped ]' ||
  fail "the new agent could not stop the adopted tracers"
for p in ${pids//,/ }; do wait_until 10 '! kill -0 $p 2>/dev/null' || fail "tracer $p still runs"; done
assert_eq "$(sql "SELECT count(*) FROM task_tracer tt JOIN task t ON t.id = tt.task_id WHERE t.uuid = '$task' AND tt.exit_code IS NULL AND tt.exit_signal IS NULL")" \
  "0" "adopted tracers recorded their workers' ends"
ok "agent restart: tracers kept running, were adopted, listed and stopped"

# --- Deadlines: --duration, and [agent] max_duration for a forgotten task ---
expect_exit 0 "$S" start -a cpu --duration 1
task=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$' | tail -n 1)
wait_until 10 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'"'$task'"'"'")" = stopped ]' ||
  fail "--duration 1 did not stop the task"
ok "--duration: the agent stopped the task by itself"
"$M" stop >/dev/null
printf '[agent]\nmax_duration = 2\n' >>"$SCALPELS_CONF"
start_agent
expect_exit 0 "$S" start -a mem
task=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$' | tail -n 1)
deadline=$(sql "SELECT deadline - created FROM task WHERE uuid = '$task'")
awk -v d="$deadline" 'BEGIN { exit !(d > 1.5 && d < 2.5) }' || fail "max_duration deadline $deadline"
wait_until 12 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'"'$task'"'"'")" = stopped ]' ||
  fail "max_duration did not stop the task"
expect_exit 0 "$S" start -a mem --duration 1h
# The deadline runs from the task's creation; the answer comes once the
# tracers are seen to run, up to a second later.
[[ "$OUT" =~ "the agent stops this task in "[12]" s (its [agent] max_duration), not after the 3600 s asked" ]] ||
  fail "a --duration cut by max_duration is said: $OUT"
expect_exit 0 "$S" stop
ok "[agent] max_duration stops a forgotten task, and a longer --duration is told it was cut"

expect_exit 0 "$M" stop
wait "$AGENT" || true
expect_exit 3 "$S" --timeout 2 tracer -l
assert_contains "$OUT" "no agent answered" "no agent: exit 3"
ok "sca-manage stop over the local socket; then exit 3"

# The pid of the agent just started detached, for the cleanup.
detached_pid() { _cleanup_pids+=("$(pgrep -n -f "^$SCA_BIN/sca-agent\$")"); }

# Detached over AMQP, sca-agent returns once the broker has confirmed its
# queues: the next command finds it at once, by its host and in `hosts`.
expect_exit 0 "$SCA_BIN/sca-agent"
detached_pid  # stopped at the end even if a check fails
assert_eq "$OUT" "" "a detached start says nothing"
expect_exit 0 "$S" --timeout 5 --host "$host" tracer -l
expect_exit 0 "$S" --timeout 2 hosts --short
assert_eq "$OUT" "$host" "the agent is in 'sca hosts' as soon as sca-agent returns"
expect_exit 0 "$M" stop
ok "a detached agent returns once it listens on the broker"

# A broker it cannot reach: it detaches after 15 s with a warning, serves
# its local socket, and keeps trying.
dead_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >>"$SCALPELS_CONF" <<CONF
[DEFAULT]
transport_url = rabbit://guest:guest@127.0.0.1:$dead_port/
CONF
expect_exit 0 "$SCA_BIN/sca-agent"
detached_pid
assert_contains "$OUT" "sca-agent: warning: listening on unix://$T/agent.sock, but not connected to rabbit://127.0.0.1:$dead_port/ within 15s; it keeps trying" \
  "an unreachable broker is said, and the agent stays"
expect_exit 0 "$M" status
expect_exit 0 "$M" stop
ok "an unreachable broker: detached after 15 s with a warning, the local socket served"
