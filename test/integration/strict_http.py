"""A strict reader of HTTP/1.1 request streams, for checking what tracegate
forwarded to an upstream.

Request smuggling lives in the gap between a strict and a lenient reader of
the same bytes. This reader allows nothing that RFC 9112 lets a recipient
tolerate or reject (bare LF or CR, obs-fold, whitespace before a colon,
repeated or listed Content-Length, Content-Length with Transfer-Encoding, a
coding other than "chunked", malformed chunk lines): bytes that pass it mean
one thing to every conforming reader.
"""

import re

TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
TARGET = re.compile(rb"^[\x21-\x7e]+$")
VALUE = re.compile(rb"^[\t\x20-\x7e\x80-\xff]*$")
CHUNK_LINE = re.compile(rb"^([0-9a-fA-F]{1,16})(;[\t\x20-\x7e]*)?$")


class Ambiguous(AssertionError):
    """The bytes are not a clean, unambiguous HTTP/1.1 request stream."""


class Request:
    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target
        self.headers = headers  # [(name, value)] as str, order kept
        self.body = body

    def get_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return "<Request %s %s headers=%r body=%r>" % (self.method, self.target,
                                                      self.headers, self.body[:80])


def _line(data, pos):
    """The line at pos and the position after its CRLF; None if incomplete."""
    end = data.find(b"\r\n", pos)
    if end < 0:
        return None, pos
    line = data[pos:end]
    if b"\r" in line or b"\n" in line:
        raise Ambiguous("bare CR or LF in %r" % line)
    return line, end + 2


def _chunked(data, pos):
    body = b""
    while True:
        line, nxt = _line(data, pos)
        if line is None:
            return None, pos
        m = CHUNK_LINE.match(line)
        if not m:
            raise Ambiguous("bad chunk line %r" % line)
        size = int(m.group(1), 16)
        pos = nxt
        if size == 0:
            break
        if len(data) < pos + size + 2:
            return None, pos
        body += data[pos:pos + size]
        if data[pos + size:pos + size + 2] != b"\r\n":
            raise Ambiguous("chunk data not followed by CRLF")
        pos += size + 2
    while True:  # trailer section
        line, nxt = _line(data, pos)
        if line is None:
            return None, pos
        pos = nxt
        if line == b"":
            return body, pos
        name, sep, _ = line.partition(b":")
        if not sep or not TOKEN.match(name):
            raise Ambiguous("bad trailer line %r" % line)


def parse_requests(data):
    """Split data into requests. Returns (requests, rest): rest is a last,
    incomplete request (the connection ended inside it) or b"". Raises
    Ambiguous at the first byte a lenient reader could read otherwise."""
    out = []
    pos = 0
    while pos < len(data):
        start = pos
        line, pos = _line(data, pos)
        if line is None:
            return out, data[start:]
        parts = line.split(b" ")
        if len(parts) != 3 or not TOKEN.match(parts[0]) or not TARGET.match(parts[1]) \
                or parts[2] != b"HTTP/1.1":
            raise Ambiguous("bad request line %r" % line)
        headers = []
        while True:
            line, nxt = _line(data, pos)
            if line is None:
                return out, data[start:]
            pos = nxt
            if line == b"":
                break
            if line[:1] in (b" ", b"\t"):
                raise Ambiguous("obs-fold %r" % line)
            name, sep, value = line.partition(b":")
            if not sep or not TOKEN.match(name):
                raise Ambiguous("bad field line %r" % line)
            value = value.strip(b" \t")
            if not VALUE.match(value):
                raise Ambiguous("control character in %r" % line)
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        names = [n.lower() for n, _ in headers]
        cl = [v for n, v in headers if n.lower() == "content-length"]
        te = [v for n, v in headers if n.lower() == "transfer-encoding"]
        if names.count("host") != 1:
            raise Ambiguous("%d Host fields" % names.count("host"))
        if te and cl:
            raise Ambiguous("Content-Length with Transfer-Encoding")
        if len(cl) > 1 or len(te) > 1:
            raise Ambiguous("repeated framing field")
        if te:
            if te[0] != "chunked":
                raise Ambiguous("Transfer-Encoding %r" % te[0])
            body, pos = _chunked(data, pos)
            if body is None:
                return out, data[start:]
        elif cl:
            if not re.match(r"^[0-9]{1,18}$", cl[0]):
                raise Ambiguous("Content-Length %r" % cl[0])
            n = int(cl[0])
            if len(data) < pos + n:
                return out, data[start:]
            body = data[pos:pos + n]
            pos += n
        else:
            body = b""
        out.append(Request(parts[0].decode(), parts[1].decode("latin-1"), headers, body))
    return out, b""
