"""Audit 79, leftovers: a BIDS dataset whose subject folders are symlinks has its events tables found; a ragged list
is refused by the extractor naming the recording (guard); integer batches are checked as one; `citrus predict` leaves
out an unreadable file naming the fix; the channel statistics' batches are sized by the longest row; the ONNX cache
error keeps the failed write's errno."""

from __future__ import annotations

import builtins
import errno
import logging
import os
import shutil

import numpy as np
import pytest
from test_bids_audit73 import _bids
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor
from citrus_hf.data.recording_folders import load_recording_folder


# ------------------------------------------------------------- 1. a BIDS dataset of symlinked subject folders
def test_a_bids_dataset_of_symlinked_subjects_is_read_by_its_events(tmp_path, own_datasets_cache, caplog):
    """Subject folders linked in (``sub-01 -> /shared/sub-01``, as datalad and shared storage lay a dataset out):
    `Path.rglob` does not follow them, so the dataset was said to have "no events tables" and to be read as "an
    unlabelled pile" while its events labelled it; the events tables are now found through the one listing that
    follows links (`listings.files_under`)."""
    from citrus_hf.data.bids import holds_events

    _bids(tmp_path / "bids")
    for subject in ("01", "02", "03"):
        shutil.move(tmp_path / "bids" / f"sub-{subject}", tmp_path / f"shared-{subject}")
        (tmp_path / "bids" / f"sub-{subject}").symlink_to(tmp_path / f"shared-{subject}")
    assert holds_events(tmp_path / "bids")
    caplog.set_level(logging.WARNING)
    loaded = load_recording_folder(tmp_path / "bids")
    assert len(loaded["train"]) == 9 and set(loaded["train"]["label"]) == {"left", "right"}
    assert "no events tables" not in caplog.text and "unlabelled pile" not in caplog.text


# ------------------------------------------------------------- 2. a ragged list given to the extractor
@pytest.mark.parametrize(
    ("recordings", "said"),
    [
        ([1.0, np.zeros(100)], r"^recording 0 has 0 dimensions \(shape \(\)\); each recording in a list must be"),
        ([np.zeros(100), np.zeros((1, 1, 100))], r"^recording 1 has 3 dimensions \(shape \(1, 1, 100\)\)"),
    ],
    ids=["scalar-beside-an-array", "arrays-of-other-ndim"],
)
def test_a_ragged_list_is_refused_naming_the_recording(recordings, said):
    """Guard (passes before this session too: mended earlier): a scalar beside an array, or arrays of different
    ndim, are refused by the extractor naming the recording and the shapes it takes, not by numpy's "inhomogeneous
    shape"."""
    with pytest.raises(ValueError, match=said):
        CiTrusFeatureExtractor.from_config(tiny_config())(recordings, sampling_rate=100)


# ------------------------------------------------------------- 3. integer batches checked as one array
@pytest.mark.parametrize("normalization", ["zscore", "none"])
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint16"])
def test_integer_recordings_of_one_shape_are_checked_as_one_batch(dtype, normalization, monkeypatch):
    """int16 beats straight from a file went through the per-recording check one at a time (10,000 beats of 200
    samples: 1.0 s against 0.23 s as floats); they are now checked as one batch, a 3-D array or a list of them alike,
    each output bit for bit what the recording gives alone. Counts beyond float32's exact integers (2^24) without
    z-scoring keep the per-recording path, each recording float32 or float64 by its own counts."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(), normalization=normalization)
    info = np.iinfo(dtype)
    counts = np.random.default_rng(0).integers(info.min, info.max, size=(4, 1, 450), dtype=dtype, endpoint=True)
    alone = [extractor(row, sampling_rate=150)["input_values"] for row in counts]
    checked_alone = []
    check_recording = CiTrusFeatureExtractor._check_recording
    monkeypatch.setattr(
        CiTrusFeatureExtractor,
        "_check_recording",
        lambda self, recording, index, *args, **kwargs: (
            checked_alone.append(index) or check_recording(self, recording, index, *args, **kwargs)
        ),
    )
    for batch in (counts, list(counts)):
        values = extractor(batch, sampling_rate=150)["input_values"]
        per_window = len(values) // len(counts)
        for index, own in enumerate(alone):
            window = values[index * per_window : (index + 1) * per_window]
            assert window.dtype == own.dtype and window.tobytes() == own.tobytes()
    beyond_float32 = normalization == "none" and info.max > 2**24
    assert checked_alone == ([0, 1, 2, 3] * 2 if beyond_float32 else [])


# ------------------------------------------------------------- 4. citrus predict over a folder with an unreadable file
def _unreadable(monkeypatch, *paths) -> None:
    """`paths` made unreadable: chmod 000, and where that does not stop this user (root reads any file, and the tests
    run as root in containers) their opening refused as the kernel refuses it, PermissionError EACCES."""
    blocked = {os.path.realpath(path) for path in paths}
    for path in paths:
        os.chmod(path, 0)
    if not os.access(paths[0], os.R_OK):
        return
    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) in blocked:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)


def test_citrus_predict_leaves_out_an_unreadable_file_naming_it_and_the_fix(edf_path, tmp_path, monkeypatch, capsys):
    """An EDF or CSV file without read permission among a folder's recordings stopped `citrus predict` with Python's
    PermissionError (the EDF already while the folder was listed, its header read), and an unreadable .npy was "not a
    valid .npy file"; each is now left out as a damaged file is, named with the fix, and the others are scored."""
    from test_predict_command import _save

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.commands.main import main

    model = _save(CiTrusForSequenceClassification, tmp_path / "model", num_labels=2)
    folder = tmp_path / "recordings"
    folder.mkdir()
    signal = np.random.default_rng(0).normal(size=(1, 400)).astype(np.float32)
    np.save(folder / "b_readable.npy", signal)
    np.save(folder / "c_unreadable.npy", signal)
    np.savetxt(folder / "d_unreadable.csv", signal.T, delimiter=",", header="x", comments="")
    shutil.copy(edf_path, folder / "a_unreadable.edf")
    _unreadable(monkeypatch, *(folder / name for name in ("a_unreadable.edf", "c_unreadable.npy", "d_unreadable.csv")))
    argv = ["predict", model, str(folder), "--sampling-rate", "100", "--backend", "torch", "--channels", "0"]
    assert main(argv) == 2
    said = capsys.readouterr()
    assert said.out.count("b_readable.npy: LABEL_") == 1
    for name in ("a_unreadable.edf", "c_unreadable.npy", "d_unreadable.csv"):
        assert (
            f"left out: {folder / name} cannot be read (Permission denied): give your user read permission" in said.err
        )
    assert "3 of 4 recording(s) could not be read" in said.err and "Traceback" not in said.err


# ------------------------------------------------------------- 5. the statistics' batches sized by the longest row
def test_channel_statistics_batches_are_sized_by_the_longest_row_not_the_first(monkeypatch):
    """A short first row (10 samples) before long ones (500) sized every batch from the first: 100 rows a batch where
    the budget holds 2, each decoded whole before its rows were split apart. Now no slice decoded holds more than the
    budget's samples (or one row), and the statistics are those of the rows."""
    import datasets

    from citrus_hf.data import alignment

    monkeypatch.setattr(alignment, "_STATISTICS_BATCH_SAMPLES", 1000)
    rng = np.random.default_rng(0)
    rows = [rng.normal(size=(1, 10))] + [rng.normal(size=(1, 500)) * (1 + index) for index in range(20)]
    dataset = datasets.Dataset.from_dict({"input_values": [row.tolist() for row in rows]})
    decoded: list[int] = []
    getitem = datasets.Dataset.__getitem__

    def counted(self, key):
        if isinstance(key, slice):
            decoded.append(sum(rows[index].size for index in range(*key.indices(len(self)))))
        return getitem(self, key)

    monkeypatch.setattr(datasets.Dataset, "__getitem__", counted)
    mean, std = alignment.channel_statistics(dataset)
    assert decoded and max(decoded) <= 1000
    samples = np.concatenate([row[0] for row in rows])
    np.testing.assert_allclose([mean[0], std[0]], [samples.mean(), samples.std()], rtol=1e-12)


# ------------------------------------------------------------- 8. the ONNX cache error keeps the write's errno
def test_the_onnx_cache_write_error_keeps_the_errno_of_the_failed_write(tmp_path, monkeypatch):
    """`OnnxCacheWriteError` is an OSError built from its message alone: its `errno` and `strerror` were None, so a
    caller telling a full disk by `error.errno == errno.ENOSPC` (as for any OSError) never saw one. They are now the
    failed write's, the folder its `filename`, through pickling too, and its message is the advice as before."""
    import pickle

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.inference import backends

    if backends.onnx_export_available() is not None:
        pytest.skip("needs citrus-hf[onnx]")
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backends, "export_onnx", full_disk)
    with pytest.raises(backends.OnnxCacheWriteError) as raised:
        backends.load_backend(model, "onnxruntime", cache_dir=tmp_path / "cache")
    for error in (raised.value, pickle.loads(pickle.dumps(raised.value))):
        assert (error.errno, error.strerror, error.filename) == (
            errno.ENOSPC,
            "No space left on device",
            str(tmp_path / "cache"),
        )
        assert str(error).startswith("The ONNX export could not be written to the cache folder")
        assert "free space on its disk" in str(error)
