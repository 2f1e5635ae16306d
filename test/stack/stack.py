#!/usr/bin/python3
"""The whole stack in one trace: tracegate → Bun monolith → tracegate → Go
backend → PostgreSQL, every process real and on 127.0.0.1.

    client ─▶ tracegate-edge ─▶ bun-monolith ─▶ tracegate-core ─▶ go-core ─▶ PostgreSQL 15
                (tracegate)      (Bun, OTel JS)    (tracegate)     (Echo, GORM)
                     └──────────────┴──── OTLP/HTTP ────┴──────────────┘
                                           ▼
                              OpenTelemetry Collector ──▶ Jaeger (query API)
                              (file: spans.jsonl)

Run it by hand:

    /usr/bin/python3 test/stack/stack.py [--port 8080] [--bun-no-propagate]

It prints the URL to curl and how to look at the trace, and stops every
process (by PID) on Ctrl-C. The integration tests
(test/integration/test_stack.py) start the same stack through Backend and
Front below.

Pieces: PostgreSQL 15 from Debian (run as the postgres user, data directory
and socket in a temporary directory, schema.sql loaded), go-core
(build-go-backend.sh, cached), the Bun monolith (bun-monolith/, run by the
Bun binary that test/interop/bun installs), two tracegate instances
(TRACEGATE_BIN, default build/gateway/tracegate), the collector
(test/collector/build.sh) and Jaeger when it is built
(test/collector/build-jaeger.sh). Every service exports to the collector,
which writes spans.jsonl and forwards to Jaeger.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "test" / "integration"))

from collector import _accepts, jaeger_bin, otelcol_bin, start_collector, start_jaeger  # noqa: E402
from conftest import BUN_BIN, TRACEGATE_BIN, free_port, stop_pid, wait_until  # noqa: E402

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
BUN_APP = HERE / "bun-monolith"
BUN_MAIN = BUN_APP / "src" / "main.ts"
SCHEMA = HERE / "schema.sql"
DB_NAME = "stack"

# Spans leave every process within this time (OTEL_BSP_SCHEDULE_DELAY, ms):
# short, so tests wait little, and a person sees the trace at once.
BSP_DELAY_MS = 100
START_TIMEOUT = 30.0
STOP_GRACE = 5.0

PERMISSIONS_PATH = "/api/organizations/1/permissions"


class StackError(Exception):
    pass


class Child:
    """A child process with stdout and stderr in log files under logdir,
    always stopped by its PID (stop_pid: sig, then SIGKILL)."""

    def __init__(self, name, cmd, logdir, env=None, stop_signal=signal.SIGTERM, **popen_kw):
        self.name = name
        self.cmd = [str(c) for c in cmd]
        self.stop_signal = stop_signal
        self.out_path = Path(logdir) / ("%s.out" % name)
        self.err_path = Path(logdir) / ("%s.err" % name)
        # Tracing settings come only from the env argument: ones in this
        # process's environment (a service name, a sampler) would change
        # what the stack records.
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("OTEL_", "TELEMETRY_"))}
        full_env.update({k: str(v) for k, v in (env or {}).items()})
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self.popen = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=err, env=full_env, **popen_kw)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def tail(self, n=30):
        lines = (self.stdout() + self.stderr()).splitlines()
        return "\n".join(lines[-n:])

    def wait_for(self, pattern, timeout=START_TIMEOUT, stream="stdout"):
        """Wait for a line matching pattern (a regex) on stdout or stderr;
        returns the match. Fails early if the process exits."""
        rx = re.compile(pattern, re.M)

        def found():
            m = rx.search(self.stdout() if stream == "stdout" else self.stderr())
            if m:
                return m
            if not self.alive():
                raise StackError("%s exited (%r) before printing %r:\n%s"
                                 % (self.name, self.popen.returncode, pattern, self.tail()))
            return None
        return wait_until(found, timeout, "%s to print %r" % (self.name, pattern), interval=0.02)

    def stop(self, grace=STOP_GRACE):
        return stop_pid(self.popen, grace, self.stop_signal)


def http_get(url, headers=None, timeout=10):
    """GET url; returns (status, headers as a lower-case dict, body bytes)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def go_core_bin():
    """The go-core binary: $GO_CORE_BIN, else build-go-backend.sh's (built
    on first use, cached outside the tree)."""
    if os.environ.get("GO_CORE_BIN"):
        return os.environ["GO_CORE_BIN"]
    r = subprocess.run(["bash", str(HERE / "build-go-backend.sh")], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise StackError("test/stack/build-go-backend.sh failed:\n%s" % r.stderr[-3000:])
    return r.stdout.strip().splitlines()[-1]


def require_installed():
    """Raise StackError naming what is missing and how to get it."""
    missing = []
    if not os.access(TRACEGATE_BIN, os.X_OK):
        missing.append("tracegate at %s (meson setup build && ninja -C build)" % TRACEGATE_BIN)
    if not (PG_BIN / "postgres").exists():
        missing.append("PostgreSQL 15 in %s (apt-get install postgresql-15; test/setup.sh)"
                       % PG_BIN)
    if not BUN_BIN.exists():
        missing.append("Bun at %s (test/interop/setup.sh)" % BUN_BIN)
    if not (BUN_APP / "node_modules" / "@opentelemetry" / "sdk-trace-base").exists():
        missing.append("the Bun monolith's packages (test/stack/setup.sh)")
    otelcol = otelcol_bin()
    if not otelcol or not os.access(otelcol, os.X_OK):
        missing.append("the OpenTelemetry Collector (test/collector/build.sh)")
    if missing:
        raise StackError("not installed: " + "; ".join(missing))


def jaeger_available():
    path = jaeger_bin()
    return bool(path) and os.access(path, os.X_OK)


class Postgres:
    """PostgreSQL 15 as the postgres user (it refuses to run as root), data
    directory and socket in a temporary directory that the postgres user
    owns, TCP on 127.0.0.1 only, trust authentication (nothing else can
    reach it). The schema and data come from schema.sql."""

    def __init__(self, logdir):
        self.port = free_port()
        # Outside logdir: the postgres user must be able to reach it, and
        # pytest's tmp_path is private to root.
        self.dir = Path(tempfile.mkdtemp(prefix="tracegate-pg-"))
        self.data = self.dir / "data"
        self.proc = None
        self.logdir = logdir
        try:
            self._start()
        except BaseException:
            self.stop()  # the server if it started, and the directory
            raise
        self.url = "postgres://postgres@127.0.0.1:%d/%s?sslmode=disable" % (self.port, DB_NAME)

    def _start(self):
        os.chmod(self.dir, 0o700)
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres = {"user": "postgres", "group": "postgres", "extra_groups": []}
        env = {"HOME": str(self.dir), "LC_ALL": "C.UTF-8"}
        r = subprocess.run([PG_BIN / "initdb", "-D", self.data, "-U", "postgres",
                            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=env, timeout=120, **self._as_postgres)
        if r.returncode != 0:
            raise StackError("initdb failed:\n%s%s" % (r.stdout[-2000:], r.stderr[-2000:]))
        # Durability is not what is tested: no fsync, so start-up and the
        # data load take a moment.
        self.proc = Child("postgres", [PG_BIN / "postgres", "-D", self.data, "-k", self.dir,
                                       "-h", "127.0.0.1", "-p", self.port,
                                       "-c", "fsync=off", "-c", "synchronous_commit=off",
                                       "-c", "full_page_writes=off"],
                          self.logdir, env=env, stop_signal=signal.SIGINT, **self._as_postgres)
        wait_until(lambda: self._ready(), START_TIMEOUT, "PostgreSQL on port %d" % self.port,
                   interval=0.05)
        self.psql("-c", "CREATE DATABASE %s" % DB_NAME, db="postgres")
        self.psql("-f", SCHEMA)

    def _ready(self):
        if not self.proc.alive():
            raise StackError("postgres exited (%r):\n%s" % (self.proc.popen.returncode,
                                                            self.proc.tail()))
        r = subprocess.run([PG_BIN / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        return r.returncode == 0

    def psql(self, *args, db=DB_NAME):
        r = subprocess.run([PG_BIN / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                            "-d", db] + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise StackError("psql %s failed:\n%s" % (" ".join(map(str, args)), r.stderr))
        return r.stdout

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_tracegate(name, logdir, routes, exporter_env, admin_token, port=0, extra_env=None):
    """A tracegate instance; routes: [(prefix, url)]. Its access log goes to
    logdir/<name>.access.jsonl, its spans to the collector as <name>."""
    port = port or free_port()
    access_log = Path(logdir) / ("%s.access.jsonl" % name)
    cmd = [TRACEGATE_BIN, "--listen", "127.0.0.1:%d" % port, "--workers", "2",
           "--access-log", access_log]
    for prefix, url in routes:
        cmd += ["--route", "%s=%s" % (prefix, url)]
    env = dict(exporter_env)
    env.update({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SERVICE_NAME": name,
                "TELEMETRY_ADMIN_TOKEN": admin_token})
    env.update(extra_env or {})
    tg = Child(name, cmd, logdir, env=env)
    tg.port = port
    tg.url = "http://127.0.0.1:%d" % port
    tg.access_log_path = access_log

    def ready():
        if not tg.alive():
            raise StackError("%s exited (%r):\n%s" % (name, tg.popen.returncode, tg.tail()))
        return _accepts(port)
    try:
        wait_until(ready, START_TIMEOUT, "%s to listen on %d" % (name, port))
    except BaseException:
        tg.stop()
        raise

    def access_log_lines():
        try:
            text = access_log.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(l) for l in text.splitlines() if l.strip().startswith("{")]
    tg.access_log = access_log_lines
    return tg


class Backend:
    """Everything behind the Bun monolith, plus where spans go: Jaeger (when
    built), the collector (forwarding to Jaeger), PostgreSQL, go-core and
    tracegate-core in front of it."""

    def __init__(self, logdir, use_jaeger=None, admin_token=None):
        self.logdir = Path(logdir)
        # tracegate's admin token: TELEMETRY_ADMIN_TOKEN when set, else a new one.
        self.admin_token = (admin_token or os.environ.get("TELEMETRY_ADMIN_TOKEN")
                            or secrets.token_hex(16))
        self.jaeger = self.collector = self.postgres = self.go = self.tg_core = None
        require_installed()
        if use_jaeger is None:
            use_jaeger = jaeger_available()
        try:
            self._start(use_jaeger)
        except BaseException:
            self.stop()
            raise

    def _start(self, use_jaeger):
        go_bin = go_core_bin()
        if use_jaeger:
            jdir = self.logdir / "jaeger"
            jdir.mkdir(exist_ok=True)
            self.jaeger = start_jaeger(jdir)
        cdir = self.logdir / "collector"
        cdir.mkdir(exist_ok=True)
        self.collector = start_collector(
            cdir, forward_to=self.jaeger.http_endpoint if self.jaeger else None)
        self.postgres = Postgres(self.logdir)
        self.go = Child("go-core", [go_bin, "-listen", "127.0.0.1:0"], self.logdir, env={
            "DATABASE_URL": self.postgres.url,
            "TELEMETRY_COLLECTOR_URL": self.collector.http_endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": BSP_DELAY_MS,
        })
        self.go.port = int(self.go.wait_for(r"^PORT (\d+)$").group(1))
        self.go.url = "http://127.0.0.1:%d" % self.go.port
        # One request before anyone looks: the first queries on a fresh
        # database and connection pool are slower than all later ones. Its
        # traceparent is flagged not sampled, so go-core (ParentBased)
        # records nothing of it.
        status, _, body = http_get(self.go.url + "/organizations/1/permissions", headers={
            "traceparent": "00-%s-%s-00" % (secrets.token_hex(16), secrets.token_hex(8))})
        if status != 200:
            raise StackError("go-core answered %d to its first request: %r\n%s"
                             % (status, body[:300], self.go.tail()))
        self.tg_core = self.start_tracegate("tracegate-core", [("/organizations", self.go.url)])

    def exporter_env(self):
        """What every service needs to export to the collector quickly."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.collector.http_endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": BSP_DELAY_MS}

    def start_tracegate(self, name, routes, port=0, extra_env=None):
        return start_tracegate(name, self.logdir, routes, self.exporter_env(),
                               self.admin_token, port=port, extra_env=extra_env)

    def spans(self):
        return self.collector.spans()

    def stop(self):
        """Stop in the order spans flow: services first (each flushes to the
        collector on SIGTERM), then the collector (which forwards to Jaeger),
        then Jaeger. Every step runs even if one before it failed."""
        for p in (self.tg_core, self.go, self.postgres, self.collector, self.jaeger):
            if p is not None:
                p.stop()


class Front:
    """The Bun monolith and tracegate-edge in front of it, over a Backend.
    bun_env adds to the monolith's environment (TELEMETRY_PROPAGATE=false,
    TELEMETRY_ENABLED=false). Logs go to logdir (default: the backend's);
    give each Front of one Backend its own."""

    def __init__(self, backend, logdir=None, edge_port=0, bun_env=None):
        self.backend = backend
        logdir = logdir or backend.logdir
        self.bun = self.edge = None
        try:
            env = {"GO_CORE_URL": backend.tg_core.url,
                   "TELEMETRY_COLLECTOR_URL": backend.collector.http_endpoint,
                   "OTEL_BSP_SCHEDULE_DELAY": BSP_DELAY_MS}
            env.update(bun_env or {})
            self.bun = Child("bun-monolith", [BUN_BIN, BUN_MAIN, "--port", "0"],
                             logdir, env=env, cwd=str(BUN_APP))
            self.bun.port = int(self.bun.wait_for(r"^PORT (\d+)$").group(1))
            self.bun.url = "http://127.0.0.1:%d" % self.bun.port
            self.edge = start_tracegate("tracegate-edge", logdir, [("/api", self.bun.url)],
                                        backend.exporter_env(), backend.admin_token,
                                        port=edge_port)
        except BaseException:
            self.stop()
            raise
        self.url = self.edge.url + PERMISSIONS_PATH

    def stop(self):
        for p in (self.edge, self.bun):
            if p is not None:
                p.stop()


def main():
    ap = argparse.ArgumentParser(description="Start the full tracing stack; Ctrl-C stops it.")
    ap.add_argument("--port", type=int, default=8080,
                    help="tracegate-edge's port (default 8080; 0 picks a free one)")
    ap.add_argument("--no-jaeger", action="store_true", help="do not start Jaeger")
    ap.add_argument("--bun-no-propagate", action="store_true",
                    help="the Bun monolith does not inject traceparent (TELEMETRY_PROPAGATE=false)")
    ap.add_argument("--dir", help="directory for logs and spans.jsonl (default: a new one in /tmp)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("stack: run as root (PostgreSQL is started as the postgres user)")

    logdir = Path(args.dir or tempfile.mkdtemp(prefix="tracegate-stack-"))
    logdir.mkdir(parents=True, exist_ok=True)
    # SIGINT too: a shell that starts this in the background leaves SIGINT
    # ignored, and Python then installs no handler of its own.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    backend = front = None
    try:
        print("stack: starting (logs in %s)" % logdir, flush=True)
        backend = Backend(logdir, use_jaeger=False if args.no_jaeger else None)
        front = Front(backend, edge_port=args.port,
                      bun_env={"TELEMETRY_PROPAGATE": "false"} if args.bun_no_propagate else None)
        tree = "/usr/bin/python3 %s" % os.path.relpath(HERE / "trace_tree.py")
        print("""
stack: ready
  postgres        127.0.0.1:{pg}   go-core {go}   tracegate-core {core}
  bun-monolith    {bun}   tracegate-edge {edge}
  collector       {otlp} (OTLP/HTTP)   spans: {spans}
  jaeger          {jaeger}

Make a request (the traceresponse header carries the trace id):
  curl -i {url}

See the trace:
  {tree} --file {spans} <trace id>{jaeger_tree}

Switch tracing at run time:
  export TOKEN={token}
  curl -X POST {edge}/admin/telemetry -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{{"enabled": false}}'
  curl -X DELETE {edge}/admin/telemetry -H "Authorization: Bearer $TOKEN"   # back to the start-up settings

Ctrl-C stops everything.""".format(
            pg=backend.postgres.port, go=backend.go.url, core=backend.tg_core.url,
            bun=front.bun.url, edge=front.edge.url, otlp=backend.collector.http_endpoint,
            spans=backend.collector.spans_path,
            jaeger=("%s (query API; /api/traces/<trace id>)" % backend.jaeger.query_url
                    if backend.jaeger else "not started (test/collector/build-jaeger.sh builds it)"),
            url=front.url, tree=tree,
            jaeger_tree=("\n  %s --jaeger %s <trace id>" % (tree, backend.jaeger.query_url)
                         if backend.jaeger else ""),
            token=backend.admin_token), flush=True)
        # Sleep until a signal; a service that dies is reported and ends it.
        children = [backend.postgres.proc, backend.go, backend.tg_core, front.bun, front.edge]
        while True:
            dead = [c for c in children if not c.alive()]
            if dead:
                for c in dead:
                    print("stack: %s exited (%r):\n%s" % (c.name, c.popen.returncode, c.tail()),
                          file=sys.stderr)
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstack: stopping", flush=True)
        return 0
    except (StackError, AssertionError, FileNotFoundError) as e:
        print("stack: %s" % e, file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if front is not None:
            front.stop()
        if backend is not None:
            backend.stop()
        print("stack: stopped; logs and spans.jsonl are in %s" % logdir, flush=True)


if __name__ == "__main__":
    sys.exit(main())
