"""mobgap 1.2.0 (sdist): lab walking trials of the Mobilise-D example data as CSV, a lower-back IMU (McRoberts MM+:
accelerometer in g, gyroscope in deg/s) at 100 Hz; 3 participants (2 healthy adults, 1 with multiple sclerosis) x
3 trials. mobgap's own example that reads these files (``examples/data/_05_custom_datasets.py``) gives the rate:
"For this data, we simply know that the sampling rate is 100 Hz".
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ..errors import CitrusDataError
from ..readers import read_csv_matrix
from ..recordings import RecordingRef, Signals, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "mobgap",
        "1.2.0",
        "mobgap-1.2.0.tar.gz",
        "26f3ec1173f74ad873d13dabe0fd75dde8554720595ebc39159ee18dbea31351",
        ("--no-binary", ":all:"),
    )
)
FOLDER = "mobgap-1.2.0/example_data/data_csv"
RATE = 100.0
CHANNELS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
TRIALS = ("TimeMeasure1_Test5_Trial1", "TimeMeasure1_Test5_Trial2", "TimeMeasure1_Test11_Trial1")
PARTICIPANTS = ("HA/001", "HA/002", "MS/001")


def load_trial(path: str) -> Signals:
    """One trial's CSV: a sample counter, then acc_x..z (g) and gyr_x..z (deg/s)."""
    values = read_csv_matrix(path, skip_header=1)
    if values.shape[1] != 1 + len(CHANNELS):
        raise CitrusDataError(f"{path}: expected a sample column and {len(CHANNELS)} IMU columns.")
    return Signals(values[:, 1:].T, RATE, CHANNELS, ("IMU",) * len(CHANNELS))


def _participant(member: str) -> str:
    cohort, number = PurePosixPath(member).parts[-3:-1]
    return f"{cohort}-{number}"


@offline_source(
    name="mobgap_lab_imu",
    description="Mobilise-D lab walking trials (mobgap's CSV example data): lower-back IMU, 3-axis accelerometer (g) "
    "and gyroscope (deg/s) at 100 Hz, 9 trials of 8-227 s from 3 participants (2 healthy adults, 1 with multiple "
    "sclerosis).",
    modality="IMU",
    sampling_rate="100",
    channels="6",
    license="Apache-2.0 (mobgap)",
    citation="Mobilise-D consortium. mobgap: the Mobilise-D gait analysis pipeline, https://github.com/mobilise-d/mobgap. "
    "Micó-Amigo ME, et al. Assessing real-world gait with digital technology? Validation, insights and "
    "recommendations from the Mobilise-D consortium. J NeuroEng Rehabil 20:78, 2023.",
    archive=ARCHIVE,
    members=tuple(f"{FOLDER}/{participant}/{trial}.csv" for participant in PARTICIPANTS for trial in TRIALS),
    homepage="https://github.com/mobilise-d/mobgap",
)
def mobgap_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The nine trials, one recording each."""
    return recordings_per_member(
        "mobgap_lab_imu",
        load_trial,
        archive_cache_dir,
        recording=lambda member: f"mobgap/{_participant(member)}/{PurePosixPath(member).stem}",
        subject=lambda member: f"mobgap-{_participant(member)}",
    )
