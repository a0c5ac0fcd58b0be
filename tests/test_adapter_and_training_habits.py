"""Training and saving as a transformers / peft user does by habit (session 56 audit): a LoRA model saved by the
`Trainer` with data normalised by fixed statistics, reentrant gradient checkpointing with a frozen stem, data
parallelism over a task model, `replace_head=True` on a Trainer-trained classifier, a checkpoint fitted on short
windows run over a long recording, and one trained on recordings stretched onto its window.

Tiny models on real recordings: BasicMotions (6 accelerometer / gyroscope channels at 10 Hz) and Zenodo blink EEG.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments, pipeline

from citrus_hf import (
    AutoModelForTimeSeriesRegression,
    CiTrusForPretraining,
    CiTrusForSequenceClassification,
)
from citrus_hf.data import build_dataset
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune
from citrus_hf.training.lora import TASK_CONFIG_NAME, apply_lora, load_adapter

RATE = 10.0


@pytest.fixture(scope="module")
def motions():
    """BasicMotions' first 8 training and 4 test rows, `(6, 100)` at 10 Hz, labels 0-3, the class names."""
    data = build_dataset("basic_motions")
    names = data["train"].features["label"].names
    train, test = data["train"].select(range(0, 40, 5)), data["test"].select(range(0, 40, 10))
    as_arrays = lambda split: (np.asarray(split["input_values"], np.float32), np.asarray(split["label"]))  # noqa: E731
    return (*as_arrays(train), *as_arrays(test), names)


def _fixed_contract(signals: np.ndarray) -> dict:
    return {
        "num_channels": 6,
        "sampling_rate": RATE,
        "normalization": "fixed",
        "normalization_mean": signals.mean(axis=(0, 2)).tolist(),
        "normalization_std": signals.std(axis=(0, 2)).tolist(),
    }


def test_a_lora_model_the_trainer_saved_runs_in_the_pipeline_as_it_was_trained(motions, tmp_path):
    """`Trainer.save_model` of a LoRA model (peft's files only) lost the class names, the channel layout and the
    fixed normalisation: the pipeline refused the very extractor the Trainer saved as another input contract, and the
    extractor its error advised normalised otherwise (other probabilities, `LABEL_0` names)."""
    x, y, test_x, _, names = motions
    contract = _fixed_contract(x)
    torch.manual_seed(0)
    CiTrusForPretraining(tiny_config(sampling_rate=RATE, context_length=100, patch_length=10)).save_pretrained(
        tmp_path / "base"
    )
    model = CiTrusForSequenceClassification.from_pretrained(
        tmp_path / "base",
        num_labels=4,
        id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)},
        channel_pooling="concat",
        **contract,
    )
    extractor = CiTrusFeatureExtractor.from_config(model.config)  # normalises with the training set's statistics
    peft_model = apply_lora(model, r=2, verbose=False)
    rows = [dict(extractor(row, sampling_rate=RATE), labels=int(label)) for row, label in zip(x, y)]
    rows = [{key: np.asarray(value[0]) if key != "labels" else value for key, value in row.items()} for row in rows]
    arguments = TrainingArguments(
        tmp_path / "run", max_steps=2, per_device_train_batch_size=4, report_to="none", use_cpu=True, save_strategy="no"
    )
    trainer = Trainer(peft_model, arguments, train_dataset=rows, processing_class=extractor)
    trainer.train()
    trainer.save_model(tmp_path / "adapter")
    assert (tmp_path / "adapter" / TASK_CONFIG_NAME).is_file()
    peft_model.eval()
    with torch.no_grad():
        features = extractor(test_x[0], sampling_rate=RATE, return_tensors="pt")
        expected = peft_model(**features).logits.softmax(-1)[0]
    result = pipeline(model=str(tmp_path / "adapter"), backend="torch")(test_x[0], sampling_rate=RATE, top_k=None)
    scores = {entry["label"]: entry["score"] for entry in result["labels"]}
    assert set(scores) == set(names)
    np.testing.assert_allclose([scores[name] for name in names], expected.numpy(), atol=1e-5)

    # peft's files alone (no task config): the saved extractor's normalisation still rebuilds the base
    (tmp_path / "adapter" / TASK_CONFIG_NAME).unlink()
    peft_only = pipeline(model=str(tmp_path / "adapter"), backend="torch")(test_x[0], sampling_rate=RATE, top_k=None)
    np.testing.assert_allclose(sorted(e["score"] for e in peft_only["labels"]), sorted(scores.values()), atol=1e-5)


def test_reentrant_checkpointing_trains_the_transformer_behind_a_frozen_stem(motions):
    """transformers makes the input require grad under checkpointing only for `input_ids` models: with
    `use_reentrant=True`, a frozen stem (or peft's LoRA) left every transformer layer without a gradient."""
    x, y, *_ = motions
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(
        tiny_config(num_channels=6, sampling_rate=RATE, context_length=100, patch_length=10, num_labels=4)
    )
    model.citrus.patch_embedding.requires_grad_(False)
    model.gradient_checkpointing_enable({"use_reentrant": True})
    model.train()
    extractor = CiTrusFeatureExtractor.from_config(model.config)
    inputs = extractor(list(x[:4]), sampling_rate=RATE, return_tensors="pt")
    model(**inputs, labels=torch.as_tensor(y[:4])).loss.backward()
    layer_grads = [p.grad for name, p in model.named_parameters() if "encoder.layers" in name]
    assert layer_grads and all(grad is not None and grad.abs().sum() > 0 for grad in layer_grads)
    model.gradient_checkpointing_disable()
    assert not hasattr(model, "_require_grads_hook")


def test_every_trainable_parameter_of_a_task_model_gets_a_gradient(tmp_path, motions):
    """What DistributedDataParallel needs of a hand-written loop: the pre-training mask token, which no task model
    uses, stayed trainable and stopped DDP at its second step. Frozen when built, loaded and unfrozen."""
    x, y, *_ = motions
    CiTrusForPretraining(tiny_config(sampling_rate=RATE, context_length=100, patch_length=10)).save_pretrained(tmp_path)
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path, num_labels=4, num_channels=6)
    model.freeze_backbone()
    model.freeze_backbone(False)
    inputs = CiTrusFeatureExtractor.from_config(model.config)(list(x[:4]), sampling_rate=RATE, return_tensors="pt")
    model.train()(**inputs, labels=torch.as_tensor(y[:4])).loss.backward()
    without = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert without == []
    assert "citrus.mask_token" in dict(model.named_parameters())  # still saved and loaded


def test_replace_head_takes_a_trainer_trained_classifier_into_a_regressor(tmp_path):
    """The Trainer's first forward pass records `problem_type="single_label_classification"`, which the regressor
    refused as its own setting under `replace_head=True`."""
    config = tiny_config(num_labels=3, problem_type="single_label_classification")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    regressor = AutoModelForTimeSeriesRegression.from_pretrained(tmp_path, replace_head=True)
    assert type(regressor).__name__ == "CiTrusForRegression" and regressor.config.problem_type == "regression"


@pytest.fixture(scope="module")
def blink_checkpoint(tmp_path_factory) -> str:
    """citrus-small's probe fitted on 3 blink windows per class (2 s at 255 Hz, 4 EEG channels)."""
    folder = tmp_path_factory.mktemp("blink")
    finetune(
        FinetuneArguments(
            output_dir=str(folder),
            dataset="eeg_blink",
            model="citrus-small",
            label_budget="3",
            recipe="probe",
            trainer=TrainerSettings(show_progress=False),
        )
    )
    return str(folder)


def test_a_checkpoint_fitted_on_short_windows_cuts_long_recordings_into_them(blink_checkpoint):
    """Fitted on 2 s windows, the checkpoint said 10 s (the pre-training context), and the pipeline scored a long
    recording in 10 s windows it had never seen."""
    config = json.loads(open(f"{blink_checkpoint}/config.json").read())
    extractor = json.loads(open(f"{blink_checkpoint}/preprocessor_config.json").read())
    window = 2 * config["sampling_rate"]  # 2 s at the model's rate, in whole patches
    assert config["context_length"] == extractor["context_length"] == -(-window // 20) * 20 < 500
    test = build_dataset("eeg_blink")["test"]
    recording = np.concatenate([np.asarray(row, np.float32) for row in test.select(range(5))["input_values"]], axis=1)
    result = pipeline(model=blink_checkpoint, backend="torch")(recording, sampling_rate=255.0)
    assert len(result["windows"]) == 5
    assert result["windows"][1]["start"] == pytest.approx(config["context_length"] / config["sampling_rate"])


def test_a_checkpoint_trained_on_stretched_recordings_stretches_them_in_the_pipeline(motions, tmp_path):
    """A slow series stretched onto the window in training (`alignment="interpolate"`, saved with the extractor) was
    cut into windows by the pipeline: a 0.5 Hz BasicMotions row of 200 s became 20 windows of 10 s (accuracy 1.0 ->
    0.3 in the audit)."""
    x, *_ = motions
    config = tiny_config(num_channels=6, sampling_rate=RATE, context_length=100, patch_length=10, num_labels=4)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config, alignment="interpolate").save_pretrained(tmp_path)
    classify = pipeline(model=str(tmp_path), backend="torch")
    stretched = classify(x[0], sampling_rate=0.5)
    assert len(stretched["windows"]) == 1 and stretched["windows"][0]["end"] == pytest.approx(200.0)
    assert len(classify(x[0], sampling_rate=0.5, alignment="window")["windows"]) == 20


def test_a_peft_only_adapter_takes_the_window_its_saved_extractor_cut(tmp_path):
    """peft records the base's name only: a model trained on windows shorter than the base's context (what `citrus
    finetune` records) is rebuilt with the window of the extractor saved beside the adapter, not the base's."""
    CiTrusForPretraining(tiny_config(context_length=100, patch_length=10)).save_pretrained(tmp_path / "base")
    task = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=2, context_length=50)
    peft_model = get_peft_model(task, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type="SEQ_CLS"))
    peft_model.save_pretrained(tmp_path / "adapter")
    CiTrusFeatureExtractor.from_config(task.config).save_pretrained(tmp_path / "adapter")
    assert load_adapter(None, tmp_path / "adapter").get_base_model().config.context_length == 50


def test_the_trainer_card_keeps_its_evaluation_without_a_dataset_name_and_leaves_out_nan(motions, tmp_path):
    """`Trainer.push_to_hub()` wrote no evaluation at all unless `dataset=` was passed ("No evaluation results were
    recorded"), and crashed on a metric that could not be computed (AUROC on an evaluation set of one class: NaN)."""
    from huggingface_hub import ModelCard

    from citrus_hf.publishing.cards import evaluation_table_rows
    from citrus_hf.training.metrics import compute_metrics_fn

    x, y, test_x, test_y, names = motions
    torch.manual_seed(0)
    config = tiny_config(num_channels=6, sampling_rate=RATE, context_length=100, patch_length=10, num_labels=4)
    model = CiTrusForSequenceClassification(config)
    extractor = CiTrusFeatureExtractor.from_config(config)

    def rows(signals, labels):
        return [
            {"input_values": extractor(row, sampling_rate=RATE)["input_values"][0], "labels": int(label)}
            for row, label in zip(signals, labels)
        ]

    one_class = [row for row in rows(test_x, test_y) if row["labels"] == test_y[0]]  # AUROC: NaN
    arguments = TrainingArguments(
        tmp_path,
        max_steps=2,
        eval_strategy="steps",
        eval_steps=1,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
    )
    trainer = Trainer(
        model,
        arguments,
        train_dataset=rows(x, y),
        eval_dataset=one_class,
        processing_class=extractor,
        compute_metrics=compute_metrics_fn("classification"),
    )
    trainer.train()
    assert any(np.isnan(entry.get("eval_auroc", 0.0)) for entry in trainer.state.log_history)
    trainer.create_model_card()
    unnamed = ModelCard.load(tmp_path / "README.md")
    table = {row["metric"]: row for row in evaluation_table_rows(unnamed)}
    assert not unnamed.data.eval_results  # the model-index must name a dataset
    assert "macro_f1" in table and "auroc" not in table and table["macro_f1"]["method"].startswith("this model")
    trainer.create_model_card(dataset="basic_motions")
    named = ModelCard.load(tmp_path / "README.md")
    metrics = {result.metric_type for result in named.data.eval_results}
    assert "macro_f1" in metrics and "auroc" not in metrics


def test_a_card_links_the_hub_dataset_its_model_was_evaluated_on():
    """A model fine-tuned on a Hub dataset (`citrus finetune --dataset owner/name`) named it in its model-index but not
    in its `datasets:` metadata, which is what links a model to its dataset on the Hub; a registered name is no link."""
    from citrus_hf.publishing.cards import build_model_card

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    on_the_hub = [{"dataset": "citrus-tester/bm", "metric": "accuracy", "value": 0.9, "split": "test"}]
    assert build_model_card(model, None, eval_results=on_the_hub).data.datasets == ["citrus-tester/bm"]
    registered = [{**on_the_hub[0], "dataset": "basic_motions"}]
    assert build_model_card(model, None, eval_results=registered).data.datasets is None


def test_a_trainer_of_a_head_built_for_other_channels_is_refused_when_it_is_built(motions, tmp_path):
    """`from_pretrained(checkpoint, num_labels=4)` without `num_channels` builds a head for the checkpoint's one
    channel; 6-channel rows failed at the first step, deep inside the Trainer."""
    x, y, *_ = motions
    model = CiTrusForSequenceClassification(
        tiny_config(sampling_rate=RATE, context_length=100, patch_length=10, num_labels=4, channel_pooling="concat")
    )
    extractor = CiTrusFeatureExtractor.from_config(
        model.config, channel_independent=True
    )  # as a checkpoint's encoder's
    rows = [{"input_values": extractor(row, sampling_rate=RATE)["input_values"][0], "labels": 0} for row in x[:2]]
    arguments = TrainingArguments(tmp_path, max_steps=1, report_to="none", use_cpu=True, save_strategy="no")
    with pytest.raises(ValueError, match=r"row 0: This model was built for 1 channel\(s\).*num_channels=6"):
        Trainer(model, arguments, train_dataset=rows)


def test_a_head_loaded_from_a_pretraining_checkpoint_is_checked_when_the_trainer_is_built(motions, tmp_path):
    """The same mismatch through the README's route, `from_pretrained(pretraining_checkpoint, num_labels=4)`: the
    classifier's config still names the checkpoint's class (`architectures` ["CiTrusForPretraining"]) until it is
    saved, and the check, which read that, let the Trainer be built and fail at its first step."""
    x, *_ = motions
    config = tiny_config(sampling_rate=RATE, context_length=100, patch_length=10, channel_pooling="concat")
    CiTrusForPretraining(config).save_pretrained(tmp_path / "pretrained")
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "pretrained", num_labels=4)
    assert model.config.num_channels == 1 and model.config.architectures == ["CiTrusForPretraining"]
    extractor = CiTrusFeatureExtractor.from_config(model.config, channel_independent=True)
    rows = [{"input_values": extractor(row, sampling_rate=RATE)["input_values"][0], "labels": 0} for row in x[:2]]
    arguments = TrainingArguments(tmp_path / "run", max_steps=1, report_to="none", use_cpu=True, save_strategy="no")
    with pytest.raises(ValueError, match=r"Trainer\(train_dataset=...\), row 0: This model was built for 1 channel"):
        Trainer(model, arguments, train_dataset=rows)
