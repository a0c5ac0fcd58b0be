"""EEGLAB data sets (``.set``, the samples inside it or in the ``.fdt`` file it names beside it): :func:`read_eeglab`
through ``scipy.io.loadmat``, for the MATLAB v5 / v7 files EEGLAB saves by default.

A ``.set`` holds EEGLAB's ``EEG`` structure, as one variable ``EEG`` (older EEGLAB) or as its fields at the file's top
level (EEGLAB 2019 on): ``nbchan`` channels, ``pnts`` samples per epoch, ``trials`` epochs, ``srate`` in Hz, the
channels' names in ``chanlocs(k).labels``, and ``data``: ``(nbchan, pnts)`` numbers inside the file, or the name of a
``.fdt`` file beside it holding them as little-endian float32, a sample of every channel, then the next (MATLAB's
column order). EEGLAB keeps EEG in microvolts and records no unit, so every channel is read as µV, as MNE reads it.
Refused, naming the fix: a MATLAB v7.3 file (HDF5, which ``loadmat`` does not read), epoched data (``trials`` > 1:
epochs laid end to end are no continuous recording), a study's ``ALLEEG`` array, and a ``.fdt`` that is missing or not
of the header's size. A ``boundary`` event (EEGLAB's mark where data were cut out or data sets were joined; -99 where
the set's event types are numbers) is a break in the recording: such a set is refused read whole, as an EDF+D file
with gaps is, and read a stretch at a time (`read_eeglab_stretches`) or its events within their stretches by the
folder readers (`boundary_positions`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError
from ._common import _as_path, merged_breaks, stretches_between
from .edf import Recording, picked_rows

# EEGLAB's unit for EEG (it records none).
_EEGLAB_UNIT = "µV"
# The first bytes of a MATLAB v7.3 file (HDF5 with a MATLAB header), which `scipy.io.loadmat` does not read.
_V73_HEADER = b"MATLAB 7.3 MAT-file"
# The fields of EEGLAB's EEG structure read here, and those read where the set has them.
_FIELDS = ("nbchan", "pnts", "trials", "srate", "data", "chanlocs")
_OPTIONAL_FIELDS = ("event",)
# The type of the event EEGLAB places where the data are not continuous (a stretch cut out, two sets joined), and
# its type where every event's type is a number (EEGLAB's option_boundary99, as `eeg_findboundaries` reads it).
_BOUNDARY = "boundary"
_NUMERIC_BOUNDARY = -99
# What converts a file this reader refuses into one it reads.
_RESAVE = (
    "resave it from EEGLAB as a MATLAB v7 file (`pop_saveset(EEG, 'filename', NAME, 'version', '7')`), or convert it "
    "with MNE: `mne.io.read_raw_eeglab(path).export('recording.edf')` (pip install mne edfio)"
)


@dataclass
class EeglabSet:
    """What an EEGLAB ``.set`` says of its recording (module docstring).

    Attributes:
        path: the ``.set`` file.
        n_channels: ``nbchan``.
        n_samples: ``pnts`` (one epoch: the recording).
        sampling_rate: ``srate``, Hz.
        channel_names: ``chanlocs(k).labels`` (positions, "0", "1", ..., where the set names none).
        data: the samples `(channels, time)` where the file holds them, else None.
        data_file: the ``.fdt`` file that holds them, else None.
        pauses: the samples (from 0) at which a stretch starts after a ``boundary`` event, in order.
    """

    path: Path
    n_channels: int
    n_samples: int
    sampling_rate: float
    channel_names: list[str]
    data: np.ndarray | None = None
    data_file: Path | None = None
    pauses: list[int] = field(default_factory=list)


def _load(path: Path, fields: Sequence[str], optional: Sequence[str] = ()) -> dict:
    """`{field: value}` of the EEG structure in the ``.set`` `path`, of `fields` (all, for the structure's form) and
    those of `optional` it has.

    Raises:
        CorruptFileError: a v7.3 file, a file MATLAB's v5 reader cannot read, an ALLEEG array, no EEG structure.
    """
    from scipy.io import loadmat

    with open(path, "rb") as handle:
        head = handle.read(128)
    if head.startswith(_V73_HEADER):
        raise CorruptFileError(f"{path} is a MATLAB v7.3 file (HDF5), which is not read; {_RESAVE}.")
    try:
        # the fields at the top level are read alone (a .set of the structure's form is read whole: one variable)
        variables = loadmat(
            path,
            squeeze_me=True,
            struct_as_record=False,
            appendmat=False,
            variable_names=["EEG", "ALLEEG", *fields, *optional],
        )
    except Exception as error:  # scipy raises ValueError, TypeError, MatReadError... on a file that is no MAT file
        raise CorruptFileError(
            f"{path} could not be read as an EEGLAB data set ({type(error).__name__}: {error}); re-download it, or "
            f"{_RESAVE}."
        ) from None
    if "ALLEEG" in variables:
        raise CorruptFileError(
            f"{path} holds an EEGLAB study's ALLEEG array of data sets, not one data set; save each with "
            "pop_saveset and give those."
        )
    if "EEG" in variables:
        structure = variables["EEG"]
        variables = {name: getattr(structure, name) for name in (*fields, *optional) if hasattr(structure, name)}
    missing = [name for name in fields if name not in variables]
    if missing:
        raise CorruptFileError(
            f"{path} holds no EEGLAB data set: it lacks {', '.join(missing)} (an EEG structure's fields); {_RESAVE}."
        )
    return variables


def _count(path: Path, variables: dict, name: str, kind: type):
    """The EEG field `name` of `path` as a positive `kind`, refused where it is none."""
    value = variables[name]
    try:
        number = float(np.asarray(value).item())
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0 or (kind is int and number != int(number)):
        raise CorruptFileError(
            f"{path} gives {name} = {value!r}, not a positive {'whole ' if kind is int else ''}number; the data set "
            f"is corrupt: {_RESAVE}."
        )
    return kind(number)


def read_eeglab_set(path: str | Path, fields: Sequence[str] = _FIELDS) -> EeglabSet:
    """Parse and check an EEGLAB ``.set`` file (module docstring): its rate, channels and where its samples are.
    `fields` narrows what is read (the rate alone: ``("srate",)``, the other attributes then 0 / empty).

    Raises:
        CorruptFileError: as the module docstring says.
    """
    path = _as_path(path, "EEGLAB data set")
    variables = _load(path, fields, _OPTIONAL_FIELDS if fields == _FIELDS else ())
    rate = _count(path, variables, "srate", float)
    if fields != _FIELDS:
        return EeglabSet(path, 0, 0, rate, [])
    n_channels, n_samples = _count(path, variables, "nbchan", int), _count(path, variables, "pnts", int)
    trials = _count(path, variables, "trials", int)
    if trials > 1:
        raise CorruptFileError(
            f"{path} holds {trials} epochs of {n_samples} samples (an epoched EEGLAB data set), which are no "
            "continuous recording; give the continuous data set it was epoched from."
        )
    locations = variables["chanlocs"]
    locations = list(np.atleast_1d(locations).ravel()) if isinstance(locations, np.ndarray) else [locations]
    labels = [getattr(location, "labels", "") for location in locations]
    names = [label.strip() if isinstance(label, str) else "" for label in labels]  # (an unnamed one: an empty array)
    if len(names) != n_channels or not all(names):
        names = [str(index) for index in range(n_channels)]
    pauses = _boundaries(variables.get("event"), n_samples)
    data = variables["data"]
    if isinstance(data, str):
        return EeglabSet(path, n_channels, n_samples, rate, names, data_file=path.parent / data, pauses=pauses)
    data = np.asarray(data)
    if data.size != n_channels * n_samples or not np.issubdtype(data.dtype, np.number):
        raise CorruptFileError(
            f"{path} holds data of shape {data.shape} ({data.dtype}) where it declares {n_channels} channels of "
            f"{n_samples} samples; the data set is corrupt: {_RESAVE}."
        )
    return EeglabSet(path, n_channels, n_samples, rate, names, data=data.reshape(n_channels, n_samples), pauses=pauses)


def _boundaries(events, n_samples: int) -> list[int]:
    """The samples (from 0) at which a stretch starts after each ``boundary`` event of `events` (the EEG structure's
    ``event``, as loadmat gives it: one struct, an array of them, or an empty array), within the recording. EEGLAB
    places a boundary between two samples, at latency k + 0.5 (from 1) after the k-th: the next stretch starts at the
    sample ceil(latency - 1) from 0, as MNE times it. Where every event's type is a number, a boundary's is -99."""
    found = set()
    listed = np.atleast_1d(events if events is not None else []).ravel()
    numeric = all(_is_numeric_type(getattr(event, "type", None)) for event in listed)
    for event in listed:
        kind, latency = getattr(event, "type", None), getattr(event, "latency", None)
        if numeric:
            if float(np.asarray(kind).item()) != _NUMERIC_BOUNDARY:
                continue
        elif not isinstance(kind, str) or kind.strip().lower() != _BOUNDARY:
            continue
        try:
            start = math.ceil(float(np.asarray(latency).item()) - 1)
        except (TypeError, ValueError):
            continue
        if 0 < start < n_samples:
            found.add(start)
    return sorted(found)


def _is_numeric_type(kind) -> bool:
    """Whether an event's `type`, as loadmat gives it, is one number (EEGLAB's numeric event types)."""
    kind = np.asarray(kind)
    return kind.size == 1 and np.issubdtype(kind.dtype, np.number)


def boundary_positions(path: str | Path) -> list[int]:
    """The samples (from 0) at which the EEGLAB set `path` goes on after a ``boundary`` event (data cut out, or sets
    joined, there), in order; [] for a continuous recording."""
    return read_eeglab_set(path).pauses


def eeglab_companions(path: str | Path) -> list[Path]:
    """The ``.fdt`` file the ``.set`` `path` reads its samples from ([] where it holds them itself), for a folder's
    listing to pass over. Read from the variables' headers where the set keeps its fields at the top level (its
    samples, which may be hundreds of MB inside it, are not read for it); the set's own name with ``.fdt`` (as
    EEGLAB names it) for an EEG structure, which is one variable, and for a file that cannot be read (its reader then
    says why)."""
    from scipy.io import loadmat, whosmat

    path = Path(path)
    try:
        kinds = {name: kind for name, _, kind in whosmat(path, appendmat=False)}
        if "data" in kinds and "EEG" not in kinds:
            if kinds["data"] != "char":
                return []
            named = loadmat(path, squeeze_me=True, appendmat=False, variable_names=["data"])["data"]
            return [path.parent / str(named)]
    except Exception:  # (scipy's errors on a file that is no MAT file, which its reader names)
        pass
    return [path.with_suffix(".fdt")]


def read_eeglab(path: str | Path, channels: Sequence[str] | None = None, *, across_pauses: bool = False) -> Recording:
    """Read an EEGLAB ``.set`` (module docstring).

    Args:
        path: the ``.set`` file.
        channels: names or positions (``"0"``) of the channels to read, in the order wanted; every channel when None.
        across_pauses: read a set with ``boundary`` events (`boundary_positions`) as one, its stretches end to end;
            refused otherwise, as an EDF+D file with gaps is: a window across a boundary would join samples that were
            not recorded one after the other.

    Returns:
        A :class:`~.edf.Recording`: ``data`` ``(channels, time)`` float64 in µV (EEGLAB's unit), no start (EEGLAB
        records none), ``breaks`` after its boundary events (`boundary_positions`).

    Raises:
        CorruptFileError: as `read_eeglab_set`; a ``.fdt`` missing or not of ``nbchan`` x ``pnts`` float32 samples; a
            set with boundary events, unless `across_pauses`. ValueError: a channel the set does not name.
    """
    found = read_eeglab_set(path)
    rows = picked_rows(found.path, found.channel_names, channels)
    if found.pauses and not across_pauses:
        shown = ", ".join(f"{position / found.sampling_rate:g} s" for position in found.pauses[:3])
        raise CorruptFileError(
            f"{found.path} is not continuous: it holds {len(found.pauses)} boundary event(s) (EEGLAB's mark where data "
            f"were cut out or data sets joined), at {shown}{', ...' if len(found.pauses) > 3 else ''}. Read as one "
            "recording, a window would span a boundary (as in an EDF+D file with gaps). A folder of recordings "
            "(citrus pretrain's pile, a set labelled by folder or participant) reads each stretch apart, and events (a BIDS events.tsv, a metadata.csv of "
            "file_name,onset,duration,label) are cut within their stretch: label its stretches so, or save each to a "
            "set of its own (EEGLAB: pop_select(EEG, 'point', [first last]))."
        )
    if found.data is not None:
        data = np.array(found.data[rows], dtype=np.float64)
    else:
        data = _fdt_rows(found, rows)
    return Recording(
        data=data,
        sampling_rate=found.sampling_rate,
        channel_names=[found.channel_names[row] for row in rows],
        units=[_EEGLAB_UNIT] * len(rows),
        breaks=list(found.pauses),
    )


def read_eeglab_stretches(
    path: str | Path, channels: Sequence[str] | None, segment_samples: int, breaks: Sequence[int] = ()
) -> tuple[float, list[str], list[tuple[int, Iterator[np.ndarray]]]]:
    """`(sampling rate, channel names, stretches)` of an EEGLAB ``.set`` read `segment_samples` at a time, as
    `edf.read_edf_segments` reads an EDF file: each stretch between its boundary events (`boundary_positions`) and the
    `breaks` given beside them (samples from 0: a BIDS events table's boundary rows) its samples per channel and an
    iterator of `(channels, time)` segments float64 in µV, as `read_eeglab` gives them, the last of each shorter. A
    ``.fdt`` is mapped and read a segment at a time (an hour of 64 channels at 1 kHz is 1.8 GB as float64); samples
    inside the ``.set`` are loaded with it (float32), each segment converted on its own. `channels` and the errors as
    for `read_eeglab`, raised before the first segment is read."""
    found = read_eeglab_set(path)
    rows = picked_rows(found.path, found.channel_names, channels)
    if found.data is None:
        _checked_fdt(found)

    def samples(start: int, stop: int) -> np.ndarray:
        if found.data is not None:
            return np.array(found.data[rows, start:stop], dtype=np.float64)
        return _fdt_rows(found, rows, start, stop)

    pauses = merged_breaks(found.pauses, breaks, found.n_samples)
    stretches = stretches_between(found.n_samples, pauses, segment_samples, samples)
    return found.sampling_rate, [found.channel_names[row] for row in rows], stretches


def _checked_fdt(found: EeglabSet) -> Path:
    """The ``.fdt`` file of `found`.

    Raises:
        CorruptFileError: one missing, or not of ``nbchan`` x ``pnts`` float32 samples.
    """
    fdt = found.data_file
    if fdt is None or not fdt.is_file():
        raise CorruptFileError(
            f"{found.path} keeps its samples in {fdt.name if fdt else 'a .fdt file'!r}, which is not beside it; put it "
            "there (a renamed data set keeps the old name inside the .set: resave it from EEGLAB under the new name)."
        )
    expected = found.n_channels * found.n_samples * 4
    if fdt.stat().st_size != expected:
        raise CorruptFileError(
            f"{fdt} holds {fdt.stat().st_size} bytes where {found.path} declares {found.n_channels} channels of "
            f"{found.n_samples} float32 samples ({expected} bytes): it is cut short or not this set's. Re-download it, "
            "or resave the data set from EEGLAB."
        )
    return fdt


def _fdt_rows(found: EeglabSet, rows: list[int], start: int = 0, stop: int | None = None) -> np.ndarray:
    """The rows `rows` of the ``.fdt`` samples of `found` (`start:stop` of them), `(channels, time)` float64: only
    those are read from the file (mapped, not loaded).

    Raises:
        CorruptFileError: as `_checked_fdt`.
    """
    fdt = _checked_fdt(found)
    mapped = np.memmap(fdt, dtype="<f4", mode="r", shape=(found.n_samples, found.n_channels))
    try:
        return np.array(mapped[start:stop, rows].T, dtype=np.float64, order="C")
    finally:
        del mapped  # (the map closes here, not with an error's traceback: the file stays replaceable on Windows)


__all__ = [
    "EeglabSet",
    "boundary_positions",
    "eeglab_companions",
    "read_eeglab",
    "read_eeglab_set",
    "read_eeglab_stretches",
]
