"""Pushes over what a repository already holds (session 56 Hub audit): a full model pushed where a LoRA adapter was (or
the reverse) replaces the other kind's files, which made the repository load as neither, and a model loaded from one
repository and pushed to another takes that repository's feature extractor along (the copy had none, and its card's
usage code, the pipeline and `AutoFeatureExtractor` failed on it). Clients run in subprocesses pointed at the test hub
(see conftest.py)."""

from __future__ import annotations

import torch
from hub_server import DEFAULT_USER, client_result
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining

REPO = f"{DEFAULT_USER}/citrus-tiny-push-kinds"
SOURCE = f"{DEFAULT_USER}/citrus-tiny-push-source"
COPY = f"{DEFAULT_USER}/citrus-tiny-push-copy"

SCRIPT = """
import json
from huggingface_hub import HfApi
from transformers import AutoModelForSequenceClassification, AutoFeatureExtractor
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.publishing import push_adapter_to_hub, push_to_hub
from citrus_hf.training.lora import apply_lora, load_adapter

api = HfApi()
files = lambda repo: sorted(api.list_repo_files(repo))
model = CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3)
push_adapter_to_hub(apply_lora(model, verbose=False), "__REPO__")
after_adapter = files("__REPO__")
push_to_hub(CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3), "__REPO__")
after_model = files("__REPO__")
loads_as_model = type(AutoModelForSequenceClassification.from_pretrained("__REPO__")).__name__
push_adapter_to_hub(apply_lora(CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3),
                               verbose=False), "__REPO__")
after_adapter_again = files("__REPO__")
loads_as_adapter = type(load_adapter(None, "__REPO__")).__name__

fixed = dict(normalization="fixed", normalization_mean=[0.5], normalization_std=[2.0])
source = CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3, **fixed)
push_to_hub(source, "__SOURCE__", feature_extractor=CiTrusFeatureExtractor.from_config(source.config))
push_to_hub(AutoModelForSequenceClassification.from_pretrained("__SOURCE__"), "__COPY__")
copied = AutoFeatureExtractor.from_pretrained("__COPY__")
print("RESULT:", json.dumps({
    "after_adapter": after_adapter, "after_model": after_model, "after_adapter_again": after_adapter_again,
    "loads_as_model": loads_as_model, "loads_as_adapter": loads_as_adapter,
    "copy_files": files("__COPY__"), "copy_normalization": [copied.normalization, copied.normalization_std],
}))
"""


def test_a_push_replaces_the_other_kind_and_a_copy_takes_its_extractor(make_hub_client, tmp_path):
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(tmp_path / "pretrained")
    script = SCRIPT.replace("__REPO__", REPO).replace("__SOURCE__", SOURCE).replace("__COPY__", COPY)
    result = client_result(make_hub_client(tmp_path)(script))
    adapter_files = {"adapter_config.json", "adapter_model.safetensors", "citrus_task_config.json"}
    model_files = {"config.json", "model.safetensors"}
    assert adapter_files <= set(result["after_adapter"]) and not model_files & set(result["after_adapter"])
    assert model_files <= set(result["after_model"]) and not adapter_files & set(result["after_model"])
    assert adapter_files <= set(result["after_adapter_again"])
    assert not model_files & set(result["after_adapter_again"])
    assert result["loads_as_model"] == "CiTrusForSequenceClassification"
    assert result["loads_as_adapter"].startswith("Peft")
    assert "preprocessor_config.json" in result["copy_files"]
    assert result["copy_normalization"] == ["fixed", [2.0]]
