"""2,000 clients at once, each waiting on an upstream that answers after 200 ms."""

import asyncio
import json
import time

CLIENTS = 2000


async def one_exchange(port, i, state, all_connected, go):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 16)
    state["connected"] += 1
    if state["connected"] == CLIENTS:
        all_connected.set()
    try:
        # All connections are open before any request is sent, so every request
        # is in flight at the same time.
        await go.wait()
        writer.write(b"GET /delay/200?i=%d HTTP/1.1\r\nHost: test.local\r\n\r\n" % i)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                n, v = line.split(":", 1)
                headers[n.strip().lower()] = v.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif "chunked" in headers.get("transfer-encoding", ""):
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
        else:
            body = await reader.read()
        return status, body
    finally:
        writer.close()


async def run_clients(port):
    state = {"connected": 0}
    all_connected = asyncio.Event()
    go = asyncio.Event()
    tasks = [asyncio.ensure_future(one_exchange(port, i, state, all_connected, go))
             for i in range(CLIENTS)]
    waiter = asyncio.ensure_future(all_connected.wait())
    # Wait for every connection to be open, or for a client to fail early
    # (gather below then reports the failure).
    await asyncio.wait([waiter] + tasks, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    connected = state["connected"]
    t0 = time.monotonic()
    go.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return results, connected, time.monotonic() - t0


def test_2000_concurrent_clients_all_get_200(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, "--workers", "2",
                         "--access-log", "off")
    results, connected, elapsed = asyncio.run(asyncio.wait_for(run_clients(tg.port), 90))
    errors = [(i, r) for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert not errors, "%d of %d clients failed, e.g. %r" % (len(errors), CLIENTS, errors[:5])
    assert connected == CLIENTS, "only %d of %d clients connected in 30s" % (connected, CLIENTS)
    bad = [(i, r[0]) for i, r in enumerate(results) if r[0] != 200]
    assert not bad, "%d non-200 answers, e.g. %r" % (len(bad), bad[:10])
    for i, (status, body) in enumerate(results):
        # Each client gets its own answer, not another client's.
        assert json.loads(body)["target"] == "/delay/200?i=%d" % i
    # Served one at a time this would take 400 s; served concurrently, ~1 s.
    assert elapsed < 20, "2000 requests of 200 ms took %.1fs" % elapsed
