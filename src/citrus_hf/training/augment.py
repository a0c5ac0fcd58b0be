"""Label-preserving augmentations of aligned windows, for recipes that multiply a handful of labelled examples.

Each augmentation (`AUGMENTATIONS`, filled by `register_augmentation`) takes a batch of aligned windows
`(batch, channels, length)`, the number of real (not padded) samples of each window `(batch,)` and a seeded
`torch.Generator`, and returns new windows of the same shape; samples past a window's real length stay as they were
(padding stays padding). The strengths are the usual ones of time-series augmentation surveys (Um et al., 2017;
Iwana & Uchida, 2021), small enough to keep the label: a shift of at most a tenth of the window, amplitudes within
+-20%, noise at a twentieth of each channel's spread.

`AugmentedWindows` serves an aligned dataset followed by `copies` augmented versions of each row, made as rows are
read, so fine-tuning draws its batches from both (`training.recipes.ProbeFinetuneRecipe`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from ..vocabulary_citrus import redefines

# An augmentation: (windows (B, C, T), real lengths (B,), generator) -> augmented windows (B, C, T).
Augmentation = Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]

AUGMENTATIONS: dict[str, Augmentation] = {}

# Largest circular shift, as a fraction of a window's real length.
MAX_SHIFT_FRACTION = 0.1
# Amplitude factors are drawn log-uniformly in [1 / MAX_SCALE, MAX_SCALE], one per channel.
MAX_SCALE = 1.2
# Gaussian noise, as a fraction of each channel's standard deviation over the window's real samples.
JITTER_FRACTION = 0.05


def register_augmentation(name: str) -> Callable[[Augmentation], Augmentation]:
    """Decorator: make an augmentation available by `name` (recipes list theirs by name).

    Raises:
        ValueError: an augmentation of that name is registered already: registry names are unique. A function
            defined again (a notebook cell run twice) replaces its first definition.
    """

    def register(function: Augmentation) -> Augmentation:
        if name in AUGMENTATIONS and not redefines(AUGMENTATIONS[name], function):
            taken = AUGMENTATIONS[name]
            shown = getattr(taken, "__qualname__", None) or repr(taken)  # (a partial or callable instance has none)
            raise ValueError(
                f"The augmentation {name!r} is already registered ({shown}); registry names must be unique: give "
                "yours another name."
            )
        AUGMENTATIONS[name] = function
        return function

    return register


def _real_samples(windows: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """`(B, 1, T)` bool: True for a window's real samples, False for its padding."""
    positions = torch.arange(windows.shape[-1], device=windows.device)
    return (positions[None, :] < lengths[:, None])[:, None, :]


@register_augmentation("shift")
def circular_shift(windows: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Roll each window's real samples by up to `MAX_SHIFT_FRACTION` of its length, either way (the samples pushed
    off one end come back at the other, so no padding enters the real part)."""
    batch, _, total = windows.shape
    fractions = torch.rand(batch, generator=generator) * 2.0 - 1.0
    offsets = torch.round(fractions * MAX_SHIFT_FRACTION * lengths.double()).long()
    positions = torch.arange(total)[None, :]
    real = positions < lengths[:, None]
    # index of the sample that lands on each position: (t - offset) mod length inside the real part, itself outside
    source = torch.where(real, (positions - offsets[:, None]) % lengths.clamp(min=1)[:, None], positions)
    return torch.gather(windows, 2, source[:, None, :].expand_as(windows).to(windows.device))


@register_augmentation("scale")
def amplitude_scale(windows: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Multiply each channel by a factor drawn log-uniformly in [1 / `MAX_SCALE`, `MAX_SCALE`]."""
    batch, channels, _ = windows.shape
    log_factors = (torch.rand(batch, channels, 1, generator=generator) * 2.0 - 1.0) * torch.log(torch.tensor(MAX_SCALE))
    scaled = windows * torch.exp(log_factors).to(windows)
    return torch.where(_real_samples(windows, lengths), scaled, windows)


@register_augmentation("jitter")
def gaussian_jitter(windows: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Add Gaussian noise at `JITTER_FRACTION` of each channel's standard deviation over its real samples."""
    real = _real_samples(windows, lengths)
    count = lengths.clamp(min=1).to(windows)[:, None, None]
    mean = (windows * real).sum(-1, keepdim=True) / count
    spread = (((windows - mean) * real) ** 2).sum(-1, keepdim=True).div(count).sqrt()
    noise = torch.randn(windows.shape, generator=generator).to(windows)
    return torch.where(real, windows + JITTER_FRACTION * spread * noise, windows)


def _check_augmentations(augmentations: Sequence[str]) -> None:
    """Raise a clear error naming any of `augmentations` that `AUGMENTATIONS` does not hold."""
    unknown = [name for name in augmentations if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"Unknown augmentation(s) {unknown}; choose from {', '.join(AUGMENTATIONS)}.")


def augmented_window(window: torch.Tensor, length: int, augmentations: Sequence[str], seed: int) -> torch.Tensor:
    """One augmented version `(C, T)` of an aligned window `(C, T)` whose first `length` samples are real: each of
    `augmentations` applied in turn, with draws seeded by `seed` alone (so any row can be made on its own, in any
    order, and comes out the same)."""
    _check_augmentations(augmentations)
    return _augment(window, length, augmentations, seed)


def _augment(window: torch.Tensor, length: int, augmentations: Sequence[str], seed: int) -> torch.Tensor:
    """`augmented_window` for names already checked (`AugmentedWindows` checks them once, not per row)."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([length])
    augmented = window[None]
    for name in augmentations:
        augmented = AUGMENTATIONS[name](augmented, lengths, generator)
    return augmented[0]


def real_length(window: torch.Tensor, patch_mask: torch.Tensor | None, patch_length: int, padding_value: float) -> int:
    """The real samples of an aligned window `(C, T)`: up to the end of its last patch of signal (`patch_mask` `(S,)`,
    None for a window without padding), less the padding at the end of that patch. A recording that ends inside a
    patch is padded with `padding_value` up to the patch's end, and `patch_mask` marks the whole patch as signal, so
    those samples are told apart by their value: the run equal to `padding_value` in every channel at the patch's end
    (of the patch's samples, the first stays: the patch holds signal). A recording whose own last samples are exactly
    `padding_value` in every channel counts them as padding, which keeps them where they are."""
    if patch_mask is None:
        return window.shape[-1]
    real_patches = torch.nonzero(torch.as_tensor(patch_mask).reshape(-1)).flatten()
    if not len(real_patches):
        return 0
    end = (int(real_patches[-1]) + 1) * patch_length
    last_patch = window[:, end - patch_length : end]  # (C, patch_length)
    is_padding = (last_patch == padding_value).all(dim=0)[1:]  # the first sample of a real patch is signal
    padding_run = int(is_padding.flip(0).to(torch.int8).cumprod(0).sum())
    return end - padding_run


def copy_seed(seed: int, copy: int, row: int) -> int:
    """The seed of augmented copy `copy` (from 1) of row `row` under run seed `seed`: independent streams per
    (seed, copy, row) through numpy's `SeedSequence`."""
    # a Python int before the shift: numpy 1.26 has no right_shift of a uint64 by an int64
    return int(np.random.SeedSequence([seed, copy, row]).generate_state(1, dtype=np.uint64)[0]) >> 1


class AugmentedWindows(TorchDataset):
    """An aligned dataset followed by `copies` augmented versions of every row, made when a row is read (memory stays
    that of the original): row `i` is original `i % n`, as is when `i < n`, else its copy `i // n`.

    Rows are dicts of `input_values` `(C, T)`, `labels` and, when the dataset has it, `patch_mask` `(S,)`, as the
    `Trainer`'s default collator stacks them. A row's real length is read from them (`real_length`): its patches of
    signal, less the padding at the end of the last one, so that a shift rolls its real samples only and jitter
    measures their spread (counted in whole patches, the padding of a partly filled last patch was rolled into the
    signal).

    Args:
        dataset: aligned rows (`align_task_split`, torch format).
        patch_length: samples per patch (turns `patch_mask` into each window's real length).
        augmentations: names in `AUGMENTATIONS`, applied in turn.
        copies: augmented versions per row (>= 0).
        seed: the run's seed; each copy's draws come from `copy_seed(seed, copy, row)`.
        padding_value: the value the feature extractor padded with (its `padding_value`, 0.0 by default).
    """

    def __init__(
        self,
        dataset,
        patch_length: int,
        augmentations: Sequence[str],
        copies: int,
        seed: int,
        padding_value: float = 0.0,
    ):
        _check_augmentations(augmentations)
        if copies < 0:
            raise ValueError(f"copies must be >= 0, got {copies}.")
        self.dataset, self.patch_length, self.padding_value = dataset, patch_length, padding_value
        self.augmentations, self.copies, self.seed = tuple(augmentations), copies, seed

    def __len__(self) -> int:
        return len(self.dataset) * (1 + self.copies)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(f"row {index} of {len(self)}")
        copy, row = divmod(int(index), len(self.dataset))
        item = dict(self.dataset[row])
        if copy > 0:
            window = item["input_values"]
            length = real_length(window, item.get("patch_mask"), self.patch_length, self.padding_value)
            item["input_values"] = _augment(window, length, self.augmentations, copy_seed(self.seed, copy, row))
        return item


__all__ = [
    "AUGMENTATIONS",
    "JITTER_FRACTION",
    "MAX_SCALE",
    "MAX_SHIFT_FRACTION",
    "Augmentation",
    "AugmentedWindows",
    "augmented_window",
    "copy_seed",
    "real_length",
    "register_augmentation",
]
