#!/usr/bin/env python3
"""A/B of tracegate builds: CPU time per request of two or more binaries in
one run, alternating rounds, against the same nginx upstream (the way to
tell a real change from a slow day on a shared machine).

Usage: /usr/bin/python3 test/bench/ab.py BIN_A,BIN_B[,...] CONNS [/small|/16k]
ROUNDS=N in the environment sets the number of rounds (default 3).
Each binary runs with one worker pinned to CPU 0 and TELEMETRY_ENABLED=false;
wrk and the upstream use CPU 1. Prints each round and the medians.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (cpu_seconds, free_port, run_wrk, start_upstream, stop_all,  # noqa: E402
                   wait_port)


def main():
    bins = sys.argv[1].split(",")
    conns = int(sys.argv[2])
    path = sys.argv[3] if len(sys.argv) > 3 else "/small"
    tmp = tempfile.mkdtemp(prefix="tg-ab-")
    os.chmod(tmp, 0o755)
    up, up_proc = start_upstream(tmp)
    procs = [up_proc]
    try:
        targets = []
        for b in bins:
            port = free_port()
            p = subprocess.Popen(["taskset", "-c", "0", b, "--listen", "127.0.0.1:%d" % port,
                                  "--upstream", "http://127.0.0.1:%d" % up, "--workers", "1",
                                  "--access-log", "off"],
                                 env=dict(os.environ, TELEMETRY_ENABLED="false"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(port)
            targets.append((b, port, p.pid))
        res = {}
        for b, port, _ in targets:
            run_wrk(port, path, conns, 2)  # warm-up
        for rnd in range(int(os.environ.get("ROUNDS", "3"))):
            for b, port, pid in (targets if rnd % 2 == 0 else targets[::-1]):
                c0 = cpu_seconds([pid])
                r = run_wrk(port, path, conns, 5)
                c1 = cpu_seconds([pid])
                res.setdefault(b, []).append((c1 - c0) / r["requests"] * 1e6)
                print(rnd, b, "%.1f us/req" % res[b][-1], "errors %d" % r["errors"], flush=True)
        for b in bins:
            print("%-50s median %.1f us/req" % (b, statistics.median(res[b])))
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
