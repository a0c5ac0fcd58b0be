"""The fusion route's advice in its own words: `citrus predict`'s refusal of a modality's CSV whose time stamps say
another rate names --modality-sampling-rate, and the fusion pipeline's channel-count errors name `modality_channels`
(--modality-channels at the command line), not the single-modality options it does not take. Tiny fusion models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_fusionpipe_audit73 import RATES, _files, fusion_config, recording, saved
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf.commands.main import main
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor


def _stamped_csv(path, signal: np.ndarray, rate: float) -> str:
    """`signal` as a CSV with a time column stepping at `rate`."""
    np.savetxt(path, np.stack([np.arange(len(signal)) / rate, signal], 1), delimiter=",", header="time,X", comments="")
    return str(path)


def test_a_modality_csv_of_other_stamps_is_refused_naming_the_modality_rate_option(tmp_path, capsys):
    folder = saved(tmp_path / "model")
    signals = recording(6.0)
    ecg = _stamped_csv(tmp_path / "ecg.csv", signals["ecg"], 100)
    eda = _stamped_csv(tmp_path / "eda.csv", signals["eda"], 20)
    argv = ["predict", folder, f"ecg={ecg}", f"eda={eda}", "--modality-sampling-rate", "ecg=50", "eda=20"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    # (--sampling-rate 100 would read the EDA file at 100 Hz too, and be refused by its stamps)
    assert "(--modality-sampling-rate ecg=100)" in error and "--sampling-rate 100" not in error
    assert "--ignore-time-stamps" in error


def test_a_modality_of_one_file_read_at_another_rate_names_that_modality(tmp_path, capsys):
    folder = saved(tmp_path / "model")
    signals = recording(4.0, {"ecg": 100, "eda": 100})
    path = tmp_path / "session.csv"
    stamps = np.arange(400) / 100
    np.savetxt(
        path, np.stack([stamps, signals["ecg"], signals["eda"]], 1), delimiter=",", header="time,ECG,EDA", comments=""
    )
    argv = ["predict", folder, str(path), "--sampling-rate", "50", "--modality-channels", "ecg=ECG", "eda=EDA"]
    assert main(argv) == 2
    assert "(--modality-sampling-rate ecg=100)" in capsys.readouterr().err


def _concat_folder(folder) -> str:
    """A fusion classifier whose ECG encoder takes one channel and concatenates per-channel features."""
    ecg = tiny_config(channel_independent=False, channel_pooling="concat")
    eda = fusion_config().modality_configs["eda"]
    torch.manual_seed(0)
    model = CiTrusFusionForSequenceClassification(
        CiTrusFusionConfig(modality_configs={"ecg": ecg, "eda": eda}, num_labels=3)
    ).eval()
    model.save_pretrained(folder)
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)
    return str(folder)


def test_the_fusion_pipelines_channel_count_error_names_modality_channels(tmp_path):
    classify = pipeline(model=_concat_folder(tmp_path))
    signals = recording(6.0)
    signals["ecg"] = np.stack([signals["ecg"], signals["ecg"]])
    with pytest.raises(ValueError, match="modality 'ecg'") as raised:
        classify(signals, sampling_rate=RATES)
    message = str(raised.value)
    assert "input_channel_names" not in message and "modality_channels" in message
    assert "\n" not in message


def test_predicts_channel_count_error_of_a_fusion_model_names_modality_channels(tmp_path, capsys):
    folder = _concat_folder(tmp_path / "model")
    signals, paths = _files(tmp_path)
    path = tmp_path / "ECG2.csv"
    np.savetxt(path, np.stack([signals["ecg"], signals["ecg"]], 1), delimiter=",", header="A,B", comments="")
    argv = ["predict", folder, f"ecg={path}", f"eda={paths['eda']}", "--modality-sampling-rate", "ecg=100", "eda=20"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "--modality-channels MODALITY=CHANNEL" in error
    assert "input_channel_names" not in error and "`modality_channels" not in error


def test_the_pipelines_spelt_out_channel_option_is_the_extractors():
    from citrus_hf.feature_extraction_citrus import CHANNEL_NAMES_OPTION
    from citrus_hf.inference.pipelines import EXTRACTOR_CHANNEL_OPTION

    assert EXTRACTOR_CHANNEL_OPTION == CHANNEL_NAMES_OPTION
