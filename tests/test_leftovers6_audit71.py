"""The sixth leftovers audit of round 71 (audit71_leftovers6): what this round's helpers found and left.

* an ARFF example whose channel holds more values than the declared time steps lost the extra values silently (scipy
  reads as many as the header declares);
* a WAV file written as a stream (ffmpeg to a pipe), whose RIFF and data sizes say "unknown" (0xFFFFFFFF, or 0), was
  refused as truncated, though every sample is there;
* a missing .npy file or WFDB header was refused as a damaged file, where a missing .edf / .csv / .wav is a
  FileNotFoundError;
* one rate per channel, all alike (`sampling_rate=[100, 100]` for one 2-channel recording), was told to "resample
  them to one rate first": still refused (an array's rows may be recordings), now naming the one rate to give.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_uea_arff
from citrus_hf.data.readers.files import read_recording, read_wav
from citrus_hf.data.readers.pickles import load_npy

# ------------------------------------------------------------------------- a. ARFF channels longer than declared


def _arff(path, row: str, steps: int = 3):
    attributes = "".join(f"  @attribute t{index} numeric\n" for index in range(steps))
    path.write_text(
        f"@relation X\n@attribute rel relational\n{attributes}@end rel\n@attribute class {{a,b}}\n@data\n{row}"
    )
    return path


@pytest.mark.parametrize(
    "rows, example, channel, held",
    [
        ("'1,2,3,4\\n4,5,6',a\n", 1, 1, 4),  # the first channel longer: scipy kept 1,2,3
        ("'1,2,3\\n4,5,6',a\n% a comment\n\n'1,2,3\\n4,5,6,7,8',b\n", 2, 2, 5),
        ("'1, 2, 3\\n4,5,6',a\n'1,2,?,9\\n4,5,6',b\n", 2, 1, 4),
    ],
)
def test_arff_channel_longer_than_declared_is_refused(tmp_path, rows, example, channel, held):
    path = _arff(tmp_path / "long.arff", rows)
    with pytest.raises(CorruptFileError, match=f"example {example}'s channel {channel} holds {held} values") as caught:
        read_uea_arff(path)
    assert "3 time steps" in str(caught.value) and "long.arff" in str(caught.value)


def test_arff_channels_of_the_declared_length_still_read(tmp_path):
    path = _arff(tmp_path / "ok.arff", "'1,2,3,\\n4,5,6',a\n'?,2,3\\n4,5,6',b\n")  # (a trailing comma: no value)
    values, labels, classes = read_uea_arff(path)
    assert values.shape == (2, 2, 3) and labels == ["a", "b"] and classes == ["a", "b"]


# ------------------------------------------------------------------------- b. WAV written as a stream


def _wav(samples: np.ndarray, riff_size: int | None = None, data_size: int | None = None, tail: bytes = b"") -> bytes:
    data = samples.astype("<i2").tobytes() + tail
    fmt = struct.pack("<HHIIHH", 1, 1, 100, 200, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data"
    body += struct.pack("<I", len(data) if data_size is None else data_size) + data
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


SAMPLES = np.array([16384, -16384, 1, 2, 8192])


@pytest.mark.parametrize("unknown", [0xFFFFFFFF, 0])
def test_streamed_wav_reads_every_sample(tmp_path, unknown):
    expected = SAMPLES / 32768
    path = tmp_path / "streamed.wav"
    path.write_bytes(_wav(SAMPLES, riff_size=unknown, data_size=unknown))
    np.testing.assert_allclose(read_wav(path).data[0], expected)
    np.testing.assert_allclose(read_recording(path).data[0], expected)
    # only the data size unknown, and a stream cut inside a sample (its last, partial sample dropped, as ffmpeg does)
    # (a data size of 0 where the RIFF size accounts for every byte is an empty chunk: the next test)
    if unknown:
        path.write_bytes(_wav(SAMPLES, data_size=unknown, tail=b"\x01"))
        np.testing.assert_allclose(read_wav(path).data[0], expected)


def test_an_empty_data_chunk_followed_by_another_chunk_is_not_read_as_samples(tmp_path):
    """A data size of 0 in a file whose RIFF size counts every byte: the chunk after it (LIST) is no sample."""
    path = tmp_path / "empty.wav"
    listing = b"LIST" + struct.pack("<I", 4) + b"INFO"
    content = _wav(SAMPLES[:0], tail=listing)
    content = content[:40] + struct.pack("<I", 0) + content[44:]  # the data chunk's size: 0, the LIST after it
    path.write_bytes(content)
    with pytest.raises(CorruptFileError, match="holds no samples"):
        read_wav(path)


def test_streamed_wav_bytes_read_as_a_file_object(tmp_path):
    import io

    handle = io.BytesIO(_wav(SAMPLES, riff_size=0xFFFFFFFF, data_size=0xFFFFFFFF))
    recording = read_wav(handle, name="row 3")
    np.testing.assert_allclose(recording.data[0], SAMPLES / 32768)


def test_wav_still_refused_when_cut_or_empty(tmp_path):
    path = tmp_path / "cut.wav"
    content = _wav(SAMPLES)
    path.write_bytes(content[:-4])  # a declared size larger than what is there: an interrupted copy
    with pytest.raises(CorruptFileError, match="is truncated"):
        read_wav(path)
    path.write_bytes(_wav(SAMPLES[:0], riff_size=0xFFFFFFFF, data_size=0xFFFFFFFF))
    with pytest.raises(CorruptFileError, match="holds no samples"):
        read_wav(path)


# ------------------------------------------------------------------------- c. a missing file is not a damaged one


@pytest.mark.parametrize("name", ["gone.npy", "gone.hea"])
def test_missing_recording_is_file_not_found(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(FileNotFoundError, match="gone.* does not exist; check the path"):
        read_recording(path, sampling_rate=100 if name.endswith(".npy") else None)
    if name.endswith(".npy"):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            load_npy(path)


# ------------------------------------------------------------------------- d. per-channel rates all alike


def test_per_channel_rates_all_alike_name_the_one_rate():
    from tiny_configs import tiny_config
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    config = tiny_config(num_channels=2)
    extractor = CiTrusFeatureExtractor.from_config(config)
    recording = np.random.default_rng(0).standard_normal((2, 400))
    told = r"must share one rate; these share 100 Hz: give the recording that one rate, `sampling_rate=100`"
    with pytest.raises(ValueError, match=told) as caught:
        extractor(recording, sampling_rate=[100, 100])
    assert "resample" not in str(caught.value)
    classify = pipeline(
        "time-series-classification", model=CiTrusForSequenceClassification(config), feature_extractor=extractor
    )
    for call in (
        lambda: classify([recording], sampling_rate=[100, 100]),
        lambda: classify({"raw": recording, "sampling_rate": [100, 100]}),
    ):
        with pytest.raises(ValueError, match=told) as caught:
            call()
        assert "resample" not in str(caught.value)
    with pytest.raises(ValueError, match="resample them to one rate first"):  # rates that differ keep that advice
        extractor(recording, sampling_rate=[100, 50])
