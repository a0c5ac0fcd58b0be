"""Review of session 76's column reads (session 76, area review5).

`data.plans.column_values` reads a column as one slice where `dataset[name]` (a lazy `Column` in `datasets` 4+) read
it row by row. The row-by-row read applied a transform the user set (`set_transform` / `with_transform`): the slice
skipped it, so the labels, recordings and groups the package counted (label budgets, class checks, the validation
carve) were no longer the ones the Trainer's batches hold."""

import numpy as np
from datasets import Dataset

from citrus_hf.data.plans import column_values, numpy_column
from citrus_hf.data.splits import TaskSplits, carve_groups

ROWS = 6


def _labelled_rows() -> Dataset:
    return Dataset.from_dict(
        {
            "input_values": [[[0.0] * 8]] * ROWS,
            "label": [0, 1, 0, 1, 0, 1],
            "recording": [f"r{row // 2}" for row in range(ROWS)],
        }
    )


def _remap_labels(batch: dict) -> dict:
    """A user's transform that merges label 1 into 0 and renames recordings (it reads and returns whole rows)."""
    return {
        **batch,
        "label": [0 for _ in batch["label"]],
        "recording": [f"subject-{name}" for name in batch["recording"]],
    }


def test_a_users_transform_is_applied_to_the_columns_read_as_before():
    rows = _labelled_rows().with_transform(_remap_labels)
    expected_labels, expected_recordings = list(rows["label"]), list(rows["recording"])  # the row-by-row read
    assert column_values(rows, "label") == expected_labels == [0] * ROWS
    assert column_values(rows, "recording") == expected_recordings
    splits = TaskSplits(
        train=rows,
        validation=None,
        test=None,
        task="classification",
        label_names=["a", "b"],
        num_channels=1,
        validation_source="none",
    )
    np.testing.assert_array_equal(splits.labels("train"), np.zeros(ROWS, dtype=np.int64))
    assert carve_groups(rows)[0] == expected_recordings


def test_a_transform_on_other_columns_leaves_the_read_as_one_slice():
    """Guard: a transform set on the signals only leaves the labels stored, as `dataset[name]` gave them."""
    rows = _labelled_rows()
    rows.set_transform(
        lambda batch: {"input_values": batch["input_values"]}, columns=["input_values"], output_all_columns=True
    )
    assert column_values(rows, "label") == list(rows["label"]) == [0, 1, 0, 1, 0, 1]


def test_a_transform_that_leaves_the_column_out_reads_its_stored_values():
    """Guard: a transform that returns the signals alone (an extractor run on the fly) does not stop the label read
    at a KeyError inside `datasets`: the stored labels are read (the Trainer's window check read them so before)."""
    rows = _labelled_rows().with_transform(lambda batch: {"input_values": batch["input_values"]})
    assert column_values(rows, "label") == [0, 1, 0, 1, 0, 1]
    assert column_values(rows.select([]), "label") == []


def test_the_numpy_read_skips_a_transform_as_the_numpy_format_did():
    """Guard: `numpy_column` stands for `np.asarray(dataset.with_format("numpy")[name])`, which drops a transform
    (a format replaces it); the slice does the same."""
    rows = (
        _labelled_rows()
        .rename_column("label", "labels")
        .with_transform(lambda batch: {**batch, "labels": [9 for _ in batch["labels"]]})
    )
    expected = np.asarray(rows.with_format("numpy")["labels"])
    read = numpy_column(rows, "labels")
    assert (read.dtype, read.shape) == (expected.dtype, expected.shape)
    np.testing.assert_array_equal(read, [0, 1, 0, 1, 0, 1])
