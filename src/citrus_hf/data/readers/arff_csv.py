"""Text tables: multivariate UEA ``.arff`` files (:func:`read_uea_arff`, through scipy), numeric CSV matrices
(:func:`read_csv_matrix`) and CSV files with a time column that gives the sampling rate (:func:`read_timed_csv`).

Each turns the errors of scipy, numpy and csv on an empty, truncated or non-numeric file into a
:class:`~citrus_hf.data.errors.CorruptFileError` that names the file. Text is read as UTF-8, or in the encoding its
byte-order mark names (:func:`text_encoding`); a file in another encoding is refused with the fix
(:func:`not_decodable`).
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import os
import re
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from ..._logs import warnings_captured
from ..errors import CorruptFileError
from ._common import (
    CHANNELS_OPTIONS,
    _as_path,
    check_classes_unrepeated,
    daylight_saving_note,
    parse_clock_time,
    utc_offset,
)

# Byte-order marks and the encodings they name, longest first (UTF-32's little-endian mark starts with UTF-16's).
# Excel's "Unicode Text" export is UTF-16 with a mark, its "CSV UTF-8" UTF-8 with one; the codecs named consume it.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# How far into a text file NUL bytes are looked for (UTF-16 without its mark decodes as UTF-8, a NUL beside each
# ASCII character, and would be reported as numbers that are not numbers).
_SNIFFED_BYTES = 4096
# numpy's words for a cell it could not read as a number, naming it (`_number_form_advice`).
_UNREAD_CELL = re.compile(r"could not convert string '(.*)' to")
# numpy's words for a row of another width than those before it
_CHANGED_WIDTH = re.compile(r"number of columns changed from (\d+) to (\d+) at row (\d+)")
# CSV cells that mark a missing value, upper-cased: pandas' `to_csv` writes NaN as an empty cell, R's `write.csv` as NA;
# the others are among the words pandas' `read_csv` reads as missing. ("NaN" is read as a number.)
MISSING_CELLS = frozenset({"", "NA", "N/A", "#N/A", "NULL", "NONE"})


def is_missing_cell(cell: str) -> bool:
    """Whether a CSV cell marks a missing value (`MISSING_CELLS`, in any case, spaces around it left out): the one
    rule for reading it as NaN and for telling a row of them from a row of units under the names."""
    return cell.strip().upper() in MISSING_CELLS


# A CSV cell of a pandas `Timedelta`, as `to_csv` writes a TimedeltaIndex: "0 days 00:00:00.010000", "-1 days
# +23:59:59.990000".
_TIMEDELTA_CELL = re.compile(r"(-?\d+) days? \+?(\d+):(\d{2}):(\d{2}(?:\.\d*)?)")


# A time of day without a date, as many loggers write their time column ("09:00:00.000", "9:00:00,5"): hours below 24,
# minutes and seconds, a fraction after "." or ","; a UTC offset after it where the logger writes one ("Z",
# "+01:00", "+0100", or "+01" as PostgreSQL writes a timetz: ISO 8601's time of day with its zone, as a date-time's
# is read, `_common._CLOCK_TIME`).
_TIME_OF_DAY = re.compile(
    r"([01]?\d|2[0-3]):([0-5]\d):([0-5]\d(?:[.,]\d+)?)\s*(Z|([+-])([01]\d|2[0-3])(?::?([0-5]\d))?)?", re.IGNORECASE
)
SECONDS_A_DAY = 86400.0
# The UTC offset a cell of clock time ends with, where it writes one after its time (`_noting_offsets`: a date alone,
# "2025-03-30", ends in digits after a dash too, before any ":")
_WRITTEN_OFFSET = re.compile(r"(?<=\d)\s*(Z|[+-]\d\d(?::?\d\d)?)\s*$", re.IGNORECASE)


def is_time_of_day(cell: str) -> bool:
    """Whether a CSV cell is a time of day without a date (`_TIME_OF_DAY`): a wall clock that claims no start, and
    runs past midnight back to 00:00 (`clock_seconds` reads it as seconds since midnight)."""
    return _TIME_OF_DAY.fullmatch(cell.strip()) is not None


def time_of_day_zone(cell: str) -> datetime.timezone | None:
    """The UTC offset written after a time of day (`is_time_of_day`: "09:00:00+01:00"), None where it has none."""
    time_of_day = _TIME_OF_DAY.fullmatch(cell.strip())
    if time_of_day is None or time_of_day.group(4) is None:
        return None
    return utc_offset(time_of_day.group(4))


def clock_seconds(cell: str) -> float | None:
    """A CSV cell of clock time as seconds, or None for any other cell: a date-time in ISO 8601 (pandas' `to_csv` of
    a DatetimeIndex: "2024-03-01 08:00:00.010", "+00:00" at its end where it has a time zone) since 1970, one without
    a time zone taken as UTC (the caller tells them apart, `clock_is_local`); a pandas Timedelta ("0 days
    00:00:00.010000") as it reads; a time of day alone ("09:00:00.000", `is_time_of_day`) since midnight (UTC's
    where an offset follows it, `time_of_day_zone`)."""
    cell = cell.strip()
    timedelta = _TIMEDELTA_CELL.fullmatch(cell)
    if timedelta is not None:
        days, hours, minutes, seconds = timedelta.groups()
        return int(days) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    time_of_day = _TIME_OF_DAY.fullmatch(cell)
    if time_of_day is not None:
        hours, minutes, seconds = time_of_day.group(1, 2, 3)
        since_midnight = int(hours) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
        zone = time_of_day_zone(cell)
        if zone is None:
            return since_midnight
        # since UTC midnight, so that a change of offset in the column (daylight saving's, "+02:00" to "+01:00")
        # is no hour back; within the day (the caller runs the column on past each midnight, `_past_midnight`)
        return (since_midnight - zone.utcoffset(None).total_seconds()) % SECONDS_A_DAY
    moment = parse_clock_time(cell)  # (not `fromisoformat`, which reads less on Python 3.10: "Z", "+0100")
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def clock_is_local(cell: str) -> bool:
    """Whether a cell `clock_seconds` reads is a date-time without a time zone, or a time of day without a date: a
    wall clock of an unknown zone or day, which claims no start."""
    if is_time_of_day(cell):
        return True
    moment = parse_clock_time(cell)
    return moment is not None and moment.tzinfo is None


# What a text file in another encoding than UTF-8 is told to do.
_RESAVE_AS_UTF8 = (
    're-save it as UTF-8 (a spreadsheet\'s "CSV UTF-8" format), or convert it: iconv -f cp1252 -t utf-8 FILE > NEW'
)


def text_encoding(path: str | Path) -> str:
    """The encoding a text file is read in: the one its byte-order mark names, else UTF-8 ("utf-8-sig", which
    reads a UTF-8 mark too: it would glue to the first cell).

    Raises:
        CorruptFileError: NUL bytes and no byte-order mark (UTF-16 without its mark, or not text at all).
    """
    path = _as_path(path)
    with open(path, "rb") as handle:
        head = handle.read(_SNIFFED_BYTES)
    encoding = next((name for mark, name in _BYTE_ORDER_MARKS if head.startswith(mark)), None)
    if encoding is not None:
        return encoding
    if b"\x00" in head:
        raise CorruptFileError(
            f"{path} holds NUL bytes, so it is not UTF-8 text: UTF-16 without a byte-order mark, or not a text file; "
            f"{_RESAVE_AS_UTF8}."
        )
    return "utf-8-sig"


def not_decodable(path: str | Path, error: UnicodeDecodeError) -> CorruptFileError:
    """The error for a text file that `error` says is not in the encoding `text_encoding` chose: a file without a
    byte-order mark is read as UTF-8, and Latin-1 / Windows-1252 (a spreadsheet's plain "CSV" on Windows: "é" as
    the one byte 0xe9) is not. Names the byte and the fix."""
    byte = error.object[error.start : error.start + 1].hex()
    encoding = "UTF-8" if error.encoding.replace("_", "-").lower().startswith("utf-8") else error.encoding.upper()
    return CorruptFileError(
        f"{path} is not {encoding} text (byte 0x{byte} at position {error.start} is no {encoding} character: "
        f'Latin-1 / Windows-1252, as a spreadsheet\'s plain "CSV" is written, or another encoding); {_RESAVE_AS_UTF8}.'
    )


def read_uea_arff(path: str | Path) -> tuple[np.ndarray, list[str], list[str]]:
    """Read a multivariate UEA ``.arff`` file (one relational attribute per example, then the class).

    Returns:
        ``(X (N, C, T) float32, labels (N,) as class names, class names in declared order)``; a missing value
        (``?``) is NaN.

    Raises:
        CorruptFileError: scipy cannot read it, it is not a multivariate UEA file, it holds no examples or examples
            of several shapes, an example without its class (``?``), a class declared twice.
    """
    from scipy.io import arff

    path = _as_path(path)
    try:
        data, meta = arff.loadarff(str(path))
    except Exception as error:
        if isinstance(error, ValueError) and str(error).startswith('"') and " value not in (" in str(error):
            # scipy's reader takes a nominal value in single quotes only, and named no fix
            raise CorruptFileError(
                f"scipy could not read ARFF file {path}: its data writes the class {str(error).split(' value')[0]} in "
                "double quotes, which scipy's ARFF reader does not take; write it in single quotes ('...')."
            ) from error
        if isinstance(error, IndexError):  # scipy indexes each channel's values by the declared time steps
            raise CorruptFileError(
                f"{path}: a channel of an example holds fewer values than the {_declared_steps(path)} time steps its "
                "relational attribute declares (channels of different lengths); pad the shorter channels with '?' "
                "(a missing value) to the declared length."
            ) from None
        raise CorruptFileError(f"scipy could not read ARFF file {path} ({type(error).__name__}: {error}).") from error
    if len(meta.names()) < 2:
        raise CorruptFileError(
            f"{path} declares the attributes {meta.names()}; a multivariate UEA ARFF file needs a relational "
            "attribute (the channels) and a class attribute."
        )
    relational, target = meta.names()[0], meta.names()[-1]
    kind, class_names = meta[target]
    if meta[relational][0] != "relational":
        shown = f"{meta.names()[:5]}{' ...' if len(meta.names()) > 5 else ''}"
        if any(meta[name][0] == "relational" for name in meta.names()):
            raise CorruptFileError(
                f"{path} is not a multivariate UEA ARFF file: its attributes are {shown}, where the UEA layout has "
                "the relational attribute (the channels) first and the class last; write them in that order."
            )
        # a univariate UCR file: a numeric attribute per time step
        raise CorruptFileError(
            f"{path} is not a multivariate UEA ARFF file: its first attribute {relational!r} is "
            f"{meta[relational][0]} and none is relational (the channels), as in a univariate UCR file (attributes "
            f"{shown}); read it with `scipy.io.arff.loadarff` and stack its numeric columns as (N, 1, T)."
        )
    if kind != "nominal":
        raise CorruptFileError(
            f"{path} is not a multivariate UEA ARFF file of classes: its last attribute {target!r} is {kind} (a "
            "regression target), where read_uea_arff reads nominal classes ({a,b,...}); read the targets with "
            "`scipy.io.arff.loadarff`."
        )
    check_classes_unrepeated(path, class_names)
    if len(data) == 0:
        raise CorruptFileError(f"{path} holds no examples after '@data' (an empty or truncated file).")
    examples = []
    for row in data[relational]:
        examples.append(np.array([list(channel) for channel in row], dtype=np.float32))
    if len({x.shape for x in examples}) != 1:
        raise CorruptFileError(f"{path}: examples have different shapes {sorted({x.shape for x in examples})}.")
    _check_no_channel_longer(path, examples[0].shape[1])
    labels = [value.decode() if isinstance(value, bytes) else str(value) for value in data[target]]
    # scipy reads a missing nominal value as the text "?", which would pass for a class of its own
    unlabelled = [index for index, label in enumerate(labels, start=1) if label not in class_names]
    if unlabelled:
        raise CorruptFileError(
            f"{path}: example {unlabelled[0]} has no class ('{labels[unlabelled[0] - 1]}'; {len(unlabelled)} "
            f"example(s) in all); give every example one of the classes {list(class_names)}, or leave the "
            "unlabelled ones out."
        )
    return np.stack(examples), labels, list(class_names)


def _check_no_channel_longer(path: Path, steps: int) -> None:
    """Refuse a channel of an example that holds more than the `steps` values its relational attribute declares:
    scipy reads as many as the header declares and drops the rest unsaid (a channel longer than the others, or a
    header that declares too few steps). Its values are counted in the file's own text, one example per data line
    (the UEA layout: `'1,2,3\\n4,5,6',class`), its channels parted by the escaped newline scipy parts them by."""
    example = 0
    with open(path, encoding=text_encoding(path), errors="replace") as lines:
        for line in lines:
            if line.lstrip().lower().startswith("@data"):
                break
        for line in lines:
            line = line.strip()
            if not line or line.startswith("%"):
                continue
            example += 1
            quote = line[0] if line[0] in "'\"" else None
            channels = line[1 : line.find(quote, 1)] if quote else line.split(",")[0]
            for channel, values in enumerate(channels.split("\\n"), start=1):
                held = len(values.strip().rstrip(",").split(","))  # (a trailing comma ends the values: scipy's too)
                if held > steps:
                    raise CorruptFileError(
                        f"{path}: example {example}'s channel {channel} holds {held} values, more than the {steps} "
                        "time steps its relational attribute declares (scipy would drop the rest); declare as many "
                        "attributes as the longest channel's values, and pad the shorter channels with '?'."
                    )


def _declared_steps(path: Path) -> str:
    """The number of time steps (attributes) the first relational attribute of the ARFF file `path` declares, as
    text for a message ("the" where the header cannot be read so far)."""
    steps, inside = 0, False
    with open(path, encoding=text_encoding(path), errors="replace") as lines:
        for line in lines:
            words = line.split()
            keyword = words[0].lower() if words else ""
            if keyword == "@data":
                break
            if keyword == "@attribute" and words[-1].lower() == "relational":
                inside = True
            elif keyword == "@end" and inside:
                return str(steps)
            elif keyword == "@attribute" and inside:
                steps += 1
    return "declared"


def read_csv_matrix(
    path: str | Path,
    delimiter: str | None = ",",
    skip_header: int = 0,
    columns: Sequence[int] | None = None,
    decimal_comma: bool = False,
    encoding: str | None = None,
    empty_last_column: int | None = None,
    clock_columns: Sequence[int] = (),
    width: int = 0,
    missing_cells: bool = False,
    keep: Callable[[np.ndarray], Sequence[int] | None] | None = None,
    unread_columns: Collection[int] = (),
    column_names: Sequence[str] | None = None,
    text_rows: list[int] | None = None,
    clock_zones: dict[int, dict[float, datetime.timezone]] | None = None,
) -> np.ndarray:
    """Read a numeric CSV file as ``(rows, columns)`` float64; ``columns`` picks some (e.g. all but a time stamp);
    ``delimiter=None`` splits on any whitespace; ``decimal_comma`` reads "0,25" as 0.25; ``encoding`` as `open`'s
    (None: the one its byte-order mark names, else UTF-8, `text_encoding`; numpy's default, the locale's, read UTF-8
    files as cp1252 on Windows). A quoted value (``"0.25"``: R's `write.csv` quotes its row names, and
    `csv.QUOTE_ALL` every cell) is read as the number it holds. ``empty_last_column``: the index of the last column
    where every line ends with the delimiter (a logger's trailing delimiter), which is checked empty and left out.
    ``clock_columns``: columns of clock time (`clock_seconds`), read as seconds; ``width``, the file's columns, where
    they are given. ``missing_cells``: a cell that marks a missing value (`MISSING_CELLS`: empty, as pandas'
    `to_csv` writes NaN, or "NA", as R's `write.csv` does) is NaN, as a "NaN" cell is (``width`` given).

    The file is parsed in blocks of lines (`_read_blocks`), each checked as a whole file is (its cells, its rows'
    widths, its empty last column; errors name the row in the file). ``keep``, where given, is called with the first
    row, ``(width,)`` (every column read, an empty last column left out), and names the columns to hold of every row
    (None: all): the others are let go block by block, so that one channel of a day-long many-channel file holds
    that channel alone, not every one. ``unread_columns``: columns (from 0, of the ``width``) that ``keep`` lets go,
    whose cells need not be numbers: a block where one of them holds text (Mind Monitor's ``Elements`` column of
    "/muse/elements/blink" markers beside its samples) is parsed again with those columns read as NaN, where it was
    refused for a column nobody asked for; ``text_rows``, where given, gathers the data rows (from 0) where one of
    them holds text (a marker row, whose samples are empty). ``column_names``: the file's names, to name the column
    of a cell that is no number and the fix (read the channels wanted alone, or drop that column). ``clock_zones``,
    where given, gathers for each of ``clock_columns`` whose cells end in a UTC offset `{its seconds as read: its
    offset}` at its first cell and at each cell whose offset is not the one before's (daylight saving's change, which
    the seconds since 1970 leave out).

    Raises:
        CorruptFileError: a cell that is no number, no rows, rows of different widths, or a value in
            ``empty_last_column``.
    """
    path = _as_path(path)
    encoding = encoding or text_encoding(path)
    number = (lambda cell: numpy_float(cell.replace(",", "."))) if decimal_comma else numpy_float
    converters = number if decimal_comma else None
    if empty_last_column is not None:
        # every other column read as it would be, the last one's empty cells as NaN, to check it holds nothing
        converters = {column: number for column in range(empty_last_column)}
        converters[empty_last_column] = lambda cell: number(cell) if cell.strip() else np.nan
    if clock_columns:
        if not isinstance(converters, dict):  # (a decimal comma is every other column's converter)
            converters = {column: number for column in range(width)} if decimal_comma else {}
        converters.update(
            {
                column: _clock_cell if clock_zones is None else _noting_offsets(clock_zones.setdefault(column, {}))
                for column in clock_columns
            }
        )

    def cells(text: str, skip: int) -> int:
        """How many cells the first row of `text` (after `skip` lines) holds, as numpy splits it (0: none)."""
        with warnings_captured():
            warnings.simplefilter("ignore", UserWarning)
            try:
                first = np.loadtxt(
                    io.StringIO(text), dtype=str, delimiter=delimiter, skiprows=skip, max_rows=1, ndmin=2, quotechar='"'
                )
            except ValueError:
                return 0
        return first.shape[1]

    def load(text: str, skip: int, converters) -> np.ndarray:
        with warnings_captured():
            # numpy warns "input contained no data" for an empty file; that case is an error below.
            warnings.simplefilter("ignore", UserWarning)
            return np.loadtxt(
                io.StringIO(text),
                delimiter=delimiter,
                skiprows=skip,
                ndmin=2,
                usecols=columns,
                converters=converters,
                quotechar='"',
            )

    # Excel's "#N/A" cell, which numpy would read as a comment from its "#" on (the row cut short, or one of them
    # alone dropped without a word), written as "NA" before numpy reads it
    sep = r"\s" if delimiter is None else re.escape(delimiter)
    excel_gap = re.compile(rf"(?<![^{sep}\n])[ \t]*#N/A[ \t]*(?=[{sep}\n]|$)", re.IGNORECASE)

    def parsed(text: str, skip: int) -> np.ndarray:
        if missing_cells and "#" in text:
            text = excel_gap.sub("NA", text)
        used, unread, missing = converters, False, False
        while True:
            try:
                block = load(text, skip, used)
            except ValueError as error:
                # numpy's own parsing first: a converter per cell reads a large file several times slower
                cell, column = _UNREAD_CELL.search(str(error)), _AT_COLUMN.search(str(error))
                if not unread and column is not None and int(column.group(1)) - 1 in unread_columns:
                    used, unread = _unread_as_nan(used, unread_columns, width), True
                elif not missing and missing_cells and cell is not None and is_missing_cell(cell.group(1)):
                    used, missing = _missing_as_nan(used, width), True
                else:
                    raise
            else:
                if unread and text_rows is not None:
                    text_rows.extend(done[0] + row for row in _rows_of_text(text, skip, delimiter, unread_columns))
                done[0] += block.shape[0]
                return block

    done = [0]  # the data rows the blocks parsed so far hold

    try:
        blocks = _read_blocks(path, encoding, skip_header, empty_last_column is not None, parsed, keep, cells)
    except UnicodeDecodeError as error:  # (a ValueError: before the one below)
        raise not_decodable(path, error) from None
    except ValueError as error:
        widths = _CHANGED_WIDTH.search(str(error))
        if widths is not None:  # numpy's advice (`usecols`) is no fix for a file of rows of several widths
            before, after, row = widths.groups()
            raise CorruptFileError(
                f"{path}: its rows hold different numbers of cells (the first {before}, data row {row} holds {after} "
                "cells); give every row one cell per column."
            ) from None
        advice = _number_form_advice(error, delimiter, decimal_comma) or _text_column_advice(error, column_names)
        raise CorruptFileError(f"{path} is not a numeric CSV file ({error}){advice}.") from error
    values, stray = blocks
    if values.shape[0] == 0:
        raise CorruptFileError(
            f"{path} holds no data rows (after skipping {skip_header} header line(s)); the file is empty or truncated."
        )
    if stray is not None:
        raise CorruptFileError(
            f"{path}: its first lines end with the delimiter (an empty last column, left out), and data row "
            f"{stray[0] + 1} holds a value in that last column ({stray[1]:g}); give every row its "
            "columns alike, with or without the delimiter at the end."
        )
    return values


# How much of a CSV `read_csv_matrix` parses at a time, in characters (about as many bytes, and about as many again
# as float64 values, a number being written in 8 or so): a block of lines of the file's full width, parsed, checked and
# cut to the columns kept before the next is read.
_BLOCK_CHARS = 2**18
# numpy's words for where it stopped, in rows of the lines it was given (a block's), to be told in rows of the file.
_AT_ROW = re.compile(r"at row (\d+)")
# numpy's words for the column (from 1) of a cell it could not read
_AT_COLUMN = re.compile(r"at row \d+, column (\d+)")
# How much more room than the rows a file's size foretells the values are first given (they are grown past it).
_ROOM = 1.05


def _read_blocks(
    path: Path,
    encoding: str,
    skip_header: int,
    trailing: bool,
    parsed: Callable[[str, int], np.ndarray],
    keep: Callable[[np.ndarray], Sequence[int] | None] | None,
    cells: Callable[[str, int], int],
) -> tuple[np.ndarray, tuple[int, float] | None]:
    """The CSV `path` parsed block by block (`_line_blocks`; `parsed(text, skip)`: ``(rows, columns)``), as
    `(values, stray)`: the columns `keep(first row)` names (all where it or `keep` is None) of every row, ``(rows,
    kept)``; and, where the file's lines end with the delimiter (`trailing`: its last column read, and left out),
    the first row (from 0) whose last cell holds a value, and that value (None if none does). The values gather in one
    array grown in place to the rows the file's size foretells, not in a list of blocks joined at the end, which held
    them twice.

    Raises:
        ValueError: numpy's, its row counted in the file's data rows (`_in_file_rows`); a block whose rows are of
            another width than the first block's, or that fails opened by a row of another width than the file's
            first (`cells(text, skip)`: its cells), is told as numpy tells a row of another width.
    """
    values, kept, stray = np.empty((0, 0)), None, None
    parsed_width, rows, width = 0, 0, 0  # (width: the cells of the file's first row, `cells(text, skip)`)
    with open(path, encoding=encoding) as handle:
        size = os.fstat(handle.fileno()).st_size
        for index, text in enumerate(_line_blocks(handle, skip_header)):
            skip = skip_header if index == 0 else 0
            try:
                block = parsed(text, skip)
            except ValueError as error:
                opening = cells(text, skip) if parsed_width else width
                if opening and opening != width:
                    # a block opened by a row of another width: numpy took that row's width for the block's and told
                    # of what failed next in its own words ("converter specified for column 3, which is invalid for
                    # the number of fields 3", a missing cell), where a read of the whole file told of the width
                    raise ValueError(
                        f"the number of columns changed from {width} to {opening} at row {rows + 1}"
                    ) from error
                told = _in_file_rows(str(error), rows, parsed_width)
                if told == str(error):  # (the first block's rows are the file's)
                    raise
                raise ValueError(told) from error
            if block.shape[0] == 0:  # comments and blank lines alone
                continue
            if not parsed_width:
                width = cells(text, skip)
                parsed_width = block.shape[1]
                kept = None if keep is None else keep(block[0, : parsed_width - trailing].copy())
                kept = None if kept is None else list(kept)
                # the rows to come, from the characters a row took (as many bytes, in a file of numbers)
                room = max(block.shape[0], int(size * block.shape[0] / len(text) * _ROOM))
                values = np.empty((room, parsed_width - trailing if kept is None else len(kept)))
            elif block.shape[1] != parsed_width:
                raise ValueError(
                    f"the number of columns changed from {parsed_width} to {block.shape[1]} at row {rows + 1}"
                )
            if trailing:
                filled = np.flatnonzero(~np.isnan(block[:, -1]))
                if filled.size and stray is None:
                    stray = (rows + int(filled[0]), float(block[filled[0], -1]))
                block = block[:, :-1]
            if kept is not None:
                block = block[:, kept]
            if rows + block.shape[0] > values.shape[0]:
                values.resize((max(rows + block.shape[0], int(values.shape[0] * 1.5)), values.shape[1]), refcheck=False)
            values[rows : rows + block.shape[0]] = block
            rows += block.shape[0]
    values.resize((rows, values.shape[1]), refcheck=False)
    return values, stray


def _line_blocks(handle: TextIO, skip_header: int) -> Iterator[str]:
    """The text file `handle` in blocks of whole lines of about `_BLOCK_CHARS` characters, the first holding its
    `skip_header` lines and one more, each ending where its quotes close (a quoted cell may hold a line break, which
    numpy reads)."""
    lines = skip_header + 1
    while text := handle.read(_BLOCK_CHARS):
        text += handle.readline()
        while lines and text.count("\n") < lines and (line := handle.readline()):
            text += line
        lines = 0
        quotes = text.count('"')
        while quotes % 2 and (line := handle.readline()):
            text += line
            quotes += line.count('"')
        yield text


def _in_file_rows(message: str, rows: int, width: int) -> str:
    """numpy's `message` on the lines of a block after `rows` data rows of a file `width` columns wide (0: none yet)
    with its row counted in the file's data rows; a block whose first row is of another width than `width` changed
    width there."""
    widths = _CHANGED_WIDTH.search(message)
    if widths is not None and width and int(widths.group(1)) != width:
        return f"the number of columns changed from {width} to {widths.group(1)} at row {rows + 1}"
    return _AT_ROW.sub(lambda found: f"at row {int(found.group(1)) + rows}", message, count=1)


def _missing_as_nan(converters, width: int) -> Callable[[str], float] | dict[int, Callable[[str], float]]:
    """`read_csv_matrix`'s `converters` (None, one for every column, or a dict of some of the `width` columns), each
    reading a cell of `MISSING_CELLS` as NaN."""

    def or_missing(convert: Callable[[str], float]) -> Callable[[str], float]:
        return lambda cell: np.nan if is_missing_cell(cell) else convert(cell)

    if converters is None or callable(converters):
        return or_missing(converters or numpy_float)
    count = max(width, max(converters, default=-1) + 1)
    return {column: or_missing(converters.get(column, numpy_float)) for column in range(count)}


def _unread_as_nan(converters, columns: Collection[int], width: int) -> dict[int, Callable[[str], float]]:
    """`read_csv_matrix`'s `converters` (None, one for every column, or a dict of some of the `width` columns) with
    each of `columns`, which are let go unread, read as NaN whatever it holds."""
    if converters is None or callable(converters):
        every = converters or numpy_float
        converters = {column: every for column in range(width)} if converters else {}
    return {**converters, **dict.fromkeys(columns, lambda cell: np.nan)}


def _rows_of_text(text: str, skip: int, delimiter: str | None, columns: Collection[int]) -> list[int]:
    """The rows (from 0) of the CSV lines `text` (after `skip` lines) where one of `columns` holds a cell that is
    neither a number nor a missing value."""
    cells = np.loadtxt(
        io.StringIO(text),
        dtype=str,
        delimiter=delimiter,
        skiprows=skip,
        usecols=sorted(columns),
        ndmin=2,
        quotechar='"',
    )

    def is_text(cell: str) -> bool:
        try:
            numpy_float(cell)
        except ValueError:
            return not is_missing_cell(cell)
        return False

    return [row for row in range(cells.shape[0]) if any(is_text(cell) for cell in cells[row])]


def _text_column_advice(error: ValueError, names: Sequence[str] | None) -> str:
    """Which named column holds the cell numpy could not read as a number (`error`: "... at row 3, column 13.") and
    the fix, where the file's `names` are known; "" otherwise."""
    column = _AT_COLUMN.search(str(error))
    if names is None or column is None or not 0 < int(column.group(1)) <= len(names):
        return ""
    name = names[int(column.group(1)) - 1]
    return (
        f"; that cell is in its column {name!r}: write a number there (or leave it empty, a missing value), or, where "
        f"the column holds text, not samples (a vendor's markers), name the other channels to read ({CHANNELS_OPTIONS}"
        "), which leaves it unread, or drop the column from the file"
    )


def numpy_float(cell: str) -> float:
    """A cell read as a number the way numpy's parser reads one where no converter is given: Python's `float` also
    takes digits apart by underscores ('1_0' is 10) and other scripts' digits ('１０'), which numpy refuses, so a
    cell read through a converter (a file holding a missing cell, a decimal comma, a trailing delimiter) would be
    read where the same cell in a file without one is refused. Whitespace around the number, Unicode's too (a
    non-breaking space pasted from a web table), numpy leaves out, and so does this."""
    if "_" in cell or not cell.strip().isascii():
        raise ValueError(f"could not convert string {cell!r} to float64")
    return float(cell)


def _clock_cell(cell: str) -> float:
    """A cell of a column of clock time (`clock_seconds`) as seconds; a cell of another form fails as numpy's
    converters fail, naming it."""
    seconds = clock_seconds(cell)
    if seconds is None:
        raise ValueError(f"could not convert string {cell!r} to a clock time")
    return seconds


def _noting_offsets(changes: dict[float, datetime.timezone]) -> Callable[[str], float]:
    """`_clock_cell`, adding `{seconds: offset}` to `changes` at a cell whose UTC offset, as written, is not the cell
    before's (its first cell's too): a block parsed again (`read_csv_numbers`) notes the same seconds again."""
    last = [None]

    def converted(cell: str) -> float:
        seconds = _clock_cell(cell)
        written = _WRITTEN_OFFSET.search(cell)
        if written is not None and ":" in cell[: written.start()] and written.group(1) != last[0]:
            last[0] = written.group(1)
            changes.setdefault(seconds, utc_offset(written.group(1)))
        return seconds

    return converted


def _number_form_advice(error: ValueError, delimiter: str | None, decimal_comma: bool) -> str:
    """What to do about a cell numpy could not read as a number (`error`, its words: "could not convert string
    '1.253,5' to float64 at row 3, column 1."), where its form says: a comma and a point in it, one a separator between
    thousands; a decimal comma not read as one (`decimal_comma`), or where the comma is the `delimiter`. "" otherwise."""
    cell = _UNREAD_CELL.search(str(error))
    if cell is None or "," not in cell.group(1):
        return ""
    if "." in cell.group(1):
        return (
            "; its numbers hold a comma and a point, one a separator between thousands, which is not read: export "
            "them without thousands separators"
        )
    if delimiter != ",":
        return (
            "" if decimal_comma else "; its numbers are written with a decimal comma: read it with decimal_comma=True"
        )
    return (
        "; a decimal comma is read where the comma is not the delimiter: separate the columns by semicolons or tabs, "
        "quote the cells, or export the numbers with a decimal point"
    )


def read_timed_csv(
    path: str | Path, value_column: str, time_column: str | None = None
) -> tuple[np.ndarray, float | None]:
    """Read one numeric column of a CSV with a header, and the sampling rate implied by its time column.

    The time column may hold milliseconds (numbers) or timestamps (``YYYY-MM-DD hh:mm:ss[.ffffff]``). The rate is
    (rows - 1) / (last time - first time): timestamps quantised by the recording clock (heartpy's data3.csv ticks
    in 15.6 ms steps) give the right mean rate this way, where per-sample differences would not.

    Returns:
        ``(values, rate in Hz or None without a time column)``.

    Raises:
        CorruptFileError: no data rows, a column missing or named twice, a row of fewer or more fields than the
            header (a decimal comma in a comma-separated file splits a value in two), a value that is no number, time
            stamps that do not increase, go back or jump (rows missing: `_check_timed_rows`).
    """
    path = _as_path(path)
    try:
        with open(path, encoding=text_encoding(path), newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise CorruptFileError(f"{path} is not a text CSV file ({error}); re-download it.") from error
    if not rows:
        raise CorruptFileError(f"{path} holds no data rows under its header; the file is empty or truncated.")
    names = reader.fieldnames or []
    if value_column not in rows[0]:
        raise CorruptFileError(f"{path} has no column {value_column!r}; its columns are {names}.")
    for column in (value_column, time_column):
        if names.count(column) > 1:  # csv.DictReader keeps the last column of a name
            raise CorruptFileError(
                f"{path}: its header names the column {column!r} {names.count(column)} times; name each column once."
            )
    short = next((index for index, row in enumerate(rows) if None in row.values()), None)
    if short is not None:  # csv.DictReader fills the fields of a row cut short with None
        raise CorruptFileError(
            f"{path}: data row {short + 1} has fewer fields than the header (a truncated file?); re-download it."
        )
    long = next((index for index, row in enumerate(rows) if None in row), None)
    if long is not None:  # and gathers a longer row's extra fields under the key None: its cells no longer line up
        raise CorruptFileError(
            f"{path}: data row {long + 1} has more fields than the header ({len(names)} names): a decimal comma in "
            'a comma-separated file ("1,5")? Write numbers with a decimal point, or quote the cells.'
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
    # first: a clock put back an hour mid-file (daylight saving time ending) may end before it starts
    _check_timed_rows(path, time_column, stamps, seconds)
    span = seconds[-1] - seconds[0]
    if not span > 0 or not np.isfinite(span):
        raise CorruptFileError(
            f"{path}: the time column {time_column!r} does not increase (from {stamps[0]!r} to {stamps[-1]!r} over "
            f"{len(stamps)} rows), so it gives no sampling rate."
        )
    return values, (len(values) - 1) / span


# A step of the time column longer than this many of its usual steps (the median of those above 0) is samples missing,
# unless the rows after it make up for it (`_caught_up`: a host late in stamping). A clock that stamps in ticks longer
# than a sample (heartpy's data3.csv: 0 or ~15 ms between samples at 100 Hz) steps up to 3.1 ticks where the recording
# host was late, and catches up after; a gap left unseen shifts the rate by at most this many steps over the file's
# length.
_GAP_STEPS = 5.0


def _check_timed_rows(path: Path, time_column: str, stamps: list[str], seconds: np.ndarray) -> None:
    """Refuse a time column that goes back or jumps (rows missing) between its first and last stamps: the rate
    `read_timed_csv` takes from those two counted the gap's time as samples (20 s at 100 Hz with 5 s of rows missing
    read as 75 Hz), and the values after it were read one after the other as if none were missing. A jump that the
    rows after it make up for (`_caught_up`: a host late in stamping) is no gap: no row is missing, and the rate
    holds."""
    steps = np.diff(seconds)
    usual = float(np.median(steps[steps > 0])) if np.any(steps > 0) else 0.0
    # a step back within the jitter of a streaming logger's clock (a chunk's rows stamped back from its arrival, which
    # came early) is no disorder; back further than a gap's length, the rows are out of order (files joined wrongly)
    back = np.flatnonzero(steps < -_GAP_STEPS * usual)
    if back.size:
        row = int(back[0])
        # an hour back is a local clock's where daylight saving time ends: sorting would interleave two hours
        note = daylight_saving_note(float(steps[row]), usual)
        raise CorruptFileError(
            f"{path}: its time column {time_column!r} goes back from {stamps[row]!r} to {stamps[row + 1]!r} after "
            f"data row {row + 1}"
            + (f".{note}" if note else "; sort the rows by time, or cut the file there into files of their own.")
        )
    jumps = [row for row in np.flatnonzero(steps > _GAP_STEPS * usual) if not _caught_up(seconds, int(row))]
    if jumps:
        row = int(jumps[0])
        note = daylight_saving_note(float(steps[row]), usual)
        raise CorruptFileError(
            f"{path}: its time column {time_column!r} jumps from {stamps[row]!r} to {stamps[row + 1]!r} after data "
            f"row {row + 1} ({steps[row]:g} s, where it steps {usual:g} s elsewhere)"
            + (
                f".{note}"
                if note
                else ": rows are missing there, and the rate from its first and last stamps would count the gap as "
                "samples. Cut the file at its gaps into files of their own (or fill the gaps)."
            )
        )


def _caught_up(seconds: np.ndarray, row: int) -> bool:
    """Whether the long step of the time stamps `seconds` (`(rows,)`) after `row` is a host late in stamping rows it
    held back (a logger that stamps rows as they arrive, stalled by a GC pause or a busy bus), not rows missing: its
    rows pile up after the step (on one stamp, or closer than usual) until the stamps are back on time. Decided by the
    rows within the step's length and up to four more after it, against the count each reading expects: with no row
    missing, as many as the file's mean rate fits in that time; with the step's time missing, as many as the rate of
    the rest of the file fits in the time after it."""
    if len(seconds) < 3:
        return False
    step = float(seconds[row + 1] - seconds[row])
    after = min(4 * step, float(seconds[-1] - seconds[row + 1]))
    rows = int(np.searchsorted(seconds, seconds[row] + step + after, side="right")) - row - 1
    if_none_missing = (step + after) * (len(seconds) - 1) / float(seconds[-1] - seconds[0])
    if_missing = after * (len(seconds) - 2) / float(seconds[-1] - seconds[0] - step) + 1
    return rows > (if_none_missing + if_missing) / 2
