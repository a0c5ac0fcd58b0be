"""`citrus data info` / `summarize_dataset` on sets whose source does not name its subjects."""

from __future__ import annotations

import datasets
import numpy as np


def test_a_split_of_unknown_subjects_has_no_subject_count():
    # every window of eeg_blink is from subject "unknown": the table said "0 subjects" for 500 windows
    from citrus_hf.commands.data import format_info
    from citrus_hf.data.builders import summarize_dataset

    rows = np.zeros((3, 1, 10), dtype=np.float32)
    unknown = datasets.Dataset.from_dict({"input_values": rows, "subject": ["unknown"] * 3, "sampling_rate": [10] * 3})
    mixed = datasets.Dataset.from_dict(
        {"input_values": rows, "subject": ["a", "unknown", "b"], "sampling_rate": [10] * 3}
    )
    summary = summarize_dataset({"train": unknown, "test": mixed})
    assert summary["splits"]["train"]["subjects"] is None
    assert summary["splits"]["test"]["subjects"] == 2
    table = format_info({"name": "own", "task": "classification", "options": {}, "classes": None, **summary})
    train_line = next(line for line in table.splitlines() if line.strip().startswith("train"))
    assert train_line.split()[3] == "-"


def test_the_probes_advice_for_class_ids_outside_the_heads_range_works():
    # the advice was a cast to ClassLabel, which keeps numbers as the ids; the advised line now numbers them 0..K-1
    import re

    import pytest
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.probe import checked_probe_dataset

    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    rows = {"input_values": np.zeros((6, 1, 200), dtype=np.float32), "labels": [2, 5, 9, 2, 5, 9]}
    dataset = datasets.Dataset.from_dict(rows)
    with pytest.raises(ValueError, match="Labels must be class ids 0..2") as refused:
        checked_probe_dataset(model, dataset, "classification", fitting=True)
    (advised,) = re.findall(r"`(dataset\.cast_column.*?)`", str(refused.value))
    fixed = eval(advised, {"dataset": dataset, "Value": datasets.Value})
    assert fixed["labels"] == [0, 1, 2, 0, 1, 2]
    checked_probe_dataset(model, fixed, "classification", fitting=True)
