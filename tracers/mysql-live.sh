#!/bin/bash
# mysql-live.sh [SOCKET]
#
# Streams what a MySQL/MariaDB server does, one log line per statement, for
# the "log" parser: it points the server's general query log at a private
# file, follows it, and on exit (SIGINT, SIGTERM, or the follower ending)
# restores the server's own general_log, general_log_file and log_output
# and removes the file.  Connects as the invoking user over SOCKET (default
# /run/mysqld/mysqld.sock); no sudo.
set -u
sock=${1:-/run/mysqld/mysqld.sock}
sql() { mysql --protocol=socket -S "$sock" -N -B -e "$1"; }

if ! settings=$(sql "SELECT @@global.general_log, @@global.general_log_file, @@global.log_output, @@datadir"); then
  echo "cannot query the server on $sock" >&2
  exit 1
fi
IFS=$'\t' read -r old_on old_file old_output datadir <<<"$settings"
log="${datadir%/}/scalpels-live-$$.log"

quote() { printf "'%s'" "${1//\'/\'\'}"; }
restore() {
  trap - INT TERM EXIT
  [ -n "${follower:-}" ] && kill "$follower" 2>/dev/null
  sql "SET GLOBAL general_log = $old_on; SET GLOBAL general_log_file = $(quote "$old_file"); SET GLOBAL log_output = $(quote "$old_output")" ||
    echo "could not restore general_log=$old_on general_log_file=$old_file log_output=$old_output" >&2
  rm -f "$log"
  exit 0
}
trap restore INT TERM EXIT

sql "SET GLOBAL general_log_file = $(quote "$log"); SET GLOBAL log_output = 'FILE'; SET GLOBAL general_log = 1" || exit 1
# Tell sca-tracer that it runs (docs/tracers.md), and keep the descriptor
# from the programs started below.
if [ -n "${SCA_READY_FD:-}" ]; then
  echo ready >&"$SCA_READY_FD"
  exec {SCA_READY_FD}>&-
fi

# General log lines are "[date time]\t<spaces><id> <Command>\t<argument>";
# continuation lines of a multi-line statement have no such prefix.  Print
# "<Command> <argument>" for each statement, continuations as they are, and
# skip the server's banner lines.
tail -n +1 -F "$log" 2>/dev/null | awk '
  /^(\/.*Version: |Tcp port: |Time[ \t]+Id[ \t]+Command)/ { next }
  {
    line = $0
    sub(/^[0-9]+[ \t]+[0-9:]+/, "", line)
    if (match(line, /^\t+ *[0-9]+ [A-Za-z][A-Za-z_ ]*\t/)) {
      head = substr(line, 1, RLENGTH - 1)
      sub(/^\t+ *[0-9]+ /, "", head)
      print head " " substr(line, RLENGTH + 1)
    } else {
      print $0
    }
    fflush()
  }' &
follower=$!
wait "$follower"
