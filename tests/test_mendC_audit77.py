"""Leftovers of session 76 on the data and evaluation side (session 77, area mendC): a folder listed once for all
`load_recording_folder` reads of it; signals measured in slices of rows for length-grouped sampling; the probe's
labels read through a set's transform; one read of row 0 for a transformed column; an explicit `show_progress` of a
protocol's fine-tuning settings noticed; the long-gap note of `--nan-policy interpolate` in pre-training."""

import os
from pathlib import Path

import numpy as np
import pytest
from test_colreads_audit76 import row_reads  # noqa: F401  (a fixture: the row-by-row reads of a Column)

from citrus_hf.data.recording_folders import load_recording_folder, recording_files


@pytest.fixture
def root_listings(monkeypatch):
    """`{folder: times os.scandir listed it}` (`files_under`'s one way to list a folder)."""
    counts: dict[str, int] = {}
    scandir = os.scandir

    def counted(path="."):
        key = os.path.realpath(path)
        counts[key] = counts.get(key, 0) + 1
        return scandir(path)

    monkeypatch.setattr(os, "scandir", counted)
    return counts


def _pile(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(3):
        np.save(folder / f"r{index}.npy", rng.normal(size=(1, 400)).astype(np.float32))
    return folder


def test_a_pile_is_listed_once(tmp_path, own_datasets_cache, root_listings):
    pile = _pile(tmp_path / "pile")
    dataset = load_recording_folder(pile, sampling_rate=50.0)
    assert dataset.num_rows == 3
    assert root_listings[os.path.realpath(pile)] == 1


def test_a_labelled_folder_is_listed_once(recording_folders, own_datasets_cache, root_listings):
    splits = load_recording_folder(recording_folders, sampling_rate=50.0)
    assert sorted(splits) == ["test", "train"] and splits["train"].num_rows == 8
    assert root_listings[os.path.realpath(recording_folders)] == 1


def test_recording_files_takes_a_listing_or_lists(tmp_path):
    pile = _pile(tmp_path / "pile")
    (pile / "notes.md").write_text("not a recording")
    from citrus_hf.data.recording_folders import files_under

    assert recording_files(pile) == recording_files(pile, listed=files_under(pile)) == sorted(pile.glob("*.npy"))


def test_signal_lengths_are_read_in_slices_of_rows(monkeypatch, request):
    reads = request.getfixturevalue("row_reads")  # (test_colreads_audit76's count of a Column's row reads)
    from datasets import Dataset

    from citrus_hf.training import trainer

    lengths = [8, 3, 5, 12, 7]
    single = Dataset.from_dict({"input_values": [[[0.5] * length] * 2 for length in lengths]})
    fusion = Dataset.from_dict(
        {"input_values": [{"eeg": [[0.0] * length], "ecg": [[1.0] * (2 * length)]} for length in lengths]}
    )
    monkeypatch.setattr(trainer, "_MEASURED_ROWS_PER_READ", 2, raising=False)  # slices of 2, 2 and 1 rows
    assert trainer._window_lengths(single) == [{None: length} for length in lengths]
    assert trainer._window_lengths(fusion) == [{"eeg": length, "ecg": 2 * length} for length in lengths]
    assert trainer._signal_patches(single) == lengths
    assert reads == []


def _three_classes():
    from datasets import ClassLabel, Dataset, Features, List, Value

    return Dataset.from_dict(
        {"input_values": [[[float(row)] * 8] for row in range(6)], "labels": [0, 1, 2, 1, 0, 2]},
        features=Features(
            {"input_values": List(List(Value("float32"))), "labels": ClassLabel(names=["rest", "walk", "run"])}
        ),
    )


def _merging_moves(calls: list[int]):
    """A transform that merges "run" into "walk" (2 -> 1), counting the rows it is given."""

    def merge(batch):
        calls.append(len(batch["labels"]))
        return {**batch, "labels": [min(label, 1) for label in batch["labels"]]}

    return merge


def test_the_probe_s_labels_are_the_transformed_ones():
    import torch

    from citrus_hf.data.plans import column_array, column_values
    from citrus_hf.training.probe import checked_probe_dataset
    from citrus_hf.training.recipes import _labels

    merged = _three_classes().with_transform(_merging_moves([]))
    expected = [0, 1, 1, 1, 0, 1]
    assert column_values(merged, "labels") == expected  # (what TaskSplits.labels and the Trainer's batches hold)
    np.testing.assert_array_equal(_labels(merged), expected)
    np.testing.assert_array_equal(column_array(merged.select([5, 2, 0]), "labels"), [1, 1, 0])
    # a transform giving tensors: the same values, stacked
    as_tensors = _three_classes().with_transform(
        lambda batch: {**batch, "labels": torch.tensor([min(label, 1) for label in batch["labels"]])}
    )
    np.testing.assert_array_equal(column_array(as_tensors, "labels"), expected)
    # the probe's checks see two classes: a model of two labels takes the merged set (it was refused, label 2 of 2)
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    checked_probe_dataset(model, merged, "classification", True)


def test_a_transformed_column_reads_each_row_once():
    from citrus_hf.data.plans import column_values

    calls: list[int] = []
    merged = _three_classes().with_transform(_merging_moves(calls))
    assert column_values(merged, "labels") == [0, 1, 1, 1, 0, 1]
    assert sum(calls) == merged.num_rows  # row 0 was read through the transform twice
    # a transform that leaves the column out: the stored values, row 0 the one row read through it
    calls.clear()
    signals_only = _three_classes().with_transform(
        lambda batch: calls.append(1) or {"input_values": batch["input_values"]}
    )
    assert column_values(signals_only, "labels") == [0, 1, 2, 1, 0, 2]
    assert calls == [1]


def test_an_explicit_show_progress_of_the_protocol_s_finetune_is_noticed(caplog):
    import dataclasses
    import logging

    from citrus_hf.evaluation.settings import ProtocolConfig
    from citrus_hf.training.settings import TrainerSettings

    def notices(finetune) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="citrus_hf.evaluation.settings"):
            config = ProtocolConfig(finetune=finetune)
        assert config.finetune.show_progress is False  # (dropped, as before)
        return [record.getMessage() for record in caplog.records if "show_progress" in record.getMessage()]

    said = notices({"show_progress": True})  # (a dict's, as a settings file's: noticed before too)
    assert len(said) == 1 and "ignores" in said[0]
    assert notices(TrainerSettings(show_progress=True)) == said
    # the default a TrainerSettings carries unasked, and copies whose given fields are unknown, stay silent
    assert notices(TrainerSettings(learning_rate=1e-3)) == []
    assert notices(dataclasses.replace(TrainerSettings(), learning_rate=1e-3)) == []
    settings = TrainerSettings(show_progress=True)
    assert list(vars(settings)) == [item.name for item in dataclasses.fields(settings)]  # (no attribute added)
