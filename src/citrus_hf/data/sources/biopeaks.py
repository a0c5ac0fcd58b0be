"""biopeaks 1.4.1: the BITalino recordings its test suite reads (OpenSignals text files, raw 10-bit ADC counts).

``OSmontage0J.txt`` holds 85 min of respiration (chest band) and ECG at 1 kHz, recorded on 2019-08-28; the six
``OSmontage{1,2,3}{A,J}.txt`` hold 3.4-4.1 min of ECG each at 100 Hz, recorded on 2018-05-28 in six sessions at
different times of day. The rates are the files' own header entries. Left out: the ``RAW`` analog inputs of the
six short files (unconnected: flat noise around the ADC's midpoint), ``OSmontagePPG.txt`` (a Biopac PPG whose origin
the package does not state) and ``EDFmontage0.edf`` (generated test signals: square waves and constant saturation).
"""

from __future__ import annotations

from pathlib import Path

from ..readers import read_opensignals_txt
from ..recordings import RecordingRef, Signals, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "biopeaks",
        "1.4.1",
        "biopeaks-1.4.1-py3-none-any.whl",
        "2b7b3892903ad1491f2fdb8b207188344ea10178dc9e2de196e56dd4e5b42d96",
    )
)
FOLDER = "biopeaks/tests/testdata"
RECORDINGS = ("OSmontage0J", *(f"OSmontage{session}{person}" for person in "AJ" for session in "123"))


def load_bitalino_txt(path: str) -> Signals:
    """The ECG and respiration inputs of one file (the unconnected "RAW" ones are not body signals), in raw ADC
    counts at the header's rate, named by modality."""
    recording = read_opensignals_txt(path)
    _, data, modalities = recording.body_signals(path)
    return Signals(data, recording.sampling_rate, modalities, modalities)


@offline_source(
    name="biopeaks_bitalino",
    description="BITalino recordings of biopeaks' test suite: 85 min of chest-band respiration and ECG at 1 kHz "
    "(one session, 2019) and six ECG sessions of 3.4-4.1 min at 100 Hz (2018); raw 10-bit ADC counts.",
    modality="ECG+RESP",
    sampling_rate="1000/100",
    channels="1-2",
    license="GPL-3.0 (biopeaks)",
    citation="Brammer JC. biopeaks: a graphical user interface for feature extraction from heart- and "
    "breathing biosignals. Journal of Open Source Software 5(52):2621, 2020.",
    archive=ARCHIVE,
    members=tuple(f"{FOLDER}/{name}.txt" for name in RECORDINGS),
    homepage="https://github.com/JanCBrammer/biopeaks",
)
def biopeaks_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The seven BITalino files."""
    return recordings_per_member(
        "biopeaks_bitalino",
        load_bitalino_txt,
        archive_cache_dir,
        recording=lambda member: f"biopeaks/{Path(member).stem}",
    )
