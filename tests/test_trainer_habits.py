"""A transformers user's own `Trainer` of a CiTrus model, used by habit (audits trainer_habits / fusion_habits):

- the Trainer card reports the kept checkpoint's evaluation and the effective batch size;
- `compute_metrics_fn("regression")` scores several targets one by one, names a classifier's logits given to it,
  and works with `batch_eval_metrics=True`;
- `metric_for_best_model="mae"` is minimised; label smoothing does not skip the model's label checks;
  `Trainer.push_to_hub` / `TrainingArguments(push_to_hub=True)` without a Hub fail in one line;
  `group_by_length` groups windows by duration; a `processing_class` of another input contract is refused when the
  Trainer is built;
- a fusion model's peft adapter is named as one by `load_adapter`, and a fusion card neither promises a processor
  that was not published nor hides that there is no pipeline.

Every model is the tiny preset; nothing reaches a network (a closed local port or offline mode).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from datasets import Dataset
from huggingface_hub import ModelCard
from tiny_configs import tiny_config
from transformers import EvalPrediction, Trainer, TrainingArguments

from citrus_hf import (
    CiTrusFeatureExtractor,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusFusionForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.publishing.cards import build_model_card
from citrus_hf.training.metrics import compute_metrics_fn, regression_metrics

RATE = 100.0  # the tiny preset's sampling rate: 200-sample windows of 10 patches


def _arguments(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(max_steps=1, report_to="none", use_cpu=True, save_strategy="no", disable_tqdm=True)
    return TrainingArguments(str(tmp_path / "out"), **{**settings, **overrides})


@pytest.fixture(scope="module")
def aligned():
    """Six one-channel recordings of 0.4 to 2 s, aligned one at a time as audio users do (rows `(1, 1, time)`
    with their `patch_mask`), with a class label and a regression target."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    rng = np.random.default_rng(0)
    lengths = (40, 200, 100, 60, 200, 40)
    raw = Dataset.from_dict(
        {
            "signal": [rng.standard_normal((1, n)).tolist() for n in lengths],
            "labels": [0, 1, 0, 1, 0, 1],
            "target": [float(n) / 100 for n in lengths],
        }
    )
    return raw.map(
        lambda row: dict(extractor(np.asarray(row["signal"]), sampling_rate=RATE)), remove_columns=["signal"]
    )


# ------------------------------------------------------------------------------ 1. the Trainer card's numbers


def test_the_trainer_card_reports_the_kept_checkpoint_and_the_effective_batch(tmp_path, aligned):
    """With `load_best_model_at_end`, the card's `model-index` gave the last evaluation's accuracy (0.6875), not the
    kept checkpoint's (0.875); the batch size ignored gradient accumulation."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = _arguments(
        tmp_path,
        eval_strategy="steps",
        save_strategy="steps",
        eval_steps=1,
        save_steps=1,
        load_best_model_at_end=True,
        metric_for_best_model="loss",
        per_device_train_batch_size=4,
        gradient_accumulation_steps=2,
    )
    rows = aligned.remove_columns("target")
    trainer = Trainer(model=model, args=arguments, eval_dataset=rows, processing_class=_extractor(model))
    for step, loss, accuracy in ((1, 0.523, 0.75), (2, 0.264, 0.875), (3, 0.578, 0.6875)):
        trainer.state.log_history.append({"eval_loss": loss, "eval_accuracy": accuracy, "step": step})
    trainer.state.best_global_step, trainer.state.global_step = 2, 3
    trainer.create_model_card(dataset="eeg_blink")
    card = ModelCard.load(tmp_path / "out" / "README.md")
    assert [(e.metric_type, e.metric_value) for e in card.data.eval_results] == [("accuracy", 0.875)]
    assert "| Batch size | 8 (4 per device x 2 gradient-accumulation steps) |" in str(card)


# ------------------------------------------------------------------------------------ 2. multi-target metrics


def test_regression_metrics_score_every_target_on_its_own():
    """Two targets on different scales were pooled into one vector: a constant prediction (no skill) had r 0.99."""
    rng = np.random.default_rng(0)
    targets = np.stack([rng.normal(70, 5, 50), rng.normal(15, 2, 50)], 1)  # heart rate, breathing rate
    constant = np.broadcast_to(targets.mean(0), targets.shape).copy()
    metrics = compute_metrics_fn("regression")(EvalPrediction(predictions=constant, label_ids=targets))
    assert math.isnan(metrics["pearson_r"]) and math.isnan(metrics["pearson_r_0"])
    per_target = [float(np.mean(np.abs(constant[:, k] - targets[:, k]))) for k in range(2)]
    assert metrics["mae_0"] == pytest.approx(per_target[0]) and metrics["mae_1"] == pytest.approx(per_target[1])
    assert metrics["mae"] == pytest.approx(np.mean(per_target))
    skilled = regression_metrics(targets + rng.normal(0, 0.1, targets.shape), targets)
    assert skilled["pearson_r"] > 0.99 and skilled["pearson_r_1"] > 0.99
    # one target: (n,), (n, 1) and their mixes score alike, without per-target keys
    single = regression_metrics(targets[:, :1], targets[:, 0])
    assert set(single) == {"mae", "rmse", "pearson_r"} and single == regression_metrics(targets[:, 0], targets[:, 0])


# ---------------------------------------------------------------------------------- 3. an error metric is minimised


def test_an_error_metric_for_the_best_model_is_minimised(tmp_path, aligned, caplog):
    """transformers maximises every metric whose name does not end in "loss": `metric_for_best_model="mae"` kept
    the checkpoint with the largest error."""
    model = CiTrusForRegression(tiny_config())
    rows = aligned.remove_columns("labels").rename_column("target", "labels")
    settings = dict(eval_strategy="steps", eval_steps=1, metric_for_best_model="mae")
    with caplog.at_level("WARNING"):
        trainer = Trainer(model=model, args=_arguments(tmp_path, **settings), eval_dataset=rows)
    assert trainer.args.greater_is_better is False
    assert "greater_is_better is set to False" in caplog.text
    # the package's metrics on any model, and prefixed / per-set names, are recognised as errors too
    other = Trainer(
        model=torch.nn.Linear(1, 1),
        args=_arguments(tmp_path, metric_for_best_model="eval_holdout_rmse"),
        compute_metrics=compute_metrics_fn("regression"),
    )
    assert other.args.greater_is_better is False
    # a value the user set is kept, with a warning
    caplog.clear()
    with caplog.at_level("WARNING"):
        explicit = Trainer(model=model, args=_arguments(tmp_path, metric_for_best_model="mae", greater_is_better=True))
    assert explicit.args.greater_is_better is True and "pass greater_is_better=False" in caplog.text
    chosen = Trainer(model=model, args=_arguments(tmp_path, metric_for_best_model="pearson_r"))
    assert chosen.args.greater_is_better is True


# --------------------------------------------------------------------- 4. label smoothing keeps the label checks


@pytest.mark.parametrize(
    ("model", "labels", "message"),
    [
        (lambda: CiTrusForSequenceClassification(tiny_config(num_labels=2)), [0, 2], r"Labels must lie in \[0, 1\]"),
        (lambda: CiTrusForSequenceClassification(tiny_config(num_labels=2)), [0, -100], "Labels hold -100"),
        (lambda: CiTrusForRegression(tiny_config()), [0.5, 1.5], "label smoothing applies to single-label"),
        (
            lambda: CiTrusForSequenceClassification(tiny_config(num_labels=3)),
            [[1, 0, 1], [0, 1, 0]],
            r"3 values per window.*label smoothing applies.*multi_label_classification",
        ),
        (
            lambda: CiTrusForSequenceClassification(tiny_config(num_labels=2)),
            [0.0, float("nan")],
            r"`labels` contain 1 NaN",
        ),
    ],
)
def test_label_smoothing_keeps_the_models_label_checks(tmp_path, model, labels, message):
    """The label smoother takes `labels` out of the batch before the forward: out-of-range classes failed in
    transformers' smoother, -100 labels were ignored silently, regression and multi-hot labels failed in torch."""
    trainer = Trainer(model=model(), args=_arguments(tmp_path, label_smoothing_factor=0.1))
    batch = {"input_values": torch.randn(2, 1, 200), "labels": torch.tensor(labels)}
    with pytest.raises(ValueError, match=message):
        trainer.compute_loss(trainer.model, batch)


def test_label_smoothing_still_smooths_valid_labels(tmp_path):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    trainer = Trainer(model=model, args=_arguments(tmp_path, label_smoothing_factor=0.1))
    batch = {"input_values": torch.randn(2, 1, 200), "labels": torch.tensor([0, 1])}
    model.eval()  # no dropout: the two losses differ by the smoothing alone
    smoothed = trainer.compute_loss(model, dict(batch))
    assert model.config.problem_type == "single_label_classification"  # as the forward infers it
    assert torch.isfinite(smoothed) and not torch.allclose(smoothed, model(**batch).loss)


# ----------------------------------------------------------------------------------- 5. one-line Hub errors


def test_the_trainers_hub_routes_fail_in_one_line_without_a_hub(tmp_path, monkeypatch):
    """`model.push_to_hub` gave the package's one-line error; `Trainer.push_to_hub` and `Trainer(...)` with
    `TrainingArguments(push_to_hub=True)` gave the HTTP client's exception, 12 to 15 frames deep."""
    import transformers.utils.hub
    from huggingface_hub import constants

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # a closed port
    monkeypatch.setattr(transformers.utils.hub, "_hf_api", None)  # transformers' shared client, made for the port
    with pytest.raises(OSError, match=r"Could not publish me/citrus-run to http://127\.0\.0\.1:9.*Check the network"):
        Trainer(model=model, args=_arguments(tmp_path, push_to_hub=True, hub_model_id="me/citrus-run"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    trainer = Trainer(model=model, args=_arguments(tmp_path, hub_model_id="me/citrus-run"))
    with pytest.raises(OSError, match=r"Could not publish me/citrus-run to .*hf auth login"):
        trainer.push_to_hub()


# -------------------------------------------------------------------------------- 7. group_by_length by duration


def test_group_by_length_groups_windows_by_their_patches(tmp_path, aligned):
    """transformers measured `len(row["input_values"])`, 1 for every `(1, channels, time)` row, so windows of
    different durations were batched at random."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = _arguments(tmp_path, train_sampling_strategy="group_by_length", per_device_train_batch_size=2)
    rows = aligned.remove_columns("target")
    trainer = Trainer(model=model, args=arguments, train_dataset=rows, processing_class=_extractor(model))
    # transformers' LengthGroupedSampler, measuring the windows in patches of 20 samples
    assert trainer._get_train_sampler().lengths == [2, 10, 5, 3, 10, 2]
    batches = [batch["patch_mask"].shape for batch in trainer.get_train_dataloader()]
    assert len(batches) == 3 and all(shape[0] == 2 for shape in batches)
    # the user's own length column, kept in the dataset, is transformers' to read
    kept = rows.add_column("length", [1, 2, 3, 4, 5, 6])
    arguments = _arguments(tmp_path, train_sampling_strategy="group_by_length", remove_unused_columns=False)
    assert Trainer(model=model, args=arguments, train_dataset=kept)._get_train_sampler().lengths == [1, 2, 3, 4, 5, 6]


def _extractor(model) -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor.from_config(model.config)


# ------------------------------------------------------------------- 8. the processing class's input contract


def test_a_processing_class_of_another_contract_is_refused_when_the_trainer_is_built(tmp_path):
    """The run trained and saved without a word; only `pipeline(model=output_dir)` refused the folder afterwards."""
    model = CiTrusForSequenceClassification(
        tiny_config(num_labels=2, normalization="fixed", normalization_mean=[0.5], normalization_std=[2.0])
    )
    plain = CiTrusFeatureExtractor.from_config(tiny_config())
    with pytest.raises(ValueError, match=r"processing_class.*normalization='zscore' \(the model's: 'fixed'\)"):
        Trainer(model=model, args=_arguments(tmp_path), processing_class=plain)
    Trainer(model=model, args=_arguments(tmp_path), processing_class=_extractor(model))  # its own: accepted


# ----------------------------------------------------------------------------- 11. metric function mismatches


def test_a_classifiers_logits_given_to_the_regression_metrics_are_named(tmp_path, aligned):
    """A classifier scored with `compute_metrics_fn("regression")` got "32 predictions for 16 targets"."""
    logits = np.zeros((16, 2))
    with pytest.raises(ValueError, match=r"2 columns per example.*compute_metrics_fn\('classification'\)"):
        compute_metrics_fn("regression")(EvalPrediction(predictions=logits, label_ids=np.zeros(16)))
    # `batch_eval_metrics=True` (one batch at a time) gives the whole set's metrics
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    rows = aligned.remove_columns("target")
    scores = []
    for batched in (False, True):
        arguments = _arguments(tmp_path, per_device_eval_batch_size=4, batch_eval_metrics=batched)
        trainer = Trainer(
            model=model,
            args=arguments,
            processing_class=_extractor(model),
            compute_metrics=compute_metrics_fn("classification"),
        )
        scores.append({k: v for k, v in trainer.evaluate(rows).items() if k in ("eval_accuracy", "eval_auroc")})
    assert scores[0] == pytest.approx(scores[1]) and len(scores[0]) == 2


# -------------------------------------------------------------------------------------------------- fusion


def _fusion(num_labels: int = 2) -> CiTrusFusionForSequenceClassification:
    encoders = {name: CiTrusModel(tiny_config()) for name in ("ecg", "eeg")}
    return CiTrusFusionForSequenceClassification.from_encoders(encoders, num_labels=num_labels)


@pytest.mark.parametrize("task_type", [None, "SEQ_CLS"])
def test_a_fusion_models_adapter_is_named_as_one(tmp_path, task_type):
    """`load_adapter` (and the pipeline through it) said the adapter saved no head in full and suggested a
    single-modality class, which cannot hold it."""
    from peft import LoraConfig, get_peft_model

    from citrus_hf.training.lora import load_adapter

    _fusion().save_pretrained(tmp_path / "fusion")
    base = CiTrusFusionForSequenceClassification.from_pretrained(tmp_path / "fusion")
    lora = LoraConfig(r=2, target_modules=["q_proj", "v_proj"], modules_to_save=["classifier"], task_type=task_type)
    get_peft_model(base, lora).save_pretrained(tmp_path / "adapter")
    expected = r"trained on a CiTrus fusion model.*PeftModel\.from_pretrained\(CiTrusFusionForSequenceClassification"
    with pytest.raises(TypeError, match=expected):
        load_adapter(None, tmp_path / "adapter")
    with pytest.raises(TypeError, match=expected):
        load_adapter(CiTrusFusionForSequenceClassification.from_pretrained(tmp_path / "fusion"), tmp_path / "adapter")


def test_a_pushed_fusion_model_carries_the_processor_its_card_loads(tmp_path, monkeypatch):
    """`from_encoders(...).push_to_hub(...)` (the README's flow, no processor saved) uploaded no
    processor_config.json while the card said it was there and loaded it; the card did not say that the
    `pipeline_tag` names no pipeline a fusion model runs."""
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor
    from citrus_hf.publishing import push

    model = _fusion()
    card = str(build_model_card(model, repo_id="me/fusion"))
    assert "published without its processor (processor_config.json, which the fusion pipeline reads)" in card
    assert "No processor was published" in card and "CiTrusFusionProcessor.from_config(model.config)" in card

    published = tmp_path / "published"

    def publish(repo_id, write, check, **options):
        published.mkdir()
        write(published)
        check(published)

    monkeypatch.setattr(push, "_publish_folder", publish)
    monkeypatch.setattr(push, "_existing_card", lambda *args: None)  # no Hub here: the repository has no card yet
    monkeypatch.setattr(push, "_branch_head", lambda *args: None)  # nor a commit to push onto
    model.push_to_hub("me/fusion")
    processor = CiTrusFusionProcessor.from_pretrained(published)
    processor.check_model(model)
    pushed_card = (published / "README.md").read_text()
    assert "The processor saved with\nthe model (`processor_config.json`" in pushed_card
    assert 'CiTrusFusionProcessor.from_pretrained("me/fusion")' in pushed_card
    assert 'pipe = transformers.pipeline(model="me/fusion")' in pushed_card  # the fusion pipeline, which reads it


def test_the_trainer_publishes_the_models_extractor_when_it_had_none(tmp_path):
    """`Trainer.push_to_hub` uploads the output folder: without a `processing_class` it held no extractor while the
    card's usage code loaded one."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    trainer = Trainer(model=model, args=_arguments(tmp_path))
    trainer.create_model_card()
    assert CiTrusFeatureExtractor.from_pretrained(tmp_path / "out").sampling_rate == RATE
    assert 'CiTrusFeatureExtractor.from_pretrained("' in (tmp_path / "out" / "README.md").read_text()


def test_a_fusion_trainer_batches_its_rows_without_a_collator_given(tmp_path):
    """transformers' default collator failed inside torch ("Could not infer dtype of dict") on rows holding one
    array per modality; the registration gives the fusion collator (`trainer_data_collator`)."""
    from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator, CiTrusFusionProcessor

    model = _fusion()
    processor = CiTrusFusionProcessor.from_config(model.config)
    rng = np.random.default_rng(0)
    recordings = {name: rng.standard_normal((4, 1, 200)) for name in ("ecg", "eeg")}
    columns = processor(recordings, sampling_rate=RATE, return_tensors="np").to_columns()
    rows = Dataset.from_dict({**columns, "label": [0, 1, 0, 1]})
    arguments = _arguments(tmp_path, per_device_train_batch_size=4)
    trainer = Trainer(model=model, args=arguments, train_dataset=rows, processing_class=processor)
    assert isinstance(trainer.data_collator, CiTrusFusionDataCollator)
    assert trainer.train().global_step == 1
