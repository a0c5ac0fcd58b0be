"""Labelled sets that fitted or scored wrongly, crashed deep in a dependency, or got advice that led nowhere in
`citrus finetune`, `citrus evaluate` and the `Trainer` path (the training-inputs audit): a `ClassLabel` class only
the test split has, a test split without one of the model's classes, train and test rows of different lengths for
MiniRocket, a `sampling_rate` column in some splits only, split names other than train / test, multi-hot labels in
`compute_metrics_fn`, float64 samples beyond float32's range, a whole NaN channel and a `(time, channels)` row.

Each set is a small `DatasetDict` written with `save_to_disk`, as a user's own data would be.
"""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest
from test_bad_inputs_data import RATE, _changed, _citrus, _rows, _save

from citrus_hf.data.splits import load_task_splits

NAMES = ["walk", "run", "sit"]


def _with_names(rows: dict) -> datasets.Dataset:
    return datasets.Dataset.from_dict(rows).cast_column("label", datasets.ClassLabel(names=NAMES))


def _save_splits(tmp_path, name: str = "set", **splits: datasets.Dataset):
    folder = tmp_path / name
    datasets.DatasetDict(splits).save_to_disk(str(folder))
    return folder


def _separable(num: int, labels, samples: int = 200) -> dict:
    """Rows whose class is plain to see (a sine of the class's frequency): a model fits them without error."""
    time = np.arange(samples) / RATE
    rng = np.random.default_rng(num)
    values = [
        (np.sin(2 * np.pi * (1 + 3 * label) * time) + 0.05 * rng.standard_normal(samples))[None].astype(np.float32)
        for label in labels
    ]
    return {"input_values": values, "label": list(labels), "sampling_rate": [RATE] * len(values)}


# ------------------------------------------------------------------------------------------------ classes


@pytest.mark.parametrize("other", ["test", "validation"])
def test_a_class_label_class_only_another_split_has_is_refused(other, tmp_path):
    """`ClassLabel(names=[walk, run, sit])` with no `sit` in train: the model got a `sit` output it could not learn and
    every `sit` example was scored wrong, with no word; the README lists "a class in test that train lacks" among
    the refusals, as it already was for plain class ids."""
    splits = {"train": _with_names(_rows(12, [i % 2 for i in range(12)])), "test": _with_names(_rows(6, [0, 1] * 3))}
    splits[other] = _with_names(_rows(6, [i % 3 for i in range(6)]))
    with pytest.raises(ValueError) as raised:
        load_task_splits(_save_splits(tmp_path, **splits), require_validation=False)
    message = str(raised.value)
    assert f"The {other} split has class(es) 'sit' (id 2), which train has no example of" in message, message
    assert f"drop those rows from the {other} split" in message


def test_finetune_and_evaluate_say_when_the_test_split_lacks_a_class(tmp_path, caplog):
    """Three classes in train, two in test: macro-F1 averages over fewer classes than the model has (as
    scikit-learn's does: the absent class counts only where it is predicted). `citrus evaluate` said so; `citrus
    finetune` reported the number alone. Both now give the same line."""
    from transformers.testing_utils import CaptureLogger
    from transformers.utils import logging

    folder = _save(tmp_path, _separable(12, [i % 3 for i in range(12)]), _separable(6, [0, 1] * 3))
    notice = "class(es) ['2'] have no example in the test split; macro-F1 averages over the classes in its labels"
    splits = load_task_splits(folder, require_validation=False)
    assert splits.missing_classes_notice("test").startswith(notice)
    assert splits.missing_classes_notice("train") is None

    argv = ["finetune", "--dataset", str(folder), "--model-config", "tiny", "--recipe", "probe", "--label-budget", "2"]
    with CaptureLogger(logging.get_logger("citrus_hf.training.finetune")) as captured:
        code, errors = _citrus(*argv, "--output-dir", str(tmp_path / "run"), "--no-show-progress")
    assert code == 0, errors
    assert f"{folder}: {notice}" in captured.out, captured.out

    argv = ["evaluate", "--datasets", str(folder), "--arms", "prior", "--budgets", "2", "--seeds", "0"]
    code, errors = _citrus(*argv, "--output-dir", str(tmp_path / "eval"), "--no-show-progress")
    assert code == 0 and f"{folder}: {notice}" in caplog.text, errors  # (a warning of the protocol's logger)


# ------------------------------------------------------------------------------------------------ MiniRocket


def test_minirocket_scores_test_rows_longer_than_the_training_rows(tmp_path):
    """Train rows of 150 samples, test rows of 220: MiniRocket was fitted on one length and refused the other deep
    inside aeon (a tuple repr), after the CiTrus arms had run. The README says rows may differ in length."""
    pytest.importorskip("aeon")
    folder = _save(tmp_path, _separable(12, [i % 2 for i in range(12)], 150), _separable(6, [0, 1] * 3, 220))
    argv = ["evaluate", "--datasets", str(folder), "--arms", "minirocket", "--budgets", "3", "--seeds", "0"]
    code, errors = _citrus(*argv, "--output-dir", str(tmp_path / "eval"), "--no-show-progress")
    assert code == 0, errors
    (run,) = json.loads((tmp_path / "eval" / "results.json").read_text())["runs"]
    assert np.isfinite(run["macro_f1"]), run


def test_padded_to_common_length_pads_at_the_end_with_zeros():
    from citrus_hf.evaluation.baselines import padded_to_common_length

    short, long = np.ones((2, 1, 3)), np.ones((1, 1, 5))
    padded_short, padded_long = padded_to_common_length(short, long)
    assert padded_short.shape == (2, 1, 5) and (padded_short[..., 3:] == 0).all() and (padded_long == long).all()


# ------------------------------------------------------------------------------------------------ rates and splits


def test_a_sampling_rate_column_in_some_splits_only_is_one_error_that_works(tmp_path):
    """A rate column in train but not in test: the test split's error ("The test split: The dataset has no ...")
    advised --sampling-rate, which the command then refused because train has the column."""
    test = {key: value for key, value in _rows(6, [0, 1, 2] * 2).items() if key != "sampling_rate"}
    folder = _save(tmp_path, _rows(12, [i % 3 for i in range(12)]), test)
    with pytest.raises(ValueError) as raised:
        load_task_splits(folder, require_validation=False, sampling_rate=RATE)
    message = str(raised.value)
    assert "the train split has a `sampling_rate` column but the test split has none" in message, message
    assert "dataset['test'].add_column('sampling_rate'" in message and "--sampling-rate" not in message

    no_rates = {key: value for key, value in _rows(12, [i % 3 for i in range(12)]).items() if key != "sampling_rate"}
    folder = _save(tmp_path, no_rates, name="no_rates")
    with pytest.raises(ValueError, match="has no `sampling_rate` column.*--sampling-rate"):
        load_task_splits(folder, require_validation=False)
    assert load_task_splits(folder, require_validation=False, sampling_rate=RATE).task == "classification"


def test_missing_splits_are_listed_with_a_fix_the_command_has(tmp_path):
    """`citrus evaluate` advised --test-split, which it did not take, and "has no split 'train'" did not say which
    splits the set has. It now takes a split name per set, like `citrus finetune`'s --train-split / --test-split."""
    rows = _rows(12, [i % 3 for i in range(12)])
    only_train = _save_splits(tmp_path, "only_train", train=datasets.Dataset.from_dict(rows))
    code, errors = _citrus("evaluate", "--datasets", str(only_train), "--arms", "prior", "--output-dir", str(tmp_path))
    assert code == 2 and "has no split 'test' (its splits: ['train'])" in errors and "--test-split" not in errors
    assert "hold out some recordings as a 'test' split" in errors

    renamed = _save_splits(
        tmp_path,
        "renamed",
        training=datasets.Dataset.from_dict(rows),
        holdout=datasets.Dataset.from_dict(_rows(12, [i % 3 for i in range(12)], seed=1)),
    )
    argv = ["evaluate", "--datasets", str(renamed), "--arms", "prior", "--budgets", "2", "--seeds", "0"]
    code, errors = _citrus(*argv, "--output-dir", str(tmp_path / "eval"), "--no-show-progress")
    assert code == 2, errors
    assert "has no split 'train' (its splits: ['training', 'holdout'])" in errors, errors
    assert f"--train-split {renamed}=NAME" in errors
    options = ["--train-split", f"{renamed}=training", "--test-split", f"{renamed}=holdout"]
    code, errors = _citrus(*argv, *options, "--output-dir", str(tmp_path / "eval"), "--no-show-progress")
    assert code == 0, errors
    with pytest.raises(ValueError, match=r"no split 'train' \(its splits.*name the one to train on with --train-split"):
        load_task_splits(renamed, require_validation=False)


# ------------------------------------------------------------------------------------------------ samples


@pytest.mark.parametrize("nan_policy", ["raise", "interpolate"])
def test_samples_beyond_float32_are_named_as_such(nan_policy, tmp_path):
    """Finite float64 samples of 1e300 became inf in float32 and were called "NaN or infinite"; the advised
    --nan-policy interpolate then failed on a channel without a finite sample."""
    values = [np.asarray(v, dtype=np.float64) for v in _rows(12, range(12))["input_values"]]
    values[3] = values[3] * 1e300
    folder = _save(tmp_path, _changed(_rows(12, [i % 3 for i in range(12)]), input_values=values))
    with pytest.raises(ValueError) as raised:
        load_task_splits(folder, require_validation=False, nan_policy=nan_policy)
    message = str(raised.value)
    assert "Row 3 of the train split has values up to" in message and "beyond float32's range" in message, message
    assert "rescale" in message and "NaN" not in message


def test_a_whole_nan_channel_is_named_by_its_split_and_row(tmp_path):
    """`citrus evaluate --nan-policy interpolate`: MiniRocket's raw windows named a channel of "row 1", its place in
    the carved pool, with no split; it is row 4 of the train split. A carved validation row is named as such."""
    from citrus_hf.evaluation.baselines import raw_windows

    base = _rows(12, [i % 3 for i in range(12)], channels=2)
    values = [np.asarray(v).copy() for v in base["input_values"]]
    values[4][1] = np.nan
    train = datasets.Dataset.from_dict(_changed(base, input_values=values))
    with pytest.raises(ValueError, match=r"^The train split: channel 1 of row 4 has no finite value"):
        raw_windows(train.select([1, 4]), nan_policy="interpolate", where="train split", row_numbers=[1, 4])

    folder = _save(tmp_path, _changed(base, input_values=values), base)
    splits = load_task_splits(folder, nan_policy="interpolate")
    role = "train" if 4 in splits.train_rows else "validation"
    where, rows = splits.where(role)
    assert (
        4 in rows
        and where == {"train": "train split", "validation": "train split's rows carved out for validation"}[role]
    )
    argv = ["evaluate", "--datasets", str(folder), "--arms", "citrus-small", "--budgets", "all", "--seeds", "0"]
    code, errors = _citrus(
        *argv, "--nan-policy", "interpolate", "--output-dir", str(tmp_path / "e"), "--no-show-progress"
    )
    assert code == 2 and f"The {where}: channel 1 of row 4 has no finite value" in errors, errors


def test_one_row_stored_as_time_by_channels_is_named_with_the_transpose(tmp_path):
    """One `(300, 3)` row among `(3, 300)` ones: the error listed the channel counts only."""
    rows = _rows(12, [i % 3 for i in range(12)], channels=3, samples=300)
    values = list(rows["input_values"])
    values[7] = values[7].T
    folder = _save(tmp_path, _changed(rows, input_values=values), rows)
    with pytest.raises(ValueError) as raised:
        load_task_splits(folder, require_validation=False)
    message = str(raised.value)
    assert "[3, 300] channels: row 7 of the train split has 300, where 23 rows have 3" in message, message
    assert "looks like (time, channels): store its transpose (`signal.T`)" in message


# ------------------------------------------------------------------------------------------------ metrics


def test_compute_metrics_fn_scores_multi_hot_labels():
    """The refusals of multi-label sets point to the Trainer with `problem_type="multi_label_classification"`;
    `compute_metrics_fn("classification")` then failed with "y_true has 24 labels but y_pred has 8"."""
    from transformers import EvalPrediction

    from citrus_hf.training.metrics import compute_metrics_fn

    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float32)
    logits = np.where(labels > 0, 2.0, -2.0)
    logits[3, 0] = 1.0  # one wrong decision of 12
    prediction = EvalPrediction(predictions=logits, label_ids=labels)
    for task in ("classification", "multi_label_classification"):
        metrics = compute_metrics_fn(task)(prediction)
        assert metrics["accuracy"] == 0.75 and metrics["hamming_accuracy"] == pytest.approx(11 / 12), metrics
        assert metrics["micro_f1"] == pytest.approx(12 / 13) and metrics["auroc"] == 1.0
    single = compute_metrics_fn("classification")(EvalPrediction(predictions=logits, label_ids=np.array([0, 1, 0, 2])))
    assert set(single) == {"accuracy", "balanced_accuracy", "macro_f1", "auroc"}
    with pytest.raises(ValueError, match="task must be one of .*multi_label_classification.*got .multilabel."):
        compute_metrics_fn("multilabel")
