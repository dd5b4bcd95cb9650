#!/usr/bin/env bash
# RPC benchmark (not a test): sequential call round trip (median, p99) and
# cast throughput for
#   floor  bare rabbitmq-c publish/consume ping-pong (no RPC layer at all)
#   wire   the same ping-pong speaking the oslo wire as our RPC does (topic
#          exchange, oslo's properties, expiration, acked request consumer,
#          mandatory request and reply): what the format itself costs the broker
#   amqp   our client -> our server over AMQP
#   oslo   Python oslo.messaging client -> oslo server, same broker, same run
#   unix   our client -> our server over the unix socket
# through a private RabbitMQ started here (loopback, port $PORT) and stopped
# at the end.
#
# Calls: ROUNDS rounds.  In each, bench_rpc makes CALLS round trips per
# probe with floor, wire, amqp and unix taking turns call by call
# (this VM drifts between speeds within seconds; turns put every probe
# through the same conditions), then the oslo pair makes CALLS calls.
# Reported: the median of each pair's per-round medians, and the median of
# the per-round ratios.  Casts: CAST_RUNS runs of CASTS casts per pair.
# Wire cost: WIRE_RUNS runs of WIRE_CALLS calls in which the bare and wire
# ping-pongs take turns with the wire less one part at a time (topic
# exchange, properties, ack, mandatory publishing): what each part costs.
#
#   bench/rpc.sh [BUILD_DIR]
#   env: ROUNDS=15 CALLS=500 BLOCK=1 CAST_RUNS=3 CASTS=10000
#        WIRE_RUNS=3 WIRE_CALLS=2000 PORT=5677
# BLOCK=CALLS has each probe make its CALLS calls in one uninterrupted run
# instead of taking turns.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
rounds=${ROUNDS:-15}
calls=${CALLS:-500}
cast_runs=${CAST_RUNS:-3}
block=${BLOCK:-1}
casts=${CASTS:-10000}
wire_runs=${WIRE_RUNS:-3}
wire_calls=${WIRE_CALLS:-2000}
warmup=100
port=${PORT:-5677}
bin="$build/bench/bench_rpc"
python=/usr/bin/python3
url="rabbit://guest:guest@127.0.0.1:$port/"
[ -x "$bin" ] || { echo "rpc.sh: $bin not built (cmake --build $build)" >&2; exit 1; }
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && "$python" -c 'import oslo_messaging' 2>/dev/null ||
  { echo "rpc.sh: needs rabbitmq-server and python3-oslo.messaging: bash scripts/deps.sh --test" >&2; exit 1; }
work=$(mktemp -d /tmp/sca-bench-rpc.XXXXXX)
rabbit_dir="$build/bench-rabbitmq"
sock="$work/agent.sock"
pids=()


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
    if calls > 0:
        rtt = []
        t0 = time.monotonic()
        for _ in range(calls):
            t = time.monotonic()
            c.call({}, "echo", x="scalpels")
            rtt.append(time.monotonic() - t)
        elapsed = time.monotonic() - t0
        rtt.sort()
        print("calls %d %.0f %.0f %.0f" % (calls, rtt[calls // 2] * 1e6,
                                           rtt[int(calls * 0.99)] * 1e6, calls / elapsed))
    base = c.call({}, "get_count")
    t0 = time.monotonic()
    for _ in range(casts):
        c.cast({}, "count", n=1)
    while casts > 0 and c.call({}, "get_count") - base < casts:
        time.sleep(0.005)
    if casts > 0:
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

for mask in 15 14 13 11 7; do serve "$bin" wire-echo "$url" "$mask"; done

pairs="floor wire amqp oslo unix"
declare -A call_med call_p99 call_rate cast_rate ratios
record() {   # [pair] run-output: "calls PROBE ..." lines, or the oslo client's
  local pair=$1
  while read -r kind a b c d e; do
    case $kind in
      calls)
        if [ "$pair" = "-" ]; then
          call_med[$a]+="$c "; call_p99[$a]+="$d "; call_rate[$a]+="$e "
        else
          call_med[$pair]+="$b "; call_p99[$pair]+="$c "; call_rate[$pair]+="$d "
        fi ;;
      casts) cast_rate[$pair]+="$b " ;;
    esac
  done <<<"$2"
}
last() { awk '{print $NF}' <<<"$1"; }
ratio() {   # key numerator denominator: appends this round's ratio
  ratios[$1]+="$(awk -v a="$(last "${call_med[$2]}")" -v b="$(last "${call_med[$3]}")" 'BEGIN{printf "%.3f", a/b}') "
}

for round in $(seq "$rounds"); do
  echo "call round $round/$rounds ..." >&2
  record - "$("$bin" calls "$url" "unix://$sock" "$calls" "$warmup" "$block")"
  record oslo "$("$python" "$work/oslo_bench.py" client "$url" bench_oslo "$calls" 0 "$warmup" 2>/dev/null)"
  ratio amqp/floor amqp floor
  ratio amqp/wire amqp wire
  ratio oslo/amqp oslo amqp
  ratio wire/floor wire floor
  ratio oslo/wire oslo wire
  ratio oslo/floor oslo floor
done
declare -A wire_med wire_less
for run in $(seq "$wire_runs"); do
  echo "wire cost run $run/$wire_runs ..." >&2
  out=$("$bin" wire-cost "$url" "$wire_calls" 200)
  full=$(awk '$2 == "wire" {print $4}' <<<"$out")
  while read -r _ probe _ med _; do
    wire_med[$probe]+="$med "
    wire_less[$probe]+="$((full - med)) "
  done <<<"$out"
done
for run in $(seq "$cast_runs"); do
  echo "cast run $run/$cast_runs ..." >&2
  record amqp "$("$bin" casts "$url" bench_c "$casts")"
  record oslo "$("$python" "$work/oslo_bench.py" client "$url" bench_oslo 0 "$casts" 10 2>/dev/null)"
  record unix "$("$bin" casts "unix://$sock" bench_unix "$casts")"
done

median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{v[NR]=$1} END {print NR ? v[int((NR+1)/2)] : "-"}'; }
range() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }

echo
echo "Machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM;" \
  "RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null), loopback; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Command: bench/rpc.sh (ROUNDS=$rounds CALLS=$calls BLOCK=$block CAST_RUNS=$cast_runs CASTS=$casts WIRE_RUNS=$wire_runs WIRE_CALLS=$wire_calls, $warmup warm-up calls)"
echo
echo "| pair | call median µs | call p99 µs | calls/s | casts/s |"
echo "|---|---|---|---|---|"
for pair in $pairs; do
  case $pair in
    floor) label="floor: bare rabbitmq-c ping-pong" ;;
    wire) label="bare ping-pong speaking the oslo wire" ;;
    amqp) label="our client -> our server, AMQP" ;;
    oslo) label="oslo client -> oslo server, AMQP" ;;
    unix) label="our client -> our server, unix socket" ;;
  esac
  casts_cell=$(median "${cast_rate[$pair]:-}")
  echo "| $label | $(median "${call_med[$pair]}") | $(median "${call_p99[$pair]}") | $(median "${call_rate[$pair]}") | $casts_cell |"
done
echo
echo "Per-round ratios (median, and range over $rounds rounds):"
for key in amqp/floor amqp/wire oslo/amqp wire/floor oslo/wire oslo/floor; do
  printf '  %-12s %s (%s)\n' "$key" "$(median "${ratios[$key]}")" "$(range "${ratios[$key]}")"
done
verdict() { awk -v v="$1" -v lim="$2" -v op="$3" 'BEGIN {
  ok = op == "<=" ? v + 0 <= lim + 0 : v + 0 >= lim + 0; print ok ? "met" : "MISSED" }'; }
echo
echo "Targets (median of per-round ratios; medians of medians for the rest):"
r=$(median "${ratios[amqp/floor]}")
echo "  AMQP call <= 1.3x the floor         $r: $(verdict "$r" 1.3 "<=")"
r=$(median "${ratios[oslo/amqp]}")
echo "  AMQP call <= 1/5 of the oslo pair   1/$r: $(verdict "$r" 5 ">=")"
reach() {   # ratio who: whether the 1/5 target was within reach of WHO
  if [ "$(verdict "$1" 5 ">=")" = met ]; then echo "within reach"
  else echo "out of reach for $2 in this run"; fi
}
r=$(median "${ratios[oslo/wire]}")
echo "    the bare ping-pong speaking the oslo wire: 1/$r of the oslo pair ($(reach "$r" "any RPC speaking the oslo wire"))"
r=$(median "${ratios[oslo/floor]}")
echo "    the bare floor, no oslo wire and no RPC layer: 1/$r of the oslo pair ($(reach "$r" "any RPC through this broker"))"
r=$(median "${call_med[unix]}")
echo "  unix call <= 50 µs                  $r µs: $(verdict "$r" 50 "<=")"
r=$(median "${cast_rate[amqp]:-0}")
echo "  >= 20,000 casts/s over AMQP         $r/s: $(verdict "$r" 20000 ">=")"
echo "Per round (call medians µs): floor ${call_med[floor]}| amqp ${call_med[amqp]}| oslo ${call_med[oslo]}| unix ${call_med[unix]}"
if [ "$wire_runs" -gt 0 ]; then
  echo
  echo "Wire cost ($wire_runs runs of $wire_calls calls taking turns; medians over the runs):"
  echo
  echo "| ping-pong | call median µs | µs less than the whole wire |"
  echo "|---|---|---|"
  for probe in floor wire wire-topic wire-props wire-ack wire-mandatory; do
    case $probe in
      floor) label="bare (floor)" ;;
      wire) label="the whole oslo wire" ;;
      wire-topic) label="wire, requests through the default exchange" ;;
      wire-props) label="wire without oslo's properties or expiration" ;;
      wire-ack) label="wire without the ack" ;;
      wire-mandatory) label="wire, nothing published mandatory" ;;
    esac
    echo "| $label | $(median "${wire_med[$probe]}") | $(median "${wire_less[$probe]}") |"
  done
fi
