"""spkit 0.0.9.7: Emotiv EEG, PPG and EDA (GSR) recordings and 12-lead ECGs, as pickled numpy arrays.

The pickles are loaded with the restricted unpickler of :func:`citrus_hf.data.readers.load_pickle`, and only after
the archive's sha256 matched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import CitrusDataError
from ..fetch import source_members
from ..readers import load_pickle
from ..recordings import RecordingRef, Signals, find_member, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "spkit",
        "0.0.9.7",
        "spkit-0.0.9.7-py3-none-any.whl",
        "cf3b3542b72e3ae87c2a45b83223a5442f4fb253a2f7886b62b9cecd9b8cc316",
    )
)
LICENSE = "MIT (spkit)"
CITATION = "Bajaj N. SpKit: Signal Processing toolkit, https://spkit.github.io"
HOMEPAGE = "https://github.com/Nikeshbajaj/spkit"
FOLDER = "spkit/data/files"


def _recording_id(member: str) -> str:
    return f"spkit/{Path(member).stem}"


def load_emotiv_eeg(path: str) -> Signals:
    """An Emotiv EEG pickle: a dict with ``X_raw`` (time, channels), ``ch_names`` and ``fs``, or (EEG16SecData.pkl) a
    list ``[X (time, channels), channel names]`` that spkit documents as 128 Hz."""
    content = load_pickle(path)
    if isinstance(content, dict):
        data, names, rate = content["X_raw"], content["ch_names"], float(content["fs"])
    else:
        data, names, rate = content[0], content[1], 128.0
    return Signals(np.asarray(data, dtype=np.float64).T, rate, tuple(names), ("EEG",) * len(names))


@offline_source(
    name="spkit_eeg",
    description="Two Emotiv 14-channel EEG recordings, 128 Hz, 16 s each, in microvolts (pickled numpy "
    "arrays, loaded with a restricted unpickler after the archive's sha256 matched).",
    modality="EEG",
    sampling_rate="128",
    channels="14",
    license=LICENSE,
    citation=CITATION,
    archive=ARCHIVE,
    members=(f"{FOLDER}/EEG16SecData.pkl", f"{FOLDER}/EEG16sec_artifact.pkl"),
    homepage=HOMEPAGE,
)
def spkit_eeg_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The two Emotiv recordings."""
    return recordings_per_member("spkit_eeg", load_emotiv_eeg, archive_cache_dir, recording=_recording_id)


def load_ppg_eda_pair(ppg_path: str, eda_path: str, key: str) -> Signals:
    """spkit's PPG sample ``key`` and its GSR sample ``key``: one session (same length and rate), two channels."""
    ppg, gsr = load_pickle(ppg_path), load_pickle(eda_path)
    if float(ppg["fs"]) != float(gsr["fs"]) or len(ppg[key]) != len(gsr[key]):
        raise CitrusDataError(f"spkit PPG and GSR sample {key} differ in rate or length; the archive changed.")
    data = np.stack([np.asarray(ppg[key], dtype=np.float64), np.asarray(gsr[key], dtype=np.float64)])
    return Signals(data, float(ppg["fs"]), ("PPG", "EDA"), ("PPG", "EDA"))


@offline_source(
    name="spkit_ppg_eda",
    description="Two sessions of PPG and EDA (GSR) recorded together, 128 Hz, about 35 min each.",
    modality="PPG+EDA",
    sampling_rate="128",
    channels="2",  # each recording is a session's PPG and EDA (`load_ppg_eda_pair`)
    license=LICENSE,
    citation=CITATION,
    archive=ARCHIVE,
    members=(f"{FOLDER}/ppg_samples.pkl", f"{FOLDER}/gsr_samples.pkl"),
    homepage=HOMEPAGE,
)
def spkit_ppg_eda_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """Two sessions, each a PPG and an EDA channel."""
    paths = source_members("spkit_ppg_eda", archive_cache_dir)
    ppg, eda = (str(find_member(paths, name)) for name in ("ppg_samples.pkl", "gsr_samples.pkl"))
    return [
        RecordingRef(
            source="spkit_ppg_eda",
            recording=f"spkit/ppg_gsr_{index}",
            subject="unknown",
            origin=f"{ARCHIVE.requirement}:{{ppg,gsr}}_samples.pkl",
            loader=load_ppg_eda_pair,
            arguments=dict(ppg_path=ppg, eda_path=eda, key=key),
        )
        for index, key in enumerate(("x1", "x2"), start=1)
    ]


def load_ecg12(path: str) -> Signals:
    """A 12-lead ECG pickle: ``X`` (time, 12), ``fs``, ``lead_names``."""
    content = load_pickle(path)
    names = tuple(content["lead_names"])
    return Signals(np.asarray(content["X"], dtype=np.float64).T, float(content["fs"]), names, ("ECG",) * len(names))


@offline_source(
    name="spkit_ecg12",
    description="Three 12-lead ECGs, 500 Hz, 8.2 s each.",
    modality="ECG",
    sampling_rate="500",
    channels="12",
    license=LICENSE,
    citation=CITATION,
    archive=ARCHIVE,
    members=tuple(f"{FOLDER}/ecg_sample_{i}_12leads.pkl" for i in (1, 2, 3)),
    homepage=HOMEPAGE,
)
def spkit_ecg12_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The three 12-lead ECGs."""
    return recordings_per_member("spkit_ecg12", load_ecg12, archive_cache_dir, recording=_recording_id)
