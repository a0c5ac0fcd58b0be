"""Audit 73, the evaluation package's numbers: the report's functions given the lines of runs.jsonl (which their
messages name as input), and the few-shot benchmark's goals."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from citrus_hf.evaluation.report import baseline_gaps, markdown_tables, paired_gaps, summarize

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(arm: str, seed: int, f1: float | None, budget: str = "5/class", **extra) -> dict:
    """A run record as runs.jsonl holds it (a metric without a value is null there)."""
    metrics = dict.fromkeys(("accuracy", "balanced_accuracy", "macro_f1", "auroc"), f1)
    return {
        "dataset": "d",
        "task": "classification",
        "arm": arm,
        "budget": budget,
        "budget_order": 0,
        "seed": seed,
        "n_train": 10,
        "num_classes": 2,
        **metrics,
        **extra,
    }


def test_a_seed_without_a_value_in_runs_jsonl_is_left_out_of_the_paired_gap():
    """runs.jsonl writes a diverged run's NaN metrics as null: `summarize` left that seed out, `paired_gaps` failed
    with Python's "must be real number, not NoneType"."""
    lines = [_run("minirocket", 0, 0.8), _run("minirocket", 1, 0.7), _run("citrus-small", 0, None)]
    lines.append(_run("citrus-small", 1, 0.9))
    (gap,) = baseline_gaps(json.loads(json.dumps(lines)))
    assert gap["pairs"] == 1 and gap["gain_mean"] == pytest.approx(20.0)


def test_two_runs_of_one_seed_are_refused_not_counted_twice():
    """runs.jsonl of a resumed folder keeps the runs of its earlier settings (another signature) beside the new ones:
    given its lines, `summarize` took the 3 old and 3 new MiniRocket runs for 6 seeds of one cell (mean 0.7 of two
    protocols), and `paired_gaps` paired every citrus-small seed with whichever came last."""
    lines = [_run("minirocket", seed, 0.5, signature="old") for seed in range(3)]
    lines += [_run("minirocket", seed, 0.9, signature="new") for seed in range(3)]
    lines += [_run("citrus-small", seed, 0.8, signature="new") for seed in range(3)]
    for report in (summarize, baseline_gaps, markdown_tables):
        with pytest.raises(ValueError, match=r"seed 0 .*minirocket.*results\.json"):
            report(lines)
    # one run per seed (results.json's runs) is reported as before
    kept = [line for line in lines if line["signature"] == "new"]
    assert {entry["arm"]: entry["seeds"] for entry in summarize(kept)} == {"citrus-small": 3, "minirocket": 3}
    assert paired_gaps(kept, {"citrus-small": "minirocket"})[0]["pairs"] == 3


def test_a_cell_missing_seeds_says_how_many_it_is_over():
    """An arm with runs for fewer seeds than the others of its set (runs gathered by hand, an arm added to a folder
    for some seeds) was shown as `mean ± std` like the complete cells, under a heading of "mean ± std over seeds"."""
    runs = [_run("minirocket", seed, 0.5 + seed / 10) for seed in range(5)]
    runs += [_run("citrus-small", seed, 0.8) for seed in range(2)]
    table = markdown_tables(runs)
    (small,) = [line for line in table.splitlines() if line.startswith("| citrus-small |")]
    (rocket,) = [line for line in table.splitlines() if line.startswith("| minirocket |")]
    assert "(2 of 5 seeds)" in small and "seeds)" not in rocket


def _few_shot():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module("few_shot")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_few_shot_goals_judge_only_the_cells_of_their_budgets():
    """The goals are about classification cells at 5 and 20 labels per class ("cells": 22 in goals.json), but the
    cells below chance + 10 points were listed over every budget: the published goals.json listed 17, eight of them
    at 1 label per class, beside "cells": 22."""
    few_shot = _few_shot()
    runs = []
    for budget in ("1/class", "5/class"):
        runs += [_run("minirocket", seed, 0.9, budget) for seed in range(2)]
        runs += [_run("citrus-scratch", seed, 0.5, budget) for seed in range(2)]
    runs += [_run("citrus-small", seed, 0.55, "1/class") for seed in range(2)]  # below chance (0.5) + 0.1
    runs += [_run("citrus-small", seed, 0.9, "5/class") for seed in range(2)]
    goals = few_shot.goals(runs)
    assert goals["cells"] == 1 and goals["cells_below_chance_plus_10"] == []


def test_few_shot_goals_count_a_tie_within_the_reports_tolerance_as_at_least_as_good():
    """The macro-F1s of the same per-class F1s in another class order differ in the last bit (report.TIE_TOLERANCE):
    the report calls such a pair a tie, the goals called citrus-small behind MiniRocket in that cell."""
    few_shot = _few_shot()
    runs = [_run("minirocket", seed, 0.7407407407407408) for seed in range(2)]
    runs += [_run("citrus-small", seed, 0.7407407407407406) for seed in range(2)]
    goals = few_shot.goals(runs)
    assert goals["cells_citrus_small_ge_minirocket"] == 1 and goals["cells_behind_minirocket"] == []


def test_the_published_goals_are_those_of_the_published_runs():
    """goals.json is `goals` of the runs the published report holds (results.json's: runs.jsonl also keeps the runs
    of earlier settings)."""
    folder = BENCHMARKS / "results" / "few_shot"
    from citrus_hf.training.metrics import metrics_as_numbers

    runs = [metrics_as_numbers(run) for run in json.loads((folder / "results.json").read_text())["runs"]]
    assert json.loads((folder / "goals.json").read_text()) == json.loads(json.dumps(_few_shot().goals(runs)))


def test_two_budgets_of_one_label_are_refused_before_any_fit():
    """Two fractions alike to the label's 6 digits (0.3333333 and 0.33333334: both "33.3333%") were fitted as two
    budgets, but their runs are recorded, resumed and pooled by that label: each cell held two runs of every seed."""
    from citrus_hf.evaluation.settings import ProtocolConfig

    for settings in (
        {"budgets": ["0.3333333", "0.33333334"]},
        {"dataset_budgets": {"hr_ecg": ["5", "0.1234561", "0.1234564"]}},
    ):
        with pytest.raises(ValueError, match=r"lists '0\.\d+' and '0\.\d+', which are the same label in the report"):
            ProtocolConfig(datasets=["basic_motions"], arms=["prior"], seeds=[0], **settings)
    # budgets of the same meaning are refused as before
    with pytest.raises(ValueError, match="--budgets lists '5/class' and '5', which are the same draw"):
        ProtocolConfig(datasets=["basic_motions"], arms=["prior"], seeds=[0], budgets=["5", "5/class"])
