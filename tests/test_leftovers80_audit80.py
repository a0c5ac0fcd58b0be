"""Leftovers of audit 79, mended (audit 80): an EDF+ annotation starting after the recording's end that MNE dropped
without a word, a summary that counted rows without a recording id as one recording, an `UnreadableFileError` whose
`PermissionError` fields were None, a saved set beside recordings only in a BIDS dataset's `derivatives/` refused as
"holds recordings", and a resume blind to files changed inside a symlinked subject folder."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest


def test_an_edf_annotation_starting_after_the_recordings_end_is_said_once(tmp_path, caplog):
    """MNE drops an EDF+ annotation that starts after the recording's end (4.5 s and 6 s on a 4 s file) and its
    warning was silenced: the recording lost them without a word while `read_edf_annotations` gave them. One notice
    per file now counts them and names the first; one starting at the end (4 s) is kept by MNE and not counted."""
    from tiny_configs import write_edf

    from citrus_hf.data.readers import read_edf, read_edf_annotations

    # (pyedflib keeps one annotation per data record of 1 s: 4 s for 4 annotations)
    annotations = [(0.5, 0.5, "x"), (4.0, 0.0, "at end"), (4.5, 1.0, "late"), (6.0, 0.0, "later")]
    path = write_edf(tmp_path / "after.edf", [np.zeros(400)], ["EEG"], 100, annotations=annotations)
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers.edf"):
        kept = read_edf(path).annotations
    assert [(a.onset, a.description) for a in kept] == [(0.5, "x"), (4.0, "at end")]
    assert len(read_edf_annotations(path)[0]) == 4
    (notice,) = [record.getMessage() for record in caplog.records if "start after" in record.getMessage()]
    assert "after.edf: 2 EDF+ annotation(s) start after the recording's end at 4 s" in notice
    assert "'late' at 4.5 s" in notice and "read_edf_annotations" in notice


def test_the_summary_counts_each_row_without_a_recording_id_as_a_recording(tmp_path):
    """Rows whose `recording` is None were counted as ONE recording (4 rows, two of them without an id: 2), where the
    validation carve and the per-recording scores read each as a recording of its own (`group_keys`): 3. Without the
    column the count stays unknown (None)."""
    from datasets import Dataset, DatasetDict

    from citrus_hf.data.builders import summarize_dataset

    rows = {"input_values": [[[0.0] * 8]] * 4, "sampling_rate": [100.0] * 4, "label": [0, 1, 0, 1]}
    with_ids = Dataset.from_dict({**rows, "recording": [None, None, "a", "a"]})
    assert summarize_dataset(DatasetDict(train=with_ids))["splits"]["train"]["recordings"] == 3
    assert summarize_dataset(DatasetDict(train=Dataset.from_dict(rows)))["splits"]["train"]["recordings"] is None


def test_an_unreadable_file_refusal_is_a_permission_error_with_its_fields(tmp_path, monkeypatch):
    """`except PermissionError as error: error.filename` got None from the package's `UnreadableFileError` (errno and
    strerror too); they are now the error met opening the file, and the text stays the package's one line, also
    through a pickle (a worker process sending it back)."""
    from test_leftovers79_audit79 import _unreadable

    from citrus_hf.data.errors import UnreadableFileError, check_readable

    path = tmp_path / "rec.npy"
    np.save(path, np.zeros((1, 10), dtype=np.float32))
    _unreadable(monkeypatch, path)
    with pytest.raises(PermissionError) as refused:
        check_readable(path)
    assert isinstance(refused.value, UnreadableFileError)
    for error in (refused.value, pickle.loads(pickle.dumps(refused.value))):
        assert (error.errno, error.filename) == (errno.EACCES, str(path)) and error.strerror
        assert str(error).startswith(f"{path} cannot be read (") and "chmod u+r" in str(error)


def test_a_saved_set_beside_recordings_only_in_derivatives_names_where_they_lie(tmp_path, own_datasets_cache):
    """A BIDS dataset whose recordings lie only in derivatives/ (which its root does not read) with a set saved in it:
    refused as "holds recordings" with the advice to move the saved set out and give the folder, which then held "no
    recording files". The refusal names derivatives/ and the pipeline's folder to give instead."""
    import datasets

    from citrus_hf.data.splits import load_own_dataset

    root = tmp_path / "bids"
    pipeline = root / "derivatives" / "clean" / "sub-01" / "eeg"
    pipeline.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.8.0"}))
    np.save(pipeline / "sub-01_task-rest_eeg.npy", np.zeros((1, 300), dtype=np.float32))
    datasets.Dataset.from_dict({"x": [1, 2]}).save_to_disk(str(root / "built"))
    with pytest.raises(ValueError, match=r"recordings lie only in derivatives/ \(first: derivatives/clean/") as refused:
        load_own_dataset(root, sampling_rate=100.0)
    assert "holds recordings" not in str(refused.value)
    assert "in built" in str(refused.value) and repr(str(root / "derivatives" / "clean")) in str(refused.value)


def _linked_corpus(tmp_path) -> Path:
    """A corpus of one subject folder of its own and one linked in (`s2 -> shared/s2`, as datalad lays one out)."""
    corpus, shared = tmp_path / "corpus", tmp_path / "shared" / "s2"
    for folder in (corpus / "s1", shared):
        folder.mkdir(parents=True)
        np.save(folder / "0.npy", np.zeros((1, 300), dtype=np.float32))
    (corpus / "s2").symlink_to(shared)
    return corpus


def _recorded_run(tmp_path, corpus, files_digest: str | None = None):
    """`(checkpoint, arguments)`: a checkpoint of a run on `corpus` whose run_settings.json records its settings, the
    files' digest replaced by `files_digest` where given."""
    from citrus_hf.training.arguments import PretrainArguments
    from citrus_hf.training.checkpoints import DATASET_FILES, RUN_SETTINGS_FILE, resume_settings

    arguments = PretrainArguments(output_dir=str(tmp_path / "run"), dataset=str(corpus), model_config="tiny")
    settings = resume_settings(arguments, 1)
    if files_digest is not None:
        settings[DATASET_FILES] = files_digest
    checkpoint = tmp_path / "run" / "checkpoints" / "step-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / RUN_SETTINGS_FILE).write_text(json.dumps(settings))
    return checkpoint, arguments


def test_a_resume_notices_a_file_resized_inside_a_symlinked_subject_folder(tmp_path):
    """The digest of a corpus's files was taken with `Path.rglob`, which does not descend into a symlinked subject
    folder: a file resized there since the run was not noticed, and the resume went on over other windows."""
    from citrus_hf.training.checkpoints import check_resumable

    corpus = _linked_corpus(tmp_path)
    checkpoint, arguments = _recorded_run(tmp_path, corpus)
    assert check_resumable(checkpoint, arguments, 1) is None
    np.save(corpus / "s2" / "0.npy", np.zeros((1, 600), dtype=np.float32))
    with pytest.raises(ValueError, match="the files under --dataset"):
        check_resumable(checkpoint, arguments, 1)


def test_a_run_recorded_with_the_rglob_digest_still_resumes(tmp_path):
    """Guard (passes before the listing changed too): a run recorded before the digest followed symlinked folders, its
    digest of `Path.rglob`'s listing (worked out here as that version did), resumes on the same files rather than
    being refused as one whose files changed."""
    from citrus_hf.training.checkpoints import check_resumable

    corpus = _linked_corpus(tmp_path)
    digest = hashlib.sha256()
    for file in sorted(f for f in corpus.rglob("*") if f.is_file()):
        digest.update(f"{file.relative_to(corpus)}:{file.stat().st_size};".encode())
    checkpoint, arguments = _recorded_run(tmp_path, corpus, files_digest=digest.hexdigest()[:16])
    assert check_resumable(checkpoint, arguments, 1) is None
    (corpus / "s1" / "1.npy").write_bytes(b"x")  # a file added where the old listing sees it is still noticed
    with pytest.raises(ValueError, match="the files under --dataset"):
        check_resumable(checkpoint, arguments, 1)


def test_a_pickle_in_a_hidden_folder_of_a_push_is_refused(tmp_path):
    """Guard (passes before and after): `upload_folder` uploads hidden names, so the pickle check lists with `rglob`
    rather than the data layer's `files_under`, which leaves them out."""
    from citrus_hf.publishing.push import _refuse_pickles

    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "model.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"pickled files \['.ipynb_checkpoints/model.bin'\]"):
        _refuse_pickles(tmp_path, "CiTrus checkpoints")
    os.remove(tmp_path / ".ipynb_checkpoints" / "model.bin")
    _refuse_pickles(tmp_path, "CiTrus checkpoints")
