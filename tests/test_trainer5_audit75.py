"""Session 75, the Trainer and datasets habits of round five, with CiTrus models.

- A training set that is no plain `datasets.Dataset` (a `torch.utils.data.Subset`, a list of dicts, a set aligned on
  the fly by `with_transform(extractor-based fn)`) under `train_sampling_strategy="group_by_length"` stopped in
  transformers' sampler ("Can only automatically infer lengths for datasets whose items are dictionaries with an
  'input_ids' key"): the package measured the windows' durations of a plain `datasets.Dataset` only.
- The same sets with `include_for_metrics=["inputs"]` (or `Trainer.predict` of a model whose outputs are per patch)
  whose batches pad to different durations skipped the package's check and stopped inside torch ("Sizes of tensors
  must match except in dimension 0").
- A set aligned on the fly by `with_transform` given with the Trainer's default `remove_unused_columns=True` lost the
  raw column its transform reads (no argument of the forward) before the first batch: training, `evaluate` and
  `predict` stopped with a bare `KeyError: 'signal'` raised inside the user's own transform.
- An iterable set (`Dataset.to_iterable_dataset()`), which has no length to measure before the loop, still stopped
  inside torch there: its batches padded to different durations are now named as the loop joins them.
- A `torch.utils.data.Subset` or a list of dicts skipped the package's column checks (they read `column_names`):
  labels in a `target` key stopped training with transformers' "did not return a loss" and were left out of
  `evaluate` (runtimes alone), and padding marked in a per-sample `attention_mask` was dropped by transformers'
  `RemoveColumnsCollator` and read as signal without a word; a `Subset` of a set whose `ClassLabel` numbers the
  model's classes in another order was scored against the wrong classes without a word.

A tiny classifier on the CPU, rows aligned one at a time (each keeps its own duration): about a second each.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import ClassLabel, Dataset
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments, set_seed

from citrus_hf import CiTrusFeatureExtractor, CiTrusForRegression, CiTrusForSequenceClassification, CiTrusModel

RATE = 100.0
LENGTHS = [200, 200, 100, 100]  # 10, 10, 5 and 5 patches of 20: batches of two pad to 10, then to 5 patches


def _raw() -> Dataset:
    """One-channel recordings of `LENGTHS` samples at `RATE`, as a user's raw set holds them, labels alternating."""
    rng = np.random.default_rng(0)
    signals = [rng.standard_normal((1, n)).astype(np.float32).tolist() for n in LENGTHS]
    return Dataset.from_dict({"signal": signals, "label": [i % 2 for i in range(len(LENGTHS))]})


def _extractor() -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor.from_config(tiny_config())


def _aligned_one_by_one() -> Dataset:
    """`_raw` aligned a row at a time (`map` without `batched`): each row keeps its own duration."""
    extractor = _extractor()

    def align(row):
        aligned = extractor(np.asarray(row["signal"], dtype=np.float32), sampling_rate=RATE)
        return {name: values[0] for name, values in aligned.items()}

    return _raw().map(align, remove_columns=["signal"]).rename_column("label", "labels")


def _transformed() -> Dataset:
    """`_raw` aligned on the fly, the `with_transform` habit of transformers' audio and vision examples."""
    extractor = _extractor()

    def transform(batch):
        signals = [np.asarray(signal, dtype=np.float32) for signal in batch["signal"]]
        return {**extractor(signals, sampling_rate=RATE), "labels": batch["label"]}

    return _raw().with_transform(transform)


def _set(kind: str):
    if kind == "transform":
        return _transformed()
    aligned = _aligned_one_by_one()
    if kind == "subset":
        return torch.utils.data.Subset(aligned, list(range(len(aligned))))
    return [dict(row) for row in aligned]


def _trainer(tmp_path, kind: str, model=None, **overrides) -> Trainer:
    settings = dict(
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
        per_device_train_batch_size=2,
        per_device_eval_batch_size=2,
        # the transform reads the raw columns, which the Trainer removes unless told to keep them
        remove_unused_columns=kind != "transform",
    )
    set_seed(0)
    model = model if model is not None else CiTrusForSequenceClassification(tiny_config(num_labels=2))
    return Trainer(model=model, args=TrainingArguments(str(tmp_path / "out"), **{**settings, **overrides}))


@pytest.mark.parametrize("kind", ["subset", "list", "transform"])
def test_group_by_length_measures_the_windows_of_a_subset_a_list_and_a_transformed_set(tmp_path, kind):
    trainer = _trainer(tmp_path, kind, train_sampling_strategy="group_by_length")
    sampler = trainer._get_train_sampler(_set(kind))
    assert sampler.lengths == [10, 10, 5, 5]  # patches of signal, as a plain datasets.Dataset is measured


@pytest.mark.parametrize("kind", ["subset", "list", "transform"])
def test_inputs_for_metrics_of_batches_of_different_durations_are_refused_on_a_set_read_row_by_row(tmp_path, kind):
    trainer = _trainer(tmp_path, kind, include_for_metrics=["inputs"])
    # a transformed set is not read before the loop (its transform would run over the set twice): named as the loop
    # joins its batches
    refusal = r"padded to different durations, which it cannot join" if kind == "transform" else r"\(5 to 10 patches\)"
    with pytest.raises(ValueError, match=refusal):
        trainer.evaluate(_set(kind))


def test_outputs_per_patch_of_a_list_of_rows_of_different_durations_are_refused_before_the_loop(tmp_path):
    rows = [{key: value for key, value in row.items() if key != "labels"} for row in _set("list")]
    trainer = _trainer(tmp_path, "list", model=CiTrusModel(tiny_config()))
    with pytest.raises(ValueError, match="per patch, and the batches of this set are padded to different durations"):
        trainer.predict(rows)


@pytest.mark.parametrize("call", ["train", "evaluate", "predict"])
def test_a_transform_reading_a_column_the_trainer_removes_is_refused_naming_remove_unused_columns(tmp_path, call):
    transformed = _transformed()
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = TrainingArguments(str(tmp_path / "out"), report_to="none", use_cpu=True, disable_tqdm=True)
    # refused as the Trainer reads the set (review6: not by a trial of the transform at Trainer(...))
    refusal = rf"Trainer.{call}: the set's transform .* reads its 'signal' column.*remove_unused_columns=False\)"
    if call == "train":
        trainer = Trainer(model=model, args=arguments, train_dataset=transformed)
        with pytest.raises(ValueError, match=refusal):
            trainer.train()
        return
    trainer = Trainer(model=model, args=arguments)
    with pytest.raises(ValueError, match=refusal):
        getattr(trainer, call)(transformed)


def test_a_transform_reading_only_the_columns_the_trainer_keeps_still_evaluates(tmp_path):
    """A guard (it passes before the fix too): the transform reads `input_values` and `labels`, which the Trainer
    keeps, so the `rid` column it removes is no concern of it."""
    extractor = _extractor()

    def transform(batch):
        signals = [np.asarray(signal, dtype=np.float32) for signal in batch["input_values"]]
        return {**extractor(signals, sampling_rate=RATE), "labels": batch["labels"]}

    raw = _raw().rename_columns({"signal": "input_values", "label": "labels"})
    rows = raw.add_column("rid", [f"r{i}" for i in range(len(raw))]).with_transform(transform)
    trainer = _trainer(tmp_path, "list")  # the default remove_unused_columns=True
    assert "eval_loss" in trainer.evaluate(rows)


def _windows(count: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((1, 200)).astype(np.float32) for _ in range(count)]


def test_a_list_of_dicts_with_its_targets_under_another_key_is_refused_when_the_trainer_is_built(tmp_path):
    rows = [{"input_values": window, "target": float(i)} for i, window in enumerate(_windows())]
    fix = r'`rows = \[{\("labels" if key == "target" else key\)'  # a list has no rename_column
    with pytest.raises(ValueError, match=r"labels are in a `target` column.*" + fix):
        Trainer(
            model=CiTrusForRegression(tiny_config()),
            args=TrainingArguments(str(tmp_path / "out"), report_to="none", use_cpu=True),
            train_dataset=rows,
        )


def test_padding_marked_by_an_attention_mask_in_a_subset_is_refused_not_read_as_signal(tmp_path):
    half = np.r_[np.ones(100), np.zeros(100)].astype(np.int64)  # the second second is padding
    rows = Dataset.from_dict(
        {
            "input_values": [window.tolist() for window in _windows()],
            "attention_mask": [half.tolist()] * 4,
            "labels": [0, 1, 0, 1],
        }
    )
    trainer = _trainer(tmp_path, "subset")
    with pytest.raises(ValueError, match=r"marks its padding in an `attention_mask` column.*'patch_mask'"):
        trainer.evaluate(torch.utils.data.Subset(rows, [0, 1, 2, 3]))


def test_a_subset_of_a_set_numbering_the_classes_in_another_order_is_refused(tmp_path):
    rows = Dataset.from_dict({"input_values": [window.tolist() for window in _windows()], "labels": [0, 1, 0, 1]})
    rows = rows.cast_column("labels", ClassLabel(names=["move", "rest"]))
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, id2label={0: "rest", 1: "move"}))
    trainer = _trainer(tmp_path, "subset", model=model)
    with pytest.raises(ValueError, match=r"ClassLabel numbers the classes \['move', 'rest'\].*align_labels_with"):
        trainer.evaluate(torch.utils.data.Subset(rows, [0, 1, 2, 3]))


@pytest.mark.parametrize("call", ["evaluate", "predict"])
def test_batches_of_an_iterable_set_padded_to_different_durations_are_named_as_the_loop_joins_them(tmp_path, call):
    rows = _aligned_one_by_one()
    if call == "evaluate":
        trainer = _trainer(tmp_path, "list", include_for_metrics=["inputs"])
    else:  # a model whose outputs are per patch
        trainer = _trainer(tmp_path, "list", model=CiTrusModel(tiny_config()))
        rows = rows.remove_columns("labels")
    with pytest.raises(ValueError, match=r"padded to different durations.*eval_do_concat_batches=False\)"):
        getattr(trainer, call)(rows.to_iterable_dataset())
