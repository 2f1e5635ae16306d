"""The OpenTelemetry Collector used as a real OTLP receiver (collector.py):
spans sent to it over OTLP/HTTP (JSON and protobuf) and OTLP/gRPC come back
out of its file exporter with the ids, name, kind, attributes, resource and
scope they were sent with. Skipped when the collector has not been built
(test/collector/build.sh, or $OTELCOL_BIN).

The requests are written here by hand from the OTLP specification (field
numbers of opentelemetry.proto.*, the OTLP/JSON mapping), so these tests do
not depend on tracegate's exporter.
"""

import json
import os
import shutil
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from collector import collector  # noqa: F401  (fixture)

GRPC_EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def new_ids():
    return os.urandom(16).hex(), os.urandom(8).hex(), os.urandom(8).hex()


# --- a minimal protobuf writer (proto3 wire format) -----------------------------

def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1  # negative int64 is encoded as its 64-bit two's complement
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def pb_len(field, data):
    if isinstance(data, str):
        data = data.encode()
    return _key(field, 2) + _varint(len(data)) + data


def pb_varint(field, n):
    return _key(field, 0) + _varint(n)


def pb_fixed64(field, n):
    return _key(field, 1) + struct.pack("<Q", n)


def pb_fixed32(field, n):
    return _key(field, 5) + struct.pack("<I", n)


def pb_double(field, x):
    return _key(field, 1) + struct.pack("<d", x)


def pb_any_value(v):
    # AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4
    if isinstance(v, bool):
        return pb_varint(2, int(v))
    if isinstance(v, int):
        return pb_varint(3, v)
    if isinstance(v, float):
        return pb_double(4, v)
    return pb_len(1, v)


def pb_key_value(k, v):
    # KeyValue: key 1, value 2
    return pb_len(1, k) + pb_len(2, pb_any_value(v))


def pb_export_request(trace_id, span_id, parent_id, name, attrs, resource_attrs, scope,
                      start_ns, end_ns, kind=2, flags=0x301):
    span = (pb_len(1, bytes.fromhex(trace_id)) + pb_len(2, bytes.fromhex(span_id))
            + pb_len(4, bytes.fromhex(parent_id)) + pb_len(5, name) + pb_varint(6, kind)
            + pb_fixed64(7, start_ns) + pb_fixed64(8, end_ns)
            + b"".join(pb_len(9, pb_key_value(k, v)) for k, v in attrs.items())
            + pb_len(15, pb_varint(3, 1))  # Status.code = STATUS_CODE_OK
            + pb_fixed32(16, flags))
    scope_msg = pb_len(1, scope[0]) + pb_len(2, scope[1])  # InstrumentationScope
    scope_spans = pb_len(1, scope_msg) + pb_len(2, span)
    resource = b"".join(pb_len(1, pb_key_value(k, v)) for k, v in resource_attrs.items())
    resource_spans = pb_len(1, resource) + pb_len(2, scope_spans)
    return pb_len(1, resource_spans)  # ExportTraceServiceRequest.resource_spans


# --- OTLP/JSON ---------------------------------------------------------------------

def json_any_value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}  # int64 is a decimal string in OTLP/JSON
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def json_export_request(trace_id, span_id, parent_id, name, attrs, resource_attrs, scope,
                        start_ns, end_ns, kind=2):
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": k, "value": json_any_value(v)}
                                    for k, v in resource_attrs.items()]},
        "scopeSpans": [{
            "scope": {"name": scope[0], "version": scope[1]},
            "spans": [{
                "traceId": trace_id, "spanId": span_id, "parentSpanId": parent_id,
                "name": name, "kind": kind,
                "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(end_ns),
                "attributes": [{"key": k, "value": json_any_value(v)}
                               for k, v in attrs.items()],
                "status": {"code": 1},
            }],
        }],
    }]}


def post(url, body, content_type):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type"), resp.read()


def sample(transport):
    trace_id, span_id, parent_id = new_ids()
    now = time.time_ns()
    return dict(trace_id=trace_id, span_id=span_id, parent_id=parent_id,
                name="GET /peer-" + transport,
                attrs={"http.request.method": "GET", "http.response.status_code": 200,
                       "peer.transport": transport, "peer.ratio": 0.25, "peer.ok": True},
                resource_attrs={"service.name": "collector-peer-test",
                                "peer.pid": os.getpid()},
                scope=("tracegate.test", "1.2.3"), start_ns=now - 1500000, end_ns=now)


def check_span(collector, s):  # noqa: F811
    spans = collector.wait_spans(1, timeout=10, pred=lambda x: x["traceId"] == s["trace_id"])
    assert len(spans) == 1, spans
    (span,) = spans
    assert span["spanId"] == s["span_id"]
    assert span["parentSpanId"] == s["parent_id"]
    assert span["name"] == s["name"]
    assert span["kind"] == 2  # SPAN_KIND_SERVER
    assert int(span["startTimeUnixNano"]) == s["start_ns"]
    assert int(span["endTimeUnixNano"]) == s["end_ns"]
    assert span["attrs"] == s["attrs"]
    assert span["resource_attrs"] == s["resource_attrs"]
    assert span["scope"]["name"] == s["scope"][0]
    assert span["scope"]["version"] == s["scope"][1]
    assert span["status"].get("code") == 1
    return span


def test_otlp_http_json(collector):  # noqa: F811
    s = sample("http/json")
    status, ctype, body = post(collector.traces_url,
                               json.dumps(json_export_request(**s)).encode(),
                               "application/json")
    assert status == 200
    assert ctype.startswith("application/json")
    assert json.loads(body).get("partialSuccess", {}).get("rejectedSpans", 0) == 0
    check_span(collector, s)


def test_otlp_http_protobuf(collector):  # noqa: F811
    s = sample("http/protobuf")
    status, ctype, _ = post(collector.traces_url, pb_export_request(**s),
                            "application/x-protobuf")
    assert status == 200
    assert ctype.startswith("application/x-protobuf")
    span = check_span(collector, s)
    assert span["flags"] == 0x301


def test_otlp_http_rejects_bad_trace_id(collector):  # noqa: F811
    """The receiver validates what it is sent, so a wrong request can fail a test."""
    s = sample("http/json")
    req = json_export_request(**s)
    req["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "not-hex"
    with pytest.raises(urllib.error.HTTPError) as e:
        post(collector.traces_url, json.dumps(req).encode(), "application/json")
    assert e.value.code == 400
    good = sample("http/json")
    post(collector.traces_url, json.dumps(json_export_request(**good)).encode(),
         "application/json")
    check_span(collector, good)
    assert [x for x in collector.spans() if x["traceId"] == s["trace_id"]] == []


def _curl_has_http2():
    curl = shutil.which("curl")
    if not curl:
        return False
    out = subprocess.run([curl, "-V"], capture_output=True, text=True).stdout
    return "HTTP2" in out.split()


@pytest.mark.skipif(not _curl_has_http2(), reason="needs curl with HTTP/2 (h2c) for gRPC")
def test_otlp_grpc(collector, tmp_path):  # noqa: F811
    """OTLP/gRPC without a gRPC library: one unary call over cleartext HTTP/2
    (curl), the message in the gRPC length-prefixed framing."""
    s = sample("grpc")
    msg = pb_export_request(**s)
    body = tmp_path / "grpc-request.bin"
    body.write_bytes(b"\x00" + struct.pack(">I", len(msg)) + msg)
    headers = tmp_path / "grpc-headers.txt"
    reply = tmp_path / "grpc-reply.bin"
    subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10",
                    "-H", "Content-Type: application/grpc", "-H", "TE: trailers",
                    "--data-binary", "@%s" % body, "-D", str(headers), "-o", str(reply),
                    collector.grpc_endpoint + GRPC_EXPORT_PATH],
                   check=True, stdin=subprocess.DEVNULL, timeout=30)
    hdrs = headers.read_text().lower()
    assert "content-type: application/grpc" in hdrs, hdrs
    # grpc-status arrives in the trailers, which curl adds to the header dump.
    assert "grpc-status: 0" in hdrs, hdrs
    data = reply.read_bytes()
    assert data[:1] == b"\x00" and struct.unpack(">I", data[1:5])[0] == len(data) - 5
    check_span(collector, s)


def test_collector_stops_by_pid(tmp_path):
    """stop() ends the process (SIGTERM by PID) and the file output is complete."""
    from collector import otelcol_bin, start_collector, _missing_reason
    binary = otelcol_bin()
    reason = _missing_reason(binary, "the OpenTelemetry Collector", "build.sh", "OTELCOL_BIN")
    if reason:
        pytest.skip(reason)
    c = start_collector(tmp_path, binary)
    try:
        s = sample("http/json")
        post(c.traces_url, json.dumps(json_export_request(**s)).encode(), "application/json")
        check_span(c, s)
    finally:
        rc = c.stop()
    assert rc == 0, c.log()
    with pytest.raises(ProcessLookupError):
        os.kill(c.pid, 0)
    assert [x["traceId"] for x in c.spans()] == [s["trace_id"]]
