#!/usr/bin/python3
# requires: rabbitmq
"""Interop with Debian's python3-oslo.messaging through a real RabbitMQ.

1. A stock oslo RPCClient calls our C test server: call with a result, call
   raising a remote error, cast, fanout cast (two C servers must both get
   it), dispatch errors, call-monitor heartbeats, context.
2. Our C client calls a stock oslo RPC server the same four ways; casts are
   verified by a later call returning the counter.  A call no queue takes
   fails at once; one that waits in a stopped server's queue times out, or
   with require_listener fails at once.
3. A C server and an oslo server share one topic on the same broker: if
   our declares differed from oslo's, the second to declare would be
   refused (406 PRECONDITION_FAILED).

Run by ctest with the private broker fixture ($SCA_RABBIT_URL).  With
--oslo-server URL TOPIC SERVER it is instead the oslo peer used in part 2.
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid

URL = os.environ.get("SCA_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5673/")
BIN = os.environ.get("SCA_TEST_BIN", "build/tests")
RUN = uuid.uuid4().hex[:8]


def oslo_server(url, topic, server, exchange=None):
    """A reference oslo server, as in docs/wire.md section 12."""
    import oslo_messaging as om
    from oslo_config import cfg

    class Endpoint:
        def __init__(self):
            self.total = 0
            self.lock = threading.Lock()

        def echo(self, ctxt, x):
            return x

        def boom(self, ctxt):
            raise ValueError("boom: requested failure")

        def odd(self, ctxt, kind):
            # What Python's json.dumps writes: JSON with a NUL, or not JSON.
            return {"nul": "a\x00b", "big": 2**64, "nan": float("nan")}[kind]

        def count(self, ctxt, n):
            with self.lock:
                self.total += n
                return self.total

        def get_count(self, ctxt):
            return self.total

    transport = om.get_rpc_transport(cfg.CONF, url=url)
    srv = om.get_rpc_server(transport, om.Target(topic=topic, server=server, exchange=exchange),
                            [Endpoint()], executor="threading")
    srv.start()
    print("READY", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    srv.stop()
    srv.wait()
    transport.cleanup()


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("ok -", what, flush=True)


def lines_of(stream):
    """A queue of stream's lines, read by a thread of its own (None at EOF),
    so that a wait for a line can time out."""
    q = queue.Queue()

    def pump():
        for line in stream:
            q.put(line)
        q.put(None)
    threading.Thread(target=pump, daemon=True).start()
    return q


def wait_line(q, pred, seconds):
    """The first line of q for which pred holds; None at EOF or timeout."""
    deadline = time.time() + seconds
    while True:
        try:
            line = q.get(timeout=max(0.0, deadline - time.time()))
        except queue.Empty:
            return None
        if line is None or pred(line):
            return line


def start(argv, ready="UP"):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if wait_line(lines_of(p.stdout), lambda line: line.startswith(ready), 30) is None:
        stop(p)
        raise Failure("%s not ready within 30 s (rc %s)" % (argv[0], p.returncode))
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def c_client(*args, timeout=10):
    r = subprocess.run([os.path.join(BIN, "rpc_test_client"), "--timeout", str(timeout)] +
                       list(args), capture_output=True, text=True, timeout=timeout + 20)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def count_reaches(want, *args):
    """get_count from a server until it returns want (casts are handled
    asynchronously, the oslo server's on threads); the last value read.
    The bound only ends a wait for a cast that never arrives."""
    deadline = time.time() + 60
    while True:
        rc, out, err = c_client(*args, "call", "get_count")
        if out == want or time.time() > deadline:
            return out or err
        time.sleep(0.1)


def reply_after_queue_appears(topic, server):
    """A call whose reply queue is declared only 2 s after the call was
    sent, as when a caller declares it again after a broker restart: the
    echoed x, or None when no reply came."""
    import amqp
    import urllib.parse
    u = urllib.parse.urlparse(URL)
    conn = amqp.Connection("%s:%s" % (u.hostname, u.port), userid=u.username or "guest",
                           password=u.password or "guest")
    conn.connect()
    ch = conn.channel()
    reply_q = "reply_" + uuid.uuid4().hex
    inner = {"method": "echo", "args": {"x": "late queue"}, "version": "1.0",
             "_msg_id": uuid.uuid4().hex, "_reply_q": reply_q, "_unique_id": uuid.uuid4().hex}
    body = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)})
    ch.basic_publish(amqp.Message(body, content_type="application/json",
                                  content_encoding="utf-8"),
                     exchange="openstack", routing_key="%s.%s" % (topic, server))
    time.sleep(2)
    ch.queue_declare(reply_q, durable=False, auto_delete=False,
                     arguments={"x-expires": 1800000})
    got = []
    tag = ch.basic_consume(reply_q, callback=lambda m: got.append(m.body), no_ack=True)
    deadline = time.time() + 5
    while time.time() < deadline and not got:
        try:
            conn.drain_events(timeout=0.5)
        except Exception:
            pass
    ch.basic_cancel(tag)
    ch.queue_delete(reply_q)
    conn.close()
    if not got:
        return None
    return json.loads(json.loads(got[0])["oslo.message"]).get("result")


def python_calls_c():
    import oslo_messaging as om
    from oslo_config import cfg

    topic = "interop_c_" + RUN
    servers = [start([os.path.join(BIN, "rpc_test_server"), "--topic", topic, "--server", name,
                      URL]) for name in ("node1", "node2")]
    transport = om.get_rpc_transport(cfg.CONF, url=URL)
    try:
        node1 = om.get_rpc_client(transport, om.Target(topic=topic, server="node1"), timeout=10)
        node2 = om.get_rpc_client(transport, om.Target(topic=topic, server="node2"), timeout=10)
        value = {"a": [1, 2.5, "\u00fc"], "b": None, "c": {"d": True}}
        check(node1.call({}, "echo", x=value) == value, "oslo client: call with result")
        try:
            node1.call({}, "boom")
            check(False, "oslo client: call raising ValueError")
        except ValueError as e:
            check(str(e).startswith("boom: requested failure"),
                  "oslo client: remote ValueError re-raised (%s)" % str(e).splitlines()[0])
        node1.cast({}, "count", n=3)
        check(node1.call({}, "get_count") == 3, "oslo client: cast arrived (count 3)")
        fan = om.get_rpc_client(transport, om.Target(topic=topic, fanout=True))
        fan.cast({}, "count", n=4)
        # The fanout queue and T.S are different queues: no order between them.
        deadline = time.time() + 60
        while node1.call({}, "get_count") != 7 and time.time() < deadline:
            time.sleep(0.1)
        check(node1.call({}, "get_count") == 7, "oslo client: fanout cast reached node1")
        while node2.call({}, "get_count") != 4 and time.time() < deadline:
            time.sleep(0.1)
        check(node2.call({}, "get_count") == 4, "oslo client: fanout cast reached node2")
        shared = om.get_rpc_client(transport, om.Target(topic=topic), timeout=10)
        check(shared.call({}, "echo", x=5) == 5, "oslo client: call to the shared topic queue")
        for method, kwargs, exc_type, text in [
                ("nosuch", {}, "NoSuchMethod", "Endpoint does not support RPC method nosuch"),
                ("_private", {}, "NoSuchMethod", "Endpoint does not support RPC method _private")]:
            try:
                node1.call({}, method, **kwargs)
                check(False, "oslo client: %s refused" % method)
            except om.RemoteError as e:
                check(e.exc_type == exc_type and e.value == text,
                      "oslo client: %s -> %s: %s" % (method, e.exc_type, e.value))
        try:
            node1.prepare(version="2.0").call({}, "echo", x=1)
            check(False, "oslo client: version 2.0 refused")
        except om.RemoteError as e:
            check(e.exc_type == "UnsupportedVersion" and e.value ==
                  "Endpoint does not support RPC version 2.0. Attempted method: echo",
                  "oslo client: UnsupportedVersion as oslo words it")
        check(node1.prepare(version="1.1").call({}, "echo", x=1) == 1,
              "oslo client: version 1.1 accepted by a 1.1 endpoint")
        check(node1.prepare(namespace="admin", version="2.0").call({}, "secret") == "admin-2.0",
              "oslo client: namespace admin, version 2.0")
        try:
            node1.call({}, "echo", x=1, y=2)
            check(False, "oslo client: unexpected kwarg refused")
        except TypeError as e:
            check(str(e).startswith("echo() got an unexpected keyword argument 'y'"),
                  "oslo client: TypeError for an unexpected keyword")
        check(node1.call({}, "echo", x="a\x00b") == "a\x00b",
              "oslo client: a string with a NUL character comes back whole")
        ctx = node1.call({"user": "a\x00b"}, "context")
        check(ctx.get("user") == "a\x00b", "oslo client: a NUL in the context is accepted")
        try:
            node1.call({}, "echo", x=2**64)
            check(False, "oslo client: an integer beyond 64 bits refused")
        except ValueError as e:
            check("beyond 64 bits" in str(e),
                  "oslo client: an integer beyond 64 bits refused, and said so (%s)"
                  % str(e).splitlines()[0])
        ctx = node1.call({"user": "u1", "request_id": "req-1"}, "context")
        check(ctx.get("user") == "u1" and ctx.get("request_id") == "req-1",
              "oslo client: context reaches the handler")
        slow = om.get_rpc_client(transport, om.Target(topic=topic, server="node1"), timeout=10,
                            call_monitor_timeout=2)
        check(slow.call({}, "sleep", seconds=3) == 3.0,
              "oslo client: call-monitor heartbeats keep a 3 s call alive (monitor 2 s)")
        quick = om.get_rpc_client(transport, om.Target(topic=topic, server="node1"), timeout=1)
        try:
            quick.call({}, "sleep", seconds=2)
            check(False, "oslo client: timeout")
        except om.MessagingTimeout:
            check(True, "oslo client: times out, and no heartbeat was sent without _timeout")
        time.sleep(1.5)
        check(node1.call({}, "echo", x="after") == "after", "C server fine after a late reply")
        check(reply_after_queue_appears(topic, "node1") == "late queue",
              "C server: a reply whose queue appears 2 s late still arrives (as oslo retries)")
        # Stopped (SIGTERM) while a call is being handled: as oslo's stop()
        # and wait(), the server answers it before it exits.
        answer = []
        caller = threading.Thread(target=lambda: answer.append(
            node1.call({}, "slow_echo", x="done", seconds=2)))
        caller.start()
        time.sleep(0.7)
        servers[0].terminate()
        caller.join(15)
        check(answer == ["done"], "C server stopped mid-call still answers it (%s)" % answer)
        servers[0].wait(15)
    finally:
        transport.cleanup()
        for s in servers:
            stop(s)
    for s in servers:
        check(s.returncode == 0, "C server exits cleanly on SIGTERM")


def c_calls_python():
    topic = "interop_py_" + RUN
    peers = [start([sys.executable, os.path.abspath(__file__), "--oslo-server", URL, topic, name],
                   ready="READY") for name in ("node1", "node2")]
    try:
        value = '{"x": {"a": [1, 2.5, "\\u00fc"], "b": null}}'
        rc, out, err = c_client("--topic", topic, "--server", "node1", URL, "call", "echo", value)
        check(rc == 0 and json.loads(out) == {"a": [1, 2.5, "\u00fc"], "b": None},
              "C client: call with result (%s)" % (out or err))
        rc, out, err = c_client("--topic", topic, "--server", "node1", URL, "call", "boom")
        check(rc == 2 and out == "REMOTE ValueError: boom: requested failure",
              "C client: remote ValueError (%s)" % out)
        rc, out, err = c_client("--topic", topic, "--server", "node1", URL, "call", "odd",
                                '{"kind": "nul"}')
        check(rc == 0 and json.loads(out) == "a\x00b",
              "C client: a result with a NUL character (%s)" % (out or err))
        # "At once": exit 1 with the reason; a call that waited for its
        # timeout would end with exit 3.
        for kind, why in (("big", "beyond 64 bits"), ("nan", "NaN or Infinity")):
            rc, out, err = c_client("--topic", topic, "--server", "node1", URL, "call", "odd",
                                    '{"kind": "%s"}' % kind, timeout=30)
            check(rc == 1 and "cannot decode the reply" in err and why in err,
                  "C client: an undecodable result (%s) fails the call at once, "
                  "not at its 30 s timeout (%s)" % (kind, err))
        rc, out, err = c_client("--topic", topic, "--server", "node1", URL, "call", "nosuch")
        check(rc == 2 and out.startswith("REMOTE NoSuchMethod: Endpoint does not support RPC"),
              "C client: NoSuchMethod from oslo (%s)" % out)
        rc, out, err = c_client("--topic", topic, "--server", "node1", "--repeat", "5", URL,
                                "cast", "count", '{"n": 1}')
        check(rc == 0, "C client: 5 casts sent (%s)" % err)
        out = count_reaches("5", "--topic", topic, "--server", "node1", URL)
        check(out == "5", "C client: casts arrived (count %s)" % out)
        rc, out, err = c_client("--topic", topic, URL, "fanout", "count", '{"n": 10}')
        check(rc == 0, "C client: fanout cast sent (%s)" % err)
        out1 = count_reaches("15", "--topic", topic, "--server", "node1", URL)
        out2 = count_reaches("10", "--topic", topic, "--server", "node2", URL)
        check(out1 == "15" and out2 == "10",
              "C client: fanout reached both oslo servers (%s, %s)" % (out1, out2))
        rc, out, err = c_client("--topic", topic, "--server", "nodeX", URL, "call", "echo",
                                '{"x": 1}', timeout=30)
        check(rc == 1 and "no queue on the broker takes %s.nodeX" % topic in err,
              "C client: a call no queue takes fails at once, not at its 30 s timeout (%s)" % err)
        # A stopped oslo server leaves its queue: a call waits there for the timeout.
        peers[1].stdin.close()
        peers[1].wait(30)
        rc, out, err = c_client("--topic", topic, "--server", "node2", URL, "call", "echo",
                                '{"x": 1}', timeout=1)
        check(rc == 3, "C client: a call nobody consumes times out (rc %d: %s)" % (rc, err))
        # With require_listener the queue's consumers are asked about first:
        # calls to a live server, a stopped one and a missing one, all in
        # flight at once (a missing queue closes the probe channel, and the
        # questions behind it are asked again).
        # Each failure says why: none is a timeout.
        rc, out, err = c_client("--topic", topic, "--require-listener", "--servers",
                                "node1,node2,nodeX", "--repeat", "9", "--concurrent", "9", URL,
                                "call", "echo", '{"x": 1}', timeout=30)
        check(err.count("queue %s.node2 has no consumer" % topic) == 3 and
              err.count("no queue on the broker takes %s.nodeX" % topic) == 3 and
              "3 ok, 6 failed" in err,
              "C client, require_listener: live, stopped and missing servers told apart at once "
              "(%s)" % err)
    finally:
        for p in peers:
            p.stdin.close()
            p.wait(30)


def shared_topic():
    """oslo declares first, then C; then C first, then oslo (new topics).
    The same with oslo's amqp_durable_queues and rabbit_quorum_queue given in
    the URL to both, on a control exchange of their own (a durable
    'openstack' would refuse every other test's declare)."""
    for option in ("", "amqp_durable_queues=true", "rabbit_quorum_queue=true"):
        url = URL + ("?" + option if option else "")
        exchange = "interop_%s_%s" % (option.split("=")[0], RUN) if option else "openstack"
        for order in ("oslo-first", "c-first"):
            shared_topic_pair(url, exchange, option or "default", order)
    quorum_refused()


def shared_topic_pair(url, exchange, label, order):
    label = "%s, %s" % (label, order)
    topic = "interop_shared_%s_%s" % (RUN, uuid.uuid4().hex[:6])
    oslo = [sys.executable, os.path.abspath(__file__), "--oslo-server", url, topic, "nodeP",
            exchange]
    c = [os.path.join(BIN, "rpc_test_server"), "--topic", topic, "--server", "nodeC",
         "--exchange", exchange, url]
    ex = ("--exchange", exchange)
    first = start(oslo, "READY") if order == "oslo-first" else start(c)
    second = start(c) if order == "oslo-first" else start(oslo, "READY")
    try:
        rc, out, err = c_client("--topic", topic, "--server", "nodeP", *ex, url, "call", "echo",
                                '{"x": "p"}')
        check(rc == 0 and out == '"p"', "%s: oslo server answers beside ours (%s)"
              % (label, out or err))
        rc, out, err = c_client("--topic", topic, "--server", "nodeC", *ex, url, "call", "whoami")
        check(rc == 0 and "uid" in out, "%s: our server answers beside oslo's" % label)
        rc, out, err = c_client("--topic", topic, *ex, url, "fanout", "count", '{"n": 2}')
        out = count_reaches("2", "--topic", topic, "--server", "nodeC", *ex, url)
        out2 = count_reaches("2", "--topic", topic, "--server", "nodeP", *ex, url)
        check(out == "2" and out2 == "2", "%s: one fanout exchange for both" % label)
    finally:
        for p in (first, second):
            if p.args[0] == sys.executable:
                p.stdin.close()
                p.wait(30)
            else:
                stop(p)


def quorum_refused():
    """An oslo server's quorum topic queue refuses our classic declare, and
    our server says which setting mends it."""
    exchange = "interop_refused_" + RUN
    topic = "interop_quorum_" + RUN
    oslo = start([sys.executable, os.path.abspath(__file__), "--oslo-server",
                  URL + "?rabbit_quorum_queue=true", topic, "nodeP", exchange], "READY")
    c = subprocess.Popen([os.path.join(BIN, "rpc_test_server"), "--topic", topic, "--server",
                          "nodeC", "--exchange", exchange, URL + "?amqp_durable_queues=true"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        text = wait_line(lines_of(c.stderr), lambda line: "x-queue-type" in line, 20) or ""
        check("inequivalent arg 'x-queue-type'" in text and
              "set [rpc] rabbit_quorum_queue" in text,
              "a classic declare of oslo's quorum queue is refused, the setting named (%s)"
              % text.strip().splitlines()[-1:])
        # A client that declares the (durable) exchange otherwise: its call
        # is dropped with the closed channel, and fails at once saying why.
        rc, out, err = c_client("--exchange", exchange, "--topic", topic, "--server", "nodeP", URL,
                                "call", "echo", '{"x": 1}', timeout=30)
        check(rc == 1 and "inequivalent arg 'durable'" in err,
              "a call behind a refused declare fails at once with the broker's reason "
              "(%s)" % err.splitlines()[-1:])
    finally:
        stop(c)
        oslo.stdin.close()
        oslo.wait(30)


def main():
    if len(sys.argv) in (5, 6) and sys.argv[1] == "--oslo-server":
        oslo_server(*sys.argv[2:])
        return 0
    try:
        python_calls_c()
        c_calls_python()
        shared_topic()
    except Failure as e:
        print("FAIL -", e, flush=True)
        return 1
    print("all interop checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
