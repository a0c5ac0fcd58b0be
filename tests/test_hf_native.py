"""CiTrus used the Hugging Face way, by habit: a pre-training checkpoint fine-tunes on any channel count through the
Auto classes, regressors have their own Auto class and remote code, a checkpoint loads only into its own task,
loading says in one line which head is new, `AutoProcessor` asks nothing, and model cards tell the truth about the
run (its own records, only this model's evaluation rows, the problem's metrics, a known license, a pipeline tag).
"""

from __future__ import annotations

import json
import logging
import os
import textwrap
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from citrus_runs import finetune_har, pretrain_tiny, protocol_runs
from hub_server import run_client
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from tiny_configs import tiny_config
from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoProcessor,
    PatchTSTConfig,
    PatchTSTForRegression,
    Trainer,
    TrainingArguments,
)

import citrus_hf
from citrus_hf import (
    AutoModelForTimeSeriesRegression,
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
    build_model_card,
)
from citrus_hf.data.splits import load_split
from citrus_hf.evaluation import write_report
from citrus_hf.loading import load_pretrained
from citrus_hf.publishing.runs import read_run_records
from citrus_hf.training.recipes import RECIPES


@contextmanager
def transformers_log():
    """The records of transformers' loggers (they do not propagate to the root logger pytest captures)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 1-channel pre-training run on real EEG and a 6-channel BasicMotions fine-tuning run started from it."""
    root = tmp_path_factory.mktemp("runs")
    pretrained = pretrain_tiny(root / "pre")
    return {"pretrained": pretrained, "finetuned": finetune_har(root / "har", pretrained)}


def _basic_motions(split: str) -> tuple[np.ndarray, np.ndarray]:
    rows = load_split("basic_motions", split).with_format("numpy")
    return np.stack(rows["input_values"]).astype(np.float32), np.asarray(rows["label"])


# ---------------------------------------------------------------------------------------- channels and tasks


def test_pretraining_checkpoint_fine_tunes_and_predicts_on_six_channels_through_auto_classes(runs, tmp_path, caplog):
    """The issue's route: `AutoModelForSequenceClassification.from_pretrained(ckpt, num_labels=4, num_channels=6)` and
    `AutoFeatureExtractor.from_pretrained(ckpt)` on real 6-channel HAR recordings, a few Trainer steps, then
    predictions on the test recordings through the Auto classes."""
    checkpoint = runs["pretrained"]
    saved_extractor = json.loads((checkpoint / "preprocessor_config.json").read_text())
    assert saved_extractor["num_channels"] == 1 and saved_extractor["channel_independent"] is True
    # ... which is what the pre-training card promises
    card = str(build_model_card(CiTrusForPretraining.from_pretrained(checkpoint), repo_id="me/citrus-eeg"))
    assert "any channel count works" in card

    train_x, train_y = _basic_motions("train")
    test_x, test_y = _basic_motions("test")
    assert train_x.shape == (40, 6, 100) and test_x.shape == (40, 6, 100)
    extractor = AutoFeatureExtractor.from_pretrained(checkpoint)
    assert isinstance(extractor, CiTrusFeatureExtractor)
    train = extractor(train_x, sampling_rate=10, return_tensors="pt")
    assert train["input_values"].shape == (40, 6, 100)

    caplog.set_level(logging.WARNING)
    with transformers_log() as records:
        model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=4, num_channels=6)
    assert isinstance(model, CiTrusForSequenceClassification) and model.config.num_channels == 6
    assert not any("LOAD REPORT" in r.getMessage() for r in records)  # transformers' table is replaced ...
    new_head = [r.getMessage() for r in caplog.records if "new, untrained head" in r.getMessage()]
    assert len(new_head) == 1 and "classifier" in new_head[0] and "CiTrusForPretraining" in new_head[0]
    pretrained = load_file(checkpoint / "model.safetensors")
    state = model.state_dict()
    encoder = [name for name in pretrained if name.startswith("citrus.")]
    assert encoder and all(torch.equal(state[name], pretrained[name]) for name in encoder)

    dataset = [
        {"input_values": x, "patch_mask": m, "labels": torch.tensor(int(y))}
        for x, m, y in zip(train["input_values"], train["patch_mask"], train_y)
    ]
    arguments = TrainingArguments(
        output_dir=str(tmp_path / "trainer"),
        max_steps=60,
        per_device_train_batch_size=8,
        learning_rate=5e-3,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=0,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=arguments, train_dataset=dataset)
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 60 and np.mean(losses[-5:]) < 0.75 * np.mean(losses[:5]), losses

    model.save_pretrained(tmp_path / "har")
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(tmp_path / "har")
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "har").eval()
    har_extractor = AutoFeatureExtractor.from_pretrained(tmp_path / "har")
    test = har_extractor(test_x, sampling_rate=10, return_tensors="pt")
    with torch.no_grad():
        predictions = reloaded(**test).logits.argmax(-1).numpy()
        expected = model.eval()(**test).logits.argmax(-1).numpy()
    np.testing.assert_array_equal(predictions, expected)
    # 4 balanced classes (chance 25 %), 40 test recordings of other sessions: measured 82.5 % after 60 steps
    assert (predictions == test_y).mean() >= 0.6, (predictions == test_y).mean()
    # the fine-tuned head concatenates 6 channels: its extractor keeps that check
    assert har_extractor.channel_independent is False
    with pytest.raises(ValueError, match="head concatenates"):
        har_extractor(test_x[:, :3], sampling_rate=10)


def test_per_channel_settings_of_the_checkpoint_give_way_to_a_new_channel_count(tmp_path):
    named = tiny_config(channel_names=["Fpz-Cz"], channel_modalities=["eeg"], mask_mode="per_modality")
    CiTrusForPretraining(named).save_pretrained(tmp_path / "named")
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "named", num_labels=2, num_channels=3)
    assert model.config.channel_names is None and model.config.channel_modalities is None
    assert model.config.mask_mode == "per_channel"
    model.save_pretrained(tmp_path / "task")  # the saved config is valid again
    assert CiTrusForSequenceClassification.from_pretrained(tmp_path / "task").config.num_channels == 3
    fixed = tiny_config(normalization="fixed", normalization_mean=[0.5], normalization_std=[2.0])
    CiTrusForPretraining(fixed).save_pretrained(tmp_path / "fixed")
    with pytest.raises(ValueError, match="fixed statistics of its 1 channel"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "fixed", num_labels=2, num_channels=3)
    zscored = CiTrusForSequenceClassification.from_pretrained(
        tmp_path / "fixed", num_labels=2, num_channels=3, normalization="zscore"
    )
    assert zscored.config.normalization == "zscore"


def test_overriding_the_checkpoints_sampling_rate_warns(tmp_path, caplog):
    """`from_pretrained(checkpoint, sampling_rate=250)` builds a model whose encoder sees another rate than it learnt
    at: allowed, with a warning naming the usual fix (let the extractor resample)."""
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "encoder")
    caplog.set_level(logging.WARNING)
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=3, sampling_rate=250)
    assert model.config.sampling_rate == 250
    warnings = [r.getMessage() for r in caplog.records if "sampling_rate=250" in r.getMessage()]
    assert len(warnings) == 1 and "100 Hz the checkpoint was trained at" in warnings[0]
    assert "leave sampling_rate out" in warnings[0]
    caplog.clear()
    CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=3, sampling_rate=100)
    assert not any("sampling_rate=" in r.getMessage() for r in caplog.records)


def test_input_longer_than_the_context_says_how_to_cover_it(caplog):
    """A whole recording passed as one window runs (sinusoidal positions), and says so once: its one output
    summarises a span the model never saw."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    caplog.set_level(logging.WARNING)
    with torch.no_grad():
        assert model(torch.randn(1, 1, 7 * 200)).logits.shape == (1, 3)
        model(torch.randn(1, 1, 7 * 200))
        model(torch.randn(1, 1, 200))  # the context itself: nothing to say
    warnings = [r.getMessage() for r in caplog.records if "this checkpoint's context" in r.getMessage()]
    assert len(warnings) == 1 and "1400 samples, 7x this checkpoint's context of 200" in warnings[0]
    assert "alignment='window'" in warnings[0]


def test_the_trainer_evaluates_the_pretraining_loss(tmp_path):
    """Without labels the Trainer computes an evaluation loss only for a model whose forward takes `return_loss`
    (it read none for CiTrusForPretraining: no eval_loss, and load_best_model_at_end then failed)."""
    import datasets
    from transformers import Trainer, TrainingArguments

    windows = np.random.default_rng(0).standard_normal((16, 1, 200)).astype(np.float32)  # the contract's shape
    rows = datasets.Dataset.from_dict({"input_values": windows}).with_format("torch")
    arguments = TrainingArguments(
        str(tmp_path), max_steps=2, per_device_train_batch_size=8, report_to="none", use_cpu=True,
        eval_strategy="steps", eval_steps=1, save_strategy="steps", save_steps=1, load_best_model_at_end=True,
    )  # fmt: skip
    trainer = Trainer(model=CiTrusForPretraining(tiny_config()), args=arguments, train_dataset=rows, eval_dataset=rows)
    trainer.train()
    assert np.isfinite(trainer.evaluate()["eval_loss"])


def test_a_task_checkpoint_loads_only_into_its_own_task_class(tmp_path, caplog):
    CiTrusForRegression(tiny_config()).save_pretrained(tmp_path / "regressor")
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path / "classifier")
    with pytest.raises(ValueError, match=r"CiTrusForRegression checkpoint.*AutoModelForTimeSeriesRegression"):
        AutoModelForSequenceClassification.from_pretrained(tmp_path / "regressor")
    with pytest.raises(ValueError, match=r"CiTrusForSequenceClassification checkpoint.*trained `classifier` head"):
        CiTrusForRegression.from_pretrained(tmp_path / "classifier")
    # on purpose: a new head on the encoder
    regressor = CiTrusForRegression.from_pretrained(tmp_path / "classifier", replace_head=True)
    saved = load_file(tmp_path / "classifier" / "model.safetensors")
    encoder = {k: v for k, v in saved.items() if k.startswith("citrus.")}
    assert encoder and all(torch.equal(regressor.state_dict()[k], v) for k, v in encoder.items())
    # any task checkpoint still gives its encoder, saying what it leaves out
    caplog.set_level(logging.WARNING)
    assert isinstance(AutoModel.from_pretrained(tmp_path / "classifier"), CiTrusModel)
    assert any("not used: the checkpoint's classifier" in r.getMessage() for r in caplog.records)


def test_real_loading_problems_stay_loud(tmp_path):
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path)
    with transformers_log() as records:
        model = CiTrusForSequenceClassification.from_pretrained(tmp_path, num_labels=5, ignore_mismatched_sizes=True)
    assert model.classifier.out_features == 5
    assert any("LOAD REPORT" in r.getMessage() and "mismatch" in r.getMessage() for r in records)
    with transformers_log() as records, pytest.raises(ValueError, match=r"\(5, 16\) here.*ignore_mismatched_sizes"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    # the error names every tensor and both shapes: transformers' table ahead of it would only say it twice
    assert not any("LOAD REPORT" in r.getMessage() for r in records)


def test_a_config_lookup_that_never_reached_the_hub_looks_for_an_adapter_in_the_cache_only(tmp_path, monkeypatch):
    """Without a network, `CiTrusModel.from_pretrained("owner/name")` failed its config lookup after
    huggingface_hub's retries (23 s), then asked the Hub for an adapter_config.json, retried as long, before the same
    error: 53 s, against 26 s for transformers' own models. After a lookup that found the file neither in the cache
    nor on the Hub without the Hub answering (offline here), the adapter is looked for in the cache only; after a
    failure of another kind, as the call asked."""
    import huggingface_hub
    from transformers.utils import cached_file

    from citrus_hf import CiTrusModel, modeling_citrus
    from citrus_hf.configuration_citrus import lookup_never_reached_the_hub

    asked = []
    looked_up = modeling_citrus._adapter_settings
    monkeypatch.setattr(
        modeling_citrus, "_adapter_settings", lambda name, kwargs: asked.append(kwargs) or looked_up(name, kwargs)
    )
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OSError, match="^The Hub cache holds no config.json of 'someone/citrus-absent'") as raised:
        CiTrusModel.from_pretrained("someone/citrus-absent", cache_dir=str(tmp_path))
    assert lookup_never_reached_the_hub(raised.value)
    assert [kwargs.get("local_files_only") for kwargs in asked] == [True]
    with pytest.raises(OSError) as missed:
        cached_file("someone/citrus-absent", "config.json", cache_dir=str(tmp_path))
    assert lookup_never_reached_the_hub(missed.value)
    assert not lookup_never_reached_the_hub(OSError("permission denied"))


def test_an_extractor_lookup_on_a_hub_that_does_not_answer_says_so_without_a_retried_request(tmp_path, monkeypatch):
    """After transformers' lookups of an extractor's files fail, the extractor looks for a fusion checkpoint's
    config.json to name the route that reads it; with nothing answering at the endpoint that third lookup waited out
    huggingface_hub's retries (23 s), and the error was transformers' "make sure ... is the correct path to a
    directory containing a preprocessor_config.json file", which says nothing of the network. Now the cache is read,
    then the Hub asked once, and the message names the network and the fix."""
    import time

    import huggingface_hub.constants
    import transformers.utils.hub

    from citrus_hf.feature_extraction_citrus import extractor_lookup_hint

    class Retried(BaseException):  # not an Exception: the lookup's own `except Exception` must not swallow it
        pass

    def no_back_off(seconds):
        raise Retried(f"a Hub request was retried after {seconds} s")

    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(transformers.utils.hub, "_hf_api", None)  # built again, for this endpoint
    monkeypatch.setattr(time, "sleep", no_back_off)
    hint = extractor_lookup_hint("someone/citrus-absent", {"cache_dir": str(tmp_path)})
    assert "the Hub did not answer. Check the network connection (and HF_ENDPOINT / HF_HUB_OFFLINE)" in hint
    # offline (either way) the Hub is never asked: the cache holds nothing of the repository (audit 76)
    uncached = "The Hub cache holds no preprocessor_config.json of 'someone/citrus-absent', and offline mode is on"
    offline = {"cache_dir": str(tmp_path), "local_files_only": True}
    assert extractor_lookup_hint("someone/citrus-absent", offline).startswith(uncached)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert extractor_lookup_hint("someone/citrus-absent", {"cache_dir": str(tmp_path)}).startswith(uncached)


def test_regression_round_trip_through_its_auto_class(tmp_path):
    assert citrus_hf.AutoModelForTimeSeriesRegression is AutoModelForTimeSeriesRegression
    model = CiTrusForRegression(tiny_config(num_targets=2)).eval()
    model.save_pretrained(tmp_path)
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert auto_map["AutoModelForTimeSeriesRegression"] == "modeling_citrus.CiTrusForRegression"
    loaded = AutoModelForTimeSeriesRegression.from_pretrained(tmp_path).eval()
    assert type(loaded) is CiTrusForRegression
    x = torch.randn(3, 1, 200)
    torch.testing.assert_close(loaded(x).logits, model(x).logits, rtol=0, atol=1e-6)
    # the Auto class is transformers' time-series regression mapping: PatchTST's regressor loads through it too
    patchtst = PatchTSTForRegression(PatchTSTConfig(num_input_channels=2, context_length=32, patch_length=8))
    patchtst.save_pretrained(tmp_path / "patchtst")
    assert type(AutoModelForTimeSeriesRegression.from_pretrained(tmp_path / "patchtst")) is PatchTSTForRegression


def test_regression_round_trip_through_remote_code(tmp_path):
    model = CiTrusForRegression(tiny_config()).eval()
    model.save_pretrained(tmp_path / "checkpoint")
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(tmp_path / "checkpoint")
    x = torch.randn(2, 1, 200)
    torch.save({"x": x, "logits": model(x).logits.detach()}, tmp_path / "expected.pt")
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["citrus_hf"] = None  # importing citrus_hf now fails: only the checkpoint's own code can help
        import torch
        from transformers import AutoConfig, AutoFeatureExtractor
        from transformers.dynamic_module_utils import get_class_from_dynamic_module
        path = {str(tmp_path / "checkpoint")!r}
        config = AutoConfig.from_pretrained(path, trust_remote_code=True)
        model_class = get_class_from_dynamic_module(config.auto_map["AutoModelForTimeSeriesRegression"], path)
        model = model_class.from_pretrained(path).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        assert type(AutoFeatureExtractor.from_pretrained(path, trust_remote_code=True)).__module__.startswith(
            "transformers_modules")
        expected = torch.load({str(tmp_path / "expected.pt")!r})
        torch.testing.assert_close(model(expected["x"]).logits, expected["logits"], rtol=0, atol=1e-6)
        print("remote-code-ok")
        """
    )
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    assert "remote-code-ok" in run_client(script, env, cwd=tmp_path).stdout
    # and through this package, asked to run the checkpoint's code
    remote = load_pretrained(tmp_path / "checkpoint", task="regression", trust_remote_code=True)
    assert type(remote).__module__.startswith("transformers_modules")
    torch.testing.assert_close(remote(x).logits, model(x).logits, rtol=0, atol=1e-6)


def test_auto_processor_of_a_single_modality_folder_is_its_feature_extractor(tmp_path):
    """No `[y/N]` question (pytest's captured stdin would raise if transformers asked one)."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(tmp_path)
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(processor, CiTrusFeatureExtractor)
    assert processor.to_dict() == CiTrusFeatureExtractor.from_pretrained(tmp_path).to_dict()
    assert isinstance(AutoConfig.from_pretrained(tmp_path), citrus_hf.CiTrusConfig)


# ------------------------------------------------------------------------------------------------ model cards


def test_card_names_the_corpus_a_saved_folder_held():
    """A run on a folder `citrus data build --output` saved: the card names the registered corpus and its options
    (the folder's note), not the folder's local path."""
    from citrus_hf.publishing.runs import pretraining_facts

    built = {"dataset": "pretrain_corpus", "dataset_options": {"min_rate": 20.0}, "builder_version": "2.0.0"}
    summary = {"arguments": {"dataset": "/home/me/corpus", "dataset_options": {}}, "dataset_built_from": built}
    corpus = pretraining_facts(summary)["corpus"]
    assert corpus == "pretrain_corpus (min_rate=20.0), read from a folder `citrus data build --output` saved"
    assert pretraining_facts({"arguments": {"dataset": "eeg_pretrain"}})["corpus"] == "eeg_pretrain"
    with pytest.raises(ValueError, match="dataset_built_from must name the registered set"):  # a hand edit
        pretraining_facts({"arguments": {"dataset": "/home/me/corpus"}, "dataset_built_from": {"dataset": 3}})


def test_card_reads_the_runs_own_records(runs):
    folder = runs["finetuned"]
    results = json.loads((folder / "finetune_results.json").read_text())
    model = CiTrusForSequenceClassification.from_pretrained(folder)
    card = build_model_card(model, CiTrusFeatureExtractor.from_pretrained(folder), repo_id="me/har", run_dir=folder)
    text = str(card)
    assert card.data.pipeline_tag == "time-series-classification"
    # pre-training facts come from the checkpoint the run started from
    assert "| Corpus | eeg_pretrain (window_seconds=10.0, hop_seconds=10.0) |" in text
    assert "| Optimizer steps | 2 |" in text
    assert "not recorded" not in text
    assert (
        "| Label budget | 2 (8 labelled windows) |" in text
        and "| Method | finetune: full fine-tuning with the Trainer" in text
    )
    entries = {(e.dataset_name, e.metric_type): e for e in ModelCard(text).data.eval_results}
    assert set(entries) == {("basic_motions", m) for m in ("accuracy", "balanced_accuracy", "macro_f1", "auroc")}
    assert entries["basic_motions", "accuracy"].metric_value == pytest.approx(results["test_metrics"]["accuracy"])
    assert all(e.task_type == "time-series-classification" for e in entries.values())


def test_card_names_the_recipe_that_fitted_the_model(runs, tmp_path):
    fine_tuned = read_run_records(runs["finetuned"]).hyperparameters
    assert fine_tuned["Method"] == f"finetune: {RECIPES['finetune'].description}"
    assert fine_tuned["Training length"] == "6 steps"
    assert fine_tuned["Learning rate"] == 1e-3
    folder = finetune_har(tmp_path / "probe", runs["pretrained"], recipe="probe")
    alpha = json.loads((folder / "finetune_results.json").read_text())["recipe_details"]["ridge_alpha"]
    probe = read_run_records(folder).hyperparameters
    assert probe["Method"] == f"probe: {RECIPES['probe'].description}; ridge penalty {alpha:g}"
    # closed form: no optimizer settings or steps that did not happen
    assert not {"Learning rate", "Training length", "Steps trained (best step)", "Early stopping"} & set(probe)
    assert probe["Label budget"] == "2 (8 labelled windows)"
    # LP-FT (the default from 20 labels per class) was carded as "full fine-tuning"
    folder = finetune_har(tmp_path / "lpft", runs["pretrained"], steps=2, recipe="probe-finetune")
    lpft = read_run_records(folder).hyperparameters
    assert lpft["Method"].startswith(f"probe-finetune: {RECIPES['probe-finetune'].description}; ridge penalty ")
    assert lpft["Training length"] == "2 steps"


def test_eval_results_keep_only_this_models_dataset_and_budget(tmp_path):
    results = write_report(protocol_runs(4), tmp_path)["json"]
    model = CiTrusForSequenceClassification(tiny_config(num_labels=4))
    card = build_model_card(
        model, repo_id="me/har", eval_results=results, model_arm="citrus-time", dataset_name="basic_motions",
        label_budget=4,
    )  # fmt: skip
    text = str(card)
    entries = ModelCard(text).data.eval_results
    assert {(e.dataset_name, e.metric_type) for e in entries} == {
        ("basic_motions", m) for m in ("accuracy", "balanced_accuracy", "macro_f1", "auroc")
    }
    accuracy = next(e for e in entries if e.metric_type == "accuracy")
    assert accuracy.metric_value == pytest.approx(0.61) and "4 labelled examples" in accuracy.metric_name
    # every other row stays in the table, labelled for what it is
    assert "| basic_motions | test | same recipe, another run (citrus-time) | accuracy | 40 | 3 |" in text
    assert "| hr_ecg | test | same recipe, another run (citrus-time) | mae | 10 | 3 |" in text
    assert "| basic_motions | test | baseline: citrus-scratch | accuracy | 4 | 3 |" in text
    assert "mae" not in json.dumps(card.data.to_dict()["model-index"])
    with pytest.raises(
        ValueError, match=r"several datasets / label budgets \(basic_motions with 4 labelled examples, "
    ):
        build_model_card(model, eval_results=results, model_arm="citrus-time", dataset_name="basic_motions")
    with pytest.raises(ValueError, match="None of the evaluation results of arm 'citrus-time'"):
        build_model_card(model, eval_results=results, model_arm="citrus-time", dataset_name="epilepsy")


def test_metrics_of_the_other_problem_are_never_this_models(tmp_path):
    heart_rate = [{"dataset": "hr_ecg", "metric": "mae", "value": 4.2, "label_budget": 10}]
    with pytest.raises(ValueError, match="'mae' on 'hr_ecg' is a regression metric"):
        build_model_card(CiTrusForSequenceClassification(tiny_config(num_labels=2)), eval_results=heart_rate)
    regressor_card = build_model_card(CiTrusForRegression(tiny_config()), eval_results=heart_rate)
    (entry,) = ModelCard(str(regressor_card)).data.eval_results
    assert entry.task_type == "time-series-regression" and entry.metric_type == "mae"
    assert regressor_card.data.pipeline_tag == "time-series-regression"
    as_baseline = [heart_rate[0] | {"method": "HR"}]
    card = build_model_card(CiTrusForSequenceClassification(tiny_config(num_labels=2)), eval_results=as_baseline)
    assert "| hr_ecg |  | baseline: HR | mae | 10 |" in str(card) and not card.data.eval_results


def test_license_must_be_one_the_hub_knows():
    model = CiTrusModel(tiny_config())
    assert build_model_card(model, license="cc-by-nc-4.0").data.license == "cc-by-nc-4.0"
    assert build_model_card(model).data.pipeline_tag == "time-series-feature-extraction"
    with pytest.raises(ValueError, match="License 'apache2' is not a license id the Hub accepts"):
        build_model_card(model, license="apache2")


def test_trainer_card_is_the_citrus_card(runs, tmp_path):
    """`Trainer.create_model_card` (what `Trainer.push_to_hub` uploads) writes the CiTrus card for a CiTrus model."""
    model = CiTrusForSequenceClassification.from_pretrained(runs["pretrained"], num_labels=4, num_channels=6)
    extractor = CiTrusFeatureExtractor.from_config(model.config)
    arguments = TrainingArguments(output_dir=str(tmp_path), max_steps=1, report_to="none", learning_rate=2e-3)
    trainer = Trainer(model=model, args=arguments, processing_class=extractor)
    trainer.state.log_history.append({"eval_loss": 1.0, "eval_accuracy": 0.75, "step": 1})
    trainer.create_model_card(model_name="har", license="mit", tags=["har"], dataset="basic_motions")
    card = ModelCard.load(tmp_path / "README.md")
    text = str(card)
    assert card.data.license == "mit" and card.data.pipeline_tag == "time-series-classification"
    assert {"citrus", "har", "time-series-classification"} <= set(card.data.tags)
    assert "## Input contract" in text and "| Learning rate | 0.002 |" in text
    assert "| Corpus | eeg_pretrain (window_seconds=10.0, hop_seconds=10.0) |" in text
    assert [(e.dataset_name, e.metric_type, e.metric_value) for e in card.data.eval_results] == [
        ("basic_motions", "accuracy", 0.75)
    ]
