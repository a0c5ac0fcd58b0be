"""Session 66: leftovers of earlier audits mended (each noticed and left alone in an earlier closing note)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusConfig
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig


@pytest.mark.parametrize(
    "value, stored",
    [
        (np.array([0.5, 1.5], dtype=np.float32), [0.5, 1.5]),
        (np.arange(4).reshape(2, 2), [[0, 1], [2, 3]]),
        (torch.tensor([2.0, 3.0]), [2.0, 3.0]),
        ({"means": np.array([1.0])}, {"means": [1.0]}),
    ],
    ids=["numpy vector", "numpy matrix", "torch tensor", "array inside a dict"],
)
def test_an_array_set_on_a_config_is_kept_as_a_list_and_saves(value, stored, tmp_path):
    """`config.channel_means = x.mean(axis=1)` was kept as an array, and `save_pretrained` refused it much later."""
    for config in (tiny_config(), CiTrusFusionConfig(modality_configs={"ecg": tiny_config()})):
        config.user_statistics = value
        assert config.user_statistics == stored and type(config.user_statistics) is type(stored)
        config.save_pretrained(tmp_path / type(config).__name__)
        assert type(config).from_pretrained(tmp_path / type(config).__name__).user_statistics == stored


def test_a_channel_count_given_as_an_array_item_is_an_int():
    assert type(CiTrusConfig(num_channels=np.array([3])[0]).num_channels) is int


@pytest.mark.parametrize(
    "subjects, counted",
    [(["s1", None, "s2", None], 2), ([None, None], None), (["s1", None, "s1"], 1), (["unknown", None], None)],
)
def test_data_info_counts_no_missing_subject_as_one(subjects, counted):
    """A set of your own with some subjects missing (None; pandas' NaN is None in Arrow) counted "None" as one more
    subject, which the validation carve does not do (it carves those windows by recording)."""
    from datasets import Dataset, DatasetDict

    from citrus_hf.data.builders import summarize_dataset

    rows = {"input_values": [[[0.0, 1.0]]] * len(subjects), "subject": subjects}
    summary = summarize_dataset(DatasetDict(train=Dataset.from_dict(rows)), sampling_rate=2.0)
    assert summary["splits"]["train"]["subjects"] == counted


def test_predict_gives_each_window_its_time_on_the_clock_of_the_edf_header(offline_archives_cached, tmp_path):
    """`citrus predict` wrote each window's seconds from the file's start only: a sleep stager's user matched them
    to the night's clock by hand. Where an EDF file is among the recordings, the .csv has `start_time` (empty for a
    file that records no start: every row has the same columns) and each .jsonl line `recording_start`."""
    import csv
    import json

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.commands.main import main
    from citrus_hf.data.fetch import source_members
    from citrus_hf.data.readers import read_edf
    from citrus_hf.data.recordings import find_member

    edf = find_member(source_members("eegmmi_s001r02"), "S001R02.edf")  # 61 s at 160 Hz from 2009-08-12 16:15:00
    np.savetxt(tmp_path / "c3.csv", read_edf(edf, ["C3.."]).data.T, header="C3..", comments="")
    config = tiny_config(num_labels=2)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "model")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    model, files = str(tmp_path / "model"), [str(edf), str(tmp_path / "c3.csv")]
    argv = [*files, "--channels", "C3..", "--sampling-rate", "160", "--backend", "torch"]
    assert main(["predict", model, *argv, "--hop-seconds", "30", "--output", str(tmp_path / "w.csv")]) == 0
    with open(tmp_path / "w.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["recording"], row["start_time"]) for row in rows] == [
        (files[0], "2009-08-12T16:15:00.000"),
        (files[0], "2009-08-12T16:15:30.000"),
        (files[1], ""),
        (files[1], ""),
    ]
    assert main(["predict", model, *argv, "--output", str(tmp_path / "w.jsonl")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "w.jsonl").read_text().splitlines()]
    assert [line["recording_start"] for line in lines] == ["2009-08-12T16:15:00.000", None]
    # no EDF among the files: no clock column
    assert main(["predict", model, files[1], "--sampling-rate", "160", "--output", str(tmp_path / "n.csv")]) == 0
    assert "start_time" not in (tmp_path / "n.csv").read_text().splitlines()[0]


def test_a_wfdb_record_with_a_base_date_gives_its_start_and_one_without_gives_none(tmp_path):
    import datetime

    import wfdb

    from citrus_hf.data.readers import read_recording
    from citrus_hf.data.readers import records_its_start as _records_start

    samples = np.random.default_rng(0).normal(size=(500, 1))
    common = {"fs": 100, "units": ["mV"], "sig_name": ["I"], "p_signal": samples, "fmt": ["16"]}
    at = datetime.time(10, 30, 5)
    wfdb.wrsamp("dated", base_time=at, base_date=datetime.date(2020, 1, 2), write_dir=str(tmp_path), **common)
    wfdb.wrsamp("timed", base_time=at, write_dir=str(tmp_path), **common)  # a time names no day
    assert read_recording(tmp_path / "dated.hea").start == datetime.datetime(2020, 1, 2, 10, 30, 5)
    assert read_recording(tmp_path / "timed.hea").start is None
    assert _records_start(str(tmp_path / "dated.hea")) and not _records_start(str(tmp_path / "x.npy"))


def test_one_artefact_does_not_make_a_recording_read_as_in_another_unit():
    """A plain standard deviation made one electrode pop of 1e6 in a recording in the right unit "about 1000 times"
    the training data's spread, with advice to divide its samples by 1000 (audit 66, pathologies)."""
    from citrus_hf import CiTrusFeatureExtractor

    extractor = CiTrusFeatureExtractor(
        num_channels=1, sampling_rate=100.0, normalization="fixed", normalization_mean=[0.0], normalization_std=[10.0]
    )
    recording = np.random.default_rng(0).normal(scale=10.0, size=(1, 6000))
    popped, railed = recording.copy(), recording.copy()
    popped[0, 100] = 1e6
    railed[0, :30] = 32767.0  # 0.3 s at the int16 rail
    assert extractor.spread_off_by(popped) is None and extractor.spread_off_by(railed) is None
    assert extractor.spread_off_by(recording * 1e3) == 3 and extractor.spread_off_by(recording * 1e-3) == -3


def test_a_recording_on_an_offset_the_training_data_did_not_have_is_named(tmp_path, capsys):
    """Under `normalization="fixed"`, a +1e4 DC offset on a signal whose training spread is 10 reached the model as
    values a thousand training deviations out and was scored at 0.9999 without a word (audit 66, pathologies)."""
    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.commands.main import main

    extractor = CiTrusFeatureExtractor(
        num_channels=1, sampling_rate=100.0, normalization="fixed", normalization_mean=[0.0], normalization_std=[10.0]
    )
    recording = np.random.default_rng(0).normal(scale=10.0, size=(1, 2000))
    assert extractor.level_off_by(recording) is None and extractor.level_off_by(recording + 100.0) is None
    assert extractor.level_off_by(recording + 1e4) == pytest.approx(1000.0, rel=0.01)
    config = tiny_config(num_labels=2, normalization="fixed", normalization_mean=[0.0], normalization_std=[10.0])
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "model")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    np.save(tmp_path / "clean.npy", recording)
    np.save(tmp_path / "offset.npy", recording + 1e4)
    files = [str(tmp_path / "clean.npy"), str(tmp_path / "offset.npy")]
    assert main(["predict", str(tmp_path / "model"), *files, "--sampling-rate", str(config.sampling_rate)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: The level of")]
    assert len(warned) == 1 and "offset.npy lies about 1e+03 times the spread" in warned[0]
