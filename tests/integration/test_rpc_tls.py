#!/usr/bin/python3
"""AMQP over TLS (rabbit://...?ssl=1): a private broker with a TLS listener
and a throw-away CA; a C server and client verify the broker's certificate
and talk through it (call, remote error, casts, an idle link kept up by
heartbeats); without the CA the client refuses the broker.  The broker's
name is checked: by DNS name (localhost) or by address (127.0.0.1, an IP
subjectAltName), and a certificate for neither (the same broker reached at
127.0.0.2) is refused."""
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("SCA_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
BIN = os.environ.get("SCA_TEST_BIN", "build/tests")
BUILD = os.environ.get("SCA_BUILD", "build")
DIR = os.path.join(BUILD, "rabbitmq-tls")
failures = 0


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
    """A port P free on loopback with P+1 (TLS) and P+20000 (RabbitMQ's
    distribution port): other test runs on this machine may hold some."""
    for port in range(first, first + 300):
        if all(port_free(p) for p in (port, port + 1, port + 20000)):
            return port
    raise RuntimeError("no free port near %d" % first)


PORT = free_port(5682)
TLS_PORT = PORT + 1
URL = "rabbit://guest:guest@localhost:%d/?ssl=1" % TLS_PORT
URL_IP = "rabbit://guest:guest@127.0.0.1:%d/?ssl=1" % TLS_PORT
URL_OTHER = "rabbit://guest:guest@127.0.0.2:%d/?ssl=1" % TLS_PORT


class Lines:
    """A process's stdout lines, read in the background (never blocks)."""

    def __init__(self, proc):
        self.q = queue.Queue()
        threading.Thread(target=self.run, args=(proc,), daemon=True).start()

    def run(self, proc):
        for line in proc.stdout:
            self.q.put(line.strip())

    def next(self, timeout):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return ""


def check(cond, what):
    global failures
    print(("ok - " if cond else "FAIL - ") + what, flush=True)
    failures += not cond


def run(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def make_certs(d):
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=scalpels-test-ca", "-keyout", d + "/ca.key", "-out", d + "/ca.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", d + "/server.key", "-out", d + "/server.csr")
    with open(d + "/ext.cnf", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem",
        "-CAkey", d + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", d + "/ext.cnf",
        "-out", d + "/server.pem")
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)


def broker(cmd):
    r = subprocess.run(["bash", os.path.join(SRC, "scripts/rabbitmq.sh"), cmd, DIR, str(PORT)],
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise RuntimeError("rabbitmq.sh %s: %s" % (cmd, r.stderr.strip()))


def client(*args):
    r = subprocess.run([os.path.join(BIN, "rpc_test_client"), "--timeout", "10"] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def main():
    certs = tempfile.mkdtemp(prefix="sca-rpc-tls.")
    os.makedirs(DIR, exist_ok=True)
    with open(os.path.join(DIR, "rabbitmq.conf"), "w") as f:
        f.write("listeners.ssl.1 = 127.0.0.1:%d\n" % TLS_PORT)
        f.write("listeners.ssl.2 = 127.0.0.2:%d\n" % TLS_PORT)
        f.write("ssl_options.cacertfile = %s/ca.pem\n" % certs)
        f.write("ssl_options.certfile = %s/server.pem\n" % certs)
        f.write("ssl_options.keyfile = %s/server.key\n" % certs)
        f.write("ssl_options.verify = verify_none\n")
    server = None
    try:
        make_certs(certs)
        broker("start")
        ca = certs + "/ca.pem"
        server = subprocess.Popen([os.path.join(BIN, "rpc_test_server"), "--heartbeat", "2",
                                   "--ssl-ca", ca, "--ssl-verify", URL], stdout=subprocess.PIPE,
                                  text=True)
        line = Lines(server).next(30)
        check(line.startswith("UP"), "server up over TLS (%s)" % line)
        rc, out, err = client("--ssl-ca", ca, "--ssl-verify", URL, "call", "echo",
                              '{"x": {"tls": true}}')
        check(rc == 0 and out == '{"tls":true}', "call over TLS (%s)" % (out or err))
        rc, out, err = client("--ssl-ca", ca, "--ssl-verify", URL, "call", "boom")
        check(rc == 2 and out == "REMOTE ValueError: boom: requested failure",
              "remote error over TLS (%s)" % out)
        rc, out, err = client("--ssl-ca", ca, "--ssl-verify", "--server", "nowhere", URL, "call",
                              "echo", '{"x": 0}')
        check(rc == 1 and "no queue on the broker takes" in err,
              "a call no queue takes comes back over TLS too (%s)" % err)
        rc, out, err = client("--ssl-ca", ca, "--ssl-verify", "--require-listener", "--servers",
                              "node1,nowhere", "--repeat", "4", "--concurrent", "4", URL, "call",
                              "echo", '{"x": 0}')
        check("2 ok, 2 failed" in err and err.count("no queue on the broker takes") == 2,
              "require_listener over TLS: the probe channel's answers (%s)" % err)
        rc, out, err = client("--ssl-ca", ca, "--ssl-verify", "--repeat", "300", URL, "cast",
                              "count", '{"n": 1}')
        check(rc == 0, "300 casts over TLS (%s)" % err)
        rc, out, err = client("--ssl-ca", ca, "--ssl-verify", "--repeat", "200", "--concurrent",
                              "20", URL, "call", "get_count")
        check(rc == 0 and out == "300", "casts arrived; 200 calls, 20 in flight (%s)" % out)
        rc, out, err = client("--ssl-ca", ca, "--ssl-verify", URL_IP, "call", "echo", '{"x": 2}')
        check(rc == 0 and out == "2", "a broker reached by address: its IP subjectAltName "
              "matches (%s)" % (out or err))
        rc, out, err = client("--ssl-ca", ca, "--ssl-verify", URL_OTHER, "call", "echo",
                              '{"x": 3}')
        check(rc == 1 and "verification failed" in err,
              "a certificate for another name is refused (%s)" % err.splitlines()[-1:])
        rc, out, err = client("--ssl-ca", ca, URL_OTHER, "call", "echo", '{"x": 4}')
        check(rc == 0 and out == "4", "without --ssl-verify the name is not checked (%s)"
              % (out or err))
        rc, out, err = client("--ssl-verify", URL, "call", "echo", '{"x": 1}')
        check(rc == 1 and "verification failed" in err,
              "an unknown CA is refused (%s)" % err.splitlines()[-1:])
        time.sleep(6)
        rc, out, err = client("--ssl-ca", ca, URL, "call", "echo", '{"x": "idle"}')
        check(rc == 0 and out == '"idle"', "idle TLS link kept alive by heartbeats (2 s)")
        server.terminate()
        server.wait(15)
        check(server.returncode == 0, "server exits cleanly")
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        broker("stop")
        shutil.rmtree(certs, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
