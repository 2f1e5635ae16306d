"""Header handling in both directions: hop-by-hop fields dropped (RFC 9110 7.6.1),
X-Forwarded-* and Via added, repeated Set-Cookie kept apart, and the request
target forwarded byte for byte."""

from rawhttp import Conn, request


def hdr_all(doc, name):
    """All values of a header the upstream received, in order."""
    return [v for n, v in doc["headers"] if n.lower() == name.lower()]


def list_items(values):
    """Split comma-separated header values into items (for list-valued fields)."""
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def test_repeated_set_cookie_kept_as_separate_headers(tg):
    resp = request(tg.port, "GET", "/cookies")
    assert resp.status == 200, resp
    # Set-Cookie cannot be folded into one line (RFC 6265 3): the Expires date
    # has a comma in it.
    assert resp.get_all("Set-Cookie") == [
        "a=1; Path=/",
        "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/",
        "c=3; HttpOnly",
    ], resp.headers


def test_request_hop_by_hop_dropped_and_forwarding_headers_added(tg):
    resp = request(tg.port, "GET", "/echo", host=None, headers=[
        ("Host", "client.example:8443"),
        ("Connection", "keep-alive, X-Custom-Hop"),
        ("X-Custom-Hop", "hop-value"),
        ("Keep-Alive", "timeout=300"),
        ("TE", "trailers"),
        ("Trailer", "X-Checksum"),
        ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("Proxy-Connection", "keep-alive"),
        ("X-Forwarded-For", "203.0.113.7"),
        ("Via", "1.0 client-proxy"),
        ("X-End-To-End", "yes"),
    ])
    assert resp.status == 200, resp
    doc = resp.json()
    got = {n.lower() for n, _ in doc["headers"]}
    for dropped in ("x-custom-hop", "te", "trailer", "upgrade",
                    "proxy-authorization", "proxy-connection", "expect"):
        assert dropped not in got, "%s reached the upstream: %r" % (dropped, doc["headers"])
    assert "timeout=300" not in hdr_all(doc, "Keep-Alive"), doc["headers"]
    conn_tokens = [t.lower() for t in list_items(hdr_all(doc, "Connection"))]
    assert "x-custom-hop" not in conn_tokens, doc["headers"]
    assert hdr_all(doc, "X-End-To-End") == ["yes"]
    assert hdr_all(doc, "Host") == ["client.example:8443"]
    assert list_items(hdr_all(doc, "X-Forwarded-For")) == ["203.0.113.7", "127.0.0.1"], \
        doc["headers"]
    assert hdr_all(doc, "X-Forwarded-Proto") == ["http"], doc["headers"]
    assert hdr_all(doc, "X-Forwarded-Host") == ["client.example:8443"], doc["headers"]
    assert list_items(hdr_all(doc, "Via")) == ["1.0 client-proxy", "1.1 tracegate"], \
        doc["headers"]


def test_forwarding_headers_without_client_values(tg):
    resp = request(tg.port, "GET", "/echo", host="plain.example")
    assert resp.status == 200, resp
    doc = resp.json()
    assert hdr_all(doc, "X-Forwarded-For") == ["127.0.0.1"], doc["headers"]
    assert hdr_all(doc, "X-Forwarded-Host") == ["plain.example"], doc["headers"]
    assert hdr_all(doc, "X-Forwarded-Proto") == ["http"], doc["headers"]
    assert list_items(hdr_all(doc, "Via")) == ["1.1 tracegate"], doc["headers"]
    assert hdr_all(doc, "Host") == ["plain.example"], doc["headers"]


def test_response_hop_by_hop_dropped_and_via_added(tg):
    with Conn(tg.port) as c:
        resp = c.request("GET", "/hop-headers")
        assert resp.status == 200, resp
        names = {n.lower() for n, _ in resp.headers}
        assert "x-upstream-hop" not in names, resp.headers
        assert "upgrade" not in names, resp.headers
        assert "timeout=17, max=99" not in resp.get_all("Keep-Alive"), resp.headers
        assert "x-upstream-hop" not in resp.tokens("Connection"), resp.headers
        assert resp.get_all("X-End-To-End") == ["kept"], resp.headers
        assert list_items(resp.get_all("Via")) == ["1.1 upstream-cache", "1.1 tracegate"], \
            resp.headers
        assert resp.body == b"hop\n"
        # Dropping the upstream's Connection header must not end the client's
        # keep-alive connection.
        assert c.request("GET", "/echo").status == 200


def test_via_added_to_plain_response(tg):
    resp = request(tg.port, "GET", "/bytes/10")
    assert resp.status == 200
    assert list_items(resp.get_all("Via")) == ["1.1 tracegate"], resp.headers


def test_raw_request_target_forwarded_byte_identical(tg):
    targets = [
        "/a%2Fb/../c?x=%20&y",
        "/./dot/./segments/..?",
        "//double//slashes//",
        "/q?empty=&flag&enc=%2F%3F%26%23&plus=a+b",
        "/%E2%82%AC/caf%C3%A9/%7Euser",
        "/x;matrix=1,2?at=@&colon=:&tilde=~",
        "/UPPER/%2f%2F/lower",
    ]
    with Conn(tg.port) as c:
        for t in targets:
            resp = c.request("GET", t)
            assert resp.status == 200, (t, resp)
            assert resp.json()["target"] == t


def test_empty_response_header_values_forwarded(tg):
    """An empty field value is valid (RFC 9110 5.5); the client gets the
    field, still empty, and the fields around it."""
    with Conn(tg.port) as c:
        resp = c.request("GET", "/empty-header")
        assert resp.status == 200, resp
        assert resp.get_all("X-Empty") == [""], resp.headers
        assert resp.get_all("X-Empty-Too") == [""], resp.headers
        assert resp.get_all("X-After") == ["kept"], resp.headers
        assert resp.body == b"empty\n"
        assert c.request("GET", "/echo").status == 200


def test_empty_request_header_value_forwarded(tg):
    doc = request(tg.port, "GET", "/echo", headers=[("X-Empty", "")]).json()
    assert hdr_all(doc, "X-Empty") == [""], doc["headers"]
