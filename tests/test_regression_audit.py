"""Regression end to end, the transformers way too (`CiTrusForSequenceClassification` with `problem_type="regression"`):
each case something an audit found treated a regressor as a classifier, or took a shape without a word."""

import json
import os

import datasets
import numpy as np
import pytest
import torch
from hub_server import run_client
from transformers import AutoFeatureExtractor, EvalPrediction, Trainer, TrainingArguments, pipeline

from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.loading import build_config
from citrus_hf.publishing.cards import build_model_card
from citrus_hf.training.metrics import compute_metrics_fn
from citrus_hf.training.probe import fit_probe


@pytest.fixture(scope="module")
def transformers_style_regressor():
    """citrus-small's encoder with a 1-output head trained as a regressor, transformers' way."""
    return CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=1, problem_type="regression")


def test_its_saved_pipeline_names_an_auto_class_its_remote_code_defines(transformers_style_regressor, tmp_path):
    """What its remote pipeline needs without the package (run under the slow mark below): the Auto class its
    `custom_pipelines` names is one its `auto_map` maps (it named AutoModelForTimeSeriesRegression, which it lacks)."""
    transformers_style_regressor.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert list(config["custom_pipelines"]) == ["time-series-regression"]
    named = config["custom_pipelines"]["time-series-regression"]["pt"]
    assert named and set(named) <= set(config["auto_map"]), (named, config["auto_map"])


# slow: the route (a pipeline saved with its code, run without the package) is run by test_inference.py's
# test_pipeline_saved_with_its_code_runs_without_the_package (CiTrusForRegression's among them); this adds the
# transformers-style regressor, whose Auto class test_its_saved_pipeline_names_an_auto_class_its_remote_code_defines pins
@pytest.mark.slow
def test_its_remote_pipeline_loads_through_its_own_auto_class(transformers_style_regressor, tmp_path):
    """Its `custom_pipelines` named AutoModelForTimeSeriesRegression, which its `auto_map` lacks: without the package
    the pipeline failed inside transformers ("Unrecognized configuration class")."""
    folder = tmp_path / "regressor"
    transformers_style_regressor.save_pretrained(folder)
    AutoFeatureExtractor.from_pretrained("citrus-small").save_pretrained(folder)
    expected = pipeline(model=str(folder))(np.sin(np.arange(2000) / 30.0), sampling_rate=100.0, backend="torch")
    script = (
        "import numpy as np\nfrom transformers import pipeline\n"
        f"run = pipeline(model={str(folder)!r}, trust_remote_code=True)\n"
        "print(run(np.sin(np.arange(2000) / 30.0), sampling_rate=100.0, backend='torch')['target'])\n"
    )
    run = run_client(script, dict(os.environ), cwd=tmp_path, without_package=True)
    assert float(run.stdout.strip().splitlines()[-1]) == pytest.approx(expected["target"], abs=1e-5)


def test_its_card_and_trainer_card_are_a_regressors(transformers_style_regressor, tmp_path):
    """The card called it "A CiTrus classifier (1 classes)", listed "Labels | 1 (0: LABEL_0)", tagged it
    time-series-classification, and refused its own MAE as "a regression metric, but ... solves classification"
    (so `Trainer.push_to_hub` failed after training)."""
    card = build_model_card(transformers_style_regressor, eval_results=[{"dataset": "hr_ecg", "metric": "mae", "value": 2.5}])  # fmt: skip
    text = str(card)
    assert "A CiTrus regressor (1 target)" in text and "| Targets | 1 |" in text and "LABEL_0" not in text
    assert card.data.pipeline_tag == "time-series-regression" and "time-series-classification" not in card.data.tags
    assert "AutoModelForSequenceClassification" in text  # the class that loads it
    rows = datasets.Dataset.from_dict(
        {
            "input_values": np.random.default_rng(0).standard_normal((4, 1, 1000)).astype(np.float32),
            "labels": [70.0, 72.0, 68.0, 75.0],
        }  # fmt: skip
    )
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, report_to=[], save_strategy="no", use_cpu=True)  # fmt: skip
    trainer = Trainer(
        model=transformers_style_regressor, args=args, train_dataset=rows, eval_dataset=rows,
        compute_metrics=compute_metrics_fn("regression"),
    )  # fmt: skip
    trainer.evaluate()
    trainer.create_model_card(dataset_tags="hr_ecg")
    assert "mae" in (tmp_path / "README.md").read_text()


def test_its_first_batch_warns_of_a_target_offset_and_it_starts_at_the_targets(caplog):
    """Only CiTrusForRegression warned that targets near 70 sit far from a new head's 0, and had
    `init_regressor_bias`: the transformers-style regressor trained 3 steps to 74 bpm MAE without a word."""
    model = CiTrusForSequenceClassification(build_config("tiny", num_labels=1, problem_type="regression")).train()
    windows = torch.randn(4, 1, model.config.context_length)
    with caplog.at_level("WARNING"):
        model(input_values=windows, labels=torch.tensor([70.0, 72.0, 68.0, 75.0]))
    assert "targets average 71.25" in caplog.text and "init_regressor_bias" in caplog.text
    model.init_regressor_bias([70.0, 72.0, 68.0, 75.0])
    assert float(model.classifier.bias.detach()) == pytest.approx(71.25)
    classifier = CiTrusForSequenceClassification(build_config("tiny", num_labels=3))
    with pytest.raises(ValueError, match="init_regressor_bias starts a regression head"):
        classifier.init_regressor_bias([1.0, 2.0])


def test_num_labels_on_a_regressor_is_refused():
    """It built a 1-output head and recorded 3 classes in the config, without a word."""
    with pytest.raises(ValueError, match="num_labels=3 sets the classes of .* pass num_targets=3"):
        CiTrusForRegression.from_pretrained("citrus-small", num_labels=3)


def test_a_probe_refuses_labels_of_another_width_than_its_regressor():
    """One label per row for two outputs was broadcast into both (two identical outputs); two per row for one output
    failed inside torch."""
    model = CiTrusForRegression(build_config("tiny", num_targets=2)).eval()

    def rows(labels):
        windows = np.random.default_rng(0).standard_normal((len(labels), 1, model.config.context_length))
        masks = np.ones((len(labels), model.config.num_patches), dtype=np.int64)
        values = {"input_values": windows.astype(np.float32), "patch_mask": masks, "labels": labels}
        return datasets.Dataset.from_dict(values).with_format("torch")

    with pytest.raises(ValueError, match=r"shape \(batch,\) or \(batch, num_targets\) = \(6, 2\), got \(6,\)"):
        fit_probe(model, rows(list(np.arange(6.0))), "regression")
    fit_probe(model, rows(np.arange(12.0).reshape(6, 2).tolist()), "regression")


def test_classification_metrics_name_a_regressors_predictions():
    """They said "Class labels must lie in [0, 0], got 71..74"."""
    score = compute_metrics_fn("classification")
    with pytest.raises(ValueError, match=r"one column per window: a regressor's predictions.*compute_metrics_fn\('regression'\)"):  # fmt: skip
        score(EvalPrediction(predictions=np.array([[71.0], [72.5], [74.0]]), label_ids=np.array([71.0, 73.0, 74.0])))


def test_a_padded_last_window_counts_for_its_own_seconds():
    """The recording's value weighed a last window of 1 s (and 9 s of padding) as much as each full window."""
    from citrus_hf.modeling_citrus import recording_mean  # (the pipelines' rule, which they reach through the model)

    outputs = torch.tensor([[72.0], [72.0], [60.0]])
    mean = recording_mean(outputs, torch.tensor([10.0, 10.0, 1.0]))
    assert float(mean) == pytest.approx((72 * 20 + 60) / 21)


def test_data_info_summarises_a_set_of_several_targets_per_row():
    """It printed numpy's "setting an array element with a sequence." instead of the set and the one-line reason."""
    from citrus_hf.data.builders import summarize_dataset

    rows = {"input_values": [np.zeros((1, 100), np.float32)] * 2, "target": [[70.0, 1.0], [72.0, 3.0]]}
    summary = summarize_dataset(datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}), sampling_rate=100)
    assert summary["splits"]["train"]["target"]["max"] == 72.0
