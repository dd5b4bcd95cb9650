#!/bin/bash
# sca and sca-manage status/stop against a real sca-agent on the unix
# socket: every command's normal and error paths, and that what they print
# (text, JSON, CSV) matches the store.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
PY=/usr/bin/python3
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

task_status() { sql "SELECT status FROM task WHERE uuid = '$1'"; }
wait_stopped() { wait_until 15 "[ \"\$(task_status $1)\" = stopped ]" || fail "task $1 did not stop"; }
samples() { sql "SELECT count(*) FROM sample JOIN result r ON r.id = result_id JOIN task t ON t.id = r.task_id WHERE t.uuid = '$1'"; }
# last_line TEXT
last_line() { printf '%s\n' "$1" | tail -n 1; }
# ascii_only TEXT WHAT: every byte of TEXT is printable ASCII (or a newline).
ascii_only() { if LC_ALL=C grep -q '[^[:print:]]' <<<"$1"; then fail "$2: not ASCII: $1"; fi; }

"$M" db-create >/dev/null
"$M" setup -d interval=0.2 >/dev/null
"$M" setup -t name=seq -t "tpl=seq 1 100" -t parser=count >/dev/null
# A log tracer whose lines need CSV quoting and cutting; then it idles.
"$M" setup -t name=words -t parser=log -t "tpl=sh -c 'printf \"%s\\n\" \"a,b\" \"say \\\"hi\\\"\" \"\$(printf x%.0s \$(seq 1 300))\"; exec sleep 600'" >/dev/null
"$M" setup -t name=slow -t "tpl=sleep 60" >/dev/null
"$M" setup -t name=needs -t "tpl=echo %(unset_key)s" >/dev/null 2>&1
start_agent

# --- sca-manage status -------------------------------------------------------
expect_exit 0 "$M" status
assert_contains "$OUT" "reachable:        yes" "status: reachable"
assert_contains "$OUT" "version:          0.1.0" "status: version"
assert_contains "$OUT" "transport:        unix://$T/agent.sock" "status: transport"
assert_contains "$OUT" "tracers running:  none" "status: no tracer runs"
assert_contains "$OUT" "pid:              $AGENT" "status: the agent's pid"
assert_contains "$OUT" "rss:" "status: RSS"
assert_contains "$OUT" "cpu:" "status: CPU"
ok "sca-manage status"

# --- tracer, start, report ---------------------------------------------------
expect_exit 0 "$S" tracer -l
assert_contains "$OUT" "| tracer    | parser  | running | pid | task | template" "tracer table header"
assert_contains "$OUT" "| seq       | count   | False   |  -1 |      | seq 1 100" "tracer row"
expect_exit 0 "$S" --json tracer
assert_eq "$($PY -c 'import json,sys; print(sorted(t["name"] for t in json.load(sys.stdin))[-4:])' <<<"$OUT")" \
  "['slow', 'sqlaexec', 'traffic', 'words']" "tracer --json"

u=$("$S" start -a seq)
[[ "$u" =~ $UUID_RE ]] || fail "start printed '$u', not just a uuid"
wait_stopped "$u" # seq ends by itself, and with it the task
r=$(sql "SELECT r.uuid FROM result r JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u'")
assert_eq "$(samples "$u")" "100" "seq stored 100 samples"
expect_exit 0 "$S" report "$u"
assert_eq "$(printf '%s\n' "$OUT" | head -n 1)" "reporting task: <$u>" "report's first line"
assert_eq "$(printf '%s\n' "$OUT" | sed -n 2p | cut -d: -f1)" "task stopped" "the task's line"
assert_eq "$(printf '%s\n' "$OUT" | sed -n 3p | tr -s ' ')" \
  "result name unit count min avg max p95 trend" "the summary's header"
assert_eq "$(printf '%s\n' "$OUT" | sed -n 4p)" "tracer seq" "grouped by tracer"
[[ "$(printf '%s\n' "$OUT" | sed -n 5p)" =~ ^"<result $r>  seq   count    100    1  50.5  100   95  "[▁▂▃▄▅▆▇█\ ]+$ ]] ||
  fail "the series' line: $OUT"
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "5" "one line a series, no table: $OUT"
ok "report's default: a summary, a line a series"

expect_exit 0 "$S" report "$u" --rows 20
assert_eq "$(printf '%s\n' "$OUT" | head -n 1)" "reporting task: <$u>" "--rows: the first line"
assert_contains "$OUT" "<result $r>" "result heading"
assert_contains "$OUT" "| timestamp                  | seq (count) |" "table header"
assert_eq "$(grep -c '^| 20[0-9-]* [0-9:.]* |' <<<"$OUT")" "20" "20 rows by default"
assert_contains "$OUT" "|          10 |
| …                          |           … |
| 20" "first ten, a gap, the last ten"
assert_contains "$OUT" "… 80 more rows (--all shows every row)" "says what is left out"
assert_eq "$(last_line "$OUT")" "seq (count): count 100, min 1, avg 50.5, max 100, p95 95  ▁" "summary line"
expect_exit 0 "$S" report "$u" --full
assert_eq "$(grep -c '^| 20[0-9-]* [0-9:.]* |' <<<"$OUT")" "20" "--full: the tables too"
expect_exit 0 "$S" report "${u:0:8}" --all
assert_eq "$(grep -c '^| 20[0-9-]* [0-9:.]* |' <<<"$OUT")" "100" "--all shows every row"
assert_contains "$OUT" "reporting task: <$u>" "a prefix finds the task"
expect_exit 0 "$S" report "${u^^}" --rows 1
assert_contains "$OUT" "reporting task: <$u>" "an uppercase uuid finds the task"
expect_exit 0 "$S" report --rows 3
assert_contains "$OUT" "reporting task: <$u>" "the latest task by default"
assert_eq "$(grep -c '^| 20[0-9-]* [0-9:.]* |' <<<"$OUT")" "3" "--rows 3"
assert_contains "$OUT" "… 97 more rows" "--rows 3 leaves out 97"
ok "start prints the uuid; report's tables with --rows, --all, --full"

# A locale that is not UTF-8 (a fresh machine has no locale variable at all,
# so the C locale applies): the same view in ASCII.
expect_exit 0 env -u LC_ALL -u LC_CTYPE -u LANG "$S" report "$u"
ascii_only "$OUT" "summary without a locale"
[[ "$(last_line "$OUT")" =~ "  95  "[_.:=+*#\ -]+$ ]] || fail "an ASCII sparkline: $OUT"
expect_exit 0 env -u LC_ALL -u LC_CTYPE -u LANG "$S" report "$u" --rows 20
ascii_only "$OUT" "report without a locale"
assert_contains "$OUT" "|          10 |
| ...                        |         ... |
| 20" "the gap in ASCII"
assert_contains "$OUT" "... 80 more rows (--all shows every row)" "what is left out, in ASCII"
assert_eq "$(last_line "$OUT")" "seq (count): count 100, min 1, avg 50.5, max 100, p95 95  _" \
  "summary line in ASCII"
ok "report in the C locale: ASCII ellipses and sparkline"

expect_exit 0 "$S" report --json "$u"
printf '%s\n' "$OUT" >"$T/out"
$PY - "$T/out" "$u" "$r" <<'EOF' || fail "report --json: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
u, r = sys.argv[2:]
assert doc["task"]["uuid"] == u and doc["task"]["status"] == "stopped", doc["task"]
assert [x["uuid"] for x in doc["results"]] == [r]
res = doc["results"][0]
assert res["count"] == 100 and len(res["data"]) == 100 and res["offset"] == 0
assert res["truncated"] is False and res["summary"]["p95"] == 95
assert [v for _, v in res["data"]] == list(range(1, 101)), res["data"][:3]
EOF
expect_exit 0 "$S" --json report
assert_eq "$($PY -c 'import json,sys; print(json.load(sys.stdin)["task"]["uuid"])' <<<"$OUT")" "$u" "global --json"
expect_exit 0 "$S" report --csv "$u"
assert_eq "$(printf '%s\n' "$OUT" | head -n 1)" "task,result,tracer,name,unit,rtype,ts,value" "CSV header"
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "101" "CSV: a row a sample"
assert_eq "$(printf '%s\n' "$OUT" | sed -n 2p | cut -d, -f1-6,8)" "$u,$r,seq,seq,count,stream,1" "CSV row"
# Python formats the stored double: the sqlite3 shell's printf rounds some
# 16-digit values wrongly.
ts=$("$PY" -c 'import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print("%.6f" % con.execute("SELECT min(s.ts) FROM sample s JOIN result r ON r.id = s.result_id"
                           " WHERE r.uuid = ?", (sys.argv[2],)).fetchone()[0])' "$DB" "$r")
assert_eq "$(printf '%.6f' "$(printf '%s\n' "$OUT" | sed -n 2p | cut -d, -f7)")" "$ts" "CSV timestamp"
ok "report --json and --csv match the store"

# The same through result.
expect_exit 0 "$S" result "${r:0:10}" --rows 2
assert_eq "$(printf '%s\n' "$OUT" | head -n 1)" "<result $r>" "result UUID heading"
assert_contains "$OUT" "… 98 more rows" "result --rows"
expect_exit 0 "$S" result "$r" --json
assert_eq "$($PY -c 'import json,sys; d=json.load(sys.stdin); print(d["uuid"], len(d["data"]))' <<<"$OUT")" \
  "$r 100" "result --json is the result object"
expect_exit 0 "$S" result "$r" --csv
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "101" "result --csv"
ok "result UUID"

# --- several tracers, stop by prefix, content against the store --------------
u2=$("$S" start -a cpu,mem -a cpu)
[[ "$u2" =~ $UUID_RE ]] || fail "start -a cpu,mem printed '$u2'"
wait_until 10 "[ \$(samples $u2) -ge 20 ]" || fail "cpu and mem stored no samples"
expect_exit 0 "$S" --json task
assert_eq "$($PY -c 'import json,sys; t=json.load(sys.stdin)[0]; print(t["status"], sorted(t["tracers"]))' <<<"$OUT")" \
  "running ['cpu', 'mem']" "task --json: the running task first"
expect_exit 0 "$M" status
assert_contains "$OUT" "tracers running:  cpu, mem" "status lists the running tracers"
expect_exit 0 "$S" stop "${u2:0:8}"
assert_eq "$OUT" "stopping task $u2: signalled 2 tracer processes" "stop by prefix"
wait_stopped "$u2"
expect_exit 0 "$S" stop "$u2"
assert_eq "$OUT" "task $u2 has already stopped" "stopping a stopped task"
units() { sql "SELECT group_concat(DISTINCT r.unit) FROM result r JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u2' AND r.tracer = '$1'"; }
assert_eq "$(units cpu)" "%" "the cpu series are in percent"
assert_eq "$(units mem)" "kB" "the mem series are in kB"
expect_exit 0 "$S" report "$u2"
nres=$(sql "SELECT count(*) FROM result r JOIN task t ON t.id = r.task_id WHERE t.uuid = '$u2'")
assert_eq "$(grep -c '^<result ' <<<"$OUT")" "$nres" "a line per result"
# Each line against the store: its tracer's group, name, unit, count, and
# figures in the unit (kB as kB, MB or GB; percent with %).
printf '%s\n' "$OUT" >"$T/summary"
$PY - "$T/summary" "$DB" "$nres" <<'EOF' || fail "the summary does not match the store: $OUT"
import re, sqlite3, sys
lines, db, nres = open(sys.argv[1], encoding="utf-8").read().splitlines(), sqlite3.connect(sys.argv[2]), int(sys.argv[3])
tracer, seen = None, 0
for line in lines:
    if line.startswith("tracer "):
        tracer = line[7:]
        continue
    m = re.match(r"<result (\S+)>  +(\S+) +(\S+) +(\d+)  +(.*)$", line)
    if not m:
        continue
    uuid, name, unit, count, rest = m.groups()
    row = db.execute("SELECT tracer, name, unit, (SELECT count(*) FROM sample s WHERE s.result_id = r.id)"
                     " FROM result r WHERE uuid = ?", (uuid,)).fetchone()
    assert row == (tracer, name, unit, int(count)), (line, row)
    figure = {"%": r"-?[0-9.]+%", "kB": r"-?[0-9.]+ [kMGT]B"}[unit]
    assert re.match(r"(%s +){4}([▁▂▃▄▅▆▇█ ]+|constant)$" % figure, rest), line
    seen += 1
assert seen == nres, (seen, nres)
EOF
expect_exit 0 env LC_ALL=C "$S" report "$u2"
ascii_only "$OUT" "report of cpu and mem in the C locale"
assert_eq "$(grep -cE '^<result .*  ([_.:=+*# -]+|constant)$' <<<"$OUT")" "$nres" \
  "C locale: an ASCII sparkline per result"
expect_exit 0 "$S" report "$u2" --csv
assert_eq "$(($(printf '%s\n' "$OUT" | wc -l) - 1))" "$(samples "$u2")" "CSV rows = samples"
expect_exit 0 "$S" report "$u2" --json
printf '%s\n' "$OUT" >"$T/out"
$PY - "$T/out" "$DB" <<'EOF' || fail "report --json does not match the store"
import json, sqlite3, sys
doc = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
assert len(doc["results"]) == len(doc["task"]["results"])
for res in doc["results"]:
    rows = db.execute("SELECT ts, value FROM sample s JOIN result r ON r.id = s.result_id"
                      " WHERE r.uuid = ? ORDER BY ts, s.rowid", (res["uuid"],)).fetchall()
    assert [list(x) for x in rows] == res["data"], res["uuid"]
    assert res["count"] == len(rows) and res["tracer"] in ("cpu", "mem")
EOF
ok "stop by prefix; report matches the store per result"

# --- log results: cutting, --full, CSV quoting --------------------------------
u3=$("$S" start -a words --duration 600)
wait_until 10 "[ \$(samples $u3) -eq 3 ]" || fail "words stored no lines"
expect_exit 0 "$S" report "$u3"
span_re='^<result .*  words +3  span [0-9.]+ (s|ms|us), [0-9:]{8} to [0-9:]{8}$'
[[ "$(last_line "$OUT")" =~ $span_re ]] || fail "a log's summary line: its span: $OUT"
expect_exit 0 "$S" report "$u3" --rows 20
long=$(printf 'x%.0s' $(seq 1 300))
cut_row=$(grep '^| 20.* | xxx' <<<"$OUT")
assert_eq "$(printf '%s' "$cut_row" | wc -m)" "100" "log lines cut to 100 columns off a terminal"
assert_contains "$cut_row" "xxx… |" "a cut line ends in …"
assert_contains "$OUT" "words: count 3, span " "log summary line"
expect_exit 0 env LC_ALL=C "$S" report "$u3" --rows 20
ascii_only "$OUT" "log report in the C locale"
cut_row=$(grep '^| 20.* | xxx' <<<"$OUT")
assert_eq "$(printf '%s' "$cut_row" | LC_ALL=C wc -c)" "100" "C locale: log lines cut to 100 columns"
assert_contains "$cut_row" "xxx... |" "C locale: a cut line ends in ..."
expect_exit 0 "$S" report "$u3" --full
assert_contains "$OUT" "| $long |" "--full shows the whole line"
assert_contains "$OUT" '| say "hi" ' "quotes shown as they are"
expect_exit 0 "$S" report "$u3" --csv
$PY -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert [r["value"] for r in rows] == ["a,b", "say \"hi\"", "x" * 300], rows
assert all(r["rtype"] == "log" and r["unit"] == "" and r["tracer"] == "words" for r in rows)
' <<<"$OUT" || fail "CSV quoting: $OUT"
ok "log results: cut, --full, CSV quoting"

# --- HTML: one self-contained page of charts -----------------------------------
# html_page FILE ARGS...: sca ARGS with stdout alone in FILE; it must exit 0.
html_page() {
  local file=$1; shift
  set +e
  "$S" "$@" >"$file" 2>"$T/html.err"
  local rc=$?
  set -e
  assert_eq "$rc" "0" "sca $* exit status ($(cat "$T/html.err"))"
}
html_page "$T/u2.html" report "$u2" --html
dygraphs=$(sed -n 's/^SCA_DYGRAPHS_DIR:PATH=//p' "${SCA_BUILD:-/nonexistent}/CMakeCache.txt" 2>/dev/null || true)
# A chart per tracer and unit that has a series that moved.
ncharts=$(sql "SELECT count(DISTINCT r.tracer || ' ' || r.unit) FROM result r JOIN task t ON t.id = r.task_id
  WHERE t.uuid = '$u2' AND (SELECT max(value) - min(value) FROM sample s WHERE s.result_id = r.id) > 0")
[ "$ncharts" -ge 1 ] || fail "task $u2 has no series that moved"
$PY - "$T/u2.html" "$u2" "$ncharts" "$nres" "${dygraphs:-/usr/share/javascript/dygraphs}" <<'EOF2' ||
import html.parser, re, sys
page_path, task, ncharts, nresults, dygraphs = sys.argv[1:]
page = open(page_path, encoding="utf-8").read()
assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>"), page[:200]
assert task in page, "the task uuid"
# dygraphs and its synchroniser inline, whole (less source map comments)
for f in ("dygraph.min.js", "extras/synchronizer.js"):
    js = open(dygraphs + "/" + f, encoding="utf-8").read()
    js = re.sub(r"\n?//# sourceMappingURL=[^\n]*", "", js)
    assert len(js) > 5000 and js in page, f + " is not inline"
assert page.count('<figure class="chart"') == int(ncharts), (page.count('<figure class="chart"'), ncharts)
assert page.count("<tr data-result=") == int(nresults), "a summary row per series"
# times with their zone; the way to the full data, which is not in the page
assert re.search(r"<dt>created</dt><dd>20[0-9-]+ [0-9:]+ [+-][0-9]{4}</dd>", page), "created"
assert re.search(r"<dt>stopped</dt><dd>20[0-9-]+ [0-9:]+ [+-][0-9]{4}</dd>", page), "stopped"
assert "<code>sca report --csv %s</code>" % task in page, "how to get every sample"
assert "class=\"csv\"" not in page and "download" not in page, "samples as CSV in the page"

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls = []
    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v is not None]
p = Page()
p.feed(page)
p.close()
for u in p.urls:
    assert not re.match(r"\s*(https?:)?//", u, re.I), "a network reference: " + u
assert not re.search(r"(src|href)\s*=\s*[\"']?\s*https?://", page, re.I)
EOF2
  fail "report --html: see above"
[ "$(stat -c %s "$T/u2.html")" -le 3000000 ] || fail "report --html: more than 3 MB"

# In Chromium: every chart drawn, no console error, axis labels whole,
# one zoom for all charts.
"$PY" "$SCA_SRC/tests/integration/browser.py" "$T/u2.html" --zoom >"$T/u2.seen" ||
  fail "Chromium could not open the page"
$PY - "$T/u2.seen" "$ncharts" <<'EOF2' || fail "report --html in Chromium: $(cat "$T/u2.seen")"
import json, sys
seen, n = json.load(open(sys.argv[1])), int(sys.argv[2])
assert seen["charts"] == n and seen["drawn"] == n, "charts drawn"
assert seen["figures_with_canvas"] == n, "a canvas per chart"
assert seen["errors"] == [], seen["errors"]
assert seen["clipped_labels"] == [], "clipped axis labels"
assert any("%" in y for y in seen["y_labels"]) or any("B" in y for y in seen["y_labels"]), "units on the axis"
assert all(len(x.split(":")) == 3 for x in seen["x_labels"]), "times of day on the time axis"
if n > 1:
    assert all(r == seen["zoom"]["window"] for r in seen["zoom"]["ranges"]), "zoom follows"
EOF2

# A log: a filterable table, escaped; result UUID: a page of that result.
html_page "$T/u3.html" report "$u3" --html
grep -q '<table class="log"' "$T/u3.html" || fail "report --html: a log is a table"
grep -q '<td class="v">say &quot;hi&quot;</td>' "$T/u3.html" || fail "report --html: log lines escaped"
[ "$(grep -c '<figure class="chart"' "$T/u3.html")" = 0 ] || fail "report --html: no chart for a log"
"$PY" "$SCA_SRC/tests/integration/browser.py" "$T/u3.html" --filter 'SAY' >"$T/u3.seen" ||
  fail "Chromium could not open the log page"
assert_eq "$($PY -c 'import json,sys; d=json.load(sys.stdin); print(d["filtered"], d["errors"])' <"$T/u3.seen")" \
  "{'rows': 3, 'shown': 1} []" "the log table filters"
html_page "$T/r.html" result "${r:0:10}" --html
[ "$(grep -c '<figure class="chart"' "$T/r.html")" = 1 ] || fail "result --html: one chart"
grep -q "<tr data-result=\"$r\">" "$T/r.html" || fail "result --html names the result"
grep -q "<code>sca result $r --csv</code>" "$T/r.html" || fail "result --html: where the samples are"
grep -q '<dt>task</dt>' "$T/r.html" && fail "result --html: no task heading"
expect_exit 2 "$S" report --html --json "$u2"
assert_eq "$OUT" "sca: --html and --json exclude each other" "--html with --json"
expect_exit 2 "$S" --json report --html
assert_contains "$OUT" "--json and --html exclude each other" "global --json with --html"
expect_exit 2 "$S" result "$r" --csv --html
expect_exit 2 "$S" result -l --html
ok "report --html and result --html: self-contained pages"

# --- start/stop by tracer, skipped tracers, errors from the agent -------------
expect_exit 1 "$S" start -a words
assert_contains "$OUT" "sca: skipped, already running: words" "skipped on stderr"
assert_contains "$OUT" "sca: nothing started" "nothing started: exit 1"
u4=$("$S" start -a slow,words 2>"$T/err")
[[ "$u4" =~ $UUID_RE ]] || fail "start with one skipped printed '$u4'"
assert_contains "$(cat "$T/err")" "skipped, already running: words" "the skipped one is named"
expect_exit 0 "$S" stop -a words,slow
assert_contains "$OUT" "stopping tracers: " "stop -a"
assert_contains "$OUT" "slow" "stop -a names slow"
wait_stopped "$u3"
wait_stopped "$u4"
expect_exit 0 "$S" stop -a slow
assert_eq "$OUT" "none of the tracers was running" "stop -a when nothing runs"
expect_exit 1 "$S" start -a nosuch
assert_contains "$OUT" "sca: ValueError: unknown tracer" "unknown tracer: the agent's ValueError"
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "1" "the agent's error is one line"
expect_exit 1 "$S" report -a nosuch
assert_contains "$OUT" "unknown tracer 'nosuch' (known: " "report -a unknown tracer"
expect_exit 1 "$S" report 00000000
assert_contains "$OUT" "sca: NotFound: " "unknown prefix"
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "1" "unknown prefix: one line"
# A second task sharing the first 8 characters makes that prefix ambiguous.
sql "INSERT INTO task(uuid, created, stopped, status) VALUES ('${u:0:8}-0000-4000-8000-000000000000', 1, 2, 'stopped')"
expect_exit 1 "$S" report "${u:0:8}"
assert_contains "$OUT" "sca: ValueError: " "ambiguous prefix"
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "1" "ambiguous prefix: one line"
expect_exit 1 "$S" stop "${u:0:8}"
expect_exit 0 "$S" report "${u:0:13}"
assert_contains "$OUT" "reporting task: <$u>" "a longer prefix is unique again"
expect_exit 1 "$S" result 00000000
assert_contains "$OUT" "sca: NotFound: " "unknown result"
ok "stop -a, skipped, unknown names and prefixes"

# A tracer that cannot start fails the command (test_agent_start.sh has
# the cases); its task keeps why, and its report says so on stderr.
expect_exit 1 "$S" start -a needs
assert_contains "$OUT" "sca: StartError: cannot start tracer needs: " "start of a tracer that cannot start"
u7=$(sql "SELECT t.uuid FROM task t JOIN task_tracer tt ON tt.task_id = t.id WHERE tt.tracer = 'needs'")
assert_eq "$(task_status "$u7")" "stopped" "the failed start's task"
expect_exit 0 "$S" report "$u7"
assert_contains "$OUT" "sca: note: tracer needs exited with status " "a failed tracer is noted"
grep -qE '^<result [0-9a-f-]+>  +needs stderr +[1-9]' <<<"$OUT" || fail "its stderr is a result: $OUT"
expect_exit 0 "$S" report "$u7" --rows 20
assert_contains "$OUT" "unset_key" "its stderr's lines"
ok "failed tracers noted"

# -f: the original's agents.json.
printf '{"agents": [{"name": "seq"}]}\n' >"$T/agents.json"
u5=$("$S" start -f "$T/agents.json")
[[ "$u5" =~ $UUID_RE ]] || fail "start -f printed '$u5'"
wait_stopped "$u5"
assert_eq "$(samples "$u5")" "100" "start -f started seq"
expect_exit 0 "$S" report -a seq
assert_eq "$(grep -c '^<result ' <<<"$OUT")" "2" "report -a: a summary line per result"
[[ "$OUT" != *"reporting task"* && "$OUT" != *"task stopped"* ]] || fail "report -a has no task line: $OUT"
html_page "$T/a.html" report -a seq --html
[ "$(grep -o '<li>seq (task ' "$T/a.html" | wc -l)" = 2 ] || fail "report -a --html: a line per task's seq"
grep -q "<code>sca report -a seq --csv</code>" "$T/a.html" || fail "report -a --html: where the samples are"
expect_exit 0 "$S" report -a seq --rows 2
assert_eq "$(grep -c '^<result ' <<<"$OUT")" "2" "report -a: every result of the tracer"
[[ "$OUT" != *"reporting task"* ]] || fail "report -a has no task line"
expect_exit 0 "$S" report -a seq --json
assert_eq "$($PY -c 'import json,sys; d=json.load(sys.stdin); print(d["task"], len(d["results"]))' <<<"$OUT")" \
  "None 2" "report -a --json"
ok "start -f; report -a"

# --- lists ---------------------------------------------------------------------
expect_exit 0 "$S" result -l
nall=$(sql "SELECT count(*) FROM result")
assert_contains "$OUT" "| uuid                                 | task                                 | tracer | name" "result -l header"
assert_eq "$(grep -c '^| [0-9a-f]\{8\}-' <<<"$OUT")" "$nall" "result -l: a row a result"
assert_contains "$OUT" "| $r | $u | seq    | seq" "result -l row"
expect_exit 0 "$S" result -l --short
assert_eq "$OUT" "$(sql "SELECT uuid FROM result ORDER BY id")" "result -l --short"
expect_exit 0 "$S" result -l --json
assert_eq "$($PY -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$OUT")" "$nall" "result -l --json"
expect_exit 0 "$S" task -l
assert_contains "$OUT" "| $u5 | stopped |" "task -l: newest first"
assert_eq "$(grep -c '^| [0-9a-f]\{8\}-' <<<"$OUT")" "$(sql "SELECT min(count(*), 20) FROM task")" "task -l rows"
expect_exit 0 "$S" task --limit 1
assert_eq "$(grep -c '^| [0-9a-f]\{8\}-' <<<"$OUT")" "1" "task --limit 1"
expect_exit 0 "$S" task --limit 0 --json
assert_eq "$($PY -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$OUT")" "$(sql "SELECT count(*) FROM task")" \
  "task --limit 0: all"
ok "result -l, task -l"

# --- run -----------------------------------------------------------------------
expect_exit 0 "$S" run -a cpu -a mem -- sleep 1
assert_contains "$OUT" "reporting task: <" "run prints the report"
assert_contains "$OUT" "sca: task " "run names its task"
ur=$(sed -n 's/^reporting task: <\(.*\)>$/\1/p' <<<"$OUT")
assert_eq "$(task_status "$ur")" "stopped" "run waits until the task stopped"
assert_eq "$(grep -c '^<result ' <<<"$OUT")" "$(sql "SELECT count(*) FROM result r JOIN task t ON t.id = r.task_id WHERE t.uuid = '$ur'")" \
  "run: a heading per result"
grep -qE '^<result [0-9a-f-]+>  +user +% +[1-9][0-9]* ' <<<"$OUT" || fail "run: cpu has samples: $OUT"
grep -qE '^<result [0-9a-f-]+>  +used_kb +kB +[1-9][0-9]* ' <<<"$OUT" || fail "run: mem has samples: $OUT"
expect_exit 5 "$S" run -a cpu -- sh -c 'sleep 0.5; exit 5'
assert_contains "$OUT" "reporting task: <" "a failing command is still reported"
expect_exit 127 "$S" run -a cpu -- "$T/no-such-command"
assert_contains "$OUT" "cannot run '$T/no-such-command'" "run: command not found"
expect_exit 130 "$S" run -a cpu -- sh -c 'sleep 0.5; kill -INT $$'
assert_contains "$OUT" "reporting task: <" "killed by Ctrl-C: still reported"
expect_exit 0 "$S" run -a cpu --json -- sh -c 'sleep 0.5'
$PY -c 'import json,sys; d=json.loads(sys.stdin.read().splitlines()[-1]); assert d["task"]["status"] == "stopped" and d["results"]' \
  <<<"$OUT" || fail "run --json: $OUT"
expect_exit 0 "$S" run -a seq --csv -- sleep 0.5
assert_eq "$(grep -c ',seq,seq,count,stream,' <<<"$OUT")" "100" "run --csv"
html_page "$T/run.html" run -a seq --html -- sleep 0.5
[ "$(grep -c '<figure class="chart"' "$T/run.html")" = 1 ] || fail "run --html: one chart"
ok "run"

# --duration: the agent stops the task by itself.
u6=$("$S" start -a slow --duration 1)
wait_stopped "$u6"
ok "start --duration"

if ! grep -q __asan_init "$S" && command -v valgrind >/dev/null; then
  vg() { valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99 "$@"; }
  expect_exit 0 vg "$S" report "$u2" --rows 4
  expect_exit 0 vg "$S" report "$u2" --csv
  expect_exit 0 vg "$S" report "$u3" --html
  expect_exit 0 vg "$S" run -a cpu --json -- sleep 0.3
  expect_exit 1 vg "$S" report 00000000
  expect_exit 0 vg "$M" status
  ok "valgrind: no errors, no leaks"
fi

# --- sca-manage stop; then nothing answers ------------------------------------
expect_exit 0 "$M" stop
assert_eq "$OUT" "agent stopped" "sca-manage stop"
wait_until 10 "! kill -0 $AGENT 2>/dev/null" || fail "the agent did not exit"
expect_exit 3 "$S" report
assert_contains "$OUT" "no agent answered on unix://$T/agent.sock" "after stop: exit 3"
expect_exit 3 "$M" status
assert_contains "$OUT" "reachable:        no" "status after stop"
ok "sca-manage stop"

# A killed agent leaves its socket behind: still exit 3.
start_agent
kill -9 "$AGENT"
wait_until 10 "! kill -0 $AGENT 2>/dev/null"
expect_exit 3 "$S" task
assert_contains "$OUT" "no agent answered on unix://$T/agent.sock" "killed agent: exit 3"
assert_contains "$OUT" "start it with 'sca-agent'" "killed agent: the hint"
ok "a killed agent: exit 3"
