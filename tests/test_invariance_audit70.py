"""A window's output depends only on the window and the checkpoint, never on how the call was made: which other
threads run the same model, the modes the caller left its modules in, or whether a batch is split across threads.

Tiny models (100 Hz, 2 s windows, one layer of width 16) on the torch backend: each test takes about a second.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference.backends import load_backend, predict_windows

RATE = 100.0


def _classifier_and_windows(**overrides):
    """A tiny 3-label classifier whose head drops 90% of its features in training mode, and the aligned windows of
    two 4 s recordings (4 windows)."""
    torch.manual_seed(0)
    config = tiny_config(num_labels=3, head_dropout=0.9, **overrides)
    model = CiTrusForSequenceClassification(config)
    rng = np.random.default_rng(0)
    features = CiTrusFeatureExtractor.from_config(config)(
        [rng.standard_normal(400), rng.standard_normal(400)], sampling_rate=RATE, return_tensors="pt"
    )
    return model, features["input_values"]


def test_a_training_model_run_from_two_threads_gets_no_dropout_in_either():
    """The backend put a training model in eval mode for a call and back in training mode when that call ended, even
    while another thread's call was still running on it: that call's windows then went through dropout (scores 0.09
    off on a classifier straight from a Trainer, from 4 threads)."""
    model, windows = _classifier_and_windows()
    with torch.no_grad():
        expected = model.eval()(input_values=windows).logits
    model.train()
    backend = load_backend(model, "torch", batch_threads=1)
    second_inside, first_done = threading.Event(), threading.Event()

    def hold(module, args):  # the second call runs its layers only once the first call has ended
        if threading.current_thread().name == "second":
            second_inside.set()
            first_done.wait(10)
        else:
            second_inside.wait(10)

    outputs = {}

    def run(name):
        outputs[name] = backend(windows)
        if name == "first":
            first_done.set()

    handle = model.register_forward_pre_hook(hold)
    try:
        threads = [threading.Thread(target=run, args=(name,), name=name) for name in ("first", "second")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        handle.remove()
    assert second_inside.is_set() and first_done.is_set()
    torch.testing.assert_close(outputs["first"], expected)
    torch.testing.assert_close(outputs["second"], expected)
    assert model.training  # given back in the mode it came in, once both calls ended


def test_inference_gives_each_module_back_the_mode_it_had():
    """A head trained over an encoder kept in eval mode (`model.train(); model.citrus.eval()`: fixed statistics, no
    dropout under the head) came back with the encoder in training mode from `predict_windows` mid-training."""
    model, windows = _classifier_and_windows(norm_type="batchnorm")
    with torch.no_grad():
        expected = model.eval()(input_values=windows).logits
    model.train()
    model.citrus.eval()
    modes = {name: module.training for name, module in model.named_modules()}
    torch.testing.assert_close(predict_windows(model, {"input_values": windows}, backend="torch"), expected)
    assert {name: module.training for name, module in model.named_modules()} == modes


def test_windows_of_a_checked_recording_are_taken_whether_or_not_the_batch_is_split_across_threads():
    """Windows cut from a recording the extractor checked (100 channels, 0.1 s windows of 10 samples: more than 8
    channels per sample, which no single recording has) ran in one thread and were refused as `(batch, time,
    channels)` once a pass was split across threads, whose calls did not see that the windows had been checked."""
    config = tiny_config(context_length=10, patch_length=5)
    model = CiTrusModel(config).eval()
    windows = torch.randn(12, 100, 10, generator=torch.Generator().manual_seed(0))  # (windows, channels, time)
    with model.windows_of_checked_recordings():
        alone = load_backend(model, "torch", batch_threads=1)(windows)
        split = load_backend(model, "torch", batch_threads=2)(windows)
    torch.testing.assert_close(split, alone)


def test_the_finiteness_check_gives_each_module_back_its_own_mode():
    """`non_finite_problem` on windows ran the model in eval mode and then called `model.train()`, which put an encoder
    the caller kept in eval mode under a training head into training mode."""
    model, windows = _classifier_and_windows()
    model.train()
    model.citrus.eval()
    modes = {name: module.training for name, module in model.named_modules()}
    assert model.non_finite_problem(windows) is None
    assert {name: module.training for name, module in model.named_modules()} == modes
