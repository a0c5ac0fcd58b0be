"""Audit 72 (leftovers3): channel names given as a set or generator, polars / xarray inputs, `datasets` rows handed
to a pipeline, and what a launch's gradient accumulation does to `citrus finetune`."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import pipeline

from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

README = Path(__file__).resolve().parents[1] / "README.md"


def _config(**overrides) -> CiTrusConfig:
    values = dict(
        d_model=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
        sampling_rate=100,
        context_length=200,
        patch_length=20,
        num_channels=2,
        channel_names=["C3", "C4"],
        num_labels=2,
    )
    return CiTrusConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def extractor() -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor.from_config(_config())


@pytest.fixture(scope="module")
def classify(extractor):
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(_config()).eval()
    return pipeline("time-series-classification", model=model, feature_extractor=extractor)


def _recording() -> np.ndarray:
    """Two channels, C4 (a sine) then C3 (a ramp): told apart after normalisation."""
    time = np.arange(300)
    return np.stack([np.sin(time / 5), time / 300.0])


def test_channel_names_as_a_set_are_refused_not_read_in_hash_order(extractor):
    # a set's order is its hash order, not the recording's: C3 and C4 were swapped under some PYTHONHASHSEEDs
    with pytest.raises(TypeError, match=r"input_channel_names.*set.*order.*list"):
        extractor(_recording(), sampling_rate=100, input_channel_names={"C4", "C3"})
    with pytest.raises(TypeError, match=r"input_channel_units.*set"):
        extractor(_recording(), sampling_rate=100, input_channel_units=frozenset({"uV"}))


def test_channel_names_as_a_generator_are_read_once_for_every_recording(extractor, classify):
    recording = _recording()
    expected = extractor(recording, sampling_rate=100, input_channel_names=["C4", "C3"], return_tensors="np")
    given = extractor([recording, recording], sampling_rate=100, input_channel_names=(name for name in ["C4", "C3"]))
    np.testing.assert_allclose(np.asarray(given["input_values"][-1]), expected["input_values"][-1], atol=1e-6)
    assert extractor.spread_off_by(recording, input_channel_names=iter(["C4", "C3"])) == extractor.spread_off_by(
        recording, input_channel_names=["C4", "C3"]
    )
    # the pipeline hands the names to every recording of a list: a generator must outlive the first
    results = classify([recording, recording], sampling_rate=100, input_channel_names=(n for n in ["C4", "C3"]))
    alone = classify(recording, sampling_rate=100, input_channel_names=["C4", "C3"])
    assert results == [alone, alone]


def _fake(module: str, name: str, **members) -> type:
    cls = type(name, (), members)
    cls.__module__ = module
    return cls


def test_a_polars_frame_is_named_as_polars_with_its_fix(extractor, classify, monkeypatch):
    frame_class = _fake(
        "polars.dataframe.frame", "DataFrame", to_numpy=lambda self: _recording().T, shape=property(lambda s: (300, 2))
    )
    for call in (
        lambda: extractor(frame_class(), sampling_rate=100),
        lambda: classify(frame_class(), sampling_rate=100),
    ):
        with pytest.raises(TypeError, match=r"polars DataFrame.*to_numpy\(\)\.T") as caught:
            call()
        assert "pandas" not in str(caught.value)


def test_an_xarray_data_array_is_refused_naming_values_and_its_dims(extractor, classify):
    array_class = _fake(
        "xarray.core.dataarray",
        "DataArray",
        dims=("time", "channel"),
        ndim=2,
        shape=(300, 2),
        values=_recording().T,
        __array__=lambda self, dtype=None, copy=None: _recording().T,
    )
    for call in (
        lambda: extractor(array_class(), sampling_rate=100),
        lambda: classify(array_class(), sampling_rate=100),
    ):
        with pytest.raises(TypeError, match=r"xarray DataArray.*transpose.*\.values.*\('time', 'channel'\)"):
            call()


def test_a_datasets_row_is_told_to_rename_input_values(classify):
    import datasets

    rows = datasets.Dataset.from_dict(
        {"input_values": [_recording().astype(np.float32)], "sampling_rate": [100], "label": [0]}
    )
    for given in (rows[0], list(rows)):
        with pytest.raises(
            ValueError, match=re.escape('{"raw": row["input_values"], "sampling_rate": row["sampling_rate"]}')
        ):
            classify(given)


def test_a_launch_accumulation_is_said_to_be_ignored_by_the_trainer(monkeypatch, caplog):
    from citrus_hf.training.arguments import TrainerSettings
    from citrus_hf.training.trainer import trainer_precision

    monkeypatch.setenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "4")
    with caplog.at_level(logging.WARNING):
        trainer_precision(TrainerSettings())
    assert re.search(r"ACCELERATE_GRADIENT_ACCUMULATION_STEPS=4 is ignored", caplog.text)
    caplog.clear()
    monkeypatch.setenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "1")
    with caplog.at_level(logging.WARNING):
        trainer_precision(TrainerSettings())
    assert "ACCUMULATION" not in caplog.text


def test_readme_says_the_step_floor_makes_more_passes_under_a_launch():
    from citrus_hf.training.recipes import FINETUNE_MIN_STEPS, finetune_steps

    # 20 labelled examples, 8 per device: one process makes 90 steps (36 passes), four make the 60 of the floor (96)
    assert finetune_steps(20, 8) * 8 / 20 < finetune_steps(20, 32) * 32 / 20
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "the same passes in about 1/N of the steps)" not in text
    assert f"floor of {FINETUNE_MIN_STEPS} optimizer steps" in text
