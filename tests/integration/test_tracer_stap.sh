#!/bin/bash
# The systemtap tracers: registered with the right template, parser and
# title, and that parser turns their output (tests/fixtures/stap) into one
# "count" series named as the original named it.
source "$(dirname "$0")/lib.sh"

"$SCA_BIN/sca-manage" db-create >/dev/null
declare -A script=([oslolock]=oslo-lock [modelsave]=model-save [sqlaexec]=sqla-exec [rpccount]=rpc-count)
declare -A title=([oslolock]=Oslo-Lock [modelsave]=Model-Save [sqlaexec]=Sqlalchemy-Execute [rpccount]=RPC-Count)
for name in oslolock modelsave sqlaexec rpccount; do
  row=$(sql "SELECT tpl || '|' || parser || '|' || title FROM tracer WHERE name = '$name'")
  assert_eq "$row" "stap %(tracer_path)s/${script[$name]}.stp|count|${title[$name]}" "registration of $name"
  [ -f "$SCA_SRC/tracers/${script[$name]}.stp" ] || fail "${script[$name]}.stp not shipped"

  fixture="$SCA_SRC/tests/fixtures/stap/$name.out"
  parser=$(sql "SELECT parser FROM tracer WHERE name = '$name'")
  "$SCA_BIN/sca-manage" setup -t name="replay-$name" -t tpl="cat $fixture" -t parser="$parser" \
    -t title="${title[$name]}" >/dev/null
  u=$(new_uuid)
  "$SCA_BIN/sca-tracer" "$u" "replay-$name" 2>/dev/null
  got=$(sql "SELECT r.name || ',' || r.unit || ',' || group_concat(CAST(s.value AS INTEGER), ' ') FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u' GROUP BY r.id")
  assert_eq "$got" "${title[$name]},count,$(tr '\n' ' ' <"$fixture" | sed 's/ $//')" "$name output stored"
done
ok "systemtap tracers registered; their output parsed into count series"
