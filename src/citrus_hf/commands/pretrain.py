"""`citrus pretrain`: masked auto-encoding pre-training with Accelerate.

citrus pretrain --output-dir runs/eeg --max-steps 2000 --objective spectrogram
accelerate launch --num_processes 4 -m citrus_hf.commands pretrain --output-dir runs/eeg   # data-parallel
"""

from __future__ import annotations

import argparse

from . import COMMANDS
from .options import pairs


def register(subparsers) -> argparse.ArgumentParser:
    """Add `citrus pretrain` to the `citrus` command's sub-parsers; it sets `func` to the function that runs it."""
    parser = subparsers.add_parser(
        "pretrain",
        help=COMMANDS["pretrain"].help,
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
    parser.add_argument(
        "--report-to",
        choices=("tensorboard", "none"),
        default="none",
        help="log losses and reconstruction figures to TensorBoard (needs citrus-hf[bench]); default none",
    )
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--log-sample-ids", action="store_true", help="record which examples each process saw")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run_pretrain)
    return parser


def run_pretrain(args: argparse.Namespace) -> int:
    from ..training.pretrain import PretrainArguments, pretrain

    overrides = pairs(args.set, "--set")
    if args.objective:
        overrides["pretraining_objective"] = args.objective
    if args.backbone:
        overrides["backbone"] = args.backbone
    result = pretrain(
        PretrainArguments(
            output_dir=args.output_dir,
            dataset=args.dataset,
            dataset_options=pairs(args.dataset_option, "--dataset-option"),
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
