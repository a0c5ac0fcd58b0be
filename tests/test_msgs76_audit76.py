"""Message leftovers of audit 76: offline, a relative path that names no folder is told that beside the Hub cache
advice; `dtype` / `torch_dtype` that disagree are said of the Auto call the user made; the Trainer's column advice
names the imports its code needs. Tiny models, no network."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.configuration_citrus import uncached_offline_error


def test_offline_a_relative_path_that_names_no_folder_is_said_to_name_none(tmp_path, monkeypatch):
    """Offline, `from_pretrained("data/ckpt")` (a mistyped folder has a Hub id's shape) was told only about the Hub
    cache and `snapshot_download`; the one line now also says no folder of that name exists, relative to the working
    folder it names. A folder that exists is not said to be missing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()  # (a name whose parent is no folder here reads as a Hub id: audit 77)
    with pytest.raises(OSError) as raised:
        CiTrusForSequenceClassification.from_pretrained(
            "data/ckpt", cache_dir=tmp_path / "cache", local_files_only=True
        )
    said = str(raised.value)
    assert said.startswith("The Hub cache holds no config.json of 'data/ckpt', and offline mode is on"), said
    assert f"No folder 'data/ckpt' exists in the working folder {str(tmp_path)!r} either" in said, said
    assert "\n" not in said, said
    (tmp_path / "data" / "ckpt").mkdir(parents=True)
    assert "No folder" not in str(uncached_offline_error("data/ckpt", "config.json"))


def test_disagreeing_dtypes_are_said_of_the_auto_call_the_user_made(tmp_path):
    """`AutoModelForSequenceClassification.from_pretrained(folder, dtype=..., torch_dtype=...)` with the two in
    disagreement was refused as `CiTrusForSequenceClassification.from_pretrained: ...`, a call the user never typed;
    the Auto wrapper now names the Auto call. The CiTrus class keeps its own name."""
    from transformers import AutoModelForSequenceClassification

    save_tiny_classifier(tmp_path)
    conflict = {"dtype": torch.float16, "torch_dtype": torch.float32}
    with pytest.raises(
        ValueError, match=r"^AutoModelForSequenceClassification\.from_pretrained: `dtype=torch\.float16`"
    ):
        AutoModelForSequenceClassification.from_pretrained(tmp_path, **conflict)
    with pytest.raises(ValueError, match=r"^CiTrusForSequenceClassification\.from_pretrained: `dtype="):
        CiTrusForSequenceClassification.from_pretrained(tmp_path, **conflict)


def _advice_runs_as_printed(said: str, name: str, given) -> list:
    """Runs the advised code of the refusal `said` (`name = ...`) with only `given` bound to `name`, after the imports
    the message names; returns what it made."""
    code = re.search(rf"`({name} = [^`]+)`", said)
    assert code is not None, said
    namespace = {name: given}
    for line in re.findall(r"`((?:import|from) [^`]+)`", said):
        exec(line, namespace)
    exec(code.group(1), namespace)
    return namespace[name]


def _trainer(model, tmp_path, dataset):
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(str(tmp_path), report_to=[], use_cpu=True)
    return Trainer(model=model, args=args, train_dataset=dataset)


@pytest.mark.parametrize("kind", ["rows", "subset of rows", "subset of a Dataset"])
def test_the_trainer_column_advice_names_the_imports_its_code_needs(kind, tmp_path):
    """The Trainer's advice for PatchTST's `past_values` column used `np` (and for a Subset `Subset`, for class names
    `ClassLabel` on a Subset's Dataset) without saying what to import: run as printed it stopped at a NameError. The
    imports are now named after the code, which then runs on its own and gives a set the Trainer takes."""
    config = tiny_config(num_labels=2, id2label={0: "rest", 1: "walk"}, label2id={"rest": 0, "walk": 1})
    model = CiTrusForSequenceClassification(config)
    window = np.zeros((config.num_channels, 200), dtype=np.float32)
    if kind == "subset of a Dataset":
        given = torch.utils.data.Subset(Dataset.from_list([{"input_values": window, "labels": "walk"}] * 2), [0, 1])
    else:
        rows = [{"past_values": window.T, "labels": 1} for _ in range(2)]
        given = rows if kind == "rows" else torch.utils.data.Subset(rows, [0, 1])
    with pytest.raises(ValueError) as raised:
        _trainer(model, tmp_path, given)
    said = str(raised.value)
    fixed = _advice_runs_as_printed(said, "rows" if kind == "rows" else "subset", given)
    _trainer(model, tmp_path, fixed)


def test_the_regression_cast_advice_names_the_value_import(tmp_path):
    """A regressor's set with text targets was advised `dataset.cast_column(..., Value('float32'))` without naming
    `from datasets import Value`; it is named now, and the advice runs as printed."""
    model = CiTrusForRegression(tiny_config(num_targets=1))
    dataset = Dataset.from_list([{"input_values": np.zeros((1, 200), np.float32), "labels": "0.5"}] * 2)
    with pytest.raises(ValueError) as raised:
        _trainer(model, tmp_path, dataset)
    said = str(raised.value)
    assert "`from datasets import Value`" in said, said
    fixed = _advice_runs_as_printed(said, "dataset", dataset)
    assert fixed[0]["labels"] == pytest.approx(0.5)
