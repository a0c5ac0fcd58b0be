"""Tests of citrus_hf.training: metrics against hand-computed values, label budgets, the Accelerate pre-training loop
(exact resume, TensorBoard logs, two processes under `accelerate launch`) and Trainer fine-tuning on real data.

The data tests read the offline real corpus; fetch it first with `citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from citrus_runs import pretrain_arguments as _pretrain_args
from safetensors.torch import load_file

from citrus_hf.data.alignment import align_corpus
from citrus_hf.data.splits import LabelBudget, carve_validation, draw_budget, parse_budget
from citrus_hf.loading import build_config
from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune
from citrus_hf.training.metrics import (
    accuracy,
    balanced_accuracy,
    binary_auroc,
    classification_metrics,
    macro_auroc,
    macro_f1,
    metric_greater_is_better,
    pearson_r,
    regression_metrics,
)
from citrus_hf.training.pretrain import checkpoints_in, pretrain

SCRIPTS = Path(__file__).parent / "accelerate_scripts"
# 10 s windows of the real EEG corpus; the tiny model cuts them into 2 s windows at 50 Hz (2,675 training windows).
EEG_OPTIONS = {"window_seconds": 10.0, "hop_seconds": 10.0}


# ---------------------------------------------------------------------------------------------------- metrics


def test_classification_metrics_match_hand_computed_values():
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 0, 2, 1])
    assert accuracy(y_true, y_pred) == pytest.approx(5 / 8)
    # recalls: class 0 3/4, class 1 1/2, class 2 1/2
    assert balanced_accuracy(y_true, y_pred) == pytest.approx((3 / 4 + 1 / 2 + 1 / 2) / 3)
    # F1 per class: 0: P 3/4 R 3/4 -> 3/4; 1: P 1/3 R 1/2 -> 2/5; 2: P 1 R 1/2 -> 2/3
    assert macro_f1(y_true, y_pred) == pytest.approx((3 / 4 + 2 / 5 + 2 / 3) / 3)
    # a class the model may predict but that never occurs counts as F1 0 when all classes are asked for
    assert macro_f1([0, 0], [0, 0], num_classes=2) == pytest.approx(0.5)


def test_auroc_rank_formula_with_ties():
    # positives score 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4), (0.8>0.1), (0.4=0.4 -> 1/2), (0.4>0.1)
    assert binary_auroc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]) == pytest.approx(3.5 / 4)
    assert binary_auroc([1, 0], [0.0, 1.0]) == 0.0
    assert math.isnan(binary_auroc([1, 1], [0.2, 0.3]))
    # three classes: class 0 perfectly ranked, class 1 inverted, class 2 absent from y_true (skipped)
    probabilities = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.0, 0.9], [0.2, 0.0, 0.8]])
    assert macro_auroc([0, 0, 1, 1], probabilities) == pytest.approx((1.0 + 0.0) / 2)
    metrics = classification_metrics(np.log(probabilities + 1e-9), [0, 0, 1, 1])
    assert metrics["accuracy"] == 0.5 and metrics["auroc"] == pytest.approx(0.5)


def test_regression_metrics_match_hand_computed_values():
    metrics = regression_metrics([1.0, 2.0, 4.0], [1.0, 3.0, 2.0])
    assert metrics["mae"] == pytest.approx(1.0)
    assert metrics["rmse"] == pytest.approx(math.sqrt(5 / 3))
    # centred: true (-1, 1, 0), predicted (-4/3, -1/3, 5/3): r = (4/3 - 1/3) / sqrt(2 * 42/9)
    assert metrics["pearson_r"] == pytest.approx(1.0 / math.sqrt(2 * 42 / 9))
    assert math.isnan(pearson_r([1.0, 2.0], [3.0, 3.0]))
    assert not metric_greater_is_better("eval_mae") and metric_greater_is_better("test_auroc")


def test_metrics_reject_mismatched_input():
    with pytest.raises(ValueError, match="pair up"):
        regression_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        classification_metrics(np.zeros((2, 2)), [0, 2])


# ---------------------------------------------------------------------------------------------- label budgets


def test_parse_budget():
    assert parse_budget("5") == LabelBudget("per_class", 5.0)
    assert parse_budget("k=1").label == "1/class"
    assert parse_budget("10%") == LabelBudget("fraction", 0.1)
    assert parse_budget("0.25").label == "25%"
    assert parse_budget("1.0").kind == "all" and parse_budget("all").kind == "all"
    assert parse_budget("5").label_for("regression") == "5 ex."
    for bad in ("0", "1.5", "-0.2", "five"):
        with pytest.raises(ValueError, match="budget"):
            parse_budget(bad)


def test_draw_budget_is_stratified_and_seeded():
    labels = np.repeat([0, 1, 2], [10, 6, 2])
    chosen = draw_budget(labels, parse_budget("3"), seed=1)
    assert np.bincount(labels[chosen]).tolist() == [3, 3, 2]  # class 2 has only 2
    assert np.array_equal(chosen, draw_budget(labels, parse_budget("3"), seed=1))
    assert not np.array_equal(chosen, draw_budget(labels, parse_budget("3"), seed=2))
    assert np.bincount(labels[draw_budget(labels, parse_budget("0.5"), seed=0)]).tolist() == [5, 3, 1]
    targets = np.linspace(60, 90, 20, dtype=np.float32)
    assert len(draw_budget(targets, parse_budget("4"), seed=0)) == 4
    assert len(draw_budget(targets, parse_budget("all"), seed=0)) == 20


def test_carve_validation_keeps_recordings_together():
    labels = np.array([0] * 6 + [1] * 6)
    groups = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e", "f", "f"]
    pool, validation = carve_validation(len(labels), labels, groups, fraction=0.2, seed=0)
    assert len(np.intersect1d(pool, validation)) == 0 and len(pool) + len(validation) == 12
    held_out = {groups[i] for i in validation}
    assert all(groups[i] not in held_out for i in pool)  # no recording on both sides
    assert sorted(np.bincount(labels[validation]).tolist()) == [2, 2]


# ----------------------------------------------------------------------------------------------- pre-training


def test_align_corpus_resamples_mixed_rates_to_the_model():
    from citrus_hf.data.splits import load_split

    config = build_config("tiny")
    corpus = load_split("eeg_pretrain", "validation", EEG_OPTIONS)
    assert len(set(corpus["sampling_rate"])) > 1  # 1 kHz, 160 Hz and 128 Hz recordings
    aligned = align_corpus(corpus, config)
    row = aligned.with_format("numpy")[0]
    assert row["input_values"].shape == (1, config.context_length)
    # every 10 s window became 5 windows of 2 s at 50 Hz (one per channel for multi-channel rows)
    assert len(aligned) % 5 == 0 and len(aligned) >= 5 * len(corpus)


def test_auto_alignment_stretches_only_slow_series_that_resampling_would_crop():
    """ "auto" on real sets: infant_sleep's windows (8 heart-rate values, one per 16 s epoch = 128 s) would keep
    their first 10 s at citrus-small's 100 Hz, so they are stretched; watch_exercises' 4 s windows are resampled."""
    from citrus_hf.data import build_dataset
    from citrus_hf.data.alignment import resolve_alignment, task_feature_extractor

    small = build_config("citrus-small")  # 100 Hz, 1000 samples
    infant = build_dataset("infant_sleep")
    watch = build_dataset("watch_exercises")
    assert resolve_alignment("auto", [infant["train"], infant["test"]], small) == "interpolate"
    assert resolve_alignment("auto", [watch["train"]], small) == "resample"
    # at a rate where 128 s fit the window (0.5 Hz x 64 samples), resampling crops nothing
    slow = replace(small, sampling_rate=0.5, context_length=64, patch_length=8)
    assert resolve_alignment("auto", [infant["train"]], slow) == "resample"
    # one recording that resampling keeps whole is enough to resample the set
    mixed = infant["train"].select(range(3)).map(lambda row: {"sampling_rate": 1.0} if row["label"] >= 0 else row)
    assert resolve_alignment("auto", [infant["train"].select(range(3, 10)), mixed.select([0])], small) == "resample"
    for given in ("resample", "interpolate"):  # a choice given is kept
        assert resolve_alignment(given, [infant["train"]], small) == given
    with pytest.raises(ValueError, match="alignment must be one of"):
        resolve_alignment("stretch", [infant["train"]], small)
    with pytest.raises(ValueError, match="resolve_alignment"):
        task_feature_extractor(small, "auto")


def test_resumed_run_is_bit_identical_to_uninterrupted_run(tmp_path):
    """8 optimizer steps with gradient accumulation across an epoch boundary (10 micro-batches per epoch), straight
    vs interrupted after 3 steps and resumed from the checkpoint in a fresh loop."""
    straight = pretrain(_pretrain_args(tmp_path / "straight", per_device_batch_size=256))
    assert straight.completed and straight.steps == 8
    interrupted = pretrain(_pretrain_args(tmp_path / "resumed", per_device_batch_size=256, stop_after_steps=3))
    assert not interrupted.completed and not (tmp_path / "resumed" / "model.safetensors").exists()
    assert [p.name for p in checkpoints_in(tmp_path / "resumed")] == ["step-3"]
    resumed = pretrain(_pretrain_args(tmp_path / "resumed", per_device_batch_size=256, resume_from="latest"))
    assert resumed.completed and resumed.steps == 8
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[name], b[name]) for name in a)
    # and the run really trained: the weights moved away from the initialisation
    fresh = pretrain(_pretrain_args(tmp_path / "one_step", max_steps=1, per_device_batch_size=256))
    assert not all(torch.equal(a[name], fresh.model.state_dict()[name]) for name in a)


def test_killed_process_resumes_to_the_same_weights(tmp_path):
    """A `citrus pretrain` process killed (SIGKILL) after its step-3 checkpoint, resumed in a fresh loop, ends with the
    weights of an uninterrupted run. The process holds still right after writing that checkpoint (its save is wrapped
    to write a sentinel file and wait), so the kill lands at the same point on any machine, never mid-save or after
    the run has ended."""
    import textwrap
    import time

    killed = tmp_path / "killed"
    sentinel = tmp_path / "step-3-saved"
    arguments = [
        "pretrain", "--output-dir", str(killed), "--model-config", "tiny", "--dataset-options", "window_seconds=10",
        "hop_seconds=10", "--max-steps", "12", "--per-device-batch-size", "32", "--save-steps", "3",
        "--save-total-limit", "10", "--no-show-progress", "--report-to", "tensorboard",
    ]  # fmt: skip
    script = textwrap.dedent(
        f"""
        import pathlib, sys, time
        from citrus_hf.training.pretrain import PretrainingLoop
        from citrus_hf.commands.main import main

        save = PretrainingLoop.save_checkpoint

        def save_then_wait(self, step):
            save(self, step)
            if step == 3:
                pathlib.Path({str(sentinel)!r}).write_text("saved")
                time.sleep(600)

        PretrainingLoop.save_checkpoint = save_then_wait
        sys.exit(main({arguments!r}))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"}, stderr=subprocess.DEVNULL
    )
    checkpoint = killed / "checkpoints" / "step-3"
    deadline = time.monotonic() + 240
    while not sentinel.is_file() and time.monotonic() < deadline:  # a hang guard, not a measurement
        assert process.poll() is None, "the run ended before writing its step-3 checkpoint"
        time.sleep(0.05)
    process.kill()
    assert process.wait() == -9, "the run ended before it could be killed"
    assert not (killed / "model.safetensors").exists()

    changes = dict(max_steps=12, per_device_batch_size=32, gradient_accumulation_steps=1, save_steps=100)
    pretrain(_pretrain_args(killed, resume_from=str(checkpoint), **changes))
    pretrain(_pretrain_args(tmp_path / "straight", **changes))
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(killed / "model.safetensors"))
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_resume_with_a_wrong_folder_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a pre-training checkpoint"):
        pretrain(_pretrain_args(tmp_path / "run", resume_from=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
        pretrain(_pretrain_args(tmp_path / "run", resume_from="latest"))


def test_an_output_folder_holds_one_run_and_its_checkpoints_load(tmp_path):
    """A second run in the same folder had its own checkpoints pruned against the first's, and `--resume-from latest`
    then continued the first run past --max-steps; resuming with other model settings was a 66-line traceback; the
    step-N folders held Accelerate's state only, so a stopped run left nothing from_pretrained could load."""
    from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification

    run = tmp_path / "run"
    first = pretrain(_pretrain_args(run, max_steps=4, save_steps=2, per_device_batch_size=256))
    with pytest.raises(ValueError, match=r"already holds a pre-training run \(checkpoints \['step-2', 'step-4'\]\)"):
        pretrain(_pretrain_args(run, max_steps=2, per_device_batch_size=256))
    with pytest.raises(ValueError, match=r"other settings: --max-steps 2 \(the run: 4\)"):
        pretrain(_pretrain_args(run, max_steps=2, per_device_batch_size=256, resume_from="latest"))
    with pytest.raises(ValueError, match=r"other settings: --config-overrides \{'d_model': 64\} \(the run: \{\}\)"):
        pretrain(_pretrain_args(run, max_steps=4, config_overrides={"d_model": 64}, resume_from="latest"))
    with pytest.raises(ValueError, match=r"other settings: --per-device-batch-size 128 \(the run: 256\); --seed 3"):
        pretrain(_pretrain_args(run, max_steps=4, seed=3, resume_from="latest"))
    # a checkpoint written before the settings were recorded beside it: checked against the run's summary
    (run / "checkpoints" / "step-4" / "run_settings.json").unlink()
    with pytest.raises(ValueError, match=r"earlier citrus-hf.* other settings: --config-overrides \{'d_model': 64\}"):
        pretrain(_pretrain_args(run, max_steps=4, config_overrides={"d_model": 64}, resume_from="latest"))
    # nor a summary (a run killed before it ended): torch's size mismatch, as one line
    (run / "pretraining_summary.json").unlink()
    with pytest.raises(ValueError, match="holds another model than this command builds"):
        pretrain(_pretrain_args(run, max_steps=4, config_overrides={"d_model": 64}, resume_from="latest"))
    # a checkpoint folder is a model folder too: the final weights at the last step, a task model from an earlier one
    last = CiTrusForPretraining.from_pretrained(run / "checkpoints" / "step-4")
    assert all(torch.equal(a, b) for a, b in zip(last.state_dict().values(), first.model.state_dict().values()))
    CiTrusForSequenceClassification.from_pretrained(run / "checkpoints" / "step-2", num_labels=3)
    again = pretrain(
        _pretrain_args(run, max_steps=2, save_steps=2, per_device_batch_size=256, overwrite_output_dir=True)
    )
    assert again.steps == 2 and [p.name for p in checkpoints_in(run)] == ["step-2"]


def test_pretraining_writes_tensorboard_logs_and_a_loadable_model(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from citrus_hf import CiTrusForPretraining
    from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

    output = tmp_path / "run"
    result = pretrain(
        _pretrain_args(
            output,
            max_steps=4,
            per_device_batch_size=16,
            gradient_accumulation_steps=1,
            report_to="tensorboard",
            config_overrides={"pretraining_objective": "spectrogram"},
        )
    )
    events = sorted((output / "tensorboard").rglob("events.out.tfevents.*"), key=lambda p: p.stat().st_size)
    accumulator = EventAccumulator(str(events[-1].parent), size_guidance={"images": 0, "scalars": 0}).Reload()
    tags = accumulator.Tags()
    assert {"train/loss", "train/learning_rate", "eval/loss"} <= set(tags["scalars"])
    assert "reconstruction" in tags["images"]
    assert [event.step for event in accumulator.Scalars("train/loss")] == [2, 4]
    model = CiTrusForPretraining.from_pretrained(output)
    saved = model.state_dict()
    assert all(torch.equal(saved[name], tensor) for name, tensor in result.model.state_dict().items())
    extractor = CiTrusFeatureExtractor.from_pretrained(output)
    assert extractor.sampling_rate == 50.0 and extractor.context_length == 100
    summary = json.loads((output / "pretraining_summary.json").read_text())
    assert summary["steps"] == 4 and summary["world_size"] == 1


def test_pretraining_continues_from_a_checkpoints_weights_with_model(tmp_path, capsys, caplog):
    """`citrus pretrain --model CHECKPOINT` continues pre-training from its weights on another corpus (as
    transformers' run_mlm.py takes --model_name_or_path); --model-config of a checkpoint takes its settings only, and
    says so. With a learning rate of 1e-30 (a step no float32 weight can hold) the saved model is the checkpoint's, decoder
    included."""
    from citrus_hf import CiTrusForPretraining
    from citrus_hf.commands.main import main
    from citrus_hf.publishing.runs import pretraining_facts

    start = tmp_path / "start"
    pretrain(_pretrain_args(start, max_steps=2, per_device_batch_size=16, gradient_accumulation_steps=1))
    continued = tmp_path / "continued"
    options = [f"{key}={value}" for key, value in EEG_OPTIONS.items()]
    argv = ["pretrain", "--dataset", "eeg_pretrain", "--dataset-options", *options, "--max-steps", "1"]
    argv += ["--per-device-batch-size", "16", "--learning-rate", "1e-30", "--report-to", "none", "--no-show-progress"]
    assert main([*argv, "--model", str(start), "--output-dir", str(continued)]) == 0
    before = CiTrusForPretraining.from_pretrained(start).state_dict()
    after = CiTrusForPretraining.from_pretrained(continued).state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[name], after[name]) for name in before)
    summary = json.loads((continued / "pretraining_summary.json").read_text())
    assert summary["arguments"]["model"] == str(start)
    assert pretraining_facts(summary)["Continued from"] == str(start)
    # the same with --model-config: the settings only, fresh weights, and a line saying how to keep them
    fresh = tmp_path / "fresh"
    with caplog.at_level("WARNING", logger="citrus_hf.training.pretrain"):
        assert main([*argv, "--model-config", str(start), "--output-dir", str(fresh)]) == 0
    assert f"--model {start} continues from its weights" in caplog.text
    fresh_weights = CiTrusForPretraining.from_pretrained(fresh).state_dict()
    assert not all(torch.equal(before[name], fresh_weights[name]) for name in before)
    assert (
        main([*argv, "--model", str(start), "--config-overrides", "d_model=8", "--output-dir", str(tmp_path / "x")])
        == 2
    )
    assert "with --model the checkpoint's own config is used" in capsys.readouterr().err


def test_summary_records_held_out_and_baseline_losses_and_plots_them(tmp_path, monkeypatch):
    from citrus_hf.training.curves import load_summary, plot_pretraining_curve, pretraining_curve_figure

    changes = dict(max_steps=4, per_device_batch_size=16, gradient_accumulation_steps=1, logging_steps=1, eval_steps=2)
    result = pretrain(_pretrain_args(tmp_path / "run", **changes))
    summary = load_summary(tmp_path / "run")
    assert [step for step, _ in summary["train_losses"]] == [1, 2, 3, 4]
    assert summary["train_losses"][-1][1] == result.final_loss
    assert (
        [step for step, _ in summary["eval_losses"]] == [step for step, _ in summary["eval_baseline_losses"]] == [2, 4]
    )
    # the same held-out windows and masks at every evaluation: one baseline, about 1 for z-scored EEG samples
    baselines = {loss for _, loss in summary["eval_baseline_losses"]}
    assert len(baselines) == 1 and 0.8 < baselines.pop() < 1.1
    assert summary["pretraining_objective"] == "time"

    figure = pretraining_curve_figure(summary)
    lines = {line.get_label(): line for line in figure.axes[0].lines}
    train = lines["training loss"]
    assert list(train.get_xdata()) == [1, 2, 3, 4]
    assert list(train.get_ydata()) == [loss for _, loss in summary["train_losses"]]
    assert list(lines["baseline: predict the mean target"].get_ydata()) == [
        b for _, b in summary["eval_baseline_losses"]
    ]
    assert any(label.startswith("final held-out / baseline: ") for label in lines)
    # the title names the size a run gave its preset (citrus-small and citrus-base are both the "small" preset)
    sized = dict(
        summary, arguments={**summary["arguments"], "config_overrides": {"d_model": 256, "num_hidden_layers": 4}}
    )
    assert "model (width 256, 4 layers), time objective" in pretraining_curve_figure(sized).axes[0].get_title()
    png = plot_pretraining_curve(tmp_path / "run", tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    with pytest.raises(ValueError, match="older citrus-hf"):
        load_summary({"steps": 4, "eval_losses": []})
    with pytest.raises(FileNotFoundError, match="No pre-training summary"):
        load_summary(tmp_path)
    for module in ("matplotlib", "matplotlib.figure"):  # as without matplotlib (its modules may be loaded already)
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(
        ImportError, match="a dependency of citrus-hf that is not installed here: pip install matplotlib"
    ):
        pretraining_curve_figure(summary)


def test_held_out_rows_spread_over_the_whole_validation_split(tmp_path):
    """Corpora are ordered by source: the held-out batch must reach the split's last rows, not its first 128."""
    from datasets import Dataset

    from citrus_hf.training.pretrain import HeldOutLoss

    # row i holds the constant i: the batch's values say which rows it took
    windows = Dataset.from_dict(
        {"input_values": [np.full((1, 20), i, np.float32) for i in range(1000)], "patch_mask": [[1] * 2] * 1000}
    )
    args = _pretrain_args(tmp_path, per_device_batch_size=16, eval_batches=4)
    rows = HeldOutLoss(windows, args, None, None, with_baseline=False).batch["input_values"][:, 0, 0].long().tolist()
    assert len(rows) == 64 and rows[0] == 0 and rows[-1] == 999
    assert rows == sorted(set(rows)) and max(np.diff(rows)) <= 17


def _free_port() -> int:
    """A TCP port no process listens on now: each launch rendezvouses on its own, since pytest-xdist may run the two
    launches of this module at once (on one fixed port their four processes met as one group and hung)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch_failure(completed: subprocess.CompletedProcess) -> str:
    """What a failed two-process launch printed that says where it stopped: the stack of each thread running the
    launched script (innermost frames first, as faulthandler dumps a process that hung past its limit), then the end
    of stderr. The end alone held only a hung thread's outermost frames (seen once in a full suite, under load)."""
    dumps = re.split(r"\n(?=(?:Current thread|Thread) 0x)", completed.stderr)
    hung = [dump[:2000] for dump in dumps if "ddp_pretrain.py" in dump and "most recent call first" in dump]
    return "\n".join([*hung, "...", completed.stderr[-1500:]])


def _launch_two_processes(output: Path, *arguments: str) -> subprocess.CompletedProcess:
    """`accelerate launch` of the two-process script, once. A rank that hangs fails the test with its thread stacks
    (`launch_failure`): rank 1 used to wait forever in `pretrain`'s return in about a quarter of the launches on a
    loaded machine, when `accelerator.end_training()` destroyed the process group before the run's objects were
    freed, and was launched a second time here; `pretrain` now ends the training after them (0 of 20 launches hung)."""
    return _launch_two_processes_once(output, *arguments)


def _launch_two_processes_once(output: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
        "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        str(SCRIPTS / "ddp_pretrain.py"), str(output), *arguments,
    ]  # fmt: skip
    environment = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)


def test_two_processes_train_on_different_shards_and_save_rank0_weights(ddp_pretraining):
    """`accelerate launch` with two CPU processes (gloo). accelerate's `--cpu` flag starts several processes only
    through mpirun, so the CPU run goes through its torchrun launcher with ACCELERATE_USE_CPU=1."""
    completed, output = ddp_pretraining
    assert completed.returncode == 0, launch_failure(completed)
    assert "rank 0 of 2" in completed.stdout and "rank 1 of 2" in completed.stdout
    seen = []
    for rank in (0, 1):
        steps = [json.loads(line) for line in (output / f"sample_ids_rank{rank}.jsonl").read_text().splitlines()]
        assert [entry["step"] for entry in steps] == [0, 1, 2, 3]
        seen.append({i for entry in steps for i in entry["ids"]})
    assert len(seen[0]) == len(seen[1]) == 4 * 8 and not seen[0] & seen[1]
    saved = load_file(str(output / "model.safetensors"))
    rank0 = load_file(str(output / "rank0_weights.safetensors"))
    rank1 = load_file(str(output / "rank1_weights.safetensors"))
    assert saved.keys() == rank0.keys() == rank1.keys()
    assert all(torch.equal(saved[name], rank0[name]) and torch.equal(rank0[name], rank1[name]) for name in saved)
    assert json.loads((output / "pretraining_summary.json").read_text())["world_size"] == 2


# slow: the route is run by test_two_processes_train_on_different_shards_and_save_rank0_weights (the real-corpus
# launch); this adds the synthetic-stream variant, whose per-rank streams test_pretrain_determinism's
# test_pretraining_stream_batches_carry_the_rows_of_each_rank_shard checks in one process
@pytest.mark.slow
def test_two_processes_draw_their_own_synthetic_streams(ddp_pretraining_half_synthetic):
    """With synthetic windows each process reads its own stream (rank in its seed); the weights stay in step."""
    completed, output = ddp_pretraining_half_synthetic
    assert completed.returncode == 0, launch_failure(completed)
    sources = []
    for rank in (0, 1):
        steps = [json.loads(line) for line in (output / f"sample_ids_rank{rank}.jsonl").read_text().splitlines()]
        assert [entry["step"] for entry in steps] == [0, 1, 2, 3]
        sources.append([entry["sources"] for entry in steps])
    assert sources[0] != sources[1]
    saved = load_file(str(output / "model.safetensors"))
    rank1 = load_file(str(output / "rank1_weights.safetensors"))
    assert all(torch.equal(saved[name], rank1[name]) for name in saved)
    stream = json.loads((output / "pretraining_summary.json").read_text())["synthetic_stream"]
    assert stream["world_size"] == 2 and stream["synthetic_ratio"] == 0.5


def test_settings_that_would_change_nothing_are_named(tmp_path, caplog, capsys):
    """fp16 on a CPU (fp32 weights, recorded as fp16), a warm-up as long as the run, a checkpoint as --model-config
    (its settings only) went without a word; KEY=VALUE text where a mapping belongs failed inside the run."""
    from types import SimpleNamespace

    from citrus_hf.training.launch import mixed_precision_notes
    from citrus_hf.training.pretrain import _say_what_is_ignored

    args = _pretrain_args(
        tmp_path / "run", max_steps=2, mixed_precision="fp16", warmup_steps=5, model_config="citrus-small"
    )
    on_a_cpu = SimpleNamespace(device=torch.device("cpu"), is_main_process=True)
    with caplog.at_level("WARNING", logger="citrus_hf.training.pretrain"):
        _say_what_is_ignored(args, on_a_cpu)
    # (said with the other precision notes, which `citrus finetune` shares: `training.launch`)
    assert any(
        "--mixed-precision fp16 runs in fp32 on a CPU" in note for note in mixed_precision_notes("fp16", "fp16", "cpu")
    )
    assert "--warmup-steps 5 spans the whole run of 2 steps" in caplog.text
    assert "--model-config 'citrus-small' gives the model's settings only" in caplog.text
    # the shares the generator weights resolve to (on the command line, pairs update the default mix) are printed,
    # not only recorded in the summary
    pretrain(
        _pretrain_args(
            tmp_path / "synthetic",
            dataset=None,
            synthetic_ratio=1.0,
            synthetic_generators={"cauker": 0.3, "ecg": 0.6},
            max_steps=1,
            per_device_batch_size=8,
            gradient_accumulation_steps=1,
        )
    )
    assert "Synthetic share of the training windows 1, from: cauker 33%, ecg 67%." in capsys.readouterr().err
    for name in ("dataset_options", "config_overrides", "synthetic_generators"):
        with pytest.raises(ValueError, match=f"`{name}` must be a mapping of names to values"):
            _pretrain_args(tmp_path / "other", **{name: "window_seconds=10"})


def test_a_data_error_under_two_processes_is_one_line_on_each(tmp_path):
    """The corpus loads on the main process first while the others wait at a barrier: its error left them to die on
    a lost connection (a gloo traceback). Now every process meets the error in its own turn and says it in one line
    (torchrun's own report of the failed launch follows)."""
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
        "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "citrus_hf.commands", "pretrain", "--output-dir", str(tmp_path / "run"), "--model-config", "tiny",
        "--dataset-options", "window_seconds=10", "hop_seconds=10", "--eval-split", "valdation", "--no-show-progress",
    ]  # fmt: skip
    environment = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode != 0
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: Dataset 'eeg_pretrain' has no split 'valdation' for the validation loss; name one it "
                      "has, or pass --eval-split none to train without it."] * 2, completed.stderr[-2000:]  # fmt: skip
    assert "Connection closed" not in completed.stderr


def test_finetune_under_two_processes_trains_data_parallel_and_writes_the_folder_once(tmp_path):
    """`accelerate launch -m citrus_hf.commands finetune` with two CPU processes: every process wrote the same folder
    (a race on its files) and printed the run; the main process alone does now, and the record says the Trainer's
    steps were data-parallel (its batch size is per process)."""
    output = tmp_path / "ddp_finetune"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
        "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "citrus_hf.commands", "finetune", "--output-dir", str(output), "--dataset", "basic_motions",
        "--model-config", "tiny", "--config-overrides", "sampling_rate=10", "context_length=100", "patch_length=10",
        "--label-budget", "5", "--recipe", "finetune", "--max-steps", "2", "--per-device-batch-size", "4",
        "--report-to", "none", "--no-show-progress",
    ]  # fmt: skip
    environment = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    # DDP is not asked to look for unused parameters in a model that has none (torch warned of it on each rank)
    assert "find_unused_parameters" not in completed.stderr, completed.stderr[-3000:]
    assert completed.stdout.count(f"Saved to {output}") == 1, completed.stdout
    assert completed.stderr.count("--label-budget") <= 1  # a notice of the draw, if any, from the main process only
    results = json.loads((output / "finetune_results.json").read_text())
    assert results["world_size"] == 2 and results["steps"] == 2
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.publishing.runs import read_run_records

    CiTrusForSequenceClassification.from_pretrained(output)
    assert read_run_records(output).hyperparameters["Batch size"] == 8  # 4 windows per process and step


def test_a_lock_refused_on_the_main_process_is_raised_on_every_process(tmp_path, monkeypatch):
    """Under a launch, a process other than the main one takes no lock and raises the refusal the main process
    broadcasts, so that a refused run ends alike on every process (launched under two processes by the slow
    test_a_finetune_launch_into_a_folder_another_run_writes_ends_alike_on_every_process)."""
    from types import SimpleNamespace

    import accelerate.utils

    from citrus_hf.training.run_lock import output_folder_lock

    refusal = "--output-dir 'run' is being written by another run (citrus finetune, process 1)"
    sent = []
    monkeypatch.setattr(
        accelerate.utils, "broadcast_object_list", lambda objects, from_process: sent.extend(objects) or [refusal]
    )
    folder = tmp_path / "new" / "run"
    with pytest.raises(ValueError, match=re.escape(refusal)):
        with output_folder_lock(folder, "citrus finetune", launch=SimpleNamespace(is_main_process=False)):
            pytest.fail("a refused run ran")
    assert sent == [None] and not (tmp_path / "new").exists()  # it asked, and took and made nothing itself


# slow: the route (an error under two processes, one line on each) is run by
# test_a_data_error_under_two_processes_is_one_line_on_each; this adds the run lock's refusal, whose broadcast
# test_a_lock_refused_on_the_main_process_is_raised_on_every_process checks in one process
@pytest.mark.slow
def test_a_finetune_launch_into_a_folder_another_run_writes_ends_alike_on_every_process(tmp_path):
    """The main process alone took the output folder's run lock; refused, it left, and the other process died at
    its next barrier in a 30-line torch.distributed traceback. Every process now learns the refusal and says it."""
    import socket

    from citrus_hf.training.run_lock import LOCK_NAME

    output = tmp_path / "run"
    output.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])  # the live run
    record = {"pid": holder.pid, "host": socket.gethostname(), "command": "citrus finetune", "started": 0}
    (output / LOCK_NAME).write_text(json.dumps(record))
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
        "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "citrus_hf.commands", "finetune", "--output-dir", str(output), "--dataset", "basic_motions",
        "--model-config", "tiny", "--recipe", "finetune", "--max-steps", "2", "--no-show-progress",
    ]  # fmt: skip
    environment = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    try:
        completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    finally:
        holder.kill()
        holder.wait()  # reaped: an unwaited child is a ResourceWarning in the suite's summary
    # (the two processes write stderr at once, so their lines may run together: counted in the text, not by line)
    refusal = f"error: --output-dir {str(output)!r} is being written by another run"
    assert completed.stderr.count(refusal) == 2 and completed.stderr.count("error: ") == 2, completed.stderr
    assert "[rank1]" not in completed.stderr and "Connection closed" not in completed.stderr


# ------------------------------------------------------------------------------------------------ fine-tuning


def _har_args(output_dir, **changes) -> FinetuneArguments:
    values = dict(
        output_dir=str(output_dir),
        dataset="basic_motions",
        model_config="tiny",
        # BasicMotions' native rate and length: 10 Hz, 10 s
        config_overrides={"sampling_rate": 10.0, "context_length": 100, "patch_length": 10},
        normalization="dataset",
        trainer=TrainerSettings(
            num_train_epochs=15,
            per_device_batch_size=8,
            learning_rate=3e-3,
            early_stopping_patience=None,
            show_progress=False,
            logging_steps=50,
        ),
    )
    if changes.get("model") is not None:  # the checkpoint's config is the model's; these only build from scratch
        values.pop("config_overrides")
        values.pop("model_config")
    values.update(changes)
    return FinetuneArguments(**values)


def test_finetuned_classifier_beats_chance_on_real_har(tmp_path):
    from citrus_hf import CiTrusForSequenceClassification

    result = finetune(_har_args(tmp_path / "har"))
    # BasicMotions: 4 balanced classes (chance 25 %), 40 real test recordings of other sessions
    assert result.num_test == 40 and result.num_train + result.num_validation == 40
    assert result.test_metrics["accuracy"] >= 0.6, result.test_metrics
    assert result.test_metrics["auroc"] > 0.75
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "har")
    assert model.config.id2label[0] == "Standing" and model.config.normalization == "fixed"
    saved = json.loads((tmp_path / "har" / "finetune_results.json").read_text())
    assert saved["test_metrics"]["accuracy"] == pytest.approx(result.test_metrics["accuracy"])
    # what the result depends on beyond the arguments: the thread count enters training's parallel sums
    assert saved["environment"] == {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}


def test_pretraining_that_learns_nothing_says_so(tmp_path, capsys):
    """A run whose held-out loss is still at the level of predicting the mean a quarter of the way through warns at
    once, and again at its end; its summary records it; `citrus pretrain` prints each warning as one line."""
    from citrus_hf.commands.main import main
    from citrus_hf.training.pretrain import (
        SUMMARY_FILE,
        PretrainingDidNotLearnWarning,
        PretrainResult,
        not_learning_yet,
    )

    with pytest.warns(PretrainingDidNotLearnWarning) as caught:
        result = pretrain(_pretrain_args(tmp_path / "frozen", learning_rate=1e-12))  # the weights cannot move
    # 8 steps: too short for the early check (measured on runs of thousands) and for its advice; the end says so
    (end,) = [str(warning.message) for warning in caught if warning.category is PretrainingDidNotLearnWarning]
    assert end.startswith("Pre-training did not learn") and "A run of 8 steps is too short to tell" in end
    assert "x the loss of predicting the mean" in end  # far above the baseline: no "at the level of"
    assert result.learnt is False
    assert json.loads((tmp_path / "frozen" / SUMMARY_FILE).read_text())["learnt"] is False

    def finished(eval_loss, baseline):
        curve = [(10, eval_loss)] if eval_loss is not None else []
        base = [(10, baseline)] if baseline is not None else []
        return PretrainResult("out", 10, True, 0.5, curve, 1, 1, 1.0, eval_baseline_losses=base)

    assert finished(0.70, 1.0).learnt is True
    assert finished(0.99, 1.0).learnt is False
    assert "did not learn" in finished(0.99, 1.0).did_not_learn() and finished(0.70, 1.0).did_not_learn() is None
    long_run = PretrainResult("out", 1000, True, 0.5, [(1000, 0.99)], 1, 1, 1.0, eval_baseline_losses=[(1000, 1.0)])
    assert "is at the level of predicting" in long_run.did_not_learn() and "another --seed" in long_run.did_not_learn()
    assert finished(None, None).learnt is None and finished(0.7, None).learnt is None
    # the early check: from a quarter of the schedule, before its end (which the end's message covers)
    assert not_learning_yet(2999, 12000, 0.977, 0.974) is None
    assert "at step 3000 of 12000" in not_learning_yet(3000, 12000, 0.977, 0.974)
    assert "cnn_activation=gelu" in not_learning_yet(3000, 12000, 0.977, 0.974)
    assert "2.0x the loss of" in not_learning_yet(3000, 12000, 1.95, 0.974)
    assert not_learning_yet(4, 8, 5.9, 0.97) is None  # a smoke test of 8 steps is not judged early
    assert not_learning_yet(3000, 12000, 0.845, 1.016) is None and not_learning_yet(12000, 12000, 0.977, 0.974) is None

    command = ["pretrain", "--output-dir", str(tmp_path / "cli"), "--model-config", "tiny", "--max-steps", "8"]
    command += ["--dataset-options", "window_seconds=10", "hop_seconds=10", "--per-device-batch-size", "128"]
    command += ["--learning-rate", "1e-12", "--eval-steps", "4", "--report-to", "none", "--no-show-progress"]
    assert main(command) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert len(warned) == 1 and "did not learn" in warned[0]


@pytest.fixture(scope="module")
def har_pretrained(tmp_path_factory) -> Path:
    """A 2-step pre-training checkpoint on BasicMotions' contract (10 Hz, 10 s), to fit recipes from: one for the
    module, which its tests only read."""
    output_dir = tmp_path_factory.mktemp("har") / "pre"
    pretrain(
        _pretrain_args(
            output_dir,
            max_steps=2,
            per_device_batch_size=16,
            gradient_accumulation_steps=1,
            config_overrides={"sampling_rate": 10.0, "context_length": 100, "patch_length": 10},
        )
    )
    return output_dir


def test_probe_from_a_pretrained_checkpoint_keeps_the_backbone(tmp_path, har_pretrained):
    from citrus_hf import CiTrusForSequenceClassification

    finetune(
        _har_args(
            tmp_path / "probe",
            model=str(har_pretrained),
            recipe="probe",
            label_budget="2",
            trainer=TrainerSettings(num_train_epochs=3, per_device_batch_size=8, show_progress=False),
        )
    )
    pretrained = load_file(str(har_pretrained / "model.safetensors"))
    probed = CiTrusForSequenceClassification.from_pretrained(tmp_path / "probe").state_dict()
    backbone = [name for name in pretrained if name.startswith("citrus.")]
    assert backbone and all(torch.equal(pretrained[name], probed[name]) for name in backbone)
    results = json.loads((tmp_path / "probe" / "finetune_results.json").read_text())
    assert results["num_train"] == 8  # 2 per class
    assert results["recipe"] == "probe" and results["steps"] == 0 and results["recipe_details"]["ridge_alpha"] > 0
    # 6 channels x (CNN + 1 layer) x 16 statistics: from 2 labelled examples per class the probe pools the spread
    # and the dynamics too
    assert probed["classifier.weight"].shape == (4, 6 * 16 * 2 * 16)
    config = CiTrusForSequenceClassification.from_pretrained(tmp_path / "probe").config
    assert config.pooling == "mean_max_std_dynamics"


def test_auto_recipe_is_the_probe_below_20_labels_per_class_and_lpft_from_there_and_the_probe_for_regression():
    from citrus_hf.training.recipes import labels_per_class, resolve_recipe

    five_each = np.repeat(np.arange(4), 5)
    assert resolve_recipe("auto", labels_per_class(five_each, "classification")).name == "probe"
    # the smallest class decides: 20 of one class and 19 of another is still below 20 per class
    uneven = np.array([0] * 20 + [1] * 19)
    assert resolve_recipe("auto", labels_per_class(uneven, "classification")).name == "probe"
    assert resolve_recipe("auto", labels_per_class(np.repeat(np.arange(3), 20), "classification")).name == (
        "probe-finetune"
    )
    assert resolve_recipe("auto", labels_per_class(np.zeros(20), "regression"), "regression").name == "probe"
    # the probe with the dynamics beat LP-FT at 50 examples and with every label on the heart-rate sets
    assert resolve_recipe("auto", labels_per_class(np.zeros(500), "regression"), "regression").name == "probe"
    assert resolve_recipe("auto", None).name == "probe-finetune"
    assert resolve_recipe("auto", None, "regression").name == "probe"
    assert resolve_recipe("finetune", 5.0).name == "finetune"


def test_the_probe_pools_the_spread_and_dynamics_where_leave_one_out_chooses_its_penalty_and_lpft_the_spread():
    from citrus_hf.training.recipes import RECIPES

    probe, lpft = RECIPES["probe"], RECIPES["probe-finetune"]

    def each(per_class: int, classes: int = 3) -> np.ndarray:
        return np.repeat(np.arange(classes), per_class)

    assert probe.head_overrides_for(each(5), "classification") == {
        "head_features": "all_layers",
        "pooling": "mean_max_std_dynamics",
    }
    assert probe.head_overrides_for(each(2), "classification")["pooling"] == "mean_max_std_dynamics"
    # one example of some class, beside one of two: a fixed penalty, and the extra columns measured worse there
    one_of_a_class = np.array([0, 0, 1])
    assert probe.head_overrides_for(one_of_a_class, "classification")["pooling"] == "mean_max"
    # regression: leave-one-out chooses the penalty from 2 examples, and heart rate is a rhythm
    assert probe.head_overrides_for(np.zeros(2), "regression")["pooling"] == "mean_max_std_dynamics"
    assert probe.head_overrides_for(np.zeros(200), "regression")["pooling"] == "mean_max_std_dynamics"
    # LP-FT starts from the probe with the spread but not the dynamics (-3.92 points at 20 per class with them)
    assert lpft.head_overrides_for(each(20), "classification")["pooling"] == "mean_max_std"
    assert lpft.head_overrides_for(each(5), "classification")["pooling"] == "mean_max_std"
    assert lpft.head_overrides_for(np.zeros(40), "regression")["pooling"] == "mean_max_std_dynamics"
    assert lpft.head_overrides_for(one_of_a_class, "classification")["pooling"] == "mean_max"
    assert RECIPES["finetune"].head_overrides_for(each(5), "classification") == {}


def test_logit_temperature_turns_ridge_scores_into_calibrated_logits():
    from citrus_hf.training.recipes import logit_temperature

    labels = np.array([0, 1, 2, 0, 1, 2])
    confident = 2 * np.eye(3)[labels] - 1  # +-1 codes, every example right
    assert logit_temperature(confident, labels) >= 10  # every example right: sharpen (until the loss is 0)
    muddled = confident.copy()
    muddled[:3] = muddled[[1, 2, 0]]  # half the examples scored for the wrong class
    assert logit_temperature(muddled, labels) < logit_temperature(confident, labels)


def test_probe_finetune_starts_from_the_probe_and_moves_the_encoder(tmp_path, har_pretrained, monkeypatch):
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training import recipes

    # record what each member of the soup ended with and which seed it trained under
    members = []
    fit_one = recipes.FinetuneRecipe.fit

    def fit_and_record(self, model, train, validation, task, settings, output_dir, *args, **kwargs):
        outcome = fit_one(self, model, train, validation, task, settings, output_dir, *args, **kwargs)
        state = {name: tensor.detach().clone() for name, tensor in outcome.model.state_dict().items()}
        members.append((settings.seed, state))
        return outcome

    monkeypatch.setattr(recipes.FinetuneRecipe, "fit", fit_and_record)
    settings = TrainerSettings(max_steps=6, eval_steps=3, per_device_batch_size=8, show_progress=False)
    args = _har_args(tmp_path / "lpft", model=str(har_pretrained), recipe="probe-finetune", label_budget="5")
    result = finetune(replace(args, trainer=settings))
    results = json.loads((tmp_path / "lpft" / "finetune_results.json").read_text())
    soup_members = recipes.PROBE_FINETUNE_SOUP_MEMBERS
    assert results["recipe"] == "probe-finetune" and results["steps"] == 6 * soup_members
    details = results["recipe_details"]
    assert details["ridge_alpha"] > 0 and details["logit_temperature"] > 0
    # batches drawn from augmented copies too
    assert details["augmented_copies"] == recipes.PROBE_FINETUNE_AUGMENTED_COPIES
    assert details["soup_members"] == soup_members == len(members) == 2
    # the command says why `--max-steps 6` ran 12 steps
    from citrus_hf.commands.finetune import describe_fit

    assert describe_fit(result) == (
        "recipe probe-finetune, 12 steps (2 fine-tunings of 6 from the probe, their weights averaged)"
    )
    pretrained = load_file(str(har_pretrained / "model.safetensors"))
    tuned = CiTrusForSequenceClassification.from_pretrained(tmp_path / "lpft").state_dict()
    backbone = [name for name in pretrained if name.startswith("citrus.") and name in tuned]
    assert any(not torch.equal(pretrained[name], tuned[name]) for name in backbone)
    # the head reads what the probe reads at 5 per class (every layer; mean, max and std), 4 BasicMotions classes
    assert tuned["classifier.weight"].shape == (4, 6 * 16 * 2 * 3)
    assert result.test_metrics["accuracy"] > 0.25
    # the saved model is the members' weight average; the members trained under different seeds and differ
    (seed_a, member_a), (seed_b, member_b) = members
    assert seed_b == seed_a + recipes.PROBE_FINETUNE_SOUP_SEED_STRIDE
    assert any(not torch.equal(member_a[name], member_b[name]) for name in backbone)
    for name in tuned:
        torch.testing.assert_close(tuned[name], (member_a[name] + member_b[name]) / 2)
    # member 0 is the single fine-tuning: a one-member run ends exactly where it did
    members.clear()
    monkeypatch.setattr(recipes.ProbeFinetuneRecipe, "soup_members", 1)
    finetune(replace(args, output_dir=str(tmp_path / "single"), trainer=settings))
    single = CiTrusForSequenceClassification.from_pretrained(tmp_path / "single").state_dict()
    assert all(torch.equal(single[name], member_a[name]) for name in single)


def test_finetune_command_on_real_heart_rate_regression(tmp_path):
    """`citrus finetune SETTINGS.yaml --option ...`: the settings file and the command line together."""
    from citrus_hf.commands.main import main as training_cli

    settings = tmp_path / "finetune.yaml"
    settings.write_text(
        "dataset: hr_ecg\nmodel_config: tiny\nlabel_budget: '20'\nmax_steps: 6\neval_steps: 3\n"
        "per_device_batch_size: 8\nshow_progress: false\n"
    )
    assert training_cli(["finetune", str(settings), "--output-dir", str(tmp_path / "hr")]) == 0
    results = json.loads((tmp_path / "hr" / "finetune_results.json").read_text())
    assert results["task"] == "regression" and results["num_train"] == 20
    assert set(results["test_metrics"]) >= {"mae", "rmse", "pearson_r"}
    assert results["test_metrics"]["mae"] < 15.0  # heart rates, not zeros
    # "auto" fits regression with the probe, which reads the tokens' dynamics (heart rate is a rhythm)
    assert results["recipe"] == "probe"
    assert json.loads((tmp_path / "hr" / "config.json").read_text())["pooling"] == "mean_max_std_dynamics"


def test_lora_finetuning_saves_an_adapter_that_reloads_on_its_base(tmp_path, har_pretrained):
    from citrus_hf.training.lora import load_adapter

    result = finetune(
        _har_args(
            tmp_path / "lora",
            model=str(har_pretrained),
            lora=True,
            lora_r=2,
            lora_alpha=4,
            label_budget="2",
            trainer=TrainerSettings(num_train_epochs=2, per_device_batch_size=8, show_progress=False),
        )
    )
    assert set(result.test_metrics) >= {"accuracy", "auroc"}
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "lora" / "model.safetensors").exists()  # the adapter, not a copy of the model
    model = load_adapter(str(har_pretrained), tmp_path / "lora")
    base = model.get_base_model().state_dict()
    pretrained = load_file(str(har_pretrained / "model.safetensors"))
    frozen = [name for name in pretrained if name.startswith("citrus.") and name.endswith("norm.weight")]
    assert frozen and all(torch.equal(base[name], pretrained[name]) for name in frozen)


def test_finetune_arguments_are_checked():
    for recipe in ("probe", "probe-finetune"):  # probe-finetune with --lora quietly ran the finetune recipe
        with pytest.raises(ValueError, match=f"--lora runs the finetune recipe .*drop --recipe {recipe} or --lora"):
            FinetuneArguments(output_dir="x", dataset="basic_motions", model="citrus-small", recipe=recipe, lora=True)
    with pytest.raises(ValueError, match="recipe must be one of"):
        FinetuneArguments(output_dir="x", dataset="basic_motions", recipe="distill")
    with pytest.raises(FileNotFoundError, match="--model './no/such/run' is not a checkpoint folder"):
        FinetuneArguments(output_dir="x", dataset="basic_motions", model="./no/such/run")
    with pytest.raises(ValueError, match="normalization"):
        FinetuneArguments(output_dir="x", dataset="basic_motions", normalization="global")
    with pytest.raises(ValueError, match="give the pre-trained checkpoint with --model"):
        FinetuneArguments(output_dir="x", dataset="basic_motions", lora=True)
    with pytest.raises(ValueError, match="neither a folder nor a registered dataset"):
        finetune(FinetuneArguments(output_dir="x", dataset="no_such_set"))
    # paths as pathlib.Path, as Python users pass them: kept as the strings the command line gives (they are
    # written into finetune_results.json, which failed to serialise them after the model had been fitted)
    from citrus_hf import bundled_checkpoint

    arguments = FinetuneArguments(
        output_dir=Path("x"), dataset=Path("my_set"), model=bundled_checkpoint("citrus-small")
    )
    assert (arguments.output_dir, arguments.dataset) == ("x", "my_set") and isinstance(arguments.model, str)
    assert json.loads(json.dumps(dataclasses.asdict(arguments)))["output_dir"] == "x"
    from datasets import Dataset, DatasetDict

    in_memory = DatasetDict({"train": Dataset.from_dict({"label": [0, 1]})})
    with pytest.raises(TypeError, match=r"`dataset` takes a path or a name .* got a DatasetDict; save an in-memory"):
        FinetuneArguments(output_dir="x", dataset=in_memory)


def test_flushing_denormals_leaves_numpy_float_limits_quiet():
    """numpy measures float limits lazily; measured after the flush it found the smallest subnormal to be zero and
    warned, eight lines at the start of every `citrus demo` (a fresh process: the setting is the process's)."""
    script = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "from citrus_hf.training.numerics import flush_denormals\n"
        "flush_denormals()\n"
        "import numpy as np\n"
        "limits = [np.finfo(dtype) for dtype in (np.float16, np.float32, np.float64)]\n"
        "assert limits[1].eps == 2.0**-23 and limits[2].tiny == 2.0**-1022\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_denormals_are_flushed_in_the_block_and_process_wide_after_flush_denormals():
    """Subnormal floats (1e-39 in fp32) read as zero inside `denormals_flushed()` and not after it; once
    `flush_denormals()` ran, also in threads started later and after the block (a fresh process: the setting is the
    process's)."""
    script = (
        "import threading, torch\n"
        "from citrus_hf.training.numerics import denormals_flushed, flush_denormals\n"
        "tiny = torch.tensor([1e-39])\n"
        "with denormals_flushed() as supported:\n"
        "    inside = (tiny * 1.0).item()\n"
        "after = (tiny * 1.0).item()\n"
        "flush_denormals()\n"
        "seen = []\n"
        "thread = threading.Thread(target=lambda: seen.append((tiny * 1.0).item()))\n"
        "thread.start(); thread.join()\n"
        "with denormals_flushed():\n"
        "    pass\n"
        "print(supported, inside, after, seen[0], (tiny * 1.0).item())\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    supported, inside, after, in_new_thread, at_the_end = run.stdout.split()
    if supported != "True":
        pytest.skip("this CPU cannot flush subnormal floats")
    assert float(inside) == 0.0 and float(after) == pytest.approx(1e-39)
    assert float(in_new_thread) == 0.0 and float(at_the_end) == 0.0


def test_trainer_settings_may_be_given_as_a_mapping():
    """`FinetuneArguments(trainer={"seed": 1})` (as a YAML file gives it) failed with "'dict' object has no attribute
    'lr_scheduler_type'"."""
    arguments = FinetuneArguments(output_dir="x", dataset="basic_motions", trainer={"seed": 1, "max_steps": 4})
    assert isinstance(arguments.trainer, TrainerSettings) and arguments.trainer.max_steps == 4
    with pytest.raises(ValueError, match=r"`trainer` has no settings \['max_step'\]"):
        FinetuneArguments(output_dir="x", dataset="basic_motions", trainer={"max_step": 4})
    with pytest.raises(TypeError, match="must be a TrainerSettings"):
        FinetuneArguments(output_dir="x", dataset="basic_motions", trainer=4)


def test_numpy_integers_are_taken_as_settings():
    """`check_positive(..., integer=True)` took Python ints only: a value read from an array (np.int64) was refused."""
    from citrus_hf.training.arguments import check_positive

    check_positive("max_steps", np.int64(4), integer=True)
    check_positive("learning_rate", np.float32(1e-3))
    with pytest.raises(ValueError, match="--max-steps must be an integer >= 1"):
        check_positive("max_steps", np.float64(4.5), integer=True)


def test_mostly_padded_windows_are_said_to_be_with_the_fix_for_their_cause(caplog):
    """The warning always advised building the corpus with the model's window_seconds, which citrus-small's own
    recipe already does: its padding comes from recordings shorter than the window, kept as rows of their own."""
    from datasets import Dataset

    from citrus_hf.training.pretrain import _warn_if_mostly_padding

    config = build_config("tiny")  # 2 s windows of 10 patches
    short_rows = Dataset.from_dict({"patch_mask": [[1] * 3 + [0] * 7] * 10})
    with caplog.at_level("WARNING"):
        _warn_if_mostly_padding(short_rows, config)
    assert "Only 30% of the training windows' patches hold signal: the corpus rows are all shorter" in caplog.text
    assert "window_seconds=2" in caplog.text
    caplog.clear()
    beside_full = Dataset.from_dict({"patch_mask": [[1] * 10] * 2 + [[1] * 2 + [0] * 8] * 8})
    with caplog.at_level("WARNING"):
        _warn_if_mostly_padding(beside_full, config)
    assert "80% of the windows come from recordings (or their ends) shorter" in caplog.text
    assert "min_seconds=" in caplog.text and "window_seconds" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        _warn_if_mostly_padding(Dataset.from_dict({"patch_mask": [[1] * 10] * 4}), config)
    assert caplog.text == ""
