"""An upstream that stops reading a request body must not hold the client forever.

The peer here is a plain socket server (a thread of this test, on a free
127.0.0.1 port) that reads the request head and then never reads again, so
the body backs up through tracegate's bounded buffer. With idle_timeout_ms
small, tracegate must end the exchange quickly: libmicrohttpd cannot send an
answer while a body is still arriving, so tracegate reads and discards up to
4 MiB more, then closes; the access log records the 504.
"""

import socket
import threading
import time

import promtext
from conftest import free_port
from rawhttp import request


def silent_reader(port, stop):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    srv.settimeout(0.2)
    conns = []
    while not stop.is_set():
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conns.append(c)   # never read beyond what the kernel buffers
    for c in conns:
        c.close()
    srv.close()


def test_upstream_that_stops_reading_the_body_gets_504(start_tracegate):
    port = free_port()
    stop = threading.Event()
    t = threading.Thread(target=silent_reader, args=(port, stop), daemon=True)
    t.start()
    try:
        tg = start_tracegate(config={"upstream": "http://127.0.0.1:%d" % port,
                                     "idle_timeout_ms": 500, "workers": 1})
        c = socket.create_connection(("127.0.0.1", tg.port), timeout=10)
        size = 64 * 1024 * 1024
        c.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        c.setblocking(False)
        chunk = b"x" * 65536
        sent = 0
        got = b""
        start = time.monotonic()
        # Push the body until tracegate answers; it must answer without the
        # whole body having gone through.
        while time.monotonic() - start < 10 and b"\r\n\r\n" not in got:
            try:
                sent += c.send(chunk)
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                data = c.recv(65536)
                if not data:
                    break
                got += data
            except BlockingIOError:
                time.sleep(0.005)
            except ConnectionResetError:
                break
        elapsed = time.monotonic() - start
        if got:
            assert got.startswith(b"HTTP/1.1 504 "), got[:200]
        assert sent < size, "the whole body went through a stalled upstream"
        assert elapsed < 5, elapsed
        c.close()
        entry = tg.wait_access_log(1)[0]
        assert entry["status"] == 504, entry
        assert entry["bytes_in"] < size
        # The close was tracegate's decision, not a client abort.
        m = request(tg.port, "GET", "/admin/metrics")
        assert m.status == 200, m
        exp = promtext.parse(m.body)
        assert exp.value("tracegate_requests_total", route="/", code="5xx") == 1
        assert exp.value("tracegate_requests_total", route="/", code="aborted") == 0
    finally:
        stop.set()
        t.join(5)
