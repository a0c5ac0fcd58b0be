"""Audit 73, leftovers (3): results.csv without the split scored, the tables' std without its ddof, MiniRocket's
regression on one labelled example, two report lists under one name, and a daylight-saving refusal that also called
the hour "samples missing"."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording
from citrus_hf.evaluation import protocol, report
from citrus_hf.evaluation.report import markdown_tables, write_csv


def _run(arm: str, seed: int, f1: float, **extra) -> dict:
    metrics = dict.fromkeys(("accuracy", "balanced_accuracy", "macro_f1", "auroc"), f1)
    return {
        "dataset": "d",
        "task": "classification",
        "arm": arm,
        "budget": "5/class",
        "budget_order": 0,
        "seed": seed,
        "n_train": 10,
        "num_classes": 2,
        **metrics,
        **extra,
    }


# --------------------------------------------------------------------------------- results.csv names the split


def test_results_csv_says_the_split_and_recipe_each_run_was_scored_with(tmp_path):
    """results.json and results.md said a run was scored on the validation split; results.csv, the table a user
    opens in a spreadsheet, held no `scored_on` (nor `recipe`) column, so validation scores read as test scores."""
    runs = [
        _run("citrus-small", 0, 0.8, scored_on="validation", recipe="lp-ft"),
        _run("minirocket", 0, 0.7, recipe="ridge-cv"),  # recorded before `scored_on` existed: scored on test
    ]
    with open(write_csv(runs, tmp_path / "results.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["scored_on"], row["recipe"]) for row in rows] == [("validation", "lp-ft"), ("test", "ridge-cv")]


# ------------------------------------------------------------------------------------- the tables' std's ddof


def test_the_tables_say_their_std_is_over_seeds_with_ddof_1():
    """README says the tables' spread is the sample standard deviation (ddof 1); results.md said "mean ± std"."""
    runs = [_run(arm, seed, 0.5 + seed / 10) for arm in ("minirocket", "citrus-small") for seed in (0, 1)]
    table = markdown_tables(runs)
    assert "mean ± std over seeds" not in table
    assert "## d (classification, test macro-F1 (%), mean ± sample std (ddof 1) over seeds)" in table
    gap_title = next(line for line in table.splitlines() if line.startswith("## Gap to MiniRocket"))
    assert "ddof 1" in gap_title


# ------------------------------------------------------------------------ MiniRocket regression on one example


def test_minirocket_regression_on_one_example_predicts_its_target_quietly():
    """A budget of one labelled example (allowed where only MiniRocket fits) made scikit-learn's RidgeCV warn
    "invalid value encountered in divide" (its leave-one-out of a single example) nine times per run, while it
    predicted that example's target: the target now without the warnings."""
    pytest.importorskip("aeon")
    from citrus_hf.evaluation.baselines import fit_minirocket

    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(1, 1, 64)).astype(np.float32), rng.normal(size=(3, 1, 64)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predicted = fit_minirocket(train, np.array([3.5]), test, "regression", seed=0)
    assert predicted.shape == (3,) and np.all(predicted == 3.5)


# -------------------------------------------------------------------------------- one name, one list of fields


def test_the_report_and_the_protocol_do_not_name_two_lists_alike():
    """`protocol._RUN_FIELDS` (every field a resumed run's record may hold, with its type) and `report._RUN_FIELDS`
    (the fields the summaries group by) were two different things under one name."""
    assert not hasattr(report, "_RUN_FIELDS")
    assert set(report._GROUPED_FIELDS) <= set(protocol._RUN_FIELDS)


def test_paired_gaps_and_unlike_twins_read_one_index_of_runs():
    """Both built the same (dataset, budget, arm, seed) index of the runs, each in its own words."""
    runs = [_run("minirocket", 0, 0.7), _run("citrus-small", 0, 0.8)]
    assert report._runs_by_seed(runs) == {
        ("d", "5/class", "minirocket", 0): runs[0],
        ("d", "5/class", "citrus-small", 0): runs[1],
    }
    (gap,) = report.baseline_gaps(runs)
    assert gap["gain_mean"] == pytest.approx(10.0)


# ------------------------------------------------------------------- a daylight-saving jump is no samples missing


def test_a_spring_daylight_saving_refusal_does_not_call_the_hour_samples_missing(tmp_path):
    """The refusal said "(3600 s of samples missing)", then "That is an hour forward, as where daylight saving time
    begins: the stamps are a local clock's": nothing is missing there."""
    import datetime

    def times(first, count):
        return [(first + datetime.timedelta(seconds=index / 100)).isoformat(sep=" ") for index in range(count)]

    stamps = times(datetime.datetime(2025, 3, 30, 1, 59, 59), 100) + times(datetime.datetime(2025, 3, 30, 3), 200)
    path = tmp_path / "log.csv"
    path.write_text("time,ecg\n" + "".join(f"{stamp},{index % 7}\n" for index, stamp in enumerate(stamps)))
    with pytest.raises(CorruptFileError, match="daylight saving time begins") as caught:
        read_recording(path, sampling_rate=100)
    message = str(caught.value)
    assert "missing" not in message
    assert "jumps from 2025-03-30 01:59:59.99 to 2025-03-30 03:00:00 (3600 s forward) after data row 100" in message
    assert "UTC offset (2025-03-30T03:00:00+02:00)" in message  # a spring stamp, not the autumn one it showed


def test_a_gap_that_is_not_an_hour_still_says_samples_missing(tmp_path):
    path = tmp_path / "log.csv"
    seconds = [index / 100 for index in range(100)] + [61 + index / 100 for index in range(200)]
    path.write_text("time,ecg\n" + "".join(f"{value:.2f},{index % 7}\n" for index, value in enumerate(seconds)))
    with pytest.raises(CorruptFileError, match=r"jumps from 0\.99 to 61 s \(60 s of samples missing\)"):
        read_recording(path, sampling_rate=100)
