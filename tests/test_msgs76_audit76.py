"""Message leftovers of audit 76: offline, a relative path that names no folder is told that beside the Hub cache
advice; `dtype` / `torch_dtype` that disagree are said of the Auto call the user made; the Trainer's column advice
names the imports its code needs. Tiny models, no network."""

from __future__ import annotations

import pytest
import torch
from tiny_configs import save_tiny_classifier

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.configuration_citrus import uncached_offline_error


def test_offline_a_relative_path_that_names_no_folder_is_said_to_name_none(tmp_path, monkeypatch):
    """Offline, `from_pretrained("data/ckpt")` (a mistyped folder has a Hub id's shape) was told only about the Hub
    cache and `snapshot_download`; the one line now also says no folder of that name exists, relative to the working
    folder it names. A folder that exists is not said to be missing."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError) as raised:
        CiTrusForSequenceClassification.from_pretrained(
            "data/ckpt", cache_dir=tmp_path / "cache", local_files_only=True
        )
    said = str(raised.value)
    assert said.startswith("The Hub cache holds no config.json of 'data/ckpt', and offline mode is on"), said
    assert f"No folder 'data/ckpt' exists in the working folder {str(tmp_path)!r} either" in said, said
    assert "\n" not in said, said
    (tmp_path / "data" / "ckpt").mkdir(parents=True)
    assert "No folder" not in str(uncached_offline_error("data/ckpt", "config.json"))


def test_disagreeing_dtypes_are_said_of_the_auto_call_the_user_made(tmp_path):
    """`AutoModelForSequenceClassification.from_pretrained(folder, dtype=..., torch_dtype=...)` with the two in
    disagreement was refused as `CiTrusForSequenceClassification.from_pretrained: ...`, a call the user never typed;
    the Auto wrapper now names the Auto call. The CiTrus class keeps its own name."""
    from transformers import AutoModelForSequenceClassification

    save_tiny_classifier(tmp_path)
    conflict = {"dtype": torch.float16, "torch_dtype": torch.float32}
    with pytest.raises(
        ValueError, match=r"^AutoModelForSequenceClassification\.from_pretrained: `dtype=torch\.float16`"
    ):
        AutoModelForSequenceClassification.from_pretrained(tmp_path, **conflict)
    with pytest.raises(ValueError, match=r"^CiTrusForSequenceClassification\.from_pretrained: `dtype="):
        CiTrusForSequenceClassification.from_pretrained(tmp_path, **conflict)
