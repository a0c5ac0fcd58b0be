"""Readers on files written by the real writers, and the online-corpus builders on them.

* Sleep-EDF: PSG (EDF) + hypnogram (EDF+ with only an annotation channel) written with pyedflib in the exact
  Sleep-EDF layout and naming.
* WFDB: records and beat annotations written with ``wfdb.wrsamp`` / ``wfdb.wrann``.
* TF-C: ``.pt`` dicts written with ``torch.save`` in the published layout.
* Bad input: truncated / corrupt EDF, unsafe pickles, missing WFDB annotations.
"""

from __future__ import annotations

import bz2
import datetime
import gzip
import lzma
import os
import pickle
import struct

import numpy as np
import pytest
from tiny_configs import write_edf, write_edf_annotations

from citrus_hf.data.errors import CorruptFileError, UnsafePickleError
from citrus_hf.data.readers import (
    load_npy,
    load_pickle,
    load_tfc_split,
    read_edf,
    read_edf_annotations,
    read_edf_header,
    read_wfdb,
)
from citrus_hf.data.sources.sleep_physionet import SLEEP_EDF_CHANNELS, pair_sleep_edf_files, sleep_edf_windows

START = datetime.datetime(1989, 4, 24, 16, 13)

# (description, duration in s) in the order of a Sleep-EDF hypnogram, with R&K stages 3 and 4, "?" and movement.
HYPNOGRAM = [
    ("Sleep stage W", 60),
    ("Sleep stage 1", 30),
    ("Sleep stage 2", 90),
    ("Sleep stage 3", 30),
    ("Sleep stage 4", 60),
    ("Movement time", 30),
    ("Sleep stage R", 60),
    ("Sleep stage W", 30),
    ("Sleep stage ?", 30),
]
EXPECTED_STAGES = ["W", "W", "N1", "N2", "N2", "N2", "N3", "N3", "N3", "REM", "REM", "W"]


def write_sleep_edf(folder, recording="SC4011", psg_suffix="E0", hyp_suffix="EC", hypnogram=HYPNOGRAM):
    """Write a PSG + hypnogram pair in the Sleep-EDF layout with pyedflib.

    EEG Fpz-Cz holds the epoch index (in µV) so a test can check that each window comes from its epoch; the other
    channels are noise; Resp / EMG / temperature / event marker are 1 Hz like the real files.
    """
    duration = sum(d for _, d in hypnogram)
    channels = [
        ("EEG Fpz-Cz", 100, "uV"),
        ("EEG Pz-Oz", 100, "uV"),
        ("EOG horizontal", 100, "uV"),
        ("Resp oro-nasal", 1, ""),
        ("EMG submental", 1, "uV"),
        ("Temp rectal", 1, "DegC"),
        ("Event marker", 1, ""),
    ]
    rng = np.random.default_rng(0)
    signals = [
        np.repeat(np.arange(duration // 30, dtype=np.float64), 30 * rate)
        if name == "EEG Fpz-Cz"
        else np.clip(rng.normal(0, 40, duration * rate), -499, 499)
        for name, rate, _ in channels
    ]
    labels, rates, units = (list(column) for column in zip(*channels, strict=True))
    psg = write_edf(folder / f"{recording}{psg_suffix}-PSG.edf", signals, labels, rates, units, plus=False, start=START)

    onsets = np.cumsum([0] + [length for _, length in hypnogram[:-1]])
    items = [(int(onset), length, description) for onset, (description, length) in zip(onsets, hypnogram, strict=True)]
    hyp = write_edf_annotations(folder / f"{recording}{hyp_suffix}-Hypnogram.edf", items, START)
    return psg, hyp


# ------------------------------------------------------------------------------------------------ EDF / Sleep-EDF


def test_sleep_edf_files_pair_and_read(tmp_path):
    psg, hyp = write_sleep_edf(tmp_path)
    header = read_edf_header(psg)
    assert header.sampling_rate("EEG Fpz-Cz") == 100 and header.sampling_rate("Resp oro-nasal") == 1
    annotations, start = read_edf_annotations(hyp)
    assert [a.description for a in annotations] == [d for d, _ in HYPNOGRAM]
    assert start.replace(tzinfo=None) == START
    (pair,) = pair_sleep_edf_files(tmp_path)
    assert (pair.psg, pair.hypnogram, pair.subject, pair.night, pair.recording) == (psg, hyp, "SC01", 1, "SC4011")


def test_sleep_edf_30s_epochs_and_stage_mapping(tmp_path):
    write_sleep_edf(tmp_path)
    (pair,) = pair_sleep_edf_files(tmp_path)
    windows = list(sleep_edf_windows(pair, max_wake_edge_minutes=None))
    assert [stage for _, stage, _ in windows] == EXPECTED_STAGES
    for window, _, start in windows:
        assert window.shape == (3, 3000) and window.dtype == np.float32
        # Fpz-Cz carries the epoch index: each window comes from its own epoch, in µV.
        assert np.allclose(window[0], start / 30, atol=0.05)
    starts = [start for _, _, start in windows]
    assert 270 not in starts and 420 not in starts  # movement time and "?" are dropped


def test_sleep_edf_2s_windows_like_sleepeeg(tmp_path):
    write_sleep_edf(tmp_path)
    (pair,) = pair_sleep_edf_files(tmp_path)
    windows = list(
        sleep_edf_windows(pair, channels=SLEEP_EDF_CHANNELS[:1], window_seconds=2.0, max_wake_edge_minutes=None)
    )
    assert len(windows) == 15 * len(EXPECTED_STAGES)
    assert all(w.shape == (1, 200) for w, _, _ in windows)
    assert [s for _, s, _ in windows[::15]] == EXPECTED_STAGES
    with pytest.raises(ValueError, match="must divide"):
        next(sleep_edf_windows(pair, window_seconds=7.0))


def test_sleep_edf_trims_long_wake_edges(tmp_path):
    hypnogram = [("Sleep stage W", 600), ("Sleep stage 2", 60), ("Sleep stage W", 300)]
    write_sleep_edf(tmp_path, hypnogram=hypnogram)
    (pair,) = pair_sleep_edf_files(tmp_path)
    kept = [(s, st) for _, st, s in sleep_edf_windows(pair, channels=SLEEP_EDF_CHANNELS[:1], max_wake_edge_minutes=2)]
    assert [s for s, _ in kept] == [480, 510, 540, 570, 600, 630, 660, 690, 720, 750]


def test_sleep_edf_pairing_rules(tmp_path):
    write_sleep_edf(tmp_path, recording="SC4012")
    write_sleep_edf(tmp_path, recording="ST7022", psg_suffix="J0", hyp_suffix="JP")
    (tmp_path / "x").mkdir()
    _, hypnogram = write_sleep_edf(tmp_path / "x", recording="SC4031")
    hypnogram.unlink()  # a partial download: PSG without hypnogram
    with pytest.warns(UserWarning, match="SC4031"):
        pairs = pair_sleep_edf_files(tmp_path)
    assert [(p.recording, p.subject, p.night) for p in pairs] == [("SC4012", "SC01", 2), ("ST7022", "ST02", 2)]
    write_sleep_edf(tmp_path / "x", recording="SC4012", hyp_suffix="EJ")
    with pytest.raises(CorruptFileError, match="Two Sleep-EDF"):
        pair_sleep_edf_files(tmp_path)


def test_truncated_edf_is_reported_with_its_name(tmp_path):
    psg, _ = write_sleep_edf(tmp_path)
    data = psg.read_bytes()
    truncated = tmp_path / "SC4099E0-PSG.edf"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=r"SC4099E0-PSG.edf is truncated.*missing"):
        read_edf(truncated, ["EEG Fpz-Cz"])
    garbage = tmp_path / "garbage.edf"
    garbage.write_bytes(b"this is not an EDF file" * 20)
    with pytest.raises(CorruptFileError, match="garbage.edf is not a valid EDF"):
        read_edf(garbage)
    tiny = tmp_path / "tiny.edf"
    tiny.write_bytes(data[:100])
    with pytest.raises(CorruptFileError, match="tiny.edf"):
        read_edf_annotations(tiny)
    header_only = tmp_path / "header_only.edf"
    header_only.write_bytes(data[: 256 * 8])
    with pytest.raises(CorruptFileError, match="header_only.edf is truncated"):
        read_edf(header_only)


def test_edf_channel_checks(tmp_path):
    psg, _ = write_sleep_edf(tmp_path)
    with pytest.raises(CorruptFileError, match="no channel"):
        read_edf(psg, ["EEG C3"])
    with pytest.raises(CorruptFileError, match="different sampling rates"):
        read_edf(psg, ["EEG Fpz-Cz", "Resp oro-nasal"])


def test_mne_failure_is_wrapped(tmp_path, monkeypatch):
    import mne

    psg, _ = write_sleep_edf(tmp_path)

    def broken(*args, **kwargs):
        raise AssertionError("")

    monkeypatch.setattr(mne.io, "read_raw_edf", broken)
    with pytest.raises(CorruptFileError, match=r"MNE could not read .*SC4011E0-PSG.edf"):
        read_edf(psg, ["EEG Fpz-Cz"])


# ------------------------------------------------------------------------------------------------ WFDB


def _edf_field(data: bytes, offset_units: int, width: int, signal: int, value: str) -> bytes:
    """`data` (an EDF file) with one per-signal header field of `signal` replaced: fields lie at `offset_units`
    times the signal count after the fixed 256 bytes, `width` bytes per signal."""
    count = int(data[252:256].decode())
    start = 256 + offset_units * count + signal * width
    return data[:start] + value.ljust(width).encode() + data[start + width :]


def test_edf_fields_a_reader_divides_by_are_checked(tmp_path):
    """A signal with an empty physical range, or no samples per record, read as values divided by zero or a 0 Hz
    rate; a signal that is not read does not stop the others."""
    psg, _ = write_sleep_edf(tmp_path)
    data = psg.read_bytes()
    labels = read_edf_header(psg).labels
    flat = tmp_path / "flat.edf"
    # physical max (offset 16 + 80 + 8 + 8 units) of signal 0 set to its physical min
    physical_min = data[256 + (16 + 80 + 8) * int(data[252:256]) :][:8].decode().strip()
    flat.write_bytes(_edf_field(data, 16 + 80 + 8 + 8, 8, 0, physical_min))
    with pytest.raises(CorruptFileError, match=rf"flat.edf: signal {labels[0]!r} has an empty physical"):
        read_edf(flat, [labels[0]])
    assert read_edf(flat, [labels[1]]).data.shape[0] == 1
    negative = tmp_path / "negative.edf"
    negative.write_bytes(_edf_field(data, 16 + 80 + 8 + 8 * 4 + 80, 8, 0, "-5"))
    with pytest.raises(CorruptFileError, match=r"negative.edf declares .* samples per signal; the header is corrupt"):
        read_edf_header(negative)


def test_a_wfdb_sampling_frequency_wfdb_cannot_read_is_refused(tmp_path):
    """wfdb reads such a header at its default of 250 Hz, silently."""
    write_wfdb_record(tmp_path)
    header = tmp_path / "100.hea"
    fields = header.read_text().splitlines()[0].split()
    for bad in ("-360", "nan", "0"):
        lines = header.read_text().splitlines()
        lines[0] = " ".join([*fields[:2], bad, *fields[3:]])
        header.write_text("\n".join(lines) + "\n")
        with pytest.raises(CorruptFileError, match=rf"100.hea gives the sampling frequency '{bad}'"):
            read_wfdb(tmp_path / "100")


def write_wfdb_record(folder, name="100", seconds=20, rate=360):
    """A two-lead record with a beat every 0.8 s (symbols cycling N, V, A, F, /) plus rhythm / noise annotations."""
    import wfdb

    t = np.arange(seconds * rate) / rate
    beats = np.arange(int(0.5 * rate), seconds * rate - int(0.5 * rate), int(0.8 * rate))
    mlii = np.zeros_like(t)
    for b in beats:
        mlii += 1.2 * np.exp(-0.5 * ((np.arange(t.size) - b) / (0.01 * rate)) ** 2)
    v5 = 0.5 * np.sin(2 * np.pi * 1.0 * t)
    wfdb.wrsamp(
        name,
        fs=rate,
        units=["mV", "mV"],
        sig_name=["MLII", "V5"],
        p_signal=np.stack([mlii, v5], axis=1),
        fmt=["212", "212"],
        write_dir=str(folder),
    )
    symbols = [("N", "V", "A", "F", "/")[i % 5] for i in range(beats.size)]
    samples = np.concatenate([beats, [beats[2] + 10, beats[5] + 10]])
    symbols = symbols + ["+", "~"]
    order = np.argsort(samples, kind="stable")
    wfdb.wrann(name, "atr", samples[order], [symbols[i] for i in order], write_dir=str(folder))
    return beats, mlii


def test_wfdb_record_and_annotations(tmp_path):
    beats, mlii = write_wfdb_record(tmp_path)
    record = read_wfdb(tmp_path / "100")
    assert record.sampling_rate == 360 and record.channel_names == ["MLII", "V5"] and record.units == ["mV", "mV"]
    assert record.data.shape == (2, 20 * 360)
    assert np.allclose(record.data[0], mlii, atol=0.01)  # 212 format quantisation
    assert set(beats) <= set(record.annotation_samples.tolist())
    assert record.annotation_symbols.count("+") == 1


def test_wfdb_beat_windows_map_to_aami(tmp_path):
    from citrus_hf.data.sources.mitdb import wfdb_beat_windows

    beats, _ = write_wfdb_record(tmp_path)
    windows = list(wfdb_beat_windows(tmp_path / "100", 0.25, 0.45))
    assert [cls for _, cls, _ in windows] == [("N", "V", "S", "F", "Q")[i % 5] for i in range(beats.size)]
    for window, _, sample in windows:
        assert sample in beats
        assert window.shape == (1, 252)
        assert abs(int(np.argmax(window[0])) - 90) <= 1  # the R-peak sits 0.25 s into the window


def test_wfdb_missing_annotations_are_reported(tmp_path):
    write_wfdb_record(tmp_path)
    (tmp_path / "100.atr").unlink()
    with pytest.raises(CorruptFileError, match=r"100\.atr is missing"):
        read_wfdb(tmp_path / "100")
    with pytest.raises(FileNotFoundError, match=r"101\.hea does not exist"):  # no record at all: a mistyped path
        read_wfdb(tmp_path / "101")


# ------------------------------------------------------------------------------------------------ TF-C .pt


def write_tfc(folder, n=(12, 4, 6), channels=1, length=178, classes=2, as_numpy=False, seed=0):
    import torch

    generator = torch.Generator().manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for file, count in zip(("train.pt", "val.pt", "test.pt"), n):
        samples = torch.randn(count, channels, length, generator=generator)
        labels = torch.arange(count) % classes
        if as_numpy:
            torch.save({"samples": samples.numpy(), "labels": labels.numpy()}, folder / file)
        else:
            torch.save({"samples": samples, "labels": labels}, folder / file)


def test_tfc_layouts(tmp_path):
    import torch

    write_tfc(tmp_path / "a", channels=3, length=206, classes=8)
    samples, labels = load_tfc_split(tmp_path / "a" / "train.pt")
    assert samples.shape == (12, 3, 206) and labels.dtype == np.int64 and labels.max() == 7
    write_tfc(tmp_path / "b", as_numpy=True)
    samples, labels = load_tfc_split(tmp_path / "b" / "val.pt")
    assert samples.shape == (4, 1, 178)
    torch.save({"samples": torch.randn(5, 178), "labels": torch.zeros(5)}, tmp_path / "flat.pt")
    assert load_tfc_split(tmp_path / "flat.pt")[0].shape == (5, 1, 178)
    torch.save({"samples": torch.randn(5, 206, 3), "labels": torch.zeros(5)}, tmp_path / "last.pt")
    assert load_tfc_split(tmp_path / "last.pt")[0].shape == (5, 3, 206)


def test_tfc_bad_files(tmp_path):
    import torch

    torch.save({"x": torch.zeros(2)}, tmp_path / "keys.pt")
    with pytest.raises(CorruptFileError, match="keys.pt is not in the TF-C layout"):
        load_tfc_split(tmp_path / "keys.pt")
    torch.save({"samples": torch.zeros(3, 1, 8), "labels": torch.zeros(2)}, tmp_path / "count.pt")
    with pytest.raises(CorruptFileError, match="3 samples but 2 labels"):
        load_tfc_split(tmp_path / "count.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file at all")
    with pytest.raises(CorruptFileError, match="junk.pt"):
        load_tfc_split(tmp_path / "junk.pt")


class _Exploit:
    """Pickles as a call to os.system: what an attacker would ship."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_unsafe_torch_file_is_refused(tmp_path):
    import torch

    marker = tmp_path / "pwned"
    torch.save({"samples": _Exploit(marker), "labels": torch.zeros(1)}, tmp_path / "evil.pt")
    with pytest.raises(UnsafePickleError, match="Unsafe pickle .*evil.pt"):
        load_tfc_split(tmp_path / "evil.pt")
    assert not marker.exists()


def test_unsafe_pickle_is_refused_with_its_name(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "EEG16SecData.pkl"
    path.write_bytes(pickle.dumps({"X": _Exploit(marker)}))
    with pytest.raises(UnsafePickleError) as info:
        load_pickle(path)
    assert "EEG16SecData.pkl" in str(info.value) and "system" in str(info.value)
    assert not marker.exists()
    # The same payload hidden in an object .npy.
    array = np.empty(1, dtype=object)
    array[0] = _Exploit(marker)
    np.save(tmp_path / "watch.npy", array, allow_pickle=True)
    with pytest.raises(UnsafePickleError, match="watch.npy"):
        load_npy(tmp_path / "watch.npy")
    assert not marker.exists()


def test_safe_pickles_of_arrays_load(tmp_path):
    value = {"x1": np.arange(5.0), "fs": 128, "names": ["AF3", "F7"], "pair": (np.zeros((2, 3), np.float32), None)}
    for protocol in (2, 4, 5):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        loaded = load_pickle(path)
        assert np.array_equal(loaded["x1"], value["x1"]) and loaded["names"] == ["AF3", "F7"]
        assert loaded["pair"][0].dtype == np.float32
    (tmp_path / "broken.pkl").write_bytes(pickle.dumps(value)[:40])
    with pytest.raises(CorruptFileError, match="broken.pkl is not a valid pickle"):
        load_pickle(tmp_path / "broken.pkl")


# ------------------------------------------------------------------------------------------------ .ts and R data

TS_TEXT = """# a comment with a non-ASCII byte: \u00b5V
@problemName Example
@timeStamps false
@univariate false
@classLabel true up down
@data
1.0,2.0,3.0:4.0,?,6.0:up
7.0,8.0,9.0:1.5,2.5,3.5:down
"""


def test_ts_files(tmp_path):
    from citrus_hf.data.readers import read_ts

    path = tmp_path / "x.ts"
    path.write_text(TS_TEXT, encoding="utf-8")
    ts = read_ts(path)
    assert ts.class_names == ["up", "down"] and ts.labels == ["up", "down"]
    assert ts.cases[0].shape == (2, 3) and ts.cases[0].dtype == np.float32 and np.isnan(ts.cases[0][1, 1])
    assert ts.header["problemname"] == "Example"
    bad = {
        "ragged": (TS_TEXT.replace("1.5,2.5,3.5", "1.5,2.5"), "channels have lengths"),
        "channels": (TS_TEXT.replace(":1.5,2.5,3.5:down", ":down"), "channels"),
        "label": (TS_TEXT.replace(":down", ":sideways"), "not among the declared classes"),
        "number": (TS_TEXT.replace("9.0", "nine"), "not a number"),
        "timestamps": (TS_TEXT.replace("1.0,2.0,3.0", "(0,1.0),(1,2.0)"), "time-stamped"),
        "unlabelled": (TS_TEXT.replace("@classLabel true up down", "@classLabel false"), "not a labelled"),
    }
    for name, (text, message) in bad.items():
        (tmp_path / f"{name}.ts").write_text(text)
        with pytest.raises(CorruptFileError, match=message):
            read_ts(tmp_path / f"{name}.ts")


def _r_int(value: int) -> bytes:
    return struct.pack(">i", value)


def _r_symbol(name: str, seen: list[str]) -> bytes:
    """A SYMSXP (or a REFSXP to one written before), as R's serialize() writes a tag."""
    if name in seen:
        return _r_int(((seen.index(name) + 1) << 8) | 255)
    seen.append(name)
    return _r_int(1) + _r_int(9 | (64 << 12)) + _r_int(len(name)) + name.encode()


def _r_vector(kind: int, payload: bytes, attributes: bytes = b"") -> bytes:
    return _r_int(kind | ((1 << 9) if attributes else 0)) + payload + attributes


def _r_pairlist(cells, seen: list[str]) -> bytes:
    """A tagged pairlist; each value is a function of ``seen`` called after its tag is written (stream order)."""
    stream = b""
    for tag, value in cells:
        stream += _r_int(2 | (1 << 10)) + _r_symbol(tag, seen)
        stream += value(seen)
    return stream + _r_int(254)


def _r_data_file(path, compress=gzip.compress) -> None:
    """An .rda file as R's save() writes it (format 3, XDR): doubles with attributes, integers with NA, characters
    with NA, a list, and a symbol used twice (the second time as a reference)."""
    names = _r_vector(16, _r_int(2) + _r_int(9) + _r_int(1) + b"a" + _r_int(9) + _r_int(1) + b"b")
    tsp = _r_vector(14, _r_int(1) + struct.pack(">d", 16.0))

    def heart(seen):
        attributes = _r_pairlist([("names", lambda _: names), ("tsp", lambda _: tsp)], seen)
        return _r_vector(14, _r_int(2) + struct.pack(">2d", 120.5, 98.0), attributes)

    def states(seen):
        attributes = _r_pairlist([("names", lambda _: names)], seen)
        return _r_vector(13, _r_int(3) + _r_int(1) + _r_int(-(2**31)) + _r_int(4), attributes)

    text = _r_vector(16, _r_int(2) + _r_int(9) + _r_int(2) + b"hi" + _r_int(9) + _r_int(-1))
    nested = _r_vector(19, _r_int(1) + _r_vector(10, _r_int(1) + _r_int(1)))
    cells = [("heart", heart), ("states", states), ("text", lambda _: text), ("nested", lambda _: nested)]
    header = b"RDX3\nX\n" + _r_int(3) + _r_int(0x040300) + _r_int(0x030500) + _r_int(5) + b"UTF-8"
    path.write_bytes(compress(header + _r_pairlist(cells, [])))


def test_r_data_files(tmp_path):
    from citrus_hf.data.readers import read_r_data

    for name, compress in (("gz", gzip.compress), ("bz2", bz2.compress), ("xz", lzma.compress), ("raw", bytes)):
        _r_data_file(tmp_path / f"{name}.rda", compress)
        data = read_r_data(tmp_path / f"{name}.rda")
        assert list(data) == ["heart", "states", "text", "nested"]
        assert data["heart"].value.tolist() == [120.5, 98.0]
        assert data["heart"].attributes["names"] == ["a", "b"] and data["heart"].attributes["tsp"].tolist() == [16.0]
        assert np.isnan(data["states"].value[1]) and data["states"].value[2] == 4
        assert data["states"].attributes["names"] == ["a", "b"]  # the tag "names" came back as a reference
        assert data["text"].value == ["hi", None]
        assert data["nested"].value[0].value.tolist() == [1]


def test_r_data_bad_files(tmp_path):
    from citrus_hf.data.readers import read_r_data

    _r_data_file(tmp_path / "good.rda", bytes)
    good = (tmp_path / "good.rda").read_bytes()
    cases = {
        "ascii": (b"RDX3\nA\n" + good[7:], "ASCII"),
        "not_r": (b"PK\x03\x04" + good, "not an R data file"),
        "truncated": (good[:-20], "truncated"),
        "closure": (good[:28] + _r_int(3) + good[32:], "does not read"),  # the first object: a closure
        "damaged": (gzip.compress(good)[:30], "damaged compressed"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / f"{name}.rda").write_bytes(content)
        with pytest.raises(CorruptFileError, match=message):
            read_r_data(tmp_path / f"{name}.rda")


def test_sleep_edf_files_found_through_a_symlinked_folder(tmp_path):
    """A local copy whose nights were linked in (`sleep/cassette -> /data/cassette`) is read whole, and a change to a
    linked file rebuilds the set: the builder's listing and its cache key follow links as `files_under` does."""
    from citrus_hf.data import build_dataset

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for subject in range(5):
        write_sleep_edf(elsewhere, recording=f"SC40{subject}1")
    data = tmp_path / "sleep"
    data.mkdir()
    (data / "sleep-cassette").symlink_to(elsewhere, target_is_directory=True)
    assert [pair.recording for pair in pair_sleep_edf_files(data)] == [f"SC40{s}1" for s in range(5)]
    ds = build_dataset(
        "sleep_edf", data_dir=data, download=False, cache_dir=tmp_path / "cache", max_wake_edge_minutes=None
    )
    assert sum(len(split) for split in ds.values()) == 5 * len(EXPECTED_STAGES)
    write_sleep_edf(elsewhere, recording="SC4051")  # a sixth night, through the link
    again = build_dataset(
        "sleep_edf", data_dir=data, download=False, cache_dir=tmp_path / "cache", max_wake_edge_minutes=None
    )
    assert sum(len(split) for split in again.values()) == 6 * len(EXPECTED_STAGES)


# ------------------------------------------------------------------------------------------------ online builders


def test_sleep_edf_builder(tmp_path):
    from citrus_hf.data import build_dataset

    data = tmp_path / "sleep"
    (data / "sleep-cassette").mkdir(parents=True)
    for subject in range(10):
        write_sleep_edf(data / "sleep-cassette", recording=f"SC40{subject}1")
    ds = build_dataset(
        "sleep_edf", data_dir=data, download=False, cache_dir=tmp_path / "cache", max_wake_edge_minutes=None
    )
    assert set(ds) == {"train", "validation", "test"}
    assert [len(ds[s]) for s in ("train", "validation", "test")] == [96, 12, 12]
    assert ds["train"].features["label"].names == ["W", "N1", "N2", "N3", "REM"]
    subjects = [set(ds[s]["subject"]) for s in ds]
    assert all(a.isdisjoint(b) for i, a in enumerate(subjects) for b in subjects[i + 1 :])
    row = ds["train"].with_format("numpy")[0]
    assert row["input_values"].shape == (3, 3000) and row["sampling_rate"] == 100
    short = build_dataset("sleep_edf_2s", data_dir=data, download=False, cache_dir=tmp_path / "cache")
    assert short["train"].features["input_values"].shape == (1, 200)
    assert len(short["train"]) == 15 * 96


def test_tfc_builder(tmp_path):
    from citrus_hf.data import build_dataset
    from citrus_hf.data.errors import CitrusDataError

    write_tfc(tmp_path / "epilepsy")
    ds = build_dataset("tfc_epilepsy", data_dir=tmp_path / "epilepsy", download=False, cache_dir=tmp_path / "cache")
    assert [len(ds[s]) for s in ("train", "validation", "test")] == [12, 4, 6]
    assert ds["test"][0]["sampling_rate"] == pytest.approx(173.61)
    assert ds["train"].features["input_values"].shape == (1, 178)
    write_tfc(tmp_path / "bad", classes=5)
    with pytest.raises(CitrusDataError, match="expected 0..1"):
        build_dataset("tfc_epilepsy", data_dir=tmp_path / "bad", download=False, cache_dir=tmp_path / "cache")
    with pytest.raises(CitrusDataError, match="missing"):
        build_dataset("tfc_gesture", data_dir=tmp_path / "none", download=False, cache_dir=tmp_path / "cache")


def test_mitdb_builder_uses_the_inter_patient_split(tmp_path):
    from citrus_hf.data import build_dataset

    write_wfdb_record(tmp_path, "101")
    write_wfdb_record(tmp_path, "100")
    ds = build_dataset("mitdb_beats", data_dir=tmp_path, download=False, cache_dir=tmp_path / "cache")
    assert set(ds["train"]["recording"]) == {"101"} and set(ds["test"]["recording"]) == {"100"}
    assert ds["train"].features["label"].names == ["N", "S", "V", "F", "Q"]
    assert len(ds["train"]) == 24


# ------------------------------------------------------------------------------------------------ dataset_scripts


def _script(name):
    import runpy
    from pathlib import Path

    return runpy.run_path(str(Path(__file__).resolve().parents[1] / "dataset_scripts" / name))["main"]


def test_dataset_scripts_build_local_copies_and_save(tmp_path, capsys):
    from datasets import load_from_disk

    cache = str(tmp_path / "cache")
    write_tfc(tmp_path / "tfc" / "epilepsy")
    main = _script("tfc_benchmark.py")
    assert (
        main(
            [
                "epilepsy",
                "--data-dir",
                str(tmp_path / "tfc"),
                "--no-download",
                "--cache-dir",
                cache,
                "--output",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    assert load_from_disk(str(tmp_path / "out" / "epilepsy"))["validation"].num_rows == 4

    (tmp_path / "sleep").mkdir()
    for subject in range(3):
        write_sleep_edf(tmp_path / "sleep", recording=f"SC40{subject}1")
    main = _script("sleep_edf.py")
    assert (
        main(
            [
                "--data-dir",
                str(tmp_path / "sleep"),
                "--no-download",
                "--variant",
                "2s",
                "--cache-dir",
                cache,
                "--output",
                str(tmp_path / "sleep_out"),
            ]
        )
        == 0
    )
    built = load_from_disk(str(tmp_path / "sleep_out"))
    assert sum(ds.num_rows for ds in built.values()) == 3 * 15 * len(EXPECTED_STAGES)

    (tmp_path / "mitdb").mkdir()
    write_wfdb_record(tmp_path / "mitdb", "100")
    main = _script("physionet_wfdb.py")
    assert main(["--data-dir", str(tmp_path / "mitdb"), "--no-download", "--cache-dir", cache]) == 0
    assert "mitdb_beats" in capsys.readouterr().out
