"""Session 81: a maintainer's review of this session's package changes (the copy of MIT-BIH record 208, resuming on a
dataset on disk, the legacy digest's hidden folders)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from test_leftovers81_audit81 import _corpus, _recorded_run, _with_legacy_digest


def test_a_recording_changed_within_a_coarse_timestamp_tick_after_the_checkpoint_is_still_refused(tmp_path):
    """A resume on a run recorded with the old digest went on where nothing a run reads was dated at or after the
    checkpoint's settings, to the nanosecond: a recording rewritten a second after the checkpoint on a FAT drive (2 s
    ticks, stamped to the tick below) or an NFS share whose server's clock lags was dated before it, and the run went
    on over other recordings. (Simulated: the checkpoint's settings are dated 1 s after the recording's change.)"""
    from citrus_hf.training.checkpoints import RUN_SETTINGS_FILE, check_resumable

    corpus = _corpus(tmp_path / "corpus" / "s1").parent
    (corpus / ".git").mkdir()
    (corpus / ".git" / "index").write_bytes(b"x" * 10)
    checkpoint, arguments = _recorded_run(tmp_path, corpus)
    _with_legacy_digest(checkpoint, corpus)
    (corpus / ".git" / "index").write_bytes(b"x" * 20)
    np.save(corpus / "s1" / "0.npy", np.zeros((1, 600), dtype=np.float32))  # resized: another recording
    changed = max(max(os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) for p in (corpus / "s1", corpus / "s1" / "0.npy"))
    os.utime(checkpoint / RUN_SETTINGS_FILE, ns=(changed + 1_000_000_000,) * 2)
    with pytest.raises(ValueError, match="the files under --dataset"):
        check_resumable(checkpoint, arguments, 1)


# ------------------------------------------------------------------------------------ a user's source declaring copies


def _source(name, copies):
    from citrus_hf.data.registry import PhysioNetDatabase, Source

    text = dict(description="d", modality="ECG", sampling_rate="360", channels="2", license="l", citation="c")
    return Source(name=name, remote=PhysioNetDatabase("own", "1.0.0"), copies=copies, **text)


def test_a_source_declaring_one_copy_bare_or_in_a_list_is_read_as_its_copies(monkeypatch):
    """`copies=RecordingCopy(...)` (one copy, given bare) registered, then failed at evaluation, inside the corpus
    check, on "'RecordingCopy' object is not iterable"; a list left the frozen Source unhashable."""
    from citrus_hf.data.registry import SOURCES, RecordingCopy, copied_stretches

    copy = RecordingCopy("own/208", "mitdb", "208", 0.0, 60.0)
    monkeypatch.setitem(SOURCES, "own_bare", _source("own_bare", copy))
    monkeypatch.setitem(SOURCES, "own_listed", _source("own_listed", [copy]))
    assert SOURCES["own_bare"].copies == SOURCES["own_listed"].copies == (copy,)
    hash(SOURCES["own_listed"])
    assert copied_stretches(["own_bare", "own_listed"], ["mitdb"]) == {"208": [(0.0, 60.0), (0.0, 60.0)]}


def test_a_copy_whose_stretch_ends_before_it_starts_is_refused():
    """A stretch given end first (60 to 0 s) overlapped no scored window: the copy was never counted, silently."""
    from citrus_hf.data.errors import CitrusDataError
    from citrus_hf.data.registry import RecordingCopy

    with pytest.raises(CitrusDataError, match=r"gives the stretch 60.0 to 0.0 s: .* start below end"):
        RecordingCopy("own/208", "mitdb", "208", 60.0, 0.0)
    with pytest.raises(CitrusDataError, match="copies must be registry.RecordingCopy entries, not tuple"):
        _source("own", [("own/208", "mitdb", "208", 0.0, 60.0)])
