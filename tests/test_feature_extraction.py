"""Tests of CiTrusFeatureExtractor: resampling maths on synthetic tones, alignment shapes, errors, save / load."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
import torch
from hub_server import run_client
from scipy.signal import resample_poly
from tiny_configs import tiny_config
from transformers import AutoFeatureExtractor, BatchFeature

from citrus_hf import feature_extraction_citrus
from citrus_hf.configuration_citrus import CiTrusConfig
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.modeling_citrus import CiTrusModel

MODEL_RATE = 100.0
CONTEXT = 3000


def make_extractor(**kwargs) -> CiTrusFeatureExtractor:
    """The paper's 100 Hz / 3000-sample single-channel model, channel-independent, unless overridden."""
    params = {"sampling_rate": MODEL_RATE, "context_length": CONTEXT, "num_channels": 1, "patch_length": 20}
    params.update(kwargs)
    return CiTrusFeatureExtractor(**params)


def tone(frequency: float, rate: float, seconds: float, amplitude: float = 1.0, phase: float = 0.0) -> np.ndarray:
    time = np.arange(round(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * frequency * time + phase)


def fit_tone(signal: np.ndarray, frequency: float, rate: float) -> tuple[float, float]:
    """Least-squares amplitude and phase of a sine of `frequency` (plus offset) in `signal`."""
    time = np.arange(signal.shape[-1]) / rate
    basis = np.stack([np.sin(2 * np.pi * frequency * time), np.cos(2 * np.pi * frequency * time), np.ones_like(time)])
    (sin_weight, cos_weight, _), *_ = np.linalg.lstsq(basis.T, signal, rcond=None)
    return float(np.hypot(sin_weight, cos_weight)), float(np.arctan2(cos_weight, sin_weight))


# ----------------------------------------------------------------------------------------------- resampling maths


@pytest.mark.parametrize("source_rate", [174.0, 1000.0, 4000.0, 64000.0])
def test_sine_arrives_at_model_rate_with_its_frequency_amplitude_and_phase(source_rate):
    frequency, amplitude, phase = 7.3, 2.5, 0.4
    extractor = make_extractor(normalization="none")
    features = extractor(tone(frequency, source_rate, 30.0, amplitude, phase), sampling_rate=source_rate)
    output = features["input_values"][0, 0].astype(np.float64)

    assert features["input_values"].shape == (1, 1, CONTEXT)
    assert features["patch_mask"].all()
    spectrum = np.abs(np.fft.rfft(output * np.hanning(CONTEXT)))
    peak = np.fft.rfftfreq(CONTEXT, d=1 / MODEL_RATE)[spectrum.argmax()]
    assert abs(peak - frequency) <= MODEL_RATE / CONTEXT  # one FFT bin
    fitted_amplitude, fitted_phase = fit_tone(output, frequency, MODEL_RATE)
    assert fitted_amplitude == pytest.approx(amplitude, rel=0.01)
    # the first output sample sits at the first input sample's time: no shift
    assert abs(np.angle(np.exp(1j * (fitted_phase - phase)))) < 0.02


def test_tone_above_model_nyquist_does_not_alias():
    # 70 Hz at 1 kHz, for a 100 Hz model: plain decimation folds it onto 30 Hz; the anti-aliasing filter removes it.
    signal = tone(70.0, 1000.0, 30.0)
    naive_alias, _ = fit_tone(signal[::10], 30.0, MODEL_RATE)
    assert naive_alias > 0.9  # the measurement does see an alias when there is one

    output = make_extractor(normalization="none")(signal, sampling_rate=1000)["input_values"][0, 0]
    alias, _ = fit_tone(output.astype(np.float64), 30.0, MODEL_RATE)
    assert alias < 0.01
    # away from the ends (where the filter sees the mirrored extension) nothing of the tone is left
    assert np.abs(output[100:-100]).max() < 0.01


def test_awkward_rate_uses_a_close_rational_ratio():
    assert feature_extraction_citrus._resampling_factors(174.0, 100.0) == (50, 87)
    assert feature_extraction_citrus._resampling_factors(64000.0, 100.0) == (1, 640)
    up, down = feature_extraction_citrus._resampling_factors(173.61, 100.0)
    assert abs(173.61 * up / down - 100.0) < 1e-4


def test_resample_crops_input_before_resampling_without_changing_the_result():
    recording = np.random.default_rng(0).standard_normal((2, 174 * 600))  # 10 minutes at 174 Hz
    output = make_extractor(normalization="none")(recording, sampling_rate=174)["input_values"][0]
    window = feature_extraction_citrus._polyphase_filter(50, 87)  # resample_poly's design at unity branch gains
    full = resample_poly(recording, 50, 87, axis=-1, window=window, padtype="symmetric")[:, :CONTEXT]
    np.testing.assert_allclose(output, full, atol=1e-5)


def test_large_input_split_over_threads_matches_single_thread(monkeypatch):
    recording = np.random.default_rng(1).standard_normal((4, 300_000)).astype(np.float32)
    threaded = feature_extraction_citrus._resample(recording, 1, 5)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    np.testing.assert_array_equal(threaded, feature_extraction_citrus._resample(recording, 1, 5))


# ------------------------------------------------------------------------------------------ alignment and shapes

# TF-C downstream sets: (channels, samples, Hz) and, with "resample" at 100 Hz, how many patches hold signal.
TFC_SETS = {
    "emg": (1, 1500, 4000.0, 2),  # 0.375 s -> 38 samples
    "fd-b": (1, 5120, 64000.0, None),  # 0.08 s -> 8 samples: less than one 20-sample patch
    "epilepsy": (1, 178, 174.0, 6),  # ~1 s -> 103 samples
    "gesture": (3, 315, 100.0, 16),  # 3.15 s, already at 100 Hz
}


@pytest.mark.parametrize("name", list(TFC_SETS))
def test_tfc_shapes_interpolate(name):
    channels, samples, rate, _ = TFC_SETS[name]
    batch = np.random.default_rng(0).standard_normal((4, channels, samples))
    features = make_extractor(alignment="interpolate")(batch, sampling_rate=rate, return_tensors="pt")
    assert features["input_values"].shape == (4, channels, CONTEXT)
    assert features["input_values"].dtype == torch.float32
    assert features["patch_mask"].shape == (4, CONTEXT // 20)
    assert bool(features["patch_mask"].all())


@pytest.mark.parametrize("name", list(TFC_SETS))
def test_tfc_shapes_resample(name):
    channels, samples, rate, real_patches = TFC_SETS[name]
    batch = np.random.default_rng(0).standard_normal((4, channels, samples))
    extractor = make_extractor(padding_value=-5.0, padding="max_length")
    if real_patches is None:
        with pytest.raises(ValueError, match="shorter than one patch.*alignment='interpolate'"):
            extractor(batch, sampling_rate=rate)
        return
    features = extractor(batch, sampling_rate=rate)
    values, mask = features["input_values"], features["patch_mask"]
    assert values.shape == (4, channels, CONTEXT)
    np.testing.assert_array_equal(mask.sum(axis=1), real_patches)
    real = int(np.ceil(samples * MODEL_RATE / rate))
    assert np.all(values[..., real:] == -5.0)  # padding written after normalisation
    np.testing.assert_allclose(values[..., :real].mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(values[..., :real].std(axis=-1), 1.0, atol=1e-4)


@pytest.mark.parametrize("name", [name for name, (*_, patches) in TFC_SETS.items() if patches is not None])
def test_padding_longest_keeps_a_recordings_own_duration(name, monkeypatch):
    """The default: a short recording keeps its duration (whole patches), says so once, and gives the same values
    as the fixed window's signal part."""
    channels, samples, rate, real_patches = TFC_SETS[name]
    batch = np.random.default_rng(0).standard_normal((4, channels, samples))
    messages, details = [], []
    monkeypatch.setattr(feature_extraction_citrus.logger, "warning_once", messages.append)
    monkeypatch.setattr(feature_extraction_citrus.logger, "info_once", messages.append)
    monkeypatch.setattr(feature_extraction_citrus.logger, "debug", details.append)
    kept = make_extractor()(batch, sampling_rate=rate)
    fixed = make_extractor(padding="max_length")(batch, sampling_rate=rate)
    assert kept["input_values"].shape == (4, channels, real_patches * 20)
    assert kept["patch_mask"].shape == (4, real_patches) and bool(kept["patch_mask"].all())
    np.testing.assert_array_equal(kept["input_values"], fixed["input_values"][..., : real_patches * 20])
    assert any("kept at" in m and "own duration" in m and "nothing needs changing" in m for m in messages)
    assert any("kept at their own duration" in m and f"{real_patches} patches" in m for m in details)
    assert any("padding='longest'" in m and "padded to it (padding='max_length'" in m for m in messages)
    assert any("The recordings fill at most" in m and "model samples of each window" in m for m in details)


def test_padding_longest_pads_to_the_longest_of_the_call_and_caps_at_max_length():
    extractor = make_extractor(normalization="none")
    features = extractor([np.ones(130), np.ones(45)], sampling_rate=100)
    assert features["input_values"].shape == (2, 1, 140)
    np.testing.assert_array_equal(features["patch_mask"], [[1] * 7, [1, 1, 1, 0, 0, 0, 0]])
    assert extractor(np.ones(5000), sampling_rate=100, max_length=200)["input_values"].shape == (1, 1, 200)
    assert extractor(np.ones(50), sampling_rate=100, padding="max_length", max_length=200)["input_values"].shape == (
        1,
        1,
        200,
    )
    with pytest.raises(ValueError, match="multiple of patch_length"):
        extractor(np.ones(50), sampling_rate=100, max_length=30)
    with pytest.raises(ValueError, match="padding='middle'"):
        extractor(np.ones(50), sampling_rate=100, padding="middle")


def test_interpolate_keeps_endpoints_and_stretches_linearly():
    recording = np.array([0.0, 1.0, 3.0])
    values = make_extractor(context_length=5, patch_length=5, normalization="none", alignment="interpolate")(
        recording, sampling_rate=174
    )["input_values"][0, 0]
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0, 2.0, 3.0])


def test_window_alignment_cuts_the_resampled_recording():
    rng = np.random.default_rng(0)
    long_recording = rng.standard_normal((2, 500 * 95))  # 95 s at 500 Hz
    short_recording = rng.standard_normal((2, round(174 * 61.5)))  # 61.5 s at 174 Hz
    extractor = make_extractor(normalization="none", alignment="window", hop_length=1500)
    features = extractor([long_recording, short_recording], sampling_rate=[500, 174])

    # 95 s -> 9500 samples: windows start at 0, 15, 30, 45, 60 s; 61.5 s -> 6150 samples: at 0, 15, 30 s
    np.testing.assert_array_equal(features["recording_index"], [0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(features["window_start_seconds"], [0, 15, 30, 45, 60, 0, 15, 30])
    assert features["input_values"].shape == (8, 2, CONTEXT)
    assert features["patch_mask"].all()
    resampled = resample_poly(long_recording, 1, 5, axis=-1, padtype="symmetric")
    np.testing.assert_allclose(features["input_values"][3], resampled[:, 4500:7500], atol=1e-5)


def test_window_alignment_pads_the_last_window_only_when_asked():
    recording = np.random.default_rng(0).standard_normal(100 * 70)  # 70 s at the model rate
    extractor = make_extractor(alignment="window")
    dropped = extractor(recording, sampling_rate=100)
    assert dropped["input_values"].shape[0] == 2
    kept = extractor(recording, sampling_rate=100, pad_last_window=True)
    np.testing.assert_allclose(kept["window_start_seconds"], [0, 30, 60])
    np.testing.assert_array_equal(kept["patch_mask"].sum(axis=1), [150, 150, 50])
    assert np.all(kept["input_values"][2, :, 1000:] == 0.0)
    with pytest.raises(ValueError, match="recording 0 lasts 20 s, shorter than one window.*pad_last_window=True"):
        extractor(recording[:2000], sampling_rate=100)


def test_window_with_a_hop_longer_than_the_context_skips_the_gaps_but_not_the_end():
    recording = np.arange(100 * 90, dtype=np.float64)  # 90 s at the model rate: windows at 0-30 s and 50-80 s
    features = make_extractor(alignment="window", hop_length=5000, pad_last_window=True)(recording, sampling_rate=100)
    # 30-50 s are the gap the hop asks for; the next hop (100 s) is past the end, so the padded window holds 80-90 s
    np.testing.assert_allclose(features["window_start_seconds"], [0, 50, 80])
    np.testing.assert_array_equal(features["patch_mask"].sum(axis=1), [150, 150, 50])


def test_long_recording_in_resample_mode_keeps_the_start_and_says_so(monkeypatch):
    messages = []
    monkeypatch.setattr(feature_extraction_citrus.logger, "warning_once", messages.append)
    recording = np.arange(100 * 40, dtype=np.float64)
    values = make_extractor(normalization="none")(recording, sampling_rate=100)["input_values"]
    np.testing.assert_array_equal(values[0, 0], recording[:CONTEXT])
    assert any("alignment='window'" in message for message in messages)


# ---------------------------------------------------------------------------------------------- normalisation


def test_zscore_per_window_and_channel_and_constant_channels_become_zeros():
    rng = np.random.default_rng(0)
    recording = np.stack([5 + 3 * rng.standard_normal(CONTEXT), np.full(CONTEXT, 3.7), np.zeros(CONTEXT)])
    values = make_extractor()(recording, sampling_rate=100)["input_values"][0]
    assert np.isfinite(values).all()
    assert values[0].mean() == pytest.approx(0.0, abs=1e-5) and values[0].std() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_array_equal(values[1:], 0.0)


def test_float64_keeps_small_variations_on_a_large_offset():
    """float32's step at 1e5 is 0.008: float64 input holds a 0.05 sine on that offset exactly, and z-scoring must see
    it as the same sine without the offset. float32 input holds it in about 13 steps: that coarse sine is what it
    gives (it was zeroed as a constant window)."""
    time = np.arange(CONTEXT) / 100
    sine = 0.05 * np.sin(2 * np.pi * 1.3 * time)
    extractor = make_extractor()
    on_offset = extractor(1e5 + sine, sampling_rate=100)["input_values"][0]
    np.testing.assert_allclose(on_offset, extractor(sine, sampling_rate=100)["input_values"][0], atol=1e-6)
    assert on_offset.std() == pytest.approx(1.0, abs=1e-4)
    coarse = extractor((1e5 + sine).astype(np.float32), sampling_rate=100)["input_values"][0, 0]
    assert coarse.std() == pytest.approx(1.0, abs=1e-4) and np.corrcoef(coarse, on_offset[0])[0, 1] > 0.95


def test_fixed_and_no_normalisation():
    recording = np.random.default_rng(0).standard_normal((2, CONTEXT)) * 4 + 1
    fixed = make_extractor(
        num_channels=2, normalization="fixed", normalization_mean=[1.0, -1.0], normalization_std=[2.0, 4.0]
    )
    values = fixed(recording, sampling_rate=100)["input_values"][0]
    np.testing.assert_allclose(values, (recording - [[1.0], [-1.0]]) / [[2.0], [4.0]], rtol=1e-5, atol=1e-6)
    unchanged = make_extractor(num_channels=2, normalization="none")(recording, sampling_rate=100)["input_values"][0]
    np.testing.assert_allclose(unchanged, recording, rtol=1e-6)
    with pytest.raises(ValueError, match="statistics for 2"):
        fixed(recording[:1], sampling_rate=100)


# ------------------------------------------------------------------------------------------------- input forms


def test_input_forms_and_return_types():
    rng = np.random.default_rng(0)
    extractor = make_extractor(normalization="none")
    mono = rng.standard_normal(CONTEXT)
    reference = extractor(mono, sampling_rate=100)["input_values"]
    assert isinstance(reference, np.ndarray) and reference.shape == (1, 1, CONTEXT)
    for same in (mono[None], mono.tolist(), torch.from_numpy(mono), mono[None, None], [mono]):
        np.testing.assert_allclose(extractor(same, sampling_rate=100)["input_values"], reference, rtol=1e-6)
    np.testing.assert_allclose(
        extractor(torch.from_numpy(mono).to(torch.bfloat16), sampling_rate=100)["input_values"], reference, atol=0.05
    )
    integers = (mono * 1000).astype(np.int16)
    np.testing.assert_allclose(
        extractor(integers, sampling_rate=100)["input_values"][0, 0], integers.astype(np.float32), rtol=1e-6
    )

    ragged = [rng.standard_normal(1000), rng.standard_normal((1, 2500)), torch.randn(1, 50)]
    features = extractor(ragged, sampling_rate=[100, 250, 10], padding="max_length", return_tensors="pt")
    assert isinstance(features, BatchFeature)
    assert features["input_values"].shape == (3, 1, CONTEXT) and features["input_values"].dtype == torch.float32
    assert features["patch_mask"].dtype == torch.int64
    np.testing.assert_array_equal(features["patch_mask"].sum(dim=1).numpy(), [50, 50, 25])


def test_channel_independent_passthrough_says_what_happens(monkeypatch):
    messages = []
    monkeypatch.setattr(feature_extraction_citrus.logger, "warning_once", messages.append)
    features = make_extractor(channel_independent=True)(np.random.randn(2, 5, 400), sampling_rate=100)
    assert features["input_values"].shape == (2, 5, 400)
    assert any("5 channels" in message and "on its own with shared weights" in message for message in messages)


def test_many_channels_of_short_recordings_are_not_taken_for_transposed_ones():
    """High-density EEG in short epochs has more channels than samples: 128 channels of 0.4 s at 250 Hz pass; only
    far more channels than samples (8x, beyond 16 channels) reads as (time, channels)."""
    epochs = np.random.default_rng(0).standard_normal((128, 100))
    features = make_extractor(channel_independent=True)(epochs, sampling_rate=250)
    assert features["input_values"].shape == (1, 128, 40)


def test_channels_picked_by_name():
    names = ["Fpz-Cz", "Pz-Oz"]
    extractor = make_extractor(num_channels=2, channel_names=names, channel_independent=False, normalization="none")
    recording = np.stack([np.full(CONTEXT, float(value)) for value in range(4)])
    values = extractor(recording, sampling_rate=100, input_channel_names=["EOG", "pz-oz", "Resp", "FPZ-CZ"])
    np.testing.assert_array_equal(values["input_values"][0, :, 0], [3.0, 1.0])
    with pytest.raises(ValueError, match=r"lacks the checkpoint channel\(s\) \['Pz-Oz'\]"):
        extractor(recording, sampling_rate=100, input_channel_names=["EOG", "Fpz-Cz", "Resp", "O1"])
    with pytest.raises(ValueError, match="has 3 names but recording 0 has 4 channels"):
        extractor(recording, sampling_rate=100, input_channel_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="names no channels to pick by them"):
        make_extractor(num_channels=2)(recording, sampling_rate=100, input_channel_names=["a", "b", "c", "d"])


def test_nan_policy_interpolate_fills_from_neighbours():
    recording = np.arange(CONTEXT, dtype=np.float64)
    recording[[10, 11, 500]] = [np.nan, np.inf, np.nan]
    values = make_extractor(normalization="none")(recording, sampling_rate=100, nan_policy="interpolate")
    np.testing.assert_allclose(values["input_values"][0, 0], np.arange(CONTEXT))
    assert np.isnan(recording[10])  # the caller's array is left alone


def test_features_feed_the_model():
    config = tiny_config(channel_pooling="mean")
    model = CiTrusModel(config).eval()
    extractor = CiTrusFeatureExtractor.from_config(config)
    padded = extractor(
        np.random.default_rng(0).standard_normal((2, 1, 178)),
        sampling_rate=174,
        padding="max_length",
        return_tensors="pt",
    )
    kept = extractor(np.random.default_rng(0).standard_normal((2, 1, 178)), sampling_rate=174, return_tensors="pt")
    with torch.no_grad():
        assert model(**padded).last_hidden_state.shape == (2, 1, 10, 16)
        assert model(**kept).last_hidden_state.shape == (2, 1, 6, 16)  # 1.02 s at 100 Hz: 103 samples, 6 patches
    windows = extractor(np.random.default_rng(1).standard_normal((2, 3000)), sampling_rate=500, alignment="window")
    inputs = {name: torch.from_numpy(windows[name]) for name in extractor.model_input_names}
    with torch.no_grad():
        assert model(**inputs).last_hidden_state.shape == (3, 2, 10, 16)


# ------------------------------------------------------------------------------------------------------ errors


def three_channel_extractor(**kwargs) -> CiTrusFeatureExtractor:
    return make_extractor(num_channels=3, channel_independent=False, **kwargs)


def with_nan() -> list[np.ndarray]:
    broken = np.zeros((3, 500))
    broken[1, 7:10] = np.nan
    return [np.zeros((3, 500)), broken]


def with_inf() -> np.ndarray:
    broken = np.zeros((2, 3, 500))
    broken[1, 0, 3] = -np.inf
    return broken


def all_nan_channel() -> np.ndarray:
    broken = np.zeros((3, 500))
    broken[2] = np.nan
    return broken


BAD_INPUTS = {
    "no sampling rate": (
        lambda: np.zeros((3, 500)),
        {"sampling_rate": None},
        ValueError,
        r"`sampling_rate` is required.*100 Hz",
    ),
    "rate per recording": (lambda: np.zeros((2, 3, 500)), {"sampling_rate": [100]}, ValueError, "1 values for 2"),
    "negative rate": (lambda: np.zeros((3, 500)), {"sampling_rate": -1}, ValueError, "recording 0 must be a positive"),
    "nan": (with_nan, {}, ValueError, r"recording 1 contains 3 NaN values.*nan_policy='interpolate'"),
    "inf": (with_inf, {}, ValueError, "recording 1 contains 1 infinite values"),
    "all nan channel": (
        all_nan_channel,
        {"nan_policy": "interpolate"},
        ValueError,
        "channel 2 of recording 0 has no finite value",
    ),
    "empty": (lambda: np.zeros((3, 0)), {}, ValueError, r"recording 0 is empty \(shape \(3, 0\)"),
    "empty list": (lambda: [], {}, ValueError, "empty list"),
    "shorter than a patch": (
        lambda: [np.zeros((3, 500)), np.zeros((3, 150))],
        {"sampling_rate": 1000},
        ValueError,
        r"recording 1 has 150 samples at 1000 Hz.*15 samples at the model's 100 Hz: shorter than one patch",
    ),
    "strings": (lambda: ["a", "b"], {}, TypeError, "recording 0 has dtype <U1.*not a real-valued signal"),
    "booleans": (lambda: np.ones((3, 500), dtype=bool), {}, TypeError, "boolean"),
    "complex": (lambda: torch.ones(3, 500, dtype=torch.complex64), {}, TypeError, "complex64"),
    "meta tensor": (
        lambda: torch.empty(3, 500, device="meta"),
        {},
        ValueError,
        "recording 0 is a tensor on the 'meta'",
    ),
    "ragged nested list": (lambda: [[[1.0, 2.0], [3.0]]], {}, TypeError, "recording 0 could not be read"),
    "four dimensions": (lambda: np.zeros((2, 2, 3, 500)), {}, ValueError, "the input has 4 dimensions"),
    "three-dimensional list item": (
        lambda: [np.zeros((3, 500)), np.zeros((1, 3, 500))],
        {},
        ValueError,
        r"recording 1 has 3 dimensions.*\(time,\) or \(channels, time\)",
    ),
    "not an array": (lambda: "signal.edf", {}, TypeError, "got str"),
    "time axis first": (lambda: np.zeros((3000, 3)), {}, ValueError, r"looks like \(time, channels\).*signal\.T"),
    "time axis first in a batch": (lambda: np.zeros((4, 3000, 3)), {}, ValueError, r"transpose\(0, 2, 1\)"),
    # a checkpoint taking any channel count: 10 s of 12-lead ECG at 100 Hz as (time, leads), and BasicMotions' 10 s
    # of 6 axes at 10 Hz, were 1000 and 100 channels of a few samples each
    "time axis first, any channel count": (
        lambda: np.zeros((1000, 12)),
        {"channel_independent": True},
        ValueError,
        r"\(1000, 12\).*1000 channels of 12 samples each.*takes any channel count.*signal\.T",
    ),
    "time axis first, any channel count, short": (
        lambda: np.zeros((100, 6)),
        {"channel_independent": True},
        ValueError,
        r"looks like \(time, channels\)",
    ),
    "channel count": (
        lambda: np.zeros((12, 500)),
        {},
        ValueError,
        r"recording 0 has 12 channels but the checkpoint expects 3.*channel_pooling='mean'",
    ),
    "mixed channel counts": (
        lambda: [np.zeros((3, 500)), np.zeros((2, 500))],
        {"channel_independent": True},
        ValueError,
        r"same number of channels.*\[3, 2\]",
    ),
    "unknown alignment": (lambda: np.zeros((3, 500)), {"alignment": "stretch"}, ValueError, "`alignment='stretch'`"),
    "bad hop": (lambda: np.zeros((3, 500)), {"hop_length": 0}, ValueError, "`hop_length` must be a positive"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_a_clear_message(case):
    make_input, options, error, message = BAD_INPUTS[case]
    options = {"sampling_rate": 100, **options}
    extractor = make_extractor(num_channels=3, channel_independent=options.pop("channel_independent", False))
    with pytest.raises(error, match=message):
        extractor(make_input(), **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"context_length": 3010}, "multiple of `patch_length`"),
        ({"alignment": "crop"}, "`alignment='crop'` is not supported"),
        ({"normalization": "fixed"}, "needs `normalization_mean` with one value per channel"),
        ({"sampling_rate": 0}, "`sampling_rate` must be a positive"),
        ({"channel_names": ["a", "b"]}, "`channel_names` has 2 entries"),
        ({"nan_policy": "zero"}, "`nan_policy='zero'`"),
    ],
)
def test_invalid_settings_fail_at_construction(options, message):
    with pytest.raises(ValueError, match=message):
        make_extractor(**options)


# ------------------------------------------------------------------------------------------ config, save, load


def test_from_config_matches_the_checkpoint():
    config = CiTrusConfig(
        sampling_rate=200,
        context_length=400,
        num_channels=2,
        channel_names=["C3", "C4"],
        patch_length=40,
        spectrogram_n_fft=40,
        normalization="fixed",
        normalization_mean=[0.0, 1.0],
        normalization_std=[1.0, 2.0],
    )
    extractor = CiTrusFeatureExtractor.from_config(config, alignment="window")
    assert (extractor.sampling_rate, extractor.context_length, extractor.num_channels) == (200.0, 400, 2)
    assert (extractor.patch_length, extractor.num_patches, extractor.channel_names) == (40, 10, ["C3", "C4"])
    assert (extractor.normalization_mean, extractor.normalization_std) == ([0.0, 1.0], [1.0, 2.0])
    assert extractor.alignment == "window" and extractor.channel_independent is False
    assert CiTrusFeatureExtractor.from_config(CiTrusConfig(channel_pooling="mean")).channel_independent is True


def test_save_load_round_trip(tmp_path):
    extractor = three_channel_extractor(
        channel_names=["a", "b", "c"], alignment="window", hop_length=1000, pad_last_window=True, padding_value=-1.0
    )
    extractor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["feature_extractor_type"] == "CiTrusFeatureExtractor"
    assert saved["auto_map"] == {"AutoFeatureExtractor": "feature_extraction_citrus.CiTrusFeatureExtractor"}
    # remote code: the file and the configuration it imports travel with the checkpoint
    assert (tmp_path / "feature_extraction_citrus.py").exists() and (tmp_path / "configuration_citrus.py").exists()

    AutoFeatureExtractor.register(CiTrusConfig, CiTrusFeatureExtractor, exist_ok=True)
    recording = np.random.default_rng(0).standard_normal((3, 9000))
    expected = extractor(recording, sampling_rate=250)
    for loaded in (CiTrusFeatureExtractor.from_pretrained(tmp_path), AutoFeatureExtractor.from_pretrained(tmp_path)):
        assert type(loaded) is CiTrusFeatureExtractor
        assert loaded.to_dict() == extractor.to_dict()
        features = loaded(recording, sampling_rate=250)
        assert features.keys() == expected.keys()
        for key in expected:
            np.testing.assert_array_equal(features[key], expected[key])


def test_remote_code_loads_without_the_package(tmp_path):
    CiTrusFeatureExtractor.from_config(CiTrusConfig(num_channels=2)).save_pretrained(tmp_path / "checkpoint")
    script = (
        "import sys; sys.modules['citrus_hf'] = None\n"  # make importing the installed package fail
        "from transformers import AutoFeatureExtractor\n"
        f"extractor = AutoFeatureExtractor.from_pretrained({str(tmp_path / 'checkpoint')!r}, trust_remote_code=True)\n"
        "import numpy as np\n"
        "print(type(extractor).__module__, extractor(np.ones((2, 8000)), sampling_rate=200)['input_values'].shape)\n"
    )
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    result = run_client(script, env, cwd=tmp_path, timeout=120)
    module, shape = result.stdout.strip().split(" ", 1)
    assert module.startswith("transformers_modules.") and shape == "(1, 2, 3000)"


@pytest.mark.parametrize(("source_rate", "target_rate"), [(50, 100), (250, 100), (128, 100)])
def test_an_offset_passes_resampling_unchanged(source_rate, target_rate):
    """Resampling commutes with adding a constant: the polyphase branches of resample_poly's filter pass a constant
    with gains up to 1e-3 apart, so without centring, gravity under a small movement (or an EEG electrode's DC level)
    came out as a ripple in proportion to the offset."""
    rng = np.random.default_rng(0)
    movement = 0.05 * rng.standard_normal((2, 10 * source_rate))
    up, down = feature_extraction_citrus._resampling_factors(source_rate, target_rate)
    plain = feature_extraction_citrus._resample(movement, up, down)
    for offset in (9.81, 4000.0):
        shifted = feature_extraction_citrus._resample(movement + offset, up, down)
        np.testing.assert_allclose(shifted - offset, plain, atol=1e-9 * offset)
        uncentred = resample_poly(movement + offset, up, down, axis=-1, padtype="symmetric") - offset
        assert np.abs(uncentred - plain).max() > 1e-6 * offset  # the artifact the centring removes


# ----------------------------------------------------------------------------------------------- pad / collation


def _rows_aligned_one_at_a_time(extractor, lengths, seed=0):
    """Examples as `dataset.map(..., batched=False)` stores them: each aligned on its own, so each keeps its own
    duration, with a label."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, length in enumerate(lengths):
        features = extractor(rng.standard_normal((1, length)), sampling_rate=MODEL_RATE)
        rows.append(
            {
                "input_values": features["input_values"][0].tolist(),
                "patch_mask": features["patch_mask"][0],
                "label": label,
            }
        )
    return rows


def test_pad_collates_rows_of_different_durations_into_the_same_logits():
    """`DataCollatorWithPadding(extractor)` (what `Trainer(processing_class=extractor)` uses) pads each row to the
    longest with `padding_value`, marks the padding in `patch_mask`, and the model gives each row the logits it gives
    the row alone; transformers' default collator cannot stack such rows at all."""
    from transformers import DataCollatorWithPadding, default_data_collator

    from citrus_hf import CiTrusForSequenceClassification

    config = tiny_config(context_length=200, num_labels=3)
    extractor = CiTrusFeatureExtractor.from_config(config)
    rows = _rows_aligned_one_at_a_time(extractor, [80, 200, 130])
    with pytest.raises(ValueError):
        default_data_collator(rows)
    batch = DataCollatorWithPadding(extractor)(rows)
    assert batch["input_values"].shape == (3, 1, 200) and batch["labels"].tolist() == [0, 1, 2]
    # a row's last patch counts when it holds any real sample
    assert batch["patch_mask"].sum(dim=1).tolist() == [-(-length // config.patch_length) for length in (80, 200, 130)]
    assert (batch["input_values"][0, :, 80:] == extractor.padding_value).all()
    model = CiTrusForSequenceClassification(config).eval()
    with torch.no_grad():
        together = model(input_values=batch["input_values"], patch_mask=batch["patch_mask"]).logits
        for index, row in enumerate(rows):
            alone = model(
                input_values=torch.tensor([row["input_values"]]), patch_mask=torch.as_tensor(row["patch_mask"])[None]
            ).logits
            torch.testing.assert_close(together[index], alone[0], rtol=0, atol=1e-5)
    fixed = extractor.pad(rows, padding="max_length", max_length=100, truncation=True, return_tensors="pt")
    assert fixed["input_values"].shape == (3, 1, 100) and fixed["patch_mask"].shape == (3, 100 // config.patch_length)


def test_trainer_with_the_extractor_as_processing_class_trains_on_rows_of_different_durations(tmp_path):
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    from citrus_hf import CiTrusForSequenceClassification

    config = tiny_config(context_length=200, num_labels=3)
    extractor = CiTrusFeatureExtractor.from_config(config)
    rng = np.random.default_rng(1)
    raw = Dataset.from_dict(
        {"signal": [rng.standard_normal((1, n)).tolist() for n in (80, 200, 130, 170)], "label": [0, 1, 2, 0]}
    )
    # one example at a time, as audio users do: `inputs.input_values[0]`, or the batch axis of 1 left in place
    aligned = raw.map(lambda example: dict(extractor(np.asarray(example["signal"]), sampling_rate=MODEL_RATE)))
    trainer = Trainer(
        model=CiTrusForSequenceClassification(config),
        args=TrainingArguments(
            str(tmp_path),
            max_steps=2,
            per_device_train_batch_size=4,
            report_to="none",
            use_cpu=True,
            save_strategy="no",
        ),
        train_dataset=aligned,
        processing_class=extractor,
    )
    assert np.isfinite(trainer.train().training_loss)


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        ([], {}, "non-empty list of examples"),
        ([{"signal": [0.0] * 20}], {}, r"no `input_values` to pad among the keys \['signal'\]"),
        ([np.zeros(20)], {}, "not a mapping with `input_values`"),
        ({"input_values": np.zeros((2, 40))}, {}, r"one array must be \(batch, channels, time\), got shape \(2, 40\)"),
        ({"input_values": np.zeros((2, 1, 40)), "label": [0]}, {}, "columns given to `pad` have different lengths"),
        ([{"input_values": np.zeros((6, 1, 20))}], {}, r"nested list.*np\.asarray"),
        ([{"input_values": np.zeros((1, 15))}], {}, "15 samples, not a whole number of patches of 20"),
        ([{"input_values": np.zeros((1, 20))}, {"input_values": np.zeros((2, 20))}], {}, r"channel counts \[1, 2\]"),
        (
            [{"input_values": np.zeros((1, 20))}, {"input_values": np.zeros((1, 40))}],
            {"padding": False},
            "padding=True",
        ),
        ([{"input_values": np.zeros((1, 40))}], {"padding": "max_length", "max_length": 20}, "truncation=True"),
        ([{"input_values": np.zeros((1, 40)), "patch_mask": [1]}], {}, "1 values for 2 patches"),
        ([{"input_values": np.zeros((1, 20))}], {"padding": "zeros"}, "`padding='zeros'` is not supported by `pad`"),
        ([{"input_values": np.zeros((1, 20)), "label": 1}, {"input_values": np.zeros((1, 20))}], {}, "no `label`"),
        (
            [
                {"input_values": np.zeros((1, 20)), "labels": "walk"},
                {"input_values": np.zeros((1, 20)), "labels": "run"},
            ],
            {"return_tensors": "pt"},
            r"`labels` of the examples are strings \(e\.g\. 'walk'\).*cast_column\('labels', ClassLabel",
        ),
        (
            [
                {"input_values": np.zeros((1, 20)), "subject": "s1"},
                {"input_values": np.zeros((1, 20)), "subject": "s2"},
            ],
            {"return_tensors": "pt"},
            r"`subject` of the examples to pad holds text.*remove_columns\(\['subject'\]\)",
        ),
        (
            [{"input_values": np.zeros((1, 20)), "labels": [0, 1]}, {"input_values": np.zeros((1, 20)), "labels": [1]}],
            {},
            "`labels` of the examples to pad have different shapes",
        ),
    ],
)
def test_pad_refuses_what_it_cannot_batch_with_the_fix(rows, options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make_extractor().pad(rows, **options)


def test_pad_says_when_its_rows_were_not_aligned_by_the_extractor(caplog):
    """Raw recordings given straight to `Trainer(processing_class=extractor)` were padded as if aligned (a 10 Hz row
    of 100 samples taken as 1 s at 100 Hz, unnormalised) without a word."""
    import logging

    logging.Logger.warning_once.cache_clear()  # transformers' warning_once is once per process
    extractor = make_extractor()
    aligned = extractor(np.random.default_rng(0).standard_normal((1, 40)), sampling_rate=extractor.sampling_rate)
    with caplog.at_level("WARNING"):
        extractor.pad([{"input_values": aligned["input_values"][0], "patch_mask": aligned["patch_mask"][0]}])
    assert "no `patch_mask`" not in caplog.text
    with caplog.at_level("WARNING"):
        extractor.pad([{"input_values": np.zeros((1, 40))}, {"input_values": np.zeros((1, 20))}])
    assert "carry no `patch_mask`" in caplog.text and "dataset.map" in caplog.text


def test_transformers_usual_call_arguments_are_taken():
    """`extractor(x, sampling_rate=sr, padding=True, truncation=True, max_length=N, return_attention_mask=True,
    return_tensors="pt")`, the audio extractors' idiom, works: padding=True is "longest", padding=False holds
    recordings of one duration and names the fix otherwise, truncation=False is refused with what happens instead."""
    extractor = make_extractor()
    rng = np.random.default_rng(0)
    ragged = [rng.standard_normal(1000), rng.standard_normal(600)]
    usual = extractor(
        ragged, sampling_rate=MODEL_RATE, padding=True, truncation=True, max_length=800, return_attention_mask=True,
        return_tensors="pt",
    )  # fmt: skip
    longest = extractor(ragged, sampling_rate=MODEL_RATE, padding="longest", max_length=800, return_tensors="pt")
    assert torch.equal(usual["input_values"], longest["input_values"]) and usual["input_values"].shape == (2, 1, 800)
    assert torch.equal(usual["patch_mask"], longest["patch_mask"])
    same = [rng.standard_normal(600), rng.standard_normal(600)]
    for no_padding in (False, "do_not_pad"):
        assert extractor(same, sampling_rate=MODEL_RATE, padding=no_padding)["input_values"].shape == (2, 1, 600)
        with pytest.raises(ValueError, match=r"padding=False but the recordings have different durations \(600 to 800"):
            extractor(ragged, sampling_rate=MODEL_RATE, padding=no_padding, max_length=800)
    with pytest.raises(ValueError, match="`truncation=False` is not supported"):
        extractor(same, sampling_rate=MODEL_RATE, truncation=False)


def test_integer_counts_on_a_large_offset_keep_their_signal():
    """Integer samples went straight to float32: counts around 2^31 (uint32 ADC samples) were rounded to float32's
    step of 256 counts, and a swing of a few counts on 2^23 was zeroed as a constant window, without a word."""
    time = np.arange(1000) / 100
    sine = np.sin(2 * np.pi * time)
    extractor = make_extractor()
    reference = extractor(sine, sampling_rate=100)["input_values"][0, 0]
    for counts in (
        (2**31 + 50 * sine).astype(np.uint32),
        (2**31 + 50 * sine).astype(np.int64),
        np.round(2**23 + 4 * sine).astype(np.int32),
        (1000 * sine).astype(np.int16),
        torch.from_numpy((2**31 + 50 * sine).astype(np.int64)),  # a torch integer tensor went to float32 first
    ):
        values = extractor(counts, sampling_rate=100)["input_values"][0, 0]
        assert values.dtype == np.float32 and np.corrcoef(values, reference)[0, 1] > 0.99, counts.dtype


def test_more_channels_than_samples_suggest_a_transpose(caplog):
    """(250, 64): 1 s of 64-channel EEG at 250 Hz as (time, channels) became 250 channels of 0.26 s, and the warning
    said nothing of the axes."""
    logging.Logger.warning_once.cache_clear()  # said once per process and channel count
    with caplog.at_level("DEBUG", logger="citrus_hf"):
        values = make_extractor()(np.random.default_rng(0).standard_normal((250, 64)), sampling_rate=250)
    assert values["input_values"].shape[1] == 250
    assert "250 channels, more than the samples" in caplog.text and "pass `signal.T`" in caplog.text
    assert "250 channels of 64 samples or more each" in caplog.text  # the call's own lengths, at debug level


def test_a_string_of_channel_names_is_named_as_such():
    """It said "`input_channel_names` has 1 names but recording 0 has 1 channels"."""
    extractor = make_extractor(channel_names=["Fz"])
    with pytest.raises(TypeError, match=r"must be a list of names.*got the string 'Fz'; pass \['Fz'\]"):
        extractor(np.zeros((1, 200)), sampling_rate=100, input_channel_names="Fz")


def test_options_of_another_alignment_are_named_as_ignored(caplog):
    """hop_length / pad_last_window with "resample" and max_length with "window" were checked, then dropped."""
    extractor = make_extractor()
    signal = np.zeros((1, extractor.context_length))  # one window at the model's rate
    with caplog.at_level("WARNING"):
        extractor(signal, sampling_rate=extractor.sampling_rate, hop_length=100, pad_last_window=True)
    assert "hop_length, pad_last_window apply to another alignment and are ignored with alignment='resample'" in (
        caplog.text
    )
    caplog.clear()
    with caplog.at_level("WARNING"):
        extractor(signal, sampling_rate=extractor.sampling_rate, alignment="window", max_length=100)
        extractor(signal, sampling_rate=extractor.sampling_rate, alignment="window", hop_length=100)
    assert caplog.text.count("ignored") == 1 and "max_length applies to another alignment" in caplog.text


def test_a_max_length_that_crops_says_so(caplog):
    """padding="longest" with max_length=500 cut an 8 s recording to 5 s without a word."""
    extractor = make_extractor()
    logging.Logger.warning_once.cache_clear()  # said once per process and max_length
    with caplog.at_level("WARNING"):
        values = extractor(np.zeros(800), sampling_rate=extractor.sampling_rate, padding="longest", max_length=500)
    assert values["input_values"].shape[-1] == 500
    assert "max_length=500 keeps the first 500 model samples" in caplog.text


@pytest.mark.parametrize("alignment", ["resample", "interpolate", "window"])
def test_fixed_statistics_keep_counts_on_a_large_offset(alignment):
    """Under "fixed" normalisation (what `citrus finetune` saves) the windows were float32 before the mean was
    removed: counts of 2^31 +- 50 came out as zeros."""
    sine = np.sin(2 * np.pi * np.arange(1000) / 100)
    counts = (2**31 + 50 * sine).astype(np.uint32)
    extractor = CiTrusFeatureExtractor(
        sampling_rate=100,
        context_length=1000,
        patch_length=10,
        normalization="fixed",
        normalization_mean=[float(counts.mean())],
        normalization_std=[float(counts.std())],
        alignment=alignment,
    )
    values = extractor(counts, sampling_rate=100)["input_values"]
    assert values.dtype == np.float32 and np.corrcoef(values.ravel(), sine)[0, 1] > 0.999


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resampling_in_row_chunks_equals_one_call(monkeypatch, dtype):
    """`_resample` filters a long input a few rows at a time into one output (bounded temporaries): bit for bit what
    one whole-array call gives, for chunks of one row and of several, on one thread and two."""
    rng = np.random.default_rng(1)
    signal = (rng.standard_normal((3, 4, 2001)) + 7).astype(dtype)
    whole = feature_extraction_citrus._resample_centred(signal, 50, 87)
    monkeypatch.setattr(feature_extraction_citrus, "_MIN_SAMPLES_PER_THREAD", 1)
    for chunk_samples in (2001, 3 * 2001):
        monkeypatch.setattr(feature_extraction_citrus, "_RESAMPLE_CHUNK_SAMPLES", chunk_samples)
        for threads in (1, 2):
            previous = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                chunked = feature_extraction_citrus._resample(signal, 50, 87)
            finally:
                torch.set_num_threads(previous)
            assert chunked.dtype == whole.dtype and np.array_equal(chunked, whole)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the expected overflow is not reported as numpy's warning
def test_finite_check_survives_a_sum_that_overflows():
    huge = np.full((2, 10), 1e308)
    assert feature_extraction_citrus._all_finite(huge)  # the float64 sum overflows; the mask decides
    huge[1, 3] = np.nan
    assert not feature_extraction_citrus._all_finite(huge)
    assert not feature_extraction_citrus._all_finite(np.array([[0.0, np.inf]], dtype=np.float32))


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_normalisation_that_overflows_float32_is_one_error_without_numpys_warning():
    """Fixed statistics that scale finite samples beyond float32 are refused by the extractor's own error; numpy's
    "overflow encountered in cast" warning came before it."""
    signal = np.random.default_rng(0).standard_normal(500) * 1e10
    extractor = CiTrusFeatureExtractor.from_config(
        CiTrusConfig(), normalization="fixed", normalization_mean=[0.0], normalization_std=[1e-30]
    )
    with pytest.raises(ValueError, match=r"NaN / inf"):
        extractor(signal, sampling_rate=100)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_window_alignment_of_a_long_recording_holds_less_than_its_size_again(monkeypatch, dtype):
    """A long multi-channel recording aligned into windows needs little beyond itself: the resampling works a few
    rows at a time and the normalisation a bounded number of samples at a time (before, 2.2x the input on top of it,
    and an 8 h, 64-channel EEG at 512 Hz ran out of memory). Measured as the growth of the peak from 10 to 20 minutes,
    so that the fixed-size chunks' temporaries cancel out. float64 too, what every file reader returns (its range
    check took the absolute value of the whole recording: 1.0x)."""
    import tracemalloc

    config = tiny_config(sampling_rate=100.0, context_length=1000, patch_length=20, num_channels=16)
    extractor = CiTrusFeatureExtractor.from_config(config)
    # a row per chunk, as for a recording of hours (the default chunk holds 13 rows of these)
    monkeypatch.setattr(feature_extraction_citrus, "_RESAMPLE_CHUNK_SAMPLES", 512 * 600)
    peaks, sizes = [], []
    for minutes in (10, 20):
        recording = np.random.default_rng(0).standard_normal((16, 512 * 60 * minutes)).astype(dtype)
        tracemalloc.start()
        try:
            features = extractor(recording, sampling_rate=512.0, alignment="window", return_tensors="np")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert features["input_values"].shape == (6 * minutes, 16, 1000)
        sizes.append(recording.nbytes)
    growth = (peaks[1] - peaks[0]) / (sizes[1] - sizes[0])
    assert growth < 0.6, growth


def test_integer_counts_are_centred_a_channel_at_a_time_with_the_same_values():
    """Integer counts are centred in float64 a channel at a time (whole-recording float64 copies held 6x the counts'
    size): the same float32 values as centring the whole recording at once."""
    counts = (np.random.default_rng(2).standard_normal((5, 3001)) * 3000 + 20000).astype(np.int16)
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=5))
    assert extractor.normalization == "zscore"
    whole = counts.astype(np.float64)
    whole -= whole.mean(axis=-1, keepdims=True)
    centred = extractor._counts_as_float(counts)
    assert centred.dtype == np.float32 and np.array_equal(centred, whole.astype(np.float32))
