"""Wearable and lab-amplifier vendors' exports, as `read_recording` meets them: the CSV layouts it recognises from
their content (and reads as their vendor documents them), and the binary formats it has no reader for (refused, naming
the library that converts them).

* Empatica E4 (E4 connect's ``ACC.csv``, ``BVP.csv``, ``EDA.csv``, ``TEMP.csv``, ``HR.csv``): no header; the first row
  is the start in UNIX seconds (UTC), the second the sampling rate, each written once per column; then the samples
  (`empatica_e4_header`). ``IBI.csv`` (beat times and inter-beat intervals, no evenly sampled signal) is refused
  (`refuse_empatica_ibi`).
* Shimmer (Consensys' CSV export): names ``Shimmer_<id>_<signal>_CAL``, a row saying each column calibrated or raw
  (``CAL`` / ``RAW``: `is_shimmer_formats_row`), then the row of units; ``..._Timestamp_Unix_CAL`` is the Unix time in
  milliseconds (`vendor_column_key`).
* BIOPAC AcqKnowledge's text export with its header (the file's name, "2 msec/sample", "2 channels", each channel's
  name and unit lines, then the column names, the first the time in the horizontal scale's unit): refused naming the
  rate it states and the fix (`refuse_acqknowledge_header`).
* Polar Sensor Logger (H10 / OH1 / Verity Sense ``.txt``): ``Phone timestamp`` is the phone's clock when each packet
  of samples arrived (`ARRIVAL_COLUMNS`: no channel, and no clock of the samples), ``sensor timestamp [ns]`` the
  sensor's own clock in nanoseconds since 2000-01-01 (`FOREIGN_EPOCH_COLUMNS`: checked against the rate, never read as
  a date since 1970).
"""

from __future__ import annotations

import datetime
import math
import re
from pathlib import Path

from ..errors import CorruptFileError

# A rate an E4 export states in its second row (Hz): the E4 writes 1 to 64; a first row of a recording's samples that
# happens to be a UNIX time above a second row at most this is taken for no E4 header only past it.
_E4_MAX_RATE = 1000.0
# UNIX seconds from 2010 (the E4 shipped in 2015) to 2100: the E4's first row.
_E4_STARTS = (1_262_304_000.0, 4_102_444_800.0)
# The cells of Shimmer's row under the names: each column calibrated (to the units in the row below) or not.
_SHIMMER_FORMATS = frozenset({"CAL", "RAW", "UNCAL"})
# A Shimmer column's name as `files._column_key` writes it ("Shimmer_5E7D_TimestampSync_Unix_CAL" ->
# "shimmer_5e7d_timestamp_sync_unix_cal"): the device's id, the signal, and "cal" for a calibrated column.
_SHIMMER_NAME = re.compile(r"^shimmer_[0-9a-z]{4}_(?P<signal>.+)_cal$")
# Column keys (`files._column_key`) of a phone's arrival time of each packet of samples: a wall clock stamped on many
# samples at once and late by the radio's buffering, so neither a channel nor a clock to check the rate by.
ARRIVAL_COLUMNS = frozenset({"phone_timestamp"})
# Column keys of a device clock counting from another epoch than 1970 (Polar's sensors: nanoseconds since 2000-01-01
# on the sensor's own clock): time stamps to check the rate by, whose values are no date since 1970.
FOREIGN_EPOCH_COLUMNS = frozenset({"sensor_timestamp"})
# AcqKnowledge's text header: its second line the sample interval, its third the channel count (each channel then
# two lines, its name and its unit).
_ACQ_INTERVAL = re.compile(
    r"\s*(?P<interval>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>msec|sec|usec|µsec)/sample\s*", re.IGNORECASE
)
_ACQ_CHANNELS = re.compile(r"\s*(?P<count>\d+)\s+channels?\s*", re.IGNORECASE)
_ACQ_SECONDS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6, "µsec": 1e-6}
# Suffixes of vendors' binary formats no reader here reads, with the library that reads each and what to save.
VENDOR_CONVERSIONS = {
    ".xdf": (
        "Lab Streaming Layer's XDF: `streams, _ = pyxdf.load_xdf(path)` (pip install pyxdf), then save a stream's "
        "`np.asarray(stream['time_series']).T` with np.save and give its `float(stream['info']['nominal_srate'][0])` "
        "as the rate"
    ),
    ".acq": (
        "BIOPAC AcqKnowledge: `bioread.read_file(path)` (pip install bioread), then save its channels' `data` as "
        "(channels, time) with np.save and give their `samples_per_second` as the rate"
    ),
    ".fit": (
        "Garmin's FIT: `fitparse.FitFile(path)` (pip install fitparse) or the FIT SDK's FitCSVTool, then write the "
        "records as a CSV with a time column (time,heart_rate) and give its rate"
    ),
    ".avro": (
        "Empatica EmbracePlus' Avro: `fastavro.reader` (pip install fastavro) gives `rawData`, each signal's `values`, "
        "`samplingFrequency` and `timestampStart` (µs since 1970); save the values with np.save and give that rate"
    ),
}


def empatica_e4_header(cells: list[str], second: list[str]) -> tuple[datetime.datetime, float] | None:
    """The start (UTC) and rate (Hz) of an Empatica E4 CSV whose first row is `cells` and second `second` (cells as
    the `csv` module splits them), or None for any other file: the first row one UNIX time from 2010 on in every
    column, the second one rate in every column (read as samples, they were a 1.6e9 spike and a step at the start)."""
    try:
        starts, rates = {float(cell) for cell in cells}, {float(cell) for cell in second}
    except ValueError:
        return None
    if len(cells) != len(second) or len(starts) != 1 or len(rates) != 1:
        return None
    start, rate = starts.pop(), rates.pop()
    if not (_E4_STARTS[0] <= start <= _E4_STARTS[1] and 0 < rate <= _E4_MAX_RATE and math.isfinite(rate)):
        return None
    return datetime.datetime.fromtimestamp(start, tz=datetime.timezone.utc), rate


def refuse_empatica_ibi(path: Path, names: list[str]) -> None:
    """Refuse an Empatica E4 ``IBI.csv`` (its header the start in UNIX seconds and "IBI"; its rows beat times and
    intervals), which is no evenly sampled signal: read as one, its beat times were a channel.

    Raises:
        CorruptFileError: such a file, naming the E4's signals to read instead.
    """
    if len(names) != 2 or names[1].strip().upper() != "IBI" or empatica_e4_header(names[:1], ["1"]) is None:
        return
    raise CorruptFileError(
        f"{path} is an Empatica E4 IBI.csv: inter-beat intervals at the times of the beats, not samples at an even "
        "rate; read the pulse it was computed from (BVP.csv, 64 Hz), or resample the intervals to an even rate "
        "and save them as a recording of their own."
    )


def is_shimmer_formats_row(row: list[str]) -> bool:
    """Whether a CSV's row under the names is Shimmer's row of "CAL" / "RAW" (whether each column is calibrated),
    above its row of units: read as the units, it made the row of units a sample."""
    cells = [cell for cell in row if cell]
    return bool(cells) and all(cell in _SHIMMER_FORMATS for cell in cells)


def vendor_column_key(key: str) -> str:
    """A column key (`files._column_key`) as a vendor's name means it: a calibrated Shimmer time column
    ("shimmer_5e7d_timestamp_unix_cal", "..._timestamp_sync_unix_cal", Unix milliseconds; "..._timestamp_cal",
    milliseconds from the start) is "timestamp"; any other key as it is."""
    match = _SHIMMER_NAME.match(key)
    if match is None:
        return key
    signal = re.sub(r"(?:_sync)?(?:_unix)?$", "", match["signal"])
    return "timestamp" if signal == "timestamp" else key


def refuse_acqknowledge_header(path: Path, lines: list[str]) -> None:
    """Refuse a BIOPAC AcqKnowledge text export whose first `lines` are its header ("2 msec/sample", "2 channels"
    under the file's name): read as a CSV, its header was refused as no numbers, naming no fix.

    Raises:
        CorruptFileError: such a file, naming its rate and the lines to drop.
    """
    if len(lines) < 3:
        return
    interval, channels = _ACQ_INTERVAL.fullmatch(lines[1]), _ACQ_CHANNELS.fullmatch(lines[2])
    if interval is None or channels is None or float(interval["interval"]) <= 0:
        return
    rate = 1.0 / (float(interval["interval"]) * _ACQ_SECONDS[interval["unit"].lower()])
    header = 3 + 2 * int(channels["count"])  # its name, interval and count, then each channel's name and unit
    raise CorruptFileError(
        f"{path} is a BIOPAC AcqKnowledge text export with its header ({lines[1].strip()}: {rate:g} Hz; "
        f"{lines[2].strip()}), which is not read: delete its first {header} lines (the header above the line of "
        f"column names), name the channels to read (its first column is the time), and give the rate {rate:g} Hz; or "
        "read the .acq file itself (" + VENDOR_CONVERSIONS[".acq"] + ")."
    )
