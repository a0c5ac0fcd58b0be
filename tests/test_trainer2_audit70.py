"""Session 70, round two of the Trainer traps users reported upstream, with CiTrus models.

- `load_best_model_at_end` of a peft model whose active adapter is not named "default" (`get_peft_model(...,
  adapter_name="mine")`, or a second adapter made active with `set_adapter`) kept the wrong weights: peft saves such an
  adapter in a subfolder of its name, and transformers' `_load_best_model` reads the checkpoint's root only. With one
  named adapter it found nothing there and kept the last step's weights, warning only about a distributed
  `pytorch_model.bin`; beside a "default" adapter it loaded the default adapter's weights into the active one.
- With `dataloader_persistent_workers=True`, `trainer.evaluate(test_set)` reported the metrics of the Trainer's own
  evaluation set under `test_`: transformers keeps one evaluation dataloader under the key "eval" for every set given
  as an object, and handed back the first one it built (or, when the first was the given set, evaluated that set at
  every later evaluation of the training).

A tiny model on the CPU: a few seconds each.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from datasets import Dataset
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
from safetensors.torch import load_file
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments, set_seed

from citrus_hf import CiTrusForSequenceClassification


def _rows() -> Dataset:
    """16 one-channel windows of 200 samples, two classes apart by their level."""
    rng = np.random.default_rng(0)
    return Dataset.from_dict(
        {
            "input_values": [rng.standard_normal((1, 200)).astype(np.float32) + i % 2 for i in range(16)],
            "labels": [i % 2 for i in range(16)],
        }
    ).with_format("torch")


def _lora() -> LoraConfig:
    return LoraConfig(r=2, target_modules=["q_proj", "v_proj"], modules_to_save=["classifier"])


def _train_keeping_an_early_step(model, output_dir) -> Trainer:
    """Train `model` 6 steps, evaluating and saving every 2, keeping the step of the largest validation loss (one
    before the last: the loss falls), so that the best weights are not the last ones."""
    rows = _rows()
    args = TrainingArguments(
        str(output_dir),
        max_steps=6,
        eval_strategy="steps",
        eval_steps=2,
        save_steps=2,
        load_best_model_at_end=True,
        metric_for_best_model="loss",
        greater_is_better=True,
        save_total_limit=1,
        per_device_train_batch_size=4,
        learning_rate=0.05,
        use_cpu=True,
        report_to=[],
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows, eval_dataset=rows)
    trainer.train()
    assert trainer.state.best_global_step not in (None, trainer.state.global_step)
    return trainer


def _assert_adapter_is(peft_model, adapter: str, folder: str) -> None:
    """The weights of `adapter` in `peft_model` are those saved in `folder`."""
    saved = load_file(os.path.join(folder, "adapter_model.safetensors"))
    current = get_peft_model_state_dict(peft_model, adapter_name=adapter)
    assert set(saved) == set(current)
    for name, tensor in saved.items():
        torch.testing.assert_close(current[name], tensor, msg=name)


def test_best_model_of_a_named_adapter_is_loaded(tmp_path):
    set_seed(0)
    model = get_peft_model(CiTrusForSequenceClassification(tiny_config(num_labels=2)), _lora(), adapter_name="mine")
    trainer = _train_keeping_an_early_step(model, tmp_path)
    _assert_adapter_is(model, "mine", os.path.join(trainer.state.best_model_checkpoint, "mine"))


def test_best_model_of_the_second_adapter_is_its_own(tmp_path):
    set_seed(0)
    model = get_peft_model(CiTrusForSequenceClassification(tiny_config(num_labels=2)), _lora())
    model.add_adapter("other", _lora())
    model.set_adapter("other")
    default_before = {name: tensor.clone() for name, tensor in get_peft_model_state_dict(model).items()}
    trainer = _train_keeping_an_early_step(model, tmp_path)
    _assert_adapter_is(model, "other", os.path.join(trainer.state.best_model_checkpoint, "other"))
    # the default adapter did not train and is as it was
    for name, tensor in get_peft_model_state_dict(model).items():
        torch.testing.assert_close(tensor, default_before[name], msg=name)


def test_best_model_of_the_default_adapter_still_loads(tmp_path):
    set_seed(0)
    model = get_peft_model(CiTrusForSequenceClassification(tiny_config(num_labels=2)), _lora())
    trainer = _train_keeping_an_early_step(model, tmp_path)
    _assert_adapter_is(model, "default", trainer.state.best_model_checkpoint)


def _windows(count: int, level: float) -> Dataset:
    rng = np.random.default_rng(count)
    return Dataset.from_dict(
        {
            "input_values": rng.standard_normal((count, 1, 200)).astype(np.float32) + level,
            "labels": [i % 2 for i in range(count)],
        }
    )


def _evaluator(tmp_path, workers: int, eval_dataset) -> Trainer:
    set_seed(0)
    args = TrainingArguments(
        str(tmp_path / f"workers{workers}"),
        per_device_eval_batch_size=4,
        dataloader_num_workers=workers,
        dataloader_persistent_workers=workers > 0,
        use_cpu=True,
        report_to=[],
        disable_tqdm=True,
    )
    return Trainer(
        model=CiTrusForSequenceClassification(tiny_config(num_labels=2)), args=args, eval_dataset=eval_dataset
    )


def test_persistent_workers_evaluate_the_set_given(tmp_path):
    validation, test = _windows(8, 0.0), _windows(12, 3.0)
    expected = _evaluator(tmp_path, 0, validation)
    validation_loss = expected.evaluate()["eval_loss"]
    test_loss = expected.evaluate(test)["eval_loss"]
    assert test_loss != pytest.approx(validation_loss)

    trainer = _evaluator(tmp_path, 1, validation)
    assert trainer.evaluate()["eval_loss"] == pytest.approx(validation_loss)
    assert trainer.evaluate(test, metric_key_prefix="test")["test_loss"] == pytest.approx(test_loss)
    assert trainer.evaluate()["eval_loss"] == pytest.approx(validation_loss)

    # the given set first: the Trainer's own set is still the one its evaluations use
    trainer = _evaluator(tmp_path, 1, validation)
    assert trainer.evaluate(test)["eval_loss"] == pytest.approx(test_loss)
    assert trainer.evaluate()["eval_loss"] == pytest.approx(validation_loss)
