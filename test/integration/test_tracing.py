"""Tracing end to end: tracegate between a client and a real upstream, spans
read from the console exporter (one OTLP/JSON span per line on stdout), the
context the upstream received read from its /echo answer.

Every request is tagged with a unique query value so that its spans can be
waited for by condition, never by sleeping."""

import json
import re
import signal
import uuid

import pytest

from rawhttp import request

TP_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
IN_TRACE = "0af7651916cd43dd8448eb211c80319c"
IN_PARENT = "b7ad6b7169203331"
CONSOLE = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "20"}


def start(start_tracegate, upstream, env=None, config=None, args=()):
    e = dict(CONSOLE)
    e.update(env or {})
    if config is None:
        return start_tracegate("--upstream", upstream.url, "--access-log", "off", *args, env=e)
    cfg = dict(config)
    cfg.setdefault("access_log", "off")
    return start_tracegate(*args, config=cfg, env=e)


def spans(tg):
    out = []
    for line in tg.stdout.lines():
        if line.startswith('{"traceId"'):
            out.append(json.loads(line))
    return out


def attrs(span):
    out = {}
    for a in span["attributes"]:
        v = a["value"]
        out[a["key"]] = next(iter(v.values()))
    return out


def spans_for(tg, tag, count=2, timeout=5.0):
    """The spans whose url (path or full) carries tag; waits for count."""
    def mine(line):
        return line.startswith('{"traceId"') and tag in line
    tg.stdout.wait_count(mine, count, timeout, "spans tagged %s" % tag)
    got = [s for s in spans(tg) if tag in json.dumps(s)]
    by_kind = {s["kind"]: s for s in got}
    return got, by_kind.get(2), by_kind.get(3)


def forwarded(resp, name):
    return [v for n, v in resp.json()["headers"] if n.lower() == name]


def get(tg, path="/echo", headers=(), method="GET"):
    tag = uuid.uuid4().hex[:12]
    sep = "&" if "?" in path else "?"
    resp = request(tg.port, method, "%s%stag=%s" % (path, sep, tag), headers=headers)
    return resp, tag


def stop_totals(tg):
    tg.signal(signal.SIGTERM)
    tg.wait_exit(10)
    tg.expect_exit = True
    line = tg.stderr.wait_for(lambda l: "tracing totals" in l, 5, "tracing totals")
    return json.loads(line.split("tracing totals ", 1)[1])


# ---- one trace per request ---------------------------------------------------

def test_new_trace_server_and_client_spans_and_propagation(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, tag = get(tg, headers=[("User-Agent", "trace-test/1")])
    assert resp.status == 200
    tp = forwarded(resp, "traceparent")
    assert len(tp) == 1 and TP_RE.match(tp[0]), tp
    trace_id, parent_id, flags = TP_RE.match(tp[0]).groups()
    assert flags == "03", "new trace: sampled + random flags expected, got %s" % flags

    got, server, client = spans_for(tg, tag)
    assert len(got) == 2 and server and client, got
    assert server["traceId"] == client["traceId"] == trace_id
    assert "parentSpanId" not in server, "a new trace's SERVER span is a root"
    assert client["parentSpanId"] == server["spanId"]
    assert client["spanId"] == parent_id, "upstream's parent must be the CLIENT span"
    assert server["name"] == client["name"] == "GET /*"
    assert int(server["startTimeUnixNano"]) <= int(client["startTimeUnixNano"])
    assert int(client["endTimeUnixNano"]) <= int(server["endTimeUnixNano"])

    tr = resp.get("traceresponse")
    assert tr == "00-%s-%s-03" % (trace_id, server["spanId"]), tr

    sa = attrs(server)
    assert sa["http.request.method"] == "GET"
    assert sa["url.path"] == "/echo"
    assert sa["url.query"] == "tag=" + tag
    assert sa["url.scheme"] == "http"
    assert sa["http.route"] == "/*"
    assert sa["http.response.status_code"] == "200"
    assert sa["server.address"] == "test.local"
    assert sa["client.address"] == "127.0.0.1"
    assert sa["network.peer.address"] == "127.0.0.1"
    assert sa["network.protocol.version"] == "1.1"
    assert sa["user_agent.original"] == "trace-test/1"
    assert server["status"]["code"] == 0
    ca = attrs(client)
    assert ca["url.full"] == "%s/echo?tag=%s" % (upstream.url, tag)
    assert ca["server.address"] == "127.0.0.1"
    assert ca["server.port"] == str(upstream.port)
    assert ca["http.response.status_code"] == "200"
    names = [e["name"] for e in client["events"]]
    assert "response.first_byte" in names, client["events"]


def test_inbound_sampled_context_is_continued(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, tag = get(tg, headers=[("traceparent", "00-%s-%s-01" % (IN_TRACE, IN_PARENT))])
    tp = TP_RE.match(forwarded(resp, "traceparent")[0]).groups()
    assert tp[0] == IN_TRACE and tp[2] == "01", tp  # random flag kept as received (0)
    got, server, client = spans_for(tg, tag)
    assert server["traceId"] == IN_TRACE and server["parentSpanId"] == IN_PARENT
    assert server["flags"] & 0x300 == 0x300, "remote parent must be flagged in Span.flags"
    assert client["spanId"] == tp[1]


def test_random_flag_kept_as_received(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, _ = get(tg, headers=[("traceparent", "00-%s-%s-03" % (IN_TRACE, IN_PARENT))])
    assert TP_RE.match(forwarded(resp, "traceparent")[0]).group(3) == "03"


def test_inbound_unsampled_records_nothing_and_forwards_unsampled(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, tag = get(tg, headers=[("traceparent", "00-%s-%s-00" % (IN_TRACE, IN_PARENT))])
    trace_id, parent, flags = TP_RE.match(forwarded(resp, "traceparent")[0]).groups()
    assert trace_id == IN_TRACE and flags == "00" and parent != IN_PARENT
    assert resp.get("traceresponse").endswith("-00")
    # A later sampled request's spans appear; the unsampled one left none.
    _, later = get(tg)
    spans_for(tg, later)
    assert not [s for s in spans(tg) if tag in json.dumps(s)]


@pytest.mark.parametrize("bad", [
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # uppercase
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero parent
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",  # 00 with extra
    "garbage",
])
def test_invalid_traceparent_starts_new_trace_and_is_counted(start_tracegate, upstream, bad):
    tg = start(start_tracegate, upstream)
    resp, tag = get(tg, headers=[("traceparent", bad), ("tracestate", "congo=t61rcWkgMzE")])
    assert resp.status == 200
    trace_id, _, flags = TP_RE.match(forwarded(resp, "traceparent")[0]).groups()
    assert trace_id != IN_TRACE and flags == "03"
    assert forwarded(resp, "tracestate") == [], "tracestate must go with an invalid traceparent"
    _, server, _ = spans_for(tg, tag)
    assert "parentSpanId" not in server
    assert stop_totals(tg)["traceparent_invalid"] == 1


def test_future_version_parsed_and_reemitted_as_00(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, _ = get(tg, headers=[
        ("traceparent", "cc-%s-%s-01-what-the-future-will-be-like" % (IN_TRACE, IN_PARENT))])
    trace_id, _, flags = TP_RE.match(forwarded(resp, "traceparent")[0]).groups()
    assert trace_id == IN_TRACE and flags == "01"


def test_repeated_traceparent_is_invalid(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    tp = "00-%s-%s-01" % (IN_TRACE, IN_PARENT)
    resp, _ = get(tg, headers=[("traceparent", tp), ("traceparent", tp)])
    assert resp.status == 200
    assert len(forwarded(resp, "traceparent")) == 1
    assert TP_RE.match(forwarded(resp, "traceparent")[0]).group(1) != IN_TRACE


# ---- tracestate and baggage --------------------------------------------------

def test_tracestate_and_baggage_forwarded_unchanged(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, tag = get(tg, headers=[
        ("traceparent", "00-%s-%s-01" % (IN_TRACE, IN_PARENT)),
        ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        ("baggage", "userId=alice,serverNode=DF%2028;ttl=3"),
    ])
    assert forwarded(resp, "tracestate") == ["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"]
    assert forwarded(resp, "baggage") == ["userId=alice,serverNode=DF%2028;ttl=3"]
    _, server, _ = spans_for(tg, tag)
    assert server["traceState"] == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"


def test_invalid_tracestate_dropped_request_served(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, _ = get(tg, headers=[
        ("traceparent", "00-%s-%s-01" % (IN_TRACE, IN_PARENT)),
        ("tracestate", "Bad Key=1"),
    ])
    assert resp.status == 200
    assert forwarded(resp, "tracestate") == []
    assert TP_RE.match(forwarded(resp, "traceparent")[0]).group(1) == IN_TRACE
    assert stop_totals(tg)["tracestate_invalid"] == 1


def test_long_tracestate_truncated_by_whole_entries(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    members = ["k%02d=%s" % (i, "v" * 40) for i in range(20)]  # 20 x 44 chars
    members[3] = "big=" + "x" * 200
    resp, _ = get(tg, headers=[
        ("traceparent", "00-%s-%s-01" % (IN_TRACE, IN_PARENT)),
        ("tracestate", ",".join(members)),
    ])
    out = forwarded(resp, "tracestate")
    assert len(out) == 1 and len(out[0]) <= 512, out
    kept = out[0].split(",")
    assert all(m in members for m in kept), "entries must be whole"
    assert "big=" + "x" * 200 not in kept, "entries over 128 chars go first"
    assert kept == [m for m in members if m in kept], "order must be kept"
    assert stop_totals(tg)["tracestate_truncated"] == 1


def test_oversized_baggage_dropped_request_served(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    big = ",".join("k%d=v" % i for i in range(65))
    resp, _ = get(tg, headers=[("baggage", big)])
    assert resp.status == 200
    assert forwarded(resp, "baggage") == []
    assert stop_totals(tg)["baggage_dropped"] == 1


# ---- trust policies ----------------------------------------------------------

def test_trust_ids_only_makes_own_decision(start_tracegate, upstream):
    tg = start(start_tracegate, upstream, config={
        "upstream": upstream.url, "tracing": {"trust": "ids-only"}})
    resp, tag = get(tg, headers=[("traceparent", "00-%s-%s-00" % (IN_TRACE, IN_PARENT))])
    trace_id, _, flags = TP_RE.match(forwarded(resp, "traceparent")[0]).groups()
    assert trace_id == IN_TRACE and flags == "01", "rate 1: sampled despite the inbound 00"
    _, server, _ = spans_for(tg, tag)
    assert server["parentSpanId"] == IN_PARENT


def test_trust_restart_links_inbound_context(start_tracegate, upstream):
    tg = start(start_tracegate, upstream, config={
        "routes": [{"prefix": "/", "upstream": upstream.url, "trust": "restart"}]})
    resp, tag = get(tg, headers=[("traceparent", "00-%s-%s-01" % (IN_TRACE, IN_PARENT)),
                                 ("tracestate", "congo=t61rcWkgMzE")])
    trace_id, _, flags = TP_RE.match(forwarded(resp, "traceparent")[0]).groups()
    assert trace_id != IN_TRACE and flags == "03"
    assert forwarded(resp, "tracestate") == []
    _, server, _ = spans_for(tg, tag)
    assert "parentSpanId" not in server
    assert len(server["links"]) == 1
    link = server["links"][0]
    assert link["traceId"] == IN_TRACE and link["spanId"] == IN_PARENT


# ---- sampling and switches -----------------------------------------------------

def test_disabled_propagates_unsampled_and_records_nothing(start_tracegate, upstream):
    tg = start(start_tracegate, upstream, env={"TELEMETRY_ENABLED": "false"})
    resp, tag = get(tg, headers=[("traceparent", "00-%s-%s-01" % (IN_TRACE, IN_PARENT))])
    trace_id, _, flags = TP_RE.match(forwarded(resp, "traceparent")[0]).groups()
    assert trace_id == IN_TRACE and flags == "00"
    totals = stop_totals(tg)
    assert totals["spans_started"] == 0 and totals["requests_unsampled"] == 1
    assert not [s for s in spans(tg) if tag in json.dumps(s)]


def test_rate_zero_and_route_override(start_tracegate, upstream):
    tg = start(start_tracegate, upstream, env={"TELEMETRY_SAMPLE_RATE": "0"}, config={
        "routes": [{"prefix": "/", "upstream": upstream.url},
                   {"prefix": "/echo", "upstream": upstream.url, "sample_rate": 1.0}]})
    resp, tag = get(tg, "/bytes/3")
    assert TP_RE.match(resp.get("traceresponse")).group(3) == "02"
    resp2, tag2 = get(tg, "/echo")
    assert TP_RE.match(resp2.get("traceresponse")).group(3) == "03"
    _, server, _ = spans_for(tg, tag2)
    assert server["name"] == "GET /echo/*"
    assert not [s for s in spans(tg) if tag in json.dumps(s)]


def test_health_paths_never_traced(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    tp = "00-%s-%s-01" % (IN_TRACE, IN_PARENT)
    resp = request(tg.port, "GET", "/healthz", headers=[("traceparent", tp)])
    assert resp.get("traceresponse") is None
    totals = stop_totals(tg)
    assert totals["requests_untraced"] == 1 and totals["spans_started"] == 0


def test_traceresponse_can_be_switched_off_per_route(start_tracegate, upstream):
    tg = start(start_tracegate, upstream, config={
        "routes": [{"prefix": "/", "upstream": upstream.url, "traceresponse": False}]})
    resp, _ = get(tg)
    assert resp.status == 200 and resp.get("traceresponse") is None


def test_bad_sampler_env_is_a_startup_error(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, env={"OTEL_TRACES_SAMPLER": "sometimes"},
                         ready=False)
    tg.expect_exit = True
    assert tg.wait_exit(10) != 0
    tg.stderr.wait_for(lambda l: "OTEL_TRACES_SAMPLER" in l and "sometimes" in l, 5,
                       "an error naming OTEL_TRACES_SAMPLER")


# ---- status, errors, attributes --------------------------------------------------

def test_upstream_5xx_marks_both_spans_error(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    _, tag = get(tg, "/status/503")
    _, server, client = spans_for(tg, tag)
    assert server["status"]["code"] == 2 and attrs(server)["error.type"] == "503"
    assert client["status"]["code"] == 2 and attrs(client)["error.type"] == "503"


def test_upstream_4xx_is_client_error_only(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    _, tag = get(tg, "/status/404")
    _, server, client = spans_for(tg, tag)
    assert server["status"]["code"] == 0 and "error.type" not in attrs(server)
    assert client["status"]["code"] == 2 and attrs(client)["error.type"] == "404"


def test_connection_refused_error_type(start_tracegate, upstream):
    from conftest import free_port
    dead = "http://127.0.0.1:%d" % free_port()
    tg = start_tracegate("--upstream", dead, "--access-log", "off", env=CONSOLE)
    resp, tag = get(tg)
    assert resp.status == 502
    _, server, client = spans_for(tg, tag)
    assert attrs(client)["error.type"] == "connection_refused"
    assert client["status"]["code"] == 2
    assert server["status"]["code"] == 2 and attrs(server)["http.response.status_code"] == "502"


def test_unknown_method_and_redaction_and_capture(start_tracegate, upstream):
    tg = start(start_tracegate, upstream, config={
        "upstream": upstream.url,
        "tracing": {"capture_request_headers": ["X-Request-Id"],
                    "capture_response_headers": ["Content-Type"]}})
    tag = uuid.uuid4().hex[:12]
    resp = request(tg.port, "PURGE", "/echo?tag=%s&token=s3cret&sig=abc&x=1" % tag,
                   headers=[("X-Request-Id", "req-42"), ("Authorization", "Bearer nope")])
    assert resp.status == 200
    _, server, client = spans_for(tg, tag)
    sa = attrs(server)
    assert server["name"] == "HTTP /*"
    assert sa["http.request.method"] == "_OTHER"
    assert sa["http.request.method_original"] == "PURGE"
    assert sa["url.query"] == "tag=%s&token=REDACTED&sig=REDACTED&x=1" % tag
    assert sa["http.request.header.x-request-id"] == "req-42"
    assert sa["http.response.header.content-type"] == "application/json"
    assert "s3cret" not in json.dumps(client) and "Bearer" not in json.dumps(server)


def test_authorization_cannot_be_captured(tmp_path):
    import subprocess
    from conftest import run_tracegate
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"upstream": "http://127.0.0.1:1",
                               "tracing": {"capture_request_headers": ["Authorization"]}}))
    r = run_tracegate("--check-config", "--config", cfg)
    assert r.returncode == 1
    assert "never captured" in r.stderr + r.stdout


def test_access_log_carries_trace_fields(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, env=CONSOLE)
    resp = request(tg.port, "GET", "/echo?x=1")
    trace_id, span_id, flags = TP_RE.match(resp.get("traceresponse")).groups()
    entry = tg.stdout.wait_for(lambda l: l.startswith('{"time"'), 5, "access log line")
    e = json.loads(entry)
    assert e["trace_id"] == trace_id and e["span_id"] == span_id and e["sampled"] is True


def test_every_span_accounted_for_at_shutdown(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    for _ in range(20):
        assert request(tg.port, "GET", "/bytes/3").status == 200
    totals = stop_totals(tg)
    assert totals["requests_traced"] == 20 and totals["spans_started"] == 40
    lost = sum(totals[k] for k in ("spans_rejected", "spans_dropped_not_retryable",
                                   "spans_dropped_retries_exhausted", "spans_dropped_deadline"))
    assert totals["spans_queued"] == totals["spans_exported"] + lost
    assert totals["spans_exported"] + lost + totals["spans_dropped_queue_full"] + \
        totals["spans_dropped_shutdown"] == 40
    # The exporter wrote them before exit; the reader thread may lag behind.
    tg.stdout.wait_count(lambda l: l.startswith('{"traceId"'), totals["spans_exported"], 5,
                         "the exported spans on stdout")
    assert len(spans(tg)) == totals["spans_exported"]


def test_repeated_tracestate_and_baggage_fields_combine(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, tag = get(tg, headers=[
        ("traceparent", "00-%s-%s-01" % (IN_TRACE, IN_PARENT)),
        ("tracestate", "rojo=00f067aa0ba902b7"),
        ("baggage", "a=1"),
        ("tracestate", "congo=t61rcWkgMzE"),
        ("baggage", "b=2"),
    ])
    assert forwarded(resp, "tracestate") == ["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"]
    assert forwarded(resp, "baggage") == ["a=1,b=2"]
    _, server, _ = spans_for(tg, tag)
    assert server["traceState"] == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"


def test_duplicate_tracestate_key_across_fields_is_invalid(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, _ = get(tg, headers=[
        ("traceparent", "00-%s-%s-01" % (IN_TRACE, IN_PARENT)),
        ("tracestate", "rojo=1"),
        ("tracestate", "rojo=2"),
    ])
    assert resp.status == 200 and forwarded(resp, "tracestate") == []


def test_no_route_answer_is_traced_with_traceresponse(start_tracegate, upstream):
    tg = start(start_tracegate, upstream, config={
        "routes": [{"prefix": "/api", "upstream": upstream.url}]})
    resp, tag = get(tg, "/elsewhere")
    assert resp.status == 404
    trace_id, span_id, flags = TP_RE.match(resp.get("traceresponse")).groups()
    got = tg.stdout.wait_for(lambda l: l.startswith('{"traceId"') and tag in l, 5, "404 span")
    span = json.loads(got)
    assert span["kind"] == 2 and span["name"] == "GET" and span["spanId"] == span_id
    assert attrs(span)["http.response.status_code"] == "404" and "http.route" not in attrs(span)
