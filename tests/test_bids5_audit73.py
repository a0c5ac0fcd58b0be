"""BIDS, fifth round: a recording whose events table holds only boundary rows is said to have that table (not "no
events.tsv"); with ``label_from`` a recording whose events table marks breaks (boundary rows) gives its stretches
apart, as an EEGLAB set's own boundary events do (audit74)."""

from __future__ import annotations

import logging

import pytest
from test_bids_audit73 import _bids, _participants, _tsv

from citrus_hf.data.recording_folders import load_recording_folder

pytestmark = pytest.mark.usefixtures("own_datasets_cache")  # (a datasets cache of each test's own)

HEADER = ["onset", "duration", "trial_type", "value"]
TABLE = "sub-02/eeg/sub-02_task-motor_run-1_events.tsv"


@pytest.mark.parametrize(
    "rows, said",
    [([[3.0, 0, "boundary", "n/a"], [6.0, "n/a", "boundary", "n/a"]], "2 boundary row(s)"), ([], "no rows")],
)
def test_a_recording_whose_events_table_holds_no_event_is_said_to_have_it(tmp_path, caplog, rows, said):
    """Its events.tsv gives no example (a boundary row is a break, not an event): left out, and the warning says what
    the table holds instead of that it has none."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    _tsv(root / TABLE, HEADER, rows)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        loaded = load_recording_folder(root)
    assert set(loaded["train"]["subject"]) == {"01"}
    assert "have no events.tsv" not in caplog.text
    assert f"events.tsv of {said}" in caplog.text and "sub-02_task-motor_run-1_eeg.edf" in caplog.text


def test_label_from_cuts_a_recording_at_its_events_tables_break(tmp_path):
    """A whole-recording example (label_from) across a boundary row of its events table was kept whole, windows
    spanning the break; then it was refused. Each stretch is now an example of its subject's label (audit74: the
    stretches' samples are checked in test_leftdata_audit74)."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"), events=[[1.0, 2.0, "left", 1], [5.0, 0, "boundary", "n/a"]])
    _participants(root, ["group"], [["sub-01", "patient"], ["sub-02", "control"]])
    train = load_recording_folder(root, bids_options={"label_from": "participants:group"})["train"]
    assert list(train["start_seconds"]) == [0.0, 5.0, 0.0, 5.0]
    assert [len(row[0]) for row in train["input_values"]] == [250, 350, 250, 350]


def test_label_from_reads_recordings_whose_events_tables_mark_no_break(tmp_path):
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"), events=[[1.0, 2.0, "left", 1]])
    _tsv(root / TABLE, ["onset", "duration"], [[1.0, 2.0]])  # (a table without trial_type is not read either)
    _participants(root, ["group"], [["sub-01", "patient"], ["sub-02", "control"]])
    loaded = load_recording_folder(root, bids_options={"label_from": "participants:group"})
    assert list(loaded["train"]["label"]) == ["patient", "control"]
