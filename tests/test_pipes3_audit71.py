"""Pipeline traps users reported upstream (transformers), round three: a batched `datasets` map over a numpy- or
torch-formatted column hands the pipeline one `(batch, time)` array, a rate given by position as librosa and
torchaudio return it, and a misspelt task name.

A tiny 3-label classifier (100 Hz, 2 s windows of 10 patches) on the torch backend: each test takes about a second.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import transformers
from tiny_configs import save_tiny_classifier

import citrus_hf  # noqa: F401  (registers CiTrus and its pipelines before `pipeline` is bound)

RATE = 100
ROWS = np.random.default_rng(0).standard_normal((4, 300))  # four single-channel recordings of 3 s, as a batch
BATCH_ADVICE = r"rows are 4 recordings.*`list\(x\)`"


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    return save_tiny_classifier(tmp_path_factory.mktemp("pipes3") / "classifier", num_labels=3)


@pytest.fixture(scope="module")
def classify(classifier_folder):
    return transformers.pipeline(model=str(classifier_folder), backend="torch")


@pytest.mark.parametrize("as_type", [np.asarray, torch.as_tensor])
def test_a_batch_array_with_one_rate_per_row_is_told_to_pass_a_list(classify, as_type):
    """`ds.with_format("numpy").map(f, batched=True)` gives `f` a (batch, time) array and a rate per row: the pipeline
    said "the channels of a recording must share one rate; resample them to one rate first" (they did share one)."""
    rates = np.full(len(ROWS), RATE)
    with pytest.raises(ValueError, match=BATCH_ADVICE) as caught:
        classify(as_type(ROWS), sampling_rate=rates)
    assert "resample them" not in str(caught.value)  # one rate: nothing to resample
    results = classify(list(as_type(ROWS)), sampling_rate=rates)  # the fix it gives
    # (a pass of four windows and a pass of one may round apart in float32's last digits: the kernels differ)
    expected = [classify(row, sampling_rate=RATE)["score"] for row in ROWS]
    assert [result["score"] for result in results] == pytest.approx(expected, rel=1e-6)


def test_a_batch_array_with_rates_that_differ_keeps_the_resampling_advice(classify):
    with pytest.raises(ValueError, match=r"rows are 4 recordings.*resample them to one rate"):
        classify(ROWS, sampling_rate=[100, 100, 50, 100])


def test_a_batch_array_given_to_a_single_channel_checkpoint_is_told_it_may_be_a_batch(classify):
    """With one rate for all, the error named only the channels to select: the extractor's own hint that a 2-D
    array may be a batch of recordings was lost (the pipeline hands it the recording in a list)."""
    with pytest.raises(ValueError, match=r"has 4 channels but the checkpoint expects 1.*rows are 4 recordings"):
        classify(ROWS, sampling_rate=RATE)
    with pytest.raises(ValueError, match="has 4 channels") as caught:  # in a list it is one recording for certain
        classify([ROWS], sampling_rate=RATE)
    assert "rows are" not in str(caught.value)


@pytest.mark.parametrize("rate", [RATE, [RATE, 50]])
def test_a_rate_given_by_position_is_named_with_its_keyword(classify, rate):
    """`pipe(signal, 100)`, the (samples, rate) habit of librosa and torchaudio: Python's "__call__() takes 2
    positional arguments but 3 were given", naming a private class."""
    with pytest.raises(TypeError, match=re.escape(f"pipe(recording, sampling_rate={rate!r})")):
        classify([ROWS[0], ROWS[1]] if isinstance(rate, list) else ROWS[0], rate)


@pytest.mark.parametrize(
    ("task", "meant"),
    [
        ("time-series-clasification", "time-series-classification"),
        ("time_series_regression", "time-series-regression"),
        ("Time-Series-Classification", "time-series-classification"),
    ],
)
def test_a_misspelt_task_gets_the_close_citrus_task(classifier_folder, task, meant):
    """A misspelt CiTrus task was told it is a transformers task "for audio, text or images"."""
    with pytest.raises(ValueError, match=rf"did you mean '{meant}'") as caught:
        transformers.pipeline(task, model=str(classifier_folder))
    assert "audio, text or images" not in str(caught.value)


def test_a_task_of_another_modality_is_still_named_as_such(classifier_folder):
    with pytest.raises(ValueError, match=r"audio, text or images.*runs as pipeline\('time-series-classification'"):
        transformers.pipeline("audio-classification", model=str(classifier_folder))


@pytest.mark.parametrize(
    ("device", "fix"), [("auto", r"device_map='auto'"), ("CPU", r"'cpu'.*in lower case"), ("gpu", r"'cuda'")]
)
def test_a_device_name_pytorch_does_not_know_is_named_with_its_fix(classifier_folder, device, fix):
    """`device="auto"` (transformers' `device_map="auto"`) failed in PyTorch's `torch.device` with its list of device
    types ("Expected one of cpu, cuda, ipu, ...")."""
    with pytest.raises(ValueError, match=rf"`device='{device}'` is no device PyTorch knows: .*{fix}"):
        transformers.pipeline(model=str(classifier_folder), device=device)
