"""`citrus pretrain`: masked auto-encoding pre-training with Accelerate (`PretrainArguments`, one option per field).

citrus pretrain --output-dir runs/eeg --max-steps 2000 --config-overrides pretraining_objective=spectrogram
accelerate launch --num_processes 4 -m citrus_hf.commands pretrain --output-dir runs/eeg   # data-parallel
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

DESCRIPTION = (
    "Masked auto-encoding pre-training with Accelerate. The same command under `accelerate launch --num_processes N` "
    "trains data-parallel; checkpoints every --save-steps, exact --resume-from, TensorBoard logs, and at the end "
    "save_pretrained of the model and its feature extractor into --output-dir."
)


def build_parser():
    from ..training.arguments import PretrainArguments
    from .parser import CommandParser

    return CommandParser(PretrainArguments, prog="citrus pretrain", description=DESCRIPTION)


def run(argv: Sequence[str]) -> int:
    arguments = build_parser().parse(argv)  # first: `--help` and usage errors answer before torch is imported
    from accelerate import PartialState

    from ..training.numerics import flush_denormals
    from ..training.pretrain import PretrainingDidNotLearnWarning, pretrain

    flush_denormals()  # before any torch work, so that the intra-op threads inherit it

    show_warning = warnings.showwarning

    def one_line(message, category, *args, **kwargs):
        """The run's did-not-learn warnings (early, and at the end) as one line each, when they happen."""
        if issubclass(category, PretrainingDidNotLearnWarning):
            print(f"warning: {message}", file=sys.stderr, flush=True)
        else:
            show_warning(message, category, *args, **kwargs)

    with warnings.catch_warnings():  # restores `showwarning` on the way out
        warnings.simplefilter("always", PretrainingDidNotLearnWarning)
        warnings.showwarning = one_line
        try:
            result = pretrain(arguments)
        except KeyboardInterrupt:
            from ..training.pretrain import checkpoints_in

            saved = checkpoints_in(arguments.output_dir)
            if saved and PartialState().is_main_process:  # what is left to continue from ("interrupted" follows)
                print(
                    f"The last checkpoint is {saved[-1]}; continue the run with the same command and --resume-from "
                    "latest.",
                    file=sys.stderr,
                )
            raise
    if PartialState().is_main_process:
        state = "saved to" if result.completed else "stopped early (continue with --resume-from latest) in"
        loss = f"{result.final_loss:.4f}" if result.final_loss is not None else "n/a"
        print(f"{result.steps} steps on {result.world_size} process(es), loss {loss}; {state} {result.output_dir}")
    return 0
