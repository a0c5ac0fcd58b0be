"""How the package talks while it works, as a notebook, CI-log or script user sees it (audit 72), and what a saved
pipeline says it is."""

from __future__ import annotations

import json

import numpy as np
from tiny_configs import save_tiny_classifier
from transformers import pipeline

import citrus_hf  # noqa: F401 - registers the pipelines


def test_a_saved_feature_extraction_pipeline_loads_back_as_one(tmp_path):
    """`pipeline("feature-extraction", model=classifier).save_pretrained(folder)` wrote the classifier's task into
    config.json (the model's own `save_pretrained` replaced the entry transformers' pipeline had just recorded), and
    `pipeline(model=folder)` then ran the classification pipeline: labels where embeddings were saved for."""
    embed = pipeline("time-series-feature-extraction", model=str(save_tiny_classifier(tmp_path / "classifier")))
    embed.save_pretrained(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert list(saved["custom_pipelines"]) == ["time-series-feature-extraction"]
    entry = saved["custom_pipelines"]["time-series-feature-extraction"]
    # the Auto class that loads the saved class as remote code (its auto_map names it), so the code runs without us
    assert entry == {
        "impl": "pipelines.BioSignalFeatureExtractionPipeline",
        "pt": ["AutoModelForSequenceClassification"],
    }
    assert saved["architectures"] == ["CiTrusForSequenceClassification"]
    again = pipeline(model=str(tmp_path / "saved"))
    assert again.task == "time-series-feature-extraction"
    out = again(np.random.default_rng(0).standard_normal((1, 400)).astype("float32"), sampling_rate=100)
    assert "embedding" in out and "label" not in out
    # the model saved on its own still records its own task, and the classification pipeline still loads from it
    again.model.save_pretrained(tmp_path / "model_only")
    again.feature_extractor.save_pretrained(tmp_path / "model_only")
    assert list(json.loads((tmp_path / "model_only" / "config.json").read_text())["custom_pipelines"]) == [
        "time-series-classification"
    ]
    assert pipeline(model=str(tmp_path / "model_only")).task == "time-series-classification"


def test_a_saved_classification_pipeline_keeps_its_task(tmp_path):
    classify = pipeline(model=str(save_tiny_classifier(tmp_path / "classifier")))
    classify.save_pretrained(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert list(saved["custom_pipelines"]) == ["time-series-classification"]
    assert pipeline(model=str(tmp_path / "saved")).task == "time-series-classification"
