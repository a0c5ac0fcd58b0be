"""The settings of training: `FinetuneArguments` (everything `citrus finetune` parses, with the `Trainer` side in
its `TrainerSettings`) and `PretrainArguments` (everything `citrus pretrain` parses, with the named recipes
`PRETRAIN_RECIPES`). `TrainerSettings` and the value checks the settings share live in `training.settings`, below the
recipes and the `trainer` that read them; they are imported here too, where they were first defined.

This module imports neither torch nor transformers: `citrus finetune --help` and `citrus pretrain --help` build their
parsers from these dataclasses and answer in about a second. Checks that need the heavy modules import them in
`__post_init__`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .._extras import require
from ..data.registry import DatasetSpec, dataset_name
from ..data.splits import VALIDATION_FRACTION, parse_budget
from ..data.synthetic import DEFAULT_GENERATOR_WEIGHTS, active_generators, generators_from_spec
from ..vocabulary_citrus import (
    DEFAULT_TASK_ALIGNMENT,
    NAN_POLICIES,
    PRETRAINING_OBJECTIVES,
    TASK_ALIGNMENTS,
    TASK_NORMALIZATIONS,
)
from .recipes import AUTO_PROBE_FINETUNE_FROM_PER_CLASS, CLASS_WEIGHTS, check_recipe_name, recipe_names
from .settings import (  # MAX_SEED and REPORT_TO: importable from here, where they were first defined
    FULL_DETERMINISM_HELP,
    MAX_SEED,  # noqa: F401
    MIXED_PRECISION_HELP,
    MIXED_PRECISIONS,  # noqa: F401
    REPORT_TO,  # noqa: F401
    MixedPrecision,
    ReportTo,
    TrainerSettings,
    check_fraction,
    check_integer,  # noqa: F401
    check_learning_rate,
    check_mixed_precision,
    check_non_negative,
    check_positive,
    check_report_to,
    check_seed,
    check_switches,
    plain_numbers,
)

# What the schedules that need settings (`--lr-scheduler-kwargs`) take, for the error that names them.
LR_SCHEDULER_KWARGS_EXAMPLES = {
    "warmup_stable_decay": "num_decay_steps=N (the last N steps decay; optionally num_stable_steps, min_lr_ratio)",
    "cosine_with_min_lr": "min_lr_rate=R (the floor as a share of the peak) or min_lr=LR",
    "cosine_warmup_with_min_lr": "min_lr_rate=R (the floor as a share of the peak) or min_lr=LR",
}


def check_lr_scheduler(settings: TrainerSettings) -> None:
    """Refuse a learning-rate schedule transformers does not have, or cannot build with `settings.lr_scheduler_kwargs`
    (`warmup_stable_decay` without num_decay_steps, a min-lr cosine without its floor, a setting the schedule does not
    take), before any data is loaded: the `Trainer` would only find out at the first step, with a deep TypeError.
    The schedule is built as the `Trainer` builds it (`transformers.get_scheduler`), on a throw-away optimizer.
    Imports torch (through transformers)."""
    import torch
    from transformers import SchedulerType, get_scheduler

    value = settings.lr_scheduler_type
    names = [schedule.value for schedule in SchedulerType]
    if value not in names:
        raise ValueError(f"--lr-scheduler-type must be one of {', '.join(names)}, got {value!r}.")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    try:
        # a run of the recipes' shortest length (60 steps), warm-up included, as the Trainer passes them
        get_scheduler(
            value,
            optimizer,
            num_warmup_steps=6,
            num_training_steps=60,
            scheduler_specific_kwargs=dict(settings.lr_scheduler_kwargs),
        )
    except (TypeError, ValueError) as error:
        needs = LR_SCHEDULER_KWARGS_EXAMPLES.get(value)
        fix = f"give --lr-scheduler-kwargs {needs}" if needs else "check --lr-scheduler-kwargs"
        reason = str(error).replace("`lr_scheduler_kwargs`", "--lr-scheduler-kwargs")  # as this command spells it
        raise ValueError(
            f"--lr-scheduler-type {value} cannot be built with --lr-scheduler-kwargs "
            f"{settings.lr_scheduler_kwargs or '(none)'} ({reason}): {fix}."
        ) from None


# The settings that name a labelled set (a registered name or a folder)
_SET_SETTINGS = ("dataset", "datasets")


def path_as_string(name: str, value: Any) -> Any:
    """`value` of the setting `name` as the command line gives it: a `pathlib.Path` (any `os.PathLike`) as its `str`
    (written into JSON summaries, compared as strings), a `str` or None as it is; for a set (`dataset`, `datasets`), a
    registered one's `DatasetSpec` (what `citrus_hf.data.list_datasets` lists) as its name, as `build_dataset` takes it.

    Raises:
        TypeError: anything else, naming the setting; for a `datasets` set (`dataset`, `datasets`), how to pass it: an
            in-memory one saved to a folder, a streamed one (`streaming=True`, which has no `save_to_disk`) by what
            `load_dataset` was given.
    """
    import os

    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, str):
        return value
    if name in _SET_SETTINGS and isinstance(value, DatasetSpec):
        # refused before as an in-memory `datasets` set ("save ... with `dataset.save_to_disk(folder)`")
        return dataset_name(value)
    fix = ""
    if name in _SET_SETTINGS:
        fix = (
            "; a streamed set (`streaming=True`) is read here from what `datasets.load_dataset` was given: pass that "
            "(its Hub id, or the folder or file of its data files)"
            if type(value).__name__ in ("IterableDataset", "IterableDatasetDict")
            else "; save an in-memory dataset with `dataset.save_to_disk(folder)` and pass the folder"
        )
    raise TypeError(f"`{name}` takes a path or a name (str or pathlib.Path), got a {type(value).__name__}{fix}.")


def paths_as_strings(arguments, names: tuple[str, ...]) -> None:
    """Turn the values of the fields `names` of `arguments` into what the command line gives, in place
    (`path_as_string`)."""
    for name in names:
        setattr(arguments, name, path_as_string(name, getattr(arguments, name)))


def check_output_dir(output_dir: str, flag: str = "--output-dir") -> None:
    """Refuse, before any work is done, an output folder that saving would fail on at the end: an existing file, or a
    place where nothing can be written (tried with a temporary file in the folder, or in its nearest existing parent
    when it is still to be created, so that a check creates nothing)."""
    import os
    import tempfile

    path = os.path.abspath(os.path.expanduser(str(output_dir)))
    if os.path.isfile(path):
        raise ValueError(f"{flag} {output_dir!r} is a file; give a folder (it is created when missing).")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{flag} {output_dir!r} cannot be created: {existing!r} is a file.")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ValueError(
            f"{flag} {output_dir!r} cannot be written ({error.strerror or error}); choose another folder."
        ) from None


# The config fields of the task head that the labelled set decides: `finetune.build_citrus_task_model` sets them from
# its classes (classification) or its `target` column (regression), so a `--config-overrides` of one was replaced
# without a word (`citrus finetune` and `citrus evaluate` refuse them, `check_data_decided_overrides`).
DATA_DECIDED_FIELDS = ("num_labels", "id2label", "label2id", "problem_type", "num_targets")


def check_mappings(settings: Any, names: tuple[str, ...]) -> None:
    """Refuse each of `settings`' fields `names` that is not a mapping (the command line's KEY=VALUE pairs become one;
    from Python, text such as `"d_model=16"` is not read as pairs). Any `Mapping` (an OmegaConf `DictConfig`, a
    `MappingProxyType`) is set in place as a dict of its entries, the fields' type, which the run copies, updates and
    writes out; None is an empty one: a YAML settings file's key left empty (`dataset_options:` with its entries
    commented out) reads as None, which the commands took as no options before this check refused it."""
    for name in names:
        value = getattr(settings, name)
        if value is None or isinstance(value, Mapping):
            setattr(settings, name, dict(value or {}))
        else:
            raise ValueError(
                f"`{name}` must be a mapping of names to values (KEY=VALUE pairs on the command line, a mapping "
                f"in a YAML / JSON file, a dict from Python), got {value!r}."
            )


def check_data_decided_overrides(config_overrides: Mapping[str, Any]) -> None:
    """Refuse `config_overrides` of the fields the labelled set decides (`DATA_DECIDED_FIELDS`), which fitting would
    replace with the set's own, naming the `Trainer` route for the heads the commands do not fit."""
    decided = [key for key in config_overrides if key in DATA_DECIDED_FIELDS]
    if decided:
        raise ValueError(
            f"--config-overrides {', '.join(decided)}: the task head's labels come from the dataset (its classes give "
            "num_labels, id2label and label2id; a `label` column makes single-label classification, a `target` column "
            f"one regression target), so drop {'it' if len(decided) == 1 else 'them'}. Multi-label or multi-target "
            "heads train with the `Trainer`: `CiTrusForSequenceClassification(config)` with "
            'problem_type="multi_label_classification", or `CiTrusForRegression(config)` with num_targets=K.'
        )


# `--model-config`'s default: another value beside `--model` was given, and would be ignored.
DEFAULT_MODEL_CONFIG = "small"


def check_start_model(
    model: str | None, config_overrides: dict[str, Any], trained: str, model_config: str = DEFAULT_MODEL_CONFIG
) -> None:
    """`--model` (the checkpoint a run starts from) names a checkpoint, and comes without `--config-overrides` or a
    `--model-config` of its own, which set up a model `trained` ("trained", "pre-trained") from scratch: the
    checkpoint's weights fit its own config only (a `--model-config base` beside it trained the checkpoint's tiny
    model without a word)."""
    if model is None:
        return
    from ..loading import check_model_reference  # here: parsing the options must not import torch

    check_model_reference(model, "--model")
    if config_overrides:
        raise ValueError(
            f"--config-overrides {sorted(config_overrides)} set up a model {trained} from scratch; with --model the "
            "checkpoint's own config is used. Drop one of the two."
        )
    if model_config != DEFAULT_MODEL_CONFIG:
        raise ValueError(
            f"--model-config {model_config} sets up a model {trained} from scratch; with --model the checkpoint's own "
            "config is used. Drop one of the two."
        )


@dataclass
class FinetuneArguments:
    """Settings of `finetune`; `citrus finetune` parses exactly these (each field's help is in its metadata), the
    `trainer` ones included. Without `model`, the model trains from scratch with `model_config` + `config_overrides`,
    whose `sampling_rate` / `context_length` set the input contract."""

    output_dir: str = field(
        metadata={"help": "where the fine-tuned model, its feature extractor and finetune_results.json go"}
    )
    dataset: str = field(
        metadata={
            "help": "registered labelled set (`citrus data list`), or what datasets.load_dataset takes: a Hub id "
            "(owner/name), a folder of parquet / csv / json files or one such file, a save_to_disk folder"
        }
    )
    dataset_options: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "builder options of a registered dataset, e.g. window_seconds=5; a set of your own takes "
            "window_seconds=S (hop_seconds=H) to cut its examples into windows, and a folder of recordings "
            "ignore_time_stamps=true to read its CSVs at --sampling-rate whatever their time stamps say"
        },
    )
    target_names: list[str] | None = field(
        default=None,
        metadata={
            "help": "a regression set's name of its target (its `target` column), e.g. heart_rate: the fine-tuned "
            "model's id2label, which its predictions, card and export report it by (a registered set's own by default)"
        },
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "replace an earlier run's model, adapter, card and records in output_dir (refused otherwise)"
        },
    )
    sampling_rate: float | None = field(
        default=None,
        metadata={
            "help": "rate (Hz) of every row of a set of your own without a sampling_rate column: a save_to_disk set or "
            "data files, or a folder of .npy / .csv / .tsv / .txt recordings (EDF, WFDB, BrainVision, EEGLAB and WAV "
            "files, and Empatica E4 CSVs, record theirs)"
        },
    )
    model: str | None = field(
        default=None,
        metadata={
            "help": "pre-trained checkpoint: a bundled name (citrus-small, shipped with the package), a folder or a "
            "Hub id; without it the model trains from scratch"
        },
    )
    model_config: str = field(
        default=DEFAULT_MODEL_CONFIG,
        metadata={"help": "from scratch: preset (tiny, small, base), config.json or folder"},
    )
    config_overrides: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "from scratch: config fields, e.g. d_model=32 sampling_rate=50"}
    )
    train_split: str = field(
        default="train",
        metadata={"help": "split to draw the labelled examples from; slices as load_dataset's split= takes them too"},
    )
    validation_split: str = field(
        default="validation", metadata={"help": "split for early stopping; carved from train when missing"}
    )
    test_split: str = field(default="test", metadata={"help": "held-out split for the test metrics"})
    validation_fraction: float = field(
        default=VALIDATION_FRACTION,
        metadata={"help": "share of train carved out as validation (per class, by recording)"},
    )
    label_budget: str = field(
        default="all", metadata={"help": "labelled examples to train on: 5 (per class), 0.1 or 10% (fraction), all"}
    )
    alignment: Literal[TASK_ALIGNMENTS] = field(
        default=DEFAULT_TASK_ALIGNMENT,
        metadata={
            "help": "resample: keep the time scale; interpolate: stretch each recording onto the window; auto: "
            "resample, but stretch recordings that resampling would crop although they hold no more samples than the "
            "window and all last as long (slow series)"
        },
    )
    normalization: Literal[TASK_NORMALIZATIONS] = field(
        default="dataset",
        metadata={
            "help": "dataset: per-channel statistics of the training pool (keeps amplitudes across windows and "
            "channels); window: z-score every window, as pre-training"
        },
    )
    nan_policy: Literal[NAN_POLICIES] = field(
        default="raise",
        metadata={"help": "NaN / inf samples: raise (name the recording), or interpolate them linearly"},
    )
    recipe: str = field(
        default="auto",
        metadata={
            "help": "probe: frozen encoder + ridge read-out of every layer; finetune: the whole model with the "
            "Trainer; probe-finetune: the probe's read-out, then the whole model from it; auto: the probe below "
            f"{AUTO_PROBE_FINETUNE_FROM_PER_CLASS} labels per class, probe-finetune from there; the probe for "
            "regression; or a recipe registered with @register_recipe",
            # the registry as it is when the parser is built: after a script's own recipes registered
            "choices": recipe_names,
        },
    )
    class_weight: Literal[CLASS_WEIGHTS] = field(
        default="none",
        metadata={
            "help": "classification: balanced weighs each class's examples by n / (classes x its count) in the "
            "probe's ridge and the fine-tuning loss (rarer classes weigh more); none: every example alike"
        },
    )
    lora: bool = field(default=False, metadata={"help": "LoRA adapters on the pre-trained model (finetune recipe)"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling (alpha / r)"})
    trainer: TrainerSettings = field(default_factory=TrainerSettings, metadata={"help": "fine-tuning (Trainer)"})

    def __post_init__(self):
        plain_numbers(self)
        paths_as_strings(self, ("output_dir", "dataset", "model", "model_config"))
        check_switches(self, ("lora", "overwrite_output_dir"))
        # the LoRA settings and the carve, checked before the data set loads (apply_lora and the split refused them
        # only then), even without --lora: a typo must not wait for the run that uses it
        check_positive("lora_r", self.lora_r, integer=True)
        self.lora_r = int(self.lora_r)  # a numpy integer, as `apply_lora` takes only Python's
        check_positive("lora_alpha", self.lora_alpha)
        check_fraction("validation_fraction", self.validation_fraction)
        check_recipe_name(self.recipe)
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"class_weight must be one of {CLASS_WEIGHTS}, got {self.class_weight!r}.")
        if self.lora and self.recipe not in ("auto", "finetune"):
            # LoRA is its own way of training the encoder: it runs the Trainer as the finetune recipe does
            why = {"probe": "the probe keeps the encoder frozen, and LoRA adapts it while it trains"}.get(
                self.recipe, "probe-then-fine-tune trains the whole model, where LoRA trains small adapters"
            )
            raise ValueError(f"--lora runs the finetune recipe ({why}); drop --recipe {self.recipe} or --lora.")
        # from Python, `config_overrides="d_model=16"` had its letters checked as names and crashed deep in the run
        check_mappings(self, ("dataset_options", "config_overrides"))
        check_start_model(self.model, self.config_overrides, "trained", self.model_config)
        check_data_decided_overrides(self.config_overrides)
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
        check_positive("sampling_rate", self.sampling_rate, allow_none=True)
        self.target_names = checked_target_names(self.target_names)
        self.trainer = trainer_settings(self.trainer)
        check_lr_scheduler(self.trainer)
        check_output_dir(self.output_dir)


def checked_target_names(names: Any) -> list[str] | None:
    """`--target-names` as a list (one text, as a YAML file may give it, is one name), refused unless it holds one
    non-empty name: `citrus finetune` fits one target per row (a set's `target` column; several are refused with the
    data), so a second name would name no output, and the regressor refuses names of another count anyway, deep in
    the run, after the data is read."""
    if names is None:
        return None
    names = [names] if isinstance(names, str) else [str(name) for name in names]
    if any(not name.strip() for name in names):
        raise ValueError(f"--target-names gives an empty name ({names!r}); name the target, e.g. heart_rate.")
    if len(names) != 1:
        shown = ", ".join(map(repr, names))
        raise ValueError(
            f"--target-names gives {len(names)} names ({shown}), and citrus finetune fits 1 target (the set's "
            f"`target` column): give one name, e.g. --target-names {names[0] if names else 'heart_rate'}."
        )
    return names


def trainer_settings(value: Any, name: str = "trainer", defaults: TrainerSettings | None = None) -> TrainerSettings:
    """`value` as `TrainerSettings`: a mapping (as a YAML or JSON file gives the settings, `dataclasses.asdict` of the
    arguments, an OmegaConf `DictConfig`) is converted, over `defaults` (None: `TrainerSettings()`'s), with its unknown
    names refused; anything else that is not `TrainerSettings` is refused naming the class. `name`: the field holding
    it, which the errors name."""
    if isinstance(value, TrainerSettings):
        return value
    if isinstance(value, Mapping):
        known = {field.name for field in dataclasses.fields(TrainerSettings)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"`{name}` has no settings {unknown}; TrainerSettings has {sorted(known)}.")
        return dataclasses.replace(defaults or TrainerSettings(), **value)
    raise TypeError(f"`{name}` must be a TrainerSettings (or a dict of its settings), got {type(value).__name__}.")


@dataclass
class PretrainArguments:
    """Settings of `pretrain`; `citrus pretrain` parses exactly these (each field's help is in its metadata).

    `warmup_steps` is a step count, or a fraction of `max_steps` when below 1, rounded up to whole steps as
    transformers' Trainer (and `citrus finetune`) round it. The learning rate warms up linearly, then decays to 0 on a
    cosine (AdamW).
    """

    output_dir: str = field(
        metadata={"help": "where the final model, checkpoints/step-N/, TensorBoard logs and the summary go"}
    )
    dataset: str | None = field(
        default="eeg_pretrain",
        metadata={
            "help": "registered dataset (`citrus data list`), a folder of recordings (EDF / BDF, WFDB, BrainVision, "
            "EEGLAB, WAV, .npy, .csv; or one such file), or what datasets.load_dataset takes (a Hub id, a folder of data files or one, "
            "a save_to_disk folder); 'none' with --synthetic-ratio 1 "
            "trains on synthetic windows without any corpus (and without validation)"
        },
    )
    dataset_options: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "builder options of a registered dataset, e.g. window_seconds=10; a folder of recordings takes "
            "ignore_time_stamps=true to read its CSVs at --sampling-rate whatever their time stamps say"
        },
    )
    train_split: str = field(default="train", metadata={"help": "split to train on"})
    eval_split: str | None = field(
        default="validation",
        metadata={
            "help": "split for the validation loss; 'none' skips it, and so does a corpus without the default "
            "'validation' split (a split named on purpose must exist)"
        },
    )
    sampling_rate: float | None = field(
        default=None, metadata={"help": "rate (Hz) of every row when the corpus has no sampling_rate column"}
    )
    nan_policy: Literal[NAN_POLICIES] = field(
        default="raise",
        metadata={"help": "NaN / inf samples: raise (name the recording), or interpolate them linearly"},
    )
    synthetic_ratio: float = field(
        default=0.0,
        metadata={
            "help": "share of synthetic training windows (citrus_hf.data.synthetic): 0 trains on the corpus alone, in "
            "epochs; above 0 each process mixes them with real windows drawn from its own shard of the corpus; "
            "1 on synthetic windows alone (no training corpus is read); validation is always on the real split"
        },
    )
    synthetic_generators: dict[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_GENERATOR_WEIGHTS),
        metadata={
            "help": "synthetic generators and their weights, or JSON settings with a 'weight'; pairs update the "
            "default mix and weight 0 drops a generator, e.g. cauker=0.8 eda=0 "
            'ecg=\'{"weight": 0.2, "segment_seconds": 120}\''
        },
    )
    model: str | None = field(
        default=None,
        metadata={
            "help": "continue pre-training from this checkpoint's weights (a bundled name such as citrus-small, a "
            "folder or a Hub id) on the corpus: its config is the model's; without it the model starts fresh"
        },
    )
    model_config: str = field(
        default=DEFAULT_MODEL_CONFIG,
        metadata={
            "help": "preset (tiny, small, base), a config.json or a checkpoint folder: its settings only (the "
            "weights start fresh; --model loads them)"
        },
    )
    config_overrides: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "config fields to change, e.g. backbone=cnn d_model=128 pretraining_objective="
            + "|".join(PRETRAINING_OBJECTIVES)
        },
    )
    max_steps: int = field(default=1000, metadata={"help": "optimizer steps in all (the schedule spans them)"})
    stop_after_steps: int | None = field(
        default=None,
        metadata={"help": "stop early after this many steps, with a checkpoint; continue with --resume-from latest"},
    )
    per_device_batch_size: int = field(
        default=32, metadata={"help": "windows per process and micro-step (global batch: x processes x accumulation)"}
    )
    gradient_accumulation_steps: int | None = field(
        default=None,
        metadata={"help": "micro-steps per optimizer step"},  # None: Accelerate's (commands/pretrain.py says which)
    )
    learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = field(default=0.05, metadata={"help": "AdamW weight decay (not on norms and tokens)"})
    warmup_steps: float = field(default=0.05, metadata={"help": "warm-up steps, or a fraction < 1 of max_steps"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm (0: off)"})
    mixed_precision: MixedPrecision | None = field(
        default=None,
        metadata={"help": MIXED_PRECISION_HELP},
    )
    seed: int = field(default=0, metadata={"help": "seeds the initialisation, the data order and the masks"})
    full_determinism: bool = field(
        default=False,
        metadata={"help": FULL_DETERMINISM_HELP},
    )
    save_steps: int = field(default=500, metadata={"help": "checkpoint every N optimizer steps"})
    save_total_limit: int | None = field(default=2, metadata={"help": "keep the newest N checkpoints"})
    resume_from: str | None = field(
        default=None, metadata={"help": "a checkpoint folder, or 'latest' in output_dir/checkpoints"}
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "start afresh in an output_dir that holds an earlier run (its checkpoints are deleted)"},
    )
    logging_steps: int = field(default=10, metadata={"help": "log the training loss every N steps"})
    eval_steps: int = field(default=250, metadata={"help": "validation loss every N steps"})
    plot_steps: int = field(
        default=250, metadata={"help": "TensorBoard figure of a masked reconstruction every N steps"}
    )
    eval_batches: int = field(
        default=8,
        metadata={
            "help": "validation batches per evaluation, drawn evenly across the split (fixed rows and masks: "
            "comparable across steps)"
        },
    )
    report_to: ReportTo = field(
        default="none",
        metadata={"help": "log losses and reconstruction figures to TensorBoard (needs citrus-hf[bench])"},
    )
    num_workers: int = field(default=0, metadata={"help": "data loader worker processes"})
    log_sample_ids: bool = field(
        default=False,
        metadata={
            "help": "write the example ids (corpus rows) each process trained on to sample_ids_rank{R}.jsonl, one line "
            "per batch; with synthetic windows also their sources, and id -1 for a synthetic window"
        },
    )
    show_progress: bool = field(default=True, metadata={"help": "a progress bar on the main process"})

    def __post_init__(self):
        plain_numbers(self)
        paths_as_strings(self, ("output_dir", "dataset", "model", "model_config", "resume_from"))
        check_switches(self, ("overwrite_output_dir", "full_determinism", "log_sample_ids", "show_progress"))
        # before `check_start_model` reads `config_overrides` as a mapping (text's letters were named as overrides)
        check_mappings(self, ("dataset_options", "config_overrides", "synthetic_generators"))
        check_start_model(self.model, self.config_overrides, "pre-trained", self.model_config)
        # every step count, checked before the corpus loads (0 would divide by zero at the first step's modulo)
        for name in (
            "max_steps",
            "per_device_batch_size",
            "save_steps",
            "logging_steps",
            "eval_steps",
            "plot_steps",
            "eval_batches",
        ):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("save_total_limit", self.save_total_limit, integer=True, allow_none=True)
        check_positive("gradient_accumulation_steps", self.gradient_accumulation_steps, integer=True, allow_none=True)
        check_seed(self.seed)
        for name in ("weight_decay", "warmup_steps", "max_grad_norm"):
            check_non_negative(name, getattr(self, name))
        check_non_negative("num_workers", self.num_workers, integer=True)
        check_positive("learning_rate", self.learning_rate)
        check_learning_rate(self.learning_rate, self.weight_decay)
        check_positive("sampling_rate", self.sampling_rate, allow_none=True)
        check_output_dir(self.output_dir)
        if self.resume_from is not None and self.overwrite_output_dir:
            # two contradicting requests: the resume had won and the overwrite was dropped without a word (it only
            # took over another machine's lock, which the message says how to do without it)
            raise ValueError(
                "--resume-from continues the run in --output-dir and --overwrite-output-dir starts afresh there, "
                "deleting its checkpoints: give one of the two (to resume past the lock of a run on another "
                "machine, delete the lock file its message names)."
            )
        if self.stop_after_steps is not None and not 0 < self.stop_after_steps <= self.max_steps:
            raise ValueError(
                f"--stop-after-steps must lie in [1, --max-steps={self.max_steps}], got {self.stop_after_steps}."
            )
        check_mixed_precision(self.mixed_precision)
        check_report_to(self.report_to)
        if self.report_to == "tensorboard":
            require("tensorboard", "report_to='tensorboard'")
        if isinstance(self.eval_split, str) and self.eval_split.lower() == "none":
            self.eval_split = None
        self._check_synthetic_settings()

    def _check_synthetic_settings(self) -> None:
        ratio = self.synthetic_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= ratio <= 1.0:
            raise ValueError(f"`synthetic_ratio` must be a number in [0, 1], got {ratio!r}.")
        self.synthetic_ratio = float(ratio)
        if isinstance(self.dataset, str) and self.dataset.lower() == "none":
            self.dataset = None
        if self.dataset is None and self.synthetic_ratio < 1:
            raise ValueError(
                "Without a dataset only synthetic windows can train: set --synthetic-ratio 1, or name a corpus with "
                "--dataset."
            )
        if self.synthetic_ratio > 0:
            if not isinstance(self.synthetic_generators, dict) or not active_generators(self.synthetic_generators):
                raise ValueError(
                    f"`synthetic_generators` must give at least one generator a weight above 0, got "
                    f"{self.synthetic_generators!r}."
                )
            generators_from_spec(active_generators(self.synthetic_generators))  # unknown names and options fail now

    @property
    def num_warmup_steps(self) -> int:
        if self.warmup_steps >= 1:
            return int(self.warmup_steps)
        # Up, as `TrainingArguments.get_warmup_steps` does (half-to-even gave 0.05 x 10 steps no warm-up at all, where
        # fine-tuning warms up one step); the product is first rounded to 9 decimals so that float noise
        # (0.07 x 100 = 7.000000000000001) does not add a step.
        return math.ceil(round(self.warmup_steps * self.max_steps, 9))

    @classmethod
    def from_recipe(cls, name: str, **changes: Any) -> PretrainArguments:
        """The settings of the recipe `name` (`PRETRAIN_RECIPES`), with `changes` (at least `output_dir`) on top."""
        if name not in PRETRAIN_RECIPES:
            raise ValueError(f"Unknown pre-training recipe {name!r}; recipes: {', '.join(PRETRAIN_RECIPES)}.")
        return cls(**{**PRETRAIN_RECIPES[name], **changes})


#: Pre-training recipes: the settings (`PretrainArguments` fields) that pre-train a named checkpoint,
#: `PretrainArguments.from_recipe("base", output_dir=...)`.
#:
#: "base" pre-trains citrus-base on one GPU in a few minutes (`benchmarks/gpu_pretrain.py`): citrus-small's input
#: contract (the `small` preset: 10 s windows at 100 Hz in 100 patches of 10 samples, so the same short recordings
#: fit) and corpus (`pretrain_corpus`), with a wider and deeper transformer (width 256, 4 layers, 8 heads,
#: feed-forward 512: 2.2M weights, 5x citrus-small's), bf16 autocast, 256 windows per device and step, 2,000 steps
#: (512k windows), peak learning rate 1e-3 after 5 % warm-up, half of the windows synthetic (the default generator
#: mix, made by 10 DataLoader workers). On one H200 it ran in 99 s (5,150 windows/s end to end, sharing the GPU with
#: a second run). Of the four GPU candidates it scored best on the protocol's validation splits at 5 labels per
#: class (macro-F1 points behind it: real windows only 0.7, real only for 6,000 steps 0.3, width 384 x 6 layers 0.8),
#: and it still trails citrus-small there by 0.6, so it does not ship (benchmarks/results/gpu_pretrain/README.md).
#: Under `accelerate launch` the batch is per GPU.
PRETRAIN_RECIPES: dict[str, dict[str, Any]] = {
    "base": dict(
        model_config="small",
        config_overrides={"d_model": 256, "ffn_dim": 512, "num_hidden_layers": 4, "num_attention_heads": 8},
        dataset="pretrain_corpus",
        per_device_batch_size=256,
        mixed_precision="bf16",
        max_steps=2000,
        learning_rate=1e-3,
        warmup_steps=0.05,
        synthetic_ratio=0.5,
        num_workers=10,
        logging_steps=50,
        eval_steps=250,
        plot_steps=500,
        save_steps=1000,
    ),
}
