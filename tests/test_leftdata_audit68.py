"""Audit 68, leftovers on the data side: the MiniRocket arm fed a NaN-padded row's tail as a flat signal, a labelled
folder's copies read into two splits, a BIDS folder read as a table, CSV headers that name a unit or end in a
delimiter, the MIT-BIH rows' lead, Sleep-EDF epochs past the recording, and the CSV header read two ways."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording
from citrus_hf.data.recording_folders import load_recording_folder

FOLDERS = "citrus_hf.data.recording_folders"


# ------------------------------------------------------------------- (h) the MiniRocket arm and NaN-padded rows


def _rows_with_a_nan_tail():
    import datasets

    whole = np.arange(20, dtype=float)[None]
    padded = np.r_[np.arange(10.0), [np.nan] * 10][None]  # 10 samples, stacked with a longer row: NaN after its end
    return datasets.Dataset.from_dict(
        {"input_values": [whole.tolist(), padded.tolist()], "label": [0, 1], "sampling_rate": [10.0, 20.0]}
    )


def test_minirocket_windows_leave_a_nan_padded_tail_out_as_the_citrus_arms_do():
    """With nan_policy="interpolate" the extractor leaves the NaN run at a row's end out (it is length padding) and
    masks what it pads; the MiniRocket arm's windows filled it with the last value held flat, 10 samples of a level
    its kernels read as signal. Now the row is its 10 samples, zero-padded as every shorter row is."""
    from citrus_hf.evaluation.baselines import raw_windows

    array = raw_windows(_rows_with_a_nan_tail(), nan_policy="interpolate")
    np.testing.assert_array_equal(array[1, 0], np.r_[np.arange(10.0), np.zeros(10)])


def test_a_row_resampled_for_minirocket_keeps_its_own_duration_not_its_nan_tail():
    """A row at another rate is resampled for MiniRocket (`at_sampling_rate`): its NaN tail was filled first, so the
    row came out twice its duration, the second half a flat level."""
    from citrus_hf.evaluation.baselines import at_sampling_rate

    resampled = at_sampling_rate(_rows_with_a_nan_tail(), 10.0, nan_policy="interpolate")
    assert np.asarray(resampled[1]["input_values"]).shape == (1, 5)  # 10 samples at 20 Hz: 0.5 s


# --------------------------------------------------------------------- (c) copies across a labelled set's splits


def _labelled_folder(root, rng):
    for split in ("train", "test"):
        for label in ("a", "b"):
            (root / split / label).mkdir(parents=True)
    for index in range(2):
        for label in ("a", "b"):
            np.save(root / "train" / label / f"{index}.npy", rng.normal(size=(1, 200)).astype(np.float32))
    np.save(root / "test" / "a" / "own.npy", rng.normal(size=(1, 200)).astype(np.float32))
    return root


def test_a_copy_or_link_of_a_training_file_in_the_test_split_is_read_once(tmp_path, caplog, own_datasets_cache):
    """A labelled folder read a byte-identical copy (or a symlink) of a training file into its test split: the model
    was scored on a recording it was trained on. The pre-training pile's rule now holds here too: each recording is
    read once, from the first split (train) by name, and the others are named in a warning."""
    root = _labelled_folder(tmp_path / "set", np.random.default_rng(0))
    shutil.copy(root / "train" / "a" / "0.npy", root / "test" / "a" / "copy.npy")
    os.symlink(root / "train" / "b" / "1.npy", root / "test" / "b" / "link.npy")
    with caplog.at_level("WARNING", logger=FOLDERS):
        loaded = load_recording_folder(root, sampling_rate=100)
    assert sorted(loaded["test"]["recording"]) == ["test/a/own.npy"]
    assert len(loaded["train"]) == 4
    assert "test/a/copy.npy" in caplog.text and "test/b/link.npy" in caplog.text


def test_a_copy_named_in_a_metadata_file_is_read_once_too(tmp_path, caplog, own_datasets_cache):
    root = tmp_path / "set"
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        (root / split).mkdir(parents=True)
    np.save(root / "train" / "x.npy", rng.normal(size=(1, 200)).astype(np.float32))
    np.save(root / "train" / "y.npy", rng.normal(size=(1, 200)).astype(np.float32))
    shutil.copy(root / "train" / "x.npy", root / "test" / "x_again.npy")
    np.save(root / "test" / "z.npy", rng.normal(size=(1, 200)).astype(np.float32))
    (root / "metadata.csv").write_text(
        "file_name,label\ntrain/x.npy,a\ntrain/y.npy,b\ntest/x_again.npy,a\ntest/z.npy,b\n"
    )
    with caplog.at_level("WARNING", logger=FOLDERS):
        loaded = load_recording_folder(root, sampling_rate=100)
    assert sorted(loaded["test"]["recording"]) == ["test/z.npy"]
    assert "test/x_again.npy" in caplog.text


# --------------------------------------------------------------------------------------- (d) BIDS sidecar files


def _write_edf(path, seconds=10, rate=100):
    pyedflib = pytest.importorskip("pyedflib")
    writer = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    header = dict(label="Cz", dimension="uV", sample_frequency=rate, physical_min=-100, physical_max=100)
    writer.setSignalHeaders([header | dict(digital_min=-32768, digital_max=32767, transducer="", prefilter="")])
    writer.writeSamples([10 * np.sin(np.arange(seconds * rate) / 7)])
    writer.close()


def _bids_folder(root):
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "rest", "BIDSVersion": "1.8.0"}))
    (root / "participants.tsv").write_text("participant_id\tage\nsub-01\t30\nsub-02\t41\n")
    for subject in ("01", "02"):
        folder = root / f"sub-{subject}" / "eeg"
        folder.mkdir(parents=True)
        _write_edf(folder / f"sub-{subject}_task-rest_eeg.edf", seconds=10 + int(subject))
        (folder / f"sub-{subject}_task-rest_eeg.json").write_text(json.dumps({"SamplingFrequency": 100}))
        (folder / f"sub-{subject}_task-rest_channels.tsv").write_text("name\ttype\tunits\nCz\tEEG\tuV\n")
        (folder / f"sub-{subject}_task-rest_events.tsv").write_text("onset\tduration\ttrial_type\n1.0\t0.5\teo\n")
    return root


def test_a_bids_folder_is_a_folder_of_recordings_and_its_sidecars_are_not_read(tmp_path, own_datasets_cache):
    """BIDS keeps a .json sidecar beside every recording and .tsv tables (participants, channels, events): the JSON
    made the folder a table of examples ("holds data files of several kinds"), and the tables would have been read as
    recordings beside the EDF files. The EDF files alone are now read: as a pile of recordings where no events.tsv
    labels them (its events, where one does, are examples: tests/test_bids_audit73.py)."""
    from citrus_hf.data.recording_folders import is_recording_folder

    root = _bids_folder(tmp_path / "bids")
    for events in root.rglob("*_events.tsv"):
        events.unlink()
    assert is_recording_folder(root)
    rows = load_recording_folder(root)
    assert sorted(set(rows["recording"])) == [
        "sub-01/eeg/sub-01_task-rest_eeg.edf",
        "sub-02/eeg/sub-02_task-rest_eeg.edf",
    ]


def test_a_bids_folder_of_formats_not_read_names_them(tmp_path, caplog):
    """A BIDS set of files no reader here reads (FIF; BrainVision and EEGLAB are read since: test_bids2_audit73) was
    refused as "data files of several kinds (json: ...; tsv: ...)", its sidecars and tables; now the recordings it holds
    are named as files of a format not read."""
    from citrus_hf.data.splits import load_split

    root = tmp_path / "bids"
    folder = root / "sub-01" / "eeg"
    folder.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "rest", "BIDSVersion": "1.8.0"}))
    (root / "participants.tsv").write_text("participant_id\nsub-01\n")
    for suffix in ("fif", "json"):
        (folder / f"sub-01_task-rest_eeg.{suffix}").write_text("{}")
    (folder / "sub-01_task-rest_channels.tsv").write_text("name\ttype\nCz\tEEG\n")
    with caplog.at_level("WARNING", logger=FOLDERS), pytest.raises(ValueError, match="holds no recording files"):
        load_split(root, "train")
    assert "sub-01/eeg/sub-01_task-rest_eeg.fif" in caplog.text and "several kinds" not in caplog.text


def test_a_json_file_beside_recordings_outside_bids_still_makes_a_table(tmp_path):
    """Only BIDS's own files are passed over: a folder of other JSON data is a table, as before."""
    from citrus_hf.data.recording_folders import is_recording_folder

    (tmp_path / "set").mkdir()
    np.save(tmp_path / "set" / "a.npy", np.zeros((1, 50), dtype=np.float32))
    (tmp_path / "set" / "train.json").write_text('{"input_values": [[0.0]], "label": 0}\n')
    assert not is_recording_folder(tmp_path / "set")


# ---------------------------------------------------------------------------------------------- (b) CSV headers


@pytest.mark.parametrize("text", ["ECG [mV],acc_x (g)\n0.5,1\n0.25,2\n", "ECG (mV);acc_x [g]\n0,5;1\n0,25;2\n"])
def test_a_unit_written_in_a_header_name_is_the_channels_unit(tmp_path, text):
    """A unit in a header name ("ECG [mV]") was read as part of the name alone, the channel's unit lost, so a
    recording in mV reached a µV model unconverted. The unit in brackets at a name's end is now the channel's unit;
    the name stays as written (a model fine-tuned on such files finds its channels by it)."""
    (tmp_path / "x.csv").write_text(text)
    recording = read_recording(tmp_path / "x.csv", sampling_rate=100)
    names = text.splitlines()[0].replace(";", ",").split(",")
    assert recording.channel_names == names
    assert recording.units == ["mV", "g"]
    np.testing.assert_allclose(recording.data, [[0.5, 0.25], [1, 2]])
    assert read_recording(tmp_path / "x.csv", [names[1]], sampling_rate=100).units == ["g"]


def test_a_bracket_that_is_no_unit_declares_none(tmp_path):
    (tmp_path / "x.csv").write_text("EEG (left),EEG (right)\n1,2\n3,4\n")
    recording = read_recording(tmp_path / "x.csv", sampling_rate=100)
    assert recording.channel_names == ["EEG (left)", "EEG (right)"] and recording.units == []


def test_units_in_names_and_a_units_row_must_agree(tmp_path):
    (tmp_path / "x.csv").write_text("ECG [mV],PPG\nµV,au\n1,2\n3,4\n")
    with pytest.raises(CorruptFileError, match="mV"):
        read_recording(tmp_path / "x.csv", sampling_rate=100)


@pytest.mark.parametrize(
    "text, names",
    [
        ("a;b;\n1;2;\n3;4;\n", ["a", "b"]),
        ("1,2,\n3,4,\n", ["0", "1"]),
        ("a\tb\t\n1\t2\t\n3\t4\t\n", ["a", "b"]),
        ("a,b\n1,2,\n3,4,\n", ["a", "b"]),  # the rows alone end with it
        ("a;b;\n1;2\n3;4\n", ["a", "b"]),  # the header alone
    ],
)
def test_a_delimiter_at_every_line_end_is_no_column(tmp_path, text, names):
    """A logger that ends every line with the delimiter (an empty last column) was refused as "could not convert
    string '' to float64"."""
    (tmp_path / "x.csv").write_text(text)
    recording = read_recording(tmp_path / "x.csv", sampling_rate=100)
    assert recording.channel_names == names
    np.testing.assert_array_equal(recording.data, [[1, 3], [2, 4]])


def test_a_last_column_empty_only_at_first_is_refused_not_dropped(tmp_path):
    rows = "".join(f"{k};{k};\n" for k in range(60)) + "60;60;7\n"
    (tmp_path / "x.csv").write_text("a;b;\n" + rows)
    with pytest.raises(CorruptFileError, match="last column"):
        read_recording(tmp_path / "x.csv", sampling_rate=100)


@pytest.mark.parametrize("rows", ["1,5,2,5\n1,6,2,6\n", "1,5,2,5\n100,2,5\n"])
def test_decimal_commas_in_a_comma_separated_file_are_named_with_the_fix(tmp_path, rows):
    """Numbers written with a decimal comma in a file whose delimiter is the comma too: "its header names 2 columns and
    its rows hold 4", or numpy's "the number of columns changed ... use `usecols`", which named neither the cause nor
    a fix a user has."""
    (tmp_path / "x.csv").write_text("a,b\n" + rows)
    with pytest.raises(CorruptFileError, match=r"decimal comma.*semicolons") as refused:
        read_recording(tmp_path / "x.csv", sampling_rate=100)
    assert "usecols" not in str(refused.value)


def test_rows_of_several_widths_are_named_without_numpys_advice(tmp_path):
    (tmp_path / "x.csv").write_text("a;b\n1;2\n3;4;5\n")
    with pytest.raises(CorruptFileError, match=r"row 2 holds 3 cells") as refused:
        read_recording(tmp_path / "x.csv", sampling_rate=100)
    assert "usecols" not in str(refused.value)


# ---------------------------------------------------------------------- (a) one reading of a CSV's header row


@pytest.fixture
def csv_field_limit():
    """The csv module's default field size limit, which scipy's ARFF reader raises for the whole process."""
    import csv

    before = csv.field_size_limit(131072)
    yield
    csv.field_size_limit(before)


def test_csv_has_time_column_reads_the_header_as_the_reader_does(tmp_path, csv_field_limit):
    """`csv_has_time_column` (whether `citrus predict` gives a start_time column) parsed the header on its own: a first
    line past the csv module's field limit raised the csv module's own error out of it, where the reader names the
    file. Both now read the header through one helper."""
    from citrus_hf.data.readers import csv_has_time_column

    (tmp_path / "big.csv").write_text("x" * 200_000 + "\n1\n")
    assert not csv_has_time_column(tmp_path / "big.csv")
    with pytest.raises(CorruptFileError, match="big.csv"):
        read_recording(tmp_path / "big.csv", sampling_rate=100)
    (tmp_path / "units.csv").write_text("Time [s];ECG [mV]\n0;0,5\n0,01;0,25\n0,02;0,5\n")
    assert csv_has_time_column(tmp_path / "units.csv")


# ------------------------------------------------------------------------------------------ (g) MIT-BIH's lead


def _write_record(folder, name, leads):
    wfdb = pytest.importorskip("wfdb")
    rate, seconds = 360, 10
    samples = seconds * rate
    beats = np.arange(rate, samples - rate, int(0.8 * rate))
    signals = {"MLII": np.zeros(samples), "V5": np.full(samples, -0.5)}
    for beat in beats:
        signals["MLII"] += 1.2 * np.exp(-0.5 * ((np.arange(samples) - beat) / 3.6) ** 2)
    wfdb.wrsamp(
        name,
        fs=rate,
        units=["mV"] * len(leads),
        sig_name=list(leads),
        p_signal=np.stack([signals[lead] for lead in leads], axis=1),
        fmt=["212"] * len(leads),
        write_dir=str(folder),
    )
    wfdb.wrann(name, "atr", beats, ["N"] * beats.size, write_dir=str(folder))


def test_mitdb_beats_rows_name_their_lead_and_unit_and_take_mlii_where_it_is_second(tmp_path):
    """Every row was the record's first lead, unnamed: record 114 of DS1 holds V5 first and MLII second, so its beats
    entered the MLII set as V5, and no row said its lead or unit. Rows now take MLII by name and say so (mV)."""
    from citrus_hf.data import build_dataset

    _write_record(tmp_path, "101", ("MLII", "V5"))
    _write_record(tmp_path, "114", ("V5", "MLII"))
    built = build_dataset("mitdb_beats", data_dir=tmp_path, download=False, cache_dir=tmp_path / "cache")
    train = built["train"]
    assert set(train["recording"]) == {"101", "114"}
    assert {tuple(names) for names in train["channel_names"]} == {("MLII",)}
    assert {tuple(units) for units in train["channel_units"]} == {("mV",)}
    peaks = [max(row[0]) for row in train["input_values"]]
    assert min(peaks) > 1.0  # every window is the beating MLII lead, not V5's flat -0.5


# ------------------------------------------------------------------------- (f) Sleep-EDF epochs past the PSG


def test_scored_epochs_past_the_end_of_the_psg_are_counted_and_said(tmp_path):
    """A hypnogram that scores past the PSG's end (a recording stopped before its scoring) lost those epochs without a
    word, where every other epoch left out is counted in a warning."""
    from test_annot_audit67 import run, windows_of, write_night

    write_night(tmp_path, run([("W", 120), ("2", 120), ("W", 120)]), seconds=300)
    with pytest.warns(UserWarning, match=r"2 scored epoch\(s\).*2 past its end") as caught:
        windows = windows_of(tmp_path)
    assert len(windows) == 10
    assert "300" in str(caught[0].message)
