"""A lab's own folder of unlabelled recordings as a pre-training corpus (`citrus data info FOLDER`, `citrus pretrain
--dataset FOLDER`): one recording under two names read once, hidden folders left out, per-file rates in
metadata.csv honoured, the held-out share weighed by signal rather than file bytes, the count of `data info` named for
what it counts, no sliver of a segment left as a row of its own, and files of formats the reader skips named."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from tiny_configs import write_edf

from citrus_hf.commands.main import main
from citrus_hf.data.recording_folders import load_recording_folder, recording_files

LOGGER = "citrus_hf.data.recording_folders"


def _pile(folder, lengths: dict[str, int], seed: int = 0) -> None:
    """One-channel .npy recordings of the given lengths (samples) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, length in lengths.items():
        np.save(folder / name, rng.standard_normal((1, length)))


def _edf(path, rate: int, signal: np.ndarray) -> None:
    """A one-channel EDF+ file of `signal` (µV) at `rate` Hz."""
    write_edf(path, [signal], ["O1"], rate)


def _recordings_by_split(rows) -> dict[str, set[str]]:
    return {split: set(rows[split]["recording"]) for split in rows}


def test_a_copy_of_a_recording_under_a_second_name_is_read_once(tmp_path, caplog):
    """A byte-identical copy (session1_backup.npy) was read as a recording of its own, and the split by size put it
    on the other side from its original: the held-out loss measured windows trained on."""
    folder = tmp_path / "pile"
    _pile(folder, {"big.npy": 100_000, "session1.npy": 17_000, "a.npy": 1_000, "b.npy": 1_100, "c.npy": 1_200})
    shutil.copy(folder / "session1.npy", folder / "session1_backup.npy")
    with caplog.at_level("WARNING", logger=LOGGER):
        rows = load_recording_folder(folder, sampling_rate=100)
    read = _recordings_by_split(rows)
    assert "session1_backup.npy" not in read["train"] | read["validation"]
    assert "session1.npy" in read["train"] | read["validation"]
    assert "session1.npy" in caplog.text and "session1_backup.npy" in caplog.text and "identical" in caplog.text


def test_a_wfdb_record_is_a_copy_only_if_its_signal_files_are_too(tmp_path):
    """A WFDB record is listed by its header: two subjects' records of one name can have headers alike and signals
    that differ, which are two recordings."""
    import wfdb

    folder = tmp_path / "records"
    (folder / "s1").mkdir(parents=True)
    wfdb.wrsamp("rec", fs=100, units=["mV"], sig_name=["MLII"], p_signal=np.linspace(-1, 1, 1000)[:, None],
                fmt=["16"], write_dir=str(folder / "s1"))  # fmt: skip
    shutil.copytree(folder / "s1", folder / "s2")
    shutil.copytree(folder / "s1", folder / "s3")
    signal = bytearray((folder / "s2" / "rec.dat").read_bytes())
    signal[100:110] = bytes(10)  # the same header, another signal
    (folder / "s2" / "rec.dat").write_bytes(bytes(signal))
    assert sorted(load_recording_folder(folder)["recording"]) == ["s1/rec.hea", "s2/rec.hea"]


def test_a_symlink_to_a_file_of_the_folder_is_read_once(tmp_path, caplog):
    folder = tmp_path / "pile"
    _pile(folder, {"big.npy": 100_000, "session1.npy": 17_000, "a.npy": 1_000, "b.npy": 1_100, "c.npy": 1_200})
    os.symlink("session1.npy", folder / "session1_link.npy")
    with caplog.at_level("WARNING", logger=LOGGER):
        rows = load_recording_folder(folder, sampling_rate=100)
    read = _recordings_by_split(rows)
    assert "session1_link.npy" not in read["train"] | read["validation"]
    assert "session1.npy" in read["train"] | read["validation"]
    assert "session1_link.npy -> session1.npy" in caplog.text and "read once" in caplog.text


def test_hidden_files_and_folders_are_not_recordings(tmp_path):
    """Jupyter's .ipynb_checkpoints copies, a desktop's .Trash-1000 folder, macOS's .DS_Store and __MACOSX were read
    as recordings; `datasets`' own listing of a folder skips names starting with "." or "__"."""
    folder = tmp_path / "lab"
    _pile(folder, {"session.npy": 1_000})
    _pile(folder / ".ipynb_checkpoints", {"session-checkpoint.npy": 1_000})
    _pile(folder / ".Trash-1000" / "files", {"deleted.npy": 5_000})
    _pile(folder / "__MACOSX", {"session.npy": 1_000})
    _pile(folder, {".hidden.npy": 1_000})
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert [path.relative_to(folder).as_posix() for path in recording_files(folder)] == ["session.npy"]
    assert load_recording_folder(folder, sampling_rate=100)["recording"] == ["session.npy"]
    # a hidden folder as the folder given is read: only the names under it are looked at
    assert recording_files(folder / ".ipynb_checkpoints") == [folder / ".ipynb_checkpoints" / "session-checkpoint.npy"]
    # metadata naming a hidden file (left out of the listing, so of its split) is refused
    (folder / "metadata.csv").write_text("file_name,label\nsession.npy,a\n.hidden.npy,b\n")
    with pytest.raises(ValueError, match=r"'\.hidden\.npy', a hidden file"):
        load_recording_folder(folder, sampling_rate=100)


def test_metadata_rates_of_an_unlabelled_pile_are_each_files_rate(tmp_path, capsys):
    """metadata.csv (file_name,sampling_rate) was passed over for a pile without labels: with --sampling-rate 250 a
    500 Hz file was read at 250 Hz, without it the rates were unknown."""
    folder = tmp_path / "ecg"
    _pile(folder, {"ecg_250hz.npy": 250 * 60, "ecg_500hz.npy": 500 * 60})
    (folder / "metadata.csv").write_text("file_name,sampling_rate\necg_250hz.npy,250\necg_500hz.npy,500\n")
    rows = load_recording_folder(folder)
    assert dict(zip(rows["recording"], rows["sampling_rate"])) == {"ecg_250hz.npy": 250.0, "ecg_500hz.npy": 500.0}
    assert main(["data", "info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sampling_rates"] == [250.0, 500.0] and info["channel_hours"] == pytest.approx(120 / 3600)
    with pytest.raises(ValueError, match=r"metadata.*sampling_rate.*--sampling-rate"):
        load_recording_folder(folder, sampling_rate=250)
    (folder / "metadata.csv").write_text("file_name,sampling_rate\necg_250hz.npy,250\n")
    with pytest.raises(ValueError, match=r"ecg_500hz\.npy"):
        load_recording_folder(folder)


def test_the_held_out_share_weighs_a_wfdb_record_by_its_samples(tmp_path):
    """The hold-out was chosen by file bytes, and a WFDB record weighed only its .hea header (~100 bytes): four long
    records beside four short EDF files held out one EDF file, 4 % of the signal instead of about 15 %."""
    import wfdb

    folder = tmp_path / "mixed"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(4):  # 60 s at 100 Hz
        _edf(folder / f"edf{index}.edf", 100, rng.normal(0, 50, 6000))
    for index in range(4):  # 300 s at 100 Hz
        wfdb.wrsamp(f"holter{index}", fs=100, units=["mV"], sig_name=["MLII"], p_signal=rng.normal(0, 1, (30_000, 1)),
                    fmt=["16"], write_dir=str(folder))  # fmt: skip
    rows = load_recording_folder(folder)

    def seconds(split) -> float:
        return sum(np.asarray(row).shape[1] / rate for row, rate in zip(split["input_values"], split["sampling_rate"]))

    share = seconds(rows["validation"]) / (seconds(rows["train"]) + seconds(rows["validation"]))
    assert 0.1 < share < 0.25


def test_data_info_names_the_rows_of_a_recording_folder_segments(tmp_path, capsys):
    """`citrus data info FOLDER` headed its count "windows" while it counted 10-minute storage segments: a
    25-minute EDF file showed 3 windows, and `citrus pretrain` trained on 150 of citrus-small's."""
    folder = tmp_path / "night"
    folder.mkdir()
    _edf(folder / "night.edf", 10, np.random.default_rng(0).normal(0, 50, 10 * 1500))
    assert main(["data", "info", str(folder)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.strip().startswith("split"))
    assert "windows" not in header and "segments" in header
    assert "citrus pretrain cuts" in out
    assert main(["data", "info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows_are"] == "segments" and info["windows"] == 3


def test_a_recording_a_few_samples_past_a_segment_keeps_them_in_its_last_row(tmp_path, monkeypatch):
    """A recording whose length ran a hair past a segment boundary left its last few samples as a row of their own,
    and `citrus pretrain` refused the whole corpus over it ("row 1 (holter.hea) has 18 samples")."""
    import wfdb

    from citrus_hf.data import recording_folders

    folder = tmp_path / "npy"
    _pile(folder, {"long.npy": 2**19 + 3})
    assert [np.asarray(row).shape for row in load_recording_folder(folder)["input_values"]] == [(1, 2**19 + 3)]
    monkeypatch.setattr(recording_folders, "SEGMENT_SECONDS", 20.0)
    rng = np.random.default_rng(0)
    records = tmp_path / "wfdb"
    records.mkdir()
    wfdb.wrsamp("holter", fs=100, units=["mV"], sig_name=["MLII"], p_signal=rng.normal(0, 1, (4000 + 18, 1)),
                fmt=["16"], write_dir=str(records))  # fmt: skip
    assert [np.asarray(row).shape[1] for row in load_recording_folder(records)["input_values"]] == [2000, 2018]
    nights = tmp_path / "edf"
    nights.mkdir()
    _edf(nights / "night.edf", 10, rng.normal(0, 50, 10 * 41))  # 41 s: 20 + 20 + 1
    rows = load_recording_folder(nights)
    assert [np.asarray(row).shape[1] for row in rows["input_values"]] == [200, 210]


def test_a_file_shorter_than_a_patch_is_refused_with_advice_pretraining_can_follow(tmp_path, make_tiny_config):
    """The advice was "Use alignment='interpolate'", an option `citrus pretrain` does not have."""
    from citrus_hf.data.alignment import align_corpus

    folder = tmp_path / "pile"
    _pile(folder, {"ok.npy": 3000, "stub.npy": 3})
    rows = load_recording_folder(folder, sampling_rate=100)
    with pytest.raises(ValueError, match=r"stub\.npy") as raised:
        align_corpus(rows, make_tiny_config(), sampling_rate=100)
    assert "alignment" not in str(raised.value) and "leave" in str(raised.value)


def test_files_of_formats_the_reader_skips_are_named_once(tmp_path, caplog):
    """HDF5, .npz, .mat, an EDF saved as .rec and a gzipped EDF were left out without a word; notes and READMEs
    still are."""
    folder = tmp_path / "lab"
    _pile(folder, {"read.npy": 1_000})
    for name in ("session.h5", "session.npz", "session.mat", "old_export.rec", "night2.edf.gz"):
        (folder / name).write_bytes(b"\0" * 16)
    (folder / "notes.md").write_text("not a recording")
    (folder / "README").write_text("about these files")
    with caplog.at_level("WARNING", logger=LOGGER):
        rows = load_recording_folder(folder, sampling_rate=100)
    assert rows["recording"] == ["read.npy"]
    (line,) = [record.getMessage() for record in caplog.records if "session.h5" in record.getMessage()]
    for name in ("session.npz", "session.mat", "old_export.rec", "night2.edf.gz"):
        assert name in line
    assert "notes.md" not in caplog.text and "README" not in caplog.text
