"""What an audit of the WAV and OpenSignals HDF5 readers, on tiny files written in their real layouts, found: a
big-endian (RIFX) WAV file failed with a KeyError on numpy's dtype, a path that does not exist was called a damaged
file to re-export, a multi-device OpenSignals file whose devices stopped a few samples apart failed in numpy's
stack, a companion ``_info.json`` whose "Signal Type" is a JSON list gave channels the types "['ECG'" and "'EMG']",
and one that is not JSON failed in the json module."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from citrus_hf.data.readers import read_recording


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
