"""What the client sees when the upstream fails: 502 for refused, reset or garbage
before the response started, 504 for connect/header timeouts, and a cut
connection (never a clean, complete response) when the failure comes after the
response head was already sent. Also: a client that goes away makes tracegate
close the upstream connection."""

import socket
import time

import pytest

from conftest import PYTHON, UPSTREAM_SERVER, Proc, free_port
from rawhttp import Conn, request


def assert_tracegate_error(resp, status):
    assert resp.status == status, resp
    assert (resp.get("Content-Type") or "").startswith("text/plain"), resp.headers
    assert resp.body.startswith(b"tracegate: "), resp.body


def test_upstream_refused_gives_502(start_tracegate):
    dead = free_port()  # nothing listens here
    tg = start_tracegate("--upstream", "http://127.0.0.1:%d" % dead)
    with Conn(tg.port) as c:
        resp = c.request("GET", "/echo")
        assert_tracegate_error(resp, 502)
        # The reason says what happened, in libcurl's words.
        assert resp.body.decode().startswith(
            "tracegate: cannot connect to upstream 127.0.0.1:%d (Failed to connect" % dead), resp.body
        # An error answer is a complete response; the connection may go on.
        assert_tracegate_error(c.request("GET", "/echo"), 502)


@pytest.mark.parametrize("target", ["/garbage", "/close-now", "/reset-now"])
def test_upstream_garbage_close_or_reset_before_answer_gives_502(tg, target):
    with Conn(tg.port) as c:
        assert_tracegate_error(c.request("GET", target), 502)
        # The failed upstream connection is not reused for the next request.
        assert c.request("GET", "/echo").status == 200


def test_upstream_silent_gives_504_after_header_timeout(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "header_timeout_ms": 500})
    t0 = time.monotonic()
    resp = request(tg.port, "GET", "/silent")
    elapsed = time.monotonic() - t0
    assert_tracegate_error(resp, 504)
    assert 0.4 <= elapsed < 3.0, "504 after %.2fs with header_timeout_ms 500" % elapsed
    # The silent upstream connection must not be kept: tracegate closes it.
    conn_id = int(upstream.wait_requests(1, 5, target="/silent")[0].split()[1])
    upstream.wait_closed(conn_id, 5)


def test_route_header_timeout_overrides_top_level(start_tracegate, upstream):
    tg = start_tracegate(config={
        "upstream": upstream.url,
        "header_timeout_ms": 60000,
        "routes": [{"prefix": "/silent", "upstream": upstream.url,
                    "header_timeout_ms": 300}],
    })
    t0 = time.monotonic()
    resp = request(tg.port, "GET", "/silent")
    elapsed = time.monotonic() - t0
    assert_tracegate_error(resp, 504)
    assert elapsed < 3.0, "504 after %.2fs with the route's header_timeout_ms 300" % elapsed


@pytest.fixture
def blackhole_port():
    """A port whose listener never accepts and whose accept queue is full, so a
    new SYN is dropped and connect() hangs: the only way to exercise a connect
    timeout on 127.0.0.1."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    addr = lsock.getsockname()
    fillers = []
    try:
        for _ in range(16):
            c = socket.socket()
            c.settimeout(0.3)
            try:
                c.connect(addr)
            except socket.timeout:
                c.close()
                break
            fillers.append(c)
        else:
            pytest.fail("precondition: could not fill the accept queue of a test listener")
        yield addr[1]
    finally:
        for c in fillers:
            c.close()
        lsock.close()


def test_upstream_connect_timeout_gives_504(start_tracegate, blackhole_port):
    tg = start_tracegate(config={"upstream": "http://127.0.0.1:%d" % blackhole_port,
                                 "connect_timeout_ms": 300})
    t0 = time.monotonic()
    resp = request(tg.port, "GET", "/echo")
    elapsed = time.monotonic() - t0
    assert_tracegate_error(resp, 504)
    assert elapsed < 3.0, "504 after %.2fs with connect_timeout_ms 300" % elapsed


def test_upstream_reset_mid_response_cuts_client(tg, upstream):
    with Conn(tg.port) as c:
        c.send_request("GET", "/reset")
        resp = c.read_head()
        assert resp.status == 200, resp
        got = sum(len(d) for d in c.iter_body(resp, "GET"))
        assert not resp.complete, "client got a clean, complete response after an upstream reset"
        assert got < 1000000
        assert c.eof, "the client connection was not closed"
    upstream.stdout.wait_for(lambda l: l.startswith("RESET "), 5, "the upstream's RESET")


def test_upstream_idle_after_headers_cuts_client(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "idle_timeout_ms": 500})
    t0 = time.monotonic()
    with Conn(tg.port) as c:
        c.send_request("GET", "/hang-after-headers")
        resp = c.read_head()
        assert resp.status == 200, resp
        got = sum(len(d) for d in c.iter_body(resp, "GET"))
        elapsed = time.monotonic() - t0
        assert not resp.complete, "a stalled upstream body produced a complete response"
        assert got == 10, got
        assert elapsed < 4.0, "client cut after %.2fs with idle_timeout_ms 500" % elapsed
    conn_id = int(upstream.wait_requests(1, 5, target="/hang-after-headers")[0].split()[1])
    upstream.wait_closed(conn_id, 5)


def test_client_abort_mid_download_closes_upstream_connection(tg, upstream):
    c = Conn(tg.port)
    try:
        c.send_request("GET", "/slow-stream")
        resp = c.read_head()
        assert resp.status == 200, resp
        conn_id = int(resp.get("X-Conn-Id"))
        got = 0
        for d in c.iter_body(resp, "GET"):
            got += len(d)
            if got >= 300:
                break
    finally:
        c.close()
    assert "CLOSED %d" % conn_id not in upstream.stdout.lines()
    upstream.wait_closed(conn_id, 5)


def test_upstream_error_then_recovery(start_tracegate, start_upstream):
    """After the upstream dies, requests get 502; once an upstream is back on the
    same port the next request succeeds (no dead pooled connection is used)."""
    up = start_upstream("A")
    tg = start_tracegate("--upstream", up.url)
    with Conn(tg.port) as c:
        assert c.request("GET", "/echo").status == 200
        up.stop()
        assert_tracegate_error(c.request("GET", "/echo"), 502)
        again = Proc([PYTHON, UPSTREAM_SERVER, "--port", up.port, "--name", "B"], "upstream-B")
        try:
            again.stdout.wait_for(lambda l: l.startswith("PORT "), 10, "PORT")
            resp = c.request("GET", "/echo")
            assert resp.status == 200, resp
            assert resp.json()["server"] == "B"
        finally:
            again.stop()
