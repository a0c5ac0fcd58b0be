"""Audit 67 (the README's blocks and the commands' --help texts, checked against what runs): the extractor's
contract-override warning on the README's own Trainer set-up, `citrus evaluate`'s validation carve on a set of one's
own, `citrus pretrain --help` on bf16, the README's streaming block, `citrus data info`'s "take it" line, and the
smaller texts (the published hr_ecg figures, HISTORY.md's path, pretrain_corpus's sources, --sampling-rate's and
predict's file kinds, `data build --window-seconds`)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import AutoFeatureExtractor

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusModel

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# The README's Trainer set-up (examples/finetune_trainer.py): the model and the extractor get the same keywords.
TASK_CONTRACT = {
    "num_channels": 3,
    "normalization": "fixed",
    "normalization_mean": [0.0, 1.0, 2.0],
    "normalization_std": [1.0, 2.0, 3.0],
}


def data(argv: list[str]) -> int:
    from citrus_hf.commands.main import main

    return main(["data", *argv])


def override_warnings(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "overrides the" in r.getMessage()
    ]


# ------------------------------------------------- 1. a pre-training checkpoint's task set-up is no contract change


@pytest.fixture(scope="module", params=[CiTrusForPretraining, CiTrusModel], ids=lambda cls: cls.__name__)
def encoder_checkpoint(request, tmp_path_factory):
    """A tiny pre-training (or encoder-only) checkpoint and its extractor, as `citrus pretrain` saves them."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp(request.param.__name__)
    config = tiny_config()
    request.param(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("loader", [CiTrusFeatureExtractor, AutoFeatureExtractor], ids=lambda cls: cls.__name__)
def test_the_task_contract_on_a_pretraining_checkpoint_is_not_warned_of(encoder_checkpoint, loader, caplog):
    """`AutoFeatureExtractor.from_pretrained("citrus-small", num_channels=6, normalization="fixed", ...)`, the README's
    own advice, warned four times that the extractor would not match its model, which is loaded with the same
    keywords."""
    caplog.set_level(logging.WARNING)
    extractor = loader.from_pretrained(encoder_checkpoint, **TASK_CONTRACT)
    assert override_warnings(caplog) == []
    assert {name: getattr(extractor, name) for name in TASK_CONTRACT} == TASK_CONTRACT


def test_the_bundled_checkpoint_takes_the_readme_contract_without_a_warning(caplog):
    caplog.set_level(logging.WARNING)
    contract = {**TASK_CONTRACT, "num_channels": 6, "normalization_mean": [0.0] * 6, "normalization_std": [1.0] * 6}
    extractor = AutoFeatureExtractor.from_pretrained("citrus-small", **contract)
    assert override_warnings(caplog) == [] and extractor.num_channels == 6


def test_other_overrides_of_a_pretraining_checkpoint_are_still_warned_of(encoder_checkpoint, caplog):
    """The patch grid and the window are the encoder's own: changing them is no task set-up."""
    caplog.set_level(logging.WARNING)
    AutoFeatureExtractor.from_pretrained(encoder_checkpoint, patch_length=10, **TASK_CONTRACT)
    (said,) = override_warnings(caplog)
    assert said.startswith("patch_length=10 overrides the checkpoint's 20")


@pytest.mark.parametrize("loader", [CiTrusFeatureExtractor, AutoFeatureExtractor], ids=lambda cls: cls.__name__)
def test_a_fine_tuned_checkpoints_contract_overrides_are_still_warned_of(tmp_path, loader, caplog):
    """A trained head fixes the contract: the same keywords on a fine-tuned classifier change what it was trained on."""
    caplog.set_level(logging.WARNING)
    folder = save_tiny_classifier(tmp_path / "classifier", 2)
    loader.from_pretrained(folder, **TASK_CONTRACT)
    said = override_warnings(caplog)
    assert [m.split("=")[0] for m in said] == list(TASK_CONTRACT)
