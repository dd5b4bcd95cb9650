#!/bin/bash
# The mysql tracer against a real MariaDB started here: queries arrive as
# log lines, and the server's general-log settings are restored afterwards.
source "$(dirname "$0")/lib.sh"

command -v mariadbd >/dev/null || fail "mariadb-server is not installed"
db="$T/mysql"
sock="$T/mysql.sock"
mariadb-install-db --no-defaults --datadir="$db" --user="$(id -un)" --skip-test-db >"$T/install-db.log" 2>&1 ||
  fail "mariadb-install-db failed: $(tail -5 "$T/install-db.log")"
mariadbd --no-defaults --datadir="$db" --socket="$sock" --skip-networking --user="$(id -un)" \
  --pid-file="$T/mysql.pid" --log-error="$T/mysql.err" &
server=$!
_cleanup_pids+=("$server")
wait_until 30 'mysql -S "$sock" -N -B -e "SELECT 1" >/dev/null 2>&1' || fail "MariaDB did not start: $(tail -5 "$T/mysql.err")"
q() { mysql -S "$sock" -N -B -e "$1"; }
q "SET GLOBAL general_log_file = '$T/original.log'; SET GLOBAL general_log = 0; SET GLOBAL log_output = 'TABLE'"
before=$(q "SELECT @@global.general_log, @@global.general_log_file, @@global.log_output")
ok "private MariaDB on $sock"

"$SCA_BIN/sca-manage" db-create >/dev/null
"$SCA_BIN/sca-manage" setup -d mysql_socket="$sock" >/dev/null
u=$(new_uuid)
"$SCA_BIN/sca-tracer" "$u" mysql 2>"$T/tracer.log" &
tracer=$!
_cleanup_pids+=("$tracer")
wait_until 10 'test "$(q "SELECT @@global.general_log")" = 1' || fail "general log never switched on"
sleep 0.5
q "SELECT 42 AS answer"
q "CREATE DATABASE scalpels_probe"
# Not "| grep -q", which may stop reading mid-output: SIGPIPE, pipefail.
wait_until 10 'grep -q "CREATE DATABASE scalpels_probe" <<<"$(sql "SELECT text FROM sample")"' ||
  fail "queries never reached the store: $(sql "SELECT text FROM sample")"
kill -INT "$tracer"
wait "$tracer"
lines=$(sql "SELECT text FROM sample s JOIN result r ON r.id = s.result_id WHERE r.tracer = 'mysql' AND r.name = 'MySQL'")
assert_contains "$lines" "Query SELECT 42 AS answer" "query line"
assert_contains "$lines" "Query CREATE DATABASE scalpels_probe" "statement line"
assert_eq "$(q "SELECT @@global.general_log, @@global.general_log_file, @@global.log_output")" "$before" \
  "server settings restored"
[ -z "$(ls "$db"/scalpels-live-*.log 2>/dev/null)" ] || fail "private log file left behind"
assert_eq "$(sql "SELECT exit_code FROM task_tracer WHERE tracer = 'mysql'")" "0" "worker exit status"
ok "mysql tracer streamed queries and restored general_log settings"
kill "$server"
wait "$server" || true
