"""A mistyped relative checkpoint folder (`runs/model` beside a runs/ folder) is also a valid Hub id: the error says
that no such folder exists where it was looked for, beside the Hub's reason (of a plain Hub id, whose parent is no
folder here, it says nothing of folders: test_leftinf78_audit78)."""

from __future__ import annotations

import re

import pytest

from citrus_hf.loading import resolve_checkpoint


def test_a_missing_relative_folder_that_reads_as_a_hub_id_says_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    with pytest.raises(OSError) as raised:
        resolve_checkpoint("runs/model", local_files_only=True, cache_dir=tmp_path / "cache")
    message = str(raised.value)
    assert "the cache does not hold this snapshot" in message  # the Hub's side, as before
    assert re.search(
        rf"No folder 'runs/model' exists under the current folder {re.escape(str(tmp_path))} either", message
    )
