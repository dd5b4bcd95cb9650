#!/bin/bash
# sca compare against a real agent: two tasks of the same tracers with
# different data, their figures checked against the store, the threshold
# and --fail-on-change, the JSON object, the HTML overlay, and bad input.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
PY=/usr/bin/python3

task_status() { sql "SELECT status FROM task WHERE uuid = '$1'"; }
wait_stopped() { wait_until 15 "[ \"\$(task_status $1)\" = stopped ]" || fail "task $1 did not stop"; }
# stat TASK TRACER EXPR: EXPR (avg(value), count(*) ...) over that tracer's samples in TASK.
stat() {
  sql "SELECT $3 FROM sample s JOIN result r ON r.id = s.result_id JOIN task t ON t.id = r.task_id
       WHERE t.uuid = '$1' AND r.tracer = '$2'"
}

"$M" db-create >/dev/null
# seq's numbers come from a data option, so that B's differ from A's.
"$M" setup -d top=100 >/dev/null
"$M" setup -t name=seq -t "tpl=seq 1 %(top)s" -t parser=count >/dev/null
"$M" setup -t name=steady -t "tpl=seq 50 60" -t parser=count >/dev/null
"$M" setup -t name=words -t parser=log -t "tpl=printf 'a\nb\n'" >/dev/null
"$M" setup -t name=once -t "tpl=seq 1 5" -t parser=count >/dev/null
"$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
_cleanup_pids+=("$!")
wait_until 10 '[ -S "$T/agent.sock" ] && "$M" status >/dev/null 2>&1' ||
  fail "the agent did not start: $(cat "$T/agent.log")"

a=$("$S" start -a seq,steady,words,once)
wait_stopped "$a"
"$M" setup -d top=300 >/dev/null
b=$("$S" start -a seq,steady,words)
wait_stopped "$b"

# --- text ------------------------------------------------------------------------
expect_exit 0 "$S" compare "${a:0:8}" "$b"
printf '%s\n' "$OUT"
assert_contains "$OUT" "A: task $a on " "the A line"
assert_contains "$OUT" "B: task $b on " "the B line"
# row SERIES STAT: that row of the table, spaces squeezed (a series' rows
# follow its first, whose series cell names it; results come in the order
# the tracers first wrote).
row() {
  printf '%s\n' "$OUT" | awk -v s="$1" -v st="$2" -F' *[|] *' \
    '$2 != "" { cur = $2 } cur == s && $3 == st { print }' | tr -s ' '
}
assert_eq "$(row 'seq (count)' count)" "| seq (count) | count | 100 | 300 | +200.0% | |" "seq's count"
# avg 50.5 -> 150.5 (+198.0%), p95 95 -> 285: flagged; the store agrees.
assert_eq "$(stat "$a" seq 'avg(value)')" "50.5" "A's avg in the store"
assert_eq "$(stat "$b" seq 'avg(value)')" "150.5" "B's avg in the store"
assert_eq "$(row 'seq (count)' avg)" "| | avg | 50.5 | 150 | +198.0% | changed |" "seq's avg"
assert_eq "$(row 'seq (count)' p95)" "| | p95 | 95 | 285 | +200.0% | changed |" "seq's p95"
assert_eq "$(row 'steady (count)' count)" "| steady (count) | count | 11 | 11 | 0% | |" "an unchanged series"
assert_eq "$(row words count)" "| words | count | 2 | 2 | 0% | |" "a log: its count"
assert_eq "$(row 'once (count)' count)" "| once (count) | count | 5 | - | | only in A |" "only in A"
assert_eq "$(printf '%s\n' "$OUT" | tail -n 1)" \
  "1 of 3 series changed by more than 10% in avg or p95; 1 only in A" "the verdict"
ok "compare: the figures, the change and what is flagged"

# B against A: the other way round, only in B.
expect_exit 0 "$S" compare "$b" "$a"
assert_eq "$(row 'once (count)' count)" "| once (count) | count | - | 5 | | only in B |" "only in B"
assert_contains "$OUT" "-66.4%" "avg 150.5 -> 50.5"
# A higher threshold flags nothing; --fail-on-change exits 5 only on a flag.
expect_exit 0 "$S" compare "$a" "$b" --threshold 200% --fail-on-change
assert_contains "$OUT" "0 of 3 series changed by more than 200% in avg or p95" "--threshold 200%"
expect_exit 5 "$S" compare "$a" "$b" --fail-on-change
assert_contains "$OUT" "1 of 3 series changed" "exit 5 still prints the comparison"
expect_exit 0 "$S" compare "$a" "$a" --fail-on-change --threshold 0
assert_contains "$OUT" "0 of 4 series changed by more than 0%" "a task against itself"
ok "compare: --threshold and --fail-on-change"

# --- JSON ------------------------------------------------------------------------
expect_exit 0 "$S" compare "$a" "$b" --json
printf '%s\n' "$OUT" >"$T/cmp.json"
$PY - "$T/cmp.json" "$a" "$b" <<'EOF' || fail "compare --json: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
a, b = sys.argv[2:]
assert doc["a"]["task"] == a and doc["b"]["task"] == b, doc["a"]
assert doc["a"]["status"] == "stopped" and doc["threshold"] == 10
assert (doc["changed"], doc["only_a"], doc["only_b"]) == (1, 1, 0), doc
by = {s["tracer"]: s for s in doc["series"]}
assert sorted(s["tracer"] for s in doc["series"]) == ["once", "seq", "steady", "words"]
seq = by["seq"]
assert seq["in"] == "both" and seq["changed"] == ["avg", "p95"], seq
assert seq["a"]["count"] == 100 and seq["b"]["count"] == 300
assert abs(seq["change"]["avg"] - (150.5 - 50.5) / 50.5 * 100) < 1e-9, seq["change"]
assert by["once"]["b"] is None and by["once"]["in"] == "a"
assert set(by["words"]["change"]) == {"count"} and by["words"]["rtype"] == "log"
EOF
expect_exit 0 "$S" --json compare "$a" "$b"
assert_contains "$OUT" '"only_a":1' "the global --json"
ok "compare --json"

# --- HTML: both runs on one axis from their start ---------------------------------
"$S" compare "$a" "$b" --html >"$T/cmp.html" || fail "compare --html failed"
$PY - "$T/cmp.html" "$a" "$b" <<'EOF' || fail "compare --html: see above"
import json, re, sys
page = open(sys.argv[1]).read()
a, b = sys.argv[2:]
assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
assert a in page and b in page
assert "src=\"http" not in page and "Dygraph" in page
blocks = re.findall(r'<h3>([^<]*)</h3>\n<p class="note">[^<]*</p>\n'
                    r'<script type="application/json" id="(p\d+)">(.*?)</script>', page)
charts = re.findall(r'<div class="chart" data-points="(p\d+)">', page)
# seq, steady and once: streams; words is a log.
assert sorted(b[0] for b in blocks) == ["once (count)", "seq (count)", "steady (count)"], blocks
assert [b[1] for b in blocks] == charts, charts
rows = json.loads([b[2] for b in blocks if b[0] == "seq (count)"][0])
a_vals = [r[1] for r in rows if r[1] is not None]
b_vals = [r[2] for r in rows if r[2] is not None]
assert sorted(a_vals) == list(range(1, 101)), a_vals[:5]
assert sorted(b_vals) == list(range(1, 301)), b_vals[:5]
xs = [r[0] for r in rows]
assert xs == sorted(xs) and 0 <= xs[0] < 30, xs[:3]
assert '<tr class="changed">' in page
EOF
# In Chromium: the comparison's script and the report's (its head is
# theirs) run without an error or exception.
$PY "$SCA_SRC/tests/integration/browser.py" "$T/cmp.html" >"$T/cmp.seen" ||
  fail "Chromium could not open the comparison"
$PY - "$T/cmp.seen" <<'EOF' || fail "compare --html in Chromium: $(cat "$T/cmp.seen")"
import json, sys
seen = json.load(open(sys.argv[1]))
assert seen["errors"] == [], seen["errors"]
assert seen["charts"] == 0, "the report's script found charts of its own: %s" % seen["charts"]
EOF
ok "compare --html overlays A and B from their start"

# --- bad input ---------------------------------------------------------------------
expect_exit 2 "$S" compare "$a"
assert_contains "$OUT" "compare needs two task uuids" "one task"
expect_exit 2 "$S" compare "$a" "$b" "$a"
assert_contains "$OUT" "unexpected argument" "three tasks"
expect_exit 2 "$S" compare "$a" xyz
assert_contains "$OUT" "'xyz' is not a task uuid" "a bad uuid"
expect_exit 2 "$S" compare "$a" "$b" --threshold -5
assert_contains "$OUT" "--threshold expects a percentage" "a negative threshold"
expect_exit 2 "$S" compare "$a" "$b" --threshold lots
expect_exit 2 "$S" compare "$a" "$b" --csv
assert_contains "$OUT" "unknown option '--csv'" "no CSV"
expect_exit 2 "$S" compare "$a" "$b" --json --html
assert_contains "$OUT" "exclude each other" "--json and --html"
# Over the unix socket --all-hosts is the local agent: the same comparison.
expect_exit 0 "$S" --all-hosts compare "$a" "$b"
assert_contains "$OUT" "1 of 3 series changed" "--all-hosts: the local agent's comparison"
expect_exit 1 "$S" compare "$a" ffffffff
assert_contains "$OUT" "NotFound" "an unknown task"
expect_exit 3 "$S" --transport-url "unix://$T/none.sock" compare "$a" "$b"
ok "compare: bad input and no agent"
