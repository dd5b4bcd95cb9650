#!/usr/bin/env bash
# Cluster benchmark (not a test): N agents on one machine and one private
# RabbitMQ, each agent with its own host name, state directory and
# database, as a cluster of N nodes looks to sca.  For each N it times
#   hosts           sca hosts --short (discovery)
#   start           sca --all-hosts start -a cpu
#   stop            sca --all-hosts stop
#   report          sca --all-hosts report UUID (the summary)
#   report --json   sca --all-hosts report --json UUID
# and reads every agent's VmRSS and VmHWM (peak) from /proc afterwards.
# The load average before and after each N is printed: on a machine that
# others share, it says how much of the time was theirs.
# Each command runs REPEAT times (start and stop in pairs, SAMPLE_S seconds
# of sampling in between) and the median is reported, with its ratio to
# the target (<= 1 meets it).
#
# REF_BIN=DIR (optional): a reference build's bin directory (e.g. main's
# sca before concurrent fanout); its sca runs the same commands in turns
# with ours, round by round, for N up to REF_MAX_N (a reference that calls
# node after node takes minutes beyond), and the ratio ours/ref is
# printed too.
#
# "spawn floor" is what starting N nodes' processes costs this machine by
# itself: bench_spawn_floor (bench/spawn_floor.c) starts N `sca-tracer
# --help` and N `sca-sampler --help` at once and waits for them: the N
# tracers and N workers a run of N nodes starts (each agent loads its
# tracer ahead, a second after the previous start is answered, so a start
# itself execs only the workers); the same REPEAT times, median.
#
# "1 node start" is the floor of --all-hosts start: sca --host node001
# start -a cpu, then stop, the same REPEAT times.  The agent answers
# start_tracers once each worker is seen to run (the cpu sampler says so on
# SCA_READY_FD once its first reading is taken; other workers, their first
# line or 0.25 s alive).
#
# The agents of one N stay up for the next (more are started): run it in a
# network namespace of its own (unshare -n, loopback up) when other
# brokers run on the machine.
#
#   bench/cluster.sh [BUILD_DIR]
#   env: NS="10 50 100 200" REPEAT=3 SAMPLE_S=2 PORT=5679 REF_BIN= REF_MAX_N=50
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
ns=${NS:-10 50 100 200}
repeat=${REPEAT:-3}
sample_s=${SAMPLE_S:-2}
port=${PORT:-5679}
ref_bin=${REF_BIN:-}
ref_max_n=${REF_MAX_N:-50}
bin="$build/bin"
floor="$build/bench/bench_spawn_floor"
for p in "$bin/sca" "$bin/sca-agent" "$bin/sca-manage" "$floor"; do
  [ -x "$p" ] || { echo "cluster.sh: $p not built (cmake --build $build)" >&2; exit 1; }
done
[ -z "$ref_bin" ] || [ -x "$ref_bin/sca" ] || { echo "cluster.sh: no $ref_bin/sca" >&2; exit 1; }
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
  { echo "cluster.sh: needs rabbitmq-server: bash scripts/deps.sh --test" >&2; exit 1; }

work=$(mktemp -d /tmp/sca-bench-cluster.XXXXXX)
rabbit_dir="$work/rabbitmq"
url="rabbit://guest:guest@127.0.0.1:$port/"
topic="bench_cluster"
agents=()
# sca keeps the names of the agents it saw answer there.
export XDG_CACHE_HOME="$work/cache"

cleanup() {
  for p in "${agents[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${agents[@]}"; do wait "$p" 2>/dev/null || true; done
  bash "$src/scripts/rabbitmq.sh" stop "$rabbit_dir" "$port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bash "$src/scripts/rabbitmq.sh" start "$rabbit_dir" "$port" >/dev/null

# One database made once, copied for every node.
mkdir -m 700 "$work/template"
cat >"$work/template/scalpels.conf" <<CONF
[DEFAULT]
state_dir = $work/template
CONF
SCALPELS_CONF="$work/template/scalpels.conf" "$bin/sca-manage" db-create >/dev/null

node_name() { printf 'node%03d' "$1"; }

start_agent() {
  local i=$1 name dir
  name=$(node_name "$i")
  dir="$work/$name"
  mkdir -m 700 "$dir"
  cp -p "$work/template/scalpels.db" "$dir/scalpels.db"
  cat >"$dir/scalpels.conf" <<CONF
[DEFAULT]
state_dir = $dir
transport_url = $url
log_level = warning

[agent]
host = $name
stop_grace = 2

[rpc]
topic = $topic
CONF
  SCALPELS_CONF="$dir/scalpels.conf" "$bin/sca-agent" --foreground 2>>"$dir/agent.log" &
  agents+=("$!")
}

export SCALPELS_CONF="$work/client.conf"
cat >"$SCALPELS_CONF" <<CONF
[DEFAULT]
state_dir = $work
transport_url = $url

[rpc]
topic = $topic
CONF

# Waits until n agents answer sca hosts.
wait_agents() {
  local n=$1 got=0
  for _ in $(seq 120); do
    got=$("$bin/sca" --timeout 10 hosts --short 2>/dev/null | wc -l || true)
    [ "$got" -ge "$n" ] && return 0
    sleep 1
  done
  echo "cluster.sh: only $got of $n agents answer (see $work/node*/agent.log)" >&2
  exit 1
}

# ms CMD...: runs CMD (its output to $work/out), prints its wall time in ms.
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$work/out" 2>"$work/err" || true
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed NAME CMD...: CMD's ms appended to array NAME.
timed() {
  local -n times=$1
  shift
  times+=("$(ms "$@")")
}

# One round of the five commands with sca binary dir $1; appends each time
# to the arrays named by the operation and $2 (a suffix: "" or "_ref").
round() {
  local b=$1 suf=$2 u
  timed "hosts$suf" "$b/sca" hosts --short
  [ "$(wc -l <"$work/out")" -eq "$n" ] || echo "cluster.sh: $b/sca hosts listed $(wc -l <"$work/out") of $n" >&2
  timed "start$suf" "$b/sca" --all-hosts start -a cpu
  u=$(grep -Eo '^[0-9a-f-]{36}$' "$work/out" | head -n 1 || true)
  sleep "$sample_s"
  timed "stop$suf" "$b/sca" --all-hosts stop
  # The new sca reports one uuid across nodes; the reference, each node's
  # latest task.
  if [ -n "$u" ] && [ "$suf" = "" ]; then
    timed "report$suf" "$b/sca" --all-hosts report "$u"
    lines=$(awk '$1 == "<result" { print $3 }' "$work/out" | sort -u | wc -l)
    [ "$lines" -eq "$n" ] || echo "cluster.sh: report has the series of $lines of $n nodes: $(head -c 300 "$work/err")" >&2
    timed "json$suf" "$b/sca" --all-hosts report --json "$u"
  else
    timed "report$suf" "$b/sca" --all-hosts report
    timed "json$suf" "$b/sca" --all-hosts report --json
  fi
}

rss() {
  local p
  for p in "${agents[@]}"; do awk -v k="$1:" '$1 == k { print $2 }' "/proc/$p/status"; done
}

echo "cluster.sh: $(nproc) CPU, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r), build $(grep -m1 CMAKE_BUILD_TYPE: "$build/CMakeCache.txt" | cut -d= -f2 | grep . || echo RelWithDebInfo), repeat $repeat"
printf '| N | hosts ms | start ms | stop ms | report ms | report --json ms | 1 node start ms | spawn floor ms | agent RSS max MB (median) | agent peak RSS max MB |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
targets="hosts=500 start=1000 stop=1000 report=2000 json=2000"
summary=""
for n in $ns; do
  while [ "${#agents[@]}" -lt "$n" ]; do start_agent $((${#agents[@]} + 1)); done
  wait_agents "$n"
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  # shellcheck disable=SC2034 # filled by timed, read through namerefs
  hosts=() start=() stop=() report=() json=()
  # shellcheck disable=SC2034
  hosts_ref=() start_ref=() stop_ref=() report_ref=() json_ref=() one=() spawn=()
  ref=$ref_bin
  [ "$n" -le "$ref_max_n" ] || ref=""
  for _ in $(seq "$repeat"); do
    round "$bin" ""
    [ -z "$ref" ] || round "$ref" "_ref"
    timed one "$bin/sca" --host node001 start -a cpu
    "$bin/sca" --host node001 stop >/dev/null 2>&1 || true
    spawn+=("$("$floor" "$n" "$bin/sca-tracer" --help -- "$bin/sca-sampler" --help)")
  done
  rss_kb=$(rss VmRSS | sort -n)
  hwm_kb=$(rss VmHWM | sort -n)
  rss_max=$(tail -n 1 <<<"$rss_kb" | awk '{ printf "%.1f", $1 / 1024 }')
  rss_med=$(median <<<"$rss_kb" | awk '{ printf "%.1f", $1 / 1024 }')
  hwm_max=$(tail -n 1 <<<"$hwm_kb" | awk '{ printf "%.1f", $1 / 1024 }')
  line="| $n"
  ratios="N=$n ours/target:"
  refs="N=$n ours/ref:"
  for op in hosts start stop report json; do
    declare -n ours=$op
    m=$(echo "${ours[*]}" | median)
    line="$line | $m"
    t=$(tr ' ' '\n' <<<"$targets" | awk -F= -v k="$op" '$1 == k { print $2 }')
    ratios="$ratios $op $(awk -v a="$m" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
    if [ -n "$ref" ]; then
      declare -n theirs=${op}_ref
      r=$(echo "${theirs[*]}" | median)
      line="$line (ref $r)"
      refs="$refs $op $(awk -v a="$m" -v b="$r" 'BEGIN { printf "%.2f", a / b }')"
    fi
  done
  ratios="$ratios rss $(awk -v a="$hwm_max" 'BEGIN { printf "%.2f", a / 8 }')"
  load="N=$n load average before / after: $load0 / $(cut -d' ' -f1-3 /proc/loadavg)"
  one_m=$(echo "${one[*]}" | median)
  ratios="$ratios start/1-node-start $(awk -v a="$(echo "${start[*]}" | median)" -v b="$one_m" 'BEGIN { printf "%.2f", a / b }')"
  spawn_m=$(echo "${spawn[*]}" | median)
  ratios="$ratios start/spawn-floor $(awk -v a="$(echo "${start[*]}" | median)" -v b="$spawn_m" 'BEGIN { printf "%.2f", a / b }')"
  echo "$line | $one_m | $spawn_m | $rss_max ($rss_med) | $hwm_max |"
  summary="$summary$ratios"$'\n'"$load"$'\n'
  [ -z "$ref" ] || summary="$summary$refs"$'\n'
done
echo
echo "Targets (hosts 500 ms, start and stop 1000 ms, report 2000 ms, agent RSS 8 MB; <= 1.00 meets):"
printf '%s' "$summary"
