#!/bin/bash
# The agent's unix socket cannot be locked up by a local user: with more
# idle connections open than it takes (1024), root still gets in
# (sca-manage status), a user refused is told the real reason, and
# connections that stay idle, or send a frame and never finish it, are
# closed after [agent] unix_idle_timeout.  The hostile user is nobody in the
# socket's group, as a local user allowed to use sca would be.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
PY=/usr/bin/python3
use_private_state
SOCK="$STATE/agent.sock"
# nobody, in the group of STATE_DIR and the socket (root's here).
as_socket_user() { as_user "$(id -g)" "$@"; }

"$M" db-create >/dev/null
start_agent
expect_exit 0 as_socket_user "$S" tracer -l
ok "nobody in the socket's group uses sca"

# --- More connections than the agent takes ------------------------------------
cat >"$T/hold.py" <<'PYCODE'
import resource, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
# Under a hard limit below that, the agent (same limit) takes fewer too.
n = min(n, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 64)
held = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    held.append(s)
print("holding", len(held), flush=True)
sys.stdin.read()  # until the test closes our stdin
PYCODE
mkfifo "$T/hold.in"
as_socket_user "$PY" "$T/hold.py" "$SOCK" 1100 <"$T/hold.in" >"$T/hold.out" 2>&1 &
HOLDER=$!
_cleanup_pids+=("$HOLDER")
exec 8>"$T/hold.in"
wait_until 30 'grep -q "^holding" "$T/hold.out"' || fail "could not open 1100 connections: $(cat "$T/hold.out")"
wait_until 10 'grep -q "refusing one from uid 65534" "$T/agent.log"' ||
  fail "the agent did not refuse any of 1100 connections: $(tail -3 "$T/agent.log")"
ok "nobody $(cat "$T/hold.out") idle connections; the agent refuses those over its limit"

expect_exit 3 as_socket_user "$S" tracer -l
assert_contains "$OUT" "the agent is refusing connections: too many open on unix://$SOCK" \
  "sca as a user while the socket is full"
ok "a refused user is told why: $OUT"
expect_exit 0 "$M" status
assert_contains "$OUT" "reachable:        yes" "sca-manage status as root while the socket is full"
expect_exit 0 "$S" tracer -l
ok "root still gets in: sca-manage status and sca"

exec 8>&-
wait "$HOLDER" || true
wait_until 10 'as_socket_user "$S" tracer -l >/dev/null 2>&1' || fail "the socket stayed full after the holder left"
ok "once the holder leaves, the user gets in again"
stop_agent

# --- Idle and unfinished connections are closed ----------------------------------
cat >>"$SCALPELS_CONF" <<CONF

[agent]
unix_idle_timeout = 1
CONF
: >"$T/agent.log"
start_agent
cat >"$T/stall.py" <<'PYCODE'
import json, select, socket, struct, sys, time
path = sys.argv[1]

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def closed_by_peer(s):
    try:
        return s.recv(1) == b""
    except OSError:
        return True

idle = connect()
half = connect()
half.sendall(struct.pack(">I", 100) + b'{"oslo.version": ')
trickle = connect()
trickle.sendall(struct.pack(">I", 200))
sent = 0
open_ = {"idle": idle, "half": half, "trickle": trickle}
closed = {}
end = time.time() + 20
while open_ and time.time() < end:
    readable, _, _ = select.select(list(open_.values()), [], [], 0.2)
    for name, s in list(open_.items()):
        if s in readable and closed_by_peer(s):
            closed[name] = sent
            del open_[name]
    if "trickle" in open_ and sent < 200:
        try:
            trickle.send(b"x")  # a byte every 0.2 s: never idle, never done
            sent += 1
        except OSError:
            closed["trickle"] = sent
            del open_["trickle"]
print(json.dumps({"closed": closed, "open": sorted(open_)}))
PYCODE
expect_exit 0 as_socket_user "$PY" "$T/stall.py" "$SOCK"
result=$OUT
assert_eq "$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["open"])' <<<"$result")" "[]" \
  "connections left open after 20 s ($result)"
trickled=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["closed"]["trickle"])' <<<"$result")
[ "$trickled" -lt 200 ] || fail "the trickling frame was let finish: $result"
ok "an idle connection, a half-sent frame and one trickled a byte at a time are closed ($result)"
assert_contains "$(cat "$T/agent.log")" "held a frame unfinished" "the agent's log"
expect_exit 0 as_socket_user "$S" tracer -l
stop_agent
ok "the agent serves on after closing them"
