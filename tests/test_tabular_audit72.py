"""Missing samples in the plain Python containers that tables hand over (an audit: each test failed before its fix).
`series.tolist()` of a nullable pandas column (`Float64`, `Int16`) holds `pd.NA` where a value is missing, and a
JSON array or `masked_array.tolist()` holds None; the feature extractor and the pipelines read a flat list of samples
with such gaps as one recording with missing samples, as they read NaN."""

from __future__ import annotations

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


# a tiny single-channel contract: 2 s windows at 100 Hz
CONFIG = CiTrusConfig(
    d_model=16, num_hidden_layers=1, num_attention_heads=2, sampling_rate=RATE, context_length=200, patch_length=10
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
