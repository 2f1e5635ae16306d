"""The command line: --version, --help, --workers and the readiness line.
(--check-config is covered case by case in test_config_files.py.)"""

import re

from conftest import READY_RE, run_tracegate


def run(*args, timeout=10):
    return run_tracegate(*args, timeout=timeout)


def test_version():
    r = run("--version")
    assert r.returncode == 0, r
    out = r.stdout + r.stderr
    assert re.search(r"\d+\.\d+\.\d+", out), out


def test_help():
    r = run("--help")
    assert r.returncode == 0, r
    out = r.stdout + r.stderr
    for opt in ("--listen", "--upstream", "--route", "--config", "--check-config",
                "--workers", "--access-log"):
        assert opt in out, "--help does not mention %s:\n%s" % (opt, out)


def test_unknown_option_fails():
    r = run("--no-such-option")
    assert r.returncode != 0, r


def test_ready_line_names_address_and_workers(start_tracegate, upstream):
    tg = start_tracegate("--upstream", upstream.url, "--workers", "3")
    line = tg.stderr.wait_for(lambda l: READY_RE.search(l), 5, "the listening line")
    m = READY_RE.search(line)
    assert m.group(1) == "127.0.0.1" and int(m.group(2)) == tg.port, line
    assert m.group(3) == "3", line
