"""Pushes and loads at revisions other than main (session 65 Hub audit): a sharded push over an unsharded one left
the old model.safetensors (which loaded instead of the new weights); a model loaded from a tag and published
elsewhere took main's feature extractor; pushed back unchanged to the branch it came from it replaced that branch's
card; the first push to a new branch published apache-2.0 and no tags; a tag or a commit id as `revision` became a
branch of that name; an adapter trained on a base branch was put on main's base; `pipeline(model=adapter,
token=...)` did not pass the token to a private base; `citrus push` of an adapter again reset its licence and tags;
and `CiTrusForSequenceClassification.from_pretrained(<peft adapter Hub repo>)` failed. Clients run in subprocesses
pointed at the test hub (see conftest.py)."""

from __future__ import annotations

import torch
from hub_server import CALL_MESSAGE, DEFAULT_TOKEN, DEFAULT_USER, client_result
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining

REPO = f"{DEFAULT_USER}/citrus-tiny-revisions"
COPY = f"{DEFAULT_USER}/citrus-tiny-revisions-copy"
BASE = f"{DEFAULT_USER}/citrus-tiny-branch-base"
ADAPTER = f"{DEFAULT_USER}/citrus-tiny-branch-lora"
PEFT_ADAPTER = f"{DEFAULT_USER}/citrus-tiny-branch-peft"

MODEL_PUSHES = (
    CALL_MESSAGE
    + """
import json, torch
from huggingface_hub import HfApi, ModelCard, hf_hub_download
from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.publishing import push_to_hub

api = HfApi()
def make(bias):
    model = CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=2)
    with torch.no_grad():
        model.classifier.bias.fill_(bias)
    return model
def card(revision=None):
    return ModelCard.load(hf_hub_download("__REPO__", "README.md", revision=revision))
main_model = make(1.0)
push_to_hub(main_model, "__REPO__", CiTrusFeatureExtractor.from_config(main_model.config), license="cc-by-nc-4.0",
            tags=["har"])
# a new branch, whose extractor windows recordings with a hop: its first push names no licence
release = push_to_hub(make(2.0), "__REPO__", CiTrusFeatureExtractor.from_config(main_model.config, hop_length=100),
                      revision="release")
api.create_tag("__REPO__", tag="v2", revision=release.oid)
release_card = card("release")

# the release model, loaded from its branch unchanged, pushed back there: the branch's hand-written card stays
edited = card("release")
edited.text += "\\n\\nHAND-WRITTEN RESULTS\\n"
api.upload_file(path_or_fileobj=str(edited).encode(), path_in_repo="README.md", repo_id="__REPO__", revision="release")
push_to_hub(CiTrusForSequenceClassification.from_pretrained("__REPO__", revision="release"), "__REPO__",
            revision="release")
kept = "HAND-WRITTEN RESULTS" in card("release").text

# loaded from the tag, published under another name: the extractor saved at the tag goes along
push_to_hub(CiTrusForSequenceClassification.from_pretrained("__REPO__", revision="v2"), "__COPY__")
copied = json.loads(open(hf_hub_download("__COPY__", "preprocessor_config.json")).read())

# new weights pushed sharded over the unsharded ones
push_to_hub(make(3.0), "__REPO__", max_shard_size="8KB")
weights = sorted(name for name in api.list_repo_files("__REPO__") if "model" in name and "safetensors" in name)
reloaded = CiTrusForSequenceClassification.from_pretrained("__REPO__")
saved_config = json.loads(open(hf_hub_download("__REPO__", "config.json")).read())

refusals = [message(lambda: push_to_hub(make(4.0), "__REPO__", revision=revision)) for revision in ("v2", release.oid)]
print("RESULT:", json.dumps({
    "release_license": release_card.data.license, "release_tags": release_card.data.tags, "kept": kept,
    "copied_hop": copied["hop_length"], "weights": weights, "reloaded_bias": float(reloaded.classifier.bias[0]),
    "commit_saved": "_commit_hash" in saved_config, "refusals": refusals,
    "branches": sorted(branch.name for branch in api.list_repo_refs("__REPO__").branches),
}))
"""
)


def test_pushes_at_revisions_keep_the_branch_card_extractor_and_weights(make_hub_client, tmp_path):
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(tmp_path / "pretrained")
    script = MODEL_PUSHES.replace("__REPO__", REPO).replace("__COPY__", COPY)
    result = client_result(make_hub_client(tmp_path)(script))
    # the first push to a new branch keeps the card of the default branch it is created from
    assert result["release_license"] == "cc-by-nc-4.0" and "har" in result["release_tags"]
    assert result["kept"]  # the branch's own model, unchanged: its card stays
    assert result["copied_hop"] == 100  # the tag's extractor, not main's (no hop)
    # the sharded push deleted the single file, which transformers would have loaded instead
    assert "model.safetensors" not in result["weights"] and "model.safetensors.index.json" in result["weights"]
    assert result["reloaded_bias"] == 3.0
    assert not result["commit_saved"]  # the commit a model was loaded from is never written into its config.json
    tag_refusal, commit_refusal = result["refusals"]
    assert tag_refusal[0] == "ValueError" and "is a tag of" in tag_refusal[1] and "branch" in tag_refusal[1]
    assert commit_refusal[0] == "ValueError" and "is a commit id" in commit_refusal[1]
    assert result["branches"] == ["main", "release"]  # no branch named like the tag or the commit


ADAPTER_ON_A_BRANCH = (
    CALL_MESSAGE
    + """
import json, numpy as np, torch
import citrus_hf
from huggingface_hub import HfApi, ModelCard, hf_hub_download
from transformers import pipeline
from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.publishing import push_adapter_to_hub, push_to_hub
from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

TOKEN = "__TOKEN__"  # given to every call: no HF_TOKEN in this client's environment
base = CiTrusForPretraining.from_pretrained("pretrained")
push_to_hub(base, "__BASE__", private=True, token=TOKEN)
with torch.no_grad():
    for parameter in base.citrus.parameters():
        parameter.mul_(0.5)
push_to_hub(base, "__BASE__", revision="dev", token=TOKEN)

task = CiTrusForSequenceClassification.from_pretrained("__BASE__", revision="dev", num_labels=2, token=TOKEN)
lora = apply_lora(task, verbose=False)
lora.peft_config["default"].revision = "dev"  # as peft's `get_peft_model(..., revision="dev")` records it
trained = [p for name, p in lora.named_parameters() if "lora_B" in name or "modules_to_save" in name]
with torch.no_grad():  # non-zero LoRA matrices and head, as training leaves them
    for parameter in trained:
        parameter.add_(0.05)
lora.eval()
inputs = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 1, 200)).astype("float32"))
def logits(model):
    with torch.no_grad():
        return model(input_values=inputs).logits
pushed = logits(lora)
gap = lambda model: float((logits(model) - pushed).abs().max())
push_adapter_to_hub(lora, "__ADAPTER__", private=True, token=TOKEN, license="cc-by-nc-4.0", tags=["imu"])
save_adapter(lora, "saved_adapter")
cli_code = main(["push", "saved_adapter", "__ADAPTER__", "--token", TOKEN, "--commit-message", "again"])
card = ModelCard.load(hf_hub_download("__ADAPTER__", "README.md", token=TOKEN))

# peft's own save (no citrus_task_config.json) as a Hub repository
lora.save_pretrained("peft_adapter")
api = HfApi(token=TOKEN)
api.create_repo("__PEFT__", private=True)
api.upload_folder(folder_path="peft_adapter", repo_id="__PEFT__")
gaps = {}
for name, load in {
    "load_adapter": lambda: load_adapter(None, "__ADAPTER__", token=TOKEN),
    "pipeline": lambda: pipeline(model="__ADAPTER__", token=TOKEN).model,
    "peft_from_pretrained": lambda: CiTrusForSequenceClassification.from_pretrained("__PEFT__", token=TOKEN),
}.items():
    error = message(lambda: gaps.__setitem__(name, gap(load())))
    if error is not None:
        gaps[name] = error
print("RESULT:", json.dumps({
    "cli_code": cli_code, "license": card.data.license, "tags": card.data.tags, "gaps": gaps,
}))
"""
)


def test_an_adapter_on_a_base_branch_loads_on_it_and_keeps_its_card(make_hub_client, tmp_path):
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(tmp_path / "pretrained")
    script = ADAPTER_ON_A_BRANCH
    for key, value in {
        "__TOKEN__": DEFAULT_TOKEN,
        "__BASE__": BASE,
        "__ADAPTER__": ADAPTER,
        "__PEFT__": PEFT_ADAPTER,
    }.items():
        script = script.replace(key, value)
    result = client_result(make_hub_client(tmp_path)(script, HF_TOKEN=None))
    # `citrus push` of the adapter again, naming no licence nor tags, keeps the card's
    assert result["cli_code"] == 0
    assert result["license"] == "cc-by-nc-4.0" and "imu" in result["tags"]
    # every route puts the adapter on the base branch it was trained on (its recorded revision), with the token given
    gaps = result["gaps"]
    assert set(gaps) == {"load_adapter", "pipeline", "peft_from_pretrained"}
    assert all(isinstance(gap, float) and gap < 1e-5 for gap in gaps.values()), gaps  # merged: rounding only
