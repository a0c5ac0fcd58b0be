"""Review of audit 72's changes (helper review3): a classifier whose config.json still holds an encoder's
feature-extraction entry loads as the classifier it is saved as, not as an embedder."""

from __future__ import annotations

import json

from tiny_configs import save_tiny_classifier


def test_a_classifier_with_an_encoders_leftover_entry_still_classifies(tmp_path):
    """`pipeline(model=folder)` read a lone feature-extraction entry in `custom_pipelines` as the feature-extraction
    pipeline's own save (audit 72), also where the entry is an encoder's left over (its Auto class `AutoModel`, not the
    classifier's): a config saved from a classifier fine-tuned from citrus-small, as step-N checkpoints written before
    705fd47 hold, then embedded where it classified before. `citrus push` of that folder tags it a classifier."""
    from transformers import pipeline

    folder = save_tiny_classifier(tmp_path / "cls")
    saved = json.loads((folder / "config.json").read_text())
    saved["custom_pipelines"] = {
        "time-series-feature-extraction": {"impl": "pipelines.BioSignalFeatureExtractionPipeline", "pt": ["AutoModel"]}
    }
    (folder / "config.json").write_text(json.dumps(saved))
    assert pipeline(model=str(folder)).task == "time-series-classification"
    # the feature-extraction pipeline's own save (its entry names the classifier's Auto class) still embeds again
    pipeline("time-series-feature-extraction", model=str(folder)).save_pretrained(tmp_path / "embedder")
    assert pipeline(model=str(tmp_path / "embedder")).task == "time-series-feature-extraction"
