#!/usr/bin/env python3
"""A real HTTP/1.1 upstream for tracegate's integration tests.

Written on raw asyncio streams rather than a framework so that it can misbehave
on purpose (reset mid-response, answer garbage, go silent) and so that it sees
the request exactly as tracegate sent it: raw request target, header order and
case, chunked framing.

Run:  server.py [--port N] [--name NAME] [--record] [--close-rate P]
With port 0 (the default) it binds a free port. Its stdout is a line protocol
the tests read:
    PORT <n>                       once, when listening
    OPEN <conn-id>                 a TCP connection was accepted
    REQ <conn-id> <method> <target>  a request head was read
    RAW <conn-id> <hex>            with --record: bytes as they were received,
                                   before any parsing
    DROP <conn-id>                 with --close-rate: closing that kept-alive
                                   connection on purpose
    CLOSED <conn-id>               that connection is gone (either side closed)
Connection ids count from 1 per process.

--close-rate P: after each complete response, close the kept-alive
connection without a word with probability P (what a server behind an idle
timeout or a load balancer does to a proxy's pooled connection). The RNG is
seeded from --seed so a run can be repeated.

Behaviour is chosen by the path (the part of the target before '?'):
    /echo, /sink, anything unknown   JSON describing the request (method, target,
                                     headers as [name, value] pairs, body length
                                     and sha256); the body is hashed while
                                     streaming, never held, so any size works
    /bytes/N          N pattern bytes with Content-Length
    /chunked/N        N pattern bytes, chunked, in chunks of varied sizes
    /stream/N         N pattern bytes with Content-Length in 1 MiB writes
    /sse              text/event-stream, one event every 50 ms, never ends
    /slow-stream      chunked, 100 bytes every 50 ms, never ends
    /drip/N           N pattern bytes with Content-Length, 100 bytes every 50 ms
    /cookies          three Set-Cookie headers
    /hop-headers      a response carrying hop-by-hop headers
    /empty-header     a response with empty header values ("X-Empty:")
    /status/N         status N (204 and 304 without body)
    /delay/MS         reads the body, waits MS ms, then answers like /echo
    /silent           reads the request and never answers
    /hang-after-headers  headers with Content-Length 1000, 10 body bytes, then nothing
    /reset            headers with Content-Length 1000000, 64 KiB, then a TCP RST
    /garbage          bytes that are not HTTP, then close
    /close-now        reads the request, closes without answering
    /close-if-reused  on a connection's first request like /echo; on a later
                      one reads the request and closes without answering
                      (a pooled connection that died as it was reused)
    /reset-if-reused  the same, resetting the connection instead
    /reset-now        reads the request, resets the connection without answering
    /conn-id          the connection id as the body
    /extra-response   a complete response and a second one nobody asked for
                      ("poison") in the same write, connection kept open
    /extra-later      a complete response; 20 ms later the poison, then
                      "EXTRA <conn-id>"; connection kept open
    /bad-length       a response whose Content-Length is not a number
    /folded           a response header folded over two lines (obs-fold)
    /close-mid-head   part of a response head, then close
    /head-then-close  a complete head with Content-Length 100, 10 bytes, close
"""

import argparse
import asyncio
import hashlib
import itertools
import json
import random
import socket
import struct
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
import pattern  # noqa: E402

NAME = "upstream"
CLOSE_RATE = 0.0
_rng = random.Random(0)
_conn_ids = itertools.count(1)

REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
    302: "Found", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
    500: "Internal Server Error", 503: "Service Unavailable",
}


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class BadRequest(Exception):
    pass


class Request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # list of (name, value), order and case kept
        self.path = target.split("?", 1)[0]

    def get(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def tokens(self, name):
        out = []
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def keep_alive(self):
        conn = self.tokens("connection")
        if "close" in conn:
            return False
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return True


async def read_request(reader):
    """Read one request head; None on a clean EOF between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise BadRequest("truncated head")
    lines = head[:-4].decode("latin-1").split("\r\n")
    while lines and lines[0] == "":
        lines.pop(0)  # RFC 9112 2.2: ignore empty lines before the request-line
    if not lines:
        raise BadRequest("empty head")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest("bad request line")
    headers = []
    for line in lines[1:]:
        if ":" not in line:
            raise BadRequest("bad header line")
        n, v = line.split(":", 1)
        headers.append((n, v.strip(" \t")))
    return Request(parts[0], parts[1], parts[2], headers)


async def read_body(reader, req):
    """Consume the request body; return a dict with length, sha256, framing, trailers."""
    h = hashlib.sha256()
    length = 0
    trailers = []
    te = req.tokens("transfer-encoding")
    chunked = bool(te) and te[-1] == "chunked"
    if chunked:
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size")
            if size == 0:
                break
            left = size
            while left:
                data = await reader.read(min(left, 1 << 20))
                if not data:
                    raise asyncio.IncompleteReadError(b"", left)
                h.update(data)
                left -= len(data)
            length += size
            if await reader.readexactly(2) != b"\r\n":
                raise BadRequest("bad chunk end")
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            n, v = line[:-2].decode("latin-1").split(":", 1)
            trailers.append([n, v.strip()])
    else:
        cl = req.get("content-length")
        left = int(cl) if cl is not None else 0
        while left:
            data = await reader.read(min(left, 1 << 20))
            if not data:
                raise asyncio.IncompleteReadError(b"", left)
            h.update(data)
            length += len(data)
            left -= len(data)
    return {"body_length": length, "body_sha256": h.hexdigest(),
            "body_chunked": chunked, "trailers": trailers}


def head_bytes(status, headers, conn_id):
    out = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
    for n, v in headers:
        out.append("%s: %s" % (n, v))
    out.append("X-Conn-Id: %d" % conn_id)
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


async def respond(writer, req, conn_id, status, headers, body=b""):
    """Send a complete response with Content-Length (none on 204/304)."""
    headers = list(headers)
    if status not in (204, 304):
        headers.append(("Content-Length", str(len(body))))
    if not req.keep_alive():
        headers.append(("Connection", "close"))
    writer.write(head_bytes(status, headers, conn_id))
    if req.method != "HEAD" and status not in (204, 304):
        writer.write(body)
    await writer.drain()
    return req.keep_alive()


def reset(writer):
    """Close with a TCP RST instead of a FIN (SO_LINGER with a zero timeout)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def chunk(data):
    return b"%x\r\n" % len(data) + bytes(data) + b"\r\n"


async def wait_closed_by_peer(reader, closed):
    """Set `closed` when the peer closes or resets (used while streaming forever)."""
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass
    closed.set()


async def stream_forever(reader, writer, req, conn_id, headers, make_piece):
    writer.write(head_bytes(200, headers + [("Transfer-Encoding", "chunked")], conn_id))
    await writer.drain()
    closed = asyncio.Event()
    watcher = asyncio.ensure_future(wait_closed_by_peer(reader, closed))
    try:
        k = 0
        while not closed.is_set():
            writer.write(chunk(make_piece(k)))
            await writer.drain()
            k += 1
            try:
                await asyncio.wait_for(closed.wait(), 0.05)
            except asyncio.TimeoutError:
                pass
    finally:
        watcher.cancel()
    return False


async def handle_request(reader, writer, req, conn_id):
    """Serve one request; return True to keep the connection for another."""
    path = req.path
    seg = path.strip("/").split("/")

    # Every behaviour consumes the request body first, as a real server would
    # before answering; echo reports what was read.
    body_info = await read_body(reader, req)

    if path == "/silent":
        closed = asyncio.Event()
        await wait_closed_by_peer(reader, closed)
        return False

    if path == "/hang-after-headers":
        writer.write(head_bytes(200, [("Content-Length", "1000"),
                                      ("Content-Type", "application/octet-stream")], conn_id))
        writer.write(bytes(pattern.at(0, 10)))
        await writer.drain()
        closed = asyncio.Event()
        await wait_closed_by_peer(reader, closed)
        return False

    if path == "/garbage":
        writer.write(b"\x00\xff\xfeTHIS IS NOT HTTP\r\n\x01\x02\r\n\r\n")
        await writer.drain()
        return False

    if path == "/close-now":
        return False

    if path in ("/extra-response", "/extra-later"):
        ok = head_bytes(200, [("Content-Length", "3")], conn_id) + b"ok\n"
        poison = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX-Poison: 1\r\n\r\npoison!"
        if path == "/extra-response":
            writer.write(ok + poison)
            await writer.drain()
            return True
        writer.write(ok)
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(poison)
        await writer.drain()
        log("EXTRA %d" % conn_id)
        return True

    if path == "/folded":
        writer.write(head_bytes(200, [("X-Folded", "part1\r\n   part2"),
                                      ("Content-Length", "3")], conn_id) + b"ok\n")
        await writer.drain()
        return req.keep_alive()

    if path == "/bad-length":
        writer.write(head_bytes(200, [("Content-Length", "12abc")], conn_id) + b"x" * 12)
        await writer.drain()
        return True

    if path == "/close-mid-head":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl")
        await writer.drain()
        return False

    if path == "/head-then-close":
        writer.write(head_bytes(200, [("Content-Length", "100")], conn_id) + b"x" * 10)
        await writer.drain()
        return False

    if path == "/reset-now":
        reset(writer)
        return False

    if path == "/reset":
        writer.write(head_bytes(200, [("Content-Length", "1000000"),
                                      ("Content-Type", "application/octet-stream")], conn_id))
        writer.write(bytes(pattern.at(0, 65536)))
        await writer.drain()
        # Give tracegate time to pass the head and first bytes on, so that the
        # reset lands mid-body rather than before the response started.
        await asyncio.sleep(0.2)
        log("RESET %d" % conn_id)
        reset(writer)
        return False

    if path == "/sse":
        def event(k):
            return ("id: %d\ndata: %d\n\n" % (k, time.time_ns())).encode()
        return await stream_forever(reader, writer, req, conn_id,
                                    [("Content-Type", "text/event-stream"),
                                     ("Cache-Control", "no-cache")], event)

    if path == "/slow-stream":
        return await stream_forever(reader, writer, req, conn_id,
                                    [("Content-Type", "application/octet-stream")],
                                    lambda k: pattern.at(k * 100, 100))

    if seg[0] == "drip" and len(seg) == 2:
        n = int(seg[1])
        writer.write(head_bytes(200, [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(n))], conn_id))
        pos = 0
        while pos < n:
            k = min(100, n - pos)
            writer.write(bytes(pattern.at(pos, k)))
            await writer.drain()
            pos += k
            if pos < n:
                await asyncio.sleep(0.05)
        return req.keep_alive()

    if seg[0] == "bytes" and len(seg) == 2:
        n = int(seg[1])
        return await respond(writer, req, conn_id, 200,
                             [("Content-Type", "application/octet-stream")], pattern.data(n))

    if seg[0] == "chunked" and len(seg) == 2:
        n = int(seg[1])
        writer.write(head_bytes(200, [("Content-Type", "application/octet-stream"),
                                      ("Transfer-Encoding", "chunked")], conn_id))
        if req.method != "HEAD":
            sizes = itertools.cycle([1, 7, 100, 1000, 4096, 8191, 65536, 65537, 300000])
            pos = 0
            while pos < n:
                k = min(next(sizes), n - pos)
                writer.write(chunk(pattern.at(pos, k)))
                pos += k
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return req.keep_alive()

    if seg[0] == "stream" and len(seg) == 2:
        n = int(seg[1])
        writer.write(head_bytes(200, [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(n))], conn_id))
        if req.method != "HEAD":
            for s in pattern.slices(n):
                writer.write(s)
                await writer.drain()
        await writer.drain()
        return req.keep_alive()

    if seg[0] == "cookies":
        return await respond(writer, req, conn_id, 200, [
            ("Content-Type", "text/plain"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/"),
            ("Set-Cookie", "c=3; HttpOnly"),
        ], b"cookies\n")

    if seg[0] == "big-headers" and len(seg) == 2:
        # About N bytes of response headers, in 100-byte Set-Cookie lines.
        n = int(seg[1])
        lines = [("Set-Cookie", "k%05d=%s" % (i, "v" * 80)) for i in range(max(1, n // 100))]
        return await respond(writer, req, conn_id, 200,
                             [("Content-Type", "text/plain")] + lines, b"big\n")

    if seg[0] == "hop-headers":
        return await respond(writer, req, conn_id, 200, [
            ("Content-Type", "text/plain"),
            ("Connection", "keep-alive, X-Upstream-Hop"),
            ("Keep-Alive", "timeout=17, max=99"),
            ("X-Upstream-Hop", "secret"),
            ("Upgrade", "h2c"),
            ("Via", "1.1 upstream-cache"),
            ("X-End-To-End", "kept"),
        ], b"hop\n")

    if seg[0] == "empty-header":
        return await respond(writer, req, conn_id, 200, [
            ("Content-Type", "text/plain"),
            ("X-Empty", ""),
            ("X-After", "kept"),
            ("X-Empty-Too", ""),
        ], b"empty\n")

    if seg[0] == "status" and len(seg) == 2:
        status = int(seg[1])
        headers = []
        if status == 304:
            headers.append(("ETag", '"v1"'))
        return await respond(writer, req, conn_id, status, headers,
                             b"" if status in (204, 304) else b"status %d\n" % status)

    if seg[0] == "conn-id":
        return await respond(writer, req, conn_id, 200, [("Content-Type", "text/plain")],
                             str(conn_id).encode())

    # /echo, /sink, /delay/MS and everything else: describe the request.
    delay_ms = 0
    if seg[0] == "delay" and len(seg) == 2:
        delay_ms = int(seg[1])
        await asyncio.sleep(delay_ms / 1000.0)
    doc = {
        "server": NAME,
        "conn_id": conn_id,
        "method": req.method,
        "target": req.target,
        "version": req.version,
        "headers": [[n, v] for n, v in req.headers],
        "delay_ms": delay_ms,
    }
    doc.update(body_info)
    body = json.dumps(doc).encode()
    return await respond(writer, req, conn_id, 200, [
        ("Content-Type", "application/json"),
        ("X-Echo-Method", req.method),
        ("X-Echo-Body-Length", str(body_info["body_length"])),
        ("X-Echo-Body-Sha256", body_info["body_sha256"]),
    ], body)


class RecordingReader(asyncio.StreamReader):
    """A StreamReader that logs every byte it is fed as a RAW line."""

    conn_id = 0

    def feed_data(self, data):
        log("RAW %d %s" % (self.conn_id, bytes(data).hex()))
        super().feed_data(data)


async def handle_conn(reader, writer):
    conn_id = next(_conn_ids)
    reader.conn_id = conn_id
    log("OPEN %d" % conn_id)
    writer.transport.set_write_buffer_limits(high=4 << 20)
    served = 0
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                break
            log("REQ %d %s %s" % (conn_id, req.method, req.target))
            served += 1
            if req.path in ("/close-if-reused", "/reset-if-reused") and served > 1:
                await read_body(reader, req)
                log("DROP %d" % conn_id)
                if req.path == "/reset-if-reused":
                    reset(writer)
                break
            if not await handle_request(reader, writer, req, conn_id):
                break
            if CLOSE_RATE > 0 and _rng.random() < CLOSE_RATE:
                log("DROP %d" % conn_id)
                break
    except BadRequest as e:
        try:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (len(str(e)), str(e).encode()))
            await writer.drain()
        except (ConnectionError, OSError):
            pass
    except (ConnectionError, OSError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError):
        pass
    finally:
        log("CLOSED %d" % conn_id)
        writer.close()


async def main():
    global NAME, CLOSE_RATE
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--name", default="upstream")
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--close-rate", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    NAME = args.name
    CLOSE_RATE = args.close_rate
    _rng.seed(args.seed)
    loop = asyncio.get_running_loop()
    if args.record:
        # The StreamReader is made here so that it can log what it is fed.
        def factory():
            reader = RecordingReader(limit=1 << 20, loop=loop)
            return asyncio.StreamReaderProtocol(reader, handle_conn, loop=loop)
        server = await loop.create_server(factory, "127.0.0.1", args.port, backlog=4096)
    else:
        server = await asyncio.start_server(handle_conn, "127.0.0.1", args.port,
                                            backlog=4096, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    log("PORT %d" % port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
