"""Audit 71 of the evaluation protocol's baselines and metrics, through the traps scikit-learn and aeon users
reported upstream: the Pearson r of a constant side, gaps paired across different draws, and a "pre-training gain"
taken between two arms that are not the same model.

Reads the offline real corpus (BasicMotions); fetch it first with `citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from citrus_hf.training.metrics import pearson_r, regression_metrics


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
