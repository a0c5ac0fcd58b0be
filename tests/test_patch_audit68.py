"""Pre-training's aligned corpus (`align_corpus`) holds whole patches of real signal only: a recording whose samples
ended inside a patch gave a last window whose part-filled patch `patch_mask` marked as signal, so the reconstruction
target held up to `patch_length - 1` padding zeros per recording."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf import CiTrusConfig
from citrus_hf.data.alignment import align_corpus

PATCH = 10


def _config(**overrides) -> CiTrusConfig:
    """The tiny preset with 100-sample windows of 10 patches of 10 at 100 Hz."""
    return tiny_config(context_length=100, patch_length=PATCH, sampling_rate=100.0, **overrides)


def _rows(lengths_and_rates: list[tuple[int, float]], channels: int = 1) -> datasets.Dataset:
    """Rows of noise on an offset (no sample of it is 0, the padding value, once normalised)."""
    rng = np.random.default_rng(0)
    signals = [(5.0 + rng.standard_normal((channels, length))).tolist() for length, _ in lengths_and_rates]
    return datasets.Dataset.from_dict(
        {"input_values": signals, "sampling_rate": [rate for _, rate in lengths_and_rates]}
    )


def _real_patches_hold_no_padding(aligned) -> tuple[int, int]:
    """Asserts every patch `patch_mask` marks real holds no padding sample; returns (windows, real patches)."""
    values = np.asarray(aligned["input_values"], dtype=np.float32)  # (windows, channels, context)
    mask = np.asarray(aligned["patch_mask"]).astype(bool)  # (windows, patches)
    patches = values.reshape(*values.shape[:2], -1, PATCH)  # (windows, channels, patches, patch)
    padding_in_real = (patches == 0).any(axis=(1, 3)) & mask
    assert not padding_in_real.any(), f"padding samples in real patches at {np.argwhere(padding_in_real).tolist()}"
    return len(values), int(mask.sum())


@pytest.mark.parametrize(
    ("length", "rate", "windows", "real_patches"),
    [
        (125, 100.0, 2, 12),  # same rate: the last window held 25 samples, 2.5 patches
        (190, 150.0, 2, 12),  # downsampled 3:2 to 127 samples
        # upsampled 16:25 to 125 samples; no prefix of the row resamples to 120 (76 samples give 119), 70 give 110
        (80, 64.0, 2, 11),
        (107, 100.0, 1, 10),  # a last window of 7 samples, less than a patch: not made
    ],
)
def test_every_real_marked_patch_holds_real_samples_only(length, rate, windows, real_patches):
    aligned = align_corpus(_rows([(length, rate)]), _config())
    assert _real_patches_hold_no_padding(aligned) == (windows, real_patches)


def test_each_channel_of_a_split_row_gives_whole_patches():
    aligned = align_corpus(_rows([(233, 100.0), (41, 100.0)], channels=2), _config())
    windows, real = _real_patches_hold_no_padding(aligned)
    assert (windows, real) == (2 * 3 + 2 * 1, 2 * 23 + 2 * 4)


def test_nan_length_padding_is_left_out_before_the_tail_is_trimmed():
    """With nan_policy="interpolate" the extractor leaves out a channel's trailing NaN padding: the whole patches
    are counted on what it keeps (113 samples of the second channel: 11 patches, not the row's 12)."""
    row = _rows([(125, 100.0)], channels=2)["input_values"][0]
    row[1][113:] = [float("nan")] * 12
    rows = datasets.Dataset.from_dict({"input_values": [row], "sampling_rate": [100.0]})
    aligned = align_corpus(rows, _config(), nan_policy="interpolate")
    assert _real_patches_hold_no_padding(aligned) == (4, 12 + 11)


def test_a_multichannel_model_keeps_its_rows_whole_patches_too():
    aligned = align_corpus(_rows([(58, 100.0)], channels=2), _config(num_channels=2))
    assert _real_patches_hold_no_padding(aligned) == (1, 5)
