"""`citrus evaluate`: the low-data protocol, label budgets x seeds x arms (`ProtocolConfig` and its fine-tuning
`TrainerSettings`, one option per field).

    citrus evaluate --output-dir runs/eval --budgets 1 5 all --num-seeds 5
    citrus evaluate --datasets ./ecg ./imu --sampling-rate ./ecg=250 ./imu=50 --arms citrus-small minirocket prior
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

DESCRIPTION = (
    "Fit every arm (the bundled pre-trained CiTrus with the default recipe, its from-scratch twin, MiniRocket + "
    "ridge, PatchTST, the prior; optionally CiTrus pre-trained here with each objective and the ablations) at every "
    "label budget and seed on the same draws; pre-trains the arms that need it first. Writes protocol.json (the "
    "settings) and runs.jsonl (a line per run) as it goes, and results.json, results.csv, results.md (with every "
    "arm's paired gap to MiniRocket) and results.png at the end; an earlier report of other settings in the folder is "
    "removed when the first run is recorded (a run stopped before leaves the folder as it was)."
)


def build_parser():
    from ..evaluation.settings import ProtocolConfig
    from .parser import CommandParser

    return CommandParser(ProtocolConfig, prog="citrus evaluate", description=DESCRIPTION)


def run(argv: Sequence[str]) -> int:
    config = build_parser().parse(argv)  # first: `--help` and usage errors answer before torch is imported
    from ..evaluation.protocol import run_protocol
    from ..feature_extraction_citrus import advice_as_spelt
    from ..training.numerics import flush_denormals

    flush_denormals()  # before any torch work, so that the intra-op threads inherit it
    # the extractor's advice as this command spells it (one per set), and the protocol's lines about its runs
    with (
        advice_as_spelt("--alignment SET={}", "--dataset-options SET:window_seconds=S"),
        _protocol_lines_shown(run_protocol.__module__),
    ):
        result = run_protocol(config)
    print(result.markdown)
    print("Results: " + ", ".join(str(path) for path in result.paths.values()))
    return 0


@contextlib.contextmanager
def _protocol_lines_shown(module: str) -> Iterator[None]:
    """The protocol's INFO lines (which arm pre-trains, its final losses) on stderr for the command, as it printed them
    before they became log records: at transformers' default verbosity the logger of `module` speaks at INFO for the
    run; a quieter choice (TRANSFORMERS_VERBOSITY=error) or a level set on the package's loggers stands."""
    protocol_logger = logging.getLogger(module)
    if protocol_logger.level or protocol_logger.getEffectiveLevel() != logging.WARNING:
        yield
        return
    protocol_logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        protocol_logger.setLevel(logging.NOTSET)


if __name__ == "__main__":  # `python -m citrus_hf.commands.evaluate ...`, also under `accelerate launch -m`
    from .main import run_command_module

    run_command_module("evaluate")
