"""Trainer leftovers (audit 71, trainer4):

- `NonFiniteLossCallback` stops a run whose training loss is NaN on every route the Trainer computes it: the
  label smoother's and a `compute_loss_func`'s as well as the model's own (it saw only the model's, and the Trainer
  took the labels out of the batch for the other two: the run trained on with NaN weights);
- `train_sampling_strategy="batch_rebalance"` orders its batches by `data_seed`, else `seed` (it drew every run's
  order from seed 42): two seeds differ, one seed repeats.

Every model is the tiny preset; nothing reaches a network.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import diverging_trainer, tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.callbacks import NonFiniteLossCallback, NonFiniteLossError

# ------------------------------------------------------------------------ 1. a NaN loss on every route of the Trainer


def _cross_entropy(outputs, labels, num_items_in_batch=None):
    return torch.nn.functional.cross_entropy(outputs["logits"], labels.long())


@pytest.mark.parametrize("route", ["label_smoothing", "compute_loss_func"])
def test_a_nan_loss_the_trainer_computes_itself_stops_the_run(tmp_path, route):
    """The diverging Trainer's loss of step 2 is NaN; with label smoothing or a `compute_loss_func` the model returns
    no loss, and the run trained on to step 6 with NaN weights."""
    trainer, model = diverging_trainer(tmp_path / "run", [NonFiniteLossCallback()])
    trainer.args.save_strategy = "no"
    if route == "label_smoothing":
        from transformers.trainer_pt_utils import LabelSmoother

        trainer.label_smoother = LabelSmoother(epsilon=0.1)
    else:
        trainer.compute_loss_func = _cross_entropy
    with pytest.raises(NonFiniteLossError, match="The training loss became nan at optimizer step 2"):
        trainer.train()
    assert trainer.state.global_step == 1
    assert all(bool(torch.isfinite(parameter).all()) for parameter in model.parameters())


def test_a_finite_run_with_a_loss_function_of_its_own_trains_to_the_end(tmp_path):
    rows = [{"input_values": torch.randn(1, 200), "labels": i % 3} for i in range(8)]
    arguments = TrainingArguments(
        str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=4, report_to="none", use_cpu=True,
        disable_tqdm=True, save_strategy="no", label_smoothing_factor=0.1,
    )  # fmt: skip
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    trainer = Trainer(model=model, args=arguments, train_dataset=rows, callbacks=[NonFiniteLossCallback()])
    trainer.train()
    assert trainer.state.global_step == 2


# ---------------------------------------------------------------------------- 2. batch_rebalance follows the seed


def _rows() -> Dataset:
    """16 one-channel windows of 2 to 9 patches of signal."""
    values = np.random.default_rng(0).standard_normal((16, 1, 200)).astype("float32")
    masks = [[1] * (2 + i % 8) + [0] * (8 - i % 8) for i in range(16)]
    return Dataset.from_dict(
        {"input_values": values.tolist(), "patch_mask": masks, "labels": [i % 2 for i in range(16)]}
    )


def _batches(tmp_path, seed: int, data_seed: int | None = None, epoch: int = 0) -> list[list[int]]:
    arguments = TrainingArguments(
        str(tmp_path / "out"), train_sampling_strategy="batch_rebalance", seed=seed, data_seed=data_seed,
        per_device_train_batch_size=4, report_to="none", use_cpu=True, remove_unused_columns=False,
    )  # fmt: skip
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    sampler = Trainer(model=model, args=arguments, train_dataset=_rows())._get_train_sampler()
    sampler.set_epoch(epoch)
    return [list(batch) for batch in sampler]


def test_batch_rebalance_orders_batches_by_the_seed(tmp_path):
    assert _batches(tmp_path, seed=1) != _batches(tmp_path, seed=2)
    assert _batches(tmp_path, seed=1) == _batches(tmp_path, seed=1)
    # the epoch still changes the order (a resumed run's sampler is set to its epoch)
    assert _batches(tmp_path, seed=1, epoch=1) != _batches(tmp_path, seed=1)


def test_batch_rebalance_follows_data_seed_before_seed(tmp_path):
    assert _batches(tmp_path, seed=1, data_seed=5) != _batches(tmp_path, seed=1, data_seed=6)
    assert _batches(tmp_path, seed=1, data_seed=5) == _batches(tmp_path, seed=2, data_seed=5)
