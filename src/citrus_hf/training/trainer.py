"""Running the `transformers.Trainer` for a fine-tuning recipe: `train_with_trainer` (early stopping on a validation
set, the best model kept) and `train_and_evaluate` (then the test metrics). The recipes (`recipes.FinetuneRecipe`)
decide the schedule; `finetune` and the evaluation protocol run them.

Below them, what a user's own `Trainer` of a CiTrus model does differently from transformers' defaults, for the
`Trainer` hooks that `citrus_hf.publishing.hooks.register_trainer_checks` installs: an error metric chosen for the
best model is minimised (`set_metric_direction`), labels that transformers' label smoother takes out of the batch
get the model's own checks first (`check_smoothed_labels`), and `train_sampling_strategy="group_by_length"` groups
windows by their number of patches (`length_grouped_sampler`).

It imports nothing heavy at its top (torch, transformers and datasets only for type checkers): `recipes` (imported by
the command line's options, which must not load torch) imports `FINETUNE_EPOCHS` from it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._logs import huggingface_bars_shown
from ..vocabulary_citrus import CLASSIFICATION, COLLATED_LABEL_COLUMNS, ENCODER_ARCHITECTURES, REGRESSION
from .settings import TrainerSettings

if TYPE_CHECKING:
    import datasets
    import torch
    from transformers import PreTrainedModel, TrainingArguments

    # What the `Trainer` trains and evaluates on: aligned `datasets` rows, or a torch dataset (fusion windows,
    # augmented copies).
    TrainingSet = datasets.Dataset | torch.utils.data.Dataset
    # The sets given to a `Trainer` (or its `evaluate` / `predict`) by the argument that gave them; an evaluation set
    # may be a dict of sets.
    GivenSets = dict[str, TrainingSet | dict[str, TrainingSet] | None]

# The fine-tuning schedule: this many passes over the labelled examples (`recipes.FinetuneRecipe` bounds the steps
# they make), and the Trainer's when a run names neither steps nor epochs.
FINETUNE_EPOCHS = 30

# What a fine-tuning stopped by a NaN loss (`callbacks.NonFiniteLossCallback`) or by weights that compute NaN
# (`finetune`) advises: it has nothing to resume from.
RESTART_ADVICE = (
    "Nothing of the run was kept: start it again with a lower --learning-rate (a tenth, say) or a longer "
    "--warmup-steps."
)


def train_with_trainer(
    model: PreTrainedModel | torch.nn.Module,
    train: TrainingSet,
    validation: TrainingSet | None,
    task: str,
    output_dir: str | os.PathLike,
    settings: TrainerSettings,
    data_collator: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
    label_names: list[str] | None = None,
    *,
    class_weights: Any = None,
) -> dict[str, Any]:
    """Fine-tune `model` with the `Trainer` on `train`, early-stopping on `validation` (None or empty: no evaluation,
    the last weights are kept).

    Args:
        model: a model whose forward takes the collated batch and returns `loss` first.
        train / validation: aligned datasets (`align_task_split`).
        task: "classification" or "regression" (chooses the metrics).
        output_dir: the Trainer's checkpoints (only the best is kept).
        settings: see `TrainerSettings`.
        data_collator / label_names: for models with other input names (the PatchTST baselines).
        class_weights: `(num_classes,)` weights of a classifier's cross-entropy (`weighted_cross_entropy`), a numpy
            array or a list; None: the model's own loss.

    Returns:
        {"validation": best validation metrics, "history": every evaluation, "best_step", "steps", "trainer": the
        Trainer (its model is the best one)}.
    """
    import torch
    from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, default_data_collator
    from transformers.trainer_callback import PrinterCallback
    from transformers.utils import logging

    from .callbacks import DefinedMetricEarlyStopping, EvaluationHistoryCallback, NonFiniteLossCallback
    from .launch import LAUNCH_PRECISION, device_precision_notes, resolve_mixed_precision
    from .metrics import compute_metrics_fn, metric_greater_is_better
    from .numerics import denormals_flushed

    # None: the launch's (the commands resolve it once, with their notes, before any data loads: `trainer_precision`)
    precision = resolve_mixed_precision(settings.mixed_precision)
    use_cpu = not torch.cuda.is_available()
    # the launch's precision (`trainer_precision` resolved it into the settings, or none was resolved) is named as
    # such, with the fix that works: "leave --mixed-precision out" was said to a user who had
    from_launch = settings.mixed_precision is None or os.environ.get(LAUNCH_PRECISION, "").lower() == precision
    for note in device_precision_notes(precision, "cpu" if use_cpu else "cuda", from_launch=from_launch):
        # once per process: a protocol starts hundreds of fine-tunings with the same settings
        logging.get_logger(__name__).warning_once(note + ".")

    by_steps = settings.max_steps > 0
    metric = settings.metric_for_best_model
    use_validation = validation is not None and len(validation) > 0
    strategy = ("steps" if by_steps else "epoch") if use_validation else "no"
    schedule, schedule_kwargs = settings.lr_scheduler_type, dict(settings.lr_scheduler_kwargs)
    if not use_validation and schedule in METRIC_SCHEDULES:
        # it is stepped by the validation metric, which a draw without a usable validation split has none of:
        # transformers' arguments refused the run ("requires an eval strategy") in the middle of a protocol
        logging.get_logger(__name__).warning_once(
            f"--lr-scheduler-type {schedule} follows the validation metric, and this fine-tuning has no validation "
            "set (none given, or one without every class): its learning rate stays constant."
        )
        schedule, schedule_kwargs = "constant", {}
    arguments = TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=settings.num_train_epochs if settings.num_train_epochs is not None else FINETUNE_EPOCHS,
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
        lr_scheduler_type=schedule,
        lr_scheduler_kwargs=schedule_kwargs,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        optim="adamw_torch",
        seed=settings.seed,
        data_seed=settings.seed,
        full_determinism=settings.full_determinism,
        use_cpu=use_cpu,
        report_to=settings.report_to,
        logging_strategy="steps",
        logging_steps=settings.logging_steps,
        # the Hugging Face switches hide the Trainer's bars too (transformers' `disable_progress_bar()`,
        # HF_HUB_DISABLE_PROGRESS_BARS), as they hide the package's own: the Trainer reads only this
        disable_tqdm=not (settings.show_progress and huggingface_bars_shown()),
        dataloader_num_workers=0,
        remove_unused_columns=False,
        label_names=label_names or ["labels"],
    )
    # `TrainingArguments` takes ACCELERATE_MIXED_PRECISION whenever bf16 and fp16 are both False, so "no" must be
    # set after it, or a launch's bf16 would win over `--mixed-precision no` (the Trainer's Accelerator reads this)
    arguments.mixed_precision = precision
    if arguments.world_size > 1 and not getattr(model, "is_gradient_checkpointing", False):
        # transformers asks DDP to look for unused parameters in every model not checkpointing its gradients, an
        # extra pass over the autograd graph at every step, and torch warned on every process that there were none
        # (a CiTrus task model freezes its one unused parameter, the pre-training mask token); a head that reads the
        # CNN tokens leaves the transformer layers without gradients, which DDP must then be told to expect
        collate = data_collator or default_data_collator
        arguments.ddp_find_unused_parameters = bool(trainable_parameters_without_gradient(model, train, collate))
    history = EvaluationHistoryCallback()
    # its checkpoints are scratch copies for choosing the best step (weights only, deleted after the fit): none to cite
    guard = NonFiniteLossCallback(cites_checkpoints=False, advice=RESTART_ADVICE)
    callbacks = [history, guard]
    if use_validation and settings.early_stopping_patience:
        callbacks.append(DefinedMetricEarlyStopping(early_stopping_patience=settings.early_stopping_patience))
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=train,
        eval_dataset=validation if use_validation else None,
        data_collator=data_collator or default_data_collator,
        compute_metrics=compute_metrics_fn(task),
        callbacks=callbacks,
        compute_loss_func=None if class_weights is None else weighted_cross_entropy(class_weights, guard),
    )
    if not settings.show_progress:
        # Without a progress bar the Trainer prints every log dict instead; a protocol of hundreds of runs has its own.
        trainer.remove_callback(PrinterCallback)
    with denormals_flushed():
        trainer.train()
    # The final evaluations are reports, not training decisions (the early stopper would look for eval_loss in them),
    # nor steps of the run: the history would record the kept model's scores again under the last step, whose weights
    # they are not when an earlier step was kept.
    trainer.remove_callback(EarlyStoppingCallback)
    trainer.remove_callback(history)
    validation_metrics = _strip_prefix(trainer.evaluate(validation), "eval_") if use_validation else {}
    return {
        "validation": validation_metrics,
        "history": history.history,
        "best_step": trainer.state.best_global_step,
        "steps": trainer.state.global_step,
        "trainer": trainer,
    }


def trainable_parameters_without_gradient(
    model: torch.nn.Module,
    train: TrainingSet | list[dict[str, Any]],
    data_collator: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> list[str]:
    """The names of `model`'s trainable parameters that its loss on the first two rows of `train` (collated by
    `data_collator`) gives no gradient: those DDP must be told to expect (`find_unused_parameters`). One forward and
    backward pass in eval mode (no dropout drawn, no batch-norm statistic moved); the gradients it makes are removed
    and the model's mode put back, so the model is as it was."""
    import torch

    batch = data_collator([train[index] for index in range(min(2, len(train)))])
    trainable = {name: parameter for name, parameter in model.named_parameters() if parameter.requires_grad}
    kept = {name: parameter.grad for name, parameter in trainable.items()}
    was_training = model.training
    model.eval()
    try:
        for parameter in trainable.values():
            parameter.grad = None
        with torch.enable_grad():
            outputs = model(**batch)
            loss = outputs["loss"] if isinstance(outputs, dict) and outputs.get("loss") is not None else outputs[0]
            loss.float().sum().backward()
        return [name for name, parameter in trainable.items() if parameter.grad is None]
    finally:
        for name, parameter in trainable.items():
            parameter.grad = kept[name]
        model.train(was_training)


def weighted_cross_entropy(class_weights: Any, guard=None) -> Callable[..., torch.Tensor]:
    """A `Trainer` `compute_loss_func`: the cross-entropy of the model's logits `(batch, num_classes)`, each example
    weighted by its class's weight in `class_weights` `(num_classes,)`, summed and divided by the examples of the
    optimizer step (`num_items_in_batch`, as the Trainer hands it across accumulation and processes; else the batch's):
    the weights of `--class-weight balanced` average 1 over the training set, so the loss keeps the scale of the
    unweighted mean. The training losses go to `guard` (`NonFiniteLossCallback.watch`), which reads the model's own
    loss otherwise: the Trainer takes the labels out of the batch for this function, and the model returns none."""
    import torch

    weights = torch.as_tensor(class_weights, dtype=torch.float32)

    def loss(outputs, labels, num_items_in_batch=None):
        # the model's first output where it names none `logits`: given no labels it computed no loss, so that is its
        # logits (transformers' PatchTST calls them `prediction_logits`)
        logits = outputs["logits"] if isinstance(outputs, dict) and "logits" in outputs else outputs[0]
        labels = labels.long().reshape(-1)
        per_example = torch.nn.functional.cross_entropy(logits.float(), labels, reduction="none")
        total = (weights.to(logits.device)[labels] * per_example).sum()
        value = total / (num_items_in_batch if num_items_in_batch is not None else max(len(labels), 1))
        if guard is not None and torch.is_grad_enabled():  # evaluations run without gradients
            guard.watch(value)
        return value

    return loss


def trainer_precision(settings: TrainerSettings) -> TrainerSettings:
    """`settings` with the mixed precision its fine-tunings will train in (`--mixed-precision`, else the launch's,
    else "no": `launch.resolve_mixed_precision`; fp16 on a machine without a GPU runs, and is recorded, as "no":
    `launch.precision_that_runs`), so that a run's records say which one ran; warns as `citrus pretrain` does when it
    overrides the launch's (`launch.precision_override_notes`), when the launch's gradient accumulation is not done
    (`launch.ignored_accumulation_notes`) and when fp16 runs in fp32 (what bf16 costs on a CPU is
    said when a Trainer starts, `train_with_trainer`). The commands call it once, before any data loads."""
    from dataclasses import replace

    import torch
    from transformers.utils import logging

    from .launch import (
        device_precision_notes,
        ignored_accumulation_notes,
        precision_override_notes,
        precision_that_runs,
        resolve_mixed_precision,
    )

    precision = resolve_mixed_precision(settings.mixed_precision)
    notes = precision_override_notes(settings.mixed_precision) + ignored_accumulation_notes()
    # the device `train_with_trainer` trains on
    ran = precision_that_runs(precision, "cuda" if torch.cuda.is_available() else "cpu")
    if ran != precision:  # said here: the Trainer, given "no", says nothing of it
        notes += device_precision_notes(precision, "cpu", from_launch=settings.mixed_precision is None)
    for note in notes:
        logging.get_logger(__name__).warning(note + ".")
    return replace(settings, mixed_precision=ran)


def _strip_prefix(metrics: dict, prefix: str) -> dict[str, float]:
    """The Trainer's `eval_*` / `test_*` metrics without the prefix and without its timing entries."""
    return {
        k[len(prefix) :]: float(v)
        for k, v in metrics.items()
        if k.startswith(prefix) and "runtime" not in k and "per_second" not in k
    }


def train_and_evaluate(
    model: PreTrainedModel | torch.nn.Module,
    train: TrainingSet,
    validation: TrainingSet | None,
    test: TrainingSet,
    task: str,
    output_dir: str | os.PathLike,
    settings: TrainerSettings,
    data_collator: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
    label_names: list[str] | None = None,
) -> dict[str, Any]:
    """`train_with_trainer`, then the test metrics of the kept model: its result plus `"test"`."""
    outcome = train_with_trainer(model, train, validation, task, output_dir, settings, data_collator, label_names)
    outcome["test"] = _strip_prefix(outcome["trainer"].evaluate(test, metric_key_prefix="test"), "test_")
    return outcome


# Set on every `TrainingArguments` by the hook on its `__post_init__` (`publishing.hooks`): whether the user gave
# `greater_is_better`, which `__post_init__` then fills in (True for every metric whose name does not end in "loss").
GREATER_IS_BETTER_GIVEN = "_citrus_greater_is_better_given"


def set_metric_direction(
    args: TrainingArguments, eval_sets: Iterable[str] = (), target_names: Iterable[str] = ()
) -> None:
    """Make `TrainingArguments` `args` follow the direction of its `metric_for_best_model`, judged from the metric
    (`metrics.metric_greater_is_better`, reading the names of the `Trainer`'s evaluation sets `eval_sets` and of the
    model's regression targets `target_names` as such), not from the words of the whole name.

    transformers maximises every metric whose name does not end in "loss", so `metric_for_best_model="mae"` kept the
    checkpoint with the largest error, and minimises every one that does, so `pearson_r_val_loss` (the correlation of
    a target named "val_loss") kept the worst one. When `greater_is_better` was left unset it is set to the metric's
    direction, with a warning that says so; a value the user set is kept, with a warning when it maximises an error.
    A name ending in "loss" is maximised only where it ends in one of `target_names` (a user's own metric
    "pearson_r_loss" of another `compute_metrics` is a loss).
    """
    from transformers.utils import logging

    from .metrics import metric_greater_is_better

    metric = args.metric_for_best_model
    if metric is None:
        return
    greater = metric_greater_is_better(metric, eval_sets, target_names)
    if greater == args.greater_is_better:
        return
    if greater and metric.endswith("loss") and not any(metric.endswith(f"_{name}") for name in map(str, target_names)):
        # only a target known to be named so (`compute_metrics_fn`'s) makes a name ending in "loss" a correlation's:
        # a user's own metric "pearson_r_loss" is a loss, which transformers minimises, as it did here before
        return
    logger = logging.get_logger(__name__)
    if getattr(args, GREATER_IS_BETTER_GIVEN, True) is False:
        args.greater_is_better = greater
        if greater:
            logger.warning(
                f"metric_for_best_model={metric!r} grows as the model improves: greater_is_better is set to True. "
                "transformers minimises every metric whose name ends in 'loss' (here a target's name), which keeps "
                "the worst checkpoint; pass greater_is_better yourself to choose."
            )
            return
        logger.warning(
            f"metric_for_best_model={metric!r} is an error (lower is better): greater_is_better is set to False. "
            "transformers maximises every metric whose name does not end in 'loss', which keeps the checkpoint with "
            "the largest error; pass greater_is_better yourself to choose."
        )
        return
    if not greater:
        logger.warning(
            f"metric_for_best_model={metric!r} is an error (lower is better), and greater_is_better=True keeps the "
            "checkpoint with the largest error; pass greater_is_better=False."
        )


# transformers' learning-rate schedules that its `Trainer` steps with each evaluation's `metric_for_best_model`
# (torch's `ReduceLROnPlateau`, transformers' `GreedyLR`): both are built in their default mode, "min".
METRIC_SCHEDULES = ("reduce_lr_on_plateau", "greedy")


def metric_schedule_kwargs(args: TrainingArguments) -> dict[str, Any] | None:
    """The `lr_scheduler_kwargs` to build `args`' schedule with when it follows a metric that grows as the model
    improves (`greater_is_better`: accuracy, AUROC): the given ones with `mode="max"`; None to build it as given (a
    schedule not stepped by a metric, a metric to minimise, or a `mode` the user chose).

    transformers builds these schedules in their default mode, "min", whatever `greater_is_better` says, so with
    `metric_for_best_model="accuracy"` (or `citrus finetune --metric-for-best-model auroc`) every improvement counted
    as a plateau and the learning rate was cut while the model improved."""
    schedule = getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)
    given = dict(args.lr_scheduler_kwargs or {})
    if schedule not in METRIC_SCHEDULES or "mode" in given or not args.greater_is_better:
        return None
    return {**given, "mode": "max"}


def check_trainable_dtype(args: TrainingArguments, model: torch.nn.Module) -> None:
    """Warn (once for the same model and dtype) when a `Trainer` is built around a CiTrus model whose trainable
    parameters are bf16 / fp16 (`from_pretrained(..., dtype=torch.bfloat16)`, or a checkpoint saved in bf16, which
    transformers 5 loads in bf16 by default): AdamW then rounds most updates away (a third of citrus-small's weights
    moved in a bf16 fine-tuning, all of them in float32; a regressor's bias started at the targets' mean of ~70 never
    moved, bf16's step there being 0.5), and the model under-trains without an error. The package's own commands load
    in float32 for this reason (`finetune.build_citrus_task_model`).

    Why a warning, not a refusal: transformers trains half-precision weights as they come (pure-bf16 training is a
    choice some make to halve the memory, knowing the cost), and refuses nothing itself. The one case that cannot
    train, fp16 weights under fp16 mixed precision on a GPU, is refused here: torch's loss scaler would stop it at the
    first step with "Attempting to unscale FP16 gradients" and a deep traceback.
    """
    import torch
    from transformers.utils import logging

    half = {}
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype in (torch.bfloat16, torch.float16):
            half[parameter.dtype] = half.get(parameter.dtype, 0) + parameter.numel()
    if not half:
        return
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    dtype, count = max(half.items(), key=lambda item: item[1])
    name = str(dtype).removeprefix("torch.")
    fix = (
        "load it with `from_pretrained(..., dtype=torch.float32)` (or call `model.float()`) and train in mixed "
        "precision with `TrainingArguments(bf16=True)` (or fp16=True on a GPU)"
    )
    device = getattr(getattr(args, "device", None), "type", "cpu")  # `args.device` builds the distributed state
    if dtype == torch.float16 and getattr(args, "mixed_precision", None) == "fp16" and device != "cpu":
        raise ValueError(
            f"{count:,} of the {trainable:,} trainable parameters of this {type(model).__name__} are float16, and fp16 "
            "mixed precision cannot train float16 weights (its loss scaler refuses their gradients): " + fix + "."
        )
    logging.get_logger(__name__).warning_once(
        f"{count:,} of the {trainable:,} trainable parameters of this {type(model).__name__} are {name}: AdamW rounds "
        f"most of their updates away in {name}, so the model under-trains without an error (a third of citrus-small's "
        f"weights moved in a bf16 fine-tuning). To fine-tune, {fix}."
    )


def check_checkpoints_savable(args: TrainingArguments, model: torch.nn.Module) -> None:
    """Refuse, when the `Trainer` is built, a model whose checkpoints `save_pretrained` would refuse (pruned with
    `torch.nn.utils.prune` but not made permanent, or dynamically quantized: `unloadable_weights_problem`; a peft
    model whose adapter saves a pruned module: `unloadable_adapter_problem`), when the Trainer saves checkpoints: it
    trained up to its first save (hours, on real data) and stopped there. A Trainer that saves nothing
    (`save_strategy="no"`) trains it: keeping the mask while training (the pruned weights stay zero) is the point of
    pruning before fine-tuning, and the mask is made permanent before the model is saved.

    Args:
        args: the `TrainingArguments` (`save_strategy`).
        model: the model the Trainer saves: a CiTrus-family model itself, or the peft model over one (which saves its
            adapter: its LoRA matrices and the modules it saves whole, the task head).

    Raises:
        ValueError: naming the tensors, `prune.remove` and `save_strategy="no"`.
    """
    from ..modeling_citrus import unloadable_weights_problem

    if getattr(args, "save_strategy", "no") == "no":
        return
    strategy = getattr(args.save_strategy, "value", args.save_strategy)
    then = (
        "then build the Trainer (the pruned weights train again from zero); or, to keep the mask while training, "
        "pass TrainingArguments(save_strategy='no') and make it permanent before `trainer.save_model()`"
    )
    if is_peft_model(model):
        problem = unloadable_adapter_problem(model, then=then)
    else:
        problem = unloadable_weights_problem(model, then=then)
    if problem is not None:
        raise ValueError(
            f"This Trainer saves checkpoints (save_strategy={strategy!r}), and saving this model would stop the run "
            f"at its first checkpoint: {problem}"
        )


def is_peft_model(model: Any) -> bool:
    """Whether `model` is a peft model (`PeftModel` and its task subclasses), told without importing peft."""
    return callable(getattr(model, "get_base_model", None)) and hasattr(model, "peft_config")


def named_adapter_checkpoint(peft_model: torch.nn.Module, checkpoint: str | os.PathLike | None) -> str | None:
    """The folder of Trainer `checkpoint` that holds `peft_model`'s active adapter when peft saved it in a subfolder of
    its name (every adapter but "default"), or None (the adapter is at the root, or the checkpoint holds none).

    transformers' `load_best_model_at_end` reads the checkpoint's root only: an active adapter named otherwise
    ("mine" from `get_peft_model(..., adapter_name="mine")`, a second adapter made active with `set_adapter`) kept the
    last step's weights, with a warning about a distributed `pytorch_model.bin`, or, beside a "default" adapter,
    took the default adapter's weights as its own."""
    from transformers.utils import ADAPTER_SAFE_WEIGHTS_NAME, ADAPTER_WEIGHTS_NAME

    active = getattr(peft_model, "active_adapter", None)
    if checkpoint is None or not isinstance(active, str) or active == "default":
        return None
    folder = os.path.join(os.fspath(checkpoint), active)
    weights = (os.path.join(folder, name) for name in (ADAPTER_SAFE_WEIGHTS_NAME, ADAPTER_WEIGHTS_NAME))
    return folder if any(os.path.isfile(path) for path in weights) else None


def unloadable_adapter_problem(peft_model: torch.nn.Module, then: str = "then save") -> str | None:
    """What peft's `save_pretrained` of `peft_model`'s adapters would write that no loader reads back, with the fix;
    None when every tensor saves. A module the adapter holds whole (`modules_to_save`: the task head's trained copy)
    or a LoRA matrix pruned with `torch.nn.utils.prune` and not made permanent is written as `<name>_orig` /
    `<name>_mask`, and peft's loader then failed on the missing `<name>` (a KeyError). `then`: what to do once the
    pruning is made permanent (the message's last words)."""
    from peft import get_peft_model_state_dict

    from ..modeling_citrus import _PRUNING_FIX, _pruned_pairs

    pruned = sorted(
        {
            # (peft's saved names, "base_model.model.classifier.weight", as the task model names them)
            name.removeprefix("base_model.model.")
            for adapter in peft_model.peft_config
            # (no embedding layers: "auto" looks the base up on the Hub to see whether its vocabulary changed)
            for name in _pruned_pairs(
                get_peft_model_state_dict(peft_model, adapter_name=adapter, save_embedding_layers=False)
            )
        }
    )
    if not pruned:
        return None
    return (
        f"This adapter holds tensors pruned with torch.nn.utils.prune ({', '.join(pruned[:3])}"
        f"{', ...' if len(pruned) > 3 else ''}), and peft would save each as `_orig` / `_mask` tensors that its loader "
        f"does not read, in place of the tensor: {_PRUNING_FIX}, {then}."
    )


def check_smoothed_labels(model: PreTrainedModel, labels: torch.Tensor) -> torch.Tensor:
    """Run a CiTrus task model's label checks on `labels` before transformers' label smoother uses them, and return
    the labels the smoother can take.

    With `label_smoothing_factor`, the `Trainer` takes `labels` out of the batch before the forward, so the model's
    own checks never ran: classes out of range failed deep in the smoother, -100 labels were silently ignored,
    regression and multi-hot labels failed in `gather` or a broadcast. Smoothing applies to single-label
    classification only; the problem type the forward would have inferred is stored on the config, as it does.

    Args:
        model: the CiTrus-family model (unwrapped); one without a task head is left alone.
        labels: the batch's `labels`, `(batch,)` or `(batch, 1)`.

    Returns:
        The class indices `(batch,)` int64 for a task model: the forward takes whole-number class ids of any dtype
        (floats from a pandas / CSV column, uint8, int16), but the smoother's `gather` needs int64 ones. `labels`
        unchanged for a model without a task head.

    Raises:
        ValueError: a regression model or multi-hot labels (smoothing does not apply), or labels the model refuses.
    """
    from ..configuration_citrus import check_problem_type
    from ..modeling_citrus import _as_labels, _class_indices

    if getattr(type(model), "head_name", None) is None:
        return labels
    config = model.config
    problem_type = config.problem_type
    check_problem_type(problem_type, config.num_labels)  # set after the model was built: the forward's check
    drop = "label smoothing applies to single-label classification: drop label_smoothing_factor"
    if _trains_as_regression(model):
        raise ValueError(
            f"{type(model).__name__} is a regression model (problem_type='regression'), and {drop}; it smooths class "
            "probabilities, which a regression has none of."
        )
    labels = _as_labels(labels, None)  # the model's own errors for NaN, text or complex labels
    if problem_type is None and labels.dim() == 2 and labels.shape[1] > 1:
        raise ValueError(
            f"The labels have {labels.shape[1]} values per window (multi-hot targets), and {drop}; for several labels "
            "per window also set problem_type='multi_label_classification'."
        )
    indices = _class_indices(labels, config.num_labels)
    if problem_type is None:
        config.problem_type = "single_label_classification"
    return indices


def _trains_as_regression(model: PreTrainedModel) -> bool:
    """Whether task model `model` trains as a regression: a regressor, a classifier with `problem_type="regression"`,
    or one with a single output and no problem type, which its forward then infers as transformers' models do."""
    config = model.config
    return (
        getattr(type(model), "head_name", None) == "regressor"
        or config.problem_type == REGRESSION
        or (config.problem_type is None and config.num_labels == 1)
    )


def check_metrics_task(
    model: PreTrainedModel, compute_metrics: Callable[..., Any] | None, train_dataset: TrainingSet | None = None
) -> None:
    """Refuse classification metrics (`compute_metrics_fn("classification")` or `"multi_label_classification"`) for a
    CiTrus task model that trains as a regression (`_trains_as_regression`): `num_labels=1` without a problem type
    (transformers' rule for one output: mean squared error on the 0 / 1 targets) was scored as logits, class 1 above 0,
    and a perfect separator reported accuracy 0.5; and regression metrics (`compute_metrics_fn("regression")`) for a
    classifier, whose logits they would score as values (a multi-label one's, as wide as its labels, without a word);
    and multi-label metrics (`compute_metrics_fn("multi_label_classification")`) for a single-label classifier, which
    trained and then stopped at the first evaluation on a shape error (its labels are one class id per window).
    Run when the `Trainer` is built and as each evaluation starts (the problem type and `compute_metrics` may change
    in between).

    Args:
        model: the CiTrus-family model (unwrapped); one without a task head is left alone.
        compute_metrics: the Trainer's; a user's own (no `citrus_task`) is left alone.
        train_dataset: the Trainer's, when it is built: a classifier without a problem type takes it from the labels
            (`classification_loss`), read here from the first row's.
    """
    from .metrics import BINARY_CLASSIFIER_FIX, MULTI_LABEL_TASK

    task = getattr(compute_metrics, "citrus_task", None)
    if (
        task == REGRESSION
        and getattr(type(model), "head_name", None) == "classifier"
        and not _trains_as_regression(model)
    ):
        # a multi-label classifier's (n, K) logits beside its (n, K) multi-hot labels pair up as K regressed targets:
        # scored as values without a word (a single-label classifier's failed at the first evaluation)
        multi_label = getattr(model.config, "problem_type", None) == MULTI_LABEL_TASK
        raise ValueError(
            f"compute_metrics_fn('regression') scores a regressor's values, and this {type(model).__name__} is a "
            f"{'multi-label ' if multi_label else ''}classifier, whose logits it would misreport as values: use "
            f"compute_metrics_fn({MULTI_LABEL_TASK if multi_label else CLASSIFICATION!r})."
        )
    if task not in (CLASSIFICATION, MULTI_LABEL_TASK) or getattr(type(model), "head_name", None) is None:
        return
    if not _trains_as_regression(model):
        if task == MULTI_LABEL_TASK and _trains_single_label(model, train_dataset):
            raise ValueError(
                f"compute_metrics_fn({MULTI_LABEL_TASK!r}) scores a multi-label classifier's (n, num_labels) logits "
                f"against multi-hot labels, and this {type(model).__name__} is a single-label classifier (one class "
                f"per window): use compute_metrics_fn({CLASSIFICATION!r}), or for several labels per window give "
                f"multi-hot labels and build the model with problem_type={MULTI_LABEL_TASK!r}."
            )
        return
    config = model.config
    if getattr(type(model), "head_name", None) == "regressor":
        why = "is a regressor"
    elif config.problem_type == REGRESSION:
        why = "has problem_type='regression'"
    else:
        why = "has num_labels=1, so it trains as a regression (transformers' rule for one output: mean squared error)"
    raise ValueError(
        f"compute_metrics_fn({task!r}) scores a classifier's logits, and this {type(model).__name__} {why}: its "
        "outputs are regressed values, which would be read as logits (class 1 above 0) and misreported (a perfect "
        f"separator of 0 / 1 targets at accuracy 0.5). {BINARY_CLASSIFIER_FIX}"
    )


def _trains_single_label(model: PreTrainedModel, train_dataset: TrainingSet | None) -> bool:
    """Whether the classifier `model` trains as single-label: by its problem type, or without one (which its loss
    takes from the labels' shape, `classification_loss`) by the first row of `train_dataset` holding one label, not a
    row of `num_labels` targets. A set whose first row cannot be read by index (a stream) or holds no label: False."""
    import numpy as np
    import torch

    problem_type = getattr(model.config, "problem_type", None)
    if problem_type is not None:
        return problem_type == "single_label_classification"
    if not hasattr(train_dataset, "__getitem__") or isinstance(train_dataset, torch.utils.data.IterableDataset):
        return False  # a stream: torch's IterableDataset has a `__getitem__` that raises NotImplementedError
    try:
        row = train_dataset[0]
        column = next(column for column in COLLATED_LABEL_COLUMNS if column in row)
        return np.ndim(np.asarray(row[column])) == 0
    except (IndexError, KeyError, TypeError, ValueError, NotImplementedError, StopIteration):
        return False


def check_label_column(
    args: TrainingArguments,
    model: PreTrainedModel,
    sets: GivenSets,
    call: str = "Trainer",
    data_collator: Callable[..., Any] | None = None,
) -> None:
    """Refuse a training or evaluation set whose labels sit in a column of another convention (`target`: the
    package's regression sets, `citrus finetune`'s; `target_values`: PatchTST's; `y`, `class`, ...: the model's
    `_LABEL_LIKE_NAMES`) without a `label` / `labels` one, for a CiTrus task model; and, for any CiTrus model, a set
    whose signal sits in PatchTST's `past_values` column without an `input_values` one, or whose padding is marked by
    transformers' per-sample `attention_mask` (audio sets) without a `patch_mask` (a fusion model, which takes a
    column per modality, is left alone there).

    The `Trainer` keeps only the columns the model's forward takes (`remove_unused_columns`, the default), and those in
    `label_names`, so the model got no labels and training stopped at its first step with transformers' "did not
    return a loss", or the kept column stopped it there with the forward's unexpected keyword; a `past_values` column
    was dropped and the forward said only that `input_values` was None; an `attention_mask` was dropped, and the
    padding it marked was read as signal without a word. A set given to `evaluate` or `predict` lost
    its labels the same way, and the evaluation returned its runtimes alone (`predict`: `label_ids` None), without a
    word. A pre-training model's set with a label column (`label`, `labels`, `label_ids`) batched by transformers' own
    collator (or the package's) is refused naming it: the collator passed it on as `labels`, and the model's refusal
    at the first step named a `labels` column (a collator of one's own decides what it passes on).

    Args:
        args: the `TrainingArguments` (with `remove_unused_columns=False` the columns are the collator's business).
        model: the CiTrus-family model (unwrapped); one without a task head gets the signal check only.
        sets: the sets by the argument that gave them (`{"train_dataset": ..., "eval_dataset": ...}`; an evaluation
            set may be a dict of sets); a set without `column_names` (a `torch.utils.data.Subset`, a list of dicts)
            is read by its first row's keys (`_set_columns`).
        call: what was given them, named in the error: "Trainer", "Trainer.evaluate", "Trainer.predict".
        data_collator: the Trainer's collator (None: the one it picks); the pre-training check is for those that pass
            every label column on (`_batches_no_text_labels`).
    """
    from ..modeling_citrus import _LABEL_LIKE_NAMES, CiTrusForPretraining

    if isinstance(model, CiTrusForPretraining) and _batches_no_text_labels(data_collator):
        _refuse_pretraining_labels(model, sets, call)
    if not getattr(args, "remove_unused_columns", True):
        return
    dropped = f"the Trainer passes {type(model).__name__} only the columns its forward takes"
    for name, dataset in _named_sets(sets).items():
        columns = _set_columns(dataset)
        # a fusion model takes one column per modality, not `input_values`
        signal = getattr(model, "main_input_name", None) == "input_values"
        if signal and "past_values" in columns and "input_values" not in columns:
            transposed = _column_fix(
                dataset,
                "map(lambda row: {'input_values': np.asarray(row['past_values']).T}, remove_columns=['past_values'])",
                "{**{key: value for key, value in row.items() if key != 'past_values'}, "
                "'input_values': np.asarray(row['past_values']).T}",
            )
            raise ValueError(
                f"{call}({name}=...): the set's signal is in a `past_values` column, but {dropped} "
                "(`input_values`), so it would get no signal: the signal is `input_values` (batch, channels, time), "
                f"PatchTST's `past_values` (batch, time, channels) transposed; transpose each row: {transposed}."
            )
        if signal and "attention_mask" in columns and "patch_mask" not in columns:
            # the padding mask of transformers' audio sets, one value per sample: dropped, its padding was read as signal
            patch = model.config.patch_length
            row_mask = f"np.asarray(row['attention_mask']).reshape(-1, {patch}).max(-1)"
            to_patches = _column_fix(
                dataset,
                f"map(lambda row: {{'patch_mask': {row_mask}}}, remove_columns=['attention_mask'])",
                f"{{**{{key: value for key, value in row.items() if key != 'attention_mask'}}, 'patch_mask': {row_mask}}}",
            )
            raise ValueError(
                f"{call}({name}=...): the set marks its padding in an `attention_mask` column, but {dropped} "
                f"(`patch_mask`, one value per patch of {patch} samples), so its padding would be read as signal: "
                f"{to_patches} (a patch holding any signal is 1), or align the recordings with the "
                "model's feature extractor, which returns `patch_mask`."
            )
        found = [column for column in _LABEL_LIKE_NAMES if column in columns]
        if getattr(type(model), "head_name", None) is None or not found:
            continue
        if not set(COLLATED_LABEL_COLUMNS) & set(columns):
            column = found[0]
            rename = _column_fix(
                dataset,
                f'rename_column("{column}", "labels")',
                f'{{("labels" if key == "{column}" else key): value for key, value in row.items()}}',
            )
            raise ValueError(
                f"{call}({name}=...): the set's labels are in a `{column}` column, but {dropped} (`labels`), so it "
                f"would get no labels and stop at the first step. Rename it: {rename}, and keep the Trainer's "
                '`label_names` at ["labels"].'
            )


# The imports the code `_column_fix` advises needs, by the name it uses: the advice is printed to be run as it stands.
_ADVISED_CODE_IMPORTS = {
    "np.": "import numpy as np",
    "Subset(": "from torch.utils.data import Subset",
    "ClassLabel(": "from datasets import ClassLabel",
    "Value(": "from datasets import Value",
}


def _column_fix(dataset: TrainingSet | None, dataset_call: str, row_expression: str) -> str:
    """The fix of a column as `dataset`'s kind takes it: a `datasets.Dataset`'s method call `dataset_call`
    (`rename_column("target", "labels")`), for a `torch.utils.data.Subset` of one the same call on the set behind it,
    and for rows of dicts (a list, a Subset of a list) `row_expression`, each `row` rebuilt. A list or a Subset has
    no `rename_column`: the advice for a set's column stopped them at an AttributeError. The imports the code needs
    (`np`, `Subset`, `ClassLabel`, `Value`) are named after it, so that it runs as printed."""
    import torch

    behind = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else None
    notes = []
    if hasattr(dataset, dataset_call.split("(")[0]):
        code = f"dataset = dataset.{dataset_call}"
    elif hasattr(behind, dataset_call.split("(")[0]):
        code = f"subset = Subset(subset.dataset.{dataset_call}, subset.indices)"
        notes.append("the set behind the Subset")
    elif behind is not None:
        code = f"subset = Subset([{row_expression} for row in subset.dataset], subset.indices)"
    else:
        code = f"rows = [{row_expression} for row in rows]"
    notes += [f"`{line}`" for used, line in _ADVISED_CODE_IMPORTS.items() if used in code]
    return f"`{code}`" + (f" ({'; '.join(notes)})" if notes else "")


def _refuse_pretraining_labels(model: PreTrainedModel, sets: GivenSets, call: str) -> None:
    """Refuse a pre-training model's set with a label column, naming it: transformers' collators pass `label` /
    `label_ids` on as `labels` (the Trainer keeps them, `remove_unused_columns` or not), which the model refused at
    the first step asking to drop a `labels` column the set did not have."""
    for name, dataset in _named_sets(sets).items():
        columns = _set_columns(dataset)
        given = next((column for column in COLLATED_LABEL_COLUMNS if column in columns), None)
        if given is not None:
            drop = _column_fix(
                dataset,
                f'remove_columns("{given}")',
                f'{{key: value for key, value in row.items() if key != "{given}"}}',
            )
            raise ValueError(
                f"{call}({name}=...): {type(model).__name__} learns without labels, and the set has a `{given}` "
                f"column, which the data collator passes it as `labels`. Drop it: {drop}."
            )


def _set_columns(dataset: TrainingSet | None) -> list[str]:
    """The columns of `dataset` as the `Trainer` sees them: a `datasets.Dataset`'s `column_names` (that of the set
    behind a `torch.utils.data.Subset` of one), or the keys of the first row of a list of dicts (or of a Subset of
    one), whose other keys transformers' `RemoveColumnsCollator` drops as `remove_columns` drops a
    `datasets.Dataset`'s columns. Empty for any other set (a torch dataset of its own, an iterable one, rows that are
    no dicts): its rows are not read, since reading one runs its `__getitem__`, whose augmentation may draw from a
    generator of its own (`np.random.default_rng`, a `torch.Generator`) that no restored global state puts back, and
    a seeded run would train on other draws."""
    from collections.abc import Mapping

    behind = _behind_subsets(dataset)
    columns = getattr(behind, "column_names", None)
    if columns is not None:
        return list(columns)
    if isinstance(behind, list | tuple) and behind and isinstance(behind[0], Mapping):
        return list(behind[0])
    return []


def _named_sets(sets: GivenSets) -> dict[str, TrainingSet | None]:
    """`sets` by the argument that gave them, a dict of evaluation sets as one entry per set (`eval_dataset['a']`)."""
    named = {}
    for argument, given in sets.items():
        if isinstance(given, dict):
            named |= {f"{argument}[{key!r}]": value for key, value in given.items()}
        else:
            named[argument] = given
    return named


def check_window_rows(sets: GivenSets, call: str = "Trainer") -> None:
    """Refuse a set whose rows hold several windows each: `extractor(recording, alignment="window")` in a map of one
    row at a time keeps a recording's windows in its row, with one label and its window bookkeeping
    (`recording_index`, `window_start_seconds`) as lists. The collator then stopped at the first batch, blaming a
    nested list (one channel) or giving a bare shape (several), and the Trainer's column removal had dropped the
    bookkeeping that names the cause. Sets that are not a `datasets.Dataset` are left to the collator.

    Args:
        sets, call: as in `check_label_column`.
    """
    import datasets
    import numpy as np

    from ..configuration_citrus import WINDOW_BOOKKEEPING
    from ..data.plans import column_values
    from ..feature_extraction_citrus import several_windows_per_row

    for name, dataset in _named_sets(sets).items():
        if not isinstance(dataset, datasets.Dataset):
            continue
        listed = [
            column
            for column in WINDOW_BOOKKEEPING
            if column in dataset.features and not isinstance(dataset.features[column], datasets.Value)
        ]
        if not listed:
            continue
        counts = [len(windows) for windows in column_values(dataset, listed[0])]
        row = next((index for index, count in enumerate(counts) if count > 1), None)
        if row is None:
            continue  # one window per row: the collator takes it
        values = dataset[row].get("input_values")
        shape = np.shape(values) if values is not None else (counts[row],)
        raise ValueError(f"{call}({name}=...), row {row}: {several_windows_per_row(counts[row], shape)}")


def _batches_no_text_labels(data_collator: Callable[..., Any] | None) -> bool:
    """Whether `data_collator` is one of transformers' own (None: the Trainer picks one) or the package's
    `CiTrusPaddingCollator`, which cannot batch a label column of text (`default_data_collator` leaves string fields
    out of the batch; a `label` column of them stops torch) and pass every numeric label column on as `labels`. A
    collator of one's own may map class names to ids, or leave a label column out of the batch."""
    from transformers import DataCollatorWithPadding, DefaultDataCollator, default_data_collator

    from ..processing_citrus_fusion import CiTrusPaddingCollator

    return (
        data_collator is None
        or data_collator is default_data_collator
        or isinstance(data_collator, (DefaultDataCollator, DataCollatorWithPadding, CiTrusPaddingCollator))
    )


def _text_label_column(dataset: TrainingSet | None) -> tuple[str, Any] | None:
    """`(column, first value)` of `dataset`'s label column when it holds text (class names), else None. A
    `datasets.Dataset` is judged by its features; a Python list of rows by its first row (a torch dataset's rows are
    not read here: reading one may draw an augmentation)."""
    import datasets

    if isinstance(dataset, datasets.Dataset):
        for column in COLLATED_LABEL_COLUMNS:
            feature = dataset.features.get(column)
            if isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string"):
                return column, dataset.select_columns(column).with_format(None)[0][column] if len(dataset) else ""
        return None
    if isinstance(dataset, (list, tuple)) and dataset and isinstance(dataset[0], dict):
        return next(
            (
                (column, dataset[0][column])
                for column in COLLATED_LABEL_COLUMNS
                if isinstance(dataset[0].get(column), str)
            ),
            None,
        )
    return None


def _behind_subsets(dataset: TrainingSet | None) -> TrainingSet | None:
    """The set behind `torch.utils.data.Subset`s of it (`Subset(dataset, indices)`, the habit of a split by indices),
    whose `features` (a `ClassLabel`, text labels) the Subset hides; any other set as it is."""
    from torch.utils.data import Subset

    while type(dataset) is Subset:  # a subclass may make its rows otherwise (its own `__getitem__`): user code
        dataset = dataset.dataset
    return dataset


def check_label_values(
    model: PreTrainedModel,
    sets: GivenSets,
    call: str = "Trainer",
    data_collator: Callable[..., Any] | None = None,
) -> None:
    """Refuse, for a CiTrus task model, a set whose labels would not reach the loss and metrics as the model's ids:

    - a label column of text (class names, as a CSV gives them) batched by transformers' collators: they leave string
      fields out of the batch, so the evaluation returned its runtimes alone (no loss, no metrics), `predict` gave
      `label_ids` None and training stopped at its first step with "did not return a loss", without the cause; a
      `label` column of names stopped the collator with torch's "too many dimensions 'str'";
    - a `ClassLabel` that numbers the model's classes in another order than its `id2label` (a set built with
      `class_encode_column`, which sorts the names, scored by a model trained on another numbering): its ids were
      scored against the wrong classes, a perfect model at accuracy 0. A `torch.utils.data.Subset` of a set is
      checked by the set behind it (`_behind_subsets`). Sets with names the model lacks, and models
      with transformers' placeholder names (`LABEL_0`, ...), are left alone.

    Args:
        model: the CiTrus task model (unwrapped); other models are left alone.
        sets, call: as in `check_label_column`.
        data_collator: the Trainer's collator (None: the one it picks); the text check is for transformers' own.
    """
    import datasets

    from ..configuration_citrus import named_outputs

    if getattr(type(model), "head_name", None) is None:
        return
    regression = _trains_as_regression(model)
    model_names = None if regression else named_outputs(getattr(model.config, "id2label", None))
    for name, given in _named_sets(sets).items():
        dataset = _behind_subsets(given)
        # the fixes below are the set's methods, which a Subset hides: said of the set behind it
        again = (
            ", on the set behind the Subset, then `subset = Subset(dataset, subset.indices)`"
            if dataset is not given
            else ""
        )
        text = _text_label_column(dataset) if _batches_no_text_labels(data_collator) else None
        if text is not None:
            column, value = text
            # the fix as the set's kind takes it (`_column_fix`): a list of rows has no `cast_column`
            if regression:
                what = "text"
                cast = _column_fix(
                    given,
                    f"cast_column({column!r}, Value('float32'))",
                    f"{{**row, {column!r}: float(row[{column!r}])}}",
                )
                fix = f"a regression's targets are numbers: {cast}"
            else:
                what = "class names (text)"
                listed = repr(model_names) if model_names else "[...]"
                cast = _column_fix(
                    given,
                    f"cast_column({column!r}, ClassLabel(names={listed}))",
                    f"{{**row, {column!r}: {listed}.index(row[{column!r}])}}",
                )
                fix = f"number them as the model's classes: {cast}" + (
                    "" if model_names else " (every class, in every split)"
                )
            raise ValueError(
                f"{call}({name}=...): the `{column}` column holds {what}, e.g. {value!r}, which the Trainer's collator "
                f"does not batch, so {type(model).__name__} would get no labels (no loss, no metrics); {fix}."
            )
        if not regression and isinstance(dataset, datasets.Dataset) and _batches_no_text_labels(data_collator):
            # (a collator of one's own may turn the lists into multi-hot rows)
            _refuse_class_lists(model, dataset, name, call)
        if model_names is None or not isinstance(dataset, datasets.Dataset):
            continue
        for column in COLLATED_LABEL_COLUMNS:
            feature = dataset.features.get(column)
            if not isinstance(feature, datasets.ClassLabel):
                continue
            set_names = [str(class_name) for class_name in feature.names]
            if set(set_names) <= set(model_names) and set_names != model_names[: len(set_names)]:
                label2id = {class_name: index for index, class_name in enumerate(model_names)}
                formatted = dataset.format["type"] is not None
                aligned = (
                    f"dataset.with_format(None).align_labels_with_mapping({label2id!r}, {column!r})"
                    f".with_format({dataset.format['type']!r})"
                    if formatted  # datasets' alignment fails on a formatted set ("iteration over a 0-d tensor")
                    else f"dataset.align_labels_with_mapping({label2id!r}, {column!r})"
                )
                raise ValueError(
                    f"{call}({name}=...): the set's `{column}` ClassLabel numbers the classes {set_names}, and "
                    f"{type(model).__name__} numbers them {model_names} (its id2label), so its ids would be scored "
                    f"against the wrong classes. Renumber the set as the model does: `dataset = {aligned}`{again}."
                )


def _refuse_class_lists(model: PreTrainedModel, dataset, name: str, call: str) -> None:
    """Refuse a label column of lists of class ids (`List(ClassLabel)`, the Hub's multi-label form, or int lists of
    another length than the model's classes) for a classifier, with the map to the multi-hot rows
    `problem_type="multi_label_classification"` takes (position k: the model's class k, matched by name where the
    set names its classes). transformers' collator stacked such lists as they were, so rows of different lengths
    stopped it with torch's "expected sequence of length 2 at dim 1 (got 1)", and lists of one length were read as
    multi-hot rows (`[0, 1]`, both of two classes present, as "class 1 only")."""
    import datasets
    import pyarrow.compute

    from ..configuration_citrus import named_outputs

    num_labels = model.config.num_labels
    for column in COLLATED_LABEL_COLUMNS:
        feature = dataset.features.get(column)
        inner = getattr(feature, "feature", None)
        if not isinstance(feature, (datasets.List, datasets.LargeList)):
            continue
        if isinstance(inner, datasets.ClassLabel):
            set_names = [str(class_name) for class_name in inner.names]
        elif isinstance(inner, datasets.Value) and inner.dtype.startswith(("int", "uint")):
            # the rows the set holds (`dataset.data` is its whole table, rows a `filter` or `select` left out too)
            labels = dataset.select_columns(column).with_format("arrow")[:][column]
            lengths = pyarrow.compute.list_value_length(labels)
            if pyarrow.compute.all(pyarrow.compute.equal(lengths, num_labels)).as_py() is not False:
                continue  # one 0 / 1 per class: multi-hot rows (the model checks their values)
            set_names = None
        else:
            continue
        model_names = named_outputs(getattr(model.config, "id2label", None))
        if set_names and model_names and set(model_names) <= set(set_names):
            # the set's id of each of the model's classes, in the model's order: the multi-hot row is by name
            ids = tuple(set_names.index(class_name) for class_name in model_names)
        else:
            ids = tuple(range(num_labels))
        multi_hot = (
            f"dataset.map(lambda row: {{{column!r}: [float(k in row[{column!r}]) for k in {ids}]}}, "
            f"features=Features({{**dataset.features, {column!r}: List(Value('float32'))}}))"
        )
        single_label = getattr(model.config, "problem_type", None) != "multi_label_classification"
        also = " and build the model with problem_type='multi_label_classification'" if single_label else ""
        raise ValueError(
            f"{call}({name}=...): the `{column}` column holds lists of class ids (e.g. "
            f"{dataset.select_columns(column).with_format(None)[0][column] if len(dataset) else []!r}), which the "
            f"Trainer's collator cannot batch as {type(model).__name__}'s labels; a multi-label classifier takes one "
            f"multi-hot row of {num_labels} per window (1.0 where the model's class applies): `dataset = "
            f"{multi_hot}` (`from datasets import Features, List, Value`){also}."
        )


# The `Trainer`'s data loaders by the `description` transformers gives `_remove_unused_columns`: the call named in a
# refusal raised as the loader reads the set (an evaluation during training is named as `evaluate`).
_LOADER_CALLS = {"Training": "Trainer.train", "Evaluation": "Trainer.evaluate", "test": "Trainer.predict"}


class RemovedColumnError(ValueError):
    """A set's transform read a column the `Trainer` removed (`RemovedColumnTransform`). Raised in a data loader's
    worker (`dataloader_num_workers > 0`), it reaches the training loop as torch rebuilds it: `type(error)(text)`, the
    text "Caught ValueError in DataLoader worker process 0. Original Traceback ..." and the worker's whole traceback
    ending in this error's line, which the user then read at the end of a page of datasets' frames. Built from such a
    text, it keeps its own line alone."""

    def __init__(self, message: str):
        # the last line of the worker's traceback: "<module>.RemovedColumnError: <the message>"
        marker = f"{type(self).__module__}.{type(self).__qualname__}: "
        if message.startswith("Caught ") and marker in message:
            message = message.rsplit(marker, 1)[1].strip()
        super().__init__(message)


class RemovedColumnTransform:
    """A set's `with_transform` / `set_transform` transform, run as given, but where it reads a column the `Trainer`
    removed (`remove_unused_columns=True`, its default, keeps only the model's forward arguments and the label names)
    its bare `KeyError` becomes one line naming the column and `remove_unused_columns=False` (`RemovedColumnError`,
    that line also where a data loader's worker raised it).

    The transform aligns the raw recordings on the fly, so it reads their raw columns (`signal`, `audio`, ...), which
    are no argument of the forward: the Trainer removed them before the first batch, and the transform stopped with a
    `KeyError` raised in the user's own function, naming neither the Trainer nor the setting. Named as the Trainer
    reads the set, not by a trial of the transform before: a trial ran the user's transform, an augmentation's draws
    from a generator of its own included (`np.random.default_rng`, a `torch.Generator`), which no restored global
    state puts back, so a seeded run trained on other draws. A module-level class: a data loader's workers started
    by "spawn" pickle the set, transform included."""

    def __init__(self, transform: Callable[[Any], Any], removed: list[str], call: str, model_name: str):
        self.transform, self.removed, self.call, self.model_name = transform, removed, call, model_name

    def __call__(self, batch: Any) -> Any:
        try:
            return self.transform(batch)
        except KeyError as error:
            missing = error.args[0] if error.args else None
            if missing not in self.removed:
                raise
            raise RemovedColumnError(
                f"{self.call}: the set's transform (with_transform / set_transform) reads its {missing!r} column, "
                f"which the Trainer removes ({', '.join(map(repr, self.removed))}: no argument of "
                f"{self.model_name}.forward), "
                f"so the transform stopped with KeyError {missing!r}; keep the columns for it: "
                "TrainingArguments(..., remove_unused_columns=False)."
            ) from None


def name_removed_columns(model: PreTrainedModel, given: TrainingSet, kept: TrainingSet, description: str | None):
    """`kept`, the set the `Trainer` made of `given` by removing its unused columns (`_remove_unused_columns`), with a
    transform of `given`'s wrapped in `RemovedColumnTransform`; `kept` as it is where `given` has no transform or lost
    no column. `kept` is a new set (`remove_columns`), so the caller's set keeps its own transform."""
    import datasets

    if not isinstance(kept, datasets.Dataset) or kept is given or kept.format["type"] != "custom":
        return kept
    removed = sorted(set(getattr(given, "column_names", None) or []) - set(kept.column_names))
    transform = kept.format["format_kwargs"].get("transform")
    if not removed or transform is None or isinstance(transform, RemovedColumnTransform):
        return kept
    call = _LOADER_CALLS.get(description or "", "Trainer")
    kept.set_transform(
        RemovedColumnTransform(transform, removed, call, type(model).__name__),
        columns=kept.format["columns"],
        output_all_columns=kept.format["output_all_columns"],
    )
    return kept


def check_given_sets(
    args: TrainingArguments,
    model: PreTrainedModel,
    sets: GivenSets,
    call: str = "Trainer",
    data_collator: Callable[..., Any] | None = None,
) -> None:
    """The checks of the sets given to a `Trainer` or to its `evaluate` / `predict`: their label and signal columns
    (`check_label_column`), their labels' values (`check_label_values`, with the Trainer's `data_collator`) and their
    windows per row (`check_window_rows`)."""
    check_label_column(args, model, sets, call, data_collator)
    check_label_values(model, sets, call, data_collator)
    check_window_rows(sets, call)
    check_mask_shown(sets, call)


def check_mask_shown(sets: GivenSets, call: str = "Trainer") -> None:
    """Refuse a set whose format shows only some of its columns and hides a patch mask (`patch_mask`, a fusion row's
    per-modality masks): `set_format("torch", columns=["input_values", "labels"])`, as `datasets`' tutorials format a
    set, hid it, and the `Trainer`, which reads rows as the format gives them, passed the model no mask, so every
    padded window was scored (and trained) with its padding as signal, without a word.

    Args:
        sets, call: as in `check_label_column`.
    """
    import datasets

    for name, dataset in _named_sets(sets).items():
        if not isinstance(dataset, datasets.Dataset) or dataset.format.get("output_all_columns"):
            continue
        shown = dataset.format.get("columns") or dataset.column_names
        hidden = [column for column in dataset.column_names if "patch_mask" in column and column not in shown]
        if hidden:
            raise ValueError(
                f"{call}({name}=...): the set's format shows its columns {list(shown)} only, hiding `{hidden[0]}`, so "
                "the model would read every padded window's padding as signal; format it with every column: "
                "`dataset = dataset.with_format('torch')` (the Trainer passes the model the columns it takes)."
            )


def check_channel_count(model: PreTrainedModel, train_dataset: TrainingSet | None) -> None:
    """Refuse, when the `Trainer` is built, a training set whose first row has another channel count than a task head
    that concatenates its channels takes (`channel_pooling="concat"`): `from_pretrained("citrus-small",
    num_labels=4)` builds a 1-channel head, the checkpoint's extractor passes 6-channel rows on, and the mismatch
    surfaced at the first step as a long traceback from inside the Trainer. Sets whose rows cannot be read by index
    (an `IterableDataset`), or hold no `input_values`, are left to the model's own check."""
    import numpy as np
    import torch

    from ..modeling_citrus import _channel_count_error

    config = getattr(model, "config", None)
    if getattr(config, "channel_pooling", None) != "concat" or type(model).__name__ in ENCODER_ARCHITECTURES:
        # Judged by the model in hand, not by `config.fixes_channel_count`, which describes the checkpoint the config
        # was saved from: a classifier built from a pre-training checkpoint carries `architectures`
        # ["CiTrusForPretraining"] until it is saved, and a fresh CiTrusForPretraining carries none.
        return
    if not hasattr(train_dataset, "__getitem__") or isinstance(train_dataset, torch.utils.data.IterableDataset):
        return  # a stream: torch's IterableDataset has a `__getitem__` that raises NotImplementedError
    try:
        row = train_dataset[0]
        values = np.asarray(row["input_values"])
    except (IndexError, KeyError, TypeError, ValueError, NotImplementedError):
        return
    if values.ndim < 2 or values.shape[-2] == config.num_channels:
        return
    shape = (1, values.shape[-2], values.shape[-1])
    raise ValueError(f"Trainer(train_dataset=...), row 0: {_channel_count_error(config.num_channels, shape)}")


def _column_view(dataset: TrainingSet) -> datasets.Dataset | None:
    """`dataset` as a `datasets.Dataset` whose rows can be measured a column at a time: itself without a transform,
    or, for a `torch.utils.data.Subset` (of Subsets) of such a set, the set behind it `select`ed at the Subset's rows
    (read one by one through the Subset, 5,000 windows took 8 s, at every evaluation, where their column took 0.8 s).
    None for any other set: a `with_transform` / `set_transform` transform lists the raw columns it reads, not the
    `patch_mask` it writes, and a list of dicts or a torch dataset has no columns at all."""
    import datasets
    from torch.utils.data import Subset

    indices = None
    while type(dataset) is Subset:  # not a subclass, which may make its rows otherwise
        given = [int(index) for index in dataset.indices]
        indices = given if indices is None else [given[index] for index in indices]
        dataset = dataset.dataset
    if not isinstance(dataset, datasets.Dataset) or dataset.format["type"] == "custom":
        return None
    if indices is None:
        return dataset
    # a negative index counts from the end, as the Subset reads it (`dataset[-1]`); `select` takes none (pyarrow's
    # "can't convert negative value to unsigned int")
    rows = len(dataset)
    outside = [index for index in indices if not -rows <= index < rows]
    if outside:  # as the Subset's first read of it would say, not pyarrow's words for a negative one
        raise IndexError(f"torch.utils.data.Subset: index {outside[0]} is out of range for a set of {rows} rows.")
    return dataset.select([index + rows if index < 0 else index for index in indices])


def _row_window_lengths(row: Any) -> dict[str | None, int] | None:
    """The number of patches (`patch_mask`) or samples (`input_values`) of one row as the model gets it (a dict of
    arrays, tensors or lists), per modality as `_window_lengths` gives them; None when the row has neither."""
    from collections.abc import Mapping

    import numpy as np

    if not isinstance(row, Mapping):
        return None
    for name in ("patch_mask", "input_values"):
        value = row.get(name)
        if value is not None:
            per_modality = value if isinstance(value, Mapping) else {None: value}
            return {modality: int(np.shape(array)[-1]) for modality, array in per_modality.items()}
    return None


def _row_signal_patches(row: Any) -> int | None:
    """The patches of signal of one row as the model gets it: the sum of its `patch_mask` (of each modality's), or
    its samples without a mask (`_row_window_lengths`); None when the row has neither."""
    from collections.abc import Mapping

    import numpy as np

    mask = row.get("patch_mask") if isinstance(row, Mapping) else None
    if mask is None:
        lengths = _row_window_lengths(row)
        return None if lengths is None else sum(lengths.values())
    return int(sum(np.sum(np.asarray(part)) for part in (mask.values() if isinstance(mask, Mapping) else [mask])))


def _rows_run_user_code(dataset: TrainingSet | None) -> bool:
    """Whether reading a row of `dataset` runs code of the user's: a `with_transform` / `set_transform` transform, or
    a torch dataset's own `__getitem__` (behind any `torch.utils.data.Subset`). Such a set is not read for an
    evaluation's checks: every `evaluate` would run its transform over the whole set once more before the loop does,
    and an augmentation drawing from a generator of its own (`np.random.default_rng`, a `torch.Generator`) would draw
    on, which no restored global state puts back. (The length-grouped sampler reads them, as transformers' own does.)"""
    import datasets

    behind = _behind_subsets(dataset)
    if isinstance(behind, datasets.Dataset):
        return behind.format["type"] == "custom"
    return behind is not None and not isinstance(behind, list | tuple)


def _measured_row_by_row(dataset: TrainingSet, measure: Callable[[Any], Any]) -> list[Any] | None:
    """`measure` of every row of a set not read by column (`_column_view`), each read as the `Trainer` reads it,
    `dataset[index]` (through the set's transform, once per row, as transformers' own length-grouped sampler reads
    every row); None when the set has no length or a row gives None. Python's, numpy's and torch's global random
    states are put back after; a generator of the set's own draws on, as under transformers' own sampler."""
    from transformers.trainer_utils import has_length

    from .rng import caller_random_state_kept

    if dataset is None or not has_length(dataset):
        return None
    measured = []
    with caller_random_state_kept():  # a row read may draw an augmentation from the global generators
        for index in range(len(dataset)):
            value = measure(dataset[index])
            if value is None:
                return None
            measured.append(value)
    return measured


# The rows of signals `_window_lengths` reads at once: one slice of a set's `input_values` read every signal into
# memory, and a row at a time (a `Column`) was slow; at citrus-small's 10 s of 19 channels at 256 Hz, 256 rows are
# 50 MB.
_MEASURED_ROWS_PER_READ = 256


def _window_lengths(dataset: TrainingSet) -> list[dict[str | None, int]] | None:
    """The number of patches (`patch_mask`) or samples (`input_values`) of every row of `dataset`, per modality: the
    last axis of the row's array, whatever its leading axes (`(1, channels, time)` for rows a one-row
    `map(extractor)` wrote). A single-modality row is `{None: length}`; a fusion row, which holds one array per
    modality (`{modality: array}`, the processor's `to_columns()`), is `{modality: length}`. None when the rows have
    neither column. A set not read by column (`_column_view`: a list of dicts, a transformed set) is read row by row."""
    from collections.abc import Mapping

    import numpy as np

    view = _column_view(dataset)
    if view is None:
        return _measured_row_by_row(dataset, _row_window_lengths)
    dataset = view
    for name in ("patch_mask", "input_values"):
        if name in dataset.column_names:
            column = dataset.select_columns([name]).with_format("numpy")
            # the masks as one slice (`column[name]` reads row by row, 0.4 s for 5,000 rows); the signals in slices of
            # `_MEASURED_ROWS_PER_READ` rows, so that no more than those are in memory at once (one slice held every
            # signal of the set)
            rows = (
                column[:][name]
                if name == "patch_mask"
                else (
                    row
                    for start in range(0, column.num_rows, _MEASURED_ROWS_PER_READ)
                    for row in column[start : start + _MEASURED_ROWS_PER_READ][name]
                )
            )
            return [
                {modality: int(np.shape(array)[-1]) for modality, array in per_modality.items()}
                for per_modality in (value if isinstance(value, Mapping) else {None: value} for value in rows)
            ]
    return None


def _signal_patches(dataset: TrainingSet) -> list[int] | None:
    """The patches of signal of every row of `dataset`: the sum of its `patch_mask` (of each modality's, for a fusion
    row), or its samples without a mask (`_window_lengths`); None when the rows have neither. Not the mask's length:
    a batched `map(extractor)` pads every row of a map batch to the batch's longest, so a 0.5 s clip measured 10 s.
    A set not read by column (`_column_view`: a list of dicts, a transformed set) is read row by row."""
    from collections.abc import Mapping

    import numpy as np

    view = _column_view(dataset)
    if view is None:
        return _measured_row_by_row(dataset, _row_signal_patches)
    dataset = view
    if "patch_mask" not in dataset.column_names:
        rows = _window_lengths(dataset)
        return None if rows is None else [sum(per_modality.values()) for per_modality in rows]
    column = dataset.select_columns(["patch_mask"]).with_format("numpy")[:]["patch_mask"]  # one slice, not row by row
    return [
        int(sum(np.sum(mask) for mask in (value.values() if isinstance(value, Mapping) else [value])))
        for value in column
    ]


LENGTH_AWARE_SAMPLING = ("group_by_length", "batch_rebalance")


def length_grouped_sampler(
    args: TrainingArguments, model: PreTrainedModel | torch.nn.Module, dataset: TrainingSet | None
) -> torch.utils.data.Sampler | None:
    """transformers' length-aware training sampler with the windows' durations, or None (then the Trainer builds its
    own sampler): `LengthGroupedSampler` for `train_sampling_strategy="group_by_length"` (its order of each epoch
    seeded by `data_seed` or `seed` and the epoch, so that a resumed run trains on the same batches:
    `_epoch_seeded_length_sampler`), `BatchRebalanceSampler` for `"batch_rebalance"` (as transformers builds it, with
    the lengths measured here, and seeded by `data_seed` or `seed`: transformers' was seed 42 whatever the run's).

    transformers measures `len(row["input_values"])`, which for aligned CiTrus rows is the batch axis of one or the
    channel count, never the duration, and the `Trainer` drops a `length` column before it builds the sampler (it is
    no model input), so windows of different durations were batched at random (and, without a `processing_class`,
    training stopped asking for an `input_ids` key). Here the length is the row's number of patches of signal (the
    sum of its `patch_mask`, `_signal_patches`), or of samples without a mask. A fusion row's length is the sum of its modalities' patches: every
    encoder runs its own modality's patches, so the sum is the row's work (what `batch_rebalance` shares out evenly),
    and as the modalities of one row cover the same seconds it orders rows by duration as each modality would; the
    longest modality alone would rank a row by whichever modality has the most patches and ignore the others' work.
    (transformers' sampler measured `processing_class.model_input_names[0]`, or an `input_ids` key, which fusion rows
    hold as a dict of modalities.) A set that is no plain `datasets.Dataset` (a `torch.utils.data.Subset`, a list of
    dicts, a set with a `with_transform` / `set_transform` transform) is measured row by row as the model gets its
    rows (`_signal_patches`). A `length_column_name` column kept in the dataset (`remove_unused_columns=False`)
    is the user's choice: transformers reads it.

    Args:
        args: the `TrainingArguments`.
        model: the CiTrus-family model (unwrapped), single-modality or fusion.
        dataset: the training set, after the Trainer removed the unused columns.
    """
    import datasets
    from transformers.trainer_pt_utils import BatchRebalanceSampler

    from ..modeling_citrus import _CiTrusFamilyMixin

    strategy = getattr(args, "train_sampling_strategy", None)
    if strategy not in LENGTH_AWARE_SAMPLING:
        return None
    if not isinstance(model, _CiTrusFamilyMixin) or dataset is None:
        return None
    if isinstance(dataset, datasets.Dataset) and args.length_column_name in dataset.column_names:
        return None
    # a Subset, a list of dicts or a transformed set too: transformers' sampler stopped on them asking for an
    # `input_ids` key
    lengths = _signal_patches(dataset)
    if lengths is None:
        return None
    # the data order's seed, as accelerate seeds a random sampler's: each epoch's order is drawn from it plus the epoch
    seed = args.data_seed if args.data_seed is not None else args.seed
    if strategy == "group_by_length":
        return _epoch_seeded_length_sampler()(args.train_batch_size * args.gradient_accumulation_steps, lengths, seed)
    world_size = max(1, args.world_size)
    # transformers' left the sampler at its default seed (42): every run shuffled alike, whatever its seed
    return BatchRebalanceSampler(
        lengths=lengths,
        seed=seed,
        effective_batch_size=args.train_batch_size * args.gradient_accumulation_steps * world_size,
        dp_size=world_size,
        grad_accum=args.gradient_accumulation_steps,
        rank=args.process_index if args.world_size > 1 else 0,
        drop_last=args.dataloader_drop_last,
    )


@functools.cache
def _epoch_seeded_length_sampler() -> type:
    """transformers' `LengthGroupedSampler` whose order of each epoch is drawn from `seed + epoch` (`set_epoch`, which
    the `Trainer` calls as each epoch starts), as accelerate seeds the random order of other training runs.

    transformers' own draws it from torch's global generator: a run resumed from a checkpoint (whose generator state
    is that of the checkpoint's step, not of its epoch's start) trained on other batches than the uninterrupted run,
    and ended on other weights. Built on first use: this module imports no torch at its top."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
        def __init__(self, batch_size: int, lengths: list[int], seed: int):
            super().__init__(batch_size, lengths=lengths)
            self.seed = seed
            self.set_epoch(0)

        def set_epoch(self, epoch: int) -> None:
            self.generator = torch.Generator().manual_seed(self.seed + epoch)

    return EpochSeededLengthGroupedSampler


def joined_durations(args: TrainingArguments, dataset: TrainingSet | None) -> dict[str | None, list[int]]:
    """The durations (patches, or samples without a `patch_mask`) of the evaluation batches the `Trainer` would join,
    per modality (`None` for a single-modality set), each sorted once: the one rule of `check_inputs_for_metrics` and
    `check_outputs_join`, which guard the same join. Batches are taken as the Trainer's evaluation sampler makes them
    (the rows in their order, `eval_batch_size` at a time; `evaluation_sampler` keeps that order under
    group-by-length), each padded to its longest row, as `extractor.pad` and the `Trainer`'s own collator of a CiTrus
    model pad them: rows of different durations whose batches end at one duration join. A list of dicts, or a
    `torch.utils.data.Subset` of one or of a `datasets.Dataset`, is read row by row (`_window_lengths`; they ended in
    torch's "Sizes of tensors must match"). Empty for a set whose rows have neither column, and for one whose rows
    are made by code of the user's (`_rows_run_user_code`), which is named as the loop joins its batches
    (`unjoined_batches_error`)."""
    if _rows_run_user_code(dataset):
        return {}
    rows = _window_lengths(dataset) or []
    size = max(1, args.eval_batch_size)
    durations: dict[str | None, set[int]] = {}
    for start in range(0, len(rows), size):
        longest: dict[str | None, int] = {}
        for row in rows[start : start + size]:
            for modality, length in row.items():
                longest[modality] = max(length, longest.get(modality, 0))
        for modality, length in longest.items():
            durations.setdefault(modality, set()).add(length)
    return {modality: sorted(lengths) for modality, lengths in durations.items()}


def _unjoinable(durations: dict[str | None, list[int]]) -> tuple[str | None, list[int]] | None:
    """The first modality of `joined_durations` whose batches end at different durations, with them; None if none."""
    return next(((modality, lengths) for modality, lengths in durations.items() if len(lengths) > 1), None)


def check_inputs_for_metrics(
    args: TrainingArguments, durations: Callable[[], dict[str | None, list[int]]], prediction: bool = False
) -> None:
    """Refuse `include_for_metrics=["inputs"]` on an evaluation set whose batches are padded to different durations
    (`durations()`: the set's `joined_durations`, measured where first asked for, once for this check and
    `check_outputs_join`), before the evaluation runs. transformers joins every batch's inputs and pads them along axis
    1 only, which for CiTrus `(batch, channels, time)` windows is the channel axis: batches padded to different
    durations stopped inside torch ("Sizes of tensors must match"). A fusion model's inputs are joined modality by
    modality, so each modality's batches must share one duration (those of different modalities need not).
    `prediction`: the loop runs for `Trainer.predict`, which joins them even with `batch_eval_metrics`."""
    if "inputs" not in (getattr(args, "include_for_metrics", None) or []):
        return
    if not getattr(args, "eval_do_concat_batches", True) or (
        getattr(args, "batch_eval_metrics", False) and not prediction
    ):
        return  # the batches' inputs are handed over one by one, never joined
    unjoinable = _unjoinable(durations())
    if unjoinable is not None:
        modality, lengths = unjoinable
        windows = "windows" if modality is None else f"windows of modality {modality!r}"
        raise ValueError(
            f"include_for_metrics=['inputs'] joins the windows of every evaluation batch, and this evaluation set's "
            f"batches of {windows} are padded to different durations ({lengths[0]} to {lengths[-1]} patches), which "
            "transformers cannot join; align them to one duration (the feature extractor's padding='max_length'), or "
            "leave 'inputs' out."
        )


def unjoined_batches_error(args: TrainingArguments, error: BaseException, call: str) -> ValueError | None:
    """The package's one-line error for torch's "Sizes of tensors must match" raised where transformers joins the
    evaluation batches (`nested_concat`), or None for any other error. `joined_durations` measures a set with a
    length before the loop; an iterable set (`Dataset.to_iterable_dataset()`, a streamed set), and one whose rows
    code of the user's makes (`_rows_run_user_code`), is only known batch by batch, and its batches padded to
    different durations stopped inside torch."""
    import traceback

    if not isinstance(error, RuntimeError) or "Sizes of tensors must match" not in str(error):
        return None
    if not any(frame.name == "nested_concat" for frame in traceback.extract_tb(error.__traceback__)):
        return None
    joined = (
        "the windows (include_for_metrics=['inputs']) and outputs"
        if "inputs" in (getattr(args, "include_for_metrics", None) or [])
        else "the outputs"
    )
    return ValueError(
        f"{call}: transformers joins {joined} of every batch into one array, and this set's batches are padded to "
        "different durations, which it cannot join; align every row to one duration (the feature extractor's "
        "padding='max_length'), or have the batches handed over one by one with "
        "TrainingArguments(eval_do_concat_batches=False)."
    )


def _outputs_per_patch(model: PreTrainedModel) -> list[str] | None:
    """The outputs of single-modality CiTrus model `model` whose shapes follow the window's duration (an axis of patches,
    tokens or samples), which the `Trainer` would gather: a task model's `hidden_states` and `attentions` when its
    config asks for them; None for a model without a task head (the encoder, the pre-training model), every output of
    which but the loss is per patch. An empty list for a fusion model, whose forward returns the loss and logits only."""
    from ..modeling_citrus import CiTrusPreTrainedModel

    if not isinstance(model, CiTrusPreTrainedModel):
        return []
    if getattr(type(model), "head_name", None) is None:
        return None
    config = model.config
    return [name for name in ("hidden_states", "attentions") if getattr(config, f"output_{name}", False)]


def check_outputs_join(
    args: TrainingArguments,
    model: PreTrainedModel,
    durations: Callable[[], dict[str | None, list[int]]],
    *,
    call: str,
    gathered: bool,
    ignore_keys: list[str] | None,
) -> None:
    """Refuse, before the evaluation loop runs, to gather outputs per patch (`_outputs_per_patch`) of an evaluation set
    whose batches differ in duration. transformers joins every batch's outputs and pads only their axis 1, the channels
    of a CiTrus output `(batch, channels, patches, ...)`, so `Trainer.predict` of the encoder, of the pre-training model
    or of a classifier with `output_hidden_states=True` stopped deep inside it ("Sizes of tensors must match") when one
    batch was padded to another duration than the next (`check_inputs_for_metrics` guards the inputs the same way).

    Batches that happen to end at the same duration join, and are let through (`joined_durations`, the rule of the
    inputs' check too).

    Args:
        args: the `TrainingArguments` (`eval_do_concat_batches=False` hands the batches over one by one).
        model: the CiTrus-family model (unwrapped).
        durations: the `joined_durations` of the evaluation loop's set (its unused columns removed; a Subset, a
            list of dicts or a transformed set is read row by row), measured where first asked for, once for this
            check and `check_inputs_for_metrics`.
        call: "Trainer.predict" or "Trainer.evaluate", named in the error.
        gathered: whether the loop joins the predictions (not with `prediction_loss_only`, nor in an evaluation with
            `batch_eval_metrics`, nor when `preprocess_logits_for_metrics` may have reduced them).
        ignore_keys: the outputs the loop leaves out (`evaluate` / `predict`'s, else the config's
            `keys_to_ignore_at_inference`, as `Trainer.prediction_step` reads them).
    """

    from ..modeling_citrus import CiTrusForPretraining

    if not gathered or not getattr(args, "eval_do_concat_batches", True):
        return
    per_patch = _outputs_per_patch(model)
    if per_patch is not None:
        per_patch = [name for name in per_patch if name not in (ignore_keys or [])]
        if not per_patch:
            return
    unjoinable = _unjoinable(durations())
    if unjoinable is None:
        return
    lengths = unjoinable[1]
    name = type(model).__name__
    if per_patch is None:
        outputs = f"{name} returns its outputs per patch"
        if isinstance(model, CiTrusForPretraining):  # its loss needs no labels
            first = (
                "For its loss alone, pass TrainingArguments(prediction_loss_only=True) (or call evaluate() without "
                "compute_metrics)"
            )
        else:
            first = (
                "For one embedding per window, use model.embed(input_values, patch_mask) (pooled, (batch, "
                "features)) on the aligned rows instead"
            )
    else:
        outputs = f"{name} returns {' and '.join(per_patch)} per patch (config output_{'/output_'.join(per_patch)})"
        first = f"Leave them out with {call.split('.')[-1]}(..., ignore_keys={per_patch!r}) (the logits stay)"
    raise ValueError(
        f"{call}: {outputs}, and the batches of this set are padded to different durations ({lengths[0]} to "
        f"{lengths[-1]} patches), which transformers cannot join into one array. {first}; or align every row to "
        "one duration (the feature extractor's padding='max_length'); or have the batches handed over one by one "
        "with TrainingArguments(eval_do_concat_batches=False) (the predictions are then a list, one entry per batch)."
    )


def warn_label_names(label_names: list[str], model: PreTrainedModel) -> None:
    """Warn when a CiTrus task model's `Trainer` looks for its labels under other names than `labels` (its
    `label_names`, from `TrainingArguments(label_names=...)`).

    The collator renames a `label` / `label_ids` column to `labels`, which the forward takes, so training works; but
    the evaluation looks for the labels in the collated batch under `label_names`, finds none, and so computes no
    `eval_loss`, no `label_ids` and no metrics, without a word (transformers' own models behave the same). A warning,
    not an error: the evaluation's predictions are still right.

    Args:
        label_names: the Trainer's `label_names`.
        model: the CiTrus-family model (unwrapped); one without a task head (no labels) is left alone.
    """
    from transformers.utils import logging

    if getattr(type(model), "head_name", None) is None or "labels" in label_names:
        return
    logging.get_logger(__name__).warning(
        f"Trainer label_names={list(label_names)}: evaluation looks for the labels in each batch under these names, "
        f"but {type(model).__name__} takes them as `labels` (the collator renames a `label` column to `labels`), so "
        'it finds none and reports no eval_loss and no metrics. Pass TrainingArguments(label_names=["labels"]), or '
        "leave label_names unset."
    )


def evaluation_sampler(args: TrainingArguments, dataset: TrainingSet | None) -> torch.utils.data.Sampler | None | bool:
    """The evaluation sampler of a CiTrus model's Trainer under `train_sampling_strategy="group_by_length"`: the rows
    in their order (`SequentialSampler`; None across processes, where accelerate shards them in order), or False to
    leave the choice to transformers (any other strategy).

    transformers groups the evaluation rows by length too, in a seeded random order, measuring them as it measures
    training rows: every CiTrus window had length 1, so `Trainer.predict` returned its predictions and `label_ids`
    shuffled (pairing `predictions[i]` with row i was silently wrong), and without a `processing_class` evaluation
    stopped asking for an `input_ids` key. Evaluation computes every row whatever the batches, so order wins."""
    from torch.utils.data import SequentialSampler

    if getattr(args, "train_sampling_strategy", None) != "group_by_length" or dataset is None:
        return False
    return SequentialSampler(dataset) if args.world_size <= 1 else None


__all__ = [
    "FINETUNE_EPOCHS",
    "GREATER_IS_BETTER_GIVEN",
    "RESTART_ADVICE",
    "check_given_sets",
    "check_mask_shown",
    "check_label_column",
    "check_label_values",
    "check_metrics_task",
    "check_outputs_join",
    "check_smoothed_labels",
    "check_trainable_dtype",
    "check_window_rows",
    "LENGTH_AWARE_SAMPLING",
    "check_inputs_for_metrics",
    "evaluation_sampler",
    "length_grouped_sampler",
    "METRIC_SCHEDULES",
    "metric_schedule_kwargs",
    "set_metric_direction",
    "name_removed_columns",
    "train_and_evaluate",
    "train_with_trainer",
    "trainer_precision",
    "unjoined_batches_error",
    "warn_label_names",
]
