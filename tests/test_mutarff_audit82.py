"""Mutation audit 82 of the text readers (`citrus_hf.data.readers.arff_csv`, `.vendors`, `.rdata`): each test here
pins an answer the suite let through when the reader was changed on purpose (a dtype, a refusal's cause, a rate, a
clock's zone), on a tiny file written in its real format, with the expected values worked out by hand in comments."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import arff_csv, read_r_data, read_recording, read_timed_csv, read_uea_arff, vendors

# -------------------------------------------------------------------------------------------------------------- .arff


def _arff(tmp_path, rows: str, steps: int = 3, classes: str = "\n@attribute class {a,b}"):
    """A UEA ARFF file of one relational attribute of `steps` numeric steps, then `classes`, then the `rows`."""
    path = tmp_path / "set.arff"
    attributes = "".join(f"  @attribute t{index} numeric\n" for index in range(steps))
    path.write_text(f"@relation X\n@attribute rel relational\n{attributes}@end rel{classes}\n@data\n{rows}")
    return path


def test_an_arff_file_reads_as_float32_examples_of_channels_by_steps(tmp_path):
    """(N, C, T) float32 as documented: two examples of 2 channels by 3 steps, channel after channel as written."""
    values, labels, classes = read_uea_arff(_arff(tmp_path, "'1,2,3\\n4,5,6',b\n'7,8,9\\n1,2,?',a\n"))
    assert values.dtype == np.float32 and values.shape == (2, 2, 3)
    np.testing.assert_array_equal(values[0], [[1, 2, 3], [4, 5, 6]])
    assert np.isnan(values[1, 1, 2]) and labels == ["b", "a"] and classes == ["a", "b"]


def test_an_arff_file_without_a_class_attribute_is_refused_naming_both_it_needs(tmp_path):
    """The relational attribute alone was read as its own class attribute, and refused as "a regression target"."""
    with pytest.raises(CorruptFileError, match=r"declares the attributes \['rel'\]; .* and a class attribute"):
        read_uea_arff(_arff(tmp_path, "'1,2,3\\n4,5,6'\n", classes=""))


def test_arff_examples_of_different_channel_counts_are_refused_naming_their_shapes(tmp_path):
    """A second example of 3 channels beside one of 2 failed in numpy's stack, naming no file."""
    path = _arff(tmp_path, "'1,2,3\\n4,5,6',a\n'1,2,3\\n4,5,6\\n7,8,9',b\n")
    with pytest.raises(CorruptFileError, match=r"different shapes \[\(2, 3\), \(3, 3\)\]"):
        read_uea_arff(path)


def test_a_double_quoted_arff_example_with_a_longer_channel_is_refused(tmp_path):
    """scipy reads an example in double quotes as one in single quotes (and drops the 4th value of a 3-step
    channel); the count of its values split the line at its first comma, so the channel seemed to hold 1 value."""
    assert read_uea_arff(_arff(tmp_path, '"1,2,3\\n4,5,6",a\n'))[0].shape == (1, 2, 3)
    with pytest.raises(CorruptFileError, match="example 1's channel 1 holds 4 values"):
        read_uea_arff(_arff(tmp_path, '"1,2,3,4\\n4,5,6",a\n'))


def test_a_short_channel_under_upper_case_keywords_names_the_steps_declared(tmp_path):
    """ARFF's keywords are read in any case (scipy's reader does): under "@ATTRIBUTE rel RELATIONAL" the steps it
    declares were not counted, and the refusal of a short channel said "the declared" where it says 3."""
    path = tmp_path / "upper.arff"
    steps = "".join(f"  @ATTRIBUTE t{index} NUMERIC\n" for index in range(3))
    path.write_text(
        f"@RELATION X\n@ATTRIBUTE rel RELATIONAL\n{steps}@END rel\n@ATTRIBUTE class {{a,b}}\n@DATA\n'1,2\\n4,5,6',a\n"
    )
    with pytest.raises(CorruptFileError, match="fewer values than the 3 time steps"):
        read_uea_arff(path)


# ---------------------------------------------------------------------------------------------------------------- CSV


def _rows(count: int, last: Callable[[int], str] = lambda row: "", delimiter: str = ",") -> str:
    """`count` CSV rows of two channels that rise by no constant step (no clock's column), and `last(row)` as a third
    cell where it gives one."""
    return "".join(f"{row % 7}.5{delimiter}{row % 5}.25{last(row)}\n" for row in range(count))


def test_a_missing_cell_after_a_delimiter_and_a_space_is_nan(tmp_path):
    """A cell " NA" (after "0.5,"), as numpy gives it, holds the space: it was refused as no number."""
    path = tmp_path / "spaced.csv"
    path.write_text("a,b\n" + "".join(f"{row % 7}.5, {'NA' if row == 3 else f'{row % 5}.25'}\n" for row in range(20)))
    recording = read_recording(path, sampling_rate=10)
    assert recording.data.shape == (2, 20) and np.isnan(recording.data[1, 3]) and recording.data[1, 4] == 4.25


def test_an_excel_gap_in_lower_case_is_a_missing_value_as_in_upper_case(tmp_path):
    """Excel's "#n/a" as its "#N/A" (missing markers are read in any case): numpy read it as a comment from its "#"
    on, and a row that opens with it was dropped, every later sample a sample early."""
    path = tmp_path / "gaps.csv"
    path.write_text("a,b\n" + "".join(f"{'#n/a' if row == 4 else f'{row % 7}.5'},{row % 5}.25\n" for row in range(20)))
    recording = read_recording(path, sampling_rate=10)
    assert recording.data.shape == (2, 20) and np.isnan(recording.data[0, 4]) and recording.data[1, 4] == 4.25


def test_a_missing_value_beside_a_clock_column_is_nan(tmp_path):
    """A pandas DatetimeIndex CSV with a NaN sample (an empty cell): the missing cells were read as NaN in the clock's
    column alone, and the empty cell of a channel was refused as no number."""
    index = pd.date_range("2024-03-01 08:00", periods=50, freq="10ms")
    frame = pd.DataFrame({"ECG": np.sin(np.arange(50) / 5), "PPG": np.cos(np.arange(50) / 3)}, index=index)
    frame.iloc[7, 1] = np.nan
    frame.to_csv(tmp_path / "clock.csv")
    recording = read_recording(tmp_path / "clock.csv", sampling_rate=100)
    assert recording.channel_names == ["ECG", "PPG"]
    np.testing.assert_array_equal(recording.data, frame.to_numpy().T)  # (NaN where NaN: assert_array_equal's rule)


def test_a_utf32_csv_is_read_by_its_byte_order_mark(tmp_path):
    """UTF-32's little-endian mark starts with UTF-16's: looked for after it, the file was decoded as UTF-16."""
    text = "a,b\n" + _rows(20)
    (tmp_path / "wide.csv").write_bytes(text.encode("utf-32"))  # (Python writes the mark)
    (tmp_path / "plain.csv").write_text(text)
    wide, plain = (
        read_recording(tmp_path / "wide.csv", sampling_rate=10),
        read_recording(tmp_path / "plain.csv", sampling_rate=10),
    )
    assert wide.channel_names == ["a", "b"]
    np.testing.assert_array_equal(wide.data, plain.data)


def test_the_first_value_under_a_trailing_delimiter_is_named_however_the_file_is_cut_in_blocks(tmp_path, monkeypatch):
    """Values under the empty last column at data rows 61 and 91: a file parsed in several blocks named the last
    block's (row 91)."""
    path = tmp_path / "trailing.csv"
    path.write_text("a;b;\n" + _rows(120, lambda row: ";9" if row in (60, 90) else ";", delimiter=";"))
    for block_chars in (2**18, 64):
        monkeypatch.setattr(arff_csv, "_BLOCK_CHARS", block_chars)
        with pytest.raises(CorruptFileError, match=r"data row 61 holds a value in that last column \(9\)"):
            read_recording(path, sampling_rate=10)


def test_a_quoted_cell_holding_a_line_break_is_read_whole_in_blocks(tmp_path, monkeypatch):
    """A block ending inside quotes (a cell that holds a line break, which numpy reads) is read on to where they
    close: cut there, its second line was refused as a row of one cell."""
    path = tmp_path / "quoted.csv"
    path.write_text(
        "a,b\n" + "".join(f'{row}.5,"{row % 7}\n"\n' if row == 30 else f"{row % 3}.5,{row % 7}\n" for row in range(60))
    )
    whole = read_recording(path, sampling_rate=10)
    monkeypatch.setattr(arff_csv, "_BLOCK_CHARS", 8)
    np.testing.assert_array_equal(read_recording(path, sampling_rate=10).data, whole.data)
    assert whole.data.shape == (2, 60) and whole.data[:, 30].tolist() == [30.5, 2.0]


def test_marker_rows_of_a_later_block_are_left_out_where_they_stand(tmp_path, monkeypatch):
    """A Mind Monitor CSV read in blocks, its text markers after samples 10 and 70 (each a row of no sample): the
    marker rows of a later block were counted from that block's start, so a sample was dropped in place of a marker
    and the marker read as a sample."""
    rate, start = 256, pd.Timestamp("2020-04-12 11:42:10")
    values = np.random.default_rng(0).uniform(700, 900, (100, 2)).round(3)
    lines = ["TimeStamp,RAW_TP9,RAW_AF7,Elements"]
    for row in range(100):
        stamp = (start + pd.Timedelta(seconds=row / rate)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        lines.append(f"{stamp},{values[row, 0]},{values[row, 1]},")
        if row in (10, 70):
            lines.append(f"{stamp},,,/muse/elements/blink")
    (tmp_path / "muse.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(arff_csv, "_BLOCK_CHARS", 256)
    recording = read_recording(tmp_path / "muse.csv", channels=["RAW_TP9", "RAW_AF7"], sampling_rate=rate)
    np.testing.assert_array_equal(recording.data, values.T)


# -------------------------------------------------------------------------------------------------------- clock cells


def test_a_time_of_day_stops_at_23_hours():
    """A cell "24:30:00" is no time of day (nor is it an ISO date-time): read as one, it was 88200 s since midnight."""
    assert arff_csv.is_time_of_day("23:59:59.5") and arff_csv.clock_seconds("23:59:59.5") == 86399.5
    assert not arff_csv.is_time_of_day("24:30:00") and arff_csv.clock_seconds("24:30:00") is None


def test_a_pandas_timedelta_cell_counts_its_days_as_86400_seconds():
    """A TimedeltaIndex past a day ("1 days 00:00:01") or before zero ("-1 days +23:59:59.99": -0.01 s)."""
    assert arff_csv.clock_seconds("1 days 00:00:01.500000") == 86401.5
    assert arff_csv.clock_seconds("-1 days +23:59:59.990000") == pytest.approx(-0.01)


def test_a_date_time_without_a_zone_is_read_as_utc_whatever_the_machines_zone(monkeypatch):
    """Seconds since 1970 of a wall clock of no stated zone are the same on every machine: read in the machine's
    local zone (`datetime.timestamp` of a naive time), the start moved with the machine's zone."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert arff_csv.clock_seconds("1970-01-02 00:00:10") == 86410.0
        assert arff_csv.clock_seconds("2024-03-01 08:00:00.250") == 1709280000.25
    finally:
        monkeypatch.undo()
        time.tzset()


# ----------------------------------------------------------------------------------------------- CSV with a time column


def test_a_timed_csv_row_with_fewer_cells_than_the_header_is_refused(tmp_path):
    """csv.DictReader fills a row cut short with None, which float() refused with a TypeError naming no file."""
    path = tmp_path / "ecg.csv"
    path.write_text("time,ecg\n0,1.5\n10\n20,3.5\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match="data row 2 has fewer fields than the header"):
        read_timed_csv(path, "ecg", "time")


def test_a_timed_csv_of_time_stamps_gives_the_rate_to_their_microseconds(tmp_path):
    """Stamps 10 ms apart over 2.5 s (heartpy's data3.csv layout, YYYY-MM-DD hh:mm:ss.ffffff): 100 Hz, where their
    whole seconds (2 s) gave 125 Hz."""
    start = pd.Timestamp("2024-03-01 08:00:00")
    stamps = [(start + pd.Timedelta(milliseconds=10 * row)).strftime("%Y-%m-%d %H:%M:%S.%f") for row in range(251)]
    path = tmp_path / "hr.csv"
    path.write_text("datetime,hr\n" + "".join(f"{stamp},{60 + row % 9}\n" for row, stamp in enumerate(stamps)))
    values, rate = read_timed_csv(path, "hr", "datetime")
    assert rate == pytest.approx(100.0) and values[:3].tolist() == [60.0, 61.0, 62.0]


def _timed(tmp_path, milliseconds: list[float]):
    """A CSV of a time column in milliseconds and a heart rate beside it."""
    path = tmp_path / "hr.csv"
    path.write_text("time,hr\n" + "".join(f"{stamp:.1f},{60 + row % 9}\n" for row, stamp in enumerate(milliseconds)))
    return path


def test_a_clock_ticking_slower_than_the_samples_gives_their_rate(tmp_path):
    """100 Hz stamped by a 40 ms tick (three steps of 0 for each of 40 ms): its usual step is the median of the steps
    above 0; taken over all of them (0 s), every tick was a jump and the file was refused as rows missing."""
    assert read_timed_csv(_timed(tmp_path, [np.floor(row / 4) * 40 for row in range(301)]), "hr", "time")[1] == 100.0


def test_a_host_late_in_stamping_near_the_end_of_the_file_is_no_gap(tmp_path):
    """100 Hz, rows 291-296 held back and stamped at once 60 ms after row 290 (a step of 6 samples), then on time: the
    rows after the step were counted against 4 steps' time past the file's end (30 expected, 9 there), and the file
    was refused as rows missing."""
    stamps = [10.0 * row for row in range(300)]
    stamps[291:297] = [2960.0] * 6
    assert read_timed_csv(_timed(tmp_path, stamps), "hr", "time")[1] == pytest.approx(100.0)


def test_a_timed_csv_of_one_repeated_stamp_is_refused(tmp_path):
    """All stamps alike: a span of 0 s gave an infinite rate."""
    with pytest.raises(CorruptFileError, match="'time' does not increase"):
        read_timed_csv(_timed(tmp_path, [5.0] * 20), "hr", "time")


# ------------------------------------------------------------------------------------------------------------ vendors

E4_START = "1589380562.000000"  # 2020-05-13 14:36:02 UTC


def test_an_e4_header_is_one_start_from_2010_and_one_rate_in_every_column():
    """The first two rows of an E4 export, and rows that only look like one: samples whose first row is a small
    constant (a start before 2010), a rate of 0, rows of two widths, or starts that differ by column."""
    start, rate = vendors.empatica_e4_header([E4_START] * 3, ["32.000000"] * 3)
    assert start == datetime.datetime(2020, 5, 13, 14, 36, 2, tzinfo=datetime.timezone.utc) and rate == 32.0
    assert vendors.empatica_e4_header(["1.0", "1.0"], ["2.0", "2.0"]) is None
    assert vendors.empatica_e4_header([E4_START], ["0"]) is None
    assert vendors.empatica_e4_header([E4_START], ["4", "4"]) is None
    assert vendors.empatica_e4_header([E4_START, "1589380563.0"], ["4", "4"]) is None


def test_an_ibi_header_is_refused_as_the_csv_module_splits_it_and_a_time_column_named_so_is_not(tmp_path):
    """E4's `IBI.csv` header is "<start>, IBI" (a space after the comma); another device's "time,IBI" is a CSV of
    its own, not E4's."""
    with pytest.raises(CorruptFileError, match="is an Empatica E4 IBI.csv"):
        vendors.refuse_empatica_ibi(tmp_path / "IBI.csv", [E4_START, " IBI"])
    assert vendors.refuse_empatica_ibi(tmp_path / "hrv.csv", ["time", "IBI"]) is None


def test_shimmers_formats_row_holds_calibration_words_alone():
    assert vendors.is_shimmer_formats_row(["CAL", "CAL", "RAW", ""])
    assert not vendors.is_shimmer_formats_row(["CAL", "mV", ""])  # a row of units with one "CAL" in it
    assert not vendors.is_shimmer_formats_row(["", ""])


def test_shimmers_synchronised_unix_time_column_is_its_time_stamps():
    """Shimmer's "..._TimestampSync_Unix_CAL" (Consensys' synchronised Unix milliseconds) is a time column as
    "..._Timestamp_Unix_CAL" is; a calibrated signal is not."""
    for signal in ("timestamp_sync_unix", "timestamp_unix", "timestamp_sync", "timestamp"):
        assert vendors.vendor_column_key(f"shimmer_5e7d_{signal}_cal") == "timestamp"
    assert vendors.vendor_column_key("shimmer_5e7d_ecg_ll_ra_24bit_cal") == "shimmer_5e7d_ecg_ll_ra_24bit_cal"


def test_an_acqknowledge_header_of_no_interval_is_none_and_one_in_microseconds_is_refused(tmp_path):
    """A header of "0 msec/sample" states no rate: taken for AcqKnowledge's, its rate divided by zero. One of
    "µsec/sample" (a rate in kHz) was not recognised, and the file was refused as no numbers, naming no fix."""
    assert vendors.refuse_acqknowledge_header(tmp_path / "x.txt", ["x.acq", "0 msec/sample", "2 channels"]) is None
    with pytest.raises(CorruptFileError, match=r"50 µsec/sample: 20000 Hz; 1 channel\).*delete its first 5 lines"):
        vendors.refuse_acqknowledge_header(tmp_path / "x.txt", ["x.acq", "50 µsec/sample", "1 channel"])


# ------------------------------------------------------------------------------------------------------------- R data


@pytest.mark.parametrize("version, read", [(2, True), (1, False), (0, False), (4, False)])
def test_r_data_of_serialization_formats_other_than_2_and_3_are_refused_naming_theirs(tmp_path, version, read):
    """An XDR file saving `x` <- 1.5 whose format word is `version`: 1 (R before 1.4) was parsed as format 2."""
    words = [version, 0x040000, 0x020300, 2 | 1 << 10, 1, 9, 1]  # the versions, a pairlist cell tagged "x"
    body = np.asarray(words, dtype=">i4").tobytes() + b"x" + np.asarray([14, 1], dtype=">i4").tobytes()
    body += np.asarray([1.5], dtype=">f8").tobytes() + np.asarray([254], dtype=">i4").tobytes()
    (tmp_path / "x.rda").write_bytes(b"RDX2\nX\n" + body)
    if read:
        assert read_r_data(tmp_path / "x.rda")["x"].value.tolist() == [1.5]
    else:
        with pytest.raises(CorruptFileError, match=f"uses R serialization format {version}; formats 2 and 3"):
            read_r_data(tmp_path / "x.rda")
