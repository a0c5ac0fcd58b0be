"""What several readers of :mod:`citrus_hf.data.readers` share: the check of the path they are given, channels picked
by name or position, the refusal of a file whose signals run at several rates, the clock times of a time column (ISO
8601, `parse_clock_time`), the note on a time column put back or forward an hour (daylight saving time), and numpy's
private modules that rebuild pickled arrays (the safe unpickler of :mod:`.pickles` wraps them; the TF-C loader of
:mod:`.tfc` allows them in ``torch.load``), whose home moved in numpy 2.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ..errors import CorruptFileError, SamplingRateError

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.26
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

# Where the channels of a file are chosen: `citrus predict`'s option and the readers' keyword (the commands that read
# folders of files take every channel).
CHANNELS_OPTIONS = "citrus predict --channels, `channels=` in Python"


# A clock time as loggers and pandas write it in a time column: ISO 8601's date, then its time after "T" or a space
# (hours, minutes, seconds and a fraction after "." or ",", each optional after the one before), then "Z" or a UTC
# offset (+01:00, +0100, +01) where the zone is known; in the extended form (2025-03-01T21:30:00) or the basic one
# (20250301T213000, as DICOM and some loggers write it), the basic one with its time only (a date of 8 digits alone
# is a number, an ID as likely as a date). Parsed here rather than by `datetime.fromisoformat`, which on Python 3.10
# reads only `isoformat()`'s own form: "2025-03-01T09:00:00.000Z" (JavaScript's toISOString), "+0100", the basic form
# or a fraction of 1, 2, 4 or 5 digits were refused there and read on 3.11+. Groups: `_CLOCK_FIELDS` of the extended
# form, then of the basic one, then the offset.
_CLOCK_TIME = re.compile(
    r"(?:(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d)(?::(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?)?"
    r"|(\d{4})(\d\d)(\d\d)[T ](\d\d)(?:(\d\d)(?:(\d\d)(?:[.,](\d+))?)?)?)"
    r"\s*(Z|[+-]\d\d(?::?\d\d)?)?",
    re.IGNORECASE,
)
# The fields each form of `_CLOCK_TIME` gives: year, month, day, hour, minute, second, fraction.
_CLOCK_FIELDS = 7


# The zone of a clock that writes its offset as +00:00 (London's in winter, Lisbon's, Reykjavik's): a local clock at
# offset zero, on which a time of day means what it does on a +01:00 clock. UTC's own clock ("Z", RFC 3339's "-00:00"
# for an unknown local offset, stamps counted since 1970) is `datetime.timezone.utc`, a clock of no place, on which a
# time of day is refused (`is_utc_clock`). The two are equal as offsets (a moment compares alike on both); a timezone
# of offset zero built without a name is `datetime.timezone.utc` itself, so a +00:00 clock was taken for UTC's. They
# are told apart by the name, which a pickled or copied start keeps, not by identity, which it loses.
ZERO_OFFSET = datetime.timezone(datetime.timedelta(0), "+00:00")


def is_utc_clock(moment: datetime.datetime) -> bool:
    """Whether `moment` is on UTC's own clock (`ZERO_OFFSET`'s note), not a local clock at offset zero: told by the
    zone's name, "+00:00" for the latter (a start pickled by a DataLoader's workers, `multiprocessing` or a `datasets`
    cache, or deep-copied, comes back on a new timezone of that name; compared by identity, it read as UTC's)."""
    return moment.utcoffset() == datetime.timedelta(0) and moment.tzname() != ZERO_OFFSET.tzname(None)


def utc_offset(written: str) -> datetime.timezone:
    """The UTC offset a clock time writes after it ("Z", "+01:00", "+0100", "+01") as a `datetime.timezone`: "Z" and
    "-00:00" as UTC's own clock, "+00:00" as a local clock at offset zero (`ZERO_OFFSET`).

    Raises:
        ValueError: an offset of 24 h or more.
    """
    if written.upper() == "Z":
        return datetime.timezone.utc
    digits = written[1:].replace(":", "")
    offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if not offset and written[0] == "+":
        return ZERO_OFFSET
    return datetime.timezone(-offset if written[0] == "-" else offset)


def parse_clock_time(cell: str) -> datetime.datetime | None:
    """The ISO 8601 date and time of a CSV cell (`_CLOCK_TIME`, spaces around it aside): aware where it gives its UTC
    offset, naive (a wall clock of no stated zone) where it does not; None for a cell that is none, or an impossible
    date or offset (a 31st of February, an hour 25, an offset of 24 h)."""
    match = _CLOCK_TIME.fullmatch(cell.strip())
    if match is None:
        return None
    extended, basic = match.groups()[:_CLOCK_FIELDS], match.groups()[_CLOCK_FIELDS : 2 * _CLOCK_FIELDS]
    year, month, day, hour, minute, second, fraction = extended if extended[0] is not None else basic
    zone = match.group(2 * _CLOCK_FIELDS + 1)
    try:
        zone_info = utc_offset(zone) if zone else None
        microseconds = int((fraction or "")[:6].ljust(6, "0"))  # as 3.11+ reads a longer fraction: cut
        return datetime.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), microseconds,
            tzinfo=zone_info,
        )  # fmt: skip
    except ValueError:
        return None


def daylight_saving_note(seconds: float, step: float) -> str:
    """What a time column that goes `seconds` forward (or back, < 0) in one step, where it steps `step` seconds
    elsewhere, is where that is an hour: a local clock put forward or back for daylight saving time, which its stamps
    cannot tell from samples missing or written twice (cutting the file there, or sorting its rows, is then no fix).
    "" for any other step."""
    if abs(abs(seconds) - 3600.0) > max(1.0, 2.0 * step):
        return ""
    how = "back, as where daylight saving time ends" if seconds < 0 else "forward, as where daylight saving time begins"
    # a stamp just after such a change, with the offset it then has (Central Europe's of 2025)
    example = "2025-10-26T02:00:00+01:00" if seconds < 0 else "2025-03-30T03:00:00+02:00"
    return (
        f" That is an hour {how}: the stamps are a local clock's. Write them with their UTC offset ({example}) or in "
        "UTC, which runs on."
    )


def several_rates_error(path: str | os.PathLike, by_rate: dict[float, list[str]]) -> SamplingRateError:
    """The refusal of the file or record `path` whose channels, `{rate: names}` (fastest first), run at several rates
    while one recording has one rate: the fix is to pick channels of one rate."""
    groups = "; ".join(f"{rate:g} Hz: {', '.join(names)}" for rate, names in by_rate.items())
    return SamplingRateError(
        f"{path} holds signals at {len(by_rate)} rates ({groups}); pick channels of one rate by name "
        "(--channels, or `channels=`)."
    )


def _as_path(value, what: str = "file") -> Path:
    """`value` as a `Path`; anything else (None from an unset option, an open file) is refused with what a reader
    takes, rather than pathlib's `expected str, bytes or os.PathLike object`."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"expected the {what} to read as a str or pathlib.Path, got {value!r} ({type(value).__name__})."
        )
    return Path(value)


def is_position(channel: str, names: Sequence[str]) -> bool:
    """Whether `channel` is a position among `names` ("0", "2"), the way to pick a channel a file does not name."""
    return channel.isdigit() and int(channel) < len(names)


def channel_rows(path: Path, names: Sequence[str], wanted: Iterable[str]) -> list[int]:
    """The rows of the channels `wanted` (names, or positions where no channel has that name), in that order.

    Raises:
        ValueError: a channel the file has neither by name nor by position, naming those it has; a name several of
            its channels share (a CSV header naming two columns "ECG"), naming their positions: the first was read
            in the place of each, the others never.
    """
    names = list(names)
    rows = []
    for channel in map(str, wanted):
        if names.count(channel) > 1:
            positions = [str(row) for row, name in enumerate(names) if name == channel]
            raise ValueError(
                f"{path} has {len(positions)} channels named {channel!r} (positions {', '.join(positions)}, from 0); "
                "name them by position (--channels, or `channels=`), or give each its own name in the file."
            )
        if channel in names:
            rows.append(names.index(channel))
        elif is_position(channel, names):
            rows.append(int(channel))
        else:
            raise ValueError(f"{path} has no channel {channel!r}; it has {names} (or name them by position, from 0).")
    return rows


def check_classes_unrepeated(path: Path, class_names: Sequence[str]) -> None:
    """Refuse a file that declares a class twice (``@classLabel true a b a``, ``{a,b,a}``): a label's index among
    the classes, which is what a model learns, would stand for two classes, and the count of classes would be one
    too many."""
    repeated = sorted({name for name in class_names if list(class_names).count(name) > 1})
    if repeated:
        raise CorruptFileError(
            f"{path} declares the class(es) {repeated} more than once (classes {list(class_names)}); declare each "
            "class once."
        )


def merged_breaks(own: Sequence[int], given: Iterable[int], total: int) -> list[int]:
    """The samples (from 0) at which a recording of `total` samples per channel goes on after a break, in order: its
    `own` (a BrainVision pause, an EEGLAB boundary event) and those `given` beside them (a BIDS events table's boundary
    rows) within it, one of the latter within a sample of one of its own taken as that one (EEGLAB's BIDS export writes
    its boundaries in both, timed half a sample apart: kept apart, they left a stretch of one sample)."""
    kept = [position for position in given if 0 < position < total and all(abs(position - each) > 1 for each in own)]
    return sorted({*own, *kept})


def stretches_between(
    total: int, breaks: Iterable[int], segment_samples: int, samples: Callable[[int, int], object]
) -> list[tuple[int, Iterator]]:
    """Each stretch of a recording of `total` samples per channel between its `breaks` (the samples from 0 at which it
    goes on after one; those outside it, and repeats, passed over), as `(its samples, an iterator of its (channels,
    time) segments of `segment_samples`, the last of each shorter)`, a segment read by `samples(start, stop)` when it
    is reached: no segment spans a break, and a long recording never sits whole in memory."""
    bounds = [0, *sorted({position for position in breaks if 0 < position < total}), total]

    def stretch(first: int, end: int) -> Iterator:
        for start in range(first, end, segment_samples):
            yield samples(start, min(end, start + segment_samples))

    return [(end - first, stretch(first, end)) for first, end in zip(bounds[:-1], bounds[1:], strict=True)]


__all__ = [
    "_as_path",
    "_multiarray",
    "_numeric",
    "channel_rows",
    "check_classes_unrepeated",
    "is_position",
    "merged_breaks",
    "stretches_between",
]
