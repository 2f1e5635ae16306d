"""SIGHUP reloads the configuration file: routes, sampling defaults and the
admin token change at once on every worker; a bad file is rejected with the
errors --check-config prints and the old configuration keeps serving;
requests in flight keep the routes they started with; reloads under load
fail no request."""

import json
import signal
import threading

from admin_client import TOKEN_ENV, admin, post, state, wait_audit
from conftest import run_tracegate
from rawhttp import KeepAliveClients, request


def write(path, cfg):
    path.write_text(json.dumps(cfg, indent=2))


def reload(tg, count):
    """SIGHUP, then wait for the count-th reload outcome line."""
    tg.signal(signal.SIGHUP)
    def outcome(l):
        return l.startswith("tracegate: reloaded") or l.startswith("tracegate: reload of")
    tg.stderr.wait_count(outcome, count, 5, "reload #%d" % count)
    return [l for l in tg.stderr.lines() if outcome(l)][-1]


def start(start_tracegate, tmp_path, cfg, env=None):
    path = tmp_path / "tracegate.json"
    cfg = dict(cfg, access_log="off")
    write(path, cfg)
    tg = start_tracegate("--config", path, env=env)
    return tg, path, cfg


def routed_to(tg, up, path):
    r = request(tg.port, "GET", path)
    assert r.status == 200, r
    up.wait_requests(1, 5, target=path)


def test_routes_change_on_reload(start_tracegate, start_upstream, tmp_path):
    a, b = start_upstream("A"), start_upstream("B")
    tg, path, cfg = start(start_tracegate, tmp_path,
                          {"routes": [{"prefix": "/a", "upstream": a.url}]})
    routed_to(tg, a, "/a/1")
    assert request(tg.port, "GET", "/b/1").body == b"tracegate: no route for this path\n"
    write(path, dict(cfg, routes=[{"prefix": "/b", "upstream": b.url}]))
    assert "reloaded" in reload(tg, 1)
    routed_to(tg, b, "/b/2")
    assert request(tg.port, "GET", "/a/2").status == 404
    assert wait_audit(tg, 1)[-1]["action"] == "reload"


def test_bad_file_is_rejected_and_old_config_serves(start_tracegate, upstream, tmp_path):
    tg, path, cfg = start(start_tracegate, tmp_path,
                          {"routes": [{"prefix": "/a", "upstream": upstream.url}]})
    bad = dict(cfg, routes=[{"prefix": "/a", "upstream": "ftp://nope"}], workers="two",
               surprise=True)
    write(path, bad)
    line = reload(tg, 1)
    assert "rejected" in line and "running configuration stays" in line
    check = run_tracegate("--config", path, "--check-config")
    assert check.returncode == 1
    expected = [l for l in check.stderr.splitlines() if l.strip()]
    assert len(expected) >= 3
    printed = tg.stderr.lines()
    i = printed.index(line)
    assert printed[i + 1:i + 1 + len(expected)] == expected
    routed_to(tg, upstream, "/a/still-here")
    # Truncated JSON too.
    path.write_text('{"routes": [')
    assert "rejected" in reload(tg, 2)
    routed_to(tg, upstream, "/a/still-here-2")


def test_request_in_flight_keeps_its_route(start_tracegate, start_upstream, tmp_path):
    a, b = start_upstream("A"), start_upstream("B")
    tg, path, cfg = start(start_tracegate, tmp_path,
                          {"routes": [{"prefix": "/a", "upstream": a.url}]})
    out = []
    t = threading.Thread(target=lambda: out.append(request(tg.port, "GET", "/a/delay/800")))
    t.start()
    a.wait_requests(1, 5, target="/a/delay/800")
    write(path, dict(cfg, routes=[{"prefix": "/b", "upstream": b.url}]))
    assert "reloaded" in reload(tg, 1)
    assert request(tg.port, "GET", "/a/x").status == 404
    t.join(10)
    assert out and out[0].status == 200 and out[0].complete


def test_reloads_under_load_fail_nothing(start_tracegate, upstream, tmp_path):
    tg, path, cfg = start(start_tracegate, tmp_path, {"upstream": upstream.url})
    with KeepAliveClients(tg.port, "/bytes/3", 4, body_len=3) as k:
        for n in range(1, 21):
            timeout = 1000 + n  # a real change each time
            write(path, dict(cfg, connect_timeout_ms=timeout))
            assert "reloaded" in reload(tg, n)
    assert k.errors == []
    assert min(k.counts) > 0


def test_sampling_defaults_reload_and_overrides_stay(start_tracegate, upstream, tmp_path):
    tg, path, cfg = start(start_tracegate, tmp_path,
                          {"routes": [{"prefix": "/a", "upstream": upstream.url},
                                      {"prefix": "/b", "upstream": upstream.url}],
                           "tracing": {"sampler": "parentbased_traceidratio",
                                       "sample_rate": 1.0}},
                          env=TOKEN_ENV)
    post(tg.port, {"routes": {"/a": 0.0}})
    write(path, dict(cfg, tracing={"sampler": "parentbased_traceidratio", "sample_rate": 0.5},
                     routes=cfg["routes"] + [{"prefix": "/c", "upstream": upstream.url,
                                              "sample_rate": 0.2}]))
    assert "reloaded" in reload(tg, 1)
    s = state(tg.port)
    assert s["startup"]["rate"] == 0.5 and s["rate"] == 0.5
    assert s["routes"] == {"/a": 0.0, "/b": None, "/c": 0.2}
    # A route that goes away takes its override with it.
    write(path, dict(cfg, routes=[{"prefix": "/b", "upstream": upstream.url}]))
    assert "reloaded" in reload(tg, 2)
    s = state(tg.port)
    assert s["routes"] == {"/b": None} and s["overridden"] is False


def test_token_file_rotation(start_tracegate, upstream, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("first-token-0123456789abcdef\n")
    tg, path, cfg = start(start_tracegate, tmp_path,
                          {"upstream": upstream.url, "admin": {"token_file": str(tok)}},
                          env={"TELEMETRY_ADMIN_TOKEN": ""})
    assert admin(tg.port, "POST", "/admin/telemetry", {"rate": 0.5},
                 token="first-token-0123456789abcdef").status == 200
    tok.write_text("second-token-0123456789abcdef\n")
    assert "reloaded" in reload(tg, 1)
    assert admin(tg.port, "POST", "/admin/telemetry", {"rate": 0.4},
                 token="second-token-0123456789abcdef").status == 200
    assert admin(tg.port, "POST", "/admin/telemetry", {"rate": 0.3},
                 token="first-token-0123456789abcdef").status == 401
    # A token file that went bad rejects the reload: the second token stays.
    tok.write_text("short\n")
    assert "rejected" in reload(tg, 2)
    assert admin(tg.port, "GET", "/admin/telemetry",
                 token="second-token-0123456789abcdef").status == 200
    assert admin(tg.port, "POST", "/admin/telemetry", {"rate": 0.2},
                 token="second-token-0123456789abcdef").status == 200


def test_settings_needing_restart_are_named(start_tracegate, upstream, tmp_path):
    tg, path, cfg = start(start_tracegate, tmp_path, {"upstream": upstream.url})
    write(path, dict(cfg, access_log=str(tmp_path / "access.log"), workers=1,
                     max_header_bytes=4096))
    assert "reloaded" in reload(tg, 1)
    warned = [l for l in tg.stderr.lines() if "takes a restart" in l]
    assert {w.split('"')[1] for w in warned} == {"access_log", "workers", "max_header_bytes"}
    routed_to(tg, upstream, "/same-port")


def test_route_at_admin_rejected_on_reload(start_tracegate, upstream, tmp_path):
    tg, path, cfg = start(start_tracegate, tmp_path, {"upstream": upstream.url})
    write(path, dict(cfg, routes=[{"prefix": "/admin", "upstream": upstream.url}]))
    line = reload(tg, 1)
    assert "rejected" in line and "/admin" in line
    assert admin(tg.port, "GET", "/admin/healthz", token=None).status == 200
