"""Audit 77, review 6 (of the apidocs commits): target names given as an array, one numpy channel position, and a
user's set that declares its selection keys."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

# ------------------------------------------------ 1. target names as an array (a DataFrame's columns) are names


@pytest.mark.parametrize("names", [np.array(["hr", "br"]), pd.Index(["hr", "br"])], ids=["ndarray", "index"])
def test_target_names_given_as_an_array_name_the_targets(names):
    """`regression_metrics(..., target_names=df.columns)` named each target's metrics before the str-is-one-name change
    and then failed on numpy's / pandas' "truth value ... is ambiguous"; `compute_metrics_fn` failed so throughout."""
    from citrus_hf.training.metrics import compute_metrics_fn, regression_metrics

    predictions = np.arange(12, dtype=float).reshape(6, 2)
    metrics = regression_metrics(predictions, predictions + 1.0, target_names=names)
    assert metrics["mae_hr"] == metrics["mae_br"] == 1.0
    assert compute_metrics_fn("regression", target_names=names).citrus_target_names == ["hr", "br"]


# ------------------------------------------------ 2. one numpy channel position alone is named by its plain value


@pytest.mark.parametrize("position", [np.int64(0), np.array(0)], ids=["numpy-int", "0-d-array"])
def test_one_numpy_channel_position_is_named_with_the_plain_list_to_pass(position, edf_path):
    """`channels=np.int64(0)` was told to pass `[np.int64(0)]`, and a 0-d array (`np.array(0)`) failed with Python's
    "len() of unsized object"; both are one position, and the list to pass is `[0]`."""
    from citrus_hf.data.readers import read_recording

    with pytest.raises(TypeError, match=r"pass \[0\]\.$"):
        read_recording(edf_path, channels=position)
