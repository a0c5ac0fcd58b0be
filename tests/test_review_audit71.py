"""Session 71, a second look at the session's own new refusals: legitimate uses next to each, which they refused.

- The Trainer's refusal of a pre-training set with a `label` column (the collator passed it on as `labels`) refused it
  whatever the collator: a collator of one's own that batches `input_values` alone, which trained before, was told
  that "the data collator passes it as `labels`".
- A CSV whose header `np.savetxt(header=...)` wrote with its default delimiter, a space ("# time ECG"), or of one
  column ("# ECG") was refused as "a comment above the header", to be removed, where the line is the header: only
  "# time,ECG" (delimiter=",") was read as the names.
- A folder of parquet files whose card declares several configs (one of them the default, as `push_to_hub(...,
  config_name=...)` lays them out) was refused because another config's files name other classes, though
  `datasets` reads the default config's files alone.

A tiny model on the CPU, files of a few hundred rows: a few seconds in all.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import ClassLabel, Dataset
from test_trainer3_audit71 import _arguments
from tiny_configs import tiny_config
from transformers import Trainer

from citrus_hf import CiTrusForPretraining
from citrus_hf.data.readers.files import read_recording
from citrus_hf.data.splits import load_own_dataset


def _signals(count: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((1, 200)).astype(np.float32) for _ in range(count)]


def _stack_signals(rows) -> dict[str, torch.Tensor]:
    """A collator of one's own: the windows alone (a subject label beside them is for the user's bookkeeping)."""
    return {"input_values": torch.stack([torch.as_tensor(np.asarray(row["input_values"])) for row in rows])}


def test_pretraining_label_column_with_own_collator_trains(tmp_path):
    dataset = Dataset.from_dict({"input_values": _signals(), "label": [0, 1] * 4})
    trainer = Trainer(
        CiTrusForPretraining(tiny_config()),
        _arguments(tmp_path, max_steps=1),
        train_dataset=dataset,
        data_collator=_stack_signals,
    )
    assert np.isfinite(trainer.train().training_loss)


def test_pretraining_label_column_with_default_collator_still_refused(tmp_path):
    dataset = Dataset.from_dict({"input_values": _signals(), "label": [0, 1] * 4})
    with pytest.raises(ValueError, match="remove_columns"):
        Trainer(CiTrusForPretraining(tiny_config()), _arguments(tmp_path, max_steps=1), train_dataset=dataset)


@pytest.mark.parametrize(
    ("options", "two_columns", "names"),
    [
        ({"header": "time ECG"}, True, ["ECG"]),  # np.savetxt's default delimiter, a space
        ({"header": "ECG"}, False, ["ECG"]),
        ({"header": "ECG", "delimiter": ","}, False, ["ECG"]),
        ({"header": "time,ECG", "delimiter": ","}, True, ["ECG"]),  # (read before too)
    ],
)
def test_savetxt_header_is_read_as_the_names(tmp_path, options, two_columns, names):
    time = np.arange(300) / 100.0
    signal = np.sin(time)
    path = tmp_path / "savetxt.csv"
    np.savetxt(path, np.c_[time, signal] if two_columns else signal[:, None], **options)
    recording = read_recording(path, sampling_rate=100)
    assert list(recording.channel_names) == names
    np.testing.assert_allclose(recording.data[0], signal, rtol=1e-6)


def _labelled(names: list[str]) -> Dataset:
    return Dataset.from_dict({"input_values": [np.zeros((1, 64), np.float32)] * 4, "label": [0, 1, 0, 1]}).cast_column(
        "label", ClassLabel(names=names)
    )


_CARD = """---
configs:
- config_name: ecg
  default: true
  data_files:
  - split: train
    path: ecg/train-*
  - split: test
    path: ecg/test-*
- config_name: eeg
  data_files:
  - split: train
    path: eeg/train-*
  - split: test
    path: eeg/test-*
---
"""


def test_card_configs_of_other_classes_load_the_default_one(tmp_path):
    for config, names in (("ecg", ["normal", "afib"]), ("eeg", ["wake", "sleep"])):
        (tmp_path / config).mkdir()
        for split in ("train", "test"):
            _labelled(names).to_parquet(tmp_path / config / f"{split}-00000-of-00001.parquet")
    (tmp_path / "README.md").write_text(_CARD)
    loaded = load_own_dataset(tmp_path)
    assert loaded["test"].features["label"].names == ["normal", "afib"]


def test_card_config_whose_splits_disagree_still_refused(tmp_path):
    (tmp_path / "ecg").mkdir()
    _labelled(["normal", "afib"]).to_parquet(tmp_path / "ecg" / "train-00000-of-00001.parquet")
    _labelled(["afib", "normal"]).to_parquet(tmp_path / "ecg" / "test-00000-of-00001.parquet")
    (tmp_path / "README.md").write_text(_CARD.split("- config_name: eeg")[0] + "---\n")
    with pytest.raises(ValueError, match="align_labels_with_mapping"):
        load_own_dataset(tmp_path)
