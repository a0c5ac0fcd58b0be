"""Multi-label classification end to end, read as a user with several diagnoses per record (multi-label audit, session
72): a `datasets` label column of lists of class ids (`List(ClassLabel)`, the Hub's multi-label form) given to a
`Trainer` is refused with the map to multi-hot rows (it stopped inside transformers' collator with torch's "expected
sequence of length 2 at dim 1"); a multi-label classifier's card says it is one (it read "3 classes") and keeps its
own metrics, hamming_accuracy and micro_f1 (a Trainer's card dropped them), and so does a LoRA adapter's card; `citrus predict`'s line names every label a multi-label classifier finds present
(above 0.5), not its top label alone; macro-F1 leaves out a label that never applies and is never predicted, as
single-label macro-F1 leaves out such a class (a perfect model scored 0.667 on a set without one of 3 labels);
`compute_metrics_fn("regression")` for a classifier is refused by the Trainer (a multi-label one's logits were
scored as values).

Tiny classifiers (100 Hz, 2 s windows of 10 patches): each test takes a second or two.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, Features, List, Value
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusForSequenceClassification

MULTI_LABEL = "multi_label_classification"
NAMES = ["AF", "LBBB", "NORM"]


def _classifier(names=NAMES, problem_type: str | None = MULTI_LABEL) -> CiTrusForSequenceClassification:
    config = tiny_config(
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={name: index for index, name in enumerate(names)},
        **({"problem_type": problem_type} if problem_type else {}),
    )
    return CiTrusForSequenceClassification(config)


def _arguments(tmp_path) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=4, report_to="none",
        save_strategy="no", use_cpu=True, disable_tqdm=True,
    )  # fmt: skip


def _rows_of_class_lists(names: list[str], column: str = "labels", ids=None) -> Dataset:
    """Four windows, each with a list of classes (`List(ClassLabel(names))`, or a list of plain ints given `ids`)."""
    signals = np.random.default_rng(0).standard_normal((4, 1, 200)).astype(np.float32)
    lists = ids or [[0, 2], [1], [2], [0, 1]]
    label_feature = List(ClassLabel(names=names)) if ids is None else List(Value("int64"))
    features = Features({"input_values": List(List(Value("float32"))), column: label_feature})
    return Dataset.from_dict({"input_values": signals.tolist(), column: lists}, features=features)


def _the_advised_map(message: str) -> str:
    return re.search(r"`dataset = (dataset\.map\(.*?\))`", message).group(1)


@pytest.mark.parametrize("set_names", [NAMES, ["NORM", "AF", "LBBB"]])
def test_a_column_of_class_lists_is_refused_with_a_map_to_multi_hot_rows_that_trains(tmp_path, set_names):
    model = _classifier()
    dataset = _rows_of_class_lists(set_names)
    with pytest.raises(ValueError, match="lists of class ids") as refusal:
        Trainer(model=model, args=_arguments(tmp_path), train_dataset=dataset)
    message = str(refusal.value)
    assert "multi-hot" in message and "\n" not in message
    fixed = eval(_the_advised_map(message), {"dataset": dataset, "Features": Features, "List": List, "Value": Value})
    # each row holds 1.0 at the model's id of every class its list names, by name
    expected = [[float(model_name in {set_names[i] for i in ids}) for model_name in NAMES] for ids in dataset["labels"]]
    assert fixed["labels"] == expected
    Trainer(model=model, args=_arguments(tmp_path), train_dataset=fixed).train()


def test_ragged_int_lists_are_refused_as_class_ids_and_multi_hot_int_rows_train(tmp_path):
    model = _classifier()
    with pytest.raises(ValueError, match="lists of class ids"):
        Trainer(
            model=model, args=_arguments(tmp_path), train_dataset=_rows_of_class_lists(NAMES, ids=[[0, 2], [1]] * 2)
        )
    multi_hot = _rows_of_class_lists(NAMES, ids=[[1, 0, 1], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    Trainer(model=model, args=_arguments(tmp_path), train_dataset=multi_hot).train()


def test_a_single_label_model_given_class_lists_is_told_to_be_multi_label(tmp_path):
    with pytest.raises(ValueError, match="problem_type='multi_label_classification'"):
        Trainer(
            model=_classifier(problem_type=None),
            args=_arguments(tmp_path),
            train_dataset=_rows_of_class_lists(NAMES, column="label"),
        )


def test_a_multi_label_trainers_card_says_multi_label_and_keeps_its_metrics(tmp_path):
    # the card said "A CiTrus classifier (3 classes)", as of a softmax over exclusive classes, and kept only the metric
    # names of single-label classification: hamming_accuracy and micro_f1 were dropped from its table and model-index
    import torch

    from citrus_hf.training.metrics import compute_metrics_fn

    model = _classifier()
    signals = np.random.default_rng(0).standard_normal((4, 1, 200)).astype(np.float32)
    rows = [
        {"input_values": torch.from_numpy(signal), "labels": torch.tensor(hot, dtype=torch.float32)}
        for signal, hot in zip(signals, [[1, 0, 1], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    ]
    arguments = TrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=4, report_to="none",
        save_strategy="no", use_cpu=True, disable_tqdm=True, eval_strategy="steps", eval_steps=1,
    )  # fmt: skip
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=rows,
        eval_dataset=rows,
        compute_metrics=compute_metrics_fn(MULTI_LABEL),
    )
    trainer.train()
    trainer.create_model_card(dataset_tags="you/ptbxl")
    card = (tmp_path / "run" / "README.md").read_text()
    assert "multi-label classifier (3 labels" in card and "(3 classes)" not in card
    for metric in ("hamming_accuracy", "micro_f1", "macro_f1", "auroc"):
        assert f"name: {metric}" in card and f"| this model | {metric} |" in card


@pytest.mark.parametrize(
    ("bias", "said"),
    [
        ([2.0, 1.0, -1.0], "AF 0.881, LBBB 0.731 (the labels above 0.5 of 3)"),
        ([-3.0, -1.0, -2.0], "no label above 0.5 (the highest: LBBB 0.269)"),
    ],
)
def test_predict_names_every_label_a_multi_label_classifier_finds_present(tmp_path, capsys, bias, said):
    # the line named the top label alone, "AF (score 0.881)", as if the labels were exclusive classes: LBBB, also
    # present, went unsaid, and a recording with no label present was given its least unlikely one
    import torch

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.commands.main import main

    model = _classifier().eval()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(tmp_path / "model")
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(tmp_path / "model")
    np.save(tmp_path / "rec.npy", np.random.default_rng(0).standard_normal((1, 400)).astype(np.float32))
    argv = ["predict", str(tmp_path / "model"), str(tmp_path / "rec.npy"), "--sampling-rate", "100"]
    assert main([*argv, "--backend", "torch"]) == 0
    assert f"rec.npy: {said}; 2 window(s)" in capsys.readouterr().out


def test_macro_f1_leaves_out_a_label_neither_true_nor_predicted_as_single_label_macro_f1_does():
    # a perfect model on a set where NORM never applies (a rare diagnosis absent from a small draw) scored macro-F1
    # 0.667: that label's 0 / 0 counted as 0, where single-label macro_f1 leaves such a class out (scikit-learn's
    # rule for the classes a multiclass set holds); a label predicted where it never applies still counts 0
    from citrus_hf.training.metrics import multi_label_metrics

    labels = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
    perfect = np.where(labels > 0, 3.0, -3.0)
    assert multi_label_metrics(perfect, labels)["macro_f1"] == 1.0
    once = perfect.copy()
    once[0, 2] = 1.0  # NORM predicted once, where it does not apply
    assert multi_label_metrics(once, labels)["macro_f1"] == pytest.approx(2 / 3)
    # no label applies and none is predicted: nothing is wrong (session 73: it was NaN, which best-model choice skips)
    assert multi_label_metrics(np.full((2, 3), -3.0), np.zeros((2, 3)))["macro_f1"] == 1.0


def test_a_collator_of_ones_own_may_turn_class_lists_into_multi_hot_rows(tmp_path):
    import torch

    def multi_hot(rows):
        return {
            "input_values": torch.tensor([row["input_values"] for row in rows]),
            "labels": torch.tensor([[float(k in row["labels"]) for k in range(3)] for row in rows]),
        }

    arguments = _arguments(tmp_path)
    arguments.remove_unused_columns = False
    trainer = Trainer(
        model=_classifier(), args=arguments, train_dataset=_rows_of_class_lists(NAMES), data_collator=multi_hot
    )
    trainer.train()


def test_a_multi_label_adapters_card_says_multi_label(tmp_path):
    # it said "for 3 classes: AF, LBBB, NORM", as its full model's card said "(3 classes)"
    from citrus_hf.training.lora import apply_lora, save_adapter

    save_adapter(apply_lora(_classifier(), r=2, verbose=False), tmp_path / "adapter")
    card = (tmp_path / "adapter" / "README.md").read_text()
    assert "for 3 labels (multi-label: each present or absent, a sigmoid per label): AF, LBBB, NORM" in card


def test_regression_metrics_for_a_multi_label_classifier_are_refused_by_the_trainer(tmp_path):
    # its (n, 3) logits beside (n, 3) multi-hot labels were scored as regressed values, without a word: a mae of
    # logits against 0 / 1 targets
    from citrus_hf.training.metrics import compute_metrics_fn

    with pytest.raises(ValueError, match=r"compute_metrics_fn\('multi_label_classification'\)"):
        Trainer(model=_classifier(), args=_arguments(tmp_path), compute_metrics=compute_metrics_fn("regression"))
