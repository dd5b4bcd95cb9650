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
# sca keeps the names of the agents it saw answer in $XDG_CACHE_HOME: the
# test's own, not the user's.
export XDG_CACHE_HOME="$T/cache"
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
# The sca-tracer processes this test's agents started (named by $T in their
# command line or environment): in sessions of their own, they outlive the
# agents.
_test_tracers() {
  local p
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/exe" 2>/dev/null)" == */sca-tracer ]] || continue
    [[ "$(cat "$p/cmdline" "$p/environ" 2>/dev/null | tr '\0' '\n')" == *"$T/"* ]] && echo "${p#/proc/}"
  done
  return 0
}
cleanup() {
  local rc=$?
  for p in "${_cleanup_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # Asked to stop, a tracer ends its worker too (a failed test leaves some).
  local left
  left=$(_test_tracers)
  if [ -n "$left" ]; then
    kill -TERM $left 2>/dev/null || true
    for _ in $(seq 50); do
      [ -n "$(_test_tracers)" ] || break
      sleep 0.1
    done
    kill -9 $left 2>/dev/null || true
  fi
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

# start_agent: sca-agent in the foreground on this test's configuration,
# logging to $T/agent.log, its pid in $AGENT, once sca-manage status
# answers (over the unix socket).
start_agent() {
  "$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
  AGENT=$!
  _cleanup_pids+=("$AGENT")
  wait_until 10 '"$SCA_BIN/sca-manage" status >/dev/null 2>&1' ||
    fail "the agent did not start: $(tail -5 "$T/agent.log")"
}

# stop_agent: sca-manage stop, and $AGENT gone.
stop_agent() {
  "$SCA_BIN/sca-manage" stop >/dev/null
  wait_until 10 '! kill -0 "$AGENT" 2>/dev/null' || fail "the agent did not stop"
}

# node_conf NAME URL: node NAME's state directory $T/NAME and its
# configuration $T/NAME/scalpels.conf: host NAME-PID on topic $topic through
# the broker at URL.
node_conf() {
  : "${topic:?node_conf needs \$topic}"
  mkdir -p "$T/$1"
  cat >"$T/$1/scalpels.conf" <<CONF
[DEFAULT]
state_dir = $T/$1
transport_url = $2
log_level = info

[agent]
host = $1-$$
stop_grace = 2

[rpc]
topic = $topic
timeout = 20
CONF
}

# start_node NAME [SETUP_ARG...]: node NAME of a cluster on the shared
# broker ($SCA_RABBIT_URL), with a state directory, configuration
# (node_conf), database, log and agent of its own; with SETUP_ARGs,
# `sca-manage setup SETUP_ARG...` on its database first.  Returns once the
# agent answers by its host name; its pid is in ${NODE_PID[NAME]}.
declare -A NODE_PID
start_node() {
  local node=$1
  shift
  node_conf "$node" "${SCA_RABBIT_URL:?}"
  node_manage "$node" db-create >/dev/null
  [ $# -eq 0 ] || node_manage "$node" setup "$@" >/dev/null
  SCALPELS_CONF="$T/$node/scalpels.conf" "$SCA_BIN/sca-agent" --foreground 2>>"$T/$node/agent.log" &
  NODE_PID[$node]=$!
  _cleanup_pids+=("$!")
  wait_until 30 'SCALPELS_CONF="$T/$node/scalpels.conf" "$SCA_BIN/sca" --host "$node-$$" --timeout 1 tracer -l >/dev/null 2>&1' ||
    fail "node $node did not answer over AMQP: $(tail -5 "$T/$node/agent.log")"
}

# node_manage NAME ARGS...: sca-manage ARGS on node NAME.
node_manage() { SCALPELS_CONF="$T/$1/scalpels.conf" "$SCA_BIN/sca-manage" "${@:2}"; }
# node_db NAME QUERY: QUERY on node NAME's database.
node_db() { sqlite3 -batch -noheader -cmd ".timeout 10000" "$T/$1/scalpels.db" "$2"; }

# use_private_state: STATE_DIR is $T/state, in $STATE, its database in
# $DB, both left for the programs to make with the modes they give them.
# Other users may enter $T, as /var/lib, and read the configuration, as
# /etc/scalpels.
use_private_state() {
  STATE="$T/state"
  DB="$STATE/scalpels.db"
  printf '\n[DEFAULT]\nstate_dir = %s\n' "$STATE" >>"$SCALPELS_CONF"
  chmod 0755 "$T"
  chmod 0644 "$SCALPELS_CONF"
}

# as_user GROUP CMD...: CMD as the unprivileged user nobody (uid 65534)
# with GROUP (a gid) as its only group.
as_user() {
  local gid=$1
  shift
  setpriv --reuid=65534 --regid="$gid" --clear-groups "$@"
}
