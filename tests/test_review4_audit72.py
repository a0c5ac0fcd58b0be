"""A row of another width that opens a block of a CSV read block by block (d38a0c0), and two known items of the CSV
reader: Excel's "#N/A" cells under the names were read as a row of
units (the sample lost) because the missing-value markers were defined twice, differently; and a pandas
DatetimeIndex CSV whose first stamp is missing (NaT, an empty cell) had its clock column missed and was refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citrus_hf.data import readers
from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import arff_csv


@pytest.mark.parametrize("marker", ["#N/A", "NULL", "n/a"])
def test_a_first_row_of_missing_markers_is_a_sample_not_units(tmp_path, marker):
    path = tmp_path / "gaps.csv"
    path.write_text(f"a,b\n{marker},{marker}\n" + "".join(f"{i}.5,{i}.25\n" for i in range(20)))
    recording = readers.read_recording(path, sampling_rate=10)
    assert recording.units == []
    assert recording.data.shape == (2, 21)
    assert np.isnan(recording.data[:, 0]).all() and recording.data[0, 1] == 0.5


def test_a_dash_under_the_names_is_a_unit(tmp_path):
    """One rule for a missing value's marker: "-", not read as one, is a unit (a dimensionless channel's)."""
    path = tmp_path / "units.csv"
    path.write_text("ecg,marker\nmV,-\n" + "".join(f"{i}.5,{i % 2}\n" for i in range(20)))
    recording = readers.read_recording(path, sampling_rate=10)
    assert recording.units == ["mV", "-"]
    assert recording.data.shape == (2, 20)


@pytest.mark.parametrize("channels", [None, ["ECG"]])
def test_a_datetime_index_whose_first_stamp_is_missing_is_read_as_time_stamps(tmp_path, channels):
    index = pd.date_range("2024-03-01 08:00", periods=300, freq="10ms")
    frame = pd.DataFrame({"ECG": np.sin(np.arange(300) / 5)}, index=index)
    frame.index = frame.index.where(np.arange(300) != 0)  # NaT first: written as an empty cell
    path = tmp_path / "first_nat.csv"
    frame.to_csv(path)
    recording = readers.read_recording(path, channels, sampling_rate=100)
    assert recording.channel_names == ["ECG"]
    np.testing.assert_array_equal(recording.data[0], frame["ECG"].to_numpy())
    if channels is None:  # its stamps checked against the rate (as a read of every channel checks them)
        with pytest.raises(ValueError, match="time stamps"):
            readers.read_recording(path, channels, sampling_rate=250)


@pytest.mark.parametrize("block_chars", [16, 60])
def test_a_short_row_opening_a_later_block_is_told_as_rows_of_different_widths(tmp_path, monkeypatch, block_chars):
    """A cut row that opens a block (the blocks made small): numpy took its width for the block's, and with a
    converter for each of the file's columns (a clock column, the missing cells) told "converter specified for column
    3, which is invalid for the number of fields 3"; a read of the whole file names the row, as it now does."""
    monkeypatch.setattr(arff_csv, "_BLOCK_CHARS", block_chars)
    for cut in (5, 17, 40):
        rows = [f"2024-03-01 08:00:00.{row:02d}0,{row}.5,{row}.1,{row}.25" for row in range(60)]
        rows[cut] = f"2024-03-01 08:00:00.{cut:02d}0,{cut}.5,"  # cut short: three cells, the last missing
        path = tmp_path / f"cut{cut}.csv"
        path.write_text("time,a,b,c\n" + "\n".join(rows) + "\n")
        with pytest.raises(CorruptFileError, match=rf"the first 4, data row {cut + 1} holds 3 cells\)"):
            readers.read_recording(path, sampling_rate=100)


# A cell numpy refuses as a number ('1_0', other scripts' digits) was read by Python's float where the file also held a
# missing cell (its block then parsed through converters): 10 in one file, refused in the same file without the gap.
@pytest.mark.parametrize("cell", ["1_0", "１０"])
@pytest.mark.parametrize("gap", ["NA", "", "3"], ids=["with NA", "with an empty cell", "without"])
def test_a_cell_numpy_refuses_is_refused_with_or_without_a_missing_cell(tmp_path, cell, gap):
    path = tmp_path / "cells.csv"
    path.write_text(f"a,b\n1,{gap}\n{cell},2\n3,4\n", encoding="utf-8")  # (the gap met first)
    with pytest.raises(CorruptFileError, match="could not convert string"):
        readers.read_recording(path, sampling_rate=10)


def test_numbers_numpy_reads_still_read_through_the_missing_cell_converters(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text("a,b\n1,\n 2 ,+3\ninf,nan\n1e5,-0.5\n", encoding="utf-8")
    data = readers.read_recording(path, sampling_rate=10).data
    np.testing.assert_array_equal(data, [[1, 2, np.inf, 1e5], [np.nan, 3, np.nan, -0.5]])
