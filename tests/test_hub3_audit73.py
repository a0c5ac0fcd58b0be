"""Audit 73, loading checkpoints (the Hub's third round, its local side): `citrus predict` of a checkpoint that is no
CiTrus model, and a folder of a Hub cache's snapshot moved away from the blobs its files link to. The Hub side is in
tests/hub/test_hub_hub3_audit73.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from transformers import PatchTSTConfig, PatchTSTForClassification


def _patchtst(folder) -> None:
    config = PatchTSTConfig(
        num_input_channels=1, context_length=200, patch_length=20, d_model=16, num_hidden_layers=1,
        num_attention_heads=2, ffn_dim=32, num_targets=2,
    )  # fmt: skip
    PatchTSTForClassification(config).save_pretrained(folder)


def test_predict_of_a_checkpoint_of_another_model_says_so_in_one_line(tmp_path, capsys):
    """`citrus predict` of a PatchTST folder failed in transformers' task inference, which took the folder for a Hub id
    ("RuntimeError: Instantiating a pipeline without a task set raised an error: Repo id must use alphanumeric
    chars"), with its traceback; `citrus export` of it already said what it is."""
    from citrus_hf.commands.main import main

    _patchtst(tmp_path / "patchtst")
    recording = tmp_path / "recording.npy"
    np.save(recording, np.zeros((1, 400), dtype=np.float32))
    assert main(["predict", str(tmp_path / "patchtst"), str(recording), "--sampling-rate", "100"]) != 0
    message = capsys.readouterr().err
    said = [line for line in message.splitlines() if line.startswith("error:")]
    assert "Traceback" not in message and len(said) == 1, message
    assert "'patchtst' model" in said[0] and "not a CiTrus" in said[0], message


def _moved_snapshot(tmp_path):
    """A checkpoint laid out as a Hub cache snapshot (each file a relative link into the cache's blobs/), its snapshot
    folder then moved out of the cache, as `mv ~/.cache/huggingface/hub/models--x--y/snapshots/<commit> model` does:
    every link now leads nowhere."""
    from tiny_configs import save_tiny_classifier

    saved = save_tiny_classifier(tmp_path / "saved")
    cache = tmp_path / "models--owner--name"
    (cache / "blobs").mkdir(parents=True)
    snapshot = cache / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for file in saved.iterdir():
        file.rename(cache / "blobs" / file.name)
        (snapshot / file.name).symlink_to(Path("..", "..", "blobs", file.name))
    return snapshot.rename(tmp_path / "moved")


def test_a_hub_snapshot_moved_without_its_blobs_is_named_as_such(tmp_path, capsys):
    """A snapshot folder moved out of the Hub cache (or copied with `cp -r`, which keeps its links) was called "a folder
    without config.json" (`citrus predict`, the CiTrus classes, the pipeline), though `ls` shows config.json there: a
    link whose target is gone."""
    from transformers import pipeline

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.commands.main import main

    moved = _moved_snapshot(tmp_path)
    recording = tmp_path / "recording.npy"
    np.save(recording, np.zeros((1, 400), dtype=np.float32))
    assert main(["predict", str(moved), str(recording), "--sampling-rate", "100"]) != 0
    messages = [capsys.readouterr().err]
    for load in (lambda: CiTrusForSequenceClassification.from_pretrained(moved), lambda: pipeline(model=str(moved))):
        with pytest.raises((OSError, ValueError)) as raised:
            load()
        messages.append(str(raised.value))
    for message in messages:
        assert "config.json is a link" in message and "cp -rL" in message, message


def test_a_model_loaded_from_a_local_subfolder_is_served_with_that_subfolder_s_extractor(tmp_path):
    """A model loaded with `from_pretrained(folder, subfolder="ecg")` recorded the folder itself as where it came from
    (`name_or_path`): `pipeline(model=model)` took the extractor at the folder's root, another checkpoint's (refused as
    another input contract, with advice to pass "the checkpoint's own extractor"), and an adapter trained on it
    recorded the root as its base."""
    import torch
    from tiny_configs import tiny_config
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

    for folder, rate in ((tmp_path / "two", 100.0), (tmp_path / "two" / "ecg", 50.0)):
        config = tiny_config(num_labels=2, sampling_rate=rate)
        CiTrusForSequenceClassification(config).save_pretrained(folder)
        CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "two", subfolder="ecg")
    assert pipeline(model=model).feature_extractor.sampling_rate == 50.0
    torch.manual_seed(0)
    save_adapter(apply_lora(model, r=2, verbose=False), tmp_path / "adapter")
    assert load_adapter(None, tmp_path / "adapter").config.sampling_rate == 50.0
