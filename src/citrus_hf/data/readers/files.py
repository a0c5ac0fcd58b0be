"""One recording file of any format this package reads, by its suffix: :func:`read_recording` returns ``(channels,
time)`` samples with their rate and channel names, what the pipelines and ``citrus predict`` take.

* ``.edf`` / ``.bdf`` (EDF, EDF+, BDF): :func:`~.edf.read_edf`; the rate is the file's. A file whose signals run at
  several rates (Sleep-EDF: EEG at 100 Hz, respiration at 1 Hz) is read only with ``channels`` of one rate.
* ``.hea`` (WFDB; also the record's path without a suffix when ``RECORD.hea`` exists): :func:`~.wfdb.read_wfdb`.
* ``.vhdr`` (BrainVision: the header, its ``.eeg`` data and ``.vmrk`` marker files beside it):
  :func:`~.brainvision.read_brainvision`; the rate, channel names and units are the header's.
* ``.set`` (EEGLAB, MATLAB v5 / v7; its samples inside it or in the ``.fdt`` beside it): :func:`~.eeglab.read_eeglab`,
  in µV.
* ``.wav`` (WAVE, as heart sounds and other signals recorded through a sound card come): the rate is the file's;
  integer samples are scaled to [-1, 1) as audio libraries read them (a WAV file records no physical unit), from
  little-endian (RIFF) and big-endian (RIFX) files alike.
* ``.npy``: ``(time,)`` or ``(channels, time)`` of numbers (booleans are refused); the rate must be given.
* ``.csv`` (also ``.tsv`` and ``.txt``): one column per channel, one row per sample (more channel columns than rows, as the
  UCR archive's tables of one example per row, refused; a time column is no channel), separated by commas,
  semicolons, tabs or spaces, an optional header row naming the channels (a column named as time stamps,
  `TIME_COLUMNS`: ``time``, ``Time [s]``, ``Time_sec``, ``Elapsed (s)``, ``Relative Time``, ``Zeit [s]``,
  ``seconds_elapsed``, ..., or pandas' index, unnamed, holding date-times or durations as `to_csv` writes a
  DatetimeIndex or TimedeltaIndex, is not read as a channel unless named in ``channels``, and its stamps, in seconds,
  milliseconds, microseconds or nanoseconds as its name says, relative or since 1970, must agree with the rate (a
  stamp missing, an empty cell, put on the line through those around it: `_filled_stamps`); stamps since 1970 give
  the recording's start, `Recording.start`, in UTC, and ISO clock times in the UTC offset their first stamp writes (a
  local clock's "+01:00" or "+00:00"; "Z" is UTC's, `_csv_start`); times of day alone, ``09:00:00.000``, count from the first stamp,
  on past midnight (`_past_midnight`), and give no start; a column under another name that rises like a clock is
  read, with a warning), an optional row of units under the names (``mV;µV``: `Recording.units`) or a unit in brackets at a
  name's end (``ECG [mV]``, ``acc_x (g)``: a channel in mV, `_units_in_names`), a delimiter at every line's end read
  as no column, quoted cells read as the ``csv`` module reads them, a cell that marks a missing value (empty, as
  pandas writes NaN, or NA: `MISSING_CELLS`) read as NaN, numbers with a decimal point or, where the comma is not the
  delimiter or a header names one column, a decimal comma (a one-column file without a header whose rows are
  "104,71" is read as one channel only where its form says so, `_one_column_of_decimal_commas`; columns of them apart
  by commas, "1,25,-2,05", refused where a leading 0 shows it, `_refuse_columns_of_decimal_commas`); UTF-8 text, or
  UTF-16 with its byte-order mark (a header as `np.savetxt(header=...)` writes it, "# time,ECG" or "# time ECG", read
  as the names; any other line above the header, a "#" or "%" comment or Excel's "sep=;", refused:
  `_uncommented_header`); the rate must be given. Vendors' layouts are read as documented (`.vendors`): an
  Empatica E4 file's rows of its start and rate, Shimmer's row of CAL / RAW above its units, Polar Sensor Logger's
  phone and sensor clocks; time stamps shared by a packet of samples are checked by the packets' first ones.

``channels`` picks channels by name (EDF, WFDB, a CSV with a header) or by position (``"0"``, ``"2"``: any file); a name
that several channels share is picked by position only (`channel_rows`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import itertools
import logging
import math
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import numpy as np

from ..._logs import warnings_captured
from ...vocabulary_citrus import as_sampling_rate
from ..errors import CorruptFileError, SamplingRateError, check_readable
from ._common import (
    CHANNELS_OPTIONS,
    _as_path,
    channel_rows,
    daylight_saving_note,
    is_position,
    parse_clock_time,
    several_rates_error,
)
from .arff_csv import (
    SECONDS_A_DAY,
    clock_is_local,
    clock_seconds,
    is_missing_cell,
    is_time_of_day,
    not_decodable,
    read_csv_matrix,
    text_encoding,
    time_of_day_zone,
)
from .brainvision import (
    brainvision_companions,
    read_brainvision,
    read_brainvision_header,
    read_brainvision_stretches,
)
from .edf import Recording, check_channel_list, read_edf, read_edf_header
from .eeglab import eeglab_companions, read_eeglab, read_eeglab_set, read_eeglab_stretches
from .pickles import load_npy
from .vendors import (
    ARRIVAL_COLUMNS,
    FOREIGN_EPOCH_COLUMNS,
    VENDOR_CONVERSIONS,
    empatica_e4_header,
    is_shimmer_formats_row,
    refuse_acqknowledge_header,
    refuse_empatica_ibi,
    vendor_column_key,
)
from .wfdb import read_wfdb, wfdb_companions

logger = logging.getLogger(__name__)

# Suffix -> format name; the formats whose files carry their own rate.
RECORDING_FORMATS: dict[str, str] = {
    ".edf": "EDF",
    ".bdf": "BDF",
    ".hea": "WFDB",
    ".vhdr": "BrainVision",  # the header, which names its data (.eeg) and marker (.vmrk) files beside it
    ".set": "EEGLAB",  # its samples inside it, or in the .fdt file it names beside it
    ".wav": "WAV",
    ".npy": "numpy",
    ".csv": "CSV",
    ".tsv": "CSV",  # delimited text of any of `_CSV_DELIMITERS`, or columns apart by spaces (`np.savetxt`'s default)
    ".txt": "CSV",
}
# The delimiters a CSV's first line is searched for, in this order: ";" first, as files that separate by it (the
# spreadsheet export where the comma is the decimal mark) may hold commas in their numbers; none found: whitespace.
# Formats of EEG / MEG systems that MNE reads (`mne.io.read_raw`) and no reader here does: FIF, GDF, Neuroscan, EGI,
# Nihon Kohden, KIT, Curry. Their "no reader" error names MNE's conversion to EDF, which keeps the rate, channel names
# and units that `np.save` of the samples loses (MNE gives volts, where an EEG checkpoint is usually fed microvolts).
# A BrainVision data or marker file (.eeg, .vmrk) beside its .vhdr, and an EEGLAB .fdt beside its .set, are read
# through that file (`_COMPANIONS`); a .eeg without a header naming it is Nihon Kohden's.
_MNE_FORMATS = dict.fromkeys((".fif", ".gdf", ".cnt", ".mff", ".sqd", ".con", ".cdt", ".eeg"))
# Formats whose recording is read through one file (a key of `RECORDING_FORMATS`) and lies in others beside it ->
# the function that lists those (`companion_files`): a folder's listing passes over them, and one given alone is
# refused naming the file to give.
_COMPANIONS = {"BrainVision": brainvision_companions, "EEGLAB": eeglab_companions, "WFDB": wfdb_companions}
# The suffixes of such files, and the suffixes of the headers whose recording they may belong to (a .dat is a
# BrainVision recording's or a WFDB record's signal file; a .mat, a PhysioNet/CinC Challenge record's).
_COMPANION_SUFFIXES = {
    ".eeg": (".vhdr",),
    ".vmrk": (".vhdr",),
    ".dat": (".vhdr", ".hea"),
    ".mat": (".hea",),
    ".fdt": (".set",),
}
_CSV_DELIMITERS = (";", "\t", ",")
# The rows under a CSV's first row that tell whether a first row of numbers is a header (`_numbers_header`), and
# whether its numbers are written with a decimal comma (`_decimal_comma`; past them the file is scanned for a comma).
_HEADER_EVIDENCE_ROWS = 50
# A number written with a decimal comma ("-12,53", "1,5e-3"), as a locale whose decimal mark is the comma writes it.
_COMMA_NUMBER = re.compile(r"[-+]?\d+(?:,\d+)?(?:[eE][-+]?\d+)?")
# A cell of a row of units under a CSV's names (`_units_row`): short text without spaces ("mV", "[µV]", "m/s^2", "%").
_UNIT_CELL = re.compile(r"\S{1,12}")
# A CSV column read as a channel that rises by one step every sample over this many samples or more, each step within
# this share of their median, is said to look like time stamps (`_warn_of_ramps`): a phone's clock jitters by 15 % of
# its step at 100 Hz, and one stamping whole milliseconds at 256 Hz steps 3 or 4 ms.
_RAMP_SAMPLES = 10
_RAMP_SPREAD = 0.5
# How much text at a time a CSV is scanned in (`_decimal_comma`, `_one_column_of_decimal_commas`), in characters.
_SCAN_CHARS = 1 << 20
# A cell written as a whole number (a channel number), and one written as a decimal: a decimal mark or an exponent.
_WHOLE_NUMBER = re.compile(r"\d+")
_DECIMAL_FORM = re.compile(r"[.,eE]")
RATED_FORMATS = frozenset({"EDF", "BDF", "WFDB", "WAV", "BrainVision", "EEGLAB"})
# The formats whose files may name their channels -> where a file of it names them, for advice: one that names none
# has left them out, where a WAV or .npy file, whose format holds no names, has not. A labelled set's files are
# matched by name, so only the former is refused beside files that name theirs (`recording_folders._by_position`).
CHANNEL_NAMING_FORMATS: dict[str, str] = {
    "EDF": "a label per signal",
    "BDF": "a label per signal",
    "WFDB": "a description at the end of each signal line of its .hea header",
    "BrainVision": "a name per channel in its .vhdr header's [Channel Infos]",
    "EEGLAB": "a label per channel, EEG.chanlocs(k).labels",
    "CSV": "a header row of channel names",
}
# The formats whose header may give the recording's start on the clock (`Recording.start`): EDF's and BDF's date,
# a WFDB header's base date, a BrainVision marker file's first New Segment date (a CSV's time column: by its content,
# `records_its_start`).
STARTED_FORMATS = frozenset({"EDF", "BDF", "WFDB", "BrainVision"})
# Full scale of a WAV file's integer samples (8-bit samples are unsigned, centred on 128; scipy reads 24-bit ones
# into the top bits of int32), so that they read as floats in [-1, 1) whatever the bit depth. Keyed by the sample's
# width in bytes, not its dtype: a big-endian RIFX file reads as '>i2', which a dtype key missed (a raw KeyError).
_WAV_FULL_SCALE = {1: 128.0, 2: 2.0**15, 4: 2.0**31, 8: 2.0**63}
# A WAV data chunk's size where the writer could not seek back to fill it in (a stream: ffmpeg to a pipe writes
# 0xFFFFFFFF, some loggers 0), and how far into the file its chunks are looked for (`_with_stream_sizes`).
_WAV_UNKNOWN_SIZES = (0xFFFFFFFF, 0)
_WAV_HEADER_BYTES = 1 << 16
_ENDIAN_NAMES = {"<": "little", ">": "big"}
# Header names of a CSV column that holds time stamps rather than a channel, as `_column_key` writes them: lower-cased,
# a unit in brackets or parentheses and unit words at the end (`_UNIT_WORDS`) left out, words apart by underscores
# ("Time [s]", "time_ms", "Time_sec", "TimeStamp (UTC)": "time", "time", "time", "time_stamp"); a unit alone ("sec",
# "ms"); the word of the languages spreadsheets are often exported in (Zeit, temps, tiempo). Sensor Logger's phone
# exports write `time`, in nanoseconds since the epoch, beside `seconds_elapsed`. A column under another name that
# rises like a clock is read as a channel and said to look like one (`_warn_of_ramps`).
TIME_COLUMNS = (
    frozenset(
        {
            "time",
            "timestamp",
            "timestamps",
            "time_stamp",
            "time_stamps",
            "t",
            "s",
            "sec",
            "secs",
            "seconds",
            "ms",
            "us",
            "µs",
            "ns",
            "elapsed",
            "elapsed_time",
            "time_elapsed",
            "seconds_elapsed",
            "relative_time",
            "time_relative",
            "zeit",
            "temps",
            "tiempo",
        }
    )
    | FOREIGN_EPOCH_COLUMNS
)
# The units a time column may count in (seconds per unit), in the order they are tried where neither its name nor
# its values say which: a device's relative clock in seconds or milliseconds, an Arduino's `micros()`, Android's
# sensor clock in nanoseconds.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}
# A word of a time column's name (or of its cell in a row of units under the names) that says its unit ("time_ms",
# "Time (ms)", "timestamp_ns", "Time_sec", "Zeit [s]"): that unit alone is read.
_UNIT_WORDS = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "seconds": "s",
    "ms": "ms",
    "msec": "ms",
    "us": "µs",
    "µs": "µs",
    "ns": "ns",
}
# Unix time as a logger writes the wall clock: a first stamp that reads as a date from 1990 to 2100 in one of
# `TIME_UNITS` (1.74e9 s, 1.74e12 ms, 1.74e18 ns; the spans of the units do not overlap) is tried in that unit first.
_EPOCH_SECONDS = (631_152_000.0, 4_102_444_800.0)
# A spreadsheet's date serial numbers (days since 1899-12-30, with the time of day as a fraction) of 1990 to 2100, as a
# time column formatted as a number exports them: 45717.375 is 2025-03-01 09:00.
_SPREADSHEET_DAYS = (32_874.0, 73_051.0)
# A time column matches the rate given when its median or mean step is within this share of it (`_check_time_stamps`);
# past it, the rate the stamps say is given instead (250 Hz read as 100 Hz).
_RATE_TOLERANCE = 0.02
# Within that tolerance the whole file is held to the rate (`_check_clock_rate`): 98.2 Hz read as 100 Hz put every
# time 1.8 % late, 16 s at 15 minutes. The clock's drift over the file may be no more than this share of its duration
# (a crystal's 100 parts per million, a rate given to 4 digits), a sample, and `_CLOCK_WANDER` times the spread of its
# stamps around their own line: a clock whose every step has a length of its own (10 +- 1.5 ms) wanders from any line,
# and its line's slope with it, by up to 21 times that spread in 900 simulated files of 12 s to 17 min (a clock whose
# stamps scatter around an even one, 1.5 ms at 100 Hz, by less than 1).
_CLOCK_TOLERANCE = 1e-4
_CLOCK_WANDER = 25.0
# A step of more than 1.5 steps (or one back) is a gap only where the stamps after it stay shifted from those before
# by this many steps or more (the medians of `_LEVEL_STAMPS` stamps on each side, on the clock's own step), and by
# half a step more than `_LEVEL_NOISE` times what the clock's jitter shifts such medians by: a sample missing shifts
# them by one, while a clock's jitter (a stamp late by 1.5 ms at 100 Hz) moves one stamp and not the rest. Measured on
# 300 clocks of 60 s at 100 Hz for each jitter of 0.5, 1.5, 3 and 4 ms: no clean one refused; one sample missing found
# in every one up to 1.5 ms, and in 4 of 10 at 3 ms, where the jitter spans as much (two missing and more: all).
_MISSING_STEPS = 0.75
_LEVEL_STAMPS = 16
_LEVEL_NOISE = 4.0
# What to do about a CSV's time stamps that step at another rate than the one given (`_check_time_stamps`; `{rate}`:
# the rate they say), in `citrus predict`'s words: a folder of recordings words it its own way (`read_recording`'s
# `time_stamps_fix`).
# `citrus predict`'s switch that reads a CSV at the rate given whatever its time stamps say (`check_time_stamps=False`):
# since a --channels pick no longer skips the checks (it left the held time column unchecked), the one way to read a
# file as written on the command line.
READ_AS_WRITTEN_OPTION = "--ignore-time-stamps"
# ... and the same switch as a folder of recordings' dataset option (`--dataset-options ignore_time_stamps=true`:
# `bids.FOLDER_OPTIONS`, `recording_folders.load_recording_folder`'s `ignore_time_stamps`)
READ_AS_WRITTEN_KEY = READ_AS_WRITTEN_OPTION.removeprefix("--").replace("-", "_")
TIME_STAMPS_FIX = (
    "give the rate the time stamps say (--sampling-rate {rate:g}), or read the file at the rate given whatever its "
    f"time stamps say ({READ_AS_WRITTEN_OPTION}; in Python `check_time_stamps=False`)"
)


def _column_key(name: str) -> str:
    """A CSV header cell as `TIME_COLUMNS` compares it: a unit in brackets or parentheses dropped, words apart by
    underscores (spaces, dashes and a lower-case letter before a capital mark them: "Relative Time", "TimeStamp"),
    lower-cased, and unit words at its end dropped where a word comes before them ("Time [s]", "Time_sec",
    "time_ms" -> "time"; "sec" stays "sec"), a vendor's time column as such (`vendor_column_key`: Shimmer's
    "Shimmer_5E7D_Timestamp_Unix_CAL" -> "timestamp")."""
    unbracketed = re.sub(r"[\[(].*?[\])]", "", name).strip()
    words = re.sub(r"[\s\-_]+", "_", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", unbracketed)).lower().strip("_").split("_")
    while len(words) > 1 and words[-1] in _UNIT_WORDS:
        words.pop()
    return vendor_column_key("_".join(words))


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
    read = (
        f"{path}: no reader for {suffix or 'a file without a suffix'}; recordings are read from "
        f"{', '.join(sorted(RECORDING_FORMATS))} files (or a WFDB record's path without .hea). Convert it to one"
    )
    if suffix in VENDOR_CONVERSIONS:  # (the advice below, np.save, keeps no rate: the vendor's library reads it)
        raise ValueError(f"{read}: {VENDOR_CONVERSIONS[suffix]}.")
    header_of = _companion_header(path)
    if header_of is not None:
        raise ValueError(
            f"{path} is part of the {RECORDING_FORMATS[header_of.suffix.lower()]} recording {header_of.name} beside "
            f"it, which is read through that file: give {header_of}."
        )
    if suffix in _MNE_FORMATS:
        header = _mne_header(path, _MNE_FORMATS[suffix])
        raise ValueError(
            f"{read}: MNE reads it, `mne.io.read_raw('{header}').export('recording.edf')` (pip install mne edfio), "
            "which keeps its rate, channel names and units (samples saved with np.save keep none of them)."
        )
    raise ValueError(f"{read}, e.g. `np.save('recording.npy', samples)` as (channels, time).")


def companion_files(path: str | Path) -> list[Path]:
    """The files beside the recording file `path` that hold its samples or markers and are read through it
    (`_COMPANIONS`: a BrainVision header's data and marker files, a WFDB header's signal files); [] for a format
    read from one file."""
    lister = _COMPANIONS.get(RECORDING_FORMATS.get(Path(path).suffix.lower(), ""))
    return lister(path) if lister is not None else []


def _companion_header(path: Path) -> Path | None:
    """The recording file beside `path` whose companion `path` is (`companion_files`), or None: a BrainVision
    ``.eeg`` / ``.vmrk`` given where its ``.vhdr`` is to be given, a WFDB record's ``.dat`` / ``.mat`` where its ``.hea``
    is."""
    header_suffixes = _COMPANION_SUFFIXES.get(path.suffix.lower())
    if header_suffixes is None or not path.parent.is_dir():
        return None
    headers = sorted(file for file in path.parent.iterdir() if file.suffix.lower() in header_suffixes)
    own = [file for file in headers if file.stem == path.stem]  # (the usual case first: one name, three suffixes)
    return next((file for file in own + headers if path in companion_files(file)), None)


# Format -> the rates of a file's signals, from its header alone (`header_rates`).
_HEADER_RATES = {
    "EDF": lambda path: list(read_edf_header(path).names_by_rate()),
    "BDF": lambda path: list(read_edf_header(path).names_by_rate()),
    "BrainVision": lambda path: [read_brainvision_header(path).sampling_rate],
    "EEGLAB": lambda path: [read_eeglab_set(path, ("srate",)).sampling_rate],
}


# Formats whose recordings may break (a BrainVision recording that paused and went on, an EEGLAB set's boundary
# events) -> the reader of a stretch at a time: read whole, they are refused (`read_recording`'s `across_pauses`), as an
# EDF+D file with gaps is, or read across them with their `Recording.breaks`; a pile reads each stretch apart, a
# segment at a time (`read_stretches`), and events are cut within their stretch.
_BREAKS = {"BrainVision": read_brainvision_stretches, "EEGLAB": read_eeglab_stretches}
STRETCHED_FORMATS = frozenset(_BREAKS)


def read_stretches(path: str | Path, channels: Sequence[str] | None, segment_samples: int, breaks: Sequence[int] = ()):
    """`(sampling rate, channel names, stretches)` of a recording of `STRETCHED_FORMATS`, each stretch between its
    breaks and the `breaks` given beside them (samples from 0: a BIDS events table's boundary rows) `(its samples per
    channel, an iterator of its (channels, time) segments of segment_samples)` (the last of each shorter), read a
    segment at a time (`brainvision.read_brainvision_stretches`, `eeglab.read_eeglab_stretches`)."""
    return _BREAKS[recording_format(path)](path, channels, segment_samples, breaks)


def header_rates(path: str | Path) -> list[float] | None:
    """The sampling rates of the recording file `path`'s signals (fastest first), read from its header without its
    samples; None for a format whose header is not read so (`_HEADER_RATES`).

    Raises:
        CorruptFileError: a header that cannot be read, as its reader says.
    """
    reader = _HEADER_RATES.get(recording_format(path))
    return reader(Path(path)) if reader is not None else None


def _mne_header(path: Path, header_suffix: str | None) -> str:
    """The file name to give MNE's `read_raw` for `path`: its header beside it (`header_suffix`, `_MNE_FORMATS`), else
    the file as it is named (a `.eeg` file that is no BrainVision recording's is Nihon Kohden's, which `read_raw`
    reads itself); a suffix is matched in lower case, and 'RUN_raw.FIF' was named 'RUN_raw.fif'."""
    return path.with_suffix(header_suffix).name if header_suffix else path.name


def read_recording(
    path: str | Path,
    channels: Sequence[str] | None = None,
    sampling_rate: float | None = None,
    *,
    check_time_stamps: bool = True,
    time_stamps_fix: str = TIME_STAMPS_FIX,
    across_pauses: bool = False,
) -> Recording:
    """Read one recording file (see the module docstring for the formats).

    Args:
        path: the file (a WFDB record: its ``.hea`` file or its path without the suffix).
        channels: names or positions (``"0"``) of the channels to read, in the order wanted; every channel when None.
        sampling_rate: Hz; required for ``.npy`` and ``.csv`` (but an Empatica E4 export, which states its own:
            `records_its_rate`), and when given for a file that records its own rate, it must be that rate.
        check_time_stamps: compare a CSV's time column with `sampling_rate` (False where the rate given is a
            stand-in and the file's true rate is not known).
        time_stamps_fix: what the error for time stamps that contradict `sampling_rate` advises, `{rate}` the rate
            they say (default: `TIME_STAMPS_FIX`, in `citrus predict`'s options).
        across_pauses: read a BrainVision recording that paused or an EEGLAB set with boundary events as one, its
            stretches end to end (refused otherwise, as an EDF+D file with gaps is: `_BREAKS`).

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
    check_readable(path)
    check_channel_list(channels)
    wanted = None if channels is None else [str(channel) for channel in channels]
    if kind not in RATED_FORMATS and sampling_rate is None:
        sampling_rate = _stated_csv_rate(path) if kind == "CSV" else None  # an Empatica E4 export's own rate
        if sampling_rate is None:
            if kind == "CSV":  # a BIOPAC export states its rate: that refusal names it, this one does not
                refuse_vendor_text_header(path)
            raise ValueError(
                f"{path}: a {kind} file does not record its sampling rate; give it (--sampling-rate HZ, or "
                "`sampling_rate=`)."
            )
    if sampling_rate is not None:
        # the config's and the extractor's check, from the plain-Python vocabulary: a reader needs neither
        # transformers nor torch (importing them through the configuration took seconds and hundreds of MB)
        sampling_rate = as_sampling_rate(sampling_rate)
    if kind in ("EDF", "BDF"):
        recording = read_edf(path, _edf_channels(path, wanted))
    elif kind == "WFDB":
        recording = read_wfdb(path, annotation_extension=None, channels=wanted)
    elif kind == "BrainVision":
        recording = read_brainvision(path, wanted, across_pauses=across_pauses)
    elif kind == "EEGLAB":
        recording = read_eeglab(path, wanted, across_pauses=across_pauses)
    elif kind == "WAV":
        recording = read_wav(path, channels=wanted)
    elif kind == "numpy":
        data, picked = _npy_channels(path, wanted)  # (its channels are named by position)
        recording = Recording(data=data, sampling_rate=float(sampling_rate), channel_names=picked, units=[])
    else:
        checked_rate = sampling_rate if check_time_stamps else None
        recording = _csv_recording(path, wanted, float(sampling_rate), checked_rate, time_stamps_fix)
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


def _csv_recording(
    path: Path, wanted: list[str] | None, sampling_rate: float, checked_rate: float | None, time_stamps_fix: str
) -> Recording:
    """The CSV recording `path` (`read_recording`'s arguments): its channels `wanted` alone are kept from the rows
    parsed (`_read_csv`), every one where None; its time stamps are checked against `checked_rate`, where given,
    whichever channels are kept (a pick is no way around the checks: `check_time_stamps=False` is)."""
    table = _read_csv(path, wanted)
    data, names, units, width = table.data, table.names, table.units, table.width
    stated_start = None
    if table.stated is not None:  # an Empatica E4 export's own start and rate
        stated_start, stated_rate = table.stated
        if checked_rate is not None and not math.isclose(stated_rate, checked_rate, rel_tol=1e-6):
            raise SamplingRateError(
                f"{path}: its first two rows are an Empatica E4 export's start ({stated_start.isoformat()}) and "
                f"sampling rate, {stated_rate:g} Hz, and the sampling rate given is {checked_rate:g} Hz; give the "
                f"file's rate (--sampling-rate {stated_rate:g}, or `sampling_rate={stated_rate:g}`)."
            )
    samples = data.shape[1]
    if samples == 1 and width > 1:
        raise ValueError(
            f"{path} holds one row of {width} values; a CSV recording is a column per channel and a row "
            "per sample: write the signal as a column (`np.savetxt(path, signal.T, delimiter=',')`)."
        )
    every = wanted is None
    if names is not None and every:
        wanted = _channels_of_csv(path, data, names, checked_rate, time_stamps_fix, units, table.clocks)
    # the channels read: a time column is none (`time,a,b,c` over 3 rows is 3 channels of 3 samples)
    read = len(wanted) if every and wanted is not None else width
    if read > samples > 1:
        # more columns than rows: a table of one example per row (the UCR archive's GunPoint_TRAIN.tsv, its class
        # first), or a recording written a row per channel, read as channels of a few samples each
        raise ValueError(
            f"{path} holds {samples} rows of {width} columns, which read as {read} channels "
            f"of {samples} samples; a CSV recording is a column per channel and a row per sample. A table "
            "of one example per row (the UCR archive's layout, its class first) is not a recording: write each "
            "example as a file of its own, its label in a metadata.csv (file_name,label); a recording written a "
            "row per channel: write its transpose."
        )
    if every:
        zones = {column: clock.zone for column, clock in table.clocks.items()}
        start = _csv_start(data, names, units, sampling_rate, zones) if names is not None else stated_start
        names = names or [str(index) for index in range(width)]
        _warn_of_ramps(path, data, names, wanted, checked_rate)
        recording = Recording(data=data, sampling_rate=sampling_rate, channel_names=names, units=units, start=start)
        return _pick(recording, wanted, path)
    if table.refusal is not None:
        raise table.refusal
    held = [(names or [str(index) for index in range(width)])[row] for row in table.columns]
    held_units = [units[row] for row in table.columns] if names is not None and len(units) == len(names) else []
    picked = table.channels
    if checked_rate is not None and names is not None:
        # the time columns held beside the channels picked are checked as they are without a pick: naming the
        # channels (to read two of eight) read a file with a gap, a step back or stamps of another rate at the rate
        # given without a word, every time after it wrong
        for row, column in enumerate(table.columns[picked:], start=picked):
            unit = held_units[row] if held_units else ""
            stamps = _filled_stamps(data[row])
            _check_time_stamps(
                path, names[column], stamps, checked_rate, time_stamps_fix, unit, table.clocks.get(column)
            )
    zones = {row: table.clocks[column].zone for row, column in enumerate(table.columns) if column in table.clocks}
    start = _csv_start(data, held, held_units, sampling_rate, zones) if names is not None else stated_start
    return Recording(
        data=data[:picked],
        sampling_rate=sampling_rate,
        channel_names=held[:picked],
        units=held_units[:picked],
        start=start,
    )


# The first bytes of a WAV file (RIFF, its big-endian twin, and the 64-bit RF64).
_WAV_MAGIC = (b"RIFF", b"RIFX", b"RF64")


def is_wav(content: bytes) -> bool:
    """Whether `content` (a file's bytes, or its first four) starts as a WAV file does."""
    return content[:4] in _WAV_MAGIC


def read_wav(path: Path | BinaryIO, name: str | None = None, channels: Sequence[str] | None = None) -> Recording:
    """A WAV file (a path, or its bytes as a file object: what a `datasets.Audio` column holds undecoded, named
    `name` in errors) as a `Recording`: its rate, its channels named by position (`channels`: those positions alone,
    in that order; all when None), integer samples scaled to [-1, 1). A file written as a stream, its data size
    "unknown", is read to its end (`_with_stream_sizes`)."""
    import struct
    import warnings

    from scipy.io import wavfile

    try:
        with warnings_captured(record=True) as caught:
            warnings.simplefilter("always", wavfile.WavFileWarning)  # chunks beside the samples (LIST, cue), unread
            rate, samples = wavfile.read(_with_stream_sizes(path), mmap=False)
    except FileNotFoundError:  # an OSError, but a mistyped path is not a damaged file to re-export
        raise FileNotFoundError(f"{name or path} does not exist; check the path.") from None
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
    positions = [str(index) for index in range(1 if samples.ndim == 1 else samples.shape[1])]
    rows = list(range(len(positions))) if channels is None else channel_rows(name or path, positions, channels)
    if channels is not None:
        # the channels asked for before the samples are scaled: every channel made float64 first held a day-long
        # 8-channel file's 8 channels to keep one
        samples = samples[:, rows] if samples.ndim == 2 else samples[:, None][:, rows]
    # keyed by sample width: a big-endian (RIFX) file's samples come as `>i2` / `>i4` (a lookup by dtype: a KeyError)
    if samples.dtype.kind == "u":
        full_scale = _WAV_FULL_SCALE[samples.dtype.itemsize]
        data = (samples.astype(np.float64) - full_scale) / full_scale
    elif samples.dtype.kind == "i":
        data = samples.astype(np.float64) / _WAV_FULL_SCALE[samples.dtype.itemsize]
    else:
        data = samples.astype(np.float64)
    data = np.atleast_2d(data.T)  # (time, channels) -> (channels, time)
    return Recording(data=data, sampling_rate=float(rate), channel_names=[positions[row] for row in rows])


def _with_stream_sizes(source: Path | BinaryIO) -> Path | BinaryIO:
    """A WAV file written as a stream (ffmpeg to a pipe, a logger that cannot seek back to its header) as its bytes
    with the sizes filled in: its data chunk's size says "unknown" (`_WAV_UNKNOWN_SIZES`), which scipy took for a
    file cut short, and the samples run to the end of the file (ffmpeg's and libsndfile's reading; a last partial
    sample, where the stream stopped mid-frame, is left out). Any other file comes back as it is, `source` itself."""
    if isinstance(source, (str, Path)):
        try:
            with open(source, "rb") as handle:
                head = handle.read(_WAV_HEADER_BYTES)
        except OSError:  # (wavfile.read says what is wrong with the path)
            return source
    else:
        start = source.tell()
        head = source.read(_WAV_HEADER_BYTES)
        source.seek(start)
    endian = {b"RIFF": "<", b"RIFX": ">"}.get(head[:4])
    if endian is None or head[8:12] != b"WAVE":
        return source
    offset, block = 12, 0
    while offset + 8 <= len(head):
        chunk, size = head[offset : offset + 4], int.from_bytes(head[offset + 4 : offset + 8], _ENDIAN_NAMES[endian])
        if chunk == b"fmt " and offset + 22 <= len(head):
            block = int.from_bytes(head[offset + 20 : offset + 22], _ENDIAN_NAMES[endian])  # nBlockAlign
        if chunk == b"data":
            break
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    else:
        return source
    if size not in _WAV_UNKNOWN_SIZES:
        return source
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            content = bytearray(handle.read())
    else:
        content = bytearray(source.read())
        source.seek(start)
    riff_size = int.from_bytes(head[4:8], _ENDIAN_NAMES[endian])
    if size == 0 and riff_size not in _WAV_UNKNOWN_SIZES and riff_size + 8 >= len(content):
        # a data size of 0 in a file whose RIFF size accounts for every byte: an empty data chunk, perhaps followed
        # by another chunk (LIST), which must not be read as samples
        return source
    held = max(len(content) - offset - 8, 0)  # (0: a header alone, a file of no samples)
    held -= held % block if block else 0
    del content[offset + 8 + held :]
    content[4:8] = (len(content) - 8).to_bytes(4, _ENDIAN_NAMES[endian])
    content[offset + 4 : offset + 8] = held.to_bytes(4, _ENDIAN_NAMES[endian])
    return io.BytesIO(bytes(content))


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
    path: Path,
    data: np.ndarray,
    names: list[str],
    sampling_rate: float | None,
    time_stamps_fix: str = TIME_STAMPS_FIX,
    units: Sequence[str] = (),
    clocks: Mapping[int, _Clock] | None = None,
) -> list[str] | None:
    """The columns of a CSV with a header that are channels (None: all of them): not a device's time stamps
    (`TIME_COLUMNS`) nor pandas' row index (`_is_index_column`), unless every column is one. Time stamps that step
    at another rate than `sampling_rate` (when given) are refused, advising `time_stamps_fix`: the recording would be
    scored at a wrong rate. `units`: the file's row of units, one per name, where it has one (a time column's
    unit); `clocks`: its columns of clock time (`_CsvTable.clocks`), whose stamps a refusal shows as clock time."""
    index = [row for row, name in enumerate(names) if _is_index_column(name)]
    timed = _time_rows(names)
    # a phone's arrival time of each packet (Polar Sensor Logger's "Phone timestamp"): no channel, and too late and
    # too coarse to check the rate by
    arrived = [row for row, name in enumerate(names) if _column_key(name) in ARRIVAL_COLUMNS]
    index += arrived
    if not (index or timed) or len(index) + len(timed) >= len(names):
        return None
    if sampling_rate is not None:
        for row in timed:
            unit = units[row] if units else ""
            clock = (clocks or {}).get(row)
            _check_time_stamps(path, names[row], _filled_stamps(data[row]), sampling_rate, time_stamps_fix, unit, clock)
    described = [f"{names[row]!r} (time stamps)" for row in timed] + [
        f"{names[row]!r} ({'packet arrival times' if row in arrived else 'a row index'})" for row in index
    ]
    # a relative clock that does not start at 0 (a file cut from a longer one): the times reported are the file's own
    first = float(data[timed[0], 0]) if timed else 0.0
    counted = (
        f"; times are counted from its first sample (stamped {first:g} in {names[timed[0]]!r}), not on that clock"
        if timed and first != 0 and math.isfinite(first) and _csv_start(data, names, units, sampling_rate) is None
        else ""
    )
    logger.warning(
        f"{path}: column(s) {', '.join(described)} not read as channels{counted}; name the channels to read "
        f"({CHANNELS_OPTIONS}) to choose otherwise."
    )
    return [name for row, name in enumerate(names) if row not in index and row not in timed]


def _warn_of_ramps(
    path: Path, data: np.ndarray, names: list[str], read: list[str] | None, sampling_rate: float | None
) -> None:
    """Warn of each column of a CSV read as a channel (`read`: the names read; None: every column) that rises by the
    same step every sample (each step within `_RAMP_SPREAD` of their median, over `_RAMP_SAMPLES` samples or more):
    time stamps under a name `TIME_COLUMNS` does not hold ("Uhrzeit", a header-less file's first column) or a count of
    the samples, read as a signal: pre-trained on, counted in the channel-hours, and never checked against the rate.
    Said, not left out: a signal may rise so (a ramp stimulus), and `sampling_rate` (None where it is not known) only
    says whether the steps are a clock's at it."""
    if data.shape[1] < _RAMP_SAMPLES:
        return
    for row, name in enumerate(names):
        if read is not None and name not in read:
            continue
        steps = np.diff(data[row])
        if not steps.min() > 0:  # a signal falls somewhere (NaN: no ramp either): no median to take
            continue
        step = float(np.median(steps))
        if not np.all(np.abs(steps - step) <= _RAMP_SPREAD * step):
            continue
        clock = next(
            (
                unit
                for unit, seconds in TIME_UNITS.items()
                if sampling_rate and math.isclose(1.0 / (step * seconds), sampling_rate, rel_tol=_RATE_TOLERANCE)
            ),
            None,
        )
        counts = step == 1 and np.array_equal(data[row], np.round(data[row]))
        if counts:
            like = " (it counts the samples)"
        elif clock is not None:
            like = f", as time stamps at {sampling_rate:g} Hz in {clock} do"
        else:
            like = ", as time stamps do"
        # a count named as a clock column would be read as stamps 1 ms (or 1 s) apart and refused at the true rate
        other = (
            "leave its header cell empty, as pandas writes a row index, to have it left out"
            if counts
            else "name a clock's column as one (time, time_ms, ...) to have it left out and its stamps checked "
            "against the rate"
        )
        logger.warning(
            f"{path}: column {name!r} rises by {step:g} every sample{like}, and is read as a channel; if it is none, "
            f"name the channels to read ({CHANNELS_OPTIONS}), or {other}."
        )


def _time_rows(names: list[str]) -> list[int]:
    """The rows of a CSV's columns named as time stamps (`TIME_COLUMNS`)."""
    return [row for row, name in enumerate(names) if _column_key(name) in TIME_COLUMNS]


def _csv_start(
    data: np.ndarray,
    names: list[str],
    units: Sequence[str] = (),
    sampling_rate: float | None = None,
    zones: dict[int, datetime.tzinfo | None] | None = None,
) -> datetime.datetime | None:
    """The clock time of a CSV's first sample where its first time column counts since 1970 (`_epoch_unit`, or
    the unit its name or its cell in the row of `units` says, `_time_units`): a phone's or a logger's wall clock, which
    `citrus predict` reports window times on as it does an EDF file's start. None for a file without such a column (a
    relative clock). With `sampling_rate` (Hz), the unit is the one in which the stamps step at that rate where one
    does (`_units_at_rate`): a phone up 10 days stamps 8.64e14 ns since it booted, a date in 1997 read in µs, which
    its steps of 1e7 ns at 100 Hz tell apart. The start is in the UTC offset that column's first stamp writes
    (`zones`, by row: a column of ISO clock times, `_Clock.zone`), else in UTC: a logger's "+01:00" or "+00:00" is a
    local clock, on which `citrus predict --lights-off 22:40` is read, where stamps counted since 1970 (or "Z") are
    UTC's, on which it is refused; read as UTC, a "+01:00" file was refused as a UTC clock."""
    for row in _time_rows(names):
        stamps = _filled_stamps(data[row])
        first = float(stamps[0])
        if not math.isfinite(first) or _column_key(names[row]) in FOREIGN_EPOCH_COLUMNS:
            continue  # (Polar's sensor clock counts from 2000 on its own clock: its 2025 read as 1995 since 1970)
        candidates = _time_units(names[row], first, units[row] if units else "")
        at_rate = _units_at_rate(stamps, candidates, sampling_rate) if sampling_rate else []
        unit = (at_rate or candidates)[0]
        if unit == _epoch_unit(first):
            start = datetime.datetime.fromtimestamp(first * TIME_UNITS[unit], tz=datetime.timezone.utc)
            zone = (zones or {}).get(row)
            return start if zone is None else start.astimezone(zone)
    return None


def _lost_samples(stamps: np.ndarray, rows: np.ndarray, bare_first: bool = False) -> np.ndarray:
    """Which of a CSV's `rows` of text without a sample (their channels empty, text in a column let go) are samples
    that were lost rather than markers, by the time columns held `stamps` `(rows, columns)`: `(len(rows),)` bool. A
    marker is stamped between two samples, its neighbours a step apart; a lost sample ("lead off" in a notes column)
    has a place on the clock, its neighbours two steps apart: dropped, every later sample was read a sample early.
    The first and the last row have one neighbour: a lost sample lies a step from it on the clock, a marker is stamped
    as the sample beside it or between two (the first row's, dropped, put every sample a step early). A marker
    stamped a step before the first sample lies there too: where the first row carries no value in any of the file's
    signal columns and the sample after it carries several (`bare_first`, `_bare_first_row`), it is a marker, since a
    device writes a lost sample's row whole, its other columns filled. All False without a time column (a marker, as
    Mind Monitor writes them)."""
    if stamps.shape[1] == 0 or len(stamps) < 3:
        return np.zeros(len(rows), dtype=bool)
    clock = stamps[:, 0]
    step = np.nanmedian(np.diff(clock))
    if not step > 0:
        return np.zeros(len(rows), dtype=bool)
    padded = np.concatenate([[np.nan], clock, [np.nan]])
    with np.errstate(invalid="ignore"):
        lost = (padded[rows + 2] - padded[rows]) > 1.5 * step
        one_step = np.abs(np.where(rows == 0, clock[1] - clock[0], clock[-1] - clock[-2]) - step) < 0.25 * step
    ends = (rows == 0) | (rows == len(clock) - 1)
    return np.where(ends, one_step & ~((rows == 0) & bare_first), lost)


def _bare_first_row(below: list[list[str]], signal_columns: Sequence[int]) -> bool:
    """Whether a CSV's first data row is a marker's by its own cells (`below`: the first data rows' cells): it holds
    no number in any of the file's `signal_columns` (every column but its time stamps), only a stamp and text, while
    the sample row after it holds numbers in more than one, a device writing each sample's row whole
    (`_lost_samples`). Decided from the file, never from the channels picked: judged by the columns let go, the row
    was a marker read for one channel and a lost first sample (a NaN, every sample a step late) read for two. A file
    whose sample rows hold one number (one channel beside its notes) cannot tell a marker from a lost sample by its
    cells: False, its first row read by the clock alone, as audit 74 reads it."""

    def numbers(cells: list[str]) -> int:
        return sum(column < len(cells) and _is_number(cells[column]) for column in signal_columns)

    return len(below) > 1 and numbers(below[0]) == 0 and numbers(below[1]) > 1


def _filled_stamps(stamps: np.ndarray) -> np.ndarray:
    """A CSV's time column `(time,)` with its missing stamps (NaN: an empty cell, read as a missing sample) put on the
    line through the stamps around each, and those before the first stamp given or after the last on the mean step of
    those given: one empty cell skipped every check of the column (`_check_time_stamps`), so that a file stamped at
    250 Hz was read at the 100 Hz given without a word, and a first cell empty gave no start. `stamps` itself where
    none is missing, or fewer than 2 are given (nothing to check them by)."""
    given = np.flatnonzero(np.isfinite(stamps))
    if given.size == stamps.size or given.size < 2:
        return stamps
    rows = np.arange(stamps.size)
    filled = np.interp(rows, given, stamps[given])
    step = (stamps[given[-1]] - stamps[given[0]]) / (given[-1] - given[0])
    filled[: given[0]] = stamps[given[0]] - (given[0] - rows[: given[0]]) * step
    filled[given[-1] + 1 :] = stamps[given[-1]] + (rows[given[-1] + 1 :] - given[-1]) * step
    return filled


def refuse_vendor_text_header(path: str | Path, encoding: str | None = None) -> None:
    """Refuse a text recording whose first lines are a vendor's header that is not read (BIOPAC AcqKnowledge's,
    `refuse_acqknowledge_header`), naming the rate it states and the lines to drop: called before a missing rate is
    refused too, whose refusal named neither. `encoding`: the file's (`text_encoding` where None). Nothing for a
    path that is no readable file (its reading refuses it).

    Raises:
        CorruptFileError: such a header.
    """
    path = Path(path)
    try:
        with open(path, encoding=encoding or text_encoding(path), errors="replace") as lines:
            first = [line for _, line in zip(range(3), lines)]
    except (OSError, ValueError):  # (`CorruptFileError` is a ValueError: not text, refused where it is read)
        return
    refuse_acqknowledge_header(path, first)


def records_its_rate(path: str | Path) -> bool:
    """Whether the recording file `path` records its own sampling rate, so that none need be given: a format of
    `RATED_FORMATS`, or a CSV that is an Empatica E4 export (its second row the rate, `empatica_e4_header`). Its
    format is as `recording_format` says (an unknown suffix refused there)."""
    kind = recording_format(path)
    return kind in RATED_FORMATS or (kind == "CSV" and _stated_csv_rate(Path(path)) is not None)


def records_its_start(path: str | Path) -> bool:
    """Whether the recording file `path` may give its start on the clock (`Recording.start`): a format of
    `STARTED_FORMATS` (from its header), or a CSV with a time column (`csv_has_time_column`, where it counts since
    1970). False for a suffix no reader takes (refused where the file is read, with the message)."""
    try:
        kind = recording_format(path)
    except ValueError:
        return False
    return kind in STARTED_FORMATS or (kind == "CSV" and csv_has_time_column(path))


def _stated_csv_rate(path: Path) -> float | None:
    """The rate (Hz) an Empatica E4 export states in its second row (`empatica_e4_header`); None for any other CSV,
    and for one that cannot be read as text (its reading refuses it, with the reason)."""
    try:
        head = _csv_head(path)
    except (OSError, ValueError):  # (`CorruptFileError` is a ValueError)
        return None
    stated = empatica_e4_header(head.cells, head.below[0]) if head.below and _is_sample_row(head.cells) else None
    return None if stated is None else stated[1]


def csv_has_time_column(path: str | Path) -> bool:
    """Whether the CSV at `path` has a header naming a time-stamp column (`TIME_COLUMNS`), or a column of clock time
    (`_clock_columns`), or an Empatica E4 export's row of its start (`empatica_e4_header`), its header read as
    `read_recording` reads it (`_csv_head`): such a file may record its start on the clock (`_csv_start`). False for a
    file that cannot be read as text (its reading refuses it, with the reason)."""
    try:
        head = _csv_head(Path(path))
    except (OSError, ValueError):  # (`CorruptFileError` is a ValueError)
        return False
    if _is_sample_row(head.cells):
        return bool(head.below) and empatica_e4_header(head.cells, head.below[0]) is not None
    # (pandas' index of clock time, `_clock_columns`, is one under any name)
    clocks = head.below[:1] and any(not _is_number(cell) and clock_seconds(cell) is not None for cell in head.below[0])
    return bool(_time_rows(head.cells)) or bool(clocks)


def _check_time_stamps(
    path: Path,
    name: str,
    stamps: np.ndarray,
    sampling_rate: float,
    fix: str = TIME_STAMPS_FIX,
    unit_cell: str = "",
    clock: _Clock | None = None,
) -> None:
    """Refuse a CSV's time column that contradicts `sampling_rate`: a median (or mean) step off the rate by more than
    `_RATE_TOLERANCE` in every unit it may count in (`_time_units`, by its name and its `unit_cell` in a row of units:
    10 s at 250 Hz given as 100 Hz would be scored as 25 s), samples missing (`_check_time_gaps`), or a clock that
    runs at another rate over the file than jitter explains (`_check_clock_rate`). `fix` is the advice
    (`TIME_STAMPS_FIX`); `clock`: where the column was written as clock time, how to show its stamps as that."""
    steps = np.diff(stamps)
    if steps.size < 2 or not np.isfinite(steps).all():
        return
    step = float(np.median(steps))
    starts = np.flatnonzero(steps > 0) + 1  # the first sample of each packet after the first
    jitter = 0.0  # (the stamps' own, from their steps, unless they stamp packets)
    if not step > 0 and starts.size and np.all(steps >= 0):
        # a BLE wearable's packets (Movesense, Polar) share one stamp among their samples: a median step of 0, whose
        # check was skipped (a 125 Hz file read at 250 Hz without a word)
        step, stamps, jitter = _packet_clock(stamps, starts)
    if not step > 0:
        return
    units = _time_units(name, float(stamps[0]), unit_cell)
    mean_step = float(stamps[-1] - stamps[0]) / (len(stamps) - 1)
    matched = _units_at_rate(stamps, units, sampling_rate)
    if matched:
        unit = matched[0]
        expected = 1.0 / (sampling_rate * TIME_UNITS[unit])
        _check_time_gaps(path, name, stamps, expected, unit, clock, jitter)
        _check_clock_rate(path, name, stamps, expected, unit, sampling_rate, fix)
        return
    # by the median step too: samples missing (a gap) move the mean off the rate, and the refusal below advised a rate
    # of 864000 Hz for a spreadsheet export with a gap
    if _SPREADSHEET_DAYS[0] <= float(stamps[0]) <= _SPREADSHEET_DAYS[1] and any(
        math.isclose(1.0 / (days * 86400.0), sampling_rate, rel_tol=_RATE_TOLERANCE) for days in (step, mean_step)
    ):
        # read in seconds they step at 8.64e6 Hz, which the advice below named: at that rate 10 s read as 1.2 ms
        raise CorruptFileError(
            f"{path}: its time column {name!r} counts days ({float(stamps[0]):.10g} onwards, a spreadsheet's date "
            f"serial numbers: days since 1899-12-30, stepping {sampling_rate:g} times a second), which are not read; "
            "format the column as a date and time (2025-03-01 09:00:00.000) or as seconds before exporting it, or "
            "drop the time column from the file to read it at the rate given (citrus predict: "
            f"{READ_AS_WRITTEN_OPTION}; a folder: --dataset-options {READ_AS_WRITTEN_KEY}=true)."
        )
    # the unit its name or its values say, else the one in which the stamps come nearest the rate given (a
    # nanosecond clock at 100 Hz was advised --sampling-rate 9.99987e-08, read in seconds)
    likeliest = units[:1] if len(units) == 1 or _epoch_unit(float(stamps[0])) else units
    unit = min(likeliest, key=lambda each: abs(math.log(1.0 / (step * TIME_UNITS[each]) / sampling_rate)))
    # the mean step where no gap makes it longer: exact where the median is rounded (a clock stamping whole
    # milliseconds, nanoseconds since the epoch read as float64)
    shown = mean_step if math.isclose(mean_step, step, rel_tol=_RATE_TOLERANCE) else step
    implied = 1.0 / (shown * TIME_UNITS[unit])
    raise SamplingRateError(
        f"{path}: its time column {name!r} steps {shown:g} {unit} between samples ({implied:g} Hz), and the sampling "
        f"rate given is {sampling_rate:g} Hz; {fix.format(rate=implied)}."
    )


def _packet_clock(stamps: np.ndarray, starts: np.ndarray) -> tuple[float, np.ndarray, float]:
    """The step and a stamp per sample of a time column `(time,)` that stamps packets of samples (every sample of one
    with the same stamp), `starts` the first sample of each packet after the first.

    The step is the median over the whole packets of their stamps' step over their samples: a lost packet or a file
    that starts or ends inside one (a packet cut short) leaves it as it is, where the span from the first stamp to the
    last, over the samples between them, was off the rate by them (a 125 Hz file with a packet lost advised
    --sampling-rate 122.449). A packet's stamp is its first sample's time or its last one's (Polar's SDK stamps a
    frame with its last sample's): of packets that vary in size the two tell apart, the steps counted from the sample
    the stamps mark agreeing, those from the other off by the sizes (a 125 Hz file of packets of 6 and 10 samples,
    stamped at their last, was refused as a clock that goes back). Each sample is stamped from its packet's stamp, a
    step per sample (a packet cut short by the file's start or end: from its neighbour's), so that a lost packet
    shows as the jump in time it is, to the gap check (`_check_time_gaps`), and a packet's stamps do not.

    Returns:
        The step, the stamps `(time,)`, and the jitter of the packets' stamps as the gap check weighs a stamp's
        (`_check_time_gaps`' `jitter`): a phone that stamps each packet as it arrives stamps it some milliseconds
        late, the whole packet with it, and the samples' stamps, even within each packet, showed no jitter at all,
        so that a packet 5 ms late at 125 Hz was refused as samples missing.
    """
    if starts.size < 2:  # (no whole packet: the one after the first, to the end)
        step = float(stamps[starts[-1]] - stamps[0]) / starts[-1]
        return step, stamps[0] + np.arange(stamps.size) * step, 0.0
    firsts = np.concatenate([[0], starts])  # each packet's first sample and last one
    lasts = np.concatenate([starts - 1, [stamps.size - 1]])
    # the steps of the packets the file holds whole, counted from their first samples (not the first packet, which
    # the file may start inside) or from their last (not the last packet, which it may end inside)
    by_first = np.diff(stamps[firsts[1:]]) / np.diff(firsts[1:])
    by_last = np.diff(stamps[lasts[:-1]]) / np.diff(lasts[:-1])

    def spread(steps: np.ndarray) -> float:
        return float(np.median(np.abs(steps - np.median(steps))))

    numbers = np.arange(stamps.size)
    packet = np.searchsorted(starts, numbers, side="right")  # the packet of each sample
    if spread(by_last) < spread(by_first):
        steps, sizes, marked = by_last, np.diff(lasts[:-1]), lasts[np.minimum(packet, starts.size - 1)]
    else:
        steps, sizes, marked = by_first, np.diff(firsts[1:]), firsts[np.maximum(packet, 1)]
    step = float(np.median(steps))
    # a packet stamp's jitter, from the spread of its steps off the clock (as `_check_time_gaps` takes a stamp's from
    # the steps'), each packet's samples sharing it: as much in a median of the samples' stamps as in one of a packet
    # size fewer stamps of their own
    late = (steps - step) * sizes
    jitter = 1.4826 * float(np.median(np.abs(late - np.median(late)))) / math.sqrt(2)
    return step, stamps[marked] + (numbers - marked) * step, jitter * math.sqrt(float(np.median(sizes)))


def _units_at_rate(stamps: np.ndarray, units: Sequence[str], sampling_rate: float) -> list[str]:
    """Those of `units` (`TIME_UNITS` keys, in order) in which `stamps` `(time,)` step at `sampling_rate` Hz, within
    `_RATE_TOLERANCE`, by their median step or their mean one: a clock that stamps to the millisecond steps 3 or 4 ms
    at 256 Hz, whose median (4 ms, 250 Hz) is off by more than the tolerance while the mean is exact. [] for fewer
    than 3 stamps or stamps that are not all finite."""
    steps = np.diff(stamps)
    if steps.size < 2 or not np.isfinite(steps).all():
        return []
    mean_step = float(stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return [
        unit
        for unit in units
        if any(
            each > 0 and math.isclose(1.0 / (each * TIME_UNITS[unit]), sampling_rate, rel_tol=_RATE_TOLERANCE)
            for each in (float(np.median(steps)), mean_step)
        )
    ]


def _time_units(name: str, first: float, unit_cell: str = "") -> list[str]:
    """The units (`TIME_UNITS` keys) a time column named `name` whose first stamp is `first` may count in, the likeliest
    first: the one its name, or else its `unit_cell` in a row of units under the names, says alone (`_UNIT_WORDS`),
    else every unit, the one in which `first` reads as a date since 1970 first (`_EPOCH_SECONDS`), less those in which
    it is past 2100 since 1970 (or as long since the recording began): 1.74e12, milliseconds since 1970, is 55,000
    years in seconds, where its steps of 1 at 1000 Hz read as 1 s matched a --sampling-rate 1 given by mistake, and
    the file was read at 1 Hz without a word."""
    words = re.findall(r"[a-zµ]+", f"{name} {unit_cell}".lower())
    named = [_UNIT_WORDS[word] for word in words if word in _UNIT_WORDS]
    if named:
        return named[:1]
    epoch = _epoch_unit(first)
    units = ([epoch] if epoch else []) + [unit for unit in TIME_UNITS if unit != epoch]
    possible = [unit for unit in units if abs(first) * TIME_UNITS[unit] <= _EPOCH_SECONDS[1]]
    return possible or units


def _epoch_unit(first: float) -> str | None:
    """The unit in which a first stamp `first` reads as a date from 1990 to 2100 since 1970 (`_EPOCH_SECONDS`), or
    None."""
    return next(
        (unit for unit, seconds in TIME_UNITS.items() if _EPOCH_SECONDS[0] <= first * seconds <= _EPOCH_SECONDS[1]),
        None,
    )


def _stamp_text(value: float, resolution: float) -> str:
    """A time stamp with the digits that tell it apart from one `resolution` away ("1740000029.99", where `:g` wrote
    both ends of a gap in epoch seconds as 1.74e+09); past float64's whole numbers (nanoseconds since the epoch), in
    as many significant digits."""
    decimals = max(0, math.ceil(-math.log10(resolution / 10)))
    if abs(value) < 1e15:
        text = f"{value:.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{value:.{len(str(int(abs(value) // (resolution / 10))))}g}"


def _check_time_gaps(
    path: Path,
    name: str,
    stamps: np.ndarray,
    step: float,
    unit: str,
    written: _Clock | None = None,
    jitter: float = 0.0,
) -> None:
    """Refuse a CSV's time column that jumps (samples missing) or goes back: the file's samples are read one after the
    other at the rate, so every time reported after a gap would be early by the gap (a minute missing scored a sample
    of 130 s at 70 s), as an EDF+D file's gaps would. A step of more than 1.5 of its usual `step` (or one back) counts
    only where the stamps after it stay shifted from those before by `_MISSING_STEPS` steps (`_LEVEL_STAMPS` on each
    side): a clock's jitter (1.5 ms at 100 Hz) makes single steps long or short without shifting the stamps that
    follow, and was refused as "0.005 s of samples missing". `written`: where the column was written as clock time,
    how to show its stamps as that; `jitter`: a stamp's jitter where the steps cannot tell it (`_packet_clock`'s)."""
    from numpy.lib.stride_tricks import sliding_window_view

    steps = np.diff(stamps)
    suspects = np.flatnonzero((steps > 1.5 * step) | (steps < 0))
    if suspects.size == 0:
        return
    # the clock's own step, so that its drift (within the rate's tolerance) leaves no shift: the mean over the file,
    # unless a gap makes it longer (the mean of the short steps alone is short by the jitter it leaves out)
    mean_step = float(stamps[-1] - stamps[0]) / (len(stamps) - 1)
    clock = mean_step if math.isclose(mean_step, step, rel_tol=_RATE_TOLERANCE) else step
    # each stamp's offset from an even clock; the levels before and after a suspect step are medians of those offsets
    offsets = (stamps - stamps[0]) - np.arange(len(stamps)) * clock
    side = _LEVEL_STAMPS
    windows = sliding_window_view(np.concatenate([np.full(side, np.nan), offsets, np.full(side, np.nan)]), side)
    # windows[i] holds offsets[i - side : i]: the stamps up to a suspect step's first, then those from its second on
    shifts = np.nanmedian(windows[suspects + 1 + side], axis=1) - np.nanmedian(windows[suspects + 1], axis=1)
    # what the jitter alone shifts such medians by (a stamp's jitter from the steps' spread, robust to gaps; a
    # median of n stamps varies by 1.25 of it / sqrt(n)): fewer stamps on a side, near the file's ends, vary more
    jitter = max(jitter, 1.4826 * float(np.median(np.abs(steps - np.median(steps)))) / math.sqrt(2))
    before, after = np.minimum(suspects + 1, side), np.minimum(len(stamps) - suspects - 1, side)
    noise = 1.2533 * jitter * np.sqrt(1 / before + 1 / after)
    needed = np.maximum(_MISSING_STEPS * step, _MISSING_STEPS * step - step / 4 + _LEVEL_NOISE * noise)
    gaps = suspects[np.abs(shifts) >= needed]
    if gaps.size == 0:
        return
    row = int(gaps[0])
    before, after = float(stamps[row]), float(stamps[row + 1])
    # clock time as the file wrote it, not the seconds it was read as (a local clock's from its first stamp: "goes
    # back from 0.99 to -3599 s" named no row the user could find)
    shown = (
        f"{written.text(before)} to {written.text(after)}"
        if written is not None
        else f"{_stamp_text(before, step)} to {_stamp_text(after, step)} {unit}"
    )
    # an hour back or forward is a local clock's change for daylight saving time, not samples missing or repeated
    note = daylight_saving_note((after - before) * TIME_UNITS[unit], step * TIME_UNITS[unit])
    if after < before:
        what = f"goes back from {shown}"
    elif note:  # (the note says what the hour is: "samples missing" before it said the opposite)
        what = f"jumps from {shown} ({after - before - step:g} {unit} forward)"
    else:
        what = f"jumps from {shown} ({after - before - step:g} {unit} of samples missing)"
    raise CorruptFileError(
        f"{path}: its time column {name!r} {what} after data row {row + 1}, where it steps {step:g} {unit} elsewhere; "
        "the samples are read one after the other, so every time after it would be wrong."
        + (
            note
            or " Cut the file at its gaps into files of their own (or fill the gaps), or drop the time column to read "
            f"it as evenly sampled (citrus predict: {READ_AS_WRITTEN_OPTION}; a folder: --dataset-options "
            f"{READ_AS_WRITTEN_KEY}=true)."
        )
    )


def _check_clock_rate(
    path: Path, name: str, stamps: np.ndarray, step: float, unit: str, sampling_rate: float, fix: str
) -> None:
    """Refuse a CSV's time column whose clock runs at another rate than `sampling_rate` (stamps `step` apart, in
    `unit`s) over the file by more than its jitter explains: within the rate tolerance of `_check_time_stamps`, a
    phone's "100 Hz" at 98.2 Hz was read as 100 Hz, and every time reported after its start drifted, 16 s at 15
    minutes. The drift is the slope of the stamps' offsets from the rate given against their sample numbers (least
    squares), taken over the file; it must stay within `_CLOCK_WANDER` times the offsets' spread around that line
    (`_CLOCK_WANDER`), `_CLOCK_TOLERANCE` of the duration and a sample. `fix` is the advice, given the rate the stamps
    say."""
    numbers = np.arange(len(stamps), dtype=np.float64)
    offsets = (stamps - stamps[0]) - numbers * step
    centred = numbers - numbers.mean()
    slope = float(centred @ (offsets - offsets.mean()) / (centred @ centred))
    spread = float(np.std(offsets - offsets.mean() - slope * centred))
    drift = slope * (len(stamps) - 1)  # the line's offset at the last sample from the first: time the rate loses
    if abs(drift) <= max(_CLOCK_WANDER * spread, _CLOCK_TOLERANCE * (len(stamps) - 1) * step, step):
        return
    measured = 1.0 / ((step + slope) * TIME_UNITS[unit])
    raise SamplingRateError(
        f"{path}: its time column {name!r} says {measured:g} Hz over its {len(stamps)} samples, and the sampling rate "
        f"given is {sampling_rate:g} Hz ({abs(measured / sampling_rate - 1):.2%} apart, more than its clock's jitter "
        f"explains): read at {sampling_rate:g} Hz, every time after its start would be {'early' if drift > 0 else 'late'}"
        f", by {abs(drift) * TIME_UNITS[unit]:.3g} s at its end; {fix.format(rate=measured)}."
    )


def _check_numbers(path: Path, data: np.ndarray) -> None:
    """Refuse an array read from `path` that is no recording: not numbers, or not shaped (time,) or (channels, time).
    Booleans are refused too, as the feature extractor refuses them: a trigger or marker channel read as a 0 / 1
    signal would be scored as one without a word."""
    if data.dtype.kind == "b":
        raise CorruptFileError(
            f"{path} holds a boolean array (markers or a mask?), not a real-valued signal; save float or integer "
            "samples (`np.save(path, array.astype(np.float32))`) if it is one."
        )
    if data.dtype.kind in "iuf" and data.ndim == 3 and data.size:
        # what aeon, sktime and tslearn users save: a collection of recordings, each a file of its own here
        raise CorruptFileError(
            f"{path} holds an array of shape {data.shape}: {data.shape[0]} recordings as (n, channels, time), aeon's "
            "layout, where a file holds one recording, (time,) or (channels, time); save each as a file of its own "
            "(`np.save(f'recording_{i}.npy', recording)` for each), or pass them to a pipeline as a list, "
            "`pipe(list(np.load(path)), sampling_rate=...)`."
        )
    if data.dtype.kind not in "iuf" or data.ndim not in (1, 2) or data.size == 0:
        raise CorruptFileError(
            f"{path} holds a {data.dtype} array of shape {data.shape}; a recording is numbers shaped (time,) or "
            "(channels, time)."
        )


def _npy_channels(path: Path, wanted: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """The channels `wanted` (positions, all when None) of a ``.npy`` recording `(channels, time)` as float64 and their
    names (their positions). The file is mapped and only those channels are copied out, each once, into an array of
    their own (loaded whole and converted whole, one channel of a day-long 8-channel float32 file held 12x its size,
    and every channel 1.5x); the mapping is let go before this returns or raises."""
    mapped = np.asarray(load_npy(path, mapped=True))
    try:
        _check_numbers(path, mapped)
        mapped = np.atleast_2d(mapped)
        channels, samples = mapped.shape
        if channels > samples:
            raise ValueError(
                f"{path} holds an array of shape {mapped.shape}, which reads as {channels} channels of {samples} "
                "samples; a recording is (channels, time): save its transpose (`array.T`)."
            )
        positions = [str(index) for index in range(channels)]
        rows = list(range(channels)) if wanted is None else channel_rows(path, positions, wanted)
        data = np.empty((len(rows), samples), dtype=np.float64)
        for position, row in enumerate(rows):
            data[position] = mapped[row]
    finally:
        del mapped  # (an error's traceback keeps this frame: the file would stay mapped while it lives)
    return data, [positions[row] for row in rows]


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


def _read_csv(path: Path, wanted: list[str] | None = None) -> _CsvTable:
    """A CSV of one column per channel as its channels `wanted` (names, or positions; all when None), with the
    header row's names when its first row is not numeric (or is a row of channel numbers, `_numbers_header`), and the
    units of a row of them under the names (`_units_row`) or written at the names' ends ("ECG [mV]",
    `_units_in_names`; [] without any): a `_CsvTable`. Its first rows are read by `_csv_head` (as
    `csv_has_time_column` reads them): the delimiter, quotes, the encoding, a delimiter at every line's end. The
    columns not wanted are let go as the file is parsed (`read_csv_matrix`'s `keep`).

    Numbers written with a decimal comma, as a spreadsheet of a locale whose decimal mark is the comma exports them,
    are read as such wherever the comma cannot be the delimiter (`_decimal_comma`): a file apart by semicolons, tabs or
    spaces that holds a comma in any data row ("0;10" above "12,53;9,82"), a quoted cell ("12,53"), a header naming one
    column above "104,71". A file without a header whose every row is one or two whole numbers apart by a comma
    ("104,71", "100") is one column of decimals or two of whole numbers: `_one_column_of_decimal_commas` reads it where
    its form says which and refuses it where it does not."""
    head = _csv_head(path)
    encoding, delimiter, cells, below = head.encoding, head.delimiter, head.cells, head.below
    refuse_vendor_text_header(path, encoding)
    header_lines = head.header_lines
    units: list[str] = []
    decimal_comma = False
    stated = empatica_e4_header(cells, below[0]) if below and _is_sample_row(cells) else None
    if stated is not None:  # an E4's start and rate rows: no samples, and the file names no channels
        names, below, header_lines = None, below[1:], head.units_lines
    elif not _is_sample_row(cells):
        refuse_empatica_ibi(path, cells)
        names, named_units = cells, _units_in_names(cells)
        if len(below) > 1 and is_shimmer_formats_row(below[0]) and _is_text_row(below[1]):
            # Shimmer's row of CAL / RAW above its row of units
            units, below, header_lines = _units_row(path, cells, below[1], delimiter), below[2:], head.third_lines
            units = _agreeing_units(path, names, named_units, units)
        elif below and _is_text_row(below[0]):
            units, below, header_lines = _units_row(path, cells, below[0], delimiter), below[1:], head.units_lines
            units = _agreeing_units(path, names, named_units, units)
        elif any(named_units):
            units = named_units
    elif delimiter == "," and _one_column_of_decimal_commas(path, encoding, [cells, *below]):
        names, delimiter, decimal_comma = None, None, True  # each row one cell: "104,71"
    else:
        names = _numbers_header(path, cells, below)
        if names is None and delimiter == ",":
            _refuse_columns_of_decimal_commas(path, [cells, *below])
    if names is not None and delimiter == "," and any(len(row) > len(names) for row in below):
        wider = next(row for row in below if len(row) > len(names))
        raise CorruptFileError(
            f"{path}: its header names {len(names)} columns and its rows hold {len(wider)} cells apart by commas "
            f'({",".join(wider)!r}); where its numbers are written with a decimal comma ("1,5"), the comma cannot '
            "also separate its columns: export it with semicolons between the columns (a spreadsheet's CSV in a "
            "locale whose decimal mark is the comma), quote the cells, or write the numbers with a decimal point; "
            "otherwise name every column in the header."
        )
    if not decimal_comma:
        decimal_comma = _decimal_comma(
            path, encoding, delimiter, below if names is not None or stated else [cells, *below], head.evidence_lines
        )
    clocks = _clock_columns(path, names, below)
    for column in clocks:
        if _is_index_column(names[column]):  # pandas' index, unnamed: time stamps, checked against the rate
            names = [*names[:column], "time", *names[column + 1 :]]
    read: dict[str, Any] = {}  # the first row, the columns held and a channel refused, as `keep` saw them

    def keep(first: np.ndarray) -> list[int] | None:
        """The columns of `wanted` among the file's (`first`: its first row): none where the header names another
        count (refused below) or a channel is not in the file (refused after the file's own checks, as it was when
        every column was read before the channels were picked)."""
        read["first"] = first
        if wanted is None or (names is not None and len(names) != first.size):
            read["columns"] = None if wanted is None else []
        else:
            try:
                picked = channel_rows(path, names or [str(column) for column in range(first.size)], wanted)
            except ValueError as error:
                read["columns"], read["refusal"] = [], error
            else:
                # the time columns are held beside the channels: the recording's start is read from their stamps
                # (the unit they step in at the rate, a missing first stamp filled from the next: `_csv_start`)
                stamps = [row for row in _time_rows(names) if row not in picked] if names is not None else []
                read["columns"], read["channels"] = picked + stamps, len(picked)
        return read["columns"]

    # the columns `keep` will let go, known from the names before any row is parsed: a cell of text in one of them
    # (Mind Monitor's "Elements" column of markers) is read as NaN and let go, not refused as no number
    unread: list[int] = []
    if wanted is not None and names is not None:
        try:
            held = set(channel_rows(path, names, wanted)) | set(_time_rows(names))
        except ValueError:  # (refused after the file's own checks, by `keep`)
            held = set(range(len(names)))
        unread = [column for column in range(len(names)) if column not in held]
    values = read_csv_matrix(
        path,
        delimiter=delimiter,
        skip_header=0 if names is None and stated is None else header_lines,
        decimal_comma=decimal_comma,
        encoding=encoding,
        empty_last_column=len(cells) if head.trailing_delimiter else None,
        clock_columns=list(clocks),
        width=len(cells),
        missing_cells=True,
        keep=keep,
        unread_columns=unread,
        column_names=names,
        text_rows=(marked := []),
        clock_zones=(offsets := {}),
    )
    if marked and read.get("channels"):
        # a row of text in a column let go and nothing in the channels read is a marker, not a sample (Mind
        # Monitor's "/muse/elements/blink" rows, stamped between two samples): read as one, it was a NaN sample that
        # put every later sample a sample late
        markers = np.asarray(marked)
        markers = markers[np.isnan(values[markers, : read["channels"]]).all(axis=1)]
        # the file's own signal columns (all but its time stamps), whatever channels are read
        stamped = set(_time_rows(names or [])) | set(clocks)
        bare_first = _bare_first_row(below, [column for column in range(len(names or [])) if column not in stamped])
        markers = markers[~_lost_samples(values[:, read["channels"] :], markers, bare_first)]
        if markers.size:
            logger.info("%s: %d row(s) of markers (text, no samples) left out.", path, markers.size)
            values = np.delete(values, markers, axis=0)
    first, columns = read["first"], read["columns"]
    origins = {}
    if names is not None and len(names) != first.size:
        raise CorruptFileError(f"{path}: its header names {len(names)} columns and its rows hold {first.size}.")
    # each clock column's first cell that is not a gap: how the file writes its stamps
    firsts = {
        column: next((row[column] for row in below if len(row) > column and not is_missing_cell(row[column])), "")
        for column in clocks
    }
    # the rows at which a zoned clock column's offset changes (daylight saving's), found before the stamps are
    # shifted: a refusal shows each stamp in the offset the file wrote it in
    changes = {column: _offset_changes(values, _held_rows(columns, column), offsets.get(column)) for column in clocks}
    for column, local in clocks.items():
        if local:  # a wall clock of no stated zone: its seconds from the first sample, claiming no start
            held = _held_rows(columns, column)
            if held and is_time_of_day(firsts[column]):
                values[:, held[0]] = _past_midnight(values[:, held[0]])
            stamps = values[:, held[0]] if held else first[column : column + 1]
            given = stamps[np.isfinite(stamps)]
            origin = given[0] if given.size else first[column]  # the first stamp given (a missing one is filled later)
            values[:, held] -= origin
            first[column] -= origin
            origins[column] = float(origin)
    # (time, channels) -> (channels, time): a view, as numpy's (time, channels) rows were always read
    # date-times alone are shown as clock time again (a pandas Timedelta column's stamps are its seconds already)
    clock_times = {
        column: _Clock(
            origins.get(column, 0.0),
            local,
            time_of_day=is_time_of_day(firsts[column]),
            zone=getattr(parse_clock_time(firsts[column]), "tzinfo", None) or time_of_day_zone(firsts[column]),
            changes=tuple((float(values[row, held]), zone) for row, held, zone in changes[column]),
        )
        for column, local in clocks.items()
        if parse_clock_time(firsts[column]) is not None or is_time_of_day(firsts[column])
    }
    return _CsvTable(
        values.T, names, units, first.size, columns, read.get("channels"), read.get("refusal"), clock_times, stated
    )


def _held_rows(columns: list[int] | None, column: int) -> list[int]:
    """Where the file's `column` lies among the columns read (`columns`; None: every one): [] where it is not read."""
    return [column] if columns is None else [row for row, each in enumerate(columns) if each == column]


def _offset_changes(
    values: np.ndarray, held: list[int], offsets: dict[float, datetime.timezone] | None
) -> list[tuple[int, int, datetime.timezone]]:
    """`(row, column held, offset)` of each row of `values` `(rows, columns held)` at which a zoned clock column (held
    at `held`) takes another UTC offset than the row before's, from the `{seconds as read: offset}` its cells noted
    (`read_csv_numbers`' ``clock_zones``), in row order; [] where it is not held or writes no offset."""
    if not held or not offsets:
        return []
    stamps = values[:, held[0]]
    found = sorted((int(np.argmax(stamps == seconds)), zone) for seconds, zone in offsets.items() if seconds in stamps)
    kept = [change for number, change in enumerate(found) if number == 0 or change[1] != found[number - 1][1]]
    return [(row, held[0], zone) for row, zone in kept]


def _past_midnight(stamps: np.ndarray) -> np.ndarray:
    """A CSV column of times of day (`is_time_of_day`) read as seconds since midnight, `(time,)`, run on past each
    midnight: a stamp more than half a day before the one given before it (23:59:59.9 then 00:00:00) is the next
    day's, not a step back (refused as samples out of order). NaN (a missing stamp) kept."""
    given = np.flatnonzero(np.isfinite(stamps))
    days = np.flatnonzero(np.diff(stamps[given]) < -SECONDS_A_DAY / 2) + 1  # the first stamp of each next day
    if not days.size:
        return stamps
    added = np.zeros(stamps.size)
    for day in given[days]:
        added[day:] += SECONDS_A_DAY
    return stamps + added


@dataclasses.dataclass(frozen=True)
class _Clock:
    """How a CSV column of clock time (`clock_seconds`) was read: seconds since 1970 (since midnight for times of day
    alone, `time_of_day`), less `origin` (its first stamp, for a wall clock of no stated zone, `local`), so that a
    refusal can show a stamp as the file wrote it: in its first stamp's UTC offset, `zone`, where it has one, and from
    each of `changes` on (`(seconds as read, less origin, offset)`, in order: daylight saving's) in that one."""

    origin: float
    local: bool
    time_of_day: bool = False
    zone: datetime.tzinfo | None = None
    changes: tuple[tuple[float, datetime.tzinfo], ...] = ()

    def text(self, seconds: float) -> str:
        """The stamp read as `seconds` as ISO clock text, as the file wrote it: a local one without a zone, a time of
        day alone without a date, a zoned one in the offset the file wrote at that time."""
        moment = datetime.datetime.fromtimestamp(self.origin + seconds, tz=datetime.timezone.utc)
        zone = next((zone for since, zone in reversed(self.changes) if since <= seconds), self.zone)
        if zone is not None:
            moment = moment.astimezone(zone)
        written = moment.replace(tzinfo=None)
        text = written.time().isoformat() if self.time_of_day else written.isoformat(sep=" ")
        text = text.rstrip("0") if "." in text else text
        zoned = not self.local or self.zone is not None  # (a time of day with its offset is local: no date)
        return text + (moment.isoformat()[len(written.isoformat()) :] if zoned else "")


@dataclasses.dataclass(frozen=True)
class _CsvTable:
    """A CSV recording's columns as `_read_csv` reads them."""

    data: np.ndarray  # (channels, time) float64: the columns `columns` names, in that order
    names: list[str] | None  # every column's name (None: a file without a header, its columns named by position)
    units: list[str]  # every column's unit, or []
    width: int  # the file's columns
    columns: list[int] | None  # the columns `data` holds (None: every one)
    channels: int | None  # how many of `columns` are the channels wanted (the rest: time columns, for the start)
    refusal: ValueError | None  # a channel wanted that is not in the file, to raise after the file's own checks
    clocks: dict[int, _Clock] = dataclasses.field(default_factory=dict)  # columns of clock time, by file column
    stated: tuple[datetime.datetime, float] | None = None  # the start (UTC) and rate (Hz) an E4 export's rows state


def _clock_columns(path: Path, names: list[str] | None, below: list[list[str]]) -> dict[int, bool]:
    """The columns of a CSV with a header whose first data row holds clock time (`clock_seconds`), as pandas'
    `to_csv` writes a DatetimeIndex or TimedeltaIndex, each with whether it is a wall clock without a time zone
    (`clock_is_local`): `{column: local}`. Such a column under pandas' index name (none) or a time column's name is
    the recording's time stamps; under another name it is refused, naming the fix (read as a channel, a clock would
    be scored as a signal).

    Raises:
        CorruptFileError: a column of clock time named as neither.
    """
    if names is None or not below:
        return {}
    # each column's first cell that is not a gap (a DatetimeIndex whose first stamp is NaT, written as an empty cell)
    firsts = [
        next((row[column] for row in below if len(row) > column and not is_missing_cell(row[column])), "")
        for column in range(len(names))
    ]
    clocks = {
        column: clock_is_local(cell)
        for column, cell in enumerate(firsts)
        if not _is_number(cell) and clock_seconds(cell) is not None
    }
    for column in clocks:
        name = names[column]
        if not _is_index_column(name) and _column_key(name) not in TIME_COLUMNS | ARRIVAL_COLUMNS:
            raise CorruptFileError(
                f"{path}: its column {name!r} holds clock times ({firsts[column]!r}), which are no channel; name it "
                "'time' to read it as the recording's time stamps (pandas: `frame.index.name = 'time'` before "
                "`to_csv`), or leave it out of the file (`to_csv(path, index=False)`)."
            )
    return clocks


@dataclasses.dataclass(frozen=True)
class _CsvHead:
    """A CSV's first rows as `_read_csv` and `csv_has_time_column` both read them (`_csv_head`)."""

    encoding: str
    delimiter: str | None  # None: columns apart by runs of spaces
    cells: list[str]  # the first row's cells, stripped: names, or the first sample
    below: list[list[str]]  # up to `_HEADER_EVIDENCE_ROWS` rows under it
    header_lines: int  # the lines the first row takes (a quoted name may hold a line break)
    units_lines: int  # the lines up to the end of the second row (a row of units under the names)
    third_lines: int  # the lines up to the end of the third row (Shimmer's units, under its row of CAL / RAW)
    evidence_lines: int  # the lines `below` reaches to
    trailing_delimiter: bool  # every row read ends with the delimiter: an empty last column, left out of the cells


def _csv_head(path: Path) -> _CsvHead:
    """The first rows of the CSV `path`: its encoding (`text_encoding`), its delimiter (the first of
    `_CSV_DELIMITERS` that splits the first two records alike, `_csv_delimiter`; none: whitespace), its first row and
    the rows under it as the `csv` module reads them, quotes honoured (pandas quotes a name holding the delimiter or a
    quote, R's `write.csv` every name and row name). A delimiter at the end of every row read (a logger that ends each
    line with it: "a;b;"), with or without one at the header's end, is no empty column: it is left out of the cells,
    and `read_csv_matrix` checks the rest of the file's last column empty; one at the end of the header alone is left
    out of the names.

    Raises:
        CorruptFileError: text that is not UTF-8 (nor marked UTF-16), a NUL byte, a field over the csv module's limit.
    """
    encoding = text_encoding(path)
    try:
        with open(path, newline="", encoding=encoding) as handle:
            first_record = _csv_record(handle)
            delimiter = _csv_delimiter(first_record, _csv_record(handle))
            handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter or " ", skipinitialspace=True)
            cells = [cell.strip() for cell in next(reader, [])]
            header_lines = reader.line_num
            below = [[cell.strip() for cell in row] for row in itertools.islice(reader, 1)]
            units_lines = reader.line_num
            below += [[cell.strip() for cell in row] for row in itertools.islice(reader, 1)]
            third_lines = reader.line_num
            below += [[cell.strip() for cell in row] for row in itertools.islice(reader, _HEADER_EVIDENCE_ROWS - 2)]
            evidence_lines = reader.line_num
    except UnicodeDecodeError as error:
        raise not_decodable(path, error) from None
    except csv.Error as error:  # a NUL byte, a field over the csv module's size limit
        raise CorruptFileError(f"{path} is not a CSV file ({error}).") from None
    if delimiter is None:  # columns apart by runs of spaces: the empty cells between them are no cells
        cells, below = [cell for cell in cells if cell], [[cell for cell in row if cell] for row in below]
    rows = [row for row in below if row]
    cells = _uncommented_header(path, first_record, cells, rows)
    header_ended = len(cells) > 1 and cells[-1] == ""
    # the rows end with the delimiter, the header too or a header of names alone ("a,b" above "1,2,")
    trailing = (
        delimiter is not None
        and bool(rows)
        and all(row[-1] == "" for row in rows)
        and {len(row) for row in rows} == {len(cells) + (0 if header_ended else 1)}
        and (header_ended or not all(_is_number(cell) for cell in cells))
    )
    if trailing:
        cells, below = cells[:-1] if header_ended else cells, [row[:-1] if row else row for row in below]
    elif delimiter is not None and header_ended and rows and {len(row) for row in rows} == {len(cells) - 1}:
        cells = cells[:-1]  # the header alone ends with the delimiter ("a;b;" above "1;2")
    return _CsvHead(encoding, delimiter, cells, below, header_lines, units_lines, third_lines, evidence_lines, trailing)


# The first line of a CSV that is no header and no sample: a comment ("# recorded with ...", OpenBCI's "%OpenBCI Raw
# EXG Data") or Excel's line naming the delimiter ("sep=;").
_PREAMBLE = re.compile(r"[#%]|sep=.?\s*$", re.IGNORECASE)


def _uncommented_header(path: Path, first_line: str, cells: list[str], rows: list[list[str]]) -> list[str]:
    """A CSV's first row `cells` (its text `first_line`) without the "#" numpy's `savetxt(header=...)` writes before
    the names ("# time,ECG" above rows of two cells: the time column was read as a channel named "# time"; with
    savetxt's default delimiter, a space, "# time ECG", whose "#" is a cell of its own; "# ECG" above one column),
    where the names left are as many as the rows' cells; other text above the header is refused.

    Raises:
        CorruptFileError: a first line that is a comment or Excel's "sep=" line (`_PREAMBLE`), naming it and the fix;
            read as the header, it was refused with advice about thousands separators or a row of units.
    """
    line = first_line.strip()
    if not _PREAMBLE.match(line):
        return cells
    if line.startswith("#") and rows:
        widths = {len(row) for row in rows}
        if cells[0] == "#" and widths == {len(cells) - 1}:  # "# time ECG", "# ECG": the "#" alone
            return cells[1:]
        if len(cells) > 1 and widths == {len(cells)}:  # "# time,ECG" ("#,ECG": a first column named "#")
            return [cells[0][1:].strip(), *cells[1:]]
    raise CorruptFileError(
        f"{path}: its first line, {line!r}, is a comment or a spreadsheet's note ('#', '%', 'sep=') above the header, "
        "which is not read; remove the lines above the header row (the channels' names, or the first sample)."
    )


# A unit written at the end of a CSV header name, in brackets or parentheses ("ECG [mV]", "acc_x (g)", "EDA (µS)"):
# the channel's unit where it is one of these (a voltage in any spelling, `VOLTAGE_UNITS`, or a unit sensors are
# logged in), so that a bracket that says something else ("EEG (left)") is no unit.
_NAMED_UNIT = re.compile(r"^(?P<name>.*\S)\s*[\[(](?P<unit>[^\[\]()]+)[\])]$")
_SENSOR_UNITS = frozenset(
    {"g", "m/s^2", "m/s²", "m/s2", "deg/s", "°/s", "dps", "rad/s", "%", "bpm", "mmHg", "°C", "degC", "K", "µS", "uS"}
    | {"mS", "nA", "µA", "uA", "mA", "µT", "uT", "mT", "Hz", "ohm", "kOhm", "Ω", "kΩ", "au", "a.u.", "mg", "mbar"}
    | {"hPa", "Pa", "N", "Nm", "rpm"}
)


def _units_in_names(names: list[str]) -> list[str]:
    """The units written at the ends of a CSV header's names (`_NAMED_UNIT`: "ECG [mV]" is a channel in mV; "" where
    a name holds none): read as part of the name alone, the unit was lost, and a recording in mV reached a µV model
    unconverted. The names stay as written, so that a model fine-tuned on such files still finds its channels. A time
    column's unit is its stamps' (`_time_units` reads it in the name), not a channel's."""
    from ...vocabulary_citrus import VOLTAGE_UNITS, canonical_unit

    units = []
    for name in names:
        match = _NAMED_UNIT.match(name)
        unit = match["unit"].strip() if match else ""
        known = canonical_unit(unit) in VOLTAGE_UNITS or unit in _SENSOR_UNITS
        units.append(unit if match and known and _column_key(name) not in TIME_COLUMNS else "")
    return units


def _agreeing_units(path: Path, names: list[str], named: list[str], row: list[str]) -> list[str]:
    """The units of a CSV whose names may hold units (`named`, `_units_in_names`) above a row of units (`row`): the
    row's, a name's where the row leaves its cell empty.

    Raises:
        CorruptFileError: a name's unit that the row contradicts, naming both.
    """
    from ...vocabulary_citrus import canonical_unit

    for name, in_name, in_row in zip(names, named, row, strict=True):
        if in_name and in_row and canonical_unit(in_name) != canonical_unit(in_row):
            raise CorruptFileError(
                f"{path}: its column {name!r} names its unit {in_name!r} in the header and {in_row!r} in the row of "
                "units under it; correct the one that is wrong."
            )
    return [in_row or in_name for in_name, in_row in zip(named, row, strict=True)]


def _is_number(cell: str) -> bool:
    """Whether a CSV cell is a number as `read_csv_matrix` reads one, with a decimal point or a decimal comma."""
    try:
        float(cell)
    except ValueError:
        return _COMMA_NUMBER.fullmatch(cell) is not None
    return True


def _is_sample_row(cells: list[str]) -> bool:
    """Whether a CSV's first row `cells` is a sample rather than a header: numbers, or gaps (`MISSING_CELLS`) among
    numbers, as `read_csv_matrix` reads them. A gap made the first row of a file without a header its names (the
    first sample lost and the gap's column, named "", left out as a row index); an empty cell first above whole
    numbers only (",0,1,2") stays pandas' header of an unnamed index above unnamed columns."""
    gaps = [is_missing_cell(cell) for cell in cells]
    if not all(gap or _is_number(cell) for cell, gap in zip(cells, gaps)) or all(gaps):
        return False
    return not gaps[0] or not all(gap or _WHOLE_NUMBER.fullmatch(cell.strip()) for cell, gap in zip(cells, gaps))


def _is_text_row(row: list[str]) -> bool:
    """Whether a CSV row under the names is text rather than a sample: no cell a number or a missing value's marker
    (`is_missing_cell`, the rule the values are read by: "NA" or Excel's "#N/A", a sample whose values are missing;
    "-" is none, a unit of a channel without one), and one cell at least not empty."""
    return any(row) and not any(_is_number(cell) or is_missing_cell(cell) for cell in row if cell)


def _units_row(path: Path, names: list[str], row: list[str], delimiter: str | None) -> list[str]:
    """The units of a CSV's columns, one per name ("" where its cell is empty or the row ends before it), from the row
    of text `row` under the names: a spreadsheet's or a logger's row of units ("mV", "[µV]", "s", "%"; `_UNIT_CELL`),
    brackets left out. A time column's unit there is its stamps' (`_time_units`).

    Raises:
        CorruptFileError: a row of other text (a second header row of descriptions), or of more cells than the names,
            naming the row and the fix.
    """
    shown = (delimiter or " ").join(row)
    if len(row) <= len(names) and all(_UNIT_CELL.fullmatch(cell) for cell in row if cell):
        # (a row cut short after its last unit leaves the columns after it without one)
        return [re.sub(r"^[\[(](.*)[\])]$", r"\1", cell) for cell in row] + [""] * (len(names) - len(row))
    raise CorruptFileError(
        f"{path}: its second row, {shown!r}, is text under the names rather than numbers, and not a row of units "
        f"(a short unit such as mV, µV or % under each of its {len(names)} names, which is read as the channels' "
        "units); remove it, or leave only the units there, so that the samples start under the names."
    )


def _decimal_comma(path: Path, encoding: str, delimiter: str | None, rows: list[list[str]], scanned_lines: int) -> bool:
    """Whether a CSV's numbers are written with a decimal comma: a comma in a data cell (its `rows`, the first ones,
    as split by `delimiter`), where it cannot be the delimiter (semicolons, tabs, spaces) or was quoted; or, in a file
    not apart by commas, one anywhere past its first `scanned_lines` lines (a recording whose first second is whole
    numbers, "0;10").

    Raises:
        CorruptFileError: commas and points in its numbers ("1.253,5", or "1,253" beside "987.5"), one of them a
            separator between thousands, which is not read.
    """
    commas = [cell for row in rows for cell in row if "," in cell]
    points = [cell for row in rows for cell in row if "." in cell]
    if commas and points:
        shown = repr(commas[0]) if commas[0] in points else f"{commas[0]!r} and {points[0]!r}"
        raise CorruptFileError(
            f"{path}: its numbers hold commas and points ({shown}), one the decimal mark and the other a separator "
            "between thousands, which is not read; export them without thousands separators (a number format "
            "without them), with a decimal comma or a decimal point."
        )
    if commas:
        return True
    if delimiter == ",":
        return False
    try:
        with open(path, newline="", encoding=encoding) as handle:
            for _ in range(scanned_lines):
                handle.readline()
            return any("," in block for block in iter(lambda: handle.read(_SCAN_CHARS), ""))
    except UnicodeDecodeError as error:
        raise not_decodable(path, error) from None


def _one_column_of_decimal_commas(path: Path, encoding: str, rows: list[list[str]]) -> bool:
    """Whether a CSV without a header, its rows apart by commas, is one column of numbers written with a decimal comma
    ("104,71", a spreadsheet's export of one channel in a locale whose decimal mark is the comma) rather than columns
    of numbers. False at once unless its every row (`rows`: the first ones, split by the comma; then the whole file)
    is one or two whole numbers, the second unsigned ("104,71", "-3,5", "100"): any other row is no decimal. Of those:

    * one column of decimals where no two whole numbers can be meant: a row of one number among rows of two (a file of
      two columns has a comma in every row; a spreadsheet's General format writes 100,00 as "100"), or a second number
      that starts with 0 ("104,05", "100,00": no whole number is written so);
    * two columns of whole numbers where no decimals can be meant: second numbers of several lengths one of which
      ends in 0 ("100,0" beside "104,71": numbers to a fixed number of places have one length, and a General format
      writes none with a trailing 0);
    * refused otherwise: second numbers of one length none of which starts with 0 ("36,71" ... "36,79", a slow
      temperature to two places, or "512,498", two channels of counts of three digits), or of several lengths none
      of which ends in 0, read either way.

    Raises:
        CorruptFileError: a file that reads either way, naming both readings and the fix (a header row naming its
            channels says which).
    """
    rows = [row for row in rows if row]
    if not any(len(row) == 2 for row in rows) or not all(
        len(row) <= 2 and _WHOLE_NUMBER.fullmatch(row[0].removeprefix("-")) and _WHOLE_NUMBER.fullmatch(row[-1])
        for row in rows
    ):
        return False
    lone, padded, zero_ended, lengths = False, False, False, set()
    try:
        with open(path, newline="", encoding=encoding) as handle:
            for block in iter(lambda: handle.read(_SCAN_CHARS) + handle.readline(), ""):
                form = _whole_number_rows(block)
                if form is None:
                    return False
                lone, padded, zero_ended = lone or form[0], padded or form[1], zero_ended or form[2]
                lengths |= form[3]
    except UnicodeDecodeError as error:
        raise not_decodable(path, error) from None
    if lone or padded:
        return True
    if len(lengths) > 1 and zero_ended:
        return False
    undecided = (
        f"every second number has {lengths.pop()} digit(s) and none starts with 0"
        if len(lengths) == 1
        else "its second numbers have several lengths and none ends in 0"
    )
    raise CorruptFileError(
        f"{path}: every row is two whole numbers apart by a comma ({','.join(rows[0])!r}), which reads as one channel "
        "written with a decimal comma or as two channels of whole numbers, and its form does not tell which "
        f"({undecided}); add a header row that names its channels: one name for one channel of decimals, a name for each "
        "of two channels of whole numbers (or export it with a decimal point)."
    )


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
    quoted cells (the reader then says what does not match). Not the comma where both records are numbers written
    with a decimal comma apart by spaces ("12,53 9,82"). None: columns apart by spaces."""
    unquoted = re.sub(r'"[^"]*"', "", first)
    spaced = all(
        len(cells := record.split()) > 1 and all(_COMMA_NUMBER.fullmatch(cell) for cell in cells)
        for record in (first, second)
        if record.strip()
    )
    present = [each for each in _CSV_DELIMITERS if each in unquoted and not (each == "," and spaced)]
    records = "".join(record for record in (first, second) if record.strip())
    for candidate in present:
        widths = {len(row) for row in csv.reader(io.StringIO(records, newline=""), delimiter=candidate)}
        if len(widths) == 1 and widths != {1}:
            return candidate
    return present[0] if present else None


# A whole number written with a leading 0 ("05"): the decimals of a number written with a decimal comma ("1,05").
_LEADING_ZERO = re.compile(r"0\d+")


def _refuse_columns_of_decimal_commas(path: Path, rows: list[list[str]]) -> None:
    """Refuse a CSV without a header, its rows apart by commas, whose first `rows` read as columns of numbers written
    with a decimal comma ("1,05,-2,50": two channels, 1.05 and -2.5): every row four or more whole numbers, each
    second one unsigned, and one of those written with a leading 0 ("05", as no whole number is, while no first one
    is: a file of zero-padded counts pads them all). Read as it stands, it was twice as many channels of whole
    numbers, without a word. Refused with the fix rather than read in pairs: a spreadsheet writes 3,00 as "3", so a
    row of such a file need not pair its cells. Without a leading 0 among the second numbers the form cannot tell,
    and the file is read as whole numbers (README: a CSV's decimal comma). The one-column form ("104,71") is
    `_one_column_of_decimal_commas`'.

    Raises:
        CorruptFileError: such a file, naming the cell that shows it and the fix.
    """
    rows = [row for row in rows if row]
    if not rows or not all(
        len(row) >= 4
        and len(row) % 2 == 0
        and all(_WHOLE_NUMBER.fullmatch(cell.strip().removeprefix("-")) for cell in row[::2])
        and all(_WHOLE_NUMBER.fullmatch(cell.strip()) for cell in row[1::2])
        for row in rows
    ):
        return
    if any(_LEADING_ZERO.fullmatch(cell.strip().removeprefix("-")) for row in rows for cell in row[::2]):
        return  # zero-padded whole numbers
    shown = next((cell.strip() for row in rows for cell in row[1::2] if _LEADING_ZERO.fullmatch(cell.strip())), None)
    if shown is None:
        return
    raise CorruptFileError(
        f"{path}: its rows are whole numbers apart by commas ({','.join(rows[0])!r}) of which every second one reads "
        f"as the decimals of a number written with a decimal comma ({shown!r}: no whole number is written with a "
        "leading 0), so the comma is both its decimal mark and its delimiter and its columns cannot be told apart; "
        "export it with semicolons between the columns (a spreadsheet's CSV in a locale whose decimal mark is the "
        "comma), or write the numbers with a decimal point."
    )


def _whole_number_rows(block: str) -> tuple[bool, bool, bool, set[int]] | None:
    """The form of a block of whole lines of a CSV whose every row is one or two whole numbers apart by a comma, the
    second unsigned, spaces aside (`_one_column_of_decimal_commas`): whether a row holds one number, whether a second
    number starts with 0 and has more digits ("05"), whether one ends in 0, and their lengths. None where a row is
    of another form (three numbers, a negative second one, a decimal point, text). Counted on the block's bytes with
    numpy: a million rows in a few hundredths of a second, where regular expressions took two seconds."""
    # a line ends at "\n", "\r\n" or a lone "\r" (Excel for Mac's "CSV (Macintosh)"): dropping every "\r" would
    # join the last one's lines into one
    text = block.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8").translate(None, b" \t")
    if text.translate(None, b"0123456789,-\n"):
        return None
    characters = np.frombuffer(text, dtype=np.uint8)
    breaks = np.flatnonzero(characters == ord("\n"))
    starts, stops = np.r_[0, breaks + 1], np.r_[breaks, characters.size]  # each line's characters, its break aside
    commas = np.flatnonzero(characters == ord(","))
    rows = np.searchsorted(breaks, commas)  # the line of each comma
    minus = np.flatnonzero(characters == ord("-"))
    signed = np.r_[characters, ord("\n")][minus + 1]  # what follows each sign (a break after the last character)
    if (
        np.any(np.diff(rows) == 0)  # two commas in a row
        or np.any(commas == starts[rows])
        or np.any(commas + 1 == stops[rows])  # a comma with no number before or after it
        or np.any(np.r_[ord("\n"), characters][minus] != ord("\n"))  # a sign inside a row ("5,-3")
        or np.any((signed < ord("0")) | (signed > ord("9")))  # a sign without a number ("-,5")
    ):
        return None
    with_comma = np.zeros(starts.size, dtype=bool)
    with_comma[rows] = True
    lone = bool(np.any((stops > starts) & ~with_comma))
    lengths = stops[rows] - commas - 1
    first, last = characters[commas + 1], characters[stops[rows] - 1]
    return (
        lone,
        bool(np.any((first == ord("0")) & (lengths > 1))),
        bool(np.any(last == ord("0"))),
        set(lengths.tolist()),
    )


def _decimals_under(cells: list[str], below: list[list[str]]) -> bool:
    """Whether some column under the first row `cells` has every value of the rows `below` written as a decimal
    ("100.0", "1e-05"), as pandas writes every float: a whole number above it was not written as one of its values."""
    rows = [row for row in below if len(row) == len(cells)]
    return any(
        any(row[column] for row in rows)
        and all(_DECIMAL_FORM.search(row[column]) for row in rows if row[column])  # (empty: pandas' NaN)
        for column in range(len(cells))
    )


def csv_header_of_column_numbers(path: str | Path) -> bool:
    """Whether the header row of the CSV `path` is the whole numbers 0, 1, ... that pandas writes for a DataFrame
    whose columns were never named (`pd.DataFrame(array).to_csv(path, index=False)`): read as a header
    (`_numbers_header`), it names each channel by its position, as a file without a header is read, though the file
    has one to write names in. Pandas' row index before them (`to_csv` with its index: ",0,1") is passed over, as the
    reader passes over it (`_is_index_column`)."""
    head = _csv_head(Path(path))
    cells, below = head.cells, head.below
    if cells and _is_index_column(cells[0]):
        cells, below = cells[1:], [row[1:] for row in below]
    positions = [str(position) for position in range(len(cells))]
    return bool(cells) and cells == positions and _decimals_under(cells, below)


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
    if _decimals_under(cells, below):
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
