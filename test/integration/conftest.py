"""Fixtures for tracegate's integration tests.

Every test runs real processes on 127.0.0.1: the tracegate binary (from
$TRACEGATE_BIN, default <repo>/build/gateway/tracegate) and one or more
test/upstream/server.py processes, each on a free port; the interop tests also
start the OpenTelemetry SDK peers in test/interop/ (node, bun). Every process a test
starts is stopped by its PID when the test ends, pass or fail, by the fixture
finalizers below. Nothing sleeps for a fixed time: waits are polls on a
condition with a deadline.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_DIR = REPO / "test" / "upstream"
UPSTREAM_SERVER = UPSTREAM_DIR / "server.py"
TRACEGATE_BIN = os.environ.get("TRACEGATE_BIN",
                               str(REPO / "build" / "gateway" / "tracegate"))
PYTHON = sys.executable
INTEROP_DIR = REPO / "test" / "interop"
# The node binary for the Node peer (any Node the peer supports, e.g. Debian's 18.x).
INTEROP_NODE = os.environ.get("INTEROP_NODE", "node")
BUN_BIN = INTEROP_DIR / "bun" / "node_modules" / "@oven" / "bun-linux-x64" / "bin" / "bun"

sys.path.insert(0, str(UPSTREAM_DIR))
import pattern  # noqa: E402,F401  (re-exported for the tests)

READY_RE = re.compile(r"tracegate: listening on http://([^:\s]+):(\d+) \((\d+) workers?\)")


def free_port():
    """A port nothing listens on right now (bound to 0 and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what, interval=0.01):
    """Poll cond() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


class LineReader:
    """Collects the lines of a child's pipe on a thread; lets tests wait on them."""

    def __init__(self, pipe, name):
        self._pipe = pipe
        self._lines = []
        self._cond = threading.Condition()
        self.closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self):
        for raw in iter(self._pipe.readline, b""):
            with self._cond:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self._cond.notify_all()
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def lines(self):
        with self._cond:
            return list(self._lines)

    def wait_for(self, pred, timeout, what):
        """Return the first line for which pred(line) is true, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines:
                    if pred(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError("no line with %s within %.1fs; last lines: %r"
                                         % (what, timeout, self._lines[-20:]))
                self._cond.wait(left)

    def wait_count(self, pred, count, timeout, what):
        """Wait until at least count lines satisfy pred; return them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [line for line in self._lines if pred(line)]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError("only %d of %d lines with %s within %.1fs"
                                         % (len(got), count, what, timeout))
                self._cond.wait(left)

    def join(self, timeout):
        self._thread.join(timeout)


def stop_pid(popen, grace, sig=signal.SIGTERM):
    """Stop a child by its PID: sig (SIGTERM; PostgreSQL's fast shutdown is
    SIGINT), then SIGKILL after grace seconds. Returns its exit status; a
    child already gone is left alone."""
    if popen.poll() is None:
        try:
            os.kill(popen.pid, sig)
            popen.wait(grace)
        except subprocess.TimeoutExpired:
            os.kill(popen.pid, signal.SIGKILL)
            popen.wait(10)
        except ProcessLookupError:
            pass
    return popen.returncode


class Proc:
    """A child process that is always stopped by its PID."""

    def __init__(self, cmd, name, env=None):
        self.cmd = [str(c) for c in cmd]
        self.name = name
        full_env = None
        if env is not None:
            full_env = dict(os.environ)
            full_env.update({k: str(v) for k, v in env.items()})
        self.popen = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, env=full_env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.popen.pid
        self.stdout = LineReader(self.popen.stdout, name + "-stdout")
        self.stderr = LineReader(self.popen.stderr, name + "-stderr")

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        return self.popen.wait(timeout)

    def stop(self, grace=2.0):
        """SIGTERM, then SIGKILL after grace seconds; both by PID."""
        stop_pid(self.popen, grace)
        self.stdout.join(2)
        self.stderr.join(2)
        self.popen.stdout.close()
        self.popen.stderr.close()


class Upstream(Proc):
    def __init__(self, name, args=()):
        super().__init__([PYTHON, UPSTREAM_SERVER, "--port", "0", "--name", name, *args],
                         "upstream-" + name)
        line = self.stdout.wait_for(lambda l: l.startswith("PORT "), 10, "PORT")
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port
        self.server_name = name

    def wait_closed(self, conn_id, timeout):
        self.stdout.wait_for(lambda l: l == "CLOSED %d" % conn_id, timeout,
                             "CLOSED %d" % conn_id)

    def raw(self):
        """With --record: the bytes each connection received, {conn_id: bytes}."""
        out = {}
        for l in self.stdout.lines():
            if l.startswith("RAW "):
                _, cid, data = l.split(" ", 2)
                out[int(cid)] = out.get(int(cid), b"") + bytes.fromhex(data)
        return out

    def wait_requests(self, count, timeout, target=None):
        def pred(l):
            if not l.startswith("REQ "):
                return False
            return target is None or l.split(" ", 3)[3] == target
        return self.stdout.wait_count(pred, count, timeout, "REQ %s" % (target or ""))


class Tracegate(Proc):
    def __init__(self, cmd, port, env=None):
        # Tests that do not name an exporter do not send spans anywhere: the
        # default (OTLP to localhost:4318) would reach whatever listens
        # there on this machine. Export tests set their own.
        env = dict(env or {})
        if "OTEL_TRACES_EXPORTER" not in env and "OTEL_TRACES_EXPORTER" not in os.environ:
            env["OTEL_TRACES_EXPORTER"] = "none"
        super().__init__(cmd, "tracegate", env=env)
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.expect_exit = False

    def wait_ready(self, timeout=10.0):
        """Ready when the listening line is printed or the port accepts a connection."""
        def ready():
            if any(READY_RE.search(l) for l in self.stderr.lines()):
                return True
            if not self.alive():
                raise AssertionError("tracegate exited with %r before it was ready; "
                                     "stderr: %r" % (self.popen.returncode,
                                                     self.stderr.lines()[-20:]))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_until(ready, timeout, "tracegate to listen on port %d" % self.port)

    def access_log(self):
        """Parsed JSON access-log lines printed on stdout so far."""
        out = []
        for l in self.stdout.lines():
            l = l.strip()
            if l.startswith("{"):
                out.append(json.loads(l))
        return out

    def wait_access_log(self, count, timeout=5.0):
        self.stdout.wait_count(lambda l: l.strip().startswith("{"), count, timeout,
                               "an access-log JSON object")
        return self.access_log()


# What a sanitizer report looks like on stderr (test/run.sh greps the same).
SANITIZER_RE = re.compile(r"runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|"
                          r"SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer")


def report_sanitizer_output(name, pid, lines):
    """A message if a process's stderr lines hold a sanitizer report, else None.

    A sanitized tracegate sends its reports to the log_path directory that
    test/run.sh sets, but a report can still reach stderr (one that missed
    log_path, or a run without it): this catches those. When
    $TG_SANITIZER_REPORTS names that directory, the stderr is written there
    too, so run.sh's count of reports includes it."""
    hits = [l for l in lines if SANITIZER_RE.search(l)]
    if not hits:
        return None
    where = os.environ.get("TG_SANITIZER_REPORTS")
    if where:
        with open(os.path.join(where, "stderr-%s.%d" % (name, pid)), "w") as f:
            f.write("\n".join(lines) + "\n")
    return "%s (pid %d) printed a sanitizer report on stderr: %r" % (name, pid, hits[:5])


def run_tracegate(*args, timeout=10, check=False, **kw):
    """Run tracegate to completion (--check-config, --version, a bad flag):
    a CompletedProcess with text stdout and stderr. A sanitizer report on
    its stderr fails the test, as it does for a started tracegate."""
    require_binary()
    r = subprocess.run([TRACEGATE_BIN] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=check, **kw)
    msg = report_sanitizer_output("tracegate", 0, r.stderr.splitlines())
    if msg:
        pytest.fail(msg, pytrace=False)
    return r


def require_binary():
    if not os.access(TRACEGATE_BIN, os.X_OK):
        pytest.fail("tracegate binary not found or not executable at %s "
                    "(build it, or set TRACEGATE_BIN)" % TRACEGATE_BIN, pytrace=False)


@pytest.fixture
def start_upstream():
    """start_upstream(name, *args) -> a running Upstream (args go to server.py,
    e.g. "--record"); all are stopped at test end."""
    procs = []

    def start(name="A", *args):
        up = Upstream(name, args)
        procs.append(up)
        return up

    yield start
    for p in procs:
        p.stop(grace=2.0)


@pytest.fixture
def upstream(start_upstream):
    return start_upstream("A")


@pytest.fixture
def start_tracegate(tmp_path):
    """start_tracegate(*args, config=None, env=None, ready=True, prefix=()) -> a running Tracegate.

    With config (a dict) it is written to a JSON file and passed with --config;
    "listen" is filled in with a free port unless given. Without config,
    --listen 127.0.0.1:<free port> is passed. Extra args follow. env (a dict)
    is added to this process's environment for tracegate; prefix is a command
    tracegate runs under (["prlimit", "--nofile=64:64"]). At the end of
    the test every instance is stopped by PID; one that died on its own (and
    was not expected to) turns the test into an error, so a crash cannot hide
    behind a passing assertion.
    """
    require_binary()
    procs = []

    def start(*args, config=None, env=None, ready=True, prefix=()):
        cmd = list(prefix) + [TRACEGATE_BIN]
        if config is not None:
            cfg = dict(config)
            if "listen" not in cfg:
                cfg["listen"] = "127.0.0.1:%d" % free_port()
            port = int(cfg["listen"].rsplit(":", 1)[1])
            path = tmp_path / ("tracegate-%d.json" % len(procs))
            path.write_text(json.dumps(cfg, indent=2))
            cmd += ["--config", str(path)]
        else:
            port = free_port()
            cmd += ["--listen", "127.0.0.1:%d" % port]
        cmd += [str(a) for a in args]
        tg = Tracegate(cmd, port, env=env)
        procs.append(tg)
        if ready:
            try:
                tg.wait_ready()
            except AssertionError:
                tg.expect_exit = True  # already reported; not a second error
                raise
        return tg

    yield start

    died = []
    for tg in procs:
        rc = tg.popen.poll()
        if rc is not None and not tg.expect_exit:
            died.append("tracegate (pid %d) exited on its own with %r" % (tg.pid, rc))
        tg.stop(grace=2.0)
        print("---- tracegate pid %d: %s\n---- stderr (last 50 lines):\n%s"
              % (tg.pid, " ".join(tg.cmd), "\n".join(tg.stderr.lines()[-50:])))
        # Reports at exit (leaks) come after stop(): the whole stderr is read.
        found = report_sanitizer_output("tracegate", tg.pid, tg.stderr.lines())
        if found:
            died.append(found)
    if died:
        pytest.fail("; ".join(died), pytrace=False)


@pytest.fixture
def tg(start_tracegate, upstream):
    """tracegate with its default route to the upstream fixture."""
    return start_tracegate("--upstream", upstream.url)


class Peer(Proc):
    """An OpenTelemetry SDK peer from test/interop/<kind>/server.js (kind: node, bun).

    It prints "PORT <n>" when it listens and then one JSON line per finished
    span: {"peer","traceId","spanId","parentSpanId","name","kind","sampled",
    "attributes"}. GET /echo answers with the request headers it received.
    """

    def __init__(self, kind):
        script = INTEROP_DIR / kind / "server.js"
        if kind == "node":
            runtime = INTEROP_NODE
            installed = INTEROP_DIR / "node" / "node_modules" / "@opentelemetry" / "sdk-node"
        elif kind == "bun":
            runtime = BUN_BIN
            installed = BUN_BIN
        else:
            raise ValueError("unknown peer kind %r" % kind)
        if not installed.exists():
            pytest.fail("interop peer %s is not installed (%s missing): run "
                        "test/interop/setup.sh" % (kind, installed), pytrace=False)
        super().__init__([runtime, script, "--port", "0"], "peer-" + kind)
        self.kind = kind
        self.expect_exit = False
        try:
            line = self.stdout.wait_for(lambda l: l.startswith("PORT "), 20, "PORT")
        except AssertionError:
            self.stop()
            raise AssertionError("%s peer did not start; stderr: %r"
                                 % (kind, self.stderr.lines()[-20:]))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    @staticmethod
    def _span(line):
        if not line.startswith("{"):
            return None
        span = json.loads(line)
        return span if "spanId" in span else None

    def spans(self):
        """Every span the peer has printed so far, parsed."""
        return [s for s in map(self._span, self.stdout.lines()) if s is not None]

    def wait_spans(self, pred, count=1, timeout=10.0, what="a span"):
        """Wait until at least count printed spans satisfy pred(span); return them."""
        def line_pred(line):
            span = self._span(line)
            return span is not None and pred(span)
        lines = self.stdout.wait_count(line_pred, count, timeout, "%s from %s" % (what, self.kind))
        return [self._span(l) for l in lines]


@pytest.fixture
def start_peer():
    """start_peer(kind) -> a running Peer ("node" or "bun"); all are stopped at test end.

    A peer that died on its own (and was not expected to) turns the test into
    an error, as tracegate does in start_tracegate.
    """
    procs = []

    def start(kind):
        peer = Peer(kind)
        procs.append(peer)
        return peer

    yield start
    died = []
    for p in procs:
        rc = p.popen.poll()
        if rc is not None and not p.expect_exit:
            died.append("%s peer (pid %d) exited on its own with %r; stderr: %r"
                        % (p.kind, p.pid, rc, p.stderr.lines()[-20:]))
        p.stop(grace=5.0)
    if died:
        pytest.fail("; ".join(died), pytrace=False)


def client_connections(tg):
    """tracegate's TCP connections on its listening port, other than the
    listening socket itself: the client connections it still holds."""
    import psutil
    return [c for c in psutil.Process(tg.pid).connections("tcp")
            if c.laddr and c.laddr[1] == tg.port and c.status != psutil.CONN_LISTEN]


def process_tree(pid):
    """The tracegate process and any worker processes it forked."""
    import psutil
    p = psutil.Process(pid)
    return [p] + p.children(recursive=True)


def proc_status(pid, *fields):
    """Numeric fields of /proc/PID/status (VmRSS and VmHWM in KiB, Threads),
    in the order asked."""
    found = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name = line.split(":", 1)[0]
            if name in fields:
                found[name] = int(line.split()[1])
    missing = [n for n in fields if n not in found]
    if missing:
        raise AssertionError("no %s for pid %d" % (", ".join(missing), pid))
    return tuple(found[n] for n in fields)


class ThreadSampler:
    """A sampler that runs _run on a daemon thread between __enter__ and
    __exit__; _run loops until self._stop is set."""

    def __init__(self, pid, interval):
        self.pid = pid
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


class RssSampler(ThreadSampler):
    """Samples the summed RSS of a process tree on a thread while a test streams.

    Sampling can miss a short spike, so tests also read each process's VmHWM
    (the kernel's own peak) with peak_hwm_bytes() before the process is stopped.
    """

    def __init__(self, pid, interval=0.01):
        super().__init__(pid, interval)
        self.peak = 0
        self.samples = 0

    def _run(self):
        import psutil
        while not self._stop.is_set():
            total = 0
            try:
                for p in process_tree(self.pid):
                    total += p.memory_info().rss
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self.samples += 1
            self._stop.wait(self.interval)

    def peak_hwm_bytes(self):
        return max(proc_status(p.pid, "VmHWM")[0] for p in process_tree(self.pid)) * 1024
