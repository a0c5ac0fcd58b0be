"""Session 71 leftovers (off the Hub): windowing of a `large_string` recording column, counting a filtered set, the
label mapping a config of `id2label` alone gives, and an ONNX export's external weights file."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from citrus_hf.data.windowing import window_examples


@pytest.mark.parametrize("string_type", ["string", "large_string"])
def test_windows_of_an_example_without_a_recording_id_share_one_in_any_string_column(string_type):
    """A `recording` column of `large_string` (pandas / polars parquet) with a missing id kept the windows' id None,
    so the validation carve counted each window a recording of its own and split one example's windows between
    training and validation; every string column now gets `"<name> row <i>"`, as `string` did."""
    split = datasets.Dataset.from_dict(
        {
            "input_values": [np.zeros(400, dtype=np.float32)] * 3,
            "label": [0, 1, 0],
            "recording": ["a", None, None],
            "sampling_rate": [100.0] * 3,
        },
        features=datasets.Features(
            {
                "input_values": datasets.List(datasets.Value("float32")),
                "label": datasets.Value("int64"),
                "recording": datasets.Value(string_type),
                "sampling_rate": datasets.Value("float64"),
            }
        ),
    )
    windowed = window_examples(split, 2.0, 2.0, name="train")
    assert list(windowed["recording"]) == ["a", "a", "train row 1", "train row 1", "train row 2", "train row 2"]


def test_the_summary_of_a_filtered_set_counts_its_own_rows():
    """`summarize_dataset` read `Dataset.data`, the whole Arrow table, which `filter` / `select` / `shuffle` (an
    indices mapping) leave as it was: a filtered split of 2 rows counted the 6 rows' recordings and classes (and,
    without a `sampling_rate` column, failed in numpy broadcasting). It now counts the rows the split holds."""
    from citrus_hf.data.builders import summarize_dataset

    rows = datasets.Dataset.from_dict(
        {
            "input_values": [np.zeros((1, 100 * (row + 1)), dtype=np.float32) for row in range(6)],
            "label": [0, 0, 0, 0, 1, 1],
            "recording": list("abcdef"),
            "subject": list("ppqqrs"),
        }
    )
    kept = rows.filter(lambda row: row["label"] == 1).shuffle(seed=0)
    summary = summarize_dataset(datasets.DatasetDict(train=kept), sampling_rate=100.0)["splits"]["train"]
    assert summary["windows"] == 2 and summary["recordings"] == 2 and summary["subjects"] == 2
    assert summary["per_class"] == {"1": 2}
    assert summary["channel_hours"] == pytest.approx((5 + 6) / 3600)


# (an export kept in two files names both, in the line of what it wrote and in the refusal of a damaged cached graph:
# test_leftovers2_audit71's test_an_export_too_large_for_one_file_keeps_its_weights_beside_the_graph, on its export)
