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
3. `draw_budget` and `carve_validation` read odd label and recording-id columns: ids that are tuples ((subject,
   session): numpy made them a 2-D array, and the carve returned rows on both sides or more rows than the set held),
   ids with a missing one or of mixed types in `draw_budget` (as the carve already took them), an empty training set
   in the carve; and they refuse in one line (`LabelColumnError`) multi-hot labels (drawn as indices past the pool,
   without a word), missing class labels and labels mixing numbers and text (numpy's "'<' not supported", or
   "index -1 is out of bounds").
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
from citrus_hf.data.budgets import carve_validation, draw_budget, parse_budget  # noqa: E402
from citrus_hf.data.errors import LabelColumnError  # noqa: E402
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
    extractor.max_window_bytes = 2**17  # (the resampled copy may hold 8 times as much: 1 MiB)
    recording = np.random.default_rng(0).standard_normal((1, 2000)).astype(np.float32)  # 0.25 "Hz": 800,000 samples
    with pytest.raises(ValueError, match=r"multiplies its 2000 samples by 400.*in Hz.*max_window_bytes"):
        extractor(recording, sampling_rate=0.25, alignment="window")
    with pytest.raises(ValueError, match="multiplies its 2000 samples by 400"):
        next(extractor.iter_windows(recording, sampling_rate=0.25, batch_size=4))
    # the same size reached without multiplying the samples (a long recording at the model's rate) is cut as before
    windows = extractor(np.tile(recording, 200), sampling_rate=100, alignment="window")
    assert windows["input_values"].shape == (2000, 1, 200)


# ------------------------------------------------------------------------------ 3. odd label and group columns

CLASSES = np.array([0, 0, 1, 1, 2, 2] * 5)
RECORDINGS = np.arange(30) // 2  # two windows of each recording, one class each


@pytest.mark.parametrize(
    "ids",
    [
        [(int(recording), "session-1") for recording in RECORDINGS],  # (subject, session) tuples
        [int(recording) if recording % 2 else f"r{recording}" for recording in RECORDINGS],  # ints beside text
        [None if row == 7 else int(recording) for row, recording in enumerate(RECORDINGS)],  # one id missing
    ],
    ids=["tuples", "mixed", "missing"],
)
def test_budget_and_carve_read_odd_recording_ids(ids):
    if not isinstance(ids[0], tuple):  # as a pandas column holds them (numpy would make text of ints beside text)
        ids_as_object = np.empty(len(ids), dtype=object)
        ids_as_object[:] = ids
        ids = ids_as_object
    pool, validation = carve_validation(len(CLASSES), CLASSES, ids, 0.3, 0)
    assert len(pool) + len(validation) == len(CLASSES) and not set(pool) & set(validation)
    assert {str(ids[row]) for row in pool}.isdisjoint(str(ids[row]) for row in validation)  # recordings whole
    drawn = draw_budget(CLASSES, parse_budget("2"), 0, groups=ids)
    assert drawn.max() < len(CLASSES)
    assert np.bincount(CLASSES[drawn]).tolist() in ([4, 4, 4], [4, 3, 4], [3, 4, 4], [4, 4, 3])  # 2 recordings a class


@pytest.mark.parametrize(
    "labels",
    [
        np.eye(3, dtype=np.int64)[CLASSES],  # multi-hot rows
        np.array([None if row == 4 else "walk" for row in range(30)], dtype=object),
        np.where(np.arange(30) == 4, np.nan, CLASSES.astype(float)),
        np.array([1, "walk", 2] * 10, dtype=object),
    ],
    ids=["multi-hot", "None", "NaN", "mixed"],
)
def test_budget_and_carve_refuse_labels_they_cannot_stratify_by(labels):
    with pytest.raises(LabelColumnError, match="one per example|missing|mix types"):
        carve_validation(len(labels), labels, None, 0.2, 0)
    if labels.dtype.kind != "f":  # (float labels are a regression's targets to draw_budget: NaN is one of them)
        with pytest.raises(LabelColumnError, match="one per example|missing|mix types"):
            draw_budget(labels, parse_budget("2"), 0)


def test_carve_of_an_empty_training_set_is_empty():
    pool, validation = carve_validation(0)
    assert pool.size == validation.size == 0


def test_draw_budget_keeps_drawing_regression_targets_of_several_columns():
    """A guard (passes before the fix too): the refusal of multi-hot rows is for class labels; a regression's targets,
    several per row, are drawn as rows as before."""
    targets = np.random.default_rng(0).standard_normal((10, 2))
    assert draw_budget(targets, parse_budget("3"), 0).tolist() == [5, 6, 9]
    assert draw_budget(targets, parse_budget("3"), 0, groups=np.arange(10) // 2).tolist() == [4, 5, 6, 7, 8, 9]
