"""A real multimodal task for the fusion models, and the low-data protocol that compares fusion with each modality.

The task: systole's "Task1" recording (systole==0.3.1 sdist; Legrand et al. 2020): ECG, EDA and respiration of one
participant at 1 kHz for 25.6 min while 72 pictures were shown, 36 neutral then 36 disgusting. `Task1_Stim.npy` marks
each picture onset with one non-zero sample (1 = neutral, 2 = disgust). An example is the window of every modality
from `offset_seconds` to `offset_seconds + window_seconds` after an onset; the label is the picture's class.

The pictures came in six blocks of twelve (about 10.7 s apart inside a block, 40 s or more between blocks), in the
order neutral, neutral, neutral, disgust, disgust, disgust. The class is therefore confounded with time in the session:
anything that drifts over 25 minutes (habituation, electrode drying, slow heart-rate or breathing changes) separates
the two classes as well as the pictures do. `onset_time_reference` measures how far time alone gets, and the example
reports it next to the models. Folds hold out whole blocks (`block_folds`), so no test window has a training window of
the same block next to it.

Encoders are pre-trained on the data layer's `multimodal_unlabelled` corpus, one modality at a time
(`modality_corpus`); the Task1 windows that overlap the picture period are left out of it, so no test window is seen
during pre-training.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.errors import CitrusDataError
from ..data.fetch import source_members
from ..data.readers import load_npy
from ..data.registry import get_source

SYSTOLE_SOURCE = "systole_task1"
SYSTOLE_RECORDING = "systole/Task1"
SYSTOLE_RATE = 1000.0
# modality name used by the fusion models -> (Task1 file, modality name in the `multimodal_unlabelled` corpus)
SYSTOLE_MODALITIES: dict[str, tuple[str, str]] = {
    "ecg": ("Task1_ECG.npy", "ECG"),
    "eda": ("Task1_EDA.npy", "EDA"),
    "resp": ("Task1_Respiration.npy", "RESP"),
}
PICTURE_CLASSES: tuple[str, ...] = ("neutral", "disgust")  # Task1_Stim codes 1 and 2
EVENTS_PER_CLASS = 36
BLOCKS_PER_CLASS = 3
# Onsets inside a block are about 10.7 s apart, blocks at least 40 s: a gap above this starts a new block.
BLOCK_GAP_SECONDS = 20.0


@dataclass
class PictureEvents:
    """The labelled event windows of systole's picture task.

    Attributes:
        signals: modality -> `(num_events, 1, window samples)` float32 at `sampling_rate`, in the recording's units.
        sampling_rate: Hz (1000).
        labels: `(num_events,)` int64, indices into `label_names`.
        label_names: ("neutral", "disgust").
        onset_seconds: `(num_events,)` onset of every picture in the session.
        block: `(num_events,)` the block of twelve within its class (0, 1, 2), in time order.
        window_seconds / offset_seconds: the window after every onset.
        source: where the recordings come from.
    """

    signals: dict[str, np.ndarray]
    sampling_rate: float
    labels: np.ndarray
    label_names: tuple[str, ...]
    onset_seconds: np.ndarray
    block: np.ndarray
    window_seconds: float
    offset_seconds: float
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def load_picture_events(
    window_seconds: float = 10.0,
    offset_seconds: float = 0.0,
    modalities: Sequence[str] = tuple(SYSTOLE_MODALITIES),
    archive_cache_dir: str | os.PathLike | None = None,
) -> PictureEvents:
    """Cut the window after every picture onset out of systole's Task1 ECG, EDA and respiration.

    Args:
        window_seconds: window length after `offset_seconds`; at most 10 s (pictures follow each other every ~10.7 s,
            so a longer window would reach into the next picture).
        offset_seconds: start of the window relative to the onset (0 = the picture appears).
        modalities: any of "ecg", "eda", "resp".
        archive_cache_dir: the offline archive cache (default `$CITRUS_HF_CACHE` or `~/.cache/citrus_hf/archives`).

    Raises:
        ArchiveMissingError: systole's archive is not cached (the message says how to fetch it).
        CitrusDataError: the stimulus channel does not hold the 72 onsets in six blocks this module expects.
    """
    unknown = sorted(set(modalities) - set(SYSTOLE_MODALITIES))
    if unknown or not modalities:
        raise ValueError(f"modalities must be some of {sorted(SYSTOLE_MODALITIES)}, got {list(modalities)}.")
    if not 0 < window_seconds <= 10.0 or offset_seconds < 0:
        raise ValueError(
            "window_seconds must lie in (0, 10] and offset_seconds be >= 0: pictures follow each other every ~10.7 s, "
            f"so a longer window reaches into the next picture; got window {window_seconds}, offset {offset_seconds}."
        )
    members = source_members(SYSTOLE_SOURCE, archive_cache_dir)

    def read(filename: str) -> np.ndarray:
        return load_npy(next(path for member, path in members.items() if member.endswith(filename)))

    stimulus = read("Task1_Stim.npy")
    onsets = np.flatnonzero(stimulus)
    codes = stimulus[onsets].astype(np.int64)
    counts = {int(code): int((codes == code).sum()) for code in np.unique(codes)}
    if counts != {1: EVENTS_PER_CLASS, 2: EVENTS_PER_CLASS}:
        raise CitrusDataError(
            f"Task1_Stim.npy should mark {EVENTS_PER_CLASS} neutral (1) and {EVENTS_PER_CLASS} disgust (2) onsets, "
            f"found {counts}; the archive is not the one this loader was written for."
        )
    labels = codes - 1
    onset_seconds = onsets / SYSTOLE_RATE
    block_starts = np.concatenate([[True], np.diff(onset_seconds) > BLOCK_GAP_SECONDS])
    global_block = np.cumsum(block_starts) - 1
    block = np.empty_like(labels)
    for label in range(len(PICTURE_CLASSES)):
        blocks_of_class = np.unique(global_block[labels == label])
        if len(blocks_of_class) != BLOCKS_PER_CLASS:
            raise CitrusDataError(
                f"expected {BLOCKS_PER_CLASS} blocks of {PICTURE_CLASSES[label]} pictures, found {len(blocks_of_class)}."
            )
        for rank, index in enumerate(blocks_of_class):
            block[global_block == index] = rank

    start = onsets + round(offset_seconds * SYSTOLE_RATE)
    length = round(window_seconds * SYSTOLE_RATE)
    signals = {}
    for name in modalities:
        recording = read(SYSTOLE_MODALITIES[name][0])
        if start[-1] + length > len(recording):
            raise ValueError("The last window ends after the recording; use a shorter window or offset.")
        windows = np.stack([recording[s : s + length] for s in start]).astype(np.float32)
        signals[name] = windows[:, None, :]  # (events, 1 channel, samples)
    source = get_source(SYSTOLE_SOURCE)
    return PictureEvents(
        signals=signals,
        sampling_rate=SYSTOLE_RATE,
        labels=labels,
        label_names=PICTURE_CLASSES,
        onset_seconds=onset_seconds,
        block=block,
        window_seconds=window_seconds,
        offset_seconds=offset_seconds,
        source=f"{source.archive.requirement}:Task1_{{ECG,EDA,Respiration,Stim}}.npy",
    )


def block_folds(events: PictureEvents) -> list[tuple[np.ndarray, np.ndarray]]:
    """Three folds; fold k tests on the k-th block of every class (12 + 12 events) and trains on the other blocks.

    Every event is tested exactly once over the folds.
    """
    return [(np.flatnonzero(events.block != k), np.flatnonzero(events.block == k)) for k in range(BLOCKS_PER_CLASS)]


def picture_period_seconds(events: PictureEvents) -> tuple[float, float]:
    """Start and end (s) of the part of the session that holds event windows."""
    return (
        float(events.onset_seconds.min() + events.offset_seconds),
        float(events.onset_seconds.max() + events.offset_seconds + events.window_seconds),
    )


# ------------------------------------------------------------------------------------------------ pre-training data


def modality_corpus(
    modality: str,
    exclude_seconds: tuple[float, float],
    output_dir: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    **dataset_options,
):
    """One modality of the `multimodal_unlabelled` corpus, without the Task1 windows of the picture period.

    Both splits of the corpus are pooled (the picture task, not a validation loss, judges these encoders) and
    written with `save_to_disk` to `output_dir`, which `citrus_hf.training.pretrain` reads as its dataset.

    Args:
        modality: "ecg", "eda" or "resp".
        exclude_seconds: `(start, end)` of the picture period (`picture_period_seconds`): Task1 windows that
            overlap it are dropped, so the encoders never see a test window.
        output_dir: where the filtered corpus is saved.
        cache_dir: the datasets cache.
        **dataset_options: options of `multimodal_unlabelled` (`window_seconds`, `hop_seconds`).

    Returns:
        The filtered `datasets.Dataset` (one single-channel window per row, native sampling rates).
    """
    from datasets import concatenate_datasets

    from ..data import build_dataset

    corpus_name = SYSTOLE_MODALITIES[modality][1]
    built = build_dataset("multimodal_unlabelled", cache_dir=cache_dir, **dataset_options)
    pooled = concatenate_datasets([built[split] for split in built])
    window_seconds = dataset_options.get("window_seconds", 10.0)
    start, end = exclude_seconds

    def keep(row_modality: str, recording: str, row_start: float) -> bool:
        if row_modality != corpus_name:
            return False
        return recording != SYSTOLE_RECORDING or row_start + window_seconds <= start or row_start >= end

    filtered = pooled.filter(
        keep,
        input_columns=["modality", "recording", "start_seconds"],
        desc=f"{corpus_name} windows outside the picture period",
    )
    if len(filtered) == 0:
        raise CitrusDataError(f"multimodal_unlabelled holds no {corpus_name} window to pre-train on.")
    filtered.save_to_disk(str(output_dir))
    return filtered


# ------------------------------------------------------------------------------------------------ the protocol


class FusionWindows(torch.utils.data.Dataset):
    """Aligned windows as rows for `CiTrusFusionDataCollator`: `{"input_values": {modality: (C, T)}, "labels"}`."""

    def __init__(self, input_values: Mapping[str, np.ndarray], labels: np.ndarray, indices: np.ndarray):
        self.input_values = {name: np.asarray(values) for name, values in input_values.items()}
        self.labels = np.asarray(labels)
        self.indices = np.asarray(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> dict[str, Any]:
        index = self.indices[item]
        return {
            "input_values": {name: values[index] for name, values in self.input_values.items()},
            "labels": int(self.labels[index]),
        }


@dataclass
class Condition:
    """One row of the comparison: which modalities, from which encoders, and how they are trained.

    Attributes:
        name: row label.
        modalities: the modalities the model sees.
        pretrained: encoders from the pre-trained checkpoints (else the same architecture, randomly initialised).
        freeze_encoders: train the head only (a linear probe on the fused embedding).
    """

    name: str
    modalities: tuple[str, ...]
    pretrained: bool = True
    freeze_encoders: bool = False


@dataclass
class FusionProtocolResult:
    """Per condition and label budget: the accuracy and AUROC of every seed (over all 72 events, pooled over folds)."""

    scores: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)

    def add(self, condition: str, budget: str, metrics: Mapping[str, float]) -> None:
        runs = self.scores.setdefault(condition, {}).setdefault(budget, {})
        for metric, value in metrics.items():
            runs.setdefault(metric, []).append(float(value))

    def summary(self, condition: str, budget: str, metric: str) -> tuple[float, float]:
        """Mean and standard deviation (ddof=1) over seeds."""
        values = np.asarray(self.scores[condition][budget][metric], dtype=np.float64)
        return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def onset_time_reference(events: PictureEvents, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Scores of a classifier that sees nothing but the onset time: nearest class mean of the training onsets.

    Returns `(len(test), 2)` logits (minus the distance to each class mean): how far session time alone separates
    the classes under the same folds and budgets.
    """
    means = np.array([events.onset_seconds[train][events.labels[train] == c].mean() for c in (0, 1)])
    return -np.abs(events.onset_seconds[test][:, None] - means[None, :])


def run_fusion_protocol(
    events: PictureEvents,
    aligned: Mapping[str, np.ndarray],
    conditions: Sequence[Condition],
    build_model: Callable[[Condition], torch.nn.Module],
    budgets: Sequence[str] = ("4", "8", "all"),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    settings=None,
    progress: bool = True,
) -> FusionProtocolResult:
    """The low-data protocol on the picture task: label budgets x seeds x conditions, with block folds.

    For every seed and budget, each fold draws the budget per class from its training blocks (`draw_budget`, seeded),
    fine-tunes a fresh model of every condition (`train_and_evaluate`, fixed epochs: 48 labelled events leave none
    for validation) and predicts the held-out blocks. Predictions of the three folds are pooled, so every seed scores
    all 72 events once; the table reports mean +- std over seeds. The onset-time reference runs on the same draws.

    Args:
        events: the labelled events.
        aligned: modality -> `(num_events, C, T)` windows aligned to that modality's encoder (the processor's output).
        conditions: the rows of the comparison.
        build_model: a fresh model for a condition (called once per run, after the seed is set).
        budgets: label budgets (`citrus_hf.data.splits.parse_budget`: "4" = 4 per class, "all").
        seeds: one budget draw, initialisation and data order per seed.
        settings: `TrainerSettings` for the fine-tuning runs.
    """
    from tqdm.auto import tqdm
    from transformers import set_seed

    from ..data.splits import draw_budget, parse_budget
    from ..processing_citrus_fusion import CiTrusFusionDataCollator
    from ..training.finetune import TrainerSettings, train_and_evaluate
    from ..training.metrics import classification_metrics

    settings = settings or TrainerSettings(num_train_epochs=30, per_device_batch_size=8, early_stopping_patience=None)
    folds = block_folds(events)
    result = FusionProtocolResult()
    collator = CiTrusFusionDataCollator()
    total = len(seeds) * len(budgets) * len(folds) * len(conditions)
    bar = tqdm(total=total, desc="fine-tuning runs", disable=not progress)
    with tempfile.TemporaryDirectory(prefix="citrus-fusion-protocol-") as scratch:
        for seed in seeds:
            for budget_text in budgets:
                budget = parse_budget(budget_text)
                logits = {c.name: np.zeros((len(events), 2)) for c in conditions}
                logits["onset time only"] = np.zeros((len(events), 2))
                for fold_index, (pool, test) in enumerate(folds):
                    train = pool[draw_budget(events.labels[pool], budget, seed=seed * 100 + fold_index)]
                    logits["onset time only"][test] = onset_time_reference(events, train, test)
                    for condition in conditions:
                        set_seed(seed)
                        model = build_model(condition)
                        inputs = {name: aligned[name] for name in condition.modalities}
                        run = train_and_evaluate(
                            model,
                            FusionWindows(inputs, events.labels, train),
                            None,
                            FusionWindows(inputs, events.labels, test),
                            "classification",
                            Path(scratch) / "run",
                            TrainerSettings(**{**settings.__dict__, "seed": seed, "show_progress": False}),
                            data_collator=collator,
                        )
                        predictions = run["trainer"].predict(FusionWindows(inputs, events.labels, test))
                        logits[condition.name][test] = predictions.predictions
                        bar.update(1)
                for name, scores in logits.items():
                    metrics = classification_metrics(scores, events.labels)
                    result.add(name, budget.label, {"accuracy": metrics["accuracy"], "auroc": metrics["auroc"]})
    bar.close()
    return result


def format_table(result: FusionProtocolResult, metric: str) -> str:
    """A Markdown table: one row per condition, one column per budget, `mean +- std` over seeds (in %)."""
    labels = list(next(iter(result.scores.values())).keys())
    header = f"| {metric} (%) | " + " | ".join(labels) + " |"
    lines = [header, "|" + "|".join("---" for _ in range(len(labels) + 1)) + "|"]
    for condition in result.scores:
        cells = []
        for label in labels:
            mean, std = result.summary(condition, label, metric)
            cells.append("n/a" if math.isnan(mean) else f"{100 * mean:.1f} ± {100 * std:.1f}")
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
