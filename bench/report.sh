#!/usr/bin/env bash
# bench/report.sh [BUILD_DIR] [SAMPLES] [RUNS]
#
# The read path, side by side with the sqlite3 shell (not a test).  A task
# of SAMPLES samples (default 1,000,000) is made as the issue made it: a
# real sca-tracer running "seq 1 SAMPLES" with the count parser.  One
# agent serves it over AMQP (a private RabbitMQ started here on a free
# port, stopped at the end) and over its local unix socket.  Each of RUNS
# rounds (default 3) takes turns:
#   sca report --csv over the unix socket, the sqlite3 shell exporting the
#   same rows (the same columns, joined) as CSV, sca report --csv over AMQP,
#   then the same three for --json and sqlite3 -json,
# timing each (wall clock) with its peak RSS (/usr/bin/time), and checking
# that each printed every sample.  Printed: medians over the rounds, the
# median of each round's ratio to the shell, the CPU time each spent (for
# sca, its own plus the agent's while it ran: on a busy machine that is the
# steadier figure; the broker's is not counted), and the agent's RSS before
# the first report and at its peak (VmRSS, VmHWM of /proc/PID/status).
#
#   env: PORT (first port to try for the broker, default 5679)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
samples=${2:-1000000}
runs=${3:-3}
bin="$build/bin"
for p in sca sca-agent sca-manage sca-tracer; do
  [ -x "$bin/$p" ] || { echo "report.sh: build first: cmake --build $build" >&2; exit 1; }
done
command -v sqlite3 >/dev/null && [ -x /usr/bin/time ] ||
  { echo "report.sh: needs sqlite3 and /usr/bin/time (apt-get install sqlite3 time)" >&2; exit 1; }

work=$(mktemp -d /tmp/sca-bench-report.XXXXXX)
rabbit_dir="$work/rabbitmq"
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${PORT:-5679}
while port_busy "$port" || port_busy $((port + 20000)); do port=$((port + 1)); done
url="rabbit://guest:guest@127.0.0.1:$port/"
export SCALPELS_CONF="$work/scalpels.conf"
cat >"$SCALPELS_CONF" <<CONF
[DEFAULT]
state_dir = $work
log_level = warning
transport_url = $url

[agent]
host = bench-report-$$

[rpc]
topic = bench_report_$$
timeout = 120
CONF

cleanup() {
  "$bin/sca-manage" stop >/dev/null 2>&1 || true
  bash "$src/scripts/rabbitmq.sh" stop "$rabbit_dir" "$port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "making a task of $samples samples with sca-tracer (seq, count parser)..."
"$bin/sca-manage" db-create >/dev/null
"$bin/sca-manage" setup -t name=numbers -t tpl="seq 1 $samples" -t parser=count >/dev/null
task=$(cat /proc/sys/kernel/random/uuid)
"$bin/sca-tracer" "$task" numbers
stored=$(sqlite3 "$work/scalpels.db" "SELECT count(*) FROM sample")
[ "$stored" -eq "$samples" ] || { echo "report.sh: sca-tracer stored $stored of $samples" >&2; exit 1; }

echo "starting RabbitMQ on 127.0.0.1:$port and the agent..."
bash "$src/scripts/rabbitmq.sh" start "$rabbit_dir" "$port" >/dev/null
"$bin/sca-agent"
agent_pid=$("$bin/sca-manage" status | awk '$1 == "pid:" { print $2 }')
[ -n "$agent_pid" ] || { echo "report.sh: no agent pid from sca-manage status" >&2; exit 1; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$agent_pid/status"; }
unix_url="unix://$work/agent.sock"
# One small call each way, so that the agent's RSS is taken with its
# connections and thread pool up.
"$bin/sca" --transport-url "$unix_url" task -l >/dev/null
"$bin/sca" task -l >/dev/null
agent_rss_before=$(status_kb VmRSS)

query="SELECT t.uuid AS task, r.uuid AS result, r.tracer, r.name, r.unit, r.rtype, s.ts,
  coalesce(s.value, s.text) AS value FROM sample s JOIN result r ON r.id = s.result_id
  JOIN task t ON t.id = r.task_id WHERE t.uuid = '$task' ORDER BY r.id, s.ts, s.rowid;"

# The agent's CPU time so far (user + system), in clock ticks.
agent_ticks() { awk '{ print $14 + $15 }' "/proc/$agent_pid/stat"; }
tick=$(getconf CLK_TCK)
# measure NAME CHECK CMD...: runs CMD with stdout to $work/out, appends
# "NAME SECONDS KB CPU_SECONDS" to $work/times (CPU: CMD's, plus the
# agent's when CMD is sca), and checks the output with CHECK.
measure() {
  local name=$1 check=$2 t0 t1 agent_cpu=0; shift 2
  t0=$(agent_ticks)
  /usr/bin/time -o "$work/time" -f "%e %M %U %S" "$@" >"$work/out" 2>"$work/err" ||
    { echo "report.sh: $name failed: $(cat "$work/err")" >&2; exit 1; }
  t1=$(agent_ticks)
  [[ $name == *sqlite ]] || agent_cpu=$(echo "($t1 - $t0) / $tick" | bc -l)
  "$check" "$name"
  read -r secs kb user sys <"$work/time"
  echo "$name $secs $kb $(echo "$user + $sys + $agent_cpu" | bc -l)" >>"$work/times"
  rm -f "$work/out"
}
csv_rows() {
  local n
  n=$(($(wc -l <"$work/out") - 1))
  [ "$n" -eq "$samples" ] || { echo "report.sh: $1 printed $n rows" >&2; exit 1; }
}
json_rows() {
  local n
  # sca: one line, [[ts,value],...]; sqlite3 -json: a row a line.
  if [ "$(wc -l <"$work/out")" -eq 1 ]; then
    n=$(($(grep -o '\],\[' "$work/out" | wc -l) + 1))
  else
    n=$(wc -l <"$work/out")
  fi
  [ "$n" -eq "$samples" ] || { echo "report.sh: $1 printed $n rows" >&2; exit 1; }
}

: >"$work/times"
for run in $(seq "$runs"); do
  echo "round $run of $runs..."
  measure csv_unix csv_rows "$bin/sca" --transport-url "$unix_url" report "$task" --csv
  measure csv_sqlite csv_rows sqlite3 -csv -header "$work/scalpels.db" "$query"
  measure csv_amqp csv_rows "$bin/sca" report "$task" --csv
  measure json_unix json_rows "$bin/sca" --transport-url "$unix_url" report "$task" --json
  measure json_sqlite json_rows sqlite3 -json "$work/scalpels.db" "$query"
  measure json_amqp json_rows "$bin/sca" report "$task" --json
done
agent_hwm=$(status_kb VmHWM)
agent_rss_after=$(status_kb VmRSS)

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$work/times"; }
# ratio A B [COLUMN]: the median over the rounds of A's time / B's time in
# that round (wall clock; CPU with COLUMN 4).
ratio() { paste <(field "$1" "${3:-2}") <(field "$2" "${3:-2}") | awk '{ print $1 / $2 }' | median; }

printf '\nmachine: %s, %s cores; load average %s\n' \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'samples: %d, rounds: %d, sqlite %s\n\n' "$samples" "$runs" "$(sqlite3 --version | cut -d' ' -f1)"
printf '%-28s %10s %12s %14s %10s %14s\n' "" "median s" "peak RSS MiB" "ratio to shell" \
  "CPU s" "CPU ratio"
for name in csv_sqlite csv_unix csv_amqp json_sqlite json_unix json_amqp; do
  ref=${name%%_*}_sqlite
  r=$([ "$name" = "$ref" ] && echo "-" || printf '%.2fx' "$(ratio "$name" "$ref")")
  cr=$([ "$name" = "$ref" ] && echo "-" || printf '%.2fx' "$(ratio "$name" "$ref" 4)")
  label=$(case $name in
    csv_sqlite) echo "sqlite3 -csv (joined)" ;; csv_unix) echo "sca report --csv, unix" ;;
    csv_amqp) echo "sca report --csv, AMQP" ;; json_sqlite) echo "sqlite3 -json (joined)" ;;
    json_unix) echo "sca report --json, unix" ;; json_amqp) echo "sca report --json, AMQP" ;; esac)
  printf '%-28s %10.2f %12.1f %14s %10.2f %14s\n' "$label" "$(field "$name" 2 | median)" \
    "$(echo "$(field "$name" 3 | sort -g | tail -1) / 1024" | bc -l)" "$r" \
    "$(field "$name" 4 | median)" "$cr"
done
printf '\nagent RSS: %.1f MiB before the first report, peak %.1f MiB, %.1f MiB after: grew %.1f MiB\n' \
  "$(echo "$agent_rss_before / 1024" | bc -l)" "$(echo "$agent_hwm / 1024" | bc -l)" \
  "$(echo "$agent_rss_after / 1024" | bc -l)" "$(echo "($agent_hwm - $agent_rss_before) / 1024" | bc -l)"

sca_peak=$(awk '$1 !~ /sqlite/ { print $3 }' "$work/times" | sort -g | tail -1)
csv_r=$(paste <(ratio csv_unix csv_sqlite) <(ratio csv_amqp csv_sqlite) | awk '{ print ($1 > $2 ? $1 : $2) }')
json_r=$(paste <(ratio json_unix json_sqlite) <(ratio json_amqp json_sqlite) | awk '{ print ($1 > $2 ? $1 : $2) }')
verdict() { awk -v v="$1" -v max="$2" 'BEGIN { print (v <= max ? "met" : "MISSED") }'; }
printf '\nTargets (the worse transport, wall clock):\n'
printf '  --csv at most 1.5x the shell:        %s (%.2fx)\n' "$(verdict "$csv_r" 1.5)" "$csv_r"
printf '  --json at most 1.5x the shell:       %s (%.2fx)\n' "$(verdict "$json_r" 1.5)" "$json_r"
printf '  sca peak RSS at most 32 MiB:         %s (%.1f MiB)\n' \
  "$(verdict "$sca_peak" 32768)" "$(echo "$sca_peak / 1024" | bc -l)"
growth=$((agent_hwm - agent_rss_before))
printf '  agent RSS grows at most 32 MiB:      %s (%.1f MiB)\n' \
  "$(verdict "$growth" 32768)" "$(echo "$growth / 1024" | bc -l)"
