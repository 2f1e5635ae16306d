"""OTLP export to a receiver built on the official OpenTelemetry schema
(test/interop/otlp/receiver.js): every protocol, field by field against the
official JS serializer, and delivery under faults — retries, Retry-After,
non-retryable answers, partial success, hangs, resets, a receiver that goes
away and comes back — with exact delivered and dropped counts, and proxying
unaffected throughout.
"""

import json
import os
import signal
import statistics
import time
from datetime import datetime

import psutil
import pytest

from conftest import wait_until
from otlp_receiver import encode_js, start_receiver  # noqa: F401  (fixture)
from rawhttp import request

FAST = {"OTEL_BSP_SCHEDULE_DELAY": "100"}


def start_tg(start_tracegate, upstream, rx, protocol="http/protobuf", env=None, config=None):
    e = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
         "OTEL_EXPORTER_OTLP_ENDPOINT": rx.grpc_url if protocol == "grpc" else rx.http_url}
    e.update(FAST)
    e.update(env or {})
    if config is not None:
        cfg = dict(config, upstream=upstream.url, access_log="off")
        return start_tracegate(config=cfg, env=e)
    return start_tracegate("--upstream", upstream.url, "--access-log", "off", env=e)


def hit(tg, n=1, path="/bytes/3"):
    for _ in range(n):
        assert request(tg.port, "GET", path).status == 200


def totals(tg, timeout=20):
    tg.signal(signal.SIGTERM)
    tg.wait_exit(timeout)
    tg.expect_exit = True
    line = tg.stderr.wait_for(lambda l: "tracing totals" in l, 5, "tracing totals")
    return json.loads(line.split("tracing totals ", 1)[1])


def lost(t):
    return (t["spans_rejected"] + t["spans_dropped_not_retryable"] +
            t["spans_dropped_retries_exhausted"] + t["spans_dropped_deadline"])


def accounted(t):
    """Every queued span is exported or lost for a named reason."""
    assert t["spans_queued"] == t["spans_exported"] + lost(t), t


# ---- the wire ---------------------------------------------------------------

@pytest.mark.parametrize("protocol,gzip", [
    ("http/protobuf", False), ("http/protobuf", True), ("http/json", False),
    ("http/json", True), ("grpc", False), ("grpc", True),
])
def test_spans_arrive_over_each_protocol(start_tracegate, upstream, start_receiver, protocol,
                                         gzip):
    rx = start_receiver()
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=s3cr%3Dt,x-team=edge",
           "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging",
           "OTEL_SERVICE_NAME": "edge-gw"}
    if gzip:
        env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip"
    tg = start_tg(start_tracegate, upstream, rx, protocol, env)
    resp = request(tg.port, "GET", "/bytes/3?x=1")
    assert resp.status == 200
    trace_id = resp.get("traceresponse").split("-")[1]
    reqs = rx.wait_requests(1, pred=lambda r: r["span_count"] > 0)
    r = reqs[0]
    assert r["protocol"] == protocol and r["decode_error"] is None, r
    assert r["warnings"] == []
    assert r["content_encoding"] == ("gzip" if gzip else None)
    assert r["headers"]["x-api-key"] == "s3cr=t" and r["headers"]["x-team"] == "edge"
    assert "OTel-OTLP-Exporter-C" in r["headers"]["user-agent"]
    if protocol == "grpc":
        assert r["headers"]["te"] == "trailers"
        assert r["headers"]["grpc-timeout"].endswith("m")
    else:
        assert r["path"] == "/v1/traces"
    rs = r["resource_spans"][0]
    attrs = rs["resource"]["attrs"]
    assert attrs["service.name"] == "edge-gw"
    assert attrs["deployment.environment.name"] == "staging"
    assert attrs["telemetry.sdk.name"] == "tracegate"
    assert attrs["telemetry.sdk.language"] == "c"
    assert attrs["process.pid"] == tg.pid
    assert attrs["host.name"] and attrs["service.version"]
    scope = rs["scopeSpans"][0]["scope"]
    assert scope["name"] == "tracegate" and scope["version"] == attrs["service.version"]
    spans = wait_until(lambda: len(rx.spans()) >= 2 and rx.spans(), 10, "both spans")
    by_kind = {s["kind"]: s for s in spans}
    server, client = by_kind[2], by_kind[3]
    assert server["traceId"] == client["traceId"] == trace_id
    assert client["parentSpanId"] == server["spanId"] and server["parentSpanId"] == ""
    # sampled + random (a trace tracegate started), parent not remote
    assert server["flags"] == 0x103 and client["flags"] == 0x103
    assert server["attrs"]["http.request.method"] == "GET"
    assert server["attrs"]["http.response.status_code"] == 200
    assert server["attrs"]["url.path"] == "/bytes/3"
    assert client["attrs"]["http.response.status_code"] == 200
    assert int(server["endTimeUnixNano"]) >= int(client["endTimeUnixNano"]) >= \
        int(client["startTimeUnixNano"]) >= int(server["startTimeUnixNano"])
    assert rx.stats()["spans_accepted"] == 2
    t = totals(tg)
    assert t["spans_exported"] == 2 and lost(t) == 0 and t["export_retries"] == 0


def describe(rs):
    """A span description for encode_js.js from what the receiver decoded."""
    def plain(kvs):
        out = {}
        for kv in kvs:
            v = kv["value"]
            if "stringValue" in v:
                out[kv["key"]] = v["stringValue"]
            elif "boolValue" in v:
                out[kv["key"]] = v["boolValue"]
            elif "intValue" in v:
                out[kv["key"]] = int(v["intValue"])
            else:
                out[kv["key"]] = v["doubleValue"]
        return out
    ss = rs["scopeSpans"][0]
    spans = []
    for s in ss["spans"]:
        d = {k: s[k] for k in ("traceId", "spanId", "name", "kind", "startTimeUnixNano",
                               "endTimeUnixNano", "flags", "status", "droppedAttributesCount",
                               "droppedEventsCount")}
        if s["parentSpanId"]:
            d["parentSpanId"] = s["parentSpanId"]
        if s["traceState"]:
            d["traceState"] = s["traceState"]
        d["attributes"] = plain(s["attributes"])
        d["events"] = [{"name": e["name"], "timeUnixNano": e["timeUnixNano"]}
                       for e in s["events"]]
        d["links"] = [{"traceId": l["traceId"], "spanId": l["spanId"], "flags": l["flags"],
                       "traceState": l["traceState"]} for l in s["links"]]
        spans.append(d)
    return {"resource": {"attributes": plain(rs["resource"]["attributes"])},
            "scope": {"name": ss["scope"]["name"], "version": ss["scope"]["version"]},
            "spans": spans}


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_same_bytes_as_the_official_js_exporter(start_tracegate, upstream, start_receiver,
                                                tmp_path, protocol):
    """The official JS serializer, given the same span data, produces a
    request that decodes to exactly what tracegate sent: ids, flags (remote
    parent), kinds, times, typed attributes in order, events, links, status."""
    rx = start_receiver()
    tg = start_tg(start_tracegate, upstream, rx, protocol,
                  config={"tracing": {"trust": "continue"},
                          "routes": [{"prefix": "/r", "upstream": upstream.url,
                                      "strip_prefix": True, "trust": "restart"}]})
    hdr = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
           ("tracestate", "rojo=00f067aa0ba902b7")]
    assert request(tg.port, "GET", "/bytes/3", headers=hdr).status == 200
    assert request(tg.port, "GET", "/r/status/503", headers=hdr).status == 503
    wait_until(lambda: len(rx.spans()) >= 4, 10, "four spans")
    ours = [rs for r in rx.requests() for rs in r["resource_spans"]]
    merged = dict(ours[0])
    merged["scopeSpans"] = [dict(ours[0]["scopeSpans"][0],
                                 spans=[s for rs in ours for s in rs["scopeSpans"][0]["spans"]])]
    official, _, _ = encode_js(describe(merged), tmp_path)
    theirs = official["resource_spans"][0]
    assert theirs["resource"]["attributes"] == merged["resource"]["attributes"]
    assert theirs["scopeSpans"][0]["scope"]["name"] == "tracegate"
    want = merged["scopeSpans"][0]["spans"]
    got = theirs["scopeSpans"][0]["spans"]
    assert len(got) == len(want) == 4
    for w, g in zip(want, got):
        assert g == w
    # The cases the comparison must have covered:
    assert any(s["flags"] == 0x301 for s in want)                  # remote parent
    assert any(s["links"] and s["links"][0]["flags"] == 0x301 for s in want)  # restart link
    assert any(s["status"]["code"] == 2 for s in want)             # error status
    assert any(s["traceState"] == "rojo=00f067aa0ba902b7" for s in want)


# ---- delivery under faults -----------------------------------------------------

def test_429_with_retry_after_is_retried_after_the_delay(start_tracegate, upstream,
                                                         start_receiver):
    rx = start_receiver()
    rx.control(mode="status", code=429, retry_after="2", times=1)
    tg = start_tg(start_tracegate, upstream, rx)
    hit(tg, 3)
    reqs = rx.wait_requests(2, timeout=15)
    assert reqs[0]["response"]["status"] == 429 and reqs[1]["response"]["status"] == 200
    gap = _time(reqs[1]) - _time(reqs[0])
    assert gap >= 1.9, gap  # Retry-After: 2 was honoured, not the 1 s backoff
    assert reqs[1]["span_count"] == reqs[0]["span_count"] == 6
    t = totals(tg)
    assert t["spans_exported"] == 6 and t["export_retries"] == 1 and t["export_requests"] == 2
    accounted(t)


def test_retry_after_as_an_http_date(start_tracegate, upstream, start_receiver):
    rx = start_receiver()
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3))
    rx.control(mode="status", code=503, retry_after=when, times=1)
    tg = start_tg(start_tracegate, upstream, rx)
    hit(tg)
    reqs = rx.wait_requests(2, timeout=15)
    assert _time(reqs[1]) - _time(reqs[0]) >= 1.5
    assert reqs[1]["response"]["status"] == 200


def _time(r):
    return datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def test_503_twice_then_success_delivers_everything(start_tracegate, upstream, start_receiver):
    rx = start_receiver()
    rx.control(mode="status", code=503, times=2)
    tg = start_tg(start_tracegate, upstream, rx)
    hit(tg, 2)
    rx.wait_requests(3, timeout=15)
    assert rx.stats()["spans_accepted"] == 4
    t = totals(tg)
    assert t["spans_exported"] == 4 and t["export_retries"] == 2 and lost(t) == 0


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_400_is_not_retried_and_is_counted(start_tracegate, upstream, start_receiver, protocol):
    rx = start_receiver()
    rx.control(mode="status", code=400, message="no spans for you", times=1)
    tg = start_tg(start_tracegate, upstream, rx, protocol)
    hit(tg, 2)
    rx.wait_requests(1)
    line = tg.stderr.wait_for(lambda l: "span export:" in l, 10, "the export failure log line")
    assert "no spans for you" in line and "not retryable" in line
    hit(tg)  # the next batch goes through
    wait_until(lambda: rx.stats()["spans_accepted"] == 2, 10, "the next batch")
    t = totals(tg)
    assert t["spans_dropped_not_retryable"] == 4 and t["spans_exported"] == 2
    assert t["export_requests"] == 2 and t["export_retries"] == 0
    accounted(t)


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json", "grpc"])
def test_partial_success_counts_rejected_spans(start_tracegate, upstream, start_receiver,
                                               protocol):
    rx = start_receiver()
    rx.control(mode="partial", rejected=1, message="span name too long", times=1)
    tg = start_tg(start_tracegate, upstream, rx, protocol)
    hit(tg, 2)
    rx.wait_requests(1)
    line = tg.stderr.wait_for(lambda l: "partial success" in l, 10, "the partial-success log")
    assert "span name too long" in line
    t = totals(tg)
    assert t["spans_rejected"] == 1 and t["spans_exported"] == 3 and t["export_retries"] == 0
    accounted(t)


def test_grpc_unavailable_is_retried_and_resource_exhausted_only_with_retry_info(
        start_tracegate, upstream, start_receiver):
    rx = start_receiver()
    rx.control(mode="status", code=503, times=1)            # UNAVAILABLE
    tg = start_tg(start_tracegate, upstream, rx, "grpc")
    hit(tg)
    rx.wait_requests(2, timeout=15)
    rx.control(mode="status", code=429, times=1)            # RESOURCE_EXHAUSTED, no RetryInfo
    hit(tg)
    rx.wait_requests(3, timeout=15)
    rx.control(mode="status", code=429, retry_after="1", times=1)  # with RetryInfo
    hit(tg)
    reqs = rx.wait_requests(5, timeout=15)
    assert [r["response"]["grpc_status"] for r in reqs] == [
        "UNAVAILABLE", "OK", "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED", "OK"]
    assert _time(reqs[4]) - _time(reqs[3]) >= 0.9
    t = totals(tg)
    assert t["spans_exported"] == 4 and t["spans_dropped_not_retryable"] == 2
    assert t["export_retries"] == 2
    accounted(t)


def test_hang_past_the_timeout_gives_up_within_the_export_timeout(start_tracegate, upstream,
                                                                  start_receiver):
    rx = start_receiver()
    rx.control(mode="hang", ms=10000)
    tg = start_tg(start_tracegate, upstream, rx, env={"OTEL_EXPORTER_OTLP_TIMEOUT": "1500"})
    # Proxying does not wait for the exporter.
    t0 = time.monotonic()
    hit(tg, 20)
    assert time.monotonic() - t0 < 5
    line = tg.stderr.wait_for(lambda l: "span export:" in l, 10, "the give-up log line")
    assert "retries exhausted" in line
    rx.control(mode="ok")
    hit(tg)
    wait_until(lambda: rx.stats()["spans_accepted"] >= 2, 15, "delivery after the hang")
    t = totals(tg)
    assert t["spans_dropped_retries_exhausted"] >= 2
    assert t["spans_exported"] + t["spans_dropped_retries_exhausted"] == 42
    accounted(t)


def test_connection_reset_is_retried(start_tracegate, upstream, start_receiver):
    rx = start_receiver()
    rx.control(mode="reset", times=1)
    tg = start_tg(start_tracegate, upstream, rx)
    hit(tg, 2)
    reqs = rx.wait_requests(2, timeout=15)
    assert reqs[0]["response"].get("reset") is True
    assert reqs[1]["response"]["status"] == 200 and reqs[1]["span_count"] == 4
    t = totals(tg)
    assert t["spans_exported"] == 4 and t["export_retries"] == 1


def test_one_kept_alive_connection_serves_many_exports(start_tracegate, upstream,
                                                       start_receiver):
    rx = start_receiver()
    tg = start_tg(start_tracegate, upstream, rx)
    ports = set()
    for i in range(4):
        hit(tg)
        wait_until(lambda: rx.stats()["requests"] >= i + 1, 10, "export %d" % (i + 1))
        conns = [c for c in psutil.Process(tg.pid).connections("tcp")
                 if c.raddr and c.raddr.port == rx.http_port]
        ports.update(c.laddr.port for c in conns)
    assert len(ports) == 1, ports


def test_receiver_down_for_30s_then_back(start_tracegate, upstream, start_receiver):
    """Proxying is unaffected while the receiver is gone; batches that run
    out of time are dropped and counted; delivery resumes when it returns;
    the queue (and memory) stays bounded."""
    rx = start_receiver()
    tg = start_tg(start_tracegate, upstream, rx,
                  env={"OTEL_EXPORTER_OTLP_TIMEOUT": "3000", "OTEL_BSP_MAX_QUEUE_SIZE": "256",
                       "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "64"})
    # Baseline latency with a healthy receiver (200 spans: they fit in the
    # queue however slowly this build exports).
    base = []
    for _ in range(100):
        t0 = time.monotonic()
        hit(tg)
        base.append(time.monotonic() - t0)
    wait_until(lambda: rx.stats()["spans_accepted"] == 200, 15, "baseline delivered")
    rss0 = psutil.Process(tg.pid).memory_info().rss
    rx.down()
    down_at = time.monotonic()
    during, errors = [], 0
    while time.monotonic() - down_at < 30:
        t0 = time.monotonic()
        if request(tg.port, "GET", "/bytes/3").status != 200:
            errors += 1
        during.append(time.monotonic() - t0)
    rss1 = psutil.Process(tg.pid).memory_info().rss
    rx.up()
    hit(tg, 10)
    wait_until(lambda: rx.stats()["spans_accepted"] >= 220, 20, "delivery after the outage")
    assert errors == 0
    assert statistics.median(during) < max(3 * statistics.median(base), 0.005), \
        (statistics.median(base), statistics.median(during))
    # Thousands of spans were made while it was down; the queue held 256.
    # (Not under AddressSanitizer, whose quarantine keeps freed memory.)
    if "ASAN_OPTIONS" not in os.environ:
        assert rss1 - rss0 < 16 * 1024 * 1024, (rss0, rss1)
    t = totals(tg)
    accounted(t)
    assert t["spans_dropped_queue_full"] > 0
    assert t["spans_dropped_retries_exhausted"] > 0
    assert t["spans_exported"] == rx.stats()["spans_accepted"]
    made = 2 * (100 + len(during) + 10)
    assert t["spans_started"] == made
    assert t["spans_queued"] + t["spans_dropped_queue_full"] + t["spans_dropped_shutdown"] == made
    # Export trouble was logged, but not once per batch.
    logged = [l for l in tg.stderr.lines() if "span export:" in l]
    assert 1 <= len(logged) <= 5, logged


def test_shutdown_flushes_every_queued_span(start_tracegate, upstream, start_receiver):
    rx = start_receiver()
    tg = start_tg(start_tracegate, upstream, rx, env={"OTEL_BSP_SCHEDULE_DELAY": "60000"})
    hit(tg, 25)
    assert rx.stats()["requests"] == 0  # nothing sent yet: the timer is a minute
    t = totals(tg)
    assert t["spans_exported"] == 50 and lost(t) == 0
    assert rx.stats()["spans_accepted"] == 50


def test_shutdown_is_bounded_when_the_receiver_hangs(start_tracegate, upstream, start_receiver):
    rx = start_receiver()
    rx.control(mode="hang", ms=60000)
    tg = start_tg(start_tracegate, upstream, rx,
                  env={"OTEL_BSP_SCHEDULE_DELAY": "60000"},
                  config={"tracing": {"shutdown_timeout_ms": 1000}})
    hit(tg, 5)
    t0 = time.monotonic()
    t = totals(tg)
    assert time.monotonic() - t0 < 5
    assert t["spans_dropped_deadline"] == 10 and t["spans_exported"] == 0
    accounted(t)
