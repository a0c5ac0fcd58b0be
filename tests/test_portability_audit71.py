"""What broke off Linux (portability audit): the run lock that every writing command takes (`citrus pretrain`,
`finetune`, `evaluate`, `export`, `data build`) wrote its holder with `os.pwrite`, which Windows lacks, deleted its
file while still holding it open, which Windows refuses, and checked a holder's process with `os.kill(pid, 0)`, which
on Windows sends Ctrl+C to the console instead of asking; and `citrus evaluate` named its scratch folders by pasting
the dataset argument in, so a set given by its absolute path (`/data/set`, `C:\\data\\set`) trained next to the data,
outside `--output-dir`.

Windows is simulated here: no `fcntl` (the package's own switch), no `os.pwrite`, a file that cannot be deleted while
it is open, and a stand-in for `_winapi` (the standard library's Windows calls).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import types
from pathlib import Path

import pytest

from citrus_hf.training import run_lock
from citrus_hf.training.run_lock import LOCK_NAME, output_folder_lock

# ---------------------------------------------------------------------------------------------- 1. the run lock


@pytest.fixture
def as_on_windows(monkeypatch):
    """The run lock's surroundings as on Windows. Returns the `_winapi` stand-in's processes: `{pid: alive}`."""
    monkeypatch.setattr(run_lock, "fcntl", None)
    monkeypatch.setattr(run_lock, "_WINDOWS", True, raising=False)
    monkeypatch.delattr(os, "pwrite", raising=False)

    def no_signals(pid, signal):
        raise AssertionError(f"os.kill({pid}, {signal}) on Windows: signal 0 is CTRL_C_EVENT, a Ctrl+C to the console")

    monkeypatch.setattr(os, "kill", no_signals)
    # an open file cannot be deleted on Windows (os.open shares it for reading and writing, not deleting)
    open_files: dict[int, str] = {}
    real_open, real_close, real_unlink = os.open, os.close, Path.unlink

    def tracked_open(path, flags, mode=0o777, **kwargs):
        descriptor = real_open(path, flags, mode, **kwargs)
        open_files[descriptor] = os.path.realpath(path)
        return descriptor

    def tracked_close(descriptor):
        open_files.pop(descriptor, None)
        real_close(descriptor)

    def windows_unlink(path, missing_ok=False):
        if os.path.realpath(path) in open_files.values():
            raise PermissionError(13, "The process cannot access the file because it is being used", str(path))
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(os, "open", tracked_open)
    monkeypatch.setattr(os, "close", tracked_close)
    monkeypatch.setattr(Path, "unlink", windows_unlink)
    processes: dict[int, bool] = {}

    def open_process(access, inherit, pid):
        if pid not in processes:
            raise OSError(22, "The parameter is incorrect", None, 87)  # ERROR_INVALID_PARAMETER: no such process
        return pid

    winapi = types.SimpleNamespace(
        OpenProcess=open_process,
        WaitForSingleObject=lambda handle, milliseconds: 0x102 if processes[handle] else 0,
        CloseHandle=lambda handle: None,
        WAIT_TIMEOUT=0x102,
    )
    monkeypatch.setitem(sys.modules, "_winapi", winapi)
    return processes


def _lock_of(folder: Path, pid: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"pid": pid, "host": socket.gethostname(), "mark": "x", "command": "citrus finetune", "started": 0}
    (folder / LOCK_NAME).write_text(json.dumps(record), encoding="utf-8")


def test_a_run_takes_and_frees_its_folder_on_windows(as_on_windows, tmp_path):
    """`os.pwrite` (Unix only) failed every writing command with "module 'os' has no attribute 'pwrite'", and the
    lock, deleted while still open, failed the end of every run with PermissionError and stayed behind."""
    folder = tmp_path / "out"
    with output_folder_lock(folder, "citrus test"):
        holder = json.loads((folder / LOCK_NAME).read_text(encoding="utf-8"))
        assert holder["pid"] == os.getpid()
        (folder / "model.safetensors").write_bytes(b"x")
    assert not (folder / LOCK_NAME).exists()
    with output_folder_lock(folder, "citrus test"):  # the next run takes it again
        pass
    assert sorted(path.name for path in folder.iterdir()) == ["model.safetensors"]


def test_a_lock_is_checked_on_windows_without_signalling_its_process(as_on_windows, tmp_path):
    """A lock left by a run asked its process with `os.kill(pid, 0)`: Ctrl+C to the console on Windows."""
    stale, live = tmp_path / "stale", tmp_path / "live"
    _lock_of(stale, 4242)  # a process that ended: taken over
    with output_folder_lock(stale, "citrus test"):
        assert json.loads((stale / LOCK_NAME).read_text(encoding="utf-8"))["pid"] == os.getpid()
    as_on_windows[4343] = True
    _lock_of(live, 4343)
    with pytest.raises(ValueError, match=r"is being written by another run \(citrus finetune, process 4343"):
        with output_folder_lock(live, "citrus test"):
            pass
    as_on_windows[4343] = False  # exited, its handle still open somewhere: stale
    with output_folder_lock(live, "citrus test"):
        pass


def test_a_run_ends_cleanly_on_windows_while_another_run_reads_its_lock(as_on_windows, tmp_path):
    """Closed then deleted: a second run holding the lock file open that instant (reading it to refuse) made Windows
    refuse the delete, and the finished run ended in a PermissionError traceback. The lock stays, stale once the
    process has ended."""
    folder = tmp_path / "out"
    with output_folder_lock(folder, "citrus test"):
        reader = os.open(folder / LOCK_NAME, os.O_RDONLY)  # the other run, reading the holder
    try:
        assert (folder / LOCK_NAME).exists()
    finally:
        os.close(reader)


# ------------------------------------------------------------------------------ 2. citrus evaluate's scratch


def test_evaluate_keeps_the_scratch_of_a_set_given_by_its_path_in_the_output_folder(tmp_path, monkeypatch):
    """`--datasets /data/set` ran each arm in `<output-dir>/runs/` + "/data/set-prior-2_class-0", which is the absolute
    `/data/set-prior-2_class-0`: beside the user's data (where a citrus arm's Trainer writes), outside `--output-dir`; with
    `C:\\data\\set` the same on Windows. The folder's name now holds no path separator nor a character Windows
    forbids."""
    import datasets
    import numpy as np

    from citrus_hf.commands.main import main
    from citrus_hf.evaluation.arms import ARMS

    rng = np.random.default_rng(0)
    rows = lambda count: {  # noqa: E731
        "input_values": rng.standard_normal((count, 1, 200)).astype(np.float32),
        "label": [index % 2 for index in range(count)],
        "sampling_rate": [100.0] * count,
    }
    folder = tmp_path / "data" / "set"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(rows(12)), "test": datasets.Dataset.from_dict(rows(6))}
    ).save_to_disk(str(folder))
    prior = type(ARMS["prior"])
    run, folders = prior.run, []

    def recorded(self, context, prepared, chosen, seed, run_dir):
        folders.append(Path(run_dir))
        return run(self, context, prepared, chosen, seed, run_dir)

    monkeypatch.setattr(prior, "run", recorded)
    output = tmp_path / "out"
    argv = ["evaluate", "--datasets", str(folder), "--arms", "prior", "--budgets", "2", "--seeds", "0"]
    assert main([*argv, "--output-dir", str(output), "--no-show-progress"]) == 0
    (run_dir,) = folders
    assert run_dir.parent == output / "runs"
    assert not set(run_dir.name) & set('/\\:*?"<>|'), run_dir.name
    assert run_dir.name.endswith("set-prior-2_class-0")


# ----------------------------------------------------------------------- 3. text read in the locale's encoding


def test_an_opensignals_text_file_is_read_as_utf8_whatever_the_locale(tmp_path):
    """OpenSignals writes UTF-8; its rows were read in the locale's encoding (numpy's `loadtxt` default): on Windows
    (cp1252, cp932) a device name in Cyrillic or Japanese in the header failed as "not cp1252 text ... re-save it as
    UTF-8". The locale is made ASCII here (`LC_ALL=C` without Python's UTF-8 mode), as close as Linux gets."""
    import subprocess

    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from citrus_hf.data.readers import read_opensignals_txt\n"
        "header = {'00:07:80:0F:30:5A': {'sensor': ['ECGBIT'], 'label': ['A1'], 'sampling rate': 100,\n"
        "    'column': ['nSeq', 'I1', 'I2', 'O1', 'O2', 'A1'], 'resolution': [4, 1, 1, 1, 1, 10],\n"
        "    'device name': '\\u041f\\u0443\\u043b\\u044c\\u0441 \\u00b5-lab'}}\n"  # (escaped: the command line is ASCII)
        "rows = ''.join(f'{i % 16}\\t0\\t0\\t0\\t0\\t{500 + i}\\n' for i in range(50))\n"
        "path = Path(sys.argv[1])\n"
        "text = '# OpenSignals Text File Format\\n# ' + json.dumps(header, ensure_ascii=False) + '\\n# EndOfHeader\\n'\n"
        "path.write_text(text + rows, encoding='utf-8')\n"
        "print(read_opensignals_txt(path).channels['A1'][:3].tolist())\n"
    )
    environment = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "utf-8"}
    run = subprocess.run(
        [sys.executable, "-X", "utf8=0", "-c", script, str(tmp_path / "opensignals.txt")],
        env=environment,
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert run.stdout.decode().strip() == "[500.0, 501.0, 502.0]"
