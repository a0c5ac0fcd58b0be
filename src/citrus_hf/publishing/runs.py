"""What a training run recorded next to its weights, read back for the model card: `finetune_results.json` (written by
`citrus finetune`: dataset, label budget, test metrics, hyper-parameters, the checkpoint it started from) and
`pretraining_summary.json` (written by `citrus pretrain`: corpus, steps, windows, loss). A fine-tuning run that started
from a local pre-training folder takes the corpus from that folder's summary.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._bundled import bundled_checkpoint
from ..evaluation.records import EvalRecord, field_problem
from ..loading import read_json_object
from ..training.finetune import RESULTS_FILE
from ..training.pretrain import SUMMARY_FILE, pretraining_corpus, synthetic_shares
from ..training.recipes import RECIPES
from ..vocabulary_citrus import CLASSIFICATION, REGRESSION

# Test metrics that describe the model; the loss is the training objective, not a result to report.
_NOT_REPORTED = {"loss"}


@dataclass
class RunRecords:
    """The facts a run folder holds about the model saved in it (empty when it holds no run records).

    Attributes:
        task: "classification" or "regression" (fine-tuning runs).
        dataset: the labelled set the model was fine-tuned on, as `citrus evaluate` names it (e.g. "basic_motions").
        label_budget: labelled training windows the model was fine-tuned on.
        eval_records: the run's own test metrics (this checkpoint's results).
        hyperparameters: fine-tuning settings, for the card's table.
        pretraining: the pre-training facts (`{"corpus": ..., "steps": ..., ...}`), for the card's table.
        base_model: Hub id of the checkpoint the run started from, when it was one.
        recipe: how a fine-tuning run fitted the model (`citrus_hf.training.recipes`' name, or "lora").
        local_names: the names the run gave local folders (`--dataset data/own`): never Hub ids to link.
        evaluation_notes: what the card says beside the run's metrics (the model's classes its test split lacked).
        undefined_metrics: the run's test metrics that were NaN (written as null), as records of value NaN: the
            card says them rather than leave them out.
    """

    task: str | None = None
    dataset: str | None = None
    label_budget: int | None = None
    eval_records: list[EvalRecord] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    pretraining: dict[str, Any] | None = None
    base_model: str | None = None
    recipe: str | None = None
    local_names: set[str] = field(default_factory=set)
    evaluation_notes: list[str] = field(default_factory=list)
    undefined_metrics: list[EvalRecord] = field(default_factory=list)


def _with_options(name: str, options: dict[str, Any] | None) -> str:
    """`"eeg_pretrain"` + `{"window_seconds": 10.0}` -> `"eeg_pretrain (window_seconds=10.0)"`."""
    if not options:
        return name
    return f"{name} ({', '.join(f'{key}={value}' for key, value in options.items())})"


def _global_batch(per_device_batch_size: int | None, world_size: int) -> int | None:
    """The windows of one optimizer step (before accumulation) of a run of `world_size` data-parallel processes."""
    return None if per_device_batch_size is None else per_device_batch_size * world_size


def pretraining_facts(summary: dict[str, Any]) -> dict[str, Any]:
    """The card's pre-training rows from a `pretraining_summary.json` (see `citrus_hf.training.pretrain`)."""
    arguments = summary.get("arguments", {})
    corpus, options = pretraining_corpus(summary)
    facts: dict[str, Any] = {"corpus": _with_options(str(corpus), options)}
    if summary.get("dataset_built_from"):  # the registered set, read from the folder `citrus data build` saved it to
        facts["corpus"] += ", read from a folder `citrus data build --output` saved"
    continued = arguments.get("model")  # `citrus pretrain --model`: the weights the run started from
    if isinstance(continued, str):
        facts["Continued from"] = (
            bundled_description(continued) if bundled_checkpoint(continued) is not None else continued
        )
    facts["Optimizer steps"] = summary.get("steps")
    ratio = summary.get("synthetic_ratio") or 0
    if summary.get("num_train_windows") is not None and ratio < 1:  # (a run on synthetic windows alone reads none)
        facts["Training windows"] = summary["num_train_windows"]
    if ratio > 0:  # the corpus row alone said every window was real
        generators = (summary.get("synthetic_stream") or {}).get("generators") or []
        shares = f", from {synthetic_shares(generators)}" if generators else ""
        facts["Synthetic windows"] = f"{ratio:.0%} of the training windows{shares}"
    batch = _global_batch(arguments.get("per_device_batch_size"), summary.get("world_size", 1))
    if batch is not None:
        facts["Batch size"] = batch * arguments.get("gradient_accumulation_steps", 1)
    if arguments.get("learning_rate") is not None:
        facts["Peak learning rate"] = arguments["learning_rate"]
    if summary.get("final_loss") is not None:
        facts["Final training loss"] = round(float(summary["final_loss"]), 4)
    notes = [] if summary.get("completed", True) else ["the run stopped before its last step"]
    held_out, baseline = _last_loss(summary.get("eval_losses")), _last_loss(summary.get("eval_baseline_losses"))
    if held_out is not None:
        facts["Held-out loss (last evaluation)"] = round(held_out, 4)
    if held_out is not None and baseline is not None:
        # what a model that learnt nothing scores on the same windows and masks: the loss above means little alone
        facts["Held-out loss of predicting the mean"] = round(baseline, 4)
        learnt = summary.get("learnt")
        if learnt is None:
            from ..training.pretrain import LEARNT_BELOW_BASELINE

            learnt = held_out < LEARNT_BELOW_BASELINE * baseline
        if not learnt:
            notes.append(
                "the held-out loss ended at the level of predicting the mean: the encoder learnt little that "
                "fine-tuning can use"
            )
    if notes:
        facts["Note"] = "; ".join(notes)
    return {key: value for key, value in facts.items() if value is not None}


def _last_loss(losses: Any) -> float | None:
    """The loss of the last `(step, loss)` pair of a summary's list, or None (no evaluation, or a hand-edited list)."""
    try:
        return float(losses[-1][1])
    except (TypeError, IndexError, ValueError, KeyError):
        return None


# What the card reads from each record file, and what each field must be (a hand edit of the wrong kind was an
# AttributeError or TypeError deep in the card's code).
_RECORD_FIELDS = {
    RESULTS_FILE: {
        "task": "a string or null",
        "recipe": "a string or null",
        "recipe_details": "an object or null",
        "recipe_details.class_weights": "an object or null",
        "test_classes": "an object or null",
        "test_classes.classes": "a list or null",
        "test_classes.absent": "a list or null",
        "num_train": "an integer or null",
        "num_train_examples": "an integer or null",
        "num_test_recordings": "an integer or null",
        "test_recording_metrics": "an object or null",
        "test_recording_metrics.*": "a number or null",
        "steps": "an integer or null",
        "best_step": "an integer or null",
        "world_size": "an integer",
        "test_metrics": "an object or null",
        "test_metrics.*": "a number or null",
        "arguments": "an object",
        "arguments.model": "a string or null",
        "arguments.lora": "a boolean",
        "arguments.class_weight": "a string or null",
        "arguments.trainer": "an object",
        "arguments.trainer.max_steps": "an integer or null",
        "arguments.trainer.num_train_epochs": "a number or null",
        "arguments.trainer.learning_rate": "a number or null",
        "arguments.trainer.weight_decay": "a number or null",
        "arguments.trainer.per_device_batch_size": "an integer or null",
        "arguments.trainer.early_stopping_patience": "an integer or null",
        "arguments.trainer.seed": "an integer or null",
        "arguments.trainer.mixed_precision": "a string or null",
    },
    SUMMARY_FILE: {
        "steps": "an integer or null",
        "completed": "a boolean",
        "num_train_windows": "an integer or null",
        "world_size": "an integer",
        "final_loss": "a number or null",
        "arguments": "an object",
        "arguments.dataset_options": "an object or null",
        "dataset_built_from": "an object or null",  # its fields: `training.pretrain.pretraining_corpus` checks them
        "arguments.per_device_batch_size": "an integer or null",
        "arguments.gradient_accumulation_steps": "an integer",
        "arguments.learning_rate": "a number or null",
    },
}


def _read_json(path: Path) -> dict[str, Any]:
    """A run's record (`finetune_results.json`, `pretraining_summary.json`), checked field by field."""
    record = read_json_object(path, "it was not written completely. Remove it.")
    problem = field_problem(record, _RECORD_FIELDS[path.name])
    if problem is not None:
        raise ValueError(f"{path}: {problem}; restore the file as the run wrote it, or remove it.")
    return record


def _method(results: dict[str, Any], arguments: dict[str, Any]) -> str:
    """How the run fitted the model: LoRA, or its recipe as the registry describes it (`RECIPES`), with the ridge
    penalty the probe chose where the recipe has one."""
    if arguments.get("lora"):
        return f"LoRA (r={arguments.get('lora_r')}, alpha={arguments.get('lora_alpha')})"
    name = results.get("recipe")
    recipe = RECIPES.get(name) if isinstance(name, str) else None
    if recipe is None:  # not recorded, or a recipe of another version of the package
        return "not recorded" if name is None else str(name)
    alpha = (results.get("recipe_details") or {}).get("ridge_alpha")
    penalty = f"; ridge penalty {alpha:g}" if isinstance(alpha, (int, float)) else ""
    return f"{name}: {recipe.description}{penalty}"


def _trained(results: dict[str, Any], arguments: dict[str, Any]) -> bool:
    """Whether the run took optimizer steps (LoRA, or a recipe that trains; not the probe's closed form)."""
    recipe = RECIPES.get(results.get("recipe")) if isinstance(results.get("recipe"), str) else None
    return bool(arguments.get("lora")) or recipe is None or recipe.trains


def _finetune_records(results: dict[str, Any], folder: Path) -> RunRecords:
    arguments = results.get("arguments", {})
    trainer = arguments.get("trainer", {})
    dataset = str(arguments.get("dataset"))
    label_budget = results.get("num_train")
    split = arguments.get("test_split", "test")
    reported = {
        metric: value for metric, value in (results.get("test_metrics") or {}).items() if metric not in _NOT_REPORTED
    }
    records = [
        EvalRecord(dataset=dataset, metric=metric, value=float(value), split=split, label_budget=label_budget)
        for metric, value in reported.items()
        if isinstance(value, (int, float)) and value == value  # NaN: undefined
    ]
    # NaN, which the record holds as null (strict JSON): undefined (AUROC of a split without some class), or a model
    # whose outputs are NaN; said on the card, never dropped without a word
    undefined = [
        EvalRecord(dataset=dataset, metric=metric, value=math.nan, split=split, label_budget=label_budget)
        for metric, value in reported.items()
        if value is None or (isinstance(value, float) and value != value)
    ]
    hyperparameters = {
        "Method": _method(results, arguments),
        "Label budget": f"{arguments.get('label_budget')} ({_labelled(label_budget, results.get('num_train_examples'))})",
    }
    weights = (results.get("recipe_details") or {}).get("class_weights")
    if arguments.get("class_weight") not in (None, "none"):  # `--class-weight balanced`: the fit's loss weighed them
        shown = ", ".join(f"{name} {value:.3g}" for name, value in (weights or {}).items() if _is_number(value))
        hyperparameters["Class weights"] = f"{arguments['class_weight']}" + (f" ({shown})" if shown else "")
    if arguments.get("dataset_options"):  # a registered set's builder options, or a set of one's own cut into windows
        hyperparameters["Dataset options"] = ", ".join(
            f"{key}={value}" for key, value in arguments["dataset_options"].items()
        )
    if _trained(results, arguments):  # the probe is fitted in closed form: no optimizer, no steps
        if trainer.get("max_steps", -1) > 0:
            length = f"{trainer.get('max_steps')} steps"
        elif results.get("recipe") is not None:
            length = f"{results.get('steps')} steps (scaled to the labelled examples)"
        else:
            length = f"{trainer.get('num_train_epochs')} epochs"
        best_step = results.get("best_step")
        metric, patience = trainer.get("metric_for_best_model"), trainer.get("early_stopping_patience")
        if (results.get("recipe_details") or {}).get("early_stopping") is False:
            early_stopping = "off (validation split too small or without a class: the last weights are kept)"
        elif patience:
            early_stopping = f"on validation {metric}, patience {patience} evaluations"
        else:
            early_stopping = f"off (the step with the best validation {metric} is kept)"
        hyperparameters |= {
            "Learning rate": trainer.get("learning_rate"),
            "Weight decay": trainer.get("weight_decay"),
            "Batch size": _global_batch(trainer.get("per_device_batch_size"), results.get("world_size", 1)),
            "Training length": length,
            "Steps trained (best step)": f"{results.get('steps')} ({best_step if best_step is not None else 'last'})",
            "Early stopping": early_stopping,
            # bf16 / fp16 autocast changes the weights a seed gives (None: a run recorded before it was recorded)
            "Mixed precision": trainer.get("mixed_precision"),
        }
    hyperparameters |= {
        "Seed": trainer.get("seed"),
        "Alignment / normalisation": f"{arguments.get('alignment')} / {arguments.get('normalization')}",
    }
    run = RunRecords(
        task=results.get("task"),
        dataset=dataset,
        label_budget=label_budget,
        eval_records=records,
        hyperparameters={key: value for key, value in hyperparameters.items() if value is not None},
    )
    run.recipe = "lora" if arguments.get("lora") else results.get("recipe")
    run.evaluation_notes = _absent_classes_notes(results.get("test_classes"), dataset, split)
    if results.get("test_recording_metrics"):  # labels per recording: the aggregate `citrus predict` gives a file
        scores = [(metric, value, None) for metric, value in results["test_recording_metrics"].items()]
        run.evaluation_notes.append(
            per_recording_note(scores, results.get("task"), dataset, split, results.get("num_test_recordings"))
        )
    run.undefined_metrics = undefined
    if undefined:
        names = ", ".join(record.metric for record in undefined)
        run.evaluation_notes.append(
            f"The {split} split of {dataset} gave no defined value (NaN) of {names}: AUROC of a split without some "
            "class, a correlation of constant predictions, or outputs that are themselves NaN."
        )
    local = results.get("local_paths") or {}
    run.local_names = {str(arguments.get(name)) for name in local}
    base = arguments.get("model")
    if base is not None:
        base_folder = Path(str(base)).expanduser()
        if "model" in local:  # the folder as resolved where the run started, whatever the current directory
            base_folder = Path(local["model"])
        elif not base_folder.is_absolute() and not base_folder.exists():
            base_folder = folder / base_folder
        bundled = None if base_folder.exists() else bundled_checkpoint(str(base))
        if bundled is not None:  # "citrus-small": the checkpoint shipped with the package (no Hub repo to link)
            base_folder = bundled
        if (base_folder / SUMMARY_FILE).is_file():
            run.pretraining = pretraining_facts(_read_json(base_folder / SUMMARY_FILE))
            if bundled is not None:
                run.pretraining = {"Pre-trained checkpoint": bundled_description(str(base)), **run.pretraining}
        elif str(base).count("/") == 1 and not base_folder.exists() and "model" not in local:
            run.base_model = str(base)  # a Hub id
    return run


def per_recording_note(
    scores: Iterable[tuple[str, Any, float | None]],
    task: str | None,
    dataset: str,
    split: str | None,
    recordings: int | None = None,
    details: str = "",
) -> str:
    """The card's evaluation note of a model's scores per labelled recording (`(metric, value, std over seeds)`;
    a value that is no number is "undefined") on `dataset`'s `split`, each recording scored by the mean of its
    windows' outputs (probabilities of a `task` "classification", predictions of a "regression"), as `citrus
    predict` answers for a file: a fine-tuning run's own (`read_run_records`) and `citrus evaluate`'s
    (`cards._per_recording_notes`) read alike. `recordings`: how many were scored, where known; `details`: what
    else the scores are of (", 60 labelled examples, mean over 5 seeds")."""
    figures = ", ".join(
        (f"{metric} {value:.4f}" if _is_number(value) else f"{metric} undefined")
        + (f" ± {std:.2g}" if std is not None else "")
        for metric, value, std in scores
    )
    mean_of = {CLASSIFICATION: "probabilities", REGRESSION: "predictions"}.get(task, "outputs")
    which = f"{recordings} recordings" if recordings is not None else "the labelled recordings"
    where = f"the {split} split of {dataset}" if split else dataset
    return (
        f"Per recording ({which} of {where}{details}, each scored by the mean of its windows' {mean_of}, as "
        f"`citrus predict` answers for a file): {figures}."
    )


def _labelled(windows: Any, examples: Any) -> str:
    """What a run trained on, for the card: its labelled windows, or the labelled examples (recordings) that
    `window_seconds` cut them from, which the label budget counts."""
    if examples is None:
        return f"{windows} labelled windows"
    return f"{examples} labelled examples, cut into {windows} windows"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _absent_classes_notes(test_classes: dict[str, Any] | None, dataset: str, split: str) -> list[str]:
    """The card's note on the model's classes that the run's test split had no example of (`finetune_results.json`'s
    `test_classes`, `training.metrics.per_class_report`), or none: without it the card's "N labels" and a macro-F1 of
    1.0 read as every class scored."""
    absent = [str(name) for name in (test_classes or {}).get("absent") or []]
    if not absent:
        return []
    classes = (test_classes or {}).get("classes") or []
    of = f" ({len(absent)} of the model's {len(classes)} classes)" if classes else ""
    return [
        f"The {split} split of {dataset} has no example of class(es) {', '.join(repr(n) for n in absent)}{of}: its "
        "metrics average over the classes it holds (macro-F1 counts a class it lacks only where the model predicts "
        "it, as 0), so they say nothing of how the model tells those classes apart."
    ]


def bundled_description(name: str) -> str:
    """How a card names a checkpoint shipped inside the package: it has no Hub page to link to."""
    from .._version import __version__

    return f"{name}, shipped inside citrus-hf {__version__} (`from_pretrained({name!r})`)"


def read_run_records(folder: str | os.PathLike | None) -> RunRecords:
    """The run records in `folder` (`finetune_results.json`, `pretraining_summary.json`); empty ones when `folder` is
    None or empty (a model built in memory), not a local folder, or holds neither file.

    Raises:
        ValueError: a record file that is not a JSON object, or one with a field of the wrong kind.
    """
    from .._bundled import folder_if_bundled

    folder = folder_if_bundled(str(folder)) if folder else folder  # a bundled checkpoint's name: its folder
    if not folder or not Path(folder).is_dir():
        return RunRecords()
    folder = Path(folder)
    if (folder / RESULTS_FILE).is_file():
        run = _finetune_records(_read_json(folder / RESULTS_FILE), folder)
    else:
        run = RunRecords()
    if run.pretraining is None:
        run.pretraining = read_pretraining_summary(folder)
    return run


def read_pretraining_summary(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The pre-training facts of `folder`'s own `pretraining_summary.json` (`pretraining_facts`), without its
    fine-tuning records; None where it holds none.

    Raises:
        ValueError: a summary that is not a JSON object, or one with a field of the wrong kind.
    """
    summary = Path(folder) / SUMMARY_FILE
    return pretraining_facts(_read_json(summary)) if summary.is_file() else None


__all__ = ["RunRecords", "pretraining_facts", "read_pretraining_summary", "read_run_records"]
