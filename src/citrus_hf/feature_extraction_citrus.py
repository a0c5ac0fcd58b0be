"""Feature extractor for CiTrus: any recording (sampling rate, length, channel layout) -> the checkpoint's input.

A CiTrus checkpoint was pre-trained on windows of `context_length` samples at `sampling_rate` Hz. A downstream
recording rarely matches (EMG at 4 kHz x 1500 samples, FD-B at 64 kHz x 5120, Epilepsy at 174 Hz x 178): the paper
aligns it to the pre-training rate and window before it reaches the model, so the model sees the same time scales and
frequency bands it learned. `CiTrusFeatureExtractor` does that alignment, checks the input, and normalises it.

This file is also shipped as remote code (`trust_remote_code=True`): it imports only numpy, scipy, torch,
transformers and, relatively, the configuration.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import inspect
import json
import math
import numbers
import os
import reprlib
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from transformers.feature_extraction_sequence_utils import SequenceFeatureExtractor
from transformers.feature_extraction_utils import BatchFeature
from transformers.utils import CONFIG_NAME, FEATURE_EXTRACTOR_NAME, TensorType, cached_file, logging
from transformers.utils.hub import hf_api, is_offline_mode

from ._version import VERSION_KEY, newer_citrus_hf, newer_settings_message
from .configuration_citrus import (
    WINDOW_BOOKKEEPING,
    ChecksSaveDirectory,
    CiTrusConfig,
    MissingSubfolderError,
    SerialisesBeforeWriting,
    as_integer,
    as_sampling_rate,
    check_derived_keywords,
    check_loading_options,
    check_normalization_statistics,
    check_size_limits,
    checkpoint_read,
    closest_field_hint,
    config_value,
    default_revision_unset,
    derived_setting,
    field_hint,
    hub_did_not_answer_message,
    is_real_number,
    looks_like_time_by_channels,
    lookup_checkpoint,
    misspelt_names,
    name_as_text,
    not_a_field_error,
    offline_cache_lacks,
    refuse_second_run,
    request_got_no_answer,
    uncached_offline_error,
    warn_of_rate_override,
)
from .vocabulary_citrus import (
    ENCODER_ARCHITECTURES,
    FUSION_MODEL_TYPE,
    NAN_POLICIES,
    VOLTAGE_UNITS,
    UnitError,
    as_bool,
    canonical_unit,
    unit_factor,
)

refuse_second_run(globals())  # before anything is defined: see its docstring

logger = logging.get_logger(__name__)

ALIGNMENTS = ("resample", "interpolate", "window")
# Set while `from_dict` builds an extractor from saved settings, whose unknown keys it has named in a warning.
_BUILDING_FROM_SAVED_SETTINGS: ContextVar[bool] = ContextVar("citrus_building_from_saved_settings", default=False)
# The checkpoint an extractor is being loaded from, `(name_or_path, its lookup keywords)`, while
# `AutoFeatureExtractor.from_pretrained` loads it (set by the package, `loading_extractor_from`): transformers reads the
# settings file itself and hands `from_dict` only its contents, and whether a contract override is warned of depends on
# the model saved beside them (`CiTrusFeatureExtractor._warn_of_contract_overrides`).
_LOADING_FROM: ContextVar[tuple[Any, dict[str, Any]] | None] = ContextVar("citrus_extractor_loading_from", default=None)


def _is_sample(value: Any) -> bool:
    """Whether `value` is one sample of a signal: a real number, or a 0-d numpy array / torch tensor (the items of
    `list(tensor)`)."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.ndim == 0 and not value.dtype == torch.bool and not value.dtype == np.bool_
    return is_real_number(value)


def is_missing_sample(value: Any) -> bool:
    """Whether `value`, an item of a flat list of samples, marks a missing sample: None (a JSON null,
    `masked_array.tolist()`'s masked samples) or pandas' `pd.NA` (`series.tolist()` of a nullable `Float64` / `Int16`
    column), told by its type's name without importing pandas. Such a gap made the list a list of one-number
    recordings, refused as "recording 0 has 0 dimensions"; it is read as NaN, which `nan_policy` decides about."""
    return value is None or type(value).__name__ == "NAType"


def _gaps_as_nan(values: Any) -> Any:
    """Nested lists of samples with each missing one (`is_missing_sample`) as NaN."""
    if isinstance(values, (list, tuple)):
        return [_gaps_as_nan(value) for value in values]
    return np.nan if is_missing_sample(values) else values


def _unwrap_datasets_column(value: Any) -> Any:
    """A `datasets` `Column` (what `dataset["input_values"]` returns in datasets >= 4: a lazy sequence of the rows) as
    a list of its rows, anything else unchanged; it is taken as the list of recordings (or rates) it holds.
    Recognised by name, so this file needs no `datasets` import."""
    if type(value).__name__ == "Column" and type(value).__module__.startswith("datasets."):
        return list(value)
    return value


def _streamed_column_fix(value: Any) -> str:
    """The fix for a streamed set's column (`dataset["input_values"]` with `streaming=True`, a `datasets`
    `IterableColumn`) given where the extractor aligns a batch it holds whole; "" for anything else."""
    if type(value).__name__ != "IterableColumn" or not type(value).__module__.startswith("datasets."):
        return ""
    return (
        "a streamed set's column (`streaming=True`), whose rows are read as they come: align them so, "
        "`dataset.map(lambda row: extractor(np.asarray(row['input_values']), sampling_rate=row['sampling_rate']))`, "
        "or pass `list(column)` for a batch held whole"
    )


def _column_as_list(value: Any) -> Any:
    """A column of recordings as the list of them: a 1-D object array of arrays (rows of different lengths in
    `datasets`' numpy or pandas format), or a pandas Series of them (`table["signal"]`, one array per row); a pandas
    Series of numbers as its numpy array (one recording); anything else unchanged. Told by name, dtype and `ndim`,
    without importing pandas (`inference.pipelines`, which travels as remote code, spells this out; a test keeps
    them equal)."""
    if type(value).__name__ == "Series" and hasattr(value, "to_numpy"):
        value = value.to_numpy()  # (pandas) of numbers: one single-channel recording
    return list(value) if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 1 else value


def _rates_as_list(sampling_rate: Any) -> list | None:
    """One rate per recording as a list (a list, tuple or other sequence, or an array of one dimension: numpy,
    torch, a pandas Series such as `table["fs"]`, told by its `ndim`), or None for one rate for all (a string is one,
    bad, rate: not three)."""
    if isinstance(sampling_rate, (str, bytes)):
        return None
    if not isinstance(sampling_rate, Sequence) and getattr(sampling_rate, "ndim", None) != 1:
        return None
    tolist = getattr(sampling_rate, "tolist", None)  # numpy / pandas / torch scalars as Python numbers
    return list(tolist() if callable(tolist) else sampling_rate)


def _is_data_and_times(value: Any) -> bool:
    """Whether `value` is the `(data, times)` pair MNE's `raw[picks]` returns: a `(channels, time)` numpy array and
    a 1-D increasing one as long as its time axis. A ramp of exactly that length beside the recording is no
    bio-signal, and taken as a second recording it was scored as one."""
    if not (isinstance(value, tuple) and len(value) == 2 and all(isinstance(part, np.ndarray) for part in value)):
        return False
    data, times = value
    if data.ndim != 2 or times.ndim != 1 or times.dtype.kind not in "fiu" or not 1 < len(times) == data.shape[1]:
        return False
    return bool((np.diff(times.astype(np.float64)) > 0).all())


def _series_collection_fix(frame: Any) -> str | None:
    """The refusal of a pandas DataFrame that holds a collection of series in sktime's / aeon's formats, or None for
    any other frame. The DataFrame advice for a recording (`frame.to_numpy().T`) glued every case of a frame indexed
    by (case, time) into one recording of all their samples, and read a frame of nested series with its cases as
    channels. An index of two levels is also how `pd.read_csv(..., index_col=[0, 1])` reads a logger's date and time
    columns, one recording, so the refusal names that way too."""
    if getattr(frame.index, "nlevels", 1) > 1:
        cases = frame.index.get_level_values(0).nunique()
        return (
            f"got a pandas DataFrame indexed by {list(frame.index.names)}: a collection of {cases} series, sktime's "
            "and aeon's 'pd-multiindex' (rows of (case, time), columns channels); pass one (channels, time) array per "
            "case, `[case.to_numpy().T for _, case in frame.groupby(level=0)]`, after selecting the signal's columns "
            "(a frame of one recording indexed by a date and a time of day, as loggers write them, is "
            "`frame.to_numpy().T`)."
        )
    first_row = frame.iloc[0].tolist() if len(frame) and len(frame.columns) else []
    if any(hasattr(cell, "__len__") and not isinstance(cell, (str, bytes)) for cell in first_row):
        return (
            f"got a pandas DataFrame of nested series: a collection of {len(frame)} series, sktime's 'nested_univ' "
            "(a row per case, a column per channel, each cell a series); pass one (channels, time) array per case, "
            "`[np.stack(row) for row in frame.to_numpy()]`."
        )
    return None


# The refusal of a `(data, times)` pair (`_is_data_and_times`).
DATA_AND_TIMES = (
    "the input is a pair (data, times): a (channels, time) array and its time axis, as MNE's `raw[picks]` returns "
    "them; the time axis is no recording. Pass the data alone: `data, times = raw[picks]` and pass `data`, or pass "
    "`raw.get_data(picks)` (in the unit the checkpoint was trained on: MNE's is volts)."
)

# What to pass instead of the objects other signal libraries hand out, which are refused (checked by module and class
# name, so that nothing here imports them; `refuse_foreign_input`): the module's prefix, a class among the object's
# bases ("" for any) and the fix.
FOREIGN_INPUTS = (
    (
        "mne.",
        "BaseRaw",
        "an MNE Raw; pass `raw.get_data(picks)` (channels, time) in the unit the checkpoint was trained on (MNE's is "
        "volts: `raw.get_data(picks, units='uV')` gives microvolts) with `sampling_rate=raw.info['sfreq']` (and "
        "`input_channel_names=raw.ch_names` for a checkpoint that picks its channels by name)",
    ),
    (
        "mne.",
        "BaseEpochs",
        "MNE Epochs; pass `epochs.get_data(picks)` (epochs, channels, time: one recording per epoch) in the unit the "
        "checkpoint was trained on (MNE's is volts: `units='uV'` gives microvolts) with "
        "`sampling_rate=epochs.info['sfreq']`",
    ),
    (
        "mne.",
        "Evoked",
        "an MNE Evoked; pass `evoked.get_data(picks)` (channels, time) in the unit the checkpoint was trained on "
        "(MNE's is volts: `units='uV'` gives microvolts) with `sampling_rate=evoked.info['sfreq']`",
    ),
    ("mne.", "", "an MNE object; pass its samples, e.g. `get_data()` (channels, time), with its `info['sfreq']`"),
    (
        "wfdb.",
        "BaseRecord",
        "a wfdb record, whose signal is (time, channels); pass `record.p_signal.T` (channels, time) with "
        "`sampling_rate=record.fs` (`wfdb.rdrecord(path, m2s=True)` reads a multi-segment record as one)",
    ),
    (
        "pyarrow",
        "",
        "an arrow column (`datasets`' arrow format); pass `column.to_numpy()` (one recording per row), or read the "
        "dataset with `.with_format('numpy')`",
    ),
    (
        "polars.",
        "DataFrame",
        "a polars DataFrame, whose rows are usually time and columns channels; pass `frame.to_numpy().T` (channels, "
        "time), after selecting the signal's columns (`frame.select(columns)`)",
    ),
    # ({dims}: the array's own dimension names, so the message says which order it is in)
    (
        "xarray.",
        "DataArray",
        "an xarray DataArray; pass its samples as (channels, time), `array.transpose(channel_dim, time_dim).values` "
        "(`array.values` where its dims, {dims}, are in that order already), with `sampling_rate` one over the "
        "step of its time coordinate (in seconds)",
    ),
    (
        "xarray.",
        "",
        "an xarray object; pass one variable's samples as (channels, time), "
        "`dataset[name].transpose(channel_dim, time_dim).values`, with `sampling_rate` one over the step of its time "
        "coordinate (in seconds)",
    ),
)


# What to do about a recording longer than the context, for the warning that its end was dropped. A context variable:
# the fusion processor, which cannot cut windows (its modalities would not line up), sets its own advice while it
# calls the extractors, without changing any extractor or the saved settings.
LONG_RECORDING_ADVICE: ContextVar[str] = ContextVar(
    "LONG_RECORDING_ADVICE",
    default="Use alignment='window' to cover all of it, or alignment='interpolate' to stretch it onto the window (for "
    "slow series holding no more samples than the window).",
)
# The last fix offered for a recording whose channel count differs from the one a concatenating head takes (`{channels}`:
# the recording's count): the fusion processor sets its model's (an encoder built for that count).
CONCAT_CHANNELS_ADVICE: ContextVar[str] = ContextVar(
    "CONCAT_CHANNELS_ADVICE", default="fine-tune with channel_pooling='mean', which accepts any channel count."
)
# The option the channel-count errors advise for picking a recording's channels by name: the fusion pipeline, which
# takes `modality_channels` instead, names its own (`pipelines.EXTRACTOR_CHANNEL_OPTION` spells this out).
CHANNEL_NAMES_OPTION = "`input_channel_names`"
# Set while a caller checks the recordings' spread itself (`spread_off_by`) and says it in its own words: `citrus
# predict` per file, the aligners of labelled sets outside their cached `Dataset.map` (a warning inside it was lost
# when the rows came from the cache), so that the extractor's own once-per-process warning does not repeat it.
_SPREAD_CHECKED_BY_CALLER: ContextVar[bool] = ContextVar("citrus_spread_checked_by_caller", default=False)


@contextlib.contextmanager
def spread_checked_by_caller() -> Iterator[None]:
    """Within the block, the extractor leaves the check of a recording's spread against a "fixed" checkpoint's
    `normalization_std` (`spread_off_by`) to the caller, which says it naming the recording (its file, its row)."""
    token = _SPREAD_CHECKED_BY_CALLER.set(True)
    try:
        yield
    finally:
        _SPREAD_CHECKED_BY_CALLER.reset(token)


# What a spread `10**power` times a "fixed" checkpoint's `normalization_std` likely is (`unit_mismatch_notice`).
_LIKELY_UNIT_SLIPS = {
    -6: "volts for microvolts",
    -3: "millivolts for microvolts, or volts for millivolts",
    3: "microvolts for millivolts, or millivolts for volts",
    6: "microvolts for volts",
}


def _robust_spread(samples: np.ndarray) -> np.ndarray:
    """Each channel's standard deviation `(channels,)` of `(channels, time)` float64 samples (NaN left out), with its
    samples clipped to the channel's 1st and 99th percentiles first, so that a few artefacts cannot decide it. A plain
    standard deviation made one electrode pop of 1e6 in a recording in the right unit read as "about 1000 times" the
    training data's spread, with advice to divide the samples by 1000 (which ruined them). Clipped so, a Gaussian's
    spread shrinks by under a tenth, and an ECG's R peaks by little more: it stays comparable with the plain
    `normalization_std` it is set against (a median absolute deviation would not: an ECG's is a third of its standard
    deviation, which moved its power of ten)."""
    low, high = np.nanpercentile(samples, [1.0, 99.0], axis=1, keepdims=True)
    return np.nanstd(np.clip(samples, low, high), axis=1)


def unit_mismatch_notice(power: int, subject: str, fix: str) -> str:
    """The warning for recordings whose spread is `10**power` times the `normalization_std` of a "fixed" checkpoint
    (`CiTrusFeatureExtractor.spread_off_by`): `subject` says whose spread ("The recordings' spread", "The spread of
    night.edf"), `fix` what to do, in the caller's words, `{factor}` standing for the factor that undoes `power`."""
    likely = _LIKELY_UNIT_SLIPS.get(power)
    return (
        f"{subject} is about {10.0**power:g} times the `normalization_std` this checkpoint normalises with "
        "(normalization='fixed': the statistics of its training data), so the samples are likely in another unit than "
        f"that data{f' ({likely})' if likely else ''}. Normalised so, they reach the model as "
        + ("a nearly flat line" if power < 0 else "values far beyond any it was trained on")
        + f" and its outputs mean little: {fix.format(factor=f'{10.0**-power:g}')}"
    )


def level_mismatch_notice(distance: float, subject: str) -> str:
    """The warning for a recording whose level lies `distance` training standard deviations from the
    `normalization_mean` of a "fixed" checkpoint (`CiTrusFeatureExtractor.level_off_by`): `subject` says whose level
    ("The recordings' level", "The level of night.edf")."""
    return (
        f"{subject} lies about {distance:.3g} times the spread of this checkpoint's training data away from its mean "
        "(normalization='fixed': the statistics of that data), an offset the training data did not have: normalised "
        "so, the samples reach the model as values far beyond any it was trained on, and its outputs mean little. "
        "Remove the offset (subtract each channel's median, or high-pass filter the recording) and score it again."
    )


# The fix the error about a recording shorter than one patch offers, in the caller's words: a command that aligns a
# set spells its own option (`--alignment interpolate`, `advice_as_spelt`), and pre-training, which stretches no row,
# offers what it can follow (`data.alignment.align_corpus`).
SHORT_RECORDING_ADVICE: ContextVar[str] = ContextVar(
    "SHORT_RECORDING_ADVICE",
    default="Use alignment='interpolate' to stretch it to the context length, or longer recordings.",
)


# What to use instead of `alignment="interpolate"` where its aliasing matters, for its warning.
ALIASING_ADVICE: ContextVar[str] = ContextVar(
    "ALIASING_ADVICE", default="Use alignment='resample' or 'window' where that matters."
)


@contextlib.contextmanager
def advice_as_spelt(alignment_option: str, windows_option: str) -> Iterator[None]:
    """Within the block, the extractor's messages give their fixes as a command that aligns whole sets spells them:
    `alignment_option` is its option with `{}` for the alignment's name ("--alignment {}", or "--alignment SET={}"
    for `citrus evaluate`, which takes one per set). Such a command has no `alignment="window"` to offer: the fix
    for a recording longer than the window is then to cut the recordings into windows first, which `windows_option`
    does ("--dataset-options window_seconds=S")."""
    interpolate = alignment_option.format("interpolate")
    tokens = [
        (
            SHORT_RECORDING_ADVICE,
            SHORT_RECORDING_ADVICE.set(f"Use {interpolate} to stretch it to the context length, or longer recordings."),
        ),
        (
            LONG_RECORDING_ADVICE,
            LONG_RECORDING_ADVICE.set(
                f"To cover all of it, cut the recordings into windows first ({windows_option} for a set of your own, "
                f"or one row per window); for slow series holding no more samples than the window, {interpolate} "
                "stretches them onto it."
            ),
        ),
        (
            ALIASING_ADVICE,
            ALIASING_ADVICE.set(
                f"Use {alignment_option.format('resample')} where that matters (or cut the recordings into windows "
                "first)."
            ),
        ),
    ]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


NORMALIZATIONS = ("zscore", "none", "fixed")
PADDINGS = ("longest", "max_length")
# transformers' name for no padding, taken by a call (`padding=False` too): "longest" for recordings of one duration
_DO_NOT_PAD = "do_not_pad"
# How to see what a notice says is "logged at debug level": the package's loggers follow transformers' verbosity.
SHOWN_AT_DEBUG = "(`transformers.logging.set_verbosity_debug()` shows it)"
# With padding="max_length", a batch whose longest recording fills less than this share of the window is mostly
# padding: the extractor says so once, and how to keep the recordings' own duration instead.
_MOSTLY_PADDING = 0.5

# scipy's resample_poly designs a Kaiser-windowed low-pass of 2 * 10 * max(up, down) + 1 taps (half-length 10 in
# units of the slower rate); the crop before resampling keeps this many input periods of margin.
_FILTER_HALF_LENGTH = 10
# Rational approximation of target / source rate: denominators up to 1000 * (decimation factor) first, which keeps
# the rate error below 1e-6 for most awkward rates (173.61 Hz) and is exact for integer decimations (64 kHz -> 100 Hz
# = 1/640); larger ones where that is further off than `_RATE_RELATIVE_ERROR` (99.97 -> 100 Hz: 10000/9997, not 1/1,
# which was 3e-4 off: 9 ms of drift over a 30 s window), while the filter stays within `_RATIO_SEARCH_TAPS` taps. 1e-5
# drifts by 0.03 samples over a 3000-sample window; the next fraction past it can need a filter of millions of taps
# (1000.0123 Hz: 1/10 is 1.2e-5 off, the next is 8130/81301), which cost 30-140 ms per short recording.
_RATE_DENOMINATOR_PER_DECIMATION = 1000
_RATE_RELATIVE_ERROR = 1e-5
_RATIO_SEARCH_TAPS = 2**18
# A window whose standard deviation is below this fraction of its mean magnitude is constant up to rounding: z-scoring
# it would blow rounding noise up to unit variance, so it becomes zeros instead.
_CONSTANT_RELATIVE_TOLERANCE = 1e-6
# A channel whose mean is further from zero than this many times its peak-to-peak swing has its mean removed before
# z-scoring (`_offsets_removed`): the swing then spans fewer than about 1e4 float32 steps of the offset.
_OFFSET_TO_SPAN = 1e3
# How resample_poly extends the signal past its ends (see `_resample`).
_PADTYPE = "symmetric"
# Below this many samples a thread costs more than it saves.
_MIN_SAMPLES_PER_THREAD = 250_000
# Input samples resampled at a time (rows of a long recording; see `_resample`): 4M, 32 MB of float64 temporaries.
_RESAMPLE_CHUNK_SAMPLES = 4_000_000
# resample_poly's filter has 2 * _FILTER_HALF_LENGTH * max(up, down) + 1 taps; beyond this many (1 GiB of float64)
# the rates are not a real resampling job but a mistake (a rate in kHz or in seconds per sample, say).
_MAX_FILTER_TAPS = 2**27
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)  # the smallest normal float32
# How far (as a factor either way) a recording's spread may be from the `normalization_std` of a "fixed" checkpoint
# before the extractor says it is likely in another unit (`_warn_of_unit_mismatch`): 10^2.5, so that millivolts for
# microvolts (1e3, give or take the recording's own spread) is caught as well as volts (1e6); recordings of one unit
# differ by far less (a quiet and a noisy EEG by 10x).
_UNIT_MISMATCH_FACTOR = 10**2.5
# Samples per channel, at most, whose spread `_warn_of_unit_mismatch` compares (an order of magnitude needs no more).
_UNIT_CHECK_SAMPLES = 1 << 16
# How many of the training data's standard deviations a recording's level (a channel's median) may lie from the
# `normalization_mean` of a "fixed" checkpoint before the extractor says so (`level_off_by`): the statistics are pooled
# over every training sample, offsets between its recordings included, so a recording of the same kind lies within a
# few; at 50 the model sees values fifty times beyond any it was trained on (a +1e4 DC offset on a 10 uV signal was
# scored at 0.9999 without a word).
_LEVEL_MISMATCH_STDS = 50.0
# `max_window_bytes` applies to windows holding more than this many copies of every sample (hop < context / 8).
_MAX_WINDOW_COPIES = 8
# Samples normalised together (see `_normalize`): 256 one-channel windows of 3000 samples, float64 temporaries near
# 6 MiB. Counted in samples, not windows: 256 windows of 64 channels held 393 MB per temporary.
_NORMALIZE_CHUNK_SAMPLES = 768_000
# The `from_pretrained` keywords that say where a checkpoint's files are.
CHECKPOINT_LOOKUP_KWARGS = ("subfolder", "revision", "cache_dir", "token", "local_files_only")


def extractor_lookup_hint(name_or_path: Any, kwargs: Mapping[str, Any], citrus_class: bool = True) -> str | None:
    """What to say instead of transformers' "make sure ... is the correct path to a directory containing a
    preprocessor_config.json file", after its lookups of a checkpoint's extractor files failed: for a CiTrus model
    saved without its extractor (its config.json says so), how to save one beside it; for a CiTrus fusion
    checkpoint, that its processor_config.json holds one feature extractor per modality
    and what loads it; for a Hub id found neither in the cache nor on a Hub that did not answer, that the network is
    the problem; offline, for a file the Hub cache never held of a (not fusion) checkpoint whose config.json it holds,
    or of one it holds nothing of, that it was never downloaded. None otherwise (the caller's own error then stands).
    `kwargs` are the caller's `from_pretrained` keywords; those saying where the files are (`revision`, `cache_dir`,
    ...) are used. `citrus_class`: the caller is `CiTrusFeatureExtractor`, asked for a CiTrus checkpoint; False for
    `AutoFeatureExtractor`, which loads every model's, so that offline a checkpoint not known to be a CiTrus one (the
    cache holds nothing of it, or a config.json of another model) keeps transformers' error."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        return None
    lookup = {key: kwargs[key] for key in CHECKPOINT_LOOKUP_KWARGS if key in kwargs}
    # offline, a file the Hub cache never held of a checkpoint it holds the config.json of (as `AutoModel` downloads
    # it) is said so, before that config would call it a model saved without its extractor; not that of a fusion
    # checkpoint, which has none to download; and offline, a Hub id the cache holds nothing of is said so too (below),
    # not as a Hub that "did not answer": it was never asked
    uncached = offline_cache_lacks(name_or_path, FEATURE_EXTRACTOR_NAME, lookup)
    shown = repr(os.fspath(name_or_path))
    saved = cached_config = None
    try:
        # the folder or the cache first; the Hub only where it answers: when it cannot be reached, transformers'
        # lookups of the extractor's own files have failed already, and a third through `cached_file` would wait out
        # huggingface_hub's retries once more (23 s on a refused connection)
        path = cached_file(
            name_or_path,
            CONFIG_NAME,
            _raise_exceptions_for_missing_entries=False,
            **{**lookup, "local_files_only": True},
        )
        cached_config = path
        if path is None and uncached:  # offline, a Hub id the cache holds nothing of: the Hub was never asked
            if not citrus_class:
                return None
            return str(
                uncached_offline_error(
                    name_or_path, FEATURE_EXTRACTOR_NAME, lookup.get("revision"), lookup.get("subfolder")
                )
            )
        # (offline, the Hub is never asked, so it cannot be said not to answer: a name that is no 'owner/name' id,
        # which `offline_cache_lacks` leaves out, keeps the caller's error)
        offline = lookup.get("local_files_only") or is_offline_mode()
        if path is None and not os.path.isdir(name_or_path) and not offline:
            in_repo = "/".join(filter(None, (lookup.get("subfolder"), CONFIG_NAME)))
            try:  # one request, without retries
                on_hub = hf_api().file_exists(
                    os.fspath(name_or_path), in_repo, revision=lookup.get("revision"), token=lookup.get("token")
                )
            except Exception as error:
                if not request_got_no_answer(error):
                    return None
                return hub_did_not_answer_message(name_or_path, "the feature extractor of ")
            path = cached_file(name_or_path, CONFIG_NAME, **lookup) if on_hub else None
        if path is not None:
            with open(path, encoding="utf-8") as handle:
                saved = json.load(handle)
    except Exception:  # missing, not JSON: nothing to say of the config beyond the caller's error
        pass
    model_type = saved.get("model_type") if isinstance(saved, dict) else None
    if model_type == FUSION_MODEL_TYPE:
        return (
            f"{shown} is a CiTrus fusion checkpoint: it has no preprocessor_config.json of its own, but a "
            "processor_config.json with one feature extractor per modality. Load that with "
            f"`AutoProcessor.from_pretrained({shown})` (or `CiTrusFusionProcessor.from_pretrained`); one modality's "
            "extractor is `processor.feature_extractors[modality]`."
        )
    if uncached and cached_config is not None and (citrus_class or model_type == CiTrusConfig.model_type):
        return str(
            uncached_offline_error(
                name_or_path, FEATURE_EXTRACTOR_NAME, lookup.get("revision"), lookup.get("subfolder")
            )
        )
    if model_type != CiTrusConfig.model_type:
        return None
    # a model saved on its own (`model.save_pretrained`, a Trainer given no `processing_class`)
    return (
        f"{shown} holds a CiTrus model (config.json) but no feature extractor (preprocessor_config.json): "
        "`model.save_pretrained` saves the model alone, as does a Trainer given no `processing_class`. Save the "
        "extractor of the model's input contract next to its weights: "
        "`CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)`, or build it where it is "
        f"needed: `CiTrusFeatureExtractor.from_config(AutoConfig.from_pretrained({shown}))`."
    )


@contextlib.contextmanager
def loading_extractor_from(name_or_path: Any, kwargs: Mapping[str, Any]) -> Iterator[None]:
    """Within it, an extractor built from saved settings (`from_dict`) comes from the checkpoint `name_or_path`,
    looked up with the `from_pretrained` keywords `kwargs` (those saying where its files are: `revision`, ...)."""
    token = _LOADING_FROM.set((name_or_path, {key: kwargs[key] for key in CHECKPOINT_LOOKUP_KWARGS if key in kwargs}))
    try:
        yield
    finally:
        _LOADING_FROM.reset(token)


def _is_encoder_checkpoint(name_or_path: Any, lookup: Mapping[str, Any], locator: Callable | None) -> bool:
    """Whether the checkpoint `name_or_path` (a folder, a Hub id, or a bundled name that `locator` turns into its
    folder) holds a CiTrus encoder without a task head: a pre-training checkpoint, whose config.json `architectures`
    are all `ENCODER_ARCHITECTURES`. False where that cannot be told (no config.json, another model, unreadable)."""
    if locator is not None and isinstance(name_or_path, str):
        name_or_path = locator(name_or_path) or name_or_path
    try:
        path = cached_file(
            name_or_path,
            CONFIG_NAME,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
            **lookup,
        )
        if path is None:
            return False
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except Exception:  # not found, not JSON: the override is warned of, as for any checkpoint
        return False
    if not isinstance(saved, dict) or saved.get("model_type") != CiTrusConfig.model_type:
        return False
    architectures = saved.get("architectures")
    return bool(architectures) and isinstance(architectures, list) and set(architectures) <= set(ENCODER_ARCHITECTURES)


def _model_config_in(folder: str | os.PathLike) -> CiTrusConfig | None:
    """The config of the CiTrus model saved in the local `folder` (its config.json), or None: no such file, another
    kind of model's (a fusion model's, whose extractors sit in its processor), or one that cannot be read (its own
    loading says why)."""
    path = os.path.join(os.fspath(folder), CONFIG_NAME)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
        if not isinstance(saved, dict) or saved.get("model_type") != CiTrusConfig.model_type:
            return None
        return CiTrusConfig.from_dict(saved)
    except (OSError, ValueError, TypeError):
        return None


def _filter_taps(up: int, down: int) -> int:
    """The taps of the low-pass filter resample_poly designs for `up / down` (`_FILTER_HALF_LENGTH`)."""
    return 2 * _FILTER_HALF_LENGTH * max(up, down) // math.gcd(up, down) + 1


@functools.lru_cache(maxsize=256)
def _resampling_factors(source_rate: float, target_rate: float) -> tuple[int, int]:
    """`(up, down)` with `source_rate * up / down ~= target_rate` to `_RATE_RELATIVE_ERROR`, e.g. 174 -> 100 Hz gives
    (50, 87). The simplest fraction is tried first; near a simple ratio (99.97 Hz beside 100 Hz: 1/1 is 3e-4 off,
    and a rate read from time stamps is often such) the denominator grows until the rate is right, as long as
    resample_poly's filter (`2 * _FILTER_HALF_LENGTH * max(up, down)` taps) stays below `_RATIO_SEARCH_TAPS`."""
    exact = target_rate / source_rate
    max_denominator = _RATE_DENOMINATOR_PER_DECIMATION * max(1, math.ceil(source_rate / target_rate))
    ratio = Fraction(exact).limit_denominator(max_denominator)
    # the largest denominator whose fraction keeps both factors, so the filter, within the tap limit
    largest = int(_RATIO_SEARCH_TAPS / (2 * _FILTER_HALF_LENGTH) / max(1.0, exact))
    while abs(ratio.numerator / (ratio.denominator * exact) - 1) > _RATE_RELATIVE_ERROR and max_denominator < largest:
        max_denominator = min(2 * max_denominator, largest)  # (doubling: the smallest filter that is close enough)
        ratio = Fraction(exact).limit_denominator(max_denominator)
    return ratio.numerator, ratio.denominator


def _resample(signal: np.ndarray, up: int, down: int) -> np.ndarray:
    """Anti-aliased polyphase resampling along the last axis; the first output sample sits at the first input's time.

    The filter needs samples past both ends: the signal is mirrored there (even reflection). Compared with
    resampling the same segment inside a longer recording, mirroring had the lowest average edge error over tones,
    EEG-, ECG- and EMG-like segments: zero padding drags the ends of in-band signals towards zero (5% RMS error on
    1 s at 174 Hz, 1% mirrored) and odd reflection turns the end sample's out-of-band content into a low-frequency
    step (5 times the mirror's error on white noise at 4 kHz). Only about 10 samples at each end are affected: output
    samples, or input samples when upsampling (10 s of output from a 1 Hz input).

    The polyphase branches of the filter pass a constant with gain 1 (`_design_polyphase_filter`; those of
    resample_poly's own design are up to 7e-4 apart), so a level, constant or moving, passes without a ripple. Each
    row's mean is also taken out before filtering and put back after: in float32 the branches' gains are 1 only to
    float32's precision, and an offset (gravity under a 0.05 g movement, an EEG electrode's DC level) would carry
    that rounding into the swing on it.
    """
    if up == down:
        return signal
    rows = signal.reshape(-1, signal.shape[-1])
    # Rows a few at a time, written into the output: each chunk's centred copy and scipy's temporaries are the only
    # copies of the input, so a long recording needs its own size plus the output (a whole-array call held 2.2x the
    # input on top of it: an 8 h, 64-channel EEG at 512 Hz ran out of memory). scipy's polyphase filter releases the
    # GIL, so the chunks of a large input (an hour of 12-lead ECG) run over the threads torch is allowed to use.
    workers = max(1, min(torch.get_num_threads(), rows.shape[0], rows.size // _MIN_SAMPLES_PER_THREAD))
    rows_per_chunk = max(1, min(_RESAMPLE_CHUNK_SAMPLES // rows.shape[-1], -(-rows.shape[0] // workers)))
    starts = range(0, rows.shape[0], rows_per_chunk)
    if len(starts) == 1:
        return _resample_centred(signal, up, down)
    # resample_poly keeps float32 / float64 and returns ceil(n * up / down) samples
    output = np.empty((rows.shape[0], -(-rows.shape[-1] * up // down)), dtype=rows.dtype)

    def resample_into(start: int) -> None:
        chunk = slice(start, start + rows_per_chunk)
        output[chunk] = _resample_centred(rows[chunk], up, down)

    if workers <= 1:
        for start in starts:
            resample_into(start)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(resample_into, starts))
    return output.reshape(*signal.shape[:-1], -1)


def keyword_names(method: Callable[..., Any]) -> frozenset[str]:
    """The names `method` takes as keyword arguments (not `self`, not a `**` catch-all)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = inspect.signature(method).parameters.items()
    return frozenset(name for name, parameter in parameters if parameter.kind in kinds and name != "self")


def _refuse_unexpected_keywords(method: Callable[..., Any], unexpected: Mapping[str, Any]) -> None:
    """Refuse the keyword arguments of `unexpected` that `method` does not take, as Python would (a TypeError), with
    the name meant: `extractor(x, channel_names=[...])` got Python's bare "unexpected keyword argument" while the
    pipeline named `input_channel_names`."""
    if not unexpected:
        return
    accepted = keyword_names(method)
    hints = ", ".join(field_hint(name, accepted) for name in sorted(unexpected))
    raise TypeError(
        f"CiTrusFeatureExtractor.{method.__name__}() got unexpected keyword argument(s) {hints}; it takes "
        f"{', '.join(sorted(accepted))}."
    )


def channel_key(name: Any) -> str:
    """How channel names are matched: case and surrounding spaces aside (" fz" is "Fz")."""
    return str(name_as_text(name, "input_channel_names")).strip().casefold()


def per_channel_list(value: Any, name: str) -> Any:
    """`input_channel_names` / `input_channel_units` (`name`) as a list where given as a generator or another
    one-pass or unsized iterable (a list of names is read once for every recording: a generator failed with "object
    of type 'generator' has no len()"), unchanged otherwise (None, a list, an array; a string, refused where used).

    Raises:
        TypeError: a set, whose order is its hashes', not the recording's channels' (the channels were picked in an
            order that changed with `PYTHONHASHSEED`).
    """
    if isinstance(value, (set, frozenset)):
        raise TypeError(
            f"`{name}` must be a list in the order of the recording's channels, got a {type(value).__name__}, whose "
            f"order is not theirs; pass a list, e.g. {sorted(map(str, value))!r} reordered to match the recording."
        )
    if value is None or isinstance(value, (str, bytes, Sequence, np.ndarray)) or not isinstance(value, Iterable):
        return value
    return list(value)


def missing_channels(expected: Sequence[str], given: Sequence[Any]) -> list[str]:
    """The names of `expected` that `given` lacks, matched by `channel_key`."""
    keys = {channel_key(name) for name in given}
    return [name for name in expected if channel_key(name) not in keys]


def _checked_channel_units(channel_units: Any, num_channels: int | None) -> list[str] | None:
    """`channel_units` (one unit per channel, "" for one not declared) in their canonical spellings (`canonical_unit`),
    or None where none is known (None, or every unit ""), as the extractor keeps them.

    Raises:
        TypeError: a string or another kind of value than a list of units.
        ValueError: another count of units than `num_channels`.
    """
    if channel_units is None:
        return None
    if isinstance(channel_units, str) or not (
        isinstance(channel_units, (list, tuple)) or hasattr(channel_units, "tolist")
    ):
        raise TypeError(
            f"`channel_units` must be a list of units, one per channel (e.g. ['µV', 'µV']), got "
            f"{type(channel_units).__name__} {channel_units!r}."
        )
    units = [
        canonical_unit(unit) for unit in (channel_units.tolist() if hasattr(channel_units, "tolist") else channel_units)
    ]
    if num_channels is not None and len(units) != num_channels:
        raise ValueError(
            f"`channel_units` has {len(units)} entries but `num_channels` is {num_channels}; give one unit per channel "
            '("" for a channel whose unit is not known).'
        )
    return units if any(units) else None


def _all_finite(signal: np.ndarray) -> bool:
    """Whether every sample is finite, without a boolean mask the size of the recording: the float64 sum of finite
    float32 / float64 samples is finite unless it overflows (samples near 1e308), and then the mask decides."""
    with np.errstate(over="ignore"):  # an overflowing sum is expected here: the mask then decides, silently
        total = np.add.reduce(signal, axis=None, dtype=np.float64)
    return bool(np.isfinite(total)) or bool(np.isfinite(signal).all())


def _offsets_removed(signal: np.ndarray) -> np.ndarray:
    """`(channels, time)` floats with the mean of every channel whose offset dwarfs its swing
    (`_OFFSET_TO_SPAN`) removed; `signal` itself when no channel's does. For z-scoring, which removes each window's mean
    anyway: a swing of a few float32 steps on a large offset (24-bit counts 2^23 + 4 sin, in a float .npy or CSV;
    1e5 + 0.05 sin in float64) was rounded on resampling and then zeroed as a constant window. The mean is summed in
    float64; float32 values within a factor 2 of it lose nothing in the subtraction (Sterbenz). A channel whose span
    a baseline step makes large keeps the offset by that rule, so its stretches are looked at too
    (`_stretches_zeroed_as_constant`)."""
    means, far = _far_offsets(signal)
    if not far.any():
        return signal
    centred = signal.copy()
    centred[far] -= means[far, None].astype(signal.dtype)
    return centred


def _far_offsets(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(means, far)` of `(..., time)` floats: every channel's mean (float64) and whether `_offsets_removed` removes
    it, both of shape `signal.shape[:-1]`."""
    means = signal.mean(axis=-1, dtype=np.float64)
    # in float64: float32 samples near +-3.4e38 overflowed `np.ptp` ("overflow encountered in subtract")
    spans = signal.max(axis=-1).astype(np.float64) - signal.min(axis=-1).astype(np.float64)
    far = np.abs(means) > _OFFSET_TO_SPAN * spans
    far |= _stretches_zeroed_as_constant(signal) & (means != 0)
    return means, far


# The stretches `_stretches_zeroed_as_constant` cuts a channel into (at least this many samples each).
_OFFSET_STRETCHES, _OFFSET_STRETCH_MIN_SAMPLES = 16, 64


def _stretches_zeroed_as_constant(signal: np.ndarray) -> np.ndarray:
    """Per channel of `(channels, time)` floats: whether a stretch of it (a 16th of the recording, at least 64
    samples) swings, but by less than z-scoring's rounding tolerance of its mean (`_CONSTANT_RELATIVE_TOLERANCE`; a
    window's std is at most half its span), so that a window there would be zeroed as constant unless the channel's
    offset is removed first. 24-bit counts near 2^23 swinging by a few counts with a +100,000-count baseline step
    half-way (an electrode re-settling) have a large span, and every window away from the step was zeroed. A stretch
    that does not swing at all (a flat electrode) is constant whatever the offset; real recordings' stretches swing
    by far more (EDA quantised at 1.5e-3 on 10 uS: 75x the tolerance)."""
    length = max(_OFFSET_STRETCH_MIN_SAMPLES, signal.shape[-1] // _OFFSET_STRETCHES)
    count = signal.shape[-1] // length
    if count < 2:
        return np.zeros(signal.shape[:-1], dtype=bool)
    stretches = signal[..., : count * length].reshape(*signal.shape[:-1], count, length)
    spans = stretches.max(axis=-1).astype(np.float64) - stretches.min(axis=-1).astype(np.float64)
    levels = np.abs(stretches.mean(axis=-1, dtype=np.float64))
    return ((spans > 0) & (spans < 2 * _CONSTANT_RELATIVE_TOLERANCE * levels)).any(axis=-1)


# resample_poly designs its filter on every call: 0.15 ms for 250 -> 100 Hz, a third of aligning a 0.8 s clip, and
# 140 ms for a rate a hair off a round one (1000.0123 Hz: 1e5 / 81,299 and 2e6 taps). The filter is designed once per
# ratio and kept; filters above this many taps (16 MB at 2e6) in a cache of their own, so that a few of them do not
# push out the everyday ratios, nor many everyday ratios hold many of them.
_LARGE_FILTER_TAPS = 20_001
# The large filters kept, in bytes all together (least recently used dropped first); one larger than this alone is
# designed per call and not kept. Counted in bytes, not filters: a rate a hair off 44.1 kHz (44100.1 Hz -> 100 Hz)
# takes a filter of tens of MB, and a cache of 8 filters of any size held 308 MB after eight 1-second clips at
# 44100.1-44100.8 Hz (up to 8 GiB at `_MAX_FILTER_TAPS`), memory the caller could neither see nor free. The budget
# keeps the filter of one such rate, so that the clips of one device still design it once.
_LARGE_FILTER_CACHE_BYTES = 64 * 2**20


def _design_polyphase_filter(up: int, down: int) -> np.ndarray:
    """The low-pass filter resample_poly designs for `up / down` (Kaiser window, beta 5; `_filter_taps` taps) with
    each of its `up` polyphase branches scaled to pass a constant with gain exactly 1, read-only, in float64
    (resample_poly casts it to the signal's dtype, as it does its own design).

    Why the scaling: resample_poly computes each output sample from one branch (every `up`-th tap), and the branches
    of its own design pass a constant with gains up to 7e-4 apart, so upsampling wrote a ripple at the input's rate
    in proportion to the signal's level: centring (`_resample_centred`) takes out the mean's, not that of a level that
    moves (gravity under a posture change: a 50 Hz alternation of 13 % of a 0.02 g tremor at 50 -> 100 Hz). The
    branches differ from unity by the filter's ripple alone, so the scaling changes no frequency response by more
    than that; with one branch (up == 1, decimation) firwin's own scaling already gives gain 1 and nothing changes."""
    from scipy.signal import firwin

    up, down = up // math.gcd(up, down), down // math.gcd(up, down)  # as resample_poly reduces them
    taps = firwin(_filter_taps(up, down), 1.0 / max(up, down), window=("kaiser", 5.0))  # as resample_poly designs it
    if up > 1:
        # resample_poly pads the filter at its start before splitting it, which relabels the branches, not their taps
        branches = np.zeros(-(-taps.size // up) * up)
        branches[: taps.size] = taps
        branches = branches.reshape(-1, up)
        taps = (branches / (up * branches.sum(axis=0))).reshape(-1)[: taps.size]
    taps.flags.writeable = False
    return taps


class _FiltersWithinBytes:
    """`_design_polyphase_filter(up, down)` kept by ratio while the filters kept hold at most `max_bytes` in all, the
    least recently used dropped first; a filter larger than `max_bytes` on its own is designed per call. Thread-safe
    (the extractor resamples in threads); two threads asking for a new ratio at once may both design it."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._filters: collections.OrderedDict[tuple[int, int], np.ndarray] = collections.OrderedDict()
        self._lock = threading.RLock()  # re-entrant: `nbytes` takes it too

    def __call__(self, up: int, down: int) -> np.ndarray:
        with self._lock:
            kept = self._filters.get((up, down))
            if kept is not None:
                self._filters.move_to_end((up, down))
                return kept
        taps = _design_polyphase_filter(up, down)  # seconds for the largest: outside the lock
        if taps.nbytes <= self.max_bytes:
            with self._lock:
                self._filters[(up, down)] = taps
                while self.nbytes > self.max_bytes:
                    self._filters.popitem(last=False)
        return taps

    @property
    def nbytes(self) -> int:
        """The bytes of the filters kept now."""
        with self._lock:
            return sum(taps.nbytes for taps in self._filters.values())

    def cache_clear(self) -> None:
        """Drop every filter kept (as `functools.lru_cache`'s `cache_clear`)."""
        with self._lock:
            self._filters.clear()


_large_polyphase_filter = _FiltersWithinBytes(_LARGE_FILTER_CACHE_BYTES)
_everyday_polyphase_filter = functools.lru_cache(maxsize=64)(_design_polyphase_filter)


def _polyphase_filter(up: int, down: int) -> np.ndarray:
    """`_design_polyphase_filter(up, down)`, designed once per ratio (see `_LARGE_FILTER_TAPS`)."""
    if _filter_taps(up, down) > _LARGE_FILTER_TAPS:
        return _large_polyphase_filter(up, down)
    return _everyday_polyphase_filter(up, down)


def _resample_centred(signal: np.ndarray, up: int, down: int) -> np.ndarray:
    """`resample_poly` of `(..., time)` with each row's mean removed before and restored after (see `_resample`),
    through `_design_polyphase_filter`'s filter (resample_poly's design, its branches at unity gain), cast to the
    signal's dtype as resample_poly casts its own."""
    # imported on first use, as `firwin` is: importing scipy.signal is a tenth of the time a fresh process takes to
    # import the package and transformers and load a checkpoint, spent by every process that never resamples
    from scipy.signal import resample_poly

    mean = signal.mean(axis=-1, keepdims=True, dtype=np.float64).astype(signal.dtype)
    window = _polyphase_filter(up, down).astype(signal.dtype)  # (a copy: resample_poly scales it in place)
    resampled = resample_poly(signal - mean, up, down, axis=-1, window=window, padtype=_PADTYPE)
    return (resampled + mean).astype(resampled.dtype, copy=False)


def _interpolate_linear(signal: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of `(..., time)` onto exactly `length` samples, first and last samples kept in place."""
    source_length = signal.shape[-1]
    positions = np.arange(length, dtype=np.float64) * ((source_length - 1) / max(length - 1, 1))
    left = np.minimum(np.floor(positions).astype(np.int64), source_length - 2)
    weight = (positions - left).astype(signal.dtype)
    return signal[..., left] * (1 - weight) + signal[..., left + 1] * weight


def fill_non_finite(
    signal: np.ndarray, recording_index: int, drop_before: str = "calling the feature extractor"
) -> np.ndarray:
    """A copy of `signal` `(channels, time)` with NaN / inf replaced by linear interpolation between the nearest
    finite samples of the same channel (`nan_policy="interpolate"`); `recording_index` names it in the error, and
    `drop_before` says before what the caller's user drops a channel with no finite value (the feature extractor, or
    another reader of the rows, such as the MiniRocket baseline's)."""
    signal = signal.copy()
    time = np.arange(signal.shape[-1])
    for channel, values in enumerate(signal):
        finite = np.isfinite(values)
        if finite.all():
            continue
        if not finite.any():
            raise ValueError(
                f"channel {channel} of recording {recording_index} has no finite value, so there is nothing to "
                f"interpolate from; drop that channel (or recording) before {drop_before}."
            )
        values[~finite] = np.interp(time[~finite], time[finite], values[finite])
    return signal


def _missing_per_sample(values: np.ndarray | torch.Tensor) -> np.ndarray:
    """`(time,)` bool: whether every channel of `values` `(time,)` or `(channels, time)` is NaN (or masked, in a numpy
    masked array) at each sample."""
    if isinstance(values, torch.Tensor):
        missing = values.detach().isnan() if values.is_floating_point() else torch.zeros(values.shape, dtype=torch.bool)
        return missing.reshape(-1, values.shape[-1]).all(dim=0).cpu().numpy()
    missing = np.ma.getmaskarray(values) if isinstance(values, np.ma.MaskedArray) else False
    if np.asarray(values).dtype.kind in "fc":
        missing = missing | np.isnan(np.ma.getdata(values))
    return np.broadcast_to(missing, values.shape).reshape(-1, values.shape[-1]).all(axis=0)


def nan_padding_span(recording: np.ndarray | torch.Tensor) -> tuple[int, int]:
    """`(start, stop)`: the samples of `recording` `(time,)` or `(channels, time)` (numpy, masked or torch) between the
    runs at its start and its end where every channel is NaN or masked. Such runs are length padding: recordings of
    different durations stacked into one array (tslearn's `to_time_series_dataset`, a masked array of them) are
    NaN after each one's end. `(0, time)` without such runs, and for a recording of NaN only (nothing to keep)."""
    length = recording.shape[-1]
    if not length or not _missing_per_sample(recording[..., [0, length - 1]]).any():
        return 0, length  # (reads two samples: a recording without padding costs no scan)
    present = np.flatnonzero(~_missing_per_sample(recording))
    return (int(present[0]), int(present[-1]) + 1) if len(present) else (0, length)


def longest_non_finite_run(recording: np.ndarray) -> tuple[int, int]:
    """`(start, length)` in samples of the longest run of `recording` `(channels, time)` at each of whose samples some
    channel is NaN or infinite; `(0, 0)` where every sample is finite. A gap in the recording (a device off, a WFDB
    record's '~' segment, which wfdb reads as NaN) is such a run, where a lost sample is one of a few samples."""
    bad = ~np.isfinite(recording).reshape(-1, recording.shape[-1]).all(axis=0)
    if not bad.any():
        return 0, 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bad.astype(np.int8), [0]])))
    starts, lengths = edges[::2], edges[1::2] - edges[::2]
    longest = int(np.argmax(lengths))
    return int(starts[longest]), int(lengths[longest])


def long_non_finite_run_words(recording: np.ndarray, start: int, length: int) -> tuple[str, str, str]:
    """What a run of `length` non-finite samples of `recording` `(..., time)` from `start` on is called in a refusal:
    `(what it is, the runs' plural, their possessive)`. A run holding NaN is a gap; a run without NaN is of infinite
    values, which no device writes for a pause: an overflow, not a gap."""
    if np.isnan(recording[..., start : start + length]).any():
        return "a gap in the recording (a device off, a WFDB record's '~' segment)", "gaps", "the gaps'"
    return (
        "infinite values throughout (an overflow or a division by zero upstream)",
        "runs of infinite values",
        "their",
    )


# Said where one 2-D array or tensor meets a checkpoint of another channel count: transformers' audio feature
# extractors read a 2-D array as a batch of mono recordings, and a batched `datasets` map over a numpy- or
# torch-formatted column of single-channel rows hands over exactly that `(batch, time)` array. Read as one
# `(channels, time)` recording, its rows would become the channels of one example (8 rows in, 2 out, each a mixture).
ONE_ARRAY_IS_ONE_RECORDING = (
    "A 2-D array or tensor is one recording, (channels, time), not a batch of single-channel recordings as "
    "transformers' audio feature extractors read it (a batched `datasets` `map` over a numpy- or torch-formatted "
    "column hands over such a (batch, time) array); for a batch of single-channel recordings pass `x[:, None, :]` "
    "(batch, 1, time) or `list(x)`."
)

# Said where a list of equal-length Python lists meets one rate: transformers' audio feature extractors read it as a
# batch of mono recordings, and so does this one, but a `(channels, time)` row of a `datasets` set read in its default
# (Python) format is exactly that too; read as a batch, its channels become separate examples (4 in, 4 out).
LIST_OF_LISTS_IS_A_BATCH = (
    "A list of equal-length lists is read as a batch of single-channel recordings, one per list, as transformers' "
    "audio feature extractors read it. If they are the channels of one recording (a (channels, time) row of a "
    "`datasets` set comes as nested lists), pass `np.asarray(row)`; for a batch, give one rate per recording or a "
    "list of arrays, which this notice does not follow."
)


def _looks_like_one_row_of_channels(raw_signal: Any, sampling_rate: Any) -> bool:
    """Whether `raw_signal` is a list of several equal-length Python lists of samples given one rate: read as a batch,
    though a multi-channel `datasets` row looks the same (`LIST_OF_LISTS_IS_A_BATCH`)."""
    if not isinstance(raw_signal, (list, tuple)) or len(raw_signal) < 2 or not is_real_number(sampling_rate):
        return False
    if not all(isinstance(item, (list, tuple)) and item and _is_sample(item[0]) for item in raw_signal):
        return False
    return len({len(item) for item in raw_signal}) == 1


def check_numeric_labels(key: str, labels: np.ndarray, what: str) -> None:
    """Refuse a batch's `labels` (stacked from its `what`: examples, rows) that hold class names rather than ids, with
    the fix: the collators would hand them to torch, whose conversion error suggests padding instead."""
    if labels.dtype.kind in "USO":
        raise ValueError(
            f"`{key}` of the {what} are {'strings' if labels.dtype.kind in 'US' else 'objects'} (e.g. "
            f"{str(labels.flat[0])!r}); the model needs class ids: `dataset = dataset.cast_column({key!r}, "
            "ClassLabel(names=[...]))` before training, with every class name listed (the same ids in every split)."
        )


def stack_row_values(key: str, values: list, what: str) -> np.ndarray:
    """One array `(len(values), ...)` of every example's `key` (taken from its `what`: examples, rows), refusing
    values of different shapes with the fix (numpy's "inhomogeneous shape" names neither the key nor the cause)."""
    try:
        return np.asarray([row_value_as_numpy(value) for value in values])
    except ValueError:
        raise ValueError(
            f"`{key}` of the {what} have different shapes; give each example one value of one shape (a class id, or a "
            "fixed-length vector)."
        ) from None


def row_value_as_numpy(value: Any) -> Any:
    """A tensor as numpy (other values as they are), for stacking the columns of rows (`pad`, the collators): a
    bfloat16 one as float32, which holds every value, as numpy has no bfloat16 (a bf16 `labels` or window failed
    inside torch with "Got unsupported ScalarType BFloat16")."""
    if not isinstance(value, torch.Tensor):
        return value
    value = value.detach().cpu()
    return (value.float() if value.dtype == torch.bfloat16 else value).numpy()


def _missing_input_values(keys: list) -> str:
    return (
        f"no `input_values` to pad among the keys {keys}; `pad` batches the output of this feature extractor "
        "(rename the column that holds it, or run the extractor first)."
    )


def several_windows_per_row(count: int, shape: tuple[int, ...]) -> str:
    """Why a row holds `count` windows (`input_values` of `shape` `(count, channels, time)`) and one label, and the fix,
    for the errors of `pad` and of the `Trainer` checks: `extractor(recording, alignment="window")` in a map of one
    row at a time cuts the recording into windows and keeps them all in its row (with `recording_index` and
    `window_start_seconds`), which no batch of `(channels, time)` examples takes."""
    return (
        f"{count} windows in one row (`input_values` of shape {tuple(shape)}) with one label: alignment='window' cut a "
        "recording into windows, and a map of one row at a time kept them in its row. Give each window a row of its "
        "own: map with batched=True (and remove_columns=dataset.column_names) a function that returns the "
        "extractor's windows of the batch's recordings and, as their labels, each recording's repeated by "
        "`recording_index`: `[batch['labels'][i] for i in windows['recording_index']]`; or keep one window per "
        "recording (its start) with alignment='resample'."
    )


def _check_return_tensors(return_tensors: Any) -> None:
    """Refuse, before any work, a `return_tensors` this extractor does not produce (transformers' own message, after
    the alignment, would offer formats the package does not support)."""
    if return_tensors is None or return_tensors in (TensorType.PYTORCH, TensorType.NUMPY):
        return
    raise ValueError(
        f"`return_tensors={return_tensors!r}` is not supported; pass 'pt' for torch tensors, or 'np' (or None) for "
        "numpy arrays."
    )


def _checked_choice(name: str, value: Any, choices: Sequence[str]) -> Any:
    if value not in choices:
        raise ValueError(f"`{name}={value!r}` is not supported; choose one of {', '.join(map(repr, choices))}.")
    return value


def _checked_size(name: str, value: Any) -> int:
    """`context_length` or `num_channels`: a positive integer within `SIZE_LIMITS` (a saved window of 10**12 samples
    was taken as it was: the first call with padding="max_length" asked numpy for terabytes)."""
    value = as_integer(name, value, minimum=1)
    check_size_limits(**{name: value})
    return value


def _checked_channel_names(channel_names: Any) -> Any:
    if isinstance(channel_names, str):  # its letters would be counted as channel names
        raise TypeError(
            f"`channel_names` must be a list of names, one per channel, got the string {channel_names!r}; pass "
            f"[{channel_names!r}] for a single channel."
        )
    if channel_names is not None and not isinstance(channel_names, (list, tuple)):
        raise TypeError(
            f"`channel_names` must be a list of names, one per channel, got {type(channel_names).__name__} "
            f"{channel_names!r}."
        )
    return channel_names


def _checked_statistics(extractor: Any, name: str, values: Any) -> list[float] | None:
    """`normalization_mean` / `normalization_std` as a list of floats: numbers (and positive ones for the standard
    deviation); their count is checked against the channels with the other settings (`_check_consistency`)."""
    mean, std = (values, None) if name == "normalization_mean" else (None, values)
    check_normalization_statistics("none", mean, std, extractor.__dict__.get("num_channels", 1))
    return None if values is None else [float(value) for value in values]


def _checked_hop_length(hop_length: Any) -> int | None:
    if hop_length is not None and (
        not isinstance(hop_length, numbers.Integral) or isinstance(hop_length, bool) or hop_length < 1
    ):
        raise ValueError(
            f"`hop_length` must be a positive number of model-rate samples (or None for `context_length`), got "
            f"{hop_length!r}."
        )
    return None if hop_length is None else int(hop_length)


def _checked_padding_value(padding_value: Any) -> float:
    if not is_real_number(padding_value) or not math.isfinite(padding_value):
        raise ValueError(f"`padding_value` must be a finite number, got {padding_value!r}.")
    return float(padding_value)


def _checked_padding_side(padding_side: Any) -> str:
    # `SequenceFeatureExtractor` takes, saves and reloads any `padding_side`, but alignment and `pad` always pad at
    # the end, so "left" (the transformers habit for keeping the ends of short inputs aligned) or a typo was kept and
    # silently ignored. Left padding is not offered: the model numbers its patches from the window's start, so a
    # window padded at its start would put the signal at positions it never had in pre-training. It is saved as
    # transformers saves it, so that an extractor saved with "right" (every one ever saved that worked as it said)
    # still loads.
    if padding_side != "right":
        raise ValueError(
            f"`padding_side={padding_side!r}` is not supported: CiTrus pads windows at their end (on the right) and "
            "marks the padding in `patch_mask`, which the model reads, so short recordings keep their start at the "
            "window's start. Leave padding_side out (or set it to 'right', also in a saved preprocessor_config.json)."
        )
    return padding_side


def _check_feature_size(feature_size: Any, num_channels: int) -> None:
    """Refuse a `feature_size` (`SequenceFeatureExtractor`'s setting, saved beside the CiTrus ones) other than the
    channel count, which it always is here: `CiTrusFeatureExtractor(feature_size=3)` built a one-channel extractor."""
    if feature_size is not None and feature_size != num_channels:
        raise ValueError(
            f"`feature_size` (transformers' features per time step; {feature_size!r} given) is the channel count here: "
            f"pass num_channels={feature_size!r}, which sets it (it is {num_channels} now)."
        )


def _checked_stretched_seconds(value: Any) -> list[float] | None:
    """`stretched_seconds` as `[shortest, longest]` floats: two positive finite durations, the first not above the
    second (None: not recorded)."""
    if value is None:
        return None
    durations = list(value) if isinstance(value, (list, tuple)) or hasattr(value, "tolist") else None
    if (
        durations is None
        or len(durations) != 2
        or not all(is_real_number(each) and math.isfinite(each) and each > 0 for each in durations)
        or durations[0] > durations[1]
    ):
        raise ValueError(
            f"`stretched_seconds` must be [shortest, longest]: the durations in seconds of the recordings the "
            f"checkpoint was fitted on stretched onto its window, two positive numbers in order; got {value!r}."
        )
    return [float(each) for each in durations]


# The settings checked whenever they are set, the constructor's own assignments included, so that
# `extractor.normalization = "z-score"` is refused as `CiTrusFeatureExtractor(normalization="z-score")` is, in the same
# words: assigned unchecked, a misspelt normalisation turned normalisation off silently, `pad_last_window = "False"`
# turned it on, and the folder saved afterwards could not be loaded. `check(extractor, value)` returns the value as it
# is stored, or raises. Checks that involve several settings (`_check_consistency`) run when the extractor is built,
# used or saved, so that settings that go together can be assigned one after the other. A new setting adds its check
# here.
_SETTING_CHECKS: dict[str, Callable[[Any, Any], Any]] = {
    "sampling_rate": lambda _, value: as_sampling_rate(value),
    "context_length": lambda _, value: _checked_size("context_length", value),
    "num_channels": lambda _, value: _checked_size("num_channels", value),
    "patch_length": lambda _, value: as_integer("patch_length", value, minimum=1),
    "channel_names": lambda _, value: _checked_channel_names(value),
    # (their count is checked against the channels with the other settings, `_check_consistency`)
    "channel_units": lambda _, value: _checked_channel_units(value, None),
    "stretched_seconds": lambda _, value: _checked_stretched_seconds(value),
    "channel_independent": lambda _, value: as_bool("channel_independent", value),
    "normalization": lambda _, value: _checked_choice("normalization", value, NORMALIZATIONS),
    "normalization_mean": lambda extractor, value: _checked_statistics(extractor, "normalization_mean", value),
    "normalization_std": lambda extractor, value: _checked_statistics(extractor, "normalization_std", value),
    "alignment": lambda _, value: _checked_choice("alignment", value, ALIGNMENTS),
    "hop_length": lambda _, value: _checked_hop_length(value),
    "pad_last_window": lambda _, value: as_bool("pad_last_window", value),
    "padding_value": lambda _, value: _checked_padding_value(value),
    "nan_policy": lambda _, value: _checked_choice("nan_policy", value, NAN_POLICIES),
    "padding": lambda _, value: _checked_choice("padding", value, PADDINGS),
    "padding_side": lambda _, value: _checked_padding_side(value),
    "max_window_bytes": lambda _, value: None if value is None else as_integer("max_window_bytes", value, minimum=1),
}


class _WindowPlan(NamedTuple):
    """Where one recording's windows of `alignment="window"` start, before any is cut (`_plan_windows`)."""

    signal: np.ndarray  # (channels, length) at the model rate
    starts: np.ndarray  # window starts in model-rate samples: the full windows on the hop, then the padded last one
    num_full: int  # full windows on the hop (the last window `pad_last_window` adds, if any, comes after them)
    # model-rate sample k lies at k * down / up_rate seconds of the original recording (`up` and `down` of the exact
    # rational resampling ratio, `up_rate` = up x the recording's rate), divided last: k x (down / up_rate) put the
    # third window of a 0.7 s hop at 1.4000000000000001 s
    down: int
    up_rate: float
    first_second: float  # where `signal` starts in the recording given (after the NaN padding left out before it)


# A list of equal recordings is stacked and checked as one array only where each holds at most this many samples:
# checking a recording costs about 0.1 ms besides its samples, which matters for 10,000 beats of 288 samples, not for
# a few long recordings, whose stacked copy (all of their samples again: 4 x 16 MB held 64 MB more) would only cost.
_STACKED_RECORDING_SAMPLES = _NORMALIZE_CHUNK_SAMPLES


def _exact_in_float32(counts: np.ndarray) -> bool:
    """Whether every integer of `counts` is one float32 holds exactly (within +-2^24)."""
    return counts.size == 0 or (int(counts.max()) < 2**24 and int(counts.min()) > -(2**24))


class _CheckedRecordings(list):
    """The `(channels, time)` recordings `_check_batch` checked, with `batch`: the `(batch, channels, time)` array
    whose rows they are, or None where some are not (so that resampling them takes that array rather than stacking
    them again)."""

    def __init__(self, recordings: list[np.ndarray], batch: np.ndarray | None):
        super().__init__(recordings)
        self.batch = batch


def _one_numeric_layout(recordings: list[np.ndarray]) -> bool:
    """Whether `recordings` all have one shape and one float or integer dtype (so that they stack into one batch),
    each short enough (`_STACKED_RECORDING_SAMPLES`) that stacking them is worth its copy."""
    first = recordings[0]
    return (
        first.dtype.kind in "fiu"
        and first.size <= _STACKED_RECORDING_SAMPLES
        and all(recording.shape == first.shape and recording.dtype == first.dtype for recording in recordings)
    )


class WindowFeatures(BatchFeature):
    """The `BatchFeature` of `alignment="window"` (and `iter_windows`): the model inputs and the windows' bookkeeping
    (`WINDOW_BOOKKEEPING`: `recording_index`, `window_start_seconds`). `to(...)` casts the model inputs as transformers
    does and moves the bookkeeping to their device in its own dtype: `features.to(torch.bfloat16)` also rounded the
    float64 start times (16 s off after 2 h; in float16, inf after 18 h)."""

    def to(self, *args, **kwargs) -> WindowFeatures:
        kept = {key: self.data[key] for key in WINDOW_BOOKKEEPING if key in self.data}
        super().to(*args, **kwargs)
        devices = [value.device for key, value in self.items() if key not in kept and isinstance(value, torch.Tensor)]
        for key, value in kept.items():
            if devices and isinstance(value, torch.Tensor):
                value = value.to(device=devices[0], non_blocking=kwargs.get("non_blocking", False))
            self.data[key] = value
        return self


class CiTrusFeatureExtractor(ChecksSaveDirectory, SerialisesBeforeWriting, SequenceFeatureExtractor):
    r"""
    Aligns bio-signal recordings to a CiTrus checkpoint's input contract (sampling rate, window length, channels) and
    normalises them. Build it from the model's config so it always matches the checkpoint:
    `CiTrusFeatureExtractor.from_config(model.config)`; it saves as `preprocessor_config.json` and loads with
    `AutoFeatureExtractor.from_pretrained`.

    Alignment strategies (`alignment`, also selectable per call):

    - `"resample"` (default): anti-aliased polyphase resampling (`scipy.signal.resample_poly`, Kaiser window) from
      the recording's rate to `sampling_rate`, then crop to `context_length` (keeping the *start*; use `"window"` to
      cover a long recording) and pad as `padding` says: `"longest"` (default) keeps the recordings' own duration,
      padded to the longest of the call and rounded up to whole patches (the model takes any whole number of
      patches: a 0.6 s heartbeat stays 0.6 s, not 3% of a 30 s window); `"max_length"` pads every recording to
      `max_length` (default `context_length`) samples. Padding is appended at the end with `padding_value` and
      `patch_mask` marks the patches that hold no real sample; when most of the window would be padding, the
      extractor says so (once).
    - `"interpolate"`: linear interpolation of the whole recording onto exactly `context_length` samples, first and
      last samples kept in place, ignoring the rate, as the paper does for very short windows (Epilepsy's 1 s). It
      changes the apparent frequency content: the recording's `f * length / rate` cycles now span the model's
      `context_length / sampling_rate` seconds, so a 10 Hz rhythm in 178 samples at 174 Hz looks like 0.34 Hz to a
      100 Hz / 3000-sample model. `sampling_rate` is still required (validation). Compressing a recording longer than
      `context_length` this way aliases (no anti-aliasing filter, as in the paper). Recordings of different durations
      are stretched by different factors: a checkpoint records the durations it was fitted on (`stretched_seconds`),
      and its pipeline warns of a recording of another duration.
    - `"window"`: a long recording (a night, an hour) is resampled once, then cut into `context_length` windows
      every `hop_length` model-rate samples (default `context_length`, no overlap). The last partial window (samples
      no full window covers) is dropped unless `pad_last_window=True`, which pads it at the end like `"resample"`.
      It starts one hop after the last full window; with a hop longer than the window, the samples between windows
      are left out (the gaps that hop asks for), but not the recording's end: where the next hop starts past it,
      the padded window starts right after the last full window (or one window before the end, whole, where more
      than a window is left).
      A recording too short for one full window raises unless `pad_last_window=True`. The output says which
      recording (`recording_index`) and which time in its *original* timeline (`window_start_seconds`) each window
      came from.

    Normalisation (after alignment, over real samples only; padding is set to `padding_value` afterwards):
    `"zscore"` per window and channel (a numerically constant channel becomes zeros, not NaN), `"none"`, or `"fixed"`
    (subtract `normalization_mean`, divide by `normalization_std`, one value per channel).

    Channels: a recording with a different channel count from `num_channels` raises unless `input_channel_names` is
    given at call time (the checkpoint's `channel_names` are picked out of it by name, in the checkpoint's order) or
    the model is channel-independent (`channel_independent=True`): CiTrus encodes every channel on its own with shared
    weights, so extra or fewer channels are passed through unchanged as separate token sequences.

    Args:
        sampling_rate (`float`, defaults to 100.0): the model's sampling rate in Hz.
        context_length (`int`, defaults to 3000): samples per model window; a multiple of `patch_length`.
        num_channels (`int`, defaults to 1): channels the checkpoint expects.
        patch_length (`int`, defaults to 20): samples per patch (token); sets the resolution of `patch_mask`.
        channel_names (`list[str]`, *optional*): the checkpoint's channel names, used to pick channels by name.
        channel_units (`list[str]`, *optional*): the unit each channel of the training data was in, as its files
            declared it ("µV", "mV", "%"; "" for a channel whose unit was not declared), kept in one spelling
            (`vocabulary_citrus.canonical_unit`: "uV" is "µV"). `citrus finetune` records it for files that declare
            their units (EDF, WFDB); None where the unit is not known (arrays, .npy, CSV). A recording given with
            its units (`input_channel_units`, or a file the pipelines and `citrus predict` read) is converted to
            these where both are voltages (nV, µV, mV, V: a power of 1000) and refused where they cannot be.
        channel_independent (`bool`, defaults to `True`): whether the model accepts any channel count.
            `from_config` sets it to `not config.fixes_channel_count`: an encoder, or a head that averages its
            channels, takes any count; a task head that concatenates them (`"concat"`) needs `num_channels`.
        normalization (`str`, defaults to `"zscore"`): `"zscore"`, `"none"` or `"fixed"`.
        normalization_mean / normalization_std (`list[float]`, *optional*): per-channel statistics for `"fixed"`.
        alignment (`str`, defaults to `"resample"`): `"resample"`, `"interpolate"` or `"window"`.
        padding (`str`, defaults to `"longest"`): for `"resample"`, `"longest"` (the recordings' own duration,
            rounded up to whole patches, at most `context_length`) or `"max_length"` (always `context_length`).
        hop_length (`int`, *optional*): model-rate samples between window starts for `"window"`; defaults to
            `context_length`.
        pad_last_window (`bool`, defaults to `False`): keep the last partial window of `"window"`, padded: the
            recording's end is always scored, also with a hop longer than the window.
        padding_value (`float`, defaults to 0.0): value of padded samples (after normalisation: 0 is the z-score mean).
        nan_policy (`str`, defaults to `"raise"`): `"raise"` on NaN / inf, or `"interpolate"` them linearly from
            the neighbouring finite samples of the same channel. The masked samples of a numpy masked array are
            missing values too (NaN). Runs of samples NaN in every channel at a recording's start or end are length
            padding (recordings of different durations stacked into one array, as tslearn's
            `to_time_series_dataset` or a masked array holds them): `"interpolate"` leaves them out, so the recording
            keeps its own duration (window times stay those of the array given), and `"raise"` says they look like
            padding.
        stretched_seconds (`list[float]`, *optional*): `[shortest, longest]` duration in seconds of the recordings
            a checkpoint was fitted on stretched onto its window (`"interpolate"`; `citrus finetune` records it).
            Each was stretched by its own duration's factor, so the pipeline warns of a recording of another
            duration, whose frequencies the stretch scales otherwise. Not used by the extractor itself.

    Example:

    ```python
    >>> import numpy as np
    >>> from citrus_hf import CiTrusConfig
    >>> from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
    >>> extractor = CiTrusFeatureExtractor.from_config(CiTrusConfig(channel_pooling="mean"))
    >>> emg = np.random.default_rng(0).standard_normal((8, 1, 1500))  # 8 EMG windows at 4 kHz
    >>> features = extractor(emg, sampling_rate=4000, return_tensors="pt")
    >>> features["input_values"].shape  # 0.375 s at 100 Hz is 38 samples: kept as 2 patches of 20
    torch.Size([8, 1, 40])
    >>> fixed = extractor(emg, sampling_rate=4000, padding="max_length", return_tensors="pt")
    >>> fixed["input_values"].shape, int(fixed["patch_mask"][0].sum())  # the 30 s window: 2 patches of signal
    (torch.Size([8, 1, 3000]), 2)

    ```
    """

    model_input_names = ["input_values", "patch_mask"]
    # `locate(name) -> folder | None` for checkpoints shipped inside the citrus_hf package ("citrus-small"); set by
    # the package when it is installed (`citrus_hf._auto`), None in remote code.
    _checkpoint_locator = None
    # `hint(name) -> str`: the sentence naming the bundled checkpoint a failed name may be a typo of, or "".
    _typo_hint = None

    # The input contract, which `save_pretrained` always writes (the model config's, `CiTrusConfig`): a saved
    # extractor without one of them was edited or damaged, and loading refuses it rather than take the default.
    saved_contract_fields = CiTrusConfig.saved_contract_fields
    # Keys transformers writes into the file beside the extractor's own settings.
    _TRANSFORMERS_KEYS = ("feature_extractor_type", "processor_class", "auto_map")
    # Settings `SequenceFeatureExtractor` itself takes (and saves), and the keys transformers writes.
    _INHERITED_SETTINGS = frozenset(("return_attention_mask", "padding_side", *_TRANSFORMERS_KEYS))

    records_citrus_version = True  # preprocessor_config.json names the citrus-hf that wrote it
    # Settings of this process, not of the checkpoint: never saved, and ignored (with a note) in a saved file.
    _PROCESS_SETTINGS = ("max_window_bytes",)
    # `check(extractor, config, folder)`: refuses (or warns of) an extractor saved into `folder` beside a CiTrus model
    # whose `config` has another input contract, as the pipelines refuse such a pair (`inference.pipelines.
    # check_contract`); set by the package (`publishing.hooks`), None in remote code.
    _folder_contract_check = None

    @property
    def feature_size(self) -> int:
        """`SequenceFeatureExtractor`'s features per time step: here always the channel count, which `num_channels`
        sets."""
        return self.num_channels

    @feature_size.setter
    def feature_size(self, value: Any) -> None:
        # (`SequenceFeatureExtractor`'s constructor sets it before the channel count is)
        if "num_channels" in self.__dict__:
            _check_feature_size(value, self.num_channels)

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, *args, **kwargs
    ) -> CiTrusFeatureExtractor:
        """`FeatureExtractionMixin.from_pretrained` (its optional parameters by position too: `cache_dir`, ...),
        whose messages name a revision only where one was typed (`default_revision_unset`)."""
        return super().from_pretrained(pretrained_model_name_or_path, *args, **default_revision_unset(args, kwargs))

    @classmethod
    def get_feature_extractor_dict(cls, pretrained_model_name_or_path, **kwargs):
        """The transformers method, which also takes the name of a bundled checkpoint ("citrus-small") and checks the
        saved settings (`_checked_saved_settings`), naming the checkpoint in its messages."""
        subfolder = kwargs.get("subfolder")  # (transformers takes it out of the keywords it returns)
        try:
            values, kwargs = lookup_checkpoint(
                cls, super().get_feature_extractor_dict, pretrained_model_name_or_path, FEATURE_EXTRACTOR_NAME, **kwargs
            )
        except MissingSubfolderError:
            raise
        except OSError:
            hint = extractor_lookup_hint(pretrained_model_name_or_path, kwargs)
            if hint is None:
                raise
            # (the bundled name a failed one may be a typo of, "citrus-smal", as the config's lookup adds it)
            typo = cls._typo_hint(pretrained_model_name_or_path) if cls._typo_hint is not None else ""
            raise OSError(hint + ("" if typo in hint else typo)) from None
        values, kwargs = cls._checked_saved_settings(
            values,
            kwargs,
            f"{checkpoint_read(pretrained_model_name_or_path, subfolder)!r}: its preprocessor_config.json",
        )
        lookup = {key: kwargs[key] for key in CHECKPOINT_LOOKUP_KWARGS if key in kwargs}
        return {**values, cls._CHECKED_MARK: True, cls._ORIGIN_MARK: (pretrained_model_name_or_path, lookup)}, kwargs

    # Marks settings `get_feature_extractor_dict` has checked, so that `from_dict` checks those it is given directly.
    _CHECKED_MARK = "_citrus_settings_checked"
    # Carries the checkpoint they were read from to `from_dict` (`(name_or_path, lookup keywords)`), as
    # `loading_extractor_from` does for AutoFeatureExtractor.
    _ORIGIN_MARK = "_citrus_settings_origin"

    @classmethod
    def from_dict(cls, feature_extractor_dict: dict[str, Any], **kwargs):
        """The transformers method. Settings read from a saved file that this class's `get_feature_extractor_dict`
        did not check (`AutoFeatureExtractor.from_pretrained` reads the file with transformers' own) are checked here
        as they are there (`_checked_saved_settings`); a dict built by hand is taken as given."""
        values = dict(feature_extractor_dict)
        checked = values.pop(cls._CHECKED_MARK, False)
        origin = values.pop(cls._ORIGIN_MARK, None) or _LOADING_FROM.get()
        saved = checked or "feature_extractor_type" in values  # read from a file (`save_pretrained` always writes it)
        if saved and not checked:
            values, kwargs = cls._checked_saved_settings(values, kwargs, "the checkpoint's preprocessor_config.json")
        if saved and "sampling_rate" in kwargs:
            # the audio habit of stating the data's rate when loading (`from_pretrained(path, sampling_rate=250)`)
            # retargets the extractor instead: it would resample every recording to that rate for a model trained at
            # the saved one, and feed it windows of another duration, without a word (the model's own
            # `from_pretrained` warns about the same override)
            warn_of_rate_override(
                kwargs["sampling_rate"],
                values.get("sampling_rate"),
                "this extractor will resample every recording to {rate} Hz, and the model will see signals at that rate",
                "`sampling_rate=` here sets the model's input rate. A recording's own rate goes to the call: leave "
                "sampling_rate out here and pass `extractor(recording, sampling_rate={rate})`, which resamples the "
                "recording to the checkpoint's rate.",
            )
        if saved:
            cls._warn_of_contract_overrides(values, kwargs, origin)
        if "feature_size" in kwargs:  # (transformers puts a keyword the file names into the file's settings)
            _check_feature_size(kwargs["feature_size"], kwargs.get("num_channels", values.get("num_channels")))
        # transformers applies only the keywords the file names and drops the rest without a word, so a typo
        # (`from_pretrained(path, sample_rate=250)`) would keep the saved contract silently
        cls._refuse_misspelt_settings([key for key in kwargs if key not in values and key != "return_unused_kwargs"])
        # (AutoFeatureExtractor reads the file with transformers' own lookup, which drops a misspelt `revison`)
        check_loading_options(f"{cls.__name__}.from_pretrained", kwargs)
        # the file's own unknown keys were warned about above (a saved file loads); the constructor refuses only the
        # keywords a caller types
        token = _BUILDING_FROM_SAVED_SETTINGS.set(saved)
        try:
            return super().from_dict(values, **kwargs)
        finally:
            _BUILDING_FROM_SAVED_SETTINGS.reset(token)

    # What a keyword overriding a saved input-contract field at load (other than the rate, which
    # `warn_of_rate_override` names) makes the extractor do, for the warning.
    _CONTRACT_OVERRIDE_EFFECTS = {
        "context_length": "windows of another length",
        "patch_length": "a `patch_mask` on another patch grid than the model's",
        "num_channels": "another channel count",
        "normalization": "another normalisation",
        "normalization_mean": "other normalisation statistics",
        "normalization_std": "other normalisation statistics",
        "channel_names": "other channels picked by name",
    }

    # The overrides that set a task up on a pre-training checkpoint (an encoder without a head), as the README and
    # examples/finetune_trainer.py do, giving the model the same keywords: the task's normalisation, and its channels
    # where the encoder takes any count (`channel_independent`). No head was trained on the checkpoint's values of these.
    _NORMALIZATION_SETUP = ("normalization", "normalization_mean", "normalization_std")
    _CHANNEL_SETUP = ("num_channels", "channel_names")

    @classmethod
    def _warn_of_contract_overrides(
        cls, values: Mapping[str, Any], kwargs: Mapping[str, Any], origin: tuple[Any, dict[str, Any]] | None = None
    ) -> None:
        """Warn of every load keyword (`from_pretrained(path, patch_length=20)`) that overrides the saved input
        contract `values`: allowed, as the model's `from_pretrained` allows it, but the checkpoint's model then gets
        windows it was not trained on (`patch_length` changed the patch grid without a word; only the rate was
        warned of). A task's set-up on a pre-training checkpoint (`_NORMALIZATION_SETUP`, `_CHANNEL_SETUP`) is not
        warned of: the checkpoint `origin` (`(name_or_path, lookup keywords)`; None: not known, warned of) then has no
        head trained on the values it overrides. Its config.json is read only when such an override is given."""
        overrides = {}
        for name in cls._CONTRACT_OVERRIDE_EFFECTS:
            if name in kwargs and name in values and config_value(name, kwargs[name]) != values[name]:
                overrides[name] = config_value(name, kwargs[name])
        setup = cls._NORMALIZATION_SETUP + (cls._CHANNEL_SETUP if values.get("channel_independent", True) else ())
        if origin is not None and set(overrides) & set(setup):
            if _is_encoder_checkpoint(*origin, cls._checkpoint_locator):
                overrides = {name: value for name, value in overrides.items() if name not in setup}
        for name, value in overrides.items():
            effect, saved = cls._CONTRACT_OVERRIDE_EFFECTS[name], values[name]
            logger.warning(
                f"{name}={value!r} overrides the checkpoint's {saved!r}: this extractor will align recordings to "
                f"another input contract than its model was trained with ({effect}). Leave {name} out to keep the "
                "checkpoint's; the extractor of a model of another contract is "
                "`CiTrusFeatureExtractor.from_config(model.config)`."
            )

    @classmethod
    def _refuse_misspelt_settings(cls, names: list[str]) -> None:
        """Refuse keyword arguments that are no setting but close to one (`normalisation`) or another library's name
        for one (`sample_rate`, `fs`): the config refuses the same names (`check_misspelt_fields`). The name of a
        read-only property (`num_patches`) is refused with what sets it (`check_derived_keywords`)."""
        if not names:
            return
        check_derived_keywords(cls, names)
        known = cls._saved_setting_names()
        misspelt = misspelt_names(names, known)
        if misspelt:
            raise not_a_field_error(cls, misspelt, fields=known)

    @classmethod
    def _checked_saved_settings(
        cls, values: Any, kwargs: dict[str, Any], where: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Saved settings `values` (the contents of preprocessor_config.json, described as `where` in messages),
        checked: a missing input-contract field (`saved_contract_fields`) is refused unless given as a keyword
        (`from_pretrained(path, sampling_rate=...)`, which then sets it), and keys no setting has are named in a
        warning with the setting each may be a typo of."""
        if not isinstance(values, dict):
            raise ValueError(
                f"{where} holds a JSON {type(values).__name__}, not the object of settings `save_pretrained` writes; "
                "save the feature extractor again."
            )
        # the citrus-hf that wrote the file (`_version.VERSION_KEY`): a record of the file, not a setting
        newer = newer_citrus_hf(values.get(VERSION_KEY))
        values = {key: value for key, value in values.items() if key != VERSION_KEY}
        process = [key for key in cls._PROCESS_SETTINGS if key in values]
        if process:
            # written by `save_pretrained` before it left them out; a safety net of the process that loads the file
            values = {key: value for key, value in values.items() if key not in process}
            logger.warning(
                f"{where} has {', '.join(map(repr, process))}, a safety net of this process that is not saved with the "
                f"checkpoint: ignored (set `extractor.{process[0]}` after loading to change it)."
            )
        known = cls._saved_setting_names()
        unknown = [key for key in sorted(values) if key not in known and not key.startswith("_")]
        unknown_text = ", ".join(closest_field_hint(key, known) for key in unknown)
        missing = [name for name in cls.saved_contract_fields if name not in values and name not in kwargs]
        if missing:
            raise ValueError(
                f"{where} has no {missing}, which `save_pretrained` always writes: the file was edited or damaged"
                + (f" (it has settings {cls.__name__} does not know: {unknown_text})" if unknown else "")
                + ". Put back the input contract the model was trained with (its config.json has it: "
                "`CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)`), or pass it, e.g. "
                f"`from_pretrained(..., {missing[0]}=...)`."
            )
        # transformers' `from_dict` only applies keywords the file names: a missing field given by the caller is added
        kwargs = dict(kwargs)
        values = {**values, **{name: kwargs.pop(name) for name in cls.saved_contract_fields if name not in values}}
        if unknown and newer:
            logger.warning(
                newer_settings_message(
                    where, newer, list(map(repr, unknown)), "keeps them unused", "align recordings as that version does"
                )
            )
        elif unknown:  # (a newer citrus-hf records its version: these keys are no version's)
            logger.warning(
                f"{where} has settings {cls.__name__} does not know, kept but unused: {unknown_text}. Correct or "
                "remove them."
            )
        if values.get("alignment") == "interpolate" and "stretched_seconds" not in values:
            # Written before the key existed (this version writes it, null when nothing was fitted): `citrus finetune`
            # fitted such checkpoints on rows stretched onto the window, by a factor their duration set, and the
            # pipeline would stretch a recording of any duration onto it with no word of the other factor.
            logger.warning(
                f"{where} was saved by an earlier citrus-hf, before extractors that stretch recordings onto the window "
                "(alignment='interpolate') recorded the durations the checkpoint was fitted on (`stretched_seconds`): "
                "a recording of another duration is stretched by another factor, which scales its rhythms, and "
                "nothing warns of it. Score recordings as long as the training rows, or record their durations "
                "(seconds) so that the pipelines check them: `extractor.stretched_seconds = [shortest, longest]; "
                "extractor.save_pretrained(folder)`."
            )
        return values, kwargs

    def to_dict(self) -> dict[str, Any]:
        """The transformers method, naming this class as the checkpoint's processor (`processor_class`, as
        transformers writes it for the parts of its processors). `AutoProcessor.from_pretrained` reads it first, so a
        folder without config.json (an extractor saved on its own, a LoRA adapter folder) loads this class at once;
        without it, transformers' image-processor fallback turned the file's `auto_map` into a remote-code reference
        and asked "Do you wish to run the custom code? [y/N]", waiting 15 s in a terminal and forever in a notebook."""
        # (nor the citrus-hf version a saved file records, which `to_json_file` writes: `records_citrus_version`)
        values = {
            key: value
            for key, value in super().to_dict().items()
            if key not in self._PROCESS_SETTINGS and key != VERSION_KEY
        }
        # `feature_size`, which `SequenceFeatureExtractor` saves, is the channel count (a property here)
        return {**values, "feature_size": self.num_channels, "processor_class": type(self).__name__}

    def __eq__(self, other: object) -> bool:
        """Whether `other` is an extractor of this class with the same settings (what `to_dict` holds and a save
        keeps), as two configs compare: its copy, its pickle and `from_pretrained` of its folder equal it. Identity
        before: an extractor never equalled its own copy or its saved and loaded self, while the fusion processor that
        holds extractors compared their settings. (A mutable object that compares by value has no hash, as a config.)"""
        if not isinstance(other, CiTrusFeatureExtractor):
            return NotImplemented
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    __hash__ = None  # (set by `__eq__` anyway; said here so that nobody adds one that two equal extractors disagree on)

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs):
        """The transformers method, after the checks across settings (`_check_consistency`: a folder saved with
        settings that disagree could not be loaded) and, where `save_directory` holds a CiTrus model's config.json,
        the pipelines' check that this extractor aligns recordings to that model's input contract
        (`_folder_contract_check`): `AutoFeatureExtractor` and `AutoModel` would load the pair from the folder as it
        is, mismatched without a word.

        Raises:
            ValueError: settings that disagree, or a model beside it of another input contract (naming both and the
                fix).
        """
        self._check_consistency()
        check = type(self)._folder_contract_check
        config = _model_config_in(save_directory) if check is not None else None
        if config is not None:
            check(self, config, save_directory)
        return super().save_pretrained(save_directory, *args, **kwargs)

    @classmethod
    def from_json_file(cls, json_file: str | os.PathLike) -> CiTrusFeatureExtractor:
        """The transformers method, with the checks `from_pretrained` makes of a saved file (`_checked_saved_settings`:
        a missing input-contract field is refused, not taken from the class defaults; unknown keys are named)."""
        with open(json_file, encoding="utf-8") as reader:
            values = json.load(reader)
        values, _ = cls._checked_saved_settings(values, {}, f"{os.fspath(json_file)!r}")
        return cls.from_dict({**values, cls._CHECKED_MARK: True})

    @classmethod
    @functools.cache
    def _saved_setting_names(cls) -> frozenset[str]:
        """Every key `save_pretrained` writes for this class, and those transformers may add."""
        return frozenset(cls().to_dict()) | frozenset(cls._TRANSFORMERS_KEYS)

    # `alignment="window"` refuses to cut more than this many bytes of heavily overlapping windows in one call
    # (`iter_windows` streams them instead); None lifts the limit. A class attribute: it is a safety net of this
    # process, not a setting saved with the checkpoint (set on an instance, `save_pretrained` leaves it out, and one in
    # a saved file is ignored: `_PROCESS_SETTINGS`).
    max_window_bytes: int | None = 256 * 2**20

    def __init__(
        self,
        sampling_rate: float = 100.0,
        context_length: int = 3000,
        num_channels: int = 1,
        patch_length: int = 20,
        channel_names: list[str] | None = None,
        channel_independent: bool = True,
        channel_units: list[str] | None = None,
        normalization: str = "zscore",
        normalization_mean: list[float] | None = None,
        normalization_std: list[float] | None = None,
        alignment: str = "resample",
        hop_length: int | None = None,
        pad_last_window: bool = False,
        padding_value: float = 0.0,
        nan_policy: str = "raise",
        padding: str = "longest",
        stretched_seconds: Sequence[float] | None = None,
        **kwargs,
    ):
        # `feature_size` is saved by SequenceFeatureExtractor; here it is always the channel count (a saved file's is
        # left aside: one saved after `extractor.num_channels = 2` kept the old count)
        feature_size = kwargs.pop("feature_size", None)
        # `SequenceFeatureExtractor` keeps unknown keywords as attributes: `sample_rate=250` would build 100 Hz
        if not _BUILDING_FROM_SAVED_SETTINGS.get():
            type(self)._refuse_misspelt_settings([key for key in kwargs if key not in self._INHERITED_SETTINGS])
            _check_feature_size(feature_size, num_channels)
        kwargs.setdefault("return_attention_mask", False)
        # Every setting is checked as it is set (`_SETTING_CHECKS`, in `__setattr__`), then the settings together: the
        # same checks as CiTrusConfig's (one implementation), since an extractor can be built without a config.
        super().__init__(feature_size=num_channels, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)
        self.context_length = context_length
        self.num_channels = num_channels
        self.patch_length = patch_length
        self.channel_names = channel_names
        self.channel_independent = channel_independent
        self.channel_units = channel_units
        self.normalization = normalization
        self.normalization_mean = normalization_mean
        self.normalization_std = normalization_std
        self.alignment = alignment
        self.hop_length = hop_length
        self.pad_last_window = pad_last_window
        self.nan_policy = nan_policy
        self.padding = padding
        self.stretched_seconds = stretched_seconds
        self._check_consistency()

    def __setattr__(self, name: str, value: Any) -> None:
        # as in the model config: `extractor.sampling_rate = np.float32(250)` or h5py's bytes for `channel_names`
        # (in the constructor too) are stored as JSON writes them, so that `save_pretrained` does not fail on them;
        # then checked as the constructor checks them (`_SETTING_CHECKS`)
        value = config_value(name, value)
        check = _SETTING_CHECKS.get(name)
        super().__setattr__(name, value if check is None else check(self, value))

    def _check_consistency(self) -> None:
        """The constructor's checks across settings, for settings assigned one after the other (`_SETTING_CHECKS`
        checks each on its own): run when the extractor is built, called, or saved (a folder saved with settings
        that disagree could not be loaded)."""
        if self.context_length % self.patch_length:
            raise ValueError(
                f"`context_length` ({self.context_length}) must be a multiple of `patch_length` ({self.patch_length}), "
                "as in the model config; build the extractor with `CiTrusFeatureExtractor.from_config(model.config)`."
            )
        check_size_limits(num_patches=self.context_length // self.patch_length)
        if self.channel_names is not None and len(self.channel_names) != self.num_channels:
            raise ValueError(
                f"`channel_names` has {len(self.channel_names)} entries but `num_channels` is {self.num_channels}; "
                "give one name per channel."
            )
        if self.channel_units is not None:
            _checked_channel_units(self.channel_units, self.num_channels)
        check_normalization_statistics(
            self.normalization, self.normalization_mean, self.normalization_std, self.num_channels
        )

    @classmethod
    def from_config(cls, config: CiTrusConfig, **kwargs) -> CiTrusFeatureExtractor:
        """
        The feature extractor matching a checkpoint: rate, context length, channels, patch length and normalisation
        come from `config`; `channel_independent` unless the model's head concatenates channels
        (`config.fixes_channel_count`: a pre-training checkpoint takes any channel count, the default `"concat"` task
        heads exactly `num_channels`), and the units of its channels where the config records them
        (`CiTrusConfig(channel_units=["µV"])` keeps them as an extra attribute). `kwargs` override any of them or set
        the alignment, e.g. `from_config(config, alignment="window", hop_length=1500)`.
        """
        if getattr(config, "model_type", None) == FUSION_MODEL_TYPE:
            raise TypeError(
                "This is a CiTrus fusion config, with one encoder per modality: build its processor with "
                "CiTrusFusionProcessor.from_config(config) (one CiTrusFeatureExtractor per modality)."
            )
        if not isinstance(config, CiTrusConfig):
            raise TypeError(f"expected a CiTrusConfig (a CiTrus model's `config`), got {type(config).__name__}.")
        params = {
            "sampling_rate": config.sampling_rate,
            "context_length": config.context_length,
            "num_channels": config.num_channels,
            "patch_length": config.patch_length,
            "channel_names": config.channel_names,
            "channel_independent": not config.fixes_channel_count,
            "normalization": config.normalization,
            "normalization_mean": config.normalization_mean,
            "normalization_std": config.normalization_std,
            # (no config field, but config.json keeps what it is given: dropped here, a recording in V went in
            # unconverted to a checkpoint trained in µV, a million times off)
            "channel_units": getattr(config, "channel_units", None),
        }
        params.update(kwargs)
        return cls(**params)

    @derived_setting("context_length // patch_length", "context_length (num_patches x patch_length samples)")
    def num_patches(self) -> int:
        """Patches per channel of a `context_length` window (the width of `patch_mask`)."""
        return self.context_length // self.patch_length

    def __call__(
        self,
        raw_signal: np.ndarray | torch.Tensor | Sequence | None = None,
        sampling_rate: float | Sequence[float] | np.ndarray | None = None,
        *,
        alignment: str | None = None,
        hop_length: int | None = None,
        pad_last_window: bool | None = None,
        nan_policy: str | None = None,
        input_channel_names: Sequence[str] | None = None,
        input_channel_units: Sequence[str] | None = None,
        padding: str | bool | None = None,
        max_length: int | None = None,
        truncation: bool | None = None,
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | TensorType | None = None,
        **unexpected: Any,
    ) -> BatchFeature:
        """
        Align and normalise recordings for the model.

        Args:
            raw_signal: one recording `(time,)` or `(channels, time)`, a batch `(batch, channels, time)`, or a list
                of recordings (each `(time,)` or `(channels, time)`, lengths may differ); numpy arrays, torch tensors
                or (nested) lists of numbers. A flat list of numbers is one single-channel recording; a list of
                lists is a list of recordings (as in transformers' audio extractors). Unlike those, a 2-D array or
                tensor is one recording `(channels, time)`, not a batch of mono recordings: a batch of
                single-channel windows, e.g. what a batched `datasets` `map` over a numpy- or torch-formatted column
                hands over, is `x[:, None, :]` or `list(x)` (a checkpoint of fixed channels refuses such an array
                with that fix; one that takes any channel count warns once). A column of recordings (a pandas
                Series or 1-D object array of arrays: `table["signal"]`, `datasets`' numpy or pandas format) is a
                list of them. With `normalization="fixed"`, recordings whose spread is orders of magnitude off
                `normalization_std` are said (once) to be likely in another unit than the training data's (MNE's
                volts for a checkpoint trained on microvolts).
            sampling_rate: rate in Hz at which the recordings were sampled (required): one number for all, or one
                per recording (a list, 1-D array or pandas Series: `table["fs"]`).
            alignment / hop_length / pad_last_window / nan_policy / padding: override the extractor's setting for
                this call.
            max_length: for `"resample"`, the padded length in model samples with `padding="max_length"`, the cap
                with `"longest"` (default `context_length`; a multiple of `patch_length`, at most `context_length`).
            pad_to_multiple_of: for `"resample"`, round the padded length up to a multiple of this (and of
                `patch_length`), but not past `context_length`, as `pad` (and transformers' audio extractors' call)
                does; the other alignments give whole windows of `context_length`.
            padding, truncation, return_attention_mask: also take transformers' usual values: `padding=True` is
                `"longest"`; `padding=False` / `"do_not_pad"` is `"longest"` for recordings of one duration and an
                error otherwise (a batch of different lengths is no tensor without padding); `truncation=True` (or
                None) is what every alignment does to a recording longer than its window (crop, stretch or cut into
                windows), and False is refused; `return_attention_mask` is accepted and ignored: `patch_mask`, the
                model's mask, is always returned.
            input_channel_names: names of the input's channels (same for every recording). The checkpoint's
                `channel_names` are picked out of them by name (case-insensitive), in the checkpoint's order;
                other channels are dropped.
            input_channel_units: the unit of each of the input's channels (same for every recording, in its order:
                "mV", "uV", "%"; "" for one not known). Where the checkpoint records its training data's units
                (`channel_units`), voltages are converted to them (a power of 1000), said once per call, and a unit
                that cannot be converted is refused (`UnitError`); ignored by a checkpoint that records none.
            return_tensors: `"pt"` for torch tensors, `"np"` or `None` for numpy arrays.
            unexpected: refused (a TypeError naming the argument meant: `channel_names=` is `input_channel_names=`;
                the signal given as transformers' audio extractors take it, `raw_speech=` or `audio=`, is
                `raw_signal`, the first argument). `raw_signal` has a default only so that such a call gets that
                answer rather than Python's "missing 1 required positional argument".

        Returns:
            `BatchFeature` with
            - `input_values`: float32 `(batch, channels, length)`: `length` is `context_length` except for
              `"resample"`, where `padding` sets it,
            - `patch_mask`: int64 `(batch, length // patch_length)`, 1 for a patch holding at least one real sample,
              0 for a patch of padding only,
            - with `alignment="window"`, also `recording_index`: int64 `(batch,)`, the input recording each window
              came from, and `window_start_seconds`: float64 `(batch,)`, its start in that recording's time (kept in
              float64 by `features.to(torch.float16)`, which casts the model inputs: `WindowFeatures`).
            `batch` is the number of recordings, or of windows for `"window"`. `model(**features)` works for
            `"resample"` and `"interpolate"`; with `"window"`, pass only the model inputs:
            `model(**{name: features[name] for name in extractor.model_input_names})`.
        """
        _refuse_unexpected_keywords(self.__call__, unexpected)
        _check_return_tensors(return_tensors)
        self._check_consistency()
        if truncation is not None and not as_bool("truncation", truncation):
            raise ValueError(
                "`truncation=False` is not supported: a recording longer than the model's window is always fitted to "
                "it (alignment='resample' keeps its start, 'interpolate' stretches it); alignment='window' cuts it into "
                "windows and keeps all of it."
            )
        alignment = self.alignment if alignment is None else alignment
        if alignment not in ALIGNMENTS:
            raise ValueError(
                f"`alignment={alignment!r}` is not supported; choose one of {', '.join(map(repr, ALIGNMENTS))}."
            )
        ignored = [
            name
            for name, value, used_by in (
                ("hop_length", hop_length, "window"),
                ("pad_last_window", pad_last_window, "window"),
                ("max_length", max_length, "resample"),
                ("pad_to_multiple_of", pad_to_multiple_of, "resample"),
            )
            if value is not None and alignment != used_by
        ]
        if ignored:
            logger.warning(
                f"{', '.join(ignored)} {'applies' if len(ignored) == 1 else 'apply'} to another alignment and "
                f"{'is' if len(ignored) == 1 else 'are'} ignored with alignment={alignment!r} (hop_length and "
                "pad_last_window: 'window'; max_length and pad_to_multiple_of: 'resample')."
            )
        pad_last_window = (
            self.pad_last_window if pad_last_window is None else as_bool("pad_last_window", pad_last_window)
        )
        hop_length = self._call_hop_length(hop_length)
        # Checked whatever the alignment, so that a misspelt option fails even where this call would not use it.
        padding, max_length = self._call_padding(padding, max_length)
        if pad_to_multiple_of is not None:
            pad_to_multiple_of = as_integer("pad_to_multiple_of", pad_to_multiple_of, minimum=1)
        recordings, rates, seconds_left_out = self._prepare(
            raw_signal, sampling_rate, nan_policy, input_channel_names, input_channel_units
        )
        if alignment == "window":
            plans = self._plan_windows(recordings, rates, hop_length, pad_last_window, seconds_left_out)
            self._check_window_bytes(plans, hop_length)
            return self._window_features(plans, 0, sum(len(plan.starts) for plan in plans), return_tensors)
        if alignment == "resample":
            values, valid_lengths = self._resample_to_context(
                recordings, rates, padding, max_length, pad_to_multiple_of
            )
        else:
            values, valid_lengths = self._interpolate_to_context(recordings)
        data = {
            "input_values": self._normalize(values, valid_lengths),
            "patch_mask": self._patch_mask(valid_lengths, values.shape[-1] // self.patch_length),
        }
        return BatchFeature(data=data, tensor_type=return_tensors)

    def iter_windows(
        self,
        raw_signal: np.ndarray | torch.Tensor | Sequence | None = None,
        sampling_rate: float | Sequence[float] | np.ndarray | None = None,
        *,
        batch_size: int = 256,
        hop_length: int | None = None,
        pad_last_window: bool | None = None,
        nan_policy: str | None = None,
        input_channel_names: Sequence[str] | None = None,
        input_channel_units: Sequence[str] | None = None,
        return_tensors: str | TensorType | None = None,
        **unexpected: Any,
    ) -> Iterator[BatchFeature]:
        """
        `alignment="window"` as a stream: the same windows, in the same order and with the same values as
        `self(..., alignment="window")`, yielded `batch_size` at a time, so a long recording with a short hop
        (every second of a night, say) never sits in memory as one array of windows. Each recording is resampled
        once; a batch is cut from it only when asked for.

        Args:
            raw_signal / sampling_rate / hop_length / pad_last_window / nan_policy / input_channel_names /
                input_channel_units / return_tensors / unexpected: as for `__call__`.
            batch_size: windows per yielded `BatchFeature` (the last one may hold fewer).

        Yields:
            `BatchFeature`s with `input_values` `(windows, channels, context_length)`, `patch_mask`,
            `recording_index` and `window_start_seconds`, as `__call__` returns them for `"window"`.

        Example:

        ```python
        >>> import numpy as np
        >>> from citrus_hf import CiTrusConfig
        >>> from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
        >>> extractor = CiTrusFeatureExtractor.from_config(CiTrusConfig(context_length=200))
        >>> night = np.random.default_rng(0).standard_normal(60_000)  # 10 minutes at 100 Hz
        >>> batches = extractor.iter_windows(night, sampling_rate=100, hop_length=10, batch_size=1024)
        >>> sum(len(batch["input_values"]) for batch in batches)  # a window every 0.1 s, 1,024 at a time
        5981

        ```
        """
        _refuse_unexpected_keywords(self.iter_windows, unexpected)
        batch_size = as_integer("batch_size", batch_size, minimum=1)
        _check_return_tensors(return_tensors)
        self._check_consistency()
        pad_last_window = (
            self.pad_last_window if pad_last_window is None else as_bool("pad_last_window", pad_last_window)
        )
        hop_length = self._call_hop_length(hop_length)
        recordings, rates, seconds_left_out = self._prepare(
            raw_signal, sampling_rate, nan_policy, input_channel_names, input_channel_units
        )
        plans = self._plan_windows(recordings, rates, hop_length, pad_last_window, seconds_left_out)
        num_windows = sum(len(plan.starts) for plan in plans)
        for first in range(0, num_windows, batch_size):
            yield self._window_features(plans, first, min(first + batch_size, num_windows), return_tensors)

    def pad(
        self,
        processed_features: Any,
        padding: bool | str = True,
        max_length: int | None = None,
        truncation: bool = False,
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | TensorType | None = None,
    ) -> BatchFeature:
        """Pad aligned examples of different durations into one batch: what `DataCollatorWithPadding(extractor)` and
        `Trainer(..., processing_class=extractor)` call to collate rows that this extractor aligned one at a time
        (each keeps its own duration, so rows differ in length; transformers' default collator cannot stack them).

        Args:
            processed_features: the rows, a list of mappings (or one mapping of lists) with `input_values`
                `(channels, time)` (or `(time,)` for one channel, or `(1, channels, time)` as one extractor call on one
                recording returns it), `time` a whole number of patches, and optionally
                `patch_mask` `(time / patch_length,)`; every other key (`labels`, `label`, ...) is stacked as it is.
            padding: `True` or `"longest"`: to the longest row; `"max_length"`: to `max_length` (default
                `context_length`); `False` or `"do_not_pad"`: the rows must already have one length.
            max_length: target length in model samples for `"max_length"`, and the crop for `truncation` (a whole
                number of patches, at most `context_length`, as the call takes it).
            truncation: crop rows longer than `max_length` to it (otherwise such a row is an error; a collator,
                which passes no `truncation`, gets rows no longer than `max_length` from the extractor's call with
                that `max_length`).
            pad_to_multiple_of: round the padded length up to a multiple of this (and of `patch_length`), but not
                past `context_length` (a batch that would go past it is padded to the context, or keeps its own length
                where its rows are already longer than the context; either is said once).
            return_attention_mask: accepted for transformers' collators; the mask is always returned, as
                `patch_mask` (1 for a patch holding real samples, 0 for padding), which is what the model takes.
            return_tensors: `"pt"`, `"np"` or None (numpy).

        Returns:
            `BatchFeature` with `input_values` `(batch, channels, length)` (padding is `padding_value`), `patch_mask`
            `(batch, length / patch_length)` and the other keys stacked.
        """
        _check_return_tensors(return_tensors)
        self._check_consistency()
        rows = self._rows_to_pad(processed_features)
        if rows and not any("patch_mask" in row for row in rows):
            # Every output of this extractor carries `patch_mask`. Raw recordings given straight to
            # `Trainer(processing_class=extractor)` (no `dataset.map` first) would be taken as aligned windows at
            # this rate, unnormalised, whenever their length is a whole number of patches: a silent wrong input.
            logger.warning_once(
                "The examples to pad carry no `patch_mask`, which every output of this feature extractor has: were "
                "they aligned by it? `pad` only pads; raw recordings must be aligned first, e.g. `dataset.map(lambda "
                f"row: extractor(np.asarray(row['input_values']), sampling_rate=row['sampling_rate']))`, or they are "
                f"taken as windows already at {self.sampling_rate:g} Hz."
            )
        values = [self._row_values(row, index) for index, row in enumerate(rows)]
        channel_counts = sorted({value.shape[0] for value in values})
        if len(channel_counts) > 1:
            raise ValueError(
                f"examples to pad have different channel counts {channel_counts}; one batch needs one channel layout "
                "(select the same channels in every example)."
            )
        masks = [self._row_patch_mask(row, value, index) for index, (row, value) in enumerate(zip(rows, values))]
        length = self._pad_length([value.shape[-1] for value in values], padding, max_length, truncation)
        if pad_to_multiple_of is not None:
            length = self._rounded_length(length, as_integer("pad_to_multiple_of", pad_to_multiple_of, minimum=1))
        num_patches = length // self.patch_length
        input_values = np.full((len(rows), channel_counts[0], length), self.padding_value, dtype=np.float32)
        patch_mask = np.zeros((len(rows), num_patches), dtype=np.int64)
        for index, (value, mask) in enumerate(zip(values, masks)):
            kept = min(value.shape[-1], length)
            input_values[index, :, :kept] = value[:, :kept]
            patch_mask[index, : min(len(mask), num_patches)] = mask[:num_patches]
        data = {"input_values": input_values, "patch_mask": patch_mask}
        for key in rows[0]:
            if key in data:
                continue
            if any(row.get(key) is None for row in rows):
                raise ValueError(
                    f"an example to pad has no `{key}` although the first one has; give every example the same keys."
                )
            stacked = stack_row_values(key, [row[key] for row in rows], "examples to pad")
            if key in ("labels", "label"):
                check_numeric_labels(key, stacked, "examples")
            elif return_tensors is not None and stacked.dtype.kind in "OUSV":
                # transformers' BatchFeature would fail converting it ("Unable to convert output ...")
                held = "text" if stacked.dtype.kind == "U" else "non-numbers"
                raise ValueError(
                    f"`{key}` of the examples to pad holds {held} (e.g. {stacked.flat[0]!r}), which cannot become a "
                    "tensor. If it is a dataset column the Trainer "
                    f"kept (`remove_unused_columns=False`), drop it: `dataset.remove_columns([{key!r}])`."
                )
            data[key] = stacked
        return BatchFeature(data=data, tensor_type=return_tensors)

    @staticmethod
    def _rows_to_pad(processed_features: Any) -> list[dict]:
        """The rows of `pad`'s input: a list of mappings, or one mapping of equally long lists (a `BatchFeature`)."""
        if isinstance(processed_features, Mapping):
            columns = dict(processed_features)
            if "input_values" not in columns:
                raise ValueError(_missing_input_values(list(columns)))
            batch = columns["input_values"]
            if isinstance(batch, (np.ndarray, torch.Tensor)) and batch.ndim != 3:
                # a 2-D array could be one (channels, time) example or a batch of one-channel rows: not guessed
                raise ValueError(
                    f"`input_values` given to `pad` as one array must be (batch, channels, time), got shape "
                    f"{tuple(batch.shape)}; pass a list of examples instead (one (channels, time) array each)."
                )
            if any(len(column) != len(batch) for column in columns.values() if hasattr(column, "__len__")):
                raise ValueError(
                    "the columns given to `pad` have different lengths "
                    f"({ {key: len(column) for key, column in columns.items() if hasattr(column, '__len__')} }); "
                    "give one value per example in each."
                )
            return [{key: column[index] for key, column in columns.items()} for index in range(len(batch))]
        if not isinstance(processed_features, (list, tuple)) or not processed_features:
            raise TypeError(
                "`pad` takes a non-empty list of examples (mappings with `input_values`), or one mapping of lists; "
                f"got {type(processed_features).__name__}{' (empty)' if not processed_features else ''}."
            )
        rows = []
        for index, row in enumerate(processed_features):
            if not isinstance(row, Mapping):
                raise TypeError(f"example {index} to pad is a {type(row).__name__}, not a mapping with `input_values`.")
            if "input_values" not in row:
                raise ValueError(f"example {index}: " + _missing_input_values(list(row)))
            rows.append(dict(row))
        return rows

    def _row_values(self, row: Mapping, index: int) -> np.ndarray:
        """`input_values` of example `index` as float32 `(channels, time)`, its time a whole number of patches."""
        value = self._as_array(row["input_values"], index).astype(np.float32, copy=False)
        if value.ndim == 1:
            value = value[None]
        elif value.ndim == 3 and len(value) == 1:  # one example stored with the extractor's batch axis
            value = value[0]
        if value.ndim == 3:
            message = f"example {index}: {several_windows_per_row(len(value), value.shape)}"
            # the row's window bookkeeping (kept when a collator is given every column) rules out the other cause
            windowed = any(np.size(row.get(name)) == len(value) for name in WINDOW_BOOKKEEPING if name in row)
            if value.shape[1] == 1 and not windowed:
                message += (
                    " If they are the channels of one (channels, time) recording given to the extractor as a nested "
                    "list, which is read as a list of one-channel recordings, pass it as an array instead, "
                    "`extractor(np.asarray(signal), ...)`."
                )
            raise ValueError(message)
        if value.ndim != 2 or value.shape[-1] == 0:
            raise ValueError(
                f"example {index}: `input_values` must be (channels, time) or (time,), got shape {tuple(value.shape)}."
            )
        if value.shape[-1] % self.patch_length:
            raise ValueError(
                f"example {index}: `input_values` has {value.shape[-1]} samples, not a whole number of patches of "
                f"{self.patch_length}; `pad` batches examples this extractor already aligned (call the extractor on "
                "the raw recording first)."
            )
        return value

    def _row_patch_mask(self, row: Mapping, value: np.ndarray, index: int) -> np.ndarray:
        """Example `index`'s `patch_mask` `(patches,)`, all ones when the row has none."""
        num_patches = value.shape[-1] // self.patch_length
        if row.get("patch_mask") is None:
            return np.ones(num_patches, dtype=np.int64)
        mask = np.asarray(row_value_as_numpy(row["patch_mask"])).reshape(-1).astype(np.int64)
        if len(mask) != num_patches:
            raise ValueError(
                f"example {index}: `patch_mask` has {len(mask)} values for {num_patches} patches of `input_values`; "
                "take both from the same extractor call."
            )
        return mask

    def _rounded_length(self, length: int, multiple: int) -> int:
        """`length` rounded up to a multiple of `multiple` and of `patch_length` (`pad`'s `pad_to_multiple_of`), but
        not past the context: lcm(64, 10) is 320, which padded a batch of full 1000-sample windows to 1280, where the
        model warns that its input is longer than anything it was trained on (and does more work for nothing)."""
        step = math.lcm(multiple, self.patch_length)
        rounded = -(-length // step) * step
        if rounded <= max(length, self.context_length):
            return rounded
        if length > self.context_length:
            # rows already past the context (`pad` with padding="longest" takes them) cannot be padded to it: they
            # keep their own length, a whole number of patches but not a multiple of `multiple`
            logger.warning_once(
                f"pad_to_multiple_of={multiple} (multiples of {step}, whole patches of {self.patch_length}) would pad "
                f"rows already longer than the context of {self.context_length} samples further past it; such "
                "batches keep their own length instead (not rounded)."
            )
            return length
        logger.warning_once(
            f"pad_to_multiple_of={multiple} (rounded to whole patches of {self.patch_length}: multiples of {step}) "
            f"would pad past the context of {self.context_length} samples, which the model was trained on; batches "
            "that would are padded to the context instead."
        )
        return self.context_length

    def _pad_length(self, lengths: list[int], padding: Any, max_length: Any, truncation: Any) -> int:
        """The padded length in model samples for `pad` (see there)."""
        if max_length is not None:
            max_length = self._checked_max_length(max_length)
        if padding is True or padding == "longest":
            length = max(lengths)
        elif padding == "max_length":
            length = max_length or self.context_length
        elif padding is False or padding == "do_not_pad":
            if len(set(lengths)) > 1:
                raise ValueError(
                    f"padding=False but the examples have different lengths ({min(lengths)} to {max(lengths)} "
                    "samples); pass padding=True to pad them to the longest."
                )
            length = lengths[0]
        else:
            raise ValueError(
                f"`padding={padding!r}` is not supported by `pad`; choose True / 'longest', 'max_length' or False / "
                "'do_not_pad'."
            )
        if as_bool("truncation", truncation) and max_length is not None:
            return min(length, max_length)
        if max(lengths) > length:
            # (`DataCollatorWithPadding` passes no `truncation`: the fix must also be one a collator can use)
            raise ValueError(
                f"an example has {max(lengths)} samples, more than the padded length {length}; pass truncation=True "
                "to crop it (`pad` itself), a larger max_length, or padding='longest'. Rows batched by a collator "
                f"(DataCollatorWithPadding, which cannot truncate) are cropped when they are aligned: "
                f"`extractor(recording, sampling_rate=..., max_length={length})` keeps at most {length} samples."
            )
        return length

    # ------------------------------------------------------------------------------------------------ input checks

    def _call_padding(self, padding: Any, max_length: Any) -> tuple[str, int]:
        """This call's `padding` (the extractor's unless given) and `max_length` (default `context_length`), checked:
        see `__call__`."""
        padding = self.padding if padding is None else padding
        # transformers' values: True pads to the longest; False / "do_not_pad" pads nothing (checked in
        # `_padded_length`: only recordings of one duration need none)
        padding = {True: "longest", False: _DO_NOT_PAD}.get(padding, padding) if isinstance(padding, bool) else padding
        if padding not in (*PADDINGS, _DO_NOT_PAD):
            raise ValueError(
                f"`padding={padding!r}` is not supported; choose one of {', '.join(map(repr, PADDINGS))} (or True, "
                "False / 'do_not_pad')."
            )
        if max_length is None:
            return padding, self.context_length
        return padding, self._checked_max_length(max_length)

    def _checked_max_length(self, max_length: Any) -> int:
        """`max_length` (of the call and of `pad`) as a whole number of patches and at most `context_length`, or a
        clear error: `pad(padding="max_length", max_length=2000)` padded a 1000-sample checkpoint's rows to 2000
        without a word, where the call refuses it (the model warns of inputs longer than it was trained on)."""
        max_length = as_integer("max_length", max_length, minimum=self.patch_length)
        if max_length % self.patch_length or max_length > self.context_length:
            raise ValueError(
                f"`max_length` must be a multiple of patch_length ({self.patch_length}) and at most context_length "
                f"({self.context_length}), got {max_length}: the model was trained on windows of at most "
                f"{self.context_length} samples (padding='longest' pads to the longest row, whatever its length)."
            )
        return max_length

    def _call_hop_length(self, hop_length: Any) -> int:
        hop_length = _checked_hop_length(hop_length if hop_length is not None else self.hop_length)
        return self.context_length if hop_length is None else hop_length

    def _prepare(
        self,
        raw_signal: Any,
        sampling_rate: Any,
        nan_policy: str | None,
        input_channel_names: Sequence[str] | None,
        input_channel_units: Sequence[str] | None = None,
    ) -> tuple[list[np.ndarray], list[float], list[float]]:
        """Checked `(channels, time)` recordings (one channel count for all, in the checkpoint's units where the
        call gives theirs), their rates and the seconds left out before each: with `nan_policy="interpolate"`, the
        runs of NaN in every channel at a recording's start and end are length padding (`nan_padding_span`), left
        out rather than filled, so that a recording stacked with longer ones (NaN after its end) is the recording
        it would be alone; a window's time stays that of the recording given."""
        nan_policy = self.nan_policy if nan_policy is None else nan_policy
        if nan_policy not in NAN_POLICIES:
            raise ValueError(
                f"`nan_policy={nan_policy!r}` is not supported; choose one of {', '.join(map(repr, NAN_POLICIES))}."
            )
        # read once for every recording (a generator would be spent on the first)
        input_channel_names = per_channel_list(input_channel_names, "input_channel_names")
        input_channel_units = per_channel_list(input_channel_units, "input_channel_units")
        recordings, batch = self._split_recordings(raw_signal)
        # one 2-D array: what a batch of single-channel rows looks like too (`ONE_ARRAY_IS_ONE_RECORDING`)
        one_array = isinstance(raw_signal, (np.ndarray, torch.Tensor)) and raw_signal.ndim == 2
        rates = self._recording_rates(sampling_rate, recordings)
        if _looks_like_one_row_of_channels(raw_signal, sampling_rate):
            logger.warning_once(LIST_OF_LISTS_IS_A_BATCH)
        factors = None
        if input_channel_units is not None:
            if isinstance(input_channel_units, str):  # its letters would be read as units
                raise TypeError(
                    f"`input_channel_units` must be a list of units, one per channel of the recording, got the string "
                    f"{input_channel_units!r}; pass [{input_channel_units!r}] for a single channel."
                )
            for index, recording in enumerate(recordings):
                if len(input_channel_units) != recording.shape[0]:
                    raise ValueError(
                        f"`input_channel_units` has {len(input_channel_units)} units but recording {index} has "
                        f"{recording.shape[0]} channels; give one unit per channel, in the recording's order."
                    )
            factors, note = self.unit_factors(input_channel_units, input_channel_names, source="The recordings")
            if note:
                logger.warning(note)
        seconds_left_out = [0.0] * len(recordings)
        if nan_policy == "interpolate":
            for index, (recording, rate) in enumerate(zip(recordings, rates)):
                start, stop = nan_padding_span(recording)
                if (start, stop) != (0, recording.shape[-1]):
                    recordings[index], seconds_left_out[index] = recording[..., start:stop], start / rate
                    batch = None  # (its rows are no longer all of one length)
        if batch is None and len(recordings) > 1 and _one_numeric_layout(recordings):
            batch = np.stack(recordings)  # a list of equal recordings: one copy, then checked as one array
        if batch is not None and (batch.dtype.kind == "f" or self._counts_become_float32(batch)):
            recordings = self._check_batch(batch, nan_policy, input_channel_names, one_array, factors, rates)
        else:
            recordings = [
                self._check_recording(recording, index, nan_policy, input_channel_names, one_array, factors, rate)
                for index, (recording, rate) in enumerate(zip(recordings, rates))
            ]
        channel_counts = {recording.shape[0] for recording in recordings}
        if len(channel_counts) > 1:
            counts = [recording.shape[0] for recording in recordings]
            raise ValueError(
                f"recordings in one call must have the same number of channels to form a batch, got {counts}; call "
                "the feature extractor once per channel layout."
            )
        num_channels = channel_counts.pop()
        shortest = min(recording.shape[-1] for recording in recordings)
        if num_channels > shortest:
            # More channels than samples: (time, channels) data read the wrong way round, almost always. Once per
            # process and channel count, not per call: a loop over short epochs of dense EEG said it for every epoch.
            logger.warning_once(
                f"The recordings have {num_channels} channels, more than the samples of the shortest. If the array's "
                "axes are (time, channels), pass `signal.T` (or `signal.transpose(0, 2, 1)` for a batch): the feature "
                f"extractor takes (channels, time). Each call's shortest length is logged at debug level {SHOWN_AT_DEBUG}."
            )
            logger.debug(f"The recordings have {num_channels} channels of {shortest} samples or more each.")
        elif num_channels != self.num_channels and one_array and input_channel_names is None:
            logger.warning_once(
                f"{ONE_ARRAY_IS_ONE_RECORDING} CiTrus encodes every channel on its own with shared weights, so a "
                "recording of another channel count than the checkpoint's is passed through (one token sequence per "
                "channel)."
            )
        elif num_channels != self.num_channels:
            # the layout reminder is for arrays; a list of recordings (what the pipelines pass) is unambiguous
            layout = (
                " A 2-D array is one recording (channels, time); a batch of single-channel recordings is (batch, 1, "
                "time) or a list."
                if isinstance(raw_signal, (np.ndarray, torch.Tensor))
                else ""
            )
            logger.warning_once(
                f"The recordings have {num_channels} channels and the checkpoint {self.num_channels}: CiTrus encodes "
                "every channel on its own with shared weights, so they are passed through unchanged (one token "
                f"sequence per channel).{layout}"
            )
        return recordings, rates, seconds_left_out

    @staticmethod
    def _as_array(value: Any, index: int) -> np.ndarray:
        """A numeric numpy array from a numpy array, torch tensor or (nested) list, with the dtype checked. The masked
        samples of a numpy masked array (gaps from `np.genfromtxt(usemask=True)`, netCDF) are missing values: NaN,
        which `nan_policy` refuses or interpolates (`np.asarray` would keep the fill values under the mask as signal)."""
        if value is None:
            # a missing value of a `datasets` column (an example without this recording): numpy reads it as an
            # object array, refused below as "ragged or mixed", which sent the user looking for ragged data
            raise TypeError(
                f"recording {index} is None (no samples): pass every recording's samples, or leave that example out "
                "of the call."
            )
        if isinstance(value, np.ma.MaskedArray):
            if value.dtype.kind in "fiu" and np.ma.getmaskarray(value).any():
                # float64 holds every integer sample exactly; float32 / float16 data stays in its precision
                value = value.astype(value.dtype if value.dtype.kind == "f" else np.float64).filled(np.nan)
            else:
                value = np.ma.getdata(value)
        if isinstance(value, torch.Tensor):
            if value.is_meta:
                # a meta tensor has a shape but no samples; torch's own error ("Cannot copy out of meta tensor")
                # does not say which input it was
                raise ValueError(
                    f"recording {index} is a tensor on the 'meta' device, which holds no samples; pass the recording "
                    "itself (a CPU or GPU tensor, or a numpy array)."
                )
            if value.is_complex() or value.dtype == torch.bool:
                raise TypeError(
                    f"recording {index} has dtype {value.dtype}, which is not a real-valued signal; pass a float or "
                    "integer tensor (for complex data, its real part or magnitude)."
                )
            if value.dtype in (torch.float16, torch.bfloat16):  # numpy has no bfloat16; integers stay integers
                value = value.float()
            return value.detach().cpu().numpy()
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as error:
            raise TypeError(
                f"recording {index} could not be read as a numeric array ({error}); pass a numpy array, a torch "
                "tensor or a list of numbers (nested lists must be rectangular)."
            ) from error
        if array.dtype == object and array.size:
            # a (channels, time) row of a pandas-formatted `datasets` column comes as an object array of its channels
            with contextlib.suppress(ValueError, TypeError):  # (channels of different lengths: refused below)
                array = np.asarray(array.tolist())
        if array.dtype == object and array.size:
            # a recording of a list that holds gaps (None, pd.NA, `is_missing_sample`): missing samples, as NaN
            with contextlib.suppress(ValueError, TypeError):
                filled = np.asarray(_gaps_as_nan(array.tolist()))
                array = filled if filled.dtype.kind == "f" else array
        if array.dtype.kind not in "fiu":
            kind = {"b": "boolean", "c": "complex", "O": "object (ragged or mixed)", "U": "string", "S": "bytes"}
            raise TypeError(
                f"recording {index} has dtype {array.dtype} ({kind.get(array.dtype.kind, 'non-numeric')}), not a "
                "real-valued signal; pass float or integer samples (for complex data, the real part or magnitude)."
            )
        return array

    @staticmethod
    def refuse_foreign_input(raw_signal: Any) -> None:
        """Refuse, with the fix, an input that holds a recording but is none: MNE's `(data, times)` pair
        (`raw[picks]`, whose time axis was taken for a second recording) and the objects of MNE, wfdb, pyarrow,
        polars and xarray (`FOREIGN_INPUTS`, which were refused naming no fix or, polars', called pandas'), and
        sktime's / aeon's pandas collections of series (`_series_collection_fix`). The pipelines ask it too (they
        travel as remote code, which cannot import this module); anything else passes.

        Raises:
            ValueError: a `(data, times)` pair.
            TypeError: an object of `FOREIGN_INPUTS`, or a pandas collection of series.
        """
        if _is_data_and_times(raw_signal):
            raise ValueError(DATA_AND_TIMES)
        if type(raw_signal).__name__ == "DataFrame" and (type(raw_signal).__module__ or "").startswith("pandas"):
            fix = _series_collection_fix(raw_signal)
            if fix:
                raise TypeError(fix)
        module = type(raw_signal).__module__ or ""
        bases = {base.__name__ for base in type(raw_signal).__mro__}
        for prefix, base, advice in FOREIGN_INPUTS:
            if module.startswith(prefix) and (not base or base in bases):
                dims = tuple(map(str, getattr(raw_signal, "dims", ())))
                raise TypeError(
                    f"expected a numpy array, a torch tensor or a list of recordings, got {type(raw_signal).__name__}: "
                    f"it is {advice.replace('{dims}', repr(dims))}."
                )

    # The pipelines leave NaN padding out as the extractor does (they travel as remote code, which cannot import it)
    nan_padding_span = staticmethod(nan_padding_span)

    def _to_recordings(self, raw_signal: Any) -> list[np.ndarray]:
        """Split the input into recordings of shape `(channels, time)` (views where possible)."""
        return self._split_recordings(raw_signal)[0]

    def _split_recordings(self, raw_signal: Any) -> tuple[list[np.ndarray], np.ndarray | None]:
        """`_to_recordings`, and the numeric `(batch, channels, time)` array whose rows the recordings are where the
        input was one 3-D array or tensor (else None), so that a batch is checked and resampled as the one array it
        is rather than row by row."""
        # a column of recordings (a pandas Series or object array of arrays) is a list of them
        raw_signal = _column_as_list(_unwrap_datasets_column(raw_signal))
        self.refuse_foreign_input(raw_signal)  # (before pandas': a polars DataFrame has the same class name)
        if type(raw_signal).__name__ == "DataFrame" and hasattr(raw_signal, "to_numpy"):
            raise TypeError(
                "got a pandas DataFrame, whose rows are usually time and columns channels; pass `frame.to_numpy().T` "
                "(channels, time), after selecting the signal's columns."
            )
        if isinstance(raw_signal, (list, tuple)):
            if len(raw_signal) == 0:
                raise ValueError("the input is an empty list: pass at least one recording.")
            if all(_is_sample(sample) or is_missing_sample(sample) for sample in raw_signal) and any(
                map(_is_sample, raw_signal)
            ):
                # a flat list of samples is one recording; a gap in it (None, pd.NA) is a missing sample
                items = [[np.nan if is_missing_sample(sample) else sample for sample in raw_signal]]
            else:
                items = list(raw_signal)
            recordings = []
            for index, item in enumerate(items):
                array = self._as_array(item, index)
                if array.ndim not in (1, 2):
                    raise ValueError(
                        f"recording {index} has {array.ndim} dimensions (shape {tuple(array.shape)}); each recording "
                        "in a list must be (time,) or (channels, time)."
                    )
                recordings.append(array[None] if array.ndim == 1 else array)
            return recordings, None
        if not isinstance(raw_signal, (np.ndarray, torch.Tensor)):
            # a generator or other iterator is read once and has no length: the extractor aligns a batch at a time
            fix = " (an iterator: pass `list(...)` of it)" if isinstance(raw_signal, Iterator) else ""
            streamed = _streamed_column_fix(raw_signal)
            fix = f": {streamed}" if streamed else fix
            raise TypeError(
                f"expected a numpy array, a torch tensor or a list of recordings, got {type(raw_signal).__name__}{fix}."
            )
        array = self._as_array(raw_signal, 0)
        if array.ndim == 1:
            return [array[None]], None
        if array.ndim == 2:
            return [array], None
        if array.ndim == 3:
            if len(array) == 0:
                raise ValueError(
                    f"the input is a batch of 0 recordings (shape {tuple(array.shape)}, as (batch, channels, time)); "
                    "pass at least one recording (skip empty batches before calling the feature extractor)."
                )
            return list(array), array
        raise ValueError(
            f"the input has {array.ndim} dimensions (shape {tuple(array.shape)}); pass one recording (time,) or "
            "(channels, time), a batch (batch, channels, time), or a list of recordings."
        )

    def _recording_rates(self, sampling_rate: Any, recordings: list[np.ndarray]) -> list[float]:
        """The rate of each of `recordings` (`(channels, time)` arrays, as `_to_recordings` gives them), checked."""
        num_recordings = len(recordings)
        if sampling_rate is None:
            raise ValueError(
                f"`sampling_rate` is required: this checkpoint expects {self.sampling_rate:g} Hz input and recordings "
                "at any other rate are resampled to it, so the extractor must know the rate of yours, e.g. "
                "`feature_extractor(signal, sampling_rate=500)` (one rate, or one per recording)."
            )
        streamed = _streamed_column_fix(sampling_rate)
        if streamed:  # (taken for one rate, it was refused as "got <datasets...IterableColumn object at 0x...>")
            raise TypeError(f"`sampling_rate` is {streamed}.")
        sampling_rate = _unwrap_datasets_column(sampling_rate)
        if isinstance(sampling_rate, (torch.Tensor, np.ndarray)):
            sampling_rate = sampling_rate.tolist()  # (a 0-d array is one rate for all)
        # Only a sequence or 1-D array (a pandas Series: `table["fs"]`) gives one rate per recording; anything else is
        # one rate for all, checked below (a string such as '100' is a bad rate, not three rates).
        rates = _rates_as_list(sampling_rate)
        if rates is None:  # one rate for all, checked once (as recording 0's, the first a check of each would name)
            return [self._checked_rate(sampling_rate, 0)] * num_recordings
        # a torch-formatted `datasets` column unwraps to a list of 0-d tensors, one per row
        rates = [
            rate.item() if isinstance(rate, (torch.Tensor, np.ndarray)) and rate.ndim == 0 else rate for rate in rates
        ]
        if any(np.ndim(rate) > 0 for rate in rates if not isinstance(rate, (str, bytes))):
            # rows of rates (`np.array([[100, 100]])`): counted as rows, a batch of two was told "1 values for 2"
            raise ValueError(
                f"`sampling_rate` holds rows of rates ({reprlib.repr(rates)}), a 2-D array, not one rate per "
                f"recording: give one rate for all, or one per recording as a 1-D list of {num_recordings} numbers "
                "(`np.ravel(rates).tolist()` where the rows hold them in order)."
            )
        if len(rates) not in (1, num_recordings) and all(len(recording) == len(rates) for recording in recordings):
            # one rate per channel, as EDF and WFDB headers give them: resampling needs one rate per recording. Rates
            # all alike are still refused (an array's rows may be recordings, each given its rate), with the one rate
            # to give: "resample them" was no fix for channels that share one.
            fix = (
                f"these share {rates[0]!r} Hz: give the recording that one rate, `sampling_rate={rates[0]!r}`"
                if len({repr(rate) for rate in rates}) == 1
                else "resample them to one rate first, or pass each rate's channels as a recording of its own, with "
                "its rate"
            )
            raise ValueError(
                f"`sampling_rate` has {len(rates)} values for {num_recordings} recording(s) of {len(rates)} channels: "
                f"the channels of a recording must share one rate; {fix}."
            )
        if len(rates) != num_recordings:
            raise ValueError(
                f"`sampling_rate` has {len(rates)} values for {num_recordings} recordings; pass one rate for all of "
                "them or one per recording."
            )
        return [self._checked_rate(rate, index) for index, rate in enumerate(rates)]

    @staticmethod
    def _checked_rate(rate: Any, index: int) -> float:
        """The sampling rate `rate` of recording `index` as a positive float of Hz, refused naming that recording."""
        try:
            return as_sampling_rate(rate)
        except (TypeError, ValueError) as error:
            raise type(error)(
                f"the sampling rate of recording {index} must be a positive number of Hz, got {rate!r} "
                f"({type(rate).__name__})."
            ) from None

    def _checked_layout(
        self,
        shape: tuple[int, ...],
        index: int,
        input_channel_names: Sequence[str] | None,
        one_array: bool = False,
    ) -> list[int] | None:
        """The checks of `_check_recording` that depend on a recording's `(channels, time)` shape alone (not on its
        samples), raised naming it `index`; returns the positions of the checkpoint's channels in it where
        `input_channel_names` picks them (None: all of them, as they are). A batch of recordings of one shape passes
        or fails them all alike."""
        num_channels, num_samples = shape
        batch_hint = f" {ONE_ARRAY_IS_ONE_RECORDING}" if one_array and num_channels > 1 else ""
        if num_channels == 0 or num_samples == 0:
            raise ValueError(
                f"recording {index} is empty (shape {tuple(shape)}, as (channels, time)); drop it before "
                "calling the feature extractor."
            )
        looks_transposed = num_channels != self.num_channels and bool(
            (num_samples == self.num_channels and num_channels > num_samples)
            or looks_like_time_by_channels(num_channels, num_samples)
        )
        if looks_transposed:
            raise ValueError(
                f"recording {index} has shape {tuple(shape)}, which looks like (time, channels): "
                f"{num_channels} channels of {num_samples} samples each. The checkpoint expects (channels, time)"
                + (
                    " and takes any channel count"
                    if self.channel_independent
                    else f" with {self.num_channels} channel(s)"
                )
                + ". Pass `signal.T` (or `signal.transpose(0, 2, 1)` for a batch)."
                + batch_hint
            )
        channel_order = None
        if input_channel_names is not None:
            channel_order = self._channel_order(num_channels, index, input_channel_names)
            num_channels = len(channel_order)
        elif num_channels != self.num_channels and not self.channel_independent:
            raise ValueError(
                f"recording {index} has {num_channels} channels but the checkpoint expects {self.num_channels}, "
                "and its head concatenates per-channel features (channel_pooling='concat'). Select the "
                f"{self.num_channels} channel(s) the model was trained on, pass {CHANNEL_NAMES_OPTION} (the names of "
                "your channels) so they are picked by name"
                + (f" from {self.channel_names}" if self.channel_names else "")
                + ", or "
                + CONCAT_CHANNELS_ADVICE.get().format(channels=num_channels)
                + (
                    " (If this is one row given as a nested list `(channels, time)`, it was read as a list of "
                    "one-channel recordings: pass `np.asarray(row)`.)"
                    if num_channels == 1
                    else ""
                )
                + batch_hint
            )
        if self.normalization == "fixed" and num_channels != len(self.normalization_mean):
            raise ValueError(
                f"recording {index} has {num_channels} channels but `normalization='fixed'` has statistics for "
                f"{len(self.normalization_mean)}; select the checkpoint's channels (e.g. with {CHANNEL_NAMES_OPTION}) "
                "or use normalization='zscore'."
            )
        return channel_order

    def _check_recording(
        self,
        recording: np.ndarray,
        index: int,
        nan_policy: str,
        input_channel_names: Sequence[str] | None,
        one_array: bool = False,
        unit_factors: np.ndarray | None = None,
        sampling_rate: float | None = None,
    ) -> np.ndarray:
        """Validate one `(channels, time)` recording and return it as float32 (float64 kept), channels mapped.
        `one_array`: it was given as one 2-D array or tensor (errors about its channels say it may be a batch);
        `unit_factors`: what each of its channels is multiplied by, into the checkpoint's units (`unit_factors`);
        `sampling_rate`: its rate (Hz), by which a run of NaN is told a gap or a few lost samples."""
        channel_order = self._checked_layout(recording.shape, index, input_channel_names, one_array)
        from_counts = recording.dtype.kind in "iu"
        if from_counts:  # integer counts: an ADC's, or a CSV of them
            recording = self._counts_as_float(recording)
        elif recording.dtype != np.float64:
            recording = recording.astype(np.float32, copy=False)
        if unit_factors is not None:  # a new array: the caller's samples stay as they are
            recording = recording * unit_factors.astype(recording.dtype)[:, None]
        if channel_order is not None:
            recording = recording[channel_order]
        num_samples = recording.shape[-1]
        all_finite = _all_finite(recording)
        if not all_finite and nan_policy == "interpolate":
            recording = fill_non_finite(recording, index)
        elif not all_finite:
            finite = np.isfinite(recording)
            num_nan = int(np.isnan(recording).sum())
            num_inf = recording.size - int(finite.sum()) - num_nan
            found = " and ".join(
                part for part in (f"{num_nan} NaN" * bool(num_nan), f"{num_inf} infinite" * bool(num_inf)) if part
            )
            start, stop = nan_padding_span(recording)
            if (start, stop) != (0, num_samples):
                # NaN in every channel up to the end (or from the start): recordings of different durations stacked
                # into one array, the shorter ones NaN after their end, far more often than a recording that lost
                # every channel at once; filled, such a tail was scored as signal, the last value held flat
                ends = [
                    f"ends in {num_samples - stop} samples" * (stop < num_samples),
                    f"starts with {start} samples" * bool(start),
                ]
                raise ValueError(
                    f"recording {index} {' and '.join(filter(None, ends))} that are NaN in every channel: most likely "
                    "padding to a common length (recordings of different durations stacked into one array, as "
                    "tslearn's `to_time_series_dataset` or a masked array holds them). Pass the recordings as a list "
                    "of arrays of their own lengths (`[row[:, :n] for row, n in zip(batch, lengths)]`), "
                    "or nan_policy='interpolate' (`--nan-policy interpolate` of the citrus commands), which leaves "
                    "such NaN runs at a recording's start and end out and fills any other NaN linearly."
                )
            run_start, run_length = longest_non_finite_run(recording)
            patch_seconds = self.patch_length / self.sampling_rate
            if sampling_rate is not None and run_length / sampling_rate > patch_seconds:
                # a gap (a WFDB record's '~' segment is NaN for its whole length, often minutes): filled linearly, a
                # made-up straight line longer than a patch, which the model reads as signal
                what, runs, theirs = long_non_finite_run_words(recording, run_start, run_length)
                raise ValueError(
                    f"recording {index} contains {found} values, the longest run {run_length / sampling_rate:g} s "
                    f"from {run_start / sampling_rate:g} s on: {what}, longer than one of the model's patches "
                    f"({patch_seconds:g} s), that nan_policy='interpolate' would fill with a made-up straight line. "
                    f"Cut the recording at its {runs} and give each stretch apart, or leave {theirs} stretches out; "
                    f"interpolate (`--nan-policy interpolate` of the citrus commands) only {runs} of a few samples."
                )
            raise ValueError(
                f"recording {index} contains {found} values; clean it, or pass nan_policy='interpolate' (`--nan-policy "
                "interpolate` of the citrus commands) to fill them linearly from the neighbouring finite "
                "samples."
            )
        if recording.dtype == np.float64:
            peak = max(float(recording.max()), -float(recording.min()))  # (np.abs made a copy of the whole recording)
            if peak > _FLOAT32_MAX:
                raise ValueError(
                    f"recording {index} has values up to {peak:.3g}, beyond float32's range ({_FLOAT32_MAX:.3g}) in "
                    "which the model computes; rescale it (e.g. convert it to the unit the checkpoint was trained on)."
                )
            if 0 < peak < _FLOAT32_TINY:
                # below float32's smallest normal number the samples lose their precision, then flush to zero
                raise ValueError(
                    f"recording {index} has values no larger than {peak:.3g}, below float32's smallest normal number "
                    f"({_FLOAT32_TINY:.3g}) in which the model computes, where they lose their precision and become "
                    "zeros; rescale it (e.g. convert it to the unit the checkpoint was trained on)."
                )
        if self.normalization == "fixed" and not _SPREAD_CHECKED_BY_CALLER.get():
            self._warn_of_unit_mismatch(recording)
        if self.normalization == "zscore" and recording.dtype.kind == "f" and not from_counts:
            recording = _offsets_removed(recording)  # (integer counts were centred exactly by `_counts_as_float`)
        return recording

    def _check_batch(
        self,
        batch: np.ndarray,
        nan_policy: str,
        input_channel_names: Sequence[str] | None,
        one_array: bool,
        unit_factors: np.ndarray | None,
        rates: list[float],
    ) -> list[np.ndarray]:
        """`_check_recording` for float recordings of one shape, stacked `(batch, channels, time)`, or integer counts
        that all become float32 (`_counts_become_float32`): the same checks, messages, warnings and outputs, with the
        per-channel statistics taken over the whole batch at once (checked one at a time, 0.1 ms each, 10,000 ECG
        beats took 1.1 s before the model was called; int16 beats straight from a file took that path too). The shape
        is checked once (a batch passes or fails that alike, as recording 0); a recording with non-finite samples, or
        float64 samples beyond float32's range, goes through `_check_recording` in order, which fills it
        (`nan_policy`) or refuses it naming its index. Returns one `(channels, time)` array per recording: rows of one
        `(batch, channels, time)` array (`_CheckedRecordings.batch`) where every recording was checked here."""
        channel_order = self._checked_layout(batch.shape[1:], 0, input_channel_names, one_array)
        from_counts = batch.dtype.kind in "iu"
        if from_counts:
            values = self._counts_as_float(batch)
        else:
            values = batch if batch.dtype == np.float64 else batch.astype(np.float32, copy=False)
        if unit_factors is not None:  # a new array: the caller's samples stay as they are
            values = values * unit_factors.astype(values.dtype)[:, None]
        if channel_order is not None:
            values = values[:, channel_order]
        # `_all_finite` per recording: a finite float64 sum means finite samples; an overflowing one asks the mask
        with np.errstate(over="ignore", invalid="ignore"):
            totals = np.add.reduce(values, axis=(1, 2), dtype=np.float64)
        one_by_one = ~np.isfinite(totals)
        for index in np.flatnonzero(one_by_one):
            one_by_one[index] = not np.isfinite(values[index]).all()
        if values.dtype == np.float64:
            peaks = np.maximum(values.max(axis=(1, 2)), -values.min(axis=(1, 2)))
            one_by_one |= (peaks > _FLOAT32_MAX) | ((peaks > 0) & (peaks < _FLOAT32_TINY))
        checked = list(values)
        warn_of_units = self.normalization == "fixed" and not _SPREAD_CHECKED_BY_CALLER.get()
        # in the order of the recordings, as the loop over them said its warnings and raised its first error
        for index in range(len(values)) if warn_of_units else np.flatnonzero(one_by_one):
            if one_by_one[index]:
                checked[index] = self._check_recording(
                    batch[index], int(index), nan_policy, input_channel_names, one_array, unit_factors, rates[index]
                )
            else:
                self._warn_of_unit_mismatch(values[index])
        centred = np.zeros(len(values), dtype=bool)
        if self.normalization == "zscore" and not from_counts:  # (counts were centred exactly: `_counts_as_float`)
            # a copy of only the recordings whose offset is removed, as each checked alone (a copy of the whole batch
            # for one such recording held all of its samples twice)
            with np.errstate(over="ignore", invalid="ignore"):  # (of the recordings checked alone, left out here)
                means, far = _far_offsets(values)
            centred = far.any(axis=-1) & ~one_by_one
            for index in np.flatnonzero(centred):
                checked[index] = values[index].copy()
                checked[index][far[index]] -= means[index, far[index], None].astype(values.dtype)
        return _CheckedRecordings(checked, None if (one_by_one | centred).any() else values)

    def unit_factors(
        self,
        input_channel_units: Sequence[str],
        input_channel_names: Sequence[str] | None = None,
        source: str = "The recording",
    ) -> tuple[np.ndarray | None, str | None]:
        """What each channel of a recording declared in `input_channel_units` (one per channel, in the recording's
        order; "" for one not declared) is multiplied by to be in the unit the checkpoint's training data was in
        (`channel_units`), and a note naming the channels converted: `(factors (channels,), note)`, or `(None, None)`
        where nothing changes (the same units in any spelling, units not known on either side, a checkpoint that
        records none). A recording's channel is matched to the checkpoint's by name where `input_channel_names` holds
        every one of its `channel_names` (as `input_channel_names` picks them), else by position; a checkpoint whose
        channels share one unit matches any channel count. `source` names the recording in messages.

        Raises:
            UnitError: a channel in a unit that cannot be converted to the checkpoint's (per cent for microvolts),
                naming `source`, the channel, both units and the fix.
        """
        input_channel_units = per_channel_list(input_channel_units, "input_channel_units")
        input_channel_names = per_channel_list(input_channel_names, "input_channel_names")
        if not self.channel_units or input_channel_units is None:
            return None, None
        given = [canonical_unit(unit) for unit in input_channel_units]
        names = [str(name) for name in input_channel_names] if input_channel_names is not None else None
        if names is not None and len(names) != len(given):
            names = None
        targets = self._units_of_channels(len(given), names)
        if targets is None:
            logger.warning_once(
                f"The checkpoint records the units of its {len(self.channel_units)} channels "
                f"({', '.join(self.channel_units)}), and the recording's {len(given)} channels cannot be matched to "
                "them (neither by name nor by count): their units are not compared. Pick the checkpoint's channels."
            )
            return None, None
        factors = np.ones(len(given))
        converted: dict[tuple[str, str, float], list[str]] = {}
        for channel, (unit, target) in enumerate(zip(given, targets)):
            if not unit or not target:  # not declared on one side: nothing to compare
                continue
            factor = unit_factor(unit, target)
            name = repr(names[channel]) if names is not None else str(channel)
            if factor is None:
                voltages = ", ".join(VOLTAGE_UNITS)
                raise UnitError(
                    f"{source}: channel {name} is in {unit!r}, and the checkpoint was trained on {target!r} there, "
                    f"which {unit!r} cannot be converted to (only voltages are: {voltages}). Give the model that "
                    f"channel in {target} (export it so), pick the channels it was trained on, or fine-tune a model on "
                    f"data in {unit}."
                )
            if factor != 1.0:
                factors[channel] = factor
                converted.setdefault((unit, target, factor), []).append(name)
        if not converted:
            return None, None
        parts = "; ".join(
            f"channel(s) {', '.join(channels)} from {unit} to {target} (x{factor:g})"
            for (unit, target, factor), channels in converted.items()
        )
        return factors, f"{source}: converted {parts}, the units the checkpoint's training data was in."

    def _units_of_channels(self, count: int, names: Sequence[str] | None) -> list[str] | None:
        """The checkpoint's unit (`channel_units`) for each of a recording's `count` channels, named `names` (or
        None): by name where the recording names every checkpoint channel, by position where the counts agree, or
        the one unit every checkpoint channel shares; None where the channels cannot be matched."""
        units = self.channel_units
        if names is not None and self.channel_names and not missing_channels(self.channel_names, names):
            by_key = {channel_key(name): unit for name, unit in zip(self.channel_names, units)}
            return [by_key.get(channel_key(name), "") for name in names]
        if count == len(units):
            return list(units)
        if len(set(units)) == 1:
            return [units[0]] * count
        return None

    def _sampled_for_statistics(
        self, recording: np.ndarray, input_channel_names: Sequence[str] | None
    ) -> np.ndarray | None:
        """What `spread_off_by` and `level_off_by` compare with a "fixed" checkpoint's statistics: at most
        `_UNIT_CHECK_SAMPLES` evenly spaced samples of each channel of a `(channels, time)` recording (picked by
        `input_channel_names` where given, as a call picks them), float64, NaN for each non-finite one; None for a
        checkpoint without fixed statistics or a recording of another channel count."""
        if self.normalization != "fixed" or not self.normalization_std:
            return None
        input_channel_names = per_channel_list(input_channel_names, "input_channel_names")
        if input_channel_names is not None:
            recording = self._select_channels(recording, 0, input_channel_names)
        if recording.shape[0] != len(self.normalization_std):
            return None
        step = max(1, recording.shape[1] // _UNIT_CHECK_SAMPLES)  # a strided view: no copy of a long recording
        sampled = np.asarray(recording[:, ::step], dtype=np.float64)
        return sampled if _all_finite(sampled) else np.where(np.isfinite(sampled), sampled, np.nan)

    def spread_off_by(self, recording: np.ndarray, input_channel_names: Sequence[str] | None = None) -> int | None:
        """The power of ten by which the spread of a `(channels, time)` recording is off the `normalization_std` a
        "fixed" checkpoint scales it by, where that is more than `_UNIT_MISMATCH_FACTOR` either way: it is then likely
        in another unit than the training data (`unit_mismatch_notice` says so). None where it is within, for a
        checkpoint without fixed statistics, or a recording whose channels are not the checkpoint's count. Channels
        are picked by `input_channel_names` where given, as a call picks them. NaN and inf samples are left out."""
        sampled = self._sampled_for_statistics(recording, input_channel_names)
        if sampled is None:
            return None
        with warnings.catch_warnings():  # a channel of NaN only: its spread is NaN, and left out below
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = _robust_spread(sampled)
        moving = spread > 0  # a flat (disconnected) channel says nothing about the unit
        if not moving.any():
            return None
        # the median channel: one dead or saturated channel does not decide
        ratio = float(np.median(spread[moving] / np.asarray(self.normalization_std, dtype=np.float64)[moving]))
        if 1 / _UNIT_MISMATCH_FACTOR <= ratio <= _UNIT_MISMATCH_FACTOR:
            return None
        return round(math.log10(ratio))

    def level_off_by(self, recording: np.ndarray, input_channel_names: Sequence[str] | None = None) -> float | None:
        """How many of the training data's standard deviations the level of a `(channels, time)` recording (its
        channels' medians) lies from the `normalization_mean` a "fixed" checkpoint subtracts, the farthest channel's,
        where that is more than `_LEVEL_MISMATCH_STDS`: an offset its training data did not have, which normalised
        reaches the model as values far beyond any it was trained on. None where it is within, for a checkpoint
        without fixed statistics, or a recording whose channels are not the checkpoint's count. Channels are picked
        by `input_channel_names` where given; NaN and inf samples are left out."""
        sampled = self._sampled_for_statistics(recording, input_channel_names)
        if sampled is None or not self.normalization_mean:
            return None
        with warnings.catch_warnings():  # a channel of NaN only: its level is NaN, and left out below
            warnings.simplefilter("ignore", RuntimeWarning)
            level = np.nanmedian(sampled, axis=1)
        std = np.asarray(self.normalization_std, dtype=np.float64)
        distance = np.abs(level - np.asarray(self.normalization_mean, dtype=np.float64)) / np.where(
            std > 0, std, np.inf
        )
        farthest = float(np.nanmax(distance)) if np.isfinite(distance).any() else 0.0
        return farthest if farthest > _LEVEL_MISMATCH_STDS else None

    def _warn_of_unit_mismatch(self, recording: np.ndarray) -> None:
        """Warn when the spread of a `(channels, time)` recording is orders of magnitude off the `normalization_std`
        this checkpoint's fixed statistics scale it by (`spread_off_by`): it is likely in another unit than the
        training data. A recording in volts (MNE's `raw.get_data()`) for a checkpoint trained on microvolts (citrus_hf's
        EDF reader, `citrus finetune`'s default `--normalization dataset`) reached the model as a flat line of spread
        1e-6 and was scored as an all-zeros recording, silently; the other way round, as values of 1e6. The samples
        are left as they are (a recording may be quiet or noisy on purpose); the warning comes once per power of ten.
        """
        power = self.spread_off_by(recording)
        if power is None:
            level = self.level_off_by(recording)
            if level is not None:
                logger.warning_once(level_mismatch_notice(level, "The recordings' level"))
            return
        mne = "; MNE's `raw.get_data()` is in volts, `raw.get_data(units='uV')` in microvolts" if power == -6 else ""
        logger.warning_once(
            unit_mismatch_notice(
                power,
                "The recordings' spread",
                f"convert them to the unit it was trained on (multiply by {{factor}}{mne}), then call it again.",
            )
        )

    def _counts_as_float(self, recording: np.ndarray) -> np.ndarray:
        """Integer samples `(channels, time)` (or a batch of them, `(batch, channels, time)`) as floats without
        losing them. Cast straight to float32, counts on a large offset were rounded to float32's step (256 counts at
        2^31) and swings of a few counts on 2^23 were zeroed as a constant window. With z-scoring, which removes each
        window's mean anyway, each channel's mean is removed exactly in float64 first; otherwise counts beyond
        float32's exact integers (2^24) stay float64."""
        if self.normalization == "zscore":
            # a few channels at a time: float64 copies of a whole recording of int16 counts were 4x and 2x its size
            # again
            channels = recording.reshape(-1, recording.shape[-1])  # (channels of every recording, time)
            centered = np.empty(channels.shape, dtype=np.float32)
            step = max(1, _NORMALIZE_CHUNK_SAMPLES // max(1, channels.shape[-1]))
            for start in range(0, len(channels), step):
                values = channels[start : start + step].astype(np.float64)
                centered[start : start + step] = values - values.mean(axis=-1, keepdims=True)
            return centered.reshape(recording.shape)
        return recording.astype(np.float32 if _exact_in_float32(recording) else np.float64)

    def _counts_become_float32(self, counts: np.ndarray) -> bool:
        """Whether `_counts_as_float` makes float32 of the integer array `counts`, whatever its rows (z-scored, or
        every count within float32's exact integers): a batch of them is then checked as one (`_check_batch`), its
        recordings of one dtype as each checked alone would be."""
        return counts.dtype.kind in "iu" and (self.normalization == "zscore" or _exact_in_float32(counts))

    def _select_channels(self, recording: np.ndarray, index: int, input_channel_names: Sequence[str]) -> np.ndarray:
        """The checkpoint's channels of a `(channels, time)` recording, picked by `input_channel_names`."""
        return recording[self._channel_order(recording.shape[0], index, input_channel_names)]

    def _channel_order(self, num_channels: int, index: int, input_channel_names: Sequence[str]) -> list[int]:
        """The positions of the checkpoint's `channel_names`, in its order, among a recording's `num_channels`
        channels named `input_channel_names`; refused naming recording `index` where they are not all there."""
        if self.channel_names is None:
            raise ValueError(
                "`input_channel_names` was given but this feature extractor names no channels to pick by them; build "
                "it with `CiTrusFeatureExtractor.from_config(model.config)` from a model config that has "
                "`channel_names` (a pipeline takes its model's), or select the channels yourself, in the model's order."
            )
        if isinstance(input_channel_names, str):
            raise TypeError(
                f"`input_channel_names` must be a list of names, one per channel of the recording, got the string "
                f"{input_channel_names!r}; pass [{input_channel_names!r}] for a single channel."
            )
        if len(input_channel_names) != num_channels:
            given = len(input_channel_names)
            raise ValueError(
                f"`input_channel_names` has {given} names but recording {index} has {num_channels} channels; "
                "give one name per channel, in the recording's order."
            )
        keys = [channel_key(name) for name in input_channel_names]
        duplicates = sorted({name for name in keys if keys.count(name) > 1})
        if duplicates:
            raise ValueError(f"`input_channel_names` names {duplicates} more than once; channel names must be unique.")
        missing = missing_channels(self.channel_names, input_channel_names)
        if missing:
            raise ValueError(
                f"recording {index} lacks the checkpoint channel(s) {missing}: it has {list(input_channel_names)} and "
                f"the checkpoint expects {self.channel_names}. Rename your channels to match, or select them yourself."
            )
        return [keys.index(channel_key(name)) for name in self.channel_names]

    def _too_short_error(self, index: int, recording: np.ndarray, rate: float, resampled_length: int) -> ValueError:
        num_channels, num_samples = recording.shape
        hint = (
            f" It has more channels ({num_channels}) than samples ({num_samples}): if its axes are (time, channels), "
            "pass `signal.T`."
            if num_channels > num_samples
            else ""
        )
        return ValueError(
            f"recording {index} has {num_samples} samples at {rate:g} Hz ({num_samples / rate:.3g} s), which is "
            f"{resampled_length} samples at the model's {self.sampling_rate:g} Hz: shorter than one patch "
            f"({self.patch_length} samples = {self.patch_length / self.sampling_rate:.3g} s). "
            f"{SHORT_RECORDING_ADVICE.get()}{hint}"
        )

    # ------------------------------------------------------------------------------------------------- alignment

    def _resample_groups(
        self, recordings: list[np.ndarray], rates: list[float], max_input_lengths: list[int] | None = None
    ) -> list[tuple[np.ndarray, int, int]]:
        """Resample every recording to the model rate; returns `(signal, up, down)` per recording.

        Recordings of equal shape and rate are resampled in one call (a batch of 1,000 EMG windows is one filter
        pass). `max_input_lengths` crops inputs first when only their start is needed.
        """
        results: list[tuple[np.ndarray, int, int] | None] = [None] * len(recordings)
        groups: dict[tuple, list[int]] = {}
        for index, (recording, rate) in enumerate(zip(recordings, rates)):
            length = recording.shape[-1]
            if max_input_lengths is not None:
                length = min(length, max_input_lengths[index])
            groups.setdefault((rate, recording.shape[0], length, recording.dtype.str), []).append(index)
        batch = getattr(recordings, "batch", None)  # (`_CheckedRecordings`: their rows, already one array)
        for (rate, _, length, _), indices in groups.items():
            up, down = _resampling_factors(rate, self.sampling_rate)
            if batch is not None and len(indices) == len(recordings):
                stacked = batch[:, :, :length]
            elif len(indices) > 1:
                stacked = np.stack([recordings[index][:, :length] for index in indices])
            else:  # a group of one (a long recording) is a view, not a copy
                stacked = recordings[indices[0]][None, :, :length]
            resampled = _resample(stacked, up, down)
            for position, index in enumerate(indices):
                results[index] = (resampled[position], up, down)
        return results

    def _check_resamplings(self, recordings: list[np.ndarray], rates: list[float], whole_copy: bool = False) -> None:
        """`_check_resampling` of every recording, and with `whole_copy` (`"window"`: each resampled whole before it
        is cut) `_check_resampled_bytes` too, once per shape, dtype and rate (the first recording of each, in order,
        so the first refused is named as when each was checked): a batch of 10,000 beats is one check."""
        checked = set()
        for index, (recording, rate) in enumerate(zip(recordings, rates)):
            if (recording.shape, recording.dtype, rate) not in checked:
                checked.add((recording.shape, recording.dtype, rate))
                self._check_resampling(index, recording, rate)
                if whole_copy:
                    self._check_resampled_bytes(index, recording, rate)

    def _check_resampling(self, index: int, recording: np.ndarray, rate: float) -> None:
        """Refuse, before scipy allocates anything, a rate that leaves less than one patch at the model's rate or
        needs an absurd filter (a rate of 1e300 Hz, or one given in kHz where Hz was meant)."""
        up, down = _resampling_factors(rate, self.sampling_rate)
        resampled_length = math.ceil(recording.shape[-1] * up / down)  # resample_poly's output length
        if resampled_length < self.patch_length:
            raise self._too_short_error(index, recording, rate, resampled_length)
        taps = _filter_taps(up, down)
        if up != down and taps > _MAX_FILTER_TAPS:
            raise ValueError(
                f"resampling recording {index} from {rate:g} Hz to the model's {self.sampling_rate:g} Hz (a factor of "
                f"{self.sampling_rate / rate:.3g}) would need an anti-aliasing filter of {taps:.3g} taps; check that "
                "`sampling_rate` is in Hz (samples per second)."
            )

    def _check_resampled_bytes(self, index: int, recording: np.ndarray, rate: float) -> None:
        """Refuse, before scipy allocates it, a whole recording resampled (`"window"`) into more than
        `_MAX_WINDOW_COPIES` times `max_window_bytes` by a rate that multiplies its samples more than
        `_MAX_WINDOW_COPIES` times: a rate given in kHz where Hz was meant (0.25 for 250 Hz) upsamples an hour of EEG
        400 times, tens of GiB, and numpy's MemoryError (or the system's out-of-memory killer) was all the caller saw.
        The copy is the recording at the model's rate, held once (`iter_windows` and the pipelines hold it too), as a
        long recording given at that rate is and passes: at `max_window_bytes` itself three days of a 3-axis 10 Hz
        accelerometer upsampled to 100 Hz (297 MiB) were refused, and `citrus predict` has no setting to lift it. The
        size is in the recording's own dtype, which the resampled copy keeps (float64 input: twice float32's)."""
        up, down = _resampling_factors(rate, self.sampling_rate)
        if self.max_window_bytes is None or up <= _MAX_WINDOW_COPIES * down:
            return
        num_channels, num_samples = recording.shape
        size = num_channels * math.ceil(num_samples * up / down) * recording.dtype.itemsize
        limit = _MAX_WINDOW_COPIES * self.max_window_bytes
        if size > limit:
            raise ValueError(
                f"resampling recording {index} from {rate:g} Hz to the model's {self.sampling_rate:g} Hz multiplies "
                f"its {num_samples} samples by {up / down:.3g}, into {size / 2**20:.0f} MiB, more than "
                f"{_MAX_WINDOW_COPIES} x `max_window_bytes` ({limit / 2**20:.0f} MiB): check that `sampling_rate` is "
                "in Hz (samples per second), or raise `extractor.max_window_bytes` (None: no limit)."
            )

    def _padded_length(self, full_lengths: list[int], padding: str | None, max_length: int | None) -> int:
        """Model samples per output row for "resample": see `padding` and `max_length` in `__call__`."""
        padding, max_length = self._call_padding(padding, max_length)
        longest = min(max(full_lengths), max_length)
        if padding == _DO_NOT_PAD and min(full_lengths) < longest:
            raise ValueError(
                f"padding=False but the recordings have different durations ({min(full_lengths)} to {longest} model "
                "samples), which one batch cannot hold unpadded; pass padding=True (or 'longest') to pad them to the "
                "longest, the padding marked in patch_mask."
            )
        if padding == "max_length":
            if longest < _MOSTLY_PADDING * max_length:
                # once per process and window, not per duration (the notice below does the same)
                logger.warning_once(
                    f"Recordings that fill less than half of the {max_length} model samples of a window are padded to "
                    "it (padding='max_length', the rest marked in patch_mask); padding='longest' keeps their own "
                    "duration instead, rounded up to whole patches, for less work. Each call's fill is logged at debug "
                    f"level {SHOWN_AT_DEBUG}."
                )
                logger.debug(
                    f"The recordings fill at most {longest} of the {max_length} model samples of each window "
                    f"({longest / max_length:.0%})."
                )
            return max_length
        length = -(-longest // self.patch_length) * self.patch_length
        if length < _MOSTLY_PADDING * self.context_length:
            # Once per process and contract, not per duration: a pipeline over clips of many lengths said it for
            # nearly every clip. The duration of each call goes to the debug log. Information, not a warning: this is
            # the default and changes no output, so at WARNING level every user of short clips saw it for nothing.
            logger.info_once(
                f"Recordings shorter than half the {self.context_length / self.sampling_rate:g} s context are kept at "
                f"their own duration in whole patches of {self.patch_length} samples at {self.sampling_rate:g} Hz "
                "(padding='longest'), so the model sees fewer patches than a full window. padding='max_length' "
                "(the full window, the rest masked) gives the same outputs for more work: nothing needs changing. "
                f"Each call's duration is logged at debug level {SHOWN_AT_DEBUG}."
            )
            logger.debug(
                f"Recordings of at most {longest / self.sampling_rate:g} s kept at their own duration ({length} "
                f"samples, {length // self.patch_length} patches at {self.sampling_rate:g} Hz)."
            )
        return length

    def _resample_to_context(
        self,
        recordings: list[np.ndarray],
        rates: list[float],
        padding: str | None = None,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        # Only the first `context_length` model samples are kept: resample just the input span they depend on (the
        # filter reaches `_FILTER_HALF_LENGTH * max(up, down) / up` input samples past it), not a whole night.
        self._check_resamplings(recordings, rates)
        max_input_lengths, full_lengths = [], []
        lengths_of: dict[tuple[float, int], tuple[int, int]] = {}  # (a batch of beats has one rate and length)
        for recording, rate in zip(recordings, rates):
            key = (rate, recording.shape[-1])
            if key not in lengths_of:
                up, down = _resampling_factors(rate, self.sampling_rate)
                margin = _FILTER_HALF_LENGTH * max(up, down) / up
                lengths_of[key] = (
                    math.ceil(self.context_length * down / up + margin) + 2,
                    math.ceil(recording.shape[-1] * up / down),
                )
            max_input_lengths.append(lengths_of[key][0])
            full_lengths.append(lengths_of[key][1])
        if max(full_lengths) > self.context_length:
            logger.warning_once(
                f"A recording is longer than the context ({self.context_length} samples = "
                f"{self.context_length / self.sampling_rate:g} s at {self.sampling_rate:g} Hz): alignment='resample' "
                "keeps its start only. " + LONG_RECORDING_ADVICE.get()
            )
        length = self._padded_length(full_lengths, padding, max_length)
        if pad_to_multiple_of is not None:
            length = self._rounded_length(length, pad_to_multiple_of)
        if max_length is not None and length < min(max(full_lengths), self.context_length):
            # once per process and max_length, not per call (a loop over recordings passes the same one each time)
            logger.warning_once(
                f"max_length={max_length} keeps the first {length} model samples ({length / self.sampling_rate:g} s) "
                "of longer recordings; drop max_length to keep their own duration up to the context. Each call's "
                f"longest recording is logged at debug level {SHOWN_AT_DEBUG}."
            )
            logger.debug(
                f"max_length={max_length} keeps {length} model samples of recordings up to "
                f"{max(full_lengths) / self.sampling_rate:g} s long."
            )
        values = np.zeros((len(recordings), recordings[0].shape[0], length), dtype=self._values_dtype(recordings))
        valid_lengths = np.minimum(np.asarray(full_lengths, dtype=np.int64), length)
        for index, (signal, _, _) in enumerate(self._resample_groups(recordings, rates, max_input_lengths)):
            values[index, :, : valid_lengths[index]] = signal[:, : valid_lengths[index]]
        return values, valid_lengths

    def _values_dtype(self, recordings: list[np.ndarray]) -> type:
        """The dtype of the aligned windows before normalisation: float64 when fixed statistics will be applied to
        float64 recordings (counts beyond float32's exact integers, float64 data it cannot hold), whose offset a
        float32 window would round away before the mean is removed; float32 otherwise (z-scored recordings were
        centred exactly already)."""
        wide = self.normalization == "fixed" and any(recording.dtype == np.float64 for recording in recordings)
        return np.float64 if wide else np.float32

    def _interpolate_to_context(self, recordings: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        dtype = self._values_dtype(recordings)
        values = np.empty((len(recordings), recordings[0].shape[0], self.context_length), dtype=dtype)
        batch = getattr(recordings, "batch", None)  # (`_CheckedRecordings`: one shape, checked as recording 0's)
        for index, recording in enumerate(recordings[:1] if batch is not None else recordings):
            if recording.shape[-1] < 2:
                raise ValueError(
                    f"recording {index} has {recording.shape[-1]} sample; alignment='interpolate' needs at least 2 to "
                    "interpolate between."
                )
            if recording.shape[-1] > self.context_length:
                logger.warning_once(
                    "alignment='interpolate' shortens recordings longer than the context by linear interpolation, as "
                    "the paper does, without an anti-aliasing filter: frequencies above the new Nyquist fold into lower "
                    "ones. " + ALIASING_ADVICE.get()
                )
            if batch is None:
                values[index] = _interpolate_linear(recording, self.context_length)
        if batch is not None:
            # sample by sample, as for each row alone; a chunk of rows at a time keeps the temporaries a few MiB
            rows = max(1, _NORMALIZE_CHUNK_SAMPLES // math.prod(values.shape[1:]))
            for start in range(0, len(batch), rows):
                values[start : start + rows] = _interpolate_linear(batch[start : start + rows], self.context_length)
        return values, np.full(len(recordings), self.context_length, dtype=np.int64)

    def _plan_windows(
        self,
        recordings: list[np.ndarray],
        rates: list[float],
        hop_length: int,
        pad_last_window: bool,
        first_seconds: list[float],
    ) -> list[_WindowPlan]:
        """Resample every recording once and decide where its windows start, without cutting any: one `_WindowPlan`
        per recording (the last window `pad_last_window` adds is padded, or whole where it holds the last
        `context_length` samples off the hop). `first_seconds`: where each recording starts in the one given (the
        seconds of NaN padding `_prepare` left out before it), so that window times stay those of the recording given.
        """
        self._check_resamplings(recordings, rates, whole_copy=True)
        plans = []
        for index, (signal, up, down) in enumerate(self._resample_groups(recordings, rates)):
            length = signal.shape[-1]
            if length < self.context_length and not pad_last_window:
                raise ValueError(
                    f"recording {index} lasts {recordings[index].shape[-1] / rates[index]:.3g} s, shorter than one "
                    f"window ({self.context_length / self.sampling_rate:g} s), so alignment='window' would yield no "
                    "window for it; pass pad_last_window=True to pad it, or use alignment='resample'."
                )
            num_full = 0 if length < self.context_length else (length - self.context_length) // hop_length + 1
            starts = np.arange(num_full, dtype=np.int64) * hop_length
            covered = starts[-1] + self.context_length if num_full else 0
            if pad_last_window and covered < length:
                # The padded window starts one hop after the last full window, as every window does: with a hop
                # longer than the context the samples in the gap before it stay out, as every gap's do. Where that
                # hop lies past the recording's end, the gap would swallow the end too (a 29 s recording, 2 s windows
                # every 6 s: 26-29 s), which `pad_last_window` is for: the window then holds the end, starting right
                # after the last full window, or one window before the end where more than a window is left.
                start = starts[-1] + hop_length if num_full else 0
                if start >= length:
                    start = max(covered, length - self.context_length)
                starts = np.append(starts, start)
            plans.append(_WindowPlan(signal, starts, num_full, down, up * rates[index], first_seconds[index]))
        return plans

    def _check_window_bytes(self, plans: list[_WindowPlan], hop_length: int) -> None:
        """Refuse, before cutting, windows that copy each sample many times over into more than `max_window_bytes`
        (a short hop on a long recording). Windows that merely add up to a large input (a batch of nights cut
        without overlap) are as large as the recordings themselves and pass."""
        num_windows = sum(len(plan.starts) for plan in plans)
        num_channels = plans[0].signal.shape[0]
        size = num_windows * num_channels * self.context_length * np.dtype(np.float32).itemsize
        copies = size / (sum(plan.signal.size for plan in plans) * np.dtype(np.float32).itemsize)
        if self.max_window_bytes is not None and size > self.max_window_bytes and copies > _MAX_WINDOW_COPIES:
            raise ValueError(
                f"alignment='window' with hop_length={hop_length} cuts {num_windows} windows of {num_channels} x "
                f"{self.context_length} samples: {size / 2**20:.0f} MiB at once ({copies:.0f} copies of every "
                f"sample), more than `max_window_bytes` ({self.max_window_bytes / 2**20:.0f} MiB). Stream them with "
                "`extractor.iter_windows(..., batch_size=...)`, use a longer hop_length, or raise "
                "`extractor.max_window_bytes` (None: no limit)."
            )

    def _window_features(self, plans: list[_WindowPlan], first: int, stop: int, return_tensors) -> BatchFeature:
        """Windows `first` to `stop - 1` of `plans` (counted across recordings), cut, normalised and masked."""
        values, valid, recording_index, start_seconds = [], [], [], []
        offset = 0
        for index, (signal, starts, num_full, down, up_rate, first_second) in enumerate(plans):
            low, high = max(first - offset, 0), min(stop - offset, len(starts))
            offset += len(starts)
            if low >= high:
                continue
            full_high = min(high, num_full)
            if low < full_high:
                step = int(starts[1] - starts[0]) if num_full > 1 else 1
                # (channels, windows, context_length) view, then one copy into (windows, channels, context_length)
                view = sliding_window_view(signal, self.context_length, axis=-1)
                view = view[:, starts[low] : starts[full_high - 1] + 1 : step]
                values.append(np.ascontiguousarray(view.transpose(1, 0, 2), dtype=self._values_dtype([signal])))
                valid.append(np.full(full_high - low, self.context_length, dtype=np.int64))
            if high > num_full:  # the padded last window
                start = int(starts[num_full])
                tail = np.zeros((1, signal.shape[0], self.context_length), dtype=self._values_dtype([signal]))
                tail[0, :, : signal.shape[-1] - start] = signal[:, start:]
                values.append(tail)
                valid.append(np.array([signal.shape[-1] - start], dtype=np.int64))
            recording_index.append(np.full(high - low, index, dtype=np.int64))
            start_seconds.append(first_second + starts[low:high] * down / up_rate)
        valid_lengths = np.concatenate(valid)
        data = {
            # one recording's windows are normalised as they are: concatenating one array would copy it
            "input_values": self._normalize(values[0] if len(values) == 1 else np.concatenate(values), valid_lengths),
            "patch_mask": self._patch_mask(valid_lengths),
            "recording_index": np.concatenate(recording_index),
            "window_start_seconds": np.concatenate(start_seconds),
        }
        return WindowFeatures(data=data, tensor_type=return_tensors)

    # --------------------------------------------------------------------------------------------- normalisation

    def _normalize(self, values: np.ndarray, valid_lengths: np.ndarray) -> np.ndarray:
        """Normalise `(batch, channels, time)` over the first `valid_lengths[b]` samples, then write the padding.

        Large batches go through in chunks: the statistics are per window and channel, so chunking changes nothing
        but the float64 temporaries, which stay a few MiB instead of several times the batch.
        """
        windows_per_chunk = max(1, _NORMALIZE_CHUNK_SAMPLES // max(1, math.prod(values.shape[1:])))
        if len(values) <= windows_per_chunk:
            return self._normalize_chunk(values, valid_lengths)
        output = np.empty(values.shape, dtype=np.float32)
        for start in range(0, len(values), windows_per_chunk):
            chunk = slice(start, start + windows_per_chunk)
            output[chunk] = self._normalize_chunk(values[chunk], valid_lengths[chunk])
        return output

    def _normalize_chunk(self, values: np.ndarray, valid_lengths: np.ndarray) -> np.ndarray:
        # Beyond the longest real span there is only padding: work on that span (38 of 3000 samples for TF-C EMG).
        span = int(valid_lengths.max())
        real = np.arange(span) < valid_lengths[:, None]  # (batch, span)
        padded = not real.all()
        signal = values[..., :span]
        if self.normalization == "zscore":
            counts = valid_lengths[:, None, None].astype(np.float64)
            if padded:
                signal = np.where(real[:, None, :], signal, np.float32(0))
            mean = signal.sum(axis=-1, keepdims=True, dtype=np.float64) / counts
            centered = signal - mean
            if padded:
                centered *= real[:, None, :]
            std = np.sqrt(np.einsum("bct,bct->bc", centered, centered)[..., None] / counts)
            scale = np.divide(1.0, std, out=np.zeros_like(std), where=std > _CONSTANT_RELATIVE_TOLERANCE * np.abs(mean))
            signal = centered * scale
        elif self.normalization == "fixed":
            # in float64 for float64 windows (`_values_dtype`): a mean of 2^31 counts rounded to float32 is 128 off;
            # and for float32 windows whose mean dwarfs the spread (counts near 2^23: float32's step there is 1, and
            # every sample would move by half a count, 0.05 std)
            mean = np.asarray(self.normalization_mean, dtype=np.float64)[:, None]
            std = np.asarray(self.normalization_std, dtype=np.float64)[:, None]
            if signal.dtype != np.float64 and not (np.abs(mean) > _OFFSET_TO_SPAN * std).any():
                mean, std = mean.astype(signal.dtype), std.astype(signal.dtype)
            with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, as an error
                signal = (signal - mean) / std
        if padded:
            signal = np.where(real[:, None, :], signal, np.float32(self.padding_value))
        with np.errstate(over="ignore"):  # an overflow is reported below, as an error (not also as numpy's warning)
            signal = signal.astype(np.float32, copy=False)
        # Inputs are finite and within float32's range, but a float32 variance overflows beyond about 1e19 and fixed
        # statistics can scale anything: never hand the model NaN / inf silently.
        overflowed = ~np.isfinite(signal).all(axis=(1, 2))
        if overflowed.any():
            raise ValueError(
                f"normalising output window(s) {np.flatnonzero(overflowed)[:5].tolist()} gave NaN / inf values: their "
                f"samples are too large for float32 arithmetic (up to {float(np.abs(values[overflowed]).max()):.3g}); "
                "rescale the recording (e.g. convert it to the unit the checkpoint was trained on)."
            )
        if span == self.context_length:
            return signal
        output = np.full(values.shape, self.padding_value, dtype=np.float32)
        output[..., :span] = signal
        return output

    def _patch_mask(self, valid_lengths: np.ndarray, num_patches: int | None = None) -> np.ndarray:
        """`(batch, num_patches)` (default: the context's): 1 where a patch holds at least one real sample."""
        patch_starts = np.arange(self.num_patches if num_patches is None else num_patches) * self.patch_length
        return (patch_starts[None, :] < valid_lengths[:, None]).astype(np.int64)


CiTrusFeatureExtractor.register_for_auto_class()

__all__ = ["CiTrusFeatureExtractor"]
