"""A labelled set of your own whose examples are longer than a window: `--dataset-options window_seconds=S
[hop_seconds=H]` cuts each into windows, as the registered sets' builders cut their recordings. Before, the options
were refused for any set but a registered one, and a folder of long recordings (`train/<class>/<file>`) was fitted
on the first window of each file (the rest cropped, with advice no command could follow). Real BasicMotions IMU
rows (10 s at 10 Hz, 6 channels, 4 classes)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import datasets
import numpy as np
import pytest

from citrus_hf.commands.main import main
from citrus_hf.data import build_dataset
from citrus_hf.data.splits import load_split, load_task_splits
from citrus_hf.data.windowing import check_own_set_options, window_examples


@pytest.fixture(scope="module")
def motions() -> datasets.DatasetDict:
    return build_dataset("basic_motions").select_columns(["input_values", "label", "sampling_rate", "recording"])


@pytest.fixture(scope="module")
def class_folders(motions, tmp_path_factory) -> Path:
    """BasicMotions as one .npy file per example in `<split>/<class>/` folders (no rate recorded: 10 Hz)."""
    names = motions["train"].features["label"].names
    folder = tmp_path_factory.mktemp("own") / "motions"
    for split in ("train", "test"):
        for index, row in enumerate(motions[split].with_format("numpy")):
            (folder / split / names[row["label"]]).mkdir(parents=True, exist_ok=True)
            np.save(folder / split / names[row["label"]] / f"{index:02d}.npy", row["input_values"])
    return folder


def test_class_folders_of_long_files_are_cut_into_windows_grouped_by_file(class_folders, caplog):
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.splits"):
        splits = load_task_splits(class_folders, {"window_seconds": 3, "hop_seconds": 2}, sampling_rate=10)
    # 10 s files: windows start at 0, 2, 4 and 6 s (the last 1 s is less than a window)
    assert len(splits.train) + len(splits.validation) == 160 and len(splits.test) == 160
    assert "The train split's 40 examples are cut into 160 windows of 3 s every 2 s" in caplog.text
    # a file's windows stay on one side of the carved validation split
    assert not set(splits.train["recording"]) & set(splits.validation["recording"])
    assert splits.validation_source.startswith("carved from train")
    row = splits.test[5]
    assert np.asarray(row["input_values"]).shape == (6, 30) and row["start_seconds"] == 2.0
    whole = np.load(class_folders / row["recording"])
    np.testing.assert_allclose(np.asarray(row["input_values"]), whole[:, 20:50], rtol=1e-6)
    assert splits.label_names[splits.test[5]["label"]] == row["recording"].split("/")[1]


def test_windows_keep_the_columns_offset_start_seconds_and_name_rows_without_a_recording(motions):
    """A row already a window of a longer recording (its `start_seconds`) gets windows at its own offset; a row
    shorter than the window stays whole; rows without a recording id get one per row, so a carve never splits
    them; (time,) rows are cut along time."""
    rows = motions["train"].select(range(3)).remove_columns("recording")
    rows = rows.add_column("start_seconds", [100.0, 200.0, 300.0]).add_column("subject", ["a", "b", "c"])
    rows = rows.cast_column("input_values", datasets.List(datasets.List(datasets.Value("float32"))))
    short = rows.select([2]).map(lambda row: {"input_values": np.asarray(row["input_values"])[:, :40]})
    rows = datasets.concatenate_datasets([rows.select([0, 1]), short.cast(rows.features)])
    windowed = window_examples(rows, 5.0, 5.0, name="train")
    assert windowed["start_seconds"] == [100.0, 105.0, 200.0, 205.0, 300.0]
    assert windowed["recording"] == ["train row 0", "train row 0", "train row 1", "train row 1", "train row 2"]
    assert windowed["subject"] == ["a", "a", "b", "b", "c"] and windowed["label"] == [rows["label"][0]] * 2 + [
        rows["label"][1]
    ] * 2 + [rows["label"][2]]
    assert windowed.features["label"] == rows.features["label"]
    assert [np.asarray(values).shape for values in windowed["input_values"]] == [(6, 50)] * 4 + [(6, 40)]
    single = rows.select([0]).map(lambda row: {"input_values": np.asarray(row["input_values"])[0]})
    single = single.cast_column("input_values", datasets.List(datasets.Value("float32")))
    cut = window_examples(single.remove_columns("sampling_rate"), 4.0, 4.0, sampling_rate=10.0)
    assert [len(values) for values in cut["input_values"]] == [40, 40]
    np.testing.assert_allclose(cut[1]["input_values"], np.asarray(single[0]["input_values"])[40:80])


def test_finetune_evaluate_and_data_info_take_the_windowing(class_folders, tmp_path, capsys):
    argv = ["--dataset", str(class_folders), "--sampling-rate", "10", "--dataset-options", "window_seconds=5"]
    assert (
        main(
            ["finetune", *argv, "--model-config", "tiny", "--recipe", "probe", "--label-budget", "2"]
            + ["--no-show-progress", "--output-dir", str(tmp_path / "fit")]
        )
        == 0
    )
    results = json.loads((tmp_path / "fit" / "finetune_results.json").read_text())
    assert results["num_test"] == 80 and results["arguments"]["dataset_options"] == {"window_seconds": 5}
    # the model card's training rows say the examples were cut
    from citrus_hf.publishing.runs import read_run_records

    assert read_run_records(tmp_path / "fit").hyperparameters["Dataset options"] == "window_seconds=5"
    capsys.readouterr()
    assert main(["data", "info", str(class_folders), "--sampling-rate", "10", "--window-seconds", "5"]) == 0
    out = capsys.readouterr().out
    assert "options: window_seconds=5.0" in out and "train 64, validation 16" in out and "test 80 rows" in out
    assert out.count("are cut into") == 0  # said on stderr through the log, once per split
    evaluate = ["evaluate", "--datasets", str(class_folders), "--sampling-rate", "10", "--budgets", "1"]
    evaluate += ["--dataset-options", f"{class_folders}:window_seconds=5", "--seeds", "0", "--arms", "prior"]
    assert main([*evaluate, "--no-show-progress", "--output-dir", str(tmp_path / "eval")]) == 0
    metadata = json.loads((tmp_path / "eval" / "results.json").read_text())["metadata"]
    assert metadata["dataset options"] == f'{class_folders}: {{"window_seconds": 5}}'


@pytest.mark.parametrize(
    "options, message",
    [
        ({"seed": 3}, r"options \['seed'\] are builder options of registered datasets.*window_seconds=S"),
        ({"hop_seconds": 2}, r"a hop needs a window"),
        ({"window_seconds": -5}, r"window_seconds must be a positive number of seconds, got -5"),
        ({"window_seconds": 5, "hop_seconds": "x"}, r"hop_seconds must be a positive number of seconds, got 'x'"),
    ],
)
def test_options_a_set_of_your_own_does_not_take_are_one_line(options, message):
    with pytest.raises(ValueError, match=message):
        check_own_set_options(options, "motions")


def test_the_windowing_needs_each_rows_rate_and_a_labelled_set(motions, class_folders, tmp_path, capsys):
    without_rate = motions.remove_columns("sampling_rate")
    without_rate.save_to_disk(str(tmp_path / "set"))
    assert main(["data", "info", str(tmp_path / "set"), "--window-seconds", "5"]) == 2
    assert "has no `sampling_rate` column: give the rate of every row (--sampling-rate HZ)" in capsys.readouterr().err
    unlabelled = tmp_path / "pile"
    unlabelled.mkdir()
    for index in range(2):
        np.save(unlabelled / f"{index}.npy", np.asarray(motions["train"][index]["input_values"]))
    assert main(["data", "info", str(unlabelled), "--sampling-rate", "10", "--window-seconds", "5"]) == 2
    assert "cuts a corpus into the model's own windows" in capsys.readouterr().err
    # pre-training reads a set of its own through `load_split`, which windows nothing: the options are refused there
    with pytest.raises(ValueError, match="takes window_seconds / hop_seconds in citrus finetune, evaluate"):
        load_split(class_folders, "train", {"window_seconds": 5})
