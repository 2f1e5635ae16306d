"""tracegate's spans through the backends users run: a real OpenTelemetry
Collector (built from its Go modules, otlp receiver on HTTP and gRPC, file
exporter) over every protocol, and Jaeger v2, where the trace is read back
through its query API the way a user finds it.
"""

import json
import os
import signal
import subprocess

import pytest

from collector import collector, jaeger, otelcol_bin, start_collector  # noqa: F401
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


# ---- TLS --------------------------------------------------------------------

def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        (d / (name + ".ext")).write_text(ext + "\n")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
            "-keyout", name + ".key", "-out", name + ".csr")
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem")
    return {k: str(d / v) for k, v in (("ca", "ca.pem"), ("server_cert", "server.pem"),
                                        ("server_key", "server.key"), ("client_cert", "client.pem"),
                                        ("client_key", "client.key"))}


@pytest.fixture
def tls_collector(tmp_path):
    binary = otelcol_bin()
    if not os.path.exists(binary):
        pytest.skip("the test collector is not built (test/collector/build.sh)")
    pki = make_pki(tmp_path)
    c = start_collector(tmp_path, binary, tls={"cert_file": pki["server_cert"],
                                               "key_file": pki["server_key"],
                                               "client_ca_file": pki["ca"]})
    try:
        yield c, pki
    finally:
        c.stop()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_mutual_tls_to_the_collector(start_tracegate, upstream, tls_collector, protocol):
    """https:// (and gRPC over TLS with ALPN h2): the collector's certificate
    checked against OTEL_EXPORTER_OTLP_CERTIFICATE, tracegate's client
    certificate checked by the collector."""
    c, pki = tls_collector
    tg = start_tg(start_tracegate, upstream, {
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": c.grpc_endpoint if protocol == "grpc" else c.http_endpoint,
        "OTEL_EXPORTER_OTLP_CERTIFICATE": pki["ca"],
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": pki["client_cert"],
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": pki["client_key"]})
    assert c.http_endpoint.startswith("https://")
    resp = request(tg.port, "GET", "/bytes/3")
    trace_id = resp.get("traceresponse").split("-")[1]
    spans = c.wait_spans(2, timeout=15)
    assert {s["traceId"] for s in spans} == {trace_id}


def test_untrusted_collector_certificate_is_not_retried(start_tracegate, upstream,
                                                        tls_collector):
    c, pki = tls_collector
    tg = start_tg(start_tracegate, upstream, {
        "OTEL_EXPORTER_OTLP_ENDPOINT": c.http_endpoint,
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": pki["client_cert"],
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": pki["client_key"]})  # no CA: the system's
    assert request(tg.port, "GET", "/bytes/3").status == 200
    line = tg.stderr.wait_for(lambda l: "span export:" in l, 10, "the export failure")
    assert "not retryable" in line and "certificate" in line.lower()
    tg.signal(signal.SIGTERM)
    tg.wait_exit(20)
    tg.expect_exit = True
    totals = tg.stderr.wait_for(lambda l: "tracing totals" in l, 5, "totals")
    t = json.loads(totals.split("tracing totals ", 1)[1])
    assert t["spans_dropped_not_retryable"] == 2 and t["export_requests"] == 1
    assert c.spans() == []
