"""Measuring how much memory a read holds beside its result (a test helper: the readers' and `citrus predict`'s
memory tests hold their peaks to the result's size with it)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np


def peak_growth(read: Callable[[int], np.ndarray], sizes: Sequence[int]) -> float:
    """The growth of tracemalloc's peak per byte of the result from the first of `sizes` to the second: `read(size)`
    returns the array whose bytes count. Fixed costs (imports, caches, a block's buffer) cancel in the difference."""
    peaks, results = [], []
    for size in sizes:
        gc.collect()
        tracemalloc.start()
        try:
            result = read(size)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        results.append(result.nbytes)
        del result
    return (peaks[1] - peaks[0]) / (results[1] - results[0])
