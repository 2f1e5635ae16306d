"""Jaeger v2 used as a real OTLP receiver (collector.py): spans sent to it over
OTLP/HTTP (JSON and protobuf) and OTLP/gRPC can be read back through its query
API (/api/traces/<id>) with the ids, name, parent, timing, attributes and
resource they were sent with. Skipped when Jaeger has not been built
(test/collector/build-jaeger.sh, or $JAEGER_BIN). The requests are written
by hand (otlp_requests.py), so these tests do not depend on tracegate's
exporter.
"""

import json
import os

import pytest

from collector import jaeger  # noqa: F401  (fixture)
from otlp_requests import (curl_has_http2, grpc_export, json_export_request,
                           pb_export_request, post, sample)


def tags(items):
    return {t["key"]: t["value"] for t in items}


def check_trace(jaeger, s):  # noqa: F811
    trace = jaeger.wait_trace(s["trace_id"], 1, timeout=10)
    assert trace["traceID"] == s["trace_id"]
    (span,) = trace["spans"]
    assert span["spanID"] == s["span_id"]
    assert span["operationName"] == s["name"]
    assert span["references"] == [{"refType": "CHILD_OF", "traceID": s["trace_id"],
                                   "spanID": s["parent_id"]}]
    # The query API's times are in microseconds.
    assert span["startTime"] == s["start_ns"] // 1000
    assert span["duration"] == (s["end_ns"] - s["start_ns"]) // 1000
    t = tags(span["tags"])
    for k, v in s["attrs"].items():
        assert t[k] == v, (k, t)
    assert t["span.kind"] == "server"
    assert t["otel.scope.name"] == s["scope"][0]
    assert t["otel.scope.version"] == s["scope"][1]
    assert t["otel.status_code"] == "OK"
    process = trace["processes"][span["processID"]]
    assert process["serviceName"] == s["resource_attrs"]["service.name"]
    assert tags(process["tags"])["peer.pid"] == os.getpid()
    return span


def test_jaeger_otlp_http_json(jaeger):  # noqa: F811
    s = sample("http/json")
    status, _, _ = post(jaeger.traces_url, json.dumps(json_export_request(**s)).encode(),
                        "application/json")
    assert status == 200
    check_trace(jaeger, s)


def test_jaeger_otlp_http_protobuf(jaeger):  # noqa: F811
    s = sample("http/protobuf")
    status, _, _ = post(jaeger.traces_url, pb_export_request(**s), "application/x-protobuf")
    assert status == 200
    check_trace(jaeger, s)


@pytest.mark.skipif(not curl_has_http2(), reason="needs curl with HTTP/2 (h2c) for gRPC")
def test_jaeger_otlp_grpc(jaeger, tmp_path):  # noqa: F811
    s = sample("grpc")
    headers, _ = grpc_export(jaeger.grpc_endpoint, pb_export_request(**s), tmp_path)
    assert "grpc-status: 0" in headers, headers
    check_trace(jaeger, s)


def test_jaeger_unknown_trace_is_empty(jaeger):  # noqa: F811
    """A trace id nothing was sent for reads back as no trace (the API's 404)."""
    assert jaeger.traces(os.urandom(16).hex()) == []
