"""Hostile and malformed input that is not about framing: oversized request
lines, fields and field counts; huge or malformed trace context headers
(never a failed request, at most a new trace); invalid UTF-8 and control
characters in targets and fields (nothing can split a line of what tracegate
forwards or of its access log); bytes that are not HTTP at all. Each case:
a clear answer or a closed connection, no client socket left behind, and the
same worker serving the next request."""

import json
import re

import pytest

from conftest import client_connections, wait_until
from rawhttp import Conn, request
from strict_http import parse_requests

TP_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]$")
IN_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
IN_TP = "00-%s-00f067aa0ba902b7-01" % IN_TRACE


def read_until_close(conn, timeout=5.0):
    conn.settimeout(timeout)
    data = b""
    while True:
        d = conn.read_some(1 << 16)
        if not d:
            return data
        data += d


def send_raw(port, raw):
    """Send raw bytes; return everything received until the server closed."""
    with Conn(port) as c:
        try:
            c.send(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while still sending; what arrived is checked
        return read_until_close(c)


def status_of(data):
    return int(data.split(b"\r\n", 1)[0].split(b" ")[1])


def still_serving(tg):
    assert request(tg.port, "GET", "/echo?after=1").status == 200
    wait_until(lambda: not client_connections(tg), 5,
               "tracegate to release every client connection")


def forwarded_requests(up):
    out = []
    for _, data in sorted(up.raw().items()):
        reqs, rest = parse_requests(data)  # raises on anything ambiguous
        assert not rest, rest[:200]
        out += reqs
    return out


@pytest.fixture
def proxied(start_upstream, start_tracegate):
    up = start_upstream("A", "--record")
    tg = start_tracegate("--upstream", up.url, "--workers", "1")
    return up, tg


# ---- sizes ---------------------------------------------------------------

@pytest.mark.parametrize("length,status", [(7000, 200), (20000, 414), (1 << 20, 414)])
def test_request_line_length(proxied, length, status):
    up, tg = proxied
    target = "/" + "a" * (length - 1)
    with Conn(tg.port) as c:
        if status == 200:
            resp = c.request("GET", target)
            assert resp.status == 200, resp
            assert resp.json()["target"] == target
        else:
            try:
                c.send(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % target.encode())
            except (BrokenPipeError, ConnectionResetError):
                pass
            data = read_until_close(c)
            assert status_of(data) == status, data[:200]
    still_serving(tg)
    assert all(len(r.target) < 8192 for r in forwarded_requests(up))


@pytest.mark.parametrize("count,status", [(150, 200), (400, 431), (20000, 431)])
def test_header_field_count(proxied, count, status):
    up, tg = proxied
    fields = b"".join(b"x-%d: y\r\n" % i for i in range(count))
    data = send_raw(tg.port, b"GET /echo?n=%d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n%s\r\n"
                    % (count, fields))
    assert status_of(data) == status, data[:200]
    still_serving(tg)
    got = [r for r in forwarded_requests(up) if r.target == "/echo?n=%d" % count]
    if status == 200:
        assert len(got) == 1 and len(got[0].get_all("x-0")) == 1
    else:
        assert not got


def test_one_megabyte_field_refused(proxied):
    up, tg = proxied
    data = send_raw(tg.port, b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * (1 << 20)
                    + b"\r\n\r\n")
    assert status_of(data) == 431, data[:200]
    still_serving(tg)


# ---- trace context -------------------------------------------------------

BIG = 60000  # bytes, inside a raised max_header_bytes

TRACE_CASES = [
    # (id, headers, inbound trace continued?)
    ("huge-traceparent", [("traceparent", IN_TP + "-" + "f" * BIG)], False),
    ("traceparent-control-chars", [("traceparent", IN_TP[:20] + "\x01\x7f" + IN_TP[22:])], False),
    ("traceparent-utf8", [("traceparent", IN_TP[:-2] + "é")], False),
    ("traceparent-invalid-utf8", [("traceparent", IN_TP.encode()[:-1] + b"\xff")], False),
    ("traceparent-all-zero", [("traceparent", "00-" + "0" * 32 + "-" + "0" * 16 + "-01")], False),
    ("traceparent-repeated-80", [("traceparent", IN_TP)] * 80, False),
    ("huge-tracestate", [("traceparent", IN_TP),
                         ("tracestate", ",".join("k%d=%s" % (i, "v" * 50) for i in range(1100)))],
     True),
    ("tracestate-one-huge-member", [("traceparent", IN_TP), ("tracestate", "k=" + "v" * BIG)],
     True),
    ("tracestate-invalid-utf8", [("traceparent", IN_TP), ("tracestate", b"k=\xff\xfe,a=b")],
     True),
    ("tracestate-100-fields", [("traceparent", IN_TP)] + [("tracestate", "k%d=v" % i)
                                                          for i in range(100)], True),
    ("huge-baggage", [("traceparent", IN_TP), ("baggage", "k=" + "v" * BIG)], True),
    ("baggage-many-members", [("traceparent", IN_TP),
                              ("baggage", ",".join("k%d=v" % i for i in range(5000)))], True),
    ("baggage-garbage", [("traceparent", IN_TP), ("baggage", b"\xff\xfe=;;;,,=%zz%")], True),
    ("baggage-100-fields", [("traceparent", IN_TP)] + [("baggage", "k%d=v" % i)
                                                       for i in range(100)], True),
]


@pytest.mark.parametrize("name,headers,continued", TRACE_CASES, ids=[c[0] for c in TRACE_CASES])
def test_bad_trace_context_never_fails_the_request(start_upstream, start_tracegate, name,
                                                   headers, continued):
    up = start_upstream("A")
    tg = start_tracegate(config={"upstream": up.url, "max_header_bytes": 1 << 17,
                                 "workers": 1})
    raw = b"GET /echo HTTP/1.1\r\nHost: a\r\n"
    for n, v in headers:
        raw += n.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n"
    with Conn(tg.port) as c:
        c.send(raw + b"\r\n")
        resp = c.read_response()
        assert resp.status == 200, resp
        doc = resp.json()
        tps = [v for n, v in doc["headers"] if n.lower() == "traceparent"]
        assert len(tps) == 1 and TP_RE.match(tps[0]), doc["headers"]
        trace_id = TP_RE.match(tps[0]).group(1)
        assert (trace_id == IN_TRACE) == continued, (tps, continued)
        assert trace_id != "0" * 32
        tr = resp.get("traceresponse")
        assert tr is not None and TP_RE.match(tr).group(1) == trace_id, resp.headers
        # Whatever is passed on is bounded and valid on its own.
        ts = [v for n, v in doc["headers"] if n.lower() == "tracestate"]
        assert len(ts) <= 1 and all(len(v) <= 512 for v in ts), ts
        bg = [v for n, v in doc["headers"] if n.lower() == "baggage"]
        assert len(bg) <= 1 and all(len(v) <= 8192 for v in bg), [len(v) for v in bg]
        # The connection goes on.
        assert c.request("GET", "/echo").status == 200


# ---- bytes that could split a line ---------------------------------------

def test_invalid_utf8_and_control_characters_cannot_split_lines(proxied):
    """Targets and fields with raw high bytes, invalid UTF-8 and encoded CR
    LF: what reaches the upstream is one strict request per request sent, and
    every access-log line is one JSON object with the path escaped."""
    up, tg = proxied
    sent = [
        # (raw request, status, target the upstream must see or None)
        (b"GET /caf%C3%A9/%FF%FE/x?q=%80 HTTP/1.1\r\nHost: a\r\n\r\n", 200,
         "/caf%C3%A9/%FF%FE/x?q=%80"),
        # Raw octets above 0x7e are not a request-target (RFC 3986): 400,
        # not a silent re-encoding.
        (b"GET /caf\xc3\xa9/\xff\xfe/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, None),
        (b"GET /x?q=\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, None),
        (b"GET /a%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: a\r\n\r\n", 200,
         "/a%0d%0aX-Injected:%20yes"),
        (b"GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 200, "/a%00b"),
        (b"GET /obs-text HTTP/1.1\r\nHost: a\r\nX-Text: caf\xc3\xa9 \xff\xfe\x80\r\n\r\n", 200,
         "/obs-text"),
        (b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", 400, None),
        (b"GET /a?x=\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, None),
        (b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, None),
        (b"GET /x HTTP/1.1\r\nHost: a\r\nX-\xc3\xa9: v\r\n\r\n", 400, None),
        (b"GET /x HTTP/1.1\r\nHost: a\r\nX-A: v\x1b[31m\r\n\r\n", 400, None),
    ]
    for raw, status, target in sent:
        with Conn(tg.port) as c:
            c.send(raw)
            resp = c.read_response()
            assert resp.status == status, (raw, resp)
            if status == 200:
                assert resp.json()["target"] == target, resp.json()
    # A raw CR inside the target: libmicrohttpd closes without an answer.
    data = send_raw(tg.port, b"GET /a\rX-Injected: yes HTTP/1.1\r\nHost: a\r\n\r\n")
    assert data == b"" or status_of(data) == 400, data[:200]
    still_serving(tg)

    reqs = forwarded_requests(up)
    want = [t for _, s, t in sent if s == 200] + ["/echo?after=1"]
    assert [r.target for r in reqs] == want, reqs
    assert not any(n.lower() == "x-injected" for r in reqs for n, _ in r.headers)
    obs = [r for r in reqs if r.target == "/obs-text"][0]
    # obs-text (RFC 9110 5.5) is passed on byte for byte.
    assert obs.get_all("X-Text") == ["caf\xc3\xa9 \xff\xfe\x80"], obs.headers

    # One line per request tracegate read a head for (the raw-CR one never
    # got that far), each one JSON object.
    tg.wait_access_log(len(sent) + 1)
    lines = [l for l in tg.stdout.lines() if l.strip()]
    assert len(lines) == len(sent) + 1, lines
    for l in lines:
        doc = json.loads(l)  # one object per line, nothing split or glued
        assert not any(ord(ch) < 0x20 for ch in l), l
        assert isinstance(doc["path"], str)
    paths = [json.loads(l)["path"] for l in lines]
    assert "/caf\u00e9/\ufffd\ufffd/x" in paths, paths  # UTF-8 kept, invalid bytes replaced
    assert "/a\x01b" in paths, paths  # logged escaped (\u0001), then parsed back


NOT_HTTP = [
    ("binary", b"\x00\x01\x02\xff\xfe\r\n\r\n"),
    ("tls-client-hello", bytes.fromhex("16030100a5010000a10303") + b"\x00" * 200),
    ("empty-lines", b"\r\n" * 100),
    ("no-version", b"GET /x\r\n\r\n"),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
]


@pytest.mark.parametrize("name,raw", NOT_HTTP, ids=[c[0] for c in NOT_HTTP])
def test_not_http_at_all(start_upstream, start_tracegate, name, raw):
    """Either a clear 4xx/5xx answer or a close once client_timeout_ms has
    passed; nothing is forwarded."""
    up = start_upstream("A")
    tg = start_tracegate(config={"upstream": up.url, "client_timeout_ms": 1000, "workers": 1})
    data = send_raw(tg.port, raw)
    assert data == b"" or 400 <= status_of(data) < 600, data[:200]
    still_serving(tg)
    assert [l for l in up.stdout.lines() if l.startswith("REQ ")] == \
        [l for l in up.stdout.lines() if l.startswith("REQ ") and "/echo?after=1" in l]


@pytest.mark.parametrize("options", [50, 100])
def test_every_connection_option_removed_or_request_refused(proxied, options):
    """RFC 9110 7.6.1: every field the Connection header names is removed
    before forwarding. Past the 64 options tracegate can track the request is
    refused; it is never forwarded with some of them left in."""
    up, tg = proxied
    names = ["X-Opt-%d" % i for i in range(options - 1)] + ["X-Secret"]
    with Conn(tg.port) as c:
        c.send_request("GET", "/echo?opts=%d" % options,
                       headers=[("Connection", ", ".join(names)), ("X-Secret", "s")])
        resp = c.read_response()
    if options <= 64:
        assert resp.status == 200, resp
        got = [n.lower() for n, _ in resp.json()["headers"]]
        assert "x-secret" not in got, got
    else:
        assert resp.status == 400, resp
    still_serving(tg)
    for r in forwarded_requests(up):
        assert not r.get_all("X-Secret"), r
