"""The second leftovers audit of round 71 (audit71_leftovers2): what the reader and ONNX audits found and left.

* a CSV whose lines end with a lone carriage return (classic Mac OS, Excel for Mac's "CSV (Macintosh)") was refused
  with Python's "open the file in universal-newline mode", and one column written with a decimal comma was read as
  two channels of whole numbers (its lines joined into one);
"""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.readers.files import read_recording

RATE = 100


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_csv_of_carriage_returns_is_read_as_its_lines(tmp_path, end):
    times = np.arange(50) / RATE
    rows = [f"{t:.2f},{np.sin(7 * t):.4f},{np.cos(7 * t):.4f}" for t in times]
    path = tmp_path / "mac.csv"
    path.write_bytes(end.join(["time,ECG,PPG", *rows]).encode())
    recording = read_recording(path, sampling_rate=RATE)
    assert recording.channel_names == ["ECG", "PPG"]
    np.testing.assert_allclose(recording.data, np.round([np.sin(7 * times), np.cos(7 * times)], 4))


def test_one_column_of_decimal_commas_with_carriage_returns_stays_one_channel(tmp_path):
    values = np.round(100 * np.sin(np.arange(50) / 7), 2)
    path = tmp_path / "mac_comma.csv"
    path.write_bytes("\r".join(f"{value:.2f}".replace(".", ",") for value in values).encode())
    recording = read_recording(path, sampling_rate=RATE)
    assert recording.data.shape == (1, values.size)
    np.testing.assert_allclose(recording.data[0], values)
