"""Objects of the Python ecosystem handed straight to citrus_hf (ecosystem audit 64, findings 1-6): a pandas column
or object array of recordings scored as one recording by the pipeline and refused by the extractor, a pandas column
of rates, MNE's `(data, times)` pair, a recording in volts for a checkpoint whose fixed statistics are in microvolts,
masked / reversed / big-endian windows for `predict_windows`, and MNE / wfdb / pyarrow objects refused without a fix.

Tiny models (100 Hz, 2 s windows of 10 patches) on the torch backend; MNE, wfdb and pyarrow objects are stood in for
by classes of their module and base names (what the package checks), so none of them is imported.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import pipeline
from transformers.utils import logging as hf_logging

from citrus_hf import CiTrusModel
from citrus_hf import feature_extraction_citrus as extraction
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference import pipelines
from citrus_hf.inference.backends import predict_windows

RATE = 100.0
RNG = np.random.default_rng(0)
LONG = RNG.standard_normal(730).astype(np.float32)  # 7.3 s: three windows
SHORT = RNG.standard_normal(400).astype(np.float32)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    torch.manual_seed(0)
    return pipeline(model=save_tiny_classifier(tmp_path_factory.mktemp("tiny")), backend="torch")


def _objects(*recordings) -> np.ndarray:
    column = np.empty(len(recordings), dtype=object)
    for index, recording in enumerate(recordings):  # (`column[:] = ...` would broadcast arrays of one length)
        column[index] = recording
    return column


def _scores(results) -> list[float]:
    return [round(result["score"], 6) for result in results]


# ---------------------------------------------------------------------------------------- 1. columns of recordings


@pytest.mark.parametrize("kind", ["series", "object array"])
def test_a_column_of_recordings_gives_one_result_per_recording(pipe, kind):
    """A Series / object array of 2 recordings was scored as ONE recording of 2 samples: score 1.06, one window."""
    column = pd.Series([LONG, SHORT]) if kind == "series" else _objects(LONG, SHORT)
    expected = pipe([LONG, SHORT], sampling_rate=RATE)
    results = pipe(column, sampling_rate=RATE)
    assert isinstance(results, list) and _scores(results) == _scores(expected)
    assert [len(result["windows"]) for result in results] == [len(result["windows"]) for result in expected]


def test_a_pandas_formatted_column_of_multichannel_rows_gives_one_result_each(tmp_path):
    """datasets' pandas format hands a (channels, time) row as an object array of its channels."""
    from citrus_hf import CiTrusForSequenceClassification

    torch.manual_seed(0)
    config = tiny_config(num_labels=2, num_channels=2)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    two = pipeline(model=str(tmp_path), backend="torch")
    first, second = np.stack([LONG, LONG[::-1]]), np.stack([SHORT, -SHORT])
    column = pd.Series([_objects(*first), _objects(*second)])  # as `ds.with_format("pandas")["signal"]`
    assert _scores(two(column, sampling_rate=RATE)) == _scores(two([first, second], sampling_rate=RATE))
    features = two.feature_extractor(column, sampling_rate=RATE)["input_values"]
    assert np.allclose(features, two.feature_extractor([first, second], sampling_rate=RATE)["input_values"])


def test_a_column_where_one_recording_belongs_is_refused(pipe):
    """In a dict's "raw", a column of recordings of different lengths was scored as one (a score above 1)."""
    with pytest.raises(TypeError, match=r"list\(column\)"):
        pipe({"raw": _objects(LONG, SHORT), "sampling_rate": RATE})


# ------------------------------------------------------------------------------ 2. the unit of fixed statistics


def _fixed_extractor() -> CiTrusFeatureExtractor:
    # statistics of microvolts, as citrus_hf's EDF reader gives EEG
    config = tiny_config(
        num_channels=2, normalization="fixed", normalization_mean=[1.0, -2.0], normalization_std=[40.0, 60.0]
    )
    return CiTrusFeatureExtractor.from_config(config)


def _warnings_of(call) -> str:
    logging.Logger.warning_once.cache_clear()  # transformers says a notice once per process
    logger = hf_logging.get_logger("citrus_hf.feature_extraction_citrus")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        call()
    finally:
        logger.removeHandler(handler)
    return " ".join(record.getMessage() for record in records)


def test_volts_for_a_microvolt_checkpoint_are_named_and_left_as_they_are():
    """MNE's volts normalised by microvolt statistics reached the model as a flat line, silently."""
    extractor = _fixed_extractor()
    microvolts = RNG.standard_normal((2, 200)) * np.array([[40.0], [60.0]])
    said = _warnings_of(lambda: extractor(microvolts * 1e-6, sampling_rate=RATE))
    assert "1e-06 times" in said and "units='uV'" in said and "multiply by 1e+06" in said
    # said once per case, and the numbers are unchanged
    again = _warnings_of(lambda: [extractor(microvolts * 1e-6, sampling_rate=RATE) for _ in range(2)])
    assert again.count("likely in another unit") == 1
    values = extractor(microvolts * 1e-6, sampling_rate=RATE)["input_values"][0]
    expected = (microvolts * 1e-6 - np.array([[1.0], [-2.0]])) / np.array([[40.0], [60.0]])
    assert np.allclose(values, expected, atol=1e-6)
    # the other way round too, and nothing said of the training unit
    assert "1e+06 times" in _warnings_of(lambda: extractor(microvolts * 1e6, sampling_rate=RATE))
    assert _warnings_of(lambda: extractor(microvolts, sampling_rate=RATE)) == ""


# ----------------------------------------------------------------------------------- 3. MNE's (data, times) pair


def test_mnes_data_and_times_pair_is_refused_with_the_fix(pipe):
    """`raw[picks]` returns (data, times); the time axis was scored as a second recording."""
    data = LONG[None].astype(np.float64)
    times = np.arange(data.shape[1]) / RATE
    for call in (
        lambda: pipe((data, times), sampling_rate=RATE),
        lambda: pipe([(data, times)], sampling_rate=RATE),
        lambda: pipe.feature_extractor((data, times), sampling_rate=RATE),
    ):
        with pytest.raises(ValueError, match=r"raw\[picks\].*`raw.get_data\(picks\)`"):
            call()
    # two recordings of which the second is no time axis stay two recordings
    assert len(pipe((data, data[0, ::-1].copy()), sampling_rate=RATE)) == 2


# -------------------------------------------------------------------------------- 4. the extractor's pandas input


def test_the_extractor_takes_pandas_columns_of_recordings_and_rates():
    """A Series of recordings was refused as 'dtype object', a Series of rates as one bad rate."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    expected = extractor([LONG, SHORT], sampling_rate=[RATE, 50.0])["input_values"]
    table = pd.DataFrame({"signal": [LONG, SHORT], "fs": [RATE, 50.0]})
    assert np.array_equal(extractor(table["signal"], sampling_rate=[RATE, 50.0])["input_values"], expected)
    assert np.array_equal(extractor([LONG, SHORT], sampling_rate=table["fs"])["input_values"], expected)
    assert np.array_equal(extractor(table["signal"], sampling_rate=table["fs"])["input_values"], expected)
    windows = list(extractor.iter_windows(table["signal"], sampling_rate=table["fs"], return_tensors="np"))
    assert sum(len(batch["input_values"]) for batch in windows) > 2


def test_the_remote_code_pipelines_copy_reads_columns_as_the_extractor_does():
    """`inference/pipelines.py` travels as remote code and spells `_column_as_list` out; they must agree."""
    for value in (pd.Series([LONG, SHORT]), _objects(LONG, SHORT), pd.Series(LONG), LONG, [LONG]):
        ours, theirs = pipelines._column_as_list(value), extraction._column_as_list(value)
        assert type(ours) is type(theirs) and len(ours) == len(theirs)


# ----------------------------------------------------------------------------------- 5. predict_windows' arrays


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CiTrusModel(tiny_config()).eval()


def test_predict_windows_refuses_masked_samples(model):
    """torch dropped the mask: the masked samples were used as signal."""
    windows = RNG.standard_normal((2, 1, 200)).astype(np.float32)
    masked = np.ma.masked_array(windows, mask=np.zeros(windows.shape, bool))
    # nothing masked: the data itself
    plain = predict_windows(model, {"input_values": torch.from_numpy(windows)}, backend="torch")
    assert torch.equal(predict_windows(model, {"input_values": masked}, backend="torch"), plain)
    masked[0, 0, :100] = np.ma.masked
    with pytest.raises(ValueError, match=r"masked.*np\.ma\.filled\(recording, np\.nan\).*nan_policy"):
        predict_windows(model, {"input_values": masked}, backend="torch")


def test_predict_windows_takes_reversed_and_big_endian_arrays(model):
    """Refused as 'must be numeric windows of one length' (a patch mask: torch's bare error)."""
    windows = RNG.standard_normal((2, 1, 200)).astype(np.float32)
    mask = np.ones((2, 10), np.int64)
    mask[1, 7:] = 0
    expected = predict_windows(model, {"input_values": windows, "patch_mask": mask}, backend="torch")
    for features in (  # views of negative strides, `">f4"` / `">i8"` arrays (as read from a file), a list of windows
        {"input_values": windows[:, :, ::-1].copy()[:, :, ::-1], "patch_mask": mask[:, ::-1].copy()[:, ::-1]},
        {"input_values": windows.astype(">f4"), "patch_mask": mask.astype(">i8")},
        {"input_values": list(windows.astype(">f4")), "patch_mask": mask},
    ):
        assert torch.equal(predict_windows(model, features, backend="torch"), expected)


# ------------------------------------------------------------------------- 6. other libraries' objects, with a fix


def _stand_in(module: str, name: str, *bases: str):
    """An instance of a class named `name` of `module` with base classes named `bases`, as MNE's / wfdb's are."""
    parents = tuple(type(base, (), {"__module__": module}) for base in bases)
    return type(name, parents or (object,), {"__module__": module})()


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        (_stand_in("mne.io.array._array", "RawArray", "BaseRaw"), "raw.get_data(picks)"),
        (_stand_in("mne.epochs", "EpochsArray", "BaseEpochs"), "epochs.get_data(picks)"),
        (_stand_in("mne.evoked", "EvokedArray", "Evoked"), "evoked.get_data(picks)"),
        (_stand_in("wfdb.io.record", "Record", "BaseRecord"), "record.p_signal.T"),
        (_stand_in("pyarrow.lib", "ChunkedArray"), "column.to_numpy()"),
    ],
)
def test_objects_of_other_libraries_are_refused_with_the_fix(pipe, value, fix):
    """They were refused with 'expected a numpy array ... got RawArray', naming no fix."""
    for call in (
        lambda: pipe.feature_extractor(value, sampling_rate=RATE),
        lambda: pipe(value, sampling_rate=RATE),
        lambda: pipe([value], sampling_rate=RATE),
    ):
        with pytest.raises(TypeError) as caught:
            call()
        assert fix in str(caught.value) and type(value).__name__ in str(caught.value)
