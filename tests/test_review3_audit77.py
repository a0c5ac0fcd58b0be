"""Review of session 77's own Hub and loading work (mendD): the Auto call a dtype conflict names is read from what
transformers' Auto factory passes (`_from_auto`, the class's `_auto_class`), not from the caller's frame, which broke
where frames are unavailable and named the model class where transformers wraps or renames its function. Tiny
models; no network."""

from __future__ import annotations

import sys

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification


@pytest.fixture
def classifier_folder(tmp_path):
    """A tiny classifier checkpoint folder."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    return str(tmp_path)


def test_a_dtype_conflict_is_refused_where_frames_are_unavailable(classifier_folder, monkeypatch):
    """The refusal read `sys._getframe(1)`, which an interpreter without frames lacks (`sys._getframe` is a CPython
    detail): the call failed with AttributeError inside `from_pretrained` instead of the one-line refusal."""
    monkeypatch.delattr(sys, "_getframe")
    with pytest.raises(ValueError) as raised:
        CiTrusForSequenceClassification.from_pretrained(classifier_folder, dtype=torch.float16, torch_dtype="float32")
    assert str(raised.value).startswith("CiTrusForSequenceClassification.from_pretrained: `dtype="), raised.value


def test_a_dtype_conflict_names_the_auto_call_however_transformers_reaches_the_class(classifier_folder):
    """transformers' Auto factory calls the model class with `_from_auto=True` after registering it for the calling
    Auto class; the refusal named the Auto call only when the direct caller was a function named `from_pretrained` of
    transformers' auto_factory module, so a wrapper or a renamed helper there (as here: this test's function) made it
    name "CiTrusForSequenceClassification.from_pretrained", a call the user never typed."""
    with pytest.raises(ValueError) as raised:
        CiTrusForSequenceClassification.from_pretrained(
            classifier_folder, _from_auto=True, dtype=torch.float16, torch_dtype="float32"
        )
    assert str(raised.value).startswith("AutoModelForSequenceClassification.from_pretrained: `dtype="), raised.value


def test_offline_no_folder_is_said_of_a_path_object(tmp_path, monkeypatch):
    """Offline, "No folder ... exists" was said only of a name that reads as a path (`looks_like_a_path`), judged on
    its text alone: `from_pretrained(pathlib.Path("ckpts/best"))`, a local path by its very type, mistyped, was told
    only about the Hub cache, not that the folder the user meant does not exist."""
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    offline = {"cache_dir": str(tmp_path / "cache"), "local_files_only": True}
    with pytest.raises(OSError) as raised:
        CiTrusForSequenceClassification.from_pretrained(Path("ckpts/best"), **offline)
    assert "The Hub cache holds no config.json of 'ckpts/best'" in str(raised.value), raised.value
    assert "No folder 'ckpts/best' exists in the working folder" in str(raised.value), raised.value
    with pytest.raises(OSError) as raised:  # the same name as a string is a Hub id: only the cache is named
        CiTrusForSequenceClassification.from_pretrained("ckpts/best", **offline)
    assert "No folder" not in str(raised.value), raised.value
