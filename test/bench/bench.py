#!/usr/bin/env python3
"""tracegate vs nginx as a reverse proxy, in one run, on loopback.

Three targets get the same wrk load in alternating rounds: the upstream
directly, nginx as a proxy, and tracegate as a proxy. The upstream is an
nginx serving a 3-byte and a 16 KiB body. Both proxies run one worker,
pinned to CPU 0, with upstream keep-alive large enough never to reconnect;
wrk and the upstream share CPU 1.

Both proxies do the same header work: keep the client's Host, add
X-Forwarded-For/-Proto/-Host and Via to the request, Via to the response.
tracegate runs with TELEMETRY_ENABLED=false (it still propagates a
traceparent); what tracing costs on top is test/bench/tracing.py's job.

The figure that holds on a shared, noisy machine is proxy CPU time per
request: utime+stime of the proxy's processes (from /proc/PID/stat) over
the requests wrk completed. Syscalls per request come from a separate,
shorter run under `strace -c -f`.

Usage: /usr/bin/python3 test/bench/bench.py [--duration S] [--rounds N]
                                           [--conns 50,400] [--no-strace]
Prints a markdown table; exits 1 if any run had errors or non-2xx answers.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRACEGATE = os.environ.get("TRACEGATE_BIN", str(REPO / "build" / "gateway" / "tracegate"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d never opened" % port)


def nginx_conf(tmp, name, port, body):
    return """
worker_processes 1;
worker_cpu_affinity {cpu};
pid {tmp}/{name}.pid;
error_log {tmp}/{name}.err warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_temp_path {tmp}/{name}-body;
    proxy_temp_path {tmp}/{name}-proxy;
    fastcgi_temp_path {tmp}/{name}-fcgi;
    uwsgi_temp_path {tmp}/{name}-uwsgi;
    scgi_temp_path {tmp}/{name}-scgi;
    {body}
}}
""".format(tmp=tmp, name=name, body=body, cpu="01" if name == "proxy" else "10")


def start_nginx(tmp, name, port, body):
    conf = Path(tmp) / ("%s.conf" % name)
    conf.write_text(nginx_conf(tmp, name, port, body))
    p = subprocess.Popen([NGINX, "-c", str(conf), "-p", tmp, "-g", "daemon off;"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def start_upstream(tmp):
    """nginx serving /small (3 bytes) and /16k from tmp/www; returns (port, process)."""
    www = Path(tmp) / "www"
    www.mkdir()
    (www / "small").write_bytes(b"ok\n")
    (www / "16k").write_bytes(os.urandom(16384))
    for f in www.iterdir():
        f.chmod(0o644)
    port = free_port()
    proc = start_nginx(tmp, "upstream", port,
                       "server {{ listen 127.0.0.1:{p}; root {t}/www; }}".format(p=port, t=tmp))
    return port, proc


def stop_all(procs):
    """SIGTERM every process, SIGKILL the ones still there after 10 s."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def child_pids(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / HZ


def run_wrk(port, path, conns, duration):
    cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c%d" % conns, "-d%ds" % duration,
           "--latency", "http://127.0.0.1:%d%s" % (port, path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    m = re.search(r"(\d+) requests in", out)
    requests = int(m.group(1)) if m else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) if m else 0.0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockerr = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + \
             (sum(int(x) for x in sockerr.groups()) if sockerr else 0)

    def pct(p):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)\b" % p, out)
        if not m:
            return float("nan")
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    return {"requests": requests, "rps": rps, "errors": errors, "p50": pct(50), "p99": pct(99),
            "raw": out}


def strace_syscalls(pid, port, path, conns, seconds):
    """Syscalls per request of pid under a short wrk run."""
    st = subprocess.Popen(["strace", "-c", "-f", "-q", "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # let strace attach to every thread before load starts
    r = run_wrk(port, path, conns, seconds)
    st.send_signal(signal.SIGINT)
    err = st.communicate(timeout=30)[1]
    m = re.search(r"^-+.*\n\s*100\.00\s+[\d.]+\s+\d+\s+(\d+)", err, re.M)
    if not m:
        m = re.search(r"^\s*100\.00\s+[\d.]+\s+\d+\s+(\d+)", err, re.M)
    calls = int(m.group(1)) if m else 0
    return calls / r["requests"] if r["requests"] else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 8)))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)))
    ap.add_argument("--conns", default="50,400")
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--access-log", action="store_true",
                    help="give both proxies an access log (to a file) instead of none")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="tg-bench-")
    os.chmod(tmp, 0o755)  # nginx workers run as nobody
    procs = []
    try:
        up_port, up = start_upstream(tmp)
        procs.append(up)
        ng_port, tg_port = free_port(), free_port()
        log_ng = "access_log %s/ng-access.log;" % tmp if args.access_log else ""
        ng = start_nginx(tmp, "proxy", ng_port, """
            upstream backend {{ server 127.0.0.1:{up}; keepalive 1024; keepalive_requests 10000000; }}
            server {{
                listen 127.0.0.1:{p} reuseport;
                {log}
                location / {{
                    proxy_pass http://backend;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $http_host;
                    # the same headers tracegate adds to every request
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                    proxy_set_header X-Forwarded-Host $http_host;
                    proxy_set_header Via "1.1 tracegate";
                    add_header Via "1.1 tracegate";
                }}
            }}""".format(up=up_port, p=ng_port, log=log_ng))
        procs.append(ng)
        tg_log = "%s/tg-access.log" % tmp if args.access_log else "off"
        tg = subprocess.Popen(["taskset", "-c", "0", TRACEGATE, "--listen", "127.0.0.1:%d" % tg_port,
                               "--upstream", "http://127.0.0.1:%d" % up_port, "--workers", "1",
                               "--access-log", tg_log],
                              env=dict(os.environ, TELEMETRY_ENABLED="false"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(tg)
        wait_port(tg_port)
        ng_pids = [ng.pid] + child_pids(ng.pid)
        targets = [("direct", up_port, None), ("nginx", ng_port, ng_pids),
                   ("tracegate", tg_port, [tg.pid])]

        cells = [(c, path) for c in [int(x) for x in args.conns.split(",")]
                 for path in ("/small", "/16k")]
        results = {}
        bad = False
        for conns, path in cells:
            for name, port, pids in targets:  # warm-up: connections, caches
                run_wrk(port, path, conns, 1)
            for rnd in range(args.rounds):
                order = targets if rnd % 2 == 0 else list(reversed(targets))
                for name, port, pids in order:
                    before = cpu_seconds(pids) if pids else 0
                    r = run_wrk(port, path, conns, args.duration)
                    after = cpu_seconds(pids) if pids else 0
                    r["cpu_us"] = (after - before) / r["requests"] * 1e6 if pids and r["requests"] else float("nan")
                    results.setdefault((conns, path, name), []).append(r)
                    if r["errors"] or not r["requests"]:
                        bad = True
                        print("!! %s c=%d %s: %d errors\n%s" % (name, conns, path, r["errors"], r["raw"]),
                              file=sys.stderr)
                    print("  round %d %-9s c=%-3d %-6s %8.0f req/s  cpu %6.1f us/req" %
                          (rnd, name, conns, path, r["rps"], r["cpu_us"]), file=sys.stderr)

        syscalls = {}
        if not args.no_strace and shutil.which("strace"):
            for conns, path in cells:
                syscalls[(conns, path, "nginx")] = strace_syscalls(ng_pids[-1], ng_port, path, conns, 3)
                syscalls[(conns, path, "tracegate")] = strace_syscalls(tg.pid, tg_port, path, conns, 3)

        med = lambda xs: statistics.median(xs)
        print("\n| conns | body | target | req/s | p50 ms | p99 ms | proxy CPU µs/req | syscalls/req | CPU ratio vs nginx |")
        print("|---|---|---|---|---|---|---|---|---|")
        for conns, path in cells:
            ng_cpu = med([r["cpu_us"] for r in results[(conns, path, "nginx")]])
            for name, _, _ in targets:
                rs = results[(conns, path, name)]
                cpu = med([r["cpu_us"] for r in rs])
                sc = syscalls.get((conns, path, name))
                ratio = "%.2f" % (cpu / ng_cpu) if name == "tracegate" else ("1.00" if name == "nginx" else "")
                print("| %d | %s | %s | %.0f | %.2f | %.2f | %s | %s | %s |" % (
                    conns, "3 B" if path == "/small" else "16 KiB", name,
                    med([r["rps"] for r in rs]), med([r["p50"] for r in rs]), med([r["p99"] for r in rs]),
                    "%.1f" % cpu if name != "direct" else "", "%.1f" % sc if sc else "", ratio))
        total_errors = sum(r["errors"] for rs in results.values() for r in rs)
        print("\nerrors/non-2xx over all runs: %d" % total_errors)
        return 1 if bad else 0
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
