#!/usr/bin/env bash
# RPC benchmark (not a test): sequential call round trip (median, p99) and
# cast throughput for
#   floor  bare rabbitmq-c publish/consume ping-pong (no RPC layer at all)
#   wire   the same ping-pong speaking the oslo wire format as our RPC does
#          (topic exchange, oslo properties, expiration, acked consumer):
#          what the format costs the broker, for reading the c/floor ratio
#   c      our client -> our server over AMQP
#   oslo   Python oslo.messaging client -> oslo server, same broker, same run
#   unix   our client -> our server over the unix socket
# through a private RabbitMQ started here (loopback, port $PORT) and stopped
# at the end.  The pairs run interleaved, RUNS times; the table shows the
# median of the runs (machine noise between runs is large: compare only
# figures from one invocation).
#
#   bench/rpc.sh [BUILD_DIR]        env: RUNS=3 CALLS=2000 CASTS=10000 PORT=5677
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
runs=${RUNS:-3}
calls=${CALLS:-2000}
casts=${CASTS:-10000}
warmup=100
port=${PORT:-5677}
bin="$build/bench/bench_rpc"
python=/usr/bin/python3
url="rabbit://guest:guest@127.0.0.1:$port/"
work=$(mktemp -d /tmp/sca-bench-rpc.XXXXXX)
rabbit_dir="$build/bench-rabbitmq"
sock="$work/agent.sock"
pids=()

[ -x "$bin" ] || { echo "rpc.sh: $bin not built (cmake --build $build)" >&2; exit 1; }

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$src/scripts/rabbitmq.sh" stop "$rabbit_dir" "$port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/oslo_bench.py" <<'PY'
import sys, time
import oslo_messaging as om
from oslo_config import cfg

mode, url, topic = sys.argv[1:4]
transport = om.get_rpc_transport(cfg.CONF, url=url)
if mode == "server":
    class Endpoint:
        def __init__(self):
            self.n = 0
        def echo(self, ctxt, x):
            return x
        def count(self, ctxt, n):
            self.n += n
        def get_count(self, ctxt):
            return self.n
    srv = om.get_rpc_server(transport, om.Target(topic=topic, server="bench"), [Endpoint()],
                            executor="threading")
    srv.start()
    print("READY", flush=True)
    sys.stdin.read()
    srv.stop()
    srv.wait()
else:
    calls, casts, warmup = map(int, sys.argv[4:7])
    c = om.get_rpc_client(transport, om.Target(topic=topic, server="bench"), timeout=30)
    for _ in range(warmup):
        c.call({}, "echo", x="scalpels")
    rtt = []
    t0 = time.monotonic()
    for _ in range(calls):
        t = time.monotonic()
        c.call({}, "echo", x="scalpels")
        rtt.append(time.monotonic() - t)
    elapsed = time.monotonic() - t0
    rtt.sort()
    print("calls %d %.0f %.0f %.0f" % (calls, rtt[calls // 2] * 1e6, rtt[int(calls * 0.99)] * 1e6,
                                       calls / elapsed))
    base = c.call({}, "get_count")
    t0 = time.monotonic()
    for _ in range(casts):
        c.cast({}, "count", n=1)
    while c.call({}, "get_count") - base < casts:
        time.sleep(0.005)
    print("casts %d %.0f" % (casts, casts / (time.monotonic() - t0)))
transport.cleanup()
PY

# Starts a server in the background and waits for its READY line.
serve() {
  local out="$work/serve.$RANDOM"
  mkfifo "$out"
  "$@" <"$work/stdin" >"$out" 2>>"$work/servers.log" &
  pids+=($!)
  exec 9<"$out"
  local line
  IFS= read -r -t 60 line <&9 || { echo "rpc.sh: $1 did not start" >&2; exit 1; }
  exec 9<&-
  rm -f "$out"
}

mkfifo "$work/stdin"
sleep 100000 >"$work/stdin" &   # keeps the servers' stdin open
pids+=($!)

echo "starting RabbitMQ on 127.0.0.1:$port ..." >&2
bash "$src/scripts/rabbitmq.sh" start "$rabbit_dir" "$port" >/dev/null
serve "$bin" floor-echo "$url"
serve "$bin" server "$url" bench_c
serve "$python" "$work/oslo_bench.py" server "$url" bench_oslo
serve "$bin" server "unix://$sock" bench_unix

declare -A call_med call_p99 call_rate cast_rate
record() {   # pair run-output
  local pair=$1
  while read -r kind a b c d; do
    case $kind in
      calls) call_med[$pair]+="$b "; call_p99[$pair]+="$c "; call_rate[$pair]+="$d " ;;
      casts) cast_rate[$pair]+="$b " ;;
    esac
  done <<<"$2"
}
for run in $(seq "$runs"); do
  echo "run $run/$runs ..." >&2
  record floor "$("$bin" floor "$url" "$calls" "$warmup")"
  serve "$bin" wire-echo "$url"
  record wire "$("$bin" wire "$url" "$calls" "$warmup")"
  kill "${pids[-1]}"; unset 'pids[-1]'
  record c "$("$bin" client "$url" bench_c "$calls" "$casts" "$warmup")"
  record oslo "$("$python" "$work/oslo_bench.py" client "$url" bench_oslo "$calls" "$casts" "$warmup" 2>/dev/null)"
  record unix "$("$bin" client "unix://$sock" bench_unix "$calls" "$casts" "$warmup")"
done

median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -n | awk '{v[NR]=$1} END {print NR ? v[int((NR+1)/2)] : "-"}'; }

echo
echo "Machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM;" \
  "RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null), loopback; $(date -u +%Y-%m-%d)"
echo "Command: bench/rpc.sh (RUNS=$runs CALLS=$calls CASTS=$casts, $warmup warm-up calls), median of $runs runs"
echo
echo "| pair | call median µs | call p99 µs | calls/s | casts/s |"
echo "|---|---|---|---|---|"
for pair in floor wire c oslo unix; do
  label=$pair
  case $pair in
    floor) label="bare rabbitmq-c ping-pong (floor)" ;;
    wire) label="bare rabbitmq-c ping-pong, oslo wire format" ;;
    c) label="our client -> our server, AMQP" ;;
    oslo) label="oslo client -> oslo server, AMQP" ;;
    unix) label="our client -> our server, unix socket" ;;
  esac
  casts_cell=$(median "${cast_rate[$pair]:-}")
  echo "| $label | $(median "${call_med[$pair]}") | $(median "${call_p99[$pair]}") | $(median "${call_rate[$pair]}") | $casts_cell |"
done
c=$(median "${call_med[c]}"); f=$(median "${call_med[floor]}"); o=$(median "${call_med[oslo]}")
echo
w=$(median "${call_med[wire]}")
echo "AMQP call median: $(awk -v c="$c" -v f="$f" 'BEGIN{printf "%.2f", c/f}')x the floor," \
  "$(awk -v c="$c" -v w="$w" 'BEGIN{printf "%.2f", c/w}')x the oslo-wire floor," \
  "1/$(awk -v c="$c" -v o="$o" 'BEGIN{printf "%.1f", o/c}') of the oslo pair"
echo "Per run (call medians µs): floor ${call_med[floor]}| wire ${call_med[wire]}| c ${call_med[c]}| oslo ${call_med[oslo]}| unix ${call_med[unix]}"
