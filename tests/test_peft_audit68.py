"""Audit 68, peft's own methods and options on CiTrus models by habit: a fusion model's adapter under the `Trainer`
(its checkpoints and card), `layers_to_transform` with peft's default targets, adapter cards of AdaLoRA, DoRA,
rsLoRA and layer-restricted LoRA, the card the `Trainer` writes for a model with several adapters, and training an
adapter loaded for inference.

Tiny random models: these tests check what is saved, adapted and said, not accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from peft import AdaLoraConfig, LoraConfig, PeftModel, get_peft_model
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator, CiTrusFusionProcessor
from citrus_hf.training.lora import adapter_card

MODALITIES = ("ecg", "eeg")


def _fusion_base(folder, fusion_class=CiTrusFusionForSequenceClassification):
    """A tiny two-modality fusion model saved in `folder` (with its processor), loaded back from there."""
    torch.manual_seed(0)
    encoders = {name: CiTrusModel(tiny_config()) for name in MODALITIES}
    outputs = {"num_labels": 2} if fusion_class is CiTrusFusionForSequenceClassification else {"num_targets": 1}
    fusion_class.from_encoders(encoders, **outputs).save_pretrained(folder)
    CiTrusFusionProcessor.from_encoders(encoders).save_pretrained(folder)
    return fusion_class.from_pretrained(folder)


def _fusion_trainer(base_folder, output_dir):
    """The README's fusion LoRA (peft directly, default targets, the head saved in full) in a `Trainer` that saves a
    checkpoint at its last step, as the Trainer does by default."""
    model = get_peft_model(_fusion_base(base_folder), LoraConfig(r=2, modules_to_save=["classifier"]))
    processor = CiTrusFusionProcessor.from_pretrained(base_folder)
    rng = np.random.default_rng(0)
    batch = processor(
        ecg=rng.standard_normal((4, 1, 200)), eeg=rng.standard_normal((4, 1, 200)), sampling_rate=100
    ).to_columns()
    rows = Dataset.from_dict({**batch, "labels": [0, 1, 0, 1]})
    arguments = TrainingArguments(
        str(output_dir), max_steps=2, save_steps=2, per_device_train_batch_size=2, use_cpu=True, report_to="none"
    )
    collator = CiTrusFusionDataCollator()
    return Trainer(model, arguments, train_dataset=rows, data_collator=collator, processing_class=processor), model


def test_a_fusion_models_lora_trains_and_saves_under_the_trainer(tmp_path):
    """The Trainer's checkpoint of a peft fusion model stopped the training with "Cannot save the adapter's task
    config: the adapted model is a CiTrusFusionForSequenceClassification": the hook that writes a single model's
    `citrus_task_config.json` took the fusion model for one."""
    trainer, model = _fusion_trainer(tmp_path / "base", tmp_path / "out")
    trainer.train()
    trainer.save_model()
    for folder in (tmp_path / "out", tmp_path / "out" / "checkpoint-2"):
        assert (folder / "adapter_model.safetensors").is_file()
        assert not (folder / "citrus_task_config.json").exists()  # a single model's config: the base holds it here
    inputs = {key: torch.randn(2, 1, 200) for key in MODALITIES}
    model.eval()
    reloaded = PeftModel.from_pretrained(
        CiTrusFusionForSequenceClassification.from_pretrained(tmp_path / "base"), tmp_path / "out"
    ).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_values=inputs).logits, model(input_values=inputs).logits)


@pytest.mark.parametrize("fusion_class", [CiTrusFusionForSequenceClassification, CiTrusFusionForRegression])
def test_a_fusion_adapters_card_describes_every_modality_and_loads_with_the_fusion_class(tmp_path, fusion_class):
    """`Trainer.create_model_card` (run by `Trainer.push_to_hub`) of a peft fusion model failed with
    "'CiTrusFusionConfig' object has no attribute 'num_channels'": the adapter card read a single model's config."""
    head = fusion_class.head_name
    base = _fusion_base(tmp_path / "base", fusion_class)
    card = adapter_card(get_peft_model(base, LoraConfig(r=2, modules_to_save=[head])), None).text
    assert "ecg: 1 channel(s) at 100 Hz" in card and "eeg: 1 channel(s) at 100 Hz" in card
    assert f"`{fusion_class.__name__}`" in card and "stored in full" in card
    assert ("2 classes" in card) if head == "classifier" else ("1 regression target" in card)
    # its usage is peft's with the fusion class (the package's loaders take single-modality adapters only)
    assert f"PeftModel.from_pretrained({fusion_class.__name__}.from_pretrained(" in card
    assert "load_adapter" not in card and "citrus_task_config" not in card and "CiTrusConfig" not in card


def test_the_trainer_writes_a_fusion_adapters_card(tmp_path):
    trainer, _ = _fusion_trainer(tmp_path / "base", tmp_path / "out")
    trainer.train()
    trainer.create_model_card()
    card = (tmp_path / "out" / "README.md").read_text()
    assert "library_name: peft" in card and "CiTrusFusionForSequenceClassification" in card


def _adapted(peft_model) -> list[str]:
    return sorted(
        name.removeprefix("base_model.model.").removesuffix(".lora_A")
        for name, _ in peft_model.named_modules()
        if name.endswith(".lora_A")
    )


def test_layers_to_transform_with_the_default_targets_adapts_those_layers_alone():
    """`LoraConfig(layers_to_transform=[1])` without `target_modules` adapted every layer and the stem: CiTrus's
    default LoRA targets are a regular expression, and peft ignores `layers_to_transform` for one."""
    config = tiny_config(num_labels=3, num_hidden_layers=2)
    last_layer = [
        f"citrus.encoder.layers.1.{name}"
        for name in (
            "attention.k_proj",
            "attention.o_proj",
            "attention.q_proj",
            "attention.v_proj",
            "ffn.fc1",
            "ffn.fc2",
        )
    ]
    for options in ({}, {"layers_pattern": "layers"}):
        model = get_peft_model(
            CiTrusForSequenceClassification(config), LoraConfig(r=2, layers_to_transform=[1], **options)
        )
        assert _adapted(model) == last_layer
        assert model(input_values=torch.randn(2, 1, 200)).logits.shape == (2, 3)
    # without it, every layer and the stem, as before (apply_lora's modules)
    everything = _adapted(get_peft_model(CiTrusForSequenceClassification(config), LoraConfig(r=2)))
    assert set(last_layer) < set(everything) and any("patch_embedding" in name for name in everything)
    # a fusion model's encoders alike
    encoders = {name: CiTrusModel(config) for name in MODALITIES}
    fusion = CiTrusFusionForSequenceClassification.from_encoders(encoders, num_labels=2)
    adapted = _adapted(get_peft_model(fusion, LoraConfig(r=2, layers_to_transform=[0])))
    assert len(adapted) == 12 and all(".encoder.layers.0." in name for name in adapted)


def _card_rows(card: str) -> dict[str, str]:
    """The card's table as {first cell: second cell}, checking every row has two cells (an unescaped `|` in a cell
    splits it)."""
    rows = {}
    for line in card.splitlines():
        if line.startswith("| ") and not line.startswith("| |"):
            cells = [cell.strip() for cell in line.strip().strip("|").replace(r"\|", "\0").split("|")]
            assert len(cells) == 2, line
            rows[cells[0]] = cells[1].replace("\0", "|")
    return rows


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"use_dora": True}, ["DoRA"]),
        ({"use_rslora": True}, ["rsLoRA", "alpha / sqrt(r)"]),
        ({"layers_to_transform": [1], "target_modules": ["q_proj", "v_proj"]}, ["layers_to_transform = [1]"]),
        ({"rank_pattern": {"q_proj": 1}}, ["rank_pattern", "q_proj"]),
    ],
)
def test_a_lora_cards_settings_name_the_lora_variant(options, words):
    """A DoRA adapter's card said "LoRA | r = 2, alpha = 8, dropout = 0.0", as a plain LoRA one's: DoRA, rsLoRA's
    scaling, the layers and per-module ranks chosen were left out."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3, num_hidden_layers=2))
    peft_model = get_peft_model(model, LoraConfig(r=2, modules_to_save=["classifier"], **options))
    settings = _card_rows(adapter_card(peft_model, None).text)["LoRA"]
    assert settings.startswith("r = 2, alpha = 8") and all(word in settings for word in words), settings


def test_the_adapted_modules_row_lists_the_modules_adapted():
    """peft's default targets are a regular expression: written into the table as it is, its `|` split the row and
    the card showed the attention projections alone; a layer-restricted adapter listed every layer's names."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3, num_hidden_layers=2))
    rows = _card_rows(adapter_card(get_peft_model(model, LoraConfig(r=2, modules_to_save=["classifier"])), None).text)
    adapted = rows["Adapted modules"]
    assert all(name in adapted for name in ("q_proj", "fc2", "conv1", "projection")), adapted
    assert "17 modules" in adapted, adapted  # 4 stem convolutions, the projection, 6 in each of 2 layers
    restricted = get_peft_model(
        CiTrusForSequenceClassification(tiny_config(num_labels=3, num_hidden_layers=2)),
        LoraConfig(r=2, target_modules=["q_proj", "v_proj"], layers_to_transform=[1], modules_to_save=["classifier"]),
    )
    assert _card_rows(adapter_card(restricted, None).text)["Adapted modules"] == "q_proj, v_proj (2 modules)"


def test_an_adalora_adapter_gets_its_card():
    """The card of an AdaLoRA adapter (the Trainer's `create_model_card`, `push_to_hub`) failed inside peft with
    "AdaLoRA does not work when `total_step` is None": the card built the method's default config to compare."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    config = AdaLoraConfig(init_r=4, target_r=2, total_step=10, modules_to_save=["classifier"])
    rows = _card_rows(adapter_card(get_peft_model(model, config), None).text)
    assert (
        "init_r = 4" in rows["AdaLoRA"] and "target_r = 2" in rows["AdaLoRA"] and "total_step = 10" in rows["AdaLoRA"]
    )


def _window_rows() -> Dataset:
    """Four labelled windows of the tiny classifier's input (3 classes)."""
    rng = np.random.default_rng(0)
    return Dataset.from_dict(
        {"input_values": rng.standard_normal((4, 1, 200)).astype("float32"), "labels": [0, 1, 2, 0]}
    )


@pytest.mark.parametrize("route", ["load_adapter", "PeftModel.from_pretrained", "inference_mode"])
def test_training_an_adapter_loaded_for_inference_names_is_trainable(tmp_path, route):
    """An adapter loaded as `load_adapter` and peft load it by default (frozen, for inference) and given to the
    `Trainer` stopped its first step inside torch: "element 0 of tensors does not require grad and does not have a
    grad_fn"."""
    from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

    base = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    base.save_pretrained(tmp_path / "base")
    base = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base")
    if route == "inference_mode":
        model = get_peft_model(base, LoraConfig(r=2, inference_mode=True, modules_to_save=["classifier"]))
    else:
        save_adapter(apply_lora(base, r=2, verbose=False), tmp_path / "adapter")
        fresh = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base")
        loaded = {
            "load_adapter": lambda: load_adapter(None, tmp_path / "adapter"),
            "PeftModel.from_pretrained": lambda: PeftModel.from_pretrained(fresh, tmp_path / "adapter"),
        }
        model = loaded[route]()
    arguments = TrainingArguments(str(tmp_path / "out"), max_steps=1, use_cpu=True, report_to="none")
    trainer = Trainer(model, arguments, train_dataset=_window_rows())
    with pytest.raises(ValueError, match=r"no parameter.*trainable.*is_trainable=True.*inference_mode"):
        trainer.train()
    # loaded to train on, it trains
    if route == "load_adapter":
        model = load_adapter(None, tmp_path / "adapter", is_trainable=True)
        Trainer(model, arguments, train_dataset=_window_rows()).train()


def test_the_trainer_of_a_second_adapter_says_where_peft_saved_it_and_its_card_describes_the_root(tmp_path, caplog):
    """A model with two adapters that the Trainer trained through the second (`add_adapter`, `set_adapter`): peft
    saves it in `out/second` and "default" at the root, which `pipeline(model=out)` served without a word (the
    untrained adapter's predictions), under a card that described the second (r = 2, q_proj) and loaded the root."""
    import logging

    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.training.lora import apply_lora

    config = tiny_config(num_labels=3)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "base")
    model = apply_lora(CiTrusForSequenceClassification.from_pretrained(tmp_path / "base"), r=4, verbose=False)
    model.add_adapter("second", LoraConfig(r=2, target_modules=["q_proj"], modules_to_save=["classifier"]))
    model.set_adapter("second")
    out = tmp_path / "out"
    arguments = TrainingArguments(
        str(out), max_steps=2, learning_rate=0.05, save_strategy="no", use_cpu=True, report_to="none"
    )
    extractor = CiTrusFeatureExtractor.from_config(config)
    trainer = Trainer(model, arguments, train_dataset=_window_rows(), processing_class=extractor)
    trainer.train()
    with caplog.at_level(logging.WARNING):
        trainer.save_model()
    assert "'second'" in caplog.text and str(out / "second") in caplog.text and "'default'" in caplog.text
    trainer.create_model_card()
    rows = _card_rows((out / "README.md").read_text())
    assert rows["LoRA"].startswith("r = 4") and rows["Adapted modules"].endswith("(11 modules)")  # the root's: default
    assert "`second`" in (out / "README.md").read_text()  # named as the adapter in a subfolder
    # the trained adapter loads from its subfolder with its task model's settings
    assert (out / "second" / "citrus_task_config.json").is_file()
    window = np.random.default_rng(1).standard_normal((1, 200)).astype("float32")
    model.eval()
    with torch.no_grad():
        expected = model(**extractor(window, sampling_rate=100, return_tensors="pt")).logits.softmax(-1)[0]
    served = pipeline(model=str(out / "second"), backend="torch")(window, sampling_rate=100, top_k=None)
    scores = {entry["label"]: entry["score"] for entry in served["labels"]}
    np.testing.assert_allclose([scores[f"LABEL_{i}"] for i in range(3)], expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("method", ["lora", "dora"])
def test_the_cards_parameter_count_holds_for_an_adapter_named_as_a_module(method):
    """An adapter named as a part of the model's module paths ("ecg" on a fusion model with an ecg modality,
    "citrus" on a task model) counted every weight under that part: 11,194 trainable parameters for peft's 194."""
    options = {"use_dora": True} if method == "dora" else {}
    lora = LoraConfig(r=2, target_modules=["q_proj"], modules_to_save=["classifier"], **options)
    encoders = {name: CiTrusModel(tiny_config()) for name in MODALITIES}
    fusion = CiTrusFusionForSequenceClassification.from_encoders(encoders, num_labels=2)
    task = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    for model, name in ((fusion, "ecg"), (task, "citrus")):
        peft_model = get_peft_model(model, lora, adapter_name=name)
        trainable, total = peft_model.get_nb_trainable_parameters()
        counted = _card_rows(adapter_card(peft_model, None).text)["Trainable parameters"]
        assert counted.startswith(f"{trainable:,} of {total:,}"), (counted, trainable)
