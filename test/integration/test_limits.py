"""Request limits (413 body too large, 431 headers too large) and
Expect: 100-continue, which tracegate answers itself."""

import hashlib
import socket
import time

from conftest import pattern
from rawhttp import Conn, request


def test_body_over_limit_with_content_length_gives_413(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "max_body_bytes": 1000})
    resp = request(tg.port, "POST", "/echo", body=b"x" * 1001)
    assert resp.status == 413, resp
    resp = request(tg.port, "POST", "/echo", body=b"x" * 1000)
    assert resp.status == 200, resp
    assert resp.json()["body_length"] == 1000


def test_body_over_limit_chunked_gives_413(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "max_body_bytes": 1000})
    resp = request(tg.port, "POST", "/echo", chunks=[b"a" * 600, b"b" * 600, b"c" * 300])
    assert resp.status == 413, resp
    resp = request(tg.port, "POST", "/echo", chunks=[b"a" * 600, b"b" * 400])
    assert resp.status == 200, resp
    assert resp.json()["body_length"] == 1000


def test_body_limit_per_route(start_tracegate, upstream):
    tg = start_tracegate(config={
        "upstream": upstream.url,
        "max_body_bytes": 1000,
        "routes": [{"prefix": "/big", "upstream": upstream.url, "max_body_bytes": 100000}],
    })
    body = bytes(pattern.at(0, 5000))
    assert request(tg.port, "POST", "/echo", body=body).status == 413
    resp = request(tg.port, "POST", "/big/echo", body=body)
    assert resp.status == 200, resp
    assert resp.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert request(tg.port, "POST", "/big/echo", body=b"y" * 100001).status == 413


def test_headers_over_default_limit_give_431(tg):
    # Default max_header_bytes is 8192.
    resp = request(tg.port, "GET", "/echo", headers=[("X-Big", "b" * 20000)])
    assert resp.status == 431, resp
    resp = request(tg.port, "GET", "/echo", headers=[("X-Big", "b" * 8000)])
    assert resp.status == 200, resp
    assert ["X-Big", "b" * 8000] in resp.json()["headers"]


def test_headers_over_configured_limit_give_431(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "max_header_bytes": 4096})
    many = [("X-H%03d" % i, "v" * 40) for i in range(100)]  # ~5 KB over many lines
    assert request(tg.port, "GET", "/echo", headers=many).status == 431
    assert request(tg.port, "GET", "/echo", headers=[("X-Big", "b" * 5000)]).status == 431
    resp = request(tg.port, "GET", "/echo", headers=[("X-Big", "b" * 2000)])
    assert resp.status == 200, resp


def test_expect_100_continue(tg):
    body = bytes(pattern.at(777, 5000))
    with Conn(tg.port, timeout=5) as c:
        c.send(b"POST /sink HTTP/1.1\r\nHost: test.local\r\n"
               b"Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        # The body is held back until tracegate says 100 Continue; a proxy that
        # waits for the body first never answers and this read times out.
        try:
            interim = c.read_head()
        except socket.timeout:
            raise AssertionError("no 100 Continue within 5s of the request head")
        assert interim.status == 100, interim
        c.send(body)
        final = c.read_response("POST")
        assert final.status == 200, final
        doc = final.json()
        assert doc["body_length"] == 5000
        assert doc["body_sha256"] == hashlib.sha256(body).hexdigest()
        assert not [h for h in doc["headers"] if h[0].lower() == "expect"], doc["headers"]
        # Still in step for a next request on the same connection.
        assert c.request("GET", "/echo").status == 200


def test_expect_100_continue_refused_when_body_too_large(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "max_body_bytes": 1000})
    with Conn(tg.port, timeout=5) as c:
        c.send(b"POST /sink HTTP/1.1\r\nHost: test.local\r\n"
               b"Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        first = c.read_head()
        assert first.status == 413, "expected 413 instead of %d before the body" % first.status


def test_client_timeout_closes_a_stalled_request(start_tracegate, upstream):
    """A client that stops halfway through its request head is not kept forever."""
    tg = start_tracegate(config={"upstream": upstream.url, "client_timeout_ms": 1000})
    with Conn(tg.port, timeout=8) as c:
        c.send(b"GET /echo HTTP/1.1\r\nHost: test.local\r\nX-Half")
        t0 = time.monotonic()
        # Either a 408 answer followed by close, or a plain close.
        buf = b""
        while True:
            try:
                d = c.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                d = b""
            if not d:
                break
            buf += d
        elapsed = time.monotonic() - t0
        assert elapsed < 5.0, "stalled client still connected after %.1fs" % elapsed
        assert buf == b"" or buf.startswith(b"HTTP/1.1 408"), buf


def test_response_headers_over_limit_give_502(start_tracegate, upstream):
    """An upstream head larger than max_response_header_bytes (default 4096,
    nginx's proxy_buffer_size) is refused with 502, never half-forwarded."""
    tg = start_tracegate(config={"upstream": upstream.url})
    resp = request(tg.port, "GET", "/big-headers/3000")
    assert resp.status == 200, resp
    assert len(resp.get_all("Set-Cookie")) == 30, resp.headers
    resp = request(tg.port, "GET", "/big-headers/6000")
    assert resp.status == 502, resp
    assert b"response headers are too large" in resp.body, resp.body
    tg2 = start_tracegate(config={"upstream": upstream.url,
                                  "max_response_header_bytes": 16384})
    resp = request(tg2.port, "GET", "/big-headers/12000")
    assert resp.status == 200, resp
    assert len(resp.get_all("Set-Cookie")) == 120, resp.headers
