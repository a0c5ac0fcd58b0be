"""Multi-label leftovers (session 72): `citrus predict --output` of a multi-label classifier gives every window the
labels it finds present (above 0.5), as the printed line does (the `label` column held the top label alone, as if the
labels were exclusive classes); `multi_label_metrics` scores soft targets (label smoothing by hand, 0.05 / 0.95),
which the loss trains on, by the side of 0.5 each lies (they stopped the first evaluation after training had run);
and `compute_metrics_fn("multi_label_classification")` given to the Trainer of a single-label classifier is refused
when the Trainer is built (it failed at the first evaluation, on a shape error).

Tiny classifiers (100 Hz, 2 s windows of 10 patches): each test takes a second or two.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusForSequenceClassification

MULTI_LABEL = "multi_label_classification"
NAMES = ["AF", "LBBB", "NORM"]


def _classifier(problem_type: str | None = MULTI_LABEL, names=NAMES) -> CiTrusForSequenceClassification:
    config = tiny_config(
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={name: index for index, name in enumerate(names)},
        **({"problem_type": problem_type} if problem_type else {}),
    )
    return CiTrusForSequenceClassification(config)


def _predict(tmp_path, model, output: str) -> None:
    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.commands.main import main

    model.save_pretrained(tmp_path / "model")
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(tmp_path / "model")
    np.save(tmp_path / "rec.npy", np.random.default_rng(0).standard_normal((1, 400)).astype(np.float32))
    argv = ["predict", str(tmp_path / "model"), str(tmp_path / "rec.npy"), "--sampling-rate", "100"]
    assert main([*argv, "--backend", "torch", "--output", str(tmp_path / output)]) == 0


def _with_bias(model, bias):
    import torch

    model.eval()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    return model


@pytest.mark.parametrize(("bias", "present"), [([2.0, 1.0, -1.0], "AF;LBBB"), ([-3.0, -1.0, -2.0], "")])
def test_predict_csv_rows_of_a_multi_label_classifier_name_every_label_present(tmp_path, bias, present):
    # each row's `label` was the top label alone (AF), as of exclusive classes: LBBB, also above 0.5, went unsaid, and
    # a window where no label applies was given its least unlikely one
    _predict(tmp_path, _with_bias(_classifier(), bias), "out.csv")
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["present_labels"] for row in rows] == [present, present]
    assert {"p_AF", "p_LBBB", "p_NORM"} <= set(rows[0])


def test_predict_jsonl_of_a_multi_label_classifier_names_every_label_present(tmp_path):
    _predict(tmp_path, _with_bias(_classifier(), [2.0, 1.0, -1.0]), "out.jsonl")
    (record,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert record["present_labels"] == ["AF", "LBBB"]
    assert [window["present_labels"] for window in record["windows"]] == [["AF", "LBBB"], ["AF", "LBBB"]]


def test_predict_outputs_of_a_single_label_classifier_are_unchanged(tmp_path):
    _predict(tmp_path, _with_bias(_classifier(problem_type=None), [2.0, 1.0, -1.0]), "out.csv")
    with open(tmp_path / "out.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["recording", "start", "end", "label", "score", "p_AF", "p_LBBB", "p_NORM", "no_signal"]
    _predict(tmp_path, _with_bias(_classifier(problem_type=None), [2.0, 1.0, -1.0]), "out.jsonl")
    assert "present_labels" not in (tmp_path / "out.jsonl").read_text()


def test_soft_multi_label_targets_are_scored_by_their_side_of_one_half():
    # the loss trains on targets in [0, 1] (label smoothing by hand), and the metrics refused them at the first
    # evaluation, after training had run, with a message that named no way out
    from citrus_hf.training.metrics import multi_label_metrics

    hard = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    soft = np.where(hard > 0, 0.95, 0.05)
    logits = np.array([[2.0, -2.0], [-2.0, 1.0], [1.0, -1.0]])
    assert multi_label_metrics(logits, soft) == multi_label_metrics(logits, hard)


@pytest.mark.parametrize("targets", [[[0.5, 1.0]], [[1.5, 0.0]], [[np.nan, 0.0]]])
def test_multi_label_targets_that_no_side_of_one_half_decides_are_refused_with_the_fix(targets):
    from citrus_hf.training.metrics import multi_label_metrics

    with pytest.raises(ValueError, match="multi-hot") as refusal:
        multi_label_metrics(np.zeros((1, 2)), np.array(targets))
    assert "\n" not in str(refusal.value)


def _arguments(tmp_path) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=4, report_to="none",
        save_strategy="no", use_cpu=True, disable_tqdm=True,
    )  # fmt: skip


def _class_rows():
    import torch

    signals = np.random.default_rng(0).standard_normal((4, 1, 200)).astype(np.float32)
    return [
        {"input_values": torch.from_numpy(signal), "labels": torch.tensor(k % 3)} for k, signal in enumerate(signals)
    ]


@pytest.mark.parametrize("problem_type", ["single_label_classification", None])
def test_multi_label_metrics_for_a_single_label_classifier_are_refused_when_the_trainer_is_built(
    tmp_path, problem_type
):
    # it trained, then stopped at the first evaluation: "Multi-label logits and labels must both be (n, num_labels),
    # got (4, 3) and (4,)"
    from citrus_hf.training.metrics import compute_metrics_fn

    with pytest.raises(ValueError, match=r"compute_metrics_fn\('classification'\)") as refusal:
        Trainer(
            model=_classifier(problem_type=problem_type),
            args=_arguments(tmp_path),
            train_dataset=_class_rows(),
            eval_dataset=_class_rows(),
            compute_metrics=compute_metrics_fn(MULTI_LABEL),
        )
    assert "\n" not in str(refusal.value)


def test_multi_label_metrics_for_a_multi_label_classifier_still_build(tmp_path):
    import torch

    from citrus_hf.training.metrics import compute_metrics_fn

    rows = [dict(row, labels=torch.tensor([1.0, 0.0, 1.0])) for row in _class_rows()]
    for problem_type in (MULTI_LABEL, None):  # without a problem type, multi-hot rows train as multi-label
        Trainer(
            model=_classifier(problem_type=problem_type),
            args=_arguments(tmp_path),
            train_dataset=rows,
            compute_metrics=compute_metrics_fn(MULTI_LABEL),
        )
