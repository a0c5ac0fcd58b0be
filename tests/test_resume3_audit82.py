"""Session 82: `citrus pretrain --resume-from` on a dataset whose place on disk changed since the run (checkpoints.
check_resumable): the refusal of a folder no longer there, and of a folder now shadowing the registered set or Hub
dataset the run read."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_leftovers81_audit81 import _corpus, _recorded_run

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
