"""The OTLP test receiver (test/interop/otlp/receiver.js) and its tools, for
integration tests.

    from otlp_receiver import start_receiver  # the fixture, into a test module

    def test_x(start_receiver, tmp_path):
        rx = start_receiver()                 # logs to tmp_path/otlp-0.jsonl
        rx.control(mode="status", code=503, times=1)
        ... point tracegate at rx.traces_url or rx.grpc_target ...
        lines = rx.wait_requests(2)           # parsed log lines
        assert rx.stats()["spans_accepted"] == 3

Every receiver a test starts is stopped by its PID at the end of the test,
pass or fail; one that died on its own turns the test into an error.
encode_js() and grpc_send() run the official JS serializers and a grpc-js
client once each. decode_status() and decode_export_response() read the
receiver's protobuf answers with a small wire-format reader of their own, so
tests check those bodies without the receiver's code.
"""

import json
import os
import socket
import subprocess
import urllib.request

import pytest

from conftest import INTEROP_DIR, INTEROP_NODE, Proc, wait_until

OTLP_DIR = INTEROP_DIR / "otlp"
RECEIVER = OTLP_DIR / "receiver.js"
ENCODE_JS = OTLP_DIR / "encode_js.js"
GRPC_SEND = OTLP_DIR / "grpc_send.js"
BENCH_JS = OTLP_DIR / "bench_js_exporter.js"
EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def require_installed():
    marker = OTLP_DIR / "node_modules" / "@grpc" / "grpc-js"
    if not marker.exists():
        pytest.fail("OTLP peers are not installed (%s missing): run test/interop/setup.sh"
                    % marker, pytrace=False)


class Receiver(Proc):
    """receiver.js on 127.0.0.1; ports from its ready line."""

    def __init__(self, out, discard=False, http_port=0, grpc_port=0, control_port=0,
                 name="otlp-receiver"):
        require_installed()
        cmd = [INTEROP_NODE, RECEIVER, "--http-port", http_port, "--grpc-port", grpc_port,
               "--control-port", control_port]
        if discard:
            cmd.append("--discard")
        else:
            cmd += ["--out", out]
        super().__init__(cmd, name)
        self.out = out
        self.expect_exit = False
        try:
            line = self.stdout.wait_for(lambda l: l.startswith("{"), 20, "the ready line")
        except AssertionError:
            self.stop()
            raise AssertionError("receiver did not start; stderr: %r" % self.stderr.lines()[-20:])
        ready = json.loads(line)
        self.http_port = ready["http_port"]
        self.grpc_port = ready["grpc_port"]
        self.control_port = ready["control_port"]
        self.http_url = "http://127.0.0.1:%d" % self.http_port
        self.traces_url = self.http_url + "/v1/traces"
        self.grpc_target = "127.0.0.1:%d" % self.grpc_port
        self.grpc_url = "http://" + self.grpc_target
        self.control_url = "http://127.0.0.1:%d" % self.control_port

    # -- control API (on the control port, which stays up through "down")

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def control(self, **body):
        """POST /_control with body; returns the receiver's answer {"mode", "listening"}."""
        return self._call("POST", "/_control", body)

    def down(self, ms=None):
        return self.control(mode="down") if ms is None else self.control(mode="down", ms=ms)

    def up(self):
        return self.control(mode="up")

    def stats(self):
        return self._call("GET", "/_stats")

    def reset_stats(self):
        return self._call("DELETE", "/_stats")

    # -- the log

    def requests(self):
        """Every logged request so far, parsed, in order."""
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(l) for l in f if l.strip()]

    def wait_requests(self, count, timeout=10.0, pred=None):
        """Wait until at least count logged requests satisfy pred; return them."""
        def got():
            rs = [r for r in self.requests() if pred is None or pred(r)]
            return rs if len(rs) >= count else None
        return wait_until(got, timeout, "%d requests logged by the OTLP receiver" % count)

    def spans(self, accepted_only=True):
        """Normalized spans from the logged requests (by default those answered with success)."""
        out = []
        for r in self.requests():
            resp = r["response"] or {}
            ok = resp.get("status") == 200 or resp.get("grpc_code") == 0
            if accepted_only and not ok:
                continue
            for rs in r["resource_spans"]:
                for ss in rs["scopeSpans"]:
                    out.extend(ss["spans"])
        return out

    def http_listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5).close()
            return True
        except OSError:
            return False


@pytest.fixture
def start_receiver(tmp_path):
    """start_receiver(discard=False, http_port=0, grpc_port=0, control_port=0) -> Receiver."""
    procs = []

    def start(discard=False, **ports):
        rx = Receiver(str(tmp_path / ("otlp-%d.jsonl" % len(procs))), discard=discard, **ports)
        procs.append(rx)
        return rx

    yield start
    died = []
    for rx in procs:
        rc = rx.popen.poll()
        if rc is not None and not rx.expect_exit:
            died.append("OTLP receiver (pid %d) exited on its own with %r; stderr: %r"
                        % (rx.pid, rc, rx.stderr.lines()[-20:]))
        rx.stop(grace=2.0)
    if died:
        pytest.fail("; ".join(died), pytrace=False)


# ---------------------------------------------------------------- JS tools

def _node(args, stdin=None, timeout=60):
    require_installed()
    p = subprocess.run([INTEROP_NODE] + [str(a) for a in args], input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("node %s exited %d: %s" % (args[0], p.returncode,
                                                         p.stderr.decode(errors="replace")))
    return json.loads(p.stdout)


def encode_js(description, workdir):
    """The official JS serializers on a span description (see spans.js).

    Returns (result, protobuf_body, json_body): result is encode_js.js's
    output ({"resource_spans", "span_count", "json_warnings", ...}).
    """
    pb = os.path.join(str(workdir), "encode-%d.pb" % os.getpid())
    js = os.path.join(str(workdir), "encode-%d.json" % os.getpid())
    result = _node([ENCODE_JS, "--emit-protobuf", pb, "--emit-json", js],
                   stdin=json.dumps(description).encode())
    with open(pb, "rb") as f:
        pb_body = f.read()
    with open(js, "rb") as f:
        js_body = f.read()
    return result, pb_body, js_body


def grpc_send(target, body, workdir, gzip=False, timeout_ms=10000, metadata=None):
    """One OTLP/gRPC Export of body (serialized request bytes) with grpc-js.

    Returns {"code", "status", "details", "response", "retry_delay_ms"}.
    """
    path = os.path.join(str(workdir), "grpc-body-%d.pb" % os.getpid())
    with open(path, "wb") as f:
        f.write(body)
    args = [GRPC_SEND, "--target", target, "--body", path, "--timeout-ms", timeout_ms]
    if gzip:
        args.append("--gzip")
    for k, v in (metadata or {}).items():
        args += ["--metadata", "%s=%s" % (k, v)]
    return _node(args)


def bench_js(protocol, endpoint, spans, batch=512, gzip=False):
    args = [BENCH_JS, "--protocol", protocol, "--endpoint", endpoint, "--spans", spans,
            "--batch", batch]
    if gzip:
        args.append("--gzip")
    return _node(args, timeout=300)


# ---------------------------------------------------------------- protobuf reading

def _varint(buf, i):
    shift = 0
    v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7


def pb_fields(buf):
    """Protobuf wire format -> list of (field number, wire type, value)."""
    out = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = bytes(buf[i:i + n]), i + n
        elif wt == 5:
            v, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def decode_status(buf):
    """google.rpc.Status bytes -> {"code", "message", "details": [type urls]}."""
    st = {"code": 0, "message": "", "details": []}
    for num, _, v in pb_fields(buf):
        if num == 1:
            st["code"] = v
        elif num == 2:
            st["message"] = v.decode()
        elif num == 3:
            st["details"].append(dict((n, x) for n, _, x in pb_fields(v)).get(1, b"").decode())
    return st


def decode_export_response(buf):
    """ExportTraceServiceResponse bytes -> {} or {"partialSuccess": {"rejectedSpans": int,
    "errorMessage": str}}."""
    out = {}
    for num, _, v in pb_fields(buf):
        if num == 1:
            ps = {"rejectedSpans": 0, "errorMessage": ""}
            for n, _, x in pb_fields(v):
                if n == 1:
                    ps["rejectedSpans"] = x
                elif n == 2:
                    ps["errorMessage"] = x.decode()
            out["partialSuccess"] = ps
    return out
