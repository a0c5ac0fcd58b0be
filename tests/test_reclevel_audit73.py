"""Labels per recording, scored per window: a set of one's own whose recordings (class folders, a metadata.csv of
file_name,label) `--dataset-options window_seconds=S` cuts into windows.

(a) A label budget counts the labelled examples, the recordings the windows were cut from: `--label-budget 2` drew 2
windows of each class, often both of one recording (1 label, not 2), and the card and results called them 2 labelled
examples. Now it draws 2 recordings of each class and trains on all of their windows, in `citrus finetune` and in
`citrus evaluate`'s draws alike.
(b) `citrus finetune` reported window-level metrics only, where a user acts on one label per recording (`citrus
predict`'s): it now also scores each test recording by the mean of its windows' probabilities, the rule the pipelines
label a recording by (one function, `modeling_citrus.recording_mean`), in `finetune_results.json` and on the card.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from citrus_hf.commands.main import main
from citrus_hf.data.splits import draw_budget, load_task_splits, parse_budget

RATE = 50.0


def _windows_of(splits) -> dict[str, int]:
    recordings, counts = np.unique(splits.train["recording"], return_counts=True)
    return dict(zip(recordings.tolist(), counts.tolist(), strict=True))


def _fitted(folder: Path, tmp_path: Path, capsys, budget: str, *options: str) -> tuple[dict, str]:
    """`citrus finetune` of the tiny model on `folder` cut into 2 s windows: its results and what it printed."""
    argv = ["finetune", "--dataset", str(folder), "--sampling-rate", str(RATE), "--dataset-options", "window_seconds=2"]
    argv += ["--model-config", "tiny", "--label-budget", budget, *options, "--no-show-progress"]
    assert main([*argv, "--output-dir", str(tmp_path / "fit")]) == 0
    return json.loads((tmp_path / "fit" / "finetune_results.json").read_text()), capsys.readouterr().out


def test_a_budget_with_groups_draws_whole_groups_per_class_and_none_without_is_unchanged():
    labels = np.array([0] * 9 + [1] * 9)
    groups = [f"r{row // 3}" for row in range(18)]  # 3 windows per recording, 3 recordings per class
    for seed in range(5):
        chosen = draw_budget(labels, parse_budget("2"), seed, groups=groups)
        drawn = {groups[row] for row in chosen}
        assert len(chosen) == 12 and len(drawn) == 4  # 2 recordings per class, every window of each
        assert sorted(np.unique(labels[chosen], return_counts=True)[1].tolist()) == [6, 6]
        assert np.array_equal(chosen, draw_budget(labels, parse_budget("2"), seed, groups=groups))
        # without groups, the rows are the examples (the draws of earlier versions, pinned in
        # test_review4_audit73.py::test_a_draw_without_groups_is_the_draw_of_earlier_versions)
        assert len(draw_budget(labels, parse_budget("2"), seed)) == 4
    # a fraction of each class's recordings, and all of them
    assert len({groups[row] for row in draw_budget(labels, parse_budget("0.5"), 0, groups=groups)}) == 4
    assert len(draw_budget(labels, parse_budget("all"), 0, groups=groups)) == 18
    # regression: the recordings of the pool, whatever their targets
    targets = np.linspace(0.0, 1.0, 18)
    assert len({groups[row] for row in draw_budget(targets, parse_budget("2"), 0, groups=groups)}) == 2


def _whole(folder):
    """The training split of `folder` cut into 2 s windows, without a carve (as the probe and the prior take it)."""
    return load_task_splits(folder, {"window_seconds": 2}, sampling_rate=RATE).without_carve("none")


def test_the_windows_of_a_set_of_ones_own_name_the_example_they_were_cut_from(recording_folders):
    splits = _whole(recording_folders)
    examples = splits.examples("train")
    assert examples is not None and len(examples) == len(splits.train) == 2 * (4 + 5 + 6 + 7)
    recordings = np.asarray(splits.train["recording"])
    # one example per file here: the examples are the recordings
    assert all(len(set(recordings[examples == example])) == 1 for example in np.unique(examples))
    assert len(np.unique(examples)) == 8
    # after a carve, the pool's rows keep their examples
    carved = load_task_splits(recording_folders, {"window_seconds": 2}, sampling_rate=RATE)
    pool = carved.examples("train")
    assert len(pool) == len(carved.train)
    pool_recordings = np.asarray(carved.train["recording"])
    assert all(len(set(pool_recordings[pool == example])) == 1 for example in np.unique(pool))
    # rows that are examples themselves (no windowing) have none
    assert load_task_splits(recording_folders, sampling_rate=RATE, require_validation=False).examples("train") is None


def test_finetune_draws_the_budget_as_recordings_and_says_so(recording_folders, tmp_path, capsys):
    results, out = _fitted(recording_folders, tmp_path, capsys, "2", "--recipe", "probe")
    splits = _whole(recording_folders)
    recordings = np.asarray(splits.train["recording"])
    drawn = recordings[results["train_indices"]]
    windows = _windows_of(splits)
    # 2 recordings of each class, every window of each
    assert len(set(drawn.tolist())) == 4
    assert sorted(Path(name).parts[1] for name in set(drawn.tolist())) == ["fast", "fast", "slow", "slow"]
    assert results["num_train"] == sum(windows[name] for name in set(drawn.tolist())) == len(drawn)
    assert results["num_train_examples"] == 4
    assert f"{results['num_train']} training windows of 4 labelled examples" in out
    from citrus_hf.publishing.runs import read_run_records

    budget = read_run_records(tmp_path / "fit").hyperparameters["Label budget"]
    assert budget == f"2 (4 labelled examples, cut into {results['num_train']} windows)"


def test_recipe_auto_reads_labelled_recordings_not_their_windows(recording_folders, tmp_path, capsys):
    """4 recordings per class gave 22 windows of each: "auto" read 22 labels per class and ran LP-FT, the recipe of
    20 labels per class and more, on 4 labels of each."""
    results, _ = _fitted(recording_folders, tmp_path, capsys, "4")
    assert results["num_train"] == 44 and results["num_train_examples"] == 8 and results["recipe"] == "probe"


def test_evaluate_draws_the_budget_as_recordings(recording_folders, tmp_path):
    argv = ["evaluate", "--datasets", str(recording_folders), "--sampling-rate", str(RATE), "--budgets", "1"]
    argv += ["--dataset-options", f"{recording_folders}:window_seconds=2", "--seeds", "0", "1", "--arms", "prior"]
    assert main([*argv, "--no-show-progress", "--output-dir", str(tmp_path / "eval")]) == 0
    runs = [json.loads(line) for line in (tmp_path / "eval" / "runs.jsonl").read_text().splitlines()]
    splits = _whole(recording_folders)
    windows = sorted(_windows_of(splits).values())
    for run in runs:  # one recording of each class: its windows (4 to 7 each), not 1 window of each class
        assert run["n_train"] >= 2 * windows[0] and run["n_train"] in {a + b for a in windows for b in windows}


def test_finetune_scores_each_test_recording_as_predict_labels_it(recording_folders, tmp_path, capsys):
    results, out = _fitted(recording_folders, tmp_path, capsys, "1", "--recipe", "probe")
    per_recording = results["test_recording_metrics"]
    assert results["num_test_recordings"] == 4 and results["num_test"] == 16
    assert set(per_recording) == {"accuracy", "balanced_accuracy", "macro_f1", "auroc"}
    assert "per recording (4, the mean of each one's window probabilities)" in out
    # the labels `citrus predict` gives the same files, scored as finetune scores them
    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines)
    from citrus_hf.training.metrics import accuracy, macro_f1

    classify = pipeline(model=str(tmp_path / "fit"), backend="torch")
    files = sorted((recording_folders / "test").rglob("*.npy"))
    predicted = [classify(np.load(file), sampling_rate=RATE)["label"] for file in files]
    truth = [file.parent.name for file in files]
    names = sorted(set(truth))
    as_ids = [names.index(label) for label in predicted], [names.index(label) for label in truth]
    assert per_recording["accuracy"] == pytest.approx(accuracy(as_ids[1], as_ids[0]))
    assert per_recording["macro_f1"] == pytest.approx(macro_f1(as_ids[1], as_ids[0]))
    # the card says it beside the window-level metrics
    from citrus_hf.publishing.runs import read_run_records

    notes = " ".join(read_run_records(tmp_path / "fit").evaluation_notes)
    assert "Per recording" in notes and "4 recordings" in notes and f"accuracy {per_recording['accuracy']:.4f}" in notes


def test_the_pipelines_and_training_share_one_recording_mean(tmp_path):
    """The rule lives in the model file; the pipelines reach it through the model they hold."""
    import torch
    from tiny_configs import save_tiny_classifier
    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines)
    from citrus_hf import modeling_citrus

    outputs = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # a window of 1 s beside one of 3 s: weighted by the seconds each covers
    assert modeling_citrus.recording_mean(outputs, torch.tensor([1.0, 3.0])).tolist() == [0.25, 0.75]
    runner = pipeline(model=str(save_tiny_classifier(tmp_path / "model")), backend="torch")
    asked = []

    def rule(values, seconds):
        asked.append(tuple(values.shape))
        return torch.tensor([0.9, 0.1], dtype=values.dtype)

    runner.model.recording_mean = rule
    recording = np.random.default_rng(0).standard_normal((1, 600)).astype(np.float32)
    result = runner(recording, sampling_rate=100.0)
    assert asked and result["score"] == pytest.approx(0.9)


def test_a_recording_on_both_sides_of_a_set_of_ones_own_is_named(tmp_path, caplog):
    """(c) Slices of one split (`--train-split 'train[:78%]' --test-split 'train[78%:]'`) of windows with a `recording`
    column cut recording rec7 in two: 4 of its windows trained and the 5th was scored, without a word."""
    import logging

    import datasets

    rng = np.random.default_rng(0)
    rows = {"input_values": [], "label": [], "recording": [], "sampling_rate": []}
    for recording in range(10):
        for _ in range(5):
            rows["input_values"].append(rng.normal(size=(1, 100)).astype(np.float32))
            rows["label"].append(recording % 2)
            rows["recording"].append(f"rec{recording}")
            rows["sampling_rate"].append(RATE)
    folder = tmp_path / "windows"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}).save_to_disk(folder)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.splits"):
        load_task_splits(folder, train_split="train[:78%]", test_split="train[78%:]", require_validation=False)
    assert "1 recording(s) of the train[78%:] split ('rec7') also have rows in the train[:78%] split" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.splits"):
        load_task_splits(folder, train_split="train[:80%]", test_split="train[80%:]", require_validation=False)
    assert "also have rows" not in caplog.text
