"""Regressions of session 63's own changes, found by reviewing them: evaluate's run signature follows what the arms
now take of the user's settings, and a folder reached through a sibling link is read once (a checkpoint saved with a
repeated class name loading with corrected names: `test_static_audit63.py`)."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from citrus_hf.data.recording_folders import files_under
from citrus_hf.evaluation.settings import ProtocolConfig, _model_changes


def _protocol(tmp_path, arms: list[str], **overrides) -> ProtocolConfig:
    return ProtocolConfig(
        datasets=["basic_motions"], arms=arms, budgets=["5"], seeds=[0], output_dir=str(tmp_path), **overrides
    )


def test_a_run_signature_names_what_an_arm_now_takes_of_the_users_settings(tmp_path):
    """Runs recorded when citrus-scratch always built "hybrid" and citrus-small dropped every override were of other
    models: their signature must differ; with no such setting (every published run) nothing changes."""
    plain = _protocol(tmp_path, ["citrus-small", "citrus-scratch"])
    assert _model_changes(plain, "citrus-scratch", None) == []
    assert _model_changes(plain, "citrus-small", "citrus-small") == []
    transformer = _protocol(tmp_path, ["citrus-scratch"], config_overrides={"backbone": "transformer"})
    assert _model_changes(transformer, "citrus-scratch", None) == ["backbone=transformer"]
    dropout = _protocol(tmp_path, ["citrus-small", "citrus-scratch"], config_overrides={"head_dropout": 0.5})
    assert "head_dropout" in _model_changes(dropout, "citrus-small", "citrus-small")[0]


def test_a_folder_linked_beside_itself_is_read_once(tmp_path, caplog):
    for subject in ("s1", "s2"):
        (tmp_path / subject).mkdir()
        for index in range(2):
            np.save(tmp_path / subject / f"{index}.npy", np.zeros((1, 100), dtype=np.float32))
    os.symlink(tmp_path / "s2", tmp_path / "latest")
    with caplog.at_level(logging.WARNING):
        files = files_under(tmp_path)
    assert [path.relative_to(tmp_path).as_posix() for path in files] == ["s1/0.npy", "s1/1.npy", "s2/0.npy", "s2/1.npy"]
    assert "is skipped, so that each recording is read once" in caplog.text


def test_a_one_output_binary_classifier_is_scored_as_the_pipelines_score_it():
    """A one-output classifier (num_labels=1) is scored with a sigmoid by the pipelines; the classification metrics
    refused its one column as "a regressor's predictions". With 0 / 1 labels it is class 1 where the logit is above 0;
    with other labels the refusal stands. (Session 67: `compute_metrics_fn` takes the sigmoid classifier's labels of
    shape (n, 1) only; one label per window, (n,), comes from a regression, `test_trainer_audit67`.)"""
    from transformers import EvalPrediction

    from citrus_hf.training.metrics import classification_metrics, compute_metrics_fn

    score = compute_metrics_fn("classification")
    logits = np.array([[2.0], [-1.0], [0.5], [-3.0]])
    metrics = score(EvalPrediction(predictions=logits, label_ids=np.array([[1.0], [0.0], [0.0], [0.0]])))
    assert metrics["accuracy"] == 0.75 and metrics["auroc"] == 1.0
    metrics = classification_metrics(logits, np.array([1, 0, 0, 0]))
    assert metrics["accuracy"] == 0.75 and metrics["auroc"] == 1.0
    with pytest.raises(ValueError, match="a regressor's predictions"):
        score(EvalPrediction(predictions=np.array([[71.0], [72.5]]), label_ids=np.array([71.0, 73.0])))
