"""`datasets` used by habit with the package:

- a set saved after `set_format(...)` (a tutorial's `set_format("torch", columns=[...])`; `save_to_disk` keeps the
  format) was read under that format: a KeyError deep inside `datasets`, pyarrow scalars that did not compare, or
  pandas rows read as one channel;
- `citrus pretrain` skipped a corpus's held-out split named "valid" (no validation loss, no did-not-learn check),
  which fine-tuning takes as the validation split;
- the feature extractor refused `sampling_rate=ds["sampling_rate"]` of a torch-formatted set (0-d tensors).
"""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest

from citrus_hf import CiTrusFeatureExtractor
from citrus_hf.commands.main import main
from citrus_hf.data.splits import load_task_splits


def _labelled(rows: int, first_recording: int, rng: np.random.Generator) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {
            "input_values": [rng.standard_normal((2, 200)).astype(np.float32) for _ in range(rows)],
            "label": [i % 2 for i in range(rows)],
            "sampling_rate": [100.0] * rows,
            "recording": [f"r{first_recording + i}" for i in range(rows)],
        }
    )


@pytest.mark.parametrize(
    "saved_format",
    [
        {"type": "torch", "columns": ["input_values", "label"]},
        {"type": "arrow"},
        {"type": "pandas"},
        {"type": "numpy"},
    ],
)
def test_a_set_saved_with_a_format_is_read_as_stored(tmp_path, saved_format):
    rng = np.random.default_rng(0)
    plain = datasets.DatasetDict({"train": _labelled(20, 0, rng), "test": _labelled(8, 100, rng)})
    plain.save_to_disk(tmp_path / "plain")
    plain.with_format(**saved_format).save_to_disk(tmp_path / "formatted")
    reference, loaded = load_task_splits(tmp_path / "plain"), load_task_splits(tmp_path / "formatted")
    assert loaded.num_channels == reference.num_channels == 2
    assert loaded.label_names == reference.label_names
    assert (len(loaded.train), len(loaded.validation), len(loaded.test)) == (
        len(reference.train),
        len(reference.validation),
        len(reference.test),
    )
    assert loaded.train["recording"] == reference.train["recording"]


def test_pretraining_takes_a_valid_split_as_its_held_out_split(tmp_path):
    rng = np.random.default_rng(0)

    def corpus_split(rows: int) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {
                "input_values": [rng.standard_normal((1, 1000)).astype(np.float32) for _ in range(rows)],
                "sampling_rate": [100.0] * rows,
            }
        )

    datasets.DatasetDict({"train": corpus_split(16), "valid": corpus_split(4)}).save_to_disk(tmp_path / "corpus")
    out = tmp_path / "run"
    arguments = ["pretrain", "--dataset", str(tmp_path / "corpus"), "--model-config", "tiny", "--max-steps", "2"]
    assert main([*arguments, "--output-dir", str(out), "--no-show-progress"]) == 0
    summary = json.loads((out / "pretraining_summary.json").read_text())
    assert len(summary["eval_losses"]) == 1


def test_the_rates_of_a_torch_formatted_set_are_read_as_numbers():
    extractor = CiTrusFeatureExtractor(sampling_rate=100, context_length=200, patch_length=20, num_channels=2)
    rng = np.random.default_rng(0)
    rows = datasets.Dataset.from_dict(
        {
            "input_values": [rng.standard_normal((2, 300)).astype(np.float32) for _ in range(4)],
            "sampling_rate": [150.0, 150.0, 120.0, 150.0],
        }
    )
    reference = extractor(rows["input_values"], sampling_rate=rows["sampling_rate"])["input_values"]
    torch_rows = rows.with_format("torch")
    aligned = extractor(torch_rows["input_values"], sampling_rate=torch_rows["sampling_rate"])["input_values"]
    np.testing.assert_allclose(aligned, reference, atol=1e-5)
