"""Session 77, lint-guided audit: what `ruff --select B905,BLE001,...` pointed at that a user can hit (a `zip` that
dropped what it could not pair, a substring test taken for a membership test)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.data.budgets import LabelBudget, carve_validation, draw_budget, drawn_example_labels
from citrus_hf.data.synthetic import Kernel, dense_kernel_composition, sample_kernel_composition
from citrus_hf.inference.backends import predict_windows
from citrus_hf.modeling_citrus import recording_mean
from citrus_hf.training.metrics import binary_auroc, macro_f1, per_class_report
from citrus_hf.training.probe import fit_ridge
from citrus_hf.training.recipes import logit_temperature, recording_metrics

_KERNELS = [Kernel("rbf", 0.1), Kernel("periodic", 10.0), Kernel("white", 0.1)]


@pytest.mark.parametrize("operators", [["", "+"], ["+*", "+"]], ids=["empty", "both"])
def test_a_kernel_composition_refuses_an_operator_that_is_only_part_of_plus_star(operators):
    """`op not in "+*"` is a substring test: "" and "+*" passed it and were sampled as products."""
    with pytest.raises(ValueError, match=r"Need 2 operators from '\+', '\*' between 3 kernels"):
        sample_kernel_composition(_KERNELS, operators, 16, np.random.default_rng(0))


@pytest.mark.parametrize("operators", [["+"], ["-", "+"]], ids=["too-few", "unknown"])
def test_the_dense_covariance_refuses_what_the_sampler_refuses(operators):
    """`dense_kernel_composition` (the reference the sampler is tested against) zipped the operators with the kernels:
    one operator too few dropped the last kernel from the covariance, and "-" was read as a product."""
    with pytest.raises(ValueError, match=r"Need 2 operators from '\+', '\*' between 3 kernels"):
        dense_kernel_composition(_KERNELS, operators, 8)


@pytest.mark.parametrize("rows", [5, 20], ids=["fewer", "more"])
def test_predict_windows_refuses_a_patch_mask_of_other_rows_than_the_windows(rows):
    """The windows and their mask were sliced into batches apart: a mask of 20 rows for 10 windows stopped in torch
    ("The size of tensor a (2) must match ..."), one of 5 was refused with one batch's slice, "(4, 10) ... got (1, 10)",
    neither the shape passed."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    mask = torch.ones(rows, 10, dtype=torch.long)
    mask[:, 8:] = 0  # (padded windows: the mask is read, not dropped as all ones)
    features = {"input_values": torch.randn(10, 1, 200), "patch_mask": mask}
    with pytest.raises(ValueError, match=rf"has shape \({rows}, 10\), not \(windows, num_patches\) for the 10 windows"):
        predict_windows(model, features, backend="torch", batch_size=4)


def test_predict_windows_takes_a_mask_of_one_row_per_window():
    """Guard: a mask of the windows' rows runs as before, batch by batch."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    mask = torch.ones(10, 10, dtype=torch.long)
    mask[3:, 8:] = 0
    features = {"input_values": torch.randn(10, 1, 200), "patch_mask": mask}
    assert predict_windows(model, features, backend="torch", batch_size=4).shape == (10, 2)


@pytest.mark.parametrize("names", [["a", "b"], ["a", "b", "c", "d"]], ids=["fewer", "more"])
def test_per_class_report_refuses_class_names_of_another_count_than_the_logits(names):
    """A shape mismatch was taken for rows that name no class: a report of F1 None for every class and no confusion
    matrix (and with a name too many, its class "absent"), where the scores were all there."""
    logits = np.random.default_rng(0).standard_normal((6, 3))
    with pytest.raises(ValueError, match=rf"logits of shape \(6, 3\) for {len(names)} `label_names`"):
        per_class_report(logits, [0, 1, 2, 0, 1, 2], names)


def test_per_class_report_refuses_labels_of_another_count_than_the_logits():
    logits = np.random.default_rng(0).standard_normal((6, 3))
    with pytest.raises(ValueError, match=r"`labels` has 5 entries for 6 rows of logits; give one for each"):
        per_class_report(logits, [0, 1, 2, 0, 1], ["a", "b", "c"])


def test_per_class_report_still_reports_no_f1_for_a_row_that_names_no_class():
    """Guard: a NaN row (no prediction) keeps its report without F1, as `classification_metrics` gives NaN; a
    one-output binary classifier's column is read for two names."""
    logits = np.random.default_rng(0).standard_normal((6, 3))
    logits[2] = np.nan
    report = per_class_report(logits, [0, 1, 2, 0, 1, 2], ["a", "b", "c"])
    assert report["f1"] == [None, None, None] and report["confusion_matrix"] is None
    # a one-output binary classifier: one column for two names, as before
    one_output = per_class_report(np.ones((6, 1)), [0, 1, 1, 0, 1, 0], ["a", "b"])
    assert one_output["confusion_matrix"] == [[0, 3], [0, 3]]  # (every logit above 0: class 1)


@pytest.mark.parametrize(
    ("column", "rows"),
    [("recordings", 5), ("recordings", 7), ("seconds", 3), ("without_signal", 3), ("without_signal", 8)],
)
def test_recording_metrics_refuses_a_column_of_other_rows_than_the_outputs(column, rows):
    """Paired with the outputs by index: a shorter column stopped in numpy ("all keys need to be the same shape",
    "index 3 is out of bounds"), a longer `without_signal` was read in part and scored without a word."""
    outputs = np.random.default_rng(0).standard_normal((6, 2))
    given = {
        "labels": np.array([0, 0, 1, 1, 0, 0]),
        "recordings": ["a", "a", "b", "b", "c", "c"],
        "seconds": np.ones(6),
        "without_signal": np.zeros(6, dtype=bool),
    }
    given[column] = np.resize(np.asarray(given[column]), rows)
    with pytest.raises(ValueError, match=rf"`{column}` has {rows} entries for 6 outputs"):
        recording_metrics(outputs, task="classification", **given)


def test_logit_temperature_refuses_labels_of_other_rows_than_the_scores():
    """Five labels for six rows of scores gave a temperature fitted to the first five rows, without a word."""
    scores = np.random.default_rng(0).standard_normal((6, 2))
    with pytest.raises(ValueError, match="`labels` has 5 entries for 6 rows of scores"):
        logit_temperature(scores, np.array([0, 0, 1, 1, 0]))


_POOL_LABELS = np.array([0, 0, 1, 1, 0, 1, 0, 1])


@pytest.mark.parametrize("count", [5, 10], ids=["fewer", "more"])
def test_a_label_draw_refuses_groups_of_other_rows_than_the_labels(count):
    """`draw_budget` read the groups by index: five recording ids for eight windows drew from the first five rows (the
    others never drawn), ten stopped in numpy ("index 8 is out of bounds for axis 0 with size 8")."""
    groups = list("aabbccddee")[:count]
    with pytest.raises(ValueError, match=rf"`groups` has {count} entries for 8 examples"):
        draw_budget(_POOL_LABELS, LabelBudget("per_class", 1), 0, groups=groups)
    with pytest.raises(ValueError, match=rf"`groups` has {count} entries for 8 examples"):
        drawn_example_labels(_POOL_LABELS, np.array([0, 2]), groups=groups)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"labels": np.zeros(5, dtype=int)}, "`labels` has 5 entries for 8 examples"),
        ({"groups": list("aabb")}, "`groups` has 4 entries for 8 examples"),
        ({"labels": np.zeros(7, dtype=int), "groups": list("aabbccdd")}, "`labels` has 7 entries for 8 examples"),
    ],
)
def test_the_validation_carve_refuses_labels_or_groups_of_other_rows_than_the_examples(given, message):
    """Five labels for eight examples carved as if the last three were of no class, without a word; four groups
    stopped in numpy ("index 4 is out of bounds")."""
    with pytest.raises(ValueError, match=message):
        carve_validation(8, **given)


@pytest.mark.parametrize("weights", [np.ones(3), np.array([1.0, np.nan, 1.0, 1.0])], ids=["too-few", "nan"])
def test_fit_ridge_refuses_column_weights_that_are_not_one_finite_number_per_column(weights):
    """`sample_weights` and `scored_rows` were checked, `column_weights` not: one too few stopped in numpy ("operands
    could not be broadcast together with shapes (4,) (3,)"), a NaN made the whole read-out NaN."""
    features = np.random.default_rng(0).standard_normal((8, 4))
    with pytest.raises(ValueError, match=r"`column_weights` must be 4 finite numbers, one per feature column"):
        fit_ridge(features, np.zeros(8), column_weights=weights)


@pytest.mark.parametrize("count", [1, 3, 5])
def test_a_recording_mean_refuses_seconds_of_other_windows_than_the_outputs(count):
    """One value of seconds was broadcast over four windows as if they all covered it; three or five stopped in torch
    ("The size of tensor a (4) must match the size of tensor b (3)")."""
    with pytest.raises(ValueError, match=rf"`seconds` has shape \({count},\) for 4 windows of outputs"):
        recording_mean(torch.rand(4, 3), torch.ones(count))


def test_macro_f1_over_every_class_refuses_labels_outside_them():
    """With `num_classes=3`, a class 5 in both labels and predictions was left out of the mean and class 2 (never
    seen) counted 0: a perfect prediction scored 2/3, without a word."""
    with pytest.raises(ValueError, match=r"Class labels must lie in \[0, 2\], got 0\.\.5"):
        macro_f1([0, 1, 5], [0, 1, 5], num_classes=3)
    assert macro_f1([0, 1, 2], [0, 1, 2], num_classes=3) == 1.0


@pytest.mark.parametrize(("labels", "shown"), [([1, 2, 2, 1], r"\[2\]"), ([-1, 1, 1, -1], r"\[-1\]")])
def test_binary_auroc_refuses_labels_other_than_zero_and_one(labels, shown):
    """Read as booleans, labels 1 / 2 (or -1 / +1, scikit-learn's other binary coding) were all positives: AUROC NaN,
    "only one class present", for a perfect ranking, without a word."""
    with pytest.raises(ValueError, match=rf"y_true must be 1 for positives and 0 for negatives .*got {shown}"):
        binary_auroc(labels, [0.1, 0.9, 0.8, 0.2])
    assert binary_auroc([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2]) == 1.0
    assert binary_auroc([False, True, True, False], [0.1, 0.9, 0.8, 0.2]) == 1.0
