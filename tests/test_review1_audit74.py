"""Review of `citrus evaluate`'s per-recording scores (4b1f982, 03a4f4b).

(a) A model that answers every window alike (the prior arm's class frequencies, MiniRocket of one labelled example)
gave each recording a mean a rounding apart from the next one's (the seconds-weighted sum of one value is not that
value), so per-recording AUROC and correlation ranked rounding: the prior's `recording_auroc` came out 1.0 or 0.6,
its `recording_pearson_r` a number, where the windows' were 0.5 and undefined (NaN).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from citrus_hf.commands.main import main

RATE = 50.0


def _evaluate(folder: Path, output: Path, arms: list[str], *options: str) -> list[dict]:
    argv = ["evaluate", "--datasets", str(folder), "--sampling-rate", str(RATE), "--budgets", "1", "--seeds", "0"]
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
