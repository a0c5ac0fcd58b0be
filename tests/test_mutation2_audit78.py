"""Mutation audit, second round: cheap tests that tell the extractor's alignment and normalisation, the pipelines'
window times and label seconds, and the report's budget order from the mutants the first round left open (each
docstring names what its mutant did). Small arrays with hand-computed answers, the helpers called directly where
they can be, and a tiny in-memory pipeline for the window times only a pipeline computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

import citrus_hf.feature_extraction_citrus as extraction
from citrus_hf import CiTrusFeatureExtractor, CiTrusModel
from citrus_hf.evaluation.report import _budget_ranks
from citrus_hf.inference.pipelines import (
    BioSignalFeatureExtractionPipeline,
    _SignalMarks,
    counted_spans,
    label_seconds,
)

# ------------------------------------------------------------------------------------------------ extractor maths


def test_linear_interpolation_weighs_the_two_samples_around_each_position():
    """[0, 1, 0] onto 4 samples: positions 0, 2/3, 4/3, 2 give 0, 2/3, 2/3, 0 (mutant: the nearest sample as the left
    one, so 2/3 was extrapolated from samples 1 and 2: 4/3)."""
    stretched = extraction._interpolate_linear(np.array([0.0, 1.0, 0.0]), 4)
    np.testing.assert_allclose(stretched, [0.0, 2 / 3, 2 / 3, 0.0])


def test_resampling_in_chunks_of_rows_keeps_every_output_sample(monkeypatch):
    """Rows resampled a few at a time give ceil(7 * 2 / 3) = 5 samples each, as one call does (mutant: room for
    7 * 2 // 3 = 4, and numpy refused to broadcast the chunks into it)."""
    monkeypatch.setattr(extraction, "_RESAMPLE_CHUNK_SAMPLES", 10)  # one 7-sample row per chunk
    rows = np.random.default_rng(0).standard_normal((3, 7))
    resampled = extraction._resample(rows, 2, 3)
    assert resampled.shape == (3, 5)
    np.testing.assert_allclose(resampled, extraction._resample_centred(rows, 2, 3), rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def small_extractor() -> CiTrusFeatureExtractor:
    """Windows of 4 samples in patches of 2 (z-scored, padding value 0)."""
    return CiTrusFeatureExtractor(sampling_rate=10, context_length=4, patch_length=2, num_channels=1)


def test_a_padded_window_is_z_scored_over_its_real_samples_only(small_extractor):
    """The second window holds 2 real samples, 1 and 3: mean 2, std 1, so it becomes -1, 1 and the padding 0 (mutants:
    the mean over the padding too, 1; or the padding left in the variance, std sqrt(5))."""
    values = np.array([[[1.0, 2.0, 3.0, 4.0]], [[1.0, 3.0, 7.0, 9.0]]], dtype=np.float32)
    normalized = small_extractor._normalize_chunk(values, np.array([4, 2]))
    np.testing.assert_allclose(normalized[1, 0], [-1.0, 1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(normalized[0, 0], (np.arange(1.0, 5.0) - 2.5) / np.sqrt(1.25), atol=1e-6)


def test_fixed_statistics_leave_the_padding_at_the_padding_value():
    """With fixed statistics (mean 1, std 2) the padding of a window holding 2 real samples stays 0 (mutant: the padding
    normalised as samples, (0 - 1) / 2)."""
    extractor = CiTrusFeatureExtractor(
        sampling_rate=10,
        context_length=4,
        patch_length=2,
        num_channels=1,
        normalization="fixed",
        normalization_mean=[1.0],
        normalization_std=[2.0],
    )
    values = np.array([[[1.0, 2.0, 3.0, 4.0]], [[3.0, 5.0, 0.0, 0.0]]], dtype=np.float32)
    normalized = extractor._normalize_chunk(values, np.array([4, 2]))
    np.testing.assert_allclose(normalized[1, 0], [1.0, 2.0, 0.0, 0.0])


def test_a_window_whose_swing_is_float32_rounding_of_its_level_is_constant(small_extractor):
    """1000 and the next float32 after it (6e-5 apart, 3e-8 of the level): a constant window, z-scored to zeros
    (mutant: any std above 0 scaled, and the rounding became a swing of +-1)."""
    step = np.nextafter(np.float32(1000), np.float32(2000))
    values = np.array([[[1000, step, 1000, step]]], dtype=np.float32)
    normalized = small_extractor._normalize_chunk(values, np.array([4]))
    np.testing.assert_array_equal(normalized, np.zeros_like(values))


def test_padding_to_a_multiple_keeps_rows_longer_than_the_context():
    """`pad(pad_to_multiple_of=5)` of rows of 40 samples (context 20) keeps the 40 samples, already whole patches of 5
    (mutant: the cap was the context, and the rows were cut to their first 20 samples)."""
    extractor = CiTrusFeatureExtractor(sampling_rate=10, context_length=20, patch_length=5, num_channels=1)
    rows = [{"input_values": np.arange(40, dtype=np.float32)[None], "patch_mask": np.ones(8, dtype=np.int64)}] * 2
    padded = extractor.pad(rows, pad_to_multiple_of=5, return_tensors="np")
    assert padded["input_values"].shape == (2, 1, 40)
    np.testing.assert_array_equal(padded["input_values"][1, 0], np.arange(40))


def test_window_start_times_count_the_leading_nan_padding(small_extractor):
    """0.5 s of NaN padding before 4 s of signal at 10 Hz, cut into windows of 4 samples (0.4 s) every 10 samples: the
    windows start at 0.5 s and 1.5 s of the recording given (mutant: of the signal after the padding, 0 s and 1 s)."""
    recording = np.concatenate([np.full(5, np.nan), np.random.default_rng(0).standard_normal(20)])
    windows = small_extractor(
        recording, sampling_rate=10, alignment="window", hop_length=10, nan_policy="interpolate", return_tensors="np"
    )
    np.testing.assert_allclose(windows["window_start_seconds"], [0.5, 1.5])


# ------------------------------------------------------------------------------------------- pipelines' seconds


def _windows(*spans, no_signal=()) -> list[dict]:
    return [
        {"start": start, "end": end, "no_signal": "flat" if index in no_signal else None}
        for index, (start, end) in enumerate(spans)
    ]


def test_overlapping_windows_split_their_overlap_halfway_between_their_middles():
    """0-10 s and 5-15 s (middles 5 and 10) split at 7.5 s (mutant: the second window kept its own start, 5 s, and
    5-7.5 s counted twice)."""
    np.testing.assert_allclose(counted_spans(_windows((0.0, 10.0), (5.0, 15.0))), [[0.0, 7.5], [7.5, 15.0]])


def test_a_short_last_window_that_touches_the_one_before_keeps_its_own_span():
    """10-12 s and a padded last window 12-13.5 s: the halfway point of their middles, 11.875 s, lies before the second
    begins; each keeps its own span (mutant: unclipped, 11.875-12 s counted for neither)."""
    np.testing.assert_allclose(counted_spans(_windows((10.0, 12.0), (12.0, 13.5))), [[10.0, 12.0], [12.0, 13.5]])


def test_label_seconds_leave_out_the_windows_without_signal():
    """Two 2 s windows of label "a", the first flat: 2 s of "a", 0 of "b" (mutant: the flat window's 2 s counted)."""
    windows = _windows((0.0, 2.0), (2.0, 4.0), no_signal=(0,))
    present = np.array([[True, False], [True, False]])
    assert label_seconds(windows, present, ["a", "b"]) == {"a": 2.0, "b": 0.0}


def test_a_window_ending_past_the_middle_of_a_sample_period_looks_at_that_sample():
    """At 4 Hz a window ending at 2.9 s (sample position 11.6) holds sample 11 (2.75 s); with samples 0-10 flat and
    sample 11 not, the window has signal (mutant: the end rounded down to sample 11, left out, and the window was
    marked "flat")."""
    recording = np.zeros((1, 16), dtype=np.float32)
    recording[0, 11] = 1.0
    chunk = {
        "input_values": torch.tensor([[[0.0, 1.0, 0.0, 1.0]]]),  # varies after alignment
        "patch_mask": torch.ones(1, 2, dtype=torch.long),
        "window_start_seconds": np.array([0.0]),
        "window_end_seconds": np.array([2.9]),
    }
    assert _SignalMarks(recording, 4.0)(chunk) == [None]


@pytest.fixture(scope="module")
def embed() -> BioSignalFeatureExtractionPipeline:
    """A tiny one-channel encoder's pipeline: windows of 2 s (200 samples at 100 Hz)."""
    torch.manual_seed(0)
    config = tiny_config(num_channels=1)
    extractor = CiTrusFeatureExtractor.from_config(config)
    return BioSignalFeatureExtractionPipeline(model=CiTrusModel(config).eval(), feature_extractor=extractor)


def _times(pipe, recording, **kwargs) -> list[tuple[list[float], list[float]]]:
    return [
        (chunk["window_start_seconds"].tolist(), chunk["window_end_seconds"].tolist())
        for chunk in pipe.preprocess(recording, sampling_rate=100, **kwargs)
    ]


def test_a_resampled_recording_longer_than_a_window_is_scored_for_one_window(embed):
    """alignment="resample" of 3 s keeps its first 2 s: one window 0-2 s, and 1 s unscored (mutant: the window said to
    end at 3 s, and nothing unscored)."""
    recording = np.random.default_rng(0).standard_normal(300).astype(np.float32)
    assert _times(embed, recording, alignment="resample") == [([0.0], [2.0])]
    assert embed(recording, sampling_rate=100, alignment="resample")["unscored_seconds"] == 1.0


def test_a_short_recording_after_nan_padding_keeps_the_times_of_the_recording_given(embed):
    """0.5 s of NaN padding, then 1.5 s of signal (shorter than a window): its one window is 0.5-2 s of the recording
    given (mutant: 0-1.5 s, the padding's seconds left out)."""
    signal = np.random.default_rng(0).standard_normal(150).astype(np.float32)
    recording = np.concatenate([np.full(50, np.nan, dtype=np.float32), signal])
    assert _times(embed, recording, nan_policy="interpolate") == [([0.5], [2.0])]


def test_a_recording_of_three_quarters_of_a_window_is_one_window_of_its_own_duration(embed):
    """1.5 s against 2 s windows, pad_last_window=False: one window 0-1.5 s (mutant: only recordings under half a window
    took that path, and the extractor refused this one as shorter than a window)."""
    recording = np.random.default_rng(0).standard_normal(150).astype(np.float32)
    assert _times(embed, recording, pad_last_window=False) == [([0.0], [1.5])]


# ------------------------------------------------------------------------------------------------------- report


def test_budgets_another_version_labelled_are_placed_by_their_largest_position():
    """Budget labels this version cannot read go after the others, by their largest recorded position: "old_y" (1)
    before "old_x" (3, and 0 in a resumed run) (mutant: the last record's position, 0, put "old_x" first)."""
    records = [
        {"dataset": "set", "budget": "old_x", "budget_order": 3},
        {"dataset": "set", "budget": "old_y", "budget_order": 1},
        {"dataset": "set", "budget": "old_x", "budget_order": 0},
        {"dataset": "set", "budget": "all", "budget_order": 9},
    ]
    assert _budget_ranks(records) == {("set", "all"): 0, ("set", "old_y"): 1, ("set", "old_x"): 2}
