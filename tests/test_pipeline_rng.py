"""A pipeline call leaves torch's global RNG as it found it: transformers' DataLoader drew its workers' base seed from
it on every call, so that `torch.manual_seed(0); pipe(x); train()` trained otherwise than `torch.manual_seed(0);
train()`. The results are those of the model on the recording's windows, whatever the global state.

A tiny 3-label classifier (100 Hz, 2 s windows) on the torch backend: each test takes about a second.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

RATE = 100.0
RECORDINGS = [np.random.default_rng(seed).standard_normal(500) for seed in range(3)]  # 5 s: two 2 s windows each
TASKS = ("time-series-classification", "time-series-feature-extraction")


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    torch.manual_seed(0)
    folder, config = str(tmp_path_factory.mktemp("classifier")), tiny_config(num_labels=3)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    return folder


def _calls(pipe):
    """One recording, a list of them with 2 windows per forward pass, and a generator (read as it streams)."""
    return {
        "single": lambda: pipe(RECORDINGS[0], sampling_rate=RATE),
        "list, batch_size=2": lambda: pipe(RECORDINGS, sampling_rate=RATE, batch_size=2),
        "generator": lambda: list(pipe((recording for recording in RECORDINGS), sampling_rate=RATE)),
    }


def _plain(result):
    """A result with its arrays as lists, to compare with `==`."""
    if isinstance(result, list):
        return [_plain(item) for item in result]
    if isinstance(result, dict):
        return {key: _plain(value) for key, value in result.items()}
    return result.tolist() if isinstance(result, np.ndarray) else result


@pytest.mark.parametrize("task", TASKS)
def test_a_pipeline_call_leaves_the_global_rng_as_it_was(classifier_folder, task):
    pipe = pipeline(task, model=classifier_folder, backend="torch")
    for name, call in _calls(pipe).items():
        torch.manual_seed(0)
        before = torch.random.get_rng_state()
        call()
        assert torch.equal(torch.random.get_rng_state(), before), name
        # what the user sees: a seeded draw after inference is the draw without it
        torch.manual_seed(0)
        call()
        after_inference = torch.rand(4)
        torch.manual_seed(0)
        assert torch.equal(after_inference, torch.rand(4)), name


@pytest.mark.parametrize("task", TASKS)
def test_the_results_do_not_depend_on_the_global_rng(classifier_folder, task):
    pipe = pipeline(task, model=classifier_folder, backend="torch")
    torch.manual_seed(0)
    first = {name: _plain(call()) for name, call in _calls(pipe).items()}
    torch.manual_seed(123)
    torch.rand(10)
    assert {name: _plain(call()) for name, call in _calls(pipe).items()} == first
    # the list and the generator give each recording's own result, at any windows per pass
    single = [_plain(pipe(recording, sampling_rate=RATE)) for recording in RECORDINGS]
    assert first["generator"] == single
    assert first["list, batch_size=2"] == single


def test_the_classifier_scores_are_the_models_on_the_windows(classifier_folder):
    pipe = pipeline("time-series-classification", model=classifier_folder, backend="torch", top_k=None)
    torch.manual_seed(0)
    result = pipe(RECORDINGS[0], sampling_rate=RATE)
    extractor = CiTrusFeatureExtractor.from_pretrained(classifier_folder)
    windows = extractor(RECORDINGS[0], sampling_rate=RATE, alignment="window", return_tensors="pt")["input_values"]
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    with torch.no_grad():
        probabilities = model(windows).logits.softmax(-1)
    label_ids = {label: index for index, label in model.config.id2label.items()}
    for window, expected in zip(result["windows"], probabilities, strict=True):
        scores = [0.0] * len(label_ids)
        for entry in window["labels"]:
            scores[label_ids[entry["label"]]] = entry["score"]
        np.testing.assert_allclose(scores, expected.numpy(), rtol=1e-5, atol=1e-6)
