"""EDF / EDF+ and BDF files (e.g. Sleep-EDF's recordings and hypnograms): :func:`read_edf` through MNE,
:func:`read_edf_segments` (a long recording a stretch at a time), :func:`read_edf_header`, :func:`read_edf_annotations`.

The header is parsed and checked here before MNE reads a file, because MNE reads some broken files without a word:
a truncated EDF as a shorter recording, signals of mixed rates resampled to the highest, a signal with an empty
physical or digital range scaled by a division by zero. Those are refused with the file named. Its number fields are
read as MNE reads them (up to a NUL byte; a range's decimal comma as a point), and whole data records past the header's
count, which MNE reads, are said (`_say_records_past_count`).
"""

from __future__ import annotations

import collections
import datetime
import logging
import math
import numbers
import re
import warnings
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..._logs import warnings_captured
from ..errors import CorruptFileError, UnreadableFileError, unreadable_file
from ._common import _as_path, channel_rows, stretches_between

logger = logging.getLogger(__name__)

# The labels of an EDF+ / BDF+ file's annotation channel, which holds no samples.
_ANNOTATION_LABELS = frozenset({"EDF Annotations", "BDF Annotations"})
# The spellings of µV that MNE scales to volts (by 1e-6; "mV" by 1e-3): its rule when its own factors are not at hand.
_MNE_MICROVOLTS = frozenset({"\u03bcV", "\u00b5V", "\x83\xcaV", "uV"})
# One TAL (time-stamped annotation list) of an annotation signal: onset, optional duration, then its descriptions, each
# ended by \x14, the list by \x00. MNE's own pattern (`mne.io.edf.edf._read_annotations_edf`), so that the onsets read
# here are the ones MNE read.
_TAL = re.compile(rb"([+-]\d+\.?\d*)(\x15(\d+\.?\d*))?(\x14.*?)\x14\x00")


@dataclass
class EdfHeader:
    """The fields of an EDF / BDF header that decide the file's size and each signal's rate."""

    n_records: int
    record_seconds: float
    labels: list[str]
    samples_per_record: list[int]
    bytes_per_sample: int
    header_bytes: int
    # the first sample's clock time (naive): the header's start, plus an EDF+ file's fraction of a second
    # (`_first_record_onset`); None where the date is not known ("Startdate X") or cannot be read
    start: datetime.datetime | None = None
    # (physical min, physical max, digital min, digital max) per signal: a sample is scaled by their spans
    ranges: list[tuple[float, float, float, float]] | None = None
    # each signal's physical dimension as written ("uV", "mV", "%", ""), one per label
    dimensions: list[str] = field(default_factory=list)
    # EDF+D / BDF+D: data records that need not follow one another (the onset of each is in its annotation signal)
    discontinuous: bool = False
    # `signal_names` and the labels they were worked out from: a reader asks for them at every channel it picks,
    # rates or checks, which made opening a file quadratic in its channels (a 256-channel file spent 0.2 s on its
    # header). Kept with the labels since a header is a public, mutable dataclass: a caller who renames a signal
    # (`header.labels[i] = ...`, or a new list) gets names worked out afresh, not the old ones
    _names_worked_out: tuple[list[str], dict[str, int]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def signal_names(self) -> dict[str, int]:
        """Name -> position in the header of every ordinary signal (not the "EDF Annotations" channel), in file
        order. A signal's name is its label; where the file gives one label to several signals (EDF allows it), they
        are told apart by their occurrence in file order, as MNE does: two signals labelled "EEG" are "EEG-0" and
        "EEG-1" (a suffix another signal's label already has is skipped)."""
        return dict(self._names())

    def _names(self) -> dict[str, int]:
        """`signal_names` itself (not a copy: not to be changed)."""
        # (a list comparison: the same label objects compare by identity, microseconds for hundreds of channels)
        if self._names_worked_out is None or self._names_worked_out[0] != self.labels:
            self._names_worked_out = (list(self.labels), self._worked_out_names())
        return self._names_worked_out[1]

    def _worked_out_names(self) -> dict[str, int]:
        signals = [(index, label) for index, label in enumerate(self.labels) if label not in _ANNOTATION_LABELS]
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

    def names_by_rate(self) -> dict[float, list[str]]:
        """The ordinary signals' names (`signal_names`) grouped by their sampling rate, fastest first: one entry for a
        file whose signals share a rate, several for one like Sleep-EDF's (EEG at 100 Hz, respiration at 1 Hz)."""
        groups = collections.defaultdict(list)
        for name, index in self._names().items():
            groups[self._rate_at(index)].append(name)
        return dict(sorted(groups.items(), reverse=True))

    def position(self, path: Path, name: str) -> int:
        """The header position of the signal `name` (its label, or the name `signal_names` gives a repeated label).

        Raises:
            CorruptFileError: no such signal, or a label the file gives several signals (naming theirs).
        """
        names = self._names()
        if name in names:
            return names[name]
        if name in self.labels and name not in _ANNOTATION_LABELS:
            repeated = [other for other, index in names.items() if self.labels[index] == name]
            raise CorruptFileError(
                f"{path} has {len(repeated)} signals labelled {name!r}, read as {repeated} (in file order); name the "
                "one(s) you want by those names."
            )
        raise CorruptFileError(f"{path} has no channel {name!r}; it has {list(names)}.")

    def sampling_rate(self, label: str) -> float:
        """Native rate of signal ``label`` in Hz (a name `signal_names` gives, for a repeated label)."""
        names = self._names()
        return self._rate_at(names[label] if label in names else self.labels.index(label))

    def _rate_at(self, index: int) -> float:
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
        CorruptFileError: not an EDF file, a malformed header, a truncated file (naming the missing bytes), or one
            without data records (no samples).
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
            header_bytes = int(_edf_number(fixed[184:192].decode("ascii")))
            n_records = int(_edf_number(fixed[236:244].decode("ascii")))
            record_seconds = float(_edf_number(fixed[244:252].decode("ascii")))
            n_signals = int(_edf_number(fixed[252:256].decode("ascii")))
            if n_signals < 0 or header_bytes != 256 * (n_signals + 1):
                raise ValueError(f"header size {header_bytes} does not match {n_signals} signals")
            signal_header = handle.read(256 * n_signals)
            if len(signal_header) < 256 * n_signals:
                raise ValueError("the signal headers are cut off")
    except (ValueError, UnicodeDecodeError) as error:
        raise CorruptFileError(f"{path} is not a valid EDF/BDF file: {error}. Re-download or re-export it.") from error
    except PermissionError as error:  # (a folder's listing reads the headers first: `holds_annotations_only`)
        raise unreadable_file(path, error) from None

    def field_values(offset: int, width: int) -> list[str]:
        start = offset * n_signals
        return [
            signal_header[start + i * width : start + (i + 1) * width].decode("latin-1").strip()
            for i in range(n_signals)
        ]

    labels = field_values(0, 16)
    plus = fixed[192:236].decode("latin-1").strip().upper().startswith(("EDF+", "BDF+"))
    # An EDF+ file whose recording field says "Startdate X" does not know its date (MNE's `raw.export` of a Raw
    # without `meas_date` writes one): its header's 01.01.85 is a placeholder, not a start on anyone's clock.
    undated = plus and fixed[88:168].decode("latin-1").split()[:2] == ["Startdate", "X"]
    start = None if undated else _edf_start(fixed[168:176], fixed[176:184])
    try:
        # Field offsets in units of n_signals: label 16, transducer 80, dimension 8, 4 x 8 min/max, prefilter 80.
        samples_per_record = [int(_edf_number(value)) for value in field_values(16 + 80 + 8 + 8 * 4 + 80, 8)]
    except ValueError as error:
        raise CorruptFileError(f"{path} has a malformed samples-per-record field ({error}).") from error
    if n_records < -1 or any(count < 0 for count in samples_per_record):  # -1 records: "still recording"
        raise CorruptFileError(
            f"{path} declares {n_records} data records of {samples_per_record} samples per signal; the header is "
            "corrupt. Re-download or re-export it."
        )
    ranges = _edf_ranges(path, field_values)
    signals_per_record = sum(n for label, n in zip(labels, samples_per_record) if label not in _ANNOTATION_LABELS)
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
        n_records,
        record_seconds,
        labels,
        samples_per_record,
        bytes_per_sample,
        header_bytes,
        start,
        ranges,
        dimensions=field_values(16 + 80, 8),
        discontinuous=fixed[192:236].decode("latin-1").strip().upper().startswith(("EDF+D", "BDF+D")),
    )
    # 0 records, or -1 ("still recording": the count is inferred from the size) with less than one record after the
    # header, is a recorder stopped before its first record: no sample to read (MNE failed on it with "No data in
    # this range", and a folder holding it became an empty `datasets` split)
    record_bytes = sum(samples_per_record) * bytes_per_sample
    if n_records == 0 or (n_records == -1 and size - header_bytes < max(record_bytes, 1)):
        raise CorruptFileError(
            f"{path} holds no samples: its header declares {n_records} data records and the file holds "
            f"{max(size - header_bytes, 0)} bytes after the header (a record is {record_bytes}), as a recording "
            "stopped before its first record leaves it. Re-export the recording, or remove the file."
        )
    # -1 records means "still recording"; readers infer the count from the size, so there is nothing to compare.
    if n_records >= 0:
        expected = header_bytes + n_records * sum(samples_per_record) * bytes_per_sample
        if size < expected:
            raise CorruptFileError(
                f"{path} is truncated: its header declares {n_records} data records ({expected} bytes in all) but the "
                f"file holds {size} bytes ({expected - size} missing). Re-download or re-export it."
            )
    if plus and header.start is not None:
        header.start += datetime.timedelta(seconds=_first_record_onset(path, header))
    return header


def _first_record_onset(path: Path, header: EdfHeader) -> float:
    """Seconds from the header's start (a whole second) to the first data record of an EDF+ / BDF+ file: the onset of
    the time-keeping annotation that opens the first record's annotation signal ("+0.5\\x14\\x14"; EDF+ keeps a start's
    fraction of a second there, as its header cannot). MNE counts the file's annotations from that onset too. 0 for a
    file without an annotation signal or whose first record gives no readable onset (as MNE reads it: the header's
    start alone)."""
    annotation = next((i for i, label in enumerate(header.labels) if label in _ANNOTATION_LABELS), None)
    if annotation is None:
        return 0.0
    offset = header.header_bytes + sum(header.samples_per_record[:annotation]) * header.bytes_per_sample
    with open(path, "rb") as handle:
        handle.seek(offset)
        text = handle.read(header.samples_per_record[annotation] * header.bytes_per_sample)
    try:
        onset = float(text.split(b"\x14", 1)[0].decode("latin-1").strip())
    except ValueError:
        return 0.0
    return onset if math.isfinite(onset) and onset >= 0 else 0.0


def _annotation_bytes(path: Path, header: EdfHeader, annotation: int, record_bytes: int) -> np.ndarray:
    """`(records, bytes)`: the annotation signal `annotation`'s bytes in each data record of the file, a copy. Read
    through a memory map that is gone when this returns: an error raised while the map is referenced (by a frame of
    the error's traceback, which IPython keeps as the last error) keeps the file mapped, and on Windows the user could
    then neither delete nor replace the file the error tells them to re-export. Every whole record the file holds,
    past the count its header declares too: MNE reads those (`_say_records_past_count`)."""
    records = (path.stat().st_size - header.header_bytes) // record_bytes
    start = sum(header.samples_per_record[:annotation]) * header.bytes_per_sample
    width = header.samples_per_record[annotation] * header.bytes_per_sample
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=header.header_bytes, shape=(records, record_bytes))
    return np.array(data[:, start : start + width])  # a plain array (not a memmap view): the map closes with `data`


def check_continuous(path: Path, header: EdfHeader) -> None:
    """Refuse an EDF+D / BDF+D file whose data records do not follow one another: read as one recording (MNE
    concatenates the records), its gaps would vanish and every time after the first gap would be wrong. Each record's
    onset is the first time-keeping annotation of its annotation signal ("+10\\x14\\x14"). A file marked
    discontinuous whose records do follow one another (some writers mark every file so) is read as usual. The records
    past the count the header declares are checked too: MNE reads them as part of the recording."""
    if not header.discontinuous:
        return
    annotation = next((i for i, label in enumerate(header.labels) if label in _ANNOTATION_LABELS), None)
    if annotation is None:
        raise CorruptFileError(
            f"{path} is marked EDF+D (discontinuous) but has no annotation signal to give its records' onsets; the "
            "header is corrupt. Re-export it."
        )
    record_bytes = sum(header.samples_per_record) * header.bytes_per_sample
    if record_bytes == 0:
        return
    onsets = []
    for row in _annotation_bytes(path, header, annotation, record_bytes):
        text = bytes(row).split(b"\x14", 1)[0].decode("latin-1").strip(" \x00")  # (NULs: a record never written)
        try:
            onsets.append(float(text))
        except ValueError:
            past = len(onsets) >= header.n_records >= 0
            raise CorruptFileError(
                f"{path} is marked EDF+D (discontinuous) and its record {len(onsets)} gives no onset ({text!r}); "
                + (
                    f"it lies past the {header.n_records} records its header declares, which MNE would read too: cut "
                    f"the file after byte {header.header_bytes + header.n_records * record_bytes}."
                    if past
                    else "the file is corrupt. Re-export it."
                )
            ) from None
    expected = onsets[0] + header.record_seconds * np.arange(len(onsets)) if onsets else np.zeros(0)
    gaps = np.flatnonzero(np.abs(np.asarray(onsets) - expected) > 1e-6 + 1e-9 * np.abs(expected))
    if gaps.size:
        record = int(gaps[0])
        raise CorruptFileError(
            f"{path} is an EDF+D file with gaps: its data record {record} starts at {onsets[record]:g} s where a "
            f"continuous recording would be at {expected[record]:g} s. Read as one recording, the gaps would vanish "
            "and every time after them would be wrong: export each continuous stretch to its own file (EDFbrowser: "
            "Tools > Convert EDF+D to EDF+C)."
        )


def _edf_ranges(path: Path, field_values) -> list[tuple[float, float, float, float]]:
    """Each signal's physical min / max and digital min / max (field offsets in units of n_signals: label 16,
    transducer 80, dimension 8, then the four ranges, 8 each)."""
    try:
        # a decimal comma read as a point, as MNE reads it (the Hypnodyne ZMax writes "-3276,8")
        columns = [
            [float(_edf_number(value).replace(",", ".")) for value in field_values(16 + 80 + 8 + 8 * k, 8)]
            for k in range(4)
        ]
    except ValueError as error:
        raise CorruptFileError(f"{path} has a malformed physical or digital range field ({error}).") from error
    return list(zip(*columns))


def _edf_number(text: str) -> str:
    """A number field of an EDF header as MNE reads it: up to its first NUL byte, spaces left out. Writers that pad
    a field with NUL bytes rather than spaces (the Hypnodyne ZMax) had every such file refused as malformed, where MNE
    reads it."""
    return text.split("\x00", 1)[0].strip()


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
        start: the first sample's clock time: naive for a header's (the EDF header's start, with an EDF+ file's
            fraction of a second, `EdfHeader.start`); aware for a CSV's time stamps, in UTC where they count since
            1970 or write "Z", else in the offset its clock times write (`_common.ZERO_OFFSET` for "+00:00", a local
            clock, `_common.is_utc_clock`); None where the header's date cannot be read or an EDF+ file does not know
            it ("Startdate X").
        breaks: the samples (from 0) at which a recording read across its breaks goes on after one (a BrainVision
            recording that paused, an EEGLAB set's boundary events: `files.read_recording`'s ``across_pauses``), in
            order, which no example or window may span; [] for a continuous one.
    """

    data: np.ndarray
    sampling_rate: float
    channel_names: list[str]
    units: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    start: datetime.datetime | None = None
    breaks: list[int] = field(default_factory=list)


def _mne_gains(raw, dimensions: Sequence[str] | None) -> np.ndarray:
    """The factor MNE multiplied each signal it read by (one per `raw.ch_names`): its own record of them where it
    keeps one (`_raw_extras`), else its rule (a spelling of µV by 1e-6, "mV" by 1e-3, anything else by 1) applied to
    the signals' `dimensions` as written in the header."""
    extras = getattr(raw, "_raw_extras", None) or [{}]
    gains = extras[0].get("units") if isinstance(extras[0], dict) else None
    if gains is not None and len(gains) == len(raw.ch_names):
        return np.asarray(gains, dtype=np.float64)
    dimensions = dimensions if dimensions is not None else [""] * len(raw.ch_names)
    return np.array([1e-6 if unit in _MNE_MICROVOLTS else 1e-3 if unit == "mV" else 1.0 for unit in dimensions])


def check_channel_list(channels: Sequence[str] | None, names: Sequence[str] | None = None) -> None:
    """Refuse a `channels` argument that is one string (its letters would be read as channel names) or empty; None
    reads every channel. `names`, when known, are the file's, for the message."""
    if isinstance(channels, str):
        raise TypeError(
            f"`channels` must be a list of channel names, got the string {channels!r}; pass [{channels!r}]."
        )
    # one position (0) failed inside `len()`; a numpy one (`np.int64(0)`, `np.array(0)`, as an index array hands it
    # out) is named by its plain value, the `[0]` to pass, not `[np.int64(0)]`
    one_value = not isinstance(channels, Collection) or (isinstance(channels, np.ndarray) and channels.ndim == 0)
    if channels is not None and one_value:
        value = channels.item() if isinstance(channels, (np.generic, np.ndarray)) else channels
        raise TypeError(
            f"`channels` must be a list of channel names or positions, got {value!r} "
            f"({type(channels).__name__}); pass [{value!r}]."
        )
    if channels is not None and len(channels) == 0:
        among = "" if names is None else f" of {list(names)}"
        raise ValueError(f"`channels` is empty: name at least one{among}, or pass None to read them all.")
    if channels is not None:
        # a model fitted on six different channels would score one channel six times without a word
        spelt = [str(channel) for channel in channels]
        repeated = sorted({name for name in spelt if spelt.count(name) > 1})
        if repeated:
            raise ValueError(f"`channels` names {repeated} more than once; name each channel once.")


def picked_rows(path: Path, names: Sequence[str], channels: Sequence[str] | None) -> list[int]:
    """The rows of the `channels` wanted (names, or positions: `channel_rows`) among a file's channel `names`, every
    row when None, as the readers that read a header's names before the samples pick them; `channels` checked first
    (`check_channel_list`)."""
    check_channel_list(channels, names)
    if channels is None:
        return list(range(len(names)))
    return channel_rows(path, names, [str(channel) for channel in channels])


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
    # not preloaded: MNE's preloaded copy of every signal, then the picked copy and the scaled one, held 3.3 times the
    # recording at once (70 GB for a 24 h, 64-channel EEG at 512 Hz); read once from disk, scaled in place
    opened = _OpenedEdf(_as_path(path), channels, preload=False)
    annotations = _annotations_within(opened.path, opened.header, opened.raw)
    return Recording(
        data=opened.samples(),
        sampling_rate=opened.sampling_rate,
        channel_names=opened.wanted,
        units=opened.units,
        annotations=annotations,
        start=opened.header.start,
    )


def read_edf_segments(
    path: str | Path, channels: Sequence[str] | None, segment_samples: int
) -> tuple[float, list[str], Iterator[np.ndarray]]:
    """Read an EDF / EDF+ / BDF file a stretch at a time, so that a long recording never sits whole in memory (an 8 h,
    20-channel EEG at 256 Hz is 1.2 GB as float64): what `read_edf` reads, in consecutive pieces.

    Args:
        path: the file.
        channels: labels to read (all ordinary signals when None), as `read_edf` takes them.
        segment_samples: samples per channel of each segment (the last one holds what is left), e.g.
            ``int(60 * rate)`` for a minute at a time.

    Returns:
        ``(sampling_rate, channel_names, segments)``: the rate in Hz, the names as `Recording.channel_names` gives
        them, and an iterator of float64 arrays ``(channels, segment_samples)`` (the last ``(channels, rest)``) in the
        file's units, each read from the file when it is reached, which joined are `read_edf`'s ``data``.

    Raises:
        CorruptFileError: as `read_edf` (truncated or malformed file, unknown channel, mixed rates), before the first
            segment is read.
        ValueError: `segment_samples` not a whole number >= 1 (a negative one gave no segment at all).
    """
    if isinstance(segment_samples, bool) or not isinstance(segment_samples, numbers.Integral) or segment_samples < 1:
        raise ValueError(
            f"segment_samples must be a whole number of samples >= 1, got {segment_samples!r}: e.g. "
            "int(60 * sampling_rate) for a minute at a time."
        )
    rate, names, ((_, segments),) = read_edf_stretches(path, channels, int(segment_samples))
    return rate, names, segments


def read_edf_stretches(
    path: str | Path, channels: Sequence[str] | None, segment_samples: int, breaks: Sequence[int] = ()
) -> tuple[float, list[str], list[tuple[int, Iterator[np.ndarray]]]]:
    """`(sampling rate, channel names, stretches)` of an EDF / BDF file read `segment_samples` at a time, as
    `read_edf_segments` reads it, each stretch between the `breaks` given (samples from 0 where the recording goes on
    after a break the file does not record: a BIDS events table's boundary rows, data cut out or recordings joined)
    apart: `(its samples per channel, an iterator of its (channels, time) segments)`, the last of each shorter, so that
    no segment spans a break. `channels` and the errors as for `read_edf`, raised before the first segment is read."""
    opened = _OpenedEdf(_as_path(path), channels, preload=False)
    stretches = stretches_between(opened.raw.n_times, breaks, segment_samples, opened.samples)
    return opened.sampling_rate, opened.wanted, stretches


class _OpenedEdf:
    """An EDF / BDF file opened through MNE after the header's checks (`read_edf`'s), ready to give the samples of
    the channels `wanted` in the file's units, whole (`preload`) or a stretch at a time."""

    def __init__(self, path: Path, channels: Sequence[str] | None, preload: bool):
        import mne

        header = read_edf_header(path)
        names = header.signal_names()
        check_channel_list(channels, list(names))
        if not names:  # MNE would fail on its empty pick, in its own words
            raise CorruptFileError(
                f"{path} holds no signals, only EDF+ annotations (a hypnogram or an events file); read its "
                "annotations with read_edf_annotations, and the signals from the recording's own EDF file."
            )
        wanted = list(channels) if channels is not None else list(names)
        unknown = [name for name in wanted if name not in names and name not in header.labels]
        if unknown:
            raise CorruptFileError(f"{path} has no channel(s) {unknown}; it has {list(names)}.")
        positions = [header.position(path, name) for name in wanted]
        header.check_readable(path, wanted)
        check_continuous(path, header)
        # MNE picks signals by label: every signal with a label read is read, in file order (those of a repeated
        # label too, and they share the rate MNE reads at)
        labels = {header.labels[index] for index in positions}
        read = [index for index in names.values() if header.labels[index] in labels]
        read_rows = {index: row for row, index in enumerate(read)}  # header position -> MNE's row
        rates = {name: header.sampling_rate(name) for name in wanted}
        if len(set(rates.values())) > 1:
            raise CorruptFileError(
                f"Channels {wanted} of {path} have different sampling rates {rates}; read each rate separately."
            )
        siblings = {name: header.sampling_rate(name) for name, index in names.items() if index in read_rows}
        if len(set(siblings.values())) > 1:
            raise CorruptFileError(
                f"Signals {list(siblings)} of {path} share a label but not a sampling rate ({siblings}): MNE reads "
                "every signal of a label at once, resampled to the highest rate, so they cannot be read apart. Read "
                "the file with pyedflib (`pyedflib.EdfReader(path).readSignal(position)`), or relabel it."
            )
        if len(read) > len(labels):
            repeated = sorted({header.labels[i] for i in read if header.labels.count(header.labels[i]) > 1})
            logger.warning(
                f"{path} gives the label(s) {repeated} to several signals; they are told apart by their place in the "
                f"file: {[name for name, index in names.items() if header.labels[index] in repeated]}."
            )
        try:
            with warnings_captured():
                # MNE warns about unit conventions and channel name clashes that do not affect the values read here.
                warnings.simplefilter("ignore", RuntimeWarning)
                # BDF has its own reader in MNE (its EDF reader refuses BDF); no signal is read as a stimulus
                # channel, which MNE would leave unscaled and cut to whole numbers (a signal labelled "Status")
                reader = mne.io.read_raw_bdf if header.bytes_per_sample == 3 else mne.io.read_raw_edf
                raw = reader(path, include=sorted(labels), stim_channel=None, preload=preload, verbose="error")
        except Exception as error:  # MNE raises ValueError, AssertionError, IndexError... on malformed files
            raise CorruptFileError(
                f"MNE could not read {path} ({type(error).__name__}: {error}). The file is corrupt or not EDF/EDF+; "
                "re-download or re-export it."
            ) from error
        if len(raw.ch_names) != len(read):
            raise CorruptFileError(
                f"MNE read {len(raw.ch_names)} signals of {path} where its header has {len(read)} labelled "
                f"{sorted(labels)}; the file is corrupt or not EDF/EDF+. Re-download or re-export it."
            )
        _say_records_past_count(path, header)
        self.path, self.raw, self.header, self.wanted = path, raw, header, wanted
        self.order = [read_rows[index] for index in positions]  # MNE's rows are the signals read, in file order
        # as written, but a spelling of µV ("uV") named as MNE names it
        self.units = (
            ["µV" if header.dimensions[index] in _MNE_MICROVOLTS else header.dimensions[index] for index in positions]
            if header.dimensions
            else []
        )
        # MNE scales a few spellings of a voltage to volts and leaves every other unit as written: its own factors
        # undo exactly what it did ("uv", "nV" or "MV" are not scaled by it, so must not be scaled back here)
        gains = _mne_gains(raw, [header.dimensions[index] for index in read] if header.dimensions else None)
        self.scale = (1.0 / gains[self.order])[:, None]
        self.sampling_rate = float(raw.info["sfreq"])

    def samples(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """`(channels, time)` float64 in the file's units, samples `start` to `stop` (all by default)."""
        # integer rows, never names: MNE reads a string pick as a channel type too, and refuses a signal labelled
        # "eeg", "all" or "data" (ambiguous with its pick keywords)
        data = self.raw.get_data(picks=list(self.order), start=start, stop=stop)
        data *= self.scale  # in place: no second copy of the recording
        return data


def _say_records_past_count(path: Path, header: EdfHeader) -> None:
    """Warn of an EDF / BDF file that holds whole data records past the count its header declares: MNE reads them
    (it infers the count from the file's size, as a recorder stopped without updating the header leaves it), and its
    own warning is silenced here, so the recording read ran past the header's duration without a word."""
    record_bytes = sum(header.samples_per_record) * header.bytes_per_sample
    if header.n_records < 0 or record_bytes == 0:
        return
    held = (path.stat().st_size - header.header_bytes) // record_bytes
    if held > header.n_records:
        logger.warning(
            f"{path}: its header declares {header.n_records} data records and the file holds {held}; all {held} are "
            f"read ({held * header.record_seconds:g} s, as MNE reads a file whose count was not updated). If the "
            f"records after the first {header.n_records} are not part of the recording, cut the file after byte "
            f"{header.header_bytes + header.n_records * record_bytes}."
        )


def holds_annotations_only(path: str | Path) -> bool:
    """Whether `path` is an EDF+ / BDF+ file of annotations alone, no signal (a Sleep-EDF hypnogram, an events file):
    what a folder of recordings skips rather than reading as one. False for a file whose header cannot be read,
    damaged or unreadable (its reader then says what is wrong with it)."""
    try:
        return not read_edf_header(path).signal_names()
    except (CorruptFileError, UnreadableFileError):
        return False


def _annotations_within(path: Path, header: EdfHeader, raw) -> list[Annotation]:
    """The EDF+ annotations of `raw` (MNE's reading of `path`) as MNE keeps them: one running past the recording's end
    cut to end there (1 s + 3 s on a 3 s file lasts 2 s), one starting after its end dropped. MNE warns where it cuts
    or drops one, a warning its `verbose="error"` here silenced, so that the recording's annotations and
    `read_edf_annotations` of the same file disagreed without a word: each said once per file. The annotations as
    written are read from the annotation signal (a few bytes a record) of every EDF+ file: only they tell of an
    annotation MNE dropped, and, where one ends at the recording's end (within half a sample), a cut one from one that
    ends there as written."""
    kept = [
        Annotation(float(onset), float(duration), str(description))
        for onset, duration, description in zip(
            raw.annotations.onset, raw.annotations.duration, raw.annotations.description
        )
    ]
    seconds = raw.n_times / raw.info["sfreq"]
    half_sample = 0.5 / raw.info["sfreq"]
    as_written = _written_annotations(path, header)
    _say_annotations_after_end(path, as_written, seconds)
    if not any(abs(each.onset + each.duration - seconds) <= half_sample for each in kept):
        return kept
    # (the same list as `read_edf_annotations` gives, which read the whole file again through MNE for it)
    written = {(round(item.onset, 6), item.description): item.duration for item in as_written}
    cut = [
        (each, written[key])
        for each in kept
        if (key := (round(each.onset, 6), each.description)) in written and written[key] > each.duration + half_sample
    ]
    if cut:
        (first, duration), *_ = cut
        logger.warning(
            f"{path}: {len(cut)} EDF+ annotation(s) run past the recording's end at {seconds:g} s and are cut to end "
            f"there, as MNE reads them (the first: {first.description!r} at {first.onset:g} s, written {duration:g} s, "
            f"kept {first.duration:g} s); read_edf_annotations gives them as written."
        )
    return kept


def _written_annotations(path: Path, header: EdfHeader) -> list[Annotation]:
    """Each annotation written in the annotation signal(s) of an EDF+ / BDF+ file, with its duration as written (0
    where none is), onsets from its first data record as MNE counts them (less the onset of the time-keeping TAL that
    opens the first record, from the TAL after it on); the time-keeping TALs themselves (no description) are left out.
    Empty for a file without an annotation signal."""
    signals = [index for index, label in enumerate(header.labels) if label in _ANNOTATION_LABELS]
    record_bytes = sum(header.samples_per_record) * header.bytes_per_sample
    if not signals or record_bytes == 0:
        return []
    # signal after signal, each through all its records, as MNE joins them
    text = b"".join(_annotation_bytes(path, header, signal, record_bytes).tobytes() for signal in signals)
    written, offset = [], 0.0
    for number, (onset, _, duration, descriptions) in enumerate(_TAL.findall(text)):
        names = descriptions.split(b"\x14")[1:]
        written += [
            Annotation(float(onset) + offset, float(duration) if duration else 0.0, name.decode("utf-8", "replace"))
            for name in names
            if name
        ]
        # as MNE: the first TAL's empty description (its time-keeping one) sets the offset of the TALs after it, also
        # where annotations share that TAL ("+0.5\x14\x14start\x14\x00"), which keep its onset as written; read only
        # without them, that offset was missed and an annotation MNE kept was said to be left out
        if number == 0 and b"" in names:
            offset = -float(onset)
    return written


def _say_annotations_after_end(path: Path, written: list[Annotation], seconds: float) -> None:
    """Warn of the EDF+ annotations `written` in `path` that start after the recording's end (`seconds`): MNE drops
    them from the recording it reads, and its warning is silenced here, so they vanished without a word. Compared as
    MNE compares them, to the microsecond (`datetime.timedelta`): one written a fraction of a microsecond after the end
    is kept."""
    end = datetime.timedelta(seconds=seconds)
    after = [item for item in written if datetime.timedelta(seconds=item.onset) > end]
    if after:
        first, *_ = after
        logger.warning(
            f"{path}: {len(after)} EDF+ annotation(s) start after the recording's end at {seconds:g} s and are left "
            f"out of the recording, as MNE reads it (the first: {first.description!r} at {first.onset:g} s); "
            "read_edf_annotations gives them as written."
        )


def read_edf_annotations(path: str | Path) -> tuple[list[Annotation], datetime.datetime | None]:
    """EDF+ annotations of a file (e.g. a Sleep-EDF hypnogram) and the file's start (naive datetime,
    `EdfHeader.start`: the header's, with an EDF+ file's fraction of a second).

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
