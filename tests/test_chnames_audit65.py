"""Audit 65, channel names and rates: train rows naming their channels in another case ("FP1" beside "Fp1") lost the
model's channel names; a pipeline whose extractor names no channels ignored the model config's; per-channel rates
and `extractor(x, channel_names=...)` got messages that did not say what to do."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import channel_key
from citrus_hf.inference import pipelines as pipelines_module
from citrus_hf.inference.pipelines import check_contract

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from test_splits_audit62 import _saved  # noqa: E402
from tiny_configs import tiny_config  # noqa: E402

from citrus_hf.data.splits import load_task_splits  # noqa: E402

RATE = 100.0
NAMES = ["ECG", "EDA", "RESP"]
SIGNAL = np.random.default_rng(0).standard_normal((3, 400))  # ECG, EDA, RESP: two 2 s windows


# ------------------------------------------------------------------------------------- 1. names in another case


def test_train_rows_naming_their_channels_in_another_case_keep_the_names(tmp_path):
    """Rows (A, b) beside rows (a, B): the same channels, read in place; the model kept no names, so `citrus predict`
    read a file listing them in another order by position."""
    folder = _saved(tmp_path, [["A", "b"], ["a", "B"]] * 4, [["a", "b"]] * 4)
    assert load_task_splits(folder, require_validation=False).channel_names == ["A", "b"]


# --------------------------------------------------------------------- 2. the model config's names in the pipeline


@pytest.fixture(scope="module")
def named_model_folder(tmp_path_factory) -> str:
    """A classifier of the named channels `NAMES` (its head concatenates them, so their order matters) saved beside
    a pre-training checkpoint's extractor (one channel, no names), as `Trainer(processing_class=...)` saves it."""
    torch.manual_seed(0)
    folder = str(tmp_path_factory.mktemp("named"))
    CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=3, channel_names=NAMES)).save_pretrained(
        folder
    )
    CiTrusFeatureExtractor.from_config(tiny_config(channel_pooling="mean")).save_pretrained(folder)
    return folder


def _scores(result: dict) -> list[float]:
    return [label["score"] for label in sorted(result["labels"], key=lambda label: label["label"])]


def test_a_pipeline_picks_channels_by_the_model_configs_names(named_model_folder, tmp_path):
    """`input_channel_names` was refused ("set `channel_names` in the model config", which had them) and a file
    listing the channels in another order was read by position."""
    classify = pipeline(model=named_model_folder, backend="torch")
    assert classify.feature_extractor.channel_names == NAMES
    assert CiTrusFeatureExtractor.from_pretrained(named_model_folder).channel_names is None
    expected = _scores(classify(SIGNAL, sampling_rate=RATE))
    assert _scores(classify(SIGNAL[::-1].copy(), sampling_rate=RATE)) != pytest.approx(expected)  # order matters
    by_name = classify(SIGNAL[::-1].copy(), sampling_rate=RATE, input_channel_names=NAMES[::-1])
    assert _scores(by_name) == pytest.approx(expected)
    swapped = tmp_path / "swapped.csv"
    np.savetxt(swapped, SIGNAL[::-1].T, delimiter=",", header=",".join(NAMES[::-1]), comments="")
    assert _scores(classify(str(swapped), sampling_rate=RATE)) == pytest.approx(expected)


def test_an_extractor_naming_other_channels_than_the_model_is_refused():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=3, channel_names=NAMES))
    for names in (["a", "b", "c"], NAMES[::-1]):
        extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=3, channel_names=names))
        with pytest.raises(ValueError, match=r"picks the channels .* by name and the model was trained on"):
            check_contract(model, extractor)
    check_contract(
        model, CiTrusFeatureExtractor.from_config(tiny_config(num_channels=3, channel_names=["ecg", "Eda", "resp"]))
    )


def test_input_channel_names_without_names_anywhere_says_how_to_get_them():
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with pytest.raises(ValueError, match=r"names no channels .*from_config\(model\.config\)") as caught:
        extractor(SIGNAL, sampling_rate=RATE, input_channel_names=NAMES)
    assert "set `channel_names` in the model config" not in str(caught.value)


def test_the_pipelines_channel_key_is_the_extractors():
    """`inference/pipelines.py` travels as remote code and spells `channel_key` out; they must agree."""
    for name in ("Fp1", " FP1 ", "Straße", "ECG", 3):
        assert pipelines_module._channel_key(name) == channel_key(name)


# --------------------------------------------------------------------------- 3. per-channel rates, misnamed options

SHARE = r"2 values for 1 recording\(s\) of 2 channels: the channels of a recording must share one rate"


def test_one_rate_per_channel_says_the_channels_must_share_one():
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(channel_pooling="mean"))
    two_rates = np.random.default_rng(1).standard_normal((2, 5000))
    with pytest.raises(ValueError, match=SHARE):
        extractor(two_rates, sampling_rate=[500, 50])
    classify = pipeline(
        "time-series-classification",
        model=CiTrusForSequenceClassification(tiny_config(channel_pooling="mean")),
        feature_extractor=extractor,
    )
    with pytest.raises(ValueError, match=SHARE):
        classify({"raw": two_rates, "sampling_rate": [500, 50]})
    with pytest.raises(ValueError, match=SHARE):
        classify([two_rates], sampling_rate=[500, 50])
    # one rate per recording of as many channels as recordings is no rate per channel
    assert len(extractor([two_rates, two_rates], sampling_rate=[500, 50], alignment="resample")["input_values"]) == 2


def test_a_misnamed_extractor_option_is_named_with_the_one_meant():
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with pytest.raises(TypeError, match=r"'channel_names' \(did you mean 'input_channel_names'\?\)"):
        extractor(SIGNAL, sampling_rate=RATE, channel_names=NAMES)
    with pytest.raises(TypeError, match=r"'fs' \(did you mean 'sampling_rate'\?\)"):
        next(extractor.iter_windows(SIGNAL, fs=RATE))
