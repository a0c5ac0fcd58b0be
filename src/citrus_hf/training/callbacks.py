"""Hooks for the training loops: the masked-window figure of pre-training, a `Trainer` callback that keeps the
validation history of a fine-tuning run, early stopping that does not count an undefined (NaN) metric as a worse one,
and the guard that stops a run whose loss became NaN or infinite (the message shared by the pre-training loop and
`NonFiniteLossCallback`).

Everything that draws random numbers here does so inside `torch.random.fork_rng()` with its own seed, so logging a
figure or an evaluation never shifts the training run's random stream (a resumed run stays bit-identical).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import EarlyStoppingCallback, TrainerCallback
from transformers.utils import logging

# The rule of what of a model is NaN or infinite, and the random stream it runs in, live in the model file, whose
# models the pipelines (remote code, which import nothing of the package) ask too; importable from here as before.
from ..modeling_citrus import isolated_rng, non_finite_in

logger = logging.get_logger(__name__)


def fixed_token_mask(
    model, input_values: torch.Tensor, seed: int, patch_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The pre-training mask `model` would draw for `input_values` `(batch, channels, time)` and their `patch_mask`
    `(batch, num_patches)` (each window's mask over its real patches), from seed `seed`, without touching the
    caller's random stream. Returns `(batch, channels, num_patches)` bool, True = masked."""
    batch_size, num_channels, length = input_values.shape
    num_patches = length // model.config.patch_length
    with isolated_rng(input_values.device, seed):
        return model.masking(batch_size, num_channels, num_patches, input_values.device, patch_mask=patch_mask)


@torch.no_grad()
def masked_loss(model, input_values: torch.Tensor, patch_mask: torch.Tensor | None, seed: int) -> float:
    """Pre-training loss of a CiTrus pre-training model on a batch under a fixed mask drawn from `seed`, in eval mode
    and without touching the caller's random stream: the same windows score the same mask at every step, so losses
    of one run (or of a reloaded checkpoint, as examples/pretrain_accelerate.py does) compare.

    Args:
        model: a `CiTrusForPretraining`.
        input_values: `(batch, channels, context_length)` aligned windows.
        patch_mask: `(batch, num_patches)`, 1 on each window's real patches, or None (all real).
        seed: seed of the mask (`fixed_token_mask`).

    Returns:
        The loss over the masked patches (a "cnn" backbone masks none: over every real patch), as a float.
    """
    was_training = model.training
    model.eval()
    try:
        token_mask = fixed_token_mask(model, input_values, seed, patch_mask) if model.config.uses_transformer else None
        # return_dict=True: whatever the config says (return_dict=False: tuples)
        outputs = model(input_values=input_values, patch_mask=patch_mask, token_mask=token_mask, return_dict=True)
        return float(outputs.loss)
    finally:
        model.train(was_training)


@torch.no_grad()
def reconstruction_figure(model, input_values: torch.Tensor, patch_mask: torch.Tensor | None = None, seed: int = 0):
    """A matplotlib figure of one masked window and what a CiTrus pre-training model makes of it.

    Args:
        model: a `CiTrusForPretraining`.
        input_values: `(1, channels, context_length)`, one aligned window; the first channel is drawn.
        patch_mask: `(1, num_patches)` or None.
        seed: seed of the mask, so every figure of a run shows the same window with the same mask.

    Time and Fourier objectives: the input with the masked patches shaded, and the reconstruction over it.
    Spectrogram objective: the target and predicted log-spectrograms, patch by patch, masked patches outlined.
    """
    from .._figures import new_figure

    was_training = model.training
    model.eval()
    try:
        token_mask = fixed_token_mask(model, input_values, seed, patch_mask) if model.config.uses_transformer else None
        outputs = model(input_values=input_values, patch_mask=patch_mask, token_mask=token_mask, return_dict=True)
    finally:
        model.train(was_training)
    config = model.config
    masked = outputs.token_mask[0, 0].cpu().numpy()  # (num_patches,)
    patch_seconds = config.patch_length / config.sampling_rate
    objective = config.pretraining_objective
    title = f"{objective} objective, loss {float(outputs.loss):.4f}"

    if outputs.reconstruction is not None:
        figure = new_figure("Plotting a reconstruction", figsize=(10, 3))
        axis = figure.subplots()
        signal = input_values[0, 0].float().cpu().numpy()
        reconstruction = outputs.reconstruction[0, 0].float().cpu().numpy()
        time = np.arange(signal.size) / config.sampling_rate
        for index in np.flatnonzero(masked):
            axis.axvspan(index * patch_seconds, (index + 1) * patch_seconds, color="0.85", lw=0)
        axis.plot(time, signal, color="0.3", lw=0.8, label="input (shaded: masked)")
        reconstruction = np.where(np.repeat(masked, config.patch_length), reconstruction, np.nan)
        axis.plot(time, reconstruction, color="tab:red", lw=1.0, label="reconstruction")
        axis.set_xlabel("time (s)")
        axis.set_ylabel("z-scored amplitude")
        axis.legend(loc="upper right", fontsize=8)
        axis.set_title(title)
    else:
        figure = new_figure("Plotting a reconstruction", figsize=(10, 3))
        axes = figure.subplots(1, 2, sharey=True)
        target = outputs.target[0, 0].float().cpu().numpy().T  # (bins, num_patches)
        prediction = outputs.prediction[0, 0].float().cpu().numpy().T
        prediction = np.where(masked[None, :], prediction, np.nan)
        limits = dict(vmin=float(target.min()), vmax=float(target.max()))
        for axis, image, name in ((axes[0], target, "target"), (axes[1], prediction, "prediction (masked patches)")):
            axis.imshow(image, origin="lower", aspect="auto", cmap="magma", **limits)
            axis.set_title(name, fontsize=9)
            axis.set_xlabel("patch")
        axes[0].set_ylabel("frequency bin")
        figure.suptitle(title)
    figure.tight_layout()
    return figure


class EvaluationHistoryCallback(TrainerCallback):
    """Keeps every evaluation's metrics (with its step and epoch) so a fine-tuning run can report its curve and the
    epoch early stopping chose."""

    def __init__(self):
        self.history: list[dict[str, Any]] = []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics:
            entry = {"step": state.global_step, "epoch": state.epoch}
            entry.update({k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)})
            self.history.append(entry)


class DefinedMetricEarlyStopping(EarlyStoppingCallback):
    """transformers' `EarlyStoppingCallback`, except that an evaluation whose `metric_for_best_model` is NaN (undefined:
    AUROC of a validation split that lacks a class, Pearson r of constant predictions) counts neither as an
    improvement nor against the patience, and the first one is said in a warning. transformers counted it as no
    improvement: NaN at every evaluation stopped a run after `early_stopping_patience` evaluations, without a word,
    and kept its last weights (no step is ever "best" on NaN)."""

    def __init__(self, early_stopping_patience: int = 1, early_stopping_threshold: float | None = 0.0):
        super().__init__(early_stopping_patience, early_stopping_threshold)
        self.undefined_warned = False

    def on_evaluate(self, args, state, control, metrics, **kwargs):
        name = args.metric_for_best_model
        value = metrics.get(name if name.startswith("eval_") else f"eval_{name}")
        if isinstance(value, (float, np.floating)) and math.isnan(value):
            if not self.undefined_warned:
                self.undefined_warned = True
                logger.warning(self._undefined_message(name, state.global_step, metrics.get("eval_loss")))
            return
        super().on_evaluate(args, state, control, metrics, **kwargs)

    @staticmethod
    def _undefined_message(name: str, step: int, validation_loss: Any) -> str:
        """The warning for a NaN `metric_for_best_model` `name` at `step`. A NaN or infinite validation loss means the
        model's outputs are no longer finite (training diverged), whatever the metric: AUROC and a metric to switch
        to would be beside the point."""
        ignored = "such evaluations neither improve on the best step nor count toward early stopping's patience"
        if isinstance(validation_loss, (int, float, np.floating)) and not math.isfinite(validation_loss):
            return (
                f"The validation loss is {float(validation_loss)} at step {step}: the model's outputs on the "
                f"validation windows are no longer finite, so training is diverging (a learning rate too high, or "
                f"extreme values in the data); {ignored}."
            )
        others = [metric for metric in ("macro_f1", "loss") if metric != name.removeprefix("eval_")]
        return (
            f"The validation {name} is undefined (NaN) at step {step} (AUROC of a validation split without some "
            f"class, or a correlation of constant predictions): {ignored}. Choose another --metric-for-best-model "
            f"({', '.join(others)}) or a validation split with every class."
        )


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite, or the weights a run ended with compute NaN or infinite outputs; the
    run was stopped before those weights were saved."""


def non_finite_loss_message(
    step: int,
    loss: float,
    learning_rate: float,
    mixed_precision: str,
    last_checkpoint: str | None = None,
    *,
    weight_decay: float = 0.0,
    advice: str | None = None,
    broken_weights: str | None = None,
    superseded: Sequence[str] = (),
) -> str:
    """What a stopped run tells its user: where the loss broke, the likely causes, and what is left on disk.

    Args:
        step: the optimizer step (counted from 1) whose loss was not finite; with `broken_weights`, the step that
            wrote weights whose outputs are not finite (checked before they were to be saved).
        loss: that loss (NaN or +-inf); with `broken_weights`, not read.
        learning_rate: the run's peak learning rate.
        mixed_precision: "no", "bf16" or "fp16".
        last_checkpoint: a checkpoint saved before the weights that broke, to resume from, or None.
        weight_decay: the run's AdamW weight decay, named as a cause when, with the learning rate, it shrinks the
            weights by 1% or more a step.
        advice: what to do next, in place of the sentence about `last_checkpoint` (a run that knows its own resume).
        broken_weights: what of the weights step `step` wrote is not finite (`non_finite_in`), when that, not a
            training loss, stopped the run.
        superseded: the checkpoints saved from the weights that broke on, named beside `last_checkpoint` so that
            nobody takes them for a way back.
    """
    causes = [
        f"a learning rate too high for this model and batch ({learning_rate:g}): lower it or lengthen the warm-up",
        "NaN / infinite or extreme values in the input windows or targets: check the data and its normalisation",
    ]
    if learning_rate * weight_decay >= 0.01:  # AdamW's decoupled decay: every weight times (1 - lr x wd) a step
        causes.insert(
            1,
            f"a weight decay this strong ({weight_decay:g}: with that learning rate every step shrinks the weights "
            f"by {learning_rate * weight_decay:.2%}): lower --weight-decay",
        )
    if mixed_precision == "fp16":
        causes.append("float16 overflow (mixed_precision='fp16'): train in 'bf16' or 'no' instead")
    if advice is None:
        advice = (
            f"The newest checkpoint saved before the weights that broke, {last_checkpoint}, was left as it is; "
            "resume from it once the data is fixed, or start again with a lower learning rate (a resumed run keeps "
            "its checkpoint's schedule)."
            if last_checkpoint
            else "No checkpoint saved before the weights that broke is left: start again with a lower learning rate."
        )
        if superseded:
            advice = f"{advice} ({', '.join(superseded)}: saved from the weights that broke on, not a way back.)"
    if broken_weights:
        what = (
            f"The weights optimizer step {step} wrote are not finite ({broken_weights}), so the run was stopped "
            "before saving them (no checkpoint of that step, no final model)"
        )
    else:
        what = (
            f"The training loss became {loss} at optimizer step {step}, so the run was stopped: nothing from that step "
            "on was saved (no checkpoint, no final model)"
        )
    return f"{what}. Likely causes: {'; '.join(causes)}. {advice}"


def random_windows(model: torch.nn.Module, count: int = 2) -> torch.Tensor:
    """`(count, channels, context_length)` standard-normal windows of a CiTrus model's input, on its device, for
    `non_finite_in` to run a checkpoint on without data: drawn from a generator of their own, so the caller's random
    stream (a run's initialisation, its draws) stays as it was."""
    config = model.config
    generator = torch.Generator().manual_seed(0)
    windows = torch.randn(count, config.num_channels, config.context_length, generator=generator)
    return windows.to(next(model.parameters()).device)


def finite_checkpoint_weights(folder: str | os.PathLike) -> bool:
    """Whether every tensor of the safetensors weights in checkpoint `folder` is finite (True where there are none to
    read: nothing says otherwise)."""
    from safetensors import safe_open

    files = sorted(Path(folder).glob("*.safetensors"))
    for file in files:
        with safe_open(str(file), framework="pt") as weights:
            for key in weights.keys():
                tensor = weights.get_tensor(key)
                if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                    return False
    return True


class NonFiniteLossCallback(TrainerCallback):
    """Stops `Trainer` fine-tuning at the first step whose training loss is NaN or infinite, with
    `non_finite_loss_message`, before the optimizer applies that step: the model keeps the last finite weights and
    nothing of that step is saved (the Trainer's own `logging_nan_inf_filter` would only hide such a loss from the
    logs and train on).

    It reads the loss of every training step as the Trainer computed it: the model's own, the label smoother's or a
    `compute_loss_func`'s (the package's Trainer hooks hand each `Trainer.training_step`'s loss to `watch`; for the
    last two the Trainer takes the labels out of the batch, so the model returns none), and the `loss` the model
    returns in training mode (a forward hook, added at the start of training and removed at its end).

    The message names a checkpoint of `output_dir` to resume from only when `cites_checkpoints` (a Trainer of one's
    own; the package's fine-tunings keep scratch copies and cannot resume) and only one this run wrote (an earlier
    run's in the same folder is stale) before the weights that broke (checkpoint-N holds the weights whose loss at
    step N + 1 was NaN) whose weights are finite.
    """

    def __init__(self, cites_checkpoints: bool = True, advice: str | None = None):
        self.cites_checkpoints = cites_checkpoints
        self.advice = advice
        self._hook = None
        self._non_finite_loss: float | None = None
        self._earlier: dict[int, tuple[Path, int]] = {}  # the checkpoints output_dir held when training began

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._remove_hook()
        self._non_finite_loss = None
        self._earlier = self._saved_checkpoints(args.output_dir)
        self._hook = model.register_forward_hook(self._record_loss)

    def _record_loss(self, module, inputs, outputs) -> None:
        if not module.training or not isinstance(outputs, Mapping):
            return
        self.watch(outputs.get("loss"))

    def watch(self, loss: torch.Tensor | None) -> None:
        """Keep a training loss (a scalar tensor, or None) that is NaN or infinite, to stop before its step."""
        if self._non_finite_loss is None and isinstance(loss, torch.Tensor) and not torch.isfinite(loss.detach()).all():
            self._non_finite_loss = float(loss.detach().float().reshape(-1)[0])

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        if self._non_finite_loss is None:
            return
        self._remove_hook()
        # what the Trainer's Accelerator ran: `fp16` / `bf16`, or the launch's (ACCELERATE_MIXED_PRECISION) without them
        precision = getattr(args, "mixed_precision", None) or ("fp16" if args.fp16 else "bf16" if args.bf16 else "no")
        last, superseded = (
            self._checkpoints(args.output_dir, state.global_step) if self.cites_checkpoints else (None, [])
        )
        raise NonFiniteLossError(
            non_finite_loss_message(
                state.global_step + 1,
                self._non_finite_loss,
                args.learning_rate,
                precision,
                last,
                weight_decay=getattr(args, "weight_decay", 0.0) or 0.0,
                advice=self.advice,
                superseded=superseded,
            )
        )

    def _checkpoints(self, output_dir: str, broken_weights_step: int) -> tuple[str | None, list[str]]:
        """`(the newest checkpoint-N of output_dir this run wrote before the weights of step broken_weights_step, which
        gave the NaN loss, whose weights are finite, or None; the names of those it wrote from that step on)`."""
        # this run's: those written since it began (an earlier run's in the same folder is stale). Told apart by the
        # files' own times as they were then, not against the clock: a file system stamps files with a clock of its
        # own grain (whole seconds on some network shares and FAT, a timer tick behind `time.time_ns()` on Linux),
        # which dated a checkpoint written right after the start before it, and left it out.
        saved = self._saved_checkpoints(output_dir)
        steps = {step: path for step, (path, written) in saved.items() if self._earlier.get(step) != (path, written)}
        superseded = [steps[step].name for step in sorted(steps) if step >= broken_weights_step]
        before = [step for step in sorted(steps, reverse=True) if step < broken_weights_step]
        last = next((str(steps[step]) for step in before if finite_checkpoint_weights(steps[step])), None)
        return last, superseded

    @staticmethod
    def _saved_checkpoints(output_dir: str) -> dict[int, tuple[Path, int]]:
        """`{step: (the folder checkpoint-step of output_dir, the newest time, in ns, of it and its files)}`: a save
        into an earlier run's folder of the same name leaves the folder's own time, and changes its files'."""
        import re

        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        folder = Path(output_dir)
        if not folder.is_dir():
            return {}
        saved = {}
        for path in folder.iterdir():
            found = re.fullmatch(rf"{PREFIX_CHECKPOINT_DIR}-(\d+)", path.name)
            if found and path.is_dir():
                written = max([path.stat().st_mtime_ns] + [file.stat().st_mtime_ns for file in path.iterdir()])
                saved[int(found[1])] = (path, written)
        return saved

    def on_train_end(self, args, state, control, **kwargs):
        self._remove_hook()

    def _remove_hook(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None


__all__ = [
    "DefinedMetricEarlyStopping",
    "EvaluationHistoryCallback",
    "NonFiniteLossCallback",
    "NonFiniteLossError",
    "finite_checkpoint_weights",
    "fixed_token_mask",
    "isolated_rng",
    "masked_loss",
    "non_finite_in",
    "non_finite_loss_message",
    "random_windows",
    "reconstruction_figure",
]
