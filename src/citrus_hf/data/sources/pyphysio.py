"""pyphysio 4.10.0: simultaneous ECG, EDA, BVP (PPG) and respiration of one participant, 2048 Hz, 120 s."""

from __future__ import annotations

import bz2
import functools
import io
from pathlib import Path

import numpy as np

from ..errors import CitrusDataError
from ..recordings import RecordingRef, Signals, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "pyphysio",
        "4.10.0",
        "pyphysio-4.10.0-py3-none-any.whl",
        "fee94db877b7366354911e4adb94b902be8447d6bc834aad9c6656a584e81088",
    )
)
RATE = 2048.0
CHANNELS = ("ECG", "EDA", "BVP", "RESP")
MODALITIES = ("ECG", "EDA", "PPG", "RESP")


@functools.lru_cache(maxsize=1)
def medical_table(path: Path) -> np.ndarray:
    """pyphysio's medical.txt.bz2 -> (time, 4) with ECG, EDA, BVP, respiration.

    Cached: three datasets and every split read this 2 min recording, and parsing the text takes a second.
    """
    try:
        text = bz2.decompress(path.read_bytes()).decode("ascii")
    except (OSError, ValueError) as error:
        raise CitrusDataError(f"{path} is not a valid bz2 text file ({error}).") from error
    values = np.loadtxt(io.StringIO(text), delimiter="\t", ndmin=2)
    if values.shape[1] != 4:
        raise CitrusDataError(f"{path}: expected 4 tab-separated columns (ECG, EDA, BVP, RESP), got {values.shape[1]}.")
    values.setflags(write=False)  # shared by every caller of the cache
    return values


def load_medical(path: str) -> Signals:
    """The four channels of medical.txt.bz2."""
    return Signals(medical_table(Path(path)).T, RATE, CHANNELS, MODALITIES)


@offline_source(
    name="pyphysio_medical",
    description="Simultaneous ECG, EDA, BVP (PPG) and respiration, 2048 Hz, 120 s, tab-separated. The "
    "archive's info_medical says 1024 Hz, but pyphysio's own loader uses 2048 Hz and only 2048 Hz gives "
    "physiological rates (heart 70 bpm, breathing 19/min; 1024 Hz would give 35 bpm).",
    modality="ECG+EDA+PPG+RESP",
    sampling_rate="2048",
    channels="4",
    license="GPL-3.0 (pyphysio)",
    citation="Bizzego A, et al. pyphysio: A physiological signal processing library for data science "
    "approaches in physiology. SoftwareX 10:100287, 2019.",
    archive=ARCHIVE,
    members=("pyphysio/test_data/medical.txt.bz2",),
    homepage="https://gitlab.com/a.bizzego/pyphysio",
)
def pyphysio_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The one recording."""
    return recordings_per_member(
        "pyphysio_medical",
        load_medical,
        archive_cache_dir,
        recording=lambda member: "pyphysio/medical",
        subject="pyphysio-1",
    )
