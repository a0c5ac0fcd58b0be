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
