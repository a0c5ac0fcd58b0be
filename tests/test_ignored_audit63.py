"""Audit 63, options accepted and silently ignored or replaced: each test gives the option and checks that it takes
effect or is refused with a message naming it."""

from __future__ import annotations

import pytest
import torch

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.inference.backends import InferenceTarget, load_backend, predict_windows
from tiny_configs import tiny_config


def test_a_loaded_backend_refuses_a_target_it_does_not_compute():
    torch.manual_seed(0)
    config = tiny_config(num_labels=3)
    model = CiTrusForSequenceClassification(config).eval()
    features = CiTrusFeatureExtractor.from_config(config)(
        torch.randn(4, 1, 200).numpy(), sampling_rate=100, return_tensors="pt"
    )
    embeddings = InferenceTarget(output="embeddings")
    with pytest.raises(ValueError, match=r"asks for 'embeddings'.*computes 'logits'.*load_backend\(model"):
        predict_windows(model, features, backend=load_backend(model, "torch"), target=embeddings)
    # the backend's own target, given or left out, runs; and a backend loaded for the embeddings gives them
    runner = load_backend(model, "torch", target=embeddings)
    expected = predict_windows(model, features, backend="torch", target=embeddings)
    torch.testing.assert_close(predict_windows(model, features, backend=runner, target=embeddings), expected)
    torch.testing.assert_close(predict_windows(model, features, backend=runner), expected)
    logits = load_backend(model, "torch")
    assert predict_windows(model, features, backend=logits, target=InferenceTarget()).shape == (4, 3)
