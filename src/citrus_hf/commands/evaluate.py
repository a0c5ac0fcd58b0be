"""`citrus evaluate`: the low-data protocol (label budgets x seeds x arms).

citrus evaluate --output-dir runs/eval --budgets 1 5 all --seeds 5
"""

from __future__ import annotations

import argparse

from . import COMMANDS
from .options import add_trainer_arguments, dataset_options, pairs, per_dataset, seeds, trainer_settings


def register(subparsers) -> argparse.ArgumentParser:
    """Add `citrus evaluate` to the `citrus` command's sub-parsers; it sets `func` to the function that runs it."""
    parser = subparsers.add_parser(
        "evaluate",
        help=COMMANDS["evaluate"].help,
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
    add_trainer_arguments(parser, max_steps=100, epochs=50.0)
    parser.set_defaults(func=run_evaluate, patience=4)
    return parser


def run_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation.protocol import DEFAULT_ARMS, ProtocolConfig, run_protocol

    defaults = ProtocolConfig()
    corpus_options = pairs(args.corpus_option, "--corpus-option") or defaults.corpus_options
    config = ProtocolConfig(
        output_dir=args.output_dir,
        datasets=args.datasets,
        dataset_options=dataset_options(args.dataset_option),
        alignment={**defaults.alignment, **per_dataset(args.alignment, "--alignment")},
        normalization={**defaults.normalization, **per_dataset(args.normalization, "--normalization")},
        budgets=args.budgets,
        dataset_budgets={
            **defaults.dataset_budgets,
            **{k: v.split(",") for k, v in per_dataset(args.dataset_budgets, "--dataset-budgets").items()},
        },
        seeds=seeds(args.seeds),
        arms=args.arms or list(DEFAULT_ARMS),
        checkpoints=per_dataset(args.checkpoint, "--checkpoint"),
        corpus=args.corpus,
        corpus_options=corpus_options,
        model_config=args.model_config,
        config_overrides=pairs(args.set, "--set"),
        pretrain_steps=args.pretrain_steps,
        pretrain_batch_size=args.pretrain_batch_size,
        pretrain_learning_rate=args.pretrain_learning_rate,
        finetune=trainer_settings(args, 0, show_progress=False),
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
