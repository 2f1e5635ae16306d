"""The OpenTelemetry SDK peers on their own, without tracegate.

The tracegate interop tests read trace context off these peers (their SERVER
spans and their /echo answers), so this proves first that each peer, driven
straight from the test, continues a W3C traceparent the way the official JS
SDK does: same trace id, the given parent id as parent, nothing recorded for
flags 00, a new root for no (or an invalid) traceparent.
"""

import http.client
import json
import os
import re
import signal

import pytest

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")

PEERS = ["node", "bun"]


def new_trace_id():
    return os.urandom(16).hex()


def new_span_id():
    return os.urandom(8).hex()


def get(url_port, path, headers=None):
    """GET path from 127.0.0.1:port; returns (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def echo(peer, headers=None):
    status, _, body = get(peer.port, "/echo", headers)
    assert status == 200, body
    return json.loads(body)


def check_server_span(span, kind):
    """What every SERVER span of a peer for GET /echo must carry."""
    assert span["peer"] == kind
    assert span["kind"] == "SERVER"
    assert span["sampled"] is True
    assert HEX32.match(span["traceId"]) and span["traceId"] != "0" * 32
    assert HEX16.match(span["spanId"]) and span["spanId"] != "0" * 16
    attrs = span["attributes"]
    assert attrs["http.request.method"] == "GET"
    assert attrs["url.path"] == "/echo"
    assert attrs["http.response.status_code"] == 200
    if kind == "bun":
        assert span["name"] == "GET /echo"


@pytest.mark.parametrize("kind", PEERS)
def test_sampled_parent_is_continued(start_peer, kind):
    peer = start_peer(kind)
    trace_id, parent_id = new_trace_id(), new_span_id()
    sent = {
        "traceparent": "00-%s-%s-01" % (trace_id, parent_id),
        "tracestate": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        "baggage": "userId=alice,serverNode=DF%2028;p=1",
    }
    got = echo(peer, sent)

    # /echo shows the headers exactly as they arrived.
    for name, value in sent.items():
        assert got["headers"][name] == value
    assert got["context"]["traceId"] == trace_id
    assert got["context"]["traceFlags"] & 1 == 1

    [span] = peer.wait_spans(lambda s: s["traceId"] == trace_id)
    check_server_span(span, kind)
    assert span["parentSpanId"] == parent_id
    assert span["spanId"] != parent_id
    assert span["spanId"] == got["context"]["spanId"]


@pytest.mark.parametrize("kind", PEERS)
def test_no_traceparent_starts_a_root(start_peer, kind):
    peer = start_peer(kind)
    got = echo(peer)
    assert "traceparent" not in got["headers"]
    trace_id = got["context"]["traceId"]
    assert HEX32.match(trace_id)
    assert got["context"]["traceFlags"] & 1 == 1

    [span] = peer.wait_spans(lambda s: s["traceId"] == trace_id)
    check_server_span(span, kind)
    assert span["parentSpanId"] == ""
    assert span["spanId"] == got["context"]["spanId"]


@pytest.mark.parametrize("kind", PEERS)
def test_invalid_traceparent_starts_a_new_trace(start_peer, kind):
    # An all-zero trace id is invalid (W3C Trace Context 3.2.2.3): the
    # receiver ignores the header and starts a new trace.
    peer = start_peer(kind)
    parent_id = new_span_id()
    got = echo(peer, {"traceparent": "00-%s-%s-01" % ("0" * 32, parent_id)})
    trace_id = got["context"]["traceId"]
    assert trace_id != "0" * 32

    [span] = peer.wait_spans(lambda s: s["traceId"] == trace_id)
    check_server_span(span, kind)
    assert span["parentSpanId"] == ""


@pytest.mark.parametrize("kind", PEERS)
def test_unsampled_parent_records_nothing(start_peer, kind):
    peer = start_peer(kind)
    unsampled_trace, parent_id = new_trace_id(), new_span_id()
    got = echo(peer, {"traceparent": "00-%s-%s-00" % (unsampled_trace, parent_id)})
    # The request still runs in the caller's trace, just not recorded.
    assert got["context"]["traceId"] == unsampled_trace
    assert got["context"]["traceFlags"] & 1 == 0

    # A sampled request after it: its span is printed after any span of the
    # first request would have been (spans are exported as they end, in
    # order), so once it is there the absence below means something.
    sampled_trace = new_trace_id()
    echo(peer, {"traceparent": "00-%s-%s-01" % (sampled_trace, new_span_id())})
    peer.wait_spans(lambda s: s["traceId"] == sampled_trace)

    assert [s for s in peer.spans() if s["traceId"] == unsampled_trace] == []
    assert all(s["sampled"] for s in peer.spans())


@pytest.mark.parametrize("kind", PEERS)
def test_unknown_path_is_404_and_traced(start_peer, kind):
    peer = start_peer(kind)
    trace_id = new_trace_id()
    status, _, _ = get(peer.port, "/nope",
                       {"traceparent": "00-%s-%s-01" % (trace_id, new_span_id())})
    assert status == 404
    [span] = peer.wait_spans(lambda s: s["traceId"] == trace_id)
    assert span["attributes"]["http.response.status_code"] == 404


@pytest.mark.parametrize("kind", PEERS)
def test_sigterm_flushes_and_exits_zero(start_peer, kind):
    peer = start_peer(kind)
    trace_ids = [new_trace_id() for _ in range(5)]
    for t in trace_ids:
        echo(peer, {"traceparent": "00-%s-%s-01" % (t, new_span_id())})
    peer.expect_exit = True
    peer.signal(signal.SIGTERM)
    assert peer.wait_exit(10) == 0, peer.stderr.lines()[-20:]
    # All five spans are on stdout once the pipe is closed.
    peer.stdout.join(5)
    assert sorted(s["traceId"] for s in peer.spans()) == sorted(trace_ids)
