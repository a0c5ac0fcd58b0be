"""Building a registered dataset: the registry's builder plans it, and :func:`build_dataset` writes the plan to the
datasets cache; :func:`summarize_dataset` / :func:`dataset_info` describe a built one; :func:`save_built_dataset`
saves one to a folder that remembers what it was built from (:func:`built_from`).

Examples are written by :meth:`datasets.Dataset.from_generator` to Arrow files in the datasets cache and memory-mapped
from there, so a corpus never sits whole in RAM. The cache key (``fingerprint``) hashes the dataset name, the
builder version, the options, the sha256 of every archive read and (online corpora) the local files, so changing
any of them rebuilds, and nothing else does. The builders live with their corpus in :mod:`citrus_hf.data.sources`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..vocabulary_citrus import as_bool
from .budgets import group_keys, missing_groups
from .errors import CitrusDataError
from .fetch import archive_path
from .listings import memo_scope
from .plans import (
    BuildContext,
    BuildPlan,
    arrow_column,
    code_digest,
    listed_option,
    resolve_options,
    row_sizes,
    write_plan,
)
from .recording_folders import files_under
from .recordings import UNKNOWN_SUBJECT
from .registry import DATASETS, DatasetSpec, dataset_name, get_dataset_spec, get_source, source_archives
from .registry import evaluation_sets as registered_evaluation_sets

if TYPE_CHECKING:
    from datasets import DatasetDict


def build_dataset(
    name: str | DatasetSpec,
    cache_dir: str | os.PathLike | None = None,
    archive_cache_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    selection: dict[str, Any] | None = None,
    **options,
) -> DatasetDict:
    """Build (or load from the datasets cache) the registered dataset ``name``.

    Args:
        name: a registered name, or one of the :class:`DatasetSpec` that :func:`citrus_hf.data.list_datasets` lists.
        cache_dir: the datasets cache (default: ``HF_DATASETS_CACHE``).
        archive_cache_dir: where the offline archives are (default: :func:`citrus_hf.data.archive_cache_dir`'s,
            ``$CITRUS_HF_CACHE`` or ``$XDG_CACHE_HOME/citrus_hf/archives``, else ``~/.cache/citrus_hf/archives``).
        data_dir: online corpora (``sleep_edf``, ``mitdb_beats``, ``tfc_*``, ...): the local copy (required).
        download: online corpora: fetch what ``data_dir`` lacks (needs network; raises :class:`OfflineError`
            otherwise).
        selection: online corpora: what to download and build of ``data_dir``, e.g. ``{"subjects": [0, 1]}``
            (Sleep-EDF: only those subjects' nights) or ``{"records": ["100"]}`` (MIT-BIH: only those records); one
            value alone is the list of that one. The keys a set reads are its ``DatasetSpec.selection_keys``.
        **options: builder options, e.g. ``window_seconds=2.0, hop_seconds=1.0`` (see ``DatasetSpec.defaults``).

    Returns:
        A ``datasets.DatasetDict`` whose rows have ``input_values`` ``(channels, time)`` float32, ``label`` or
        ``target``, ``sampling_rate``, ``subject``, ``recording``, ``source`` and ``start_seconds``.

    Raises:
        ArchiveMissingError: an offline archive is not cached (the message says how to fetch it).
        ChecksumError: a cached archive does not match the registry.
        CitrusDataError: a ``selection`` key the set does not read (an offline set reads none).
        ValueError: ``cache_dir`` or ``archive_cache_dir`` is (or lies under) a file.
    """
    from ..configuration_citrus import check_save_directory  # (importing this module needs no transformers)

    for argument, folder in (("cache_dir", cache_dir), ("archive_cache_dir", archive_cache_dir)):
        if folder is not None:
            check_save_directory(folder, argument)
    # "no" is truthy: read as True it would reach for the network the caller meant to keep off
    download = as_bool("download", download)
    name = dataset_name(name)
    spec = get_dataset_spec(name)
    resolved = resolve_options(spec, options)
    _check_selection(spec, selection)
    context = BuildContext(
        archive_cache_dir=archive_cache_dir,
        cache_dir=cache_dir,
        data_dir=Path(data_dir) if data_dir is not None else None,
        download=download,
        selection=_normal_selection(spec, selection),
    )
    key_options = resolved
    if spec.offline:
        for source in spec.sources:  # fail before any work if an archive is missing
            archive_path(get_source(source).archive, archive_cache_dir)
    elif data_dir is None:
        raise CitrusDataError(
            f"Dataset {name!r} is built from a local copy: pass data_dir, where to keep it (`citrus data build "
            f"--data-dir PATH`, `citrus finetune --dataset-options data_dir=PATH`, `citrus evaluate --dataset-options "
            f"{name}:data_dir=PATH`)."
        )
    plan = _plan(spec, resolved, context)
    if not spec.of_the_package:
        # `datasets` keys the rows by the cache key it is given alone, so a builder of one's own edited and registered
        # again (a notebook cell run twice, which the registry takes) read its old rows back from the cache. (A copy:
        # the plan may be `one_plan_per_set`'s, which the next build reads.)
        plan = replace(plan, cache_key=(*plan.cache_key, f"code={code_digest(spec.builder, plan.generator)}"))
    if not spec.offline:
        # The local files enter the cache key through their names, sizes and modification times; files in symlinked
        # folders too (`files_under`), which the builders read, so a change there rebuilds the set.
        stamp = sorted(
            (str(p.relative_to(context.data_dir)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in files_under(context.data_dir)
        )
        key_options = {**resolved, "files": stamp}
        if context.selection:  # the part of the folder a selection builds: not the whole folder's set
            key_options["selection"] = context.selection
    return write_plan(
        name, spec.version, key_options, plan, cache_dir, source_archives(spec.sources), info=registry_info(spec)
    )


# `{(builder, dataset name, version, options, context): its plan}` within a `one_plan_per_set` scope; None outside
# any. A context variable, as `hub_notes_read_once`'s notes are: a scope is one call's, in its own thread.
_PLANS: contextvars.ContextVar[dict[tuple, BuildPlan] | None] = contextvars.ContextVar("citrus_plans", default=None)


@contextlib.contextmanager
def one_plan_per_set() -> Iterator[None]:
    """A scope within which a registered set's builder plans it once per options and `BuildContext`: every later
    `build_dataset` of it with the same ones reads that plan (then its rows from the datasets cache, as always).
    Planning a corpus loads every recording to count its windows (a tenth of a second of CPU for eeg_pretrain, four
    seconds for pretrain_corpus, which builds every labelled set too), and `citrus evaluate` planned its corpus three
    times (training split, validation split, their names) for each of its seven pre-trained arms, all with the same
    options; `citrus pretrain` three times. A plan is a pure function of them and of the checksummed archives; take a
    scope only where a set of your own's builder, or the files of an online corpus's `data_dir`, do not change within
    it. Nested in another scope, it is that scope."""
    with memo_scope(_PLANS):
        yield


def _plan(spec: DatasetSpec, options: dict[str, Any], context: BuildContext) -> BuildPlan:
    """`spec`'s builder's plan for `options` (resolved) and `context`: made once within `one_plan_per_set`."""
    plans = _PLANS.get()
    # repr: options and the context's selection hold lists and dicts; two that print alike are alike (a float 10 and
    # an int 10 print apart, and are only planned twice)
    key = (spec.builder, spec.name, spec.version, repr(sorted(options.items())), repr(context))
    if plans is not None and key in plans:
        return plans[key]
    plan = spec.builder(options, context)
    if not isinstance(plan, BuildPlan):
        raise CitrusDataError(
            f"The builder of dataset {spec.name!r} ({getattr(spec.builder, '__qualname__', spec.builder)}) returned "
            f"{type(plan).__name__}; a builder returns a BuildPlan(features, generator, splits) "
            "(citrus_hf.data.plans.BuildPlan)."
        )
    if plans is not None:
        plans[key] = plan
    return plan


def _normal_selection(spec: DatasetSpec, selection: dict[str, Any] | None) -> dict[str, Any]:
    """`selection` as the package's builders read it, for the builder and the cache key alike: one value alone
    (``{"records": "100"}``, ``{"subjects": 0}``) is the one-item list the builders make of it (`listed_option`), and a
    key given None is a key not given (the builders' ``selection.get(key)``), so each spelling of one selection keys
    one cache entry where ``"100"`` and ``["100"]`` built the same rows twice. A list is kept as given (a tuple becomes
    the list it hashes as), so the keys of caches built before stay what they were. A set of one's own is left as
    given: its builder reads its selection as it chooses."""
    if not spec.of_the_package:
        return dict(selection or {})
    return {key: listed_option(key, value) for key, value in (selection or {}).items() if value is not None}


def _check_selection(spec: DatasetSpec, selection: dict[str, Any] | None) -> None:
    """Refuse a `selection` key that a package's set does not read (`DatasetSpec.selection_keys`): an offline set is
    built whole from its archives, and `{"subjects": [1]}` given to MIT-BIH, whose records are chosen, built every
    record, both without a word. A set of one's own that declares its keys (`register_dataset(selection_keys=...)`)
    is held to them as the package's are; one that declares none reads what its builder reads, unchecked."""
    unread = sorted(set(selection or {}) - set(spec.selection_keys))
    if not unread or not (spec.of_the_package or spec.selection_keys):
        return
    if not spec.selection_keys:
        online = ", ".join(other.name for other in DATASETS.values() if other.selection_keys)
        raise CitrusDataError(
            f"Dataset {spec.name!r} is built whole, so `selection` ({', '.join(unread)}) has nothing to choose; leave "
            f"it out (it picks the part of a local copy to build: {online})."
        )
    raise CitrusDataError(
        f"Dataset {spec.name!r} takes no selection of {', '.join(map(repr, unread))}; its selection keys are "
        f"{', '.join(map(repr, spec.selection_keys))}."
    )


# The one note beside the `save_to_disk` files of a set that `citrus data build --output` saved (and pushed with one
# to the Hub), so that a load asks for one file (a Hub request): of a registered set, which set, with which options and
# builder version, so that a run reading the folder can still say what it saw (`built_from`); of any set, what one of
# its labels belongs to (its `labelled_unit`, `splits.TaskSplits.labelled_unit`: "event", "example", "recording"),
# which a folder of one's own said by its layout and its saved rows no longer do (an events table's events and a
# file's stretches alike name their file in the `recording` column), so that the saved set is scored as its folder
# was (`saved_labelled_unit`).
BUILT_FROM_FILE = "citrus_built_from.json"
# Where sets saved before the one note said their `labelled_unit` (their note of a registered set, if any, lacks it):
# still read for them, never written.
LABELLED_UNIT_FILE = "citrus_labelled_unit.json"
# The key of the one note that holds the `labelled_unit`; not part of what `built_from` gives (a pre-training
# summary's `dataset_built_from` records the registered set alone).
_LABELLED_UNIT_KEY = "labelled_unit"
# The hidden folder inside the output folder that `save_dataset_whole` saves a set into before moving it in.
STAGING_PREFIX = ".citrus-dataset-"


def save_built_dataset(
    dataset_dict: DatasetDict,
    name: str,
    folder: str | os.PathLike,
    options: dict[str, Any] | None = None,
    evaluation_sets: dict[str, str] | None = None,
    selection: dict[str, Any] | None = None,
) -> None:
    """``dataset_dict.save_to_disk(folder)``, the registered set ``name`` built with ``options``, and a note of that
    (`BUILT_FROM_FILE`) in the folder: a pre-training run on the folder records it, and evaluation then holds the
    corpus's windows against a checkpoint as it does for a run on the registered name (``examples_in_pretrain_corpus``).
    A pre-training corpus's note also records the labelled sets registered when it was built (`evaluation_sets`:
    those registered now unless given, for rows built elsewhere), the sets ``pretrain_corpus`` held out. A set built
    from part of its corpus (`selection`, as `build_dataset` takes it: a dataset script's ``--records``) records that
    part, which the note otherwise left out, naming the whole corpus.
    """
    save_dataset_whole(dataset_dict, folder, built_from_note(name, options, evaluation_sets, selection))


def built_from_note(
    name: str,
    options: dict[str, Any] | None = None,
    evaluation_sets: dict[str, str] | None = None,
    selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The note (`BUILT_FROM_FILE`) of the registered set ``name`` built with ``options`` (and ``selection``), which
    :func:`save_built_dataset` saves beside a set and ``publishing.datasets.publish`` pushes with one: see there."""
    spec = get_dataset_spec(name)
    resolved = resolve_options(spec, dict(options or {}))
    note = {"dataset": name, "dataset_options": resolved, "builder_version": spec.version}
    # as `build_dataset` read it and keyed its cache: {"records": "100"} is ["100"], {"subsets": None} no selection
    selection = _normal_selection(spec, selection)
    if selection:
        note["selection"] = selection
    if spec.task == "pretraining":  # what a corpus holding out evaluation spans held out: the sets registered now
        note["evaluation_sets"] = registered_evaluation_sets() if evaluation_sets is None else dict(evaluation_sets)
    return note


# The files `DatasetDict.save_to_disk` writes at a folder's root besides a folder per split, and those of a single
# `Dataset.save_to_disk` (its shards are `data-NNNNN-of-NNNNN.arrow`).
_DATASET_DICT_FILE = "dataset_dict.json"
_DATASET_FILES = ("state.json", "dataset_info.json")


def save_dataset_whole(
    dataset_dict: DatasetDict,
    folder: str | os.PathLike,
    note: dict[str, Any] | None = None,
    labelled_unit: str | None = None,
) -> None:
    """``dataset_dict.save_to_disk(folder)`` with, in its one note (`BUILT_FROM_FILE`, `dataset_note`; none where both
    are None), the registered set it is (`note`; None: the set is no registered build) and what its labels belong to
    (`labelled_unit`; None: its `recording` column's), replacing whatever set the folder held, whole: saved beside it in
    a hidden folder first, then the earlier set's files (its splits, its notes) removed and the new ones moved in.
    ``save_to_disk`` itself writes over a folder split by split, so a save interrupted there left one set's train beside
    another's test, and a set saved over a registered build kept that build's note (a pre-training run on the folder
    then recorded the wrong corpus).

    Raises:
        CitrusDataError: the folder holds something of the new set's name that is no part of a saved set (nothing is
            removed then).
    """
    import tempfile

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=STAGING_PREFIX) as scratch:
        staged = Path(scratch)
        dataset_dict.save_to_disk(str(staged / "set"))
        if note is not None or labelled_unit is not None:
            (staged / "set" / BUILT_FROM_FILE).write_text(dataset_note(note, labelled_unit), encoding="utf-8")
        earlier = _saved_set_parts(folder)
        new_parts = sorted((staged / "set").iterdir())
        in_the_way = [
            path.name for path in new_parts if (folder / path.name).exists() and folder / path.name not in earlier
        ]
        if in_the_way:
            raise CitrusDataError(
                f"{folder} holds {in_the_way}, which are no part of a saved dataset and which the dataset's files "
                "would replace; save the dataset to a folder of its own."
            )
        for path in earlier:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        for path in new_parts:
            os.replace(path, folder / path.name)


def _saved_set_parts(folder: Path) -> list[Path]:
    """What an earlier ``save_to_disk`` (of a `DatasetDict` or a single `Dataset`) and its note left in `folder`."""
    parts = [folder / BUILT_FROM_FILE, folder / LABELLED_UNIT_FILE]
    index = folder / _DATASET_DICT_FILE
    if index.is_file():
        parts.append(index)
        try:
            splits = json.loads(index.read_text(encoding="utf-8")).get("splits", [])
        except (OSError, ValueError, AttributeError):
            splits = []
        parts += [
            folder / split for split in splits if isinstance(split, str) and (folder / split / "state.json").is_file()
        ]
    if (folder / "state.json").is_file():
        parts += [folder / name for name in _DATASET_FILES] + sorted(folder.glob("data-*-of-*.arrow"))
    return [path for path in parts if path.exists()]


def is_built_from_note(note: Any) -> bool:
    """Whether `note` has the shape :func:`save_built_dataset` writes: a set's name and its options (what
    :func:`built_from` returns, and a pre-training summary records as `dataset_built_from`)."""
    return (
        isinstance(note, dict)
        and isinstance(note.get("dataset"), str)
        and isinstance(note.get("dataset_options"), dict)
    )


def built_from(dataset: str | os.PathLike | None) -> dict[str, Any] | None:
    """What the folder ``dataset`` was saved from by :func:`save_built_dataset`: ``{"dataset": name,
    "dataset_options": {...}, "builder_version": "..."}``; None for anything else (a registered name, a Hub id, a
    folder saved otherwise).

    Raises:
        CitrusDataError: the note is there but not one :func:`save_built_dataset` writes.
    """
    if dataset is None or not Path(dataset).is_dir():
        return None
    path = Path(dataset) / BUILT_FROM_FILE
    if not path.is_file():
        return None
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        note = error
    if _of_no_registered_set(note):
        return None
    if not is_built_from_note(note):
        raise CitrusDataError(
            f"{path} is not the note `citrus data build --output` writes (a JSON object with the 'dataset' name and "
            "its 'dataset_options'): restore it, or remove it if the folder no longer holds that set as built."
        )
    return _registered_set_of(note)


def dataset_note(note: dict[str, Any] | None, labelled_unit: str | None) -> str:
    """The text of the one note (`BUILT_FROM_FILE`) beside a saved or pushed set: the registered set it is (`note`,
    `built_from_note`; None for a set of one's own) and what its labels belong to (`labelled_unit`; None: its
    `recording` column's, "recording")."""
    return json.dumps({**(note or {}), _LABELLED_UNIT_KEY: labelled_unit or "recording"}, indent=2) + "\n"


def _of_no_registered_set(note: Any) -> bool:
    """Whether the one note `note` (`dataset_note`) is that of a set of one's own: its `labelled_unit` alone."""
    return isinstance(note, dict) and set(note) == {_LABELLED_UNIT_KEY}


def _registered_set_of(note: dict[str, Any]) -> dict[str, Any]:
    """The registered set that the one note `note` names (`built_from_note`'s fields), without its `labelled_unit`."""
    return {key: value for key, value in note.items() if key != _LABELLED_UNIT_KEY}


def built_from_hub(repo_id: str) -> dict[str, Any] | None:
    """What the Hub dataset repository ``repo_id`` was pushed from by ``publishing.datasets.publish`` (the note
    `BUILT_FROM_FILE` it pushes beside a registered set, as :func:`built_from` reads it from a folder); None for a set
    pushed otherwise, one whose note cannot be read, or when the Hub does not answer and the cache holds no copy."""
    path = _hub_note(repo_id, BUILT_FROM_FILE)
    try:
        note = None if path is None else json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):  # a damaged note: no registered set known
        return None
    return _registered_set_of(note) if is_built_from_note(note) else None


# `{(repo_id, file_name): the file downloaded, or None}` while `hub_notes_read_once` holds (None otherwise): a load
# asks for what its set is (`built_from_hub`) and what its labels belong to (`saved_labelled_unit`), both in the one
# note, which was two requests to the Hub. A context variable, not a module global: loads in two threads each hold
# their own (a global set back by whichever thread left last stayed set, and served notes read before a push made
# after them for the rest of the process).
_HUB_NOTES_READ: contextvars.ContextVar[dict[tuple[str, str], Path | None] | None] = contextvars.ContextVar(
    "citrus_hub_notes_read", default=None
)


@contextlib.contextmanager
def hub_notes_read_once() -> Iterator[None]:
    """Within it, each note of a Hub dataset (`_hub_note`) is asked of the Hub once (per thread); a push made after it
    is read anew."""
    with memo_scope(_HUB_NOTES_READ):
        yield


def _hub_note(repo_id: str, file_name: str) -> Path | None:
    """The file `file_name` that a push left beside the Hub dataset ``repo_id``'s files, downloaded; None where the
    repository has none (a set pushed otherwise, or before such notes) or the Hub does not answer and the cache holds
    no copy. Asked once within `hub_notes_read_once`."""
    read = _HUB_NOTES_READ.get()
    if read is not None and (repo_id, file_name) in read:
        return read[(repo_id, file_name)]
    from huggingface_hub import hf_hub_download

    from .hub_access import offline_if_hub_unreachable

    try:
        with offline_if_hub_unreachable(repo_id):
            path = Path(hf_hub_download(repo_id, file_name, repo_type="dataset"))
    except Exception:  # no such file, no such repository, no answer and no cached copy
        path = None
    if read is not None:
        read[(repo_id, file_name)] = path
    return path


# What `_noted_labelled_unit` gives for a note that says no `labelled_unit` (none there, or one saved before it did).
_UNSAID = object()


def _noted_labelled_unit(dataset: str | os.PathLike, file_name: str, on_hub: bool) -> tuple[Any, str]:
    """`(the labelled_unit the note file_name beside the saved (or pushed, `on_hub`) set `dataset` holds, where it
    lies)`; `_UNSAID` where there is no such note, or where the one note holds no such key (a registered set's, saved
    before it held it); None (refused by the caller) for a note that is no JSON object, or a `LABELLED_UNIT_FILE`
    without the key."""
    path = _hub_note(str(dataset), file_name) if on_hub else Path(dataset).expanduser() / file_name
    where = f"{dataset}'s {file_name}" if on_hub else str(path)
    if path is None or not path.is_file():
        return _UNSAID, where
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        note = None
    if not isinstance(note, dict):
        return None, where
    if _LABELLED_UNIT_KEY not in note:
        return (_UNSAID if file_name == BUILT_FROM_FILE else None), where
    return note[_LABELLED_UNIT_KEY], where


def saved_labelled_unit(dataset: str | os.PathLike, on_hub: bool = False) -> tuple[str | None, str]:
    """`(unit, where)`: what the labels of the set that `citrus data build FOLDER --output` saved into the folder
    ``dataset`` (or pushed to the Hub dataset ``dataset``, `on_hub`) belong to, as its one note (`BUILT_FROM_FILE`)
    says it, or for a set saved before that note held it its `LABELLED_UNIT_FILE` (None: the set has neither, saved
    otherwise or before sets recorded it), and where that file lies (what an error about its value names).

    Raises:
        CitrusDataError: the file is there but its `labelled_unit` is no text.
    """
    unit, where = _noted_labelled_unit(dataset, BUILT_FROM_FILE, on_hub)
    if unit is _UNSAID:  # (saved before the one note held it: its own file, if any)
        unit, where = _noted_labelled_unit(dataset, LABELLED_UNIT_FILE, on_hub)
    if unit is _UNSAID:
        return None, where
    if not isinstance(unit, str):
        raise CitrusDataError(
            f"{where} is not the note `citrus data build --output` writes (a JSON object naming the set's "
            "'labelled_unit'): restore it, or save the set again with `citrus data build FOLDER --output`."
        )
    return unit, where


def corpus_evaluation_sets(dataset: str | os.PathLike | None) -> dict[str, str] | None:
    """The labelled sets (name: builder version, `registry.evaluation_sets`) registered when the pre-training corpus
    ``dataset`` was built, whose evaluation spans ``pretrain_corpus`` held out: those registered now for a registered
    name (a build now consults them), those a folder's note records for a folder :func:`save_built_dataset` wrote;
    None for anything else (a note written before notes recorded them, a Hub id, a folder saved otherwise)."""
    if dataset is None:
        return None
    note = built_from(dataset)
    if note is not None:
        recorded = note.get("evaluation_sets")
        return dict(recorded) if isinstance(recorded, dict) else None
    if Path(dataset).expanduser().exists() or str(dataset) not in DATASETS:
        return None
    return registered_evaluation_sets()


def registry_info(spec) -> dict[str, Any]:
    """The `datasets.DatasetInfo` fields a built set carries from the registry (as any `datasets` builder's do): the
    set's description and version, and its sources' citations, licenses and homepages (each once, in source order)."""
    sources = [get_source(source) for source in spec.sources]

    def unique(values) -> list[str]:
        return list(dict.fromkeys(value for value in values if value))

    return {
        "description": spec.description,
        "citation": "\n\n".join(unique(source.citation for source in sources)),
        "license": "; ".join(unique(source.license for source in sources)),
        "homepage": " ".join(unique(source.homepage for source in sources)),
        "version": spec.version,
    }


def is_list_type(arrow_type) -> bool:
    """Whether an Arrow type is a list of any kind (one per row: a channel, a multi-target or multi-label row)."""
    import pyarrow as pa

    return pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type)


def _is_multi_hot(arrow_type) -> bool:
    """Whether a multi-label row's values (their Arrow type) are a 0/1 per class, as transformers' multi-label
    classification takes its `labels` (floats, or yes/no), rather than the ids or names of the classes it holds."""
    import pyarrow as pa

    return pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type)


def _known_subjects(dataset) -> int | None:
    """How many subjects a split's windows come from, counting known ones only: "unknown" (the source does not say)
    and a missing subject (None or NaN in a set of your own, `missing_groups`) are not one subject, as the validation
    carve does not read them as one (`splits.carve_groups`), and a split whose every window is so has no count (None,
    shown "-"), not 0 subjects."""
    subjects = arrow_column(dataset, "subject").to_pylist()
    missing = set(missing_groups(subjects).tolist())
    known = {subject for row, subject in enumerate(subjects) if row not in missing} - {UNKNOWN_SUBJECT}
    return len(known) if known or not subjects else None


def _recordings(dataset) -> int:
    """How many recordings a split's windows come from, a row without a recording id (None, or NaN in a set of your
    own) counted as a recording of its own, as the validation carve and the per-recording scores read it
    (`group_keys`): 40 rows without ids are 40 recordings (all of them were counted as one)."""
    recordings = arrow_column(dataset, "recording").to_pylist()
    return len(set(group_keys(recordings, len(recordings)).tolist()))


def summarize_dataset(dataset_dict: DatasetDict, sampling_rate: float | None = None) -> dict[str, Any]:
    """Statistics of a ``DatasetDict``: per split windows, recordings, subjects, channel-hours, classes, of the rows
    each split holds (a split that ``filter`` / ``select`` / ``shuffle`` made counts its own rows).

    A built set has every column; a user's own may lack some: without a ``recording`` or ``subject`` column their
    counts are None (a row whose recording id is missing counts as a recording of its own), without a
    ``sampling_rate`` column every row is at ``sampling_rate`` (None: channel-hours and rates unknown, None), a
    ``label`` column without ``ClassLabel`` names counts its values (ids or names), and one
    of a list of classes per row (multi-label) the rows that hold each class. A ``target`` column's statistics are
    ``target`` (of its values, all of them where a row holds several) and, for several targets per row, ``targets``
    (a list of each position's)."""
    summary: dict[str, Any] = {"splits": {}}
    rates, channels, classes = set(), set(), None
    for split, dataset in dataset_dict.items():
        columns = set(dataset.column_names)
        if "sampling_rate" in columns:
            rate = np.asarray(arrow_column(dataset, "sampling_rate").to_numpy(), dtype=np.float64)
        else:
            rate = None if sampling_rate is None else np.full(len(dataset), float(sampling_rate))
        per_channel, values = row_sizes(dataset)
        entry = {
            "windows": len(dataset),
            "recordings": _recordings(dataset) if "recording" in columns else None,
            "subjects": _known_subjects(dataset) if "subject" in columns else None,
            "channel_hours": None if rate is None else (float(np.sum(values / rate) / 3600.0) if len(dataset) else 0.0),
        }
        if "label" in dataset.features:
            feature = dataset.features["label"]
            labels = arrow_column(dataset, "label")  # the split's own rows (a filtered set's table holds them all)
            if is_list_type(labels.type) and _is_multi_hot(labels.type.value_type):
                # a 0/1 per class (transformers' multi-label `labels`): position k is class k; its values are no
                # classes ("0.0" and "1.0" were counted as two classes, each in every row)
                counts = Counter(k for row in labels.to_pylist() for k, held in enumerate(row or ()) if held)
                feature = None
            elif is_list_type(labels.type):
                # classes per row (multi-label): the rows that hold each class, counted once per row (a Counter of the
                # lists themselves stopped `citrus data info` with "unhashable type: 'list'")
                counts = Counter(k for row in labels.to_pylist() for k in set(row or ()))
                feature = getattr(feature, "feature", feature)
            else:
                counts = Counter(labels.to_pylist())
            names = getattr(feature, "names", None)
            if names:
                classes = names
                entry["per_class"] = {names[k]: counts.get(k, 0) for k in range(len(names))}
                # ids the names do not cover (`datasets` casts ids 1..K to K names without a word): counted, not dropped
                unnamed = sorted(k for k in counts if k is not None and not 0 <= k < len(names))
                entry["per_class"].update({f"id {k} (no name)": counts[k] for k in unnamed})
            else:  # ids or names without a `ClassLabel`: the values themselves, in order
                entry["per_class"] = {str(k): counts[k] for k in sorted(counts, key=lambda k: (k is None, str(k)))}
                classes = sorted({*(classes or []), *entry["per_class"]})
        if "target" in dataset.features and len(dataset):
            import pyarrow.compute as pc

            column = arrow_column(dataset, "target")
            widths = set(pc.list_value_length(column).to_pylist()) if is_list_type(column.type) else set()
            rows = len(column)
            if is_list_type(column.type):
                column = pc.list_flatten(column)  # several targets per row: their values, which the checks name
            target = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
            entry["target"] = _target_statistics(target)
            per_row = None
            if len(widths) == 1 and None not in widths:
                # each position its own statistics too: a heart rate in bpm and a breathing rate in Hz pooled read
                # as "mean 38.69, sd 37.57", the statistics of neither
                per_row = target.reshape(rows, widths.pop())
            if per_row is not None:
                entry["targets"] = [_target_statistics(values) for values in per_row.T]
        for column, key in (("modality", "modality_hours"), ("source_name", "source_hours")):
            if column in dataset.features and rate is not None:
                entry[key] = _hours_by(arrow_column(dataset, column).to_pylist(), values / rate)
        summary["splits"][split] = entry
        if rate is not None:
            rates.update(float(r) for r in np.unique(rate))
        channels.update(int(c) for c in np.unique(per_channel))
    summary["sampling_rates"] = sorted(rates)
    summary["channels"] = sorted(channels)
    summary["classes"] = classes
    summary["windows"] = sum(s["windows"] for s in summary["splits"].values())
    hours = [s["channel_hours"] for s in summary["splits"].values()]
    summary["channel_hours"] = None if None in hours else sum(hours)
    for key in ("modality_hours", "source_hours"):
        totals: Counter = Counter()
        for entry in summary["splits"].values():
            totals.update(entry.get(key, {}))
        if totals:
            summary[key] = dict(sorted(totals.items(), key=lambda item: -item[1]))
    return summary


def _target_statistics(target: np.ndarray) -> dict[str, Any]:
    """Mean, std, min and max of the finite values of `target` `(n,)`, with the count of the others: one NaN made
    every statistic NaN, which the text showed as "mean nan" and --json wrote as a bare NaN (not JSON); fine-tuning
    refuses such rows, by row."""
    finite = target[np.isfinite(target)]
    statistics: dict[str, Any] = {
        "mean": float(finite.mean()) if finite.size else None,
        "std": float(finite.std()) if finite.size else None,
        "min": float(finite.min()) if finite.size else None,
        "max": float(finite.max()) if finite.size else None,
    }
    if finite.size < target.size:
        statistics["not_finite"] = int(target.size - finite.size)
    return statistics


def _hours_by(groups: list[str], seconds: np.ndarray) -> dict[str, float]:
    """Channel-hours per group (modality, source), given each row's group and its channel-seconds."""
    hours: Counter = Counter()
    for group, row_seconds in zip(groups, seconds):
        hours[group] += float(row_seconds) / 3600.0
    return dict(sorted(hours.items()))


def dataset_info(name: str | DatasetSpec, cache_dir: str | os.PathLike | None = None, **options) -> dict[str, Any]:
    """Build (or load) ``name`` (a registered name, or a :class:`DatasetSpec` of :func:`list_datasets`) and summarise
    it: windows and channel-hours per split, classes, rates, channels.

    Returns:
        {"name", "task", "options", "splits": {split: {"windows", "recordings", "subjects", "channel_hours",
        ["per_class"], ["target"], ["targets"], ["modality_hours"], ["source_hours"]}}, "sampling_rates", "channels",
        "classes",
        "windows", "channel_hours", ["modality_hours"], ["source_hours"] (over all splits), ["sources_without_rows"]
        (with "source_hours": the registered sources of `name` that give no row at these options)}.
    """
    name = dataset_name(name)
    spec = get_dataset_spec(name)
    dataset = build_dataset(name, cache_dir=cache_dir, **options)
    resolved = resolve_options(spec, {k: v for k, v in options.items() if k in spec.defaults})
    info = {"name": name, "task": spec.task, "options": resolved, **summarize_dataset(dataset)}
    if "source_hours" in info:
        # a pooled corpus: the registered sources it holds no rows of at these options (a source its options leave
        # out, as pretrain_corpus's min_rate leaves out BabyECG's derived heart rate), which `citrus data list`
        # counts among the corpus's sources
        info["sources_without_rows"] = [source for source in spec.sources if source not in info["source_hours"]]
    return info
