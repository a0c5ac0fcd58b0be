"""A folder of data files (parquet, CSV) laid out by split, as `datasets` reads one (`train/`, `test/`): a file of a
later split that is a link to, or a byte-identical copy of, a training file is left out with a warning, as a
recording folder's is (`recording_folders.in_one_split`); before, the test split read the training rows and the
model was scored on what it trained on, without a word (session 82)."""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from citrus_hf.data.splits import load_own_dataset


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
