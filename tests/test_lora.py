"""LoRA on CiTrus task models: which modules are adapted, training under the Trainer with a small trainable fraction,
adapters that save / reload / merge to the same outputs, and errors that say what to do.

Synthetic signals only: these tests check the adapter mechanics (what trains, what survives a round trip), not
accuracy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from datasets import Dataset
from peft import PeftModel
from safetensors.torch import load_file
from tiny_configs import checkpointing_on
from transformers import Trainer, TrainingArguments

import citrus_hf
from citrus_hf import CiTrusConfig, CiTrusForPretraining, CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.training.lora import (
    TASK_CONFIG_NAME,
    apply_lora,
    default_target_modules,
    load_adapter,
    merge_adapter,
    save_adapter,
)

# A scaled-up CiTrus (d_model 512): LoRA pays off once the layers are wide. At the paper's d_model=64 a rank-8 update
# of a 64 x 64 projection is already a quarter of its size (see the module docstring of citrus_hf.training.lora).
WIDE = dict(context_length=200, d_model=512, num_attention_heads=8, num_hidden_layers=2, ffn_dim=1024)


def _perturb(peft_model: PeftModel, seed: int = 0) -> None:
    """Give every LoRA B matrix and the head copy non-zero values, as training would (B starts at zero)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))


def _logits(model, inputs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_values=inputs).logits


# ----------------------------------------------------------------------------------------------- target modules


def test_the_adapter_file_names_are_peft_s():
    """Layers below training recognise adapter folders by names spelt in `vocabulary_citrus`, not imported from peft."""
    from peft.utils.constants import CONFIG_NAME, SAFETENSORS_WEIGHTS_NAME

    from citrus_hf.vocabulary_citrus import ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME

    assert (ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME) == (CONFIG_NAME, SAFETENSORS_WEIGHTS_NAME)


def test_default_targets_cover_attention_ffn_and_stem_but_never_the_head_or_decoder(make_tiny_config):
    model = CiTrusForSequenceClassification(make_tiny_config(num_labels=3))
    targets = default_target_modules(model)
    layer = "citrus.encoder.layers.0"
    assert targets[:3] == [f"citrus.patch_embedding.blocks.0.conv{i}" for i in (1, 2)] + [
        "citrus.patch_embedding.blocks.1.conv1"
    ]
    assert set(targets) == {
        *(f"citrus.patch_embedding.blocks.{b}.conv{i}" for b in range(len(model.config.cnn_channels)) for i in (1, 2)),
        "citrus.patch_embedding.projection",
        *(f"{layer}.attention.{p}_proj" for p in "qkvo"),
        f"{layer}.ffn.fc1",
        f"{layer}.ffn.fc2",
    }
    assert set(default_target_modules(model, include_cnn=False, include_ffn=False)) == {
        f"{layer}.attention.{p}_proj" for p in "qkvo"
    }
    # The pre-training decoder has a `projection` too: it is not the encoder's and never matches.
    pretraining = CiTrusForPretraining(make_tiny_config())
    assert "head.projection" in dict(pretraining.named_modules())
    assert default_target_modules(pretraining) == targets


@pytest.mark.parametrize(
    ("backbone", "expected"),
    [
        ("cnn", {"conv1", "conv2", "projection"}),
        ("transformer", {"projection", "q_proj", "k_proj", "v_proj", "o_proj", "fc1", "fc2"}),
    ],
)
def test_default_targets_fit_every_backbone(make_tiny_config, backbone, expected):
    model = CiTrusForSequenceClassification(make_tiny_config(backbone=backbone, num_labels=2))
    targets = default_target_modules(model)
    assert {name.rsplit(".", 1)[1] for name in targets} == expected
    peft_model = apply_lora(model, verbose=False)
    assert peft_model(input_values=torch.randn(2, 1, 200)).logits.shape == (2, 2)


def test_rank_never_exceeds_the_weights_rank(make_tiny_config):
    """The stem's first conv maps 1 channel x kernel 3: its update has rank <= 3, so LoRA gets rank 3, same scaling."""
    peft_model = apply_lora(CiTrusForSequenceClassification(make_tiny_config()), r=8, alpha=16, verbose=False)
    blocks = peft_model.base_model.model.citrus.patch_embedding.blocks
    first, second = blocks[0].conv1, blocks[0].conv2
    assert first.lora_A["default"].out_channels == 3 and first.scaling["default"] == pytest.approx(2.0)
    # conv2 of block 0 is 4 -> 4 channels: full rank 4 < 8
    assert second.lora_A["default"].out_channels == 4
    attention = peft_model.base_model.model.citrus.encoder.layers[0].attention
    assert attention.q_proj.lora_A["default"].out_features == 8 and attention.q_proj.scaling["default"] == 2.0


def test_apply_lora_undoes_freeze_backbone(make_tiny_config):
    """A frozen backbone stays in eval mode, which would silence LoRA's dropout: LoRA replaces freezing."""
    model = CiTrusForSequenceClassification(make_tiny_config())
    model.freeze_backbone()
    peft_model = apply_lora(model, verbose=False).train()
    assert model.citrus.training
    assert any(p.requires_grad for n, p in peft_model.named_parameters() if "lora_A" in n)


# ----------------------------------------------------------------------------------------------- training


def _synthetic_classes(num_windows: int, seed: int) -> Dataset:
    """Three classes told apart by the frequency of a noisy sine (1, 3 or 6 cycles per window)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, num_windows)
    time = np.arange(200) / 200
    cycles = np.array([1.0, 3.0, 6.0])[labels]
    phase = rng.uniform(0, 2 * np.pi, num_windows)
    signal = np.sin(2 * np.pi * cycles[:, None] * time + phase[:, None]) + 0.3 * rng.standard_normal((num_windows, 200))
    data = {"input_values": signal[:, None, :].astype(np.float32), "labels": labels}
    return Dataset.from_dict(data).with_format("torch")


@pytest.fixture
def one_thread():
    """One intra-op thread while training: on the 2 shared cores of a test machine, two threads contending with other
    processes make each small matmul wait for a spinning peer (50x slower here); results do not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_lora_trains_under_the_trainer_with_under_5_percent_trainable(tmp_path, capsys, one_thread):
    model = CiTrusForSequenceClassification(CiTrusConfig(**WIDE, num_labels=3))
    base_state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    peft_model = apply_lora(model)
    printed = capsys.readouterr().out
    trainable, total = peft_model.get_nb_trainable_parameters()
    assert f"trainable params: {trainable:,} || all params: {total:,}" in printed
    assert trainable / total < 0.05
    trainable_names = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable_names and all("lora_" in n or ".modules_to_save.default." in n for n in trainable_names)
    assert any("patch_embedding.blocks.0.conv1.lora_A" in n for n in trainable_names)
    assert {"base_model.model.classifier.modules_to_save.default.weight"} <= trainable_names
    before = {name: p.detach().clone() for name, p in peft_model.named_parameters()}

    data = _synthetic_classes(64, seed=0)
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=16,
        per_device_eval_batch_size=64,
        num_train_epochs=6,
        learning_rate=3e-3,
        lr_scheduler_type="constant",
        warmup_steps=0,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(model=peft_model, args=args, train_dataset=data, eval_dataset=data)
    loss_before = trainer.evaluate()["eval_loss"]
    trainer.train()
    loss_after = trainer.evaluate()["eval_loss"]
    assert loss_after < 0.5 * loss_before, (loss_before, loss_after)

    after = dict(peft_model.named_parameters())
    for name, value in before.items():
        changed = not torch.equal(value, after[name].detach())
        assert changed == (name in trainable_names), name
    # The wrapped layers still hold the pre-trained weights, and the original head is kept beside the trained copy.
    base_weights = {
        name.removeprefix("base_model.model.").replace(".base_layer", "").replace(".original_module", ""): tensor
        for name, tensor in peft_model.state_dict().items()
        if "lora_" not in name and "modules_to_save" not in name
    }
    assert base_weights.keys() == base_state.keys()
    assert all(torch.equal(base_weights[name], base_state[name]) for name in base_state)


def test_lora_changes_eval_outputs_and_starts_as_the_base_model(make_tiny_config):
    """The attention is the model's own (no fused fast path) so a trained adapter changes eval-mode outputs, and a
    fresh adapter (B = 0) leaves them exactly as they were."""
    model = CiTrusForSequenceClassification(make_tiny_config(num_labels=3)).eval()
    inputs = torch.randn(4, 1, 200)
    base_logits = _logits(model, inputs)
    peft_model = apply_lora(model, verbose=False).eval()
    torch.testing.assert_close(_logits(peft_model, inputs), base_logits, rtol=0, atol=0)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name and "attention" in name:  # only the attention's adapters
                parameter.normal_(0, 0.1)
    adapted_logits = _logits(peft_model, inputs)
    assert (adapted_logits - base_logits).abs().max() > 1e-3
    with peft_model.disable_adapter():
        torch.testing.assert_close(_logits(peft_model, inputs), base_logits, rtol=0, atol=0)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_adapters_behind_a_frozen_stem_get_gradients_under_gradient_checkpointing(make_tiny_config, use_reentrant):
    """With the stem frozen (`include_cnn=False`), no checkpointed layer's input requires grad; reentrant
    checkpointing then drops every gradient inside the layers unless `enable_input_require_grads` (which peft calls)
    finds the patch embedding through `get_input_embeddings`."""
    model = CiTrusForSequenceClassification(make_tiny_config(num_labels=3, num_hidden_layers=2))
    checkpointing_on(model, use_reentrant=use_reentrant)
    peft_model = apply_lora(model, include_cnn=False, verbose=False).train()
    assert model.get_input_embeddings() is model.citrus.patch_embedding
    peft_model(input_values=torch.randn(4, 1, 200), labels=torch.tensor([0, 1, 2, 0])).loss.backward()
    layer_adapters = {
        name: parameter.grad
        for name, parameter in peft_model.named_parameters()
        if "lora_B" in name and ".encoder.layers." in name
    }
    assert layer_adapters
    assert all(grad is not None and grad.abs().sum() > 0 for grad in layer_adapters.values()), [
        name for name, grad in layer_adapters.items() if grad is None or grad.abs().sum() == 0
    ]


# ----------------------------------------------------------------------------------------------- save / load / merge


def test_saved_adapter_reloads_to_the_same_outputs(make_tiny_config, tmp_path):
    model = CiTrusForSequenceClassification(make_tiny_config(num_labels=3))
    model.save_pretrained(tmp_path / "base")
    peft_model = apply_lora(model, verbose=False)
    _perturb(peft_model)
    peft_model.eval()
    inputs = torch.randn(4, 1, 200)
    expected = _logits(peft_model, inputs)

    folder = save_adapter(peft_model, tmp_path / "adapter")
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["README.md", "adapter_config.json", "adapter_model.safetensors", TASK_CONFIG_NAME]
    assert json.loads((folder / "adapter_config.json").read_text())["modules_to_save"] == ["classifier"]
    saved = load_file(folder / "adapter_model.safetensors")
    assert any("lora_A" in key for key in saved) and "base_model.model.classifier.weight" in saved

    # onto an instance of the base, and onto the base checkpoint by path
    instance = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base")
    for base in (instance, tmp_path / "base"):
        reloaded = load_adapter(base, folder)
        assert isinstance(reloaded, PeftModel) and not reloaded.training
        assert not any(p.requires_grad for p in reloaded.parameters())
        torch.testing.assert_close(_logits(reloaded, inputs), expected, rtol=0, atol=1e-5)
    trainable = load_adapter(tmp_path / "base", folder, is_trainable=True)
    assert trainable.training and any(p.requires_grad for n, p in trainable.named_parameters() if "lora_B" in n)


def test_adapter_goes_back_onto_the_pretraining_checkpoint(make_tiny_config, tmp_path):
    """The usual path: pre-trained checkpoint -> task model with a new head and channels -> LoRA -> adapter. The
    adapter's task config rebuilds the task model from the pre-training checkpoint alone."""
    CiTrusForPretraining(make_tiny_config()).save_pretrained(tmp_path / "pretrained")
    task = CiTrusForSequenceClassification.from_pretrained(
        tmp_path / "pretrained", num_labels=4, num_channels=2, id2label={i: f"class{i}" for i in range(4)}
    )
    peft_model = apply_lora(task, verbose=False)
    _perturb(peft_model)
    peft_model.eval()
    inputs = torch.randn(3, 2, 200)
    expected = _logits(peft_model, inputs)
    folder = save_adapter(peft_model, tmp_path / "adapter")
    assert "class3" in (folder / "README.md").read_text()

    reloaded = load_adapter(tmp_path / "pretrained", folder)
    assert reloaded.get_base_model().config.id2label[3] == "class3"
    torch.testing.assert_close(_logits(reloaded, inputs), expected, rtol=0, atol=1e-5)
    # the base recorded in the adapter (the checkpoint folder the task model was loaded from)
    torch.testing.assert_close(_logits(load_adapter(None, folder), inputs), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("task_class", [CiTrusForSequenceClassification, CiTrusForRegression])
def test_merged_and_unmerged_outputs_agree(make_tiny_config, tmp_path, task_class):
    model = task_class(make_tiny_config(num_labels=3, num_targets=2))
    peft_model = apply_lora(model, verbose=False)
    _perturb(peft_model)
    peft_model.eval()
    inputs = torch.randn(4, 1, 200)
    expected = _logits(peft_model, inputs)

    merged = merge_adapter(peft_model)
    assert type(merged) is task_class
    assert not any("lora" in name or "modules_to_save" in name for name, _ in merged.named_modules())
    torch.testing.assert_close(_logits(merged, inputs), expected, rtol=0, atol=1e-5)
    # and it is an ordinary checkpoint again (strict loading)
    merged.save_pretrained(tmp_path / "merged")
    torch.testing.assert_close(
        _logits(task_class.from_pretrained(tmp_path / "merged"), inputs), expected, rtol=0, atol=1e-5
    )


# ----------------------------------------------------------------------------------------------- errors


def test_apply_lora_errors_say_what_to_do(make_tiny_config):
    config = make_tiny_config(num_labels=3)
    with pytest.raises(TypeError, match=r"CiTrusForSequenceClassification.from_pretrained\(path, num_labels"):
        apply_lora(CiTrusForPretraining(config))
    with pytest.raises(ValueError, match="No module .* matches target_modules=\\['query'\\]"):
        apply_lora(CiTrusForSequenceClassification(config), target_modules=["query"])
    with pytest.raises(ValueError, match=r"\['classifier'\] in the task head"):
        apply_lora(CiTrusForSequenceClassification(config), target_modules=["q_proj", "classifier"])
    with pytest.raises(
        ValueError, match=r"cannot adapt here: \['citrus.encoder.layers.0.attention_norm \(CiTrusNorm\)"
    ):
        apply_lora(CiTrusForSequenceClassification(config), target_modules=["attention_norm"])
    with pytest.raises(ValueError, match="rank `r` must be a positive integer"):
        apply_lora(CiTrusForSequenceClassification(config), r=0)
    with pytest.raises(ValueError, match="`alpha` must be a positive number, got 'a'"):
        apply_lora(CiTrusForSequenceClassification(config), alpha="a")
    with pytest.raises(TypeError, match=r"`target_modules` must be a list of module names .* got 5"):
        apply_lora(CiTrusForSequenceClassification(config), target_modules=5)
    cnn = CiTrusForSequenceClassification(make_tiny_config(backbone="cnn"))
    with pytest.raises(ValueError, match="keep include_cnn=True"):
        apply_lora(cnn, include_cnn=False)
    peft_model = apply_lora(CiTrusForSequenceClassification(config), verbose=False)
    with pytest.raises(ValueError, match="already carries peft adapters"):
        apply_lora(peft_model)
    with pytest.raises(TypeError, match="expected the peft.PeftModel returned by apply_lora"):
        merge_adapter(CiTrusForSequenceClassification(config))


def test_load_adapter_errors_say_what_to_do(make_tiny_config, tmp_path):
    config = make_tiny_config(num_labels=3)
    folder = save_adapter(apply_lora(CiTrusForSequenceClassification(config), verbose=False), tmp_path / "adapter")
    with pytest.raises(ValueError, match=r"`classifier` has shape \(3, 16\) but the base model's has \(5, 16\)"):
        load_adapter(CiTrusForSequenceClassification(make_tiny_config(num_labels=5)), folder)
    with pytest.raises(ValueError, match="records no base model"):
        load_adapter(None, folder)
    with pytest.raises(OSError, match="does not exist"):
        load_adapter(CiTrusForSequenceClassification(config), tmp_path / "missing")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "full")
    with pytest.raises(OSError, match="has no adapter_config.json .* not a peft adapter"):
        load_adapter(CiTrusForSequenceClassification(config), tmp_path / "full")
    (folder / "adapter_model.safetensors").rename(folder / "adapter_model.bin")
    with pytest.raises(OSError, match="never unpickled"):
        load_adapter(CiTrusForSequenceClassification(config), folder)


# ----------------------------------------------------------------------------------------------- example


def test_example_runs_tiny(tmp_path, monkeypatch, capsys, one_thread):
    """examples/lora_finetune.py --from-scratch --tiny: LoRA fine-tuning on real BasicMotions recordings (fetched with the offline
    corpus, as for every test on real data), end to end. In this process, as `python examples/lora_finetune.py` runs
    it (`run_example_in_process`; a fresh Python spent seconds importing torch first): `python examples/...` in a
    process of its own is test_examples_training.py's pretrain_accelerate.py run."""
    from test_examples_training import run_example_in_process

    output = run_example_in_process(
        monkeypatch, capsys, "lora_finetune.py", "--from-scratch", "--tiny", "--output-dir", str(tmp_path), cwd=tmp_path
    )
    assert "trainable params:" in output and "test accuracy" in output
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    assert "merged and adapted outputs agree" in output


def test_an_adapter_on_the_bundled_checkpoint_records_its_name_and_reloads_anywhere(tmp_path):
    """The base is recorded as "citrus-small", not this installation's path to it, so that a shared adapter loads
    on any machine with the package; the command line says what to do with the folder."""
    task = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3)
    assert task.name_or_path == "citrus-small"  # what peft and the Trainer's card read as the base
    lora = apply_lora(task, verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_adapter(lora, tmp_path / "adapter")
    # peft looked "citrus-small" up (on the Hub) for a vocabulary CiTrus does not have, and warned it found none
    assert not [w for w in caught if "Could not find a config file" in str(w.message)]
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == (
        "citrus-small"
    )
    # a base loaded from the bundled folder's path is recorded by name too, and the model's config is left as it was
    by_path = apply_lora(
        CiTrusForSequenceClassification.from_pretrained(citrus_hf.bundled_checkpoint("citrus-small"), num_labels=3),
        verbose=False,
    )
    save_adapter(by_path, tmp_path / "by_path")
    assert json.loads((tmp_path / "by_path" / "adapter_config.json").read_text())["base_model_name_or_path"] == (
        "citrus-small"
    )
    assert by_path.peft_config[by_path.active_adapter].base_model_name_or_path != "citrus-small"
    reloaded = load_adapter(None, tmp_path / "adapter")
    # the card of an adapter loaded for inference (everything frozen) counted 0 trainable parameters, and named
    # neither its base nor how to load it
    from citrus_hf.training.lora import adapter_card

    card = str(adapter_card(reloaded, "me/har-lora", license="mit"))
    trained = str(adapter_card(lora, "me/har-lora"))
    count = [line for line in trained.splitlines() if line.startswith("| Trainable parameters")]
    assert count and count[0] in card and "| 0 of" not in card
    assert "citrus-small, the CiTrus checkpoint shipped inside citrus-hf" in card and "license: mit" in card
    assert "load_adapter('citrus-small', 'me/har-lora')" in card
    inputs = torch.randn(2, 1, 1000)
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_values=inputs).logits, lora.eval()(input_values=inputs).logits)
    # transformers' Auto classes load an adapter folder's base with a default head: the trained head then failed on
    # its shape, in an error naming the base and suggesting ignore_mismatched_sizes=True
    from transformers import AutoModelForSequenceClassification

    with pytest.raises(ValueError, match=r"is a CiTrus LoRA adapter.*load_adapter\(None, .*pipeline\(model="):
        AutoModelForSequenceClassification.from_pretrained(tmp_path / "adapter")
    with pytest.raises(ValueError, match=r"is a CiTrus LoRA adapter.*load_adapter"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "adapter")


def test_an_adapter_runs_on_every_inference_path_and_as_a_pipeline_folder(make_tiny_config, tmp_path):
    """The bf16 path's dense stem read peft's wrapped convolutions (AttributeError on CPUs with AMX, so the default
    "auto" crashed); it now runs the adapter merged into its copy, LoRA updates of the stem included.
    `pipeline(model=<adapter folder>)` said the folder "has no config.json"; it loads the adapter onto the base it
    records, merged, with the folder's feature extractor."""
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.inference.backends import load_backend, predict_windows

    CiTrusForPretraining(make_tiny_config()).save_pretrained(tmp_path / "pretrained")
    task = CiTrusForSequenceClassification.from_pretrained(tmp_path / "pretrained", num_labels=3)
    peft_model = apply_lora(task, verbose=False)
    _perturb(peft_model, seed=3)
    peft_model.eval()
    inputs = torch.randn(4, 1, 200, generator=torch.Generator().manual_seed(0))
    expected = _logits(peft_model, inputs)
    for backend, tolerance in (("torch", 1e-6), ("bf16", 5e-2)):
        torch.testing.assert_close(load_backend(peft_model, backend)(inputs), expected, atol=tolerance, rtol=0)
    with peft_model.disable_adapter():
        without_lora = _logits(peft_model, inputs)
    assert (without_lora - expected).abs().max() > 0.2  # the bf16 check above could tell the two apart

    extractor = CiTrusFeatureExtractor.from_config(task.config)
    save_adapter(peft_model, tmp_path / "adapter", extractor)
    classify = pipeline(model=str(tmp_path / "adapter"))
    recording = np.random.default_rng(0).standard_normal(200)
    result = classify(recording, sampling_rate=100, backend="torch", function_to_apply="none", top_k=3)
    features = extractor(recording, sampling_rate=100, return_tensors="pt")
    logits = predict_windows(peft_model, features, backend="torch")[0]
    scores = {entry["label"]: entry["score"] for entry in result["labels"]}
    for index, value in enumerate(logits.tolist()):
        assert scores[task.config.id2label[index]] == pytest.approx(value, abs=1e-5)


def test_adapter_config_is_the_same_file_whatever_the_string_hashing(tmp_path):
    """peft holds `target_modules` as a set, whose order follows `PYTHONHASHSEED`: the same adapter saved by two
    processes wrote two different adapter_config.json files. Now the targets are written sorted, and the live
    config keeps peft's set."""
    code = (
        "import sys, torch\n"
        "from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification\n"
        "from citrus_hf.training.lora import apply_lora, save_adapter\n"
        "torch.manual_seed(0)\n"
        "model = CiTrusForSequenceClassification(CiTrusConfig(context_length=200, d_model=16, num_hidden_layers=1,"
        " num_attention_heads=2, ffn_dim=32, num_labels=2))\n"
        "peft_model = apply_lora(model, verbose=False)\n"
        "save_adapter(peft_model, sys.argv[1])\n"
        "assert isinstance(peft_model.peft_config['default'].target_modules, set)\n"
    )
    written = []
    for hash_seed in ("1", "2"):
        folder = tmp_path / hash_seed
        result = subprocess.run(
            [sys.executable, "-c", code, str(folder)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert result.returncode == 0, result.stderr
        written.append((folder / "adapter_config.json").read_bytes())
    targets = json.loads(written[0])["target_modules"]
    assert targets == sorted(targets) and len(targets) > 2
    assert written[0] == written[1]


# (peft imported before the package still learns its default targets: test_layers'
# test_auto_classes_find_citrus_in_the_usual_import_orders checks it in the interpreter that imports peft first)
