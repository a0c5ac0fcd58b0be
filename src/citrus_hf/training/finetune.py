"""Fine-tuning with the `transformers.Trainer`: classification or regression, from a pre-trained checkpoint or from
scratch, full fine-tuning, linear probe or LoRA, with early stopping on a validation set.

The pieces are public because the low-data protocol (`citrus_hf.evaluation`) reuses them: loading a labelled set
with train / validation / test splits (`load_task_splits`), drawing a label budget (`parse_budget`,
`draw_budget`), aligning every split to the model's input contract once (`align_task_split`), building the task
model (`build_citrus_task_model`) and running the `Trainer` (`train_and_evaluate`).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..configuration_citrus import CiTrusConfig
from ..feature_extraction_citrus import CiTrusFeatureExtractor
from .metrics import compute_metrics_fn, metric_greater_is_better
from .pretrain import build_config, load_split

TASKS = ("classification", "regression")
TASK_ALIGNMENTS = ("resample", "interpolate")


# ------------------------------------------------------------------------------------------------- label budgets


@dataclass(frozen=True)
class LabelBudget:
    """How many labelled training examples a run may use.

    `kind` is "per_class" (`value` examples of every class; for regression, `value` examples in all), "fraction"
    (that share of the training pool, stratified by class) or "all".
    """

    kind: str
    value: float

    @property
    def label(self) -> str:
        """Short name for tables and plots: "5/class", "10%", "all"."""
        if self.kind == "all":
            return "all"
        if self.kind == "per_class":
            return f"{int(self.value)}/class"
        return f"{self.value * 100:g}%"

    def label_for(self, task: str) -> str:
        """`label`, except that a per-class count of a regression set is a count of examples ("5 ex.")."""
        if task == "regression" and self.kind == "per_class":
            return f"{int(self.value)} ex."
        return self.label

    @property
    def sort_key(self) -> tuple[int, float]:
        return {"per_class": 0, "fraction": 1, "all": 2}[self.kind], self.value


def parse_budget(text: str | int | float) -> LabelBudget:
    """Parse a label budget: "5" / "k5" / "5/class" (examples per class), "0.1" / "10%" (a fraction of the
    training pool), "1.0" / "100%" / "all" (everything). An integer is a count, a number with a point a fraction."""
    if isinstance(text, LabelBudget):
        return text
    raw = str(text).strip().lower()
    if raw in ("all", "full", "1.0", "100%"):
        return LabelBudget("all", 1.0)
    match = re.fullmatch(r"(?:k=?)?(\d+)(?:/class|-shot|shot)?", raw)
    if match:
        count = int(match.group(1))
        if count < 1:
            raise ValueError(f"A label budget of {count} examples per class leaves nothing to train on; use 1 or more.")
        return LabelBudget("per_class", float(count))
    try:
        fraction = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(
            f"Cannot read the label budget {text!r}: use an integer for examples per class (e.g. 5), a fraction "
            "(0.1 or 10%), or 'all'."
        ) from None
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"A label budget fraction must lie in (0, 1], got {text!r}.")
    return LabelBudget("all", 1.0) if fraction == 1.0 else LabelBudget("fraction", fraction)


def _class_indices(labels: np.ndarray | None, size: int) -> list[np.ndarray]:
    if labels is None:
        return [np.arange(size)]
    return [np.flatnonzero(labels == c) for c in np.unique(labels)]


def draw_budget(labels: np.ndarray, budget: LabelBudget, seed: int) -> np.ndarray:
    """Indices of the labelled examples a run may train on, drawn from a pool with seed `seed`.

    Args:
        labels: `(n,)` of the pool: class indices (integers) for classification, targets (floats) for regression.
        budget: the label budget. Per class: `value` examples of each class (all of a class when it has fewer).
            Fraction: `round(value * n_class)` (at least 1) of each class. Regression: `value` examples, or that
            fraction (at least 2) of the pool.
        seed: which examples; the same seed always draws the same ones.

    Returns:
        Sorted indices into the pool.
    """
    labels = np.asarray(labels)
    if budget.kind == "all":
        return np.arange(len(labels))
    is_regression = labels.dtype.kind == "f"
    rng = np.random.default_rng(seed)
    chosen = []
    for members in _class_indices(None if is_regression else labels, len(labels)):
        if budget.kind == "per_class":
            count = int(budget.value)
        else:
            count = max(2 if is_regression else 1, int(round(budget.value * len(members))))
        chosen.append(rng.choice(members, size=min(count, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def carve_validation(
    num_examples: int,
    labels: np.ndarray | None = None,
    groups: list[str] | None = None,
    fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split a training set into (pool, validation), stratified by class and grouped by recording.

    For every class, whole recordings go to validation (in a seeded random order) until it holds at least `fraction`
    of the class's examples; at least one recording of the class stays in the pool. Grouping keeps overlapping
    windows of one recording on one side. Without `labels` (regression) all examples form one class; without
    `groups` every example is its own recording.

    Returns:
        (pool indices, validation indices), both sorted.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_fraction must lie strictly between 0 and 1, got {fraction}.")
    groups = np.asarray(groups if groups is not None else np.arange(num_examples).astype(str))
    rng = np.random.default_rng(seed)
    validation = []
    for members in _class_indices(None if labels is None else np.asarray(labels), num_examples):
        names = np.unique(groups[members])
        rng.shuffle(names)
        taken = 0
        for name in names[:-1]:  # the last recording always stays in the pool
            if taken >= fraction * len(members):
                break
            in_group = members[groups[members] == name]
            validation.append(in_group)
            taken += len(in_group)
    validation = np.sort(np.concatenate(validation)) if validation else np.zeros(0, dtype=np.int64)
    return np.setdiff1d(np.arange(num_examples), validation), validation


# ---------------------------------------------------------------------------------------------------- datasets


def infer_task(dataset) -> str:
    """ "classification" when the dataset has a `label` column, "regression" when it has `target`."""
    if "label" in dataset.column_names:
        return "classification"
    if "target" in dataset.column_names:
        return "regression"
    raise ValueError(
        f"The dataset has neither a `label` (classification) nor a `target` (regression) column (columns: "
        f"{dataset.column_names}); fine-tuning needs one of them."
    )


def label_names_of(dataset) -> list[str] | None:
    """Class names of a classification dataset (from its `ClassLabel`), or None."""
    feature = dataset.features.get("label")
    names = getattr(feature, "names", None)
    if names:
        return list(names)
    if feature is not None:
        return [str(c) for c in range(int(max(dataset["label"])) + 1)]
    return None


@dataclass
class TaskSplits:
    """A labelled set ready for fine-tuning: train pool, validation and test splits (`datasets.Dataset`s), the task,
    class names (classification) and channel count."""

    train: Any
    validation: Any
    test: Any
    task: str
    label_names: list[str] | None
    num_channels: int
    validation_source: str

    def labels(self, split: str = "train") -> np.ndarray:
        dataset = getattr(self, split)
        column = "label" if self.task == "classification" else "target"
        # `dataset[column]`, not `dataset.data`: a selection keeps the full table and an indices mapping.
        values = dataset[column]
        return np.asarray(values, dtype=np.int64 if self.task == "classification" else np.float32)


def load_task_splits(
    dataset: str | os.PathLike,
    dataset_options: dict | None = None,
    train_split: str = "train",
    validation_split: str = "validation",
    test_split: str = "test",
    validation_fraction: float = 0.2,
    validation_seed: int = 0,
) -> TaskSplits:
    """Load a labelled set; when it has no validation split, carve one out of train (`carve_validation`).

    The carve uses `validation_seed`, not the run's seed, so every run of a protocol sees the same validation set
    and label budgets are drawn from the same pool.
    """
    train = load_split(dataset, train_split, dataset_options)
    if train is None:
        raise ValueError(f"Dataset {dataset!r} has no split {train_split!r}.")
    test = load_split(dataset, test_split, dataset_options)
    if test is None:
        raise ValueError(
            f"Dataset {dataset!r} has no split {test_split!r}; the test metrics need a held-out split (name it with "
            "--test-split)."
        )
    task = infer_task(train)
    validation = load_split(dataset, validation_split, dataset_options) if validation_split else None
    source = validation_split
    if validation is None:
        labels = np.asarray(train["label"]) if task == "classification" else None
        groups = train["recording"] if "recording" in train.column_names else None
        pool, held_out = carve_validation(len(train), labels, groups, validation_fraction, validation_seed)
        if len(held_out) == 0:
            raise ValueError(
                f"Dataset {dataset!r} has no {validation_split!r} split and too few recordings per class to carve "
                "one; give a validation split or use more data."
            )
        validation, train = train.select(held_out), train.select(pool)
        source = (
            f"carved from {train_split} ({validation_fraction:.0%} per class, by recording, seed {validation_seed})"
        )
    first = np.asarray(train[0]["input_values"])
    return TaskSplits(
        train=train,
        validation=validation,
        test=test,
        task=task,
        label_names=label_names_of(train) if task == "classification" else None,
        num_channels=1 if first.ndim == 1 else first.shape[0],
        validation_source=source,
    )


def task_feature_extractor(config: CiTrusConfig, alignment: str = "resample") -> CiTrusFeatureExtractor:
    """The feature extractor that aligns a labelled set to `config`'s input contract (rate, window, channels,
    normalisation; see `input_overrides`). `alignment` is "resample" (keep the time scale: resample to the model's
    rate, crop or pad to its window) or "interpolate" (stretch every recording onto the window, for short ones)."""
    if alignment not in TASK_ALIGNMENTS:
        raise ValueError(f"alignment must be one of {TASK_ALIGNMENTS} for labelled sets, got {alignment!r}.")
    return CiTrusFeatureExtractor.from_config(config, alignment=alignment)


TASK_NORMALIZATIONS = ("window", "dataset")


def channel_statistics(dataset) -> tuple[list[float], list[float]]:
    """Mean and standard deviation of every channel over all samples of a split (at its native rate).

    Uses the signals only, never the labels, so statistics of a whole training pool are fair to use in a low-label
    run: unlabelled recordings are what a low-data setting does have.
    """
    count, total, total_squares = 0, None, None
    for values in dataset.with_format("numpy", columns=["input_values"])["input_values"]:
        signal = np.asarray(values, dtype=np.float64)
        signal = signal[None] if signal.ndim == 1 else signal
        if total is None:
            total, total_squares = np.zeros(signal.shape[0]), np.zeros(signal.shape[0])
        total += signal.sum(axis=1)
        total_squares += (signal**2).sum(axis=1)
        count += signal.shape[1]
    if not count:
        raise ValueError("Cannot compute channel statistics of an empty split.")
    mean = total / count
    std = np.sqrt(np.maximum(total_squares / count - mean**2, 0.0))
    if np.any(std == 0):
        raise ValueError(
            f"Channel(s) {np.flatnonzero(std == 0).tolist()} are constant over the whole split, so dataset "
            "normalisation would divide by zero; drop them or use normalization='window'."
        )
    return mean.tolist(), std.tolist()


def input_overrides(normalization: str, num_channels: int, train=None) -> dict[str, Any]:
    """Config fields that set how a labelled set is normalised (they become part of the fine-tuned checkpoint).

    "window": z-score every window and channel, as in CiTrus pre-training (amplitude-free: good for rhythm, such as
    heart rate). "dataset": one fixed mean / std per channel from the training split (`channel_statistics`), which
    keeps the channels' relative amplitudes: for multi-channel sets where the pattern across channels is the signal
    (EMG gestures, IMU activities) per-window z-scoring erases it.
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
    mean, std = channel_statistics(train)
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


def align_task_split(dataset, extractor: CiTrusFeatureExtractor, task: str):
    """Align a labelled split to the model input once (a cached `Dataset.map`).

    Returns a `datasets.Dataset` with `input_values` `(channels, context_length)` float32, `patch_mask`
    `(num_patches,)` and `labels` (int64 class or float32 target), formatted as torch tensors.
    """
    from datasets import Array2D, Features, List, Value

    label_column = "label" if task == "classification" else "target"
    if label_column not in dataset.column_names:
        raise ValueError(f"A {task} set needs a `{label_column}` column; got {dataset.column_names}.")
    features = Features(
        {
            "input_values": Array2D(shape=(extractor.num_channels, extractor.context_length), dtype="float32"),
            "patch_mask": List(Value("int8"), length=extractor.num_patches),
            "labels": Value("int64" if task == "classification" else "float32"),
        }
    )

    def align(batch):
        recordings = [np.asarray(values, dtype=np.float32) for values in batch["input_values"]]
        aligned = extractor(recordings, sampling_rate=[float(r) for r in batch["sampling_rate"]], return_tensors="np")
        return {
            "input_values": aligned["input_values"],
            "patch_mask": aligned["patch_mask"].astype(np.int8),
            "labels": np.asarray(batch[label_column]),
        }

    aligned = dataset.with_format("numpy", columns=["input_values", "sampling_rate", label_column]).map(
        align,
        batched=True,
        batch_size=64,
        remove_columns=dataset.column_names,
        features=features,
        desc=f"Aligning to {extractor.sampling_rate:g} Hz x {extractor.context_length} samples ({extractor.alignment})",
    )
    return aligned.with_format("torch")


# ------------------------------------------------------------------------------------------------------- models


def build_citrus_task_model(
    task: str,
    num_channels: int,
    label_names: list[str] | None = None,
    checkpoint: str | os.PathLike | None = None,
    config: CiTrusConfig | None = None,
    linear_probe: bool = False,
    overrides: dict[str, Any] | None = None,
):
    """A `CiTrusForSequenceClassification` / `CiTrusForRegression` for `num_channels`-channel input.

    From `checkpoint` (a pre-training or task checkpoint: the backbone is loaded strictly, the head is new) or, when
    it is None, freshly initialised from `config` (the same input contract, from scratch). `overrides` replace
    config fields of the input contract (normalisation, see `input_overrides`). `linear_probe` freezes the backbone
    so only the head trains.
    """
    from .. import CiTrusForRegression, CiTrusForSequenceClassification

    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
    overrides = {**(overrides or {}), "num_channels": num_channels, "channel_names": None, "channel_modalities": None}
    if task == "classification":
        if not label_names:
            raise ValueError("A classification model needs the class names (label_names).")
        overrides.update(
            id2label=dict(enumerate(label_names)),
            label2id={name: index for index, name in enumerate(label_names)},
            problem_type="single_label_classification",
        )
        model_class = CiTrusForSequenceClassification
    else:
        overrides.update(num_targets=1, problem_type="regression")
        model_class = CiTrusForRegression
    if checkpoint is not None:
        model = model_class.from_pretrained(str(checkpoint), **overrides)
    else:
        if config is None:
            raise ValueError("Give a pre-trained `checkpoint` or a `config` to train from scratch.")
        model = model_class(with_input_overrides(config, overrides))
    if linear_probe:
        model.freeze_backbone()
    return model


def init_regression_bias(head: torch.nn.Linear, targets: np.ndarray) -> None:
    """Start a regression head at the training targets' mean: heart rates sit near 70 bpm, and a head that starts at 0
    would spend most of a short fine-tuning run learning the offset."""
    with torch.no_grad():
        head.bias.fill_(float(np.mean(targets)))


# ------------------------------------------------------------------------------------------------------ Trainer


@dataclass
class TrainerSettings:
    """The `Trainer` side of a fine-tuning run (shared by `finetune` and the evaluation protocol).

    `max_steps > 0` trains for that many optimizer steps and evaluates every `eval_steps`; otherwise it trains for
    `num_train_epochs` and evaluates every epoch. Early stopping stops after `early_stopping_patience` evaluations
    without improvement of `metric_for_best_model` and restores the best checkpoint.
    """

    num_train_epochs: float = 50.0
    max_steps: int = -1
    eval_steps: int = 10
    per_device_batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: float = 0.1
    lr_scheduler_type: str = "cosine"
    early_stopping_patience: int | None = 5
    metric_for_best_model: str = "loss"
    seed: int = 0
    report_to: str = "none"
    show_progress: bool = True
    logging_steps: int = 10


def train_and_evaluate(
    model,
    train,
    validation,
    test,
    task: str,
    output_dir: str | os.PathLike,
    settings: TrainerSettings,
    data_collator=None,
    label_names: list[str] | None = None,
) -> dict[str, Any]:
    """Fine-tune `model` with the `Trainer` on `train`, early-stopping on `validation`, then score `test`.

    Args:
        model: a model whose forward takes the collated batch and returns `loss` first.
        train / validation / test: aligned datasets (`align_task_split`).
        task: "classification" or "regression" (chooses the metrics).
        output_dir: the Trainer's checkpoints (only the best is kept).
        settings: see `TrainerSettings`.
        data_collator / label_names: for models with other input names (the PatchTST baselines).

    Returns:
        {"test": metrics, "validation": best validation metrics, "history": every evaluation, "best_step",
        "trainer": the Trainer (its model is the best one)}.
    """
    from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, default_data_collator
    from transformers.trainer_callback import PrinterCallback

    from .callbacks import EvaluationHistoryCallback, NonFiniteLossCallback

    by_steps = settings.max_steps > 0
    metric = settings.metric_for_best_model
    use_validation = validation is not None and len(validation) > 0
    strategy = ("steps" if by_steps else "epoch") if use_validation else "no"
    arguments = TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=settings.num_train_epochs,
        max_steps=settings.max_steps,
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=settings.eval_steps if by_steps else None,
        save_steps=settings.eval_steps if by_steps else None,
        load_best_model_at_end=use_validation,
        metric_for_best_model=metric if use_validation else None,
        greater_is_better=metric_greater_is_better(metric),
        save_total_limit=1,
        save_only_model=True,
        per_device_train_batch_size=settings.per_device_batch_size,
        per_device_eval_batch_size=max(64, settings.per_device_batch_size),
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        warmup_steps=settings.warmup_steps,
        lr_scheduler_type=settings.lr_scheduler_type,
        optim="adamw_torch",
        seed=settings.seed,
        data_seed=settings.seed,
        use_cpu=not torch.cuda.is_available(),
        report_to=settings.report_to,
        logging_strategy="steps",
        logging_steps=settings.logging_steps,
        disable_tqdm=not settings.show_progress,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        label_names=label_names or ["labels"],
    )
    history = EvaluationHistoryCallback()
    callbacks = [history, NonFiniteLossCallback()]
    if use_validation and settings.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience))
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=train,
        eval_dataset=validation if use_validation else None,
        data_collator=data_collator or default_data_collator,
        compute_metrics=compute_metrics_fn(task),
        callbacks=callbacks,
    )
    if not settings.show_progress:
        # Without a progress bar the Trainer prints every log dict instead; a protocol of hundreds of runs has its own.
        trainer.remove_callback(PrinterCallback)
    trainer.train()
    # The final evaluations are reports, not training decisions (the early stopper would look for eval_loss in them).
    trainer.remove_callback(EarlyStoppingCallback)
    validation_metrics = trainer.evaluate(validation) if use_validation else {}
    test_metrics = trainer.evaluate(test, metric_key_prefix="test")

    def strip(metrics: dict, prefix: str) -> dict[str, float]:
        return {
            k[len(prefix) :]: float(v)
            for k, v in metrics.items()
            if k.startswith(prefix) and "runtime" not in k and "per_second" not in k
        }

    return {
        "test": strip(test_metrics, "test_"),
        "validation": strip(validation_metrics, "eval_"),
        "history": history.history,
        "best_step": trainer.state.best_global_step,
        "steps": trainer.state.global_step,
        "trainer": trainer,
    }


# -------------------------------------------------------------------------------------------------- finetune()


@dataclass
class FinetuneArguments:
    """Settings of `finetune` (the `citrus finetune` command line maps onto these).

    Attributes:
        output_dir: the fine-tuned model, its feature extractor and `finetune_results.json`.
        dataset / dataset_options: a registered labelled set (e.g. "basic_motions") or a `save_to_disk` folder.
        model: a pre-trained checkpoint folder; None trains from scratch with `model_config` + `config_overrides`
            (whose `sampling_rate` / `context_length` set the input contract).
        train_split / validation_split / test_split, validation_fraction: see `load_task_splits`.
        label_budget: train on a subset ("5" per class, "0.1", "all"); drawn with `seed`.
        alignment: "resample" or "interpolate" (see `task_feature_extractor`).
        normalization: "window" (per-window z-score, as pre-training) or "dataset" (per-channel statistics of the
            training split; see `input_overrides`).
        linear_probe: freeze the backbone, train the head only.
        lora / lora_r / lora_alpha: LoRA adapters (`citrus_hf.training.lora.apply_lora`) on the pre-trained `model`
            instead of full fine-tuning; saved with `save_adapter` (reload with `load_adapter(model, output_dir)`).
        trainer: `TrainerSettings` (epochs or steps, learning rate, early stopping, seed).
    """

    output_dir: str
    dataset: str
    dataset_options: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    model_config: str = "small"
    config_overrides: dict[str, Any] = field(default_factory=dict)
    train_split: str = "train"
    validation_split: str = "validation"
    test_split: str = "test"
    validation_fraction: float = 0.2
    label_budget: str = "all"
    alignment: str = "resample"
    normalization: str = "window"
    linear_probe: bool = False
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    trainer: TrainerSettings = field(default_factory=TrainerSettings)

    def __post_init__(self):
        if self.linear_probe and self.lora:
            raise ValueError("Choose one of --linear-probe (frozen backbone) and --lora (adapters), not both.")
        if self.lora and self.model is None:
            raise ValueError(
                "LoRA adapts a pre-trained model, and the adapter is saved without the base weights: give the "
                "pre-trained checkpoint with --model (or fine-tune from scratch without --lora)."
            )
        if self.alignment not in TASK_ALIGNMENTS:
            raise ValueError(f"alignment must be one of {TASK_ALIGNMENTS}, got {self.alignment!r}.")
        if self.normalization not in TASK_NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {TASK_NORMALIZATIONS}, got {self.normalization!r}.")
        parse_budget(self.label_budget)


@dataclass
class FinetuneResult:
    """Test and best-validation metrics of a fine-tuning run, with its evaluation history."""

    output_dir: str
    task: str
    test_metrics: dict[str, float]
    validation_metrics: dict[str, float]
    num_train: int
    num_validation: int
    num_test: int
    best_step: int | None
    steps: int
    history: list[dict[str, Any]]
    seconds: float


def finetune(args: FinetuneArguments) -> FinetuneResult:
    """Fine-tune CiTrus on a labelled set (see `FinetuneArguments`); saves the best model and its feature extractor
    to `args.output_dir` and returns the test metrics."""
    from transformers import set_seed

    start = time.perf_counter()
    splits = load_task_splits(
        args.dataset,
        args.dataset_options,
        args.train_split,
        args.validation_split,
        args.test_split,
        args.validation_fraction,
    )
    if args.model is not None:
        contract = build_config(args.model)
    else:
        contract = build_config(args.model_config, **args.config_overrides)
    overrides = input_overrides(args.normalization, splits.num_channels, splits.train)
    extractor = task_feature_extractor(with_input_overrides(contract, overrides), args.alignment)
    budget = parse_budget(args.label_budget)
    pool_labels = splits.labels("train")
    chosen = draw_budget(pool_labels, budget, args.trainer.seed)
    train = align_task_split(splits.train.select(chosen), extractor, splits.task)
    validation = align_task_split(splits.validation, extractor, splits.task)
    test = align_task_split(splits.test, extractor, splits.task)

    set_seed(args.trainer.seed)
    model = build_citrus_task_model(
        splits.task,
        splits.num_channels,
        splits.label_names,
        checkpoint=args.model,
        config=contract,
        linear_probe=args.linear_probe,
        overrides=overrides,
    )
    if splits.task == "regression":
        init_regression_bias(model.regressor, pool_labels[chosen])
    if args.lora:
        from .lora import apply_lora

        model = apply_lora(model, r=args.lora_r, alpha=args.lora_alpha)

    output_dir = Path(args.output_dir)
    outcome = train_and_evaluate(model, train, validation, test, splits.task, output_dir / "trainer", args.trainer)
    final_model = outcome["trainer"].model
    if args.lora:
        from .lora import save_adapter

        # The adapter and the task head only; `load_adapter(args.model, output_dir)` puts them back on the base.
        save_adapter(final_model, output_dir, extractor)
    else:
        final_model.save_pretrained(str(output_dir))
        extractor.save_pretrained(str(output_dir))
    result = FinetuneResult(
        output_dir=str(output_dir),
        task=splits.task,
        test_metrics=outcome["test"],
        validation_metrics=outcome["validation"],
        num_train=len(train),
        num_validation=len(validation),
        num_test=len(test),
        best_step=outcome["best_step"],
        steps=outcome["steps"],
        history=outcome["history"],
        seconds=time.perf_counter() - start,
    )
    summary = asdict(result) | {"arguments": asdict(args), "validation_source": splits.validation_source}
    (output_dir / "finetune_results.json").write_text(json.dumps(summary, indent=2, default=_json_default))
    return result


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"Cannot serialise {type(value).__name__}")


__all__ = [
    "FinetuneArguments",
    "FinetuneResult",
    "LabelBudget",
    "TaskSplits",
    "TrainerSettings",
    "align_task_split",
    "build_citrus_task_model",
    "carve_validation",
    "channel_statistics",
    "draw_budget",
    "finetune",
    "infer_task",
    "init_regression_bias",
    "input_overrides",
    "load_task_splits",
    "parse_budget",
    "task_feature_extractor",
    "train_and_evaluate",
    "with_input_overrides",
]
