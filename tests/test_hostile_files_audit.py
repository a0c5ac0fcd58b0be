"""What an audit of hostile and malformed inputs found: a .npy of a few hundred bytes that filled memory, headers
that declared more than their files hold, a WAV that divided by zero, a named pipe that blocked forever, checkpoint
configs of the wrong type or of inflated sizes, and class maps keyed by names. (The PhysioNet manifest that wrote
outside the data folder is in tests/test_data_fetch.py.)"""

from __future__ import annotations

import json
import os
import pickle
import struct
import threading

import numpy as np
import pytest
from tiny_configs import save_tiny_classifier

from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording


def _npy(path, header: str, payload: bytes) -> None:
    """A version 1.0 .npy file with the header `header` (a dict literal) and `payload` after it."""
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + payload)


def test_a_pickled_payload_referring_to_more_values_than_it_holds_is_refused(tmp_path):
    """An object .npy whose pickle nests lists, each ten references to the one below: 351 bytes made 10^10 values, and
    `np.asarray` grew until memory ran out."""
    nested = [0.5] * 10
    for _ in range(4):  # 10^5 values (so that a regression does not exhaust the machine), refused as 10^10 are
        nested = [nested] * 10
    _npy(tmp_path / "bomb.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", pickle.dumps(nested, 2))
    with pytest.raises(CorruptFileError, match="refers to more values than it holds"):
        read_recording(tmp_path / "bomb.npy", sampling_rate=100)
    # an object array as np.save writes it (a recording of two channels of other lengths kept apart) still loads
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.zeros(5), np.ones(3)]
    np.save(tmp_path / "ragged.npy", ragged, allow_pickle=True)
    from citrus_hf.data.readers.pickles import load_npy

    assert [len(channel) for channel in load_npy(tmp_path / "ragged.npy")] == [5, 3]


def test_a_npy_header_declaring_more_than_the_file_holds_is_a_damaged_file(tmp_path):
    """A flipped digit in the header (10^12 samples in a 64-byte file): numpy's MemoryError, which `citrus predict`
    did not take for a damaged file, ended a run over many files."""
    _npy(tmp_path / "huge.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1000000000000), }", bytes(64))
    with pytest.raises(CorruptFileError, match=r"declares shape \(1, 1000000000000\).*holds 64 bytes"):
        read_recording(tmp_path / "huge.npy", sampling_rate=100)


@pytest.mark.parametrize("channels, block_align, rate", [(0, 2, 8000), (1, 0, 8000), (1, 2, 0)])
def test_a_wav_format_chunk_of_zeros_is_a_damaged_file(tmp_path, channels, block_align, rate):
    """0 channels or a block size of 0 raised scipy's ZeroDivisionError; a rate of 0 was read as a recording of
    infinite duration."""
    samples = np.arange(100, dtype="<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2, block_align, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples)) + samples
    (tmp_path / "damaged.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(CorruptFileError, match="damaged.wav"):
        read_recording(tmp_path / "damaged.wav")


def test_a_named_pipe_or_a_device_is_refused_before_it_is_read(tmp_path, capsys):
    """A named pipe given as a recording blocked the read forever; a link to /dev/zero read until memory ran out."""
    os.mkfifo(tmp_path / "live.csv")
    os.symlink("/dev/null", tmp_path / "stream.csv")  # (a device that ends: a regression fails, not hangs, here)
    # a writer that comes and goes every few seconds, so that a read that blocks on the pipe ends (with another error)
    done = threading.Event()
    threading.Thread(target=_open_and_close, args=(tmp_path / "live.csv", done), daemon=True).start()
    for name, what in (("live.csv", "a named pipe"), ("stream.csv", "a device")):
        with pytest.raises(ValueError, match=f"is {what}, not a file"):
            read_recording(tmp_path / name, sampling_rate=100)
        assert main(["predict", "citrus-small", str(tmp_path / name), "--sampling-rate", "100"]) == 2
        assert "is not a file" in capsys.readouterr().err
    done.set()


def _open_and_close(fifo, done: threading.Event) -> None:
    """Every 5 s until `done`: open the named pipe `fifo` for writing and close it at once (a reader blocked on it
    reads its end)."""
    while not done.wait(5):
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # no reader: nothing blocks
            pass


def test_a_csv_of_one_row_is_not_read_as_thousands_of_channels(tmp_path):
    np.savetxt(tmp_path / "row.csv", np.arange(2000.0)[None], delimiter=",")
    with pytest.raises(ValueError, match="holds one row of 2000 values; a CSV recording is a column per channel"):
        read_recording(tmp_path / "row.csv", sampling_rate=100)


@pytest.fixture
def classifier(tmp_path):
    folder = save_tiny_classifier(tmp_path / "classifier")
    np.save(tmp_path / "rec.npy", np.random.default_rng(0).standard_normal((1, 1000)).astype(np.float32))
    return folder


def _edit(path, **values) -> None:
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, **values}))


@pytest.mark.parametrize(
    "file, values, said",
    [
        ("config.json", {"patch_length": "10"}, "`patch_length` must be an integer, got '10'"),
        ("preprocessor_config.json", {"context_length": "1000"}, "`context_length` must be an integer"),
        ("preprocessor_config.json", {"channel_names": 5}, "`channel_names` must be a list of names"),
    ],
)
def test_a_checkpoint_value_of_the_wrong_type_is_one_line_naming_the_checkpoint(
    classifier, tmp_path, capsys, file, values, said
):
    """`"patch_length": "10"` in a hand-edited config.json: `citrus predict` and `citrus export` printed the config's
    TypeError with a traceback, as a bug; `"channel_names": 5` gave a bare `len()` error."""
    _edit(classifier / file, **values)
    assert main(["predict", str(classifier), str(tmp_path / "rec.npy"), "--sampling-rate", "100"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: citrus predict: ") and "wrong type" in error and said in error
    assert error.count("\n") == 1


# (sizes that build 30 to 70 million values: refused as 10**7 is, and a regression would not exhaust the machine)
@pytest.mark.parametrize("name, value", [("ffn_dim", 10**6), ("d_model", 4096), ("cnn_channels", 4000)])
def test_inflated_sizes_in_config_json_are_refused_before_the_model_is_built(classifier, name, value):
    """`ffn_dim` 10^7 (or `d_model`, `cnn_channels`) in config.json built 5 to 40 GB of layers before any weight was
    compared with them; the same check existed for `num_hidden_layers` only."""
    saved = json.loads((classifier / "config.json").read_text())
    _edit(classifier / "config.json", **{name: [*saved[name][:-1], value] if name == "cnn_channels" else value})
    with pytest.raises(ValueError, match=f"describes a model of at least [0-9,]+ values .*{name}=.* weights hold"):
        CiTrusForSequenceClassification.from_pretrained(classifier)


def test_an_id2label_keyed_by_names_says_what_it_is():
    with pytest.raises(ValueError, match=r"`id2label` maps class ids .* keys \['wake', 'sleep'\] are not ids"):
        CiTrusConfig(id2label={"wake": "0", "sleep": "1"})
    assert CiTrusConfig(id2label={"0": "wake", "1": "sleep"}).id2label == {0: "wake", 1: "sleep"}
