"""Audit 67 (variable-length inputs and masks): recordings padded with NaN (or masked) after their end, pre-training
masks and spectrogram targets of windows batched with longer ones, augmentations of a partly filled last patch,
`group_by_length` over rows of a batched map, and transformers' padding options (`pad_to_multiple_of` in the call,
`pad(max_length=...)` past the context).

A tiny contract throughout (2 s at 100 Hz, 200 samples in 10 patches of 20): each test takes a second or two on a CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
from tiny_configs import tiny_config
from transformers import pipeline, set_seed

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

RATE = 100


def tiny_extractor(**overrides) -> CiTrusFeatureExtractor:
    """The extractor of the tiny contract, for two channels."""
    return CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2), **overrides)


def nan_padded(recordings: list[np.ndarray], length: int) -> np.ndarray:
    """`(batch, channels, length)`: the recordings `(channels, time)` stacked, NaN after each one's end (tslearn's
    `to_time_series_dataset` layout)."""
    batch = np.full((len(recordings), recordings[0].shape[0], length), np.nan)
    for row, recording in zip(batch, recordings):
        row[:, : recording.shape[-1]] = recording
    return batch


# ----------------------------------------------------------------------------------- 1. NaN padding at the ends


@pytest.fixture
def short_and_long():
    rng = np.random.default_rng(5)
    return rng.standard_normal((2, 70)), rng.standard_normal((2, 200))


@pytest.mark.parametrize("as_masked_array", [False, True], ids=["nan", "masked"])
def test_a_nan_tail_is_length_padding_under_interpolate(short_and_long, as_masked_array):
    """The tail was interpolated (the last value held flat) and `patch_mask` marked it as signal: a 0.7 s recording
    was scored as a 2 s one with a flat end."""
    short, long = short_and_long
    batch = nan_padded([short, long], 200)
    if as_masked_array:
        batch = np.ma.masked_invalid(batch)
    extractor = tiny_extractor()
    padded = extractor(batch, sampling_rate=RATE, nan_policy="interpolate")
    own = extractor([short, long], sampling_rate=RATE)
    assert padded["patch_mask"].sum(-1).tolist() == [4, 10]
    np.testing.assert_array_equal(padded["input_values"], own["input_values"])
    np.testing.assert_array_equal(padded["patch_mask"], own["patch_mask"])


def test_a_nan_run_at_the_start_is_left_out_and_window_times_stay_the_recordings(short_and_long):
    _, long = short_and_long
    extractor = tiny_extractor()
    recording = np.concatenate([np.full((2, 50), np.nan), long, np.full((2, 30), np.nan)], axis=-1)
    resampled = extractor(recording[None], sampling_rate=RATE, nan_policy="interpolate")
    np.testing.assert_array_equal(resampled["input_values"], extractor(long[None], sampling_rate=RATE)["input_values"])
    windows = extractor([recording], sampling_rate=RATE, nan_policy="interpolate", alignment="window", hop_length=100)
    # the windows of the 2 s of signal, timed from the start of the array given (0.5 s of NaN first)
    np.testing.assert_allclose(windows["window_start_seconds"], [0.5])
    np.testing.assert_array_equal(windows["input_values"], extractor(long[None], sampling_rate=RATE)["input_values"])


def test_nan_in_some_channels_only_is_still_interpolated(short_and_long):
    """Padding is what every channel lacks; a channel that stops early is a gap, filled as before."""
    _, long = short_and_long
    recording = long.copy()
    recording[0, 150:] = np.nan
    features = tiny_extractor()(recording[None], sampling_rate=RATE, nan_policy="interpolate")
    assert features["patch_mask"].sum() == 10
    np.testing.assert_allclose(features["input_values"][0, 0, 150:], features["input_values"][0, 0, 149])


def test_the_default_refusal_names_a_nan_tail_as_length_padding(short_and_long):
    short, long = short_and_long
    with pytest.raises(ValueError) as refused:
        tiny_extractor()(nan_padded([short, long], 200), sampling_rate=RATE)
    message = str(refused.value)
    assert "recording 0 ends in 130 samples that are NaN in every channel" in message
    assert "padding" in message and "list of arrays of their own lengths" in message
    assert "nan_policy='interpolate'" in message
    # a NaN inside the recording is not called padding
    inside = long.copy()
    inside[:, 100] = np.nan
    with pytest.raises(ValueError) as refused:
        tiny_extractor()(inside[None], sampling_rate=RATE)
    assert "padding" not in str(refused.value)


def test_the_pipeline_scores_a_nan_padded_recording_as_the_recording(tmp_path, short_and_long):
    set_seed(0)
    config = tiny_config(num_labels=3, num_channels=2)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    classify = pipeline(model=str(tmp_path), backend="torch")
    short, long = short_and_long
    alone = classify(short, sampling_rate=RATE)
    padded = classify(nan_padded([short], 200)[0], sampling_rate=RATE, nan_policy="interpolate")
    assert padded["label"] == alone["label"] and padded["score"] == pytest.approx(alone["score"], abs=1e-6)
    assert [(w["start"], w["end"]) for w in padded["windows"]] == [(0.0, 0.7)]
    # NaN before the signal: the windows keep the times of the array given
    late = np.concatenate([np.full((2, 30), np.nan), long, np.full((2, 20), np.nan)], axis=-1)
    result = classify(late, sampling_rate=RATE, nan_policy="interpolate")
    on_time = classify(long, sampling_rate=RATE)
    assert [(w["start"], w["end"]) for w in result["windows"]] == [(0.3, 2.3)]
    assert result["score"] == pytest.approx(on_time["score"], abs=1e-6) and result["unscored_seconds"] == 0.0
