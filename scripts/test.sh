#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): installs the dependencies,
# then builds and runs ctest (unit + integration, with a private loopback
# RabbitMQ and MariaDB that the tests start and stop) twice:
#   build/       gcc, -Wall -Wextra -Werror
#   build-asan/  clang, -Werror, AddressSanitizer + UndefinedBehaviorSanitizer,
#                plus a short libFuzzer run of the RPC envelope decoder
# Exits non-zero if either build or any test fails.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
jobs=$(nproc)

bash scripts/deps.sh --test || exit 1

# A broker restarted by a test may start Erlang's port mapper (epmd, on
# loopback) after the one the fixture started is gone: whatever epmd the
# suite leaves behind is stopped at the end, unless one ran before.
epmd_before=0
if (exec 3<>/dev/tcp/127.0.0.1/4369) 2>/dev/null; then epmd_before=1; fi
stop_stray_epmd() {
  [ "$epmd_before" -eq 1 ] && return
  for _ in 1 2 3; do epmd -kill >/dev/null 2>&1 || break; sleep 0.2; done
}
trap stop_stray_epmd EXIT

status=0
run_suite() {
  local dir=$1; shift
  echo "=== $dir: configure and build"
  if ! cmake -S . -B "$dir" -DSCA_WERROR=ON -DSCA_TESTS=ON "$@" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"
    status=1
    return
  fi
  if ! cmake --build "$dir" -j"$jobs"; then
    status=1
    return
  fi
  echo "=== $dir: ctest"
  (cd "$dir" && ctest --output-on-failure -j"$jobs") || status=1
}

mkdir -p build build-asan
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_suite build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSCA_SANITIZE=ON -DSCA_FUZZ=ON

if [ "$status" -eq 0 ]; then
  echo "=== all tests passed in build/ and build-asan/"
else
  echo "=== FAILED (see above)"
fi
exit "$status"
