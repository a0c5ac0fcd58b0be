"""`run_client` forks most Hub clients from a server that has torch imported (tests/client_forkserver.py): a client
must not be able to tell, in what it is given (argv, folder, environment, stdin, `__main__`) or in what the test gets
back (stdout, stderr, exit code, the traceback of an uncaught error, a timeout), that it was not a fresh Python."""

from __future__ import annotations

import re
import subprocess

import hub_server
import pytest
from hub_server import FRESH_CLIENTS_VARIABLE, client_env, run_client

SCRIPT = r"""
import os, sys
print(sys.argv[1:], __name__, os.path.basename(__file__), os.getcwd(), os.environ.get("HF_HOME"), repr(sys.stdin.read()))
print(sys.path[0] == os.path.dirname(os.path.realpath(__file__)), sorted(globals()), "huggingface_hub" in sys.modules)
sys.stdout.write("a\r\nb\r")
print("to stderr", file=sys.stderr)
import atexit
atexit.register(print, "atexit ran")
if sys.argv[1] == "raise":
    raise ValueError("boom")
sys.exit(int(sys.argv[1]))
"""


def _outcome(tmp_path, mode: str, **kwargs) -> str:
    """What the test sees of a client run: its output, or the error `run_client` raised, client file names as N."""
    env = client_env("http://127.0.0.1:9", tmp_path / "hf")
    try:
        result = run_client(SCRIPT, env, cwd=tmp_path, args=[mode, "two words"], **kwargs)
        seen = f"{result.returncode}\n{result.stdout}\n{result.stderr}"
    except AssertionError as error:
        seen = str(error)
    return re.sub(r"client_\d+", "client_N", seen)


@pytest.mark.parametrize("mode", ["0", "3", "raise"])
def test_a_forked_client_is_given_and_gives_back_what_a_fresh_python_does(tmp_path, monkeypatch, mode):
    monkeypatch.delenv(FRESH_CLIENTS_VARIABLE, raising=False)
    assert hub_server._fork_server(client_env("http://127.0.0.1:9", tmp_path / "hf")) is not None
    forked = _outcome(tmp_path, mode)
    monkeypatch.setenv(FRESH_CLIENTS_VARIABLE, "1")
    fresh = _outcome(tmp_path, mode)
    assert forked == fresh
    assert "atexit ran" in fresh and "a\nb\n" in fresh and str(tmp_path / "hf") in fresh
    if mode == "raise":
        assert "ValueError: boom" in fresh and "client_forkserver" not in forked


def test_a_forked_client_past_its_timeout_is_killed(tmp_path, monkeypatch):
    monkeypatch.delenv(FRESH_CLIENTS_VARIABLE, raising=False)
    env = client_env("http://127.0.0.1:9", tmp_path / "hf")
    assert hub_server._fork_server(env) is not None
    with pytest.raises(subprocess.TimeoutExpired):
        run_client("import time\nprint('started', flush=True)\ntime.sleep(60)", env, cwd=tmp_path, timeout=3)
    assert run_client("print('next')", env, cwd=tmp_path).stdout == "next\n"  # the server serves the next one
