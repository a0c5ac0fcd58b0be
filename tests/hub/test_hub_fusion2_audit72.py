"""Audit 72, the fusion processor on the Hub: `save_pretrained(..., push_to_hub=True, private=True, revision=...)`
creates a private repository and pushes to that branch. Clients run in subprocesses pointed at the test hub
(see conftest.py)."""

from __future__ import annotations

from hub_server import DEFAULT_USER, client_result

REPO = f"{DEFAULT_USER}/citrus-fusion-processor-private"

SCRIPT = """
import json
from huggingface_hub import HfApi
from citrus_hf import CiTrusConfig, CiTrusFusionConfig, CiTrusFusionProcessor

eda = CiTrusConfig(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
config = CiTrusFusionConfig(modality_configs={"ecg": CiTrusConfig(context_length=200), "eda": eda})
processor = CiTrusFusionProcessor.from_config(config)
processor.save_pretrained("saved", push_to_hub=True, repo_id="__REPO__", private=True, revision="dev")
api = HfApi()
print("RESULT:", json.dumps({
    "private": api.model_info("__REPO__").private,
    "dev": sorted(api.list_repo_files("__REPO__", revision="dev")),
    "main": sorted(api.list_repo_files("__REPO__")),
}))
"""


def test_a_processor_saved_with_push_to_hub_and_private_goes_to_a_private_repository(make_hub_client, tmp_path):
    """`processor.save_pretrained(folder, push_to_hub=True, repo_id=..., private=True)` created the repository public
    (only `token` reached `create_repo`; transformers' processors pass every Hub argument), so the processor was
    published in the open; `revision="dev"` pushed to the default branch. The repository is now created private, and
    the files go to the branch asked for."""
    result = client_result(make_hub_client(tmp_path)(SCRIPT.replace("__REPO__", REPO)))
    assert result["private"] is True
    assert "processor_config.json" in result["dev"] and "processor_config.json" not in result["main"]
