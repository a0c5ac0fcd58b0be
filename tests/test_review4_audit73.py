"""Review of labels per recording (b5ec77b, 31adfa8, b78133d) on a set of one's own cut by `window_seconds`.

(a) The notices about a validation split carved out of train counted its windows where the budget beside them counts
recordings: "--label-budget asked for 5 labelled examples per class; ... (fewest: 3) ... the validation split carved
out of train took {'fast': 6, 'slow': 9} of them" (6 and 9 windows of 1 and 2 recordings), and a probe's "its 15
examples stay in the pool" (15 windows of 3 recordings), in `citrus finetune` and `citrus evaluate` alike.
(b) The pipelines reach the recording mean through the model; a model class without it (the remote code of an earlier
citrus-hf, `trust_remote_code=True`) got the windows' plain mean, where the pipelines weighted each window by its
seconds for every model before: a padded last window moved the answer again.
(c) The draw without groups is the draw of earlier versions: the test that said so compared a draw with itself.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest

from citrus_hf.commands.main import main
from citrus_hf.data.splits import draw_budget, load_task_splits, parse_budget

RATE = 50.0


@pytest.fixture(scope="module")
def recording_folders(tmp_path_factory) -> Path:
    """Class folders of .npy recordings: 5 training recordings per class of 4 to 7 windows of 2 s, 2 test
    recordings per class."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("review4") / "set"
    for split, windows in (("train", (4, 5, 6, 7, 4)), ("test", (3, 5))):
        for name, frequency in (("slow", 2.0), ("fast", 9.0)):
            (folder / split / name).mkdir(parents=True)
            for index, count in enumerate(windows):
                time = np.arange(int(count * 2 * RATE)) / RATE
                signal = np.sin(2 * np.pi * frequency * time) + rng.normal(0, 0.3, time.size)
                np.save(folder / split / name / f"{name}{index}.npy", signal[None].astype(np.float32))
    return folder


def _carved_recordings(folder: Path) -> dict[str, int]:
    """The recordings of each class that the validation carve of `folder` (2 s windows) takes."""
    splits = load_task_splits(folder, {"window_seconds": 2}, sampling_rate=RATE, require_validation=False)
    carved = sorted(set(splits.validation["recording"]))
    assert len(carved) < len(splits.validation)  # (recordings of several windows: counts that differ)
    classes = [Path(name).parts[1] for name in carved]
    return {name: classes.count(name) for name in sorted(set(classes))}


def test_the_short_class_notice_counts_the_carve_in_recordings(recording_folders, tmp_path, caplog):
    argv = ["finetune", "--dataset", str(recording_folders), "--sampling-rate", str(RATE), "--dataset-options"]
    argv += ["window_seconds=2", "--model-config", "tiny", "--label-budget", "5", "--recipe", "finetune"]
    argv += ["--max-steps", "1", "--no-show-progress", "--output-dir", str(tmp_path / "fit")]
    with caplog.at_level(logging.WARNING, logger="citrus_hf.training.finetune"):
        assert main(argv) == 0
    took = re.search(r"carved out of train took (\{[^}]*\}) of them", caplog.text)
    assert took is not None, caplog.text
    assert eval(took.group(1)) == _carved_recordings(recording_folders)  # noqa: S307  (a dict the notice wrote)


def test_the_carve_given_back_is_counted_in_recordings(recording_folders, tmp_path, caplog):
    carved = sum(_carved_recordings(recording_folders).values())
    argv = ["finetune", "--dataset", str(recording_folders), "--sampling-rate", str(RATE), "--dataset-options"]
    argv += ["window_seconds=2", "--model-config", "tiny", "--label-budget", "1", "--recipe", "probe"]
    with caplog.at_level(logging.INFO, logger="citrus_hf.training.finetune"):
        assert main([*argv, "--no-show-progress", "--output-dir", str(tmp_path / "fit")]) == 0
    assert f"so its {carved} examples stay in the pool" in caplog.text
    argv = ["evaluate", "--datasets", str(recording_folders), "--sampling-rate", str(RATE), "--budgets", "1"]
    argv += ["--dataset-options", f"{recording_folders}:window_seconds=2", "--seeds", "0", "--arms", "prior"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="citrus_hf.evaluation.protocol"):
        assert main([*argv, "--no-show-progress", "--output-dir", str(tmp_path / "eval")]) == 0
    assert f"so its {carved} examples stay in the pool" in caplog.text


def test_a_model_without_the_rule_is_still_weighted_by_seconds(tmp_path, monkeypatch):
    """A model class of an earlier citrus-hf's model file has no `recording_mean`: the recording's score is the
    seconds-weighted mean of its windows' all the same (a padded last window of 0.5 s counts for 0.5 s)."""
    import torch
    from tiny_configs import save_tiny_classifier
    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines)
    from citrus_hf import modeling_citrus

    torch.manual_seed(0)
    runner = pipeline(model=str(save_tiny_classifier(tmp_path / "model")), backend="torch")
    recording = np.random.default_rng(0).standard_normal((1, 1250)).astype(np.float32)
    weighted = runner(recording, sampling_rate=100.0, pad_last_window=True)
    monkeypatch.delattr(modeling_citrus.CiTrusPreTrainedModel, "recording_mean")
    assert not hasattr(runner.model, "recording_mean")
    older = runner(recording, sampling_rate=100.0, pad_last_window=True)
    windows = older["windows"]
    scores = np.array([next(s["score"] for s in w["labels"] if s["label"] == older["label"]) for w in windows])
    seconds = np.array([w["end"] - w["start"] for w in windows])
    assert seconds[-1] == pytest.approx(0.5) and abs(scores[-1] - scores.mean()) > 1e-4  # (weighting matters)
    assert older["score"] == pytest.approx(float((scores * seconds).sum() / seconds.sum()), abs=1e-6)
    assert older["score"] == pytest.approx(weighted["score"], abs=1e-7)


def test_the_pipelines_copy_of_the_rule_is_the_model_files():
    import torch

    from citrus_hf import modeling_citrus
    from citrus_hf.inference import pipelines

    generator = torch.Generator().manual_seed(0)
    outputs = torch.rand(5, 3, generator=generator, dtype=torch.float64)
    for seconds in (torch.tensor([2.0, 2, 2, 2, 0.5]), torch.tensor([1.0, 0, 2, 2, 2]), torch.ones(5)):
        torch.testing.assert_close(
            pipelines._seconds_weighted_mean(outputs, seconds), modeling_citrus.recording_mean(outputs, seconds)
        )


def test_a_draw_without_groups_is_the_draw_of_earlier_versions():
    """The draws of citrus-hf before labels per recording (60f2b1a), pinned: a registered set's draws, and so the
    published few-shot runs and every resumed run, must not move."""
    labels = np.array([0] * 9 + [1] * 9)
    earlier = [[5, 6, 11, 17], [3, 4, 9, 16], [2, 6, 11, 12], [0, 6, 10, 17], [5, 8, 13, 17]]
    assert [draw_budget(labels, parse_budget("2"), seed).tolist() for seed in range(5)] == earlier
    assert draw_budget(labels, parse_budget("0.5"), 0).tolist() == [2, 4, 5, 7, 9, 10, 14, 15]
    targets = np.linspace(0.0, 1.0, 18)
    assert [draw_budget(targets, parse_budget("2"), seed).tolist() for seed in range(2)] == [[11, 14], [8, 9]]
    # groups of one row each are the rows themselves
    assert draw_budget(labels, parse_budget("2"), 3, groups=np.arange(18)).tolist() == earlier[3]


@pytest.fixture(scope="module")
def padded_test_recordings(tmp_path_factory) -> Path:
    """Class folders whose test files end in zeros, as arrays saved at one length are padded: 3 to 6 windows of signal
    in 16 s."""
    rng = np.random.default_rng(1)
    folder = tmp_path_factory.mktemp("review4_padded") / "set"
    for split, windows in (("train", (4, 5, 6, 4)), ("test", (3, 4, 5, 3, 4, 6))):
        for name, frequency in (("slow", 2.0), ("fast", 9.0)):
            (folder / split / name).mkdir(parents=True)
            for index, count in enumerate(windows):
                time = np.arange(int(count * 2 * RATE)) / RATE
                signal = np.sin(2 * np.pi * (frequency + rng.normal(0, 2)) * time) + rng.normal(0, 1.0, time.size)
                if split == "test":
                    signal = np.concatenate([signal, np.zeros(int((8 - count) * 2 * RATE))])
                np.save(folder / split / name / f"{name}{index}.npy", signal[None].astype(np.float32))
    return folder


def test_the_per_recording_metrics_leave_out_flat_windows_as_predict_does(padded_test_recordings, tmp_path):
    """`citrus predict` leaves a file's flat windows out of its answer; finetune's per-recording scores, which say
    they are its answers, averaged them in (accuracy 0.50 and AUROC 0.64 where predict's labels give 0.67 and 0.78)."""
    import json

    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines)
    from citrus_hf.training.metrics import classification_metrics

    argv = ["finetune", "--dataset", str(padded_test_recordings), "--sampling-rate", str(RATE), "--dataset-options"]
    argv += ["window_seconds=2", "--model-config", "tiny", "--label-budget", "2", "--recipe", "probe"]
    assert main([*argv, "--no-show-progress", "--output-dir", str(tmp_path / "fit")]) == 0
    results = json.loads((tmp_path / "fit" / "finetune_results.json").read_text())
    classify = pipeline(model=str(tmp_path / "fit"), backend="torch")
    files = sorted((padded_test_recordings / "test").rglob("*.npy"))
    probabilities, truth = [], []
    for file in files:
        answer = classify(np.load(file), sampling_rate=RATE, top_k=None)
        assert answer["no_signal_windows"] >= 2
        scores = {entry["label"]: entry["score"] for entry in answer["labels"]}
        probabilities.append([scores["fast"], scores["slow"]])
        truth.append(["fast", "slow"].index(file.parent.name))
    predicted = classification_metrics(np.log(np.asarray(probabilities)), np.asarray(truth))
    assert results["num_test_recordings"] == len(files)
    for metric, value in predicted.items():
        assert results["test_recording_metrics"][metric] == pytest.approx(value, abs=1e-4), metric


def test_the_rows_without_signal_are_the_pipelines_windows_without_signal():
    import datasets

    from citrus_hf.data.windowing import rows_without_signal
    from citrus_hf.inference.pipelines import _stretch_without_signal

    nan = np.nan
    rows = [
        [[1.0, 2.0, 3.0]],
        [[0.0, 0.0, 0.0]],
        [[nan, nan, nan]],
        [[nan, 1.0, 1.0], [2.0, 2.0, 2.0]],
        [[nan, 1.0, 2.0], [2.0, 2.0, 2.0]],
        [[np.inf, 1.0, 1.0], [nan, nan, nan]],
        [[np.inf, 1.0, 1.5], [0.0, 0.0, 0.0]],
        [[5.0, 5.0, 5.0], [nan, nan, nan]],
    ]
    split = datasets.Dataset.from_dict({"input_values": rows})
    expected = [_stretch_without_signal(np.asarray(row), False) is not None for row in rows]
    assert expected == [False, True, True, True, False, True, False, True]
    assert rows_without_signal(split).tolist() == expected
    one_channel = datasets.Dataset.from_dict({"input_values": [[1.0, 1.0], [1.0, 2.0]]})  # (time,) rows
    assert rows_without_signal(one_channel).tolist() == [True, False]


def test_a_recording_of_flat_windows_alone_is_not_scored():
    from citrus_hf.training.recipes import recording_metrics

    logits = np.array([[2.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.0, 3.0], [5.0, 0.0], [5.0, 0.0]])
    labels = np.array([0, 0, 1, 1, 1, 1])
    recordings = ["a", "a", "b", "b", "c", "c"]
    seconds = np.full(6, 2.0)
    flat = np.array([False, False, False, False, True, True])  # c: no window with signal, no answer from predict
    metrics, scored = recording_metrics(logits, labels, recordings, seconds, "classification", flat)
    assert scored == 2 and metrics["accuracy"] == 1.0
    unmarked, every = recording_metrics(logits, labels, recordings, seconds, "classification")
    assert every == 3 and unmarked["accuracy"] == pytest.approx(2 / 3)
    assert recording_metrics(logits, labels, recordings, seconds, "classification", np.ones(6, dtype=bool)) is None


def test_test_rows_without_a_recording_id_are_recordings_of_their_own():
    """A `recording` column that leaves some rows without an id (None): each such row is a recording of its own, as
    the validation carve takes it; they were all read as one recording named 'None', whose mixed labels left the
    whole split unscored per recording (or whose one label pooled unrelated rows into one answer)."""
    from citrus_hf.training.recipes import recording_metrics

    logits = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    labels = np.array([0, 1, 0, 0, 1, 1])
    recordings = [None, None, "a", "a", "b", "b"]
    scored = recording_metrics(logits, labels, recordings, np.full(6, 2.0), "classification")
    assert scored is not None
    metrics, count = scored
    assert count == 4 and metrics["accuracy"] == 1.0


def test_a_registered_set_saved_by_data_build_is_not_warned_of_its_time_blocks(tmp_path, caplog):
    """`citrus data build hr_ecg --output DIR` saves a registered set whose splits are time blocks of each recording
    (its design); fine-tuning on DIR warned three times that its recordings have rows in two splits, asking to give
    each recording to one. A folder that notes the registered set it was built from is taken as that set; the same
    rows saved without the note are still named."""
    import datasets

    from citrus_hf.data.builders import save_built_dataset

    rng = np.random.default_rng(0)

    def block(rows: int) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {
                "input_values": [rng.normal(size=(1, 100)).astype(np.float32) for _ in range(rows)],
                "target": rng.uniform(50, 90, rows).tolist(),
                "recording": [f"rec{row % 2}" for row in range(rows)],
                "sampling_rate": [RATE] * rows,
            }
        )

    blocks = datasets.DatasetDict({"train": block(8), "validation": block(4), "test": block(4)})
    save_built_dataset(blocks, "hr_ecg", tmp_path / "built")
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.splits"):
        load_task_splits(tmp_path / "built")
    assert "also have rows" not in caplog.text
    blocks.save_to_disk(tmp_path / "saved")
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.splits"):
        load_task_splits(tmp_path / "saved")
    assert "also have rows" in caplog.text


def test_a_run_recorded_before_examples_were_counted_is_fitted_again(tmp_path, caplog):
    """A run of `--budgets all` on a set cut by window_seconds draws the same rows as before b5ec77b, so its draw's
    digest matched and a resumed `citrus evaluate` reused it; but 'auto' chose its recipe on the windows then (44 per
    class: probe-finetune) and on the recordings now (4 per class: the probe), and the report mixed the two. A draw
    of windows now names the examples they were cut from, so such a run is fitted again; the digest of a draw without
    windows (registered sets, every published run) is unchanged."""
    import json

    from citrus_hf.evaluation.protocol import draw_digest

    rng = np.random.default_rng(0)
    folder = tmp_path / "set"
    for split, count in (("train", 2), ("test", 1)):
        for name, frequency in (("slow", 2.0), ("fast", 9.0)):
            (folder / split / name).mkdir(parents=True)
            for index in range(count):
                time = np.arange(int(3 * 2 * RATE)) / RATE
                signal = np.sin(2 * np.pi * frequency * time) + rng.normal(0, 0.3, time.size)
                np.save(folder / split / name / f"{name}{index}.npy", signal[None].astype(np.float32))
    argv = ["evaluate", "--datasets", str(folder), "--sampling-rate", str(RATE), "--budgets", "all", "--seeds", "0"]
    argv += ["--arms", "prior", "--dataset-options", f"{folder}:window_seconds=2", "--no-show-progress"]
    argv += ["--output-dir", str(tmp_path / "eval")]
    assert main(argv) == 0
    runs = tmp_path / "eval" / "runs.jsonl"
    run = json.loads(runs.read_text())
    rows = np.arange(run["n_train"])
    assert run["draw"] != draw_digest(rows)  # (the draw names its examples)
    run["draw"], run["accuracy"] = draw_digest(rows), 0.125  # as recorded before: the rows alone
    runs.write_text(json.dumps(run) + "\n")
    with caplog.at_level(logging.WARNING, logger="citrus_hf.evaluation.protocol"):
        assert main(argv) == 0
    assert "Reused" not in caplog.text
    assert json.loads(runs.read_text().splitlines()[-1])["accuracy"] != 0.125
    # without windows, the digest of the rows alone, as every run recorded so far
    assert draw_digest(rows, None) == draw_digest(rows)
