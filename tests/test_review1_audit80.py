"""Review of session 80's package changes (audit 80): the EDF+ notice of annotations starting after the recording's
end read the onsets otherwise than MNE where the first TAL shares its time-keeping annotation with others or an onset
lies within a microsecond of the end, an `UnreadableFileError` lost its notes (`add_note`) and attributes through
`copy` / `pickle`, and a bad-input row's `Returns` check passed on a numpy / torch False."""

from __future__ import annotations

import copy
import logging
import pickle

import numpy as np
import pytest


def _with_tals(path, tals: list[bytes]):
    """`path` (an EDF+ file of one signal and an annotation signal, pyedflib's layout: the annotations last in each
    record) with each data record's annotation signal replaced by `tals[record]`, padded with NULs. Returns `path`."""
    from citrus_hf.data.readers.edf import read_edf_header

    header = read_edf_header(path)
    record_bytes = sum(header.samples_per_record) * header.bytes_per_sample
    width = header.samples_per_record[-1] * header.bytes_per_sample
    data = bytearray(path.read_bytes())
    for record, tal in enumerate(tals):
        start = header.header_bytes + (record + 1) * record_bytes - width
        data[start : start + width] = tal.ljust(width, b"\x00")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "tals",
    [
        # the first record starts 0.5 s after the header's start, told by a TAL that also holds an annotation: MNE
        # counts 'late' (4.2 s as written) at 3.7 s, within the 4 s recording
        [
            b"+0.5\x14\x14first\x14\x00",
            b"+1.5\x14\x14\x00",
            b"+2.5\x14\x14\x00",
            b"+3.5\x14\x14\x00+4.2\x14late\x14\x00",
        ],
        # an onset 0.4 microseconds after the end: MNE compares to the microsecond and keeps it
        [b"+0\x14\x14\x00", b"+1\x14\x14\x00", b"+2\x14\x14\x00", b"+3\x14\x14\x00+4.0000004\x14late\x14\x00"],
    ],
    ids=["time-keeping TAL with an annotation", "within a microsecond of the end"],
)
def test_no_notice_of_an_edf_annotation_that_mne_keeps(tmp_path, caplog, tals):
    """The notice of annotations starting after the recording's end named one that MNE kept in the recording."""
    from tiny_configs import write_edf

    from citrus_hf.data.readers import read_edf

    path = _with_tals(write_edf(tmp_path / "kept.edf", [np.zeros(400)], ["EEG"], 100), tals)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers.edf"):
        kept = read_edf(path).annotations
    assert "late" in [each.description for each in kept]
    assert not [record for record in caplog.records if "start after" in record.getMessage()]


def test_an_unreadable_file_refusal_keeps_its_notes_through_copy_and_pickle():
    """`UnreadableFileError.__reduce__` gave its arguments only: a note a caller added (`add_note`, as a loop over a
    folder's files names the set) and its other attributes were lost by `copy.copy` and by a pickle (a worker process
    sending the refusal back), which a plain `PermissionError` keeps."""
    from citrus_hf.data.errors import unreadable_file

    error = unreadable_file("/data/a.edf", PermissionError(13, "Permission denied", "/data/a.edf"))
    error.add_note("while reading the set 'sleep'")
    error.recording = "a"
    for kept in (copy.copy(error), copy.deepcopy(error), pickle.loads(pickle.dumps(error))):
        assert kept.__notes__ == ["while reading the set 'sleep'"] and kept.recording == "a"
        assert (str(kept), kept.errno, kept.filename) == (str(error), 13, "/data/a.edf")


@pytest.mark.parametrize("verdict", [np.bool_(False), np.all(np.zeros(2) == 1), 0], ids=["numpy False", "np.all", "0"])
def test_a_bad_input_rows_check_returning_a_false_truth_fails_the_row(tmp_path, verdict):
    """`Returns.check` failed a row only when its check returned `False` itself: numpy's False (`np.all(...)`), a
    check's usual truth, is another object, and the row passed on any value."""
    from test_bad_inputs import Returns

    with pytest.raises(pytest.fail.Exception, match="the row returned 1"):
        Returns(lambda value: verdict).check(lambda folder: 1, tmp_path)
    Returns(lambda value: None).check(lambda folder: 1, tmp_path)  # a check that asserts


def test_a_saved_set_beside_recordings_only_in_sourcedata_names_that_folder(tmp_path, own_datasets_cache):
    """A BIDS dataset whose recordings lie only in sourcedata/ (two subjects) beside a saved set: the refusal's
    advice named `sourcedata/sub-01`, one subject's folder, as the folder to give (derivatives/' depth of a pipeline),
    so the user read one subject of two. It names sourcedata/ itself."""
    import json

    import datasets

    from citrus_hf.data.splits import load_own_dataset

    root = tmp_path / "bids"
    for subject in ("sub-01", "sub-02"):
        folder = root / "sourcedata" / subject / "eeg"
        folder.mkdir(parents=True)
        np.save(folder / f"{subject}_task-rest_eeg.npy", np.zeros((1, 300), dtype=np.float32))
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.8.0"}))
    datasets.Dataset.from_dict({"x": [1, 2]}).save_to_disk(str(root / "built"))
    with pytest.raises(ValueError, match=r"recordings lie only in sourcedata/") as refused:
        load_own_dataset(root, sampling_rate=100.0)
    assert f"(such as {str(root / 'sourcedata')!r})" in str(refused.value)
