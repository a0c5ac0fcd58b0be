"""Fine-tuning with the `transformers.Trainer`: classification or regression, from a pre-trained checkpoint or from
scratch, full fine-tuning, linear probe or LoRA, with early stopping on a validation set.

The pieces are public because the low-data protocol (`citrus_hf.evaluation`) reuses them: building the task model
(`build_citrus_task_model`); running the `Trainer` is in `citrus_hf.training.trainer`. The data side (loading a labelled set
with train / validation / test splits, label budgets, alignment to the model's input contract) is in
`citrus_hf.data.splits` and `citrus_hf.data.alignment`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers.utils import (
    CONFIG_NAME,
    FEATURE_EXTRACTOR_NAME,
    logging,
)

from .._files import written_into_folder
from ..configuration_citrus import CiTrusConfig
from ..data.alignment import (
    align_task_split,
    aligned_length,
    cropped_rows_notice,
    input_overrides,
    lost_band_notice,
    resolve_alignment,
    stretched_seconds,
    task_feature_extractor,
    with_input_overrides,
)
from ..data.splits import (
    CARVE_GROUPS,
    LABEL_TASKS,
    draw_budget,
    load_task_splits,
    parse_budget,
)
from ..loading import build_config, checkpoint_config, resolve_checkpoint
from ..vocabulary_citrus import CLASSIFICATION, REGRESSION
from .arguments import FinetuneArguments, TrainerSettings
from .launch import (
    check_launched_processes,
    launched_processes,
    main_process_speaks,
    process_state,
    resolve_mixed_precision,
)
from .metrics import check_metric_for_task, class_names_of, dumps_strict, per_class_report
from .pretrain import (
    CHECKPOINT_PREFIX,
    CHECKPOINTS_DIR,
    FINETUNE_MODEL_FILES,
    FINETUNE_RESULTS_FILE,
    SUMMARY_FILE,
    _library_progress_bars,
    holds_pretraining_run,
    model_files_in,
    run_environment,
)
from .recipes import (
    RECIPES,
    class_weights_for,
    fit_recipe,
    labels_per_class,
    metrics_of,
    missing_validation_classes,
    rare_class_notice,
    resolve_recipe,
    score,
    scored_outputs,
    split_recording_metrics,
    validation_shortfall,
)
from .rng import caller_random_state_kept
from .settings import counted_repr

logger = logging.get_logger(__name__)

RESULTS_FILE = FINETUNE_RESULTS_FILE  # what `finetune` writes next to the model (see `pretrain`, which names it)
# The Trainer's scratch folder inside the output folder (its checkpoints, TensorBoard logs), deleted after the fit.
TRAINER_SCRATCH = ".citrus-trainer"
# The hidden folder `_save_run` writes the run into before moving it in.
STAGING_PREFIX = ".citrus-finetune-"

# ------------------------------------------------------------------------------------------------------- models


def build_citrus_task_model(
    task: str,
    num_channels: int,
    label_names: list[str] | None = None,
    checkpoint: str | os.PathLike | None = None,
    config: CiTrusConfig | None = None,
    overrides: dict[str, Any] | None = None,
    target_names: list[str] | None = None,
):
    """A `CiTrusForSequenceClassification` / `CiTrusForRegression` for `num_channels`-channel input.

    From `checkpoint` (a pre-training or task checkpoint of any task and number of classes: the backbone is loaded
    strictly, the head is new) or, when it is None, freshly initialised from `config` (the same input contract, from
    scratch). `overrides` replace config fields of the input contract (normalisation, see `input_overrides`) and of
    the head (a recipe's `head_overrides`). A regressor's one target is named `target_names[0]` (its `id2label`,
    `config.target_names`: the set's name of it, `TaskSplits.target_names`), or unnamed when None.
    """
    from ..modeling_citrus import CiTrusForRegression, CiTrusForSequenceClassification, head_fitted_by_caller

    if task not in LABEL_TASKS:
        raise ValueError(f"task must be one of {LABEL_TASKS}, got {task!r}.")
    # the checkpoint's channel names and modalities are not the task's; `overrides` may name the task's channels
    overrides = {**(overrides or {}), "num_channels": num_channels, "channel_modalities": None}
    overrides.setdefault("channel_names", None)
    if task == CLASSIFICATION:
        if not label_names:
            raise ValueError("A classification model needs the class names (label_names).")
        overrides.update(
            id2label=dict(enumerate(label_names)),
            label2id={name: index for index, name in enumerate(label_names)},
            problem_type="single_label_classification",
        )
        model_class = CiTrusForSequenceClassification
    else:
        # a classifier's class names, when the checkpoint was one, would be false metadata on a regressor
        fresh = CiTrusConfig()
        names = dict(enumerate(target_names)) if target_names else fresh.id2label
        overrides.update(
            num_targets=1, problem_type=REGRESSION, id2label=names, label2id={name: i for i, name in names.items()}
        )
        model_class = CiTrusForRegression
    if checkpoint is not None:
        with head_fitted_by_caller():  # the recipe fits the new head next: no "fine-tune it before use"
            # A task checkpoint's trained head belongs to its own task: the new task gets a new head, whatever the
            # checkpoint's task or number of classes (the backbone still loads strictly). In float32 whatever the
            # checkpoint was saved in: transformers loads a bf16 checkpoint as bf16, and AdamW on bf16 weights rounds
            # most updates away (8-17% of the weights moved in a short run, against all of them from float32).
            model = model_class.from_pretrained(
                str(resolve_checkpoint(checkpoint)),
                replace_head=True,
                ignore_mismatched_sizes=True,
                dtype=torch.float32,
                **overrides,
            )
        if model_class.__name__ in (model.config.architectures or []):  # the saved head was loaded: start it anew
            logger.info(f"{checkpoint}: its trained {model_class.head_name} is replaced by a new one for this task.")
            _reset_head(getattr(model, model_class.head_name), model.config.initializer_range)
        _check_finite_checkpoint(model, checkpoint)
    else:
        if config is None:
            raise ValueError("Give a pre-trained `checkpoint` or a `config` to train from scratch.")
        model = model_class(with_input_overrides(config, overrides))
    return model


def _check_finite_checkpoint(model, checkpoint: str | os.PathLike) -> None:
    """Refuse a task model built on `checkpoint` whose weights, or outputs on two random windows of its input, are NaN
    or infinite (a pre-training run that diverged at its last step saved such a model): the probe then said "drop
    those rows" of the features and fine-tuning blamed the learning rate and the data, neither naming the
    checkpoint."""
    from .callbacks import non_finite_in, random_windows

    if problem := non_finite_in(model, random_windows(model), "random windows of its input shape"):
        raise ValueError(
            f"The checkpoint {checkpoint} is not finite: {problem}, as a "
            "pre-training run that diverged saves it. Fine-tune from another checkpoint (an earlier one of that run, "
            "its checkpoints/step-N), or from scratch (--model-config)."
        )


def _reset_head(head: torch.nn.Module, initializer_range: float) -> None:
    """Initialise a task head's layers as a new model's: transformers' own initialisation skips weights that were
    loaded from a checkpoint."""
    with torch.no_grad():
        for module in head.modules():
            if isinstance(module, torch.nn.Linear):
                torch.nn.init.normal_(module.weight, std=initializer_range)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif module is not head and hasattr(module, "reset_parameters"):
                module.reset_parameters()


def init_regression_bias(head: torch.nn.Linear, targets: np.ndarray) -> None:
    """Start any regression head (the PatchTST baselines' too) at the training targets' mean: heart rates sit near 70
    bpm, and a head that starts at 0 would spend most of a short fine-tuning run learning the offset (a CiTrus
    regressor has it as `init_regressor_bias`)."""
    with torch.no_grad():
        head.bias.fill_(float(np.mean(targets)))


# -------------------------------------------------------------------------------------------------- finetune()


@dataclass
class FinetuneResult:
    """Test and best-validation metrics of a fine-tuning run, with its evaluation history."""

    output_dir: str
    task: str
    recipe: str
    test_metrics: dict[str, float]
    validation_metrics: dict[str, float]
    num_train: int
    num_validation: int
    num_test: int
    best_step: int | None
    steps: int
    history: list[dict[str, Any]]
    seconds: float
    # what the recipe did beyond its name (`RecipeOutcome.details`): the probe's penalty, the soup's member count, ...
    # and the class weights of `--class-weight` (`class_weights`: class name -> weight)
    recipe_details: dict[str, Any] = field(default_factory=dict)
    # classification: the test split per class (`metrics.per_class_report`: "classes", "support", "f1",
    # "confusion_matrix" with a row per true class, "absent" = the model's classes without a test example)
    test_classes: dict[str, Any] | None = None
    # data-parallel processes of a launch (`accelerate launch`, torchrun): each took `per_device_batch_size` windows
    # per optimizer step
    world_size: int = 1
    # the labelled examples the `num_train` windows were cut from (`window_seconds`: the recordings, which the label
    # budget counts); None where every training row is an example of its own
    num_train_examples: int | None = None
    # the test split scored per recording (`recipes.recording_metrics`: the mean of each recording's window
    # probabilities, as `citrus predict` labels a file) and how many recordings; None where the windows are no
    # labelled recording's pieces (one window each, windows of several labels in one recording, a file's events)
    test_recording_metrics: dict[str, float] | None = None
    num_test_recordings: int | None = None

    def __post_init__(self) -> None:
        # absolute: a relative output folder pointed nowhere once a notebook's `%cd` changed the current folder
        self.output_dir = os.path.abspath(self.output_dir)

    def __repr__(self) -> str:
        # the evaluation history by its length: an entry of about 300 characters per evaluation (every 10 steps by
        # default), which a notebook printed whole
        return counted_repr(self, ("history",))


def finetune(args: FinetuneArguments) -> FinetuneResult:
    """Fit CiTrus to a labelled set with a recipe (see `FinetuneArguments`, `citrus_hf.training.recipes`); saves the
    model and its feature extractor to `args.output_dir` and returns the test metrics. With
    `args.trainer.show_progress` off, datasets' and transformers' progress bars are off during the run too. The run
    seeds Python's, numpy's and torch's global generators from `args.trainer.seed` (same seed, same run); the caller's
    states of those generators are put back on the way out."""
    from .run_lock import output_folder_lock

    launch = _launch_state()
    with (
        caller_random_state_kept(),
        # the libraries' bars (transformers' "Loading weights") from the local main process alone, as the Trainer's
        _library_progress_bars(args.trainer.show_progress and (launch is None or launch.is_local_main_process)),
        main_process_speaks(launch is None or launch.is_main_process),
        output_folder_lock(
            args.output_dir,
            "citrus finetune",
            launch,
            overwrite=args.overwrite_output_dir,
            takeover="--overwrite-output-dir",
            leftovers=(f"{STAGING_PREFIX}*", TRAINER_SCRATCH),  # a killed run's
        ),
    ):
        return _finetune(args, launch)


def _named_targets(splits, args: FinetuneArguments):
    """`splits` whose target is named `--target-names`' name, where it was given: a set of one's own holds its target
    in a column called `target`, and only the user knows what it measures (a registered set's own names are the
    default). Names given for a classification set are refused: its classes are named by its labels."""
    if args.target_names is None:
        return splits
    if splits.task != REGRESSION:
        raise ValueError(
            f"--target-names names a regression set's target, and {args.dataset} is a classification set (its "
            "`label` column's class names name the outputs): leave --target-names out."
        )
    return dataclasses.replace(splits, target_names=list(args.target_names))


def _finetune(args: FinetuneArguments, launch) -> FinetuneResult:
    from transformers import enable_full_determinism, set_seed

    from .trainer import trainer_precision

    start = time.perf_counter()
    _check_fresh_output_dir(args)
    # The precision the fine-tuning trains in (a launch's bf16 changes the weights and the metrics), resolved before
    # any data loads and recorded with the arguments; the caller's settings stay as given
    args = copy.copy(args)
    args.trainer = trainer_precision(args.trainer)
    if launch is not None:  # no process may write the folder before every process has checked it
        launch.wait_for_everyone()
    # Under a launcher every process fits (the Trainer's steps are data-parallel; the probe's closed form is the same
    # in each); the main process alone writes the folder, as the Trainer saves its checkpoints.
    writes = launch is None or launch.is_main_process
    if args.model is not None:
        contract = checkpoint_config(args.model)  # (its errors name the --model given, not a Hub snapshot)
    else:
        contract = build_config(args.model_config, **args.config_overrides)
    splits = load_task_splits(
        args.dataset,
        args.dataset_options,
        args.train_split,
        args.validation_split,
        args.test_split,
        args.validation_fraction,
        sampling_rate=args.sampling_rate,
        nan_policy=args.nan_policy,
        # a set too small to carve one (a few recordings per class) still fits: every recipe runs without it
        require_validation=False,
        # windows of a set of your own in whole patches: the model takes no part of one, and the checkpoint records
        # the window it was trained on for the pipeline to cut
        patch_seconds=contract.patch_length / contract.sampling_rate,
    )
    splits = _named_targets(splits, args)
    budget = parse_budget(args.label_budget)
    # the budget counts labelled examples: every window of a recording `window_seconds` cut is one of them
    chosen = draw_budget(splits.labels("train"), budget, args.trainer.seed, groups=splits.examples())
    # "auto" decides on the pool a carve leaves, as the recipes that fine-tune (and read validation) get it
    recipe = (
        RECIPES["finetune"]
        if args.lora
        else resolve_recipe(args.recipe, labels_per_class(_drawn_labels(splits, chosen), splits.task), splits.task)
    )
    if not recipe.trains and splits.carved_from is not None and len(splits.validation):
        # A recipe without optimizer steps selects no step on validation: a carve would only take labelled examples
        # from it (one of a class's two), so the training split stays whole and the draw is made from all of it
        carved = splits.num_examples("validation")  # (a recording cut into windows is one of them)
        splits = splits.without_carve(
            f"none: recipe {recipe.name!r} reads no validation split, so none was carved out of "
            f"{splits.split_names['train']}"
        )
        chosen = draw_budget(splits.labels("train"), budget, args.trainer.seed, groups=splits.examples())
        logger.info(
            f"{args.dataset} has no validation split and recipe {recipe.name!r} reads none: no validation split is "
            f"carved out of train, so its {carved} examples stay in the pool the labelled examples are drawn from (no "
            "validation metrics are reported)."
        )
    elif len(splits.validation) == 0:
        per_class = " per class" if splits.task == CLASSIFICATION else ""  # (a regression set has no classes)
        reason = (
            f"has no validation split and too few {CARVE_GROUPS[splits.carved_by]}{per_class} to carve one"
            if splits.carved_by
            else "has an empty validation split"
        )
        logger.warning(
            f"{args.dataset} {reason}: the recipe runs its fixed schedule (no early stopping) and no validation "
            "metrics are reported."
        )
    check_metric_for_task(args.trainer.metric_for_best_model, splits.task)
    _check_enough_for_the_probe(args, recipe, len(chosen), len(splits.labels("train")))
    train_where, train_rows = splits.where("train")
    overrides = input_overrides(
        args.normalization,
        splits.num_channels,
        splits.train,
        args.nan_policy,
        where=f"{args.dataset} {train_where}",
        row_numbers=train_rows,
    )
    if splits.channel_names:  # the model and its extractor keep them: prediction then picks channels by name
        overrides["channel_names"] = splits.channel_names
    splits_to_align = [splits.train, splits.validation, splits.test]
    alignment = resolve_alignment(args.alignment, splits_to_align, contract, args.sampling_rate)
    if alignment == "resample" and (notice := cropped_rows_notice(splits_to_align, contract, args.sampling_rate)):
        logger.warning(notice)
    if notice := lost_band_notice(splits_to_align, contract, args.sampling_rate):
        logger.warning(notice)
    if alignment == "interpolate" and args.alignment == "auto":
        seconds = stretched_seconds(splits_to_align, args.sampling_rate)[-1]  # (one duration: `resolve_alignment`)
        logger.warning(
            f"alignment='auto': every recording lasts {seconds:g} s, longer than the model's window "
            f"({contract.context_length} samples at {contract.sampling_rate:g} Hz) but holds no more samples than "
            "that, so each is stretched onto the window (alignment='interpolate') instead of being cropped to its "
            "start. The checkpoint records that duration, and predicting on a recording of another duration says so; "
            "pass --alignment resample to crop."
        )
    # the units the set's files declare travel as the channel names do, into the saved extractor (not the model: they
    # say what a recording must be in before the extractor normalises it)
    extractor = task_feature_extractor(
        with_input_overrides(contract, overrides),
        alignment,
        nan_policy=args.nan_policy,
        channel_units=splits.channel_units,
    )
    pool_labels = splits.labels("train")
    if splits.task == REGRESSION:
        for notice in regression_target_notices(pool_labels[chosen], recipe.trains or args.lora, splits.target_names):
            logger.warning(f"{args.dataset}: {notice}.")
    if budget.kind == "per_class" and splits.task == CLASSIFICATION:
        _warn_short_classes(splits, _drawn_labels(splits, chosen), int(budget.value))
    if notice := rare_class_notice(
        "finetune" if args.lora else args.recipe,
        recipe,
        pool_labels[chosen],
        splits.task,
        splits.label_names,
        example_labels=_drawn_labels(splits, chosen),
    ):
        logger.warning(f"{args.dataset}: {notice}.")
    class_weights = None
    if args.class_weight != "none":
        if splits.task != CLASSIFICATION:
            raise ValueError(
                f"--class-weight {args.class_weight} weighs the classes of a classification set; {args.dataset} is a "
                "regression set: leave --class-weight out."
            )
        class_weights = class_weights_for(pool_labels[chosen], len(splits.label_names), args.class_weight)
    length = aligned_length(splits_to_align, extractor, args.sampling_rate)

    # errors name a row by its number in the user's split: the draw's rows, within the pool carved out of train
    def aligned(split: str, chosen_rows=None):
        where, rows = splits.where(split)
        rows = np.arange(len(getattr(splits, split))) if rows is None else np.asarray(rows)
        dataset = getattr(splits, split)
        if chosen_rows is not None:
            dataset, rows = dataset.select(chosen_rows), rows[chosen_rows]
        return align_task_split(dataset, extractor, splits.task, args.sampling_rate, length, rows, where)

    train, validation, test = aligned("train", chosen), aligned("validation"), aligned("test")
    if notice := splits.missing_classes_notice("test"):  # the notice `citrus evaluate` gives for the same set
        logger.warning(f"{args.dataset}: {notice}.")
    # early stopping counts the labelled examples validation holds: a recording cut into windows is one of them
    validation_examples = splits.examples("validation")
    _warn_unused_settings(
        args, recipe, validation, splits.task, pool_labels[chosen], splits.label_names, validation_examples
    )

    if args.trainer.full_determinism:
        # for every recipe, not only those that build a Trainer (which does it from TrainingArguments); it seeds as
        # set_seed does, and sets the cuBLAS workspace that deterministic CUDA matrix products need
        enable_full_determinism(args.trainer.seed)
    else:
        set_seed(args.trainer.seed)
    model = build_citrus_task_model(
        splits.task,
        splits.num_channels,
        splits.label_names,
        checkpoint=args.model,
        config=contract,
        overrides={**overrides, **recipe.head_overrides_for(pool_labels[chosen], splits.task)},
        target_names=splits.target_names,
    )
    if splits.task == REGRESSION:
        model.init_regressor_bias(pool_labels[chosen])
    if args.lora:
        from .lora import apply_lora

        # peft's "trainable params" line goes to stdout, which prints the run once: from the main process
        model = apply_lora(
            model, r=args.lora_r, alpha=args.lora_alpha, verbose=launch is None or launch.is_main_process
        )

    output_dir = Path(args.output_dir)
    # hidden, and the run's own (the run lock keeps other runs out): a plain `trainer` was a name a user's folder in
    # --output-dir could have (`--output-dir .` in a project), and was deleted with it after the fit. The same name
    # in every process of a launch, whose Trainers share the main process's checkpoints.
    trainer_dir = output_dir / TRAINER_SCRATCH
    # (only when asked for: a recipe of one's own written before `class_weights` existed takes no such argument)
    fit_options: dict[str, Any] = {} if class_weights is None else {"class_weights": class_weights}
    if validation_examples is not None:  # (a recipe of one's own that takes none is called without: `fit_recipe`)
        fit_options["validation_examples"] = validation_examples
    try:
        outcome = fit_recipe(recipe, model, train, validation, splits.task, args.trainer, trainer_dir, **fit_options)
    finally:
        if writes:
            # The Trainer's scratch checkpoints (whole model copies per soup member): nothing reads them once the fit
            # is over, a folder that is copied or pushed would carry them along, and a failed fit's (NaN weights)
            # looked like a checkpoint to resume from. The TensorBoard logs stay.
            keep_tensorboard_logs(trainer_dir, output_dir / "tensorboard")
            shutil.rmtree(trainer_dir, ignore_errors=True)
    _check_finite_fit(outcome, train, args.trainer)
    if class_weights is not None:
        outcome.details["class_weights"] = dict(zip(splits.label_names, class_weights.tolist(), strict=True))
    if writes:
        trained = splits.train.select(chosen)
        saved_extractor = _record_trained_window(outcome.model, extractor, length, trained, args.sampling_rate)
    test_outputs, test_labels = scored_outputs(outcome.model, test, splits.task)
    per_recording = _per_recording(splits, test_outputs, args.sampling_rate)
    result = FinetuneResult(
        output_dir=str(output_dir),
        task=splits.task,
        recipe=recipe.name,
        test_metrics=metrics_of(test_outputs, test_labels, splits.task),
        validation_metrics=score(outcome.model, validation, splits.task) if len(validation) else {},
        num_train=len(train),
        num_validation=len(validation),
        num_test=len(test),
        best_step=outcome.best_step,
        steps=outcome.steps,
        history=outcome.history,
        seconds=time.perf_counter() - start,
        recipe_details=outcome.details,
        world_size=1 if launch is None else launch.num_processes,
        num_train_examples=None if splits.examples() is None else len(np.unique(splits.examples()[chosen])),
        test_recording_metrics=None if per_recording is None else per_recording[0],
        num_test_recordings=None if per_recording is None else per_recording[1],
        test_classes=(
            per_class_report(test_outputs, test_labels, splits.label_names) if splits.task == CLASSIFICATION else None
        ),
    )
    summary = asdict(result) | {
        "arguments": asdict(args),
        # what the Trainer trained in: --mixed-precision, else the launch's (`trainer.trainer_precision`)
        "mixed_precision": args.trainer.mixed_precision,
        "validation_source": splits.validation_source,
        # the labelled windows drawn: indices into the training pool (the train split less a carved validation)
        "train_indices": chosen.tolist(),
        # the torch version and thread count: training's parallel sums round differently with another thread count
        "environment": run_environment(),
        # the local folders --model and --dataset named, where the run started: a card built from elsewhere (`citrus
        # push`) read "pt/base" as a Hub id and linked someone else's repository
        "local_paths": {
            name: str(Path(str(value)).expanduser().resolve())
            for name, value in (("model", args.model), ("dataset", args.dataset))
            if isinstance(value, (str, os.PathLike)) and Path(str(value)).expanduser().exists()
        },
    }
    if writes:
        _save_run(output_dir, outcome.model, saved_extractor, summary, args.lora, args.overwrite_output_dir)
    if launch is not None:  # every process returns once the folder holds the run (a script may load it next)
        launch.wait_for_everyone()
    return result


# A fine-tuning's optimizer steps move a regressor's outputs by units, not thousands: AdamW moves each weight by about
# the learning rate a step, whatever the loss's scale. Targets spread this widely are learnt as their mean (1.1e7 to
# 1.5e7: every prediction the same number); heart rates (a spread near 10 bpm) train.
TRAINED_TARGET_SPREAD_LIMIT = 1e3
# ... nor by thousandths: below this spread a new head's random weights, and each step after, move the outputs by more
# than what tells the targets apart (targets of spread 0.001 fine-tuned to a Pearson r near 0, the same targets x 10 to
# 0.98), and the only word was the model's own, at the first training batch.
TRAINED_TARGET_SPREAD_FLOOR = 5e-3
# The share of the targets' spread that float32's step at their size may reach before predictions lose what tells
# the targets apart (1e8 + 1..5: every prediction a multiple of 8, the error from 0.47 to 2.0).
FLOAT32_STEP_SHARE_LIMIT = 0.01


# What `regression_target_notices` advises beside rescaling targets a fine-tuning cannot fit at their scale.
PROBE_ALTERNATIVE = ", or use the probe (--recipe probe), fitted in closed form at any scale"


def regression_target_notices(
    targets: np.ndarray,
    trains: bool,
    target_names: Sequence[str] | None = None,
    alternative: str = PROBE_ALTERNATIVE,
) -> list[str]:
    """Warnings (sentences without their full stop) for regression `targets` `(n,)` or `(n, targets)` that a CiTrus
    regressor cannot fit as they are, each naming the fix: a spread of `TRAINED_TARGET_SPREAD_LIMIT` or more, or below
    `TRAINED_TARGET_SPREAD_FLOOR`, for a recipe that `trains` with optimizer steps, and values so large against their
    spread that float32, the head's and the outputs' type, rounds them by `FLOAT32_STEP_SHARE_LIMIT` of it or more (any
    recipe: the probe's float64 fit is folded into the float32 head). Fitting standardised targets and folding the scale
    back would not cure the second: the outputs themselves are float32.

    Several targets are judged each on its own, named by `target_names` (else their index), as the model fits each
    (pooled, heart rates beside breathing rates in litres spread over the gap between the two, and a target of tiny
    spread beside a wide one went unsaid). `alternative` follows the advice to rescale a spread a fine-tuning cannot
    fit (`PROBE_ALTERNATIVE`: the probe; `citrus evaluate` names the arms it would help)."""
    targets = np.asarray(targets, dtype=np.float64)
    columns = targets.reshape(len(targets), -1) if targets.ndim > 1 else targets.reshape(-1, 1)
    notices = []
    for index, column in enumerate(columns.T):
        if columns.shape[1] == 1:
            subject, rescaled = "the regression targets", "the targets"
        else:
            name = repr(target_names[index]) if target_names else str(index)
            subject, rescaled = f"the values of regression target {name}", f"target {name}"
        notices += _target_notices(column, trains, subject, rescaled, alternative)
    return notices


def _target_notices(targets: np.ndarray, trains: bool, subject: str, rescaled: str, alternative: str) -> list[str]:
    """`regression_target_notices` of one target's values `targets` `(n,)`: `subject` names them in the sentence,
    `rescaled` in the advice to rescale."""
    if len(targets) < 2 or not np.isfinite(targets).all():
        return []
    spread, centre = float(np.std(targets)), float(np.mean(targets))
    if targets.min() == targets.max():  # (equal targets: `np.std` may still give a rounding error's 1e-19)
        return []
    notices = []
    if trains and spread >= TRAINED_TARGET_SPREAD_LIMIT:
        scale = 10 ** math.floor(math.log10(spread))
        notices.append(
            f"{subject} spread over {spread:.4g} (standard deviation; {targets.min():.6g} to "
            f"{targets.max():.6g}), and a fine-tuning's steps move the outputs by units, not thousands: it learns "
            f"about their mean. Rescale {rescaled} (divide them by {scale:g}, and multiply the predictions back)"
            + alternative
        )
    if trains and spread < TRAINED_TARGET_SPREAD_FLOOR:
        scale = 10 ** -math.floor(math.log10(spread))
        notices.append(
            f"{subject} spread over only {spread:.3g} (standard deviation; {targets.min():.6g} to "
            f"{targets.max():.6g}), less than a new head's random weights and a fine-tuning's steps move the outputs "
            f"by: it learns little of what tells them apart. Rescale {rescaled} (multiply them by {scale:g}, and "
            "divide the predictions back)" + alternative
        )
    step = float(np.spacing(np.float32(np.abs(targets).max())))
    if step >= FLOAT32_STEP_SHARE_LIMIT * spread:
        offset = float(f"{centre:.2g}")
        notices.append(
            f"{subject} ({targets.min():.9g} to {targets.max():.9g}) are so large against their spread "
            f"({spread:.4g}) that float32, in which the model's head computes its outputs, rounds them to multiples "
            f"of {step:g}: subtract an offset from {rescaled} before fitting (e.g. {offset:g}) and add it back to "
            "the predictions"
        )
    return notices


def _check_enough_for_the_probe(args: FinetuneArguments, recipe, drawn: int, pool: int) -> None:
    """Refuse, before any alignment, a probe-fitted recipe of fewer than 2 labelled examples (`drawn` of the `pool`
    the training split offers), with the fix that applies: a larger --label-budget only where the pool holds more
    (the probe's own check said so even when the budget took the whole split)."""
    from .recipes import ProbeFinetuneRecipe, ProbeRecipe

    if drawn >= 2 or not isinstance(recipe, (ProbeRecipe, ProbeFinetuneRecipe)):
        return
    fix = (
        f"give a larger --label-budget (the training pool holds {pool})"
        if pool > drawn
        else f"the training split holds no more: add labelled rows, or use --recipe finetune, which trains on {drawn} "
        "(and learns little from it)"
    )
    raise ValueError(
        f"{args.dataset}: {drawn} labelled example{'s' if drawn != 1 else ''} to fit, and recipe {recipe.name!r} "
        f"needs at least 2 (its ridge read-out chooses its penalty by leave-one-out); {fix}."
    )


# The training windows a fitted model's outputs are checked on before it is saved (`_check_finite_fit`).
FINITE_CHECK_WINDOWS = 16


def _check_finite_fit(outcome, train, settings: TrainerSettings) -> None:
    """Refuse to save a fitted model whose weights, or outputs on the first `FINITE_CHECK_WINDOWS` training windows,
    are NaN or infinite. The Trainer's guard reads each step's loss before that step's update, so the weights the last
    step wrote were never checked: a run whose last step blew the model up was saved, scored "accuracy nan", and its
    pipeline labelled every window with score nan."""
    from .callbacks import NonFiniteLossError, non_finite_in, non_finite_loss_message
    from .trainer import RESTART_ADVICE

    model = outcome.model
    rows = train.select(range(min(FINITE_CHECK_WINDOWS, len(train)))).with_format("torch")[:]
    device = next(model.parameters()).device
    inputs = {"patch_mask": rows["patch_mask"].to(device)} if "patch_mask" in rows else {}
    windows = rows["input_values"].to(device)
    problem = non_finite_in(model, windows, f"{len(windows)} training windows", **inputs)
    if problem is None:
        return
    if not outcome.steps:  # a fit without optimizer steps from a checkpoint found finite: not a divergence
        raise ValueError(f"The fitted model is not finite ({problem}); it was not saved.")
    raise NonFiniteLossError(
        non_finite_loss_message(
            outcome.steps,
            math.nan,
            settings.learning_rate,
            settings.mixed_precision or "no",
            weight_decay=settings.weight_decay,
            advice=RESTART_ADVICE,
            broken_weights=problem,
        )
    )


def _per_recording(splits, outputs: np.ndarray, sampling_rate: float | None):
    """`(metrics, recordings)` of the test split scored per labelled recording (`split_recording_metrics`), or None:
    a split whose windows are no labelled recording's pieces (the events of a file among them)."""
    scores = split_recording_metrics(splits, "test", outputs, sampling_rate)
    return None if scores.metrics is None else (scores.metrics, scores.recordings)


def _drawn_labels(splits, chosen: np.ndarray) -> np.ndarray:
    """The labels of the labelled examples `chosen` (rows of the training pool) hold: one per recording that
    `window_seconds` cut (`TaskSplits.example_labels`), what "auto" and the budget's notices count."""
    return splits.example_labels("train", chosen)


def _warn_short_classes(splits, drawn: np.ndarray, asked: int) -> None:
    """Say that a per-class `--label-budget` of `asked` drew all of the classes that have fewer in the training pool
    (`drawn`: the drawn examples' labels), and what of theirs a validation split carved out of train took."""
    classes, counts = np.unique(drawn, return_counts=True)
    short = classes[counts < asked]
    if not len(short):
        return
    carved = ""
    if splits.carved_from is not None and len(splits.validation):
        # the carve's labelled examples of each class, as `drawn` counts them (a recording, not its windows)
        held = dict(zip(*np.unique(splits.example_labels("validation"), return_counts=True), strict=True))
        took = {name: int(held[c]) for name, c in zip(class_names_of(short, splits.label_names), short) if held.get(c)}
        if took:
            carved = (
                f"; the validation split carved out of train took {took} of them (a validation split of the set's "
                "own leaves train whole)"
            )
    logger.warning(
        f"--label-budget asked for {asked} labelled examples per class; {len(short)} of the {len(classes)} classes "
        f"have fewer in the training pool (fewest: {counts.min()}), so all of theirs are used{carved}."
    )


def _launch_state():
    """Accelerate's state of a launch of several processes (`accelerate launch`, torchrun), joined into one process
    group now, or None outside one. Refuses a launch whose processes Accelerate would run each alone
    (`launch.check_launched_processes`): they would all write the same folder at once."""
    launch = launched_processes()
    if launch is None or launch[1] < 2:
        return None
    state = process_state()
    check_launched_processes("finetune", state.num_processes, state.is_main_process)
    return state


def _record_trained_window(model, extractor, length: int, trained, sampling_rate: float | None):
    """The extractor to save with a model trained on windows of `length` model samples, `model`'s config set to match.

    Recordings shorter than the context are kept at their own duration, so a set of 2 s windows trains on 2 s of
    tokens; the checkpoint then says so (`context_length`, the longest window it was trained on), and the pipeline
    and `citrus predict` cut long recordings into windows of that length. With the pre-training checkpoint's 10 s,
    they cut 10 s windows, which the model had never seen (blink EEG fitted on 2 s windows: 0.99 accuracy on 2 s
    windows, 0.84 on 10 s recordings of five of them). Windows as long as the context change nothing.

    "interpolate" stretches every recording onto the context, each by its duration's factor: the saved extractor
    records the durations of the rows of `trained` (`stretched_seconds`; rates as `resolve_alignment` reads them), and
    the pipeline warns of a recording of another duration, which it would stretch by another factor (a 60 s file at
    90 bpm scored 100.7 by a model fitted on 15 s rows).
    """
    if extractor.alignment == "interpolate":
        stretched = copy.deepcopy(extractor)
        stretched.stretched_seconds = stretched_seconds([trained], sampling_rate)
        return stretched
    if length >= extractor.context_length:
        return extractor
    task_model = model.get_base_model() if callable(getattr(model, "get_base_model", None)) else model  # peft
    task_model.config.context_length = length
    window = copy.deepcopy(extractor)
    window.context_length = length
    logger.info(
        f"The training windows were {length} samples ({length / extractor.sampling_rate:g} s), shorter than the "
        f"context of {extractor.context_length}: the checkpoint records that window, and its pipeline cuts long "
        "recordings into windows of it."
    )
    return window


# What a fine-tuning run writes into its output folder (`save_pretrained` with the remote code its config names, or
# `save_adapter` with its card; the extractor; the run record): a second run into the folder replaces them all, or an
# adapter, card or weights of the first would be served beside the second's (`pipeline(model=folder)` prefers the
# adapter).
RUN_FILES = (
    *FINETUNE_MODEL_FILES,
    CONFIG_NAME,
    FEATURE_EXTRACTOR_NAME,
    "configuration_citrus.py",
    "modeling_citrus.py",
    "feature_extraction_citrus.py",
    "vocabulary_citrus.py",
    "_version.py",
    "pipelines.py",
    "backends.py",
)


def keep_tensorboard_logs(trainer_dir: Path, kept: Path) -> None:
    """Move the Trainer's TensorBoard logs (`--report-to tensorboard`: `<trainer_dir>/runs/<run>`) to `<kept>/<run>`,
    out of the scratch folder that is deleted next (they went with it): `citrus finetune`'s `<output-dir>/tensorboard`,
    `citrus evaluate`'s `<output-dir>/tensorboard/<dataset>-<arm>-<budget>-<seed>`."""
    logs = trainer_dir / "runs"
    if not logs.is_dir():
        return
    kept.mkdir(parents=True, exist_ok=True)
    for run in sorted(logs.iterdir()):
        shutil.move(str(run), str(kept / run.name))
    logger.info(f"TensorBoard logs in {kept} (`tensorboard --logdir {kept}`).")


def _check_fresh_output_dir(args: FinetuneArguments) -> None:
    """Refuse, before any work, to fit into a folder whose files the run would overwrite: the `--model` checkpoint's
    own folder, a pre-training run's folder, or one holding another fine-tuning run's model unless
    `overwrite_output_dir` asks to replace that run (its files are deleted only once the new model is fitted,
    `_clear_earlier_run`, so a run that fails leaves the earlier one as it was)."""
    output_dir = Path(args.output_dir).expanduser().resolve()
    if args.model is not None and output_dir.is_dir():
        try:
            model_dir = Path(resolve_checkpoint(args.model, local_files_only=True)).resolve()
        except OSError:  # a Hub id not cached yet: it is not this folder
            model_dir = None
        if model_dir == output_dir:
            raise ValueError(
                f"--output-dir {args.output_dir!r} is the folder of the --model checkpoint; the run would write over "
                "the weights it starts from. Give another --output-dir."
            )
    if holds_pretraining_run(output_dir):
        raise ValueError(
            f"--output-dir {args.output_dir!r} holds a pre-training run ({SUMMARY_FILE} or "
            f"{CHECKPOINTS_DIR}/{CHECKPOINT_PREFIX}N); fine-tune into another folder (pass this one as --model to start "
            "from it)."
        )
    found = model_files_in(output_dir)
    if found and not args.overwrite_output_dir:
        raise ValueError(
            f"--output-dir {args.output_dir!r} already holds a fine-tuned model ({', '.join(found)}); give another "
            "--output-dir, or pass --overwrite-output-dir to replace that run (its model, adapter, card and records)."
        )


def _save_run(
    output_dir: Path, model, extractor, summary: dict[str, Any], lora: bool, overwrite_output_dir: bool
) -> None:
    """Write the fitted `model` (a peft model with `lora`: its adapter and head) with its `extractor` and the run's
    `summary` (`RESULTS_FILE`) into `output_dir` at once, once the run is scored: into a hidden folder inside it first,
    then moved in, the earlier run's files (`--overwrite-output-dir`) cleared just before. A run interrupted or failing
    before then leaves the folder as it was: the model was saved before the test split was scored and its records
    written, so Ctrl-C in between left a model without records (which loads as a finished run, and which the same
    command then refused to replace), and the earlier run of an `--overwrite-output-dir` was already gone."""
    # the records last: a folder holding them holds the whole run
    with written_into_folder(output_dir, STAGING_PREFIX, last=RESULTS_FILE) as staged:
        if lora:
            from .lora import save_adapter

            # The adapter and the task head only; `load_adapter(args.model, output_dir)` puts them back on the base.
            save_adapter(model, staged, extractor)
        else:
            model.save_pretrained(str(staged))
            extractor.save_pretrained(str(staged))
        (staged / RESULTS_FILE).write_text(dumps_strict(summary, indent=2), encoding="utf-8")
        if overwrite_output_dir:  # (the block's files are moved in next)
            _clear_earlier_run(output_dir)


def _clear_earlier_run(output_dir: Path) -> None:
    """Delete an earlier run's files (`RUN_FILES`) from `output_dir`, just before the new run saves its own
    (`--overwrite-output-dir`)."""
    if model_files_in(output_dir):
        logger.warning(f"Replacing the earlier run in {output_dir} (--overwrite-output-dir).")
        for name in RUN_FILES:
            (output_dir / name).unlink(missing_ok=True)


# The Trainer settings `finetune` applies itself, whatever the recipe: the seed (the label draw, the initialisation),
# `full_determinism` (`enable_full_determinism` before the model is built) and the progress bars. A recipe without
# optimizer steps (`Recipe.trains` False: the probe's fit reads no setting) uses no other: `report_to` and
# `logging_steps` log the Trainer's steps, and there are none.
SETTINGS_OF_EVERY_FINETUNE = ("seed", "full_determinism", "show_progress")


def settings_without_steps(
    settings: TrainerSettings, defaults: TrainerSettings, applied: tuple[str, ...] = SETTINGS_OF_EVERY_FINETUNE
) -> list[str]:
    """The names of `settings` given (other than their `defaults`) that a run without optimizer steps does not read:
    all but those the runner `applied` itself."""
    return [
        name
        for name in vars(defaults)
        if name not in applied and is_given(name, getattr(settings, name), getattr(defaults, name))
    ]


def is_given(name: str, value: Any, default: Any) -> bool:
    """Whether a Trainer setting's `value` was asked for rather than left at its `default`. The commands resolve
    `mixed_precision` before the run (`trainer.trainer_precision`), so the precision a default resolves to (the
    launch's, else "no") was not asked for either."""
    if name == "mixed_precision":
        return value not in (default, resolve_mixed_precision(default))
    return value != default


def warn_without_effect(names: list[str], reason: str) -> None:
    """Say that the options `names` (settings' field names) have no effect on this run, and why: one warning."""
    if names:
        flags = ", ".join("--" + name.replace("_", "-") for name in names)
        logger.warning(f"{flags} {'has' if len(names) == 1 else 'have'} no effect on this run: {reason}.")


def _warn_unused_settings(
    args: FinetuneArguments,
    recipe,
    validation,
    task: str,
    training_labels: np.ndarray | None = None,
    label_names: list[str] | None = None,
    validation_examples: np.ndarray | None = None,
) -> None:
    """Say which of the given settings the run will not use: the training settings when the recipe takes no
    optimizer step (the probe, which `--recipe auto` picks below `AUTO_PROBE_FINETUNE_FROM_PER_CLASS` labels per
    class), the step-selection ones when the validation split is too small to select on (and, given or not, when it
    lacks a class of the `training_labels`: early stopping was to run), LoRA's without `--lora`, the from-scratch
    model config with a checkpoint."""
    defaults = TrainerSettings()
    unused: list[tuple[list[str], str]] = []
    training_labels = np.zeros(0, dtype=np.int64) if training_labels is None else training_labels

    def given(names) -> list[str]:
        return [name for name in names if is_given(name, getattr(args.trainer, name), getattr(defaults, name))]

    if not recipe.trains:
        reason = f"recipe {recipe.name!r} fits a ridge read-out without optimizer steps (--recipe finetune trains)"
        unused.append((settings_without_steps(args.trainer, defaults), reason))
    elif shortfall := validation_shortfall(validation, task, training_labels, label_names, validation_examples):
        if validation and task == CLASSIFICATION and missing_validation_classes(validation, training_labels):
            # said whatever was given: the split may look large enough, and early stopping was expected
            logger.warning(
                f"{shortfall[0].upper()}{shortfall[1:]}: the run chooses no step on it (its metrics would leave those "
                "classes out, AUROC would be undefined) and keeps its last weights (no early stopping)."
            )
        else:
            reason = f"{shortfall}, too few to choose a step on, so the run keeps its last weights"
            unused.append((given(("eval_steps", "early_stopping_patience", "metric_for_best_model")), reason))
    if args.validation_fraction != FinetuneArguments.validation_fraction and not recipe.trains:
        unused.append((["validation_fraction"], f"recipe {recipe.name!r} reads no validation split"))
    if not args.lora:
        names = [name for name in ("lora_r", "lora_alpha") if getattr(args, name) != getattr(FinetuneArguments, name)]
        unused.append((names, "LoRA settings apply with --lora"))
    if args.model is not None and args.model_config != FinetuneArguments.model_config:
        unused.append((["model_config"], "the checkpoint given with --model brings its own config"))
    for names, reason in unused:
        warn_without_effect(names, reason)


__all__ = [
    "FinetuneArguments",
    "FinetuneResult",
    "RESULTS_FILE",
    "TrainerSettings",
    "build_citrus_task_model",
    "finetune",
    "init_regression_bias",
    "keep_tensorboard_logs",
    "regression_target_notices",
    "settings_without_steps",
    "warn_without_effect",
]
