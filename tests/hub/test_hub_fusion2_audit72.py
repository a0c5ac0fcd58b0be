"""Audit 72, the fusion processor on the Hub: `save_pretrained(..., push_to_hub=True, private=True, revision=...)`
creates a private repository and pushes to that branch. Clients run in subprocesses pointed at the test hub
(see conftest.py)."""

from __future__ import annotations

import pytest
from hub_server import DEFAULT_USER, ScriptResults, results_in_one_client

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


def test_a_processor_saved_with_push_to_hub_and_private_goes_to_a_private_repository(runs):
    """`processor.save_pretrained(folder, push_to_hub=True, repo_id=..., private=True)` created the repository public
    (only `token` reached `create_repo`; transformers' processors pass every Hub argument), so the processor was
    published in the open; `revision="dev"` pushed to the default branch. The repository is now created private, and
    the files go to the branch asked for."""
    result = runs["test_a_processor_saved_with_push_to_hub_and_private_goes_to_a_private_repository"]
    assert result["private"] is True
    assert "processor_config.json" in result["dev"] and "processor_config.json" not in result["main"]


ENCODER_REPO = f"{DEFAULT_USER}/citrus-tiny-stretching-classifier"

ENCODER_SCRIPT = """
import json
from huggingface_hub import HfApi
from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf import CiTrusFusionProcessor

config = CiTrusConfig(context_length=200, num_labels=2)
CiTrusForSequenceClassification(config).save_pretrained("classifier")
# fitted on 10 s rows stretched onto its 2 s window, as `citrus finetune` records it
CiTrusFeatureExtractor.from_config(config, alignment="interpolate").save_pretrained("classifier")
HfApi().create_repo("__REPO__")
HfApi().upload_folder(repo_id="__REPO__", folder_path="classifier")
eda = CiTrusModel(CiTrusConfig(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10))
loaded = CiTrusForSequenceClassification.from_pretrained("__REPO__")
by_model = CiTrusFusionProcessor.from_encoders({"ecg": loaded, "eda": eda})
by_name = CiTrusFusionProcessor.from_encoders({"ecg": "__REPO__", "eda": eda})
print("RESULT:", json.dumps({
    "by_model": by_model.feature_extractors["ecg"].alignment, "by_name": by_name.feature_extractors["ecg"].alignment,
}))
"""


def test_the_processor_of_an_encoder_loaded_from_the_hub_keeps_its_saved_extractor(runs):
    """`CiTrusFusionProcessor.from_encoders({"ecg": model})` with a model loaded from a Hub repository read the saved
    extractor only from a local folder, and rebuilt this one from the config: the classifier's "interpolate"
    alignment was dropped, so its 10 s rows were cut to their first 2 s, where the same encoder given by name (and
    `pipeline(model=model)`) stretched them. The repository's extractor, at the commit the model was loaded from, is
    read now."""
    result = runs["test_the_processor_of_an_encoder_loaded_from_the_hub_keeps_its_saved_extractor"]
    assert result == {"by_model": "interpolate", "by_name": "interpolate"}


@pytest.fixture(scope="module")
def runs(make_hub_client, tmp_path_factory) -> ScriptResults:
    """Each test's script's result, by test name, from one client (each client costs seconds of imports)."""
    tmp_path = tmp_path_factory.mktemp("fusion2")
    scripts = {
        "test_a_processor_saved_with_push_to_hub_and_private_goes_to_a_private_repository": SCRIPT.replace(
            "__REPO__", REPO
        ),
        "test_the_processor_of_an_encoder_loaded_from_the_hub_keeps_its_saved_extractor": ENCODER_SCRIPT.replace(
            "__REPO__", ENCODER_REPO
        ),
    }
    return results_in_one_client(make_hub_client(tmp_path), scripts)
