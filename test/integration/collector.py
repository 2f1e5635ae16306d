"""Real OTLP receivers for tracegate's exporter tests.

start_collector(tmp_path) runs the OpenTelemetry Collector built by
test/collector/build.sh: an `otlp` receiver (HTTP and gRPC, each on a free
127.0.0.1 port) and a `file` exporter that writes what it receives as OTLP
JSON, one export request per line, to tmp_path/"spans.jsonl". Collector.spans()
reads that file back as a flat list of spans.

start_jaeger(tmp_path) runs Jaeger v2 (test/collector/build-jaeger.sh) with
in-memory storage, OTLP receivers on free ports and the query API on a free
port; Jaeger.traces(trace_id) reads a trace back through /api/traces/<id>.

The binaries come from $OTELCOL_BIN and $JAEGER_BIN, by default the paths the
build scripts print with --print-path. The `collector` and `jaeger` fixtures
skip the test when the binary has not been built, and stop the process when
the test ends, pass or fail. Every wait is a poll on a condition with a
deadline; every process is stopped by its PID (SIGTERM, then SIGKILL).

    from collector import collector  # noqa: F401  (the fixture)

    def test_export(collector):
        ...send OTLP to collector.http_endpoint + "/v1/traces"...
        (span,) = collector.wait_spans(1, timeout=10)
        assert span["traceId"] == "..."
        assert span["attrs"]["http.request.method"] == "GET"
"""

import base64
import functools
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, stop_pid

REPO = Path(__file__).resolve().parents[2]
COLLECTOR_DIR = REPO / "test" / "collector"

# How long a receiver may take to open its ports: the first start of a
# freshly built Go binary on a busy 2-core machine can take a few seconds.
START_TIMEOUT = 30.0
STOP_GRACE = 5.0
# Port collisions (another process took a port between free_port() and the
# receiver binding it) are retried with new ports this many times.
START_ATTEMPTS = 3


@functools.lru_cache(maxsize=None)
def _print_path(script):
    """The binary path a build script would produce (builds nothing)."""
    try:
        out = subprocess.run(["bash", str(COLLECTOR_DIR / script), "--print-path"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.strip().splitlines()
    return lines[-1] if lines else None


def otelcol_bin():
    """Path of the collector binary ($OTELCOL_BIN, else build.sh --print-path)."""
    return os.environ.get("OTELCOL_BIN") or _print_path("build.sh")


def jaeger_bin():
    """Path of the Jaeger v2 binary ($JAEGER_BIN, else build-jaeger.sh --print-path)."""
    return os.environ.get("JAEGER_BIN") or _print_path("build-jaeger.sh")


def _missing_reason(path, what, script, var):
    """Why the binary cannot be used, or None when it can."""
    if path and os.access(path, os.X_OK):
        return None
    return ("%s is not built (%s): run test/collector/%s, or set %s"
            % (what, path or "no path", script, var))


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _yaml_str(s):
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(str(s))


# --- OTLP JSON -> flat spans -------------------------------------------------

def any_value(v):
    """An OTLP JSON AnyValue as a Python value (intValue is a string in JSON)."""
    if not v:
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "bytesValue" in v:
        return base64.b64decode(v["bytesValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return attributes(v["kvlistValue"].get("values", []))
    return None


def attributes(kvs):
    """A list of OTLP JSON KeyValue as a dict."""
    return {kv["key"]: any_value(kv.get("value")) for kv in kvs or []}


def flatten_traces(request):
    """The spans of one ExportTraceServiceRequest (OTLP JSON) as a flat list.

    Each span is the OTLP JSON span object (camelCase keys as sent: traceId,
    spanId, parentSpanId, name, kind, attributes, ...) with these added:
      attrs           the span's attributes as a dict
      resource        the OTLP resource object ({"attributes": [...], ...})
      resource_attrs  the resource attributes as a dict
      scope           the instrumentation scope object ({"name", "version", ...})
      scope_attrs     the scope attributes as a dict
    """
    out = []
    for rs in request.get("resourceSpans", []):
        resource = rs.get("resource", {})
        resource_attrs = attributes(resource.get("attributes"))
        for ss in rs.get("scopeSpans", []):
            scope = ss.get("scope", {})
            scope_attrs = attributes(scope.get("attributes"))
            for span in ss.get("spans", []):
                s = dict(span)
                s["attrs"] = attributes(span.get("attributes"))
                s["resource"] = resource
                s["resource_attrs"] = resource_attrs
                s["scope"] = scope
                s["scope_attrs"] = scope_attrs
                out.append(s)
    return out


# --- processes ---------------------------------------------------------------

class _Receiver:
    """A receiver process started from a config file, stopped by its PID."""

    name = "receiver"

    def __init__(self, binary, args, log_path, ports):
        self.binary = binary
        self.log_path = Path(log_path)
        # A retried start appends to the same log; log() shows this run's part.
        self._log = open(self.log_path, "ab")
        self._log_start = self._log.tell()
        # OTEL_* settings meant for the process under test must not change
        # how the receiver runs (both read some of them).
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        self.popen = subprocess.Popen([str(binary)] + [str(a) for a in args],
                                      stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=env)
        self.pid = self.popen.pid
        self._ports = ports

    def alive(self):
        return self.popen.poll() is None

    def log(self, last=40):
        """The last lines of the process's output (stdout and stderr)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_start)
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-last:])

    def _wait_ready(self, timeout):
        """True once every port accepts connections; False if the process
        exited (the caller reads the log); raises on the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                return False
            if all(_accepts(p) for p in self._ports):
                return True
            if time.monotonic() >= deadline:
                self.stop()
                raise AssertionError("%s did not open ports %s within %.0fs; log:\n%s"
                                     % (self.name, self._ports, timeout, self.log()))
            time.sleep(0.02)

    def stop(self, grace=STOP_GRACE):
        """SIGTERM, then SIGKILL after grace seconds; both by PID. Idempotent."""
        status = stop_pid(self.popen, grace)
        if not self._log.closed:
            self._log.close()
        return status


def _start(cls, make, attempts=START_ATTEMPTS):
    """Start a receiver via make(), retrying with fresh ports if it exits
    before it is ready because a port was taken meanwhile."""
    for attempt in range(attempts):
        r = make()
        if r._wait_ready(START_TIMEOUT):
            return r
        r.stop()
        log = r.log()
        if "address already in use" not in log or attempt == attempts - 1:
            raise AssertionError("%s exited with status %r before it was ready; log:\n%s"
                                 % (cls.name, r.popen.returncode, log))
    raise AssertionError("unreachable")


class Collector(_Receiver):
    """The OpenTelemetry Collector: OTLP in, OTLP JSON lines out (file exporter)."""

    name = "otelcol"

    def __init__(self, binary, tmp_path, debug_verbosity="basic", tls=None, forward_to=None):
        """tls: None, or {"cert_file", "key_file"[, "client_ca_file"]} for
        both receivers (endpoints are then https://). forward_to: None, or
        the OTLP/HTTP base URL of another receiver (Jaeger) that gets
        everything this collector receives, as a collector in front of a
        tracing backend does."""
        tmp_path = Path(tmp_path)
        self.tls = tls
        self.forward_to = forward_to
        self.http_port = free_port()
        self.grpc_port = free_port()
        while self.grpc_port == self.http_port:
            self.grpc_port = free_port()
        scheme = "https" if tls else "http"
        self.http_endpoint = "%s://127.0.0.1:%d" % (scheme, self.http_port)
        self.grpc_endpoint = "%s://127.0.0.1:%d" % (scheme, self.grpc_port)
        # For gRPC clients that want host:port.
        self.grpc_address = "127.0.0.1:%d" % self.grpc_port
        self.traces_url = self.http_endpoint + "/v1/traces"
        self.spans_path = tmp_path / "spans.jsonl"
        self.config_path = tmp_path / "otelcol.yaml"
        self.config_path.write_text(self._config(debug_verbosity))
        super().__init__(binary, ["--config", self.config_path],
                         tmp_path / "otelcol.log", [self.http_port, self.grpc_port])

    def _tls_lines(self):
        if not self.tls:
            return []
        return ["        tls:"] + ["          %s: %s" % (k, _yaml_str(v))
                                    for k, v in sorted(self.tls.items())]

    def _forward_lines(self):
        if not self.forward_to:
            return []
        return [
            "  otlp_http/forward:",
            "    traces_endpoint: %s" % _yaml_str(self.forward_to.rstrip("/") + "/v1/traces"),
            "    compression: none",
        ]

    def _config(self, debug_verbosity):
        return "\n".join([
            "receivers:",
            "  otlp:",
            "    protocols:",
            "      http:",
            "        endpoint: 127.0.0.1:%d" % self.http_port,
        ] + self._tls_lines() + [
            "      grpc:",
            "        endpoint: 127.0.0.1:%d" % self.grpc_port,
        ] + self._tls_lines() + [
            "exporters:",
            "  file:",
            "    path: %s" % _yaml_str(self.spans_path),
            "    format: json",
            # Written lines reach the file within this time (default 1s).
            "    flush_interval: 50ms",
            "  debug:",
            "    verbosity: %s" % debug_verbosity,
        ] + self._forward_lines() + [
            "service:",
            "  telemetry:",
            # No metrics server of its own (it would take port 8888).
            "    metrics:",
            "      level: none",
            "  pipelines:",
            "    traces:",
            "      receivers: [otlp]",
            "      exporters: [%s]" % ", ".join(
                ["file", "debug"] + (["otlp_http/forward"] if self.forward_to else [])),
            "",
        ])

    def requests(self):
        """Every ExportTraceServiceRequest written so far (complete lines only)."""
        try:
            data = self.spans_path.read_bytes()
        except FileNotFoundError:
            return []
        # A line still being written has no newline yet; leave it for later.
        complete = data[:data.rfind(b"\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def spans(self):
        """Every span written so far, flattened (see flatten_traces)."""
        out = []
        for request in self.requests():
            out.extend(flatten_traces(request))
        return out

    def wait_spans(self, n, timeout=10.0, pred=None):
        """Wait until at least n spans (matching pred, if given) were written;
        return them (all the matching ones, which may be more than n)."""
        deadline = time.monotonic() + timeout
        while True:
            got = [s for s in self.spans() if pred is None or pred(s)]
            if len(got) >= n:
                return got
            if not self.alive():
                raise AssertionError("otelcol exited (%r) with %d of %d spans; log:\n%s"
                                     % (self.popen.returncode, len(got), n, self.log()))
            if time.monotonic() >= deadline:
                raise AssertionError("only %d of %d spans within %.1fs; log:\n%s"
                                     % (len(got), n, timeout, self.log()))
            time.sleep(0.02)


def start_collector(tmp_path, binary=None, **kw):
    """Start the collector; returns a Collector whose ports accept connections."""
    binary = binary or otelcol_bin()
    reason = _missing_reason(binary, "the OpenTelemetry Collector", "build.sh", "OTELCOL_BIN")
    if reason:
        raise FileNotFoundError(reason)
    return _start(Collector, lambda: Collector(binary, tmp_path, **kw))


class Jaeger(_Receiver):
    """Jaeger v2 all-in-one: OTLP in, in-memory storage, query API out."""

    name = "jaeger"

    def __init__(self, binary, tmp_path):
        tmp_path = Path(tmp_path)
        ports = set()

        def port():
            p = free_port()
            while p in ports:
                p = free_port()
            ports.add(p)
            return p

        self.http_port = port()
        self.grpc_port = port()
        self.query_port = port()
        self.query_grpc_port = port()
        self.http_endpoint = "http://127.0.0.1:%d" % self.http_port
        self.grpc_endpoint = "http://127.0.0.1:%d" % self.grpc_port
        self.grpc_address = "127.0.0.1:%d" % self.grpc_port
        self.traces_url = self.http_endpoint + "/v1/traces"
        self.query_url = "http://127.0.0.1:%d" % self.query_port
        self.config_path = tmp_path / "jaeger.yaml"
        self.config_path.write_text(self._config())
        super().__init__(binary, ["--config", self.config_path], tmp_path / "jaeger.log",
                         [self.http_port, self.grpc_port, self.query_port,
                          self.query_grpc_port])

    def _config(self):
        return "\n".join([
            "service:",
            "  extensions: [jaeger_storage, jaeger_query]",
            "  pipelines:",
            "    traces:",
            "      receivers: [otlp]",
            "      exporters: [jaeger_storage_exporter]",
            "  telemetry:",
            "    metrics:",
            "      level: none",
            "extensions:",
            "  jaeger_query:",
            # On by default: Jaeger would export its own spans over OTLP to
            # 127.0.0.1:4317, which may be some other test's receiver.
            "    enable_tracing: false",
            "    storage:",
            "      traces: memstore",
            "    http:",
            "      endpoint: 127.0.0.1:%d" % self.query_port,
            "    grpc:",
            "      endpoint: 127.0.0.1:%d" % self.query_grpc_port,
            "  jaeger_storage:",
            "    backends:",
            "      memstore:",
            "        memory:",
            "          max_traces: 100000",
            "receivers:",
            "  otlp:",
            "    protocols:",
            "      http:",
            "        endpoint: 127.0.0.1:%d" % self.http_port,
            "      grpc:",
            "        endpoint: 127.0.0.1:%d" % self.grpc_port,
            "exporters:",
            "  jaeger_storage_exporter:",
            "    trace_storage: memstore",
            "",
        ])

    def traces(self, trace_id):
        """The query API's traces for trace_id (hex): the "data" list of
        GET /api/traces/<id>, [] while Jaeger does not have it."""
        url = "%s/api/traces/%s" % (self.query_url, trace_id)
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return []
            raise
        return body.get("data") or []

    def wait_trace(self, trace_id, n_spans=1, timeout=10.0):
        """Wait until the trace has at least n_spans spans; return the trace."""
        deadline = time.monotonic() + timeout
        while True:
            traces = self.traces(trace_id)
            if traces and len(traces[0].get("spans", [])) >= n_spans:
                return traces[0]
            if not self.alive():
                raise AssertionError("jaeger exited (%r); log:\n%s"
                                     % (self.popen.returncode, self.log()))
            if time.monotonic() >= deadline:
                have = len(traces[0].get("spans", [])) if traces else 0
                raise AssertionError("trace %s has %d of %d spans after %.1fs; log:\n%s"
                                     % (trace_id, have, n_spans, timeout, self.log()))
            time.sleep(0.05)


def start_jaeger(tmp_path, binary=None):
    """Start Jaeger v2; returns a Jaeger whose ports accept connections."""
    binary = binary or jaeger_bin()
    reason = _missing_reason(binary, "Jaeger", "build-jaeger.sh", "JAEGER_BIN")
    if reason:
        raise FileNotFoundError(reason)
    return _start(Jaeger, lambda: Jaeger(binary, tmp_path))


# --- fixtures ------------------------------------------------------------------

@pytest.fixture
def collector(tmp_path):
    """A running collector, stopped when the test ends; skips if not built."""
    binary = otelcol_bin()
    reason = _missing_reason(binary, "the OpenTelemetry Collector", "build.sh", "OTELCOL_BIN")
    if reason:
        pytest.skip(reason)
    c = start_collector(tmp_path, binary)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def jaeger(tmp_path):
    """A running Jaeger v2, stopped when the test ends; skips if not built."""
    binary = jaeger_bin()
    reason = _missing_reason(binary, "Jaeger", "build-jaeger.sh", "JAEGER_BIN")
    if reason:
        pytest.skip(reason)
    j = start_jaeger(tmp_path, binary)
    try:
        yield j
    finally:
        j.stop()
