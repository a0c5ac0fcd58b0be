"""Session 70's leftovers on the Hub: peft's own `PeftModel.push_to_hub` of a CiTrus adapter uploads its
`citrus_task_config.json` (classes and task), peft's `load_adapter` of a Hub adapter under a name reads that file as it
reads a folder's, and a model object loaded from a Hub id finds its feature extractor there. Clients run in
subprocesses pointed at the test hub (see conftest.py): the three tests' scripts in one client online, then two of them
in one client offline (two clients, not five: each costs seconds of imports)."""

from __future__ import annotations

import pytest
import torch
from hub_server import DEFAULT_USER, ScriptResults, in_one_client, printed_by_each
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining

PEFT_PUSH = f"{DEFAULT_USER}/citrus-tiny-peft-push-task-config"
FULL = f"{DEFAULT_USER}/citrus-tiny-object-from-hub"

CLASSIFIER = """
import json
import numpy as np
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import pipeline
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora, load_adapter

def classifier(labels):
    return CiTrusForSequenceClassification.from_pretrained(
        "pretrained", num_labels=3, id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)}
    )

recording = np.random.default_rng(0).standard_normal(200).astype(np.float32)
names = lambda result: sorted(entry["label"] for entry in result["labels"])
"""

PEFT_PUSH_SCRIPT = (
    CLASSIFIER
    + """
from huggingface_hub import HfApi

apply_lora(classifier(["walk", "run", "sit"]), verbose=False).push_to_hub("__REPO__")  # peft's own push
opened = apply_lora(classifier(["up", "down", "left"]), verbose=False).push_to_hub("__REPO__", create_pr=True)
print("RESULT:", json.dumps({
    "files": sorted(HfApi().list_repo_files("__REPO__")),
    "load_adapter": sorted(load_adapter(None, "__REPO__").config.id2label.values()),
    "pipeline": names(pipeline(model="__REPO__")(recording, sampling_rate=100, top_k=3)),
    "pr": sorted(load_adapter(None, "__REPO__", revision=opened.pr_revision).config.id2label.values()),
}))
"""
)


def _pretrained(tmp_path) -> None:
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(tmp_path / "pretrained")


def test_peft_own_push_uploads_the_adapters_task_config(runs):
    """peft's `PeftModel.push_to_hub` uploaded no citrus_task_config.json, so the adapter loaded (load_adapter, the
    pipeline) with LABEL_0..LABEL_2 for its classes; with create_pr=True the pull request's branch lacked it too."""
    result = runs["online"]["peft_push"]
    assert "citrus_task_config.json" in result["files"]
    assert result["load_adapter"] == ["run", "sit", "walk"]
    assert result["pipeline"] == ["run", "sit", "walk"]
    assert result["pr"] == ["down", "left", "up"]


HUB_ADAPTER = f"{DEFAULT_USER}/citrus-tiny-hub-adapter-named"

PEFT_LOAD_SCRIPT = (
    CLASSIFIER
    + """
import os
from citrus_hf.publishing import push_adapter_to_hub

if not os.environ.get("HF_HUB_OFFLINE"):
    push_adapter_to_hub(apply_lora(classifier(["walk", "run", "sit"]), verbose=False), "__REPO__")
model = apply_lora(classifier(["a", "b", "c"]), verbose=False)
model.load_adapter("__REPO__", adapter_name="hub")
model.set_adapter("hub")
hub_names = sorted(model.get_base_model().config.id2label.values())
model.set_adapter("default")
try:  # another scaling under a name taken
    apply_lora(classifier(["a", "b", "c"]), alpha=4, verbose=False).load_adapter("__REPO__", adapter_name="default")
    taken = "loaded"
except ValueError as error:
    taken = str(error)
print("RESULT:", json.dumps({
    "hub": hub_names, "default": sorted(model.get_base_model().config.id2label.values()), "taken": taken,
}))
"""
)


def test_peft_load_adapter_of_a_hub_id_reads_its_class_names(runs):
    """peft's `load_adapter("user/repo", adapter_name=...)` kept the model's class names for the Hub adapter (only a
    local folder's citrus_task_config.json was read), and loaded another scaling into a taken name without the
    settings check a folder gets; both hold offline, from the Hub cache."""
    for result in (runs["online"]["peft_load"], runs["offline"]["peft_load"]):
        assert result["hub"] == ["run", "sit", "walk"]
        assert result["default"] == ["a", "b", "c"]
        assert "already on this model with other settings" in result["taken"]


OBJECT_SCRIPT = (
    CLASSIFIER
    + """
import os
from citrus_hf import CiTrusFeatureExtractor
from citrus_hf.publishing import push_to_hub

if not os.environ.get("HF_HUB_OFFLINE"):
    model = classifier(["a", "b", "c"])
    extractor = CiTrusFeatureExtractor.from_config(model.config, alignment="interpolate")
    push_to_hub(model, "__REPO__", feature_extractor=extractor)
served = pipeline("time-series-classification", model=CiTrusForSequenceClassification.from_pretrained("__REPO__"))
print("RESULT:", json.dumps({"alignment": served.feature_extractor.alignment}))
"""
)


def test_pipeline_of_a_model_object_from_a_hub_id_finds_its_extractor(runs):
    """`pipeline(task, model=CiTrusForSequenceClassification.from_pretrained("user/repo"))` refused the model for
    want of `feature_extractor=`: the fallback looked only in local and bundled folders, not in the repository the
    model came from. It now reads the repository's extractor (the one published, not a default), offline too."""
    assert runs["online"]["object"]["alignment"] == "interpolate"
    assert runs["offline"]["object"]["alignment"] == "interpolate"


SCRIPTS = {
    "peft_push": PEFT_PUSH_SCRIPT.replace("__REPO__", PEFT_PUSH),
    "peft_load": PEFT_LOAD_SCRIPT.replace("__REPO__", HUB_ADAPTER),
    "object": OBJECT_SCRIPT.replace("__REPO__", FULL),
}


@pytest.fixture(scope="module")
def runs(make_hub_client, tmp_path_factory) -> dict[str, ScriptResults]:
    """Each script's result online (all three, in that order, in one client), and offline (those that read the Hub
    cache again, in one more), by script name."""
    workdir = tmp_path_factory.mktemp("leftovers71")
    _pretrained(workdir)
    client = make_hub_client(workdir)
    online = printed_by_each(client(in_one_client(SCRIPTS)))
    offline = {name: SCRIPTS[name] for name in ("peft_load", "object")}
    offline = printed_by_each(client(in_one_client(offline), HF_HUB_OFFLINE="1"))
    return {"online": ScriptResults(online), "offline": ScriptResults(offline)}
