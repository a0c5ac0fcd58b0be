"""Pipeline traps users reported upstream (transformers), round two: a model object given to `pipeline` without a
task or a feature extractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from tiny_configs import save_tiny_classifier, tiny_config

import citrus_hf  # noqa: F401  (registers CiTrus and its pipelines before `pipeline` is bound)
from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification

TASK = "time-series-classification"
RECORDING = np.random.default_rng(0).standard_normal((1, 600))


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    return save_tiny_classifier(tmp_path_factory.mktemp("pipes2") / "classifier", num_labels=3)


def test_a_model_object_without_a_task_runs_its_own_pipeline(classifier_folder):
    """transformers asks the Hub for a model object's task and fails with the object's whole repr
    ("Inferring the task automatically requires ... a `str`"); a CiTrus model names its task in its own class."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    classify = transformers.pipeline(model=model, feature_extractor=str(classifier_folder))
    assert classify.task == "time-series-classification"
    # One backend for both: "auto" races the paths on the first batch, and under load the two pipelines can pick
    # different ones (bf16 agrees with fp32 to ~1e-3, not to approx's 1e-6).
    expected = transformers.pipeline(model=str(classifier_folder))(RECORDING, sampling_rate=100, backend="torch")
    assert classify(RECORDING, sampling_rate=100, backend="torch")["score"] == pytest.approx(expected["score"])


def test_a_regressor_object_without_a_task_runs_the_regression_pipeline(tmp_path):
    from citrus_hf import CiTrusFeatureExtractor

    model = CiTrusForRegression(tiny_config())
    regress = transformers.pipeline(model=model, feature_extractor=CiTrusFeatureExtractor.from_config(model.config))
    assert regress.task == "time-series-regression"


def test_a_model_object_takes_the_extractor_saved_in_its_folder(classifier_folder):
    """A model loaded from a folder that holds its preprocessor_config.json: the pipeline said the extractor "was not
    found" and advised saving it next to the weights, where it was."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    classify = transformers.pipeline("time-series-classification", model=model)
    # One backend for both: "auto" races the paths on the first batch, and under load the two pipelines can pick
    # different ones (bf16 agrees with fp32 to ~1e-3, not to approx's 1e-6).
    expected = transformers.pipeline(model=str(classifier_folder))(RECORDING, sampling_rate=100, backend="torch")
    assert classify(RECORDING, sampling_rate=100, backend="torch")["score"] == pytest.approx(expected["score"])


@pytest.mark.parametrize("given", [{"dtype": torch.bfloat16}, {"dtype": "bfloat16"}, {"torch_dtype": torch.float16}])
def test_a_dtype_for_a_model_object_is_not_dropped_silently(classifier_folder, given):
    """transformers applies `dtype` only to a model it loads: a model object given with `dtype=torch.bfloat16` ran in
    float32 without a word."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    with pytest.raises(ValueError, match=r"model\.to\("):
        transformers.pipeline(TASK, model=model, feature_extractor=str(classifier_folder), **given)
    assert model.dtype == torch.float32


def test_model_kwargs_for_a_model_object_are_not_dropped_silently(classifier_folder):
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    with pytest.raises(ValueError, match="model_kwargs"):
        transformers.pipeline(
            TASK, model=model, feature_extractor=str(classifier_folder), model_kwargs={"dtype": torch.bfloat16}
        )


def test_a_dtype_a_model_object_already_has_is_taken(classifier_folder):
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    assert (
        transformers.pipeline(TASK, model=model, feature_extractor=str(classifier_folder), dtype=torch.float32).model
        is model
    )
    assert (
        transformers.pipeline(TASK, model=model, feature_extractor=str(classifier_folder), dtype="auto").model is model
    )


def test_a_peft_model_object_without_a_task_runs_its_base_models_pipeline(classifier_folder):
    from citrus_hf.training.lora import apply_lora

    peft_model = apply_lora(CiTrusForSequenceClassification.from_pretrained(classifier_folder), r=2, verbose=False)
    assert transformers.pipeline(model=peft_model).task == TASK
