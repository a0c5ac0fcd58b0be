"""Audit 71 of the evaluation protocol's baselines and metrics, through the traps scikit-learn and aeon users
reported upstream: the Pearson r of a constant side, gaps paired across different draws, and a "pre-training gain"
taken between two arms that are not the same model.

Reads the offline real corpus (BasicMotions); fetch it first with `citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from citrus_hf.evaluation.report import baseline_gaps
from citrus_hf.training.metrics import pearson_r, regression_metrics


def _run(arm, seed, value, **extra):
    return dict(
        dataset="har",
        task="classification",
        arm=arm,
        budget="5/class",
        budget_order=0,
        seed=seed,
        n_train=20,
        num_classes=4,
        accuracy=value,
        balanced_accuracy=value,
        macro_f1=value,
        auroc=value,
        **extra,
    )


@pytest.mark.parametrize("value", [0.1, 70.123456789, 1e5 + 0.1])
def test_pearson_r_of_a_constant_side_has_no_value_whatever_the_constant(value):
    """A constant prediction (the prior's mean target) or constant targets: the correlation is undefined, NaN as
    documented. The mean of 1,001 copies of 0.1 is not 0.1 to the last bit, so the centred copies were 1e-17 each and
    r came out as 4e-16, which the tables showed as a Pearson r of 0.000 and averaged over seeds as a real one."""
    targets = np.random.default_rng(0).normal(70.0, 10.0, 1001)
    constant = np.full(1001, value)
    assert math.isnan(pearson_r(targets, constant))
    assert math.isnan(pearson_r(constant, targets))
    assert math.isnan(regression_metrics(constant, targets)["pearson_r"])
    # a prediction that varies keeps its correlation
    assert pearson_r(targets, targets * 2 + value) == pytest.approx(1.0)


def test_gaps_pair_only_runs_fitted_on_the_same_draw():
    """Two runs of one seed fitted on other labelled windows (results folders of other pools, compared by
    benchmarks/compare_results.py) are no pair: their gap mixes the draws' luck into the arms' difference."""
    runs = [
        _run("citrus-small", 0, 0.9, draw="aaaa"),
        _run("minirocket", 0, 0.5, draw="bbbb"),  # another draw: no pair
        _run("citrus-small", 1, 0.8, draw="cccc"),
        _run("minirocket", 1, 0.7, draw="cccc"),
        _run("citrus-small", 2, 0.6),  # recorded before runs named their draw: paired as before
        _run("minirocket", 2, 0.5),
    ]
    (gap,) = baseline_gaps(runs)
    assert gap["pairs"] == 2
    assert gap["gain_mean"] == pytest.approx(10.0)
