"""Talking to tracegate's admin endpoints in tests: one request with the
token (or not), and the audit lines tracegate printed."""

import json

from rawhttp import Conn

TOKEN = "tg-test-token-0123456789abcdef"
TOKEN_ENV = {"TELEMETRY_ADMIN_TOKEN": TOKEN}


def admin(port, method, path, body=None, token=TOKEN, headers=(), source=None,
          content_type="application/json"):
    """One request on a fresh connection; body: a dict (sent as JSON), bytes or None."""
    hdrs = list(headers)
    if token is not None:
        hdrs.append(("Authorization", "Bearer " + token))
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    if body is not None and content_type is not None:
        hdrs.append(("Content-Type", content_type))
    with Conn(port, source=source) as c:
        return c.request(method, path, hdrs, body)


def state(port, token=TOKEN):
    r = admin(port, "GET", "/admin/telemetry", token=token)
    assert r.status == 200, r
    return r.json()


def post(port, body, token=TOKEN, expect=200):
    r = admin(port, "POST", "/admin/telemetry", body, token=token)
    assert r.status == expect, r
    return r.json()


def is_audit(line):
    return line.strip().startswith("{") and '"type":"audit"' in line


def wait_audit(tg, count, timeout=5.0):
    """Wait until tracegate's stderr holds count audit lines; return them all."""
    tg.stderr.wait_count(is_audit, count, timeout, "%d audit lines" % count)
    return audit_lines(tg)


def audit_lines(tg):
    """Audit JSON lines tracegate wrote to stderr so far (the reader may lag:
    use wait_audit when a line is expected)."""
    out = []
    for l in tg.stderr.lines():
        l = l.strip()
        if l.startswith("{") and '"type":"audit"' in l:
            out.append(json.loads(l))
    return out
