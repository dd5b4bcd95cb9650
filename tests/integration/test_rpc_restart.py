#!/usr/bin/python3
"""Broker restart: stop RabbitMQ while a C server runs, start it again; the
server must reconnect, declare its queues again and answer a new call
within 10 s of the broker's return, without being restarted.  Then the
heartbeats: an idle link stays up, a frozen (SIGSTOP) broker is noticed
within two heartbeat intervals, and the link comes back.  Last, a declare
the broker refuses (the exchange declared durable by someone else): the
server backs off instead of redialling several times a second, says which
setting mends it, and serves once the conflict is gone.

Uses its own private broker (the first free port from 5674, its own
directory) so that the shared fixture of the other tests is never
disturbed."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

SRC = os.environ.get("SCA_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
BIN = os.environ.get("SCA_TEST_BIN", "build/tests")
BUILD = os.environ.get("SCA_BUILD", "build")
DIR = os.path.join(BUILD, "rabbitmq-restart")
LIMIT = 10.0


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(first):
    """A port free on loopback with its RabbitMQ distribution port (+20000):
    other test runs on this machine may hold the usual ones."""
    for port in range(first, first + 300):
        if port_free(port) and port_free(port + 20000):
            return port
    raise RuntimeError("no free port near %d" % first)


PORT = str(free_port(5674))
URL = "rabbit://guest:guest@127.0.0.1:%s/" % PORT


def broker(cmd):
    r = subprocess.run(["bash", os.path.join(SRC, "scripts/rabbitmq.sh"), cmd, DIR, PORT],
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise RuntimeError("rabbitmq.sh %s: %s" % (cmd, r.stderr.strip()))


def call(method, args="{}", timeout=1):
    r = subprocess.run([os.path.join(BIN, "rpc_test_client"), "--timeout", str(timeout), URL,
                        "call", method, args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def declare_exchange(durable):
    """Deletes the topic exchange, and declares it again durable."""
    import kombu
    with kombu.Connection("amqp://guest:guest@127.0.0.1:%s//" % PORT) as conn:
        ch = conn.channel()
        ch.exchange_delete("openstack")
        if durable:
            kombu.Exchange("openstack", "topic", durable=True)(ch).declare()


class Watch:
    """Reads the server's UP/DOWN lines in the background."""

    def __init__(self, proc):
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self.run, args=(proc,), daemon=True).start()

    def run(self, proc):
        for line in proc.stdout:
            with self.cond:
                self.lines.append((time.time(), line.strip()))
                self.cond.notify_all()

    def wait_for(self, prefix, after, timeout):
        deadline = time.time() + timeout
        with self.cond:
            while time.time() < deadline:
                for t, line in self.lines:
                    if t >= after and line.startswith(prefix):
                        return t
                self.cond.wait(deadline - time.time())
        return None


def main():
    failures = 0

    def check(cond, what):
        nonlocal failures
        print(("ok - " if cond else "FAIL - ") + what, flush=True)
        failures += not cond

    broker("start")
    server = None
    try:
        server = subprocess.Popen([os.path.join(BIN, "rpc_test_server"), "--heartbeat", "2",
                                   URL], stdout=subprocess.PIPE, text=True)
        watch = Watch(server)
        check(watch.wait_for("UP", 0, 30) is not None, "server up")
        rc, out, err = call("echo", '{"x": "before"}')
        check(rc == 0 and out == '"before"', "call before the restart (%s)" % (out or err))

        t_stop = time.time()
        broker("stop")
        check(watch.wait_for("DOWN", t_stop, 30) is not None, "server noticed the broker left")
        t0 = time.time()
        rc, out, err = call("echo", '{"x": 1}')
        check(rc == 1 and "cannot connect" in err and time.time() - t0 < 5,
              "a call without a broker fails at once (%s)" % err)

        broker("start")
        back = time.time()
        ok_at = None
        while time.time() - back < LIMIT + 5:
            rc, out, err = call("echo", '{"x": "after"}')
            if rc == 0 and out == '"after"':
                ok_at = time.time()
                break
            time.sleep(0.2)
        check(ok_at is not None and ok_at - back <= LIMIT,
              "call succeeded %.1fs after the broker returned (limit %gs)" %
              ((ok_at or time.time()) - back, LIMIT))
        check(server.poll() is None, "server was never restarted")
        rc, out, err = call("get_count")
        check(rc == 0, "server state kept across the restart (count %s)" % out)

        # Heartbeats (2 s here): an idle link stays up, a frozen broker is
        # noticed within two intervals and the link comes back after it.
        t_idle = time.time()
        time.sleep(7)
        check(watch.wait_for("DOWN", t_idle, 0) is None, "idle link kept alive by heartbeats")
        with open(os.path.join(DIR, "rabbit.pid")) as f:
            beam = int(f.read().strip())
        t_freeze = time.time()
        os.kill(beam, signal.SIGSTOP)
        try:
            down = watch.wait_for("DOWN", t_freeze, 10)
        finally:
            os.kill(beam, signal.SIGCONT)
        check(down is not None and down - t_freeze <= 6,
              "frozen broker noticed after %.1fs (heartbeat 2 s)" %
              ((down or time.time()) - t_freeze))
        check(watch.wait_for("UP", t_freeze, 30) is not None, "link back after the freeze")
        rc, out, err = call("echo", '{"x": "thawed"}', timeout=5)
        check(rc == 0 and out == '"thawed"', "call after the freeze (%s)" % (out or err))

        server.terminate()
        server.wait(15)
        check(server.returncode == 0, "server exits cleanly")
        declare_exchange(durable=True)
        with open(os.path.join(DIR, "refused.log"), "w+") as log:
            server = subprocess.Popen([os.path.join(BIN, "rpc_test_server"), URL],
                                      stdout=subprocess.PIPE, stderr=log, text=True,
                                      env=dict(os.environ, SCA_DEBUG="1"))
            watch = Watch(server)
            time.sleep(8)
            log.seek(0)
            text = log.read()
        tries = text.count("inequivalent arg 'durable'")
        check(2 <= tries <= 9, "a refused declare: %d attempts in 8 s, backing off" % tries)
        check("set [rpc] amqp_durable_queues" in text, "the refusal says which setting mends it")
        t_fix = time.time()
        declare_exchange(durable=False)
        check(watch.wait_for("UP", t_fix, 10) is not None, "serving once the conflict is gone")
        rc, out, err = call("echo", '{"x": "mended"}', timeout=5)
        check(rc == 0 and out == '"mended"', "call once the conflict is gone (%s)" % (out or err))
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(15)
        broker("stop")
    if server is not None:
        check(server.returncode == 0, "server exits cleanly")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
