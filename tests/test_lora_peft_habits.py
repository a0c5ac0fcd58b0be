"""Adapters as peft and transformers users make and load them (not only through `citrus_hf.training.lora`): plain
`get_peft_model(...).save_pretrained` folders through `load_adapter`, `pipeline` and the Auto classes, the errors for
an adapter whose head does not fit (never "pass ignore_mismatched_sizes=True"), the warning for a head LoRA adapts
instead of training it, the adapter card's plain-peft recipe, and peft's Hub lookup of "citrus-small" at every save.

Tiny random models: these tests check which head and weights arrive where, not accuracy."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForSequenceClassification, pipeline

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

TARGETS = ["q_proj", "v_proj"]


def _perturbed(peft_model: PeftModel) -> PeftModel:
    """Non-zero LoRA B matrices and a changed head, as training leaves them; in eval mode."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))
    return peft_model.eval()


def _logits(model, inputs):
    with torch.no_grad():
        return model(input_values=inputs).logits


def _peft_adapter(tmp_path, make_tiny_config, task_class=CiTrusForSequenceClassification, **lora):
    """A pre-training checkpoint in `tmp_path/base`, a task model on it with 3 outputs, LoRA by peft itself, saved by
    peft in `tmp_path/adapter`; returns the folder, an input batch and the adapted model's logits on it."""
    CiTrusForPretraining(make_tiny_config()).save_pretrained(tmp_path / "base")
    channels = lora.pop("num_channels", 1)
    task = task_class.from_pretrained(tmp_path / "base", num_labels=3, num_targets=3, num_channels=channels)
    peft_model = _perturbed(get_peft_model(task, LoraConfig(r=2, target_modules=TARGETS, **lora)))
    inputs = torch.randn(2, channels, 200, generator=torch.Generator().manual_seed(1))
    expected = _logits(peft_model, inputs)
    peft_model.save_pretrained(tmp_path / "adapter")
    return tmp_path / "adapter", inputs, expected


@pytest.mark.parametrize(
    "task_class, lora",
    [
        (CiTrusForSequenceClassification, dict(task_type="SEQ_CLS")),
        (CiTrusForSequenceClassification, dict(modules_to_save=["classifier"])),  # task_type=None
        (CiTrusForRegression, dict(task_type="SEQ_CLS", modules_to_save=["regressor"])),
    ],
)
def test_adapters_saved_by_peft_load_with_load_adapter_and_pipeline(make_tiny_config, tmp_path, task_class, lora):
    """`load_adapter(None, folder)` and `pipeline(model=folder)` read only `citrus_task_config.json` (which peft does
    not write): a SEQ_CLS adapter was "does not name a CiTrus task class", a task_type=None one a head-shape error
    whose advice a pipeline cannot follow. The class is now the one peft recorded or whose head it saved (`regressor`
    is a regression head), and the number of outputs that of the saved head."""
    folder, inputs, expected = _peft_adapter(tmp_path, make_tiny_config, task_class, **lora)
    assert not (folder / "citrus_task_config.json").exists()
    reloaded = load_adapter(None, folder)
    assert type(reloaded.get_base_model()) is task_class
    torch.testing.assert_close(_logits(reloaded, inputs), expected, rtol=0, atol=1e-6)
    if task_class is CiTrusForSequenceClassification:
        # (no preprocessor_config.json from peft: the pipeline uses the one matching the merged model)
        recording = inputs[0, 0].numpy()
        features = CiTrusFeatureExtractor.from_config(reloaded.get_base_model().config)(
            recording, sampling_rate=100, return_tensors="pt"
        )
        result = pipeline(model=str(folder))(
            recording, sampling_rate=100, backend="torch", function_to_apply="none", top_k=3
        )
        scores = sorted(entry["score"] for entry in result["labels"])
        assert scores == pytest.approx(sorted(_logits(reloaded, features["input_values"])[0].tolist()), abs=1e-5)


def test_a_peft_adapter_of_another_width_says_what_to_build_the_base_with(make_tiny_config, tmp_path):
    """A plain-peft adapter on a 2-channel head: its width is no reliable channel count (pooling widens it too), so
    the error names the settings to pass and the instance route, for pipeline users the merged model."""
    folder, _, _ = _peft_adapter(tmp_path, make_tiny_config, task_type="SEQ_CLS", num_channels=2)
    with pytest.raises(
        ValueError, match=r"has shape \(3, 32\).*num_channels=2, channel_pooling='concat'.*merge_adapter"
    ):
        load_adapter(None, folder)


def test_a_multi_channel_peft_adapter_loads_when_its_extractor_is_saved_beside_it(make_tiny_config, tmp_path):
    """The README's 6-channel task, LoRA by peft, saved with its extractor (as the Trainer saves its
    `processing_class`): the extractor's channel count and a head that many channels wide give the base's layout,
    which peft does not record, so `load_adapter(None, folder)` and `pipeline(model=folder)` load it."""
    folder, inputs, expected = _peft_adapter(tmp_path, make_tiny_config, task_type="SEQ_CLS", num_channels=2)
    config = CiTrusForPretraining.from_pretrained(tmp_path / "base").config
    CiTrusFeatureExtractor.from_config(config, num_channels=2).save_pretrained(folder)
    reloaded = load_adapter(None, folder)
    assert reloaded.get_base_model().config.num_channels == 2
    torch.testing.assert_close(_logits(reloaded, inputs), expected, rtol=0, atol=1e-6)
    result = pipeline(model=str(folder), backend="torch")(inputs[0].numpy(), sampling_rate=config.sampling_rate)
    assert len(result["labels"]) == 3


def test_auto_classes_name_an_adapter_whose_head_does_not_fit_and_never_advise_a_random_head(
    make_tiny_config, tmp_path, caplog
):
    """transformers loads an adapter folder's base with a default 2-class head, then the adapter, whose 3-class head
    does not fit. The error blamed the base and advised `ignore_mismatched_sizes=True`, which then loaded a random
    head without a word. Now it names the adapter and `num_labels=3`, with or without that argument; with
    `num_labels=3` it loads (quietly: the adapter brings the head), and so does the task class itself."""
    folder, inputs, expected = _peft_adapter(tmp_path, make_tiny_config, task_type="SEQ_CLS")
    for extra in ({}, {"ignore_mismatched_sizes": True}):
        with pytest.raises(ValueError, match=r"is a LoRA adapter \(peft\).*pass num_labels=3.*load_adapter") as error:
            AutoModelForSequenceClassification.from_pretrained(folder, **extra)
        assert "pass `ignore_mismatched_sizes=True`" not in str(error.value)
    caplog.clear()
    # the package's loggers follow transformers' verbosity, not the root's level: INFO asked of them by name
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="citrus_hf"):
        loaded = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3)
    torch.testing.assert_close(_logits(loaded.eval(), inputs), expected, rtol=0, atol=1e-6)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "CiTrus" in r.getMessage()]
    assert not [r for r in caplog.records if "LOAD REPORT" in r.getMessage()]
    assert any("with its trained head" in r.getMessage() for r in caplog.records)
    direct = CiTrusForSequenceClassification.from_pretrained(folder, num_labels=3).eval()
    torch.testing.assert_close(_logits(direct, inputs), expected, rtol=0, atol=1e-6)
    # the base built by hand for peft: its head is said to come from fine-tuning or an adapter
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=3)
    assert "or load a trained adapter onto it" in caplog.text


def test_a_citrus_adapter_gets_a_peft_recipe_in_its_card_that_works(make_tiny_config, tmp_path):
    """`citrus finetune --lora` / `save_adapter` folders need their base built from `citrus_task_config.json` (here 2
    channels, 4 classes); peft alone failed on torch's size mismatch with nothing saying so. The card gives the
    recipe, and the recipe loads the adapter."""
    CiTrusForPretraining(make_tiny_config()).save_pretrained(tmp_path / "base")
    task = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=4, num_channels=2)
    lora = _perturbed(apply_lora(task, verbose=False))
    inputs = torch.randn(2, 2, 200, generator=torch.Generator().manual_seed(2))
    expected = _logits(lora, inputs)
    folder = save_adapter(lora, tmp_path / "adapter")
    card = (folder / "README.md").read_text()
    assert "CiTrusConfig.from_json_file(" in card and "PeftModel.from_pretrained(" in card
    config = CiTrusConfig.from_json_file(folder / "citrus_task_config.json")
    model = PeftModel.from_pretrained(
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", config=config), folder
    )
    torch.testing.assert_close(_logits(model.eval(), inputs), expected, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="is a CiTrus LoRA adapter"):
        AutoModelForSequenceClassification.from_pretrained(folder, num_labels=4)


def test_a_head_that_only_lora_trains_is_warned_about(make_tiny_config, caplog):
    """`target_modules="all-linear"` without `modules_to_save` puts LoRA on the new random head, which stays frozen
    and unsaved: the adapter reloaded onto another random head gave other logits, and the "head frozen" warning did
    not fire because the head had trainable (LoRA) parameters."""
    logging.Logger.warning_once.cache_clear()
    model = CiTrusForSequenceClassification(make_tiny_config(num_labels=3))
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules="all-linear"))
    assert hasattr(peft_model.base_model.model.classifier, "lora_A")
    with caplog.at_level(logging.WARNING):
        peft_model.train()(input_values=torch.randn(2, 1, 200), labels=torch.tensor([0, 1])).loss.backward()
    assert "head only through LoRA" in caplog.text and "modules_to_save=['classifier']" in caplog.text
    # with the head saved in full, as the warning says, nothing is said
    logging.Logger.warning_once.cache_clear()
    caplog.clear()
    fixed = get_peft_model(
        CiTrusForSequenceClassification(make_tiny_config(num_labels=3)),
        LoraConfig(r=2, target_modules="all-linear", modules_to_save=["classifier"]),
    )
    with caplog.at_level(logging.WARNING):
        fixed.train()(input_values=torch.randn(2, 1, 200), labels=torch.tensor([0, 1])).loss.backward()
    assert "head" not in caplog.text


def test_the_text_kwargs_advice_keeps_the_head_trained():
    """The package's advice for peft's text-model arguments said `task_type=None` alone, which (with "all-linear")
    leaves the head to LoRA; it now says `modules_to_save` too."""
    model = CiTrusForSequenceClassification(
        CiTrusConfig(context_length=200, d_model=16, num_hidden_layers=1, num_attention_heads=2, ffn_dim=32)
    )
    with pytest.raises(ValueError, match=r"task_type=None, modules_to_save=\['classifier'\]"):
        model(input_ids=torch.zeros(1, 3, dtype=torch.long))


def test_peft_saves_of_a_bundled_base_neither_warn_nor_ask_the_hub(tmp_path, monkeypatch):
    """peft looks the recorded base ("citrus-small") up at every save for a vocabulary CiTrus does not have: offline it
    warned "Could not find a config file in citrus-small", online it asked huggingface.co. The bundled folder answers."""
    import peft.utils.other

    model = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=2)
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2, target_modules=TARGETS))
    for offline in ("1", "0"):
        monkeypatch.setenv("HF_HUB_OFFLINE", offline)

        def no_hub(*args, **kwargs):
            raise AssertionError("peft asked the Hub about the bundled base")

        monkeypatch.setattr(peft.utils.other, "file_exists", no_hub)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            peft_model.save_pretrained(tmp_path / offline)
        assert not [w for w in caught if "citrus-small" in str(w.message)], [str(w.message) for w in caught]
        saved = json.loads((tmp_path / offline / "adapter_config.json").read_text())
        assert saved["base_model_name_or_path"] == "citrus-small"


def test_a_folder_that_is_no_adapter_keeps_its_own_error(tmp_path):
    """The adapter route is taken only for an adapter_config.json without config.json."""
    (tmp_path / "empty").mkdir()
    np.save(tmp_path / "empty" / "x.npy", np.zeros(1))
    with pytest.raises(OSError, match="has no config.json"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "empty")


@pytest.mark.parametrize("task_class", [CiTrusForRegression, CiTrusModel, CiTrusForPretraining])
def test_an_adapter_with_a_trained_head_is_refused_by_a_class_without_that_head(make_tiny_config, tmp_path, task_class):
    """A classifier's adapter loaded into CiTrusForRegression or CiTrusModel dropped its trained head for a random
    one (or none) with one log line; CiTrusForPretraining blamed the base as corrupt. Refused, naming the class it
    fits, as a task checkpoint is refused by another task class; replace_head=True keeps the adapted encoder."""
    folder, _, _ = _peft_adapter(tmp_path, make_tiny_config, task_type="SEQ_CLS")
    with pytest.raises(ValueError, match=r"trained `classifier`, a CiTrusForSequenceClassification head.*replace_head"):
        task_class.from_pretrained(folder)
    if task_class is CiTrusModel:
        assert type(CiTrusModel.from_pretrained(folder, replace_head=True)) is CiTrusModel


def test_a_regression_adapter_is_refused_by_the_sequence_classifier(make_tiny_config, tmp_path):
    folder, _, _ = _peft_adapter(
        tmp_path, make_tiny_config, CiTrusForRegression, task_type="SEQ_CLS", modules_to_save=["regressor"]
    )
    with pytest.raises(ValueError, match=r"trained `regressor`, a CiTrusForRegression head"):
        AutoModelForSequenceClassification.from_pretrained(folder)


def test_an_adapter_without_weights_or_with_a_base_that_is_no_citrus_model_is_named(make_tiny_config, tmp_path):
    """The adapter route was followed to any base, whose errors named only the base ("couldn't connect to the Hub",
    an index file of citrus-small's), never the adapter folder the user gave."""
    folder, _, _ = _peft_adapter(tmp_path, make_tiny_config, task_type="SEQ_CLS")
    (folder / "adapter_model.safetensors").unlink()
    with pytest.raises(OSError, match=r"is a LoRA adapter \(peft\) without its weights \(adapter_model.safetensors\)"):
        CiTrusForSequenceClassification.from_pretrained(folder, num_labels=3)
    other = tmp_path / "other-base"
    other.mkdir()
    (other / "adapter_model.safetensors").write_bytes(b"")
    (other / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tmp_path / "no-such-base")}))
    with pytest.raises(OSError, match=r"'.*other-base' is a LoRA adapter \(peft\) of the base '.*no-such-base'"):
        CiTrusForSequenceClassification.from_pretrained(other)


def test_building_or_loading_an_adapter_prints_no_warning_the_user_cannot_act_on(make_tiny_config, tmp_path):
    """peft's `PeftModel` reads `is_gradient_checkpointing`, which transformers 5.25 deprecates: every `citrus finetune
    --lora`, `apply_lora`, `load_adapter`, and peft's own `get_peft_model` printed the FutureWarning (once per process
    of a launch) with nothing the user could change. The model answers it without the warning, as the new name does."""
    base = CiTrusForSequenceClassification(make_tiny_config(num_labels=3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adapted = apply_lora(base, r=4, verbose=False)
        save_adapter(adapted, tmp_path / "adapter")
        load_adapter(CiTrusForSequenceClassification(make_tiny_config(num_labels=3)), tmp_path / "adapter")
        get_peft_model(
            CiTrusForSequenceClassification(make_tiny_config(num_labels=3)), LoraConfig(r=2, target_modules=TARGETS)
        )
        checkpointed = CiTrusForSequenceClassification(make_tiny_config(num_labels=3))
        assert base.is_gradient_checkpointing is False
        checkpointed.gradient_checkpointing_enable()
        assert checkpointed.is_gradient_checkpointing is True
    assert not [str(w.message) for w in caught if "is_gradient_checkpointing" in str(w.message)]
    if hasattr(base, "is_activation_checkpointing"):  # transformers >= 5.25's name
        assert checkpointed.is_activation_checkpointing is True and base.is_activation_checkpointing is False


def test_peft_configs_without_target_modules_adapt_what_apply_lora_adapts(make_tiny_config):
    """peft's quicktour names no `target_modules` (`LoraConfig(task_type="SEQ_CLS", r=8)`): for CiTrus models peft
    raised "Please specify `target_modules`". LoRA now adapts `apply_lora`'s modules, other methods the query and
    value projections (IA3: key, value and the second feed-forward layer); never a head or the decoder."""
    from peft import IA3Config, VeraConfig

    from citrus_hf import CiTrusFusionConfig, CiTrusFusionForSequenceClassification
    from citrus_hf.training.lora import default_target_modules

    def adapted(peft_model, marker="lora_A"):
        return sorted(
            name.removeprefix("base_model.model.").removesuffix(f".{marker}")
            for name, _ in peft_model.named_modules()
            if name.endswith(f".{marker}")
        )

    inputs = torch.randn(2, 1, 200)
    model = CiTrusForSequenceClassification(make_tiny_config(num_labels=3))
    expected = sorted(default_target_modules(model))
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2))
    assert adapted(peft_model) == expected and len(expected) == 11  # 4 stem convolutions, projection, 4 + 2 per layer
    assert peft_model(input_values=inputs).logits.shape == (2, 3)
    assert all(p.requires_grad for n, p in peft_model.named_parameters() if "classifier.modules_to_save" in n)

    pretraining = get_peft_model(CiTrusForPretraining(make_tiny_config()), LoraConfig(r=2))
    assert adapted(pretraining) == expected  # the same encoder modules, not the reconstruction head's
    vera = get_peft_model(CiTrusForSequenceClassification(make_tiny_config(num_labels=3)), VeraConfig(r=2))
    assert adapted(vera, "vera_lambda_b") == [
        "citrus.encoder.layers.0.attention.q_proj",
        "citrus.encoder.layers.0.attention.v_proj",
    ]
    ia3 = get_peft_model(CiTrusForRegression(make_tiny_config(num_targets=1)), IA3Config())
    assert adapted(ia3, "ia3_l") == [
        f"citrus.encoder.layers.0.{name}" for name in ("attention.k_proj", "attention.v_proj", "ffn.fc2")
    ]
    fusion = CiTrusFusionForSequenceClassification(
        CiTrusFusionConfig(modality_configs={"ecg": make_tiny_config(), "eeg": make_tiny_config()}, num_labels=3)
    )
    fused = get_peft_model(fusion, LoraConfig(r=2, modules_to_save=["classifier"]))
    assert {name.split(".")[1] for name in adapted(fused)} == {"ecg", "eeg"} and len(adapted(fused)) == 22
