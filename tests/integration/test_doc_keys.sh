#!/bin/bash
# The documentation says what the program does: every configuration key it
# names is one the program reads, and the text report's example shows the
# names and units a tracer of its kind really stores.
source "$(dirname "$0")/lib.sh"
M="$SCA_BIN/sca-manage"

# 1. Keys written `[section] key` in the docs and the manual pages: each,
# alone in a file, is read (a key the program does not know is a warning,
# "unknown key ... ignored").
keys=$(/usr/bin/python3 -c '
import re, sys
found = set()
for path in sys.argv[1:]:
    found.update(re.findall(r"`\[(\w+)\] (\w+)(?=[` =])", open(path, encoding="utf-8").read()))
for section, key in sorted(found):
    print(section, key)' "$SCA_SRC"/README.md "$SCA_SRC"/docs/*.md "$SCA_SRC"/man/*.in)
[ "$(printf '%s\n' "$keys" | wc -l)" -gt 10 ] || fail "too few keys found in the docs: $keys"
while read -r section key; do
  printf '[DEFAULT]\nstate_dir = %s\n[%s]\n%s = 1\n' "$T" "$section" "$key" >"$T/key.conf"
  # A value this file gives may be refused (exit 2): not what is checked.
  "$M" --config "$T/key.conf" setup --help >"$T/key.out" 2>&1 || true
  case $(cat "$T/key.out") in
    *"unknown key"*) fail "the docs name [$section] $key, which the program ignores: $(grep 'unknown key' "$T/key.out")" ;;
  esac
done <<<"$keys"
ok "$(printf '%s\n' "$keys" | wc -l) configuration keys named in the docs are read"

# 2. The text report example in docs/cli.md (its table of a result): a traffic tracer titled
# as the shipped rpc one, fed a line in the parser's format, stores results
# under the names and units the example's header and summary line show.
"$M" db-create >/dev/null
"$M" setup -t name=doctraffic -t parser=traffic -t title="Port Traffic" \
  -t tpl="/bin/echo '12.00 pkt/s 3456.50 byte/s'" >/dev/null
u=$(new_uuid)
expect_exit 0 "$SCA_BIN/sca-tracer" "$u" doctraffic
stored=$(sql "SELECT r.name || ' (' || r.unit || ')' FROM result r JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u' ORDER BY 1")
[ -n "$stored" ] || fail "the traffic tracer stored no result: $OUT"
shown=$(/usr/bin/python3 -c '
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
example = next(b for b in text.split("```")[1::2] if "\n| timestamp " in b)
print("\n".join(re.findall(r"^\| timestamp +\| (.+?) +\|$", example, re.M) +
                re.findall(r"^\w+ (.+?): count ", example, re.M)))' "$SCA_SRC/docs/cli.md")
[ -n "$shown" ] || fail "no header or summary line found in the example of docs/cli.md"
while read -r heading; do
  grep -qxF "$heading" <<<"$stored" ||
    fail "docs/cli.md's report example shows '$heading'; the tracer stores: $(echo $stored)"
done <<<"$shown"
ok "the report example's headings are ones the program makes: $(echo $shown)"
