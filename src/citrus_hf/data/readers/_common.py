"""What several readers of :mod:`citrus_hf.data.readers` share: the check of the path they are given, and numpy's
private modules that rebuild pickled arrays (the safe unpickler of :mod:`.pickles` wraps them; the TF-C loader of
:mod:`.tfc` allows them in ``torch.load``), whose home moved in numpy 2.
"""

from __future__ import annotations

import os
from pathlib import Path

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.26
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric


def _as_path(value, what: str = "file") -> Path:
    """`value` as a `Path`; anything else (None from an unset option, an open file) is refused with what a reader
    takes, rather than pathlib's `expected str, bytes or os.PathLike object`."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"expected the {what} to read as a str or pathlib.Path, got {value!r} ({type(value).__name__})."
        )
    return Path(value)


__all__ = ["_as_path", "_multiarray", "_numeric"]
