"""GET /admin/debug/tracez: the trace view with no collector at all.

tracegate runs with OTEL_TRACES_EXPORTER=none and a one-minute batch
schedule, as someone trying it out might: a request's trace id, read from
the traceresponse header, must show up in the JSON and the HTML view at once
(the view asks the span processor to hand over what is queued), with both
spans, their ids, timing and attributes. Errors are counted, and whatever a
client puts in its path comes out escaped."""

import re

from conftest import free_port, wait_until
from rawhttp import request

TP_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
# Longer than any wait below: a span that shows up came through the flush.
ENV = {"OTEL_TRACES_EXPORTER": "none", "OTEL_BSP_SCHEDULE_DELAY": "60000"}


def start(start_tracegate, upstream):
    dead = free_port()
    config = {
        "access_log": "off",
        "routes": [
            {"prefix": "/", "upstream": upstream.url},
            {"prefix": "/down", "upstream": "http://127.0.0.1:%d" % dead},
        ],
    }
    return start_tracegate(config=config, env=ENV)


def traced(tg, target):
    """Send a request; its trace id and SERVER span id from traceresponse."""
    resp = request(tg.port, "GET", target)
    m = TP_RE.match(resp.get("traceresponse") or "")
    assert m, resp
    return resp, m.group(1), m.group(2)


def tracez_json(tg, query="format=json"):
    resp = request(tg.port, "GET", "/admin/debug/tracez?" + query)
    assert resp.status == 200, resp
    assert resp.get("Content-Type") == "application/json"
    return resp.json()


def tracez_html(tg, query=""):
    resp = request(tg.port, "GET", "/admin/debug/tracez" + ("?" + query if query else ""))
    assert resp.status == 200, resp
    assert resp.get("Content-Type") == "text/html; charset=utf-8"
    return resp.body.decode("utf-8")


def samples(doc):
    """Every sample in the document, each with the row it came from."""
    out = []
    for e in doc["names"]:
        for ring in e["samples"]["latency"] + [e["samples"]["errors"]]:
            out += [dict(s, row=(e["name"], e["kind"])) for s in ring]
    return out


def wait_trace(tg, trace_id, count=2):
    """The samples of one trace, once count of them are in the view."""
    def got():
        mine = [s for s in samples(tracez_json(tg)) if s["trace_id"] == trace_id]
        return mine if len(mine) >= count else None
    return wait_until(got, 10, "%d spans of trace %s in tracez" % (count, trace_id))


def test_request_trace_id_in_json_and_html(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, trace_id, server_id = traced(tg, "/echo?x=1")
    assert resp.status == 200
    mine = wait_trace(tg, trace_id)
    assert len(mine) == 2
    server = next(s for s in mine if s["kind"] == "server")
    client = next(s for s in mine if s["kind"] == "client")
    assert server["span_id"] == server_id
    assert server["parent_span_id"] is None
    assert client["parent_span_id"] == server_id
    assert server["row"] == ("GET /*", "server") and client["row"] == ("GET /*", "client")
    assert server["status"] == "unset"
    assert server["attributes"]["http.request.method"] == "GET"
    assert server["attributes"]["url.path"] == "/echo"
    assert server["attributes"]["url.query"] == "x=1"
    assert server["attributes"]["http.response.status_code"] == 200
    assert client["attributes"]["server.address"] == "127.0.0.1"
    assert client["attributes"]["server.port"] == upstream.port
    assert client["attributes"]["url.full"] == "%s/echo?x=1" % upstream.url
    assert 0 < client["duration_ns"] <= server["duration_ns"]
    assert server["start"].endswith("Z")

    # Counted in the row's latency buckets, no error.
    doc = tracez_json(tg)
    row = next(e for e in doc["names"] if (e["name"], e["kind"]) == ("GET /*", "server"))
    assert sum(row["latency"]) == 1 and row["errors"] == 0
    assert len(doc["buckets"]) == 9 and doc["buckets"][-1]["upper_ns"] is None

    # ?trace_id= picks the trace out, in JSON and on the page.
    only = tracez_json(tg, "format=json&trace_id=" + trace_id)
    assert sorted(s["span_id"] for s in only["trace"]) == sorted(s["span_id"] for s in mine)
    page = tracez_html(tg)
    assert trace_id in page and server_id in page
    page = tracez_html(tg, "trace_id=" + trace_id)
    assert page.count(">%s</a>" % trace_id) == 2
    assert "<script" not in page and "http://" not in page.split("</style>")[0]


def test_upstream_failure_is_counted_as_error(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    resp, trace_id, server_id = traced(tg, "/down/x")
    assert resp.status == 502
    mine = wait_trace(tg, trace_id)
    server = next(s for s in mine if s["kind"] == "server")
    client = next(s for s in mine if s["kind"] == "client")
    assert server["status"] == "error" and client["status"] == "error"
    assert server["attributes"]["http.response.status_code"] == 502
    assert server["attributes"]["error.type"] == "connection_refused"
    assert client["attributes"]["error.type"] == "connection_refused"
    doc = tracez_json(tg)
    row = next(e for e in doc["names"] if (e["name"], e["kind"]) == ("GET /down/*", "server"))
    assert row["errors"] == 1 and sum(row["latency"]) == 0
    assert [s["trace_id"] for s in row["samples"]["errors"]] == [trace_id]
    page = tracez_html(tg)
    assert 'id="n%d-err"' % doc["names"].index(row) in page
    assert trace_id in page


def test_path_with_markup_is_escaped(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    target = "/<script>alert(1)</script>&'\""
    resp, trace_id, _ = traced(tg, target)
    assert resp.status == 200
    mine = wait_trace(tg, trace_id)
    server = next(s for s in mine if s["kind"] == "server")
    assert server["attributes"]["url.path"] == target
    page = tracez_html(tg)
    assert "<script" not in page
    assert "/&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;&quot;" in page


def test_view_is_empty_before_any_request_and_reads_need_no_token(start_tracegate, upstream):
    tg = start(start_tracegate, upstream)
    doc = tracez_json(tg)
    assert doc["names"] == [] and doc["spans_recorded"] == 0
    assert "No span recorded yet" in tracez_html(tg)
    # Admin requests themselves are never traced.
    assert tracez_json(tg)["spans_recorded"] == 0
    assert "error" in tracez_json(tg, "format=json&trace_id=nothex")
