"""Per-recording scores in `citrus evaluate`, and a file's events never pooled as one labelled recording.

(a) `citrus evaluate` reported window-level metrics only, where `citrus finetune` on the same set (recordings of one
label that `window_seconds` cut into windows) also scored each test recording by the mean of its windows' outputs, the
rule `citrus predict` labels a file by. Every arm now returns its outputs (`Arm.run`'s `test_outputs`) and the
protocol scores them per recording with finetune's function (`recipes.split_recording_metrics`): `recording_<metric>`
and `scored_recordings` in every run record, results.csv, the summary's means and spreads, a per-recording table and
per-recording gaps in results.md; a set with no labelled recording to score says why in one line.
(b) A folder labelled by an events table scored "per recording" by pooling each test file's events where each file's
events were of one class (a file of many labelled events is not one labelled recording): it is not scored per
recording now, in `citrus finetune` and `citrus evaluate` alike.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_configs import write_edf

from citrus_hf.commands.main import main
from citrus_hf.data.splits import load_task_splits

RATE = 50.0


def _evaluate(folder: Path, output: Path, arms: list[str], *options: str) -> list[dict]:
    argv = ["evaluate", "--datasets", str(folder), "--sampling-rate", str(RATE), "--budgets", "1", "--seeds", "0", "1"]
    argv += ["--arms", *arms, "--model-config", "tiny", "--no-show-progress", "--output-dir", str(output), *options]
    assert main(argv) == 0
    return json.loads((output / "results.json").read_text())["runs"]


def test_labelled_recordings_are_the_files_window_seconds_cut(recording_folders):
    splits = load_task_splits(recording_folders, {"window_seconds": 2}, sampling_rate=RATE)
    recordings, why_not = splits.labelled_recordings("test")
    assert why_not is None and len(recordings) == len(splits.test) == 2 * (3 + 5)
    assert len(np.unique(recordings)) == 4
    # each recording's windows are one file's
    files = np.asarray(splits.test["recording"])
    assert all(len(set(files[recordings == recording])) == 1 for recording in np.unique(recordings))
    # without window_seconds every file is one row: nothing to average
    whole = load_task_splits(recording_folders, sampling_rate=RATE, require_validation=False)
    assert whole.labelled_recordings("test") == (
        None,
        "each recording is one example (no `window_seconds` cut it into windows)",
    )


def test_evaluate_scores_every_arm_per_recording_beside_the_windows(recording_folders, tmp_path):
    output = tmp_path / "eval"
    runs = _evaluate(
        recording_folders, output, ["prior", "minirocket"], "--dataset-options", f"{recording_folders}:window_seconds=2"
    )
    for run in runs:
        assert run["scored_recordings"] == 4 and "per_recording" not in run
        assert {"recording_accuracy", "recording_macro_f1", "recording_balanced_accuracy", "recording_auroc"} <= set(
            run
        )
    # the prior's class frequencies are equal (one recording of each class): every recording gets the first class
    prior = [run for run in runs if run["arm"] == "prior"]
    assert all(run["recording_accuracy"] == 0.5 for run in prior)
    # the per-recording scores of an arm are finetune's function of its outputs
    from citrus_hf.training.recipes import recording_metrics

    splits = load_task_splits(recording_folders, {"window_seconds": 2}, sampling_rate=RATE)
    labels = splits.labels("test")
    frequencies = np.full((len(labels), 2), np.log(0.5 + 1e-12))
    seconds = np.full(len(labels), 2.0)
    expected, count = recording_metrics(frequencies, labels, splits.test["recording"], seconds, "classification")
    assert count == 4 and prior[0]["recording_macro_f1"] == pytest.approx(expected["macro_f1"])
    # the report: results.csv's columns, the summary's means, a per-recording table and gaps
    with open(output / "results.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {"scored_recordings", "recording_macro_f1", "per_recording"} <= set(rows[0])
    assert all(row["scored_recordings"] == "4" for row in rows)
    results = json.loads((output / "results.json").read_text())
    entry = next(e for e in results["summary"] if e["arm"] == "minirocket")
    scored = [run["recording_macro_f1"] for run in runs if run["arm"] == "minirocket"]
    assert entry["recording_macro_f1_mean"] == pytest.approx(np.mean(scored))
    assert entry["recording_macro_f1_seeds"] == 2 and entry["scored_recordings"] == 4
    markdown = (output / "results.md").read_text()
    assert "per recording (test macro-F1 (%) of its 4 labelled recordings" in markdown
    assert "pts (macro-F1 (%) per recording)" not in markdown  # (no arm but the prior to pair with MiniRocket)


def test_the_gaps_pair_the_per_recording_scores_too():
    from citrus_hf.evaluation.report import baseline_gaps, markdown_tables

    def run(arm, seed, window, recording):
        return {
            "dataset": "set",
            "task": "classification",
            "arm": arm,
            "budget": "1/class",
            "budget_order": 0,
            "seed": seed,
            "n_train": 6,
            "num_classes": 2,
            "accuracy": window,
            "balanced_accuracy": window,
            "macro_f1": window,
            "auroc": window,
            "recording_accuracy": recording,
            "recording_balanced_accuracy": recording,
            "recording_macro_f1": recording,
            "recording_auroc": recording,
            "scored_recordings": 4,
        }

    runs = [run("minirocket", 0, 0.5, 0.5), run("citrus-scratch", 0, 0.6, 1.0)]
    runs += [run("minirocket", 1, 0.5, 0.5), run("citrus-scratch", 1, 0.7, 0.75)]
    gaps = baseline_gaps(runs, recordings=True)
    assert [gap["metric"] for gap in gaps] == ["recording_macro_f1"]
    assert gaps[0]["gain_mean"] == pytest.approx(37.5) and gaps[0]["wins"] == 2
    assert baseline_gaps(runs)[0]["gain_mean"] == pytest.approx(15.0)  # the windows' gap, as before
    markdown = markdown_tables(runs)
    assert "## Gap to MiniRocket per recording" in markdown and "+37.50 ± 17.68 pts (macro-F1 (%) per recording)" in (
        markdown
    )


def _events_folder(folder: Path) -> Path:
    """EDF files labelled by events tables: each training file holds one event of each class, each test file two
    events of one class (a file of many labelled events, not one labelled recording)."""
    rng = np.random.default_rng(0)
    for split, files in (("train", 6), ("test", 4)):
        (folder / split).mkdir(parents=True)
        rows = []
        for index in range(files):
            name = f"{split}{index}.edf"
            time = np.arange(int(12 * RATE)) / RATE
            frequency = np.where(time < 6, 2.0, 9.0) if split == "train" else np.full(time.size, (2.0, 9.0)[index % 2])
            signal = np.round(60 * np.sin(2 * np.pi * frequency * time) + rng.normal(0, 10, time.size))
            write_edf(folder / split / name, [signal], ["C3"], RATE, peak=200.0)
            if split == "train":
                rows += [{"file_name": name, "onset": 0.0, "duration": 6.0, "label": "slow"}]
                rows += [{"file_name": name, "onset": 6.0, "duration": 6.0, "label": "fast"}]
            else:
                label = ("slow", "fast")[index % 2]
                rows += [{"file_name": name, "onset": onset, "duration": 4.0, "label": label} for onset in (0.0, 6.0)]
        pd.DataFrame(rows).to_csv(folder / split / "metadata.csv", index=False)
    return folder


def test_a_files_events_are_never_scored_as_one_labelled_recording(tmp_path, capsys):
    folder = _events_folder(tmp_path / "events")
    # citrus finetune: scored per window only (it pooled each test file's two events into one "recording")
    argv = ["finetune", "--dataset", str(folder), "--dataset-options", "window_seconds=2", "--model-config", "tiny"]
    argv += ["--recipe", "probe", "--no-show-progress", "--output-dir", str(tmp_path / "fit")]
    assert main(argv) == 0
    results = json.loads((tmp_path / "fit" / "finetune_results.json").read_text())
    assert results["num_test"] == 16
    assert results["test_recording_metrics"] is None and results["num_test_recordings"] is None
    splits = load_task_splits(folder, {"window_seconds": 2}, require_validation=False)
    recordings, why_not = splits.labelled_recordings("test")
    assert recordings is None and "events" in why_not
    # citrus evaluate: the runs and the report say why
    output = tmp_path / "eval"
    argv = ["evaluate", "--datasets", str(folder), "--budgets", "1", "--seeds", "0", "--arms", "prior"]
    argv += ["--dataset-options", f"{folder}:window_seconds=2", "--no-show-progress", "--output-dir", str(output)]
    assert main(argv) == 0
    run = json.loads((output / "results.json").read_text())["runs"][0]
    assert "scored_recordings" not in run and "recording_macro_f1" not in run
    assert run["per_recording"].startswith("not scored per recording: its labels are events' of their recordings")
    assert f"{folder}: not scored per recording: its labels are events'" in (output / "results.md").read_text()


def test_a_set_whose_labels_vary_within_a_recording_says_so(tmp_path):
    import datasets

    rng = np.random.default_rng(0)
    splits = {}
    for split, recordings in (("train", 6), ("test", 2)):
        rows = {"input_values": [], "label": [], "recording": [], "sampling_rate": []}
        for recording in range(recordings):
            for window in range(4):  # stages change within a night
                rows["input_values"].append(rng.normal(size=(1, 100)).astype(np.float32))
                rows["label"].append(window % 2)
                rows["recording"].append(f"{split}{recording}")
                rows["sampling_rate"].append(RATE)
        splits[split] = datasets.Dataset.from_dict(rows)
    datasets.DatasetDict(splits).save_to_disk(tmp_path / "nights")
    argv = ["evaluate", "--datasets", str(tmp_path / "nights"), "--budgets", "1", "--seeds", "0", "--arms", "prior"]
    assert main([*argv, "--no-show-progress", "--output-dir", str(tmp_path / "eval")]) == 0
    run = json.loads((tmp_path / "eval" / "results.json").read_text())["runs"][0]
    assert run["per_recording"] == (
        "not scored per recording: its labels vary within a recording (sleep stages, events, a heart rate per "
        "window), so no label is a whole recording's"
    )


def test_an_arm_of_ones_own_without_outputs_or_with_wrong_ones(recording_folders, tmp_path, capsys):
    from citrus_hf.evaluation.arms import ARMS, Arm, register_arm
    from citrus_hf.training.metrics import classification_metrics

    class Constant(Arm):
        name = "constant-recmetrics"
        description = "class 0 everywhere"
        outputs = "none"

        def run(self, context, prepared, chosen, seed, run_dir):
            scores = np.tile([1.0, 0.0], (len(context.scored_labels()), 1))
            outcome = {"test": classification_metrics(scores, context.scored_labels())}
            if self.outputs == "short":
                outcome["test_outputs"] = scores[:-1]
            return outcome

    arm = Constant()
    register_arm(arm)
    try:
        options = ["--dataset-options", f"{recording_folders}:window_seconds=2"]
        runs = _evaluate(recording_folders, tmp_path / "none", [arm.name], *options)
        assert runs[0]["per_recording"] == "not scored per recording: its arm returned no test_outputs to score them by"
        arm.outputs = "short"
        argv = ["evaluate", "--datasets", str(recording_folders), "--sampling-rate", str(RATE), "--budgets", "1"]
        argv += ["--arms", arm.name, *options, "--no-show-progress", "--output-dir", str(tmp_path / "short")]
        assert main(argv) == 2  # (the command's error boundary: a usage error)
        error = capsys.readouterr().err
        assert "The arm 'constant-recmetrics' (Constant.run) returned 'test_outputs' of 15 rows for the 16 scored " in (
            error
        )
        assert "'test_outputs': array" in error
    finally:
        ARMS.pop(arm.name)
