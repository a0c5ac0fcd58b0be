"""Torch traps users reported upstream, checked against the model:

- inputs made under `torch.inference_mode()` (the feature extractor called in an inference block, labels built
  there) and then given to a model that records gradients (a call without `torch.no_grad()`, or training) failed
  deep inside `F.conv1d` / `F.linear` / the loss with PyTorch's "Inference tensors cannot be saved for backward",
  while `CiTrusForPretraining` took the same input.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)


def _made_in_inference_mode(*tensors: torch.Tensor) -> list[torch.Tensor]:
    with torch.inference_mode():
        return [tensor.clone() for tensor in tensors]


@pytest.mark.parametrize("made_there", ["input_values", "patch_mask", "labels"])
@pytest.mark.parametrize(
    ("model_class", "settings"),
    [
        (CiTrusForSequenceClassification, {"num_labels": 3}),
        (CiTrusForSequenceClassification, {"num_labels": 3, "pooling": "mean_max_std_dynamics"}),
        (CiTrusForSequenceClassification, {"num_labels": 3, "norm_type": "batchnorm"}),
        (CiTrusForRegression, {}),
    ],
)
def test_task_models_train_on_inputs_made_under_inference_mode(model_class, settings, made_there):
    torch.manual_seed(0)
    model = model_class(tiny_config(**settings)).train()
    windows = torch.randn(4, 1, 200)
    patch_mask = torch.ones(4, 10)  # float, as a collator may give it: `.to(float)` is then the tensor itself
    patch_mask[1, 5:] = 0
    labels = torch.tensor([0, 1, 2, 0]) if model_class is CiTrusForSequenceClassification else torch.randn(4)
    inputs = {"input_values": windows, "patch_mask": patch_mask, "labels": labels}
    torch.manual_seed(1)  # the same dropout in both calls
    expected = model(**inputs).loss
    (inputs[made_there],) = _made_in_inference_mode(inputs[made_there])
    torch.manual_seed(1)
    loss = model(**inputs).loss
    loss.backward()
    torch.testing.assert_close(loss, expected)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_encoder_and_its_embeddings_take_inputs_made_under_inference_mode():
    torch.manual_seed(0)
    model = CiTrusModel(tiny_config()).train()
    windows, patch_mask = torch.randn(3, 1, 200), torch.ones(3, 10)
    patch_mask[2, 4:] = 0
    token_mask = torch.zeros(3, 1, 10, dtype=torch.bool)
    token_mask[:, :, 1] = True
    inference = _made_in_inference_mode(windows, patch_mask, token_mask)
    model(inference[0], patch_mask=inference[1], token_mask=inference[2]).last_hidden_state.sum().backward()
    model.embed(inference[0], patch_mask=inference[1]).sum().backward()
    pretraining = CiTrusForPretraining(tiny_config()).train()
    pretraining(inference[0], patch_mask=inference[1]).loss.backward()


def test_extractor_output_from_an_inference_block_runs_without_no_grad():
    """The usual way in: features computed in an inference block, the model then called (or fine-tuned) outside it."""
    config = tiny_config(num_labels=2)
    model = CiTrusForSequenceClassification(config).eval()
    extractor = CiTrusFeatureExtractor.from_config(config)
    recordings = [np.random.default_rng(0).standard_normal((1, 400)), np.random.default_rng(1).standard_normal((1, 90))]
    with torch.inference_mode():
        features = extractor(recordings, sampling_rate=config.sampling_rate, return_tensors="pt")
        reference = model(**features).logits
    logits = model(**features).logits  # gradients recorded: no torch.no_grad() around it
    assert not logits.is_inference() and logits.requires_grad
    torch.testing.assert_close(logits.detach(), reference)


@pytest.mark.parametrize("dtype", [torch.int16, torch.int64, torch.bool, torch.complex64])
def test_non_float_input_values_are_refused_with_the_fix(dtype):
    """Integer counts (an EDF's or a WAV's, `torch.from_numpy` of them) given to the model straight: the error named
    the dtype only, not the way on."""
    model = CiTrusModel(tiny_config()).eval()
    with pytest.raises(TypeError, match=r"must be floating point, got torch\.\w+.*CiTrusFeatureExtractor.*\.float\(\)"):
        model(torch.zeros(1, 1, 200, dtype=dtype))
