"""OpenSignals recordings (PLUX biosignalsplux and BITalino): HDF5 files (:func:`read_opensignals_h5`) and text
files (:func:`read_opensignals_txt`).

Both give each channel's raw ADC counts, resolution and sensor type; each sensor's transfer function to physical
units lives with its corpus in :mod:`citrus_hf.data.sources`. `OPENSIGNALS_BODY_SIGNALS` says which sensor types are
body signals, and of which modality.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CitrusDataError, CorruptFileError
from ._common import _as_path
from .arff_csv import read_csv_matrix

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
                Also channels of different lengths (the devices of one file stopped apart).
        """
        names = [
            name
            for name, kind in self.signal_types.items()
            if kind in OPENSIGNALS_BODY_SIGNALS and (keep is None or name in keep)
        ]
        if not names:
            raise CitrusDataError(f"{path} has no body-signal channel among {self.signal_types}.")
        lengths = {name: len(self.channels[name]) for name in names}
        if len(set(lengths.values())) > 1:
            # the devices of one file each stop on their own (a few samples apart), and which samples line up is
            # not recorded: neither trimming nor padding would be right, so the channels are named to pick from
            raise CitrusDataError(
                f"{path}: the body-signal channels hold different numbers of samples ({lengths}), so they are not "
                "one recording; keep the channels of one device (`keep`)."
            )
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
    except FileNotFoundError:  # an OSError, but a mistyped path is not a damaged file
        raise FileNotFoundError(f"{path} does not exist; check the path.") from None
    except OSError as error:
        if "unable to lock file" in str(error):  # HDF5 locks a file while a program writes it
            raise CorruptFileError(
                f"{path} is open for writing in another program (OpenSignals still recording?), and HDF5 refuses to "
                "read it meanwhile; stop the recording or close that program, then read it again."
            ) from error
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
        try:
            info = json.loads(Path(info_json).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CorruptFileError(f"{info_json} is not a JSON file ({error}); re-export it.") from None
        kinds = info.get("Signal Type", "") if isinstance(info, dict) else ""
        # biosignalsnotebooks writes "ECG, EMG"; a list ["ECG", "EMG"] is taken item by item (its `str` split at
        # the commas gave the types "['ECG'" and "'EMG']", which no sensor has)
        kinds = kinds if isinstance(kinds, list) else str(kinds).split(",")
        types = [str(kind).strip() for kind in kinds if str(kind).strip()]
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
