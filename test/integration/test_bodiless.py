"""Responses without a body (RFC 9112 6.3): HEAD, 204 and 304 carry headers only,
and the kept-alive client connection stays in step afterwards."""

import pytest

from conftest import pattern
from rawhttp import Conn


def test_head_returns_headers_without_body(tg):
    with Conn(tg.port) as c:
        resp = c.request("HEAD", "/bytes/12345")
        assert resp.status == 200, resp
        assert resp.get("Content-Length") == "12345", resp.headers
        assert resp.body == b""
        # A HEAD response is complete without a body; it is no reason to end
        # the kept-alive connection.
        assert "close" not in resp.tokens("Connection"), resp.headers
        # Any body bytes sent after the HEAD response would be read here as the
        # start of the next response and fail the status-line parse.
        nxt = c.request("GET", "/bytes/5")
        assert nxt.status == 200 and nxt.body == pattern.data(5)


def test_head_of_unknown_length_is_framed_by_close(tg):
    """The upstream answers HEAD as if chunked. libmicrohttpd 0.9.75 can only
    frame that as chunked (it would then send a stray terminator) or with a
    false Content-Length: 0, so tracegate ends the head with the connection:
    no length claimed, no stray bytes, at the price of this connection."""
    with Conn(tg.port) as c:
        resp = c.request("HEAD", "/chunked/12345")
        assert resp.status == 200, resp
        assert resp.get("Content-Length") is None, resp.headers
        assert resp.get("Transfer-Encoding") is None, resp.headers
        assert "close" in resp.tokens("Connection"), resp.headers
        assert resp.body == b""
        c.sock.settimeout(5)
        assert c.sock.recv(100) == b"", "bytes after a HEAD response"


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_status_keeps_connection(tg, status):
    with Conn(tg.port) as c:
        for _ in range(3):
            resp = c.request("GET", "/status/%d" % status,
                             headers=[("If-None-Match", '"v1"')])
            assert resp.status == status, resp
            assert resp.get("Transfer-Encoding") is None, resp.headers
            assert resp.get("Content-Length") in (None, "0"), resp.headers
            if status == 304:
                assert resp.get("ETag") == '"v1"', resp.headers
            assert resp.body == b""
            assert "close" not in resp.tokens("Connection"), resp.headers
            nxt = c.request("GET", "/echo")
            assert nxt.status == 200 and nxt.json()["target"] == "/echo"
