"""transformers pipelines for CiTrus models: a raw bio-signal recording of any rate and length in, per-window
predictions with their times and one answer for the whole recording out.

    from transformers import pipeline
    import citrus_hf  # registers CiTrus with transformers

    classify = pipeline(model="runs/watch")  # the task comes from the checkpoint
    result = classify(recording, sampling_rate=50)  # (time,) or (channels, time), any length
    result["label"], result["windows"][0]  # {"start": 0.0, "end": 4.0, "label": ..., "score": ..., "labels": [...]}

Three pipelines, registered with transformers by `citrus_hf` (see `citrus_hf.inference.registration`):

- `"time-series-classification"` (`BioSignalClassificationPipeline`): labels with scores per window (`top_k`), and
  for the recording the label of the mean of the windows' probabilities and the seconds of each label
  (`label_seconds`: every second that windows cover counted once, `counted_spans`).
- `"time-series-regression"` (`BioSignalRegressionPipeline`): targets per window and their mean.
- `"time-series-feature-extraction"` (`BioSignalFeatureExtractionPipeline`): `model.embed()` vectors per window and
  their mean.

A fusion model (one encoder per modality) runs under its own tasks, `"time-series-fusion-classification"` and
`"time-series-fusion-regression"` (`BioSignalFusionClassificationPipeline`, `BioSignalFusionRegressionPipeline`): one
recording per modality in, every modality cut into windows of the same times, and the classification or regression
pipeline's result out (see `_FusionRecordingPipeline`), on the same backends but ONNX Runtime (`FUSION_BACKENDS`).

A recording's mean weighs each window by the seconds of recording it covers (a last window padded out to the context,
`pad_last_window=True`, counts for its own seconds only), and leaves out the windows that hold no signal: each window
says whether it does (`"no_signal"`: None, `"flat"` where every channel is constant there or after alignment, an
electrode that came off or a recording of zeros, or `"interpolated"` where every sample under it was NaN / inf, filled
by `nan_policy="interpolate"`), and the result counts them (`"no_signal_windows"`). Such windows were scored with the
most confident scores of all and decided the recording's label; a recording without a window of signal has no label
(None), target (None) or embedding (NaN).

Every pipeline aligns the recording with the checkpoint's feature extractor (by default `alignment="window"`:
resampled once, then cut into the model's windows; a recording shorter than one window keeps its own duration, in
whole patches, as the extractor's `padding="longest"` does, so the model sees no padding; a checkpoint trained on
recordings stretched onto its window, `alignment="interpolate"`, stretches each recording the same way), runs the windows
`batch_size` at a time through the fastest inference backend that keeps the results (`backend="auto"`, see
`backends.py`), and says which backend ran (`result["backend"]`). A list of recordings gives a list of results. A
recording of many forward passes shows a progress bar (`progress=False` turns it off).

This file is also shipped next to the weights as remote code (`Pipeline.save_pretrained` copies it with
`backends.py`): it imports only numpy, torch, transformers and its sibling `backends`.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import inspect
import io
import math
import numbers
import os
import re
import types
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from transformers.pipelines.base import ChunkPipeline
from transformers.utils import logging

from .backends import (
    BACKENDS,
    FUSION_BACKENDS,
    FUSION_ONNX_REFUSAL,
    InferenceTarget,
    _BackendCache,
    batch_length,
    cached_backend,
    check_positive_integer,
    joined_paths,
    problem_of,
    run_full_and_padded_apart,
    scores_each_output,
)

logger = logging.get_logger(__name__)

# The pipeline task of each kind of model `problem_of` tells apart (`configuration_citrus.PIPELINE_TASKS`, spelt out:
# this file travels as remote code and imports nothing of the package but `backends`; a test keeps them equal).
PROBLEM_TASKS = {
    "classification": "time-series-classification",
    "regression": "time-series-regression",
    "encoder": "time-series-feature-extraction",
}

# Windows per forward pass unless `batch_size` says otherwise: large enough for efficient kernels, small enough that a
# batch of 30 s windows at 100 Hz stays in a few MB.
DEFAULT_WINDOW_BATCH_SIZE = 64
# The encoder runs one token sequence per channel of every window (about 0.5 MB of activations each for citrus-small's
# 10 s windows), so a forward pass holds at most this many windows x channels: 64 windows of up to 16 channels, and
# fewer windows of wider recordings (a 256-channel recording at 64 windows per pass needed 8 GB and crashed).
MAX_CHANNEL_SEQUENCES_PER_PASS = 1024
# Recordings of a list or stream that wait in packs of short recordings at most (`_packed_results`): the results go
# out in order, so a pack holding the oldest unfinished recording runs once this many wait.
PACKED_RECORDINGS_AHEAD = 1024
# `unscored_seconds` is rounded to this many decimals (nanoseconds): what rounding leaves of a recording all in windows.
UNSCORED_DECIMALS = 9
# Labels per window and recording unless `top_k` says otherwise (`top_k=None`: every label, as transformers'
# audio and text classification pipelines do).
DEFAULT_TOP_K = 5
# A recording that takes at least this many forward passes shows a progress bar (unless `progress=False`); fewer
# finish before a bar would say anything.
PROGRESS_MIN_PASSES = 4
# ...and the bar appears only once the recording has run this long, so that a loop over many recordings that each
# take a few fast passes prints nothing.
PROGRESS_DELAY_SECONDS = 2.0
ALIGNMENTS = ("window", "resample", "interpolate")
# The feature extractor's `padding` choices (this file cannot import it: it is remote code on its own).
PADDINGS = ("longest", "max_length")
SCORE_FUNCTIONS = ("softmax", "sigmoid", "none")
# Keys of a recording given as a dict, as in transformers' audio pipelines.
SIGNAL_KEYS = ("raw", "array")
# A recording lasting more than this share beyond the durations a checkpoint was fitted on stretched onto its window
# (the extractor's `stretched_seconds`) is stretched by another factor, which scales its frequencies: the pipeline
# warns of it (2 % puts a heart rate of 90 bpm 1.8 bpm off).
STRETCH_TOLERANCE = 0.02
# How a warning about one recording names it: a command that reads the recording from a file and passes its samples
# sets the file's path around the call (`citrus predict`); a file the pipeline reads is named by its path.
RECORDING_NAME: ContextVar[str | None] = ContextVar("RECORDING_NAME", default=None)


def _windows_per_pass(window_batch_size: int, channels: int) -> int:
    """`window_batch_size` windows per forward pass, fewer for recordings of many channels
    (`MAX_CHANNEL_SEQUENCES_PER_PASS`)."""
    return max(1, min(window_batch_size, MAX_CHANNEL_SEQUENCES_PER_PASS // max(1, channels)))


# Why a window holds no signal (its `"no_signal"`, see `_SignalMarks`), with what each reason means (`citrus predict`
# prints it); None where it holds signal. A fusion window's reason names the modality without signal too: "flat (eeg)"
# (`no_signal_reason_of` reads the reason back).
NO_SIGNAL_REASONS = {
    "flat": "constant, e.g. an electrode off",
    "interpolated": "every sample NaN / inf, filled by the interpolate nan policy",
}


def no_signal_reason_of(mark: str) -> str:
    """The reason (a key of `NO_SIGNAL_REASONS`) of a window's `"no_signal"` mark: the mark itself, or of a fusion
    window's "flat (eeg)" (`_FusionRecordingPipeline`), the part before the modality."""
    return mark.partition(" (")[0]


def _seconds_weighted_mean(outputs: torch.Tensor, seconds: torch.Tensor) -> torch.Tensor:
    """`modeling_citrus.recording_mean`, for a model whose (older) file has none: `(num_windows, outputs)` ->
    `(outputs,)`, each window weighted by the seconds `(num_windows,)` it covers; the plain mean where one covers
    none; taken about the first window, as that rule is. (This file imports nothing of the package but `backends`: a
    test keeps the two rules equal, and their refusals alike: mismatched shapes broadcast without a word.)"""
    if outputs.ndim != 2:  # (one value per window, `(num_windows,)`, came back unchanged: each window's, no mean)
        raise ValueError(
            f"`outputs` has shape {tuple(outputs.shape)}; give one row per window, (num_windows, outputs) "
            "(`outputs[:, None]` for one value per window)."
        )
    seconds = torch.as_tensor(seconds, dtype=torch.float64)
    if tuple(seconds.shape) != (len(outputs),):  # (one value was broadcast over every window, others stopped in torch)
        raise ValueError(
            f"`seconds` has shape {tuple(seconds.shape)} for {len(outputs)} windows of outputs; give the seconds of "
            "recording each window covers, one per window."
        )
    first = outputs[:1] if len(outputs) else outputs.new_zeros((1, *outputs.shape[1:]))
    if not bool((seconds > 0).all()):
        return first[0] + (outputs - first).mean(0)
    return first[0] + ((outputs - first) * (seconds / seconds.sum()).to(outputs.dtype)[:, None]).sum(0)


class _SignalMarks:
    """Which windows of one recording hold no signal, and why (`NO_SIGNAL_REASONS`): "interpolated" where every
    channel's samples under the window were NaN / inf (`nan_policy="interpolate"` made a straight line up between the
    stretches around it), "flat" where every channel is constant there (an electrode that came off, a recording of
    zeros; a channel of NaN counts as constant) or the window is constant after alignment (z-scoring zeroes a window
    whose swing is rounding), else None. The recording's own samples decide, not the aligned window only: resampling
    leaves a ripple on a flat stretch (its filter's branches pass a constant with slightly different gains), which
    fixed statistics keep. Each window's stretch is looked at channel by channel until one varies, so a recording
    with signal costs about one channel's reading."""

    def __init__(self, recording: np.ndarray | torch.Tensor, rate: Any):
        self._recording = recording  # (time,) or (channels, time), as the extractor takes it
        # As the call gave it: the extractor checks it before any window is marked (a rate per channel must be one
        # rate, and its refusal says so; read here first, a list of rates failed in `float`).
        self._given_rate = rate
        self._samples: np.ndarray | None = None

    @property
    def _rate(self) -> float:
        """The recording's rate: the one rate the extractor accepted (a list of one rate per channel is that rate)."""
        return float(np.asarray(self._given_rate, dtype=np.float64).reshape(-1)[0])

    def samples(self) -> np.ndarray:
        """The recording `(channels, time)` as numpy, converted once (a torch tensor on the GPU is copied once)."""
        if self._samples is None:
            values = self._recording
            if isinstance(values, torch.Tensor):
                values = values.detach().cpu()
                values = (values.float() if values.dtype in (torch.bfloat16, torch.float16) else values).numpy()
            values = np.asarray(values)
            self._samples, self._recording = (values[None] if values.ndim == 1 else values), None
        return self._samples

    def __call__(self, chunk: dict) -> list[str | None]:
        """The reason of each window of a chunk of `_aligned_windows` (its aligned `input_values` `(windows,
        channels, samples)`, `patch_mask` and start and end seconds), None for a window with signal."""
        constant = _constant_windows(chunk["input_values"], chunk["patch_mask"]).tolist()
        samples = self.samples()
        length = samples.shape[-1]
        firsts = np.clip(np.rint(np.asarray(chunk["window_start_seconds"]) * self._rate), 0, length - 1).astype(int)
        lasts = np.clip(np.rint(np.asarray(chunk["window_end_seconds"]) * self._rate), firsts + 1, length).astype(int)
        return [
            _stretch_without_signal(samples[:, first:last], flat)
            for first, last, flat in zip(firsts.tolist(), lasts.tolist(), constant)
        ]


def _constant_windows(input_values: torch.Tensor, patch_mask: torch.Tensor | None) -> np.ndarray:
    """`(windows,)`: whether every channel of each aligned window `(windows, channels, samples)` is constant over its
    real patches (`patch_mask`, None for full windows). In numpy: a clip's window is a few microseconds there, and
    torch's per-operation cost made this a third of a packed clip's time."""
    values = np.asarray(input_values.detach().cpu())
    if patch_mask is None or bool(patch_mask.all()):
        return (values.max(axis=-1) == values.min(axis=-1)).all(axis=-1)
    real = np.repeat(np.asarray(patch_mask.cpu(), dtype=bool), values.shape[-1] // patch_mask.shape[-1], axis=-1)
    real = real[:, None, :]
    high = values.max(axis=-1, where=real, initial=-np.inf)
    return (high == values.min(axis=-1, where=real, initial=np.inf)).all(axis=-1)


def _stretch_without_signal(stretch: np.ndarray, constant_after_alignment: bool) -> str | None:
    """Why the samples `(channels, time)` of the recording under one window hold no signal (`_SignalMarks`)."""
    every_missing, every_flat = True, True
    for channel in stretch:
        high, low = channel.max(), channel.min()
        if high != low and math.isfinite(high) and math.isfinite(low):
            every_missing = every_flat = False  # (a channel with signal: what almost every window has)
            break
        if channel.dtype.kind == "f":
            finite = np.isfinite(channel)
            if not finite.any():
                continue  # NaN / inf throughout: made up by the interpolation
            high, low = channel.max(where=finite, initial=-np.inf), channel.min(where=finite, initial=np.inf)
        every_missing = False
        if high != low:
            every_flat = False
            break
    if every_missing:
        return "interpolated"
    return "flat" if every_flat or constant_after_alignment else None


# The first bytes of a WAV file (`citrus_hf.data.readers.files.is_wav`, spelt out: this file travels as remote code).
_WAV_MAGIC = (b"RIFF", b"RIFX", b"RF64")


def _recording_file_reader():
    """`(path or WAV bytes, sampling_rate, default_sampling_rate, channels, extractor, name_channels, convert_units)
    -> (samples (channels, time), rate, channel names or None)` through `citrus_hf.data.readers` (a file: EDF / BDF,
    WFDB, WAV, .npy, .csv, as `read_recording` reads it, `channels` (names or positions) of it, or all; a WAV file's
    bytes, what transformers' audio pipelines take and an undecoded `datasets.Audio` row holds), or None where citrus_hf
    is not installed: this file also runs as a checkpoint's remote code, which imports nothing of the package. The names
    come back where `extractor`'s checkpoint picks the file's channels by them, as `citrus predict` decides
    (`picks_channels_by_name`, asked only when `name_channels`: the caller named no channels itself); a file that names
    none (.npy, WAV, a CSV without a header) is read in its order, as an array of its samples is. With `convert_units`
    (the caller gave no `input_channel_units`), a file that declares its channels' units (EDF, WFDB) has them converted
    to the checkpoint's (`CiTrusFeatureExtractor.unit_factors`: a note names the file, and a unit that cannot be
    converted is refused naming it)."""
    try:
        from citrus_hf.data.readers import read_recording, records_its_rate
        from citrus_hf.data.readers.files import read_wav
        from citrus_hf.data.recording_folders import (
            checkpoint_channels_of,
            picks_channels_by_name,
            warn_of_trigger_channels,
        )
    except ImportError:
        return None

    def read(source, sampling_rate, default_sampling_rate, channels, extractor, name_channels, convert_units):
        rate = _one_rate(sampling_rate)
        if isinstance(source, bytes):
            if channels is not None:
                raise ValueError(
                    f"`channels={channels!r}` picks channels of a recording file, and a WAV file's bytes are read "
                    "whole: leave `channels` out, pass the file's path instead, or select the samples' channels "
                    "yourself."
                )
            recording = read_wav(io.BytesIO(source), f"The recording's {len(source)} bytes")
            if rate is not None and rate != recording.sampling_rate:
                raise ValueError(
                    f"The WAV bytes record their rate, {recording.sampling_rate:g} Hz, and the call says {rate:g} Hz; "
                    "leave sampling_rate out."
                )
            return recording.data, recording.sampling_rate, None
        if not os.path.exists(source) and not os.path.isfile(f"{os.fspath(source)}.hea"):
            raise FileNotFoundError(
                f"The recording file {os.fspath(source)[:200]!r} does not exist (relative paths start from the "
                "current folder); a recording's samples go in as a numpy array or torch tensor."
            )
        if rate is None and not records_its_rate(source):  # the pipeline's own rate, if it has one
            rate = _one_rate(default_sampling_rate)
        picked = channels
        if picked is None and name_channels:  # a PSG of several rates: the checkpoint's named channels, it picks them
            picked = checkpoint_channels_of(extractor, source)
        recording = read_recording(source, channels=picked, sampling_rate=rate)
        by_name = name_channels and picks_channels_by_name(
            extractor,
            recording,
            os.fspath(source),
            chosen=channels is not None,
            choose="`channels=[NAME, ...]` (names or positions from 0)",
            warn=logger.warning,
        )
        if picked is None and not by_name:  # every channel read, event codes of a trigger channel among them
            warn_of_trigger_channels(
                os.fspath(source),
                recording.channel_names,
                "pick the other channels with `channels=[NAME, ...]` (names or positions from 0).",
            )
        data = recording.data
        # (an extractor saved before units were recorded has no `unit_factors`: its recordings are read as they are)
        if convert_units and recording.units and callable(getattr(extractor, "unit_factors", None)):
            factors, note = extractor.unit_factors(recording.units, recording.channel_names, source=os.fspath(source))
            if factors is not None:
                # in the reader's own float64 samples: a converted copy beside them held the recording twice
                into = data if data.dtype == factors.dtype and data.flags.writeable else None
                data = np.multiply(data, factors[:, None], out=into)
                logger.warning(note)
        return data, recording.sampling_rate, recording.channel_names if by_name else None

    return read


def _modality_channels_reader():
    """`(path, modalities) -> {modality: [channel, ...]}`, the channels of each modality in a file that holds them
    all, told apart by their names (`citrus_hf.data.recording_folders.modality_channels_of`), or None where citrus_hf
    is not installed (this file runs as remote code too)."""
    try:
        from citrus_hf.data.recording_folders import modality_channels_of
    except ImportError:
        return None
    return modality_channels_of


# Call arguments of other libraries' habits that no spelling distance finds, with what this pipeline takes instead.
PARAMETER_HABITS = {
    "fs": "sampling_rate",
    "sr": "sampling_rate",
    "return_all_scores": "top_k=None",
    # transformers' speech recognition pipeline cuts long audio by these; here the window is the checkpoint's own
    "chunk_length_s": "hop_seconds; the window is the checkpoint's own",
    "stride_length_s": "hop_seconds, the time between window starts",
}
# A parameter's default where `None` means something of its own (`top_k=None`: every label).
_NOT_GIVEN = object()
# How the extractor names the one recording it was given (the pipeline gives it one at a time).
_FIRST_RECORDING = re.compile(r"\b([Rr])ecording 0\b")
# The option the extractor's channel-count errors advise (`feature_extraction_citrus.CHANNEL_NAMES_OPTION`, spelt out:
# remote code; a test keeps them equal), and what the fusion pipeline, which does not take it, names instead.
EXTRACTOR_CHANNEL_OPTION = "`input_channel_names`"
FUSION_CHANNEL_OPTION = "`modality_channels`"


def _is_number(value: Any) -> bool:
    # `configuration_citrus.is_real_number`, spelt out: this file travels as remote code and imports only `backends`
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _channel_key(name: Any) -> str:
    # `feature_extraction_citrus.channel_key`, spelt out: this file travels as remote code; a test keeps them equal
    return str(name).strip().casefold()


def hop_length_from_seconds(hop_seconds: Any, sampling_rate: float) -> int:
    """`hop_seconds` (the time between window starts, as `citrus predict --hop-seconds` takes it) in samples at the
    model's `sampling_rate`, as the feature extractor's `hop_length` counts them.

    Raises:
        ValueError: not a positive number of seconds, or less than one sample at `sampling_rate`.
    """
    if not _is_number(hop_seconds) or not (math.isfinite(hop_seconds) and hop_seconds > 0):
        raise ValueError(f"A hop must be a positive number of seconds, got {hop_seconds!r}.")
    samples = hop_seconds * sampling_rate
    hop = math.floor(samples + 0.5)  # half up: 0.125 s at 100 Hz is 13 samples (`round` gave 12)
    if hop < 1:
        raise ValueError(
            f"A hop of {hop_seconds:g} s is less than one sample of the model's {sampling_rate:g} Hz; give at least "
            f"{1 / sampling_rate:g} s."
        )
    if abs(samples - hop) > 1e-6 * samples:
        # windows start on the model's samples: say by how much the grid differs from the one asked for (it drifts
        # with every window: 0.75 s at 7.8125 Hz became 0.768 s, 18 s over 1,000 windows)
        logger.warning_once(
            f"A hop of {hop_seconds:g} s is {samples:.4g} samples of the model's {sampling_rate:g} Hz; windows start on "
            f"whole samples, every {hop} ({hop / sampling_rate:g} s). Each window's reported start is its true one."
        )
    return hop


def _is_sample(value: Any) -> bool:
    """A number, or a 0-d array / tensor (the items of `list(tensor)`): one sample of a flat list of samples."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.ndim == 0
    return _is_number(value)


# `feature_extraction_citrus.is_missing_sample`, spelt out (remote code); a test keeps them equal.
def _is_missing_sample(value: Any) -> bool:
    """Whether `value`, an item of a flat list of samples, marks a missing sample: None (a JSON null) or pandas'
    `pd.NA` (`series.tolist()` of a nullable `Float64` / `Int16` column), told by its type's name."""
    return value is None or type(value).__name__ == "NAType"


# `feature_extraction_citrus._gaps_as_nan`, spelt out (remote code); a test keeps them equal.
def _gaps_as_nan(values: Any) -> Any:
    """Nested lists of samples with each missing one (`_is_missing_sample`) as NaN."""
    if isinstance(values, (list, tuple)):
        return [_gaps_as_nan(value) for value in values]
    return np.nan if _is_missing_sample(values) else values


def _is_datasets_object(value: Any, *names: str) -> bool:
    """Whether `value` is an object of `datasets` of one of the class `names` (by name: this file travels as remote
    code, which may lack `datasets`)."""
    return type(value).__name__ in names and type(value).__module__.startswith("datasets.")


# A streamed set's rows, each with its own rate, as one pass over the stream (its rate column beside its signal column
# would read the stream twice, and a list of its rates would read all of it before the first result).
_STREAMED_ROWS_WITH_RATES = (
    '`pipe(({"raw": row["input_values"], "sampling_rate": row["sampling_rate"]} for row in dataset))` for each '
    "row's own rate"
)


def _undecoded_audio(value: Any) -> Any:
    """A `datasets` column (`Column`, `IterableColumn`) or `KeyDataset` of a decoded `datasets.Audio` column as the
    same column undecoded, whose rows (`{"bytes", "path"}`) the pipeline reads as WAV files; anything else unchanged.
    `datasets` 5 decodes audio with torchcodec, which this package does not install (its ImportError came out of the
    pipeline's loop over the rows) and whose decoded rows (`AudioDecoder` objects) the pipeline does not take."""
    source, name = getattr(value, "source", None), getattr(value, "column_name", None)
    if type(value).__name__ == "KeyDataset":
        source, name = getattr(value, "dataset", None), getattr(value, "key", None)
    feature = (getattr(source, "features", None) or {}).get(name) if isinstance(name, str) else None
    if not (type(feature).__name__ == "Audio" and getattr(feature, "decode", False) and hasattr(source, "cast_column")):
        return value
    undecoded = source.cast_column(name, type(feature)(decode=False))
    return type(value)(undecoded, name) if type(value).__name__ == "KeyDataset" else undecoded[name]


def _unwrap_datasets_column(value: Any) -> Any:
    """A `datasets` `Column` (`dataset["input_values"]`, `dataset["sampling_rate"]`: a lazy sequence of the rows) as
    the list of its rows, and a streamed set's `IterableColumn` (`dataset["input_values"]` with `streaming=True`) as a
    generator of its rows, which the pipeline scores one at a time as they come (refused before as no recording, "got
    IterableColumn"); a column of `datasets.Audio` undecoded (`_undecoded_audio`); anything else unchanged."""
    value = _undecoded_audio(value)
    if _is_datasets_object(value, "Column"):
        return list(value)
    if _is_datasets_object(value, "IterableColumn"):
        return (row for row in value)
    return value


def _refuse_streamed_rates(sampling_rate: Any) -> None:
    """Refuse a streamed set's rate column (`sampling_rate=dataset["sampling_rate"]` with `streaming=True`), which
    was taken for one rate and refused as no number ("got <datasets.iterable_dataset.IterableColumn object at
    0x...>"), naming the one pass over the stream that gives each row its rate."""
    if _is_datasets_object(sampling_rate, "IterableColumn"):
        raise TypeError(
            "`sampling_rate` is a streamed set's column (`streaming=True`), which is read as its rows arrive, not "
            f"beside them: pass {_STREAMED_ROWS_WITH_RATES}, or one rate for all, `sampling_rate=250`."
        )


def _refuse_datasets_set(inputs: Any) -> None:
    """Refuse a whole `datasets` set given as the input, naming how its rows go to a pipeline: a `Dataset` is no torch
    Dataset, so transformers handed it over as one recording, and a streamed `IterableDataset` gave its rows as dicts
    of every column, refused with advice (`KeyDataset`) that does not read a stream."""
    if not (_is_datasets_object(inputs, "Dataset", "IterableDataset") and hasattr(inputs, "column_names")):
        return
    columns = list(inputs.column_names or [])
    signal = next((name for name in ("input_values", *SIGNAL_KEYS) if name in columns), "input_values")
    if type(inputs).__name__ == "IterableDataset":
        rates = f", or {_STREAMED_ROWS_WITH_RATES}" if "sampling_rate" in columns else ""
        raise TypeError(
            f"A streamed `datasets` IterableDataset (columns {columns}) goes to a pipeline one column at a time: "
            f"`pipe(dataset[{signal!r}], sampling_rate=250)` (the recordings' one rate){rates}."
        )
    rates = "dataset['sampling_rate']" if "sampling_rate" in columns else "250 (the recordings' rate)"
    raise TypeError(
        f"A `datasets` Dataset (columns {columns}) goes to a pipeline one column at a time, as in transformers: "
        f"`pipe(transformers.pipelines.pt_utils.KeyDataset(dataset, {signal!r}), sampling_rate={rates})` (one rate "
        "for all, or one per row)."
    )


# `feature_extraction_citrus._column_as_list`, spelt out: this file travels as remote code and imports only
# `backends`; a test keeps them equal.
def _column_as_list(value: Any) -> Any:
    """A column of recordings as the list of them: a 1-D object array of arrays (rows of different lengths in
    `datasets`' numpy or pandas format), or a pandas Series of them (`table["signal"]`, one array per row); a pandas
    Series of numbers as its numpy array (one recording); anything else unchanged. Taken as one recording, a column's
    N recordings were scored as one of N samples (one window of N / rate seconds, a "score" summed over them)."""
    if type(value).__name__ == "Series" and hasattr(value, "to_numpy"):
        value = value.to_numpy()  # (pandas) of numbers: one single-channel recording
    return list(value) if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 1 else value


def _label_names(id2label: Any, num_labels: int) -> list:
    """`config.id2label` as the list of the `num_labels` outputs' names. Keys may be ints or their strings (as in
    config.json, when a user assigns the mapping read from it); a mapping that does not name every output is an
    error naming the fix, not a KeyError from the ranking."""
    names = {}
    for key, name in dict(id2label or {}).items():
        try:
            names[int(key)] = name
        except (TypeError, ValueError):
            pass
    missing = [index for index in range(num_labels) if index not in names]
    if missing:
        raise ValueError(
            f"`model.config.id2label` names no label for output(s) {missing[:10]} of the model's {num_labels}; give "
            f"one name per output, e.g. `model.config.id2label = {{0: 'rest', 1: 'move', ...}}` with keys 0 to "
            f"{num_labels - 1} (and `label2id` to match)."
        )
    return [names[index] for index in range(num_labels)]


def counted_spans(windows: Sequence[dict]) -> np.ndarray:
    """The seconds each of a recording's `windows` (the pipeline's, in time order, each with its `"start"` and
    `"end"`) counts for in the time spent per label: `(num_windows, 2)`, a start and end each. Every second that
    windows cover counts once: where consecutive windows overlap (a hop shorter than the window), the overlap is
    split halfway between their middles, so each window counts for the seconds nearer its own middle than any other's
    (the hop-spaced centres: a window's label says most of its middle); the seconds between windows apart (a hop
    longer than the window) and after the last window count for none. Windows that touch keep their own spans."""
    starts = np.array([window["start"] for window in windows], dtype=np.float64)
    ends = np.array([window["end"] for window in windows], dtype=np.float64)
    middles = (starts + ends) / 2
    # between each window and the next, kept within their overlap (or the gap between them, which neither then
    # reaches): a last window padded out (--pad-last-window) is shorter, its middle nearer its start, and the halfway
    # point fell before it began where the two only touch (10-12 s and 12-13.5 s split at 11.875 s: the seconds up
    # to 12 s counted for neither window, in no label's time and no event)
    after, before = starts[1:], ends[:-1]
    borders = np.clip((middles[:-1] + middles[1:]) / 2, np.minimum(after, before), np.maximum(after, before))
    first = np.maximum(starts, np.concatenate([[-np.inf], borders]))
    last = np.minimum(ends, np.concatenate([borders, [np.inf]]))
    return np.stack([first, np.maximum(first, last)], axis=-1).reshape(len(windows), 2)


def label_seconds(windows: Sequence[dict], present: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """Seconds of recording per label, each second counted once (`counted_spans`): the seconds of the windows where
    the label is `present` `(num_windows, num_labels)` bool (a single-label classifier's top label; a multi-label
    one's labels above 0.5), left out the windows that hold no signal (`"no_signal"`). Every one of `names` (the
    labels, in the model's order) is a key, 0.0 where it is never present; to the nanosecond."""
    spans = counted_spans(windows)
    seconds = spans[:, 1] - spans[:, 0]
    signal = np.array([not window.get("no_signal") for window in windows], dtype=bool)
    totals: dict[str, float] = {}
    for name, column in zip(names, np.asarray(present, dtype=bool).T):  # (two outputs of one name add up)
        totals[name] = totals.get(name, 0.0) + float(seconds[signal & column].sum())
    return {name: round(total, UNSCORED_DECIMALS) for name, total in totals.items()}


def _one_rate(sampling_rate: Any) -> Any:
    """The number inside a rate given as a 0-d or one-element array / tensor or a one-element list
    (`np.load(path)["fs"]`, `[250]`), so that the recording's duration can be computed; anything else unchanged (the
    extractor checks it)."""
    if isinstance(sampling_rate, (np.ndarray, torch.Tensor)):
        return sampling_rate.item() if sampling_rate.ndim <= 2 and np.prod(sampling_rate.shape) == 1 else sampling_rate
    if isinstance(sampling_rate, (list, tuple)) and len(sampling_rate) == 1:
        return _one_rate(sampling_rate[0])
    return sampling_rate


def _is_sequence_of_rates(sampling_rate: Any) -> bool:
    """Whether `sampling_rate` gives one rate per recording (a list, tuple or other sequence, or an array of one
    dimension: numpy, torch, a pandas Series, `df["fs"]`) rather than one for all. Array-likes are told by their
    `ndim`, not their type: this file travels as remote code, which may lack pandas."""
    if isinstance(sampling_rate, (str, bytes)):
        return False
    if isinstance(sampling_rate, Sequence):
        return True
    return getattr(sampling_rate, "ndim", None) == 1 and hasattr(sampling_rate, "__iter__")


def _as_list(rates: Any) -> list:
    """One rate per recording as a list of Python numbers (an array's `tolist`: numpy / pandas scalars as floats)."""
    tolist = getattr(rates, "tolist", None)
    return list(tolist() if callable(tolist) else rates)


def _with_rate(recording: Any, rate: Any, index: int) -> dict:
    """Recording `index` of a list as a dict that carries its own rate (`{"raw": ..., "sampling_rate": rate}`)."""
    if not isinstance(recording, dict):
        return {"raw": recording, "sampling_rate": rate}
    own = recording.get("sampling_rate")
    if own is not None and own != rate:
        raise ValueError(
            f"Recording {index}'s dict says sampling_rate={own} and the call's list says {rate}; give one."
        )
    return {**recording, "sampling_rate": rate}


def _signal_and_rate(recording: Any, sampling_rate: Any) -> tuple[Any, Any]:
    """A recording given as a dict as what it holds and its rate: `{"raw" or "array": samples or a file's path,
    "sampling_rate"}` (a `"path"` beside the samples is ignored, as `datasets`' audio rows carry one), or an undecoded
    `datasets.Audio` row `{"bytes", "path"}` (with a `"sampling_rate"` where a list gave one per recording): the
    file's bytes, or, for a local file (`Audio(decode=False)` over paths), no bytes and its path. The dict's rate wins
    over the call's `sampling_rate`, which it must not contradict; anything else comes back as it is, with
    `sampling_rate`.

    Raises:
        ValueError: a dict with other keys, or whose rate contradicts the call's.
    """
    sampling_rate = _one_rate(sampling_rate)
    if not isinstance(recording, dict):
        return recording, sampling_rate
    audio_row = {"bytes", "path"} & set(recording) and set(recording) <= {"bytes", "path", "sampling_rate"}
    if audio_row and isinstance(recording.get("bytes"), bytes):
        signal = recording["bytes"]
    elif audio_row and recording.get("bytes") is None and isinstance(recording.get("path"), (str, os.PathLike)):
        signal = recording["path"]
    else:
        unknown = set(recording) - {*SIGNAL_KEYS, "sampling_rate", "path"}
        rate_of_row = 'row["sampling_rate"]' if "sampling_rate" in recording else "its rate in Hz"
        given = [key for key in SIGNAL_KEYS if key in recording]
        if unknown or len(given) != 1:
            # a `datasets` row (`dataset[0]`, `list(dataset)`) holds its samples under the extractor's output name,
            # which transformers' audio pipelines do not read either
            row = (
                " It looks like a `datasets` row, whose samples are its 'input_values': pass "
                f'`{{"raw": row["input_values"], "sampling_rate": {rate_of_row}}}`, or a whole set as '
                '`KeyDataset(dataset, "input_values")` with `sampling_rate=dataset["sampling_rate"]`.'
                if "input_values" in recording and not given
                else ""
            )
            raise ValueError(
                f"A recording given as a dict needs one of the keys {SIGNAL_KEYS} (the samples) and "
                f"'sampling_rate'; got the keys {sorted(recording)}.{row}"
            )
        signal = recording[given[0]]
    rate = _one_rate(recording.get("sampling_rate"))
    if rate is not None and sampling_rate is not None and rate != sampling_rate:
        raise ValueError(f"The recording's dict says sampling_rate={rate} and the call says {sampling_rate}; give one.")
    return signal, rate if rate is not None else sampling_rate


def _closest_name_hint(name: str, names: Sequence[str]) -> str:
    """`'topk' (did you mean 'top_k'?)`, or just `'name'` when no name is close (`configuration_citrus.
    closest_field_hint`, spelt out: this file travels as remote code; a test keeps them equal), with the habits of
    `PARAMETER_HABITS` added."""
    if name in PARAMETER_HABITS:
        return f"{name!r} (did you mean {PARAMETER_HABITS[name]}?)"
    close = difflib.get_close_matches(name, names, 1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


class _Numbered:
    """Recording `index` of a list, generator or dataset, so that an error about it names it: transformers hands
    `preprocess` one recording at a time, which the extractor then calls recording 0."""

    __slots__ = ("index", "recording")

    def __init__(self, recording: Any, index: int):
        self.recording = recording
        self.index = index


def _numbered_stream(recordings, rates: list | None):
    """The recordings of a generator or dataset as `_Numbered`, each with its own rate of `rates` (one per
    recording, paired as the recordings come: the stream is never read ahead)."""
    count = 0
    for index, recording in enumerate(recordings):
        if rates is not None:
            if index >= len(rates):
                raise ValueError(
                    f"`sampling_rate` has {len(rates)} values and the input has more recordings; pass one rate per "
                    "recording, or one for all of them."
                )
            recording = _with_rate(recording, rates[index], index)
        count = index + 1
        yield _Numbered(recording, index)
    if rates is not None:
        _check_rate_count(rates, count)


def _check_rate_count(rates: list, count: int, recordings: list | None = None) -> None:
    """Refuse `rates` that are not one per recording of the `count` given (`recordings`, where they are a list)."""
    if len(rates) == count:
        return
    per_channel = all(
        isinstance(recording, (np.ndarray, torch.Tensor)) and recording.ndim == 2 and len(recording) == len(rates)
        for recording in recordings or ()
    )
    if len(rates) > 1 and recordings and per_channel:
        # one rate per channel, as EDF and WFDB headers give them: resampling needs one rate per recording (rates all
        # alike too, as the extractor refuses them, naming the one rate to give)
        raise ValueError(
            f"`sampling_rate` has {len(rates)} values for {count} recording(s) of {len(rates)} channels: the channels "
            f"of a recording must share one rate; {_channel_rates_fix(rates)}."
        )
    raise ValueError(
        f"`sampling_rate` has {len(rates)} values for {count} recordings; pass one rate for all of them or one per "
        "recording."
    )


def _channel_rates_fix(rates: list) -> str:
    """The fix for the channels of one recording given a rate each (`rates`): the one rate they share ("resample
    them" was no fix for channels that share one), else resampling or a recording per rate. The extractor words its
    own refusal alike (this file imports nothing of the package but `backends`)."""
    if len({repr(rate) for rate in rates}) == 1:
        return f"these share {rates[0]!r} Hz: give the recording that one rate, `sampling_rate={rates[0]!r}`"
    return "resample them to one rate first, or pass each rate's channels as a recording of its own, with its rate"


def _rows_may_be_recordings(rows: int) -> str:
    """What to do where one 2-D array of `rows` rows, which a pipeline reads as one recording `(channels, time)`, may
    be a batch of single-channel recordings: a batched `datasets` map over a numpy- or torch-formatted column hands
    over such a `(batch, time)` array (the extractor's `ONE_ARRAY_IS_ONE_RECORDING`, in this file's words: it travels
    as remote code and imports nothing of the package but `backends`)."""
    return (
        f"If its rows are {rows} recordings (a batched `datasets` `map` over a numpy- or torch-formatted column hands "
        "over such a (batch, time) array), pass `list(x)` (or `x[:, None, :]`, (batch, 1, time)) for one result each."
    )


def _refuse_rates_per_row(inputs: Any, sampling_rate: Any) -> None:
    """Refuse one 2-D array or tensor given one rate per row, naming both of its readings. The pipeline reads such an
    array as one recording `(channels, time)`, whose channels must share a rate; it said only that (and to resample
    them, though they shared one) to a batched `datasets` map, which hands over a `(batch, time)` array and its rate
    column."""
    if not (isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim == 2 and len(inputs) > 1):
        return
    if not _is_sequence_of_rates(sampling_rate):
        return
    rates = _as_list(sampling_rate)
    if len(rates) != len(inputs):
        return
    raise ValueError(
        f"The input is one array of shape {tuple(inputs.shape)}, which the pipeline reads as one recording (channels, "
        f"time), and `sampling_rate` gives {len(rates)} rates, one per row. {_rows_may_be_recordings(len(rates))} If "
        f"they are the channels of one recording, they must share one rate; {_channel_rates_fix(rates)}."
    )


def _name_the_recording(error: BaseException, index: int) -> None:
    """Make `error`, raised for one recording of many, name it as the caller counts (`index`), in place."""
    if len(error.args) != 1 or not isinstance(error.args[0], str):
        return
    message, found = _FIRST_RECORDING.subn(lambda match: f"{match.group(1)}ecording {index}", error.args[0], count=1)
    error.args = (message if found else f"Recording {index}: {message}",)


def load_feature_extractor(name: str | os.PathLike, **hub_kwargs: Any):
    """The feature extractor `name` gives to `pipeline(..., feature_extractor=name)`: a folder with a
    preprocessor_config.json or a Hub id (with `citrus_hf` imported, also a bundled name such as `"citrus-small"`),
    loaded with `AutoFeatureExtractor` and `hub_kwargs` (`revision`, `token`, ...).

    Raises:
        ValueError: naming `name` and why it could not be loaded (transformers' `pipeline()` would drop it and ask
            for the extractor it was given).
    """
    from transformers import AutoFeatureExtractor

    try:
        return AutoFeatureExtractor.from_pretrained(os.fspath(name), **hub_kwargs)
    except (OSError, ValueError) as error:
        reason = str(error).strip()
        raise ValueError(
            f"`feature_extractor={os.fspath(name)!r}` could not be loaded: {reason}"
            f"{'' if reason.endswith(('.', '?', '!')) else '.'} Pass a folder with a preprocessor_config.json, a Hub id, "
            "or a feature extractor object."
        ) from error


# What `check_contract` tells a pipeline's user to do about a feature extractor of another input contract.
_PIPELINE_EXTRACTOR_FIX = (
    "pass the checkpoint's own extractor (saved next to its weights), or "
    "`feature_extractor=CiTrusFeatureExtractor.from_config(model.config)`."
)


def check_contract(model, extractor, fix: str = _PIPELINE_EXTRACTOR_FIX) -> None:
    """Refuse a feature extractor that aligns recordings to another input contract than `model`'s: windows at
    another rate, patch length or normalisation would be scored (or trained on) without a word; another window length
    is said. The pipelines check their pair with it, the `Trainer` its model and `processing_class`, and an extractor
    saved into a folder that holds a model its pair there. `fix` ends the refusals: what to do instead."""
    config = model.config
    fields = ["sampling_rate", "patch_length", "normalization", "normalization_mean", "normalization_std"]
    # A head that concatenates the channels takes exactly its count: an extractor that selects or checks a count
    # must give that one. A channel-independent extractor passes every recording's own channels on, and the model
    # checks their count itself (the Trainer saves the pre-training checkpoint's extractor with a new model).
    if getattr(config, "fixes_channel_count", False) and not getattr(extractor, "channel_independent", True):
        fields.append("num_channels")
    differ = [
        f"{name}={getattr(extractor, name, None)!r} (the model's: {getattr(config, name, None)!r})"
        for name in fields
        if getattr(extractor, name, None) != getattr(config, name, None)
    ]
    if differ:
        raise ValueError(
            f"The feature extractor does not align recordings to this model's input contract: {'; '.join(differ)}. "
            f"{fix[:1].upper()}{fix[1:]}"
        )
    names, model_names = getattr(extractor, "channel_names", None), getattr(config, "channel_names", None)
    # the extractor picks the recordings' channels by its names, in its order: other names, or another order, than
    # the model was trained on give it other channels, or the same ones swapped (an extractor without names takes
    # the model's in the pipelines)
    if names and model_names and [_channel_key(name) for name in names] != [_channel_key(name) for name in model_names]:
        raise ValueError(
            f"The feature extractor picks the channels {list(names)} by name and the model was trained on "
            f"{list(model_names)}; {fix}"
        )
    if extractor.context_length != config.context_length:
        logger.warning(
            f"The feature extractor cuts windows of {extractor.context_length} samples and the model was trained "
            f"on {config.context_length}; scores of windows of another length may differ from those it was "
            "checked on."
        )


# The accelerators a pipeline's `device` can name, and how PyTorch says whether this machine has one.
_ACCELERATOR_AVAILABLE = {
    "cuda": lambda: torch.cuda.is_available(),
    "mps": lambda: torch.backends.mps.is_available(),
    "xpu": lambda: hasattr(torch, "xpu") and torch.xpu.is_available(),
}


def check_device_available(device: int | str | torch.device | None) -> None:
    """Refuse a pipeline `device` this machine lacks before the model is moved there: moving it raised PyTorch's own
    "Torch not compiled with CUDA enabled" from deep inside `Module.to`. `device` as transformers takes it: None or a
    negative index (the CPU), an accelerator's index, or a name or `torch.device` ("cuda", "cuda:1", "mps")."""
    if device is None or isinstance(device, bool):
        return
    if isinstance(device, numbers.Integral):
        # transformers maps an index to whichever accelerator the machine has (CUDA, XPU, NPU, HPU, MLU, MPS):
        # PyTorch's accelerator API knows them all (from 2.6), the names above stand in for it before
        accelerator = getattr(torch, "accelerator", None)
        if accelerator is not None:
            has_one = accelerator.is_available()
        else:
            has_one = any(available() for available in _ACCELERATOR_AVAILABLE.values())
        if device < 0 or has_one:
            return
        raise ValueError(
            f"`device={device}` asks for accelerator {device}, and this machine has none that PyTorch can use; "
            "leave `device` out (or pass device='cpu' or -1) to run on the CPU."
        )
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as error:
        if not isinstance(device, str):
            return  # transformers says what is wrong with it
        # PyTorch's own refusal lists its device types, but `device="auto"` means transformers' `device_map="auto"`,
        # and "CPU" / "CUDA" are that list's names in upper case
        fix = (
            "to put the model on whatever accelerator the machine has, pass `device_map='auto'` instead"
            if device.strip().lower() == "auto"
            else "pass one such as 'cpu', 'cuda', 'cuda:1' or 'mps' (in lower case), or an accelerator's index "
            "(-1: the CPU)"
        )
        raise ValueError(f"`device={device!r}` is no device PyTorch knows: {fix}.") from error
    if kind == "meta":
        # transformers moves the model there, and the first window failed in PyTorch ("Tensor.item() cannot be called
        # on meta tensors")
        raise ValueError(
            f"`device={str(device)!r}` holds tensors' shapes without their values, so a pipeline computes nothing "
            "there; leave `device` out (or pass device='cpu') to run on the CPU, or pass an accelerator ('cuda')."
        )
    available = _ACCELERATOR_AVAILABLE.get(kind)
    if available is not None and not available():
        raise ValueError(
            f"`device={str(device)!r}` asks for {kind.upper()}, and this PyTorch has none available "
            f"(torch.{'backends.mps' if kind == 'mps' else kind}.is_available() is False); leave `device` out (or "
            "pass device='cpu') to run on the CPU, or install a PyTorch build for that device."
        )


def check_weights_have_values(model: Any) -> None:
    """Refuse a model object whose weights are on the meta device (`model.to("meta")`, a model built under
    accelerate's `init_empty_weights` and never loaded, or offloaded by `from_pretrained(device_map=...)`): they have
    shapes and no values, and moving them to the pipeline's device failed in PyTorch ("Cannot copy out of meta tensor;
    no data!")."""
    if not isinstance(model, torch.nn.Module):
        return
    # (a dynamically quantized model's state dict also holds the packed weights' dtypes, which are no tensors)
    metas = [name for name, tensor in model.state_dict().items() if isinstance(tensor, torch.Tensor) and tensor.is_meta]
    meta = metas[0] if metas else None
    device_map = getattr(model, "hf_device_map", None) or {}
    # the modules of the map whose weights accelerate keeps on the meta device (those on disk, or on the CPU beside
    # an accelerator), "" for the whole model
    offloaded = sorted(
        module
        for module in device_map
        if any(name == module or name.startswith(f"{module}.") or not module for name in metas)
    )
    if offloaded:
        # loaded with `from_pretrained(device_map=...)`: accelerate keeps offloaded weights on the meta device and
        # brings them in at each forward, which the pipeline's move to its device broke ("Cannot copy out of meta
        # tensor"); "load them first" would send the caller back to the `from_pretrained` they ran
        modules = f" of {', '.join(map(repr, offloaded))}" if all(offloaded) else ""
        places = " and ".join(sorted({str(device_map[module]) for module in offloaded}))
        raise ValueError(
            f"The model's weights{modules} are offloaded to {places} (device_map {device_map}), which a pipeline "
            "cannot run: load the model without `device_map` (it fits on one device), and give the pipeline that "
            "model, with `device=` for an accelerator."
        )
    if meta is not None:
        raise ValueError(
            f"The model's weights are on the meta device ({meta!r} among them): shapes without values, which no "
            "pipeline can compute with. Load them first (`from_pretrained(folder)`, or `to_empty(device='cpu')` then "
            "`load_state_dict(...)`), and give the pipeline that model."
        )


class _RecordingPipeline(ChunkPipeline):
    """Shared body: recording -> aligned windows (`preprocess`, `batch_size` windows per chunk) -> backend
    (`_forward`) -> per-window and whole-recording results (`postprocess`, by the subclass)."""

    # optional for transformers, so that a missing extractor gets this pipeline's error, which says how to make one
    _load_feature_extractor = None
    _load_tokenizer = False
    _load_image_processor = False
    _load_video_processor = False
    _load_processor = False

    # what the subclass computes and which models it accepts
    target_output = "logits"
    accepted_problems: tuple[str, ...] = ()
    # Whether any channel count is this pipeline's to take without a word: embeddings are the encoder's, which encodes
    # every channel on its own; a head was trained on the model's count, which a recording of another one is told of.
    any_channel_count = False

    def __init__(self, *args, **kwargs):
        # transformers' `pipeline()` passes a `pathlib.Path` on as it is (and the package's `pipeline` a name):
        # loaded here, as transformers loads a name.
        if isinstance(kwargs.get("feature_extractor"), (str, os.PathLike)):
            kwargs["feature_extractor"] = load_feature_extractor(kwargs["feature_extractor"])
        check_device_available(kwargs.get("device"))
        check_weights_have_values(kwargs.get("model", args[0] if args else None))
        super().__init__(*args, **kwargs)
        if self.feature_extractor is None or not hasattr(self.feature_extractor, "context_length"):
            name = getattr(self.model, "name_or_path", None)
            hint = ""
            if self.feature_extractor is None and isinstance(name, str) and name and "/" not in name:
                # a bare name that is no folder here: a bundled checkpoint ("citrus-small") reached transformers'
                # own factory, bound before `import citrus_hf` replaced it, which looks the extractor up on the Hub
                hint = (
                    f" If {name!r} is a checkpoint shipped with citrus_hf, `import citrus_hf` before "
                    "`from transformers import pipeline` (which otherwise keeps transformers' own factory), or pass "
                    f"`model=citrus_hf.bundled_checkpoint({name!r})`."
                )
            raise ValueError(
                f"{type(self).__name__} needs the checkpoint's CiTrusFeatureExtractor (preprocessor_config.json), "
                f"which {'was not found' if self.feature_extractor is None else 'is not one'}. Save it next to the "
                "weights with `CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)`, or pass "
                f"`feature_extractor=` (a name, a folder or a CiTrusFeatureExtractor).{hint}"
            )
        self._check_model()
        check_contract(self.model, self.feature_extractor)
        self._give_the_extractor_the_models_channels()
        # pickled and deep-copied empty, dropped in a forked child: see `_BackendCache`
        self._backends = _BackendCache()
        self._progress: _RecordingProgress | None = None
        self._packing = False  # `_packed_results` is running

    # --------------------------------------------------------------------------------------------------- the model

    def _check_model(self) -> None:
        problem = problem_of(self.model)
        if self.accepted_problems and problem not in self.accepted_problems:
            suggestion = PROBLEM_TASKS[problem]
            article = "an" if problem[0] in "aeiou" else "a"
            advice = f'use pipeline("{suggestion}", ...) or `pipeline(model=...)` without a task.'
            if problem == "encoder":
                # an encoder (a pre-training checkpoint such as citrus-small) has no trained head to classify with
                advice = (
                    "fine-tune it first (`citrus finetune --model CHECKPOINT --dataset ...`, or "
                    "`AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=...)` and the "
                    f'Trainer), or embed recordings with pipeline("{suggestion}", ...).'
                )
            raise ValueError(
                f"{type(self).__name__} runs {' or '.join(self.accepted_problems)} models, and "
                f"{type(self.model).__name__} (problem_type={self.model.config.problem_type!r}) is {article} {problem} "
                f"model; {advice}"
            )
        saved = list(self.model.config.architectures or [])
        loaded = type(self.model).__name__
        heads = ("ForSequenceClassification", "ForRegression")
        if loaded.endswith(heads) and saved and saved[0].endswith(heads) and saved[0] != loaded:
            raise ValueError(
                f"The checkpoint was saved as {saved[0]} and loaded as {loaded}: its trained head would be replaced by "
                f"a new, untrained one. Load it with its own class, or call `pipeline(model=...)` without a task."
            )

    def _give_the_extractor_the_models_channels(self) -> None:
        """Give a channel-independent extractor the model's channel count, and an extractor that names no channels the
        model's `channel_names`. The Trainer saves the extractor it was given, often the pre-training checkpoint's
        (one unnamed channel), next to a model fine-tuned on six named ones: serving that folder said on every call
        that the recordings' 6 channels differ from "the checkpoint's" 1, refused `input_channel_names`, and read a
        file that lists the channels in another order by position. A copy, so that the caller's extractor stays as
        it is (`check_contract` has refused an extractor that names other channels)."""
        extractor, config = self.feature_extractor, self.model.config
        count, names = getattr(config, "num_channels", None), getattr(config, "channel_names", None)
        recount = getattr(extractor, "channel_independent", False) and count and extractor.num_channels != count
        rename = bool(names) and not getattr(extractor, "channel_names", None)
        if not recount and not rename:
            return
        self.feature_extractor = copy.copy(extractor)
        if recount:
            self.feature_extractor.num_channels = count
        if rename and len(names) == self.feature_extractor.num_channels:
            self.feature_extractor.channel_names = list(names)

    def _backend(self, backend: str, target: InferenceTarget, cache_dir):
        # A path that runs a copy (bf16) or an export (ONNX Runtime) of the model is built again once the model has
        # changed (further training, `load_state_dict`, an adapter): a transformers pipeline runs the live model.
        return cached_backend(self.model, backend, target, cache_dir, cache=self._backends)

    # ------------------------------------------------------------------------------------------------------ call

    def __call__(self, inputs, *args, **kwargs):
        """Run the pipeline on one recording or a list of recordings.

        Args:
            inputs: one recording, `(time,)` or `(channels, time)` as a numpy array or torch tensor (or a flat list
                of numbers), or a dict `{"raw": recording, "sampling_rate": rate}` (or `"array"`, as `datasets`'
                audio rows; a `"path"` is ignored), whose recording may also be a nested list `(channels, time)`; a
                list of recordings (a list of lists is one, as in transformers' audio pipelines), a column of them
                (a pandas Series or 1-D object array of arrays: `table["signal"]`, `datasets`' numpy or pandas
                format) or a `(batch, channels, time)` array gives a list of results, and a generator or a torch /
                `datasets` Dataset (`KeyDataset`) an iterator of them. An error about one recording of many names its index.
                A file path (EDF / BDF, WFDB, WAV, .npy, .csv; alone, in a list or as a dict's `"raw"`) is read as
                `citrus predict` reads it, at the file's own rate (or `sampling_rate` for .npy and .csv), and so are a
                WAV file's bytes (or an undecoded `datasets.Audio` row, `{"bytes", "path"}`), where citrus_hf is
                installed. A checkpoint fine-tuned on named channels picks a file's channels by name where the file
                names them, as `citrus predict` does; a file that names none (.npy, WAV, a CSV without a header) is
                read in its order, as an array of its samples is. A file that declares its channels' units (EDF,
                WFDB) is converted to the checkpoint's where it records its training data's (`channel_units`: mV
                for µV, with a note naming the file), and refused where a unit cannot be converted.
            sampling_rate (`float` or `list[float]`): the recordings' rate in Hz, one for all or, for a list,
                generator or dataset of recordings, one per recording (a list, tuple, 1-D array or pandas Series;
                None for a file that records its own rate; unless each dict gives its own). Required, but for a file
                that records its rate (EDF / BDF, WFDB, WAV), where it must be that rate.
            channels (`list[str | int]`, *optional*): the channels of a recording file to read, by name or position
                from 0, in the order wanted (as `citrus predict --channels`): needed for a file whose signals run at
                several rates (Sleep-EDF's EEG at 100 Hz beside a 1 Hz temperature). For a file only; an array's
                channels are its rows.
            batch_size (`int`, defaults to 64): windows per forward pass; for recordings of many channels, at most
                1024 / channels windows (the encoder runs every channel of a window as its own sequence). The
                recordings of a list or torch Dataset (`KeyDataset`) that fill less than a pass share passes with the
                next ones of the same window shape (6-10x faster for a list of 0.8 s clips,
                `benchmarks/pipeline_clips.py`; the same results, in the same order); longer ones, and those of a generator (which may be live: each result comes as soon as
                its recording has run), run in passes of their own. With `num_workers`, transformers' own loop aligns
                the recordings in a worker process (one: transformers runs a chunk pipeline such as this one with
                `num_workers=1`, and warns for more) and runs each in its own passes; an error about a recording
                comes as the worker raised it.
            alignment (`str`, *optional*): `"window"` cuts the recording into the model's windows every
                `hop_length` model-rate samples (default: the window length); `"resample"` keeps one window from the
                start; `"interpolate"` stretches the whole recording onto one window. Default: `"interpolate"` for a
                checkpoint whose feature extractor stretches recordings (it was trained so), else `"window"`.
            hop_seconds (`float`, *optional*): the time between window starts in seconds (as `citrus predict
                --hop-seconds`), instead of `hop_length`. A hop given in the call, in either spelling, replaces one
                given when the pipeline was built.
            hop_length (`int`, *optional*), pad_last_window (`bool`, *optional*), input_channel_names,
                input_channel_units, nan_policy: as in `CiTrusFeatureExtractor`. By default a recording shorter than a
                window is one window of its own duration (rounded up to whole patches; `padding="max_length"` pads it to
                the full window instead, with the same results), and the part of a longer one that no full window covers
                is left out (`pad_last_window=True` keeps it, padded; `False`, given or not, leaves a short recording
                whole). With a hop longer than the window the seconds between windows are left out, and
                `pad_last_window=True` still scores the end (see `CiTrusFeatureExtractor`).
            backend (`str`, defaults to `"auto"`): `"auto"`, `"torch"`, `"bf16"` or `"onnxruntime"`.
            onnx_cache_dir: where the `"onnxruntime"` backend caches exported models.
            progress (`bool`, *optional*): a progress bar over the seconds of the recording run through the model.
                By default it is shown for a recording of at least 4 forward passes once it has run for 2 s;
                `True` shows it for every recording at once (but a recording of one pass in a list or torch Dataset,
                which may run later with others), `False` never. As transformers' own bars, it is off
                after `transformers.utils.logging.disable_progress_bar()` or with `HF_HUB_DISABLE_PROGRESS_BARS=1`.
            The subclass's own parameters (`top_k`, `function_to_apply`; `features`, `pooling`, `channel_pooling`,
            `return_tensors`).

        Returns:
            A dict per recording (see the subclass), always with `"windows"` (each with `"start"` and `"end"` in
            seconds of the recording, and `"no_signal"`: None, or `"flat"` / `"interpolated"` for a window without
            signal, which the recording's value leaves out), `"no_signal_windows"` (how many), `"unscored_seconds"`
            (the seconds at the recording's end that no window covers: the rest shorter than a window, unless
            `pad_last_window=True`; all but the first window with `alignment="resample"`) and `"backend"` (the path
            that ran: `"auto"` times the paths on the first batch and runs the fastest for every output, see
            `backends.py`; small batches race apart from large ones, so a recording whose windows ran on two
            paths names both, e.g. `"bf16+torch"`). Each recording of a list or generator is its own: a stream's
            consecutive chunks are scored apart (their windows' times restart at 0, no window spans two chunks, and
            each chunk's `unscored_seconds` are left out).
        """
        self._take_call_options(args, kwargs)
        # a column of recordings (a Series or object array of arrays) is a list of them
        _refuse_datasets_set(inputs)
        inputs = _column_as_list(_unwrap_datasets_column(inputs))
        if "sampling_rate" in kwargs:
            _refuse_streamed_rates(kwargs["sampling_rate"])
            kwargs["sampling_rate"] = _unwrap_datasets_column(kwargs["sampling_rate"])
        self._refuse_foreign_input(inputs)
        _refuse_rates_per_row(inputs, kwargs.get("sampling_rate"))
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(inputs, list):
            if not inputs:
                raise ValueError("The input is an empty list: pass a recording or a list of recordings.")
            if all(_is_sample(sample) or _is_missing_sample(sample) for sample in inputs) and any(
                map(_is_sample, inputs)
            ):
                # a flat list of samples is one recording; a None (a JSON null) or pd.NA in it is a missing sample
                inputs = self._samples_of(inputs, kwargs.get("nan_policy"))
        elif isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim == 3:
            if len(inputs) == 0:
                raise ValueError(
                    f"The input is a batch of 0 recordings (shape {tuple(inputs.shape)}, as (batch, channels, time)); "
                    "pass at least one recording."
                )
            inputs = list(inputs)  # (batch, channels, time): one result per recording
        streamed = isinstance(inputs, (types.GeneratorType, Dataset))
        stored = isinstance(inputs, Dataset)  # a torch Dataset (`KeyDataset`): every recording is there already
        if not streamed and isinstance(inputs, Iterator) and not isinstance(inputs, (np.ndarray, torch.Tensor)):
            raise TypeError(
                f"The input is a {type(inputs).__name__}, which transformers' pipelines do not run one recording at "
                "a time (they take a list, a generator or a torch / `datasets` Dataset such as `KeyDataset`); pass "
                "`list(...)` of it, or a generator `(recording for recording in ...)`."
            )
        # transformers runs the recordings of a list one by one with the same parameters: one rate per recording
        # travels with its recording instead.
        rates = None
        if (isinstance(inputs, list) or streamed) and _is_sequence_of_rates(kwargs.get("sampling_rate")):
            rates = _as_list(kwargs.pop("sampling_rate"))
            if hasattr(inputs, "__len__"):
                _check_rate_count(rates, len(inputs), inputs if isinstance(inputs, list) else None)
        if isinstance(inputs, list):
            if rates is not None:
                inputs = [
                    _with_rate(recording, rate, index) for index, (recording, rate) in enumerate(zip(inputs, rates))
                ]
            inputs = [_Numbered(recording, index) for index, recording in enumerate(inputs)]
        elif streamed:
            # A generator either way: transformers streams both, one result at a time.
            inputs = _numbered_stream(inputs, rates)
        if (isinstance(inputs, list) or stored) and kwargs.get("num_workers") is None:
            # Recordings shorter than a pass share passes (`_packed_results`): one pass per clip of 0.8 s made a list
            # of them 6-10x slower than these packed passes (`benchmarks/pipeline_clips.py`). Not a generator's:
            # it may be a live stream, whose results would wait for a pass's worth of recordings to arrive.
            kwargs.pop("num_workers", None)
            results = self._packed_results(inputs, *self._call_parameters(kwargs))
            return list(results) if isinstance(inputs, list) else results
        # transformers batches *inputs*; here one recording already yields `batch_size` windows per forward pass, so
        # recordings go through one at a time (with `num_workers`, aligned in a worker process by transformers).
        return super().__call__(inputs, batch_size=1, **kwargs)

    def _take_call_options(self, args: tuple, kwargs: dict) -> None:
        """Refuse arguments after the recording(s) and turn the call's (or the construction's) `batch_size` into
        windows per pass (`window_batch_size`) in `kwargs`, in place."""
        if args:
            self._refuse_positional(args)
        batch_size = kwargs.pop("batch_size", None)
        if batch_size is None:
            batch_size = self._batch_size
        if batch_size is not None:
            check_positive_integer("batch_size", batch_size)
            kwargs["window_batch_size"] = batch_size

    @staticmethod
    def _refuse_positional(args: tuple) -> None:
        """Refuse arguments after the recording(s), which every parameter is given by name: a rate by position,
        `pipe(signal, 100)`, the (samples, rate) pair of librosa and torchaudio, was refused by Python as
        "`_RecordingPipeline.__call__()` takes 2 positional arguments but 3 were given" (and transformers' own
        `__call__` logs "Ignoring args" and runs without them)."""
        first = args[0]
        rate = (
            _is_number(first)
            or (isinstance(first, (np.ndarray, torch.Tensor)) and first.ndim == 0)
            or (_is_sequence_of_rates(first) and all(map(_is_number, _as_list(first))))
        )
        if len(args) == 1 and rate:
            shown = first.item() if isinstance(first, (np.ndarray, torch.Tensor)) else first
            raise TypeError(
                f"The pipeline takes the recording(s) by position and everything else by name: pass the rate as "
                f"`pipe(recording, sampling_rate={shown!r})`."
            )
        raise TypeError(
            f"The pipeline takes one argument by position, the recording(s), and got {len(args)} more "
            f"({', '.join(type(arg).__name__ for arg in args)}): pass the others by name, e.g. "
            "`pipe(recording, sampling_rate=250)`; several recordings go in one list."
        )

    def _refuse_foreign_input(self, inputs: Any) -> None:
        """Refuse, with the fix, an input that holds a recording but is none: MNE's `(data, times)` pair and the
        objects of MNE, wfdb, pyarrow, polars and xarray, as the checkpoint's feature extractor tells them apart
        (`refuse_foreign_input`; this file travels as remote code and cannot import it, and an extractor older than
        that check lets them on to the refusal of what is no array)."""
        refuse = getattr(self.feature_extractor, "refuse_foreign_input", None)
        if callable(refuse):
            refuse(inputs)

    def _samples_of(self, samples: list, nan_policy: str | None) -> np.ndarray:
        """A flat list of samples as one recording `(time,)`. A None in it (a JSON null, as lists read from JSON or
        APIs hold a missing value) or a pd.NA (`series.tolist()` of a nullable pandas column) is a NaN, which
        `nan_policy="interpolate"` (the call's, the construction's or the extractor's) fills from its neighbours;
        under any other policy it is refused here, naming where the gaps are: taken for a list of recordings, a list
        of 530 samples was refused as 530 recordings of one number each.

        Raises:
            ValueError: a None or pd.NA in the list and no `nan_policy="interpolate"`, naming its position and the fix.
        """
        missing = [position for position, sample in enumerate(samples) if _is_missing_sample(sample)]
        if nan_policy is None:
            nan_policy = self._preprocess_params.get("nan_policy", self.feature_extractor.nan_policy)
        if missing and nan_policy != "interpolate":
            shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            raise ValueError(
                f"The recording, a list of {len(samples)} samples, holds None or pd.NA (a missing value) at "
                f"{len(missing)} position(s): {shown}. Pass nan_policy='interpolate' to fill missing samples from their "
                "neighbours, or replace each with a number."
            )
        return np.asarray([np.nan if _is_missing_sample(sample) else float(sample) for sample in samples])

    def _call_parameters(self, kwargs: dict) -> tuple[dict, dict, dict]:
        """The call's preprocess, forward and postprocess parameters over the construction's, as transformers'
        `Pipeline.__call__` fuses them."""
        preprocess, forward, postprocess = self._sanitize_parameters(**kwargs)
        self.call_count += 1
        return (
            {**self._preprocess_params, **preprocess},
            {**self._forward_params, **forward},
            {**self._postprocess_params, **postprocess},
        )

    def _packed_results(self, recordings, preprocess_params: dict, forward_params: dict, postprocess_params: dict):
        """The result of each of `recordings` (`_Numbered`), in their order. A recording whose windows fill less than
        one forward pass waits in a pack with the next ones of the same window shape (channels, samples, patch mask),
        and the pack runs as one pass once it is full, once it holds the oldest unfinished recording and the packs
        hold `PACKED_RECORDINGS_AHEAD` recordings, or at the end; every other recording runs in its own passes, as
        transformers would run it. A window's output does not depend on the windows beside it in a pass (full and
        padded windows run apart, `run_full_and_padded_apart`), so packing changes no result."""
        self._packing = True
        try:
            yield from self._packed_passes(recordings, preprocess_params, forward_params, postprocess_params)
        finally:
            self._packing = False

    def _packed_passes(self, recordings, preprocess_params: dict, forward_params: dict, postprocess_params: dict):
        """`_packed_results`' work."""
        window_batch_size = preprocess_params.get("window_batch_size", DEFAULT_WINDOW_BATCH_SIZE)
        packs: dict[tuple, list[tuple[int, dict]]] = {}  # window shape -> [(position, chunk)], oldest first
        packed_windows: dict[tuple, int] = {}  # window shape -> the windows its pack holds (kept, not recounted)
        done: dict[int, Any] = {}
        next_position = 0  # the next result to hand out

        def run_pack(key: tuple) -> None:
            members = packs.pop(key)
            packed_windows.pop(key)
            chunks = [chunk for _, chunk in members]
            masks = [chunk["patch_mask"] for chunk in chunks]
            packed = {
                "input_values": torch.cat([chunk["input_values"] for chunk in chunks]),
                "patch_mask": None if masks[0] is None else torch.cat(masks),
                "window_start_seconds": np.concatenate([chunk["window_start_seconds"] for chunk in chunks]),
                "window_end_seconds": np.concatenate([chunk["window_end_seconds"] for chunk in chunks]),
                "is_last": True,
            }
            output = self.forward(packed, **forward_params)
            start = 0
            for position, chunk in members:
                windows = slice(start, start + len(chunk["input_values"]))
                start = windows.stop
                own = {
                    "output": output["output"][windows],
                    "window_start_seconds": chunk["window_start_seconds"],
                    "window_end_seconds": chunk["window_end_seconds"],
                    "recording_seconds": chunk["recording_seconds"],
                    "backend": output["backend"],
                    "no_signal": chunk.get("no_signal"),
                }
                done[position] = self.postprocess([own], **postprocess_params)

        def finished():
            nonlocal next_position
            while next_position in done:
                yield done.pop(next_position)
                next_position += 1

        for position, recording in enumerate(recordings):
            try:
                chunks = self.preprocess(recording, **preprocess_params)
                first = next(chunks)
            except BaseException:
                # the recordings before this one get their results first, as transformers would have given them
                for key in list(packs):
                    run_pack(key)
                yield from finished()
                raise
            windows, channels = first["input_values"].shape[:2]
            capacity = _windows_per_pass(window_batch_size, channels)
            if first["is_last"] and windows < capacity:
                mask = first["patch_mask"]
                key = (tuple(first["input_values"].shape[1:]), None if mask is None else mask.numpy().tobytes())
                if packed_windows.get(key, 0) + windows > capacity:
                    run_pack(key)
                packs.setdefault(key, []).append((position, first))
                packed_windows[key] = packed_windows.get(key, 0) + windows
                if packed_windows[key] == capacity:
                    run_pack(key)
            else:
                outputs = [self.forward(first, **forward_params)]
                outputs += [self.forward(chunk, **forward_params) for chunk in chunks]
                done[position] = self.postprocess(outputs, **postprocess_params)
            # Results go out in order: the pack holding the oldest unfinished recording runs once the packs hold
            # many recordings, so that a stream of clips of many shapes neither waits nor piles up in memory.
            if next_position not in done and sum(map(len, packs.values())) >= PACKED_RECORDINGS_AHEAD:
                run_pack(next(key for key, members in packs.items() if members[0][0] == next_position))
            yield from finished()
        for key in list(packs):
            run_pack(key)
        yield from finished()

    def get_iterator(self, *args, **kwargs):
        """transformers' iterator over the recordings, whose DataLoader draws from a `torch.Generator` of its own.

        Without one, starting the DataLoader draws its workers' base seed from torch's global RNG: every call moved
        the caller's seeded stream on, so that `torch.manual_seed(0); pipe(x); train()` trained otherwise than
        `torch.manual_seed(0); train()`. Nothing in inference is random (the recordings are read in order), so a
        fixed generator leaves the global state as it was and gives any worker the same seed on every call."""
        iterator = super().get_iterator(*args, **kwargs)
        # transformers chains postprocess <- forward <- DataLoader (`PipelineIterator.loader`); the DataLoader is
        # built inside `get_iterator` and iterated (so its seed drawn) only once the caller reads the results.
        holder, loader = None, iterator
        while not isinstance(loader, DataLoader) and hasattr(loader, "loader"):
            holder, loader = loader, loader.loader
        if isinstance(loader, DataLoader) and loader.generator is None:
            loader.generator = torch.Generator()
        if isinstance(loader, DataLoader) and loader.num_workers > 0 and holder is not None:
            holder.loader = _WorkerErrorsAsRaised(loader)
        return iterator

    def _sanitize_parameters(
        self,
        sampling_rate=None,
        alignment=None,
        hop_length=None,
        hop_seconds=None,
        pad_last_window=None,
        padding=None,
        input_channel_names=None,
        input_channel_units=None,
        channels=None,
        nan_policy=None,
        window_batch_size=None,
        backend=None,
        onnx_cache_dir=None,
        progress=None,
        **other,
    ):
        # A rate given at construction (`pipeline(model=..., sampling_rate=250)`) is the default of every call: a
        # recording's dict that carries its own rate wins over it, as one given with the call would not
        constructing = not hasattr(self, "_preprocess_params")
        rate_key = "default_sampling_rate" if constructing and _is_number(_one_rate(sampling_rate)) else "sampling_rate"
        preprocess = {
            name: value
            for name, value in (
                (rate_key, sampling_rate),
                ("alignment", alignment),
                ("hop_length", hop_length),
                ("hop_seconds", hop_seconds),
                ("pad_last_window", pad_last_window),
                ("padding", padding),
                # a generator of names is read once here: each recording of a list is aligned with them
                (
                    "input_channel_names",
                    list(input_channel_names) if isinstance(input_channel_names, Iterator) else input_channel_names,
                ),
                (
                    "input_channel_units",
                    list(input_channel_units) if isinstance(input_channel_units, Iterator) else input_channel_units,
                ),
                ("channels", channels),
                ("nan_policy", nan_policy),
                ("window_batch_size", window_batch_size),
                ("progress", progress),
            )
            if value is not None
        }
        if hop_length is not None and hop_seconds is not None:
            raise ValueError(
                f"hop_length={hop_length} (model samples) and hop_seconds={hop_seconds} both give the hop; give one."
            )
        # One hop, in either spelling: the other one's value, given at construction, must not survive the merge of
        # the construction's parameters with the call's (`{**construction, **call}`, in transformers and
        # `_call_parameters`) to meet this one as a second hop; None is no hop in `_aligned_windows`.
        if hop_length is not None:
            preprocess["hop_seconds"] = None
        elif hop_seconds is not None:
            preprocess["hop_length"] = None
        if alignment is not None and alignment not in ALIGNMENTS:
            raise ValueError(f"`alignment={alignment!r}` is not supported; choose one of {', '.join(ALIGNMENTS)}.")
        # Checked here even when the alignment will not use them, so that a misspelt option never passes silently.
        if padding is not None and padding not in PADDINGS:
            raise ValueError(f"`padding={padding!r}` is not supported; choose one of {', '.join(PADDINGS)}.")
        forward = {} if onnx_cache_dir is None else {"onnx_cache_dir": onnx_cache_dir}
        return self._sanitized_with_the_task(preprocess, forward, BACKENDS, pad_last_window, progress, backend, other)

    def _sanitized_with_the_task(
        self,
        preprocess: dict,
        forward: dict,
        backends: Sequence[str],
        pad_last_window: Any,
        progress: Any,
        backend: str | None,
        task_parameters: dict,
    ) -> tuple[dict, dict, dict]:
        """The end of `_sanitize_parameters` that the single-modality and the fusion pipelines share: the switches
        `pad_last_window` and `progress` checked, `backend` checked against the `backends` the pipeline runs and
        added to `forward`, and the subclass's `task_parameters` read (`_sanitize_task_parameters`); returns
        `(preprocess, forward, postprocess)` parameters as transformers takes them."""
        for name, value in (("pad_last_window", pad_last_window), ("progress", progress)):
            if value is not None and not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"`{name}` must be True or False, got {value!r} ({type(value).__name__}).")
        if backend is not None:
            if backend not in backends:
                raise ValueError(f"`backend={backend!r}` is not supported; choose one of {', '.join(backends)}.")
            forward["backend"] = backend
        target, postprocess = self._sanitize_task_parameters(**task_parameters)
        forward.update(target)
        return preprocess, forward, postprocess

    def _sanitize_task_parameters(self, **parameters) -> tuple[dict, dict]:
        """The subclass's parameters: `(target parameters for _forward, postprocess parameters)`."""
        if parameters:
            accepted = self._accepted_parameters()
            hints = ", ".join(_closest_name_hint(name, accepted) for name in sorted(parameters))
            raise TypeError(
                f"{type(self).__name__} got unexpected parameter(s) {hints}; it takes {', '.join(accepted)}."
            )
        return {}, {}

    def _accepted_parameters(self) -> list[str]:
        """The names a call (or the pipeline's construction) takes: transformers' `batch_size` and `num_workers`,
        this class's and the subclass's own."""
        names = {"batch_size", "num_workers"}
        for method in (self._sanitize_parameters, self._sanitize_task_parameters):
            names.update(
                name
                for name, parameter in inspect.signature(method).parameters.items()
                if parameter.kind is parameter.POSITIONAL_OR_KEYWORD and name != "window_batch_size"
            )
        return sorted(names)

    # ------------------------------------------------------------------------------------------------ preprocess

    @staticmethod
    def _recording_and_rate(
        inputs: Any, sampling_rate: float | None, default_sampling_rate: float | None = None
    ) -> tuple[Any, float]:
        # a set inside a list or a dict's "raw" (named before the rate, which its rows may carry in a column)
        _refuse_datasets_set(inputs)
        sampling_rate = _one_rate(sampling_rate)  # (a dict's samples and rate are out of it: `_signal_and_rate`)
        if isinstance(inputs, bytes):  # before the rate: bytes would not do with one either
            raise TypeError(
                f"The recording is {len(inputs)} bytes and no WAV file's (those are read where citrus_hf is "
                "installed): pass its samples (a numpy array or torch tensor, (time,) or (channels, time)) or the path "
                "of its file (EDF / BDF, WFDB, WAV, .npy, .csv)."
            )
        if isinstance(inputs, (str, os.PathLike)):  # a path read no file: this code runs without citrus_hf
            raise TypeError(
                f"The recording is the path {os.fspath(inputs)[:200]!r}: this pipeline reads files only where "
                "citrus_hf is installed (it runs here as a checkpoint's remote code). Install citrus-hf, or load the "
                "samples first and pass them, e.g. `pipe(np.load(path), sampling_rate=rate)` for a .npy file; "
                "`citrus predict MODEL FILE...` reads EDF, WFDB, WAV, .npy and .csv files from the command line."
            )
        if sampling_rate is None:
            sampling_rate = _one_rate(default_sampling_rate)
        if sampling_rate is None:
            raise ValueError(
                "`sampling_rate` is required: the recording is resampled to the checkpoint's rate, so the pipeline "
                'must know its own rate (Hz): `pipe(recording, sampling_rate=250)` or `pipe({"raw": recording, '
                '"sampling_rate": 250})`.'
            )
        if isinstance(inputs, (list, tuple)):
            inputs = _gaps_as_nan(inputs)  # (a list's None or pd.NA: numpy would make a None NaN, but not a pd.NA)
            try:
                inputs = np.asarray(inputs, dtype=np.float64)
            except (ValueError, TypeError) as error:
                raise TypeError(
                    f"A recording given as a list must be rectangular lists of numbers ((time,) or (channels, time)): "
                    f"{error}."
                ) from error
        if type(inputs).__name__ in ("Series", "DataFrame") and hasattr(inputs, "to_numpy"):  # pandas
            if inputs.ndim == 2:
                raise TypeError(
                    "A recording given as a pandas DataFrame is usually (time, channels); pass "
                    "`frame.to_numpy().T` (channels, time), after selecting the signal's columns."
                )
            inputs = inputs.to_numpy()
        if isinstance(inputs, np.ndarray) and inputs.dtype == object and inputs.size:
            # a (channels, time) row of a pandas-formatted `datasets` column comes as an object array of its channels
            with contextlib.suppress(ValueError, TypeError):  # (arrays of different lengths: refused next)
                inputs = np.asarray(inputs.tolist())
        if isinstance(inputs, np.ndarray) and inputs.dtype == object and inputs.size:
            # numbers with gaps (pd.NA: `frame.to_numpy()` of nullable columns): missing samples, as NaN
            with contextlib.suppress(ValueError, TypeError):
                filled = np.asarray(_gaps_as_nan(inputs.tolist()))
                inputs = filled if filled.dtype.kind == "f" else inputs
        if (
            isinstance(inputs, np.ndarray)
            and inputs.dtype == object
            and any(isinstance(item, (np.ndarray, torch.Tensor, list, tuple)) for item in inputs.flat)
        ):
            # a column of recordings where one belongs (a dict's "raw", an item of a list or stream): its N
            # recordings were scored as one of N samples
            raise TypeError(
                f"A recording must be (time,) or (channels, time) numbers; this one is an object array of {inputs.size} "
                "arrays of different lengths, as a column of recordings is: pass them as a list, "
                "`pipe(list(column), sampling_rate=...)`, for one result per recording (the channels of one recording "
                "must be of one length)."
            )
        if not isinstance(inputs, (np.ndarray, torch.Tensor)):
            # a streamed set's column as one recording: `KeyDataset(streamed, "input_values")` gives one per item
            streamed = (
                ": a streamed set's column (`streaming=True`) goes to the pipeline itself, `pipe(dataset['input_values'], "
                "sampling_rate=250)` (`KeyDataset` reads a set by row index, which a stream has not)"
                if _is_datasets_object(inputs, "IterableColumn")
                else ""
            )
            raise TypeError(
                f"A recording must be a numpy array, a torch tensor, a list of numbers or a dict with 'raw' and "
                f"'sampling_rate', got {type(inputs).__name__}{streamed}."
            )
        if inputs.ndim not in (1, 2):
            raise ValueError(
                f"A recording must be (time,) or (channels, time), got shape {tuple(inputs.shape)}; pass several "
                "recordings as a list."
            )
        return inputs, sampling_rate

    def preprocess(self, inputs, **parameters):
        """Align one recording into windows and yield them `window_batch_size` at a time (`_aligned_windows`). A
        recording of a list, generator or dataset comes numbered, and an error about it names its number."""
        if not isinstance(inputs, _Numbered):
            try:
                yield from self._aligned_windows(inputs, **parameters)
            except ValueError as error:
                self._say_rows_may_be_recordings(error, inputs)
                raise
            return
        try:
            yield from self._aligned_windows(inputs.recording, **parameters)
        except (ValueError, TypeError) as error:
            _name_the_recording(error, inputs.index)
            raise

    def _say_rows_may_be_recordings(self, error: ValueError, inputs: Any) -> None:
        """Add to `error` about the channels of `inputs`, one 2-D array or tensor given alone whose rows are not the
        checkpoint's channels, that they may be a batch of recordings (`_rows_may_be_recordings`), in place. The
        extractor says so of a 2-D array it is given, but the pipeline hands it the recording in a list (one
        recording by definition), so the error named only channels to select."""
        if not (isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim == 2 and len(inputs) > 1):
            return
        if len(inputs) == self.feature_extractor.num_channels or len(error.args) != 1:
            return
        message = error.args[0]
        if isinstance(message, str) and "channels" in message and "recordings (a batched" not in message:
            error.args = (f"{message} {_rows_may_be_recordings(len(inputs))}",)

    def _aligned_windows(
        self,
        inputs,
        sampling_rate: float | None = None,
        alignment: str | None = None,
        hop_length: int | None = None,
        pad_last_window: bool | None = None,
        padding: str | None = None,
        input_channel_names: Sequence[str] | None = None,
        input_channel_units: Sequence[str] | None = None,
        nan_policy: str | None = None,
        window_batch_size: int = DEFAULT_WINDOW_BATCH_SIZE,
        progress: bool | None = None,
        default_sampling_rate: float | None = None,
        hop_seconds: float | None = None,
        channels: Sequence[str | int] | None = None,
    ):
        """Align one recording into windows and yield them `window_batch_size` at a time, each chunk with the
        windows' start and end times in seconds of the recording (and start its progress bar, see `progress`)."""
        extractor = self.feature_extractor
        if hop_seconds is not None:
            hop_length = hop_length_from_seconds(hop_seconds, extractor.sampling_rate)
        # before the file is read: a list's path travels in a dict with its own rate (`_with_rate`)
        inputs, sampling_rate = _signal_and_rate(inputs, sampling_rate)
        self._refuse_foreign_input(inputs)  # (a recording of a list or a dict's "raw")
        name = os.fspath(inputs) if isinstance(inputs, (str, os.PathLike)) else RECORDING_NAME.get()
        readable = isinstance(inputs, (str, os.PathLike)) or (isinstance(inputs, bytes) and inputs[:4] in _WAV_MAGIC)
        read_file = _recording_file_reader() if readable else None
        if read_file is not None:
            # a file or a WAV file's bytes, as transformers' audio pipelines take them: read as `citrus predict` reads
            # a file
            inputs, sampling_rate, names = read_file(
                inputs,
                sampling_rate,
                default_sampling_rate,
                channels,
                extractor,
                input_channel_names is None,
                input_channel_units is None,
            )
            if input_channel_names is None:  # the checkpoint picks the file's channels by their names
                input_channel_names = names
        elif channels is not None and not readable:  # (a path without the reader: the remote-code error below)
            raise ValueError(
                f"`channels={channels!r}` picks channels of a recording file (EDF, WFDB, a CSV with a header: by name "
                "or position), and this recording is its samples: select its channels yourself (`signal[[0, 2]]`), "
                "or name them with `input_channel_names` for a checkpoint that picks its channels by name."
            )
        recording, rate = self._recording_and_rate(inputs, sampling_rate, default_sampling_rate)
        marks = _SignalMarks(recording, rate)  # which windows hold no signal, from the recording's own samples
        recording, first_second = self._without_nan_padding(recording, rate, nan_policy)
        if alignment is None:
            # A checkpoint trained on recordings stretched onto its window (a slow series of a few samples a minute,
            # `citrus finetune --alignment auto`'s "interpolate") scores a recording stretched the same way; cut into
            # windows of its context, a 200 s series at 0.5 Hz became 20 windows of 10 s, and accuracy fell from 1.0
            # to 0.3. Every other checkpoint covers a recording window by window.
            alignment = "interpolate" if extractor.alignment == "interpolate" else "window"
        window_seconds = extractor.context_length / extractor.sampling_rate
        # The extractor validates the rate itself; the duration needs a number first.
        duration = recording.shape[-1] / rate if _is_number(rate) and rate > 0 else float("nan")
        if alignment == "interpolate":
            self._warn_of_another_stretch(duration, name)
        options = dict(alignment=alignment, hop_length=hop_length, pad_last_window=pad_last_window)
        if alignment == "resample":
            options["padding"] = padding
        if alignment == "window" and not duration >= window_seconds:
            # Shorter than one window: its one window keeps the recording's own duration (the extractor's `padding`,
            # "longest" by default), as the model would see it alone; a whole window of padding, masked out, gives
            # the same outputs for more work. One recording is one forward pass here, so no batch needs one length.
            # Whatever `pad_last_window` says: with False, the documented default, the extractor would refuse it
            # (it has no window to give), and an explicit False made every short chunk of a stream an error.
            options = dict(alignment="resample", padding=padding)
        channels = recording.shape[0] if np.ndim(recording) == 2 else 1
        if (
            self.any_channel_count
            and channels != extractor.num_channels
            and getattr(extractor, "channel_independent", False)
            and not getattr(extractor, "channel_names", None)
            and getattr(extractor, "normalization", None) != "fixed"  # (statistics per channel: theirs to check)
        ):
            # This call's channel count on a copy: the README's 6-channel embedding with citrus-small (one channel)
            # logged a warning that the channels differ from the checkpoint's, about nothing the user could change.
            extractor = copy.copy(extractor)
            extractor.num_channels = channels
        # only where given: an extractor saved before units were recorded takes no such argument
        units = {} if input_channel_units is None else {"input_channel_units": input_channel_units}
        # a list of one recording: the extractor would read one 2-D array as a possible batch of single-channel rows
        # and say so, though a pipeline's input is one recording by definition
        recording = [recording] if np.ndim(recording) == 2 else recording
        per_pass = _windows_per_pass(window_batch_size, channels)
        if options["alignment"] == "window":
            # Streamed, `per_pass` windows at a time: cutting every window first held the windows of a long recording
            # all at once (3x the recording in memory, more with a short hop, which the extractor then refused).
            streamed = self._streamed_windows(
                extractor.iter_windows(
                    recording,
                    sampling_rate=rate,
                    batch_size=per_pass,
                    hop_length=hop_length,
                    pad_last_window=pad_last_window,
                    input_channel_names=input_channel_names,
                    nan_policy=nan_policy,
                    return_tensors="pt",
                    **units,
                ),
                window_seconds,
                duration,
                first_second,
            )
            # (at least one window: a recording of none, shorter than a window without `pad_last_window`, is
            # refused by the extractor before its first; the progress bar starts once the first is cut)
            for index, chunk in enumerate(self._marked(streamed, marks)):
                if index == 0:
                    hop = hop_length or getattr(extractor, "hop_length", None) or extractor.context_length
                    windows = max(0, duration * extractor.sampling_rate - extractor.context_length) // hop + 1
                    self._start_progress(progress, duration, passes=math.ceil(windows / per_pass))
                yield chunk
            return
        features = extractor(
            recording,
            sampling_rate=rate,
            input_channel_names=input_channel_names,
            nan_policy=nan_policy,
            return_tensors="pt",
            **units,
            **options,
        )
        # one window (the recording aligned whole, so one pass): the start of the recording ("resample") or all of it
        # stretched ("interpolate")
        seconds = duration if alignment == "interpolate" else min(duration, window_seconds)
        self._start_progress(progress, duration, passes=1)
        windows = {
            "input_values": features["input_values"],
            "patch_mask": features["patch_mask"],
            "window_start_seconds": np.array([first_second], dtype=float),
            "window_end_seconds": np.array([first_second + seconds], dtype=float),
            "recording_seconds": first_second + duration,
            "is_last": True,
        }
        windows["no_signal"] = marks(windows)
        yield windows

    @staticmethod
    def _marked(chunks, marks: _SignalMarks):
        """`chunks` of windows, each with the reason of every window that holds no signal (`"no_signal"`)."""
        for chunk in chunks:
            chunk["no_signal"] = marks(chunk)
            yield chunk

    def _warn_of_another_stretch(self, duration: float, name: str | None) -> None:
        """Warn (once per recording) of a recording of `duration` seconds that stretching onto the window scales by
        another factor than the recordings the checkpoint was fitted on (its extractor's `stretched_seconds`, beyond
        `STRETCH_TOLERANCE`): its frequencies then reach the model scaled by the ratio of the durations (a 60 s file
        at 90 bpm scored 100.7 by a heart-rate model fitted on 15 s rows). `name`: the recording's, or None."""
        fitted = getattr(self.feature_extractor, "stretched_seconds", None)
        if not fitted or not math.isfinite(duration):
            return
        shortest, longest = fitted
        if shortest * (1 - STRETCH_TOLERANCE) <= duration <= longest * (1 + STRETCH_TOLERANCE):
            return
        nearest = longest if duration > longest else shortest
        durations = f"{shortest:g} s" if shortest == longest else f"{shortest:g} to {longest:g} s"
        window = self.feature_extractor.context_length / self.feature_extractor.sampling_rate
        logger.warning(
            f"{name or 'A recording'} lasts {duration:g} s, and this checkpoint was fitted on recordings of "
            f"{durations} stretched onto its {window:g} s window (alignment='interpolate'): stretched onto it too, its "
            f"rhythms (a heart rate) reach the model {duration / nearest:.2g}x as fast as a {nearest:g} s recording's, "
            f"which its outputs do not allow for. Score pieces of {nearest:g} s of it one by one, or fine-tune with "
            "alignment='resample' to score recordings of any duration window by window."
        )

    @staticmethod
    def _streamed_windows(batches, window_seconds: float, duration: float, first_second: float = 0.0):
        """The extractor's window batches as model inputs with their start and end times, the last one marked: times
        of the recording given, whose signal, `duration` seconds long, starts at `first_second` (after NaN padding)."""
        current = next(batches, None)
        while current is not None:
            following = next(batches, None)
            starts = current["window_start_seconds"].numpy() + first_second
            yield {
                "input_values": current["input_values"],
                "patch_mask": current["patch_mask"],
                "window_start_seconds": starts,
                "window_end_seconds": np.minimum(starts + window_seconds, first_second + duration),
                "recording_seconds": first_second + duration,
                "is_last": following is None,
            }
            current = following

    def _without_nan_padding(self, recording, rate: Any, nan_policy: str | None) -> tuple[Any, float]:
        """`recording` without the runs of samples NaN in every channel at its start and end, and the seconds left out
        before it, under `nan_policy="interpolate"` (the call's or the extractor's): length padding, which the
        checkpoint's extractor leaves out too (`nan_padding_span`; an extractor older than that fills it), so the
        recording's duration, and whether it fills a window, is its signal's. The recording as it is otherwise."""
        span = getattr(self.feature_extractor, "nan_padding_span", None)
        policy = self.feature_extractor.nan_policy if nan_policy is None else nan_policy
        if policy != "interpolate" or not callable(span) or not (_is_number(rate) and rate > 0):
            return recording, 0.0
        start, stop = span(recording)
        return recording[..., start:stop], start / rate

    # -------------------------------------------------------------------------------------------------- progress

    def _start_progress(self, progress: bool | None, duration: float, passes: int) -> None:
        """Open the progress bar of the recording about to run, if it gets one (`progress`, `PROGRESS_MIN_PASSES`).
        It lives on the pipeline, not in the chunks: transformers runs a chunk's forward pass right after taking it
        from `preprocess`, which `forward` then reports to the bar."""
        self._stop_progress()  # a recording whose run failed half-way left its bar open
        if progress is False or not (progress or passes >= PROGRESS_MIN_PASSES) or not math.isfinite(duration):
            return
        if self._packing and passes <= 1:
            return  # a recording of one pass may run later in a pack (`_packed_results`): its bar would stay at 0%
        self._progress = _RecordingProgress(duration, delay=0.0 if progress else PROGRESS_DELAY_SECONDS)

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress = None

    def forward(self, model_inputs, **forward_params):
        try:
            outputs = super().forward(model_inputs, **forward_params)
        except BaseException:
            self._stop_progress()  # the bar ends with its recording's run
            raise
        if self._progress is not None:
            # The last windows may leave out the rest of the recording that no full window covers
            # (`pad_last_window=False`): the recording is done all the same.
            last = model_inputs["is_last"]
            self._progress.advance(self._progress.total if last else float(np.max(model_inputs["window_end_seconds"])))
            if last:
                self._stop_progress()
        return outputs

    # --------------------------------------------------------------------------------------------------- forward

    def _forward(self, model_inputs, backend: str = "auto", onnx_cache_dir=None, **target_parameters):
        target = InferenceTarget(output=self.target_output, **target_parameters)
        runner = self._backend(backend, target, onnx_cache_dir)
        patch_mask = model_inputs["patch_mask"]
        # Full windows need no mask: the model then attends without one, as in training on full windows.
        input_values = model_inputs["input_values"]
        # the extractor cut these windows from a recording whose layout it checked whole: the model leaves out that
        # rule for them (a 1,100-channel recording's windows have more channels than samples)
        checked = getattr(self.model, "windows_of_checked_recordings", None)
        try:
            with checked() if callable(checked) else contextlib.nullcontext():
                output, ran = run_full_and_padded_apart(runner, input_values, patch_mask)
        except RuntimeError as error:
            if "allocate" not in str(error):
                raise
            # (a fusion model's windows are one tensor per modality)
            channels = "" if isinstance(input_values, Mapping) else f" x {input_values.shape[1]} channels"
            raise MemoryError(
                f"Out of memory in a forward pass of {batch_length(input_values)} windows{channels}: pass a smaller "
                "`batch_size` (windows per pass)."
            ) from error
        self._check_finite(output, input_values, model_inputs["window_start_seconds"], ran)
        return {
            "output": output,
            "window_start_seconds": model_inputs["window_start_seconds"],
            "window_end_seconds": model_inputs["window_end_seconds"],
            # (a pack of several recordings' windows has none: `_packed_passes` gives each its own)
            "recording_seconds": model_inputs.get("recording_seconds"),
            "backend": ran,
            "is_last": model_inputs["is_last"],
            "no_signal": model_inputs.get("no_signal"),
        }

    def _check_finite(self, output: torch.Tensor, input_values: torch.Tensor, starts: np.ndarray, backend: str) -> None:
        """Refuse NaN or infinite outputs `(windows, outputs)` of `input_values` `(windows, channels, time)` (windows
        starting at `starts` seconds): a softmax of NaN logits was ranked into label '0' with score nan, and a
        regression returned nan, without a word. The checkpoint is named as the cause when its weights are not finite
        or a random window of the same shape gives NaN too (a training run that diverged saves such weights), by the
        model's own rule (`non_finite_problem`, training's: this file imports nothing of the package, so it asks the
        model it holds); else the windows' values overflow it."""
        broken = ~torch.isfinite(output.reshape(len(output), -1).float()).all(dim=1)
        if not bool(broken.any()):
            return
        name = getattr(self.model, "name_or_path", None) or type(self.model).__name__
        rule = getattr(self.model, "non_finite_problem", None)  # (none in the remote code of an earlier citrus-hf)
        problem = None
        if callable(rule) and isinstance(input_values, Mapping):
            problem = rule()  # (a fusion model's windows, one per modality: its weights alone are asked about)
        elif callable(rule):
            generator = torch.Generator().manual_seed(0)  # the caller's random stream stays as it was
            window = torch.randn(input_values[:1].shape, generator=generator).to(input_values.device)
            problem = rule(window, "a random window")
        if problem is not None:
            raise ValueError(
                f"The checkpoint {name} is not finite: its outputs are NaN or infinite for "
                f"{'every window' if bool(broken.all()) else f'{int(broken.sum())} of {len(broken)} windows'} "
                f"(backend {backend}), and {problem}, as a training run that diverged saves them. Use another "
                "checkpoint, or fine-tune again with a lower learning rate."
            )
        shown = ", ".join(f"{float(start):g} s" for start in np.asarray(starts)[broken.cpu().numpy()][:5])
        raise ValueError(
            f"The model's outputs are NaN or infinite for {int(broken.sum())} of {len(broken)} windows (starting at "
            f"{shown}; backend {backend}): their values overflow it. Check the recording's values and units."
        )

    # ----------------------------------------------------------------------------------------------- postprocess

    def _recording_mean(self, outputs: torch.Tensor, windows: list[dict], keepdim: bool = False) -> torch.Tensor:
        """The recording's value from its windows' `(num_windows, outputs)`: the model's rule (`recording_mean`, each
        window weighted by the seconds of recording it covers; `citrus finetune` scores recordings by the same), over
        the windows that hold signal (`"no_signal"` ones are left out: a flat window scored as confidently as any, and
        a few of them decided a recording's label). NaN `(outputs,)` where no window holds signal."""
        with_signal = [index for index, window in enumerate(windows) if not window.get("no_signal")]
        if len(with_signal) < len(windows):
            if not with_signal:
                return torch.full(outputs.shape[-1:], math.nan, dtype=outputs.dtype).reshape(
                    (1, -1) if keepdim else (-1,)
                )
            outputs, windows = outputs[with_signal], [windows[index] for index in with_signal]
        seconds = torch.tensor([window["end"] - window["start"] for window in windows], dtype=torch.float64)
        # (the remote code of a citrus-hf before the rule moved into the model file has none: this file's own copy of
        # it, which the pipelines applied to every model before; a plain mean moved a padded recording's answer)
        rule = getattr(self.model, "recording_mean", None) or _seconds_weighted_mean
        mean = rule(outputs, seconds)
        return mean.reshape(1, -1) if keepdim else mean

    @staticmethod
    def _gather(model_outputs: list[dict]) -> tuple[torch.Tensor, list[dict], dict]:
        """The windows' outputs `(num_windows, outputs)`, their times (each with its `"no_signal"`), and what every
        result holds beside its answer: the seconds at the recording's end that no window covers (`unscored_seconds`:
        a stream's chunks are recordings of their own, and each chunk's tail shorter than a window was dropped
        without a sign), the backend that ran and how many windows hold no signal (`no_signal_windows`)."""
        output = torch.cat([chunk["output"] for chunk in model_outputs])
        starts = np.concatenate([chunk["window_start_seconds"] for chunk in model_outputs])
        ends = np.concatenate([chunk["window_end_seconds"] for chunk in model_outputs])
        windows = [{"start": float(start), "end": float(end)} for start, end in zip(starts, ends)]
        marks = [
            mark
            for chunk in model_outputs
            for mark in chunk.get("no_signal") or [None] * len(chunk["window_start_seconds"])
        ]
        for window, mark in zip(windows, marks, strict=True):
            window["no_signal"] = mark

        unscored = model_outputs[-1]["recording_seconds"] - float(ends.max())
        common = {
            # to the nanosecond, far below any sample: the difference of two sums of seconds carries their rounding
            # (999 samples at 33.3 Hz, all in windows, left 3.6e-15 s "unscored")
            "unscored_seconds": round(float(max(0.0, unscored)), UNSCORED_DECIMALS),
            "backend": joined_paths(chunk["backend"] for chunk in model_outputs),
            "no_signal_windows": sum(1 for mark in marks if mark),  # (the windows that hold no signal)
        }
        return output, windows, common


class _WorkerErrorsAsRaised:
    """A DataLoader whose workers' errors reach the caller as the worker raised them. torch raises a worker's error
    again in the main process as one of its type whose message is the worker's whole traceback under "Caught
    ValueError in DataLoader worker process 0." (`torch._utils.ExceptionWrapper.reraise`): with `num_workers`, a
    recording's one-line error (a NaN, its channels) came last in 38 lines. The traceback goes to the debug log."""

    def __init__(self, loader: DataLoader):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        try:
            yield from self.loader
        except Exception as error:
            wrapped = error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else ""
            original = _worker_message(wrapped, type(error))
            if original is None:
                raise
            logger.debug(wrapped)
            error.args = (original,)
            raise error from None


def _worker_message(wrapped: str, kind: type) -> str | None:
    """The message of the error of type `kind` that a DataLoader worker raised, out of `wrapped`, torch's message for
    it ("Caught ...", then the worker's traceback, whose last exception ends it: its type's name, ": ", its message);
    None where `wrapped` is no such message (a KeyError's is its repr: left as torch gives it)."""
    if not wrapped.startswith(f"Caught {kind.__name__} in DataLoader worker process") or kind is KeyError:
        return None
    # a chained exception's traceback comes first; the last one's frames are indented, its exception line is not
    last = wrapped.rsplit("Traceback (most recent call last):\n", 1)[-1].splitlines()
    lines = last[next((i for i, line in enumerate(last) if not line.startswith(" ")), len(last)) :]
    name = (
        kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    )
    if not lines or not lines[0].startswith(f"{name}: "):
        return None
    return "\n".join(lines)[len(name) + 2 :]


class _RecordingProgress:
    """A progress bar over the whole seconds of one recording that have run through the model. transformers'
    `logging.tqdm`, so that `disable_progress_bar()` and `HF_HUB_DISABLE_PROGRESS_BARS` turn it off as they turn off
    transformers' own bars (it is then a stand-in whose attributes are all no-op functions: the count is kept here)."""

    def __init__(self, duration: float, delay: float):
        self.total = max(1, math.ceil(duration))
        self.done = 0
        # seconds of recording done and left, time spent and to come; no rate ("12.3s/s" read as a typo)
        self.bar = logging.tqdm(
            total=self.total,
            desc="recording",
            delay=delay,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}]",
        )

    def advance(self, seconds: float) -> None:
        """The windows up to `seconds` of the recording have run."""
        done = min(self.total, int(seconds))
        if done > self.done:
            self.bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        self.bar.close()


class BioSignalClassificationPipeline(_RecordingPipeline):
    """Classify a bio-signal recording window by window with a CiTrus classifier (`"time-series-classification"`).

    Returns per recording:
        `{"label", "score", "labels": [{"label", "score"}, ...], "windows": [{"start", "end", "label", "score",
        "labels"}, ...], "label_seconds", "no_signal_windows", "unscored_seconds", "backend"}`: `labels` are the
        `top_k` best (default
        5, at most `num_labels`; `top_k=None` gives every label, as in transformers' audio and text classification
        pipelines); the recording's scores are the mean of its windows' scores, over the windows that hold signal
        (`"no_signal"` None; with none, `label` and `score` are None and `labels` empty). `function_to_apply`:
        `"softmax"` (single-label, default), `"sigmoid"` (default for multi-label models and for one-output heads, as
        in transformers' text
        classification: a softmax over one logit is always 1), `"none"` (raw logits) or `"default"` (the model's),
        in any case, as transformers takes them. Labels of equal scores (sigmoids that all round to 1.0) rank by their
        logits, then by id, as argmax does, whatever `top_k`. `label_seconds` gives every label the seconds of the
        recording it takes (`label_seconds`: each second that windows cover counted once, overlapping windows split
        halfway between their middles; the seconds between windows, after the last one and of windows without
        signal count for none): those of the windows it tops, or, for a multi-label or one-output classifier, those
        of the windows where its sigmoid is above 0.5, whatever `function_to_apply` and `top_k`.
    """

    accepted_problems = ("classification",)

    def _sanitize_task_parameters(self, top_k=_NOT_GIVEN, function_to_apply=None, **parameters):
        super()._sanitize_task_parameters(**parameters)
        postprocess = {}
        # An explicit `top_k=None` asks for every label, as in transformers' audio and text classification; the
        # default, not given, leaves the pipeline's (or its construction's) value.
        if top_k is not _NOT_GIVEN:
            if top_k is not None:
                check_positive_integer("top_k", top_k)
            postprocess["top_k"] = top_k
        if function_to_apply is not None:
            # in any case, and "default" (the model's own: None), as transformers' text classification takes them
            chosen = function_to_apply.lower() if isinstance(function_to_apply, str) else function_to_apply
            if chosen not in ("default", *SCORE_FUNCTIONS):
                raise ValueError(
                    f"`function_to_apply={function_to_apply!r}` is not supported; choose one of default, "
                    f"{', '.join(SCORE_FUNCTIONS)}."
                )
            postprocess["function_to_apply"] = None if chosen == "default" else chosen
        return {}, postprocess

    def postprocess(self, model_outputs, top_k: int | None = DEFAULT_TOP_K, function_to_apply: str | None = None):
        logits, windows, common = self._gather(model_outputs)
        config = self.model.config
        if function_to_apply is None:
            function_to_apply = "sigmoid" if scores_each_output(config) else "softmax"
        if function_to_apply == "softmax":
            scores = logits.softmax(-1)
        elif function_to_apply == "sigmoid":
            scores = logits.sigmoid()
        else:
            scores = logits
        top_k = logits.shape[-1] if top_k is None else min(top_k, logits.shape[-1])
        # Read once: a config attribute costs microseconds (transformers' `__getattribute__`), and ranking a night of
        # 960 windows x 5 classes one label at a time took 35 ms (3 ms this way).
        id2label = _label_names(config.id2label, logits.shape[-1])

        def ranked(rows: torch.Tensor, tie_breaks: torch.Tensor) -> list[list[dict]]:
            """`(N, num_labels)` scores -> for each row, its `top_k` labels with their scores, best first (one
            sort and one conversion for all rows instead of one per window). Equal scores are ranked by
            `tie_breaks` `(N, num_labels)` (the logits), then by id, as argmax picks the first: `topk` ordered them
            arbitrarily, and differently for another `top_k`, so a confident multi-label model, whose sigmoids all
            round to 1.0, was given one label by the pipeline's default and another by `citrus predict`."""
            # numpy's lexsort (stable; its last key first): torch's row-wise sorts took 10x as long for 45 labels
            values = rows.numpy()
            indices = np.lexsort((-tie_breaks.numpy(), -values), axis=-1)[:, :top_k]
            return [
                [{"label": id2label[i], "score": v} for v, i in zip(row_values, row_indices)]
                for row_values, row_indices in zip(
                    np.take_along_axis(values, indices, axis=-1).tolist(), indices.tolist()
                )
            ]

        for window, labels in zip(windows, ranked(scores, logits)):
            window.update(label=labels[0]["label"], score=labels[0]["score"], labels=labels)
        if scores_each_output(config):  # each label present where its sigmoid is above 0.5, whatever is applied
            present = (logits.sigmoid() > 0.5).numpy()
        else:  # the window's label: the largest logit, the first of equal ones, as `ranked` ranks them
            present = np.eye(logits.shape[-1], dtype=bool)[logits.numpy().argmax(-1)]
        # no window of signal: no label (their scores are the most confident of all, and say nothing)
        (labels,) = (
            ranked(
                self._recording_mean(scores, windows, keepdim=True),
                self._recording_mean(logits, windows, keepdim=True),
            )
            if common["no_signal_windows"] < len(windows)
            else [[]]
        )
        return {
            "label": labels[0]["label"] if labels else None,
            "score": labels[0]["score"] if labels else None,
            "labels": labels,
            "label_seconds": label_seconds(windows, present, id2label),
            "windows": windows,
            **common,
        }


class BioSignalRegressionPipeline(_RecordingPipeline):
    """Regress targets from a bio-signal recording window by window with a CiTrus regressor
    (`"time-series-regression"`).

    Returns per recording:
        `{"target", "target_names", "windows": [{"start", "end", "target"}, ...], "no_signal_windows",
        "unscored_seconds", "backend"}` for one target, with `"targets"` (a list) in place of `"target"` for several;
        the recording's value is the mean over its windows that hold signal, each weighted by the seconds of recording
        it covers (None without such a window). `"target_names"` names the values in order (`["heart_rate"]`: the
        model's `config.target_names`, from its `id2label`), None for a regressor that does not name its targets.
    """

    accepted_problems = ("regression",)

    def postprocess(self, model_outputs):
        targets, windows, common = self._gather(model_outputs)
        key = "target" if targets.shape[-1] == 1 else "targets"

        def value(row: list[float]):
            return row[0] if key == "target" else row

        # one conversion for all windows (`tolist`), not one tensor index per window
        for window, row in zip(windows, targets.tolist()):
            window[key] = value(row)
        has_signal = common["no_signal_windows"] < len(windows)
        mean = value(self._recording_mean(targets, windows).tolist()) if has_signal else None
        # (getattr: a config of another model family, or of an older citrus-hf, has no target names)
        names = getattr(self.model.config, "target_names", None)
        return {key: mean, "target_names": names, "windows": windows, **common}


class BioSignalFeatureExtractionPipeline(_RecordingPipeline):
    """Embed a bio-signal recording window by window with any CiTrus model (`model.embed()`,
    `"time-series-feature-extraction"`).

    Parameters `features`, `pooling`, `channel_pooling` are `embed()`'s (defaults: the config's, and `"concat"`).

    Returns per recording:
        `{"embedding": (F,), "window_embeddings": (num_windows, F), "windows": [{"start", "end"}, ...],
        "no_signal_windows", "unscored_seconds", "backend"}`, the embedding being the mean of the windows' that hold
        signal (NaN without such a window); numpy float32 arrays (`return_tensors=False` or `"np"`), or torch tensors
        with `return_tensors=True` (or `"pt"`).
    """

    target_output = "embeddings"
    any_channel_count = True

    # `save_pretrained(..., push_to_hub=True, **kwargs)` options that belong to the push, not to the save
    # (`PushToHubMixin.push_to_hub`'s)
    _PUSH_OPTIONS = ("commit_message", "commit_description", "private", "token", "revision", "create_pr", "tags")

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> None:
        """`Pipeline.save_pretrained` (the model, its extractor, the pipeline code), with this task in config.json's
        `custom_pipelines`, so that `pipeline(model=folder)` embeds again. A task model's own `save_pretrained`
        records its class's task, which replaced the entry transformers had just written: the folder of a
        feature-extraction pipeline over a classifier loaded back as the classification pipeline (labels, where
        embeddings were saved for). `push_to_hub` saves through here; `push_to_hub=True` (with `repo_id=`, default
        the folder's name) pushes the folder so saved."""
        push = kwargs.pop("push_to_hub", False)
        repo_id = kwargs.pop("repo_id", None) or os.path.basename(os.path.normpath(save_directory))
        push_options = {name: kwargs.pop(name) for name in self._PUSH_OPTIONS if name in kwargs}
        super().save_pretrained(save_directory, **kwargs)
        self._record_task(save_directory)
        if push:  # (transformers' route pushed the model from its own save, before this task was recorded)
            self.push_to_hub(repo_id, max_shard_size=kwargs.get("max_shard_size", "50GB"), **push_options)

    def _record_task(self, save_directory: str | os.PathLike) -> None:
        """Rewrite the config saved in `save_directory` with this pipeline's task as its one `custom_pipelines` entry,
        loading the model with the Auto class the model's entry named (that of its class: the remote-code pipeline
        then embeds with the whole saved model, as the package's does)."""
        config = self.model.config
        recorded = getattr(config, "custom_pipelines", None)  # (the package's `CustomPipelines`, kept as it is)
        task = PROBLEM_TASKS["encoder"]
        if not recorded or list(recorded) == [task]:  # (a model of no pipeline; an encoder's entry is this one)
            return
        auto_classes = dict.get(recorded, next(iter(recorded))).get("pt", ["AutoModel"])
        config.custom_pipelines = {task: {"impl": f"pipelines.{type(self).__name__}", "pt": list(auto_classes)}}
        try:
            config.save_pretrained(save_directory)
        finally:
            config.custom_pipelines = recorded

    def _sanitize_task_parameters(
        self, features=None, pooling=None, channel_pooling=None, return_tensors=None, **parameters
    ):
        super()._sanitize_task_parameters(**parameters)
        target = {
            name: value
            for name, value in (("features", features), ("pooling", pooling), ("channel_pooling", channel_pooling))
            if value is not None
        }
        # Checked by the model now: a bad choice found only when the windows reach `embed()` would first cost (and
        # print) the backend's ONNX export.
        check = getattr(self.model, "embedding_options", None)
        if check is not None:
            check(**target)
        return target, {} if return_tensors is None else {"return_tensors": self._as_return_tensors(return_tensors)}

    @staticmethod
    def _as_return_tensors(return_tensors: Any) -> bool:
        """transformers' feature-extraction pipelines take a bool (True: torch tensors); "pt" and "np", the feature
        extractor's words, are honoured too. Anything else is refused: taking its truthiness would turn "np" into
        torch tensors."""
        if isinstance(return_tensors, (bool, np.bool_)):
            return bool(return_tensors)
        if isinstance(return_tensors, str) and return_tensors in ("pt", "np"):
            return return_tensors == "pt"
        raise ValueError(
            f'`return_tensors={return_tensors!r}` is not supported; pass True or "pt" for torch tensors, False or '
            '"np" for numpy arrays.'
        )

    def postprocess(self, model_outputs, return_tensors: bool = False):
        embeddings, windows, common = self._gather(model_outputs)
        pooled = self._recording_mean(embeddings, windows)
        if not return_tensors:
            embeddings, pooled = embeddings.numpy(), pooled.numpy()
        return {"embedding": pooled, "window_embeddings": embeddings, "windows": windows, **common}


# ----------------------------------------------------------------------------------------------------------- fusion

# A modality recorded more than this many seconds beyond the span every modality covers is named in a warning (that
# span is what is scored): clocks that drift apart over a session differ by far less, a file of another session by more.
FUSION_SPAN_TOLERANCE_SECONDS = 1.0


def _processor_of_remote_model(model: Any) -> Any:
    """The fusion processor saved beside the weights of `model` (its processor_config.json) where the model's class
    came as its checkpoint's remote code (`pipeline(model=folder, trust_remote_code=True)` without citrus_hf: this file
    then runs as that checkpoint's code too), else None; an OSError naming the fix where the checkpoint has none.
    transformers' factory loads only a `ProcessorMixin`, which the fusion processor is not, so it gives the pipeline
    none; the processor's code comes from the same checkpoint as the model's, which the caller trusted. (With citrus_hf
    installed, its `pipeline` passes the processor itself.)

    A Hub model's processor is read from the commit, subfolder and cache its weights came from, which the model's
    `from_pretrained` records (`_hub_source`, see `modeling_citrus._hub_source_kwargs`): the repository's default
    branch would hold another checkpoint's processor, or none, for a model loaded from a branch or a subfolder."""
    name = getattr(model, "name_or_path", None)
    if not name or type(model).__module__.startswith("citrus_hf."):
        return None
    from transformers import AutoProcessor
    from transformers.utils import PROCESSOR_NAME, cached_file

    source = getattr(model, "_hub_source", None)
    location = dict(source) if isinstance(source, dict) else {}
    try:
        found = cached_file(name, PROCESSOR_NAME, _raise_exceptions_for_missing_entries=False, **location)
    except OSError as error:
        # transformers' factory gives the pipeline class no `token=` (it loaded the weights with it): a private
        # repository's processor was "not a valid model identifier ... pass a token" to a caller who had passed one
        if type(error.__cause__).__name__ not in ("RepositoryNotFoundError", "GatedRepoError"):
            raise
        raise OSError(
            f"{name!r}: the Hub refused its {PROCESSOR_NAME}, which the fusion pipeline reads beside the weights "
            "without the `token=` given to `pipeline` (transformers does not pass it on): log in (`hf auth login` or "
            f"HF_TOKEN), or pass `processor=AutoProcessor.from_pretrained({name!r}, token=..., "
            "trust_remote_code=True)`."
        ) from None
    # without the file, transformers' AutoProcessor tries a tokenizer, an image processor, ... and fails deep in its
    # stack with "Unrecognized processing class", which names neither the file nor the fix
    if found is None:
        where = f"{name!r}" + (f" (subfolder {location['subfolder']!r})" if location.get("subfolder") else "")
        local = os.path.isdir(name)
        raise OSError(
            f"{where} has no {PROCESSOR_NAME}{'' if local else ' at the commit its weights came from'} (the fusion "
            "processor, which the fusion pipeline needs): save it next to the weights with citrus-hf "
            "(`CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)`)"
            + ("." if local else "; offline, run once online to download it (the Hub cache holds what was loaded).")
        )
    return AutoProcessor.from_pretrained(name, trust_remote_code=True, **location)


class _FusionRecordingPipeline:
    """The body of the fusion pipelines, put before a single-modality pipeline class, whose `postprocess` (labels and
    scores, or targets, and the whole recording's value from its windows: one rule for both) and parameters it keeps.

    One recording per modality goes in (`{modality: samples or file path}`, each with its own `sampling_rate`, or one
    file and `modality_channels`). Every modality is cut into windows of the same start and end times: the span all
    modalities cover is cut with each modality's extractor (the fusion processor's: its alignment, NaN policy and
    normalisation, as the rows the model was trained on) into windows of the modalities' shortest window (their
    `context_length / sampling_rate`; a modality of a longer one gets that many seconds, as the processor gives it a
    shorter row), every `hop_seconds` (default: the window), by the single-modality pipeline's rule (`iter_windows`:
    `pad_last_window`, and a span shorter than a window is one window of its own duration). A window's outputs are the
    model's on every modality's window at once; a window where any modality holds no signal (`"no_signal"`: `"flat
    (eda)"`, the reason and the modality) is left out of the recording's value."""

    # the model's processor is given by the caller (`citrus_hf`'s `pipeline` loads it), or read beside a model loaded
    # as remote code (`_processor_of_remote_model`): transformers would load it only as a `ProcessorMixin`, which the
    # fusion processor is not
    _load_feature_extractor = False
    _load_processor = False

    def __init__(self, model=None, processor=None, **kwargs):
        check_device_available(kwargs.get("device"))
        check_weights_have_values(model)
        if processor is None:
            processor = _processor_of_remote_model(model)
        if not isinstance(getattr(processor, "feature_extractors", None), Mapping):
            raise ValueError(
                f"{type(self).__name__} needs the fusion model's CiTrusFusionProcessor (processor_config.json), "
                f"got {type(processor).__name__}: pass `processor=CiTrusFusionProcessor.from_pretrained(folder)`, or "
                "save one next to the weights (`CiTrusFusionProcessor.from_encoders(...).save_pretrained(folder)`)."
            )
        check = getattr(processor, "check_model", None)
        if callable(check):
            check(model)  # windows aligned to another contract would run and score wrong
        ChunkPipeline.__init__(self, model=model, processor=processor, **kwargs)
        self._check_model()
        self._backends = _BackendCache()  # the single-modality pipeline's `_forward` runs them (see its `__init__`)
        self._progress = None
        self._packing = False

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> None:
        """The model and its processor, which `pipeline(model=folder)` loads back as this pipeline (its task comes
        from the model's class). transformers' `Pipeline.save_pretrained` saved no processor, so the folder did not
        load back, and recorded this pipeline in config.json under a loader class that only citrus_hf defines.
        `kwargs` (`push_to_hub=True`, ...) go to both saves."""
        self.model.save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory, **kwargs)

    def __call__(self, inputs, *args, **kwargs):
        """Run the pipeline on one multimodal recording or a list of them.

        Args:
            inputs: `{modality: recording}`, every modality of the model: each recording `(time,)` or `(channels,
                time)` (a numpy array, torch tensor or list of numbers) or a file path (EDF / BDF, WFDB, WAV, .npy,
                .csv, read as `citrus predict` reads it, where citrus_hf is installed); or one file path holding every
                modality with `modality_channels`. A list of these gives a list of results.
            sampling_rate (`float` or `dict[str, float]`): Hz, one for every modality or one per modality; not needed
                for a file that records its own rate.
            modality_channels (`dict[str, list[str | int]]`, *optional*): for one file, the channels of each modality
                (names or positions from 0), e.g. `{"eeg": ["EEG Fpz-Cz", "EEG Pz-Oz"], "eog": ["EOG horizontal"]}`.
                For a file given per modality, the channels to read of it.
            hop_seconds (`float`, *optional*): seconds between window starts (default: the window).
            pad_last_window, nan_policy: as in `CiTrusFeatureExtractor`, for every modality.
            batch_size (`int`, defaults to 64): windows per forward pass.
            backend (`str`, defaults to `"auto"`): `"auto"`, `"torch"` or `"bf16"`, as in the single-modality
                pipelines (`"auto"` runs bf16 for a classifier where it keeps fp32's predicted classes on the first
                batch and is faster here); `"onnxruntime"` exports models of one input and is refused.
            progress (`bool`, *optional*): as in the single-modality pipelines.
            The single-modality pipeline's own parameters (`top_k`, `function_to_apply` for a classifier).

        Returns:
            The single-modality pipeline's result (`"label"`, `"score"`, `"labels"`, `"label_seconds"` or
            `"target(s)"`, `"target_names"`; `"windows"` with `"start"` and `"end"` in seconds, `"no_signal_windows"`,
            `"unscored_seconds"`, `"backend"`), the times being those every modality shares, and
            `"unscored_seconds"` counting to the end of the longest modality's recording.
        """
        self._take_call_options(args, kwargs)
        kwargs.pop("num_workers", None)  # (each recording runs in passes of its own windows)
        single = not isinstance(inputs, (list, tuple))
        recordings = [inputs] if single else list(inputs)
        if not recordings:
            raise ValueError("The input is an empty list: pass a recording per modality, or a list of them.")
        parameters = self._call_parameters(kwargs)
        results = []
        for index, recording in enumerate(recordings):
            try:
                results.append(self.run_single(recording, *parameters))
            except (ValueError, TypeError) as error:
                if not single:
                    _name_the_recording(error, index)
                raise
        return results[0] if single else results

    def _sanitize_parameters(
        self,
        sampling_rate=None,
        hop_seconds=None,
        pad_last_window=None,
        nan_policy=None,
        modality_channels=None,
        window_batch_size=None,
        backend=None,
        progress=None,
        **other,
    ):
        preprocess = {
            name: value
            for name, value in (
                ("sampling_rate", sampling_rate),
                ("hop_seconds", hop_seconds),
                ("pad_last_window", pad_last_window),
                ("nan_policy", nan_policy),
                ("modality_channels", modality_channels),
                ("window_batch_size", window_batch_size),
                ("progress", progress),
            )
            if value is not None
        }
        if sampling_rate is not None and not (isinstance(sampling_rate, Mapping) or _is_number(sampling_rate)):
            raise TypeError(
                f"`sampling_rate` of a fusion pipeline is one number for every modality or a dict modality -> rate, "
                f"got {type(sampling_rate).__name__}."
            )
        if modality_channels is not None and not isinstance(modality_channels, Mapping):
            raise TypeError(
                "`modality_channels` is a dict modality -> channels (names or positions), e.g. "
                f"{{{', '.join(repr(m) + ': [...]' for m in self.model.config.modalities)}}}; got "
                f"{type(modality_channels).__name__}."
            )
        if backend == "onnxruntime":
            raise ValueError(FUSION_ONNX_REFUSAL)
        return self._sanitized_with_the_task(preprocess, {}, FUSION_BACKENDS, pad_last_window, progress, backend, other)

    # ------------------------------------------------------------------------------------------------ preprocess

    def _modality_recordings(
        self, inputs: Any, sampling_rate: Any, modality_channels: Mapping | None
    ) -> dict[str, tuple[np.ndarray, float]]:
        """`{modality: (samples (channels, time), rate)}` of one input, in the model's modality order."""
        modalities = list(self.model.config.modalities)
        if isinstance(inputs, (str, os.PathLike)):
            channels_of = _modality_channels_reader() if not modality_channels else None
            if channels_of is not None:  # the file's channels that name each modality
                modality_channels = channels_of(inputs, modalities)
            if not modality_channels:
                raise ValueError(
                    f"One file {os.fspath(inputs)!r} holds every modality: say which channels are which with "
                    f"`modality_channels={{{', '.join(repr(m) + ': [NAME, ...]' for m in modalities)}}}` (names or "
                    "positions from 0), or pass a dict modality -> recording."
                )
            inputs = dict.fromkeys(modality_channels, inputs)
        if not isinstance(inputs, Mapping):
            raise TypeError(
                f"A fusion pipeline takes a dict modality -> recording (samples or a file path), e.g. "
                f"{{{', '.join(repr(m) + ': ...' for m in modalities)}}}, or one file with `modality_channels`; got "
                f"{type(inputs).__name__}."
            )
        for given, what in ((inputs, "the recordings"), (modality_channels or {}, "modality_channels")):
            unknown, missing = sorted(set(map(str, given)) - set(modalities)), [m for m in modalities if m not in given]
            if unknown or (missing and given is inputs):
                raise ValueError(
                    f"{what} name the modalities {sorted(map(str, given))}, and the model takes {modalities}"
                    + (f" ({', '.join(_closest_name_hint(name, modalities) for name in unknown)})" if unknown else "")
                    + ": give one recording per modality of the model."
                )
        if isinstance(sampling_rate, Mapping):
            unknown = sorted(set(map(str, sampling_rate)) - set(modalities))
            if unknown:
                raise ValueError(
                    f"`sampling_rate` names {unknown}, which are no modalities of the model ({modalities})."
                )
        recordings = {}
        for modality in modalities:
            rate = sampling_rate.get(modality) if isinstance(sampling_rate, Mapping) else sampling_rate
            extractor = self.processor.feature_extractors[modality]
            channels = (modality_channels or {}).get(modality)
            try:
                recordings[modality] = self._modality_samples(inputs[modality], rate, channels, extractor)
            except (ValueError, TypeError) as error:
                if len(error.args) == 1 and isinstance(error.args[0], str):
                    error.args = (f"modality {modality!r}: {error.args[0]}",)
                raise
        return recordings

    def _modality_samples(self, recording: Any, rate: Any, channels: Any, extractor: Any) -> tuple[np.ndarray, float]:
        """One modality's samples `(channels, time)` and rate: a file read as the single-modality pipeline reads one
        (`_recording_file_reader`), samples checked as it checks them (`_recording_and_rate`)."""
        recording, rate = _signal_and_rate(recording, rate)
        if isinstance(recording, (str, os.PathLike)):
            read_file = _recording_file_reader()
            if read_file is not None:
                recording, rate, _ = read_file(
                    recording,
                    rate,
                    None,
                    None if channels is None else list(channels),
                    extractor,
                    channels is None,
                    True,
                )
        elif channels is not None:
            raise ValueError(
                "`modality_channels` picks channels of a recording file, and this recording is its samples: select "
                "its channels yourself (`signal[[0, 2]]`)."
            )
        recording, rate = self._recording_and_rate(recording, rate)
        samples = recording.detach().cpu().numpy() if isinstance(recording, torch.Tensor) else np.asarray(recording)
        if not (_is_number(rate) and rate > 0):
            raise ValueError(f"`sampling_rate` must be a positive number of Hz, got {rate!r}.")
        return (samples[None] if samples.ndim == 1 else samples), float(rate)

    def _window_extractors(self, window_seconds: float) -> dict[str, Any]:
        """Every modality's extractor, cutting windows of `window_seconds`: a modality of a longer window gets a copy
        whose window is that long (its model then sees a shorter input, as the processor's `padding="longest"` gives
        it one)."""
        extractors = {}
        for modality, extractor in self.processor.feature_extractors.items():
            if extractor.alignment == "interpolate":
                raise ValueError(
                    f"modality {modality!r}: its extractor stretches each row onto its window (alignment='interpolate'), "
                    "so the model was trained on rows of their own duration, not on windows of a recording: align "
                    "such rows with the fusion processor and call the model on them."
                )
            length = window_seconds * extractor.sampling_rate
            if math.isclose(length, extractor.context_length, rel_tol=1e-9):
                extractors[modality] = extractor
                continue
            samples = round(length)
            if not math.isclose(length, samples, abs_tol=1e-6) or samples % extractor.patch_length:
                windows = ", ".join(
                    f"{name} {fx.context_length / fx.sampling_rate:g} s"
                    for name, fx in self.processor.feature_extractors.items()
                )
                raise ValueError(
                    f"The modalities' windows last {windows}, and {window_seconds:g} s is no whole number of modality "
                    f"{modality!r}'s patches ({extractor.patch_length} samples at {extractor.sampling_rate:g} Hz), so "
                    "no window of the same times fits every encoder: cut the recordings into rows yourself and align "
                    "them with the fusion processor."
                )
            extractors[modality] = copy.copy(extractor)
            extractors[modality].context_length = samples
        return extractors

    @staticmethod
    def _warn_of_uncommon_span(durations: dict[str, float], span: float) -> None:
        beyond = {
            name: seconds for name, seconds in durations.items() if seconds - span > FUSION_SPAN_TOLERANCE_SECONDS
        }
        if beyond:
            shown = ", ".join(f"{name} {seconds:g} s" for name, seconds in durations.items())
            logger.warning(
                f"{RECORDING_NAME.get() or 'The recordings'} last {shown}: only the {span:g} s that every modality "
                "covers are scored (from the start of each), so check that they start together."
            )

    def preprocess(
        self,
        inputs,
        sampling_rate: Any = None,
        hop_seconds: float | None = None,
        pad_last_window: bool | None = None,
        nan_policy: str | None = None,
        modality_channels: Mapping | None = None,
        window_batch_size: int = DEFAULT_WINDOW_BATCH_SIZE,
        progress: bool | None = None,
    ):
        """Cut one multimodal recording into windows of the same times in every modality and yield them
        `window_batch_size` at a time: `input_values` and `patch_mask` `{modality: (windows, channels, samples)}`,
        `{modality: (windows, patches)}` and the windows' start and end seconds."""
        recordings = self._modality_recordings(inputs, sampling_rate, modality_channels)
        durations = {name: samples.shape[-1] / rate for name, (samples, rate) in recordings.items()}
        span = min(durations.values())
        self._warn_of_uncommon_span(durations, span)
        fitted = self.processor.feature_extractors.values()
        window_seconds = min(extractor.context_length / extractor.sampling_rate for extractor in fitted)
        extractors = self._window_extractors(window_seconds)
        per_pass = _windows_per_pass(window_batch_size, max(samples.shape[0] for samples, _ in recordings.values()))
        streams = {}
        for name, (samples, rate) in recordings.items():
            extractor = extractors[name]
            samples = samples[..., : max(1, round(span * rate))]  # the common span
            if span >= window_seconds:
                hop = hop_length_from_seconds(
                    window_seconds if hop_seconds is None else hop_seconds, extractor.sampling_rate
                )
                batches = extractor.iter_windows(
                    [samples],
                    sampling_rate=rate,
                    batch_size=per_pass,
                    hop_length=hop,
                    pad_last_window=pad_last_window,
                    nan_policy=nan_policy,
                    return_tensors="pt",
                )
            else:  # shorter than a window: one window of its own duration, as the single-modality pipeline's
                features = extractor(
                    [samples],
                    sampling_rate=rate,
                    alignment="resample",
                    padding="longest",
                    nan_policy=nan_policy,
                    return_tensors="pt",
                )
                batches = iter([{**features, "window_start_seconds": torch.zeros(1, dtype=torch.float64)}])
            windows = self._streamed_windows(batches, window_seconds, span)
            streams[name] = self._marked(windows, _SignalMarks(samples, rate))
        yield from self._modality_windows(streams, durations, progress, per_pass, window_seconds, hop_seconds)

    def _modality_windows(self, streams: dict, durations: dict, progress, per_pass: int, window_seconds, hop_seconds):
        """The modalities' window chunks `streams` zipped into the fusion model's, checked to share their times."""
        span = min(durations.values())
        names = list(streams)
        hop = window_seconds if hop_seconds is None else hop_seconds
        windows = max(0.0, span - window_seconds) // hop + 1
        self._start_progress(progress, span, passes=math.ceil(windows / per_pass))
        while True:
            chunks = {name: self._next_chunk(name, stream) for name, stream in streams.items()}
            if all(chunk is None for chunk in chunks.values()):
                return
            first = chunks[names[0]]
            # (half a sample of the coarsest encoder: windows start on each encoder's own samples)
            tolerance = 0.5 / min(fx.sampling_rate for fx in self.processor.feature_extractors.values())
            for name, chunk in chunks.items():
                if (
                    chunk is None
                    or first is None
                    or not (
                        len(chunk["window_start_seconds"]) == len(first["window_start_seconds"])
                        and np.allclose(chunk["window_start_seconds"], first["window_start_seconds"], atol=tolerance)
                    )
                ):
                    raise ValueError(
                        f"The windows of modality {name!r} do not start when those of {names[0]!r} do (a hop of "
                        f"{hop:g} s is no whole number of samples of every encoder, or NaN padding at one modality's "
                        "start was left out): give a hop_seconds of whole samples of every encoder's rate, or trim "
                        "the recordings to the span they share."
                    )
            reasons = [
                next((f"{reason} ({name})" for name, reason in zip(names, marks) if reason), None)
                for marks in zip(*(chunk["no_signal"] for chunk in chunks.values()))
            ]
            yield {
                "input_values": {name: chunk["input_values"] for name, chunk in chunks.items()},
                "patch_mask": {name: chunk["patch_mask"] for name, chunk in chunks.items()},
                "window_start_seconds": first["window_start_seconds"],
                "window_end_seconds": first["window_end_seconds"],
                # the longest modality's end: what no window covers of any recording counts as unscored
                "recording_seconds": max(durations.values()),
                "is_last": first["is_last"],
                "no_signal": reasons,
            }

    @staticmethod
    def _next_chunk(modality: str, stream: Iterator[dict]) -> dict | None:
        """The next chunk of a modality's windows (None at the end); an error of its extractor (which aligns the
        windows as they are asked for) names the modality, whose recording the extractor numbers 0."""
        try:
            return next(stream, None)
        except (ValueError, TypeError) as error:
            if len(error.args) == 1 and isinstance(error.args[0], str):
                message = _FIRST_RECORDING.sub(
                    lambda match: f"{'I' if match.group(1) == 'R' else 'i'}ts recording", error.args[0]
                ).replace(EXTRACTOR_CHANNEL_OPTION, FUSION_CHANNEL_OPTION)
                error.args = (f"modality {modality!r}: {message}",)
            raise


class BioSignalFusionClassificationPipeline(_FusionRecordingPipeline, BioSignalClassificationPipeline):
    """Classify a multimodal recording window by window with a CiTrus fusion classifier
    (`"time-series-fusion-classification"`): `BioSignalClassificationPipeline`'s result, every modality cut into
    windows of the same times (see `_FusionRecordingPipeline`)."""


class BioSignalFusionRegressionPipeline(_FusionRecordingPipeline, BioSignalRegressionPipeline):
    """Regress targets from a multimodal recording window by window with a CiTrus fusion regressor
    (`"time-series-fusion-regression"`): `BioSignalRegressionPipeline`'s result, every modality cut into windows of
    the same times (see `_FusionRecordingPipeline`)."""


__all__ = [
    "BioSignalClassificationPipeline",
    "BioSignalFeatureExtractionPipeline",
    "BioSignalFusionClassificationPipeline",
    "BioSignalFusionRegressionPipeline",
    "BioSignalRegressionPipeline",
    "DEFAULT_WINDOW_BATCH_SIZE",
    "check_contract",
    "check_device_available",
    "load_feature_extractor",
]
