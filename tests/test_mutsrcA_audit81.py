"""Mutation audit of the labelled registered sets (audit 81, the labelled share of audit 80's mutants): the facts
each set's reader states and no test checked exactly — where a beat window starts, where a hypnogram's epochs lie on
its PSG, the rate a TF-C set documents, which of systole's files each channel is, which block of the picture task
tests and which trains — checked against the sources' own files and documentation.

The real recordings are the offline archives' (conftest's `offline_archives_cached`); the WFDB and EDF files written
here are the ones a user's own folder would hold.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from test_annot_audit67 import START, run, write_night, write_psg
from tiny_configs import write_edf_annotations


def test_a_mitdb_beat_window_is_the_record_from_before_to_after_its_r_peak(tmp_path):
    """The window of a beat annotated at sample s is the lead's samples s - 0.25 s .. s + 0.45 s (90 before, 162
    from the peak on at 360 Hz), as `mitdb_beats` documents: a ramp tells any shift by one sample."""
    import wfdb

    from citrus_hf.data.readers import read_wfdb
    from citrus_hf.data.sources.mitdb import wfdb_beat_windows

    rate = 360
    ramp = np.arange(4 * rate, dtype=np.float64)[:, None] / rate
    wfdb.wrsamp("101", fs=rate, units=["mV"], sig_name=["MLII"], p_signal=ramp, fmt=["16"], write_dir=str(tmp_path))
    wfdb.wrann("101", "atr", np.array([rate, 2 * rate]), ["N", "V"], write_dir=str(tmp_path))
    lead = read_wfdb(tmp_path / "101").data[0]
    windows = list(wfdb_beat_windows(tmp_path / "101", 0.25, 0.45))
    assert [sample for _, _, sample in windows] == [rate, 2 * rate]
    for window, _, sample in windows:
        np.testing.assert_array_equal(window[0], lead[sample - 90 : sample + 162].astype(np.float32))


def test_a_hypnogram_that_starts_after_its_psg_scores_the_psg_seconds_it_names(tmp_path):
    """EDF+ onsets count from their own file's start: a hypnogram started 60 s after its PSG scores the PSG's seconds
    60 on (Sleep-EDF's two files start together, so only a user's own pair tells the direction of the offset)."""
    from citrus_hf.data.sources.sleep_physionet import pair_sleep_edf_files, sleep_edf_windows

    write_psg(tmp_path / "SC4011E0-PSG.edf", 300)  # every channel holds its time in seconds since START
    later = START + datetime.timedelta(seconds=60)
    write_edf_annotations(tmp_path / "SC4011EC-Hypnogram.edf", run([("W", 60), ("2", 60)]), later)
    (pair,) = pair_sleep_edf_files(tmp_path)
    windows = list(sleep_edf_windows(pair, channels=["EEG Fpz-Cz"], max_wake_edge_minutes=None))
    assert [(start, stage) for _, stage, start in windows] == [(60.0, "W"), (90.0, "W"), (120.0, "N2"), (150.0, "N2")]
    for window, _, start in windows:
        assert window[0, 0] == pytest.approx(start, abs=0.2)  # 16-bit EDF steps of 0.15 s


def test_the_tfc_ecg_set_is_at_the_300_hz_of_physionets_2017_challenge(tmp_path):
    """TF-C's ECG set is the PhysioNet/CinC 2017 AF challenge's single-lead recordings, sampled at 300 Hz: its rows
    say so (the rate a fine-tuned model resamples a user's ECG from)."""
    import torch

    from citrus_hf.data.registry import SOURCES
    from citrus_hf.data.sources.tfc import _tfc_examples, plan_tfc

    for file in ("train.pt", "val.pt", "test.pt"):
        torch.save({"samples": torch.zeros(2, 1, 1500), "labels": torch.tensor([0, 3])}, tmp_path / file)
    plan = plan_tfc("ecg", tmp_path)
    assert {row["sampling_rate"] for split in plan.splits.values() for row in _tfc_examples(**split)} == {300.0}
    assert SOURCES["tfc_ecg"].sampling_rate == "300"


@pytest.fixture(scope="module")
def archives(offline_archives_cached):
    """Every offline archive cached and checked (see conftest.py)."""


def _member(source: str, suffix: str):
    from citrus_hf.data.fetch import source_members

    return next(path for member, path in source_members(source).items() if member.endswith(suffix))


def test_systole_picture_windows_are_the_files_they_name_after_each_onset_in_block_order(archives):
    """Each channel of a picture window is the Task1 file of its name (Task1_EDA.npy for eda, ...) from onset + offset
    on, and the row starts there; the blocks of each class are numbered in time order, so that the last block of each
    class (systole_affect's default test split) is the last one shown, and the training split holds the others."""
    from citrus_hf.data.plans import BuildContext
    from citrus_hf.data.readers import load_npy
    from citrus_hf.data.registry import get_dataset_spec
    from citrus_hf.data.sources.systole import load_picture_events, picture_windows, plan_affect

    events = load_picture_events(window_seconds=2.0, offset_seconds=0.5)
    onsets = np.flatnonzero(load_npy(_member("systole_task1", "Task1_Stim.npy")))
    for name, file in (("ecg", "Task1_ECG.npy"), ("eda", "Task1_EDA.npy"), ("resp", "Task1_Respiration.npy")):
        recording = load_npy(_member("systole_task1", file))
        for index in (0, 71):
            start = onsets[index] + 500
            np.testing.assert_array_equal(events.signals[name][index, 0], recording[start : start + 2000])
    for label in (0, 1):
        times = [events.onset_seconds[(events.labels == label) & (events.block == block)] for block in range(3)]
        assert times[0].max() < times[1].min() and times[1].max() < times[2].min()
    rows = list(picture_windows((2,), 2.0, 0.5, None))
    assert [row["start_seconds"] for row in rows] == pytest.approx(onsets[events.block == 2] / 1000 + 0.5)
    defaults = dict(get_dataset_spec("systole_affect").defaults)
    for test_block, train_blocks in ((2, (0, 1)), (0, (1, 2))):
        splits = plan_affect({**defaults, "test_block": test_block}, BuildContext()).splits
        assert (splits["train"]["blocks"], splits["test"]["blocks"]) == (train_blocks, (test_block,))


def test_the_one_person_of_systole_and_of_wavethresh_is_named_alike_in_the_corpus_and_the_labelled_set(archives):
    """systole's Task1 is one participant and wavethresh's night one infant: the corpus recording and every window of
    the labelled set name the same subject, a named one ('unknown' is what no split by subject may take as one)."""
    from citrus_hf.data.registry import SOURCES
    from citrus_hf.data.sources.systole import picture_windows
    from citrus_hf.data.sources.wavethresh import sleep_state_windows

    (task1,) = SOURCES["systole_task1"].recordings()
    assert {row["subject"] for row in picture_windows((0,), 1.0, 0.0, None)} == {task1.subject} != {"unknown"}
    (night,) = SOURCES["wavethresh_baby"].recordings()
    states = str(_member("wavethresh_baby", "BabySS.rda"))
    rows = list(sleep_state_windows([night], states, "validation", 128.0, 16.0, (0.7, 0.15, 0.15)))
    assert {row["subject"] for row in rows} == {night.subject} and night.subject != "unknown"


def test_fetching_sleep_edf_subjects_takes_the_two_digits_after_the_study_and_its_group(monkeypatch, tmp_path):
    """`fetch_sleep_edf(subjects=...)` names subjects by the two digits after SC4 / ST7 (SC4ssN..., PhysioNet's
    naming): subjects 1 and 12 are SC401*, SC412* and ST701*, ST712*, and nothing else is downloaded."""
    from citrus_hf.data.sources import sleep_physionet

    chosen = {}
    monkeypatch.setattr(
        sleep_physionet, "fetch_physionet", lambda database, data_dir, select, base_url: chosen.update(select=select)
    )
    sleep_physionet.fetch_sleep_edf(tmp_path, subsets=("sleep-cassette", "sleep-telemetry"), subjects=[1, 12])
    files = [
        "sleep-cassette/SC4001E0-PSG.edf",
        "sleep-cassette/SC4011E0-PSG.edf",
        "sleep-cassette/SC4012EC-Hypnogram.edf",
        "sleep-cassette/SC4121E0-PSG.edf",
        "sleep-cassette/SC4411E0-PSG.edf",
        "sleep-telemetry/ST7011J0-PSG.edf",
        "sleep-telemetry/ST7121JP-Hypnogram.edf",
        "sleep-telemetry/ST7211J0-PSG.edf",
    ]
    assert [file for file in files if chosen["select"](file)] == [
        "sleep-cassette/SC4011E0-PSG.edf",
        "sleep-cassette/SC4012EC-Hypnogram.edf",
        "sleep-cassette/SC4121E0-PSG.edf",
        "sleep-telemetry/ST7011J0-PSG.edf",
        "sleep-telemetry/ST7121JP-Hypnogram.edf",
    ]


def test_a_local_sleep_edf_folder_selects_subjects_by_their_number(tmp_path):
    """`--subjects 12` over a folder of SC4011, SC4021 and SC4121 builds the night of subject 12 alone, and
    `--subjects 2` that of subject 2 (not 12, whose number also ends in 2)."""
    from citrus_hf.data.registry import get_dataset_spec
    from citrus_hf.data.sources.sleep_physionet import plan_sleep_edf

    for recording in ("SC4011", "SC4021", "SC4121"):
        write_night(tmp_path, run([("W", 60), ("2", 60)]), recording=recording, seconds=150)
    options = dict(get_dataset_spec("sleep_edf").defaults)
    for number, subject in ((12, "SC12"), (2, "SC02")):
        splits = plan_sleep_edf(tmp_path, options, subjects=[number]).splits
        assert [pair["subject"] for split in splits.values() for pair in split["pairs"]] == [subject]


def test_stage_annotations_without_a_duration_are_one_epoch_each(tmp_path):
    """A stage annotation whose duration the reader gives as NaN (none written) is a point event, one epoch from its
    onset, as one written with duration 0 is (`scored_epochs`)."""
    from citrus_hf.data.readers.edf import Annotation
    from citrus_hf.data.sources.sleep_physionet import scored_epochs

    for duration in (0.0, float("nan")):
        annotations = [Annotation(0.0, duration, "Sleep stage W"), Annotation(30.0, duration, "Sleep stage 2")]
        assert scored_epochs(tmp_path / "SC4001EC-Hypnogram.edf", annotations) == [(0.0, "W"), (30.0, "N2")]
