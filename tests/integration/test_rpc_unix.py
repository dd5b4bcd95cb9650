#!/usr/bin/python3
"""The unix-socket transport: call, cast and error cases with 50 concurrent
clients, the socket file (mode 0660, parent created, stale file replaced,
live one kept), SO_PEERCRED, and bad input sent as raw frames (4-byte
big-endian length + oslo envelope): each call gets an error reply naming
the problem, casts are dropped, the server survives and its memory stays
bounded."""
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

BIN = os.environ.get("SCA_TEST_BIN", "build/tests")
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


def start_server(url, *extra):
    p = subprocess.Popen([os.path.join(BIN, "rpc_test_server")] + list(extra) + [url],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("UP"):
        p.wait(10)
        raise RuntimeError("server did not start: %s %s" % (line, p.stderr.read()))
    return p


def stop_server(p):
    p.terminate()
    p.wait(10)
    return p.returncode


def client(url, *args):
    r = subprocess.run([os.path.join(BIN, "rpc_test_client"), "--timeout", "20", url] +
                       list(args), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def envelope(inner):
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)}).encode()


def request(method, args=None, call=True, **extra):
    inner = {"method": method, "args": {} if args is None else args}
    inner.update(extra)
    if call:
        inner["_msg_id"] = uuid.uuid4().hex
        inner["_reply_q"] = "unix"
        inner["_timeout"] = None
    inner["_unique_id"] = uuid.uuid4().hex
    return inner


class Raw:
    """A hand-made client: sends arbitrary frames, reads replies."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)

    def send(self, body, length=None):
        self.s.sendall(struct.pack(">I", len(body) if length is None else length) + body)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def reply(self):
        head = self.recv_exact(4)
        if head is None:
            return None
        body = self.recv_exact(struct.unpack(">I", head)[0])
        return json.loads(json.loads(body)["oslo.message"])

    def failure(self):
        r = self.reply()
        return None if r is None or r["failure"] is None else json.loads(r["failure"])

    def closed(self):
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()


def rss_kb(url):
    rc, out, err = client(url, "call", "stats")
    stats = json.loads(out)
    # AddressSanitizer keeps freed memory in quarantine: no RSS bound then
    # (its LeakSanitizer checks at exit instead).
    return None if stats["sanitized"] else stats["rss_kb"]


def concurrency(url):
    def one(i):
        results = []
        value = {"client": i, "text": "x" * (i * 10)}
        results.append(client(url, "--repeat", "20", "call", "echo", json.dumps({"x": value})))
        results.append(client(url, "call", "boom"))
        results.append(client(url, "--repeat", "4", "cast", "count", '{"n": 1}'))
        return i, value, results

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(one, range(50)))
    calls_ok = all(r[0][0] == 0 and json.loads(r[0][1]) == v for _, v, r in outcomes)
    errors_ok = all(r[1][0] == 2 and r[1][1] == "REMOTE ValueError: boom: requested failure"
                    for _, _, r in outcomes)
    casts_ok = all(r[2][0] == 0 for _, _, r in outcomes)
    check(calls_ok, "50 concurrent clients x 20 calls: every reply matched its caller")
    check(errors_ok, "50 concurrent clients: remote ValueError each")
    check(casts_ok, "50 concurrent clients: 200 casts sent")
    rc, out, err = client(url, "call", "get_count")
    check(out == "200", "every cast arrived (count %s)" % out)
    rc, out, err = client(url, "--repeat", "500", "--concurrent", "50", "call", "slow_echo",
                          '{"x": 1, "seconds": 0.01}')
    check(rc == 0 and out == "1", "500 async replies from the thread pool, 50 in flight")


def bad_input(path, url):
    raw = Raw(path)
    cases = [
        (b'{"oslo.version": "2.0", "oslo.message": "{\\"method\\": \\"echo\\", \\"_msg_id\\": '
         b'\\"m1\\", \\"_reply_q\\": \\"unix\\"', "ValueError", "invalid JSON in message body"),
        (envelope(request("echo", {"x": 1})).replace(b'"2.0"', b'"3.0"'),
         "UnsupportedRpcEnvelopeVersion",
         "Specified RPC envelope version, 3.0, not supported by this endpoint."),
        (envelope({k: v for k, v in request("echo").items() if k != "method"}), "TypeError",
         "RPC message field 'method' must be str, not NoneType"),
        (envelope(request("echo", [1, 2])), "TypeError",
         "RPC message field 'args' must be dict, not list"),
        (envelope(request("nosuch")), "NoSuchMethod", "Endpoint does not support RPC method nosuch"),
        (envelope(request("echo", version="2.0")), "UnsupportedVersion",
         "Endpoint does not support RPC version 2.0. Attempted method: echo"),
        (envelope(request("echo", namespace="foo")), "UnsupportedVersion",
         "Endpoint does not support RPC version 1.0. Attempted method: echo"),
        (envelope(request("typed", {"s": 1, "i": 2})), "TypeError",
         "typed() argument 's' must be str, not int"),
        (envelope(request("typed", {"s": "a"})), "TypeError",
         "typed() missing 1 required positional argument: 'i'"),
        (envelope(request("typed", {"s": "a", "i": 1, "zz": 1})), "TypeError",
         "typed() got an unexpected keyword argument 'zz'"),
        (envelope(request("count", {"n": "one"})), "TypeError",
         "count() argument 'n' must be int, not str"),
        (envelope(request("echo", {"x": 1}, version="x.y")), "ValueError",
         "invalid RPC version 'x.y': expected MAJOR.MINOR[.REVISION]"),
    ]
    for body, cls, message in cases:
        raw.send(body)
        f = raw.failure()
        check(f is not None and f["class"] == cls and f["message"].startswith(message),
              "bad call -> %s: %s" % (cls, f["message"] if f else None))
    # Casts with the same faults: dropped without a reply; the next call is answered.
    for body, _, _ in cases[1:]:
        inner = json.loads(json.loads(body)["oslo.message"]) if b'"3.0"' not in body else None
        if inner is None:
            continue
        for k in ("_msg_id", "_reply_q", "_timeout"):
            inner.pop(k, None)
        raw.send(envelope(inner))
    raw.send(b"\xff\xfe not json at all")
    raw.send(envelope(request("echo", {"x": "still here"})))
    r = raw.reply()
    check(r is not None and r["result"] == "still here",
          "bad casts and undecodable bodies dropped silently; next call answered")
    # A duplicate _unique_id is dropped as oslo does.
    dup = request("echo", {"x": 1})
    raw.send(envelope(dup))
    raw.reply()
    raw.send(envelope(dup))
    raw.send(envelope(request("echo", {"x": 2})))
    r = raw.reply()
    check(r is not None and r["result"] == 2, "duplicate _unique_id dropped")
    raw.close()

    # Over the limit (1 MiB): error reply naming the size, then hang-up.
    raw = Raw(path)
    big = request("echo", {"x": "y" * (1100 * 1024)})
    body = envelope(big)
    raw.send(body)
    f = raw.failure()
    check(f is not None and f["class"] == "ValueError" and
          ("%d bytes exceeds max_message_size" % len(body)) in f["message"],
          "oversized call -> %s" % (f["message"] if f else None))
    check(raw.closed(), "connection closed after an oversized frame")
    raw.close()

    # A length of 4 GiB must not be allocated; nothing sent after it.
    before = rss_kb(url)
    raws = []
    for _ in range(20):
        r = Raw(path)
        r.send(b"", length=0xFFFFFFFF)
        r.s.sendall(b"x" * 1000)
        raws.append(r)
    time.sleep(0.3)
    after = rss_kb(url)
    check_growth(before, after, 4096, "20 clients announcing 4 GiB frames")
    for r in raws:
        r.close()

    # Many bad messages: memory stays bounded.
    before = rss_kb(url)
    raw = Raw(path)
    for i in range(3000):
        raw.send(envelope(request("nosuch", {"i": i})) if i % 2 else b"{broken")
        if i % 2:
            raw.reply()
    raw.close()
    after = rss_kb(url)
    check_growth(before, after, 2048, "3000 bad messages")
    rc, out, err = client(url, "call", "echo", '{"x": "alive"}')
    check(out == '"alive"', "server alive after bad input")


def main():
    tmp = tempfile.mkdtemp(prefix="sca-rpc-unix.")
    path = os.path.join(tmp, "state", "agent.sock")
    url = "unix://" + path
    try:
        server = start_server(url)
        st = os.stat(path)
        check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660,
              "socket mode %o" % stat.S_IMODE(st.st_mode))
        check(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o755,
              "parent directory created 0755")
        rc, out, err = client(url, "call", "whoami")
        check(rc == 0 and json.loads(out) == {"uid": os.getuid()}, "SO_PEERCRED uid: %s" % out)
        second = subprocess.run([os.path.join(BIN, "rpc_test_server"), url], capture_output=True,
                                text=True, timeout=10)
        check(second.returncode != 0 and "another server is listening" in second.stderr,
              "a live socket is never taken over")
        concurrency(url)
        bad_input(path, url)
        check(stop_server(server) == 0, "server exits cleanly")
        check(not os.path.exists(path), "socket file removed at exit")

        server = start_server(url)
        server.kill()
        server.wait()
        check(os.path.exists(path), "a killed server leaves its socket file")
        server = start_server(url)
        rc, out, err = client(url, "call", "echo", '{"x": 1}')
        check(rc == 0 and out == "1", "stale socket file replaced by a new server")
        stop_server(server)
        rc, out, err = client(url, "call", "echo", '{"x": 1}')
        check(rc == 1 and "cannot connect" in err, "no server: the call fails at once (%s)" % err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
