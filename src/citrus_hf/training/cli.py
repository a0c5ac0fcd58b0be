"""`citrus pretrain`, `citrus finetune`, `citrus evaluate` and `citrus demo`.

    citrus demo                                               # the main job: real data, ~10 min on 2 CPU cores
    citrus pretrain --output-dir runs/eeg --max-steps 2000 --objective spectrogram
    accelerate launch --num_processes 4 -m citrus_hf.training.cli pretrain --output-dir runs/eeg   # data-parallel
    citrus finetune --model runs/eeg --dataset basic_motions --label-budget 5 --output-dir runs/har
    citrus evaluate --output-dir runs/eval --budgets 1 5 all --seeds 5

Without the console script: `python -m citrus_hf.training.cli <command> ...`. Settings that take `KEY=VALUE`
(`--set`, `--dataset-option`) read the value as JSON when they can (`--set d_model=128`, `--set cnn_channels=[8,16]`)
and as text otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """`["a=1", "b=x"]` -> `{"a": 1, "b": "x"}`."""
    result = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} expects KEY=VALUE, got {item!r}.")
        result[key.strip()] = _value(value)
    return result


def _per_dataset(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """`["myo_gestures=interpolate"]` -> `{"myo_gestures": "interpolate"}`."""
    return {key: str(value) for key, value in _pairs(items, flag).items()}


def _dataset_options(items: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """`["hr_ecg:window_seconds=5"]` -> `{"hr_ecg": {"window_seconds": 5}}`."""
    result: dict[str, dict[str, Any]] = {}
    for item in items or []:
        dataset, sep, pair = item.partition(":")
        if not sep:
            raise SystemExit(f"--dataset-option expects DATASET:KEY=VALUE, got {item!r}.")
        result.setdefault(dataset, {}).update(_pairs([pair], "--dataset-option"))
    return result


def _seeds(values: Sequence[str]) -> list[int]:
    """`["5"]` -> seeds 0..4; `["0", "3", "7"]` -> those seeds."""
    numbers = [int(v) for v in values]
    return list(range(numbers[0])) if len(numbers) == 1 else numbers


def _add_trainer_arguments(parser: argparse.ArgumentParser, max_steps: int, epochs: float) -> None:
    group = parser.add_argument_group("fine-tuning (Trainer)")
    group.add_argument("--epochs", type=float, default=epochs, help="training epochs (ignored with --max-steps > 0)")
    group.add_argument("--max-steps", type=int, default=max_steps, help="optimizer steps; > 0 overrides --epochs")
    group.add_argument("--eval-steps", type=int, default=10, help="evaluate every N steps (with --max-steps)")
    group.add_argument("--batch-size", type=int, default=16)
    group.add_argument("--learning-rate", type=float, default=1e-3)
    group.add_argument("--weight-decay", type=float, default=0.01)
    group.add_argument("--warmup-steps", type=float, default=0.1, help="steps, or a fraction < 1 of all steps")
    group.add_argument("--patience", type=int, default=5, help="early stopping patience in evaluations (0: off)")
    group.add_argument("--metric", default="loss", help="validation metric for early stopping / the best model")
    group.add_argument("--report-to", default="none", help="Trainer integrations, e.g. tensorboard (default none)")


def _trainer_settings(args: argparse.Namespace, seed: int, show_progress: bool):
    from .finetune import TrainerSettings

    return TrainerSettings(
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        eval_steps=args.eval_steps,
        per_device_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        early_stopping_patience=args.patience or None,
        metric_for_best_model=args.metric,
        seed=seed,
        report_to=args.report_to,
        show_progress=show_progress,
    )


# ------------------------------------------------------------------------------------------------------- pretrain


def _register_pretrain(subparsers) -> None:
    parser = subparsers.add_parser(
        "pretrain",
        help="pre-train CiTrus by masked auto-encoding (Accelerate; multi-GPU with `accelerate launch`)",
        description="Masked auto-encoding pre-training with Accelerate. The same command under `accelerate launch "
        "--num_processes N` trains data-parallel; checkpoints every --save-steps, exact --resume, TensorBoard logs, "
        "and at the end save_pretrained of the model and its feature extractor into --output-dir.",
    )
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--dataset", default="eeg_pretrain", help="registered dataset or save_to_disk folder")
    parser.add_argument("--dataset-option", action="append", metavar="KEY=VALUE", help="e.g. window_seconds=10")
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--eval-split", default="validation", help="'none' to skip validation")
    parser.add_argument("--sampling-rate", type=float, help="rate of every row if the corpus has no sampling_rate")
    parser.add_argument("--model-config", default="small", help="preset (tiny, small, base), config.json or folder")
    parser.add_argument("--objective", choices=("time", "spectrogram", "fourier"), help="pre-training objective")
    parser.add_argument("--backbone", choices=("hybrid", "cnn", "transformer"))
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config field, e.g. d_model=128")
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--stop-after-steps", type=int, help="stop (with a checkpoint) early; continue with --resume")
    parser.add_argument("--per-device-batch-size", type=int, default=32)
    parser.add_argument("--gradient-accumulation-steps", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--warmup-steps", type=float, default=0.05, help="steps, or a fraction < 1 of --max-steps")
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--mixed-precision", choices=("no", "bf16", "fp16"), default="no")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-steps", type=int, default=500)
    parser.add_argument("--save-total-limit", type=int, default=2)
    parser.add_argument("--resume", help="checkpoint folder, or 'latest' in --output-dir/checkpoints")
    parser.add_argument("--logging-steps", type=int, default=10)
    parser.add_argument("--eval-steps", type=int, default=250)
    parser.add_argument("--plot-steps", type=int, default=250, help="TensorBoard reconstruction figure every N steps")
    parser.add_argument("--report-to", choices=("tensorboard", "none"), default="tensorboard")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--log-sample-ids", action="store_true", help="record which examples each process saw")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run_pretrain)


def run_pretrain(args: argparse.Namespace) -> int:
    from .pretrain import PretrainArguments, pretrain

    overrides = _pairs(args.set, "--set")
    if args.objective:
        overrides["pretraining_objective"] = args.objective
    if args.backbone:
        overrides["backbone"] = args.backbone
    result = pretrain(
        PretrainArguments(
            output_dir=args.output_dir,
            dataset=args.dataset,
            dataset_options=_pairs(args.dataset_option, "--dataset-option"),
            train_split=args.train_split,
            eval_split=None if args.eval_split.lower() == "none" else args.eval_split,
            sampling_rate=args.sampling_rate,
            model_config=args.model_config,
            config_overrides=overrides,
            max_steps=args.max_steps,
            stop_after_steps=args.stop_after_steps,
            per_device_batch_size=args.per_device_batch_size,
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            learning_rate=args.learning_rate,
            weight_decay=args.weight_decay,
            warmup_steps=args.warmup_steps,
            max_grad_norm=args.max_grad_norm,
            mixed_precision=args.mixed_precision,
            seed=args.seed,
            save_steps=args.save_steps,
            save_total_limit=args.save_total_limit,
            resume_from=args.resume,
            logging_steps=args.logging_steps,
            eval_steps=args.eval_steps,
            plot_steps=args.plot_steps,
            report_to=args.report_to,
            num_workers=args.num_workers,
            log_sample_ids=args.log_sample_ids,
            show_progress=not args.no_progress,
        )
    )
    from accelerate import PartialState

    if PartialState().is_main_process:
        state = "saved to" if result.completed else "stopped early (resume with --resume latest) in"
        loss = f"{result.final_loss:.4f}" if result.final_loss is not None else "n/a"
        print(f"{result.steps} steps on {result.world_size} process(es), loss {loss}; {state} {result.output_dir}")
    return 0


# ------------------------------------------------------------------------------------------------------- finetune


def _register_finetune(subparsers) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune CiTrus on a labelled set with the Trainer (classification or regression)",
        description="Fine-tune a pre-trained checkpoint (--model) or a model from scratch on a labelled set, with "
        "early stopping on validation; prints and saves the test metrics.",
    )
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--dataset", required=True, help="registered labelled set or save_to_disk folder")
    parser.add_argument("--dataset-option", action="append", metavar="KEY=VALUE")
    parser.add_argument("--model", help="pre-trained checkpoint folder (default: train from scratch)")
    parser.add_argument("--model-config", default="small", help="from scratch: preset, config.json or folder")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="from scratch: config fields")
    parser.add_argument("--label-budget", default="all", help="5 (per class), 0.1 / 10%% (fraction) or all")
    parser.add_argument("--alignment", choices=("resample", "interpolate"), default="resample")
    parser.add_argument(
        "--normalization",
        choices=("window", "dataset"),
        default="window",
        help="window: z-score every window (as pre-training); dataset: per-channel statistics of the training split",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--linear-probe", action="store_true", help="freeze the backbone, train the head")
    mode.add_argument("--lora", action="store_true", help="LoRA adapters instead of full fine-tuning")
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--lora-alpha", type=int, default=16)
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--validation-split", default="validation")
    parser.add_argument("--test-split", default="test")
    parser.add_argument("--validation-fraction", type=float, default=0.2, help="carved from train if no split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true")
    _add_trainer_arguments(parser, max_steps=-1, epochs=50.0)
    parser.set_defaults(func=run_finetune)


def run_finetune(args: argparse.Namespace) -> int:
    from .finetune import FinetuneArguments, finetune

    result = finetune(
        FinetuneArguments(
            output_dir=args.output_dir,
            dataset=args.dataset,
            dataset_options=_pairs(args.dataset_option, "--dataset-option"),
            model=args.model,
            model_config=args.model_config,
            config_overrides=_pairs(args.set, "--set"),
            train_split=args.train_split,
            validation_split=args.validation_split,
            test_split=args.test_split,
            validation_fraction=args.validation_fraction,
            label_budget=args.label_budget,
            alignment=args.alignment,
            normalization=args.normalization,
            linear_probe=args.linear_probe,
            lora=args.lora,
            lora_r=args.lora_r,
            lora_alpha=args.lora_alpha,
            trainer=_trainer_settings(args, args.seed, not args.no_progress),
        )
    )
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items())
    print(f"{result.task}: {result.num_train} training examples, best step {result.best_step}; test {metrics}")
    print(f"Saved to {result.output_dir}")
    return 0


# ------------------------------------------------------------------------------------------------------- evaluate


def _register_evaluate(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="the low-data protocol: label budgets x seeds x arms -> JSON, CSV, Markdown, plot",
        description="Fine-tune every arm (CiTrus pre-trained with each objective, from scratch, CNN-only, "
        "transformer-only, PatchTST pre-trained and from scratch) at every label budget and seed; pre-trains the "
        "arms without --checkpoint first. Writes results.json, results.csv, results.md and results.png.",
    )
    parser.add_argument("--output-dir", default="citrus_evaluation")
    parser.add_argument("--datasets", nargs="+", default=["basic_motions", "myo_gestures", "hr_ecg"])
    parser.add_argument("--dataset-option", action="append", metavar="DATASET:KEY=VALUE")
    parser.add_argument("--budgets", nargs="+", default=["1", "5", "10", "0.25", "all"])
    parser.add_argument(
        "--dataset-budgets",
        action="append",
        metavar="DATASET=B1,B2",
        help="budgets for one dataset instead of --budgets (default: hr_ecg=5,20,50,all)",
    )
    parser.add_argument("--seeds", nargs="+", default=["5"], help="a count (5 = seeds 0-4) or a list of seeds")
    parser.add_argument(
        "--arms",
        nargs="+",
        metavar="ARM",
        help="default: citrus-time citrus-spectrogram citrus-fourier citrus-scratch cnn-pretrained "
        "transformer-pretrained patchtst-pretrained patchtst-scratch prior; also cnn-scratch, transformer-scratch",
    )
    parser.add_argument("--checkpoint", action="append", metavar="ARM=PATH", help="use this pre-trained checkpoint")
    parser.add_argument("--alignment", action="append", metavar="DATASET=MODE", help="resample or interpolate")
    parser.add_argument("--normalization", action="append", metavar="DATASET=MODE", help="window or dataset")
    parser.add_argument("--linear-probe", action="store_true")
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    group = parser.add_argument_group("pre-training of arms without --checkpoint")
    group.add_argument("--corpus", default="eeg_pretrain")
    group.add_argument("--corpus-option", action="append", metavar="KEY=VALUE")
    group.add_argument("--model-config", default="small")
    group.add_argument("--set", action="append", metavar="KEY=VALUE", help="config fields of every arm")
    group.add_argument("--pretrain-steps", type=int, default=1000)
    group.add_argument("--pretrain-batch-size", type=int, default=32)
    group.add_argument("--pretrain-learning-rate", type=float, default=1e-3)
    parser.add_argument("--num-threads", type=int, help="torch threads (small models: 1 is fastest)")
    parser.add_argument("--no-resume", action="store_true", help="rerun runs already in runs.jsonl")
    parser.add_argument("--no-progress", action="store_true")
    _add_trainer_arguments(parser, max_steps=100, epochs=50.0)
    parser.set_defaults(func=run_evaluate, patience=4)


def run_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation.protocol import DEFAULT_ARMS, ProtocolConfig, run_protocol

    defaults = ProtocolConfig()
    corpus_options = _pairs(args.corpus_option, "--corpus-option") or defaults.corpus_options
    config = ProtocolConfig(
        output_dir=args.output_dir,
        datasets=args.datasets,
        dataset_options=_dataset_options(args.dataset_option),
        alignment={**defaults.alignment, **_per_dataset(args.alignment, "--alignment")},
        normalization={**defaults.normalization, **_per_dataset(args.normalization, "--normalization")},
        budgets=args.budgets,
        dataset_budgets={
            **defaults.dataset_budgets,
            **{k: v.split(",") for k, v in _per_dataset(args.dataset_budgets, "--dataset-budgets").items()},
        },
        seeds=_seeds(args.seeds),
        arms=args.arms or list(DEFAULT_ARMS),
        checkpoints=_per_dataset(args.checkpoint, "--checkpoint"),
        corpus=args.corpus,
        corpus_options=corpus_options,
        model_config=args.model_config,
        config_overrides=_pairs(args.set, "--set"),
        pretrain_steps=args.pretrain_steps,
        pretrain_batch_size=args.pretrain_batch_size,
        pretrain_learning_rate=args.pretrain_learning_rate,
        finetune=_trainer_settings(args, 0, show_progress=False),
        linear_probe=args.linear_probe,
        validation_fraction=args.validation_fraction,
        num_threads=args.num_threads,
        resume=not args.no_resume,
        show_progress=not args.no_progress,
    )
    result = run_protocol(config)
    print(result.markdown)
    print("Results: " + ", ".join(str(path) for path in result.paths.values()))
    return 0


# ----------------------------------------------------------------------------------------------------------- demo


def _register_demo(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the main job: pre-train on real EEG, fine-tune on HAR, EMG and heart rate at low label budgets",
        description="Fetches the offline real corpus, pre-trains a small CiTrus (and PatchTST) on real EEG, "
        "fine-tunes on HAR, EMG and ECG heart rate at low label budgets against the same models from scratch, "
        "prints the table and writes JSON, CSV, Markdown and a plot. About 10 minutes on two CPU cores.",
    )
    parser.add_argument("--output-dir", default="citrus_demo_output")
    parser.add_argument("--quick", action="store_true", help="a one-minute smoke test with a tiny model")
    parser.add_argument("--no-fetch", action="store_true", help="do not fetch missing archives (fail instead)")
    parser.set_defaults(func=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    run_demo(args.output_dir, quick=args.quick, fetch=not args.no_fetch)
    return 0


def register(subparsers) -> None:
    """Add `demo`, `pretrain`, `finetune` and `evaluate` to the `citrus` command's sub-parsers."""
    _register_demo(subparsers)
    _register_pretrain(subparsers)
    _register_finetune(subparsers)
    _register_evaluate(subparsers)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m citrus_hf.training.cli <command>` (the same commands as `citrus`)."""
    parser = argparse.ArgumentParser(prog="python -m citrus_hf.training.cli")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
