"""What an audit of the WAV and OpenSignals HDF5 readers, on tiny files written in their real layouts, found: a
big-endian (RIFX) WAV file failed with a KeyError on numpy's dtype, a path that does not exist was called a damaged
file to re-export, a multi-device OpenSignals file whose devices stopped a few samples apart failed in numpy's
stack, a companion ``_info.json`` whose "Signal Type" is a JSON list gave channels the types "['ECG'" and "'EMG']",
and one that is not JSON failed in the json module; a file OpenSignals was still writing (HDF5's lock) was called
unreadable."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from citrus_hf.data.errors import CitrusDataError, CorruptFileError
from citrus_hf.data.readers import read_opensignals_h5, read_recording


def _wav(path: Path, samples: np.ndarray, rate: int, format_tag: int = 1, big_endian: bool = False) -> Path:
    """`samples` `(time, channels)` written as a WAV file, RIFX (big-endian) when `big_endian`."""
    order = ">" if big_endian else "<"
    data = samples.astype(samples.dtype.newbyteorder(order)).tobytes()
    channels, width = samples.shape[1], samples.dtype.itemsize
    fmt = struct.pack(
        order + "HHIIHH", format_tag, channels, rate, rate * channels * width, channels * width, width * 8
    )
    body = b"WAVE" + b"fmt " + struct.pack(order + "I", len(fmt)) + fmt + b"data" + struct.pack(order + "I", len(data))
    path.write_bytes(
        (b"RIFX" if big_endian else b"RIFF") + struct.pack(order + "I", len(body) + len(data)) + body + data
    )
    return path


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_a_big_endian_rifx_wav_file_reads_as_its_little_endian_twin(tmp_path, dtype):
    full = float(np.iinfo(dtype).max) + 1
    samples = (np.array([[0.5, -0.5], [0.25, -0.25], [-1.0, 0.0]]) * full).astype(dtype)
    little = read_recording(_wav(tmp_path / "riff.wav", samples, 250))
    big = read_recording(_wav(tmp_path / "rifx.wav", samples, 250, big_endian=True))
    assert big.sampling_rate == little.sampling_rate == 250
    np.testing.assert_array_equal(big.data, little.data)
    np.testing.assert_array_equal(big.data, [[0.5, 0.25, -1.0], [-0.5, -0.25, 0.0]])


def test_a_wav_path_that_does_not_exist_is_named_missing_not_damaged(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such.wav") as caught:
        read_recording(tmp_path / "no_such.wav")
    assert "re-export" not in str(caught.value)


def _opensignals(path: Path, lengths: dict[str, int]) -> Path:
    """An OpenSignals HDF5 file with one device per key of `lengths`, each one 16-bit channel of that many samples
    (`f[mac]['raw']['channel_1']`, `(time, 1)` uint32, as biosignalsplux writes it)."""
    import h5py

    with h5py.File(path, "w") as handle:
        for mac, length in lengths.items():
            device = handle.create_group(mac)
            device.attrs.update({"sampling rate": np.int32(1000), "channels": np.array([1], dtype=np.int32)})
            device.attrs["resolution"] = np.array([16], dtype=np.int32)
            raw = device.create_group("raw")
            raw.create_dataset("channel_1", data=np.arange(length, dtype=np.uint32)[:, None])
            raw.create_dataset("nSeq", data=np.arange(length, dtype=np.uint16)[:, None])
    return path


def test_an_opensignals_path_that_does_not_exist_is_named_missing_not_unreadable(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such.h5") as caught:
        read_opensignals_h5(tmp_path / "no_such.h5")
    assert "not a readable HDF5" not in str(caught.value)


def test_devices_of_different_lengths_are_named_not_left_to_numpy(tmp_path):
    path = _opensignals(tmp_path / "two.h5", {"00:07:80:AA:00:01": 100, "00:07:80:AA:00:02": 97})
    info = tmp_path / "two_info.json"
    info.write_text(json.dumps({"Signal Type": "ECG, EMG"}))
    recording = read_opensignals_h5(path, info)
    with pytest.raises(CitrusDataError, match=r"(?s)00:07:80:AA:00:01/channel_1.*100.*00:07:80:AA:00:02/channel_1.*97"):
        recording.body_signals(path)
    # one device's channels alone are one recording
    names, data, modalities = recording.body_signals(path, keep=["00:07:80:AA:00:02/channel_1"])
    assert data.shape == (1, 97) and modalities == ("EMG",)


def test_signal_types_given_as_a_json_list_are_each_channels_type(tmp_path):
    path = _opensignals(tmp_path / "two.h5", {"00:07:80:AA:00:01": 50, "00:07:80:AA:00:02": 50})
    info = tmp_path / "two_info.json"
    info.write_text(json.dumps({"Signal Type": ["ECG", "EMG"]}))
    assert list(read_opensignals_h5(path, info).signal_types.values()) == ["ECG", "EMG"]


def test_a_companion_info_file_that_is_not_json_is_a_citrus_error(tmp_path):
    path = _opensignals(tmp_path / "one.h5", {"00:07:80:AA:00:01": 50})
    info = tmp_path / "one_info.json"
    info.write_text("{Signal Type: ECG")
    with pytest.raises(CorruptFileError, match="one_info.json"):
        read_opensignals_h5(path, info)


def test_a_file_another_program_is_writing_is_named_so_not_unreadable(tmp_path):
    import subprocess
    import sys

    path = _opensignals(tmp_path / "live.h5", {"00:07:80:AA:00:01": 50})
    # a writer in another process holds HDF5's lock on the file, as OpenSignals does while it records
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import h5py, sys; f = h5py.File({str(path)!r}, 'a'); print('open', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(CorruptFileError, match="open for writing in another program") as caught:
            read_opensignals_h5(path)
        assert "not a readable HDF5" not in str(caught.value)
    finally:
        writer.communicate("", timeout=30)
