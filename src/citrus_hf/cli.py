"""The `citrus` command: demo, pretrain, finetune, evaluate, push, data.

Every part of the package contributes its subcommands through a `register(subparsers)` function, so this file only
assembles them; heavy imports happen inside the commands, and `citrus --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    from .data.cli import register as register_data
    from .hub_cli import register as register_hub
    from .training.cli import register as register_training

    parser = argparse.ArgumentParser(
        prog="citrus",
        description="CiTrus bio-signal foundation models: pre-train on unlabelled EEG, fine-tune on a few labelled "
        "windows of any modality and sampling rate. Run `citrus demo` for the whole pipeline on real recordings.",
    )
    parser.add_argument("--version", action="version", version=f"citrus-hf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    register_training(subparsers)
    register_hub(subparsers)
    register_data(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if args.command is None else 2
    result = args.func(args)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
