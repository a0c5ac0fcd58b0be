"""Traps users met upstream in transformers' time-series and classification models (PatchTST's BatchNorm, a sequence
classifier trained as a regressor), checked against CiTrus on tiny configs."""

from __future__ import annotations

import numpy as np
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

NAMES = {0: "heart_rate", 1: "breathing_rate"}


def test_a_classifier_trained_as_a_regressor_keeps_the_names_of_its_outputs():
    """transformers' way to regress (`problem_type="regression"`, `num_labels` outputs named by `id2label`): its names
    were read against `num_targets` (1 by default, the regressor's field), so a two-output one reported no names."""
    config = tiny_config(id2label=NAMES, problem_type="regression")
    assert CiTrusForSequenceClassification(config).config.target_names == list(NAMES.values())
    # as the regressor's, and a classifier's classes stay no targets
    assert tiny_config(num_targets=2, id2label=NAMES).target_names == list(NAMES.values())
    assert tiny_config(id2label=NAMES).target_names is None


def test_the_regression_pipeline_names_a_classifier_regressors_targets(tmp_path):
    from transformers import pipeline

    config = tiny_config(id2label=NAMES, problem_type="regression")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    recording = np.random.default_rng(0).standard_normal(400)
    result = pipeline(model=str(tmp_path))(recording, sampling_rate=100)
    assert result["target_names"] == list(NAMES.values())
    assert len(result["targets"]) == 2


def test_the_model_card_names_a_classifier_regressors_targets():
    from citrus_hf.publishing.cards import build_model_card

    model = CiTrusForSequenceClassification(tiny_config(id2label=NAMES, problem_type="regression"))
    assert "2 (0: heart_rate, 1: breathing_rate)" in str(build_model_card(model))
