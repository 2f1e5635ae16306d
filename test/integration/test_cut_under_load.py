"""A response cut because its upstream reset mid-body reaches the client as a
close at once, also under a mixed load and for the last requests of a run,
when nothing else is going on to wake the worker."""

from loadkit import ASAN, Loadgen, nginx  # noqa: F401  (fixture)


def test_reset_mid_body_closes_promptly_under_load(start_tracegate, start_upstream, nginx,
                                                   tmp_path):
    py = start_upstream("py")
    tg = start_tracegate(config={
        "upstream": nginx.url, "workers": 2, "access_log": "off",
        "routes": [{"prefix": "/py", "upstream": py.url, "strip_prefix": True}]})
    # /py/reset: headers and 64 KiB, then a TCP reset 200 ms later.
    reqs = [(40, "GET", "/small"), (4, "GET", "/big"), (3, "GET", "/py/chunked/200000"),
            (2, "POST", "/py/echo", 262144), (2, "GET", "/py/delay/300"),
            (3, "GET", "/py/reset")]
    lg = Loadgen(tg.port, rate=150 if ASAN else 400, duration=8, conns=256, timeout_ms=5000,
                 reqs=reqs, out=tmp_path / "r.bin")
    recs = lg.finish()
    resets = recs.of(5)
    others = [r for r in recs if r.req != 5]
    assert len(resets) > 50
    assert all(r.err == "ok" and r.status == 200 for r in others), recs.stats()
    assert all(r.err == "cut" and r.status == 200 for r in resets), resets.stats()
    # The reset comes 200 ms after the headers; the client must see the cut
    # right after, not when its connection times out.
    slowest = max(r.latency_ms for r in resets)
    assert slowest < 1000, sorted(r.latency_ms for r in resets)[-10:]
    print("%d upstream resets mid-body under %s: every one cut, the slowest seen %.1f ms "
          "after it was due" % (len(resets), recs.stats(), slowest))
