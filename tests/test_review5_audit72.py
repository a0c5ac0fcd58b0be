"""Review of session 72's CSV and multi-label changes (review5): numpy reads a number with Unicode whitespace around
it ('2.0\\xa0', a non-breaking space pasted from a web table or a spreadsheet), which `arff_csv.numpy_float` refused,
so the same file was read without a missing cell and refused with one; and the Trainer's refusal of lists of class ids
judged a `datasets.Dataset`'s whole table, not the rows it holds, so multi-hot rows kept by `filter` (a set of ragged
lists filtered down to the rows of one length) were refused as lists of class ids."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset, Features, List, Value
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.data import readers


@pytest.mark.parametrize("cell", ["2.0\xa0", "\u20092.0", "\u30002.0"])
@pytest.mark.parametrize("gap", ["NA", "", "3"], ids=["with NA", "with an empty cell", "without"])
def test_a_number_with_unicode_spaces_around_it_reads_with_or_without_a_missing_cell(tmp_path, cell, gap):
    path = tmp_path / "cells.csv"
    path.write_text(f"a,b\n1,{gap}\n{cell},2\n3,4\n", encoding="utf-8")  # (the gap met first)
    data = readers.read_recording(path, sampling_rate=10).data
    np.testing.assert_array_equal(data[0], [1, 2, 3])


def test_multi_hot_rows_kept_by_filter_are_not_refused_as_class_ids(tmp_path):
    signals = np.random.default_rng(0).standard_normal((5, 1, 200)).astype(np.float32)
    features = Features({"input_values": List(List(Value("float32"))), "labels": List(Value("int64"))})
    rows = [[1, 0, 1], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0]]  # the last one ragged, filtered out below
    dataset = Dataset.from_dict({"input_values": signals.tolist(), "labels": rows}, features=features)
    kept = dataset.filter(lambda row: len(row["labels"]) == 3)
    config = tiny_config(num_labels=3, problem_type="multi_label_classification")
    arguments = TrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=4, report_to="none",
        save_strategy="no", use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    Trainer(model=CiTrusForSequenceClassification(config), args=arguments, train_dataset=kept).train()
    with pytest.raises(ValueError, match="lists of class ids"):  # (the whole set still is refused)
        Trainer(model=CiTrusForSequenceClassification(config), args=arguments, train_dataset=dataset)
