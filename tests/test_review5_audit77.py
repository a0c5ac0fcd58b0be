"""Review of the session-77 length and range checks (metrics, budgets, recording means, predict_windows)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from citrus_hf.training.metrics import binary_auroc, macro_f1, per_class_report


def test_a_label_out_of_range_is_refused_with_the_fix_an_ignore_index_needs():
    """A -100 (transformers' ignore index) among the labels reached `macro_f1(num_classes=)` and `per_class_report`
    as a class id out of range: the refusal said only "Class labels must lie in [0, 2], got -100..2", no fix."""
    labels = np.array([0, 1, -100, 2])
    with pytest.raises(
        ValueError, match=r"got -100\.\.2: give class ids of the 3 classes scored.*ignore index \(-100\)"
    ):
        macro_f1(labels, np.array([0, 1, 1, 2]), num_classes=3)
    with pytest.raises(ValueError, match=r"drop the rows of an ignore index \(-100\) before scoring"):
        per_class_report(np.eye(3)[[0, 1, 1, 2]], labels, ["a", "b", "c"])


def test_binary_auroc_names_labels_of_mixed_types_it_refuses():
    """An object column of None beside text (a label read from a table with gaps) stopped in numpy's sort of the values
    to show: "'<' not supported between instances of 'str' and 'NoneType'"."""
    with pytest.raises(ValueError, match=r"y_true must be 1 for positives and 0 for negatives .*got \['x', None\]"):
        binary_auroc(np.array([None, 1, "x", 0], dtype=object), [0.1, 0.9, 0.8, 0.2])


def test_recording_mean_refuses_outputs_of_one_value_per_window_as_a_flat_column():
    """Outputs `(num_windows,)` (one probability per window, `probs[:, 1]`) came back unchanged, each window's own
    value for the recording's, where `(num_windows, 1)` gave the mean."""
    from citrus_hf.modeling_citrus import recording_mean

    seconds = torch.tensor([1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"`outputs` has shape \(3,\); give one row per window.*outputs\[:, None\]"):
        recording_mean(torch.tensor([1.0, 2.0, 3.0]), seconds)
    assert recording_mean(torch.tensor([[1.0], [2.0], [3.0]]), seconds).tolist() == [2.25]
