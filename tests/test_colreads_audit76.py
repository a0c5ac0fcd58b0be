"""Columns are read as one slice, not row by row (session 76, area colreads).

`datasets` 4+ returns `dataset[name]` (in any format but Arrow / pandas / polars) as a lazy `Column`, which
`np.asarray` / `list` read a row at a time: 0.4 s for 5,000 labels against 2 ms as one slice, at every recipe, probe
fit, label draw and validation carve. The package's label, recording and patch-mask reads now take one slice; what
they return is unchanged (the same dtype and shape as the row-by-row read)."""

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, Features, List, Value
from datasets.arrow_dataset import Column
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.data.splits import TaskSplits, carve_groups
from citrus_hf.training.probe import checked_probe_dataset
from citrus_hf.training.recipes import _labels
from citrus_hf.training.trainer import _signal_patches, _window_lengths

ROWS = 6


def _class_set() -> Dataset:
    return Dataset.from_dict(
        {
            "input_values": [[[0.0] * 8]] * ROWS,
            "labels": [0, 1, 2, 1, 0, 2],
            "recording": [f"r{row // 2}" for row in range(ROWS)],
            "patch_mask": [[1, 1, 0, 0]] * ROWS,
        },
        features=Features(
            {
                "input_values": List(List(Value("float32"))),
                "labels": ClassLabel(names=["a", "b", "c"]),
                "recording": Value("string"),
                "patch_mask": List(Value("int64")),
            }
        ),
    )


def _multi_target_set() -> Dataset:
    return Dataset.from_dict(
        {"input_values": [[[0.0] * 8]] * ROWS, "labels": [[0.5 * row, 1.0 + row] for row in range(ROWS)]}
    )


@pytest.fixture
def row_reads(monkeypatch) -> list[str]:
    """The row-at-a-time reads of a `Column` (`np.asarray` takes its rows by index, `list` iterates it)."""
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


def test_label_recording_and_mask_reads_take_one_slice(row_reads):
    classes, targets = _class_set(), _multi_target_set()
    _labels(classes.shuffle(seed=0).select(range(4)))
    _labels(targets)
    checked_probe_dataset(CiTrusForSequenceClassification(tiny_config(num_labels=3)), classes, "classification", True)
    splits = TaskSplits(
        train=classes.rename_column("labels", "label"),
        validation=None,
        test=None,
        task="classification",
        label_names=["a", "b", "c"],
        num_channels=1,
        validation_source="none",
    )
    splits.labels("train")
    carve_groups(classes)
    _window_lengths(classes)
    _signal_patches(classes)
    assert row_reads == []


@pytest.mark.parametrize("make", [_class_set, _multi_target_set], ids=["class-label", "multi-target"])
def test_one_slice_reads_what_the_rows_read(make):
    from citrus_hf.data.plans import numpy_column

    dataset = make()
    for rows in (dataset, dataset.shuffle(seed=1).select([4, 0, 2]), dataset.select([])):
        expected = np.asarray(rows.with_format("numpy")["labels"])  # the row-by-row read
        read = numpy_column(rows.with_format("torch"), "labels")
        assert (read.dtype, read.shape) == (expected.dtype, expected.shape)
        np.testing.assert_array_equal(read, expected)
