"""Signals under steady load. SIGTERM: every request tracegate had taken is
answered in full (no response cut after it began), later ones are refused or
closed before any answer, and the spans of every answered request reach the
collector, the totals accounting for all of them. SIGHUP with a
configuration file, reloaded every few hundred milliseconds: no request
fails."""

import json
import signal
import threading
import time

from conftest import wait_until
from loadkit import ASAN, Loadgen, Records, nginx  # noqa: F401  (fixture)
from otlp_receiver import start_receiver  # noqa: F401  (fixture)

RATE = 300 if ASAN else 1000


def test_sigterm_under_load_answers_and_flushes(start_tracegate, start_upstream, nginx,
                                                start_receiver, tmp_path):
    slow = start_upstream("slow")
    rx = start_receiver()
    tg = start_tracegate(
        config={"upstream": nginx.url, "access_log": "off", "workers": 2,
                "routes": [{"prefix": "/slow", "upstream": slow.url, "strip_prefix": True}]},
        env={"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": rx.http_url,
             # Batches leave when full; the rest waits for the shutdown flush.
             "OTEL_BSP_SCHEDULE_DELAY": "60000", "OTEL_BSP_MAX_QUEUE_SIZE": "65536"})
    # Small and 1 MiB answers, and requests that take 300 ms: some of those
    # are always in flight.
    reqs = [(6, "GET", "/small"), (2, "GET", "/big"), (1, "GET", "/slow/delay/300")]
    lg = Loadgen(tg.port, rate=RATE, conns=256, timeout_ms=5000, reqs=reqs,
                 out=tmp_path / "r.bin")
    try:
        wait_until(lambda: lg.progress().get("ok", 0) >= 2 * RATE, 15, "two seconds of load")
        tg.expect_exit = True
        t_sig = time.monotonic()
        tg.signal(signal.SIGTERM)
        assert tg.wait_exit(30) == 0
        # Load goes on against the closed port for a moment.
        wait_until(lambda: time.monotonic() > t_sig + 1, 5, "load after the exit")
    finally:
        recs = lg.finish()
    st = recs.stats()
    # Nothing cut, nothing hanging, nothing garbled: every request either
    # got its whole answer, or was refused / closed before any byte of one.
    assert set(st["errors"]) <= {"connect", "no_answer"}, st
    assert set(st["statuses"]) == {200}, st
    # Requests sent on established connections well before the signal had
    # been taken by tracegate: all answered. (A new connection still in the
    # listen backlog when the listener closes is refused, and a request that
    # crosses the close of an idle keep-alive connection gets no answer:
    # both are clean errors, allowed above.)
    early = Records(r for r in recs.between(lg.start, t_sig - 0.5) if r.reused)
    assert len(early) > RATE / 2 and early.stats()["errors"] == {}, early.stats()
    # The 300 ms requests sent in the 250 ms before the signal were in flight
    # when it came: every one finished.
    in_flight = [r for r in recs.between(t_sig - 0.25, t_sig - 0.05).of(2)
                 if r.reused and r.wait_ms < 20]
    assert in_flight, "no request was in flight at SIGTERM"
    assert all(r.err == "ok" and r.status == 200 for r in in_flight), in_flight
    assert all(r.due + r.latency_ms / 1000.0 > t_sig for r in in_flight)
    # A refused or unanswered request never had a byte of response.
    assert all(r.body_bytes == 0 for r in recs if r.err != "ok")

    line = tg.stderr.wait_for(lambda l: "tracing totals" in l, 5, "tracing totals")
    t = json.loads(line.split("tracing totals ", 1)[1])
    assert "0 requests cut" in tg.stderr.lines()[-1]
    assert t["spans_started"] == 2 * st["ok"], (t, st)
    assert t["spans_exported"] == t["spans_started"], t
    assert t["spans_dropped_queue_full"] == t["spans_dropped_shutdown"] == 0, t
    assert t["spans_dropped_deadline"] == t["spans_dropped_retries_exhausted"] == 0, t
    wait_until(lambda: rx.stats()["spans_accepted"] == t["spans_exported"], 10,
               "the receiver to have every exported span")
    print("SIGTERM under load: %s; %d slow requests in flight at the signal, all answered; "
          "spans started %d, exported %d" % (st, len(in_flight), t["spans_started"],
                                             t["spans_exported"]))


def test_sighup_reloads_under_load_fail_nothing(start_tracegate, start_upstream, nginx,
                                                tmp_path):
    other = start_upstream("other")
    path = tmp_path / "tracegate.json"
    base = {"upstream": nginx.url, "access_log": "off", "workers": 2}
    path.write_text(json.dumps(base))
    tg = start_tracegate("--config", path)
    reqs = [(8, "GET", "/small"), (2, "GET", "/big"), (1, "GET", "/r/echo")]
    lg = Loadgen(tg.port, rate=RATE, conns=128, reqs=reqs, out=tmp_path / "r.bin")
    reloads = 0
    try:
        wait_until(lambda: lg.progress().get("ok", 0) >= RATE, 15, "load to run")
        t0 = time.monotonic()
        pace = threading.Event()  # never set: its wait paces the reloads
        while time.monotonic() - t0 < 6 and reloads < 1000:
            pace.wait(0.005)
            reloads += 1
            cfg = dict(base, connect_timeout_ms=1000 + reloads,
                       # The route moves between two upstreams that both answer.
                       routes=[{"prefix": "/r", "strip_prefix": True,
                                "upstream": other.url if reloads % 2 else nginx.url + "/"}])
            path.write_text(json.dumps(cfg))
            tg.signal(signal.SIGHUP)
            tg.stderr.wait_count(lambda l: l.startswith("tracegate: reloaded"), reloads, 10,
                                 "reload #%d" % reloads)
    finally:
        recs = lg.finish()
    st = recs.stats()
    assert reloads >= 10
    assert st["errors"] == {}, (st, [r for r in recs if r.err != "ok"][:10])
    # /r/echo is 200 from the echo upstream and 404 from nginx (no file);
    # everything else 200.
    assert all(r.status == 200 for r in recs if r.req != 2), st
    assert all(r.status in (200, 404) for r in recs if r.req == 2), st
    print("%d reloads under %s" % (reloads, st))
