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
    return _opensignals_recordings("bsnb_eeg", EEG_RECORDINGS, load_opensignals_eeg, archive_cache_dir)


def _opensignals_recordings(
    source: str, names, loader, archive_cache_dir=None, info_of=lambda name: name, arguments=lambda name: {}
) -> list[RecordingRef]:
    """One recording per OpenSignals file ``<name>.h5``, read with its ``<info_of(name)>_info.json``."""
    paths = source_members(source, archive_cache_dir)
    return [
        RecordingRef(
            source=source,
            recording=f"bsnb/{name}",
            subject="unknown",
            origin=member_origin(source, _member(f"{name}.h5")),
            loader=loader,
            arguments=dict(
                path=str(paths[_member(f"{name}.h5")]),
                info=str(paths[_member(f"{info_of(name)}_info.json")]),
                **arguments(name),
            ),
        )
        for name in names
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


# Recording -> (its "_info.json" when named otherwise, the channels kept when not every body-signal channel is).
# Left out: ecg_signal_sample.h5 and signal_sample_single_hub_BVP_2018_7_4.h5 (byte-identical to ecg_sample and
# bvp_rest), ecg_20_sec_10_Hz and emg_10_hz_16_bits (10 Hz: too slow for the signal), emg_1000_hz_16_bits (two
# devices at different rates), and sensors that are not body signals (microphone, light, temperature, goniometer,
# force platform channels).
PHYSIO_RECORDINGS: dict[str, tuple[str | None, tuple[str, ...] | None]] = {
    "ecg_20_sec_1000_Hz": (None, None),
    "ecg_20_sec_100_Hz": (None, None),
    "ecg_4000_Hz": (None, None),
    "ecg_5_min": (None, None),
    "ecg_sample": (None, None),
    "signal_sample_single_hub_ECG_2018_7_5": (None, None),
    "supine_1min": (None, None),
    "bvp_motion_artifact": (None, None),
    "bvp_rest": (None, None),
    "signal_sample_single_hub_bvp_2017_1_17": (None, None),
    "signal_sample_single_hub_fspo2_2018_9_3": (None, None),
    "signal_sample_single_hub_hSpO2_2018_7_6": (None, None),
    "eda_hot_surface": (None, None),
    "eda_slow_signal": (None, None),
    "emg_1000_hz_16_bits_solo": (None, None),
    # The same muscle recorded by a 16-bit and an 8-bit device (a notebook on resolution): the 16-bit one is kept.
    "emg_1000_hz_8_16_bits": (None, ("00:07:80:D8:A7:F9/channel_6",)),
    "emg_bursts": (None, None),
    "emg_fatigue": (None, None),
    "signal_sample_single_hub_respiration_2018_7_5": ("signal_sample_single_hub_RESPIRATION_2018_7_5", None),
    "signal_sample_single_hub_cacc_2017_1_20": (None, None),
    "sync_acc_1": (None, None),
    "sync_acc_2": (None, None),
    "loft_time_subject_1": (None, None),
    "loft_time_subject_2": (None, None),
}


def load_opensignals_physio(path: str, info: str, keep: tuple[str, ...] | None) -> Signals:
    """The body-signal channels of one OpenSignals file, as raw ADC counts.

    Counts, not physical units: several PLUX sensors need per-device calibration (accelerometers) or have none
    (BVP), and every transfer function is linear, which a model that normalises each window does not see.
    """
    recording = read_opensignals_h5(path, info)
    names, data, modalities = recording.body_signals(path, keep)
    return Signals(data, recording.sampling_rate, tuple(names), modalities)


def _info_stem(name: str) -> str:
    return PHYSIO_RECORDINGS[name][0] or name


@offline_source(
    name="bsnb_physio",
    description="24 OpenSignals (biosignalsplux / BITalino) recordings of other body signals: ECG (7 recordings, "
    "100 Hz-4 kHz, 10-417 s), PPG (BVP and finger SpO2 red / infrared), EDA, EMG, respiration (PZT) and 3-axis "
    "accelerometers; raw ADC counts (linear in the physical units). Byte-identical duplicates, 10 Hz recordings and "
    "non-body sensors are left out.",
    modality="ECG+PPG+EDA+EMG+RESP+ACC",
    sampling_rate="100/200/500/1000/4000",
    channels="1-3",
    license=LICENSE,
    citation=CITATION,
    archive=ARCHIVE,
    members=tuple(
        _member(f"{stem}{suffix}")
        for name in PHYSIO_RECORDINGS
        for stem, suffix in ((name, ".h5"), (_info_stem(name), "_info.json"))
    ),
    homepage=HOMEPAGE,
)
def bsnb_physio_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The body-signal recordings other than EEG."""
    return _opensignals_recordings(
        "bsnb_physio",
        PHYSIO_RECORDINGS,
        load_opensignals_physio,
        archive_cache_dir,
        info_of=_info_stem,
        arguments=lambda name: dict(keep=PHYSIO_RECORDINGS[name][1]),
    )
