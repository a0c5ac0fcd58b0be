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
from citrus_hf.data.errors import CorruptFileError, SamplingRateError
from citrus_hf.data.readers import read_recording

PREDICT = ["--backend", "torch", "--no-show-progress"]


def _set(folder, train: dict, test: dict | None = None):
    # (without a test split, train's rows negated: windows of their own, as a test split of train's is refused)
    test = test or {**train, "input_values": [-np.asarray(window) for window in train["input_values"]]}
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(train), "test": datasets.Dataset.from_dict(test)}
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


# --------------------------------------------------------------------------------- 3-5. a CSV's time column


def _timed_csv(path, stamps, header: str = "time", fmt: str = "%.6f", seed: int = 0):
    values = np.random.default_rng(seed).standard_normal((len(stamps), 2))
    with open(path, "w") as handle:
        handle.write(f"{header},a,b\n")
        handle.writelines(f"{fmt % stamp},{x:.5f},{y:.5f}\n" for stamp, (x, y) in zip(stamps, values))
    return path


def test_a_clock_that_drifts_from_the_rate_given_is_refused_with_its_rate(tmp_path):
    """A phone's "100 Hz" at 98.2 Hz was read as 100 Hz without a word: 16 s off at 15 minutes."""
    rng = np.random.default_rng(0)
    stamps = np.maximum.accumulate(np.arange(30_000) / 98.2 + 0.0005 * rng.standard_normal(30_000))
    drift = _timed_csv(tmp_path / "drift.csv", stamps, fmt="%.4f")
    with pytest.raises(SamplingRateError, match=r"98\.2\d* Hz.*given is 100 Hz.*--sampling-rate 98\.2"):
        read_recording(drift, sampling_rate=100)
    assert read_recording(drift, sampling_rate=98.2).data.shape == (2, 30_000)
    # 0.5 % off, over 2 minutes of a clean clock: 0.6 s by the end, refused too
    off = _timed_csv(tmp_path / "off.csv", np.arange(12_000) / 100.5)
    with pytest.raises(SamplingRateError, match=r"100\.5 Hz"):
        read_recording(off, sampling_rate=100)
    # a crystal's few parts per million are no drift worth a refusal
    crystal = _timed_csv(tmp_path / "crystal.csv", np.arange(12_000) / 100.002)
    assert read_recording(crystal, sampling_rate=100).data.shape == (2, 12_000)


def test_a_jittery_clock_is_read_and_a_missing_sample_in_it_is_refused(tmp_path):
    """A 100 Hz clock jittering by 1.5 ms (nothing missing) was refused as 'samples missing' for a jump under one
    sample."""
    rng = np.random.default_rng(0)
    clock = np.arange(6000) / 100
    stamps = np.maximum.accumulate(clock + 0.0015 * rng.standard_normal(6000))
    assert np.diff(stamps).max() > 0.015  # steps over 1.5 of its step, which the old rule called a gap
    jitter = _timed_csv(tmp_path / "jitter.csv", stamps)
    assert read_recording(jitter, sampling_rate=100).data.shape == (2, 6000)
    # one sample missing (after data row 3000), in the same jitter
    missing = _timed_csv(tmp_path / "missing.csv", np.delete(stamps, 3000))
    with pytest.raises(CorruptFileError, match=r"\(0\.01\d* s of samples missing\) after data row 3000,"):
        read_recording(missing, sampling_rate=100)
    # a minute missing, on a clean clock
    gap = _timed_csv(tmp_path / "gap.csv", np.r_[clock[:3000], clock[3000:] + 60])
    with pytest.raises(CorruptFileError, match=r"jumps from 29\.99 to 90 s \(60 s of samples missing\)"):
        read_recording(gap, sampling_rate=100)
    # a clock that goes back
    back = _timed_csv(tmp_path / "back.csv", np.r_[clock[:3000], clock[3000:] - 10])
    with pytest.raises(CorruptFileError, match="goes back from 29.99 to 20 s"):
        read_recording(back, sampling_rate=100)


def test_a_class_folder_names_the_file_with_the_gap_not_a_jittery_one(tmp_path):
    from citrus_hf.data.splits import load_task_splits

    rng = np.random.default_rng(0)
    clock = np.arange(1000) / 100
    for split in ("train", "test"):
        for label in ("a", "b"):
            (tmp_path / split / label).mkdir(parents=True)
            for index in range(2):
                stamps = np.maximum.accumulate(clock + 0.0015 * rng.standard_normal(clock.size))
                _timed_csv(tmp_path / split / label / f"{index}.csv", stamps)
    _timed_csv(tmp_path / "train" / "b" / "2.csv", np.r_[clock[:500], clock[500:] + 5])
    with pytest.raises(ValueError, match=r"2\.csv: its time column 'time' jumps from 4\.99 to 10 s"):
        load_task_splits(str(tmp_path), sampling_rate=100, require_validation=False)


def test_sensor_logger_exports_read_their_two_time_columns_as_time(tmp_path):
    """Sensor Logger writes `time` (nanoseconds since the epoch) and `seconds_elapsed` beside z, y, x: the first was
    refused advising --sampling-rate 9.99987e-08, the second was read as a channel (a ramp trained on)."""
    elapsed = np.arange(1200) / 100
    xyz = np.random.default_rng(0).standard_normal((1200, 3))
    nanoseconds = 1_740_000_000_000_000_000 + np.round(elapsed * 1e9).astype(np.int64)
    with open(tmp_path / "both.csv", "w") as handle:
        handle.write("time,seconds_elapsed,z,y,x\n")
        handle.writelines(
            f"{a},{b:.3f},{z:.5f},{y:.5f},{x:.5f}\n" for a, b, (z, y, x) in zip(nanoseconds, elapsed, xyz)
        )
    with open(tmp_path / "elapsed.csv", "w") as handle:
        handle.write("seconds_elapsed,z,y,x\n")
        handle.writelines(f"{b:.3f},{z:.5f},{y:.5f},{x:.5f}\n" for b, (z, y, x) in zip(elapsed, xyz))
    for name in ("both.csv", "elapsed.csv"):
        recording = read_recording(tmp_path / name, sampling_rate=100)
        assert recording.channel_names == ["z", "y", "x"], name
        np.testing.assert_allclose(recording.data, xyz.T, atol=1e-5)
    # the nanosecond clock against another rate: its rate in Hz, its unit named
    with pytest.raises(SamplingRateError, match=r"steps 1e\+07 ns between samples \(100 Hz\).*--sampling-rate 100\b"):
        read_recording(tmp_path / "both.csv", sampling_rate=250)
    # milliseconds since the epoch (a `timestamp` column), read as such
    _timed_csv(tmp_path / "ms.csv", 1_740_000_000_000 + np.arange(1000) * 10.0, header="timestamp", fmt="%.0f")
    assert read_recording(tmp_path / "ms.csv", sampling_rate=100).channel_names == ["a", "b"]


def test_a_gap_in_epoch_time_stamps_prints_them_whole(tmp_path):
    """ "jumps from 1.74e+09 to 1.74e+09 s" told nothing."""
    stamps = 1_740_000_000 + np.r_[np.arange(3000), np.arange(9000, 12000)] / 100
    gap = _timed_csv(tmp_path / "epoch.csv", stamps, header="timestamp", fmt="%.3f")
    with pytest.raises(CorruptFileError, match=r"jumps from 1740000029\.99 to 1740000090 s \(60 s of samples"):
        read_recording(gap, sampling_rate=100)


# ------------------------------------------------------------------------------- 6-7. window_seconds of your own


def test_the_share_of_samples_no_window_covers_is_said(tmp_path, caplog):
    """10 s examples cut into 4 s windows lose their last 2 s (20 % of the set); the line said only '24 windows'."""
    from citrus_hf.data.splits import load_task_splits

    dataset = _set(tmp_path / "set", _rows([1000] * 4, 100.0))
    with caplog.at_level(logging.INFO, logger="citrus_hf"):
        load_task_splits(dataset, {"window_seconds": 4}, require_validation=False)
    lines = [record.getMessage() for record in caplog.records if "are cut into" in record.getMessage()]
    assert lines and all("20% of their samples" in line for line in lines), lines
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="citrus_hf"):  # windows that cover every sample say nothing of it
        load_task_splits(dataset, {"window_seconds": 5}, require_validation=False)
    assert "of their samples" not in caplog.text and "are cut into" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="citrus_hf"):  # a window of no whole number of samples says so
        load_task_splits(
            _set(tmp_path / "slow", _rows([640] * 4, 64.0)), {"window_seconds": 0.3}, require_validation=False
        )
    assert "19 samples (0.297 s) at 64 Hz" in caplog.text


def test_a_window_of_part_of_a_patch_is_rounded_to_whole_patches_which_the_checkpoint_records(tmp_path, caplog):
    """window_seconds=0.25 at 100 Hz is 2.5 patches of 10: training padded each window with zeros marked as signal,
    the checkpoint recorded 0.3 s, and predict scored 0.3 s windows of signal that no training window was."""
    dataset = _set(tmp_path / "set", _rows([800] * 8, 200.0))  # 4 s at 200 Hz
    output = tmp_path / "run"
    argv = ["finetune", "--dataset", dataset, "--model-config", "tiny", "--recipe", "probe", "--label-budget", "4"]
    # the tiny model: 50 Hz, patches of 10 samples (0.2 s); 0.5 s is 2.5 patches
    argv += ["--dataset-options", "window_seconds=0.5", "--no-show-progress", "--output-dir", str(output)]
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert main(argv) == 0
    assert "window_seconds=0.5 is 2.5 patches" in caplog.text and "cut at 0.6 s (3 patches)" in caplog.text
    # 4 s rows: 6 windows of 0.6 s each, 0.4 s left
    assert "48 windows of 0.6 s every 0.6 s" in caplog.text and "10% of their samples" in caplog.text
    assert json.loads((output / "config.json").read_text())["context_length"] == 30
    assert json.loads((output / "preprocessor_config.json").read_text())["context_length"] == 30
