#!/bin/bash
# The node's data are closed to other local users: STATE_DIR is 0750, the
# database and its -wal and -shm are 0640 whatever the umask, and looser
# files left by an older version (or by hand) are tightened, with a
# warning, when sca-manage or the agent opens them.  Checked as a user
# outside the agent's group (nobody), who must not read a sample, and as one
# in it, who may.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
use_private_state
# nobody in a group of its own, and in the agent's group (root's here,
# since the agent runs as root).
as_nobody() { as_user 65534 "$@"; }
as_group_member() { as_user "$(id -g)" "$@"; }
mode() { stat -c %a "$1"; }

# --- Created private, whatever the umask -------------------------------------
(umask 000 && "$M" db-create >/dev/null)
assert_eq "$(mode "$STATE")" 750 "STATE_DIR made under umask 000"
assert_eq "$(mode "$DB")" 640 "database made under umask 000"
(umask 022 && "$M" db-create -f >/dev/null)
assert_eq "$(mode "$DB")" 640 "database made again under umask 022"
ok "db-create makes STATE_DIR 0750 and the database 0640 under umask 000 and 022"

# The agent and a tracer write samples: SQLite makes -wal and -shm now.
"$M" setup -d interval=0.1 >/dev/null
umask 022
start_agent
task=$("$S" start -a cpu)
wait_until 10 '[ "$(sql "SELECT count(*) FROM sample")" -gt 0 ]' || fail "no sample stored"
for f in "$DB-wal" "$DB-shm"; do
  [ -f "$f" ] || fail "$f does not exist while the agent runs"
  assert_eq "$(mode "$f")" 640 "$(basename "$f") made by SQLite under umask 022"
done
ok "-wal and -shm take the database's 0640"

# --- What another user can do --------------------------------------------------
expect_exit 1 as_nobody sqlite3 -readonly "$DB" "SELECT count(*) FROM sample"
ok "nobody cannot read the database: STATE_DIR is closed ($OUT)"
# Open the directory, as a database configured elsewhere might be: the
# files' own modes must still hold.
chmod o+x "$STATE"
expect_exit 1 as_nobody sqlite3 -readonly "$DB" "SELECT count(*) FROM sample"
assert_contains "$OUT" "unable to open database" "sqlite3 as nobody"
for f in "$DB" "$DB-wal" "$DB-shm"; do
  expect_exit 1 as_nobody cat "$f"
  assert_contains "$OUT" "Permission denied" "reading $(basename "$f") as nobody"
done
ok "nobody cannot read the database, -wal or -shm even in an open directory"
# The same files are open to the agent's group (so the checks above fail
# for the right reason).
for f in "$DB" "$DB-wal" "$DB-shm"; do
  as_group_member cat "$f" >/dev/null || fail "a member of the agent's group cannot read $f"
done
ok "the agent's group reads them"
# ...and uses the socket, but admin methods stay root's and the agent's user's.
expect_exit 0 as_group_member "$S" tracer -l
expect_exit 1 as_group_member "$M" stop
assert_contains "$OUT" "PermissionDenied: stop is an admin method" "sca-manage stop by a group member"
expect_exit 0 "$M" status
ok "a member of the agent's group calls the agent, but not its admin method stop"

# --- Looser files are tightened ---------------------------------------------------
chmod 0644 "$DB" "$DB-wal" "$DB-shm"
chmod 0664 "$DB-shm"
expect_exit 0 "$M" setup -s
for f in "$DB" "$DB-wal" "$DB-shm"; do
  assert_contains "$OUT" "warning: $f had mode 06" "sca-manage warns about $(basename "$f")"
  assert_eq "$(mode "$f")" 640 "$(basename "$f") after sca-manage"
done
assert_contains "$OUT" "$DB-shm had mode 0664; tightened to 0640: the database is for its owner and group only" "the warning's words"
ok "sca-manage tightens 0644 and 0664 files to 0640, with a warning"
expect_exit 1 as_nobody cat "$DB"

"$S" stop "$task" >/dev/null
stop_agent
chmod 0604 "$DB"
: >"$T/agent.log"
start_agent
assert_contains "$(cat "$T/agent.log")" "warning: $DB had mode 0604; tightened to 0600" \
  "the agent's warning"
assert_eq "$(mode "$DB")" 600 "a 0604 database after the agent opened it"
stop_agent
ok "the agent tightens the database too, keeping what is tighter (0604 -> 0600)"
