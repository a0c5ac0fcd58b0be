"""Pushes of one kind of checkpoint over another (session 70 leftovers): a single-modality model and a fusion model
are other kinds to each other, as a full model and a LoRA adapter are, and every push route (`citrus push`,
`model.push_to_hub`, `Trainer.push_to_hub`, `push_adapter_to_hub`) deletes the other modality's extractor. Clients run
in subprocesses pointed at the test hub (see conftest.py): the tests' scripts in one client online, then the offline
reads in one more (two clients, not four: each costs seconds of imports)."""

from __future__ import annotations

import pytest
import torch
from hub_server import DEFAULT_USER, ScriptResults, in_one_client, printed_by_each
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

SINGLE_OVER_FUSION = f"{DEFAULT_USER}/citrus-tiny-single-over-fusion"
FUSION_OVER_SINGLE = f"{DEFAULT_USER}/citrus-tiny-fusion-over-single"
TRAINER_OVER_FUSION = f"{DEFAULT_USER}/citrus-tiny-trainer-over-fusion"
ADAPTER_OVER_FUSION = f"{DEFAULT_USER}/citrus-tiny-adapter-over-fusion"

KINDS_SCRIPT = """
import json
import numpy as np
from datasets import Dataset
from huggingface_hub import HfApi
from transformers import AutoFeatureExtractor, AutoProcessor, Trainer, TrainingArguments
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.publishing import push_adapter_to_hub
from citrus_hf.training.lora import apply_lora

api = HfApi()
files = lambda repo: sorted(api.list_repo_files(repo))
fusion = lambda: CiTrusFusionForSequenceClassification.from_pretrained("fusion")
single = lambda: CiTrusForSequenceClassification.from_pretrained("single")

fusion().push_to_hub("__SINGLE_OVER_FUSION__")
single().push_to_hub("__SINGLE_OVER_FUSION__")
processor = type(AutoProcessor.from_pretrained("__SINGLE_OVER_FUSION__")).__name__

single().push_to_hub("__FUSION_OVER_SINGLE__")
assert main(["push", "fusion", "__FUSION_OVER_SINGLE__"]) == 0
try:  # the fusion model's repository holds no single-modality extractor to load
    fusion_extractor = type(AutoFeatureExtractor.from_pretrained("__FUSION_OVER_SINGLE__")).__name__
except (OSError, ValueError) as error:
    fusion_extractor = type(error).__name__

fusion().push_to_hub("__TRAINER_OVER_FUSION__")
rows = Dataset.from_dict({
    "input_values": np.random.default_rng(0).standard_normal((4, 1, 200)).astype(np.float32), "labels": [0, 1, 2, 0],
})
args = TrainingArguments(
    "out", max_steps=1, per_device_train_batch_size=4, use_cpu=True, report_to="none",
    hub_model_id="__TRAINER_OVER_FUSION__",
)
trainer = Trainer(model=single(), args=args, train_dataset=rows)
trainer.train()
trainer.push_to_hub()

fusion().push_to_hub("__ADAPTER_OVER_FUSION__")
push_adapter_to_hub(apply_lora(single(), verbose=False), "__ADAPTER_OVER_FUSION__")
print("RESULT:", json.dumps({
    "single_over_fusion": files("__SINGLE_OVER_FUSION__"), "processor": processor,
    "fusion_over_single": files("__FUSION_OVER_SINGLE__"),
    "fusion_extractor": fusion_extractor,
    "fusion_processor": type(AutoProcessor.from_pretrained("__FUSION_OVER_SINGLE__")).__name__,
    "trainer_over_fusion": files("__TRAINER_OVER_FUSION__"), "adapter_over_fusion": files("__ADAPTER_OVER_FUSION__"),
}))
"""


def _tiny_fusion() -> CiTrusFusionForSequenceClassification:
    ecg = CiTrusConfig(**TINY, channel_modalities=["ecg"])
    eda = CiTrusConfig(
        **{**TINY, "sampling_rate": 20, "context_length": 80, "patch_length": 10, "spectrogram_n_fft": 10},
        channel_modalities=["eda"],
    )
    return CiTrusFusionForSequenceClassification(
        CiTrusFusionConfig(modality_configs={"ecg": ecg, "eda": eda}, num_labels=3)
    )


def test_a_single_modality_push_and_a_fusion_push_replace_each_others_extractor(runs):
    """A single-modality model pushed over a fusion repository left its processor_config.json, which AutoProcessor
    read as the fusion processor (and refused the single-modality config), and a fusion model pushed over a
    single-modality one left preprocessor_config.json, which AutoFeatureExtractor loaded for the fusion model (a
    single-modality extractor of the other model's contract). Every push route now deletes the other modality's extractor."""
    result = runs["kinds"]
    assert "preprocessor_config.json" in result["single_over_fusion"]
    assert "processor_config.json" not in result["single_over_fusion"]
    assert result["processor"] == "CiTrusFeatureExtractor"
    assert "processor_config.json" in result["fusion_over_single"]
    assert "preprocessor_config.json" not in result["fusion_over_single"]
    assert result["fusion_extractor"] != "CiTrusFeatureExtractor"
    assert result["fusion_processor"] == "CiTrusFusionProcessor"
    assert {"config.json", "model.safetensors"} <= set(result["trainer_over_fusion"])
    assert "processor_config.json" not in result["trainer_over_fusion"]
    assert "adapter_config.json" in result["adapter_over_fusion"]
    assert not {"processor_config.json", "preprocessor_config.json"} & set(result["adapter_over_fusion"])


PEFT_OVER_MODEL = f"{DEFAULT_USER}/citrus-tiny-peft-over-model"
PEFT_OVER_ADAPTER = f"{DEFAULT_USER}/citrus-tiny-peft-over-adapter"

PEFT_SCRIPT = """
import json
import numpy as np
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from huggingface_hub import HfApi
from transformers import pipeline
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.publishing import push_adapter_to_hub, push_to_hub
from citrus_hf.training.lora import apply_lora, load_adapter

api = HfApi()
files = lambda repo: sorted(api.list_repo_files(repo))

def classifier(labels):
    return CiTrusForSequenceClassification.from_pretrained(
        "pretrained", num_labels=3, id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)}
    )

push_to_hub(classifier(["a", "b", "c"]), "__PEFT_OVER_MODEL__")
apply_lora(classifier(["a", "b", "c"]), verbose=False).push_to_hub("__PEFT_OVER_MODEL__")  # peft's own push

push_adapter_to_hub(apply_lora(classifier(["walk", "run", "sit"]), verbose=False), "__PEFT_OVER_ADAPTER__")
apply_lora(classifier(["x", "y", "z"]), verbose=False).push_to_hub("__PEFT_OVER_ADAPTER__")
recording = np.random.default_rng(0).standard_normal(200).astype(np.float32)
labels = pipeline(model="__PEFT_OVER_ADAPTER__")(recording, sampling_rate=100, top_k=3)
print("RESULT:", json.dumps({
    "over_model": files("__PEFT_OVER_MODEL__"), "over_adapter": files("__PEFT_OVER_ADAPTER__"),
    "load_adapter_labels": sorted(load_adapter(None, "__PEFT_OVER_ADAPTER__").config.id2label.values()),
    "pipeline_labels": sorted(entry["label"] for entry in labels["labels"]),
}))
"""


def test_peft_own_push_of_a_citrus_adapter_replaces_the_other_kind(runs):
    """peft's `PeftModel.push_to_hub` deleted nothing: over a full model it left config.json and model.safetensors
    beside the adapter, and over an adapter pushed by this package it left that adapter's citrus_task_config.json,
    whose classes (walk, run, sit) `load_adapter` and the pipeline gave the new adapter's outputs without a word."""
    result = runs["peft"]
    assert {"adapter_config.json", "adapter_model.safetensors"} <= set(result["over_model"])
    assert not {"config.json", "model.safetensors", "preprocessor_config.json"} & set(result["over_model"])
    # peft's push uploads the new adapter's own task config (session 71), which replaces the earlier one's
    assert "citrus_task_config.json" in result["over_adapter"]
    assert result["load_adapter_labels"] == ["x", "y", "z"]
    assert result["pipeline_labels"] == ["x", "y", "z"]


CACHED = f"{DEFAULT_USER}/citrus-tiny-weights-cached"
NO_EXTRACTOR = f"{DEFAULT_USER}/citrus-tiny-no-extractor"
CONFIG_ONLY = f"{DEFAULT_USER}/citrus-tiny-config-cached"

DOWNLOAD = """
import json
from huggingface_hub import HfApi
from transformers import AutoConfig, AutoModelForSequenceClassification
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import pipeline
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.publishing import push_to_hub

push_to_hub(CiTrusForSequenceClassification.from_pretrained("single"), "__CACHED__")
AutoModelForSequenceClassification.from_pretrained("__CACHED__")  # caches the config and the weights only
push_to_hub(CiTrusForSequenceClassification.from_pretrained("single"), "__CONFIG_ONLY__")
AutoConfig.from_pretrained("__CONFIG_ONLY__")  # caches the config only
HfApi().create_repo("__NO_EXTRACTOR__")
HfApi().upload_folder(repo_id="__NO_EXTRACTOR__", folder_path="single")  # published without an extractor
try:
    pipeline(model="__NO_EXTRACTOR__")  # the cache records that the repository has none
except ValueError:
    pass
print("RESULT:", json.dumps({}))
"""

OFFLINE = """
import json
import citrus_hf
from transformers import pipeline
from citrus_hf.loading import load_feature_extractor, load_pretrained

def message(load):
    try:
        load()
    except (OSError, ValueError) as error:
        return str(error)

print("RESULT:", json.dumps({
    "pipeline": message(lambda: pipeline(model="__CACHED__")),
    "load_feature_extractor": message(lambda: load_feature_extractor("__CACHED__")),
    "never_published": message(lambda: pipeline(model="__NO_EXTRACTOR__")),
    "weights": message(lambda: load_pretrained("__CONFIG_ONLY__")),
}))
"""


def test_an_extractor_missing_from_the_offline_cache_is_not_called_missing_from_the_checkpoint(runs):
    """Offline, with a Hub cache that held a model's config and weights but not its preprocessor_config.json (as
    `AutoModel.from_pretrained` caches them), the pipeline advised saving one built from the config and
    `load_feature_extractor` called the repository an incomplete checkpoint to publish again. Both now say the file
    was never downloaded, and to download it once online (so do the weights where only the config was cached); a
    repository published without one keeps the old advice."""
    runs.output("download")  # (the cache it reads is DOWNLOAD's: its own failure, with its output, if it failed)
    result = runs["offline"]
    for key in ("pipeline", "load_feature_extractor"):
        assert "never downloaded" in result[key] and f"snapshot_download('{CACHED}')" in result[key], result[key]
        assert "from_config" not in result[key] and "Publish it" not in result[key]
    assert "never downloaded" not in result["never_published"]
    assert "preprocessor_config.json" in result["never_published"]
    assert "never downloaded" in result["weights"] and "model.safetensors" in result["weights"], result["weights"]


REPOS = {
    "__SINGLE_OVER_FUSION__": SINGLE_OVER_FUSION,
    "__FUSION_OVER_SINGLE__": FUSION_OVER_SINGLE,
    "__TRAINER_OVER_FUSION__": TRAINER_OVER_FUSION,
    "__ADAPTER_OVER_FUSION__": ADAPTER_OVER_FUSION,
    "__PEFT_OVER_MODEL__": PEFT_OVER_MODEL,
    "__PEFT_OVER_ADAPTER__": PEFT_OVER_ADAPTER,
    "__CACHED__": CACHED,
    "__NO_EXTRACTOR__": NO_EXTRACTOR,
    "__CONFIG_ONLY__": CONFIG_ONLY,
}


def _named(script: str) -> str:
    for name, repo in REPOS.items():
        script = script.replace(name, repo)
    return script


@pytest.fixture(scope="module")
def runs(make_hub_client, tmp_path_factory) -> ScriptResults:
    """The results of KINDS_SCRIPT, PEFT_SCRIPT and DOWNLOAD (in one client, in that order) and then of OFFLINE (with
    HF_HUB_OFFLINE=1, in the same Hub cache), by short name. The folders: a tiny ECG + EDA fusion classifier
    (fusion/), a single-modality one (single/) and a pre-trained model (pretrained/)."""
    workdir = tmp_path_factory.mktemp("kinds70")
    torch.manual_seed(0)
    _tiny_fusion().save_pretrained(workdir / "fusion")
    CiTrusForSequenceClassification(CiTrusConfig(**TINY, num_labels=3)).save_pretrained(workdir / "single")
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(workdir / "pretrained")
    client = make_hub_client(workdir)
    scripts = {"kinds": _named(KINDS_SCRIPT), "peft": _named(PEFT_SCRIPT), "download": _named(DOWNLOAD)}
    online = printed_by_each(client(in_one_client(scripts)))
    return ScriptResults({**online, "offline": client(_named(OFFLINE), HF_HUB_OFFLINE="1")})
