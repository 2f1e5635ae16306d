"""Resource exhaustion: the open file limit, max_connections and failing
allocations, each under load. tracegate must answer (200, or 503 and close),
leave clients it cannot take yet waiting in the listen backlog, never cut a
response it has begun or crash, and serve normally once the pressure is gone.
"""

import os
import selectors
import signal
import socket
import time

import pytest

import promtext

from conftest import wait_until
from loadkit import ASAN, MALLOC_FAIL_LIB, Loadgen, Nginx
from rawhttp import Conn, Cut, request

SMALL = b"ok\n"
BIG = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def nginx(tmp_path):
    ng = Nginx(tmp_path / "nginx", {"small": SMALL, "big": BIG})
    yield ng
    ng.stop()


def open_with_requests(port, n, path="/small"):
    """n connections, each sending one request at once; non-blocking sockets."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
        s.setblocking(False)
        socks.append(s)
    return socks


def collect(socks, seconds):
    """What each socket got within `seconds`: its first bytes, b"" for a
    close, "reset", or None (nothing: still waiting)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    got = {}
    deadline = time.monotonic() + seconds
    while len(got) < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(0.1):
            s = key.fileobj
            try:
                got[s] = s.recv(65536)
            except ConnectionResetError:
                got[s] = "reset"
            sel.unregister(s)
    sel.close()
    return {s: got.get(s) for s in socks}


def status_of(data):
    if data is None or data == "reset" or data == b"":
        return data
    return int(data.split(b" ", 2)[1])


def test_fd_limit_answers_or_waits_then_recovers(start_tracegate, nginx):
    """64 descriptors, 150 clients: each is answered 200, or 503 with
    Connection: close when no descriptor is left for the upstream, or waits in
    the listen backlog; closing the answered ones lets the waiting ones in,
    and afterwards every new client is served."""
    tg = start_tracegate("--upstream", nginx.url, "--workers", "1", "--access-log", "off",
                         prefix=["prlimit", "--nofile=64:64"])
    assert any("open file limit (64)" in l for l in tg.stderr.lines()), "no startup warning"
    socks = open_with_requests(tg.port, 150)
    try:
        first = collect(socks, 3)
        statuses = [status_of(d) for d in first.values()]
        assert set(statuses) <= {200, 503, None}, statuses  # no reset, no close without answer
        assert statuses.count(None) > 0, "every client got in: the limit was not reached"
        for s, d in first.items():
            if status_of(d) == 503:
                assert b"Connection: close" in d and b"try again later" in d, d
        assert tg.alive()
        # Answered clients leave, which lets waiting ones in, and so on
        # until every client has had its answer.
        waiting = [s for s, d in first.items() if d is None]
        later = []
        deadline = time.monotonic() + 30
        while waiting and time.monotonic() < deadline:
            for s in socks:
                if s not in waiting:
                    s.close()
            got = collect(waiting, 1)
            later += [status_of(d) for d in got.values() if d is not None]
            waiting = [s for s, d in got.items() if d is None]
        assert not waiting, "%d clients never got in" % len(waiting)
        assert set(later) <= {200, 503}, later
        assert later.count(200) > 0
        print("fd limit 64, 150 clients: first 3 s %s; later %s" % (
            {str(k): statuses.count(k) for k in set(statuses)},
            {str(k): later.count(k) for k in set(later)}))
    finally:
        for s in socks:
            s.close()
    # Everyone gone: new clients are served as before.
    for _ in range(20):
        assert request(tg.port, "GET", "/small").status == 200
    tg.expect_exit = True
    tg.signal(signal.SIGTERM)
    assert tg.wait_exit(10) == 0


def test_connection_limit_under_load(start_tracegate, nginx, tmp_path):
    """Steady load on a few connections while idle clients fill max_connections:
    the loaded connections keep being served, a connection past the limit gets
    503 and is closed, and once the idle clients leave new ones are served."""
    tg = start_tracegate("--upstream", nginx.url, "--workers", "1", "--access-log", "off",
                         "--config", write_config(tmp_path, {"max_connections": 40}))
    lg = Loadgen(tg.port, rate=300, conns=8, reqs=[(1, "GET", "/small")], out=tmp_path / "r.bin")
    held = []
    held_count = []
    refused = 0
    try:
        wait_until(lambda: lg.progress().get("ok", 0) > 100, 10, "load to run")
        for _ in range(80):
            c = Conn(tg.port, timeout=5)
            r = c.request("GET", "/small")
            if r.status == 503:
                assert b"too many connections" in r.body
                assert "close" in r.tokens("Connection")
                refused += 1
                c.close()
            else:
                assert r.status == 200, r
                held.append(c)
        assert refused > 0 and len(held) <= 40
        held_count = list(held)
        for c in held:
            c.close()
        held = []

        def served():
            with Conn(tg.port, timeout=5) as c:
                return c.request("GET", "/small").status == 200
        wait_until(served, 5, "a new connection to be served after the idle ones left")
    finally:
        for c in held:
            c.close()
        recs = lg.finish()
    assert recs.stats()["errors"] == {}, recs.stats()
    assert set(recs.stats()["statuses"]) == {200}, recs.stats()
    print("max_connections 40: %d idle clients held, %d refused with 503; load %s"
          % (len(held_count), refused, recs.stats()))


def write_config(tmp_path, extra):
    import json
    path = tmp_path / "tracegate.json"
    path.write_text(json.dumps(extra))
    return path




# Allocations fail only in the first FAIL_MS after tracegate starts; the load
# runs past that.
FAIL_MS = 3500


@pytest.mark.parametrize("mode,tracing,headers", [
    # tracegate's own allocations (spans, arena blocks, buffers, connection
    # state, strdup): one in five fails
    ("p=0.2,from=exe,seed=11", "true", ()),
    # the same without tracing, where spans take none of the failures, and a
    # new connection (its state, its first buffers) for every request
    ("p=0.5,from=exe,seed=13", "false", ("Connection: close",)),
    # libmicrohttpd's (response objects and headers, connection pools)
    ("p=0.01,from=libmicrohttpd,seed=12", "true", ()),
    # libcurl's (handles, connection cache, socket hashes), taken through
    # tracegate's hooks: the memory reserve is given up and the allocation
    # tried again (gateway/reserve.h)
    ("p=0.01,from=libcurl,seed=14", "true", ()),
], ids=["own", "own-untraced", "libmicrohttpd", "libcurl"])
def test_allocation_failures_answer_503_or_close(start_tracegate, nginx, start_upstream, tmp_path,
                                                 mode, tracing, headers):
    """Allocations on the worker threads fail (test/fault/malloc_fail.c) while
    small, 1 MiB and upload requests run: every request is answered 200 or
    503, or its connection is closed before any answer; none is cut
    mid-response; once the failures stop, everything is 200 again; exit 0 and,
    in the sanitizer build, no report."""
    if not os.path.exists(MALLOC_FAIL_LIB):
        pytest.fail("%s not built (ninja -C build)" % MALLOC_FAIL_LIB, pytrace=False)
    echo = start_upstream("echo")
    env = {"LD_PRELOAD": MALLOC_FAIL_LIB, "TG_MALLOC_FAIL": "%s,stop_ms=%d" % (mode, FAIL_MS),
           "OTEL_TRACES_EXPORTER": "none", "TELEMETRY_ENABLED": tracing}
    if ASAN:
        # The library comes before the ASan runtime and forwards to it.
        env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
    tg = start_tracegate("--upstream", nginx.url, "--route", "/up=%s" % echo.url,
                         "--workers", "2", "--access-log", "off", env=env)
    t_ready = time.monotonic()  # the library was loaded before this
    reqs = [(6, "GET", "/small"), (2, "GET", "/big"), (1, "POST", "/up/echo", 65536)]
    lg = Loadgen(tg.port, rate=100 if ASAN else 400, duration=FAIL_MS / 1000.0, conns=32,
                 reqs=reqs, headers=headers, out=tmp_path / "r.bin")
    recs = lg.finish(timeout=60)
    stats = recs.stats()
    assert set(stats["statuses"]) <= {200, 503}, stats
    assert set(stats["errors"]) <= {"no_answer", "connect"}, stats  # never "cut"
    assert tg.alive()
    # The failures are over (the library stops FAIL_MS after it was loaded):
    # everything succeeds again.
    wait_until(lambda: time.monotonic() > t_ready + FAIL_MS / 1000.0, 10,
               "the failure window to end")
    for path in ["/small", "/big", "/up/echo"] * 10:
        assert request(tg.port, "GET", path).status == 200, path
    m = request(tg.port, "GET", "/admin/metrics")
    assert m.status == 200, m
    releases = promtext.parse(m.body).value("tracegate_memory_reserve_releases_total")
    tg.expect_exit = True
    tg.signal(signal.SIGTERM)
    assert tg.wait_exit(30) == 0
    line = tg.stderr.wait_for(lambda l: l.startswith("malloc_fail:"), 5, "the malloc_fail line")
    failed = int(line.split()[1])
    assert failed > 0, line
    # What the failures did is visible: refused or closed requests, or spans
    # that could not be recorded (counted in the totals).
    totals = [l for l in tg.stderr.lines() if "tracing totals" in l]
    assert totals
    alloc_failed = int(totals[0].split('"span_alloc_failed":')[1].split(",")[0])
    if "from=libcurl" in mode:
        # Each failure inside libcurl gave up the reserve and was tried again.
        assert 0 < releases <= failed, (releases, line)
    else:
        assert releases == 0, releases
    affected = (stats["statuses"].get(503, 0) + sum(stats["errors"].values()) + alloc_failed +
                releases)
    assert affected > 0, (stats, totals[0])
    print("mode %s: %s; span_alloc_failed %d; reserve releases %d; %s" %
          (mode, stats, alloc_failed, releases, line))
