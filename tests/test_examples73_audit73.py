"""The BIDS example (`examples/bids_dataset.py --tiny`) runs end to end on real EEG of the offline corpus: the tree it
writes holds the trials as they are (EDF samples, events at their places, one set of channels), `citrus data info`
reads its subjects apart and `citrus finetune` holds subject 02 out."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_examples_training import example_error_in_process, run_example_in_process

from citrus_hf.data import build_dataset
from citrus_hf.data.readers import read_edf


def test_bids_dataset_example(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(
        monkeypatch, capsys, "bids_dataset.py", "--tiny", "--output-dir", str(tmp_path / "run"), cwd=tmp_path
    )
    # 16 trials per run, 2 runs per subject, one 3.5 s window per trial; sub-02 held out as the test split
    assert re.search(r"^  train +32 +2 +1 ", output, re.M) and re.search(r"^  test +32 +2 +1 ", output, re.M)
    assert "classes (2): negativity, positivity" in output and "channels per window: 6" in output
    assert "sampling rate (Hz): 256" in output
    scores = re.search(
        r"classification: 4 training windows of 4 labelled examples, recipe probe; test accuracy ([0-9.]+)", output
    )
    assert scores and 0.0 <= float(scores.group(1)) <= 1.0
    extractor = json.loads((tmp_path / "run" / "model" / "preprocessor_config.json").read_text())
    assert extractor["context_length"] / extractor["sampling_rate"] == pytest.approx(3.5)

    # the tree holds the real trials: sub-02's run 1 is set Ib's first training trials back to back, its EOG left out
    eeg = tmp_path / "run" / "bids" / "sub-02" / "eeg"
    recording = read_edf(eeg / "sub-02_task-scp_run-1_eeg.edf")
    assert list(recording.channel_names) == ["A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p"]
    assert recording.sampling_rate == 256.0 and recording.data.shape == (6, 16 * 1152)
    trials = build_dataset("eeg_scp2")["train"].with_format("numpy")
    first, second = (np.asarray(trials[i]["input_values"])[[0, 1, 2, 3, 5, 6]] for i in (0, 1))
    step = np.abs(first).max() / 32767  # EDF's 16-bit samples
    np.testing.assert_allclose(recording.data[:, :1152], first, atol=2 * step + 1e-3)
    np.testing.assert_allclose(recording.data[:, 1152:2304], second, atol=2 * step + 1e-3)
    events = (eeg / "sub-02_task-scp_run-1_events.tsv").read_text().splitlines()
    names = trials.features["label"].names
    assert events[0] == "onset\tduration\ttrial_type"
    assert events[2] == f"4.5\t4.5\t{names[int(trials[1]['label'])]}" and len(events) == 17


def test_bids_dataset_example_names_a_bad_budget(tmp_path, monkeypatch, capsys):
    line = example_error_in_process(tmp_path, monkeypatch, capsys, "bids_dataset.py", "--label-budget", "0")
    assert "argument --label-budget: must be a whole number >= 1, got 0" in line
