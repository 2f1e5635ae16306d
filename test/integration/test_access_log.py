"""The access log: one JSON object per request, on stdout by default, to a file
with --access-log PATH, and nothing with --access-log off."""

import json
import signal

from conftest import free_port, wait_until
from rawhttp import request

KEYS = {"time", "client", "method", "path", "route", "status", "upstream_status",
        "bytes_in", "bytes_out", "duration_ms", "upstream_ms"}


def test_access_log_line_for_one_request(tg):
    body = b"z" * 1000
    resp = request(tg.port, "POST", "/delay/150?q=1", body=body)
    assert resp.status == 200, resp
    entries = tg.wait_access_log(1)
    assert len(entries) == 1, entries
    e = entries[0]
    assert KEYS <= set(e), "missing keys %r in %r" % (KEYS - set(e), e)
    assert e["method"] == "POST"
    assert e["path"] in ("/delay/150?q=1", "/delay/150"), e
    assert e["route"] == "/", e
    assert e["status"] == 200 and e["upstream_status"] == 200, e
    assert str(e["client"]).startswith("127.0.0.1"), e
    assert isinstance(e["time"], (str, int, float)) and e["time"], e
    # bytes_in/bytes_out count at least the bodies, and no more than the bodies
    # plus their heads.
    assert 1000 <= e["bytes_in"] < 1000 + 2048, e
    assert len(resp.body) <= e["bytes_out"] < len(resp.body) + 2048, e
    # The upstream took 150 ms; both durations include that.
    assert 140 <= e["upstream_ms"] < 5000, e
    assert 140 <= e["duration_ms"] < 5000, e
    assert e["duration_ms"] + 1 >= e["upstream_ms"], e


def test_access_log_for_upstream_error(start_tracegate):
    tg = start_tracegate("--upstream", "http://127.0.0.1:%d" % free_port())
    assert request(tg.port, "GET", "/nothing-there").status == 502
    e = tg.wait_access_log(1)[0]
    assert e["status"] == 502, e
    assert e["method"] == "GET" and e["path"] == "/nothing-there", e
    assert e["upstream_status"] in (None, 0, 502), e


def test_access_log_one_line_per_request(tg):
    for i in range(5):
        assert request(tg.port, "GET", "/echo?n=%d" % i).status == 200
    # Workers write their own lines, so the order across requests is not fixed.
    paths = sorted(e["path"] for e in tg.wait_access_log(5))
    # The path may be logged with or without its query.
    assert paths in (["/echo?n=%d" % i for i in range(5)], ["/echo"] * 5), paths


def test_access_log_to_file(start_tracegate, upstream, tmp_path):
    path = tmp_path / "access.log"
    tg = start_tracegate("--upstream", upstream.url, "--access-log", str(path))
    assert request(tg.port, "GET", "/echo?to=file").status == 200

    def logged():
        if not path.exists():
            return None
        lines = [l for l in path.read_text().splitlines() if l.strip()]
        return lines or None
    lines = wait_until(logged, 5, "an access-log line in %s" % path)
    e = json.loads(lines[0])
    assert e["method"] == "GET" and e["status"] == 200, e
    assert not tg.access_log(), "access log also went to stdout"


def test_access_log_off(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, "--access-log", "off")
    for _ in range(3):
        assert request(tg.port, "GET", "/echo").status == 200
    # Stop it, so that anything buffered would have been written by now.
    tg.expect_exit = True
    tg.signal(signal.SIGTERM)
    assert tg.wait_exit(10) == 0
    tg.stdout.join(5)
    assert not tg.access_log(), tg.stdout.lines()
