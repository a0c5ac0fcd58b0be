"""Audit 70, peft round two (habits from peft's issue tracker on CiTrus adapters): a second adapter loaded with
peft's `load_adapter(folder, adapter_name=...)` and made active with `set_adapter` ran its own head, but the model
kept the first adapter's class names (one `config.id2label` for the whole model), so `pipeline(model=peft_model)`
and a merged model named the second adapter's outputs by the first's classes without a word.

Tiny random models on the CPU: a few seconds each."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora, load_adapter, merge_adapter, save_adapter

ACTIVITIES, ANIMALS = ["walk", "run", "sit"], ["cat", "dog", "cow"]


def _adapters(tmp_path):
    """Two adapters on one saved base, trained (drawn) for two tasks of three classes with other names."""
    config = tiny_config(num_labels=3)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "base")
    extractor = CiTrusFeatureExtractor.from_config(config)
    for name, labels, seed in (("a", ACTIVITIES, 1), ("b", ANIMALS, 2)):
        torch.manual_seed(seed)
        model = CiTrusForSequenceClassification.from_pretrained(
            tmp_path / "base", id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)}
        )
        peft_model = apply_lora(model, r=2, verbose=False)
        with torch.no_grad():
            for parameter_name, parameter in peft_model.named_parameters():
                if "lora_B" in parameter_name or "modules_to_save" in parameter_name:
                    parameter.add_(torch.randn_like(parameter) * 0.5)
        save_adapter(peft_model, tmp_path / name, extractor)
    return extractor


def test_set_adapter_switches_the_class_names_with_the_head(tmp_path):
    extractor = _adapters(tmp_path)
    window = np.random.default_rng(0).standard_normal(200)
    alone = pipeline(model=str(tmp_path / "b"), backend="torch")(window, sampling_rate=100, top_k=None)
    peft_model = load_adapter(None, tmp_path / "a")
    peft_model.load_adapter(str(tmp_path / "b"), adapter_name="b")
    assert list(peft_model.config.id2label.values()) == ACTIVITIES  # loading does not switch
    peft_model.set_adapter("b")
    assert peft_model.config.id2label == dict(enumerate(ANIMALS))
    assert peft_model.config.label2id == {label: i for i, label in enumerate(ANIMALS)}
    served = pipeline("time-series-classification", model=peft_model, feature_extractor=extractor, backend="torch")
    together = served(window, sampling_rate=100, top_k=None)
    assert together["label"] == alone["label"] and together["label"] in ANIMALS
    assert merge_adapter(copy.deepcopy(peft_model)).config.id2label == dict(enumerate(ANIMALS))
    peft_model.set_adapter("default")  # and back
    assert list(peft_model.config.id2label.values()) == ACTIVITIES


def test_an_adapter_without_a_task_config_keeps_the_models_names(tmp_path):
    """peft's own save (no citrus_task_config.json) says nothing of classes: the model's names stay."""
    _adapters(tmp_path)
    (tmp_path / "b" / "citrus_task_config.json").unlink()
    peft_model = load_adapter(None, tmp_path / "a")
    peft_model.load_adapter(str(tmp_path / "b"), adapter_name="b")
    peft_model.set_adapter("b")
    assert list(peft_model.config.id2label.values()) == ACTIVITIES


def test_a_folder_of_several_adapters_keeps_each_ones_class_names(tmp_path):
    """The Trainer's save of a model with several adapters (`save_trainer_adapters` after peft's `save_pretrained`)
    wrote the active adapter's classes beside every adapter."""
    from citrus_hf.training.lora import save_trainer_adapters

    _adapters(tmp_path)
    peft_model = load_adapter(None, tmp_path / "a")
    peft_model.load_adapter(str(tmp_path / "b"), adapter_name="b")
    peft_model.set_adapter("b")
    peft_model.save_pretrained(tmp_path / "both")
    save_trainer_adapters(peft_model, tmp_path / "both", announce=False)
    for folder, labels in ((tmp_path / "both", ACTIVITIES), (tmp_path / "both" / "b", ANIMALS)):
        saved = json.loads((folder / "citrus_task_config.json").read_text())
        assert list(saved["id2label"].values()) == labels and sorted(saved["label2id"]) == sorted(labels)


def test_an_adapter_loaded_under_a_taken_name_with_other_settings_is_refused(tmp_path):
    """peft's `load_adapter(folder, adapter_name=<a name on the model>)` kept the first adapter's settings (its
    `lora_alpha` scaling) and took the new one's weights: outputs of neither adapter, without a word."""
    _adapters(tmp_path)
    torch.manual_seed(3)
    other = apply_lora(CiTrusForSequenceClassification.from_pretrained(tmp_path / "base"), r=2, alpha=2, verbose=False)
    save_adapter(other, tmp_path / "c", CiTrusFeatureExtractor.from_config(other.config))
    peft_model = load_adapter(None, tmp_path / "a")
    with pytest.raises(ValueError, match=r"'default' is already on this model with other settings \(lora_alpha"):
        peft_model.load_adapter(str(tmp_path / "c"), adapter_name="default")
    peft_model.load_adapter(str(tmp_path / "b"), adapter_name="default")  # the same settings: new weights, allowed
    peft_model.load_adapter(str(tmp_path / "c"), adapter_name="c")  # a new name
    assert peft_model.peft_config["c"].lora_alpha == 2


def test_a_module_name_given_as_one_string_is_told_to_be_a_list():
    """peft reads a string `target_modules` as one regular expression over full names, so `target_modules="q_proj"`
    matches nothing; the error then advised passing "their last part (`'q_proj'`)", which is what was passed."""
    advice = "a list, ['q_proj'], or an expression such as r'.*\\.q_proj'"
    with pytest.raises(ValueError, match=r"a string is one regular expression .*" + re.escape(advice)):
        apply_lora(CiTrusForSequenceClassification(tiny_config()), target_modules="q_proj", verbose=False)
    with pytest.raises(ValueError, match=r"'all-linear' is peft's shortcut, which apply_lora does not take"):
        apply_lora(CiTrusForSequenceClassification(tiny_config()), target_modules="all-linear", verbose=False)
