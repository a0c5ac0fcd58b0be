"""`citrus push` of a folder the feature-extraction pipeline saved over a classifier publishes an embedder (audit 72
leftovers): the push re-saved the model, whose own save recorded the classifier's task, and the card's pipeline_tag
came from the model's class, so `pipeline(model=hub_id)` ran the classification pipeline."""

from __future__ import annotations

import json

from hub_server import DEFAULT_USER, client_result
from tiny_configs import save_tiny_classifier

REPO = f"{DEFAULT_USER}/citrus-embedder-cli"

SCRIPT = f"""
import json
import numpy as np
import citrus_hf
from citrus_hf.commands.main import main
from transformers import pipeline

pipeline("feature-extraction", model="classifier").save_pretrained("embedder")
assert main(["push", "embedder", "{REPO}"]) == 0
embed = pipeline(model="{REPO}")
result = embed(np.zeros((1, 400), dtype="float32"), sampling_rate=100, backend="torch")
print("RESULT:", json.dumps({{"task": embed.task, "keys": sorted(result)}}))
"""


def test_citrus_push_of_a_saved_feature_extraction_pipeline_publishes_an_embedder(hub, make_hub_client, tmp_path):
    save_tiny_classifier(tmp_path / "classifier")
    result = client_result(make_hub_client(tmp_path)(SCRIPT))
    files = hub.repo_files(REPO)
    assert list(json.loads(files["config.json"])["custom_pipelines"]) == ["time-series-feature-extraction"]
    assert "pipeline_tag: time-series-feature-extraction" in files["README.md"].decode()
    assert result["task"] == "time-series-feature-extraction" and "embedding" in result["keys"]
