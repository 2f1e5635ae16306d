#!/usr/bin/env python3
"""Exporter throughput: spans per CPU second, tracegate's OTLP exporter
against the official OpenTelemetry JS exporter (0.223.0), same span shape
(a SERVER span with 12 attributes and 2 events), same batch size (512), each
export awaited, to the same discarding receiver on loopback
(test/interop/otlp/receiver.js --discard), per protocol, alternating rounds.

The figure is the exporting process's CPU time (encoding, compression when
asked, HTTP/gRPC transport, and building the spans), so the machine's noise
and the receiver's own speed matter little. Bar: tracegate at least 5x the
JS exporter with http/protobuf.

Usage: /usr/bin/python3 test/bench/export.py [--spans N] [--rounds N] [--gzip]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OTLP_DIR = REPO / "test" / "interop" / "otlp"
BUILD = Path(os.environ.get("TRACEGATE_BUILD", str(REPO / "build")))
EXPORT_BENCH = BUILD / "test" / "bench" / "export_bench"
NODE = os.environ.get("INTEROP_NODE", "node")
PROTOCOLS = ["http/protobuf", "http/json", "grpc"]
BAR = {"http/protobuf": 5.0}


def start_discard_receiver():
    """receiver.js --discard on CPU 1; returns (Popen, {"http_port", "grpc_port", ...})."""
    p = subprocess.Popen(["taskset", "-c", "1", NODE, str(OTLP_DIR / "receiver.js"), "--discard"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    if not line:
        p.kill()
        raise SystemExit("the discarding receiver did not start (run test/interop/setup.sh)")
    return p, json.loads(line)


def endpoint(ports, protocol):
    if protocol == "grpc":
        return "http://127.0.0.1:%d" % ports["grpc_port"]
    return "http://127.0.0.1:%d/v1/traces" % ports["http_port"]


def run_json(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    if r.returncode != 0:
        raise SystemExit("%s failed: %s" % (cmd[0], r.stderr.decode(errors="replace")[-500:]))
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=51200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gzip", action="store_true")
    args = ap.parse_args()
    rx, ports = start_discard_receiver()
    try:
        results = {}
        for rnd in range(args.rounds):
            for protocol in PROTOCOLS:
                url = endpoint(ports, protocol)
                ours = ["taskset", "-c", "0", str(EXPORT_BENCH), url, protocol, str(args.spans)]
                env = dict(os.environ)
                if args.gzip:
                    env["TG_BENCH_GZIP"] = "1"
                js = ["taskset", "-c", "0", NODE, str(OTLP_DIR / "bench_js_exporter.js"),
                      "--protocol", protocol, "--endpoint", url, "--spans", str(args.spans)]
                if args.gzip:
                    js.append("--gzip")
                order = [("tracegate", ours), ("js", js)]
                if rnd % 2:
                    order.reverse()
                for who, cmd in order:
                    r = run_json(cmd, env)
                    results.setdefault((protocol, who), []).append(r["spans_per_cpu_second"])
                    print("  round %d %-13s %-9s %9.0f spans/CPU-s" %
                          (rnd, protocol, who, r["spans_per_cpu_second"]), file=sys.stderr)
        med = statistics.median
        print("\n%d spans per run, batches of 512, %d rounds%s\n" %
              (args.spans, args.rounds, ", gzip" if args.gzip else ""))
        print("| protocol | tracegate spans/CPU-s | OpenTelemetry JS spans/CPU-s | ratio | bar |")
        print("|---|---|---|---|---|")
        missed = False
        for protocol in PROTOCOLS:
            ours = med(results[(protocol, "tracegate")])
            theirs = med(results[(protocol, "js")])
            bar = BAR.get(protocol)
            verdict = ""
            if bar:
                ok = ours / theirs >= bar
                missed = missed or not ok
                verdict = "≥ %.0fx %s" % (bar, "met" if ok else "MISSED")
            print("| %s | %.0f | %.0f | %.1fx | %s |" % (protocol, ours, theirs, ours / theirs,
                                                       verdict))
        return 1 if missed else 0
    finally:
        rx.terminate()
        rx.wait(10)


if __name__ == "__main__":
    sys.exit(main())
