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


# ------------------------------------------------ 3. a user's set that declares its selection keys is held to them


def _users_builder(options, context):  # a builder of a set of one's own (this module is no part of the package)
    raise AssertionError("not reached: the selection is checked first")


def test_a_users_set_that_declares_its_selection_keys_refuses_another_key():
    """`register_dataset(selection_keys=("records",))` on a user's set declared what its builder reads, but a
    `selection={"subjects": [1]}` was still dropped without a word (only the package's sets were checked)."""
    from citrus_hf.data import CitrusDataError, get_dataset_spec
    from citrus_hf.data.builders import _check_selection

    spec = dataclasses.replace(get_dataset_spec("mitdb_beats"), name="my_beats", builder=_users_builder)
    assert not spec.of_the_package
    with pytest.raises(CitrusDataError, match=r"'my_beats' takes no selection of 'subjects'.*'records'"):
        _check_selection(spec, {"subjects": [1]})
    _check_selection(spec, {"records": ["100"]})  # a declared key is taken


def test_a_users_set_that_declares_no_selection_keys_is_unchecked():
    """Guard: a set of one's own that declares no keys reads what its builder reads, as the docs promise."""
    from citrus_hf.data import get_dataset_spec
    from citrus_hf.data.builders import _check_selection

    spec = dataclasses.replace(get_dataset_spec("eeg_blink"), name="my_set", builder=_users_builder)
    _check_selection(spec, {"patients": ["p1"]})
