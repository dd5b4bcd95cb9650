#!/bin/bash
# requires: rabbitmq
# sca report --csv and --json of a task of 200,000 samples and a log with
# text CSV must quote, over the unix socket and over AMQP: the CSV equals
# an export of the same rows straight from the store byte for byte, the
# JSON holds every sample as the store has it in the documented shape, and
# sca's peak RSS stays under 32 MiB (it writes pages as they come instead
# of holding the task).  Then a report of a task that is still being
# written: as many rows as its count says, in time order.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
PY=${PYTHON:-/usr/bin/python3}
use_amqp stream "timeout = 60"
rows=200000
rss_max_kb=32768
# AddressSanitizer's shadow memory and quarantine make RSS say nothing of
# what sca holds: no bound in that build (its leak check runs at exit).
grep -qa __asan_init "$S" && rss_max_kb=$((1 << 30))

"$M" db-create >/dev/null
"$M" setup -t name=lines -t tpl="$WORKERS/lines.sh $rows" -t parser=count >/dev/null
"$M" setup -t name=words -t tpl="$WORKERS/words.sh 300" -t parser=log >/dev/null
"$M" setup -t name=stream -t tpl="$WORKERS/stream.sh" -t parser=count >/dev/null
task=$(new_uuid)
"$SCA_BIN/sca-tracer" "$task" lines 2>/dev/null
"$SCA_BIN/sca-tracer" "$task" words 2>/dev/null
assert_eq "$(sql "SELECT count(*) FROM sample")" $((rows + 300)) "samples stored"

start_agent_amqp

# The reference, written from the store by Python: numbers as the shortest
# of %.15g, %.16g and %.17g that reads back (docs/cli.md), formatted with
# Python's correctly rounded conversion (the sqlite3 shell's printf keeps
# 16 digits at most and rounds some 16-digit values wrongly), text quoted
# as RFC 4180 wants.
"$PY" - "$DB" "$task" >"$T/want.csv" <<'PYCODE' || fail "the reference export"
import sqlite3, sys
def num(x):
    for p in (15, 16, 17):
        s = "%.*g" % (p, x)
        if float(s) == x:
            return s.encode()
def text(s):
    if any(c in s for c in b',"\n\r'):
        return b'"' + s.replace(b'"', b'""') + b'"'
    return s
con = sqlite3.connect(sys.argv[1])
con.text_factory = bytes
out = sys.stdout.buffer
out.write(b"task,result,tracer,name,unit,rtype,ts,value\n")
for row in con.execute(
        "SELECT t.uuid, r.uuid, r.tracer, r.name, coalesce(r.unit, ''), r.rtype, s.ts, s.value, s.text"
        " FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id"
        " WHERE t.uuid = ? ORDER BY r.id, s.ts, s.rowid", (sys.argv[2],)):
    value = text(row[8]) if row[8] is not None else num(row[7]) if row[7] is not None else b""
    out.write(b",".join(row[:6] + (num(row[6]), value)) + b"\n")
PYCODE

# report RSS_FILE OUTPUT_FILE ARGS...: sca's peak RSS (KiB) into RSS_FILE.
report() {
  local rss=$1 out=$2; shift 2
  /usr/bin/time -o "$rss" -f %M "$S" "$@" >"$out" 2>"$T/err" || fail "sca $*: $(cat "$T/err")"
}

for via in amqp unix; do
  url=()
  [ "$via" = unix ] && url=(--transport-url "unix://$T/agent.sock")
  report "$T/rss" "$T/got.csv" "${url[@]}" report "$task" --csv
  cmp -s "$T/want.csv" "$T/got.csv" ||
    fail "$via: report --csv differs from the store export: $(diff "$T/want.csv" "$T/got.csv" | head -5)"
  [ "$(cat "$T/rss")" -lt $rss_max_kb ] || fail "$via: report --csv peaked at $(cat "$T/rss") KiB"
  ok "$via: report --csv of $rows samples equals the store export; sca peaked at $(cat "$T/rss") KiB"

  report "$T/rss" "$T/got.json" "${url[@]}" report "$task" --json
  [ "$(cat "$T/rss")" -lt $rss_max_kb ] || fail "$via: report --json peaked at $(cat "$T/rss") KiB"
  "$PY" - "$T/got.json" "$DB" "$task" <<'PYCODE' || fail "$via: report --json"
import json, sqlite3, sys
text, db, task = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
assert text.endswith("}\n") and "\n" not in text[:-1], "one line"
doc = json.loads(text)
con = sqlite3.connect(db)
assert sorted(doc) == ["results", "task"] and doc["task"]["uuid"] == task, sorted(doc)
assert [r["uuid"] for r in doc["results"]] == doc["task"]["results"]
for r in doc["results"]:
    keys = {"id", "uuid", "task", "tracer", "name", "unit", "rtype", "count", "offset", "data",
            "truncated", "summary"} | ({"spark"} if r["rtype"] == "stream" else set())
    assert set(r) == keys, sorted(r)
    assert r["offset"] == 0 and r["truncated"] is False
    want = [list(x) for x in con.execute(
        "SELECT ts, coalesce(value, text) FROM sample s JOIN result r ON r.id = s.result_id"
        " WHERE r.uuid = ? ORDER BY ts, s.rowid", (r["uuid"],))]
    assert r["data"] == want, r["uuid"]
    assert r["count"] == len(want) == r["summary"]["count"]
    assert all(isinstance(v, float) for row in r["data"] if r["rtype"] == "stream" for v in row)
PYCODE
  ok "$via: report --json holds every sample as stored; sca peaked at $(cat "$T/rss") KiB"
done

# One result, alone, as report shows it.
lines=$(sql "SELECT r.uuid FROM result r WHERE r.tracer = 'lines'")
report "$T/rss" "$T/one.csv" result "$lines" --csv
assert_eq "$(grep -c "$lines" "$T/want.csv")" "$(($(wc -l <"$T/one.csv") - 1))" "result --csv rows"
grep "$lines" "$T/want.csv" | cmp -s - <(tail -n +2 "$T/one.csv") || fail "result --csv differs"
report "$T/rss" "$T/one.json" result "${lines:0:8}" --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["count"]==len(r["data"])==int(sys.argv[2]), r["count"]' \
  "$T/one.json" "$rows" || fail "result --json"
ok "result UUID --csv and --json stream one result"

# A task still being written: the report holds the count it started with.
expect_exit 0 "$S" start -a stream
running=$(printf '%s\n' "$OUT" | grep -Eo '^[0-9a-f-]{36}$' | tail -n 1)
wait_until 20 '[ "$(sql "SELECT count(*) FROM sample s JOIN result r ON r.id = s.result_id WHERE r.tracer = '"'stream'"'")" -gt 50000 ]' ||
  fail "the stream tracer stored too little"
report "$T/rss" "$T/running.json" report "$running" --json
"$PY" - "$T/running.json" <<'PYCODE' || fail "report --json of a running task"
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
assert r["count"] == len(r["data"]) > 0, (r["count"], len(r["data"]))
values = [v for _, v in r["data"]]
assert values == list(map(float, range(1, len(values) + 1))), "rows in order, none missing"
PYCODE
expect_exit 0 "$S" stop "$running"
ok "report --json of a running task: count rows, in order, none twice"

# An agent whose page has no samples but names a next page (from the same
# key): sca stops with an error instead of asking for that page forever.
"$PY" - "$T/fake.sock" >"$T/fake.up" <<'PYCODE' &
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
print("up", flush=True)
head = {"id": 1, "uuid": "0" * 8 + "-0000-4000-8000-" + "0" * 12, "task": "1" * 8 + "-0000-4000-8000-" + "0" * 12,
        "tracer": "t", "name": "n", "unit": None, "rtype": "stream", "truncated": True}
def recv(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise EOFError
        b += chunk
    return b
while True:
    c = s.accept()[0]
    try:
        while True:
            msg = json.loads(json.loads(recv(c, struct.unpack(">I", recv(c, 4))[0]))["oslo.message"])
            args = msg["args"]
            page = dict(head, next=[1.0, 1], data=[] if args.get("after") else [[1.0, 1.0]])
            if not args.get("after"):
                page["count"] = 3
            reply = {"result": page, "failure": None, "ending": True, "_msg_id": msg["_msg_id"]}
            body = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(reply)}).encode()
            c.sendall(struct.pack(">I", len(body)) + body)
    except EOFError:
        c.close()
PYCODE
_cleanup_pids+=($!)
wait_until 10 '[ -s "$T/fake.up" ]' || fail "the fake agent did not start"
expect_exit 1 timeout 20 "$S" --transport-url "unix://$T/fake.sock" result 00000000 --csv
assert_contains "$OUT" "a page without samples names a next one" "an empty page naming a next one"
ok "a page without samples that names a next one ends the report with an error"
