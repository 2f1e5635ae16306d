"""Who may use the admin endpoints: the Bearer token matrix, failing closed
without a token, the brake on guessing, the reads policy, and that the
token never shows up in what tracegate prints."""

import pytest

from admin_client import TOKEN, TOKEN_ENV, admin, state, wait_audit


@pytest.fixture
def atg(start_tracegate, upstream):
    return start_tracegate("--upstream", upstream.url, env=TOKEN_ENV)


CHANGE = {"rate": 0.5}


@pytest.mark.parametrize("authz,error", [
    (None, None),                                        # no header
    ("Basic " + TOKEN, "invalid_request"),               # wrong scheme
    ("Token " + TOKEN, "invalid_request"),
    ("Bearer", "invalid_request"),                       # scheme without a token
    ("Bearer wrong-token-0123456789abcd", "invalid_token"),
    ("Bearer " + TOKEN[:-1], "invalid_token"),           # one character short
    ("Bearer " + TOKEN + "x", "invalid_token"),          # one character long
    ("Bearer " + TOKEN[:8], "invalid_token"),            # much shorter
    ("Bearer " + TOKEN * 4, "invalid_token"),            # much longer
    ("Bearer " + TOKEN.upper(), "invalid_token"),        # case matters in the token
])
def test_refused_tokens_change_nothing(atg, authz, error):
    before = state(atg.port)
    headers = [("Authorization", authz)] if authz is not None else []
    r = admin(atg.port, "POST", "/admin/telemetry", CHANGE, token=None, headers=headers)
    assert r.status == 401, r
    challenge = r.get("WWW-Authenticate")
    assert challenge is not None and challenge.startswith("Bearer realm=\"tracegate-admin\"")
    if error is not None:
        assert 'error="%s"' % error in challenge
    assert "error" in r.json()
    assert _same_sampling(state(atg.port), before)
    # Lines come in order: one good change later, its line is the only one.
    assert admin(atg.port, "POST", "/admin/telemetry", CHANGE).status == 200
    assert len(wait_audit(atg, 1)) == 1


def _same_sampling(a, b):
    return all(a[k] == b[k] for k in ("enabled", "rate", "routes", "overridden"))


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_right_token_any_scheme_case(atg, scheme):
    r = admin(atg.port, "POST", "/admin/telemetry", CHANGE, token=None,
              headers=[("Authorization", "%s %s" % (scheme, TOKEN))])
    assert r.status == 200, r
    assert r.json()["rate"] == 0.5


def test_no_token_configured_fails_closed(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, env={"TELEMETRY_ADMIN_TOKEN": ""})
    tg.stderr.wait_for(lambda l: "no token configured" in l, 5, "the admin startup line")
    r = admin(tg.port, "POST", "/admin/telemetry", CHANGE, token="anything-0123456789")
    assert r.status == 403, r
    msg = r.json()["error"]
    assert "TELEMETRY_ADMIN_TOKEN" in msg and "token_file" in msg
    r = admin(tg.port, "DELETE", "/admin/telemetry", token=None)
    assert r.status == 403
    # Reads stay open on a loopback listener.
    assert state(tg.port, token=None)["rate"] == 1.0


def test_token_never_printed(atg):
    admin(atg.port, "POST", "/admin/telemetry", CHANGE)
    admin(atg.port, "POST", "/admin/telemetry", CHANGE, token="not-the-token-0123456789")
    assert len(wait_audit(atg, 1)) == 1
    atg.expect_exit = True
    atg.stop()
    printed = "\n".join(atg.stderr.lines() + atg.stdout.lines())
    assert TOKEN not in printed
    assert "not-the-token" not in printed


def test_repeated_failures_are_braked(atg):
    # Five free failures, then 429 with Retry-After, even for the right token.
    for i in range(5):
        assert admin(atg.port, "POST", "/admin/telemetry", CHANGE,
                     token="guess-%02d-0123456789abcdef" % i).status == 401
    r = admin(atg.port, "POST", "/admin/telemetry", CHANGE, token="guess-xx-0123456789abcdef")
    assert r.status == 429, r
    assert int(r.get("Retry-After")) >= 1
    r = admin(atg.port, "POST", "/admin/telemetry", CHANGE)
    assert r.status == 429, "a blocked address must not have its guesses checked"
    # Another client address is not affected.
    r = admin(atg.port, "POST", "/admin/telemetry", CHANGE, source="127.0.0.2")
    assert r.status == 200, r
    # Open endpoints stay open for the blocked address.
    assert admin(atg.port, "GET", "/admin/healthz", token=None).status == 200


def test_reads_need_token_when_configured(start_tracegate, upstream):
    tg = start_tracegate(config={"upstream": upstream.url, "admin": {"reads": "token"}},
                         env=TOKEN_ENV)
    r = admin(tg.port, "GET", "/admin/telemetry", token=None)
    assert r.status == 401
    assert admin(tg.port, "GET", "/admin/telemetry").status == 200
    assert admin(tg.port, "GET", "/admin/healthz", token=None).status == 200


def test_token_file(start_tracegate, upstream, tmp_path):
    f = tmp_path / "token"
    f.write_text("file-token-0123456789abcdef\n")
    tg = start_tracegate(config={"upstream": upstream.url,
                                 "admin": {"token_file": str(f)}},
                         env={"TELEMETRY_ADMIN_TOKEN": ""})
    assert admin(tg.port, "POST", "/admin/telemetry", CHANGE,
                 token="file-token-0123456789abcdef").status == 200
    assert admin(tg.port, "POST", "/admin/telemetry", CHANGE).status == 401


@pytest.mark.parametrize("token,problem", [
    ("x7q9", "shorter than 16"),
    ("has a space 0123456789", "printable ASCII"),
])
def test_weak_token_refused_at_startup(start_tracegate, upstream, token, problem):
    tg = start_tracegate("--upstream", upstream.url, env={"TELEMETRY_ADMIN_TOKEN": token},
                         ready=False)
    tg.expect_exit = True
    assert tg.wait_exit(10) != 0
    tg.stderr.wait_for(lambda l: problem in l, 5, "the token error")
    err = "\n".join(tg.stderr.lines())
    assert "TELEMETRY_ADMIN_TOKEN" in err and problem in err
    assert token not in err
