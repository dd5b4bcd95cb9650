#!/bin/bash
# sca-manage db-create and setup: what they write, what they refuse (exit 2,
# nothing written) and what they say.
source "$(dirname "$0")/lib.sh"
M="$SCA_BIN/sca-manage"

expect_exit 0 "$M" --help
assert_contains "$OUT" "db-create" "help lists commands"
expect_exit 2 "$M" frobnicate
assert_contains "$OUT" "unknown command 'frobnicate'" "unknown command"
expect_exit 2 "$M"
expect_exit 2 "$M" --bogus status
assert_eq "$OUT" "sca-manage: unknown option '--bogus' (see 'sca-manage --help')" "unknown global option: one line"
expect_exit 2 "$M" status --bogus
assert_eq "$OUT" "sca-manage: status: unknown option '--bogus' (see 'sca-manage status --help')" \
  "unknown command option: one line naming the command"
expect_exit 2 "$M" purge --older-than
assert_eq "$OUT" "sca-manage: purge: option '--older-than' needs a value" "missing value"

# db-create: creates, registers the shipped tracers, refuses to replace.
expect_exit 1 "$M" setup -s
assert_contains "$OUT" "sca-manage db-create" "setup before db-create says what to do"
expect_exit 0 "$M" db-create
assert_contains "$OUT" "created database $DB" "db-create output"
tracers=$(sql "SELECT group_concat(name || ':' || parser, ' ') FROM (SELECT name, parser FROM tracer ORDER BY name)")
assert_eq "$tracers" "cpu:kv diskio:kv iocount:count mem:kv modelsave:count mysql:log netdev:kv oslolock:count proc:kv rabbit:log rpc:traffic rpccount:count sqlaexec:count traffic:traffic" \
  "shipped tracers and parsers"
assert_eq "$(sql "PRAGMA user_version")" "2" "schema version"
sql "INSERT INTO task(uuid, created) VALUES ('keep-me', 1)"
expect_exit 1 "$M" db-create
assert_contains "$OUT" "already exists" "db-create refuses to replace"
assert_eq "$(sql "SELECT count(*) FROM task")" "1" "existing database untouched"
expect_exit 0 "$M" db-create -f
assert_contains "$OUT" "recreated database $DB" "db-create -f on an existing database"
assert_eq "$(sql "SELECT count(*) FROM task")" "0" "db-create -f replaced the database"
# -f on a database that is not there yet: nothing was replaced.
rm -f "$DB" "$DB-wal" "$DB-shm"
expect_exit 0 "$M" db-create -f
assert_eq "$OUT" "created database $DB with $(echo "$tracers" | wc -w) tracers" "db-create -f on a new database"
ok "db-create"

# db-create -f refuses while something still writes to the database: it
# would go on writing to the deleted file, and its tasks would vanish.
sql "INSERT INTO task(uuid, created) VALUES ('in-use', 1)"
"$SCA_BIN/sca-tracer" "$(new_uuid)" cpu 2>/dev/null &
writer=$!
_cleanup_pids+=("$writer")
wait_until 10 '[ "$(sql "SELECT pid FROM tracer WHERE name = '"'"'cpu'"'"' AND running = 1")" = "$writer" ]' ||
  fail "the tracer did not start"
expect_exit 1 "$M" db-create -f
assert_contains "$OUT" "tracers still write to $DB: cpu (pid $writer)" "a live tracer is named"
assert_eq "$(sql "SELECT count(*) FROM task WHERE uuid = 'in-use'")" "1" "the database was kept"
kill -INT "$writer"
wait "$writer" 2>/dev/null || true
# A row left running by a tracer that died, its pid since reused by an
# unrelated process, holds nothing up.
sleep 600 &
reused=$!
_cleanup_pids+=("$reused")
sql "UPDATE tracer SET running = 1, pid = $reused WHERE name = 'mem'"
mkfifo "$T/agent.hold"
sleep 600 >"$T/agent.hold" &
_cleanup_pids+=($!)
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
print("up", flush=True)
sys.stdin.read()' "$T/agent.sock" <"$T/agent.hold" >"$T/agent.up" 2>&1 &
listener=$!
_cleanup_pids+=("$listener")
wait_until 10 '[ -s "$T/agent.up" ]' || fail "the stand-in agent socket did not start"
expect_exit 1 "$M" db-create -f
assert_contains "$OUT" "the agent is running on $DB ($T/agent.sock accepts connections)" "a running agent is named"
assert_eq "$(sql "SELECT count(*) FROM task WHERE uuid = 'in-use'")" "1" "the database was kept"
kill "$listener"
wait "$listener" 2>/dev/null || true
rm -f "$T/agent.sock"
expect_exit 0 "$M" db-create -f
assert_eq "$(sql "SELECT count(*) FROM task")" "0" "replaced once nothing writes to it (a reused pid is no tracer)"
kill "$reused"
ok "db-create -f refuses while an agent or a tracer uses the database"

# setup: register, update, data options, table.
expect_exit 0 "$M" setup -t name=echo -t tpl="echo %(word)s" -d word=hello
assert_contains "$OUT" "tracer echo: echo %(word)s (parser log)" "setup output"
assert_eq "$(sql "SELECT tpl || '|' || parser || '|' || title FROM tracer WHERE name = 'echo'")" \
  "echo %(word)s|log|echo" "registered tracer"
expect_exit 0 "$M" setup -t name=echo -t parser=count -t title="Echo Count"
assert_eq "$(sql "SELECT tpl || '|' || parser || '|' || title FROM tracer WHERE name = 'echo'")" \
  "echo %(word)s|count|Echo Count" "update keeps the template"
expect_exit 0 "$M" setup -d "url=a=b=c" -d empty=
assert_eq "$(sql "SELECT value FROM config WHERE key = 'url'")" "a=b=c" "a value may contain '='"
assert_eq "$(sql "SELECT count(*) FROM config WHERE key = 'empty' AND value = ''")" "1" "empty value"
expect_exit 0 "$M" setup -s
assert_contains "$OUT" "| word         | hello" "setup -s table"
expect_exit 0 "$M" setup -t name=later -t tpl="run %(unset_key)s"
assert_contains "$OUT" "%(unset_key)s, which is not set" "warning about an unset key"
ok "setup registers, updates and shows"

# Bad input: exit 2, nothing written.
snapshot() { sql ".dump tracer" ; sql ".dump config"; }
before=$(snapshot)
check_refused() {
  local words=$1; shift
  expect_exit 2 "$M" setup "$@"
  assert_contains "$OUT" "$words" "message for: $*"
  assert_contains "$OUT" "nothing written" "says nothing was written for: $*"
  assert_eq "$(snapshot)" "$before" "database unchanged after: $*"
}
check_refused "invalid tracer name 'bad name'" -t "name=bad name" -t tpl=x -d also=this
check_refused "invalid tracer name" -t "name=$(printf 'a%.0s' {1..65})" -t tpl=x
check_refused "invalid tracer name" -t "name=semi;colon" -t tpl=x
check_refused "unknown parser 'xml' (known: log, count, traffic, kv)" -t name=ok -t tpl=x -t parser=xml -d also=this
check_refused "empty" -t name=ok -t "tpl=   "
check_refused "needs a template" -t name=brandnew
check_refused "quote" -t name=ok -t "tpl=echo 'unterminated"
expect_exit 2 "$M" setup -t noequals
assert_contains "$OUT" "-t expects key=value" "-t without ="
expect_exit 2 "$M" setup -t colour=red
assert_contains "$OUT" "unknown tracer option 'colour'" "unknown -t key"
expect_exit 2 "$M" setup -d "bad key=1"
assert_contains "$OUT" "invalid data option name" "bad -d key"
expect_exit 2 "$M" setup
# A value that is not UTF-8 (the store and the agent's answers are JSON
# text) is refused naming its option, raw bytes not echoed, and the valid
# options beside it are not written either.
check_refused "-d k3: the value is not valid UTF-8" -d k2=abc -d "k3=$(printf 'a\xffb')"
check_refused "-d k3: the value is not valid UTF-8" -d "k3=$(printf 'a\xffb')"
check_refused "-t title: the value is not valid UTF-8" -t name=ok -t tpl=x -t "title=$(printf '\xc3(')"
case $OUT in *$'\xff'*|*$'\xc3'*) fail "the raw bytes were echoed: $OUT" ;; esac
assert_eq "$(snapshot)" "$before" "database unchanged after the bad command lines"
ok "bad setup input refused with exit 2, nothing written"

# A bad config file is an error naming file:line.
printf '[agent]\nstop_grace = never\n' >"$T/bad.conf"
expect_exit 2 "$M" --config "$T/bad.conf" setup -s
assert_contains "$OUT" "$T/bad.conf:2:" "config error names file:line"
# A file of random bytes (given by mistake) after a line that parses as an
# unknown key with terminal controls in it: the warnings echo them escaped.
{ printf '[agent]\nk\033]0;title\007\xff = 1\n'; head -c 4096 /dev/urandom; } >"$T/binary.conf"
expect_exit 2 "$M" --config "$T/binary.conf" setup -s
assert_contains "$OUT" "unknown key [agent] k\x1b]0;title\x07\xff ignored" "the unknown key, escaped"
printf '%s' "$OUT" | /usr/bin/python3 -c '
import sys, unicodedata
text = sys.stdin.buffer.read().decode("utf-8")  # fails on a byte that is not UTF-8
bad = [c for c in text if c != "\n" and unicodedata.category(c) == "Cc"]
sys.exit("control characters echoed: %r" % bad if bad else 0)' || fail "random bytes reached the terminal as they are"
ok "config errors name file:line"

# purge keeps running tasks, deletes old stopped ones with their samples.
sql "INSERT INTO task(uuid, created, stopped, status) VALUES ('old', 1, 2, 'stopped'), ('live', 1, NULL, 'running')"
sql "INSERT INTO result(uuid, task_id, tracer, name, rtype, created) SELECT 'r-old', id, 'x', 'x', 'stream', 1 FROM task WHERE uuid = 'old'"
sql "INSERT INTO sample(result_id, ts, value) SELECT id, 1, 1 FROM result WHERE uuid = 'r-old'"
expect_exit 2 "$M" purge --older-than soon
expect_exit 0 "$M" purge --older-than 1h
assert_contains "$OUT" "purged 1 task" "purge output"
assert_eq "$(sql "SELECT group_concat(uuid) FROM task")" "live" "running task kept"
assert_eq "$(sql "SELECT count(*) FROM sample")" "0" "samples of the purged task gone"
assert_contains "$OUT" "the file keeps its size while a task runs" "no compaction under a running task"
sql "UPDATE task SET status = 'stopped', stopped = 2 WHERE uuid = 'live'"
expect_exit 0 "$M" purge --older-than 1h
assert_eq "$OUT" "purged 1 task" "with none running, purged and compacted without a note"
ok "purge"
