#!/bin/bash
# sca and sca-manage without an agent: help, usage errors (exit 2, one clear
# line, nothing sent) and an unreachable agent (exit 3 naming the transport
# and how to start the agent).
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
SOCK="unix://$T/agent.sock"

expect_exit 0 "$S" --help
for cmd in start stop report result tracer task run hosts; do
  assert_contains "$OUT" "  $cmd " "sca --help lists $cmd"
done
assert_contains "$OUT" "3 no agent reachable" "sca --help gives the exit codes"
for cmd in start stop report result tracer task run hosts; do
  expect_exit 0 "$S" "$cmd" --help
  assert_contains "$OUT" "usage: sca $cmd" "sca $cmd --help"
done
expect_exit 0 "$S" report -h
assert_contains "$OUT" "--rows N" "report help names --rows"
for cmd in db-create setup purge status stop; do
  expect_exit 0 "$M" "$cmd" --help
  assert_contains "$OUT" "usage: sca-manage $cmd" "sca-manage $cmd --help"
done
expect_exit 0 "$M" --help
assert_contains "$OUT" "status" "sca-manage --help lists status"
ok "help"

# usage errors: exit 2 and one line that says what is wrong.
usage() {
  local words=$1; shift
  expect_exit 2 "$S" "$@"
  assert_contains "$OUT" "$words" "message for: sca $*"
  assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "1" "one line for: sca $*"
}
usage "unknown command 'frobnicate'" frobnicate
usage "unknown option '--bogus'" --bogus tracer
usage "option '--timeout' needs a value" --timeout
usage "--timeout expects a duration" --timeout soon tracer
usage "start needs tracers" start
usage "-a expects tracer names" start -a "a,,b"
usage "-a expects tracer names" start -a "bad name"
usage "start: unexpected argument 'cpu'" start cpu
usage "-f $T/missing.json" start -f "$T/missing.json"
echo '{"agents": [' >"$T/broken.json"
usage "-f $T/broken.json" start -f "$T/broken.json"
echo '{"agents": [{"nom": "cpu"}]}' >"$T/shape.json"
usage 'expected {"agents": [{"name": "TRACER"}, ...]}' start -f "$T/shape.json"
echo '{"agents": []}' >"$T/empty.json"
usage "with at least one tracer" start -f "$T/empty.json"
usage "--duration expects a duration" start -a cpu --duration 0
usage "report: unknown option '--bogus'" report --bogus
usage "report: unknown option '-x'" report -x
usage "report: option '--json' takes no value" report --json=1
usage "report: option '--csv' takes no value" report --csv=x
usage "report: unknown option '--bogus=1'" report --bogus=1
usage "option '--rows' needs a value" report --rows
usage "--rows expects a number of rows" report --rows 0
usage "--json and --csv exclude each other" report --json --csv
usage "give a task UUID or tracers (-a), not both" report 12345678 -a cpu
usage "--last reports the latest task" report --last 12345678
usage "'1234567' is not a task uuid" report 1234567
usage "'not-a-uuid!' is not a task uuid" report not-a-uuid!
usage "report: unexpected argument 'x'" report 12345678 x
usage "give a task UUID or tracers (-a), not both" stop 12345678 -a cpu
usage "--last stops the latest task" stop --last 12345678
usage "is not a task uuid" stop abc
usage "result needs either -l or a result UUID" result
usage "result needs either -l or a result UUID" result -l 12345678
usage "--short goes with -l" result 12345678 --short
usage "apply to one result" result -l --csv
usage "is not a result uuid" result 123
usage "--limit expects a number of tasks" task --limit -1
usage "unknown option '--limit'" tracer --limit 3
usage "tracer: unexpected argument 'x'" tracer x
usage "run needs tracers" run -- true
usage "run needs a command" run -a cpu
usage "run needs a command" run -a cpu --
usage "unsupported transport URL" --transport-url "http://x/" tracer
usage "needs an AMQP transport" --host elsewhere tracer
printf '[rpc]\ntimeout = never\n' >"$T/bad.conf"
usage "$T/bad.conf:2:" --config "$T/bad.conf" tracer
# A transport_url that cannot be used: the same error, naming the file and
# line, from sca and from sca-agent (before it detaches or opens anything).
printf '[DEFAULT]\nstate_dir = %s\n\ntransport_url = rabbit://u:p@h:noport/\n' "$T/badurl" >"$T/badurl.conf"
badurl="$T/badurl.conf:4: transport URL: invalid port in broker address 'h:noport'"
usage "$badurl" --config "$T/badurl.conf" tracer
expect_exit 2 "$SCA_BIN/sca-agent" --config "$T/badurl.conf"
assert_eq "$OUT" "sca-agent: $badurl" "sca-agent: a bad transport_url names the file and line"
[ -e "$T/badurl" ] && fail "sca-agent made its state_dir despite the bad transport_url"
expect_exit 2 "$S"
assert_contains "$OUT" "usage: sca" "no command prints the usage"
expect_exit 2 "$M" status --bogus
expect_exit 2 "$M" stop extra
ok "usage errors exit 2 with one clear line"

# No agent: exit 3, the transport named, how to start one.
unreachable() {
  expect_exit 3 "$@"
  assert_contains "$OUT" "no agent answered on ${WANT_SOCK:-$SOCK}" "names the transport: $*"
  assert_contains "$OUT" "start it with 'sca-agent" "says how to start the agent: $*"
}
for args in "tracer" "task" "start -a cpu" "stop" "report" "result -l" "result 12345678" \
  "run -a cpu -- true"; do
  # shellcheck disable=SC2086
  unreachable "$S" $args
done
unreachable "$S" --config "$SCALPELS_CONF" tracer
assert_contains "$OUT" "'sca-agent --config $SCALPELS_CONF'" "the hint repeats --config"
unreachable "$M" status
assert_contains "$OUT" "reachable:        no" "status says unreachable"
unreachable "$M" stop
# sca-manage repeats --config in its hint as sca does, and sca-agent in the
# db-create it asks for.
for cmd in status stop; do
  unreachable "$M" --config "$SCALPELS_CONF" "$cmd"
  assert_contains "$OUT" "'sca-agent --config $SCALPELS_CONF'" "sca-manage $cmd: the hint repeats --config"
done
printf '[DEFAULT]\nstate_dir = %s\n' "$T/nodb" >"$T/nodb.conf"
expect_exit 1 "$SCA_BIN/sca-agent" --foreground --config "$T/nodb.conf"
assert_contains "$OUT" "database $T/nodb/scalpels.db does not exist: create it with 'sca-manage --config $T/nodb.conf db-create' first" \
  "sca-agent: the db-create hint repeats --config"
# A stale socket file nobody listens on is the same.
/usr/bin/python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/agent.sock"
unreachable "$S" tracer
assert_contains "$OUT" "Connection refused" "the reason is given"
WANT_SOCK="unix://$T/other.sock" unreachable "$S" --transport-url "unix://$T/other.sock" tracer
# A socket the user may not open: the hint is about access, not the agent.
if [ "$(id -u)" = 0 ]; then
  pub=$(mktemp -d /tmp/sca-pub.XXXXXX)
  chmod 755 "$pub"
  cp "$S" "$pub/sca"
  : >"$pub/scalpels.conf"
  chmod 644 "$pub/scalpels.conf"
  expect_exit 3 setpriv --reuid=65534 --regid=65534 --clear-groups "$pub/sca" \
    --config "$pub/scalpels.conf" --transport-url "unix://$T/agent.sock" tracer
  rm -rf "$pub"
  assert_contains "$OUT" "cannot use the agent's socket unix://$T/agent.sock (Permission denied)" \
    "a socket the user may not open is named"
  assert_contains "$OUT" "member of the socket's group" "with what grants access"
fi
ok "no agent: exit 3 with the transport and a hint"

# A broker that accepts the connection and then says nothing: the broker is
# named, not the agent, and nothing waits beyond --timeout.
/usr/bin/python3 -c '
import select, socket
ls = []
for _ in range(4):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); ls.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ls), flush=True)
held = []
while True:
    for s in select.select(ls, [], [])[0]:
        held.append(s.accept()[0])' >"$T/silent.port" &
_cleanup_pids+=($!)
wait_until 10 '[ -s "$T/silent.port" ]' || fail "the silent listeners did not start"
read -r -a silent_ports <"$T/silent.port"
silent="rabbit://guest:guest@127.0.0.1:${silent_ports[0]}/"
for args in "tracer" "hosts" "--all-hosts task"; do
  # shellcheck disable=SC2086
  expect_exit 3 "$S" --transport-url "$silent" --timeout 1 $args
  # Said by the call's timeout or by the login's, whichever ends first.
  assert_contains "$OUT" "sca: cannot reach the broker: " "a silent broker is blamed: sca $args"
  assert_contains "$OUT" "rabbit://127.0.0.1:${silent_ports[0]}/" "and named: sca $args"
  assert_contains "$OUT" "(check --transport-url)" "with where it was given: sca $args"
  case $OUT in *"dropped unsent"*) fail "a call that timed out was reported as a lost message: $OUT" ;; esac
done
ok "a silent broker: exit 3 naming the broker"

# A unix socket that accepts and never answers (an agent stopped with
# SIGSTOP, or hung): not "start it", which would fail beside a live one.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
print("up", flush=True)
held = []
while True:
    held.append(s.accept()[0])' "$T/hung.sock" >"$T/hung.up" &
_cleanup_pids+=($!)
wait_until 10 '[ -s "$T/hung.up" ]' || fail "the hung listener did not start"
expect_exit 3 "$S" --transport-url "unix://$T/hung.sock" --timeout 1 tracer
assert_contains "$OUT" "sca: the agent on unix://$T/hung.sock accepted the connection but did not answer within 1s" \
  "a hung agent is told apart from a missing one"
case $OUT in *"start it with"*) fail "a hung agent was reported as not running: $OUT" ;; esac
ok "a hung agent: exit 3, said to run but not answer"

# Four silent brokers in one URL, tried in order: once its call has timed
# out, sca does not go on to try the brokers it has not reached yet (each
# would cost another connect timeout of 2 s on the way out).  The last of
# the four comes after three such timeouts: it is never reached.  Whether
# a broker was reached is the kernel's to say: a connection to its port,
# taken by the listener or still in its backlog, is a socket on that port.
reached() { ss -Htan "sport = :$1" | grep -v '^LISTEN' || true; }
assert_eq "$(reached "${silent_ports[3]}")" "" "the last silent broker before the test"
many="rabbit://"
for p in "${silent_ports[@]}"; do many+="127.0.0.1:$p,"; done
many="${many%,}/"
expect_exit 3 "$S" --transport-url "$many" --timeout 2 tracer -l
assert_contains "$OUT" "sca: cannot reach the broker: " "four silent brokers are blamed"
[ -n "$(reached "${silent_ports[0]}")" ] || fail "the first silent broker was never reached"
[ -z "$(reached "${silent_ports[3]}")" ] ||
  fail "sca tried every silent broker before exiting: $(reached "${silent_ports[3]}"): $OUT"
ok "four silent brokers: sca exits after its timeout, not after trying every broker"

# run never starts CMD when the tracers could not start.
expect_exit 3 "$S" run -a cpu -- touch "$T/ran"
[ ! -e "$T/ran" ] || fail "run ran CMD although nothing started"
ok "run does not run CMD without tracers"
