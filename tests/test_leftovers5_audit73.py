"""Items this session's helpers noticed: a CSV time column of times of day without a date, a BIOPAC text export read
without a rate, a zoned clock column's stamps shown in UTC in a refusal, the evaluation protocol's spread."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording

RATE = 10


def _write(path, stamps, header="time,ECG"):
    """A CSV of `stamps` (text) beside one channel, sample i's value i."""
    path.write_text("\n".join([header, *(f"{stamp},{row}" for row, stamp in enumerate(stamps))]) + "\n")


def _time_of_day(seconds: float) -> str:
    hours, rest = divmod(seconds % 86400, 3600)
    minutes, rest = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{rest:06.3f}"


def test_a_time_column_of_times_of_day_is_read_from_its_first_stamp_with_no_start(tmp_path):
    """`09:00:00.000`, as many loggers write the time alone, was refused as no number; it is read as seconds from
    the first stamp (no date: no start), its steps checked against the rate."""
    _write(tmp_path / "tod.csv", [_time_of_day(9 * 3600 + row / RATE) for row in range(300)])
    recording = read_recording(tmp_path / "tod.csv", sampling_rate=RATE)
    assert recording.channel_names == ["ECG"]
    np.testing.assert_array_equal(recording.data[0], np.arange(300))
    assert recording.start is None
    with pytest.raises(ValueError, match=r"steps 0\.1 s .*10 Hz"):  # the stamps are checked against the rate
        read_recording(tmp_path / "tod.csv", sampling_rate=20)


def test_times_of_day_run_on_past_midnight_and_a_gap_is_shown_as_the_file_wrote_it(tmp_path):
    # 23:59:00 to 00:01:00: the stamps after midnight are no step back
    _write(tmp_path / "midnight.csv", [_time_of_day(86400 - 60 + row / RATE) for row in range(1200)])
    recording = read_recording(tmp_path / "midnight.csv", sampling_rate=RATE)
    np.testing.assert_array_equal(recording.data[0], np.arange(1200))
    assert recording.start is None
    # a gap of a minute is refused, its stamps shown as the time of day written
    seconds = [9 * 3600 + row / RATE for row in range(600)] + [9 * 3600 + 120 + row / RATE for row in range(600)]
    _write(tmp_path / "gap.csv", [_time_of_day(each) for each in seconds])
    with pytest.raises(CorruptFileError, match=r"jumps from 09:00:59\.9 to 09:02:00 \(60 s of samples missing\)"):
        read_recording(tmp_path / "gap.csv", sampling_rate=RATE)


def test_a_gap_in_zoned_clock_stamps_is_shown_in_the_offset_the_file_wrote(tmp_path):
    """`09:00:59.9+01:00` was shown as `08:00:59.9+00:00` in the refusal: UTC, not what the file says."""
    zone = datetime.timezone(datetime.timedelta(hours=1))
    start = datetime.datetime(2025, 3, 1, 9, tzinfo=zone)
    offsets = [row / RATE for row in range(600)] + [120 + row / RATE for row in range(600)]
    stamps = [
        (start + datetime.timedelta(seconds=each)).isoformat(sep=" ", timespec="milliseconds") for each in offsets
    ]
    path = tmp_path / "zoned.csv"
    _write(path, stamps)
    with pytest.raises(
        CorruptFileError, match=r"jumps from 2025-03-01 09:00:59\.9\+01:00 to 2025-03-01 09:02:00\+01:00 "
    ):
        read_recording(path, sampling_rate=RATE)


def test_a_biopac_text_export_without_a_rate_is_refused_naming_its_rate_first(tmp_path):
    """Read without a rate, it was first refused for the rate alone; given the rate, then for its header."""
    header = ["rest.acq", "2 msec/sample", "2 channels", "ECG - ECG100C", "mV", "EDA - EDA100C", "microsiemens"]
    rows = [f"{row / 500 / 60:.6f}\t{np.sin(row / 10):.5f}\t{5 + row / 1000:.5f}" for row in range(40)]
    (tmp_path / "biopac.txt").write_text("\n".join([*header, "min\tCH1\tCH2", *rows]) + "\n")
    with pytest.raises(CorruptFileError, match=r"BIOPAC AcqKnowledge text export .*500 Hz.*delete its first 7 lines"):
        read_recording(tmp_path / "biopac.txt")


def test_citrus_predict_refuses_a_biopac_text_export_without_a_rate_naming_its_rate(tmp_path):
    from citrus_hf.commands import predict

    header = ["rest.acq", "2 msec/sample", "1 channels", "ECG - ECG100C", "mV"]
    rows = [f"{row / 500 / 60:.6f}\t{np.sin(row / 10):.5f}" for row in range(40)]
    (tmp_path / "biopac.txt").write_text("\n".join([*header, "min\tCH1", *rows]) + "\n")
    with pytest.raises(CorruptFileError, match=r"BIOPAC AcqKnowledge text export .*500 Hz.*delete its first 5 lines"):
        predict.run(["citrus-small", str(tmp_path / "biopac.txt")])


def test_the_protocol_docstring_names_the_spread_the_report_writes():
    from citrus_hf.evaluation import protocol
    from citrus_hf.evaluation.report import SPREAD

    assert f"mean ± {SPREAD}" in " ".join(protocol.__doc__.split())
