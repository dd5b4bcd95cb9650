#!/bin/bash
# device-input-traffic.sh DEV [INTERVAL]
#
# Receive rate of network device DEV: one line "<n> pkt/s <n> byte/s" every
# INTERVAL seconds (default 1; decimals allowed), for the "traffic" parser.
# Only bash builtins run per sample (counters are read with `read`, the wait
# is a `read -t` on a FIFO that never delivers): no process is started per
# sample.  Ends cleanly on SIGINT or SIGTERM.
set -u
dev=${1:-}
interval=${2:-1}
if [ -z "$dev" ]; then
  echo "usage: device-input-traffic.sh DEV [INTERVAL]" >&2
  exit 2
fi
stats=/sys/class/net/$dev/statistics
if [ ! -r "$stats/rx_packets" ]; then
  echo "no network device '$dev' (see /sys/class/net)" >&2
  exit 1
fi
if ! [[ "$interval" =~ ^[0-9]+(\.[0-9]+)?$ ]] || [[ "$interval" =~ ^0+(\.0+)?$ ]]; then
  echo "interval must be a positive number of seconds, not '$interval'" >&2
  exit 2
fi

trap 'exit 0' INT TERM
fifo=$(mktemp -u /tmp/sca-traffic.XXXXXX)
mkfifo -m 600 "$fifo" || exit 1
exec {tick}<>"$fifo"
rm -f "$fifo"

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
read -r packets <"$stats/rx_packets"
read -r bytes <"$stats/rx_bytes"
then=$(now_us)
# Tell sca-tracer that it runs (docs/tracers.md).
if [ -n "${SCA_READY_FD:-}" ]; then
  echo ready >&"$SCA_READY_FD"
  exec {SCA_READY_FD}>&-
fi
while :; do
  read -r -t "$interval" -u "$tick" _
  read -r n_packets <"$stats/rx_packets"
  read -r n_bytes <"$stats/rx_bytes"
  now=$(now_us)
  elapsed=$((now - then))
  [ "$elapsed" -gt 0 ] || elapsed=1
  # Rates in hundredths, printed with two decimals as the original did.
  p=$(((n_packets - packets) * 100000000 / elapsed))
  b=$(((n_bytes - bytes) * 100000000 / elapsed))
  printf '%d.%02d pkt/s %d.%02d byte/s\n' $((p / 100)) $((p % 100)) $((b / 100)) $((b % 100))
  packets=$n_packets bytes=$n_bytes then=$now
done
