"""Two known items of the CSV reader: Excel's "#N/A" cells under the names were read as a row of
units (the sample lost) because the missing-value markers were defined twice, differently; and a pandas
DatetimeIndex CSV whose first stamp is missing (NaT, an empty cell) had its clock column missed and was refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citrus_hf.data import readers


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
