#!/usr/bin/env python3
"""Soak: minutes of mixed traffic with run-time changes; memory and file
descriptors must stay flat.

tracegate (2 workers, tracing at rate 1 exported over OTLP to the test
receiver) gets a steady open-loop mix from test/bench/loadgen.c: small and
1 MiB answers (nginx), chunked and 2 MB streams, a slow drip, 256 KiB
uploads, 300 ms answers (test/upstream/server.py), and failures: a 503 and a
500 passed through, an upstream that resets mid-body, a route to a port
nothing listens on. Meanwhile sampling is changed through POST
/admin/telemetry every few seconds (rates, route rates, off and on, TTLs,
DELETE, the test export) and the configuration file is rewritten and
reloaded with SIGHUP. /proc/PID/status VmRSS, the open descriptors and the
threads are sampled every second.

The load runs in segments (--segment seconds, 12 in CI, 30 otherwise) with
a quiet point between them (1.5 s without requests, every request of the
segment over), where RSS and descriptors are sampled too. Flat, precisely,
judging only what comes after the warm-up (--warmup seconds):
  - RSS under load: the samples cut in thirds, the last third's maximum is
    at most the first third's maximum + 5 % + 2 MiB;
  - RSS at quiet points: the last at most the first + 5 % + 2 MiB;
  - open descriptors at quiet points: no client socket and no half-closed
    (CLOSE_WAIT) socket left; the descriptors other than pooled upstream
    connections no more at the last than at the first (descriptors under
    load follow the number of connections, so they are compared where no
    request is running; the upstream pool is bounded by upstream_keepalive);
  - threads: the last third's maximum at most the first third's + 2.

Every request must end as its kind allows (200 for the good ones; 503, 500
and 502 for the failing routes; a cut response for the upstream that resets
mid-body); nothing may time out; tracegate exits 0 with every span
accounted.

Usage: /usr/bin/python3 test/soak/soak.py [--ci] [--minutes N] [--rate R]
       [--json FILE]
--ci: 60 s (warm-up 15 s); default: 10 minutes (warm-up 60 s).
TRACEGATE_BIN=build-asan/gateway/tracegate runs it against the sanitizer
build (the leak check at exit then applies; RSS figures mean little there).
Prints one "ok - ..." / "not ok - ..." line per check and exits 1 if one
failed. Every process it starts is stopped by its PID.
"""

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test" / "integration"))

from admin_client import TOKEN, admin  # noqa: E402
from conftest import TRACEGATE_BIN, Tracegate, Upstream, free_port, wait_until  # noqa: E402
from loadkit import Loadgen, Nginx, ProcSampler, Records, fd_kinds, flat  # noqa: E402
from otlp_receiver import Receiver  # noqa: E402

# (weight, method, path, body bytes, allowed outcomes); an outcome is an
# HTTP status or "cut" (the response began and was cut short).
MIX = [
    (40, "GET", "/small", 0, {200}),
    (4, "GET", "/big", 0, {200}),
    (3, "GET", "/py/chunked/200000", 0, {200}),
    (1, "GET", "/py/stream/2000000", 0, {200}),
    (1, "GET", "/py/drip/500", 0, {200}),
    (2, "POST", "/py/echo", 262144, {200}),
    (2, "GET", "/py/delay/300", 0, {200}),
    (2, "GET", "/fail", 0, {503}),
    (1, "GET", "/py/status/500", 0, {500}),
    (1, "GET", "/py/reset", 0, {"cut", 502}),
    (2, "GET", "/dead/x", 0, {502}),
]


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what):
        print("%s - %s" % ("ok" if ok else "not ok", what), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def config(nginx, py, dead_port, n):
    """The configuration file's n-th version: timeouts move, a route comes and
    goes, the sampling defaults change."""
    routes = [
        {"prefix": "/py", "upstream": py.url, "strip_prefix": True},
        {"prefix": "/dead", "upstream": "http://127.0.0.1:%d" % dead_port,
         "connect_timeout_ms": 1000},
    ]
    if n % 2:
        routes.append({"prefix": "/extra", "upstream": nginx.url, "sample_rate": 0.5})
    return {"upstream": nginx.url, "workers": 2, "access_log": "off",
            "connect_timeout_ms": 2000 + n % 7, "routes": routes,
            "tracing": {"sample_rate": 1.0 if n % 3 else 0.5}}


def admin_changes(port, stop, log):
    """A change through the admin endpoint every 2-4 s, until stop is set."""
    rng = random.Random(1)
    bodies = [
        ("POST", "/admin/telemetry", {"rate": 0.1}),
        ("POST", "/admin/telemetry", {"rate": 1.0, "routes": {"/py": 0.5}}),
        ("POST", "/admin/telemetry", {"enabled": False}),
        ("POST", "/admin/telemetry", {"enabled": True, "ttl_seconds": 2}),
        ("GET", "/admin/telemetry", None),
        ("DELETE", "/admin/telemetry", None),
        ("POST", "/admin/telemetry/test", None),
        ("POST", "/admin/telemetry", {"rate": 2}),  # refused: 400
    ]
    i = 0
    while not stop.wait(rng.uniform(2, 4)):
        method, path, body = bodies[i % len(bodies)]
        i += 1
        try:
            r = admin(port, method, path, body)
            log.append((method, path, r.status))
        except Exception as e:  # noqa: BLE001  (counted as a failed change)
            log.append((method, path, repr(e)))


def outcome(r):
    if r.err == "ok":
        return r.status
    return r.err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ci", action="store_true", help="60 s")
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--rate", type=float, default=400)
    ap.add_argument("--warmup", type=float)
    ap.add_argument("--segment", type=float, help="seconds of load between quiet points")
    ap.add_argument("--quiet", type=float, default=1.5, help="seconds of each quiet point")
    ap.add_argument("--reload-every", type=float, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()
    seconds = a.minutes * 60 if a.minutes else (60 if a.ci else 600)
    warmup = a.warmup if a.warmup is not None else (15 if a.ci else 60)
    if a.segment is None:
        a.segment = 12 if a.ci else 30

    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="tg-soak-"))
    procs = []
    result = {"seconds": seconds, "rate": a.rate, "warmup_s": warmup, "segment_s": a.segment}
    stop = threading.Event()
    try:
        rx = Receiver("/dev/null", name="otlp-receiver")
        procs.append(rx)
        ng = Nginx(work / "nginx", {"small": b"ok\n", "big": bytes(range(256)) * 4096},
                   locations="location = /fail { return 503; }")
        procs.append(ng)
        py = Upstream("py")
        procs.append(py)
        dead_port = free_port()
        cfg_path = work / "tracegate.json"
        cfg_path.write_text(json.dumps(config(ng, py, dead_port, 0)))
        port = free_port()
        env = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": rx.http_url,
               "TELEMETRY_ADMIN_TOKEN": TOKEN}
        tg = Tracegate([TRACEGATE_BIN, "--listen", "127.0.0.1:%d" % port, "--config", cfg_path],
                       port, env=env)
        procs.append(tg)
        tg.wait_ready()

        changes = []
        quiet = []      # (time, VmRSS KiB, fds, threads) between load segments
        kinds = []      # what those descriptors are (fd_kinds)
        up_ports = {ng.port, py.port}
        recs = Records()
        reloads = 0
        seg = 0
        load_s = 0.0
        reqs = [m[:3] + ((m[3],) if m[3] else ()) for m in MIX]
        with ProcSampler(tg.pid, interval=1.0) as ps:
            quiet.append(ps.sample())
            kinds.append(fd_kinds(tg.pid, port, up_ports))
            t_start = time.monotonic()
            t_end = t_start + seconds
            th = threading.Thread(target=admin_changes, args=(port, stop, changes), daemon=True)
            th.start()
            next_reload = t_start + a.reload_every
            while time.monotonic() < t_end - 1:
                seg += 1
                dur = min(a.segment, t_end - time.monotonic())
                load_s += dur
                lg = Loadgen(port, rate=a.rate, duration=dur, conns=256, timeout_ms=15000, reqs=reqs,
                             out=work / ("records-%d.bin" % seg), name="loadgen-%d" % seg)
                procs.append(lg)
                while True:
                    try:
                        lg.wait_exit(max(0.0, next_reload - time.monotonic()))
                        break  # the segment is over
                    except subprocess.TimeoutExpired:
                        pass
                    reloads += 1
                    next_reload += a.reload_every
                    cfg_path.write_text(json.dumps(config(ng, py, dead_port, reloads)))
                    tg.signal(signal.SIGHUP)
                    tg.stderr.wait_count(lambda l: l.startswith("tracegate: reloaded"), reloads,
                                         10, "reload #%d" % reloads)
                recs.extend(lg.finish())
                # A quiet moment: every request of the segment is over.
                t_q = time.monotonic()
                wait_until(lambda: time.monotonic() > t_q + a.quiet, a.quiet + 5, "quiet")
                quiet.append(ps.sample())
                kinds.append(fd_kinds(tg.pid, port, up_ports))
            stop.set()
            th.join(10)
            t_load_end = time.monotonic()
        samples = ps.samples
        load_samples = [x for x in samples if t_start <= x[0] <= t_load_end]
        after_warmup = [i for i, q in enumerate(quiet) if q[0] >= t_start + warmup]
        if len(after_warmup) < 2:
            raise AssertionError("too few quiet points after the warm-up: %d of %d"
                                 % (len(after_warmup), len(quiet)))

        tg.expect_exit = True
        tg.signal(signal.SIGTERM)
        rc = tg.wait_exit(60)
        line = tg.stderr.wait_for(lambda l: "tracing totals" in l, 5, "tracing totals")
        totals = json.loads(line.split("tracing totals ", 1)[1])

        # ---- outcomes per kind
        bad = {}
        per_kind = {}
        for r in recs:
            o = outcome(r)
            kind = MIX[r.req][2]
            per_kind.setdefault(kind, {}).setdefault(str(o), 0)
            per_kind[kind][str(o)] += 1
            if o not in MIX[r.req][4]:
                bad.setdefault(kind, {}).setdefault(str(o), 0)
                bad[kind][str(o)] += 1
        ok_rss, rss_first, rss_last = flat(load_samples, 1, warmup, 0.05, 2048)
        ok_thr, thr_first, thr_last = flat(load_samples, 3, warmup, 0.0, 2)
        q0, qn = quiet[after_warmup[0]], quiet[after_warmup[-1]]
        k0, kn = kinds[after_warmup[0]], kinds[after_warmup[-1]]

        def not_pooled(k):
            # Pooled: upstream connections, and connections to the admin
            # socket (kept by the workers' pools, closed by the admin server
            # after 10 s idle).
            return sum(v for name, v in k.items() if name not in ("upstream", "unix"))
        st = recs.stats()
        sent_late = sum(1 for r in recs if r.wait_ms > 100)
        odd = [(round(r.due - t_start, 3), MIX[r.req][2], r.err, r.status, r.body_bytes)
               for r in recs if r.err not in ("ok", "cut")]
        result.update({"requests": len(recs), "segments": seg, "load_s": load_s,
                       "sent_late": sent_late,
                       "failed_requests": odd[:100],
                       "per_kind": per_kind, "unexpected": bad, "reloads": reloads,
                       "admin_changes": changes,
                       "rss_kib": {"first_third_max": rss_first, "last_third_max": rss_last,
                                   "min": min(x[1] for x in load_samples),
                                   "max": max(x[1] for x in load_samples)},
                       "quiet": [(round(q[0] - t_start, 1),) + tuple(q[1:]) + (k,)
                                 for q, k in zip(quiet, kinds)],
                       "threads": {"first_third_max": thr_first, "last_third_max": thr_last},
                       "totals": totals, "latency_all": st,
                       "samples": [(round(x[0] - t_start, 1),) + tuple(x[1:])
                                   for x in samples]})

        checks.check(not bad, "every request ended as its kind allows: %d requests; "
                              "unexpected: %s" % (len(recs), bad or "none"))
        print("info - load: %d requests in %d segments, %.0f s of load (%.0f/s, target %.0f); %d "
              "sent more than 100 ms after they were due (the system fell behind)"
              % (len(recs), seg, load_s, len(recs) / load_s, a.rate, sent_late))
        checks.check(reloads >= max(2, int(seconds / a.reload_every) - 2),
                     "%d SIGHUP reloads" % reloads)
        admin_bad = [c for c in changes if not isinstance(c[2], int) or
                     (c[2] != 200 and not (c[2] == 400 and c[0] == "POST"))]
        checks.check(len(changes) >= seconds / 5 and not admin_bad,
                     "%d admin changes answered (bad: %s)" % (len(changes), admin_bad or "none"))
        checks.check(ok_rss, "RSS under load flat: last third max %d KiB <= first third max "
                             "%d KiB + 5 %% + 2 MiB" % (rss_last, rss_first))
        checks.check(qn[1] <= q0[1] * 1.05 + 2048,
                     "RSS at quiet points flat: %d KiB at the last <= %d KiB at the first after "
                     "the warm-up + 5 %% + 2 MiB (all: %s)"
                     % (qn[1], q0[1], [q[1] for q in quiet]))
        # Between segments no client is connected; what stays open besides
        # the listeners, the exporter's connection and the like are upstream
        # connections kept for reuse (a pool bounded by upstream_keepalive,
        # and by the most ever in use at once).
        checks.check(all(k.get("client", 0) == 0 and k.get("close_wait", 0) == 0
                         for k in kinds),
                     "no client connection and no half-closed socket left open at any quiet "
                     "point (%s)" % kinds)
        checks.check(not_pooled(kn) <= not_pooled(k0),
                     "descriptors other than pooled upstream connections flat at quiet points: "
                     "%d at the last <= %d at the first after the warm-up (pooled: %s)"
                     % (not_pooled(kn), not_pooled(k0), [k.get("upstream", 0) for k in kinds]))
        checks.check(ok_thr, "threads flat: last third max %d <= first third max %d + 2"
                     % (thr_last, thr_first))
        t = totals
        lost = (t["spans_rejected"] + t["spans_dropped_not_retryable"] +
                t["spans_dropped_retries_exhausted"] + t["spans_dropped_deadline"])
        checks.check(rc == 0 and t["spans_queued"] == t["spans_exported"] + lost and
                     t["spans_started"] == t["spans_queued"] + t["spans_dropped_queue_full"] +
                     t["spans_dropped_shutdown"],
                     "exit %s, spans accounted: started %d, exported %d, lost %d, dropped %d"
                     % (rc, t["spans_started"], t["spans_exported"], lost,
                        t["spans_dropped_queue_full"] + t["spans_dropped_shutdown"]))
        print("\nlatency over all (ms): p50 %.2f p90 %.2f p99 %.2f max %.1f"
              % (st["p50_ms"], st["p90_ms"], st["p99_ms"], st["max_ms"]))
        print("per kind: %s" % json.dumps(per_kind))
    except Exception as e:  # noqa: BLE001  (a check that could not run failed)
        checks.check(False, "soak run: %s: %s" % (type(e).__name__, e))
    finally:
        stop.set()
        for p in reversed(procs):
            p.stop(grace=10)
        if a.json:
            Path(a.json).write_text(json.dumps(result, indent=1, default=str))
        shutil.rmtree(work, ignore_errors=True)
    print("# %d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
