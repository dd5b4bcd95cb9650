# lib.sh - shared by the integration tests: a private state directory and
# config per test, assertions that say what they expected, and cleanup.
# Sourced by test_*.sh; uses SCA_BIN (the built programs) from ctest.
set -euo pipefail

: "${SCA_BIN:?run through ctest (SCA_BIN unset)}"
: "${SCA_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
WORKERS="$SCA_SRC/tests/integration/workers"

# Output follows the locale (UTF-8 glyphs, or ASCII): the tests choose
# theirs rather than take the caller's.  C.UTF-8 comes with libc.
export LC_ALL=C.UTF-8

T=$(mktemp -d /tmp/sca-it.XXXXXX)
export SCALPELS_CONF="$T/scalpels.conf"
DB="$T/scalpels.db"
cat >"$SCALPELS_CONF" <<CONF
[DEFAULT]
state_dir = $T
log_level = info

[agent]
stop_grace = 2
CONF

_cleanup_pids=()
cleanup() {
  local rc=$?
  for p in "${_cleanup_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    echo "--- test failed (exit $rc); state in $T kept" >&2
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
# assert_contains HAYSTACK NEEDLE WHAT
assert_contains() { [[ "$1" == *"$2"* ]] || fail "$3: expected to contain '$2', got: $1"; }

# expect_exit CODE CMD... : runs CMD, checks its exit status, keeps its output in $OUT.
expect_exit() {
  local want=$1; shift
  set +e
  OUT=$("$@" 2>&1)
  local got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; output: $OUT"
}

sql() { sqlite3 -batch -noheader -cmd ".timeout 10000" "$DB" "$@"; }

# wait_until SECONDS 'SHELL CONDITION' : evaluates the condition (quoted, so
# its $(...) run anew each time) until it holds.
wait_until() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until eval "$1"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

new_uuid() { cat /proc/sys/kernel/random/uuid; }

# group_alive PGID: true while a live (non-zombie) process is in the group.
group_alive() { ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; }

# use_amqp NAME [RPC_SETTINGS...]: this test's agent on the shared broker
# ($SCA_RABBIT_URL) under a topic and host name of its own, sca_NAME_PID
# and NAME-PID (other tests share the broker), in $topic and $host; each
# RPC_SETTING ("key = value") goes into [rpc] too.
use_amqp() {
  : "${SCA_RABBIT_URL:?}"
  topic="sca_$1_$$"
  host="$1-$$"
  shift
  printf '\n[DEFAULT]\ntransport_url = %s\n\n[agent]\nhost = %s\n\n[rpc]\ntopic = %s\n' \
    "$SCA_RABBIT_URL" "$host" "$topic" >>"$SCALPELS_CONF"
  local setting
  for setting in "$@"; do printf '%s\n' "$setting" >>"$SCALPELS_CONF"; done
}

# start_agent_amqp: sca-agent in the foreground, logging to $T/agent.log,
# once it answers over AMQP.
start_agent_amqp() {
  "$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
  _cleanup_pids+=("$!")
  wait_until 30 '"$SCA_BIN/sca" --timeout 1 task -l >/dev/null 2>&1' ||
    fail "the agent did not answer over AMQP: $(tail -5 "$T/agent.log")"
}
