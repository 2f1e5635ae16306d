"""GET /admin/metrics: a known mix of requests through tracegate, then every
counter and histogram checked against what was sent, the whole answer read
by a strict parser of the Prometheus text format (promtext.py).

The mix: 7 x 200 and 3 x 404 from the upstream on /api, one slow 200 (600 ms),
2 to a route whose upstream refuses connections (502), one path no route
matches. Reads need no token: tracegate listens on loopback."""

import json
import signal
import socket
import pytest

from conftest import free_port, run_tracegate, wait_until
from rawhttp import Conn, request
import promtext

TOKEN = "metrics-test-token-0123456789"


def scrape(tg, path="/admin/metrics", port=None):
    resp = request(port or tg.port, "GET", path)
    assert resp.status == 200, resp
    assert resp.get("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    return promtext.parse(resp.body)


def start(start_tracegate, upstream, extra_env=None, args=()):
    dead = free_port()  # nothing listens there: connections are refused
    env = {"OTEL_BSP_SCHEDULE_DELAY": "50", "TELEMETRY_ADMIN_TOKEN": TOKEN}
    env.update(extra_env or {})
    config = {
        "workers": 2,
        "access_log": "off",
        "routes": [
            {"prefix": "/api", "upstream": upstream.url, "strip_prefix": True},
            {"prefix": "/down", "upstream": "http://127.0.0.1:%d" % dead},
        ],
    }
    return start_tracegate(*args, config=config, env=env)


def requests_of(exp, route):
    return {l["code"]: v for l, v in exp.samples("tracegate_requests_total")
            if l["route"] == route}


def send_mix(tg):
    for _ in range(7):
        assert request(tg.port, "GET", "/api/echo").status == 200
    for _ in range(3):
        assert request(tg.port, "GET", "/api/status/404").status == 404
    for _ in range(2):
        assert request(tg.port, "GET", "/down/x").status == 502
    assert request(tg.port, "GET", "/api/delay/600").status == 200
    assert request(tg.port, "GET", "/nowhere").status == 404


def test_parser_rejects_malformed_expositions():
    """The parser the other tests rely on fails on each kind of mistake."""
    good = (b"# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n"
            b"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
            b"h_sum 1.5\nh_count 2\n")
    promtext.parse(good)
    bad = [
        good[:-1],                                                  # no final newline
        b"a_total 1\n",                                             # no HELP/TYPE first
        good.replace(b"a_total{x=\"1\"} 3", b"a_total{x=\"1\"} -3"),  # negative counter
        good.replace(b"{x=\"1\"}", b"{x=\"a\\tb\"}"),               # unknown escape
        good.replace(b"{x=\"1\"}", b"{x=\"\xff\"}"),                # not UTF-8
        good.replace(b"{x=\"1\"}", b"{x=1}"),                       # unquoted value
        good.replace(b"h_bucket{le=\"+Inf\"} 2", b"h_bucket{le=\"+Inf\"} 3"),  # +Inf != count
        good.replace(b"h_bucket{le=\"1\"} 1", b"h_bucket{le=\"1\"} 5"),        # not cumulative
        good.replace(b"h_sum 1.5\n", b""),                          # no _sum
        good + b"a_total{x=\"2\"} 1\n",                             # family not contiguous
        good + b"\n",                                               # blank line
        good.replace(b"a_total{x=\"1\"} 3", b"a_total{x=\"1\"} 3\na_total{x=\"1\"} 4"),  # twice
        good.replace(b"# TYPE a_total counter\n", b"# TYPE a_total counter\n# TYPE a_total counter\n"),
    ]
    for b in bad:
        with pytest.raises(ValueError):
            promtext.parse(b)


def test_request_counters_histograms_and_spans_match_what_was_sent(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    before = scrape(tg)
    for route in ("/api", "/down", "unmatched", "/admin"):
        assert set(requests_of(before, route).values()) == {0.0}, route
    version = run_tracegate("--version", check=True).stdout.split()[1]
    assert before.value("tracegate_build_info", version=version) == 1
    assert before.value("tracegate_workers") == 2

    send_mix(tg)
    # A request is counted when tracegate has finished it, which can be just
    # after the client read the answer: wait for all 14, then check exactly.
    def all_in():
        exp = scrape(tg)
        n = sum(sum(requests_of(exp, r).values()) for r in ("/api", "/down", "unmatched"))
        return exp if n >= 14 else None
    exp = wait_until(all_in, 10, "14 requests counted")

    assert requests_of(exp, "/api") == {"1xx": 0, "2xx": 8, "3xx": 0, "4xx": 3, "5xx": 0,
                                        "aborted": 0}
    assert requests_of(exp, "/down") == {"1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 2,
                                         "aborted": 0}
    assert requests_of(exp, "unmatched")["4xx"] == 1
    assert sum(requests_of(exp, "unmatched").values()) == 1

    # The histogram: 11 on /api, the slow one alone above 0.5 s and within 1 s.
    def bucket(route, le):
        return exp.value("tracegate_request_duration_seconds_bucket", route=route, le=le)
    assert exp.value("tracegate_request_duration_seconds_count", route="/api") == 11
    assert bucket("/api", "0.5") == 10
    assert bucket("/api", "1") == 11
    assert bucket("/api", "+Inf") == 11
    assert 0.6 <= exp.value("tracegate_request_duration_seconds_sum", route="/api") < 1.5
    assert exp.value("tracegate_request_duration_seconds_count", route="/down") == 2
    les = [l["le"] for l, _ in exp.samples("tracegate_request_duration_seconds_bucket")
           if l["route"] == "/api"]
    assert les == ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
                   "10", "+Inf"]

    # Upstream errors: the two refused connections, nothing else.
    errors = {(l["route"], l["kind"]): v for l, v in exp.samples("tracegate_upstream_errors_total")}
    assert errors[("/down", "connection_refused")] == 2
    assert sum(errors.values()) == 2
    assert ("unmatched", "connection_refused") not in errors

    # Spans: every request but the admin ones sampled; a SERVER and a CLIENT
    # span each, but only a SERVER span for the path no route matched.
    assert exp.value("tracegate_sampling_decisions_total", decision="sampled") == 14
    assert exp.value("tracegate_sampling_decisions_total", decision="not_sampled") == 0
    assert exp.value("tracegate_spans_started_total") == 13 * 2 + 1
    exp = wait_until(lambda: (lambda e: e if e.value("tracegate_spans_exported_total") >= 27
                              else None)(scrape(tg)), 10, "27 spans exported")
    assert exp.value("tracegate_spans_exported_total") == 27
    assert exp.value("tracegate_spans_queued_total") == 27
    assert exp.value("tracegate_span_queue_size") == 0
    assert exp.value("tracegate_span_queue_capacity") == 2048
    for reason in ("queue_full", "not_retryable", "retries_exhausted", "shutdown",
                   "shutdown_deadline"):
        assert exp.value("tracegate_spans_dropped_total", reason=reason) == 0
    assert exp.value("tracegate_export_batches_total") >= 1
    assert exp.value("tracegate_export_failures_total") == 0
    assert exp.value("tracegate_tracing_enabled") == 1
    assert exp.value("tracegate_sampling_rate") == 1


def test_admin_route_counted_apart_and_never_traced(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    scrapes = 0
    # Each scrape finds every earlier one counted under route="/admin" (it
    # cannot count itself: it is still running), and none on the other routes.
    def settled():
        nonlocal scrapes
        exp = scrape(tg)
        scrapes += 1
        return exp if requests_of(exp, "/admin")["2xx"] == scrapes - 1 else None
    for _ in range(3):
        exp = wait_until(settled, 10, "earlier scrapes counted")
    assert scrapes >= 3
    assert sum(requests_of(exp, "/api").values()) == 0
    assert exp.value("tracegate_sampling_decisions_total", decision="sampled") == 0
    assert exp.value("tracegate_sampling_decisions_total", decision="not_traced") == scrapes
    assert exp.value("tracegate_spans_started_total") == 0


def test_connections_and_in_flight_gauges(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    held = [Conn(tg.port) for _ in range(3)]
    try:
        for c in held:  # a request each, so tracegate has surely accepted them
            assert c.request("GET", "/api/echo").status == 200
        # Three held and the scrape's own.
        wait_until(lambda: scrape(tg).value("tracegate_client_connections") == 4, 10,
                   "4 connections")
        slow = held[0]
        slow.send_request("GET", "/api/delay/1500")
        # The slow request and the scrape are in flight.
        wait_until(lambda: scrape(tg).value("tracegate_requests_in_flight") == 2, 10,
                   "2 requests in flight")
        assert slow.read_response().status == 200
    finally:
        for c in held:
            c.close()
    exp = wait_until(lambda: (lambda e: e if e.value("tracegate_client_connections") == 1
                              else None)(scrape(tg)), 10, "only the scrape's connection")
    assert exp.value("tracegate_requests_in_flight") == 1


def test_client_abort_is_its_own_class_not_an_upstream_error(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    s = socket.create_connection(("127.0.0.1", tg.port))
    s.sendall(b"GET /api/delay/1200 HTTP/1.1\r\nHost: x\r\n\r\n")
    upstream.wait_requests(1, 10, "/delay/1200")
    s.close()
    exp = wait_until(lambda: (lambda e: e if requests_of(e, "/api")["aborted"] == 1
                              else None)(scrape(tg)), 10, "the abort counted")
    assert sum(requests_of(exp, "/api").values()) == 1
    assert sum(v for _, v in exp.samples("tracegate_upstream_errors_total")) == 0


def test_sampling_gauges_follow_post_admin_telemetry(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    exp = scrape(tg)
    assert exp.value("tracegate_sampling_rate") == 1
    assert exp.value("tracegate_tracing_enabled") == 1

    def post(body, token=TOKEN):
        headers = [("Content-Type", "application/json")]
        if token:
            headers.append(("Authorization", "Bearer " + token))
        return request(tg.port, "POST", "/admin/telemetry", headers=headers,
                       body=json.dumps(body).encode())

    assert post({"rate": 0.25}, token=None).status == 401
    assert scrape(tg).value("tracegate_sampling_rate") == 1
    r = post({"rate": 0.25})
    assert r.status == 200, r
    exp = scrape(tg)
    assert exp.value("tracegate_sampling_rate") == 0.25
    assert exp.value("tracegate_tracing_enabled") == 1
    assert post({"enabled": False}).status == 200
    exp = scrape(tg)
    assert exp.value("tracegate_tracing_enabled") == 0
    # Disabled: requests are counted but none is sampled.
    assert request(tg.port, "GET", "/api/echo").status == 200
    exp = wait_until(lambda: (lambda e: e if requests_of(e, "/api")["2xx"] == 1 else None)(
        scrape(tg)), 10, "the request counted")
    assert exp.value("tracegate_sampling_decisions_total", decision="sampled") == 0
    assert exp.value("tracegate_sampling_decisions_total", decision="not_sampled") == 1
    assert request(tg.port, "DELETE", "/admin/telemetry",
                   headers=[("Authorization", "Bearer " + TOKEN)]).status == 200
    exp = scrape(tg)
    assert exp.value("tracegate_sampling_rate") == 1
    assert exp.value("tracegate_tracing_enabled") == 1


def test_own_admin_listener_serves_metrics(start_tracegate, upstream):
    admin_port = free_port()
    tg = start(start_tracegate, upstream, args=("--admin-listen", "127.0.0.1:%d" % admin_port))
    assert request(tg.port, "GET", "/api/echo").status == 200
    for path in ("/metrics", "/admin/metrics"):
        exp = wait_until(lambda: (lambda e: e if requests_of(e, "/api")["2xx"] == 1 else None)(
            scrape(tg, path, port=admin_port)), 10, "the request counted")
        # No /admin route on the main listener: the scrapes pass no worker.
        assert not any(l["route"] == "/admin" for l, _ in exp.samples("tracegate_requests_total"))
    # On the main listener /admin is an ordinary path with no route.
    assert request(tg.port, "GET", "/admin/metrics").status == 404


def test_routes_follow_a_reload_and_counters_keep_going(start_tracegate, start_upstream, tmp_path):
    a, b = start_upstream("A"), start_upstream("B")
    path = tmp_path / "reload.json"
    cfg = {"access_log": "off", "routes": [{"prefix": "/a", "upstream": a.url}]}
    path.write_text(json.dumps(cfg))
    tg = start_tracegate("--config", path)
    for _ in range(3):
        assert request(tg.port, "GET", "/a/x").status == 200
    wait_until(lambda: requests_of(scrape(tg), "/a")["2xx"] == 3, 10, "3 requests on /a")
    assert not any(l["route"] == "/b" for l, _ in scrape(tg).samples("tracegate_requests_total"))

    path.write_text(json.dumps(dict(cfg, routes=[{"prefix": "/b", "upstream": b.url}])))
    tg.signal(signal.SIGHUP)
    tg.stderr.wait_for(lambda l: l.startswith("tracegate: reloaded"), 5, "the reload")
    assert request(tg.port, "GET", "/b/y").status == 200
    assert request(tg.port, "GET", "/a/x").status == 404  # /a is gone: unmatched now
    exp = wait_until(lambda: (lambda e: e if requests_of(e, "/b")["2xx"] == 1 else None)(
        scrape(tg)), 10, "the request on /b counted")
    # The route that went away keeps its series (a counter must not vanish
    # while it has counts); the new one starts from zero.
    assert requests_of(exp, "/a")["2xx"] == 3
    assert requests_of(exp, "unmatched")["4xx"] == 1
    assert exp.value("tracegate_request_duration_seconds_count", route="/b") == 1
