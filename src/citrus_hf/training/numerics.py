"""Subnormal floats on CPU: fine-tuning from citrus-small is several times slower with them than without.

Fine-tuning a pre-trained CiTrus produces subnormal fp32 values (below 1.2e-38: most likely the optimizer's running
averages of tiny gradients; neither the bundled weights nor the fine-tuned ones hold any), and on an Intel Xeon each
one costs a microcode assist. Measured on the demo's blinks at 20 labels per class (LP-FT, 120 steps, 2 threads, one
seed): 58.1 s with subnormals kept, 12.0 s with them flushed to zero in every thread, 23.7 s flushed in the main thread
only; the from-scratch twin took 14.4 s either way, and every run scored the same macro-F1 (99.77). A value that small
changes no prediction.

PyTorch's `torch.set_flush_denormal` acts on the calling thread and on threads started after it; the intra-op thread
pool starts at the first parallel operator and keeps its setting. So the `citrus` commands that train call
`flush_denormals()` before any torch work, and scripts should too; `denormals_flushed()` covers the calling thread of
a fine-tuning when the process did not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def flush_denormals() -> bool:
    """From now on, treat subnormal floats as zero in this thread and in every thread started later (call it before
    any torch work, so the intra-op threads inherit it). Returns whether the CPU supports it."""
    _cache_float_limits()
    return torch.set_flush_denormal(True)


def _cache_float_limits() -> None:
    """numpy measures each float type's limits the first time `np.finfo` is asked (scipy and sklearn ask), and with
    subnormals flushed it finds the smallest one to be zero and warns about it, twice per type: measured now, before
    flushing, they are right and cached."""
    for dtype in (np.float16, np.float32, np.float64, np.longdouble):
        np.finfo(dtype)


def _thread_flushes_denormals() -> bool:
    """Whether the calling thread treats subnormal floats as zero now. torch sets the mode (`torch.set_flush_denormal`)
    but has no getter, so it is read off a product: a subnormal float32 (1e-39, below the smallest normal, 1.2e-38)
    times one is zero exactly when the thread flushes them (a one-element product runs in the calling thread)."""
    return (torch.tensor([1e-39], dtype=torch.float32) * 1.0).item() == 0.0


@contextmanager
def denormals_flushed() -> Iterator[bool]:
    """Within the block, the calling thread treats subnormal floats as zero (the intra-op threads only if
    `flush_denormals()` ran before they started); afterwards it has its setting from before the block back: one that
    flushed them already keeps flushing (the caller's own `torch.set_flush_denormal(True)`, a common CPU speed setting,
    or a thread that `flush_denormals()` reached), one that did not (started before `flush_denormals()`, or switched
    off by its caller since) keeps them again. Yields whether the CPU supports it."""
    # The thread is asked, not a flag that `flush_denormals()` ran: that setting reaches only the threads started
    # after it, and a shortcut on such a flag left an older thread flushing nothing. A thread that flushes already
    # keeps doing so, since its setting is read before switching it on: switching it off unasked after every fit
    # turned the caller's own setting off
    _cache_float_limits()
    flushed_before = _thread_flushes_denormals()
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        if supported and not flushed_before:
            torch.set_flush_denormal(False)


__all__ = ["denormals_flushed", "flush_denormals"]
