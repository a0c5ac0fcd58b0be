"""LoRA adapters through the Hub protocol: a pre-trained base and an adapter trained on top of it are pushed, then a
fresh client (empty cache) downloads the adapter, rebuilds the task model on the base from the Hub, and gets the
pusher's outputs. Clients run in subprocesses pointed at the test hub (see conftest.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import safetensors.torch
import torch
from hub_server import CALL_MESSAGE, DEFAULT_USER, client_result
from huggingface_hub import ModelCard
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining

BASE_REPO = f"{DEFAULT_USER}/citrus-tiny-pretrained"
ADAPTER_REPO = f"{DEFAULT_USER}/citrus-tiny-lora"
CLI_ADAPTER_REPO = f"{DEFAULT_USER}/citrus-tiny-lora-cli"

# The pusher: publishes the pre-trained base, builds a 3-class, 2-channel task model on it from the Hub, applies
# LoRA, gives the adapter non-zero weights (as training would) and publishes it.
PUSH = """
import json, numpy as np, torch
from peft import get_peft_model_state_dict
from safetensors.torch import save_file
from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.publishing import build_model_card, push_adapter_to_hub, push_to_hub
from citrus_hf.training.lora import apply_lora

base = CiTrusForPretraining.from_pretrained("pretrained")
push_to_hub(base, "__BASE__", card=build_model_card(base, repo_id="__BASE__"))
task = CiTrusForSequenceClassification.from_pretrained(
    "__BASE__", num_labels=3, num_channels=2, id2label={0: "rest", 1: "walk", 2: "run"}
)
lora = apply_lora(task, verbose=False)
generator = torch.Generator().manual_seed(1)
with torch.no_grad():
    for name, parameter in lora.named_parameters():
        if "lora_B" in name or "modules_to_save" in name:
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
lora.eval()
inputs = torch.from_numpy(np.load("inputs.npy"))
with torch.no_grad():
    np.save("pushed_logits.npy", lora(input_values=inputs).logits.numpy())
save_file(get_peft_model_state_dict(lora), "pushed_adapter.safetensors")
extractor = CiTrusFeatureExtractor.from_config(task.config)
commit = push_adapter_to_hub(lora, "__ADAPTER__", extractor, commit_message="Publish the tiny LoRA adapter")
# the same adapter saved as `citrus finetune --lora` saves it, then published from the command line
from citrus_hf.commands.main import main
from citrus_hf.training.lora import save_adapter
save_adapter(lora, "saved_adapter", extractor)
cli_code = main(["push", "saved_adapter", "__CLI_ADAPTER__", "--commit-message", "From the command line"])
refused_code = main(["push", "saved_adapter", "__CLI_ADAPTER__", "--eval-results", "results.json"])
print("RESULT:", json.dumps({
    "commit": commit.oid, "extractor": extractor.to_dict(), "cli_code": cli_code, "refused_code": refused_code,
}))
"""

# A fresh client: nothing cached, the base named by the adapter is downloaded too.
LOAD = (
    """
import json, numpy as np, torch
from citrus_hf.loading import load_feature_extractor
from citrus_hf.training.lora import load_adapter, merge_adapter

inputs = torch.from_numpy(np.load("inputs.npy"))
recorded = load_adapter(None, "__ADAPTER__")
explicit = load_adapter("__BASE__", "__ADAPTER__")
with torch.no_grad():
    np.save("recorded_logits.npy", recorded(input_values=inputs).logits.numpy())
    np.save("explicit_logits.npy", explicit(input_values=inputs).logits.numpy())
    np.save("merged_logits.npy", merge_adapter(explicit)(input_values=inputs).logits.numpy())

"""
    + CALL_MESSAGE
    + """

print("RESULT:", json.dumps({
    "training": recorded.training,
    "id2label": recorded.get_base_model().config.id2label,
    "extractor": load_feature_extractor("__ADAPTER__").to_dict(),
    "not_an_adapter": message(lambda: load_adapter("__BASE__", "__BASE__")),
    "missing_adapter": message(lambda: load_adapter("__BASE__", "__USER__/no-such-adapter")),
    "missing_revision": message(lambda: load_adapter("__BASE__", "__ADAPTER__", revision="v9")),
}))
"""
)


def script(text: str) -> str:
    text = text.replace("__CLI_ADAPTER__", CLI_ADAPTER_REPO)
    return text.replace("__BASE__", BASE_REPO).replace("__ADAPTER__", ADAPTER_REPO).replace("__USER__", DEFAULT_USER)


@pytest.fixture(scope="module")
def published(hub, make_hub_client, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("citrus_adapter_hub")
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(workdir / "pretrained")
    # Synthetic noise: the tests check that outputs survive the round trip, not what the model predicts.
    np.save(workdir / "inputs.npy", np.random.default_rng(0).standard_normal((4, 2, 200)).astype(np.float32))
    client = make_hub_client(workdir)
    pushed = client_result(client(script(PUSH)))
    loaded = client_result(client(script(LOAD), hf_home=workdir / "fresh_cache"))
    return {"workdir": workdir, "pushed": pushed, "loaded": loaded}


def test_adapter_push_is_one_safetensors_commit(published, hub):
    stored = hub.repo_files(ADAPTER_REPO)
    assert sorted(stored) == [
        ".gitattributes",
        "README.md",
        "_version.py",  # the citrus-hf version the configuration records in the files it saves
        "adapter_config.json",
        "adapter_model.safetensors",
        "citrus_task_config.json",
        "configuration_citrus.py",  # the feature extractor's code, for trust_remote_code users
        "feature_extraction_citrus.py",
        "preprocessor_config.json",
        "vocabulary_citrus.py",
    ]
    repo = hub.repos[("model", ADAPTER_REPO)]
    head = repo.commits[repo.branches["main"]]
    assert head.sha == published["pushed"]["commit"] and head.title == "Publish the tiny LoRA adapter"
    adapter_config = json.loads(stored["adapter_config.json"])
    assert adapter_config["peft_type"] == "LORA" and adapter_config["task_type"] is None
    assert adapter_config["base_model_name_or_path"] == BASE_REPO
    assert adapter_config["modules_to_save"] == ["classifier"]
    task_config = json.loads(stored["citrus_task_config.json"])
    assert task_config["architectures"] == ["CiTrusForSequenceClassification"] and task_config["num_channels"] == 2
    # The weights on the hub are the pusher's adapter, tensor for tensor.
    pushed = safetensors.torch.load(stored["adapter_model.safetensors"])
    expected = safetensors.torch.load_file(published["workdir"] / "pushed_adapter.safetensors")
    assert pushed.keys() == expected.keys() and any(".lora_B." in key for key in pushed)
    assert all(torch.equal(pushed[key], expected[key]) for key in expected)


def test_citrus_push_publishes_an_adapter_folder_as_it_is(published, hub):
    """`citrus push` of the folder `citrus finetune --lora` writes: the adapter's files and weights, its own card,
    the given commit message; options that describe a full checkpoint's card are refused."""
    assert published["pushed"]["cli_code"] == 0 and published["pushed"]["refused_code"] == 2
    stored, reference = hub.repo_files(CLI_ADAPTER_REPO), hub.repo_files(ADAPTER_REPO)
    assert sorted(stored) == sorted(reference)
    pushed = safetensors.torch.load(stored["adapter_model.safetensors"])
    expected = safetensors.torch.load(reference["adapter_model.safetensors"])
    assert pushed.keys() == expected.keys() and all(torch.equal(pushed[key], expected[key]) for key in expected)
    assert json.loads(stored["adapter_config.json"])["base_model_name_or_path"] == BASE_REPO
    repo = hub.repos[("model", CLI_ADAPTER_REPO)]
    assert repo.commits[repo.branches["main"]].title == "From the command line"
    assert ModelCard(stored["README.md"].decode()).data.base_model == BASE_REPO


def test_downloaded_adapter_gives_identical_outputs(published):
    workdir = published["workdir"]
    expected = np.load(workdir / "pushed_logits.npy")
    np.testing.assert_allclose(np.load(workdir / "recorded_logits.npy"), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.load(workdir / "explicit_logits.npy"), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.load(workdir / "merged_logits.npy"), expected, rtol=0, atol=1e-5)
    loaded = published["loaded"]
    assert loaded["training"] is False
    assert loaded["id2label"] == {"0": "rest", "1": "walk", "2": "run"}
    assert loaded["extractor"] == published["pushed"]["extractor"]


def test_adapter_card_names_its_base(hub, published):
    card = ModelCard(hub.repo_files(ADAPTER_REPO)["README.md"].decode())
    assert card.data.library_name == "peft"
    assert card.data.base_model == BASE_REPO
    assert {"citrus", "lora", f"base_model:adapter:{BASE_REPO}"} <= set(card.data.tags)
    assert f"load_adapter({BASE_REPO!r}, {ADAPTER_REPO!r})" in card.text
    assert "3 classes: rest, walk, run" in card.text


def test_adapter_loading_errors_say_what_to_do(published):
    loaded = published["loaded"]
    kind, text = loaded["not_an_adapter"]
    assert kind == "OSError" and "has no adapter_config.json" in text and "load_pretrained" in text
    kind, text = loaded["missing_adapter"]
    assert kind == "OSError" and f"{DEFAULT_USER}/no-such-adapter" in text and "hf auth login" in text
    kind, text = loaded["missing_revision"]
    assert kind == "OSError" and "'v9'" in text and ADAPTER_REPO in text
