"""The Trainer used by habit on CiTrus models, beyond the package's own commands:

- `train_sampling_strategy="group_by_length"`: transformers grouped the *evaluation* rows too, measuring each
  CiTrus window as length 1, so `Trainer.predict` returned its predictions and `label_ids` in a shuffled order (and,
  without a `processing_class`, stopped asking for `input_ids`); `"batch_rebalance"` measured every window as 1.
- `compute_metrics_fn` with `batch_eval_metrics=True` scored the batches of an evaluation that stopped part-way with
  the next evaluation; with `eval_do_concat_batches=False` it failed inside numpy.

A tiny classifier, rows aligned one at a time (their own durations), on the CPU: a few seconds each.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments, set_seed

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.training.metrics import compute_metrics_fn

RATE = 100.0


def _rows(lengths: list[int], num_labels: int) -> tuple[Dataset, CiTrusFeatureExtractor]:
    """One-channel rows of `lengths` samples, aligned one at a time (so each keeps its own duration), labels cycling."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    rng = np.random.default_rng(0)
    rows = [dict(extractor(rng.standard_normal((1, n)).astype(np.float32), sampling_rate=RATE)) for n in lengths]
    columns = {name: [np.asarray(row[name]).tolist() for row in rows] for name in ("input_values", "patch_mask")}
    return Dataset.from_dict({**columns, "labels": [i % num_labels for i in range(len(lengths))]}), extractor


def _arguments(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(report_to="none", use_cpu=True, disable_tqdm=True, save_strategy="no", per_device_eval_batch_size=2)
    return TrainingArguments(str(tmp_path / "out"), **{**settings, **overrides})


def test_group_by_length_predicts_in_the_rows_order_with_or_without_a_processing_class(tmp_path):
    rows, extractor = _rows([200, 120, 200, 80, 200, 160, 200, 40], num_labels=8)  # one row per label
    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=8)).eval()
    with torch.no_grad():
        alone = np.concatenate(
            [
                model(input_values=torch.tensor(row["input_values"]), patch_mask=torch.tensor(row["patch_mask"])).logits
                for row in rows
            ]
        )
    arguments = _arguments(tmp_path, train_sampling_strategy="group_by_length")
    for processing_class in (extractor, None):
        prediction = Trainer(model=model, args=arguments, processing_class=processing_class).predict(rows)
        assert prediction.label_ids.tolist() == list(range(8))
        np.testing.assert_allclose(prediction.predictions, alone, atol=1e-5)


def test_batch_rebalance_measures_windows_in_patches(tmp_path):
    rows, extractor = _rows([200, 40] * 4, num_labels=2)
    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = _arguments(
        tmp_path, train_sampling_strategy="batch_rebalance", max_steps=2, per_device_train_batch_size=2
    )
    trainer = Trainer(model=model, args=arguments, train_dataset=rows, processing_class=extractor)
    assert trainer._get_train_sampler().lengths == [10, 2] * 4
    Trainer(model=model, args=arguments, train_dataset=rows).train()  # no processing class: no `input_ids` error


def test_an_evaluation_that_stopped_part_way_leaves_no_batches_to_the_next(tmp_path):
    rows, extractor = _rows([200] * 8, num_labels=2)
    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = _arguments(tmp_path, batch_eval_metrics=True)
    trainer = Trainer(model=model, args=arguments, compute_metrics=compute_metrics_fn("classification"))
    first = trainer.evaluate(rows)
    # the third batch holds a damaged row, which the model refuses
    damaged = rows.map(
        lambda row, i: {"input_values": (np.asarray(row["input_values"]) * (np.nan if i == 5 else 1.0)).tolist()},
        with_indices=True,
    )
    with pytest.raises(ValueError, match="NaN"):
        trainer.evaluate(damaged)
    again = trainer.evaluate(rows)
    for name in ("eval_accuracy", "eval_macro_f1", "eval_auroc"):
        assert again[name] == pytest.approx(first[name]), name


@pytest.mark.parametrize("batch_eval_metrics", [False, True])
def test_metrics_of_batches_left_apart_are_those_of_the_whole_set(tmp_path, batch_eval_metrics):
    rows, extractor = _rows([200] * 7, num_labels=2)  # batches of 2, 2, 2 and 1
    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    metrics = compute_metrics_fn("classification")
    joined = Trainer(model=model, args=_arguments(tmp_path), compute_metrics=metrics).evaluate(rows)
    apart = Trainer(
        model=model,
        args=_arguments(tmp_path, eval_do_concat_batches=False, batch_eval_metrics=batch_eval_metrics),
        compute_metrics=metrics,
    ).evaluate(rows)
    for name in ("eval_accuracy", "eval_macro_f1", "eval_auroc"):
        assert apart[name] == pytest.approx(joined[name]), name


def test_inputs_for_metrics_of_windows_of_several_durations_are_refused_before_the_evaluation(tmp_path):
    rows, extractor = _rows([200, 200, 120, 40], num_labels=2)
    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = _arguments(tmp_path, include_for_metrics=["inputs"])
    trainer = Trainer(model=model, args=arguments, compute_metrics=lambda prediction: {})
    with pytest.raises(ValueError, match="padding='max_length'"):
        trainer.evaluate(rows)
    same, _ = _rows([200, 200, 200, 200], num_labels=2)
    assert "eval_loss" in trainer.evaluate(same)


@pytest.mark.parametrize("apart", [{"eval_do_concat_batches": False}, {"batch_eval_metrics": True}])
def test_inputs_for_metrics_handed_over_batch_by_batch_may_differ_in_duration(tmp_path, apart):
    rows, extractor = _rows([200, 200, 120, 40], num_labels=2)
    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = _arguments(tmp_path, include_for_metrics=["inputs"], **apart)
    metrics = (lambda prediction, compute_result=True: {}) if "batch_eval_metrics" in apart else (lambda prediction: {})
    assert "eval_loss" in Trainer(model=model, args=arguments, compute_metrics=metrics).evaluate(rows)
