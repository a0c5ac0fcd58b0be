"""A file's events never pooled as one labelled recording: a folder labelled by an events table was scored "per
recording" by `citrus finetune` by pooling each test file's events where each file's events were of one class (a file
of many labelled events is not one labelled recording); it is not scored per recording now. Which recording a row's
label belongs to is the data layer's to say (`TaskSplits.labelled_recordings`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from tiny_configs import write_edf

from citrus_hf.commands.main import main
from citrus_hf.data.splits import load_task_splits

RATE = 50.0


def test_labelled_recordings_are_the_files_window_seconds_cut(recording_folders):
    splits = load_task_splits(recording_folders, {"window_seconds": 2}, sampling_rate=RATE)
    recordings, why_not = splits.labelled_recordings("test")
    assert why_not is None and len(recordings) == len(splits.test) == 2 * (3 + 5)
    assert len(np.unique(recordings)) == 4
    # each recording's windows are one file's
    files = np.asarray(splits.test["recording"])
    assert all(len(set(files[recordings == recording])) == 1 for recording in np.unique(recordings))
    # without window_seconds every file is one row: nothing to average
    whole = load_task_splits(recording_folders, sampling_rate=RATE, require_validation=False)
    assert whole.labelled_recordings("test") == (
        None,
        "each recording is one example (no `window_seconds` cut it into windows)",
    )


def _events_folder(folder: Path) -> Path:
    """EDF files labelled by events tables: each training file holds one event of each class, each test file two
    events of one class (a file of many labelled events, not one labelled recording)."""
    rng = np.random.default_rng(0)
    for split, files in (("train", 6), ("test", 4)):
        (folder / split).mkdir(parents=True)
        rows = []
        for index in range(files):
            name = f"{split}{index}.edf"
            time = np.arange(int(12 * RATE)) / RATE
            frequency = np.where(time < 6, 2.0, 9.0) if split == "train" else np.full(time.size, (2.0, 9.0)[index % 2])
            signal = np.round(60 * np.sin(2 * np.pi * frequency * time) + rng.normal(0, 10, time.size))
            write_edf(folder / split / name, [signal], ["C3"], RATE, peak=200.0)
            if split == "train":
                rows += [{"file_name": name, "onset": 0.0, "duration": 6.0, "label": "slow"}]
                rows += [{"file_name": name, "onset": 6.0, "duration": 6.0, "label": "fast"}]
            else:
                label = ("slow", "fast")[index % 2]
                rows += [{"file_name": name, "onset": onset, "duration": 4.0, "label": label} for onset in (0.0, 6.0)]
        pd.DataFrame(rows).to_csv(folder / split / "metadata.csv", index=False)
    return folder


def test_a_files_events_are_never_scored_as_one_labelled_recording(tmp_path, capsys):
    folder = _events_folder(tmp_path / "events")
    # citrus finetune: scored per window only (it pooled each test file's two events into one "recording")
    argv = ["finetune", "--dataset", str(folder), "--dataset-options", "window_seconds=2", "--model-config", "tiny"]
    argv += ["--recipe", "probe", "--no-show-progress", "--output-dir", str(tmp_path / "fit")]
    assert main(argv) == 0
    results = json.loads((tmp_path / "fit" / "finetune_results.json").read_text())
    assert results["num_test"] == 16
    assert results["test_recording_metrics"] is None and results["num_test_recordings"] is None
    splits = load_task_splits(folder, {"window_seconds": 2}, require_validation=False)
    recordings, why_not = splits.labelled_recordings("test")
    assert recordings is None and "events" in why_not
