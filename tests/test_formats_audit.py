"""Recording files of a user's own, written with the real writer libraries, read back with the values they hold: each
case a value the readers once changed without a word (an audit of bring-your-own files), or refused wrongly."""

import logging

import numpy as np
import pandas as pd
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers.files import read_recording
from citrus_hf.data.recording_folders import load_recording_folder, recording_files

pyedflib = pytest.importorskip("pyedflib")
wfdb = pytest.importorskip("wfdb")


def _signal_header(label, unit, rate, physical=(-20, 20), digital=(-32768, 32767)):
    return dict(
        label=label, dimension=unit, sample_frequency=rate, physical_min=physical[0], physical_max=physical[1],
        digital_min=digital[0], digital_max=digital[1], transducer="", prefilter="",
    )  # fmt: skip


def _write_edf(path, signals, headers, file_type=None):
    writer = pyedflib.EdfWriter(str(path), len(signals), file_type=file_type or pyedflib.FILETYPE_EDFPLUS)
    writer.setSignalHeaders(headers)
    writer.writeSamples(signals)
    writer.close()


def _write_edf_plus_records(path, signal, rate, onsets, reserved):
    """An EDF+ file of one signal in 1 s data records starting at `onsets` (pyedflib writes no EDF+D)."""

    def text(value, width):
        return str(value).ljust(width).encode("latin-1")

    labels, physical, annotation_samples = ["EEG", "EDF Annotations"], (-100, 100), 30
    header = text("0", 8) + text("X X X X", 80) + text("Startdate 01-JAN-2020 X X X", 80) + text("01.01.20", 8)
    header += text("00.00.00", 8) + text(256 * 3, 8) + text(reserved, 44) + text(len(onsets), 8) + text(1, 8)
    header += text(2, 4) + b"".join(text(label, 16) for label in labels) + text("", 80) * 2 + text("uV", 8)
    header += text("", 8) + text(physical[0], 8) + text(-1, 8) + text(physical[1], 8) + text(1, 8)
    header += text(-32768, 8) * 2 + text(32767, 8) * 2 + text("", 80) * 2 + text(rate, 8)
    header += text(annotation_samples, 8) + text("", 32) * 2
    body = b""
    for record, onset in enumerate(onsets):
        values = signal[record * rate : (record + 1) * rate]
        digital = np.round((values - physical[0]) / (physical[1] - physical[0]) * 65535 - 32768).astype("<i2")
        body += digital.tobytes() + f"+{onset:g}\x14\x14\x00".encode().ljust(2 * annotation_samples, b"\x00")
    path.write_bytes(header + body)


def test_edf_units_mne_leaves_alone_are_not_scaled_again(tmp_path):
    """ "nV", "uv", "MV" came back 1e3-1e9 times too large: MNE scales only "uV" / "µV" / "mV" to volts, and the reader
    undid a scaling by the unit's lower-cased name; signals MNE takes for a stimulus channel ("Status") by their label
    came back x1e6 and cut to whole numbers."""
    rate = 100
    wave = 10.0 * np.sin(2 * np.pi * np.arange(5 * rate) / rate)
    units = ["uV", "mV", "V", "nV", "uv", "UV", "mv", "MV"]
    path = tmp_path / "units.edf"
    _write_edf(path, [wave] * len(units), [_signal_header(f"ch{i}", unit, rate) for i, unit in enumerate(units)])
    read = read_recording(path)
    np.testing.assert_allclose(read.data, np.stack([wave] * len(units)), atol=1e-3)
    assert read.units[0] == "µV" and read.units[3:] == ["nV", "uv", "UV", "mv", "MV"]
    steps = np.array([0.0, 7.1, 14.1, 3.0] * 25)
    path = tmp_path / "stim.edf"
    _write_edf(
        path, [steps] * 3, [_signal_header(label, "uV", rate, (-100, 100)) for label in ("Status", "TRIGGER", "EEG")]
    )
    np.testing.assert_allclose(read_recording(path).data, np.stack([steps] * 3), atol=5e-3)


def test_an_edf_plus_d_file_with_gaps_is_refused_and_one_without_is_read(tmp_path):
    """Read as continuous, an EDF+D file's gaps vanished and every time after them was wrong."""
    rate = 50
    signal = np.concatenate([np.full(rate, 10.0 * (i + 1)) for i in range(4)])
    path = tmp_path / "gaps.edf"
    _write_edf_plus_records(path, signal, rate, [0, 1, 10, 11], "EDF+D")
    with pytest.raises(CorruptFileError, match=r"EDF\+D file with gaps: its data record 2 starts at 10 s .* at 2 s"):
        read_recording(path)
    path = tmp_path / "marked_but_continuous.edf"
    _write_edf_plus_records(path, signal, rate, [5, 6, 7, 8], "EDF+D")
    np.testing.assert_allclose(read_recording(path).data[0, ::rate], [10, 20, 30, 40], atol=5e-3)


def test_bdf_and_bdf_plus_files_are_read(tmp_path):
    """MNE's EDF reader refuses BDF ("The file is corrupt"), and a BDF+ file's "BDF Annotations" read as a signal."""
    rate = 128
    wave = 100 * np.sin(np.arange(3 * rate) / 5)
    headers = [
        _signal_header(label, unit, rate, (-1000, 1000), (-8388608, 8388607))
        for label, unit in (("Fp1", "uV"), ("EXG", "mV"))
    ]
    for file_type in (pyedflib.FILETYPE_BDF, pyedflib.FILETYPE_BDFPLUS):
        path = tmp_path / f"{file_type}.bdf"
        _write_edf(path, [wave, wave / 100], headers, file_type)
        read = read_recording(path)
        assert read.channel_names == ["Fp1", "EXG"] and read.units == ["µV", "mV"]
        np.testing.assert_allclose(read.data, [wave, wave / 100], atol=1e-3)


def test_a_multi_frequency_wfdb_record_is_read_at_each_signals_own_rate(tmp_path):
    """wfdb's default averaged a signal stored at 4 samples per frame down to the frame rate (a 1 mV 30 Hz sine read
    0.84 mV at a quarter of its samples)."""
    rate, frames = 100, 400
    fast = np.round(1000 * np.sin(2 * np.pi * 30 * np.arange(4 * frames) / (4 * rate))).astype("<i2")
    slow = np.round(np.linspace(0, 1000, frames)).astype("<i2")
    np.concatenate([fast.reshape(frames, 4), slow[:, None]], axis=1).tofile(tmp_path / "mf.dat")
    (tmp_path / "mf.hea").write_text(
        f"mf 2 {rate} {frames}\nmf.dat 16x4 1000/mV 16 0 0 0 0 fast\nmf.dat 16 1000/mV 16 0 0 0 0 slow\n"
    )
    with pytest.raises(ValueError, match=r"2 rates \(400 Hz: fast; 100 Hz: slow\); pick channels of one rate"):
        read_recording(tmp_path / "mf.hea")
    read = read_recording(tmp_path / "mf.hea", ["fast"])
    assert read.sampling_rate == 400 and read.data.shape == (1, 1600)
    np.testing.assert_allclose(read.data[0], fast / 1000)
    read = read_recording(tmp_path / "mf", ["1"])
    assert read.sampling_rate == 100 and read.channel_names == ["slow"]
    np.testing.assert_allclose(read.data[0], slow / 1000)


def test_missing_wfdb_samples_reach_the_nan_policy(tmp_path):
    """A WFDB record with missing samples was refused as corrupt even with nan_policy="interpolate"."""
    rate = 100
    signal = np.stack([np.sin(np.arange(4 * rate) / 10), np.cos(np.arange(4 * rate) / 10)], axis=1)
    signal[50:55, 0] = np.nan
    wfdb.wrsamp(
        "gap",
        fs=rate,
        units=["mV", "mV"],
        sig_name=["a", "b"],
        p_signal=signal,
        fmt=["16", "16"],
        write_dir=str(tmp_path),
    )
    read = read_recording(tmp_path / "gap.hea")
    assert np.isnan(read.data[0, 50:55]).all() and np.isfinite(read.data[1]).all()


def test_a_folder_holding_a_multi_segment_wfdb_record_reads_it_once(tmp_path):
    """The master header and each segment's header were all read as recordings: every sample in the corpus twice."""
    rate, length = 100, 400
    for name, value in (("seg1", 1.0), ("seg2", 2.0)):
        wfdb.wrsamp(
            name,
            fs=rate,
            units=["mV"],
            sig_name=["a"],
            p_signal=np.full((length, 1), value),
            fmt=["16"],
            write_dir=str(tmp_path),
        )
    (tmp_path / "record.hea").write_text(f"record/2 1 {rate} {2 * length}\nseg1 {length}\nseg2 {length}\n")
    assert [path.name for path in recording_files(tmp_path)] == ["record.hea"]
    corpus = load_recording_folder(tmp_path)
    assert corpus["recording"] == ["record.hea"] and np.asarray(corpus[0]["input_values"]).shape == (1, 2 * length)


def test_csv_files_as_pandas_and_spreadsheets_write_them_read_as_written(tmp_path, caplog):
    """pandas' header of unnamed columns ("0,1") read as a first sample, its index column as a channel, a byte-order
    mark glued to the first cell (a sample dropped, or a time column read as a channel), and "Time [s]" as a channel."""
    samples = np.stack([np.arange(6) * 10.0 + 100, np.arange(6) * -1.5], axis=1)  # (time, channels)
    pd.DataFrame(samples).to_csv(tmp_path / "positions.csv", index=False)
    pd.DataFrame(samples, columns=["ecg", "ppg"]).to_csv(tmp_path / "indexed.csv")
    (tmp_path / "bom.csv").write_text(
        "\n".join(",".join(map(str, row)) for row in samples) + "\n", encoding="utf-8-sig"
    )
    timed = "time,ecg,ppg\n" + "".join(f"{i / 10},{a},{b}\n" for i, (a, b) in enumerate(samples))
    (tmp_path / "bom_timed.csv").write_text(timed, encoding="utf-8-sig")
    frame = pd.DataFrame({"Time [s]": np.arange(6) / 10, "ecg": samples[:, 0], "ppg": samples[:, 1]})
    frame.to_csv(tmp_path / "unit.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers.files"):
        for name in ("positions", "indexed", "bom", "bom_timed", "unit"):
            read = read_recording(tmp_path / f"{name}.csv", sampling_rate=10)
            np.testing.assert_allclose(read.data, samples.T, err_msg=name)
    assert "'' (a row index) not read as channels" in caplog.text
    assert "'Time [s]' (time stamps) not read as channels" in caplog.text


def test_a_csv_time_column_that_contradicts_the_rate_given_is_refused(tmp_path):
    """Time stamps 4 ms apart given as 100 Hz were dropped and the recording scored as 2.5 times its length."""
    seconds = np.arange(250) / 250
    pd.DataFrame({"time": seconds, "ecg": np.sin(seconds)}).to_csv(tmp_path / "timed.csv", index=False)
    with pytest.raises(
        ValueError, match=r"steps 0.004 s between samples \(250 Hz\).* given is 100 Hz.*--sampling-rate 250"
    ):
        read_recording(tmp_path / "timed.csv", sampling_rate=100)
    assert read_recording(tmp_path / "timed.csv", sampling_rate=250).data.shape == (1, 250)
    milliseconds = pd.DataFrame({"time_ms": seconds * 1000, "ecg": np.sin(seconds)})
    milliseconds.to_csv(tmp_path / "ms.csv", index=False)
    assert read_recording(tmp_path / "ms.csv", sampling_rate=250).channel_names == ["ecg"]


def test_a_wav_file_cut_short_in_its_samples_is_refused(tmp_path):
    """scipy reads a data chunk cut short as far as it goes, with a warning the reader silenced."""
    from scipy.io import wavfile

    wavfile.write(tmp_path / "full.wav", 1000, (np.sin(np.arange(10000) / 10) * 3000).astype(np.int16))
    content = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(content[: len(content) // 2])
    with pytest.raises(CorruptFileError, match="cut.wav is truncated: its header declares more samples"):
        read_recording(tmp_path / "cut.wav")
    assert read_recording(tmp_path / "full.wav").data.shape == (1, 10000)


def test_a_val_folder_beside_metadata_is_the_validation_split(tmp_path):
    """It was merged into train (while the same folder of class folders was the validation split)."""
    rows = []
    for split in ("train", "val", "test"):
        (tmp_path / split).mkdir()
        for k in range(2):
            # (each split's values its own: a byte-identical copy in another split is read once, from train)
            np.save(tmp_path / split / f"{split}{k}.npy", np.full((1, 300), float(k) + 10 * len(split)))
            rows.append({"file_name": f"{split}/{split}{k}.npy", "label": "xy"[k]})
    pd.DataFrame(rows).to_csv(tmp_path / "metadata.csv", index=False)
    splits = load_recording_folder(tmp_path)
    assert list(splits) == ["train", "test", "val"] or list(splits) == ["train", "val", "test"]
    assert sorted(splits["val"]["recording"]) == ["val/val0.npy", "val/val1.npy"]
    assert sorted(splits["train"]["recording"]) == ["train/train0.npy", "train/train1.npy"]


def test_a_labelled_folder_reads_every_file_in_the_first_files_channel_order(tmp_path):
    """Channels were stacked by position: C4 of one file under C3 of another, an ECG under C4, without a word."""
    rate = 100
    level = {"C3": 1.0, "C4": 2.0, "ECG": 50.0}

    def write(path, labels, seconds=4):
        path.parent.mkdir(parents=True, exist_ok=True)
        signals = [np.full(seconds * rate, level[label]) for label in labels]
        _write_edf(path, signals, [_signal_header(label, "uV", rate, (-100, 100)) for label in labels])

    write(tmp_path / "train/a/one.edf", ["C3", "C4"])
    write(tmp_path / "train/b/two.edf", ["C4", "C3"])
    # (not a byte-identical copy of one.edf, which would be read once, from train)
    write(tmp_path / "test/a/three.edf", ["C3", "C4"], seconds=5)
    splits = load_recording_folder(tmp_path)
    for split in splits.values():
        for row in split:
            np.testing.assert_allclose(np.asarray(row["input_values"]).mean(axis=1), [1.0, 2.0], atol=1e-2)
    write(tmp_path / "test/b/four.edf", ["C3", "ECG"])
    with pytest.raises(ValueError, match=r"four.edf holds channels \['C3', 'ECG'\] and .*one.edf holds \['C3', 'C4'\]"):
        load_recording_folder(tmp_path)
