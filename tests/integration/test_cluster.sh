#!/bin/bash
# requires: rabbitmq
# One cluster, one command, one id: four agents on one broker, each with
# its own host name, state and database.  Discovery ends when every agent
# listening has answered; --all-hosts start gives every node's part one
# task uuid, which stop, report and task -l act on, with or without
# --all-hosts; a stock oslo.messaging client starts tracers with and
# without a uuid of its choosing; a node that hangs (SIGSTOP) or has
# stopped is named while the others finish, and the exit status is 4.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
: "${SCA_RABBIT_URL:?}"
topic="sca_cluster_$$"
nodes="a b c d"

all_hosts() { printf '%s-'$$'\n' $nodes; }
# elapsed START: seconds since START (date +%s.%N).
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

for n in $nodes; do start_node "$n" -t name=seq -t "tpl=seq 1 50" -t parser=count; done
export SCALPELS_CONF="$T/a/scalpels.conf"
ok "four agents serve topic $topic"

# --- Discovery ends once every agent listening has answered -----------------
# Not a timing assertion: a gather that waited for its window would take the
# whole --timeout of 20 s; under 10 s fails only if it did.
t0=$(date +%s.%N)
expect_exit 0 "$S" --timeout 20 hosts --short
took=$(elapsed "$t0")
assert_eq "$OUT" "$(all_hosts)" "hosts: all four, sorted"
awk -v t="$took" 'BEGIN { exit !(t < 10) }' || fail "hosts waited for its --timeout (${took} s): it did not end when all four answered"
ok "hosts ends when the four agents listening have answered (${took} s of a 20 s --timeout)"

# --- One task for the whole cluster ----------------------------------------
expect_exit 0 "$S" --all-hosts start -a cpu
u=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$')
assert_eq "$(printf '%s\n' "$OUT" | grep -cE '^[0-9a-f-]{36}$')" 1 "--all-hosts start prints one uuid"
assert_contains "$OUT" "sca: task $u started on 4 of 4 hosts" "--all-hosts start says where it started"
for n in $nodes; do
  "$SCA_TEST_BIN/rpc_test_client" --topic "$topic" --server "$n-$$" "$SCA_RABBIT_URL" call get_task \
    "{\"uuid\": \"$u\"}" >"$T/get_task.$n" || fail "get_task of $u on $n: $(cat "$T/get_task.$n")"
  assert_eq "$(python3 -c 'import json,sys; t = json.load(open(sys.argv[1])); print(t["uuid"], t["status"], [x["name"] for x in t["tracers"]])' "$T/get_task.$n")" \
    "$u running ['cpu']" "$n records its part under the one uuid"
done
ok "--all-hosts start: one uuid, each node's part under it"

expect_exit 0 "$S" --all-hosts task -l
assert_eq "$(printf '%s\n' "$OUT" | grep -c "$u")" 1 "--all-hosts task -l shows the task once"
assert_contains "$OUT" "| $(all_hosts | paste -sd, | sed 's/,/, /g') |" "--all-hosts task -l: with its nodes"
# The task as --all-hosts task -l --json shows it: how often, its status,
# whether it has results on every node (the cpu sampler's first line comes
# an interval after the start), and its nodes.
cluster_task() {
  "$S" --all-hosts task -l --json >"$T/tasks.json" || fail "--all-hosts task -l --json failed"
  python3 - "$T/tasks.json" "$u" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
mine = [t for t in doc["tasks"] if t["uuid"] == sys.argv[2]]
print(len(mine), mine[0]["status"], mine[0]["results"] >= 4, " ".join(mine[0]["hosts"]))
PY
}
want="1 running True $(all_hosts | paste -sd' ')"
wait_until 10 '[ "$(cluster_task)" = "$want" ]' || true
assert_eq "$(cluster_task)" "$want" "--all-hosts task -l --json: one task with its four nodes"
ok "--all-hosts task -l: the cluster's task once, with its nodes"

# A uuid without --host: the nodes that hold it, each stopping its part.
expect_exit 0 "$S" stop "$u"
for n in $nodes; do
  assert_contains "$OUT" "$n-$$: stopping task $u: signalled 1 tracer process" "stop $u without --host: $n's part"
done
for n in $nodes; do
  wait_until 30 '[ "$(node_db $n "SELECT status FROM task WHERE uuid = '"'"'$u'"'"'")" = stopped ]' ||
    fail "$n's part of $u did not stop"
done
ok "stop UUID without --host stops every node's part"

# The report of a uuid without --host: every holder, every time (over the
# shared topic alone it would reach a node without the task now and then).
for i in $(seq 10); do
  expect_exit 0 "$S" report "$u"
  for n in $nodes; do
    assert_contains "$OUT" "host $n-$$: task <$u> " "report $u without --host, try $i: $n's part"
    grep -Eq "^<result [0-9a-f-]{36}> +$n-$$ " <<<"$OUT" ||
      fail "report $u without --host, try $i: no series of $n: $OUT"
  done
  [[ "$OUT" != *NotFound* ]] || fail "report $u without --host, try $i: $OUT"
done
ok "report UUID without --host: every node's part, 10 times out of 10"

"$S" --all-hosts report --json "$u" >"$T/report.json" || fail "--all-hosts report --json failed"
assert_eq "$(python3 - "$T/report.json" "$u" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for host, reply in sorted(doc["hosts"].items()):
    series = reply["series"]
    print(host, reply["task"]["uuid"] == sys.argv[2], len(series) > 0,
          all(s["tracer"] == "cpu" and len(s["points"]) <= 300 for s in series))
PY
)" "$(all_hosts | sed 's/$/ True True True/')" "--all-hosts report --json: one document keyed by host"
"$S" report --html "$u" >"$T/report.html" || fail "report --html of $u failed"
for n in $nodes; do
  assert_contains "$(cat "$T/report.html")" "<li>$n-$$: task <code>$u</code>" "report --html of $u: $n's part"
done
ok "the cluster's report: JSON keyed by host, HTML with every node"

# compare of two cluster runs without --host: every node compares its own
# parts of them.
expect_exit 0 "$S" --all-hosts start -a cpu
u2=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$')
sleep 2
expect_exit 0 "$S" stop "$u2"
expect_exit 0 "$S" compare "$u" "$u2"
for n in $nodes; do
  assert_contains "$OUT" "== host $n-$$ ==" "compare of two cluster runs: $n's comparison"
done
assert_eq "$(printf '%s\n' "$OUT" | grep -c "^A: task $u on ")" 4 "compare: A on each of the four"
"$S" compare --json "$u" "$u2" >"$T/compare.json" || fail "compare --json of two cluster runs failed"
assert_eq "$(python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["hosts"])))' "$T/compare.json")" \
  "$(all_hosts | paste -sd' ')" "compare --json: one comparison per node, keyed by host"
expect_exit 2 "$S" compare --html "$u" "$u2"
assert_contains "$OUT" "the tasks are on 4 nodes: give --host NODE" "compare --html of four nodes"
ok "compare of two cluster runs without --host: each node its own parts"

# A task one node holds: that node reports it, as --host would.
expect_exit 0 "$S" --host "b-$$" start -a seq
ub=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$')
wait_until 20 '[ "$(node_db b "SELECT status FROM task WHERE uuid = '"'"'$ub'"'"'")" = stopped ]' ||
  fail "b's task did not end with its tracer"
expect_exit 0 "$S" report "$ub"
assert_contains "$OUT" "reporting task: <$ub>" "report of b's task without --host"
grep -Eq "^<result [0-9a-f-]{36}> .* 50 +1 +25\.5 +50 " <<<"$OUT" ||
  fail "report of b's task without --host: b's samples (count 50, min 1, avg 25.5, max 50): $OUT"
expect_exit 1 "$S" report ffffffff
assert_contains "$OUT" "sca: NotFound: no agent has a task matching 'ffffffff' (4 asked)" "a uuid no node has"
ok "a uuid one node holds: that node's report; none: NotFound, exit 1"

# --- Old and stock callers ----------------------------------------------------
cat >"$T/oslo_client.py" <<'PYCODE'
import sys, time, uuid
import oslo_messaging as messaging
from oslo_config import cfg
url, topic, host = sys.argv[1:4]
cfg.CONF([], project="sca-test")
transport = messaging.get_rpc_transport(cfg.CONF, url=url)
client = messaging.get_rpc_client(transport,
                                  messaging.Target(topic=topic, server=host, version="1.0"),
                                  timeout=20)
ctx = {}
def idle():
    for _ in range(200):
        if not any(t["running"] for t in client.call(ctx, "tracer_list")):
            return
        time.sleep(0.1)
    raise SystemExit("tracers still running")
# As before: no uuid, a fresh one.
fresh = client.call(ctx, "start_tracers", tracers=["seq"])
assert fresh["started"] == ["seq"] and fresh["host"] == host, fresh
assert str(uuid.UUID(fresh["uuid"])) == fresh["uuid"], fresh
idle()
# The caller's uuid.
chosen = str(uuid.uuid4())
mine = client.call(ctx, "start_tracers", tracers=["seq"], uuid=chosen)
assert mine["uuid"] == chosen and mine["started"] == ["seq"], mine
assert client.call(ctx, "get_task", uuid=chosen)["uuid"] == chosen
idle()
for bad, why in ((chosen, "already exists on host " + host), (chosen.upper(), "canonical form")):
    try:
        client.call(ctx, "start_tracers", tracers=["seq"], uuid=bad)
        raise SystemExit("start_tracers with uuid %s was accepted" % bad)
    except ValueError as e:  # oslo raises a builtins class the agent names as such
        assert why in str(e), e
print(fresh["uuid"], chosen)
transport.cleanup()
PYCODE
expect_exit 0 timeout 120 "${PYTHON:-/usr/bin/python3}" "$T/oslo_client.py" "$SCA_RABBIT_URL" "$topic" "c-$$"
read -r fresh chosen <<<"$(printf '%s\n' "$OUT" | tail -n 1)"
assert_eq "$(node_db c "SELECT count(*) FROM task WHERE uuid IN ('$fresh', '$chosen')")" 2 \
  "the oslo client's tasks, with and without its uuid, are in c's store"
ok "stock oslo_messaging.RPCClient: start_tracers without a uuid as before, with one of its choosing"

expect_exit 0 "$S" --transport-url "unix://$T/a/agent.sock" --all-hosts task -l
assert_contains "$OUT" "$u" "--all-hosts over the unix socket: the local agent's tasks"
assert_contains "$OUT" "| a-$$ " "--all-hosts over the unix socket: the local agent"
ok "--all-hosts over the unix socket reaches the local agent"

# --- Partial failure ----------------------------------------------------------
kill -STOP "${NODE_PID[c]}"
t0=$(date +%s.%N)
expect_exit 4 "$S" --timeout 5 --all-hosts task -l
took=$(elapsed "$t0")
assert_contains "$OUT" "sca: host c-$$: listens on topic $topic but did not answer within 5s" \
  "a hung node is named"
assert_contains "$OUT" "| a-$$, b-$$, d-$$ |" "the others' part of the task is listed"
ok "a hung node (SIGSTOP) is named, the others answer, exit 4 (${took} s with --timeout 5)"
expect_exit 4 "$S" --timeout 5 --all-hosts report "$u"
for n in a b d; do
  grep -Eq "^<result [0-9a-f-]{36}> +$n-$$ " <<<"$OUT" || fail "report with c hung: no series of $n: $OUT"
done
assert_contains "$OUT" "sca: host c-$$: listens on topic" "report with c hung: c named"
expect_exit 4 "$S" --timeout 5 hosts --short
assert_contains "$OUT" "$(printf 'a-%s\nb-%s\nd-%s' $$ $$ $$)" "hosts with c hung: the others"
ok "report and hosts with a node hung: the others complete, the hung one named, exit 4"
# -a: every node's results of the tracer, fetched at once; each answering
# node's part, the hung one named.
expect_exit 4 "$S" --timeout 5 --all-hosts report -a cpu
for n in a b d; do
  grep -Eq "^<result [0-9a-f-]{36}> +$n-$$ " <<<"$OUT" || fail "report -a with c hung: no series of $n: $OUT"
done
assert_contains "$OUT" "sca: host c-$$: listens on topic" "report -a with c hung: c named"
expect_exit 4 "$S" --timeout 5 --all-hosts report -a cpu --openmetrics
assert_eq "$(grep -o '^scalpels_cpu[a-z_]*{[^}]*host="[a-d]-'$$'"' <<<"$OUT" | sed 's/.*host="\([a-d]\)-.*/\1/' | sort -u | paste -sd' ')" \
  "a b d" "report -a --openmetrics with c hung: a's, b's and d's series"
assert_contains "$OUT" "sca: host c-$$: listens on topic" "report -a --openmetrics with c hung: c named"
ok "report -a with a node hung: the others' parts, the hung one named, exit 4"
kill -CONT "${NODE_PID[c]}"

kill "${NODE_PID[d]}"
wait "${NODE_PID[d]}" 2>/dev/null || true
expect_exit 4 "$S" --all-hosts stop
assert_contains "$OUT" "sca: host d-$$: answered here before but does not listen on topic $topic now" \
  "a node whose agent stopped is named"
assert_contains "$OUT" "a-$$: task $u2 has already stopped" "stop of the latest task with d gone: a's"
ok "a node whose agent has stopped is named, exit 4"
