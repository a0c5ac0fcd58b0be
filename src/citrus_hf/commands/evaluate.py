"""`citrus evaluate`: the low-data protocol, label budgets x seeds x arms (`ProtocolConfig` and its fine-tuning
`TrainerSettings`, one option per field).

    citrus evaluate --output-dir runs/eval --budgets 1 5 all --num-seeds 5
"""

from __future__ import annotations

from collections.abc import Sequence

DESCRIPTION = (
    "Fine-tune every arm (CiTrus pre-trained with each objective, from scratch, CNN-only, transformer-only, PatchTST "
    "pre-trained and from scratch) at every label budget and seed; pre-trains the arms without --checkpoints first. "
    "Writes results.json, results.csv, results.md and results.png."
)


def build_parser():
    from ..evaluation.protocol import ProtocolConfig
    from .parser import CommandParser

    return CommandParser(ProtocolConfig, prog="citrus evaluate", description=DESCRIPTION)


def run(argv: Sequence[str]) -> int:
    from ..evaluation.protocol import run_protocol

    result = run_protocol(build_parser().parse(argv))
    print(result.markdown)
    print("Results: " + ", ".join(str(path) for path in result.paths.values()))
    return 0
