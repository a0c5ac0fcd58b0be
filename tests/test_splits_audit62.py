"""Splits of a user's set (audit 62, `datasets` habits): in a folder of data files, `eval` / `evaluation` files are the
validation split, as the package names it everywhere (`datasets` reads them as test), and a file that names no split
is refused (`datasets` left it out without a word).
"""

from __future__ import annotations

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


def _write(folder, names: dict[str, int]) -> None:
    """A parquet file per name (a path under `folder`) of that many rows, each row's `recording` its file's stem."""
    for name, count in names.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = _rows([["a", "b"]] * count)
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
