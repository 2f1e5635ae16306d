"""--check-config over the data-driven cases in test/config/.

Every file in valid/ must be accepted (exit 0). Every file in invalid/ must
be refused (exit 1) with exactly the lines of its .err file, where FILE
stands for the path given on the command line.
"""

import socket
from pathlib import Path

import pytest

from conftest import REPO, free_port, run_tracegate

CASES = REPO / "test" / "config"


def check(path):
    return run_tracegate("--check-config", "--config", path)


@pytest.mark.parametrize("path", sorted((CASES / "valid").glob("*.json")) + sorted((REPO / "config").glob("*.json")), ids=lambda p: p.name)
def test_valid_config_is_accepted(path):
    r = check(path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.strip() == "%s: configuration OK" % path


@pytest.mark.parametrize("path", sorted((CASES / "invalid").glob("*.json")), ids=lambda p: p.name)
def test_invalid_config_gives_exact_errors(path):
    expected = path.with_suffix(".err").read_text().replace("FILE:", "%s:" % path)
    r = check(path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == expected


def test_file_errors_stand_even_when_a_flag_sets_the_same_key(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"upstream": "ftp://bad", "workers": 1}')
    r = run_tracegate("--check-config", "--config", cfg, "--upstream", "http://127.0.0.1:1")
    assert r.returncode == 1
    assert "ftp://bad" in r.stderr


def test_flags_override_file(start_tracegate):
    """The file says one listen port, the flag another: the flag wins."""
    file_port, flag_port = free_port(), free_port()
    tg = start_tracegate("--listen", "127.0.0.1:%d" % flag_port, ready=False,
                         config={"upstream": "http://127.0.0.1:1", "workers": 1,
                                 "access_log": "off", "listen": "127.0.0.1:%d" % file_port})
    tg.stderr.wait_for(lambda l: "listening on" in l, 10, "the listening line")
    assert any("listening on http://127.0.0.1:%d (1 workers)" % flag_port in l
               for l in tg.stderr.lines()), tg.stderr.lines()
    with socket.create_connection(("127.0.0.1", flag_port), timeout=2):
        pass
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", file_port), timeout=2).close()


def test_missing_file_is_a_clear_error(tmp_path):
    r = check(tmp_path / "nope.json")
    assert r.returncode == 1
    assert "nope.json: cannot open: No such file or directory" in r.stderr


def test_bad_flags_exit_2():
    r = run_tracegate("--workers", "zero")
    assert r.returncode == 2
    assert 'tracegate: --workers: expected an integer between 1 and 256, got "zero"' in r.stderr
