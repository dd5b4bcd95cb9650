#!/usr/bin/python3
"""Broker restart: stop RabbitMQ while a C server runs, start it again; the
server must reconnect and declare its queues again by itself (it says UP),
without being restarted, and then answer a new call within that call's
timeout.  Then the heartbeats: an idle link stays up, a frozen (SIGSTOP)
broker is noticed by its missing heartbeats, and the link comes back.
Last, a declare the broker refuses (the exchange declared durable by
someone else): the server backs off instead of redialling several times a
second, says which setting mends it, and serves once the conflict is gone.

No check here measures how fast anything happened: the waits are bounded
only so that a server that never gets there fails the test instead of
hanging it, and are generous for a loaded machine.

Uses its own private broker (the first free port from 5674, its own
directory) so that the shared fixture of the other tests is never
disturbed."""
import os
import shutil
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
# Bounds of the waits for what must come by itself (see above).
WAIT = 60
# The calls' own timeout: a call sent once the server is UP gets its answer.
CALL_TIMEOUT = 10


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


def call(method, args="{}", timeout=CALL_TIMEOUT):
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
        """The time of the first line starting with prefix read at or after
        after, waiting up to timeout for it; None if none came."""
        found = self.wait_line(prefix, after, timeout)
        return found[0] if found else None

    def wait_line(self, prefix, after, timeout):
        """(time, line) of that line, or None."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for t, line in self.lines:
                    if t >= after and line.startswith(prefix):
                        return t, line
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)


def main():
    failures = 0

    def check(cond, what):
        nonlocal failures
        print(("ok - " if cond else "FAIL - ") + what, flush=True)
        failures += not cond

    # A fresh broker: an earlier run cut short between the durable declare
    # and its undoing would leave that exchange in the node's database.
    shutil.rmtree(os.path.join(DIR, "mnesia"), ignore_errors=True)
    broker("start")
    server = None
    try:
        server = subprocess.Popen([os.path.join(BIN, "rpc_test_server"), "--heartbeat", "2",
                                   URL], stdout=subprocess.PIPE, text=True)
        watch = Watch(server)
        check(watch.wait_for("UP", 0, WAIT) is not None, "server up")
        rc, out, err = call("echo", '{"x": "before"}')
        check(rc == 0 and out == '"before"', "call before the restart (%s)" % (out or err))

        t_stop = time.time()
        broker("stop")
        # No UP can come while the broker is away: the next one is its return.
        t_gone = time.time()
        check(watch.wait_for("DOWN", t_stop, WAIT) is not None, "server noticed the broker left")
        # Not connected: the call fails with the reason (exit 1), where a
        # call left waiting would end at its timeout (exit 3).
        rc, out, err = call("echo", '{"x": 1}')
        check(rc == 1 and "cannot connect" in err,
              "a call without a broker fails at once, not at its timeout (rc %d: %s)" % (rc, err))

        broker("start")
        check(watch.wait_for("UP", t_gone, WAIT) is not None,
              "server reconnected and declared its queues again by itself")
        rc, out, err = call("echo", '{"x": "after"}')
        check(rc == 0 and out == '"after"',
              "a call after the broker returned is answered within its %d s timeout (rc %d: %s)"
              % (CALL_TIMEOUT, rc, out or err))
        check(server.poll() is None, "server was never restarted")
        rc, out, err = call("get_count")
        check(rc == 0, "server state kept across the restart (count %s)" % out)

        # Heartbeats (2 s here): an idle link stays up, a frozen broker is
        # noticed by its silence (two intervals without a byte: nothing else
        # notices it, as its sockets stay open) and the link comes back
        # after it.  The product's rule is about time here (dead after 4 s
        # of silence): the wait allows five times that for a loaded machine.
        t_idle = time.time()
        time.sleep(7)
        check(watch.wait_for("DOWN", t_idle, 0) is None, "idle link kept alive by heartbeats")
        with open(os.path.join(DIR, "rabbit.pid")) as f:
            beam = int(f.read().strip())
        t_freeze = time.time()
        os.kill(beam, signal.SIGSTOP)
        try:
            down = watch.wait_line("DOWN", t_freeze, 20)
        finally:
            os.kill(beam, signal.SIGCONT)
        check(down is not None and "no heartbeat from the broker in 4s" in down[1],
              "frozen broker noticed by its missing heartbeats (%s)" % (down and down[1]))
        check(watch.wait_for("UP", t_freeze, WAIT) is not None, "link back after the freeze")
        rc, out, err = call("echo", '{"x": "thawed"}')
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

            def refusals():
                log.seek(0)
                text = log.read()
                return text, text.count("inequivalent arg 'durable'")

            # The backoff is the product's rule about time: 0.25 s doubling
            # to 5 s, each delay 50-100 % of that, allows 7 attempts in 8 s;
            # a loaded machine makes fewer, never more.
            time.sleep(8)
            text, tries = refusals()
            # It tries again by itself: a loaded machine may take longer to.
            deadline = time.time() + WAIT
            while refusals()[1] < 2 and time.time() < deadline:
                time.sleep(0.5)
            text, later = refusals()
        check(tries <= 9 and later >= 2,
              "a refused declare: %d attempts in 8 s, backing off, and tried again" % tries)
        check("set [rpc] amqp_durable_queues" in text, "the refusal says which setting mends it")
        t_fix = time.time()
        declare_exchange(durable=False)
        check(watch.wait_for("UP", t_fix, WAIT) is not None, "serving once the conflict is gone")
        rc, out, err = call("echo", '{"x": "mended"}')
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
