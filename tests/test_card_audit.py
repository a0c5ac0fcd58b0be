"""Model and dataset cards that tell the truth (the publishing audit of session 59), checked without a Hub (the
pushes themselves are in tests/hub/test_hub_card_audit.py):

- a model is published with the results of the run folder it was loaded from only while it is that run's model (the
  class and every weight the run saved); an encoder taken out of a classifier, a new head or weights trained further
  keep the run's pre-training (how the encoder came to be), not its results or fine-tuning settings;
- rows kept from a repository's earlier card are of the new model's problem (no classification baselines in a
  regressor's card) and its recipe's other runs only on datasets the new card has results for;
- a pre-training run's held-out loss stands beside predicting the mean, and a run that did not learn says so;
- a dataset card gives the builder options the set was built with, not the registry's defaults;
- `Trainer.push_to_hub(dataset_tags=..., dataset=...)`: the tags are the Hub ids, the dataset the names shown;
- a LoRA adapter's card carries its run's test metrics, and a `Trainer` of a peft model writes the adapter's card.

The runs are real (BasicMotions, from the bundled citrus-small).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from citrus_runs import probe_har_with_baseline
from huggingface_hub import ModelCard
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification, CiTrusModel, build_model_card
from citrus_hf.publishing.cards import _kept_evaluation_rows
from citrus_hf.publishing.push import _records_describing, saved_weights_match
from citrus_hf.publishing.runs import pretraining_facts, read_run_records
from citrus_hf.vocabulary_citrus import REGRESSION


@pytest.fixture(scope="module")
def har(tmp_path_factory, har_probe_run):
    """A probe fitted from citrus-small on BasicMotions (its folder holds finetune_results.json), and protocol results
    with a MiniRocket baseline on the same set."""
    folder = tmp_path_factory.mktemp("card_audit")
    probe_har_with_baseline(folder / "har", folder / "ev", har_probe_run)
    return folder


def test_only_the_runs_own_model_is_published_with_its_results(har, caplog):
    folder = har / "har"
    unchanged = CiTrusForSequenceClassification.from_pretrained(folder)
    assert saved_weights_match(unchanged, folder) and _records_describing(unchanged, folder, {}) == folder
    changed = CiTrusForSequenceClassification.from_pretrained(folder)
    with torch.no_grad():
        changed.classifier.weight.zero_()  # as further training would change it
    encoder = CiTrusModel.from_pretrained(folder)
    for model in (changed, encoder):
        options: dict = {}
        with caplog.at_level("WARNING"):
            assert _records_describing(model, folder, options) is None
        assert "its card leaves out that run's results and fine-tuning settings" in caplog.text
        # what stays true of it: its encoder was pre-trained as the run's base was
        assert options["pretraining"] == read_run_records(folder).pretraining
        card = build_model_card(model, repo_id="me/x", **options)
        assert not card.data.eval_results and "Pre-training" in card.text
    assert read_run_records(folder).eval_records  # the run's own model keeps them
    assert build_model_card(unchanged, repo_id="me/x", run_dir=folder).data.eval_results


def test_rows_of_an_earlier_card_are_kept_only_where_they_describe_the_new_model(har, caplog):
    model = CiTrusForSequenceClassification.from_pretrained(har / "har")
    previous = build_model_card(
        model, repo_id="me/x", run_dir=har / "har", eval_results=har / "ev" / "results.json", model_arm="citrus-time"
    )
    with caplog.at_level("WARNING"):
        as_regressor = _kept_evaluation_rows(previous, [], "me/x", REGRESSION)
    assert "rows that do not describe the model now pushed" in caplog.text
    # a regressor pushed over the classifier keeps the regression baselines only (heart rate's), no accuracy
    assert as_regressor and {row["metric"] for row in as_regressor} <= {"mae", "rmse", "pearson_r"}
    as_classifier = _kept_evaluation_rows(previous, [], "me/x", "sequence-classification")
    assert as_classifier and {row["metric"] for row in as_classifier}.isdisjoint({"mae", "rmse", "pearson_r"})
    for kept in (as_regressor, as_classifier):  # the recipe's other runs: no results of the new card to stand beside
        assert {row["method"] for row in kept} == {"baseline: minirocket"}


def test_a_pre_training_run_that_did_not_learn_says_so():
    summary = {
        "arguments": {"dataset": "eeg_pretrain"},
        "eval_losses": [[100, 6.14]],
        "eval_baseline_losses": [[100, 0.94]],
    }
    facts = pretraining_facts(summary)
    assert facts["Held-out loss (last evaluation)"] == 6.14 and facts["Held-out loss of predicting the mean"] == 0.94
    assert "ended at the level of predicting the mean" in facts["Note"]
    learnt = pretraining_facts({**summary, "eval_losses": [[100, 0.69]], "learnt": True})
    assert "Note" not in learnt
    bundled = read_run_records("citrus-small").pretraining  # citrus-small's own run learnt: 0.689 against 0.963
    assert bundled["Held-out loss (last evaluation)"] < bundled["Held-out loss of predicting the mean"]


def test_a_dataset_card_gives_the_options_the_set_was_built_with():
    from citrus_hf.publishing.datasets import dataset_card

    card = dataset_card("hr_ecg", {"window_seconds": 5.0})
    assert '"window_seconds": 5.0' in card and "build_dataset('hr_ecg', window_seconds=5.0)" in card
    assert '"window_seconds": 10.0' in dataset_card("hr_ecg")  # the registry's default, when none was given


def _trainer(tmp_path, model, **arguments):
    from transformers import Trainer, TrainingArguments

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.data.splits import load_split
    from citrus_hf.training.metrics import compute_metrics_fn

    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=6))
    rows = load_split("basic_motions", "train").with_format("numpy").select(range(8))
    aligned = extractor(list(rows["input_values"]), sampling_rate=10, return_tensors="pt")
    data = [{"input_values": x, "patch_mask": m, "labels": int(y)} for x, m, y in zip(aligned["input_values"],
            aligned["patch_mask"], rows["label"])]  # fmt: skip
    args = TrainingArguments(
        str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=8, eval_strategy="steps", eval_steps=1,
        report_to="none", save_strategy="no", disable_tqdm=True, use_cpu=True, **arguments,
    )  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=data, eval_dataset=data, processing_class=extractor,
                      compute_metrics=compute_metrics_fn("classification"))  # fmt: skip
    trainer.train()
    return trainer


def test_a_trainer_card_files_dataset_tags_as_ids_and_the_dataset_as_its_name(tmp_path):
    from citrus_hf.publishing.cards import write_trainer_card

    model = CiTrusForSequenceClassification(tiny_config(num_channels=6, num_labels=4))
    trainer = _trainer(tmp_path, model)
    card = ModelCard.load(write_trainer_card(trainer, model, dataset_tags="me/basic-motions", dataset="BasicMotions"))
    assert card.data.datasets == ["me/basic-motions"]
    assert {(e.dataset_name, e.dataset_type) for e in card.data.eval_results} == {("BasicMotions", "me/basic-motions")}


def test_a_trainer_of_a_lora_model_writes_the_adapters_card(tmp_path):
    from citrus_hf.training.lora import apply_lora

    model = apply_lora(CiTrusForSequenceClassification(tiny_config(num_channels=6, num_labels=4)), verbose=False)
    trainer = _trainer(tmp_path, model, hub_model_id="me/har-lora")
    trainer.create_model_card(tags=["har"])
    card = ModelCard.load(tmp_path / "out" / "README.md")
    assert card.data.library_name == "peft" and "har" in card.data.tags and "lora" in card.data.tags
    assert "load_adapter(" in card.text and "CiTrus LoRA adapter me/har-lora" in card.text


def test_a_lora_runs_card_carries_its_test_metrics(tmp_path):
    from citrus_hf.publishing.cards import add_adapter_run_records
    from citrus_hf.training import FinetuneArguments, TrainerSettings, finetune
    from citrus_hf.training.lora import adapter_card, load_adapter

    finetune(
        FinetuneArguments(
            output_dir=str(tmp_path / "lora"), dataset="basic_motions", model="citrus-small", label_budget="2",
            lora=True, lora_r=2, trainer=TrainerSettings(max_steps=2, per_device_batch_size=8, show_progress=False),
        )
    )  # fmt: skip
    recorded = json.loads((tmp_path / "lora" / "finetune_results.json").read_text())["test_metrics"]
    adapter = load_adapter(None, tmp_path / "lora")
    card = adapter_card(adapter, "me/har-lora")
    add_adapter_run_records(card, adapter.get_base_model(), tmp_path / "lora", "me/har-lora")
    card = ModelCard(str(card))  # as the Hub stores it
    assert card.data.pipeline_tag == "time-series-classification" and card.data.library_name == "peft"
    metrics = {e.metric_type: e.metric_value for e in card.data.eval_results}
    assert metrics and all(np.isclose(metrics[name], recorded[name]) for name in metrics)
    assert "## Results" in card.text and "## Fine-tuning" in card.text and "basic_motions" in card.text


@pytest.fixture(autouse=True)
def _quiet_transformers_once():
    logging.Logger.warning_once.cache_clear()
