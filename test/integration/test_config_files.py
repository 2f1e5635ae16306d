"""--check-config over the data-driven cases in test/config/.

Every file in valid/ must be accepted (exit 0). Every file in invalid/ must
be refused (exit 1) with exactly the lines of its .err file, where FILE
stands for the path given on the command line.
"""

import subprocess
from pathlib import Path

import pytest

from conftest import REPO, TRACEGATE_BIN

CASES = REPO / "test" / "config"


def check(path):
    return subprocess.run([TRACEGATE_BIN, "--check-config", "--config", str(path)],
                          capture_output=True, text=True, timeout=10)


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
    r = subprocess.run([TRACEGATE_BIN, "--check-config", "--config", str(cfg),
                        "--upstream", "http://127.0.0.1:1"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "ftp://bad" in r.stderr


def test_flags_override_file(tmp_path):
    """The file says one listen port, the flag another: the flag wins."""
    from conftest import free_port, wait_until
    import socket
    file_port, flag_port = free_port(), free_port()
    cfg = tmp_path / "c.json"
    cfg.write_text('{"upstream": "http://127.0.0.1:1", "workers": 1, "access_log": "off",'
                   ' "listen": "127.0.0.1:%d"}' % file_port)
    p = subprocess.Popen([TRACEGATE_BIN, "--config", str(cfg),
                          "--listen", "127.0.0.1:%d" % flag_port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        assert "listening on http://127.0.0.1:%d (1 workers)" % flag_port in line
        with socket.create_connection(("127.0.0.1", flag_port), timeout=2):
            pass
        try:
            socket.create_connection(("127.0.0.1", file_port), timeout=2).close()
            assert False, "file's listen port should not be in use"
        except ConnectionRefusedError:
            pass
    finally:
        p.terminate()
        assert p.wait(timeout=10) == 0


def test_missing_file_is_a_clear_error(tmp_path):
    r = check(tmp_path / "nope.json")
    assert r.returncode == 1
    assert "nope.json: cannot open: No such file or directory" in r.stderr


def test_bad_flags_exit_2():
    r = subprocess.run([TRACEGATE_BIN, "--workers", "zero"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2
    assert 'tracegate: --workers: expected an integer between 1 and 256, got "zero"' in r.stderr
