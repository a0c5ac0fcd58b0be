"""BrainVision recordings (.vhdr + .eeg + .vmrk), read natively: the header's channels, resolutions, units, rate and
binary layout, the marker file's start, the refusals of what is not read, a folder of them, and a BIDS dataset of
them through its events. The files are written here by hand, as the format lays them out (header text, samples with
numpy's `tofile`)."""

from __future__ import annotations

import datetime
import json
import logging

import numpy as np
import pytest

from citrus_hf.data import readers
from citrus_hf.data.errors import CorruptFileError, SamplingRateError
from citrus_hf.data.recording_folders import load_recording_folder

FOLDERS = "citrus_hf.data.recording_folders"
# (name, reference, resolution, unit) of each channel line: a comma in a name is written "\1"; an empty resolution
# is 1 and an empty unit µV
CHANNEL_LINES = ["Fp1,,0.1,µV", "A\\1B,Cz,0.5", "EMG,,2,mV", "Cz,,,"]
NAMES = ["Fp1", "A,B", "EMG", "Cz"]
RESOLUTIONS = np.array([0.1, 0.5, 2.0, 1.0])
UNITS = ["µV", "µV", "mV", "µV"]


def write_brainvision(
    folder,
    stem="rec",
    samples=None,
    binary="INT_16",
    orientation="MULTIPLEXED",
    interval="4000",
    lines=CHANNEL_LINES,
    common="",
    marker_date="20240301120000500000",
    encoding="utf-8",
    codepage="UTF-8",
):
    """A BrainVision recording `folder/stem.vhdr` (+ .eeg, .vmrk) of `samples` `(time, channels)` (default: 200
    random whole numbers per channel), stored as `binary` in `orientation`. Returns the samples as stored."""
    dtypes = {"INT_16": "<i2", "UINT_16": "<u2", "INT_32": "<i4", "IEEE_FLOAT_32": "<f4"}
    if samples is None:
        low = 0 if binary == "UINT_16" else -3000
        samples = np.random.default_rng(0).integers(low, 3000, size=(200, len(lines)))
    samples = np.asarray(samples).astype(dtypes.get(binary, "<i2"))
    folder.mkdir(parents=True, exist_ok=True)
    (samples if orientation == "MULTIPLEXED" else samples.T).tofile(folder / f"{stem}.eeg")
    channels = "\n".join(f"Ch{number}={line}" for number, line in enumerate(lines, 1))
    header = f"""Brain Vision Data Exchange Header File Version 1.0
; Data created by hand
[Common Infos]
Codepage={codepage}
DataFile={stem}.eeg
MarkerFile={stem}.vmrk
DataFormat=BINARY
; Data orientation: VECTORIZED=ch1,pt1, ch1,pt2..., MULTIPLEXED=ch1,pt1, ch2,pt1 ...
DataOrientation={orientation}
NumberOfChannels={len(lines)}
; Sampling interval in microseconds
SamplingInterval={interval}
{common}
[Binary Infos]
BinaryFormat={binary}
[Channel Infos]
; Each entry: Ch<Channel number>=<Name>,<Reference channel name>,<Resolution in "Unit">,<Unit>
{channels}
[Comment]
Impedances: not = an INI line
"""
    (folder / f"{stem}.vhdr").write_bytes(header.encode(encoding))
    markers = f"""Brain Vision Data Exchange Marker File, Version 1.0
[Common Infos]
Codepage=UTF-8
DataFile={stem}.eeg
[Marker Infos]
; Mk<Marker number>=<Type>,<Description>,<Position in data points>,<Size in data points>,<Channel number>,<Date>
Mk1=New Segment,,1,1,0,{marker_date}
Mk2=Stimulus,S  1,101,1,0
"""
    (folder / f"{stem}.vmrk").write_text(markers, encoding="utf-8")
    return samples


def test_a_brainvision_recording_is_read_in_its_units_with_its_names_and_start(tmp_path):
    """Each sample times its channel's resolution, in the channel's unit (µV where none is written), "\\1" read as a
    comma, the rate from the sampling interval in µs, the start from the first New Segment marker's date."""
    stored = write_brainvision(tmp_path)
    recording = readers.read_recording(tmp_path / "rec.vhdr")
    assert recording.sampling_rate == 250.0
    assert recording.channel_names == NAMES and recording.units == UNITS
    assert recording.start == datetime.datetime(2024, 3, 1, 12, 0, 0, 500000)
    np.testing.assert_allclose(recording.data, stored.T * RESOLUTIONS[:, None])
    assert recording.data.shape == (4, 200) and recording.data.dtype == np.float64
    picked = readers.read_recording(tmp_path / "rec.vhdr", channels=["EMG", "0"])
    assert picked.channel_names == ["EMG", "Fp1"] and picked.units == ["mV", "µV"]
    np.testing.assert_allclose(picked.data, stored.T[[2, 0]] * RESOLUTIONS[[2, 0], None])


@pytest.mark.parametrize(
    "binary, orientation",
    [("IEEE_FLOAT_32", "MULTIPLEXED"), ("UINT_16", "MULTIPLEXED"), ("INT_32", "VECTORIZED"), ("INT_16", "VECTORIZED")],
)
def test_every_binary_format_and_orientation_is_read(tmp_path, binary, orientation):
    stored = write_brainvision(tmp_path, binary=binary, orientation=orientation)
    recording = readers.read_recording(tmp_path / "rec.vhdr")
    np.testing.assert_allclose(recording.data, stored.T.astype(np.float64) * RESOLUTIONS[:, None], rtol=1e-6)


def test_an_ansi_header_and_a_start_after_the_first_sample(tmp_path):
    """A header in Windows' ANSI code page (µ one byte) is read; a first New Segment marked at sample 11 dates that
    sample, so the start is 10 samples earlier; a date of zeros is no start."""
    write_brainvision(tmp_path, encoding="cp1252", codepage="ANSI")
    marker = tmp_path / "rec.vmrk"
    marker.write_text(marker.read_text(encoding="utf-8").replace(",,1,1,0,", ",,11,1,0,"), encoding="utf-8")
    recording = readers.read_recording(tmp_path / "rec.vhdr")
    assert recording.units == UNITS
    assert recording.start == datetime.datetime(2024, 3, 1, 12, 0, 0, 460000)
    write_brainvision(tmp_path / "undated", marker_date="0" * 20)
    assert readers.read_recording(tmp_path / "undated" / "rec.vhdr").start is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"binary": "IEEE_FLOAT_64"}, r"BinaryFormat=IEEE_FLOAT_64.*binary formats INT_16, UINT_16"),
        ({"common": "DataFormat=ASCII"}, r"as ASCII text .*export the recording as BINARY"),
        ({"common": "SegmentationType=MARKERBASED"}, r"segmented data .*give the raw, unsegmented recording"),
        ({"interval": "0"}, r"SamplingInterval=0 .*not a positive number of microseconds"),
        ({"lines": ["Fp1,,x,µV"]}, r"resolution 'x' is not a number"),
    ],
)
def test_what_is_not_read_is_refused_naming_it(tmp_path, change, message):
    write_brainvision(tmp_path, **change)
    if "common" in change:  # (a later key of the section wins: the test's own, not the writer's)
        header = tmp_path / "rec.vhdr"
        text = header.read_text(encoding="utf-8").replace("DataFormat=BINARY\n", "")
        header.write_text(text, encoding="utf-8")
    with pytest.raises(CorruptFileError, match=message):
        readers.read_recording(tmp_path / "rec.vhdr")


def test_a_data_file_that_is_not_the_headers_is_refused(tmp_path):
    """A missing data file (a renamed recording whose header names the old name) and one that is not a whole number
    of the header's frames (a wrong channel count or binary format) are refused, naming the fix."""
    write_brainvision(tmp_path)
    (tmp_path / "rec.eeg").rename(tmp_path / "other.eeg")
    with pytest.raises(CorruptFileError, match=r"names the data file 'rec.eeg' .*fix DataFile="):
        readers.read_recording(tmp_path / "rec.vhdr")
    (tmp_path / "other.eeg").rename(tmp_path / "rec.eeg")
    with open(tmp_path / "rec.eeg", "ab") as handle:
        handle.write(b"\x00\x00")
    with pytest.raises(CorruptFileError, match=r"not a whole number of sample frames of 4 channels"):
        readers.read_recording(tmp_path / "rec.vhdr")


def test_the_data_file_given_alone_names_its_header(tmp_path):
    write_brainvision(tmp_path)
    for name in ("rec.eeg", "rec.vmrk"):
        with pytest.raises(ValueError, match=r"part of the BrainVision recording rec.vhdr .*give .*rec.vhdr"):
            readers.read_recording(tmp_path / name)


def test_the_samples_are_mnes(tmp_path):
    """Cross-check with MNE's reader (volts there): the same samples, names and start."""
    mne = pytest.importorskip("mne")
    write_brainvision(tmp_path, lines=["Fp1,,0.1,µV", "A\\1B,Cz,0.5", "EMG,,2,mV"])
    ours = readers.read_recording(tmp_path / "rec.vhdr")
    raw = mne.io.read_raw_brainvision(tmp_path / "rec.vhdr", verbose="error")
    assert raw.ch_names == ours.channel_names and raw.info["sfreq"] == ours.sampling_rate
    np.testing.assert_allclose(raw.get_data() * np.array([[1e6], [1e6], [1e3]]), ours.data, rtol=1e-9, atol=1e-9)
    assert raw.info["meas_date"].replace(tzinfo=None) == ours.start


def test_a_folder_of_brainvision_recordings_is_read_without_naming_their_data_files(
    tmp_path, caplog, own_datasets_cache
):
    """A folder's .vhdr files are its recordings; their .eeg / .vmrk are not named as files left unread (a Nihon
    Kohden .eeg, with no header naming it, still is)."""
    write_brainvision(tmp_path / "pile", "a")
    write_brainvision(tmp_path / "pile", "b")
    (tmp_path / "pile" / "nihon.eeg").write_bytes(b"\x00" * 8)
    with caplog.at_level(logging.WARNING, logger=FOLDERS):
        loaded = load_recording_folder(tmp_path / "pile")
    assert sorted(loaded["recording"]) == ["a.vhdr", "b.vhdr"]
    assert set(loaded["sampling_rate"]) == {250.0}
    assert "nihon.eeg" in caplog.text and "a.eeg" not in caplog.text and "a.vmrk" not in caplog.text


def _bids(root, sidecar_rate=250):
    """A BIDS-EEG dataset of BrainVision recordings (as OpenNeuro's): two subjects, one motor run each, their events."""
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "motor", "BIDSVersion": "1.9.0"}))
    stored = {}
    for subject in ("01", "02"):
        folder = root / f"sub-{subject}" / "eeg"
        stem = f"sub-{subject}_task-motor_eeg"
        stored[subject] = write_brainvision(folder, stem)
        (folder / f"sub-{subject}_task-motor_events.tsv").write_text(
            "onset\tduration\ttrial_type\n0.2\t0.2\tleft\n0.5\t0.2\tright\n"
        )
        (folder / f"{stem}.json").write_text(json.dumps({"SamplingFrequency": sidecar_rate}))
    return stored


def test_a_bids_dataset_of_brainvision_recordings_gives_its_events(tmp_path, own_datasets_cache):
    stored = _bids(tmp_path / "bids")
    loaded = load_recording_folder(tmp_path / "bids", bids_options={"test_subjects": "02"})
    assert {split: len(rows) for split, rows in loaded.items()} == {"train": 2, "test": 2}
    first = loaded["train"][0]
    assert first["recording"] == "sub-01/eeg/sub-01_task-motor_eeg.vhdr" and first["label"] == "left"
    assert first["channel_names"] == NAMES and first["sampling_rate"] == 250.0
    expected = stored["01"].T[:, 50:100] * RESOLUTIONS[:, None]
    np.testing.assert_allclose(np.asarray(first["input_values"]), expected, rtol=1e-6)


def test_a_bids_sidecar_rate_that_is_not_the_brainvision_headers_is_refused(tmp_path, own_datasets_cache):
    _bids(tmp_path / "bids", sidecar_rate=500)
    with pytest.raises(SamplingRateError, match=r"records 250 Hz and its sidecar .*SamplingFrequency 500"):
        load_recording_folder(tmp_path / "bids")


def test_a_file_that_is_no_brainvision_header_is_refused_saying_so(tmp_path):
    (tmp_path / "raw.vhdr").write_bytes(b"\0" * 16)
    with pytest.raises(CorruptFileError, match=r"raw.vhdr is not a BrainVision header file.*Re-download or re-export"):
        readers.read_recording(tmp_path / "raw.vhdr")


# ----------------------------------------------------------------------------------------------- EEGLAB .set (+ .fdt)
EEGLAB_NAMES = ["Fz", "Cz", "Pz"]


def write_eeglab(folder, stem="rec", fdt=False, top_level=False, trials=1, rate=250.0, samples=200):
    """An EEGLAB data set `folder/stem.set` as EEGLAB saves it (MATLAB v5; its EEG structure as one variable, or with
    `top_level` its fields at the file's top level as EEGLAB 2019 on saves them), its `(channels, time)` float32
    samples inside it or (`fdt`) in `stem.fdt` in MATLAB's column order. Returns the samples."""
    from scipy.io import savemat

    data = (np.random.default_rng(1).standard_normal((3, samples * trials)) * 20).astype(np.float32)
    chanlocs = np.zeros((1, 3), dtype=[("labels", object), ("type", object)])
    for index, name in enumerate(EEGLAB_NAMES):
        chanlocs[0, index] = (name, "EEG")
    structure = {
        "setname": "motor", "nbchan": 3.0, "pnts": float(samples), "trials": float(trials), "srate": rate,
        "xmin": 0.0, "data": f"{stem}.fdt" if fdt else data, "chanlocs": chanlocs, "ref": "common",
        "event": np.zeros((1, 0), dtype=[("type", object), ("latency", object)]),
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    savemat(folder / f"{stem}.set", structure if top_level else {"EEG": structure}, appendmat=False)
    if fdt:
        data.T.tofile(folder / f"{stem}.fdt")  # (MATLAB's fwrite of EEG.data: a sample of every channel, then the next)
    return data


@pytest.mark.parametrize("fdt, top_level", [(False, False), (True, True), (True, False)])
def test_an_eeglab_set_is_read_in_microvolts_with_its_channel_names(tmp_path, fdt, top_level):
    data = write_eeglab(tmp_path, fdt=fdt, top_level=top_level)
    recording = readers.read_recording(tmp_path / "rec.set")
    assert recording.sampling_rate == 250.0 and recording.channel_names == EEGLAB_NAMES
    assert recording.units == ["µV"] * 3 and recording.start is None
    np.testing.assert_allclose(recording.data, data)
    picked = readers.read_recording(tmp_path / "rec.set", channels=["Pz", "0"])
    np.testing.assert_allclose(picked.data, data[[2, 0]])


@pytest.mark.parametrize("fdt", [False, True])
def test_the_eeglab_samples_are_mnes(tmp_path, fdt):
    mne = pytest.importorskip("mne")
    write_eeglab(tmp_path, fdt=fdt, top_level=fdt)
    raw = mne.io.read_raw_eeglab(tmp_path / "rec.set", verbose="error")
    ours = readers.read_recording(tmp_path / "rec.set")
    assert raw.ch_names == ours.channel_names and raw.info["sfreq"] == ours.sampling_rate
    np.testing.assert_allclose(raw.get_data() * 1e6, ours.data, rtol=1e-6)


def test_what_an_eeglab_set_holds_that_is_not_read_is_refused(tmp_path):
    """An epoched set, a v7.3 (HDF5) file, a .fdt missing or of another size, and the .fdt given alone: refused,
    naming the fix."""
    h5py = pytest.importorskip("h5py")
    write_eeglab(tmp_path / "epochs", trials=4)
    with pytest.raises(CorruptFileError, match=r"holds 4 epochs .*give the continuous data set"):
        readers.read_recording(tmp_path / "epochs" / "rec.set")
    with h5py.File(tmp_path / "v73.set", "w", userblock_size=512) as handle:
        handle["nbchan"] = 3.0
    with open(tmp_path / "v73.set", "r+b") as handle:
        handle.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Dec  7 01:00:00 2026 HDF5 schema 1.00 .")
    with pytest.raises(CorruptFileError, match=r"MATLAB v7.3 file .*'version', '7'.*export\('recording.edf'\)"):
        readers.read_recording(tmp_path / "v73.set")
    write_eeglab(tmp_path / "fdt", fdt=True)
    with pytest.raises(ValueError, match=r"rec.fdt is part of the EEGLAB recording rec.set .*give"):
        readers.read_recording(tmp_path / "fdt" / "rec.fdt")
    with open(tmp_path / "fdt" / "rec.fdt", "ab") as handle:
        handle.write(bytes(4))
    with pytest.raises(CorruptFileError, match=r"holds 2404 bytes where .* declares 3 channels of 200 float32"):
        readers.read_recording(tmp_path / "fdt" / "rec.set")
    (tmp_path / "fdt" / "rec.fdt").unlink()
    with pytest.raises(CorruptFileError, match=r"keeps its samples in 'rec.fdt', which is not beside it"):
        readers.read_recording(tmp_path / "fdt" / "rec.set")


def test_a_bids_dataset_of_eeglab_sets_gives_its_events_without_naming_their_fdt(tmp_path, own_datasets_cache, caplog):
    root = tmp_path / "bids"
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "motor", "BIDSVersion": "1.9.0"}))
    stored = {}
    for subject in ("01", "02"):
        folder = root / f"sub-{subject}" / "eeg"
        stored[subject] = write_eeglab(folder, f"sub-{subject}_task-motor_eeg", fdt=True, top_level=True)
        (folder / f"sub-{subject}_task-motor_events.tsv").write_text("onset\tduration\ttrial_type\n0.2\t0.2\tleft\n")
        (folder / f"sub-{subject}_task-motor_eeg.json").write_text(json.dumps({"SamplingFrequency": 250}))
    with caplog.at_level(logging.WARNING, logger=FOLDERS):
        loaded = load_recording_folder(root, bids_options={"test_subjects": "02"})
    assert {split: len(rows) for split, rows in loaded.items()} == {"train": 1, "test": 1}
    first = loaded["train"][0]
    assert first["recording"] == "sub-01/eeg/sub-01_task-motor_eeg.set" and first["label"] == "left"
    np.testing.assert_allclose(np.asarray(first["input_values"]), stored["01"][:, 50:100], rtol=1e-6)
    assert ".fdt" not in caplog.text
    (root / "sub-01" / "eeg" / "sub-01_task-motor_eeg.json").write_text(json.dumps({"SamplingFrequency": 500}))
    with pytest.raises(SamplingRateError, match=r"records 250 Hz and its sidecar .*SamplingFrequency 500"):
        load_recording_folder(root)


def test_the_fdt_a_set_names_is_read_and_not_named_as_left_unread(tmp_path, own_datasets_cache, caplog):
    """A set whose .fdt is not named as it is (renamed outside EEGLAB) reads the one it names, which a folder's
    listing then passes over; a .fdt no set names is named as a file left unread."""
    from scipy.io import loadmat, savemat

    data = write_eeglab(tmp_path / "pile", "old", fdt=True, top_level=True)
    fields = loadmat(tmp_path / "pile" / "old.set", appendmat=False)
    savemat(tmp_path / "pile" / "new.set", {k: v for k, v in fields.items() if not k.startswith("__")}, appendmat=False)
    (tmp_path / "pile" / "old.set").unlink()
    (tmp_path / "pile" / "stray.fdt").write_bytes(bytes(8))
    np.testing.assert_allclose(readers.read_recording(tmp_path / "pile" / "new.set").data, data)
    with caplog.at_level(logging.WARNING, logger=FOLDERS):
        loaded = load_recording_folder(tmp_path / "pile")
    assert list(loaded["recording"]) == ["new.set"]
    assert "stray.fdt" in caplog.text and "old.fdt" not in caplog.text


def test_a_vectorized_file_longer_than_its_data_points_is_refused(tmp_path):
    """A VECTORIZED file holds each channel's samples one after another: where it holds more per channel than
    DataPoints declares, the second channel starts past DataPoints, and reading DataPoints per channel took the first
    channel's tail as the second's start, without a word."""
    write_brainvision(tmp_path, orientation="VECTORIZED", common="DataPoints=150")
    with pytest.raises(CorruptFileError, match=r"holds 200 samples per channel .* declares DataPoints=150"):
        readers.read_recording(tmp_path / "rec.vhdr")
    stored = write_brainvision(tmp_path / "multiplexed", common="DataPoints=150")
    recording = readers.read_recording(tmp_path / "multiplexed" / "rec.vhdr")
    np.testing.assert_allclose(recording.data, stored[:150].T * RESOLUTIONS[:, None])


def test_an_eeglab_set_with_an_unnamed_channel_names_them_by_position(tmp_path):
    """A chanlocs label EEGLAB left empty is an empty MATLAB array: it was named "[]"."""
    from scipy.io import savemat

    chanlocs = np.zeros((1, 2), dtype=[("labels", object)])
    chanlocs[0, 0], chanlocs[0, 1] = ("Oz",), (np.zeros((0, 0)),)
    structure = {"nbchan": 2.0, "pnts": 50.0, "trials": 1.0, "srate": 100.0, "data": np.ones((2, 50))}
    savemat(tmp_path / "x.set", {"EEG": {**structure, "chanlocs": chanlocs}}, appendmat=False)
    assert readers.read_recording(tmp_path / "x.set").channel_names == ["0", "1"]


def test_a_recording_that_paused_is_read_end_to_end_when_asked(tmp_path):
    """A second New Segment marker (the recorder paused and went on): read whole only when asked, `across_pauses`
    (refused otherwise, as an EDF+D file with gaps is: tests/test_bids3_audit73.py)."""
    stored = write_brainvision(tmp_path)
    marker = tmp_path / "rec.vmrk"
    marker.write_text(marker.read_text(encoding="utf-8") + "Mk3=New Segment,,151,1,0,20240301120500000000\n")
    recording = readers.read_brainvision(tmp_path / "rec.vhdr", across_pauses=True)
    assert recording.start == datetime.datetime(2024, 3, 1, 12, 0, 0, 500000) and recording.data.shape == (4, 200)
    np.testing.assert_allclose(recording.data, stored.T * RESOLUTIONS[:, None])
