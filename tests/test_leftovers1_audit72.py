"""Audit 72 (leftovers): a timed CSV with rows missing, PatchTST under --class-weight, rates in scientific notation,
settings written as KEY=VALUE, models on the meta device."""

from __future__ import annotations

import re

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_timed_csv


def _timed_csv(tmp_path, milliseconds) -> str:
    path = tmp_path / "ppg.csv"
    rows = "".join(f"{stamp:.1f},{np.sin(index / 10):.4f}\n" for index, stamp in enumerate(milliseconds))
    path.write_text("time,hr\n" + rows, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------------------------------- read_timed_csv


def test_a_timed_csv_with_rows_missing_is_refused(tmp_path):
    """20 s at 100 Hz with 5 s of rows missing in the middle was read as 75 Hz (the rate from the first and last
    stamps counted the gap as samples), and the samples after the gap were read as following on."""
    stamps = np.r_[np.arange(1000), np.arange(1500, 2000)] * 10.0
    with pytest.raises(
        CorruptFileError, match=r"jumps from '9990.0' to '15000.0' after data row 1000.*rows are missing"
    ):
        read_timed_csv(_timed_csv(tmp_path, stamps), "hr", "time")


def test_a_timed_csv_going_back_is_refused(tmp_path):
    stamps = np.r_[np.arange(500), np.arange(400, 1000)] * 10.0
    with pytest.raises(CorruptFileError, match=r"goes back from '4990.0' to '4000.0' after data row 500"):
        read_timed_csv(_timed_csv(tmp_path, stamps), "hr", "time")


def test_a_timed_csv_on_a_coarse_clock_keeps_its_mean_rate(tmp_path):
    """A clock that stamps in ticks longer than a sample (heartpy's data3.csv), late now and then, is no gap."""
    rng = np.random.default_rng(0)
    exact = np.arange(3000) * 10.0 + rng.uniform(0, 25, 3000)  # 100 Hz, the host up to 2.5 samples late
    stamps = np.maximum.accumulate(np.floor(exact / 15.6) * 15.6)  # a 15.6 ms tick
    values, rate = read_timed_csv(_timed_csv(tmp_path, stamps), "hr", "time")
    assert values.size == 3000 and rate == pytest.approx(100.0, rel=0.01)


# ------------------------------------------------------------------------------------ citrus evaluate --class-weight


def test_the_report_names_the_arms_fitted_without_class_weights(tmp_path):
    """`--class-weight balanced` weighed the CiTrus arms' and MiniRocket's fits while PatchTST (and the prior) were
    fitted unweighted, and results.md said nothing of either: its gaps compared two weightings as if paired. (PatchTST
    weighs them too since session 75: `test_carried_audit75`; the prior takes none.)"""
    from citrus_hf.evaluation.protocol import ProtocolConfig, _report_metadata
    from citrus_hf.evaluation.report import markdown_tables

    arms = ["citrus-scratch", "patchtst-scratch", "minirocket", "prior"]
    weighted = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=arms, class_weight="balanced")
    metadata = _report_metadata(weighted, {})
    assert metadata["class weights"] == (
        "balanced (classification sets) in citrus-scratch, patchtst-scratch, minirocket; unweighted, as they take no "
        "class weights: prior"
    )
    assert "- **class weights**: balanced (classification sets) in citrus-scratch" in markdown_tables([], metadata)
    plain = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=arms)
    assert "class weights" not in _report_metadata(plain, {})


# --------------------------------------------------------------------------------- negative numbers as option values


@pytest.mark.parametrize("value", ["-1e2", "-1.5E-3", "-.5e1"])
def test_a_negative_rate_in_scientific_notation_is_read_as_a_number(tmp_path, value):
    """argparse before Python 3.13 read -100 and -1.5 as numbers but -1e2 as an option, so `--sampling-rate -1e2`
    failed with "expected one argument" where -100 was refused naming the rate."""
    from citrus_hf.commands import finetune, predict

    recording = tmp_path / "rec.npy"
    np.save(recording, np.zeros((1, 100), dtype=np.float32))
    assert predict.build_parser().parse(["citrus-small", str(recording), "--sampling-rate", value]).sampling_rate == (
        float(value)
    )
    argv = ["--dataset", "x", "--output-dir", str(tmp_path / "out"), "--sampling-rate", value]
    with pytest.raises(ValueError, match=rf"--sampling-rate must be a finite number above 0, got {float(value)}"):
        finetune.build_parser().parse(argv)


# ------------------------------------------------------------------------------------- settings written KEY=VALUE


@pytest.mark.parametrize(
    "command, argv, hint",
    [
        ("finetune", ["model=citrus-small"], "model=citrus-small (options are given as --model citrus-small)"),
        (
            "finetune",
            ["--dataset", "x", "--output-dir", "o", "max_steps=2"],
            "max_steps=2 (options are given as --max-steps 2)",
        ),
        ("evaluate", ["+seeds=1"], "+seeds=1 (options are given as --seeds 1)"),
        ("predict", ["model=citrus-small", "REC"], "model=citrus-small (give MODEL without `model=`: citrus-small)"),
        (
            "predict",
            ["citrus-small", "REC", "--sampling-rate", "100", "channels=0"],
            "channels=0 (options are given as --channels 0)",
        ),
    ],
)
def test_a_setting_written_key_value_names_the_option(tmp_path, command, argv, hint):
    """Hydra's `max_steps=2` was refused as an unrecognized argument, or read as a recording (or a checkpoint) named
    `channels=0`, with no word of the option that takes it."""
    from citrus_hf.commands import UsageError, finetune, predict
    from citrus_hf.commands.evaluate import build_parser as evaluate_parser

    recording = tmp_path / "rec.npy"
    np.save(recording, np.zeros((1, 100), dtype=np.float32))
    parsers = {"finetune": finetune.build_parser, "predict": predict.build_parser, "evaluate": evaluate_parser}
    with pytest.raises(UsageError, match=re.escape(f"unrecognized arguments: {hint}")):
        parsers[command]().parse([str(recording) if token == "REC" else token for token in argv])


def test_key_value_words_that_are_values_stay_values(tmp_path, monkeypatch):
    """An option's values (`--config-overrides d_model=16`, `--output-dir steps=2`) and existing paths are kept."""
    from citrus_hf.commands import finetune, predict

    # a relative path, whose part before "=" is an option's name (an absolute one's is no name at all)
    monkeypatch.chdir(tmp_path)
    np.save("channels=0.npy", np.zeros((1, 100), dtype=np.float32))
    parsed = predict.build_parser().parse(["citrus-small", "channels=0.npy", "--sampling-rate", "100"])
    assert parsed.recordings == ["channels=0.npy"]
    argv = ["--dataset", "x", "--output-dir", "model=1", "--config-overrides", "d_model=16", "num_hidden_layers=1"]
    parsed = finetune.build_parser().parse(argv)
    assert parsed.output_dir == "model=1" and parsed.config_overrides == {"d_model": 16, "num_hidden_layers": 1}


# ----------------------------------------------------------------------------------------------- the meta device


def _tiny_classifier_folder(tmp_path) -> str:
    from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification

    config = CiTrusConfig(
        sampling_rate=100, context_length=200, num_channels=1, d_model=16, num_hidden_layers=1, num_attention_heads=2
    )
    folder = str(tmp_path / "classifier")
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


def test_a_pipeline_on_the_meta_device_is_refused(tmp_path):
    """`device="meta"` built the pipeline and failed at the first window inside PyTorch ("Tensor.item() cannot be
    called on meta tensors"); a model moved there failed in `Module.to` ("Cannot copy out of meta tensor")."""
    from transformers import pipeline

    from citrus_hf import CiTrusForSequenceClassification  # (importing citrus_hf registers its pipelines)

    folder = _tiny_classifier_folder(tmp_path)
    with pytest.raises(ValueError, match=r"`device='meta'` holds tensors' shapes without their values"):
        pipeline(model=folder, device="meta")
    model = CiTrusForSequenceClassification.from_pretrained(folder).to("meta")
    with pytest.raises(ValueError, match=r"The model's weights are on the meta device .*Load them first"):
        pipeline(model=model, feature_extractor=folder)
