"""Running the `transformers.Trainer` for a fine-tuning recipe: `train_with_trainer` (early stopping on a validation
set, the best model kept) and `train_and_evaluate` (then the test metrics). The recipes (`recipes.FinetuneRecipe`)
decide the schedule; `finetune` and the evaluation protocol run them.

It imports nothing at its top: `recipes` (imported by the command line's options, which must not load torch) imports
`FINETUNE_EPOCHS` from it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .arguments import TrainerSettings

# The fine-tuning schedule: this many passes over the labelled examples (`recipes.FinetuneRecipe` bounds the steps
# they make), and the Trainer's when a run names neither steps nor epochs.
FINETUNE_EPOCHS = 30


def train_with_trainer(
    model,
    train,
    validation,
    task: str,
    output_dir: str | os.PathLike,
    settings: TrainerSettings,
    data_collator=None,
    label_names: list[str] | None = None,
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

    Returns:
        {"validation": best validation metrics, "history": every evaluation, "best_step", "steps", "trainer": the
        Trainer (its model is the best one)}.
    """
    import torch
    from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, default_data_collator
    from transformers.trainer_callback import PrinterCallback

    from .callbacks import EvaluationHistoryCallback, NonFiniteLossCallback
    from .metrics import compute_metrics_fn, metric_greater_is_better
    from .numerics import denormals_flushed

    by_steps = settings.max_steps > 0
    metric = settings.metric_for_best_model
    use_validation = validation is not None and len(validation) > 0
    strategy = ("steps" if by_steps else "epoch") if use_validation else "no"
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
    with denormals_flushed():
        trainer.train()
    # The final evaluations are reports, not training decisions (the early stopper would look for eval_loss in them).
    trainer.remove_callback(EarlyStoppingCallback)
    validation_metrics = _strip_prefix(trainer.evaluate(validation), "eval_") if use_validation else {}
    return {
        "validation": validation_metrics,
        "history": history.history,
        "best_step": trainer.state.best_global_step,
        "steps": trainer.state.global_step,
        "trainer": trainer,
    }


def _strip_prefix(metrics: dict, prefix: str) -> dict[str, float]:
    """The Trainer's `eval_*` / `test_*` metrics without the prefix and without its timing entries."""
    return {
        k[len(prefix) :]: float(v)
        for k, v in metrics.items()
        if k.startswith(prefix) and "runtime" not in k and "per_second" not in k
    }


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
    """`train_with_trainer`, then the test metrics of the kept model: its result plus `"test"`."""
    outcome = train_with_trainer(model, train, validation, task, output_dir, settings, data_collator, label_names)
    outcome["test"] = _strip_prefix(outcome["trainer"].evaluate(test, metric_key_prefix="test"), "test_")
    return outcome


__all__ = ["FINETUNE_EPOCHS", "train_and_evaluate", "train_with_trainer"]
