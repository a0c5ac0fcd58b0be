"""Session 82: `citrus pretrain --resume-from` on a dataset whose place on disk changed since the run (checkpoints.
check_resumable): the refusal of a folder no longer there, a folder now shadowing the registered set or Hub dataset
the run read, and a run recorded with the old digest whose folders gained hidden entries."""

from __future__ import annotations

import json
import os
import re
import time

import numpy as np
import pytest
from test_leftovers81_audit81 import _corpus, _legacy_run_whose_git_index_changed, _recorded_run


def _checkpoint_dated_after(checkpoint, corpus) -> None:
    """Date `checkpoint`'s settings 10 s after the latest change under `corpus` (past any coarse tick's slack)."""
    from citrus_hf.training.checkpoints import RUN_SETTINGS_FILE

    paths = [corpus, *corpus.rglob("*")]
    latest = max(max(os.lstat(p).st_mtime_ns, os.lstat(p).st_ctime_ns) for p in paths)
    os.utime(checkpoint / RUN_SETTINGS_FILE, ns=(latest + 10**10,) * 2)


def _written_later(*paths) -> None:
    """Date `paths` a minute from now: written after the checkpoint."""
    for path in paths:
        os.utime(path, (time.time() + 60,) * 2)


# ------------------------------------------------------------------------------------ a folder no longer there


def test_a_dataset_folder_gone_is_said_relative_to_the_working_directory_only_for_a_relative_path(
    tmp_path, monkeypatch
):
    """The refusal said "(relative to <cwd>)" and advised resuming from the run's working directory for an absolute
    --dataset (or ~/...) too, which no working directory changes."""
    from citrus_hf.training.checkpoints import check_resumable

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path))
    for given, corpus in ((str(tmp_path / "absolute"), tmp_path / "absolute"), ("~/home", tmp_path / "home")):
        _corpus(corpus)
        checkpoint, arguments = _recorded_run(tmp_path / f"{corpus.name}_run", given)
        corpus.rename(tmp_path / f"{corpus.name}_moved")
        with pytest.raises(ValueError, match=re.escape(f"'{given}', which is no longer there")) as refused:
            check_resumable(checkpoint, arguments, 1)
        assert "relative to" not in str(refused.value) and "working directory" not in str(refused.value)
        assert given.startswith("/") or f"there ({corpus})" in str(refused.value)
    _corpus(work / "corpus")
    checkpoint, arguments = _recorded_run(tmp_path / "relative", "corpus")
    (work / "corpus").rename(tmp_path / "relative_moved")
    with pytest.raises(ValueError, match=rf"'corpus', which is no longer there \(relative to {work}\).*working dir"):
        check_resumable(checkpoint, arguments, 1)


# ------------------------------------------------------------------------------------ a folder shadowing a set


@pytest.mark.parametrize("name", ["eeg_pretrain", "someone/eeg_set"])
def test_a_run_on_a_registered_set_or_hub_id_resumed_beside_a_folder_of_that_name_is_refused(
    tmp_path, monkeypatch, name
):
    """A run on a registered set (or a Hub id) resumed from a working directory where a folder of that name now lies
    read that folder (a path on disk wins over a name), silently: its settings recorded no files. The run's settings
    now say it read none (`dataset_files: null`); without the folder it resumes."""
    from citrus_hf.training.checkpoints import DATASET_FILES, RUN_SETTINGS_FILE, check_resumable

    monkeypatch.chdir(tmp_path)
    checkpoint, arguments = _recorded_run(tmp_path, name)
    assert json.loads((checkpoint / RUN_SETTINGS_FILE).read_text())[DATASET_FILES] is None
    assert check_resumable(checkpoint, arguments, 1) is None
    _corpus(tmp_path / name)
    with pytest.raises(
        ValueError, match=rf"registered set or Hub dataset --dataset '{name}'.* \({re.escape(str(tmp_path / name))}\)"
    ):
        check_resumable(checkpoint, arguments, 1)
    arguments.dataset = str(_corpus(tmp_path / "other"))  # another --dataset is named as another setting
    with pytest.raises(ValueError, match=r"other settings: --dataset '.*other' \(the run: "):
        check_resumable(checkpoint, arguments, 1)


def test_a_run_of_a_citrus_hf_that_recorded_no_files_is_not_refused_for_its_folder(tmp_path):
    """The first citrus-hf to write run_settings.json recorded no `dataset_files`, for a folder either: such a run on
    its folder, still there, resumes (its settings cannot tell a folder from a registered name)."""
    from citrus_hf.training.checkpoints import DATASET_FILES, RUN_SETTINGS_FILE, check_resumable

    checkpoint, arguments = _recorded_run(tmp_path, _corpus(tmp_path / "corpus"))
    settings = json.loads((checkpoint / RUN_SETTINGS_FILE).read_text())
    del settings[DATASET_FILES]
    (checkpoint / RUN_SETTINGS_FILE).write_text(json.dumps(settings))
    assert check_resumable(checkpoint, arguments, 1) is None


def test_another_dataset_is_named_as_such_not_as_changed_files(tmp_path):
    """A resume on another --dataset than the run's is refused for it alone: the other dataset's files (or none) are
    no change to the run's files."""
    from citrus_hf.training.checkpoints import check_resumable

    checkpoint, arguments = _recorded_run(tmp_path, _corpus(tmp_path / "corpus"))
    other = _corpus(tmp_path / "other")
    np.save(other / "0.npy", np.zeros((1, 600), dtype=np.float32))  # other files
    arguments.dataset = str(other)
    with pytest.raises(ValueError, match="other settings: --dataset ") as refused:
        check_resumable(checkpoint, arguments, 1)
    assert "the files under --dataset" not in str(refused.value)


# ------------------------------------------------------------------------------------ hidden entries, old digest


def test_hidden_entries_added_since_a_legacy_digest_are_named_with_the_way_to_resume(tmp_path):
    """A run recorded with the old digest (hidden folders' files counted) on a git checkout, whose recordings' folder
    gained a `.ipynb_checkpoints/` after the checkpoint: the refusal said only that files "were added, removed or
    resized". It names the hidden entry (dated within a coarse clock's tick before the checkpoint: after it, as
    `_read_files_untouched_since` takes it), says the old record counted it, and that deleting it resumes; deleted,
    the run resumes."""
    import shutil

    from citrus_hf.training.checkpoints import RUN_SETTINGS_FILE, check_resumable

    corpus, checkpoint, arguments = _legacy_run_whose_git_index_changed(tmp_path)
    (corpus / ".git" / "index").write_bytes(b"x" * 10)  # as at the run
    _checkpoint_dated_after(checkpoint, corpus)
    assert check_resumable(checkpoint, arguments, 1) is None
    autosaved = corpus / "s1" / ".ipynb_checkpoints"
    autosaved.mkdir()
    np.save(autosaved / "0-checkpoint.npy", np.zeros((1, 300), dtype=np.float32))
    _written_later(corpus / "s1")
    # the hidden folder dated 1 s before the checkpoint: within a coarse clock's tick of it, taken as after it
    checkpointed = os.stat(checkpoint / RUN_SETTINGS_FILE).st_mtime_ns
    os.utime(autosaved, ns=(checkpointed - 10**9,) * 2)
    with pytest.raises(ValueError, match="the files under --dataset") as refused:
        check_resumable(checkpoint, arguments, 1)
    message = str(refused.value)
    assert "s1/.ipynb_checkpoints" in message and "delete them" in message and "counted" in message
    shutil.rmtree(autosaved)
    assert check_resumable(checkpoint, arguments, 1) is None


def test_hidden_entries_are_named_without_advice_to_delete_them_where_more_changed(tmp_path):
    """`.git/index` rewritten (which alone resumes) and a `.DS_Store` written into the recordings' folder since: the
    folder's time cannot tell the `.DS_Store` from a removed recording, so the resume is still refused, naming the
    hidden entries (a few, then a count), with no advice to delete them, which would not make the files match."""
    from citrus_hf.training.checkpoints import check_resumable

    corpus, checkpoint, arguments = _legacy_run_whose_git_index_changed(tmp_path)
    _checkpoint_dated_after(checkpoint, corpus)
    names = [".DS_Store", ".~lock.0.npy#", "._0.npy", ".directory", "__notes.txt"]
    for name in names:
        (corpus / "s1" / name).write_bytes(b"x")
    _written_later(corpus / "s1", *(corpus / "s1" / name for name in names))
    with pytest.raises(ValueError, match="the files under --dataset") as refused:
        check_resumable(checkpoint, arguments, 1)
    message = str(refused.value)
    assert "s1/.DS_Store, s1/._0.npy, s1/.directory and 2 more" in message and "counted" in message
    assert "delete them" not in message
