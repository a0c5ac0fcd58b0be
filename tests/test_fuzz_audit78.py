"""Systematic input fuzzing of the public entry points a user calls with their own arrays (session 78 audit):

1. The metrics of `citrus_hf.training.metrics` take torch tensors as `compute_metrics_fn` does: in bfloat16 (a bf16
   model's `outputs.logits`) and attached to a graph (`model(**batch).logits` outside `torch.no_grad()`). Only
   `compute_metrics_fn` converted them; `classification_metrics`, `per_class_report`, `multi_label_metrics`,
   `regression_metrics`, `pearson_r` and the AUROCs failed inside torch ("Got unsupported ScalarType BFloat16",
   "Can't call numpy() on Tensor that requires grad").
2. `alignment="window"` refuses, before scipy allocates it, a whole recording upsampled into more than
   `max_window_bytes` by a rate that multiplies its samples more than 8 times (a rate in kHz where Hz was meant:
   0.25 for 250 Hz upsampled an hour of EEG 400 times), where numpy's MemoryError, or the system's out-of-memory
   killer, was all the caller saw.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from tiny_configs import tiny_config  # noqa: E402

from citrus_hf import CiTrusFeatureExtractor  # noqa: E402
from citrus_hf.training import metrics  # noqa: E402

# ------------------------------------------------------------------------------ 1. metrics of torch tensors

LABELS = np.array([0, 1, 2, 0, 1, 2, 2, 0])
LOGITS = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)


def _metric_calls(logits):
    """Each public metric called with `logits` (a tensor) where it takes scores, and numpy labels."""
    labels = torch.as_tensor(LABELS)
    return {
        "classification_metrics": lambda: metrics.classification_metrics(logits, labels),
        "per_class_report": lambda: metrics.per_class_report(logits, labels, ["a", "b", "c"]),
        "multi_label_metrics": lambda: metrics.multi_label_metrics(logits, torch.as_tensor(LOGITS > 0).long()),
        "regression_metrics": lambda: metrics.regression_metrics(logits[:, 0], labels.float()),
        "pearson_r": lambda: metrics.pearson_r(labels.float(), logits[:, 0]),
        "macro_auroc": lambda: metrics.macro_auroc(labels, logits),
        "binary_auroc": lambda: metrics.binary_auroc(labels == 2, logits[:, 2]),
    }


@pytest.mark.parametrize("kind", ["bfloat16", "requires_grad"])
def test_metrics_take_bf16_and_graph_attached_tensors(kind):
    tensor = torch.from_numpy(LOGITS)
    tensor = tensor.bfloat16() if kind == "bfloat16" else tensor.clone().requires_grad_(True)
    expected = {name: call() for name, call in _metric_calls(torch.from_numpy(tensor.detach().float().numpy())).items()}
    assert {name: call() for name, call in _metric_calls(tensor).items()} == expected


# ------------------------------------------------------------------------------ 2. upsampling past max_window_bytes


def test_window_alignment_refuses_an_upsampling_past_max_window_bytes():
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(channel_pooling="mean"))
    extractor.max_window_bytes = 2**20
    recording = np.random.default_rng(0).standard_normal((1, 2000)).astype(np.float32)  # 0.25 "Hz": 800,000 samples
    with pytest.raises(ValueError, match=r"multiplies its 2000 samples by 400.*in Hz.*max_window_bytes"):
        extractor(recording, sampling_rate=0.25, alignment="window")
    with pytest.raises(ValueError, match="multiplies its 2000 samples by 400"):
        next(extractor.iter_windows(recording, sampling_rate=0.25, batch_size=4))
    # the same size reached without multiplying the samples (a long recording at the model's rate) is cut as before
    windows = extractor(np.tile(recording, 200), sampling_rate=100, alignment="window")
    assert windows["input_values"].shape == (2000, 1, 200)
