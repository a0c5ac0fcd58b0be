"""Held-out splits that read training examples (session 82). A folder of data files (parquet, CSV) laid out by split,
as `datasets` reads one (`train/`, `test/`): a file of a later split that is a link to, or a byte-identical copy of,
a training file is left out with a warning, as a recording folder's is (`recording_folders.in_one_split`). A set of
one's own whose validation or test windows are, sample for sample, training windows: refused where all are, warned
where some are. Before, the model was scored on what it trained on, without a word."""

from __future__ import annotations

import logging
import os
import shutil

import datasets
import numpy as np
import pandas as pd
import pytest

from citrus_hf.data.splits import load_own_dataset, load_task_splits


def _write_rows(file, seed: int, rows: int = 6) -> None:
    """`rows` windows of 64 samples (JSON lists, as a CSV or parquet file of a user's windows holds them) with
    alternating labels."""
    rng = np.random.default_rng(seed)
    file.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"input_values": [rng.standard_normal(64).tolist() for _ in range(rows)]})
    frame["label"] = [index % 2 for index in range(rows)]
    frame.to_parquet(file)


def test_a_test_split_that_only_links_to_the_training_file_is_refused(tmp_path):
    _write_rows(tmp_path / "train" / "part.parquet", seed=0)
    (tmp_path / "test").mkdir()
    os.symlink("../train/part.parquet", tmp_path / "test" / "part.parquet")
    with pytest.raises(ValueError, match="Every file of the test split .* holds no data file of its own"):
        load_own_dataset(tmp_path)


def test_a_copy_of_a_training_file_in_the_test_split_is_left_out_with_a_warning(tmp_path, caplog):
    _write_rows(tmp_path / "train" / "part.parquet", seed=1)
    _write_rows(tmp_path / "test" / "own.parquet", seed=2, rows=4)
    shutil.copy(tmp_path / "train" / "part.parquet", tmp_path / "test" / "part.parquet")
    with caplog.at_level(logging.WARNING):
        loaded = load_own_dataset(tmp_path)
    assert (loaded["train"].num_rows, loaded["test"].num_rows) == (6, 4)  # (the copy's 6 rows: 10 before)
    assert "1 file(s) under" in caplog.text
    assert "test/part.parquet (of train/part.parquet)" in caplog.text


def test_two_copies_within_one_split_are_both_read(tmp_path, caplog):
    """Two examples of one file inside the training split are no leak: both are read, as in a recording folder."""
    _write_rows(tmp_path / "train" / "a.parquet", seed=3)
    shutil.copy(tmp_path / "train" / "a.parquet", tmp_path / "train" / "b.parquet")
    _write_rows(tmp_path / "test" / "c.parquet", seed=4, rows=2)
    with caplog.at_level(logging.WARNING):
        loaded = load_own_dataset(tmp_path)
    assert (loaded["train"].num_rows, loaded["test"].num_rows) == (12, 2)
    assert "earlier split" not in caplog.text


# ------------------------------------------------ a set of one's own whose held-out split repeats training windows


def _split(seed: int, rows: int = 8, dtype=np.float32) -> datasets.Dataset:
    rng = np.random.default_rng(seed)
    return datasets.Dataset.from_dict(
        {
            "input_values": [rng.standard_normal((2, 100)).astype(dtype) for _ in range(rows)],
            "label": [index % 2 for index in range(rows)],
            "sampling_rate": [100.0] * rows,
        }
    )


def test_a_set_saved_with_one_split_as_train_and_test_is_refused(tmp_path):
    """`DatasetDict(train=ds, test=ds)`, a way past the refusal of a set without a test split, scored the model on its
    training windows without a word."""
    train = _split(0)
    datasets.DatasetDict(train=train, test=train).save_to_disk(tmp_path / "twice")
    with pytest.raises(ValueError, match=r"Each of the 8 example\(s\) of the test split .* is, sample for sample, an"):
        load_task_splits(tmp_path / "twice", require_validation=False)


def test_training_windows_in_a_validation_split_are_counted_in_a_warning(tmp_path, caplog):
    """Three of eight windows of a `dev` split (read as validation) repeat training windows, stored as float64 where
    train holds float32: counted, whatever the column's float type."""
    train, own = _split(1), _split(2, rows=5)
    dev = datasets.concatenate_datasets([own, _split(1, rows=3, dtype=np.float64).cast(own.features)])
    datasets.DatasetDict(train=train, dev=dev, test=_split(3)).save_to_disk(tmp_path / "some")
    with caplog.at_level(logging.WARNING):
        loaded = load_task_splits(tmp_path / "some")
    assert len(loaded.validation) == 8  # (warned, not refused: the rest of the split is its own)
    assert "3 of the 8 example(s) of the 'dev' split (validation)" in caplog.text
    assert "first: validation row 5, train row 0" in caplog.text


def test_flat_windows_alike_in_train_and_test_are_no_copy(tmp_path, caplog):
    """A flat line (a lead off) looks the same wherever it is recorded: two of them are not one window twice."""
    flat = [np.zeros((2, 100), dtype=np.float32), np.full((2, 100), 3.0, dtype=np.float32)]
    train, test = (
        datasets.Dataset.from_dict(
            {
                "input_values": [*flat, *(np.asarray(row, np.float32) for row in _split(seed)["input_values"])],
                "label": [0, 1] + [index % 2 for index in range(8)],
                "sampling_rate": [100.0] * 10,
            }
        )
        for seed in (4, 5)
    )
    datasets.DatasetDict(train=train, test=test).save_to_disk(tmp_path / "flat")
    with caplog.at_level(logging.WARNING):
        load_task_splits(tmp_path / "flat", require_validation=False)
    assert "sample for sample" not in caplog.text
