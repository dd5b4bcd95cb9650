#!/bin/bash
# requires: rabbitmq
# Two nodes on one broker: two agents with their own state and database,
# one topic.  --host reaches the named node only, each node keeps its own
# tasks and results, the shared topic reaches one of them, a task uuid
# finds the node that holds it, 'sca hosts' finds both and --all-hosts runs
# a command on each, and a node that goes away fails fast for --host while
# the other keeps answering.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
: "${SCA_RABBIT_URL:?}"
topic="sca_two_$$"

for n in a b; do start_node "$n" -t name=seq -t "tpl=seq 1 50" -t parser=count; done
# A tracer of node a's alone: -a solo fails on b.
node_manage a setup -t name=solo -t "tpl=seq 1 5" -t parser=count >/dev/null
ok "two agents serve topic $topic as a-$$ and b-$$"

# The client uses node a's configuration throughout: it reaches b by name.
export SCALPELS_CONF="$T/a/scalpels.conf"
expect_exit 0 "$S" --host "b-$$" start -a seq
ub=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$' | tail -n 1)
[ -n "$ub" ] || fail "start on b printed no task uuid: $OUT"
expect_exit 0 "$S" --host "a-$$" start -a seq
ua=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$' | tail -n 1)
[ -n "$ua" ] && [ "$ua" != "$ub" ] || fail "start on a printed no new task uuid: $OUT"
assert_eq "$(node_db b "SELECT count(*) FROM task WHERE uuid = '$ub'")" 1 "b's task is in b's store"
assert_eq "$(node_db a "SELECT count(*) FROM task WHERE uuid = '$ub'")" 0 "b's task is not in a's store"
assert_eq "$(node_db a "SELECT count(*) FROM task WHERE uuid = '$ua'")" 1 "a's task is in a's store"
ok "--host starts a task on the named node only"

wait_until 20 '[ "$(node_db b "SELECT status FROM task WHERE uuid = '"'"'$ub'"'"'")" = stopped ]' ||
  fail "b's task did not end with its tracer"
expect_exit 0 "$S" --host "b-$$" report "$ub"
assert_contains "$OUT" "reporting task: <$ub>" "report of b's task through --host b"
grep -qE '^<result [0-9a-f-]+>  seq +count +50 +1 +25.5 +50 +48  ' <<<"$OUT" || fail "b's samples: $OUT"
expect_exit 1 "$S" --host "a-$$" report "$ub"
assert_contains "$OUT" "$ub" "a does not know b's task, and says which"
ok "each node reports its own results"

# Discovery: both agents answer the fanout.
expect_exit 0 "$S" hosts --short
assert_eq "$OUT" "$(printf 'a-%s\nb-%s' $$ $$)" "hosts --short lists both nodes, sorted"
expect_exit 0 "$S" hosts
assert_contains "$OUT" "| b-$$ " "hosts table"
expect_exit 0 "$S" hosts --json
assert_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted(i["host"] for i in json.load(sys.stdin)))')" \
  "['a-$$', 'b-$$']" "hosts --json"
expect_exit 0 "$S" --transport-url "unix://$T/b/agent.sock" hosts --short
assert_eq "$OUT" "b-$$" "over the unix socket, the local agent"
ok "sca hosts finds both nodes"

# One task uuid for the nodes' parts of one run (test_cluster.sh has more).
expect_exit 0 "$S" --all-hosts start -a seq
lc=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$')
assert_eq "$(node_db a "SELECT count(*) FROM task WHERE uuid = '$lc'")" 1 "--all-hosts start: a's part"
assert_eq "$(node_db b "SELECT count(*) FROM task WHERE uuid = '$lc'")" 1 "--all-hosts start: b's part"
for n in a b; do
  wait_until 20 '[ "$(node_db $n "SELECT status FROM task WHERE uuid = '"'"'$lc'"'"'")" = stopped ]' ||
    fail "$n's part of the new task did not end with its tracer"
done
# A task only b has: b reports it; a, which does not hold it, is no failure.
expect_exit 0 "$S" --all-hosts report "$ub"
assert_contains "$OUT" "host b-$$: task <$ub> stopped: " "--all-hosts report: b reports its task"
assert_eq "$(grep -c "^<result .*  b-$$  " <<<"$OUT")" 1 "--all-hosts report: b's series, with its host"
assert_eq "$(grep -c "^<result .*  a-$$  " <<<"$OUT")" 0 "--all-hosts report: none of a's"
expect_exit 0 "$S" --all-hosts report
assert_contains "$OUT" "host a-$$: task <$lc> stopped: " "--all-hosts report: a's part of the latest task"
assert_contains "$OUT" "host b-$$: task <$lc> stopped: " "--all-hosts report: b's part of the latest task"
assert_eq "$(grep -A2 '^tracer seq$' <<<"$OUT" | sed -E 's/^<result [0-9a-f-]+> +//; s/  .*//')" \
  "tracer seq
a-$$
b-$$" "--all-hosts report: one summary, each node's seq together, with its host"
expect_exit 0 "$S" --all-hosts report --rows 4
assert_contains "$OUT" "== host a-$$ ==
reporting task: <$lc>" "--all-hosts report --rows: a's part under a's heading"
assert_contains "$OUT" "== host b-$$ ==
reporting task: <$lc>" "--all-hosts report --rows: b's part under b's heading"
ok "--all-hosts report: each node's latest task, in one summary or under headings"
la=$lc; lb=$lc

# JSON, CSV and HTML: one document for every node.
"$S" --all-hosts report --json >"$T/all.json" || fail "--all-hosts report --json failed"
assert_eq "$(python3 - "$T/all.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for host, reply in sorted(doc["hosts"].items()):
    print(host, reply["host"], reply["task"]["uuid"], [(s["count"], len(s["points"])) for s in reply["series"]])
PY
)" "a-$$ a-$$ $la [(50, 50)]
b-$$ b-$$ $lb [(50, 50)]" "--all-hosts report --json: one document keyed by host, each node's series"
"$S" --all-hosts report --csv >"$T/all.csv" || fail "--all-hosts report --csv failed"
assert_eq "$(head -n 1 "$T/all.csv")" "host,task,result,tracer,name,unit,rtype,ts,value" "CSV header with a host column"
assert_eq "$(tail -n +2 "$T/all.csv" | cut -d, -f1,2 | sort | uniq -c | awk '{print $1, $2}')" \
  "50 a-$$,$la
50 b-$$,$lb" "--all-hosts report --csv: every sample of each node, led by its host"
"$S" --all-hosts report --html >"$T/all.html" || fail "--all-hosts report --html failed"
page=$(cat "$T/all.html")
assert_contains "$page" "<figcaption>seq (count)</figcaption>
<ol class=\"lines\" hidden><li>a-$$</li><li>b-$$</li></ol>" "--all-hosts report --html: one chart, a line per node"
assert_contains "$page" "<li>a-$$: task <code>$la</code>, stopped, " "--all-hosts report --html: a's task"
assert_contains "$page" "<li>b-$$: task <code>$lb</code>, stopped, " "--all-hosts report --html: b's task"
assert_eq "$(grep -o "<tr data-result=\"[0-9a-f-]*\"><td>[ab]-$$</td>" "$T/all.html" | wc -l)" 2 \
  "--all-hosts report --html: the summary says each row's node"
python3 "$SCA_SRC/tests/integration/browser.py" "$T/all.html" >"$T/all.seen" || fail "Chromium could not open the page"
assert_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["charts"], d["drawn"], d["errors"])' "$T/all.seen")" \
  "1 1 []" "--all-hosts report --html in Chromium: the chart drawn, no error"
# OpenMetrics: both nodes' seq in one family, a's series then b's, each
# labelled with its host; promtool takes it as two series.
"$S" --all-hosts report --openmetrics >"$T/all.om" || fail "--all-hosts report --openmetrics failed"
assert_eq "$(grep -c '^# TYPE ' "$T/all.om")" 1 "--all-hosts report --openmetrics: one family"
assert_eq "$(grep -o '^scalpels_seq{task="[^"]*",result="[^"]*",tracer="seq",name="seq",host="[^"]*"' \
  "$T/all.om" | sed 's/.*task="\([^"]*\)".*host="\([^"]*\)"/\2 \1/' | uniq)" "a-$$ $la
b-$$ $lb" "--all-hosts report --openmetrics: each node's series, labelled with its host"
promtool tsdb create-blocks-from openmetrics "$T/all.om" "$T/tsdb" >"$T/promtool.out" ||
  fail "promtool refuses the --all-hosts file: $(cat "$T/promtool.out")"
assert_eq "$(awk 'NR > 1 { n += $(NF - 1) } END { print n }' "$T/promtool.out")" 2 "promtool: two series"
# A task only b has: b's part alone.
"$S" --all-hosts report --json "$ub" >"$T/one.json" || fail "--all-hosts report --json of b's task failed"
assert_eq "$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["hosts"]))' "$T/one.json")" \
  "['b-$$']" "--all-hosts report --json of b's task: b's part"
ok "--all-hosts report --json, --csv, --html and --openmetrics: one document for every node"

# -a: every result of the tracer on each node (a: ua and la, b: ub and lb),
# each node's part fetched at once over one connection; a node's part that
# went missing fails each of these.
expect_exit 0 "$S" --all-hosts report -a seq
assert_eq "$(grep -Eo "^<result [0-9a-f-]{36}> +[ab]-$$ " <<<"$OUT" | awk '{print $3}' | uniq -c | awk '{print $1, $2}')" \
  "2 a-$$
2 b-$$" "--all-hosts report -a: each node's two series, a's then b's"
"$S" --all-hosts report -a seq --html >"$T/a.html" || fail "--all-hosts report -a --html failed"
assert_eq "$(grep -o "<tr data-result=\"[0-9a-f-]*\"><td>[ab]-$$</td>" "$T/a.html" | sed 's/.*<td>//; s/<.*//' | uniq -c | awk '{print $1, $2}')" \
  "2 a-$$
2 b-$$" "--all-hosts report -a --html: each node's two series in the summary"
"$S" --all-hosts report -a seq --openmetrics >"$T/a.om" || fail "--all-hosts report -a --openmetrics failed"
assert_eq "$(grep -o '^scalpels_seq{task="[^"]*",result="[^"]*",tracer="seq",name="seq",host="[^"]*"' "$T/a.om" |
  sort -u | sed 's/.*host="\([^"]*\)"/\1/' | sort | uniq -c | awk '{print $1, $2}')" "2 a-$$
2 b-$$" "--all-hosts report -a --openmetrics: each node's two series, labelled with its host"
assert_eq "$(grep -c '^# EOF$' "$T/a.om")" 1 "--all-hosts report -a --openmetrics: one exposition"
ok "--all-hosts report -a: summary, --html and --openmetrics of every node's results"

# Any command whose output is JSON on every node: one document.
"$S" --all-hosts task -l --json >"$T/tasks.json" || fail "--all-hosts task -l --json failed"
assert_eq "$(python3 - "$T/tasks.json" <<'PY'
import json, sys
for h in json.load(open(sys.argv[1]))["hosts"]:
    print(h["host"], h["exit"], h["output"][0]["uuid"])
PY
)" "a-$$ 0 $la
b-$$ 0 $lb" "--all-hosts task -l --json: each node's tasks, newest first, in one document"
"$S" --all-hosts --json start -a seq >"$T/start.json" || fail "--all-hosts --json start failed"
started=$(python3 -c 'import json,sys; print(" ".join(h["host"] + "=" + h["output"]["uuid"] for h in json.load(open(sys.argv[1]))["hosts"]))' "$T/start.json")
for pair in $started; do
  node=${pair%%=*}; node=${node%-$$}
  assert_eq "$(node_db "$node" "SELECT count(*) FROM task WHERE uuid = '${pair#*=}'")" 1 \
    "--all-hosts --json start: the task $node's document names is in $node's store"
done
assert_eq "$(wc -w <<<"$started")" 2 "--all-hosts --json start: a task on each node"
assert_eq "$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(len({h["output"]["uuid"] for h in d["hosts"]} | {d["uuid"]}))' "$T/start.json")" \
  1 "--all-hosts --json start: one uuid for every node's part"
ok "--all-hosts: JSON output of every node as one document"

expect_exit 2 "$S" --all-hosts run -a seq -- true
assert_contains "$OUT" "run cannot take --all-hosts" "--all-hosts run is refused"
expect_exit 2 "$S" --host "a-$$" --all-hosts tracer -l
ok "--all-hosts runs a command on every node"

# The shared topic: one of the two answers, whichever the broker picks.
for _ in 1 2 3 4; do
  expect_exit 0 "$S" task -l
  [[ "$OUT" == *"$ua"* || "$OUT" == *"$ub"* ]] || fail "shared topic: neither node's tasks: $OUT"
done
ok "the shared topic reaches a node"

# run over the shared topic: start goes to either node, and stop and report
# must follow it there (the broker hands the calls to the two in turn).
for i in 1 2 3 4; do
  expect_exit 0 "$S" run -a seq -- sleep 0.3
  assert_contains "$OUT" "tracing with seq" "run $i started"
  grep -qE '^<result [0-9a-f-]+>  seq +count +50 ' <<<"$OUT" || fail "run $i did not report its task: $OUT"
  case $OUT in *"on host a-$$"*) ran_a=1 ;; *"on host b-$$"*) ran_b=1 ;; *) fail "run $i did not say its host: $OUT" ;; esac
done
[ -n "${ran_a:-}" ] && [ -n "${ran_b:-}" ] || fail "four runs all went to one node: the test shows nothing"
# A task asked for by uuid without --host: the node that holds it is found,
# every time (the shared topic would reach the other node half the time).
for i in $(seq 10); do
  expect_exit 0 "$S" report "$ua"
  assert_contains "$OUT" "reporting task: <$ua>" "report of a's task without --host, try $i"
  grep -Eq "^<result [0-9a-f-]{36}> .* 50 +1 +25\.5 +50 " <<<"$OUT" ||
    fail "report of a's task without --host: a's samples (count 50, min 1), try $i: $OUT"
done
ok "run keeps to the node that took its task; a task uuid finds the node that holds it"

# A node that fails (b has no tracer solo) is named, the other reported:
# exit 4, some nodes failed.
expect_exit 0 "$S" --host "a-$$" start -a solo
us=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$')
wait_until 20 '[ "$(node_db a "SELECT status FROM task WHERE uuid = '"'"'$us'"'"'")" = stopped ]' ||
  fail "a's solo task did not end with its tracer"
for fmt in "" --html --openmetrics; do
  expect_exit 4 "$S" --all-hosts report -a solo $fmt
  assert_contains "$OUT" "sca: host b-$$: unknown tracer 'solo' (known: " "--all-hosts report -a solo $fmt: b named"
  case $fmt in
    "") grep -Eq "^<result [0-9a-f-]{36}> +a-$$ +solo " <<<"$OUT" || fail "-a solo: no series of a: $OUT" ;;
    --html) assert_contains "$OUT" "<td>a-$$</td>" "--all-hosts report -a solo --html: a's series" ;;
    --openmetrics) assert_contains "$OUT" 'tracer="solo",name="solo",host="a-'$$'"' "-a solo --openmetrics: a's series" ;;
  esac
  [[ "$OUT" != *"<td>b-$$</td>"* && "$OUT" != *"host=\"b-$$\""* ]] || fail "-a solo $fmt: a part of b's: $OUT"
done
ok "--all-hosts report -a of a tracer one node lacks: that node named, the other's part, exit 4"

kill "${NODE_PID[b]}"
wait "${NODE_PID[b]}" 2>/dev/null || true
expect_exit 3 "$S" --host "b-$$" tracer -l
assert_contains "$OUT" "the agent of host b-$$ is not running: its queue on rabbit://" \
  "a stopped node: exit 3 at once, not at the 20 s timeout"
expect_exit 0 "$S" --host "a-$$" tracer -l
assert_contains "$OUT" "| seq " "the other node still answers"
start_s=$SECONDS
expect_exit 3 "$S" --host "nosuch-$$" tracer -l
assert_contains "$OUT" "no agent has listened as host nosuch-$$ on rabbit://" "a host name no agent has used"
[ $((SECONDS - start_s)) -lt 10 ] || fail "a host name no agent has used waited for the 20 s timeout"
# sca saw b answer before: b is named as stopped, a listed, exit 4.
expect_exit 4 "$S" --timeout 1 hosts --short
assert_eq "$(grep -v '^sca: ' <<<"$OUT")" "a-$$" "hosts: the node that is gone no longer answers"
assert_contains "$OUT" "sca: host b-$$: answered here before but does not listen on topic $topic now" \
  "hosts: the node that is gone is named"
ok "a node that is gone and an unknown one fail at once; the other keeps serving"
