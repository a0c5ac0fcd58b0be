"""Readers for the real formats bio-signals come in.

Each reader returns numpy arrays shaped ``(channels, time)`` plus the sampling rate, and turns the errors of the
underlying library into a :class:`~citrus_hf.data.errors.CitrusDataError` that names the file and the fix. Readers are
generic: what a corpus's files mean (labels, units, splits) is decided in its module in :mod:`citrus_hf.data.sources`.

* EDF / EDF+ (and BDF): :func:`read_edf` through MNE, after a header check that catches truncated files (MNE
  silently reads a truncated EDF as a shorter recording); annotations through :func:`read_edf_annotations`.
* OpenSignals HDF5 (biosignalsplux): :func:`read_opensignals_h5` (raw ADC counts; each sensor's transfer function
  lives with its corpus in :mod:`citrus_hf.data.sources`).
* WFDB: :func:`read_wfdb` through ``wfdb``.
* TF-C ``.pt``: :func:`load_tfc_split` through ``torch.load(weights_only=True)``.
* ARFF (UEA), CSV, ``.npy`` / ``.npz`` and numpy pickles (:func:`load_pickle`, restricted to numpy arrays).
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------- safe pickles
import _codecs
import _compat_pickle
import collections
import csv
import datetime
import io
import json
import logging
import math
import os
import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._extras import require
from .errors import CitrusDataError, CorruptFileError, UnsafePickleError

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.26
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric


logger = logging.getLogger(__name__)

# The label of an EDF+ file's annotation channel, which holds no samples.
_EDF_ANNOTATIONS = "EDF Annotations"


def _as_path(value, what: str = "file") -> Path:
    """`value` as a `Path`; anything else (None from an unset option, an open file) is refused with what a reader
    takes, rather than pathlib's `expected str, bytes or os.PathLike object`."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"expected the {what} to read as a str or pathlib.Path, got {value!r} ({type(value).__name__})."
        )
    return Path(value)


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


def load_npy(path: str | Path) -> np.ndarray:
    """Load a ``.npy`` file. Object arrays (pickled inside the .npy) go through :func:`load_pickle`'s checks.

    ``np.load(allow_pickle=True)`` would unpickle anything, so the header is parsed here and the pickled payload is
    handed to the restricted unpickler instead.
    """
    path = _as_path(path)
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            if not dtype.hasobject:
                return np.load(path, allow_pickle=False)
            payload = handle.read()
    except (ValueError, OSError, EOFError) as error:
        raise CorruptFileError(f"{path} is not a valid .npy file ({error}).") from error
    value = load_pickle(path, payload)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == object:
        return value
    return np.asarray(value)


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


# --------------------------------------------------------------------------------------------- EDF / EDF+


@dataclass
class EdfHeader:
    """The fields of an EDF / BDF header that decide the file's size and each signal's rate."""

    n_records: int
    record_seconds: float
    labels: list[str]
    samples_per_record: list[int]
    bytes_per_sample: int
    header_bytes: int
    start: datetime.datetime | None = None
    # (physical min, physical max, digital min, digital max) per signal: a sample is scaled by their spans
    ranges: list[tuple[float, float, float, float]] | None = None

    def signal_names(self) -> dict[str, int]:
        """Name -> position in the header of every ordinary signal (not the "EDF Annotations" channel), in file
        order. A signal's name is its label; where the file gives one label to several signals (EDF allows it), they
        are told apart by their occurrence in file order, as MNE does: two signals labelled "EEG" are "EEG-0" and
        "EEG-1" (a suffix another signal's label already has is skipped)."""
        signals = [(index, label) for index, label in enumerate(self.labels) if label != _EDF_ANNOTATIONS]
        counts = collections.Counter(label for _, label in signals)
        taken, occurrences, names = set(counts), collections.Counter(), {}
        for index, label in signals:
            name = label
            while counts[label] > 1 and (name == label or name in taken):
                name = f"{label}-{occurrences[label]}"
                occurrences[label] += 1
            taken.add(name)
            names[name] = index
        return names

    def position(self, path: Path, name: str) -> int:
        """The header position of the signal `name` (its label, or the name `signal_names` gives a repeated label).

        Raises:
            CorruptFileError: no such signal, or a label the file gives several signals (naming theirs).
        """
        names = self.signal_names()
        if name in names:
            return names[name]
        if name in self.labels and name != _EDF_ANNOTATIONS:
            repeated = [other for other, index in names.items() if self.labels[index] == name]
            raise CorruptFileError(
                f"{path} has {len(repeated)} signals labelled {name!r}, read as {repeated} (in file order); name the "
                "one(s) you want by those names."
            )
        raise CorruptFileError(f"{path} has no channel {name!r}; it has {list(names)}.")

    def sampling_rate(self, label: str) -> float:
        """Native rate of signal ``label`` in Hz (a name `signal_names` gives, for a repeated label)."""
        names = self.signal_names()
        index = names[label] if label in names else self.labels.index(label)
        return self.samples_per_record[index] / self.record_seconds

    def check_readable(self, path: Path, labels: Sequence[str]) -> None:
        """Refuse signals `labels` (names from `signal_names`) a reader would turn into silent nonsense: no samples
        per record (a rate of 0 Hz) or an empty physical or digital range (a division by zero when scaling to physical
        units). Checked for the signals read only: a flat marker channel elsewhere in a file must not stop it from
        being read."""
        for label in labels:
            index = self.position(path, label)
            if self.samples_per_record[index] <= 0:
                raise CorruptFileError(
                    f"{path}: signal {label!r} declares {self.samples_per_record[index]} samples per data record, so "
                    "it has no sampling rate; the header is corrupt. Re-download or re-export it."
                )
            if self.ranges is not None:
                physical_min, physical_max, digital_min, digital_max = self.ranges[index]
                if physical_min == physical_max or digital_min == digital_max:
                    raise CorruptFileError(
                        f"{path}: signal {label!r} has an empty physical ({physical_min} to {physical_max}) or digital "
                        f"({digital_min} to {digital_max}) range, so its samples cannot be scaled to physical units; "
                        "the header is corrupt. Re-download or re-export it."
                    )


def read_edf_header(path: str | Path) -> EdfHeader:
    """Parse and check an EDF / EDF+ / BDF header, and check the file holds every data record it declares.

    Raises:
        CorruptFileError: not an EDF file, a malformed header, or a truncated file (naming the missing bytes).
    """
    path = _as_path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            fixed = handle.read(256)
            if len(fixed) < 256:
                raise ValueError(f"only {len(fixed)} bytes, shorter than the 256-byte EDF header")
            version = fixed[:8]
            if version == b"\xffBIOSEMI":
                bytes_per_sample = 3
            elif version.strip() == b"0":
                bytes_per_sample = 2
            else:
                raise ValueError(f"version field {version!r} is neither EDF ('0') nor BDF")
            header_bytes = int(fixed[184:192].decode("ascii"))
            n_records = int(fixed[236:244].decode("ascii"))
            record_seconds = float(fixed[244:252].decode("ascii"))
            n_signals = int(fixed[252:256].decode("ascii"))
            if n_signals < 0 or header_bytes != 256 * (n_signals + 1):
                raise ValueError(f"header size {header_bytes} does not match {n_signals} signals")
            signal_header = handle.read(256 * n_signals)
            if len(signal_header) < 256 * n_signals:
                raise ValueError("the signal headers are cut off")
    except (ValueError, UnicodeDecodeError) as error:
        raise CorruptFileError(f"{path} is not a valid EDF/BDF file: {error}. Re-download or re-export it.") from error

    def field_values(offset: int, width: int) -> list[str]:
        start = offset * n_signals
        return [
            signal_header[start + i * width : start + (i + 1) * width].decode("latin-1").strip()
            for i in range(n_signals)
        ]

    labels = field_values(0, 16)
    start = _edf_start(fixed[168:176], fixed[176:184])
    try:
        # Field offsets in units of n_signals: label 16, transducer 80, dimension 8, 4 x 8 min/max, prefilter 80.
        samples_per_record = [int(value) for value in field_values(16 + 80 + 8 + 8 * 4 + 80, 8)]
    except ValueError as error:
        raise CorruptFileError(f"{path} has a malformed samples-per-record field ({error}).") from error
    if n_records < -1 or any(count < 0 for count in samples_per_record):  # -1 records: "still recording"
        raise CorruptFileError(
            f"{path} declares {n_records} data records of {samples_per_record} samples per signal; the header is "
            "corrupt. Re-download or re-export it."
        )
    ranges = _edf_ranges(path, field_values)
    signals_per_record = sum(n for label, n in zip(labels, samples_per_record) if label != _EDF_ANNOTATIONS)
    # EDF+ allows a duration of 0 for files of annotations only (no samples, hence no rate); otherwise every rate
    # is samples per record / duration.
    if not (
        math.isfinite(record_seconds) and (record_seconds > 0 or (record_seconds == 0 and signals_per_record == 0))
    ):
        raise CorruptFileError(
            f"{path} declares a data record duration of {record_seconds} s, so its signals have no sampling rate "
            "(samples per record / duration); the header is corrupt. Re-download or re-export it."
        )
    header = EdfHeader(
        n_records, record_seconds, labels, samples_per_record, bytes_per_sample, header_bytes, start, ranges
    )
    # -1 records means "still recording"; readers infer the count from the size, so there is nothing to compare.
    if n_records >= 0:
        expected = header_bytes + n_records * sum(samples_per_record) * bytes_per_sample
        if size < expected:
            raise CorruptFileError(
                f"{path} is truncated: its header declares {n_records} data records ({expected} bytes in all) but the "
                f"file holds {size} bytes ({expected - size} missing). Re-download or re-export it."
            )
    return header


def _edf_ranges(path: Path, field_values) -> list[tuple[float, float, float, float]]:
    """Each signal's physical min / max and digital min / max (field offsets in units of n_signals: label 16,
    transducer 80, dimension 8, then the four ranges, 8 each)."""
    try:
        columns = [[float(value) for value in field_values(16 + 80 + 8 + 8 * k, 8)] for k in range(4)]
    except ValueError as error:
        raise CorruptFileError(f"{path} has a malformed physical or digital range field ({error}).") from error
    return list(zip(*columns))


def _edf_start(date: bytes, time: bytes) -> datetime.datetime | None:
    """Start of an EDF recording from its ``dd.mm.yy`` / ``hh.mm.ss`` fields (years 85-99 are 19xx, per the spec)."""
    try:
        day, month, year = (int(part) for part in date.decode("ascii").split("."))
        hour, minute, second = (int(part) for part in time.decode("ascii").split("."))
        return datetime.datetime(year + (1900 if year >= 85 else 2000), month, day, hour, minute, second)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class Annotation:
    """One EDF+ annotation (onset and duration in seconds from the file's start)."""

    onset: float
    duration: float
    description: str


@dataclass
class Recording:
    """Signals of one recording.

    Attributes:
        data: ``(channels, time)`` float64, in each channel's physical unit as written in the file (e.g. µV).
        sampling_rate: Hz.
        channel_names: one per row of ``data``.
        units: one per row of ``data``.
        annotations: EDF+ annotations, if any.
        start: start of the recording from the EDF header (naive datetime), or None.
    """

    data: np.ndarray
    sampling_rate: float
    channel_names: list[str]
    units: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    start: datetime.datetime | None = None


# MNE scales voltage channels to volts; these factors give back the unit written in the file.
_TO_FILE_UNIT = {"uv": 1e6, "µv": 1e6, "μv": 1e6, "mv": 1e3, "nv": 1e9, "v": 1.0}


def read_edf(path: str | Path, channels: Sequence[str] | None = None) -> Recording:
    """Read an EDF / EDF+ / BDF file with MNE.

    Args:
        path: the file.
        channels: labels to read (all ordinary signals when None). They must share one sampling rate: MNE would
            otherwise resample the slower ones. Signals that share a label are named by their occurrence in file
            order ("EEG-0", "EEG-1"; see `EdfHeader.signal_names`), which is what `Recording.channel_names` holds.

    Returns:
        A :class:`Recording` with ``data`` in the units written in the file (µV for EEG in µV) and the EDF+
        annotations.

    Raises:
        CorruptFileError: truncated or malformed file, unknown channel, or mixed rates among ``channels``.
    """
    import mne

    path = _as_path(path)
    header = read_edf_header(path)
    if isinstance(channels, str):
        raise TypeError(
            f"`channels` must be a list of channel names, got the string {channels!r}; pass [{channels!r}]."
        )
    names = header.signal_names()
    wanted = list(channels) if channels is not None else list(names)
    unknown = [name for name in wanted if name not in names and name not in header.labels]
    if unknown:
        raise CorruptFileError(f"{path} has no channel(s) {unknown}; it has {list(names)}.")
    positions = [header.position(path, name) for name in wanted]
    header.check_readable(path, wanted)
    # MNE picks signals by label: every signal with a label read is read, in file order (those of a repeated label
    # too, and they share the rate MNE reads at)
    labels = {header.labels[index] for index in positions}
    read = [index for index in names.values() if header.labels[index] in labels]
    rates = {name: header.sampling_rate(name) for name in wanted}
    if len(set(rates.values())) > 1:
        raise CorruptFileError(
            f"Channels {wanted} of {path} have different sampling rates {rates}; read each rate separately."
        )
    siblings = {name: header.sampling_rate(name) for name, index in names.items() if index in read}
    if len(set(siblings.values())) > 1:
        raise CorruptFileError(
            f"Signals {list(siblings)} of {path} share a label but not a sampling rate ({siblings}): MNE reads every "
            "signal of a label at once, resampled to the highest rate, so they cannot be read apart. Read the file "
            "with pyedflib (`pyedflib.EdfReader(path).readSignal(position)`), or relabel it."
        )
    if len(read) > len(labels):
        repeated = sorted({header.labels[index] for index in read if header.labels.count(header.labels[index]) > 1})
        logger.warning(
            f"{path} gives the label(s) {repeated} to several signals; they are told apart by their place in the file: "
            f"{[name for name, index in names.items() if header.labels[index] in repeated]}."
        )
    try:
        with warnings.catch_warnings():
            # MNE warns about unit conventions and channel name clashes that do not affect the values read here.
            warnings.simplefilter("ignore", RuntimeWarning)
            raw = mne.io.read_raw_edf(path, include=sorted(labels), preload=True, verbose="error")
    except Exception as error:  # MNE raises ValueError, AssertionError, IndexError... on malformed files
        raise CorruptFileError(
            f"MNE could not read {path} ({type(error).__name__}: {error}). The file is corrupt or not EDF/EDF+; "
            "re-download or re-export it."
        ) from error
    if len(raw.ch_names) != len(read):
        raise CorruptFileError(
            f"MNE read {len(raw.ch_names)} signals of {path} where its header has {len(read)} labelled {sorted(labels)}; "
            "the file is corrupt or not EDF/EDF+. Re-download or re-export it."
        )
    order = [read.index(index) for index in positions]  # MNE's rows are the signals read, in file order
    data = raw.get_data()[order]
    original_units = getattr(raw, "_orig_units", {}) or {}
    units = [original_units.get(raw.ch_names[row], "") for row in order]
    scale = np.array([_TO_FILE_UNIT.get(unit.lower(), 1.0) for unit in units])[:, None]
    annotations = [
        Annotation(float(onset), float(duration), str(description))
        for onset, duration, description in zip(
            raw.annotations.onset, raw.annotations.duration, raw.annotations.description
        )
    ]
    return Recording(
        data=data * scale,
        sampling_rate=float(raw.info["sfreq"]),
        channel_names=wanted,
        units=units,
        annotations=annotations,
        start=header.start,
    )


def read_edf_annotations(path: str | Path) -> tuple[list[Annotation], datetime.datetime | None]:
    """EDF+ annotations of a file (e.g. a Sleep-EDF hypnogram) and the file's start (naive datetime, header time).

    Raises:
        CorruptFileError: truncated or malformed file.
    """
    import mne

    path = _as_path(path)
    header = read_edf_header(path)
    try:
        annotations = mne.read_annotations(path)
    except Exception as error:
        raise CorruptFileError(
            f"MNE could not read the annotations of {path} ({type(error).__name__}: {error}); re-download it."
        ) from error
    items = [
        Annotation(float(onset), float(duration), str(description))
        for onset, duration, description in zip(annotations.onset, annotations.duration, annotations.description)
    ]
    return items, header.start


# --------------------------------------------------------------------------------------------- OpenSignals HDF5


# OpenSignals sensor types of body signals other than EEG -> modality: PLUX's (an HDF5 file's "_info.json" "Signal
# Type") and BITalino's (a text file's header "sensor"). Other sensors (microphone, light, force platform, goniometer,
# BITalino's unconnected "RAW" inputs) are not body signals.
OPENSIGNALS_BODY_SIGNALS: dict[str, str] = {
    "ECG": "ECG",
    "ECGBIT": "ECG",
    "BVP": "PPG",
    "fSpO2": "PPG",  # finger SpO2 sensor: red and infrared photoplethysmograms
    "hSpO2": "PPG",
    "EDA": "EDA",
    "EDABITREV": "EDA",
    "EMG": "EMG",
    "RESPIRATION": "RESP",
    "RESPBIT": "RESP",
    "XYZ": "ACC",
    "cACC": "ACC",
}


@dataclass
class OpenSignalsRecording:
    """One OpenSignals (biosignalsplux / BITalino) recording, from an HDF5 or a text file.

    Attributes:
        sampling_rate: Hz (one rate per file).
        channels: {"channel_N" (prefixed with the device when several): raw ADC counts, 1-D}.
        resolution: {channel: ADC bits}.
        signal_types: {channel: "EEG", "MICRO", ...} from the companion ``_info.json`` (empty without one).
    """

    sampling_rate: float
    channels: dict[str, np.ndarray]
    resolution: dict[str, int]
    signal_types: dict[str, str]

    def body_signals(
        self, path: str | Path, keep: Sequence[str] | None = None
    ) -> tuple[list[str], np.ndarray, tuple[str, ...]]:
        """The channels whose sensor is a body signal (`OPENSIGNALS_BODY_SIGNALS`), only those in `keep` when given:
        their names, their raw ADC counts `(channels, time)` float64 and their modalities.

        Raises:
            CitrusDataError: no such channel in the recording read from `path`.
        """
        names = [
            name
            for name, kind in self.signal_types.items()
            if kind in OPENSIGNALS_BODY_SIGNALS and (keep is None or name in keep)
        ]
        if not names:
            raise CitrusDataError(f"{path} has no body-signal channel among {self.signal_types}.")
        data = np.stack([self.channels[name].astype(np.float64) for name in names])
        return names, data, tuple(OPENSIGNALS_BODY_SIGNALS[self.signal_types[name]] for name in names)


# What BITalino writes before the analog channels' resolutions: the sequence number and its four digital ports.
_BITALINO_LEADING_RESOLUTIONS = (4, 1, 1, 1, 1)


def read_opensignals_h5(path: str | Path, info_json: str | Path | None = None) -> OpenSignalsRecording:
    """Read an OpenSignals HDF5 file (``f[device]['raw']['channel_N']``, rate in ``f[device].attrs``).

    Args:
        path: the ``.h5`` file.
        info_json: the companion ``<name>_info.json`` whose "Signal Type" lists each channel's signal type in
            channel order (a single type applies to every channel).

    Raises:
        CorruptFileError: not HDF5, no OpenSignals device group, or signal types that do not match the channels.
    """
    import h5py

    path = _as_path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise CorruptFileError(f"{path} is not a readable HDF5 file ({error}).") from error
    with handle:
        devices = [key for key in handle if isinstance(handle[key], h5py.Group) and "raw" in handle[key]]
        if not devices:
            raise CorruptFileError(f"{path} has no OpenSignals device group (expected f[device]['raw']).")
        for device in devices:
            absent = [name for name in ("sampling rate", "channels", "resolution") if name not in handle[device].attrs]
            if absent:
                raise CorruptFileError(
                    f"{path}: device group {device!r} lacks the OpenSignals attribute(s) {absent} (it has "
                    f"{sorted(handle[device].attrs)}); the file is not a complete OpenSignals recording. Re-export it "
                    "from OpenSignals."
                )
        rates = {float(handle[device].attrs["sampling rate"]) for device in devices}
        if not all(math.isfinite(rate) and rate > 0 for rate in rates):
            raise CorruptFileError(f"{path} declares the sampling rate(s) {sorted(rates)} Hz; a rate must be positive.")
        if len(rates) != 1:
            raise CorruptFileError(f"{path} mixes sampling rates {sorted(rates)} across devices.")
        channels: dict[str, np.ndarray] = {}
        resolution: dict[str, int] = {}
        for device in devices:
            group = handle[device]
            numbers = [int(n) for n in np.atleast_1d(group.attrs["channels"])]
            bits = [int(b) for b in np.atleast_1d(group.attrs["resolution"])]
            leading = len(_BITALINO_LEADING_RESOLUTIONS)
            if len(bits) == len(numbers) + leading and tuple(bits[:leading]) == _BITALINO_LEADING_RESOLUTIONS:
                # BITalino lists the resolutions of its sequence number and four digital ports (4, 1, 1, 1, 1 bits)
                # before those of the analog channels `channels` names (a 10-bit channel read 437-664 in
                # biosignalsnotebooks' bvp_motion_artifact.h5, where pairing in order gave it the sequence's 4)
                bits = bits[leading:]
            if len(bits) != len(numbers):  # zip would drop the channels without a resolution
                raise CorruptFileError(
                    f"{path}: device {device!r} lists channels {numbers} but resolutions {bits}, one per channel "
                    "expected; the file is not a complete OpenSignals recording. Re-export it from OpenSignals."
                )
            for number, resolution_bits in zip(numbers, bits, strict=True):
                key = f"channel_{number}" if len(devices) == 1 else f"{device}/channel_{number}"
                if f"channel_{number}" not in group["raw"]:
                    raise CorruptFileError(
                        f"{path}: device {device!r} lists channel {number} but has no dataset raw/channel_{number}."
                    )
                channels[key] = np.asarray(group["raw"][f"channel_{number}"][:]).reshape(-1)
                resolution[key] = resolution_bits
    signal_types: dict[str, str] = {}
    if info_json is not None:
        info = json.loads(Path(info_json).read_text())
        types = [kind.strip() for kind in str(info.get("Signal Type", "")).split(",") if kind.strip()]
        if len(types) == len(channels):
            signal_types = dict(zip(channels, types))
        elif len(types) == 1:
            signal_types = dict.fromkeys(channels, types[0])
        else:
            raise CorruptFileError(
                f"{info_json} lists signal types {types} for the {len(channels)} channels {list(channels)} of {path}."
            )
    return OpenSignalsRecording(rates.pop(), channels, resolution, signal_types)


def read_opensignals_txt(path: str | Path) -> OpenSignalsRecording:
    """Read an OpenSignals text file (one device): a JSON header on the second line (``# {device: {...}}``) naming
    the columns, the analog channels' labels, sensors, resolutions and the sampling rate, then tab-separated rows.

    Returns the analog channels by label ("A2", ...) in raw ADC counts, with the header's sensor names as their
    signal types ("ECGBIT", "RESPBIT", ...).

    Raises:
        CorruptFileError: no OpenSignals header, several devices, a header that does not match the rows.
    """
    path = _as_path(path)
    with open(path, encoding="utf-8", errors="replace") as handle:
        first, second = handle.readline(), handle.readline()
    if not first.startswith("# OpenSignals Text File Format") or not second.startswith("# {"):
        raise CorruptFileError(f"{path} is not an OpenSignals text file (no '# OpenSignals Text File Format' header).")
    try:
        devices = json.loads(second[2:])
    except json.JSONDecodeError as error:
        raise CorruptFileError(f"{path}: the OpenSignals header is not valid JSON ({error}).") from error
    if len(devices) != 1:
        raise CorruptFileError(f"{path} holds {len(devices)} devices; only single-device files are read.")
    header = next(iter(devices.values()))
    try:
        columns, labels, sensors = list(header["column"]), list(header["label"]), list(header["sensor"])
        rate, bits = float(header["sampling rate"]), list(header["resolution"])
    except (KeyError, TypeError) as error:
        raise CorruptFileError(f"{path}: the OpenSignals header lacks {error} (it has {sorted(header)}).") from error
    if not (math.isfinite(rate) and rate > 0) or len(labels) != len(sensors) or len(bits) != len(columns):
        raise CorruptFileError(
            f"{path}: inconsistent OpenSignals header (rate {rate}, labels {labels}, sensors {sensors}, "
            f"{len(columns)} columns, {len(bits)} resolutions)."
        )
    missing = [label for label in labels if label not in columns]
    if missing:
        raise CorruptFileError(f"{path}: channel label(s) {missing} are not among the columns {columns}.")
    indices = [columns.index(label) for label in labels]
    values = read_csv_matrix(path, delimiter="\t", skip_header=3, columns=indices)
    channels = {label: values[:, i] for i, label in enumerate(labels)}
    resolution = {label: int(bits[index]) for label, index in zip(labels, indices)}
    return OpenSignalsRecording(rate, channels, resolution, dict(zip(labels, sensors)))


# --------------------------------------------------------------------------------------------- WFDB


@dataclass
class WfdbRecording(Recording):
    """A WFDB record with its annotations (``annotation_samples`` / ``annotation_symbols``)."""

    annotation_samples: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    annotation_symbols: list[str] = field(default_factory=list)


def _check_wfdb_rate(record: Path) -> None:
    """The sampling frequency field of a WFDB header (the third field of its record line, e.g. `360` or `360/30(0)`),
    when present, must be a positive number: wfdb falls back to the format's default of 250 Hz on a field it cannot
    parse, which would read the record at a wrong rate without a word. (A header without the field means 250 Hz.)"""
    header = record.with_name(record.name + ".hea")
    try:
        lines = header.read_text(encoding="latin-1").splitlines()
    except OSError:
        return  # a missing header is wfdb's to report, with the other files of the record
    line = next((line.split() for line in lines if line.strip() and not line.lstrip().startswith("#")), [])
    if len(line) < 3:
        return
    field = line[2].split("/")[0].split("(")[0]
    try:
        rate = float(field)
    except ValueError:
        rate = float("nan")
    if not (math.isfinite(rate) and rate > 0):
        raise CorruptFileError(
            f"WFDB header {header} gives the sampling frequency {line[2]!r}, not a positive number of Hz (wfdb would "
            "read the record at its default of 250 Hz); the header is corrupt. Re-download it."
        )


def _check_wfdb_annotation_end(path: Path) -> None:
    """A WFDB (MIT format) annotation file is a sequence of 2-byte words that ends with the end-of-file word 0x0000.
    wfdb takes the last word for that marker without looking, so a file cut short (an interrupted download or copy)
    gave the annotations before the cut, or none, without a word: beat labels silently lost."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            handle.seek(max(size - 2, 0))
            end = handle.read(2)
    except OSError:
        return  # a missing file is wfdb's to report
    if size % 2 or end != b"\x00\x00":
        raise CorruptFileError(
            f"Annotation file {path} is truncated or damaged: a WFDB annotation file is made of 2-byte words and ends "
            f"with the end marker 0x0000, and this one ({size} bytes) "
            + ("is empty" if size == 0 else "does not")
            + "; the annotations after the cut would be lost. Re-download it with the record."
        )


def read_wfdb(record: str | Path, annotation_extension: str | None = "atr") -> WfdbRecording:
    """Read a WFDB record (``.hea`` + signal files) and optionally its annotations with ``wfdb``.

    Args:
        record: the record path without extension (e.g. ``data/100``).
        annotation_extension: annotation file extension (``atr`` for reference beats), or None.

    Returns:
        Signals ``(channels, time)`` in physical units, the rate, and the annotations' samples and symbols.

    Raises:
        CorruptFileError: missing or malformed header / signal / annotation file, or an annotation file cut short
            (naming it).
    """
    wfdb = require("wfdb", "Reading WFDB records")

    record = _as_path(record, "WFDB record (its path without extension)")
    _check_wfdb_rate(record)
    try:
        rec = wfdb.rdrecord(str(record))
    except FileNotFoundError as error:
        raise CorruptFileError(f"WFDB record {record} is incomplete: {error}.") from error
    except Exception as error:
        raise CorruptFileError(
            f"wfdb could not read record {record} ({type(error).__name__}: {error}); re-download it."
        ) from error
    if rec.p_signal is None:
        raise CorruptFileError(f"WFDB record {record} has no signal data.")
    samples = np.zeros(0, dtype=np.int64)
    symbols: list[str] = []
    if annotation_extension is not None:
        _check_wfdb_annotation_end(record.with_name(f"{record.name}.{annotation_extension}"))
        try:
            ann = wfdb.rdann(str(record), annotation_extension)
        except FileNotFoundError as error:
            raise CorruptFileError(
                f"Annotation file {record}.{annotation_extension} is missing ({error}); download it with the record."
            ) from error
        except Exception as error:
            raise CorruptFileError(
                f"wfdb could not read {record}.{annotation_extension} ({type(error).__name__}: {error})."
            ) from error
        samples = np.asarray(ann.sample, dtype=np.int64)
        symbols = list(ann.symbol)
    data = np.asarray(rec.p_signal, dtype=np.float64).T
    if not np.isfinite(data).all():
        raise CorruptFileError(f"WFDB record {record} holds NaN / inf samples (missing-signal markers).")
    return WfdbRecording(
        data=data,
        sampling_rate=float(rec.fs),
        channel_names=list(rec.sig_name),
        units=list(rec.units),
        annotation_samples=samples,
        annotation_symbols=symbols,
    )


# --------------------------------------------------------------------------------------------- TF-C .pt


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
            ) from error
        raise CorruptFileError(f"{path} is not a readable torch file (the pickle stream is invalid).") from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CorruptFileError(f"{path} is not a readable torch file ({type(error).__name__}: {error}).") from error
    if not isinstance(content, dict) or "samples" not in content or "labels" not in content:
        keys = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise CorruptFileError(
            f"{path} is not in the TF-C layout: expected a dict with 'samples' and 'labels', got {keys}."
        )
    samples, labels = content["samples"], content["labels"]
    samples = samples.numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
    labels = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if samples.ndim == 2:
        samples = samples[:, None, :]
    if samples.ndim != 3:
        raise CorruptFileError(f"{path}: 'samples' has shape {samples.shape}; expected (N, C, T) or (N, T).")
    if samples.shape[1] > samples.shape[2]:
        samples = samples.transpose(0, 2, 1)
    labels = labels.reshape(-1)
    if labels.shape[0] != samples.shape[0]:
        raise CorruptFileError(f"{path}: {samples.shape[0]} samples but {labels.shape[0]} labels.")
    if labels.size and not np.all(np.mod(labels, 1) == 0):
        raise CorruptFileError(f"{path}: labels are not whole numbers ({labels[:5]}...).")
    return samples, labels.astype(np.int64)


# --------------------------------------------------------------------------------------------- ARFF / CSV


def read_uea_arff(path: str | Path) -> tuple[np.ndarray, list[str], list[str]]:
    """Read a multivariate UEA ``.arff`` file (one relational attribute per example, then the class).

    Returns:
        ``(X (N, C, T) float32, labels (N,) as class names, class names in declared order)``.
    """
    from scipy.io import arff

    path = _as_path(path)
    try:
        data, meta = arff.loadarff(str(path))
    except Exception as error:
        raise CorruptFileError(f"scipy could not read ARFF file {path} ({type(error).__name__}: {error}).") from error
    if len(meta.names()) < 2:
        raise CorruptFileError(
            f"{path} declares the attributes {meta.names()}; a multivariate UEA ARFF file needs a relational "
            "attribute (the channels) and a class attribute."
        )
    relational, target = meta.names()[0], meta.names()[-1]
    kind, class_names = meta[target]
    if kind != "nominal" or meta[relational][0] != "relational":
        raise CorruptFileError(f"{path} is not a multivariate UEA ARFF file (attributes {meta.names()}).")
    examples = []
    for row in data[relational]:
        examples.append(np.array([list(channel) for channel in row], dtype=np.float32))
    if len({x.shape for x in examples}) != 1:
        raise CorruptFileError(f"{path}: examples have different shapes {sorted({x.shape for x in examples})}.")
    labels = [value.decode() if isinstance(value, bytes) else str(value) for value in data[target]]
    return np.stack(examples), labels, list(class_names)


def read_csv_matrix(
    path: str | Path, delimiter: str = ",", skip_header: int = 0, columns: Sequence[int] | None = None
) -> np.ndarray:
    """Read a numeric CSV file as ``(rows, columns)`` float64; ``columns`` picks some (e.g. all but a time stamp)."""
    path = _as_path(path)
    try:
        with warnings.catch_warnings():
            # numpy warns "input contained no data" for an empty file; that case is an error below.
            warnings.simplefilter("ignore", UserWarning)
            values = np.loadtxt(path, delimiter=delimiter, skiprows=skip_header, ndmin=2, usecols=columns)
    except ValueError as error:
        raise CorruptFileError(f"{path} is not a numeric CSV file ({error}).") from error
    if values.size == 0:
        raise CorruptFileError(
            f"{path} holds no data rows (after skipping {skip_header} header line(s)); the file is empty or truncated."
        )
    return values


def read_timed_csv(
    path: str | Path, value_column: str, time_column: str | None = None
) -> tuple[np.ndarray, float | None]:
    """Read one numeric column of a CSV with a header, and the sampling rate implied by its time column.

    The time column may hold milliseconds (numbers) or timestamps (``YYYY-MM-DD hh:mm:ss[.ffffff]``). The rate is
    (rows - 1) / (last time - first time): timestamps quantised by the recording clock (heartpy's data3.csv ticks
    in 15.6 ms steps) give the right mean rate this way, where per-sample differences would not.

    Returns:
        ``(values, rate in Hz or None without a time column)``.
    """
    path = _as_path(path)
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        raise CorruptFileError(f"{path} is not a text CSV file ({error}); re-download it.") from error
    if not rows:
        raise CorruptFileError(f"{path} holds no data rows under its header; the file is empty or truncated.")
    if value_column not in rows[0]:
        raise CorruptFileError(f"{path} has no column {value_column!r}; its columns are {list(rows[0])}.")
    short = next((index for index, row in enumerate(rows) if None in row.values()), None)
    if short is not None:  # csv.DictReader fills the fields of a row cut short with None
        raise CorruptFileError(
            f"{path}: data row {short + 1} has fewer fields than the header (a truncated file?); re-download it."
        )
    try:
        values = np.array([float(row[value_column]) for row in rows])
    except ValueError as error:
        raise CorruptFileError(f"{path}: non-numeric value in column {value_column!r} ({error}).") from error
    if time_column is None:
        return values, None
    if time_column not in rows[0]:
        raise CorruptFileError(f"{path} has no time column {time_column!r}; its columns are {list(rows[0])}.")
    stamps = [row[time_column] for row in rows]
    try:
        seconds = np.array([float(stamp) for stamp in stamps]) / 1000.0
    except (TypeError, ValueError):
        try:
            seconds = np.array(stamps, dtype="datetime64[us]").astype(np.int64) / 1e6
        except (TypeError, ValueError) as error:
            raise CorruptFileError(
                f"{path}: the time column {time_column!r} holds values that are neither milliseconds nor timestamps "
                f"(YYYY-MM-DD hh:mm:ss[.ffffff]): {error}."
            ) from error
    span = seconds[-1] - seconds[0]
    if not span > 0 or not np.isfinite(span):
        raise CorruptFileError(
            f"{path}: the time column {time_column!r} does not increase (from {stamps[0]!r} to {stamps[-1]!r} over "
            f"{len(stamps)} rows), so it gives no sampling rate."
        )
    return values, (len(values) - 1) / span


# --------------------------------------------------------------------------------------------- sktime / aeon .ts


@dataclass
class TsFile:
    """A ``.ts`` file (the sktime / aeon time-series classification format).

    Attributes:
        cases: one ``(channels, time)`` float32 array per case; missing values (``?``) are NaN.
        labels: the class of every case, as written.
        class_names: the classes declared by ``@classLabel true ...``, in declared order.
        header: the ``@`` header fields (keys lower-case, e.g. ``problemname``, ``serieslength``).
    """

    cases: list[np.ndarray]
    labels: list[str]
    class_names: list[str]
    header: dict[str, str]


def read_ts(path: str | Path, values: bool = True) -> TsFile:
    """Read a labelled ``.ts`` file: ``#`` comments, ``@`` header lines, ``@data``, then one case per line with its
    channels separated by ``:``, values by ``,`` and the class label last.

    Args:
        path: the file.
        values: parse the values; False reads the header and the labels only (``cases`` is empty), which is fast:
            parsing the numbers is most of the time.

    Raises:
        CorruptFileError: no ``@data`` section, no ``@classLabel true`` declaration, time-stamped values (not
            supported), cases whose channels differ in length or count, non-numeric values, undeclared labels.
    """
    path = _as_path(path)
    header: dict[str, str] = {}
    cases: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    text = path.read_bytes().decode("utf-8", errors="replace")  # comments may hold non-UTF-8 bytes (µV)
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.lower() == "@data":
                in_data = True
            elif line.startswith("@"):
                key, _, value = line[1:].partition(" ")
                header[key.lower()] = value.strip()
            continue
        channels, _, label = line.rpartition(":")
        if not channels or channels.startswith("("):
            raise CorruptFileError(
                f"{path} line {number}: expected channels of comma-separated values then a label; time-stamped "
                "values '(t, v)' are not supported."
            )
        labels.append(label.strip())
        if values:
            cases.append(_ts_case(channels, path, number, cases[0].shape[0] if cases else None))
    declared = header.get("classlabel", "").split()
    if not in_data or not declared or declared[0].lower() != "true":
        raise CorruptFileError(f"{path} is not a labelled .ts file (no '@classLabel true ...' line and '@data').")
    class_names = declared[1:]
    unknown = sorted(set(labels) - set(class_names))
    if unknown:
        raise CorruptFileError(f"{path}: labels {unknown} are not among the declared classes {class_names}.")
    return TsFile(cases, labels, class_names, header)


def _ts_case(text: str, path: Path, number: int, channels: int | None) -> np.ndarray:
    """One case's channels ``a,b,c:d,e,f`` -> ``(channels, time)`` float32 (``?`` -> NaN)."""
    try:
        rows = [np.array(channel.replace("?", "nan").split(","), dtype=np.float64) for channel in text.split(":")]
    except ValueError as error:
        raise CorruptFileError(f"{path} line {number}: a value is not a number ({error}).") from error
    if len({row.size for row in rows}) != 1 or (channels is not None and len(rows) != channels):
        raise CorruptFileError(
            f"{path} line {number}: its channels have lengths {[row.size for row in rows]}"
            + (f" (the first case has {channels} channels)" if channels is not None else "")
            + "; every case needs channels of one length."
        )
    return np.stack(rows).astype(np.float32)


# --------------------------------------------------------------------------------------------- R data (.rda)

_R_NA_INTEGER = -(2**31)


@dataclass
class RObject:
    """A value read from an R data file: ``value`` (numpy array for atomic vectors, list of str for character
    vectors, list for lists) and its R ``attributes`` (e.g. ``names``, ``tsp``, ``class``)."""

    value: object
    attributes: dict[str, object] = field(default_factory=dict)


class _RXdrReader:
    """R's serialization format 2 / 3 in XDR (big-endian), for the objects data files hold: atomic vectors,
    character vectors, lists, pairlists with tags and attributes. Anything else (closures, environments, byte code)
    is refused."""

    _TYPES = {10: "logical", 13: "integer", 14: "double", 16: "character", 19: "list", 2: "pairlist"}

    def __init__(self, data: bytes, name: str):
        self.data, self.pos, self.name, self.refs = data, 0, name, []

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise CorruptFileError(f"{self.name} ends in the middle of an R object (truncated).")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def integer(self) -> int:
        return int(np.frombuffer(self.take(4), dtype=">i4")[0])

    def length(self) -> int:
        length = self.integer()
        return (self.integer() << 32) + self.integer() if length == -1 else length

    def item(self):
        flags = self.integer()
        kind, has_attributes, has_tag = flags & 0xFF, bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind == 254:  # NILVALUE_SXP
            return None
        if kind == 255:  # REFSXP: a symbol seen before
            index = flags >> 8 or self.integer()
            return self.refs[index - 1]
        if kind == 1:  # SYMSXP
            symbol = self.item()
            self.refs.append(symbol)
            return symbol
        if kind == 9:  # CHARSXP
            length = self.integer()
            return None if length == -1 else self.take(length).decode("utf-8", errors="replace")
        if kind == 2:  # LISTSXP: a pairlist cell (attributes, tag, value, rest)
            attributes = self.attributes() if has_attributes else {}
            tag = self.item() if has_tag else None
            head = self.item()
            rest = self.item()
            cells = [(tag, head)] + (
                rest.value if isinstance(rest, RObject) and rest.attributes.get("pairlist") else []
            )
            return RObject(cells, {**attributes, "pairlist": True})
        if kind in (10, 13):
            values = np.frombuffer(self.take(4 * self.length()), dtype=">i4").astype(np.int64)
            value = np.where(values == _R_NA_INTEGER, np.nan, values) if (values == _R_NA_INTEGER).any() else values
        elif kind == 14:
            value = np.frombuffer(self.take(8 * self.length()), dtype=">f8").astype(np.float64)
        elif kind == 16:
            value = [self.item() for _ in range(self.length())]
        elif kind == 19:
            value = [self.item() for _ in range(self.length())]
        else:
            raise CorruptFileError(
                f"{self.name} holds an R object of type {kind}, which this reader does not read (it reads vectors, "
                "lists and pairlists); convert the data with R's write.csv, or read it with pyreadr."
            )
        return RObject(value, self.attributes() if has_attributes else {})

    def attributes(self) -> dict[str, object]:
        pairs = self.item()
        return {tag: value.value if isinstance(value, RObject) else value for tag, value in pairs.value}


def read_r_data(path: str | Path) -> dict[str, RObject]:
    """Read an R data file (``.rda`` / ``.RData``, written by ``save()``): {variable name: :class:`RObject`}.

    The file is gzip-, bzip2- or xz-compressed (or not), starts with ``RDX2`` / ``RDX3`` and holds R's XDR
    serialization of a pairlist of the saved variables.

    Raises:
        CorruptFileError: not an R data file, an ASCII or native-binary one (re-save it with ``save()``'s defaults),
            a truncated one, or objects other than vectors and lists.
    """
    import bz2
    import gzip
    import lzma

    path = _as_path(path)
    raw = path.read_bytes()
    for magic, decompress in ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress), (b"\xfd7zXZ", lzma.decompress)):
        if raw.startswith(magic):
            try:
                raw = decompress(raw)
            except (OSError, EOFError, ValueError, lzma.LZMAError) as error:
                raise CorruptFileError(f"{path} is a damaged compressed R data file ({error}).") from error
            break
    if raw[:5] not in (b"RDX2\n", b"RDX3\n"):
        raise CorruptFileError(f"{path} is not an R data file (it does not start with RDX2 / RDX3).")
    if raw[5:7] != b"X\n":
        kind = "ASCII" if raw[5:7] == b"A\n" else "native binary"
        raise CorruptFileError(
            f"{path} is an R data file in {kind} format; only XDR (R's default for save()) is read. Re-save it "
            "with save(..., ascii = FALSE)."
        )
    reader = _RXdrReader(raw[7:], str(path))
    version = reader.integer()
    reader.integer(), reader.integer()  # the writer's and the minimal reader's R versions
    if version == 3:
        reader.take(reader.integer())  # the native encoding
    elif version != 2:
        raise CorruptFileError(f"{path} uses R serialization format {version}; formats 2 and 3 are read.")
    saved = reader.item()
    if not isinstance(saved, RObject) or not saved.attributes.get("pairlist"):
        raise CorruptFileError(f"{path} does not hold a list of saved variables.")
    return {tag: value for tag, value in saved.value}
