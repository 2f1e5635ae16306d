"""Bodies are streamed through tracegate, not buffered: 1 GiB each way in bounded
memory, chunked framing both ways, and server-sent events as they are written."""

import hashlib
import time

from conftest import RssSampler, pattern
from rawhttp import Conn

GIB = 1 << 30
RSS_LIMIT = 64 << 20


def expect_headers(doc):
    """Expect is hop-by-hop for tracegate: it answers 100-continue itself and
    must not make the upstream (which ignores Expect here) stall a large body."""
    return [h for h in doc["headers"] if h[0].lower() == "expect"]


def test_download_1gib_in_bounded_memory(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, "--access-log", "off")
    h = hashlib.sha256()
    n = 0
    with RssSampler(tg.pid) as rss:
        with Conn(tg.port, timeout=30) as c:
            c.send_request("GET", "/stream/%d" % GIB)
            resp = c.read_head()
            assert resp.status == 200, resp
            for d in c.iter_body(resp, "GET"):
                h.update(d)
                n += len(d)
        hwm = rss.peak_hwm_bytes()
    assert resp.complete and n == GIB, "got %d of %d bytes" % (n, GIB)
    assert h.hexdigest() == pattern.sha256(GIB)
    assert rss.samples > 10
    assert rss.peak < RSS_LIMIT, "tracegate RSS peaked at %.1f MiB" % (rss.peak / 2**20)
    assert hwm < RSS_LIMIT, "tracegate VmHWM is %.1f MiB" % (hwm / 2**20)


def test_upload_1gib_in_bounded_memory(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, "--access-log", "off")
    with RssSampler(tg.pid) as rss:
        with Conn(tg.port, timeout=30) as c:
            c.send(b"PUT /sink HTTP/1.1\r\nHost: test.local\r\n"
                   b"Content-Type: application/octet-stream\r\n"
                   b"Content-Length: %d\r\n\r\n" % GIB)
            for s in pattern.slices(GIB):
                c.send(s)
            resp = c.read_response("PUT")
        hwm = rss.peak_hwm_bytes()
    assert resp.status == 200, resp
    doc = resp.json()
    assert not expect_headers(doc), "tracegate sent %r upstream" % expect_headers(doc)
    assert doc["body_length"] == GIB
    assert doc["body_sha256"] == pattern.sha256(GIB)
    assert rss.samples > 10
    assert rss.peak < RSS_LIMIT, "tracegate RSS peaked at %.1f MiB" % (rss.peak / 2**20)
    assert hwm < RSS_LIMIT, "tracegate VmHWM is %.1f MiB" % (hwm / 2**20)


def test_chunked_request_body_reaches_upstream_intact(tg):
    sizes = [1, 2, 10, 100, 1000, 4095, 4096, 4097, 16384, 65535, 65536, 65537,
             1 << 20, 3 * (1 << 20) + 5]
    chunks = []
    pos = 0
    for s in sizes:
        chunks.append(bytes(pattern.at(pos, s)))
        pos += s
    whole = b"".join(chunks)
    with Conn(tg.port) as c:
        resp = c.request("POST", "/sink", chunks=chunks)
        assert resp.status == 200, resp
        doc = resp.json()
        assert not expect_headers(doc), "tracegate sent %r upstream" % expect_headers(doc)
        assert doc["body_length"] == len(whole)
        assert doc["body_sha256"] == hashlib.sha256(whole).hexdigest()
        # The client connection stays usable after a chunked request.
        assert c.request("GET", "/echo").status == 200


def test_chunked_request_with_extensions_and_trailer(tg):
    with Conn(tg.port) as c:
        c.send(b"POST /sink HTTP/1.1\r\nHost: test.local\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"5;name=value\r\nhello\r\n"
               b"6\r\n world\r\n"
               b"0\r\nX-Checksum: abc\r\n\r\n")
        resp = c.read_response("POST")
        assert resp.status == 200, resp
        doc = resp.json()
        assert doc["body_length"] == 11
        assert doc["body_sha256"] == hashlib.sha256(b"hello world").hexdigest()
        assert c.request("GET", "/echo").status == 200


def test_chunked_response_reaches_client_intact(tg):
    n = 5 * (1 << 20) + 3
    with Conn(tg.port) as c:
        resp = c.request("GET", "/chunked/%d" % n)
        assert resp.status == 200, resp.status
        assert resp.complete
        assert len(resp.body) == n
        assert hashlib.sha256(resp.body).hexdigest() == pattern.sha256(n)
        # A chunked response must end cleanly: the next request on the same
        # connection gets its own response.
        nxt = c.request("GET", "/chunked/10")
        assert nxt.status == 200 and nxt.body == pattern.data(10)


def test_empty_chunked_response(tg):
    with Conn(tg.port) as c:
        resp = c.request("GET", "/chunked/0")
        assert resp.status == 200 and resp.complete and resp.body == b""
        assert c.request("GET", "/echo").status == 200


def test_server_sent_events_arrive_as_written(tg):
    """Each event must reach the client within 100 ms of the upstream writing it,
    while the upstream keeps the response open (it never ends)."""
    events = []
    with Conn(tg.port) as c:
        c.send_request("GET", "/sse", headers=[("Accept", "text/event-stream")])
        resp = c.read_head()
        assert resp.status == 200, resp
        assert (resp.get("Content-Type") or "").startswith("text/event-stream"), resp
        buf = b""
        for d in c.iter_body(resp, "GET"):
            now_ns = time.time_ns()
            buf += d
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                fields = dict(line.split(": ", 1) for line in ev.decode().split("\n"))
                written_ns = int(fields["data"])
                events.append((int(fields["id"]), (now_ns - written_ns) / 1e6))
            if len(events) >= 5:
                break
        assert not resp.complete, "the event stream ended; the upstream never ends it"
    assert [e[0] for e in events[:5]] == [0, 1, 2, 3, 4], events
    late = [e for e in events[:5] if e[1] >= 100.0]
    assert not late, "events (id, ms after written) later than 100 ms: %r" % late


def test_content_length_response_streamed_as_it_arrives(tg):
    """A Content-Length body that the upstream writes slowly (100 bytes every
    50 ms) is passed on as it arrives, not held until complete."""
    n = 1000  # the upstream needs about 450 ms for all of it
    with Conn(tg.port) as c:
        t0 = time.monotonic()
        c.send_request("GET", "/drip/%d" % n)
        resp = c.read_head()
        head_s = time.monotonic() - t0
        assert resp.status == 200, resp
        arrivals = []
        body = b""
        for d in c.iter_body(resp, "GET"):
            arrivals.append(time.monotonic() - t0)
            body += d
    assert resp.complete and body == pattern.data(n)
    assert head_s < 0.2, "response head reached the client after %.3fs" % head_s
    assert arrivals[0] < 0.2, "first body bytes reached the client after %.3fs" % arrivals[0]
    assert len(arrivals) >= 3, "the body arrived in %d piece(s) at %r" % (len(arrivals), arrivals)


def test_content_length_passed_through_both_ways(tg):
    body = bytes(pattern.at(5, 54321))
    with Conn(tg.port) as c:
        resp = c.request("PUT", "/echo", body=body)
        assert resp.status == 200, resp
        doc = resp.json()
        assert not doc["body_chunked"], doc["headers"]
        assert [v for n, v in doc["headers"] if n.lower() == "content-length"] == ["54321"]
        resp = c.request("GET", "/bytes/54321")
        assert resp.get("Content-Length") == "54321", resp.headers
        assert resp.get("Transfer-Encoding") is None, resp.headers
        assert resp.body == pattern.data(54321)
