"""seglearn 1.2.5's smartwatch shoulder-exercise recordings: 6-axis IMU, 7 rehabilitation exercises, 10 subjects."""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np

from ...vocabulary_citrus import CLASSIFICATION
from ..fetch import source_members
from ..plans import BuildContext, BuildPlan, dataset_features, split_shares
from ..readers import load_npy
from ..recordings import RecordingRef, Signals, labelled_windows, member_origin
from ..registry import PyPIArchive, offline_source, register_archive, register_dataset
from ..windowing import seconds_to_samples, split_by_group, window_starts

ARCHIVE = register_archive(
    PyPIArchive(
        "seglearn",
        "1.2.5",
        "seglearn-1.2.5-py3-none-any.whl",
        "ec6b952c85c9627050102854b372d85951563d3b990df677d7c55547e87413dd",
    )
)
RATE = 50.0


@functools.lru_cache(maxsize=1)
def _content(path: str) -> dict:
    """The pickled dict of watch_dataset.npy: ``X`` (recordings, each (time, 6)), ``y``, ``subject``, labels."""
    return load_npy(path).item()


def load_recording(path: str, index: int) -> Signals:
    """Recording ``index``: (6, time) at 50 Hz."""
    content = _content(path)
    names = tuple(content["X_labels"])
    return Signals(np.asarray(content["X"][index], dtype=np.float64).T, RATE, names, ("IMU",) * len(names))


@offline_source(
    name="seglearn_watch",
    description="Smartwatch 6-axis IMU (accelerometer ax/ay/az, gyroscope wx/wy/wz), 50 Hz, 140 recordings "
    "of 19-52 s, 7 shoulder rehabilitation exercises, 10 subjects, both arms.",
    modality="IMU",
    sampling_rate="50",
    channels="6",
    license="BSD-3-Clause (seglearn)",
    citation="Burns D, et al. Shoulder physiotherapy exercise recognition: machine learning the inertial "
    "signals from a smartwatch. Physiological Measurement 39(7):075007, 2018.",
    archive=ARCHIVE,
    members=("seglearn/data/watch_dataset.npy",),
    homepage="https://github.com/dmbee/seglearn",
)
def watch_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The 140 recordings, each of one exercise."""
    member, path = next(iter(source_members("seglearn_watch", archive_cache_dir).items()))
    content = _content(str(path))
    return [
        RecordingRef(
            source="seglearn_watch",
            recording=f"watch/{index:03d}",
            subject=f"watch-{int(subject):02d}",
            origin=member_origin("seglearn_watch", member),
            loader=load_recording,
            arguments=dict(path=str(path), index=index),
            label=int(label),
        )
        for index, (label, subject) in enumerate(zip(content["y"], content["subject"]))
    ]


@register_dataset(
    name="watch_exercises",
    description="seglearn smartwatch shoulder exercises: 6-channel IMU at 50 Hz cut into windows "
    "(default 4 s, hop 2 s: a repetition lasts 1-2.6 s, so a window holds at least one), 7 classes.",
    task=CLASSIFICATION,
    sources=("seglearn_watch",),
    splits="by subject (10 subjects; default 6 train / 2 validation / 2 test; assigned largest first, so that each "
    "split gets its share of the windows: every seed gives the same split); no subject appears in two splits.",
    defaults=dict(window_seconds=4.0, hop_seconds=2.0, fractions=(0.6, 0.2, 0.2), seed=0),
)
def plan_watch(options: dict, context: BuildContext) -> BuildPlan:
    """Windows of every recording; subjects assigned to splits in proportion to their windows."""
    refs = watch_recordings(context.archive_cache_dir)
    content = _content(str(refs[0].arguments["path"]))
    window_seconds, hop_seconds = options["window_seconds"], options["hop_seconds"]
    windows_per_subject: Counter = Counter()
    for signal, subject in zip(content["X"], content["subject"]):
        windows_per_subject[int(subject)] += len(window_starts(len(signal), RATE, window_seconds, hop_seconds))
    assignment = split_by_group(
        windows_per_subject, split_shares(options["fractions"]), options["seed"], "watch_exercises", "subjects"
    )
    splits = {
        split: dict(
            recordings=[ref for ref in refs if ref.subject in {f"watch-{subject:02d}" for subject in subjects}],
            window_seconds=window_seconds,
            hop_seconds=hop_seconds,
        )
        for split, subjects in assignment.items()
        if subjects
    }
    shape = (len(content["X_labels"]), seconds_to_samples(window_seconds, RATE))
    return BuildPlan(dataset_features(list(content["y_labels"]), False, shape), labelled_windows, splits)
