"""Session 75, review of trainer5's checks of sets that are no plain `datasets.Dataset`.

The checks read rows of such sets before the Trainer did (a trial of a `with_transform` set's transform at
`Trainer(...)` and at every `evaluate` / `predict`, a `Subset`'s first row, every row of an evaluation set), putting
Python's, numpy's and torch's global random states back after. An augmentation drawing from a generator of its own
(`np.random.default_rng`, a `torch.Generator`) is not put back by them: a seeded run trained on other draws than
before those checks, and a transformed evaluation set was run through its transform twice per evaluation. Now no row
is read that runs code of the user's, but by the Trainer itself (and the length-grouped sampler, as transformers'
own reads them).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

RATE = 100.0


def _aligned() -> Dataset:
    """Four 2 s windows aligned to one duration, labels alternating, and a note the Trainer removes."""
    rng = np.random.default_rng(0)
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    aligned = extractor([rng.standard_normal((1, 200)).astype(np.float32) for _ in range(4)], sampling_rate=RATE)
    return Dataset.from_dict(
        {
            "input_values": list(aligned["input_values"]),
            "patch_mask": list(aligned["patch_mask"]),
            "labels": [0, 1, 0, 1],
            "note": ["n"] * 4,
        }
    )


class _Augmenting:
    """An augmentation drawing from a generator of its own, counting the rows it made."""

    def __init__(self):
        self.generator, self.rows = np.random.default_rng(1), 0

    def __call__(self, batch):
        values = np.asarray(batch["input_values"], dtype=np.float32)
        self.rows += len(values)
        noisy = values + 0.1 * self.generator.standard_normal(values.shape).astype(np.float32)
        return {"input_values": torch.tensor(noisy), "patch_mask": torch.tensor(np.asarray(batch["patch_mask"]))} | {
            "labels": torch.tensor(batch["labels"])
        }


class _AugmentingRows(torch.utils.data.Dataset):
    """A torch dataset of `_aligned`'s rows whose `__getitem__` draws noise from a `torch.Generator` of its own."""

    def __init__(self):
        self.rows, self.generator, self.reads = _aligned().with_format("torch"), torch.Generator().manual_seed(3), 0

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        self.reads += 1
        row = self.rows[index]
        noise = torch.randn(row["input_values"].shape, generator=self.generator)
        return {"input_values": row["input_values"] + noise, "patch_mask": row["patch_mask"], "labels": row["labels"]}


def _trainer(tmp_path, **sets) -> Trainer:
    arguments = TrainingArguments(
        str(tmp_path / "out"), report_to="none", use_cpu=True, disable_tqdm=True, per_device_eval_batch_size=2
    )
    # a head of any channel count: a "concat" one's channel check reads the training set's row 0 (as it always did)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, channel_pooling="mean"))
    return Trainer(model=model, args=arguments, **sets)


def test_building_a_trainer_runs_no_transform_of_a_set(tmp_path):
    augment = _Augmenting()
    rows = _aligned().with_transform(augment)
    _trainer(tmp_path, train_dataset=rows, eval_dataset=rows)
    assert augment.rows == 0  # its generator draws as the training will read the set, from its first batch


def test_building_a_trainer_reads_no_row_of_a_subset_of_a_torch_dataset(tmp_path):
    rows = _AugmentingRows()
    _trainer(tmp_path, train_dataset=torch.utils.data.Subset(rows, [0, 1, 2, 3]))
    assert rows.reads == 0


@pytest.mark.parametrize("include_for_metrics", [[], ["inputs"]])
def test_an_evaluation_runs_a_set_through_its_transform_once(tmp_path, include_for_metrics):
    augment = _Augmenting()
    trainer = _trainer(tmp_path)
    trainer.args.include_for_metrics = include_for_metrics
    assert "eval_loss" in trainer.evaluate(_aligned().with_transform(augment))
    assert augment.rows == 4  # the loop's batches, not a trial and a measuring pass before them


def test_a_subset_of_a_dataset_is_measured_by_column_in_its_own_order(tmp_path, monkeypatch):
    """The Subset's rows in its order (nested Subsets compose), read as the set behind's column, not one by one: 5,000
    windows read through the Subset took 8 s at every evaluation, 0.8 s as a column."""
    from test_trainer5_audit75 import _aligned_one_by_one  # 10, 10, 5 and 5 patches

    reads = []
    read_row = torch.utils.data.Subset.__getitem__
    monkeypatch.setattr(
        torch.utils.data.Subset, "__getitem__", lambda self, index: reads.append(index) or read_row(self, index)
    )
    inner = torch.utils.data.Subset(_aligned_one_by_one(), [3, 2, 1, 0])
    arguments = TrainingArguments(
        str(tmp_path / "out"), report_to="none", use_cpu=True, train_sampling_strategy="group_by_length"
    )
    trainer = Trainer(model=CiTrusForSequenceClassification(tiny_config(num_labels=2)), args=arguments)
    sampler = trainer._get_train_sampler(torch.utils.data.Subset(inner, [1, 0, 3, 2]))
    assert sampler.lengths == [5, 5, 10, 10]
    assert not reads


def test_a_size_error_raised_outside_transformers_join_passes_through(tmp_path):
    """A guard (it passes before this review too): only torch's size error raised inside transformers' nested_concat
    is rewritten; the same words from the model's forward, or another RuntimeError, are left as they are."""
    from citrus_hf.training.trainer import unjoined_batches_error

    def forward():
        torch.cat([torch.zeros(1, 2), torch.zeros(1, 3)])

    try:
        forward()
    except RuntimeError as error:
        assert "Sizes of tensors must match" in str(error)
        assert (
            unjoined_batches_error(TrainingArguments(str(tmp_path), report_to="none"), error, "Trainer.evaluate")
            is None
        )
    assert (
        unjoined_batches_error(TrainingArguments(str(tmp_path), report_to="none"), KeyError("x"), "Trainer.evaluate")
        is None
    )
