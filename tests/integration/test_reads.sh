#!/bin/bash
# requires: rabbitmq
# The agent's read methods over its unix socket and over AMQP, called by
# our C client and by a stock oslo.messaging RPCClient, checked against the
# database itself: get_task_series (streams reduced with their spikes and
# dips kept, log heads and tails, summaries, since, tracers, argument
# checks), get_result's keyset cursor (after/next: every sample once, in key
# order, whatever the page size), and get_result(offset, limit) replies with
# the same members as before.
source "$(dirname "$0")/lib.sh"
M="$SCA_BIN/sca-manage"
PY=${PYTHON:-/usr/bin/python3}
: "${SCA_RABBIT_URL:?}"
topic="sca_reads_$$"
host="reads-$$"
cat >>"$SCALPELS_CONF" <<CONF

[DEFAULT]
transport_url = $SCA_RABBIT_URL

[agent]
host = $host

[rpc]
topic = $topic
timeout = 30
CONF

"$M" db-create >/dev/null
"$M" setup -t name=spiky -t tpl="$WORKERS/spiky.sh 20000 7777 12345" -t parser=count >/dev/null
"$M" setup -t name=words -t tpl="$WORKERS/words.sh 300" -t parser=log >/dev/null
task=$(new_uuid)
"$SCA_BIN/sca-tracer" "$task" spiky
"$SCA_BIN/sca-tracer" "$task" words
assert_eq "$(sql "SELECT count(*) FROM sample")" 20300 "samples stored"

"$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
_cleanup_pids+=("$!")
wait_until 30 '"$SCA_BIN/sca" --timeout 1 task -l >/dev/null 2>&1' ||
  fail "the agent did not answer over AMQP: $(tail -5 "$T/agent.log")"

cat >"$T/reads.py" <<'PYCODE'
import json, math, sqlite3, subprocess, sys
import oslo_messaging as messaging
from oslo_config import cfg

db, unix_url, amqp_url, topic, host, task, client_bin = sys.argv[1:]


class Remote(Exception):
    def __init__(self, cls):
        super().__init__(cls)
        self.cls = cls


def c_client(url):
    def call(method, **kwargs):
        argv = [client_bin, "--timeout", "30"]
        if url.startswith("rabbit:"):
            argv += ["--topic", topic, "--server", host]
        argv += [url, "call", method, json.dumps(kwargs)]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode == 2 and r.stdout.startswith("REMOTE "):
            raise Remote(r.stdout[7:].split(":")[0])
        if r.returncode != 0:
            raise SystemExit("%s %s: exit %d: %s%s" % (url, method, r.returncode, r.stdout, r.stderr))
        return json.loads(r.stdout)
    return call


cfg.CONF([], project="sca-test")
transport = messaging.get_rpc_transport(cfg.CONF, url=amqp_url)
oslo = messaging.RPCClient(transport, messaging.Target(topic=topic, server=host, version="1.0"),
                           timeout=30)


def oslo_call(method, **kwargs):
    try:
        return oslo.call({}, method, **kwargs)
    except messaging.RemoteError as e:
        raise Remote(e.exc_type)
    except (ValueError, TypeError) as e:
        # oslo raises builtins' exceptions as themselves (a subclass).
        raise Remote(ValueError.__name__ if isinstance(e, ValueError) else TypeError.__name__)


callers = [("C client, unix socket", c_client(unix_url)),
           ("C client, AMQP", c_client(amqp_url)),
           ("oslo.messaging client, AMQP", oslo_call)]


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)


def raises(call, cls, method, **kwargs):
    try:
        call(method, **kwargs)
    except Remote as e:
        check(e.cls == cls, "%s(%s) raised %s, not %s" % (method, kwargs, e.cls, cls))
        return
    raise SystemExit("FAIL: %s(%s) did not raise %s" % (method, kwargs, cls))


con = sqlite3.connect(db)
results = con.execute("SELECT r.id, r.uuid, r.tracer, r.rtype FROM result r"
                      " JOIN task t ON t.id = r.task_id WHERE t.uuid = ? ORDER BY r.id",
                      (task,)).fetchall()
check([r[2] for r in results] == ["spiky", "words"], "the task has the two results")
rows = {r[1]: [list(x) for x in con.execute(
    "SELECT ts, coalesce(value, text) FROM sample WHERE result_id = ? ORDER BY ts, rowid",
    (r[0],))] for r in results}
spiky, words = results[0][1], results[1][1]


def stream_summary(data):
    values = sorted(v for _, v in data)
    rank = math.ceil(0.95 * len(values))
    return {"count": len(data), "first": data[0][0], "last": data[-1][0], "min": values[0],
            "max": values[-1], "avg": sum(values) / len(values), "p95": values[rank - 1],
            "last_value": data[-1][1]}


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def check_series(name, call):
    reply = call("get_task_series", uuid=task[:8], points=100, log_rows=10)
    check(reply["host"] == host, name + ": host")
    check(reply["task"] == call("get_task", uuid=task), name + ": task as get_task returns it")
    series = reply["series"]
    check([s["uuid"] for s in series] == [spiky, words], name + ": series in get_task's order")
    s, w = series
    keys = {"uuid", "task", "tracer", "name", "unit", "rtype", "count", "summary", "spark",
            "points", "reduced"}
    check(set(s) == keys and set(w) == keys, name + ": series members %s" % sorted(s))
    data = rows[spiky]
    check(s["count"] == 20000 and s["rtype"] == "stream" and s["task"] == task, name + ": count")
    check(len(s["points"]) <= 100 and s["reduced"],
          name + ": a stream reduced to at most 100 points (%d)" % len(s["points"]))
    check(all(len(p) == 2 for p in s["points"]), name + ": points are [ts, value]")
    check(all(a[0] <= b[0] for a, b in zip(s["points"], s["points"][1:])), name + ": time order")
    check(data[7776] in s["points"], name + ": the spike survives")
    check(data[12344] in s["points"], name + ": the dip survives")
    truth = set(map(tuple, data))
    check(all(tuple(p) in truth for p in s["points"]), name + ": every point is a sample")
    want = stream_summary(data)
    check(set(s["summary"]) == set(want), name + ": summary members %s" % sorted(s["summary"]))
    check(all(close(s["summary"][k], want[k]) for k in want), name + ": summary %s" % s["summary"])
    check(len(s["spark"]) == 40, name + ": 40 spark slices")
    log = rows[words]
    check(w["points"] == log[:5] + log[-5:] and w["reduced"], name + ": log head and tail")
    check(w["spark"] is None and w["count"] == 300, name + ": log spark and count")
    check(w["summary"] == {"count": 300, "first": log[0][0], "last": log[-1][0]},
          name + ": log summary %s" % w["summary"])

    since = data[18999][0]
    reply = call("get_task_series", uuid=task, points=5000, log_rows=5000, since=since,
                 tracers=["spiky"])
    check(len(reply["series"]) == 1, name + ": tracers=['spiky'] leaves the log out")
    s = reply["series"][0]
    after = [p for p in data if p[0] > since]
    check(s["points"] == after and not s["reduced"], name + ": since, every later sample")
    check(s["summary"]["count"] == 20000, name + ": since leaves the summary whole")
    reply = call("get_task_series", uuid=task, tracers=["words"], log_rows=0)
    check(reply["series"][0]["points"] == [] and reply["series"][0]["reduced"],
          name + ": log_rows=0")
    check(call("get_task_series", uuid=task, tracers=["nosuch"])["series"] == [],
          name + ": an unknown tracer has no series")

    for bad in ({"points": 1}, {"points": 5001}, {"log_rows": -1}, {"log_rows": 5001}):
        raises(call, "ValueError", "get_task_series", uuid=task, **bad)
    raises(call, "TypeError", "get_task_series", uuid=task, points="many")
    raises(call, "TypeError", "get_task_series", uuid=task, tracers="spiky")
    raises(call, "NotFound", "get_task_series", uuid="ffffffff")
    raises(call, "ValueError", "get_task_series", uuid="fff")
    print("ok - %s: get_task_series" % name, flush=True)


for name, call in callers:
    check_series(name, call)
transport.cleanup()
PYCODE
expect_exit 0 timeout 300 "$PY" "$T/reads.py" "$DB" "unix://$T/agent.sock" "$SCA_RABBIT_URL" \
  "$topic" "$host" "$task" "$SCA_TEST_BIN/rpc_test_client"
printf '%s\n' "$OUT"
ok "get_task_series over the unix socket and AMQP, from C and from oslo.messaging"
