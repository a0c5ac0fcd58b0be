"""Windowing in seconds (of recordings, and of the examples of a labelled set of your own) and splits by group
(subject, recording, repetition) or by time block."""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bids import BIDS_OPTIONS, FOLDER_OPTIONS
from .errors import CitrusDataError

logger = logging.getLogger(__name__)


def seconds_to_samples(seconds: float, sampling_rate: float) -> int:
    """Number of samples in ``seconds`` at ``sampling_rate`` (rounded to the nearest sample)."""
    return int(round(seconds * sampling_rate))


def window_starts(
    n_samples: int,
    sampling_rate: float,
    window_seconds: float,
    hop_seconds: float,
    start: int = 0,
    stop: int | None = None,
) -> np.ndarray:
    """Start indices of the windows that fit wholly inside ``[start, stop)``.

    Windows are ``round(window_seconds * rate)`` samples long; window ``k`` starts at
    ``start + round(k * hop_seconds * rate)`` (rounded per window, so a fractional hop does not drift).

    Returns:
        int64 array of start indices (empty when the span is shorter than one window).
    """
    if window_seconds <= 0 or hop_seconds <= 0:
        raise ValueError(f"window_seconds ({window_seconds}) and hop_seconds ({hop_seconds}) must be positive.")
    stop = n_samples if stop is None else min(stop, n_samples)
    window = seconds_to_samples(window_seconds, sampling_rate)
    if window < 1:
        raise ValueError(f"A {window_seconds} s window at {sampling_rate} Hz holds no sample.")
    if hop_seconds * sampling_rate < 1 - 1e-9:
        raise ValueError(
            f"A hop of {hop_seconds} s at {sampling_rate} Hz is under one sample, so windows would repeat; give a hop of "
            f"at least {1 / sampling_rate:g} s."
        )
    span = stop - start - window
    if span < 0:
        return np.zeros(0, dtype=np.int64)
    count = int(np.floor(span / (hop_seconds * sampling_rate) + 1e-9)) + 1
    starts = start + np.round(np.arange(count) * hop_seconds * sampling_rate).astype(np.int64)
    return starts[starts + window <= stop]


def window_coverage_notes(split, window_seconds: float, hop_seconds: float, sampling_rate: float | None = None):
    """What `window_examples` leaves out of `split`'s examples, in words: the windows' length in samples where
    `window_seconds` is no whole number of them at a row's rate (rounded to the nearest: "19 samples (0.297 s) at
    64 Hz"), and the share of the samples that no window holds (the end of each example that no whole window covers,
    and the stretches between windows where the hop is longer than the window; an example no longer than a window is
    kept whole), as `(rounding or "", share or "")`: 4 s windows of 10 s examples leave out 20 % of a set."""
    from collections import Counter

    rows = Counter(row_samples_and_rates([split], sampling_rate))
    total = uncovered = 0
    for (samples, rate), count in rows.items():
        total += samples * count
        starts = window_starts(samples, rate, window_seconds, hop_seconds)
        if len(starts):
            length = seconds_to_samples(window_seconds, rate)
            uncovered += (samples - int(np.minimum(np.diff(starts), length).sum()) - length) * count
    rates = sorted({rate for _, rate in rows})
    rounded = [
        f"{seconds_to_samples(window_seconds, rate)} samples ({seconds_to_samples(window_seconds, rate) / rate:.3g} s) "
        f"at {rate:g} Hz"
        for rate in rates
        if abs(window_seconds * rate - round(window_seconds * rate)) > 1e-6
    ]
    share = uncovered / total if total else 0.0
    share_text = f"{share:.0%}" if share >= 0.01 else f"{100 * share:.2g}%"
    return (
        f" ({', '.join(rounded)}: no whole number of samples)" if rounded else "",
        f"{share_text} of their samples are in no window" if uncovered else "",
    )


def row_samples_and_rates(datasets, sampling_rate: float | None = None):
    """`(samples, rate)` of every row of `datasets` (labelled or unlabelled splits, `input_values` `(channels, time)`
    or `(time,)`) that has a rate: its `sampling_rate` column, or the `sampling_rate` argument for every row; rows
    without one are skipped (the aligner names them). Read from the Arrow lists, without decoding the samples."""
    for dataset in datasets:
        has_rate = "sampling_rate" in dataset.column_names
        columns = ["input_values"] + (["sampling_rate"] if has_rate else [])
        # (three passes over every split decoded them all: 21 s of a 69 s fine-tuning run on 150,000 rows that
        # fitted 50)
        for batch in dataset.with_format("arrow", columns=columns).iter(batch_size=4096):
            lengths = _arrow_row_lengths(batch["input_values"])
            if lengths is None:  # (another storage: decoded)
                lengths = [np.shape(values)[-1] for values in batch["input_values"].to_pylist()]
            rates = batch["sampling_rate"].to_pylist() if has_rate else [sampling_rate] * len(lengths)
            for samples, rate in zip(lengths, rates, strict=True):
                if rate is not None:
                    yield int(samples), float(rate)


def rows_without_signal(split) -> np.ndarray:
    """`(rows,)` whether each row of `split` (`input_values` `(channels, time)` or `(time,)`) holds no signal: every
    channel constant over its finite samples, or NaN / inf throughout (a stretch `nan_policy="interpolate"` fills with
    a line). The pipelines' rule on a window's own samples (`pipelines._stretch_without_signal`: they leave such a
    window out of a recording's answer; that file imports nothing of the package, and a test keeps the two equal)."""
    flags = []
    # (256 rows at a time were 256 whole recordings of a set that is not cut into windows, decoded at once)
    batch_size = rows_per_map_batch(split, most_rows=256)
    for batch in split.with_format("numpy", columns=["input_values"]).iter(batch_size=batch_size):
        for values in batch["input_values"]:
            values = np.asarray(values, dtype=np.float64)
            values = values.reshape(-1, values.shape[-1])
            finite = np.isfinite(values)
            high = np.max(values, axis=-1, where=finite, initial=-np.inf)
            low = np.min(values, axis=-1, where=finite, initial=np.inf)
            flags.append(bool((high <= low).all()))  # (a channel of no finite sample: -inf <= inf)
    return np.asarray(flags, dtype=bool)


def window_example_ids(split, window_seconds: float, hop_seconds: float, sampling_rate: float | None = None):
    """`(windows,)` the example of `split` (its row number) that each window `window_examples` cuts from it comes from,
    in the windows' order: the labelled example a label budget counts (`budgets.draw_budget`'s `groups`), where a
    recording's windows are one label however many there are. Counted from the rows' lengths as `window_examples`
    cuts them (an example no longer than a window is one window), without decoding the samples."""
    counts = [
        max(1, len(window_starts(samples, rate, window_seconds, hop_seconds)))
        for samples, rate in row_samples_and_rates([split], sampling_rate)
    ]
    return np.repeat(np.arange(len(counts)), counts)


def _arrow_row_lengths(column) -> np.ndarray | None:
    """The samples per row of an Arrow `input_values` column (a `ChunkedArray`): the length of each row's list
    (`(time,)` rows) or of its first channel's (`(channels, time)` rows), from the lists' offsets
    (`_arrow_chunk_rows`); None for a storage this does not read, which the caller decodes."""
    rows = [_arrow_chunk_rows(chunk) for chunk in column.chunks]
    if any(shape is None for shape in rows):
        return None
    return np.concatenate([lengths for _, lengths in rows]) if rows else np.zeros(0, dtype=np.int64)


def _arrow_chunk_rows(chunk) -> tuple[np.ndarray, np.ndarray] | None:
    """`(channels, samples of the first channel)`, `(rows,)` each, of one Arrow chunk of `input_values` (a list of
    numbers is one channel), read from the lists' offsets alone: `pyarrow.compute.list_element` copied every row's
    first channel (the whole column of single-channel nights, 4096 rows at a time) to count them. None for a storage
    this does not read (missing rows or channels, a row without channels, values that are not numbers)."""
    import pyarrow as pa

    def is_list(arrow_type) -> bool:
        return pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)

    if not is_list(chunk.type) or chunk.null_count:
        return None
    outer = chunk.offsets.to_numpy()  # (of the chunk's own rows, indexing its whole child, however it is sliced)
    inner_type = chunk.type.value_type
    if pa.types.is_integer(inner_type) or pa.types.is_floating(inner_type):  # `(time,)` rows
        return np.ones(len(chunk), dtype=np.int64), np.diff(outer).astype(np.int64)
    channels = np.diff(outer).astype(np.int64)
    if not channels.all():
        return None
    if pa.types.is_fixed_size_list(inner_type):  # channels of one fixed length (`List(List(Value, length=T))`)
        return channels, np.full(len(chunk), inner_type.list_size, dtype=np.int64)
    if not is_list(inner_type) or chunk.values.null_count:
        return None
    inner = chunk.values.offsets.to_numpy()
    return channels, (inner[outer[:-1] + 1] - inner[outer[:-1]]).astype(np.int64)


# Samples (of every channel) that one batch of a `Dataset.map` over whole examples decodes at once, and the most rows
# it takes: 32 MB of float32. Rows may be whole nights, and 64 rows a batch (the maps' batch before) decoded 64 nights,
# and made all their windows, at once: 16 rows of an hour of 4 channels at 256 Hz held 3x the windowed rows' memory.
MAP_BATCH_SAMPLES = 2**23
MAP_BATCH_ROWS = 64


def rows_per_map_batch(dataset, most_rows: int = MAP_BATCH_ROWS, samples: int | None = None) -> int:
    """The rows of `dataset` (`input_values` `(channels, time)` or `(time,)`) that a `Dataset.map` (or a pass) over
    them takes at a time: `most_rows`, fewer where its largest row holds more than `samples / most_rows` samples over
    its channels, down to one row (`samples` defaults to `MAP_BATCH_SAMPLES`, read at call time). Counted from the
    Arrow lists' offsets of the table that backs it (every row it selects from: a bound, read without gathering or
    decoding a sample); a storage this does not read (fixed-size arrays) keeps `most_rows`."""
    if len(dataset) == 0 or "input_values" not in dataset.column_names:
        return most_rows
    largest = 0
    for chunk in dataset.data.column("input_values").chunks:
        rows = _arrow_chunk_rows(chunk)
        if rows is None:
            return most_rows
        largest = max(largest, int((rows[0] * rows[1]).max(initial=0)))
    if samples is None:
        samples = MAP_BATCH_SAMPLES
    return int(max(1, min(most_rows, samples // max(1, largest))))


def first_example_shape(split) -> tuple[int, ...]:
    """The shape of the first `input_values` of `split`: `(time,)` or `(channels, time)`, read from its Arrow lists
    without decoding a sample (decoded in `datasets`' default format, one night of 4 channels at 256 Hz became 22
    million Python floats, 8x the row's float32, to learn its dimensions); fixed-size arrays are decoded as numpy."""
    import pyarrow as pa

    column = split.with_format("arrow", columns=["input_values"])[:1]["input_values"]
    row = column.chunk(0)[0] if column.num_chunks else None
    if isinstance(row, (pa.ListScalar, pa.LargeListScalar)) and row.is_valid:
        values = row.values
        channel_type = values.type
        # channels of one fixed length (`List(List(Value, length=T))`) are a list too: read as `(time,)`, a row of 2
        # channels was one channel of 2 samples (windows of the wrong shape, a 1-channel model)
        if (
            pa.types.is_list(channel_type)
            or pa.types.is_large_list(channel_type)
            or pa.types.is_fixed_size_list(channel_type)
        ):
            return (len(values), len(values[0].values) if len(values) and values[0].is_valid else 0)
        return (len(values),)
    return np.shape(split.with_format("numpy", columns=["input_values"], dtype=None)[0]["input_values"])


def split_by_group(
    sizes: Mapping[Hashable, float],
    fractions: Mapping[str, float],
    seed: int = 0,
    owner: str = "this split",
    groups: str = "groups",
) -> dict[str, list[Hashable]]:
    """Assign whole groups (subjects, recordings) to splits so that each split gets about its share of the total.

    Groups are taken largest first (ties in a seeded random order) and each goes to the split furthest below its
    target (target share x total - size so far), so no group is ever in two splits and the shares come out as close
    as whole groups allow. With equal sizes this is a seeded shuffle cut into the given fractions.

    Args:
        sizes: {group: size} (windows, seconds...).
        fractions: {split name: share}; shares are normalised to sum to 1. A split with share 0 gets nothing.
        seed: seed of the tie-breaking shuffle.
        owner, groups: for the error below, what is split (a dataset's name) and what its groups are ("subjects").

    Returns:
        {split name: groups (sorted)}; every split of ``fractions`` is present, possibly empty.

    Raises:
        CitrusDataError: a ``seed`` other than 0 where no two groups have one size: it would silently give seed 0's
            split (a user asking for another split got the same one).
    """
    if not fractions or any(value < 0 for value in fractions.values()) or sum(fractions.values()) <= 0:
        raise ValueError(f"fractions must be non-negative and not all zero, got {dict(fractions)}.")
    if seed != 0 and len(set(sizes.values())) == len(sizes):
        raise CitrusDataError(
            f"{owner}: seed={seed} gives the split of seed 0. Its {groups} go to the splits largest first, so that "
            f"each split gets its share, and the seed only orders {groups} of equal size, of which it has none. Leave "
            "seed out."
        )
    total_share = sum(fractions.values())
    groups = list(sizes)
    order = np.random.default_rng(seed).permutation(len(groups))
    ranked = sorted((groups[i] for i in order), key=lambda group: -sizes[group])  # stable: ties keep the shuffle
    total = float(sum(sizes.values()))
    targets = {name: value / total_share * total for name, value in fractions.items() if value > 0}
    filled = dict.fromkeys(targets, 0.0)
    assignment: dict[str, list[Hashable]] = {name: [] for name in fractions}
    for group in ranked:
        name = max(targets, key=lambda split: targets[split] - filled[split])
        assignment[name].append(group)
        filled[name] += sizes[group]
    return {name: sorted(members, key=str) for name, members in assignment.items()}


def time_blocks(n_samples: int, fractions: Sequence[float], names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Cut ``[0, n_samples)`` into consecutive blocks of the given fractions, e.g. 70 / 15 / 15 %.

    Returns:
        {name: (start, stop)} with the blocks in order and covering every sample once.
    """
    if len(fractions) != len(names):
        raise ValueError(f"{len(fractions)} fractions for {len(names)} split names.")
    bounds = np.round(np.cumsum([0.0, *fractions]) / sum(fractions) * n_samples).astype(int)
    return {name: (int(bounds[i]), int(bounds[i + 1])) for i, name in enumerate(names)}


# The dataset options a labelled set of your own takes (a registered set takes its builder's instead): cutting its
# examples into windows (`window_examples`), as the registered sets' builders cut their recordings.
OWN_SET_OPTIONS = ("window_seconds", "hop_seconds")


def check_own_set_options(options: Mapping[str, Any] | None, dataset: str) -> tuple[float, float] | None:
    """`(window_seconds, hop_seconds)` from the dataset options of a set of your own (`OWN_SET_OPTIONS`; the hop
    defaults to the window: windows back to back), or None without a window. A BIDS dataset's options
    (`bids.BIDS_OPTIONS`) are let through, for the folder's reader to check (`recording_folders.metadata_layout`).

    Raises:
        ValueError: another option (those are builder options of registered sets), a hop without a window, or a
            length that is not a positive number of seconds.
    """
    if not options:
        return None
    unknown = sorted(set(options) - set(OWN_SET_OPTIONS) - set(FOLDER_OPTIONS))
    if unknown or ("hop_seconds" in options and "window_seconds" not in options):
        problem = f"options {unknown} are builder options of registered datasets" if unknown else "a hop needs a window"
        raise ValueError(
            f"Dataset {dataset!r}: {problem}; a set of your own takes window_seconds=S (and hop_seconds=S, default: "
            "the window) to cut every example longer than S seconds into windows of S seconds, e.g. "
            f"--dataset-options window_seconds=5 (citrus evaluate: --dataset-options {dataset}:window_seconds=5), "
            f"and a BIDS dataset {' / '.join(BIDS_OPTIONS)} (label_column=value, test_subjects='[\"05\"]')."
        )
    if "window_seconds" not in options:
        return None
    lengths = {}
    for name in OWN_SET_OPTIONS:
        value = options.get(name, options["window_seconds"])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"Dataset {dataset!r}: {name} must be a positive number of seconds, got {value!r}.")
        lengths[name] = float(value)
    return lengths["window_seconds"], lengths["hop_seconds"]


def whole_patch_windows(windows: tuple[float, float], patch_seconds: float, hop_given: bool) -> tuple[float, float]:
    """`(window_seconds, hop_seconds)` of a set of your own (`check_own_set_options`) with the window rounded to the
    nearest whole number of a model's patches of `patch_seconds` (at least one; halves up), and the hop with it
    unless `hop_given`, said in a warning when that changes it. The model takes whole patches: a window of 2.5 was
    padded with zeros that `patch_mask` marked as signal, the checkpoint recorded the 3 patches, and `citrus predict`
    scored windows of 3 patches of signal, which no training window was."""
    window_seconds, hop_seconds = windows
    patches = round(window_seconds / patch_seconds, 9)
    if patches == round(patches) and patches >= 1:
        return windows
    whole = max(1, math.floor(patches + 0.5))
    rounded = round(whole * patch_seconds, 9)
    lower, upper = math.floor(patches), math.floor(patches) + 1
    # (under one patch there is no whole number of patches below: the advice was "window_seconds=0.2 or 0.2")
    choices = (
        f"{round(lower * patch_seconds, 9):g} or {round(upper * patch_seconds, 9):g} to choose"
        if lower >= 1
        else f"{round(upper * patch_seconds, 9):g} (one patch, the shortest window the model takes) or longer"
    )
    logger.warning(
        f"window_seconds={window_seconds:g} is {patches:g} patches of the model ({patch_seconds:g} s each), which "
        f"takes whole patches only: windows are cut at {rounded:g} s ({whole} patch{'es' if whole > 1 else ''}) "
        f"instead, the window the checkpoint records and citrus predict cuts. Give window_seconds={choices}."
    )
    return rounded, hop_seconds if hop_given else rounded


def _sample_type(feature):
    """The `datasets.Value` of one sample of an `input_values` feature (`List` / `LargeList` of lists, `Array2D`):
    windows keep it (float64 rows cut into float32 windows lost a swing on a large offset)."""
    import datasets

    while not isinstance(feature, datasets.Value):
        inner = getattr(feature, "feature", None)
        if inner is None:  # Array2D / Array3D name their type
            return datasets.Value(getattr(feature, "dtype", "float32"))
        feature = inner
    return feature


def window_examples(
    split,
    window_seconds: float,
    hop_seconds: float,
    sampling_rate: float | None = None,
    name: str = "train",
):
    """Cut every example of a labelled `split` (a `datasets.Dataset`) longer than `window_seconds` into windows of
    `window_seconds` every `hop_seconds`, each a row of its own with the example's label and other columns; an
    example's end shorter than a window is dropped, and an example no longer than a window stays whole.

    Windows of one example share its `recording` id (an example without one gets `"<name> row <i>"`), so that a
    validation split carved by recording never holds windows of an example whose other windows train, and
    `start_seconds` says where each starts (added to the example's own `start_seconds` when it has that column).
    `input_values` of shape `(channels, time)` or `(time,)`; each row's rate is its `sampling_rate` column, else
    `sampling_rate`. The windows are cached as `Dataset.map` caches (keyed by the rows and the lengths).

    Returns:
        the windowed `datasets.Dataset` (the split itself when it is empty).
    """
    import datasets

    if len(split) == 0:
        return split
    has_rate = "sampling_rate" in split.column_names
    if not has_rate and sampling_rate is None:
        raise ValueError(
            f"window_seconds cuts the {name} split's examples by time, and it has no `sampling_rate` column: give the "
            "rate of every row (--sampling-rate HZ)."
        )
    one_dimensional = len(first_example_shape(split)) == 1
    samples = _sample_type(split.features["input_values"])
    # the split's own columns; a window's samples are a list of any length (the example's were perhaps fixed)
    features = datasets.Features(split.features)
    features["input_values"] = datasets.List(samples) if one_dimensional else datasets.List(datasets.List(samples))
    if "start_seconds" not in features:  # (item assignment: `Features` keeps its decoding table in step)
        features["start_seconds"] = datasets.Value("float64")
    if "recording" not in features:
        features["recording"] = datasets.Value("string")
    # a missing id is named in any string column (pandas / polars parquet writes `large_string`): a window left
    # without one counted as a recording of its own in the validation carve, splitting its example's windows
    names_missing = getattr(features["recording"], "dtype", None) in ("string", "large_string")

    def cut(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        windows: dict[str, list] = {column: [] for column in features}
        for offset, index in enumerate(indices):
            values = np.asarray(batch["input_values"][offset])  # in the split's own type, which the windows keep
            rate = float(batch["sampling_rate"][offset]) if has_rate else float(sampling_rate)
            starts = window_starts(values.shape[-1], rate, window_seconds, hop_seconds)
            length = seconds_to_samples(window_seconds, rate)
            if len(starts) == 0:  # shorter than a window: whole (the feature extractor pads it, and says so)
                starts, length = np.zeros(1, dtype=np.int64), values.shape[-1]
            recording = batch["recording"][offset] if "recording" in batch else None
            if recording is None and names_missing:
                recording = f"{name} row {index}"
            start = (batch["start_seconds"][offset] if "start_seconds" in batch else None) or 0.0
            for window_start in starts:
                for column in features:
                    if column not in ("input_values", "recording", "start_seconds"):
                        windows[column].append(batch[column][offset])
                windows["input_values"].append(values[..., window_start : window_start + length])
                windows["recording"].append(recording)
                windows["start_seconds"].append(float(start) + window_start / rate)
        return windows

    from datasets.fingerprint import Hasher

    # `dtype=None`: rows in their stored type (`datasets`' numpy format makes float64 float32, rounding away a swing on
    # a large offset that the windows' own float64 column would keep)
    windowed = split.with_format("numpy", columns=["input_values"], output_all_columns=True, dtype=None).map(
        cut,
        batched=True,
        batch_size=rows_per_map_batch(split),
        with_indices=True,
        remove_columns=split.column_names,
        features=features,
        desc=f"Cutting the {name} split into {window_seconds:g} s windows",
        # this module's code in the key too: a changed cutter (another package version) never reads old windows
        new_fingerprint=Hasher.hash(
            [split._fingerprint, window_seconds, hop_seconds, sampling_rate, name, Path(__file__).read_bytes()]
        ),
    )
    return windowed.with_format(split.format["type"], **split.format["format_kwargs"])
