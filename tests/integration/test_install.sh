#!/bin/bash
# An installed tree works on its own: `cmake --install` to a prefix, then
# the installed programs find their tracers and sampler without any
# environment variable.
source "$(dirname "$0")/lib.sh"

prefix="$T/prefix"
cmake --install "$SCA_BUILD" --prefix "$prefix" >"$T/install.log"
for f in bin/sca-tracer bin/sca-manage bin/sca-sampler share/scalpels/tracers/device-input-traffic.sh \
  share/scalpels/tracers/mysql-live.sh share/scalpels/tracers/oslo-lock.stp etc/scalpels/scalpels.conf \
  share/man/man1/sca.1 share/man/man5/scalpels.conf.5 share/man/man8/sca-agent.8 \
  share/bash-completion/completions/sca share/bash-completion/completions/sca-manage; do
  [ -e "$prefix/$f" ] || fail "$f not installed"
done
[ -x "$prefix/share/scalpels/tracers/device-input-traffic.sh" ] || fail "tracer scripts not executable"
assert_eq "$(readlink "$prefix/share/bash-completion/completions/sca-manage")" "sca" \
  "sca-manage's completion is sca's"
ok "installed layout"

"$prefix/bin/sca-manage" db-create >/dev/null
"$prefix/bin/sca-manage" setup -d dev=lo -d interval=0.2 >/dev/null
for tracer in traffic cpu; do
  u=$(new_uuid)
  "$prefix/bin/sca-tracer" "$u" "$tracer" 2>"$T/$tracer.log" &
  pid=$!
  _cleanup_pids+=("$pid")
  wait_until 10 'test "$(sql "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '"'"'$u'"'"' AND r.rtype = '"'"'stream'"'"'")" -ge 2' ||
    fail "installed $tracer tracer stored nothing: $(cat "$T/$tracer.log")"
  kill -INT "$pid"
  wait "$pid"
  assert_contains "$(cat "$T/$tracer.log")" "running $prefix/" "$tracer worker path comes from the prefix"
done
assert_eq "$(sql "SELECT group_concat(DISTINCT unit) FROM result WHERE tracer = 'traffic' AND rtype = 'stream'")" \
  "pkt/s,byte/s" "traffic results"
ok "installed traffic (script) and cpu (sampler) tracers ran from $prefix"
