"""The whole stack in one trace (test/stack): a client calls tracegate-edge,
which proxies to a Bun monolith (OpenTelemetry JS SDK), which calls
tracegate-core, which proxies to a Go backend (Echo + otelecho, GORM +
otelgorm) that queries PostgreSQL 15. Every process is real and on
127.0.0.1; every service exports OTLP/HTTP to the OpenTelemetry Collector,
which writes the spans to a file and forwards them to Jaeger, where the
trace is read back through the query API.

The database, go-core, tracegate-core, the collector and Jaeger are started
once for the module (Backend); each test starts its own Bun monolith and
tracegate-edge (Front), so settings and admin changes never leak between
tests. Everything is stopped by PID when its scope ends, pass or fail.

The admin tests (test_admin_*) use tracegate's POST /admin/telemetry
(token from TELEMETRY_ADMIN_TOKEN; answers 200 with the effective state as
JSON, including "enabled" and "rate").
"""

import datetime
import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from conftest import REPO, stop_pid, wait_until

STACK_DIR = REPO / "test" / "stack"
sys.path.insert(0, str(STACK_DIR))

import stack  # noqa: E402
import trace_tree  # noqa: E402
from stack import PERMISSIONS_PATH, Backend, Front, StackError, http_get  # noqa: E402

TRACE_TREE = STACK_DIR / "trace_tree.py"
PYTHON = "/usr/bin/python3"
SPAN_WAIT = 20.0

# One hop per service, in the order the request passes them.
HOPS = [("tracegate-edge", "SERVER"), ("tracegate-edge", "CLIENT"),
        ("bun-monolith", "SERVER"), ("bun-monolith", "CLIENT"),
        ("tracegate-core", "SERVER"), ("tracegate-core", "CLIENT"),
        ("go-core", "SERVER")]
DB_TABLES = {"organizations", "teams", "team_memberships", "permissions"}


# --- fixtures ------------------------------------------------------------------

@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    try:
        b = Backend(tmp_path_factory.mktemp("stack"))
    except StackError as e:
        pytest.fail(str(e), pytrace=False)
    yield b
    died = [p.name for p in (b.go, b.tg_core, b.postgres.proc) if not p.alive()]
    b.stop()
    if died:
        pytest.fail("died during the tests: %s (logs in %s)" % (", ".join(died), b.logdir),
                    pytrace=False)


@pytest.fixture
def start_front(backend, tmp_path):
    """start_front(bun_env=None) -> a running Front (Bun monolith +
    tracegate-edge) over the module's backend; stopped by PID at test end."""
    fronts = []

    def start(bun_env=None):
        d = tmp_path / ("front-%d" % len(fronts))
        d.mkdir()
        try:
            f = Front(backend, logdir=d, bun_env=bun_env)
        except StackError as e:
            pytest.fail(str(e), pytrace=False)
        fronts.append(f)
        return f

    yield start
    died = []
    for f in fronts:
        for p in (f.bun, f.edge):
            if not p.alive():
                died.append("%s (pid %d) exited with %r:\n%s"
                            % (p.name, p.pid, p.popen.returncode, p.tail()))
        f.stop()
        for p in (f.bun, f.edge):
            print("---- %s pid %d, last lines:\n%s" % (p.name, p.pid, p.tail(15)))
    if died:
        pytest.fail("; ".join(died), pytrace=False)


# --- helpers ---------------------------------------------------------------------

def curl(url):
    """GET url with curl, as a user would; returns (status, headers, body)."""
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "15", url],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def traceresponse(headers):
    """(trace id, span id, sampled) from the traceresponse header."""
    assert "traceresponse" in headers, headers
    version, trace_id, span_id, flags = headers["traceresponse"].split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16, headers
    return trace_id, span_id, bool(int(flags, 16) & 1)


def request(front):
    """One permissions request through the stack (curl); returns (trace id,
    sampled, the answer's JSON)."""
    status, headers, body = curl(front.url)
    assert status == 200, (status, body[:300])
    trace_id, _, sampled = traceresponse(headers)
    return trace_id, sampled, json.loads(body)


def all_spans(backend):
    """Every span the collector has written so far (trace_tree's form)."""
    try:
        with open(backend.collector.spans_path, encoding="utf-8") as f:
            return trace_tree.spans_from_otlp_lines(f)
    except FileNotFoundError:
        return []


def trace_spans(backend, trace_id):
    return [s for s in all_spans(backend) if s["trace_id"] == trace_id]


def wait_trace(backend, trace_id, count, timeout=SPAN_WAIT):
    """Wait until the collector has written count spans of the trace."""
    got = []

    def enough():
        assert backend.collector.alive(), "the collector exited:\n" + backend.collector.log()
        got[:] = trace_spans(backend, trace_id)
        return len(got) >= count
    try:
        wait_until(enough, timeout, "%d spans of trace %s" % (count, trace_id), interval=0.05)
    except AssertionError as e:
        raise AssertionError("%s\ntrace %s: %d of %d spans arrived:\n%s"
                             % (e, trace_id, len(got), count, "\n".join(trace_tree.render(got))))
    return got


def wait_jaeger(backend, trace_id, count, timeout=SPAN_WAIT):
    """Wait until Jaeger's query API returns count spans of the trace."""
    if backend.jaeger is None:
        pytest.fail("Jaeger is not built (bash test/collector/build-jaeger.sh)", pytrace=False)

    def complete():
        got = trace_tree.spans_from_jaeger(backend.jaeger.query_url, trace_id)
        return got if len(got) >= count else None
    return wait_until(complete, timeout, "%d spans of trace %s in Jaeger" % (count, trace_id),
                      interval=0.1)


def db_spans_expected(answer):
    """The organisation, its teams, then memberships and permissions per team."""
    return 2 + 2 * len(answer["teams"])


def by_hop(spans):
    """{(service, kind): [spans]}"""
    out = {}
    for s in spans:
        out.setdefault((s["service"], s["kind"]), []).append(s)
    return out


def go_sdk_ratio_sampled(trace_id, rate):
    """The OpenTelemetry Go SDK's TraceIDRatioBased decision: the last 8
    bytes of the trace id, big-endian, shifted right once, below
    rate * 2^63."""
    x = int(trace_id[16:], 16) >> 1
    return x < int(rate * float(1 << 63))


def admin_post(tg, body, token):
    """POST /admin/telemetry on a tracegate; returns (status, parsed JSON or text)."""
    data = json.dumps(body).encode()
    req = urllib.request.Request(tg.url + "/admin/telemetry", data=data, method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def set_tracing(front, body):
    status, state = admin_post(front.edge, body, front.backend.admin_token)
    assert status == 200, ("POST /admin/telemetry %s answered %d: %r"
                           % (json.dumps(body), status, state))
    assert isinstance(state, dict), state
    for k, v in body.items():
        assert state.get(k) == v, ("effective state after %s: %r" % (json.dumps(body), state))
    return state


def access_entries(tg, trace_ids, timeout=10.0):
    """A tracegate's access-log entries for these trace ids ({trace id:
    entry}), waiting until there is one per id (the log is written at least
    every 100 ms, not at once)."""
    want = set(trace_ids)

    def found():
        got = {e["trace_id"]: e for e in tg.access_log() if e.get("trace_id") in want}
        return got if len(got) == len(want) else None
    return wait_until(found, timeout, "%s access-log lines for %d traces" % (tg.name, len(want)),
                      interval=0.05)


def barrier(backend, front, answer):
    """Make a traced request and wait for all of its spans. Every service
    exports its spans in the order they end, one export at a time, so once
    this trace is complete, every span that any service recorded before it
    has reached the collector too."""
    trace_id, sampled, _ = request(front)
    assert sampled
    wait_trace(backend, trace_id, len(HOPS) + db_spans_expected(answer))
    return trace_id


# --- one trace through every layer -------------------------------------------------------

def check_full_trace(backend, front, trace_id, spans, answer):
    """The assertions on one complete trace, shared by the collector and
    Jaeger views."""
    assert {s["trace_id"] for s in spans} == {trace_id}
    ids = {s["span_id"] for s in spans}
    assert len(ids) == len(spans), "duplicate span ids"
    roots = [s for s in spans if not s["parent_id"]]
    assert len(roots) == 1, [trace_tree.label(s) for s in roots]
    for s in spans:
        assert not s["parent_id"] or s["parent_id"] in ids, \
            "%s has parent %s, which is not in the trace" % (trace_tree.label(s), s["parent_id"])

    hops = by_hop(spans)
    chain = []
    for hop in HOPS:
        assert len(hops.get(hop, [])) == 1, (hop, sorted(hops))
        chain.append(hops[hop][0])
    assert chain[0] is roots[0]
    for parent, child in zip(chain, chain[1:]):
        assert child["parent_id"] == parent["span_id"], (trace_tree.label(child),
                                                         trace_tree.label(parent))
    db = hops.get(("go-core", "CLIENT"), [])
    assert len(db) == db_spans_expected(answer)
    assert len(spans) == len(HOPS) + len(db)
    for s in db:
        assert s["parent_id"] == chain[-1]["span_id"]
    # Each span lies within its parent (one machine, one clock; 2 ms for
    # the rounding of the SDKs' clocks).
    by_id = {s["span_id"]: s for s in spans}
    slack = 2_000_000
    for s in spans:
        if s["parent_id"]:
            p = by_id[s["parent_id"]]
            assert s["start_ns"] >= p["start_ns"] - slack and s["end_ns"] <= p["end_ns"] + slack, \
                (trace_tree.label(s), trace_tree.label(p))
    return chain, db


def check_semconv(backend, front, chain, db):
    """Names and attributes by the OpenTelemetry semantic conventions (HTTP
    server and client spans; the DB spans as otelgorm records them)."""
    edge_s, edge_c, bun_s, bun_c, core_s, core_c, go_s = chain
    a = lambda s: s["attrs"]  # noqa: E731
    org_path = "/organizations/1/permissions"

    # HTTP server spans: "{method} {http.route}".
    for s, route, path in ((edge_s, "/api/*", PERMISSIONS_PATH),
                           (bun_s, "/api/organizations/:id/permissions", PERMISSIONS_PATH),
                           (core_s, "/organizations/*", org_path),
                           (go_s, "/organizations/:id/permissions", org_path)):
        assert s["name"] == "GET " + route, s["name"]
        assert a(s)["http.route"] == route
        assert a(s)["http.request.method"] == "GET"
        assert a(s)["url.path"] == path
        assert a(s)["url.scheme"] == "http"
        assert a(s)["http.response.status_code"] == 200
        assert a(s)["network.protocol.version"] == "1.1"
        assert a(s)["client.address"] == "127.0.0.1"
        assert "server.address" in a(s) and "server.port" in a(s)
        assert s["status"] != "ERROR"
    assert a(edge_s)["user_agent.original"].startswith("curl/")
    assert a(bun_s)["user_agent.original"].startswith("curl/")
    assert a(core_s)["user_agent.original"].startswith("Bun/")
    assert a(edge_s)["server.port"] == front.edge.port

    # HTTP client spans: url.full and the peer they called.
    for s, peer, path in ((edge_c, front.bun, PERMISSIONS_PATH),
                          (bun_c, backend.tg_core, org_path),
                          (core_c, backend.go, org_path)):
        assert a(s)["url.full"] == peer.url + path
        assert a(s)["server.address"] == "127.0.0.1"
        assert a(s)["server.port"] == peer.port
        assert a(s)["http.request.method"] == "GET"
        assert a(s)["http.response.status_code"] == 200
    assert bun_c["name"] == "GET"  # a client span without a URL template
    assert edge_c["name"] == "GET /api/*" and core_c["name"] == "GET /organizations/*"

    # DB spans: CLIENT, db.system postgresql, the statement, the table, the server.
    tables = {}
    for s in db:
        assert s["scope"] == "github.com/uptrace/opentelemetry-go-extra/otelgorm"
        assert s["name"] == "gorm.Query"
        assert a(s)["db.system"] == "postgresql"
        assert a(s)["db.namespace"] == "stack"
        assert a(s)["server.address"] == "127.0.0.1"
        assert a(s)["server.port"] == backend.postgres.port
        table = a(s)["db.sql.table"]
        assert table in DB_TABLES
        assert a(s)["db.statement"].startswith('SELECT * FROM "%s"' % table)
        tables[table] = tables.get(table, 0) + 1
    teams = (len(db) - 2) // 2
    assert tables == {"organizations": 1, "teams": 1, "team_memberships": teams,
                      "permissions": teams}


def check_slow_part(spans, db):
    """team_memberships has no index on team_id: each of its queries scans the
    table, and the trace shows it as the slow part. Compared by the fastest
    of each kind: a busy machine can delay any single query, but a scan is
    never faster than the work it does, and of eight indexed lookups at
    least one runs undisturbed."""
    d = lambda s: s["end_ns"] - s["start_ns"]  # noqa: E731
    members = [d(s) for s in db if s["attrs"]["db.sql.table"] == "team_memberships"]
    perms = [d(s) for s in db if s["attrs"]["db.sql.table"] == "permissions"]
    assert min(members) > 3 * min(perms), (members, perms)
    service, op, count, _ = trace_tree.where_time_went(spans)[0]
    assert (service, op, count) == ("go-core", "gorm.Query team_memberships", len(members))


def test_one_request_makes_one_trace_through_every_layer(backend, start_front):
    """curl → tracegate-edge (SERVER, CLIENT) → Bun (SERVER, CLIENT) →
    tracegate-core (SERVER, CLIENT) → go-core (SERVER) → one DB span per
    query: one trace id, every parent in the set, the slow query visible."""
    front = start_front()
    trace_id, sampled, answer = request(front)
    assert sampled
    assert answer["organization"] == {"id": 1, "name": "Acme Corp"}
    assert len(answer["teams"]) == 8 and all(t["members"] == 32 for t in answer["teams"])
    spans = wait_trace(backend, trace_id, len(HOPS) + db_spans_expected(answer))
    print("\n".join(trace_tree.render(spans)))
    chain, db = check_full_trace(backend, front, trace_id, spans, answer)
    check_semconv(backend, front, chain, db)
    check_slow_part(spans, db)
    # traceresponse names tracegate-edge's SERVER span, the trace's root.
    status, headers, _ = curl(front.url)
    t2, root_id, _ = traceresponse(headers)
    root = [s for s in wait_trace(backend, t2, len(spans)) if not s["parent_id"]]
    assert [(s["span_id"], s["service"], s["kind"]) for s in root] == \
        [(root_id, "tracegate-edge", "SERVER")]
    # Each service reports itself in its resource: service.name per process.
    assert {s["service"] for s in spans} == {"tracegate-edge", "bun-monolith",
                                             "tracegate-core", "go-core"}


def test_jaeger_shows_the_same_trace(backend, start_front):
    """The collector forwards to Jaeger; the query API returns the trace as a
    user finds it: same spans, same parents, one process per service, and
    the trace among those found by searching for go-core."""
    front = start_front()
    trace_id, _, answer = request(front)
    count = len(HOPS) + db_spans_expected(answer)
    from_collector = wait_trace(backend, trace_id, count)
    from_jaeger = wait_jaeger(backend, trace_id, count)
    key = lambda s: (s["span_id"], s["parent_id"], s["name"], s["service"], s["kind"])  # noqa
    assert sorted(map(key, from_jaeger)) == sorted(map(key, from_collector))
    check_full_trace(backend, front, trace_id, from_jaeger, answer)
    # Durations agree to the microsecond Jaeger keeps.
    dur = {s["span_id"]: (s["end_ns"] - s["start_ns"]) // 1000 for s in from_collector}
    for s in from_jaeger:
        assert abs((s["end_ns"] - s["start_ns"]) // 1000 - dur[s["span_id"]]) <= 1

    url = "%s/api/traces?service=go-core&limit=100" % backend.jaeger.query_url
    with urllib.request.urlopen(url, timeout=10) as resp:
        found = {t["traceID"] for t in json.load(resp)["data"]}
    assert trace_id in found


def test_trace_tree_prints_the_waterfall(backend, start_front):
    """trace_tree.py prints the trace as Jaeger's waterfall: the hops nested
    one under the other, the DB spans under go-core, durations, and the slow
    query first in "where the time went"; the same from the collector's file
    and from Jaeger."""
    front = start_front()
    trace_id, _, answer = request(front)
    count = len(HOPS) + db_spans_expected(answer)
    wait_trace(backend, trace_id, count)
    sources = [["--file", str(backend.collector.spans_path)]]
    if backend.jaeger is not None:
        wait_jaeger(backend, trace_id, count)
        sources.append(["--jaeger", backend.jaeger.query_url])
    outputs = []
    for src in sources:
        r = subprocess.run([PYTHON, TRACE_TREE] + src + [trace_id], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        print(r.stdout)
        lines = r.stdout.splitlines()
        assert lines[0].startswith("trace %s: %d spans, 4 services" % (trace_id, count))
        rows = lines[2:2 + count]
        assert all(" ms  |" in row and row.endswith("|") for row in rows), rows
        # The hops, each one level deeper than the one before.
        expect = [("GET /api/*", "tracegate-edge", "SERVER"),
                  ("GET /api/*", "tracegate-edge", "CLIENT"),
                  ("GET /api/organizations/:id/permissions", "bun-monolith", "SERVER"),
                  ("GET", "bun-monolith", "CLIENT"),
                  ("GET /organizations/*", "tracegate-core", "SERVER"),
                  ("GET /organizations/*", "tracegate-core", "CLIENT"),
                  ("GET /organizations/:id/permissions", "go-core", "SERVER")]
        # Each hop has one child: "└─ " under the one before, 3 columns deeper.
        for depth, ((name, service, kind), row) in enumerate(zip(expect, rows)):
            prefix = "" if depth == 0 else " " * 3 * (depth - 1) + "└─ "
            assert row.startswith(prefix + name + "  "), (depth, row)
            assert " %s " % service in row and " %s " % kind in row, row
        db_rows = rows[len(expect):]
        assert len(db_rows) == db_spans_expected(answer)
        for i, row in enumerate(db_rows):
            branch = "└─ " if i == len(db_rows) - 1 else "├─ "
            assert row.startswith(" " * 18 + branch + "gorm.Query "), row
            assert " go-core " in row and " CLIENT " in row, row
        summary = lines[lines.index("where the time went (self time by operation, largest first):")
                        + 1]
        assert "go-core" in summary and "gorm.Query team_memberships" in summary, summary
        outputs.append(rows)
    if len(outputs) == 2:
        # The same tree from both sources (durations may differ in the last digit).
        assert [r.split("  ")[0] for r in outputs[0]] == [r.split("  ")[0] for r in outputs[1]]


# --- without propagation in the monolith ---------------------------------------------------

@pytest.mark.parametrize("bun_env,bun_spans", [
    ({"TELEMETRY_PROPAGATE": "false"}, True),   # traced, but no traceparent injected
    ({"TELEMETRY_ENABLED": "false"}, False),    # no SDK at all
], ids=["bun-no-inject", "bun-no-sdk"])
def test_without_propagation_each_gateway_traces_its_hop(backend, start_front, bun_env,
                                                         bun_spans):
    """When the Bun service does not pass the context on, the request splits
    into two traces, and tracegate still shows each hop on its own: the
    edge's trace ends at the monolith; tracegate-core starts a new trace
    whose root is its SERVER span, with go-core and the DB spans under it."""
    front = start_front(bun_env=bun_env)
    # tracegate-core's access-log line for this request is the one stamped
    # after it started (earlier tests' lines may still be on their way).
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
    trace_a, sampled, answer = request(front)
    assert sampled

    def new_core_entry():
        entries = [e for e in backend.tg_core.access_log() if e["time"][:23] >= started]
        return entries if entries else None
    [core_entry] = wait_until(new_core_entry, 10, "tracegate-core's access-log line")
    assert core_entry["path"] == "/organizations/1/permissions" and core_entry["sampled"]
    trace_b = core_entry["trace_id"]
    assert trace_b != trace_a

    # Trace A: the edge's SERVER and CLIENT (and the monolith's own spans).
    a_count = 4 if bun_spans else 2
    spans_a = wait_trace(backend, trace_a, a_count)
    hops_a = by_hop(spans_a)
    edge_s = hops_a[("tracegate-edge", "SERVER")][0]
    edge_c = hops_a[("tracegate-edge", "CLIENT")][0]
    assert not edge_s["parent_id"] and edge_c["parent_id"] == edge_s["span_id"]
    if bun_spans:
        bun_s = hops_a[("bun-monolith", "SERVER")][0]
        bun_c = hops_a[("bun-monolith", "CLIENT")][0]
        assert bun_s["parent_id"] == edge_c["span_id"]
        assert bun_c["parent_id"] == bun_s["span_id"]
    assert {s["service"] for s in spans_a} <= {"tracegate-edge", "bun-monolith"}

    # Trace B: tracegate-core's hop, a trace of its own.
    spans_b = wait_trace(backend, trace_b, 3 + db_spans_expected(answer))
    print("\n".join(trace_tree.render(spans_a)))
    print("\n".join(trace_tree.render(spans_b)))
    hops_b = by_hop(spans_b)
    core_s = hops_b[("tracegate-core", "SERVER")][0]
    core_c = hops_b[("tracegate-core", "CLIENT")][0]
    go_s = hops_b[("go-core", "SERVER")][0]
    assert not core_s["parent_id"], "tracegate-core's SERVER span must start the trace"
    assert core_c["parent_id"] == core_s["span_id"] and go_s["parent_id"] == core_c["span_id"]
    assert core_entry["span_id"] == core_s["span_id"]
    assert core_s["attrs"]["user_agent.original"].startswith("Bun/")
    assert core_s["attrs"]["url.path"] == "/organizations/1/permissions"
    assert len(hops_b[("go-core", "CLIENT")]) == db_spans_expected(answer)
    assert {s["service"] for s in spans_b} == {"tracegate-core", "go-core"}
    # Both traces are whole: every parent is in its own trace.
    for spans in (spans_a, spans_b):
        ids = {s["span_id"] for s in spans}
        assert all(not s["parent_id"] or s["parent_id"] in ids for s in spans)
    # Nothing of the request leaked into another trace.
    assert not [s for s in all_spans(backend)
                if s["span_id"] in {core_s["span_id"], edge_s["span_id"]}
                and s["trace_id"] not in (trace_a, trace_b)]


# --- switched at run time through tracegate's admin endpoint ----------------------------------

def test_admin_disable_stops_spans_in_every_layer(backend, start_front):
    """{"enabled": false} on tracegate-edge: it records nothing, and the
    traceparent it forwards is flagged not sampled, so the monolith, the
    second tracegate and go-core (all ParentBased) record nothing either.
    {"enabled": true} brings the whole trace back."""
    front = start_front()
    trace_id, sampled, answer = request(front)
    assert sampled
    wait_trace(backend, trace_id, len(HOPS) + db_spans_expected(answer))

    set_tracing(front, {"enabled": False})
    off = []
    for _ in range(5):
        t, sampled, _ = request(front)
        assert not sampled, "traceresponse says sampled while tracing is off"
        off.append(t)
    # The unsampled flag went through the monolith: tracegate-core continued
    # the same trace ids, not sampled.
    entries = access_entries(backend.tg_core, off)
    assert all(e["sampled"] is False for e in entries.values()), entries
    entries = access_entries(front.edge, off)
    assert all(e["sampled"] is False for e in entries.values()), entries

    set_tracing(front, {"enabled": True})
    last = barrier(backend, front, answer)
    spans = all_spans(backend)
    leaked = [s for s in spans if s["trace_id"] in set(off)]
    assert not leaked, "spans recorded while tracing was off:\n" + "\n".join(
        trace_tree.render(leaked))
    # The requests before and after are whole traces again.
    edge_traces = [s["trace_id"] for s in spans if s["service"] == "tracegate-edge"]
    assert edge_traces.count(trace_id) == 2 and edge_traces.count(last) == 2


def test_admin_rate_samples_one_in_ten_consistently(backend, start_front):
    """{"enabled": true, "rate": 0.1}: about one request in ten is traced,
    decided once at the edge, by trace id exactly as the OpenTelemetry Go
    SDK's TraceIDRatioBased decides; a traced request is traced in every
    layer, an untraced one in none. Restoring rate 1 traces everything."""
    front = start_front()
    _, _, answer = request(front)
    set_tracing(front, {"enabled": True, "rate": 0.1})
    n = 100
    decided = []
    for _ in range(n):
        status, headers, _ = http_get(front.url)
        assert status == 200
        trace_id, _, sampled = traceresponse(headers)
        decided.append((trace_id, sampled))
    sampled_ids = [t for t, s in decided if s]
    unsampled_ids = [t for t, s in decided if not s]
    print("rate 0.1: %d of %d requests sampled" % (len(sampled_ids), n))
    for t, s in decided:
        assert s == go_sdk_ratio_sampled(t, 0.1), "trace %s: sampled=%s" % (t, s)
    assert 1 <= len(sampled_ids) <= 30, len(sampled_ids)

    # Every layer agrees: tracegate-core continued each trace with the same flag.
    entries = access_entries(backend.tg_core, [t for t, _ in decided])
    assert all(entries[t]["sampled"] == s for t, s in decided)

    set_tracing(front, {"enabled": True, "rate": 1})
    barrier(backend, front, answer)
    spans = all_spans(backend)
    per_trace = {}
    for s in spans:
        per_trace.setdefault(s["trace_id"], []).append(s)
    for t in sampled_ids:
        got = per_trace.get(t, [])
        assert len(got) == len(HOPS) + db_spans_expected(answer), \
            "sampled trace %s is not whole:\n%s" % (t, "\n".join(trace_tree.render(got)))
        assert {(s["service"], s["kind"]) for s in got} == set(HOPS) | {("go-core", "CLIENT")}
    leaked = [s for t in unsampled_ids for s in per_trace.get(t, [])]
    assert not leaked, "spans of unsampled requests:\n" + "\n".join(trace_tree.render(leaked))


# --- the script a person runs ----------------------------------------------------------------

def test_stack_script_serves_and_stops_everything_on_ctrl_c(tmp_path):
    """test/stack/stack.py starts the stack, prints the URL to curl, and on
    Ctrl-C (SIGINT) stops every process it started and exits 0."""
    import psutil
    logdir = tmp_path / "stack"
    out_path = tmp_path / "stack.out"
    with open(out_path, "wb") as out:
        p = subprocess.Popen([PYTHON, STACK_DIR / "stack.py", "--port", "0", "--dir", logdir],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    children = []
    try:
        def ready():
            text = out_path.read_text()
            if p.poll() is not None:
                raise AssertionError("stack.py exited (%r):\n%s" % (p.returncode, text))
            return text if "Ctrl-C stops everything." in text else None
        text = wait_until(ready, 90, "stack.py to be ready", interval=0.1)
        children = psutil.Process(p.pid).children(recursive=True)
        names = sorted(c.name() for c in children)
        assert names.count("tracegate") == 2 and "go-core" in names and "bun" in names \
            and "postgres" in names and "otelcol" in names, names
        url = next(l.split()[-1] for l in text.splitlines() if l.strip().startswith("curl -i "))
        assert url.startswith("http://127.0.0.1:") and url.endswith(PERMISSIONS_PATH)
        status, headers, body = curl(url)
        assert status == 200 and json.loads(body)["organization"]["id"] == 1
        trace_id, _, _ = traceresponse(headers)
        spans_path = logdir / "collector" / "spans.jsonl"

        def whole():
            with open(spans_path, encoding="utf-8") as f:
                got = [s for s in trace_tree.spans_from_otlp_lines(f) if s["trace_id"] == trace_id]
            return len(got) >= len(HOPS) + 18
        wait_until(whole, SPAN_WAIT, "the trace in %s" % spans_path, interval=0.05)

        os.kill(p.pid, signal.SIGINT)
        assert p.wait(60) == 0, out_path.read_text()
        text = out_path.read_text()
        assert "stack: stopped" in text
        gone = wait_until(lambda: all(not c.is_running() or c.status() == psutil.STATUS_ZOMBIE
                                      for c in children), 10, "every child to exit")
        assert gone
    finally:
        stop_pid(p, 30, signal.SIGINT)
        for c in children:  # only if stack.py failed to stop them
            try:
                if c.is_running():
                    c.kill()
            except psutil.Error:
                pass
        print(out_path.read_text())


# --- the example configuration for users' machines -------------------------------------------

def test_example_collector_config_forwards_tracegate_spans(backend, start_tracegate, upstream,
                                                            tmp_path):
    """config/examples/otel-collector.yaml (the collector in front of Tempo)
    runs as written with the test collector: only its two addresses are
    moved, the receiver to a free port and the exporter to Jaeger standing in
    for Tempo; tracegate's spans come out the other side."""
    from collector import START_TIMEOUT, _Receiver, otelcol_bin
    if backend.jaeger is None:
        pytest.fail("Jaeger is not built (bash test/collector/build-jaeger.sh)", pytrace=False)
    cfg = REPO / "config" / "examples" / "otel-collector.yaml"
    port = stack.free_port()
    col = _Receiver(otelcol_bin(), [
        "--config", cfg,
        "--set", "receivers::otlp::protocols::http::endpoint=127.0.0.1:%d" % port,
        "--set", "exporters::otlp_http/tempo::endpoint=%s" % backend.jaeger.http_endpoint,
    ], tmp_path / "otelcol.log", [port])
    try:
        assert col._wait_ready(START_TIMEOUT), col.log()
        tg = start_tracegate("--upstream", upstream.url, "--access-log", "off", env={
            "OTEL_TRACES_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "example-gw",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:%d" % port,
            "OTEL_BSP_SCHEDULE_DELAY": "100"})
        status, headers, _ = http_get(tg.url + "/bytes/3")
        assert status == 200
        trace_id, root_id, _ = traceresponse(headers)
        spans = wait_jaeger(backend, trace_id, 2)
        assert sorted((s["service"], s["kind"]) for s in spans) == [
            ("example-gw", "CLIENT"), ("example-gw", "SERVER")]
        assert [s["span_id"] for s in spans if not s["parent_id"]] == [root_id]
    finally:
        col.stop()
        print(col.log())
