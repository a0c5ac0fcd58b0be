"""Reports of the low-data protocol: every run as JSON and CSV, mean ± std tables in Markdown, and a plot of the main
metric against the label budget (one line per arm, error bars over seeds; a panel of the windows' scores per dataset,
and one of its scores per labelled recording where its runs hold them).

A run record (one line of `runs.jsonl`, written by `protocol._run_record`) is a flat dict: `dataset`, `task`, `arm`,
`budget` (its label, e.g. "5/class"), `budget_order`, `seed`, `n_train`, `num_classes` (None for regression),
`absent_classes` (the names of the classes the scored split has no example of; runs recorded before it lack it), the
test metrics (`training.metrics.metrics_for_task`: `accuracy`, ... or `mae`, ...), `recipe`, `best_step`, `steps`,
`seconds`, `scored_on` (the split scored; runs recorded before it existed were scored on test), `signature`, `data`
and `draw` (a digest of the drawn training rows, and of the examples they are windows of where `window_seconds` cut
them, `protocol.draw_digest`: the same for every arm of a dataset, budget and seed; what a resumed protocol matches earlier runs on, with the signature and data), for the arms that align
windows, `alignment`, for the arms that build a network from a CiTrus config, `model` (a digest of its input contract
and size, `arms.model_digest`: a pre-training gain pairs only runs that agree), and the `torch_version` and
`torch_threads` it ran with (`training.pretrain.run_environment`). Where the scored split's windows are pieces of
labelled recordings (`TaskSplits.labelled_recordings`), the task's metrics scored per recording
(`training.metrics.per_recording`: `recording_macro_f1`, ...) and `scored_recordings`, their count; else
`per_recording`, one line saying why there are none (runs recorded before either lack both).
"""

from __future__ import annotations

import csv
import math
import os
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._figures import distinct_looks, inches_wide, new_figure
from .._files import written_into_folder
from ..data.budgets import budget_of_label
from ..training.metrics import (
    CLASSIFICATION_METRICS,
    PER_RECORDING_PREFIX,
    REGRESSION_METRICS,
    dumps_strict,
    metric_greater_is_better,
    metrics_for_task,
    per_recording,
)
from ..vocabulary_citrus import CLASSIFICATION, REGRESSION
from .arms import ARMS, CLASSICAL_BASELINE
from .records import scored_split

PRIMARY_METRIC = {CLASSIFICATION: "macro_f1", REGRESSION: "mae"}
# results.png: (width, height) of a panel; a panel title's line, in characters (at matplotlib's 12 pt titles, what a
# panel's width holds); a legend row at 8 pt
PANEL_INCHES = (5.2, 4.0)
TITLE_CHARACTERS = 44
LEGEND_ROW_INCHES = 0.19
METRIC_NAMES = {
    "accuracy": "accuracy (%)",
    "balanced_accuracy": "balanced accuracy (%)",
    "macro_f1": "macro-F1 (%)",
    "auroc": "AUROC (%)",
    "mae": "MAE",
    "rmse": "RMSE",
    "pearson_r": "Pearson r",
}
# What the tables' "mean ± ..." spread is (`mean_std`): with a handful of seeds, ddof 0 or 1 differ by a fifth or more
SPREAD = "sample std (ddof 1)"
# A classification cell "collapses" when its macro-F1 is below chance (1 / classes) plus this margin.
COLLAPSE_MARGIN = 0.10
# The hidden folder inside the output folder that `write_report` writes the report into before moving it in.
STAGING_PREFIX = ".citrus-report-"


def scratch_counterparts() -> dict[str, str]:
    """Pre-trained arm -> the arm that is the same model from random weights (the pre-training gain's reference)."""
    return {name: arm.scratch_counterpart for name, arm in ARMS.items() if arm.scratch_counterpart}


def _learns(arm: str) -> bool:
    """Whether `arm` fits a model to the labelled examples (`Arm.learns`: not the prior); an arm this install does
    not register (results of another version) counts as one."""
    return arm not in ARMS or ARMS[arm].learns


def _line_style(arm: str) -> str:
    """Dotted for an arm that learns nothing (the prior), dashed for a network from random weights."""
    if not _learns(arm):
        return ":"
    return "--" if arm in ARMS and ARMS[arm].network and not ARMS[arm].pretrained else "-"


def _window_metric(metric: str) -> str:
    """The window-level metric that `metric` is, or is scored per recording of ("recording_macro_f1": "macro_f1")."""
    return metric.removeprefix(PER_RECORDING_PREFIX)


def _metric_name(metric: str) -> str:
    """What the tables call `metric`: "macro-F1 (%)", "macro-F1 (%) per recording"."""
    name = METRIC_NAMES[_window_metric(metric)]
    return name if metric == _window_metric(metric) else f"{name} per recording"


def _scale(metric: str) -> float:
    """Percent for the [0, 1] classification scores, as they are usually quoted."""
    return 100.0 if _window_metric(metric) in CLASSIFICATION_METRICS else 1.0


def _has_value(value: float | None) -> bool:
    """Whether a run's metric has a value: runs.jsonl writes a metric without one (a diverged run's NaN, the AUROC of
    one class) as null, `ProtocolResult.runs` holds it as NaN."""
    return value is not None and math.isfinite(value)


def mean_std(values: list[float | None]) -> tuple[float, float]:
    """Mean and standard deviation (ddof=1; 0 for one value) of the finite `values`: a seed whose metric has no value
    (None or NaN, such as AUROC with one class in the test split) is left out; NaN for both when none is left."""
    finite = [v for v in values if _has_value(v)]
    if not finite:
        return math.nan, math.nan
    return float(np.mean(finite)), float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0


# The fields of a run record (see the module docstring) that the summaries and tables group and count by; pairing
# runs across arms also needs their `seed`. (The protocol's `_RUN_FIELDS`: every field a resumed run's record may
# hold, and its type.)
_GROUPED_FIELDS = ("dataset", "task", "arm", "budget", "budget_order", "n_train")


def _check_runs(runs: Any, caller: str, needed: tuple[str, ...] = _GROUPED_FIELDS, allow_empty: bool = False) -> None:
    """Refuse `runs` given to `caller` that are not run records (dicts holding the fields `needed`, as `run_protocol`
    writes them into runs.jsonl and returns them as `ProtocolResult.runs`), an empty list unless `allow_empty` (a plot
    of no runs failed with a ZeroDivisionError, a summary of dicts without those fields with a bare KeyError), and two
    runs of one seed of a cell (`_refuse_repeated_seeds`)."""
    if isinstance(runs, (str, bytes, Mapping)) or not isinstance(runs, Sequence):
        raise TypeError(
            f"`{caller}` takes a list of run records (`ProtocolResult.runs`, or the lines of runs.jsonl), got "
            f"{type(runs).__name__}."
        )
    if not runs and not allow_empty:
        raise ValueError(
            f"No runs to report: `{caller}` got an empty list (the protocol produced no result: check the arms, "
            "budgets and seeds)."
        )
    for index, run in enumerate(runs):
        missing = [name for name in needed if name not in run] if isinstance(run, Mapping) else list(needed)
        if missing:
            shown = f"lacks {missing}" if isinstance(run, Mapping) else f"is a {type(run).__name__}, not a dict"
            raise ValueError(
                f"Run {index} given to `{caller}` {shown}: a run record holds {list(needed)} and the task's metrics, "
                "as `run_protocol` writes them (`ProtocolResult.runs`, or the lines of runs.jsonl)."
            )
    _refuse_repeated_seeds(runs, caller)


def _refuse_repeated_seeds(runs: Sequence[Mapping[str, Any]], caller: str) -> None:
    """Refuse two runs of one seed of a cell (dataset, arm, budget): each would count as a seed of its own in the
    mean and spread, and a paired gap would pair only one of them. runs.jsonl keeps the runs of a folder's earlier
    settings (other signatures) beside those of a resumed run, so its lines may hold such pairs; results.json's `runs`
    are one protocol's. Runs recorded without a seed are not compared."""
    first: dict[tuple, int] = {}
    for index, run in enumerate(runs):
        if "seed" not in run:
            continue
        key = (run["dataset"], run["arm"], run["budget"], run["seed"])
        if key in first:
            dataset, arm, budget, seed = key
            raise ValueError(
                f"Runs {first[key]} and {index} given to `{caller}` are both seed {seed} of the arm {arm!r} at budget "
                f"{budget} on {dataset!r}, which would count as two seeds: runs.jsonl keeps the runs of a folder's "
                "earlier settings beside a resumed run's; report results.json's `runs` (`ProtocolResult.runs`), one "
                "run per seed."
            )
        first[key] = index


def _budget_ranks(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """The position of every `(dataset, budget)` of `records` (runs or summary entries) among its dataset's budgets:
    the one order of budgets of every table and list of the report.

    Budgets are ordered by what they mean (`LabelBudget.sort_key`: per-class counts, fractions, all), which is how
    `run_protocol` numbers a command's budgets. A record's own `budget_order` is not: runs resumed from a command with
    another budget list carry that list's positions (20/class is 0 in some runs of one set and 2 in others), so the
    tables ordered by it interleaved budgets. It only places labels this version does not write (another version's),
    after the others, by their largest recorded position.
    """
    orders: dict[tuple[str, str], int] = {}
    for record in records:
        key = (record["dataset"], record["budget"])
        orders[key] = max(orders.get(key, -1), record["budget_order"])

    def position(item: tuple[tuple[str, str], int]) -> tuple:
        (dataset, budget), order = item
        meaning = budget_of_label(budget)
        return dataset, (0, meaning.sort_key, -1) if meaning else (1, (0, 0.0), order), budget

    ranks: dict[tuple[str, str], int] = {}
    for key, _ in sorted(orders.items(), key=position):
        ranks[key] = sum(other[0] == key[0] for other in ranks)
    return ranks


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation (over seeds) of every metric per dataset x arm x budget.

    Returns one dict per group: `dataset`, `task`, `arm`, `budget`, `budget_order` (the budget's position among the
    dataset's, `_budget_ranks`: the report's one order of budgets), `seeds`, `n_train` (mean), `scored_on` (the
    split scored, `records.scored_split`: model cards record it) and `<metric>_mean` / `<metric>_std` for the task's
    metrics, with `<metric>_seeds`, the seeds they are over (`mean_std` leaves out those without a value).
    """
    _check_runs(runs, "summarize", allow_empty=True)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        groups[(run["dataset"], run["arm"], run["budget"])].append(run)
    ranks = _budget_ranks(runs)
    summary = []
    for (dataset, arm, budget), members in groups.items():
        task = members[0]["task"]
        entry = {
            "dataset": dataset,
            "task": task,
            "arm": arm,
            "budget": budget,
            "budget_order": ranks[(dataset, budget)],
            "seeds": len(members),
            "n_train": float(np.mean([m["n_train"] for m in members])),
            "num_classes": members[0].get("num_classes"),
            "scored_on": scored_split(members),
        }
        # the metrics scored per labelled recording too, where the runs were (`protocol._recording_fields`)
        scored = [m for m in members if "scored_recordings" in m]
        metrics = list(metrics_for_task(task))
        if scored:
            metrics += [per_recording(metric) for metric in metrics]
            entry["scored_recordings"] = max(m["scored_recordings"] for m in scored)
        for metric in metrics:
            values = [m.get(metric) for m in members]
            entry[f"{metric}_mean"], entry[f"{metric}_std"] = mean_std(values)
            # the seeds behind the mean: a seed without a value (a diverged fine-tuning's NaN logits) is left out
            entry[f"{metric}_seeds"] = sum(_has_value(value) for value in values)
        summary.append(entry)
    return sorted(summary, key=lambda e: (e["dataset"], e["budget_order"], e["arm"]))


# A paired difference (in the metric's reported unit: points for classification) this small is a tie: the macro-F1s of
# the same per-class F1s in another class order (one arm's errors mirrored in another class) differ by a rounding step
# (0.7407407407407408 against ...406), and such a pair was counted a win.
TIE_TOLERANCE = 1e-9


def _runs_by_seed(runs: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """`runs` by `(dataset, budget, arm, seed)`: where a run finds its partner of the same draw in another arm
    (`paired_gaps`, `unlike_twins`); `_check_runs` has refused two runs of one seed of a cell."""
    return {(run["dataset"], run["budget"], run["arm"], run["seed"]): run for run in runs}


def paired_gaps(
    runs: list[dict[str, Any]],
    reference_of: dict[str, str],
    same_model: bool = False,
    recordings: bool = False,
) -> list[dict[str, Any]]:
    """Paired gap of every arm to its reference arm (`reference_of[arm]`), per dataset and budget; with `recordings`,
    on the main metric scored per labelled recording (`per_recording`, where the runs hold it).

    Runs pair up by seed (same labelled subset, same fitting seed), and only when they were fitted on the same draw
    where both name theirs (`draw`: runs of one seed in two results folders, compared by
    benchmarks/compare_results.py, hold other windows when the folders' pools differ); with `same_model`, only when
    they were the same model but for the weights where both name theirs (`model`, `arms.model_digest`: what a
    pre-training gain compares). The gap is signed so that positive means the arm
    is better on the task's main metric (lower MAE counts as better), in points for classification metrics. Returns
    dicts with `dataset`, `budget`, `budget_order` (as `summarize`'s), `arm`, `baseline`, `metric`, `gain_mean`,
    `gain_std`, `wins` (seeds where the arm was better), `ties` (seeds where both scored the same, within
    `TIE_TOLERANCE`) and `pairs`.
    """
    # the fields it reads: records older than `n_train` (benchmarks/compare_results.py's inputs) pair as well
    _check_runs(runs, "paired_gaps", ("dataset", "task", "arm", "budget", "budget_order", "seed"), allow_empty=True)
    by_key = _runs_by_seed(runs)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        if run["arm"] in reference_of:
            groups[(run["dataset"], run["budget"], run["arm"])].append(run)
    ranks = _budget_ranks(runs)
    gaps = []
    for (dataset, budget, arm), members in groups.items():
        baseline = reference_of[arm]
        metric = PRIMARY_METRIC[members[0]["task"]]
        metric = per_recording(metric) if recordings else metric
        sign = 1.0 if metric_greater_is_better(metric) else -1.0
        differences = []
        for member in members:
            other = by_key.get((dataset, budget, baseline, member["seed"]))
            if (
                other is None
                or not _agree(member, other, "draw")
                or (same_model and not _agree(member, other, "model"))
            ):
                continue
            if _has_value(member.get(metric)) and _has_value(other.get(metric)):
                differences.append(sign * (member[metric] - other[metric]) * _scale(metric))
        if not differences:
            continue
        mean, std = mean_std(differences)
        gaps.append(
            {
                "dataset": dataset,
                "budget": budget,
                "budget_order": ranks[(dataset, budget)],
                "arm": arm,
                "baseline": baseline,
                "metric": metric,
                "gain_mean": mean,
                "gain_std": std,
                "wins": int(sum(d > TIE_TOLERANCE for d in differences)),
                "ties": int(sum(abs(d) <= TIE_TOLERANCE for d in differences)),
                "pairs": len(differences),
            }
        )
    return sorted(gaps, key=lambda g: (g["dataset"], g["budget_order"], g["arm"]))


def _agree(run: Mapping[str, Any], other: Mapping[str, Any], field: str) -> bool:
    """Whether two runs of one seed agree on `field`: `draw` (fitted on the same labelled windows) or `model` (the same
    model but for the weights), or one of them was recorded before runs named it (taken to agree, as a resumed
    protocol takes them)."""
    return run.get(field) is None or other.get(field) is None or run[field] == other[field]


def pretraining_gains(runs: list[dict[str, Any]], recordings: bool = False) -> list[dict[str, Any]]:
    """`paired_gaps` of every pre-trained arm over its from-scratch counterpart (same model, random weights): runs of
    the two that are not the same model (`unlike_twins`) give no gain. `recordings`: as `paired_gaps`'."""
    return paired_gaps(runs, scratch_counterparts(), same_model=True, recordings=recordings)


def unlike_twins(runs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """`(dataset, arm, twin)` of every pre-trained arm whose runs and its from-scratch twin's of one seed are not the
    same model (`model`: another input contract or size, as a `--model-config tiny` twin of the bundled citrus-small):
    what `pretraining_gains` leaves out."""
    twins = scratch_counterparts()
    by_key = _runs_by_seed(runs)
    found = {
        (run["dataset"], run["arm"], twins[run["arm"]])
        for run in runs
        if run["arm"] in twins
        and (other := by_key.get((run["dataset"], run["budget"], twins[run["arm"]], run["seed"]))) is not None
        and not _agree(run, other, "model")
    }
    return sorted(found)


def baseline_gaps(
    runs: list[dict[str, Any]], baseline: str = CLASSICAL_BASELINE, recordings: bool = False
) -> list[dict[str, Any]]:
    """`paired_gaps` of every arm that learns (not the prior) but `baseline` to `baseline` (by default the classical
    MiniRocket). `recordings`: as `paired_gaps`'."""
    arms = {run["arm"] for run in runs if _learns(run["arm"])} - {baseline}
    if baseline not in {run["arm"] for run in runs}:
        return []
    return paired_gaps(runs, dict.fromkeys(arms, baseline), recordings=recordings)


def collapsed_cells(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Classification cells (dataset x budget x model arm) whose mean macro-F1 is below chance (1 / classes) plus
    `COLLAPSE_MARGIN`: a model that learnt (almost) nothing there."""
    cells = []
    for entry in summarize(runs):
        classes = entry.get("num_classes")
        if entry["task"] != CLASSIFICATION or not _learns(entry["arm"]) or not classes:
            continue
        floor = 1.0 / classes + COLLAPSE_MARGIN
        if entry["macro_f1_mean"] < floor:
            cells.append({**entry, "floor": floor})
    return cells


def _digits(metric: str) -> int:
    # (the per-recording correlation as many digits as the windows': "recording_pearson_r")
    return 1 if _scale(metric) == 100.0 else (3 if _window_metric(metric) == "pearson_r" else 2)


def _shown(mean: float, metric: str) -> float:
    """`mean` as the tables show it (scaled and rounded)."""
    return round(mean * _scale(metric), _digits(metric))


def format_mean_std(mean: float, std: float, metric: str) -> str:
    """`mean ± std` as the tables show `metric` (classification scores in %), or "n/a" when no seed had a value."""
    if not math.isfinite(mean):
        return "n/a"
    scale, digits = _scale(metric), _digits(metric)
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def _scored_split(runs: list[dict[str, Any]], dataset: str) -> str:
    """The split a dataset's runs were scored on ("test", "validation", or both named when a report mixes them);
    runs recorded before `scored_on` existed were scored on test."""
    return scored_split(run for run in runs if run["dataset"] == dataset)


def _budget_positions(entries: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """`(order, budget)` of a dataset's `summarize` entries, one per budget, in the report's order of budgets (their
    `budget_order`, `_budget_ranks`)."""
    return sorted({(entry["budget_order"], entry["budget"]) for entry in entries})


def markdown_tables(runs: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> str:
    """Markdown: per dataset, the main metric (mean ± std over seeds; a cell whose mean is over fewer seeds than the
    set's most complete cell, a seed without a value or without a run, says over how many of them it is) of every arm
    at every budget (best in bold), then the pre-training gains."""
    summary = summarize(runs)
    lines: list[str] = []
    if metadata:
        lines += ["# Low-data evaluation", ""]
        lines += [f"- **{key}**: {value}" for key, value in metadata.items()]
        lines.append("")
    for dataset in sorted({e["dataset"] for e in summary}):
        entries = [e for e in summary if e["dataset"] == dataset]
        task = entries[0]["task"]
        metric = PRIMARY_METRIC[task]
        split = _scored_split(runs, dataset)
        lines += [f"## {dataset} ({task}, {split} {METRIC_NAMES[metric]}, mean ± {SPREAD} over seeds)", ""]
        lines += _arm_table(entries, metric)
        absent = sorted({name for run in runs if run["dataset"] == dataset for name in run.get("absent_classes") or []})
        if absent:
            lines += [
                f"The {split} split has no example of class(es) {', '.join(repr(name) for name in absent)}: its "
                "metrics average over the classes it holds (macro-F1 counts a class it lacks only where the arm "
                "predicts it, as 0).",
                "",
            ]
        lines += _recording_table(runs, dataset, entries, metric, split)
    for recordings, scored in ((False, ""), (True, " per recording")):
        lines += _gap_table(
            baseline_gaps(runs, recordings=recordings),
            f"Gap to MiniRocket{scored} (arm minus MiniRocket + ridge, paired by seed, mean ± {SPREAD} over seeds; "
            "positive = the arm is better: for an error such as MAE, MiniRocket's minus the arm's)",
            "better than MiniRocket in",
        )
        lines += _gap_table(
            pretraining_gains(runs, recordings=recordings),
            f"Pre-training gain{scored} (pre-trained minus from scratch, paired by seed, mean ± {SPREAD} over seeds; "
            "positive = pre-training helps: for an error such as MAE, from scratch minus pre-trained)",
            "pre-trained better in",
        )
    lines += [
        f"{arm} and its from-scratch twin {twin} are not the same model in {dataset} (their input contract or size "
        "differ: the runs' `model`), so no pre-training gain is given for them.\n"
        for dataset, arm, twin in unlike_twins(runs)
    ]
    collapsed = collapsed_cells(runs)
    if collapsed:
        lines += [f"## Cells below chance + {COLLAPSE_MARGIN * 100:.0f} points of macro-F1", ""]
        lines += [
            f"- {c['dataset']} {c['budget']} {c['arm']}: {c['macro_f1_mean'] * 100:.1f} (floor {c['floor'] * 100:.1f})"
            for c in collapsed
        ]
        lines.append("")
    return "\n".join(lines)


def _arm_table(entries: list[dict[str, Any]], metric: str) -> list[str]:
    """Markdown lines of one dataset's table of `metric` (`summarize` entries `entries`): an arm per row, a budget per
    column, mean ± std over seeds, the best of each budget in bold; a cell whose mean is over fewer seeds than the
    set's most complete cell says over how many."""
    budgets = _budget_positions(entries)
    arms = list(dict.fromkeys(e["arm"] for e in sorted(entries, key=lambda e: e["arm"])))
    cell = {(e["arm"], e["budget"]): e for e in entries}
    # the best mean as the table shows it, per budget: every arm showing that value is bold (ties too)
    best = {}
    for _, budget in budgets:
        scored = [cell[(a, budget)].get(f"{metric}_mean", math.nan) for a in arms if (a, budget) in cell]
        scored = [_shown(v, metric) for v in scored if math.isfinite(v)]
        if scored:
            best[budget] = (max if metric_greater_is_better(metric) else min)(scored)
    n_train = {b: int(round(np.mean([e["n_train"] for e in entries if e["budget"] == b]))) for _, b in budgets}
    seeds = max(e["seeds"] for e in entries)  # the seeds of the set's most complete cell
    lines = ["| arm | " + " | ".join(f"{b} (n={n_train[b]})" for _, b in budgets) + " |"]
    lines.append("|---|" + "---|" * len(budgets))
    for arm in arms:
        cells = []
        for _, budget in budgets:
            entry = cell.get((arm, budget))
            mean, std = (entry.get(f"{metric}_mean", math.nan), entry.get(f"{metric}_std")) if entry else (None, None)
            text = format_mean_std(mean, std, metric) if entry else "—"
            bold = entry is not None and math.isfinite(mean) and _shown(mean, metric) == best.get(budget)
            text = f"**{text}**" if bold else text
            # a seed left out of the mean (no value: a diverged run) or without a run of the arm (runs gathered
            # by hand) is said, not hidden in a smaller spread beside the cells of every seed
            if entry is not None and (counted := entry.get(f"{metric}_seeds", entry["seeds"])) < seeds:
                text += f" ({counted} of {seeds} seeds)"
            cells.append(text)
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines + [""]


def _recording_table(
    runs: list[dict[str, Any]], dataset: str, entries: list[dict[str, Any]], metric: str, split: str
) -> list[str]:
    """Markdown lines of `dataset`'s `metric` scored per labelled recording (`_arm_table` of `per_recording(metric)`)
    where its runs were, and the line its other runs say why they were not (`per_recording`), naming their arms
    beside a table (runs a resume reused from before runs were scored per recording, an arm without outputs);
    nothing for runs recorded before either."""
    scored = [entry for entry in entries if "scored_recordings" in entry]
    unscored: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        if run["dataset"] == dataset and run.get("per_recording"):
            unscored[run["per_recording"]].add(run["arm"])
    if not scored:
        return [f"{dataset}: {reason}." for reason in sorted(unscored)] + ([""] if unscored else [])
    count = max(entry["scored_recordings"] for entry in scored)
    title = (
        f"### {dataset} per recording ({split} {METRIC_NAMES[metric]} of its {count} labelled recordings, each "
        f"the mean of its windows' outputs as `citrus predict` labels a file; mean ± {SPREAD} over seeds)"
    )
    reasons = [f"Runs of {', '.join(sorted(arms))}: {reason}." for reason, arms in sorted(unscored.items())]
    return [title, "", *_arm_table(scored, per_recording(metric)), *reasons, *([""] if reasons else [])]


def _gap_table(gaps: list[dict[str, Any]], title: str, wins_header: str) -> list[str]:
    """Markdown lines of a `paired_gaps` table (nothing when there are no gaps)."""
    if not gaps:
        return []
    lines = [f"## {title}", "", f"| dataset | budget | arm | vs | gap | {wins_header} |", "|---|---|---|---|---|---|"]
    for gap in gaps:
        unit = " pts" if _window_metric(gap["metric"]) in CLASSIFICATION_METRICS else ""
        lines.append(
            f"| {gap['dataset']} | {gap['budget']} | {gap['arm']} | {gap['baseline']} | "
            f"{gap['gain_mean']:+.2f} ± {gap['gain_std']:.2f}{unit} ({_metric_name(gap['metric'])}) | "
            f"{gap['wins']}/{gap['pairs']} seeds" + (f" ({gap['ties']} tied)" if gap.get("ties") else "") + " |"
            # a tie (both at 100 %, say) is no loss: "0/5 seeds" alone reads as one
        )
    return lines + [""]


def _plot_panels(summary: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """`(dataset, metric, entries)` of every panel of results.png, in order: each dataset's main metric over its
    `summarize` entries, then, where some of its arms were scored per labelled recording (`scored_recordings`), that
    metric per recording over those arms' entries (an arm without such scores has no point there)."""
    panels = []
    for dataset in sorted({e["dataset"] for e in summary}):
        entries = [e for e in summary if e["dataset"] == dataset]
        metric = PRIMARY_METRIC[entries[0]["task"]]
        panels.append((dataset, metric, entries))
        scored = [e for e in entries if "scored_recordings" in e]
        if scored:
            panels.append((dataset, per_recording(metric), scored))
    return panels


def _panel_places(panels: list[tuple[str, str, list[dict[str, Any]]]], columns: int) -> list[int]:
    """The place (row * `columns` + column) of each of `panels` (`_plot_panels`) in results.png's grid: in order, a
    set's panels (its windows' and its recordings') side by side on one row, a pair that would not fit in what is
    left of a row starting the next one (placed one after the other, the pairs of later sets split across rows past
    four panels, the per-recording panel under another set's)."""
    places, place = [], 0
    for index, (dataset, _, _) in enumerate(panels):
        starts_set = index == 0 or panels[index - 1][0] != dataset
        width = sum(1 for panel in panels[index:] if panel[0] == dataset) if starts_set else 1
        if starts_set and place % columns + width > columns >= width:
            place += columns - place % columns  # to the next row
        places.append(place)
        place += 1
    return places


def plot_results(runs: list[dict[str, Any]], path: str | os.PathLike, title: str | None = None) -> Path:
    """PNG: one panel per dataset, its main metric against the label budget, one line per arm, error bars = std, and
    beside it, where its runs were scored per labelled recording, a panel of that metric per recording (the table
    results.md gives under "per recording"); one legend beside the panels names every arm drawn (an arm may have
    run on some sets only), each with a look of its own (tab10's colours, then the same colours with other markers:
    `_figures.distinct_looks`)."""
    _check_runs(runs, "plot_results")
    summary = summarize(runs)
    panels = _plot_panels(summary)
    # at most four panels a row: a long row of a dozen sets is unreadable once scaled to a page
    columns = min(4, len(panels))
    places = _panel_places(panels, columns)
    rows = places[-1] // columns + 1
    figure = new_figure("The results plot (results.png)", figsize=(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows))
    arms = sorted({e["arm"] for e in summary})
    models = [arm for arm in arms if _learns(arm)]
    looks = dict(zip(models, distinct_looks(len(models))))  # the prior: grey, dotted
    axes = figure.subplots(rows, columns, squeeze=False)
    for place, axis in enumerate(axes.flat):
        axis.set_visible(place in places)
    handles: dict[str, Any] = {}
    for place, (dataset, metric, entries) in zip(places, panels):
        axis = axes.flat[place]
        # the window panel's budgets on the per-recording panel too: the two panels of a set line up
        budgets = _budget_positions([e for e in summary if e["dataset"] == dataset])
        position = {budget: index for index, (_, budget) in enumerate(budgets)}
        drawn = sorted({e["arm"] for e in entries})
        width = 0.04 * (len(drawn) - 1)
        for offset, arm in zip(np.linspace(-width / 2, width / 2, len(drawn)), drawn):
            points = sorted(((position[e["budget"]], e) for e in entries if e["arm"] == arm), key=lambda p: p[0])
            x = [p + offset for p, _ in points]
            y = [e[f"{metric}_mean"] * _scale(metric) for _, e in points]
            error = [e[f"{metric}_std"] * _scale(metric) for _, e in points]
            color, marker = looks.get(arm, ("0.45", "o"))
            style = _line_style(arm)
            handles[arm] = axis.errorbar(
                x, y, yerr=error, label=arm, color=color, marker=marker, capsize=3, linestyle=style, lw=1.4, ms=4
            )
        axis.set_xticks(range(len(budgets)), [b for _, b in budgets])
        # half a budget's step either side: one budget's points sit at its tick, not at the panel's edges
        margin = max(0.5, width / 2 + 0.1)
        axis.set_xlim(-margin, len(budgets) - 1 + margin)
        axis.set_xlabel("label budget")
        lower = "" if metric_greater_is_better(metric) else " (lower is better)"
        axis.set_ylabel(f"{_scored_split(runs, dataset)} {_metric_name(metric)}{lower}")
        heading = f"{dataset} ({entries[0]['task']})"
        if metric != _window_metric(metric):
            heading += f" per recording, {max(e['scored_recordings'] for e in entries)} recordings"
        # a set given as a folder can be a long path: wrapped to the panel's width rather than cut at its edges
        axis.set_title(textwrap.fill(heading, TITLE_CHARACTERS))
        axis.grid(alpha=0.3)
    # one legend for the whole figure, beside the panels: each panel's arms are some of them
    height = PANEL_INCHES[1] * rows
    legend_rows = max(1, int((height - 0.3) / LEGEND_ROW_INCHES))
    legend = figure.legend(
        [handles[arm] for arm in arms],
        arms,
        loc="upper right",
        fontsize=8,
        frameon=False,
        ncols=-(-len(arms) // legend_rows),
    )
    legend_width = inches_wide(figure, [legend]) + 0.1
    panels_width = PANEL_INCHES[0] * columns
    figure.set_size_inches(panels_width + legend_width, height)
    if title:
        figure.suptitle(title)
    figure.tight_layout(rect=(0, 0, panels_width / (panels_width + legend_width), 0.97 if title else 1.0))
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path


def write_csv(runs: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """One row per run; metric columns of both tasks (empty where they do not apply), the split they were scored on
    (`scored_on`: "test" for runs recorded before it existed) and the recipe that fitted the run; then the recordings
    scored per labelled recording and those metrics (`recording_macro_f1`, ...), or why the run has none."""
    columns = ["dataset", "task", "arm", "budget", "seed", "n_train", "scored_on"]
    columns += list(CLASSIFICATION_METRICS) + list(REGRESSION_METRICS) + ["recipe", "best_step", "steps", "seconds"]
    # (after the columns of earlier versions, which stay where they were)
    columns += ["scored_recordings"] + [per_recording(m) for m in (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)]
    columns += ["per_recording"]
    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for run in runs:
            # validation scores (--score-split validation) in a spreadsheet read as test scores without the column
            row = {key: run.get(key, "") for key in columns}
            writer.writerow({**row, "scored_on": scored_split([run])})
    return path


def report_paths(output_dir: str | os.PathLike) -> dict[str, Path]:
    """The files `write_report` writes into `output_dir`, by kind: json, csv, markdown, plot."""
    output_dir = Path(output_dir)
    return {
        "json": output_dir / "results.json",
        "csv": output_dir / "results.csv",
        "markdown": output_dir / "results.md",
        "plot": output_dir / "results.png",
    }


def write_report(
    runs: list[dict[str, Any]],
    output_dir: str | os.PathLike,
    metadata: dict[str, Any] | None = None,
    title: str | None = None,
) -> dict[str, Path]:
    """Write `results.json` (metadata, every run, the summary and gains), `results.csv`, `results.md` and
    `results.png` into `output_dir`, all four or none: they are written into a hidden folder inside it and moved in
    once every one is written, so a write that fails part-way (a full disk) or a process killed meanwhile leaves the
    earlier report whole (written in place, it left half a results.json, which readers then failed on). Returns their
    paths."""
    _check_runs(runs, "write_report", (*_GROUPED_FIELDS, "seed"))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = report_paths(output_dir)
    document = {
        "metadata": metadata or {},
        "runs": runs,
        "summary": summarize(runs),
        "pretraining_gains": pretraining_gains(runs),
        "minirocket_gaps": baseline_gaps(runs),
        "pretraining_gains_per_recording": pretraining_gains(runs, recordings=True),
        "minirocket_gaps_per_recording": baseline_gaps(runs, recordings=True),
        "collapsed_cells": collapsed_cells(runs),
    }
    with written_into_folder(output_dir, STAGING_PREFIX) as scratch:
        staged = {kind: scratch / path.name for kind, path in paths.items()}
        staged["json"].write_text(dumps_strict(document, indent=2), encoding="utf-8")
        write_csv(runs, staged["csv"])
        staged["markdown"].write_text(markdown_tables(runs, metadata), encoding="utf-8")
        plot_results(runs, staged["plot"], title=title)
    return paths


__all__ = [
    "PRIMARY_METRIC",
    "baseline_gaps",
    "collapsed_cells",
    "format_mean_std",
    "mean_std",
    "paired_gaps",
    "markdown_tables",
    "plot_results",
    "pretraining_gains",
    "report_paths",
    "summarize",
    "unlike_twins",
    "write_csv",
    "write_report",
]
