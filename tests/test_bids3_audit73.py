"""BIDS, third round: `citrus predict ROOT` leaves out derivatives/ as every other reading of the root does; events
tables inherited from the root or a subject folder (BIDS's inheritance principle) label the recordings under them;
a BrainVision recording that paused is not read across its breaks."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from test_bids_audit73 import RATE, _bids, _tsv, own_datasets_cache  # noqa: F401 (a fixture)
from tiny_configs import write_edf

from citrus_hf.data.recording_folders import load_recording_folder

pytestmark = pytest.mark.usefixtures("own_datasets_cache")  # (a datasets cache of each test's own)


def test_citrus_predict_on_a_bids_root_leaves_out_derivatives(tmp_path, caplog):
    """`citrus predict ROOT` predicted the processed copies under derivatives/ (and the originals under sourcedata/)
    beside the raw recordings, each recording twice, while every other reading of the root leaves them out."""
    from citrus_hf.commands.predict import _expand_folders

    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    copy = root / "derivatives" / "filtered" / "sub-01" / "eeg"
    copy.mkdir(parents=True)
    write_edf(
        copy / "sub-01_task-motor_run-1_desc-filtered_eeg.edf", [np.zeros(12 * RATE)] * 3, ["C3", "Cz", "C4"], RATE
    )
    shutil.copytree(root / "sub-02", root / "sourcedata" / "sub-02")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        files = _expand_folders([str(root)])
    assert len(files) == 2 and not any("derivatives" in file or "sourcedata" in file for file in files)
    assert caplog.text.count("lie in derivatives/ or sourcedata/") == 1
    assert "citrus predict ROOT/derivatives/<pipeline>" in caplog.text


@pytest.mark.parametrize("level", ["root", "subject"])
def test_an_inherited_events_table_labels_the_recordings_under_it(tmp_path, level):
    """An events.tsv at the root (``task-motor_events.tsv``) or in a subject's folder applies to every recording under
    it whose entities it names (BIDS's inheritance principle, as the *_eeg.json sidecar's rate is found): only one
    beside each recording was read, and the set was an unlabelled pile."""
    root = tmp_path / "bids"
    _bids(root)
    for table in root.rglob("*_events.tsv"):
        table.unlink()
    header, rows = ["onset", "duration", "trial_type"], [[1.0, 2.0, "left"], [4.0, 2.0, "right"]]
    if level == "root":
        _tsv(root / "task-motor_events.tsv", header, rows)
    else:
        for subject in ("01", "02", "03"):
            _tsv(root / f"sub-{subject}" / f"sub-{subject}_task-motor_events.tsv", header, rows)
    loaded = load_recording_folder(root, bids_options={"test_subjects": "03"})
    assert {split: len(part) for split, part in loaded.items()} == {"train": 4, "test": 2}
    assert list(loaded["train"]["label"]) == ["left", "right", "left", "right"]


def test_the_nearest_events_table_wins_over_an_inherited_one(tmp_path):
    """A recording's own events.tsv overrides the root's (the nearest file wins); a root table of another task labels
    nothing of this one."""
    root = tmp_path / "bids"
    _bids(root)
    _tsv(root / "task-motor_events.tsv", ["onset", "duration", "trial_type"], [[0.5, 1.0, "rest"]])
    _tsv(root / "task-other_events.tsv", ["onset", "duration", "trial_type"], [[0.5, 1.0, "other"]])
    (root / "sub-02" / "eeg" / "sub-02_task-motor_run-1_events.tsv").unlink()
    loaded = load_recording_folder(root, bids_options={"test_subjects": "03"})
    labels = {name.split("/")[0]: [] for name in loaded["train"]["recording"]}
    for name, label in zip(loaded["train"]["recording"], loaded["train"]["label"], strict=True):
        labels[name.split("/")[0]].append(label)
    assert labels == {"sub-01": ["left", "right", "left"], "sub-02": ["rest"]}


def test_an_inherited_table_is_not_read_as_a_recording_of_a_pile(tmp_path):
    """Pre-training's reading of a BIDS root (a pile of whole recordings) took ``task-motor_events.tsv`` and
    ``task-motor_channels.tsv`` at the root for recordings (text files without a rate) and refused the folder as one
    that mixes files with and without their rate."""
    from citrus_hf.data.splits import load_split

    root = tmp_path / "bids"
    _bids(root)
    _tsv(root / "task-motor_events.tsv", ["onset", "duration", "trial_type"], [[0.5, 1.0, "rest"]])
    _tsv(root / "task-motor_channels.tsv", ["name", "type"], [["C3", "EEG"]])
    rows = load_split(root, "train", None, None, bids_events=False)
    assert sorted(set(rows["recording"])) == [f"sub-0{n}/eeg/sub-0{n}_task-motor_run-1_eeg.edf" for n in (1, 2, 3)]
