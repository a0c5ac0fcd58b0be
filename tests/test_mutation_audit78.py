"""Audit 78 (mutation testing of the numbers users quote): each test here kills a mutant of the metrics, label
budgets, per-recording scores or report aggregation that the rest of the suite let through (a flipped comparison, a
dropped check, a median for a mean), with the expected values computed by hand in the comments. Pure maths on small
arrays: no model, no data set."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from transformers import EvalPrediction

from citrus_hf.data.budgets import (
    LabelBudget,
    carve_validation,
    draw_budget,
    drawn_example_labels,
    group_keys,
    parse_budget,
)
from citrus_hf.evaluation.report import COLLAPSE_MARGIN, collapsed_cells, mean_std, paired_gaps, summarize
from citrus_hf.training.metrics import (
    binary_auroc,
    classification_metrics,
    compute_metrics_fn,
    macro_auroc,
    multi_label_metrics,
    pearson_r,
    per_class_report,
    regression_metrics,
)
from citrus_hf.training.recipes import recording_metrics

# ------------------------------------------------------------------------------------------------ window metrics


def test_a_label_of_minus_one_is_refused_like_any_label_out_of_range():
    """-1 (a common "no label" marker) was read as a class that no prediction matches (mutant: `min() < -1`)."""
    logits = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got -1\.\.1"):
        classification_metrics(logits, [-1, 1, 0])


def test_auroc_of_one_class_is_nan_without_a_numpy_warning():
    """All positives (or all negatives) has no AUROC: `nan`, said by the package, not numpy's "invalid value
    encountered in scalar divide" from 0 / 0 (mutant: only the no-positive case returned early)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(binary_auroc([1, 1, 1], [0.1, 0.2, 0.3]))
        assert math.isnan(binary_auroc([0, 0], [0.1, 0.2]))


def test_macro_auroc_is_the_mean_of_the_classes_aurocs():
    """(mutant: their median)"""
    scores = np.array(
        [[0.9, 0.1, 0.5], [0.8, 0.1, 0.6], [0.1, 0.9, 0.7], [0.1, 0.8, 0.8], [0.1, 0.1, 0.65], [0.1, 0.1, 0.55]]
    )
    # class 0: positives 0.9, 0.8 above every negative: 1.0; class 1 likewise: 1.0; class 2: positive 0.65 beats 2
    # of the 4 negatives (0.5, 0.6), positive 0.55 beats 1 (0.5): 3 / 8. Mean (1 + 1 + 0.375) / 3; the median is 1.
    assert macro_auroc([0, 0, 1, 1, 2, 2], scores) == pytest.approx((1 + 1 + 0.375) / 3)


def test_rows_of_logits_a_constant_apart_tie_in_auroc():
    """Logits that differ by a constant are the same probabilities: a tie (half credit). Without shifting each row by
    its largest logit, the log-odds of [-0.75, -0.5, -0.375] and of the same + 6 were a float step apart and the
    tie was broken (mutant: no shift; 0.667)."""
    row = np.array([-0.75, -0.5, -0.375])
    logits = np.stack([row, row + 6.0, [0.0, 9.0, 0.0]])
    # class 0: positive row 0 ties row 1 (0.5) and beats row 2 (1): 0.75; class 1: row 2 beats both: 1.0;
    # class 2: positive row 1 ties row 0 (0.5) and beats row 2: 0.75. Mean 2.5 / 3.
    assert classification_metrics(logits, [0, 2, 1])["auroc"] == pytest.approx(2.5 / 3)


def test_rows_whose_other_logits_are_permuted_tie_in_auroc():
    """A class's probability depends on the other logits, not their order: summed in row order, the log-odds of
    these two rows were 1.1e-16 apart and the tie was broken (mutant: the others unsorted)."""
    row = np.array([0.67, 1.11, 0.38, -1.2, -1.11])
    permuted = np.concatenate([row[:1], row[:0:-1]])  # class 0's logit kept, the others reversed
    # class 0: positive row 0 ties row 1: 0.5; class 1: positive row 1's logit (-1.11, the others the same) is below
    # row 0's (1.11): 0.0. Mean 0.25.
    assert classification_metrics(np.stack([row, permuted]), [0, 1])["auroc"] == pytest.approx(0.25)


def test_a_class_with_one_example_is_not_reported_absent():
    """(mutant: `support <= 1` listed it)"""
    report = per_class_report(np.eye(3)[[0, 0, 1]], [0, 0, 1], ["a", "b", "c"])
    assert report["support"] == [2, 1, 0]
    assert report["absent"] == ["c"]


def test_a_multi_label_logit_of_exactly_zero_is_absent():
    """The docstring's rule, present above 0 (a sigmoid above 0.5); 0 itself is absent (mutant: `>= 0`)."""
    metrics = multi_label_metrics([[0.0, 2.0], [-1.0, 0.0]], [[0, 1], [0, 0]])
    assert metrics["accuracy"] == 1.0
    assert metrics["hamming_accuracy"] == 1.0


def test_pearson_r_of_two_points_and_of_a_falling_line():
    """Two points define a correlation of +-1 (mutant: `nan` below 3 points); a falling line is -1, not +1
    (mutant: its absolute value)."""
    assert pearson_r([1.0, 2.0], [3.0, 5.0]) == pytest.approx(1.0)
    assert pearson_r([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # centred (-1, 0, 1) and 2 / 3 * (1, 1, -2): r = (-1 + 0 - 2) / sqrt(2 * 6) = -3 / sqrt(12)
    assert pearson_r([1.0, 2.0, 3.0], [2.0, 2.0, 0.0]) == pytest.approx(-3.0 / math.sqrt(12.0))
    assert regression_metrics([3.0, 2.0, 1.0], [1.0, 2.0, 3.0])["pearson_r"] == pytest.approx(-1.0)


def test_a_target_named_twice_is_refused():
    """The second target's metrics overwrote the first's under one name (mutant: only the count was checked)."""
    values = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 5.0]])
    with pytest.raises(ValueError, match="with a name twice"):
        regression_metrics(values, values, target_names=["hr", "hr"])


# ------------------------------------------------------------------------------------------- Trainer compute_metrics

_RIGHT = (np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([0, 1]))
_WRONG = (np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([1, 0]))


def test_batch_metrics_of_one_evaluation_leave_no_batches_to_the_next():
    """With `batch_eval_metrics=True` outside the package's Trainer hooks (no `start_evaluation` call), the second
    evaluation scored the first one's batches too (mutant: the batches not cleared): accuracy 0.5, not 1.0."""
    compute_metrics = compute_metrics_fn("classification")
    assert compute_metrics(EvalPrediction(*_WRONG), compute_result=True)["accuracy"] == 0.0
    assert compute_metrics(EvalPrediction(*_RIGHT), compute_result=True)["accuracy"] == 1.0


def test_the_first_of_a_models_outputs_is_scored():
    """A model returning (logits, hidden states): its logits are scored, whole or in batches left apart
    (`eval_do_concat_batches=False`) (mutants: the last output)."""
    extra = np.array([[0.0, 0.0, 5.0], [0.0, 0.0, 5.0]])  # an argmax of 2 on labels of 2 classes: refused
    compute_metrics = compute_metrics_fn("classification")
    assert compute_metrics(EvalPrediction((_RIGHT[0], extra), _RIGHT[1]))["accuracy"] == 1.0
    batches = EvalPrediction([(_RIGHT[0], extra), (_WRONG[0], extra)], [_RIGHT[1], _WRONG[1]])
    assert compute_metrics(batches)["accuracy"] == 0.5  # 2 of the 4 rows right


# ------------------------------------------------------------------------------------------ per-recording metrics


def test_a_one_output_classifier_is_scored_per_recording_through_its_sigmoid():
    """One output: the mean sigmoid of each recording, as log-odds (mutants: a softmax of one column, always 1, or
    log-probabilities without the log1p term, always below 0: every recording class 0)."""
    outputs = np.array([[2.0], [1.0], [-2.0], [-1.0]])
    metrics, count = recording_metrics(
        outputs, np.array([1, 1, 0, 0]), ["a", "a", "b", "b"], np.ones(4), "classification"
    )
    assert count == 2
    assert metrics["accuracy"] == 1.0


def test_a_recordings_windows_are_weighted_by_their_seconds():
    """A padded last window covering 1 s counts for that second (mutant: every window alike)."""
    outputs = np.array([[3.0, 0.0], [0.0, 1.0], [2.0, 0.0], [2.0, 0.0]])
    seconds = np.array([1.0, 9.0, 5.0, 5.0])
    # recording a: p(class 1) = 1 / (1 + e^3) = 0.047 for 1 s and e / (1 + e) = 0.731 for 9 s: 0.1 * 0.047 +
    # 0.9 * 0.731 = 0.663, class 1 (its label); unweighted (0.047 + 0.731) / 2 = 0.389, class 0. Recording b: class 0.
    metrics, _ = recording_metrics(outputs, np.array([1, 1, 0, 0]), ["a", "a", "b", "b"], seconds, "classification")
    assert metrics["accuracy"] == 1.0


def test_a_recording_holding_windows_of_two_labels_is_not_scored():
    """No label for the whole of it: no per-recording score (mutant: the grouping check dropped)."""
    outputs = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [2.0, 0.0]])
    labels = np.array([0, 1, 0, 0])
    assert recording_metrics(outputs, labels, ["a", "a", "b", "b"], np.ones(4), "classification") is None


# ---------------------------------------------------------------------------------------------------- label budgets


def test_a_fraction_of_a_regression_pool_draws_at_least_two_examples():
    """One target has no spread (Pearson r undefined): at least 2 (mutant: at least 1). 5% of 10 rounds to 0."""
    assert len(draw_budget(np.linspace(0.0, 1.0, 10), LabelBudget("fraction", 0.05), seed=0)) == 2


def test_drawn_example_labels_count_each_recording_once():
    """Windows `a, a, b, b, c` of labels `0, 0, 1, 1, 1` are 3 examples: labels [0, 1, 1] (mutant: the 5 rows')."""
    labels = np.array([0, 0, 1, 1, 1])
    drawn = drawn_example_labels(labels, np.arange(5), groups=["a", "a", "b", "b", "c"])
    assert sorted(drawn.tolist()) == [0, 1, 1]


def test_a_per_class_budget_draws_one_of_each_of_many_classes():
    """60 classes of integer labels are classes, whatever their count (mutant: read as regression targets)."""
    assert len(draw_budget(np.repeat(np.arange(60), 2), LabelBudget("per_class", 1.0), seed=0)) == 60


def test_a_validation_fraction_of_one_is_refused():
    """All of a training set to validation leaves no pool (mutant: `fraction <= 1` accepted)."""
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        carve_validation(10, fraction=1.0)


def test_recordings_missing_as_nan_are_recordings_of_their_own():
    """pandas' NaN for a missing recording id: each such row apart, not one recording "nan" (mutant: only None)."""
    keys = group_keys(["a", float("nan"), float("nan")], 3)
    assert len(set(keys.tolist())) == 3


def test_budgets_sort_counts_then_fractions_then_all():
    """The order of every table's budgets (mutant: fractions before counts)."""
    budgets = [parse_budget("all"), parse_budget("10%"), parse_budget("5")]
    assert [b.label for b in sorted(budgets, key=lambda b: b.sort_key)] == ["5/class", "10%", "all"]


# --------------------------------------------------------------------------------------------------------- report


def _run(arm, seed, value, **fields):
    return dict(dataset="basic_motions", task="classification", arm=arm, budget="5/class", budget_order=0,
                seed=seed, n_train=4, num_classes=4, accuracy=value, balanced_accuracy=value, macro_f1=value,
                auroc=value, **fields)  # fmt: skip


def test_mean_std_leaves_out_infinite_values():
    """An overflowed metric (inf) has no value, as NaN and None (mutant: only NaN left out)."""
    assert mean_std([0.5, math.inf, None, math.nan]) == (0.5, 0.0)


def test_summary_means_the_training_sizes_and_keeps_the_most_recordings():
    """`n_train` is the mean over seeds (mutant: the first seed's), `scored_recordings` the largest (mutant: the
    smallest)."""
    runs = [_run("arm", 0, 0.5, scored_recordings=3), _run("arm", 1, 0.7, scored_recordings=5)]
    runs[1]["n_train"] = 6
    (entry,) = summarize(runs)
    assert entry["n_train"] == 5.0
    assert entry["scored_recordings"] == 5


def test_a_run_recorded_without_a_draw_pairs_with_one_that_names_it():
    """`_agree`: a run of an older version (no `draw`) is taken to agree (mutant: only equal draws paired)."""
    runs = [_run("arm", 0, 0.7, draw="abc"), _run("base", 0, 0.5)]
    (gap,) = paired_gaps(runs, {"arm": "base"})
    assert gap["pairs"] == 1
    assert gap["gain_mean"] == pytest.approx(20.0)  # (0.7 - 0.5) in points


def test_a_pair_whose_reference_has_no_value_is_not_counted():
    """Seed 1's reference has no macro-F1: 1 pair, not 2 (mutant: only the arm's value was checked)."""
    runs = [_run("arm", 0, 0.7), _run("base", 0, 0.5), _run("arm", 1, 0.6), _run("base", 1, math.nan)]
    (gap,) = paired_gaps(runs, {"arm": "base"})
    assert (gap["pairs"], gap["wins"]) == (1, 1)


def test_a_cell_exactly_at_the_collapse_floor_has_not_collapsed():
    """Below chance plus the margin collapses; at it, not (mutant: `<=`)."""
    floor = 1.0 / 4 + COLLAPSE_MARGIN
    assert collapsed_cells([_run("arm", 0, floor)]) == []
    assert len(collapsed_cells([_run("arm", 0, floor - 0.01)])) == 1


# --------------------------------------------------------------------------------------- the extractor's windows


@pytest.mark.parametrize(
    ("samples", "hop", "starts"),
    [
        (40, 20, [0.0, 2.0]),  # two whole windows end at the end: nothing left to pad (mutant `<=`: an empty third)
        # 2 s windows every 6 s: 0, 6, ..., 24 s cover up to 26 s; the next hop (30 s) is past a 29 s recording's end
        # and would leave 26-29 s out: the last window holds the end, 27-29 s (mutants: a window from 26 s or 30 s)
        (290, 60, [0.0, 6.0, 12.0, 18.0, 24.0, 27.0]),
        # the next hop lands exactly on a 30 s recording's end: the last window is 28-30 s, not an empty one at 30 s
        # (mutant `start > length`)
        (300, 60, [0.0, 6.0, 12.0, 18.0, 24.0, 28.0]),
    ],
)
def test_pad_last_window_adds_one_window_holding_the_end(samples, hop, starts):
    from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

    extractor = CiTrusFeatureExtractor(sampling_rate=10, context_length=20, patch_length=5, num_channels=1)
    recording = np.random.default_rng(0).standard_normal((1, samples))
    windows = extractor(recording, sampling_rate=10, alignment="window", hop_length=hop, pad_last_window=True)
    assert windows["window_start_seconds"].tolist() == starts
    assert windows["patch_mask"].all()  # every window holds recording, none is padding only
