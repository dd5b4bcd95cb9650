#!/bin/bash
# A full disk, and after it: the state directory on a small tmpfs of our
# own.  The store's log must not take the little room there is (SQLite
# checkpoints only at about 4 MiB of log); a tracer that cannot write holds
# its lines and says so; a stop while it holds them shows the task as
# `stopping (N lines held: disk full)` in `sca task -l` and `sca-manage
# status`; once space returns every line is stored, the log is cut back and
# the task stops.  Needs root (a mount namespace and a tmpfs).
if [ -z "${SCA_MOUNT_NS:-}" ]; then
  if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
    echo "skip: a full disk needs root (a tmpfs in a mount namespace of our own)"
    exit 0
  fi
  SCA_MOUNT_NS=1 exec unshare -m bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"

FS="$T/fs"
mkdir "$FS"
mount -t tmpfs -o size=16m scalpels-test "$FS"
# Whatever happens, nothing of ours keeps running or keeps the mount.
on_exit() {
  local rc=$?
  for p in "${_cleanup_pids[@]}" $(sqlite3 "$DB" "SELECT pid FROM task_tracer WHERE pid > 0
      UNION ALL SELECT -worker_pid FROM task_tracer WHERE worker_pid > 0" 2>/dev/null); do
    kill -9 -- "$p" 2>/dev/null || true
  done
  umount -l "$FS" 2>/dev/null || true
  (exit "$rc")
  cleanup
}
trap on_exit EXIT
cat >"$SCALPELS_CONF" <<CONF
[DEFAULT]
state_dir = $FS
log_level = info

[agent]
stop_grace = 2
CONF
DB="$FS/scalpels.db"

free_kb() { df -k --output=avail "$FS" | tail -n 1 | tr -d ' '; }
# fill_to KB: a filler file leaves about KB free.
fill_to() {
  rm -f "$FS/filler"
  head -c "$(($(free_kb) - $1))k" /dev/zero >"$FS/filler" 2>/dev/null || true
}
wal_kb() { du -k "$DB-wal" 2>/dev/null | cut -f1; }
task_of() { sql "SELECT t.uuid FROM task t JOIN task_tracer tt ON tt.task_id = t.id WHERE tt.tracer = '$1' ORDER BY t.id DESC LIMIT 1"; }
samples() { sql "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$1' AND r.rtype = 'stream'"; }

"$M" db-create >/dev/null
cat >"$T/burst.sh" <<'EOF'
#!/bin/bash
# burst.sh N: prints 1..N, then waits to be stopped.
seq 1 "$1"
exec sleep 1000
EOF
cat >"$T/steady.sh" <<'EOF'
#!/bin/bash
# steady.sh N: prints 1..N, 500 every 0.1 s, then waits to be stopped.
for ((i = 1; i <= $1; i++)); do
  echo "$i"
  ((i % 500)) || sleep 0.1
done
exec sleep 1000
EOF
chmod +x "$T/burst.sh" "$T/steady.sh"
"$M" setup -t name=burst -t tpl="$T/burst.sh 150000" -t parser=count >/dev/null
"$M" setup -t name=steady -t tpl="$T/steady.sh 30000" -t parser=count >/dev/null

"$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
_cleanup_pids+=($!)
wait_until 10 '[ -S "$FS/agent.sock" ] && "$M" status >/dev/null 2>&1' ||
  fail "the agent did not start: $(cat "$T/agent.log")"

# 1. 2.5 MiB free, less than SQLite lets its log grow to: 30,000 lines in
# small batches (whose log, page images rewritten batch after batch, is
# several times the data) all go in, without the disk ever filling, and
# the log stays small.
fill_to 2560
u=$("$S" start -a steady) || fail "start -a steady"
wait_until 60 '[ "$(samples "$u")" -ge 30000 ]' ||
  fail "steady: $(samples "$u") of 30000 lines stored with 2.5 MiB free; log $(wal_kb) KiB; $(grep -i 'full\|holding' "$T/agent.log" | tail -n 3)"
if grep -q "disk is full" "$T/agent.log"; then fail "the disk filled: $(grep 'disk is full' "$T/agent.log" | head -n 2)"; fi
[ "$(wal_kb)" -le 1024 ] || fail "steady: the log holds $(wal_kb) KiB on a disk with 2.5 MiB free"
expect_exit 0 "$S" stop "$u"
wait_until 15 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'$u'"'")" = stopped ]' || fail "steady did not stop"
ok "with less room than SQLite's checkpoint threshold the log stays small and the disk never fills"

# 2. 3 MiB free and 150,000 lines (about 6 MiB stored): the tracer holds
# what the disk cannot take, and says so.
fill_to 3072
u=$("$S" start -a burst) || fail "start -a burst"
wait_until 30 '"$S" task -l | grep -q "| running (.* lines held: disk full) |"' ||
  fail "no held lines shown: $("$S" task -l) $(tail -n 5 "$T/agent.log")"
ok "a tracer that cannot write shows its held lines: $("$S" task -l | grep -o 'running ([^)]*)')"

# 3. A stop while lines are held: the task is stopping, not running, in
# sca task -l and sca-manage status; the tracer lives on with its lines.
expect_exit 0 "$S" stop "$u"
wait_until 15 '"$S" task -l | grep -q "| stopping ([0-9]* lines held: disk full) |"' ||
  fail "sca task -l after the stop: $("$S" task -l)"
line=$("$S" task -l | grep "$u")
held=$(grep -o 'stopping ([0-9]*' <<<"$line" | grep -o '[0-9]*$')
[ "$held" -gt 0 ] || fail "no lines held: $line"
expect_exit 0 "$M" status
assert_contains "$OUT" "tasks stopping:   $u (" "sca-manage status names the stopping task"
assert_contains "$OUT" "lines held: disk full)" "sca-manage status says why"
assert_contains "$OUT" "tasks running:    0" "sca-manage status: nothing runs"
assert_eq "$(sql "SELECT status FROM task WHERE uuid = '$u'")" "running" "the stored task waits for its tracer"
ok "stopped while holding lines: $line"

# 4. Space returns: every line is stored, the log is cut back (the room is
# not taken again), and the task stops.
rm -f "$FS/filler"
wait_until 30 '[ "$(sql "SELECT status FROM task WHERE uuid = '"'$u'"'")" = stopped ]' ||
  fail "the task did not stop once space returned: $("$S" task -l) $(tail -n 5 "$T/agent.log")"
assert_eq "$(samples "$u")" "150000" "every line produced is stored"
assert_eq "$(sql "SELECT count(DISTINCT value) || ',' || min(value) || ',' || max(value) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u'")" \
  "150000,1.0,150000.0" "1..150000, each once"
assert_eq "$(sql "SELECT lines || ',' || held || ',' || ifnull(held_reason, '') FROM task_tracer tt JOIN task t ON t.id = tt.task_id WHERE t.uuid = '$u'")" \
  "150000,0," "the task's tracer row"
[ "$(wal_kb)" -le 1024 ] || fail "the log holds $(wal_kb) KiB after the stop"
assert_contains "$(cat "$T/agent.log")" "checkpointed the store's log" "the checkpoint after the held batch"
assert_eq "$(stat -c %s "$DB-room")" "262144" "the room kept for the next full disk"
expect_exit 0 "$S" task -l
assert_contains "$OUT" "| $u | stopped " "sca task -l once stored"
ok "space returned: 150,000 of 150,000 lines stored, log $(wal_kb) KiB, task stopped"
