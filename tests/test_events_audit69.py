"""A folder of recordings labelled by an events table: a metadata.csv with `onset` and `duration` columns (seconds
from the recording's start, as BIDS's events.tsv), many rows per file, each row one example cut from its file."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from tiny_configs import write_edf

from citrus_hf.data.recording_folders import load_recording_folder, metadata_layout

RATE = 50


def _signals(seed: int, seconds: int = 10) -> list[np.ndarray]:
    """Two channels of `seconds` at RATE, whole numbers so that EDF's 16-bit samples keep them exactly."""
    rng = np.random.default_rng(seed)
    return [np.round(rng.uniform(-100, 100, seconds * RATE)) for _ in range(2)]


def _events_folder(tmp_path, rows_by_split: dict[str, list[dict]], seconds: int = 10) -> dict:
    """EDF files named by `rows_by_split` (`{split: [{file_name, onset, duration, label}]}`) under `split/`, each with
    its own metadata.csv; returns `{file under the folder: its signals}`."""
    written = {}
    for split, rows in rows_by_split.items():
        (tmp_path / split).mkdir(parents=True, exist_ok=True)
        for name in dict.fromkeys(row["file_name"] for row in rows):
            signals = _signals(len(written), seconds)
            write_edf(tmp_path / split / name, signals, ["C3", "C4"], RATE, peak=200.0)
            written[f"{split}/{name}"] = np.stack(signals)
        pd.DataFrame(rows).to_csv(tmp_path / split / "metadata.csv", index=False)
    return written


def test_each_event_is_an_example_cut_from_its_file(tmp_path):
    """Each row is one example: the file's samples from onset * rate for duration * rate, its label and columns,
    `start_seconds` where it starts and its file as `recording`; every event of a file stays in the file's split."""
    train = [
        {"file_name": "a.edf", "onset": 1.0, "duration": 2.0, "label": "left", "subject": "s1"},
        {"file_name": "a.edf", "onset": 4.5, "duration": 2.0, "label": "right", "subject": "s1"},
        {"file_name": "b.edf", "onset": 0.0, "duration": 2.0, "label": "right", "subject": "s2"},
    ]
    test = [{"file_name": "c.edf", "onset": 7.96, "duration": 2.0, "label": "left", "subject": "s3"}]
    signals = _events_folder(tmp_path, {"train": train, "test": test})
    loaded = load_recording_folder(tmp_path)
    assert {split: len(rows) for split, rows in loaded.items()} == {"train": 3, "test": 1}
    for split, rows in (("train", train), ("test", test)):
        for example, event in zip(loaded[split], rows, strict=True):
            start = round(event["onset"] * RATE)
            expected = signals[f"{split}/{event['file_name']}"][:, start : start + round(event["duration"] * RATE)]
            np.testing.assert_allclose(np.asarray(example["input_values"]), expected, atol=0.01)
            assert example["label"] == event["label"] and example["subject"] == event["subject"]
            assert example["recording"] == f"{split}/{event['file_name']}"
            assert example["start_seconds"] == pytest.approx(start / RATE)
            assert example["sampling_rate"] == RATE and "onset" not in example and "duration" not in example


def test_events_are_cut_into_windows_and_a_carved_validation_keeps_a_file_together(tmp_path):
    """window_seconds cuts an event as it cuts a whole-file example (`start_seconds` goes on from the event's), and
    the validation carved from train takes whole files, every event of one on one side."""
    from citrus_hf.data.splits import load_task_splits

    train = [
        {"file_name": f"r{index}.edf", "onset": onset, "duration": 4.0, "label": label}
        for index in range(6)
        for onset, label in ((0.0, "left"), (5.0, "right"))
    ]
    test = [{"file_name": "t.edf", "onset": 2.0, "duration": 4.0, "label": "left"}]
    _events_folder(tmp_path, {"train": train, "test": test})
    loaded = load_task_splits(tmp_path, {"window_seconds": 2})
    windows = loaded.test.with_format("numpy")
    assert len(windows) == 2 and list(windows["start_seconds"]) == [2.0, 4.0]
    assert {row["input_values"].shape for row in windows} == {(2, 2 * RATE)}
    carved = set(loaded.validation["recording"])
    assert carved and not carved & set(loaded.train["recording"])


def test_an_event_past_its_files_end_is_refused_naming_it(tmp_path):
    rows = [
        {"file_name": "a.edf", "onset": 1.0, "duration": 2.0, "label": "left"},
        {"file_name": "a.edf", "onset": 9.0, "duration": 2.0, "label": "right"},
    ]
    _events_folder(tmp_path, {"train": rows, "test": rows[:1]})
    with pytest.raises(ValueError, match=r"a.edf lasts 10 s .* event at onset 9 s of duration 2 s ends past that"):
        load_recording_folder(tmp_path)


@pytest.mark.parametrize(
    "onset, duration, message",
    [
        (-1.0, 2.0, r"at onset -1.0 starts before its recording"),
        (1.0, 0.0, r"has the duration 0.0; .*a point event"),
        (None, 2.0, r"has no onset \(an empty cell\)"),
        (1.0, None, r"has no duration \(an empty cell\)"),
        (1.0, "two", r"has the duration 'two'"),
    ],
)
def test_an_event_that_cannot_be_cut_is_refused(tmp_path, onset, duration, message):
    rows = [
        {"file_name": "a.edf", "onset": 0.0, "duration": 2.0, "label": "left"},
        {"file_name": "a.edf", "onset": onset, "duration": duration, "label": "right"},
    ]
    _events_folder(tmp_path, {"train": rows})
    with pytest.raises(ValueError, match=message):
        metadata_layout(tmp_path)


def test_an_onset_without_a_duration_column_is_refused(tmp_path):
    _events_folder(tmp_path, {"train": [{"file_name": "a.edf", "onset": 0.0, "label": "left"}]})
    with pytest.raises(ValueError, match=r"has a `onset` column and no `duration`"):
        metadata_layout(tmp_path)


def test_overlapping_events_of_different_labels_are_said(tmp_path, caplog):
    rows = [
        {"file_name": "a.edf", "onset": 0.0, "duration": 3.0, "label": "left"},
        {"file_name": "a.edf", "onset": 2.0, "duration": 3.0, "label": "right"},
        {"file_name": "b.edf", "onset": 0.0, "duration": 3.0, "label": "left"},
        {"file_name": "b.edf", "onset": 2.0, "duration": 3.0, "label": "left"},
    ]
    _events_folder(tmp_path, {"train": rows})
    with caplog.at_level(logging.WARNING):
        layout = metadata_layout(tmp_path)
    assert "a.edf at onset 2 s (label 'right') overlaps the one at 0 s (label 'left')" in caplog.text
    assert "b.edf" not in caplog.text  # same label: one longer stretch of a class
    assert [len(events) for events in layout["train"].values()] == [2, 2]


def test_events_of_a_file_that_records_no_rate_need_its_rate(tmp_path):
    """A .npy file's events are timed in seconds: without its rate they were cut at 1 Hz; the metadata's
    sampling_rate column (or --sampling-rate) gives it."""
    (tmp_path / "train").mkdir()
    data = np.arange(2 * 500, dtype=np.float32).reshape(2, 500)
    np.save(tmp_path / "train" / "a.npy", data)
    rows = [{"file_name": "a.npy", "onset": 1.0, "duration": 2.0, "label": "x"}]
    pd.DataFrame(rows).to_csv(tmp_path / "train" / "metadata.csv", index=False)
    with pytest.raises(ValueError, match=r"a.npy records no sampling rate, and its events are timed in seconds"):
        load_recording_folder(tmp_path)
    example = load_recording_folder(tmp_path, sampling_rate=RATE)["train"].with_format("numpy")[0]
    np.testing.assert_array_equal(example["input_values"], data[:, RATE : 3 * RATE])


def test_readme_events_example_builds_the_set_it_describes(tmp_path, monkeypatch):
    """README's **Events** block, run as pasted: 5 files of 10 trials, cut into 2 s windows."""
    from test_readme import _fenced_blocks

    from citrus_hf.data.splits import load_task_splits

    (example,) = [block for block in _fenced_blocks("python") if '"events_set/metadata.csv"' in block]
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {"__name__": "readme_example"})
    loaded = load_task_splits(tmp_path / "events_set", {"window_seconds": 2})
    assert len(loaded.train) + len(loaded.validation) == 80 and len(loaded.test) == 20
    assert loaded.label_names == ["left", "right"] and set(loaded.test["recording"]) == {"test/run0.npy"}
