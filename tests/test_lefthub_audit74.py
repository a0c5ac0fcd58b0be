"""Audit 74, known Hub / peft leftovers mended (the local side; the Hub side is tests/hub/test_hub_lefthub_audit74.py):
an adapter trained on a base from a Hub repository's subfolder records that subfolder (its card's code names it);
peft's `merge_and_unload(adapter_names=[...])` of an adapter other than the active one, whose head it would have put
under that adapter's encoder, is refused with the fix; transformers' adapter methods that need a newer peft than the
one installed (set_adapter, save_pretrained of a model holding adapters, ...) say so in the package's words.

Tiny random models on the CPU: a few seconds each."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from peft import LoraConfig
from test_peft3_audit73 import WINDOWS, _trained
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter


def _from_hub_subfolder(model, cache_dir):
    """`model` as `from_pretrained("owner/two-checkpoints", subfolder="ecg")` records where it was read from."""
    model.config._name_or_path = model.name_or_path = "owner/two-checkpoints"
    model._hub_source = {"revision": "0" * 40, "cache_dir": str(cache_dir), "subfolder": "ecg"}
    return model


def test_an_adapter_on_a_base_from_a_hub_subfolder_records_the_subfolder(tmp_path, caplog):
    """peft's adapter_config.json names the base's repository alone, so an adapter trained on
    `from_pretrained("owner/two-checkpoints", subfolder="ecg")` was put on the checkpoint at the repository's root by
    `load_adapter(None, folder)`, the pipeline and the commands (saving it only warned). The subfolder is now recorded
    in its citrus_task_config.json (and taken off the config the base is built with), and the card's peft code loads
    the base from it; the Hub round trip is tests/hub/test_hub_lefthub_audit74.py."""
    model = _from_hub_subfolder(CiTrusForSequenceClassification(tiny_config(num_labels=2)), tmp_path)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.training.lora"):
        save_adapter(apply_lora(model, r=2, verbose=False), tmp_path / "adapter")
    assert "subfolder" not in caplog.text, caplog.text  # nothing left to warn of
    saved = json.loads((tmp_path / "adapter" / "citrus_task_config.json").read_text())
    assert saved["base_model_subfolder"] == "ecg"
    card = (tmp_path / "adapter" / "README.md").read_text()
    assert "from_pretrained('owner/two-checkpoints', subfolder='ecg', config=config)" in card, card
    assert "load_adapter('owner/two-checkpoints', " in card  # which reads the subfolder from the adapter


def test_an_adapter_recorded_on_another_base_records_no_subfolder(tmp_path):
    """An adapter recorded on a base of its own (`push_adapter(base_model=...)`, the base published apart) names no
    subfolder of the repository its model was loaded from: that subfolder is not the recorded base's."""
    model = _from_hub_subfolder(CiTrusForSequenceClassification(tiny_config(num_labels=2)), tmp_path)
    peft_model = apply_lora(model, r=2, verbose=False)
    peft_model.peft_config["default"].base_model_name_or_path = "owner/ecg-base"
    save_adapter(peft_model, tmp_path / "adapter")
    assert "base_model_subfolder" not in json.loads((tmp_path / "adapter" / "citrus_task_config.json").read_text())


def _two_headed(tmp_path):
    """A classifier with two trained adapters, "default" (active) and "b", each with its own head."""
    peft_model = apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=3)), r=2, verbose=False)
    targets = sorted(peft_model.peft_config["default"].target_modules)
    peft_model.add_adapter("b", LoraConfig(r=2, target_modules=targets, modules_to_save=["classifier"]))
    return _trained(peft_model).eval()


def test_merging_an_adapter_that_is_not_active_is_refused_with_the_fix(tmp_path):
    """peft's `merge_and_unload(adapter_names=["b"])` while "default" was active folded b's LoRA matrices into the
    weights and kept default's head: a model whose outputs were neither adapter's (logits 2.6 and 3.4 away from each),
    without a word. It is refused, naming `set_adapter`, after which the merge gives b's outputs."""
    peft_model = _two_headed(tmp_path)
    peft_model.set_adapter("b")
    with torch.no_grad():
        expected = peft_model(input_values=WINDOWS).logits
    peft_model.set_adapter("default")
    with pytest.raises(ValueError) as raised:
        peft_model.merge_and_unload(adapter_names=["b"])
    assert "set_adapter('b')" in str(raised.value) and "'default'" in str(raised.value), raised.value
    peft_model.set_adapter("b")
    with torch.no_grad():
        merged = peft_model.merge_and_unload(adapter_names=["b"])(input_values=WINDOWS).logits
    torch.testing.assert_close(merged, expected, atol=1e-5, rtol=1e-5)


def test_merging_two_adapters_that_each_hold_a_head_is_refused(tmp_path):
    """Two adapters each with a trained head cannot share the one head a merged model keeps."""
    peft_model = _two_headed(tmp_path)
    with pytest.raises(ValueError) as raised:
        peft_model.merge_and_unload(adapter_names=["default", "b"])
    assert "each hold a trained task head" in str(raised.value), raised.value


def _peft_installed_as(monkeypatch, version: str) -> None:
    """The installed peft as transformers' version check reads it (`importlib.metadata.version("peft")`)."""
    import importlib.metadata

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: version if name == "peft" else real(name))


def test_transformers_adapter_methods_under_an_older_peft_say_so_in_one_line(tmp_path, monkeypatch):
    """transformers' `load_adapter` takes the peft this package takes (>= 0.20), and its other adapter methods ask for
    peft >= 0.22: `set_adapter`, `delete_adapter`, ... failed with transformers' "The version of PEFT you are using is
    not compatible", and `save_pretrained` of the model (the Trainer's `save_model`, after a whole training run) with
    that error from deep inside transformers. Each now says which method needs which peft, the one installed, and
    both ways on."""
    base = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    base.save_pretrained(tmp_path / "base")
    save_adapter(apply_lora(base, r=2, verbose=False), tmp_path / "adapter")
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base")
    model.load_adapter(str(tmp_path / "adapter"), adapter_name="a")  # (with peft 0.21 too)
    _peft_installed_as(monkeypatch, "0.21.2")
    calls = {
        "set_adapter": lambda: model.set_adapter("a"),
        "delete_adapter": lambda: model.delete_adapter("a"),
        "disable_adapters": model.disable_adapters,
        "active_adapters": model.active_adapters,
        "save_pretrained": lambda: model.save_pretrained(tmp_path / "saved"),
    }
    for method, call in calls.items():
        with pytest.raises(ValueError) as raised:
            call()
        message = str(raised.value)
        assert f"CiTrusForSequenceClassification.{method} is transformers' adapter API" in message, message
        assert "peft 0.21.2 is installed" in message and 'pip install -U "peft>=' in message, message
        assert "PeftModel.from_pretrained(model, folder)" in message, message


def test_adapters_loaded_by_peft_merge_and_load_as_before(tmp_path):
    """A guard: the adapter put on its base by `load_adapter` merges (no adapter named) as it did."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path / "base")
    base = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base")
    save_adapter(_trained(apply_lora(base, r=2, verbose=False)), tmp_path / "adapter")
    peft_model = load_adapter(None, tmp_path / "adapter")
    with torch.no_grad():
        expected = peft_model(input_values=WINDOWS).logits
        merged = peft_model.merge_and_unload()(input_values=WINDOWS).logits
    torch.testing.assert_close(merged, expected, atol=1e-5, rtol=1e-5)
