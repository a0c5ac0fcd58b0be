"""Review of session 74's landed data work (audit74_review2): recordings labelled whole that break give a row per
stretch, and what one label belongs to (a label budget's example, a per-recording score's recording) must stay the
recording, not each stretch, nor turn the set into one of events."""

from __future__ import annotations

import numpy as np
import pytest
from test_bids2_audit73 import write_brainvision
from test_bids3_audit73 import _paused
from test_bids_audit73 import RATE, _bids, _participants

from citrus_hf.data.recording_folders import load_recording_folder
from citrus_hf.data.splits import draw_budget, load_task_splits, parse_budget

# ------------------------------------------------------------------ recordings labelled whole, one row per stretch


def _class_folders(root, paused: bool):
    """Class folders (`train/` 3 recordings per class, `test/` 2) of BrainVision recordings of 200 samples at 250 Hz,
    each of its own samples; with `paused`, every one paused at 0.6 s (`_paused`: a row of 150 and one of 50)."""
    seed = 0
    for split, count in (("train", 3), ("test", 2)):
        for label in ("left", "right"):
            for number in range(count):
                seed += 1
                folder, stem = root / split / label, f"{label}{number}"
                if paused:
                    _paused(folder, stem, seed=seed)
                else:
                    samples = np.random.default_rng(seed).integers(-3000, 3000, size=(200, 3))
                    write_brainvision(folder, stem, samples=samples)
    return root


def test_a_class_folder_of_brainvision_recordings_is_still_labelled_by_recording(tmp_path, own_datasets_cache):
    """A BrainVision (or EEGLAB) file may break, so a set of them labelled by class folders got a `start_seconds`
    column, which made it read as a set of events: per-recording scores were no longer given ("its labels are events'
    of their recordings") for recordings that never paused, and were labelled whole."""
    splits = load_task_splits(
        _class_folders(tmp_path / "set", paused=False), {"window_seconds": 0.2}, require_validation=False
    ).without_carve("none")
    assert splits.labelled_unit == "example"
    recordings, why = splits.labelled_recordings("test")
    assert why is None and len(np.unique(recordings)) == 4 and len(recordings) == len(splits.test)
    # (each file one example, numbered by its row: label draws stay what they were)
    assert splits.num_examples() == 6 and list(np.unique(splits.examples())) == list(range(6))


@pytest.mark.parametrize("windows", [{"window_seconds": 0.2}, None])
def test_a_label_budget_counts_a_paused_recording_once_not_each_stretch(tmp_path, own_datasets_cache, windows):
    """A recording labelled whole that paused is a row per stretch; a label budget counted each stretch as a labelled
    example (a budget of 1 per class could draw a stretch, and 3 recordings a class were 6 examples), though its
    label is the recording's, one label for both."""
    splits = load_task_splits(
        _class_folders(tmp_path / "set", paused=True), windows, require_validation=False
    ).without_carve("none")
    assert len(set(splits.train["recording"])) == 6 and splits.num_examples() == 6
    drawn = draw_budget(splits.labels(), parse_budget("1"), seed=0, groups=splits.examples())
    # one recording per class drawn: both of its stretches (all of their windows), none of another recording
    assert len({splits.train[int(row)]["recording"] for row in drawn}) == 2
    assert {splits.train[int(row)]["start_seconds"] for row in drawn} >= {0.0, 0.6}
    recordings, why = splits.labelled_recordings("test")
    assert why is None and len(np.unique(recordings)) == 4


def test_label_from_keeps_per_recording_scores_of_recordings_cut_at_boundary_rows(tmp_path, own_datasets_cache):
    """Subjects' recordings labelled by `label_from` whose events tables mark a break give a row per stretch; the set
    was then taken for one of events, and per-recording scores were refused, though each recording is one label."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02", "03", "04"), events=[[1.0, 2.0, "left", 1], [5.0, 0, "boundary", "n/a"]])
    _participants(root, ["group"], [["sub-01", "a"], ["sub-02", "b"], ["sub-03", "a"], ["sub-04", "b"]])
    splits = load_task_splits(
        root,
        {"label_from": "participants:group", "test_subjects": ["03", "04"], "window_seconds": 2.5},
        require_validation=False,
    ).without_carve("none")
    assert splits.labelled_unit == "example" and splits.num_examples() == 2
    recordings, why = splits.labelled_recordings("test")
    assert why is None and len(np.unique(recordings)) == 2


def test_a_set_of_bids_events_is_still_one_of_events(tmp_path, own_datasets_cache):
    """(guard) A BIDS dataset labelled by its events tables stays a set of events: each event its own example."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"), events=[[1.0, 2.0, "left", 1], [4.0, 2.0, "right", 2]])
    splits = load_task_splits(root, {"test_subjects": ["02"]}, require_validation=False)
    assert splits.labelled_unit == "event"


# --------------------------------------------- a BIDS pile read for its events, whose tables hold only breaks


def test_a_bids_dataset_whose_tables_hold_only_breaks_is_cut_there_as_pre_training_cuts_it(
    tmp_path, own_datasets_cache
):
    """A resting-state BIDS dataset whose events tables hold only boundary rows (EEGLAB's export of a set with cuts)
    labels nothing, so it is read as a pile; read for its events (`citrus data info`, the default) it was kept whole
    across the breaks, though pre-training's read of the same folder cuts it there."""
    root = tmp_path / "bids"
    signals = _bids(root, subjects=("01",), events=[[5.0, 0, "boundary", "n/a"]])
    (name,) = signals
    for read in (load_recording_folder(root), load_recording_folder(root, bids_events=False)):
        parts = [np.asarray(row["input_values"]) for row in read if row["recording"] == name]
        assert [part.shape[1] for part in parts] == [5 * RATE, 7 * RATE]


def test_a_boundary_row_without_onset_is_named_as_the_table_writes_it(tmp_path, own_datasets_cache):
    """Pre-training now reads a BIDS dataset's events tables for their boundary rows; one whose onset is n/a was
    refused saying "the onset None", a value the table never wrote."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01",), events=[[1.0, 2.0, "left", 1], ["n/a", 0, "boundary", "n/a"]])
    with pytest.raises(ValueError, match=r"events\.tsv: a boundary row has the onset n/a; give it the seconds"):
        load_recording_folder(root, bids_events=False)
