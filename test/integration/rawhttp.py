"""A small HTTP/1.1 client on a raw socket, for talking to tracegate in tests.

A general-purpose client hides exactly what these tests need to see: the raw
request target, interim 1xx responses, header order and repetition, whether a
response ended cleanly or the connection was cut, and whether a kept-alive
connection is really reused. This one hides nothing. Every socket operation has
a timeout, so a test that waits on tracegate fails instead of hanging.
"""

import socket

DEFAULT_TIMEOUT = 10.0


class Cut(Exception):
    """The connection ended (EOF or reset) before the response was complete."""


class Response:
    def __init__(self, status, reason, headers, version):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in arrival order
        self.version = version
        self.body = b""
        self.complete = False  # body framing was satisfied (not cut short)

    def get_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def get(self, name):
        vals = self.get_all(name)
        return vals[0] if vals else None

    def tokens(self, name):
        out = []
        for v in self.get_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def json(self):
        import json
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r headers=%r body[:200]=%r complete=%r>" % (
            self.status, self.reason, self.headers, self.body[:200], self.complete)


def bodiless(method, status):
    """RFC 9112 6.3: responses to HEAD, 1xx, 204 and 304 never carry a body."""
    return method == "HEAD" or status < 200 or status in (204, 304)


class Conn:
    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, source=None):
        self.port = port
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source is not None else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    # ---- low level -------------------------------------------------------

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        self.sock.sendall(data)

    def _recv(self, n=1 << 20):
        if self.eof:
            return b""
        try:
            data = self.sock.recv(n)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
        return data

    def _fill(self):
        data = self._recv()
        if not data:
            return False
        self.buf += data
        return True

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if not self._fill():
                raise Cut("EOF while reading a line; got %r" % bytes(self.buf))

    def read_some(self, maxn):
        """Up to maxn bytes: buffered ones first, else one recv. b'' at EOF."""
        if self.buf:
            data = bytes(self.buf[:maxn])
            del self.buf[:maxn]
            return data
        return self._recv(min(maxn, 1 << 20))

    def read_exact(self, n):
        out = bytearray()
        while len(out) < n:
            d = self.read_some(n - len(out))
            if not d:
                raise Cut("EOF after %d of %d bytes" % (len(out), n))
            out += d
        return bytes(out)

    def at_eof(self, timeout):
        """True if the peer has closed (or reset) the connection within timeout."""
        if self.buf:
            return False
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(old)
        if data:
            self.buf += data
            return False
        self.eof = True
        return True

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests --------------------------------------------------------

    def send_request(self, method, target, headers=(), body=None, chunks=None,
                     host="test.local"):
        """Send a request head and body.

        body: bytes sent with Content-Length (unless headers already frame it).
        chunks: list of bytes sent with Transfer-Encoding: chunked.
        A "Host" in headers replaces the default; host=None sends none.
        """
        hdrs = list(headers)
        names = {n.lower() for n, _ in hdrs}
        if host is not None and "host" not in names:
            hdrs.insert(0, ("Host", host))
        if chunks is not None and "transfer-encoding" not in names:
            hdrs.append(("Transfer-Encoding", "chunked"))
        elif body is not None and "content-length" not in names and \
                "transfer-encoding" not in names:
            hdrs.append(("Content-Length", str(len(body))))
        head = "%s %s HTTP/1.1\r\n" % (method, target)
        head += "".join("%s: %s\r\n" % (n, v) for n, v in hdrs) + "\r\n"
        out = head.encode("latin-1")
        if chunks is not None:
            out += b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c)
            out += b"0\r\n\r\n"
        elif body is not None:
            out += body
        self.send(out)

    def read_head(self):
        """Read one response head (interim or final)."""
        line = self.readline()
        while line == b"":
            line = self.readline()
        parts = line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise AssertionError("not an HTTP status line: %r" % line)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        while True:
            line = self.readline()
            if line == b"":
                break
            n, v = line.decode("latin-1").split(":", 1)
            headers.append((n, v.strip(" \t")))
        return Response(status, reason, headers, version)

    def iter_body(self, resp, method):
        """Yield the body of resp as it arrives; sets resp.complete at the end.

        Chunked data is yielded as soon as any of it is received, not per whole
        chunk, so a test can see when bytes arrive. Stops without raising when
        the connection is cut; resp.complete then stays False.
        """
        if bodiless(method, resp.status):
            resp.complete = True
            return
        te = resp.tokens("transfer-encoding")
        if te:
            if te[-1] != "chunked":
                raise AssertionError("unexpected Transfer-Encoding %r" % te)
            while True:
                try:
                    line = self.readline()
                except Cut:
                    return
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    try:
                        while self.readline() != b"":
                            pass  # trailers
                    except Cut:
                        return
                    resp.complete = True
                    return
                left = size
                while left:
                    d = self.read_some(left)
                    if not d:
                        return
                    left -= len(d)
                    yield d
                try:
                    if self.read_exact(2) != b"\r\n":
                        raise AssertionError("bad chunk terminator")
                except Cut:
                    return
        cl = resp.get("content-length")
        if cl is not None:
            left = int(cl)
            while left:
                d = self.read_some(min(left, 1 << 20))
                if not d:
                    return
                left -= len(d)
                yield d
            resp.complete = True
            return
        # No framing: the body runs to connection close (RFC 9112 6.3 item 8).
        while True:
            d = self.read_some(1 << 20)
            if not d:
                resp.complete = True
                return
            yield d

    def read_response(self, method="GET", keep_interim=False):
        """Read a whole response. Interim 1xx responses are skipped unless
        keep_interim, in which case a list [interim..., final] is returned."""
        interim = []
        while True:
            resp = self.read_head()
            if 100 <= resp.status < 200 and resp.status != 101:
                interim.append(resp)
                continue
            break
        resp.body = b"".join(self.iter_body(resp, method))
        if keep_interim:
            return interim + [resp]
        return resp

    def request(self, method, target, headers=(), body=None, chunks=None,
                host="test.local"):
        self.send_request(method, target, headers, body, chunks, host)
        return self.read_response(method)


def request(port, method, target, headers=(), body=None, chunks=None,
            host="test.local", timeout=DEFAULT_TIMEOUT):
    """One request on a fresh connection."""
    with Conn(port, timeout=timeout) as c:
        return c.request(method, target, headers, body, chunks, host)


class KeepAliveClients:
    """n threads, each looping GET target on one kept-alive connection until
    the with block ends. errors: every non-200 answer, wrong-length body or
    exception (a dropped connection); counts: requests per client.

        with KeepAliveClients(tg.port, "/bytes/3", 4, body_len=3) as k:
            ...change things...
        assert k.errors == [] and min(k.counts) > 0
    """

    def __init__(self, port, target, n, body_len=None):
        import threading
        self.errors, self.counts = [], [0] * n
        self._stop = threading.Event()
        self._args = (port, target, body_len)
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(n)]

    def _run(self, i):
        port, target, body_len = self._args
        try:
            with Conn(port) as c:
                while not self._stop.is_set():
                    r = c.request("GET", target)
                    if r.status != 200 or (body_len is not None and len(r.body) != body_len):
                        self.errors.append(r)
                    self.counts[i] += 1
        except Exception as e:  # noqa: BLE001 - a dropped connection lands here
            self.errors.append(e)

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(10)
