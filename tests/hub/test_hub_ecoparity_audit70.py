"""Pushes over what a repository already holds, as huggingface_hub's `upload_folder` leaves it (an audit of upstream
traps: a file the new push does not write stays unless the commit deletes it). Clients run in subprocesses pointed at
the test hub (see conftest.py)."""

from __future__ import annotations

import pytest
from hub_server import DEFAULT_USER, ScriptResults, results_in_one_client

REPO = f"{DEFAULT_USER}/citrus-tiny-adapter-extractor"
OVER_MODEL = f"{DEFAULT_USER}/citrus-tiny-adapter-over-model"

SCRIPT = """
import json
from huggingface_hub import HfApi
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.publishing import push_adapter_to_hub, push_to_hub
from citrus_hf.training.lora import apply_lora

api = HfApi()
files = lambda repo: sorted(api.list_repo_files(repo))
adapter = lambda: apply_lora(CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3), verbose=False)
hopping = CiTrusFeatureExtractor.from_config(adapter().config)
hopping.hop_length = 100  # windows every second: the alignment the first adapter was trained with
push_adapter_to_hub(adapter(), "__REPO__", feature_extractor=hopping)
with_extractor = files("__REPO__")
push_adapter_to_hub(adapter(), "__REPO__")  # another adapter, trained on the model's own alignment
without_extractor = files("__REPO__")

model = CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3)
push_to_hub(model, "__OVER_MODEL__", feature_extractor=hopping)
push_adapter_to_hub(adapter(), "__OVER_MODEL__")
print("RESULT:", json.dumps({
    "with_extractor": with_extractor, "without_extractor": without_extractor, "over_model": files("__OVER_MODEL__"),
}))
"""


def test_an_adapter_pushed_without_an_extractor_leaves_none_of_an_earlier_push(runs):
    """A push of an adapter without a feature extractor left the repository's preprocessor_config.json of an
    earlier push (another adapter's, or the full model's it replaced) in place, and the pipeline aligned the new
    adapter's inputs with it (a hop, a fixed normalisation, another model's rate) where its own folder aligned them as
    the model's config says. The repository now holds what the adapter's folder holds."""
    result = runs["test_an_adapter_pushed_without_an_extractor_leaves_none_of_an_earlier_push"]
    assert "preprocessor_config.json" in result["with_extractor"]
    assert "adapter_config.json" in result["without_extractor"]
    assert "preprocessor_config.json" not in result["without_extractor"]
    assert "adapter_config.json" in result["over_model"] and "config.json" not in result["over_model"]
    assert "preprocessor_config.json" not in result["over_model"]


TRAINER_REPO = f"{DEFAULT_USER}/citrus-tiny-trainer-kinds"

TRAINER_SCRIPT = """
import json, time
import numpy as np, torch
from datasets import Dataset
from huggingface_hub import HfApi
from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora, load_adapter

api = HfApi()
files = lambda: sorted(api.list_repo_files("__REPO__"))
rng = np.random.default_rng(0)
rows = Dataset.from_dict(
    {"input_values": rng.standard_normal((8, 1, 200)).astype(np.float32), "labels": [i % 3 for i in range(8)]}
)
classifier = lambda: CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3)

def push(model, folder, blocking=True):
    args = TrainingArguments(
        folder, max_steps=1, per_device_train_batch_size=4, use_cpu=True, report_to="none", hub_model_id="__REPO__"
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows)
    trainer.train()
    pushed = trainer.push_to_hub(blocking=blocking)
    if not blocking:  # the deletion follows the upload in the background
        pushed.result()
        for _ in range(100):
            if "config.json" not in files():
                break
            time.sleep(0.1)
    return trainer.model.eval()

push(apply_lora(classifier(), verbose=False), "adapter")
full = push(classifier(), "full")
after_full = files()
x = torch.randn(2, 1, 200)
with torch.no_grad():
    loaded = AutoModelForSequenceClassification.from_pretrained("__REPO__").eval()
    same = torch.allclose(loaded(input_values=x).logits, full(input_values=x).logits, atol=1e-6)
push(apply_lora(classifier(), verbose=False), "adapter_again", blocking=False)
after_adapter = files()
print("RESULT:", json.dumps({
    "after_full": after_full, "same": same, "after_adapter": after_adapter,
    "loads_as_adapter": type(load_adapter(None, "__REPO__")).__name__,
}))
"""


def test_the_trainers_push_replaces_the_other_kind_of_checkpoint(runs):
    """`Trainer.push_to_hub` uploads its output folder and deletes nothing: a full model pushed where a LoRA adapter
    was left the adapter's files beside it, and the repository was refused by the Auto classes as "a CiTrus LoRA
    adapter" (whose advice, `load_adapter`, loaded the old adapter), and an adapter pushed over a model left the
    model's files. A push of one kind now deletes the other kind's files, as `citrus push` and `push_to_hub` do."""
    result = runs["test_the_trainers_push_replaces_the_other_kind_of_checkpoint"]
    adapter_files = {"adapter_config.json", "adapter_model.safetensors", "citrus_task_config.json"}
    assert {"config.json", "model.safetensors"} <= set(result["after_full"])
    assert not adapter_files & set(result["after_full"])
    assert result["same"]
    assert adapter_files <= set(result["after_adapter"])
    assert not {"config.json", "model.safetensors"} & set(result["after_adapter"])
    assert result["loads_as_adapter"].startswith("Peft")


@pytest.fixture(scope="module")
def runs(make_hub_client, workdir_with_pretrained) -> ScriptResults:
    """Each test's script's result, by test name, from one client (each client costs seconds of imports)."""
    tmp_path = workdir_with_pretrained("ecoparity70")
    scripts = {
        "test_an_adapter_pushed_without_an_extractor_leaves_none_of_an_earlier_push": SCRIPT.replace(
            "__REPO__", REPO
        ).replace("__OVER_MODEL__", OVER_MODEL),
        "test_the_trainers_push_replaces_the_other_kind_of_checkpoint": TRAINER_SCRIPT.replace(
            "__REPO__", TRAINER_REPO
        ),
    }
    return results_in_one_client(make_hub_client(tmp_path), scripts)
