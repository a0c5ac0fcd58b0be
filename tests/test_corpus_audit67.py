"""A lab's own folder of unlabelled recordings as a pre-training corpus (`citrus data info FOLDER`, `citrus pretrain
--dataset FOLDER`)."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.recording_folders import load_recording_folder


def _pile(folder, lengths: dict[str, int], seed: int = 0) -> None:
    """One-channel .npy recordings of the given lengths (samples) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, length in lengths.items():
        np.save(folder / name, rng.standard_normal((1, length)))


def test_a_file_shorter_than_a_patch_is_refused_with_advice_pretraining_can_follow(tmp_path, make_tiny_config):
    """The advice was "Use alignment='interpolate'", an option `citrus pretrain` does not have."""
    from citrus_hf.data.alignment import align_corpus

    folder = tmp_path / "pile"
    _pile(folder, {"ok.npy": 3000, "stub.npy": 3})
    rows = load_recording_folder(folder, sampling_rate=100)
    with pytest.raises(ValueError, match=r"stub\.npy") as raised:
        align_corpus(rows, make_tiny_config(), sampling_rate=100)
    assert "alignment" not in str(raised.value) and "leave" in str(raised.value)
