"""What every dataset builder shares: the column schema, a `BuildPlan` (features + generator + arguments per split),
what a builder is told (`BuildContext`), option resolution, the cache key, and writing a plan to the datasets cache.

The builders themselves live with their corpus in :mod:`citrus_hf.data.sources`; :func:`citrus_hf.data.build_dataset`
calls the registered one and writes its plan.

Every dataset has these columns:

* ``input_values``: float32 ``(channels, time)``; ``Array2D`` when the shape is fixed for the dataset, else nested
  lists (the pre-training corpora keep each recording's native sampling rate, so their lengths differ).
* ``label`` (``ClassLabel`` with names) or ``target`` (float32) for labelled sets.
* ``sampling_rate`` (float32, Hz), ``subject``, ``recording``, ``source`` (``package==version:file`` or the online
  corpus and file), ``start_seconds`` (window start in its recording).
* single-channel corpora add ``channel`` and ``modality``.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CitrusDataError, naming_unwritable_cache, told_by_generator
from .registry import DatasetSpec

# The splits of a labelled set that has all three, in time order where a set is cut into time blocks.
SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test")
# What a `fractions` option must be (one share per split), for the errors that refuse another.
_SHARES_WANTED = f"{len(SPLIT_NAMES)} shares ({', '.join(SPLIT_NAMES)}), e.g. (0.8, 0.1, 0.1)"


def dataset_features(
    label_names: list[str] | None, target: bool, shape: tuple[int, int] | None, extra: tuple[str, ...] = ()
):
    """The Arrow schema every dataset shares (see the module docstring); `shape` fixes `input_values` as `Array2D`,
    `extra` adds string columns (e.g. `channel`, `modality`)."""
    from datasets import Array2D, ClassLabel, Features, List, Value

    columns: dict[str, Any] = {
        "input_values": Array2D(shape=shape, dtype="float32") if shape else List(List(Value("float32")))
    }
    if label_names is not None:
        columns["label"] = ClassLabel(names=list(label_names))
    if target:
        columns["target"] = Value("float32")
    columns.update(
        sampling_rate=Value("float32"),
        subject=Value("string"),
        recording=Value("string"),
        source=Value("string"),
        start_seconds=Value("float32"),
    )
    for name in extra:
        columns[name] = Value("string")
    return Features(columns)


def window_row(
    values: Any,
    sampling_rate: float,
    start_seconds: float,
    *,
    subject: str,
    recording: str,
    source: str,
    label: int | None = None,
    target: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One row of the schema :func:`dataset_features` declares, as a builder's generator yields it.

    Args:
        values: ``input_values``, ``(channels, time)`` float32.
        sampling_rate / start_seconds: the window's rate (Hz) and its start in its recording (seconds).
        subject / recording / source: where the window comes from (``RecordingRef.identity`` holds them).
        label / target: the class index of a classification set or the float target of a regression set; None
            leaves the column out (unlabelled corpora).
        extra: the set's own columns (``channel``, ``modality``, ``channel_names``...).
    """
    row: dict[str, Any] = {"input_values": values}
    if label is not None:
        row["label"] = label
    if target is not None:
        row["target"] = target
    row.update(
        sampling_rate=sampling_rate,
        subject=subject,
        recording=recording,
        source=source,
        start_seconds=start_seconds,
        **extra,
    )
    return row


def split_shares(fractions: Any) -> dict[str, float]:
    """``{split: share}`` of a ``fractions`` option: one share per name of :data:`SPLIT_NAMES`, in that order.

    Raises:
        CitrusDataError: not one share per split (``zip`` would silently drop a split or a share).
    """
    fractions = list(fractions)
    if len(fractions) != len(SPLIT_NAMES):
        raise CitrusDataError(f"`fractions` must be {_SHARES_WANTED}, got {fractions!r}.")
    return dict(zip(SPLIT_NAMES, fractions, strict=True))


@dataclass
class BuildPlan:
    """What a builder returns: the features, a generator and its arguments per split.

    ``cache_key`` holds whatever else decides the content besides the dataset's name, version, options and the
    sha256 of its archives (which :func:`citrus_hf.data.build_dataset` adds itself): e.g. the files of a local copy
    of an online corpus, or the versions of the datasets whose splits a corpus consults.
    """

    features: Any
    generator: Callable[..., Iterator[dict]]
    splits: dict[str, dict[str, Any]]
    cache_key: tuple = ()


@dataclass(frozen=True)
class BuildContext:
    """Where a builder finds its inputs.

    Attributes:
        archive_cache_dir: the offline archives (default ``$CITRUS_HF_CACHE`` or ``~/.cache/citrus_hf/archives``).
        cache_dir: the datasets cache, for builders that consult other datasets (default ``HF_DATASETS_CACHE``).
        data_dir: the local copy of an online corpus.
        download: whether an online corpus may download what ``data_dir`` lacks.
        selection: what an online corpus downloads and builds of its folder (e.g. ``subjects`` and ``subsets`` of
            Sleep-EDF, ``records`` of MIT-BIH).
    """

    archive_cache_dir: str | os.PathLike | None = None
    cache_dir: str | os.PathLike | None = None
    data_dir: Path | None = None
    download: bool = True
    selection: Mapping[str, Any] = field(default_factory=dict)


def resolve_options(spec: DatasetSpec, options: dict[str, Any]) -> dict[str, Any]:
    """The spec's defaults updated with ``options``; unknown option names raise with the list of known ones.

    A None is "not given" (the default), as scripts and commands pass an option left out, except for the options the
    spec declares `nullable`, whose None is a setting of their own (``max_wake_edge_minutes=None`` keeps all wake):
    dropped too, it built the default set, and the set's info said 30.0 where None was asked for."""
    unknown = sorted(set(options) - set(spec.defaults))
    if unknown:
        # an online corpus also takes data_dir, which the caller takes out before the builder's options are resolved
        known = ", ".join(sorted([*spec.defaults, *([] if spec.offline else ["data_dir"])])) or "none"
        raise CitrusDataError(f"Dataset {spec.name!r} has no option(s) {unknown}; its options are: {known}.")
    resolved = {**spec.defaults, **{k: v for k, v in options.items() if v is not None or k in spec.nullable}}
    for key, value in options.items():
        if isinstance(spec.defaults[key], (list, tuple)) and value is not None:
            # an option that takes a list, given one value (`labelled_splits=train` on the command line): the list of
            # that one, so both spellings build (and cache) the same set; `list("train")` read it letter by letter
            resolved[key] = listed_option(key, value)
    defaults = spec.defaults
    hop_follows_window = defaults.get("hop_seconds") is not None and defaults.get("hop_seconds") == defaults.get(
        "window_seconds"
    )
    if hop_follows_window and options.get("window_seconds") is not None and options.get("hop_seconds") is None:
        # windows back to back by default: a new window length keeps them so (with the default 30 s hop, 10 s
        # windows of eeg_pretrain skipped 20 s of every 30, 0.54 instead of 2.8 channel-hours, without a word)
        resolved["hop_seconds"] = options["window_seconds"]
    for key, value in options.items():  # a value of the default's kind: a number where a number is expected
        default = spec.defaults[key]
        if value is None or default is None:
            continue
        if isinstance(default, bool) and not isinstance(value, bool):
            raise CitrusDataError(f"Option {key!r} of dataset {spec.name!r} is true or false, got {value!r}.")
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(default, (int, float)) and not isinstance(default, bool) and not number:
            raise CitrusDataError(
                f"Option {key!r} of dataset {spec.name!r} is a number (default {default!r}), got {value!r}."
            )
    _check_option_values(spec.name, resolved, spec.nullable)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in resolved.items()}


def _check_option_values(dataset: str, options: dict[str, Any], nullable: Sequence[str] = ()) -> None:
    """Refuse option values no builder can use, naming the option: every number finite (an infinite window died in
    an integer conversion), durations positive (windows, hops) or >= 0 (offsets in seconds, margins in minutes: a
    negative `max_wake_edge_minutes`, "no limit" in many tools, cut into each night's sleep without a word), shares
    in [0, 1), seeds >= 0. `nullable`: the options whose None is a setting of their own, named in the message."""

    def refuse(key: str, wanted: str) -> None:
        raise CitrusDataError(f"Option {key!r} of dataset {dataset!r} must be {wanted}, got {options[key]!r}.")

    for key, value in options.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if any(not math.isfinite(v) for v in numbers):
            refuse(key, "finite")
        if key == "fractions" and len(values) != len(SPLIT_NAMES):  # zip would drop a split or a share silently
            refuse(key, _SHARES_WANTED)
        if not numbers or len(numbers) != len(values):  # None, text, or a mix: the builder's own checks apply
            continue
        if key in ("window_seconds", "hop_seconds") and not values[0] > 0:
            refuse(key, "a positive number of seconds")
        if key.endswith("_seconds") and key not in ("window_seconds", "hop_seconds") and not values[0] >= 0:
            refuse(key, "a number of seconds >= 0")
        if key.endswith("_minutes") and not values[0] >= 0:
            refuse(key, "a number of minutes >= 0" + (" (or null: no limit)" if key in nullable else ""))
        if key == "validation_fraction" and not 0 <= value < 1:
            refuse(key, "a share in [0, 1)")
        if key == "fractions" and (any(v < 0 for v in numbers) or not sum(numbers) > 0):
            refuse(key, "shares >= 0 that are not all 0, e.g. (0.8, 0.1, 0.1)")
        if key == "seed" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            refuse(key, "an integer >= 0")


def listed_option(
    key: str,
    value: Any,
    valid: Sequence[Any] | None = None,
    *,
    outside: str = "it does not take",
    choices: str = "its values are",
) -> list[Any]:
    """The values of an option that takes a list (`labelled_splits`, `exclude_sources`, `test_repetitions`, a sleep
    set's `channels`), as a list: one value given alone (`labelled_splits=train` on the command line,
    `test_repetitions=3`) is the list of that one, where ``list("train")`` would have split a name into its letters.

    Args:
        key: the option's name, for the message.
        value: the option's value: one name or number, or a list (tuple) of them.
        valid: the values the option may name; None checks none.
        outside / choices: the message's words for a value not in `valid` and for `valid`: "Option 'channels' names
            ['nope'], which {outside}; {choices}: ...", e.g. "SC4001E0-PSG.edf does not hold" / "its channels are".

    Raises:
        CitrusDataError: a value not in `valid`, compared with its kind: the text "3" is not the repetition 3 (it
            matched none without a word), nor is True the number 1. The message names the option and the valid values.
    """
    values = [value] if isinstance(value, (str, bytes, numbers.Number)) else list(value)
    if valid is not None:
        unknown = [given for given in values if not any(_same_value(given, known) for known in valid)]
        if unknown:
            raise CitrusDataError(
                f"Option {key!r} names {unknown!r}, which {outside}; {choices}: {', '.join(map(str, valid))} (name "
                "one or more of them, as a list or one alone)."
            )
    return values


def _same_value(given: Any, known: Any) -> bool:
    """Whether an option's `given` value is `known`: equal and of the same kind (text, whole number, other number),
    so "3" is not 3, True is not 1 and 3.0 is not the repetition 3."""

    def kind(value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, numbers.Integral):  # numpy's integers too
            return "int"
        if isinstance(value, numbers.Number):
            return "number"
        return "text" if isinstance(value, str) else type(value).__name__

    return kind(given) == kind(known) and given == known


def fingerprint(name: str, version: str, options: dict, archives: tuple[str, ...], split: str) -> str:
    """Cache key of one split: a hash of everything that decides its content."""
    payload = json.dumps([name, version, options, list(archives), split], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def code_digest(*functions: Callable[..., Any]) -> str:
    """A digest of what `functions` (a builder of one's own and its generator) compute, for the cache key of the set
    they build: `datasets`' own hash of each (`Hasher`: a function defined in a notebook or inside another is pickled
    whole, with the values its closure holds and the functions it reaches), its bytecode (an importable module's
    function is pickled by its name alone) and the source file of its module (the helpers it calls there). The
    package's own builders are keyed by their version instead (`DatasetSpec.version`)."""
    import sys

    from datasets.fingerprint import Hasher

    digest = hashlib.sha256()
    for function in functions:
        try:
            digest.update(Hasher.hash(function).encode())
        except Exception:  # noqa: BLE001 - what dill cannot pickle is still told apart by its code and module below
            digest.update(type(function).__qualname__.encode())
        code = getattr(getattr(function, "func", function), "__code__", None)  # (a partial: its function's)
        if code is not None:
            _digest_code(digest, code)
        source = getattr(sys.modules.get(getattr(function, "__module__", None) or ""), "__file__", None)
        if source and os.path.isfile(source):
            digest.update(Path(source).read_bytes())
    return digest.hexdigest()[:16]


def _digest_code(digest, code) -> None:
    """Add what `code` computes to `digest`: its bytecode, names and constants, the code objects among them (nested
    functions, comprehensions) in the same way, not by their repr, which holds a memory address."""
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for constant in code.co_consts:
        if hasattr(constant, "co_code"):
            _digest_code(digest, constant)
        else:
            digest.update(repr(constant).encode())


def write_plan(
    name: str,
    version: str,
    options: dict,
    plan: BuildPlan,
    cache_dir: str | os.PathLike | None = None,
    archives: tuple[str, ...] = (),
    info: dict[str, Any] | None = None,
):
    """Write every split of ``plan`` with ``Dataset.from_generator`` (cached) and return the ``DatasetDict``.

    ``info`` holds ``datasets.DatasetInfo`` fields (description, citation, license, homepage, version) that every
    split carries (``Dataset.from_generator`` takes none; ``save_to_disk`` keeps them). They are not in the cache key.

    The cache key of a split hashes ``name``, ``version``, ``options``, ``archives`` (sha256 of the archives read) and
    ``plan.cache_key``, so changing any of them rebuilds, and nothing else does.

    ``datasets`` treats every list in a generator's arguments as shards: it calls the generator once per item (and
    spreads the items over processes with ``num_proc``). So a plan passes its data sources (recordings, files) as
    the only list, and everything else as tuples or scalars (a split of several lists is refused, `_check_one_list`).
    """
    from datasets import Array2D, Dataset, DatasetDict, NamedSplit, Version
    from datasets.exceptions import DatasetGenerationError

    for split, gen_kwargs in plan.splits.items():
        _check_one_list(gen_kwargs, name, split)
    splits = {}
    for split, gen_kwargs in plan.splits.items():
        told = None  # what the generator said beneath datasets' wrapper, raised outside the `except` below
        try:
            with naming_unwritable_cache(cache_dir):  # a read-only or shared cache (a read-only $HOME)
                splits[split] = Dataset.from_generator(
                    plan.generator,
                    features=plan.features,
                    cache_dir=str(cache_dir) if cache_dir is not None else None,
                    gen_kwargs=gen_kwargs,
                    split=NamedSplit(split),
                    fingerprint=fingerprint(name, version, options, (*archives, *plan.cache_key), split),
                )
        except DatasetGenerationError as error:
            # datasets wraps whatever the generator raised; our own errors already name the file and the fix, and
            # the builders' ValueErrors name the option at fault ("a 1e-06 s window at 1000 Hz holds no sample")
            told = told_by_generator(error)
            if told is None:
                raise
            labelled = _label_error(told, plan.features, name, split)
            if labelled is not None:  # (datasets' encoder error beneath it names nothing of the set)
                raise labelled from None
        except ValueError as error:
            if "corresponds to no data" not in str(error):  # datasets' words for a split that produced no row
                raise
            raise CitrusDataError(
                f"The {split} split of {name!r} holds no window with the options {options}: a window longer than "
                "every recording, or a share of 0 for this split? Use shorter windows (or another split share)."
            ) from None
        if told is not None:
            raise told  # (outside the `except`: the generator's own cause kept, datasets' wrapper left out)
    values = plan.features.get("input_values") if isinstance(plan.features, Mapping) else None
    if isinstance(values, Array2D):  # Arrow stores a row of another shape, and only reading it back failed
        for split, dataset in splits.items():
            _check_fixed_shape(dataset, name, split, tuple(values.shape))
    for dataset in splits.values():
        for key, value in (info or {}).items():
            setattr(dataset.info, key, Version(value) if key == "version" else value)
    return DatasetDict(splits)


def _check_one_list(gen_kwargs: Mapping[str, Any], name: str, split: str) -> None:
    """Refuse generator arguments of one split (`gen_kwargs`) that hold more than one list: `datasets` takes every list
    as the shards of the split and calls the generator with the i-th item of each, so a builder of one's own passing
    its subjects [1, 2] and the channels to keep [a, b] built subject 1's channel a and subject 2's channel b only
    (half its rows gone without a word), and lists of different lengths stopped deep inside `datasets` ("Sharding
    is ambiguous").

    Raises:
        CitrusDataError: naming the set, the split, the lists and the fix (the other lists as tuples).
    """
    listed = [key for key, value in gen_kwargs.items() if isinstance(value, list)]
    if len(listed) > 1:
        raise CitrusDataError(
            f"The {split} split's generator arguments of dataset {name!r} hold several lists ({', '.join(listed)}), "
            "and `datasets` takes every list as the split's shards, calling the generator with the first item of "
            f"each, then the second, ... (so {listed[0]}[0] only with {listed[1]}[0]); pass the data sources as the "
            f"only list and the other values as tuples ({listed[1]}=tuple(...))."
        )


def _label_error(error: Exception, features: Any, name: str, split: str) -> CitrusDataError | None:
    """`datasets`' refusal of a label its `ClassLabel` does not hold ("Class label 2 greater than configured
    num_classes 2", said of -3 too; "Invalid string class label c"), raised from deep inside its encoder and naming
    neither the set, the split nor the classes, as a one-line error that does; None for any other error."""
    import re

    from datasets import ClassLabel

    found = re.match(r"(?:Class label (-?\d+) |Invalid string class label (.+)$)", str(error))
    column = features.get("label") if isinstance(features, Mapping) else None
    if found is None or not isinstance(column, ClassLabel):
        return None
    label = int(found.group(1)) if found.group(1) is not None else repr(found.group(2))
    return CitrusDataError(
        f"The {split} split of dataset {name!r} yields a label {label}, which is none of its {column.num_classes} "
        f"classes {column.names} (ids 0 to {column.num_classes - 1}); yield one of those ids or names, or give the "
        "features every class name (`dataset_features(label_names=...)`)."
    )


def row_shapes(column) -> tuple[Any, Any]:
    """`(channels per row (n,), samples per channel of every row, row after row)` of an ``input_values`` column (an
    Arrow array or chunked array of ``(channels, time)`` rows, `Array2D` or nested lists), read from the Arrow list
    offsets rather than the values."""
    import pyarrow as pa

    rows = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(rows, pa.ExtensionArray):
        rows = rows.storage
    channels = rows.value_lengths().to_numpy(zero_copy_only=False)
    return channels, rows.flatten().value_lengths().to_numpy(zero_copy_only=False)


def arrow_column(dataset, name: str):
    """The Arrow column `name` of the rows `dataset` holds (a `pyarrow.ChunkedArray`): `Dataset.data` is the whole
    table, which `filter` / `select` / `shuffle` (an indices mapping) leave as it was. Zero-copy without a mapping."""
    return dataset.select_columns([name]).with_format("arrow")[:].column(name)


def column_values(dataset, name: str) -> list:
    """The values of column `name` of the rows `dataset` holds as a list of Python values: what `list(dataset[name])`
    gives on a set without a format, read as one slice. Why: `datasets` 4+ returns `dataset[name]` as a lazy `Column`,
    which `list` / `np.asarray` read row by row (0.4 s for 5,000 labels against 2 ms).

    A transform the user set on the column (`set_transform` / `with_transform`) is applied, as `dataset[name]` applies
    it (`_transformed_values`), so the values are the transformed ones the Trainer's batches hold. A transform whose
    rows leave the column out (an extractor run on the fly that returns `input_values` alone) is read past: its stored
    values, where the row-by-row read stopped at a KeyError inside `datasets`."""
    transformed = _transformed_values(dataset, name)
    if transformed is not None:
        return transformed
    return dataset.select_columns([name]).with_format(None)[:][name]


def _transformed_values(dataset, name: str) -> list | None:
    """The values of column `name` through the transform the user set on `dataset` (`set_transform` /
    `with_transform`), or None for a set without one, or whose transformed rows leave the column out. Read row by
    row, on whole rows (a transform may read every column), as `dataset[name]` reads it: a slice would apply it to
    every row's signals at once. The first row, read to see whether the transform gives the column, is kept as the
    first value (it was read through the transform twice)."""
    format_ = dataset.format
    if format_["type"] != "custom" or name not in (format_["columns"] or dataset.column_names) or not len(dataset):
        return None
    rows = iter(dataset)  # (each row formatted through the transform, as `list(dataset[name])` reads them)
    first = next(rows)
    if name not in first:
        return None
    return [first[name], *(row[name] for row in rows)]


def column_array(dataset, name: str):
    """The values of column `name` as the Trainer's batches and `TaskSplits.labels` (`column_values`) hold them, as an
    array `(rows,)` (`(rows, values)` for a list per row): through the transform the user set on `dataset`
    (`set_transform` / `with_transform`) where it gives the column, each value as the array numpy makes of it,
    stacked; else the stored values, `numpy_column`. The probe, the recipes and the PatchTST arm read labels here: a
    transform that merges classes gave them the stored, unmerged labels (`numpy_column` drops a transform, as the
    numpy format does) while the class checks counted the merged ones."""
    import numpy as np

    transformed = _transformed_values(dataset, name)
    if transformed is not None:
        return np.asarray([np.asarray(value) for value in transformed])
    return numpy_column(dataset, name)


def numpy_column(dataset, name: str):
    """`np.asarray(dataset.with_format("numpy")[name])` (an array `(rows,)`, or `(rows, values)` for a list per row),
    the same dtype and shape, read as one slice instead of row by row (`column_values`); like the numpy format, it
    drops a transform set on `dataset` (`column_array` applies it)."""
    import numpy as np
    from datasets import ClassLabel, Value

    if not len(dataset):
        return np.asarray([])  # (what the row-by-row read gives: no row to take a type from)
    # `datasets`' numpy format makes a batch of floats float32, but its rows of one number keep their own type
    # (float64): those are read without the cast; a list per row is float32 either way
    one_value = isinstance(dataset.features[name], (Value, ClassLabel))
    values = dataset.select_columns([name]).with_format("numpy", **({"dtype": None} if one_value else {}))[:][name]
    # rows of different lengths (or None) come as an object array of rows: stacked as the row-by-row read stacks them
    return np.asarray(list(values)) if values.dtype == object else values


def row_sizes(dataset) -> tuple[Any, Any]:
    """`(channels, values)` of each row's ``input_values`` (values: channels x time), read from Arrow's list lengths:
    rows of ``(channels, time)`` or ``(time,)`` (one channel), stored as variable or fixed-size lists or ``Array2D``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from datasets import Array2D

    feature = dataset.features["input_values"]
    if isinstance(feature, Array2D):
        return (
            np.full(len(dataset), feature.shape[0], dtype=np.int64),
            np.full(len(dataset), int(np.prod(feature.shape)), dtype=np.int64),
        )
    column = arrow_column(dataset, "input_values")
    rows = column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
    lengths = pc.fill_null(pc.list_value_length(rows), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    inner = rows.type.value_type
    if not (pa.types.is_list(inner) or pa.types.is_large_list(inner) or pa.types.is_fixed_size_list(inner)):
        return np.ones(len(rows), dtype=np.int64), lengths  # (time,) rows: one channel
    channels = pc.list_flatten(rows)
    channel_lengths = pc.fill_null(pc.list_value_length(channels), 0).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(rows).to_numpy(zero_copy_only=False)
    values = np.bincount(parents, weights=channel_lengths, minlength=len(rows)).astype(np.int64)
    return lengths, values


def _check_fixed_shape(dataset, name: str, split: str, shape: tuple[int, int]) -> None:
    """Refuse a built split whose rows do not all hold `input_values` of the `(channels, time)` `shape` its features
    fix (`Array2D`): Arrow writes a row of another shape without a word, and the set then failed where it was read (a
    reshape inside fine-tuning), far from the builder at fault. Run on cached builds too.

    Raises:
        CitrusDataError: naming the set, the split, the first row of another shape, its recording and both shapes.
    """
    import numpy as np

    channels, samples = row_shapes(dataset.data.column("input_values"))
    wrong = channels != shape[0]
    if not wrong.any():
        wrong = (samples.reshape(len(channels), shape[0]) != shape[1]).any(axis=1)
    if not wrong.any():
        return
    first = int(np.flatnonzero(wrong)[0])
    start = int(channels[:first].sum())
    found = (int(channels[first]), *sorted({int(n) for n in samples[start : start + channels[first]]}))
    row = dataset.select_columns([c for c in ("recording", "start_seconds") if c in dataset.column_names])[first]
    raise CitrusDataError(
        f"Row {first} of the {split} split of dataset {name!r} ({', '.join(f'{k} {v!r}' for k, v in row.items())}) "
        f"holds input_values of {found[0]} channel(s) of {', '.join(map(str, found[1:]))} samples, but the set's "
        f"features fix every row's (channels, time) at {shape} ({int(wrong.sum())} row(s) differ): cut every window "
        "to that shape in the builder, or declare no shape (dataset_features(..., shape=None)) for rows of any length."
    )


__all__ = [
    "SPLIT_NAMES",
    "BuildContext",
    "BuildPlan",
    "code_digest",
    "dataset_features",
    "fingerprint",
    "resolve_options",
    "row_shapes",
    "row_sizes",
    "split_shares",
    "window_row",
    "write_plan",
]
