"""Session 67: the Trainer used by transformers' habits with CiTrus models.

- A one-output classifier (`num_labels=1`: transformers trains it as a regression) was scored by
  `compute_metrics_fn("classification")` as logits (class 1 above 0): a perfect separator of 0 / 1 targets was
  reported accuracy 0.5.
- A set given to `evaluate` / `predict` with its labels in a `target` column lost them to the Trainer's column removal
  and returned runtimes alone (`label_ids` None); `Trainer(eval_dataset=...)` refused the same set.
- `Trainer.predict` of a model that returns outputs per patch (the encoder, the pre-training model, a classifier with
  `output_hidden_states=True`) on batches of different durations stopped deep in transformers ("Sizes of tensors must
  match"); so did its inputs for the metrics under `batch_eval_metrics`, which the refusal of windows of several
  durations let through.
- The refusal of the other head's size keyword (`num_labels` for a regressor, `num_targets` for a classifier) held for
  the task classes' `from_pretrained` only: the Auto classes, a config given to `from_pretrained` and the classes'
  constructors built a head of the default size without a word.
- Rows aligned with `alignment="window"` one recording at a time (several windows per row, one label) reached the
  collator, which blamed a nested list (one channel) or gave a bare shape (several).

A tiny model on the CPU: a few seconds each.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from datasets import Dataset
from tiny_configs import tiny_config
from transformers import EvalPrediction, Trainer, TrainingArguments

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.training.metrics import compute_metrics_fn

RATE = 100.0


def _arguments(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(report_to="none", use_cpu=True, disable_tqdm=True, save_strategy="no", per_device_eval_batch_size=2)
    return TrainingArguments(str(tmp_path / "out"), **{**settings, **overrides})


def _rows(lengths: list[int], **columns) -> Dataset:
    """One-channel rows of `lengths` samples, aligned one at a time (each keeps its own duration), with `columns`."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    rng = np.random.default_rng(0)
    rows = [dict(extractor(rng.standard_normal((1, n)).astype(np.float32), sampling_rate=RATE)) for n in lengths]
    aligned = {name: [np.asarray(row[name])[0].tolist() for row in rows] for name in ("input_values", "patch_mask")}
    return Dataset.from_dict({**aligned, **columns})


# ---------------------------------------------------------------------------------------------------------------------
# 1. a one-output model scored as a classifier
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: CiTrusForSequenceClassification(tiny_config(num_labels=1)),  # problem_type inferred: regression
        lambda: CiTrusForSequenceClassification(tiny_config(num_labels=1, problem_type="regression")),
        lambda: CiTrusForRegression(tiny_config()),
    ],
)
def test_a_regression_model_with_classification_metrics_is_refused_by_the_trainer(tmp_path, build):
    with pytest.raises(ValueError, match="num_labels=2.*multi_label_classification"):
        Trainer(model=build(), args=_arguments(tmp_path), compute_metrics=compute_metrics_fn("classification"))


def test_classification_metrics_given_to_a_regression_trainer_later_are_refused_at_the_evaluation(tmp_path):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=1))
    trainer = Trainer(model=model, args=_arguments(tmp_path), compute_metrics=compute_metrics_fn("regression"))
    trainer.compute_metrics = compute_metrics_fn("classification")
    with pytest.raises(ValueError, match="trains as a regression"):
        trainer.evaluate(_rows([200] * 4, labels=[0.0, 1.0] * 2))


def test_a_one_output_sigmoid_classifier_keeps_the_classification_metrics(tmp_path):
    config = tiny_config(num_labels=1, problem_type="multi_label_classification")
    trainer = Trainer(
        model=CiTrusForSequenceClassification(config),
        args=_arguments(tmp_path),
        compute_metrics=compute_metrics_fn("classification"),
    )
    metrics = trainer.evaluate(_rows([200] * 4, labels=[[0.0], [1.0]] * 2))
    assert "eval_accuracy" in metrics


def test_compute_metrics_refuses_one_output_with_one_label_per_window_as_a_regression():
    """`(n, 1)` outputs with `(n,)` labels come from a regression: a one-output sigmoid classifier (multi-label, one
    label) takes `(n, 1)` labels, in CiTrus's loss as in transformers' `BCEWithLogitsLoss`."""
    score = compute_metrics_fn("classification")
    outputs = np.array([[0.1], [0.9], [0.05], [0.7]])  # a regression's values, perfectly separating the classes
    with pytest.raises(ValueError, match="num_labels=2"):
        score(EvalPrediction(predictions=outputs, label_ids=np.array([0.0, 1.0, 0.0, 1.0])))
    metrics = score(
        EvalPrediction(predictions=np.array([[-2.0], [1.0], [-1.0], [3.0]]), label_ids=np.eye(2)[[0, 1, 0, 1], 1:])
    )
    assert metrics["accuracy"] == 1.0


# ---------------------------------------------------------------------------------------------------------------------
# 2. a set given to evaluate / predict with its labels under another name
# ---------------------------------------------------------------------------------------------------------------------


def test_evaluate_and_predict_refuse_a_set_whose_labels_are_in_a_target_column(tmp_path):
    rows = _rows([200] * 4, target=[70.0, 72.0, 71.0, 69.0])  # the package's regression sets name it `target`
    trainer = Trainer(
        model=CiTrusForRegression(tiny_config()),
        args=_arguments(tmp_path),
        compute_metrics=compute_metrics_fn("regression"),
    )
    with pytest.raises(ValueError, match=r"Trainer\.evaluate\(eval_dataset=\.\.\.\).*rename_column\(\"target\""):
        trainer.evaluate(rows)
    with pytest.raises(ValueError, match=r"Trainer\.evaluate\(eval_dataset\['held'\]=\.\.\.\)"):
        trainer.evaluate({"held": rows})
    with pytest.raises(ValueError, match=r"Trainer\.predict\(test_dataset=\.\.\.\).*rename_column\(\"target\""):
        trainer.predict(rows)
    renamed = trainer.predict(rows.rename_column("target", "labels"))
    assert renamed.label_ids.tolist() == [70.0, 72.0, 71.0, 69.0] and "test_mae" in renamed.metrics


def test_evaluate_takes_a_set_with_labels_beside_a_target_column(tmp_path):
    rows = _rows([200] * 4, target=[70.0, 72.0, 71.0, 69.0], labels=[70.0, 72.0, 71.0, 69.0])
    trainer = Trainer(model=CiTrusForRegression(tiny_config()), args=_arguments(tmp_path))
    assert "eval_loss" in trainer.evaluate(rows)  # `labels` beside `target`: nothing to refuse


# ---------------------------------------------------------------------------------------------------------------------
# 3. outputs per patch of batches of different durations
# ---------------------------------------------------------------------------------------------------------------------

MIXED = [200, 100, 60, 40, 200, 200]  # batches of 2: 10, 3 and 10 patches


@pytest.mark.parametrize(
    ("build", "fix"),
    [
        (lambda: CiTrusModel(tiny_config()), r"model\.embed\("),
        (lambda: CiTrusForPretraining(tiny_config()), "prediction_loss_only"),
        (
            lambda: CiTrusForSequenceClassification(tiny_config(output_hidden_states=True)),
            r"ignore_keys=\['hidden_states'\]",
        ),
        (
            lambda: CiTrusForSequenceClassification(tiny_config(output_attentions=True)),
            r"ignore_keys=\['attentions'\]",
        ),
    ],
)
def test_outputs_per_patch_of_batches_of_different_durations_are_refused_before_the_loop(tmp_path, build, fix):
    trainer = Trainer(model=build(), args=_arguments(tmp_path))
    with pytest.raises(
        ValueError, match=r"3 to 10 patches.*padding='max_length'.*eval_do_concat_batches=False"
    ) as error:
        trainer.predict(_rows(MIXED))
    assert re.search(fix, str(error.value))


def test_inputs_for_metrics_of_a_prediction_are_joined_even_with_batch_eval_metrics(tmp_path):
    """`batch_eval_metrics` leaves an evaluation's batches apart, but `predict` still joins its inputs: the refusal of
    windows of several durations skipped it, and `predict` stopped inside torch."""
    arguments = _arguments(tmp_path, include_for_metrics=["inputs"], batch_eval_metrics=True)
    trainer = Trainer(
        model=CiTrusForSequenceClassification(tiny_config()),
        args=arguments,
        compute_metrics=lambda prediction, compute_result=True: {},
    )
    rows = _rows([200, 200, 120, 40], labels=[0, 1, 0, 1])
    assert "eval_loss" in trainer.evaluate(rows)
    with pytest.raises(ValueError, match="padding='max_length'"):
        trainer.predict(rows)


def test_outputs_per_patch_are_joined_where_they_can_be(tmp_path):
    encoder = CiTrusModel(tiny_config())
    # the batches' longest rows match (10 patches each), or every row has one duration
    for lengths in ([200, 100, 60, 200], [120] * 4):
        prediction = Trainer(model=encoder, args=_arguments(tmp_path)).predict(_rows(lengths))
        assert prediction.predictions[0].shape[0] == 4
    # each batch on its own
    apart = Trainer(model=encoder, args=_arguments(tmp_path, eval_do_concat_batches=False)).predict(_rows(MIXED))
    assert [batch[0].shape[2] for batch in apart.predictions] == [10, 3, 10]
    # the per-patch outputs left out: the logits join
    classifier = CiTrusForSequenceClassification(tiny_config(output_hidden_states=True))
    kept = Trainer(model=classifier, args=_arguments(tmp_path)).predict(_rows(MIXED), ignore_keys=["hidden_states"])
    assert kept.predictions.shape == (6, 2)
    # an evaluation without metrics computes the loss alone
    pretraining = Trainer(model=CiTrusForPretraining(tiny_config()), args=_arguments(tmp_path))
    assert "eval_loss" in pretraining.evaluate(_rows(MIXED))


# ---------------------------------------------------------------------------------------------------------------------
# 4. the other head's size keyword, on every route
# ---------------------------------------------------------------------------------------------------------------------

REGRESSOR_WITH_CLASSES = r"num_labels=2 sets the classes of CiTrusForSequenceClassification.*pass num_targets=2"
CLASSIFIER_WITH_TARGETS = r"num_targets=3 sets the outputs of CiTrusForRegression.*pass num_labels=3"


@pytest.mark.parametrize(
    ("build", "refusal"),
    [
        (lambda: _auto("AutoModelForTimeSeriesRegression").from_pretrained("citrus-small", num_labels=2), "regressor"),
        (
            lambda: _auto("AutoModelForSequenceClassification").from_pretrained("citrus-small", num_targets=3),
            "classifier",
        ),
        (lambda: CiTrusForRegression(tiny_config(num_labels=2)), "regressor"),
        (lambda: CiTrusForSequenceClassification(tiny_config(num_targets=3)), "classifier"),
        (lambda: _auto("AutoModelForTimeSeriesRegression").from_config(tiny_config(num_labels=2)), "regressor"),
        (
            lambda: CiTrusForRegression.from_pretrained(
                "citrus-small",
                config=CiTrusConfig.from_pretrained("citrus-small", num_labels=2),
            ),
            "regressor",
        ),
    ],
)
def test_the_other_heads_size_keyword_is_refused_on_every_route(build, refusal):
    with pytest.raises(ValueError, match=REGRESSOR_WITH_CLASSES if refusal == "regressor" else CLASSIFIER_WITH_TARGETS):
        build()


def _auto(name: str):
    import transformers

    import citrus_hf

    return getattr(citrus_hf, name, None) or getattr(transformers, name)


def test_each_heads_own_size_keyword_still_sizes_it(tmp_path):
    assert (
        _auto("AutoModelForTimeSeriesRegression").from_pretrained("citrus-small", num_targets=2).regressor.out_features
        == 2
    )
    assert (
        _auto("AutoModelForSequenceClassification")
        .from_pretrained("citrus-small", num_labels=3)
        .classifier.out_features
        == 3
    )
    assert CiTrusForRegression(tiny_config(num_targets=2, num_labels=2)).regressor.out_features == 2
    assert CiTrusForSequenceClassification(tiny_config(num_labels=3, num_targets=3)).classifier.out_features == 3
    # a regressor on a classifier's encoder: the classes the checkpoint's config records were not given here
    CiTrusForSequenceClassification(tiny_config(num_labels=4)).save_pretrained(tmp_path / "classifier")
    regressor = CiTrusForRegression.from_pretrained(tmp_path / "classifier", replace_head=True)
    assert regressor.regressor.out_features == 1


# ---------------------------------------------------------------------------------------------------------------------
# 5. several windows per row (alignment="window" one recording at a time)
# ---------------------------------------------------------------------------------------------------------------------

WINDOWS_PER_ROW = r"3 windows in one row.*alignment='window'.*batched=True.*recording_index.*alignment='resample'"


def _window_rows(channels: int) -> tuple[Dataset, Dataset, CiTrusFeatureExtractor]:
    """Four recordings of 6 s (3 windows each) with a label each: aligned one row at a time, and in batches."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=channels))
    rng = np.random.default_rng(0)
    raw = Dataset.from_dict(
        {"signal": [rng.standard_normal((channels, 600)).tolist() for _ in range(4)], "labels": [0, 1, 0, 1]}
    )

    def one_row(row):
        return dict(extractor(np.asarray(row["signal"], dtype=np.float32), sampling_rate=RATE, alignment="window"))

    def windows_with_labels(batch):  # what the refusal advises: a row per window, its recording's label
        signals = [np.asarray(signal, dtype=np.float32) for signal in batch["signal"]]
        windows = dict(extractor(signals, sampling_rate=RATE, alignment="window"))
        return {**windows, "labels": [batch["labels"][index] for index in windows["recording_index"]]}

    rows = raw.map(one_row, remove_columns=["signal"])
    expanded = raw.map(windows_with_labels, batched=True, remove_columns=raw.column_names)
    return rows, expanded, extractor


@pytest.mark.parametrize("channels", [1, 3])
def test_rows_of_several_windows_are_refused_with_the_cause_and_the_fix(tmp_path, channels):
    rows, expanded, extractor = _window_rows(channels)
    model = CiTrusForSequenceClassification(tiny_config(num_channels=channels))
    arguments = _arguments(tmp_path)
    with pytest.raises(ValueError, match=r"Trainer\(eval_dataset=\.\.\.\), row 0: " + WINDOWS_PER_ROW):
        Trainer(model=model, args=arguments, eval_dataset=rows, processing_class=extractor)
    trainer = Trainer(model=model, args=arguments, processing_class=extractor)
    with pytest.raises(ValueError, match=r"Trainer\.evaluate\(eval_dataset=\.\.\.\), row 0: " + WINDOWS_PER_ROW):
        trainer.evaluate(rows)
    # the advised map: one row per window, each with its recording's label
    assert len(expanded) == 12 and expanded["labels"] == [0] * 3 + [1] * 3 + [0] * 3 + [1] * 3
    assert "eval_loss" in trainer.evaluate(expanded)


@pytest.mark.parametrize("channels", [1, 3])
def test_the_extractors_pad_names_several_windows_per_row(channels):
    rows, _, extractor = _window_rows(channels)
    with pytest.raises(ValueError, match="example 0: " + WINDOWS_PER_ROW):
        extractor.pad([rows[0], rows[1]])  # with the windows' bookkeeping, as a collator keeping every column gets them
    bare = rows.remove_columns(["recording_index", "window_start_seconds"])
    with pytest.raises(ValueError, match=WINDOWS_PER_ROW) as error:
        extractor.pad([bare[0], bare[1]])
    # without the bookkeeping three one-channel windows may also be the channels of a recording read as a nested list
    assert ("np.asarray" in str(error.value)) == (channels == 1)
