"""Audit 73, peft round three (where peft users go next with a CiTrus model): an adapter of another task loaded by
peft itself onto a task model ran the base's untrained head without a word; LoRA's initialisations that peft runs on
Linear layers only (PiSSA, OLoRA, EVA, ...) failed inside peft on the CNN stem that CiTrus's default targets hold;
prompt-learning methods (prompt and prefix tuning), which need a text model's token embeddings, failed deep inside
peft on the missing `vocab_size`; an adapter whose head was trained on other features (`pooling="max"`) loaded by
peft onto a model built with the default ones without a word; `set_adapter` kept the first adapter's single- or
multi-label scoring for the second; peft's hotswap of an adapter with its head stopped on a KeyError, and mixed-adapter batches through an adapted CNN stem
on a count of inputs that names no cause; peft's adapter in a backbone frozen with `freeze_backbone()` trained without its
dropout.

Tiny random models on the CPU: a few seconds each."""

from __future__ import annotations

import copy

import pytest
import torch
from peft import LoraConfig, PeftModel, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, get_peft_model
from peft.tuners.lora import LoraLayer
from tiny_configs import tiny_config

from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.training.lora import apply_lora, save_adapter

WINDOWS = torch.randn(2, 1, 200, generator=torch.Generator().manual_seed(0))


def _trained(peft_model):
    """`peft_model` with its LoRA B matrices and saved head drawn away from their start, as training leaves them."""
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                parameter.add_(torch.randn_like(parameter) * 0.5)
    return peft_model


def _task_adapters(tmp_path):
    """A classifier's and a regressor's adapter (one output each, so that the heads' shapes agree) trained from one
    encoder checkpoint, saved by `save_adapter` and by peft itself."""
    CiTrusModel(tiny_config()).save_pretrained(tmp_path / "encoder")
    torch.manual_seed(0)
    for task_class, name, head in (
        (CiTrusForSequenceClassification, "classifier", "classifier"),
        (CiTrusForRegression, "regressor", "regressor"),
    ):
        outputs = {"num_labels": 1} if task_class is CiTrusForSequenceClassification else {"num_targets": 1}
        base = task_class.from_pretrained(tmp_path / "encoder", **outputs)
        save_adapter(_trained(apply_lora(base, r=2, verbose=False)), tmp_path / f"{name}-citrus")
        base = task_class.from_pretrained(tmp_path / "encoder", **outputs)
        _trained(get_peft_model(base, LoraConfig(r=2, modules_to_save=[head]))).save_pretrained(
            tmp_path / f"{name}-peft"
        )


@pytest.mark.parametrize("saved_by", ["citrus", "peft"])
def test_peft_refuses_an_adapter_of_another_task(tmp_path, saved_by):
    """`PeftModel.from_pretrained(CiTrusForRegression..., classifier_adapter)` loaded the LoRA matrices and dropped
    the adapter's trained classifier (the regressor has none), so the outputs came from the regressor as built,
    untrained, without a word; the same for a regressor's adapter on a classifier, and for either loaded as a second
    adapter (`peft_model.load_adapter(folder, adapter_name="b")`). Refused, naming the task class to load it onto."""
    _task_adapters(tmp_path)
    regressor = CiTrusForRegression.from_pretrained(tmp_path / "encoder", num_targets=1)
    with pytest.raises(ValueError, match=r"trained `classifier`.*CiTrusForSequenceClassification") as refused:
        PeftModel.from_pretrained(regressor, tmp_path / f"classifier-{saved_by}")
    assert "CiTrusForRegression" in str(refused.value) and "load_adapter(None" in str(refused.value)
    classifier = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=1)
    with pytest.raises(ValueError, match=r"trained `regressor`.*CiTrusForRegression"):
        PeftModel.from_pretrained(classifier, tmp_path / f"regressor-{saved_by}")
    # its own task class loads it, and a second adapter of another task is refused there too
    classifier = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=1)
    peft_model = PeftModel.from_pretrained(classifier, tmp_path / f"classifier-{saved_by}")
    with pytest.raises(ValueError, match=r"trained `regressor`"):
        peft_model.load_adapter(str(tmp_path / f"regressor-{saved_by}"), adapter_name="b")
    assert list(peft_model.peft_config) == ["default"]
    peft_model.load_adapter(str(tmp_path / f"classifier-{saved_by}"), adapter_name="b")  # the same task: allowed


def test_a_second_adapter_with_another_head_size_is_told_it_cannot_share_the_model(tmp_path):
    """`peft_model.load_adapter(folder, adapter_name="b")` of a 4-class adapter onto a 3-class one was told to "pass
    num_labels=4 to `from_pretrained`", advice for building a base, not for a model whose adapters share its head's
    shape; it names loading the adapter on its own base instead."""
    CiTrusModel(tiny_config()).save_pretrained(tmp_path / "encoder")
    for labels in (3, 4):
        base = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=labels)
        save_adapter(_trained(apply_lora(base, r=2, verbose=False)), tmp_path / f"classes{labels}")
    base = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=3)
    peft_model = PeftModel.from_pretrained(base, tmp_path / "classes3")
    with pytest.raises(ValueError, match=r"shape \(4, 16\).*\(3, 16\)") as refused:
        peft_model.load_adapter(str(tmp_path / "classes4"), adapter_name="b")
    message = str(refused.value)
    assert "from_pretrained`" not in message.split("load_adapter(None")[0] and "own base" in message
    assert list(peft_model.peft_config) == ["default"]


LINEAR_ONLY_INITIALISATIONS = ["pissa", "pissa_niter_2", "olora", "orthogonal"]


@pytest.mark.parametrize("initialisation", LINEAR_ONLY_INITIALISATIONS)
def test_linear_only_initialisations_get_default_targets_they_can_initialise(initialisation):
    """`LoraConfig(task_type="SEQ_CLS", init_lora_weights="pissa")` without `target_modules` failed inside peft with
    "Unknown initialization init_lora_weights='pissa'": CiTrus's default targets hold the CNN stem's Conv1d layers,
    whose LoRA layers peft initialises only as LoRA (True) or "gaussian". Such an initialisation now gets the default
    targets' Linear layers (attention, feed-forward, patch projection), and the model's outputs at the start are
    the base's, as PiSSA's and OLoRA's residual weights keep them."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    with torch.no_grad():
        before = model(WINDOWS).logits
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2, init_lora_weights=initialisation))
    adapted = {
        name: module.get_base_layer() for name, module in peft_model.named_modules() if isinstance(module, LoraLayer)
    }
    assert adapted and all(isinstance(layer, torch.nn.Linear) for layer in adapted.values())
    assert any(".attention.q_proj" in name for name in adapted) and any(".ffn.fc1" in name for name in adapted)
    assert any("patch_embedding.projection" in name for name in adapted)
    with torch.no_grad():
        assert torch.allclose(peft_model.eval()(input_values=WINDOWS).logits, before, atol=1e-4)


@pytest.mark.parametrize("initialisation", [True, "gaussian"])
def test_initialisations_of_every_layer_keep_the_cnn_stem_in_the_default_targets(initialisation):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2, init_lora_weights=initialisation))
    assert any(
        isinstance(module, LoraLayer) and isinstance(module.get_base_layer(), torch.nn.Conv1d)
        for module in peft_model.modules()
    )


@pytest.mark.parametrize(
    "config",
    [
        PromptTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=4),
        PrefixTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=4),
        PromptEncoderConfig(task_type="FEATURE_EXTRACTION", num_virtual_tokens=4, encoder_hidden_size=8),
    ],
    ids=lambda config: type(config).__name__,
)
def test_prompt_learning_methods_are_refused_naming_lora(config):
    """Prompt and prefix tuning and p-tuning prepend learnt tokens to a text model's token embeddings: on a CiTrus
    model (signal patches, no vocabulary) `get_peft_model` stopped inside peft on "'CiTrusConfig' object has no
    attribute 'vocab_size'"."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    with pytest.raises(ValueError, match=r"token embeddings.*LoraConfig") as refused:
        get_peft_model(copy.deepcopy(model), config)
    assert type(config).__name__.removesuffix("Config") in str(refused.value)


@pytest.mark.parametrize(
    ("trained", "route"),
    [
        ({"pooling": "max"}, "PeftModel.from_pretrained"),
        ({"pooling": "max"}, "transformers load_adapter"),
        ({"head_features": "encoded"}, "PeftModel.from_pretrained"),
        ({"pooling": "max"}, "second adapter"),
    ],
)
def test_an_adapter_whose_head_read_other_features_is_refused(tmp_path, trained, route):
    """An adapter trained with `pooling="max"` (or `head_features="encoded"`, tokens of the same width) has a
    head of the shape a default task model builds, so `PeftModel.from_pretrained(CiTrusForSequenceClassification
    .from_pretrained(base, num_labels=3), folder)` loaded it and the head read mean-pooled features: other logits
    (0.27 apart on the tiny model) without a word. Its `citrus_task_config.json` says how it was trained: the load is
    refused naming the settings; built with them, it loads and gives the adapter's outputs."""
    CiTrusModel(tiny_config()).save_pretrained(tmp_path / "encoder")
    torch.manual_seed(0)
    base = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=3, **trained)
    peft_model = _trained(apply_lora(base, r=2, verbose=False)).eval()
    save_adapter(peft_model, tmp_path / "adapter")
    with torch.no_grad():
        expected = peft_model(input_values=WINDOWS).logits
    setting = next(iter(trained))
    default = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=3)
    load = {
        "PeftModel.from_pretrained": lambda model: PeftModel.from_pretrained(model, tmp_path / "adapter"),
        "transformers load_adapter": lambda model: model.load_adapter(str(tmp_path / "adapter")),
        "second adapter": lambda model: apply_lora(model, r=2, verbose=False).load_adapter(
            str(tmp_path / "adapter"), adapter_name="b"
        ),
    }[route]
    with pytest.raises(
        ValueError, match=rf"{setting}={trained[setting]!r}.*{setting}={getattr(default.config, setting)!r}"
    ):
        load(default)
    rebuilt = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=3, **trained)
    with torch.no_grad():
        loaded = PeftModel.from_pretrained(rebuilt, tmp_path / "adapter").eval()(input_values=WINDOWS).logits
    assert torch.allclose(loaded, expected, atol=1e-6)


def test_set_adapter_switches_single_and_multi_label_scoring_with_the_head(tmp_path):
    """A multi-label adapter loaded beside a single-label one (`peft_model.load_adapter(folder, adapter_name="b")`)
    and made active switched the class names but not `problem_type`, so `pipeline(model=peft_model)` scored it with
    a softmax (scores summing to 1) where the adapter alone is scored per class (sigmoid); switching back must give
    the first adapter its softmax again, and the folder the Trainer writes for "b" its own `problem_type`."""
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.training.lora import load_adapter, save_task_config

    config = tiny_config(num_labels=3)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "base")
    extractor = CiTrusFeatureExtractor.from_config(config)
    for name, settings in (("a", {}), ("b", {"problem_type": "multi_label_classification"})):
        torch.manual_seed(len(name))
        model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", **settings)
        save_adapter(_trained(apply_lora(model, r=2, verbose=False)), tmp_path / name, extractor)
    window = WINDOWS[0, 0].numpy()
    alone = pipeline(model=str(tmp_path / "b"), backend="torch")(window, sampling_rate=100, top_k=None)
    peft_model = load_adapter(None, tmp_path / "a")
    peft_model.load_adapter(str(tmp_path / "b"), adapter_name="b")
    peft_model.set_adapter("b")
    assert peft_model.config.problem_type == "multi_label_classification"
    served = pipeline("time-series-classification", model=peft_model, feature_extractor=extractor, backend="torch")
    together = served(window, sampling_rate=100, top_k=None)
    assert [row["score"] for row in together["labels"]] == pytest.approx([row["score"] for row in alone["labels"]])
    save_task_config(peft_model, tmp_path, adapter_name="b")
    assert '"multi_label_classification"' in (tmp_path / "citrus_task_config.json").read_text()
    peft_model.set_adapter("default")
    assert peft_model.config.problem_type is None
    scores = [row["score"] for row in served(window, sampling_rate=100, top_k=None)["labels"]]
    assert sum(scores) == pytest.approx(1.0)


def test_hotswapping_an_adapter_with_its_head_names_the_route_that_swaps_heads(tmp_path):
    """peft's `hotswap_adapter(model, folder, adapter_name="default")` swaps LoRA matrices in place; a CiTrus adapter
    also holds its trained head, and the swap stopped on "KeyError: 'base_model.model.classifier.bias'". It is
    refused naming `load_adapter(folder, adapter_name=...)` and `set_adapter`, and that route gives the adapter's
    outputs."""
    from peft.utils.hotswap import hotswap_adapter

    from citrus_hf.training.lora import load_adapter

    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path / "base")
    for name, seed in (("a", 1), ("b", 2)):
        torch.manual_seed(seed)
        model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base")
        save_adapter(_trained(apply_lora(model, r=2, verbose=False)), tmp_path / name)
    peft_model = load_adapter(None, tmp_path / "a")
    with pytest.raises(ValueError, match=r"classifier.*load_adapter\(.*adapter_name=.*set_adapter"):
        hotswap_adapter(peft_model, str(tmp_path / "b"), adapter_name="default", torch_device="cpu")
    peft_model.load_adapter(str(tmp_path / "b"), adapter_name="b")
    peft_model.set_adapter("b")
    with torch.no_grad():
        swapped = peft_model(input_values=WINDOWS).logits
        alone = load_adapter(None, tmp_path / "b")(input_values=WINDOWS).logits
    assert torch.allclose(swapped, alone, atol=1e-6)


def _two_adapters(**lora):
    """A tiny 3-class classifier with two trained adapters, "default" and "b", in eval mode."""
    torch.manual_seed(0)
    peft_model = apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=3)), r=2, verbose=False, **lora)
    peft_model.add_adapter("b", copy.deepcopy(peft_model.peft_config["default"]))
    return _trained(peft_model).eval()


def test_mixed_adapter_batches_through_an_adapted_patch_embedding_are_refused_naming_the_fix():
    """peft's mixed-adapter batches (`peft_model(input_values=x, adapter_names=["default", "b", ...])`, one adapter
    per window) split each adapted layer's input by window; the patch embedding embeds each patch of each channel as
    an input of its own, so with apply_lora's default targets (the CNN stem too) peft stopped on "Length of
    `adapter_names` should be the same as the number of inputs, but got 4 and 40". Refused naming the fix; without
    the stem adapted, each window gets its own adapter's outputs."""
    windows = torch.randn(4, 1, 200, generator=torch.Generator().manual_seed(1))
    names = ["default", "b", "__base__", "b"]
    with pytest.raises(ValueError, match=r"adapter_names.*patch embedding.*include_cnn=False"):
        with torch.no_grad():
            _two_adapters()(input_values=windows, adapter_names=names)
    peft_model = _two_adapters(include_cnn=False)
    with torch.no_grad():
        mixed = peft_model(input_values=windows, adapter_names=names).logits
        for row, name in enumerate(names):
            if name == "__base__":
                with peft_model.disable_adapter():
                    alone = peft_model(input_values=windows[row : row + 1]).logits
            else:
                peft_model.set_adapter(name)
                alone = peft_model(input_values=windows[row : row + 1]).logits
            assert torch.allclose(mixed[row : row + 1], alone, atol=1e-5)


def test_a_seq_cls_adapter_that_saved_no_classifier_still_loads_onto_a_regressor(tmp_path):
    """peft's `task_type="SEQ_CLS"` names a classifier among the modules it saves; an adapter of a regressor trained
    that way (its head frozen, saved nowhere) holds no classifier, so the refusal of another task's head must not
    take it for one."""
    CiTrusModel(tiny_config()).save_pretrained(tmp_path / "encoder")
    base = CiTrusForRegression.from_pretrained(tmp_path / "encoder")
    config = LoraConfig(task_type="SEQ_CLS", r=2)
    _trained(get_peft_model(base, config)).save_pretrained(tmp_path / "adapter")
    PeftModel.from_pretrained(CiTrusForRegression.from_pretrained(tmp_path / "encoder"), tmp_path / "adapter")


def test_peft_on_a_frozen_backbone_trains_its_adapter_with_dropout():
    """`model.freeze_backbone()` keeps the encoder in eval mode; `get_peft_model(model, LoraConfig(lora_dropout=0.5))`
    after it trained the LoRA matrices with every LoRA dropout off, the setting ignored without a word (apply_lora
    undoes the freezing: LoRA decides what trains). peft's adapter in a frozen encoder now ends the freezing as
    apply_lora does, the base weights staying frozen by peft."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    model.freeze_backbone()
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2, lora_dropout=0.5)).train()
    dropouts = [module for name, module in peft_model.named_modules() if name.endswith("lora_dropout.default")]
    assert dropouts and all(module.training for module in dropouts)
    assert model.citrus.training
    trainable = {name for name, parameter in peft_model.named_parameters() if parameter.requires_grad}
    assert trainable and all("lora_" in name or "modules_to_save" in name for name in trainable)
    # frozen after the adapter (a linear probe on the adapted encoder): nothing in the encoder trains, it stays frozen
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2, lora_dropout=0.5))
    model.freeze_backbone()
    peft_model.train()
    assert not model.citrus.training
