"""Keep-alive on both sides: many requests on one client connection, and
upstream connections reused across requests."""

from conftest import pattern
from rawhttp import Conn


def test_many_requests_on_one_client_connection(tg):
    with Conn(tg.port) as c:
        for i in range(200):
            method = ("GET", "POST", "PUT", "DELETE")[i % 4]
            body = (b"%d" % i) * 10 if method in ("POST", "PUT") else None
            resp = c.request(method, "/echo?i=%d" % i, body=body)
            assert resp.status == 200, (i, resp)
            doc = resp.json()
            assert doc["target"] == "/echo?i=%d" % i
            assert doc["method"] == method
            assert doc["body_length"] == (len(body) if body else 0)
            assert "close" not in resp.tokens("Connection"), (i, resp.headers)
        assert not c.eof


def test_pipelined_requests_answered_in_order(tg):
    with Conn(tg.port) as c:
        c.send(b"".join(b"GET /echo?p=%d HTTP/1.1\r\nHost: test.local\r\n\r\n" % i
                        for i in range(10)))
        for i in range(10):
            resp = c.read_response("GET")
            assert resp.status == 200, (i, resp)
            assert resp.json()["target"] == "/echo?p=%d" % i


def test_upstream_connections_reused_across_one_client_connection(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, "--workers", "2")
    ids = set()
    with Conn(tg.port) as c:
        for i in range(100):
            resp = c.request("GET", "/conn-id")
            assert resp.status == 200, resp
            ids.add(int(resp.body))
    assert len(ids) <= 2, "100 sequential requests used %d upstream connections" % len(ids)


def test_upstream_connections_reused_across_client_connections(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, "--workers", "2")
    ids = set()
    for i in range(100):
        with Conn(tg.port) as c:
            resp = c.request("GET", "/conn-id")
            assert resp.status == 200, resp
            ids.add(int(resp.body))
    assert len(ids) <= 2, "100 sequential requests used %d upstream connections" % len(ids)


def test_client_connection_close_honoured(tg):
    with Conn(tg.port) as c:
        resp = c.request("GET", "/echo", headers=[("Connection", "close")])
        assert resp.status == 200
        assert c.at_eof(5), "tracegate kept the connection open after Connection: close"


def test_http10_client_gets_response_and_close(tg):
    with Conn(tg.port) as c:
        c.send(b"GET /bytes/100 HTTP/1.0\r\nHost: test.local\r\n\r\n")
        resp = c.read_response("GET")
        assert resp.status == 200, resp
        assert resp.body == pattern.data(100)
        assert c.at_eof(5), "tracegate kept an HTTP/1.0 connection open without keep-alive"
