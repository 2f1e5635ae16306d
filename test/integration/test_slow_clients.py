"""Slow clients: heads trickled a byte at a time (slowloris) and clients that
stop reading a response. client_timeout_ms bounds both: a request head must
be complete within it however steadily its bytes arrive, and a connection
that makes no progress is closed after it. A thousand trickling connections
held at once must not keep normal clients from being served, and every one
of them is reclaimed."""

import json
import selectors
import socket
import statistics
import threading
import time

from conftest import client_connections, wait_until
from rawhttp import Conn, request


def trickle_until_cut(port, head, interval, limit):
    """Send head a byte every interval seconds; return the seconds until the
    server closed the connection (None if it did not within limit)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(interval)
    t0 = time.monotonic()
    try:
        i = 0
        while time.monotonic() - t0 < limit:
            try:
                s.send(head[i % len(head):i % len(head) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0
            i += 1
            try:
                if s.recv(4096) == b"":
                    return time.monotonic() - t0
            except socket.timeout:
                pass
            except ConnectionResetError:
                return time.monotonic() - t0
        return None
    finally:
        s.close()


def test_trickled_head_cut_at_client_timeout(start_tracegate, upstream):
    """A head that keeps arriving, one byte every 50 ms, is still cut once
    client_timeout_ms has passed since the connection was accepted."""
    tg = start_tracegate(config={"upstream": upstream.url, "client_timeout_ms": 1000})
    head = b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 4000
    took = trickle_until_cut(tg.port, head, 0.05, 8.0)
    assert took is not None, "a trickled head was still open after 8 s"
    assert 0.9 <= took < 3.0, "cut after %.2f s with client_timeout_ms 1000" % took
    wait_until(lambda: not client_connections(tg), 5, "tracegate to release the connection")
    assert request(tg.port, "GET", "/echo").status == 200


def trickle_body(port, target, total, piece, interval, limit):
    """POST a total-byte body, piece bytes every interval seconds. Returns
    (seconds until the server closed the connection or answered, the
    answer's bytes)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(interval)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
              % (target.encode(), total))
    t0 = time.monotonic()
    sent, got = 0, b""
    try:
        while time.monotonic() - t0 < limit:
            if sent < total:
                try:
                    n = min(piece, total - sent)
                    s.sendall(b"x" * n)
                    sent += n
                except (BrokenPipeError, ConnectionResetError):
                    return time.monotonic() - t0, got
            try:
                data = s.recv(65536)
                if data == b"":
                    return time.monotonic() - t0, got
                got += data
                if sent >= total and b"\r\n\r\n" in got:
                    head, body = got.split(b"\r\n\r\n", 1)
                    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        return time.monotonic() - t0, got
            except socket.timeout:
                pass
            except ConnectionResetError:
                return time.monotonic() - t0, got
        return None, got
    finally:
        s.close()


def test_trickled_body_cut_below_the_minimum_rate(start_tracegate, upstream):
    """A body trickled at 20 bytes a second (far below the default 240) to a
    route whose silence timeout never fires is cut once 5 s of waiting have
    passed: no answer can be sent mid-body, so the connection is closed, the
    access log says 408, the upstream's transfer is closed. A body at 1,000
    bytes a second on another connection meanwhile gets its 200."""
    tg = start_tracegate(config={"upstream": upstream.url},
                         env={"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "20"})
    result = {}

    def steady():
        result["steady"] = trickle_body(tg.port, "/echo?steady", 8000, 100, 0.1, 20)

    t = threading.Thread(target=steady)
    t.start()
    took, got = trickle_body(tg.port, "/echo?slow", 100000, 10, 0.5, 20)
    t.join(30)
    assert took is not None, "a trickled body was still open after 20 s"
    assert 5.0 <= took < 7.0, "cut after %.2f s" % took
    assert got == b"", got
    line = tg.stdout.wait_for(lambda l: '"path":"/echo?slow"' in l, 5, "the access log line")
    assert json.loads(line)["status"] == 408, line
    span = json.loads(tg.stdout.wait_for(
        lambda l: l.startswith('{"traceId"') and '"kind":2' in l and "slow" in l, 5,
        "the SERVER span"))
    got_attrs = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
    assert got_attrs["error.type"] == "client_too_slow", got_attrs
    assert int(got_attrs["http.response.status_code"]) == 408, got_attrs
    for l in upstream.stdout.lines():
        if l.startswith("REQ ") and "/echo?slow" in l:
            upstream.wait_closed(int(l.split()[1]), 5)
    steady_took, got = result["steady"]
    assert steady_took is not None and got.startswith(b"HTTP/1.1 200"), got[:200]
    assert b'"body_length": 8000' in got or b'"body_length":8000' in got, got[-300:]
    print("20 B/s body cut after %.2f s; 1,000 B/s body answered after %.2f s" % (
        took, steady_took))


def test_body_rate_floor_can_be_turned_off(start_tracegate, upstream):
    """client_body_min_rate 0: a 20 bytes/s body is only bound by the
    silence timeout, and arrives whole."""
    tg = start_tracegate(config={"upstream": upstream.url, "client_body_min_rate": 0})
    took, got = trickle_body(tg.port, "/echo?off", 140, 10, 0.5, 20)
    assert took is not None and got.startswith(b"HTTP/1.1 200"), got[:200]
    assert took > 6.0, took


def test_kept_alive_connection_gets_a_fresh_head_deadline(start_tracegate, upstream):
    """The head deadline starts when a connection is ready for a request, so
    a busy kept-alive connection lives past client_timeout_ms; once idle for
    that long it is closed."""
    tg = start_tracegate(config={"upstream": upstream.url, "client_timeout_ms": 1000})
    with Conn(tg.port) as c:
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 2.5:
            assert c.request("GET", "/echo").status == 200
            idle0 = time.monotonic()
            n += 1
            # a pause between requests, well inside the timeout
            assert not c.at_eof(0.3), "kept-alive connection closed after %d requests" % n
        assert n >= 5
        assert c.at_eof(4.0), "idle kept-alive connection not closed"
        assert time.monotonic() - idle0 >= 0.9


def test_client_that_stops_reading_is_closed_and_upstream_released(start_tracegate, upstream):
    """A client that asks for a large response and never reads it holds a
    paused upstream transfer; client_timeout_ms of no progress closes both."""
    tg = start_tracegate(config={"upstream": upstream.url, "client_timeout_ms": 1000})
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", tg.port))
    try:
        s.sendall(b"GET /stream/200000000 HTTP/1.1\r\nHost: a\r\n\r\n")
        conn_id = int(upstream.wait_requests(1, 5, target="/stream/200000000")[0].split()[1])
        t0 = time.monotonic()
        upstream.wait_closed(conn_id, 8)
        took = time.monotonic() - t0
        assert took < 6.0, "upstream released %.1f s after the client stopped reading" % took
        wait_until(lambda: not client_connections(tg), 5, "tracegate to close the client")
    finally:
        s.close()
    assert request(tg.port, "GET", "/echo").status == 200


SLOW = 1000          # trickling connections held at once
READERS = 50         # and clients that stopped reading
TIMEOUT_MS = 5000    # client_timeout_ms for the held test


def latencies(port, seconds):
    """Sequential GETs, each on a new connection, 5 ms apart, for the given
    time; seconds per request."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        resp = request(port, "GET", "/echo?normal=%d" % len(out), timeout=5)
        out.append(time.monotonic() - t0)
        assert resp.status == 200, resp
        time.sleep(0.005)  # pacing of the load, not a wait for a condition
    return out


def p(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def test_1000_slowloris_and_stalled_readers_held_normal_clients_served_all_reclaimed(
        start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "client_timeout_ms": TIMEOUT_MS,
                                 "access_log": "off"})
    before = latencies(tg.port, 1.0)

    sel = selectors.DefaultSelector()
    socks = []
    readers = []
    opened = {}
    cut = {}
    try:
        for i in range(SLOW):
            s = socket.create_connection(("127.0.0.1", tg.port))
            s.setblocking(False)
            s.send(b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow-%d: " % i)
            socks.append(s)
            opened[s.fileno()] = time.monotonic()
            sel.register(s, selectors.EVENT_READ)
        # Clients that ask for a large response and never read it.
        readers = []
        for i in range(READERS):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", tg.port))
            s.sendall(b"GET /stream/100000000?reader=%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
            readers.append(s)
        wait_until(lambda: len(client_connections(tg)) >= SLOW + READERS, 10,
                   "tracegate to hold %d connections" % (SLOW + READERS))
        streams = upstream.stdout.wait_count(lambda l: l.startswith("REQ ") and "reader=" in l,
                                             READERS, 10, "the slow readers' requests upstream")

        # One byte to every connection about every 200 ms, while watching
        # for the server closing them.
        stop = threading.Event()

        def trickle():
            while not stop.is_set():
                for s in socks:
                    if s.fileno() in cut or s.fileno() < 0:
                        continue
                    try:
                        s.send(b"a")
                    except OSError:
                        pass
                stop.wait(0.2)

        def watch():
            while len(cut) < SLOW and not stop.is_set():
                for key, _ in sel.select(0.1):
                    s = key.fileobj
                    try:
                        data = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        data = b""
                    if data == b"":
                        cut[s.fileno()] = time.monotonic()
                        sel.unregister(s)

        threads = [threading.Thread(target=trickle, daemon=True),
                   threading.Thread(target=watch, daemon=True)]
        for t in threads:
            t.start()
        held_start = time.monotonic()
        # Measure until shortly before the first deadline.
        window = min(opened.values()) + TIMEOUT_MS / 1000 - 0.5 - time.monotonic()
        assert window > 1.5, "setup took too long to leave a measuring window"
        during = latencies(tg.port, window)
        held_for = time.monotonic() - held_start
        still_held = len(client_connections(tg))
        assert not cut or min(cut.values()) - min(opened.values()) >= TIMEOUT_MS / 1000 - 0.2, \
            "a trickling connection was cut before client_timeout_ms"

        # Every trickling connection is cut at its deadline even though it
        # never stopped sending.
        wait_until(lambda: len(cut) == SLOW, TIMEOUT_MS / 1000 + 10,
                   "all %d trickling connections to be cut" % SLOW)
        stop.set()
        for t in threads:
            t.join(5)
        late = [cut[fd] - opened[fd] for fd in cut]
        # The slow readers made no progress for client_timeout_ms: closed,
        # and their paused upstream transfers with them.
        wait_until(lambda: not client_connections(tg), 10,
                   "tracegate to release every client connection")
        for line in streams:
            upstream.wait_closed(int(line.split()[1]), 5)
    finally:
        for s in socks + readers:
            s.close()
        sel.close()

    report = ("normal GETs, new connection each: before %d requests p50 %.1f ms p99 %.1f ms; "
              "with %d trickling connections and %d stalled readers held (%d still open after %.1f s) %d requests "
              "p50 %.1f ms p99 %.1f ms max %.1f ms; cut after %.2f-%.2f s "
              "(client_timeout_ms %d)"
              % (len(before), statistics.median(before) * 1e3, p(before, 0.99) * 1e3, SLOW,
                 READERS, still_held, held_for, len(during), statistics.median(during) * 1e3,
                 p(during, 0.99) * 1e3, max(during) * 1e3, min(late), max(late), TIMEOUT_MS))
    print(report)
    assert still_held >= SLOW + READERS, report  # they really were held while measuring
    assert min(late) >= TIMEOUT_MS / 1000 - 0.2 and max(late) < TIMEOUT_MS / 1000 + 5, report
    # Served, and not queued behind the trickling connections.
    assert p(during, 0.99) < max(0.25, 5 * p(before, 0.99)), report
    assert request(tg.port, "GET", "/echo").status == 200
