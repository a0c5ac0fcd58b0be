"""The `citrus` command line: one module per command, assembled by `citrus_hf.commands.main`.

`COMMANDS` is the light table the top-level parser lists (name, module, one-line help): a command's module, and with it
torch and transformers, is imported only when that command runs, so `citrus --help` stays instant. Every command
module has `run(argv) -> int` and `build_parser()`, a `CommandParser` (transformers' `HfArgumentParser`) over the
command's dataclass. Run the commands as `citrus <command>`, `python -m citrus_hf <command>`,
`python -m citrus_hf.commands <command>` or `python -m citrus_hf.commands.<command>` (e.g. under `accelerate launch -m`).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple


class UsageError(ValueError):
    """A command line the `citrus` command cannot run: an unknown option or command, a bad value, a bad settings
    file. Printed as one `error: ...` line (exit code 2)."""


@contextlib.contextmanager
def saved_values_named(model: str, command: str) -> Iterator[None]:
    """Loading a checkpoint whose config.json or preprocessor_config.json holds a value of the wrong type
    (`"patch_length": "10"`) raises the config's own TypeError ("`patch_length` must be an integer, ..."), which the
    command line takes for a bug and shows with its traceback: said here in one line naming the checkpoint. Other
    TypeErrors stay bugs."""
    try:
        yield
    except TypeError as error:
        if not str(error).startswith("`"):
            raise
        raise UsageError(
            f"citrus {command}: {model!r} holds a value of the wrong type in its config.json or "
            f"preprocessor_config.json: {error}"
        ) from None


class Command(NamedTuple):
    """A `citrus` command: the module that defines it (`run(argv)`) and its one-line help."""

    module: str
    help: str
    # runs data-parallel under `accelerate launch` (each process trains its share, the main one writes); a command
    # without it runs in one process and is refused under a launch of several, whose processes would each do the whole
    # work into the same files (`main.refuse_a_launch`)
    data_parallel: bool = False


COMMANDS: dict[str, Command] = {
    "demo": Command(
        "citrus_hf.commands.demo",
        "the main job: the bundled citrus-small vs MiniRocket and a from-scratch twin on real HAR, EEG, EMG and heart "
        "rate at 1, 5 and 20 labels per class",
    ),
    "pretrain": Command(
        "citrus_hf.commands.pretrain",
        "pre-train CiTrus by masked auto-encoding (Accelerate; multi-GPU with `accelerate launch`)",
        data_parallel=True,
    ),
    "finetune": Command(
        "citrus_hf.commands.finetune",
        "fine-tune CiTrus on a labelled set with the Trainer (classification or regression)",
        data_parallel=True,
    ),
    "evaluate": Command(
        "citrus_hf.commands.evaluate",
        "the low-data protocol: label budgets x seeds x arms -> JSON, CSV, Markdown, plot",
    ),
    "predict": Command(
        "citrus_hf.commands.predict",
        "run a fine-tuned checkpoint over recording files (EDF, WFDB, BrainVision, EEGLAB, WAV, .npy, .csv) window by "
        "window",
    ),
    "push": Command("citrus_hf.commands.push", "publish a checkpoint folder to the Hugging Face Hub"),
    "export": Command(
        "citrus_hf.commands.export",
        "export a checkpoint to ONNX once, so that inference's backend='auto' races ONNX Runtime",
    ),
    "data": Command("citrus_hf.commands.data", "list, fetch, build and describe bio-signal datasets"),
}


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs):
        super().__init__(allow_abbrev=False, **kwargs)  # `--vers` is no `--version`: as every command's options

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def run_subcommand(
    prog: str,
    description: str,
    subcommands: Mapping[str, tuple[str, Callable[[list[str]], int]]],
    argv: Sequence[str],
    version: str | None = None,
) -> int:
    """Run `prog SUBCOMMAND ARGS...`: `subcommands` maps a name to (one-line help, `run(ARGS)`).

    The parser that lists the subcommands knows them by name only, so `prog --help` imports nothing a subcommand
    needs."""
    parser = _Parser(prog=prog, description=description, epilog=f"`{prog} SUBCOMMAND --help` shows its options.")
    if version is not None:
        parser.add_argument("--version", action="version", version=version)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    choices = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", title="subcommands")
    for name, (help_text, _) in subcommands.items():
        choices.add_parser(name, help=help_text, add_help=False)
    argv = list(argv)
    position = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    parser.parse_args(argv if position is None else argv[:position])  # --help, --version, or an unknown option
    if position is None:
        parser.print_help()
        return 0
    name = argv[position]
    if name not in subcommands:
        close = difflib.get_close_matches(name.replace("-", "").replace("_", ""), list(subcommands), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"{prog}: unknown subcommand {name!r}{hint}; choose one of {', '.join(subcommands)}.")
    return subcommands[name][1](argv[position + 1 :])


__all__ = ["COMMANDS", "Command", "UsageError", "run_subcommand"]
