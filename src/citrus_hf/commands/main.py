"""The `citrus` command: demo, pretrain, finetune, evaluate, push, data.

    citrus demo                                   # the main job: real data, ~10 min on 2 CPU cores
    citrus pretrain --output-dir runs/eeg --max-steps 2000 --objective spectrogram
    citrus finetune --model runs/eeg --dataset basic_motions --label-budget 5 --output-dir runs/har
    citrus evaluate --output-dir runs/eval --budgets 1 5 all --seeds 5
    citrus push runs/har my-user/citrus-har
    citrus data list

The top-level parser knows the commands only by name and one-line help (`citrus_hf.commands.COMMANDS`); the module
of a command is imported when that command runs, so `citrus --help` imports neither torch nor transformers.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__
from . import COMMANDS


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `citrus` parser. Every command is a placeholder that accepts anything, except `command`, whose module
    adds its real sub-parser (options, help, `func`)."""
    parser = argparse.ArgumentParser(
        prog="citrus",
        description="CiTrus bio-signal foundation models: pre-train on unlabelled EEG, fine-tune on a few labelled "
        "windows of any modality and sampling rate. Run `citrus demo` for the whole pipeline on real recordings.",
        epilog="`citrus COMMAND --help` shows a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"citrus-hf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, entry in COMMANDS.items():
        if name == command:
            importlib.import_module(entry.module).register(subparsers)
        else:
            subparsers.add_parser(name, help=entry.help, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `citrus` with `argv` (default: the process's arguments); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Which command? The placeholders accept any option, so this first pass imports no command module.
    command = build_parser().parse_known_args(argv)[0].command
    if command is None:
        build_parser().parse_args(argv)  # an unknown option: the usage and an error, exit code 2
        build_parser().print_help()
        return 0
    args = build_parser(command).parse_args(argv)
    result = args.func(args)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
