"""The settings of the low-data protocol (`ProtocolConfig`, everything `citrus evaluate` parses) and its default arms.

This module imports neither torch nor transformers (`arms` defers its heavy imports to the arms' methods): `citrus
evaluate --help` builds its parser from `ProtocolConfig` and answers in about a second. Checks that need the heavy
modules import them where they run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from .._extras import check_installed
from ..data.splits import VALIDATION_FRACTION, check_dataset_reference, is_registered_dataset, parse_budget
from ..training.arguments import (
    PretrainArguments,
    TrainerSettings,
    check_data_decided_overrides,
    check_learning_rate,
    check_lr_scheduler,
    check_output_dir,
    check_positive,
    check_seed,
    path_as_string,
    trainer_settings,
)
from ..training.recipes import CLASS_WEIGHTS, check_recipe_name, recipe_fingerprint, recipe_names
from ..training.settings import check_fraction, check_switches, given_fields, plain_numbers
from ..vocabulary_citrus import NAN_POLICIES, REGRESSION, TASK_ALIGNMENTS, TASK_NORMALIZATIONS, TASKS
from .arms import ARMS, CiTrusArm, MiniRocketArm, PatchTSTArm, arm_fingerprint

logger = logging.getLogger(__name__)

DEFAULT_ARMS = ("citrus-small", "citrus-scratch", "minirocket", "patchtst-scratch", "prior")


def default_finetune_settings() -> TrainerSettings:
    """The protocol's fine-tuning Trainer settings when none are given (`ProtocolConfig.finetune`)."""
    # max_steps <= 0: the fine-tuning recipe scales its schedule with the labelled examples (recipes.finetune_steps)
    return TrainerSettings(max_steps=-1, per_device_batch_size=16, show_progress=False)


def _warn_of_finetune_set_per_run(given: Any) -> None:
    """Warn where `ProtocolConfig(finetune=...)` gives a setting the protocol sets itself for each run (the field's
    `set_per_run` metadata: seed, show_progress), as `citrus evaluate` warns of a settings file's: the value is dropped
    (each arm's run sets its own), and a Python user who set it believed the runs used it. Only a value the user gave
    and the runs do not use is said: a dict's key, or a field its caller gave `TrainerSettings` or assigned to it
    since (`given_fields`: `settings.seed = 7`), other than the protocol's default; of a copy (`dataclasses.replace`),
    whose given fields are not known, a value other than both that and TrainerSettings' own default
    (`TrainerSettings(learning_rate=...)` carries show_progress=True that nobody asked for, and `citrus evaluate`
    builds its settings with the protocol's show_progress=False)."""
    set_per_run = ProtocolConfig.__dataclass_fields__["finetune"].metadata["set_per_run"]
    if isinstance(given, Mapping):
        chosen = {key: given[key] for key in set_per_run if key in given}
        unasked = {key: [default_finetune_settings()] for key in chosen}  # (the defaults that say nothing, per key)
    elif isinstance(given, TrainerSettings):
        chosen = {key: getattr(given, key) for key in set_per_run}
        # (the fields its caller gave or assigned, as a dict's keys: `TrainerSettings(show_progress=True)` and
        # `settings.show_progress = True` equal TrainerSettings' default, and were silent where the same in a dict or
        # a settings file was noticed; the others, and all of a copy's, whose given fields are not known, also against
        # TrainerSettings' default)
        asked = given_fields(given) or frozenset()
        unasked = {key: [default_finetune_settings()] + ([] if key in asked else [TrainerSettings()]) for key in chosen}
    else:
        return  # (`trainer_settings` refuses it, naming the class)
    for key, value in chosen.items():
        if all(value != getattr(defaults, key) for defaults in unasked[key]):
            logger.warning(
                f"ProtocolConfig's finetune sets {key}={value!r}, which the protocol ignores: {set_per_run[key]}."
            )


# What `_refuse_repeats` says of two values of one meaning, and the fix.
_LISTED_TWICE = "it would be fitted twice and counted twice in the mean and spread; list it once"


def _refuse_repeats(
    option: str,
    values: Iterable[Any],
    key: Callable[[Any], Any] | None = None,
    what: str = "draw",
    why: str = _LISTED_TWICE,
) -> None:
    """Refuse values that mean the same thing (5 and 5/class, a seed, arm or dataset twice): each would be fitted and
    counted again. `key` maps a value to its meaning (the value itself when None); `what` names the kind of value,
    `why` what the repeat would do and its fix."""
    seen: dict[Any, Any] = {}
    for value in values:
        meaning = value if key is None else key(value)
        if meaning in seen:
            raise ValueError(f"{option} lists {value!r} and {seen[meaning]!r}, which are the same {what}: {why}.")
        seen[meaning] = value


# The arms pre-train with `PretrainArguments`' weight decay: no option of `citrus evaluate` sets it.
PRETRAIN_WEIGHT_DECAY = PretrainArguments.weight_decay  # (the field's default)


@dataclass
class ProtocolConfig:
    """Settings of `run_protocol`; `citrus evaluate` parses exactly these (each field's help is in its metadata), the
    `finetune` ones included (but their seed, which is the run's, and their progress bars).

    Per-dataset settings map a dataset name to its value: `alignment` is "auto" (the default: "resample", except
    for sets that resampling would crop although their recordings hold no more samples than the window and last as
    long as each other; see
    `citrus_hf.data.alignment.resolve_alignment`), "resample" (keep the time scale; each recording keeps its own
    duration in whole patches) or "interpolate" (stretch every recording onto the model's window, as the paper does
    for 1 s recordings); `normalization` is "dataset" (the default: per-channel statistics
    of the training pool, which keep the amplitudes across channels and windows that EMG and IMU classes differ by;
    see `citrus_hf.data.alignment.input_overrides`) or "window" (per-window z-score, as pre-training).
    """

    output_dir: str = field(
        default="citrus_evaluation", metadata={"help": "results, reports and the pre-trained checkpoints (pretrained/)"}
    )
    datasets: list[str] = field(
        default_factory=lambda: ["basic_motions", "watch_exercises", "myo_gestures"],
        metadata={
            "help": "labelled sets: registered names, or what datasets.load_dataset takes (Hub ids owner/name, "
            "folders of data files or one such file, save_to_disk folders)"
        },
    )
    dataset_options: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata={
            "help": "builder options per dataset, e.g. hr_ecg:window_seconds=10; a set of your own takes "
            "window_seconds (hop_seconds) to cut its examples into windows, e.g. ./my_set:window_seconds=5, and a "
            "folder of recordings ignore_time_stamps=true to read its CSVs at their rate given whatever their time "
            "stamps say"
        },
    )
    sampling_rate: float | dict[str, float] | None = field(
        default=None,
        metadata={
            "dataset_keys": True,
            "help": "rate (Hz) of the rows of the sets without a sampling_rate column: one for every such set (a set "
            "with the column keeps its own rates), or NAME=HZ per set, e.g. ./ecg=250 ./imu=50",
            "metavar": "HZ|NAME=HZ",
        },
    )
    nan_policy: Literal[NAN_POLICIES] = field(
        default="raise",
        metadata={
            "help": "NaN / inf samples: raise (name the recording), or interpolate them linearly (for every arm: "
            "MiniRocket's raw windows too)"
        },
    )
    train_split: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "dataset_keys": True,
            "help": "per dataset: its split to draw the labelled examples from (default train), e.g. my_set=training",
        },
    )
    test_split: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "dataset_keys": True,
            "help": "per dataset: its held-out split for the scores (default test), e.g. my_set=holdout",
        },
    )
    alignment: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "dataset_keys": True,
            "help": "per dataset: auto, resample or interpolate (default auto), e.g. myo_gestures=interpolate",
        },
    )
    normalization: dict[str, str] = field(
        default_factory=dict,
        metadata={"dataset_keys": True, "help": "per dataset: dataset or window (default dataset)"},
    )
    budgets: list[str] = field(
        default_factory=lambda: ["1", "5", "20", "all"],
        metadata={"help": "label budgets: examples per class (5), a fraction (0.25) or all"},
    )
    dataset_budgets: dict[str, list[str]] = field(
        default_factory=lambda: {"hr_ecg": ["5", "20", "50", "all"], "hr_ppg": ["5", "20", "50", "all"]},
        metadata={"dataset_keys": True, "help": "budgets for one dataset instead of --budgets, e.g. hr_ecg=5,20,all"},
    )
    seeds: list[int] | None = field(
        default=None, metadata={"help": "these seeds, one run each per dataset, budget and arm (default: 0-4)"}
    )
    num_seeds: int | None = field(default=None, metadata={"help": "seeds 0 to N-1 (instead of --seeds)"})
    arms: list[str] = field(
        default_factory=lambda: list(DEFAULT_ARMS),
        metadata={"help": lambda: f"arms to compare, from: {', '.join(ARMS)}"},  # ARMS when the parser is built
    )
    recipe: str = field(
        default="auto",
        metadata={
            "help": "how every CiTrus arm is fitted (see citrus finetune --help); arms with their own keep it",
            "choices": recipe_names,  # the registry as it is when the parser is built
        },
    )
    class_weight: Literal[CLASS_WEIGHTS] = field(
        default="none",
        metadata={
            "help": "classification sets: balanced weighs each class's examples by n / (classes x its count) in every "
            "CiTrus arm's recipe (the probe's ridge, the fine-tuning loss), as citrus finetune --class-weight, in "
            "PatchTST's fine-tuning loss and in MiniRocket's ridge: a draw of a fraction or all of an imbalanced set "
            "keeps its imbalance; none: every example alike (regression sets and the prior are fitted as they are)"
        },
    )
    score_split: Literal["test", "validation"] = field(
        default="test",
        metadata={
            "help": "split the runs are scored on; validation to choose settings without the test split (runs scored "
            "on it never early-stop or pick their step on it: fixed schedules)"
        },
    )
    select_on_validation: bool = field(
        default=False,
        metadata={
            "help": "let the fine-tuning recipes early-stop and keep their best step on the labelled validation split "
            "when runs are scored on test. Off by default: those labels are outside the k-per-class budget that "
            "MiniRocket and the probe keep to, and the recipes were chosen on fixed schedules"
        },
    )
    checkpoints: dict[str, str] = field(
        default_factory=dict, metadata={"help": "pre-trained checkpoint per arm (ARM=PATH); others are pre-trained"}
    )
    corpus: str = field(default="eeg_pretrain", metadata={"help": "unlabelled corpus of the arms pre-trained here"})
    corpus_options: dict[str, Any] = field(
        default_factory=lambda: {"window_seconds": 10.0, "hop_seconds": 5.0},
        metadata={"help": "builder options of the corpus"},
    )
    model_config: str = field(
        default="citrus-small",
        metadata={
            "help": "preset, bundled checkpoint name, config.json or folder: the size of arms without weights (by "
            "default citrus-small's, so citrus-scratch is its from-scratch twin)"
        },
    )
    config_overrides: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "config fields of the arms without weights (from scratch, or pre-trained here), e.g. d_model=32 "
            "sampling_rate=50; backbone= is refused with the cnn-/transformer- arms, defined by theirs. Arms that "
            "start from weights (bundled, --checkpoints) take only the dropouts and head fields (head_features, "
            "pooling, channel_pooling, initializer_range); the other fields are refused when every arm has weights, "
            "else named in a warning"
        },
    )
    pretrain_steps: int = field(default=1000, metadata={"help": "pre-training steps of every pre-trained arm"})
    pretrain_batch_size: int = field(default=32, metadata={"help": "pre-training windows per step"})
    pretrain_learning_rate: float = field(default=1e-3, metadata={"help": "pre-training peak learning rate"})
    pretrain_seed: int = field(default=0, metadata={"help": "pre-training seed"})
    finetune: TrainerSettings = field(
        default_factory=default_finetune_settings,
        metadata={
            "help": "the fine-tuning recipe's Trainer settings",
            "exclude": ("seed", "show_progress"),
            # each run's seed is one of `seeds`, and no run shows a bar of its own (the protocol's bar is
            # `show_progress`): a settings file's `finetune: {seed: 5}` or `{show_progress: true}` is said to be ignored
            "set_per_run": {
                "seed": "it sets each run's seed from `seeds` (--seeds); give that instead",
                "show_progress": "no run shows a progress bar of its own, and the protocol's bar over every run is "
                "`show_progress` (--show-progress / --no-show-progress); give that instead",
            },
        },
    )
    validation_fraction: float = field(
        default=VALIDATION_FRACTION,
        metadata={
            "help": "share of train carved out as the validation split when a set has none. A registered set always "
            "has it carved: its pool is train less this fixed carve, as its published tables were run. A set of your "
            "own has it carved only where a run reads it (early stopping with --select-on-validation, or the scored "
            "split with --score-split validation, where nothing early-stops on it); otherwise train stays whole"
        },
    )
    num_threads: int | None = field(default=None, metadata={"help": "torch threads (small models: 1 is fastest)"})
    resume: bool = field(
        default=True,
        metadata={
            "help": "reuse runs already in runs.jsonl with the same settings and data; --no-resume starts runs.jsonl "
            "afresh (every run it holds, of any set or arm, is deleted when the first new run is recorded)"
        },
    )
    show_progress: bool = field(default=True, metadata={"help": "progress bars"})

    def __post_init__(self):
        # a dict of its settings (`ProtocolConfig(**asdict(config))`, protocol.json's, a Hydra config's) over the
        # protocol's defaults: read as it was, it failed deep in the checks ("'dict' object has no attribute ...")
        _warn_of_finetune_set_per_run(self.finetune)
        self.finetune = trainer_settings(self.finetune, "finetune", default_finetune_settings())
        if self.finetune.show_progress:
            # no run shows a bar of its own (`arms`: each run's settings turn it off); left on (TrainerSettings'
            # default, in `ProtocolConfig(finetune=TrainerSettings(learning_rate=...))`), protocol.json held it, and
            # `citrus evaluate FOLDER/protocol.json` said the setting the user never gave was ignored
            self.finetune = replace(self.finetune, show_progress=False)
        plain_numbers(self)  # (seeds from `list(np.arange(5))`)
        check_switches(self, ("select_on_validation", "resume", "show_progress"))
        check_fraction("validation_fraction", self.validation_fraction)

        # one value where a list belongs (a settings file's `arms: prior`, `budgets: 5`): a list of that value, not
        # a list of its characters
        def listed(value: Any) -> Any:
            return [value] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value

        for name in ("datasets", "budgets", "arms", "seeds"):
            setattr(self, name, listed(getattr(self, name)))
        # and one set's budget alone (`dataset_budgets={"eeg_blink": "all"}`): "Cannot read the label budget 'a'",
        # "10" a budget of 0, 10 "'int' object is not iterable"
        if isinstance(self.dataset_budgets, Mapping):
            self.dataset_budgets = {dataset: listed(budgets) for dataset, budgets in self.dataset_budgets.items()}
        # a folder as a `pathlib.Path` is its name, as on the command line; a `datasets` set given itself (alone or
        # listed) is refused naming how to pass it: it crashed on "unhashable type", or was named "neither a folder
        # nor a registered dataset" in the whole of its printed summary
        # (a list is any sequence of them: a tuple, OmegaConf's ListConfig of a Hydra config; a `datasets` set is none)
        listed = self.datasets if isinstance(self.datasets, Sequence) else [self.datasets]
        self.datasets = [path_as_string("datasets", dataset) for dataset in listed]
        _folders_as_names(self)
        if self.seeds is not None and self.num_seeds is not None:
            raise ValueError("Give the seeds (--seeds 0 1 2) or their count (--num-seeds 3), not both.")
        if self.seeds is None:
            self.seeds = list(range(5 if self.num_seeds is None else self.num_seeds))
        self.num_seeds = None  # resolved into `seeds`: `ProtocolConfig(**asdict(config))` is the same protocol
        if any(isinstance(seed, bool) or not isinstance(seed, int) or seed < 0 for seed in self.seeds):
            raise ValueError(f"Seeds must be integers >= 0, got {self.seeds}.")
        if isinstance(self.sampling_rate, Mapping):  # one rate per set (`evaluation.protocol.dataset_sampling_rate`)
            self.sampling_rate = _checked_rates(self.sampling_rate, self.datasets)
        else:
            check_positive("sampling_rate", self.sampling_rate, allow_none=True)
        # the pre-training settings are checked even when no arm pre-trains: a typo must not wait for the arm that does
        for name in ("pretrain_steps", "pretrain_batch_size"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("pretrain_learning_rate", self.pretrain_learning_rate)
        # as the pre-training would check them, but named by this command's options: its --learning-rate and
        # --weight-decay are the fine-tuning's, and it has no --seed
        check_learning_rate(self.pretrain_learning_rate, PRETRAIN_WEIGHT_DECAY, "--pretrain-learning-rate", None)
        check_seed(self.pretrain_seed, "pretrain_seed")
        check_positive("num_threads", self.num_threads, integer=True, allow_none=True)
        check_lr_scheduler(self.finetune)
        check_output_dir(self.output_dir)
        unknown = [arm for arm in self.arms if arm not in ARMS]
        if unknown:
            raise ValueError(f"Unknown arm(s) {unknown}; choose from {', '.join(ARMS)}.")
        for arm in self.arms:  # a missing extra must not wait for the arms and sets fitted before it
            others = [other for other in self.arms if other != arm]
            check_installed(
                ARMS[arm].optional_modules,
                f"The {arm!r} arm",
                f"or leave it out: --arms {' '.join(others)}" if others else "",
            )
        unknown = [arm for arm in self.checkpoints if arm not in ARMS or not ARMS[arm].pretrained]
        if unknown:
            raise ValueError(f"Checkpoints given for {unknown}, which are not pre-trained arms.")
        for arm in self.arms:
            spec = ARMS[arm]
            weightless = getattr(spec, "bundled", None) is None and not spec.pretrainable
            if spec.pretrained and weightless and arm not in self.checkpoints:
                raise ValueError(
                    f"The arm {arm!r} starts from pre-trained weights (pretrained = True), which it neither bundles "
                    f"nor has pre-trained here: give them with --checkpoints {arm}=FOLDER_OR_HUB_ID (ProtocolConfig("
                    f"checkpoints={{{arm!r}: ...}})), or leave the arm out."
                )
        from ..loading import check_model_reference

        # A folder is checked now, before protocol.json is written and the sets are built (a LoRA adapter is named
        # as one, with the route; weights saved with `variant=` are refused); other references when they are loaded.
        for arm, checkpoint in self.checkpoints.items():
            if Path(str(checkpoint)).expanduser().is_dir():
                check_model_reference(checkpoint, f"--checkpoints {arm}")
        if not self.datasets or not self.budgets or not self.seeds or not self.arms:
            raise ValueError("The protocol needs at least one dataset, budget, seed and arm.")
        _check_config_overrides(self)
        if self.nan_policy not in NAN_POLICIES:  # `Literal` is not enforced: another value was kept and ignored
            raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {self.nan_policy!r}.")
        check_recipe_name(self.recipe)
        if self.class_weight not in CLASS_WEIGHTS:  # `Literal` is not enforced
            raise ValueError(f"class_weight must be one of {CLASS_WEIGHTS}, got {self.class_weight!r}.")
        for arm in self.arms:
            if isinstance(ARMS[arm], CiTrusArm) and ARMS[arm].recipe is not None:
                try:  # an arm's own recipe, registered or not, is checked before any set is built
                    check_recipe_name(ARMS[arm].recipe)
                except ValueError as error:
                    raise ValueError(f"The arm {arm!r} fits with its own recipe: {error}") from None
        if self.score_split not in ("test", "validation"):
            raise ValueError(f"score_split must be 'test' or 'validation', got {self.score_split!r}.")
        for dataset, alignment in self.alignment.items():
            if alignment not in TASK_ALIGNMENTS:
                raise ValueError(f"alignment for {dataset!r} must be one of {TASK_ALIGNMENTS}, got {alignment!r}.")
        for dataset, normalization in self.normalization.items():
            if normalization not in TASK_NORMALIZATIONS:
                raise ValueError(
                    f"normalization for {dataset!r} must be one of {TASK_NORMALIZATIONS}, got {normalization!r}."
                )
        for budget in [*self.budgets, *(b for budgets in self.dataset_budgets.values() for b in budgets)]:
            parse_budget(budget)
        # a seed, budget, arm or dataset listed twice would fit the same draw twice and count it as two seeds (a
        # smaller spread, paired gaps counting each seed twice): the runs of one cell are pooled by these names
        _refuse_repeats("--seeds", self.seeds)
        _refuse_repeats("--arms", self.arms, what="arm")
        _refuse_repeats("--datasets", self.datasets, what="dataset")
        # and two budgets of one label (fractions alike to the label's 6 digits): runs are recorded, resumed and
        # grouped into a table's cell by it, so their runs would be pooled as two runs of each seed
        # (two draws, not one listed twice: the fix is another fraction, not listing it once)
        label = "label in the report (fractions alike to its 6 digits), by which their runs are pooled"
        pooled = (
            "the runs of both would be counted as two runs of each seed of one cell; keep one of them, or fractions "
            "that differ within their first 6 significant digits"
        )
        own = [(f"--dataset-budgets {dataset}", budgets) for dataset, budgets in self.dataset_budgets.items()]
        for option, budgets in [("--budgets", self.budgets), *own]:
            _refuse_repeats(option, budgets, parse_budget)
            _refuse_repeats(option, budgets, lambda budget: parse_budget(budget).label, what=label, why=pooled)
        for dataset in self.datasets:  # a misspelt set must not wait for the pre-training and earlier sets to fail
            check_dataset_reference(dataset, labelled=True)
        # Settings per dataset may name sets this run leaves out (a settings file for several runs), but a name that
        # is no dataset at all is a typo that would run its set with the defaults.
        for name in ("alignment", "normalization", "dataset_options", "dataset_budgets", "train_split", "test_split"):
            for dataset in getattr(self, name):
                if dataset not in self.datasets:
                    try:
                        check_dataset_reference(dataset)
                    except ValueError as error:
                        raise ValueError(
                            f"--{name.replace('_', '-')} names {dataset!r}, which is not among --datasets "
                            f"({', '.join(self.datasets)}): {error}"
                        ) from None

    def signature(self, task: str | None = None) -> str:
        """Hash of every setting that changes a run's result (not the output folder or the progress bars) on a set of
        `task` (None: on any set). A regression set's runs take no class weights, so `class_weight` is left out of
        theirs: `--class-weight balanced` on a regression set refitted its runs for nothing."""
        values = asdict(self)
        for key in (
            "output_dir",
            "datasets",
            "budgets",
            "dataset_budgets",
            "seeds",
            "num_seeds",
            "arms",
            "num_threads",
            "resume",
            "show_progress",
            # which splits a set's runs drew and scored on is in each run's `data` (their contents' fingerprints)
            "train_split",
            "test_split",
        ):
            values.pop(key)
        values["finetune"].pop("show_progress")
        for name, default in (("mixed_precision", (None, "no")), ("lr_scheduler_kwargs", ({},))):
            if values["finetune"][name] in default:
                # (fp32, a schedule without settings: what every run recorded before the setting existed did)
                values["finetune"].pop(name)
        if not values["finetune"]["full_determinism"]:
            # the default, which changes no CPU result: runs recorded before the setting existed stay reusable
            values["finetune"].pop("full_determinism")
        if not self._weighs_classes(task):
            # the default, what every run recorded before the setting existed did: those stay reusable
            values.pop("class_weight")
        if self.nan_policy == "raise":
            # a set with NaN cannot be fitted under "raise": runs recorded before the setting existed stay reusable
            values.pop("nan_policy")
        if self.score_split == "validation":
            # since runs scored on validation stopped early-stopping on it (`DatasetContext.for_fitting`): runs
            # recorded before, which selected on the split they were scored on, are not reused
            values["fitting_validation"] = "none when scored on it"
        elif not self.select_on_validation:
            # since test-scored runs stopped selecting on the labelled validation split: runs recorded before, which
            # did, are not reused
            values["fitting_validation"] = "none: the draw's labels only"
        values.pop("select_on_validation")
        # A name ("citrus-small", a folder) can stand for other sizes over time: the signature holds what it builds.
        values["model_config"] = _config_values(self.model_config)
        return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def _weighs_classes(self, task: str | None) -> bool:
        """Whether `--class-weight` weighs the runs of a set of `task` (None: of any set): a classification set's,
        under any weighting but "none"."""
        return self.class_weight != "none" and task != REGRESSION

    def _early_stops_on_windows(self, windowed_validation: bool | None = None) -> bool:
        """Whether the runs early-stop on a validation split (`DatasetContext.for_fitting`) whose rows are windows of
        fewer labelled examples (`window_seconds`), where what counts as one validation example matters.
        `windowed_validation`: whether the set's validation split is such (`TaskSplits.examples("validation")` is not
        None); None: judged from the settings, for any set of one's own given `window_seconds`. A registered set's
        `window_seconds` is its builder's option: each window is a row and an example of its own (`TaskSplits.examples`
        is None), so its runs early-stop as they did, and `hr_ecg:window_seconds=10` refitted them for nothing; nor
        does a validation split of the set's own count its rows otherwise."""
        selects = self.select_on_validation and self.score_split != "validation"
        if windowed_validation is not None:
            return selects and windowed_validation
        return selects and any(
            "window_seconds" in (options or {}) and not is_registered_dataset(dataset)
            for dataset, options in self.dataset_options.items()
        )

    def weights_digests(self) -> dict[str, str]:
        """`_weights_digest` of each checkpoint an arm starts from (given or bundled), by reference: what
        `run_signatures` adds for it. One protocol run takes them once and hands them to every `run_signatures`
        call (a resume hashed each checkpoint's weights 4 + 2 x sets times); a later run takes them afresh, so
        weights re-trained in place are never taken for the earlier ones."""
        folders = {self.checkpoints.get(arm) or getattr(ARMS[arm], "bundled", None) for arm in self.arms}
        return {str(folder): _weights_digest(str(folder)) for folder in folders if folder is not None}

    def run_signatures(
        self,
        task: str | None = None,
        windowed_validation: bool | None = None,
        *,
        weights_digests: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """`signature()` of each arm's runs. An arm that starts from a given or bundled checkpoint adds the digest of
        its weights, so runs of other weights behind the same path or name (a re-trained bundled checkpoint) are
        never reused; the arms pre-trained here are covered by the pre-training settings in `signature()`. An arm
        or recipe of one's own adds its `fingerprint()` (`arms.arm_fingerprint`, `recipes.recipe_fingerprint`), so
        runs of an arm or recipe changed since are refitted.

        The runs of one set: its `task` and whether its validation split's rows are windows of fewer examples
        (`windowed_validation`, see `_early_stops_on_windows`) leave out what cannot change them (class weights on a
        regression set, how a validation split of its own is counted); None for either: any set these settings
        name, judged from the settings alone (`possible_run_signatures` gathers every set's). `weights_digests`:
        the checkpoints' digests taken once for the protocol run (`weights_digests()`; None: taken here)."""
        if weights_digests is None:
            weights_digests = self.weights_digests()
        shared = self.signature(task)
        weighs_classes = self._weighs_classes(task)
        signatures = {}
        for arm in self.arms:
            parts = []
            if own := arm_fingerprint(arm):
                parts.append(json.dumps({"arm": own}, sort_keys=True))
            recipe = recipe_fingerprint(ARMS[arm].recipe or self.recipe) if isinstance(ARMS[arm], CiTrusArm) else {}
            if recipe:  # a CiTrus arm whose recipe has settings beyond the run's own (recipes.recipe_fingerprint)
                parts.append(json.dumps(recipe, sort_keys=True))
            folder = self.checkpoints.get(arm) or getattr(ARMS[arm], "bundled", None)
            if folder is not None:
                parts.append(weights_digests[str(folder)])
            parts += _model_changes(self, arm, folder)
            if isinstance(ARMS[arm], MiniRocketArm) and weighs_classes:
                # MiniRocket's ridge took no class weights before 2026-12-06: runs recorded then were unweighted
                parts.append(f"minirocket class_weight={self.class_weight}")
            if isinstance(ARMS[arm], PatchTSTArm) and weighs_classes:
                # nor did PatchTST's fine-tuning loss before 2026-12-07
                parts.append(f"patchtst class_weight={self.class_weight}")
            if isinstance(ARMS[arm], PatchTSTArm) and self._early_stops_on_windows(windowed_validation):
                # nor did its early stopping count a set's windows cut from one recording as one example before then
                parts.append("patchtst validation_examples")
            signatures[arm] = hashlib.sha256(":".join([shared, *parts]).encode()).hexdigest()[:16] if parts else shared
        return signatures

    def possible_run_signatures(self, weights_digests: Mapping[str, str] | None = None) -> dict[str, set[str]]:
        """Each arm's `run_signatures` on every kind of set (task, windowed validation or not): a recorded run under
        any of them may be its set's, which only the set's data tells (`protocol._load_previous`). `weights_digests`
        as `run_signatures` takes them (None: taken here, once for every kind of set)."""
        if weights_digests is None:
            weights_digests = self.weights_digests()
        possible: dict[str, set[str]] = {arm: set() for arm in self.arms}
        for task in TASKS:
            for windowed_validation in (False, True):
                signatures = self.run_signatures(task, windowed_validation, weights_digests=weights_digests)
                for arm, signature in signatures.items():
                    possible[arm].add(signature)
        return possible


def _model_changes(config: ProtocolConfig, arm: str, folder: Any) -> list[str]:
    """What an arm's model takes from `config` that the arms did not before they followed the user's settings
    (2026-12-05): an arm with weights the `loaded_model_overrides` (it dropped every override), and an arm without a
    backbone of its own the model config's or the user's backbone (it always built "hybrid"). Runs recorded before
    were of the other model, so these enter the run signature; where nothing changed (no such overrides, a hybrid
    backbone: every published run) nothing does, and those runs stay reusable."""
    from .arms import CiTrusArm, loaded_model_overrides

    spec = ARMS[arm]
    if not isinstance(spec, CiTrusArm):
        return []
    if folder is not None and spec.pretrained:
        taken = loaded_model_overrides(config)
        return [json.dumps({"loaded_model_overrides": taken}, sort_keys=True, default=str)] if taken else []
    if spec.backbone is None:
        backbone = config.config_overrides.get("backbone") or _config_values(config.model_config).get("backbone")
        return [] if backbone == "hybrid" else [f"backbone={backbone}"]
    return []


def _check_config_overrides(config: ProtocolConfig) -> None:
    """Refuse the `config_overrides` no chosen arm can take, and name those some arms leave aside: an arm defined by
    its backbone had replaced the user's `backbone=` with its own, an arm with weights had dropped every field, and
    every arm had replaced the head fields the data decides (`check_data_decided_overrides`), all without a word,
    while the report named the overrides as the model size."""
    from ..configuration_citrus import LOADED_MODEL_FIELDS
    from .arms import arms_with_weights

    overrides = config.config_overrides
    check_data_decided_overrides(overrides)  # every arm's head takes them from the data
    backbone = overrides.get("backbone")
    fixed = {
        name: ARMS[name].backbone
        for name in config.arms
        if isinstance(ARMS[name], CiTrusArm) and ARMS[name].backbone not in (None, backbone)
    }
    if backbone is not None and fixed:
        raise ValueError(
            f"--config-overrides backbone={backbone} contradicts the arm(s) "
            f"{', '.join(f'{name} (backbone {value!r})' for name, value in fixed.items())}, each defined by its own "
            "backbone; leave backbone= out, or leave those arms out (citrus-scratch and the citrus-* arms take it)."
        )
    with_weights = arms_with_weights(config)
    unusable = [key for key in overrides if key not in LOADED_MODEL_FIELDS]
    if not with_weights or not unusable:
        return
    fields = ", ".join(unusable)
    if set(with_weights) == set(config.arms):
        raise ValueError(
            f"--config-overrides {fields}: every arm ({', '.join(with_weights)}) starts from pre-trained weights, "
            f"whose input contract and architecture are their checkpoint's; such an arm takes only "
            f"{', '.join(sorted(LOADED_MODEL_FIELDS))}. Drop those fields, or add an arm without weights "
            "(e.g. citrus-scratch) that takes them."
        )
    logger.warning(
        f"--config-overrides {fields} apply only to the arms without weights; the arms with pre-trained weights "
        f"({', '.join(with_weights)}) keep their checkpoint's input contract and architecture, and take only the "
        "dropouts and head fields."
    )


def _config_values(model_config: str) -> dict[str, Any]:
    """The fields of the config a model config reference builds (without the transformers version)."""
    from ..loading import build_config
    from .arms import resolve_model_config

    values = build_config(resolve_model_config(model_config)).to_dict()
    values.pop("transformers_version", None)
    return values


def _weights_digest(checkpoint: str) -> str:
    """sha256 of the safetensors files of the folder a checkpoint reference resolves to as the arm loads it
    (`resolve_checkpoint`): a folder, a bundled name's, or a Hub id's snapshot of the revision `main` names now (in
    the cache, offline), so that runs of a repository's earlier weights are not reused, as they were when the id
    stood for its weights. The reference itself where there are no such files."""
    from ..loading import resolve_checkpoint

    files = sorted(resolve_checkpoint(checkpoint).glob("*.safetensors"))
    if not files:
        return checkpoint
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _folders_as_names(config: ProtocolConfig) -> None:
    """Every other folder of `config` given as a `pathlib.Path` (any `os.PathLike`) as its name, as `datasets` and the
    command line give them: the output, model and corpus folders, the checkpoints, and the sets named as keys of the
    per-set settings. Kept as paths, a run with `checkpoints={arm: Path(...)}` fitted everything and then failed on
    writing its report ("Object of type PosixPath is not JSON serializable"), a per-set setting keyed by a Path never
    matched its set (named by its string), and a config compared unequal to the same one read back from
    protocol.json."""
    for name in ("output_dir", "model_config", "corpus"):
        setattr(config, name, _folder_name(getattr(config, name)))
    if isinstance(config.checkpoints, Mapping):
        config.checkpoints = {arm: _folder_name(folder) for arm, folder in config.checkpoints.items()}
    keyed = ["dataset_options", *(item.name for item in fields(config) if item.metadata.get("dataset_keys"))]
    for name in keyed:
        settings = getattr(config, name)
        if isinstance(settings, Mapping):
            setattr(config, name, _keyed_by_set_names(name, settings))


def _keyed_by_set_names(name: str, settings: Mapping) -> dict:
    """The per-set setting `name` with its sets named by their strings. A set named twice (as a `pathlib.Path` and as
    its string) is refused: one of its two values was dropped without a word, whichever came last kept."""
    named = {}
    for dataset, value in settings.items():
        key = _folder_name(dataset)
        if key in named:
            raise ValueError(
                f"`{name}` names the set {key!r} twice (as a path and as its string): give its setting once."
            )
        named[key] = value
    return named


def _folder_name(value: Any) -> Any:
    """A `pathlib.Path` (any `os.PathLike`) as its `str`, anything else as it is (checked where it is read)."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _checked_rates(rates: Mapping, datasets: list[str]) -> dict[str, float]:
    """`--sampling-rate NAME=HZ ...`: every rate a finite number above 0, every NAME a set (one this run leaves out may
    be named, as in the other per-set settings, but a name that is no set at all is a typo)."""
    checked = {}
    for name, rate in rates.items():
        number = isinstance(rate, numbers.Real) and not isinstance(rate, bool) and math.isfinite(rate)
        if not number or rate <= 0:
            raise ValueError(f"--sampling-rate {name}={rate!r}: a rate must be a finite number above 0 (Hz).")
        if name not in datasets:
            try:
                check_dataset_reference(name)
            except ValueError as error:
                raise ValueError(
                    f"--sampling-rate names {name!r}, which is not among --datasets ({', '.join(datasets)}): {error}"
                ) from None
        checked[str(name)] = float(rate)
    return checked


__all__ = ["DEFAULT_ARMS", "ProtocolConfig", "default_finetune_settings"]
