#!/usr/bin/python3
# requires: rabbitmq
"""Bad input over AMQP: raw messages published (with py-amqp) to the C test
server's queue.  Every call gets an error reply naming the problem, casts
are dropped, the server survives and its memory stays bounded."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import amqp

URL = os.environ.get("SCA_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5673/")
BIN = os.environ.get("SCA_TEST_BIN", "build/tests")
TOPIC = "badinput_" + uuid.uuid4().hex[:8]
failures = 0


def check(cond, what):
    global failures
    print(("ok - " if cond else "FAIL - ") + what, flush=True)
    failures += not cond


def check_growth(before, after, limit_kb, what):
    if before is None or after is None:
        print("ok - %s: not measured under AddressSanitizer" % what, flush=True)
    else:
        check(after - before < limit_kb, "%s: RSS +%d KiB" % (what, after - before))


class Peer:
    """A raw AMQP peer with its own reply queue."""

    def __init__(self):
        u = urllib.parse.urlparse(URL)
        self.conn = amqp.Connection(host="%s:%d" % (u.hostname, u.port or 5672),
                                    userid=u.username, password=u.password, virtual_host="/")
        self.conn.connect()
        self.ch = self.conn.channel()
        self.reply_q = "reply_" + uuid.uuid4().hex
        self.ch.queue_declare(self.reply_q, durable=False, auto_delete=True, exclusive=True)
        self.replies = []
        self.ch.basic_consume(self.reply_q, callback=self.replies.append, no_ack=True)

    def publish(self, body, content_type="application/json", server="node1"):
        props = {} if content_type is None else {"content_type": content_type}
        self.ch.basic_publish(amqp.Message(body, **props), exchange="openstack",
                              routing_key="%s.%s" % (TOPIC, server))

    def reply(self, timeout=5):
        deadline = time.time() + timeout
        while not self.replies and time.time() < deadline:
            try:
                self.conn.drain_events(timeout=max(0.05, deadline - time.time()))
            except socket.timeout:
                pass
        if not self.replies:
            return None
        msg = self.replies.pop(0)
        return json.loads(json.loads(msg.body)["oslo.message"])

    def failure(self):
        r = self.reply()
        return None if r is None or r["failure"] is None else json.loads(r["failure"])

    def request(self, method, args=None, call=True, **extra):
        inner = {"method": method, "args": {} if args is None else args}
        inner.update(extra)
        if call:
            inner.update(_msg_id=uuid.uuid4().hex, _reply_q=self.reply_q, _timeout=None)
        inner["_unique_id"] = uuid.uuid4().hex
        return inner


def envelope(inner):
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)}).encode()


def c_call(method, args="{}", *options, stderr=False):
    r = subprocess.run([os.path.join(BIN, "rpc_test_client"), "--topic", TOPIC, "--server",
                        "node1", "--timeout", "10"] + list(options) + [URL, "call", method, args],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stderr if stderr else r.stdout).strip()


def rss_kb():
    stats = json.loads(c_call("stats")[1])
    # AddressSanitizer keeps freed memory in quarantine: no RSS bound then
    # (its LeakSanitizer checks at exit instead).
    return None if stats["sanitized"] else stats["rss_kb"]


def main():
    server = subprocess.Popen([os.path.join(BIN, "rpc_test_server"), "--topic", TOPIC, URL],
                              stdout=subprocess.PIPE, text=True)
    if not server.stdout.readline().startswith("UP"):
        print("FAIL - server did not come up")
        return 1
    peer = Peer()
    try:
        p = peer
        req = p.request("echo", {"x": 1})
        cases = [
            (envelope(req)[:-20] + b'"_msg_id": "m", "_reply_q": "%s"' % p.reply_q.encode(),
             "application/json", "ValueError", "invalid JSON in message body"),
            (envelope(p.request("echo", {"x": 1})).replace(b'"2.0"', b'"3.0"', 1),
             "application/json", "UnsupportedRpcEnvelopeVersion",
             "Specified RPC envelope version, 3.0, not supported by this endpoint."),
            (envelope({k: v for k, v in p.request("x").items() if k != "method"}),
             "application/json", "TypeError", "RPC message field 'method' must be str"),
            (envelope(p.request("echo", [1])), "application/json", "TypeError",
             "RPC message field 'args' must be dict, not list"),
            (envelope(p.request("nosuch")), "application/json", "NoSuchMethod",
             "Endpoint does not support RPC method nosuch"),
            (envelope(p.request("typed", {"s": "a", "i": 1.5})), "application/json", "TypeError",
             "typed() argument 'i' must be int, not float"),
            (envelope(p.request("echo", {"x": 1})), "text/plain", "ValueError",
             "unsupported content type 'text/plain'"),
            (envelope(p.request("echo", {"x": 1})), None, "ValueError",
             "unsupported content type ''"),
        ]
        for body, ctype, cls, message in cases:
            p.publish(body, ctype)
            f = p.failure()
            check(f is not None and f["class"] == cls and f["message"].startswith(message),
                  "bad call -> %s: %s" % (cls, f["message"] if f else None))
        big = envelope(p.request("echo", {"x": "y" * (1200 * 1024)}))
        p.publish(big)
        f = p.failure()
        check(f is not None and f["class"] == "ValueError" and
              ("%d bytes exceeds max_message_size" % len(big)) in f["message"],
              "oversized call -> %s" % (f["message"] if f else None))
        # Casts with faults: no reply at all.
        for method, args in (("nosuch", {}), ("echo", [1]), ("typed", {"s": 1})):
            p.publish(envelope(p.request(method, args, call=False)))
        p.publish(b"not json", "application/json")
        check(p.reply(timeout=1.5) is None, "bad casts: no reply")
        # A reply to a reply queue that no longer exists is returned by the
        # broker (mandatory) and dropped by us.
        gone = p.request("echo", {"x": 1})
        gone["_reply_q"] = "reply_nobody_" + uuid.uuid4().hex
        p.publish(envelope(gone))
        rc, out = c_call("echo", '{"x": "alive"}')
        check(rc == 0 and out == '"alive"', "server alive after bad input")
        # Under the limit but over AMQP's frame size (128 KiB): several body
        # frames each way, written by our own frame encoder.
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump({"x": "b" * 900000}, f)
            f.flush()
            rc, out = c_call("echo", "@" + f.name)
        check(rc == 0 and out == '"%s"' % ("b" * 900000), "900 KB call and reply over AMQP")
        # A reply over the caller's own limit: the call fails at once, sized
        # (exit 1 with the size; waiting for its timeout would be exit 3).
        rc, err = c_call("big", '{"n": 300000}', "--max-size", "100000", stderr=True)
        check(rc == 1 and "exceeds max_message_size 100000" in err,
              "a reply over the caller's limit fails the call at once (%s)" % err)

        before = rss_kb()
        for i in range(2000):
            p.publish(envelope(p.request("nosuch", {"i": i})) if i % 2 else b"{broken")
        for _ in range(1000):
            if p.reply() is None:
                break
        for _ in range(20):
            p.publish(envelope(p.request("echo", {"x": "z" * (2 << 20)}, call=False)))
        time.sleep(1)
        after = rss_kb()
        check_growth(before, after, 4096, "2000 bad + 20 oversized messages")
    finally:
        peer.conn.close()
        server.terminate()
        server.wait(15)
    check(server.returncode == 0, "server exits cleanly")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
