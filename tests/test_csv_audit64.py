"""Audit 64, CSV recordings and recording folders written the usual ways: quoted headers and values (pandas, Excel,
R's `write.csv`), UTF-16 and non-UTF-8 text, metadata.csv cells that pandas' type inference rewrote ("None", "000",
"True"), channel names that differ only in case across a labelled folder's files, and a header of channel numbers.
"""

from __future__ import annotations

import csv
import logging

import numpy as np
import pandas as pd
import pytest

from citrus_hf.data.readers import read_recording
from citrus_hf.data.recording_folders import metadata_layout
from citrus_hf.data.splits import load_task_splits

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


def _labelled(folder, labels, names=lambda position, index: f"r{position}{index}.npy", **columns) -> None:
    """`train/` and `test/` of two files per class in `labels`, written by `names` (a `.npy` file, or None for a
    WFDB record), labelled in each split's metadata.csv, with `columns` (`{name: cell}`) beside."""
    import wfdb

    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        (folder / split).mkdir(parents=True)
        rows = []
        for position, label in enumerate(labels):
            for index in range(2):
                name = names(position, index)
                if name.endswith(".npy"):
                    np.save(folder / split / name, rng.standard_normal((1, 200)) + position)
                else:
                    signal = rng.standard_normal((200, 1))
                    wfdb.wrsamp(name, 100, ["mV"], ["ECG"], signal, fmt=["16"], write_dir=str(folder / split))
                rows.append(",".join([name, label, *columns.values()]))
        header = ",".join(["file_name", "label", *columns])
        (folder / split / "metadata.csv").write_text("\n".join([header, *rows]) + "\n")


def test_metadata_cells_are_read_as_written(tmp_path, own_datasets_cache):
    """pandas' NA words made the class "None" / "NA" an empty cell, its numbers made the WFDB record "000" the file
    "0", and its booleans refused classes "True" / "False" with advice for `save_to_disk` sets."""
    for labels in (["None", "Mild"], ["NA", "AF"], ["null", "N/A"]):
        root = tmp_path / labels[0].replace("/", "")
        _labelled(root, labels)
        found = {row["label"] for rows in metadata_layout(root).values() for row in rows.values()}
        assert found == set(labels)
    _labelled(tmp_path / "wfdb", ["a", "b"], names=lambda position, index: f"0{position}{index}")
    layout = metadata_layout(tmp_path / "wfdb")
    assert sorted(file.name for file in layout["train"]) == ["000.hea", "001.hea", "010.hea", "011.hea"]
    _labelled(tmp_path / "bool", ["True", "False"])
    assert load_task_splits(tmp_path / "bool", sampling_rate=100, require_validation=False).label_names == [
        "False",
        "True",
    ]
    # columns of numbers are still numbers (a rate, a subject id), an empty cell still missing
    _labelled(tmp_path / "rated", ["a", "b"], sampling_rate="100", subject="007", note="")
    row = next(iter(metadata_layout(tmp_path / "rated")["train"].values()))
    assert row == {"label": "a", "sampling_rate": 100, "subject": 7, "note": None}


def test_a_labelled_folder_matches_channel_names_case_aside(tmp_path, own_datasets_cache):
    """ "Fp1" beside "FP1" (two exporters) was refused as other channels, while the model, `citrus predict` and a
    `save_to_disk` set match channel names case aside; within one file the two are one channel named twice."""
    rng = np.random.default_rng(2)
    root = tmp_path / "set"  # (beside the datasets cache, not holding it)
    count = 0
    for split, files in (("train", 3), ("test", 1)):
        for position, label in enumerate(["a", "b"]):
            (root / split / label).mkdir(parents=True)
            for index in range(files):
                columns = ["Fp1", "Fp2"] if count % 2 == 0 else (["FP1", "FP2"] if count % 4 == 1 else ["FP2", "fp1"])
                count += 1
                frame = pd.DataFrame(rng.standard_normal((200, 2)) + position, columns=columns)
                frame.to_csv(root / split / label / f"r{index}.csv", index=False)
    splits = load_task_splits(root, sampling_rate=100, require_validation=False)
    assert splits.channel_names == ["Fp1", "Fp2"]
    assert {tuple(names) for names in splits.train["channel_names"]} == {("Fp1", "Fp2")}
    # train/b/r0.csv names "FP2,fp1": its rows are read as Fp1, Fp2
    written = pd.read_csv(root / "train" / "b" / "r0.csv")
    assert list(written.columns) == ["FP2", "fp1"]
    read = splits.train.with_format("numpy")[splits.train["recording"].index("train/b/r0.csv")]["input_values"]
    np.testing.assert_allclose(read, written[["fp1", "FP2"]].to_numpy().T, atol=1e-5)
    pd.DataFrame(rng.standard_normal((200, 2)), columns=["Fp1", "FP1"]).to_csv(
        root / "train" / "a" / "r9.csv", index=False
    )
    with pytest.raises(ValueError, match=r"r9.csv names 'FP1', 'Fp1' for more than one of its channels"):
        load_task_splits(root, sampling_rate=100, require_validation=False)


def test_a_header_of_channel_numbers_is_no_sample(tmp_path, caplog):
    """`pd.DataFrame(x, columns=[1, 2]).to_csv(index=False)` had its header read as the first sample, silently; only
    "0,1" was told apart. Where the form cannot tell (whole numbers below too), what was decided is said."""
    scaled = SAMPLES * 0.01
    pd.DataFrame(scaled, columns=[1, 2]).to_csv(tmp_path / "numbered.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers.files"):
        recording = read_recording(tmp_path / "numbered.csv", sampling_rate=100)
    assert recording.channel_names == ["1", "2"]
    # it may be a first sample of a file written with %g: said (review of session 64)
    assert "its first row, 1,2, is read as a header naming its channels" in caplog.text
    caplog.clear()
    np.testing.assert_allclose(recording.data, scaled.T)
    # (some counts end in 0: odd counts alone, "1,2" above "500,501", "502,503", ..., read as well as one column
    # written with a decimal comma, and such a file is refused as ambiguous, audit 67)
    counts = np.arange(80).reshape(2, 40).T + 500
    pd.DataFrame(counts, columns=[1, 2]).to_csv(tmp_path / "counts.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers.files"):
        recording = read_recording(tmp_path / "counts.csv", sampling_rate=100)
    assert recording.data.shape == (2, 41) and recording.data[:, 0].tolist() == [1, 2]
    assert "its first row, 1,2, is read as the first sample" in caplog.text
    assert "name the channels with text (ch1, ch2, ...) or remove it" in caplog.text


def test_a_metadata_csv_is_utf8_or_says_what_its_byte_order_mark_says(tmp_path):
    """A cp1252 metadata.csv gave pandas' bare UnicodeDecodeError; a UTF-16 one with its mark is read."""
    folder = tmp_path / "set"
    folder.mkdir()
    np.save(folder / "a.npy", SAMPLES.T)
    pd.DataFrame({"file_name": ["a.npy"], "label": ["éveillé"]}).to_csv(
        folder / "metadata.csv", index=False, encoding="cp1252"
    )
    with pytest.raises(ValueError, match=r"metadata.csv is not UTF-8 text.*" + FIX):
        metadata_layout(folder)
    pd.DataFrame({"file_name": ["a.npy"], "label": ["éveillé"]}).to_csv(
        folder / "metadata.csv", index=False, encoding="utf-16"
    )
    assert [row["label"] for row in metadata_layout(folder)["train"].values()] == ["éveillé"]


def test_a_first_row_of_other_whole_numbers_stays_a_sample(tmp_path):
    """Only channel numbering (counting from 0 or 1) is taken for a header: a float file written with %g whose first
    sample happens to be whole ("12,34") keeps it as a sample."""
    rows = ["12,34"] + [f"{0.5 + i},{1.25 + i}" for i in range(20)]
    (tmp_path / "g.csv").write_text("\n".join(rows) + "\n")
    recording = read_recording(tmp_path / "g.csv", sampling_rate=100)
    assert recording.channel_names != ["12", "34"]
    assert recording.data.shape == (2, 21) and recording.data[:, 0].tolist() == [12, 34]


def test_na_among_numbers_is_a_missing_cell_and_among_names_a_class_said_so(tmp_path, own_datasets_cache, caplog):
    """R's write.csv writes a missing cell as "NA": among class ids or targets it is missing (the row is named, as
    before the cells were read as written), not a third class "NA" or a column of text; among class names it stays a
    class name ("NA" may be one), with a warning saying how to mark a missing value."""
    _labelled(tmp_path / "ids", ["0", "1", "NA"])
    with pytest.raises(ValueError, match=r"has no label \(an empty cell\)"):
        load_task_splits(tmp_path / "ids", sampling_rate=100, require_validation=False)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.recording_folders"):
        _labelled(tmp_path / "names", ["walk", "NA"])
        found = {row["label"] for rows in metadata_layout(tmp_path / "names").values() for row in rows.values()}
    assert found == {"walk", "NA"}
    assert "column 'label' holds 'NA', read as text" in caplog.text and "leave it empty" in caplog.text
