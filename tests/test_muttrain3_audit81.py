"""Session 81's closing of the mutation audit of training plumbing (`training/pretrain.py`, `checkpoints.py`,
`run_lock.py`, `callbacks.py`, `lora.py`): guards that pass on the package as it is and fail on a hand-made mutant
that nothing else caught (each test names the wrong answer it keeps out)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from citrus_runs import pretrain_arguments
from test_portability_audit71 import _lock_of  # a lock file naming a process of this machine, its kernel lock free

from citrus_hf.training.pretrain import (
    PretrainArguments,
    PretrainResult,
    TrainingBatches,
    TrainingProgress,
    _optimizer_and_scheduler,
    citrus_loss,
    pretrain,
)

# Runs of a few steps are far too short to learn: their did-not-learn warning is beside the point here.
pytestmark = pytest.mark.filterwarnings("ignore::citrus_hf.training.pretrain.PretrainingDidNotLearnWarning")


def test_an_accumulated_step_clips_once_trains_in_train_mode_and_the_last_step_is_evaluated(tmp_path, monkeypatch):
    """Under gradient accumulation 2, 3 steps evaluated every 2: the gradient is clipped once per optimizer step, on
    the micro-batches' sum as transformers' Trainer and Accelerate's `accumulate` do (clipping each micro-batch's
    partial sum shrinks the first micro-batch's share); every training forward runs in train mode (the model was once
    left in eval mode after an evaluation); and the last step, off the evaluation grid, is evaluated (`learnt` and the
    did-not-learn warning read the last evaluation, which was otherwise a step behind the saved model)."""
    from accelerate import Accelerator

    clipped, modes = [], []
    real_clip = Accelerator.clip_grad_norm_

    def clip(self, parameters, max_norm, norm_type=2):
        clipped.append(self.sync_gradients)
        return real_clip(self, parameters, max_norm, norm_type)

    def loss_fn(model, batch):
        if torch.is_grad_enabled():  # a training forward (the held-out loss runs under no_grad, in eval mode)
            modes.append(model.training)
        return citrus_loss(model, batch)

    monkeypatch.setattr(Accelerator, "clip_grad_norm_", clip)
    arguments = pretrain_arguments(
        tmp_path / "run", max_steps=3, per_device_batch_size=16, eval_steps=2, save_steps=10, plot_steps=10
    )
    result = pretrain(arguments, loss_fn=loss_fn)
    assert clipped == [True] * 3
    assert modes == [True] * 6
    assert [step for step, _ in result.eval_losses] == [2, 3]


def test_the_epochs_batches_are_all_full():
    """20 windows in batches of 8: two batches per epoch, the 4 left over dropped (a short last batch gave every
    epoch's end another batch shape on each process, and weighed its few windows as much as a full batch)."""
    from accelerate import Accelerator
    from datasets import Dataset

    windows = {"input_values": np.zeros((20, 1, 100), np.float32), "patch_mask": np.ones((20, 10), np.int64)}
    accelerator = Accelerator(cpu=True)
    training = TrainingBatches(
        PretrainArguments(output_dir="unused", per_device_batch_size=8), None, Dataset.from_dict(windows), accelerator
    )
    training.dataloader = accelerator.prepare(training.dataloader)  # as `pretrain` does: a loader with `set_epoch`
    assert [len(batch["example_id"]) for batch in training.epoch(TrainingProgress())] == [8, 8]


def test_weight_decay_spares_norms_biases_and_tokens_of_any_shape():
    """AdamW decays the weight matrices only: a model's token of shape (1, width) is spared like a 1-D one (only the
    1-D ones were, by shape), and the spared group's decay is 0, not the run's."""

    class WithToken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cls_token = torch.nn.Parameter(torch.zeros(1, 4))
            self.projection = torch.nn.Linear(4, 4)

    model = WithToken()
    arguments = PretrainArguments(output_dir="unused", max_steps=10, weight_decay=0.05)
    optimizer, _ = _optimizer_and_scheduler(model, arguments, num_processes=1)
    decayed, spared = optimizer.param_groups
    assert decayed["weight_decay"] == 0.05 and [p is model.projection.weight for p in decayed["params"]] == [True]
    assert spared["weight_decay"] == 0.0
    assert {id(p) for p in spared["params"]} == {id(model.cls_token), id(model.projection.bias)}


def _result(eval_losses, baselines, completed=True, steps=1000) -> PretrainResult:
    return PretrainResult("out", steps, completed, 0.5, eval_losses, 1, 1, 1.0, eval_baseline_losses=baselines)


def test_learnt_reads_the_last_evaluation_and_a_stopped_run_is_not_judged():
    """`learnt` is the last evaluation's verdict, not the first's (a run that learnt late was told it had not, and one
    that lost it was told it had); a run stopped early (`stop_after_steps`, to be resumed) gets no did-not-learn
    message: its end is not the run's."""
    late = _result([(500, 0.99), (1000, 0.7)], [(500, 1.0), (1000, 1.0)])
    assert late.learnt is True and late.did_not_learn() is None
    lost = _result([(500, 0.7), (1000, 0.99)], [(500, 1.0), (1000, 1.0)])
    assert lost.learnt is False and "did not learn" in lost.did_not_learn()
    stopped = _result([(500, 0.99)], [(500, 1.0)], completed=False, steps=500)
    assert stopped.learnt is False and stopped.did_not_learn() is None


def test_overwrite_takes_over_another_machines_lock_only(tmp_path):
    """`overwrite` (--overwrite-output-dir) takes over a lock whose process cannot be checked from here (another
    machine's), never one of a live run on this machine (it once took over any lock it was given)."""
    from citrus_hf.training.run_lock import output_folder_lock

    _lock_of(tmp_path / "out", 1)  # process 1 runs on every Unix machine
    with pytest.raises(ValueError, match=r"is being written by another run \(citrus finetune, process 1 on "):
        with output_folder_lock(tmp_path / "out", "citrus test", overwrite=True):
            pass


def test_a_lock_of_another_users_live_process_is_not_taken_over(tmp_path, monkeypatch):
    """Signal 0 to another user's process is refused (EPERM): the process is alive, so its run's lock holds (read as
    gone, its lock was taken over while that run wrote the folder)."""
    from citrus_hf.training import run_lock

    real_kill = os.kill

    def kill(pid, signal):
        if pid == 4242:
            raise PermissionError(1, "Operation not permitted")
        return real_kill(pid, signal)

    monkeypatch.setattr(os, "kill", kill)
    _lock_of(tmp_path / "out", 4242)
    with pytest.raises(ValueError, match="process 4242 on .*; give this run another --output-dir, or if no such run"):
        with run_lock.output_folder_lock(tmp_path / "out", "citrus test"):
            pass


def test_a_lock_removed_as_it_is_taken_is_replaced_by_a_lock_in_place(tmp_path, monkeypatch):
    """The run holding the folder ends (removing its lock) between this run's open and its kernel lock: the kernel
    lock then holds a removed file, so the run opens a new one (it once went on holding the removed file, leaving the
    folder without a lock for a third run to see)."""
    import json

    from citrus_hf.training import run_lock

    real_kernel_lock, calls = run_lock._kernel_lock, []

    def kernel_lock(descriptor):
        calls.append(descriptor)
        if len(calls) == 1:  # the earlier run ends now
            (tmp_path / "out" / run_lock.LOCK_NAME).unlink()
        return real_kernel_lock(descriptor)

    monkeypatch.setattr(run_lock, "_kernel_lock", kernel_lock)
    with run_lock.output_folder_lock(tmp_path / "out", "citrus test"):
        holder = json.loads((tmp_path / "out" / run_lock.LOCK_NAME).read_text(encoding="utf-8"))
        assert holder["pid"] == os.getpid() and len(calls) == 2


def test_a_nan_stop_is_forgotten_when_the_trainer_trains_again(tmp_path):
    """A `Trainer` keeps its callbacks across `train()` calls: after a NaN stop, training again (at a lower learning
    rate, as the message advises) starts clean (the old NaN once stopped the new run at its first optimizer step)."""
    from test_muttrain2_audit80 import _LossOf, _optimizer_step_arguments

    from citrus_hf.training.callbacks import NonFiniteLossCallback, NonFiniteLossError

    callback, model = NonFiniteLossCallback(), _LossOf().train()
    arguments, state = _optimizer_step_arguments(tmp_path / "run"), SimpleNamespace(global_step=0)
    callback.on_train_begin(arguments, state, None, model=model)
    model(torch.tensor(float("nan")))
    with pytest.raises(NonFiniteLossError):
        callback.on_pre_optimizer_step(arguments, state, None)
    callback.on_train_begin(arguments, state, None, model=model)
    model(torch.tensor(1.0))
    callback.on_pre_optimizer_step(arguments, state, None)  # no error
    callback.on_train_end(arguments, state, None)


def test_a_lora_target_matches_whole_dotted_parts_of_a_name_as_peft_does():
    """A list entry names a module or its last dotted parts (peft's rule): "proj" is no part of "q_proj", so it matches
    nothing and the package says so (read as a suffix, it passed the package's checks and peft refused it after them
    with "Target modules {'proj'} not found")."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora

    with pytest.raises(ValueError, match=r"No module .* matches target_modules=\['proj'\]"):
        apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), target_modules=["proj"], verbose=False)


def test_a_run_refused_at_the_lock_removes_the_empty_folders_it_created(tmp_path, monkeypatch):
    """A run refused while it takes the lock of a folder it created (the lock taken away under it by runs racing it,
    "try again") leaves no empty folders behind (they stayed, `runs/new/a` and its parents)."""
    from citrus_hf.training import run_lock

    def raced(folder, lock, command, overwrite, flag, takeover):
        raise ValueError(f"{flag} {str(folder)!r} was taken by another run as this one started; try again.")

    monkeypatch.setattr(run_lock, "_take", raced)
    with pytest.raises(ValueError, match="try again"):
        with run_lock.output_folder_lock(tmp_path / "runs" / "new" / "a", "citrus test"):
            pass
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_an_earlier_releases_checkpoint_is_held_to_the_settings_its_runs_summary_records(tmp_path):
    """A checkpoint of a release before `run_settings.json` is checked against the `arguments` of its run's summary:
    a resume with another seed is refused, naming the summary (the summary went unread, and the resume went on with
    only a warning that nothing could be checked)."""
    import json

    from citrus_hf.training.checkpoints import CHECKPOINTS_DIR, SUMMARY_FILE, check_resumable, resume_settings

    arguments = PretrainArguments(output_dir=str(tmp_path / "run"), dataset="none", synthetic_ratio=1.0, seed=3)
    step = tmp_path / "run" / CHECKPOINTS_DIR / "step-2"
    step.mkdir(parents=True)
    recorded = {**resume_settings(arguments, 1), "seed": 4}
    (tmp_path / "run" / SUMMARY_FILE).write_text(json.dumps({"arguments": recorded}), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"its {SUMMARY_FILE} records the settings\) with other settings: --seed 3"):
        check_resumable(step, arguments, 1)


def test_the_run_environment_records_the_thread_count_in_use():
    """The thread count a run records (summary and checkpoints; a resume with another warns) is torch's at the time:
    the resume check compared a fixed count, silent whatever the threads."""
    from citrus_hf.training.checkpoints import run_environment

    threads = torch.get_num_threads()
    torch.set_num_threads(threads + 1)
    try:
        assert run_environment() == {"torch_version": torch.__version__, "torch_threads": threads + 1}
    finally:
        torch.set_num_threads(threads)


def test_the_evaluation_history_leaves_undefined_metrics_out():
    """An evaluation's NaN metric (AUROC of a validation split without a class) is left out of the history a
    fine-tuning's results record, where a finite one is kept (NaN went into the results, which JSON has no number
    for)."""
    from citrus_hf.training.callbacks import EvaluationHistoryCallback

    history = EvaluationHistoryCallback()
    metrics = {"eval_loss": 0.5, "eval_auroc": float("nan"), "eval_runtime": float("inf"), "epoch": 1}
    history.on_evaluate(None, SimpleNamespace(global_step=3, epoch=1.0), None, metrics=metrics)
    assert history.history == [{"step": 3, "epoch": 1.0, "eval_loss": 0.5}]
