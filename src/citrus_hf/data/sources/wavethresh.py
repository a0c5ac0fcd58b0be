"""wavethresh (R package, Debian's r-cran-wavethresh 4.7.2-1): BabyECG and BabySS, one night of an infant's heart
rate and sleep state, read from the package's R data files with :func:`citrus_hf.data.readers.read_r_data`.

From the package's documentation: two linked series of 2048 observations sampled every 16 seconds, recorded from
21:17:59 to 06:27:18 from the same 66 day old infant (Institute of Child Health, Royal Hospital for Sick Children,
Bristol). BabyECG is the heart rate in beats per minute; BabySS the sleep state scored by a trained expert from EEG
and EOG: 1 = quiet sleep, 2 = between quiet and active sleep, 3 = active sleep, 4 = awake.

``infant_sleep`` classifies the state from the heart rate alone: a window holds several consecutive epochs of heart
rate (default 8 epochs = 128 s, hop 1 epoch) and is labelled with the state of its last epoch, as a causal stager
would score "now" from the last two minutes. Windows are split by time blocks of the night.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

from ...vocabulary_citrus import CLASSIFICATION
from ..errors import CitrusDataError
from ..fetch import source_members
from ..plans import SPLIT_NAMES, BuildContext, BuildPlan, dataset_features, window_row
from ..readers import read_r_data
from ..recordings import RecordingRef, Signals, find_member, member_origin
from ..registry import DebianArchive, offline_source, register_archive, register_dataset
from ..windowing import seconds_to_samples, time_blocks, window_starts

ARCHIVE = register_archive(
    DebianArchive(
        "r-cran-wavethresh",
        "4.7.2-1",
        "r-cran-wavethresh_4.7.2-1_amd64.deb",
        "9b78cfdd2696db2393d50f308525bd91608ec64c1bdfa83dafb83af77e391695",
        "pool/main/r/r-cran-wavethresh/r-cran-wavethresh_4.7.2-1_amd64.deb",
        release="Debian 12 (bookworm)",
    )
)
DATA_FOLDER = "usr/lib/R/site-library/wavethresh/data"
EPOCH_SECONDS = 16.0
RATE = 1.0 / EPOCH_SECONDS
SLEEP_STATES: tuple[str, ...] = ("quiet sleep", "between quiet and active sleep", "active sleep", "awake")


def load_heart_rate(path: str) -> Signals:
    """BabyECG: the heart rate (bpm) every 16 s, ``(1, 2048)``."""
    return Signals(_series(path, "BabyECG")[None], RATE, ("heart_rate",), ("HR",))


@functools.lru_cache(maxsize=2)
def _series(path: str, name: str) -> np.ndarray:
    data = read_r_data(path)
    if name not in data or not isinstance(data[name].value, np.ndarray):
        raise CitrusDataError(f"{path} does not hold the numeric vector {name} (it holds {sorted(data)}).")
    values = data[name].value.astype(np.float64)
    values.setflags(write=False)  # shared by every caller of the cache
    return values


def sleep_states(path: str, length: int) -> np.ndarray:
    """BabySS as class indices 0-3 (codes 1-4), checked against the heart-rate series' length."""
    codes = _series(path, "BabySS")
    if codes.size != length or not np.isin(codes, (1, 2, 3, 4)).all():
        raise CitrusDataError(
            f"{path}: BabySS should hold {length} sleep-state codes in 1-4, got {codes.size} values in "
            f"{sorted(set(np.unique(codes).tolist()))}; the archive is not the one this module was written for."
        )
    return codes.astype(np.int64) - 1


@offline_source(
    name="wavethresh_baby",
    description="BabyECG and BabySS (wavethresh): an infant's heart rate (bpm) and expert-scored sleep state "
    "(quiet sleep, between, active sleep, awake; from EEG and EOG) every 16 s for 2048 epochs (9.1 h, one night, "
    "66 day old infant, Royal Hospital for Sick Children, Bristol), from R data files in the Debian package.",
    modality="HR",
    sampling_rate="0.0625",
    channels="1",
    license="GPL-2 | GPL-3 (wavethresh, which distributes the data)",
    citation="Nason GP, von Sachs R, Kroisandt G. Wavelet processes and adaptive estimation of the evolutionary "
    "wavelet spectrum. JRSS B 62(2):271-292, 2000. Nason GP. Wavelet Methods in Statistics with R. Springer, 2008.",
    archive=ARCHIVE,
    members=(f"{DATA_FOLDER}/BabyECG.rda", f"{DATA_FOLDER}/BabySS.rda"),
    homepage="https://cran.r-project.org/package=wavethresh",
)
def baby_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The one night of heart rate (the sleep states are its labels)."""
    path = find_member(source_members("wavethresh_baby", archive_cache_dir), "BabyECG.rda")
    return [
        RecordingRef(
            source="wavethresh_baby",
            recording="wavethresh/BabyECG",
            subject="wavethresh-infant-1",
            origin=member_origin("wavethresh_baby", path.name),
            loader=load_heart_rate,
            arguments=dict(path=str(path)),
        )
    ]


def sleep_state_windows(
    recordings: list[RecordingRef],
    states_path: str,
    split: str,
    window_seconds: float,
    hop_seconds: float,
    fractions: tuple[float, ...],
) -> Iterator[dict]:
    """Windows of heart rate inside the ``split`` time block, labelled with the sleep state of their last epoch."""
    for ref in recordings:
        signals = ref.load()
        samples = signals.data.shape[1]
        states = sleep_states(states_path, samples)
        window = seconds_to_samples(window_seconds, RATE)
        start_block, stop_block = time_blocks(samples, fractions, SPLIT_NAMES)[split]
        for start in window_starts(samples, RATE, window_seconds, hop_seconds, start_block, stop_block):
            yield window_row(
                signals.data[:, start : start + window].astype(np.float32),
                RATE,
                start / RATE,
                label=int(states[start + window - 1]),
                **ref.identity,
            )


@register_dataset(
    name="infant_sleep",
    description="Infant sleep state from heart rate (wavethresh BabyECG / BabySS): windows of consecutive 16 s "
    "epochs of heart rate (default 8 epochs = 128 s, 8 samples at 1/16 Hz, hop 1 epoch), 4 classes (quiet sleep, "
    "between quiet and active sleep, active sleep, awake), each window labelled with the state of its last epoch.",
    task=CLASSIFICATION,
    sources=("wavethresh_baby",),
    splits="time blocks of the night: first 70 % of the epochs train, next 15 % validation, last 15 % test; a "
    "window lies wholly inside one block. One infant, one night; the validation block has no 'awake' epoch.",
    defaults=dict(window_seconds=8 * EPOCH_SECONDS, hop_seconds=EPOCH_SECONDS, fractions=(0.7, 0.15, 0.15)),
)
def plan_infant_sleep(options: dict, context: BuildContext) -> BuildPlan:
    """Heart-rate windows per time block, labels from BabySS."""
    if options["window_seconds"] < EPOCH_SECONDS or options["hop_seconds"] < EPOCH_SECONDS:
        raise CitrusDataError(
            f"infant_sleep has one heart-rate value per {EPOCH_SECONDS:g} s epoch: window_seconds and hop_seconds "
            f"must be at least {EPOCH_SECONDS:g} (got {options['window_seconds']} and {options['hop_seconds']})."
        )
    refs = baby_recordings(context.archive_cache_dir)
    states_path = str(find_member(source_members("wavethresh_baby", context.archive_cache_dir), "BabySS.rda"))
    splits = {
        split: dict(
            recordings=refs,
            states_path=states_path,
            split=split,
            window_seconds=options["window_seconds"],
            hop_seconds=options["hop_seconds"],
            fractions=tuple(options["fractions"]),
        )
        for split in SPLIT_NAMES
    }
    shape = (1, seconds_to_samples(options["window_seconds"], RATE))
    return BuildPlan(dataset_features(list(SLEEP_STATES), False, shape), sleep_state_windows, splits)
