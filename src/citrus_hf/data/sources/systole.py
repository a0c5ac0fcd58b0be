"""systole 0.3.1 (sdist): ECG, respiration and EDA of one participant during an emotional picture task, and a PPG.

Task1 (Legrand et al. 2020): 1 kHz for 25.6 min while 72 pictures were shown; ``Task1_Stim.npy`` marks each picture
onset with one non-zero sample (1 = neutral, 2 = disgust).
"""

from __future__ import annotations

import numpy as np

from ..fetch import source_members
from ..readers import load_npy
from ..recordings import RecordingRef, Signals, find_member, member_origin, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "systole",
        "0.3.1",
        "systole-0.3.1.tar.gz",
        "9bc145f7b87caa57b53e45f34276bcfefec101bc1c662e4e104f53fdfa5a405a",
        ("--no-binary", ":all:"),
    )
)
FOLDER = "systole-0.3.1/src/systole/datasets"
LICENSE = "GPL-3.0 (systole)"
CITATION = (
    "Legrand N, Allen M. Systole: A python package for cardiac signal synchrony and analysis. JOSS 7(69):3832, 2022."
)
HOMEPAGE = "https://github.com/LegrandNico/systole"

TASK1_RECORDING = "systole/Task1"
TASK1_SUBJECT = "systole-1"
TASK1_RATE = 1000.0
# Task1 channel -> (file, modality); the order of the channels of the recording.
TASK1_CHANNELS: dict[str, tuple[str, str]] = {
    "ECG": ("Task1_ECG.npy", "ECG"),
    "RESP": ("Task1_Respiration.npy", "RESP"),
    "EDA": ("Task1_EDA.npy", "EDA"),
}


def load_npy_channels(paths: tuple[str, ...], rate: float, names: tuple[str, ...], modalities: tuple[str, ...]):
    """One channel per ``.npy`` file (1-D arrays of one length)."""
    return Signals(np.stack([load_npy(path) for path in paths]).astype(np.float64), rate, names, modalities)


def load_ppg(path: str) -> Signals:
    """ppg.npy: finger PPG at 75 Hz."""
    return load_npy_channels((path,), 75.0, ("PPG",), ("PPG",))


def task1_recording(archive_cache_dir=None, channels: tuple[str, ...] = tuple(TASK1_CHANNELS)) -> RecordingRef:
    """The Task1 recording with ``channels`` (some of "ECG", "RESP", "EDA"); the stimulus channel is not a signal."""
    paths = source_members("systole_task1", archive_cache_dir)
    files = tuple(str(find_member(paths, TASK1_CHANNELS[name][0])) for name in channels)
    origin = (
        member_origin("systole_task1", TASK1_CHANNELS[channels[0]][0])
        if len(channels) == 1
        else f"{ARCHIVE.requirement}:Task1_{{ECG,Respiration,EDA}}.npy"
    )
    return RecordingRef(
        source="systole_task1",
        recording=TASK1_RECORDING,
        subject=TASK1_SUBJECT,
        origin=origin,
        loader=load_npy_channels,
        arguments=dict(
            paths=files,
            rate=TASK1_RATE,
            names=tuple(channels),
            modalities=tuple(TASK1_CHANNELS[name][1] for name in channels),
        ),
    )


@offline_source(
    name="systole_task1",
    description="ECG, respiration and EDA of one healthy participant during an emotional picture task, "
    "1 kHz, 25.6 min; Task1_Stim marks 72 picture onsets (1 = neutral, 2 = disgust).",
    modality="ECG+RESP+EDA",
    sampling_rate="1000",
    channels="3",
    license=LICENSE,
    citation=CITATION + " Legrand N, et al. Long-term modulation of cardiac activity induced by inhibitory "
    "control over emotional memories. Scientific Reports 10, 2020.",
    archive=ARCHIVE,
    members=tuple(f"{FOLDER}/Task1_{kind}.npy" for kind in ("ECG", "Respiration", "EDA", "Stim")),
    homepage=HOMEPAGE,
)
def systole_task1_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The one Task1 session (ECG, RESP, EDA)."""
    return [task1_recording(archive_cache_dir)]


@offline_source(
    name="systole_ppg",
    description="Finger PPG, 75 Hz, 331 s (8-bit values).",
    modality="PPG",
    sampling_rate="75",
    channels="1",
    license=LICENSE,
    citation=CITATION,
    archive=ARCHIVE,
    members=(f"{FOLDER}/ppg.npy",),
    homepage=HOMEPAGE,
)
def systole_ppg_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The PPG recording."""
    return recordings_per_member("systole_ppg", load_ppg, archive_cache_dir, recording=lambda member: "systole/ppg")
