#!/bin/bash
# bench/ingest.sh [BUILD_DIR] [ROWS] [RUNS]
#
# Samples per second through sca-tracer into SQLite, from a worker printing
# numbers (seq), side by side in the same run with a raw SQLite prepared-
# insert loop writing the same rows into the same schema (bench_ingest).
# Runs alternate; medians are reported with their ratio.  Not a test.
set -euo pipefail
build=${1:-build}
rows=${2:-1000000}
runs=${3:-5}
bin="$build/bin"
[ -x "$bin/sca-tracer" ] && [ -x "$build/bench/bench_ingest" ] || {
  echo "build first: cmake --build $build" >&2; exit 1; }

dir=$(mktemp -d /tmp/sca-bench-ingest.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export SCALPELS_CONF="$dir/scalpels.conf"
printf '[DEFAULT]\nstate_dir = %s\nlog_level = warning\n' "$dir" >"$SCALPELS_CONF"

tracer_rates=() raw_rates=()
for run in $(seq "$runs"); do
  rm -f "$dir"/scalpels.db*
  "$bin/sca-manage" db-create >/dev/null
  "$bin/sca-manage" setup -t name=numbers -t tpl="seq 1 $rows" -t parser=count >/dev/null
  start=$(date +%s.%N)
  "$bin/sca-tracer" "$(cat /proc/sys/kernel/random/uuid)" numbers
  end=$(date +%s.%N)
  stored=$(sqlite3 "$dir/scalpels.db" "SELECT count(*) FROM sample")
  [ "$stored" -eq "$rows" ] || { echo "sca-tracer stored $stored of $rows rows" >&2; exit 1; }
  tracer_rates+=("$(echo "$rows / ($end - $start)" | bc -l)")

  rm -f "$dir"/raw.db*
  read -r n secs < <("$build/bench/bench_ingest" "$dir/raw.db" "$rows")
  raw_rates+=("$(echo "$n / $secs" | bc -l)")
  printf 'run %d: sca-tracer %8.0f samples/s   raw insert loop %8.0f rows/s\n' "$run" \
    "${tracer_rates[-1]}" "${raw_rates[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
t=$(median "${tracer_rates[@]}")
r=$(median "${raw_rates[@]}")
printf '\nmachine: %s, %s cores\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)"
printf 'rows per run: %d, runs: %d\n' "$rows" "$runs"
printf 'median sca-tracer: %.0f samples/s (end to end: spawn, read, parse, store)\n' "$t"
printf 'median raw loop:   %.0f rows/s\n' "$r"
printf 'ratio sca-tracer / raw: %.2f\n' "$(echo "$t / $r" | bc -l)"
