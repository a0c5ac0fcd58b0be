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
    from ..training.pretrain import PretrainArguments
    from .parser import CommandParser

    return CommandParser(PretrainArguments, prog="citrus pretrain", description=DESCRIPTION)


def run(argv: Sequence[str]) -> int:
    from accelerate import PartialState

    from ..training.pretrain import PretrainingDidNotLearnWarning, pretrain

    with warnings.catch_warnings():  # the command says it in one line below, not as a Python warning
        warnings.simplefilter("ignore", PretrainingDidNotLearnWarning)
        result = pretrain(build_parser().parse(argv))
    if PartialState().is_main_process:
        state = "saved to" if result.completed else "stopped early (continue with --resume-from latest) in"
        loss = f"{result.final_loss:.4f}" if result.final_loss is not None else "n/a"
        print(f"{result.steps} steps on {result.world_size} process(es), loss {loss}; {state} {result.output_dir}")
        message = result.did_not_learn()
        if message:
            print(f"warning: {message}", file=sys.stderr)
    return 0
