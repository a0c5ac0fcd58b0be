"""Splits of a user's set (audit 62, `datasets` habits): rows that name their channels (`channel_names`) in another
order than the train split's first row are read by name, not stacked by position (a test split stored (b, a) under
a model of (a, b) was scored with its channels swapped, and train rows of two orders left the model without names);
a row without one of the model's channels is refused. In a folder of data files, `eval` / `evaluation` files are the
validation split, as the package names it everywhere (`datasets` reads them as test), and a file that names no split
is refused (`datasets` left it out without a word).
"""

from __future__ import annotations

import logging

import datasets
import numpy as np
import pytest

from citrus_hf.data.splits import load_split, load_task_splits

RATE = 100.0


def _rows(orders: list[list[str]], seed: int = 0) -> dict:
    """Rows of channels `a` (a sine at 2 Hz + its row number), `b` (noise) and `c` (zeros), stacked in each row's
    order (a name matched case and surrounding spaces aside, as the package matches them)."""
    rng = np.random.default_rng(seed)
    time = np.arange(200) / RATE
    values = []
    for row, order in enumerate(orders):
        channels = {"a": np.sin(2 * np.pi * 2 * time) + row, "b": rng.standard_normal(200), "c": np.zeros(200)}
        values.append(np.stack([channels[name.strip().lower()] for name in order]).astype(np.float32))
    return {
        "input_values": values,
        "channel_names": orders,
        "label": [row % 2 for row in range(len(orders))],
        "sampling_rate": [RATE] * len(orders),
    }


def _saved(tmp_path, train: list[list[str]], test: list[list[str]]):
    folder = tmp_path / "set"
    built = {"train": datasets.Dataset.from_dict(_rows(train)), "test": datasets.Dataset.from_dict(_rows(test, 1))}
    datasets.DatasetDict(built).save_to_disk(str(folder))
    return folder


def _channel_a_is_first(split) -> bool:
    """Whether every row's first channel is `a` (the sine, offset by the row's number; a carve reorders the rows)."""
    sine = np.sin(2 * np.pi * 2 * np.arange(200) / RATE)
    first = [np.asarray(values)[0] for values in split["input_values"]]
    return all(np.allclose(channel - channel.mean(), sine - sine.mean(), atol=1e-4) for channel in first)


def test_test_rows_of_another_channel_order_are_read_by_name(tmp_path, caplog):
    """Train rows are (a, b), test rows (b, a), each saying so: the test rows reach the model as (a, b), with a
    warning naming the reordered rows (they were scored by position: swapped channels, nothing said)."""
    folder = _saved(tmp_path, [["a", "b"]] * 8, [["b", "a"]] * 4)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        splits = load_task_splits(folder, require_validation=False)
    assert splits.channel_names == ["a", "b"]
    assert _channel_a_is_first(splits.test)
    assert splits.test["channel_names"] == [["a", "b"]] * 4
    assert "4 row(s) of the test split name their channels in another order" in caplog.text


def test_train_rows_of_two_channel_orders_are_read_in_the_first_rows_order(tmp_path):
    """Train rows of two orders were mixed by position and the model kept no channel names."""
    folder = _saved(tmp_path, [["a", "b"], ["B ", "a"]] * 4, [["a", "b"]] * 4)
    splits = load_task_splits(folder, require_validation=False)
    assert splits.channel_names == ["a", "b"]
    assert _channel_a_is_first(splits.train)
    assert (
        splits.train.features["input_values"] == datasets.load_from_disk(str(folder))["train"].features["input_values"]
    )


@pytest.mark.parametrize(
    ("test_order", "said"),
    [
        (["a", "c"], r"The test split's row 0 names its channels \['a', 'c'\], without \['b'\]"),
        (["b", "b"], r"The test split's row 0 names its channels \['b', 'b'\], \['b'\] more than once"),
    ],
)
def test_a_row_without_the_models_channels_is_refused(tmp_path, test_order, said):
    """A test row of other channels than train's was scored by position, its `c` taken for `b`."""
    folder = _saved(tmp_path, [["a", "b"]] * 8, [test_order] * 4)
    with pytest.raises(ValueError, match=said):
        load_task_splits(folder, require_validation=False)


def _write(folder, names: dict[str, int]) -> None:
    """A parquet file per name (a path under `folder`) of that many rows, each row's `recording` its file's stem."""
    for seed, (name, count) in enumerate(names.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = _rows([["a", "b"]] * count, seed)  # (each file its own noise: windows of a training file are refused)
        rows["recording"] = [f"{path.stem}{row}" for row in range(count)]
        datasets.Dataset.from_dict(rows).to_parquet(str(path))


@pytest.mark.parametrize("name", ["eval.parquet", "evaluation.parquet", "validation/part.parquet"])
def test_an_eval_data_file_is_the_validation_split(tmp_path, name):
    """`datasets` put eval.parquet / evaluation.parquet into test (scored as test rows, and validation was carved), and
    read only validation/ beside train.parquet and test.parquet, which it left out."""
    _write(tmp_path, {"train.parquet": 8, name: 3, "test.parquet": 4})
    splits = load_task_splits(tmp_path, require_validation=False)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (8, 3, 4)
    assert splits.validation_source == "validation"
    assert not any(recording.startswith(("eval", "dev", "part")) for recording in splits.test["recording"])


def test_a_data_file_that_names_no_split_is_refused(tmp_path):
    """holdout.parquet beside train.parquet and test.parquet was left out without a word. Files of which none names a
    split are still one train split, as `datasets` reads them."""
    _write(tmp_path / "set", {"train.parquet": 8, "holdout.parquet": 3, "test.parquet": 4})
    with pytest.raises(ValueError, match=r"Data file\(s\) \['holdout.parquet'\] of .* name no split.*validation"):
        load_task_splits(tmp_path / "set", require_validation=False)
    _write(tmp_path / "shards", {"part_a.parquet": 3, "part_b.parquet": 4})
    assert len(load_split(tmp_path / "shards", "train")) == 7


def test_data_files_of_two_kinds_are_refused(tmp_path):
    """`datasets` read the most common kind (parquet) and left test_2.json out without a word. The layout
    `push_to_hub` writes keeps its split names (`eval` then validates, as a `save_to_disk` split of that name does)."""
    _write(tmp_path / "set", {"train.parquet": 8, "test_1.parquet": 4})
    datasets.Dataset.from_dict(_rows([["a", "b"]] * 2)).to_json(str(tmp_path / "set" / "test_2.json"))
    with pytest.raises(ValueError, match=r"data files of several kinds \(json: \['test_2.json'\]; parquet: "):
        load_task_splits(tmp_path / "set", require_validation=False)
    pushed = {
        f"data/{split}-00000-of-00001.parquet": count for split, count in [("train", 8), ("eval", 3), ("test", 4)]
    }
    _write(tmp_path / "pushed", pushed)
    splits = load_task_splits(tmp_path / "pushed", require_validation=False)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (8, 3, 4)


def test_names_that_differ_in_case_only_are_the_same_channels_in_place(tmp_path, caplog):
    """ "FP1" and "Fp1" are one channel to the model: no warning, no rewrite."""
    folder = _saved(tmp_path, [["A", "b"]] * 8, [["a", "B"]] * 4)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        splits = load_task_splits(folder, require_validation=False)
    assert "another order" not in caplog.text
    assert _channel_a_is_first(splits.test)


def test_a_test_split_named_validation_beside_no_validation_split_is_read(tmp_path):
    folder = tmp_path / "set"
    built = {
        "train": datasets.Dataset.from_dict(_rows([["a", "b"]] * 8)),
        "validation": datasets.Dataset.from_dict(_rows([["b", "a"]] * 4, 1)),
    }
    datasets.DatasetDict(built).save_to_disk(str(folder))
    splits = load_task_splits(folder, validation_split=None, test_split="validation", require_validation=False)
    assert _channel_a_is_first(splits.test)


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".ndjson", ".csv.gz"])
def test_a_folder_of_compressed_or_ndjson_data_files_loads_by_split(tmp_path, suffix):
    import gzip

    def text(first: float) -> str:
        # (each split its own rows: a test file byte for byte the training file is left out, as a leak)
        rows = ((first, 0), (first + 1, 1), (first + 2, 0))
        if ".csv" in suffix:
            return "x,label\n" + "".join(f"{value},{label}\n" for value, label in rows)
        return "".join(f'{{"x": {value}, "label": {label}}}\n' for value, label in rows)

    folder = tmp_path / "files"
    folder.mkdir()
    for split, first in (("train", 1.0), ("test", 11.0)):
        path = folder / f"{split}{suffix}"
        data = text(first).encode()
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    loaded = load_split(folder, "train"), load_split(folder, "test")
    assert [len(split) for split in loaded] == [3, 3]
