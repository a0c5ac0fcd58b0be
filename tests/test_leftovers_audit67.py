"""Session 67: leftovers of earlier audits mended (each noticed and left alone in an earlier closing note)."""

from __future__ import annotations

import datetime
import logging

import numpy as np
import pytest


def _write_timed_csv(path, stamps, name="timestamp_ms"):
    samples = np.random.default_rng(0).normal(size=len(stamps))
    lines = [f"{name},ax"] + [f"{stamp:.0f},{value:.6f}" for stamp, value in zip(stamps, samples, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_a_csv_stamped_since_1970_gives_its_start_in_utc(tmp_path):
    """A phone logger's CSV (milliseconds since 1970) was read with no start, and `citrus predict` reported its
    windows from 0 only; its first stamp is now the recording's start on the clock."""
    from citrus_hf.data.readers import read_recording
    from citrus_hf.data.readers import records_its_start as _records_start

    first = datetime.datetime(2025, 3, 1, 9, 0, 0, tzinfo=datetime.timezone.utc)
    _write_timed_csv(tmp_path / "phone.csv", first.timestamp() * 1000 + np.arange(300) * 20.0)
    recording = read_recording(tmp_path / "phone.csv", sampling_rate=50)
    assert recording.start == first and recording.channel_names == ["ax"]
    assert read_recording(tmp_path / "phone.csv", ["ax"], sampling_rate=50).start == first
    assert _records_start(str(tmp_path / "phone.csv"))


def test_a_relative_clock_gives_no_start_and_its_offset_is_said(tmp_path, caplog):
    """A CSV cut from a longer one, its clock starting at 12.5 s, was read from 0 without a word."""
    from citrus_hf.data.readers import read_recording

    _write_timed_csv(tmp_path / "cut.csv", 12_500 + np.arange(300) * 20.0)
    with caplog.at_level(logging.WARNING):
        recording = read_recording(tmp_path / "cut.csv", sampling_rate=50)
    assert recording.start is None
    assert "counted from its first sample (stamped 12500" in caplog.text
    caplog.clear()
    _write_timed_csv(tmp_path / "zero.csv", np.arange(300) * 20.0)
    with caplog.at_level(logging.WARNING):
        read_recording(tmp_path / "zero.csv", sampling_rate=50)
    assert "counted from" not in caplog.text


def test_predict_reports_a_timed_csv_on_its_clock(tmp_path):
    import csv

    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.commands.main import main

    first = datetime.datetime(2025, 3, 1, 9, 0, 0, tzinfo=datetime.timezone.utc)
    config = tiny_config(num_labels=2)
    extractor = CiTrusFeatureExtractor.from_config(config)
    extractor.save_pretrained(tmp_path / "model")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    rate = extractor.sampling_rate
    samples = 3 * extractor.context_length
    _write_timed_csv(tmp_path / "phone.csv", first.timestamp() * 1000 + np.arange(samples) * 1000 / rate)
    output = tmp_path / "w.csv"
    argv = ["predict", str(tmp_path / "model"), str(tmp_path / "phone.csv"), "--sampling-rate", f"{rate:g}"]
    assert main([*argv, "--backend", "torch", "--output", str(output)]) == 0
    with open(output, newline="") as handle:
        rows = list(csv.DictReader(handle))
    window = extractor.context_length / rate
    assert [row["start_time"] for row in rows] == [
        (first + datetime.timedelta(seconds=k * window)).isoformat(timespec="milliseconds") for k in range(3)
    ]


@pytest.mark.parametrize("header", ["ax,ay", "time\n", ""])
def test_a_csv_without_a_time_column_records_no_start(tmp_path, header):
    from citrus_hf.data.readers import csv_has_time_column

    (tmp_path / "x.csv").write_text(header + "\n1,2\n3,4\n" if header else "1,2\n3,4\n")
    assert csv_has_time_column(tmp_path / "x.csv") is (header == "time\n")
    assert not csv_has_time_column(tmp_path / "missing.csv")


def test_the_card_states_the_units_the_model_was_trained_in():
    """The training data's units were recorded in the extractor (`channel_units`) and converted to at prediction,
    but the card's input contract did not say them: a user could not tell a µV model from a mV one."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.publishing.cards import build_model_card

    config = tiny_config(num_labels=2, num_channels=2, channel_names=["Fpz", "EOG"])
    extractor = CiTrusFeatureExtractor.from_config(config, channel_units=["µV", ""])
    card = str(build_model_card(CiTrusForSequenceClassification(config), feature_extractor=extractor))
    assert "| Channels | 2: Fpz (µV), EOG;" in card


def test_evaluate_cuts_a_set_of_your_own_in_whole_patches_as_finetune_does(tmp_path, caplog):
    """`citrus finetune` rounded window_seconds to whole patches of the model (session 66); `citrus evaluate` on the
    same set and option padded each window with zeros marked as signal."""
    import datasets

    from citrus_hf.commands.main import main

    rng = np.random.default_rng(0)
    rows = {
        "input_values": [rng.normal(size=(1, 800)).astype(np.float32) for _ in range(8)],
        "label": [k % 2 for k in range(8)],
        "sampling_rate": [200.0] * 8,
    }
    held_out = {**rows, "input_values": [-window for window in rows["input_values"]]}  # (not train's recordings)
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(rows), "test": datasets.Dataset.from_dict(held_out)}
    ).save_to_disk(str(tmp_path / "set"))
    folder = str(tmp_path / "set")
    argv = ["evaluate", "--datasets", folder, "--arms", "prior", "--budgets", "2", "--seeds", "0"]
    # the tiny model: 50 Hz, patches of 10 samples (0.2 s); 0.5 s is 2.5 patches
    argv += ["--model-config", "tiny", "--dataset-options", f"{folder}:window_seconds=0.5", "--no-show-progress"]
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert main([*argv, "--output-dir", str(tmp_path / "run")]) == 0
    assert "window_seconds=0.5 is 2.5 patches" in caplog.text and "cut at 0.6 s (3 patches)" in caplog.text


def test_evaluate_says_matplotlib_cannot_draw_before_any_run(tmp_path, monkeypatch, capsys):
    """results.png is drawn at the end: a bad MPLBACKEND (or no matplotlib) failed only after every run was fitted.
    In this process, matplotlib imported anew (it reads MPLBACKEND when first imported) and put back after: a fresh
    interpreter spent 10 s importing what `citrus evaluate` imports before its check."""
    import sys

    from citrus_hf.commands.main import main

    loaded = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "matplotlib"}
    monkeypatch.setenv("MPLBACKEND", "no_such_backend")
    argv = ["evaluate", "--datasets", "basic_motions", "--arms", "prior", "--budgets", "1", "--seeds", "0"]
    argv += ["--output-dir", str(tmp_path / "run"), "--no-show-progress"]
    for name in loaded:
        del sys.modules[name]
    try:
        assert main(argv) == 2
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == "matplotlib"]:
            del sys.modules[name]  # the modules a failed import left: the process's own come back whole
        sys.modules.update(loaded)
    printed = capsys.readouterr()
    assert printed.out == ""
    (line,) = printed.err.strip().splitlines()
    assert "results.png" in line and "MPLBACKEND='no_such_backend'" in line
    assert not (tmp_path / "run" / "runs.jsonl").exists()
