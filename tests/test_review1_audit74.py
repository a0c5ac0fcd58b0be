"""Review of `citrus evaluate`'s per-recording scores (4b1f982, 03a4f4b).

(a) A model that answers every window alike (the prior arm's class frequencies, MiniRocket of one labelled example)
gave each recording a mean a rounding apart from the next one's (the seconds-weighted sum of one value is not that
value), so per-recording AUROC and correlation ranked rounding: the prior's `recording_auroc` came out 1.0 or 0.6,
its `recording_pearson_r` a number, where the windows' were 0.5 and undefined (NaN).
(b) A resume fitted again every run recorded before runs were scored per recording on a set with recordings: the
published few-shot runs' watch_exercises and myo_gestures alone, 2.3 hours, to add a seed or an arm; on another
machine (thread count, torch version) refitted runs also moved the published window-level figures. Such runs are
reused with their window figures, `per_recording` saying why they have no per-recording scores, and the resume's
warning and results.md say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from citrus_hf.commands.main import main

RATE = 50.0


def _evaluate(folder: Path, output: Path, arms: list[str], *options: str, seeds: str = "0") -> list[dict]:
    argv = ["evaluate", "--datasets", str(folder), "--sampling-rate", str(RATE), "--budgets", "1", "--seeds", *seeds]
    argv += ["--arms", *arms, "--model-config", "tiny", "--no-show-progress", "--output-dir", str(output)]
    argv += ["--dataset-options", f"{folder}:window_seconds=2", *options]
    assert main(argv) == 0
    return json.loads((output / "results.json").read_text())["runs"]


def test_windows_of_one_output_give_a_recording_exactly_that_output():
    from citrus_hf import modeling_citrus
    from citrus_hf.inference import pipelines

    row = torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64)
    for seconds in (torch.tensor([2.0, 2.0, 2.0, 0.7, 1.3]), torch.tensor([1.0, 0.0, 2.0, 2.0, 2.0])):
        for rule in (modeling_citrus.recording_mean, pipelines._seconds_weighted_mean):
            assert torch.equal(rule(row.repeat(5, 1), seconds), row)


def test_the_priors_per_recording_scores_rank_no_rounding(recording_folders, tmp_path):
    prior = _evaluate(recording_folders, tmp_path / "eval", ["prior"], "--score-split", "validation")[0]
    # (the validation carve's recordings, of 4 to 7 windows, summed one value to means that differed in rounding)
    # one output for every window: no recording ranks above another, as no window does
    assert prior["auroc"] == 0.5 and prior["recording_auroc"] == 0.5


def test_constant_predictions_have_no_per_recording_correlation():
    from citrus_hf.training.recipes import recording_metrics

    counts = [3, 5, 4, 7, 2, 6]
    recordings = np.repeat(np.arange(len(counts)), counts).astype(str)
    targets = np.repeat(np.arange(1.0, len(counts) + 1), counts)
    seconds = np.random.default_rng(0).uniform(1, 2, len(recordings))
    predictions = np.full((len(recordings), 1), 3.3)
    metrics, scored = recording_metrics(predictions, targets, recordings, seconds, "regression")
    assert scored == len(counts) and np.isnan(metrics["pearson_r"])
    assert metrics["mae"] == pytest.approx(np.mean(np.abs(np.arange(1.0, 7) - 3.3)))


def test_a_resume_reuses_runs_recorded_before_per_recording_scores(recording_folders, tmp_path, caplog):
    output = tmp_path / "eval"
    _evaluate(recording_folders, output, ["prior"], seeds="01")
    older = [json.loads(line) for line in (output / "runs.jsonl").read_text().splitlines()]
    for run in older:  # as an earlier version recorded them, with a mark that a refit would not keep
        for key in [key for key in run if key.startswith("recording_") or key == "scored_recordings"]:
            del run[key]
        run["seconds"] = 1234.5
    (output / "runs.jsonl").write_text("".join(json.dumps(run) + "\n" for run in older))
    with caplog.at_level("WARNING", logger="citrus_hf.evaluation.protocol"):
        runs = _evaluate(recording_folders, output, ["prior"], seeds="012")
    reused, fitted = [run for run in runs if run["seed"] < 2], [run for run in runs if run["seed"] == 2]
    assert [run["seconds"] for run in reused] == [1234.5, 1234.5]
    assert all(run["macro_f1"] == old["macro_f1"] for run, old in zip(reused, older, strict=True))
    assert all(run["per_recording"].startswith("not scored per recording: recorded before") for run in reused)
    assert fitted[0]["scored_recordings"] == 4 and "per_recording" not in fitted[0]
    assert "2 of them were recorded before runs were scored per labelled recording" in caplog.text
    markdown = (output / "results.md").read_text()
    assert "(1 of 3 seeds)" in markdown  # the per-recording table: seed 2 alone
    assert "Runs of prior: not scored per recording: recorded before runs were scored per labelled recording" in (
        markdown
    )


def test_an_arm_of_ones_own_may_return_its_models_logits_as_they_come(recording_folders, tmp_path):
    """`test_outputs` as a model's `logits` (a tensor with its graph, in bfloat16): numpy's RuntimeError ("Can't call
    numpy() on Tensor that requires grad") escaped the protocol, and bfloat16 was refused as "not an array"."""
    from citrus_hf.evaluation.arms import ARMS, Arm, register_arm
    from citrus_hf.training.metrics import classification_metrics

    class Logits(Arm):
        name = "logits-review1"
        description = "class 0 everywhere, as a tensor"
        dtype = torch.float32

        def run(self, context, prepared, chosen, seed, run_dir):
            weight = torch.ones(1, requires_grad=True)
            logits = (torch.tensor([[1.0, 0.0]]).repeat(len(context.scored_labels()), 1) * weight).to(self.dtype)
            test = classification_metrics(logits.detach().float().numpy(), context.scored_labels())
            return {"test": test, "test_outputs": logits}

    arm = Logits()
    register_arm(arm)
    try:
        for dtype in (torch.float32, torch.bfloat16):
            arm.dtype = dtype
            run = _evaluate(recording_folders, tmp_path / str(dtype), [arm.name])[0]
            assert run["scored_recordings"] == 4 and run["recording_accuracy"] == 0.5
    finally:
        ARMS.pop(arm.name)


def test_the_scored_splits_windows_are_read_once_per_set_not_once_per_run(recording_folders, tmp_path, monkeypatch):
    """Which windows hold no signal was read from every row of the scored split for every run (6 s a run on 5000
    windows of 8 channels: minutes over a set's arms, budgets and seeds); the set's context reads it once."""
    from citrus_hf.data import windowing

    reads = []
    original = windowing.rows_without_signal
    monkeypatch.setattr(windowing, "rows_without_signal", lambda split: reads.append(len(split)) or original(split))
    runs = _evaluate(recording_folders, tmp_path / "eval", ["prior", "minirocket"], seeds="012")
    assert len(runs) == 6 and all(run["scored_recordings"] == 4 for run in runs)
    assert reads == [16]
