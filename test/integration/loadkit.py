"""Steady load, per-second process samples and a static upstream, for the
reliability tests (test_load_*.py here) and scripts (test/bench/outage.py,
test/soak/soak.py).

    lg = Loadgen(tg.port, rate=2000, reqs=[(1, "GET", "/small")], out=tmp / "r.bin")
    with ProcSampler(tg.pid) as ps:
        ...
    recs = lg.finish()                      # stops it, reads its records
    recs.between(t0, t1).stats()            # {"count", "ok", "errors", "p50_ms", ...}

Loadgen runs test/bench/loadgen.c (open loop: request i is due at start +
i/rate and its latency counts from then). Every process started here is a
conftest.Proc and is stopped by its PID.
"""

import collections
import os
import shutil
import signal
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, Proc, ThreadSampler, free_port, proc_status, wait_until

# Under the ASan+UBSan build tracegate is several times slower: load tests
# scale their rates by this.
ASAN = "ASAN_OPTIONS" in os.environ

LOADGEN_BIN = os.environ.get("LOADGEN_BIN", str(REPO / "build" / "test" / "bench" / "loadgen"))
MALLOC_FAIL_LIB = os.environ.get("MALLOC_FAIL_LIB",
                                 str(REPO / "build" / "test" / "fault" / "libmalloc_fail.so"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

RECORD = struct.Struct("<QIIIHBBB3x")
ERRORS = ["ok", "connect", "no_answer", "cut", "timeout", "bad_response", "not_sent"]
F_REUSED = 1


def percentile(sorted_values, p):
    """Nearest-rank percentile (p in 0..100) of an already sorted list."""
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[i]


class Rec(collections.namedtuple("Rec", "due latency_ms wait_ms body_bytes status err "
                                        "reused req")):
    """One request: due (CLOCK_MONOTONIC seconds, as time.monotonic()), latency
    from due to the end of the answer, status (0: none), err (name), req (index
    of the kind in the reqs list)."""


class Records(list):
    def between(self, t0, t1):
        """Requests due in [t0, t1) (time.monotonic() seconds)."""
        return Records(r for r in self if t0 <= r.due < t1)

    def of(self, req):
        return Records(r for r in self if r.req == req)

    def stats(self):
        lat = sorted(r.latency_ms for r in self if r.err == "ok")
        errs = collections.Counter(r.err for r in self if r.err != "ok")
        statuses = collections.Counter(r.status for r in self if r.err == "ok")
        span = (max(r.due for r in self) - min(r.due for r in self)) if self else 0
        return {
            "count": len(self),
            "ok": len(lat),
            "errors": dict(errs),
            "statuses": dict(statuses),
            "rate": round(len(self) / span, 1) if span > 0 else None,
            "p50_ms": percentile(lat, 50),
            "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1] if lat else None,
        }


def read_records(path):
    out = Records()
    with open(path, "rb") as f:
        data = f.read()
    for due_ns, lat_us, wait_us, body, status, err, flags, req in RECORD.iter_unpack(data):
        out.append(Rec(due_ns / 1e9, lat_us / 1000.0, wait_us / 1000.0, body, status,
                       ERRORS[err] if err < len(ERRORS) else str(err), bool(flags & F_REUSED),
                       req))
    return out


class Loadgen(Proc):
    """test/bench/loadgen at a fixed rate; duration 0 runs until finish()."""

    def __init__(self, port, rate, out, reqs=((1, "GET", "/"),), duration=0, conns=64,
                 timeout_ms=10000, headers=(), source=None, name="loadgen"):
        if not os.access(LOADGEN_BIN, os.X_OK):
            raise AssertionError("loadgen not built at %s (ninja -C build)" % LOADGEN_BIN)
        cmd = [LOADGEN_BIN, "--port", port, "--rate", rate, "--duration", duration,
               "--conns", conns, "--timeout-ms", timeout_ms, "--out", out]
        for r in reqs:
            cmd += ["--req", " ".join(str(x) for x in r)]
        for h in headers:
            cmd += ["--header", h]
        if source is not None:
            cmd += ["--source", source]
        super().__init__(cmd, name)
        self.out = str(out)
        self.reqs = list(reqs)
        self.duration = float(duration)
        self.timeout_ms = timeout_ms
        line = self.stdout.wait_for(lambda l: l.startswith('{"start_ns"'), 10, "loadgen start")
        self.start = int(line.split(":")[1].rstrip("}")) / 1e9
        self.summary = None

    def progress(self):
        """The last per-second progress line, parsed ({} before the first)."""
        import json
        lines = [l for l in self.stdout.lines() if l.startswith('{"t_ns"')]
        return json.loads(lines[-1]) if lines else {}

    def finish(self, timeout=60):
        """Wait for the set duration to end (with duration 0: stop scheduling
        now, by SIGTERM), then for the answers in flight; return the records."""
        import json
        if self.duration > 0:
            left = self.start + self.duration - time.monotonic()
            self.wait_exit(max(0, left) + self.timeout_ms / 1000.0 + timeout)
        elif self.alive():
            self.signal(signal.SIGTERM)
        self.wait_exit(timeout)
        line = self.stdout.wait_for(lambda l: l.startswith('{"summary"'), 5, "loadgen summary")
        self.summary = json.loads(line)["summary"]
        self.stop()
        return read_records(self.out)


HZ = os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """(busy, total) clock ticks of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v) - idle, sum(v)


class ProcSampler(ThreadSampler):
    """Samples a process every interval seconds on a thread: (time.monotonic(),
    VmRSS KiB, open fds, threads, CPU seconds used so far, (machine busy,
    total) ticks) from /proc. Stops when the process is gone. busy_share()
    turns two samples into the machine's busy share between them, so a stall
    can be told from a machine that other work kept busy."""

    def __init__(self, pid, interval=1.0):
        super().__init__(pid, interval)
        self.samples = []

    def sample(self):
        rss, threads = proc_status(self.pid, "VmRSS", "Threads")
        fds = len(os.listdir("/proc/%d/fd" % self.pid))
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / HZ  # utime + stime
        return (time.monotonic(), rss, fds, threads, cpu, machine_cpu())

    def _run(self):
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self.samples.append(self.sample())
            except (FileNotFoundError, ProcessLookupError, AssertionError):
                return  # gone (a zombie's status has no VmRSS)
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def between(self, t0, t1):
        return [s for s in self.samples if t0 <= s[0] < t1]

    @staticmethod
    def busy_share(a, b):
        """The machine's busy share (0..1, all CPUs) between samples a and b."""
        busy = b[5][0] - a[5][0]
        total = b[5][1] - a[5][1]
        return busy / total if total > 0 else 0.0

    @staticmethod
    def cpu_share(a, b):
        """CPU seconds the process used per second between samples a and b."""
        return (b[4] - a[4]) / (b[0] - a[0]) if b[0] > a[0] else 0.0


def flat(samples, column, warmup_s, tolerance, slack):
    """Is a sampled column flat? Samples after the warm-up are cut in thirds;
    flat when the last third's maximum is at most the first third's maximum
    times (1 + tolerance) plus slack. Returns (flat, first_max, last_max)."""
    if not samples:
        raise AssertionError("no samples")
    t0 = samples[0][0] + warmup_s
    rest = [s for s in samples if s[0] >= t0]
    if len(rest) < 6:
        raise AssertionError("too few samples after the warm-up: %d" % len(rest))
    third = len(rest) // 3
    first = max(s[column] for s in rest[:third])
    last = max(s[column] for s in rest[-third:])
    return last <= first * (1 + tolerance) + slack, first, last


class Nginx(Proc):
    """nginx serving static files (and fixed answers) on a free port, as a
    cheap upstream for steady load: files is {name: bytes}, locations extra
    nginx location blocks (text)."""

    def __init__(self, workdir, files, locations="", name="nginx"):
        workdir = Path(workdir)
        www = workdir / "www"
        www.mkdir(parents=True, exist_ok=True)
        for fname, data in files.items():
            (www / fname).write_bytes(data)
        self.port = free_port()
        conf = workdir / "nginx.conf"
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text("""
{user}
worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/nginx.err warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {w}/body;
    proxy_temp_path {w}/proxy;
    fastcgi_temp_path {w}/fcgi;
    uwsgi_temp_path {w}/uwsgi;
    scgi_temp_path {w}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {w}/www;
        {locations}
    }}
}}
""".format(user=user, w=workdir, port=self.port, locations=locations))
        super().__init__([NGINX, "-c", conf, "-p", workdir, "-g", "daemon off;"], name)
        self.url = "http://127.0.0.1:%d" % self.port

        def listening():
            if not self.alive():
                raise AssertionError("nginx exited: %r" % self.stderr.lines()[-10:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_until(listening, 10, "nginx to listen")


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}



@pytest.fixture
def nginx(tmp_path):
    """An nginx serving /small (3 bytes) and /big (1 MiB); a test module
    imports it to use it."""
    ng = Nginx(tmp_path / "nginx", {"small": b"ok\n", "big": bytes(range(256)) * 4096})
    yield ng
    ng.stop()

def fd_kinds(pid, listen_port, upstream_ports):
    """What a process's open descriptors are: {"client": sockets on
    listen_port (not listening), "upstream": sockets to upstream_ports,
    "close_wait": TCP sockets whose peer has closed, "listen", "unix" (unix
    sockets: tracegate's private admin socket, its connections kept by the
    workers' pools and the admin server), "other_socket", "other"} (counts).
    Read from /proc/PID/fd, /proc/net/tcp{,6} and /proc/net/unix."""
    unix = set()
    try:
        with open("/proc/%d/net/unix" % pid) as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) >= 7:
                    unix.add(parts[6])
    except FileNotFoundError:
        pass
    inodes = {}
    for name in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
                    inodes[inode] = (int(local.rsplit(":", 1)[1], 16),
                                     int(remote.rsplit(":", 1)[1], 16), TCP_STATES.get(state))
        except FileNotFoundError:
            pass
    out = collections.Counter()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if not target.startswith("socket:["):
            out["other"] += 1
            continue
        tcp = inodes.get(target[8:-1])
        if tcp is None and target[8:-1] in unix:
            out["unix"] += 1
        elif tcp is None:
            out["other_socket"] += 1
        elif tcp[2] == "LISTEN":
            out["listen"] += 1
        elif tcp[2] == "CLOSE_WAIT":
            out["close_wait"] += 1
        elif tcp[0] == listen_port:
            out["client"] += 1
        elif tcp[1] in upstream_ports:
            out["upstream"] += 1
        else:
            out["other_socket"] += 1
    return dict(out)
