"""Audit 62, peft used by habit beyond the documented LoRA path: the bf16 / ONNX Runtime paths follow `set_adapter`
and `disable_adapter()`, `save_adapter` saves the active adapter at the folder's root, the "head trained only through
the adapter" warning for every peft method, transformers-injected adapters on the bf16 path, cards and messages for
non-LoRA adapters, and a config saying `return_dict=False` through the package's own callers.

Tiny random models: these tests check which adapter and weights run where, not accuracy."""

from __future__ import annotations

import logging

import numpy as np
import peft
import pytest
import torch
from peft import LoraConfig, get_peft_model
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import AutoModelForSequenceClassification, pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.inference.backends import (
    BFloat16Backend,
    InferenceTarget,
    onnx_cache_key,
    predict_windows,
)
from citrus_hf.training.lora import adapter_card, apply_lora, load_adapter, save_adapter
from citrus_hf.training.pretrain import citrus_loss
from citrus_hf.training.recipes import predict

TARGETS = ["q_proj", "v_proj", "fc1"]


def _two_adapters() -> peft.PeftModel:
    """A tiny classifier with two LoRA adapters, "task_a" (active) and "task_b", as training leaves them: non-zero and
    different B matrices and heads; in eval mode."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))

    def lora():
        return LoraConfig(r=2, target_modules=TARGETS, modules_to_save=["classifier"])

    peft_model = get_peft_model(model, lora(), adapter_name="task_a")
    peft_model.add_adapter("task_b", lora())
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * (1.0 if "task_a" in name else -2.0))
    return peft_model.eval()


def _live(model, inputs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_values=inputs).logits


INPUTS = torch.randn(8, 1, 200, generator=torch.Generator().manual_seed(1))


def test_a_kept_bf16_backend_follows_set_adapter_and_disable_adapter():
    """Finding 1: the bf16 backend `predict_windows` keeps on the model ran the adapter active when it was built,
    after `set_adapter` and inside `disable_adapter()` (switching changes no tensor, and the fingerprint read only
    tensors); a bf16 backend built inside `disable_adapter()` merged the adapter anyway."""
    peft_model = _two_adapters()
    predict_windows(peft_model, {"input_values": INPUTS}, backend="bf16")  # kept with task_a
    peft_model.set_adapter("task_b")
    got = predict_windows(peft_model, {"input_values": INPUTS}, backend="bf16")
    torch.testing.assert_close(got, _live(peft_model, INPUTS), rtol=0, atol=0.1)
    with peft_model.disable_adapter():
        got = predict_windows(peft_model, {"input_values": INPUTS}, backend="bf16")
        torch.testing.assert_close(got, _live(peft_model, INPUTS), rtol=0, atol=0.1)
        fresh = BFloat16Backend(peft_model, InferenceTarget())  # built while disabled: no adapter merged
        torch.testing.assert_close(fresh(INPUTS), _live(peft_model, INPUTS), rtol=0, atol=0.1)
    assert (_live(peft_model, INPUTS) - fresh(INPUTS)).abs().max() > 1  # the adapter is on again; the copy kept none


def test_the_onnx_cache_key_names_the_active_and_enabled_adapters():
    """Finding 1: the ONNX export cached on disk for one adapter was taken for another (the key hashed every
    adapter's config and all weights, but not which one runs)."""
    peft_model = _two_adapters()
    keys = {onnx_cache_key(peft_model, InferenceTarget())}
    peft_model.set_adapter("task_b")
    keys.add(onnx_cache_key(peft_model, InferenceTarget()))
    with peft_model.disable_adapter():
        keys.add(onnx_cache_key(peft_model, InferenceTarget()))
    assert len(keys) == 3


def test_save_adapter_saves_the_active_adapter_at_the_folder_root(tmp_path):
    """Finding 2: with "task_b" active, peft put "default" at the folder's root (task_b in a subfolder), under a card
    and a task config that described task_b: every loader then ran the other adapter."""
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "base")
    peft_model = apply_lora(
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=3), r=2, verbose=False
    )
    peft_model.add_adapter(
        "task_b", LoraConfig(r=4, target_modules=["q_proj", "v_proj"], modules_to_save=["classifier"])
    )
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * (1.0 if "default" in name else -2.0))
    peft_model.set_adapter("task_b")
    peft_model.eval()
    expected = _live(peft_model, INPUTS)
    folder = save_adapter(peft_model, tmp_path / "adapter")
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
        "citrus_task_config.json",
    ]
    assert "| LoRA | r = 4," in (folder / "README.md").read_text()
    torch.testing.assert_close(_live(load_adapter(None, folder), INPUTS), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "method, config",
    [
        ("LoHa", lambda: peft.LoHaConfig(r=2, target_modules="all-linear")),
        ("IA3", lambda: peft.IA3Config(target_modules="all-linear", feedforward_modules=[])),
    ],
)
def test_a_head_that_only_another_peft_method_trains_is_warned_about(method, config, caplog):
    """Finding 3: the warning for a new random head that only the adapter's factors train (frozen and unsaved, so a
    reloaded adapter gives other outputs) recognised LoRA's parameter names only."""
    logging.Logger.warning_once.cache_clear()
    peft_model = get_peft_model(CiTrusForSequenceClassification(tiny_config(num_labels=3)), config())
    with caplog.at_level(logging.WARNING):
        peft_model.train()(input_values=torch.randn(2, 1, 200), labels=torch.tensor([0, 1])).loss.backward()
    assert f"head only through {method}" in caplog.text and "modules_to_save=['classifier']" in caplog.text


def test_a_transformers_injected_adapter_runs_on_the_bf16_and_auto_paths(tmp_path):
    """Finding 5: a LoRA adapter put on the model by transformers (`AutoModel...from_pretrained(adapter folder)`) has
    peft layers but no `merge_and_unload`: the bf16 copy kept the wrapped stem convolutions, and its dense stem (on
    AMX) failed with "'Conv1d' object has no attribute 'in_channels'", also under the default backend="auto"."""
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "base")
    peft_model = get_peft_model(
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=3),
        LoraConfig(task_type="SEQ_CLS", r=2),  # the package's default targets: the CNN stem too
    )
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    peft_model.save_pretrained(tmp_path / "adapter")
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "adapter", num_labels=3).eval()
    assert any("lora" in type(m).__module__ for m in model.citrus.patch_embedding.modules())
    expected = _live(model, INPUTS)
    # the LoRA update of the stem is folded into the bf16 copy, not left out
    torch.testing.assert_close(
        predict_windows(model, {"input_values": INPUTS}, backend="bf16"), expected, atol=0.05, rtol=0
    )
    torch.testing.assert_close(predict_windows(model, {"input_values": INPUTS}), expected, atol=0.05, rtol=0)


def test_a_wrapped_stem_convolution_keeps_the_convolutions():
    """Finding 5: the dense stem is built from plain convolutions' weights; a peft-wrapped one keeps the stem as is."""
    model = get_peft_model(
        CiTrusForSequenceClassification(tiny_config(num_labels=2)), LoraConfig(r=2, target_modules=["conv1"])
    )
    stem = model.base_model.model.citrus.patch_embedding
    assert stem.use_dense_blocks(torch.bfloat16) is False and stem.dense_blocks is None


def test_non_lora_adapters_get_their_own_card_and_save_adapter_refuses_them_first(tmp_path):
    """Finding 6: the card read LoRA's `r` / `lora_alpha` off any peft config (`Trainer.create_model_card`, so
    `push_to_hub`, failed with AttributeError), and `save_adapter` failed so after writing the adapter files."""
    ia3 = get_peft_model(
        CiTrusForSequenceClassification(tiny_config(num_labels=3)), peft.IA3Config(modules_to_save=["classifier"])
    )
    card = str(adapter_card(ia3, "me/ia3"))
    assert "# CiTrus IA3 adapter me/ia3" in card and "| IA3 |" in card and "merge_and_unload()" in card
    assert "load_adapter(" not in card  # the package's loader takes LoRA only
    loha = get_peft_model(
        CiTrusForSequenceClassification(tiny_config(num_labels=3)),
        peft.LoHaConfig(r=2, alpha=4, modules_to_save=["classifier"]),
    )
    assert "| LoHa | alpha = 4, r = 2 |" in str(adapter_card(loha, None))
    with pytest.raises(ValueError, match=r"saves LoRA adapters, and the active adapter 'default' is IA3\. Save it"):
        save_adapter(ia3, tmp_path / "ia3")
    assert not (tmp_path / "ia3").exists()


def test_an_intact_non_lora_adapter_folder_is_named_for_its_method_not_called_damaged(tmp_path):
    """Finding 8: the LoRA settings were checked before the method, so an IA3 folder was "'r' must be a positive
    integer, got null; restore it" everywhere (pipeline, citrus predict / export / push)."""
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "base")
    task = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=3)
    get_peft_model(task, peft.IA3Config(modules_to_save=["classifier"])).save_pretrained(tmp_path / "ia3")
    with pytest.raises(ValueError, match=r"holds an adapter of the IA3 method, not a LoRA adapter") as error:
        pipeline(model=str(tmp_path / "ia3"))
    assert "restore it" not in str(error.value)
    # the route it names works: peft's model merges, transformers' injected adapter has no `merge_and_unload`
    assert "PeftModel.from_pretrained(base, folder).merge_and_unload()" in str(error.value)
    merged = peft.PeftModel.from_pretrained(
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=3), tmp_path / "ia3"
    ).merge_and_unload()
    merged.save_pretrained(tmp_path / "merged")
    assert pipeline(model=str(tmp_path / "merged"), feature_extractor=CiTrusFeatureExtractor.from_config(merged.config))


def test_loading_a_second_adapter_names_peft_load_adapter(tmp_path):
    """Finding 10: the advice was `add_adapter(name, config)`, which makes a new, untrained adapter."""
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "base")
    lora = apply_lora(
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=3), r=2, verbose=False
    )
    folder = save_adapter(lora, tmp_path / "adapter")
    with pytest.raises(ValueError, match=r"peft_model\.load_adapter\(.*adapter_name=.*set_adapter"):
        load_adapter(load_adapter(None, folder), folder)


def test_a_model_whose_config_says_return_dict_false_runs_through_the_package(tmp_path):
    """Forward audit, finding 3: `return_dict=False` (for `torch.jit.trace`) made the model return tuples, and the
    package's own callers (every backend and pipeline, `predict`, the pre-training loss) read `.logits` / `.loss`."""
    save_tiny_classifier(tmp_path / "clf", num_labels=2)
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "clf", return_dict=False).eval()
    assert isinstance(model(INPUTS), tuple)
    with torch.no_grad():
        expected = model(INPUTS, return_dict=True).logits
    torch.testing.assert_close(predict_windows(model, {"input_values": INPUTS}, backend="torch"), expected)
    classify = pipeline(
        "time-series-classification", model=model, feature_extractor=CiTrusFeatureExtractor.from_config(model.config)
    )
    recording = np.random.default_rng(0).standard_normal((1, 300))
    assert classify(recording, sampling_rate=100, backend="torch")["label"] in model.config.label2id
    from datasets import Dataset

    rows = Dataset.from_dict({"input_values": INPUTS.numpy().tolist()})
    np.testing.assert_allclose(predict(model, rows), expected.numpy(), atol=1e-5)
    pretraining = CiTrusForPretraining(tiny_config(return_dict=False))
    torch.manual_seed(0)
    loss = citrus_loss(pretraining, {"input_values": INPUTS, "patch_mask": None})
    assert loss.ndim == 0


def test_an_encoder_adapter_gets_the_merge_route_to_embeddings(tmp_path):
    """Finding 9: a LoRA adapter on CiTrusForPretraining (domain adaptation) was told to pass a task model as an
    instance, which the commands cannot and which then failed on the missing head; the route that works (merge
    into the base, save, the feature-extraction pipeline) was never named."""
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "base")
    encoder = CiTrusForPretraining.from_pretrained(tmp_path / "base")
    get_peft_model(encoder, LoraConfig(r=2, target_modules=["q_proj", "v_proj"])).save_pretrained(tmp_path / "adapter")
    with pytest.raises(ValueError, match=r"adapts the encoder alone \(CiTrusForPretraining") as error:
        pipeline(model=str(tmp_path / "adapter"))
    assert "merge_and_unload().save_pretrained(merged)" in str(error.value) and "feature-extraction" in str(error.value)


@pytest.mark.parametrize("method", ["OFTConfig", "GraloraConfig"])
def test_methods_whose_layers_take_three_axes_get_no_default_targets(method):
    """OFT and GraLoRA layers failed inside peft on the first forward pass (CiTrus's activations have four axes):
    without default targets peft asks for `target_modules` when the adapter is built."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(ValueError, match="target_modules"):
        peft.get_peft_model(model, getattr(peft, method)(task_type="SEQ_CLS"))
    adapted = peft.get_peft_model(
        CiTrusForSequenceClassification(tiny_config(num_labels=2)), peft.LoHaConfig(task_type="SEQ_CLS")
    )
    assert adapted(input_values=torch.randn(2, 1, 200)).logits.shape == (2, 2)


def test_the_adapter_card_says_what_it_holds_of_the_head(tmp_path):
    """The card said "the task head is stored in full" whatever the adapter held of it."""
    from citrus_hf.training.lora import adapter_card

    def card(**settings) -> str:
        torch.manual_seed(0)
        task = CiTrusForSequenceClassification(tiny_config(num_labels=3))
        return str(adapter_card(get_peft_model(task, LoraConfig(r=2, **settings)), None))

    assert "stored in full" in card(target_modules=["q_proj"], modules_to_save=["classifier"])
    assert "adapted through the LoRA factors only" in card(target_modules=["q_proj", "classifier"])
    assert "not stored with the adapter" in card(target_modules=["q_proj"])
