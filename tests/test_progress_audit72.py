"""How the package talks while it works, as a notebook, CI-log or script user sees it (audit 72), and what a saved
pipeline says it is."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_bad_inputs_data import _citrus, _rows, _save
from tiny_configs import save_tiny_classifier
from transformers import pipeline

import citrus_hf  # noqa: F401 - registers the pipelines

SRC = str(Path(citrus_hf.__file__).resolve().parents[1])  # the subprocesses import the package under test


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


@pytest.fixture
def quiet_transformers():
    """transformers' verbosity set to error (`set_verbosity_error()`), put back after the test."""
    from transformers.utils import logging as transformers_logging

    level = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    yield
    transformers_logging.set_verbosity(level)


def test_the_evaluation_notes_follow_the_verbosity_and_reach_the_log(tmp_path, quiet_transformers, caplog):
    """`citrus evaluate`'s notes about a set ("budget 100/class asks for more than the pool's ... examples") were
    written with the progress bar's `tqdm.write`, hidden bar or not: `set_verbosity_error()` (TRANSFORMERS_VERBOSITY
    =error) did not silence them, and an application's logging never saw them. They are warnings of the protocol's
    logger now, printed below the bar while one is shown."""
    folder = _save(tmp_path, _rows(6, [0, 1] * 3))
    argv = ["evaluate", "--datasets", str(folder), "--arms", "prior", "--budgets", "100", "--seeds", "0"]
    code, errors = _citrus(*argv, "--output-dir", str(tmp_path / "quiet"), "--no-show-progress")
    assert code == 0, errors
    # (pytest's capture sits at the root logger: a record said at all would be in caplog)
    assert "asks for more than the pool" not in errors + caplog.text, errors
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        code, errors = _citrus(*argv, "--output-dir", str(tmp_path / "logged"), "--no-show-progress")
    assert code == 0, errors
    assert f"{folder}: budget 100/class asks for more than the pool's 6 examples: all of them" in caplog.text


def test_a_package_line_said_during_a_progress_bar_starts_its_own_line():
    """The package's stderr lines were written straight after a shown bar's text ("fitting runs:  40%|####  | 2/5
    [00:01<00:01][citrus_hf] ..."): they are written as `tqdm.write` writes, the bar cleared first and drawn again
    below."""
    script = (
        "import logging\n"
        "from citrus_hf._logs import progress_bar\n"
        "bar = progress_bar(True, total=5, desc='fitting runs', mininterval=0, file=None)\n"
        "bar.update(2)\n"
        "logging.getLogger('citrus_hf.evaluation.protocol').warning('a note about a set')\n"
        "bar.update(3)\n"
        "bar.close()\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("TQDM_")}
    env = {**env, "PYTHONPATH": SRC, "HF_HUB_DISABLE_PROGRESS_BARS": "0"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    before = run.stderr.split("[citrus_hf] a note about a set\n")[0]
    assert "2/5" in before and before.endswith(("\r", "\n")), repr(run.stderr)


def test_saving_the_feature_extraction_pipeline_leaves_the_models_config_as_it_was(tmp_path):
    embed = pipeline("time-series-feature-extraction", model=str(save_tiny_classifier(tmp_path / "classifier")))
    embed.save_pretrained(tmp_path / "saved")
    recorded = embed.model.config.custom_pipelines
    assert type(recorded).__name__ == "CustomPipelines" and list(recorded) == ["time-series-classification"]
