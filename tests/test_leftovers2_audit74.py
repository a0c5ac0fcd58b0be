"""Leftovers of the session-74 reviews (leftovers2).

(a) A folder labelled by events tables saved with `citrus data build FOLDER --output` (or pushed to the Hub) was read
back with its labels as its `recording` column's: each test file's events were pooled again and scored as one labelled
recording (what commit 4b1f982 stopped for the folder itself). The build notes what the folder's labels belong to
(in its one note, `builders.BUILT_FROM_FILE`, since audit75; `LABELLED_UNIT_FILE` before) and the loader honours it;
a set saved without the note is read as before.
"""

from __future__ import annotations

import json

import pytest
from test_recmetrics_audit74 import _events_folder

from citrus_hf.commands.main import main
from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.splits import LABELLED_UNITS, load_task_splits


def _saved(folder, output) -> None:
    assert main(["data", "build", str(folder), "--output", str(output)]) == 0


def test_a_saved_events_set_is_scored_as_its_folder_was(tmp_path):
    folder = _events_folder(tmp_path / "events")
    _saved(folder, tmp_path / "saved")
    splits = load_task_splits(tmp_path / "saved", {"window_seconds": 2}, require_validation=False)
    assert splits.labelled_unit == "event"
    assert splits.labelled_recordings("test") == (None, LABELLED_UNITS["event"])
    # a set saved again from the saved one keeps saying so
    _saved(tmp_path / "saved", tmp_path / "again")
    assert load_task_splits(tmp_path / "again", require_validation=False).labelled_unit == "event"


def test_a_saved_set_of_files_labelled_whole_is_scored_per_file(recording_folders, tmp_path):
    _saved(recording_folders, tmp_path / "saved")
    splits = load_task_splits(tmp_path / "saved", {"window_seconds": 2}, sampling_rate=50.0)
    assert splits.labelled_unit == "example"
    recordings, why_not = splits.labelled_recordings("test")
    assert why_not is None and len(set(recordings.tolist())) == 4


def test_a_set_saved_without_the_note_reads_as_before_and_a_damaged_note_is_named(tmp_path):
    folder = _events_folder(tmp_path / "events")
    _saved(folder, tmp_path / "saved")
    note = tmp_path / "saved" / "citrus_built_from.json"  # (the one note, audit75: what the labels belong to)
    note.unlink()
    assert load_task_splits(tmp_path / "saved", require_validation=False).labelled_unit == "recording"
    note.write_text(json.dumps({"labelled_unit": "files"}), encoding="utf-8")
    with pytest.raises(CitrusDataError, match="says the set's labels belong to 'files'.*save the set again"):
        load_task_splits(tmp_path / "saved", require_validation=False)
    note.write_text("{", encoding="utf-8")
    with pytest.raises(CitrusDataError, match="citrus_built_from.json is not the note"):
        load_task_splits(tmp_path / "saved", require_validation=False)


def test_a_set_saved_over_an_events_set_says_what_its_own_labels_are(recording_folders, tmp_path):
    import datasets
    import numpy as np

    from citrus_hf.data.builders import save_dataset_whole

    _saved(_events_folder(tmp_path / "events"), tmp_path / "saved")
    _saved(recording_folders, tmp_path / "saved")
    assert load_task_splits(tmp_path / "saved", sampling_rate=50.0).labelled_unit == "example"
    # a set saved there otherwise leaves no note of the set it replaced
    rows = {"input_values": [np.zeros((1, 100), np.float32)] * 4, "label": [0, 1, 0, 1]}
    save_dataset_whole(datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}), tmp_path / "saved")
    assert not (tmp_path / "saved" / "citrus_built_from.json").exists()


# ------------------------------------------------- a BIDS dataset whose events tables hold only boundary rows


def test_a_bids_dataset_of_only_boundary_rows_is_not_said_to_be_labelled_by_them(tmp_path, own_datasets_cache, caplog):
    """Its events tables label nothing (it is read as a pile, cut at their breaks), yet the warning naming its unread
    files said "its events.tsv files label the recordings" and that its channels tables' bad channels were left out."""
    import logging

    from test_bids_audit73 import _bids

    from citrus_hf.data.recording_folders import load_recording_folder

    root = tmp_path / "bids"
    _bids(root, subjects=("01",), events=[[5.0, 0, "boundary", "n/a"]])
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.recording_folders"):
        load_recording_folder(root)
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "label the recordings" not in said
    assert "its events.tsv files hold no event (only boundary rows, or no rows)" in said
    assert "_channels.tsv" in said and "dataset_description.json" not in said


# ------------------------------------------------------------- an events table that cannot be read, named with the fix


@pytest.mark.parametrize(
    ("content", "problem", "fix"),
    [
        (b"", "it is empty", "write its header row"),
        (b"onset\tduration\ttrial_type\n5.0\t0\tboundary\xe9\n", "it is not UTF-8 text", "save it again as UTF-8"),
    ],
)
def test_an_unreadable_events_table_is_named_with_its_fix(tmp_path, own_datasets_cache, content, problem, fix):
    """An empty (0-byte) or non-UTF-8 events.tsv stopped a whole pre-training pile with pandas' words alone
    ("EmptyDataError: No columns to parse from file"), no fix named."""
    from test_bids_audit73 import _bids

    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.recording_folders import load_recording_folder

    root = tmp_path / "bids"
    _bids(root, subjects=("01",), events=[[5.0, 0, "boundary", "n/a"]])
    table = next(root.rglob("*_events.tsv"))
    table.write_bytes(content)
    for bids_events in (False, True):  # a pre-training pile, and a read for its events
        with pytest.raises(CorruptFileError) as raised:
            load_recording_folder(root, bids_events=bids_events)
        message = str(raised.value)
        assert message.startswith(f"{table} could not be read as a BIDS table ({problem}")
        assert fix in message and "or delete it (its recording then has no events" in message
        assert "\n" not in message
