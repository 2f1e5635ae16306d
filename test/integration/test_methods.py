"""Every request method reaches the upstream unchanged, with or without a body."""

import hashlib

import pytest

from conftest import pattern
from rawhttp import Conn

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]
BODY = bytes(pattern.at(12345, 10007))


# HEAD with a body is refused instead (test_head_with_body_is_refused).
CASES = [(m, b) for m in METHODS for b in (False, True) if not (m == "HEAD" and b)]


@pytest.mark.parametrize("method,with_body", CASES,
                         ids=["%s-%s" % (m, "body" if b else "no-body") for m, b in CASES])
def test_method_and_body_reach_upstream(tg, upstream, method, with_body):
    body = BODY if with_body else None
    target = "/echo/%s?body=%d" % (method.lower(), int(with_body))
    with Conn(tg.port) as c:
        resp = c.request(method, target, body=body)
        assert resp.status == 200, resp
        # The upstream reports what it read in headers too, so HEAD is covered.
        assert resp.get("X-Echo-Method") == method, resp
        want_len = len(BODY) if with_body else 0
        want_sha = hashlib.sha256(BODY if with_body else b"").hexdigest()
        assert resp.get("X-Echo-Body-Length") == str(want_len), resp
        assert resp.get("X-Echo-Body-Sha256") == want_sha, resp
        if method == "HEAD":
            assert resp.body == b""
        else:
            doc = resp.json()
            assert doc["method"] == method
            assert doc["target"] == target
            assert doc["body_length"] == want_len
            assert doc["body_sha256"] == want_sha
            if with_body:
                # Content-Length framing is passed through, not re-chunked.
                assert not doc["body_chunked"], doc["headers"]
        # The connection is still good for a second request after this method.
        again = c.request("GET", "/echo/after")
        assert again.status == 200 and again.json()["target"] == "/echo/after"
    upstream.stdout.wait_for(lambda l: l.startswith("REQ ") and l.split(" ", 3)[2:] == [method, target],
                             5, "REQ %s %s" % (method, target))


def test_head_with_body_is_refused(tg, upstream):
    """RFC 9110 9.3.2: content in HEAD has no defined semantics and is a known
    smuggling vector; tracegate answers 400 and closes instead of forwarding."""
    with Conn(tg.port) as c:
        resp = c.request("HEAD", "/echo/head", body=BODY)
        assert resp.status == 400, resp
        assert "close" in resp.tokens("Connection"), resp.headers
    # An empty body (Content-Length: 0) is no body, and is forwarded.
    with Conn(tg.port) as c:
        resp = c.request("HEAD", "/echo/head", body=b"")
        assert resp.status == 200, resp
        assert resp.get("X-Echo-Method") == "HEAD"
