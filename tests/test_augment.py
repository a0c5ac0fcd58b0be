"""Label-preserving augmentations of aligned windows (`training.augment`): shapes, padding, strengths, seeds, and
the lazily augmented dataset that probe-then-fine-tune draws its batches from."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from citrus_hf.training.augment import (
    AUGMENTATIONS,
    JITTER_FRACTION,
    MAX_SCALE,
    MAX_SHIFT_FRACTION,
    AugmentedWindows,
    augmented_window,
)


def _aligned(num_rows: int = 6, padded_from: int = 3):
    """An aligned dataset as `align_task_split` returns it: rows from `padded_from` on hold 60 real samples of 100."""
    from datasets import Dataset

    torch.manual_seed(0)
    windows = torch.randn(num_rows, 2, 100)
    patch_mask = torch.ones(num_rows, 10, dtype=torch.long)
    patch_mask[padded_from:, 6:] = 0
    windows[padded_from:, :, 60:] = 0.0
    rows = {"input_values": windows.numpy(), "patch_mask": patch_mask.numpy(), "labels": np.arange(num_rows) % 2}
    return Dataset.from_dict(rows).with_format("torch")


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_each_augmentation_keeps_shape_and_padding(name):
    window = torch.randn(2, 100)
    window[:, 60:] = 0.0
    copies = [augmented_window(window, 60, [name], seed) for seed in range(5)]
    for augmented in copies:
        assert augmented.shape == (2, 100) and torch.isfinite(augmented).all()
        assert (augmented[:, 60:] == 0).all()  # padding stays padding
    assert sum(not torch.equal(augmented, window) for augmented in copies) >= 4  # a shift may draw 0 now and then


def test_shift_rolls_within_the_real_samples_by_at_most_a_tenth():
    window = torch.randn(2, 100)
    for seed in range(20):
        for length in (100, 60):
            shifted = augmented_window(window, length, ["shift"], seed)[:, :length]
            matches = [k for k in range(length) if torch.equal(torch.roll(window[:, :length], k, dims=-1), shifted)]
            assert matches, "a shift is a circular roll of the real samples"
            assert min(matches[0], length - matches[0]) <= round(MAX_SHIFT_FRACTION * length)
            torch.testing.assert_close(
                augmented_window(window, length, ["shift"], seed)[:, length:], window[:, length:]
            )


def test_scale_and_jitter_stay_within_their_strengths():
    window = torch.randn(3, 4000)
    factors = torch.stack([augmented_window(window, 4000, ["scale"], seed)[:, 0] / window[:, 0] for seed in range(50)])
    assert factors.min() >= 1 / MAX_SCALE - 1e-5 and factors.max() <= MAX_SCALE + 1e-5
    assert factors.max() / factors.min() > 1.2  # drawn, not fixed
    noise = (augmented_window(window, 4000, ["jitter"], seed=0) - window) / window.std(-1, keepdim=True)
    assert noise.std().item() == pytest.approx(JITTER_FRACTION, rel=0.05)


def test_augmented_dataset_serves_originals_then_seeded_copies():
    dataset = _aligned()
    augmented = AugmentedWindows(dataset, 10, ["shift", "scale", "jitter"], copies=2, seed=5)
    assert len(augmented) == 18
    for index in range(18):
        row, original = augmented[index], dataset[index % 6]
        assert row["labels"] == original["labels"]
        torch.testing.assert_close(row["patch_mask"], original["patch_mask"])
        if index < 6:
            torch.testing.assert_close(row["input_values"], original["input_values"])
        else:
            assert not torch.equal(row["input_values"], original["input_values"])
            if index % 6 >= 3:
                assert (row["input_values"][:, 60:] == 0).all()
    # the same seed gives the same copies in any reading order; another seed other copies; copies differ
    again = AugmentedWindows(dataset, 10, ["shift", "scale", "jitter"], copies=2, seed=5)
    torch.testing.assert_close(again[13]["input_values"], augmented[13]["input_values"])
    other = AugmentedWindows(dataset, 10, ["shift", "scale", "jitter"], copies=2, seed=6)
    assert not torch.equal(other[13]["input_values"], augmented[13]["input_values"])
    assert not torch.equal(augmented[7]["input_values"], augmented[13]["input_values"])
    with pytest.raises(IndexError):
        augmented[18]
    # the Trainer's default collator stacks its rows
    from transformers import default_data_collator

    batch = default_data_collator([augmented[index] for index in (0, 7, 17)])
    assert batch["input_values"].shape == (3, 2, 100) and batch["patch_mask"].shape == (3, 10)


def test_unknown_augmentations_and_negative_copies_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown augmentation.*mixup.*choose from"):
        AugmentedWindows(_aligned(), 10, ["mixup"], copies=1, seed=0)
    with pytest.raises(ValueError, match="copies must be >= 0"):
        AugmentedWindows(_aligned(), 10, ["jitter"], copies=-1, seed=0)
    with pytest.raises(ValueError, match="Unknown augmentation"):
        augmented_window(torch.zeros(1, 10), 10, ["warp"], seed=0)
