"""Session 71, round three of the Trainer traps users reported upstream, with CiTrus models.

- `dataloader_drop_last=True` (what the model's BatchNorm refusal advises for a last training batch of one window)
  dropped the last partial batch of every evaluation and prediction too: `Trainer.predict` of 10 rows in batches of 4
  returned 8 predictions, and `evaluate` scored 8 rows, without a word.
- A label column of class names (strings) reached the Trainer's default collator, which drops string fields: the
  evaluation returned its runtimes alone (no loss, no metrics), `predict` gave `label_ids` None, training stopped at
  its first step with transformers' "did not return a loss", and a `label` column of names stopped the collator with
  torch's "too many dimensions 'str'".
- An evaluation set whose `ClassLabel` numbers the model's classes in another order (`names=["move", "rest"]` for a
  model of `id2label={0: "rest", 1: "move"}`) was scored against the model's ids without a word: a perfect model
  scored accuracy 0.
- `lr_scheduler_type="reduce_lr_on_plateau"` (or `"greedy"`) with a metric that grows as the model improves
  (`metric_for_best_model="accuracy"`, `citrus finetune --metric-for-best-model auroc`) built torch's scheduler in its
  default mode, "min": each improvement counted as a plateau, and the learning rate was cut while the model improved.
  And a fine-tuning of `citrus finetune` with such a schedule and no usable validation set (a draw whose validation
  split lacks a class) stopped in transformers' arguments ("requires an eval strategy").
- `train_sampling_strategy="group_by_length"` drew each epoch's order from torch's global generator, which a run
  resumed from a checkpoint holds in another state than the run had at that epoch's start: a resumed `train` trained
  on other batches than the uninterrupted run, and ended on other weights.
- A set padded with transformers' audio habit, a per-sample `attention_mask` column, lost it to the Trainer's column
  removal (the model takes `patch_mask`) and was scored with its padding read as signal, without a word, where the
  model itself refuses `attention_mask`.
- `preprocess_logits_for_metrics` taking the argmax of the logits (a habit that saves memory with text models) left
  `compute_metrics_fn("classification")` class ids, which it refused as logits of the wrong shape without the cause.

A tiny model on the CPU: a few seconds each.
"""

from __future__ import annotations

import numpy as np
import pytest
from datasets import ClassLabel, Dataset
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments, set_seed

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.metrics import compute_metrics_fn


def _signals(count: int) -> list[np.ndarray]:
    """`count` one-channel windows of 200 samples, odd ones 3 above the even ones."""
    rng = np.random.default_rng(0)
    return [rng.standard_normal((1, 200)).astype(np.float32) + 3.0 * (i % 2) for i in range(count)]


def _rows(count: int = 10, labels=None, column: str = "labels") -> Dataset:
    labels = [i % 2 for i in range(count)] if labels is None else labels
    return Dataset.from_dict({"input_values": _signals(count), column: labels}).with_format("torch")


def _arguments(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
    )
    return TrainingArguments(str(tmp_path / "out"), **{**settings, **overrides})


def _trainer(tmp_path, model=None, **overrides) -> Trainer:
    set_seed(0)
    model = model if model is not None else CiTrusForSequenceClassification(tiny_config(num_labels=2))
    return Trainer(
        model=model, args=_arguments(tmp_path, **overrides), compute_metrics=compute_metrics_fn("classification")
    )


def test_drop_last_keeps_every_row_of_an_evaluation_and_a_prediction(tmp_path):
    rows = _rows(10)
    expected = _trainer(tmp_path).predict(rows)
    trainer = _trainer(tmp_path, dataloader_drop_last=True)
    prediction = trainer.predict(rows)
    assert prediction.predictions.shape == (10, 2)
    assert prediction.label_ids.tolist() == list(rows["labels"])
    np.testing.assert_allclose(prediction.predictions, expected.predictions, rtol=1e-5)
    assert trainer.evaluate(rows)["eval_accuracy"] == pytest.approx(expected.metrics["test_accuracy"])


def test_drop_last_still_drops_the_last_training_batch(tmp_path):
    trainer = _trainer(tmp_path, dataloader_drop_last=True, num_train_epochs=1)
    trainer.train_dataset = _rows(10)
    assert len(trainer.get_train_dataloader()) == 2  # 10 rows in batches of 4: the batch of 2 is dropped
    assert len(trainer.get_eval_dataloader(_rows(10))) == 3


@pytest.mark.parametrize("column", ["labels", "label"])
def test_class_names_as_labels_are_refused_by_evaluate_and_predict(tmp_path, column):
    rows = _rows(10, labels=["rest", "move"] * 5, column=column)
    trainer = _trainer(tmp_path)
    for method in (trainer.evaluate, trainer.predict):
        with pytest.raises(ValueError, match=r"class names.*ClassLabel\(names=") as refusal:
            method(rows)
        assert "\n" not in str(refusal.value)


def test_class_names_as_labels_are_refused_when_the_trainer_is_built(tmp_path):
    rows = _rows(10, labels=["rest", "move"] * 5)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(ValueError, match=r"Trainer\(train_dataset=\.\.\.\).*class names"):
        Trainer(model=model, args=_arguments(tmp_path, max_steps=1), train_dataset=rows)
    # a list of rows (a torch dataset) is read by its first row
    listed = [{"input_values": signal, "labels": name} for signal, name in zip(_signals(4), ["rest", "move"] * 2)]
    with pytest.raises(ValueError, match=r"Trainer\.evaluate\(eval_dataset=\.\.\.\).*class names"):
        _trainer(tmp_path).evaluate(listed)


def test_class_ids_and_a_class_label_still_evaluate(tmp_path):
    rows = _rows(10)
    named = rows.cast_column("labels", ClassLabel(names=["LABEL_0", "LABEL_1"]))
    trainer = _trainer(tmp_path)
    assert trainer.evaluate(named)["eval_accuracy"] == pytest.approx(trainer.evaluate(rows)["eval_accuracy"])


def _named_model() -> CiTrusForSequenceClassification:
    return CiTrusForSequenceClassification(tiny_config(num_labels=2, id2label={0: "rest", 1: "move"}))


def _swapped_rows() -> Dataset:
    """The windows of `_rows(10)` with their classes numbered the other way: 0 is "move", 1 is "rest"."""
    rows = _rows(10, labels=[1 - i % 2 for i in range(10)])
    return rows.cast_column("labels", ClassLabel(names=["move", "rest"]))


def test_a_class_label_of_another_order_than_the_models_classes_is_refused(tmp_path):
    trainer = _trainer(tmp_path, model=_named_model())
    with pytest.raises(ValueError, match=r"align_labels_with_mapping") as refusal:
        trainer.evaluate(_swapped_rows())
    message = str(refusal.value)
    assert "{'rest': 0, 'move': 1}" in message and ".with_format('torch')" in message and "\n" not in message
    with pytest.raises(ValueError, match=r"align_labels_with_mapping"):
        Trainer(model=_named_model(), args=_arguments(tmp_path, max_steps=1), train_dataset=_swapped_rows())


def test_the_advised_alignment_evaluates_as_the_models_own_numbering(tmp_path):
    trainer = _trainer(tmp_path, model=_named_model())
    expected = trainer.evaluate(_rows(10))
    model = trainer.model
    # (as the refusal advises: datasets' alignment fails on a set formatted for torch)
    aligned = (
        _swapped_rows()
        .with_format(None)
        .align_labels_with_mapping({name: index for index, name in model.config.id2label.items()}, "labels")
        .with_format("torch")
    )
    assert list(aligned["labels"]) == list(_rows(10)["labels"])
    assert trainer.evaluate(aligned)["eval_accuracy"] == pytest.approx(expected["eval_accuracy"])
    # the model's own order, and a placeholder-named model, are not refused
    trainer.evaluate(_rows(10).cast_column("labels", ClassLabel(names=["rest", "move"])))
    _trainer(tmp_path).evaluate(_swapped_rows())


def test_an_argmax_of_the_logits_for_the_metrics_is_named(tmp_path):
    set_seed(0)
    trainer = Trainer(
        model=CiTrusForSequenceClassification(tiny_config(num_labels=2)),
        args=_arguments(tmp_path),
        compute_metrics=compute_metrics_fn("classification"),
        preprocess_logits_for_metrics=lambda logits, labels: logits.argmax(-1),
    )
    with pytest.raises(ValueError, match=r"preprocess_logits_for_metrics") as refusal:
        trainer.evaluate(_rows(10))
    assert "\n" not in str(refusal.value)


def _scheduled(tmp_path, metric: str, schedule: str = "reduce_lr_on_plateau", **kwargs) -> Trainer:
    set_seed(0)
    rows = _rows(8)
    trainer = Trainer(
        model=CiTrusForSequenceClassification(tiny_config(num_labels=2)),
        args=_arguments(
            tmp_path,
            eval_strategy="steps",
            eval_steps=1,
            learning_rate=0.01,
            lr_scheduler_type=schedule,
            lr_scheduler_kwargs=kwargs,
            metric_for_best_model=metric,
        ),
        train_dataset=rows,
        eval_dataset=rows,
        compute_metrics=compute_metrics_fn("classification"),
    )
    trainer.create_optimizer_and_scheduler(num_training_steps=4)
    return trainer


@pytest.mark.parametrize("schedule", ["reduce_lr_on_plateau", "greedy"])
def test_a_schedule_on_a_metric_that_grows_is_not_cut_while_it_grows(tmp_path, schedule):
    trainer = _scheduled(tmp_path, "accuracy", schedule, patience=0)
    assert trainer.lr_scheduler.mode == "max"
    assert trainer.args.lr_scheduler_kwargs == {"patience": 0}  # the arguments as given
    for accuracy in (0.5, 0.6, 0.7, 0.8):
        trainer.lr_scheduler.step(accuracy)
    # (the greedy schedule raises it as the metric improves)
    assert trainer.optimizer.param_groups[0]["lr"] >= 0.01


def test_a_schedule_on_the_loss_or_a_mode_given_is_as_it_was(tmp_path):
    assert _scheduled(tmp_path, "loss").lr_scheduler.mode == "min"
    assert _scheduled(tmp_path, "accuracy", mode="min").lr_scheduler.mode == "min"


def test_a_fine_tuning_without_validation_keeps_a_metric_schedule_constant(tmp_path, caplog):
    from citrus_hf.training.settings import TrainerSettings
    from citrus_hf.training.trainer import train_with_trainer

    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    settings = TrainerSettings(
        max_steps=2,
        learning_rate=0.01,
        warmup_steps=0,
        lr_scheduler_type="reduce_lr_on_plateau",
        lr_scheduler_kwargs={"patience": 0},
        show_progress=False,
    )
    with caplog.at_level("WARNING"):
        outcome = train_with_trainer(model, _rows(8), None, "classification", tmp_path / "run", settings)
    assert outcome["steps"] == 2
    assert "no validation set" in caplog.text and "constant" in caplog.text
    assert outcome["trainer"].lr_scheduler.get_last_lr() == pytest.approx([0.01] * 2)  # (with and without decay)


def _grouped_run(tmp_path, resume: str | None = None) -> list[np.ndarray]:
    """6 steps (two epochs of 3 batches of 4) of a tiny classifier on 12 rows of several durations, grouped by length,
    saving every 2 steps into `tmp_path`; resumed from the checkpoint `resume` of an earlier run. Its weights."""
    from citrus_hf import CiTrusFeatureExtractor

    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    rng = np.random.default_rng(0)
    lengths = [200, 100, 160, 200, 60, 140, 200, 120, 180, 80, 200, 100]
    aligned = [dict(extractor(rng.standard_normal((1, n)).astype(np.float32), sampling_rate=100.0)) for n in lengths]
    rows = Dataset.from_dict(
        {
            "input_values": [np.asarray(row["input_values"])[0].tolist() for row in aligned],
            "patch_mask": [np.asarray(row["patch_mask"])[0].tolist() for row in aligned],
            "labels": [i % 2 for i in range(12)],
        }
    )
    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = _arguments(
        tmp_path,
        max_steps=6,
        learning_rate=0.05,
        save_strategy="steps",
        save_steps=2,
        train_sampling_strategy="group_by_length",
        seed=3,
    )
    Trainer(model=model, args=arguments, train_dataset=rows, processing_class=extractor).train(
        resume_from_checkpoint=resume
    )
    return [parameter.detach().numpy().copy() for parameter in model.parameters()]


def test_a_run_grouped_by_length_resumes_on_the_batches_it_would_have_trained_on(tmp_path):
    uninterrupted = _grouped_run(tmp_path)
    resumed = _grouped_run(tmp_path, resume=str(tmp_path / "out" / "checkpoint-4"))
    for expected, weights in zip(uninterrupted, resumed):
        np.testing.assert_allclose(weights, expected, rtol=1e-6, atol=1e-7)


def _padded_with_attention_mask() -> Dataset:
    """8 windows whose second half is padding (zeros), marked by a per-sample `attention_mask`, as audio sets do."""
    mask = np.r_[np.ones(100), np.zeros(100)].astype(np.int64)
    signals = [(signal * mask).astype(np.float32) for signal in _signals(8)]
    return Dataset.from_dict(
        {"input_values": signals, "attention_mask": [mask] * 8, "labels": [i % 2 for i in range(8)]}
    ).with_format("torch")


def test_a_per_sample_attention_mask_column_is_refused_with_the_patch_mask_that_replaces_it(tmp_path):
    trainer = _trainer(tmp_path)
    with pytest.raises(ValueError, match=r"attention_mask.*patch_mask") as refusal:
        trainer.evaluate(_padded_with_attention_mask())
    message = str(refusal.value)
    assert "reshape(-1, 20)" in message and "\n" not in message
    with pytest.raises(ValueError, match=r"Trainer\(train_dataset=\.\.\.\).*attention_mask"):
        Trainer(
            model=CiTrusForSequenceClassification(tiny_config(num_labels=2)),
            args=_arguments(tmp_path, max_steps=1),
            train_dataset=_padded_with_attention_mask(),
        )


def test_the_advised_patch_mask_evaluates_as_the_unpadded_windows(tmp_path):
    rows = _padded_with_attention_mask().with_format(None)
    converted = rows.map(
        lambda row: {"patch_mask": np.asarray(row["attention_mask"]).reshape(-1, 20).max(-1)},
        remove_columns=["attention_mask"],
    ).with_format("torch")
    assert all(list(mask) == [1] * 5 + [0] * 5 for mask in converted["patch_mask"])
    unpadded = Dataset.from_dict(
        {"input_values": [signal[:, :100] for signal in _signals(8)], "labels": [i % 2 for i in range(8)]}
    ).with_format("torch")
    trainer = _trainer(tmp_path)
    assert trainer.evaluate(converted)["eval_loss"] == pytest.approx(trainer.evaluate(unpadded)["eval_loss"], rel=1e-4)
