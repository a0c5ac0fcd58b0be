"""Audit 75 (readme75): what README's Trainer passage promises for a `torch.utils.data.Subset` or a list of dicts
("checked by its first row's keys") holds with a fix those sets can take: the refusal of labels under another key, or
of a pre-training set's label column, advised `dataset.rename_column(...)` / `dataset.remove_columns(...)`, which a
list or a Subset does not have (an AttributeError on the fix). Tiny models, four random windows."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusForPretraining, CiTrusForRegression


def _rows(key: str) -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"input_values": rng.standard_normal((1, 200)).astype(np.float32), key: float(i % 2)} for i in range(4)]


def _trainer(tmp_path, model, train_dataset) -> Trainer:
    args = TrainingArguments(str(tmp_path / "out"), report_to="none", use_cpu=True, save_strategy="no")
    return Trainer(model=model, args=args, train_dataset=train_dataset)


def _advised_fix(error: pytest.ExceptionInfo) -> str:
    """The code the refusal advises, between the backticks after its 'Rename it:' / 'Drop it:'."""
    return re.search(r"(?:Rename|Drop) it: `([^`]+)`", str(error.value)).group(1)


@pytest.mark.parametrize("kind", ["list", "subset of a list"])
def test_targets_under_another_key_of_rows_are_refused_with_a_fix_the_rows_take(tmp_path, kind):
    rows = _rows("target")
    given = rows if kind == "list" else torch.utils.data.Subset(rows, [0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"labels are in a `target` column") as refused:
        _trainer(tmp_path, CiTrusForRegression(tiny_config()), given)
    assert "rename_column" not in str(refused.value)  # a list / a Subset of one has no such method
    scope = {"rows": rows, "subset": given, "Subset": torch.utils.data.Subset}
    exec(_advised_fix(refused), scope)  # the fix as written runs, and the Trainer then takes the set
    _trainer(tmp_path, CiTrusForRegression(tiny_config()), scope["rows" if kind == "list" else "subset"])


def test_targets_of_a_subset_of_a_dataset_are_renamed_in_the_set_behind_it(tmp_path):
    rows = Dataset.from_list([{**row, "input_values": row["input_values"].tolist()} for row in _rows("target")])
    subset = torch.utils.data.Subset(rows, [0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"labels are in a `target` column") as refused:
        _trainer(tmp_path, CiTrusForRegression(tiny_config()), subset)
    scope = {"subset": subset, "Subset": torch.utils.data.Subset}
    exec(_advised_fix(refused), scope)
    _trainer(tmp_path, CiTrusForRegression(tiny_config()), scope["subset"])


def test_a_label_key_of_a_list_for_pretraining_is_refused_with_a_fix_the_list_takes(tmp_path):
    rows = _rows("label")
    with pytest.raises(ValueError, match=r"learns without labels.*`label`") as refused:
        _trainer(tmp_path, CiTrusForPretraining(tiny_config()), rows)
    assert "remove_columns" not in str(refused.value)
    scope = {"rows": rows}
    exec(_advised_fix(refused), scope)
    _trainer(tmp_path, CiTrusForPretraining(tiny_config()), scope["rows"])


@pytest.mark.parametrize("kind", ["list", "subset of a dataset"])
def test_an_attention_mask_of_rows_is_refused_with_a_patch_mask_fix_the_rows_take(tmp_path, kind):
    mask = np.r_[np.ones(100), np.zeros(100)].astype(np.int64)  # the second second is padding
    rows = [{"input_values": row["input_values"], "attention_mask": mask, "labels": 0} for row in _rows("y")]
    given = (
        rows
        if kind == "list"
        else torch.utils.data.Subset(
            Dataset.from_list([{**row, "input_values": row["input_values"].tolist()} for row in rows]), [0, 1]
        )
    )
    model = CiTrusForRegression(tiny_config())
    with pytest.raises(ValueError, match=r"marks its padding in an `attention_mask` column") as refused:
        _trainer(tmp_path, model, given)
    fix = re.search(r"signal: `([^`]+)`", str(refused.value)).group(1)
    scope = {"rows": rows, "subset": given, "Subset": torch.utils.data.Subset, "np": np}
    exec(fix, scope)
    fixed = scope["rows" if kind == "list" else "subset"]
    assert [list(np.asarray(fixed[i]["patch_mask"])) for i in range(2)] == [[1] * 5 + [0] * 5] * 2
    _trainer(tmp_path, model, fixed)


def test_a_subset_numbering_the_classes_in_another_order_is_told_to_renumber_the_set_behind_it(tmp_path):
    from datasets import ClassLabel

    from citrus_hf import CiTrusForSequenceClassification

    windows = [row["input_values"].tolist() for row in _rows("y")]
    dataset = Dataset.from_dict({"input_values": windows, "labels": [0, 1, 0, 1]})
    dataset = dataset.cast_column("labels", ClassLabel(names=["move", "rest"]))
    subset = torch.utils.data.Subset(dataset, [0, 1, 2])
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, id2label={0: "rest", 1: "move"}))
    with pytest.raises(ValueError, match=r"ClassLabel numbers the classes") as refused:
        _trainer(tmp_path, model, subset)
    scope = {"dataset": dataset, "subset": subset, "Subset": torch.utils.data.Subset}
    for fix in re.findall(r"`((?:dataset|subset) = [^`]+)`", str(refused.value)):
        exec(fix, scope)  # the renumbering, then the Subset taken again of the renumbered set
    assert [scope["subset"][i]["labels"] for i in range(3)] == [1, 0, 1]
    _trainer(tmp_path, model, scope["subset"])
