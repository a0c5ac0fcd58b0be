"""Audit 73, a review of the peft wrappers added in the third peft round: a peft release whose private names the
wrappers reach for had moved made `import citrus_hf` (or `import peft` after it) fail with an AttributeError out of
the registration; peft's mixed-adapter batches through a patch embedding that some adapter adapts were refused only
when the batch named that adapter, so a batch of the other adapters (or of "__base__") still stopped inside peft on
"Length of `adapter_names` should be the same as the number of inputs, but got 4 and 40".

Tiny random models on the CPU: a few seconds each."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora

WINDOWS = torch.randn(4, 1, 200, generator=torch.Generator().manual_seed(0))


def test_a_peft_that_moved_the_private_names_still_registers_with_a_warning(monkeypatch, caplog):
    """`register_peft_target_modules` runs when peft and citrus_hf are both imported; it wrapped peft's private
    `LoraModel._enable_peft_forward_hooks` and `peft.utils.hotswap.hotswap_adapter_from_state_dict` without looking,
    so a peft without them (pyproject asks only `peft>=0.20`) made the import fail. The checks that need them are
    skipped, each named once in a warning, and the rest of the registration holds."""
    from peft.tuners.lora import LoraModel
    from peft.utils import hotswap

    from citrus_hf.training import lora

    monkeypatch.delattr(LoraModel, "_enable_peft_forward_hooks")
    monkeypatch.delattr(hotswap, "hotswap_adapter_from_state_dict")
    with caplog.at_level(logging.WARNING):
        lora.register_peft_target_modules()
    assert "LoraModel._enable_peft_forward_hooks" in caplog.text and "mixed-adapter" in caplog.text
    assert "hotswap_adapter_from_state_dict" in caplog.text and "hotswap" in caplog.text


def test_the_hotswap_check_passes_on_arguments_peft_adds():
    """The hotswap check took peft's five parameters by name: an argument a later peft passes on (a keyword the
    wrapper did not list) failed in the wrapper before peft saw it."""
    from peft.utils import hotswap

    calls = []

    def swap(model, state_dict, adapter_name, config, parameter_prefix="lora_", *, new_option=None):
        calls.append(new_option)

    original = hotswap.hotswap_adapter_from_state_dict
    try:
        hotswap.hotswap_adapter_from_state_dict = swap
        from citrus_hf.training import lora

        lora._refuse_hotswapping_a_head()
        wrapped = hotswap.hotswap_adapter_from_state_dict
        assert wrapped is not swap
        wrapped(model=torch.nn.Linear(1, 1), state_dict={}, adapter_name="default", config=None, new_option=3)
    finally:
        hotswap.hotswap_adapter_from_state_dict = original
    assert calls == [3]


def _stem_adapted_beside_an_encoder_adapter():
    """A tiny 3-class classifier whose "default" adapter adapts the encoder alone and whose "b" adapts the patch
    embedding too (apply_lora's default), in eval mode."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    peft_model = apply_lora(model, r=2, verbose=False, include_cnn=False)
    stem = copy.deepcopy(apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=3)), r=2, verbose=False))
    peft_model.add_adapter("b", stem.peft_config["default"])
    return peft_model.eval()


@pytest.mark.parametrize("names", [["default", "__base__", "default", "default"], ["__base__"] * 4])
def test_a_mixed_batch_of_adapters_that_leave_the_stem_alone_is_refused_too(names):
    """peft hands `adapter_names` to every LoRA layer, whichever adapters the batch names: a patch embedding that
    any adapter on the model adapts splits its `(batch * channels * patches)` rows by window and stops inside peft.
    Refused naming the adapter that adapts it and the fix."""
    peft_model = _stem_adapted_beside_an_encoder_adapter()
    with pytest.raises(ValueError, match=r"adapter_names.*patch embedding.*'b'.*include_cnn=False"):
        with torch.no_grad():
            peft_model(input_values=WINDOWS, adapter_names=names)


def _two_tasks(tmp_path):
    """An activity adapter "default" (rest/walk, one softmax) with a rhythm adapter "b" (afib/normal, multi-label)
    loaded beside it."""
    from citrus_hf.training.lora import load_adapter, save_adapter

    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path / "base")
    for name, settings in (
        ("a", {"id2label": {0: "rest", 1: "walk"}}),
        ("b", {"id2label": {0: "afib", 1: "normal"}, "problem_type": "multi_label_classification"}),
    ):
        model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", **settings)
        save_adapter(apply_lora(model, r=2, verbose=False), tmp_path / name)
    peft_model = load_adapter(None, tmp_path / "a")
    peft_model.load_adapter(str(tmp_path / "b"), adapter_name="b")
    return peft_model


def test_a_deleted_adapter_leaves_no_class_names_behind(tmp_path):
    """`delete_adapter("b")` kept the class names and scoring recorded for "b": a new adapter added under that name
    (`add_adapter("b", ...)`, or peft's own save loaded as "b") was served by `set_adapter("b")` under the deleted
    adapter's classes (afib/normal, multi-label) without a word, and deleting the active "b" left its names on the
    adapter peft made active instead. The record goes with the adapter, and the adapter left active shows its own."""
    from peft import LoraConfig

    peft_model = _two_tasks(tmp_path)
    peft_model.set_adapter("b")
    assert peft_model.config.id2label == {0: "afib", 1: "normal"}
    peft_model.delete_adapter("b")
    assert peft_model.active_adapter == "default"
    assert peft_model.config.id2label == {0: "rest", 1: "walk"} and peft_model.config.problem_type is None
    peft_model.add_adapter("b", LoraConfig(r=2, target_modules=["q_proj"], modules_to_save=["classifier"]))
    peft_model.set_adapter("b")
    assert peft_model.config.id2label == {0: "rest", 1: "walk"} and peft_model.config.problem_type is None


@pytest.mark.parametrize(
    ("task_class", "hint"),
    [
        ("CiTrusForRegression", "modules_to_save=['regressor']"),
        ("CiTrusForSequenceClassification", "modules_to_save=['classifier']"),
        ("CiTrusModel", "LoraConfig(r=8)"),
    ],
)
def test_the_prompt_learning_refusal_names_a_lora_config_that_trains_the_models_head(task_class, hint):
    """The refusal of prompt tuning named `get_peft_model(model, LoraConfig(task_type='SEQ_CLS', r=8))` for every
    CiTrus model: on a regressor that config saves and trains a `classifier` it has none of and freezes the regressor,
    which then stays random (the package warns at the first step). It names the model's own head now."""
    from peft import PromptTuningConfig, get_peft_model

    import citrus_hf

    model = getattr(citrus_hf, task_class)(tiny_config())
    with pytest.raises(ValueError, match="token embeddings") as refused:
        get_peft_model(model, PromptTuningConfig(task_type="FEATURE_EXTRACTION", num_virtual_tokens=4))
    assert hint in str(refused.value) and "SEQ_CLS" not in str(refused.value)


def test_peft_on_a_fusion_encoder_frozen_alone_trains_its_adapter_with_dropout():
    """`fusion.freeze_encoder("ecg")` keeps that encoder in eval mode; `get_peft_model(fusion, LoraConfig(
    lora_dropout=0.5))` adapts every encoder (peft decides what trains) and the ecg encoder's LoRA matrices trained
    with their dropout off, without a word, as a single model's frozen backbone did. The adapter ends that encoder's
    freezing; an encoder frozen after the adapter (its LoRA frozen too) stays frozen."""
    from peft import LoraConfig, get_peft_model

    from citrus_hf import CiTrusFusionConfig, CiTrusFusionForSequenceClassification

    def fusion():
        config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, num_labels=2)
        return CiTrusFusionForSequenceClassification(config)

    model = fusion()
    model.freeze_encoder("ecg")
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2, lora_dropout=0.5)).train()
    dropouts = [module for name, module in peft_model.named_modules() if name.endswith("lora_dropout.default")]
    assert any(".encoders.ecg." in name for name, _ in peft_model.named_modules() if name.endswith("lora_dropout"))
    assert dropouts and all(module.training for module in dropouts)
    assert model.encoders["ecg"].training and model.frozen_encoders == []
    model = fusion()
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2))
    model.freeze_encoder("ecg")
    peft_model.train()
    assert not model.encoders["ecg"].training and model.frozen_encoders == ["ecg"]
