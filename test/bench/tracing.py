#!/usr/bin/env python3
"""What tracing costs: tracegate's CPU per request with tracing disabled,
enabled at 0%, 10% and 100% sampling, in one run and alternating rounds.

One tracegate per mode (one worker, pinned to CPU 0, started one after the
other so only the measured one is loaded), the same nginx upstream serving a
3-byte body, the same wrk load (wrk and the upstream on CPU 1). Every request
arrives without a traceparent, so every request is a new trace and the
sampler decides. Spans go to the "none" exporter (recorded, queued, handed to
the exporter thread and freed: the whole pipeline except the wire), with
--exporter console are encoded as OTLP/JSON and written to /dev/null, and
with --exporter otlp are exported live over OTLP/HTTP protobuf (or
--protocol) to a discarding receiver (test/interop/otlp/receiver.js
--discard, on CPU 1 with wrk and the upstream).

The figure is CPU time per request of the whole tracegate process (workers
and the span processor thread), and its ratio to the disabled mode.
Bars: 100% sampling at most 1.10x disabled (1.15x with live OTLP export);
0% at most 1.02x.

Usage: /usr/bin/python3 test/bench/tracing.py [--duration S] [--rounds N]
                                              [--conns 50] [--exporter none|console|otlp]
                                              [--protocol http/protobuf]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (TRACEGATE, cpu_seconds, free_port, run_wrk, start_upstream,  # noqa: E402
                   stop_all, wait_port)
from export import start_discard_receiver  # noqa: E402

MODES = [
    ("disabled", {"TELEMETRY_ENABLED": "false"}),
    ("0%", {"TELEMETRY_SAMPLE_RATE": "0"}),
    ("10%", {"TELEMETRY_SAMPLE_RATE": "0.1"}),
    ("100%", {"TELEMETRY_SAMPLE_RATE": "1"}),
]
BARS = {"0%": 1.02, "100%": 1.10}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 6)))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)))
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--exporter", default="none", choices=["none", "console", "otlp"])
    ap.add_argument("--protocol", default="http/protobuf",
                    choices=["http/protobuf", "http/json", "grpc"])
    args = ap.parse_args()
    bars = dict(BARS)
    if args.exporter == "otlp":
        bars["100%"] = 1.15

    tmp = tempfile.mkdtemp(prefix="tg-bench-tracing-")
    os.chmod(tmp, 0o755)
    procs = []
    try:
        up_port, up = start_upstream(tmp)
        procs.append(up)
        otlp = {}
        if args.exporter == "otlp":
            rx, ports = start_discard_receiver()
            procs.append(rx)
            otlp = {"OTEL_EXPORTER_OTLP_PROTOCOL": args.protocol,
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:%d" % (
                        ports["grpc_port"] if args.protocol == "grpc" else ports["http_port"])}
        devnull = open(os.devnull, "wb")
        targets = []
        for name, extra in MODES:
            port = free_port()
            env = dict(os.environ, OTEL_TRACES_EXPORTER=args.exporter, **otlp, **extra)
            p = subprocess.Popen(["taskset", "-c", "0", TRACEGATE, "--listen",
                                  "127.0.0.1:%d" % port, "--upstream",
                                  "http://127.0.0.1:%d" % up_port, "--workers", "1",
                                  "--access-log", "off"],
                                 env=env, stdout=devnull, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(port)
            targets.append((name, port, p.pid))

        results = {}
        bad = False
        for name, port, _ in targets:
            run_wrk(port, "/small", args.conns, 1)  # warm-up
        for rnd in range(args.rounds):
            order = targets if rnd % 2 == 0 else list(reversed(targets))
            for name, port, pid in order:
                before = cpu_seconds([pid])
                r = run_wrk(port, "/small", args.conns, args.duration)
                after = cpu_seconds([pid])
                r["cpu_us"] = (after - before) / r["requests"] * 1e6 if r["requests"] else float("nan")
                results.setdefault(name, []).append(r)
                if r["errors"] or not r["requests"]:
                    bad = True
                    print("!! %s: %d errors\n%s" % (name, r["errors"], r["raw"]), file=sys.stderr)
                print("  round %d %-8s %8.0f req/s  cpu %6.2f us/req" %
                      (rnd, name, r["rps"], r["cpu_us"]), file=sys.stderr)

        med = statistics.median
        base = med([r["cpu_us"] for r in results["disabled"]])
        print("\nc=%d, 3-byte body, exporter %s, %d rounds x %d s\n" %
              (args.conns, args.exporter + (" " + args.protocol if otlp else ""),
               args.rounds, args.duration))
        print("| tracing | req/s | p50 ms | p99 ms | CPU µs/req | ratio vs disabled | bar |")
        print("|---|---|---|---|---|---|---|")
        for name, _ in MODES:
            rs = results[name]
            cpu = med([r["cpu_us"] for r in rs])
            bar = bars.get(name)
            verdict = "" if bar is None else ("≤ %.2f %s" % (bar, "met" if cpu / base <= bar else "MISSED"))
            print("| %s | %.0f | %.2f | %.2f | %.2f | %.3f | %s |" % (
                name, med([r["rps"] for r in rs]), med([r["p50"] for r in rs]),
                med([r["p99"] for r in rs]), cpu, cpu / base, verdict))
        print("\nerrors/non-2xx over all runs: %d" % sum(r["errors"] for rs in results.values() for r in rs))
        return 1 if bad else 0
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
