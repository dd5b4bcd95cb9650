#!/bin/bash
# sca report --openmetrics against a real agent: every sample of the
# streams (but one a millisecond, the last) checked against the database,
# families together with their TYPE, UNIT and HELP, logs left out with a
# note, and Prometheus's own promtool turning the file into a TSDB block
# that holds exactly those series and samples.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
PY=/usr/bin/python3
command -v promtool >/dev/null || fail "promtool not found (scripts/deps.sh --test installs prometheus)"

"$M" db-create >/dev/null
# spiky: 20000 numbers, many to a millisecond; same: 5, 7, 9 in one write
# (one timestamp), then 11; traf: two series with units (pkt/s, byte/s);
# kv: names with characters a metric name cannot have; words: a log.
"$M" setup -t name=spiky -t "tpl=$WORKERS/spiky.sh 20000 7777 12345" -t parser=count >/dev/null
"$M" setup -t name=same -t parser=count -t "tpl=sh -c 'printf \"5\\n7\\n9\\n\"; sleep 0.05; echo 11'" >/dev/null
"$M" setup -t name=traf -t parser=traffic \
  -t "tpl=sh -c 'for i in 1 2 3; do echo \"\$i pkt/s \$((i * 100)) byte/s\"; sleep 0.02; done'" >/dev/null
"$M" setup -t name=kv -t parser=kv -t "tpl=echo rpc.lat:p95=1.5 a/b-c=-2" >/dev/null
"$M" setup -t name=words -t "tpl=$WORKERS/words.sh 30" -t parser=log >/dev/null
task=$(new_uuid)
for t in spiky same traf kv words; do "$SCA_BIN/sca-tracer" "$task" "$t" 2>>"$T/tracer.log"; done
"$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
_cleanup_pids+=("$!")
wait_until 10 '[ -S "$T/agent.sock" ] && "$M" status >/dev/null 2>&1' ||
  fail "the agent did not start: $(cat "$T/agent.log")"
host=$("$S" --json hosts | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["host"])')

"$S" report "$task" --openmetrics >"$T/task.om" 2>"$T/task.err" || fail "report --openmetrics: $(cat "$T/task.err")"
assert_contains "$(cat "$T/task.err")" "sca: note: 1 log result left out: OpenMetrics takes numbers" "the log"

$PY - "$T/task.om" "$DB" "$task" "$host" "$T/task.err" "$T/expected" <<'EOF' || fail "report --openmetrics: see above"
import re, sqlite3, sys
om, db, task, host, errfile, expected = sys.argv[1:]
text = open(om).read()
assert text.endswith("# EOF\n") and text.count("# EOF") == 1, text[-200:]
con = sqlite3.connect(db)
results = con.execute("SELECT r.id, r.uuid, r.tracer, r.name, r.unit, r.rtype FROM result r"
                      " JOIN task t ON t.id = r.task_id WHERE t.uuid = ?", (task,)).fetchall()
streams = {r[1]: r for r in results if r[5] == "stream"}
assert len(streams) == 6, results  # spiky, same, traf x2, kv x2

line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+) (\S+)$')
label_re = re.compile(r'([a-z]+)="((?:[^"\\]|\\.)*)"')
families, current, samples = [], None, {}
for line in text.splitlines():
    if line.startswith("# TYPE "):
        name, kind = line[7:].split(" ")
        assert kind == "gauge" and name not in families, line
        families.append(name)
        current = name
        continue
    if line.startswith("# UNIT "):
        name, unit = line[7:].split(" ")
        assert name == current and name.endswith("_" + unit), line
        continue
    if line.startswith("# HELP ") or line == "# EOF":
        continue
    m = line_re.match(line)
    assert m, line
    assert m.group(1) == current, "a sample outside its family: " + line
    labels = dict(label_re.findall(m.group(2)))
    assert labels["task"] == task and labels["host"] == host, labels
    r = streams[labels["result"]]
    assert (labels["tracer"], labels["name"], labels.get("unit")) == (r[2], r[3], r[4]), labels
    samples.setdefault(labels["result"], []).append((float(m.group(4)), float(m.group(3))))

# The store's rows in key order, the last of each millisecond (as promtool
# truncates ts * 1000).
total = dropped = 0
for uuid, r in streams.items():
    rows = con.execute("SELECT ts, value FROM sample WHERE result_id = ? ORDER BY ts, rowid",
                       (r[0],)).fetchall()
    kept = {}
    for ts, v in rows:
        kept[int(ts * 1000)] = (ts, v)
    want = [kept[k] for k in sorted(kept)]
    assert samples.get(uuid) == want, (r[2], r[3], samples.get(uuid, [])[:5], want[:5])
    total += len(want)
    dropped += len(rows) - len(want)
# Each series' family, by (name, unit): traffic's two series are both
# named after their tracer, and told apart by their units.
names = {(streams[u][3], streams[u][4]): f for f in families for u in samples
         if text.count('%s{task="%s",result="%s"' % (f, task, u))}
assert names == {("spiky", "count"): "scalpels_spiky", ("same", "count"): "scalpels_same",
                 ("traf", "pkt/s"): "scalpels_traf_pkt_s", ("traf", "byte/s"): "scalpels_traf_byte_s",
                 ("rpc.lat:p95", None): "scalpels_kv_rpc_lat_p95",
                 ("a/b-c", None): "scalpels_kv_a_b_c"}, names
assert "# UNIT scalpels_traf_pkt_s pkt_s" in text and "# UNIT scalpels_spiky" not in text
same = [v for _, v in samples[[u for u in streams if streams[u][2] == "same"][0]]]
assert same == [9, 11], "one timestamp for 5, 7 and 9: the last stays: %s" % same
assert dropped > 0
assert ("sca: note: %d samples were left out for a later one" % dropped) in open(errfile).read()
open(expected, "w").write("%d %d\n" % (len(streams), total))
print("ok - %d series, %d samples (%d left out for a later one in their millisecond)"
      % (len(streams), total, dropped))
EOF
read -r nseries nsamples <"$T/expected"
ok "report --openmetrics: the store's samples, one a millisecond, families together"

# promtool: the block holds exactly those series and samples.
expect_exit 0 promtool tsdb create-blocks-from openmetrics "$T/task.om" "$T/tsdb"
expect_exit 0 promtool tsdb list "$T/tsdb"
printf '%s\n' "$OUT"
assert_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 { s += $(NF - 3); n += $(NF - 1) } END { print n, s }')" \
  "$nseries $nsamples" "promtool tsdb list: series and samples"
# promtool 2.42's dump wants a WAL directory, which create-blocks-from
# does not make.
mkdir -p "$T/tsdb/wal"
promtool tsdb dump "$T/tsdb" >"$T/dump" 2>"$T/dump.err" || fail "promtool tsdb dump: $(cat "$T/dump.err")"
$PY - "$T/task.om" "$T/dump" <<'EOF' || fail "the block does not hold what the file says"
import re, sys
om, dump = sys.argv[1:]
label_re = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')
def key(name, labels, value, ms):
    return (name, labels["result"], float(value), ms)
want = set()
for line in open(om):
    m = re.match(r'^([a-zA-Z0-9_]+)\{(.*)\} (\S+) (\S+)$', line)
    if m:
        want.add(key(m.group(1), dict(label_re.findall(m.group(2))), m.group(3),
                     int(float(m.group(4)) * 1000)))
got = set()
for line in open(dump):
    m = re.match(r'^\{(.*)\} (\S+) (\d+)$', line)
    assert m, line
    labels = dict(label_re.findall(m.group(1)))
    got.add(key(labels["__name__"], labels, m.group(2), int(m.group(3))))
assert got == want, (sorted(got - want)[:5], sorted(want - got)[:5])
same = sorted(k for k in got if k[0] == "scalpels_same")
assert [k[2] for k in same] == [9, 11], same
EOF
ok "promtool tsdb create-blocks-from openmetrics takes the file: $nseries series, $nsamples samples"

# result UUID and report -a: the same writer; bad combinations.
r=$(sql "SELECT r.uuid FROM result r WHERE r.tracer = 'same'")
expect_exit 0 "$S" result "${r:0:8}" --openmetrics
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^scalpels_same{')" 2 "result --openmetrics"
expect_exit 0 "$S" report -a traf --openmetrics
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^scalpels_traf_')" 6 "report -a --openmetrics"
expect_exit 0 "$S" report -a words --openmetrics
assert_contains "$OUT" "1 log result left out" "only a log: a note"
assert_eq "$(printf '%s\n' "$OUT" | grep -v '^sca: note' )" "# EOF" "only a log: an empty exposition"
expect_exit 2 "$S" report --openmetrics --csv
assert_contains "$OUT" "--openmetrics and --csv exclude each other" "two formats"
expect_exit 2 "$S" result -l --openmetrics
ok "result --openmetrics, report -a --openmetrics, bad combinations"
