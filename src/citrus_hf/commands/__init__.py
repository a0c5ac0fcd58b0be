"""The `citrus` command line: one module per command, assembled by `citrus_hf.commands.main`.

`COMMANDS` is the light table the top-level parser lists (name, module, one-line help): a command's module, and with it
torch and transformers, is imported only when that command runs, so `citrus --help` stays instant. Run the commands
as `citrus <command>` or `python -m citrus_hf.commands <command>` (e.g. under `accelerate launch -m`).
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    """A `citrus` command: the module that defines it (`register(subparsers)`) and its one-line help."""

    module: str
    help: str


COMMANDS: dict[str, Command] = {
    "demo": Command(
        "citrus_hf.commands.demo",
        "the main job: pre-train on real EEG, fine-tune on HAR, EMG and heart rate at low label budgets",
    ),
    "pretrain": Command(
        "citrus_hf.commands.pretrain",
        "pre-train CiTrus by masked auto-encoding (Accelerate; multi-GPU with `accelerate launch`)",
    ),
    "finetune": Command(
        "citrus_hf.commands.finetune",
        "fine-tune CiTrus on a labelled set with the Trainer (classification or regression)",
    ),
    "evaluate": Command(
        "citrus_hf.commands.evaluate",
        "the low-data protocol: label budgets x seeds x arms -> JSON, CSV, Markdown, plot",
    ),
    "push": Command("citrus_hf.commands.push", "publish a checkpoint folder to the Hugging Face Hub"),
    "data": Command("citrus_hf.commands.data", "list, fetch, build and describe bio-signal datasets"),
}

__all__ = ["COMMANDS", "Command"]
