"""Session 69 (regnames): a regressor's `id2label` names its targets, as in transformers (a regression head's outputs
named by `id2label`), and those names reach every output.

- Names of another count than `num_targets` (`id2label` / `label2id` given to CiTrusForRegression or the fusion
  regressor, on any route) were recorded beside a head of `num_targets` outputs without a word: refused now, naming
  both counts and the fix. transformers' placeholders (`LABEL_0`, ...), which every config carries, name nothing.
- A regressor built with `replace_head=True` on a classifier kept the classifier's class names (and a classifier on a
  named regressor would have taken the target names as its classes): the replaced head's names give way.
- The names (`config.target_names`) appear in the pipeline's result, `citrus predict`'s summary line, CSV columns,
  JSON lines and plot, the model card's "Targets" row and the ONNX export's metadata, where only `target_0`, ...
  (or no name at all) appeared.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)

NAMES = {"id2label": {0: "a", 1: "b", 2: "c"}, "label2id": {"a": 0, "b": 1, "c": 2}}
REFUSAL = (
    r"id2label names 3 outputs \('a', 'b', 'c'\), and {regressor} has num_targets=1: a regressor's id2label names its "
    r"targets, one per output. Pass num_targets=3 for 3 targets, or one name per target \(id2label=\['a'\]\)"
)


def _fusion_regressor():
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression

    return CiTrusFusionForRegression


def _encoders() -> dict[str, CiTrusModel]:
    return {"a": CiTrusModel(tiny_config()), "b": CiTrusModel(tiny_config())}


def _routes(tmp_path, keywords: dict):
    """(regressor class name, build) for every route names reach a regressor by."""
    from citrus_hf import AutoModelForTimeSeriesRegression
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    fusion = _fusion_regressor()
    fusion.from_encoders(_encoders()).save_pretrained(tmp_path / "fusion")
    CiTrusForRegression(tiny_config()).save_pretrained(tmp_path / "single")
    single = tmp_path / "single"
    return [
        ("CiTrusForRegression", lambda: CiTrusForRegression(tiny_config(**keywords))),
        ("CiTrusForRegression", lambda: CiTrusForRegression.from_pretrained(single, **keywords)),
        ("CiTrusForRegression", lambda: AutoModelForTimeSeriesRegression.from_pretrained(single, **keywords)),
        (
            "CiTrusForRegression",
            lambda: CiTrusForRegression.from_pretrained(
                single, config=CiTrusConfig.from_pretrained(single, **keywords)
            ),
        ),
        ("CiTrusFusionForRegression", lambda: fusion.from_encoders(_encoders(), **keywords)),
        (
            "CiTrusFusionForRegression",
            lambda: fusion(CiTrusFusionConfig(modality_configs={"a": tiny_config(), "b": tiny_config()}, **keywords)),
        ),
        ("CiTrusFusionForRegression", lambda: fusion.from_pretrained(tmp_path / "fusion", **keywords)),
        (
            "CiTrusFusionForRegression",
            lambda: AutoModelForTimeSeriesRegression.from_pretrained(tmp_path / "fusion", **keywords),
        ),
    ]


@pytest.mark.parametrize("keyword", sorted(NAMES))
def test_names_of_another_count_than_the_targets_are_refused_on_every_route(tmp_path, keyword):
    for regressor, build in _routes(tmp_path, {keyword: NAMES[keyword]}):
        with pytest.raises(ValueError, match=REFUSAL.format(regressor=regressor)):
            build()


def test_names_one_per_target_name_the_targets_on_every_route(tmp_path):
    """One name per target builds the regressor, whose `config.target_names` are the names, kept through saving and
    loading; placeholders name nothing."""
    for keyword, names in (("id2label", ["hr"]), ("label2id", {"hr": 0})):
        for _, build in _routes(tmp_path, {keyword: names}):
            assert build().config.target_names == ["hr"]
    three = CiTrusForRegression(tiny_config(num_targets=3, id2label=["hr", "br", "spo2"]))
    assert three.config.target_names == ["hr", "br", "spo2"] and three.regressor.out_features == 3
    model = CiTrusForRegression(tiny_config(id2label=["heart_rate"]))
    assert model.config.target_names == ["heart_rate"] and model.regressor.out_features == 1
    model.save_pretrained(tmp_path / "named")
    assert CiTrusForRegression.from_pretrained(tmp_path / "named").config.target_names == ["heart_rate"]
    # every config's default names (LABEL_0, LABEL_1) beside the default one target: unnamed, as citrus finetune's
    assert CiTrusForRegression(tiny_config()).config.target_names is None
    assert _fusion_regressor().from_encoders(_encoders()).config.target_names is None


def test_a_new_head_on_a_task_checkpoint_of_the_other_task_drops_its_names(tmp_path):
    from citrus_hf import AutoModelForTimeSeriesRegression

    CiTrusForSequenceClassification(tiny_config(id2label=["rest", "walk", "run"])).save_pretrained(tmp_path / "clf")
    for load in (CiTrusForRegression.from_pretrained, AutoModelForTimeSeriesRegression.from_pretrained):
        regressor = load(tmp_path / "clf", replace_head=True)
        assert regressor.config.target_names is None and "rest" not in regressor.config.id2label.values()
    # names given for the new head are taken
    named = CiTrusForRegression.from_pretrained(tmp_path / "clf", replace_head=True, id2label=["heart_rate"])
    assert named.config.target_names == ["heart_rate"]
    CiTrusForRegression(tiny_config(id2label=["heart_rate"])).save_pretrained(tmp_path / "reg")
    classifier = CiTrusForSequenceClassification.from_pretrained(tmp_path / "reg", replace_head=True)
    assert "heart_rate" not in classifier.config.id2label.values() and classifier.classifier.out_features == 2


def _save_named(folder, **overrides) -> str:
    torch.manual_seed(0)
    config = tiny_config(**overrides)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForRegression(config).save_pretrained(folder)
    return str(folder)


def test_the_pipeline_and_predict_name_the_targets(tmp_path, capsys):
    from transformers import pipeline

    from citrus_hf.commands.main import main

    folder = _save_named(tmp_path / "two", num_targets=2, id2label=["heart_rate", "breathing_rate"])
    signal = np.sin(np.arange(600) / 7.0).astype(np.float32)
    result = pipeline(model=folder)(signal, sampling_rate=100.0, backend="torch")
    assert result["target_names"] == ["heart_rate", "breathing_rate"] and len(result["targets"]) == 2
    unnamed = pipeline(model=_save_named(tmp_path / "plain"))(signal, sampling_rate=100.0, backend="torch")
    assert unnamed["target_names"] is None and "target" in unnamed

    np.save(tmp_path / "x.npy", signal[None])
    common = [str(tmp_path / "x.npy"), "--sampling-rate", "100", "--backend", "torch"]
    assert main(["predict", folder, *common, "--output", str(tmp_path / "o.csv")]) == 0
    summary = capsys.readouterr().out.splitlines()[0]
    assert ": heart_rate " in summary and ", breathing_rate " in summary
    with open(tmp_path / "o.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["recording", "start", "end", "heart_rate", "breathing_rate", "no_signal"]
    assert main(["predict", folder, *common, "--output", str(tmp_path / "o.jsonl")]) == 0
    record = json.loads((tmp_path / "o.jsonl").read_text().splitlines()[0])
    assert record["target_names"] == ["heart_rate", "breathing_rate"]
    # one named target: its name is its column; a name that is one of the CSV's own columns is prefixed
    one = _save_named(tmp_path / "one", id2label=["start"])
    assert main(["predict", one, *common, "--output", str(tmp_path / "one.csv")]) == 0
    with open(tmp_path / "one.csv", newline="") as file:
        assert list(next(csv.DictReader(file))) == ["recording", "start", "end", "target_start", "no_signal"]
    # unnamed: as before
    assert main(["predict", str(tmp_path / "plain"), *common, "--output", str(tmp_path / "plain.csv")]) == 0
    with open(tmp_path / "plain.csv", newline="") as file:
        assert "target" in next(csv.DictReader(file))


def test_the_plot_legend_names_the_targets(tmp_path, monkeypatch):
    import matplotlib.axes

    from citrus_hf.commands.predict import plot_windows

    windows = [{"start": 0.0, "end": 2.0, "targets": [1.0, 2.0]}, {"start": 2.0, "end": 4.0, "targets": [1.0, 3.0]}]
    result = {"targets": [1.0, 2.5], "target_names": ["heart_rate", "breathing_rate"], "windows": windows}
    result.update(no_signal_windows=0, unscored_seconds=0.0)
    drawn, legend = [], matplotlib.axes.Axes.legend

    def recorded(axes, *args, **kwargs):  # the legend's names and the axis label, as drawn
        drawn.append((axes.get_legend_handles_labels()[1], axes.get_ylabel()))
        return legend(axes, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "legend", recorded)
    plot_windows([("x.npy", result)], tiny_config(num_targets=2), tmp_path / "t.png")
    assert drawn == [(["heart_rate", "breathing_rate"], "target")]


def test_the_card_names_the_targets():
    from citrus_hf.publishing.cards import build_model_card

    card = str(build_model_card(CiTrusForRegression(tiny_config(num_targets=2, id2label=["hr", "br"]))))
    assert "| Targets | 2 (0: hr, 1: br) |" in card
    fusion = _fusion_regressor().from_encoders(_encoders(), id2label=["heart_rate"])
    assert "| Targets | 1 (0: heart_rate) |" in str(build_model_card(fusion))
    assert "| Targets | 1 |" in str(build_model_card(CiTrusForRegression(tiny_config())))


def test_the_onnx_export_names_the_targets(tmp_path, capsys):
    import onnx

    from citrus_hf.commands.main import main

    folder = _save_named(tmp_path / "named", num_targets=2, id2label=["heart_rate", "breathing_rate"])
    out = tmp_path / "deploy"
    assert main(["export", folder, "--output-dir", str(out), "--cache-dir", str(tmp_path / "cache")]) == 0
    metadata = {entry.key: entry.value for entry in onnx.load(str(out / "model.onnx")).metadata_props}
    assert json.loads(metadata["target_names"]) == ["heart_rate", "breathing_rate"]


def test_a_regressor_fine_tuned_on_a_registered_set_names_its_target(tmp_path):
    """hr_ecg's target is heart rate: `citrus finetune` records the name (`id2label`), so `citrus predict` says
    `heart_rate` where it said `target`; a set without names (a folder of one's own) stays unnamed."""
    from citrus_hf.commands.main import main
    from citrus_hf.data.registry import get_dataset_spec
    from citrus_hf.training.finetune import build_citrus_task_model

    assert get_dataset_spec("hr_ecg").target_names == ("heart_rate",) == get_dataset_spec("hr_ppg").target_names
    argv = ["--dataset", "hr_ecg", "--model-config", "tiny", "--label-budget", "5", "--max-steps", "2"]
    assert main(["finetune", *argv, "--no-show-progress", "--output-dir", str(tmp_path / "hr")]) == 0
    saved = CiTrusForRegression.from_pretrained(tmp_path / "hr")
    assert saved.config.target_names == ["heart_rate"]
    assert build_citrus_task_model("regression", 1, config=tiny_config()).config.target_names is None
