"""Session 82: `citrus pretrain --resume-from` on a dataset whose place on disk changed since the run (checkpoints.
check_resumable): the refusal of a folder no longer there."""

from __future__ import annotations

import re

import pytest
from test_leftovers81_audit81 import _corpus, _recorded_run

# ------------------------------------------------------------------------------------ a folder no longer there


def test_a_dataset_folder_gone_is_said_relative_to_the_working_directory_only_for_a_relative_path(
    tmp_path, monkeypatch
):
    """The refusal said "(relative to <cwd>)" and advised resuming from the run's working directory for an absolute
    --dataset (or ~/...) too, which no working directory changes."""
    from citrus_hf.training.checkpoints import check_resumable

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path))
    for given, corpus in ((str(tmp_path / "absolute"), tmp_path / "absolute"), ("~/home", tmp_path / "home")):
        _corpus(corpus)
        checkpoint, arguments = _recorded_run(tmp_path / f"{corpus.name}_run", given)
        corpus.rename(tmp_path / f"{corpus.name}_moved")
        with pytest.raises(ValueError, match=re.escape(f"'{given}', which is no longer there")) as refused:
            check_resumable(checkpoint, arguments, 1)
        assert "relative to" not in str(refused.value) and "working directory" not in str(refused.value)
        assert given.startswith("/") or f"there ({corpus})" in str(refused.value)
    _corpus(work / "corpus")
    checkpoint, arguments = _recorded_run(tmp_path / "relative", "corpus")
    (work / "corpus").rename(tmp_path / "relative_moved")
    with pytest.raises(ValueError, match=rf"'corpus', which is no longer there \(relative to {work}\).*working dir"):
        check_resumable(checkpoint, arguments, 1)
