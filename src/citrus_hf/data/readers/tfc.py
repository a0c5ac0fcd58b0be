"""TF-C benchmark files (``train.pt`` / ``val.pt`` / ``test.pt``: a dict of ``samples`` and ``labels``):
:func:`load_tfc_split`.

They are torch pickles, so they are loaded with ``torch.load(weights_only=True)`` and only the numpy globals their
arrays need (they cannot run code), and memory-mapped, so that large sets (SleepEEG) are not copied into RAM.
"""

from __future__ import annotations

import pickle
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, UnsafePickleError
from ._common import _as_path, _multiarray


def _torch_numpy_allowlist() -> list:
    """numpy globals that ``torch.load(weights_only=True)`` must accept for TF-C files saved with numpy arrays."""
    allow = [
        (_multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
        (_multiarray._reconstruct, "numpy._core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
    ]
    allow += [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith("DType")]
    return allow


def load_tfc_split(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Load a TF-C benchmark file (``train.pt`` / ``val.pt`` / ``test.pt``).

    The file is a dict with ``samples`` ``(N, C, T)`` and ``labels`` ``(N,)`` (torch tensors or numpy arrays). It
    is loaded with ``torch.load(weights_only=True)`` (plus numpy arrays), so it cannot run code, and memory-mapped
    when saved in torch's zip format, so SleepEEG's 371k windows are not copied into RAM. ``(N, T)`` samples become
    ``(N, 1, T)``; channels-last ``(N, T, C)`` samples (C > T is impossible for these sets) are transposed, as
    TF-C's own loader does.

    Returns:
        ``(samples (N, C, T), labels (N,) int64)``; ``samples`` keeps the file's dtype and may be a memory-mapped
        view: cast the rows you use (``samples[i].astype(np.float32)``).

    Raises:
        UnsafePickleError: the file refers to anything but tensors / numpy arrays.
        CorruptFileError: not a torch file, or not in the TF-C layout.
    """
    import torch

    path = _as_path(path)
    try:
        with torch.serialization.safe_globals(_torch_numpy_allowlist()):
            try:
                content = torch.load(path, weights_only=True, map_location="cpu", mmap=True)
            except RuntimeError as error:
                if "mmap" not in str(error):
                    raise
                # Files in torch's legacy (pre-1.6) format cannot be memory-mapped.
                content = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as error:
        # torch reports a forbidden global ("unsupported GLOBAL posix.system") and a garbled stream the same way.
        refused = [line.strip() for line in str(error).splitlines() if "GLOBAL" in line]
        if refused:
            raise UnsafePickleError(
                f"Unsafe pickle {path}: torch.load(weights_only=True) refused it ({refused[0][:300]}). TF-C files "
                "hold only tensors / numpy arrays; this one refers to other objects. Refusing to load it."
            ) from _file_released(error)
        raise CorruptFileError(
            f"{path} is not a readable torch file (the pickle stream is invalid)."
        ) from _file_released(error)
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CorruptFileError(
            f"{path} is not a readable torch file ({type(error).__name__}: {error})."
        ) from _file_released(error)
    arrays = _tfc_arrays(content, path)
    # Raised here, with no frame left holding the file's tensors: `content` and its arrays are memory-mapped, and an
    # error raised while a frame of its traceback references them (IPython keeps the last error) kept the file mapped,
    # so that on Windows the user could neither delete nor replace the file the error tells them to re-download.
    del content
    if isinstance(arrays, str):
        raise CorruptFileError(arrays)
    return arrays


def _file_released(error: BaseException) -> BaseException:
    """`error` (torch's, the cause of the error `load_tfc_split` raises) with the variables of the frames of its
    traceback, and of the errors it was raised from or while handling, cleared: torch.load's frames hold the memory map
    of the whole file, which the error would keep (see `load_tfc_split`). The tracebacks, the lines run, stay."""
    seen: set[int] = set()
    chained: BaseException | None = error
    while chained is not None and id(chained) not in seen:
        seen.add(id(chained))
        traceback.clear_frames(chained.__traceback__)
        chained = chained.__cause__ or chained.__context__
    return error


def _tfc_arrays(content: Any, path: Path) -> tuple[np.ndarray, np.ndarray] | str:
    """`(samples (N, C, T), labels (N,) int64)` of a loaded TF-C file (see `load_tfc_split`), or what is wrong with
    it, for the caller to raise once it has let go of `content`."""
    import torch

    if not isinstance(content, dict) or "samples" not in content or "labels" not in content:
        keys = sorted(content) if isinstance(content, dict) else type(content).__name__
        return f"{path} is not in the TF-C layout: expected a dict with 'samples' and 'labels', got {keys}."
    samples, labels = content["samples"], content["labels"]
    samples = samples.numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
    labels = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if samples.ndim == 2:
        samples = samples[:, None, :]
    if samples.ndim != 3:
        return f"{path}: 'samples' has shape {samples.shape}; expected (N, C, T) or (N, T)."
    if samples.shape[1] > samples.shape[2]:
        samples = samples.transpose(0, 2, 1)
    labels = labels.reshape(-1)
    if labels.shape[0] != samples.shape[0]:
        return f"{path}: {samples.shape[0]} samples but {labels.shape[0]} labels."
    if labels.size and not np.all(np.mod(labels, 1) == 0):
        return f"{path}: labels are not whole numbers ({labels[:5]}...)."
    return samples, labels.astype(np.int64)
