"""Session 71's third review (audit 71) of the session's own changes: a multi-label set's labels written multi-hot
(`citrus data info`'s class counts), and a settings file's empty `dataset_options:` / `config_overrides:` key."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from citrus_hf.commands import finetune
from citrus_hf.data.builders import summarize_dataset
from citrus_hf.training.arguments import FinetuneArguments


def _set_of(labels) -> datasets.DatasetDict:
    rng = np.random.default_rng(0)
    rows = {
        "input_values": [rng.standard_normal((1, 50)).astype("float32").tolist() for _ in labels],
        "label": labels,
        "sampling_rate": [100.0] * len(labels),
    }
    return datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)})


def test_multi_hot_labels_count_the_rows_of_each_class():
    """Multi-hot float labels, as transformers' multi-label classification takes them (and as the package's own
    refusal of multi-label sets advises), were counted as if each row listed classes: two classes "0.0" and "1.0",
    each in every row. Position k of a multi-hot row is class k: the rows whose k-th value is not 0 are counted."""
    summary = summarize_dataset(_set_of([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0]]))
    assert summary["splits"]["train"]["per_class"] == {"0": 1, "1": 2, "2": 3}
    assert summary["classes"] == ["0", "1", "2"]


def test_lists_of_class_ids_still_count_the_classes_they_name():
    summary = summarize_dataset(_set_of([[0, 2], [1], [2, 2], []]))
    assert summary["splits"]["train"]["per_class"] == {"0": 1, "1": 1, "2": 2}


@pytest.mark.parametrize("name", ["dataset_options", "config_overrides"])
def test_an_empty_mapping_key_of_a_settings_file_is_no_setting(tmp_path, name):
    """A YAML settings file's `dataset_options:` left empty (its entries commented out) is None, which `citrus
    finetune` read as no options; the mapping check refused it ("must be a mapping ..., got None"). None is now an
    empty mapping, from a settings file and from Python alike."""
    path = tmp_path / "finetune.yaml"
    path.write_text(f"dataset: har\noutput_dir: {tmp_path / 'out'}\n{name}:\n  # window_seconds: 5\n")
    arguments = finetune.build_parser().parse([str(path)])
    assert getattr(arguments, name) == {}
    assert getattr(FinetuneArguments(dataset="har", output_dir=str(tmp_path), **{name: None}), name) == {}


def test_text_for_a_mapping_is_still_refused():
    with pytest.raises(ValueError, match="must be a mapping"):
        FinetuneArguments(dataset="har", output_dir="out", dataset_options="window_seconds=5")
