"""Hub checkpoints (audit 65): `citrus evaluate --checkpoints ARM=owner/repo` reuses no run once the repository holds
other weights, and a load downloads the root checkpoint (or the subfolder and variant asked for) alone. The clients run
in subprocesses pointed at the test hub (see conftest.py): one online for both tests, one offline; the local layouts
are in tests/test_layouts_audit65.py."""

from __future__ import annotations

import pytest
import torch
from hub_server import DEFAULT_USER, ScriptResults, results_in_one_client
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification

SIGNATURES = """
import json
from huggingface_hub import HfApi
from citrus_hf.evaluation import ProtocolConfig
from citrus_hf.evaluation.settings import _weights_digest

def signature():
    config = ProtocolConfig(output_dir="evaluation", arms=["citrus-time"], checkpoints={"citrus-time": "__REPO__"})
    return config.run_signatures()["citrus-time"]

api = HfApi()
api.create_repo("__REPO__")
api.upload_folder(folder_path="v1", repo_id="__REPO__")
before = signature()
api.upload_folder(folder_path="v2", repo_id="__REPO__")
print("RESULT:", json.dumps({"before": before, "after": signature(), "digest": _weights_digest("__REPO__")}))
"""

# Offline, the cached snapshot that refs/main names (moved there by the download of the new revision) is hashed.
OFFLINE_DIGEST = """
import json
from citrus_hf.evaluation.settings import _weights_digest

print("RESULT:", json.dumps(_weights_digest("__REPO__")))
"""


EVALUATE_REPO = f"{DEFAULT_USER}/layouts-evaluate"


def test_the_runs_of_a_hub_checkpoint_are_not_reused_once_it_holds_other_weights(published):
    """The signature held the repository id, so runs of its earlier weights were reused ("Reused 1 of 1 runs"), online
    and offline after a download of the new revision."""
    pushed = published["signatures"]
    assert pushed["before"] != pushed["after"]
    assert published["offline_digest"] == pushed["digest"]
    assert pushed["digest"] != EVALUATE_REPO


DOWNLOADS = """
import json, pathlib
from huggingface_hub import HfApi
from citrus_hf.loading import load_pretrained

api = HfApi()
repo = api.create_repo("layouts-downloads").repo_id
api.upload_folder(folder_path="run", repo_id=repo)
snapshots = pathlib.Path("hf_home") / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots"

def downloaded():
    return sorted(str(path.relative_to(snapshot)) for snapshot in snapshots.iterdir() for path in snapshot.rglob("*")
                  if path.is_file())

result = {}
load_pretrained(repo)
result["root"] = downloaded()
load_pretrained(repo, subfolder="checkpoint-3")
result["subfolder"] = downloaded()
load_pretrained(repo, variant="fp16")
result["variant"] = downloaded()
print("RESULT:", json.dumps(result))
"""


def test_a_load_downloads_the_checkpoint_asked_for_alone(published):
    """ "*.safetensors" matched nested paths: a repository of a Trainer run (checkpoint-N folders) and of several
    variants was downloaded whole by every load."""
    result = published["downloads"]
    root = set(result["root"])
    assert "model.safetensors" in root and "config.json" in root
    assert not any(name.startswith("checkpoint-3/") or "fp16" in name for name in root)
    assert {"checkpoint-3/config.json", "checkpoint-3/model.safetensors"} <= set(result["subfolder"]) - root
    assert set(result["variant"]) - set(result["subfolder"]) == {"model.fp16.safetensors"}


@pytest.fixture(scope="module")
def published(make_hub_client, tmp_path_factory) -> ScriptResults:
    """SIGNATURES and DOWNLOADS (each on a repository of its own) in one online client (in_one_client: they share its
    environment, and each client costs seconds of imports), then OFFLINE_DIGEST offline in the same Hub cache: what
    each printed after `RESULT:`, by name."""
    workdir = tmp_path_factory.mktemp("layouts_hub")
    for version, seed in (("v1", 0), ("v2", 1)):
        torch.manual_seed(seed)
        CiTrusForPretraining(tiny_config()).save_pretrained(workdir / version)
    torch.manual_seed(0)
    run = save_tiny_classifier(workdir / "run")
    save_tiny_classifier(run / "checkpoint-3")
    torch.manual_seed(1)  # weights of another variant, beside the plain ones
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(run, variant="fp16")
    client = make_hub_client(workdir)
    scripts = {"signatures": SIGNATURES.replace("__REPO__", EVALUATE_REPO), "downloads": DOWNLOADS}
    found = results_in_one_client(client, scripts)
    offline = client(OFFLINE_DIGEST.replace("__REPO__", EVALUATE_REPO), HF_HUB_OFFLINE="1")
    return ScriptResults({**found.printed, "offline_digest": offline})
