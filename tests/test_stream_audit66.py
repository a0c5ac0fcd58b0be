"""Audit 66, chunked and streaming inference: a hop longer than the window left the recording's end unscored even
with `pad_last_window=True` (and `citrus predict` advised `--pad-last-window` when it was given); consecutive chunks
of a stream lost each tail shorter than a window without a sign in the results; an explicit
`pad_last_window=False`, the documented default, made a recording shorter than a window an error; an error in a
DataLoader worker (`num_workers`) came as torch's 38-line wrapper with the citrus message last.

The pipelines run a tiny classifier (100 Hz, 2 s windows of 10 patches) on the torch backend.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier
from transformers import pipeline

RATE = 100
CLI = ["--sampling-rate", "100", "--no-show-progress", "--backend", "torch"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return str(save_tiny_classifier(tmp_path_factory.mktemp("classifier"), num_labels=3))


@pytest.fixture(scope="module")
def classify(classifier):
    return pipeline(model=classifier, backend="torch")


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(round(seconds * RATE)).astype(np.float32)


def _spans(result: dict) -> list[tuple[float, float]]:
    return [(round(window["start"], 6), round(window["end"], 6)) for window in result["windows"]]


# ------------------------------------------------------------------------------ 3. pad_last_window=False given


def test_an_explicit_pad_last_window_false_scores_a_short_recording_as_the_default(classifier, classify):
    short = _signal(1.5)
    default = classify(short, sampling_rate=RATE)
    assert _spans(default) == [(0.0, 1.5)]
    assert classify(short, sampling_rate=RATE, pad_last_window=False) == default
    chunks = [_signal(seconds, seed) for seed, seconds in enumerate([5, 5, 1.5, 5])]
    built = pipeline(model=classifier, backend="torch", pad_last_window=False)
    assert [len(result["windows"]) for result in built((chunk for chunk in chunks), sampling_rate=RATE)] == [2, 2, 1, 2]


# ------------------------------------------------------------------------------ 4. an error in a DataLoader worker


def test_an_error_in_a_dataloader_worker_is_the_citrus_error_itself(classify):
    chunks = [_signal(5, seed) for seed in range(3)]
    chunks[1][100:120] = np.nan
    with pytest.raises(ValueError) as alone:
        list(classify((chunk for chunk in chunks), sampling_rate=RATE))
    with pytest.raises(ValueError) as in_worker:
        list(classify((chunk for chunk in chunks), sampling_rate=RATE, num_workers=1))
    assert str(in_worker.value) == str(alone.value)
    assert str(alone.value).startswith("recording 1 contains 20 NaN values") and "\n" not in str(alone.value)
