"""Audit 67 on the Hub: a pre-training checkpoint's extractor, loaded from a Hub id with the task's channels and
normalisation (the README's Trainer set-up), is not warned of as another input contract, and a fine-tuned one still
is; the local folders are in tests/test_docs_audit67.py. The client runs in a subprocess pointed at the test hub (see
conftest.py)."""

from __future__ import annotations

import torch
from hub_server import client_result
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining

OVERRIDES = """
import json, logging
from huggingface_hub import HfApi
import citrus_hf
from transformers import AutoFeatureExtractor

said = []
handler = logging.Handler()
handler.emit = lambda record: said.append(record.getMessage())
logging.getLogger("citrus_hf").addHandler(handler)
contract = {"num_channels": 3, "normalization": "fixed", "normalization_mean": [0.0] * 3, "normalization_std": [1.0] * 3}
api = HfApi()
result = {}
for folder in ("pretrained", "classifier"):
    repo = api.create_repo(f"docs-audit67-{folder}").repo_id
    api.upload_folder(folder_path=folder, repo_id=repo)
    said.clear()
    AutoFeatureExtractor.from_pretrained(repo, **contract)
    result[folder] = [message.split("=")[0] for message in said if "overrides the checkpoint" in message]
print("RESULT:", json.dumps(result))
"""


def test_a_hub_pretraining_checkpoints_task_contract_is_not_warned_of(hub_client, tmp_path):
    torch.manual_seed(0)
    config = tiny_config()
    CiTrusForPretraining(config).save_pretrained(tmp_path / "pretrained")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "pretrained")
    save_tiny_classifier(tmp_path / "classifier", 2)
    said = client_result(hub_client(OVERRIDES))
    assert said == {
        "pretrained": [],
        "classifier": ["num_channels", "normalization", "normalization_mean", "normalization_std"],
    }
