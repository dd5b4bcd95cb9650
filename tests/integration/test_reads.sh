#!/bin/bash
# requires: rabbitmq
# The agent's read methods over its unix socket and over AMQP, called by
# our C client and by a stock oslo.messaging RPCClient, checked against the
# database itself: get_task_series (streams reduced with their spikes and
# dips kept, log heads and tails, summaries, since, tracers, argument
# checks), get_result's keyset cursor (after/next: every sample once, in key
# order, pages ended by limit or by the byte budget), and get_result(offset,
# limit) replies with the same members and paging as before.
source "$(dirname "$0")/lib.sh"
M="$SCA_BIN/sca-manage"
PY=${PYTHON:-/usr/bin/python3}
# Small messages: pages end on the byte budget, many to a result.
use_amqp reads "timeout = 30" "max_message_size = 65536"

"$M" db-create >/dev/null
"$M" setup -t name=spiky -t tpl="$WORKERS/spiky.sh 20000 7777 12345" -t parser=count >/dev/null
"$M" setup -t name=words -t tpl="$WORKERS/words.sh 300" -t parser=log >/dev/null
task=$(new_uuid)
"$SCA_BIN/sca-tracer" "$task" spiky
"$SCA_BIN/sca-tracer" "$task" words
assert_eq "$(sql "SELECT count(*) FROM sample")" 20300 "samples stored"

start_agent_amqp

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


def page_through(call, uuid, limit):
    """Every page of uuid by the cursor: (rows, pages, replies)."""
    got, after, replies = [], None, []
    while True:
        kwargs = {"uuid": uuid, "after": after}
        if limit:
            kwargs["limit"] = limit
        page = call("get_result", **kwargs)
        replies.append(page)
        got += page["data"]
        after = page["next"]
        if after is None or len(replies) > 1000:
            return got, replies


def check_cursor(name, call):
    keys = {"id", "uuid", "task", "tracer", "name", "unit", "rtype", "truncated", "next", "data"}
    for uuid in (spiky, words):
        data = rows[uuid]
        for limit in (0, 777):
            got, replies = page_through(call, uuid, limit)
            check(got == data, "%s: every sample once, in key order (limit %d)" % (name, limit))
            check(set(replies[0]) == keys | {"count"} and replies[0]["count"] == len(data),
                  name + ": the first page counts the samples")
            check(all(set(p) == keys for p in replies[1:]), name + ": later pages do not count")
            check(all(p["next"] is not None for p in replies[:-1]), name + ": next until the end")
            if limit:
                check(len(replies) >= -(-len(data) // limit), name + ": pages of at most limit")
                check(all(len(p["data"]) <= limit for p in replies), name + ": limit")
            elif uuid == spiky:
                check(len(replies) > 1 and all(p["truncated"] for p in replies[:-1]),
                      name + ": pages end on the byte budget (%d pages)" % len(replies))
            else:
                check(len(replies) == 1 and not replies[0]["truncated"],
                      name + ": a short log in one page")
    first = call("get_result", uuid=spiky, after=None, limit=3, summary=True)
    check(first["summary"]["count"] == 20000 and len(first["spark"]) == 40,
          name + ": summary with the first page")
    check(call("get_result", uuid=spiky, after=first["next"], limit=2)["data"] == rows[spiky][3:5],
          name + ": a page starts after next")
    raises(call, "ValueError", "get_result", uuid=spiky, after=[1.0])
    raises(call, "ValueError", "get_result", uuid=spiky, after=["x", 1])
    raises(call, "ValueError", "get_result", uuid=spiky, after=[1.0, 2], offset=3)
    raises(call, "TypeError", "get_result", uuid=spiky, after="x")
    print("ok - %s: get_result(after=...)" % name, flush=True)


def check_old_pages(name, call):
    """get_result without after: the members and paging it always had."""
    keys = {"id", "uuid", "task", "tracer", "name", "unit", "rtype", "count", "offset", "data",
            "truncated"}
    data = rows[spiky]
    r = call("get_result", uuid=spiky[:8], offset=100, limit=50)
    check(set(r) == keys, name + ": old reply members %s" % sorted(r))
    check(r["offset"] == 100 and r["data"] == data[100:150] and not r["truncated"] and
          r["count"] == 20000 and r["uuid"] == spiky, name + ": offset and limit")
    r = call("get_result", uuid=spiky, summary=True)
    check(set(r) == keys | {"summary", "spark"}, name + ": with summary %s" % sorted(r))
    check(r["truncated"] and 0 < len(r["data"]) < 20000 and r["data"] == data[:len(r["data"])],
          name + ": a reply cut at the size cap says so")
    got = []
    while len(got) < 20000:
        page = call("get_result", uuid=spiky, offset=len(got))
        check(page["data"], name + ": offset paging moves on")
        got += page["data"]
    check(got == data, name + ": offset paging reads every sample")
    r = call("get_result", uuid=words, offset=298)
    check(r["data"] == rows[words][298:] and not r["truncated"], name + ": a log's last rows")
    print("ok - %s: get_result(offset, limit) as before" % name, flush=True)


for name, call in callers:
    check_series(name, call)
    check_cursor(name, call)
    check_old_pages(name, call)
transport.cleanup()
PYCODE
expect_exit 0 timeout 300 "$PY" "$T/reads.py" "$DB" "unix://$T/agent.sock" "$SCA_RABBIT_URL" \
  "$topic" "$host" "$task" "$SCA_TEST_BIN/rpc_test_client"
printf '%s\n' "$OUT"
ok "get_task_series, get_result(after) and get_result(offset, limit) over the unix socket and AMQP, from C and oslo.messaging"
