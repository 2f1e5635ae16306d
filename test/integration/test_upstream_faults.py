"""Upstream faults beyond test_upstream_failures.py: the spans each failure
leaves (read from the console exporter), an upstream that closes kept-alive
connections at random under concurrent load, and one that goes down under
load and comes back. The status codes and the plain-text answers are checked
again here for the faults that test_upstream_failures.py does not cover
(a close inside the response head, a malformed Content-Length, an unasked-for
second response, a body cut short by a close); nothing may stay stuck."""

import json
import threading
import time

import pytest

from conftest import PYTHON, UPSTREAM_SERVER, Proc, client_connections, free_port, wait_until
from rawhttp import Conn, Cut, request

CONSOLE = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "20"}


def spans_with(tg, tag, count=2, timeout=5.0):
    """SERVER and CLIENT spans of the request whose target carries tag."""
    tg.stdout.wait_count(lambda l: l.startswith('{"traceId"') and tag in l, count, timeout,
                         "spans tagged %s" % tag)
    got = [json.loads(l) for l in tg.stdout.lines() if l.startswith('{"traceId"') and tag in l]
    return {s["kind"]: s for s in got}


def attrs(span):
    return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}


def assert_plain_error(resp, status):
    assert resp.status == status, resp
    assert (resp.get("Content-Type") or "").startswith("text/plain"), resp.headers
    assert resp.body.startswith(b"tracegate: "), resp.body


# (path, status the client sees or None for a cut response, CLIENT error.type).
# "cut-or-502": the failure may be known before the response starts (502) or
# after (a cut 200), depending on how the bytes arrive.
FAULTS = [
    ("/garbage", 502, "invalid_response"),
    ("/close-now", 502, "connection_closed"),
    ("/reset-now", 502, "connection_reset"),
    ("/close-mid-head", 502, "invalid_response"),
    ("/bad-length", 502, "invalid_response"),
    ("/silent", 504, "timeout"),
    ("/reset", None, "connection_reset"),
    ("/hang-after-headers", None, "timeout"),
    ("/head-then-close", "cut-or-502", "response_incomplete"),
]


@pytest.mark.parametrize("path,status,error_type", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_status_and_error_spans(start_tracegate, upstream, path, status, error_type):
    tg = start_tracegate(config={"upstream": upstream.url, "header_timeout_ms": 500,
                                 "idle_timeout_ms": 500, "access_log": "off"}, env=CONSOLE)
    tag = "fault%d" % id(path)
    with Conn(tg.port) as c:
        c.send_request("GET", "%s?tag=%s" % (path, tag))
        resp = c.read_head()
        if status == "cut-or-502" and resp.status == 502:
            status = 502
            resp.body = b"".join(c.iter_body(resp, "GET"))
        if isinstance(status, int):
            resp.body = resp.body or b"".join(c.iter_body(resp, "GET"))
            assert_plain_error(resp, status)
            # A complete answer: the connection goes on.
            assert c.request("GET", "/echo").status == 200
        else:
            assert resp.status == 200, resp
            for _ in c.iter_body(resp, "GET"):
                pass
            assert not resp.complete, "a failed body reached the client as complete"
            assert c.eof, "the client connection was not closed after a cut response"
            status = None
    spans = spans_with(tg, tag)
    server, client = spans[2], spans[3]
    assert client["status"]["code"] == 2, client
    assert attrs(client)["error.type"] == error_type, attrs(client)
    assert server["status"]["code"] == 2, server
    assert "error.type" in attrs(server), attrs(server)
    if status is not None:
        assert int(attrs(server)["http.response.status_code"]) == status
    # No upstream connection is kept for a failed exchange.
    for line in upstream.stdout.lines():
        if line.startswith("REQ ") and tag in line:
            upstream.wait_closed(int(line.split()[1]), 5)
    wait_until(lambda: not client_connections(tg), 5, "client connections released")


@pytest.mark.parametrize("path", ["/close-if-reused", "/reset-if-reused"])
def test_resend_on_fresh_connection_has_its_own_client_span(start_tracegate, upstream, path):
    """A pooled connection closed by the upstream as the next GET goes out:
    the GET is sent again on a new connection and succeeds. The failed try's
    CLIENT span ends with its error; the second try has a CLIENT span of its
    own with http.request.resend_count 1 (OTel HTTP semantic conventions),
    and the traceparent the upstream got names that second span."""
    tg = start_tracegate(config={"upstream": upstream.url, "access_log": "off"}, env=CONSOLE)
    with Conn(tg.port) as c:
        assert c.request("GET", path + "?warm").status == 200
        resp = c.request("GET", path + "?tag=resend1")
        assert resp.status == 200, resp
        got_parent = dict(resp.json()["headers"])["traceparent"].split("-")[2]
    tg.stdout.wait_count(lambda l: l.startswith('{"traceId"') and "resend1" in l, 3, 5,
                         "three spans of the resent request")
    spans = [json.loads(l) for l in tg.stdout.lines()
             if l.startswith('{"traceId"') and "resend1" in l]
    server = [s for s in spans if s["kind"] == 2]
    clients = sorted((s for s in spans if s["kind"] == 3), key=lambda s: s["startTimeUnixNano"])
    assert len(server) == 1 and len(clients) == 2, spans
    first, second = clients
    assert {s["traceId"] for s in spans} == {server[0]["traceId"]}
    assert first["parentSpanId"] == second["parentSpanId"] == server[0]["spanId"]
    assert first["spanId"] != second["spanId"]
    assert first["status"]["code"] == 2, first
    assert attrs(first)["error.type"] in ("connection_closed", "connection_reset"), attrs(first)
    assert "http.request.resend_count" not in attrs(first), attrs(first)
    assert int(attrs(second)["http.request.resend_count"]) == 1, attrs(second)
    assert int(attrs(second)["http.response.status_code"]) == 200, attrs(second)
    assert second["status"]["code"] != 2, second
    assert got_parent == second["spanId"], (got_parent, second["spanId"])
    assert server[0]["status"]["code"] != 2, server


@pytest.mark.parametrize("body", [b"", b"abc"], ids=["bodiless", "with-body"])
def test_post_never_sent_twice(start_tracegate, upstream, body):
    """A POST on a pooled connection that the upstream closes without an
    answer: the upstream may have acted on it, so it is not sent again (by
    tracegate or by libcurl, which would resend a bodiless one): 502, and
    the upstream saw it once. The client connection goes on."""
    tg = start_tracegate(config={"upstream": upstream.url, "access_log": "off"})
    with Conn(tg.port) as c:
        assert c.request("GET", "/close-if-reused?warm").status == 200
        resp = c.request("POST", "/close-if-reused?once", body=body,
                         headers=[("Content-Length", str(len(body)))] if not body else ())
        assert_plain_error(resp, 502)
        assert b"closed the connection without a response" in resp.body, resp.body
        assert c.request("GET", "/echo").status == 200
    sent = [l for l in upstream.stdout.lines() if l.startswith("REQ ") and "?once" in l]
    assert len(sent) == 1, sent


@pytest.mark.parametrize("path", ["/extra-response", "/extra-later"])
def test_unasked_second_response_never_reaches_another_request(start_tracegate, upstream, path):
    """An upstream that sends a second response nobody asked for, with the
    first one or while the connection sits idle in the pool: that connection
    is dropped, so the next request gets its own answer. (Bytes that arrive
    just as a pooled connection is being reused cannot be told apart from
    that request's answer; see the README.)"""
    tg = start_tracegate("--upstream", upstream.url, "--workers", "1")
    with Conn(tg.port) as c:
        resp = c.request("GET", path)
        assert resp.status == 200 and resp.body == b"ok\n", resp
        if path == "/extra-later":
            upstream.stdout.wait_for(lambda l: l.startswith("EXTRA "), 5, "the late poison")
        for i in range(5):
            resp = c.request("GET", "/echo?n=%d" % i)
            assert resp.status == 200, resp
            assert resp.get("X-Poison") is None and resp.json()["target"] == "/echo?n=%d" % i


METHODS = ["GET", "HEAD", "DELETE", "OPTIONS", "POST"]


def test_random_keepalive_closes_under_load(start_upstream, start_tracegate):
    """The upstream closes half of its kept-alive connections right after a
    response, without a word, while 4 clients send requests back to back: the
    race where a pooled connection dies as it is reused (2,400 requests). Requests with an
    idempotent method and no body are sent again on a fresh connection and
    all succeed; a POST may get a 502 (it is never sent twice); every 200 is
    the answer to its own request; the pool keeps working."""
    up = start_upstream("A", "--close-rate", "0.5", "--seed", "7")
    tg = start_tracegate(config={"upstream": up.url, "access_log": "off"})
    results = []
    errors = []

    def client(k):
        try:
            with Conn(tg.port) as c:
                for i in range(600):
                    m = METHODS[i % len(METHODS)]
                    target = "/echo?c=%d&i=%d" % (k, i)
                    body = b"p" * 100 if m == "POST" else None
                    resp = c.request(m, target, body=body)
                    results.append((m, target, resp))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == 2400
    drops = sum(1 for l in up.stdout.lines() if l.startswith("DROP "))
    assert drops >= 400, "the upstream dropped only %d connections" % drops
    post_502 = 0
    for m, target, resp in results:
        if m == "POST" and resp.status == 502:
            assert_plain_error(resp, 502)
            post_502 += 1
            continue
        assert resp.status == 200, (m, target, resp)
        if m != "HEAD":
            assert resp.json()["target"] == target and resp.json()["method"] == m
    print("%d kept-alive connections dropped by the upstream; %d of 480 POSTs got 502"
          % (drops, post_502))
    assert post_502 < 240
    # Afterwards every upstream connection but the pooled ones is closed.
    wait_until(lambda: sum(l.startswith("OPEN ") for l in up.stdout.lines())
               - sum(l.startswith("CLOSED ") for l in up.stdout.lines()) <= 4, 5,
               "upstream connections to be released")
    wait_until(lambda: not client_connections(tg), 5, "client connections released")


def test_upstream_down_under_load_and_back(start_upstream, start_tracegate):
    """8 clients loop over kept-alive connections while the upstream is
    stopped and then started again on the same port: while it is down every
    answer is a quick 502 (or a cut response for one in flight), spans say
    connection_refused; once it is back every client gets 200 again and the
    pool is reused rather than rebuilt per request."""
    up = start_upstream("A")
    port = up.port
    tg = start_tracegate(config={"upstream": up.url, "access_log": "off"},
                         env={"OTEL_TRACES_EXPORTER": "console",
                              "OTEL_BSP_SCHEDULE_DELAY": "20"})
    phase = {"name": "up1"}
    stop = threading.Event()
    seen = []
    errors = []

    def client(k):
        try:
            c = Conn(tg.port, timeout=5)
            i = 0
            while not stop.is_set():
                i += 1
                t0 = time.monotonic()
                try:
                    resp = c.request("GET", "/echo?c=%d&i=%d" % (k, i))
                except (Cut, ConnectionError):
                    seen.append((phase["name"], "cut", time.monotonic() - t0))
                    c.close()
                    c = Conn(tg.port, timeout=5)
                    continue
                seen.append((phase["name"], resp.status, time.monotonic() - t0))
                if resp.status != 200:
                    assert_plain_error(resp, 502)
                time.sleep(0.002)  # pacing, not waiting for a condition
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: sum(1 for s in seen if s[1] == 200) >= 200, 10, "traffic")
        up.stop()
        phase["name"] = "down"
        n_down = len(seen)
        wait_until(lambda: sum(1 for s in seen[n_down:] if s[1] == 502) >= 100, 10,
                   "502s while the upstream is down")
        again = Proc([PYTHON, UPSTREAM_SERVER, "--port", port, "--name", "B"], "upstream-B")
        try:
            again.stdout.wait_for(lambda l: l.startswith("PORT "), 10, "PORT")
            phase["name"] = "back"
            t_back = time.monotonic()
            n_back = len(seen)
            # Every client is answered by the new upstream soon after.
            wait_until(lambda: sum(1 for s in seen[n_back:] if s[1] == 200) >= 200, 10,
                       "200s after the upstream came back")
            recovered_in = time.monotonic() - t_back
            n_tail = len(seen)
            wait_until(lambda: len(seen) - n_tail >= 200, 10, "more traffic")
            tail = seen[n_tail:]
            opens_after = sum(l.startswith("OPEN ") for l in again.stdout.lines())
            reqs_after = sum(l.startswith("REQ ") for l in again.stdout.lines())
        finally:
            stop.set()
            for t in threads:
                t.join(10)
            again.stop()
    finally:
        stop.set()
    assert not errors, errors
    down = [s for s in seen if s[0] == "down"]
    assert all(s[1] in (502, "cut") for s in down), [s for s in down if s[1] not in (502, "cut")]
    assert max(s[2] for s in down if s[1] == 502) < 1.0, "a 502 while down took over 1 s"
    assert all(s[1] == 200 for s in tail), [s for s in tail if s[1] != 200]
    # Pooled: far fewer connections than requests once it is back.
    assert opens_after <= 32 and reqs_after >= 400, (opens_after, reqs_after)
    refused = [l for l in tg.stdout.lines()
               if l.startswith('{"traceId"') and '"connection_refused"' in l]
    assert refused, "no span with error.type connection_refused while the upstream was down"
    print("down: %d answers (%d cut), slowest 502 %.1f ms; back: 200s again within %.2f s, "
          "%d requests over %d new upstream connections"
          % (len(down), sum(1 for s in down if s[1] == "cut"),
             max(s[2] for s in down if s[1] == 502) * 1e3, recovered_in, reqs_after,
             opens_after))
    wait_until(lambda: not client_connections(tg), 5, "client connections released")


def test_folded_response_header_carries_nothing_else(tg):
    """An upstream header folded over two lines (obs-fold, RFC 9112 5.2) is
    joined with a space and nothing more, even when the connection's memory
    holds an earlier, larger request."""
    with Conn(tg.port) as c:
        assert c.request("GET", "/folded").get("X-Folded") == "part1 part2"
        resp = c.request("GET", "/echo?" + "q" * 3000, headers=[("X-Junk", "J" * 3000)])
        assert resp.status == 200
        for _ in range(3):
            resp = c.request("GET", "/folded")
            assert resp.status == 200 and resp.get("X-Folded") == "part1 part2", resp.headers
