"""Graceful shutdown: on SIGTERM or SIGINT tracegate stops accepting, lets the
requests in flight finish, and exits 0."""

import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import wait_until
from rawhttp import Conn, Cut, request


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_lets_in_flight_requests_finish(start_tracegate, upstream, sig):
    tg = start_tracegate("--upstream", upstream.url)
    n = 20
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(request, tg.port, "GET", "/delay/1000?i=%d" % i)
                   for i in range(n)]
        # Signal only once the upstream holds all 20: they are truly in flight.
        upstream.wait_requests(n, 10)
        tg.expect_exit = True
        tg.signal(sig)
        results = [f.result(timeout=15) for f in futures]
    for i, resp in enumerate(results):
        assert resp.status == 200, (i, resp)
        assert resp.json()["target"] == "/delay/1000?i=%d" % i
    rc = tg.wait_exit(10)
    assert rc == 0, "tracegate exited with %r after %s" % (rc, sig.name)


def new_request_refused(port):
    """True if a new client is not served: refused, reset, or closed without an answer."""
    try:
        with Conn(port, timeout=0.5) as c:
            resp = c.request("GET", "/echo")
    except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return True  # left in the backlog, never accepted
    except Cut:
        return True  # closed without a response
    return resp.status == 503  # explicitly turned away is fine too


def test_sigterm_stops_accepting_while_draining(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url)
    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(request, tg.port, "GET", "/delay/2500")
        upstream.wait_requests(1, 10)
        tg.expect_exit = True
        tg.signal(signal.SIGTERM)
        wait_until(lambda: new_request_refused(tg.port), 1.5,
                   "tracegate to stop serving new connections after SIGTERM", interval=0.02)
        assert tg.alive(), "tracegate exited before its in-flight request finished"
        resp = fut.result(timeout=10)
    assert resp.status == 200, resp
    assert tg.wait_exit(10) == 0


def test_sigterm_when_idle_exits_0_quickly(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url)
    assert request(tg.port, "GET", "/echo").status == 200
    tg.expect_exit = True
    t0 = time.monotonic()
    tg.signal(signal.SIGTERM)
    assert tg.wait_exit(5) == 0
    assert time.monotonic() - t0 < 3.0


def test_shutdown_timeout_cuts_requests_that_run_too_long(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "shutdown_timeout_ms": 500})
    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(request, tg.port, "GET", "/delay/10000")
        upstream.wait_requests(1, 10)
        tg.expect_exit = True
        t0 = time.monotonic()
        tg.signal(signal.SIGTERM)
        assert tg.wait_exit(5) == 0
        elapsed = time.monotonic() - t0
        with pytest.raises((Cut, ConnectionResetError)):
            fut.result(timeout=5)
    assert 0.4 <= elapsed < 3.0, "exited %.2fs after SIGTERM with shutdown_timeout_ms 500" % elapsed
