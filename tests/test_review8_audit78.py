"""Review of session 78's metrics change (`_as_array` reading a pandas Series of per-row arrays as rows): rows of
different shapes, and label columns with missing values, are refused by the metrics in one line naming them."""

import math

import numpy as np
import pandas as pd
import pytest

from citrus_hf.training.metrics import accuracy, classification_metrics, macro_f1, pearson_r, regression_metrics


# --------------------------------------------------------------------------------- 1. ragged rows
@pytest.mark.parametrize(
    "rows",
    [
        [np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0])],  # a list of rows (always read element by element)
        pd.Series([np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0])], index=[5, 9]),  # `df["pred"]`, own index
        pd.Series([1.0, np.array([3.0, 4.0])]),  # a scalar among the rows
    ],
    ids=["list", "series", "scalar-among-rows"],
)
def test_rows_of_different_shapes_are_refused_naming_them(rows):
    """numpy's "setting an array element with a sequence. The requested array has an inhomogeneous shape" came out
    of the metrics, naming neither the rows nor the fix."""
    with pytest.raises(ValueError, match=r"^The rows to score differ in shape: row 0 is \(\d?,?\) and row 1 is "):
        regression_metrics(rows, rows)
    with pytest.raises(ValueError, match=r"^The rows to score differ in shape"):
        pearson_r(rows, rows)


def test_a_series_of_rows_alike_with_its_own_index_scores_as_the_stacked_rows():
    """Guard (passes before the fix too): a Series' index is not its order of rows, nor read as values; class names
    and labels stay as they were (a Series of strings is no list of rows)."""
    rows = [np.array([1.0, 2.0]), np.array([3.0, 5.0]), np.array([2.0, 1.0])]
    predictions = [row + 0.5 * index for index, row in enumerate(rows)]
    frame = pd.DataFrame({"pred": predictions, "target": rows}, index=[7, 3, 1])
    assert regression_metrics(frame["pred"], frame["target"]) == regression_metrics(np.stack(predictions), rows)
    with pytest.raises(TypeError, match="got strings such as 'walk'"):
        accuracy(pd.Series(["walk", "run"]), [0, 1])


# --------------------------------------------------------------------------------- 2. missing labels
@pytest.mark.parametrize(
    "labels",
    [
        pd.Series([1, None, 2], dtype=object),  # pandas' object column with an empty cell
        pd.Series([1, np.nan, 2]),  # the same column read as floats
        pd.Series([1, None, 2], dtype="Int64"),  # pandas' nullable integers
        np.array([1, float("nan"), 2], dtype=object),
    ],
    ids=["object-none", "float-nan", "Int64-NA", "object-nan"],
)
def test_missing_class_labels_are_refused_as_missing(labels):
    """None failed in numpy's `mod` ("unsupported operand type(s) for %: 'NoneType' and 'int'") and NaN was called
    "fractional values"."""
    with pytest.raises(ValueError, match=r"^Class labels are missing \(None or NaN\) in 1 of 3 rows: drop those rows"):
        accuracy(labels, [1, 0, 2])
    with pytest.raises(ValueError, match=r"^Class labels are missing"):
        macro_f1(labels, [1, 0, 2])
    with pytest.raises(ValueError, match=r"^Class labels are missing"):
        classification_metrics(np.eye(3), labels)


def test_whole_labels_and_nan_logits_still_score():
    """Guard (passes before the fix too): whole float labels are class indices, and NaN logits still give NaN metrics
    rather than a refusal."""
    assert accuracy(pd.Series([1.0, 0.0, 2.0]), [1, 0, 2]) == 1.0
    assert math.isnan(classification_metrics(np.full((3, 3), np.nan), [1, 0, 2])["accuracy"])


# --------------------------------------------------------------------------------- 3. lights outside the recording
@pytest.mark.parametrize("lights", [{"lights_on": 7200.0}, {"lights_off": -600.0, "lights_on": 3000.0}])
def test_a_sleep_summary_with_lights_outside_the_recording_is_refused(lights):
    """Lights on past the recording's end counted the seconds it does not hold as time in bed: a night of 3600 s
    staged N2 throughout read a sleep efficiency of 50 %, where `citrus predict` refuses such a time."""
    from citrus_hf.inference.time_use import sleep_summary

    windows = [
        {"start": float(start), "end": start + 30.0, "label": "N2", "no_signal": False} for start in range(0, 3600, 30)
    ]
    assert sleep_summary(windows, 3600.0, {"N2": "N2"})["sleep_efficiency_percent"] == 100.0
    with pytest.raises(
        ValueError, match=r"^Lights out \(-?\d+ s\) to lights on \(\d+ s\) falls outside the recording \(0 to 3600 s"
    ):
        sleep_summary(windows, 3600.0, {"N2": "N2"}, **lights)
