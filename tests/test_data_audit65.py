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
