"""A user's own labelled set (`save_to_disk` folders built from real BasicMotions rows) and how its splits are read:
a validation split found under another name ("val", "dev") is never the split the run trains or is scored on, a
`recording` column with missing ids (None, pandas' NaN) is carved as it should be instead of crashing inside numpy,
`label` beside a different `labels` is refused as ambiguous, and `examples/your_own_data.py` reruns into its folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest

from citrus_hf.commands.main import main
from citrus_hf.data import build_dataset
from citrus_hf.data.budgets import carve_validation
from citrus_hf.data.splits import load_task_splits

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def motions() -> datasets.DatasetDict:
    """BasicMotions (40 train and 40 test windows of 6 IMU channels, 4 classes, 10 per class; each window its own
    recording) with only the columns a user's set would have."""
    built = build_dataset("basic_motions")
    return built.select_columns(["input_values", "label", "sampling_rate", "recording"])


def _save(folder: Path, splits: dict) -> Path:
    datasets.DatasetDict(splits).save_to_disk(str(folder))
    return folder


# ------------------------------------------------------------------------------- 1. validation split aliases


def test_a_validation_alias_that_is_the_test_split_is_not_the_validation_set(motions, tmp_path):
    """`--test-split val` on a set of train / val: 'val' was also taken as the validation split, so the model was
    chosen on the split it was scored on, though `--validation-split val --test-split val` is refused."""
    folder = _save(tmp_path / "set", {"train": motions["train"], "val": motions["test"]})
    loaded = load_task_splits(folder, test_split="val")
    assert loaded.split_names["test"] == "val" and loaded.split_names["validation"] != "val"
    assert loaded.validation_source.startswith("carved from train")
    assert len(loaded.train) + len(loaded.validation) == 40 and len(loaded.test) == 40


@pytest.mark.parametrize("train_split", ["dev", "dev[:30]"])
def test_a_validation_alias_that_is_the_train_split_is_not_the_validation_set(motions, tmp_path, train_split):
    """`--train-split dev` on a set of dev / test: 'dev' was also the validation split, so the model was chosen on
    the very examples it trained on (with a slice of it, on rows it trained on)."""
    interleaved = [10 * label + row for row in range(10) for label in range(4)]  # every class in dev[:30]
    folder = _save(tmp_path / "set", {"dev": motions["train"].select(interleaved), "test": motions["test"]})
    loaded = load_task_splits(folder, train_split=train_split)
    assert loaded.split_names["validation"] != "dev"
    assert loaded.validation_source.startswith(f"carved from {train_split}")
    pool = 40 if train_split == "dev" else 30
    assert len(loaded.train) + len(loaded.validation) == pool and len(loaded.validation) > 0
    assert not set(loaded.train_rows) & set(loaded.validation_rows)


def test_another_validation_alias_is_still_the_validation_set(motions, tmp_path):
    """An alias that is the test split is passed over, not every alias: 'dev' is still the validation split."""
    folder = _save(
        tmp_path / "set",
        {"train": motions["train"], "val": motions["test"], "dev": motions["test"].select(range(0, 40, 4))},
    )
    loaded = load_task_splits(folder, test_split="val")
    assert loaded.validation_source == "dev" and len(loaded.validation) == 10 and len(loaded.train) == 40


def test_the_cli_refuses_naming_the_alias_it_would_have_chosen(motions, tmp_path):
    """What the alias did silently stays refused when named explicitly (the check the alias bypassed)."""
    folder = _save(tmp_path / "set", {"train": motions["train"], "val": motions["test"]})
    with pytest.raises(ValueError, match="--validation-split and --test-split both name 'val'"):
        load_task_splits(folder, validation_split="val", test_split="val")


# ------------------------------------------------------------------------------ 2. missing recording ids


def test_carve_validation_takes_missing_groups_as_recordings_of_their_own():
    labels = np.repeat([0, 1], 10)
    groups = [None if row % 2 else f"r{row // 4}" for row in range(20)]
    groups[2] = float("nan")  # pandas' missing value
    pool, validation = carve_validation(20, labels, groups, fraction=0.3, seed=0)
    assert sorted([*pool, *validation]) == list(range(20)) and len(validation) >= 6
    for name in {group for group in groups if isinstance(group, str)}:  # a known recording stays on one side
        rows = [row for row, group in enumerate(groups) if group == name]
        assert set(rows) <= set(pool) or set(rows) <= set(validation), name
    ids = [None if row % 3 == 0 else row // 4 for row in range(20)]  # integer ids with gaps
    pool, validation = carve_validation(20, labels, ids, fraction=0.3, seed=0)
    assert sorted([*pool, *validation]) == list(range(20))
    # without a missing id the carve is what it always was
    named = [f"r{row}" for row in range(20)]
    assert [rows.tolist() for rows in carve_validation(20, labels, named, 0.3, 0)] == [
        rows.tolist() for rows in carve_validation(20, labels, None, 0.3, 0)
    ]


def _with_missing_recordings(split: datasets.Dataset, kind: str) -> datasets.Dataset:
    recordings = [None if row % 2 else f"rec{row // 4}" for row in range(len(split))]
    if kind == "none":
        return split.remove_columns("recording").add_column("recording", recordings)
    frame = pd.DataFrame(
        {
            "input_values": [np.asarray(values).tolist() for values in split["input_values"]],
            "label": split["label"],
            "sampling_rate": split["sampling_rate"],
            "recording": [np.nan if recording is None else recording for recording in recordings],
        }
    )
    return datasets.Dataset.from_pandas(frame)


@pytest.mark.parametrize("kind", ["none", "pandas nan"])
def test_a_recording_column_with_missing_ids_is_carved(motions, tmp_path, kind):
    """numpy's "'<' not supported between instances of 'NoneType' and 'str'" from the carve, with `subject` of the
    same kind accepted: a row without a recording id is now a recording of its own."""
    splits = {name: _with_missing_recordings(motions[name], kind) for name in ("train", "test")}
    folder = _save(tmp_path / "set", splits)
    loaded = load_task_splits(folder)
    assert loaded.validation_source.startswith("carved") and len(loaded.validation) > 0
    assert len(loaded.train) + len(loaded.validation) == 40
    pool, held_out = set(loaded.train["recording"]), set(loaded.validation["recording"])
    assert not (pool & held_out) - {None}  # a known recording is never on both sides


def test_citrus_evaluate_reads_a_recording_column_with_missing_ids(motions, tmp_path):
    splits = {name: _with_missing_recordings(motions[name], "none") for name in ("train", "test")}
    folder = _save(tmp_path / "set", splits)
    errors = io.StringIO()
    argv = ["evaluate", "--datasets", str(folder), "--arms", "prior", "--budgets", "2", "--seeds", "0"]
    with contextlib.redirect_stderr(errors):
        code = main([*argv, "--output-dir", str(tmp_path / "out"), "--no-show-progress"])
    assert code == 0, errors.getvalue()[-2000:]
    assert json.loads((tmp_path / "out" / "results.json").read_text())


# --------------------------------------------------------------------------------- 3. label beside labels


def test_label_and_a_different_labels_column_are_refused_as_ambiguous(motions, tmp_path):
    """A set with `label` (4 activities) and `labels` (running or not) was fitted on `label` without a word."""
    splits = {
        name: split.add_column("labels", [int(v == 1) for v in split["label"]]) for name, split in motions.items()
    }
    folder = _save(tmp_path / "set", splits)
    with pytest.raises(ValueError) as refused:
        load_task_splits(folder)
    message = str(refused.value)
    assert "\n" not in message and "`label` and a `labels` column" in message and "ambiguous" in message
    assert "remove_columns('labels')" in message and "rename_column('labels', 'label')" in message


def test_label_and_an_equal_labels_column_go_on(motions, tmp_path):
    splits = {name: split.add_column("labels", split["label"]) for name, split in motions.items()}
    loaded = load_task_splits(_save(tmp_path / "set", splits))
    assert loaded.task == "classification" and loaded.labels("test").tolist() == motions["test"]["label"]


def test_target_and_a_different_labels_column_are_refused_as_ambiguous(motions, tmp_path):
    splits = {
        name: split.add_column("target", [float(v) for v in split["label"]])
        .add_column("labels", [float(v == 1) for v in split["label"]])
        .remove_columns("label")
        for name, split in motions.items()
    }
    with pytest.raises(ValueError, match="both a `target` and a `labels` column"):
        load_task_splits(_save(tmp_path / "set", splits))


# ----------------------------------------------------------------------- 4. the example reruns into its folder


def _example_command(monkeypatch, tmp_path, *flags: str) -> list[str]:
    """The `citrus` command `examples/your_own_data.py` runs with `flags` (the command itself is not run)."""
    spec = importlib.util.spec_from_file_location("your_own_data", EXAMPLES / "your_own_data.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    train = np.zeros((8, 4, 50), dtype=np.float32), np.arange(8) % 2
    monkeypatch.setattr(example, "your_arrays", lambda: {"train": train, "test": train})
    commands = []
    # `citrus data info` succeeds, `citrus finetune` "fails" (it is not run)
    monkeypatch.setattr(
        "citrus_hf.commands.main.main", lambda command: commands.append(command) or int(command[0] != "data")
    )
    monkeypatch.setattr(sys, "argv", ["your_own_data.py", "--output-dir", str(tmp_path / "own"), *flags])
    with pytest.raises(SystemExit):
        example.main()
    info, command = commands
    assert info[:2] == ["data", "info"] and command[0] == "finetune"
    return command


def test_the_own_data_example_passes_overwrite_output_dir_on(monkeypatch, tmp_path):
    """Run twice into one --output-dir, it failed with "pass --overwrite-output-dir", a flag it did not take."""
    assert "--overwrite-output-dir" in _example_command(monkeypatch, tmp_path, "--overwrite-output-dir")
    assert "--overwrite-output-dir" not in _example_command(monkeypatch, tmp_path)


def test_class_names_as_text_are_numbered_alike_in_every_split(motions, tmp_path):
    """A user's own labels are often names ("walking"): they were refused with advice to cast them to a `ClassLabel`.
    They are now one `ClassLabel`, its names sorted over every split, so that an id means one class everywhere (a
    test split without "badminton" numbered on its own would make "running" 0), and the fitted model's `id2label`
    carries the names."""
    names = [name.lower() for name in motions["train"].features["label"].names]  # standing, running, ...

    def as_text(split):
        texts = [names[label] for label in split["label"]]
        return split.remove_columns("label").add_column("label", texts)

    splits = {name: as_text(split) for name, split in motions.items()}
    splits["test"] = splits["test"].filter(lambda row: row["label"] != "badminton")
    loaded = load_task_splits(_save(tmp_path / "set", splits))
    assert loaded.label_names == ["badminton", "running", "standing", "walking"]
    assert loaded.train.features["label"] == loaded.test.features["label"]
    assert loaded.labels("test").tolist() == [loaded.label_names.index(name) for name in splits["test"]["label"]]
    assert 0 not in loaded.labels("test").tolist()

    numbered = {
        name: split.select(range(12))
        .remove_columns("label")
        .add_column("label", [str(2 + 4 * (i % 3)) for i in range(12)])
        for name, split in motions.items()
    }
    assert load_task_splits(_save(tmp_path / "numbered", numbered)).label_names == ["2", "6", "10"]  # not "10", "2"


def test_the_carve_of_ones_own_set_keeps_a_subject_on_one_side(tmp_path):
    """It grouped by `recording` only: six subjects with several recordings each sat on both sides of the carved
    validation split, whose scores then read high (the README's table names `subject` as a grouping column)."""
    import datasets

    from citrus_hf.data.splits import load_task_splits

    rng = np.random.default_rng(0)
    rows = {"input_values": [], "label": [], "subject": [], "recording": [], "sampling_rate": []}
    for subject in range(6):
        for label in ("a", "b"):
            for take in range(3):
                rows["input_values"].append(rng.standard_normal((1, 200)).astype(np.float32))
                rows["label"].append(label)
                rows["subject"].append(f"S{subject}")
                rows["recording"].append(f"S{subject}-{label}-{take}")
                rows["sampling_rate"].append(100.0)
    # (a test split of its own: other subjects' windows; the training windows themselves would be refused)
    test = {**{key: values[:4] for key, values in rows.items()}, "subject": ["S9"] * 4, "recording": list("wxyz")}
    test["input_values"] = [rng.standard_normal((1, 200)).astype(np.float32) for _ in range(4)]
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows), "test": datasets.Dataset.from_dict(test)}).save_to_disk(tmp_path / "own")  # fmt: skip
    splits = load_task_splits(str(tmp_path / "own"))
    assert "by subject" in splits.validation_source and len(splits.validation)
    assert not set(splits.train["subject"]) & set(splits.validation["subject"])
