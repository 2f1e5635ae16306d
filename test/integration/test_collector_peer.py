"""The OpenTelemetry Collector used as a real OTLP receiver (collector.py):
spans sent to it over OTLP/HTTP (JSON and protobuf) and OTLP/gRPC come back
out of its file exporter with the ids, name, kind, attributes, resource and
scope they were sent with. Skipped when the collector has not been built
(test/collector/build.sh, or $OTELCOL_BIN). The requests are written by hand
(otlp_requests.py), so these tests do not depend on tracegate's exporter.
"""

import json
import os
import struct
import urllib.error

import pytest

from collector import _missing_reason, collector, otelcol_bin, start_collector  # noqa: F401
from otlp_requests import (curl_has_http2, grpc_export, json_export_request,
                           pb_export_request, post, sample)


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


@pytest.mark.skipif(not curl_has_http2(), reason="needs curl with HTTP/2 (h2c) for gRPC")
def test_otlp_grpc(collector, tmp_path):  # noqa: F811
    s = sample("grpc")
    headers, reply = grpc_export(collector.grpc_endpoint, pb_export_request(**s), tmp_path)
    assert "content-type: application/grpc" in headers, headers
    # grpc-status arrives in the trailers, which curl adds to the header dump.
    assert "grpc-status: 0" in headers, headers
    assert reply[:1] == b"\x00" and struct.unpack(">I", reply[1:5])[0] == len(reply) - 5
    check_span(collector, s)


def test_collector_stops_by_pid(tmp_path):
    """stop() ends the process (SIGTERM by PID) and the file output is complete."""
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
