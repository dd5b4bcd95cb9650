#!/bin/bash
# requires: rabbitmq
# While another process holds the store's write lock, a writing call gets
# "StoreError: ... database is locked" (exit 1) before its caller gives up,
# instead of the caller's timeout (exit 3) and a reply into a closed
# connection: over the unix socket (sca sends its deadline as _expiration),
# over AMQP (the message's expiration), and from a stock oslo.messaging
# client (which sets the expiration from its timeout).
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
PY=${PYTHON:-/usr/bin/python3}
: "${SCA_RABBIT_URL:?}"
topic="sca_locked_$$"
host="locked-$$"
UNIX="unix://$T/agent.sock"
cat >>"$SCALPELS_CONF" <<CONF

[DEFAULT]
transport_url = $SCA_RABBIT_URL

[agent]
host = $host

[rpc]
topic = $topic
CONF

"$M" db-create >/dev/null
"$M" setup -d interval=0.2 >/dev/null
"$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
AGENT=$!
_cleanup_pids+=("$AGENT")
wait_until 30 '"$S" --timeout 1 tracer -l >/dev/null 2>&1' ||
  fail "the agent did not answer over AMQP: $(tail -5 "$T/agent.log")"

# A writer that holds the lock until told: sqlite3 reading SQL from a fifo.
mkfifo "$T/lock.sql"
sqlite3 "$DB" <"$T/lock.sql" >"$T/lock.out" 2>&1 &
LOCKER=$!
_cleanup_pids+=("$LOCKER")
exec 7>"$T/lock.sql"
echo "BEGIN IMMEDIATE; SELECT 'locked';" >&7
wait_until 10 'grep -q locked "$T/lock.out"' || fail "sqlite3 did not take the lock: $(cat "$T/lock.out")"
expect_exit 5 sqlite3 -cmd ".timeout 0" "$DB" "BEGIN IMMEDIATE"
assert_contains "$OUT" "database is locked" "the lock is held"

tasks_before=$(sql "SELECT count(*) FROM task")

# --- The unix socket ----------------------------------------------------------
expect_exit 1 "$S" --transport-url "$UNIX" --timeout 3 start -a cpu
assert_contains "$OUT" "StoreError: " "sca over the unix socket"
assert_contains "$OUT" "database is locked" "sca over the unix socket"
ok "unix socket: sca --timeout 3 start gets the store's error, exit 1 ($OUT)"
# Reads do not wait for the writer.
expect_exit 0 "$S" --transport-url "$UNIX" --timeout 3 tracer -l

# --- AMQP -------------------------------------------------------------------------
expect_exit 1 "$S" --timeout 3 start -a cpu
assert_contains "$OUT" "StoreError: " "sca over AMQP"
assert_contains "$OUT" "database is locked" "sca over AMQP"
ok "AMQP: sca --timeout 3 start gets the store's error, exit 1"

cat >"$T/oslo_locked.py" <<'PYCODE'
import sys
import oslo_messaging as messaging
from oslo_config import cfg
url, topic = sys.argv[1], sys.argv[2]
cfg.CONF([], project="sca-test")
transport = messaging.get_rpc_transport(cfg.CONF, url=url)
client = messaging.RPCClient(transport, messaging.Target(topic=topic, version="1.0"), timeout=3)
try:
    client.call({}, "update_config", data_opts={"x": "1"})
except messaging.RemoteError as e:
    # Admin over AMQP: refused before the store, so no wait at all.
    assert e.exc_type == "PermissionDenied", e
try:
    client.call({}, "start_tracers", tracers=["cpu"])
    raise SystemExit("start_tracers succeeded while the store was locked")
except messaging.MessagingTimeout:
    raise SystemExit("the oslo client timed out: the agent answered too late")
except messaging.RemoteError as e:
    print("%s: %s" % (e.exc_type, e.value))
transport.cleanup()
PYCODE
expect_exit 0 timeout 60 "$PY" "$T/oslo_locked.py" "$SCA_RABBIT_URL" "$topic"
assert_contains "$OUT" "StoreError: " "the oslo client's error"
assert_contains "$OUT" "database is locked" "the oslo client's error"
ok "a stock oslo.messaging client with timeout=3 gets the StoreError"

assert_eq "$(sql "SELECT count(*) FROM task")" "$tasks_before" "no task made while locked"
if grep -q "cannot send reply" "$T/agent.log"; then
  fail "the agent answered a caller that had gone: $(grep "cannot send reply" "$T/agent.log")"
fi

# --- The lock released, the same calls work ----------------------------------------
exec 7>&-
wait "$LOCKER" || true
expect_exit 0 "$S" --transport-url "$UNIX" --timeout 3 start -a cpu
expect_exit 0 "$S" --transport-url "$UNIX" stop
ok "once the lock is released, start works again"
"$M" stop >/dev/null
wait_until 15 '! kill -0 $AGENT 2>/dev/null' || fail "the agent did not stop"
