"""max_connections: past the limit a new connection gets 503 and is closed,
the connections already open keep being served, and room frees up again
when clients leave."""

from conftest import wait_until
from rawhttp import Conn


def test_connections_past_the_limit_are_refused(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "workers": 1,
                                 "max_connections": 8})
    held = []
    refusals = 0
    try:
        # Open connections one by one, each proven live by a request, until
        # tracegate refuses one. A connection a client has just closed (the
        # fixture's readiness probe) counts until tracegate reads the close,
        # so the refusal may come one connection early, never late.
        for _ in range(12):
            c = Conn(tg.port)
            resp = c.request("GET", "/echo")
            if resp.status == 503:
                assert "close" in resp.tokens("Connection"), resp.headers
                assert b"too many connections" in resp.body
                c.close()
                refusals += 1
                break
            assert resp.status == 200, resp
            held.append(c)
        assert refusals == 1, "no connection was refused"
        assert 7 <= len(held) <= 8, len(held)
        # the open ones still work while new ones are refused
        for c in held:
            assert c.request("GET", "/bytes/10").status == 200
        # a client leaves: a new connection is served again
        held.pop().close()

        def served():
            with Conn(tg.port) as c:
                return c.request("GET", "/echo").status == 200
        wait_until(served, 5, "a connection slot to free up")
    finally:
        for c in held:
            c.close()
