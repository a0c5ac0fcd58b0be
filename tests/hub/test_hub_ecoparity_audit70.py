"""Pushes over what a repository already holds, as huggingface_hub's `upload_folder` leaves it (an audit of upstream
traps: a file the new push does not write stays unless the commit deletes it). Clients run in subprocesses pointed at
the test hub (see conftest.py)."""

from __future__ import annotations

import torch
from hub_server import DEFAULT_USER, client_result
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining

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


def test_an_adapter_pushed_without_an_extractor_leaves_none_of_an_earlier_push(make_hub_client, tmp_path):
    """A push of an adapter without a feature extractor left the repository's preprocessor_config.json of an
    earlier push (another adapter's, or the full model's it replaced) in place, and the pipeline aligned the new
    adapter's inputs with it (a hop, a fixed normalisation, another model's rate) where its own folder aligned them as
    the model's config says. The repository now holds what the adapter's folder holds."""
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(tmp_path / "pretrained")
    script = SCRIPT.replace("__REPO__", REPO).replace("__OVER_MODEL__", OVER_MODEL)
    result = client_result(make_hub_client(tmp_path)(script))
    assert "preprocessor_config.json" in result["with_extractor"]
    assert "adapter_config.json" in result["without_extractor"]
    assert "preprocessor_config.json" not in result["without_extractor"]
    assert "adapter_config.json" in result["over_model"] and "config.json" not in result["over_model"]
    assert "preprocessor_config.json" not in result["over_model"]
