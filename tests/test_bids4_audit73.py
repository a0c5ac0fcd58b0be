"""BIDS, fourth round: EEGLAB / MNE-BIDS `boundary` rows of an events.tsv are breaks, not point events; a split
recording (`split-`) does not inherit the whole recording's events table; `test_sessions` / `test_runs` hold out a
single subject's sessions or runs; the warnings about participants.tsv name `label_from`, which reads it."""

from __future__ import annotations

import logging
import shutil

import pytest
from test_bids_audit73 import CHANNELS, RATE, _bids, _signals, _tsv
from tiny_configs import write_edf

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.recording_folders import load_recording_folder

pytestmark = pytest.mark.usefixtures("own_datasets_cache")  # (a datasets cache of each test's own)


def _distinct(root) -> None:
    """Give every recording under `root` signals of its own (`_bids` writes one subject's sessions alike, and a copy
    of a training file in the test split is refused)."""
    for seed, file in enumerate(sorted(root.rglob("*_eeg.edf"))):
        write_edf(file, _signals(seed + 10), CHANNELS, RATE, peak=200.0)


@pytest.mark.parametrize("boundary", [["boundary", "n/a"], ["BAD boundary", 0.0]])
def test_boundary_rows_are_breaks_not_events(tmp_path, boundary):
    """EEGLAB / MNE-BIDS write a `boundary` row (duration 0 or n/a) where data were cut out: it was refused as a point
    event, so the dataset could not be read without editing every table. It is a break: no example of it, and an
    event that spans it is refused as one across a BrainVision pause is."""
    label, duration = boundary
    events = [[1.0, 2.0, "left", 1], [3.5, duration, label, "n/a"], [4.0, 2.0, "right", 2]]
    _bids(tmp_path / "kept", events=events)
    loaded = load_recording_folder(tmp_path / "kept", bids_options={"test_subjects": "03"})
    assert {split: len(part) for split, part in loaded.items()} == {"train": 4, "test": 2}
    assert set(loaded["train"]["label"]) == {"left", "right"}
    spanning = [[1.0, 2.0, "left", 1], [2.5, duration, label, "n/a"], [4.0, 2.0, "right", 2]]
    _bids(tmp_path / "spanned", events=spanning)
    with pytest.raises(CorruptFileError, match=r"breaks at 2.5 s .*event at onset 1 s of duration 2 s spans"):
        load_recording_folder(tmp_path / "spanned", bids_options={"test_subjects": "03"})


def test_a_boundary_with_the_label_in_another_column_is_a_break(tmp_path):
    """With `label_column=value`, a boundary row (trial_type boundary, value n/a) is still a break, not an event
    without a label."""
    events = [[1.0, 2.0, "left", 1], [3.5, "n/a", "boundary", "n/a"], [4.0, 2.0, "right", 2]]
    _bids(tmp_path / "bids", events=events)
    loaded = load_recording_folder(tmp_path / "bids", bids_options={"test_subjects": "03", "label_column": "value"})
    assert list(loaded["train"]["label"]) == ["1", "2", "1", "2"]


def _split_recordings(root):
    """Each recording of `_bids(root)` as two splits (`split-01`, `split-02`) under the whole recording's events
    table, as MNE-BIDS writes a long recording's."""
    for file in list(root.rglob("*_eeg.edf")):
        for split in ("01", "02"):
            shutil.copy(file, file.with_name(file.name.replace("_eeg.edf", f"_split-{split}_eeg.edf")))
        file.unlink()


def test_a_split_recording_does_not_take_the_whole_recordings_events(tmp_path):
    """A `split-02` file inherited the events table of the whole recording, its onsets measured from split 1's start:
    every event cut at the wrong seconds, silently. Refused naming the table and the fix."""
    root = tmp_path / "bids"
    _bids(root)
    _split_recordings(root)
    with pytest.raises(ValueError, match=r"split-.*split-01_events.tsv.*or join the splits"):
        load_recording_folder(root, bids_options={"test_subjects": "03"})


def test_a_split_recording_with_its_own_events_table_is_read(tmp_path):
    """An events table that names the split (onsets from that split's start) labels it."""
    root = tmp_path / "bids"
    _bids(root)
    _split_recordings(root)
    for table in list(root.rglob("*_events.tsv")):
        for split, rows in (("01", [[1.0, 2.0, "left"]]), ("02", [[3.0, 2.0, "right"]])):
            named = table.with_name(table.name.replace("_events.tsv", f"_split-{split}_events.tsv"))
            _tsv(named, ["onset", "duration", "trial_type"], rows)
        table.unlink()
    loaded = load_recording_folder(root, bids_options={"test_subjects": "03"})
    assert {split: len(part) for split, part in loaded.items()} == {"train": 4, "test": 2}
    assert list(loaded["test"]["start_seconds"]) == [1.0, 3.0]


@pytest.mark.parametrize(
    ("options", "tested"),
    [
        ({"test_sessions": "b"}, {"b"}),
        ({"test_sessions": ["ses-b"]}, {"b"}),
        ({"test_runs": "2"}, {"2"}),
        ({"test_runs": ["02"]}, {"2"}),
        ({"test_runs": 2}, {"2"}),
    ],
)
def test_one_subject_holds_out_a_session_or_a_run(tmp_path, options, tested):
    """A dataset of one subject could get no test split (only `test_subjects` existed): `test_sessions` and
    `test_runs` hold out recordings by session or run, as `test_subjects` does by subject."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01",), sessions=("a", "b"))
    for table in list(root.rglob("*_run-1_*")):  # a second run of each session
        shutil.copy(table, table.with_name(table.name.replace("_run-1_", "_run-2_")))
    _distinct(root)
    loaded = load_recording_folder(root, bids_options=options)
    column = "session" if "test_sessions" in options else "run"
    assert set(loaded["test"][column]) == tested and tested.isdisjoint(loaded["train"][column])
    assert len(loaded["test"]) == 6 and len(loaded["train"]) == 6


def test_test_options_together_hold_out_the_recordings_they_all_name(tmp_path):
    """test_subjects and test_sessions together hold out that subject's session (the recordings both name)."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"), sessions=("a", "b"))
    _distinct(root)
    loaded = load_recording_folder(root, bids_options={"test_subjects": "02", "test_sessions": "b"})
    assert set(zip(loaded["test"]["subject"], loaded["test"]["session"], strict=True)) == {("02", "b")}
    assert len(loaded["train"]) == 9


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"test_sessions": "c"}, r"test_sessions names c, which .* holds no events of; its sessions: a, b"),
        ({"test_runs": "3"}, r"test_runs names 3, which .* holds no events of; its runs: 1"),
        ({"test_sessions": ["a", "b"]}, r"hold out every recording of .*; leave some to train on"),
        ({"test_runs": [True]}, r"test_runs must be a run label or a list of them"),
        ({"test_subjects": "01", "test_sessions": "c"}, r"test_sessions names c"),
    ],
)
def test_test_sessions_and_runs_are_checked_as_test_subjects_is(tmp_path, options, message):
    root = tmp_path / "bids"
    _bids(root, subjects=("01",), sessions=("a", "b"))
    with pytest.raises(ValueError, match=message):
        load_recording_folder(root, bids_options=options)


def test_options_that_name_no_recording_together_are_refused(tmp_path):
    """Subject 02 has no session b: the two options together hold out nothing, which is refused, not a set without
    a test split."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01",), sessions=("a", "b"))
    _bids(tmp_path / "other", subjects=("02",), sessions=("a",))
    shutil.copytree(tmp_path / "other" / "sub-02", root / "sub-02")
    with pytest.raises(ValueError, match=r"name no recording together"):
        load_recording_folder(root, bids_options={"test_subjects": "02", "test_sessions": "b"})


def test_the_warnings_name_label_from_for_participants_tsv(tmp_path, caplog):
    """The BIDS warnings said participants.tsv is not used (or offered only a metadata.csv), though
    `label_from=participants:COLUMN` reads it."""
    root = tmp_path / "bids"
    _bids(root)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        load_recording_folder(root, bids_options={"test_subjects": "03"})
    assert "participants.tsv" in caplog.text and "label_from=participants:COLUMN" in caplog.text
    assert "participants, electrodes and scans tables are not used" not in caplog.text
    caplog.clear()
    resting = tmp_path / "resting"
    _bids(resting)
    for table in resting.rglob("*_events.tsv"):
        table.unlink()
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        load_recording_folder(resting)
    assert "participants.tsv" in caplog.text and "label_from=participants:COLUMN" in caplog.text
