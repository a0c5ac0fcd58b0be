"""Missing samples in the plain Python containers that tables hand over (an audit: each test failed before its fix).
`series.tolist()` of a nullable pandas column (`Float64`, `Int16`) holds `pd.NA` where a value is missing, and a
JSON array or `masked_array.tolist()` holds None; the feature extractor and the pipelines read a flat list of samples
with such gaps as one recording with missing samples, as they read NaN."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
import torch

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusModel
from citrus_hf.inference import pipelines
from citrus_hf.inference.pipelines import BioSignalFeatureExtractionPipeline

RATE = 100.0
SIGNAL = np.sin(np.arange(400) / 7.0) + np.random.default_rng(0).normal(scale=0.1, size=400)
MISSING = [None, pd.NA]


# a tiny contract: 2 s windows at 100 Hz, any channel count
CONFIG = CiTrusConfig(
    d_model=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    sampling_rate=RATE,
    context_length=200,
    patch_length=10,
    channel_pooling="mean",
)


@pytest.fixture(scope="module")
def extractor():
    return CiTrusFeatureExtractor.from_config(CONFIG)


@pytest.fixture(scope="module")
def pipe(extractor):
    torch.manual_seed(0)
    model = CiTrusModel(CONFIG).eval()
    return BioSignalFeatureExtractionPipeline(model=model, feature_extractor=extractor, backend="torch")


def _with_gap(missing) -> list:
    samples = SIGNAL.tolist()
    samples[7] = missing
    return samples


def _interpolated(extractor) -> np.ndarray:
    with_nan = SIGNAL.copy()
    with_nan[7] = np.nan
    return extractor(with_nan, sampling_rate=RATE, nan_policy="interpolate", return_tensors="np")["input_values"]


@pytest.mark.parametrize("missing", MISSING, ids=["None", "pd.NA"])
def test_the_extractor_reads_a_gap_in_a_flat_list_as_a_missing_sample(extractor, missing):
    """A None or pd.NA in a flat list of samples made it a list of 400 recordings of one number each, refused as
    "recording 0 has 0 dimensions"; it is one recording whose gap `nan_policy` decides about, as a NaN's."""
    samples = _with_gap(missing)
    with pytest.raises(ValueError, match=r"^recording 0 contains 1 NaN values; .*nan_policy='interpolate'"):
        extractor(samples, sampling_rate=RATE, return_tensors="np")
    filled = extractor(samples, sampling_rate=RATE, nan_policy="interpolate", return_tensors="np")["input_values"]
    np.testing.assert_allclose(filled, _interpolated(extractor))


def test_the_extractor_reads_a_nullable_object_series_as_one_recording(extractor):
    """An object Series of numbers with a None (a column read from JSON) was a column of 400 one-number recordings."""
    series = pd.Series(_with_gap(None), dtype=object)
    filled = extractor(series, sampling_rate=RATE, nan_policy="interpolate", return_tensors="np")["input_values"]
    np.testing.assert_allclose(filled, _interpolated(extractor))


def test_a_list_of_nothing_but_gaps_is_still_refused(extractor):
    """Gaps alone are no recording: the list is refused as before (no samples to read)."""
    with pytest.raises((TypeError, ValueError)):
        extractor([None, None, None], sampling_rate=RATE, return_tensors="np")


@pytest.mark.parametrize("missing", MISSING, ids=["None", "pd.NA"])
def test_the_pipeline_reads_a_gap_in_a_flat_list_as_a_missing_sample(pipe, missing):
    """The pipeline read a None as a missing sample but a pd.NA (`df["ecg"].tolist()` of a nullable column) made the
    list 400 recordings, refused as "got float64"; both are gaps now, alone or as a dict's "raw"."""
    samples = _with_gap(missing)
    with pytest.raises(ValueError, match=r"holds None or pd\.NA \(a missing value\) at 1 position\(s\): 7\."):
        pipe(samples, sampling_rate=RATE)
    with_nan = SIGNAL.copy()
    with_nan[7] = np.nan
    expected = pipe(with_nan, sampling_rate=RATE, nan_policy="interpolate")["embedding"]
    assert pipe(samples, sampling_rate=RATE, nan_policy="interpolate")["embedding"] == pytest.approx(expected)
    as_dict = {"raw": samples, "sampling_rate": RATE}
    assert pipe(as_dict, nan_policy="interpolate")["embedding"] == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, pd.NA, np.nan, 1.0, 0, "NA", np.ma.masked, pd.NaT])
def test_the_pipelines_spell_out_the_extractors_missing_sample(value):
    """`inference/pipelines.py` travels as remote code and spells `is_missing_sample` out; they must agree."""
    from citrus_hf.feature_extraction_citrus import is_missing_sample

    assert pipelines._is_missing_sample(value) == is_missing_sample(value)


def test_the_extractor_names_the_fix_for_a_generator(extractor):
    """A generator of recordings was refused as "got generator", naming no way out (the pipelines stream one)."""
    with pytest.raises(TypeError, match=r"got generator.*list\(\.\.\.\)"):
        extractor((row for row in [SIGNAL, SIGNAL]), sampling_rate=RATE, return_tensors="np")


# ------------------------------------------------------- a CSV that pandas wrote with its DatetimeIndex / TimedeltaIndex


def _frame(index) -> pd.DataFrame:
    samples = np.stack([SIGNAL, -SIGNAL], axis=1)  # (time, channels), as a frame holds them
    return pd.DataFrame(samples, columns=["ECG", "PPG"], index=index)


@pytest.mark.parametrize("name", [None, "time"])
@pytest.mark.parametrize(
    "kind", ["datetime", "datetime_utc", "timedelta"], ids=["DatetimeIndex", "DatetimeIndex[UTC]", "TimedeltaIndex"]
)
def test_a_csv_of_a_frame_indexed_by_clock_time_is_read_without_its_index(tmp_path, kind, name):
    """`df.to_csv(path)` of a frame indexed by time (its index written, pandas' default) was refused as "not a numeric
    CSV file (could not convert string '2024-01-01 00:00:00.000')", though pandas' index column is documented as no
    channel: the index is read as time stamps, checked against the rate, and left out of the channels."""
    from citrus_hf.data.readers.files import read_recording

    step = pd.Timedelta(milliseconds=10)
    index = {
        "datetime": pd.date_range("2024-03-01 08:00", periods=len(SIGNAL), freq=step),
        "datetime_utc": pd.date_range("2024-03-01 08:00", periods=len(SIGNAL), freq=step, tz="UTC"),
        "timedelta": pd.timedelta_range(0, periods=len(SIGNAL), freq=step),
    }[kind]
    path = tmp_path / "frame.csv"
    _frame(index.rename(name)).to_csv(path)
    recording = read_recording(path, sampling_rate=RATE)
    assert recording.channel_names == ["ECG", "PPG"]
    np.testing.assert_allclose(recording.data, np.stack([SIGNAL, -SIGNAL]))
    expected_start = datetime.datetime(2024, 3, 1, 8, tzinfo=datetime.timezone.utc) if kind == "datetime_utc" else None
    assert recording.start == expected_start
    from citrus_hf.data.errors import SamplingRateError

    with pytest.raises(SamplingRateError, match=r"steps 0\.01 s between samples \(100 Hz\)"):
        read_recording(path, sampling_rate=250.0)


def test_a_column_of_clock_times_under_another_name_is_refused_with_the_fix(tmp_path):
    """A date-time column named as no time column is no channel: refused, naming the fix, rather than scored."""
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers.files import read_recording

    path = tmp_path / "frame.csv"
    index = pd.date_range("2024-03-01 08:00", periods=len(SIGNAL), freq=pd.Timedelta(milliseconds=10), name="date")
    _frame(index).to_csv(path)
    with pytest.raises(CorruptFileError, match=r"column 'date' holds clock times .*name it 'time'"):
        read_recording(path, sampling_rate=RATE)


# ------------------------------------------------------------------------ missing values in a CSV, as pandas writes them


@pytest.mark.parametrize("na_rep", ["", "NA", "N/A", "NULL"])
def test_a_csv_of_a_frame_with_gaps_reads_them_as_missing_samples(tmp_path, na_rep):
    """`df.to_csv()` writes a missing value as an empty cell (R's `write.csv` as NA): the file was refused as "not a
    numeric CSV file (could not convert string '')", naming no fix, while a "NaN" cell read as a missing sample. Each
    is a missing sample (NaN), which `nan_policy` decides about."""
    from citrus_hf.data.readers.files import read_recording

    frame = _frame(None)
    frame.iloc[[5, 9], 0] = np.nan
    path = tmp_path / "gaps.csv"
    frame.to_csv(path, index=False, na_rep=na_rep)
    recording = read_recording(path, sampling_rate=RATE)
    expected = np.stack([SIGNAL, -SIGNAL])
    expected[0, [5, 9]] = np.nan
    np.testing.assert_allclose(recording.data, expected)


def test_a_csv_cell_that_is_no_number_nor_a_gap_is_still_refused(tmp_path):
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers.files import read_recording

    path = tmp_path / "bad.csv"
    path.write_text("ECG,PPG\n1,2\n,3\nx,4\n")
    with pytest.raises(CorruptFileError, match=r"could not convert string 'x'"):
        read_recording(path, sampling_rate=RATE)


def test_gaps_beside_a_clock_index_and_a_trailing_delimiter(tmp_path):
    """The gaps are read where other columns have converters of their own: a clock index, a logger's delimiter at
    every line's end."""
    from citrus_hf.data.readers.files import read_recording

    frame = _frame(pd.timedelta_range(0, periods=len(SIGNAL), freq=pd.Timedelta(milliseconds=10)))
    frame.iloc[5, 1] = np.nan
    path = tmp_path / "clock.csv"
    frame.to_csv(path)
    recording = read_recording(path, sampling_rate=RATE)
    assert np.isnan(recording.data[1, 5]) and np.isfinite(np.delete(recording.data, 5, axis=1)).all()
    lines = ["ECG;PPG;"] + [
        f"{a:.6f};{'' if row == 3 else f'{b:.6f}'};" for row, (a, b) in enumerate(zip(SIGNAL, -SIGNAL))
    ]
    (tmp_path / "logger.csv").write_text("\n".join(lines) + "\n")
    recording = read_recording(tmp_path / "logger.csv", sampling_rate=RATE)
    assert recording.data.shape == (2, len(SIGNAL)) and np.isnan(recording.data[1, 3])


@pytest.mark.parametrize("missing", MISSING, ids=["None", "pd.NA"])
@pytest.mark.parametrize("layout", ["list of recordings", "channels"])
def test_a_gap_in_a_recording_of_a_list_is_a_missing_sample(extractor, missing, layout):
    """A recording of a list (or a `(channels, time)` nested list) with a None or pd.NA was refused as "dtype object
    (ragged or mixed)"; its gaps are missing samples, as in a flat list."""
    samples = _with_gap(missing)
    given = [samples, SIGNAL.tolist()] if layout == "list of recordings" else [[samples]]
    filled = extractor(given, sampling_rate=RATE, nan_policy="interpolate", return_tensors="np")["input_values"]
    np.testing.assert_allclose(filled[:1], _interpolated(extractor))


def test_a_nullable_frames_array_reads_its_gaps_as_missing_samples(extractor, pipe):
    """`frame.to_numpy()` of nullable columns (`Float64`) is an object array holding pd.NA where a value is missing:
    it was refused as "dtype object (ragged or mixed)"; transposed to `(channels, time)` it is a recording with gaps."""
    frame = _frame(None).astype("Float64")
    frame.iloc[7, 0] = pd.NA
    recording = frame.to_numpy().T  # (2, time), dtype object
    assert recording.dtype == object
    as_floats = frame.to_numpy(dtype=float, na_value=np.nan).T
    kwargs = {"sampling_rate": RATE, "nan_policy": "interpolate"}
    np.testing.assert_allclose(
        extractor(recording, return_tensors="np", **kwargs)["input_values"],
        extractor(as_floats, return_tensors="np", **kwargs)["input_values"],
    )
    assert pipe(recording, **kwargs)["embedding"] == pytest.approx(pipe(as_floats, **kwargs)["embedding"])


def test_the_pipelines_spell_out_the_extractors_gap_filling():
    """`inference/pipelines.py` spells `_gaps_as_nan` out as remote code; they must agree."""
    from citrus_hf.feature_extraction_citrus import _gaps_as_nan

    nested = [[1.0, None, pd.NA], (2, np.nan, "x")]
    assert repr(pipelines._gaps_as_nan(nested)) == repr(_gaps_as_nan(nested))


@pytest.mark.parametrize("missing", MISSING, ids=["None", "pd.NA"])
def test_the_pipeline_reads_a_gap_in_a_recording_of_a_list(pipe, missing):
    """A `(channels, time)` nested list (alone or in a list) with a pd.NA was refused as not "rectangular lists of
    numbers"; its gaps are missing samples."""
    with_nan = SIGNAL.copy()
    with_nan[7] = np.nan
    expected = pipe(with_nan, sampling_rate=RATE, nan_policy="interpolate")["embedding"]
    results = pipe([[_with_gap(missing)], SIGNAL], sampling_rate=RATE, nan_policy="interpolate")
    assert results[0]["embedding"] == pytest.approx(expected)
