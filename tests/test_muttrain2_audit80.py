"""Session 80's second mutation audit of training plumbing (`training/lora.py`, `training/callbacks.py`): guards that
pass on the package as it is and fail on a hand-made mutant that nothing else caught (each test names the wrong
answer it keeps out)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save_file
from tiny_configs import tiny_config

from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.training.callbacks import (
    NonFiniteLossCallback,
    NonFiniteLossError,
    masked_loss,
    random_windows,
)
from citrus_hf.training.lora import apply_lora


def test_apply_lora_trains_its_adapters_with_the_dropout_asked_for():
    """`dropout` reaches peft's config and the LoRA branches (a dropout of 0 in place of the one asked for trained
    without it, silently)."""
    peft_model = apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), dropout=0.3, verbose=False)
    assert peft_model.peft_config["default"].lora_dropout == 0.3
    dropouts = [module for name, module in peft_model.named_modules() if name.endswith("lora_dropout.default")]
    assert dropouts and all(module.p == 0.3 for module in dropouts)


def test_apply_lora_gives_every_adapted_module_the_rank_asked_for():
    """`r` reaches peft: a rank-2 adapter has rank-2 matrices (a fixed rank of 8 in place of the one asked for gave
    four times the parameters, and `r` a no-op)."""
    peft_model = apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), r=2, alpha=4, verbose=False)
    assert peft_model.peft_config["default"].r == 2
    ranks = {parameter.shape[0] for name, parameter in peft_model.named_parameters() if "q_proj.lora_A" in name}
    assert ranks == {2}


def test_apply_lora_ends_a_frozen_backbones_eval_mode_at_once():
    """LoRA replaces `freeze_backbone()`: the model `apply_lora` returns trains its encoder (LoRA's dropout on) as it
    is, before any `.train()` call (the freezing was once left on: the encoder stayed in eval mode until a `.train()`
    happened to see the adapter)."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).train()
    model.freeze_backbone()
    apply_lora(model, verbose=False)
    assert model.citrus.training


class _LossOf(torch.nn.Module):
    """A stand-in model whose forward returns its input as the `loss` (a Trainer model's output mapping)."""

    def forward(self, loss):
        return {"loss": loss}


def _optimizer_step_arguments(output_dir):
    arguments = dict(output_dir=str(output_dir), learning_rate=1e-3, fp16=False, bf16=False, weight_decay=0.0)
    return SimpleNamespace(**arguments, mixed_precision=None)


def _checkpoint(folder, *values):
    folder.mkdir(parents=True)
    save_file({"weight": torch.tensor(values)}, str(folder / "model.safetensors"))


def test_the_nan_stop_cites_the_newest_finite_checkpoint_before_the_broken_weights(tmp_path):
    """Of this run's checkpoints before the weights that broke (step 4 here), the newest whose weights are all finite
    is the way back: not the oldest (the search once ran oldest first), nor one holding a NaN beside finite values
    (a weight check once asked whether any value was finite)."""
    run = tmp_path / "run"
    callback, model = NonFiniteLossCallback(), _LossOf().train()
    arguments = _optimizer_step_arguments(run)
    callback.on_train_begin(arguments, None, None, model=model)
    _checkpoint(run / "checkpoint-1", 1.0, 2.0)
    _checkpoint(run / "checkpoint-2", 1.0, 2.0)
    _checkpoint(run / "checkpoint-3", 1.0, float("nan"))  # written after the weights began to break
    _checkpoint(run / "checkpoint-4", float("nan"), float("nan"))  # the weights whose loss at step 5 was NaN
    model(torch.tensor(float("nan")))
    with pytest.raises(NonFiniteLossError) as info:
        callback.on_pre_optimizer_step(arguments, SimpleNamespace(global_step=4), None)
    message = str(info.value)
    assert "at optimizer step 5" in message
    assert f"broke, {run / 'checkpoint-2'}, was left" in message
    assert "(checkpoint-4: saved from the weights that broke on" in message


def test_an_evaluation_loss_that_is_nan_does_not_stop_training(tmp_path):
    """The guard reads the loss of training forwards only: a NaN loss of an evaluation forward (a validation batch of
    undefined targets; the model in eval mode) stopped the next optimizer step, as if training had diverged."""
    callback, model = NonFiniteLossCallback(), _LossOf()
    arguments, state = _optimizer_step_arguments(tmp_path / "run"), SimpleNamespace(global_step=2)
    callback.on_train_begin(arguments, state, None, model=model)
    model.eval()(torch.tensor(float("nan")))
    callback.on_pre_optimizer_step(arguments, state, None)  # no error
    model.train()(torch.tensor(float("inf")))
    with pytest.raises(NonFiniteLossError, match="The training loss became inf at optimizer step 3"):
        callback.on_pre_optimizer_step(arguments, state, None)
    callback.on_train_end(arguments, state, None)


def test_masked_loss_draws_its_mask_from_its_seed_alone():
    """The validation loss masks every batch the same way, from `seed`, and leaves the caller's random stream as it
    was (with no mask given, the model drew one from the training run's stream: another loss at every call, and a
    resumed run no longer bit-identical)."""
    torch.manual_seed(0)
    model = CiTrusForPretraining(tiny_config())
    windows = torch.randn(2, 1, 200)
    before = torch.get_rng_state()
    losses = [masked_loss(model, windows, None, seed=5) for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), before)
    assert losses[0] == losses[1]


def test_random_windows_leave_the_callers_random_stream_alone():
    """The windows a checkpoint's outputs are checked on come from a generator of their own: the same windows every
    time, and the caller's stream (a run's initialisation) untouched (drawn from the global stream, a fine-tuning's
    checkpoint check shifted its seeded initialisation)."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    before = torch.get_rng_state()
    first, second = random_windows(model), random_windows(model)
    assert torch.equal(torch.get_rng_state(), before)
    assert first.shape == (2, 1, 200) and torch.equal(first, second)
