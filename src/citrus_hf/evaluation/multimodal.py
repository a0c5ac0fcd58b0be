"""A real multimodal task for the fusion models, and the low-data protocol that compares fusion with each modality.

The task (its events are loaded by `citrus_hf.data.sources.systole`, which also registers it as the labelled set
`systole_affect`): systole's "Task1" recording (systole==0.3.1 sdist; Legrand et al. 2020): ECG, EDA and respiration of one
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

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._logs import progress_bar
from ..data.errors import CitrusDataError
from ..data.sources.systole import (  # noqa: F401  (the task's events are the data layer's; re-exported here)
    BLOCKS_PER_CLASS,
    PICTURE_CLASSES,
    SYSTOLE_MODALITIES,
    TASK1_RECORDING,
    PictureEvents,
    load_picture_events,
)
from ..training.rng import caller_random_state_kept
from ..vocabulary_citrus import CLASSIFICATION, UnknownNameError, as_bool
from .report import METRIC_NAMES, SPREAD, format_mean_std, mean_std


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

    if modality not in SYSTOLE_MODALITIES:
        raise ValueError(f"`modality` must be one of {', '.join(map(repr, SYSTOLE_MODALITIES))}, got {modality!r}.")
    corpus_name = SYSTOLE_MODALITIES[modality][1]
    built = build_dataset("multimodal_unlabelled", cache_dir=cache_dir, **dataset_options)
    pooled = concatenate_datasets([built[split] for split in built])
    window_seconds = dataset_options.get("window_seconds", 10.0)
    start, end = exclude_seconds

    def keep(row_modality: str, recording: str, row_start: float) -> bool:
        if row_modality != corpus_name:
            return False
        return recording != TASK1_RECORDING or row_start + window_seconds <= start or row_start >= end

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

    def __post_init__(self) -> None:
        # "no" is truthy: read as True, a row meant as "from scratch" or "fine-tuned" would silently be the other
        self.pretrained = as_bool("pretrained", self.pretrained)
        self.freeze_encoders = as_bool("freeze_encoders", self.freeze_encoders)


@dataclass
class FusionProtocolResult:
    """Per condition and label budget: the accuracy and AUROC of every seed (over all 72 events, pooled over folds)."""

    scores: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)

    def add(self, condition: str, budget: str, metrics: Mapping[str, float]) -> None:
        runs = self.scores.setdefault(condition, {}).setdefault(budget, {})
        for metric, value in metrics.items():
            runs.setdefault(metric, []).append(float(value))

    def summary(self, condition: str, budget: str, metric: str) -> tuple[float, float]:
        """Mean and standard deviation (ddof=1) over the seeds whose metric has a value (`report.mean_std`: an AUROC
        that one seed could not compute leaves that seed out, not the cell)."""
        runs = self.scores.get(condition, {}).get(budget, {})
        if metric not in runs:
            recorded = sorted({m for budgets in self.scores.values() for b in budgets.values() for m in b})
            raise UnknownNameError(
                f"No {metric!r} recorded for condition {condition!r} at budget {budget!r}; the result holds "
                f"{recorded or 'no run yet'}."
            )
        return mean_std(runs[metric])


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
    from transformers import set_seed

    from ..data.splits import draw_budget, parse_budget
    from ..processing_citrus_fusion import CiTrusFusionDataCollator
    from ..training.arguments import TrainerSettings
    from ..training.metrics import classification_metrics
    from ..training.trainer import train_and_evaluate

    progress = as_bool("progress", progress)
    used = sorted({m for condition in conditions for m in condition.modalities})
    missing = [name for name in used if name not in aligned]
    if missing:
        raise ValueError(
            f"The conditions use modalities {missing} that `aligned` does not hold (it has {sorted(aligned)}); align "
            "every modality the conditions name."
        )
    # checked here, not by the DataLoader of the first run (an IndexError from deep inside the Trainer)
    wrong = {
        name: tuple(np.shape(aligned[name]))
        for name in used
        if np.ndim(aligned[name]) != 3 or np.shape(aligned[name])[0] != len(events)
    }
    if wrong:
        described = ", ".join(f"aligned[{name!r}] has shape {shape}" for name, shape in wrong.items())
        raise ValueError(
            f"{described}, but `aligned` needs one window per event: (num_events={len(events)}, channels, time) for "
            "every modality. Align every event with the processor (processor(events.signals, "
            "sampling_rate=events.sampling_rate)['input_values'])."
        )
    settings = settings or TrainerSettings(num_train_epochs=30, per_device_batch_size=8, early_stopping_patience=None)
    folds = block_folds(events)
    result = FusionProtocolResult()
    collator = CiTrusFusionDataCollator()
    total = len(seeds) * len(budgets) * len(folds) * len(conditions)
    # closed on an error too (as `run_protocol`'s bar): left drawn, the error's line continued the bar's, and the
    # bar's hook printing Python warnings below it stayed in place while the traceback was kept
    with (
        progress_bar(progress, total=total, desc="fine-tuning runs") as bar,
        tempfile.TemporaryDirectory(prefix="citrus-fusion-protocol-") as scratch,
        caller_random_state_kept(),
    ):
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
                            CLASSIFICATION,
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
    return result


def format_table(result: FusionProtocolResult, metric: str) -> str:
    """A Markdown table: one row per condition, one column per budget, `mean ± std` over seeds (in %) as the
    protocol's tables show them (`report.format_mean_std`), its header naming the metric and the spread as the
    single-modality report does (`report.METRIC_NAMES`, `report.SPREAD`)."""
    if not result.scores:
        raise ValueError("The result holds no run yet: run `run_fusion_protocol` (or `result.add`) first.")
    labels = list(next(iter(result.scores.values())).keys())
    # the spread named as the single-modality report names it: ddof 0 or 1 differ by a fifth at a handful of seeds
    header = f"| {METRIC_NAMES.get(metric, metric)}, mean ± {SPREAD} over seeds | " + " | ".join(labels) + " |"
    lines = [header, "|" + "|".join("---" for _ in range(len(labels) + 1)) + "|"]
    for condition in result.scores:
        cells = []
        for label in labels:
            cells.append(format_mean_std(*result.summary(condition, label, metric), metric))
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
