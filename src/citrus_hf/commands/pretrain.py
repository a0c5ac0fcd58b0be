"""`citrus pretrain`: masked auto-encoding pre-training with Accelerate (`PretrainArguments`, one option per field).

citrus pretrain --output-dir runs/eeg --max-steps 2000 --config-overrides pretraining_objective=spectrogram
citrus pretrain --recipe base --output-dir runs/citrus-base   # citrus-base on a GPU (`PRETRAIN_RECIPES`)
accelerate launch --num_processes 4 -m citrus_hf.commands pretrain --output-dir runs/eeg   # data-parallel
ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 -m citrus_hf.commands.pretrain ...  # on CPUs
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

DESCRIPTION = (
    "Masked auto-encoding pre-training with Accelerate. The same command under `accelerate launch --num_processes N` "
    "trains data-parallel (on CPUs: `ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes N`), with "
    "the launch's mixed precision unless --mixed-precision is given; checkpoints every --save-steps, exact "
    "--resume-from, TensorBoard logs, and at the end save_pretrained of the model and its feature extractor into "
    "--output-dir."
)


# Settings that Accelerate gives too (`accelerate launch --mixed_precision`, its config file, the environment): left
# out of the command line and the settings file, the run takes Accelerate's (`pretrain` reads None so), else the
# fallback; given, they win over Accelerate's. The run records the value it ran with.
# field -> (where Accelerate's setting comes from, the fallback without one)
FROM_ACCELERATE = {
    "mixed_precision": ("`accelerate launch --mixed_precision`, its config file, ACCELERATE_MIXED_PRECISION", "no"),
    "gradient_accumulation_steps": (
        "ACCELERATE_GRADIENT_ACCUMULATION_STEPS, which accelerate launch's DeepSpeed options set",
        "1",
    ),
}


def build_parser():
    from ..training.arguments import PRETRAIN_RECIPES, PretrainArguments
    from .parser import CommandParser

    parser = CommandParser(PretrainArguments, prog="citrus pretrain", description=DESCRIPTION, recipes=PRETRAIN_RECIPES)
    for action in parser._actions:
        if action.dest in FROM_ACCELERATE:
            source, fallback = FROM_ACCELERATE[action.dest]
            action.help += f"; default: Accelerate's ({source}), else {fallback}"
    return parser


def run(argv: Sequence[str]) -> int:
    parser = build_parser()
    arguments = parser.parse(argv)  # first: `--help` and usage errors answer before torch is imported
    for name in FROM_ACCELERATE:
        if name not in parser.given:
            setattr(arguments, name, None)  # Accelerate's setting, else the default (see `FROM_ACCELERATE`)
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

    # restores `showwarning` on the way out. Not `_logs.warnings_captured`: its lock would hold every other thread's
    # file reads for the whole run; the command owns its process's warnings while it runs.
    with warnings.catch_warnings():
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


if __name__ == "__main__":  # `python -m citrus_hf.commands.pretrain ...`, also under `accelerate launch -m`
    from .main import run_command_module

    run_command_module("pretrain")
