"""Routing: longest prefix wins, prefixes match whole path segments, strip_prefix,
the route's host option, and 404 when nothing matches."""

import pytest

from rawhttp import Conn, request


@pytest.fixture
def three(start_upstream):
    return start_upstream("A"), start_upstream("B"), start_upstream("C")


def test_longest_prefix_whole_segments_and_strip_prefix(start_tracegate, three):
    a, b, c = three
    tg = start_tracegate(config={
        "upstream": a.url,
        "routes": [
            {"prefix": "/api", "upstream": b.url},
            {"prefix": "/api/v2", "upstream": c.url, "strip_prefix": True},
        ],
    })
    cases = [
        ("/", "A", "/"),
        ("/echo", "A", "/echo"),
        ("/api", "B", "/api"),
        ("/api/", "B", "/api/"),
        ("/api/x?q=1", "B", "/api/x?q=1"),
        ("/apix", "A", "/apix"),
        ("/api?v2", "B", "/api?v2"),
        ("/api/v2", "C", "/"),
        ("/api/v2/users/7?full=1", "C", "/users/7?full=1"),
        ("/api/v2?x=1", "C", "/?x=1"),
        ("/api/v20", "B", "/api/v20"),
        ("/api/v2x/y", "B", "/api/v2x/y"),
    ]
    with Conn(tg.port) as conn:
        for target, server, seen in cases:
            resp = conn.request("GET", target)
            assert resp.status == 200, (target, resp)
            doc = resp.json()
            assert (doc["server"], doc["target"]) == (server, seen), target
    routes = [e["route"] for e in tg.wait_access_log(len(cases))]
    assert routes[:3] == ["/", "/", "/api"], routes
    assert routes[7] == "/api/v2", routes


def test_routes_from_command_line(start_tracegate, three):
    a, b, c = three
    tg = start_tracegate("--upstream", a.url, "--route", "/api=" + b.url,
                         "--route", "/api/admin=" + c.url)
    expect = {"/api/x": "B", "/apix": "A", "/api/admin/y": "C", "/api/adminz": "B",
              "/other": "A"}
    for target, server in expect.items():
        resp = request(tg.port, "GET", target)
        assert resp.status == 200, (target, resp)
        assert resp.json()["server"] == server, target
        assert resp.json()["target"] == target


def test_host_option(start_tracegate, upstream):
    tg = start_tracegate(config={
        "upstream": upstream.url,
        "routes": [
            {"prefix": "/client", "upstream": upstream.url, "host": "client"},
            {"prefix": "/up", "upstream": upstream.url, "host": "upstream"},
            {"prefix": "/lit", "upstream": upstream.url, "host": "literal.example"},
        ],
    })

    def host_seen(target):
        resp = request(tg.port, "GET", target, host="front.example")
        assert resp.status == 200, resp
        doc = resp.json()
        hosts = [v for n, v in doc["headers"] if n.lower() == "host"]
        xfh = [v for n, v in doc["headers"] if n.lower() == "x-forwarded-host"]
        assert xfh == ["front.example"], doc["headers"]
        return hosts

    assert host_seen("/default") == ["front.example"]
    assert host_seen("/client/x") == ["front.example"]
    assert host_seen("/up/x") == ["127.0.0.1:%d" % upstream.port]
    assert host_seen("/lit/x") == ["literal.example"]


def test_no_matching_route_gives_404(start_tracegate, upstream):
    tg = start_tracegate(config={
        "routes": [{"prefix": "/api", "upstream": upstream.url}],
    })
    resp = request(tg.port, "GET", "/other")
    assert resp.status == 404, resp
    assert request(tg.port, "GET", "/apix").status == 404
    resp = request(tg.port, "GET", "/api/ok")
    assert resp.status == 200 and resp.json()["target"] == "/api/ok"
    upstream.wait_requests(1, 5)
    seen = [l.split(" ", 3)[3] for l in upstream.stdout.lines() if l.startswith("REQ ")]
    assert seen == ["/api/ok"], seen
