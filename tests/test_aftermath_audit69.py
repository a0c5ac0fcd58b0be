"""Session 69: what a refused, failed or interrupted command leaves behind.

1. `citrus finetune` saved the model and its extractor before it scored the test split and wrote
   finetune_results.json: a run interrupted (Ctrl-C) or failing in between left a model without its records, which
   loads as a finished run, said "Nothing was saved", and refused the same command again ("already holds a
   fine-tuned model"); with --overwrite-output-dir the earlier run's files were deleted before the new ones were
   written. The run is now scored first and its files written in a hidden folder of their own, moved in at the end.
2. `citrus data build FOLDER --output DIR` into a DIR that held a registered set's build kept that build's
   `citrus_built_from.json`, so a later `citrus pretrain --dataset DIR` recorded the wrong corpus; and a build into a
   DIR that held another build wrote over it split by split (one interrupted left one set's train beside the other's
   test). A build is now saved whole beside the folder's contents and swapped in.
4. `citrus pretrain --overwrite-output-dir` deleted the earlier run (its checkpoints, summary and weights) before it
   loaded its corpus: a run refused there (a split that does not exist, NaN rows) left a folder of config and code
   without weights. The earlier run is now cleared only once the new one is about to train; and its TensorBoard
   logs (`<output-dir>/tensorboard`, where the new run logs too) with it: they stayed, and TensorBoard drew both runs
   as one, two losses at every step.
5. `pretraining_summary.json` and `citrus evaluate`'s results.json / .csv / .md / .png were written in place: a write
   that failed part-way (a full disk) or was killed left half a JSON document, which `citrus evaluate` (a pre-trained
   arm's run), `citrus push` and `--resume-from` then failed to read, in place of the earlier file. They are now
   written whole or not at all (`_files.written_then_renamed`), as the package's other outputs are.
6. `citrus finetune` gave the Trainer `<output-dir>/trainer` as its scratch folder and deleted it after every run,
   whatever the recipe (the probe never starts a Trainer): a folder of the user's own of that name in --output-dir (a
   project folder given as `--output-dir .`) was deleted with its files. The scratch folder is now a hidden one of
   the run's own (`.citrus-trainer`).
7. `citrus evaluate --no-resume` deleted the folder's runs.jsonl (every recorded run) when it started, before its
   sets were read: a run refused there (a mistyped --test-split) lost them all. It is now emptied when the first run
   of the new evaluation is recorded.
3. A run refused at its output folder's lock (`citrus finetune`, `pretrain`, `evaluate`, `data build`) removed the
   folder it created, but not the parent folders it created for it: `--output-dir runs/new/a` left `runs/new`.
"""

from __future__ import annotations

import importlib
import json

import datasets
import numpy as np
import pytest
from tiny_configs import save_tiny_classifier

from citrus_hf.commands.main import main


def _labelled_set(folder, rows: int = 8, seed: int = 0):
    """A save_to_disk set of `rows` training and 4 test rows of 2 channels, 2 s at 100 Hz (the tiny contract)."""
    rng = np.random.default_rng(seed)

    def split(count):
        return datasets.Dataset.from_dict(
            {
                "input_values": [
                    rng.standard_normal((2, 200)).astype(np.float32) + index % 2 for index in range(count)
                ],
                "label": [index % 2 for index in range(count)],
                "sampling_rate": [100.0] * count,
            }
        ).cast_column("label", datasets.ClassLabel(names=["a", "b"]))

    datasets.DatasetDict(train=split(rows), test=split(4)).save_to_disk(str(folder))
    return folder


def _finetune_argv(tmp_path, output):
    model = tmp_path / "base"
    if not model.is_dir():
        save_tiny_classifier(model)
    dataset = tmp_path / "set"
    if not dataset.is_dir():
        _labelled_set(dataset)
    return ["finetune", "--dataset", str(dataset), "--model", str(model), "--recipe", "probe"]


# ------------------------------------------------------------------------- 1. finetune writes its run whole


def _interrupt_scoring(monkeypatch):
    finetune_module = importlib.import_module("citrus_hf.training.finetune")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(finetune_module, "scored_outputs", interrupted)


def test_finetune_interrupted_after_fitting_leaves_no_model_and_the_same_command_runs_again(
    tmp_path, monkeypatch, capsys
):
    output = tmp_path / "run"
    argv = [*_finetune_argv(tmp_path, output), "--output-dir", str(output), "--no-show-progress"]
    with monkeypatch.context() as patch:
        _interrupt_scoring(patch)
        with pytest.raises(KeyboardInterrupt):
            main(argv)
    # what it said: nothing of this run in the folder (there was none before)
    assert "Nothing was saved" in capsys.readouterr().err
    assert not output.exists() or list(output.iterdir()) == []
    assert main(argv) == 0
    assert {"model.safetensors", "preprocessor_config.json", "finetune_results.json"} <= {
        path.name for path in output.iterdir()
    }


def test_finetune_overwrite_that_fails_keeps_the_earlier_run(tmp_path, monkeypatch):
    output = tmp_path / "run"
    argv = [*_finetune_argv(tmp_path, output), "--output-dir", str(output), "--no-show-progress"]
    assert main(argv) == 0
    before = {path.name: path.read_bytes() for path in output.iterdir() if path.is_file()}
    with monkeypatch.context() as patch:
        _interrupt_scoring(patch)
        with pytest.raises(KeyboardInterrupt):
            main([*argv, "--overwrite-output-dir", "--seed", "3"])
    after = {path.name: path.read_bytes() for path in output.iterdir() if path.is_file()}
    assert after == before
    assert [path.name for path in output.iterdir() if path.is_dir()] == []  # no staging folder left either


def test_finetune_overwrite_replaces_the_earlier_run_whole(tmp_path):
    output = tmp_path / "run"
    argv = [*_finetune_argv(tmp_path, output), "--output-dir", str(output), "--no-show-progress"]
    assert main(argv) == 0
    assert main([*argv, "--overwrite-output-dir", "--label-budget", "2"]) == 0
    results = json.loads((output / "finetune_results.json").read_text(encoding="utf-8"))
    assert results["arguments"]["label_budget"] == "2"
    assert sorted(path.name for path in output.iterdir() if path.name.startswith(".")) == []


# ---------------------------------------------------------------- 2. data build replaces a folder's set whole


def test_a_set_of_ones_own_built_over_a_registered_build_leaves_no_note_of_that_build(
    tmp_path, offline_archives_cached
):
    from citrus_hf.data.builders import built_from

    output = tmp_path / "built"
    assert main(["data", "build", "basic_motions", "--output", str(output)]) == 0
    assert built_from(output)["dataset"] == "basic_motions"
    assert main(["data", "build", str(_labelled_set(tmp_path / "own")), "--output", str(output)]) == 0
    assert built_from(output) is None  # the folder holds the user's set now, not basic_motions
    assert len(datasets.load_from_disk(str(output))["train"]) == 8


def test_a_build_interrupted_while_saving_leaves_the_earlier_set_whole(tmp_path, monkeypatch):
    output = tmp_path / "built"
    assert main(["data", "build", str(_labelled_set(tmp_path / "first", rows=6)), "--output", str(output)]) == 0
    second = _labelled_set(tmp_path / "second", rows=10, seed=1)
    saved = datasets.Dataset.save_to_disk
    calls = []

    def interrupted_after_the_first_split(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return saved(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(datasets.Dataset, "save_to_disk", interrupted_after_the_first_split)
        with pytest.raises(KeyboardInterrupt):
            main(["data", "build", str(second), "--output", str(output)])
    kept = datasets.load_from_disk(str(output))
    assert (len(kept["train"]), len(kept["test"])) == (6, 4)
    assert sorted(path.name for path in output.iterdir()) == ["dataset_dict.json", "test", "train"]


# ----------------------------------------------------------------------- 3. refused runs leave no parents


def test_a_run_refused_at_its_lock_removes_the_folders_it_created(tmp_path):
    from citrus_hf.training.run_lock import output_folder_lock

    held = tmp_path / "runs" / "new" / "a"
    with output_folder_lock(held, "citrus finetune"):
        # a second run into the same folder is refused: the first run's folder stays, and nothing else appears
        with pytest.raises(ValueError, match="being written by another run"):
            with output_folder_lock(held, "citrus finetune"):
                pass
    assert not (tmp_path / "runs").exists()  # the first run left nothing in it either


def test_a_command_refused_after_its_lock_leaves_no_parent_folders(tmp_path):
    output = tmp_path / "runs" / "new" / "a"
    argv = [*_finetune_argv(tmp_path, output), "--output-dir", str(output), "--label-budget", "0.0001x"]
    assert main(argv) == 2
    assert main(["finetune", "--dataset", str(tmp_path / "missing"), "--output-dir", str(output)]) == 2
    assert not (tmp_path / "runs").exists()


def test_the_lock_keeps_parent_folders_that_hold_something(tmp_path):
    from citrus_hf.training.run_lock import output_folder_lock

    output = tmp_path / "runs" / "new" / "a"
    with output_folder_lock(output, "citrus finetune"):
        (tmp_path / "runs" / "new" / "other.txt").write_text("kept", encoding="utf-8")
    assert sorted(path.name for path in (tmp_path / "runs" / "new").iterdir()) == ["other.txt"]


# ------------------------------------------------------ 4. pretrain --overwrite-output-dir refused on its data


def _pretrain_argv(tmp_path, output, *extra):
    dataset = tmp_path / "set"
    if not dataset.is_dir():
        _labelled_set(dataset)
    return [
        "pretrain", "--model-config", "tiny", "--dataset", str(dataset), "--max-steps", "2",
        "--per-device-batch-size", "4", "--report-to", "none", "--no-show-progress", "--output-dir", str(output),
        *extra,
    ]  # fmt: skip


def test_pretrain_overwrite_refused_on_its_data_keeps_the_earlier_run(tmp_path):
    output = tmp_path / "pre"
    assert main(_pretrain_argv(tmp_path, output)) == 0
    before = {path.relative_to(output): path.read_bytes() for path in output.rglob("*") if path.is_file()}
    assert main(_pretrain_argv(tmp_path, output, "--overwrite-output-dir", "--train-split", "nosuch")) == 2
    after = {path.relative_to(output): path.read_bytes() for path in output.rglob("*") if path.is_file()}
    assert after == before
    # and a run that trains replaces it
    assert main(_pretrain_argv(tmp_path, output, "--overwrite-output-dir", "--seed", "1")) == 0
    summary = json.loads((output / "pretraining_summary.json").read_text(encoding="utf-8"))
    assert summary["arguments"]["seed"] == 1


def test_pretrain_overwrite_leaves_no_tensorboard_log_of_the_earlier_run(tmp_path):
    pytest.importorskip("tensorboard")
    output = tmp_path / "pre"
    assert main(_pretrain_argv(tmp_path, output, "--report-to", "tensorboard")) == 0
    earlier = {path.name for path in (output / "tensorboard").rglob("events.out.tfevents.*")}
    assert earlier
    assert main(_pretrain_argv(tmp_path, output, "--report-to", "tensorboard", "--overwrite-output-dir")) == 0
    now = {path.name for path in (output / "tensorboard").rglob("events.out.tfevents.*")}
    assert now and not now & earlier


# ------------------------------------------------------------------- 5. records written whole or not at all


def _writes_fail_half_way(monkeypatch, marker: str):
    """`Path.write_text` of a text holding `marker` writes half of it, then fails as a full disk does."""
    import errno
    import pathlib

    write_text = pathlib.Path.write_text

    def half_then_full(self, data, *args, **kwargs):
        if marker in data:
            write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", half_then_full)


def test_a_pretraining_summary_that_fails_to_write_leaves_none_half_written(tmp_path, monkeypatch):
    output = tmp_path / "pre"
    with monkeypatch.context() as patch:
        _writes_fail_half_way(patch, '"final_loss"')
        with pytest.raises(OSError, match="No space left"):
            main([*_pretrain_argv(tmp_path, output), "--debug"])
    assert not (output / "pretraining_summary.json").exists()
    assert not [path.name for path in output.iterdir() if path.name.endswith(".partial")]


def test_an_evaluation_report_that_fails_to_write_keeps_the_earlier_one(tmp_path, monkeypatch):
    from citrus_runs import protocol_runs

    from citrus_hf.evaluation.report import write_report

    paths = write_report(protocol_runs(5), tmp_path)
    before = {name: path.read_bytes() for name, path in paths.items()}
    with monkeypatch.context() as patch:
        _writes_fail_half_way(patch, '"runs"')
        with pytest.raises(OSError, match="No space left"):
            write_report(protocol_runs(6), tmp_path)
    assert {name: path.read_bytes() for name, path in paths.items()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(path.name for path in paths.values())


# ---------------------------------------------------------------- 6. the Trainer's scratch folder is the run's own


def test_finetune_keeps_a_trainer_folder_of_the_users_own(tmp_path):
    output = tmp_path / "project"
    (output / "trainer").mkdir(parents=True)
    (output / "trainer" / "notes.txt").write_text("mine", encoding="utf-8")
    assert main([*_finetune_argv(tmp_path, output), "--output-dir", str(output), "--no-show-progress"]) == 0
    assert (output / "trainer" / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not (output / ".citrus-trainer").exists()


# ------------------------------------------------------------- 7. evaluate --no-resume refused on its data


def test_evaluate_no_resume_refused_on_its_data_keeps_the_recorded_runs(tmp_path):
    dataset = _labelled_set(tmp_path / "set")
    output = tmp_path / "eval"
    argv = ["evaluate", "--datasets", str(dataset), "--arms", "prior", "--budgets", "2", "--seeds", "0"]
    argv += ["--output-dir", str(output), "--no-show-progress"]
    assert main(argv) == 0
    recorded = (output / "runs.jsonl").read_text(encoding="utf-8")
    assert main([*argv, "--no-resume", "--test-split", f"{dataset}=tset"]) == 2
    assert (output / "runs.jsonl").read_text(encoding="utf-8") == recorded
    assert main([*argv, "--no-resume"]) == 0  # and a run that fits starts the file afresh
    assert len((output / "runs.jsonl").read_text(encoding="utf-8").splitlines()) == len(recorded.splitlines())
