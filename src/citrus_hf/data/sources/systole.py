"""systole 0.3.1 (sdist): ECG, EDA and respiration of one participant during an emotional picture task, and a PPG.

Task1 (Legrand et al. 2020): 1 kHz for 25.6 min while 72 pictures were shown; ``Task1_Stim.npy`` marks each picture
onset with one non-zero sample (1 = neutral, 2 = disgust).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ...vocabulary_citrus import CLASSIFICATION
from ..errors import CitrusDataError
from ..fetch import source_members
from ..plans import BuildContext, BuildPlan, dataset_features, window_row
from ..readers import load_npy
from ..recordings import RecordingRef, Signals, find_member, member_origin, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive, register_dataset
from ..windowing import seconds_to_samples

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
# Task1 channel -> (file, modality); the order of the channels of the `RecordingRef` (whose rows, in the corpora
# built from it, each name their channel). The labelled set `systole_affect` orders its windows otherwise:
# `SYSTOLE_MODALITIES` (ECG, EDA, RESP), stored with every row as `channel_names`.
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
    description="ECG, EDA and respiration of one healthy participant during an emotional picture task, "
    "1 kHz, 25.6 min; Task1_Stim marks 72 picture onsets (1 = neutral, 2 = disgust).",
    # the order of systole_affect's channels (the one labelled set with several of them); rows that hold one
    # channel name it themselves
    modality="ECG+EDA+RESP",
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
    """The one Task1 session: its channels named ECG, RESP, EDA (`TASK1_CHANNELS`); `systole_affect`'s windows
    order them ECG, EDA, RESP and name them in their `channel_names` column."""
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


# ============================================================================ the picture task

# modality name used by the fusion models -> (Task1 file, modality name in the corpora), in the order of the
# channels of a `systole_affect` window (its `channel_names` column holds these names).
SYSTOLE_MODALITIES: dict[str, tuple[str, str]] = {name.lower(): TASK1_CHANNELS[name] for name in ("ECG", "EDA", "RESP")}
PICTURE_CLASSES: tuple[str, ...] = ("neutral", "disgust")  # Task1_Stim codes 1 and 2
EVENTS_PER_CLASS = 36
BLOCKS_PER_CLASS = 3
# Onsets inside a block are about 10.7 s apart, blocks at least 40 s: a gap above this starts a new block.
BLOCK_GAP_SECONDS = 20.0


@dataclass
class PictureEvents:
    """The labelled event windows of systole's picture task.

    Attributes:
        signals: modality -> `(num_events, 1, window samples)` float32 at `sampling_rate`, in the recording's units.
        sampling_rate: Hz (1000).
        labels: `(num_events,)` int64, indices into `label_names`.
        label_names: ("neutral", "disgust").
        onset_seconds: `(num_events,)` onset of every picture in the session.
        block: `(num_events,)` the block of twelve within its class (0, 1, 2), in time order.
        window_seconds / offset_seconds: the window after every onset.
        source: where the recordings come from.
    """

    signals: dict[str, np.ndarray]
    sampling_rate: float
    labels: np.ndarray
    label_names: tuple[str, ...]
    onset_seconds: np.ndarray
    block: np.ndarray
    window_seconds: float
    offset_seconds: float
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def load_picture_events(
    window_seconds: float = 10.0,
    offset_seconds: float = 0.0,
    modalities: Sequence[str] = tuple(SYSTOLE_MODALITIES),
    archive_cache_dir: str | os.PathLike | None = None,
) -> PictureEvents:
    """Cut the window after every picture onset out of systole's Task1 ECG, EDA and respiration.

    Args:
        window_seconds: window length after `offset_seconds`; at most 10 s (pictures follow each other every ~10.7 s,
            so a longer window would reach into the next picture).
        offset_seconds: start of the window relative to the onset (0 = the picture appears).
        modalities: any of "ecg", "eda", "resp".
        archive_cache_dir: the offline archive cache (default `$CITRUS_HF_CACHE` or `~/.cache/citrus_hf/archives`).

    Raises:
        ArchiveMissingError: systole's archive is not cached (the message says how to fetch it).
        CitrusDataError: the stimulus channel does not hold the 72 onsets in six blocks this module expects.
    """
    unknown = sorted(set(modalities) - set(SYSTOLE_MODALITIES))
    if unknown or not modalities:
        raise ValueError(f"modalities must be some of {sorted(SYSTOLE_MODALITIES)}, got {list(modalities)}.")
    for name, value in (("window_seconds", window_seconds), ("offset_seconds", offset_seconds)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise TypeError(f"`{name}` must be a number of seconds, got {value!r} ({type(value).__name__}).")
    if not 0 < window_seconds <= 10.0 or offset_seconds < 0:
        raise ValueError(
            "window_seconds must lie in (0, 10] and offset_seconds be >= 0: pictures follow each other every ~10.7 s, "
            f"so a longer window reaches into the next picture; got window {window_seconds}, offset {offset_seconds}."
        )
    members = source_members("systole_task1", archive_cache_dir)

    def read(filename: str) -> np.ndarray:
        return load_npy(find_member(members, filename))

    stimulus = read("Task1_Stim.npy")
    onsets = np.flatnonzero(stimulus)
    codes = stimulus[onsets].astype(np.int64)
    counts = {int(code): int((codes == code).sum()) for code in np.unique(codes)}
    if counts != {1: EVENTS_PER_CLASS, 2: EVENTS_PER_CLASS}:
        raise CitrusDataError(
            f"Task1_Stim.npy should mark {EVENTS_PER_CLASS} neutral (1) and {EVENTS_PER_CLASS} disgust (2) onsets, "
            f"found {counts}; the archive is not the one this loader was written for."
        )
    labels = codes - 1
    onset_seconds = onsets / TASK1_RATE
    block_starts = np.concatenate([[True], np.diff(onset_seconds) > BLOCK_GAP_SECONDS])
    global_block = np.cumsum(block_starts) - 1
    block = np.empty_like(labels)
    for label in range(len(PICTURE_CLASSES)):
        blocks_of_class = np.unique(global_block[labels == label])
        if len(blocks_of_class) != BLOCKS_PER_CLASS:
            raise CitrusDataError(
                f"expected {BLOCKS_PER_CLASS} blocks of {PICTURE_CLASSES[label]} pictures, found {len(blocks_of_class)}."
            )
        for rank, index in enumerate(blocks_of_class):
            block[global_block == index] = rank

    start = onsets + seconds_to_samples(offset_seconds, TASK1_RATE)
    length = seconds_to_samples(window_seconds, TASK1_RATE)
    signals = {}
    for name in modalities:
        recording = read(SYSTOLE_MODALITIES[name][0])
        if start[-1] + length > len(recording):
            raise ValueError("The last window ends after the recording; use a shorter window or offset.")
        windows = np.stack([recording[s : s + length] for s in start]).astype(np.float32)
        signals[name] = windows[:, None, :]  # (events, 1 channel, samples)
    return PictureEvents(
        signals=signals,
        sampling_rate=TASK1_RATE,
        labels=labels,
        label_names=PICTURE_CLASSES,
        onset_seconds=onset_seconds,
        block=block,
        window_seconds=window_seconds,
        offset_seconds=offset_seconds,
        source=f"{ARCHIVE.requirement}:Task1_{{ECG,EDA,Respiration,Stim}}.npy",
    )


def picture_windows(
    blocks: tuple[int, ...], window_seconds: float, offset_seconds: float, archive_cache_dir: str | os.PathLike | None
) -> Iterator[dict]:
    """The ECG, EDA and respiration window after every picture onset of the given blocks (of each class)."""
    events = load_picture_events(window_seconds, offset_seconds, archive_cache_dir=archive_cache_dir)
    for index in np.flatnonzero(np.isin(events.block, blocks)):
        yield window_row(
            np.concatenate([events.signals[name][index] for name in SYSTOLE_MODALITIES]),
            events.sampling_rate,
            float(events.onset_seconds[index] + offset_seconds),
            label=int(events.labels[index]),
            subject=TASK1_SUBJECT,
            recording=TASK1_RECORDING,
            source=events.source,
            channel_names=list(SYSTOLE_MODALITIES),
        )


@register_dataset(
    name="systole_affect",
    description="Neutral vs disgust pictures from physiology (systole Task1): the ECG, EDA and respiration window "
    "after every picture onset (default 10 s from the onset; pictures follow each other every ~10.7 s), 3 "
    "channels at 1 kHz in this order: ECG, EDA, respiration (every row names them in `channel_names`: "
    "ecg, eda, resp), 36 + 36 events of one participant. The pictures came in six blocks of twelve (neutral x3, "
    "then disgust x3), so the class is confounded with time in the session: compare with "
    "citrus_hf.evaluation.multimodal.onset_time_reference (time alone).",
    task=CLASSIFICATION,
    sources=("systole_task1",),
    splits="by block, as citrus_hf.evaluation.multimodal's folds: the test_block-th block of each class (default "
    "the third: 12 neutral + 12 disgust) is the test split, the other two blocks of each class (48 events) train.",
    defaults=dict(window_seconds=10.0, offset_seconds=0.0, test_block=BLOCKS_PER_CLASS - 1),
    version="1.1.0",  # 1.1.0: the `channel_names` column
)
def plan_affect(options: dict, context: BuildContext) -> BuildPlan:
    """Event windows, their channels named in `channel_names`; one block of each class tests."""
    from datasets import List, Value

    test_block = options["test_block"]
    if test_block not in range(BLOCKS_PER_CLASS):
        raise CitrusDataError(
            f"test_block must be one of 0..{BLOCKS_PER_CLASS - 1} (a block of each class), got {test_block!r}."
        )
    common = dict(
        window_seconds=options["window_seconds"],
        offset_seconds=options["offset_seconds"],
        archive_cache_dir=context.archive_cache_dir,
    )
    splits = {
        "train": dict(blocks=tuple(b for b in range(BLOCKS_PER_CLASS) if b != test_block), **common),
        "test": dict(blocks=(test_block,), **common),
    }
    shape = (len(SYSTOLE_MODALITIES), seconds_to_samples(options["window_seconds"], TASK1_RATE))
    features = dataset_features(list(PICTURE_CLASSES), False, shape)
    # the one labelled set whose channels are different modalities: a row says which channel is which, so that
    # fusion rows ({"ecg": x[0], ...}) are built from the data rather than from a remembered order
    features["channel_names"] = List(Value("string"))
    return BuildPlan(features, picture_windows, splits)
