"""numpy arrays from ``.npy`` / ``.npz`` files and numpy pickles: :func:`load_pickle`, :func:`load_npy`,
:func:`load_npz`.

Some corpora ship their recordings as pickled numpy arrays (spkit's pickles, seglearn's ``watch_dataset.npy``, an
object array pickled inside a ``.npy``). Python's unpickler calls whatever a pickle names, so :func:`load_pickle` uses
an unpickler that rebuilds numpy arrays, dicts and lists and refuses every other global (and arrays forged over raw
bytes from the file); :func:`load_npy` hands an object ``.npy``'s payload to it instead of
``np.load(allow_pickle=True)``, and :func:`load_npz` accepts no pickles at all.
"""

from __future__ import annotations

import _codecs
import _compat_pickle
import io
import math
import pickle
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, UnsafePickleError
from ._common import _as_path, _multiarray, _numeric


class _ArrayTypeToken:
    """What the unpickler hands out for the global ``numpy.ndarray``.

    A numpy array pickle names ``numpy.ndarray`` only as the first argument of ``_reconstruct``; called directly,
    ``ndarray(shape, dtype, buffer)`` builds an array over bytes taken from the file, and with an object dtype those
    bytes become the element pointers (touching one crashes the interpreter). This token is accepted where numpy's own
    reconstruction expects the type and refused everywhere else.
    """

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError(
            "the pickle calls numpy.ndarray directly to build an array over raw bytes from the file (a forged array: "
            "numpy's own pickles never do this); refusing to load it."
        )


_ARRAY_TYPE = _ArrayTypeToken()


def _reconstruct(array_type, shape, typecode):
    """numpy's ``_reconstruct`` (an empty array the pickle then fills with ``__setstate__``), for ndarray only."""
    if array_type is not _ARRAY_TYPE:
        raise UnsafePickleError(f"numpy's _reconstruct was asked for {array_type!r}; only numpy.ndarray is accepted.")
    return _multiarray._reconstruct(np.ndarray, shape, typecode)


def _frombuffer(buffer, dtype, shape, order):
    """numpy's protocol-5 array rebuild, refused for dtypes holding Python objects (their bytes would be pointers)."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError(f"the pickle builds an array of dtype {dtype!r} from raw bytes; refusing to load it.")
    return _numeric._frombuffer(buffer, dtype, shape, order)


def _scalar(dtype, *args):
    """numpy's scalar rebuild, refused for dtypes holding Python objects."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError(f"the pickle builds a numpy scalar of dtype {dtype!r}; refusing to load it.")
    return _multiarray.scalar(dtype, *args)


# Everything a pickle of numpy arrays inside dicts / lists / tuples can refer to. ``_codecs.encode`` is how
# protocol-2 pickles (Python 2 era, e.g. seglearn's watch_dataset.npy) spell a bytes literal; it only encodes text.
# ``_frombuffer`` is how protocol-5 pickles rebuild an array from its bytes. numpy's own functions are wrapped so
# that none of them can build an object array over bytes from the file.
_SAFE_GLOBALS = {
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy", "ndarray"): _ARRAY_TYPE,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("_codecs", "encode"): _codecs.encode,
}


def _check_array_state(state) -> None:
    """``ndarray.__setstate__``'s argument: ``([version,] shape, dtype, is_fortran, data)``. Object arrays must come
    as a list of objects (numpy pickles them so); any other dtype as bytes."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise UnsafePickleError(f"the pickle sets an array's state to {type(state).__name__}, not numpy's layout.")
    dtype, data = state[-3], state[-1]
    if not isinstance(dtype, np.dtype):
        raise UnsafePickleError(f"the pickle gives an array the dtype {dtype!r}, which is not a numpy dtype.")
    if dtype.hasobject and not isinstance(data, list):
        raise UnsafePickleError(f"the pickle fills an array of dtype {dtype} from raw bytes; refusing to load it.")


def _check_dtype_state(dtype: np.dtype, state) -> None:
    """``dtype.__setstate__``'s argument. It can set the dtype's flags, and flags that deny a field of Python objects
    let raw bytes through as pointers; only plain dtypes (no fields, no sub-array) are accepted, with the flags numpy
    itself gives them."""
    if not isinstance(state, tuple) or len(state) < 8:
        raise UnsafePickleError(f"the pickle sets a dtype's state to {state!r}, not numpy's layout.")
    subarray, names, fields = state[2], state[3], state[4]
    if subarray is not None or names is not None or fields is not None:
        raise UnsafePickleError(
            f"the pickle builds a structured or sub-array dtype from {dtype!r}; only plain dtypes are accepted (save "
            "structured arrays as .npy / .npz)."
        )


class _NumpyOnlyUnpickler(pickle._Unpickler):
    """An unpickler that can rebuild numpy arrays, dicts and lists, and refuses every other global.

    It is Python's pure-Python unpickler (as fast here: these pickles are a few large byte strings) because its
    ``BUILD`` step, where numpy arrays and dtypes receive their state, must be checked too: the C unpickler offers no
    hook there.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, name: str):
        super().__init__(file, encoding="latin1")
        self._name = name

    def find_class(self, module: str, name: str):
        if self.proto < 3:  # Python 2 names (``__builtin__.list``), as pickle's own find_class maps them
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"Unsafe pickle {self._name}: it refers to {module}.{name}, which is not a numpy array or a plain "
                "container, and loading it could run arbitrary code. Refusing to load it. Only numpy arrays in "
                "dicts / lists are accepted; if you trust the file, convert it to .npy / .npz."
            ) from None

    def persistent_load(self, pid):
        raise UnsafePickleError(f"Unsafe pickle {self._name}: it uses persistent ids ({pid!r}); refusing to load it.")

    def load_build(self):
        state, target = self.stack[-1], self.stack[-2]
        if type(target) is np.ndarray:
            _check_array_state(state)
        elif isinstance(target, np.dtype):
            _check_dtype_state(target, state)
        else:
            raise UnsafePickleError(
                f"the pickle sets the state of a {type(target).__name__}; only numpy arrays and dtypes are accepted."
            )
        super().load_build()
        if isinstance(target, np.dtype) and target.flags != np.dtype(target.str).flags:
            raise UnsafePickleError(
                f"the pickle gives dtype {target} the flags {target.flags}, not numpy's; refusing it."
            )

    dispatch[pickle.BUILD[0]] = load_build


def load_pickle(path: str | Path, data: bytes | None = None):
    """Load a pickle that may only contain numpy arrays, dicts, lists, tuples and plain Python values.

    Only call this on files whose checksum was verified (the offline archives are): the restricted unpickler is a
    second line of defence, not a licence to open untrusted pickles.

    Args:
        path: the file (also used to name it in errors).
        data: its bytes, when already read.

    Raises:
        UnsafePickleError: the pickle refers to anything else (e.g. ``os.system``).
        CorruptFileError: the bytes are not a valid pickle.
    """
    path = _as_path(path)
    raw = path.read_bytes() if data is None else data
    try:
        return _NumpyOnlyUnpickler(io.BytesIO(raw), str(path)).load()
    except UnsafePickleError as error:
        if str(error).startswith("Unsafe pickle"):
            raise
        raise UnsafePickleError(f"Unsafe pickle {path}: {error}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise CorruptFileError(f"{path} is not a valid pickle ({type(error).__name__}: {error}).") from error


def load_npy(path: str | Path, mapped: bool = False) -> np.ndarray:
    """Load a ``.npy`` file. Object arrays (pickled inside the .npy) go through :func:`load_pickle`'s checks.

    ``np.load(allow_pickle=True)`` would unpickle anything, so the header is parsed here and the pickled payload is
    handed to the restricted unpickler instead. `mapped`: an array of numbers comes as a read-only `np.memmap` of the
    file (nothing read until used), for a caller that copies out what it needs, e.g. some channels of a long recording.

    Raises:
        FileNotFoundError: no file at `path`. CorruptFileError: not a .npy file, or one cut short.
    """
    path = _as_path(path)
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            # (the Fortran-order flag matters to neither branch: `np.load` reads it itself, and a pickled object array
            # keeps its own layout)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
            if not dtype.hasobject:
                # before numpy allocates what the header declares (a flipped digit: 10^12 samples in a 64-byte file
                # raised numpy's MemoryError, which no caller takes for a damaged file)
                declared = math.prod(shape) * dtype.itemsize
                held = path.stat().st_size - handle.tell()
                if declared > held:
                    raise CorruptFileError(
                        f"{path} is not a valid .npy file: its header declares shape {shape} of {dtype} ({declared} "
                        f"bytes), and the file holds {held} bytes after it (cut short, or a damaged header)."
                    )
                return np.load(path, mmap_mode="r" if mapped else None, allow_pickle=False)
            payload = handle.read()
    except FileNotFoundError:  # an OSError, but a mistyped path is not a damaged file to re-download
        raise FileNotFoundError(f"{path} does not exist; check the path.") from None
    except (ValueError, OSError, EOFError) as error:
        raise CorruptFileError(f"{path} is not a valid .npy file ({error}).") from error
    value = load_pickle(path, payload)
    _check_unpickled_size(path, value, len(payload))
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == object:
        return value
    return np.asarray(value)


def _check_unpickled_size(path: Path, value, payload_bytes: int) -> None:
    """Refuse an unpickled object payload that holds more values than its bytes could: every value a pickle spells
    out costs at least a byte, but a reference to a list it already built costs two, so 479 bytes of nested lists,
    each ten references to the one below, make 10^12 values, and `np.asarray` grew until memory ran out. Counted
    without building anything, stopping as soon as the count passes `payload_bytes`."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        count += 1
        if count > payload_bytes:
            raise CorruptFileError(
                f"{path} is not a recording: its pickled payload of {payload_bytes} bytes refers to more values than "
                "it holds (the same lists referred to again and again); save the signal as a float array "
                "(`np.save(path, np.asarray(signal, dtype=np.float32))`)."
            )
        if isinstance(item, np.ndarray):
            if item.dtype.hasobject:
                stack.extend(item.flat)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Load every array of a ``.npz`` file (no pickles allowed)."""
    import zipfile

    path = _as_path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy under a .npz name loads as one array
            raise CorruptFileError(f"{path} holds one array (.npy content), not the archive of arrays a .npz is.")
        with loaded as archive:
            return {key: archive[key] for key in archive.files}
    except CorruptFileError:
        raise
    except ValueError as error:
        raise CorruptFileError(f"{path} holds pickled objects or is not a valid .npz ({error}).") from error
    except (OSError, EOFError, zipfile.BadZipFile) as error:  # a truncated or damaged archive (bad CRC)
        raise CorruptFileError(f"{path} is not a valid .npz file ({error}); re-download it.") from error
