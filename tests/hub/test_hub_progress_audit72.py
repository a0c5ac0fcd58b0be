"""A feature-extraction pipeline over a classifier pushed with `Pipeline.push_to_hub` embeds again from its Hub id, with
the package and, through the pushed code, without it (audit 72): the pushed config recorded the classifier's task, and
`pipeline(model=hub_id)` ran the classification pipeline. Clients run in subprocesses pointed at the test hub."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hub_server import DEFAULT_USER, ScriptResults, client_result, results_in_one_client
from tiny_configs import save_tiny_classifier

REPO = f"{DEFAULT_USER}/citrus-embedder"

PUSH = f"""
import json
import citrus_hf
from transformers import pipeline

embed = pipeline("feature-extraction", model="classifier")
embed.push_to_hub("{REPO}", commit_message="Publish the embedder")
print("RESULT:", json.dumps({{"pushed": True}}))
"""

LOAD = f"""
import json, numpy as np
__IMPORT__
from transformers import pipeline
embed = pipeline(model="{REPO}"__TRUST__)
result = embed(np.load("recording.npy"), sampling_rate=100, backend="torch")
print("RESULT:", json.dumps({{"task": embed.task, "keys": sorted(result), "embedding": result["embedding"].tolist()}}))
"""


def _load(with_package: bool) -> str:
    """LOAD with the package imported, or (remote code) without it and with `trust_remote_code=True`."""
    if with_package:
        return LOAD.replace("__IMPORT__", "import citrus_hf").replace("__TRUST__", "")
    return LOAD.replace("__IMPORT__", "").replace("__TRUST__", ", trust_remote_code=True")


@pytest.fixture(scope="module")
def published(hub, make_hub_client, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("embedder_hub")
    save_tiny_classifier(workdir / "classifier")
    np.save(workdir / "recording.npy", np.random.default_rng(0).standard_normal((1, 600)).astype(np.float32))
    client = make_hub_client(workdir)
    # the push and the read with the package in one client (in_one_client): they share its environment, and each
    # client costs seconds of imports
    found = results_in_one_client(client, {"push": PUSH, "with_package": _load(True)})
    return ScriptResults(found.printed, client=client)


def test_a_pushed_feature_extraction_pipeline_embeds_from_its_hub_id(published, hub, tmp_path):
    published.output("push")  # (the push's own failure, with its output, if it failed)
    saved = json.loads(hub.repo_files(REPO)["config.json"])
    assert list(saved["custom_pipelines"]) == ["time-series-feature-extraction"]
    with_package = published["with_package"]
    assert with_package["task"] == "time-series-feature-extraction" and "embedding" in with_package["keys"]
    without = client_result(published["client"](_load(False), hf_home=tmp_path / "fresh", without_package=True))
    assert without["task"] == "time-series-feature-extraction" and "label" not in without["keys"]
    np.testing.assert_allclose(without["embedding"], with_package["embedding"], atol=1e-5)
