#!/bin/bash
# requires: rabbitmq
# Reply queues over AMQP: a client that got every answer deletes its reply
# queue when it closes (each sca command would otherwise leave one on the
# broker for 30 minutes); a client whose call timed out leaves its queue to
# expire, as oslo does, so the late reply still has somewhere to go.  In a
# vhost of its own, so that other tests' queues do not count.
source "$(dirname "$0")/lib.sh"

: "${SCA_RABBIT_DIR:?run through ctest (SCA_RABBIT_DIR unset)}"
port=${SCA_RABBIT_URL##*:}
port=${port%%/*}
node="sca-test-$port@localhost"
rabbit_bin=/usr/lib/rabbitmq/bin
ctl() { HOME="$SCA_RABBIT_DIR" ERL_EPMD_ADDRESS=127.0.0.1 "$rabbit_bin/rabbitmqctl" -n "$node" -q "$@"; }

vhost="sca_replyq_$$"
url="rabbit://guest:guest@127.0.0.1:$port/$vhost"
ctl add_vhost "$vhost" >/dev/null
trap 'rc=$?; ctl delete_vhost "$vhost" >/dev/null 2>&1 || true; (exit $rc); cleanup' EXIT
ctl set_permissions -p "$vhost" guest ".*" ".*" ".*" >/dev/null

reply_queues() { ctl list_queues -p "$vhost" name | grep -c '^reply_' || true; }
client() { "$SCA_TEST_BIN/rpc_test_client" "$@"; }

"$SCA_TEST_BIN/rpc_test_server" "$url" >"$T/server.out" 2>"$T/server.err" &
_cleanup_pids+=("$!")
wait_until 30 'grep -q "^UP" "$T/server.out"' || fail "server not up: $(cat "$T/server.err")"

expect_exit 0 client "$url" call echo '{"x": 1}'
assert_eq "$OUT" "1" "a call"
expect_exit 0 client --repeat 20 --concurrent 5 "$url" call echo '{"x": 2}'
assert_eq "$(reply_queues)" "0" "reply queues left by clients that got every answer"
ok "a client that got every answer deletes its reply queue"

expect_exit 3 client --timeout 1 "$url" call sleep '{"seconds": 2}'
assert_eq "$(reply_queues)" "1" "reply queues left by a client whose call timed out"
ok "a client whose call timed out leaves its reply queue for the late reply"

expect_exit 0 "$SCA_TEST_BIN/rpc_test_client" "$url" cast count '{"n": 1}'
assert_eq "$(reply_queues)" "1" "reply queues after a cast"
ok "a cast declares no reply queue"
