"""tracegate's spans through the backends users run: a real OpenTelemetry
Collector (built from its Go modules, otlp receiver on HTTP and gRPC, file
exporter) over every protocol, and Jaeger v2, where the trace is read back
through its query API the way a user finds it.
"""

import pytest

from collector import collector, jaeger  # noqa: F401  (fixtures)
from rawhttp import request


def start_tg(start_tracegate, upstream, env):
    e = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_BSP_SCHEDULE_DELAY": "100",
         "OTEL_SERVICE_NAME": "edge-gw"}
    e.update(env)
    return start_tracegate("--upstream", upstream.url, "--access-log", "off", env=e)


@pytest.mark.parametrize("protocol,gzip", [
    ("http/protobuf", False), ("http/protobuf", True), ("http/json", False), ("grpc", False),
    ("grpc", True),
])
def test_collector_receives_spans_intact(start_tracegate, upstream, collector, protocol, gzip):
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
           "OTEL_EXPORTER_OTLP_ENDPOINT": collector.grpc_endpoint if protocol == "grpc"
           else collector.http_endpoint}
    if gzip:
        env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip"
    tg = start_tg(start_tracegate, upstream, env)
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    resp = request(tg.port, "GET", "/status/502", headers=[("traceparent", parent)])
    assert resp.status == 502
    spans = collector.wait_spans(2, timeout=15)
    by_kind = {s["kind"]: s for s in spans}
    server, client = by_kind[2], by_kind[3]
    assert server["traceId"] == client["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert server["parentSpanId"] == "00f067aa0ba902b7"
    assert client["parentSpanId"] == server["spanId"]
    assert resp.get("traceresponse").split("-")[2] == server["spanId"]
    assert server["flags"] == 0x301 and client["flags"] == 0x101
    assert server["name"] == client["name"] == "GET /*"
    assert server["attrs"]["http.response.status_code"] == 502
    assert server["attrs"]["url.path"] == "/status/502"
    assert client["attrs"]["http.response.status_code"] == 502
    assert client["status"]["code"] == 2
    assert int(server["startTimeUnixNano"]) <= int(client["startTimeUnixNano"])
    assert server["resource_attrs"]["service.name"] == "edge-gw"
    assert server["resource_attrs"]["telemetry.sdk.name"] == "tracegate"
    assert server["scope"]["name"] == "tracegate"


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_jaeger_shows_the_trace(start_tracegate, upstream, jaeger, protocol):
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
           "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.grpc_endpoint if protocol == "grpc"
           else jaeger.http_endpoint}
    tg = start_tg(start_tracegate, upstream, env)
    resp = request(tg.port, "GET", "/bytes/3")
    assert resp.status == 200
    trace_id = resp.get("traceresponse").split("-")[1]
    trace = jaeger.wait_trace(trace_id, n_spans=2, timeout=15)
    spans = {s["spanID"]: s for s in trace["spans"]}
    assert len(spans) == 2
    assert [s["operationName"] for s in spans.values()] == ["GET /*", "GET /*"]
    kind = {s["spanID"]: next(t["value"] for t in s["tags"] if t["key"] == "span.kind")
            for s in spans.values()}
    server = next(s for s in spans.values() if kind[s["spanID"]] == "server")
    client = next(s for s in spans.values() if kind[s["spanID"]] == "client")
    assert client["references"][0]["spanID"] == server["spanID"]
    assert client["references"][0]["refType"] == "CHILD_OF"
    service = trace["processes"][server["processID"]]["serviceName"]
    assert service == "edge-gw"
