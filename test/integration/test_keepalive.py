"""Keep-alive on both sides: many requests on one client connection, and
upstream connections reused across requests."""

import asyncio

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


async def _wave(conns, path):
    """One request on each kept-alive connection, all in flight at once;
    the X-Conn-Id (upstream connection) of each answer."""
    async def one(reader, writer):
        writer.write(b"GET %s HTTP/1.1\r\nHost: test.local\r\n\r\n" % path.encode())
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        assert lines[0].split(" ")[1] == "200", lines[0]
        fields = dict((n.strip().lower(), v.strip())
                      for n, v in (l.split(":", 1) for l in lines[1:] if ":" in l))
        await reader.readexactly(int(fields["content-length"]))
        return int(fields["x-conn-id"])
    return await asyncio.gather(*(one(r, w) for r, w in conns))


async def _waves(port, clients, waves, path):
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
    try:
        return [await _wave(conns, path) for _ in range(waves)]
    finally:
        for _, w in conns:
            w.close()


def test_upstream_connections_reused_at_high_concurrency(start_tracegate, upstream):
    """300 requests in flight at once on one worker spread over several curl
    multi handles (worker_internal.h); the next waves must find the idle
    connections the first wave left, whichever handle holds them."""
    tg = start_tracegate("--upstream", upstream.url, "--workers", "1")
    first, *later = asyncio.run(_waves(tg.port, 300, 4, "/delay/100"))
    assert len(set(first)) == 300, "300 requests in flight shared upstream connections"
    for n, wave in enumerate(later, 2):
        new = set(wave) - set(first)
        assert not new, "wave %d opened %d new upstream connections" % (n, len(new))
