"""Windowing in seconds, splits, and the heart-rate maths (synthetic signals: unit tests of the maths only)."""

from __future__ import annotations

import numpy as np
import pytest
from beat_scoring import beat_agreement

from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.physio import detect_r_peaks, heart_rate_bpm
from citrus_hf.data.windowing import seconds_to_samples, split_by_group, time_blocks, window_starts


def test_window_starts_fit_inside_the_span():
    assert window_starts(1000, 100.0, 2.0, 1.0).tolist() == [0, 100, 200, 300, 400, 500, 600, 700, 800]
    assert window_starts(1000, 100.0, 10.0, 10.0).tolist() == [0]  # exact fit
    assert window_starts(999, 100.0, 10.0, 10.0).size == 0  # shorter than one window
    assert window_starts(1000, 100.0, 2.0, 2.0, start=150, stop=700).tolist() == [150, 350]


def test_fractional_hops_do_not_drift():
    # 0.3 s at 173.61 Hz is 52.083 samples: rounding each start keeps the k-th window at round(k * hop * rate).
    starts = window_starts(100_000, 173.61, 1.0, 0.3)
    assert np.array_equal(starts, np.round(np.arange(starts.size) * 0.3 * 173.61).astype(int))
    assert starts[-1] + seconds_to_samples(1.0, 173.61) <= 100_000


def test_window_arguments_are_checked():
    with pytest.raises(ValueError, match="positive"):
        window_starts(100, 10.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="holds no sample"):
        window_starts(100, 10.0, 0.01, 0.01)


def test_split_by_group_keeps_groups_whole_and_shares_close():
    sizes = {f"s{i}": 14 for i in range(10)}
    splits = split_by_group(sizes, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=0)
    assert [len(splits[s]) for s in ("train", "validation", "test")] == [6, 2, 2]
    assert sorted(sum(splits.values(), [])) == sorted(sizes)
    assert splits == split_by_group(sizes, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=0)
    assert splits != split_by_group(sizes, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=1)


def test_split_by_group_with_one_big_group():
    sizes = {"big": 128, "a": 10, "b": 9, "c": 9, "d": 8, "e": 4, "f": 4}
    splits = split_by_group(sizes, {"train": 0.85, "validation": 0.15}, seed=0)
    assert "big" in splits["train"]
    validation = sum(sizes[g] for g in splits["validation"])
    assert 0.1 < validation / sum(sizes.values()) < 0.2
    assert split_by_group({"a": 1}, {"train": 1.0, "test": 0.0})["test"] == []
    with pytest.raises(ValueError):
        split_by_group(sizes, {"train": 0.0})


def test_a_seed_that_cannot_change_a_group_split_is_refused():
    """Groups go largest first and the seed only orders groups of equal size: with none (multimodal_unlabelled's
    nine recordings, watch_exercises' subjects), another seed silently gave seed 0's split."""
    distinct = {"a": 5, "b": 4, "c": 3}
    assert split_by_group(distinct, {"train": 0.7, "validation": 0.3}, seed=0)  # the default seed builds
    with pytest.raises(CitrusDataError, match=r"^my_set: seed=2 gives the split of seed 0\. Its recordings go"):
        split_by_group(distinct, {"train": 0.7, "validation": 0.3}, 2, "my_set", "recordings")
    tied = {"a": 5, "b": 4, "c": 4}
    assert split_by_group(tied, {"train": 0.7, "validation": 0.3}, seed=2)  # a seed that can matter is taken


def test_time_blocks_cover_every_sample_once():
    blocks = time_blocks(1001, (0.7, 0.15, 0.15), ("train", "validation", "test"))
    assert blocks == {"train": (0, 701), "validation": (701, 851), "test": (851, 1001)}


def _synthetic_ecg(rate: float, beat_times: np.ndarray, seconds: float, seed: int = 0) -> np.ndarray:
    """Narrow Gaussian R waves on a wandering baseline with noise: enough to exercise the detector's maths."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    ecg = 0.3 * np.sin(2 * np.pi * 0.2 * t) + 0.02 * rng.standard_normal(t.size)
    for beat in beat_times:
        ecg += np.exp(-0.5 * ((t - beat) / 0.012) ** 2) - 0.2 * np.exp(-0.5 * ((t - beat - 0.04) / 0.015) ** 2)
    return ecg


@pytest.mark.parametrize("rate", [250.0, 360.0, 1000.0])
def test_r_peak_detector_finds_every_beat(rate):
    rr = 0.8 + 0.1 * np.sin(np.arange(80) / 5)  # 67-83 bpm with a slow rhythm change
    beats = 1.0 + np.cumsum(rr)
    ecg = _synthetic_ecg(rate, beats, beats[-1] + 1.0)
    peaks = detect_r_peaks(ecg, rate)
    agreement = beat_agreement(np.round(beats * rate).astype(int), peaks, rate, tolerance_seconds=0.02)
    assert agreement["sensitivity"] == 1.0 and agreement["ppv"] == 1.0


def test_heart_rate_from_beats():
    peaks = np.array([0, 100, 200, 300, 400])  # a beat every second at 100 Hz
    assert heart_rate_bpm(peaks, 100.0, 0, 500) == pytest.approx(60.0)
    assert heart_rate_bpm(peaks, 100.0, 150, 350) == pytest.approx(60.0)
    assert np.isnan(heart_rate_bpm(peaks, 100.0, 150, 250))  # one beat: no interval
    assert heart_rate_bpm(np.array([0, 50, 100]), 100.0, 0, 101) == pytest.approx(120.0)
    with pytest.raises(ValueError, match="too short"):
        detect_r_peaks(np.zeros(100), 100.0)


def test_beat_agreement_counts_one_to_one():
    reference = np.array([100, 200, 300, 400])
    test = np.array([102, 198, 199, 500])
    result = beat_agreement(reference, test, 1000.0, tolerance_seconds=0.005)
    assert result["matched"] == 2 and result["sensitivity"] == 0.5 and result["ppv"] == 0.5


def test_a_hop_under_one_sample_is_refused():
    """It gave every window several times (41 starts for 9 distinct windows at a hop of 0.2 samples)."""
    with pytest.raises(ValueError, match=r"A hop of 0.2 s at 1.0 Hz is under one sample.*at least 1 s"):
        window_starts(10, 1.0, 2.0, 0.2)
    assert window_starts(10, 173.61, 0.01, 1 / 173.61).size > 0  # exactly one sample passes
