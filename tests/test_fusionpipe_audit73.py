"""The fusion pipelines: one recording per modality (or one file and `modality_channels`) in, windows of the same
times in every modality, the single-modality pipeline's result out. Tiny fusion models (a few thousand parameters)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

RATES = {"ecg": 100, "eda": 20}  # the encoders' own rates


def fusion_config(eda_context: int = 40, **head) -> CiTrusFusionConfig:
    """ECG at 100 Hz and EDA at 20 Hz, 2 s windows (EDA 4 s with `eda_context=80`)."""
    eda = tiny_config(sampling_rate=20, context_length=eda_context, patch_length=10, spectrogram_n_fft=10)
    return CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, **(head or {"num_labels": 3}))


def saved(folder, model_class=CiTrusFusionForSequenceClassification, **config) -> str:
    torch.manual_seed(0)
    model = model_class(fusion_config(**config)).eval()
    model.save_pretrained(folder)
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)
    return str(folder)


def recording(seconds: float, rates=RATES, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(int(seconds * rate)) for name, rate in rates.items()}


def test_pipeline_of_a_fusion_folder_scores_windows_of_shared_times_as_the_model_scores_aligned_rows(tmp_path):
    folder = saved(tmp_path)
    classify = pipeline(model=folder)  # the task comes from the checkpoint
    assert type(classify).__name__ == "BioSignalFusionClassificationPipeline"
    signals = recording(7.0)
    result = classify(signals, sampling_rate=RATES, top_k=None)
    single_keys = {"label", "score", "labels", "label_seconds", "windows", "no_signal_windows", "unscored_seconds"}
    assert single_keys | {"backend"} == set(result)
    assert [(w["start"], w["end"]) for w in result["windows"]] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert result["unscored_seconds"] == pytest.approx(1.0)
    # the same windows cut by hand and aligned by the processor: the same scores
    model = CiTrusFusionForSequenceClassification.from_pretrained(folder).eval()
    processor = CiTrusFusionProcessor.from_pretrained(folder)
    rows = {
        name: [signal[i * 2 * RATES[name] : (i + 1) * 2 * RATES[name]] for i in range(3)]
        for name, signal in signals.items()
    }
    with torch.no_grad():
        expected = model(**processor(rows, sampling_rate=RATES)).logits.softmax(-1)
    for window, scores in zip(result["windows"], expected):
        by_label = {entry["label"]: entry["score"] for entry in window["labels"]}
        assert [by_label[model.config.id2label[i]] for i in range(3)] == pytest.approx(scores.tolist(), abs=1e-5)
    assert result["score"] == pytest.approx(float(expected.mean(0).max()), abs=1e-5)


def test_a_modality_shorter_than_the_others_scores_the_common_span_and_says_so(tmp_path, caplog):
    classify = pipeline(model=saved(tmp_path))
    signals = recording(9.0)
    signals["eda"] = signals["eda"][: 4 * RATES["eda"]]  # 4 s of EDA beside 9 s of ECG
    with caplog.at_level(logging.WARNING):
        result = classify(signals, sampling_rate=RATES)
    assert [w["end"] for w in result["windows"]] == [2.0, 4.0]
    assert result["unscored_seconds"] == pytest.approx(5.0)
    assert "ecg 9 s, eda 4 s" in caplog.text and "only the 4 s that every modality covers" in caplog.text


def test_windows_of_different_encoder_durations_take_the_shortest(tmp_path):
    classify = pipeline(model=saved(tmp_path, eda_context=80))  # EDA encoder of 4 s windows, ECG of 2 s
    result = classify(recording(6.0, {"ecg": 250, "eda": 32}), sampling_rate={"ecg": 250, "eda": 32})
    assert [(w["start"], w["end"]) for w in result["windows"]] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]


def test_a_flat_modality_leaves_its_windows_out_naming_it(tmp_path):
    classify = pipeline(model=saved(tmp_path))
    signals = recording(6.0)
    signals["eda"][2 * RATES["eda"] : 4 * RATES["eda"]] = 0.0  # the electrode came off for one window
    result = classify(signals, sampling_rate=RATES)
    assert [w["no_signal"] for w in result["windows"]] == [None, "flat (eda)", None]
    assert result["no_signal_windows"] == 1


def test_a_fusion_regressor_gives_targets_per_window_and_their_mean(tmp_path):
    regress = pipeline(model=saved(tmp_path, CiTrusFusionForRegression, num_targets=1))
    assert type(regress).__name__ == "BioSignalFusionRegressionPipeline"
    result = regress(recording(4.0), sampling_rate=RATES)
    assert set(result) == {"target", "target_names", "windows", "no_signal_windows", "unscored_seconds", "backend"}
    targets = [w["target"] for w in result["windows"]]
    assert result["target"] == pytest.approx(float(np.mean(targets)))


def test_one_file_with_modality_channels_is_read_per_modality(tmp_path):
    classify = pipeline(model=saved(tmp_path / "model"))
    signals = recording(4.0, {"ecg": 100, "eda": 100})
    path = tmp_path / "session.csv"
    table = np.stack([signals["ecg"], signals["eda"]], axis=1)
    np.savetxt(path, table, delimiter=",", header="ECG,EDA", comments="")
    result = classify(str(path), sampling_rate=100, modality_channels={"ecg": ["ECG"], "eda": ["EDA"]})
    given = classify(signals, sampling_rate=100)
    assert [w["score"] for w in result["windows"]] == pytest.approx([w["score"] for w in given["windows"]], abs=1e-5)
    with pytest.raises(ValueError, match="modality_channels="):
        classify(str(path), sampling_rate=100)


def test_wrong_inputs_are_refused_in_one_line(tmp_path):
    folder = saved(tmp_path)
    classify = pipeline(model=folder)
    with pytest.raises(ValueError, match=r"name the modalities \['ecg'\], and the model takes \['ecg', 'eda'\]"):
        classify({"ecg": np.zeros(400)}, sampling_rate=100)
    with pytest.raises(ValueError, match="does not run a fusion model"):
        classify(recording(4.0), sampling_rate=RATES, backend="onnxruntime")
    with pytest.raises(ValueError, match=r"run by pipeline\('time-series-fusion-classification'"):
        pipeline("time-series-regression", model=folder)
