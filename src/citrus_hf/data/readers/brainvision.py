"""BrainVision recordings (Brain Products' recorders, and most of OpenNeuro's EEG sets): a ``.vhdr`` text header, the
binary samples in the data file it names (``.eeg``) and the markers in its marker file (``.vmrk``), as Brain Products'
"BrainVision Core Data Format 1.0" lays them out. :func:`read_brainvision` reads one by its header, with numpy alone.

The header is an INI text: ``[Common Infos]`` names the data and marker files (relative to the header; ``$b`` is the
header's own name without ``.vhdr``), the ``DataFormat`` (``BINARY``; ``ASCII`` is refused), the
``DataOrientation`` (``MULTIPLEXED``: a sample of every channel, then the next; ``VECTORIZED``: every sample of a
channel, then the next channel), ``NumberOfChannels`` and ``SamplingInterval`` in microseconds; ``[Binary Infos]``
the ``BinaryFormat`` of a sample (`_BINARY_FORMATS`), little-endian; ``[Channel Infos]`` a line per channel,
``Ch1=<name>,<reference>,<resolution>,<unit>``: a sample times its resolution (1 where empty) is its value in the unit
(µV where none is written), and a comma in a name is written ``\\1``. The date of the marker file's first ``New
Segment`` marker (``YYYYMMDDhhmmssuuuuuu``) is the clock time of the sample it marks, which gives the recording's start;
a later one marks where the recorder paused and went on (`pause_positions`): such a recording is refused read whole,
as an EDF+D file with gaps is, and read a stretch at a time (`read_brainvision_stretches`) or its events within their
stretches by the folder readers.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...vocabulary_citrus import canonical_unit
from ..errors import CorruptFileError
from ._common import _as_path, merged_breaks, stretches_between
from .edf import Recording, picked_rows

logger = logging.getLogger(__name__)

# `BinaryFormat` -> the numpy type of one sample (the format is little-endian, `UseBigEndianOrder=NO`). The Core Data
# Format names the first three; Brain Products' recorders write INT_32 too, read the same way.
_BINARY_FORMATS = {"INT_16": "<i2", "UINT_16": "<u2", "INT_32": "<i4", "IEEE_FLOAT_32": "<f4"}
_ORIENTATIONS = ("MULTIPLEXED", "VECTORIZED")
# The unit of a channel whose line writes none, as the format defines it.
_DEFAULT_UNIT = "µV"
# A marker file's date: year, month, day, hours, minutes, seconds, microseconds; all zeros where the recorder knew none.
_MARKER_DATE = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d{6})")
# A header or marker file's identification line starts so (Brain Products' recorders write "Brain Vision", other
# writers "BrainVision"; versions 1.0 and 2.0 alike).
_IDENTIFICATION = re.compile(r"brain ?vision data exchange (header|marker) file", re.IGNORECASE)


@dataclass
class BrainVisionHeader:
    """What a ``.vhdr`` header says of its recording (module docstring).

    Attributes:
        path: the header.
        data_file: the file of samples it names, beside it.
        marker_file: the marker file it names (None where it names none).
        n_channels: the channels of each sample frame.
        sampling_rate: Hz, 1e6 / ``SamplingInterval``.
        dtype: the numpy type of one sample (`_BINARY_FORMATS`).
        orientation: ``MULTIPLEXED`` or ``VECTORIZED``.
        channel_names: one per channel, ``\\1`` read as a comma.
        resolutions: the factor of each channel's samples to its unit.
        units: each channel's unit (µV where its line writes none; a spelling of µV as µV, `canonical_unit`).
        data_points: the samples per channel the header declares (None where it declares none).
        rate_precision: the share of `sampling_rate` that ``SamplingInterval``'s written digits leave open, half a unit
            of its last digit over its value (`written_precision`): 976.56 µs, 1024 Hz written to two decimals, is
            any rate from 1023.9975 to 1024.0079 Hz.
    """

    path: Path
    data_file: Path
    marker_file: Path | None
    n_channels: int
    sampling_rate: float
    dtype: np.dtype
    orientation: str
    channel_names: list[str]
    resolutions: list[float]
    units: list[str]
    data_points: int | None = None
    sections: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    rate_precision: float = 0.0

    def n_samples(self) -> int:
        """The samples per channel the data file holds.

        Raises:
            CorruptFileError: a missing data file, one that is not a whole number of samples of every channel (the
                header's channel count or binary format is not the file's), or one shorter than ``DataPoints``.
        """
        if not self.data_file.is_file():
            raise CorruptFileError(
                f"{self.path} names the data file {self.data_file.name!r} (DataFile=), which is not beside it; put it "
                "there, or fix DataFile= in the header to name the data file (a renamed recording keeps its old name "
                "there: rename inside the header too)."
            )
        size = self.data_file.stat().st_size
        frame = self.n_channels * self.dtype.itemsize
        samples, left = divmod(size, frame)
        if left or samples == 0:
            raise CorruptFileError(
                f"{self.data_file} holds {size} bytes, {'no' if samples == 0 and not left else 'not a whole number of'}"
                f" sample frames of {self.n_channels} channels of {self.dtype.itemsize} bytes ({frame} bytes each) as "
                f"{self.path} declares them; the header's NumberOfChannels or BinaryFormat is not the file's, or the "
                "file is cut short. Re-download or re-export it."
            )
        if self.data_points is not None and samples < self.data_points:
            raise CorruptFileError(
                f"{self.data_file} is truncated: {self.path} declares {self.data_points} data points per channel and "
                f"it holds {samples}. Re-download or re-export it."
            )
        return samples


def _sections(text: str) -> dict[str, dict[str, str]]:
    """`{section: {key: value}}` of a BrainVision header or marker text (an INI file whose comments start with ";").
    The free text of a ``[Comment]`` section, which the recorder writes last (impedances, notes), is not read."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            if current.lower() == "comment":
                break
            sections.setdefault(current, {})
        elif current is not None and "=" in line:
            key, value = line.split("=", 1)
            sections[current][key.strip()] = value.strip()
    return sections


def _text(path: Path, what: str) -> str:
    """The text of a header or marker file: UTF-8 where it decodes as such (``Codepage=UTF-8``), else Windows' ANSI
    code page (``Codepage=ANSI``, and version 1.0 files that say none), in which µ is one byte.

    Raises:
        CorruptFileError: a file that is not a BrainVision `what` (its first line does not say so).
    """
    content = path.read_bytes()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    first = text.lstrip().split("\n", 1)[0]
    if not _IDENTIFICATION.match(first):
        raise CorruptFileError(
            f"{path} is not a BrainVision {what} file: its first line is {first.strip()[:80]!r}, where one starts "
            f"'Brain Vision Data Exchange {what.title()} File'. Re-download or re-export it."
        )
    return text


def _named_file(header: Path, value: str) -> Path:
    """The file a header's ``DataFile=`` / ``MarkerFile=`` names, beside the header (``$b``: the header's name without
    ``.vhdr``, as Brain Products' tools write it)."""
    return header.parent / value.replace("$b", header.stem)


def read_brainvision_header(path: str | Path) -> BrainVisionHeader:
    """Parse and check a BrainVision ``.vhdr`` header (module docstring).

    Raises:
        CorruptFileError: a file that is not a BrainVision header, an ASCII or frequency-domain or segmented recording,
            a BinaryFormat or DataOrientation not read (naming those that are), a channel count or sampling interval
            that is not a positive number, a channel without its ``Ch<n>=`` line, or a resolution that is not a number.
    """
    path = _as_path(path, "BrainVision header")
    sections = _sections(_text(path, "header"))
    common = {key.lower(): value for key, value in sections.get("Common Infos", {}).items()}
    binary = {key.lower(): value for key, value in sections.get("Binary Infos", {}).items()}
    data_format = common.get("dataformat", "BINARY").upper()
    if data_format != "BINARY":
        raise CorruptFileError(
            f"{path} holds its samples as {data_format} text (DataFormat={common.get('dataformat')}), which is not "
            "read; export the recording as BINARY (BrainVision Analyzer's Generic Data Export, or MNE: "
            "`mne.io.read_raw_brainvision(path).export('recording.edf')`)."
        )
    if common.get("datatype", "TIMEDOMAIN").upper() != "TIMEDOMAIN":
        raise CorruptFileError(
            f"{path} holds {common['datatype']} data, not a time series (DataType=TIMEDOMAIN); give the recording's "
            "raw time-domain export."
        )
    if common.get("segmentationtype", "NOTSEGMENTED").upper() != "NOTSEGMENTED":
        # segments (epochs cut around markers, or their average) laid end to end: read as one recording, windows and
        # events would run across the seams between them as if time went on
        raise CorruptFileError(
            f"{path} holds segmented data (SegmentationType={common['segmentationtype']}), epochs laid end to end "
            "that are no continuous recording; give the raw, unsegmented recording."
        )
    orientation = common.get("dataorientation", "MULTIPLEXED").upper()
    binary_format = binary.get("binaryformat", "").upper()
    if orientation not in _ORIENTATIONS or binary_format not in _BINARY_FORMATS:
        raise CorruptFileError(
            f"{path} declares DataOrientation={orientation} and BinaryFormat={binary_format or '(none)'}; a "
            f"BrainVision recording is read in the orientations {', '.join(_ORIENTATIONS)} and the binary formats "
            f"{', '.join(_BINARY_FORMATS)}. Re-export it in one of them."
        )
    if binary.get("usebigendianorder", "NO").upper() not in ("NO", "FALSE", "0"):
        raise CorruptFileError(
            f"{path} declares big-endian samples (UseBigEndianOrder={binary['usebigendianorder']}), which are not "
            "read; re-export it little-endian, as the format's default."
        )
    n_channels = _positive_number(path, common, "NumberOfChannels", int)
    interval = _positive_number(path, common, "SamplingInterval", float)
    data_points = int(common["datapoints"]) if common.get("datapoints", "").isdigit() else None
    lines = {key.lower(): value for key, value in sections.get("Channel Infos", {}).items()}
    names, resolutions, units = [], [], []
    for number in range(1, n_channels + 1):
        line = lines.get(f"ch{number}")
        if line is None:
            raise CorruptFileError(
                f"{path} declares {n_channels} channels and has no line Ch{number}= in [Channel Infos]; the header is "
                "corrupt. Re-download or re-export it."
            )
        fields = [part.strip() for part in line.split(",")]
        fields += [""] * (4 - len(fields))
        try:
            resolution = float(fields[2]) if fields[2] else 1.0
        except ValueError:
            resolution = float("nan")
        if not math.isfinite(resolution):
            raise CorruptFileError(
                f"{path}: channel Ch{number}'s resolution {fields[2]!r} is not a number; the header is corrupt. "
                "Re-download or re-export it."
            )
        names.append(fields[0].replace("\\1", ","))
        resolutions.append(resolution)
        units.append(canonical_unit(fields[3]) if fields[3] else _DEFAULT_UNIT)
    if "datafile" not in common:
        raise CorruptFileError(f"{path} names no data file (DataFile= in [Common Infos]); the header is corrupt.")
    marker = common.get("markerfile")
    return BrainVisionHeader(
        path=path,
        data_file=_named_file(path, common["datafile"]),
        marker_file=_named_file(path, marker) if marker else None,
        n_channels=n_channels,
        sampling_rate=1e6 / interval,
        dtype=np.dtype(_BINARY_FORMATS[binary_format]),
        orientation=orientation,
        channel_names=names,
        resolutions=resolutions,
        units=units,
        data_points=data_points,
        sections=sections,
        rate_precision=written_precision(common["samplinginterval"]) / interval,
    )


def written_precision(text: str) -> float:
    """Half a unit of the last digit of the number `text` as written ("1953.12" -> 0.005, "977" -> 0.5, "9.765625e+02"
    -> 5e-05): what its writer's rounding may have moved it by. Writers round the interval: MATLAB exporters
    write ``SamplingInterval=%g`` (1e6 / 512 Hz as 1953.12, 2.6 parts per million off), so a rate given to more digits
    (a BIDS sidecar's 512) is that rate when it lies within this of it (0 for a text that is no plain number)."""
    try:
        exponent = decimal.Decimal(text.strip()).as_tuple().exponent
    except decimal.InvalidOperation:
        return 0.0
    return 0.5 * 10.0**exponent if isinstance(exponent, int) else 0.0


def _positive_number(path: Path, common: dict[str, str], key: str, kind: type):
    """The ``[Common Infos]`` field `key` of the header `path` as `kind`, refused where missing or not above 0."""
    value = common.get(key.lower())
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not math.isfinite(number) or number <= 0:
        raise CorruptFileError(
            f"{path} gives {key}={value if value is not None else '(missing)'} in [Common Infos], not a positive "
            f"number{' of microseconds per sample' if key == 'SamplingInterval' else ''}; the header is corrupt. "
            "Re-download or re-export it."
        )
    return number


def brainvision_companions(path: str | Path) -> list[Path]:
    """The files the header `path` reads beside it (its data and marker files), as it names them; the header's own
    name with ``.eeg`` / ``.vmrk`` where it cannot be read (its reader then says why). A folder's listing passes over
    them: they are part of the recording read through its header, not files left unread."""
    path = Path(path)
    try:
        header = read_brainvision_header(path)
    except (CorruptFileError, OSError):
        return [path.with_suffix(".eeg"), path.with_suffix(".vmrk")]
    return [header.data_file] + ([header.marker_file] if header.marker_file is not None else [])


def _segment_markers(header: BrainVisionHeader) -> list[tuple[int, str]]:
    """`(position from 0, date field)` of each ``New Segment`` marker of the header's marker file, in its order; []
    where it has none or the file is missing (the start is then not known, and nothing else is read from it)."""
    marker = header.marker_file
    if marker is None or not marker.is_file():
        return []
    try:
        sections = _sections(_text(marker, "marker"))
    except CorruptFileError as error:
        logger.warning(f"{error} Its recording is read without a start time.")
        return []
    found = []
    for key, line in sections.get("Marker Infos", {}).items():
        # Mk<n>=<type>,<description>,<position from 1>,<size>,<channel>[,<date>]
        fields = [part.strip() for part in line.split(",")]
        if key.lower().startswith("mk") and fields[0].lower() == "new segment" and len(fields) > 2:
            try:
                found.append((int(key[2:]), int(fields[2]) - 1, fields[5] if len(fields) > 5 else ""))
            except ValueError:
                continue
    return [(position, date) for _, position, date in sorted(found)]


def _start(header: BrainVisionHeader, segments: list[tuple[int, str]]) -> datetime.datetime | None:
    """The first sample's clock time (naive: the recorder's clock) from the first ``New Segment`` marker's date, less
    the samples before the one it marks; None where it gives no date (all zeros: the recorder knew none)."""
    if not segments:
        return None
    position, date = segments[0]
    match = _MARKER_DATE.fullmatch(date)
    if match is None or not int(date):
        return None
    try:
        start = datetime.datetime(*map(int, match.groups()))
    except ValueError:
        return None
    return start - datetime.timedelta(seconds=position / header.sampling_rate)


def read_brainvision(
    path: str | Path, channels: Sequence[str] | None = None, *, across_pauses: bool = False
) -> Recording:
    """Read a BrainVision recording by its ``.vhdr`` header (module docstring).

    Args:
        path: the ``.vhdr`` header.
        channels: names or positions (``"0"``) of the channels to read, in the order wanted; every channel when None.
        across_pauses: read a recording that paused and went on (a second ``New Segment`` marker, `pause_positions`)
            as one, its stretches end to end; refused otherwise, as an EDF+D file with gaps is: a window across a
            pause would join samples seconds or hours apart, and every time after it would be wrong.

    Returns:
        A :class:`~.edf.Recording`: ``data`` ``(channels, time)`` float64, each channel's samples times its resolution,
        in its unit (``units``: µV where its line names none); ``start`` from the marker file's first ``New
        Segment`` date (None without one); ``breaks`` where it went on after a pause (`pause_positions`).

    Raises:
        CorruptFileError: as `read_brainvision_header`; a data file missing or not of the header's frames
            (`BrainVisionHeader.n_samples`), or VECTORIZED and longer than DataPoints; a recording that paused, unless
            `across_pauses`. ValueError: a channel the header does not name.
    """
    header = read_brainvision_header(path)
    rows = picked_rows(header.path, header.channel_names, channels)
    samples = _samples_read(header)
    segments = _segment_markers(header)
    pauses = _pauses(segments, samples)
    if pauses and not across_pauses:
        shown = ", ".join(f"{position / header.sampling_rate:g} s" for position in pauses[:3])
        raise CorruptFileError(
            f"{header.path} paused and went on: its marker file starts {len(pauses) + 1} segments, the recording "
            f"resuming at {shown}{', ...' if len(pauses) > 3 else ''} (New Segment markers). Read as one "
            "recording, a window would span the pause and every time after it would be wrong (as in an EDF+D file "
            "with gaps). A folder of recordings (citrus pretrain's pile, a set labelled by folder or participant) reads "
            "each stretch apart, and events (a BIDS "
            "events.tsv, a metadata.csv of file_name,onset,duration,label) are cut within their stretch: label its "
            "stretches so, or export each to its own file "
            "(mne.io.read_raw_brainvision(path).crop(tmin, tmax).export('part.vhdr'))."
        )
    return Recording(
        data=_scaled_rows(header, rows, samples, 0, samples),
        sampling_rate=header.sampling_rate,
        channel_names=[header.channel_names[row] for row in rows],
        units=[header.units[row] for row in rows],
        start=_start(header, segments),
        breaks=pauses,
    )


def pause_positions(path: str | Path) -> list[int]:
    """The samples (from 0) at which the BrainVision recording of the header `path` went on after a pause: its
    ``New Segment`` markers after the first (a recorder writes one where it starts and one where it resumes), those
    within the recording, in order; [] for a recording that never paused."""
    header = read_brainvision_header(path)
    return _pauses(_segment_markers(header), _samples_read(header))


def read_brainvision_stretches(
    path: str | Path, channels: Sequence[str] | None, segment_samples: int, breaks: Sequence[int] = ()
) -> tuple[float, list[str], list[tuple[int, Iterator[np.ndarray]]]]:
    """`(sampling rate, channel names, stretches)` of a BrainVision recording read `segment_samples` at a time, as
    `edf.read_edf_segments` reads an EDF file: each stretch between its pauses (`pause_positions`) and the `breaks`
    given beside them (samples from 0: a BIDS events table's boundary rows) its samples per channel and an iterator of
    `(channels, time)` segments, the last of each shorter, so that no segment spans a pause and a long recording never
    sits whole in memory (an hour of 64 channels at 1 kHz is 1.8 GB as float64). `channels` and the errors as for
    `read_brainvision`, raised before the first segment is read."""
    header = read_brainvision_header(path)
    rows = picked_rows(header.path, header.channel_names, channels)
    samples = _samples_read(header)
    pauses = merged_breaks(_pauses(_segment_markers(header), samples), breaks, samples)
    stretches = stretches_between(
        samples, pauses, segment_samples, lambda start, stop: _scaled_rows(header, rows, samples, start, stop)
    )
    return header.sampling_rate, [header.channel_names[row] for row in rows], stretches


def _samples_read(header: BrainVisionHeader) -> int:
    """The samples per channel a recording holds (`BrainVisionHeader.n_samples`, no more than DataPoints).

    Raises:
        CorruptFileError: a data file missing or not of the header's frames, or VECTORIZED and longer than DataPoints.
    """
    samples = header.n_samples()
    if header.data_points is not None and samples > header.data_points:
        if header.orientation == "VECTORIZED":
            # each channel's samples follow the last channel's: where the file's run is longer than DataPoints, the
            # second channel starts past them, and reading DataPoints per channel read another channel's samples
            raise CorruptFileError(
                f"{header.data_file} holds {samples} samples per channel (VECTORIZED: one channel after another) and "
                f"{header.path} declares DataPoints={header.data_points}, so where each channel starts is not known; "
                "fix DataPoints= in the header, or re-export the recording."
            )
        samples = header.data_points  # (the frames past them, a sample of every channel each, are none of its own)
    return samples


def _pauses(segments: list[tuple[int, str]], samples: int) -> list[int]:
    """The positions of the ``New Segment`` markers `segments` (`_segment_markers`) after the first, within the
    `samples` of the recording: where it went on after a pause."""
    return sorted({position for position, _ in segments[1:] if 0 < position < samples})


def _scaled_rows(header: BrainVisionHeader, rows: list[int], samples: int, start: int, stop: int) -> np.ndarray:
    """The samples `start:stop` of the channels `rows` of a recording of `samples` per channel, `(channels, time)`
    float64, each channel's times its resolution: only those are read from the data file (mapped, not loaded)."""
    shape = (samples, header.n_channels) if header.orientation == "MULTIPLEXED" else (header.n_channels, samples)
    mapped = np.memmap(header.data_file, dtype=header.dtype, mode="r", shape=shape)
    try:
        # only the rows read are copied, as float64, then scaled in place
        picked = mapped[start:stop, rows].T if header.orientation == "MULTIPLEXED" else mapped[rows, start:stop]
        data = np.array(picked, dtype=np.float64, order="C")
    finally:
        del mapped  # (the map closes here, not with an error's traceback: the file stays replaceable on Windows)
    data *= np.asarray([header.resolutions[row] for row in rows])[:, None]
    return data


__all__ = [
    "BrainVisionHeader",
    "brainvision_companions",
    "pause_positions",
    "read_brainvision",
    "read_brainvision_header",
    "read_brainvision_stretches",
]
