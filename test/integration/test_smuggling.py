"""Request smuggling and malformed framing (RFC 9112 sections 2.2, 5, 6).

Each case sends one raw request, usually followed by a second request
("GET /smuggled") that only a reader who disagrees about where the first one
ends would see. The upstream records every byte it receives (server.py
--record) and a strict reader (strict_http.py) splits them into requests:
nothing ambiguous may arrive, and /smuggled never. Each case also checks that
the client got a clear answer, that the connection was closed when the
framing was in doubt (tracegate holds no socket for it afterwards), and that
the same worker goes on serving.

Answers made by tracegate itself are text/plain "tracegate: ..."; a few
malformed heads are refused by libmicrohttpd before tracegate sees them
("by": "mhd"). libmicrohttpd 0.9.75 sends its own error head twice in those
answers (once more inside the body), so for them only the status line and
the close are checked.
"""

import pytest

from conftest import client_connections, wait_until
from rawhttp import Conn, request
from strict_http import parse_requests

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
CHUNKED_ABCD = b"4\r\nabcd\r\n0\r\n\r\n"


def post(*fields, version=b"HTTP/1.1"):
    head = b"POST /x " + version + b"\r\nHost: a\r\n" + b"".join(f + b"\r\n" for f in fields)
    return head + b"\r\n"


# (id, raw bytes, status, answered by, targets the upstream must see)
REFUSED = [
    ("cl-then-te", post(b"Content-Length: 4", b"Transfer-Encoding: chunked") + b"0\r\n\r\n"
     + SMUGGLED, 400, "tracegate"),
    ("te-then-cl", post(b"Transfer-Encoding: chunked", b"Content-Length: 4") + b"0\r\n\r\n"
     + SMUGGLED, 400, "tracegate"),
    ("two-different-cl", post(b"Content-Length: 4", b"Content-Length: 40") + b"abcd"
     + SMUGGLED, 400, "tracegate"),
    ("two-equal-cl", post(b"Content-Length: 4", b"Content-Length: 4") + b"abcd" + SMUGGLED,
     400, "tracegate"),
    ("cl-list", post(b"Content-Length: 4, 4") + b"abcd" + SMUGGLED, 400, "mhd"),
    ("cl-plus", post(b"Content-Length: +4") + b"abcd" + SMUGGLED, 400, "mhd"),
    ("cl-negative", post(b"Content-Length: -1") + b"abcd" + SMUGGLED, 400, "mhd"),
    ("cl-huge", post(b"Content-Length: 99999999999999999999999") + b"abcd" + SMUGGLED, 413,
     "mhd"),
    ("te-xchunked", post(b"Transfer-Encoding: xchunked") + CHUNKED_ABCD + SMUGGLED, 400,
     "tracegate"),
    ("te-chunked-identity", post(b"Transfer-Encoding: chunked, identity") + CHUNKED_ABCD
     + SMUGGLED, 400, "tracegate"),
    ("te-identity-chunked", post(b"Transfer-Encoding: identity, chunked") + CHUNKED_ABCD
     + SMUGGLED, 501, "tracegate"),
    ("te-trailing-tab", post(b"Transfer-Encoding: chunked\t") + CHUNKED_ABCD + SMUGGLED, 400,
     "tracegate"),
    ("te-twice", post(b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity")
     + CHUNKED_ABCD + SMUGGLED, 400, "tracegate"),
    ("te-http10", post(b"Transfer-Encoding: chunked", version=b"HTTP/1.0") + CHUNKED_ABCD
     + SMUGGLED, 400, "tracegate"),
    ("te-space-before-colon", post(b"Transfer-Encoding : chunked") + CHUNKED_ABCD + SMUGGLED,
     400, "tracegate"),
    ("cl-space-before-colon", post(b"Content-Length : 4") + b"abcd" + SMUGGLED, 400,
     "tracegate"),
    ("name-with-space", post(b"X Foo: bar", b"Content-Length: 4") + b"abcd" + SMUGGLED, 400,
     "tracegate"),
    ("leading-space-first-field", b"POST /x HTTP/1.1\r\n Transfer-Encoding: chunked\r\n"
     b"Host: a\r\n\r\n" + CHUNKED_ABCD + SMUGGLED, 400, "tracegate"),
    ("obs-fold", post(b"X-A: b", b"  c") + SMUGGLED, 400, "tracegate"),
    # libmicrohttpd 0.9.75 appends the first character of a folded line to
    # the field name: this one would read as Content-Length: 4.
    ("obs-fold-builds-cl", post(b"Content-Lengt: 4", b" h") + b"abcd" + SMUGGLED, 400,
     "tracegate"),
    ("bare-lf-everywhere", b"POST /x HTTP/1.1\nHost: a\nContent-Length: 4\n\nabcd" + SMUGGLED,
     400, "tracegate"),
    ("bare-lf-hides-cl", b"POST /x HTTP/1.1\r\nHost: a\r\nX-A: b\nContent-Length: 4\r\n\r\n"
     b"abcd" + SMUGGLED, 400, "tracegate"),
    ("bare-lf-after-request-line", b"POST /x HTTP/1.1\nHost: a\r\nContent-Length: 4\r\n\r\n"
     b"abcd" + SMUGGLED, 400, "tracegate"),
    ("bare-cr", post(b"X-A: b\rContent-Length: 4") + b"abcd" + SMUGGLED, 400, "tracegate"),
    ("nul-in-value", post(b"X-A: b\x00Content-Length: 4") + b"abcd" + SMUGGLED, 400,
     "tracegate"),
    # The method goes into the upstream request line as it came.
    ("method-with-tab", b"G\tET /x HTTP/1.1\r\nHost: a\r\n\r\n" + SMUGGLED, 400, "tracegate"),
    ("method-with-ctl", b"G\x01T /x HTTP/1.1\r\nHost: a\r\n\r\n" + SMUGGLED, 400, "tracegate"),
    ("method-not-token", b"G(T /x HTTP/1.1\r\nHost: a\r\n\r\n" + SMUGGLED, 400, "tracegate"),
    ("two-hosts", b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SMUGGLED, 400,
     "tracegate"),
    ("head-with-body", b"HEAD /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd"
     + SMUGGLED, 400, "tracegate-head"),
]

# Chunked bodies that libmicrohttpd refuses while reading them: the head has
# already gone upstream, so the upstream may see a request cut short (then
# its connection closes), never a complete one.
BAD_CHUNKS = [
    ("chunk-size-not-hex", b"zz\r\nabcd\r\n0\r\n\r\n", 400),
    ("chunk-size-negative", b"-4\r\nabcd\r\n0\r\n\r\n", 400),
    ("chunk-size-0x", b"0x4\r\nabcd\r\n0\r\n\r\n", 400),
    ("chunk-size-space", b"4 \r\nabcd\r\n0\r\n\r\n", 400),
    ("chunk-size-overflow", b"fffffffffffffffffff1\r\nabcd\r\n0\r\n\r\n", 413),
    ("chunk-data-longer", b"4\r\nabcdef\r\n0\r\n\r\n", 400),
]

# Accepted: the framing has one reading (RFC 9112 allows leading whitespace
# and any case in "chunked", chunk extensions). Exactly one request arrives,
# re-framed by tracegate, with the body intact.
ACCEPTED = [
    ("te-leading-spaces", post(b"Transfer-Encoding:   chunked") + CHUNKED_ABCD),
    ("te-leading-tab", post(b"Transfer-Encoding:\tchunked") + CHUNKED_ABCD),
    ("te-uppercase", post(b"Transfer-Encoding: CHUNKED") + CHUNKED_ABCD),
    ("chunk-extension", post(b"Transfer-Encoding: chunked") + b"4;name=value\r\nabcd\r\n0\r\n\r\n"),
    # libmicrohttpd reads chunk lines ended by a bare LF; what is forwarded
    # is chunked anew with CRLF, so it has one reading upstream.
    ("chunk-lines-bare-lf", post(b"Transfer-Encoding: chunked") + b"4\nabcd\n0\n\n"),
]


def read_until_close(conn, timeout=5.0):
    """Everything the server sends until it closes; fails if it does not."""
    conn.settimeout(timeout)
    data = b""
    while True:
        d = conn.read_some(1 << 16)
        if not d:
            return data
        data += d


def status_and_head(data):
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ")[1])
    fields = {}
    for line in head[1:]:
        n, _, v = line.partition(":")
        fields.setdefault(n.strip().lower(), v.strip())
    return status, fields, data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""


@pytest.fixture
def proxied(start_upstream, start_tracegate):
    up = start_upstream("A", "--record")
    tg = start_tracegate("--upstream", up.url, "--workers", "1")
    return up, tg


def forwarded(up, after):
    """Complete requests the upstream received, after the follow-up request
    to `after` has arrived; also the incomplete tails."""
    up.wait_requests(1, 5, target=after)
    reqs, tails = [], []
    for _, data in sorted(up.raw().items()):
        got, rest = parse_requests(data)
        reqs += got
        if rest:
            tails.append(rest)
    return reqs, tails


def check_still_serving_and_released(tg, up):
    resp = request(tg.port, "GET", "/echo?after=1")
    assert resp.status == 200, resp
    wait_until(lambda: not client_connections(tg), 5,
               "tracegate to release every client connection")
    return forwarded(up, "/echo?after=1")


@pytest.mark.parametrize("name,raw,status,by", REFUSED, ids=[c[0] for c in REFUSED])
def test_ambiguous_request_refused_and_closed(proxied, name, raw, status, by):
    up, tg = proxied
    with Conn(tg.port) as c:
        c.send(raw)
        data = read_until_close(c)
    got, fields, body = status_and_head(data)
    assert got == status, data[:300]
    assert fields.get("connection", "").lower() == "close", data[:300]
    if by.startswith("tracegate"):
        assert fields.get("content-type", "").startswith("text/plain"), data[:300]
    if by == "tracegate":
        assert body.startswith(b"tracegate: "), body
        assert int(fields["content-length"]) == len(body), data[:300]
    elif by == "tracegate-head":
        assert body == b"", body  # an answer to HEAD has no body
    reqs, tails = check_still_serving_and_released(tg, up)
    assert [r.target for r in reqs] == ["/echo?after=1"], reqs
    assert not tails, tails


@pytest.mark.parametrize("name,chunks,status", BAD_CHUNKS, ids=[c[0] for c in BAD_CHUNKS])
def test_bad_chunk_framing_refused_nothing_complete_forwarded(proxied, name, chunks, status):
    up, tg = proxied
    with Conn(tg.port) as c:
        c.send(post(b"Transfer-Encoding: chunked") + chunks + SMUGGLED)
        data = read_until_close(c)
    got, fields, _ = status_and_head(data)
    assert got == status, data[:300]
    assert fields.get("connection", "").lower() == "close", data[:300]
    reqs, tails = check_still_serving_and_released(tg, up)
    assert [r.target for r in reqs] == ["/echo?after=1"], reqs
    # A head that went upstream before the body failed ends there: the
    # upstream connection that carried it is closed, not reused.
    for t in tails:
        assert t.startswith(b"POST /x HTTP/1.1\r\n"), t
        assert b"/smuggled" not in t, t


@pytest.mark.parametrize("name,raw", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_unambiguous_framing_forwarded_once(proxied, name, raw):
    up, tg = proxied
    with Conn(tg.port) as c:
        c.send(raw)
        resp = c.read_response("POST")
        assert resp.status == 200, resp
        assert resp.json()["body_length"] == 4
        # The connection stays usable: the framing was not in doubt.
        assert c.request("GET", "/echo").status == 200
    reqs, tails = check_still_serving_and_released(tg, up)
    assert [r.target for r in reqs] == ["/x", "/echo", "/echo?after=1"], reqs
    assert reqs[0].body == b"abcd"
    assert reqs[0].get_all("Transfer-Encoding") == ["chunked"], reqs[0]
    assert not tails, tails
