#!/usr/bin/python3
# requires: rabbitmq
"""The docs cannot drift: every command line that README.md and docs/*.md
show as runnable is run against a live agent, and every usage synopsis
they show names only options that the program's --help lists.

What is taken from the docs, by rule:
- Lines of code blocks (indented 4 spaces, or fenced with ```) whose first
  word is one of our programs (PROGRAMS below), optionally after a `$ `
  prompt.  Lines of other programs (systemctl, apt-get, rabbitmqctl,
  sqlite3, ssh to another machine...) are not ours and are not run; nor is
  a line that chains one of them with `&&`, `||`, `;` or `|`.
- A line with two or more spaces before words that are not a `#` comment
  is a table or a diagram (`sca-agent    one per node: ...`): skipped.
- A line with `[` (an optional part) is a synopsis: not run, but each
  option in it (-x, --long) must appear in `PROG --help` or in
  `PROG SUBCOMMAND --help` (SUBCOMMAND: its first lowercase word outside
  brackets).  An option that does not exist fails the test.
- `NAME=$(COMMAND)`, COMMAND one of ours, runs COMMAND and keeps its
  output in $NAME for the lines after it (`u=$(sca start -a cpu)`, then
  `sca stop $u`).
- Every other line is run with bash, in a scratch directory holding a
  Makefile whose default target succeeds (for `sca run ... -- make`), with
  our built programs first in PATH, and must exit 0, or N when its
  trailing comment says `exit N` (`sca --bogus   # exit 2: ...`).  A
  line may run for 120 s at most.

Placeholders are replaced with values of the live set-up: UUID and NEW by
the newest task's uuid, OLD by the one before it, NODE by the agent's host
name, /var/lib/scalpels by its state directory, /etc/scalpels/scalpels.conf
by its configuration file.  A line with `--all-hosts`, `--host` or the
command `hosts` runs over AMQP (the suite's broker, a topic of this test's
own); every other one over the agent's unix socket.  Lines that start or
stop a node (`sca-agent`, `sca-manage db-create`, `sca-manage stop`) run
on a scratch node of their own, on the same broker and topic, so that they
cannot take the live agent away: `db-create` in an empty state directory,
`sca-agent` with a database made, `stop` with an agent running.  Lines run
in the order of the docs, each file in turn, so a `sca start` and the
`sca stop` after it act on the same task.

A line that must not be run although the rules take it goes into EXCLUDED
with the reason; an entry that no longer matches a line fails the test.
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("SCA_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
BIN = os.environ.get("SCA_BIN", "build/bin")
URL = os.environ.get("SCA_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5673/")
PROGRAMS = {"sca", "sca-manage", "sca-agent", "sca-tracer", "sca-sampler", "sca-rabbit-trace"}
LINE_TIMEOUT = 120

# (file, the line as written) -> why it is not run.
EXCLUDED = {}

failures = 0


def check(cond, what):
    global failures
    print(("ok - " if cond else "FAIL - ") + what, flush=True)
    failures += not cond
    return cond


# --- Extraction ---------------------------------------------------------------

def code_lines(text):
    """(line number, code) for each line of a code block."""
    fenced = False
    prev_blank = True
    in_indented = False
    for no, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            prev_blank = False
            continue
        if fenced:
            yield no, stripped
        elif line.startswith("    ") and (prev_blank or in_indented) and stripped:
            in_indented = True
            yield no, stripped
        elif stripped:
            in_indented = False
        prev_blank = not stripped


SHELL_OPS = re.compile(r"\s(?:&&|\|\||;|\|)\s")


ASSIGNMENT = re.compile(r"([A-Za-z_]\w*)=\$\((.*)\)$")


def split_assignment(command):
    """(NAME, COMMAND) for `NAME=$(COMMAND)`, else (None, command)."""
    m = ASSIGNMENT.match(command)
    return (m.group(1), m.group(2)) if m else (None, command)


def classify(code):
    """('run'|'synopsis'|None, command) for one line of a code block."""
    if code.startswith("$ "):
        code = code[2:].strip()
    command = split_assignment(code.split(" #", 1)[0].rstrip())[1]
    words = command.split()
    if not words or words[0] not in PROGRAMS:
        return None, code
    if re.search(r"\S {2,}\S", command):
        return None, code
    if "[" in command:
        return "synopsis", command
    for part in SHELL_OPS.split(command)[1:]:
        if part.split() and part.split()[0] not in PROGRAMS:
            return None, code
    return "run", code


def expected_exit(code):
    m = re.search(r"#.*\bexit (\d+)\b", code)
    return int(m.group(1)) if m else 0


def doc_files():
    return [os.path.join(SRC, "README.md")] + sorted(glob.glob(os.path.join(SRC, "docs", "*.md")))


def extract(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for no, code in code_lines(text):
        kind, command = classify(code)
        if kind is not None:
            yield no, kind, command


# --- Synopses -----------------------------------------------------------------

_help_cache = {}


def help_text(argv):
    key = tuple(argv)
    if key not in _help_cache:
        p = subprocess.run([os.path.join(BIN, argv[0])] + argv[1:] + ["--help"],
                           capture_output=True, text=True, timeout=30, env=ENV)
        _help_cache[key] = p.stdout + p.stderr
    return _help_cache[key]


def synopsis_problems(command):
    """The options of a synopsis that its program's --help does not list."""
    words = command.split()
    prog, depth, sub = words[0], 0, None
    options = []
    for w in words[1:]:
        bare = w.strip("[](){}|,.")
        if depth == 0 and sub is None and re.fullmatch(r"[a-z][a-z-]+", bare) and not w.startswith("["):
            sub = bare
        m = re.fullmatch(r"(--?[A-Za-z][\w-]*)(=.*)?", bare)
        if m:
            options.append(m.group(1))
        depth += w.count("[") - w.count("]")
    texts = help_text([prog]) + (help_text([prog, sub]) if sub else "")
    return [o for o in options
            if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", texts)]


# --- The live set-up ----------------------------------------------------------

T = tempfile.mkdtemp(prefix="sca-it.", dir="/tmp")
TOPIC = "docs_%d" % os.getpid()
NODE = "docs-node-%d" % os.getpid()
WORK = os.path.join(T, "work")
os.mkdir(WORK)
with open(os.path.join(WORK, "Makefile"), "w") as f:
    f.write("all:\n\t@sleep 1\n")
ENV = dict(os.environ, LC_ALL="C.UTF-8", PATH=BIN + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
NODES = []
scratch_count = 0


def running(pid):
    """Whether pid is a live process (a zombie is not: it waits only for
    its parent to reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid, seconds):
    """Whether pid has ended within seconds."""
    deadline = time.monotonic() + seconds
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def end_process(pid, seconds):
    """SIGKILL for pid unless it ends within seconds; returns when it has
    ended."""
    if not wait_gone(pid, seconds):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            return
        wait_gone(pid, 10)


def write_conf(state, name, host, url, topic):
    os.makedirs(state, exist_ok=True)
    conf = os.path.join(state, name)
    with open(conf, "w") as f:
        f.write("[DEFAULT]\nstate_dir = %s\nlog_level = info\n" % state)
        if url:
            f.write("transport_url = %s\n" % url)
        f.write("\n[agent]\nhost = %s\nstop_grace = 2\n\n[rpc]\ntopic = %s\ntimeout = 20\n"
                % (host, topic))
    return conf


class Node:
    """A state directory with its two configurations (unix socket, AMQP),
    and the agent serving it: one this test started (a child), or one a
    line of the docs started and that detached."""

    def __init__(self, name, host, url=URL, topic=TOPIC):
        self.state = os.path.join(T, name)
        self.host = host
        self.unix_conf = write_conf(self.state, "scalpels.conf", host, None, topic)
        self.amqp_conf = write_conf(self.state, "scalpels-amqp.conf", host, url, topic)
        self.agent = None
        self.detached = None
        NODES.append(self)

    def run(self, argv, conf=None, timeout=60):
        env = dict(ENV, SCALPELS_CONF=conf or self.unix_conf)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=WORK, stdin=subprocess.DEVNULL)

    def manage(self, *args):
        return self.run([os.path.join(BIN, "sca-manage")] + list(args))

    def sca(self, *args, conf=None):
        return self.run([os.path.join(BIN, "sca")] + list(args), conf=conf)

    def start_agent(self, conf=None):
        log = open(os.path.join(self.state, "agent.stderr"), "a")
        self.agent = subprocess.Popen([os.path.join(BIN, "sca-agent"), "--foreground"],
                                      env=dict(ENV, SCALPELS_CONF=conf or self.amqp_conf),
                                      stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        for _ in range(300):
            if self.manage("status").returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def agent_pid(self):
        p = self.manage("status")
        m = re.search(r"^pid: +(\d+)", p.stdout, re.M)
        return int(m.group(1)) if p.returncode == 0 and m else None

    def logged_agent_pid(self):
        """The pid an agent that detached logged at start-up in
        STATE_DIR/agent.log, while that process runs sca-agent."""
        try:
            with open(os.path.join(self.state, "agent.log")) as f:
                pids = re.findall(r"sca-agent \S+ on \S+ \(pid (\d+)\)", f.read())
            pid = int(pids[-1])
            if os.readlink("/proc/%d/exe" % pid) == os.path.realpath(os.path.join(BIN, "sca-agent")):
                return pid
        except (OSError, IndexError):
            pass
        return None

    def adopt_agent(self):
        """Records the agent a line started here and that detached: the pid
        sca-manage status names (the node's socket is this test's own) or,
        when none answers, the one its start-up logged.  Whether it
        answers."""
        pid = self.agent_pid()
        self.detached = pid if pid is not None else self.logged_agent_pid()
        return pid is not None

    def stop_agent(self):
        """Stops the agent this test started here and the one a line
        started (sca-manage stop, else SIGKILL), and waits for them to end."""
        if self.agent is None and self.detached is None:
            return
        self.manage("stop")
        if self.agent is not None:
            try:
                self.agent.wait(10)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
            self.agent = None
        if self.detached is not None:
            end_process(self.detached, 10)
            self.detached = None

    def kill_tracers(self):
        """Ends the tracers this node's store has as running (each stops
        its worker on SIGTERM), SIGKILL for those still there after 5 s."""
        db = os.path.join(self.state, "scalpels.db")
        if not os.path.exists(db):
            return
        p = subprocess.run(["sqlite3", "-cmd", ".timeout 5000", db,
                            "SELECT pid FROM task_tracer WHERE pid > 0 AND stopped IS NULL"],
                           capture_output=True, text=True)
        tracers = []
        for pid in map(int, p.stdout.split()):
            try:
                if os.readlink("/proc/%d/exe" % pid) == os.path.realpath(os.path.join(BIN, "sca-tracer")):
                    os.kill(pid, 15)
                    tracers.append(pid)
            except OSError:
                pass
        for pid in tracers:
            end_process(pid, 5)

    def tasks(self):
        p = self.sca("task", "-l", "--json")
        return [t["uuid"] for t in json.loads(p.stdout)] if p.returncode == 0 else []


# --- The broker's permissions -------------------------------------------------

def rabbitmqctl(*args):
    port = re.search(r":(\d+)/", URL).group(1)
    env = dict(os.environ, HOME=os.environ.get("SCA_RABBIT_DIR", "build/rabbitmq"),
               ERL_EPMD_ADDRESS="127.0.0.1")
    return subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", "sca-test-%s@localhost" % port,
                           "-q"] + list(args), capture_output=True, text=True, env=env, timeout=120)


def check_rabbit_permissions():
    """The permissions docs/operations.md gives the agents' and the
    clients' users, applied on the suite's broker in a vhost of this
    test's own: an agent and sca work with them, with the default exchange
    and topic names they are written for, and the clients' user cannot
    take the agents' calls."""
    path = os.path.join(SRC, "docs", "operations.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    perms = {}
    for _, code in code_lines(text):
        words = shlex.split(code)
        if words[:2] == ["rabbitmqctl", "set_permissions"]:
            perms[words[-4]] = words[-3:]
    if not check(set(perms) == {"scalpels-agent", "scalpels"},
                 "docs/operations.md sets permissions for the users scalpels-agent and scalpels"):
        return
    vhost = "sca_docs_%d" % os.getpid()
    users = {u: "%s-%d" % (u, os.getpid()) for u in perms}
    check(rabbitmqctl("add_vhost", vhost).returncode == 0, "a vhost for the permissions")
    try:
        for doc_user, user in users.items():
            check(rabbitmqctl("add_user", user, "pw").returncode == 0 and
                  rabbitmqctl("set_permissions", "-p", vhost, user, *perms[doc_user]).returncode == 0,
                  "user %s with the permissions of %s" % (user, doc_user))
        broker = re.search(r"@([^/]+)/", URL).group(1)
        url = {u: "rabbit://%s:pw@%s/%s" % (users[u], broker, vhost) for u in users}
        agent = Node("perm-agent", "perm-%d" % os.getpid(), url["scalpels-agent"], "scalpels")
        client = Node("perm-client", "perm-client", url["scalpels"], "scalpels")
        agent.manage("db-create")
        check(agent.start_agent(), "an agent with the agents' user")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            p = client.sca("hosts", conf=client.amqp_conf)
            if p.returncode == 0 and agent.host in p.stdout:
                break
            time.sleep(0.2)
        check(agent.host in p.stdout, "sca hosts with the clients' user finds it: %s" % p.stderr.strip())
        p = client.sca("--host", agent.host, "run", "-a", "cpu", "--", "sleep", "1", conf=client.amqp_conf)
        check(p.returncode == 0, "sca run with the clients' user: %s" % p.stderr.strip())
        p = client.sca("--all-hosts", "task", "-l", conf=client.amqp_conf)
        check(p.returncode == 0, "sca --all-hosts with the clients' user: %s" % p.stderr.strip())
        agent.stop_agent()
        agent.kill_tracers()
        impostor = Node("perm-impostor", "impostor", url["scalpels"], "scalpels")
        impostor.manage("db-create")
        impostor.start_agent()
        log = os.path.join(impostor.state, "agent.stderr")
        for _ in range(300):
            with open(log) as f:
                if "ACCESS_REFUSED" in f.read():
                    break
            time.sleep(0.1)
        with open(log) as f:
            check("ACCESS_REFUSED" in f.read(), "an agent with the clients' user is refused the queues")
        impostor.stop_agent()
    finally:
        rabbitmqctl("delete_vhost", vhost)
        for user in users.values():
            rabbitmqctl("delete_user", user)


def lifecycle(command):
    """What a scratch node needs before the line: None (the live node will
    do), 'empty', 'db' or 'agent'."""
    words = command.split()
    prog = words[0]
    sub = next((w for w in words[1:] if not w.startswith("-")), None)
    if prog == "sca-agent":
        return "db"
    if prog == "sca-manage" and sub == "db-create":
        return "empty"
    if prog == "sca-manage" and sub == "stop":
        return "agent"
    return None


def substitute(command, node, conf):
    tasks = node.tasks()
    values = {"UUID": tasks[0] if tasks else "no-task",
              "NEW": tasks[0] if tasks else "no-task",
              "OLD": tasks[1] if len(tasks) > 1 else "no-task",
              "NODE": node.host}
    for k, v in values.items():
        command = re.sub(r"\b%s\b" % k, v, command)
    command = command.replace("/etc/scalpels/scalpels.conf", conf)
    return command.replace("/var/lib/scalpels", node.state)


def uses_amqp(command):
    words = command.split(" #", 1)[0].split()
    return words[0] == "sca" and ("--all-hosts" in words or "--host" in words or
                                  next((w for w in words[1:] if not w.startswith("-")), "") == "hosts")


VARIABLES = {}
AMQP_VARIABLES = set()


def run_line(where, code, live):
    global scratch_count
    variable, command = split_assignment(code.split(" #", 1)[0].rstrip())
    want = expected_exit(code)
    need = lifecycle(command)
    node = live
    if need is not None:
        scratch_count += 1
        node = Node("scratch%d" % scratch_count, "%s-scratch%d" % (NODE, scratch_count))
        if need in ("db", "agent") and node.manage("db-create").returncode != 0:
            return check(False, "%s: scratch node: db-create failed" % where)
        if need == "agent" and not node.start_agent():
            return check(False, "%s: scratch node: the agent did not start" % where)
    # A line that uses what an AMQP line printed (`sca stop $u` after
    # `u=$(sca --all-hosts start ...)`) goes where that came from.
    amqp = uses_amqp(command) or any(re.search(r"\$\{?%s\b" % v, command) for v in AMQP_VARIABLES)
    conf = node.amqp_conf if need is not None or amqp else node.unix_conf
    line = substitute(command, node, conf)
    # A session of its own, so that a line that hangs goes with all it started.
    p = subprocess.Popen(["bash", "-c", line], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=WORK, stdin=subprocess.DEVNULL,
                         env=dict(ENV, SCALPELS_CONF=conf, **VARIABLES), start_new_session=True)
    try:
        stdout, stderr = p.communicate(timeout=LINE_TIMEOUT)
        got = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        stdout, stderr = p.communicate()
        got = "timeout after %d s" % LINE_TIMEOUT
    out = (stdout + stderr)[-2000:]
    if variable is not None:
        VARIABLES[variable] = stdout.strip()
        if amqp:
            AMQP_VARIABLES.add(variable)
    if need == "db" and not node.adopt_agent() and got == 0:
        got = "no agent answers after it"
    if need is not None:
        node.stop_agent()
        node.kill_tracers()
    return check(got == want, "%s: %s (exit %s, expected %s)%s"
                 % (where, code.split(" #", 1)[0].rstrip(), got, want,
                    "" if got == want else "\n" + out))


def self_test():
    """The rules catch what they must: a bogus option, run or in a synopsis."""
    kind, cmd = classify("sca tracer -l --no-such-option")
    bogus_synopsis = synopsis_problems("sca task [-l] [--no-such-option N]")
    check(kind == "run" and bogus_synopsis == ["--no-such-option"],
          "self-test: an unknown option in a synopsis is found")
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, env=ENV, cwd=WORK)
    check(p.returncode == 2, "self-test: a runnable line with an unknown option exits 2")
    check(classify("systemctl enable --now sca-agent")[0] is None and
          classify("sca-manage db-create && systemctl start sca-agent")[0] is None and
          classify("sca-agent    one per node: starts tracers")[0] is None and
          classify("sca report --csv > task.csv   # or --json")[0] == "run" and
          classify("u=$(sca start -a cpu)   # the uuid")[0] == "run" and
          classify("u=$(date)")[0] is None,
          "self-test: other programs, chains with them and tables are not taken")
    check(expected_exit("sca --bogus   # exit 2: unknown option") == 2 and
          expected_exit("sca hosts   # host, version") == 0, "self-test: the exit convention")


def main():
    self_test()
    live = Node("live", NODE)
    check(live.manage("db-create").returncode == 0, "the live node's database")
    if not check(live.start_agent(), "the live agent answers"):
        return
    deadline = time.monotonic() + 30
    while live.sca("--timeout", "2", "tracer", "-l", conf=live.amqp_conf).returncode != 0:
        if not check(time.monotonic() < deadline, "the live agent answers over AMQP"):
            return
        time.sleep(0.2)
    # Two finished tasks, for the lines that read one (UUID, OLD and NEW).
    for _ in range(2):
        p = live.sca("run", "-a", "cpu", "--", "sleep", "1")
        check(p.returncode == 0, "a task to read: %s" % p.stderr.strip())

    seen = set()
    counts = {"run": 0, "synopsis": 0}
    for path in doc_files():
        rel = os.path.relpath(path, SRC)
        for no, kind, code in extract(path):
            where = "%s:%d" % (rel, no)
            if (rel, code) in EXCLUDED:
                seen.add((rel, code))
                print("skip - %s: %s (%s)" % (where, code, EXCLUDED[(rel, code)]))
                continue
            counts[kind] += 1
            if kind == "synopsis":
                bad = synopsis_problems(code)
                check(not bad, "%s: %s%s" % (where, code, "" if not bad else
                                              " names options --help does not list: " + " ".join(bad)))
            else:
                run_line(where, code, live)
    for key in set(EXCLUDED) - seen:
        check(False, "EXCLUDED names a line the docs no longer show: %s: %s" % key)
    check(counts["run"] >= 20, "%d runnable lines and %d synopses checked"
          % (counts["run"], counts["synopsis"]))
    live.sca("stop", conf=live.unix_conf)
    live.stop_agent()
    live.kill_tracers()
    check_rabbit_permissions()


try:
    main()
finally:
    for node in NODES:
        node.stop_agent()
        node.kill_tracers()
    if failures:
        print("--- %d failures; state in %s kept" % (failures, T), file=sys.stderr)
    else:
        shutil.rmtree(T, ignore_errors=True)
sys.exit(1 if failures else 0)
