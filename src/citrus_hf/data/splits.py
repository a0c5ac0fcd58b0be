"""Splits of a dataset for training: one split of a registered dataset or of what `datasets.load_dataset` takes (a
`save_to_disk` folder, a folder of data files or one, a Hub id; split slices as `load_dataset(split=...)` reads them)
(`load_split`), a labelled set's train / validation / test splits with a validation split carved out of train when it
has none (`load_task_splits`, `carve_validation_split`), and which stretches of which recordings evaluation holds out
(`evaluation_split_spans`, `evaluation_split_recordings`, `evaluation_test_recordings`: a pre-training corpus leaves
them out).

Label budgets (how many labelled examples a low-data run may use and which ones: `parse_budget`, `draw_budget`) and the
carve itself (`carve_validation`) live in `citrus_hf.data.budgets`, below this module; they are re-exported here.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..vocabulary_citrus import CLASSIFICATION, REGRESSION, TASKS
from .bids import BIDS_DESCRIPTION, FOLDER_OPTIONS, NOT_RAW, holds_raw_data, is_bids_root
from .budgets import LabelBudget, carve_validation, draw_budget, drawn_example_labels, missing_groups, parse_budget
from .builders import (
    build_dataset,
    built_from,
    built_from_hub,
    hub_notes_read_once,
    is_list_type,
    saved_labelled_unit,
    summarize_dataset,
)
from .errors import CitrusDataError, naming_unwritable_cache
from .hub_access import offline_if_hub_unreachable
from .listings import fresh_listings, one_listing
from .plans import column_values, row_shapes
from .recording_folders import (
    METADATA_FILES,
    SEGMENT_SECONDS,
    UNRATED_SEGMENT_SAMPLES,
    VALIDATION_SPLIT_ALIASES,
    archive_files_advice,
    files_under,
    in_one_split,
    is_recording_file,
    is_recording_folder,
    labels_events,
    load_recording_folder,
)
from .recordings import UNKNOWN_SUBJECT
from .registry import evaluation_sets, get_dataset_spec, list_datasets
from .windowing import (
    check_own_set_options,
    first_example_shape,
    rows_per_map_batch,
    whole_patch_windows,
    window_coverage_notes,
    window_example_ids,
    window_examples,
)

logger = logging.getLogger(__name__)

# What a labelled dataset is for -> (its label column, the labels' dtype). Not `citrus_hf.loading.MODEL_TASKS`, which
# says what a checkpoint is loaded as.
LABELS: dict[str, tuple[str, str]] = {CLASSIFICATION: ("label", "int64"), REGRESSION: ("target", "float32")}
LABEL_TASKS = TASKS  # one entry of LABELS each; a test keeps them equal
# How a validation split is carved out of train when a set has none (`load_task_splits`). The pre-training corpus
# leaves out what this default carve holds out, so a checkpoint is never chosen on examples it was pre-trained on.
VALIDATION_FRACTION = 0.2
VALIDATION_SEED = 0


# ---------------------------------------------------------------------------------------------------------- splits


def load_split(
    dataset: str | os.PathLike,
    split: str,
    dataset_options: dict | None = None,
    sampling_rate: float | None = None,
    bids_events: bool = True,
):
    """One split of a dataset (see `load_task_splits` for what `dataset` may be), as a `datasets.Dataset`. `split`
    may slice and join splits as `datasets.load_dataset(split=...)` does: "train[:80%]", "train[10:20]+test".
    `sampling_rate` is the rate the caller gives rows without their own (`--sampling-rate`): a folder of recordings
    that record none checks their time stamps against it (`load_recording_folder`). A BIDS dataset's options
    (`bids.BIDS_OPTIONS`) choose its events, as `load_task_splits` reads them; `bids_events` False reads its
    recordings whole instead, as a pile (pre-training's corpus, `load_recording_folder`).

    Returns None when the dataset has no split of that name.
    """
    bids_options, other = _bids_options_apart(dataset, dataset_options)
    return _split_of(_load_dataset(dataset, other, sampling_rate, bids_options, bids_events), split)


def _bids_options_apart(dataset: str | os.PathLike, dataset_options: dict | None) -> tuple[dict | None, dict | None]:
    """`(the BIDS options, the other options)` of `dataset_options`: a set of your own's BIDS options
    (`bids.BIDS_OPTIONS`) choose its events; a registered set's options are all its builder's."""
    if not dataset_options or is_registered_dataset(dataset):
        return None, dataset_options
    bids_options = {name: value for name, value in dataset_options.items() if name in FOLDER_OPTIONS}
    other = {name: value for name, value in dataset_options.items() if name not in FOLDER_OPTIONS}
    return bids_options or None, other or None


# A Hub dataset id (`owner/name`, what `push_to_hub` takes) that is not a path here.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
# The data files `datasets.load_dataset` reads with a packaged builder named by their suffix.
_DATA_FILE_BUILDERS = {
    ".parquet": "parquet",
    ".geoparquet": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",  # the csv builder with tabs (`_load_files`)
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".arrow": "arrow",
}
# Compressions `datasets` reads a data file through (`train.jsonl.gz`): the suffix before them names the builder.
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4")


def _data_file_builder(file: Path) -> str | None:
    """The `_DATA_FILE_BUILDERS` kind of a data file, from its suffix before any compression suffix, or None."""
    suffixes = [suffix.lower() for suffix in file.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    return _DATA_FILE_BUILDERS.get(suffixes[-1]) if suffixes else None


def _load_files(kind: str, data_files):
    """`datasets.load_dataset` of data files of one `_DATA_FILE_BUILDERS` kind."""
    import datasets

    if kind == "tsv":
        return datasets.load_dataset("csv", data_files=data_files, sep="\t")
    return datasets.load_dataset(kind, data_files=data_files)


# What `dataset` may be, for errors that refuse one.
_DATASET_KINDS = (
    "a registered name (`citrus data list`), a folder of recordings (EDF / BDF, WFDB, WAV, .npy, .csv; labelled by "
    "class folders or a metadata file, else unlabelled), or "
    "what `datasets.load_dataset` takes: a Hub dataset id (owner/name), a folder of parquet / csv / json files or "
    "one such file, or the folder `save_to_disk` wrote"
)


def is_registered_dataset(dataset: str | os.PathLike) -> bool:
    """Whether `dataset` names a registered set (and no path here)."""
    return not Path(str(dataset)).expanduser().exists() and str(dataset) in {spec.name for spec in list_datasets()}


@one_listing()  # (whether a folder holds recordings or data files, then their reading: one walk of it)
def _load_dataset(
    dataset: str | os.PathLike,
    dataset_options: dict | None,
    sampling_rate: float | None = None,
    own_options: dict | None = None,
    bids_events: bool = True,
):
    """What `dataset` names, as a `DatasetDict` (or a `Dataset` for a `save_to_disk` folder of one split): a folder
    `save_to_disk` wrote, a folder of data files or one data file (`datasets.load_dataset`), a folder of recordings
    (`load_recording_folder`, given `sampling_rate`: the caller's --sampling-rate, and the BIDS options among
    `own_options`, the dataset options of a set of your own; `bids_events` as `load_split` takes it), a registered dataset (built, or loaded from the datasets
    cache) or a Hub dataset id (`datasets.load_dataset`, from the datasets cache when offline).

    Raises:
        ValueError: BIDS options (`bids.BIDS_OPTIONS`) for anything but a folder of recordings.
    """
    bids_options = {name: value for name, value in (own_options or {}).items() if name in FOLDER_OPTIONS}
    path = Path(str(dataset)).expanduser()
    if not path.exists():
        check_dataset_reference(dataset)  # a misspelt name gets its "did you mean" before anything else
    if dataset_options and not is_registered_dataset(dataset):
        raise ValueError(
            f"Dataset options {sorted(dataset_options)} only apply to registered datasets, not {str(dataset)!r} (a "
            "labelled set of your own takes window_seconds / hop_seconds in citrus finetune, evaluate and data info)."
        )
    if path.exists():
        if _saved_to_disk(path):
            return _audio_as_input_values(_load_from_disk(path))
        _refuse_splits_saved_apart(path)
        if _read_as_recordings(path):  # EDF, WFDB, WAV, .npy, CSV recordings
            return load_recording_folder(path, sampling_rate, bids_options, bids_events)
    if bids_options:
        raise ValueError(
            f"{str(dataset)!r}: the options {sorted(bids_options)} choose the events of a BIDS dataset (a folder with "
            f"{BIDS_DESCRIPTION}) and it is none; drop them."
        )
    if path.exists():
        return _audio_as_input_values(_load_data_files(path))
    if is_registered_dataset(dataset):
        with fresh_listings():  # (a build downloads into the folder it lists)
            return build_dataset(str(dataset), **(dataset_options or {}))
    return _audio_as_input_values(_load_from_hub(str(dataset)))


def _saved_to_disk(path: Path) -> bool:
    """Whether `path` is a folder `save_to_disk` wrote."""
    return path.is_dir() and any((path / name).is_file() for name in ("state.json", "dataset_dict.json"))


def _refuse_splits_saved_apart(path: Path) -> None:
    """Refuse a folder whose subfolders are splits each written by `save_to_disk` on its own (`train.save_to_disk(
    "set/train")`, then "set/test"): no loader reads them as one set, and read as data files they were refused as
    files "of several kinds" (the arrow files and their state.json), which named no fix. Beside recordings, a saved
    set is named to be moved out instead, and whole sets (`DatasetDict`s) are named to be given one at a time."""
    splits = sorted(folder.name for folder in path.iterdir() if _saved_to_disk(folder)) if path.is_dir() else []
    if not splits:
        return
    saved = [path / name for name in splits]
    # (the one listing, which follows a symlinked folder of recordings: `Path.rglob` did not, and a set saved beside
    # recordings linked in was read as the whole set, the recordings left out without a word)
    recordings = [
        file
        for file in files_under(path)
        if not any(folder in file.parents for folder in saved) and is_recording_file(file)
    ]
    # a BIDS dataset's root reads none of the recordings in its `derivatives/`, `sourcedata/`... (`NOT_RAW`): told
    # "holds recordings" and to give the folder once the saved set was moved out, it was then "holds no recording files"
    read = [file for file in recordings if holds_raw_data(file, path)] if is_bids_root(path) else recordings
    if read:
        # recordings beside them: the saved folders are no splits of theirs (a built copy kept there), and made
        # splits of one set by the DatasetDict named below, they would stand beside the recordings' own splits
        raise ValueError(
            f"{str(path)!r} holds recordings and, in {', '.join(splits)}, a set saved by `save_to_disk`, which one "
            "set cannot mix: move the saved set out of the folder (give it on its own), then give the folder."
        )
    if recordings:
        first = recordings[0].relative_to(path)
        # a pipeline's folder under derivatives/ (derivatives/<pipeline>, each a dataset of its own); the folder
        # itself for sourcedata/ and the others, whose subfolders are subjects (sourcedata/sub-01 named one of several)
        depth = 2 if first.parts[0] == "derivatives" else 1
        to_give = path.joinpath(*first.parts[: min(depth, len(first.parts) - 1)])
        unread = [name for name in NOT_RAW if any(file.relative_to(path).parts[0] == name for file in recordings)]
        raise ValueError(
            f"{str(path)!r} is a BIDS dataset whose recordings lie only in {' and '.join(f'{n}/' for n in unread)} "
            f"(first: {first.as_posix()}), which its root does not read, beside a set saved by `save_to_disk` in "
            f"{', '.join(splits)}: give the saved set on its own, or the folder of the recordings to read (such as "
            f"{str(to_give)!r})."
        )
    if any((folder / "dataset_dict.json").is_file() for folder in saved):
        # a DatasetDict is a whole set of splits, not one split: `DatasetDict({name: it})` below would nest it and fail
        raise ValueError(
            f"{str(path)!r} holds sets each saved by `save_to_disk` ({', '.join(splits)}), not one set: give one of "
            f"them ({str(saved[0])!r})."
        )
    pairs = ", ".join(f"{name!r}: load_from_disk({str(path / name)!r})" for name in splits)
    raise ValueError(
        f"{str(path)!r} holds splits each saved by `save_to_disk` on its own ({', '.join(splits)}), which are read as "
        f"one set only when saved together: `datasets.DatasetDict({{{pairs}}}).save_to_disk(FOLDER)`, then give "
        "FOLDER."
    )


def _read_as_recordings(path: Path) -> bool:
    """Whether the existing `path` is read by `load_recording_folder`: a folder of recordings or one recording file,
    not a folder `save_to_disk` wrote."""
    return not _saved_to_disk(path) and (is_recording_folder(path) or is_recording_file(path))


# Rows that a map decoding audio (WAV bytes, decoded arrays) holds before writing them: `datasets`' default 1000 held
# 1000 decoded recordings in memory at once (whole nights of heart sounds), and their size is unknown before decoding.
AUDIO_ROWS_PER_WRITE = 16


def _audio_as_input_values(loaded):
    """`loaded` (a `Dataset` or `DatasetDict`) with the signal of a split that has no `input_values` but one
    `datasets.Audio` column (as audiofolder and the Hub store waveforms: heart sounds, ECG as audio) read into
    `input_values` `(channels, time)` and its rate into `sampling_rate`, from the undecoded WAV bytes (decoding
    through `datasets` needs torchcodec, which this package does not install), or one column of audio `datasets`
    decoded (`{"array", "sampling_rate"}` rows) read the same way. Other splits are unchanged.

    Raises:
        ValueError: audio that is not WAV (decode it with `datasets` and map it to `input_values` instead), or a
            `sampling_rate` column beside the audio, whose files record their own rate.
    """
    import io

    import datasets

    from .readers.files import is_wav, read_wav

    def decoded_audio(split, name: str):
        """The split with its one column of decoded audio rows, `{"array", "sampling_rate"}` as `datasets` decodes
        an `Audio` column (kept as plain dicts by a set built from decoded rows), read into `input_values` and
        `sampling_rate`; None where it has no such column (it was named only as a set without `input_values`)."""
        decoded = [
            column
            for column, feature in split.features.items()
            if isinstance(feature, dict) and {"array", "sampling_rate"} <= set(feature)
        ]
        if len(decoded) != 1:
            return None
        column = decoded[0]
        if "sampling_rate" in split.column_names:
            raise ValueError(
                f"The {name} split's `{column}` column holds each row's rate, and it has a `sampling_rate` column "
                "too; drop one (`dataset.remove_columns('sampling_rate')`)."
            )
        return split.map(
            lambda row: {"input_values": row[column]["array"], "sampling_rate": row[column]["sampling_rate"]},
            remove_columns=[column],
            writer_batch_size=AUDIO_ROWS_PER_WRITE,
            desc=f"Reading the {name} split's `{column}` audio",
        )

    def converted(split, name: str):
        audio = [column for column, feature in split.features.items() if isinstance(feature, datasets.Audio)]
        if "input_values" not in split.column_names and not audio:
            return decoded_audio(split, name) or split
        if "input_values" in split.column_names or len(audio) != 1:
            return split
        column = audio[0]
        if "sampling_rate" in split.column_names:
            raise ValueError(
                f"The {name} split's `{column}` audio records each file's rate, and it has a `sampling_rate` column "
                "too; drop one (`dataset.remove_columns('sampling_rate')`)."
            )

        def read(row: dict) -> dict:
            value = row[column]
            where = value.get("path") or f"a row of the {name} split's `{column}` column"
            source = io.BytesIO(value["bytes"]) if value.get("bytes") else value.get("path")
            if isinstance(source, io.BytesIO):
                head = value["bytes"][:4]
            elif source is None or not Path(source).is_file():
                raise ValueError(
                    f"{where} holds neither the audio's bytes nor the path of a file here; save the set with its "
                    "audio embedded (`save_to_disk` and `push_to_hub` embed it), or run where the files are."
                )
            else:
                with open(source, "rb") as handle:
                    head = handle.read(4)
            if not is_wav(head):
                raise ValueError(
                    f"{where} is audio this package does not decode (it reads WAV): decode the `{column}` column "
                    "with datasets (pip install torchcodec) and map it to `input_values` (channels, time) and "
                    "`sampling_rate`, or convert the files to WAV."
                )
            recording = read_wav(source, where)
            return {"input_values": recording.data.astype(np.float32), "sampling_rate": recording.sampling_rate}

        features = {key: feature for key, feature in split.features.items() if key != column}
        features["input_values"] = datasets.List(datasets.List(datasets.Value("float32")))
        features["sampling_rate"] = datasets.Value("float64")
        return split.cast_column(column, datasets.Audio(decode=False)).map(
            read,
            remove_columns=[column],
            features=datasets.Features(features),
            writer_batch_size=AUDIO_ROWS_PER_WRITE,
            desc=f"Reading the {name} split's `{column}` audio",
        )

    if isinstance(loaded, datasets.Dataset):
        return converted(loaded, "train")
    return datasets.DatasetDict({name: converted(split, name) for name, split in loaded.items()})


def load_own_dataset(dataset: str | os.PathLike, sampling_rate: float | None = None, bids_options: dict | None = None):
    """A set of your own as the commands read it, every split of it: a folder of recordings (unlabelled, class
    folders, files named by a metadata file, a BIDS dataset's events chosen by `bids_options`), a `save_to_disk`
    folder, data files or a Hub id, as a `DatasetDict` (a single `Dataset` as its `train` split). What `citrus data
    build FOLDER` saves or pushes. `sampling_rate`: as `load_split` takes it.

    Raises:
        ValueError: a registered name (`build_dataset` builds those), a split without the `input_values` column, or
            what `load_task_splits` refuses to read.
    """
    import datasets

    if is_registered_dataset(dataset):
        raise ValueError(f"{dataset!r} is a registered dataset: `build_dataset({str(dataset)!r})` builds it.")
    loaded = _load_dataset(dataset, None, sampling_rate, bids_options)
    loaded = datasets.DatasetDict({"train": loaded}) if isinstance(loaded, datasets.Dataset) else loaded
    for name, split in loaded.items():
        # here, as `own_dataset_info` checks it: the card's statistics read the column (a KeyError traceback)
        _check_input_values_column(split, f"The {name} split of {str(dataset)!r}")
    return loaded


def _load_data_files(path: Path):
    """`datasets.load_dataset` of a folder of data files (each file's split read from its name, `_data_file_splits`)
    or of one data file (the builder its suffix names; one "train" split).

    Raises:
        ValueError: a file no builder reads, a folder without data files, data files of several kinds, or a data file
            whose name names no split beside files that do (`_data_file_splits`).
    """
    import datasets

    if path.is_file():
        builder = _data_file_builder(path)
        if builder is None and archive_files_advice(path):
            raise ValueError(archive_files_advice(path) + ".")
        if builder is None:
            raise ValueError(
                f"{str(path)!r} is a file `datasets.load_dataset` has no reader for (it reads "
                f"{', '.join(sorted(_DATA_FILE_BUILDERS))} files, also compressed); give {_DATASET_KINDS}."
            )
        return _load_files(builder, str(path))
    files = _data_files(path)
    if _card_declares_data_files(path):
        # the card's `configs` name each split's files: the user's word; only the default config's files are read
        longer = _check_class_names_agree(path, _card_config_files(path, files))
        return _with_class_names(datasets.load_dataset(str(path)), longer)
    longer = _check_class_names_agree(path, files)
    if not files:
        archives = archive_files_advice(path)
        if archives:
            raise ValueError(archives + ".")
        raise ValueError(
            f"{str(path)!r} is a folder that `save_to_disk` did not write (no state.json or dataset_dict.json) and "
            f"that holds no data files `datasets.load_dataset` reads; give {_DATASET_KINDS} (e.g. "
            "`datasets.load_dataset(...).save_to_disk(folder)`; see the README's 'Your own data')."
        )
    kinds: dict[str, list[str]] = {}
    for file in files:
        kinds.setdefault(_data_file_builder(file), []).append(file.relative_to(path).as_posix())
    if len(kinds) > 1:
        # `load_dataset` reads the most common kind and leaves the other files out without a word
        held = "; ".join(f"{kind}: {names[:3]}" for kind, names in sorted(kinds.items()))
        raise ValueError(
            f"{str(path)!r} holds data files of several kinds ({held}), which one set cannot mix; convert them to one "
            "kind (e.g. every split as parquet), or move the others out of the folder."
        )
    splits = _data_file_splits(path, files)
    if len(splits) > 1:
        # a test file that is a link to (or a copy of) a training file scored the model on the rows it trained on,
        # as recordings would have been (`in_one_split`)
        split_of = {str(file): split for split, got in splits.items() for file in got}
        kept = set(in_one_split([file for got in splits.values() for file in got], split_of, path, "data file"))
        splits = {split: [file for file in got if file in kept] for split, got in splits.items()}
    loaded = _load_files(next(iter(kinds)), {split: list(map(str, got)) for split, got in splits.items()})
    return _with_class_names(loaded, longer)


def _with_class_names(loaded, names: dict[str, list[str]]):
    """`loaded` (a `DatasetDict`) with each `ClassLabel` column of `names` given those names, which extend the ones
    `datasets` read every file under (`_check_class_names_agree`)."""
    import datasets

    for column, class_names in names.items():
        loaded = loaded.cast_column(column, datasets.ClassLabel(names=class_names))
    return loaded


def _card_config_files(path: Path, files: list[Path]) -> list[Path]:
    """The data `files` of the folder `path` that `datasets.load_dataset(path)` reads: those of its card's default
    config (a folder of several configs, as `push_to_hub(config_name=...)` lays them out, holds others beside them,
    which may name other classes); none where `datasets` cannot tell (it says why as it loads the folder)."""
    import datasets

    try:
        data_files = datasets.load_dataset_builder(str(path)).config.data_files or {}
    except Exception:  # noqa: BLE001 - several configs and no default, a malformed card: `load_dataset` names it
        return []
    read = {os.path.realpath(file) for split_files in data_files.values() for file in split_files}
    return [file for file in files if os.path.realpath(file) in read]


def _data_file_schema(file: Path):
    """The Arrow schema a parquet or Arrow data file records (with `datasets`' features in its metadata), or None for
    another kind or a file whose schema cannot be read (`datasets` then names the file itself)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = _data_file_builder(file)
    try:
        if kind == "parquet":
            return pq.read_schema(file)
        if kind == "arrow":
            with pa.memory_map(str(file)) as source:
                try:
                    return pa.ipc.open_stream(source).schema
                except pa.ArrowInvalid:  # (`datasets`' order: a stream, else a file)
                    return pa.ipc.open_file(source).schema
    except (OSError, pa.ArrowException):
        return None
    return None


def _check_class_names_agree(path: Path, files: list[Path]) -> dict[str, list[str]]:
    """Refuse parquet / Arrow data files (`files`, under the folder `path`) whose `ClassLabel` columns name their
    classes differently: each file records its own split's names (`to_parquet` of a split numbered by its own
    `class_encode_column`), and `datasets` reads every file of a folder under the first file's names, keeping the
    ids, so a test split's [walk, run] ids were read as train's [rest, walk]: every label wrong, without a word. Names
    that begin alike (a split numbered without the last classes) give every shared id one class, and are let through.
    (`save_to_disk` keeps each split's names, which `check_labelled_splits` compares; `push_to_hub` refuses
    splits whose features differ.)

    Returns:
        the longest names of each column that a later file extends (a training split without the last class, a
        test split with it): read under the first file's names, the test split's last id had none, and the set
        was refused as one of ids beyond its names; the loaded set takes these (`_with_class_names`).

    Raises:
        ValueError: naming the column, both files and their names, and the renumbering that makes them agree.
    """
    import datasets

    first: dict[str, tuple[str, list[str]]] = {}
    longest: dict[str, tuple[str, list[str]]] = {}  # compared with the longest so far: [a, b, c] and [a, b, d] differ
    # the training split's files first, as `datasets` reads them (its first file's names are every file's)
    for file in sorted(files, key=lambda file: "train" not in file.relative_to(path).as_posix().lower()):
        schema = _data_file_schema(file)
        if schema is None:
            continue
        try:
            features = datasets.Features.from_arrow_schema(schema)
        except Exception:  # noqa: BLE001 - metadata `datasets` cannot read: it reads the file as it can, unnamed
            continue
        for column, feature in features.items():
            if not isinstance(feature, datasets.ClassLabel):
                continue
            name = file.relative_to(path).as_posix()
            first.setdefault(column, (name, list(feature.names)))
            seen_in, names = longest.setdefault(column, (name, list(feature.names)))
            shared = min(len(names), len(feature.names))
            if list(feature.names)[:shared] != names[:shared]:  # (a split without the last classes: the same ids)
                label2id = {class_name: class_id for class_id, class_name in enumerate(names)}
                raise ValueError(
                    f"The data files of {str(path)!r} name the classes of `{column}` differently: {names} in "
                    f"{seen_in} and {list(feature.names)} in {name}, and `datasets` reads every file under the first "
                    "one's names, so the same id would mean another class in each; renumber every split by one set "
                    f"of names before writing its files: `split = split.align_labels_with_mapping({label2id!r}, "
                    f"{column!r})` (every class of the split among them), or save the DatasetDict with "
                    "`save_to_disk` instead."
                )
            if len(feature.names) > len(names):
                longest[column] = (name, list(feature.names))
    return {column: names for column, (_, names) in longest.items() if len(names) > len(first[column][1])}


# The split a data file of a folder is in, from a word of its name or of a folder above it (`_data_file_splits`), as
# `datasets` reads a folder's data files, but with this package's names of the validation split
# (`VALIDATION_SPLIT_ALIASES`): `datasets` reads `eval` / `evaluation` as test, where a `save_to_disk` split or a
# recording folder of that name is the validation split.
SPLIT_FILE_WORDS: dict[str, tuple[str, ...]] = {
    "train": ("train", "training"),
    "validation": ("validation", *VALIDATION_SPLIT_ALIASES),
    "test": ("test", "testing"),
}
# What separates the words of a data file's name (`datasets`' NON_WORDS_CHARS): `train_0.parquet`, `my-test.csv`.
_NAME_SEPARATORS = re.compile(r"[-._ 0-9]+")
# The layout `push_to_hub` writes, `data/{split}-00000-of-00001.parquet`: the split is named as it was pushed.
# A dataset card's metadata: the YAML block between `---` lines that opens README.md (huggingface_hub's reading).
_CARD_METADATA = re.compile(r"\s*---[\r\n]+([\S\s]*?)[\r\n]+---(?:\r\n|\n|$)")
_PUSHED_SHARD = re.compile(r"data/(?P<split>\w+(?:\.\w+)*)-\d{5}-of-\d{5}[^/]*\.[^/]+")


def _card_declares_data_files(path: Path) -> bool:
    """Whether the folder's dataset card (README.md) lists each split's files (its `configs`, as `push_to_hub` writes
    them); `datasets.load_dataset` then reads the splits the card names."""
    import yaml

    readme = path / "README.md"
    if not readme.is_file():
        return False
    block = _CARD_METADATA.match(readme.read_text(encoding="utf-8", errors="replace"))
    try:
        metadata = yaml.safe_load(block.group(1)) if block else None
    except yaml.YAMLError:
        return False  # a card whose metadata does not parse declares nothing
    configs = metadata.get("configs") if isinstance(metadata, dict) else None
    return isinstance(configs, list) and any(
        isinstance(config, dict) and config.get("data_files") for config in configs
    )


def _data_files(path: Path) -> list[Path]:
    """The data files under the folder `path` (a suffix in `_DATA_FILE_BUILDERS`, also compressed; not hidden, as `datasets` skips
    `.cache/` and `__pycache__/`: `files_under` lists none; not a metadata file, nor one `datasets` reads no rows from:
    `dataset_info.json`), sorted."""
    from datasets.data_files import FILES_TO_IGNORE

    return sorted(
        file
        for file in files_under(path)
        if _data_file_builder(file) is not None and file.name not in (*METADATA_FILES, *FILES_TO_IGNORE)
    )


def _data_file_splits(path: Path, files: list[Path]) -> dict[str, list[Path]]:
    """`{split: [its data files]}` of a folder's data `files`: the layout `push_to_hub` writes
    (`data/{split}-00000-of-00001.parquet`) names its splits; otherwise a file is in the split that the first word of
    `SPLIT_FILE_WORDS` in its path names, a folder's name before the file's (`validation/part_0.parquet`,
    `eval.parquet`, `my_test_1.csv`); a folder where no file names a split is one "train" split, as `datasets` reads
    it. Splits in the order train, validation, test, then the others.

    Raises:
        ValueError: a data file that names no split (or two) beside files that do: `datasets` left it out, or read it
            into both splits, without a word.
    """
    words = {word: split for split, names in SPLIT_FILE_WORDS.items() for word in names}
    splits: dict[str, list[Path]] = {}
    unnamed, ambiguous = [], []
    pushed = [_PUSHED_SHARD.fullmatch(file.relative_to(path).as_posix()) for file in files]
    for file, shard in zip(files, pushed, strict=True):
        relative = file.relative_to(path)
        if any(pushed):
            named = {shard["split"]} if shard else set()
        else:
            parts = [*relative.parts[:-1], relative.name[: -len(file.suffix)]]
            named = next(
                (
                    found
                    for part in parts
                    if (found := {words[w] for w in _NAME_SEPARATORS.split(part.lower()) if w in words})
                ),
                set(),
            )
        if len(named) > 1:
            ambiguous.append(f"{relative.as_posix()} ({' and '.join(sorted(named))})")
        elif named:
            splits.setdefault(named.pop(), []).append(file)
        else:
            unnamed.append(relative.as_posix())
    if ambiguous:
        raise ValueError(
            f"Data file(s) {ambiguous} of {str(path)!r} name two splits; rename each so that its name names one."
        )
    if unnamed and splits:
        accepted = "; ".join(f"{split}: {', '.join(names)}" for split, names in SPLIT_FILE_WORDS.items())
        raise ValueError(
            f"Data file(s) {unnamed} of {str(path)!r} name no split, so they would be left out; name each file (or a "
            f"folder above it) after its split ({accepted}; e.g. train.parquet, validation_0.parquet, test/part.csv), "
            "or move it out of the folder."
        )
    if not splits:
        return {"train": list(files)}
    order = list(SPLIT_FILE_WORDS)
    return dict(
        sorted(splits.items(), key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0]))
    )


def _load_from_hub(dataset: str):
    """`datasets.load_dataset(dataset)` of a Hub id (from the datasets cache when offline), with one line naming the
    way out when the Hub has no such set or cannot be reached."""
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    try:
        with offline_if_hub_unreachable(dataset), _naming_several_configs(dataset):
            return datasets.load_dataset(dataset)
    except DatasetNotFoundError:
        raise ValueError(
            f"{dataset!r} is neither a folder, a registered dataset nor a dataset on the Hub (a private or gated one "
            f"needs `hf auth login`); give {_DATASET_KINDS}."
        ) from None
    except ConnectionError:
        raise ValueError(
            f"{dataset!r} is not a folder here, the Hub cannot be reached (HF_HUB_OFFLINE is set, or no network) and "
            "the datasets cache holds no copy of it; load it once with a connection, or where there is one run "
            f"`datasets.load_dataset({dataset!r}).save_to_disk(folder)` and pass the folder."
        ) from None


@contextlib.contextmanager
def _naming_several_configs(dataset: str):
    """`datasets`' refusal of a Hub set of several configs (subsets) none of which is the default ("Config name is
    missing. Please pick one among the available configs: [...] Example of usage: `load_dataset(id, 'a')`"), advice
    that `--dataset`, which takes the id alone, cannot follow, as one line naming the configs and the way in: the one
    to use saved to a folder.

    Raises:
        ValueError: naming the set, its configs and the `save_to_disk` of one.
    """
    import ast

    try:
        yield
    except ValueError as error:
        found = re.search(r"Config name is missing\.[\s\S]*?available configs: (\[[^\]]*\])", str(error))
        if found is None:
            raise
        try:
            configs = sorted(ast.literal_eval(found.group(1)))
        except (ValueError, SyntaxError, TypeError):
            raise error from None
        raise ValueError(
            f"{dataset!r} holds several configs (subsets) {configs}, none of them the default, and --dataset takes a "
            "set's id alone; save the one to use to a folder and pass the folder: `datasets.load_dataset("
            f"{dataset!r}, {(configs or ['NAME'])[0]!r}).save_to_disk(folder)`."
        ) from None


def _split_names(loaded) -> list[str]:
    """The split names of `_load_dataset`'s result (a folder of one split holds "train")."""
    import datasets

    return ["train"] if isinstance(loaded, datasets.Dataset) else list(loaded)


def _split_of(loaded, split: str | None):
    """One split of `_load_dataset`'s result, or None when it has none of that name. `split` may slice and join
    splits as `datasets.load_dataset(split=...)` does ("train[:80%]", "train[10:20]+test")."""
    import datasets

    if isinstance(loaded, datasets.Dataset):
        if split in ("train", None):
            return loaded
        loaded = {"train": loaded}
    if split in loaded:
        return loaded[split]
    rows = _split_rows(loaded, split)
    if rows is None:
        return None
    parts = [(name, loaded[name].select(range(start, stop))) for name, start, stop in rows]
    if len(parts) == 1:
        return parts[0][1]
    _check_joinable(split, parts)
    return datasets.concatenate_datasets([part for _, part in parts])


def _check_joinable(split: str, parts: list[tuple[str, Any]]) -> None:
    """Refuse the parts (`[(split name, Dataset)]`) of a split spec that joins splits (`split`: "train+extra") where a
    column they share has other features in each: `concatenate_datasets` stopped with "The features can't be aligned
    because the key label of features {...} has unexpected type", naming neither split nor a way out. (A column one
    split lacks is joined as missing values there, as `datasets` does.)

    Raises:
        ValueError: naming the spec, both splits, the column, both features and the cast (or, for class names, the
            renumbering) that gives them one.
    """
    import datasets

    first_name, first = parts[0]
    for name, part in parts[1:]:
        for column, feature in part.features.items():
            theirs = first.features.get(column)
            if theirs is None or feature == theirs or datasets.Value("null") in (feature, theirs):
                continue
            if isinstance(feature, datasets.ClassLabel) and isinstance(theirs, datasets.ClassLabel):
                label2id = {class_name: class_id for class_id, class_name in enumerate(theirs.names)}
                fix = f"dataset[{name!r}].align_labels_with_mapping({label2id!r}, {column!r})"
            else:  # (a cast to a `ClassLabel` keeps the ids, as the split's own ids mean)
                fix = f"dataset[{name!r}].cast_column({column!r}, dataset[{first_name!r}].features[{column!r}])"
            raise ValueError(
                f"The split {split!r} joins splits of other features: the {name} split's `{column}` is {feature} where "
                f"the {first_name} split's is {theirs}; give them one before `save_to_disk`: `dataset[{name!r}] = "
                f"{fix}`, or name one split alone."
            )


def _split_rows(loaded, split: str | None) -> list[tuple[str, int, int]] | None:
    """`[(split name, first row, end row)]` that a split with slices ("train[:80%]", "train+test") reads, or None
    when `split` is a plain name or names a split `loaded` lacks."""
    import datasets

    if split is None or not re.search(r"[\[+]", split):
        return None
    try:
        instruction = datasets.ReadInstruction.from_spec(split)
    except ValueError:
        raise ValueError(
            f"Cannot read the split {split!r}: give a split name, or slices as `datasets.load_dataset(split=...)` "
            "takes them (train[:80%], train[80%:], train[10:20], train+test)."
        ) from None
    splits = {"train": loaded} if isinstance(loaded, datasets.Dataset) else loaded
    sizes = {name: len(rows) for name, rows in splits.items()}
    try:
        return [(part.splitname, part.from_, part.to) for part in instruction.to_absolute(sizes)]
    except ValueError:  # a split it does not have: the caller names the ones it has
        return None


def _base_splits(split: str | None) -> set[str]:
    """The split names a split with slices reads ("train[:80%]+test" -> {"train", "test"})."""
    return {part.split("[", 1)[0].strip() for part in (split or "").split("+") if part.strip()}


def _check_disjoint_slices(loaded, roles: dict[str, str | None]) -> None:
    """Refuse slices (`--train-split train[:90%] --test-split train[80%:]`) that give train, validation and test
    rows in common: the model would be scored (or chosen) on examples it trained on."""
    spans = {role: _split_rows(loaded, split) for role, split in roles.items() if split}
    if not any(spans.values()):
        return
    for role, rows in spans.items():
        if rows is None and (split := _split_of(loaded, roles[role])) is not None:
            spans[role] = [(roles[role], 0, len(split))]
    named = [(role, rows) for role, rows in spans.items() if rows]
    for first, (role, rows) in enumerate(named):
        for other, other_rows in named[first + 1 :]:
            shared = [
                (name, max(start, other_start), min(stop, other_stop))
                for name, start, stop in rows
                for other_name, other_start, other_stop in other_rows
                if name == other_name and max(start, other_start) < min(stop, other_stop)
            ]
            if shared:
                name, start, stop = shared[0]
                raise ValueError(
                    f"--{role}-split {roles[role]!r} and --{other}-split {roles[other]!r} share rows {start}..{stop - 1} "
                    f"of the {name!r} split, so the model would be scored or chosen on examples it trained on; give "
                    "slices that do not overlap (train[:80%] and train[80%:])."
                )


def _warn_unused_splits(
    dataset: str | os.PathLike, names: list[str], used: set[str], validation_split: str | None = None
) -> None:
    """Name the splits of a user's set (`names`) that no option uses, before a validation split is carved from
    train: a user's held-out split under another name would otherwise be silently ignored. With `validation_split`,
    the name the caller validates on when no option names one (`citrus evaluate`), the advice is to rename."""
    if is_registered_dataset(dataset):
        return  # a registered set: its splits are documented
    read = {name for split in used for name in _base_splits(split)}
    unused = sorted(set(names) - read)
    if unused:
        logger.warning(
            f"Dataset {str(dataset)!r} has no {sorted(read - set(names))} split, so a validation split is carved "
            f"from train; its split(s) {unused} are not used. To validate on one: "
            + (f"--validation-split {unused[0]}." if validation_split is None else f"rename it {validation_split!r}.")
        )


def check_dataset_reference(dataset: str | os.PathLike, labelled: bool = False) -> None:
    """Refuse, before any work, a dataset that is neither an existing path, a registered name nor a Hub dataset id
    (`owner/name`) that the Hub, or offline the datasets cache, has (the protocol checks every set before it
    pre-trains or fits anything); with `labelled`, also a registered pre-training corpus."""
    if Path(str(dataset)).expanduser().exists():
        return
    specs = list_datasets()
    if labelled:
        corpus = next((spec for spec in specs if spec.name == str(dataset) and spec.task == "pretraining"), None)
        if corpus is not None:
            sets = ", ".join(spec.name for spec in specs if spec.task != "pretraining")
            raise ValueError(
                f"{dataset!r} is an unlabelled pre-training corpus, not a labelled set to fit and score; pre-train on "
                f"it (citrus pretrain --dataset {dataset}), and evaluate on labelled sets: {sets}."
            )
        specs = [spec for spec in specs if spec.task != "pretraining"]
    names = [spec.name for spec in specs]
    if str(dataset) in names:
        return
    if _HUB_ID.fullmatch(str(dataset)):
        _check_hub_dataset(str(dataset))
        return
    close = difflib.get_close_matches(str(dataset), names, 1)
    raise ValueError(
        f"{dataset!r} is neither a folder nor a registered dataset"
        + (f" (did you mean {close[0]!r}?)" if close else "")
        + f". Registered: {', '.join(names)}; or give what `datasets.load_dataset` takes: a Hub dataset id "
        "(owner/name), a folder of parquet / csv / json files or one such file, or the folder `save_to_disk` wrote."
    )


def _check_hub_dataset(dataset: str) -> None:
    """That the Hub (offline: the datasets cache) has the dataset `dataset`: its builder resolves without downloading
    the data."""
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    try:
        with offline_if_hub_unreachable(dataset), _naming_several_configs(dataset):
            datasets.load_dataset_builder(dataset)
    except (DatasetNotFoundError, ConnectionError):
        _load_from_hub(dataset)  # raises the same errors, worded once there
        raise


def _load_from_disk(path: Path):
    """`datasets.load_from_disk`, with an empty split named: `save_to_disk` writes an empty split without any data
    file, and loading it then fails inside `datasets` with an IndexError."""
    import json

    import datasets

    try:
        loaded = datasets.load_from_disk(str(_read_only_view(path)))
    except IndexError:
        empty = sorted(
            state.parent.name if state.parent != path else "train"
            for state in [path / "state.json", *path.glob("*/state.json")]
            if state.is_file() and not json.loads(state.read_text(encoding="utf-8")).get("_data_files")
        )
        if not empty:
            raise
        raise ValueError(
            f"Split(s) {empty} of {path} are empty (`save_to_disk` wrote them without data); give every split at "
            "least one example, or leave an empty one out of the DatasetDict."
        ) from None
    # `save_to_disk` keeps a `set_format` (a tutorial's `set_format("torch", columns=[...])`), which `load_from_disk`
    # restores: the rows are read here as stored (under a column subset, the recording ids went missing deep inside
    # `datasets`; pandas rows read as one channel; arrow labels did not compare)
    return loaded.with_format(None)


def _read_only_view(path: Path) -> Path:
    """A folder in the datasets cache that mirrors the `save_to_disk` folder `path` with symlinks to its files, to
    load it from: `datasets` writes every `map` / `select` cache file beside the data files a split was loaded from,
    so reading a set wrote `cache-*.arrow` files into the user's folder on each run, and a set that is read-only (a
    shared one, a read-only mount) failed on a temporary file there ("Permission denied: .../train/tmpXXXX"). Through
    the view, those files go to the datasets cache, as every other set's do, while the data stays memory-mapped from
    `path` (in memory, `keep_in_memory`, a pre-training corpus would not fit). The view is named by the folder and its
    files' names, sizes and modification times (and the user: each user of a shared datasets cache has their own), so
    a set saved again gets a new one, and it is built under a temporary name and renamed, so processes reading the
    same set at once never see half of it.

    Raises:
        OSError: the datasets cache cannot be written (naming it and $HF_DATASETS_CACHE).
    """
    import hashlib
    import shutil
    import tempfile

    import datasets

    if os.name == "nt":  # symlinks need developer mode there: read the folder itself, as before the view
        return path
    # not the map caches that `datasets` wrote into the folder before: the view gets its own
    files = [file for file in files_under(path) if not (file.name.startswith("cache-") and file.suffix == ".arrow")]
    key = hashlib.sha256(os.path.realpath(path).encode())
    for file in files:
        stat = file.stat()
        key.update(f"\0{file.relative_to(path).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    # one view per user: `datasets` writes a read's `map` caches into the view, which in a datasets cache shared by
    # several users (a cluster's) only its owner may write (and `mkdtemp` creates it for its owner alone)
    key.update(f"\0{os.getuid()}".encode())
    views = Path(datasets.config.HF_DATASETS_CACHE) / "citrus_hf_save_to_disk_views"
    view = views / f"{Path(os.path.realpath(path)).name}-{key.hexdigest()[:16]}"
    if view.is_dir():
        return view
    with naming_unwritable_cache():
        views.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{view.name}-", dir=views))
        try:
            for file in files:
                link = building / file.relative_to(path)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(os.path.abspath(file))
            try:
                building.rename(view)
            except OSError:
                if not view.is_dir():  # another process built the same view first: read that one
                    raise
        finally:
            if building.exists():
                shutil.rmtree(building)  # unlinks the symlinks, never what they point at
    return view


def evaluation_split_spans(
    cache_dir=None, archive_cache_dir=None, datasets: Collection[str] | None = None
) -> dict[str, dict[str, dict[str, list[tuple[float, float]]]]]:
    """Where every example of every split of every offline labelled dataset (classification or regression,
    `registry.evaluation_sets`; only those of them named in `datasets` when given) lies in its recording, each dataset
    built with its default options, as evaluation builds it: ``{dataset: {split: {recording id: [(start, end)
    seconds, ...]}}}``.

    A set without a validation split reports the one `load_task_splits` carves out of its training split by default
    (`VALIDATION_FRACTION`, `VALIDATION_SEED`) as "validation", and the rest as "train". A pre-training corpus must
    not touch a span of a split that evaluation holds out (the corpus cuts its rows from the stretches between them);
    a trial is one span covering the whole trial.
    """
    found = {}
    for name in evaluation_sets():
        if datasets is None or name in datasets:
            splits = dict(build_dataset(name, cache_dir=cache_dir, archive_cache_dir=archive_cache_dir))
            if "validation" not in splits:
                pool, validation = carve_validation_split(splits["train"], get_dataset_spec(name).task)
                splits.update(train=pool, validation=validation)
            found[name] = {split: _example_spans(rows) for split, rows in splits.items()}
    return found


def _example_spans(split) -> dict[str, list[tuple[float, float]]]:
    """``{recording: [(start, end) seconds]}`` of the examples of one split (`start_seconds` plus the example's
    samples over its rate)."""
    columns = ["recording", "start_seconds", "sampling_rate", "input_values"]
    table = split.select_columns(columns).with_format("arrow")[:]  # a selection's rows only, as one Arrow table
    samples = _example_samples(table.column("input_values"))
    spans: dict[str, list[tuple[float, float]]] = {}
    for recording, start, length, rate in zip(
        table.column("recording").to_pylist(),
        table.column("start_seconds").to_pylist(),
        samples,
        table.column("sampling_rate").to_pylist(),
    ):
        spans.setdefault(recording, []).append((float(start), float(start) + float(length) / float(rate)))
    return spans


def _example_samples(column) -> np.ndarray:
    """Samples per example of an ``input_values`` column (``(channels, samples)`` per row), read from the Arrow list
    offsets rather than the values."""
    channels, channel_samples = row_shapes(column)
    first = np.concatenate([[0], np.cumsum(channels)[:-1]]).astype(np.int64)  # each row's first channel
    if not len(channel_samples):
        return np.zeros(len(channels), dtype=np.int64)
    return np.where(channels > 0, channel_samples[np.minimum(first, len(channel_samples) - 1)], 0)


def evaluation_split_recordings(cache_dir=None, archive_cache_dir=None) -> dict[str, dict[str, set[str]]]:
    """The recordings of every split of every offline labelled dataset: ``{dataset: {split: recording ids}}`` (see
    :func:`evaluation_split_spans` for where in them)."""
    return {
        dataset: {split: set(spans) for split, spans in splits.items()}
        for dataset, splits in evaluation_split_spans(cache_dir, archive_cache_dir).items()
    }


def evaluation_test_recordings(cache_dir=None, archive_cache_dir=None) -> set[str]:
    """Every recording with an example in the test split of an offline labelled dataset."""
    return {
        recording
        for splits in evaluation_split_recordings(cache_dir, archive_cache_dir).values()
        for recording in splits.get("test", ())
    }


def _labels_as_label_column(loaded):
    """`_load_dataset`'s result with a `labels` column (a set prepared for the `Trainer`, whose models learn from
    `labels`) read as `label` (class ids: integers or a `ClassLabel`) or `target` (floats), as the models' losses read
    it, when the set has neither of those."""
    import datasets

    named = {"train": loaded} if isinstance(loaded, datasets.Dataset) else dict(loaded)
    _check_labels_column_agrees(named)
    splits = list(named.values())
    if not splits or any(
        "labels" not in split.column_names or {"label", "target"} & set(split.column_names) for split in splits
    ):
        return loaded
    feature = splits[0].features["labels"]
    while hasattr(feature, "feature"):  # a list per row: multi-label or multi-target (refused with the way out)
        feature = feature.feature
    column = "target" if str(getattr(feature, "dtype", "")).startswith("float") else "label"
    logger.info(f"The set's `labels` column is read as `{column}` (it holds {getattr(feature, 'dtype', feature)}).")
    return loaded.rename_column("labels", column)


def _check_labels_column_agrees(splits: dict[str, Any]) -> None:
    """Refuse a `labels` column beside a `label` or `target` column (`{split name: Dataset}`) that differs from it:
    the set would be fitted on `label` / `target` while the user may mean `labels`, with nothing to say so. Two equal
    columns are one label twice: `label` / `target` is read and `labels` ignored."""
    for split_name, split in splits.items():
        columns = set(split.column_names)
        for column in ("label", "target"):
            if "labels" not in columns or column not in columns:
                continue
            table = split.with_format("arrow")
            first, second = table[column].to_pylist(), table["labels"].to_pylist()
            row = next((row for row, (a, b) in enumerate(zip(first, second, strict=True)) if a != b), None)
            if row is None:
                continue
            raise ValueError(
                f"The dataset has both a `{column}` and a `labels` column, and they differ (row {row} of the "
                f"{split_name} split: {column} {first[row]!r}, labels {second[row]!r}), so what to predict is "
                f"ambiguous; drop the other one: `dataset = dataset.remove_columns('labels')` (or, to fit `labels`, "
                f"`dataset = dataset.remove_columns('{column}').rename_column('labels', '{column}')`)."
            )


def infer_task(dataset) -> str:
    """ "classification" when the dataset has a `label` column, "regression" when it has `target`."""
    present = [task for task, (column, _) in LABELS.items() if column in dataset.column_names]
    if len(present) > 1:
        raise ValueError(
            "The dataset has both a `label` (classification) and a `target` (regression) column, so what to predict "
            "is ambiguous; drop the other one: `dataset = dataset.remove_columns('target')` (or 'label')."
        )
    if present:
        return present[0]
    close = [name for name in dataset.column_names if name in ("labels", "class", "classes", "y", "targets")]
    fix = f" Rename it: `dataset = dataset.rename_column({close[0]!r}, 'label')` (or 'target')." if close else ""
    raise ValueError(
        f"The dataset has neither a `label` (classification) nor a `target` (regression) column (columns: "
        f"{dataset.column_names}); fine-tuning needs one of them.{fix}"
    )


def label_names_of(dataset) -> list[str] | None:
    """Class names of a classification dataset (from its `ClassLabel`; else the ids `0..max` as text), or None."""
    feature = dataset.features.get("label")
    names = getattr(feature, "names", None)
    if names:
        return list(names)
    if feature is not None:
        return [str(c) for c in range(int(max(dataset["label"])) + 1)]
    return None


# The fix for class names (text) beside class ids: `datasets` numbers names, with one set for every split.
_NAMES_AS_IDS = (
    'map them onto 0..K-1 with one set of names for every split: `dataset = dataset.cast_column("label", '
    "ClassLabel(names=[...every class...]))` before `save_to_disk` (`class_encode_column` names each split's own "
    "classes, so a split missing a class would number the others differently)"
)
# The fix for numbers that are not class ids 0..K-1 (1-based, sparse, negative): as text they are class names, which
# citrus numbers itself (`_text_labels_as_class_labels`). A cast to `ClassLabel` does not renumber them: `datasets`
# keeps an int column's numbers as the ids, so ids 1..4 under four names leave id 4 without one.
_IDS_AS_NAMES = (
    'make them class names: `dataset = dataset.cast_column("label", Value("string"))` before `save_to_disk` (text '
    "labels are numbered 0..K-1 in sorted order, the same in every split; a cast to `ClassLabel` keeps the numbers "
    "as the ids)"
)
# The same fix for a folder of recordings whose metadata labels them with numbers (read as class ids).
_METADATA_IDS_AS_NAMES = (
    "write the labels as class names in the metadata: as text in a metadata.jsonl or metadata.parquet "
    '(`{"file_name": "a.npy", "label": "2"}`), or as names such as "stage2" in a metadata.csv, whose column of '
    "numbers is read as class ids (text labels are numbered 0..K-1 in sorted order, the same in every split)"
)
# The largest finite float32: a float64 sample beyond it becomes inf once `datasets` or the model read it as float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class _WeighedRun(NamedTuple):
    """The longest run of non-finite samples of a row (`longest_non_finite_run`) weighed against a model patch."""

    start: int  # samples
    length: int  # samples
    scale: float  # samples per `unit` (the row's rate, or 1 where unknown: samples)
    unit: str  # " s", or " samples" where the rate is unknown
    patch: float  # the patch, in `unit`
    patch_words: str  # how the patch is named

    @property
    def patches(self) -> float:
        """The run's length in patches: above 1, a gap that interpolation would fill with a made-up straight line."""
        return self.length / self.scale / self.patch

    def where(self) -> str:
        """`2.5 s from 10 s on`: the run's length and start."""
        return f"{self.length / self.scale:g}{self.unit} from {self.start / self.scale:g}{self.unit} on"


def _weighed_longest_run(
    signal: np.ndarray, sampling_rate: float | None, patch_seconds: float | None = None
) -> _WeighedRun:
    """The longest run of non-finite samples of `signal` `(channels, time)` weighed against `patch_seconds` (the
    caller's model's patch; the default configuration's where None) at `sampling_rate` (Hz; unknown, a patch has no
    length in the row's samples, and the run is weighed against the default configuration's 20 samples)."""
    from ..configuration_citrus import CiTrusConfig  # (here: `import citrus_hf.data` stays free of transformers)
    from ..feature_extraction_citrus import longest_non_finite_run

    run_start, run_length = longest_non_finite_run(signal)
    rate = (
        float(sampling_rate) if sampling_rate is not None and np.isfinite(sampling_rate) and sampling_rate > 0 else None
    )
    if rate is None:
        patch = CiTrusConfig.patch_length
        patch_words = (
            f"a patch of the default configuration ({patch:g} samples; give the rows' rate to weigh it against the "
            "model's patch)"
        )
        return _WeighedRun(run_start, run_length, 1.0, " samples", patch, patch_words)
    if patch_seconds is None:
        patch_seconds = CiTrusConfig.patch_length / CiTrusConfig.sampling_rate
    patch_words = f"one of the model's patches ({patch_seconds:g} s)"
    return _WeighedRun(run_start, run_length, rate, " s", patch_seconds, patch_words)


# The fix for a gap that `nan_policy="interpolate"` would fill with a made-up straight line (`{runs}`, `{theirs}`:
# `long_non_finite_run_words`' plural and possessive), said by the refusal and by the warning alike
_CUT_AT_GAPS = (
    "Cut the recording at its {runs} and give each stretch apart, or leave {theirs} stretches out; interpolate only "
    "{runs} of a few samples."
)


def non_finite_fix(
    signal: np.ndarray,
    sampling_rate: float | None,
    patch_seconds: float | None = None,
    recording: str | None = None,
) -> str:
    """The fix for the NaN / inf samples of one recording `signal` `(channels, time)` (or `(time,)`) that the data
    layer refuses, by the feature extractor's rules (`CiTrusFeatureExtractor`). A run NaN in every channel at its start
    or end (`nan_padding_span`) is, in a row of a file read whole (`recording`: the row's `recording` column, which a
    set this package built from files has), samples missing from that recording, named as such with the fix to crop
    them; in another row, most likely padding to a common length, named with the fix to store the row at its own
    length. Else its longest run of non-finite samples (`_weighed_longest_run`, shared with the extractor), where
    longer than one of the model's patches, is a gap (a device off, a WFDB record's '~' segment) that `--nan-policy
    interpolate` would fill with a made-up straight line, so it is named (length and start) with the fix to cut the
    recording there; a shorter run is a few lost samples, which interpolation fills. `patch_seconds`: the caller's
    model's patch (`citrus finetune` and `citrus evaluate` give it, so the rule is the extractor's own); where none
    is given, the default configuration's patch (`CiTrusConfig`: 20 samples at 100 Hz, 0.2 s) stands in.
    `sampling_rate`: the recording's rate (Hz); unknown, a patch has no length in the row's samples, and the run is
    weighed against the default configuration's 20 samples (said as such, not as the model's patch)."""
    from ..feature_extraction_citrus import long_non_finite_run_words, nan_padding_span

    signal = np.asarray(signal, dtype=np.float64)
    length = signal.shape[-1]
    kept_start, kept_stop = nan_padding_span(signal)
    if (kept_start, kept_stop) != (0, length):
        ends = " and ".join(
            part
            for part in (
                f"its first {kept_start}" * bool(kept_start),
                f"its last {length - kept_stop}" * (kept_stop < length),
            )
            if part
        )
        if recording is not None:
            # a row read whole from a file has the file's own length: the NaN are the recording's, not padding
            where = " and ".join(part for part in ("start" * bool(kept_start), "end" * (kept_stop < length)) if part)
            return (
                f"{ends} samples are NaN in every channel: samples missing at the {where} of its recording "
                f"{recording} (a device started late or stopped early), not padding. Crop them from the recording, "
                "or pass --nan-policy interpolate (nan_policy='interpolate'), which leaves a row's NaN start and end "
                "out."
            )
        # recordings of different durations stacked into one array are NaN after each one's end: not a gap to cut at
        return (
            f"{ends} samples are NaN in every channel: most likely padding to a common length (rows of different "
            "durations stored as one array). Store each row at its own length, without the padding (`row[:, :n]`)."
        )
    run = _weighed_longest_run(signal.reshape(-1, length), sampling_rate, patch_seconds)
    if run.patches <= 1:
        return (
            "fill or drop them before fitting, or pass --nan-policy interpolate (nan_policy='interpolate') to fill "
            "them linearly."
        )
    what, runs, theirs = long_non_finite_run_words(signal, run.start, run.length)
    return (
        f"the longest run is {run.where()}: {what}, longer than {run.patch_words}, that --nan-policy interpolate "
        "would fill with a made-up straight line. " + _CUT_AT_GAPS.format(runs=runs, theirs=theirs)
    )


def _is_numeric(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)


def _first_invalid(valid) -> int | None:
    """The first row where the Arrow boolean array `valid` is false or null, or None when every row is valid."""
    import pyarrow.compute as pc

    valid = pc.fill_null(valid, False)
    return None if pc.all(valid).as_py() else pc.index(valid, False).as_py()


def _check_samples(
    values,
    depth: int,
    name: str,
    channel_counts: dict[int, list],
    nan_policy: str = "raise",
    rate_of_row: Callable[[int], float | None] = lambda row: None,
    patch_seconds: float | None = None,
    recording_of_row: Callable[[int], str | None] = lambda row: None,
) -> _LongGaps | None:
    """The `input_values` of one split (an Arrow array of rows, `depth` 1: `(time,)`, 2: `(channels, time)`): every
    row has channels and every channel samples, and every sample is finite (a NaN would make the whole window NaN
    after normalisation, and MiniRocket refuses it deep inside aeon) and within float32's range (the model, and
    `datasets` when it formats the rows, compute in float32: a larger value becomes inf there). `channel_counts`
    gathers `{channels: [rows with that many, (split, first such row)]}` over the splits. Errors name the row; a NaN
    row's fix (`non_finite_fix`) weighs its longest run by `rate_of_row(row)` (Hz, or None) and `patch_seconds`, and
    names a row's NaN start or end by `recording_of_row(row)` (its `recording` column, or None). Under
    `nan_policy="interpolate"`, returns the split's rows with gaps that the extractor would fill with a made-up
    straight line (`_long_gaps`), None where it has none."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if depth == 2:
        row = _first_invalid(pc.greater(pc.list_value_length(rows), 0))
        if row is not None:
            raise ValueError(f"Row {row} of the {name} split has no channels in `input_values`; drop it.")
        counts = pc.list_value_length(rows).to_numpy(zero_copy_only=False)
        row_of_channel, channels = pc.list_parent_indices(rows), pc.list_flatten(rows)
    else:
        counts = np.ones(len(rows), dtype=np.int64)
        row_of_channel, channels = None, rows
    for count, first, number in zip(*np.unique(counts, return_index=True, return_counts=True)):
        seen = channel_counts.setdefault(int(count), [0, (name, int(first))])
        seen[0] += int(number)

    def row_of(channel: int) -> int:
        return channel if row_of_channel is None else row_of_channel[channel].as_py()

    lengths = pc.list_value_length(channels)
    empty = _first_invalid(pc.greater(lengths, 0))
    if empty is not None:
        raise ValueError(f"Row {row_of(empty)} of the {name} split has no samples in `input_values`; drop it.")
    if row_of_channel is not None:
        spans = (
            pa.table({"row": row_of_channel, "length": lengths})
            .group_by("row")
            .aggregate([("length", "min"), ("length", "max")])
        )
        ragged = pc.not_equal(spans["length_min"], spans["length_max"])
        if pc.any(ragged).as_py():
            first = pc.index(ragged, True).as_py()
            raise ValueError(
                f"Row {spans['row'][first].as_py()} of the {name} split has channels of different lengths (from "
                f"{spans['length_min'][first].as_py()} to {spans['length_max'][first].as_py()} samples); every channel "
                "of a row needs the same number of samples: crop or pad them."
            )
    if row_of_channel is not None and len(np.unique(counts)) == 1:
        _check_not_time_by_channels(counts, lengths, name)
    samples = pc.list_flatten(channels)
    # integers are finite (no float copy of them is made); "interpolate" lets the feature extractor fill them
    if pa.types.is_floating(samples.type) and nan_policy != "interpolate":
        finite = pc.is_finite(samples)
        if not pc.all(pc.fill_null(finite, False)).as_py():
            channel = pc.list_parent_indices(channels)[pc.index(pc.fill_null(finite, False), False).as_py()].as_py()
            row = row_of(channel)
            signal = np.asarray(rows[row].as_py(), dtype=np.float64)  # (None, a null sample, reads as NaN)
            raise ValueError(
                f"Row {row} of the {name} split has NaN or infinite values in `input_values`; "
                + non_finite_fix(signal, rate_of_row(row), patch_seconds, recording_of_row(row))
            )
    if pa.types.is_floating(samples.type) and samples.type.bit_width > 32:
        magnitude = pc.abs(samples)
        beyond = pc.and_(pc.is_finite(magnitude), pc.greater(magnitude, _FLOAT32_MAX))
        if pc.any(pc.fill_null(beyond, False)).as_py():
            # finite in float64 but inf once formatted as float32: it would be reported as a NaN / inf sample, and
            # --nan-policy interpolate would fill it (or a whole channel of them) with made-up values
            channel = pc.list_parent_indices(channels)[pc.index(pc.fill_null(beyond, False), True).as_py()].as_py()
            row = row_of(channel)
            peak = pc.max(pc.filter(magnitude, pc.fill_null(beyond, False))).as_py()
            raise ValueError(
                f"Row {row} of the {name} split has values up to {peak:.3g} in `input_values`, beyond float32's range "
                f"({_FLOAT32_MAX:.3g}) in which the model computes; rescale them (e.g. convert them to the unit the "
                "checkpoint was trained on) before fitting."
            )
    if pa.types.is_floating(samples.type) and nan_policy == "interpolate":
        return _long_gaps(rows, channels, samples, row_of_channel, name, rate_of_row, patch_seconds, recording_of_row)
    return None


class _LongGaps(NamedTuple):
    """The rows of a set with gaps longer than a model patch, which `nan_policy="interpolate"` fills with a made-up
    straight line: how many, and the longest (in patches) with where it is."""

    count: int
    split: str
    row: int
    recording: str | None
    run: _WeighedRun
    what: str  # `long_non_finite_run_words` of it
    runs: str
    theirs: str


def _long_gaps(
    rows, channels, samples, row_of_channel, name: str, rate_of_row, patch_seconds, recording_of_row
) -> _LongGaps | None:
    """`_LongGaps` of the split `name` (its Arrow `rows`, their `channels` and flat `samples`; `row_of_channel`: each
    channel's row, None for rows of one channel), None where no row has a gap longer than a patch (each row weighed
    by `_weighed_longest_run` at its rate). A row's NaN start and end are left out, as the extractor leaves them out
    under "interpolate" (`nan_padding_span`): only runs inside the signal are filled."""
    import pyarrow.compute as pc

    from ..feature_extraction_citrus import long_non_finite_run_words, nan_padding_span

    bad = ~np.asarray(pc.fill_null(pc.is_finite(samples), False).to_numpy(zero_copy_only=False))
    if not bad.any():
        return None
    bad_channels = np.unique(pc.list_parent_indices(channels).to_numpy()[np.flatnonzero(bad)])
    bad_rows = bad_channels if row_of_channel is None else np.unique(row_of_channel.to_numpy()[bad_channels])
    count, longest = 0, None
    for row in (int(row) for row in bad_rows):
        row_values = rows.slice(row, 1)
        if row_of_channel is not None:  # (its channels have one length: checked above)
            row_values = pc.list_flatten(row_values)
        channel_count = len(row_values)
        flat = pc.list_flatten(row_values).to_numpy(zero_copy_only=False)
        signal = np.asarray(flat, dtype=np.float64).reshape(channel_count, -1)  # (a null sample reads as NaN)
        start, stop = nan_padding_span(signal)
        if np.isfinite(signal[:, start:stop]).all():
            continue
        run = _weighed_longest_run(signal[:, start:stop], rate_of_row(row), patch_seconds)
        if run.patches <= 1:
            continue
        count += 1
        if longest is None or run.patches > longest[1].patches:
            longest = (row, run._replace(start=run.start + start), signal)
    if longest is None:
        return None
    row, run, signal = longest
    words = long_non_finite_run_words(signal, run.start, run.length)
    return _LongGaps(count, name, row, recording_of_row(row), run, *words)


def _warn_of_long_gaps(gaps: list[_LongGaps]) -> None:
    """Say once, for a set read under `nan_policy="interpolate"`, that its gaps longer than a model patch (`gaps`: each
    split's, `_long_gaps`) are filled with a made-up straight line, naming the longest and its recording, with the
    fix: interpolation is for a few lost samples, and such a gap was filled without a word."""
    if not gaps:
        return
    longest = max(gaps, key=lambda split_gaps: split_gaps.run.patches)
    recording = f" (recording {longest.recording})" if longest.recording else ""
    logger.warning(
        f"nan_policy='interpolate' fills the gaps of {sum(split_gaps.count for split_gaps in gaps)} row(s) longer than "
        f"{longest.run.patch_words} with a made-up straight line, which the model reads as signal. The longest: row "
        f"{longest.row} of the {longest.split} split{recording}, {longest.run.where()}: {longest.what}. "
        + _CUT_AT_GAPS.format(runs=longest.runs, theirs=longest.theirs)
        + " (--nan-policy raise refuses each such row, naming it.)"
    )


def _check_not_time_by_channels(counts: np.ndarray, lengths, name: str) -> None:
    """Refuse a split whose rows, all of `counts` channels, look like `(time, channels)` by the feature extractor's
    rule (`looks_like_time_by_channels`: far more channels than samples). The extractor refuses such a row for the
    CiTrus arms, but the MiniRocket and prior arms take the raw arrays and would score hundreds of "channels" of a few
    samples each. (Rows of different channel counts get the mixed-channels error, which names a transposed row.)"""
    from ..configuration_citrus import looks_like_time_by_channels

    first_channels = np.concatenate([[0], np.cumsum(counts)[:-1]])
    samples = lengths.to_numpy(zero_copy_only=False)[first_channels]
    transposed = np.flatnonzero(looks_like_time_by_channels(counts, samples))
    if len(transposed):
        row = int(transposed[0])
        raise ValueError(
            f"Row {row} of the {name} split has `input_values` of shape ({int(counts[row])}, {int(samples[row])}), "
            f"which looks like (time, channels): {int(counts[row])} channels of {int(samples[row])} samples each. "
            "Store every row as (channels, time), its transpose (`signal.T`; for a saved set, "
            '`dataset.map(lambda row: {"input_values": np.asarray(row["input_values"]).T})`).'
        )


def check_labelled_splits(
    splits: dict[str, Any],
    task: str,
    nan_policy: str = "raise",
    labels_in_metadata: bool = False,
    *,
    sampling_rate: float | None = None,
    patch_seconds: float | None = None,
) -> None:
    """Refuse a labelled set that fitting would turn into a crash deep in numpy / torch or a silently wrong score.

    `splits` maps "train", "test" and optionally "validation" to `datasets.Dataset`s (or None; an empty validation
    split is allowed). Checked, with the fix
    named: an `input_values` column of numeric arrays, `(time,)` or `(channels, time)` per row, the same channel count
    in every row and no row without samples; no empty train or test split; for classification, integer labels that
    are class ids `0..K-1` with at least two classes in train (and none outside them in the other splits); for
    regression, finite numeric targets. The arrays are read column-wise with Arrow, never row by row.
    `labels_in_metadata`: the labels come from the metadata files of a folder of recordings, so an error's fix is
    written there rather than in Python. `sampling_rate` (a row's own `sampling_rate` column wins) and `patch_seconds`
    (the caller's model's patch) tell a gap of NaN in a row from a few lost samples (`non_finite_fix`).
    """
    import pyarrow as pa

    ids_fix = _METADATA_IDS_AS_NAMES if labels_in_metadata else _IDS_AS_NAMES
    channel_counts: dict[int, list] = {}
    long_gaps: list[_LongGaps] = []  # (under nan_policy="interpolate": said once for the set, not per row or split)
    for name, split in splits.items():
        if split is None or (len(split) == 0 and name not in ("train", "test")):
            continue
        if len(split) == 0:
            raise ValueError(f"The {name} split is empty; it needs at least one labelled example.")
        _check_input_values_column(split, f"The {name} split")
        if "patch_mask" in split.column_names:
            # a set a feature extractor already aligned: its padding would count as signal and it would be
            # resampled and normalised a second time
            raise ValueError(
                f"The {name} split has a `patch_mask` column: it was already aligned by a feature extractor (padded, "
                "normalised). `citrus finetune` and `citrus evaluate` align the raw recordings themselves: give the "
                "set as it was before the `map`, with each row's `sampling_rate`."
            )
        values = split.with_format("arrow")["input_values"]
        fixed_shape = getattr(values.type, "shape", None)  # an `Array2D` / `Array3D` feature's shape per row
        if isinstance(values.type, pa.ExtensionType):  # `Array2D` features: nested lists underneath
            chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
            values = pa.chunked_array([chunk.storage for chunk in chunks], type=values.type.storage_type)
        depth, kind = 0, values.type
        while is_list_type(kind):
            depth, kind = depth + 1, kind.value_type
        if depth in (1, 2) and pa.types.is_null(kind):
            raise ValueError(f"Every row of `input_values` of the {name} split is empty; each needs its samples.")
        if depth == 0 and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            # a CSV cell holds no array: `Dataset.to_csv` writes numpy's printed form, "..." for long rows included
            first = values[0].as_py() or ""
            raise ValueError(
                f"`input_values` of the {name} split holds {values.type} (row 0: {first[:40]!r}...), but each row must "
                "be a numeric array of shape (time,) or (channels, time), which a CSV cell cannot hold (`to_csv` writes "
                "its printed form, cut short with '...' for long rows): save the set with `dataset.to_parquet(path)`, "
                "`to_json(path)` or `save_to_disk(folder)`, which keep arrays."
            )
        if depth > 2 and _is_numeric(kind):
            raise _array_per_row_error(name, depth, fixed_shape or _first_row_shape(values))
        if depth not in (1, 2) or not _is_numeric(kind):
            raise ValueError(
                f"`input_values` of the {name} split holds {values.type}, but each row must be a numeric array of "
                "shape (time,) or (channels, time): a list of numbers, or a list of equally long lists of numbers."
            )
        gaps = _check_samples(
            values,
            depth,
            name,
            channel_counts,
            nan_policy,
            rates_of_rows(split, sampling_rate),
            patch_seconds,
            recordings_of_rows(split),
        )
        long_gaps += [gaps] if gaps is not None else []
        _check_labels(split, name, task, ids_fix)
        if "sampling_rate" in split.column_names:
            check_rate_values(split, name)
    if len(channel_counts) > 1:
        raise _mixed_channels_error(splits, channel_counts)
    _warn_of_long_gaps(long_gaps)
    if task == CLASSIFICATION:
        _check_class_ids(splits, ids_fix)


def recordings_of_rows(split) -> Callable[[int], str | None]:
    """`row -> the recording it was read from`: the split's `recording` column (a set this package built from files
    has one: a file's path), None for every row of a set without it, and for a value that is no path (a user's own
    numbering of rows stacked into one array)."""
    if "recording" not in split.column_names:
        return lambda row: None

    def recording_of(row: int) -> str | None:
        recording = split.with_format("arrow")["recording"][row].as_py()
        return recording if isinstance(recording, str) else None

    return recording_of


def rates_of_rows(split, sampling_rate: float | None) -> Callable[[int], float | None]:
    """`row -> its rate (Hz)`: the split's `sampling_rate` column where it has one (not yet checked: a value that is
    no number reads as None), else `sampling_rate` for every row."""
    if "sampling_rate" not in split.column_names:
        return lambda row: sampling_rate

    def rate_of(row: int) -> float | None:
        rate = split.with_format("arrow")["sampling_rate"][row].as_py()
        return float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None

    return rate_of


def _first_row_shape(values) -> tuple[int, ...]:
    """The shape of the first row of `values` (an Arrow array of nested lists), read along each level's first item."""
    shape, item = [], values[0].as_py()
    while isinstance(item, list):
        shape.append(len(item))
        item = item[0] if item else None
    return tuple(shape)


def _array_per_row_error(name: str, depth: int, shape: tuple[int, ...]) -> ValueError:
    """The error for an `input_values` column of `depth`-D numeric arrays (row 0 of `shape`) in the `name` split, such
    as an `Array3D` feature: Arrow's name of the type ("list<item: list<item: list<item: float>>>") said nothing of
    what the rows are or what to do. A 3-D row is most often several recordings (windows) stacked, which each need a
    row of their own (with their label), or one recording with an axis of length 1."""
    ones = [axis for axis, size in enumerate(shape) if size == 1]
    squeeze = (
        f" Its axis {ones[0]} has length 1: if each row is one recording, drop that axis (`np.squeeze(row, axis="
        f"{ones[0]})` in a `dataset.map`, and `Array2D` or nested `List` features)."
        if ones
        else ""
    )
    return ValueError(
        f"`input_values` of the {name} split holds a {depth}-D array per row (row 0: shape {tuple(shape)}), but each "
        "row must be one recording, (time,) or (channels, time). If a row holds several recordings, e.g. windows "
        "(windows, channels, time), give each its own row with its label, e.g. with a batched `dataset.map` that "
        f"returns one row per window.{squeeze}"
    )


def _check_input_values_column(split, where: str) -> None:
    """Refuse a split (`where` names it, "The train split") without the `input_values` column of signals."""
    if "input_values" not in split.column_names:
        raise ValueError(
            f"{where} has no `input_values` column (columns: {split.column_names}); each row needs its signal "
            "there, an array of shape (time,) or (channels, time) (see the README's 'Your own data')."
        )


def _mixed_channels_error(splits: dict[str, Any], channel_counts: dict[int, list]) -> ValueError:
    """The error for rows of different channel counts: it names the first row of a count other than the most rows'
    and, when that row looks like `(time, channels)` (its channels as many as the others' channels, or more than its
    samples), says to store its transpose, as the feature extractor does for a single recording."""
    usual = max(channel_counts, key=lambda count: channel_counts[count][0])
    odd = min((count for count in channel_counts if count != usual), key=lambda count: channel_counts[count][0])
    name, row = channel_counts[odd][1]
    shape = np.shape(splits[name][row]["input_values"])
    hint = ""
    if len(shape) == 2 and (shape[1] == usual or shape[0] > shape[1]):
        hint = (
            f" Its shape {tuple(shape)} looks like (time, channels): store its transpose (`signal.T`), as "
            "(channels, time)."
        )
    return ValueError(
        f"Rows of `input_values` have {sorted(channel_counts)} channels: row {row} of the {name} split has {odd}, "
        f"where {channel_counts[usual][0]} rows have {usual}. Every row of a labelled set needs the same channels (pad "
        f"missing ones, or split the set by channel layout).{hint}"
    )


def _check_labels(split, name: str, task: str, ids_fix: str) -> None:
    """The label column of one split: integer class ids (classification) or finite numbers (regression). `ids_fix`
    says how to make numbers that are no class ids into class names (`_IDS_AS_NAMES`, `_METADATA_IDS_AS_NAMES`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = LABELS[task][0]
    labels = split.with_format("arrow")[column]
    if task == REGRESSION:
        if is_list_type(labels.type):
            raise ValueError(
                f"`target` of the {name} split holds lists (e.g. {labels[0].as_py()!r}): several targets per row. "
                "`citrus finetune` / `citrus evaluate` fit one target; keep one "
                '(`dataset = dataset.map(lambda row: {"target": row["target"][0]})`), or train '
                "`CiTrusForRegression.from_pretrained(checkpoint, num_targets=K)` with the `Trainer` on `labels` of K "
                "numbers per row."
            )
        if not _is_numeric(labels.type):
            raise ValueError(f"`target` of the {name} split holds {labels.type}; regression targets must be numbers.")
        row = _first_invalid(pc.is_finite(labels.cast(pa.float64())))  # a missing target is null: invalid too
        if row is not None:
            raise ValueError(
                f"`target` of the {name} split is missing or not finite in row {row}; drop the rows without a "
                "finite target (a single NaN makes the fitted read-out NaN)."
            )
        return
    if is_list_type(labels.type):
        raise ValueError(
            f"`label` of the {name} split holds lists (e.g. {labels[0].as_py()!r}): multi-label targets. `citrus "
            "finetune` / `citrus evaluate` fit single-label classification and regression; for multi-label, train "
            '`CiTrusForSequenceClassification(problem_type="multi_label_classification")` with the `Trainer` on '
            "multi-hot float `labels`."
        )
    row = _first_invalid(pc.is_valid(labels))
    if row is not None:
        raise ValueError(f"`label` of the {name} split is missing in row {row}; drop the unlabelled rows.")
    if pa.types.is_floating(labels.type):
        row = _first_invalid(pc.equal(labels, pc.floor(labels)))
        if row is not None:
            raise ValueError(
                f"`label` of the {name} split holds {labels[row].as_py()!r} in row {row}; classification labels are "
                "integer class ids (a `target` column makes a regression set)."
            )
    elif pa.types.is_string(labels.type) or pa.types.is_large_string(labels.type):
        # class names where another split holds ids (names in every split are numbered before these checks)
        raise ValueError(
            f"`label` of the {name} split holds class names (e.g. {labels[0].as_py()!r}), not integer class ids; "
            f"{_NAMES_AS_IDS}."
        )
    elif not pa.types.is_integer(labels.type):
        raise ValueError(
            f"`label` of the {name} split holds {labels.type} values (e.g. {labels[0].as_py()!r}), not integer class "
            f"ids; {ids_fix}."
        )
    smallest = pc.min(labels).as_py()
    if smallest < 0:
        row = pc.index(labels, smallest).as_py()
        if getattr(split.features.get("label"), "names", None) is not None:
            raise ValueError(
                f"`label` of the {name} split is {smallest} in row {row}, which a `ClassLabel` holds for a row without "
                "a label; drop the unlabelled rows."
            )
        raise ValueError(
            f"`label` of the {name} split has negative class ids ({smallest} in row {row}); drop unlabelled rows, or "
            f"{ids_fix}."
        )


def check_rate_values(split, name: str) -> None:
    """Refuse a `sampling_rate` column (of the split `name`) that does not hold one finite rate above 0 (Hz) in every
    row: a list per row (per-channel rates) or text ("250 Hz") crashed the summary, pre-training and the alignment
    deep in numpy. Fine-tuning, `citrus data info` and pre-training (`align_corpus`) check it alike."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rates = split.with_format("arrow")["sampling_rate"]
    if not _is_numeric(rates.type):
        hint = ""
        if is_list_type(rates.type):  # per-channel rates: a row is one recording at one rate
            hint = ", one per row: store the channels of each rate as rows of their own"
        example = f" (row 0: {rates[0].as_py()!r})" if len(rates) else ""
        raise ValueError(
            f"`sampling_rate` of the {name} split holds {rates.type}{example}; it must be each row's rate in Hz, a "
            f"number{hint}."
        )
    rates = rates.cast(pa.float64())
    row = _first_invalid(pc.and_(pc.is_finite(rates), pc.greater(rates, 0.0)))
    if row is not None:
        raise ValueError(
            f"`sampling_rate` of the {name} split is {rates[row].as_py()!r} in row {row}; every row needs its rate in "
            "Hz, a finite number above 0."
        )


def _check_class_ids(splits: dict[str, Any], ids_fix: str) -> None:
    """Class ids are 0..K-1, K from the `ClassLabel` names (else the largest id in train), every one of them in train
    without names (a gap would be a class with no example, and macro-F1 would average over it), at least two in train,
    none beyond a split's own names, and none elsewhere that train lacks (beyond K, or a `ClassLabel` class without a
    training example). `ids_fix` says how to make numbers that are no class ids into class names."""
    for name, split in splits.items():  # first: every check after reads a class's name by its id
        if split is not None and len(split):
            _check_ids_named(split, name)
    train = splits["train"]
    names = label_names_of(train)
    present = np.unique(np.asarray(column_values(train, "label"), dtype=np.int64))
    if len(present) < 2:
        raise ValueError(
            f"The train split has a single class ({present.tolist()}); classification needs examples of at least two."
        )
    if getattr(train.features.get("label"), "names", None) is None:
        missing = sorted(set(range(len(names))) - set(present.tolist()))
        if missing:
            raise ValueError(
                f"Class ids {missing[:10]}{' ...' if len(missing) > 10 else ''} never occur in train (labels "
                f"{present[:10].tolist()}{' ...' if len(present) > 10 else ''}): without class names the classes are "
                f"0..{len(names) - 1}, so those would be classes without examples; {ids_fix}. (Values that "
                "measure something, such as heart rates, are a regression set's: put them in a float `target` "
                "column.)"
            )
    train_names = getattr(train.features.get("label"), "names", None)
    for name, split in splits.items():
        if split is None or len(split) == 0 or name == "train":
            continue
        split_names = getattr(split.features.get("label"), "names", None)
        if train_names is not None and split_names is not None and split_names != train_names:
            # the same id would mean another class here than in train: every label of the split would be misread
            label2id = {class_name: class_id for class_id, class_name in enumerate(train_names)}
            raise ValueError(
                f"The {name} split's class names {split_names} differ from train's {train_names}, so the same class "
                f"id means another class in each; renumber its labels by train's names: `dataset[{name!r}] = "
                f"dataset[{name!r}].align_labels_with_mapping({label2id!r}, 'label')` before `save_to_disk` (a cast "
                "to another `ClassLabel` would keep the ids)."
            )
        labels = np.unique(np.asarray(column_values(split, "label"), dtype=np.int64))
        lacking = sorted(set(labels.tolist()) - set(present.tolist()))
        if lacking:
            # a `ClassLabel` names classes train may have no example of, and without names a split may hold ids beyond
            # train's: the model would get no output, or one it cannot learn, and every example of them here would be
            # scored wrong
            named = [f"{names[c]!r} (id {c})" if c < len(names) else f"id {c}" for c in lacking[:10]]
            raise ValueError(
                f"The {name} split has class(es) {', '.join(named)}{' ...' if len(lacking) > 10 else ''}, which train "
                "has no example of: the model cannot learn them, and every example of them would be scored wrong. "
                f"Add training examples of them, or drop those rows from the {name} split."
            )
    unused = sorted(set(range(len(names))) - set(present.tolist()))
    if unused:
        # no split has them (the loop above refused a class only another split has): a `ClassLabel` kept whole by
        # `filter` / `select`. The model would get outputs it cannot learn, never scored.
        kept = {names[c]: new_id for new_id, c in enumerate(present.tolist())}
        raise ValueError(
            f"The `label` ClassLabel names class(es) {[names[c] for c in unused]} that no split has an example of (a "
            "`filter` or `select` keeps every name): the model would get an output for each that it cannot learn. "
            f"Keep only the classes the set has: `dataset = dataset.align_labels_with_mapping({kept!r}, 'label')` "
            "(on the DatasetDict, before `save_to_disk`)."
        )


def _check_ids_named(split, name: str) -> None:
    """Refuse ids of a `ClassLabel` column beyond its names: `datasets` casts an int column to a `ClassLabel` of fewer
    names without a word (a name forgotten, or ids 1..K under K names), and such a class has no name, no output of the
    model and no count in the set's summary."""
    names = getattr(split.features.get("label"), "names", None)
    if names is None:
        return
    ids = np.unique(np.asarray(column_values(split, "label"), dtype=np.int64))
    beyond = ids[ids >= len(names)].tolist()
    if beyond:
        raise ValueError(
            f"The {name} split has class id(s) {beyond[:10]}{' ...' if len(beyond) > 10 else ''} beyond its `label` "
            f"ClassLabel's {len(names)} names (ids 0..{len(names) - 1}): give the ClassLabel a name for each id "
            f"0..{beyond[-1]}, or, for ids that skip values (such as 1-based ones), {_IDS_AS_NAMES}."
        )


# What one label of a set belongs to (`TaskSplits.labelled_unit`), with what per-recording scores say of it where it
# gives none to score (`TaskSplits.labelled_recordings`).
LABELLED_UNITS = {
    "recording": "the recording its `recording` column names",
    "example": "the file (its rows, one per stretch between breaks) or row that `window_seconds` cut into windows",
    "event": "its labels are events' of their recordings (a file of many labelled events is not one labelled recording)",
}


def grouping_problem(recordings, labels) -> str | None:
    """Why `(rows,)` `recordings` give no per-recording scores of `(rows,)` `labels`: every recording is one row, or
    one holds rows of different labels (no label for the whole of it); None when they give them."""
    keys = np.asarray(recordings).astype(str)
    names, inverse = np.unique(keys, return_inverse=True)
    if len(names) == len(keys):
        return "each recording is one example (none was cut into windows)"
    labels = np.asarray(labels)
    order = np.lexsort((labels, inverse.reshape(-1)))
    # a recording of several labels: two of its rows, next to each other once sorted by recording then label, differ
    grouped, sorted_labels = inverse.reshape(-1)[order], labels[order]
    if np.any((grouped[1:] == grouped[:-1]) & (sorted_labels[1:] != sorted_labels[:-1])):
        return (
            "its labels vary within a recording (sleep stages, events, a heart rate per window), so no label is a "
            "whole recording's"
        )
    return None


@dataclass
class TaskSplits:
    """A labelled set ready for fine-tuning: train pool, validation and test splits (`datasets.Dataset`s), the task,
    class names (classification), channel count and, where every training row names its channels alike (a
    `channel_names` column: recording files that name them, `systole_affect`), those names, and where every training
    row gives its channels' units alike (a `channel_units` column: recording files that declare them, EDF and WFDB,
    read in the set's first file's units), those units."""

    train: Any
    validation: Any
    test: Any
    task: str
    label_names: list[str] | None
    num_channels: int
    validation_source: str
    # where validation was carved out of train: the rows of the training split that `train` and `validation` hold
    # (what errors call them); None for splits that are the set's own
    train_rows: np.ndarray | None = None
    validation_rows: np.ndarray | None = None
    # the set's own names of the splits `train`, `validation` and `test` came from (what errors call them)
    split_names: dict[str, str] = field(
        default_factory=lambda: {"train": "train", "validation": "validation", "test": "test"}
    )
    channel_names: list[str] | None = None
    # the unit of each channel ("µV"; "" for one not declared), which a model fine-tuned on the rows records
    channel_units: list[str] | None = None
    # a regression set's names of its targets (a registered set's `DatasetSpec.target_names`: "heart_rate"), which a
    # regressor fine-tuned on it records as its `id2label`; None: unnamed
    target_names: list[str] | None = None
    # what a validation split carved out of train grouped rows by (a key of `CARVE_GROUPS`); None when not carved
    carved_by: str | None = None
    # the training split before a validation split was carved out of it (None when validation is the set's own)
    carved_from: Any = None
    # `(rows,)` of the set's training split (before a carve): the example each row is a window of, where
    # `window_seconds` cut the examples (`windowing.window_example_ids`); None where every row is an example
    example_ids: np.ndarray | None = None
    # `{split: (rows,)}` likewise for the set's own validation and test splits ("validation", "test"), which
    # per-recording scores average over where the examples are the labelled recordings (`labelled_recordings`)
    scored_example_ids: dict[str, np.ndarray] = field(default_factory=dict)
    # what one label belongs to (a key of `LABELLED_UNITS`): "recording" (the `recording` column names it: a
    # registered set's, or a saved set's windows), "example" (a folder of recordings labelled file by file: each
    # file, its rows one per stretch where it breaks, and their windows) or "event" (a folder whose events tables
    # label stretches of its files: `recording_folders.labels_events`); a set that `citrus data build FOLDER --output`
    # saved, or pushed to the Hub, its folder's (`labelled_unit_of`)
    labelled_unit: str = "recording"

    def labels(self, split: str = "train") -> np.ndarray:
        dataset = getattr(self, split)
        column, dtype = LABELS[self.task]
        # the rows' values, not `dataset.data`: a selection keeps the full table and an indices mapping.
        return np.asarray(column_values(dataset, column), dtype=dtype)

    def examples(self, split: str = "train") -> np.ndarray | None:
        """`(rows,)` the labelled example each row of the training pool (`split` "train"), or of the validation split
        carved out of it ("validation"), was cut from, which a label budget counts (`draw_budget`'s `groups`: a
        recording of one label cut into windows is one example), or None where every row is an example (no
        `window_seconds`; a split of the set's own other than train)."""
        if self.example_ids is None:
            return None
        if split == "validation":  # (the carve's rows of the training split; a validation split of its own: None)
            return None if self.validation_rows is None else self.example_ids[self.validation_rows]
        if split != "train":
            return None
        return self.example_ids if self.train_rows is None else self.example_ids[self.train_rows]

    def num_examples(self, split: str = "train") -> int:
        """How many labelled examples `split` holds: its rows, or the examples `window_seconds` cut them from
        (`examples`), as a label budget counts them."""
        examples = self.examples(split)
        return len(getattr(self, split)) if examples is None else len(np.unique(examples))

    def example_labels(self, split: str = "train", rows: np.ndarray | None = None) -> np.ndarray:
        """The labels of the labelled examples `rows` of `split` (all of them where None) hold, one per example
        (`drawn_example_labels`): what a budget's "per class" counts."""
        labels = self.labels(split)
        return drawn_example_labels(labels, np.arange(len(labels)) if rows is None else rows, self.examples(split))

    def labelled_recordings(self, split: str) -> tuple[np.ndarray | None, str | None]:
        """`(recordings, None)`: `(rows,)` the recording labelled as a whole that each row of `split` ("train",
        "validation", "test") is a window of, which per-recording scores average a model's outputs over (as `citrus
        predict` labels a file); or `(None, why)`, one line saying why `split` has none to score: its labels are
        events' of their files (a file of many labelled events is not one labelled recording), its rows name no
        recording, every recording is one row, or its labels vary within a recording (sleep stages)."""
        from .budgets import group_keys

        if self.labelled_unit == "event":
            return None, LABELLED_UNITS["event"]
        rows = getattr(self, split)
        if self.labelled_unit == "example":
            carved = split == "train" or (split == "validation" and self.validation_rows is not None)
            recordings = self.examples(split) if carved else self.scored_example_ids.get(split)
        elif "recording" in rows.column_names:
            recordings = group_keys(column_values(rows, "recording"), len(rows))
        else:
            return None, "its rows name no recording (no `recording` column)"
        if recordings is None:
            return None, "each recording is one example (no `window_seconds` cut it into windows)"
        problem = grouping_problem(recordings, self.labels(split))
        return (None, problem) if problem else (np.asarray(recordings), None)

    def where(self, split: str) -> tuple[str, np.ndarray | None]:
        """What errors about a row of `split` ("train", "validation", "test") call it: where it is ("train split",
        "train split's rows carved out for validation") and, for a split carved from the set's training split,
        each row's number there (None: rows are numbered as they lie)."""
        if split == "validation" and self.validation_rows is not None:
            return f"{self.split_names['train']} split's rows carved out for validation", self.validation_rows
        return f"{self.split_names[split]} split", self.train_rows if split == "train" else None

    def without_carve(self, source: str) -> TaskSplits:
        """These splits with a validation split carved out of train given back to it: the training split whole, an
        empty validation split whose `validation_source` is `source`; themselves when validation was not carved. For
        a recipe that reads no validation split (the probe): the carve would only take labelled examples from it."""
        if self.carved_from is None or not len(self.validation):
            return self
        return replace(
            self,
            train=self.carved_from,
            validation=self.carved_from.select([]),
            validation_source=source,
            train_rows=None,
            validation_rows=None,
            carved_from=None,
        )

    def absent_classes(self, split: str) -> list[str]:
        """The names of the model's classes (`label_names`) that `split` has no example of (none for regression)."""
        if self.task != CLASSIFICATION or not self.label_names:
            return []
        absent = sorted(set(range(len(self.label_names))) - set(np.unique(self.labels(split)).tolist()))
        return [self.label_names[c] for c in absent]

    def missing_classes_notice(self, split: str) -> str | None:
        """One line naming the model's classes (`label_names`) that `split` has no example of, or None: macro-F1
        averages over the classes in the split's labels or the predictions, so such a class counts (as 0) only where
        the model predicts it, and the number averages over fewer classes than the model has."""
        absent = self.absent_classes(split)
        if not absent:
            return None
        return (
            f"class(es) {absent} have no example in the {self.split_names[split]} "
            "split; macro-F1 averages over the classes in its labels or the predictions (as scikit-learn's "
            "`f1_score(average='macro')`), so each counts only where the model predicts it, as 0"
        )


@one_listing()  # (the set's load, then the checks of what its folder holds: one walk of the folder)
def load_task_splits(
    dataset: str | os.PathLike,
    dataset_options: dict | None = None,
    train_split: str = "train",
    validation_split: str = "validation",
    test_split: str = "test",
    validation_fraction: float = VALIDATION_FRACTION,
    validation_seed: int = VALIDATION_SEED,
    require_validation: bool = True,
    sampling_rate: float | None = None,
    nan_policy: str = "raise",
    split_option: str = "--{role}-split NAME",
    patch_seconds: float | None = None,
    validation_option: bool = True,
) -> TaskSplits:
    """Load a labelled set; when it has no validation split, carve one out of train (`carve_validation`).

    `dataset` is a registered name (`dataset_options` are its builder's options) or what `datasets.load_dataset` takes:
    a folder `save_to_disk` wrote, a folder of parquet / csv / json files (its splits from the file names, as on the
    Hub) or one such file (a "train" split), or a Hub dataset id (`owner/name`; offline, from the datasets cache); or
    a folder of recording files laid out as `train/<class>/<file>` beside `test/<class>/<file>` (one example per file,
    labelled by its folder: `recording_folders.labelled_layout`), or of files a `metadata.csv` / `.jsonl` / `.parquet`
    names and labels (`recording_folders.metadata_layout`). A split name may slice and join splits as `load_dataset(split=...)` does ("train[:80%]"); slices of train,
    validation and test that share rows are refused. A `labels` column (the `Trainer`'s name) is read as `label`
    (integers, `ClassLabel`) or `target` (floats) when the set has neither; beside one of them it must hold the same
    values (else what to predict is ambiguous, and refused). A set without a "validation" split validates on its split
    named as in `VALIDATION_SPLIT_ALIASES` ("val", "dev", ...) unless that is the train or the test split.

    The carve uses `validation_seed`, not the run's seed, so every run of a protocol sees the same validation set
    and label budgets are drawn from the same pool. A set whose training split is too small to carve (e.g. a single
    recording: the carve never splits a recording) raises, unless `require_validation=False`: then its validation
    split is empty (the few-shot recipes need none; fine-tuning then runs its fixed schedule).

    `sampling_rate` is the rate the caller will give every row (`--sampling-rate`): only for a set without a
    `sampling_rate` column, which it would otherwise contradict or be silently ignored by (a folder of CSV recordings
    has their time stamps checked against it, `load_recording_folder`). `nan_policy="interpolate"`
    lets rows with NaN / inf samples through (the caller's feature extractor fills them); "raise" refuses them.
    `split_option` is how the caller's errors spell the option that names a split (`{role}`: train, test);
    `validation_option=False` says the caller has none for the validation split (`citrus evaluate` validates on the
    split named `validation_split`), so that its advice names none.
    `patch_seconds`, the duration of the caller's model's patches, rounds the windows of a set of your own
    (`window_seconds`) to whole patches, saying so (`whole_patch_windows`).
    """
    _check_distinct_splits(train_split, validation_split, test_split, split_option, validation_option)
    registered = is_registered_dataset(dataset)
    windows = None if registered else check_own_set_options(dataset_options, str(dataset))
    if windows is not None and patch_seconds is not None:
        windows = whole_patch_windows(windows, patch_seconds, hop_given="hop_seconds" in dataset_options)
    # once: building a set is not free
    loaded = _labels_as_label_column(
        _load_dataset(
            dataset, dataset_options if registered else None, sampling_rate, None if registered else dataset_options
        )
    )
    _refuse_unlabelled_recordings(dataset, loaded)
    split_names = _split_names(loaded)
    resolved = _validation_alias(dataset, split_names, train_split, validation_split, test_split)
    if resolved != validation_split:
        validation_split = resolved
        # the split the alias found, too
        _check_distinct_splits(train_split, validation_split, test_split, split_option, validation_option)
    _check_disjoint_slices(loaded, {"train": train_split, "validation": validation_split, "test": test_split})
    train = _split_of(loaded, train_split)
    # a user's set's splits are the user's to rename; a registered set's are fixed
    folder = not registered
    if train is None:
        raise ValueError(
            f"Dataset {dataset!r} has no split {train_split!r} (its splits: {split_names}); name the one to train on "
            f"with {split_option.format(role='train')}"
            + (
                ", or rename the splits before `save_to_disk` (`DatasetDict({'train': ..., 'test': ...})`)."
                if folder
                else "."
            )
        )
    test = _split_of(loaded, test_split)
    if test is None:
        others = [name for name in split_names if name != train_split]
        options = [f"name it with {split_option.format(role='test')}"] if others else []
        path = Path(str(dataset)).expanduser()
        if folder and path.is_dir() and is_bids_root(path):  # a BIDS dataset's subjects: its own layout kept
            options.append(
                "hold some subjects out as the test split: --dataset-options 'test_subjects=[\"05\"]' (citrus "
                f"evaluate: --dataset-options '{dataset}:test_subjects=[\"05\"]'; a dataset of one subject: "
                "test_sessions or test_runs)"
            )
        elif folder and path.is_dir() and is_recording_folder(path):  # files laid out in folders: a folder is a split
            options.append(
                "move some recordings (of other subjects or sessions than train's) into a test/ folder beside train/, "
                "laid out as train/ is (test/<class>/<file>)"
            )
        elif folder:
            options.append(
                "hold out some recordings as a 'test' split before `save_to_disk` (`DatasetDict({'train': ..., "
                "'test': ...})`)"
            )
        raise ValueError(
            f"Dataset {dataset!r} has no split {test_split!r} (its splits: {split_names}); the test metrics need a "
            f"held-out split: {', or '.join(options) or 'choose another set'}."
        )
    task = infer_task(train)
    validation = _split_of(loaded, validation_split) if validation_split else None
    if task == CLASSIFICATION:
        train, validation, test = _text_labels_as_class_labels(train, validation, test)
    named = {train_split: train, validation_split: validation, test_split: test}
    # a folder of recordings is labelled by its metadata files (or class folders: names), where the labels are fixed
    in_metadata = folder and is_recording_folder(Path(str(dataset)).expanduser())
    check_labelled_splits(
        {"train": train, "validation": validation, "test": test},
        task,
        nan_policy,
        in_metadata,
        sampling_rate=sampling_rate,
        patch_seconds=patch_seconds,
    )
    _check_rate_columns(dataset, named, sampling_rate)
    train, validation, test = _channels_by_name(
        [(train_split, train), (validation_split or "validation", validation), (test_split, test)]
    )
    # (a registered set's splits may share recordings by design: time blocks of one recording; so may a folder that
    # `citrus data build NAME --output` saved one into, which notes the set it holds, or a Hub repository its
    # `--push-to-hub` published it to: looked up only where recordings are shared. That note also says what the
    # set's labels belong to: asked of the Hub once for both)
    with hub_notes_read_once():
        if folder:
            _warn_shared_recordings(
                {"train": train_split, "validation": validation_split, "test": test_split},
                {"train": train, "validation": validation, "test": test},
                by_design=lambda: _saved_registered_build(dataset),
            )
            _check_windows_held_out(
                dataset,
                {"train": train_split, "validation": validation_split, "test": test_split},
                {"train": train, "validation": validation, "test": test},
            )
        labelled_unit = (
            "recording" if registered else labelled_unit_of(dataset, _bids_options_apart(dataset, dataset_options)[0])
        )
    example_ids = _example_ids(train, windows, sampling_rate, labelled_unit)
    scored_example_ids = {
        role: ids
        for role, split in (("validation", validation), ("test", test))
        if split is not None and (ids := _example_ids(split, windows, sampling_rate, labelled_unit)) is not None
    }
    if windows is not None:
        train, validation, test = (
            None if split is None else _windowed(split, role, windows, sampling_rate)
            for role, split in (("train", train), ("validation", validation), ("test", test))
        )
    source, train_rows, validation_rows, carved_by, carved_from = validation_split, None, None, None, None
    if validation is None:
        validated_on = None if validation_option else validation_split
        _warn_unused_splits(dataset, split_names, {train_split, test_split, validation_split}, validated_on)
        # registered sets: by recording, as built; a set of one's own: by subject where the subject is known
        groups, carved_by = carve_groups(train, by_subject=not registered)
        labels = np.asarray(column_values(train, "label")) if task == CLASSIFICATION else None
        train_rows, validation_rows = carve_validation(len(train), labels, groups, validation_fraction, validation_seed)
        carved_from, train, validation = train, train.select(train_rows), train.select(validation_rows)
        per_class = " per class" if task == CLASSIFICATION else ""  # (a regression set has no classes)
        if len(validation) == 0 and require_validation:
            kept = "a class keeps at least one in train" if per_class else "train keeps at least one"
            raise ValueError(
                f"Dataset {dataset!r} has no {validation_split!r} split and too few {CARVE_GROUPS[carved_by]}"
                f"{per_class} to carve one ({kept}); give a validation split or use more data."
            )
        source = (
            f"carved from {train_split} ({validation_fraction:.0%}{per_class}, by {carved_by}, seed {validation_seed})"
            if len(validation)
            else f"none: {train_split} has too few {CARVE_GROUPS[carved_by]}{per_class} to carve one"
        )
    first_shape = first_example_shape(train)
    num_channels = 1 if len(first_shape) == 1 else first_shape[0]
    return TaskSplits(
        train=train,
        validation=validation,
        test=test,
        task=task,
        label_names=label_names_of(train) if task == CLASSIFICATION else None,
        num_channels=num_channels,
        validation_source=source,
        train_rows=train_rows,
        validation_rows=validation_rows,
        split_names={"train": train_split, "validation": validation_split or "validation", "test": test_split},
        channel_names=_shared_channel_names(train, num_channels),
        channel_units=_shared_channel_units(train, num_channels),
        carved_by=carved_by,
        carved_from=carved_from,
        target_names=(list(get_dataset_spec(str(dataset)).target_names) or None) if registered else None,
        example_ids=example_ids,
        scored_example_ids=scored_example_ids,
        labelled_unit=labelled_unit,
    )


def labelled_unit_of(dataset: str | os.PathLike, bids_options: dict | None = None) -> str:
    """What one label of the set of one's own ``dataset`` belongs to (a key of `LABELLED_UNITS`): a folder of
    recordings labels its files ("example"), or the events its events tables cut out of them ("event",
    `recording_folders.labels_events`, read with `bids_options`); a set that `citrus data build FOLDER --output` saved
    (or pushed to the Hub) says what its folder's were (`builders.saved_labelled_unit`); any other set names what its
    labels belong to in its `recording` column ("recording").

    Raises:
        CitrusDataError: a saved set's note names no labelled unit known here.
    """
    path = Path(str(dataset)).expanduser()
    if path.is_dir() and is_recording_folder(path):
        return "event" if labels_events(path, bids_options) else "example"
    unit, where = saved_labelled_unit(dataset, on_hub=_is_hub_dataset_id(dataset))
    if unit is not None and unit not in LABELLED_UNITS:
        raise CitrusDataError(
            f"{where} says the set's labels belong to {unit!r}, none of {sorted(LABELLED_UNITS)}: restore it, or save "
            "the set again with `citrus data build FOLDER --output`."
        )
    return unit or "recording"


def _is_hub_dataset_id(dataset) -> bool:
    """Whether `dataset` is read from the Hub (`_load_dataset`): no path here and no registered name."""
    return not Path(str(dataset)).expanduser().exists() and not is_registered_dataset(dataset)


def _example_ids(
    split, windows: tuple[float, float] | None, sampling_rate: float | None, labelled_unit: str
) -> np.ndarray | None:
    """`(rows,)` the labelled example (the number of its first row in `split`) each row of `split` is cut from, once
    `windows` (`(window_seconds, hop_seconds)`, or None) cut it (`windowing.window_example_ids`): a row of its own, but
    in a folder of recordings labelled whole (`labelled_unit` "example") the recording of each stretch of one that
    breaks (a BrainVision pause, an EEGLAB boundary, a BIDS boundary row: a row per stretch), so that a label budget
    counts its recordings, not their stretches, and per-recording scores average over the whole of each. None where
    every row is its own example."""
    rows = None if windows is None else window_example_ids(split, *windows, sampling_rate)
    if labelled_unit != "example" or "recording" not in split.column_names:
        return rows
    _, first, inverse = np.unique(
        np.asarray(column_values(split, "recording")).astype(str), return_index=True, return_inverse=True
    )
    recording_of = first[inverse]  # (in row order: a set without breaks keeps its row numbers, and its label draws)
    if rows is None:
        return recording_of if len(first) < len(split) else None
    return recording_of[rows]


def _saved_registered_build(dataset) -> bool:
    """Whether `dataset` is a folder that `citrus data build NAME --output` saved a registered set into (its note,
    `builders.built_from`), or a Hub dataset that `citrus data build NAME --push-to-hub` pushed one to (the same note
    beside its files, `builders.built_from_hub`); a note that is not one is no such folder here (the runs that read it
    refuse it)."""
    if _is_hub_dataset_id(dataset):
        return built_from_hub(str(dataset)) is not None
    try:
        return built_from(dataset) is not None
    except CitrusDataError:
        return False


def _warn_shared_recordings(
    names: dict[str, str | None], splits: dict[str, Any], by_design: Callable[[], bool] = lambda: False
) -> None:
    """Warn where a recording (the `recording` column) has rows in two or three of a set's own splits: slices of one
    split (`train[:80%]` / `train[80%:]`) of a recording's windows that cut a recording in two, or ids that repeat,
    score a split on recordings the model trained (or chose its step) on. One line per combination of splits, each
    recording named in one of them (a recording in all three is one line naming the three, not three lines).
    `names`: the set's name of each split by role; `by_design`: asked only where recordings are shared, whether the
    set shares them by design (a registered set's time blocks), which is then no warning."""
    held: dict[str, list[str]] = {}  # recording -> the set's names of the splits it has rows in, held-out first
    seen: set[str | None] = set()
    for role in ("test", "validation", "train"):
        split = splits.get(role)
        # (a role read from the same split as another, `test_split="validation"`, is that split once)
        if split is None or names[role] in seen or "recording" not in split.column_names:
            continue
        seen.add(names[role])
        for name in dict.fromkeys(name for name in column_values(split, "recording") if isinstance(name, str)):
            held.setdefault(name, []).append(str(names[role]))
    combinations: dict[tuple[str, ...], list[str]] = {}
    for name, where in sorted(held.items()):
        if len(where) > 1:
            combinations.setdefault(tuple(where), []).append(name)
    if not combinations or by_design():
        return
    for where, shared in combinations.items():
        shown = ", ".join(repr(name) for name in shared[:5]) + (", ..." if len(shared) > 5 else "")
        others = " and ".join(f"the {name}" for name in where[1:])
        logger.warning(
            f"{len(shared)} recording(s) of the {where[0]} split ({shown}) also have rows in {others} "
            f"split{'s' if len(where) > 2 else ''}: its scores then read windows of recordings the model was fitted "
            "on. Give each recording's rows to one split (slices of one split cut at a recording's last row, or the "
            "ids of other recordings)."
        )


def _check_windows_held_out(dataset: str | os.PathLike, names: dict[str, str | None], splits: dict[str, Any]) -> None:
    """Refuse a held-out split (validation, test) of a set of one's own whose every window is, sample for sample, a
    window of the train split, and warn where some are: a set saved as `DatasetDict(train=ds, test=ds)` (a way past
    the refusal of a set without a test split), one split's rows appended to another, overlapping windows cut from
    one recording. Its scores read examples the model was fitted on, and nothing else would say so: the rows carry
    no `recording` id to compare (`_warn_shared_recordings`). Constant windows (a flat line, a disconnected lead) are
    not compared: two of them alike are no copy. `names`: the set's name of each split by role."""
    train = splits["train"]
    if train is None or "input_values" not in train.column_names:
        return
    in_train: dict[bytes, int] = {}
    for row, digest in enumerate(_window_digests(train)):
        if digest is not None:
            in_train.setdefault(digest, row)
    for role in ("validation", "test"):
        split = splits.get(role)
        if split is None or names[role] == names["train"] or "input_values" not in split.column_names:
            continue
        digests = _window_digests(split)
        copies = [(row, in_train[digest]) for row, digest in enumerate(digests) if digest in in_train]
        if not copies:
            continue
        held_out = f"the {role} split" if names[role] == role else f"the {names[role]!r} split ({role})"
        trained = "the train split" if names["train"] == "train" else f"the {names['train']!r} split (train)"
        said = (
            f"of {held_out} of {str(dataset)!r} {{}}, sample for sample, {{}} of {trained}, which the model is fitted "
            f"on (first: {role} row {copies[0][0]}, train row {copies[0][1]}): its scores would read examples the "
            "model was trained on"
        )
        if len(copies) == len(digests):
            raise ValueError(
                f"Each of the {len(digests)} example(s) {said.format('is', 'an example')}. Hold out examples of "
                f"other recordings as the {role} split (a set saved as `DatasetDict(train=ds, {role}=ds)` holds one "
                "split twice)."
            )
        logger.warning(
            f"{len(copies)} of the {len(digests)} example(s) {said.format('are', 'examples')}. Give the {role} split "
            "examples of its own (of other recordings, not overlapping the training windows)."
        )


def _window_digests(split) -> list[bytes | None]:
    """A digest of each row's `input_values` (its channel count and its samples as float32; None for a constant window,
    or a row holding no numbers): two rows alike have the same digest, whatever the column's float type. Read from
    the Arrow buffers, a batch's samples cast at once: `datasets`' numpy formatting of nested lists took most of the
    time (10 s for 20,000 windows of 2 x 1,000 samples)."""
    import hashlib

    import pyarrow as pa

    digests: list[bytes | None] = []
    for batch in split.select_columns(["input_values"]).with_format("arrow").iter(batch_size=4096):
        column = batch.column(0).combine_chunks()
        if isinstance(column.type, pa.ExtensionType):  # (`Array2D`: lists of fixed size underneath)
            column = column.storage
        starts, ends = np.arange(len(column)), np.arange(1, len(column) + 1)
        channels = None
        while (
            pa.types.is_list(column.type)
            or pa.types.is_large_list(column.type)
            or pa.types.is_fixed_size_list(column.type)
        ):
            if pa.types.is_fixed_size_list(column.type):
                size = column.type.list_size
                starts, ends = (starts + column.offset) * size, (ends + column.offset) * size
            else:
                offsets = column.offsets.to_numpy()  # (absolute in `values`, as a slice's are)
                starts, ends = offsets[starts], offsets[ends]
            channels = ends - starts if channels is None else channels
            column = column.values
        if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
            digests += [None] * len(starts)
            continue
        samples = column.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        for start, end, count in zip(starts, ends, ends - starts if channels is None else channels):
            window = samples[start:end]
            if not window.size or np.all(window == window[0]) or np.isnan(window).all():
                digests.append(None)
                continue
            digest = hashlib.blake2b(f"{count},{window.size}".encode(), digest_size=16)
            digest.update(window.tobytes())
            digests.append(digest.digest())
    return digests


def _channels_by_name(splits: list[tuple[str, Any]]) -> list[Any]:
    """The train, validation and test splits (`[(the set's name of each, Dataset or None)]`, train first; two may share
    a name, `test_split="validation"` beside no validation split) with every
    row's channels in the order the train split's first row names them (its `channel_names`), where rows name them
    in another order: the model keeps that first row's names and takes its channels in their order, so rows stacked
    by position would reach it with their channels swapped, without a word. Rows must hold the same channels
    (`check_labelled_splits` has checked their count), as the files of a folder of recordings must
    (`recording_folders._in_channel_order`). A split without the column is read by position.

    Raises:
        ValueError: a row that names no channels, other channels than the train split's first row, a channel twice or
            not one name per channel, naming the split, the row and the fix; or names of that first row that cannot
            be matched (a name twice, empty, not one per channel) where another row names its channels otherwise.
    """
    from ..feature_extraction_citrus import channel_key, missing_channels  # (`import citrus_hf.data`: no transformers)

    train_name, train = splits[0]
    if "channel_names" not in train.column_names or not len(train):
        return [split for _, split in splits]
    reference = train[0]["channel_names"]
    if not isinstance(reference, list):
        return [split for _, split in splits]  # a first row that names none: positions, as every row without a name
    keys = [channel_key(name) for name in reference]
    checked = False
    aligned = []
    for name, split in splits:
        if split is None or "channel_names" not in split.column_names:
            aligned.append(split)
            continue
        # names as the model matches them (`channel_key`): "FP1" and "Fp1" are one channel, in place
        differ = [
            row
            for row, names in enumerate(column_values(split, "channel_names"))
            if not isinstance(names, list) or [channel_key(given) for given in names] != keys
        ]
        if not differ:
            aligned.append(split)
            continue
        if not checked:  # (only matched where a row differs: names every row repeats are read by position, as ever)
            first_shape = first_example_shape(train)
            problem = _channel_names_problem(reference, 1 if len(first_shape) == 1 else first_shape[0])
            if problem:
                raise ValueError(
                    f"The {train_name} split's row 0 names its channels {reference}, {problem}, so the rows that name "
                    f"theirs otherwise ({name} split's row {differ[0]}) cannot be read by name; give each channel a "
                    "name of its own, one per channel, in every row."
                )
            checked = True

        with_units = "channel_units" in split.column_names

        def reorder(values, row_names, *rest, name=name, with_units=with_units):
            # (`rest`: the rows' `channel_units` where the split has them, then the rows' indices)
            row_units, indices = rest if with_units else (None, rest[0])
            ordered, ordered_units = [], []
            for row, (signal, names) in enumerate(zip(values, row_names, strict=True)):
                signal = np.asarray(signal)
                names = names.tolist() if isinstance(names, np.ndarray) else names  # (the numpy format's)
                where = f"The {name} split's row {indices[row]}"
                if not isinstance(names, list):
                    raise ValueError(
                        f"{where} names no channels (its `channel_names` is {names!r}) while the {train_name} split's "
                        f"row 0 names {reference}; name every row's channels, or drop the `channel_names` column to "
                        "read the channels by position."
                    )
                problem = _channel_names_problem(names, 1 if signal.ndim == 1 else signal.shape[0])
                if problem:
                    raise ValueError(f"{where} names its channels {names}, {problem}; give one name per channel.")
                missing = missing_channels(reference, names)
                if missing:
                    raise ValueError(
                        f"{where} names its channels {names}, without {missing} that the {train_name} split's row 0 "
                        f"names ({reference}: the channels the model takes, in that order); give every row those "
                        "channels (in any order), or drop the `channel_names` column to read them by position."
                    )
                named = [channel_key(given) for given in names]
                order = [named.index(key) for key in keys]
                ordered.append(signal if signal.ndim == 1 else signal[order])
                if with_units:  # a row's units go with its channels
                    units = row_units[row]
                    units = units.tolist() if isinstance(units, np.ndarray) else units
                    matched = isinstance(units, list) and len(units) == len(named)
                    ordered_units.append([units[index] for index in order] if matched else units)
            columns = {"input_values": ordered, "channel_names": [list(reference)] * len(ordered)}
            return columns | ({"channel_units": ordered_units} if with_units else {})

        # a warning, as a folder's file of another channel order gets (`recording_folders._in_channel_order`)
        logger.warning(
            f"{len(differ)} row(s) of the {name} split name their channels in another order than the {train_name} "
            f"split's row 0 ({reference}; first: row {differ[0]}, {split[differ[0]]['channel_names']}); their "
            "channels are read by name, in that order."
        )
        # `dtype=None`: each row in its stored type (float64, int16), as `align_rows` reads it
        aligned.append(
            split.with_format("numpy", columns=["input_values"], output_all_columns=True, dtype=None)
            .map(
                reorder,
                batched=True,
                # (`datasets`' 1000 rows a batch: 1000 whole recordings decoded, and reordered, at once; rows that
                # are short, such as beats, keep those 1000 rather than 64 a batch, fifteen times the batches)
                batch_size=rows_per_map_batch(split, most_rows=1000),
                with_indices=True,
                input_columns=["input_values", "channel_names"] + (["channel_units"] if with_units else []),
                features=split.features,
                desc=f"Reading the {name} split's channels by name",
            )
            .with_format(None)
        )
    return aligned


def _channel_names_problem(names: list, num_channels: int) -> str | None:
    """What keeps a row's `channel_names` from naming its `num_channels` channels one by one (matched by
    `channel_key`: case and surrounding spaces aside), or None."""
    from ..feature_extraction_citrus import channel_key  # (here: `import citrus_hf.data` stays free of transformers)

    keys = [channel_key(name) for name in names]
    if len(names) != num_channels:
        return f"{len(names)} name(s) for its {num_channels} channel(s)"
    if not all(keys):
        return "an empty name among them"
    repeated = sorted({name for name, key in zip(names, keys, strict=True) if keys.count(key) > 1})
    return f"{repeated} more than once" if repeated else None


def _shared_channel_names(split, num_channels: int) -> list[str] | None:
    """The names of `split`'s channels, in its rows' order, as its first row spells them: its `channel_names` column
    where every row holds the same `num_channels` distinct names (a model fine-tuned on them picks them by name at
    prediction), else None. Names are matched by `channel_key`, as `_channels_by_name` matched the rows: rows naming
    "FP1" beside rows naming "Fp1" lost the names, and `citrus predict` then read a file's channels by position."""
    from ..feature_extraction_citrus import channel_key  # (here: `import citrus_hf.data` stays free of transformers)

    if "channel_names" not in split.column_names or not len(split):
        return None
    rows = split["channel_names"]
    first = rows[0]
    if not isinstance(first, list) or _channel_names_problem(first, num_channels):
        return None
    keys = [channel_key(name) for name in first]
    if any(not isinstance(row, list) or [channel_key(name) for name in row] != keys for row in rows):
        return None
    return [str(name) for name in first]


def _shared_channel_units(split, num_channels: int) -> list[str] | None:
    """The unit of each of `split`'s channels (`canonical_unit`: "uV" is "µV"), from its `channel_units` column where
    every row gives the same `num_channels` units (a folder of recording files that declare them is read in its first
    file's units, `recording_folders._in_channel_order`), else None: rows of other units, or of none known."""
    from ..vocabulary_citrus import canonical_unit

    if "channel_units" not in split.column_names or not len(split):
        return None
    rows = split["channel_units"]
    first = rows[0]
    if not isinstance(first, list) or len(first) != num_channels:
        return None
    units = [canonical_unit(unit) for unit in first]
    if not any(units) or any(
        not isinstance(row, list) or [canonical_unit(unit) for unit in row] != units for row in rows
    ):
        return None
    return units


def _refuse_unlabelled_recordings(dataset, loaded) -> None:
    """Refuse a folder (or file) of recordings that nothing labels, before its splits are looked for: its files are a
    pile for pre-training, and a message about a missing test split would send its owner the wrong way."""
    path = Path(str(dataset)).expanduser()
    if not path.exists() or not (is_recording_folder(path) or is_recording_file(path)):
        return
    columns = set(loaded.column_names) if hasattr(loaded, "features") else set().union(*loaded.column_names.values())
    if columns & {column for column, _ in LABELS.values()}:
        return
    raise ValueError(
        f"{str(dataset)!r} holds recordings that nothing labels: lay them out as train/<class>/<file> beside "
        "test/<class>/<file>, or name and label them in a metadata.csv (file_name,label) beside them. As they are, "
        f"they pre-train a model: citrus pretrain --dataset {dataset}."
    )


def _windowed(split, role: str, windows: tuple[float, float], sampling_rate: float | None, say: bool = True):
    """`window_examples` of one split of a set of your own, said in one line (examples in, windows out)."""
    window_seconds, hop_seconds = windows
    windowed = window_examples(split, window_seconds, hop_seconds, sampling_rate, name=role)
    # what the windows leave out, as `citrus predict` says of a recording's tail and the crop notice of rows cut short
    rounding, left_out = window_coverage_notes(split, window_seconds, hop_seconds, sampling_rate)
    (logger.warning if say else logger.info)(
        f"The {role} split's {len(split)} examples are cut into {len(windowed)} windows of {window_seconds:g} s"
        f"{rounding} every {hop_seconds:g} s (window_seconds / hop_seconds)"
        + (
            (
                f"; {left_out} (the stretches between windows, hop_seconds being longer than window_seconds, and the "
                "end of each example that no whole window covers)."
                if hop_seconds > window_seconds
                else f"; {left_out} (the end of each example that no whole window covers: a shorter hop_seconds, or "
                "a window_seconds that divides the examples, covers it)."
            )
            if left_out
            else "."
        )
    )
    return windowed


def _text_labels_as_class_labels(*splits):
    """The splits (`datasets.Dataset`s, or None) with a `label` column of class names (text: "walk", "run") cast to one
    `ClassLabel` whose names are every split's names, sorted (numerically when every name is an integer), so that an
    id means the same class in each split and the model's `id2label` carries the names. Splits already holding ids,
    or text labels with a missing value (refused by the checks after), are returned unchanged."""
    import datasets
    import pyarrow as pa
    import pyarrow.compute as pc

    present = [split for split in splits if split is not None and len(split)]
    columns = [split.with_format("arrow")["label"] for split in present]
    if not columns or not all(pa.types.is_string(c.type) or pa.types.is_large_string(c.type) for c in columns):
        return splits
    if any(column.null_count for column in columns):
        return splits
    names = sorted({name for column in columns for name in pc.unique(column).to_pylist()})
    if all(re.fullmatch(r"[+-]?\d+", name) for name in names):
        names.sort(key=int)
    shown = names if len(names) <= 12 else [*names[:12], "..."]
    logger.info(f"The `label` column holds class names; read as ClassLabel(names={shown}) (ids in that order).")
    label_type = datasets.ClassLabel(names=names)
    return tuple(
        split.cast_column("label", label_type) if split is not None and len(split) else split for split in splits
    )


@one_listing()  # (the set's load, then the checks of what its folder holds: one walk of the folder)
def own_dataset_info(
    dataset: str | os.PathLike, sampling_rate: float | None = None, dataset_options: dict | None = None
) -> dict[str, Any]:
    """Summarise a dataset that is not registered (a `save_to_disk` folder, data files, a Hub id), as `dataset_info`
    summarises a registered one, and say whether `citrus finetune` / `citrus evaluate` take it as it is.

    `sampling_rate` is the rate of every row of a set without a `sampling_rate` column (`--sampling-rate`);
    `dataset_options` the windowing a set of your own takes (`windowing.OWN_SET_OPTIONS`), summarised as cut. Returns
    `dataset_info`'s dict (counts a column the set lacks as None) with `"task"` ("classification", "regression" or
    "unlabelled") and `"fine_tuning"`: `{"ready": True, "train", "validation", "test" (rows), "validation_source"}`,
    with `"train_whole"`, the training split's rows before the carve, where validation is carved out of train (runs
    that read no validation split keep train whole), or `{"ready": False, "problem": the one-line error
    load_task_splits raises}`."""
    import datasets

    windows = check_own_set_options(dataset_options, str(dataset))
    loaded = _labels_as_label_column(_load_dataset(dataset, None, sampling_rate, dataset_options))
    splits = {"train": loaded} if isinstance(loaded, datasets.Dataset) else dict(loaded)
    for name, split in splits.items():
        _check_input_values_column(split, f"The {name} split of {str(dataset)!r}")
        if "sampling_rate" in split.column_names:
            check_rate_values(split, name)
    columns = set().union(*(split.column_names for split in splits.values()))
    task = next((task for task, (column, _) in LABELS.items() if column in columns), "unlabelled")
    if windows is not None and task == "unlabelled":
        raise ValueError(
            f"{str(dataset)!r} is unlabelled (no `label` or `target` column): `citrus pretrain` cuts a corpus into the "
            "model's own windows, so window_seconds / hop_seconds are for labelled sets; drop them."
        )
    if windows is not None:
        # said by `load_task_splits` below, which cuts them again (from the cache)
        splits = {name: _windowed(split, name, windows, sampling_rate, say=False) for name, split in splits.items()}
    info = {
        "name": str(dataset),
        "task": task,
        "options": dict(dataset_options or {}),
        **summarize_dataset(splits, sampling_rate),
    }
    path = Path(str(dataset)).expanduser()
    if task == "unlabelled" and path.exists() and _read_as_recordings(path):
        # its rows are storage segments, not windows: `citrus pretrain` cuts them into the model's (a 25-minute file
        # counted as 3 "windows" gave 150 of citrus-small's)
        info["rows_are"] = "segments"
        info["rows_note"] = (
            f"each recording is stored in rows of {SEGMENT_SECONDS / 60:g} minutes ({UNRATED_SEGMENT_SAMPLES} samples "
            "for files that record no rate; the last up to half as long again); citrus pretrain cuts them into the "
            "model's windows (its context_length at its sampling_rate)"
        )
    if task == "unlabelled":
        info["fine_tuning"] = {
            "ready": False,
            "problem": "it has no `label` or `target` column: an unlabelled corpus, for `citrus pretrain --dataset "
            f"{dataset}{'' if 'sampling_rate' in columns else ' --sampling-rate HZ'}`.",
        }
        return info
    try:
        loaded_splits = load_task_splits(
            dataset, dataset_options, sampling_rate=sampling_rate, require_validation=False
        )
    except ValueError as error:
        info["fine_tuning"] = {"ready": False, "problem": str(error)}
    else:
        info["fine_tuning"] = {
            "ready": True,
            **{role: len(getattr(loaded_splits, role)) for role in ("train", "validation", "test")},
            "validation_source": loaded_splits.validation_source,
        }
        if loaded_splits.carved_from is not None and len(loaded_splits.validation):
            # what a run that reads no validation split trains on: the carve only where one is read
            info["fine_tuning"]["train_whole"] = len(loaded_splits.carved_from)
    return info


def held_out_split(
    dataset: str | os.PathLike, train_split: str, dataset_options: dict | None = None, bids_events: bool = True
) -> str:
    """The split of `dataset` that holds its held-out rows when none is named: "validation", or the first split named
    as in `VALIDATION_SPLIT_ALIASES` ("valid", "val", "dev", ...) where it has no "validation" split and that one is
    not `train_split` (as fine-tuning finds it, `_validation_alias`); "validation" when it has neither. `bids_events`:
    as `load_split` takes it."""
    names = _split_names(_load_dataset(dataset, dataset_options, bids_events=bids_events))
    return _validation_alias(dataset, names, train_split, "validation", test_split="test") or "validation"


def _validation_alias(
    dataset, split_names: list[str], train_split: str, validation_split: str | None, test_split: str
) -> str | None:
    """The split that is the validation set when the default one ("validation") is asked for and the set has none:
    its first split named as in `VALIDATION_SPLIT_ALIASES` ("valid", "val", "dev", ...) that the run neither trains
    nor is scored on (one that is the train or the test split is no separate validation split: then `validation_split`
    is returned unchanged, and one is carved out of train as for a set without any). Any other `validation_split` is
    returned as it is."""
    if validation_split != "validation" or validation_split in split_names:
        return validation_split
    used = _base_splits(train_split) | _base_splits(test_split)
    aliases = [alias for alias in VALIDATION_SPLIT_ALIASES if alias in split_names]
    present = [alias for alias in aliases if alias not in used]
    if not present:
        if aliases:
            role = "test" if aliases[0] in _base_splits(test_split) else "train"
            logger.info(
                f"Dataset {dataset!r} has no 'validation' split and its {aliases[0]!r} split is the {role} split, so a "
                "validation split is carved out of train."
            )
        return validation_split
    (logger.warning if len(present) > 1 else logger.info)(
        f"Dataset {dataset!r} has no 'validation' split; its {present[0]!r} split is the validation set"
        + (f" ({present[1:]} are not used; --validation-split picks another)." if len(present) > 1 else ".")
    )
    return present[0]


def _check_rate_columns(dataset, splits: dict[str, Any], sampling_rate: float | None) -> None:
    """Every split (`{its name: Dataset or None}`) gives its rows' rate the same way: a `sampling_rate` column in each,
    or none and `sampling_rate` (--sampling-rate) for every row. A column in some splits only would leave the others
    without a rate, and --sampling-rate would then contradict the column where there is one."""
    has_column = {
        name: "sampling_rate" in split.column_names
        for name, split in splits.items()
        if split is not None and len(split)
    }
    with_column = [name for name, has in has_column.items() if has]
    without = [name for name, has in has_column.items() if not has]
    if with_column and without:
        example = without[0]

        def splits_are(names: list[str]) -> str:
            return f"the {' and '.join(names)} split" + (" has" if len(names) == 1 else "s have")

        raise ValueError(
            f"Dataset {dataset!r}: {splits_are(with_column)} a `sampling_rate` column but {splits_are(without)} "
            f"none; give every split the column, e.g. `dataset[{example!r}] = "
            f"dataset[{example!r}].add_column('sampling_rate', [rate] * len(dataset[{example!r}]))` before "
            "`save_to_disk`."
        )
    if with_column and sampling_rate is not None:
        raise ValueError(
            f"Dataset {dataset!r} has a sampling_rate column, which gives every row its rate; --sampling-rate is only "
            "for sets without one. Drop --sampling-rate."
        )
    if not with_column and sampling_rate is None:
        raise ValueError(
            f"Dataset {dataset!r} has no `sampling_rate` column, so its rows cannot be resampled to the model's rate; "
            "pass the rate of every row in Hz (--sampling-rate, `sampling_rate=` in Python), or add the column (each "
            "row's rate) to every split."
        )


def _check_distinct_splits(
    train_split: str,
    validation_split: str | None,
    test_split: str,
    split_option: str = "--{role}-split NAME",
    validation_option: bool = True,
) -> None:
    """Refuse split names that would score or select the model on the examples it trained on, or select it on the
    test split: the metrics would look better than they are, with nothing to say so. `split_option` and
    `validation_option` as `load_task_splits` takes them: without an option naming the validation split (`citrus
    evaluate`), the advice names another train or test split instead."""
    if test_split == train_split:
        raise ValueError(
            f"--test-split and --train-split both name {test_split!r}: the test metrics would score examples the "
            f"model trained on. Name a held-out split with {split_option.format(role='test')}."
        )
    another_validation = "Name another validation split (a set without one gets one carved out of its training split)."
    if validation_split == test_split:
        raise ValueError(
            (
                f"--validation-split and --test-split both name {test_split!r}"
                if validation_option
                else f"--test-split names {test_split!r}, the split the model is validated on"
            )
            + ": choosing the model (early stopping, the best checkpoint) on the test split makes its test metrics "
            "optimistic. "
            + (another_validation if validation_option else f"Name another with {split_option.format(role='test')}.")
        )
    if validation_split == train_split:
        raise ValueError(
            (
                f"--validation-split and --train-split both name {train_split!r}"
                if validation_option
                else f"--train-split names {train_split!r}, the split the model is validated on"
            )
            + ": the model would be chosen on examples it trained on. "
            + (another_validation if validation_option else f"Name another with {split_option.format(role='train')}.")
        )


def carve_validation_split(train, task: str, fraction: float = VALIDATION_FRACTION, seed: int = VALIDATION_SEED):
    """`(pool, validation)` `datasets.Dataset`s carved out of a labelled training split (`carve_validation`, stratified
    by class for classification, whole recordings); validation is empty when no recording can be spared."""
    pool, held_out = carved_rows(train, task, fraction, seed)
    return train.select(pool), train.select(held_out)


def carved_rows(
    train, task: str, fraction: float = VALIDATION_FRACTION, seed: int = VALIDATION_SEED, by_subject: bool = False
):
    """`(pool rows, validation rows)` of a labelled training split: the row numbers `carve_validation_split`
    selects. `by_subject`: whole subjects go to one side (a set of one's own with a `subject` column: a subject's
    several recordings on both sides made the validation scores read high), a row without one by its recording
    (`carve_groups`)."""
    groups, _ = carve_groups(train, by_subject)
    labels = np.asarray(column_values(train, "label")) if task == CLASSIFICATION else None
    return carve_validation(len(train), labels, groups, fraction, seed)


# What the validation carve grouped rows by (`carve_groups`) -> the same in the plural, for messages.
CARVE_GROUPS = {
    "recording": "recordings",
    "subject": "subjects",
    "subject (recording where unknown)": "subjects (recordings where the subject is unknown)",
}


def carve_groups(train, by_subject: bool = False) -> tuple[list | None, str]:
    """`(groups, grouped by)`: each row's group in the validation carve of a training split (None: no `recording`
    column, every row its own) and what the groups are, a key of `CARVE_GROUPS`.

    With `by_subject` a row's group is its subject, except where the subject is missing or `UNKNOWN_SUBJECT` (the
    source does not say who was recorded): then its recording. "unknown" is not one subject: read as one, a set that
    `citrus data build` wrote (every row "unknown") was one group, carved no validation at all, and drew its label
    budget from another pool than the registered set it copies."""
    column = "subject" if by_subject and "subject" in train.column_names else "recording"
    groups = column_values(train, column) if column in train.column_names else None
    if groups is None:
        return None, "recording"
    if column == "subject":
        groups = [None if group == UNKNOWN_SUBJECT else group for group in groups]
    missing = missing_groups(groups)
    grouped_by = column
    if len(missing) and column == "subject" and "recording" in train.column_names:
        recordings, without = column_values(train, "recording"), set(missing.tolist())
        groups = [f"recording {recordings[row]}" if row in without else group for row, group in enumerate(groups)]
        grouped_by = "recording" if len(missing) == len(groups) else "subject (recording where unknown)"
        missing = missing_groups(groups)
    if len(missing):
        logger.info(
            f"{len(missing)} row(s) of the training split (first: row {int(missing[0])}) have no `{column}` id; "
            f"the validation carve counts each as a {column} of its own."
        )
    return groups, grouped_by


__all__ = [
    "LABELLED_UNITS",
    "LABELS",
    "LABEL_TASKS",
    "LabelBudget",
    "TaskSplits",
    "carve_validation",
    "check_dataset_reference",
    "draw_budget",
    "drawn_example_labels",
    "grouping_problem",
    "infer_task",
    "is_registered_dataset",
    "check_labelled_splits",
    "check_rate_values",
    "label_names_of",
    "load_split",
    "labelled_unit_of",
    "load_task_splits",
    "load_own_dataset",
    "non_finite_fix",
    "own_dataset_info",
    "parse_budget",
    "rates_of_rows",
    "recordings_of_rows",
]
