"""Pre-training data as a user builds it by habit (session 56 audit): a new window length for a corpus of windows
back to back keeps them back to back, a `(time, channels)` row of a corpus is named as such, and `--sampling-rate` on
a corpus with its own rate column is refused rather than ignored and recorded as used.

Real rows: BasicMotions (6 channels at 10 Hz) saved as an unlabelled corpus.
"""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf import data as citrus_data
from citrus_hf.commands.main import main
from citrus_hf.data.alignment import align_corpus
from citrus_hf.data.plans import resolve_options
from citrus_hf.data.registry import get_dataset_spec


def test_a_new_window_length_keeps_a_corpus_of_windows_back_to_back():
    """eeg_pretrain's 30 s windows every 30 s: `window_seconds=10` alone kept the 30 s hop and skipped 20 s of every
    30 (0.54 instead of 2.8 channel-hours of its training split) without a word."""
    spec = get_dataset_spec("eeg_pretrain")
    assert resolve_options(spec, {"window_seconds": 10.0})["hop_seconds"] == 10.0
    assert resolve_options(spec, {"window_seconds": 10.0, "hop_seconds": 5.0})["hop_seconds"] == 5.0
    # a set whose windows overlap by default keeps its own hop
    heart = get_dataset_spec("hr_ecg")
    assert resolve_options(heart, {"window_seconds": 20.0})["hop_seconds"] == heart.defaults["hop_seconds"]


@pytest.fixture(scope="module")
def motions() -> np.ndarray:
    return np.asarray(citrus_data.build_dataset("basic_motions")["train"].select(range(4))["input_values"], np.float32)


def test_a_time_by_channels_corpus_row_is_named_as_such(motions):
    """Split into its channels, a (time, channels) row became 100 rows of 6 samples, refused as "shorter than one
    patch" with the advice to stretch them."""
    rows = [motions[0], motions[1].T]  # the second row stored (time, channels)
    corpus = datasets.Dataset.from_dict({"input_values": rows, "sampling_rate": [10.0, 10.0]})
    config = tiny_config(sampling_rate=10.0, context_length=100, patch_length=10)
    with pytest.raises(ValueError, match=r"Row 1 has shape \(100, 6\), which reads as 100 channels of 6 samples"):
        align_corpus(corpus, config)


def test_pretrain_refuses_a_rate_that_its_corpus_column_would_override(motions, tmp_path, capsys):
    corpus = datasets.Dataset.from_dict({"input_values": list(motions), "sampling_rate": [10.0] * len(motions)})
    datasets.DatasetDict({"train": corpus}).save_to_disk(str(tmp_path / "corpus"))
    arguments = ["--dataset", str(tmp_path / "corpus"), "--model-config", "tiny", "--max-steps", "1"]
    assert main(["pretrain", *arguments, "--sampling-rate", "50", "--output-dir", str(tmp_path / "run")]) == 2
    assert "has a sampling_rate column, which gives every row its rate" in capsys.readouterr().err
    assert not (tmp_path / "run" / "pretraining_summary.json").exists()
