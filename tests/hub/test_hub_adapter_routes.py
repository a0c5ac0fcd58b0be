"""LoRA adapter repositories through transformers' entry points: `pipeline(model=repo)` runs a Hub adapter as it runs
the local folder (the repo has adapter_config.json and no config.json), and the Auto classes name a CiTrus adapter
repo as one instead of loading its base with a default head. Clients run in subprocesses pointed at the test hub (see
conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hub_server import CALL_MESSAGE, DEFAULT_USER, client_result
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining

BASE_REPO = f"{DEFAULT_USER}/citrus-tiny-routes-base"
CITRUS_ADAPTER_REPO = (
    f"{DEFAULT_USER}/citrus-tiny-routes-lora"  # save_adapter's files, citrus_task_config.json included
)
PEFT_ADAPTER_REPO = f"{DEFAULT_USER}/citrus-tiny-routes-peft"  # peft's own push_to_hub

# The pusher: the pre-trained base, then two 3-class adapters on it (LoRA B matrices and head perturbed, as training
# would leave them), with the logits the pipeline should give on one recording (the extractor the folder route uses).
PUSH = """
import json, numpy as np, torch
from peft import LoraConfig, get_peft_model
from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.publishing import push_adapter_to_hub, push_to_hub
from citrus_hf.training.lora import apply_lora

push_to_hub(CiTrusForPretraining.from_pretrained("pretrained"), "__BASE__")
recording = np.load("recording.npy")

def perturbed(model):
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))
    return model.eval()

def logits(model):
    extractor = CiTrusFeatureExtractor.from_config(model.get_base_model().config)
    with torch.no_grad():
        inputs = extractor(recording, sampling_rate=100, return_tensors="pt")["input_values"]
        return sorted(model(input_values=inputs).logits[0].tolist())

citrus = perturbed(apply_lora(CiTrusForSequenceClassification.from_pretrained("__BASE__", num_labels=3), verbose=False))
push_adapter_to_hub(citrus, "__CITRUS__")
plain = CiTrusForSequenceClassification.from_pretrained("__BASE__", num_labels=3)
plain = perturbed(get_peft_model(plain, LoraConfig(task_type="SEQ_CLS", r=2, target_modules=["q_proj", "v_proj"])))
plain.push_to_hub("__PEFT__")
print("RESULT:", json.dumps({"citrus": logits(citrus), "peft": logits(plain)}))
"""

# A fresh client (empty cache): the routes a transformers user takes with a repo id.
LOAD = (
    """
import json, numpy as np
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import AutoModelForSequenceClassification, pipeline

recording = np.load("recording.npy")

def scores(repo):
    result = pipeline(model=repo)(recording, sampling_rate=100, backend="torch", function_to_apply="none", top_k=3)
    return sorted(entry["score"] for entry in result["labels"])

"""
    + CALL_MESSAGE
    + """

print("RESULT:", json.dumps({
    "citrus": scores("__CITRUS__"),
    "peft": scores("__PEFT__"),
    "auto_citrus": message(lambda: AutoModelForSequenceClassification.from_pretrained("__CITRUS__")),
    "auto_citrus_ignore": message(
        lambda: AutoModelForSequenceClassification.from_pretrained("__CITRUS__", ignore_mismatched_sizes=True)
    ),
    "auto_peft": message(lambda: AutoModelForSequenceClassification.from_pretrained("__PEFT__")),
    "auto_peft_labels": message(lambda: AutoModelForSequenceClassification.from_pretrained("__PEFT__", num_labels=3)),
}))
"""
)


def script(text: str) -> str:
    for marker, repo in (("__BASE__", BASE_REPO), ("__CITRUS__", CITRUS_ADAPTER_REPO), ("__PEFT__", PEFT_ADAPTER_REPO)):
        text = text.replace(marker, repo)
    return text


@pytest.fixture(scope="module")
def routes(hub, make_hub_client, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("citrus_adapter_routes")
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(workdir / "pretrained")
    np.save(workdir / "recording.npy", np.random.default_rng(0).standard_normal(200).astype(np.float32))
    client = make_hub_client(workdir)
    pushed = client_result(client(script(PUSH)))
    loaded = client_result(client(script(LOAD), hf_home=workdir / "fresh_cache"))
    return pushed, loaded


def test_pipeline_runs_a_hub_adapter_repo_as_the_local_folder(routes):
    """`pipeline(model=<adapter repo>)` failed with "Could not load model ... with any of the following classes" and a
    log line asking to fix a config.json the repository does not have."""
    pushed, loaded = routes
    for kind in ("citrus", "peft"):
        np.testing.assert_allclose(loaded[kind], pushed[kind], rtol=0, atol=1e-5)


def test_auto_classes_name_a_hub_adapter_repo(routes):
    """The package's guard looked for citrus_task_config.json in local folders only: a Hub adapter got the error
    blaming its base, whose advice (`ignore_mismatched_sizes=True`) loaded a random head without a word."""
    _, loaded = routes
    for key in ("auto_citrus", "auto_citrus_ignore"):
        kind, text = loaded[key]
        assert kind == "ValueError" and "is a CiTrus LoRA adapter" in text and "load_adapter(None" in text
    # peft's own push_to_hub of a CiTrus adapter uploads its task config too (the push hook), so the repo is a CiTrus
    # adapter like the other
    kind, text = loaded["auto_peft"]
    assert kind == "ValueError" and "is a CiTrus LoRA adapter" in text and "load_adapter(None" in text
    assert "pass `ignore_mismatched_sizes=True`" not in text
    # with num_labels given, as with the package's own push (transformers' route loaded it with LABEL_i names)
    kind, text = loaded["auto_peft_labels"]
    assert kind == "ValueError" and "is a CiTrus LoRA adapter" in text and "load_adapter(None" in text
