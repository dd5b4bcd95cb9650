#!/usr/bin/env bash
# The Debian package as an operator meets it, in a fresh minimal Debian 12
# root where nothing else of Scalpels is (scripts/package-test.sh runs it
# there, as root, with the network for apt-get):
#
#   tests/package/install.sh OLDER.deb NEW.deb
#
# 1. apt-get installs OLDER.deb and the dependencies it declares; the files
#    are in place, the programs find every library, the two conffiles are
#    conffiles.  sca-manage db-create, sca-agent, sca run -a cpu -- sleep 2
#    and sca report trace and report; the agent stops.
# 2. The operator edits scalpels.conf; apt-get upgrades to NEW.deb: the edit
#    is kept, state_dir is byte for byte as it was, the new programs report
#    the old task alike and trace a new one.
# 3. apt-get remove: the programs go, the configuration and state_dir stay.
#    apt-get purge: /etc/scalpels goes, state_dir stays as it was.
# 4. Installed again, the package leaves the database purge left as it was,
#    and its programs read it.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: tests/package/install.sh OLDER.deb NEW.deb" >&2; exit 2; }
old_deb=$(realpath "$1") new_deb=$(realpath "$2")
export DEBIAN_FRONTEND=noninteractive
state=/var/lib/scalpels
conf=/etc/scalpels/scalpels.conf

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
assert_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "$3: expected to contain '$2', got: $1"; }
# A report's summary line of cpu series $2 (marker, name, unit %).
assert_series() { grep -Eq "^<result [0-9a-f-]{36}> +$2 +% " <<<"$1" || fail "$3: no summary line of cpu $2 in: $1"; }
# Runs apt-get without a terminal: a question (a conffile prompt) fails
# the run rather than waits.
apt() { apt-get -y -q -o Dpkg::Use-Pty=0 "$@" </dev/null >>/tmp/apt.log 2>&1 || {
  tail -n 30 /tmp/apt.log >&2
  fail "apt-get $*"
}; }
deb_field() { dpkg-deb -f "$1" "$2"; }
pkg_status() { dpkg-query -W -f='${db:Status-Abbrev}${Version}' scalpels 2>/dev/null || true; }
# What is in state_dir: every entry with its mode and size, and every
# file's checksum.
state_snapshot() {
  (cd "$state" && find . -printf '%p %M %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

# The pid of the agent this script started, for the trap: this root shares
# /proc with the machine, where sca-agents not of this test may run.
agent_pid=''
trap '[ -z "$agent_pid" ] || kill -9 "$agent_pid" 2>/dev/null; true' EXIT
# in_this_root PID: whether PID's / is this root's, not the machine's (by
# device and inode: readlink says / for both).
in_this_root() { [ "$(stat -Lc %d:%i "/proc/$1/root" 2>/dev/null)" = "$(stat -c %d:%i /)" ]; }
# running PID: whether PID is a process that has not ended (a zombie has).
running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
# start_agent: sca-agent, detached; its pid, from sca-manage status, in
# $agent_pid once it is an sca-agent of this root.
start_agent() {
  sca-agent || fail "sca-agent did not start: $(tail -n 5 "$state/agent.log" 2>/dev/null)"
  local status pid
  status=$(sca-manage status) || fail "sca-manage status after sca-agent detached: $status"
  pid=$(sed -n 's/^pid: *//p' <<<"$status")
  [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sca-agent ] && in_this_root "$pid" ||
    fail "sca-manage status names pid '$pid', not an sca-agent of this root: $status"
  agent_pid=$pid
}
# stop_agent: sca-manage stop, and the agent's process ended.
stop_agent() {
  assert_eq "$(sca-manage stop)" "agent stopped" "sca-manage stop"
  local _
  for _ in $(seq 100); do running "$agent_pid" || break; sleep 0.1; done
  ! running "$agent_pid" || fail "the agent (pid $agent_pid) still runs 10 s after sca-manage stop"
  agent_pid=''
}

old_version=$(deb_field "$old_deb" Version)
new_version=$(deb_field "$new_deb" Version)
dpkg --compare-versions "$old_version" lt "$new_version" ||
  fail "$old_deb ($old_version) is not older than $new_deb ($new_version)"
[ -z "$(pkg_status)" ] || fail "scalpels is already known to dpkg here: $(pkg_status)"
[ ! -e $state ] || fail "$state exists before the package is installed"

# --- 1. install -----------------------------------------------------------
apt-get update -q >/tmp/apt.log 2>&1 || { cat /tmp/apt.log >&2; fail "apt-get update"; }
apt install "$old_deb"
assert_eq "$(pkg_status)" "ii $old_version" "dpkg's status after installing $old_deb"

for f in /usr/bin/sca /usr/bin/sca-agent /usr/bin/sca-manage /usr/bin/sca-tracer \
  /usr/bin/sca-sampler /usr/bin/sca-rabbit-trace \
  /usr/share/scalpels/tracers/device-input-traffic.sh /usr/share/scalpels/tracers/mysql-live.sh \
  /usr/share/scalpels/tracers/oslo-lock.stp $conf /etc/logrotate.d/scalpels \
  /usr/lib/systemd/system/sca-agent.service \
  /usr/share/man/man1/sca.1 /usr/share/man/man5/scalpels.conf.5 /usr/share/man/man8/sca-agent.8 \
  /usr/share/man/man8/sca-manage.8 /usr/share/man/man8/sca-tracer.8 \
  /usr/share/bash-completion/completions/sca /usr/share/bash-completion/completions/sca-manage \
  /usr/share/doc/scalpels/README.md; do
  [ -e "$f" ] || fail "$f is not installed"
done
[ -x /usr/share/scalpels/tracers/device-input-traffic.sh ] || fail "the tracer scripts are not executable"
assert_contains "$(cat /usr/lib/systemd/system/sca-agent.service)" \
  "ExecStart=/usr/bin/sca-agent --foreground" "the unit runs the installed agent"
ok "installed $old_version: programs, tracers, config, unit, logrotate, man pages, completion"

conffiles=$(dpkg-query -W -f='${Conffiles}\n' scalpels | awk 'NF { print $1 }' | sort)
assert_eq "$conffiles" "/etc/logrotate.d/scalpels
$conf" "the package's conffiles"
[ -f /var/lib/systemd/deb-systemd-helper-enabled/sca-agent.service.dsh-also ] ||
  fail "postinst did not record the unit with deb-systemd-helper"
[ ! -e /etc/systemd/system/multi-user.target.wants/sca-agent.service ] ||
  fail "the unit was enabled on install (the agent needs a database first)"
assert_eq "$(stat -c '%F %a %U' $state)" "directory 750 root" "state_dir made by postinst"
assert_eq "$(ls -A $state)" "" "state_dir after install (no database until db-create)"
ok "conffiles ${conffiles//$'\n'/ }; state_dir $state made; the unit known, not enabled"

# Every library every program needs is there: the declared Depends, which
# dpkg-shlibdeps derived from the programs, brought them.
depends=$(deb_field "$old_deb" Depends)
for lib in libc6 libuv1 librabbitmq4 libjansson4 libsqlite3-0 libinih1 libuuid1 libssl3; do
  assert_contains "$depends" "$lib " "Depends"
done
for p in /usr/bin/sca*; do
  missing=$(ldd "$p" | grep 'not found' || true)
  [ -z "$missing" ] || fail "$p lacks libraries the package does not depend on: $missing"
done
ok "Depends: $depends"

# --- a session, as README's "A session by hand" ---------------------------
assert_contains "$(sca-manage db-create)" "created database $state/scalpels.db" "sca-manage db-create"
start_agent
run_out=$(sca run -a cpu -- sleep 2 2>&1) || fail "sca run -a cpu -- sleep 2: $run_out"
assert_series "$run_out" user "sca run's report"
task=$(sed -n 's/^reporting task: <\(.*\)>$/\1/p' <<<"$run_out")
[ -n "$task" ] || fail "sca run named no task: $run_out"
report=$(sca report) || fail "sca report: $report"
assert_contains "$report" "reporting task: <$task>" "sca report"
for name in user system idle; do
  assert_series "$report" "$name" "sca report"
done
csv_before=$(sca report --csv "$task")
samples=$(grep -c ",cpu,.*,stream," <<<"$csv_before" || true)
[ "$samples" -ge 1 ] || fail "the task stored no cpu samples: $csv_before"
stop_agent
ok "db-create, sca-agent, sca run -a cpu -- sleep 2, sca report: task $task, $samples samples"

# --- 2. upgrade -----------------------------------------------------------
sed -i 's/^#host =$/host = edited-node/' $conf
grep -qx 'host = edited-node' $conf || fail "could not edit $conf"
conf_sum=$(sha256sum $conf)
state_before=$(state_snapshot)
apt install "$new_deb"
assert_eq "$(pkg_status)" "ii $new_version" "dpkg's status after the upgrade"
assert_eq "$(sha256sum $conf)" "$conf_sum" "the edited $conf after the upgrade"
assert_eq "$(ls /etc/scalpels)" "scalpels.conf" "/etc/scalpels after the upgrade (no .dpkg-new/-dist)"
assert_eq "$(state_snapshot)" "$state_before" "state_dir after the upgrade"
ok "upgraded $old_version -> $new_version: the conffile edit kept, state_dir untouched"

start_agent
assert_eq "$(sca report --csv "$task")" "$csv_before" "the old task's samples read by the new programs"
agent_status=$(sca-manage status)
grep -Eq "^host: +edited-node$" <<<"$agent_status" ||
  fail "the upgraded agent did not read the edited configuration: $agent_status"
run_out=$(sca run -a cpu -- sleep 2 2>&1) || fail "sca run after the upgrade: $run_out"
assert_series "$run_out" user "sca run's report after the upgrade"
new_task=$(sed -n 's/^reporting task: <\(.*\)>$/\1/p' <<<"$run_out")
tasks=$(sca task)
assert_contains "$tasks" "$new_task" "sca task after the upgrade"
assert_contains "$tasks" "$task" "sca task after the upgrade"
stop_agent
ok "after the upgrade: the agent reads the edited host; the old task reads the same; a new one traces"

# --- 3. remove, purge -----------------------------------------------------
state_before=$(state_snapshot)
apt remove scalpels
assert_eq "$(pkg_status)" "rc $new_version" "dpkg's status after remove"
for f in /usr/bin/sca /usr/bin/sca-agent /usr/share/scalpels/tracers /usr/lib/systemd/system/sca-agent.service; do
  [ ! -e "$f" ] || fail "$f is still there after remove"
done
assert_eq "$(sha256sum $conf)" "$conf_sum" "$conf after remove (conffiles stay until purge)"
assert_eq "$(state_snapshot)" "$state_before" "state_dir after remove"
ok "removed: programs gone; the configuration and state_dir kept"

apt purge scalpels
assert_eq "$(pkg_status)" "" "dpkg's status after purge"
[ ! -e /etc/scalpels ] || fail "/etc/scalpels is still there after purge: $(ls -la /etc/scalpels)"
[ ! -e /etc/logrotate.d/scalpels ] || fail "/etc/logrotate.d/scalpels is still there after purge"
[ ! -e /var/lib/systemd/deb-systemd-helper-enabled/sca-agent.service.dsh-also ] ||
  fail "deb-systemd-helper's record of the unit is still there after purge"
assert_eq "$(state_snapshot)" "$state_before" "state_dir after purge"
ok "purged: /etc/scalpels gone; state_dir $state and its database kept"

# --- 4. the database outlives the package ---------------------------------
apt install "$new_deb"
assert_eq "$(state_snapshot)" "$state_before" "state_dir after installing over it"
start_agent
assert_eq "$(sca report --csv "$task")" "$csv_before" "the old task's samples after purge and reinstall"
stop_agent
apt purge scalpels
[ -f $state/scalpels.db ] || fail "$state/scalpels.db is gone after the second purge"
ok "installed again after purge: the database purge left reads alike; purged again, it stays"
