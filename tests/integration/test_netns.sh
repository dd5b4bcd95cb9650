#!/bin/bash
# Three nodes on a real network: each agent in a network namespace of its
# own, reaching a broker in a fourth ("hub") over veth pairs and a bridge,
# with test-only addresses (198.18.0.0/15, the benchmarking range).  Nodes a
# and b also share a data link.  Traffic sent from a to b over it is seen by
# the netdev and traffic tracers on those interfaces, at the rate it was
# sent; then node c hangs (SIGSTOP) and dies (SIGKILL), and --all-hosts
# commands finish for a and b and name c.
#
# Needs root and network namespaces; exits 77 (skipped) when the kernel or
# the environment cannot give them.  Its broker is its own, in the hub
# namespace: nothing here is visible outside the namespaces it creates, and
# it never touches another run's.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"

skip() {
  echo "SKIP: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
for tool in ip nsenter unshare python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done

# Namespaces named after this run; everything running in them is ours.
ns_prefix="sca-t-$$"
hub="$ns_prefix-hub"
nodes=(a b c)
made_ns=()
netns_cleanup() {
  local rc=$? ns pids
  # Every background job of this script runs in one of them: wait for
  # them all, with bash's notices of their deaths silenced.
  {
    for ns in "${made_ns[@]}"; do
      pids=$(ip netns pids "$ns" || true)
      [ -z "$pids" ] || kill -9 $pids || true
    done
    wait
  } 2>/dev/null
  for ns in "${made_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  # A skip leaves nothing to look at: lib.sh's cleanup removes $T as on success.
  [ "$rc" -ne 77 ] || rc=0
  (exit "$rc")
  cleanup
}
trap netns_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ipn NS ARGS...: ip ARGS in namespace NS.  Not 'ip -n': it remounts /sys
# the way 'ip netns exec' does (see in_ns).
ipn() {
  local ns=$1; shift
  nsenter --net="/run/netns/$ns" ip "$@"
}
add_ns() {
  ip netns add "$1" 2>"$T/netns.err" || skip "cannot create a network namespace: $(cat "$T/netns.err")"
  made_ns+=("$1")
  ipn "$1" link set lo up
}

# in_ns NS CMD...: runs CMD in namespace NS, with a sysfs of its own so
# that /sys/class/net shows NS's interfaces.  Not 'ip netns exec': it makes
# / a slave mount, which fails where / is no mount point (a chroot, as in
# CI).  in_ns_exec replaces the shell it runs in: in the background ('&'),
# $! is then CMD's pid, as every step execs the next.
in_ns_exec() {
  local ns=$1; shift
  exec nsenter --net="/run/netns/$ns" unshare --mount --propagation unchanged \
    sh -c 'mount --make-rprivate /sys && mount -t sysfs sysfs /sys && exec "$@"' in_ns "$@"
}
in_ns() { (in_ns_exec "$@"); }

add_ns "$hub"
ipn "$hub" link add br0 type bridge 2>"$T/netns.err" || skip "no bridge devices: $(cat "$T/netns.err")"
ipn "$hub" addr add 198.18.0.1/24 dev br0
ipn "$hub" link set br0 up
i=10
for n in "${nodes[@]}"; do
  i=$((i + 1))
  add_ns "$ns_prefix-$n"
  ip link add ctl0 netns "$ns_prefix-$n" type veth peer name "v$n" netns "$hub" 2>"$T/netns.err" ||
    skip "no veth devices: $(cat "$T/netns.err")"
  ipn "$hub" link set "v$n" master br0 up
  ipn "$ns_prefix-$n" addr add "198.18.0.$i/24" dev ctl0
  ipn "$ns_prefix-$n" link set ctl0 up
done
# The data link: a's data0 to b's; c's data0 leads to a peer of its own,
# idle, so that every node has the device the tracers watch.
ip link add data0 netns "$ns_prefix-a" type veth peer name data0 netns "$ns_prefix-b"
ipn "$ns_prefix-a" addr add 198.19.0.1/30 dev data0
ipn "$ns_prefix-b" addr add 198.19.0.2/30 dev data0
ip link add data0 netns "$ns_prefix-c" type veth peer name idle0 netns "$ns_prefix-c"
for n in "${nodes[@]}"; do ipn "$ns_prefix-$n" link set data0 up; done
ipn "$ns_prefix-c" link set idle0 up
in_ns "$ns_prefix-a" python3 - <<'PY' || fail "a cannot reach the hub or b: $(ipn "$ns_prefix-a" addr)"
import socket
for addr in ("198.18.0.1", "198.19.0.2"):
    s = socket.socket()
    s.settimeout(10)
    try:
        s.connect((addr, 9))  # nothing listens: a refusal proves the path
    except ConnectionRefusedError:
        pass
PY
ok "namespaces $ns_prefix-{hub,a,b,c}: a bridge, veth pairs, a data link from a to b"

# The broker, in the hub, on the bridge's address.
in_ns "$hub" env SCA_RABBIT_ADDR=198.18.0.1 bash "$SCA_SRC/scripts/rabbitmq.sh" start "$T/rabbit" 5672 \
  >"$T/rabbit.log" 2>&1 || fail "the hub's broker did not start: $(tail -20 "$T/rabbit.log")"
url="rabbit://guest:guest@198.18.0.1:5672/"
topic="sca_netns_$$"

declare -A AGENT
for n in "${nodes[@]}"; do
  mkdir -p "$T/$n"
  cat >"$T/$n/scalpels.conf" <<CONF
[DEFAULT]
state_dir = $T/$n
transport_url = $url
log_level = info

[agent]
host = $n-$$
stop_grace = 2

[rpc]
topic = $topic
timeout = 20
CONF
  SCALPELS_CONF="$T/$n/scalpels.conf" "$M" db-create >/dev/null
  SCALPELS_CONF="$T/$n/scalpels.conf" "$M" setup -d netdev_devs=data0 -d dev=data0 -d interval=1 >/dev/null
  SCALPELS_CONF="$T/$n/scalpels.conf" in_ns_exec "$ns_prefix-$n" "$SCA_BIN/sca-agent" --foreground 2>>"$T/$n/agent.log" &
  AGENT[$n]=$!
  _cleanup_pids+=("$!")
done
# The signals below go to the agents themselves.
for n in "${nodes[@]}"; do
  pid=${AGENT[$n]}
  wait_until 30 '[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sca-agent ]' ||
    fail "pid $pid started for node $n is not sca-agent: $(cat "/proc/$pid/comm" 2>&1)"
done
# The client runs in the hub, with a's configuration (the same broker and
# topic), and keeps the names of the agents it has seen here.
export SCALPELS_CONF="$T/a/scalpels.conf" XDG_CACHE_HOME="$T/cache"
sca() { in_ns "$hub" "$S" "$@"; }
for n in "${nodes[@]}"; do
  node=$n # wait_until evaluates its condition with positional parameters of its own
  wait_until 60 'sca --host "$node-$$" --timeout 2 tracer -l >/dev/null 2>&1' ||
    fail "node $node did not answer over the hub's broker: $(tail -5 "$T/$node/agent.log")"
done
expect_exit 0 sca hosts --short
assert_eq "$OUT" "$(printf 'a-%s\nb-%s\nc-%s' $$ $$ $$)" "hosts: the three nodes, each in its namespace"
ok "three agents in three namespaces answer through the hub's broker"

# --- traffic from a to b, seen by the tracers on data0 ----------------------
node_db() { sqlite3 -batch -noheader -cmd ".timeout 10000" "$T/$1/scalpels.db" "$2"; }
sca --all-hosts --json start -a netdev,traffic >"$T/start.json" ||
  fail "--all-hosts start -a netdev,traffic failed: $(cat "$T/start.json")"
declare -A TASK
while read -r host uuid; do
  TASK[${host%-$$}]=$uuid
done < <(python3 -c '
import json, sys
for h in json.load(open(sys.argv[1]))["hosts"]:
    print(h["host"], h["output"]["uuid"] if h["exit"] == 0 else "")' "$T/start.json")
for n in "${nodes[@]}"; do
  [ -n "${TASK[$n]:-}" ] || fail "no task started on $n: $(cat "$T/start.json")"
done

# samples NODE TRACER KEY: how many samples NODE holds of that result.
samples() {
  node_db "$1" "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id
                JOIN task t ON t.id = r.task_id
                WHERE t.uuid = '${TASK[$1]}' AND r.tracer = '$2' AND r.name = '$3'"
}
# Two samples of each: the samplers have their first counters, so all of
# the traffic below falls into rates they report.
wait_until 60 '[ "$(samples b netdev data0.rx_kbps)" -ge 2 ] && [ "$(samples a netdev data0.tx_kbps)" -ge 2 ]' ||
  fail "netdev sampled nothing on data0: $(node_db b "SELECT tracer, name FROM result")"
wait_until 60 '[ "$(node_db b "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id
                                 WHERE r.tracer = '"'traffic'"'")" -ge 2 ]' ||
  fail "the traffic tracer sampled nothing on b: $(tail -5 "$T/b/agent.log")"

# 24 MiB, paced over about 3 s so that the rate spans several samples.
sent=$((24 * 1024 * 1024))
in_ns "$ns_prefix-b" python3 - "$T/received" <<'PY' &
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("198.19.0.2", 5001))
srv.listen(1)
open(sys.argv[1] + ".ready", "w").close()
conn, _ = srv.accept()
total = 0
while True:
    data = conn.recv(1 << 16)
    if not data:
        break
    total += len(data)
open(sys.argv[1], "w").write(str(total))
PY
receiver=$!
_cleanup_pids+=("$receiver")
wait_until 30 '[ -e "$T/received.ready" ]' || fail "the receiver in b did not listen"
in_ns "$ns_prefix-a" python3 - "$sent" <<'PY' || fail "sending from a to b failed"
import socket, sys, time
total = int(sys.argv[1])
chunk = b"x" * (1 << 20)
s = socket.create_connection(("198.19.0.2", 5001), timeout=30)
for i in range(total // len(chunk)):
    s.sendall(chunk)
    time.sleep(0.125)
s.close()
PY
wait "$receiver" || fail "the receiver in b failed"
assert_eq "$(cat "$T/received")" "$sent" "bytes b received"
# Three more samples: the last of the traffic is in a reported rate.
after_b=$(samples b netdev data0.rx_kbps)
after_a=$(samples a netdev data0.tx_kbps)
wait_until 60 '[ "$(samples b netdev data0.rx_kbps)" -ge $((after_b + 3)) ] &&
               [ "$(samples a netdev data0.tx_kbps)" -ge $((after_a + 3)) ]' ||
  fail "netdev stopped sampling after the traffic"
expect_exit 0 sca --all-hosts stop
for n in "${nodes[@]}"; do
  node=$n
  wait_until 30 '[ "$(node_db "$node" "SELECT status FROM task WHERE uuid = '"'"'${TASK[$node]}'"'"'")" = stopped ]' ||
    fail "$node's task did not stop"
done

# The reports: the bytes each rate stands for, summed over the run, are
# what was sent.  A rate covers the time since the sample before it, so
# each counts for that span (the first for one interval).  Frames carry
# headers too, and the tracers' intervals do not line up with the sending:
# within 20%.
for n in "${nodes[@]}"; do
  sca --host "$n-$$" report --json "${TASK[$n]}" >"$T/$n.report.json" ||
    fail "report of $n's task failed: $(cat "$T/$n.report.json")"
done
volume() { # NODE TRACER NAME|UNIT SCALE: bytes a result's rates stand for
  python3 - "$T/$1.report.json" "$2" "$3" "$4" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
tracer, name, scale = sys.argv[2], sys.argv[3], float(sys.argv[4])
found = [r for r in doc["results"] if r["tracer"] == tracer and name in (r["name"], r["unit"])]
if len(found) != 1:
    sys.exit("%s/%s: %d results in %s" % (tracer, name, len(found),
             [(r["tracer"], r["name"]) for r in doc["results"]]))
data = sorted(found[0]["data"])
total, prev = 0.0, None
for ts, value in data:
    total += value * scale * (ts - prev if prev is not None else 1.0)
    prev = ts
print(int(total))
PY
}
# within WHAT MEASURED: MEASURED within 20% of what was sent.
within() {
  [ $(($2 * 100)) -ge $((sent * 80)) ] && [ $(($2 * 100)) -le $((sent * 120)) ] ||
    fail "$1: $2 bytes, expected $sent within 20%"
}
b_rx=$(volume b netdev data0.rx_kbps 1024) || fail "b's netdev report: $b_rx"
within "b's data0.rx_kbps (netdev) over the run" "$b_rx"
a_tx=$(volume a netdev data0.tx_kbps 1024) || fail "a's netdev report: $a_tx"
within "a's data0.tx_kbps (netdev) over the run" "$a_tx"
b_in=$(volume b traffic byte/s 1) || fail "b's traffic report: $b_in"
within "b's byte/s (traffic) over the run" "$b_in"
# The other directions carried acknowledgements only, and c nothing.
a_rx=$(volume a netdev data0.rx_kbps 1024) || fail "a's netdev report: $a_rx"
[ "$a_rx" -lt $((sent / 10)) ] || fail "a's data0.rx_kbps stands for $a_rx bytes: a sent, it did not receive"
c_rx=$(volume c netdev data0.rx_kbps 1024) || fail "c's netdev report: $c_rx"
[ "$c_rx" -lt $((sent / 100)) ] || fail "c's data0 saw $c_rx bytes: nothing was sent there"
ok "a->b: $sent bytes sent; b's netdev rx $b_rx, traffic $b_in, a's netdev tx $a_tx (a rx $a_rx, c rx $c_rx)"

# --- a hung node and a dead node -------------------------------------------
# The contract (docs/cli.md, exit statuses): an --all-hosts command where a
# node does not answer finishes for the others within --timeout, names the
# missing node and exits 4.  A client that predates that status is checked
# for what it does: the others' output is complete.
partial_status=4
grep -q "4 some nodes failed" <<<"$("$S" --help 2>&1)" || partial_status=''

# all_hosts_without_c WHAT: 'sca --all-hosts --json tracer -l' with c hung
# or dead: a's and b's parts complete.
all_hosts_without_c() {
  set +e
  timeout 300 nsenter --net="/run/netns/$hub" "$S" --all-hosts --timeout 5 --json tracer -l \
    >"$T/partial.out" 2>"$T/partial.err"
  local rc=$?
  set -e
  [ "$rc" -ne 124 ] || fail "$1: --all-hosts tracer -l did not finish in 300 s"
  local answered
  answered=$(python3 -c '
import json, sys
for h in json.load(open(sys.argv[1]))["hosts"]:
    if h["exit"] == 0 and "netdev" in json.dumps(h["output"]):
        print(h["host"])' "$T/partial.out") || fail "$1: no JSON document: $(cat "$T/partial.out" "$T/partial.err")"
  assert_eq "$answered" "$(printf 'a-%s\nb-%s' $$ $$)" "$1: the nodes that answered, each with its tracers"
  if [ -n "$partial_status" ]; then
    assert_eq "$rc" "$partial_status" "$1: exit status 'some nodes failed' ($(cat "$T/partial.err"))"
    assert_contains "$(cat "$T/partial.out" "$T/partial.err")" "c-$$" "$1: the missing node is named"
  else
    echo "note: $1: exit $rc; this sca has no 'some nodes failed' status: exit 4 and naming c not checked"
  fi
}

kill -STOP "${AGENT[c]}"
all_hosts_without_c "c hung (SIGSTOP)"
kill -CONT "${AGENT[c]}"
ok "a hung node does not hold back the others${partial_status:+, is named, exit 4}"
wait_until 60 'sca --host "c-$$" --timeout 5 task -l >/dev/null 2>&1' ||
  fail "after SIGCONT c does not answer again"
expect_exit 0 sca --host "c-$$" task -l
assert_contains "$OUT" "${TASK[c]}" "c's tasks again after SIGCONT"

{ kill -9 "${AGENT[c]}" && wait "${AGENT[c]}"; } 2>/dev/null || true
all_hosts_without_c "c dead (SIGKILL)"
ok "a dead node does not hold back the others${partial_status:+, is named, exit 4}"
expect_exit 0 sca --host "b-$$" task -l
assert_contains "$OUT" "${TASK[b]}" "b keeps serving with c dead"
