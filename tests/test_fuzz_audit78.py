"""Systematic input fuzzing of the public entry points a user calls with their own arrays (session 78 audit):

1. The metrics of `citrus_hf.training.metrics` take torch tensors as `compute_metrics_fn` does: in bfloat16 (a bf16
   model's `outputs.logits`) and attached to a graph (`model(**batch).logits` outside `torch.no_grad()`). Only
   `compute_metrics_fn` converted them; `classification_metrics`, `per_class_report`, `multi_label_metrics`,
   `regression_metrics`, `pearson_r` and the AUROCs failed inside torch ("Got unsupported ScalarType BFloat16",
   "Can't call numpy() on Tensor that requires grad").
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
