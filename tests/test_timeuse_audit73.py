"""The time each label takes of a recording (audit73_timeuse): the classification pipeline's `label_seconds` (each
second that windows cover counted once, overlapping windows split halfway between their middles, gaps and windows
without signal counted for no label; a multi-label classifier's labels while present), `citrus predict`'s line of time
per label and, for a sleep stager (labels of a registered sleep vocabulary), AASM's hypnogram summary (TST, sleep
efficiency, sleep onset latency, WASO, REM latency, minutes and shares per stage) in its line and its `.jsonl` record.

The maths is checked on hand-made window sequences; the command on a tiny classifier with random weights over a real
EEG recording (EEG Motor Movement/Imagery S001R02, 61 s at 160 Hz).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.readers import read_edf
from citrus_hf.data.sources.sleep_physionet import SLEEP_STAGE_MAP
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference.pipelines import counted_spans, label_seconds
from citrus_hf.inference.time_use import sleep_summary
from citrus_hf.vocabulary_citrus import SLEEP_STAGES, SLEEP_VOCABULARIES, register_sleep_vocabulary, sleep_stages_of

CHANNEL = "C3.."
STAGES = ["W", "N1", "N2", "N3", "REM"]


def _windows(starts, length, labels=None, no_signal=()):
    """Hand-made pipeline windows: each `length` s from its start, with its label and `no_signal` mark."""
    return [
        {
            "start": float(start),
            "end": float(start + length),
            "label": None if labels is None else labels[index],
            "no_signal": "flat" if index in no_signal else None,
        }
        for index, start in enumerate(starts)
    ]


def test_each_second_counts_once_whatever_the_hop():
    touching = counted_spans(_windows([0, 10, 20], 10))
    assert touching.tolist() == [[0, 10], [10, 20], [20, 30]]
    # half-overlapping 10 s windows every 5 s: each counts for the 5 s around its middle, the first and last to their
    # outer ends; the union (0-25 s) once
    overlapping = counted_spans(_windows([0, 5, 10, 15], 10))
    assert overlapping.tolist() == [[0, 7.5], [7.5, 12.5], [12.5, 17.5], [17.5, 25]]
    # a hop longer than the window: the seconds between windows count for none
    apart = counted_spans(_windows([0, 15, 30], 10))
    assert apart.tolist() == [[0, 10], [15, 25], [30, 40]]
    # a last window padded out (--pad-last-window): its own seconds only
    padded = counted_spans([*_windows([0, 5], 10), {"start": 10.0, "end": 13.0}])
    assert padded.tolist() == [[0, 7.5], [7.5, 10.75], [10.75, 13.0]]  # (middles 10 and 11.5)


def test_label_seconds_leave_out_windows_without_signal_and_count_each_label_present():
    windows = _windows([0, 5, 10, 15], 10, no_signal=(2,))
    single = np.eye(2, dtype=bool)[[0, 1, 0, 1]]
    assert label_seconds(windows, single, ["sit", "walk"]) == {"sit": 7.5, "walk": 5.0 + 7.5}
    present = np.array([[1, 1], [1, 0], [1, 1], [0, 0]], dtype=bool)  # multi-label: both, one, (no signal), none
    assert label_seconds(windows, present, ["a", "b"]) == {"a": 12.5, "b": 7.5}


def test_the_sleep_summary_follows_aasm_on_a_hand_made_night():
    # 30 s epochs: W W N1 N2 N2 W N2 REM W W, then 60 s no window scores (a tail), over 360 s recorded
    labels = ["W", "W", "N1", "N2", "N2", "W", "N2", "REM", "W", "W"]
    night = sleep_summary(_windows(range(0, 300, 30), 30, labels), 360.0, {stage: stage for stage in STAGES})
    assert night["total_sleep_seconds"] == 5 * 30
    assert night["sleep_efficiency_percent"] == pytest.approx(100 * 150 / 360)
    assert night["sleep_onset_latency_seconds"] == 60
    assert night["waso_seconds"] == 3 * 30  # the wake epoch inside sleep and the two after the final awakening
    assert night["rem_latency_seconds"] == 210 - 60
    assert night["stage_seconds"] == {"W": 150, "N1": 30, "N2": 90, "N3": 0, "REM": 30}
    assert night["stage_percent_of_sleep"] == {"N1": 20.0, "N2": 60.0, "N3": 0.0, "REM": 20.0}
    assert night["unstaged_seconds"] == 60
    # a window without signal is neither sleep nor wake; a night without sleep has no latencies
    flat = sleep_summary(_windows([0, 30], 30, ["N2", "N2"], no_signal=(0,)), 60.0, {"N2": "N2", "W": "W"})
    assert flat["sleep_onset_latency_seconds"] == 30 and flat["unstaged_seconds"] == 30
    awake = sleep_summary(_windows([0, 30], 30, ["W", "W"]), 60.0, {"W": "W", "N2": "N2"})
    assert awake["total_sleep_seconds"] == 0 and awake["sleep_onset_latency_seconds"] is None
    assert awake["waso_seconds"] is None and awake["stage_percent_of_sleep"]["N2"] is None


def test_sleep_stagers_are_told_by_a_registered_vocabulary():
    assert sleep_stages_of(SLEEP_STAGES) == {stage: stage for stage in SLEEP_STAGES}  # a sleep_edf stager's labels
    assert set(SLEEP_STAGE_MAP.values()) <= set(SLEEP_STAGES)
    assert sleep_stages_of(["wake", "1", "2", "3", "4", "R"])["4"] == "N3"  # R&K's, in any case
    assert sleep_stages_of(["W", "N2", "sitting"]) is None  # a label of no sleep vocabulary
    assert sleep_stages_of(["W", "N2", "artifact"])["artifact"] == "unstaged"  # a label of no stage: unstaged
    assert sleep_stages_of(["N1", "N2"]) is None and sleep_stages_of(["rest", "left fist"]) is None
    try:  # one's own vocabulary
        register_sleep_vocabulary("audit73 test", {"Awake": "W", "Asleep": "N2"})
        assert sleep_stages_of(["awake", "asleep"]) == {"awake": "W", "asleep": "N2"}
    finally:
        SLEEP_VOCABULARIES.pop("audit73 test", None)
    with pytest.raises(ValueError, match="no stage of"):
        register_sleep_vocabulary("audit73 wrong", {"Awake": "W", "Deep": "SWS"})


def _classifier(folder, labels, **overrides) -> str:
    torch.manual_seed(0)
    config = tiny_config(
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **overrides,
    )
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    return str(folder)


def test_the_pipeline_counts_overlapping_windows_once(edf_path, tmp_path):
    folder = _classifier(tmp_path, ["rest", "left fist", "right fist"])
    recording = read_edf(edf_path, [CHANNEL])
    classify = pipeline(model=folder)
    whole = classify(recording.data, sampling_rate=recording.sampling_rate, top_k=None)
    overlapping = classify(recording.data, sampling_rate=recording.sampling_rate, hop_seconds=0.5, top_k=None)
    apart = classify(recording.data, sampling_rate=recording.sampling_rate, hop_seconds=3.0, top_k=None)
    covered = whole["windows"][-1]["end"]  # 30 windows of 2 s, the last second in none
    assert sum(whole["label_seconds"].values()) == pytest.approx(covered)
    # 119 windows of 2 s every 0.5 s cover the same 60 s once (their own seconds add up to 238)
    assert sum(overlapping["label_seconds"].values()) == pytest.approx(overlapping["windows"][-1]["end"])
    assert sum(apart["label_seconds"].values()) == pytest.approx(2.0 * len(apart["windows"]))  # no gap counted
    for name, seconds in whole["label_seconds"].items():  # touching windows: each window's label, its 2 s
        assert seconds == pytest.approx(2.0 * sum(window["label"] == name for window in whole["windows"]))


def test_predict_gives_a_sleep_stagers_aasm_summary_and_others_their_time_per_label(edf_path, tmp_path, capsys):
    stager = _classifier(tmp_path / "stager", STAGES)
    output = tmp_path / "night.jsonl"
    assert (
        main(["predict", stager, str(edf_path), "--channels", CHANNEL, "--hop-seconds", "1", "--output", str(output)])
        == 0
    )
    (line,) = [line for line in capsys.readouterr().out.splitlines() if ": sleep (AASM" in line]
    record = json.loads(output.read_text())
    night = record["sleep"]
    assert night["recorded_seconds"] == pytest.approx(61.0)
    assert sum(night["stage_seconds"].values()) + night["unstaged_seconds"] == pytest.approx(61.0)
    assert night["stage_seconds"] == pytest.approx(record["label_seconds"])
    assert f"TST {night['total_sleep_seconds'] / 60:.1f} min" in line and "sleep efficiency" in line

    plain = _classifier(tmp_path / "plain", ["rest", "left fist", "right fist"])
    assert main(["predict", plain, str(edf_path), "--channels", CHANNEL, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    record = json.loads(output.read_text())
    assert "sleep" not in record and "sleep (AASM" not in printed
    assert sum(record["label_seconds"].values()) == pytest.approx(60.0)
    assert "time per label, of 60 s scored:" in printed
