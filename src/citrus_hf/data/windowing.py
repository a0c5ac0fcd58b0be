"""Windowing in seconds and splits by group (subject, recording, repetition) or by time block."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from .errors import CitrusDataError


def seconds_to_samples(seconds: float, sampling_rate: float) -> int:
    """Number of samples in ``seconds`` at ``sampling_rate`` (rounded to the nearest sample)."""
    return int(round(seconds * sampling_rate))


def window_starts(
    n_samples: int,
    sampling_rate: float,
    window_seconds: float,
    hop_seconds: float,
    start: int = 0,
    stop: int | None = None,
) -> np.ndarray:
    """Start indices of the windows that fit wholly inside ``[start, stop)``.

    Windows are ``round(window_seconds * rate)`` samples long; window ``k`` starts at
    ``start + round(k * hop_seconds * rate)`` (rounded per window, so a fractional hop does not drift).

    Returns:
        int64 array of start indices (empty when the span is shorter than one window).
    """
    if window_seconds <= 0 or hop_seconds <= 0:
        raise ValueError(f"window_seconds ({window_seconds}) and hop_seconds ({hop_seconds}) must be positive.")
    stop = n_samples if stop is None else min(stop, n_samples)
    window = seconds_to_samples(window_seconds, sampling_rate)
    if window < 1:
        raise ValueError(f"A {window_seconds} s window at {sampling_rate} Hz holds no sample.")
    if hop_seconds * sampling_rate < 1 - 1e-9:
        raise ValueError(
            f"A hop of {hop_seconds} s at {sampling_rate} Hz is under one sample, so windows would repeat; give a hop of "
            f"at least {1 / sampling_rate:g} s."
        )
    span = stop - start - window
    if span < 0:
        return np.zeros(0, dtype=np.int64)
    count = int(np.floor(span / (hop_seconds * sampling_rate) + 1e-9)) + 1
    starts = start + np.round(np.arange(count) * hop_seconds * sampling_rate).astype(np.int64)
    return starts[starts + window <= stop]


def split_by_group(
    sizes: Mapping[Hashable, float],
    fractions: Mapping[str, float],
    seed: int = 0,
    owner: str = "this split",
    groups: str = "groups",
) -> dict[str, list[Hashable]]:
    """Assign whole groups (subjects, recordings) to splits so that each split gets about its share of the total.

    Groups are taken largest first (ties in a seeded random order) and each goes to the split furthest below its
    target (target share x total - size so far), so no group is ever in two splits and the shares come out as close
    as whole groups allow. With equal sizes this is a seeded shuffle cut into the given fractions.

    Args:
        sizes: {group: size} (windows, seconds...).
        fractions: {split name: share}; shares are normalised to sum to 1. A split with share 0 gets nothing.
        seed: seed of the tie-breaking shuffle.
        owner, groups: for the error below, what is split (a dataset's name) and what its groups are ("subjects").

    Returns:
        {split name: groups (sorted)}; every split of ``fractions`` is present, possibly empty.

    Raises:
        CitrusDataError: a ``seed`` other than 0 where no two groups have one size: it would silently give seed 0's
            split (a user asking for another split got the same one).
    """
    if not fractions or any(value < 0 for value in fractions.values()) or sum(fractions.values()) <= 0:
        raise ValueError(f"fractions must be non-negative and not all zero, got {dict(fractions)}.")
    if seed != 0 and len(set(sizes.values())) == len(sizes):
        raise CitrusDataError(
            f"{owner}: seed={seed} gives the split of seed 0. Its {groups} go to the splits largest first, so that "
            f"each split gets its share, and the seed only orders {groups} of equal size, of which it has none. Leave "
            "seed out."
        )
    total_share = sum(fractions.values())
    groups = list(sizes)
    order = np.random.default_rng(seed).permutation(len(groups))
    ranked = sorted((groups[i] for i in order), key=lambda group: -sizes[group])  # stable: ties keep the shuffle
    total = float(sum(sizes.values()))
    targets = {name: value / total_share * total for name, value in fractions.items() if value > 0}
    filled = dict.fromkeys(targets, 0.0)
    assignment: dict[str, list[Hashable]] = {name: [] for name in fractions}
    for group in ranked:
        name = max(targets, key=lambda split: targets[split] - filled[split])
        assignment[name].append(group)
        filled[name] += sizes[group]
    return {name: sorted(members, key=str) for name, members in assignment.items()}


def time_blocks(n_samples: int, fractions: Sequence[float], names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Cut ``[0, n_samples)`` into consecutive blocks of the given fractions, e.g. 70 / 15 / 15 %.

    Returns:
        {name: (start, stop)} with the blocks in order and covering every sample once.
    """
    if len(fractions) != len(names):
        raise ValueError(f"{len(fractions)} fractions for {len(names)} split names.")
    bounds = np.round(np.cumsum([0.0, *fractions]) / sum(fractions) * n_samples).astype(int)
    return {name: (int(bounds[i]), int(bounds[i + 1])) for i, name in enumerate(names)}
