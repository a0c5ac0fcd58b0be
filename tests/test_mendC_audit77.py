"""Leftovers of session 76 on the data and evaluation side (session 77, area mendC): a folder listed once for all
`load_recording_folder` reads of it; signals measured in slices of rows for length-grouped sampling; the probe's
labels read through a set's transform; one read of row 0 for a transformed column; an explicit `show_progress` of a
protocol's fine-tuning settings noticed; the long-gap note of `--nan-policy interpolate` in pre-training."""

import os
from pathlib import Path

import numpy as np
import pytest

from citrus_hf.data.recording_folders import load_recording_folder, recording_files


@pytest.fixture
def root_listings(monkeypatch):
    """`{folder: times os.scandir listed it}` (`files_under`'s one way to list a folder)."""
    counts: dict[str, int] = {}
    scandir = os.scandir

    def counted(path="."):
        key = os.path.realpath(path)
        counts[key] = counts.get(key, 0) + 1
        return scandir(path)

    monkeypatch.setattr(os, "scandir", counted)
    return counts


def _pile(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(3):
        np.save(folder / f"r{index}.npy", rng.normal(size=(1, 400)).astype(np.float32))
    return folder


def test_a_pile_is_listed_once(tmp_path, own_datasets_cache, root_listings):
    pile = _pile(tmp_path / "pile")
    dataset = load_recording_folder(pile, sampling_rate=50.0)
    assert dataset.num_rows == 3
    assert root_listings[os.path.realpath(pile)] == 1


def test_a_labelled_folder_is_listed_once(recording_folders, own_datasets_cache, root_listings):
    splits = load_recording_folder(recording_folders, sampling_rate=50.0)
    assert sorted(splits) == ["test", "train"] and splits["train"].num_rows == 8
    assert root_listings[os.path.realpath(recording_folders)] == 1


def test_recording_files_takes_a_listing_or_lists(tmp_path):
    pile = _pile(tmp_path / "pile")
    (pile / "notes.md").write_text("not a recording")
    from citrus_hf.data.recording_folders import files_under

    assert recording_files(pile) == recording_files(pile, listed=files_under(pile)) == sorted(pile.glob("*.npy"))


@pytest.fixture
def column_row_reads(monkeypatch) -> list[str]:
    """The row-at-a-time reads of a datasets `Column` (as tests/test_colreads_audit76.py counts them)."""
    from datasets.arrow_dataset import Column

    reads: list[str] = []
    iterate, index = Column.__iter__, Column.__getitem__

    def counted_iter(self):
        reads.append(f"iter {self.column_name}")
        return iterate(self)

    def counted_getitem(self, key):
        if isinstance(key, int):
            reads.append(f"row {key} of {self.column_name}")
        return index(self, key)

    monkeypatch.setattr(Column, "__iter__", counted_iter)
    monkeypatch.setattr(Column, "__getitem__", counted_getitem)
    return reads


def test_signal_lengths_are_read_in_slices_of_rows(monkeypatch, column_row_reads):
    from datasets import Dataset

    from citrus_hf.training import trainer

    lengths = [8, 3, 5, 12, 7]
    single = Dataset.from_dict({"input_values": [[[0.5] * length] * 2 for length in lengths]})
    fusion = Dataset.from_dict(
        {"input_values": [{"eeg": [[0.0] * length], "ecg": [[1.0] * (2 * length)]} for length in lengths]}
    )
    monkeypatch.setattr(trainer, "_MEASURED_ROWS_PER_READ", 2, raising=False)  # slices of 2, 2 and 1 rows
    assert trainer._window_lengths(single) == [{None: length} for length in lengths]
    assert trainer._window_lengths(fusion) == [{"eeg": length, "ecg": 2 * length} for length in lengths]
    assert trainer._signal_patches(single) == lengths
    assert column_row_reads == []
