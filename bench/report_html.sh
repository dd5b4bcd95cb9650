#!/bin/bash
# bench/report_html.sh [BUILD_DIR] [SAMPLES] [RUNS] [REFERENCE_SCA]
#
# sca report --html of one large task (SAMPLES samples over four kv series,
# stored through sca-tracer): how long sca takes to write the page, its
# size, and in headless Chromium (tests/integration/browser.py) when the
# first chart is drawn (performance.now(), the page's own count) and when
# the page has loaded (navigation to the load event; every chart is drawn
# by then, as both pages draw before it).  With REFERENCE_SCA (another
# build's sca, e.g. one from before get_task_series, whose page has no
# first-chart count) the same is measured of its page, in the same runs
# against the same agent, and the ratios are printed.  Medians of RUNS.
# Not a test.
set -euo pipefail
build=${1:-build}
samples=${2:-1000000}
runs=${3:-3}
ref=${4:-}
bin="$build/bin"
src=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$bin/sca" ] && [ -x "$bin/sca-agent" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
command -v chromium >/dev/null || { echo "apt-get install chromium" >&2; exit 1; }

dir=$(mktemp -d /tmp/sca-bench-html.XXXXXX)
agent=
trap '[ -z "$agent" ] || kill "$agent" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
export SCALPELS_CONF="$dir/scalpels.conf"
printf '[DEFAULT]\nstate_dir = %s\nlog_level = warning\n' "$dir" >"$SCALPELS_CONF"
"$bin/sca-manage" db-create >/dev/null
lines=$((samples / 4))
# Four series a line, as the cpu and mem samplers print them; a file, as
# the template would read "%" as its own.
cat >"$dir/load.awk" <<'AWK'
BEGIN {
  for (i = 0; i < lines; i++)
    printf "user=%.1f%% system=%.1f%% used_kb=%dkB rx_kbps=%.2fkB/s\n", 50 + 40 * sin(i / 5000),
      10 + (i % 97) / 10, 2000000 + (i * 7919) % 500000, (i % 1000 == 0) ? 90000 : i % 13
}
AWK
"$bin/sca-manage" setup -t name=load -t parser=kv -t "tpl=awk -v lines=$lines -f $dir/load.awk" >/dev/null
task=$(cat /proc/sys/kernel/random/uuid)
"$bin/sca-tracer" "$task" load
stored=$(sqlite3 "$dir/scalpels.db" "SELECT count(*) FROM sample")
[ "$stored" -eq "$samples" ] || { echo "sca-tracer stored $stored of $samples samples" >&2; exit 1; }
"$bin/sca-agent" --foreground 2>>"$dir/agent.log" &
agent=$!
for _ in $(seq 100); do "$bin/sca-manage" status >/dev/null 2>&1 && break; sleep 0.1; done

# measure SCA: "WRITE_S BYTES FIRST_CHART_MS LOADED_MS" of one page
# (FIRST_CHART_MS -1 when the page does not count).
measure() {
  local start end
  start=$(date +%s.%N)
  "$1" report "$task" --html >"$dir/page.html"
  end=$(date +%s.%N)
  python3 "$src/tests/integration/browser.py" "$dir/page.html" --timeout 120 >"$dir/seen.json"
  python3 - "$dir/seen.json" "$(echo "$end - $start" | bc -l)" "$(stat -c %s "$dir/page.html")" <<'PY'
import json, sys
seen = json.load(open(sys.argv[1]))
if seen["errors"] or seen["drawn"] != seen["charts"]:
    sys.exit("the page did not draw: %s" % json.dumps(seen)[:500])
first = seen["first_chart_ms"]
print(sys.argv[2], sys.argv[3], -1 if first is None else first, seen["load_ms"])
PY
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
w=() b=() f=() l=() rw=() rb=() rl=()
for run in $(seq "$runs"); do
  read -r ws bytes first all < <(measure "$bin/sca")
  w+=("$ws") b+=("$bytes") f+=("$first") l+=("$all")
  printf 'run %d: sca %.2f s, %d bytes, first chart %d ms, loaded %d ms\n' "$run" "$ws" "$bytes" "$first" "$all"
  if [ -n "$ref" ]; then
    read -r ws bytes first all < <(measure "$ref")
    rw+=("$ws") rb+=("$bytes") rl+=("$all")
    printf 'run %d: reference %.2f s, %d bytes, loaded %d ms\n' "$run" "$ws" "$bytes" "$all"
  fi
done
printf '\nmachine: %s, %s cores; %s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
  "$(nproc)" "$(chromium --version 2>/dev/null | head -n 1)"
printf 'samples: %d in 4 series, runs: %d (medians)\n' "$samples" "$runs"
printf 'sca:       page written in %.2f s, %d bytes, first chart drawn at %d ms, loaded at %d ms\n' \
  "$(median "${w[@]}")" "$(median "${b[@]}")" "$(median "${f[@]}")" "$(median "${l[@]}")"
if [ -n "$ref" ]; then
  printf 'reference: page written in %.2f s, %d bytes, loaded at %d ms\n' \
    "$(median "${rw[@]}")" "$(median "${rb[@]}")" "$(median "${rl[@]}")"
  printf 'ratios sca / reference: write %.3f, size %.3f, loaded %.3f\n' \
    "$(echo "$(median "${w[@]}") / $(median "${rw[@]}")" | bc -l)" \
    "$(echo "$(median "${b[@]}") / $(median "${rb[@]}")" | bc -l)" \
    "$(echo "$(median "${l[@]}") / $(median "${rl[@]}")" | bc -l)"
fi
