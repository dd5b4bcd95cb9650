#!/usr/bin/env bash
# CLI benchmark (not a test): how long a whole `sca tracer -l` takes over
# AMQP to a local agent, against the floor, bench_cli_bare (bench/cli_bare.c:
# rabbitmq-c alone making the same oslo-format call: connect, log in,
# reply queue, one call, close).  Both are started by this script the same
# way, one after the other, RUNS times, taking turns (which goes first
# alternates), so that both meet the same machine; then it prints the
# median and p90 of each, and their ratio.  BASELINE=/path/to/other/sca
# adds a third program to the turns (another build of sca, e.g. before a
# change), reported the same way: before and after in one run.
#
# A private RabbitMQ (scripts/rabbitmq.sh, loopback, a free port from
# $PORT up) and an agent with a state directory of its own are started here
# and stopped at the end.
#
#   bench/cli.sh [BUILD_DIR]
#   env: RUNS=21 WARMUP=3 PORT=5690 SCA_ARGS="tracer -l" BASELINE=
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
runs=${RUNS:-21}
warmup=${WARMUP:-3}
sca_args=${SCA_ARGS:-tracer -l}
baseline=${BASELINE:-}
sca="$build/bin/sca"
bare="$build/bench/bench_cli_bare"
for b in "$sca" "$build/bin/sca-agent" "$build/bin/sca-manage" "$bare" ${baseline:+"$baseline"}; do
  [ -x "$b" ] || { echo "cli.sh: $b not built (cmake --build $build)" >&2; exit 1; }
done
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
  { echo "cli.sh: needs rabbitmq-server: bash scripts/deps.sh --test" >&2; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${PORT:-5690}
while port_busy "$port" || port_busy $((port + 20000)); do port=$((port + 1)); done

work=$(mktemp -d /tmp/sca-bench-cli.XXXXXX)
rabbit_dir="$work/rabbitmq"
agent=
cleanup() {
  [ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
  bash "$src/scripts/rabbitmq.sh" stop "$rabbit_dir" "$port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(load)
topic=scalpels
host="bench-$$"
export SCALPELS_CONF="$work/scalpels.conf"
cat >"$SCALPELS_CONF" <<CONF
[DEFAULT]
state_dir = $work
transport_url = rabbit://guest:guest@127.0.0.1:$port/
log_level = warning

[agent]
host = $host

[rpc]
topic = $topic
CONF

echo "starting RabbitMQ on 127.0.0.1:$port ..." >&2
bash "$src/scripts/rabbitmq.sh" start "$rabbit_dir" "$port" >/dev/null
"$build/bin/sca-manage" db-create >/dev/null
"$build/bin/sca-agent" --foreground 2>"$work/agent.log" &
agent=$!
for _ in $(seq 300); do
  "$sca" --timeout 1 $sca_args >/dev/null 2>&1 && break
  kill -0 "$agent" 2>/dev/null || { echo "cli.sh: the agent died: $(tail -3 "$work/agent.log")" >&2; exit 1; }
  sleep 0.1
done
"$sca" $sca_args >/dev/null || { echo "cli.sh: sca $sca_args fails" >&2; exit 1; }
[ -z "$baseline" ] || "$baseline" $sca_args >/dev/null ||
  { echo "cli.sh: $baseline $sca_args fails" >&2; exit 1; }

# The bare program asks the shared topic, as sca's first call does.
bare_cmd=("$bare" 127.0.0.1 "$port" guest guest / openstack "$topic" tracer_list)
"${bare_cmd[@]}" >/dev/null || { echo "cli.sh: bench_cli_bare fails" >&2; exit 1; }

# Wall time of one whole process in µs, started from here (fork, exec,
# dynamic linking, everything it does, exit).
elapsed_us() {
  local t0=$EPOCHREALTIME
  "$@" >/dev/null || { echo "cli.sh: $* failed" >&2; exit 1; }
  local t1=$EPOCHREALTIME
  echo $(( (${t1/./} - ${t0/./}) ))
}
for _ in $(seq "$warmup"); do
  elapsed_us "$sca" $sca_args >/dev/null
  elapsed_us "${bare_cmd[@]}" >/dev/null
  [ -z "$baseline" ] || elapsed_us "$baseline" $sca_args >/dev/null
done

# One turn: each program once, in the order given (s, b, l: sca, bare,
# baseline).
turn() {
  local p
  for p in "$@"; do
    case $p in
      s) s=$(elapsed_us "$sca" $sca_args) ;;
      b) b=$(elapsed_us "${bare_cmd[@]}") ;;
      l) [ -z "$baseline" ] || l=$(elapsed_us "$baseline" $sca_args) ;;
    esac
  done
}
sca_t=() bare_t=() base_t=() ratios=() base_ratios=()
for run in $(seq "$runs"); do
  case $((run % 3)) in   # who goes first rotates
    1) turn s b l ;;
    2) turn b l s ;;
    0) turn l s b ;;
  esac
  sca_t+=("$s") bare_t+=("$b")
  ratios+=("$(awk -v s="$s" -v b="$b" 'BEGIN {printf "%.3f", s / b}')")
  if [ -n "$baseline" ]; then
    base_t+=("$l")
    base_ratios+=("$(awk -v s="$l" -v b="$b" 'BEGIN {printf "%.3f", s / b}')")
  fi
done
load_end=$(load)

# quantile Q VALUES...: the value at rank ceil(Q * n) of the sorted values.
quantile() {
  local q=$1; shift
  printf '%s\n' "$@" | sort -g | awk -v q="$q" '{v[NR] = $1}
    END {r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1; print v[r]}'
}
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
sca_med=$(quantile 0.5 "${sca_t[@]}") bare_med=$(quantile 0.5 "${bare_t[@]}")
ratio=$(awk -v s="$sca_med" -v b="$bare_med" 'BEGIN {printf "%.2f", s / b}')

echo
echo "Machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM;" \
  "RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null), loopback; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Load average (1, 5, 15 min): $load_start at start, $load_end at the end"
echo "Command: bench/cli.sh (RUNS=$runs WARMUP=$warmup SCA_ARGS=\"$sca_args\"), taking turns"
echo
echo "| whole process | median ms | p90 ms |"
echo "|---|---|---|"
echo "| sca $sca_args | $(ms "$sca_med") | $(ms "$(quantile 0.9 "${sca_t[@]}")") |"
[ -z "$baseline" ] ||
  echo "| baseline: $baseline $sca_args | $(ms "$(quantile 0.5 "${base_t[@]}")") | $(ms "$(quantile 0.9 "${base_t[@]}")") |"
echo "| bare rabbitmq-c call (bench_cli_bare) | $(ms "$bare_med") | $(ms "$(quantile 0.9 "${bare_t[@]}")") |"
echo
echo "Ratio sca / bare (medians): ${ratio}x; median of the $runs per-turn ratios:" \
  "$(quantile 0.5 "${ratios[@]}")x (p10 $(quantile 0.1 "${ratios[@]}")x, p90 $(quantile 0.9 "${ratios[@]}")x)"
[ -z "$baseline" ] ||
  echo "Ratio baseline / bare (medians): $(awk -v s="$(quantile 0.5 "${base_t[@]}")" -v b="$bare_med" \
    'BEGIN {printf "%.2f", s / b}')x; median of the per-turn ratios: $(quantile 0.5 "${base_ratios[@]}")x"
echo "Target <= 1.2x: $(awk -v r="$ratio" 'BEGIN {print r + 0 <= 1.2 ? "met" : "MISSED"}')"
