"""Paired comparison of one arm against another arm that ran in a different results folder, on the same draws.

`citrus evaluate` and `benchmarks/few_shot.py` draw the labelled subset of a run from the dataset, the budget and
the seed alone (the pool is the training split less the fixed validation carve), so two results folders scored on
the same split hold runs on the same labelled windows and pair up by seed. This script checks that the two folders
were scored on the same split with the same validation carve, pairs the runs (the last report's runs of each
folder, `results.json`; runs of one seed that name other drawn windows, `draw`, do not pair) and prints the gap per
set and budget, its mean over sets and the sets ahead, in macro-F1 points (MAE for regression, signed so that
positive means the first arm is better).

    python benchmarks/compare_results.py benchmarks/results/few_shot:citrus-small \\
        benchmarks/results/patchtst:patchtst-scratch --budgets 5/class 20/class
    python benchmarks/compare_results.py benchmarks/results/few_shot:citrus-small \\
        benchmarks/results/eeg_only:citrus-time --budgets 5/class 20/class
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from citrus_hf.commands.script import run_script
from citrus_hf.evaluation.report import paired_gaps

# protocol settings that decide which labelled windows a run draws and where it is scored
DRAW_SETTINGS = ("score_split", "validation_fraction", "dataset_options", "sampling_rate")


def load_arm(reference: str) -> tuple[dict, list[dict]]:
    """`FOLDER:ARM` -> (the folder's protocol settings, the arm's runs in its last report)."""
    folder, _, arm = reference.rpartition(":")
    if not folder or not arm:
        raise SystemExit(f"Give each side as FOLDER:ARM, got {reference!r}.")
    for name in ("protocol.json", "results.json"):
        if not (Path(folder) / name).is_file():
            raise SystemExit(f"{folder} has no {name}: give a folder `citrus evaluate --output-dir` wrote.")
    protocol = json.loads((Path(folder) / "protocol.json").read_text())
    from citrus_hf.training.metrics import metrics_as_numbers

    recorded = json.loads((Path(folder) / "results.json").read_text())["runs"]
    runs = [metrics_as_numbers(run) for run in recorded if run["arm"] == arm]
    if not runs:
        raise SystemExit(f"{folder} has no runs of the arm {arm!r}.")
    return protocol, runs


def _budget_of(run: dict):
    """The budget a run was drawn with, from its recorded label ("5/class", "20 ex.", "all", "10%")."""
    from citrus_hf.data.splits import parse_budget

    label = str(run["budget"]).replace(" ex.", "")
    return parse_budget(label)


def compare(first: str, second: str, budgets: list[str] | None = None) -> dict:
    """Paired gaps of `first` (FOLDER:ARM) over `second`: `cells`, one per set and budget (`paired_gaps`), and
    `budgets`, `{budget: {metric: {"mean_gap", "sets_ahead", "sets"}}}` over the sets scored by that metric."""
    (protocol_a, runs_a), (protocol_b, runs_b) = load_arm(first), load_arm(second)
    for key in DRAW_SETTINGS:
        if protocol_a.get(key) != protocol_b.get(key):
            raise SystemExit(
                f"The folders differ in {key} ({protocol_a.get(key)!r} vs {protocol_b.get(key)!r}): their runs are "
                "not on the same draws."
            )
    # Distinct names, in case both sides are the same arm from two folders.
    runs = [{**run, "arm": "first"} for run in runs_a] + [{**run, "arm": "second"} for run in runs_b]
    if budgets:
        from citrus_hf.data.splits import parse_budget

        # "5" and "5/class" are one budget: compared by meaning, with the label each run was recorded under
        wanted = {parse_budget(budget) for budget in budgets}
        runs = [run for run in runs if _budget_of(run) in wanted]
    gaps = paired_gaps(runs, {"first": "second"})
    if not gaps:
        raise SystemExit(
            "No run of the first arm pairs with one of the second (same set, budget, seed and drawn windows): check "
            f"the budgets ({sorted({run['budget'] for run in runs_a})} and {sorted({run['budget'] for run in runs_b})}), "
            "the sets, and that both folders drew from the same pools (runs of other draws do not pair)."
        )
    # Grouped by budget and metric: a classification set and a regression set both label a budget "all" (or "10%"),
    # and a mean of macro-F1 points and MAE in bpm has no unit.
    by_budget: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for gap in gaps:
        by_budget[gap["budget"]][gap["metric"]].append(gap)
    return {
        "first": first,
        "second": second,
        "cells": gaps,
        "budgets": {
            budget: {
                metric: {
                    "mean_gap": statistics.mean(g["gain_mean"] for g in cells),
                    "sets_ahead": sum(g["gain_mean"] > 0 for g in cells),
                    "sets": len(cells),
                }
                for metric, cells in by_metric.items()
            }
            for budget, by_metric in by_budget.items()
        },
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", help="FOLDER:ARM, the arm whose gap is reported")
    parser.add_argument("second", help="FOLDER:ARM, the arm it is compared with")
    parser.add_argument("--budgets", nargs="+", help="only these budgets (e.g. 5/class 20/class)")
    args = parser.parse_args(argv)
    result = compare(args.first, args.second, args.budgets)
    print(f"{args.first} minus {args.second} (paired by seed; positive: the first is better)\n")
    print("| set | budget | gap | first better in |")
    print("|---|---|---|---|")
    for gap in result["cells"]:
        print(
            f"| {gap['dataset']} | {gap['budget']} | {gap['gain_mean']:+.2f} ± {gap['gain_std']:.2f} | "
            f"{gap['wins']}/{gap['pairs']} seeds" + (f" ({gap['ties']} tied)" if gap.get("ties") else "") + " |"
        )
    print()
    for budget, by_metric in result["budgets"].items():
        for metric, summary in by_metric.items():
            print(
                f"{budget}: mean gap {summary['mean_gap']:+.2f} ({metric}) over {summary['sets']} sets, "
                f"ahead on {summary['sets_ahead']}"
            )
    return result


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
