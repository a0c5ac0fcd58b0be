"""`run_client` forks most Hub clients from a server that has torch imported (tests/client_forkserver.py): a client
must not be able to tell, in what it is given (argv, folder, environment, stdin, `__main__`) or in what the test gets
back (stdout, stderr, exit code, the traceback of an uncaught error, a timeout), that it was not a fresh Python; and a
client without the package (forked from a second, `python -I` server) must not be able to import `citrus_hf`."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import threading
import time

import hub_server
import pytest
from hub_server import (
    FRESH_CLIENTS_VARIABLE,
    ScriptResults,
    client_env,
    client_output,
    client_result,
    in_one_client,
    printed_by_each,
    run_client,
)

SCRIPT = r"""
import os, sys
print(sys.argv[1:], __name__, os.path.basename(__file__), os.getcwd(), os.environ.get("HF_HOME"), repr(sys.stdin.read()))
print(sys.path[0] == os.path.dirname(os.path.realpath(__file__)), sorted(globals()), "huggingface_hub" in sys.modules)
print(sys.flags.isolated, sys.flags.safe_path, sys.orig_argv[1], sys.stdout.line_buffering)
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


@pytest.mark.parametrize("without_package", [False, True], ids=["with-package", "without-package"])
@pytest.mark.parametrize("mode", ["0", "3", "raise"])
def test_a_forked_client_is_given_and_gives_back_what_a_fresh_python_does(tmp_path, monkeypatch, mode, without_package):
    monkeypatch.delenv(FRESH_CLIENTS_VARIABLE, raising=False)
    env = client_env("http://127.0.0.1:9", tmp_path / "hf")
    assert hub_server._fork_server(env, isolated=without_package) is not None
    forked = _outcome(tmp_path, mode, without_package=without_package)
    monkeypatch.setenv(FRESH_CLIENTS_VARIABLE, "1")
    fresh = _outcome(tmp_path, mode, without_package=without_package)
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


BLOCKED = r"""
import importlib, json, os, sys
def refusal(name):
    try:
        importlib.import_module(name)
    except ImportError as error:
        return type(error).__name__
    return "imported"
import huggingface_hub.constants
print("RESULT:" + json.dumps({
    "citrus_hf": refusal("citrus_hf"),
    "citrus_hf.inference": refusal("citrus_hf.inference"),
    "package folders on sys.path": [
        p for p in sys.path
        if os.path.exists(os.path.join(p, "citrus_hf")) and not os.path.exists(os.path.join(p, "transformers"))
    ],
    "isolated": sys.flags.isolated,
    "endpoint": huggingface_hub.constants.ENDPOINT,
}))
"""


def test_a_client_forked_without_the_package_cannot_import_it_and_reads_its_own_hub_variables(tmp_path, monkeypatch):
    """The `-I` server has torch imported and the package on its sys.path (an editable install): its children must
    still refuse `import citrus_hf` as a fresh `python -I` with the prelude does, and import the Hub libraries anew
    with their own environment (two clients, two endpoints)."""
    monkeypatch.delenv(FRESH_CLIENTS_VARIABLE, raising=False)
    for port in (9, 10):
        env = client_env(f"http://127.0.0.1:{port}", tmp_path / "hf")
        assert hub_server._fork_server(env, isolated=True) is not None
        seen = client_result(run_client(BLOCKED, env, cwd=tmp_path, without_package=True).stdout)
        assert seen == {
            "citrus_hf": "ModuleNotFoundError",
            "citrus_hf.inference": "ModuleNotFoundError",
            "package folders on sys.path": [],
            "isolated": 1,
            "endpoint": f"http://127.0.0.1:{port}",
        }
    with_package = client_result(run_client(BLOCKED, env, cwd=tmp_path).stdout)  # the block is the prelude's alone
    assert with_package["citrus_hf"] == "imported" and with_package["isolated"] == 0


class _Interrupted(Exception):
    """What pytest-timeout's signal (or any error raised while a test waits on a client) stands for here."""


def test_a_forked_client_abandoned_by_an_error_is_killed_and_the_next_one_runs(tmp_path, monkeypatch):
    """`subprocess.run` kills its child on any error while it waits (pytest-timeout's interrupt, Ctrl-C); a forked
    client abandoned so was left running, its server kept waiting on it, and the next client of this process hung
    on the server's reply with no timeout at all."""
    monkeypatch.delenv(FRESH_CLIENTS_VARIABLE, raising=False)
    env = client_env("http://127.0.0.1:9", tmp_path / "hf")
    assert hub_server._fork_server(env) is not None
    pid_file = tmp_path / "client.pid"
    hanging = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n"

    waiting = threading.Event()  # cleared once run_client is left: no signal after the handler is put back
    waiting.set()

    def interrupt_once_started() -> None:  # (the handler runs in the main thread, in run_client's wait)
        while waiting.is_set() and not (pid_file.exists() and pid_file.read_text()):
            time.sleep(0.05)
        if waiting.is_set():
            os.kill(os.getpid(), signal.SIGUSR1)

    def raise_interrupted(*_) -> None:
        raise _Interrupted

    previous = signal.signal(signal.SIGUSR1, raise_interrupted)
    try:
        threading.Thread(target=interrupt_once_started, daemon=True).start()
        with pytest.raises(_Interrupted):
            run_client(hanging, env, cwd=tmp_path, timeout=120)
    finally:
        waiting.clear()
        signal.signal(signal.SIGUSR1, previous)
    pid = int(pid_file.read_text())
    try:
        for _ in range(400):  # the server reaps the killed client
            if not _alive(pid):
                break
            time.sleep(0.05)
        assert not _alive(pid), "the abandoned client is still running"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert run_client("print('next')", env, cwd=tmp_path, timeout=30).stdout == "next\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_failing_script_of_one_client_fails_its_own_test_with_its_output_and_the_others_still_run():
    """`in_one_client`: a script that raised once ended the client, its printed lines lost (kept in a StringIO) and
    its traceback without source lines (compiled text), and every test of the module errored on the fixture; and
    sys.exit(0) ended the client silently, skipping the later scripts. (The joined script runs here: what it does
    with each script does not depend on the process it runs in.)"""
    scripts = {
        "fails": "print('printed before')\nraise ValueError('boom')\n",
        "exits_cleanly": "import sys\nsys.exit(0)\nprint('not reached')\n",
        "exits_with_3": "import sys\nsys.exit(3)\n",
        "later": "print('RESULT:' + '[1]')\n",
    }
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(in_one_client(scripts), {"__name__": "__main__", "__builtins__": __builtins__})
    printed = printed_by_each(out.getvalue())
    with pytest.raises(AssertionError) as failed:
        client_result(printed["fails"])
    for shown in ("printed before", "ValueError: boom", "raise ValueError('boom')", "<client script fails>"):
        assert shown in str(failed.value), shown
    assert client_output(printed["exits_cleanly"]) == ""
    with pytest.raises(AssertionError, match="exits_with_3 exited with code 3"):
        client_output(printed["exits_with_3"])
    assert client_result(printed["later"]) == [1]


def test_a_module_fixtures_results_are_read_by_each_test_so_a_failed_script_fails_only_the_tests_reading_it():
    """Module fixtures read every script's `client_result` as soon as their one client returned, so one failed
    script errored every test of the module (each showing the fixture's error). `ScriptResults` reads a script's
    result when a test asks for it: the others' results, and the fixture's other values, are read as before."""
    scripts = {"fails": "raise ValueError('boom')\n", "works": "print('RESULT:' + '[2]')\n"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(in_one_client(scripts), {"__name__": "__main__", "__builtins__": __builtins__})
    results = ScriptResults(printed_by_each(out.getvalue()), workdir="folder")  # raises nothing
    assert results["works"] == [2] and results["workdir"] == "folder"
    assert set(results) == {"fails", "works", "workdir"}
    for read in (lambda: results["fails"], lambda: results.output("fails")):
        with pytest.raises(AssertionError, match="ValueError: boom"):
            read()
