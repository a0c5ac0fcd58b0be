"""biosignalsnotebooks 0.6.14 (PLUX): OpenSignals recordings of biosignalsplux / BITalino sensors, and one PhysioNet
EEG Motor Movement/Imagery file.

The OpenSignals files hold raw ADC counts; each PLUX sensor has a published transfer function to physical units
(here: EEG in microvolts, :func:`plux_eeg_microvolts`).
"""

from __future__ import annotations

import numpy as np

from ..errors import CitrusDataError
from ..fetch import source_members
from ..readers import read_edf, read_opensignals_h5
from ..recordings import RecordingRef, Signals, find_member, member_origin
from ..registry import PHYSIONET_CITATION, PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks-0.6.14-py3-none-any.whl",
        "9ba3839680f7364f37a672c2288044f20b7bbbbef74fb3915b6c218c8597cac2",
    )
)
SAMPLES_FOLDER = "biosignalsnotebooks/notebook_files/osf_files/signal_samples"
LICENSE = "MIT (biosignalsnotebooks)"
CITATION = "PLUX wireless biosignals. biosignalsnotebooks, https://github.com/biosignalsplux/biosignalsnotebooks"
HOMEPAGE = "https://github.com/biosignalsplux/biosignalsnotebooks"

# The 15 OpenSignals EEG recordings, each with its "<name>_info.json" (signal types per channel).
EEG_RECORDINGS: tuple[str, ...] = (
    "eeg_acoustic",
    "eeg_acoustic_a",
    "eeg_sample_0cm_h",
    "eeg_sample_0cm_v",
    "eeg_sample_1cm_h",
    "eeg_sample_1cm_v",
    "eeg_sample_2cm_h",
    "eeg_sample_2cm_v",
    "eeg_sample_artefacts_seg1",
    "eeg_sample_artefacts_seg2",
    "eeg_sample_artefacts_seg3",
    "eeg_sample_closed_open_eyes",
    "eeg_sample_o",
    "eeg_sample_p",
    "signal_sample_single_hub_EEG_2018_7_4",
)

# biosignalsplux EEG sensor: EEG(V) = (ADC / 2^n - 1/2) * VCC / G_EEG with VCC = 3 V and G_EEG = 41782.
PLUX_EEG_VCC = 3.0
PLUX_EEG_GAIN = 41782.0


def plux_eeg_microvolts(adc: np.ndarray, resolution: int) -> np.ndarray:
    """Convert biosignalsplux EEG ADC counts to microvolts (the sensor's published transfer function)."""
    return (np.asarray(adc, dtype=np.float64) / 2**resolution - 0.5) * PLUX_EEG_VCC / PLUX_EEG_GAIN * 1e6


def _member(path: str) -> str:
    return f"{SAMPLES_FOLDER}/{path}"


def load_opensignals_eeg(path: str, info: str) -> Signals:
    """The EEG channels of one OpenSignals file (the ``_info.json`` names each channel's sensor), in microvolts."""
    recording = read_opensignals_h5(path, info)
    names = [name for name, kind in recording.signal_types.items() if kind == "EEG"]
    data = np.stack([plux_eeg_microvolts(recording.channels[n], recording.resolution[n]) for n in names])
    return Signals(data, recording.sampling_rate, tuple(names), ("EEG",) * len(names))


@offline_source(
    name="bsnb_eeg",
    description="15 OpenSignals (biosignalsplux) EEG recordings, 1-2 channels, 28-313 s each, raw ADC counts "
    "converted to microvolts with the PLUX EEG transfer function. In eeg_acoustic*.h5 channel_1 is a "
    "microphone and is skipped (the _info.json files give each channel's signal type).",
    modality="EEG",
    sampling_rate="1000",
    channels="1-2",
    license=LICENSE,
    citation=CITATION,
    archive=ARCHIVE,
    members=tuple(_member(f"{name}{suffix}") for name in EEG_RECORDINGS for suffix in (".h5", "_info.json")),
    homepage=HOMEPAGE,
)
def bsnb_eeg_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The OpenSignals EEG recordings."""
    paths = source_members("bsnb_eeg", archive_cache_dir)
    return [
        RecordingRef(
            source="bsnb_eeg",
            recording=f"bsnb/{name}",
            subject="unknown",
            origin=member_origin("bsnb_eeg", _member(f"{name}.h5")),
            loader=load_opensignals_eeg,
            arguments=dict(path=str(paths[_member(f"{name}.h5")]), info=str(paths[_member(f"{name}_info.json")])),
        )
        for name in EEG_RECORDINGS
    ]


def load_edf_eeg(path: str) -> Signals:
    """Every signal of an EEG EDF+ file, in microvolts (refused when a channel is in another unit)."""
    recording = read_edf(path)
    if any(unit.lower() not in {"uv", "µv", "μv"} for unit in recording.units):
        raise CitrusDataError(f"{path}: expected EEG channels in µV, got units {sorted(set(recording.units))}.")
    names = tuple(name.strip(".") for name in recording.channel_names)
    return Signals(recording.data, recording.sampling_rate, names, ("EEG",) * len(names))


@offline_source(
    name="eegmmi_s001r02",
    description="PhysioNet EEG Motor Movement/Imagery, subject 1 run 2 (eyes-closed baseline): a real EDF+ "
    "file with an annotation channel, 64 channels, 160 Hz, 61 s.",
    modality="EEG",
    sampling_rate="160",
    channels="64",
    license="ODC-By 1.0 (PhysioNet)",
    citation="Schalk G, McFarland DJ, Hinterberger T, Birbaumer N, Wolpaw JR. BCI2000: a general-purpose "
    "brain-computer interface (BCI) system. IEEE TBME 51(6):1034-1043, 2004. " + PHYSIONET_CITATION,
    archive=ARCHIVE,
    members=(_member("S001R02.edf"),),
    homepage="https://physionet.org/content/eegmmidb/1.0.0/",
)
def eegmmi_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The one EEGMMI run."""
    path = find_member(source_members("eegmmi_s001r02", archive_cache_dir), "S001R02.edf")
    return [
        RecordingRef(
            source="eegmmi_s001r02",
            recording="eegmmi/S001R02",
            subject="eegmmi-S001",
            origin=member_origin("eegmmi_s001r02", path.name),
            loader=load_edf_eeg,
            arguments=dict(path=str(path)),
        )
    ]
