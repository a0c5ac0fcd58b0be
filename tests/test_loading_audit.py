"""Checkpoint and adapter folders damaged as users and tools damage them, loaded through the routes transformers users
take: each case loaded silently with wrong weights, failed deep inside a library, or named the wrong problem."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import pipeline

from citrus_hf import CiTrusForSequenceClassification, load_pretrained
from citrus_hf.training.lora import apply_lora, save_adapter


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loading") / "classifier"
    CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def adapter_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapter") / "good"
    torch.manual_seed(0)
    model = apply_lora(
        CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3), r=2, verbose=False
    )
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.2)  # a trained adapter: B is no longer zero
    save_adapter(model, folder)
    return folder


def _edited(folder, tmp_path, name, edit):
    copy = tmp_path / name
    shutil.copytree(folder, copy)
    weights = copy / "adapter_model.safetensors"
    save_file(edit(load_file(weights)), weights, metadata={"format": "pt"})
    return copy


def test_transformers_load_adapter_is_strict_about_the_adapters_tensors(adapter_folder, tmp_path):
    """`model.load_adapter(folder)` loaded an adapter missing a LoRA matrix or its head, or with every key renamed,
    keeping fresh initialisations in their place; a cut file failed inside safetensors; a pickled one would be
    unpickled."""
    base = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3)
    base.load_adapter(str(adapter_folder))  # the intact adapter loads
    damages = {
        "missing": lambda tensors: {k: v for k, v in tensors.items() if k != sorted(tensors)[3]},
        "headless": lambda tensors: {k: v for k, v in tensors.items() if "classifier" not in k},
        "renamed": lambda tensors: {"module." + k: v for k, v in tensors.items()},
    }
    for name, edit in damages.items():
        model = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3)
        with pytest.raises(ValueError, match="does not fit the adapter its adapter_config.json describes"):
            model.load_adapter(str(_edited(adapter_folder, tmp_path, name, edit)))
    cut = tmp_path / "cut"
    shutil.copytree(adapter_folder, cut)
    (cut / "adapter_model.safetensors").write_bytes((adapter_folder / "adapter_model.safetensors").read_bytes()[:5000])
    model = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3)
    with pytest.raises(OSError, match="the file is corrupt or truncated"):
        model.load_adapter(str(cut))
    pickled = tmp_path / "pickled"
    shutil.copytree(adapter_folder, pickled)
    (pickled / "adapter_model.safetensors").rename(pickled / "adapter_model.bin")
    with pytest.raises(OSError, match="only a pickled adapter_model.bin, which is never unpickled"):
        model.load_adapter(str(pickled))


@pytest.mark.parametrize("index", ["", "{}", "[]", '{"weight_map": {"a": "b"'])
def test_a_damaged_shard_index_is_named(classifier_folder, tmp_path, index):
    """A cut, empty or foreign model.safetensors.index.json gave a bare JSONDecodeError / KeyError naming no file."""
    folder = tmp_path / "sharded"
    CiTrusForSequenceClassification.from_pretrained(classifier_folder).save_pretrained(folder, max_shard_size="100KB")
    (folder / "model.safetensors.index.json").write_text(index)
    with pytest.raises(OSError, match="model.safetensors.index.json' is not the index `save_pretrained` writes"):
        CiTrusForSequenceClassification.from_pretrained(folder)


def test_a_layer_count_beyond_the_weights_is_refused_before_building(classifier_folder, tmp_path):
    """num_hidden_layers=10**6 in config.json built layers until memory ran out, to report them all missing."""
    folder = tmp_path / "edited"
    shutil.copytree(classifier_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 10**6
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"num_hidden_layers=1000000, and the weights hold 3 transformer layers"):
        CiTrusForSequenceClassification.from_pretrained(folder)


def test_a_file_or_a_folder_without_a_config_is_named(classifier_folder, tmp_path):
    """A file passed for the folder: "Local folder ... does not exist" (load_pretrained) or transformers' words for a
    malformed repo id (pipeline); a Trainer run's folder: "Should have a `model_type` key in its config.json"."""
    weights = classifier_folder / "model.safetensors"
    with pytest.raises(OSError, match="model.safetensors' is a file; pass the folder that holds it"):
        load_pretrained(str(weights))
    with pytest.raises(OSError, match="model.safetensors' is a file; pass the folder that holds its config.json"):
        pipeline(model=str(weights))
    run = tmp_path / "run"
    shutil.copytree(classifier_folder, run / "checkpoint-4")
    with pytest.raises(ValueError, match=r"holds no config.json .*the Trainer's \['checkpoint-4'\]; pass one of those"):
        pipeline(model=str(run))
