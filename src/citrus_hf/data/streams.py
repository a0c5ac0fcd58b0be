"""Endless, seeded streams of pre-training windows: real windows of an aligned corpus mixed with synthetic ones from
the generators of `citrus_hf.data.synthetic` (which need only numpy; the streams are torch `IterableDataset`s).

    from citrus_hf.data.streams import MixedWindowStream, SyntheticWindowStream

    synthetic = SyntheticWindowStream(sampling_rate=50, context_length=500, patch_length=10, seed=0)
    window = next(iter(synthetic))  # {"input_values": (1, 500), "patch_mask": (50,), "source_id": (), "example_id": ()}
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from .synthetic import STREAM_VERSION, SyntheticGenerator, _check_positive, default_generators, generated_windows


def _zscore(window: np.ndarray) -> np.ndarray:
    """Per-window z-score, as the feature extractor's default normalisation (generators never return constants)."""
    centered = window - window.mean(dtype=np.float64)
    return (centered / centered.std(dtype=np.float64)).astype(np.float32)


class _SyntheticSource:
    """Draws windows from weighted generators; keeps the windows of each generator's last draw until used."""

    def __init__(
        self, generators: Sequence[SyntheticGenerator], weights: np.ndarray, sampling_rate: float, length: int
    ):
        self.generators, self.weights = generators, weights
        self.sampling_rate, self.length = sampling_rate, length
        self.pending: list[list[np.ndarray]] = [[] for _ in generators]

    def next(self, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """One window `(length,)` float32 and the index of its generator."""
        index = int(rng.choice(len(self.generators), p=self.weights))
        if not self.pending[index]:
            windows = generated_windows(self.generators[index], rng, self.sampling_rate, self.length)
            self.pending[index] = list(windows[::-1])  # pop() from the end yields them in recording order
        return self.pending[index].pop(), index


# How `MixedWindowStream` draws real windows (recorded in its settings: the same seed gives other windows than before).
REAL_SAMPLING = "rank shard; chunks: a run-wide walk in seeded passes, a fixed real share per chunk"


class _ShardPasses:
    """The rows of one rank's `shard` of a corpus (`MixedWindowStream.shard`) in passes: each pass a fresh permutation
    of the shard drawn from the caller's generator, walked in order.

    The permutation is drawn lazily (Fisher-Yates, one swap per row taken, the swaps kept in a dict): a pass over a
    corpus of millions of windows costs nothing up front and memory only for the rows it has handed out.
    """

    def __init__(self, shard: range):
        self.shard = shard
        self.size = len(shard)
        self.taken, self.swapped = 0, {}

    def next(self, rng: np.random.Generator) -> int:
        """The next row of the pass (a new pass once the shard is used up)."""
        if self.taken == self.size:
            self.taken, self.swapped = 0, {}
        pick = int(rng.integers(self.taken, self.size))
        position = self.swapped.get(pick, pick)
        passed_over = self.swapped.pop(self.taken, self.taken)  # slot `taken` is never read again in this pass
        if pick != self.taken:
            self.swapped[pick] = passed_over
        self.taken += 1
        return self.shard[position]


class MixedWindowStream(torch.utils.data.IterableDataset):
    """An endless, seeded stream of pre-training windows: real ones with probability `1 - synthetic_ratio`,
    synthetic ones otherwise.

    Real windows are read one at a time, by index, from `real_windows` (any map-style dataset of aligned windows,
    e.g. a memory-mapped `datasets.Dataset` from `align_corpus`, ideally `.with_format("numpy")`): the corpus is never
    loaded whole. Each rank reads only its own shard of the corpus, the rows `rank, rank + world_size, ...` (so the
    processes of a data-parallel run never share a real window, and every shard spans all sources of a corpus ordered
    by source), in passes: each pass is a fresh random permutation of the shard, walked in order, so no window repeats
    within a pass of one iteration. The pre-training loop reads the stream a chunk at a time (`chunk_windows`), and
    there the passes run across the whole run: no real window repeats before the rank's shard is used up (1,024 real
    draws of a 501-window shard: every window 2 or 3 times; uniform draws with replacement from the whole corpus, as
    before shards, repeated 18% of one process's draws and shared 291 windows between two processes). Synthetic
    windows come from `generators`, chosen with probabilities proportional to `weights`,
    z-scored per window (unless `normalization="none"`).

    Every window is a function of `(seed, rank, DataLoader worker id)` and its position in the stream: the same
    arguments give the same stream, and each rank (Accelerate process) and each DataLoader worker draws its own.
    (DataLoader workers of one rank walk the same shard independently; the pre-training loop builds its batches from
    :meth:`chunk_windows` with its own seeds instead.)

    Yields:
        `{"input_values": (1, context_length) float32, "patch_mask": (num_patches,) int64, "source_id": () int64,
        "example_id": () int64}`; `source_id` 0 is a real window, `i >= 1` generator `i - 1` (:meth:`settings` lists
        them in order); `example_id` is a real window's row in `real_windows`, -1 for a synthetic one.
    """

    def __init__(
        self,
        real_windows: Any | None,
        synthetic_ratio: float,
        sampling_rate: float,
        context_length: int,
        patch_length: int,
        generators: Sequence[SyntheticGenerator] | None = None,
        weights: Sequence[float] | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        num_channels: int = 1,
        normalization: str = "zscore",
    ):
        super().__init__()
        _check_positive("sampling_rate", sampling_rate)
        for name, value in (("context_length", context_length), ("patch_length", patch_length)):
            if not isinstance(value, (int, np.integer)) or value < 2:
                raise ValueError(f"`{name}` must be an integer >= 2, got {value!r}.")
        if context_length % patch_length:
            raise ValueError(
                f"`context_length` ({context_length}) must be a multiple of `patch_length` ({patch_length}), as in "
                "the model's config."
            )
        if num_channels != 1:
            raise ValueError(
                f"Synthetic windows have 1 channel, but num_channels={num_channels}; pre-train a channel-independent "
                "model (num_channels=1), which takes each channel of a real recording as its own example."
            )
        if not (isinstance(synthetic_ratio, (int, float)) and 0.0 <= synthetic_ratio <= 1.0):
            raise ValueError(f"`synthetic_ratio` must lie in [0, 1], got {synthetic_ratio!r}.")
        if real_windows is None and synthetic_ratio < 1.0:
            raise ValueError(
                f"`synthetic_ratio={synthetic_ratio}` needs `real_windows` (a dataset of aligned windows)."
            )
        if real_windows is not None and len(real_windows) == 0:
            raise ValueError("`real_windows` is empty; pass a corpus with at least one window or synthetic_ratio=1.")
        if not (isinstance(seed, (int, np.integer)) and 0 <= seed < 2**32):
            # numpy's SeedSequence reads a larger seed as several 32-bit words, so (2**32 + 7, rank 0) and (7, rank 1)
            # gave the same windows
            raise ValueError(
                f"`seed` must be an integer in [0, 2**32), as `citrus pretrain --seed` takes, got {seed!r}."
            )
        if not (isinstance(world_size, (int, np.integer)) and world_size >= 1 and 0 <= rank < world_size):
            raise ValueError(f"Need 0 <= rank < world_size, got rank={rank!r}, world_size={world_size!r}.")
        if real_windows is not None and synthetic_ratio < 1.0 and len(real_windows) < world_size:
            raise ValueError(
                f"`real_windows` has {len(real_windows)} windows, fewer than the {world_size} processes that each read "
                "their own shard of it; use a larger corpus, fewer processes, or synthetic_ratio=1."
            )
        if normalization not in ("zscore", "none"):
            raise ValueError(f"`normalization` must be 'zscore' or 'none', got {normalization!r}.")
        if generators is None:
            if weights is not None:
                raise ValueError("`weights` without `generators`: pass both, or neither for the default mix.")
            generators, weights = default_generators() if synthetic_ratio > 0 else ([], [])
        elif weights is None:
            weights = [1.0] * len(generators)
        if len(weights) != len(generators):
            raise ValueError(f"{len(generators)} generators but {len(weights)} weights.")
        if any(not isinstance(g, SyntheticGenerator) for g in generators):
            raise ValueError("`generators` must be SyntheticGenerator instances (see `build_generator`).")
        weights = np.asarray(weights, dtype=np.float64)
        if synthetic_ratio > 0 and (
            not len(weights) or not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0
        ):
            raise ValueError(f"Generator weights must be finite, >= 0 and not all 0, got {weights.tolist()}.")
        self.real_windows = real_windows
        self.synthetic_ratio = float(synthetic_ratio)
        self.sampling_rate = float(sampling_rate)
        self.context_length, self.patch_length = int(context_length), int(patch_length)
        self.generators = list(generators)
        self.weights = weights / weights.sum() if len(weights) else weights
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        # this rank's rows of the corpus; the run-wide walk's current pass: (pass index, permutation of the shard)
        self.shard = range(self.rank, len(real_windows) if real_windows is not None else 0, self.world_size)
        self._pass_order: tuple[int, np.ndarray] | None = None
        self.normalization = normalization

    @property
    def num_patches(self) -> int:
        return self.context_length // self.patch_length

    def settings(self) -> dict[str, Any]:
        """Everything that defines the stream, JSON-able, with its version: for the model card and reproduction."""
        return {
            "stream_version": STREAM_VERSION,
            "synthetic_ratio": self.synthetic_ratio,
            "sampling_rate": self.sampling_rate,
            "context_length": self.context_length,
            "patch_length": self.patch_length,
            "normalization": self.normalization,
            "seed": self.seed,
            "world_size": self.world_size,
            # how real windows are drawn (since this setting exists; before, uniformly with replacement by every rank)
            "real_sampling": REAL_SAMPLING,
            "sources": ["real", *(g.name for g in self.generators)],
            "generators": [{"weight": float(w), **g.settings()} for g, w in zip(self.generators, self.weights)],
        }

    def _rng(self) -> np.random.Generator:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        return np.random.default_rng(np.random.SeedSequence([self.seed, self.rank, worker]))

    def _real_window(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        row = self.real_windows[index]
        try:
            values = np.asarray(row["input_values"], dtype=np.float32)
        except (KeyError, TypeError, IndexError):
            raise ValueError(
                f"Real window {index} is not a mapping with 'input_values' (got {type(row).__name__}); pass a dataset "
                "of aligned windows such as `align_corpus`'s output."
            ) from None
        if values.shape != (1, self.context_length):
            raise ValueError(
                f"Real window {index} has shape {values.shape}, but the stream yields (1, {self.context_length}); "
                "align the corpus to the same config (sampling_rate, context_length, num_channels=1)."
            )
        mask = row.get("patch_mask") if hasattr(row, "get") else None
        mask = np.ones(self.num_patches, np.int64) if mask is None else np.asarray(mask, dtype=np.int64)
        if mask.shape != (self.num_patches,):
            raise ValueError(
                f"Real window {index} has a patch_mask of shape {mask.shape}, expected ({self.num_patches},)."
            )
        return torch.from_numpy(values), torch.from_numpy(mask)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        return self.windows(self._rng())

    def _real_windows_before(self, chunk_index: int, count: int) -> int:
        """Real windows in a run's chunks before `chunk_index`, of `count` windows each."""
        return min(chunk_index * count, max(0, round((1.0 - self.synthetic_ratio) * count * chunk_index)))

    def chunk_windows(self, rng: np.random.Generator, count: int, chunk_index: int) -> list[dict[str, torch.Tensor]]:
        """Chunk `chunk_index` of a run: `count` windows, `round((1 - synthetic_ratio) * count * c)` real in the
        run's first `c` chunks (so the share is the ratio's over a run, not rounded per chunk), at places drawn from
        `rng`, the rest synthetic (drawn from `rng` too).

        The real ones continue one walk through the rank's shard over the whole run: chunk `c` takes the positions
        after those the chunks before it took, pass `p` of the walk being a permutation of the
        shard seeded by `(seed, rank, p)` alone. So no real window repeats before the shard is used up, and a chunk
        stays a function of `(seed, rank, chunk_index)`: a resumed run reads what the uninterrupted one did. (`windows`
        starts a new pass at every call: called once per chunk, its real windows were drawn about as with
        replacement over a run.)
        """
        if self.real_windows is None:
            real, position = 0, 0
        else:
            # real windows before chunk c: round(c * count * (1 - R)), so that over a run the share is R to within a
            # window (rounded per chunk, R = 0.001 of 256 windows gave none and 0.999 no real window at all)
            position = self._real_windows_before(chunk_index, count)
            real = self._real_windows_before(chunk_index + 1, count) - position
        is_real = np.zeros(count, dtype=bool)
        is_real[rng.permutation(count)[:real]] = True
        synthetic = _SyntheticSource(self.generators, self.weights, self.sampling_rate, self.context_length)
        full_mask = torch.ones(self.num_patches, dtype=torch.long)
        windows = []
        for slot_is_real in is_real:
            if slot_is_real:
                row = self._walk_row(position)
                position += 1
                values, mask = self._real_window(row)
                source = 0
            else:
                values, mask, source = self._synthetic_window(synthetic, rng, full_mask)
                row = -1
            windows.append(_window(values, mask, source, row))
        return windows

    def _walk_row(self, position: int) -> int:
        """The corpus row at `position` of the rank's run-wide walk through its shard (see `chunk_windows`)."""
        walk_pass, offset = divmod(position, len(self.shard))
        if self._pass_order is None or self._pass_order[0] != walk_pass:
            seed = np.random.SeedSequence([self.seed, self.rank, walk_pass, _WALK_SALT])
            self._pass_order = (walk_pass, np.random.default_rng(seed).permutation(len(self.shard)))
        return self.shard[int(self._pass_order[1][offset])]

    def _synthetic_window(self, synthetic: _SyntheticSource, rng: np.random.Generator, full_mask: torch.Tensor):
        window, generator_index = synthetic.next(rng)
        window = _zscore(window) if self.normalization == "zscore" else window
        return torch.from_numpy(np.ascontiguousarray(window)[None]), full_mask.clone(), generator_index + 1

    def windows(self, rng: np.random.Generator) -> Iterator[dict[str, torch.Tensor]]:
        """The stream drawn from `rng` alone (iterating the stream seeds it from `(seed, rank, DataLoader worker)`),
        for callers that derive the randomness themselves, e.g. the pre-training loop, which makes every part of a
        run a function of its position so that a resumed run is exact."""
        synthetic = _SyntheticSource(self.generators, self.weights, self.sampling_rate, self.context_length)
        shard = None if self.real_windows is None else _ShardPasses(self.shard)
        full_mask = torch.ones(self.num_patches, dtype=torch.long)
        while True:
            if rng.random() < self.synthetic_ratio:
                values, mask, source = self._synthetic_window(synthetic, rng, full_mask)
                row = -1
            else:
                row = shard.next(rng)
                values, mask = self._real_window(row)
                source = 0
            yield _window(values, mask, source, row)


def _window(values: torch.Tensor, mask: torch.Tensor, source: int, row: int) -> dict[str, torch.Tensor]:
    return {
        "input_values": values,
        "patch_mask": mask,
        "source_id": torch.tensor(source, dtype=torch.long),
        "example_id": torch.tensor(row, dtype=torch.long),
    }


# Keeps the walk's pass permutations apart from every other seed sequence of `(seed, rank, ...)`.
_WALK_SALT = 0x5EED_3A1C


class SyntheticWindowStream(MixedWindowStream):
    """An endless, seeded stream of synthetic windows only: :class:`MixedWindowStream` without a real corpus."""

    def __init__(
        self,
        sampling_rate: float,
        context_length: int,
        patch_length: int,
        generators: Sequence[SyntheticGenerator] | None = None,
        weights: Sequence[float] | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        num_channels: int = 1,
        normalization: str = "zscore",
    ):
        super().__init__(
            None,
            1.0,
            sampling_rate,
            context_length,
            patch_length,
            generators=generators,
            weights=weights,
            seed=seed,
            rank=rank,
            world_size=world_size,
            num_channels=num_channels,
            normalization=normalization,
        )


__all__ = ["REAL_SAMPLING", "MixedWindowStream", "SyntheticWindowStream"]
