"""`citrus finetune`: fine-tune CiTrus on a labelled set with the `Trainer`.

citrus finetune --model runs/eeg --dataset basic_motions --label-budget 5 --output-dir runs/har
"""

from __future__ import annotations

import argparse

from . import COMMANDS
from .options import add_trainer_arguments, pairs, trainer_settings


def register(subparsers) -> argparse.ArgumentParser:
    """Add `citrus finetune` to the `citrus` command's sub-parsers; it sets `func` to the function that runs it."""
    parser = subparsers.add_parser(
        "finetune",
        help=COMMANDS["finetune"].help,
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
    add_trainer_arguments(parser, max_steps=-1, epochs=50.0)
    parser.set_defaults(func=run_finetune)
    return parser


def run_finetune(args: argparse.Namespace) -> int:
    from ..training.finetune import FinetuneArguments, finetune

    result = finetune(
        FinetuneArguments(
            output_dir=args.output_dir,
            dataset=args.dataset,
            dataset_options=pairs(args.dataset_option, "--dataset-option"),
            model=args.model,
            model_config=args.model_config,
            config_overrides=pairs(args.set, "--set"),
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
            trainer=trainer_settings(args, args.seed, not args.no_progress),
        )
    )
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items())
    print(f"{result.task}: {result.num_train} training examples, best step {result.best_step}; test {metrics}")
    print(f"Saved to {result.output_dir}")
    return 0
