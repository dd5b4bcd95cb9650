#!/bin/bash
# Broker failover: two independent RabbitMQ nodes on loopback (distinct
# node names and ports, not clustered) and one transport URL that lists
# both.  An agent traces while the broker it is connected to is stopped:
# it moves to the other and declares its queues there; sca, given both
# brokers, and a stock oslo.messaging client reach it there; the tracer's
# samples go on through it.  Then the first broker comes back, the second
# is stopped, and the agent moves back.
#
# Uses brokers of its own (free ports from 5790): the shared fixture of the
# other tests is never stopped.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
rabbit="$SCA_SRC/scripts/rabbitmq.sh"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# free_port FIRST: a port free on loopback, with its distribution port (+20000).
free_port() {
  local p
  for p in $(seq "$1" $(($1 + 200))); do
    port_free "$p" && port_free $((p + 20000)) && { echo "$p"; return; }
  done
  fail "no free port from $1"
}
p1=$(free_port 5790)
p2=$(free_port $((p1 + 1)))
declare -A RDIR=([$p1]="$T/rabbit-$p1" [$p2]="$T/rabbit-$p2")
started_brokers=()
broker_start() {
  bash "$rabbit" start "${RDIR[$1]}" "$1" >>"$T/rabbit.log" 2>&1 ||
    fail "broker on port $1 did not start: $(tail -20 "$T/rabbit.log")"
  started_brokers+=("$1")
}
# broker_stop PORT [OTHER]: stops the broker on PORT.  An epmd that one
# started goes on serving the other, which stops it last: the marker that
# says so moves with it.
broker_stop() {
  if [ $# -gt 1 ] && [ -e "${RDIR[$1]}/epmd.started" ]; then
    mv "${RDIR[$1]}/epmd.started" "${RDIR[$2]}/epmd.started"
  fi
  bash "$rabbit" stop "${RDIR[$1]}" "$1" >>"$T/rabbit.log" 2>&1
}
failover_cleanup() {
  local rc=$? p
  for p in "${_cleanup_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # The last one stopped keeps epmd until then.
  local last=''
  [ ${#started_brokers[@]} -eq 0 ] || last=${started_brokers[${#started_brokers[@]} - 1]}
  for p in "${started_brokers[@]}"; do
    [ "$p" = "$last" ] || broker_stop "$p" "$last" || true
  done
  [ -z "$last" ] || broker_stop "$last" || true
  (exit "$rc")
  cleanup
}
trap failover_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

broker_start "$p1"
broker_start "$p2"
url="rabbit://guest:guest@127.0.0.1:$p1,guest:guest@127.0.0.1:$p2/"
topic="sca_failover_$$"
host="fo-$$"
cat >"$SCALPELS_CONF" <<CONF
[DEFAULT]
state_dir = $T
transport_url = $url
log_level = info

[agent]
host = $host
stop_grace = 2

[rpc]
topic = $topic
timeout = 20
CONF
"$M" db-create >/dev/null
"$M" setup -d interval=0.5 >/dev/null
"$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
agent=$!
_cleanup_pids+=("$agent")

# connected: the broker port the agent last said it connected to.
connected() { sed -n 's/.*: connected to 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/agent.log" | tail -n 1; }
connections() { grep -c ": connected to 127\.0\.0\.1:" "$T/agent.log" || true; }
wait_until 60 '[ -n "$(connected)" ] && "$S" --host "$host" --timeout 2 tracer -l >/dev/null 2>&1' ||
  fail "the agent did not answer: $(tail -5 "$T/agent.log")"
first=$(connected)
case $first in
  "$p1") other=$p2 ;;
  "$p2") other=$p1 ;;
  *) fail "the agent connected to $first, neither of $p1 and $p2" ;;
esac
ok "two brokers on ports $p1 and $p2; the agent is connected to $first"

# oslo_call PORT: a stock oslo.messaging client calls the agent through the
# broker on PORT and prints "OK host" or "ERR ...".  One broker only: oslo
# shuffles the brokers of its URL for each connection (it takes them for a
# cluster), so with two independent ones its call and the agent would
# often be on different brokers.
oslo_call() {
  timeout 120 "${PYTHON:-python3}" - "rabbit://guest:guest@127.0.0.1:$1/" "$topic" "$host" 2>>"$T/oslo.log" <<'PY'
import sys
import oslo_messaging as om
from oslo_config import cfg
url, topic, host = sys.argv[1:4]
transport = om.get_rpc_transport(cfg.CONF, url=url)
client = om.get_rpc_client(transport, om.Target(topic=topic, server=host), timeout=30)
try:
    print("OK", client.call({}, "agent_info")["host"])
except Exception as e:
    print("ERR", type(e).__name__, str(e).replace("\n", " "))
transport.cleanup()
PY
}
assert_eq "$(oslo_call "$first")" "OK $host" "oslo.messaging calls agent_info through $first"

# A tracer sampling every 0.5 s across the failover.
expect_exit 0 "$S" --host "$host" start -a cpu
task=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$' | tail -n 1)
[ -n "$task" ] || fail "start printed no task uuid: $OUT"
samples() {
  sql "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id
       WHERE t.uuid = '$task' AND r.name = '$1'"
}
wait_until 60 '[ "$(samples user)" -ge 4 ]' || fail "the cpu tracer sampled nothing: $(tail -5 "$T/agent.log")"

# --- the connected broker stops ---------------------------------------------
n=$(connections)
before=$(date +%s.%N)
broker_stop "$first" "$other"
wait_until 90 '[ "$(connections)" -gt "$n" ]' ||
  fail "the agent did not connect again after its broker stopped: $(tail -5 "$T/agent.log")"
assert_eq "$(connected)" "$other" "the agent moved to the other broker"
expect_exit 0 "$S" --host "$host" tracer -l
assert_contains "$OUT" "| cpu " "sca --host through the other broker"
expect_exit 0 "$S" task -l
assert_contains "$OUT" "$task" "sca over the topic through the other broker: the task"
assert_eq "$(oslo_call "$other")" "OK $host" "oslo.messaging calls agent_info through $other"
ok "the connected broker ($first) stopped: the agent moved to $other, sca and oslo.messaging reach it there"

# The samples go on: more after the failover, and as many over the whole
# run as its span holds intervals (80%: the sampler's ticks drift under load).
mid=$(samples user)
wait_until 60 '[ "$(samples user)" -ge $((mid + 4)) ]' || fail "the cpu tracer stopped sampling after the failover"

# --- and back ---------------------------------------------------------------
broker_start "$first"
n=$(connections)
broker_stop "$other" "$first"
wait_until 90 '[ "$(connections)" -gt "$n" ]' ||
  fail "the agent did not connect again after the second broker stopped: $(tail -5 "$T/agent.log")"
assert_eq "$(connected)" "$first" "the agent moved back to the first broker"
expect_exit 0 "$S" --host "$host" tracer -l
assert_contains "$OUT" "| cpu " "sca --host through the first broker again"
assert_eq "$(oslo_call "$first")" "OK $host" "oslo.messaging calls agent_info through $first again"
ok "the second broker ($other) stopped: everything moved back to $first"

mid=$(samples user)
wait_until 60 '[ "$(samples user)" -ge $((mid + 4)) ]' || fail "the cpu tracer stopped sampling after failing back"
expect_exit 0 "$S" --host "$host" stop "$task"
wait_until 30 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'"'$task'"'"'")" = stopped ]' ||
  fail "the task did not stop"
read -r count span <<<"$(sql "SELECT count(*), max(s.ts) - min(s.ts) FROM sample s JOIN result r ON r.id = s.result_id
                              JOIN task t ON t.id = r.task_id WHERE t.uuid = '$task' AND r.name = 'user'" | tr '|' ' ')"
first_ts=$(sql "SELECT min(s.ts) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id
                WHERE t.uuid = '$task' AND r.name = 'user'")
python3 -c 'import sys; c, span, t0, before = map(float, sys.argv[1:]); sys.exit(not (t0 < before and c >= 0.8 * (span / 0.5 + 1)))' \
  "$count" "$span" "$first_ts" "$before" ||
  fail "user: $count samples over $span s (from $first_ts, failover at $before): expected one per 0.5 s, 80% at least"
expect_exit 0 "$S" --host "$host" report "$task"
assert_contains "$OUT" "reporting task: <$task>" "the report after two failovers"
ok "tracing went on through both failovers: $count samples over ${span%.*} s"
