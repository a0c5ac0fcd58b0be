"""Audit 64, CSV recordings written the usual ways: quoted headers and values (pandas, Excel, R's `write.csv`),
UTF-16 and non-UTF-8 text, and a header of channel numbers.
"""

from __future__ import annotations

import csv
import logging

import numpy as np
import pandas as pd
import pytest

from citrus_hf.data.readers import read_recording

SAMPLES = np.random.default_rng(0).standard_normal((40, 2))  # (time, channels)
# What a text file in another encoding than UTF-8 is told to do.
FIX = r"re-save it as UTF-8 \(a spreadsheet's \"CSV UTF-8\" format\), or convert it: iconv"


def _read(path, names) -> None:
    """`path` reads as `SAMPLES` under the channel names `names`."""
    recording = read_recording(path, sampling_rate=100)
    assert recording.channel_names == names, path.name
    np.testing.assert_allclose(recording.data, SAMPLES.T, err_msg=path.name)


def test_quoted_csv_headers_and_values_read_as_pandas_reads_them(tmp_path, caplog):
    """A name holding a comma was "its header names 3 columns and its rows hold 2", one holding a quote was mangled
    ('Fp1 ""ref') without a word, one holding a semicolon split the file on ";", and quoted values (QUOTE_ALL, R's
    `write.csv`) were "not a numeric CSV file"."""
    for name, columns in {
        "comma": ["ECG, lead I", "PPG"],
        "quote": ['Fp1 "ref"', "PPG"],
        "semi": ["ECG;II", "PPG"],
    }.items():
        pd.DataFrame(SAMPLES, columns=columns).to_csv(tmp_path / f"{name}.csv", index=False)
        _read(tmp_path / f"{name}.csv", columns)
    pd.DataFrame(SAMPLES, columns=["ECG", "PPG"]).to_csv(tmp_path / "all.csv", index=False, quoting=csv.QUOTE_ALL)
    _read(tmp_path / "all.csv", ["ECG", "PPG"])
    # R's write.csv(df): a quoted header whose row-names cell is "", and quoted row names: pandas' index column
    rows = "".join(f'"{index + 1}",{a!r},{b!r}\n' for index, (a, b) in enumerate(SAMPLES.tolist()))
    (tmp_path / "r.csv").write_text('"","ECG","PPG"\n' + rows)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers.files"):
        _read(tmp_path / "r.csv", ["ECG", "PPG"])
    assert "'' (a row index) not read as channels" in caplog.text
    # a quoted name holding a line break: the data starts after the record, not after the first line
    pd.DataFrame(SAMPLES, columns=["ECG\nlead I", "PPG"]).to_csv(tmp_path / "break.csv", index=False)
    _read(tmp_path / "break.csv", ["ECG\nlead I", "PPG"])


def test_utf16_text_is_read_and_other_encodings_are_refused_with_the_fix(tmp_path):
    """UTF-16 (Excel's "Unicode Text", with its byte-order mark) and cp1252 were "not a text CSV file (...)" with no
    fix."""
    frame = pd.DataFrame(SAMPLES, columns=["Fréquence", "Débit"])
    frame.to_csv(tmp_path / "utf16.txt", index=False, sep="\t", encoding="utf-16")
    _read(tmp_path / "utf16.txt", ["Fréquence", "Débit"])
    frame.to_csv(tmp_path / "bom.csv", index=False, encoding="utf-8-sig")
    _read(tmp_path / "bom.csv", ["Fréquence", "Débit"])
    frame.to_csv(tmp_path / "cp1252.csv", index=False, encoding="cp1252")
    with pytest.raises(ValueError, match=r"cp1252.csv is not UTF-8 text \(byte 0xe9 at position 2.*" + FIX):
        read_recording(tmp_path / "cp1252.csv", sampling_rate=100)
    frame.to_csv(tmp_path / "utf16le.txt", index=False, sep="\t", encoding="utf-16-le")  # no byte-order mark
    with pytest.raises(ValueError, match=r"utf16le.txt holds NUL bytes, so it is not UTF-8 text.*" + FIX):
        read_recording(tmp_path / "utf16le.txt", sampling_rate=100)


def test_a_header_of_channel_numbers_is_no_sample(tmp_path, caplog):
    """`pd.DataFrame(x, columns=[1, 2]).to_csv(index=False)` had its header read as the first sample, silently; only
    "0,1" was told apart. Where the form cannot tell (whole numbers below too), what was decided is said."""
    scaled = SAMPLES * 0.01
    pd.DataFrame(scaled, columns=[1, 2]).to_csv(tmp_path / "numbered.csv", index=False)
    recording = read_recording(tmp_path / "numbered.csv", sampling_rate=100)
    assert recording.channel_names == ["1", "2"]
    np.testing.assert_allclose(recording.data, scaled.T)
    counts = np.arange(80).reshape(40, 2) + 500
    pd.DataFrame(counts, columns=[1, 2]).to_csv(tmp_path / "counts.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers.files"):
        recording = read_recording(tmp_path / "counts.csv", sampling_rate=100)
    assert recording.data.shape == (2, 41) and recording.data[:, 0].tolist() == [1, 2]
    assert "its first row, 1,2, is read as the first sample" in caplog.text
    assert "name the channels with text (ch1, ch2, ...) or remove it" in caplog.text
