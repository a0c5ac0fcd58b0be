"""Aligning a dataset to a model's input contract, once, into a cached memory-mapped Arrow file: one aligner for
pre-training corpora (`align_corpus`: unlabelled, long recordings cut into windows) and labelled sets
(`align_task_split`: one aligned window per example, with its label), both on the same core (`align_rows`).

Rows are `input_values` `(channels, time)` at their own rate: a `sampling_rate` column, or (for a `save_to_disk` set
without one) the `sampling_rate` argument, the rate of every row. A set with neither is refused with the fix.
`CiTrusFeatureExtractor` resamples, crops / pads / stretches or windows and normalises; the result is a
`Dataset.map` in the datasets cache, so nothing sits whole in RAM.

A labelled set is aligned one of two ways (`resolve_alignment`, "auto" by default): resampled to the model's rate
("resample": the time scale is kept; a recording shorter than the window keeps its own duration in whole patches, a
longer one is cropped to its start), or stretched onto the window ("interpolate"). "auto" resamples, unless that would
crop every recording although each holds no more samples than the window: a slow series, such as a heart rate per
16 s epoch (8 values = 128 s, of which resampling to 100 Hz keeps the first 10 s, one value), is then stretched,
keeping every sample.

Labelled sets also choose how they are normalised (`input_overrides`): per window, as in pre-training, or with
per-channel statistics of the training split (`channel_statistics`), which become part of the fine-tuned checkpoint.
Rows whose spread is orders of magnitude off those statistics (a file exported in volts among microvolts) are named in
a warning at every run, cached rows or not (`align_rows`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..configuration_citrus import CiTrusConfig, looks_like_time_by_channels
from ..feature_extraction_citrus import (
    SHORT_RECORDING_ADVICE,
    CiTrusFeatureExtractor,
    nan_padding_span,
    spread_checked_by_caller,
    unit_mismatch_notice,
)
from ..vocabulary_citrus import DEFAULT_TASK_ALIGNMENT, TASK_ALIGNMENTS, TASK_NORMALIZATIONS
from .splits import LABEL_TASKS, LABELS, check_rate_values, non_finite_fix, rates_of_rows, recordings_of_rows
from .windowing import row_samples_and_rates, rows_per_map_batch

logger = logging.getLogger(__name__)


def aligned_features(extractor: CiTrusFeatureExtractor, label_dtype: str | None = None, length: int | None = None):
    """Arrow features of an aligned dataset: fixed-shape windows of `length` model samples (default the context),
    their patch mask and, with `label_dtype`, labels."""
    from datasets import Array2D, Features, List, Value

    length = extractor.context_length if length is None else length
    columns = {
        "input_values": Array2D(shape=(extractor.num_channels, length), dtype="float32"),
        "patch_mask": List(Value("int8"), length=length // extractor.patch_length),
    }
    if label_dtype is not None:
        columns["labels"] = Value(label_dtype)
    return Features(columns)


def aligned_length(datasets, extractor: CiTrusFeatureExtractor, sampling_rate: float | None = None) -> int:
    """Model samples of every window that aligning `datasets` (e.g. a set's train, validation and test splits) with
    `extractor` gives: with `alignment="resample"` and `padding="longest"`, the longest recording's own duration at
    the model's rate, rounded up to whole patches and at most the context, so that one fixed shape holds every
    split; otherwise the context.

    Reads only lengths and rates (a `sampling_rate` column, or the `sampling_rate` argument for every row).
    """
    if extractor.alignment != "resample" or extractor.padding != "longest":
        return extractor.context_length
    longest = max((resampled for _, resampled in _row_lengths(datasets, extractor, sampling_rate)), default=0)
    patches = -(-min(max(longest, 1), extractor.context_length) // extractor.patch_length)
    return patches * extractor.patch_length


def resolve_alignment(
    alignment: str, datasets, config: CiTrusConfig | CiTrusFeatureExtractor, sampling_rate: float | None = None
) -> str:
    """The alignment a labelled set gets: `alignment` itself unless it is "auto", which gives "interpolate" when
    resampling to `config`'s rate would crop every recording of `datasets` (each longer than the window) although
    none holds more samples than the window, and every recording lasts as long as the others (`one_duration`), so
    stretching keeps them whole, each by the same factor; else "resample".

    Why: cropping keeps the start only, and for such slow series the start is a small part of the recording (a
    heart-rate series of 8 epochs of 16 s at 100 Hz: the first 10 s of 128 s). Chosen on validation data
    (`benchmarks/results/checkpoint_selection.md`, "Long slow recordings": windows of one duration); recordings that
    fit in the window are resampled, as measured on the protocol's other sets. Stretching rows of different durations
    scales each row's frequencies by its own duration (PPG rows of 11-15 s at 64 Hz: each heart rate off by its
    row's factor, test MAE 5.87 bpm against 0.54 resampled), so those are resampled. Reads only lengths and rates.

    Raises:
        ValueError: an alignment that is not one of `TASK_ALIGNMENTS`.
    """
    if alignment not in TASK_ALIGNMENTS:
        raise ValueError(f"alignment must be one of {TASK_ALIGNMENTS} for labelled sets, got {alignment!r}.")
    if alignment != "auto":
        return alignment
    rows = list(row_samples_and_rates(datasets, sampling_rate))
    context = config.context_length
    stretch = all(samples <= context < _resampled_length(samples, rate, config) for samples, rate in rows)
    return "interpolate" if stretch and one_duration(rows) else "resample"


def one_duration(rows: Sequence[tuple[int, float]]) -> bool:
    """Whether rows of `(samples, rate)` last as long as each other, to within one sample of the coarsest rate (a
    recorder that stops on a sample boundary): stretched onto a window, they are all stretched by one factor."""
    if not rows:
        return False
    durations = [samples / rate for samples, rate in rows]
    return max(durations) - min(durations) <= (1 + 1e-9) / min(rate for _, rate in rows)


def stretched_seconds(datasets, sampling_rate: float | None = None) -> list[float] | None:
    """`[shortest, longest]` duration in seconds of the rows of `datasets` (rates as `resolve_alignment` reads them),
    which a checkpoint fitted on them stretched onto its window records (`CiTrusFeatureExtractor.stretched_seconds`):
    a recording of another duration is stretched by another factor. None for no row with a rate."""
    durations = [samples / rate for samples, rate in row_samples_and_rates(datasets, sampling_rate)]
    return [min(durations), max(durations)] if durations else None


def cropped_rows_notice(
    datasets,
    config: CiTrusConfig | CiTrusFeatureExtractor,
    sampling_rate: float | None = None,
    options: tuple[str, str] = ("--alignment interpolate", "--dataset-options window_seconds=S"),
):
    """One line saying how much of the recordings `alignment="resample"` leaves out when it crops rows longer than
    `config`'s window to their start, or None when no row is cropped: a set of hour-long rows would otherwise be
    fitted on its first seconds without a word. `options`: how the caller spells the two fixes (stretching, and
    cutting a set of one's own into windows)."""
    rows = list(row_samples_and_rates(datasets, sampling_rate))
    lengths = [_resampled_length(samples, rate, config) for samples, rate in rows]
    context = config.context_length
    cropped = [length for length in lengths if length > context]
    if not cropped:
        return None
    kept = sum(min(length, context) for length in lengths) / max(1, sum(lengths))
    if all(samples <= context for samples, _ in rows) and not one_duration(rows):
        # what "auto" would have stretched but for their durations (`resolve_alignment`)
        durations = [samples / rate for samples, rate in rows]
        stretching = (
            f"these hold no more samples than the window but last {min(durations):.3g} to {max(durations):.3g} s, so "
            f"{options[0]} "
            "would stretch each by its own factor, scaling its frequencies (a heart rate) by its own duration"
        )
    else:
        stretching = f"for slow series that fit in the window's samples, {options[0]} stretches them"
    return (
        f"{len(cropped)} of {len(lengths)} recordings are longer than the model's window ({context} samples = "
        f"{context / config.sampling_rate:g} s at {config.sampling_rate:g} Hz; the longest "
        f"{max(cropped) / config.sampling_rate:g} s): alignment='resample' keeps the start of each, "
        f"{kept:.0%} of the samples in all. To use the rest, cut the recordings into windows first ({options[1]} "
        f"for a set of your own, or one row per window); {stretching}."
    )


# The share of a set's signal power above the model's Nyquist frequency from which the commands say what resampling
# removes: more than half. Measured on the first 64 training rows of the offline sets at citrus-small's 100 Hz (mains
# hum at 50 / 60 Hz and its harmonics above the Nyquist frequency left out, which resampling removes to the good):
# ECG at 1-2 kHz (hr_ecg, systole_affect) and PPG 0 %, EEG 0-18 % (eeg_blink's headband the most: 65 % with its mains
# hum), MEG at 400 Hz 6 %, EMG at 200 Hz (myo_gestures) 64 %: only the EMG loses most of what it measures (surface EMG
# and heart sounds lie mostly between 20 and 250 Hz).
LOST_POWER_NOTICE_SHARE = 0.5
# Mains frequencies (Hz). Hum at or below the model's Nyquist frequency is not removed by resampling: at the Nyquist
# frequency itself (50 Hz for a 100 Hz model) the anti-aliasing filter passes half its amplitude, as an alternating
# component whose size depends on the hum's phase; the filter stays as it is (citrus-small was pre-trained on its
# output), so the notice says to notch that hum out first.
_MAINS_FREQUENCIES = (50.0, 60.0)
# Rows, channels per row and samples per channel the share is measured on: a bound on the work (a few hundred
# milliseconds), whatever the set's size.
_POWER_ROWS, _POWER_CHANNELS, _POWER_SAMPLES = 64, 8, 2**16


def lost_band_notice(
    datasets,
    config: CiTrusConfig | CiTrusFeatureExtractor,
    sampling_rate: float | None = None,
    model_config_option: str = "--config-overrides sampling_rate=HZ",
):
    """One line saying how much of the recordings' power resampling to `config`'s rate removes (every frequency above
    its Nyquist, mains hum there aside: resampling removes it to the good) when that is `LOST_POWER_NOTICE_SHARE` or
    more (most of an EMG's or a heart sound's band), or None. Hum at or below the Nyquist frequency is power the model
    gets (`_MAINS_FREQUENCIES`), and where a mains frequency is the Nyquist frequency the line says to notch it.
    Measured on the first rows of `datasets` (`(channels, time)` or `(time,)` `input_values`; rates from the
    `sampling_rate` column, else `sampling_rate`; NaN / inf samples, which `nan_policy="interpolate"` fills later, as
    the row's mean). `model_config_option` is how the caller spells the setting of a from-scratch model's rate."""
    cutoff = config.sampling_rate / 2
    above = total = 0.0
    fastest = 0.0
    for dataset in datasets:
        has_rate = "sampling_rate" in dataset.column_names
        rows = dataset.select(range(min(_POWER_ROWS, len(dataset))))
        for row in rows.with_format("numpy", columns=["input_values"] + (["sampling_rate"] if has_rate else [])):
            rate = float(row["sampling_rate"]) if has_rate else sampling_rate
            if rate is None or rate <= 2 * cutoff:
                continue
            signal = np.atleast_2d(np.asarray(row["input_values"], dtype=np.float64))
            signal = signal[:_POWER_CHANNELS, :_POWER_SAMPLES]
            # NaN / inf as missing, at the row's mean: `nan_to_num` made an inf 1.8e308, the FFT overflowed and the
            # share was NaN
            finite = np.isfinite(signal)
            kept_samples = finite.sum(axis=-1, keepdims=True)
            mean = np.where(finite, signal, 0.0).sum(axis=-1, keepdims=True) / np.maximum(kept_samples, 1)
            signal = np.where(finite, signal - mean, 0.0)
            power = np.abs(np.fft.rfft(signal, axis=-1)) ** 2
            frequencies = np.fft.rfftfreq(signal.shape[-1], 1 / rate)
            kept = frequencies > 0
            for mains in _MAINS_FREQUENCIES:  # the hum and its harmonics, within 1 Hz of each, that resampling removes
                near = np.abs((frequencies + mains / 2) % mains - mains / 2) <= 1.0
                kept &= ~(near & (frequencies > mains / 2) & (frequencies > cutoff))
            above += float(power[:, kept & (frequencies > cutoff)].sum())
            total += float(power[:, kept].sum())
            fastest = max(fastest, rate)
        if fastest:
            break  # the first split with rows faster than the model (the training pool) is the sample
    if total <= 0 or above / total < LOST_POWER_NOTICE_SHARE:
        return None
    at_nyquist = [mains for mains in _MAINS_FREQUENCIES if abs(mains - cutoff) <= 1.0]
    hum = (
        f" {at_nyquist[0]:g} Hz mains hum, at the model's Nyquist frequency, is not removed: resampling passes half "
        f"its amplitude, so notch it out of {at_nyquist[0]:g} Hz recordings first (e.g. `scipy.signal.iirnotch`)."
        if at_nyquist
        else ""
    )
    return (
        f"{above / total:.0%} of the recordings' power lies above {cutoff:g} Hz (mains hum there aside), which "
        f"resampling from {fastest:g} Hz to the model's {config.sampling_rate:g} Hz removes. Where the task lives in "
        f"that band (EMG, heart sounds), compare with a model at the recordings' rate trained from scratch "
        f"({model_config_option}; `citrus evaluate` scores both on the same draws).{hum}"
    )


def _row_lengths(datasets, config, sampling_rate: float | None):
    """`(samples, samples at config's rate)` of every row of `datasets` that has a rate (a `sampling_rate` column,
    or the `sampling_rate` argument for every row); rows without one are skipped (`align_rows` names them)."""
    for samples, rate in row_samples_and_rates(datasets, sampling_rate):
        yield samples, _resampled_length(samples, rate, config)


def _resampled_length(samples: int, rate: float, config) -> int:
    """Samples a row of `samples` at `rate` Hz has once resampled to `config`'s rate (as the extractor resamples)."""
    import math

    from ..feature_extraction_citrus import _resampling_factors

    up, down = _resampling_factors(rate, config.sampling_rate)
    return math.ceil(samples * up / down)


def _whole_patch_samples(samples: int, rate: float, extractor: CiTrusFeatureExtractor) -> int:
    """The most of a recording's first `samples` (at `rate` Hz) whose resampling to `extractor`'s rate gives a whole
    number of patches: fewer than one patch's worth less, unless the model's rate is above `rate` (64 -> 100 Hz),
    where only some lengths resample to a patch boundary and a few patches may go. `samples` as it is
    where no prefix of at least one patch does (too short a recording: the extractor refuses it, with advice).

    Why: the last window of a recording that ends inside a patch is padded, and `patch_mask` marks that part-filled
    patch as signal (a patch is masked only when it holds no real sample), so pre-training scored up to
    `patch_length - 1` padding zeros as signal per recording."""
    from ..feature_extraction_citrus import _resampling_factors

    up, down = _resampling_factors(rate, extractor.sampling_rate)
    patch = extractor.patch_length
    for patches in range(-(-samples * up // down) // patch, 0, -1):
        kept = patches * patch * down // up
        if -(-kept * up // down) == patches * patch:  # resample_poly gives ceil(n * up / down) samples
            return kept
    return samples


def _whole_patch_prefix(recording: np.ndarray, rate: float, extractor: CiTrusFeatureExtractor) -> np.ndarray:
    """`recording` `(channels, time)` cut to whole patches at the model's rate (`_whole_patch_samples`), counted after
    the NaN length padding at its start and end that the extractor leaves out with `nan_policy="interpolate"`."""
    start, stop = nan_padding_span(recording) if extractor.nan_policy == "interpolate" else (0, recording.shape[-1])
    return recording[..., : start + _whole_patch_samples(stop - start, rate, extractor)]


def align_rows(
    dataset,
    extractor: CiTrusFeatureExtractor,
    *,
    sampling_rate: float | None = None,
    label_column: str | None = None,
    label_dtype: str = "int64",
    split_channels: bool = False,
    num_proc: int | None = None,
    length: int | None = None,
    row_numbers: Sequence[int] | None = None,
    where: str | None = None,
    whole_patches: bool = False,
    short_recording_advice: str | None = None,
):
    """Align every row of `dataset` with `extractor` (a cached `Dataset.map`); the core of both aligners. With
    fixed statistics (`normalization="fixed"`), rows whose spread is orders of magnitude off them are named in a
    warning after the map (`_warn_of_rows_in_other_units`), so that a run whose rows come from the cache says it too.

    Args:
        dataset: a `datasets.Dataset` with `input_values` `(channels, time)` (or `(time,)`) and, usually, a
            `sampling_rate` column.
        extractor: does the alignment; its `alignment` decides whether a row gives one window ("resample",
            "interpolate") or several ("window", labels repeated for every window of a row).
        sampling_rate: the rate of every row when the dataset has no `sampling_rate` column; ignored otherwise.
        label_column / label_dtype: the column copied into `labels`, and its Arrow type; None for unlabelled rows.
        split_channels: every channel of a row becomes its own example (channel-independent pre-training, as
            PatchTST; the extractor then takes one channel). Otherwise rows must have `extractor.num_channels`.
        num_proc: `Dataset.map` processes.
        length: model samples per window with `alignment="resample"` (see `aligned_length`, the default); the other
            alignments always give the context.
        row_numbers: what an error calls each row of `dataset` (default: its position): the rows of the user's
            split that a selection of it (a label budget's draw, a carved pool) holds.
        where: where the rows are, for the warning about their units ("test split").
        whole_patches: cut every recording (each channel, with `split_channels`) to whole patches at the model's rate
            before it is windowed (`_whole_patch_samples`), so that no patch `patch_mask` marks real holds padding.
        short_recording_advice: what the extractor's error for a row shorter than a patch advises instead of its
            own (`SHORT_RECORDING_ADVICE`); None keeps the caller's.

    Returns:
        A memory-mapped `datasets.Dataset` with `input_values` `(num_channels, context_length)` float32,
        `patch_mask` `(num_patches,)` int8 and, with `label_column`, `labels`.

    Raises:
        ValueError: no `input_values` column, no `sampling_rate` column and no `sampling_rate` given, no
            `label_column`, or a row whose channel count the model does not take.
    """
    columns = dataset.column_names
    if "input_values" not in columns:
        raise ValueError(
            f"The dataset has no `input_values` column (columns: {columns}); the model needs the signal as "
            "`input_values` (channels, time)."
        )
    has_rate = "sampling_rate" in columns
    if not has_rate and sampling_rate is None:
        raise ValueError(
            f"The dataset has no `sampling_rate` column (columns: {columns}), so its rows cannot be resampled to the "
            "model's rate; add the column, or pass the rate of every row in Hz (`sampling_rate=` in Python, "
            "--sampling-rate on the command line)."
        )
    if label_column is not None and label_column not in columns:
        raise ValueError(f"The dataset needs a `{label_column}` column for its labels (columns: {columns}).")
    num_channels = extractor.num_channels
    resample = extractor.alignment == "resample"
    if not resample:
        length = extractor.context_length
    elif length is None:
        length = aligned_length([dataset], extractor, sampling_rate)
    call_options = {"padding": "max_length", "max_length": length} if resample else {}

    def align(batch: dict[str, Any], indices: list[int]) -> dict[str, np.ndarray]:
        rates = batch["sampling_rate"] if has_rate else [sampling_rate] * len(batch["input_values"])
        recordings, recording_rates, rows = [], [], []
        for row, (values, rate) in enumerate(zip(batch["input_values"], rates)):
            signal = np.asarray(values)
            if signal.dtype.kind not in "iu" and signal.dtype != np.float64:
                # integer counts and float64 rows go to the extractor as they are (its integer and float64 paths keep
                # a swing on a large offset that float32 would round away, as it does for the same recording given
                # to the pipeline)
                signal = signal.astype(np.float32, copy=False)
            signal = signal[None] if signal.ndim == 1 else signal
            if split_channels and signal.ndim == 2 and looks_like_time_by_channels(*signal.shape):
                # split into channels, a (time, channels) row became thousands of rows of a few samples each, and
                # the error advised stretching them
                number = indices[row] if row_numbers is None else int(row_numbers[indices[row]])
                raise ValueError(
                    f"Row {number} has shape {signal.shape}, which reads as {signal.shape[0]} channels of "
                    f"{signal.shape[1]} samples: a (time, channels) row. Store rows as (channels, time) "
                    "(`signal.T`)."
                )
            if split_channels:
                channels = list(signal[:, None, :])
            elif signal.shape[0] != num_channels:
                raise ValueError(
                    f"A row has {signal.shape[0]} channels but the model takes {num_channels}; select the channels, "
                    "or pre-train a single-channel model (num_channels=1: every channel its own example)."
                )
            else:
                channels = [signal]
            if whole_patches:
                channels = [_whole_patch_prefix(channel, float(rate), extractor) for channel in channels]
            recordings.extend(channels)
            recording_rates.extend([float(rate)] * len(channels))
            rows.extend([row] * len(channels))
        aligned: dict[str, Any]
        if not recordings:
            aligned = {"input_values": np.zeros((0, num_channels, length), np.float32)}
            aligned["patch_mask"] = np.zeros((0, length // extractor.patch_length), np.int8)
            window_rows = np.zeros(0, dtype=np.int64)
        else:
            # set in here, in the process that aligns: `num_proc`'s workers started afresh (spawn, the default on
            # macOS and Windows) do not see a context variable set by the caller, and gave the extractor's own advice
            advice = None if short_recording_advice is None else SHORT_RECORDING_ADVICE.set(short_recording_advice)
            try:
                # the spread is checked outside the map (`_warn_of_rows_in_other_units`): said in here, it was lost
                # whenever the rows came from the cache
                with spread_checked_by_caller():
                    features = extractor(recordings, sampling_rate=recording_rates, return_tensors="np", **call_options)
            except ValueError as error:
                named = [indices[row] if row_numbers is None else int(row_numbers[indices[row]]) for row in rows]
                # a folder's rows carry their file (`recording`): "row 1" alone named nothing a user could find
                files = [str(batch["recording"][row]) for row in rows] if has_recording else None
                raise _naming_split_rows(error, named, files) from None
            finally:
                if advice is not None:
                    SHORT_RECORDING_ADVICE.reset(advice)
            aligned = {"input_values": features["input_values"], "patch_mask": features["patch_mask"].astype(np.int8)}
            # "window" alignment cuts a recording into several windows; `recording_index` says whose each one is.
            window_rows = np.asarray(rows, dtype=np.int64)
            if "recording_index" in features:
                window_rows = window_rows[np.asarray(features["recording_index"], dtype=np.int64)]
        if label_column is not None:
            aligned["labels"] = np.asarray(batch[label_column])[window_rows]
        return aligned

    has_recording = "recording" in columns
    read = ["input_values"] + (["sampling_rate"] if has_rate else []) + ([label_column] if label_column else [])
    read += ["recording"] if has_recording else []
    settings = [extractor.to_dict(), sampling_rate, label_column, label_dtype, split_channels, length, call_options]
    settings.append(whole_patches)
    # `dtype=None`: each column in its stored type; `datasets`' numpy format otherwise makes float64 rows float32
    # (a swing on a large offset rounded away before the extractor, which keeps it for the same recording given to the
    # pipeline) and every rate float32
    aligned = dataset.with_format("numpy", columns=read, dtype=None).map(
        align,
        with_indices=True,
        batched=True,
        batch_size=rows_per_map_batch(dataset),
        remove_columns=columns,
        features=aligned_features(extractor, label_dtype if label_column is not None else None, length),
        num_proc=num_proc,
        desc=f"Aligning to {extractor.sampling_rate:g} Hz x {length} samples ({extractor.alignment})",
        new_fingerprint=_aligned_fingerprint(dataset, settings),
    )
    if extractor.normalization == "fixed":
        _warn_of_rows_in_other_units(dataset, extractor, split_channels, where, row_numbers)
    return aligned


# Rows named at most in the warning about rows in another unit.
_ROWS_SHOWN = 5


def _warn_of_rows_in_other_units(
    dataset,
    extractor: CiTrusFeatureExtractor,
    split_channels: bool = False,
    where: str | None = None,
    row_numbers: Sequence[int] | None = None,
) -> None:
    """One warning per power of ten naming the rows of `dataset` (by `row_numbers`, and their file where a
    `recording` column gives it) whose spread is that far off `extractor`'s fixed statistics (`spread_off_by`): they
    are likely in another unit than the training data. `split_channels`: each channel of a row is an example of its
    own (one-channel pre-training), compared on its own. `where` says where the rows are ("test split")."""
    files = dataset["recording"] if "recording" in dataset.column_names else None
    off: dict[int, list[int]] = {}
    for start, signals in _signals_in_batches(dataset):
        for offset, signal in enumerate(signals):
            examples = signal[:, None] if split_channels else [signal]
            powers = [power for example in examples if (power := extractor.spread_off_by(example)) is not None]
            if powers:
                off.setdefault(powers[0], []).append(start + offset)
    for power, rows in sorted(off.items()):
        shown = ", ".join(
            f"row {row if row_numbers is None else int(row_numbers[row])}"
            + (f": {files[row]}" if files is not None else "")
            for row in rows[:_ROWS_SHOWN]
        ) + (", ..." if len(rows) > _ROWS_SHOWN else "")
        logger.warning(
            unit_mismatch_notice(
                power,
                f"The spread of {len(rows)} row(s) of the {where or 'set'} ({shown})",
                "convert those recordings to the unit of the training data (their samples multiplied by {factor}) "
                "and run again.",
            )
        )


def _naming_split_rows(error: ValueError, split_rows: list[int], files: list[str] | None = None) -> ValueError:
    """`error` from the extractor with its "recording i" (the i-th recording of one batch of the map) replaced by the
    row of the split that recording came from (`split_rows[i]`), and its file when the rows name one (`files[i]`, a
    folder's `recording` column): a too-short row 130 was named "recording 2"."""

    def row_of(match: re.Match) -> str:
        index = int(match.group(1))
        if index >= len(split_rows):
            return match.group(0)
        return f"row {split_rows[index]}" + (f" ({files[index]})" if files is not None else "")

    return ValueError(re.sub(r"\brecording (\d+)\b", row_of, str(error)))


@functools.lru_cache(maxsize=1)
def _alignment_code_digest() -> str:
    """sha256 of the code that decides aligned values (this module and the feature extractor's): part of every
    aligned file's cache key, so that a changed aligner (a new package version) never reads windows cached by the old
    one. `Dataset.map`'s own key hashes `align` and the objects it holds, not the functions they call."""
    from .. import feature_extraction_citrus

    digest = hashlib.sha256()
    for module_file in (__file__, feature_extraction_citrus.__file__):
        digest.update(Path(module_file).read_bytes())
    return digest.hexdigest()


def _aligned_fingerprint(dataset, settings: list[Any]) -> str:
    """Cache key of an aligned dataset: the source rows, every alignment setting and the aligner's code."""
    from datasets.fingerprint import Hasher

    return Hasher.hash([dataset._fingerprint, settings, _alignment_code_digest()])


def align_corpus(
    dataset,
    config: CiTrusConfig,
    sampling_rate: float | None = None,
    num_proc: int | None = None,
    nan_policy: str = "raise",
    split_name: str = "train",
):
    """Align every row of an unlabelled corpus to the model's input contract, once, into a cached Arrow file.

    Rows are resampled to `config.sampling_rate` and cut into `config.context_length` windows
    (`CiTrusFeatureExtractor`'s "window" alignment; a row shorter than a window becomes one padded window, marked in
    `patch_mask`). With `config.num_channels == 1` every channel of a multi-channel row becomes its own example
    (channel-independent pre-training, as PatchTST); otherwise rows must have exactly `num_channels` channels.

    Every recording (every channel, with `num_channels == 1`) is first cut to a whole number of patches at the
    model's rate (`_whole_patch_samples`): fewer than `config.patch_length` model samples dropped per recording, or a
    few patches where the model's rate is above the row's (64 -> 100 Hz: only some lengths end on a patch boundary).
    Why: a patch part-filled with padding was marked as signal and scored, the pre-training target holding up to
    `patch_length - 1` padding zeros per recording. A recording whose last window would hold less than a patch gives
    no such window.

    `sampling_rate` is the rate of every row when the corpus has no `sampling_rate` column (a column must hold one
    rate per row, `check_rate_values`); `nan_policy` what the extractor does with NaN / inf samples ("raise" or
    "interpolate"); `split_name` the corpus's split, as errors name it.

    Returns:
        A memory-mapped `datasets.Dataset` with `input_values` `(num_channels, context_length)` float32 and
        `patch_mask` `(num_patches,)` int8.
    """
    if "sampling_rate" in dataset.column_names:
        check_rate_values(dataset, split_name)
    extractor = CiTrusFeatureExtractor.from_config(
        config, alignment="window", pad_last_window=True, nan_policy=nan_policy
    )
    return align_rows(
        dataset,
        extractor,
        sampling_rate=sampling_rate,
        split_channels=config.num_channels == 1,
        num_proc=num_proc,
        where=f"{split_name} split",
        whole_patches=True,
        # a row shorter than one patch cannot be stretched here (the extractor's own advice, alignment='interpolate',
        # is no option of pre-training's): the fix is the corpus's
        short_recording_advice="Pre-training stretches no row onto its windows: leave a recording this short out of "
        "the corpus (move the file out of the folder), or join it to a longer one.",
    )


def align_task_split(
    dataset,
    extractor: CiTrusFeatureExtractor,
    task: str,
    sampling_rate: float | None = None,
    length: int | None = None,
    row_numbers: Sequence[int] | None = None,
    where: str | None = None,
):
    """Align a labelled split to the model input once (a cached `Dataset.map`).

    `sampling_rate` is the rate of every row when the split has no `sampling_rate` column; `length` the window length
    in model samples (pass `aligned_length` of all the set's splits so they share one shape; default: this split's);
    `row_numbers` what an error calls each row (`align_rows`), and `where` where the rows are ("test split",
    `TaskSplits.where`), which starts every error about them.

    Returns a `datasets.Dataset` with `input_values` `(channels, length)` float32, `patch_mask`
    `(length // patch_length,)` and `labels` (int64 class or float32 target), formatted as torch tensors.
    """
    if task not in LABELS:
        raise ValueError(f"task must be one of {LABEL_TASKS}, got {task!r}.")
    label_column, label_dtype = LABELS[task]
    with naming_where(where):
        aligned = align_rows(
            dataset,
            extractor,
            sampling_rate=sampling_rate,
            label_column=label_column,
            label_dtype=label_dtype,
            length=length,
            row_numbers=row_numbers,
            where=where,
        )
    return aligned.with_format("torch")


@contextlib.contextmanager
def naming_where(where: str | None, row_numbers: Sequence[int] | None = None):
    """Errors (`ValueError`) raised inside start with where the rows are ("The test split: ...", `where`) and, with
    `row_numbers`, call the extractor's "recording i" by its row's number in the user's split (`row_numbers[i]`)."""
    try:
        yield
    except ValueError as error:
        if row_numbers is not None:
            error = _naming_split_rows(error, [int(row) for row in row_numbers])
        if where is None:
            raise error from None
        raise ValueError(f"The {where}: {error}") from None


def task_feature_extractor(
    config: CiTrusConfig,
    alignment: str = "resample",
    padding: str = "longest",
    nan_policy: str = "raise",
    channel_units: list[str] | None = None,
) -> CiTrusFeatureExtractor:
    """The feature extractor that aligns a labelled set to `config`'s input contract (rate, window, channels,
    normalisation; see `input_overrides`). `alignment` is "resample" (keep the time scale: resample to the model's
    rate, crop to its window, pad as `padding` says: "longest" keeps each recording's own duration in whole patches,
    "max_length" pads to the window) or "interpolate" (stretch every recording onto the window); "auto" must be
    resolved for the set first (`resolve_alignment`). `channel_units` are the set's channels' units where its files
    declare them (`TaskSplits.channel_units`): the extractor saved with a fine-tuned model records them, and converts
    a recording in other voltages to them."""
    if alignment not in TASK_ALIGNMENTS or alignment == "auto":
        concrete = [name for name in TASK_ALIGNMENTS if name != "auto"]
        raise ValueError(
            f"alignment must be one of {concrete} here, got {alignment!r} (resolve 'auto' for the set with "
            "resolve_alignment)."
        )
    return CiTrusFeatureExtractor.from_config(
        config, alignment=alignment, padding=padding, nan_policy=nan_policy, channel_units=channel_units
    )


def channel_statistics(
    dataset,
    nan_policy: str = "raise",
    *,
    where: str = "training split",
    row_numbers: Sequence[int] | None = None,
    sampling_rate: float | None = None,
    patch_seconds: float | None = None,
) -> tuple[list[float], list[float]]:
    """Mean and standard deviation of every channel over all samples of a split (at its native rate).

    Uses the signals only, never the labels, so statistics of a whole training pool are fair to use in a low-label
    run: unlabelled recordings are what a low-data setting does have. With `nan_policy="interpolate"` NaN / inf
    samples are left out of the statistics (the feature extractor fills them); with "raise" they are refused, a gap
    of NaN told from a few lost samples by the row's rate (its `sampling_rate` column, else `sampling_rate`) and the
    model's `patch_seconds` (`non_finite_fix`), the row named as in the warning below.

    A channel whose statistics a few rows decide (`dominating_rows_notice`: one electrode pop, a stretch at the rail,
    a DC offset or another unit in one file) is warned of, naming the rows as `where` (the split, e.g. "train split")
    and `row_numbers` (each row's number in the user's split; default its position) call them; the statistics are
    the plain ones all the same (published figures and checkpoints depend on them).
    """
    # Sums of the samples less a per-channel shift (the first batch's mean): E[x^2] - E[x]^2 of the raw samples
    # cancels catastrophically where the offset dwarfs the variation (24-bit ADC counts near 2^23 swinging by a few
    # counts; 1e7 + N(0, 0.1) read as constant), the shifted sums do not.
    count, total, total_squares, shift = None, None, None, None
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # each batch's per-row (count, mean, squares)
    for row, signal in _signals_in_batches(dataset):
        finite = np.isfinite(signal)
        if not finite.all():  # one NaN would make every window of the set NaN after normalisation
            if nan_policy != "interpolate":
                first_bad = int(np.flatnonzero(~finite.reshape(len(signal), -1).all(axis=1))[0])
                bad_row = row + first_bad
                # (the row's rate and recording read as `check_labelled_splits` reads them: one fix for one row)
                rate, recording = rates_of_rows(dataset, sampling_rate)(bad_row), recordings_of_rows(dataset)(bad_row)
                # (named as the user numbers it in the split it is: a carved training split keeps its numbers)
                number = bad_row if row_numbers is None else int(row_numbers[bad_row])
                raise ValueError(
                    f"Row {number} of the {where} has NaN or infinite values in `input_values`; "
                    + non_finite_fix(signal[first_bad], rate, patch_seconds, recording)
                )
            signal = np.where(finite, signal, 0.0)
        if total is None:
            count, total, total_squares = (np.zeros(signal.shape[1]) for _ in range(3))
            kept = finite.sum(axis=(0, 2))
            shift = np.divide(signal.sum(axis=(0, 2)), kept, out=np.zeros(signal.shape[1]), where=kept > 0)
        shifted = np.where(finite, signal - shift[None, :, None], 0.0)
        total += shifted.sum(axis=(0, 2))
        total_squares += np.einsum("rct,rct->c", shifted, shifted)
        count += finite.sum(axis=(0, 2))
        rows.append(_row_moments(shifted, finite))
    if count is None or not count.all():
        raise ValueError(
            "Cannot compute channel statistics of an empty split (or of a channel without a finite sample)."
        )
    mean = total / count
    std = np.sqrt(np.maximum(total_squares / count - mean**2, 0.0))
    shifted_mean = mean
    mean = mean + shift
    if np.any(std == 0):
        raise ValueError(
            f"Channel(s) {np.flatnonzero(std == 0).tolist()} are constant over the whole {where}, so dataset "
            "normalisation would divide by zero; drop them or use normalization='window'."
        )
    row_count, row_mean, row_squares = (np.concatenate(moments) for moments in zip(*rows))
    notice = dominating_rows_notice(
        dataset, row_count, row_mean - shifted_mean, row_squares, mean, std, where, row_numbers
    )
    if notice:
        logger.warning(notice)
    return mean.tolist(), std.tolist()


# A channel's statistics are decided by a few rows when its pooled standard deviation is this many times the median
# row's own (the scale every recording is normalised by is not a recording's) and at most `_DOMINATING_ROWS` rows
# (or 1 % of the rows) hold half of its sum of squares about the pooled mean. On the offline registry's labelled
# training pools (13 sets, 32-1427 rows) the largest ratio is 10.4 (eeg_blink's channel 1, where 25 of 400 rows hold
# half), the fewest rows holding half 4 (basic_motions, ratio 2.5); one pop of 1e6, 2 s at the int16 rail, a +1e4
# offset or a file in another unit among a dozen rows of spread 9 give ratios of 350-3e5, one row holding >99 %.
_DOMINATED_SPREAD_RATIO = 10.0
_DOMINATING_ROWS = 3


def _row_moments(shifted: np.ndarray, finite: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(count, mean, sum of squares about the row's mean)` of every row and channel of one batch `(rows, channels,
    samples)` of shifted samples (non-finite ones zero and left out by `finite`), each `(rows, channels)`, float32:
    what `dominating_rows_notice` needs, at 12 bytes per row and channel."""
    count = finite.sum(axis=-1)
    total = shifted.sum(axis=-1)
    mean = total / np.maximum(count, 1)
    # E[x^2] - E[x]^2 of the shifted samples: one pass; it loses digits only for a row whose mean lies 1e7 times its
    # spread from the first batch's, which the median over the rows (or the row's share, then huge) absorbs
    squares = np.maximum(np.einsum("rct,rct->rc", shifted, shifted) - total * mean, 0.0)
    with np.errstate(over="ignore"):  # (beyond float32: inf, which then dominates, as it should)
        return count.astype(np.float32), mean.astype(np.float32), squares.astype(np.float32)


def dominating_rows_notice(
    dataset,
    row_count: np.ndarray,
    row_offset: np.ndarray,
    row_squares: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    where: str = "training split",
    row_numbers: Sequence[int] | None = None,
) -> str | None:
    """One line naming the channels whose pooled statistics (`mean`, `std` per channel) a few rows of `dataset`
    decide, or None. Per row and channel `(rows, channels)`: its samples, its mean less the pooled mean and its sum
    of squares about its own mean. A row's share of the channel's sum of squares about the pooled mean is its own
    squares plus its samples times its offset squared; the channel is dominated when the pooled std is
    `_DOMINATED_SPREAD_RATIO` times the median row's std and at most `_DOMINATING_ROWS` (or 1 % of the) rows hold
    half of it. Rows are named by `row_numbers` (default: their position) and by their file (a `recording` column).
    """
    rows, channels = row_count.shape
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        row_count, row_offset, row_squares = (a.astype(np.float64) for a in (row_count, row_offset, row_squares))
        shares = row_squares + row_count * row_offset**2
        total = shares.sum(axis=0)
        row_std = np.sqrt(row_squares / np.maximum(row_count, 1))
        median_std = np.median(row_std, axis=0)
        ratio = np.where(median_std > 0, std / median_std, np.inf)
    allowed = max(_DOMINATING_ROWS, rows // 100)
    found: list[tuple[int, np.ndarray, float, float]] = []
    for channel in range(channels):
        if rows < 3 or not ratio[channel] >= _DOMINATED_SPREAD_RATIO or not total[channel] > 0:
            continue  # (fewer than 3 rows have no typical row to compare with)
        order = np.argsort(-shares[:, channel], kind="stable")
        held = np.cumsum(shares[order, channel]) / total[channel]
        needed = int(np.searchsorted(held, 0.5)) + 1
        if needed <= allowed:
            found.append((channel, order[:needed], float(held[needed - 1]), float(median_std[channel])))
    if not found:
        return None
    recordings = dataset["recording"] if "recording" in dataset.column_names else None

    def named(row: int) -> str:
        number = row if row_numbers is None else int(row_numbers[row])
        return f"row {number}" + (f" ({recordings[row]})" if recordings is not None else "")

    parts = [
        f"channel {channel}: {', '.join(named(int(row)) for row in dominant)} "
        f"{'holds' if len(dominant) == 1 else 'hold'} {held:.1%} of its variance, and its std ({std[channel]:.4g}; "
        f"mean {mean[channel]:.4g}) is "
        + (
            f"{std[channel] / typical:.3g}x a typical row's ({typical:.4g}, the median)"
            if typical > 0
            else "that of rows most of which are constant"
        )
        for channel, dominant, held, typical in found[:_DOMINATING_ROWS]
    ]
    more = f" (and {len(found) - _DOMINATING_ROWS} more channels)" if len(found) > _DOMINATING_ROWS else ""
    return (
        f"The {where}'s per-channel normalisation statistics are decided by a few rows: {'; '.join(parts)}{more}. "
        "Every recording is scaled by them (normalization 'dataset', in fitting and in the saved checkpoint), so an "
        "artefact there (an electrode pop, a stretch at the rail, a DC offset, a file in another unit) sets the scale "
        "of all, and fitting can fall to chance: clean or drop those rows (--nan-policy cannot help: their samples "
        "are finite), or normalise per window (normalization 'window')."
    )


# Samples read at a time by `channel_statistics` (32 MB in float64).
_STATISTICS_BATCH_SAMPLES = 4_000_000


def _signals_in_batches(dataset):
    """`(first row, signals (rows, channels, samples) float64)` over a split's `input_values`, a batch of rows of one
    shape at a time, at most about `_STATISTICS_BATCH_SAMPLES` samples per batch (at least one row). Why batches:
    `datasets` decodes an `Array2D` row by row about 100x slower than a batch (100k rows of 1 s took 18 s in `citrus
    finetune`'s start); rows of different lengths come one at a time. The batch is sized by the set's longest row
    (`rows_per_map_batch`), not its first: a short first row made batches of a million rows, each decoded whole
    before its rows of different lengths were split apart (rows of a minute after one of a second held 60x the
    intended bytes)."""
    # float64 asked for: `datasets`' numpy format makes floats float32, which rounds away a variation that sits on a
    # large offset (1e5 + 0.05 sin read 1.3% low) before the statistics see it
    column = dataset.with_format("numpy", columns=["input_values"], dtype=np.float64)
    if len(column) == 0:
        return
    # (the first row's size stands for every row's where the storage holds fixed-size arrays, all of one shape)
    first_row_samples = max(1, np.size(column[0]["input_values"]))
    batch_size = rows_per_map_batch(
        dataset, most_rows=max(1, _STATISTICS_BATCH_SAMPLES // first_row_samples), samples=_STATISTICS_BATCH_SAMPLES
    )
    for start in range(0, len(column), batch_size):
        values = column[start : start + batch_size]["input_values"]
        if isinstance(values, np.ndarray) and values.dtype != object:
            signals = values.astype(np.float64, copy=False)
            yield start, signals[:, None] if signals.ndim == 2 else signals
            continue
        for offset, row_values in enumerate(values):
            signal = np.asarray(row_values, dtype=np.float64)
            yield start + offset, (signal[None] if signal.ndim == 1 else signal)[None]


def input_overrides(
    normalization: str,
    num_channels: int,
    train=None,
    nan_policy: str = "raise",
    *,
    where: str = "training split",
    row_numbers: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Config fields that set how a labelled set is normalised (they become part of the fine-tuned checkpoint).

    "window": z-score every window and channel, as in CiTrus pre-training (amplitude-free: good for rhythm, such as
    heart rate). "dataset": one fixed mean / std per channel from the training split (`channel_statistics`), which
    keeps the channels' relative amplitudes: for multi-channel sets where the pattern across channels is the signal
    (EMG gestures, IMU activities) per-window z-scoring erases it. `where` and `row_numbers` name the training rows
    in the warning about rows that decide the statistics (see `channel_statistics`).
    """
    if normalization not in TASK_NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {TASK_NORMALIZATIONS}, got {normalization!r}.")
    if normalization == "window":
        return {
            "num_channels": num_channels,
            "normalization": "zscore",
            "normalization_mean": None,
            "normalization_std": None,
        }
    mean, std = channel_statistics(train, nan_policy, where=where, row_numbers=row_numbers)
    return {
        "num_channels": num_channels,
        "normalization": "fixed",
        "normalization_mean": mean,
        "normalization_std": std,
    }


def with_input_overrides(config: CiTrusConfig, overrides: dict[str, Any]) -> CiTrusConfig:
    """A copy of `config` with the input-contract fields of `overrides` (channels, normalisation) replaced."""
    values = {k: v for k, v in config.to_dict().items() if k not in ("architectures", "transformers_version")}
    for key in ("id2label", "label2id", "num_labels", "channel_names", "channel_modalities"):
        values.pop(key, None)
    return CiTrusConfig(**{**values, **overrides})


__all__ = [
    "TASK_ALIGNMENTS",
    "TASK_NORMALIZATIONS",
    "align_corpus",
    "align_rows",
    "align_task_split",
    "aligned_features",
    "DEFAULT_TASK_ALIGNMENT",
    "aligned_length",
    "channel_statistics",
    "cropped_rows_notice",
    "dominating_rows_notice",
    "lost_band_notice",
    "input_overrides",
    "naming_where",
    "one_duration",
    "resolve_alignment",
    "stretched_seconds",
    "task_feature_extractor",
    "with_input_overrides",
]
