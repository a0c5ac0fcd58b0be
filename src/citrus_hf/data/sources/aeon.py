"""aeon 1.6.0: an excerpt of the Daphnet freezing-of-gait recordings (subject 6, run 2), shipped as an example of
aeon's anomaly-detection data: three tri-axial accelerometers (ankle, thigh, trunk) at 64 Hz, in mg.

The excerpt's ``is_anomaly`` (freezing of gait) column is 0 throughout, so it serves as unlabelled walking data. The
UCR-archive gesture sets the wheel also ships are left out: PickupGestureWiimoteZ's sampling rate is documented
nowhere in the archive, and no citable source for it was found.
"""

from __future__ import annotations

from ..errors import CitrusDataError
from ..readers import read_csv_matrix, read_timed_csv
from ..recordings import RecordingRef, Signals, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "aeon",
        "1.6.0",
        "aeon-1.6.0-py3-none-any.whl",
        "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
    )
)
DAPHNET_RATE = 64.0
DAPHNET_CHANNELS = tuple(
    f"{place}_{axis}" for place in ("ankle", "leg", "trunk") for axis in ("horiz_fwd", "vert", "horiz_lateral")
)


def load_daphnet(path: str) -> Signals:
    """The excerpt's nine acceleration columns (mg), after checking that its time stamps give Daphnet's 64 Hz."""
    _, rate = read_timed_csv(path, "ankle_vert", "timestamp")
    if abs(rate / DAPHNET_RATE - 1) > 0.01:
        raise CitrusDataError(f"{path}: its time stamps give {rate:.2f} Hz, not Daphnet's {DAPHNET_RATE:g} Hz.")
    values = read_csv_matrix(path, skip_header=1, columns=range(1, 1 + len(DAPHNET_CHANNELS)))
    return Signals(values.T, DAPHNET_RATE, DAPHNET_CHANNELS, ("ACC",) * len(DAPHNET_CHANNELS))


@offline_source(
    name="daphnet_s06r02",
    description="Daphnet freezing-of-gait, subject 6 run 2 (an excerpt of 110 s shipped with aeon): three tri-axial "
    "accelerometers on the ankle, thigh and trunk of a Parkinson's disease patient walking, 64 Hz, mg; no freezing "
    "episode in the excerpt (unlabelled).",
    modality="ACC",
    sampling_rate="64",
    channels="9",
    license="CC BY 4.0 (UCI Daphnet); aeon: BSD-3-Clause",
    citation="Bächlin M, et al. Wearable assistant for Parkinson's disease patients with the freezing of gait "
    "symptom. IEEE Trans Inf Technol Biomed 14(2):436-446, 2010.",
    archive=ARCHIVE,
    members=("aeon/datasets/data/Daphnet_S06R02E0/S06R02E0.csv",),
    homepage="https://archive.ics.uci.edu/dataset/245/daphnet+freezing+of+gait",
)
def daphnet_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The one excerpt."""
    return recordings_per_member(
        "daphnet_s06r02",
        load_daphnet,
        archive_cache_dir,
        recording=lambda member: "daphnet/S06R02",
        subject="daphnet-S06",
    )
