"""WFDB records (PhysioNet: a ``.hea`` header, signal files, annotation files such as ``.atr`` beat labels):
:func:`read_wfdb` through the ``wfdb`` package (the ``[data]`` extra).

Two checks come first because ``wfdb`` reads these damaged records without a word: a sampling frequency it cannot
parse becomes its default of 250 Hz, and an annotation file cut short loses the annotations after the cut. A record
name that ``wfdb`` cannot parse (a space, a non-ASCII letter) or a header named ``NAME.HEA`` is refused first too,
naming the rename: ``wfdb`` failed on them as on a damaged download. A multi-segment record whose segments disagree
(frame rate, signal order in a fixed layout, a signal's unit) is refused too, as ``wfdb`` stitches them regardless
(`_check_wfdb_segments`); annotations are read at the time resolution their file records (`_annotation_samples`).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..._extras import require
from ..errors import CorruptFileError
from ._common import _as_path, channel_rows, several_rates_error
from .edf import Recording


@dataclass
class WfdbRecording(Recording):
    """A WFDB record with its annotations (``annotation_samples`` / ``annotation_symbols``)."""

    annotation_samples: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    annotation_symbols: list[str] = field(default_factory=list)


def _check_wfdb_rate(header: Path, lines: list[list[str]]) -> None:
    """The sampling frequency field of the WFDB header `header` (its fields `lines`, `_header_fields`: the third field
    of its record line, e.g. `360` or `360/30(0)`), when present, must be a positive number: wfdb falls back to the
    format's default of 250 Hz on a field it cannot parse, which would read the record at a wrong rate without a word.
    (A header without the field means 250 Hz; one that could not be read is wfdb's to report.)"""
    line = lines[0] if lines else []
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


# The record names wfdb's header parser takes (its `rx_record`: `[-\w]+`, which in practice is ASCII: it drops an
# accented letter). `wfdb.wrsamp` writes other names without complaint, and reading them back failed deep in wfdb, on a
# time field or a signal file of another name, which read as a damaged download.
_WFDB_RECORD_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _check_wfdb_name(record: Path) -> None:
    """Refuse, naming the fix (a rename), a record whose name wfdb cannot parse (a space, a dot, a non-ASCII letter)
    or whose header is named with an upper-case suffix (``100.HEA``, as FAT or Windows copies can name it: wfdb
    opens ``NAME.hea`` only). Both were reported as an incomplete or damaged record."""
    header = record.with_name(record.name + ".hea")
    if not _WFDB_RECORD_NAME.fullmatch(record.name):
        odd = sorted({character for character in record.name if not _WFDB_RECORD_NAME.fullmatch(character)})
        plain = re.sub(r"[^A-Za-z0-9_-]+", "_", record.name).strip("_") or "record"
        raise CorruptFileError(
            f"WFDB record {record}: its name {record.name!r} holds {', '.join(map(repr, odd))}; a WFDB record name is "
            "ASCII letters, digits, '_' and '-' only (wfdb cannot parse a header that names it otherwise). Rename the "
            f"record, e.g. to {plain!r}: its .hea file, its signal files and the names written inside the header."
        )
    if not header.is_file() and record.parent.is_dir():
        other = next((path for path in record.parent.iterdir() if path.name.lower() == header.name.lower()), None)
        if other is not None:
            raise CorruptFileError(
                f"WFDB header {other} has a suffix in upper case; wfdb reads a record's header only as NAME.hea, "
                f"in lower case (as PhysioNet names it). Rename it to {header.name}."
            )


def _header_fields(header: Path) -> list[list[str]]:
    """The fields of each line of the WFDB header `header` but its comments and blank lines (the record line first);
    [] for a header that cannot be read (wfdb reports it)."""
    try:
        lines = [line.split() for line in header.read_text(encoding="latin-1").splitlines()]
    except OSError:
        return []
    return [line for line in lines if line and not line[0].startswith("#")]


# A segment name of a multi-segment header, in wfdb's own grammar (its `rx_segment`: `[-\w]*~?`, "~" for a gap): no
# separator, so it names a header beside this one.
_WFDB_SEGMENT_NAME = re.compile(r"[-\w]*~?")


def wfdb_segment_names(header: Path) -> list[str]:
    """The segment names (the layout's too; "~" for a gap) a multi-segment WFDB header lists: its record line reads
    ``NAME/SEGMENTS ...``, then one ``SEGMENT LENGTH`` line per segment. [] for a single-segment header, or one whose
    record line cannot be read (wfdb reports it).

    Raises:
        CorruptFileError: a segment name outside wfdb's grammar (``../x``: a path, which the header cannot name),
            naming the header and the name; folder listings took it for a file name and failed inside pathlib.
    """
    return _listed_segments(header, _header_fields(header))


def _listed_segments(header: Path, lines: list[list[str]]) -> list[str]:
    """`wfdb_segment_names` of the header `header` from its fields `lines` (`_header_fields`), read already.

    Raises:
        CorruptFileError: as `wfdb_segment_names`.
    """
    if not lines or "/" not in lines[0][0]:
        return []
    try:
        count = int(lines[0][0].split("/", 1)[1])
    except ValueError:
        return []  # a malformed record line is wfdb's to report
    names = [line[0] for line in lines[1 : 1 + count]]
    bad = next((name for name in names if not _WFDB_SEGMENT_NAME.fullmatch(name)), None)
    if bad is not None:
        raise CorruptFileError(
            f"WFDB header {header} names the segment {bad!r}, which is no WFDB segment name (letters, digits, '_' "
            "and '-', or '~' for a gap: a segment is a header beside this one, never a path); the header is damaged "
            "or was edited. Re-download the record."
        )
    return names


def wfdb_segment_headers(header: Path) -> list[Path]:
    """The headers of the segments (and layout) the multi-segment WFDB header `header` names (`wfdb_segment_names`,
    less the ``~`` of a gap), as PhysioNet ships them beside it. [] for a single-segment header, and for one that names
    a segment as a path (``../x``): reading it refuses it, naming the name (folder listings failed inside pathlib)."""
    try:
        return _segment_header_files(header, wfdb_segment_names(header))
    except CorruptFileError:
        return []


def _segment_header_files(header: Path, names: list[str]) -> list[Path]:
    """The headers beside `header` of its segment names `names` (`wfdb_segment_names`), a gap's ``~`` left out."""
    return [header.with_name(name + ".hea") for name in names if name != "~"]


def wfdb_companions(header: str | Path) -> list[Path]:
    """The files beside the WFDB header `header` that its record is read from, as it names them: its signal files
    (the first field of each signal line: ``100.dat``, a PhysioNet/CinC Challenge record's ``A0001.mat``, a MATLAB
    file whose samples start at a byte offset), and a multi-segment record's segment headers with their signal files.
    Read from the header's text alone (no ``wfdb``); [] for one that cannot be read (its reader then says why). A
    folder's listing passes over them: they are part of the record, not files left unread (the .mat files of a
    Challenge set were named as "in formats citrus does not read")."""
    header = Path(header)
    lines = _header_fields(header)  # (once: a folder's listing asks this of every header beside a Challenge .mat)
    try:
        names = _listed_segments(header, lines)
    except CorruptFileError:
        return []
    if names:  # (a segment's header lists its own signal files; a layout segment names "~", none)
        segments = _segment_header_files(header, names)
        return segments + [file for segment in segments for file in _signal_files(segment, _header_fields(segment))]
    return _signal_files(header, lines)


def _signal_files(header: Path, lines: list[list[str]]) -> list[Path]:
    """The signal files the signal lines of the single-segment WFDB header `header` (its fields `lines`,
    `_header_fields`) name (``~``: none), in order, each once."""
    try:
        count = int(lines[0][1]) if lines and len(lines[0]) > 1 else 0
    except ValueError:
        return []  # a malformed record line is wfdb's to report
    named = dict.fromkeys(line[0] for line in lines[1 : 1 + count] if line[0] != "~" and "/" not in line[0])
    return [header.with_name(name) for name in named]


def wfdb_holds_annotations_only(header: str | Path) -> bool:
    """Whether the single-segment WFDB header `header` lists no signals: a record of annotations only, as PhysioNet's
    RR-interval databases (the NSR and CHF RR-interval ones) ship theirs, each beat in an annotation file beside it
    (``nsr001.ecg``). Read from the header's record line (``NAME 0 FS ...``)."""
    return _lists_no_signals(_header_fields(Path(header)))


def _lists_no_signals(lines: list[list[str]]) -> bool:
    """`wfdb_holds_annotations_only` of a header from its fields `lines` (`_header_fields`), read already."""
    return bool(lines) and len(lines[0]) > 1 and "/" not in lines[0][0] and lines[0][1] == "0"


def _segment_headers(wfdb, record: Path, master) -> list[tuple[str, Any]]:
    """`(name, wfdb header)` of each segment of the multi-segment record `record` (`master`: its header), in order,
    its "~" gaps left out. Each is read apart: wfdb's own `rdheader(..., rd_segments=True)` recurses without end on a
    segment whose signals have no names (the description field is optional), which stopped a folder holding such a
    record ("re-download it") and left its seams unchecked."""
    return [(name, wfdb.rdheader(str(record.with_name(name)))) for name in master.seg_name if name != "~"]


def _check_wfdb_segments(wfdb, record: Path, segment_names: list[str]) -> None:
    """Refuse a multi-segment record whose segments disagree on what wfdb stitches without looking: their frame rate
    (a segment at 180 Hz was read on as 360 Hz), in a fixed layout their signals' order (wfdb joins them by position,
    so a segment listing II before I swapped the channels from its start on; a variable layout's are matched by name),
    each signal's unit (a segment in µV beside one in mV: 1000 times larger from the seam on) and its samples per frame
    (its rate, which wfdb cannot change at a seam). Nothing to check for a single-segment record.

    `segment_names`: those its header lists (`_CheckedRecord.segment_names`; [] for a single-segment record).

    Raises:
        CorruptFileError: naming the segment, what it says and what the record's first segment (or layout) says.
    """
    if not segment_names:
        return
    try:
        master = wfdb.rdheader(str(record))
        segments = _segment_headers(wfdb, record, master)
    except Exception:  # a header or segment wfdb cannot read is reported by the read that follows, in its words
        return
    layout = bool(master.seg_len) and master.seg_len[0] == 0  # a variable layout's first segment lists the signals
    if not layout and "~" in master.seg_name:
        # (wfdb fills a variable layout's gaps with NaN, but fails on a fixed layout's: "'NoneType' object has no
        # attribute 'e_p_signal'", which read as a damaged download)
        raise CorruptFileError(
            f"WFDB record {record} is a multi-segment record without a layout segment and with gaps ('~' segments), "
            "which wfdb cannot read as one record. Read each of its segments as a record of its own ("
            + ", ".join(f"{name}.hea" for name, _ in segments[:3])
            + (", ..." if len(segments) > 3 else "")
            + ")."
        )
    data = segments[1:] if layout else segments
    if not data:
        return

    def units(segment) -> dict[str, str]:
        # (no unit written means mV, the WFDB default; µV and uV are one unit)
        written = list(segment.units or [])
        return {
            str(name): (written[i] if i < len(written) and written[i] else "mV")
            .replace("\u00b5", "u")
            .replace("\u03bc", "u")
            for i, name in enumerate(_signal_names(segment.sig_name or []))
        }

    def frames(segment) -> dict[str, int]:
        # each signal's samples per frame (its rate over the frame rate): wfdb failed deep in numpy on a signal whose
        # count changes at a seam ("could not broadcast input array from shape (400,) into shape (800,)"); signals
        # without a name go by their position (taken as "None" each, every one but the last went unchecked)
        counts = list(segment.samps_per_frame or [])
        names = _signal_names(segment.sig_name or [])
        return {name: int(counts[i]) if i < len(counts) else 1 for i, name in enumerate(names)}

    first_name, first = segments[0]
    expected_units, expected_frames = units(first), frames(first)
    for name, segment in data:
        where = f"WFDB record {record}: its segment {name!r}"
        if segment.fs is not None and master.fs is not None and not math.isclose(segment.fs, master.fs, rel_tol=1e-9):
            raise CorruptFileError(
                f"{where} is sampled at {float(segment.fs):g} Hz and the record at {float(master.fs):g} Hz; wfdb would "
                "read it on at the record's rate, every time after its start wrong. Read each segment as a record of "
                "its own (its .hea file)."
            )
        if not layout and list(segment.sig_name or []) != list(first.sig_name or []):
            raise CorruptFileError(
                f"{where} lists its signals as {list(segment.sig_name)} and the segment {first_name!r} as "
                f"{list(first.sig_name)}; in a record without a layout segment wfdb joins the segments by position, "
                "so its signals would be swapped from its start on. Read each segment as a record of its own (its "
                ".hea file), or re-download the record."
            )
        for signal, unit in units(segment).items():
            if signal in expected_units and unit != expected_units[signal]:
                raise CorruptFileError(
                    f"{where} records signal {signal!r} in {unit} and the {'layout' if layout else 'segment'} "
                    f"{first_name!r} in {expected_units[signal]}; wfdb would join the two units into one signal "
                    "without converting either. Read each segment as a record of its own (its .hea file)."
                )
        for signal, count in frames(segment).items():
            if signal in expected_frames and count != expected_frames[signal]:
                raise CorruptFileError(
                    f"{where} stores signal {signal!r} at {count} sample(s) per frame ({count * master.fs:g} Hz) and "
                    f"the {'layout' if layout else 'segment'} {first_name!r} at {expected_frames[signal]} "
                    f"({expected_frames[signal] * master.fs:g} Hz); wfdb cannot join one signal at two rates. Read each "
                    "segment as a record of its own (its .hea file)."
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


def read_wfdb(
    record: str | Path, annotation_extension: str | None = "atr", channels: Sequence[str] | None = None
) -> WfdbRecording:
    """Read a WFDB record (``.hea`` + signal files) and optionally its annotations with ``wfdb``.

    Args:
        record: the record path without extension (e.g. ``data/100``), or its header's (``data/100.hea``).
        annotation_extension: annotation file extension (``atr`` for reference beats), or None.
        channels: names or positions (``"0"``) of the signals to read, in the order wanted; every signal when None.
            A multi-frequency record (signals stored at several samples per frame) is read at each signal's own
            rate, so the signals read must share one (wfdb's default would average the faster ones down to the
            frame rate, a low-pass filter that also aliases).

    Returns:
        Signals ``(channels, time)`` in physical units (NaN where the record marks a sample missing, for the NaN
        policy of whatever reads it next), the rate, and the annotations' samples (at that rate, whatever time
        resolution the annotation file counts in: `_annotation_samples`) and symbols.

    Raises:
        FileNotFoundError: no header file at the path.
        CorruptFileError: a malformed header, a missing or malformed signal / annotation file (a segment named as a path, naming
            it), an annotation file cut short (naming it), or a record name wfdb cannot read (a space, a non-ASCII letter, ``NAME.HEA``: naming the
            rename).
        ValueError: an unknown channel. `SamplingRateError` (a ValueError): signals of several rates without
            ``channels`` picking one (naming them; `wfdb_names_by_rate` groups them beforehand).
    """
    wfdb = require("wfdb", "Reading WFDB records")

    record, header_fields, segment_names = _checked_record(record)
    _check_wfdb_segments(wfdb, record, segment_names)
    # The signals to read, from the header: reading every signal and picking after held 10x a channel of 8 (a
    # multi-segment record, whose signals wfdb stitches by segment, is read whole as before)
    read, rows, header_names = None, None, []
    if channels is not None and not segment_names:
        try:
            header = wfdb.rdheader(str(record))
        except Exception:  # a header wfdb cannot read: the read below says so, in its words
            header = None
        if header is not None and header.sig_name:
            header_names = _signal_names(header.sig_name)
            per_frame = list(header.samps_per_frame or [1] * len(header_names))
            rows = _wfdb_rows(record, header_names, per_frame, float(header.fs), channels)
            read = sorted(set(rows))
    try:
        # every signal at its own rate: `smooth_frames=True` would average a signal stored at 4 samples per frame
        rec = wfdb.rdrecord(str(record), smooth_frames=False, **({} if read is None else {"channels": read}))
    except FileNotFoundError as error:
        raise CorruptFileError(f"WFDB record {record} is incomplete: {error}.") from error
    except Exception as error:
        raise CorruptFileError(
            f"wfdb could not read record {record} ({type(error).__name__}: {error}); re-download it."
        ) from error
    if rec.e_p_signal is None or len(rec.e_p_signal) == 0:
        if _lists_no_signals(header_fields):
            raise CorruptFileError(
                f"WFDB record {record} lists no signals in its header: a record of annotations only (as PhysioNet's "
                "RR-interval databases ship theirs), with nothing to read as a signal; its beats are in the "
                "annotation file beside it (`wfdb.rdann(record, extension)`). Give a record with signals."
            )
        raise CorruptFileError(f"WFDB record {record} has no signal data.")
    # (a signal read alone keeps the name of its place in the header, as a signal without a name is given its place)
    names = _signal_names(rec.sig_name) if read is None else [header_names[position] for position in read]
    per_frame = list(rec.samps_per_frame or [1] * len(names))
    if read is None:
        rows = _wfdb_rows(record, names, per_frame, float(rec.fs), channels)
    else:  # the rows asked for, among the signals read
        rows = [read.index(row) for row in rows]
    frames = per_frame[rows[0]]
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
        samples = _annotation_samples(ann, float(rec.fs), float(rec.fs) * frames)
        symbols = list(ann.symbol)
    # each signal let go once copied: a stack of them all beside wfdb's held the record twice
    signals, rec.e_p_signal = rec.e_p_signal, None
    data = np.empty((len(rows), len(signals[rows[0]])), dtype=np.float64)
    for position, row in enumerate(rows):
        data[position] = signals[row]
        if row not in rows[position + 1 :]:
            signals[row] = None
    units = list(rec.units) if rec.units is not None else []
    return WfdbRecording(
        data=data,
        sampling_rate=float(rec.fs) * frames,
        channel_names=[names[row] for row in rows],
        units=[units[row] for row in rows] if len(units) == len(names) else [],
        annotation_samples=samples,
        annotation_symbols=symbols,
        start=_record_start(rec),
    )


def _signal_names(sig_name: Sequence[str | None]) -> list[str]:
    """The names of a record's signals as its header gives them (wfdb's `sig_name`), a signal without one (the
    description field is optional: wfdb gives None) by its position from 0, as a file that names no channels is read
    (.npy, WAV). Taken as they came, they were None, and a model fine-tuned on such records recorded "None" as its
    channel's name."""
    return [str(name) if name else str(position) for position, name in enumerate(sig_name)]


def _annotation_samples(ann, frame_rate: float, rate: float) -> np.ndarray:
    """`(annotations,)` int64: the times of `ann` (a `wfdb.Annotation`) as samples of the signals read at `rate` Hz.
    An annotation file counts ticks of its own time resolution where it records one (``## time resolution: 360``, as
    ``wrann`` writes a multi-frequency record's high-resolution annotations: `ann.fs`), else frames of the record
    (`frame_rate`; wfdb then gives the header's rate as `ann.fs`). Counted as frames, such a file's beats were read at
    twice their times on a signal of 2 samples per frame; a tick between two samples is rounded to the nearer."""
    resolution = float(ann.fs) if ann.fs is not None else frame_rate
    if not (math.isfinite(resolution) and resolution > 0):
        resolution = frame_rate
    ticks = np.asarray(ann.sample, dtype=np.int64)
    if resolution == rate:
        return ticks
    return np.round(ticks.astype(np.float64) * (rate / resolution)).astype(np.int64)


def _record_start(rec) -> datetime.datetime | None:
    """The record's start on the clock, from its header's base time and date (naive datetime); None where the header
    gives no base date (a base time alone names no day)."""
    if rec.base_time is None or rec.base_date is None:
        return None
    return datetime.datetime.combine(rec.base_date, rec.base_time)


class _CheckedRecord(NamedTuple):
    """A WFDB record `_checked_record` let through, with what it read of its header, once: the callers take these
    rather than read the header again (a folder's listing reads each record's twice, by rate and then whole)."""

    record: Path  # its path without the suffix (wfdb adds it)
    header_fields: list[list[str]]  # `_header_fields` of its header
    segment_names: list[str]  # `wfdb_segment_names` of its header ([] for a single-segment record)


def _checked_record(record: str | Path) -> _CheckedRecord:
    """The WFDB record `record` (its path with or without ``.hea``) after the checks of what wfdb reads wrong or
    reports as a damaged download (`_check_wfdb_name`, `_check_wfdb_rate`, `wfdb_segment_names`), its header read
    once for them all."""
    record = _as_path(record, "WFDB record (its path without extension)")
    if record.suffix.lower() == ".hea":  # the header's own path, as a folder listing gives it: wfdb adds the suffix
        record = record.with_suffix("")
    _check_wfdb_name(record)
    header = record.with_name(record.name + ".hea")
    if not header.exists():  # wfdb's FileNotFoundError read as a record missing its signal files
        raise FileNotFoundError(f"{header} does not exist; check the path.")
    fields = _header_fields(header)
    _check_wfdb_rate(header, fields)
    return _CheckedRecord(record, fields, _listed_segments(header, fields))


def wfdb_names_by_rate(record: str | Path) -> dict[float, list[str]]:
    """The signals' names of a WFDB record (its path, with or without ``.hea``) grouped by their rate (the frame rate
    x each one's samples per frame), fastest first, from its headers alone: one entry for a record whose signals
    share a rate, several for a multi-frequency one (ECG at 500 Hz beside acceleration at 50 Hz), as
    `EdfHeader.names_by_rate` groups an EDF file's. A multi-segment record's header lists no signal: its layout
    segment's (a variable layout) or its first segment's header does (`_check_wfdb_segments` holds the others to
    it); read as one rate, a multi-frequency one was refused whole by a folder's listing, where a single-segment one
    is one recording per rate.

    Raises:
        CorruptFileError: a header wfdb cannot read, or one `read_wfdb` refuses first.
    """
    wfdb = require("wfdb", "Reading WFDB records")

    record, _, segment_names = _checked_record(record)
    try:
        header = wfdb.rdheader(str(record))
        segments = [segment for _, segment in _segment_headers(wfdb, record, header)] if segment_names else []
    except Exception as error:
        raise CorruptFileError(
            f"wfdb could not read the header of record {record} ({type(error).__name__}: {error}); re-download it."
        ) from error
    # a multi-segment record: the signals of the layout, or of the first segment that holds any
    header = next((segment for segment in segments if segment.sig_name), header)
    names = _signal_names(getattr(header, "sig_name", None) or [])
    if not names:
        return {float(header.fs): []}
    per_frame = list(getattr(header, "samps_per_frame", None) or [1] * len(names))
    return _names_by_rate(names, per_frame, float(header.fs), range(len(names)))


def _names_by_rate(
    names: Sequence[str], per_frame: Sequence[int], frame_rate: float, rows: Sequence[int]
) -> dict[float, list[str]]:
    """The names of the signals at `rows` grouped by their rate (`frame_rate` x samples per frame), fastest first."""
    rates: dict[float, list[str]] = {}
    for row in rows:
        rates.setdefault(frame_rate * per_frame[row], []).append(names[row])
    return dict(sorted(rates.items(), reverse=True))


def _wfdb_rows(
    record: Path, names: list[str], per_frame: list[int], frame_rate: float, channels: Sequence[str] | None
) -> list[int]:
    """The positions of the signals `channels` (names, or positions where no signal has that name; all when None),
    refused unless they share one rate (`frame_rate` x samples per frame)."""
    rows = list(range(len(names))) if channels is None else channel_rows(record, names, channels)
    rates = _names_by_rate(names, per_frame, frame_rate, rows)
    if len(rates) > 1:
        raise several_rates_error(record, rates)
    return rows
