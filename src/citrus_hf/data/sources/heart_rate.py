"""Heart-rate regression from ECG and PPG windows (systole Task1 and pyphysio): the target of a window is 60 / mean
RR of the R-peaks inside it, found on the whole reference ECG by :func:`citrus_hf.data.physio.detect_r_peaks`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...vocabulary_citrus import REGRESSION
from ..physio import detect_r_peaks, heart_rate_bpm
from ..plans import SPLIT_NAMES, BuildContext, BuildPlan, dataset_features, window_row
from ..registry import register_dataset
from ..windowing import seconds_to_samples, time_blocks, window_starts
from . import pyphysio, systole


def heart_rate_windows(
    recordings: list[dict], split: str, window_seconds: float, hop_seconds: float, fractions: tuple[float, ...]
) -> Iterator[dict]:
    """Windows of ``input_channel`` inside the ``split`` time block; target = heart rate from the reference ECG.

    Args:
        recordings: ``{"ref": RecordingRef, "input_channel": name, "reference_channel": name}`` each.
    """
    yielded = beatless = 0
    for item in recordings:
        ref = item["ref"]
        signals = ref.load()
        data, rate, names = signals.data, signals.sampling_rate, signals.channel_names
        peaks = detect_r_peaks(data[names.index(item["reference_channel"])], rate)
        start_block, stop_block = time_blocks(data.shape[1], fractions, SPLIT_NAMES)[split]
        channel = names.index(item["input_channel"])
        window = seconds_to_samples(window_seconds, rate)
        for start in window_starts(data.shape[1], rate, window_seconds, hop_seconds, start_block, stop_block):
            target = heart_rate_bpm(peaks, rate, start, start + window)
            if not np.isfinite(target):
                beatless += 1
                continue
            yielded += 1
            yield window_row(
                data[channel : channel + 1, start : start + window].astype(np.float32),
                rate,
                start / rate,
                target=target,
                **ref.identity,
            )
    if beatless and not yielded:
        # else the set's builder says "a window longer than every recording ... use shorter windows": the opposite fix
        raise ValueError(
            f"No {window_seconds:g} s window of the {split} split holds the two R-peaks its heart-rate target (60 / "
            "mean RR) needs: give a window_seconds of a few heartbeats (2 s or more; the default is 10)."
        )


def _plan(recordings: list[dict], options: dict, shape) -> BuildPlan:
    splits = {
        split: dict(
            recordings=recordings,
            split=split,
            window_seconds=options["window_seconds"],
            hop_seconds=options["hop_seconds"],
            fractions=tuple(options["fractions"]),
        )
        for split in SPLIT_NAMES
    }
    return BuildPlan(dataset_features(None, True, shape), heart_rate_windows, splits)


# The one target of both sets, in beats per minute: what a regressor fine-tuned on them names its output.
HEART_RATE = "heart_rate"


@register_dataset(
    name="hr_ecg",
    description="Heart rate (bpm) from single-lead ECG windows (default 10 s, hop 5 s): systole Task1 ECG "
    "(1 kHz, 25.6 min) and pyphysio ECG (2048 Hz, 2 min). Target = 60 / mean RR of the R-peaks inside the "
    "window (R-peaks from citrus_hf.data.physio.detect_r_peaks on the whole recording). MIT-BIH 208 is "
    "left out: its reference annotations are not available offline and on its ventricular beats two "
    "detectors disagree on about 10 % of beats, so its targets could not be checked.",
    task=REGRESSION,
    target_names=(HEART_RATE,),
    sources=("systole_task1", "pyphysio_medical"),
    splits="time blocks per recording: first 70 % train, next 15 % validation, last 15 % test; a window "
    "lies wholly inside one block, so no sample is in two splits.",
    defaults=dict(window_seconds=10.0, hop_seconds=5.0, fractions=(0.7, 0.15, 0.15)),
)
def plan_hr_ecg(options: dict, context: BuildContext) -> BuildPlan:
    """ECG windows of both recordings; each is its own reference."""
    (medical,) = pyphysio.pyphysio_recordings(context.archive_cache_dir)
    recordings = [
        dict(
            ref=systole.task1_recording(context.archive_cache_dir, channels=("ECG",)),
            input_channel="ECG",
            reference_channel="ECG",
        ),
        dict(ref=medical, input_channel="ECG", reference_channel="ECG"),
    ]
    return _plan(recordings, options, None)


@register_dataset(
    name="hr_ppg",
    description="Heart rate (bpm) from PPG (BVP) windows of pyphysio's simultaneous recording (2048 Hz, "
    "120 s), default 10 s with a 2 s hop; the target comes from the R-peaks of the simultaneous ECG.",
    task=REGRESSION,
    target_names=(HEART_RATE,),
    sources=("pyphysio_medical",),
    splits="time blocks: first 70 % train, next 15 % validation, last 15 % test.",
    defaults=dict(window_seconds=10.0, hop_seconds=2.0, fractions=(0.7, 0.15, 0.15)),
)
def plan_hr_ppg(options: dict, context: BuildContext) -> BuildPlan:
    """BVP windows, targets from the ECG."""
    (medical,) = pyphysio.pyphysio_recordings(context.archive_cache_dir)
    recordings = [dict(ref=medical, input_channel="BVP", reference_channel="ECG")]
    shape = (1, seconds_to_samples(options["window_seconds"], pyphysio.RATE))
    return _plan(recordings, options, shape)
