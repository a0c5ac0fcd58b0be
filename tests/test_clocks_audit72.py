"""Audit 72 (clocks): the start times read from files and what their refusals advise.

A phone's stamps counted since it booted, read as a date since 1970; a local clock put back or forward an hour for
daylight saving time, refused as samples missing (or to be sorted)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError, SamplingRateError
from citrus_hf.data.readers import read_timed_csv
from citrus_hf.data.readers.files import read_recording
from tests.test_pyversions_audit70 import _Python310Datetime


def _stamped_csv(path, stamps, name="timestamp"):
    rows = "".join(f"{stamp},{np.sin(index / 7):.4f}\n" for index, stamp in enumerate(stamps))
    path.write_text(f"{name},acc_x\n" + rows, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ CSV stamps since boot


@pytest.mark.parametrize("unit", [1, 1000])  # nanoseconds (Android's SensorEvent.timestamp), microseconds
def test_stamps_since_the_device_booted_give_no_start_on_the_clock(tmp_path, unit):
    """A phone up 10 days stamps 8.64e14 ns since it booted: read in µs that is a date in 1997, so the recording's
    start (and citrus predict's start_time of every window) was given as 1997-05-19, though its steps (1e7 ns at 100
    Hz) say nanoseconds; in µs since boot, 8.64e11 read as ms since 1970, 1997 again."""
    boot = 10 * 86400 * 10**9 // unit
    path = _stamped_csv(tmp_path / "phone.csv", [boot + index * 10**7 // unit for index in range(300)])
    recording = read_recording(path, sampling_rate=100)
    assert recording.channel_names == ["acc_x"] and recording.start is None


def test_stamps_since_1970_still_give_the_start(tmp_path):
    first = datetime.datetime(2025, 3, 1, 9, tzinfo=datetime.timezone.utc)
    milliseconds = int(first.timestamp() * 1000)
    path = _stamped_csv(tmp_path / "phone.csv", [milliseconds + index * 10 for index in range(300)])
    assert read_recording(path, sampling_rate=100).start == first


# ------------------------------------------------------------------------------ clock times on Python 3.10


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("2025-03-01T09:00:00.000Z", datetime.datetime(2025, 3, 1, 9, tzinfo=datetime.timezone.utc)),  # toISOString
        ("2025-03-01T10:00:00+0100", datetime.datetime(2025, 3, 1, 9, tzinfo=datetime.timezone.utc)),
        ("2025-03-01 10:00:00.5+01:00", datetime.datetime(2025, 3, 1, 9, 0, 0, 500000, tzinfo=datetime.timezone.utc)),
    ],
)
def test_clock_times_are_read_alike_on_python_310(tmp_path, monkeypatch, first, expected):
    """A time column of clock times was read through `datetime.fromisoformat`, which on Python 3.10 reads only
    isoformat()'s form: JavaScript's "...Z", a "+0100" offset or a fraction of 1 digit were refused there as "not a
    numeric CSV file" and read on 3.11+ (tests/test_pyversions_audit70's static check failed on it)."""
    from citrus_hf.data.readers import arff_csv

    monkeypatch.setattr(arff_csv, "datetime", SimpleNamespace(datetime=_Python310Datetime, timezone=datetime.timezone))
    stamps = [first] + [
        (expected + datetime.timedelta(seconds=index / 100)).isoformat().replace("+00:00", "Z")
        for index in range(1, 300)
    ]
    recording = read_recording(_stamped_csv(tmp_path / "log.csv", stamps, "time"), sampling_rate=100)
    assert recording.data.shape == (1, 300) and recording.start == expected


# ------------------------------------------------------------------------------------ daylight saving time


def _clock_times(first: datetime.datetime, count: int, rate: float = 100.0) -> list[str]:
    return [(first + datetime.timedelta(seconds=index / rate)).isoformat(sep=" ") for index in range(count)]


@pytest.mark.parametrize(
    ("before", "after", "what"),
    [
        (datetime.datetime(2025, 10, 26, 2, 59, 59), datetime.datetime(2025, 10, 26, 2, 0, 0), "goes back"),
        (datetime.datetime(2025, 3, 30, 1, 59, 59), datetime.datetime(2025, 3, 30, 3, 0, 0), "jumps"),
    ],
)
def test_local_clock_times_across_a_daylight_saving_change_are_refused_naming_it(tmp_path, before, after, what):
    """Local clock times without offsets go back an hour where daylight saving time ends and forward where it begins:
    refused, as they must be (the samples after it would be read an hour off), but advised to cut the file at its
    'gaps' (into an hour's overlap, or none) or to drop the time column; the fix is to write the UTC offsets."""
    stamps = _clock_times(before, 100) + _clock_times(after, 200)
    with pytest.raises(CorruptFileError, match=rf"{what}.*an hour .*daylight saving time.*UTC offset") as caught:
        read_recording(_stamped_csv(tmp_path / "log.csv", stamps, "time"), sampling_rate=100)
    assert "Cut the file" not in str(caught.value)


def test_read_timed_csv_names_the_daylight_saving_change(tmp_path):
    """read_timed_csv refused the autumn change's hour back advising to sort the rows by time (which interleaves the
    two hours' samples), or, where the file ended before it began, as a clock that 'does not increase'; the spring
    change's hour forward as rows missing, to cut the file there."""
    path = tmp_path / "hr.csv"
    for before, after, what in [
        (datetime.datetime(2025, 10, 26, 2, 59, 50), datetime.datetime(2025, 10, 26, 2, 0, 0), "goes back"),
        (datetime.datetime(2025, 3, 30, 1, 59, 50), datetime.datetime(2025, 3, 30, 3, 0, 0), "jumps"),
    ]:
        stamps = _clock_times(before, 1000) + _clock_times(after, 1000)
        path.write_text("time,hr\n" + "".join(f"{stamp},60\n" for stamp in stamps), encoding="utf-8")
        with pytest.raises(CorruptFileError, match=rf"{what}.*an hour .*daylight saving time.*UTC offset"):
            read_timed_csv(path, "hr", "time")


def test_a_gap_of_other_than_an_hour_is_still_rows_missing(tmp_path):
    path = tmp_path / "hr.csv"
    stamps = _clock_times(datetime.datetime(2025, 3, 30, 1, 0), 1000) + _clock_times(
        datetime.datetime(2025, 3, 30, 1, 30), 1000
    )
    path.write_text("time,hr\n" + "".join(f"{stamp},60\n" for stamp in stamps), encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"rows are missing there") as caught:
        read_timed_csv(path, "hr", "time")
    assert "daylight" not in str(caught.value)


# ---------------------------------------------------------------------------- a time column with a stamp missing


def _with_empty(stamps: list, rows: list[int]) -> list:
    return ["" if row in rows else stamp for row, stamp in enumerate(stamps)]


def test_a_time_column_with_an_empty_cell_is_still_checked_against_the_rate(tmp_path):
    """An empty cell reads as a missing sample (NaN), and one in the time column skipped every check of its stamps:
    a file stamped at 250 Hz was read at the 100 Hz given without a word (each second scored as 2.5 s), and 5 s of
    samples missing went unseen."""
    first = 1_740_819_600_000
    path = _stamped_csv(tmp_path / "fast.csv", _with_empty([first + 4 * row for row in range(2000)], [700]), "time_ms")
    with pytest.raises(SamplingRateError, match=r"steps 4 ms between samples \(250 Hz\)"):
        read_recording(path, sampling_rate=100)
    stamps = [first + 10 * row for row in range(1000)] + [first + 15000 + 10 * row for row in range(1000)]
    path = _stamped_csv(tmp_path / "gap.csv", _with_empty(stamps, [700]), "time_ms")
    with pytest.raises(CorruptFileError, match=r"jumps from .* \(5000 ms of samples missing\)"):
        read_recording(path, sampling_rate=100)


def test_a_time_column_whose_first_stamp_is_missing_still_gives_the_start(tmp_path):
    first = datetime.datetime(2025, 3, 1, 9, tzinfo=datetime.timezone.utc)
    milliseconds = int(first.timestamp() * 1000)
    stamps = _with_empty([milliseconds + 10 * row for row in range(300)], [0, 150])
    recording = read_recording(_stamped_csv(tmp_path / "log.csv", stamps, "time_ms"), sampling_rate=100)
    assert recording.start == first and recording.data.shape == (1, 300)


# ------------------------------------------------------------------ milliseconds since 1970 read as seconds


def test_millisecond_stamps_since_1970_are_not_read_as_seconds(tmp_path):
    """Stamps in ms since 1970 (1.74e12) at 1000 Hz step 1: read as seconds (55,000 years since 1970) that matched a
    --sampling-rate 1 given by mistake, so the file was read at 1 Hz (each second scored as 1000 s) without a word."""
    first = 1_740_819_600_000
    path = _stamped_csv(tmp_path / "ecg.csv", [first + row for row in range(3000)])
    with pytest.raises(SamplingRateError, match=r"steps 1 ms between samples \(1000 Hz\)"):
        read_recording(path, sampling_rate=1)
    assert read_recording(path, sampling_rate=1000).start == datetime.datetime(
        2025, 3, 1, 9, tzinfo=datetime.timezone.utc
    )


def test_relative_stamps_in_seconds_at_a_slow_rate_are_still_read(tmp_path):
    """Seconds from the start at 1 Hz (a slow series): small numbers, read in seconds as before."""
    path = _stamped_csv(tmp_path / "slow.csv", list(range(300)), "time")
    assert read_recording(path, sampling_rate=1).data.shape == (1, 300)


# --------------------------------------------------------------------------- a spreadsheet's date serial numbers


def test_a_time_column_of_spreadsheet_days_is_named_as_such(tmp_path):
    """A time column exported from a spreadsheet as numbers counts days (45717.375 is 2025-03-01 09:00): refused with
    the advice '--sampling-rate 8.64e+06' (its steps read as seconds), which read 10 s of signal as 1.2 ms."""
    stamps = [f"{45717.375 + row / 100 / 86400:.10f}" for row in range(1000)]
    with pytest.raises(CorruptFileError, match=r"counts days .*spreadsheet's date serial numbers") as caught:
        read_recording(_stamped_csv(tmp_path / "sheet.csv", stamps, "time"), sampling_rate=100)
    assert "8.64e+06" not in str(caught.value)
