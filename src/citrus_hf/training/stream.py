"""The pre-training stream: real windows of the aligned corpus mixed with synthetic ones, in batches that a resumed run
sees exactly as an uninterrupted one would.

`citrus pretrain --synthetic-ratio R` (0 < R <= 1) trains on this stream instead of epochs over the corpus: a share R
of every chunk's windows (below) is synthetic (`citrus_hf.data.streams.MixedWindowStream`: documented, seeded
generators), at random places, and the rest are windows of the aligned corpus, read from its memory-mapped Arrow file
by index (the corpus is never loaded whole) in a walk through the process's own shard that runs across the chunks in
seeded passes (`MixedWindowStream.chunk_windows`). With R = 1 no corpus is read at all.

Why chunks: a physiological generator simulates a whole recording per draw and a CauKer draw gives several series, so
a stream is cheapest read in long runs. The stream of rank `r` is cut into chunks of `batches_per_chunk` batches; chunk
`c` is drawn from randomness `(seed, r, c)` and the walk's passes, seeded by `(seed, r, pass)`, and nothing else. So a batch is
a function of the run's seed, the process rank and the batch's position in the run: resuming after `n` batches starts
at chunk `n // batches_per_chunk` and skips `n % batches_per_chunk` of its batches, the data loader's worker count
changes nothing (each worker builds whole chunks; the loader hands them out in order), and the ranks of a
data-parallel run draw independent streams.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from ..configuration_citrus import CiTrusConfig
from ..data.streams import MixedWindowStream
from ..data.synthetic import active_generators, generated_windows, generators_from_spec

# At least this many windows per chunk: a chunk then holds many draws of every default generator, so the recordings
# they simulate are used up instead of being cut off at a chunk's end.
MIN_CHUNK_WINDOWS = 256


class StreamChunks(torch.utils.data.IterableDataset):
    """The chunks of one rank's stream from chunk `first_chunk` on, each `{"input_values": (K * B, 1, T) float32,
    "patch_mask": (K * B, P) int64, "source_id": (K * B,) int64}` (`K` batches of `B` windows; `source_id` 0 is a
    real window, `i >= 1` the stream's generator `i - 1`). DataLoader worker `w` of `W` builds chunks `first_chunk + w`,
    `first_chunk + w + W`, ...: in the order the loader hands them out."""

    def __init__(self, stream: MixedWindowStream, chunk_windows: int, first_chunk: int = 0):
        super().__init__()
        self.stream = stream
        self.chunk_windows = chunk_windows
        self.first_chunk = first_chunk

    def chunk(self, index: int) -> dict[str, torch.Tensor]:
        """Chunk `index`: a function of `(stream.seed, stream.rank, index)` and the stream's settings only."""
        rng = np.random.default_rng(np.random.SeedSequence([self.stream.seed, self.stream.rank, index]))
        windows = self.stream.chunk_windows(rng, self.chunk_windows, index)
        return {key: torch.stack([window[key] for window in windows]) for key in windows[0]}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for index in itertools.count(self.first_chunk + worker, num_workers):
            yield self.chunk(index)


class PretrainingStream:
    """One process's endless batches of mixed windows (see the module docstring).

    Args:
        real_windows: the aligned corpus (`align_corpus`), or None when `synthetic_ratio` is 1.
        config: the model's config: the stream yields its rate, window and patch length, normalised as it says.
        synthetic_ratio: probability that a window is synthetic, in (0, 1].
        generators: the generator spec (`citrus_hf.data.synthetic.generators_from_spec`); weight-0 entries dropped.
        batch_size: windows per batch.
        seed, rank, world_size: the run's seed and this process's place in it.
    """

    def __init__(
        self,
        real_windows,
        config: CiTrusConfig,
        synthetic_ratio: float,
        generators: Mapping[str, Any],
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ):
        if config.normalization not in ("zscore", "none"):
            raise ValueError(
                f"Synthetic windows are normalised per window (`normalization='zscore'`) or not at all ('none'); the "
                f"config's normalization={config.normalization!r} has statistics of a real corpus that do not fit "
                "synthetic signal. Pre-train with normalization='zscore'."
            )
        chosen, weights = generators_from_spec(active_generators(generators))
        if real_windows is not None:
            real_windows = real_windows.with_format("numpy", columns=["input_values", "patch_mask"])
        self.stream = MixedWindowStream(
            real_windows,
            synthetic_ratio,
            config.sampling_rate,
            config.context_length,
            config.patch_length,
            generators=chosen,
            weights=weights,
            seed=seed,
            rank=rank,
            world_size=world_size,
            num_channels=config.num_channels,
            normalization=config.normalization,
        )
        self.batch_size = batch_size
        self.batches_per_chunk = max(1, math.ceil(MIN_CHUNK_WINDOWS / batch_size))

    def check_generators(self) -> None:
        """Draw once from every generator, so a missing optional simulator (the `synthetic` extra) or a setting that
        does not fit the input contract fails here, before training, rather than in a data loader worker."""
        rng = np.random.default_rng(0)
        for generator in self.stream.generators:  # checked as the stream checks every draw
            generated_windows(generator, rng, self.stream.sampling_rate, self.stream.context_length)

    def batches(self, start_batch: int = 0, num_workers: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """Batches `{"input_values": (B, 1, T), "patch_mask": (B, P), "source_id": (B,)}` from the `start_batch`-th
        on (0-based), built by `num_workers` DataLoader workers (0: in this process)."""
        first_chunk, skip = divmod(start_batch, self.batches_per_chunk)
        chunks = StreamChunks(self.stream, self.batches_per_chunk * self.batch_size, first_chunk)
        loader = torch.utils.data.DataLoader(
            chunks,
            batch_size=None,
            num_workers=num_workers,
            # A loader draws its workers' base seed from the global generator unless given one; the masking uses
            # that generator, and a resumed run must draw the same masks as an uninterrupted one.
            generator=torch.Generator().manual_seed(0),
        )
        for chunk in loader:
            for start in range(skip * self.batch_size, len(chunk["source_id"]), self.batch_size):
                yield {key: value[start : start + self.batch_size] for key, value in chunk.items()}
            skip = 0

    def settings(self) -> dict[str, Any]:
        """What defines the stream, JSON-able (the model card reads it from the run's summary)."""
        return {**self.stream.settings(), "batch_size": self.batch_size, "batches_per_chunk": self.batches_per_chunk}


__all__ = ["MIN_CHUNK_WINDOWS", "PretrainingStream", "StreamChunks"]
