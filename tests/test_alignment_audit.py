"""What an audit of the alignment maths found, each checked against an independent reference (numpy / scipy):
windows zeroed or shifted by the dtype a recording arrived in, training windows that differed from the pipeline's for
the same recording, rates near the model's resampled by a ratio 3e-4 off, and a hop rounded without a word."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from datasets import Dataset, Features, List, Value
from scipy.signal import resample_poly

from citrus_hf import feature_extraction_citrus
from citrus_hf.data.alignment import align_rows, channel_statistics
from citrus_hf.data.windowing import window_examples
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference.pipelines import hop_length_from_seconds

RATE, CONTEXT, PATCH = 100.0, 1000, 20
TIME = np.arange(CONTEXT) / RATE


def _extractor(**options) -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor(sampling_rate=RATE, context_length=CONTEXT, patch_length=PATCH, **options)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_integer_valued_floats_on_a_large_offset_keep_their_swing_as_integer_counts_do(dtype):
    """24-bit ADC counts at mid-scale swinging by 4 counts, as a float .npy or CSV holds them: z-scored to all zeros
    (the window was taken for constant), while the same values as int32 kept their signal."""
    counts = np.round(2**23 + 4 * np.sin(2 * np.pi * TIME))
    extractor = _extractor()
    as_integers = extractor(counts.astype(np.int32), sampling_rate=RATE)["input_values"][0, 0]
    as_floats = extractor(counts.astype(dtype), sampling_rate=RATE)["input_values"][0, 0]
    expected = (counts - counts.mean()) / counts.std()
    np.testing.assert_allclose(as_integers, expected, atol=1e-5)
    np.testing.assert_allclose(as_floats, expected, atol=1e-5)
    # a constant channel on the same offset is still zeros, and a channel without an offset is untouched
    constant = extractor(np.full((1, CONTEXT), 2.0**23, dtype), sampling_rate=RATE)["input_values"][0, 0]
    assert not constant.any()


def test_fixed_statistics_on_counts_near_float32s_step_are_applied_exactly():
    """`normalization="fixed"` on int32 counts between 2^22 and 2^24 (float32 windows): the saved float64 mean was
    rounded to float32's step there (0.5 to 1 count), moving every sample by about 0.05 std."""
    for offset in (2**22 + 0.25, 2**23 - 100.5):
        counts = np.round(offset + 4 * np.sin(2 * np.pi * TIME)).astype(np.int32)
        mean, std = float(counts.mean(dtype=np.float64)), float(counts.std(dtype=np.float64))
        extractor = _extractor(normalization="fixed", normalization_mean=[mean], normalization_std=[std])
        output = extractor(counts, sampling_rate=RATE)["input_values"][0, 0]
        np.testing.assert_allclose(output, (counts - mean) / std, atol=1e-5)


def test_a_float64_row_is_aligned_for_training_as_the_pipeline_aligns_the_recording(tmp_path):
    """`align_rows` (fine-tuning, `citrus evaluate`) read rows through `datasets`' numpy format, which makes float64
    float32: 1e5 + 0.05 sin (pressure in Pa) became zeros in the training windows, and 0.11 std off with the
    set's statistics, while the pipeline, given the same float64 recording, saw the signal."""
    recording = 1e5 + 0.05 * np.sin(2 * np.pi * 1.3 * TIME)
    features = Features(
        {"input_values": List(List(Value("float64"))), "sampling_rate": Value("float64"), "label": Value("int64")}
    )
    rows = Dataset.from_dict(
        {"input_values": [recording[None].tolist()], "sampling_rate": [RATE], "label": [0]}, features
    )
    mean, std = channel_statistics(rows)
    for extractor in (_extractor(), _extractor(normalization="fixed", normalization_mean=mean, normalization_std=std)):
        at_inference = extractor(recording[None], sampling_rate=RATE)["input_values"][0, 0]
        for_training = np.asarray(align_rows(rows, extractor, label_column="label")[0]["input_values"])[0]
        assert at_inference.std() > 0.9
        np.testing.assert_allclose(for_training, at_inference, atol=1e-6)
    # cutting one's own set into windows (`--dataset-options window_seconds=`) keeps the rows' float64 too
    windows = window_examples(rows, window_seconds=5.0, hop_seconds=5.0, name="train")
    first = np.asarray(windows.with_format("numpy", dtype=None)[0]["input_values"])
    assert first.dtype == np.float64
    np.testing.assert_array_equal(first[0], recording[:500])


@pytest.mark.parametrize("source_rate", [99.97, 99.95, 199.95, 100.03, 173.61, 255.97])
def test_rates_near_a_simple_ratio_are_resampled_by_the_right_ratio(source_rate):
    """A rate read from time stamps, a hair off the model's: 99.97 Hz was passed through as 100 Hz (ratio 1/1) and
    99.95 Hz resampled as 100.05 Hz; over a 10 s window the content drifted by up to 5 ms from its reported times.
    Within 1e-5 (0.01 samples over this window), with filters of at most 2^18 taps."""
    up, down = feature_extraction_citrus._resampling_factors(source_rate, RATE)
    assert abs(source_rate * up / down / RATE - 1) < 1e-5
    duration = 12.0
    source_time = np.arange(int(duration * source_rate)) / source_rate
    tone = np.sin(2 * np.pi * 3.0 * source_time)
    output = _extractor(normalization="none")(tone, sampling_rate=source_rate)["input_values"][0, 0]
    reference = np.sin(2 * np.pi * 3.0 * TIME)  # the tone on the model's own grid
    interior = slice(20, CONTEXT - 20)
    np.testing.assert_allclose(output[interior], reference[interior], atol=2e-3)
    assert np.abs(output[interior] - resample_poly(tone, up, down)[:CONTEXT][interior]).max() < 1e-3


@pytest.mark.parametrize("source_rate, target_rate", [(256.03, 256.0), (99.97, 200.0), (1000.0123, 100.0)])
def test_the_ratio_search_takes_the_closest_fraction_its_filter_limit_allows(source_rate, target_rate):
    """The search jumped its denominator tenfold, past fractions that fit the filter limit: 256.03 Hz into a 256 Hz
    model was passed through as 1/1 (1.2e-4 off). Where no fraction within 1e-5 fits (1000.0123 Hz: the next after
    1/10 needs 81,301), the simplest stays."""
    up, down = feature_extraction_citrus._resampling_factors(source_rate, target_rate)
    assert 2 * 10 * max(up, down) <= 2**18
    error = abs(source_rate * up / down / target_rate - 1)
    assert error < 1e-5 or (up, down) == (1, 10)


def test_simple_ratios_stay_as_they_were():
    assert feature_extraction_citrus._resampling_factors(100.0, 100.0) == (1, 1)
    assert feature_extraction_citrus._resampling_factors(174.0, 100.0) == (50, 87)
    assert feature_extraction_citrus._resampling_factors(64000.0, 100.0) == (1, 640)
    assert feature_extraction_citrus._resampling_factors(7.8125, 100.0) == (64, 5)


def test_a_hop_that_is_not_whole_model_samples_is_said_and_rounded_half_up(caplog):
    """0.75 s at a 7.8125 Hz checkpoint is 5.86 samples: windows started every 0.768 s (18 s of drift over 1,000
    windows) without a word, and 0.125 s at 100 Hz became 12 samples (Python's half-to-even `round`)."""
    with caplog.at_level(logging.WARNING):
        assert hop_length_from_seconds(0.5, 100.0) == 50
    assert not caplog.records
    with caplog.at_level(logging.WARNING):
        assert hop_length_from_seconds(0.125, 100.0) == 13
        assert hop_length_from_seconds(0.75, 7.8125) == 6
    said = caplog.text
    assert "0.125 s is 12.5 samples" in said and "every 13 (0.13 s)" in said
    assert "0.75 s is 5.859 samples" in said and "every 6 (0.768 s)" in said
