"""Silent or deep failures of the pipelines and the fusion models, one test per finding: a checkpoint whose
config.json lost its `architectures`, a malformed `custom_pipelines`, a long recording without progress, and a fusion
model that ignored `config.output_hidden_states`.

Tiny models saved once per module (100 Hz, 2 s windows of 10 patches) on the torch backend: each test takes about a
second.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline
from transformers.utils import logging as transformers_logging

from citrus_hf import CiTrusForPretraining, CiTrusForRegression, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference import pipelines as pipelines_module
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification

RATE = 100.0
RNG = np.random.default_rng(0)
RECORDING = RNG.standard_normal(1000)  # 10 s: five 2 s windows


def _saved(model, folder) -> str:
    model.eval().save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return _saved(CiTrusForSequenceClassification(tiny_config(num_labels=3)), tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="module")
def classify(classifier_folder):
    return pipeline(model=classifier_folder, backend="torch")


def _edited_copy(folder: str, destination, **changes) -> str:
    """A copy of the checkpoint `folder` whose config.json has `changes` (a value of `...` removes the field)."""
    shutil.copytree(folder, destination)
    path = destination / "config.json"
    config = json.loads(path.read_text())
    for name, value in changes.items():
        if value is ...:
            config.pop(name, None)
        else:
            config[name] = value
    path.write_text(json.dumps(config))
    return str(destination)


# ------------------------------------------------------------------------- 1. config.json without `architectures`

FEATURE_EXTRACTION_ENTRY = {
    "time-series-feature-extraction": {"impl": "pipelines.BioSignalFeatureExtractionPipeline", "pt": ["AutoModel"]}
}


@pytest.mark.parametrize(
    "changes",
    [
        {"architectures": ...},
        {"architectures": []},
        {"architectures": None, "custom_pipelines": ...},  # transformers: "cannot infer task automatically"
        # its `custom_pipelines` said feature extraction, so the classifier embedded recordings without a word
        {"architectures": [], "custom_pipelines": FEATURE_EXTRACTION_ENTRY},
    ],
    ids=["absent", "empty", "no-custom-pipelines", "custom-pipelines-of-an-encoder"],
)
def test_a_classifier_without_architectures_classifies_as_its_weights_say(
    classifier_folder, classify, tmp_path, caplog, changes
):
    """`CiTrusSavedClass` took a config.json without `architectures` for an encoder's: `pipeline(model=folder)`
    refused the classifier as "a encoder model", or embedded with it when `custom_pipelines` named feature
    extraction. The weights hold the trained `classifier`: it loads as the classifier, with a warning to fix the
    file."""
    folder = _edited_copy(classifier_folder, tmp_path / "classifier", **changes)
    with caplog.at_level("WARNING", logger="citrus_hf.inference.registration"):
        classifier = pipeline(model=folder, backend="torch")
    assert type(classifier).__name__ == "BioSignalClassificationPipeline"
    assert type(classifier.model).__name__ == "CiTrusForSequenceClassification"
    assert 'Put `"architectures": ["CiTrusForSequenceClassification"]` back in config.json' in caplog.text
    result, expected = classifier(RECORDING, sampling_rate=RATE), classify(RECORDING, sampling_rate=RATE)
    assert result["label"] == expected["label"] and result["score"] == pytest.approx(expected["score"])
    # given the task, it loads as what it is too (it was loaded as an encoder and refused)
    assert type(pipeline("time-series-classification", model=folder).model).__name__ == (
        "CiTrusForSequenceClassification"
    )


@pytest.mark.parametrize(
    ("model_class", "pipeline_class"),
    [
        (CiTrusForRegression, "BioSignalRegressionPipeline"),
        (CiTrusModel, "BioSignalFeatureExtractionPipeline"),
    ],
)
def test_other_checkpoints_without_architectures_run_the_task_of_their_weights(model_class, pipeline_class, tmp_path):
    torch.manual_seed(0)
    saved = _saved(model_class(tiny_config()), tmp_path / "saved")
    folder = _edited_copy(saved, tmp_path / "edited", architectures=..., custom_pipelines=...)
    runner = pipeline(model=folder, backend="torch")
    assert type(runner).__name__ == pipeline_class and type(runner.model) is model_class
    assert runner(RECORDING, sampling_rate=RATE)["windows"]


# --------------------------------------------------------------------------------- 2. malformed custom_pipelines


@pytest.mark.parametrize(
    ("custom_pipelines", "problem"),
    [
        ("time-series-classification", "is a JSON str"),  # transformers: "dictionary update sequence element #0"
        (3, "is a JSON int"),  # transformers: "'int' object is not iterable"
        ([["time-series-classification", {}]], "is a JSON list"),
        ({"time-series-classification": "pipelines.BioSignalClassificationPipeline"}, 'which needs "impl"'),
        ({"time-series-classification": {"pt": ["AutoModelForSequenceClassification"]}}, 'which needs "impl"'),
        ({"time-series-classification": {"impl": "pipelines.BioSignalClassificationPipeline", "pt": 5}}, '"pt" is a'),
        ({"classification": {"impl": "pipelines.BioSignalClassificationPipeline"}}, "no CiTrus pipeline runs"),
    ],
)
def test_a_malformed_custom_pipelines_is_named_with_what_save_pretrained_writes(
    classifier_folder, tmp_path, custom_pipelines, problem
):
    """transformers reads `custom_pipelines` before anything of the package runs, and failed on a malformed one with
    its own words (or, for an entry the package does not need, left the checkpoint broken for users without it)."""
    folder = _edited_copy(classifier_folder, tmp_path / "classifier", custom_pipelines=custom_pipelines)
    expected_entry = json.dumps(
        {
            "time-series-classification": {
                "impl": "pipelines.BioSignalClassificationPipeline",
                "pt": ["AutoModelForSequenceClassification"],
            }
        }
    )
    for task in (None, "time-series-classification"):
        with pytest.raises(ValueError, match="config.json's `custom_pipelines`") as info:
            pipeline(task, model=folder, backend="torch")
        assert problem in str(info.value)
        assert f'CiTrusForSequenceClassification: "custom_pipelines": {expected_entry}' in str(info.value)


def test_a_checkpoint_without_custom_pipelines_runs_the_task_of_its_class(classifier_folder, tmp_path):
    """transformers takes the task from `custom_pipelines` only, and asks the Hub for a folder without it."""
    folder = _edited_copy(classifier_folder, tmp_path / "classifier", custom_pipelines=...)
    assert type(pipeline(model=folder, backend="torch")).__name__ == "BioSignalClassificationPipeline"


# ------------------------------------------------------------------------------------ 3. progress on long recordings


def _bar_lines(stderr: str) -> list[str]:
    return [line for line in stderr.replace("\r", "\n").splitlines() if line.startswith("recording:")]


def test_a_recording_of_many_passes_shows_progress_and_it_can_be_turned_off(classify, capsys, monkeypatch):
    """A night of windows ran for minutes without a sign of progress."""
    monkeypatch.setattr(pipelines_module, "PROGRESS_DELAY_SECONDS", 0.0)
    long = RNG.standard_normal(2000)  # 20 s: ten windows, five passes of two
    expected = classify(long, sampling_rate=RATE, batch_size=2, progress=False)
    assert _bar_lines(capsys.readouterr().err) == []

    result = classify(long, sampling_rate=RATE, batch_size=2)
    lines = _bar_lines(capsys.readouterr().err)
    assert lines and "100%" in lines[-1] and "20/20" in lines[-1]
    assert result["label"] == expected["label"] and result["score"] == pytest.approx(expected["score"])

    classify(long, sampling_rate=RATE, batch_size=4)  # three passes: done before a bar says anything
    assert _bar_lines(capsys.readouterr().err) == []
    classify(RECORDING[:150], sampling_rate=RATE, progress=True)  # one pass, asked for
    assert "2/2" in _bar_lines(capsys.readouterr().err)[-1]  # 1.5 s, in whole seconds

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # transformers' switch (and HF_HUB_DISABLE_PROGRESS_BARS) wins
    try:
        classify(long, sampling_rate=RATE, batch_size=2, progress=True)
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()
    assert _bar_lines(capsys.readouterr().err) == []
    with pytest.raises(TypeError, match=r"`progress` must be True or False, got 'no'"):
        classify(long, sampling_rate=RATE, progress="no")


def test_the_progress_bar_waits_before_it_shows(classify, capsys):
    """A loop over many recordings of a few fast passes each would print a bar per recording."""
    classify(RNG.standard_normal(2000), sampling_rate=RATE, batch_size=2)
    assert _bar_lines(capsys.readouterr().err) == []


def test_a_failed_run_closes_its_bar(classify, capsys, monkeypatch):
    monkeypatch.setattr(pipelines_module, "PROGRESS_DELAY_SECONDS", 0.0)
    failing = classify._backend

    def backend(*args):
        runner = failing(*args)

        def run(input_values, patch_mask):
            if classify._progress.done >= 4:
                raise RuntimeError("device lost")
            return runner(input_values, patch_mask)

        run.name = runner.name
        return run

    monkeypatch.setattr(classify, "_backend", backend)
    with pytest.raises(RuntimeError, match="device lost"):
        classify(RNG.standard_normal(2000), sampling_rate=RATE, batch_size=2)
    assert classify._progress is None
    assert _bar_lines(capsys.readouterr().err)


# ------------------------------------------------------------------------------- 4. fusion output_hidden_states


@pytest.mark.parametrize("model_class", [CiTrusFusionForSequenceClassification, CiTrusFusionForRegression])
def test_fusion_models_follow_the_configs_output_hidden_states(model_class):
    """The call's `output_hidden_states=True` was refused and the config's ignored without a word; transformers
    models take the config's when the call leaves it None."""
    config = CiTrusFusionConfig(
        modality_configs={"ecg": tiny_config(context_length=400), "resp": tiny_config(context_length=200)},
        **{model_class.outputs_field: 2},
        output_hidden_states=True,
    )
    model = model_class(config).eval()
    inputs = {"ecg": torch.randn(2, 1, 400), "resp": torch.randn(2, 1, 200)}
    with pytest.raises(ValueError, match=r"`config.output_hidden_states=True`.*model.config.output_hidden_states = "):
        model(input_values=inputs)
    with torch.no_grad():
        assert model(input_values=inputs, output_hidden_states=False).logits.shape[0] == 2  # the call wins
    model.config.output_hidden_states = False
    with torch.no_grad():
        model(input_values=inputs)


def test_pipeline_counts_the_models_channels_where_the_trainer_saved_the_encoders_extractor(tmp_path, caplog):
    """The Trainer saves the extractor it was given (the pre-training checkpoint's, one channel) next to a model
    fine-tuned on six channels: the pipeline serves that folder without telling the user on every call that their 6
    channels differ from "the checkpoint's" 1, and the extractor it was given stays as it was."""
    torch.manual_seed(0)
    _saved(CiTrusForPretraining(tiny_config(num_channels=1)), tmp_path / "encoder")
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=3, num_channels=6).eval()
    model.save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_pretrained(tmp_path / "encoder").save_pretrained(tmp_path)  # as the Trainer does
    transformers_logging.get_logger("transformers").warning_once.cache_clear()
    classify = pipeline(model=str(tmp_path), backend="torch")
    recording = RNG.standard_normal((6, 1000))
    with caplog.at_level("WARNING"):
        result = classify(recording, sampling_rate=RATE)
    assert "channels and the checkpoint" not in caplog.text
    assert classify.feature_extractor.num_channels == 6
    given = CiTrusFeatureExtractor.from_pretrained(tmp_path)
    assert pipeline(model=str(tmp_path), feature_extractor=given).feature_extractor is not given
    assert given.num_channels == 1
    with torch.no_grad():
        features = CiTrusFeatureExtractor.from_config(model.config)(
            recording, sampling_rate=RATE, alignment="window", return_tensors="pt"
        )
        expected = model(input_values=features["input_values"]).logits.softmax(-1).mean(0)
    assert result["label"] == model.config.id2label[int(expected.argmax())]
