"""The settings of fine-tuning: `TrainerSettings` (the `Trainer` side, shared by `finetune`, the evaluation protocol
and their commands) and `FinetuneArguments` (everything `citrus finetune` parses).

This module imports neither torch nor transformers: `citrus finetune --help` builds its parser from these dataclasses
and answers in about a second. Checks that need the heavy modules import them in `__post_init__`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ..data.splits import VALIDATION_FRACTION, parse_budget
from .recipes import AUTO_PROBE_FINETUNE_FROM_PER_CLASS, RECIPE_NAMES

# Where training logs go: one vocabulary for `citrus pretrain`, `citrus finetune` and `citrus evaluate`.
ReportTo = Literal["none", "tensorboard"]
REPORT_TO: tuple[str, ...] = get_args(ReportTo)


def check_report_to(value: str) -> None:
    """Refuse a `report_to` outside `REPORT_TO`, naming the choices."""
    if value not in REPORT_TO:
        raise ValueError(f"`report_to` must be one of {', '.join(REPORT_TO)}, got {value!r}.")


@dataclass
class TrainerSettings:
    """The `Trainer` side of a fine-tuning run (shared by `finetune`, the evaluation protocol and their commands).

    `max_steps > 0` trains for that many optimizer steps and evaluates every `eval_steps`; otherwise it trains for
    `num_train_epochs` and evaluates every epoch. Early stopping stops after `early_stopping_patience` evaluations
    without improvement of `metric_for_best_model` and restores the best checkpoint.
    """

    num_train_epochs: float = field(default=50.0, metadata={"help": "training epochs (when max_steps <= 0)"})
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps; > 0 overrides num_train_epochs"})
    eval_steps: int = field(default=10, metadata={"help": "evaluate every N steps (with max_steps > 0)"})
    per_device_batch_size: int = field(default=16, metadata={"help": "training examples per device and step"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    warmup_steps: float = field(default=0.1, metadata={"help": "warm-up steps, or a fraction < 1 of all steps"})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "transformers learning-rate schedule"})
    early_stopping_patience: int | None = field(
        default=5, metadata={"help": "stop after N evaluations without improvement (0: never stop early)"}
    )
    metric_for_best_model: str = field(
        default="loss", metadata={"help": "validation metric for early stopping and the best model, e.g. auroc, mae"}
    )
    seed: int = field(default=0, metadata={"help": "seeds the initialisation, the data order and the label draw"})
    report_to: ReportTo = field(default="none", metadata={"help": "where to log metrics"})
    show_progress: bool = field(default=True, metadata={"help": "progress bars"})
    logging_steps: int = field(default=10, metadata={"help": "log the training loss every N steps"})

    def __post_init__(self):
        check_report_to(self.report_to)


@dataclass
class FinetuneArguments:
    """Settings of `finetune`; `citrus finetune` parses exactly these (each field's help is in its metadata), the
    `trainer` ones included. Without `model`, the model trains from scratch with `model_config` + `config_overrides`,
    whose `sampling_rate` / `context_length` set the input contract."""

    output_dir: str = field(
        metadata={"help": "where the fine-tuned model, its feature extractor and finetune_results.json go"}
    )
    dataset: str = field(metadata={"help": "registered labelled set (`citrus data list`) or a save_to_disk folder"})
    dataset_options: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "builder options of a registered dataset, e.g. window_seconds=5"}
    )
    sampling_rate: float | None = field(
        default=None, metadata={"help": "rate (Hz) of every row when a save_to_disk set has no sampling_rate column"}
    )
    model: str | None = field(
        default=None,
        metadata={
            "help": "pre-trained checkpoint: a bundled name (citrus-small, shipped with the package), a folder or a "
            "Hub id; without it the model trains from scratch"
        },
    )
    model_config: str = field(
        default="small", metadata={"help": "from scratch: preset (tiny, small, base), config.json or folder"}
    )
    config_overrides: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "from scratch: config fields, e.g. d_model=32 sampling_rate=50"}
    )
    train_split: str = field(default="train", metadata={"help": "split to draw the labelled examples from"})
    validation_split: str = field(
        default="validation", metadata={"help": "split for early stopping; carved from train when missing"}
    )
    test_split: str = field(default="test", metadata={"help": "held-out split for the test metrics"})
    validation_fraction: float = field(
        default=VALIDATION_FRACTION,
        metadata={"help": "share of train carved out as validation (per class, by recording)"},
    )
    label_budget: str = field(
        default="all", metadata={"help": "labelled examples to train on: 5 (per class), 0.1 or 10%% (fraction), all"}
    )
    alignment: Literal["auto", "resample", "interpolate"] = field(
        default="auto",
        metadata={
            "help": "resample: keep the time scale; interpolate: stretch each recording onto the window; auto: "
            "resample, but stretch recordings that resampling would crop although they hold no more samples than the "
            "window (slow series)"
        },
    )
    normalization: Literal["dataset", "window"] = field(
        default="dataset",
        metadata={
            "help": "dataset: per-channel statistics of the training pool (keeps amplitudes across windows and "
            "channels); window: z-score every window, as pre-training"
        },
    )
    recipe: Literal[RECIPE_NAMES] = field(
        default="auto",
        metadata={
            "help": "probe: frozen encoder + ridge read-out of every layer; finetune: the whole model with the "
            "Trainer; probe-finetune: the probe's read-out, then the whole model from it; auto: the probe below "
            f"{AUTO_PROBE_FINETUNE_FROM_PER_CLASS} labels per class, probe-finetune from there; the probe for regression"
        },
    )
    lora: bool = field(default=False, metadata={"help": "LoRA adapters on the pre-trained model (finetune recipe)"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling (alpha / r)"})
    trainer: TrainerSettings = field(default_factory=TrainerSettings, metadata={"help": "fine-tuning (Trainer)"})

    def __post_init__(self):
        if self.recipe not in RECIPE_NAMES:
            raise ValueError(f"recipe must be one of {RECIPE_NAMES}, got {self.recipe!r}.")
        if self.lora and self.recipe == "probe":
            raise ValueError(
                "LoRA adapts the encoder while it trains; the probe keeps it frozen. Use --recipe finetune."
            )
        # Imported here: parsing the options (and `citrus finetune --help`) must not import torch.
        from ..data.alignment import TASK_ALIGNMENTS, TASK_NORMALIZATIONS
        from ..loading import check_model_reference

        if self.model is not None:
            check_model_reference(self.model, "--model")
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
