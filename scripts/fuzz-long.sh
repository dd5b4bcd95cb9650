#!/usr/bin/env bash
# Long libFuzzer run of the RPC envelope decoder (the test suite runs it for
# 30 s only).  Builds with clang into build-fuzz/ and fuzzes until SECONDS
# (default 3600) pass or a crash is found; crashes are written to
# build-fuzz/fuzz/ as crash-<sha1> and reproduce with
#   build-fuzz/fuzz/fuzz_rpc_envelope build-fuzz/fuzz/crash-<sha1>
#
#   scripts/fuzz-long.sh [SECONDS] [JOBS]
set -euo pipefail
seconds=${1:-3600}
jobs=${2:-$(nproc)}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${SCA_FUZZ_BUILD:-$src/build-fuzz}

CC=clang cmake -S "$src" -B "$build" -DSCA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_rpc_envelope -j"$jobs"
corpus="$build/fuzz/corpus_rpc_envelope"
mkdir -p "$corpus"
cd "$build/fuzz"
exec ./fuzz_rpc_envelope "$corpus" "$src/tests/fixtures" \
  -dict="$src/tests/fuzz/rpc_envelope.dict" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" -print_final_stats=1
