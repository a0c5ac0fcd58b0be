"""Task heads and labels set up as a transformers user would (audit 63, heads):

- label smoothing takes whole-number class ids of any dtype (floats from a CSV, uint8, int16), as the model does;
- a one-output classifier whose problem_type was never set is scored with a sigmoid, as transformers' text
  classification does (a softmax over one logit made every recording LABEL_0 with score 1.0);
- PatchTST's names (`past_values`, `past_observed_mask`, `target_values`) are told what they are called here;
- a `problem_type` set on the config after the model is built is checked by the loss;
- `label_names` without `labels` is named at the first evaluation, which otherwise reports no loss and no metrics.

Every model is the tiny preset; nothing reaches a network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments, pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

RATE = 100.0  # the tiny preset's sampling rate: 200-sample windows of 10 patches


def _arguments(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(max_steps=1, report_to="none", use_cpu=True, save_strategy="no", disable_tqdm=True)
    return TrainingArguments(str(tmp_path / "out"), **{**settings, **overrides})


def _rows(**columns) -> Dataset:
    """Four one-channel 200-sample windows with `columns`."""
    values = np.random.default_rng(0).standard_normal((4, 1, 200)).astype("float32")
    return Dataset.from_dict({"input_values": values.tolist(), **columns})


# ----------------------------------------------------------------------- 1. label smoothing and the labels' dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.uint8, torch.int16])
def test_label_smoothing_takes_whole_number_class_ids_of_any_dtype(tmp_path, dtype):
    """The forward takes whole-number class ids of any dtype; with `label_smoothing_factor` they reached transformers'
    smoother as they came, and its `gather` stopped on anything but int64 / int32."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()  # no dropout: the losses compare
    trainer = Trainer(model=model, args=_arguments(tmp_path, label_smoothing_factor=0.1))
    values = torch.randn(3, 1, 200)
    batch = {"input_values": values, "labels": torch.tensor([0, 2, 1], dtype=dtype)}
    smoothed = trainer.compute_loss(model, batch)
    expected = trainer.compute_loss(model, {"input_values": values, "labels": torch.tensor([0, 2, 1])})
    assert torch.allclose(smoothed, expected)
    assert batch["labels"].dtype == dtype  # the caller's batch keeps its labels


def test_label_smoothing_refuses_fractional_class_ids_naming_their_dtype(tmp_path):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    trainer = Trainer(model=model, args=_arguments(tmp_path, label_smoothing_factor=0.1))
    batch = {"input_values": torch.randn(2, 1, 200), "labels": torch.tensor([0.0, 0.5])}
    with pytest.raises(ValueError, match=r"whole numbers.*\[0\.5\] in float32 labels.*class index in \[0, num_labels"):
        trainer.compute_loss(model, batch)


# ------------------------------------------------------------------------------- 2. a one-output classifier's scores


def test_a_one_output_classifier_is_scored_with_a_sigmoid(tmp_path):
    """transformers' text-classification rule: a sigmoid when num_labels == 1. The softmax over one logit gave every
    recording score 1.0 (the pipeline and `citrus predict`, which runs it)."""
    config = tiny_config(num_labels=1)
    model = CiTrusForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.bias.fill_(-6.0)
    recording = np.random.default_rng(0).standard_normal((1, 200)).astype("float32")
    with torch.no_grad():
        logit = float(model(torch.from_numpy(recording)[None]).logits)
    model.save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    result = pipeline(model=str(tmp_path))(recording, sampling_rate=RATE)
    assert model.config.problem_type is None
    # the extractor's scaling moves the logit a little from the raw window's
    assert result["score"] == pytest.approx(1 / (1 + math.exp(-logit)), rel=1e-2) and result["score"] < 0.01
    assert result["windows"][0]["score"] == pytest.approx(result["score"], rel=1e-6)


# -------------------------------------------------------------------------------------------- 3. PatchTST's names


def test_patchtst_argument_names_are_told_their_names_here():
    """The generic advice was to drop them (`dataset.remove_columns`), which throws away the signal or the labels."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    x = torch.randn(2, 1, 200)
    with pytest.raises(TypeError, match=r"'past_values'.*`input_values` \(batch, channels, time\).*transpose\(1, 2\)"):
        model(past_values=x.transpose(1, 2), target_values=torch.tensor([0, 1]))
    with pytest.raises(TypeError, match=r"'past_observed_mask'.*`patch_mask` \(batch, num_patches\)") as error:
        model(x, past_observed_mask=torch.ones(2, 200, 1))
    assert "remove_columns" not in str(error.value)
    with pytest.raises(TypeError, match=r"'target_values'.*labels as `labels`.*rename_column\('target_values'"):
        model(x, target_values=torch.tensor([0, 1]))


@pytest.mark.parametrize("label_names", [None, ["target_values"]])
def test_a_target_values_column_meets_the_trainer_with_the_rename(tmp_path, label_names):
    """Without `label_names` the Trainer dropped the column and stopped at the first step with "did not return a
    loss"; with `label_names=["target_values"]` the forward advised dropping the labels."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    rows = _rows(target_values=[0, 1, 0, 1])
    with pytest.raises(ValueError, match=r'`target_values` column.*rename_column\("target_values", "labels"\)'):
        Trainer(model=model, args=_arguments(tmp_path, label_names=label_names), train_dataset=rows)


def test_a_past_values_column_meets_the_trainer_with_what_it_is_here(tmp_path):
    """The Trainer dropped the column (the forward takes no `past_values`), and the forward then said only that
    `input_values` was None."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    rows = _rows(labels=[0, 1, 0, 1]).rename_column("input_values", "past_values")
    with pytest.raises(ValueError, match=r"`past_values` column.*no signal.*`input_values` \(batch, channels, time\)"):
        Trainer(model=model, args=_arguments(tmp_path), train_dataset=rows)


# ------------------------------------------------------------------------- 4. problem_type set after the model is built


def test_a_misspelt_problem_type_set_after_building_is_refused_by_the_loss(tmp_path):
    """Any value but "regression" / "single_label_classification" trained as multi-label BCE without a word."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=1))
    model.config.problem_type = "regresion"
    x = torch.randn(4, 1, 200)
    valid = r"problem_type='regresion'.*'regression', 'single_label_classification', 'multi_label_classification'"
    with pytest.raises(ValueError, match=valid):
        model(x, labels=torch.tensor([[0.2], [0.9], [0.5], [0.1]]))
    # the label smoother's path too, which takes the labels before the forward
    classifier = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    classifier.config.problem_type = "single_label"
    trainer = Trainer(model=classifier, args=_arguments(tmp_path, label_smoothing_factor=0.1))
    with pytest.raises(ValueError, match=r"problem_type='single_label'.*choose one of"):
        trainer.compute_loss(classifier, {"input_values": x, "labels": torch.tensor([0, 1, 0, 1])})


def test_single_label_classification_on_one_output_is_refused_by_the_loss():
    """A cross-entropy over one class is always 0: nothing trained."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=1)).train()
    model.config.problem_type = "single_label_classification"
    with pytest.raises(ValueError, match=r"one \(num_labels=1\).*num_labels=2.*multi_label_classification.*regression"):
        model(torch.randn(4, 1, 200), labels=torch.tensor([0, 0, 0, 0]))
    model.config.problem_type = "multi_label_classification"  # the one-output binary classifier it points to
    assert model(torch.randn(4, 1, 200), labels=torch.tensor([[0.0], [1.0], [0.0], [1.0]])).loss.detach() > 0


# -------------------------------------------------------------------------------- 5. label_names without `labels`


def test_label_names_without_labels_are_named_at_the_first_evaluation(tmp_path, caplog):
    """The collator renames `label` to `labels`; the evaluation looked for `label`, found none, and reported no
    eval_loss and no metrics without a word."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    rows = _rows(label=[0, 1, 0, 1])
    trainer = Trainer(model=model, args=_arguments(tmp_path, label_names=["label"]), eval_dataset=rows)
    with caplog.at_level("WARNING"):
        trainer.evaluate()
        trainer.evaluate()
    assert caplog.text.count('label_names=["labels"]') == 1  # once per Trainer
    caplog.clear()
    plain = Trainer(model=model, args=_arguments(tmp_path), eval_dataset=rows)
    with caplog.at_level("WARNING"):
        assert "eval_loss" in plain.evaluate()
    assert "label_names" not in caplog.text
