"""Review of the third BIDS round: `label_from=participants:COLUMN` reads the categorical columns that
participants.json declares (Levels) as class names, and refuses a column of numbers and text."""

from __future__ import annotations

import logging

import pytest
from test_bids_audit73 import _bids, _participants

from citrus_hf.data.recording_folders import load_recording_folder

pytestmark = pytest.mark.usefixtures("own_datasets_cache")  # (a datasets cache of each test's own)


def test_label_from_a_coded_column_that_participants_json_declares_categorical_gives_classes(tmp_path, caplog):
    """A group coded 0 / 1 (control / patient), as many OpenNeuro sets code it, was read as a regression target of
    the numbers 0.0 and 1.0 although participants.json declares its Levels: such a column is class names."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    levels = {"group": {"Description": "diagnosis", "Levels": {"0": "control", "1": "patient"}}}
    _participants(root, ["group"], [["sub-01", 1], ["sub-02", 0]], levels)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        loaded = load_recording_folder(root, bids_options={"label_from": "participants:group"})
    assert "target" not in loaded["train"].column_names and list(loaded["train"]["label"]) == ["1", "0"]
    assert "participants.json" not in caplog.text  # (read, not named as left unread)


def test_label_from_a_numeric_column_described_without_levels_stays_a_target(tmp_path):
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    _participants(root, ["age"], [["sub-01", 31], ["sub-02", 40]], {"age": {"Description": "age", "Units": "year"}})
    loaded = load_recording_folder(root, bids_options={"label_from": "participants:age"})
    assert list(loaded["train"]["target"]) == [31.0, 40.0]


def test_label_from_a_column_of_numbers_and_text_is_refused(tmp_path):
    """An age column with one "89+" (as de-identified ages are written) was read as class names, one class per age:
    a column of numbers with a few words among them is refused, naming them and the fix."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02", "03"))
    _participants(root, ["age"], [["sub-01", 31], ["sub-02", "89+"], ["sub-03", 40]])
    with pytest.raises(ValueError, match=r"age holds numbers and text \('89\+'\).*n/a.*Levels.*participants.json"):
        load_recording_folder(root, bids_options={"label_from": "participants:age"})


def test_a_test_subject_left_out_by_label_from_is_named_so(tmp_path):
    """A test subject whose participants.tsv value is n/a was refused as one the dataset 'holds no events of', though
    the dataset holds its recording and label_from reads no events: the message now says its value is missing."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02", "03"))
    _participants(root, ["group"], [["sub-01", "patient"], ["sub-02", "control"], ["sub-03", "n/a"]])
    options = {"label_from": "participants:group", "test_subjects": "03"}
    with pytest.raises(ValueError, match=r"test_subjects names 03, whom .*participants.tsv gives no group \(n/a"):
        load_recording_folder(root, bids_options=options)


def test_an_eeglab_boundary_of_numeric_event_types_is_a_break(tmp_path):
    """EEGLAB marks a boundary with the type -99 where a set's event types are numbers (its option_boundary99,
    `eeg_findboundaries`): such a set was read across its boundary, windows joining samples not recorded one after
    the other. Now -99 among numeric types is a break, as "boundary" is among text ones."""
    import numpy as np
    from scipy.io import loadmat, savemat
    from test_bids2_audit73 import write_eeglab

    from citrus_hf.data.readers.eeglab import boundary_positions

    write_eeglab(tmp_path, fdt=True)
    variables = loadmat(tmp_path / "rec.set", appendmat=False)
    events = np.zeros((1, 3), dtype=[("type", object), ("latency", object)])
    events[0, 0], events[0, 1], events[0, 2] = (1.0, 20.0), (-99.0, 150.5), (-99.0, 0.5)
    fields = {name: variables["EEG"][name][0, 0] for name in variables["EEG"].dtype.names}
    savemat(tmp_path / "rec.set", {"EEG": {**fields, "event": events}}, appendmat=False)
    assert boundary_positions(tmp_path / "rec.set") == [150]
    events[0, 0] = ("S  1", 20.0)  # (among text types, -99 is an event like another)
    savemat(tmp_path / "rec.set", {"EEG": {**fields, "event": events}}, appendmat=False)
    assert boundary_positions(tmp_path / "rec.set") == []


def test_a_participants_table_that_labels_no_recording_names_the_fix(tmp_path):
    """participants.tsv whose participant_id values are not the recordings' subjects (01 for sub-01) was refused
    without saying why or what to change."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    _participants(root, ["group"], [["sub-1", "patient"], ["sub-2", "control"]])
    with pytest.raises(ValueError, match=r"labels no recording .*its subjects: 1, 2; the recordings': 01, 02.*sub-01"):
        load_recording_folder(root, bids_options={"label_from": "participants:group"})
