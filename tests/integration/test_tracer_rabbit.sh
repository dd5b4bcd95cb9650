#!/bin/bash
# The rabbit tracer (sca-rabbit-trace) on the private test broker: real
# oslo.messaging traffic (a call, its reply, a cast, a fanout cast) arrives as
# decoded log lines, tracing is switched off again on every way out, and
# errors (no rabbitmqctl, no broker, connection closed) exit 1 with a reason.
# requires: rabbitmq
# lock: rabbit-firehose
source "$(dirname "$0")/lib.sh"

: "${SCA_RABBIT_DIR:?run through ctest (SCA_RABBIT_DIR unset)}"
port=${SCA_RABBIT_URL##*:}
port=${port%%/*}
node="sca-test-$port@localhost"
url="amqp://guest:guest@127.0.0.1:$port/"
oslo_url="rabbit://guest:guest@127.0.0.1:$port/" # oslo takes amqp:// for AMQP 1.0
rabbit_bin=/usr/lib/rabbitmq/bin
PY=${PYTHON:-/usr/bin/python3}

# rabbitmqctl reaches the private node with its cookie (in HOME), as
# scripts/rabbitmq.sh runs it.  The workers get the same environment: the
# shipped template passes no node, so rabbitmqctl finds it in
# RABBITMQ_NODENAME, and the real program comes first in PATH (/usr/sbin's
# wrapper would switch to the system node's user).
export HOME="$SCA_RABBIT_DIR" ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODENAME="$node" \
  PATH="$rabbit_bin:$PATH"
ctl() { "$rabbit_bin/rabbitmqctl" -n "$node" -q "$@"; }
tracing() { ctl list_vhosts name tracing | awk '$1 == "/" { print $2 }'; }
assert_eq "$(tracing)" "false" "tracing before the test"

cat >"$T/oslo_peer.py" <<'PY'
import pathlib, signal, sys, threading
import oslo_messaging as om
from oslo_config import cfg

url, role = sys.argv[1], sys.argv[2]
transport = om.get_rpc_transport(cfg.CONF, url=url)
# Else an exit waits 10 s for oslo's (disabled) metrics thread.
cfg.CONF.set_override("metrics_thread_stop_timeout", 0, group="oslo_messaging_metrics")
if role == "server":
    ready, casts = pathlib.Path(sys.argv[3]), pathlib.Path(sys.argv[4])

    class Endpoint:
        def echo(self, ctx, x):
            return x

        def count(self, ctx, n):
            with casts.open("a") as f:
                f.write("%d\n" % n)

    server = om.get_rpc_server(transport, om.Target(topic="tracetest", server="node1"),
                               [Endpoint()], executor="threading")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    ready.write_text("ready\n")
    stop.wait()
    server.stop()
    server.wait()
else:
    n = int(sys.argv[3])
    client = om.get_rpc_client(transport, om.Target(topic="tracetest"), timeout=30)
    print(client.prepare(server="node1").call({"request_id": "req-trace"}, "echo", x=42))
    client.cast({}, "count", n=n)
    client.prepare(fanout=True).cast({}, "count", n=n + 1)
PY

"$PY" "$T/oslo_peer.py" "$oslo_url" server "$T/ready" "$T/casts" 2>"$T/server.log" &
server=$!
_cleanup_pids+=("$server")
wait_until 60 'test -f "$T/ready"' || fail "oslo server did not start: $(tail -5 "$T/server.log")"

# On SIGINT the worker switches the firehose off with rabbitmqctl, an Erlang
# program that takes seconds to start on a loaded machine: the shipped
# grace (5 s), with room for a CI machine, not the suite's quick 2 s.
printf '\n[agent]\nstop_grace = 15\n' >>"$SCALPELS_CONF"
"$SCA_BIN/sca-manage" db-create >/dev/null
setup() { "$SCA_BIN/sca-manage" setup "$@" >/dev/null; }
setup -d rabbit_url="$url" -d rabbit_node="$node" \
  -d rabbitmqctl="$rabbit_bin/rabbitmqctl" -t name=rabbit-test \
  -t tpl="%(bindir)s/sca-rabbit-trace --url %(rabbit_url)s --node %(rabbit_node)s --rabbitmqctl %(rabbitmqctl)s --deliveries" \
  -t parser=log -t title=RabbitMQ

log_lines() {
  sql "SELECT text FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$1' AND r.name = '${2:-RabbitMQ}' ORDER BY s.rowid"
}
exit_code() { sql "SELECT exit_code FROM task_tracer tt JOIN task t ON t.id = tt.task_id WHERE t.uuid = '$1'"; }

# trace TRACER N: runs the tracer around one call, cast and fanout cast (the
# casts carry n=N and N+1), stops it with SIGINT, leaves the lines in $lines.
trace() {
  local tracer=$1 n=$2
  u=$(new_uuid)
  "$SCA_BIN/sca-tracer" "$u" "$tracer" 2>"$T/$tracer.log" &
  local pid=$!
  _cleanup_pids+=("$pid")
  wait_until 30 'test "$(tracing)" = true' || fail "$tracer: tracing never switched on: $(cat "$T/$tracer.log"; log_lines "$u" "RabbitMQ stderr")"
  assert_eq "$(timeout 60 "$PY" "$T/oslo_peer.py" "$oslo_url" client "$n" 2>"$T/client.log")" "42" "echo(x=42) through the traced broker"
  wait_until 30 'grep -qx "$((n + 1))" "$T/casts" 2>/dev/null' || fail "casts never processed"
  # Not "| grep -q": it stops reading at the first match, and the lines
  # (the whole broker's traffic) may then fill the pipe: SIGPIPE, pipefail.
  wait_until 10 'grep -q "exchange=tracetest_fanout .*args={\"n\":$((n + 1))}" <<<"$(log_lines "$u")"' ||
    fail "$tracer: fanout cast never logged: $(log_lines "$u")"
  kill -INT "$pid"
  wait "$pid" || fail "$tracer: sca-tracer exited non-zero after SIGINT: $(cat "$T/$tracer.log")"
  lines=$(log_lines "$u")
  assert_eq "$(exit_code "$u")" "0" "$tracer: worker exit status after SIGINT"
  assert_eq "$(tracing)" "false" "$tracer: tracing after SIGINT"
  bad=$(grep -Ev '^(publish|deliver) ' <<<"$lines" || true)
  [ -z "$bad" ] || fail "$tracer: lines not from the firehose: $bad"
}

has_line() { grep -Eq "$1" <<<"$lines" || fail "$2: no line matching '$1' in:
$lines"; }

check_traffic() {
  local n=$1
  has_line "^publish exchange=openstack rk=tracetest\.node1 kind=call method=echo msg_id=[0-9a-f]{32} reply_q=reply_[0-9a-f]{32} timeout=null unique_id=[0-9a-f]{32} request_id=req-trace args=\{\"x\":42\}$" "call"
  msg_id=$(grep -m1 -o 'rk=tracetest\.node1 kind=call method=echo msg_id=[0-9a-f]*' <<<"$lines" | sed 's/.*msg_id=//')
  has_line "^publish exchange= rk=reply_[0-9a-f]{32} kind=reply msg_id=$msg_id failure=null ending=true result=42$" "reply"
  has_line "^publish exchange=openstack rk=tracetest kind=cast method=count unique_id=[0-9a-f]{32} args=\{\"n\":$n\}$" "cast"
  has_line "^publish exchange=tracetest_fanout rk= kind=cast method=count unique_id=[0-9a-f]{32} args=\{\"n\":$((n + 1))\}$" "fanout cast"
}

# 1. A template naming the node and rabbitmqctl, with --deliveries.
trace rabbit-test 1
check_traffic 1
has_line "^deliver queue=tracetest\.node1 exchange=openstack rk=tracetest\.node1 kind=call method=echo " "delivery of the call"
has_line "^deliver queue=tracetest_fanout_[0-9a-f]{32} exchange=tracetest_fanout rk= kind=cast " "delivery of the fanout cast"
ok "rabbit-test (--node, --deliveries): call, reply, casts and deliveries logged; tracing off again"

# 2. The shipped rabbit tracer, exactly as db-create registers it.
trace rabbit 3
check_traffic 3
if grep -q '^deliver ' <<<"$lines"; then fail "deliveries logged without --deliveries"; fi
assert_eq "$(sql "SELECT tpl FROM tracer WHERE name = 'rabbit'")" \
  "%(bindir)s/sca-rabbit-trace --url %(rabbit_url)s" "shipped template"
ok "shipped rabbit tracer: call, reply and casts logged; tracing off again"

W="$SCA_BIN/sca-rabbit-trace"

# 3. The connection closed by the broker mid-run: exit 1, reason on stderr,
# tracing switched off all the same.
"$W" --url "$url" >/dev/null 2>"$T/closed.err" &
w=$!
_cleanup_pids+=("$w")
wait_until 30 'test "$(tracing)" = true' || fail "tracing never switched on: $(cat "$T/closed.err")"
conn=$(ctl list_connections --no-table-headers pid client_properties | awk -F'\t' -v p="sca-rabbit-trace:$w" 'index($2, "\"" p "\"") { print $1 }')
[ -n "$conn" ] || fail "connection of worker $w not found"
ctl close_connection "$conn" "test closes it" >/dev/null
set +e
wait "$w"
rc=$?
set -e
assert_eq "$rc" "1" "exit status after the connection was closed"
assert_contains "$(cat "$T/closed.err")" "320 CONNECTION_FORCED - test closes it" "reason"
assert_eq "$(tracing)" "false" "tracing after a lost connection"
ok "connection closed mid-run: exit 1 with the reason, tracing off"

# 4. No rabbitmqctl: exit 1 before tracing anything, recorded in the task.
setup -t name=rabbit-noctl -t tpl="%(bindir)s/sca-rabbit-trace --url %(rabbit_url)s --rabbitmqctl /nonexistent/rabbitmqctl" \
  -t parser=log -t title=RabbitMQ
u=$(new_uuid)
"$SCA_BIN/sca-tracer" "$u" rabbit-noctl 2>/dev/null || true
assert_eq "$(exit_code "$u")" "1" "exit status without rabbitmqctl"
assert_contains "$(log_lines "$u" "RabbitMQ stderr")" "cannot run /nonexistent/rabbitmqctl: No such file or directory" \
  "reason in the task's log"
ok "missing rabbitmqctl: exit 1, reason in the task's log"

# 5. rabbitmqctl failing (no such node), no broker, bad usage.
expect_exit 1 "$W" --url "$url" --node "nosuch-$port@localhost"
assert_contains "$OUT" "trace_on -p / failed (exit 69)" "rabbitmqctl failure"
assert_eq "$(tracing)" "false" "tracing after a failed trace_on"
expect_exit 1 "$W" --url "amqp://guest:guest@127.0.0.1:1/" --no-trace-on
assert_contains "$OUT" "cannot connect to 127.0.0.1:1" "unreachable broker"
expect_exit 1 "$W" --url "amqp://guest:wrong@127.0.0.1:$port/"
assert_contains "$OUT" "403 ACCESS_REFUSED" "bad password"
expect_exit 1 "$W" --url "http://127.0.0.1:$port/"
assert_contains "$OUT" "amqp://, amqps:// or rabbit://" "bad scheme"
expect_exit 2 "$W" --bogus
expect_exit 2 "$W" extra
expect_exit 0 "$W" --help
assert_contains "$OUT" "--no-trace-on" "help"
ok "errors exit 1 with a reason, bad usage 2"

# 6. --no-trace-on (and oslo's rabbit:// URL) leaves the switch alone.
ctl trace_on -p / >/dev/null
"$W" --url "$oslo_url" --no-trace-on >"$T/manual.out" 2>"$T/manual.err" &
w=$!
_cleanup_pids+=("$w")
# Subscribed once its queue (server-named amq.gen-...) has a consumer.
wait_until 30 'ctl list_consumers queue_name | grep -q "^amq\.gen-"' ||
  fail "--no-trace-on: never subscribed: $(cat "$T/manual.err")"
timeout 60 "$PY" "$T/oslo_peer.py" "$oslo_url" client 5 >/dev/null 2>"$T/client.log"
wait_until 10 'grep -q "args={\"n\":6}" "$T/manual.out"' || fail "--no-trace-on: traffic not logged: $(cat "$T/manual.err")"
kill -TERM "$w"
wait "$w" || fail "--no-trace-on: exit status after SIGTERM"
assert_eq "$(tracing)" "true" "--no-trace-on left tracing on"
ctl trace_off -p / >/dev/null
ok "--no-trace-on: traffic logged, tracing left as it was"

kill -TERM "$server"
wait "$server" || fail "oslo server exit status"
