"""tracegate in front of real OpenTelemetry SDK peers (test/interop: Node, Bun).

One request through tracegate must make one trace across both processes:
tracegate's SERVER span, its CLIENT span under it, and the peer's SERVER span
under that CLIENT span, all with one trace id. tracegate prints its spans as
OTLP/JSON lines on stdout (OTEL_TRACES_EXPORTER=console); the peers print
theirs as JSON lines and answer GET /echo with the headers that reached them,
so each test sees both sides of the hop.
"""

import http.client
import json
import os
import re

import pytest

PEERS = ["node", "bun"]

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")

SPAN_KIND_SERVER = 2  # OTLP Span.SpanKind
SPAN_KIND_CLIENT = 3
FLAG_SAMPLED = 0x01  # W3C trace-flags bit 0

TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

TRACING_ENV = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "50"}


def new_trace_id():
    return os.urandom(16).hex()


def new_span_id():
    return os.urandom(8).hex()


def start_pair(start_tracegate, start_peer, kind):
    peer = start_peer(kind)
    tg = start_tracegate("--upstream", peer.url, "--access-log", "off", env=TRACING_ENV)
    return tg, peer


def get_echo(tg, headers=None):
    """GET /echo through tracegate; returns (response headers, the peer's echo)."""
    conn = http.client.HTTPConnection("127.0.0.1", tg.port, timeout=10)
    try:
        conn.request("GET", "/echo", headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body
        return {k.lower(): v for k, v in resp.getheaders()}, json.loads(body)
    finally:
        conn.close()


def forwarded_traceparent(echoed):
    """The traceparent that reached the peer, parsed."""
    assert "traceparent" in echoed["headers"], \
        "no traceparent reached the peer: %r" % echoed["headers"]
    return parse_traceparent(echoed["headers"]["traceparent"])


def parse_traceparent(value):
    m = TRACEPARENT_RE.match(value)
    assert m, "not a version-00 traceparent: %r" % value
    trace_id, span_id, flags = m.group(1), m.group(2), int(m.group(3), 16)
    assert trace_id != "0" * 32 and span_id != "0" * 16, value
    return trace_id, span_id, flags


def tg_span(line):
    """A tracegate span from one stdout line, or None for any other line."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if "traceId" in obj and "spanId" in obj else None


def tg_spans(tg):
    return [s for s in map(tg_span, tg.stdout.lines()) if s is not None]


def wait_tg_spans(tg, trace_id, count, timeout=10.0):
    def pred(line):
        span = tg_span(line)
        return span is not None and span["traceId"] == trace_id
    return [tg_span(l) for l in tg.stdout.wait_count(pred, count, timeout,
                                                     "tracegate span of trace %s" % trace_id)]


def parent_of(span):
    """parentSpanId of an OTLP/JSON span; "" for a root (key absent or empty)."""
    return span.get("parentSpanId") or ""


def attr(span, key):
    for a in span.get("attributes", []):
        if a["key"] == key:
            return a["value"]
    return None


def check_tg_span(span):
    """Shape every tracegate span must have in OTLP/JSON."""
    assert HEX32.match(span["traceId"]), span
    assert HEX16.match(span["spanId"]) and span["spanId"] != "0" * 16, span
    assert parent_of(span) == "" or HEX16.match(parent_of(span)), span
    assert isinstance(span["flags"], int), span
    assert span["flags"] & FLAG_SAMPLED, span  # only sampled spans are recorded
    assert span["name"].startswith("GET"), span
    start, end = span["startTimeUnixNano"], span["endTimeUnixNano"]
    assert start.isdigit() and end.isdigit() and int(end) >= int(start), span
    assert attr(span, "http.request.method") == {"stringValue": "GET"}, span


def server_and_client(tg, trace_id):
    """tracegate's SERVER and CLIENT span of one request, after checking their link."""
    spans = wait_tg_spans(tg, trace_id, 2)
    for s in spans:
        check_tg_span(s)
    servers = [s for s in spans if s["kind"] == SPAN_KIND_SERVER]
    clients = [s for s in spans if s["kind"] == SPAN_KIND_CLIENT]
    assert len(servers) == 1 and len(clients) == 1, spans
    server, client = servers[0], clients[0]
    assert parent_of(client) == server["spanId"]
    assert client["spanId"] != server["spanId"]
    return server, client


def check_hop(peer, server, client, echoed, resp_headers):
    """What crossed the hop from tracegate to the peer matches tracegate's spans."""
    trace_id = server["traceId"]
    # The traceparent tracegate sent upstream names its CLIENT span.
    forwarded_traceparent(echoed)
    assert echoed["headers"]["traceparent"] == "00-%s-%s-%02x" % (
        trace_id, client["spanId"], client["flags"] & 0xFF)
    # traceresponse names tracegate's SERVER span.
    assert resp_headers.get("traceresponse") == "00-%s-%s-%02x" % (
        trace_id, server["spanId"], server["flags"] & 0xFF)
    # The peer's SDK continued tracegate's trace under the CLIENT span.
    [peer_span] = peer.wait_spans(lambda s: s["traceId"] == trace_id)
    assert peer_span["kind"] == "SERVER"
    assert peer_span["parentSpanId"] == client["spanId"]
    assert peer_span["spanId"] not in (server["spanId"], client["spanId"])
    assert echoed["context"]["spanId"] == peer_span["spanId"]


@pytest.mark.parametrize("kind", PEERS)
def test_root_trace_spans_tracegate_and_peer(start_tracegate, start_peer, kind):
    tg, peer = start_pair(start_tracegate, start_peer, kind)
    resp_headers, echoed = get_echo(tg)

    trace_id, _, flags = forwarded_traceparent(echoed)
    assert flags & FLAG_SAMPLED  # ratio 1.0 samples every root
    server, client = server_and_client(tg, trace_id)
    assert parent_of(server) == ""
    check_hop(peer, server, client, echoed, resp_headers)
    # Nothing else of this trace: exactly one SERVER and one CLIENT.
    assert len([s for s in tg_spans(tg) if s["traceId"] == trace_id]) == 2


@pytest.mark.parametrize("kind", PEERS)
def test_sampled_inbound_trace_is_continued(start_tracegate, start_peer, kind):
    tg, peer = start_pair(start_tracegate, start_peer, kind)
    trace_id, parent_id = new_trace_id(), new_span_id()
    resp_headers, echoed = get_echo(tg, {"traceparent": "00-%s-%s-01" % (trace_id, parent_id)})

    sent_trace, sent_parent, flags = forwarded_traceparent(echoed)
    assert sent_trace == trace_id
    assert sent_parent != parent_id
    assert flags & FLAG_SAMPLED
    server, client = server_and_client(tg, trace_id)
    assert parent_of(server) == parent_id
    check_hop(peer, server, client, echoed, resp_headers)


@pytest.mark.parametrize("kind", PEERS)
def test_unsampled_inbound_trace_records_nothing(start_tracegate, start_peer, kind):
    tg, peer = start_pair(start_tracegate, start_peer, kind)
    trace_id, parent_id = new_trace_id(), new_span_id()
    resp_headers, echoed = get_echo(tg, {"traceparent": "00-%s-%s-00" % (trace_id, parent_id)})

    # Forwarded in the same trace, flags 00, with a parent id of tracegate's own.
    sent_trace, sent_parent, flags = forwarded_traceparent(echoed)
    assert sent_trace == trace_id
    assert flags == 0x00
    assert sent_parent != parent_id
    assert echoed["context"]["traceId"] == trace_id
    assert echoed["context"]["traceFlags"] & FLAG_SAMPLED == 0
    if "traceresponse" in resp_headers:
        resp_trace, _, resp_flags = parse_traceparent(resp_headers["traceresponse"])
        assert resp_trace == trace_id and resp_flags & FLAG_SAMPLED == 0

    # A sampled request afterwards: once its spans are out of tracegate's
    # exporter and the peer's, any span of the unsampled one would be too.
    later_trace = new_trace_id()
    get_echo(tg, {"traceparent": "00-%s-%s-01" % (later_trace, new_span_id())})
    server_and_client(tg, later_trace)
    peer.wait_spans(lambda s: s["traceId"] == later_trace)

    assert [s for s in tg_spans(tg) if s["traceId"] == trace_id] == []
    assert [s for s in peer.spans() if s["traceId"] == trace_id] == []


@pytest.mark.parametrize("kind", PEERS)
def test_tracestate_and_baggage_reach_the_peer_unchanged(start_tracegate, start_peer, kind):
    tg, peer = start_pair(start_tracegate, start_peer, kind)
    trace_id, parent_id = new_trace_id(), new_span_id()
    tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=a-b_c*d/e"
    baggage = "userId=alice,serverNode=DF%2028,isProduction=false;ttl=30"
    resp_headers, echoed = get_echo(tg, {
        "traceparent": "00-%s-%s-01" % (trace_id, parent_id),
        "tracestate": tracestate,
        "baggage": baggage,
    })
    assert echoed["headers"]["tracestate"] == tracestate
    assert echoed["headers"]["baggage"] == baggage
    # And the trace itself still went through as in the sampled case.
    server, client = server_and_client(tg, trace_id)
    check_hop(peer, server, client, echoed, resp_headers)
