"""One recording file of any format this package reads, by its suffix: :func:`read_recording` returns ``(channels,
time)`` samples with their rate and channel names, what the pipelines and ``citrus predict`` take.

* ``.edf`` / ``.bdf`` (EDF, EDF+, BDF): :func:`~.edf.read_edf`; the rate is the file's. A file whose signals run at
  several rates (Sleep-EDF: EEG at 100 Hz, respiration at 1 Hz) is read only with ``channels`` of one rate.
* ``.hea`` (WFDB; also the record's path without a suffix when ``RECORD.hea`` exists): :func:`~.wfdb.read_wfdb`.
* ``.wav`` (WAVE, as heart sounds and other signals recorded through a sound card come): the rate is the file's;
  integer samples are scaled to [-1, 1) as audio libraries read them (a WAV file records no physical unit).
* ``.npy``: ``(time,)`` or ``(channels, time)``; the rate must be given.
* ``.csv`` (also ``.tsv`` and ``.txt``): one column per channel, one row per sample, separated by commas,
  semicolons, tabs or spaces, an optional header row naming the channels (a column named as time stamps, ``time`` or
  ``timestamp``, is not read as a channel unless named in ``channels``), quoted cells read as the ``csv`` module
  reads them; UTF-8 text, or UTF-16 with its byte-order mark; the rate must be given.

``channels`` picks channels by name (EDF, WFDB, a CSV with a header) or by position (``"0"``, ``"2"``: any file).
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import math
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np

from ..._logs import warnings_captured
from ..errors import CorruptFileError, SamplingRateError
from ._common import _as_path, channel_rows, is_position, several_rates_error
from .arff_csv import not_decodable, read_csv_matrix, text_encoding
from .edf import Recording, check_channel_list, read_edf, read_edf_header
from .pickles import load_npy
from .wfdb import read_wfdb

logger = logging.getLogger(__name__)

# Suffix -> format name; the formats whose files carry their own rate.
RECORDING_FORMATS: dict[str, str] = {
    ".edf": "EDF",
    ".bdf": "BDF",
    ".hea": "WFDB",
    ".wav": "WAV",
    ".npy": "numpy",
    ".csv": "CSV",
    ".tsv": "CSV",  # delimited text of any of `_CSV_DELIMITERS`, or columns apart by spaces (`np.savetxt`'s default)
    ".txt": "CSV",
}
# The delimiters a CSV's first line is searched for, in this order: ";" first, as files that separate by it (the
# spreadsheet export where the comma is the decimal mark) may hold commas in their numbers; none found: whitespace.
_CSV_DELIMITERS = (";", "\t", ",")
# The rows under a CSV's first row that tell whether a first row of numbers is a header (`_numbers_header`).
_HEADER_EVIDENCE_ROWS = 50
# A cell written as a whole number (a channel number), and one written as a decimal: a decimal mark or an exponent.
_WHOLE_NUMBER = re.compile(r"\d+")
_DECIMAL_FORM = re.compile(r"[.,eE]")
RATED_FORMATS = frozenset({"EDF", "BDF", "WFDB", "WAV"})
# Full scale of a WAV file's integer samples (8-bit samples are unsigned, centred on 128; scipy reads 24-bit ones
# into the top bits of int32), so that they read as floats in [-1, 1) whatever the bit depth.
_WAV_FULL_SCALE = {
    np.dtype(np.uint8): 128.0,
    np.dtype(np.int16): 2.0**15,
    np.dtype(np.int32): 2.0**31,
    np.dtype(np.int64): 2.0**63,
}
# Header names of a CSV column that holds time stamps rather than a channel (compared lower-cased, a unit in brackets
# or parentheses left out and spaces read as underscores: "Time [s]", "time (ms)", "Elapsed time").
TIME_COLUMNS = frozenset(
    {"time", "timestamp", "timestamps", "t", "seconds", "time_s", "time_ms", "ms", "elapsed_time", "time_stamp"}
)
# What to do about a CSV's time stamps that step at another rate than the one given (`_check_time_stamps`; `{rate}`:
# the rate they say), in `citrus predict`'s words: a folder of recordings, read without a choice of channels, words it
# its own way (`read_recording`'s `time_stamps_fix`).
TIME_STAMPS_FIX = (
    "give the rate the time stamps say (--sampling-rate {rate:g}), or name the channels to read (--channels) to read "
    "it as written"
)


def _column_key(name: str) -> str:
    """A CSV header cell as `TIME_COLUMNS` compares it: lower-cased, a unit in brackets or parentheses dropped,
    spaces and dashes read as underscores ("Time [s]" -> "time")."""
    return re.sub(r"[\s\-]+", "_", re.sub(r"[\[(].*?[\])]", "", name).strip().lower()).strip("_")


def _is_index_column(name: str) -> bool:
    """Whether a CSV header cell names the row index pandas writes by default (`DataFrame.to_csv()` with its index:
    an empty first header cell, read back by pandas as "Unnamed: 0"): a count of rows, not a channel."""
    return name.strip() == "" or name.strip().lower().startswith("unnamed: ")


def recording_format(path: str | Path) -> str:
    """The format `read_recording` reads `path` as (a key of `RECORDING_FORMATS`' values).

    Raises:
        ValueError: a suffix it does not read, naming those it does.
    """
    path = _as_path(path, "recording")
    suffix = path.suffix.lower()
    if suffix in RECORDING_FORMATS:
        return RECORDING_FORMATS[suffix]
    if path.with_name(path.name + ".hea").is_file():  # a WFDB record named without its suffix: "data/100"
        return "WFDB"
    raise ValueError(
        f"{path}: no reader for {suffix or 'a file without a suffix'}; recordings are read from "
        f"{', '.join(sorted(RECORDING_FORMATS))} files (or a WFDB record's path without .hea). Convert it to one, "
        "e.g. `np.save('recording.npy', samples)` as (channels, time)."
    )


def read_recording(
    path: str | Path,
    channels: Sequence[str] | None = None,
    sampling_rate: float | None = None,
    *,
    check_time_stamps: bool = True,
    time_stamps_fix: str = TIME_STAMPS_FIX,
) -> Recording:
    """Read one recording file (see the module docstring for the formats).

    Args:
        path: the file (a WFDB record: its ``.hea`` file or its path without the suffix).
        channels: names or positions (``"0"``) of the channels to read, in the order wanted; every channel when None.
        sampling_rate: Hz; required for ``.npy`` and ``.csv``, and when given for a file that records its own rate,
            it must be that rate.
        check_time_stamps: compare a CSV's time column with `sampling_rate` (False where the rate given is a
            stand-in and the file's true rate is not known).
        time_stamps_fix: what the error for time stamps that contradict `sampling_rate` advises, `{rate}` the rate
            they say (default: `TIME_STAMPS_FIX`, in `citrus predict`'s options).

    Returns:
        A `Recording` with ``data`` ``(channels, time)`` float64 in the file's units.

    Raises:
        ValueError: an unknown suffix, a missing rate or an unknown channel (each names the fix).
            `CorruptFileError` (a ValueError) for damaged files; `SamplingRateError` (a ValueError) for a rate given
            that the file's own rate or time stamps contradict, or signals of several rates without ``channels``.
    """
    path = _as_path(path, "recording")
    kind = recording_format(path)
    if path.exists() and not path.is_file():
        # a named pipe blocked the read forever, and a link to a device (/dev/zero) read until memory ran out
        what = "a folder" if path.is_dir() else "a named pipe" if stat.S_ISFIFO(path.stat().st_mode) else "a device"
        raise ValueError(f"{path} is {what}, not a file; recordings are read from files: save the signal to one.")
    check_channel_list(channels)
    wanted = None if channels is None else [str(channel) for channel in channels]
    if kind not in RATED_FORMATS and sampling_rate is None:
        raise ValueError(
            f"{path}: a {kind} file does not record its sampling rate; give it (--sampling-rate HZ, or "
            "`sampling_rate=`)."
        )
    if sampling_rate is not None:
        # the config's and the extractor's check; imported here so that `import citrus_hf.data` stays free of
        # transformers
        from ...configuration_citrus import as_sampling_rate

        sampling_rate = as_sampling_rate(sampling_rate)
    if kind in ("EDF", "BDF"):
        recording = read_edf(path, _edf_channels(path, wanted))
    elif kind == "WFDB":
        recording = read_wfdb(path, annotation_extension=None, channels=wanted)
    elif kind == "WAV":
        recording = _pick(read_wav(path), wanted, path)
    else:
        if kind == "numpy":
            data = np.asarray(load_npy(path))
            names = None
        else:
            data, names = _read_csv(path)
        if data.dtype.kind not in "biuf" or data.ndim not in (1, 2) or data.size == 0:
            raise CorruptFileError(
                f"{path} holds a {data.dtype} array of shape {data.shape}; a recording is numbers shaped (time,) or "
                "(channels, time)."
            )
        data = np.atleast_2d(data.astype(np.float64))
        if kind != "numpy" and data.shape[1] == 1 and data.shape[0] > 1:
            raise ValueError(
                f"{path} holds one row of {data.shape[0]} values; a {kind} recording is a column per channel and a row "
                "per sample: write the signal as a column (`np.savetxt(path, signal.T, delimiter=',')`)."
            )
        if kind == "numpy" and data.shape[0] > data.shape[1]:
            raise ValueError(
                f"{path} holds an array of shape {data.shape}, which reads as {data.shape[0]} channels of "
                f"{data.shape[1]} samples; a recording is (channels, time): save its transpose (`array.T`)."
            )
        if names is not None and wanted is None:
            wanted = _channels_of_csv(path, data, names, sampling_rate if check_time_stamps else None, time_stamps_fix)
        names = names or [str(index) for index in range(data.shape[0])]
        recording = _pick(Recording(data=data, sampling_rate=float(sampling_rate), channel_names=names), wanted, path)
    if (
        sampling_rate is not None
        and kind in RATED_FORMATS
        and not math.isclose(sampling_rate, recording.sampling_rate, rel_tol=1e-9)
    ):
        raise SamplingRateError(
            f"{path} records its rate, {recording.sampling_rate:g} Hz, and the sampling rate given is "
            f"{sampling_rate:g} Hz; leave the rate out for {kind} files."
        )
    return recording


# The first bytes of a WAV file (RIFF, its big-endian twin, and the 64-bit RF64).
_WAV_MAGIC = (b"RIFF", b"RIFX", b"RF64")


def is_wav(content: bytes) -> bool:
    """Whether `content` (a file's bytes, or its first four) starts as a WAV file does."""
    return content[:4] in _WAV_MAGIC


def read_wav(path: Path | BinaryIO, name: str | None = None) -> Recording:
    """A WAV file (a path, or its bytes as a file object: what a `datasets.Audio` column holds undecoded, named
    `name` in errors) as a `Recording`: its rate, its channels named by position, integer samples scaled to [-1, 1)."""
    import struct
    import warnings

    from scipy.io import wavfile

    try:
        with warnings_captured(record=True) as caught:
            warnings.simplefilter("always", wavfile.WavFileWarning)  # chunks beside the samples (LIST, cue), unread
            rate, samples = wavfile.read(path, mmap=False)
    except (ValueError, EOFError, OSError, struct.error) as error:  # scipy's words for a damaged or non-WAVE file
        raise CorruptFileError(f"{name or path} could not be read as a WAV file ({error}); re-export it.") from None
    except ZeroDivisionError:  # scipy divides by the format chunk's channel count and block size unchecked
        raise CorruptFileError(
            f"{name or path} could not be read as a WAV file (its format chunk declares 0 channels or a block size "
            "of 0 bytes); re-export it."
        ) from None
    except UnboundLocalError:  # scipy's reader on a header with no `fmt ` / `data` chunk (a recording cut short)
        raise CorruptFileError(
            f"{name or path} could not be read as a WAV file (its header is not followed by the format and data "
            "chunks: the recording was cut short); re-export it."
        ) from None
    # scipy reads a data chunk cut short (an interrupted copy) as far as it goes, with only a warning
    cut = next((str(warning.message) for warning in caught if "prematurely" in str(warning.message)), None)
    if cut is not None:
        raise CorruptFileError(
            f"{name or path} is truncated: its header declares more samples than the file holds ({cut}); "
            "re-export or re-copy it."
        )
    if samples.size == 0:
        raise CorruptFileError(f"{name or path} holds no samples.")
    if not rate > 0:  # (a rate of 0 reached `citrus data info` as a recording of infinite duration)
        raise CorruptFileError(
            f"{name or path} declares a sampling rate of {rate} Hz in its format chunk; re-export it."
        )
    if samples.dtype.kind == "u":
        data = (samples.astype(np.float64) - _WAV_FULL_SCALE[samples.dtype]) / _WAV_FULL_SCALE[samples.dtype]
    elif samples.dtype.kind == "i":
        data = samples.astype(np.float64) / _WAV_FULL_SCALE[samples.dtype]
    else:
        data = samples.astype(np.float64)
    data = np.atleast_2d(data.T)  # (time, channels) -> (channels, time)
    return Recording(data=data, sampling_rate=float(rate), channel_names=[str(index) for index in range(data.shape[0])])


def _edf_channels(path: Path, wanted: list[str] | None) -> list[str] | None:
    """The channel names to read from an EDF / BDF file: positions turned into names, and every signal when none is
    wanted, provided they share one rate (else the rates and their channels are listed, to pick from)."""
    header = read_edf_header(path)
    names = list(header.signal_names())
    if wanted is not None:
        return [names[int(name)] if name not in names and is_position(name, names) else name for name in wanted]
    by_rate = header.names_by_rate()
    if len(by_rate) > 1:
        raise several_rates_error(path, by_rate)
    return None


def _channels_of_csv(
    path: Path, data: np.ndarray, names: list[str], sampling_rate: float | None, time_stamps_fix: str = TIME_STAMPS_FIX
) -> list[str] | None:
    """The columns of a CSV with a header that are channels (None: all of them): not a device's time stamps
    (`TIME_COLUMNS`) nor pandas' row index (`_is_index_column`), unless every column is one. Time stamps that step
    at another rate than `sampling_rate` (when given) are refused, advising `time_stamps_fix`: the recording would be
    scored at a wrong rate."""
    index = [row for row, name in enumerate(names) if _is_index_column(name)]
    timed = [row for row, name in enumerate(names) if _column_key(name) in TIME_COLUMNS]
    if not (index or timed) or len(index) + len(timed) >= len(names):
        return None
    if sampling_rate is not None:
        for row in timed:
            _check_time_stamps(path, names[row], data[row], sampling_rate, time_stamps_fix)
    described = [f"{names[row]!r} (time stamps)" for row in timed] + [f"{names[row]!r} (a row index)" for row in index]
    logger.warning(
        f"{path}: column(s) {', '.join(described)} not read as channels; name the channels to read (--channels, or "
        "`channels=`) to choose otherwise."
    )
    return [name for row, name in enumerate(names) if row not in index and row not in timed]


def _check_time_stamps(
    path: Path, name: str, stamps: np.ndarray, sampling_rate: float, fix: str = TIME_STAMPS_FIX
) -> None:
    """Refuse a CSV's time column whose step (the median between rows, in milliseconds where its name says "ms",
    else in seconds or, as a fallback, milliseconds) contradicts `sampling_rate`: 10 s at 250 Hz given as 100 Hz
    would be scored as 25 s. `fix` is the advice (`TIME_STAMPS_FIX`)."""
    steps = np.diff(stamps)
    if steps.size < 2 or not np.isfinite(steps).all():
        return
    step = float(np.median(steps))
    if not step > 0:
        return
    units = (1e-3,) if "ms" in name.lower() else (1.0, 1e-3)  # "time_ms", "ms", "Time (ms)"
    # the median step, or the mean one: a clock that stamps to the millisecond steps 3 or 4 ms at 256 Hz, whose
    # median (4 ms, 250 Hz) is off by more than the tolerance while the mean is exact
    mean_step = float(stamps[-1] - stamps[0]) / (len(stamps) - 1)
    matched = [
        unit
        for unit in units
        if any(
            each > 0 and math.isclose(1.0 / (each * unit), sampling_rate, rel_tol=0.02) for each in (step, mean_step)
        )
    ]
    if matched:
        unit = matched[0]
        _check_time_gaps(path, name, stamps, 1.0 / (sampling_rate * unit), "ms" if unit == 1e-3 else "s")
        return
    implied = 1.0 / (step * units[0])
    raise SamplingRateError(
        f"{path}: its time column {name!r} steps {step:g} {'ms' if units[0] == 1e-3 else 's'} between samples "
        f"({implied:g} Hz), and the sampling rate given is {sampling_rate:g} Hz; {fix.format(rate=implied)}."
    )


def _check_time_gaps(path: Path, name: str, stamps: np.ndarray, step: float, unit: str) -> None:
    """Refuse a CSV's time column that jumps (a step of more than 1.5 of its usual `step`: samples missing) or goes
    back: the file's samples are read one after the other at the rate, so every time reported after a gap would be
    early by the gap (a minute missing scored a sample of 130 s at 70 s), as an EDF+D file's gaps would; jitter of
    clocks that stamp to the millisecond stays within the bound."""
    steps = np.diff(stamps)
    irregular = np.flatnonzero((steps > 1.5 * step) | (steps < 0))
    if irregular.size == 0:
        return
    row = int(irregular[0])
    before, after = float(stamps[row]), float(stamps[row + 1])
    what = (
        f"goes back from {before:g} to {after:g} {unit}"
        if after < before
        else f"jumps from {before:g} to {after:g} {unit} ({after - before - step:g} {unit} of samples missing)"
    )
    raise CorruptFileError(
        f"{path}: its time column {name!r} {what} after data row {row + 1}, where it steps {step:g} {unit} elsewhere; "
        "the samples are read one after the other, so every time after it would be wrong. Cut the file at its gaps "
        "into files of their own (or fill the gaps), or drop the time column to read it as evenly sampled."
    )


def _pick(recording: Recording, wanted: list[str] | None, path: Path) -> Recording:
    """`recording` restricted to the channels `wanted` (names, or positions where no channel has that name)."""
    if wanted is None:
        return recording
    names = recording.channel_names
    rows = channel_rows(path, names, wanted)
    units = [recording.units[row] for row in rows] if len(recording.units) == len(names) else []
    return Recording(
        data=recording.data[rows],
        sampling_rate=recording.sampling_rate,
        channel_names=[names[row] for row in rows],
        units=units,
        start=recording.start,
    )


def _read_csv(path: Path) -> tuple[np.ndarray, list[str] | None]:
    """A CSV of one column per channel as `(channels, time)`, with the header row's names when its first row is
    not numeric (or is a row of channel numbers, `_numbers_header`). The delimiter is the first of `_CSV_DELIMITERS`
    that splits the first two records alike (`_csv_delimiter`; none: whitespace); cells are read as the `csv` module
    reads them, quotes honoured (pandas quotes a name holding the delimiter or a quote, R's `write.csv` every name
    and row name); in a file separated by semicolons a comma in the first data row is the decimal mark
    ("0,25;1,5"). The text is UTF-8, or what its byte-order mark names (UTF-16: Excel's "Unicode Text"),
    `text_encoding`."""
    encoding = text_encoding(path)
    try:
        with open(path, newline="", encoding=encoding) as handle:
            delimiter = _csv_delimiter(_csv_record(handle), _csv_record(handle))
            handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter or " ", skipinitialspace=True)
            cells = [cell.strip() for cell in next(reader, [])]
            header_lines = reader.line_num  # a quoted name may hold a line break
            below = [[cell.strip() for cell in row] for row in itertools.islice(reader, _HEADER_EVIDENCE_ROWS)]
    except UnicodeDecodeError as error:
        raise not_decodable(path, error) from None
    except csv.Error as error:  # a NUL byte, a field over the csv module's size limit
        raise CorruptFileError(f"{path} is not a CSV file ({error}).") from None
    if delimiter is None:  # columns apart by runs of spaces: the empty cells between them are no cells
        cells, below = [cell for cell in cells if cell], [[cell for cell in row if cell] for row in below]
    decimal_comma = delimiter == ";" and any("," in cell for cell in cells)
    try:
        [float(cell.replace(",", ".") if decimal_comma else cell) for cell in cells]
        names = _numbers_header(path, cells, below)
    except ValueError:
        names = cells
    if names is not None:  # the decimal mark is the data's: its first row's
        decimal_comma = delimiter == ";" and any("," in cell for row in below[:1] for cell in row)
    values = read_csv_matrix(
        path,
        delimiter=delimiter,
        skip_header=0 if names is None else header_lines,
        decimal_comma=decimal_comma,
        encoding=encoding,
    )
    if names is not None and len(names) != values.shape[1]:
        raise CorruptFileError(f"{path}: its header names {len(names)} columns and its rows hold {values.shape[1]}.")
    return values.T, names


def _csv_record(handle: TextIO) -> str:
    """The next record of a CSV file open as text: its next line, and those after it up to one that closes every
    quote it opened (a quoted name may hold a line break), `_HEADER_EVIDENCE_ROWS` at most."""
    record = handle.readline()
    for _ in range(_HEADER_EVIDENCE_ROWS):  # bounded: a stray quote would otherwise take in the whole file
        if not record.count('"') % 2 or not (line := handle.readline()):
            break
        record += line
    return record


def _csv_delimiter(first: str, second: str) -> str | None:
    """The delimiter of a CSV whose first two records are `first` and `second`: the first of `_CSV_DELIMITERS` that
    splits both into the same number of cells (quotes honoured), so that a header name holding another delimiter
    ("ECG;II,PPG", which pandas writes unquoted) does not decide; failing that, the first in `first` outside its
    quoted cells (the reader then says what does not match). None: columns apart by spaces."""
    present = [candidate for candidate in _CSV_DELIMITERS if candidate in re.sub(r'"[^"]*"', "", first)]
    records = "".join(record for record in (first, second) if record.strip())
    for candidate in present:
        widths = {len(row) for row in csv.reader(io.StringIO(records), delimiter=candidate)}
        if len(widths) == 1 and widths != {1}:
            return candidate
    return present[0] if present else None


def _numbers_header(path: Path, cells: list[str], below: list[list[str]]) -> list[str] | None:
    """A first row of numbers that names the channels rather than being the first sample, told by its form: whole
    numbers counting the channels from 0 or 1 ("0,1,2" as pandas writes a frame of unnamed columns, "1,2" for
    electrodes numbered from 1) above a column whose every value in the rows `below` is written as a decimal
    ("100.0", "1e-05"), as pandas writes every float, so that a whole number in it was not written as one of its
    values. None for a first row of samples; where the form cannot tell (whole numbers below too), a warning says that
    it was read as a sample and how to have it read as names. A header counting from 1 is said too (it may be a
    sample)."""
    if not cells or not all(_WHOLE_NUMBER.fullmatch(cell) for cell in cells):
        return None
    numbers = [int(cell) for cell in cells]
    # channels are numbered from 0 (pandas' unnamed columns) or 1 (electrodes), in order: any other whole numbers
    # ("12,34" from a float file written with %g) are far likelier a first sample than names
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))) or numbers[0] not in (0, 1):
        return None
    rows = [row for row in below if len(row) == len(cells)]
    decimal_columns = [
        column
        for column in range(len(cells))
        if any(row[column] for row in rows)
        and all(_DECIMAL_FORM.search(row[column]) for row in rows if row[column])  # (empty: pandas' NaN)
    ]
    if decimal_columns:
        if numbers[0] != 0:  # pandas' header of unnamed columns ("0,1,2") goes without a word; "1,2" could be a sample
            logger.warning(
                f"{path}: its first row, {','.join(cells)}, is read as a header naming its channels (whole numbers "
                f"above values written as decimals); if it is the first sample, write it as decimals ({cells[0]}.0)."
            )
        return cells
    if len(cells) > 1:
        logger.warning(
            f"{path}: its first row, {','.join(cells)}, is read as the first sample (the values below are whole "
            "numbers too, so its form does not say whether it numbers the channels); if it is a header, name the "
            "channels with text (ch1, ch2, ...) or remove it."
        )
    return None
