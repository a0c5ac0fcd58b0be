"""Modalities at their native rates (audit 66): "auto" alignment stretching rows of different durations, a checkpoint
trained on stretched rows meeting a recording of another duration, a CSV clock that drifts, jitters or counts in
nanoseconds since the epoch, and `window_seconds` leaving the end of every example out or cutting part of a patch."""

from __future__ import annotations

import json
import logging

import datasets
import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf.commands.main import main

PREDICT = ["--backend", "torch", "--no-show-progress"]


def _set(folder, train: dict, test: dict | None = None):
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(train), "test": datasets.Dataset.from_dict(test or train)}
    ).save_to_disk(str(folder))
    return str(folder)


def _rows(lengths, rate: float, seed: int = 0, frequency: float = 1.5) -> dict:
    """Sine rows of `lengths` samples at `rate` Hz, labelled alternately 0 / 1."""
    rng = np.random.default_rng(seed)
    signals = [
        (np.sin(2 * np.pi * frequency * np.arange(n) / rate) + 0.1 * rng.standard_normal(n))[None].astype(np.float32)
        for n in lengths
    ]
    return {
        "input_values": signals,
        "label": [i % 2 for i in range(len(lengths))],
        "sampling_rate": [rate] * len(lengths),
    }


# --------------------------------------------------------------------- 1. "auto" stretches rows of one duration only


def test_auto_stretches_rows_only_when_they_share_one_duration():
    """PPG rows of 11-15 s at 64 Hz (each under the 1000 samples of a 10 s window at 100 Hz) were stretched onto the
    window each by its own factor, scaling each row's heart rate by its own duration (MAE 5.87 bpm vs 0.54)."""
    from citrus_hf.data.alignment import cropped_rows_notice, resolve_alignment

    small = tiny_config(sampling_rate=100.0, context_length=1000, patch_length=10)
    varying = datasets.Dataset.from_dict(_rows(np.linspace(704, 960, 8).astype(int), 64.0))
    assert resolve_alignment("auto", [varying], small) == "resample"
    # the notice of the crop no longer offers stretching as the cure
    notice = cropped_rows_notice([varying], small)
    assert "last 11 to 15 s, so --alignment interpolate would stretch each by its own factor" in notice
    one_duration = datasets.Dataset.from_dict(_rows([960] * 6, 64.0))
    assert resolve_alignment("auto", [one_duration], small) == "interpolate"
    # a sample apart is one duration still (a recorder that stops on a sample boundary)
    nearly = datasets.Dataset.from_dict(_rows([960, 961, 960, 961], 64.0))
    assert resolve_alignment("auto", [nearly], small) == "interpolate"
    # the splits together: a test split of another duration resamples the set
    other = datasets.Dataset.from_dict(_rows([800] * 3, 64.0))
    assert resolve_alignment("auto", [one_duration, other], small) == "resample"


# ------------------------------------------------- 2. a stretched checkpoint meets a recording of another duration


@pytest.fixture(scope="module")
def stretched_checkpoint(tmp_path_factory):
    """A tiny model fine-tuned on 3 s rows at 32 Hz (96 samples, under the 100 of its 2 s window at 50 Hz): "auto"
    stretches them."""
    root = tmp_path_factory.mktemp("stretched")
    dataset = _set(root / "set", _rows([96] * 12, 32.0))
    output = root / "run"
    argv = ["finetune", "--dataset", dataset, "--model-config", "tiny", "--recipe", "probe", "--label-budget", "4"]
    assert main([*argv, "--no-show-progress", "--output-dir", str(output)]) == 0
    return output


def test_a_stretched_checkpoint_records_the_duration_it_was_trained_on(stretched_checkpoint):
    saved = json.loads((stretched_checkpoint / "preprocessor_config.json").read_text())
    assert saved["alignment"] == "interpolate" and saved["stretched_seconds"] == [3.0, 3.0]
    from citrus_hf import CiTrusFeatureExtractor

    assert CiTrusFeatureExtractor.from_pretrained(stretched_checkpoint).stretched_seconds == [3.0, 3.0]


def test_the_stretched_duration_is_a_checked_setting():
    from citrus_hf import CiTrusFeatureExtractor

    for bad in ([3.0], [-1.0, 2.0], [4.0, 3.0], [float("nan"), 3.0], "3"):
        with pytest.raises((ValueError, TypeError), match="stretched_seconds"):
            CiTrusFeatureExtractor(stretched_seconds=bad)
    assert CiTrusFeatureExtractor(stretched_seconds=(2, 3)).stretched_seconds == [2.0, 3.0]


def test_predict_warns_once_per_recording_of_another_duration_than_the_stretched_rows(
    stretched_checkpoint, tmp_path, caplog
):
    """A 60 s PPG file at 90 bpm was squeezed onto one window of a model fitted on 15 s rows and scored 100.7 bpm,
    without a word."""
    rng = np.random.default_rng(1)
    for name, seconds in (("same.npy", 3.0), ("close.npy", 3.03), ("long.npy", 12.0), ("short.npy", 1.5)):
        np.save(tmp_path / name, rng.standard_normal((1, int(round(seconds * 32)))).astype(np.float32))
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert main(["predict", str(stretched_checkpoint), str(tmp_path), "--sampling-rate", "32", *PREDICT]) == 0
    stretched = [record.getMessage() for record in caplog.records if "stretched onto" in record.getMessage()]
    assert len(stretched) == 2, stretched
    long, short = sorted(stretched, key=lambda text: "long.npy" not in text)
    assert "long.npy" in long and "lasts 12 s" in long and "3 s" in long and "4x" in long
    assert "short.npy" in short and "lasts 1.5 s" in short


def test_the_pipeline_says_it_for_an_array_too(tmp_path, caplog):
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    torch.manual_seed(0)
    config = tiny_config(num_labels=2)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config, alignment="interpolate", stretched_seconds=[10.0, 10.0]).save_pretrained(
        tmp_path
    )
    classify = pipeline(model=str(tmp_path), backend="torch")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        classify(np.zeros((1, 1000), np.float32), sampling_rate=100)  # 10 s: as trained
        assert "stretched onto" not in caplog.text
        for _ in range(2):  # once per recording, not once per process
            classify(np.zeros((1, 3000), np.float32), sampling_rate=100)
    assert caplog.text.count("lasts 30 s") == 2
