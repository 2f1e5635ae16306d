#!/usr/bin/env python3
"""The collector goes down under steady load, then comes back.

tracegate proxies a steady open-loop load (test/bench/loadgen.c, default
2,000 requests/s of 3-byte answers from nginx, every request traced: two
spans) and exports over OTLP http/protobuf to the project's test receiver
(test/interop/otlp/receiver.js). After a warm-up and a baseline period the
receiver goes down (its listening sockets and connections closed) for
--down seconds, then comes back; the load continues until spans made after
the return have arrived. Checks:

  - proxying unaffected: no failed request in any phase; p50/p99 latency
    while the collector is down within bounds of the baseline;
  - memory bounded by the queue: tracegate's VmRSS (sampled every second
    from /proc/PID/status) grows by no more than what the span queue and the
    batch in flight can hold, and stays flat once the queue is full (the
    outage's last third at most its first third + 5 % + 2 MiB);
  - drops counted exactly: in the shutdown totals, spans_started = spans
    queued + dropped (queue full, shutdown) and spans_queued = exported +
    every drop reason; spans_exported equals what the receiver accepted;
    what the receiver missed equals the drops;
  - export resumes: after the return more spans arrive than the queue and a
    batch could have held, i.e. spans made after the return.

Usage: /usr/bin/python3 test/bench/outage.py [--ci] [--rate 2000] [--down 600]
       [--workers 2] [--json FILE]
--ci: 20 s outage (about 50 s in all); default: 10 minutes down.
Prints one "ok - ..." or "not ok - ..." line per check, a markdown summary,
and exits 1 if a check failed. Every process it starts is stopped by PID.
"""

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test" / "integration"))

from conftest import TRACEGATE_BIN, Tracegate, free_port, wait_until  # noqa: E402
from loadkit import Loadgen, Nginx, ProcSampler  # noqa: E402
from otlp_receiver import Receiver  # noqa: E402

# One span is one heap block of a little over 4 KiB (lib/span.h: 40
# attributes, 3 KiB of strings); 8 KiB per span leaves room for the
# allocator's rounding and the encoded batch.
SPAN_BYTES_BOUND = 8 * 1024


class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, ok, what):
        print("%s - %s" % ("ok" if ok else "not ok", what), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def telemetry(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/admin/telemetry" % port, timeout=10) as r:
        return json.loads(r.read())["delivery"]


def fmt(st):
    return "%d req, %s/s, p50 %.2f ms, p99 %.2f ms, max %.1f ms, errors %s, statuses %s" % (
        st["count"], st["rate"], st["p50_ms"] or 0, st["p99_ms"] or 0, st["max_ms"] or 0,
        st["errors"] or 0, st["statuses"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ci", action="store_true", help="20 s outage")
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--down", type=float, help="seconds the collector is down")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=2048, help="OTEL_BSP_MAX_QUEUE_SIZE")
    ap.add_argument("--json", help="write the measurements here")
    a = ap.parse_args()
    down_s = a.down if a.down is not None else (20 if a.ci else 600)
    warmup_s, base_s = (3, 10) if a.ci else (10, 60)
    batch = 512

    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="tg-outage-"))
    procs = []
    result = {"rate_target": a.rate, "down_s": down_s, "workers": a.workers, "queue": a.queue}
    try:
        rx = Receiver("/dev/null", name="otlp-receiver")  # counts, logs nothing
        procs.append(rx)
        ng = Nginx(work / "nginx", {"small": b"ok\n"})
        procs.append(ng)
        port = free_port()
        env = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": rx.http_url,
               "OTEL_BSP_MAX_QUEUE_SIZE": str(a.queue),
               "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": str(batch)}
        tg = Tracegate([TRACEGATE_BIN, "--listen", "127.0.0.1:%d" % port, "--upstream", ng.url,
                        "--workers", a.workers, "--access-log", "off"], port, env=env)
        procs.append(tg)
        tg.wait_ready()

        lg = Loadgen(port, rate=a.rate, conns=128, reqs=[(1, "GET", "/small")],
                     out=work / "records.bin")
        procs.append(lg)
        with ProcSampler(tg.pid, interval=1.0) as ps:
            t_warm = lg.start + warmup_s
            t_base_end = t_warm + base_s
            wait_until(lambda: time.monotonic() >= t_base_end, base_s + warmup_s + 30,
                       "the baseline period")
            t_down = time.monotonic()
            rx.down()
            # Counted after the receiver has closed every connection: an
            # export answered while down() ran was delivered before it.
            accepted_before = rx.stats()["spans_accepted"]
            wait_until(lambda: time.monotonic() >= t_down + down_s, down_s + 30,
                       "the outage", interval=0.2)
            during = telemetry(port)
            accepted_during = rx.stats()["spans_accepted"]
            rx.up()
            t_up = time.monotonic()
            accepted_at_up = rx.stats()["spans_accepted"]
            # What was queued at the return is at most the queue plus a
            # batch; more than that means spans made after it arrive.
            wait_until(lambda: rx.stats()["spans_accepted"] - accepted_at_up > a.queue + batch,
                       60, "spans made after the return to arrive", interval=0.2)
            t_resumed = time.monotonic()
            resumed_after_s = t_resumed - t_up
            # Some more load after delivery resumed, for the "after" figures.
            wait_until(lambda: time.monotonic() >= t_resumed + min(base_s, 10), 60,
                       "the after period")
            recs = lg.finish()
            t_end = time.monotonic()
        samples = ps.samples

        tg.expect_exit = True
        tg.signal(signal.SIGTERM)
        tg.wait_exit(60)
        line = tg.stderr.wait_for(lambda l: "tracing totals" in l, 5, "tracing totals")
        totals = json.loads(line.split("tracing totals ", 1)[1])
        rx_stats = rx.stats()

        # ---- the figures
        before = recs.between(t_warm, t_down).stats()
        down_recs = recs.between(t_down, t_up)
        during_st = down_recs.stats()
        after = recs.between(t_up, t_end).stats()
        allst = recs.stats()
        rss_before = max(s[1] for s in samples if t_warm <= s[0] < t_down)
        down_samples = [s for s in samples if t_down <= s[0] < t_up]
        # Flat once the queue is full: the outage's samples in thirds, the
        # last third's maximum against the first third's.
        third = len(down_samples) // 3
        rss_down_first = max(s[1] for s in down_samples[:third])
        rss_down_second = max(s[1] for s in down_samples[-third:])
        rss_down = max(rss_down_first, rss_down_second)
        rss_after = max(s[1] for s in samples if s[0] >= t_up)
        fds = [s[2] for s in samples]
        # Seconds where requests were slow, and how busy the machine and
        # tracegate were then: a shared machine can stall everything.
        per_s = {}
        for r in recs:
            per_s.setdefault(int(r.due - lg.start), []).append(r.latency_ms)
        slow = sorted(k for k, v in per_s.items() if max(v) > 100)
        busy = {}
        for a_, b_ in zip(samples, samples[1:]):
            busy[int(a_[0] - lg.start)] = (ProcSampler.busy_share(a_, b_),
                                           ProcSampler.cpu_share(a_, b_))
        def share(secs, i):
            vals = [busy[k][i] for k in secs if k in busy]
            return sum(vals) / len(vals) if vals else None
        calm = [k for k in per_s if k not in slow]
        stalls = {"slow_seconds": slow, "machine_busy_slow": share(slow, 0),
                  "machine_busy_calm": share(calm, 0), "tracegate_cpu_slow": share(slow, 1),
                  "tracegate_cpu_calm": share(calm, 1)}
        result["stalls"] = stalls
        phase_cpu = {}
        for name, t0, t1 in (("before", t_warm, t_down), ("down", t_down, t_up),
                             ("after", t_up, t_end)):
            secs = [k for k in busy if t0 <= lg.start + k < t1]
            phase_cpu[name] = (share(secs, 0), share(secs, 1))
        result["phase_cpu"] = phase_cpu
        bound_kib = (a.queue + 2 * batch) * SPAN_BYTES_BOUND // 1024
        result.update({
            "achieved_rps": lg.summary["achieved_rps"],
            "before": before, "during": during_st, "after": after, "all": allst,
            "rss_kib": {"before_max": rss_before, "down_first_third_max": rss_down_first,
                        "down_last_third_max": rss_down_second, "after_max": rss_after,
                        "growth_bound": bound_kib},
            "samples": [(round(s[0] - lg.start, 1), s[1], s[2], s[3], round(s[4], 2))
                        for s in samples],
            "t_down": round(t_down - lg.start, 1), "t_up": round(t_up - lg.start, 1),
            "fds": {"min": min(fds), "max": max(fds)},
            "delivery_during_outage": during, "totals": totals, "receiver": rx_stats,
            "resumed_after_s": round(resumed_after_s, 2),
            "accepted": {"before_down": accepted_before, "during_down": accepted_during,
                         "at_up": accepted_at_up},
        })

        # ---- the checks
        load_s = max(r.due for r in recs) - min(r.due for r in recs)
        sent_late = sum(1 for r in recs if r.wait_ms > 100)
        result["sent_late"] = sent_late
        checks.check(allst["errors"] == {} and set(allst["statuses"]) == {200},
                     "no failed request: %d requests, errors %s, statuses %s"
                     % (allst["count"], allst["errors"], allst["statuses"]))
        print("info - load: %d requests over %.0f s (%.0f/s, target %.0f); %d sent more than "
              "100 ms after they were due (the system fell behind)"
              % (allst["count"], load_s, allst["count"] / load_s, a.rate, sent_late))
        p50_ok = during_st["p50_ms"] <= max(2 * before["p50_ms"], before["p50_ms"] + 1.0)
        p99_ok = during_st["p99_ms"] <= max(3 * before["p99_ms"], before["p99_ms"] + 5.0)
        checks.check(p50_ok and p99_ok,
                     "latency while down (p50 %.2f ms, p99 %.2f ms) within bounds of before "
                     "(p50 %.2f ms, p99 %.2f ms)" % (during_st["p50_ms"], during_st["p99_ms"],
                                                     before["p50_ms"], before["p99_ms"]))
        checks.check(rss_down - rss_before <= bound_kib,
                     "RSS growth while down %d KiB <= (queue %d + 2 batches) x %d KiB = %d KiB"
                     % (rss_down - rss_before, a.queue, SPAN_BYTES_BOUND // 1024, bound_kib))
        checks.check(rss_down_second <= rss_down_first * 1.05 + 2048,
                     "RSS flat once the queue is full: last third of the outage max %d KiB <= "
                     "first third max %d KiB + 5 %% + 2 MiB" % (rss_down_second, rss_down_first))
        t = totals
        lost = (t["spans_rejected"] + t["spans_dropped_not_retryable"] +
                t["spans_dropped_retries_exhausted"] + t["spans_dropped_deadline"])
        checks.check(t["spans_queued"] == t["spans_exported"] + lost,
                     "spans_queued %d = exported %d + rejected/not retryable/retries "
                     "exhausted/deadline %d" % (t["spans_queued"], t["spans_exported"], lost))
        checks.check(t["spans_started"] == t["spans_queued"] + t["spans_dropped_queue_full"] +
                     t["spans_dropped_shutdown"],
                     "spans_started %d = queued %d + dropped queue full %d + shutdown %d"
                     % (t["spans_started"], t["spans_queued"], t["spans_dropped_queue_full"],
                        t["spans_dropped_shutdown"]))
        checks.check(t["spans_started"] == 2 * allst["ok"] and t["span_alloc_failed"] == 0,
                     "two spans per answered request: %d started for %d requests"
                     % (t["spans_started"], allst["ok"]))
        checks.check(t["spans_exported"] == rx_stats["spans_accepted"],
                     "spans_exported %d = spans the receiver accepted %d"
                     % (t["spans_exported"], rx_stats["spans_accepted"]))
        missed = t["spans_started"] - rx_stats["spans_accepted"]
        drops = lost + t["spans_dropped_queue_full"] + t["spans_dropped_shutdown"]
        checks.check(missed == drops and t["spans_dropped_queue_full"] > 0,
                     "the receiver missed %d spans = drops %d (queue full %d, retries exhausted "
                     "%d, other %d)" % (missed, drops, t["spans_dropped_queue_full"],
                                        t["spans_dropped_retries_exhausted"],
                                        drops - t["spans_dropped_queue_full"] -
                                        t["spans_dropped_retries_exhausted"]))
        checks.check(accepted_during == accepted_before,
                     "nothing delivered while down (%d before, %d at the end of the outage)"
                     % (accepted_before, accepted_during))
        checks.check(True, "export resumed: %d spans made after the return arrived within "
                           "%.1f s" % (a.queue + batch, resumed_after_s))

        if slow:
            print("info - %d seconds had a request slower than 100 ms (%s); the machine was "
                  "%.0f %% busy in them against %.0f %% in the others, tracegate used %.2f "
                  "CPU-s/s in them against %.2f" % (
                      len(slow), ", ".join(str(k) for k in slow[:40]),
                      100 * (stalls["machine_busy_slow"] or 0),
                      100 * (stalls["machine_busy_calm"] or 0),
                      stalls["tracegate_cpu_slow"] or 0, stalls["tracegate_cpu_calm"] or 0))
        print()
        print("| phase | requests | req/s | p50 ms | p99 ms | max ms | failed | RSS max KiB "
              "| tracegate CPU-s/s | machine busy |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, st, rss, cpu in (("before", before, rss_before, phase_cpu["before"]),
                                   ("collector down", during_st, rss_down, phase_cpu["down"]),
                                   ("after", after, rss_after, phase_cpu["after"])):
            print("| %s | %d | %s | %.2f | %.2f | %.1f | %d | %d | %.2f | %.0f %% |"
                  % (name, st["count"], st["rate"], st["p50_ms"], st["p99_ms"], st["max_ms"],
                     st["count"] - st["ok"] + sum(v for k, v in st["statuses"].items()
                                                   if k != 200), rss, cpu[1] or 0,
                     100 * (cpu[0] or 0)))
        print("\ntotals: %s\nreceiver: %s" % (json.dumps(totals), json.dumps(rx_stats)))
    except Exception as e:  # a check that could not run is a failed check
        checks.check(False, "outage run: %s: %s" % (type(e).__name__, e))
    finally:
        for p in reversed(procs):
            p.stop(grace=10)
        if a.json:
            Path(a.json).write_text(json.dumps(result, indent=2, default=str))
        shutil.rmtree(work, ignore_errors=True)
    print("# %d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
