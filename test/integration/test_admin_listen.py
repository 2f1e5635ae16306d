"""Where the admin endpoints are served: under /admin on the main listener
by default, on their own listener with --admin-listen (the main listener
then forwards /admin like any path); health and readiness; and the test
export that answers "why do no traces appear?"."""

import signal
import threading

import pytest

from admin_client import TOKEN_ENV, admin, state
from conftest import free_port, wait_until
from otlp_receiver import start_receiver  # noqa: F401  (fixture)
from rawhttp import request


def test_mounted_under_admin_on_main_listener(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, env=TOKEN_ENV)
    assert admin(tg.port, "GET", "/admin/healthz", token=None).body == b"ok\n"
    r = admin(tg.port, "GET", "/admin/readyz", token=None)
    assert r.status == 200 and r.body == b"ready\n"
    r = admin(tg.port, "GET", "/admin/", token=None)
    paths = [e["path"] for e in r.json()["endpoints"]]
    assert "/admin/telemetry" in paths and "/admin/metrics" in paths
    # Only /admin is taken: the application keeps /healthz and /metrics.
    for path in ("/healthz", "/metrics", "/administrator", "/debug/tracez"):
        assert request(tg.port, "GET", path).status == 200
        upstream.wait_requests(1, 5, target=path)
    # Admin requests never reach the upstream and are not traced.
    targets = [l.split(" ", 3)[3] for l in upstream.stdout.lines() if l.startswith("REQ ")]
    assert "/administrator" in targets
    assert not [t for t in targets if t == "/admin" or t.startswith("/admin/")]
    assert admin(tg.port, "GET", "/admin/telemetry", token=None).get("traceresponse") is None


def test_own_listener_and_main_forwards_admin(start_tracegate, upstream):
    aport = free_port()
    tg = start_tracegate("--upstream", upstream.url, "--admin-listen", "127.0.0.1:%d" % aport,
                         env=TOKEN_ENV)
    tg.stderr.wait_for(lambda l: "admin endpoints on http://127.0.0.1:%d" % aport in l, 5,
                       "the admin startup line")
    for path in ("/healthz", "/admin/healthz"):
        assert admin(aport, "GET", path, token=None).status == 200
    assert admin(aport, "GET", "/readyz", token=None).status == 200
    r = admin(aport, "POST", "/admin/telemetry", {"rate": 0.5})
    assert r.status == 200 and r.json()["rate"] == 0.5
    assert admin(aport, "POST", "/telemetry", {"rate": 0.25}).json()["rate"] == 0.25
    # The main listener now forwards /admin to the application.
    r = admin(tg.port, "POST", "/admin/telemetry", {"rate": 0.0})
    assert r.status == 200 and b'"rate"' not in r.body
    upstream.wait_requests(1, 5, target="/admin/telemetry")
    assert state(aport)["rate"] == 0.25


def test_route_at_admin_needs_its_own_listener(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, "--route", "/admin=" + upstream.url,
                         ready=False)
    tg.expect_exit = True
    assert tg.wait_exit(10) == 1
    assert any("--admin-listen" in l for l in tg.stderr.lines())
    tg2 = start_tracegate("--upstream", upstream.url, "--route", "/admin=" + upstream.url,
                          "--admin-listen", "127.0.0.1:%d" % free_port())
    assert request(tg2.port, "GET", "/admin/x").status == 200


def test_not_ready_while_draining(start_tracegate, upstream):
    aport = free_port()
    tg = start_tracegate("--upstream", upstream.url, "--admin-listen", "127.0.0.1:%d" % aport)
    done = []
    t = threading.Thread(target=lambda: done.append(request(tg.port, "GET", "/delay/1500")))
    t.start()
    upstream.wait_requests(1, 5, target="/delay/1500")
    tg.signal(signal.SIGTERM)
    wait_until(lambda: admin(aport, "GET", "/readyz", token=None).status == 503, 5,
               "readyz to say not ready while draining")
    assert b"draining" in admin(aport, "GET", "/readyz", token=None).body
    t.join(10)
    assert done and done[0].status == 200
    tg.expect_exit = True
    assert tg.wait_exit(10) == 0


# ---- the test export ---------------------------------------------------------

def test_test_export_reaches_the_collector(start_tracegate, upstream, start_receiver):
    rx = start_receiver()
    env = dict(TOKEN_ENV, OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=rx.http_url)
    tg = start_tracegate("--upstream", upstream.url, env=env)
    r = admin(tg.port, "POST", "/admin/telemetry/test")
    assert r.status == 200, r
    res = r.json()
    assert res["delivered"] is True and res["requests"] == 1
    assert res["exporter"]["endpoint"] == rx.traces_url
    [span] = wait_until(lambda: rx.spans() or None, 5, "the test span")
    assert span["traceId"] == res["trace_id"]
    # Not without the token.
    assert admin(tg.port, "POST", "/admin/telemetry/test", token=None).status == 401


def test_test_export_reports_a_refusal(start_tracegate, upstream, start_receiver):
    rx = start_receiver()
    rx.control(mode="status", code=401, times=100)
    env = dict(TOKEN_ENV, OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=rx.http_url)
    tg = start_tracegate("--upstream", upstream.url, env=env)
    r = admin(tg.port, "POST", "/admin/telemetry/test")
    assert r.status == 502, r
    res = r.json()
    assert res["delivered"] is False and res["result"] == "not_retryable"
    assert "401" in res["message"]


def test_test_export_reports_no_collector(start_tracegate, upstream):
    dead = free_port()
    env = dict(TOKEN_ENV, OTEL_TRACES_EXPORTER="otlp",
               OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:%d" % dead,
               OTEL_EXPORTER_OTLP_TIMEOUT="1500")
    tg = start_tracegate("--upstream", upstream.url, env=env)
    r = admin(tg.port, "POST", "/admin/telemetry/test")
    assert r.status == 502, r
    res = r.json()
    assert res["delivered"] is False and res["message"]
    assert res["duration_ms"] < 5000


def test_test_export_without_exporter(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, env=TOKEN_ENV)
    r = admin(tg.port, "POST", "/admin/telemetry/test")
    assert r.status == 409 and "none" in r.json()["message"]
