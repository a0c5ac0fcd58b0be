"""Audit 79, review1 (a review of this session's landed work): the listing's notes of a skipped link are said once per
process again, as before `files_under` moved to `data.listings`; a folder's load refuses a file the user may not read
with `UnreadableFileError`, naming it and the fix, as `citrus predict` leaves it out naming it; a set saved beside
recordings linked in is named to be moved out."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from test_leftovers79_audit79 import _unreadable

from citrus_hf.data import UnreadableFileError
from citrus_hf.data.recording_folders import files_under, load_recording_folder


def test_a_skipped_link_is_named_once_however_often_its_folder_is_listed(tmp_path, caplog):
    """A loop (`s1/loop -> .`) and a link beside its target (`latest -> s2`) are skipped with a warning naming them.
    Said through `recording_folders._warn_once` they were said once per process; moved to `data.listings` they were
    said at every listing of the folder: a load and a second listing (a command's summary, then its splits) told of
    each link four times, which reads as four problems."""
    for subject in ("s1", "s2"):
        (tmp_path / subject).mkdir()
        for index in range(3):
            np.save(tmp_path / subject / f"{index}.npy", np.zeros((1, 300), dtype=np.float32))
    os.symlink(tmp_path, tmp_path / "s1" / "loop")
    os.symlink(tmp_path / "s2", tmp_path / "latest")
    with caplog.at_level(logging.WARNING):
        listed = files_under(tmp_path)
        load_recording_folder(tmp_path, sampling_rate=100)
        assert files_under(tmp_path) == listed and len(listed) == 6
    said = [record.getMessage() for record in caplog.records]
    assert sum("a loop" in line for line in said) == 1
    assert sum("is skipped, so that each recording is read once" in line for line in said) == 1


@pytest.mark.parametrize("same_size", [True, False], ids=["files-of-one-size", "files-of-different-sizes"])
def test_a_folder_load_refuses_an_unreadable_file_naming_it_and_the_fix(
    tmp_path, own_datasets_cache, monkeypatch, same_size
):
    """A training set with a file the user may not read is refused, naming it and the fix (a set silently smaller
    than the folder would be a silent failure). Among files of one size, compared by their bytes to read each
    recording once, it was Python's PermissionError from that comparison; among others the reader's
    `UnreadableFileError`, which is no ValueError, came out as `datasets`' "An error occurred while generating the
    dataset"."""
    folder = tmp_path / "set"
    folder.mkdir()
    for index in range(6):
        np.save(folder / f"{index}.npy", np.ones((1, 300 + (0 if same_size else index)), dtype=np.float32) * index)
    _unreadable(monkeypatch, folder / "3.npy")
    with pytest.raises(UnreadableFileError, match=r"3\.npy cannot be read .*chmod u\+r"):
        load_recording_folder(folder, sampling_rate=100)


def test_a_set_saved_beside_recordings_linked_in_is_named_to_be_moved_out(tmp_path, own_datasets_cache):
    """A set `save_to_disk` wrote beside a folder of recordings that is a symlink (`recordings -> /shared/ecg`): the
    recordings were looked for with `Path.rglob`, which does not follow a symlinked folder before Python 3.13, so the
    folder was refused as "splits each saved on their own" with the fix `DatasetDict({'built': ...}).save_to_disk`,
    which makes the copy a split and leaves the recordings out. They are now looked for through the listing that
    follows links (`files_under`), and the saved set is named to be moved out, as beside recordings of its own."""
    import datasets

    from citrus_hf.data.splits import load_own_dataset

    for index in range(2):
        (tmp_path / "shared").mkdir(exist_ok=True)
        np.save(tmp_path / "shared" / f"{index}.npy", np.zeros((1, 200), dtype=np.float32))
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "recordings").symlink_to(tmp_path / "shared")
    datasets.Dataset.from_dict({"x": [1, 2]}).save_to_disk(str(tmp_path / "set" / "built"))
    with pytest.raises(ValueError, match=r"holds recordings and, in built, a set saved by `save_to_disk`.*move"):
        load_own_dataset(tmp_path / "set", sampling_rate=100.0)
