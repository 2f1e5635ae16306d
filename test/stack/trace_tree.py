#!/usr/bin/python3
"""Print one trace as an indented tree with durations and a waterfall, the
view a user gets in Jaeger or Tempo, from decoded spans.

    trace_tree.py --file spans.jsonl TRACE_ID     OTLP JSON lines (the collector's file exporter)
    trace_tree.py --jaeger http://127.0.0.1:16686 TRACE_ID   Jaeger's query API
    trace_tree.py --file spans.jsonl              list the traces in the file

Each line is a span: the tree of names (a DB span shows its table), the
service, the kind, the duration, and a bar placed on the trace's timeline.
Below the tree, "where the time went" sums each operation's self time (its
duration minus the time covered by its children), largest first: the slow
part of the request is its first line.

The functions (spans_from_otlp_lines, spans_from_jaeger, render) are used by
the integration tests as well; a span is a dict with trace_id, span_id,
parent_id ("" for a root), name, kind (SERVER, CLIENT, INTERNAL, PRODUCER,
CONSUMER), service, start_ns, end_ns, attrs and status (UNSET, OK, ERROR).
"""

import argparse
import base64
import json
import signal
import sys
import urllib.error
import urllib.request

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER",
         5: "CONSUMER"}
STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


# --- decoding ------------------------------------------------------------------

def _any_value(v):
    """An OTLP JSON AnyValue as a Python value."""
    if not v:
        return None
    for key, conv in (("stringValue", str), ("boolValue", bool), ("intValue", int),
                      ("doubleValue", float)):
        if key in v:
            return conv(v[key])
    if "bytesValue" in v:
        return base64.b64decode(v["bytesValue"])
    if "arrayValue" in v:
        return [_any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: _any_value(kv.get("value")) for kv in v["kvlistValue"].get("values", [])}
    return None


def _attrs(kvs):
    return {kv["key"]: _any_value(kv.get("value")) for kv in kvs or []}


def spans_from_otlp(request):
    """The spans of one ExportTraceServiceRequest in OTLP JSON (ids in hex)."""
    out = []
    for rs in request.get("resourceSpans", []):
        service = _attrs(rs.get("resource", {}).get("attributes")).get("service.name", "?")
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                out.append({
                    "trace_id": s["traceId"].lower(),
                    "span_id": s["spanId"].lower(),
                    "parent_id": (s.get("parentSpanId") or "").lower(),
                    "name": s.get("name", ""),
                    "kind": KINDS.get(int(s.get("kind", 0)), "UNSPECIFIED"),
                    "service": service,
                    "start_ns": int(s["startTimeUnixNano"]),
                    "end_ns": int(s["endTimeUnixNano"]),
                    "attrs": _attrs(s.get("attributes")),
                    "status": STATUS.get(int(s.get("status", {}).get("code", 0)), "UNSET"),
                    "scope": ss.get("scope", {}).get("name", ""),
                })
    return out


def spans_from_otlp_lines(lines):
    """Spans from OTLP JSON lines, one export request per line (the
    collector's file exporter); blank and partial last lines are skipped."""
    out = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError:
            continue  # a line still being written
        out.extend(spans_from_otlp(request))
    return out


def spans_from_jaeger_trace(trace):
    """Spans of one trace from Jaeger's query API (one element of "data")."""
    processes = trace.get("processes", {})
    out = []
    for s in trace.get("spans", []):
        tags = {t["key"]: t.get("value") for t in s.get("tags", [])}
        parents = [r["spanID"] for r in s.get("references", []) if r.get("refType") == "CHILD_OF"]
        status = tags.get("otel.status_code", "UNSET")
        if tags.get("error") is True and status == "UNSET":
            status = "ERROR"
        start_ns = int(s["startTime"]) * 1000
        out.append({
            "trace_id": s["traceID"].lower().rjust(32, "0"),
            "span_id": s["spanID"].lower(),
            "parent_id": parents[0].lower() if parents else "",
            "name": s.get("operationName", ""),
            "kind": str(tags.get("span.kind", "internal")).upper(),
            "service": processes.get(s.get("processID"), {}).get("serviceName", "?"),
            "start_ns": start_ns,
            "end_ns": start_ns + int(s.get("duration", 0)) * 1000,
            "attrs": tags,
            "status": status,
            "scope": tags.get("otel.scope.name", ""),
        })
    return out


def spans_from_jaeger(query_url, trace_id, timeout=10):
    """The trace's spans from Jaeger's query API; [] when Jaeger has none."""
    url = "%s/api/traces/%s" % (query_url.rstrip("/"), trace_id)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return []
        raise
    out = []
    for trace in body.get("data") or []:
        out.extend(spans_from_jaeger_trace(trace))
    return out


# --- the tree --------------------------------------------------------------------

def tree(spans):
    """(roots, children): roots are spans whose parent is not in the set
    (a true root has parent_id ""); children maps a span id to its child
    spans. Both sorted by start time."""
    ids = {s["span_id"] for s in spans}
    children = {}
    roots = []
    for s in sorted(spans, key=lambda s: (s["start_ns"], s["end_ns"])):
        if s["parent_id"] and s["parent_id"] in ids:
            children.setdefault(s["parent_id"], []).append(s)
        else:
            roots.append(s)
    return roots, children


def label(span):
    """The span's name, with the table for a DB span (otelgorm names every
    query gorm.Query; the table is what tells them apart)."""
    table = span["attrs"].get("db.sql.table") or span["attrs"].get("db.collection.name")
    if table:
        return "%s %s" % (span["name"], table)
    return span["name"]


def self_times(spans):
    """Each span's duration minus the part of it covered by its children."""
    _, children = tree(spans)
    out = {}
    for s in spans:
        covered = 0
        cursor = s["start_ns"]
        for c in children.get(s["span_id"], []):
            lo, hi = max(c["start_ns"], cursor), min(c["end_ns"], s["end_ns"])
            if hi > lo:
                covered += hi - lo
                cursor = hi
        out[s["span_id"]] = max(0, s["end_ns"] - s["start_ns"] - covered)
    return out


def where_time_went(spans):
    """[(service, operation, count, self ns)], largest self time first."""
    st = self_times(spans)
    sums = {}
    for s in spans:
        key = (s["service"], label(s))
        n, t = sums.get(key, (0, 0))
        sums[key] = (n + 1, t + st[s["span_id"]])
    return sorted(((svc, op, n, t) for (svc, op), (n, t) in sums.items()),
                  key=lambda x: -x[3])


def _ms(ns):
    return "%.2f ms" % (ns / 1e6)


def render(spans, width=40):
    """The trace as lines of text (one trace: pass only its spans)."""
    if not spans:
        return ["(no spans)"]
    roots, children = tree(spans)
    t0 = min(s["start_ns"] for s in spans)
    t1 = max(s["end_ns"] for s in spans)
    total = max(t1 - t0, 1)
    rows = []

    def walk(span, prefix, last, top):
        branch = "" if top else ("└─ " if last else "├─ ")
        text = prefix + branch + label(span)
        if span["parent_id"] and top:
            text += "  (parent %s not in trace)" % span["parent_id"]
        if span["status"] == "ERROR":
            text += "  !error"
        rows.append((text, span))
        kids = children.get(span["span_id"], [])
        for i, c in enumerate(kids):
            walk(c, prefix + ("" if top else ("   " if last else "│  ")), i == len(kids) - 1,
                 False)

    for r in roots:
        walk(r, "", True, True)

    name_w = min(max(len(t) for t, _ in rows), 72)
    svc_w = max(len(s["service"]) for s in spans)
    trace_ids = sorted({s["trace_id"] for s in spans})
    services = sorted({s["service"] for s in spans})
    out = ["trace %s: %d spans, %d service%s (%s), %s"
           % (",".join(trace_ids), len(spans), len(services), "" if len(services) == 1 else "s",
              ", ".join(services), _ms(total)),
           ""]
    for text, s in rows:
        a = int((s["start_ns"] - t0) * width / total)
        b = max(a + 1, int(round((s["end_ns"] - t0) * width / total)))
        bar = " " * a + "█" * (min(b, width) - a) + " " * (width - min(b, width))
        if len(text) > name_w:
            text = text[:name_w - 1] + "…"
        out.append("%-*s  %-*s  %-6s  %10s  |%s|" % (name_w, text, svc_w, s["service"],
                                                     s["kind"], _ms(s["end_ns"] - s["start_ns"]),
                                                     bar))
    out += ["", "where the time went (self time by operation, largest first):"]
    for svc, op, n, t in where_time_went(spans)[:6]:
        out.append("  %5.1f%%  %10s  %3d×  %-*s  %s"
                   % (100.0 * t / total, _ms(t), n, svc_w, svc, op))
    return out


def list_traces(spans):
    """One line per trace id: span count, services, the root's name."""
    by_trace = {}
    for s in spans:
        by_trace.setdefault(s["trace_id"], []).append(s)
    lines = []
    for tid, ss in sorted(by_trace.items(), key=lambda kv: min(s["start_ns"] for s in kv[1])):
        roots, _ = tree(ss)
        lines.append("%s  %3d spans  %-60s  root: %s"
                     % (tid, len(ss), ",".join(sorted({s["service"] for s in ss})),
                        label(roots[0]) if roots else "?"))
    return lines


def main():
    # Piped into head or less: stop quietly when the reader goes away.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", help="OTLP JSON lines (the collector's file exporter)")
    src.add_argument("--jaeger", help="Jaeger query URL, e.g. http://127.0.0.1:16686")
    ap.add_argument("--width", type=int, default=40, help="waterfall width in characters")
    ap.add_argument("trace_id", nargs="?", help="32 hex digits (from the traceresponse header)")
    args = ap.parse_args()

    if args.jaeger:
        if not args.trace_id:
            ap.error("--jaeger needs a trace id")
        spans = spans_from_jaeger(args.jaeger, args.trace_id.lower())
    else:
        with open(args.file, encoding="utf-8") as f:
            spans = spans_from_otlp_lines(f)
        if not args.trace_id:
            print("\n".join(list_traces(spans)))
            return 0
        spans = [s for s in spans if s["trace_id"] == args.trace_id.lower()]
    if not spans:
        print("trace %s: no spans" % args.trace_id, file=sys.stderr)
        return 1
    print("\n".join(render(spans, args.width)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
