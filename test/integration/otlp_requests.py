"""OTLP trace export requests written by hand from the OTLP specification
(the field numbers of opentelemetry.proto.*, and the OTLP/JSON mapping), for
the tests of the receivers in collector.py: they do not depend on tracegate's
own exporter."""

import os
import shutil
import struct
import subprocess
import time
import urllib.request

GRPC_EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def new_ids():
    """A random trace id, span id and parent span id (hex)."""
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
    """The fields of one server span with fresh random ids, for
    json_export_request/pb_export_request and for checking what comes out."""
    trace_id, span_id, parent_id = new_ids()
    now = time.time_ns()
    return dict(trace_id=trace_id, span_id=span_id, parent_id=parent_id,
                name="GET /peer-" + transport,
                attrs={"http.request.method": "GET", "http.response.status_code": 200,
                       "peer.transport": transport, "peer.ratio": 0.25, "peer.ok": True},
                resource_attrs={"service.name": "collector-peer-test",
                                "peer.pid": os.getpid()},
                scope=("tracegate.test", "1.2.3"), start_ns=now - 1500000, end_ns=now)


def curl_has_http2():
    """Whether curl can speak cleartext HTTP/2, which grpc_export needs."""
    curl = shutil.which("curl")
    if not curl:
        return False
    out = subprocess.run([curl, "-V"], capture_output=True, text=True).stdout
    return "HTTP2" in out.split()


def grpc_export(endpoint, request, tmp_path):
    """One OTLP/gRPC Export call without a gRPC library: a unary call over
    cleartext HTTP/2 (curl), the message in gRPC's length-prefixed framing.
    Returns (response headers and trailers as lower-case text, reply bytes)."""
    body = tmp_path / "grpc-request.bin"
    body.write_bytes(b"\x00" + struct.pack(">I", len(request)) + request)
    headers = tmp_path / "grpc-headers.txt"
    reply = tmp_path / "grpc-reply.bin"
    subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10",
                    "-H", "Content-Type: application/grpc", "-H", "TE: trailers",
                    "--data-binary", "@%s" % body, "-D", str(headers), "-o", str(reply),
                    endpoint + GRPC_EXPORT_PATH],
                   check=True, stdin=subprocess.DEVNULL, timeout=30)
    return headers.read_text().lower(), reply.read_bytes()
