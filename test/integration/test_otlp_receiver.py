"""The OTLP test receiver (test/interop/otlp/receiver.js) on its own.

tracegate's exporter tests read what tracegate sent off this receiver and
drive its faults, so this proves first that it decodes what the official
OpenTelemetry JS serializers send over http/protobuf, http/json (plain and
gzip) and gRPC (plain and gzip) into exactly the spans described, that every
fault mode answers as documented, and that its counters are exact.
"""

import gzip
import http.client
import json
import socket
import time

import pytest

from otlp_receiver import (EXPORT_PATH, bench_js, decode_export_response, decode_status,
                           encode_js, grpc_send, start_receiver)  # noqa: F401 (fixture)
from conftest import wait_until

TRACE_A = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE_C = "0af7651916cd43dd8448eb211c80319c"

DESCRIPTION = {
    "resource": {"attributes": {"service.name": "tracegate", "service.version": "0.3.1",
                                "host.cpus": 2}},
    "scope": {"name": "tracegate", "version": "0.3.1"},
    "spans": [
        {
            "traceId": TRACE_A, "spanId": "00f067aa0ba902b7",
            "parentSpanId": "a3ce929d0e0e4736", "parentIsRemote": True,
            "traceState": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
            "name": "GET /api/{id}", "kind": 2,
            "startTimeUnixNano": "1718000000123456789", "endTimeUnixNano": "1718000000223456789",
            "attributes": {
                "http.request.method": "GET",
                "url.path": "/api/\u00e9t\u00e9",
                "http.response.status_code": 502,
                "server.port": 8080,
                "offset": -7,
                "big": 1099511627776,
                "ratio": 0.25,
                "retried": True,
                "empty": "",
                "tags": ["a", "b"],
            },
            "events": [
                {"name": "upstream.connect", "timeUnixNano": "1718000000130000000",
                 "attributes": {"attempt": 1}},
                {"name": "exception", "timeUnixNano": "1718000000200000000",
                 "attributes": {"exception.message": "connection refused"}},
            ],
            "links": [
                {"traceId": TRACE_C, "spanId": "b7ad6b7169203331", "traceFlags": 1,
                 "isRemote": True, "traceState": "k=v", "attributes": {"link.kind": "retry"}},
            ],
            "status": {"code": 2, "message": "upstream failed"},
        },
        {
            "traceId": TRACE_A, "spanId": "1111111111111111", "parentSpanId": "00f067aa0ba902b7",
            "name": "upstream", "kind": 3,
            "startTimeUnixNano": "1718000000125000000", "endTimeUnixNano": "1718000000220000000",
            "attributes": {"server.address": "127.0.0.1"},
            "status": {"code": 1},
        },
        {
            "traceId": TRACE_C, "spanId": "2222222222222222", "traceFlags": 0,
            "name": "internal", "kind": 0,
            "startTimeUnixNano": "1", "endTimeUnixNano": "2",
        },
    ],
}
SPAN_COUNT = len(DESCRIPTION["spans"])

PROTOBUF = "application/x-protobuf"
JSON_CT = "application/json"


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """(encode_js result, protobuf body, JSON body) for DESCRIPTION, made once."""
    return encode_js(DESCRIPTION, tmp_path_factory.mktemp("otlp-encode"))


@pytest.fixture
def rx(start_receiver):
    return start_receiver()


def post(port, body, content_type=PROTOBUF, encoding=None, path="/v1/traces", timeout=10,
         conn=None):
    """POST body; returns (status, lowercased headers, body bytes)."""
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, body=body, headers=headers)
        resp = c.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        if conn is None:
            c.close()


def expected_flags(trace_flags, remote):
    # Span.flags: W3C trace flags in bits 0-7, 0x100 "remoteness known",
    # 0x200 "parent (or linked context) is remote".
    return (trace_flags & 0xFF) | 0x100 | (0x200 if remote else 0)


def check_against_description(resource_spans):
    """The normalized spans carry exactly DESCRIPTION, field by field."""
    assert len(resource_spans) == 1
    rs = resource_spans[0]
    assert rs["resource"]["attrs"] == DESCRIPTION["resource"]["attributes"]
    assert rs["resource"]["droppedAttributesCount"] == 0
    assert len(rs["scopeSpans"]) == 1
    ss = rs["scopeSpans"][0]
    assert ss["scope"]["name"] == "tracegate" and ss["scope"]["version"] == "0.3.1"
    assert len(ss["spans"]) == SPAN_COUNT
    for got, want in zip(ss["spans"], DESCRIPTION["spans"]):
        assert got["traceId"] == want["traceId"]
        assert got["spanId"] == want["spanId"]
        assert got["parentSpanId"] == want.get("parentSpanId", "")
        assert got["traceState"] == want.get("traceState", "")
        assert got["flags"] == expected_flags(want.get("traceFlags", 1),
                                              want.get("parentIsRemote", False))
        assert got["name"] == want["name"]
        assert got["kind"] == want["kind"]
        assert got["startTimeUnixNano"] == want["startTimeUnixNano"]
        assert got["endTimeUnixNano"] == want["endTimeUnixNano"]
        assert got["attrs"] == want.get("attributes", {})
        assert [kv["key"] for kv in got["attributes"]] == list(want.get("attributes", {}))
        assert len(got["events"]) == len(want.get("events", []))
        for ge, we in zip(got["events"], want.get("events", [])):
            assert (ge["name"], ge["timeUnixNano"], ge["attrs"]) == \
                (we["name"], we["timeUnixNano"], we["attributes"])
        assert len(got["links"]) == len(want.get("links", []))
        for gl, wl in zip(got["links"], want.get("links", [])):
            assert (gl["traceId"], gl["spanId"], gl["traceState"], gl["attrs"]) == \
                (wl["traceId"], wl["spanId"], wl["traceState"], wl["attributes"])
            assert gl["flags"] == expected_flags(wl["traceFlags"], wl["isRemote"])
        status = want.get("status", {})
        assert got["status"] == {"code": status.get("code", 0), "message": status.get("message", "")}
        assert got["droppedAttributesCount"] == got["droppedEventsCount"] == \
            got["droppedLinksCount"] == 0
    # Typed values, as OTLP/JSON writes them.
    typed = {kv["key"]: kv["value"] for kv in ss["spans"][0]["attributes"]}
    assert typed["http.response.status_code"] == {"intValue": "502"}
    assert typed["offset"] == {"intValue": "-7"}
    assert typed["big"] == {"intValue": "1099511627776"}
    assert typed["ratio"] == {"doubleValue": 0.25}
    assert typed["retried"] == {"boolValue": True}
    assert typed["empty"] == {"stringValue": ""}
    assert typed["tags"] == {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}


def test_encode_js_matches_the_description(encoded):
    result, pb, js = encoded
    check_against_description(result["resource_spans"])
    assert result["span_count"] == SPAN_COUNT
    assert result["protobuf_bytes"] == len(pb) and result["json_bytes"] == len(js)
    # The official JSON serializer writes intValue as a JSON number; that is
    # the only thing it does that OTLP/JSON says a sender should not.
    assert result["json_warnings"], "expected the intValue-as-number warnings"
    assert all("intValue: 64-bit integer as a JSON number" in w for w in result["json_warnings"])


@pytest.mark.parametrize("kind,gz", [("protobuf", False), ("protobuf", True),
                                     ("json", False), ("json", True)])
def test_http_decodes_what_was_sent(rx, encoded, kind, gz):
    result, pb, js = encoded
    raw = pb if kind == "protobuf" else js
    body = gzip.compress(raw) if gz else raw
    ct = PROTOBUF if kind == "protobuf" else JSON_CT
    status, headers, data = post(rx.http_port, body, ct, "gzip" if gz else None)
    assert status == 200
    assert headers["content-type"] == ct
    if kind == "protobuf":
        assert data == b""  # an empty ExportTraceServiceResponse
    else:
        assert json.loads(data) == {}

    [line] = rx.wait_requests(1)
    assert line["seq"] == 1
    assert line["protocol"] == "http/" + kind
    assert line["method"] == "POST" and line["path"] == "/v1/traces"
    assert line["headers"]["content-type"] == ct
    assert line["content_type"] == ct
    assert line["content_encoding"] == ("gzip" if gz else None)
    assert line["bytes"] == len(body)
    assert line["decoded_bytes"] == len(raw)
    assert line["decode_error"] is None
    assert line["span_count"] == SPAN_COUNT
    assert line["resource_spans"] == result["resource_spans"]
    check_against_description(line["resource_spans"])
    if kind == "protobuf":
        assert line["warnings"] == []
    else:
        assert line["warnings"] == result["json_warnings"]
    assert line["response"]["status"] == 200 and line["response"]["mode"] == "ok"
    assert line["response"]["body"] == {}


@pytest.mark.parametrize("gz", [False, True])
def test_grpc_decodes_what_was_sent(rx, encoded, tmp_path, gz):
    result, pb, _ = encoded
    got = grpc_send(rx.grpc_target, pb, tmp_path, gzip=gz, metadata={"x-tenant": "t1"})
    assert got["code"] == 0 and got["status"] == "OK"
    assert got["response"] == {}

    [line] = rx.wait_requests(1)
    assert line["protocol"] == "grpc"
    assert line["path"] == EXPORT_PATH
    assert line["headers"][":path"] == EXPORT_PATH
    assert line["headers"]["content-type"] == "application/grpc"
    assert line["headers"]["x-tenant"] == "t1"
    assert line["content_encoding"] == ("gzip" if gz else None)
    assert line["decoded_bytes"] == len(pb)
    if gz:
        assert line["bytes"] < len(pb)
    else:
        assert line["bytes"] == len(pb) + 5  # the gRPC message prefix
    assert line["decode_error"] is None and line["warnings"] == []
    assert line["resource_spans"] == result["resource_spans"]
    assert line["response"] == {"mode": "ok", "grpc_code": 0, "grpc_status": "OK", "body": {}}


def test_json_rules(rx):
    def send(doc):
        before = len(rx.requests())
        status, _, data = post(rx.http_port, json.dumps(doc).encode(), JSON_CT)
        return status, json.loads(data), rx.wait_requests(before + 1)[-1]

    span = {"traceId": TRACE_A.upper(), "spanId": "00F067AA0BA902B7", "name": "s", "kind": 2,
            "startTimeUnixNano": "18446744073709551615", "endTimeUnixNano": "2",
            "flags": 257, "status": {"code": 1},
            "attributes": [{"key": "n", "value": {"intValue": "-9223372036854775808"}},
                           {"key": "d", "value": {"doubleValue": "NaN"}},
                           {"key": "b", "value": {"bytesValue": "AAEC"}},
                           {"key": "kv", "value": {"kvlistValue": {"values": [
                               {"key": "x", "value": {"boolValue": False}}]}}},
                           {"key": "none", "value": {}}]}
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}

    # Strict OTLP/JSON: no warnings; hex ids are case-insensitive.
    status, body, line = send(doc)
    assert status == 200 and body == {}
    assert line["warnings"] == []
    [got] = line["resource_spans"][0]["scopeSpans"][0]["spans"]
    assert got["traceId"] == TRACE_A and got["spanId"] == "00f067aa0ba902b7"
    assert got["startTimeUnixNano"] == "18446744073709551615"
    assert got["flags"] == 257 and got["status"] == {"code": 1, "message": ""}
    assert got["attrs"] == {"n": "-9223372036854775808", "d": "NaN", "b": "AAEC",
                            "kv": {"x": False}, "none": None}

    # Tolerated but flagged: an enum name, a 64-bit integer as a number, a
    # snake_case key (an unknown field, so ignored).
    loose = json.loads(json.dumps(doc))
    s = loose["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    s["kind"] = "SPAN_KIND_CLIENT"
    s["endTimeUnixNano"] = 2
    s["parent_span_id"] = "a3ce929d0e0e4736"
    status, body, line = send(loose)
    assert status == 200
    [got] = line["resource_spans"][0]["scopeSpans"][0]["spans"]
    assert got["kind"] == 3 and got["endTimeUnixNano"] == "2" and got["parentSpanId"] == ""
    w = line["warnings"]
    assert len(w) == 3
    assert any(".kind: enum as a name" in x for x in w)
    assert any(".endTimeUnixNano: 64-bit integer as a JSON number" in x for x in w)
    assert any(".parent_span_id: unknown field ignored" in x for x in w)

    # Rejected with 400 and a google.rpc.Status-shaped JSON body: base64 ids,
    # two values in one AnyValue, text that is not JSON.
    bad = json.loads(json.dumps(doc))
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "S/kvNXezTaajzpKdDg5HNg=="
    status, body, line = send(bad)
    assert status == 400 and body["code"] == 3 and "traceId: not hex" in body["message"]
    assert line["decode_error"] == body["message"] and line["span_count"] == 0
    bad = json.loads(json.dumps(doc))
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"][0]["value"]["stringValue"] = "x"
    status, body, _ = send(bad)
    assert status == 400 and "more than one value" in body["message"]
    status, _, data = post(rx.http_port, b"{not json", JSON_CT)
    assert status == 400 and "JSON parse" in json.loads(data)["message"]


def test_bad_requests(rx, encoded, tmp_path):
    _, pb, _ = encoded
    # Truncated protobuf: 400 with a protobuf google.rpc.Status body.
    status, headers, data = post(rx.http_port, pb[:-7])
    assert status == 400 and headers["content-type"] == PROTOBUF
    st = decode_status(data)
    assert st["code"] == 3 and st["message"].startswith("protobuf decode")
    # The same over gRPC: INVALID_ARGUMENT.
    got = grpc_send(rx.grpc_target, pb[:-7], tmp_path)
    assert got["status"] == "INVALID_ARGUMENT" and got["details"].startswith("protobuf decode")
    # A body that is not gzip although it says so.
    status, _, data = post(rx.http_port, pb, encoding="gzip")
    assert status == 400 and decode_status(data)["message"].startswith("gzip")
    # Other encodings, content types, methods and paths.
    assert post(rx.http_port, pb, encoding="br")[0] == 415
    assert post(rx.http_port, pb, content_type="text/plain")[0] == 415
    assert post(rx.http_port, pb, path="/v1/trace")[0] == 404
    c = http.client.HTTPConnection("127.0.0.1", rx.http_port, timeout=10)
    c.request("GET", "/v1/traces")
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 405 and r.getheader("Allow") == "POST"

    lines = rx.wait_requests(7)
    assert [l["protocol"] for l in lines] == ["http/protobuf", "grpc", "http/protobuf",
                                              "http/protobuf", "http", "http", "http"]
    assert [l["response"].get("status", l["response"].get("grpc_code")) for l in lines] == \
        [400, 3, 400, 415, 415, 404, 405]
    s = rx.stats()
    assert s["requests"] == 7 and s["decode_errors"] == 2
    assert s["by_status"] == {"400": 2, "grpc:INVALID_ARGUMENT": 1, "415": 2, "404": 1, "405": 1}
    assert s["spans_received"] == 0 and s["spans_accepted"] == 0


def test_status_mode_http(rx, encoded):
    _, pb, js = encoded
    ans = rx.control(mode="status", code=429, retry_after="2", times=2)
    assert ans["mode"]["mode"] == "status" and ans["mode"]["times"] == 2

    status, headers, data = post(rx.http_port, pb)
    assert status == 429 and headers["retry-after"] == "2"
    assert headers["content-type"] == PROTOBUF
    assert decode_status(data) == {"code": 8, "message": "injected status 429", "details": []}
    status, headers, data = post(rx.http_port, js, JSON_CT)
    assert status == 429 and headers["retry-after"] == "2"
    assert json.loads(data) == {"code": 8, "message": "injected status 429"}
    assert post(rx.http_port, pb)[0] == 200  # times=2 used up: back to ok

    date = "Wed, 21 Oct 2037 07:28:00 GMT"
    rx.control(mode="status", code=503, retry_after=date, message="busy", times=1)
    status, headers, data = post(rx.http_port, pb)
    assert status == 503 and headers["retry-after"] == date
    assert decode_status(data)["message"] == "busy"
    assert post(rx.http_port, pb)[0] == 200

    rx.control(mode="status", code=400)  # no "times": until changed
    assert [post(rx.http_port, pb)[0] for _ in range(3)] == [400, 400, 400]
    assert "retry-after" not in post(rx.http_port, pb)[1]
    rx.control(mode="ok")
    assert post(rx.http_port, pb)[0] == 200

    lines = rx.wait_requests(10)
    assert [l["response"]["status"] for l in lines] == [429, 429, 200, 503, 200, 400, 400, 400,
                                                        400, 200]
    assert lines[0]["response"]["headers"]["retry-after"] == "2"
    assert lines[0]["response"]["mode"] == "status"
    # Failed requests are decoded and logged all the same.
    assert all(l["span_count"] == SPAN_COUNT for l in lines)
    s = rx.stats()
    assert s["by_status"] == {"429": 2, "200": 3, "503": 1, "400": 4}
    assert s["by_protocol"] == {"http/protobuf": 9, "http/json": 1}
    assert s["spans_received"] == 10 * SPAN_COUNT
    assert s["spans_accepted"] == 3 * SPAN_COUNT
    assert s["spans_in_failed_requests"] == 7 * SPAN_COUNT
    assert s["spans_rejected"] == 0


def test_status_mode_grpc(rx, encoded, tmp_path):
    _, pb, _ = encoded
    rx.control(mode="status", code=503, retry_after="3", times=1)
    got = grpc_send(rx.grpc_target, pb, tmp_path)
    assert got["status"] == "UNAVAILABLE" and got["details"] == "injected status 503"
    assert got["retry_delay_ms"] == 3000  # RetryInfo in grpc-status-details-bin
    assert grpc_send(rx.grpc_target, pb, tmp_path)["status"] == "OK"

    rx.control(mode="status", code=429, times=1)
    got = grpc_send(rx.grpc_target, pb, tmp_path)
    assert got["status"] == "RESOURCE_EXHAUSTED" and got["retry_delay_ms"] is None
    rx.control(mode="status", code=400, times=1)
    assert grpc_send(rx.grpc_target, pb, tmp_path)["status"] == "INVALID_ARGUMENT"
    rx.control(mode="status", code=500, grpc_code=10, times=1)
    assert grpc_send(rx.grpc_target, pb, tmp_path)["status"] == "ABORTED"

    lines = rx.wait_requests(5)
    assert [l["response"]["grpc_status"] for l in lines] == \
        ["UNAVAILABLE", "OK", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT", "ABORTED"]
    assert lines[0]["response"]["retry_delay_ms"] == 3000
    s = rx.stats()
    assert s["by_status"] == {"grpc:UNAVAILABLE": 1, "grpc:OK": 1, "grpc:RESOURCE_EXHAUSTED": 1,
                              "grpc:INVALID_ARGUMENT": 1, "grpc:ABORTED": 1}
    assert s["spans_accepted"] == SPAN_COUNT


def test_partial_success(rx, encoded, tmp_path):
    _, pb, js = encoded
    rx.control(mode="partial", rejected=2, message="2 spans too old", times=3)
    status, _, data = post(rx.http_port, pb)
    assert status == 200
    assert decode_export_response(data) == \
        {"partialSuccess": {"rejectedSpans": 2, "errorMessage": "2 spans too old"}}
    status, _, data = post(rx.http_port, js, JSON_CT)
    assert status == 200
    assert json.loads(data) == \
        {"partialSuccess": {"rejectedSpans": "2", "errorMessage": "2 spans too old"}}
    got = grpc_send(rx.grpc_target, pb, tmp_path)
    assert got["status"] == "OK"
    assert got["response"] == \
        {"partialSuccess": {"rejectedSpans": "2", "errorMessage": "2 spans too old"}}
    status, _, data = post(rx.http_port, pb)
    assert status == 200 and data == b""

    s = rx.stats()
    assert s["requests"] == 4 and s["by_status"] == {"200": 3, "grpc:OK": 1}
    assert s["spans_rejected"] == 3 * 2
    assert s["spans_accepted"] == 4 * SPAN_COUNT - 3 * 2


def test_reset(rx, encoded, tmp_path):
    _, pb, _ = encoded
    rx.control(mode="reset", times=2)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected,
                        BrokenPipeError)):
        post(rx.http_port, pb)
    got = grpc_send(rx.grpc_target, pb, tmp_path)
    assert got["status"] == "UNAVAILABLE"
    assert post(rx.http_port, pb)[0] == 200

    lines = rx.wait_requests(3)
    assert lines[0]["response"] == {"mode": "reset", "reset": True}
    assert lines[1]["response"] == {"mode": "reset", "reset": True}
    assert lines[0]["span_count"] == SPAN_COUNT
    s = rx.stats()
    assert s["by_status"] == {"reset": 2, "200": 1}
    assert s["spans_in_failed_requests"] == 2 * SPAN_COUNT and s["spans_accepted"] == SPAN_COUNT


def test_hang(rx, encoded, tmp_path):
    _, pb, _ = encoded
    rx.control(mode="hang", ms=400, times=1)
    t0 = time.monotonic()
    status, _, _ = post(rx.http_port, pb)
    assert status == 200 and time.monotonic() - t0 >= 0.4
    assert post(rx.http_port, pb)[0] == 200  # times=1 used up: answered as ok

    # A client that gives up before the answer: logged as client_gone.
    rx.control(mode="hang", ms=5000, times=2)
    with pytest.raises(socket.timeout):
        post(rx.http_port, pb, timeout=0.3)
    got = grpc_send(rx.grpc_target, pb, tmp_path, timeout_ms=300)
    assert got["status"] == "DEADLINE_EXCEEDED"
    lines = rx.wait_requests(4)
    assert lines[0]["response"]["mode"] == "hang" and lines[0]["response"]["delay_ms"] == 400
    assert lines[0]["response"]["status"] == 200
    assert lines[1]["response"]["mode"] == "ok"
    assert lines[2]["response"] == {"mode": "hang", "client_gone": True, "delay_ms": 5000}
    assert lines[3]["protocol"] == "grpc"
    assert lines[3]["response"] == {"mode": "hang", "client_gone": True, "delay_ms": 5000}
    s = rx.stats()
    assert s["by_status"] == {"200": 2, "client_gone": 2}
    assert s["spans_accepted"] == 2 * SPAN_COUNT


def test_down_and_up_on_the_same_ports(rx, encoded, tmp_path):
    _, pb, _ = encoded
    keep = http.client.HTTPConnection("127.0.0.1", rx.http_port, timeout=10)
    assert post(rx.http_port, pb, conn=keep)[0] == 200

    ans = rx.down()
    assert ans["listening"] is False
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", rx.http_port), timeout=2).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", rx.grpc_port), timeout=2).close()
    # A kept-alive connection is closed too.
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, BrokenPipeError)):
        post(rx.http_port, pb, conn=keep)
    keep.close()
    assert grpc_send(rx.grpc_target, pb, tmp_path, timeout_ms=1000)["status"] in \
        ("UNAVAILABLE", "DEADLINE_EXCEEDED")

    assert rx.up()["listening"] is True
    assert post(rx.http_port, pb)[0] == 200
    assert grpc_send(rx.grpc_target, pb, tmp_path)["status"] == "OK"

    # "down" with ms comes back by itself; asked for on the HTTP port itself.
    status, headers, data = post(rx.http_port, json.dumps({"mode": "down", "ms": 2000}).encode(),
                                 JSON_CT, path="/_control")
    assert status == 200 and json.loads(data)["listening"] is False
    assert not rx.http_listening()
    wait_until(rx.http_listening, 10, "the HTTP port to listen again")
    assert post(rx.http_port, pb)[0] == 200
    assert grpc_send(rx.grpc_target, pb, tmp_path)["status"] == "OK"

    s = rx.stats()
    # Requests that never reached a listener are not counted.
    assert s["requests"] == 5 and s["by_status"] == {"200": 3, "grpc:OK": 2}
    assert s["spans_accepted"] == 5 * SPAN_COUNT


def test_control_api(rx):
    for bad in [{"mode": "nope"}, {"mode": "status"}, {"mode": "status", "code": 200},
                {"mode": "hang"}, {"mode": "partial"}, {"mode": "reset", "times": 0}]:
        status, _, data = post(rx.control_port, json.dumps(bad).encode(), JSON_CT,
                               path="/_control")
        assert status == 400, bad
        assert "error" in json.loads(data)
    c = http.client.HTTPConnection("127.0.0.1", rx.control_port, timeout=10)
    c.request("GET", "/_control")
    r = c.getresponse()
    assert json.loads(r.read()) == {"mode": {"mode": "ok"}, "listening": True}
    c.close()
    # Control traffic is neither logged nor counted.
    assert rx.stats()["requests"] == 0
    assert rx.requests() == []


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json", "grpc"])
def test_official_exporter(rx, protocol):
    endpoint = rx.grpc_url if protocol == "grpc" else rx.traces_url
    out = bench_js(protocol, endpoint, spans=1100, batch=512)
    assert out["spans"] == 1100 and out["batches"] == 3 and out["failed_batches"] == 0
    assert out["cpu_seconds"] > 0 and out["spans_per_cpu_second"] > 0

    s = rx.stats()
    assert s["requests"] == 3 and s["by_protocol"] == {protocol: 3}
    assert s["decode_errors"] == 0
    assert s["spans_received"] == s["spans_accepted"] == 1100
    spans = rx.spans()
    assert len({(sp["traceId"], sp["spanId"]) for sp in spans}) == 1100
    for sp in spans[:3]:
        assert sp["kind"] == 2 and len(sp["attributes"]) == 12 and len(sp["events"]) == 2
        assert sp["attrs"]["http.request.method"] == "GET"
        assert sp["flags"] == expected_flags(1, True)
    for line in rx.requests():
        if protocol != "http/json":
            assert line["warnings"] == []


def test_discard(start_receiver, encoded, tmp_path):
    _, pb, js = encoded
    sink = start_receiver(discard=True)
    status, headers, data = post(sink.http_port, pb)
    assert status == 200 and headers["content-type"] == PROTOBUF and data == b""
    status, headers, data = post(sink.http_port, js, JSON_CT)
    assert status == 200 and json.loads(data) == {}
    got = grpc_send(sink.grpc_target, pb, tmp_path)
    assert got["status"] == "OK" and got["response"] == {}
    assert sink.stats() == {"requests": 3, "bytes": 2 * len(pb) + 5 + len(js),
                            "by_protocol": {"http/protobuf": 1, "http/json": 1, "grpc": 1},
                            "by_status": {"200": 2, "grpc:OK": 1}}
    assert sink.requests() == []
