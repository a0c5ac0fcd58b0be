"""Audit 79, leftovers: a BIDS dataset whose subject folders are symlinks has its events tables found; ..."""

from __future__ import annotations

import logging
import shutil

from test_bids_audit73 import _bids

from citrus_hf.data.recording_folders import load_recording_folder


# ------------------------------------------------------------- 1. a BIDS dataset of symlinked subject folders
def test_a_bids_dataset_of_symlinked_subjects_is_read_by_its_events(tmp_path, own_datasets_cache, caplog):
    """Subject folders linked in (``sub-01 -> /shared/sub-01``, as datalad and shared storage lay a dataset out):
    `Path.rglob` does not follow them, so the dataset was said to have "no events tables" and to be read as "an
    unlabelled pile" while its events labelled it; the events tables are now found through the one listing that
    follows links (`listings.files_under`)."""
    from citrus_hf.data.bids import holds_events

    _bids(tmp_path / "bids")
    for subject in ("01", "02", "03"):
        shutil.move(tmp_path / "bids" / f"sub-{subject}", tmp_path / f"shared-{subject}")
        (tmp_path / "bids" / f"sub-{subject}").symlink_to(tmp_path / f"shared-{subject}")
    assert holds_events(tmp_path / "bids")
    caplog.set_level(logging.WARNING)
    loaded = load_recording_folder(tmp_path / "bids")
    assert len(loaded["train"]) == 9 and set(loaded["train"]["label"]) == {"left", "right"}
    assert "no events tables" not in caplog.text and "unlabelled pile" not in caplog.text
